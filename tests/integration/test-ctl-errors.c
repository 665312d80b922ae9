/*
 * Integration tests: what shmbrokerctl says when something is wrong, and
 * which sockets it finds. Sizes that are too large, negative or malformed;
 * no daemon, a path that is not a socket, an empty --socket; the admin
 * socket found beside the client socket it was pointed at; create with a
 * lifetime that would end the segment at once.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/shmbroker-admin.h"
#include "client/shmbroker.h"
#include "protocol/shmb-admin-proto.h"
#include "protocol/shmb-proto.h"
#include "tests/integration/util-ctl.h"
#include "tests/integration/util-daemon.h"

static TestDaemon daemon_;

static void clear_env(void) {
        ck_assert_int_eq(unsetenv(SHMB_SOCKET_ENV), 0);
        ck_assert_int_eq(unsetenv(SHMB_ADMIN_SOCKET_ENV), 0);
}

static void daemon_setup(void) {
        clear_env();
        test_daemon_start(&daemon_, NULL);
}

static void daemon_teardown(void) {
        test_daemon_stop(&daemon_);
}

/* Run with @args (NULL-terminated, at most 8), expect @status and @want in standard error; nothing on
 * standard output. */
static void expect_error(int status, const char *want, const char *const *args) {
        char *out, *err;
        int r;

        r = run_ctl(NULL, &out, &err, args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], NULL);
        ck_assert_msg(r == status, "exit status %d, expected %d; stderr:\n%s", r, status, err);
        ck_assert_str_eq(out, "");
        assert_contains(err, want);
        free(out);
        free(err);
}

#define EXPECT_ERROR(status, want, ...) expect_error(status, want, (const char *const[9]){ __VA_ARGS__, NULL })

/* ------------------------------------------------------------------ sizes -- */

START_TEST(test_sizes) {
        clear_env();
        EXPECT_ERROR(2, "invalid size '99999999999999T': too large (the largest size is 18446744073709551615 bytes",
                     "create", "x", "99999999999999T");
        EXPECT_ERROR(2, "invalid size '18446744073709551616': too large", "resize", "x", "18446744073709551616");
        EXPECT_ERROR(2, "'-1' is not an option, and no size, offset or length can be negative", "create", "x", "-1");
        EXPECT_ERROR(2, "'-4K' is not an option, and no size, offset or length can be negative", "resize", "x",
                     "-4K");
        EXPECT_ERROR(2, "invalid size '-5' for --offset: a size cannot be negative", "cat", "x", "--offset", "-5");
        EXPECT_ERROR(2, "invalid size '1Q': not a size: a number of bytes with an optional K, M, G or T",
                     "create", "x", "1Q");
        EXPECT_ERROR(2, "invalid size '0': at least 1 byte", "create", "x", "0");
        EXPECT_ERROR(2, "invalid size '0' for --max-size: at least 1 byte", "create", "x", "1M", "--max-size", "0");
        EXPECT_ERROR(2, "invalid size '1e3' for --length: not a size", "cat", "x", "-n", "1e3");
        EXPECT_ERROR(2, "option '--offset' needs a value", "cat", "x", "--offset");
        EXPECT_ERROR(2, "unknown option '--bogus'", "ls", "--bogus");
        EXPECT_ERROR(2, "unknown option '-Z'", "ls", "-Z");
}
END_TEST

/* Suffixes in either case, with B or iB, as the documentation says. */
START_TEST(test_size_spellings) {
        static const char *const spellings[] = { "1m", "1M", "1MB", "1MiB", "1mib", "1024K", "1048576" };
        char *out;

        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, daemon_.socket, 1), 0);
        for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
                char name[32];

                snprintf(name, sizeof(name), "sz%zu", i);
                ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", name, spellings[i], NULL), 0);
                ck_assert_int_eq(run_ctl(NULL, &out, NULL, "stat", name, NULL), 0);
                assert_contains(out, "size:     1048576 (1M)\n");
                free(out);
        }
}
END_TEST

/* -------------------------------------------------------------- connecting -- */

