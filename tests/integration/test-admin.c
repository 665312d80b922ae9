/*
 * Integration tests of the admin socket through libshmbroker's admin API:
 * every query and action against a live daemon with holder processes, who
 * may use the socket, and which socket serves which requests.
 */

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/shmb-admin-proto.h"
#include "tests/integration/util-holder.h"

#define NOBODY 65534
#define ADMIN_GID 4242

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Let other uids reach the daemon's sockets (the test directory is 0700). */
static void share_dir(const TestDaemon *d) {
        ck_assert_int_eq(chmod(d->dir, 0755), 0);
}

/* Holders run as nobody when the suite runs as root (so uids differ), else as ourselves. */
static uid_t other_uid(void) {
        return geteuid() == 0 ? NOBODY : (uid_t)-1;
}

static const struct shmb_admin_segment *find_segment(const struct shmb_admin_segment *v, size_t n,
                                                     const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].name, name) == 0)
                        return &v[i];
        return NULL;
}

static const struct shmb_admin_client *find_client(const struct shmb_admin_client *v, size_t n, pid_t pid) {
        for (size_t i = 0; i < n; i++)
                if (v[i].pid == pid)
                        return &v[i];
        return NULL;
}

static uint64_t counter(const struct shmb_admin_stats *st, uint16_t op, uint16_t status) {
        for (size_t i = 0; i < st->n_counters; i++)
                if (st->counters[i].operation == op && st->counters[i].status == status)
                        return st->counters[i].count;
        return 0;
}

