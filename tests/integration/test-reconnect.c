/*
 * What a library client had in flight when its connection broke, with or
 * without a daemon restart under the (emulated) file-descriptor store:
 *
 * - a CREATE, UNLINK or RESIZE whose reply was lost is sent again and the
 *   daemon recognises it by its operation id: the client is told what the
 *   first one did (the segment it made; the unlink done; the size reached),
 *   never EEXIST, ENOENT or EINVAL for its own change, and a name reused
 *   in between is not touched;
 * - subscriptions are renewed under the ids the application holds, with
 *   exactly one DROPPED (SHMB_EVENT_RECONNECTED) for the gap, seqs going on.
 *
 * Replies are lost deterministically: the client talks to the daemon through
 * a relay (util-proxy.c) that keeps the chosen reply, and the test kills the
 * daemon only then — the state a daemon killed between its change and its
 * reply leaves, without racing a kill against the daemon.
 */

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"
#include "tests/integration/util-proxy.h"
#include "tests/integration/util-service.h"

static const char *const store_args[] = { "--fd-store=yes", "--reclaim-grace=1", NULL };

typedef struct Setup {
        TestService t;
        TestProxy *proxy;
        char front[400];
        struct shmb_client *direct;     /* another client, not relayed */
} Setup;

static void setup_start(Setup *s) {
        test_service_init(&s->t);
        test_service_start(&s->t, store_args, NULL);
        snprintf(s->front, sizeof(s->front), "%s/relay.sock", s->t.dir);
        s->proxy = test_proxy_start(s->front, s->t.socket);
        s->direct = test_service_client(&s->t);
}

static void setup_end(Setup *s) {
        shmb_client_free(s->direct);
        test_proxy_stop(s->proxy);
        test_service_cleanup(&s->t);
}

static struct shmb_client *relayed_client(Setup *s) {
        struct shmb_client *c = NULL;

        ck_assert_int_eq(shmb_client_new(&c, s->front), 0);
        ck_assert_int_eq(shmb_client_set_timeout(c, 30 * 1000 * 1000), 0);
        return c;
}

static void make(struct shmb_client *c, const char *name, uint64_t size, uint64_t max_size) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *seg = NULL;
        int r;

        o.lifetime = SHMB_LIFETIME_PERSISTENT;
        o.backend = SHMB_BACKEND_MEMFD;
        o.mode = 0644;
        o.max_size = max_size;
        r = shmb_create(c, name, size, &o, &seg);
        ck_assert_msg(r == 0, "create '%s': %s", name, shmb_client_last_error(c));
        ck_assert_int_eq(shmb_segment_release(seg), 0);
}

/* ------------------------------------------------------------------------ lost replies -- */

typedef enum CallKind { CALL_CREATE, CALL_UNLINK, CALL_RESIZE } CallKind;

typedef struct Call {
        struct shmb_client *c;
        CallKind kind;
        const char *name;
        uint64_t size;
        struct shmb_segment *seg;
        int r;
} Call;

static void *call_main(void *userdata) {
        Call *call = userdata;
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;

        switch (call->kind) {
        case CALL_CREATE:
                o.flags = SHMB_CREATE_EXCL;
                o.lifetime = SHMB_LIFETIME_PERSISTENT;
                o.backend = SHMB_BACKEND_MEMFD;
                call->r = shmb_create(call->c, call->name, call->size, &o, &call->seg);
                break;
        case CALL_UNLINK:
                call->r = shmb_unlink(call->c, call->name);
                break;
        case CALL_RESIZE:
                call->r = shmb_resize(call->c, call->name, call->size);
                break;
        }
        return NULL;
}

typedef void (*BetweenFn)(Setup *s);

/*
 * Make @call through the relay; its reply is lost (returned in @lost). With
 * @restart the daemon is killed (SIGKILL) right then and started again on
 * its state and fd store; without, the connection alone is cut. @between
 * runs while the client cannot reach the daemon. Then the client comes back
 * and sends the request again; the call's result is in @call.
 */
