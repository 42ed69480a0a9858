/* LD_PRELOAD shim for the clock-step tests: the wall clock (CLOCK_REALTIME, gettimeofday, time)
 * runs TALLY_WALL_OFFSET_FILE's seconds (a decimal number, read at every call) ahead of the
 * real one, as after an NTP step or `date -s`; the monotonic clock is left alone. Built by the
 * test kit with the system's C compiler. (Debian's libfaketime cannot be used: under it Swift's
 * CommandLine.arguments is empty.) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static double offset(void) {
    const char *path = getenv("TALLY_WALL_OFFSET_FILE");
    if (path == NULL) return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    double seconds = 0;
    if (fscanf(f, "%lf", &seconds) != 1) seconds = 0;
    fclose(f);
    return seconds;
}

static void shift(struct timespec *ts, double by) {
    long long ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + (long long)(by * 1e9);
    ts->tv_sec = ns / 1000000000LL;
    ts->tv_nsec = ns % 1000000000LL;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    if (real == NULL) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(id, ts);
    if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) shift(ts, offset());
    return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    int r = clock_gettime(CLOCK_REALTIME, &ts);
    if (r == 0 && tv != NULL) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    (void)tz;
    return r;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out != NULL) *out = ts.tv_sec;
    return ts.tv_sec;
}
