/*
 * libshmbroker: connection, HELLO, and the request/reply exchange; a broken
 * connection is re-established by reconnect.c.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
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
 * client_now_usec() - CLOCK_MONOTONIC in microseconds
 *
 * Return: the time.
 */
uint64_t client_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/**
 * client_errno_is_disconnect() - whether an errno means "no daemon at the other end"
 * @err:        positive or negative errno
 *
 * Return: true for a broken or refused connection, a missing socket, a timeout.
 */
bool client_errno_is_disconnect(int err) {
        switch (err < 0 ? -err : err) {
        case EPIPE:
        case ECONNRESET:
        case ECONNREFUSED:
        case ECONNABORTED:
        case ENOTCONN:
        case ENOENT:
        case EAGAIN:
        case ETIMEDOUT:
                return true;
        default:
                return false;
        }
}

/* Wait until @fd is readable or @deadline (0: forever) passes. */
static int wait_readable(int fd, uint64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint64_t now;
                int ms, r;

                if (deadline == 0) {
                        ms = -1;
                } else {
                        now = client_now_usec();
                        if (now >= deadline)
                                return -ETIMEDOUT;
                        ms = (int)MIN((deadline - now + 999) / 1000, (uint64_t)INT32_MAX);
                }
                r = poll(&p, 1, ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r > 0)
                        return 0;
        }
}

/**
 * client_exchange() - send the request in c->buf on the current connection and wait for its reply
 * @c:          client, connected
 * @req_len:    length of the encoded request in c->buf
 * @ret_fd:     if not NULL, receives the fd passed with a successful reply
 *              (or -1); otherwise any passed fd is closed
 * @deadline:   CLOCK_MONOTONIC µs by which the reply must have come; 0: no limit
 * @ret_broken: set when the connection is unusable afterwards (closed by the
 *              daemon, or abandoned at the deadline); the caller may reconnect
 *
 * On return c->buf holds the reply. A reply with a non-zero status becomes
 * its errno, with the daemon's text in c->error.
 *
 * Return: 0 or negative errno.
 */
