// The kernel's share of receiving a datagram, per transport, without tallyd: a receiver that
// reads exactly as tallyd's DatagramReceiveLoop does (a blocking recvmmsg of 16 into 64 KiB
// slots, 200 ms SO_RCVTIMEO) and, instead of folding, spends a fixed amount of arithmetic on
// each datagram (WORK iterations of a multiply-add chain, so that like tallyd it is the
// bottleneck). Whatever differs between `udp` and `unix` with the same sender and the same
// WORK is the kernel's. Prints one line at SIGTERM or SIGINT.
//
//   sink udp PORT      (127.0.0.1)
//   sink unix PATH
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BATCH 16
#define SLOT (65536 + 2112)

static volatile sig_atomic_t stopping;
static volatile unsigned long keep;

static void on_signal(int s) {
    (void)s;
    stopping = 1;
}

static double seconds(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "udp") && strcmp(argv[1], "unix"))) {
        fprintf(stderr, "usage: sink udp PORT | sink unix PATH   (WORK=iterations per datagram, default 1000)\n");
        return 2;
    }
    long work = getenv("WORK") ? atol(getenv("WORK")) : 1000;
    int fd;
    if (!strcmp(argv[1], "udp")) {
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        int size = 8 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        if (bind(fd, (struct sockaddr *)&a, sizeof a)) { perror("bind"); return 1; }
    } else {
        fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (strlen(argv[2]) >= sizeof a.sun_path) { fprintf(stderr, "path too long\n"); return 2; }
        strcpy(a.sun_path, argv[2]);
        unlink(argv[2]);
        if (bind(fd, (struct sockaddr *)&a, sizeof a)) { perror("bind"); return 1; }
    }
    struct timeval timeout = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    char *slots = calloc(BATCH, SLOT);
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    unsigned long long datagrams = 0, bytes = 0;
    while (!stopping) {
        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = slots + (size_t)i * SLOT;
            iov[i].iov_len = 65536;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        for (int i = 0; i < n; i++) {
            datagrams++;
            bytes += msgs[i].msg_len;
            unsigned long h = (unsigned char)slots[(size_t)i * SLOT];
            for (long k = 0; k < work; k++) h = h * 6364136223846793005UL + 1442695040888963407UL;
            keep += h;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double user = seconds(ru.ru_utime), sys = seconds(ru.ru_stime);
    printf("%s datagrams=%llu bytes=%llu user_s=%.3f sys_s=%.3f sys_us_per_datagram=%.3f\n", argv[1], datagrams, bytes,
           user, sys, datagrams ? sys / (double)datagrams * 1e6 : 0.0);
    return 0;
}
