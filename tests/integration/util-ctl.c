/*
 * Running the real shmbrokerctl ($SHMBROKERCTL) from tests (see util-ctl.h).
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/util-ctl.h"

#define ARGS_MAX 32

size_t ctl_out_len;

static void buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
        if (*len + n + 1 > *cap) {
                size_t ncap = (*len + n + 1) * 2;
                char *nb = realloc(*buf, ncap);

                ck_assert_ptr_nonnull(nb);
                *buf = nb;
                *cap = ncap;
        }
        memcpy(*buf + *len, data, n);
        *len += n;
        (*buf)[*len] = 0;
}

pid_t ctl_spawn(const char *const *argv, int in_fd, int out_fd, int err_fd) {
        const char *bin = getenv("SHMBROKERCTL");
        pid_t pid;

        ck_assert_msg(bin, "SHMBROKERCTL is not set (run through make check)");
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* Whatever the test process ignores, the program starts with defaults. */
                (void)signal(SIGPIPE, SIG_DFL);
                if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
                    dup2(err_fd, STDERR_FILENO) < 0)
                        _exit(126);
                execv(bin, (char *const *)argv);
                _exit(127);
        }
        return pid;
}

/*
 * Run shmbrokerctl with the NULL-terminated arguments after @err, feeding
 * @stdin_data (NULL: empty) and capturing its output into malloc'd,
 * NUL-terminated *@out and *@err (either may be NULL to discard; the length
 * of standard output, which may hold NUL bytes, is left in ctl_out_len).
 * Returns the exit status; a death by signal fails the test.
 */
int run_ctl(const char *stdin_data, char **out, char **err, ...) {
        const char *argv[ARGS_MAX + 2] = { "shmbrokerctl" };
        char *obuf = NULL, *ebuf = NULL;
        size_t olen = 0, ocap = 0, elen = 0, ecap = 0, in_len = stdin_data ? strlen(stdin_data) : 0, in_pos = 0;
        int in[2], o[2], e[2], status;
        size_t argc = 1;
        va_list ap;
        pid_t pid;

        va_start(ap, err);
        for (const char *a; (a = va_arg(ap, const char *));) {
                ck_assert_uint_lt(argc, ARGS_MAX);
                argv[argc++] = a;
        }
        va_end(ap);
        argv[argc] = NULL;

        ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(o, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(e, O_CLOEXEC), 0);
        pid = ctl_spawn(argv, in[0], o[1], e[1]);
        close(in[0]);
        close(o[1]);
        close(e[1]);
        ck_assert_int_eq(fcntl(in[1], F_SETFL, O_NONBLOCK), 0);
        buf_append(&obuf, &olen, &ocap, "", 0);
        buf_append(&ebuf, &elen, &ecap, "", 0);

        while (o[0] >= 0 || e[0] >= 0) {
                struct pollfd p[3] = {
                        { .fd = o[0], .events = POLLIN },
                        { .fd = e[0], .events = POLLIN },
                        { .fd = in[1], .events = POLLOUT },
                };

                if (in[1] >= 0 && in_pos == in_len) {
                        close(in[1]);
                        in[1] = -1;
                        p[2].fd = -1;
                }
                if (poll(p, 3, -1) < 0) {
                        ck_assert_int_eq(errno, EINTR);
                        continue;
                }
                if (p[2].revents) {
                        ssize_t n = write(in[1], stdin_data + in_pos, in_len - in_pos);

                        if (n > 0)
                                in_pos += (size_t)n;
                        else if (n < 0 && errno != EAGAIN && errno != EINTR)
                                in_pos = in_len;        /* EPIPE: the program stopped reading */
                }
                for (int i = 0; i < 2; i++) {
                        int *fd = i == 0 ? &o[0] : &e[0];
                        char chunk[65536];
                        ssize_t n;

                        if (!p[i].revents)
                                continue;
                        n = read(*fd, chunk, sizeof(chunk));
                        if (n > 0) {
                                if (i == 0)
                                        buf_append(&obuf, &olen, &ocap, chunk, (size_t)n);
                                else
                                        buf_append(&ebuf, &elen, &ecap, chunk, (size_t)n);
                        } else if (n == 0 || errno != EINTR) {
                                close(*fd);
                                *fd = -1;
                        }
                }
        }
        if (in[1] >= 0)
                close(in[1]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "shmbrokerctl %s died (status 0x%x)", argv[1] ? argv[1] : "", status);

        ctl_out_len = olen;
        if (out)
                *out = obuf;
        else
                free(obuf);
        if (err)
                *err = ebuf;
        else
                free(ebuf);
        return WEXITSTATUS(status);
}

void assert_contains(const char *haystack, const char *needle) {
        ck_assert_msg(strstr(haystack, needle), "expected \"%s\" in:\n%s", needle, haystack);
}
