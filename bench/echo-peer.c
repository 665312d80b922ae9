/*
 * The floor peers: answer each request immediately, pass a memfd with the
 * answers to OPEN and CREATE.
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/echo-peer.h"
#include "protocol/shmb-proto.h"

typedef struct EchoState {
        uint8_t open_reply[SHMB_MSG_MAX];
        size_t open_len;
        int memfd;
} EchoState;

/**
 * bench_send_fd() - send one datagram, with an fd attached if @pass_fd >= 0
 * @fd:         socket
 * @buf:        datagram
 * @len:        its size
 * @pass_fd:    fd to pass, or -1
 *
 * Return: 0 or negative errno.
 */
int bench_send_fd(int fd, const void *buf, size_t len, int pass_fd) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (pass_fd >= 0) {
                struct cmsghdr *c;

                memset(&control, 0, sizeof(control));
                msg.msg_control = control.buf;
                msg.msg_controllen = sizeof(control.buf);
                c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
        }
        if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

/**
 * bench_recv_fd() - receive one datagram and the fd that came with it
 * @fd:         socket
 * @buf:        room for the datagram
 * @size:       its size
 * @flags:      recvmsg() flags (MSG_DONTWAIT, ...); MSG_CMSG_CLOEXEC is added
 * @ret_fd:     receives the first passed fd or -1 (further ones are closed);
 *              NULL closes every passed fd
 *
 * Return: the datagram's size, 0 at end of file, or negative errno.
 */
ssize_t bench_recv_fd(int fd, void *buf, size_t size, int flags, int *ret_fd) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 4)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr msg = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
        };
        ssize_t n;

        if (ret_fd)
                *ret_fd = -1;
        n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                size_t k;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int pfd;

                        memcpy(&pfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (ret_fd && *ret_fd < 0)
                                *ret_fd = pfd;
                        else
                                close(pfd);
                }
        }
        return n;
}

static int echo_state_init(EchoState *st, const char *seg_name, uint64_t seg_size) {
        ProtoSegInfo si = {
                .id = 1, .size = seg_size, .uid = (uint32_t)getuid(), .gid = (uint32_t)getgid(), .mode = 0600,
                .holders = 1, .backend = PROTO_BACKEND_MEMFD, .shmid = -1,
        };
        ProtoBuf b;
        int n;

        snprintf(si.name, sizeof(si.name), "%s", seg_name);
        proto_buf_init(&b, st->open_reply, sizeof(st->open_reply));
        proto_put_header(&b, SHMB_MSG_OPEN | SHMB_MSG_REPLY, 0, 0);
        proto_put_seginfo(&b, &si);
        n = proto_finish(&b);
        if (n < 0)
                return n;
        st->open_len = (size_t)n;
        st->memfd = memfd_create("shmb-bench-echo", MFD_CLOEXEC);
        if (st->memfd < 0)
                return -errno;
        if (ftruncate(st->memfd, (off_t)seg_size) < 0)
                return -errno;
        return 0;
}

static void put_u16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

/* The answer to one request: copy of a template with type and req_id patched in. */
static size_t echo_answer(const EchoState *st, const uint8_t *req, size_t len, uint8_t *out, int *ret_fd) {
        uint16_t type;

        *ret_fd = -1;
        if (len < SHMB_HEADER_SIZE)
                return 0;
        type = (uint16_t)(req[2] | req[3] << 8);
        if (type == SHMB_MSG_OPEN || type == SHMB_MSG_CREATE) {
                memcpy(out, st->open_reply, st->open_len);
                put_u16(out + 2, type | SHMB_MSG_REPLY);
                memcpy(out + 12, req + 12, 4);
                *ret_fd = st->memfd;
                return st->open_len;
        }
        memset(out, 0, SHMB_HEADER_SIZE);
        put_u16(out, SHMB_PROTO_VERSION);
        put_u16(out + 2, type | SHMB_MSG_REPLY);
        out[8] = SHMB_HEADER_SIZE;
        memcpy(out + 12, req + 12, 4);
        return SHMB_HEADER_SIZE;
}

static _Noreturn void peer_main(int fd, const EchoState *st) {
        static uint8_t in[SHMB_MSG_MAX], out[SHMB_MSG_MAX];

        for (;;) {
                ssize_t n = recv(fd, in, sizeof(in), 0);
                size_t m;
                int pass;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        _exit(0);
                m = echo_answer(st, in, (size_t)n, out, &pass);
                if (m > 0 && bench_send_fd(fd, out, m, pass) < 0)
                        _exit(0);
        }
}

