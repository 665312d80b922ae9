/*
 * Admin listings at scale: 100,000 segments listed while another client
 * keeps being served, 10,000 connections listed, and a segment with
 * thousands of holders shown page by page. Correctness is asserted; the
 * timings are printed for the record, never asserted.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/shmb-proto.h"
#include "tests/integration/util-daemon.h"

#define BULK_SEGMENTS 100000
#define BULK_CREATORS 4
#define CONNECTIONS 10000
#define SHARED_HOLDERS 2000

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Raise RLIMIT_NOFILE (inherited by the daemon) towards @want; return what we got. */
static long raise_fd_limit(long want) {
        struct rlimit rl;

        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
        if ((long)rl.rlim_max < want) {
                struct rlimit more = { .rlim_cur = (rlim_t)want, .rlim_max = (rlim_t)want };

                /* Root may raise the hard limit; others keep theirs. */
                if (setrlimit(RLIMIT_NOFILE, &more) == 0)
                        return want;
        }
        rl.rlim_cur = (long)rl.rlim_max < want ? rl.rlim_max : (rlim_t)want;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
        return (long)rl.rlim_cur;
}

/* A child that creates segments bulk-<first> .. bulk-<first+n-1> (persistent, 1 byte). */
static void create_bulk(const TestDaemon *d, int first, int n) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_client *c;
        pid_t pid;

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid > 0)
                return;
        o.lifetime = SHMB_LIFETIME_PERSISTENT;
        if (shmb_client_new(&c, d->socket) < 0)
                _exit(2);
        for (int i = first; i < first + n; i++) {
                struct shmb_segment *s;
                char name[32];

                snprintf(name, sizeof(name), "bulk-%06d", i);
                if (shmb_create(c, name, 1, &o, &s) < 0 || shmb_segment_release(s) < 0) {
                        fprintf(stderr, "creating %s: %s\n", name, shmb_client_last_error(c));
                        _exit(3);
                }
        }
        shmb_client_free(c);
        _exit(0);
}

typedef struct ListingResult {
        int32_t error;          /* 0 or negative errno */
        uint32_t bulk;          /* bulk-* entries seen */
        uint32_t ordered;       /* 1 if ids were strictly ascending */
        uint64_t usec;          /* how long the listing took */
} ListingResult;

/* Child: list every segment again and again until told to stop; report each listing. */
static void lister(const TestDaemon *d, int stop_fd, int res_fd) {
        struct shmb_admin *a;

        if (shmb_admin_new(&a, d->admin_socket) < 0)
                _exit(2);
        for (;;) {
                struct pollfd p = { .fd = stop_fd, .events = POLLIN };
                struct shmb_admin_segment *v;
                ListingResult res = { .ordered = 1 };
                uint64_t t0 = mono_usec();
                size_t n = 0;

                res.error = shmb_admin_list_segments(a, &v, &n);
                res.usec = mono_usec() - t0;
                for (size_t i = 0; res.error == 0 && i < n; i++) {
                        if (strncmp(v[i].name, "bulk-", 5) == 0)
                                res.bulk++;
                        if (i > 0 && v[i].id <= v[i - 1].id)
                                res.ordered = 0;
                }
                if (res.error == 0)
                        shmb_admin_segments_free(v);
                if (write(res_fd, &res, sizeof(res)) != sizeof(res))
                        _exit(3);
                if (res.error < 0 || poll(&p, 1, 0) > 0)
                        break;
        }
        shmb_admin_free(a);
        _exit(0);
}

