/*
 * Unit tests for what the registry keeps for operators: hold and open
 * times, bytes held per hold set, holds ordered by owner id, per-backend
 * totals, and the destroy operation. No sockets, no kernel objects.
 */

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/registry.h"

static uint64_t fake_now;
static unsigned destroyed;

static uint64_t fake_clock(void) {
        return fake_now;
}

static void count_destroy(Segment *s, void *userdata) {
        destroyed++;
}

static Registry *new_registry(void) {
        RegistryLimits limits = { 0 };
        Registry *r;

        destroyed = 0;
        fake_now = 1000;
        ck_assert_int_eq(registry_new(&r, &limits, count_destroy, NULL), 0);
        registry_set_clock(r, fake_clock);
        return r;
}

static Segment *create(Registry *r, HoldSet *set, const char *name, uint64_t size, uint8_t backend,
                       uint8_t lifetime) {
        SegmentParams p = {
                .name = name, .size = size, .uid = 1, .gid = 1, .mode = 0600, .lifetime = lifetime,
                .backend = backend, .created_usec = fake_now,
        };
        Segment *s;

        ck_assert_int_eq(registry_create(r, &p, set, &s), 0);
        return s;
}

static void holdset(HoldSet *set, uint64_t owner) {
        holdset_init(set);
        set->owner_id = owner;
}

START_TEST(test_times) {
        Registry *r = new_registry();
        HoldSet a, b;
        Segment *s;
        Hold *h;

        holdset(&a, 1);
        holdset(&b, 2);
        s = create(r, &a, "t", 10, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_HOLDERS);
        ck_assert_uint_eq(s->created_usec, 1000);
        ck_assert_uint_eq(s->last_opened_usec, 1000);
        ck_assert_uint_eq(registry_find_hold(r, &a, s->id)->since_usec, 1000);
        fake_now = 2000;
        ck_assert_int_eq(registry_hold(r, s, &b, false), 0);
        ck_assert_uint_eq(s->last_opened_usec, 2000);
        fake_now = 3000;
        ck_assert_int_eq(registry_hold(r, s, &a, false), 0);
        h = registry_find_hold(r, &a, s->id);
        /* A second open moves "last opened" but not the hold's start. */
        ck_assert_uint_eq(s->last_opened_usec, 3000);
        ck_assert_uint_eq(h->since_usec, 1000);
        ck_assert_uint_eq(h->count, 2);
        registry_holdset_clear(r, &a);
        registry_holdset_clear(r, &b);
        ck_assert_uint_eq(destroyed, 1);
        registry_free(r);
}
END_TEST

START_TEST(test_bytes_held) {
        Registry *r = new_registry();
        HoldSet a, b;
        Segment *s1, *s2;

        holdset(&a, 1);
        holdset(&b, 2);
        s1 = create(r, &a, "one", 4096, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_PERSISTENT);
        s2 = create(r, &a, "two", 8192, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_PERSISTENT);
        ck_assert_uint_eq(a.bytes, 4096 + 8192);
        ck_assert_int_eq(registry_hold(r, s1, &a, true), 0);
        ck_assert_uint_eq(a.bytes, 4096 + 8192);  /* the same hold, counted once */
        ck_assert_int_eq(registry_hold(r, s2, &b, false), 0);
        ck_assert_uint_eq(b.bytes, 8192);
        ck_assert_int_eq(registry_release(r, &a, s1->id), 0);
        ck_assert_uint_eq(a.bytes, 4096 + 8192);
        ck_assert_int_eq(registry_release(r, &a, s1->id), 0);
        ck_assert_uint_eq(a.bytes, 8192);
        ck_assert_uint_eq(registry_hold_count(r), 2);
        registry_holdset_clear(r, &a);
        ck_assert_uint_eq(a.bytes, 0);
        registry_free(r);
        /* Freeing the registry empties the sets it still referred to. */
        ck_assert_uint_eq(b.bytes, 0);
        ck_assert_uint_eq(b.n_holds, 0);
}
END_TEST

START_TEST(test_holds_ordered_by_owner) {
        Registry *r = new_registry();
        HoldSet sets[5];
        uint64_t order[5] = { 30, 10, 50, 20, 40 }, last = 0;
        Segment *s;

        for (int i = 0; i < 5; i++)
                holdset(&sets[i], order[i]);
        s = create(r, &sets[0], "o", 1, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_PERSISTENT);
        for (int i = 1; i < 5; i++)
                ck_assert_int_eq(registry_hold(r, s, &sets[i], false), 0);
        list_for_each(l, &s->holds) {
                Hold *h = list_entry(l, Hold, seg_link);

                ck_assert_uint_gt(h->set->owner_id, last);
                last = h->set->owner_id;
        }
        ck_assert_uint_eq(last, 50);
        for (int i = 0; i < 5; i++)
                registry_holdset_clear(r, &sets[i]);
        registry_free(r);
}
END_TEST

