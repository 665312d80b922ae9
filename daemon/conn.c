/*
 * Client connections: credentials, receive, send, bounded out-queue.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "daemon/admin.h"
#include "daemon/conn.h"
#include "daemon/dispatch.h"
#include "daemon/events.h"
#include "daemon/waiters.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/procinfo.h"
#include "protocol/shmb-proto.h"
#include "util/cleanup.h"
#include "util/procfs.h"

typedef struct OutMsg {
        List link;
        size_t len;
        int fd;
        bool event;                     /* an EVENT notice: bounded apart from replies */
        uint8_t data[];
} OutMsg;

static bool conn_may_read(const Conn *c) {
        /* Only replies hold reading back: events are bounded (and dropped) on their own. */
        return c->n_out - c->n_events_out < CONN_OUTQ_MAX && c->out_bytes < CONN_OUTQ_BYTES_MAX &&
               !c->parked_input;
}

/*
 * A parked request must be answered before the next one is read. Meanwhile
 * the socket is still watched, so that a client that dies while waiting is
 * noticed at once: peek, and stop watching only if a request is pending.
 */
static int conn_check_parked(Conn *c) {
        char byte;
        ssize_t n;

        n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0)
                return -ECONNRESET;
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        c->parked_input = true;
        conn_update_events(c);
        return 0;
}

/**
 * conn_update_events() - watch for what the connection can do now
 * @c:          connection
 *
 * Readable unless its out-queue is full or a request is parked; writable
 * while replies are queued.
 */
void conn_update_events(Conn *c) {
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
                if (o->event)
                        c->n_events_out--;
                else
                        c->out_bytes -= o->len;
                outmsg_free(o);
                sent++;
        }
        /* Progress: the stall timer starts again if the queue is still full. */
        if (sent > 0)
                ev_timer_stop(c->manager->loop, &c->stall);
        events_flush_dropped(c);
        conn_update_events(c);
        return 0;
}

static int conn_queue(Conn *c, uint8_t *buf, size_t len, int fd, bool event) {
        OutMsg *o;
        int r;

        /* The header says the connection's version, whatever its encoder wrote (a datagram queued
         * before a HELLO keeps the version it had then). */
        buf[0] = (uint8_t)c->version;
        buf[1] = (uint8_t)(c->version >> 8);
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
        o->event = event;
        list_append(&c->outq, &o->link);
        c->n_out++;
        if (event)
                c->n_events_out++;
        else
                c->out_bytes += len;
        conn_update_events(c);
        return 0;
}

/**
 * conn_send() - send a reply, or queue it if the client's socket is full
 * @c:          connection
 * @buf:        datagram; its header's version is set to the connection's
 * @len:        its size (at least the header)
 * @fd:         fd to pass with it (borrowed; duplicated if queued), or -1
 *
 * Return: 0, or negative errno if the connection is broken (the caller
 * drops it).
 */
int conn_send(Conn *c, void *buf, size_t len, int fd) {
        stats_count_reply(&c->manager->stats, buf, len);
        return conn_queue(c, buf, len, fd, false);
}

/**
 * conn_send_event() - send an EVENT notice, or queue it (events.c bounds how many)
 * @c:          connection
 * @buf:        datagram; its header's version is set to the connection's
 * @len:        its size (at least the header)
 *
 * Queued events do not hold back reading the client's requests, and are
 * not counted as replies in the statistics.
 *
 * Return: 0, or negative errno if the connection is broken.
 */
