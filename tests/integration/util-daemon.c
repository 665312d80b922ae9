/*
 * Integration-test harness (see util-daemon.h).
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/shmb-proto.h"
#include "tests/integration/util-daemon.h"

#define TEST_DIR_PREFIX "/tmp/shmbroker-test-"
#define TEST_RUN_ENV "SHMBROKER_TEST_RUN"

static int notify_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        return fd;
}

/* Wait up to 10 s for "READY=1" on the notify socket, or for the daemon to exit. */
static void wait_ready(TestDaemon *d, int nfd) {
        for (int waited = 0; waited < 10000; waited += 100) {
                struct pollfd p = { .fd = nfd, .events = POLLIN };
                char buf[4096];
                ssize_t n;
                int status;

                if (poll(&p, 1, 100) > 0) {
                        n = recv(nfd, buf, sizeof(buf) - 1, 0);
                        ck_assert_int_ge(n, 0);
                        buf[n] = 0;
                        if (strstr(buf, "READY=1"))
                                return;
                }
                if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
                        d->pid = 0;
                        ck_abort_msg("shmbrokerd exited during start-up (status 0x%x)", status);
                }
        }
        ck_abort_msg("shmbrokerd did not report READY=1 within 10 s");
}

/* Run the daemon on d's paths with the fixed options plus @extra_args; wait for READY=1. */
static void daemon_spawn(TestDaemon *d, const char *const *extra_args) {
        const char *bin = getenv("SHMBROKERD");
        char notify[300];
        const char *argv[64];
        size_t n = 0;
        pid_t parent;
        int nfd;

        ck_assert_msg(bin, "SHMBROKERD is not set (run through make check)");
        /* A previous instance's notify socket may still be bound to the path. */
        snprintf(notify, sizeof(notify), "%s/notify.sock", d->dir);
        (void)unlink(notify);
        nfd = notify_socket(notify);

        argv[n++] = bin;
        argv[n++] = "--socket";
        argv[n++] = d->socket;
        argv[n++] = "--admin-socket";
        argv[n++] = d->admin_socket;
        argv[n++] = "--state-dir";
        argv[n++] = d->state_dir;
        argv[n++] = "--log-level";
        argv[n++] = "debug";
        for (size_t i = 0; extra_args && extra_args[i] && n < 62; i++)
                argv[n++] = extra_args[i];
        argv[n] = NULL;

        parent = getpid();
        d->pid = fork();
        ck_assert_int_ge(d->pid, 0);
        if (d->pid == 0) {
                /* No daemon outlives the test program, whatever way it ends. */
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                        _exit(126);
                setenv("NOTIFY_SOCKET", notify, 1);
                execv(bin, (char *const *)argv);
                _exit(127);
        }
        wait_ready(d, nfd);
        close(nfd);
}

void test_daemon_start(TestDaemon *d, const char *const *extra_args) {
        const char *tag = getenv(TEST_RUN_ENV);

        if (tag && *tag)
                snprintf(d->dir, sizeof(d->dir), "%s%s-XXXXXX", TEST_DIR_PREFIX, tag);
        else
                snprintf(d->dir, sizeof(d->dir), "%sXXXXXX", TEST_DIR_PREFIX);
        ck_assert_ptr_nonnull(mkdtemp(d->dir));
        snprintf(d->socket, sizeof(d->socket), "%s/shmbrokerd.sock", d->dir);
        snprintf(d->state_dir, sizeof(d->state_dir), "%s/state", d->dir);
        snprintf(d->admin_socket, sizeof(d->admin_socket), "%s/admin.sock", d->dir);
        daemon_spawn(d, extra_args);
}

void test_daemon_restart(TestDaemon *d, const char *const *extra_args) {
        ck_assert_msg(d->pid <= 0, "test_daemon_restart: shmbrokerd pid %d is still running", (int)d->pid);
        ck_assert_msg(access(d->dir, F_OK) == 0, "test_daemon_restart: %s is gone (stopped with test_daemon_stop?)",
                      d->dir);
        daemon_spawn(d, extra_args);
}

void test_daemon_share(const TestDaemon *d) {
        ck_assert_int_eq(chmod(d->dir, 0755), 0);
}

int test_daemon_kill(TestDaemon *d, int sig) {
        int status = 0;

        if (d->pid <= 0)
                return -1;
        kill(d->pid, sig);
        ck_assert_int_eq(waitpid(d->pid, &status, 0), d->pid);
        d->pid = 0;
        return status;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void)remove(path);
        return 0;
}

