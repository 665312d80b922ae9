/*
 * libshmbroker: connection, HELLO, and the request/reply exchange.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/client-internal.h"
#include "util/cleanup.h"
#include "util/macro.h"

/**
 * client_error() - remember an error message for shmb_client_last_error()
 * @c:          client
 * @err:        positive or negative errno
 * @fmt:        message
 *
 * Return: -|err|
 */
int client_error(struct shmb_client *c, int err, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->error, sizeof(c->error), fmt, ap);
        va_end(ap);
        return err < 0 ? err : -err;
}

static void close_fds(struct msghdr *msg, int *keep) {
        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
                size_t n;

                if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                        if (keep && *keep < 0)
                                *keep = fd;
                        else
                                safe_close(fd);
                }
        }
}

/* Whether @rep answers @req, or is the daemon's refusal of the whole connection (req_id 0, error). */
static bool reply_matches(const ProtoHeader *req, const ProtoHeader *rep) {
        if (rep->req_id == 0 && rep->type == (SHMB_MSG_HELLO | SHMB_MSG_REPLY) && rep->status != SHMB_STATUS_OK)
                return true;
        return rep->type == (req->type | SHMB_MSG_REPLY) && rep->req_id == req->req_id;
}

/**
 * client_transact() - send the request in c->buf and wait for its reply
 * @c:          client
 * @req_len:    length of the encoded request in c->buf
 * @ret_fd:     if not NULL, receives the fd passed with a successful reply
 *              (or -1); otherwise any passed fd is closed
 *
 * On return c->buf holds the reply. A reply with a non-zero status becomes
 * its errno, with the daemon's text in c->error.
 *
 * Return: 0 or negative errno.
 */
int client_transact(struct shmb_client *c, size_t req_len, int *ret_fd) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 8)];
        } control;
        ProtoHeader req, rep;
        bool sent, reset = false;
        int fd = -1;
        ssize_t n;

        if (c->fd < 0)
                return client_error(c, ENOTCONN, "not connected to shmbrokerd");
        if (proto_decode_header(c->buf, req_len, &req) != 0)
                return client_error(c, EINVAL, "internal error: bad request encoding");
        do
                n = send(c->fd, c->buf, req_len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        /* A daemon that refused the connection (a limit) said why before closing: read that. */
        if (n < 0 && errno != EPIPE && errno != ECONNRESET)
                return client_error(c, errno, "cannot send to shmbrokerd: %s", strerror(errno));
        sent = n >= 0;

        for (;;) {
                struct iovec iov = { .iov_base = c->buf, .iov_len = sizeof(c->buf) };
                struct msghdr msg = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf),
                };

                n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC | (reset ? MSG_DONTWAIT : 0));
                if (n < 0 && errno == EINTR)
                        continue;
                /* A refusing daemon closes with our HELLO unread: the kernel reports ECONNRESET
                 * first, and the refusal it sent is still queued behind it. */
                if (n < 0 && errno == ECONNRESET && !reset) {
                        reset = true;
                        continue;
                }
                if (n < 0 && reset && errno == EAGAIN)
                        errno = ECONNRESET;
                if (n <= 0 && !sent)
                        return client_error(c, EPIPE, "shmbrokerd closed the connection");
                if (n < 0)
                        return client_error(c, errno, "cannot receive from shmbrokerd: %s", strerror(errno));
                if (n == 0)
                        return client_error(c, ECONNRESET, "shmbrokerd closed the connection");
                fd = -1;
                close_fds(&msg, ret_fd ? &fd : NULL);
                if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                        safe_close(fd);
                        return client_error(c, EBADMSG, "truncated reply from shmbrokerd");
                }
                c->buf_len = (size_t)n;
                if (proto_decode_header(c->buf, c->buf_len, &rep) != 0 || !reply_matches(&req, &rep)) {
                        safe_close(fd);
                        return client_error(c, EBADMSG, "malformed or unexpected reply from shmbrokerd");
                }
                break;
        }
        if (rep.status != SHMB_STATUS_OK) {
                char text[SHMB_ERROR_TEXT_MAX + 1];

                safe_close(fd);
                if (proto_decode_error_text(c->buf, c->buf_len, text, sizeof(text)) < 0 || !text[0])
                        snprintf(text, sizeof(text), "%s", proto_status_text(rep.status));
                return client_error(c, proto_status_to_errno(rep.status), "%s", text);
        }
        if (ret_fd)
                *ret_fd = fd;
        c->error[0] = 0;
        return 0;
}

static int client_hello(struct shmb_client *c) {
        ProtoHelloReply hr;
        ProtoBuf b;
        int n, r;

        proto_buf_init(&b, c->buf, sizeof(c->buf));
        n = proto_encode_hello(&b, c->next_req_id++, SHMB_PROTO_VERSION_MIN, SHMB_PROTO_VERSION);
        if (n < 0)
                return n;
        r = client_transact(c, (size_t)n, NULL);
        if (r < 0)
                return r;
        if (proto_decode_hello_reply(c->buf, c->buf_len, &hr) < 0 || hr.version != SHMB_PROTO_VERSION)
                return client_error(c, EPROTO, "unexpected HELLO reply from the daemon");
        snprintf(c->server, sizeof(c->server), "%s", hr.server);
        return 0;
}

/**
 * shmb_client_new() - connect to shmbrokerd and negotiate the protocol
 * @ret:        the client
 * @socket_path: socket path; NULL for $SHMBROKER_SOCKET, else the system socket
 *
 * Return: 0 or negative errno (-ENOENT/-ECONNREFUSED: no daemon there).
 */
_public_ int shmb_client_new(struct shmb_client **ret, const char *socket_path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct shmb_client *c;
        int r;

        if (!ret)
                return -EINVAL;
        if (!socket_path)
                socket_path = getenv(SHMB_SOCKET_ENV);
        if (!socket_path || !*socket_path)
                socket_path = SHMB_SOCKET_PATH_DEFAULT;
        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, socket_path, strlen(socket_path));

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->next_req_id = 1;
        c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (c->fd < 0) {
                r = -errno;
                free(c);
                return r;
        }
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = -errno;
                shmb_client_free(c);
                return r;
        }
        r = client_hello(c);
        if (r < 0) {
                shmb_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

/**
 * shmb_client_free() - close the connection; the daemon releases every hold
 * @c:          client or NULL
 *
 * Segment handles made through @c must be released or freed first.
 *
 * Return: NULL
 */
_public_ struct shmb_client *shmb_client_free(struct shmb_client *c) {
        if (!c)
                return NULL;
        safe_close(c->fd);
        free(c);
        return NULL;
}

/**
 * shmb_client_get_fd() - the connection's socket (for poll; do not read it)
 * @c:          client
 *
 * Return: the fd, or -EINVAL.
 */
_public_ int shmb_client_get_fd(const struct shmb_client *c) {
        return c ? c->fd : -EINVAL;
}

/**
 * shmb_client_last_error() - words for the last failure on @c
 * @c:          client
 *
 * Return: the text (empty after a success); valid until the next call on @c.
 */
_public_ const char *shmb_client_last_error(const struct shmb_client *c) {
        return c ? c->error : "no client";
}

/**
 * shmb_client_server_version() - the daemon's name and version from HELLO
 * @c:          client
 *
 * Return: e.g. "shmbrokerd 0.1.0".
 */
_public_ const char *shmb_client_server_version(const struct shmb_client *c) {
        return c ? c->server : "";
}
