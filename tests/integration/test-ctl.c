/*
 * Integration tests: the real shmbrokerctl ($SHMBROKERCTL) against a live
 * shmbrokerd, run with fork/exec, standard input fed and standard output and
 * error captured through pipes. Some tests name the socket with --socket,
 * others through $SHMBROKER_SOCKET; options go before and after the command.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"
#include "tests/integration/util-ctl.h"
#include "tests/integration/util-daemon.h"

#define MiB (1024 * 1024)

static TestDaemon daemon_;

static void daemon_setup(void) {
        ck_assert_int_eq(unsetenv(SHMB_SOCKET_ENV), 0);
        test_daemon_start(&daemon_, NULL);
}

static void daemon_teardown(void) {
        test_daemon_stop(&daemon_);
}

/* ------------------------------------------------------------------ helpers -- */

static void assert_not_contains(const char *haystack, const char *needle) {
        ck_assert_msg(!strstr(haystack, needle), "did not expect \"%s\" in:\n%s", needle, haystack);
}

static bool all_zero(const char *p, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (p[i])
                        return false;
        return true;
}

/* Does segment @name exist? (asked through the library, not the CLI) */
static bool seg_exists(const char *name) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_stat st;
        int r = shmb_stat(c, name, &st);

        shmb_client_free(c);
        ck_assert_msg(r == 0 || r == -ENOENT, "stat '%s': %s", name, strerror(-r));
        return r == 0;
}

/* ------------------------------------------------------------------ README -- */

START_TEST(test_readme_sequence) {
        struct shmb_client *c;
        struct shmb_segment *s;
        struct shmb_stat st;
        char *out, *err;
        void *p;

        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, daemon_.socket, 1), 0);

        ck_assert_int_eq(run_ctl(NULL, &out, &err, "create", "frames", "1M", "--mode", "0640", NULL), 0);
        ck_assert_str_eq(err, "");
        free(out);
        free(err);

        ck_assert_int_eq(run_ctl("hello", NULL, &err, "write", "frames", NULL), 0);
        ck_assert_str_eq(err, "");
        free(err);

        /* The bytes really are in the shared memory. */
        c = test_client(&daemon_);
        ck_assert_int_eq(shmb_open(c, "frames", SHMB_OPEN_RDONLY, &s), 0);
        ck_assert_int_eq(shmb_segment_map(s, &p), 0);
        ck_assert_mem_eq(p, "hello", 5);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_int_eq(shmb_stat(c, "frames", &st), 0);
        ck_assert_uint_eq(st.mode, 0640);
        ck_assert_uint_eq(st.size, MiB);
        shmb_client_free(c);

        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "cat", "frames", NULL), 0);
        ck_assert_uint_eq(ctl_out_len, MiB);
        ck_assert_mem_eq(out, "hello", 5);
        ck_assert(all_zero(out + 5, MiB - 5));
        free(out);

        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "stat", "frames", NULL), 0);
        assert_contains(out, "name:     frames\n");
        assert_contains(out, "size:     1048576");
        assert_contains(out, "mode:     0640\n");
        assert_contains(out, "lifetime: persistent\n");
        assert_contains(out, "backend:  memfd\n");
        assert_contains(out, "holders:  0\n");
        free(out);

        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "ls", NULL), 0);
        assert_contains(out, "\nframes ");
        free(out);

        ck_assert_int_eq(run_ctl(NULL, &out, &err, "rm", "frames", NULL), 0);
        ck_assert_str_eq(err, "");
        free(out);
        free(err);
        ck_assert(!seg_exists("frames"));

        ck_assert_int_eq(run_ctl(NULL, &out, &err, "stat", "frames", NULL), 1);
        ck_assert_str_eq(out, "");
        assert_contains(err, "'frames'");
        free(out);
        free(err);

        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "ls", NULL), 0);
        assert_not_contains(out, "frames");
        free(out);

        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "rm", "frames", NULL), 1);
        assert_contains(err, "'frames'");
        free(err);
}
END_TEST

