/*
 * Closed-loop OPEN/RELEASE load over many connections, one epoll loop.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/daemon.h"
#include "bench/echo-peer.h"
#include "bench/loadgen.h"
#include "protocol/shmb-proto.h"

#define LATENCY_SAMPLES_MAX (1u << 20)
#define HELLO_TIMEOUT_SEC 5

typedef struct Client {
        int fd;
        uint32_t req_id;
        uint64_t seg_id;
        uint64_t t_start;               /* OPEN sent */
        const char *name;
        bool want_open_reply;
} Client;

/**
 * loadgen_connect() - a raw connection that has done HELLO, non-blocking
 * @socket_path: the server
 *
 * Return: the socket, or negative errno (-ETIMEDOUT: no HELLO reply within
 * HELLO_TIMEOUT_SEC, e.g. because the server stopped accepting).
 */
int loadgen_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = HELLO_TIMEOUT_SEC };
        uint8_t buf[512];
        ProtoHeader h;
        ProtoBuf b;
        ssize_t n;
        int fd, len;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path));
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* A daemon out of fds leaves new connections in the backlog: don't wait forever. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                goto fail;
        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_hello(&b, 1, SHMB_PROTO_VERSION_MIN, SHMB_PROTO_VERSION);
        if (len < 0 || send(fd, buf, (size_t)len, MSG_NOSIGNAL) < 0)
                goto fail;
        n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                errno = ETIMEDOUT;
        if (n < 0)
                goto fail;
        if (n == 0 || proto_decode_header(buf, (size_t)n, &h) != 0 || h.status != SHMB_STATUS_OK) {
                errno = n == 0 ? ECONNRESET : EPROTO;
                goto fail;
        }
        if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
                goto fail;
        return fd;
fail:
        len = -errno;
        close(fd);
        return len;
}

static int send_open(Client *c) {
        uint8_t buf[512];
        ProtoBuf b;
        int len;

        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_open(&b, ++c->req_id, c->name, 0);
        if (len < 0)
                return len;
        c->want_open_reply = true;
        c->t_start = now_ns();
        return send(c->fd, buf, (size_t)len, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int send_release(Client *c) {
        uint8_t buf[64];
        ProtoBuf b;
        int len;

        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_release(&b, ++c->req_id, c->seg_id);
        if (len < 0)
                return len;
        c->want_open_reply = false;
        return send(c->fd, buf, (size_t)len, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Handle one reply. Returns 1 when an OPEN+RELEASE pair completed, 0, or <0 if the connection broke. */
static int on_readable(Client *c, uint64_t *errors) {
        static uint8_t buf[SHMB_MSG_MAX];
        ProtoSegInfo si;
        ProtoHeader h;
        ssize_t n;
        int fd;

        n = bench_recv_fd(c->fd, buf, sizeof(buf), MSG_DONTWAIT, &fd);
        if (n == -EAGAIN)
                return 0;
        if (n <= 0)
                return n < 0 ? (int)n : -ECONNRESET;
        if (fd >= 0)
                close(fd);
        if (proto_decode_header(buf, (size_t)n, &h) != 0 || h.req_id != c->req_id)
                return -EPROTO;
        if (h.status != SHMB_STATUS_OK) {
                (*errors)++;
                return send_open(c);
        }
        if (c->want_open_reply) {
                if (proto_decode_seginfo_reply(buf, (size_t)n, &si) < 0)
                        return -EBADMSG;
                c->seg_id = si.id;
                return send_release(c);
        }
        return send_open(c) < 0 ? -EPIPE : 1;
}

static uint64_t process_cpu_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void close_clients(Client *cl, unsigned n, int efd) {
        for (unsigned i = 0; i < n; i++)
                if (cl[i].fd >= 0)
                        close(cl[i].fd);
        free(cl);
        if (efd >= 0)
                close(efd);
}

/**
 * loadgen_run() - drive @n_clients connections in a closed OPEN/RELEASE loop
 * @socket_path: the server (shmbrokerd or an echo server)
 * @server_pid: its pid, for its CPU time
 * @n_clients:  concurrent connections, one request outstanding on each
 * @names:      segments to open (client i opens names[i % n_names])
 * @n_names:    how many
 * @warmup_sec: seconds of load before counting
 * @measure_sec: seconds counted
 * @ret:        results; ret->latency must be initialised (SAMPLES_NULL)
 *
 * Return: 0 or negative errno (connection set-up failed).
 */
int loadgen_run(const char *socket_path, pid_t server_pid, unsigned n_clients, const char *const *names,
                unsigned n_names, double warmup_sec, double measure_sec, LoadResult *ret) {
        uint64_t t_measure, t_end, cpu0 = 0, cpu1 = 0, ccpu0, ops = 0, errors = 0;
        struct epoll_event evs[256];
        bool measuring = false;
        Client *cl;
        int efd, r = 0;

        cl = calloc(n_clients, sizeof(*cl));
        if (!cl)
                return -ENOMEM;
        for (unsigned i = 0; i < n_clients; i++)
                cl[i].fd = -1;
        efd = epoll_create1(EPOLL_CLOEXEC);
        if (efd < 0) {
                close_clients(cl, n_clients, -1);
                return -errno;
        }
        for (unsigned i = 0; i < n_clients; i++) {
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cl[i] };

                cl[i].name = names[i % n_names];
                cl[i].fd = loadgen_connect(socket_path);
                if (cl[i].fd < 0) {
                        r = cl[i].fd;
                        close_clients(cl, n_clients, efd);
                        return r;
                }
                if (epoll_ctl(efd, EPOLL_CTL_ADD, cl[i].fd, &ev) < 0) {
                        r = -errno;
                        close_clients(cl, n_clients, efd);
                        return r;
                }
        }
        (void)samples_reserve(&ret->latency, LATENCY_SAMPLES_MAX);

        t_measure = now_ns() + (uint64_t)(warmup_sec * 1e9);
        t_end = t_measure + (uint64_t)(measure_sec * 1e9);
        ccpu0 = process_cpu_ns();
        for (unsigned i = 0; i < n_clients; i++)
                if (send_open(&cl[i]) < 0)
                        errors++;
        for (;;) {
                uint64_t now = now_ns();
                int n;

                if (!measuring && now >= t_measure) {
                        measuring = true;
                        (void)proc_cpu_ns(server_pid, &cpu0);
                        ccpu0 = process_cpu_ns();
                }
                if (now >= t_end)
                        break;
                n = epoll_wait(efd, evs, 256, 10);
                for (int i = 0; i < n; i++) {
                        Client *c = evs[i].data.ptr;
                        uint64_t t_open = c->t_start;

                        r = on_readable(c, &errors);
                        if (r < 0) {
                                errors++;
                                (void)epoll_ctl(efd, EPOLL_CTL_DEL, c->fd, NULL);
                                close(c->fd);
                                c->fd = -1;
                        } else if (r > 0 && measuring) {
                                ops++;
                                if (ret->latency.n < LATENCY_SAMPLES_MAX)
                                        samples_add(&ret->latency, now_ns() - t_open);
                        }
                }
        }
        (void)proc_cpu_ns(server_pid, &cpu1);
        ret->ops_per_sec = (double)ops / measure_sec;
        ret->server_cpu = (double)(cpu1 - cpu0) / (measure_sec * 1e9);
        ret->client_cpu = (double)(process_cpu_ns() - ccpu0) / (measure_sec * 1e9);
        ret->errors = errors;
        close_clients(cl, n_clients, efd);
        return 0;
}
