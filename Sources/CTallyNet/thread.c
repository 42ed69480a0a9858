#define _GNU_SOURCE
#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>
#include "CTallyNet.h"

int tally_thread_nice(int by) {
    pid_t tid = gettid();
    errno = 0;
    int current = getpriority(PRIO_PROCESS, (id_t)tid);
    if (current == -1 && errno != 0) return -1;
    return setpriority(PRIO_PROCESS, (id_t)tid, current + by);
}
