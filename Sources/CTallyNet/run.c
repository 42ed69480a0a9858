#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "CTallyNet.h"

extern char **environ;

/// The child signals go to; 0 while none runs. Written before and after the child runs only.
static atomic_int tally_child = 0;
/// A signal that arrived and is not forwarded yet. A signal can arrive after the child started
/// but before its pid is known here (the child may already have told its reader it is ready):
/// it waits here and is sent as soon as the pid is stored. Whoever takes it with an exchange
/// sends it, so it is sent exactly once, never lost.
static atomic_int tally_pending = 0;

static void tally_forward(int sig) {
    atomic_store(&tally_pending, sig);
    int child = atomic_load(&tally_child);
    if (child > 0) {
        int taken = atomic_exchange(&tally_pending, 0);
        if (taken) kill(child, taken);
    }
}

int tally_run_forwarding(char *const argv[]) {
    static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa, old[3];
    sa.sa_handler = tally_forward;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < 3; i++) sigaction(forwarded[i], &sa, &old[i]);

    // posix_spawn resets caught signals to their default in the child: it sees them as usual.
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    int result;
    if (rc != 0) {
        errno = rc;
        result = -1;
    } else {
        atomic_store(&tally_child, pid);
        int early = atomic_exchange(&tally_pending, 0);
        if (early) kill(pid, early);
        // Wait without reaping first: until the pid is cleared below, a forwarded signal must
        // reach the exited child (a zombie, harmless), never a process that reused its pid.
        siginfo_t info;
        while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {}
        atomic_store(&tally_child, 0);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        result = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    int saved = errno;
    for (int i = 0; i < 3; i++) sigaction(forwarded[i], &old[i], NULL);
    errno = saved;
    return result;
}
