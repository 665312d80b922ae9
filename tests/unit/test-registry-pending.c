/*
 * Unit tests for the registry after a restart (registry-pending.c):
 * segments restored under their ids, pending holds and their reclaim by
 * the same process only, the end of the grace period, and the hold hook
 * the restart state is written from. No sockets, no kernel objects.
 */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/registry.h"

static Registry *reg;
static HoldSet set_a, set_b;
static unsigned n_destroyed, n_unlinked;
static int64_t held_rw, held_ro;        /* sum of hook deltas for process A */

static const PeerIdentity proc_a = { .pid = 100, .uid = 1000, .start_time = 5555 };
static const PeerIdentity proc_b = { .pid = 200, .uid = 1000, .start_time = 6666 };

static void destroy_cb(Segment *s, void *userdata) {
        n_destroyed++;
}

static void unlink_cb(Segment *s, void *userdata) {
        n_unlinked++;
}

static void hold_cb(Segment *s, const PeerIdentity *who, bool writable, int64_t delta, void *userdata) {
        if (!peer_identity_equal(who, &proc_a))
                return;
        if (writable)
                held_rw += delta;
        else
                held_ro += delta;
}

static void setup(void) {
        RegistryLimits limits = { .max_holds_per_conn = 16 };

        ck_assert_int_eq(registry_new(&reg, &limits, destroy_cb, NULL), 0);
        registry_set_unlink_fn(reg, unlink_cb);
        registry_set_hold_fn(reg, hold_cb);
        holdset_init(&set_a);
        holdset_init(&set_b);
        set_a.who = proc_a;
        set_b.who = proc_b;
        n_destroyed = n_unlinked = 0;
        held_rw = held_ro = 0;
}

static void teardown(void) {
        registry_holdset_clear(reg, &set_a);
        registry_holdset_clear(reg, &set_b);
        reg = registry_free(reg);
}

static Segment *restore(const char *name, uint64_t id, uint8_t lifetime, bool linked) {
        SegmentParams p = { .name = name, .size = 4096, .uid = 1000, .gid = 1000, .mode = 0600,
                            .lifetime = lifetime, .backend = PROTO_BACKEND_MEMFD };
        Segment *s = NULL;

        ck_assert_int_eq(registry_restore(reg, &p, id, linked, &s), 0);
        ck_assert_ptr_nonnull(s);
        return s;
}

START_TEST(test_restore_keeps_ids) {
        SegmentParams p = { .name = "new", .size = 1, .mode = 0600 };
        Segment *a, *b, *n;

        b = restore("b", 9, PROTO_LIFETIME_PERSISTENT, true);
        a = restore("a", 3, PROTO_LIFETIME_PERSISTENT, true);
        ck_assert_ptr_eq(registry_find_id(reg, 3), a);
        ck_assert_ptr_eq(registry_find(reg, "b"), b);
        /* Id order is kept whatever the order of the restore. */
        ck_assert_ptr_eq(registry_first_after(reg, 0), a);
        ck_assert_ptr_eq(registry_next(reg, a), b);
        /* New ids continue above the highest restored one... */
        ck_assert_int_eq(registry_create(reg, &p, &set_a, &n), 0);
        ck_assert_uint_eq(n->id, 10);
        /* ...or above what the previous instance had used. */
        registry_reserve_ids(reg, 50);
        p.name = "newer";
        ck_assert_int_eq(registry_create(reg, &p, &set_a, &n), 0);
        ck_assert_uint_eq(n->id, 50);
        registry_reserve_ids(reg, 7);
        p.name = "newest";
        ck_assert_int_eq(registry_create(reg, &p, &set_a, &n), 0);
        ck_assert_uint_eq(n->id, 51);
        ck_assert_uint_eq(registry_count(reg), 5);
}
END_TEST

START_TEST(test_restore_collisions) {
        SegmentParams p = { .name = "a", .size = 1 };
        Segment *s;

        restore("a", 3, PROTO_LIFETIME_PERSISTENT, true);
        ck_assert_int_eq(registry_restore(reg, &p, 3, false, &s), REGISTRY_E_EXISTS);
        ck_assert_int_eq(registry_restore(reg, &p, 4, true, &s), REGISTRY_E_EXISTS);
        ck_assert_int_eq(registry_restore(reg, &p, 0, false, &s), REGISTRY_E_EXISTS);
        /* A nameless (unlinked) segment may share its old name with a live one. */
        ck_assert_int_eq(registry_restore(reg, &p, 4, false, &s), 0);
        ck_assert(!s->linked);
        ck_assert_uint_eq(registry_find(reg, "a")->id, 3);
}
END_TEST