static size_t lose_reply(Setup *s, Call *call, bool restart, BetweenFn between, uint8_t *lost, size_t size) {
        static const uint16_t types[] = { SHMB_MSG_CREATE, SHMB_MSG_UNLINK, SHMB_MSG_RESIZE };
        pthread_t th;
        size_t len;

        test_proxy_lose(s->proxy, types[call->kind]);
        ck_assert_int_eq(pthread_create(&th, NULL, call_main, call), 0);
        len = test_proxy_wait_lost(s->proxy, lost, size, 10000);
        ck_assert_msg(len >= SHMB_HEADER_SIZE, "the reply did not come");
        if (restart)
                test_service_kill(&s->t, SIGKILL);
        test_proxy_cut(s->proxy);
        if (restart) {
                test_service_start(&s->t, store_args, NULL);
                /* The direct client's next call reconnects it. */
        }
        if (between)
                between(s);
        test_proxy_listen(s->proxy);
        ck_assert_int_eq(pthread_join(th, NULL), 0);
        return len;
}

static void check_create_again(bool restart) {
        uint8_t lost[SHMB_MSG_MAX];
        struct shmb_segment *other;
        struct shmb_stat st;
        ProtoSegInfo si;
        ProtoHeader h;
        Setup s;
        Call call = { .kind = CALL_CREATE, .name = "made", .size = 8192 };
        void *p, *q;
        size_t len;

        setup_start(&s);
        call.c = relayed_client(&s);
        len = lose_reply(&s, &call, restart, NULL, lost, sizeof(lost));
        ck_assert_int_eq(proto_decode_header(lost, len, &h), 0);
        ck_assert_uint_eq(h.status, 0);
        ck_assert_int_eq(proto_decode_seginfo_reply(lost, len, &si), 0);
        ck_assert(si.flags & PROTO_SEG_CREATED);

        /* Not EEXIST: the client is told what its first CREATE did. */
        ck_assert_msg(call.r == 0, "CREATE sent again: %s", shmb_client_last_error(call.c));
        ck_assert_uint_eq(shmb_segment_get_id(call.seg), si.id);
        ck_assert_int_eq(shmb_segment_get_stat(call.seg, &st), 0);
        ck_assert_msg(st.flags & SHMB_SEG_CREATED, "flags 0x%x: not reported as created", st.flags);
        ck_assert_int_eq(shmb_segment_is_readonly(call.seg), 0);
        ck_assert(test_service_log_contains(&s.t, "(operation "));
        /* Its descriptor is the segment's memory, read-write. */
        ck_assert_int_eq(shmb_segment_map(call.seg, &p), 0);
        memset(p, 0x5a, 8192);
        ck_assert_int_eq(shmb_open(s.direct, "made", SHMB_OPEN_RDONLY, &other), 0);
        ck_assert_uint_eq(shmb_segment_get_id(other), si.id);
        ck_assert_int_eq(shmb_segment_map(other, &q), 0);
        ck_assert_int_eq(memcmp(p, q, 8192), 0);
        ck_assert_int_eq(shmb_segment_release(other), 0);
        /* Held once by the client, as the first reply would have made it. */
        ck_assert_int_eq(shmb_stat(s.direct, "made", &st), 0);
        ck_assert_uint_eq(st.holders, 1);
        ck_assert_int_eq(shmb_segment_release(call.seg), 0);
        /* A new CREATE (a new operation id) of the name is refused as ever. */
        call.seg = NULL;
        call_main(&call);
        ck_assert_int_eq(call.r, -EEXIST);
        shmb_client_free(call.c);
        setup_end(&s);
}

START_TEST(test_create_lost_in_restart) {
        check_create_again(true);
}
END_TEST

START_TEST(test_create_lost_with_connection) {
        check_create_again(false);
}
END_TEST

static void version_1_from_now(Setup *s) {
        test_proxy_hello_max(s->proxy, 1);
}