START_TEST(test_list_segments_fields) {
        const char *a_ops[] = { "c:alpha:8192:0644", "c:beta:4096:0600", NULL };
        const char *b_ops[] = { "r:alpha", NULL };
        struct shmb_admin_segment *v;
        const struct shmb_admin_segment *s;
        TestHolder a, b;
        TestDaemon d;
        uint64_t t0, t1;
        size_t n;

        test_daemon_start(&d, NULL);
        share_dir(&d);
        t0 = now_usec();
        test_holder_start(&a, &d, "holder-a", (uid_t)-1, 0, a_ops);
        test_holder_start(&b, &d, "holder-b", other_uid(), NOBODY, b_ops);
        t1 = now_usec();
        struct shmb_admin *adm = test_admin(&d);

        ck_assert_int_eq(shmb_admin_list_segments(adm, &v, &n), 0);
        ck_assert_uint_eq(n, 2);
        s = find_segment(v, n, "alpha");
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(s->size, 8192);
        ck_assert_int_eq(s->backend, SHMB_BACKEND_MEMFD);
        ck_assert_uint_eq(s->uid, geteuid());
        ck_assert_uint_eq(s->gid, getegid());
        ck_assert_uint_eq(s->mode, 0644);
        ck_assert_int_eq(s->lifetime, SHMB_LIFETIME_PERSISTENT);
        ck_assert_uint_eq(s->holders, 2);
        ck_assert_uint_eq(s->flags, 0);
        ck_assert_int_eq(s->shmid, -1);
        ck_assert_uint_ge(s->created_usec, t0);
        ck_assert_uint_le(s->created_usec, t1);
        /* Opened by holder-b after holder-a created it. */
        ck_assert_uint_gt(s->last_opened_usec, s->created_usec);
        ck_assert_uint_le(s->last_opened_usec, t1);
        s = find_segment(v, n, "beta");
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(s->holders, 1);
        ck_assert_uint_eq(s->mode, 0600);
        ck_assert_uint_eq(s->last_opened_usec, s->created_usec);
        ck_assert_uint_lt(v[0].id, v[1].id);
        shmb_admin_segments_free(v);

        /* A released name that lives on (persistent) keeps its entry, with no holders. */
        ck_assert_int_eq(test_holder_ask(&a, 'l', "beta"), 0);
        ck_assert_int_eq(shmb_admin_list_segments(adm, &v, &n), 0);
        s = find_segment(v, n, "beta");
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(s->holders, 0);
        shmb_admin_segments_free(v);

        shmb_admin_free(adm);
        test_holder_stop(&a);
        test_holder_stop(&b);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_list_includes_unlinked_but_held) {
        const char *a_ops[] = { "c:gone:4096:0600", NULL };
        struct shmb_admin_segment *v;
        const struct shmb_admin_segment *s;
        struct shmb_client *c;
        TestHolder a;
        TestDaemon d;
        size_t n;

        test_daemon_start(&d, NULL);
        test_holder_start(&a, &d, "holder-a", (uid_t)-1, 0, a_ops);
        c = test_client(&d);
        ck_assert_int_eq(shmb_unlink(c, "gone"), 0);
        struct shmb_admin *adm = test_admin(&d);

        ck_assert_int_eq(shmb_admin_list_segments(adm, &v, &n), 0);
        ck_assert_uint_eq(n, 1);
        s = find_segment(v, n, "gone");
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(s->flags & SHMB_SEG_UNLINKED, SHMB_SEG_UNLINKED);
        ck_assert_uint_eq(s->holders, 1);
        shmb_admin_segments_free(v);

        shmb_admin_free(adm);
        shmb_client_free(c);
        test_holder_stop(&a);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_show_holders) {
        const char *a_ops[] = { "c:alpha:8192:0644", NULL };
        const char *b_ops[] = { "r:alpha", NULL };
        struct shmb_admin_holder *h;
        struct shmb_admin_segment s;
        TestHolder a, b;
        TestDaemon d;
        uint64_t t0, t1, t2;
        size_t n;

        test_daemon_start(&d, NULL);
        share_dir(&d);
        t0 = now_usec();
        test_holder_start(&a, &d, "holder-a", (uid_t)-1, 0, a_ops);
        t1 = now_usec();
        test_holder_start(&b, &d, "holder-b", other_uid(), NOBODY, b_ops);
        t2 = now_usec();
        struct shmb_admin *adm = test_admin(&d);

        ck_assert_int_eq(shmb_admin_show(adm, "alpha", &s, &h, &n), 0);
        ck_assert_str_eq(s.name, "alpha");
        ck_assert_uint_eq(s.size, 8192);
        ck_assert_uint_eq(s.holders, 2);
        ck_assert_uint_eq(n, 2);
        /* In connection order: holder-a connected first. */
        ck_assert_uint_lt(h[0].conn_id, h[1].conn_id);
        ck_assert_int_eq(h[0].pid, a.pid);
        ck_assert_uint_eq(h[0].uid, geteuid());
        ck_assert_str_eq(h[0].comm, "holder-a");
        ck_assert_uint_eq(h[0].flags & SHMB_ADMIN_HOLD_WRITABLE, SHMB_ADMIN_HOLD_WRITABLE);
        ck_assert_uint_eq(h[0].opens, 1);
        ck_assert_uint_ge(h[0].since_usec, t0);
        ck_assert_uint_le(h[0].since_usec, t1);
        ck_assert_int_eq(h[1].pid, b.pid);
        ck_assert_uint_eq(h[1].uid, geteuid() == 0 ? NOBODY : geteuid());
        ck_assert_str_eq(h[1].comm, "holder-b");
        ck_assert_uint_eq(h[1].flags & SHMB_ADMIN_HOLD_WRITABLE, 0);
        ck_assert_uint_ge(h[1].since_usec, t1);
        ck_assert_uint_le(h[1].since_usec, t2);
        shmb_admin_holders_free(h);

        ck_assert_int_eq(shmb_admin_show(adm, "nosuch", &s, &h, &n), -ENOENT);
        ck_assert_ptr_nonnull(strstr(shmb_admin_last_error(adm), "nosuch"));
        ck_assert_int_eq(shmb_admin_show(adm, "-bad", &s, &h, &n), -EINVAL);

        shmb_admin_free(adm);
        test_holder_stop(&a);
        test_holder_stop(&b);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_list_clients) {
        const char *a_ops[] = { "c:alpha:8192:0644", "c:beta:4096:0600", NULL };
        const char *b_ops[] = { "r:alpha", NULL };
        struct shmb_admin_client *v;
        const struct shmb_admin_client *c;
        TestHolder a, b;
        TestDaemon d;
        uint64_t t0, t1;
        size_t n;

        test_daemon_start(&d, NULL);
        share_dir(&d);
        t0 = now_usec();
        test_holder_start(&a, &d, "holder-a", (uid_t)-1, 0, a_ops);
        test_holder_start(&b, &d, "holder-b", other_uid(), NOBODY, b_ops);
        t1 = now_usec();
        struct shmb_admin *adm = test_admin(&d);

        ck_assert_int_eq(shmb_admin_list_clients(adm, &v, &n), 0);
        ck_assert_uint_eq(n, 3);
        c = find_client(v, n, a.pid);
        ck_assert_ptr_nonnull(c);
        ck_assert_str_eq(c->comm, "holder-a");
        ck_assert_uint_eq(c->uid, geteuid());
        ck_assert_uint_eq(c->holds, 2);
        ck_assert_uint_eq(c->bytes_held, 8192 + 4096);
        ck_assert_uint_eq(c->flags, SHMB_ADMIN_CLIENT_HELLO);
        ck_assert_uint_ge(c->connected_usec, t0);
        ck_assert_uint_le(c->connected_usec, t1);
        c = find_client(v, n, b.pid);
        ck_assert_ptr_nonnull(c);
        ck_assert_str_eq(c->comm, "holder-b");
        ck_assert_uint_eq(c->uid, geteuid() == 0 ? NOBODY : geteuid());
        ck_assert_uint_eq(c->holds, 1);
        ck_assert_uint_eq(c->bytes_held, 8192);
        c = find_client(v, n, getpid());
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(c->flags, SHMB_ADMIN_CLIENT_ADMIN | SHMB_ADMIN_CLIENT_HELLO);
        ck_assert_uint_eq(c->holds, 0);
        for (size_t i = 1; i < n; i++)
                ck_assert_uint_lt(v[i - 1].conn_id, v[i].conn_id);
        shmb_admin_clients_free(v);

        /* Releasing one hold moves the numbers. */
        ck_assert_int_eq(test_holder_ask(&a, 'l', "alpha"), 0);
        ck_assert_int_eq(shmb_admin_list_clients(adm, &v, &n), 0);
        c = find_client(v, n, a.pid);
        ck_assert_uint_eq(c->holds, 1);
        ck_assert_uint_eq(c->bytes_held, 4096);
        shmb_admin_clients_free(v);

        shmb_admin_free(adm);
        test_holder_stop(&a);
        test_holder_stop(&b);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_stats_counters) {
        struct shmb_create_options excl = SHMB_CREATE_OPTIONS_INIT, posix = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_admin_stats *st0, *st1;
        struct shmb_segment *s[4], *x = NULL;
        struct shmb_client *c;
        TestDaemon d;

        test_daemon_start(&d, NULL);
        struct shmb_admin *adm = test_admin(&d);

        ck_assert_int_eq(shmb_admin_stats(adm, &st0), 0);
        ck_assert_uint_eq(st0->segments, 0);
        ck_assert_uint_eq(st0->connections, 0);
        ck_assert_uint_eq(st0->admin_connections, 1);
        ck_assert_int_eq(st0->log_level, 7);
        ck_assert_int_eq(st0->backends[SHMB_BACKEND_MEMFD].enabled, 1);

        /* A known sequence: 2 creates (one posix), 3 opens, 2 misses, 1 exclusive clash. */
        c = test_client(&d);
        ck_assert_int_eq(shmb_create(c, "s1", 10000, NULL, &s[0]), 0);
        posix.backend = SHMB_BACKEND_POSIX;
        ck_assert_int_eq(shmb_create(c, "p1", 4096, &posix, &s[1]), 0);
        ck_assert_int_eq(shmb_open(c, "s1", 0, &s[2]), 0);
        ck_assert_int_eq(shmb_open(c, "s1", SHMB_OPEN_RDONLY, &s[3]), 0);
        ck_assert_int_eq(shmb_segment_release(s[3]), 0);
        ck_assert_int_eq(shmb_open(c, "s1", SHMB_OPEN_RDONLY, &s[3]), 0);
        ck_assert_int_eq(shmb_open(c, "nope", 0, &x), -ENOENT);
        ck_assert_int_eq(shmb_open(c, "nope2", 0, &x), -ENOENT);
        excl.flags = SHMB_CREATE_EXCL;
        ck_assert_int_eq(shmb_create(c, "s1", 1, &excl, &x), -EEXIST);
        ck_assert_ptr_null(x);

        ck_assert_int_eq(shmb_admin_stats(adm, &st1), 0);
        ck_assert_uint_eq(counter(st1, 0x0001, 0) - counter(st0, 0x0001, 0), 1);      /* hello */
        ck_assert_uint_eq(counter(st1, 0x0002, 0) - counter(st0, 0x0002, 0), 2);      /* create ok */
        ck_assert_uint_eq(counter(st1, 0x0002, 4) - counter(st0, 0x0002, 4), 1);      /* create EXISTS */
        ck_assert_uint_eq(counter(st1, 0x0003, 0) - counter(st0, 0x0003, 0), 3);      /* open ok */
        ck_assert_uint_eq(counter(st1, 0x0003, 3) - counter(st0, 0x0003, 3), 2);      /* open NOT_FOUND */
        ck_assert_uint_eq(counter(st1, 0x0004, 0) - counter(st0, 0x0004, 0), 1);      /* release ok */
        ck_assert_uint_eq(counter(st1, 0x0104, 0), counter(st0, 0x0104, 0) + 1);     /* this STATS */
        ck_assert_uint_eq(st1->segments, 2);
        ck_assert_uint_eq(st1->bytes, 10000 + 4096);
        ck_assert_uint_eq(st1->backends[SHMB_BACKEND_MEMFD].segments, 1);
        ck_assert_uint_eq(st1->backends[SHMB_BACKEND_MEMFD].bytes, 10000);
        ck_assert_uint_eq(st1->backends[SHMB_BACKEND_POSIX].segments, 1);
        ck_assert_uint_eq(st1->backends[SHMB_BACKEND_POSIX].bytes, 4096);
        ck_assert_uint_eq(st1->holds, 2);
        ck_assert_uint_eq(st1->connections, 1);
        ck_assert_uint_eq(st1->connections_total, st0->connections_total + 1);
        ck_assert_uint_ge(st1->uptime_usec, st0->uptime_usec);
        ck_assert_str_eq(shmb_admin_operation_to_string(0x0003), "open");
        ck_assert_str_eq(shmb_admin_operation_to_string(0x0104), "admin_stats");
        ck_assert_str_eq(shmb_admin_status_to_string(3), "not_found");
        shmb_admin_stats_free(st0);
        shmb_admin_stats_free(st1);

        for (int i = 0; i < 4; i++)
                ck_assert_int_eq(shmb_segment_release(s[i]), 0);
        shmb_client_free(c);
        shmb_admin_free(adm);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_destroy) {
        const char *a_ops[] = { "c:victim:4096:0666", NULL };
        const char *b_ops[] = { "o:victim", NULL };
        struct shmb_admin_segment *v, seg;
        struct shmb_admin_holder *h;
        struct shmb_admin_stats *st;
        struct shmb_segment *s;
        struct shmb_client *c;
        TestHolder a, b;
        TestDaemon d;
        uint64_t dropped = 0;
        size_t n;

        test_daemon_start(&d, NULL);
        share_dir(&d);
        test_holder_start(&a, &d, "holder-a", (uid_t)-1, 0, a_ops);
        test_holder_start(&b, &d, "holder-b", other_uid(), NOBODY, b_ops);
        struct shmb_admin *adm = test_admin(&d);

        ck_assert_int_eq(shmb_admin_destroy(adm, "victim", &dropped), 0);
        ck_assert_uint_eq(dropped, 2);
        /* Holders keep their mappings... */
        ck_assert_int_eq(test_holder_ask(&a, 'm', "victim"), 1);
        ck_assert_int_eq(test_holder_ask(&b, 'm', "victim"), 1);
        /* ...but cannot open the name again, and hold nothing any more. */
        ck_assert_int_eq(test_holder_ask(&a, 'o', "victim"), -ENOENT);
        ck_assert_int_eq(test_holder_ask(&b, 'o', "victim"), -ENOENT);
        ck_assert_int_eq(test_holder_ask(&a, 'l', "victim"), -EBADF);
        ck_assert_int_eq(shmb_admin_show(adm, "victim", &seg, &h, &n), -ENOENT);
        ck_assert_int_eq(shmb_admin_list_segments(adm, &v, &n), 0);
        ck_assert_uint_eq(n, 0);
        shmb_admin_segments_free(v);
        ck_assert_int_eq(shmb_admin_stats(adm, &st), 0);
        ck_assert_uint_eq(st->segments, 0);
        ck_assert_uint_eq(st->holds, 0);
        shmb_admin_stats_free(st);
        /* The name is free: a new segment, not the old one. */
        c = test_client(&d);
        ck_assert_int_eq(shmb_create(c, "victim", 4096, NULL, &s), 0);
        {
                struct shmb_stat sst;

                ck_assert_int_eq(shmb_segment_get_stat(s, &sst), 0);
                ck_assert_uint_eq(sst.flags & SHMB_SEG_CREATED, SHMB_SEG_CREATED);
        }
        ck_assert_int_eq(test_holder_ask(&b, 'm', "victim"), 1);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);

        ck_assert_int_eq(shmb_admin_destroy(adm, "victim", &dropped), -ENOENT);
        ck_assert_int_eq(shmb_admin_destroy(adm, "bad/name", NULL), -EINVAL);

        shmb_admin_free(adm);
        test_holder_stop(&a);
        test_holder_stop(&b);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_kick) {
        const char *k_ops[] = { "c:kseg:4096:0600", "c:kseg2:4096:0600", NULL };
        const char *l_ops[] = { "c:lseg:4096:0600", NULL };
        struct shmb_admin_client *v;
        struct shmb_admin_holder *h;
        struct shmb_admin_segment seg;
        TestHolder k, l;
        TestDaemon d;
        uint64_t holds = 0;
        unsigned closed = 0;
        size_t n;
        int r;

        test_daemon_start(&d, NULL);
        test_holder_start(&k, &d, "kicked", (uid_t)-1, 0, k_ops);
        test_holder_start(&l, &d, "kept", (uid_t)-1, 0, l_ops);
        struct shmb_admin *adm = test_admin(&d);

        ck_assert_int_eq(shmb_admin_kick(adm, k.pid, &closed, &holds), 0);
        ck_assert_uint_eq(closed, 1);
        ck_assert_uint_eq(holds, 2);
        /* The kicked client's next call fails with the daemon's reason (DENIED: -EACCES), and the
         * library does not reconnect: the call after fails too. */
        r = test_holder_ask(&k, 's', "kseg");
        ck_assert_msg(r == -EACCES, "stat after kick returned %d, expected -EACCES", r);
        r = test_holder_ask(&k, 's', "kseg");
        ck_assert_msg(r == -ENOTCONN, "second stat after kick returned %d, expected -ENOTCONN (no reconnect)", r);
        /* Its holds are released; the segments persist. */
        ck_assert_int_eq(shmb_admin_show(adm, "kseg", &seg, &h, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_uint_eq(seg.holders, 0);
        shmb_admin_holders_free(h);
        ck_assert_int_eq(shmb_admin_list_clients(adm, &v, &n), 0);
        ck_assert_ptr_null(find_client(v, n, k.pid));
        ck_assert_ptr_nonnull(find_client(v, n, l.pid));
        shmb_admin_clients_free(v);
        /* Other clients are untouched. */
        ck_assert_int_eq(test_holder_ask(&l, 's', "lseg"), 0);

        ck_assert_int_eq(shmb_admin_kick(adm, k.pid, &closed, &holds), -ENOENT);
        ck_assert_ptr_nonnull(strstr(shmb_admin_last_error(adm), "no connection from pid"));
        /* The admin connection never kicks itself. */
        ck_assert_int_eq(shmb_admin_kick(adm, getpid(), &closed, &holds), -ENOENT);
        ck_assert_int_eq(shmb_admin_kick(adm, 0, NULL, NULL), -EINVAL);

        shmb_admin_free(adm);
        test_holder_stop(&k);
        test_holder_stop(&l);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_log_level) {
        TestDaemon d;
        int old = -1, level = -1;

        test_daemon_start(&d, NULL);
        struct shmb_admin *adm = test_admin(&d);

        ck_assert_int_eq(shmb_admin_get_log_level(adm, &level), 0);
        ck_assert_int_eq(level, 7);
        ck_assert_int_eq(shmb_admin_set_log_level(adm, 6, &old), 0);
        ck_assert_int_eq(old, 7);
        ck_assert_int_eq(shmb_admin_get_log_level(adm, &level), 0);
        ck_assert_int_eq(level, 6);
        /* The daemon refuses what is not a level and keeps its own. */
        ck_assert_int_eq(shmb_admin_set_log_level(adm, 8, &old), -EINVAL);
        ck_assert_ptr_nonnull(strstr(shmb_admin_last_error(adm), "0 (emerg) to 7 (debug)"));
        ck_assert_int_eq(shmb_admin_get_log_level(adm, &level), 0);
        ck_assert_int_eq(level, 6);
        ck_assert_int_eq(shmb_admin_set_log_level(adm, 7, &old), 0);
        ck_assert_int_eq(old, 6);
        ck_assert_int_eq(shmb_admin_log_level_from_string("warning"), 4);
        ck_assert_int_eq(shmb_admin_log_level_from_string("error"), 3);
        ck_assert_int_eq(shmb_admin_log_level_from_string("loud"), -EINVAL);
        ck_assert_str_eq(shmb_admin_log_level_to_string(7), "debug");

        shmb_admin_free(adm);
        test_daemon_stop(&d);
}
END_TEST

/* ---------------------------------------------------------------- access -- */

static const char *admin_path;

static int try_admin(void *userdata) {
        const char *expect = userdata;
        struct shmb_admin *a;
        struct shmb_admin_stats *st;
        int r;

        if (shmb_admin_new(&a, admin_path) < 0)
                return 10;
        r = shmb_admin_stats(a, &st);
        if (r == 0) {
                shmb_admin_stats_free(st);
                shmb_admin_free(a);
                return 0;
        }
        if (expect && !strstr(shmb_admin_last_error(a), expect)) {
                fprintf(stderr, "unexpected error text: %s\n", shmb_admin_last_error(a));
                shmb_admin_free(a);
                return 11;
        }
        shmb_admin_free(a);
        return r == -EACCES ? 1 : 12;
}

START_TEST(test_non_admin_refused_by_socket_mode) {
        struct stat sb;
        TestDaemon d;

        if (geteuid() != 0) {
                printf("test_non_admin_refused_by_socket_mode: needs root, skipped\n");
                return;
        }
        test_daemon_start(&d, NULL);
        share_dir(&d);
        ck_assert_int_eq(stat(d.admin_socket, &sb), 0);
        ck_assert_uint_eq(sb.st_mode & 07777, 0600);
        admin_path = d.admin_socket;
        ck_assert_int_eq(test_run_as(NOBODY, NOBODY, try_admin, (void *)"admin access needs root"), 1);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_non_admin_refused_by_daemon) {
        struct shmb_admin_stats *st;
        TestDaemon d;

        if (geteuid() != 0) {
                printf("test_non_admin_refused_by_daemon: needs root, skipped\n");
                return;
        }
        test_daemon_start(&d, NULL);
        share_dir(&d);
        /* Past the socket's permissions, the daemon's own check still refuses. */
        ck_assert_int_eq(chmod(d.admin_socket, 0666), 0);
        admin_path = d.admin_socket;
        ck_assert_int_eq(test_run_as(NOBODY, NOBODY, try_admin, (void *)"admin access needs root (you are uid 65534)"), 1);
        struct shmb_admin *adm = test_admin(&d);

        ck_assert_int_eq(shmb_admin_stats(adm, &st), 0);
        ck_assert_uint_eq(st->admin_denied_total, 1);
        ck_assert_uint_eq(st->admin_connections, 1);
        ck_assert_uint_eq(counter(st, 0x0001, SHMB_STATUS_DENIED), 1);
        shmb_admin_stats_free(st);
        shmb_admin_free(adm);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_admin_group) {
        const char *args[] = { "--admin-group", "4242", NULL };
        struct stat sb;
        TestDaemon d;
        pid_t pid;
        int status;

        if (geteuid() != 0) {
                printf("test_admin_group: needs root, skipped\n");
                return;
        }
        test_daemon_start(&d, args);
        share_dir(&d);
        ck_assert_int_eq(stat(d.admin_socket, &sb), 0);
        ck_assert_uint_eq(sb.st_mode & 07777, 0660);
        ck_assert_uint_eq(sb.st_gid, ADMIN_GID);
        admin_path = d.admin_socket;
        /* A member by primary group is served; a non-member is refused. */
        ck_assert_int_eq(test_run_as(NOBODY, ADMIN_GID, try_admin, NULL), 0);
        ck_assert_int_eq(test_run_as(NOBODY, NOBODY, try_admin, (void *)"admin access needs root"), 1);
        /* A member by supplementary group too (gid kept while switching uid). */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                gid_t g = ADMIN_GID;

                if (setgroups(1, &g) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                        _exit(99);
                _exit(try_admin(NULL));
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "supplementary member refused (0x%x)",
                      status);
        /* And the daemon names the group when it refuses. */
        ck_assert_int_eq(chmod(d.admin_socket, 0666), 0);
        ck_assert_int_eq(test_run_as(NOBODY, NOBODY, try_admin, (void *)"admin access needs root or group"), 1);
        test_daemon_stop(&d);
}
END_TEST

/* Send one request on a raw socket (after HELLO) and return the reply's status and text. */
static int raw_exchange(int fd, const uint8_t *req, int len, char *text, size_t size) {
        uint8_t buf[SHMB_MSG_MAX];
        ProtoHeader h;
        ssize_t n;

        ck_assert_int_gt(len, 0);
        test_raw_send(fd, req, (size_t)len, -1);
        n = test_raw_recv(fd, buf, sizeof(buf), NULL);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(proto_decode_header(buf, (size_t)n, &h), 0);
        text[0] = 0;
        if (h.status)
                ck_assert_int_eq(proto_decode_error_text(buf, (size_t)n, text, size), 0);
        return h.status;
}

START_TEST(test_admin_request_on_client_socket) {
        uint8_t req[SHMB_MSG_MAX];
        char text[SHMB_ERROR_TEXT_MAX + 1];
        ProtoBuf b;
        TestDaemon d;
        int fd;

        test_daemon_start(&d, NULL);
        fd = test_raw_connect(&d);
        test_raw_hello(fd);
        proto_buf_init(&b, req, sizeof(req));
        ck_assert_int_eq(raw_exchange(fd, req, proto_admin_encode_list(&b, SHMB_ADMIN_MSG_LIST_SEGMENTS, 7, 0, 0), text,
                                      sizeof(text)),
                         SHMB_STATUS_UNSUPPORTED);
        ck_assert_str_eq(text, "admin requests are served on the admin socket only");
        proto_buf_init(&b, req, sizeof(req));
        ck_assert_int_eq(raw_exchange(fd, req, proto_admin_encode_destroy(&b, 8, "x"), text, sizeof(text)),
                         SHMB_STATUS_UNSUPPORTED);
        ck_assert_str_eq(text, "admin requests are served on the admin socket only");
        /* The connection is still usable for client requests. */
        proto_buf_init(&b, req, sizeof(req));
        ck_assert_int_eq(raw_exchange(fd, req, proto_encode_name_request(&b, SHMB_MSG_STAT, 9, "x"), text,
                                      sizeof(text)),
                         SHMB_STATUS_NOT_FOUND);
        close(fd);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_client_request_on_admin_socket) {
        uint8_t req[SHMB_MSG_MAX];
        char text[SHMB_ERROR_TEXT_MAX + 1];
        ProtoBuf b;
        TestDaemon d;
        int fd;

        test_daemon_start(&d, NULL);
        fd = test_raw_connect_admin(&d);
        /* Before HELLO: the admin socket, too, wants HELLO first. */
        proto_buf_init(&b, req, sizeof(req));
        ck_assert_int_eq(raw_exchange(fd, req, proto_admin_encode_stats(&b, 1), text, sizeof(text)),
                         SHMB_STATUS_PROTOCOL);
        test_raw_hello(fd);
        proto_buf_init(&b, req, sizeof(req));
        ck_assert_int_eq(raw_exchange(fd, req, proto_encode_create(&b, 2, "x", 4096, 0600, 0, 0, 0), text,
                                      sizeof(text)),
                         SHMB_STATUS_UNSUPPORTED);
        ck_assert_str_eq(text, "client requests are served on the client socket only");
        proto_buf_init(&b, req, sizeof(req));
        ck_assert_int_eq(raw_exchange(fd, req, proto_encode_open(&b, 3, "x", 0), text, sizeof(text)),
                         SHMB_STATUS_UNSUPPORTED);
        ck_assert_str_eq(text, "client requests are served on the client socket only");
        /* Malformed admin payloads are refused, not fatal. */
        proto_buf_init(&b, req, sizeof(req));
        ck_assert_int_eq(raw_exchange(fd, req, proto_admin_encode_kick(&b, 4, 0), text, sizeof(text)),
                         SHMB_STATUS_INVALID);
        proto_buf_init(&b, req, sizeof(req));
        ck_assert_int_eq(raw_exchange(fd, req, proto_admin_encode_list(&b, 0x0199, 5, 0, 0), text, sizeof(text)),
                         SHMB_STATUS_UNSUPPORTED);
        proto_buf_init(&b, req, sizeof(req));
        ck_assert_int_eq(raw_exchange(fd, req, proto_admin_encode_stats(&b, 6), text, sizeof(text)), SHMB_STATUS_OK);
        close(fd);
        test_daemon_stop(&d);
}
END_TEST

static Suite *admin_suite(void) {
        Suite *s = suite_create("admin");
        TCase *tc;

        tc = tcase_create("queries");
        tcase_add_test(tc, test_list_segments_fields);
        tcase_add_test(tc, test_list_includes_unlinked_but_held);
        tcase_add_test(tc, test_show_holders);
        tcase_add_test(tc, test_list_clients);
        tcase_add_test(tc, test_stats_counters);
        suite_add_tcase(s, tc);

        tc = tcase_create("actions");
        tcase_add_test(tc, test_destroy);
        tcase_add_test(tc, test_kick);
        tcase_add_test(tc, test_log_level);
        suite_add_tcase(s, tc);

        tc = tcase_create("access");
        tcase_add_test(tc, test_non_admin_refused_by_socket_mode);
        tcase_add_test(tc, test_non_admin_refused_by_daemon);
        tcase_add_test(tc, test_admin_group);
        tcase_add_test(tc, test_admin_request_on_client_socket);
        tcase_add_test(tc, test_client_request_on_admin_socket);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(admin_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