START_TEST(test_reclaim_by_identity) {
        Segment *s = restore("x", 1, PROTO_LIFETIME_HOLDERS, true);
        HoldSet stranger;
        Hold *h;

        ck_assert_int_eq(registry_add_pending(reg, s, &proc_a, true, 2), 0);
        ck_assert_int_eq(registry_add_pending(reg, s, &proc_a, true, 0), -EINVAL);
        ck_assert_uint_eq(registry_pending_count(reg), 1);

        /* Another process, or the same pid with another start time, or an unknown one: refused. */
        ck_assert_int_eq(registry_reclaim(reg, s, &set_b, true), REGISTRY_E_NOT_PENDING);
        holdset_init(&stranger);
        stranger.who = proc_a;
        stranger.who.start_time = 1;
        ck_assert_int_eq(registry_reclaim(reg, s, &stranger, false), REGISTRY_E_NOT_PENDING);
        stranger.who.start_time = 0;
        ck_assert_int_eq(registry_reclaim(reg, s, &stranger, false), REGISTRY_E_NOT_PENDING);

        /* The holder itself takes its opens back one at a time. */
        ck_assert_int_eq(registry_reclaim(reg, s, &set_a, true), 0);
        h = registry_find_hold(reg, &set_a, 1);
        ck_assert_ptr_nonnull(h);
        ck_assert_uint_eq(h->count, 1);
        ck_assert(h->writable);
        ck_assert_uint_eq(s->n_holders, 1);
        ck_assert_int_eq(registry_reclaim(reg, s, &set_a, false), 0);
        ck_assert_uint_eq(h->count, 2);
        ck_assert_uint_eq(registry_pending_count(reg), 0);
        ck_assert_int_eq(registry_reclaim(reg, s, &set_a, false), REGISTRY_E_NOT_PENDING);
        /* The hook saw each reclaim as one pending open less and one held open more: the
         * process's recorded total (2, from the snapshot) does not change. */
        ck_assert_int_eq(held_rw, 0);
        ck_assert_int_eq(held_ro, 0);
}
END_TEST

START_TEST(test_reclaim_access) {
        Segment *s = restore("x", 1, PROTO_LIFETIME_HOLDERS, true);

        ck_assert_int_eq(registry_add_pending(reg, s, &proc_a, false, 1), 0);
        ck_assert_int_eq(registry_add_pending(reg, s, &proc_a, true, 1), 0);
        /* A read-only open takes the read-only pending hold, leaving the writable one for a writer. */
        ck_assert_int_eq(registry_reclaim(reg, s, &set_a, false), 0);
        ck_assert_int_eq(registry_reclaim(reg, s, &set_a, true), 0);
        ck_assert_uint_eq(registry_pending_count(reg), 0);

        /* A read-only pending hold cannot come back writable. */
        ck_assert_int_eq(registry_add_pending(reg, s, &proc_b, false, 1), 0);
        ck_assert_int_eq(registry_reclaim(reg, s, &set_b, true), REGISTRY_E_NOT_PENDING);
        ck_assert_int_eq(registry_reclaim(reg, s, &set_b, false), 0);
}
END_TEST

START_TEST(test_grace_end_applies_lifetimes) {
        Segment *holders = restore("holders", 1, PROTO_LIFETIME_HOLDERS, true);
        Segment *kept = restore("kept", 2, PROTO_LIFETIME_PERSISTENT, true);
        Segment *claimed = restore("claimed", 3, PROTO_LIFETIME_HOLDERS, true);
        Segment *nameless = restore("nameless", 4, PROTO_LIFETIME_HOLDERS, false);
        Segment *unheld = restore("unheld", 5, PROTO_LIFETIME_HOLDERS, true);

        ck_assert_int_eq(registry_add_pending(reg, holders, &proc_b, true, 1), 0);
        ck_assert_int_eq(registry_add_pending(reg, kept, &proc_b, true, 1), 0);
        ck_assert_int_eq(registry_add_pending(reg, claimed, &proc_a, true, 1), 0);
        ck_assert_int_eq(registry_add_pending(reg, claimed, &proc_b, true, 1), 0);
        ck_assert_int_eq(registry_add_pending(reg, nameless, &proc_b, true, 1), 0);
        ck_assert_int_eq(registry_reclaim(reg, claimed, &set_a, true), 0);
        (void)unheld;

        /* Pending holds keep segments alive until the grace period ends. */
        ck_assert_uint_eq(registry_count(reg), 5);
        ck_assert_uint_eq(registry_drop_pending(reg), 4);
        ck_assert_uint_eq(registry_pending_count(reg), 0);
        ck_assert_ptr_null(registry_find(reg, "holders"));
        ck_assert_ptr_null(registry_find_id(reg, 4));
        ck_assert_ptr_null(registry_find(reg, "unheld"));
        ck_assert_ptr_eq(registry_find(reg, "kept"), kept);
        ck_assert_ptr_eq(registry_find(reg, "claimed"), claimed);
        ck_assert_uint_eq(claimed->n_holders, 1);
        ck_assert_uint_eq(n_destroyed, 3);
        /* And the reclaimed hold behaves like any other. */
        ck_assert_int_eq(registry_release(reg, &set_a, 3), 0);
        ck_assert_ptr_null(registry_find(reg, "claimed"));
}
END_TEST