int client_exchange(struct shmb_client *c, size_t req_len, int *ret_fd, uint64_t deadline, bool *ret_broken) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 8)];
        } control;
        ProtoHeader req, rep;
        bool sent, reset = false;
        int fd = -1, r;
        ssize_t n;

        *ret_broken = false;
        if (c->dismissed)
                return -ENOTCONN; /* the daemon's reason stays in c->error */
        if (c->fd < 0) {
                *ret_broken = true;
                return client_error(c, ENOTCONN, "not connected to shmbrokerd");
        }
        if (proto_decode_header(c->buf, req_len, &req) != 0)
                return client_error(c, EINVAL, "internal error: bad request encoding");
        /* The connection's version in the header; a request encoded before a reconnect to a
         * daemon of version 1 loses its operation id. */
        if (req.type != SHMB_MSG_HELLO) {
                int len = proto_frame_request(c->buf, req_len, c->version);

                if (len < 0)
                        return client_error(c, EINVAL, "internal error: bad request encoding");
                req_len = (size_t)len;
        }
        do
                n = send(c->fd, c->buf, req_len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        /* A daemon that refused the connection (a limit) said why before closing: read that. */
        if (n < 0 && errno != EPIPE && errno != ECONNRESET) {
                *ret_broken = client_errno_is_disconnect(errno);
                return client_error(c, errno, "cannot send to shmbrokerd: %s", strerror(errno));
        }
        sent = n >= 0;

        for (;;) {
                struct iovec iov = { .iov_base = c->buf, .iov_len = sizeof(c->buf) };
                struct msghdr msg = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf),
                };

                if (!reset) {
                        r = wait_readable(c->fd, deadline);
                        if (r < 0) {
                                /* A reply may still come; the connection cannot be used for another request. */
                                *ret_broken = true;
                                return client_error(c, r, "no reply from shmbrokerd: %s", strerror(-r));
                        }
                }
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
                if (n <= 0 && !sent) {
                        *ret_broken = true;
                        return client_error(c, EPIPE, "shmbrokerd closed the connection");
                }
                if (n < 0) {
                        *ret_broken = client_errno_is_disconnect(errno);
                        return client_error(c, errno, "cannot receive from shmbrokerd: %s", strerror(errno));
                }
                if (n == 0) {
                        *ret_broken = true;
                        return client_error(c, ECONNRESET, "shmbrokerd closed the connection");
                }
                fd = -1;
                close_fds(&msg, ret_fd ? &fd : NULL);
                if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                        safe_close(fd);
                        return client_error(c, EBADMSG, "truncated reply from shmbrokerd");
                }
                c->buf_len = (size_t)n;
                /* An event that came before the reply: keep it for shmb_client_dispatch(). */
                if (proto_decode_header(c->buf, c->buf_len, &rep) == 0 && rep.type == SHMB_MSG_EVENT) {
                        safe_close(fd);
                        client_event_received(c, c->buf, c->buf_len);
                        continue;
                }
                if (proto_decode_header(c->buf, c->buf_len, &rep) != 0 || !reply_matches(&req, &rep)) {
                        safe_close(fd);
                        return client_error(c, EBADMSG, "malformed or unexpected reply from shmbrokerd");
                }
                break;
        }
        if (rep.req_id == 0 && rep.status != SHMB_STATUS_OK) {
                /* Refused or dismissed (a limit, an operator's kick): the daemon closes this
                 * connection and means it, so there is nothing to reconnect to. */
                c->dismissed = true;
                c->fd = safe_close(c->fd);
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

/**
 * client_transact_full() - send the request in c->buf and wait for its reply, reconnecting if need be
 * @c:          client
 * @req_len:    length of the encoded request in c->buf
 * @ret_fd:     as for client_exchange()
 * @retry:      what to do with the request after a reconnect
 *
 * If the connection is found broken (the daemon restarted or died), the
 * client reconnects within its timeout, reclaims its holds, renews its
 * subscriptions, and sends the request again (CLIENT_RESEND; a request
 * tagged by client_tag_op() keeps its operation id, so the daemon answers
 * it as it did the first time if it got that far); with
 * CLIENT_RECONNECT_ONLY it reconnects and succeeds; with
 * CLIENT_NO_RECONNECT it returns the error.
 *
 * Return: 0 or negative errno (-ETIMEDOUT: the daemon could not be reached).
 */
int client_transact_full(struct shmb_client *c, size_t req_len, int *ret_fd, ClientRetry retry) {
        uint8_t small[512], *saved = NULL;
        bool broken;
        int r;

        if (retry == CLIENT_RESEND) {
                /* Kept before the exchange: an event or the reply overwrites c->buf. */
                saved = req_len <= sizeof(small) ? small : malloc(req_len);
                if (!saved)
                        return -ENOMEM;
                memcpy(saved, c->buf, req_len);
        }
        r = client_exchange(c, req_len, ret_fd, 0, &broken);
        if (broken && retry != CLIENT_NO_RECONNECT && c->timeout_usec > 0 && !c->reconnecting) {
                r = client_reconnect(c);
                if (r >= 0 && saved) {
                        /* The same bytes, operation id included: the daemon knows it if it carried
                         * out the first one. */
                        memcpy(c->buf, saved, req_len);
                        r = client_exchange(c, req_len, ret_fd, 0, &broken);
                }
        }
        if (saved != small)
                free(saved);
        return r;
}

/**
 * client_tag_op() - end the request in c->buf with a new operation id, if the daemon takes them
 * @c:          client
 * @len:        length of the encoded CREATE, UNLINK, RESIZE or PUBLISH (or a negative errno)
 *
 * On a version-1 connection the request stays as it is.
 *
 * Return: the new length, or a negative errno.
 */
int client_tag_op(struct shmb_client *c, int len) {
        ProtoBuf b = { .data = c->buf, .size = sizeof(c->buf), .len = (size_t)len };

        if (len < 0 || c->version < SHMB_PROTO_VERSION_OP_ID)
                return len;
        if (++c->next_op_id == 0)
                c->next_op_id = 1;
        return proto_add_op_id(&b, c->next_op_id);
}

/**
 * client_transact() - client_transact_full() with CLIENT_RESEND
 * @c:          client
 * @req_len:    length of the encoded request in c->buf
 * @ret_fd:     as for client_exchange()
 *
 * Return: 0 or negative errno.
 */
int client_transact(struct shmb_client *c, size_t req_len, int *ret_fd) {
        return client_transact_full(c, req_len, ret_fd, CLIENT_RESEND);
}

static int client_hello(struct shmb_client *c, uint64_t deadline) {
        ProtoHelloReply hr;
        ProtoBuf b;
        bool broken;
        int n, r;

        proto_buf_init(&b, c->buf, sizeof(c->buf));
        c->version = SHMB_PROTO_VERSION;
        n = proto_encode_hello(&b, c->next_req_id++, SHMB_PROTO_VERSION_MIN, SHMB_PROTO_VERSION_MAX);
        if (n < 0)
                return n;
        r = client_exchange(c, (size_t)n, NULL, deadline, &broken);
        if (r < 0)
                return r;
        if (proto_decode_hello_reply(c->buf, c->buf_len, &hr) < 0 || hr.version < SHMB_PROTO_VERSION_MIN ||
            hr.version > SHMB_PROTO_VERSION_MAX)
                return client_error(c, EPROTO, "unexpected HELLO reply from the daemon");
        /* A daemon of version 1 takes no operation ids: requests then go without. */
        c->version = hr.version;
        snprintf(c->server, sizeof(c->server), "%s", hr.server);
        return 0;
}

/**
 * client_connect_once() - a new connection to c->socket_path, with HELLO
 * @c:          client (its old connection, if any, is closed first)
 * @deadline:   CLOCK_MONOTONIC µs by which HELLO must be answered; 0: no limit
 *
 * Return: 0, or negative errno with c->fd closed.
 */
int client_connect_once(struct shmb_client *c, uint64_t deadline) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        c->fd = safe_close(c->fd);
        memcpy(sa.sun_path, c->socket_path, strlen(c->socket_path));
        c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return client_error(c, errno, "cannot create a socket: %s", strerror(errno));
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = client_error(c, errno, "cannot connect to shmbrokerd at %s: %s", c->socket_path,
                                 strerror(errno));
                c->fd = safe_close(c->fd);
                return r;
        }
        r = client_hello(c, deadline);
        if (r < 0)
                c->fd = safe_close(c->fd);
        return r;
}