/* ------------------------------------------------------------------ offsets -- */

START_TEST(test_write_cat_offsets) {
        const char *sock = daemon_.socket;
        char *out, *err;

        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "--socket", sock, "create", "off", "64", NULL), 0);
        ck_assert_int_eq(run_ctl("hello", NULL, NULL, "-s", sock, "write", "off", NULL), 0);
        ck_assert_int_eq(run_ctl("world", NULL, NULL, "write", "off", "--offset", "10", "--socket", sock, NULL), 0);

        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "cat", "off", "--offset", "10", "--length", "5", "-s", sock, NULL),
                         0);
        ck_assert_uint_eq(ctl_out_len, 5);
        ck_assert_mem_eq(out, "world", 5);
        free(out);

        /* Bytes between the two writes stay zero; --length counts from the start. */
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "--socket", sock, "-n", "15", "cat", "off", NULL), 0);
        ck_assert_uint_eq(ctl_out_len, 15);
        ck_assert_mem_eq(out, "hello\0\0\0\0\0world", 15);
        free(out);

        /* The whole segment: 64 bytes. */
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "--socket", sock, "cat", "off", NULL), 0);
        ck_assert_uint_eq(ctl_out_len, 64);
        ck_assert(all_zero(out + 15, 64 - 15));
        free(out);

        /* An offset beyond the end. */
        ck_assert_int_eq(run_ctl(NULL, &out, &err, "--socket", sock, "cat", "off", "--offset", "65", NULL), 1);
        ck_assert_uint_eq(ctl_out_len, 0);
        assert_contains(err, "beyond the end");
        free(out);
        free(err);
        ck_assert_int_eq(run_ctl("x", NULL, &err, "--socket", sock, "write", "off", "--offset", "1K", NULL), 1);
        assert_contains(err, "beyond the end");
        free(err);
}
END_TEST

START_TEST(test_write_too_long) {
        const char *sock = daemon_.socket;
        char *out, *err;

        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "small", "16", "--socket", sock, NULL), 0);
        ck_assert_int_eq(run_ctl("0123456789abcdefWXYZ", NULL, &err, "--socket", sock, "write", "small", NULL), 1);
        assert_contains(err, "longer");
        assert_contains(err, "'small'");
        free(err);

        /* As the message says: what fitted was written, the rest was not. */
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "--socket", sock, "cat", "small", NULL), 0);
        ck_assert_uint_eq(ctl_out_len, 16);
        ck_assert_mem_eq(out, "0123456789abcdef", 16);
        free(out);

        /* Exactly the remaining room is not too long. */
        ck_assert_int_eq(run_ctl("ABCDEF", NULL, NULL, "--socket", sock, "write", "small", "-o", "10", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "--socket", sock, "cat", "small", NULL), 0);
        ck_assert_mem_eq(out, "0123456789ABCDEF", 16);
        free(out);
}
END_TEST

/* ------------------------------------------------------------------ usage -- */