START_TEST(test_list_100k_segments_while_serving) {
        const char *args[] = { "--log-level", "info", NULL };
        int n_segments = BULK_SEGMENTS, stop[2], res[2], status, listings = 0, probes = 0;
        uint64_t t0, min_list = UINT64_MAX, max_list = 0, *lat = NULL;
        size_t lat_cap = 0;
        struct shmb_client *c;
        long limit;
        TestDaemon d;
        pid_t pid;

        limit = raise_fd_limit(BULK_SEGMENTS + 2048);
        if (limit < BULK_SEGMENTS + 2048) {
                n_segments = (int)(limit - 2048) / 1000 * 1000;
                printf("fd limit %ld: listing %d segments instead of %d\n", limit, n_segments, BULK_SEGMENTS);
        }
        ck_assert_int_gt(n_segments, 0);
        test_daemon_start(&d, args);
        t0 = mono_usec();
        for (int i = 0; i < BULK_CREATORS; i++)
                create_bulk(&d, i * (n_segments / BULK_CREATORS), n_segments / BULK_CREATORS);
        for (int i = 0; i < BULK_CREATORS; i++) {
                ck_assert_int_gt(wait(&status), 0);
                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a creator failed (0x%x)", status);
        }
        printf("created %d segments through %d connections in %.2f s\n", n_segments, BULK_CREATORS,
               (double)(mono_usec() - t0) / 1e6);

        ck_assert_int_eq(pipe2(stop, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(res, O_CLOEXEC), 0);
        c = test_client(&d);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                lister(&d, stop[0], res[1]);
        close(res[1]);

        /* Meanwhile this client's requests keep being answered, whatever the listing does. */
        while (listings < 2 || probes < 50) {
                struct pollfd p = { .fd = res[0], .events = POLLIN };
                struct shmb_segment *s, *s2;
                uint64_t t = mono_usec();
                char name[32];

                snprintf(name, sizeof(name), "probe-%d", probes);
                ck_assert_int_eq(shmb_create(c, name, 4096, NULL, &s), 0);
                ck_assert_int_eq(shmb_open(c, name, SHMB_OPEN_RDONLY, &s2), 0);
                ck_assert_int_eq(shmb_segment_release(s2), 0);
                ck_assert_int_eq(shmb_segment_release(s), 0);
                t = mono_usec() - t;
                if ((size_t)probes >= lat_cap) {
                        lat_cap = lat_cap * 2 + 64;
                        lat = realloc(lat, lat_cap * sizeof(*lat));
                        ck_assert_ptr_nonnull(lat);
                }
                lat[probes++] = t;
                while (poll(&p, 1, 0) > 0) {
                        ListingResult r;

                        ck_assert_int_eq(read(res[0], &r, sizeof(r)), (ssize_t)sizeof(r));
                        ck_assert_msg(r.error == 0, "listing failed: %s", strerror(-r.error));
                        ck_assert_int_eq(r.bulk, n_segments);
                        ck_assert_int_eq(r.ordered, 1);
                        min_list = r.usec < min_list ? r.usec : min_list;
                        max_list = r.usec > max_list ? r.usec : max_list;
                        listings++;
                }
        }
        ck_assert_int_eq(write(stop[1], "x", 1), 1);
        for (;;) {
                ListingResult r;
                ssize_t n = read(res[0], &r, sizeof(r));

                if (n == 0)
                        break;
                ck_assert_int_eq(n, (ssize_t)sizeof(r));
                ck_assert_int_eq(r.error, 0);
                ck_assert_int_eq(r.bulk, n_segments);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "lister failed (0x%x)", status);
        qsort(lat, (size_t)probes, sizeof(*lat), cmp_u64);
        printf("listing %d segments: %.3f-%.3f s (%d listings); meanwhile %d create+open+release rounds, "
               "median %.2f ms, slowest %.2f ms\n",
               n_segments, (double)min_list / 1e6, (double)max_list / 1e6, listings, probes,
               (double)lat[probes / 2] / 1e3, (double)lat[probes - 1] / 1e3);
        free(lat);
        close(stop[0]);
        close(stop[1]);
        close(res[0]);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static void raw_expect(int fd, uint16_t type, uint16_t status) {
        uint8_t buf[SHMB_MSG_MAX];
        ProtoHeader h;
        ssize_t n;
        int pfd;

        n = test_raw_recv(fd, buf, sizeof(buf), &pfd);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(proto_decode_header(buf, (size_t)n, &h), 0);
        ck_assert_uint_eq(h.type, type | SHMB_MSG_REPLY);
        ck_assert_uint_eq(h.status, status);
        if (pfd >= 0)
                close(pfd);
}

START_TEST(test_10k_connections_and_paged_holders) {
        const char *args[] = { "--log-level", "info", NULL };
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        int n_conns = CONNECTIONS, n_holders = SHARED_HOLDERS, *fds;
        struct shmb_admin_client *v;
        struct shmb_admin_holder *h;
        struct shmb_admin_segment seg;
        struct shmb_admin_stats *st;
        struct shmb_segment *shared;
        struct shmb_client *c;
        struct shmb_admin *a;
        uint8_t req[SHMB_MSG_MAX];
        size_t n, n_client = 0;
        uint64_t t0;
        long limit;
        TestDaemon d;

        limit = raise_fd_limit(CONNECTIONS + 1024);
        if (limit < CONNECTIONS + 1024) {
                n_conns = (int)(limit - 1024);
                n_holders = n_conns < n_holders ? n_conns : n_holders;
                printf("fd limit %ld: %d connections instead of %d\n", limit, n_conns, CONNECTIONS);
        }
        ck_assert_int_gt(n_conns, 0);
        test_daemon_start(&d, args);
        c = test_client(&d);
        o.mode = 0644;
        ck_assert_int_eq(shmb_create(c, "shared", 8192, &o, &shared), 0);

        fds = calloc((size_t)n_conns, sizeof(int));
        ck_assert_ptr_nonnull(fds);
        t0 = mono_usec();
        for (int i = 0; i < n_conns; i++) {
                ProtoBuf b;

                fds[i] = test_raw_connect(&d);
                proto_buf_init(&b, req, sizeof(req));
                test_raw_send(fds[i], req, (size_t)proto_encode_hello(&b, 1, 1, 1), -1);
                raw_expect(fds[i], SHMB_MSG_HELLO, 0);
                if (i < n_holders) {
                        proto_buf_init(&b, req, sizeof(req));
                        test_raw_send(fds[i], req, (size_t)proto_encode_open(&b, 2, "shared", PROTO_OPEN_RDONLY), -1);
                        raw_expect(fds[i], SHMB_MSG_OPEN, 0);
                }
        }
        printf("%d connections up (%d holding 'shared') in %.2f s\n", n_conns, n_holders,
               (double)(mono_usec() - t0) / 1e6);

        a = test_admin(&d);
        t0 = mono_usec();
        ck_assert_int_eq(shmb_admin_list_clients(a, &v, &n), 0);
        printf("listing %zu connections took %.3f s\n", n, (double)(mono_usec() - t0) / 1e6);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        ck_assert_uint_lt(v[i - 1].conn_id, v[i].conn_id);
                if (v[i].flags & SHMB_ADMIN_CLIENT_ADMIN)
                        continue;
                ck_assert_int_eq(v[i].pid, getpid());
                n_client++;
        }
        /* The raw connections, the library client, and one admin connection. */
        ck_assert_uint_eq(n_client, (size_t)n_conns + 1);
        ck_assert_uint_eq(n, (size_t)n_conns + 2);
        for (int i = 0; i < n_conns; i++) {
                const struct shmb_admin_client *k = &v[1 + i]; /* after the library client (first) */

                ck_assert_uint_eq(k->holds, i < n_holders ? 1 : 0);
                ck_assert_uint_eq(k->bytes_held, i < n_holders ? 8192 : 0);
        }
        shmb_admin_clients_free(v);

        t0 = mono_usec();
        ck_assert_int_eq(shmb_admin_show(a, "shared", &seg, &h, &n), 0);
        printf("showing %zu holders took %.3f s\n", n, (double)(mono_usec() - t0) / 1e6);
        ck_assert_uint_eq(n, (size_t)n_holders + 1);
        ck_assert_uint_eq(seg.holders, (uint32_t)n_holders + 1);
        ck_assert_uint_eq(h[0].flags, SHMB_ADMIN_HOLD_WRITABLE);
        for (size_t i = 1; i < n; i++) {
                ck_assert_uint_lt(h[i - 1].conn_id, h[i].conn_id);
                ck_assert_uint_eq(h[i].flags, 0);
        }
        shmb_admin_holders_free(h);

        ck_assert_int_eq(shmb_admin_stats(a, &st), 0);
        ck_assert_uint_eq(st->connections, (uint32_t)n_conns + 1);
        ck_assert_uint_eq(st->holds, (uint64_t)n_holders + 1);
        shmb_admin_stats_free(st);

        for (int i = 0; i < n_conns; i++)
                close(fds[i]);
        free(fds);
        /* Wait (bounded) for the daemon to notice every close. */
        for (int tries = 0; tries < 600; tries++) {
                uint32_t left;

                ck_assert_int_eq(shmb_admin_stats(a, &st), 0);
                left = st->connections;
                shmb_admin_stats_free(st);
                if (left == 1)
                        break;
                usleep(50000);
        }
        ck_assert_int_eq(shmb_admin_show(a, "shared", &seg, &h, &n), 0);
        ck_assert_uint_eq(n, 1);
        shmb_admin_holders_free(h);
        shmb_admin_free(a);
        ck_assert_int_eq(shmb_segment_release(shared), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static Suite *scale_suite(void) {
        Suite *s = suite_create("admin-scale");
        TCase *tc = tcase_create("scale");

        tcase_set_timeout(tc, 900);
        tcase_add_test(tc, test_list_100k_segments_while_serving);
        tcase_add_test(tc, test_10k_connections_and_paged_holders);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(scale_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
