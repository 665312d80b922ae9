/*
 * Client connections: credentials, receive, send, bounded out-queue.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "daemon/conn.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "protocol/shmb-proto.h"
#include "util/cleanup.h"

typedef struct OutMsg {
        List link;
        size_t len;
        int fd;
        uint8_t data[];
} OutMsg;

static bool conn_may_read(const Conn *c) {
        return c->n_out < CONN_OUTQ_MAX && c->out_bytes < CONN_OUTQ_BYTES_MAX;
}

static void conn_update_events(Conn *c) {
        int events = 0;

        /*
         * While its replies wait unread, the client is not read either; if that
         * lasts, drop it: a datagram it sent with its own socket attached would
         * otherwise keep the connection open for ever after it exits.
         */
        if (conn_may_read(c)) {
                ev_timer_stop(c->manager->loop, &c->stall);
                events |= EV_READ;
        } else if (!ev_is_active(&c->stall)) {
                ev_timer_again(c->manager->loop, &c->stall);
        }
        if (c->n_out > 0)
                events |= EV_WRITE;
        if ((c->io.events & (EV_READ | EV_WRITE)) == events)
                return;
        ev_io_stop(c->manager->loop, &c->io);
        ev_io_set(&c->io, c->fd, events);
        ev_io_start(c->manager->loop, &c->io);
}

static int send_one(int fd, const void *buf, size_t len, int pass_fd) {
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (pass_fd >= 0) {
                struct cmsghdr *cmsg;

                memset(&control, 0, sizeof(control));
                msg.msg_control = control.buf;
                msg.msg_controllen = sizeof(control.buf);
                cmsg = CMSG_FIRSTHDR(&msg);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
        }
        if (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

static void outmsg_free(OutMsg *o) {
        list_unlink(&o->link);
        safe_close(o->fd);
        free(o);
}

/* Send queued replies; returns <0 if the connection is broken. */
static int conn_flush(Conn *c) {
        size_t sent = 0;

        list_for_each_safe(l, &c->outq) {
                OutMsg *o = list_entry(l, OutMsg, link);
                int r = send_one(c->fd, o->data, o->len, o->fd);

                if (r == -EAGAIN)
                        break;
                if (r < 0)
                        return r;
                c->n_out--;
                c->out_bytes -= o->len;
                outmsg_free(o);
                sent++;
        }
        /* Progress: the stall timer starts again if the queue is still full. */
        if (sent > 0)
                ev_timer_stop(c->manager->loop, &c->stall);
        conn_update_events(c);
        return 0;
}

/**
 * conn_send() - send a reply, or queue it if the client's socket is full
 * @c:          connection
 * @buf:        datagram
 * @len:        its size
 * @fd:         fd to pass with it (borrowed; duplicated if queued), or -1
 *
 * Return: 0, or negative errno if the connection is broken (the caller
 * drops it).
 */
int conn_send(Conn *c, const void *buf, size_t len, int fd) {
        OutMsg *o;
        int r;

        if (c->n_out == 0) {
                r = send_one(c->fd, buf, len, fd);
                if (r != -EAGAIN)
                        return r;
        }
        o = malloc(sizeof(*o) + len);
        if (!o)
                return -ENOMEM;
        o->fd = -1;
        if (fd >= 0) {
                o->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (o->fd < 0) {
                        r = -errno;
                        free(o);
                        return r;
                }
        }
        memcpy(o->data, buf, len);
        o->len = len;
        list_append(&c->outq, &o->link);
        c->n_out++;
        c->out_bytes += len;
        conn_update_events(c);
        return 0;
}

/* Close every fd in the control data; return how many there were. */
static size_t close_passed_fds(struct msghdr *msg) {
        size_t n = 0;

        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
                if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                for (size_t i = 0; i < k; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                        safe_close(fd);
                }
                n += k;
        }
        return n;
}

/* Read and handle up to CONN_BATCH_MAX datagrams; <0 means drop the client. */
static int conn_read(Conn *c) {
        static uint8_t buf[SHMB_MSG_MAX];
        union {
                struct cmsghdr h;
                /* Room for the most fds one message can carry, so none is lost unclosed. */
                uint8_t buf[CMSG_SPACE(sizeof(int) * 253)];
        } control;

        for (int i = 0; i < CONN_BATCH_MAX && conn_may_read(c); i++) {
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
                struct msghdr msg = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof(control.buf),
                };
                ssize_t n;
                size_t n_fds;
                int r;

                n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return log_debug_errno(errno, "Client pid=%d: receive failed: %m", (int)c->pid);
                }
                /* First: an empty datagram (n == 0, like end-of-file) may carry fds too. */
                n_fds = close_passed_fds(&msg);
                if (n == 0)
                        return -ECONNRESET;
                if (msg.msg_flags & MSG_CTRUNC)
                        return log_notice_errno(EBADMSG, "Client pid=%d uid=%u: control data truncated, disconnecting",
                                                (int)c->pid, (unsigned)c->creds.uid);
                if ((size_t)n > sizeof(buf))
                        return log_notice_errno(EMSGSIZE, "Client pid=%d uid=%u: %zd-byte datagram exceeds %d, disconnecting",
                                                (int)c->pid, (unsigned)c->creds.uid, n, SHMB_MSG_MAX);
                r = dispatch_request(c, buf, (size_t)n, n_fds);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void conn_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
        Conn *c = container_of(w, Conn, io);
        int r = 0;

        if (revents & EV_WRITE)
                r = conn_flush(c);
        if (r >= 0 && (revents & EV_READ))
                r = conn_read(c);
        if (r >= 0 && c->n_out > 0)
                r = conn_flush(c);
        if (r < 0) {
                if (r != -ECONNRESET && r != -EPIPE)
                        log_debug("Client pid=%d uid=%u disconnected: %s", (int)c->pid, (unsigned)c->creds.uid,
                                  strerror(-r));
                conn_free(c);
        }
}