START_TEST(test_usage_errors) {
        const char *sock = daemon_.socket;
        char *out, *err;

        ck_assert_int_eq(run_ctl(NULL, &out, &err, "--socket", sock, "create", "bad", "12X", NULL), 2);
        ck_assert_str_eq(out, "");
        assert_contains(err, "12X");
        free(out);
        free(err);
        ck_assert(!seg_exists("bad"));

        ck_assert_int_eq(run_ctl(NULL, &out, &err, "--socket", sock, "frobnicate", NULL), 2);
        ck_assert_str_eq(out, "");
        assert_contains(err, "unknown command");
        assert_contains(err, "frobnicate");
        free(out);
        free(err);

        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "--socket", sock, "stat", NULL), 2);
        assert_contains(err, "stat NAME");
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "--socket", sock, "create", "bad", NULL), 2);
        assert_contains(err, "create NAME SIZE");
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "--socket", sock, "rm", "a", "b", NULL), 2);
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "--socket", sock, NULL), 2);
        assert_contains(err, "missing command");
        free(err);

        ck_assert_int_eq(run_ctl(NULL, &out, &err, "create", "bad", "1M", "--mode", "999", "--socket", sock, NULL), 2);
        ck_assert_str_eq(out, "");
        assert_contains(err, "999");
        free(out);
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "bad", "1M", "--mode", "01000", "-s", sock, NULL), 2);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "bad", "1M", "--lifetime", "forever", "-s", sock,
                                 NULL),
                         2);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "cat", "bad", "--offset", "ten", "-s", sock, NULL), 2);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "--no-such-option", "ls", "-s", sock, NULL), 2);
        ck_assert(!seg_exists("bad"));
}
END_TEST

/* A bad command line is a usage error (2) whether or not a daemon is there to connect to. */
START_TEST(test_usage_before_connect) {
        char absent[400];
        char *out, *err;

        snprintf(absent, sizeof(absent), "%s/absent.sock", daemon_.dir);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "--socket", absent, "create", "x", "1M", "--mode", "999", NULL), 2);
        assert_not_contains(err, "cannot connect");
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "--socket", absent, "frobnicate", NULL), 2);
        assert_not_contains(err, "cannot connect");
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "--socket", absent, "stat", NULL), 2);
        assert_not_contains(err, "cannot connect");
        free(err);

        ck_assert_int_eq(run_ctl(NULL, &out, &err, "--socket", absent, "create", "x", "12X", NULL), 2);
        ck_assert_str_eq(out, "");
        assert_contains(err, "12X");
        assert_not_contains(err, "cannot connect");
        free(out);
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "--socket", absent, "create", "x", "0", NULL), 2);
        assert_not_contains(err, "cannot connect");
        free(err);
}
END_TEST

START_TEST(test_version) {
        char *out;

        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "version", "--socket", daemon_.socket, NULL), 0);
        ck_assert_str_eq(out, "shmbrokerctl " PACKAGE_VERSION "\nshmbrokerd " PACKAGE_VERSION "\n");
        free(out);
}
END_TEST

START_TEST(test_help) {
        static const char *const commands[] = { "create", "write", "cat", "stat", "ls", "rm", "version" };
        char *out;

        /* No socket anywhere: --help needs no daemon. */
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "--help", NULL), 0);
        assert_contains(out, "Usage:");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                char line[32];

                snprintf(line, sizeof(line), "\n  %s ", commands[i]);
                assert_contains(out, line);
        }
        free(out);

        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "ls", "-h", NULL), 0);
        assert_contains(out, "Usage:");
        free(out);
}
END_TEST

/* ------------------------------------------------------------------ connect -- */

START_TEST(test_no_daemon) {
        char absent[400], stale[400];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char *out, *err;
        int fd;

        snprintf(absent, sizeof(absent), "%s/absent.sock", daemon_.dir);
        ck_assert_int_eq(run_ctl(NULL, &out, &err, "--socket", absent, "ls", NULL), 3);
        ck_assert_str_eq(out, "");
        assert_contains(err, "cannot connect");
        assert_contains(err, absent);
        free(out);
        free(err);

        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, absent, 1), 0);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "stat", "x", NULL), 3);
        assert_contains(err, "cannot connect");
        assert_contains(err, absent);
        free(err);

        /* A socket file nobody listens on (a dead daemon's). */
        snprintf(stale, sizeof(stale), "%s/stale.sock", daemon_.dir);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_uint_lt(strlen(stale), sizeof(sa.sun_path));
        strcpy(sa.sun_path, stale);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "create", "x", "1M", "--socket", stale, NULL), 3);
        assert_contains(err, "cannot connect");
        free(err);
        close(fd);
        unlink(stale);

        /* --socket wins over the environment. */
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "ls", "--socket", daemon_.socket, NULL), 0);
}
END_TEST