/* rm -rf of the test directory (socket, notify socket, state directory). */
static void remove_dir(const char *dir) {
        (void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void test_run_begin(void) {
        char tag[32];

        snprintf(tag, sizeof(tag), "%d", (int)getpid());
        (void)setenv(TEST_RUN_ENV, tag, 1);
}

void test_run_sweep(void) {
        const char *tag = getenv(TEST_RUN_ENV);
        char prefix[64], path[600];
        struct dirent *de;
        DIR *dp;

        if (!tag || !*tag)
                return;
        snprintf(prefix, sizeof(prefix), "shmbroker-test-%s-", tag);
        dp = opendir("/tmp");
        if (!dp)
                return;
        while ((de = readdir(dp))) {
                if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
                        continue;
                snprintf(path, sizeof(path), "/tmp/%s", de->d_name);
                remove_dir(path);
        }
        closedir(dp);
}

void test_daemon_stop(TestDaemon *d) {
        if (d->pid > 0) {
                int status = test_daemon_kill(d, SIGTERM);

                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                              "shmbrokerd did not exit cleanly on SIGTERM (status 0x%x)", status);
                ck_assert_msg(access(d->socket, F_OK) < 0, "socket %s left behind after stop", d->socket);
                ck_assert_msg(access(d->admin_socket, F_OK) < 0, "admin socket %s left behind after stop",
                              d->admin_socket);
        }
        remove_dir(d->dir);
}

int test_count_fds(pid_t pid) {
        char path[64];
        struct dirent *de;
        DIR *dp;
        int n = 0;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
        dp = opendir(path);
        ck_assert_ptr_nonnull(dp);
        while ((de = readdir(dp)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(dp);
        /* Reading our own /proc/self/fd shows the directory stream's fd too. */
        return pid == getpid() ? n - 1 : n;
}

void test_sleep_ms(int ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int test_wait_fds(pid_t pid, int want, int timeout_ms) {
        int n = test_count_fds(pid);

        for (int waited = 0; n != want && waited < timeout_ms; waited += 10) {
                test_sleep_ms(10);
                n = test_count_fds(pid);
        }
        return n;
}

struct shmb_client *test_client(const TestDaemon *d) {
        struct shmb_client *c = NULL;
        int r = shmb_client_new(&c, d->socket);

        ck_assert_msg(r == 0, "cannot connect to %s: %s", d->socket, strerror(-r));
        return c;
}

static int raw_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = 5 };
        int fd;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        return fd;
}

int test_raw_connect(const TestDaemon *d) {
        return raw_connect(d->socket);
}

int test_raw_connect_admin(const TestDaemon *d) {
        return raw_connect(d->admin_socket);
}

struct shmb_admin *test_admin(const TestDaemon *d) {
        struct shmb_admin *a = NULL;
        int r = shmb_admin_new(&a, d->admin_socket);

        ck_assert_int_eq(r, 0);
        r = shmb_admin_connect(a);
        ck_assert_msg(r == 0, "cannot connect to %s: %s", d->admin_socket, shmb_admin_last_error(a));
        return a;
}

void test_raw_send(int fd, const void *buf, size_t len, int pass_fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
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
        ck_assert_int_eq(sendmsg(fd, &msg, MSG_NOSIGNAL), (ssize_t)len);
}

ssize_t test_raw_recv(int fd, void *buf, size_t size, int *ret_fd) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 4)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr msg = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)
        };
        ssize_t n;

        if (ret_fd)
                *ret_fd = -1;
        n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        int pfd;

                        memcpy(&pfd, CMSG_DATA(c), sizeof(int));
                        if (ret_fd && *ret_fd < 0)
                                *ret_fd = pfd;
                        else
                                close(pfd);
                }
        }
        return n;
}

void test_raw_hello(int fd) {
        uint8_t buf[SHMB_MSG_MAX];
        ProtoHeader h;
        ProtoBuf b;
        ssize_t n;
        int len;

        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_hello(&b, 1, 1, 1);
        ck_assert_int_gt(len, 0);
        test_raw_send(fd, buf, (size_t)len, -1);
        n = test_raw_recv(fd, buf, sizeof(buf), NULL);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(proto_decode_header(buf, (size_t)n, &h), 0);
        ck_assert_uint_eq(h.type, SHMB_MSG_HELLO | SHMB_MSG_REPLY);
        ck_assert_uint_eq(h.status, SHMB_STATUS_OK);
}

int test_run_as(uid_t uid, gid_t gid, int (*fn)(void *userdata), void *userdata) {
        pid_t pid;
        int status;

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                        _exit(99);
                _exit(fn(userdata));
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "child as uid %u died (status 0x%x)", (unsigned)uid, status);
        return WEXITSTATUS(status);
}

ssize_t test_raw_send_fds(int fd, const void *buf, size_t len, int pass_fd, size_t n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 253)];
        } control;
        struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        struct cmsghdr *c;
        ssize_t n;

        ck_assert_uint_le(n_fds, 253);
        if (n_fds > 0) {
                memset(&control, 0, sizeof(control));
                msg.msg_control = control.buf;
                msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                for (size_t i = 0; i < n_fds; i++)
                        memcpy(CMSG_DATA(c) + i * sizeof(int), &pass_fd, sizeof(int));
        }
        n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        return n < 0 ? -errno : n;
}