START_TEST(test_create_lost_then_version_1_daemon) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        uint8_t lost[SHMB_MSG_MAX];
        struct shmb_segment *seg;
        Setup s;
        Call call = { .kind = CALL_CREATE, .name = "made", .size = 4096 };

        setup_start(&s);
        call.c = relayed_client(&s);
        /* The client comes back to a daemon that speaks version 1 only: it sends the CREATE again
         * as version 1, without the id (which that daemon would refuse), and gets version 1's
         * answer. */
        lose_reply(&s, &call, false, version_1_from_now, lost, sizeof(lost));
        ck_assert_msg(call.r == -EEXIST, "CREATE sent again to a version-1 daemon: %d (%s)", call.r,
                      shmb_client_last_error(call.c));
        o.flags = SHMB_CREATE_EXCL;
        ck_assert_int_eq(shmb_create(call.c, "other", 4096, &o, &seg), 0);
        ck_assert_int_eq(shmb_unlink(call.c, "other"), 0);
        ck_assert_int_eq(shmb_segment_release(seg), 0);
        shmb_client_free(call.c);
        setup_end(&s);
}
END_TEST

START_TEST(test_unlink_lost_in_restart) {
        uint8_t lost[SHMB_MSG_MAX];
        struct shmb_stat st;
        ProtoHeader h;
        Setup s;
        Call call = { .kind = CALL_UNLINK, .name = "gone" };

        setup_start(&s);
        make(s.direct, "gone", 4096, 0);
        call.c = relayed_client(&s);
        ck_assert_int_eq(proto_decode_header(lost, lose_reply(&s, &call, true, NULL, lost, sizeof(lost)), &h), 0);
        ck_assert_uint_eq(h.status, 0);
        /* Not ENOENT: the name is gone because this client took it. */
        ck_assert_msg(call.r == 0, "UNLINK sent again: %s", shmb_client_last_error(call.c));
        ck_assert_int_eq(shmb_stat(s.direct, "gone", &st), -ENOENT);
        /* A new UNLINK is a new operation. */
        ck_assert_int_eq(shmb_unlink(call.c, "gone"), -ENOENT);
        shmb_client_free(call.c);
        setup_end(&s);
}
END_TEST

static uint64_t reused_id;

static void make_again(Setup *s) {
        struct shmb_stat st;

        make(s->direct, "reused", 4096, 0);
        ck_assert_int_eq(shmb_stat(s->direct, "reused", &st), 0);
        reused_id = st.id;
}

START_TEST(test_unlink_lost_name_reused) {
        uint8_t lost[SHMB_MSG_MAX];
        struct shmb_stat st;
        uint64_t first;
        Setup s;
        Call call = { .kind = CALL_UNLINK, .name = "reused" };

        setup_start(&s);
        make(s.direct, "reused", 4096, 0);
        ck_assert_int_eq(shmb_stat(s.direct, "reused", &st), 0);
        first = st.id;
        call.c = relayed_client(&s);
        /* While the client is away, someone makes a new segment of that name. */
        lose_reply(&s, &call, false, make_again, lost, sizeof(lost));
        ck_assert_msg(call.r == 0, "UNLINK sent again: %s", shmb_client_last_error(call.c));
        ck_assert_uint_ne(reused_id, first);
        /* The client's UNLINK took the first segment's name, and only that. */
        ck_assert_msg(shmb_stat(s.direct, "reused", &st) == 0, "the new segment of the name was unlinked");
        ck_assert_uint_eq(st.id, reused_id);
        shmb_client_free(call.c);
        setup_end(&s);
}
END_TEST

static void grow_further(Setup *s) {
        ck_assert_int_eq(shmb_resize(s->direct, "grow", 16384), 0);
}

