// Batched datagram calls (sendmmsg/recvmmsg) that Glibc's Swift overlay does not expose
// (they need _GNU_SOURCE). Plain C types only, so Swift sees a simple signature.
#pragma once
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>

/// Sends `count` datagrams (`buffers[i]`, `lengths[i]`) on a connected socket in one call.
/// Returns how many were sent, or -1 with errno set.
int tally_sendmmsg(int fd, const void *const *buffers, const size_t *lengths, unsigned int count);

/// Receives up to `count` datagrams into `buffers` (each `size` bytes), writing each length
/// ((size_t)-1 for a datagram longer than `size`, which was cut). Returns how many arrived, or
/// -1 with errno set. `flags` as for recvmmsg (MSG_DONTWAIT, MSG_WAITFORONE...).
int tally_recvmmsg(int fd, void *const *buffers, size_t size, size_t *lengths, unsigned int count, int flags);

/// As `tally_recvmmsg`, and each sender's credentials from SCM_CREDENTIALS (the socket must
/// have SO_PASSCRED): `uids[i]`, `gids[i]`, or (uint32_t)-1 when a datagram carried none.
/// With `uids` and `gids` NULL it is `tally_recvmmsg`.
int tally_recvmmsg_creds(int fd, void *const *buffers, size_t size, size_t *lengths, unsigned int *uids,
                         unsigned int *gids, unsigned int count, int flags);

/// Turns on SO_PASSCRED: the kernel attaches the sender's pid, uid and gid to every datagram.
int tally_passcred(int fd);

/// Binds (`bind_it` != 0) or connects `fd` to the Unix socket at `path`. Returns 0, or -1 with
/// errno set (ENAMETOOLONG when the path does not fit a sockaddr_un).
int tally_unix_attach(int fd, const char *path, int bind_it);

/// Runs `argv` (looked up in PATH) with this process's stdin, stdout and stderr, forwarding
/// SIGINT, SIGTERM and SIGHUP to it while it runs, and waits for it. Returns its exit status,
/// or 128+N when signal N ended it (as a shell reports it); -1 with errno set when it could
/// not be started.
int tally_run_forwarding(char *const argv[]);

/// Raises the calling thread's nice value by `by` (Linux: setpriority on a thread id changes
/// that thread only). Returns 0, or -1 with errno set.
int tally_thread_nice(int by);
