#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/uio.h>
#include <errno.h>
#include <string.h>
#include <sys/un.h>
#include "CTallyNet.h"

#define TALLY_MAX_BATCH 1024

int tally_sendmmsg(int fd, const void *const *buffers, const size_t *lengths, unsigned int count) {
    struct mmsghdr msgs[TALLY_MAX_BATCH];
    struct iovec iov[TALLY_MAX_BATCH];
    if (count > TALLY_MAX_BATCH) count = TALLY_MAX_BATCH;
    memset(msgs, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        iov[i].iov_base = (void *)buffers[i];
        iov[i].iov_len = lengths[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, msgs, count, 0);
}

int tally_recvmmsg(int fd, void *const *buffers, size_t size, size_t *lengths, unsigned int count, int flags) {
    return tally_recvmmsg_creds(fd, buffers, size, lengths, NULL, NULL, count, flags);
}

int tally_unix_attach(int fd, const char *path, int bind_it) {
    struct sockaddr_un addr;
    size_t n = strlen(path);
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (n >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
    memcpy(addr.sun_path, path, n + 1);
    return bind_it ? bind(fd, (struct sockaddr *)&addr, sizeof addr) : connect(fd, (struct sockaddr *)&addr, sizeof addr);
}

int tally_recvmmsg_creds(int fd, void *const *buffers, size_t size, size_t *lengths, unsigned int *uids,
                         unsigned int *gids, unsigned int count, int flags) {
    struct mmsghdr msgs[TALLY_MAX_BATCH];
    struct iovec iov[TALLY_MAX_BATCH];
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } control[TALLY_MAX_BATCH];
    if (count > TALLY_MAX_BATCH) count = TALLY_MAX_BATCH;
    memset(msgs, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        iov[i].iov_base = buffers[i];
        iov[i].iov_len = size;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        if (uids != NULL) {
            msgs[i].msg_hdr.msg_control = control[i].buf;
            msgs[i].msg_hdr.msg_controllen = sizeof control[i].buf;
        }
    }
    int n = recvmmsg(fd, msgs, count, flags, NULL);
    for (int i = 0; i < n; i++) {
        lengths[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? (size_t)-1 : msgs[i].msg_len;
        if (uids == NULL) continue;
        uids[i] = (unsigned int)-1;
        gids[i] = (unsigned int)-1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != NULL; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
                struct ucred cred;
                memcpy(&cred, CMSG_DATA(c), sizeof cred);
                uids[i] = cred.uid;
                gids[i] = cred.gid;
            }
        }
    }
    return n;
}

int tally_passcred(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
}