START_TEST(test_resize_lost_then_grown) {
        uint8_t lost[SHMB_MSG_MAX];
        struct shmb_stat st;
        Setup s;
        Call call = { .kind = CALL_RESIZE, .name = "grow", .size = 8192 };

        setup_start(&s);
        make(s.direct, "grow", 4096, 65536);
        call.c = relayed_client(&s);
        lose_reply(&s, &call, false, grow_further, lost, sizeof(lost));
        /* Not EINVAL ("segments only grow"): this client's RESIZE was done before the other one. */
        ck_assert_msg(call.r == 0, "RESIZE sent again: %s", shmb_client_last_error(call.c));
        ck_assert_int_eq(shmb_stat(s.direct, "grow", &st), 0);
        ck_assert_uint_eq(st.size, 16384);
        shmb_client_free(call.c);
        setup_end(&s);
}
END_TEST

START_TEST(test_resize_lost_in_restart) {
        uint8_t lost[SHMB_MSG_MAX];
        struct shmb_stat st;
        Setup s;
        Call call = { .kind = CALL_RESIZE, .name = "grow", .size = 8192 };

        setup_start(&s);
        make(s.direct, "grow", 4096, 65536);
        call.c = relayed_client(&s);
        lose_reply(&s, &call, true, grow_further, lost, sizeof(lost));
        ck_assert_msg(call.r == 0, "RESIZE sent again: %s", shmb_client_last_error(call.c));
        ck_assert_int_eq(shmb_stat(s.direct, "grow", &st), 0);
        ck_assert_uint_eq(st.size, 16384);
        shmb_client_free(call.c);
        setup_end(&s);
}
END_TEST

/* ----------------------------------------------------------------------- subscriptions -- */

#define EVENTS_MAX 64

typedef struct Seen {
        struct shmb_event ev[EVENTS_MAX];
        size_t n;
} Seen;

static void collect(struct shmb_client *c, const struct shmb_event *ev, void *userdata) {
        Seen *seen = userdata;

        ck_assert_uint_lt(seen->n, EVENTS_MAX);
        seen->ev[seen->n++] = *ev;
}

/* Dispatch until @want events were seen in all, or 10 s pass. */
static void wait_events(struct shmb_client *c, Seen *seen, size_t want) {
        for (int i = 0; i < 200 && seen->n < want; i++) {
                struct pollfd p = { .fd = shmb_client_get_fd(c), .events = POLLIN };
                int r;

                if (shmb_client_pending(c) == 0)
                        (void)poll(&p, 1, 50);
                r = shmb_client_dispatch(c, collect, seen);
                ck_assert_msg(r >= 0, "dispatch: %s (%s)", strerror(-r), shmb_client_last_error(c));
        }
        ck_assert_msg(seen->n >= want, "%zu events, %zu expected", seen->n, want);
}

static size_t count_dropped(const Seen *seen) {
        size_t n = 0;

        for (size_t i = 0; i < seen->n; i++)
                n += seen->ev[i].kind == SHMB_EVENT_DROPPED;
        return n;
}

/* The events are exactly the kinds and names in @want (NULL: DROPPED), in order, seqs +1 apart. */
static void check_events(const Seen *seen, uint32_t watch_id, const char *const *want, size_t n) {
        ck_assert_uint_eq(seen->n, n);
        for (size_t i = 0; i < n; i++) {
                const struct shmb_event *ev = &seen->ev[i];

                if (i > 0)
                        ck_assert_uint_eq(ev->seq, seen->ev[i - 1].seq + 1);
                if (!want[i]) {
                        ck_assert_int_eq(ev->kind, SHMB_EVENT_DROPPED);
                        ck_assert_uint_eq(ev->flags, SHMB_EVENT_RECONNECTED);
                        ck_assert_uint_eq(ev->watch_id, 0);
                        continue;
                }
                ck_assert_int_eq(ev->kind, SHMB_EVENT_CREATED);
                ck_assert_str_eq(ev->name, want[i]);
                ck_assert_uint_eq(ev->watch_id, watch_id);
        }
}