/* ------------------------------------------------------------------ create options -- */

START_TEST(test_create_exclusive) {
        char *err;

        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, daemon_.socket, 1), 0);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "--exclusive", "ex", "4K", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "create", "--exclusive", "ex", "4K", NULL), 1);
        assert_contains(err, "'ex'");
        assert_contains(err, "exists");
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "-x", "create", "ex", "4K", NULL), 1);
        /* Without it, an existing segment is just opened. */
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "ex", "4K", NULL), 0);
        ck_assert(seg_exists("ex"));
}
END_TEST

START_TEST(test_create_lifetimes) {
        char *out, *err;

        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, daemon_.socket, 1), 0);

        /* holders and creator would end with the command itself: refused, saying what to use. */
        ck_assert_int_eq(run_ctl(NULL, &out, &err, "create", "tmp", "4K", "--lifetime", "holders", NULL), 2);
        ck_assert_str_eq(out, "");
        assert_contains(err, "--lifetime holders would end the segment at once: this command is its only holder");
        assert_contains(err, "--ttl SEC");
        free(out);
        free(err);
        ck_assert(!seg_exists("tmp"));
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "-l", "creator", "create", "tmp2", "4K", NULL), 2);
        assert_contains(err, "--lifetime creator would end the segment at once: this command is its creator");
        free(err);
        ck_assert(!seg_exists("tmp2"));

        /* The default is persistent. */
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "kept", "4K", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "stat", "kept", NULL), 0);
        assert_contains(out, "lifetime: persistent\n");
        assert_contains(out, "mode:     0600\n");
        free(out);
}
END_TEST

/* ------------------------------------------------------------------ output -- */

/* Run with @args (NULL-terminated, at most 8): exit 0, nothing on standard error; return standard output. */
static char *run_ok(const char *stdin_data, const char *const *args) {
        char *out, *err;
        int r;

        r = run_ctl(stdin_data, &out, &err, args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7],
                    NULL);
        ck_assert_msg(r == 0, "%s %s: exit status %d:\n%s", args[0], args[1] ? args[1] : "", r, err);
        ck_assert_str_eq(err, "");
        free(err);
        return out;
}

#define RUN_OK(in, ...) run_ok(in, (const char *const[9]){ __VA_ARGS__, NULL })

static void assert_quiet(char *out) {
        ck_assert_msg(!*out, "expected no output on success, got:\n%s", out);
        free(out);
}

static void assert_says(char *out, const char *want) {
        ck_assert_str_eq(out, want);
        free(out);
}

/* One convention for every command that changes something: nothing on success, one line with -v. */
START_TEST(test_quiet_on_success) {
        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, daemon_.socket, 1), 0);

        assert_quiet(RUN_OK(NULL, "create", "q", "64K", "--max-size", "1M"));
        assert_says(RUN_OK(NULL, "create", "q2", "4K", "-v", "--mode", "0640"),
                    "created q2: 4096 bytes (4K), memfd, persistent, mode 0640\n");
        assert_quiet(RUN_OK("hi", "write", "q"));
        assert_says(RUN_OK("hello", "write", "q", "-v", "-o", "2"), "wrote q: 5 bytes at offset 2\n");
        assert_quiet(RUN_OK(NULL, "resize", "q", "128K"));
        assert_says(RUN_OK(NULL, "resize", "q", "256K", "-v"), "resized q: 262144 bytes (256K)\n");
        assert_quiet(RUN_OK(NULL, "publish", "q"));
        assert_quiet(RUN_OK(NULL, "rm", "q"));
        assert_says(RUN_OK(NULL, "rm", "q2", "--verbose"), "removed q2: holders keep the memory, new opens fail\n");
        assert_quiet(RUN_OK(NULL, "create", "j", "4K", "--backend", "file"));
        assert_quiet(RUN_OK(NULL, "sync", "j"));
        assert_says(RUN_OK(NULL, "sync", "j", "-v"), "synced j: its bytes are on disk\n");
        /* Admin commands that change something follow it too (the test runs as the daemon's user). */
        assert_quiet(RUN_OK(NULL, "destroy", "j"));
        assert_quiet(RUN_OK(NULL, "create", "j", "4K"));
        assert_says(RUN_OK(NULL, "destroy", "j", "-v"), "destroyed j: 0 holders dropped\n");
        assert_quiet(RUN_OK(NULL, "log-level", "info"));
        assert_says(RUN_OK(NULL, "log-level", "debug", "-v"), "log level info -> debug\n");
        /* Queries print what they were asked for. */
        assert_says(RUN_OK(NULL, "log-level"), "debug\n");
}
END_TEST