START_TEST(test_creator_comes_back_or_not) {
        Segment *back = restore("back", 1, PROTO_LIFETIME_CREATOR, true);
        Segment *gone = restore("gone", 2, PROTO_LIFETIME_CREATOR, true);

        registry_set_pending_creator(reg, back, &proc_a);
        registry_set_pending_creator(reg, gone, &proc_b);
        ck_assert_int_eq(registry_add_pending(reg, back, &proc_a, true, 1), 0);
        ck_assert_int_eq(registry_reclaim(reg, back, &set_a, true), 0);
        ck_assert_ptr_eq(back->creator, &set_a);

        registry_drop_pending(reg);
        ck_assert_ptr_eq(registry_find(reg, "back"), back);
        ck_assert_ptr_null(registry_find(reg, "gone"));
        ck_assert_uint_eq(n_unlinked, 1);
        (void)gone;

        /* Its creator again: the name goes with the creator's connection. */
        ck_assert_int_eq(registry_release(reg, &set_a, 1), 0);
        ck_assert_ptr_eq(registry_find(reg, "back"), back);
        registry_holdset_clear(reg, &set_a);
        ck_assert_ptr_null(registry_find(reg, "back"));
        ck_assert_uint_eq(n_unlinked, 2);
}
END_TEST

START_TEST(test_discard) {
        Segment *s = restore("x", 1, PROTO_LIFETIME_PERSISTENT, true);

        registry_discard(reg, s);
        ck_assert_ptr_null(registry_find(reg, "x"));
        ck_assert_ptr_null(registry_find_id(reg, 1));
        ck_assert_uint_eq(n_destroyed, 1);
        ck_assert_uint_eq(n_unlinked, 0);
        ck_assert_uint_eq(registry_count(reg), 0);
}
END_TEST

START_TEST(test_hold_hook_deltas) {
        SegmentParams p = { .name = "h", .size = 1, .mode = 0600 };
        Segment *s;

        ck_assert_int_eq(registry_create(reg, &p, &set_a, &s), 0);
        ck_assert_int_eq(held_rw, 1);
        ck_assert_int_eq(registry_hold(reg, s, &set_a, true), 0);
        ck_assert_int_eq(held_rw, 2);
        ck_assert_int_eq(registry_release(reg, &set_a, s->id), 0);
        ck_assert_int_eq(held_rw, 1);
        registry_holdset_clear(reg, &set_a);
        ck_assert_int_eq(held_rw, 0);

        /* A read-only hold that becomes writable moves between the two sums. */
        p.name = "h2";
        ck_assert_int_eq(registry_create(reg, &p, &set_b, &s), 0);
        ck_assert_int_eq(registry_hold(reg, s, &set_a, false), 0);
        ck_assert_int_eq(registry_hold(reg, s, &set_a, false), 0);
        ck_assert_int_eq(held_ro, 2);
        ck_assert_int_eq(registry_hold(reg, s, &set_a, true), 0);
        ck_assert_int_eq(held_ro, 0);
        ck_assert_int_eq(held_rw, 3);
}
END_TEST

static Suite *pending_suite(void) {
        Suite *s = suite_create("registry-pending");
        TCase *tc;

        tc = tcase_create("restore");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_restore_keeps_ids);
        tcase_add_test(tc, test_restore_collisions);
        tcase_add_test(tc, test_discard);
        suite_add_tcase(s, tc);

        tc = tcase_create("reclaim");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_reclaim_by_identity);
        tcase_add_test(tc, test_reclaim_access);
        tcase_add_test(tc, test_hold_hook_deltas);
        suite_add_tcase(s, tc);

        tc = tcase_create("grace");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_grace_end_applies_lifetimes);
        tcase_add_test(tc, test_creator_comes_back_or_not);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(pending_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
