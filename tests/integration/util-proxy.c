/*
 * Integration-test harness: a relay that can lose one reply (see util-proxy.h).
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "protocol/shmb-proto.h"
#include "tests/integration/util-proxy.h"

#define PAIRS_MAX 8
#define FDS_MAX 8

enum { CMD_NONE, CMD_CUT, CMD_LISTEN, CMD_STOP };

typedef struct Pair {
        int fd[2];                      /* [0] the client's end, [1] the daemon's; -1: unused */
        bool hung;
} Pair;

struct TestProxy {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int wake[2];
        char front[108];
        char back[108];
        int listen_fd;
        Pair pairs[PAIRS_MAX];
        int cmd;                        /* under lock; the thread clears it when done */
        uint16_t lose_type;             /* under lock; 0: lose nothing */
        uint16_t hello_max;             /* under lock; 0: HELLO passes as it is */
        size_t lost_len;                /* under lock */
        uint8_t lost[SHMB_MSG_MAX];
        uint8_t buf[SHMB_MSG_MAX];
};

static void pair_close(Pair *pair) {
        for (int i = 0; i < 2; i++)
                if (pair->fd[i] >= 0)
                        close(pair->fd[i]);
        *pair = (Pair){ .fd = { -1, -1 } };
}

static int unix_socket(const char *path, struct sockaddr_un *sa) {
        *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
        memcpy(sa->sun_path, path, strlen(path) + 1); /* shorter than sun_path: test_proxy_start() */
        return socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
}

static void start_listening(TestProxy *p) {
        struct sockaddr_un sa;

        if (p->listen_fd >= 0)
                return;
        (void)unlink(p->front);
        p->listen_fd = unix_socket(p->front, &sa);
        if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(p->listen_fd, 16) < 0)
                abort();
}

static void stop_listening(TestProxy *p) {
        if (p->listen_fd < 0)
                return;
        close(p->listen_fd);
        p->listen_fd = -1;
        (void)unlink(p->front);
}

static void accept_one(TestProxy *p) {
        struct sockaddr_un sa;
        int client, daemon;

        client = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0)
                return;
        daemon = unix_socket(p->back, &sa);
        if (daemon < 0 || connect(daemon, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                /* No daemon there: the client sees its connection close, as with no relay. */
                if (daemon >= 0)
                        close(daemon);
                close(client);
                return;
        }
        for (size_t i = 0; i < PAIRS_MAX; i++)
                if (p->pairs[i].fd[0] < 0) {
                        p->pairs[i] = (Pair){ .fd = { client, daemon } };
                        return;
                }
        close(client);
        close(daemon);
}

/* Whether the datagram from the daemon is the reply to lose; if so it is kept. */
static bool take_lost(TestProxy *p, size_t len) {
        ProtoHeader h;
        bool lose = false;

        pthread_mutex_lock(&p->lock);
        if (p->lose_type && proto_decode_header(p->buf, len, &h) == 0 &&
            h.type == (p->lose_type | SHMB_MSG_REPLY)) {
                memcpy(p->lost, p->buf, len);
                p->lost_len = len;
                p->lose_type = 0;
                lose = true;
                pthread_cond_broadcast(&p->cond);
        }
        pthread_mutex_unlock(&p->lock);
        return lose;
}

/* A HELLO from the client offers at most p->hello_max. */
static void cap_hello(TestProxy *p, size_t len) {
        ProtoHeader h;
        uint16_t max;

        pthread_mutex_lock(&p->lock);
        max = p->hello_max;
        pthread_mutex_unlock(&p->lock);
        if (max == 0 || proto_decode_header(p->buf, len, &h) != 0 || h.type != SHMB_MSG_HELLO || len < 20)
                return;
        if ((uint16_t)(p->buf[18] | p->buf[19] << 8) > max) {
                p->buf[0] = p->buf[18] = (uint8_t)max;
                p->buf[1] = p->buf[19] = (uint8_t)(max >> 8);
        }
}

/* Pass one datagram from end @from of @pair to the other; false when the pair is over. */
static bool relay(TestProxy *p, Pair *pair, int from) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
        } control;
        struct iovec iov = { .iov_base = p->buf, .iov_len = sizeof(p->buf) };
        struct msghdr msg = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
        };
        int fds[FDS_MAX];
        size_t n_fds = 0;
        bool ok = true;
        ssize_t n;

        n = recvmsg(pair->fd[from], &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n > 0 && c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) && n_fds < FDS_MAX; i++)
                                memcpy(&fds[n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (n <= 0)
                return false;
        if (from == 0)
                cap_hello(p, (size_t)n);
        if (from == 1 && take_lost(p, (size_t)n)) {
                pair->hung = true;
        } else {
                iov.iov_len = (size_t)n;
                msg = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1 };
                if (n_fds > 0) {
                        msg.msg_control = control.buf;
                        msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                        memset(control.buf, 0, sizeof(control.buf));
                        CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
                        CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
                        CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                        memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), fds, sizeof(int) * n_fds);
                }
                ok = sendmsg(pair->fd[1 - from], &msg, MSG_NOSIGNAL) == n;
        }
        for (size_t i = 0; i < n_fds; i++)
                close(fds[i]);
        return ok;
}