static void conn_stall_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        Conn *c = container_of(w, Conn, stall);

        log_notice("Client pid=%d uid=%u has read none of its %zu queued replies for %d s, disconnecting", (int)c->pid,
                   (unsigned)c->creds.uid, c->n_out, CONN_STALL_TIMEOUT_SEC);
        conn_free(c);
}

static int conn_read_creds(Conn *c) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        gid_t groups[CONN_GROUPS_MAX];

        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        c->pid = cred.pid;
        c->creds.uid = cred.uid;
        c->creds.gid = cred.gid;
        len = sizeof(groups);
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0 && len > 0) {
                gid_t *g = malloc(len);

                if (!g)
                        return -ENOMEM;
                memcpy(g, groups, len);
                c->creds.groups = g;
                c->creds.n_groups = len / sizeof(gid_t);
        }
        /* ERANGE (more groups than we keep) leaves only the primary group: a narrower grant. */
        return 0;
}

/**
 * conn_new() - adopt an accepted client socket
 * @m:          manager
 * @fd:         the socket (non-blocking, close-on-exec); owned on success
 * @ret:        the connection
 *
 * Return: 0 or negative errno (the caller closes @fd then).
 */
int conn_new(Manager *m, int fd, Conn **ret) {
        struct timespec ts;
        Conn *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->fd = fd;
        list_init(&c->outq);
        list_init(&c->link);
        holdset_init(&c->holds);
        r = conn_read_creds(c);
        if (r < 0) {
                free((gid_t *)c->creds.groups);
                free(c);
                return r;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        c->connected_usec = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
        c->id = ++m->last_conn_id;
        ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
        ev_timer_init(&c->stall, conn_stall_cb, 0., CONN_STALL_TIMEOUT_SEC);
        ev_io_start(m->loop, &c->io);
        list_append(&m->conns, &c->link);
        m->n_conns++;
        *ret = c;
        return 0;
}

/**
 * conn_free() - close a connection and release all its holds
 * @c:          connection or NULL
 *
 * Return: NULL
 */
Conn *conn_free(Conn *c) {
        if (!c)
                return NULL;
        ev_io_stop(c->manager->loop, &c->io);
        ev_timer_stop(c->manager->loop, &c->stall);
        registry_holdset_clear(c->manager->registry, &c->holds);
        list_for_each_safe(l, &c->outq)
                outmsg_free(list_entry(l, OutMsg, link));
        list_unlink(&c->link);
        c->manager->n_conns--;
        manager_conn_closed(c->manager);
        safe_close(c->fd);
        free((gid_t *)c->creds.groups);
        free(c);
        return NULL;
}