/**
 * shmb_client_new() - connect to shmbrokerd and negotiate the protocol
 * @ret:        the client
 * @socket_path: socket path; NULL for $SHMBROKER_SOCKET, else the system socket
 *
 * Return: 0 or negative errno (-ENOENT/-ECONNREFUSED: no daemon there).
 */
_public_ int shmb_client_new(struct shmb_client **ret, const char *socket_path) {
        struct sockaddr_un sa;
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

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->fd = -1;
        c->next_req_id = 1;
        c->timeout_usec = CLIENT_TIMEOUT_DEFAULT_USEC;
        c->version = SHMB_PROTO_VERSION;
        /* Operation ids are unique per process: other clients of this process start elsewhere. */
        if (getrandom(&c->next_op_id, sizeof(c->next_op_id), GRND_NONBLOCK) != sizeof(c->next_op_id))
                c->next_op_id = ((uint64_t)getpid() << 40) ^ client_now_usec() ^ (uint64_t)(uintptr_t)c;
        list_init(&c->segments);
        list_init(&c->events);
        list_init(&c->watches);
        c->socket_path = strdup(socket_path);
        if (!c->socket_path) {
                free(c);
                return -ENOMEM;
        }
        r = client_connect_once(c, 0);
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
 * Segment handles made through @c and not released yet stay valid: they are
 * detached from @c, keep their fd and mapping, and their
 * shmb_segment_release() then only unmaps, closes and frees.
 *
 * Return: NULL
 */
_public_ struct shmb_client *shmb_client_free(struct shmb_client *c) {
        if (!c)
                return NULL;
        list_for_each_safe(l, &c->events)
                free(list_entry(l, ClientEvent, link));
        client_watches_free(c);
        /* Handles the caller did not release no longer point at the client: the
         * holds end with the connection, their release is local. */
        list_for_each_safe(l, &c->segments) {
                list_entry(l, struct shmb_segment, link)->client = NULL;
                list_unlink(l);
        }
        safe_close(c->fd);
        free(c->socket_path);
        free(c);
        return NULL;
}

/**
 * shmb_client_set_timeout() - how long a call may wait for the daemon to come back
 * @c:          client
 * @usec:       microseconds; 0: never reconnect, fail at once
 *
 * When a call finds the connection broken (the daemon was restarted, or
 * crashed), it reconnects with exponential back-off (10 ms doubling up to
 * 1 s), reclaims the holds of every live segment handle, renews every
 * subscription, and carries on; if the daemon cannot be reached within
 * @usec, it fails with -ETIMEDOUT.
 * The default is 30 seconds.
 *
 * Return: 0 or -EINVAL.
 */
_public_ int shmb_client_set_timeout(struct shmb_client *c, uint64_t usec) {
        if (!c)
                return -EINVAL;
        c->timeout_usec = usec;
        return 0;
}

/**
 * shmb_client_get_fd() - the connection's socket (for poll; do not read it)
 * @c:          client
 *
 * A reconnect replaces it: fetch it again after every call.
 *
 * Return: the fd, -ENOTCONN while disconnected, or -EINVAL.
 */
_public_ int shmb_client_get_fd(const struct shmb_client *c) {
        if (!c)
                return -EINVAL;
        return c->fd >= 0 ? c->fd : -ENOTCONN;
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