/* Carry out a command of the test's thread; false to stop. */
static bool command(TestProxy *p) {
        char b[16];
        int cmd;

        while (read(p->wake[0], b, sizeof(b)) > 0)
                ;
        pthread_mutex_lock(&p->lock);
        cmd = p->cmd;
        pthread_mutex_unlock(&p->lock);
        if (cmd == CMD_CUT) {
                for (size_t i = 0; i < PAIRS_MAX; i++)
                        if (p->pairs[i].hung)
                                pair_close(&p->pairs[i]);
                stop_listening(p);
        } else if (cmd == CMD_LISTEN) {
                start_listening(p);
        }
        pthread_mutex_lock(&p->lock);
        p->cmd = CMD_NONE;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        return cmd != CMD_STOP;
}

static void *proxy_main(void *userdata) {
        TestProxy *p = userdata;

        for (;;) {
                struct pollfd pfd[2 + 2 * PAIRS_MAX];
                int who[2 + 2 * PAIRS_MAX];
                size_t n = 0;

                pfd[n] = (struct pollfd){ .fd = p->wake[0], .events = POLLIN };
                who[n++] = -1;
                if (p->listen_fd >= 0) {
                        pfd[n] = (struct pollfd){ .fd = p->listen_fd, .events = POLLIN };
                        who[n++] = -2;
                }
                for (int i = 0; i < PAIRS_MAX; i++)
                        for (int end = 0; end < 2; end++)
                                if (p->pairs[i].fd[end] >= 0 && !p->pairs[i].hung) {
                                        pfd[n] = (struct pollfd){ .fd = p->pairs[i].fd[end], .events = POLLIN };
                                        who[n++] = i * 2 + end;
                                }
                if (poll(pfd, n, -1) < 0)
                        continue;
                for (size_t k = 0; k < n; k++) {
                        Pair *pair;

                        if (!pfd[k].revents)
                                continue;
                        if (who[k] == -1) {
                                if (!command(p))
                                        return NULL;
                                break; /* the sets changed */
                        }
                        if (who[k] == -2) {
                                accept_one(p);
                                continue;
                        }
                        pair = &p->pairs[who[k] / 2];
                        /* Closed, or hung, earlier in this round. */
                        if (pair->fd[who[k] % 2] != pfd[k].fd || pair->hung)
                                continue;
                        if (!relay(p, pair, who[k] % 2))
                                pair_close(pair);
                }
        }
}

TestProxy *test_proxy_start(const char *front, const char *back) {
        TestProxy *p = calloc(1, sizeof(*p));

        ck_assert_ptr_nonnull(p);
        ck_assert_uint_lt(strlen(front), sizeof(p->front));
        ck_assert_uint_lt(strlen(back), sizeof(p->back));
        strcpy(p->front, front);
        strcpy(p->back, back);
        p->listen_fd = -1;
        for (size_t i = 0; i < PAIRS_MAX; i++)
                p->pairs[i] = (Pair){ .fd = { -1, -1 } };
        ck_assert_int_eq(pipe2(p->wake, O_CLOEXEC | O_NONBLOCK), 0);
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        start_listening(p);
        ck_assert_int_eq(pthread_create(&p->thread, NULL, proxy_main, p), 0);
        return p;
}

static void run_command(TestProxy *p, int cmd) {
        pthread_mutex_lock(&p->lock);
        p->cmd = cmd;
        pthread_mutex_unlock(&p->lock);
        ck_assert_int_eq(write(p->wake[1], "x", 1), 1);
        pthread_mutex_lock(&p->lock);
        while (p->cmd != CMD_NONE)
                pthread_cond_wait(&p->cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
}

void test_proxy_lose(TestProxy *p, uint16_t type) {
        pthread_mutex_lock(&p->lock);
        p->lose_type = type;
        p->lost_len = 0;
        pthread_mutex_unlock(&p->lock);
}

size_t test_proxy_wait_lost(TestProxy *p, void *buf, size_t size, int timeout_ms) {
        struct timespec until;
        size_t len;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&p->lock);
        while (p->lost_len == 0 && pthread_cond_timedwait(&p->cond, &p->lock, &until) == 0)
                ;
        len = p->lost_len < size ? p->lost_len : size;
        memcpy(buf, p->lost, len);
        pthread_mutex_unlock(&p->lock);
        return len;
}

void test_proxy_hello_max(TestProxy *p, uint16_t max) {
        pthread_mutex_lock(&p->lock);
        p->hello_max = max;
        pthread_mutex_unlock(&p->lock);
}

void test_proxy_cut(TestProxy *p) {
        run_command(p, CMD_CUT);
}

void test_proxy_listen(TestProxy *p) {
        run_command(p, CMD_LISTEN);
}

void test_proxy_stop(TestProxy *p) {
        pthread_mutex_lock(&p->lock);
        p->cmd = CMD_STOP;
        pthread_mutex_unlock(&p->lock);
        ck_assert_int_eq(write(p->wake[1], "x", 1), 1);
        ck_assert_int_eq(pthread_join(p->thread, NULL), 0);
        for (size_t i = 0; i < PAIRS_MAX; i++)
                pair_close(&p->pairs[i]);
        stop_listening(p);
        close(p->wake[0]);
        close(p->wake[1]);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
}
