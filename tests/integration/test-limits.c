/*
 * Limits against a live daemon: connections per user and in all (with the
 * refusal's reason reaching the client), segments and bytes per user and in
 * all, holds per connection, quotas refunded on release, accept pausing when
 * the daemon runs out of fds (and recovering), peers gone before they are
 * accepted (the peer pidfd), and invalid
 * limit options.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol/shmb-proto.h"
#include "tests/integration/util-daemon.h"

#define NOBODY 65534

static struct shmb_client *try_client(const TestDaemon *d, int *ret) {
        struct shmb_client *c = NULL;

        *ret = shmb_client_new(&c, d->socket);
        return c;
}

static int raw_connect_path(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -errno;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        return fd;
}

/* Child as nobody: hold two connections, then a third must be refused with -EDQUOT. */
static int nobody_third_connection(void *userdata) {
        const TestDaemon *d = userdata;
        struct shmb_client *a = NULL, *b = NULL, *c = NULL;
        int r;

        if (shmb_client_new(&a, d->socket) < 0 || shmb_client_new(&b, d->socket) < 0)
                return 10;
        r = shmb_client_new(&c, d->socket);
        if (r != -EDQUOT)
                return 11;
        /* After one closes, a new one is accepted again. */
        shmb_client_free(a);
        for (int i = 0; i < 500; i++) {
                r = shmb_client_new(&c, d->socket);
                if (r == 0)
                        break;
                usleep(10000);
        }
        if (r != 0)
                return 12;
        shmb_client_free(b);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_connections_per_user) {
        const char *args[] = { "--max-connections-per-user", "2", NULL };
        struct shmb_client *root[4];
        TestDaemon d;
        int r;

        test_daemon_start(&d, args);
        test_daemon_share(&d);
        r = test_run_as(NOBODY, NOBODY, nobody_third_connection, &d);
        ck_assert_msg(r == 0, "nobody: expected 2 connections accepted and the third refused with -EDQUOT "
                              "until one closed (child step %d failed)", r);
        /* Root is exempt from the per-user limit. */
        for (int i = 0; i < 4; i++) {
                root[i] = try_client(&d, &r);
                ck_assert_msg(r == 0, "root connection %d refused: %s", i, strerror(-r));
        }
        for (int i = 0; i < 4; i++)
                shmb_client_free(root[i]);
        test_daemon_stop(&d);
}
END_TEST

/* Child as nobody: the daemon holds 3 connections in all; a 4th is refused, on the wire too. */
static int nobody_total_refused(void *userdata) {
        const TestDaemon *d = userdata;
        struct shmb_client *extra = NULL;
        uint8_t buf[SHMB_MSG_MAX];
        char text[SHMB_ERROR_TEXT_MAX + 1];
        ProtoHeader h;
        ssize_t n;
        int r, fd;

        r = shmb_client_new(&extra, d->socket);
        if (r != -EDQUOT || extra)
                return 10;
        /* On the wire: one error reply, req_id 0, status QUOTA, with the reason; then EOF. */
        fd = raw_connect_path(d->socket);
        if (fd < 0)
                return 11;
        n = test_raw_recv(fd, buf, sizeof(buf), NULL);
        if (n <= 0 || proto_decode_header(buf, (size_t)n, &h) != 0)
                return 12;
        if (h.type != (SHMB_MSG_HELLO | SHMB_MSG_REPLY) || h.req_id != 0 || h.status != SHMB_STATUS_QUOTA)
                return 13;
        if (proto_decode_error_text(buf, (size_t)n, text, sizeof(text)) < 0 ||
            !strstr(text, "limit of 3 connections"))
                return 14;
        if (test_raw_recv(fd, buf, sizeof(buf), NULL) != 0)
                return 15;
        close(fd);
        return 0;
}