int conn_send_event(Conn *c, void *buf, size_t len) {
        return conn_queue(c, buf, len, -1, true);
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

        for (int i = 0; i < CONN_BATCH_MAX && conn_may_read(c) && !c->waiter; i++) {
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
                r = c->is_admin ? admin_dispatch(c, buf, (size_t)n, n_fds)
                                : dispatch_request(c, buf, (size_t)n, n_fds);
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
                r = c->waiter ? conn_check_parked(c) : conn_read(c);
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

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

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

/*
 * SO_PEERCRED's pid is a number: if the peer exited before we accepted, the
 * number may already name another process, whose /proc entries we would
 * read. The peer's pidfd names the process itself; it is readable once that
 * process has exited. So: read what we want about the pid (command name,
 * start time: with pid and uid it identifies the peer's holds across a
 * restart), then check that the process it belongs to is still the peer.
 * Kernels without SO_PEERPIDFD (before 6.5) leave the check to the pid alone.
 */
static int conn_read_procinfo(Conn *c) {
        _cleanup_close_ int pidfd = -1;
        socklen_t len = sizeof(pidfd);
        uint64_t start = 0;
        struct pollfd p;

        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
                if (errno == ESRCH)
                        return -ESRCH;
                pidfd = -1;
        }
        procinfo_read_comm(c->pid, c->comm, sizeof(c->comm));
        (void)procfs_start_time(c->pid, &start);
        if (pidfd >= 0) {
                p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
                if (poll(&p, 1, 0) > 0)
                        return -ESRCH;
        }
        c->holds.who = (PeerIdentity){ .pid = c->pid, .uid = c->creds.uid, .start_time = start };
        return 0;
}

/* Tell a peer why the daemon is closing its connection: an error reply with req_id 0. */
static void conn_refuse(int fd, int status, const char *why) {
        uint8_t buf[SHMB_HEADER_SIZE + 2 + SHMB_ERROR_TEXT_MAX];
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_error(&b, SHMB_MSG_HELLO, (uint16_t)status, 0, why);
        if (n > 0)
                (void)send_one(fd, buf, (size_t)n, -1);
}

/**
 * conn_dismiss() - close a connection on an operator's request, telling the peer why
 * @c:          connection (freed)
 * @why:        the reason, sent as an error reply with req_id 0 (status DENIED)
 *
 * Unlike a daemon restart, this tells the client library not to reconnect.
 */
void conn_dismiss(Conn *c, const char *why) {
        conn_refuse(c->fd, SHMB_STATUS_DENIED, why);
        conn_free(c);
}

/**
 * conn_new() - adopt an accepted client socket
 * @m:          manager
 * @fd:         the socket (non-blocking, close-on-exec); owned on success
 * @ret:        the connection
 *
 * Reads the peer's credentials and counts the connection against the
 * daemon's and the user's connection limits; a refused peer is told why.
 *
 * Return: 0, CONN_E_REFUSED, or negative errno (in both failure cases the
 * caller closes @fd).
 */
int conn_new(Manager *m, int fd, Conn **ret) {
        char why[256];
        struct timespec ts;
        Conn *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->fd = fd;
        c->version = SHMB_PROTO_VERSION;
        list_init(&c->outq);
        list_init(&c->link);
        list_init(&c->watches);
        holdset_init(&c->holds);
        r = conn_read_creds(c);
        if (r >= 0)
                r = conn_read_procinfo(c);
        if (r < 0)
                goto fail;
        r = conn_limits_admit(&m->conn_limits, c->creds.uid, why, sizeof(why));
        if (r == CONN_LIMITS_REFUSED) {
                log_notice("Refusing pid=%d uid=%u: %s", (int)c->pid, (unsigned)c->creds.uid, why);
                conn_refuse(fd, SHMB_STATUS_QUOTA, why);
                r = CONN_E_REFUSED;
        }
        if (r != 0)
                goto fail;
        clock_gettime(CLOCK_REALTIME, &ts);
        c->connected_usec = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
        c->id = ++m->last_conn_id;
        c->holds.owner_id = c->id;
        r = hmap_insert(&m->conns_by_id, &c->id_node, hash_u64(c->id));
        if (r < 0) {
                conn_limits_release(&m->conn_limits, c->creds.uid);
                goto fail;
        }
        m->stats.connections_total++;
        ev_io_init(&c->io, conn_io_cb, fd, EV_READ);
        ev_timer_init(&c->stall, conn_stall_cb, 0., CONN_STALL_TIMEOUT_SEC);
        ev_io_start(m->loop, &c->io);
        list_append(&m->conns, &c->link);
        m->n_conns++;
        manager_changed(m);
        *ret = c;
        return 0;

fail:
        free((gid_t *)c->creds.groups);
        free(c);
        return r;
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
        waiters_conn_free(c);
        events_conn_free(c);
        ev_io_stop(c->manager->loop, &c->io);
        ev_timer_stop(c->manager->loop, &c->stall);
        registry_holdset_clear(c->manager->registry, &c->holds);
        list_for_each_safe(l, &c->outq)
                outmsg_free(list_entry(l, OutMsg, link));
        list_unlink(&c->link);
        hmap_remove(&c->manager->conns_by_id, &c->id_node);
        if (c->is_admin)
                c->manager->admin.n_conns--;
        c->manager->n_conns--;
        conn_limits_release(&c->manager->conn_limits, c->creds.uid);
        manager_conn_closed(c->manager);
        manager_changed(c->manager);
        safe_close(c->fd);
        free((gid_t *)c->creds.groups);
        free(c);
        return NULL;
}