START_TEST(test_backend_usage) {
        Registry *r = new_registry();
        uint64_t segs, bytes;
        HoldSet a;
        Segment *s;

        holdset(&a, 1);
        (void)create(r, &a, "m1", 100, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_HOLDERS);
        (void)create(r, &a, "m2", 200, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_HOLDERS);
        s = create(r, &a, "p1", 300, PROTO_BACKEND_POSIX, PROTO_LIFETIME_HOLDERS);
        registry_backend_usage(r, PROTO_BACKEND_MEMFD, &segs, &bytes);
        ck_assert_uint_eq(segs, 2);
        ck_assert_uint_eq(bytes, 300);
        registry_backend_usage(r, PROTO_BACKEND_POSIX, &segs, &bytes);
        ck_assert_uint_eq(segs, 1);
        ck_assert_uint_eq(bytes, 300);
        ck_assert_int_eq(registry_release(r, &a, s->id), 0);
        registry_backend_usage(r, PROTO_BACKEND_POSIX, &segs, &bytes);
        ck_assert_uint_eq(segs, 0);
        ck_assert_uint_eq(bytes, 0);
        registry_backend_usage(r, 200, &segs, &bytes);
        ck_assert_uint_eq(segs, 0);
        registry_holdset_clear(r, &a);
        registry_backend_usage(r, PROTO_BACKEND_MEMFD, &segs, &bytes);
        ck_assert_uint_eq(segs, 0);
        ck_assert_uint_eq(registry_count(r), 0);
        registry_free(r);
}
END_TEST

START_TEST(test_destroy) {
        Registry *r = new_registry();
        HoldSet a, b, c;
        Segment *s, *t;
        uint64_t id;

        holdset(&a, 1);
        holdset(&b, 2);
        holdset(&c, 3);
        /* Held by three connections, one of them twice; lifetime "creator" too. */
        s = create(r, &a, "victim", 4096, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_CREATOR);
        id = s->id;
        ck_assert_int_eq(registry_hold(r, s, &b, false), 0);
        ck_assert_int_eq(registry_hold(r, s, &b, false), 0);
        ck_assert_int_eq(registry_hold(r, s, &c, true), 0);
        t = create(r, &b, "bystander", 10, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_HOLDERS);
        ck_assert_uint_eq(registry_destroy(r, s), 3);
        ck_assert_uint_eq(destroyed, 1);
        ck_assert_ptr_null(registry_find(r, "victim"));
        ck_assert_ptr_null(registry_find_id(r, id));
        ck_assert_ptr_null(registry_find_hold(r, &b, id));
        ck_assert_int_eq(registry_release(r, &b, id), REGISTRY_E_NOT_HELD);
        ck_assert_uint_eq(a.n_holds, 0);
        ck_assert_uint_eq(a.bytes, 0);
        ck_assert_uint_eq(b.n_holds, 1);
        ck_assert_uint_eq(b.bytes, 10);
        ck_assert_uint_eq(c.n_holds, 0);
        ck_assert(list_is_empty(&a.created));
        ck_assert_uint_eq(registry_count(r), 1);
        ck_assert_ptr_eq(registry_find(r, "bystander"), t);
        /* The name is free again; the creator's disconnect later touches nothing. */
        (void)create(r, &c, "victim", 1, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_PERSISTENT);
        registry_holdset_clear(r, &a);
        ck_assert_ptr_nonnull(registry_find(r, "victim"));

        /* An unheld segment is destroyed at once. */
        ck_assert_int_eq(registry_release(r, &c, registry_find(r, "victim")->id), 0);
        ck_assert_uint_eq(registry_destroy(r, registry_find(r, "victim")), 0);
        ck_assert_ptr_null(registry_find(r, "victim"));
        registry_holdset_clear(r, &b);
        registry_holdset_clear(r, &c);
        ck_assert_uint_eq(registry_count(r), 0);
        registry_free(r);
}
END_TEST

static Suite *registry_admin_suite(void) {
        Suite *s = suite_create("registry-admin");
        TCase *tc = tcase_create("operator view");

        tcase_add_test(tc, test_times);
        tcase_add_test(tc, test_bytes_held);
        tcase_add_test(tc, test_holds_ordered_by_owner);
        tcase_add_test(tc, test_backend_usage);
        tcase_add_test(tc, test_destroy);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(registry_admin_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