START_TEST(test_connections_total) {
        const char *args[] = { "--max-connections", "3", NULL };
        struct shmb_client *c[3], *root, *later = NULL;
        TestDaemon d;
        int r;

        test_daemon_start(&d, args);
        test_daemon_share(&d);
        for (int i = 0; i < 3; i++) {
                c[i] = try_client(&d, &r);
                ck_assert_msg(r == 0, "connection %d of 3 refused: %s", i, strerror(-r));
        }
        r = test_run_as(NOBODY, NOBODY, nobody_total_refused, &d);
        ck_assert_msg(r == 0, "nobody: expected a 4th connection refused with -EDQUOT and a QUOTA error reply "
                              "with req_id 0 and the reason, then EOF (child step %d failed)", r);
        /* Root is exempt, so that an administrator can always connect. */
        root = try_client(&d, &r);
        ck_assert_msg(r == 0, "root refused at the total limit: %s", strerror(-r));
        shmb_client_free(root);

        shmb_client_free(c[0]);
        shmb_client_free(c[1]);
        shmb_client_free(c[2]);
        for (int i = 0; i < 500; i++) {
                later = try_client(&d, &r);
                if (r == 0)
                        break;
                test_sleep_ms(10);
        }
        ck_assert_msg(r == 0, "a connection after others closed was still refused: %s", strerror(-r));
        shmb_client_free(later);
        test_daemon_stop(&d);
}
END_TEST

static struct shmb_segment *create(struct shmb_client *c, const char *name, uint64_t size, int *ret) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *s = NULL;

        o.lifetime = SHMB_LIFETIME_HOLDERS;
        *ret = shmb_create(c, name, size, &o, &s);
        return s;
}

static void assert_quota(struct shmb_client *c, int r, const char *what, const char *words) {
        ck_assert_msg(r == -EDQUOT, "%s: expected -EDQUOT, got %s", what, r == 0 ? "success" : strerror(-r));
        ck_assert_msg(strstr(shmb_client_last_error(c), words), "%s: expected '%s' in '%s'", what, words,
                      shmb_client_last_error(c));
}