/* ------------------------------------------------------------------ pipes -- */

START_TEST(test_cat_reader_closes_early) {
        const char *argv[] = { "shmbrokerctl", "--socket", daemon_.socket, "cat", "big", NULL };
        int o[2], null_fd, status;
        char head[5];
        size_t got = 0;
        pid_t pid;

        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "--socket", daemon_.socket, "create", "big", "4M", NULL), 0);
        ck_assert_int_eq(run_ctl("hello", NULL, NULL, "--socket", daemon_.socket, "write", "big", NULL), 0);

        ck_assert_int_eq(pipe2(o, O_CLOEXEC), 0);
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        ck_assert_int_ge(null_fd, 0);
        pid = ctl_spawn(argv, null_fd, o[1], null_fd);
        close(o[1]);
        close(null_fd);

        /* Like "| head -c 5": take 5 bytes, then close the pipe with 4 MiB still to come. */
        while (got < sizeof(head)) {
                ssize_t n = read(o[0], head + got, sizeof(head) - got);

                if (n < 0 && errno == EINTR)
                        continue;
                ck_assert_int_gt(n, 0);
                got += (size_t)n;
        }
        close(o[0]);
        ck_assert_mem_eq(head, "hello", 5);

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "shmbrokerctl cat died when its reader went away (status 0x%x)", status);
        ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* ------------------------------------------------------------------ main -- */

static TCase *tcase(const char *name) {
        TCase *tc = tcase_create(name);

        tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
        tcase_set_timeout(tc, 30);
        return tc;
}

static Suite *ctl_suite(void) {
        Suite *s = suite_create("ctl");
        TCase *tc;

        tc = tcase("readme");
        tcase_add_test(tc, test_readme_sequence);
        suite_add_tcase(s, tc);

        tc = tcase("offsets");
        tcase_add_test(tc, test_write_cat_offsets);
        tcase_add_test(tc, test_write_too_long);
        suite_add_tcase(s, tc);

        tc = tcase("usage");
        tcase_add_test(tc, test_usage_errors);
        tcase_add_test(tc, test_usage_before_connect);
        tcase_add_test(tc, test_help);
        tcase_add_test(tc, test_version);
        suite_add_tcase(s, tc);

        tc = tcase("connect");
        tcase_add_test(tc, test_no_daemon);
        suite_add_tcase(s, tc);

        tc = tcase("create-options");
        tcase_add_test(tc, test_create_exclusive);
        tcase_add_test(tc, test_create_lifetimes);
        suite_add_tcase(s, tc);

        tc = tcase("output");
        tcase_add_test(tc, test_quiet_on_success);
        suite_add_tcase(s, tc);

        tc = tcase("pipes");
        tcase_add_test(tc, test_cat_reader_closes_early);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        /* A program that stops reading its stdin must not kill us with SIGPIPE. */
        (void)signal(SIGPIPE, SIG_IGN);
        sr = srunner_create(ctl_suite());
        test_run_begin();
        srunner_run_all(sr, CK_NORMAL);
        test_run_sweep();
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
