#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include "CTallyNet.h"

extern char **environ;

/// The child signals go to; 0 while none runs. Written before and after the child runs only.
static volatile pid_t tally_child = 0;

static void tally_forward(int sig) {
    pid_t child = tally_child;
    if (child > 0) kill(child, sig);
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
        tally_child = pid;
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        tally_child = 0;
        result = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    int saved = errno;
    for (int i = 0; i < 3; i++) sigaction(forwarded[i], &old[i], NULL);
    errno = saved;
    return result;
}