START_TEST(test_segment_quotas) {
        const char *args[] = { "--max-segments", "3", "--max-bytes", "1M", NULL };
        struct shmb_segment *s[3], *x;
        struct shmb_client *c;
        TestDaemon d;
        int r;

        test_daemon_start(&d, args);
        c = test_client(&d);
        x = create(c, "too-big", 1024 * 1024 + 1, &r);
        ck_assert_ptr_null(x);
        assert_quota(c, r, "1 MiB + 1 with --max-bytes 1M", "bytes in segments");
        for (int i = 0; i < 3; i++) {
                char name[32];

                snprintf(name, sizeof(name), "q%d", i);
                s[i] = create(c, name, 4096, &r);
                ck_assert_msg(r == 0, "segment %d of 3: %s", i, shmb_client_last_error(c));
        }
        x = create(c, "fourth", 4096, &r);
        ck_assert_ptr_null(x);
        assert_quota(c, r, "a 4th segment with --max-segments 3", "number of segments");
        ck_assert_int_eq(shmb_stat(c, "fourth", &(struct shmb_stat){ 0 }), -ENOENT);
        /* Released segments are refunded. */
        ck_assert_int_eq(shmb_segment_release(s[0]), 0);
        x = create(c, "fourth", 4096, &r);
        ck_assert_msg(r == 0, "after a release, expected room for one more: %s", shmb_client_last_error(c));
        ck_assert_int_eq(shmb_segment_release(x), 0);
        ck_assert_int_eq(shmb_segment_release(s[1]), 0);
        ck_assert_int_eq(shmb_segment_release(s[2]), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

/* Child as nobody: quotas per user. */
static int nobody_user_quotas(void *userdata) {
        const TestDaemon *d = userdata;
        struct shmb_segment *a, *b, *x;
        struct shmb_client *c = NULL;
        int r;

        if (shmb_client_new(&c, d->socket) < 0)
                return 10;
        x = create(c, "n-big", 65537, &r);
        if (x || r != -EDQUOT || !strstr(shmb_client_last_error(c), "owner's limit on bytes"))
                return 11;
        a = create(c, "n-a", 4096, &r);
        b = create(c, "n-b", 4096, &r);
        if (!a || !b)
                return 12;
        x = create(c, "n-c", 4096, &r);
        if (x || r != -EDQUOT || !strstr(shmb_client_last_error(c), "owner's limit on the number"))
                return 13;
        shmb_segment_release(a);
        shmb_segment_release(b);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_user_quotas) {
        const char *args[] = { "--max-segments-per-user", "2", "--max-bytes-per-user", "64K", NULL };
        struct shmb_segment *s[3];
        struct shmb_client *c;
        TestDaemon d;
        int r;

        test_daemon_start(&d, args);
        test_daemon_share(&d);
        /* Root uses up its own quota; nobody's is separate. */
        c = test_client(&d);
        s[0] = create(c, "r-a", 4096, &r);
        s[1] = create(c, "r-b", 4096, &r);
        ck_assert_ptr_nonnull(s[0]);
        ck_assert_ptr_nonnull(s[1]);
        s[2] = create(c, "r-c", 4096, &r);
        ck_assert_ptr_null(s[2]);
        assert_quota(c, r, "root's 3rd segment with --max-segments-per-user 2", "owner's limit on the number");
        r = test_run_as(NOBODY, NOBODY, nobody_user_quotas, &d);
        ck_assert_msg(r == 0, "nobody: per-user quota check failed at step %d", r);
        shmb_segment_release(s[0]);
        shmb_segment_release(s[1]);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_holds_per_connection) {
        const char *args[] = { "--max-holds-per-connection", "2", NULL };
        struct shmb_segment *a, *b, *x, *y;
        struct shmb_client *c, *other;
        TestDaemon d;
        int r;

        test_daemon_start(&d, args);
        c = test_client(&d);
        a = create(c, "h-a", 4096, &r);
        b = create(c, "h-b", 4096, &r);
        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        other = test_client(&d);
        y = create(other, "h-c", 4096, &r);
        ck_assert_msg(r == 0, "another connection has its own hold limit: %s", shmb_client_last_error(other));
        r = shmb_open(c, "h-c", 0, &(struct shmb_segment *){ NULL });
        assert_quota(c, r, "a 3rd hold with --max-holds-per-connection 2", "limit on holds");
        /* A second open of something already held is no new hold. */
        r = shmb_open(c, "h-a", SHMB_OPEN_RDONLY, &x);
        ck_assert_msg(r == 0, "re-opening a held segment counts no new hold: %s", shmb_client_last_error(c));
        shmb_segment_release(x);
        shmb_segment_release(a);
        shmb_segment_release(b);
        shmb_segment_release(y);
        shmb_client_free(c);
        shmb_client_free(other);
        test_daemon_stop(&d);
}
END_TEST

/* The daemon out of fds: accept pauses (the daemon keeps serving), and recovers once fds are free. */
START_TEST(test_accept_pauses_on_emfile) {
        struct shmb_client *c, *late = NULL;
        struct rlimit rl, old;
        TestDaemon d;
        int base, fds[64], n = 0, r = -1;

        test_daemon_start(&d, NULL);
        c = test_client(&d);
        base = test_count_fds(d.pid);
        /* Room for the current fds plus 4 (only the soft limit: raising a hard one needs a capability). */
        ck_assert_int_eq(prlimit(d.pid, RLIMIT_NOFILE, NULL, &old), 0);
        rl.rlim_cur = (rlim_t)base + 4;
        rl.rlim_max = old.rlim_max;
        ck_assert_msg(prlimit(d.pid, RLIMIT_NOFILE, &rl, NULL) == 0, "prlimit: %s", strerror(errno));
        for (n = 0; n < 64; n++) {
                fds[n] = raw_connect_path(d.socket);
                ck_assert_msg(fds[n] >= 0, "connect %d: %s", n, strerror(-fds[n]));
        }
        /* The existing client is still served while the backlog cannot be accepted. */
        for (int i = 0; i < 20; i++)
                ck_assert_int_eq(shmb_stat(c, "none", &(struct shmb_stat){ 0 }), -ENOENT);
        ck_assert_int_eq(kill(d.pid, 0), 0);
        for (int i = 0; i < n; i++)
                close(fds[i]);
        ck_assert_int_eq(prlimit(d.pid, RLIMIT_NOFILE, &old, NULL), 0);
        /* Accepting resumes (the retry timer is 100 ms). */
        for (int i = 0; i < 500 && r != 0; i++) {
                r = shmb_client_new(&late, d.socket);
                if (r != 0)
                        test_sleep_ms(10);
        }
        ck_assert_msg(r == 0, "expected connections accepted again after fds were freed: %s", strerror(-r));
        ck_assert_int_eq(shmb_stat(late, "none", &(struct shmb_stat){ 0 }), -ENOENT);
        shmb_client_free(late);
        ck_assert_int_eq(test_wait_fds(d.pid, base, 5000), base);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static uint64_t connections_total(const TestDaemon *d) {
        struct shmb_admin_stats *st = NULL;
        struct shmb_admin *a = test_admin(d);
        uint64_t n;

        ck_assert_int_eq(shmb_admin_stats(a, &st), 0);
        n = st->connections_total;
        shmb_admin_stats_free(st);
        shmb_admin_free(a);
        return n;
}

/*
 * Peers that are gone before the daemon accepts them (it is stopped while they
 * connect and exit) are routine: the daemon checks the peer's pidfd, takes
 * none of them as a connection, and serves on.
 */
START_TEST(test_peer_gone_before_accept) {
        struct shmb_client *c;
        TestDaemon d;
        uint64_t before, after;
        int base;

        test_daemon_start(&d, NULL);
        c = test_client(&d);
        base = test_count_fds(d.pid);
        before = connections_total(&d);
        ck_assert_int_eq(kill(d.pid, SIGSTOP), 0);
        for (int i = 0; i < 20; i++) {
                pid_t pid = fork();

                ck_assert_int_ge(pid, 0);
                if (pid == 0)
                        _exit(raw_connect_path(d.socket) >= 0 ? 0 : 1);
                ck_assert_int_eq(waitpid(pid, &(int){ 0 }, 0), pid);
        }
        ck_assert_int_eq(kill(d.pid, SIGCONT), 0);
        ck_assert_int_eq(shmb_stat(c, "none", &(struct shmb_stat){ 0 }), -ENOENT);
        after = connections_total(&d);
        /* The two admin connections of connections_total() count; the 20 dead peers must not. */
        ck_assert_msg(after - before == 1, "expected none of the 20 dead peers taken as connections "
                      "(connections_total grew by %llu, 1 expected for the admin query)",
                      (unsigned long long)(after - before));
        ck_assert_int_eq(test_wait_fds(d.pid, base, 5000), base);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static int run_daemon_exit(const char *opt, const char *value) {
        const char *bin = getenv("SHMBROKERD");
        pid_t pid;
        int status;

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                execl(bin, bin, "--socket", "/nonexistent-dir/s.sock", opt, value, (char *)NULL);
                _exit(127);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

START_TEST(test_invalid_limit_options) {
        static const char *const bad[][2] = {
                { "--max-connections", "0" },       { "--max-connections-per-user", "-1" },
                { "--max-segments", "x" },          { "--max-bytes", "12Q" },
                { "--max-holds-per-connection", "" }, { "--max-bytes-per-user", "0" },
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(run_daemon_exit(bad[i][0], bad[i][1]) == 2, "%s '%s' should make the daemon exit 2",
                              bad[i][0], bad[i][1]);
}
END_TEST

static Suite *limits_suite(void) {
        Suite *s = suite_create("limits");
        TCase *tc;

        tc = tcase_create("connections");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_connections_per_user);
        tcase_add_test(tc, test_connections_total);
        tcase_add_test(tc, test_accept_pauses_on_emfile);
        tcase_add_test(tc, test_peer_gone_before_accept);
        suite_add_tcase(s, tc);

        tc = tcase_create("quotas");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_segment_quotas);
        tcase_add_test(tc, test_user_quotas);
        tcase_add_test(tc, test_holds_per_connection);
        suite_add_tcase(s, tc);

        tc = tcase_create("options");
        tcase_add_test(tc, test_invalid_limit_options);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(limits_suite());
        int failed;

        test_run_begin();
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        test_run_sweep();
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
