/*
 * Integration-test harness standing in for systemd (see util-service.h).
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "tests/integration/util-service.h"

static long long mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void test_service_init(TestService *t) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int one = 1;

        memset(t, 0, sizeof(*t));
        t->notify_fd = -1;
        snprintf(t->dir, sizeof(t->dir), "/tmp/shmbroker-svc-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t->dir));
        ck_assert_int_eq(chmod(t->dir, 0755), 0);
        snprintf(t->socket, sizeof(t->socket), "%s/shmbrokerd.sock", t->dir);
        snprintf(t->state_dir, sizeof(t->state_dir), "%s/state", t->dir);
        snprintf(t->runtime_dir, sizeof(t->runtime_dir), "%s/run", t->dir);
        snprintf(t->log, sizeof(t->log), "%s/log", t->dir);
        snprintf(t->notify_path, sizeof(t->notify_path), "%s/notify.sock", t->dir);
        t->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ck_assert_int_ge(t->notify_fd, 0);
        ck_assert_int_eq(setsockopt(t->notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
        strcpy(sa.sun_path, t->notify_path);
        ck_assert_int_eq(bind(t->notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

int test_service_stored(TestService *t, const char *name) {
        for (size_t i = 0; i < t->n_store; i++)
                if (strcmp(t->store[i].name, name) == 0)
                        return t->store[i].fd;
        return -1;
}

void test_service_unstore(TestService *t, const char *name) {
        for (size_t i = 0; i < t->n_store;) {
                if (strcmp(t->store[i].name, name) == 0) {
                        close(t->store[i].fd);
                        t->store[i] = t->store[--t->n_store];
                } else {
                        i++;
                }
        }
}

void test_service_store(TestService *t, const char *name, int fd) {
        ck_assert_uint_lt(t->n_store, TEST_STORE_MAX);
        snprintf(t->store[t->n_store].name, sizeof(t->store[t->n_store].name), "%s", name);
        t->store[t->n_store].fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        ck_assert_int_ge(t->store[t->n_store].fd, 0);
        t->n_store++;
}

/* One notify datagram: "KEY=value" lines, maybe fds. */
static void handle_message(TestService *t, char *text, int *fds, size_t n_fds) {
        bool store = false, remove = false;
        char name[64] = "";

        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (strcmp(line, "READY=1") == 0)
                        t->n_ready++;
                else if (strcmp(line, "STOPPING=1") == 0)
                        t->n_stopping++;
                else if (strcmp(line, "WATCHDOG=1") == 0)
                        t->n_watchdog++;
                else if (strcmp(line, "FDSTORE=1") == 0)
                        store = true;
                else if (strcmp(line, "FDSTOREREMOVE=1") == 0)
                        remove = true;
                else if (strncmp(line, "FDNAME=", 7) == 0)
                        snprintf(name, sizeof(name), "%s", line + 7);
                else if (strncmp(line, "STATUS=", 7) == 0)
                        snprintf(t->status, sizeof(t->status), "%s", line + 7);
        }
        if (remove) {
                t->n_removed++;
                test_service_unstore(t, name);
        }
        for (size_t i = 0; i < n_fds; i++) {
                if (store && name[0] && t->n_store < TEST_STORE_MAX) {
                        snprintf(t->store[t->n_store].name, sizeof(t->store[t->n_store].name), "%s", name);
                        t->store[t->n_store++].fd = fds[i];
                } else {
                        close(fds[i]);
                }
        }
}

/* Take in every queued message; returns how many. */
static int drain(TestService *t) {
        int n = 0;

        for (;;) {
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int) * 16) + CMSG_SPACE(sizeof(struct ucred))];
                } control;
                char buf[4096];
                struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
                struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                                      .msg_controllen = sizeof(control.buf) };
                int fds[16];
                size_t n_fds = 0;
                ssize_t len;

                len = recvmsg(t->notify_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (len < 0) {
                        ck_assert_msg(errno == EAGAIN, "notify socket: %s", strerror(errno));
                        return n;
                }
                buf[len] = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) && n_fds < 16; i++)
                                memcpy(&fds[n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                }
                handle_message(t, buf, fds, n_fds);
                n++;
        }
}

bool test_service_wait(TestService *t, bool (*until)(TestService *t, void *userdata), void *userdata,
                       int timeout_ms) {
        long long deadline = mono_ms() + timeout_ms;

        for (;;) {
                struct pollfd p = { .fd = t->notify_fd, .events = POLLIN };
                long long left;

                drain(t);
                if (until && until(t, userdata))
                        return true;
                left = deadline - mono_ms();
                if (left <= 0)
                        return false;
                (void)poll(&p, 1, (int)(left < 50 ? left : 50));
        }
}