START_TEST(test_no_daemon) {
        char dir[] = "/tmp/shmbroker-ctl-errors.XXXXXX", path[128], file[128];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        clear_env();
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/none.sock", dir);
        EXPECT_ERROR(3, "cannot connect to shmbrokerd at", "--socket", path, "ls");
        EXPECT_ERROR(3, ": no such socket\nIs shmbrokerd running? Start it (systemctl start shmbrokerd.socket), "
                        "or name its socket\nwith --socket PATH or SHMBROKER_SOCKET=PATH.\n",
                     "--socket", path, "ls");
        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, path, 1), 0);
        EXPECT_ERROR(3, path, "stat", "x");

        /* A socket nobody listens on (its daemon is gone). */
        snprintf(path, sizeof(path), "%s/stale.sock", dir);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(fd);
        EXPECT_ERROR(3, ": nobody listens there (connection refused)\nIs shmbrokerd running?", "--socket", path,
                     "ls");

        /* A directory and a regular file are not sockets ("Connection refused" would mislead). */
        EXPECT_ERROR(3, "it is a directory, not a socket\nName the daemon's socket with --socket PATH",
                     "--socket", dir, "ls");
        snprintf(file, sizeof(file), "%s/file", dir);
        fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        close(fd);
        EXPECT_ERROR(3, "it is a regular file, not a socket", "--socket", file, "ls");
        EXPECT_ERROR(3, "it is a regular file, not a socket", "--admin-socket", file, "stats");

        /* The admin socket's hint names its own option. */
        EXPECT_ERROR(3, "Name another with --admin-socket PATH or SHMBROKER_ADMIN_SOCKET=PATH.", "--socket", path,
                     "stats");

        /* An empty path names no socket: an error, not the default. */
        EXPECT_ERROR(2, "--socket needs a path", "--socket", "", "ls");
        EXPECT_ERROR(2, "--admin-socket needs a path", "--admin-socket", "", "stats");

        ck_assert_int_eq(unlink(file), 0);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(rmdir(dir), 0);
        clear_env();
}
END_TEST

/* ------------------------------------------------------------ admin socket -- */

static void expect_admin_ok(const char *const *args) {
        char *out, *err;
        int r;

        r = run_ctl(NULL, &out, &err, args[0], args[1], args[2], args[3], args[4], NULL);
        ck_assert_msg(r == 0, "%s %s %s: exit status %d:\n%s", args[0], args[1], args[2] ? args[2] : "", r, err);
        free(out);
        free(err);
}

#define EXPECT_ADMIN_OK(...) expect_admin_ok((const char *const[6]){ __VA_ARGS__, NULL })

START_TEST(test_admin_beside_client_socket) {
        char elsewhere[320];

        /* Only the client socket, as the README's export line gives it: the admin socket is beside it. */
        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, daemon_.socket, 1), 0);
        EXPECT_ADMIN_OK("ls", "--all");
        EXPECT_ADMIN_OK("stats");
        clear_env();
        EXPECT_ADMIN_OK("--socket", daemon_.socket, "ls", "--all");
        EXPECT_ADMIN_OK("clients", "-s", daemon_.socket);

        /* The command line comes before the environment: --socket's neighbour beats
         * $SHMBROKER_ADMIN_SOCKET, and --admin-socket beats both. */
        snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere.sock", daemon_.dir);
        ck_assert_int_eq(setenv(SHMB_ADMIN_SOCKET_ENV, elsewhere, 1), 0);
        EXPECT_ADMIN_OK("--socket", daemon_.socket, "stats");
        EXPECT_ERROR(3, elsewhere, "stats");
        ck_assert_int_eq(setenv(SHMB_ADMIN_SOCKET_ENV, daemon_.admin_socket, 1), 0);
        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, elsewhere, 1), 0);
        EXPECT_ADMIN_OK("stats");
        EXPECT_ERROR(3, elsewhere, "--admin-socket", elsewhere, "--socket", daemon_.socket, "stats");
        clear_env();
}
END_TEST

/* The library finds it the same way when given no path. */
START_TEST(test_admin_library_default) {
        struct shmb_admin *a;
        char want[320];

        clear_env();
        ck_assert_int_eq(shmb_admin_new(&a, NULL), 0);
        ck_assert_str_eq(shmb_admin_get_socket_path(a), SHMB_ADMIN_SOCKET_PATH_DEFAULT);
        shmb_admin_free(a);

        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, daemon_.socket, 1), 0);
        snprintf(want, sizeof(want), "%s/admin.sock", daemon_.dir);
        ck_assert_int_eq(shmb_admin_new(&a, NULL), 0);
        ck_assert_str_eq(shmb_admin_get_socket_path(a), want);
        ck_assert_int_eq(shmb_admin_connect(a), 0);
        shmb_admin_free(a);

        ck_assert_int_eq(setenv(SHMB_ADMIN_SOCKET_ENV, "/x/a.sock", 1), 0);
        ck_assert_int_eq(shmb_admin_new(&a, NULL), 0);
        ck_assert_str_eq(shmb_admin_get_socket_path(a), "/x/a.sock");
        shmb_admin_free(a);
        ck_assert_int_eq(shmb_admin_new(&a, "/y/b.sock"), 0);
        ck_assert_str_eq(shmb_admin_get_socket_path(a), "/y/b.sock");
        shmb_admin_free(a);
        clear_env();
}
END_TEST

static Suite *ctl_errors_suite(void) {
        Suite *s = suite_create("ctl-errors");
        TCase *tc;

        tc = tcase_create("usage");
        tcase_add_test(tc, test_sizes);
        tcase_add_test(tc, test_no_daemon);
        suite_add_tcase(s, tc);

        tc = tcase_create("daemon");
        tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
        tcase_add_test(tc, test_size_spellings);
        tcase_add_test(tc, test_admin_beside_client_socket);
        tcase_add_test(tc, test_admin_library_default);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(ctl_errors_suite());
        int failed;

        test_run_begin();
        srunner_run_all(sr, CK_NORMAL);
        test_run_sweep();
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