/**
 * echo_peer_spawn() - fork a blocking echo peer on a SOCK_SEQPACKET socketpair
 * @p:          the peer
 * @seg_name:   name put in its OPEN replies (their size follows the name)
 * @seg_size:   size of the memfd it passes
 * @cpu:        CPU to run on, or -1 for any
 *
 * Return: 0 or negative errno.
 */
int echo_peer_spawn(EchoPeer *p, const char *seg_name, uint64_t seg_size, int cpu) {
        static EchoState st;
        int sv[2], r;

        r = echo_state_init(&st, seg_name, seg_size);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        p->pid = fork();
        if (p->pid < 0)
                return -errno;
        if (p->pid == 0) {
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (cpu >= 0)
                        (void)bench_pin(cpu);
                close(sv[0]);
                peer_main(sv[1], &st);
        }
        close(sv[1]);
        close(st.memfd);
        p->fd = sv[0];
        return 0;
}

/**
 * echo_peer_stop() - close the connection and reap the peer
 * @p:          the peer
 */
void echo_peer_stop(EchoPeer *p) {
        if (p->fd >= 0)
                close(p->fd);
        p->fd = -1;
        if (p->pid > 0)
                (void)waitpid(p->pid, NULL, 0);
        p->pid = 0;
}

static int listen_on(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path));
        (void)unlink(path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        return fd;
}

static void serve_conn(int efd, int fd, const EchoState *st) {
        static uint8_t in[SHMB_MSG_MAX], out[SHMB_MSG_MAX];

        for (;;) {
                ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
                size_t m;
                int pass;

                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (n <= 0) {
                        (void)epoll_ctl(efd, EPOLL_CTL_DEL, fd, NULL);
                        close(fd);
                        return;
                }
                m = echo_answer(st, in, (size_t)n, out, &pass);
                if (m > 0)
                        (void)bench_send_fd(fd, out, m, pass);
        }
}

static _Noreturn void server_main(int lfd, const EchoState *st) {
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd }, evs[64];
        int efd = epoll_create1(EPOLL_CLOEXEC);

        if (efd < 0 || epoll_ctl(efd, EPOLL_CTL_ADD, lfd, &ev) < 0)
                _exit(1);
        for (;;) {
                int n = epoll_wait(efd, evs, 64, -1);

                for (int i = 0; i < n; i++) {
                        int fd = evs[i].data.fd;

                        if (fd != lfd) {
                                serve_conn(efd, fd, st);
                                continue;
                        }
                        for (;;) {
                                int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                                struct epoll_event cev = { .events = EPOLLIN };

                                if (cfd < 0)
                                        break;
                                cev.data.fd = cfd;
                                if (epoll_ctl(efd, EPOLL_CTL_ADD, cfd, &cev) < 0)
                                        close(cfd);
                        }
                }
        }
}

/**
 * echo_server_spawn() - fork an epoll echo server listening on @path
 * @s:          the server
 * @path:       socket path to bind (replaced if present)
 * @seg_name:   name put in its OPEN replies
 * @seg_size:   size of the memfd it passes
 * @cpu:        CPU to run on, or -1 for any
 *
 * Return: 0 or negative errno.
 */
int echo_server_spawn(EchoServer *s, const char *path, const char *seg_name, uint64_t seg_size, int cpu) {
        static EchoState st;
        int lfd, r;

        r = echo_state_init(&st, seg_name, seg_size);
        if (r < 0)
                return r;
        lfd = listen_on(path);
        if (lfd < 0) {
                close(st.memfd);
                return lfd;
        }
        snprintf(s->socket, sizeof(s->socket), "%s", path);
        s->pid = fork();
        if (s->pid < 0) {
                r = -errno;
                close(lfd);
                close(st.memfd);
                return r;
        }
        if (s->pid == 0) {
                (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (cpu >= 0)
                        (void)bench_pin(cpu);
                server_main(lfd, &st);
        }
        close(lfd);
        close(st.memfd);
        return 0;
}

/**
 * echo_server_stop() - terminate and reap the server, remove its socket
 * @s:          the server
 */
void echo_server_stop(EchoServer *s) {
        if (s->pid > 0) {
                (void)kill(s->pid, SIGTERM);
                (void)waitpid(s->pid, NULL, 0);
        }
        s->pid = 0;
        if (s->socket[0])
                (void)unlink(s->socket);
}