static bool ready_above(TestService *t, void *userdata) {
        return t->n_ready > *(unsigned *)userdata;
}

void test_service_start(TestService *t, const char *const *args, const char *const *env) {
        const char *bin = getenv("SHMBROKERD");
        unsigned before = t->n_ready;
        const char *argv[64];
        size_t n = 0;

        ck_assert_msg(bin, "SHMBROKERD is not set (run through make check)");
        argv[n++] = bin;
        argv[n++] = "--socket";
        argv[n++] = t->socket;
        argv[n++] = "--state-dir";
        argv[n++] = t->state_dir;
        argv[n++] = "--runtime-dir";
        argv[n++] = t->runtime_dir;
        argv[n++] = "--log-level";
        argv[n++] = "debug";
        for (size_t i = 0; args && args[i] && n < 62; i++)
                argv[n++] = args[i];
        argv[n] = NULL;

        drain(t);
        t->pid = fork();
        ck_assert_int_ge(t->pid, 0);
        if (t->pid == 0) {
                char names[TEST_STORE_MAX * 65] = "", num[32];
                int tmp[TEST_STORE_MAX], log;

                /* If the test dies, the daemon stops cleanly (SIGINT destroys every segment). */
                if (prctl(PR_SET_PDEATHSIG, SIGINT) < 0)
                        _exit(126);
                log = open(t->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (log < 0 || dup2(log, STDERR_FILENO) < 0)
                        _exit(126);
                /* Move the stored fds to 3, 4, ... in two steps, so that none is overwritten. */
                for (size_t i = 0; i < t->n_store; i++) {
                        tmp[i] = fcntl(t->store[i].fd, F_DUPFD_CLOEXEC, 3 + TEST_STORE_MAX + 16);
                        if (tmp[i] < 0)
                                _exit(126);
                }
                for (size_t i = 0; i < t->n_store; i++) {
                        if (dup2(tmp[i], 3 + (int)i) < 0)
                                _exit(126);
                        if (i > 0)
                                strcat(names, ":");
                        strcat(names, t->store[i].name);
                }
                unsetenv("LISTEN_FDS");
                unsetenv("LISTEN_PID");
                unsetenv("LISTEN_FDNAMES");
                if (t->n_store > 0) {
                        snprintf(num, sizeof(num), "%zu", t->n_store);
                        setenv("LISTEN_FDS", num, 1);
                        setenv("LISTEN_FDNAMES", names, 1);
                        snprintf(num, sizeof(num), "%d", (int)getpid());
                        setenv("LISTEN_PID", num, 1);
                }
                setenv("NOTIFY_SOCKET", t->notify_path, 1);
                for (size_t i = 0; env && env[i]; i++)
                        putenv((char *)env[i]);
                execv(bin, (char *const *)argv);
                _exit(127);
        }
        if (!test_service_wait(t, ready_above, &before, 10000)) {
                int status = 0;

                if (waitpid(t->pid, &status, WNOHANG) == t->pid)
                        t->pid = 0;
                ck_abort_msg("shmbrokerd did not report READY=1 within 10 s (status 0x%x; log %s)", status, t->log);
        }
}

int test_service_kill(TestService *t, int sig) {
        int status = 0;

        ck_assert_int_gt(t->pid, 0);
        kill(t->pid, sig);
        ck_assert_int_eq(waitpid(t->pid, &status, 0), t->pid);
        t->pid = 0;
        drain(t);
        return status;
}

bool test_service_log_contains(TestService *t, const char *text) {
        char buf[1 << 16];
        bool found = false;
        size_t n;
        FILE *f;

        f = fopen(t->log, "re");
        if (!f)
                return false;
        while (!found && (n = fread(buf, 1, sizeof(buf) - 1, f)) > 0) {
                buf[n] = 0;
                found = strstr(buf, text) != NULL;
                if (!found && n == sizeof(buf) - 1)
                        fseek(f, -(long)strlen(text), SEEK_CUR);
        }
        fclose(f);
        return found;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void)remove(path);
        return 0;
}

void test_service_cleanup(TestService *t) {
        if (t->pid > 0) {
                int status = test_service_kill(t, SIGINT);

                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                              "shmbrokerd did not exit cleanly on SIGINT (status 0x%x)", status);
        }
        for (size_t i = 0; i < t->n_store; i++)
                close(t->store[i].fd);
        t->n_store = 0;
        if (t->notify_fd >= 0)
                close(t->notify_fd);
        t->notify_fd = -1;
        (void)nftw(t->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct shmb_client *test_service_client(TestService *t) {
        struct shmb_client *c = NULL;
        int r = shmb_client_new(&c, t->socket);

        ck_assert_msg(r == 0, "cannot connect to %s: %s", t->socket, strerror(-r));
        return c;
}