START_TEST(test_subscriber_across_restart) {
        static const char *const before[] = { "v.0" };
        static const char *const after[] = { "v.0", NULL, "v.a" };
        struct shmb_client *sub, *maker;
        uint32_t first, second;
        struct shmb_stat st;
        Seen seen = {};
        TestService t;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        sub = test_service_client(&t);
        maker = test_service_client(&t);
        /* Ids 1 and 2; after the first is ended, the daemon renews the second as its 1. */
        ck_assert_int_eq(shmb_watch(sub, "w.", SHMB_WATCH_PREFIX, &first), 0);
        ck_assert_int_eq(shmb_watch(sub, "v.", SHMB_WATCH_PREFIX, &second), 0);
        ck_assert_int_eq(shmb_unwatch(sub, first), 0);
        make(maker, "v.0", 4096, 0);
        wait_events(sub, &seen, 1);
        check_events(&seen, second, before, 1);

        test_service_kill(&t, SIGKILL);
        test_service_start(&t, store_args, NULL);
        /* The subscriber's own loop finds the connection broken and comes back by itself. */
        wait_events(sub, &seen, 2);
        make(maker, "v.a", 4096, 0);
        wait_events(sub, &seen, 3);
        check_events(&seen, second, after, 3);
        /* And it is still the application's id that ends it. */
        ck_assert_int_eq(shmb_unwatch(sub, second), 0);
        ck_assert_int_eq(shmb_unwatch(sub, second), -ENOENT);
        make(maker, "v.b", 4096, 0);
        ck_assert_int_eq(shmb_stat(sub, "v.b", &st), 0); /* a round trip: the notice would be here */
        ck_assert_int_eq(shmb_client_dispatch(sub, collect, &seen), 0);
        ck_assert_uint_eq(count_dropped(&seen), 1);
        shmb_client_free(maker);
        shmb_client_free(sub);
        test_service_cleanup(&t);
}
END_TEST

START_TEST(test_subscriber_two_restarts_one_dropped) {
        static const char *const want[] = { NULL, "n.1" };
        struct shmb_client *sub, *maker;
        struct shmb_segment *held;
        struct shmb_stat st;
        Seen seen = {};
        uint32_t id;
        TestService t;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        sub = test_service_client(&t);
        ck_assert_int_eq(shmb_watch(sub, "n.", SHMB_WATCH_PREFIX, &id), 0);
        ck_assert_int_eq(shmb_create(sub, "held", 4096, NULL, &held), 0);
        /* Two restarts; each time an ordinary call brings the subscriber back. */
        for (int i = 0; i < 2; i++) {
                test_service_kill(&t, SIGKILL);
                test_service_start(&t, store_args, NULL);
                ck_assert_msg(shmb_stat(sub, "held", &st) == 0, "stat: %s", shmb_client_last_error(sub));
                ck_assert_uint_eq(st.holders, 1);
        }
        maker = test_service_client(&t);
        make(maker, "n.1", 4096, 0);
        wait_events(sub, &seen, 2);
        check_events(&seen, id, want, 2);
        ck_assert_int_eq(shmb_segment_release(held), 0);
        shmb_client_free(maker);
        shmb_client_free(sub);
        test_service_cleanup(&t);
}
END_TEST

static Suite *reconnect_suite(void) {
        Suite *s = suite_create("reconnect");
        TCase *tc;

        tc = tcase_create("lost-replies");
        tcase_add_test(tc, test_create_lost_in_restart);
        tcase_add_test(tc, test_create_lost_with_connection);
        tcase_add_test(tc, test_create_lost_then_version_1_daemon);
        tcase_add_test(tc, test_unlink_lost_in_restart);
        tcase_add_test(tc, test_unlink_lost_name_reused);
        tcase_add_test(tc, test_resize_lost_then_grown);
        tcase_add_test(tc, test_resize_lost_in_restart);
        suite_add_tcase(s, tc);

        tc = tcase_create("subscriptions");
        tcase_add_test(tc, test_subscriber_across_restart);
        tcase_add_test(tc, test_subscriber_two_restarts_one_dropped);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(reconnect_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
