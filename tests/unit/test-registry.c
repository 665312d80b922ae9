/*
 * Unit tests for daemon/registry: names and ids, holds and their counts,
 * lifetimes, quotas and iteration. Pure bookkeeping, no sockets, no fds:
 * a counting destroy callback stands in for the backend.
 */

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/registry.h"
#include "util/list.h"

#define UID_A 1000
#define UID_B 1001
#define UID_C 1002
#define LOG_IDS 256

typedef struct DestroyLog {
        uint64_t calls;
        uint64_t ids[LOG_IDS];          /* ids of the first LOG_IDS destroyed segments */
        uint64_t bad;                   /* calls that saw an inconsistent segment */
} DestroyLog;

static Registry *reg;
static DestroyLog dlog;
static HoldSet set_a, set_b, set_c;

static void destroy_cb(Segment *s, void *userdata) {
        DestroyLog *l = userdata;

        /* The registry lets a segment go only when nobody holds it. */
        if (l != &dlog || !s || s->n_holders != 0 || !list_is_empty(&s->holds))
                l->bad++;
        if (l->calls < LOG_IDS)
                l->ids[l->calls] = s->id;
        l->calls++;
}

/* How often segment @id was destroyed (among the first LOG_IDS calls). */
static unsigned destroyed(uint64_t id) {
        unsigned n = 0;

        for (uint64_t i = 0; i < dlog.calls && i < LOG_IDS; i++)
                if (dlog.ids[i] == id)
                        n++;
        return n;
}

static void setup_limits(const RegistryLimits *limits) {
        memset(&dlog, 0, sizeof(dlog));
        holdset_init(&set_a);
        holdset_init(&set_b);
        holdset_init(&set_c);
        ck_assert_int_eq(registry_new(&reg, limits, destroy_cb, &dlog), 0);
        ck_assert_ptr_nonnull(reg);
        ck_assert_uint_eq(registry_count(reg), 0);
        ck_assert_uint_eq(registry_bytes(reg), 0);
}

static void setup(void) {
        setup_limits(&(RegistryLimits){});
}

static void teardown(void) {
        reg = registry_free(reg);
        ck_assert_ptr_null(reg);
        ck_assert_uint_eq(dlog.bad, 0);
}

static int try_create(HoldSet *set, const char *name, uid_t uid, uint64_t size, uint8_t lifetime, Segment **ret) {
        SegmentParams p = {
                .name = name,
                .size = size,
                .uid = uid,
                .gid = uid + 10000,
                .mode = 0640,
                .lifetime = lifetime,
                .backend = PROTO_BACKEND_MEMFD,
                .created_usec = 1234567,
        };

        return registry_create(reg, &p, set, ret);
}

static Segment *create(HoldSet *set, const char *name, uid_t uid, uint64_t size, uint8_t lifetime) {
        Segment *s = NULL;
        int r = try_create(set, name, uid, size, lifetime, &s);

        ck_assert_msg(r == 0, "creating '%s' failed: %d (%s)", name, r, registry_strerror(r));
        ck_assert_ptr_nonnull(s);
        return s;
}

static void assert_usage(uid_t uid, uint64_t segments, uint64_t bytes) {
        uint64_t n = UINT64_MAX, b = UINT64_MAX;

        registry_user_usage(reg, uid, &n, &b);
        ck_assert_msg(n == segments && b == bytes, "uid %u is charged %llu segments, %llu bytes; expected %llu, %llu",
                      (unsigned)uid, (unsigned long long)n, (unsigned long long)b, (unsigned long long)segments,
                      (unsigned long long)bytes);
}

static void assert_empty(void) {
        ck_assert_uint_eq(registry_count(reg), 0);
        ck_assert_uint_eq(registry_bytes(reg), 0);
        ck_assert_ptr_null(registry_first_after(reg, 0));
        assert_usage(UID_A, 0, 0);
        assert_usage(UID_B, 0, 0);
        assert_usage(UID_C, 0, 0);
}

/* A segment that is gone: neither its name nor its id finds anything. */
static void assert_gone(const char *name, uint64_t id) {
        ck_assert_ptr_null(registry_find(reg, name));
        ck_assert_ptr_null(registry_find_id(reg, id));
        ck_assert_uint_eq(destroyed(id), 1);
}

/* ----------------------------------------------------------- create-find -- */

START_TEST(test_create_find) {
        Segment *a, *b;
        Hold *h;

        a = create(&set_a, "alpha", UID_A, 4096, PROTO_LIFETIME_HOLDERS);
        ck_assert_uint_eq(a->id, 1);
        ck_assert_str_eq(a->name, "alpha");
        ck_assert_uint_eq(a->size, 4096);
        ck_assert_uint_eq(a->uid, UID_A);
        ck_assert_uint_eq(a->gid, UID_A + 10000);
        ck_assert_uint_eq(a->mode, 0640);
        ck_assert_uint_eq(a->lifetime, PROTO_LIFETIME_HOLDERS);
        ck_assert_uint_eq(a->backend, PROTO_BACKEND_MEMFD);
        ck_assert_uint_eq(a->created_usec, 1234567);
        ck_assert_ptr_eq(a->registry, reg);
        ck_assert(a->linked);
        ck_assert_ptr_null(a->creator);
        ck_assert_int_eq(a->obj.fd, -1);
        ck_assert_int_eq(a->obj.ro_fd, -1);
        ck_assert_int_eq(a->obj.shmid, -1);

        /* The creator holds it once, read-write. */
        ck_assert_uint_eq(a->n_holders, 1);
        ck_assert_uint_eq(set_a.n_holds, 1);
        h = registry_find_hold(reg, &set_a, a->id);
        ck_assert_ptr_nonnull(h);
        ck_assert_ptr_eq(h->segment, a);
        ck_assert_ptr_eq(h->set, &set_a);
        ck_assert_uint_eq(h->count, 1);
        ck_assert(h->writable);
        ck_assert_ptr_null(registry_find_hold(reg, &set_b, a->id));

        b = create(&set_a, "beta", UID_B, 100, PROTO_LIFETIME_PERSISTENT);
        ck_assert_uint_eq(b->id, 2);
        ck_assert_ptr_eq(registry_find(reg, "alpha"), a);
        ck_assert_ptr_eq(registry_find(reg, "beta"), b);
        ck_assert_ptr_null(registry_find(reg, "gamma"));
        ck_assert_ptr_null(registry_find(reg, "alph"));
        ck_assert_ptr_null(registry_find(reg, "alphaa"));
        ck_assert_ptr_null(registry_find(reg, "ALPHA"));
        ck_assert_ptr_eq(registry_find_id(reg, 1), a);
        ck_assert_ptr_eq(registry_find_id(reg, 2), b);
        ck_assert_ptr_null(registry_find_id(reg, 0));
        ck_assert_ptr_null(registry_find_id(reg, 3));
        ck_assert_ptr_null(registry_find_id(reg, UINT64_MAX));

        ck_assert_uint_eq(registry_count(reg), 2);
        ck_assert_uint_eq(registry_bytes(reg), 4196);
        assert_usage(UID_A, 1, 4096);
        assert_usage(UID_B, 1, 100);
        assert_usage(UID_C, 0, 0);
        ck_assert_uint_eq(dlog.calls, 0);
}
END_TEST

START_TEST(test_create_creator_lifetime_records_creator) {
        Segment *s = create(&set_a, "mine", UID_A, 1, PROTO_LIFETIME_CREATOR);

        ck_assert_ptr_eq(s->creator, &set_a);
        ck_assert(!list_is_empty(&set_a.created));
}
END_TEST

START_TEST(test_create_exists) {
        Segment *a, *dup = (Segment *)&dlog; /* sentinel: must not be overwritten */

        a = create(&set_a, "taken", UID_A, 4096, PROTO_LIFETIME_PERSISTENT);
        ck_assert_int_eq(try_create(&set_b, "taken", UID_B, 10, PROTO_LIFETIME_HOLDERS, &dup), REGISTRY_E_EXISTS);
        ck_assert_ptr_eq(dup, (Segment *)&dlog);
        /* The same owner gets no second one either. */
        ck_assert_int_eq(try_create(&set_a, "taken", UID_A, 4096, PROTO_LIFETIME_PERSISTENT, &dup),
                         REGISTRY_E_EXISTS);
        ck_assert_ptr_eq(dup, (Segment *)&dlog);

        /* Nothing was charged, held or destroyed. */
        ck_assert_ptr_eq(registry_find(reg, "taken"), a);
        ck_assert_uint_eq(registry_count(reg), 1);
        ck_assert_uint_eq(registry_bytes(reg), 4096);
        assert_usage(UID_A, 1, 4096);
        assert_usage(UID_B, 0, 0);
        ck_assert_uint_eq(set_a.n_holds, 1);
        ck_assert_uint_eq(set_b.n_holds, 0);
        ck_assert_uint_eq(a->n_holders, 1);
        ck_assert_uint_eq(dlog.calls, 0);

        /* Once the name is gone, it can be taken again. */
        registry_unlink(reg, a);
        ck_assert_int_eq(try_create(&set_b, "taken", UID_B, 10, PROTO_LIFETIME_HOLDERS, &dup), 0);
        ck_assert_ptr_ne(dup, a);
        ck_assert_ptr_eq(registry_find(reg, "taken"), dup);
}
END_TEST

START_TEST(test_ids_increase) {
        Segment *s;
        uint64_t first;

        s = create(&set_a, "one", UID_A, 1, PROTO_LIFETIME_HOLDERS);
        first = s->id;
        ck_assert_int_eq(registry_release(reg, &set_a, first), 0);
        ck_assert_uint_eq(destroyed(first), 1);
        /* A freed id is not handed out again. */
        s = create(&set_a, "one", UID_A, 1, PROTO_LIFETIME_HOLDERS);
        ck_assert_uint_gt(s->id, first);
        ck_assert_ptr_null(registry_find_id(reg, first));
}
END_TEST

START_TEST(test_find_empty) {
        ck_assert_ptr_null(registry_find(reg, "nothing"));
        ck_assert_ptr_null(registry_find(reg, ""));
        ck_assert_ptr_null(registry_find_id(reg, 1));
        ck_assert_ptr_null(registry_find_hold(reg, &set_a, 1));
        ck_assert_ptr_null(registry_first_after(reg, 0));
        ck_assert_ptr_null(registry_first_after(reg, 5));
        assert_empty();
}
END_TEST

START_TEST(test_strerror) {
        static const int codes[] = {
                REGISTRY_E_EXISTS,          REGISTRY_E_NOT_HELD,  REGISTRY_E_QUOTA_USER_SEGMENTS,
                REGISTRY_E_QUOTA_USER_BYTES, REGISTRY_E_QUOTA_SEGMENTS, REGISTRY_E_QUOTA_BYTES,
                REGISTRY_E_QUOTA_HOLDS,
        };
        const char *unknown = registry_strerror(0);

        ck_assert_ptr_nonnull(unknown);
        ck_assert_str_eq(registry_strerror(-EINVAL), unknown);
        ck_assert_str_eq(registry_strerror(1000), unknown);
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
                ck_assert_ptr_nonnull(registry_strerror(codes[i]));
                ck_assert_str_ne(registry_strerror(codes[i]), unknown);
                for (size_t j = 0; j < i; j++)
                        ck_assert_str_ne(registry_strerror(codes[i]), registry_strerror(codes[j]));
        }
}
END_TEST

/* ------------------------------------------------------------------ holds -- */

START_TEST(test_hold_twice) {
        Segment *s = create(&set_a, "shared", UID_A, 64, PROTO_LIFETIME_PERSISTENT);
        uint64_t id = s->id;
        Hold *h;

        ck_assert_int_eq(registry_hold(reg, s, &set_b, false), 0);
        ck_assert_int_eq(registry_hold(reg, s, &set_b, false), 0);
        h = registry_find_hold(reg, &set_b, id);
        ck_assert_ptr_nonnull(h);
        ck_assert_uint_eq(h->count, 2);
        /* Two opens by one connection are one hold and one holder. */
        ck_assert_uint_eq(set_b.n_holds, 1);
        ck_assert_uint_eq(s->n_holders, 2);

        ck_assert_int_eq(registry_release(reg, &set_b, id), 0);
        h = registry_find_hold(reg, &set_b, id);
        ck_assert_ptr_nonnull(h);
        ck_assert_uint_eq(h->count, 1);
        ck_assert_uint_eq(set_b.n_holds, 1);
        ck_assert_uint_eq(s->n_holders, 2);

        ck_assert_int_eq(registry_release(reg, &set_b, id), 0);
        ck_assert_ptr_null(registry_find_hold(reg, &set_b, id));
        ck_assert_uint_eq(set_b.n_holds, 0);
        ck_assert(list_is_empty(&set_b.holds));
        ck_assert_uint_eq(s->n_holders, 1);

        ck_assert_int_eq(registry_release(reg, &set_b, id), REGISTRY_E_NOT_HELD);
        ck_assert_uint_eq(s->n_holders, 1);
        ck_assert_ptr_nonnull(registry_find_hold(reg, &set_a, id));
        ck_assert_uint_eq(dlog.calls, 0);
}
END_TEST

START_TEST(test_creator_opens_again) {
        Segment *s = create(&set_a, "again", UID_A, 64, PROTO_LIFETIME_HOLDERS);
        uint64_t id = s->id;

        ck_assert_int_eq(registry_hold(reg, s, &set_a, false), 0);
        ck_assert_uint_eq(registry_find_hold(reg, &set_a, id)->count, 2);
        ck_assert_uint_eq(s->n_holders, 1);
        ck_assert_int_eq(registry_release(reg, &set_a, id), 0);
        ck_assert_ptr_eq(registry_find_id(reg, id), s);
        ck_assert_int_eq(registry_release(reg, &set_a, id), 0);
        assert_gone("again", id);
}
END_TEST

START_TEST(test_hold_writable_upgrade) {
        Segment *s = create(&set_a, "upgrade", UID_A, 64, PROTO_LIFETIME_PERSISTENT);
        Hold *h;

        ck_assert_int_eq(registry_hold(reg, s, &set_b, false), 0);
        h = registry_find_hold(reg, &set_b, s->id);
        ck_assert(!h->writable);
        ck_assert_int_eq(registry_hold(reg, s, &set_b, false), 0);
        ck_assert(!h->writable);
        ck_assert_int_eq(registry_hold(reg, s, &set_b, true), 0);
        ck_assert(h->writable);
        /* Once writable, a later read-only open does not downgrade it. */
        ck_assert_int_eq(registry_hold(reg, s, &set_b, false), 0);
        ck_assert(h->writable);
        ck_assert_uint_eq(h->count, 4);
        ck_assert_ptr_eq(registry_find_hold(reg, &set_b, s->id), h);

        /* Another connection's hold is separate. */
        ck_assert_int_eq(registry_hold(reg, s, &set_c, false), 0);
        ck_assert(!registry_find_hold(reg, &set_c, s->id)->writable);
        ck_assert_uint_eq(s->n_holders, 3);
}
END_TEST

START_TEST(test_not_held) {
        Segment *s = create(&set_a, "held-by-a", UID_A, 64, PROTO_LIFETIME_HOLDERS);
        uint64_t id = s->id;

        ck_assert_int_eq(registry_release(reg, &set_b, id), REGISTRY_E_NOT_HELD);
        ck_assert_int_eq(registry_release(reg, &set_a, id + 1), REGISTRY_E_NOT_HELD);
        ck_assert_int_eq(registry_release(reg, &set_a, 0), REGISTRY_E_NOT_HELD);
        ck_assert_int_eq(registry_release(reg, &set_a, UINT64_MAX), REGISTRY_E_NOT_HELD);
        /* None of that touched A's hold. */
        ck_assert_uint_eq(registry_find_hold(reg, &set_a, id)->count, 1);
        ck_assert_uint_eq(s->n_holders, 1);
        ck_assert_uint_eq(dlog.calls, 0);

        ck_assert_int_eq(registry_release(reg, &set_a, id), 0);
        assert_gone("held-by-a", id);
        /* A released (and freed) segment is not held any more. */
        ck_assert_int_eq(registry_release(reg, &set_a, id), REGISTRY_E_NOT_HELD);
        ck_assert_uint_eq(dlog.calls, 1);
}
END_TEST

/* -------------------------------------------------------------- lifetimes -- */

START_TEST(test_lifetime_holders) {
        Segment *s = create(&set_a, "transient", UID_A, 4096, PROTO_LIFETIME_HOLDERS);
        uint64_t id = s->id;

        ck_assert_int_eq(registry_hold(reg, s, &set_b, false), 0);
        ck_assert_int_eq(registry_release(reg, &set_a, id), 0);
        ck_assert_ptr_eq(registry_find(reg, "transient"), s);
        ck_assert_uint_eq(s->n_holders, 1);
        ck_assert_uint_eq(dlog.calls, 0);

        ck_assert_int_eq(registry_release(reg, &set_b, id), 0);
        ck_assert_uint_eq(dlog.calls, 1);
        assert_gone("transient", id);
        assert_empty();

        /* Freeing the registry does not destroy it a second time. */
        reg = registry_free(reg);
        ck_assert_uint_eq(dlog.calls, 1);
}
END_TEST

START_TEST(test_lifetime_persistent) {
        Segment *s = create(&set_a, "kept", UID_A, 4096, PROTO_LIFETIME_PERSISTENT);
        uint64_t id = s->id;

        ck_assert_int_eq(registry_release(reg, &set_a, id), 0);
        ck_assert_uint_eq(s->n_holders, 0);
        ck_assert_ptr_eq(registry_find(reg, "kept"), s);
        ck_assert_ptr_eq(registry_find_id(reg, id), s);
        ck_assert_uint_eq(registry_count(reg), 1);
        assert_usage(UID_A, 1, 4096);
        ck_assert_uint_eq(dlog.calls, 0);

        /* Opened and released again by someone else: still kept. */
        ck_assert_int_eq(registry_hold(reg, s, &set_b, false), 0);
        ck_assert_int_eq(registry_release(reg, &set_b, id), 0);
        registry_holdset_clear(reg, &set_a);
        registry_holdset_clear(reg, &set_b);
        ck_assert_ptr_eq(registry_find(reg, "kept"), s);
        ck_assert_uint_eq(dlog.calls, 0);

        registry_unlink(reg, s);
        ck_assert_uint_eq(dlog.calls, 1);
        assert_gone("kept", id);
        assert_empty();
}
END_TEST

START_TEST(test_lifetime_creator) {
        Segment *s, *again;
        uint64_t id;

        s = create(&set_a, "session", UID_A, 4096, PROTO_LIFETIME_CREATOR);
        id = s->id;
        ck_assert_int_eq(registry_hold(reg, s, &set_b, false), 0);

        /* The creator goes away: the name goes with it, B keeps the memory. */
        registry_holdset_clear(reg, &set_a);
        ck_assert_ptr_null(registry_find(reg, "session"));
        ck_assert_ptr_eq(registry_find_id(reg, id), s);
        ck_assert(!s->linked);
        ck_assert_ptr_null(s->creator);
        ck_assert_uint_eq(s->n_holders, 1);
        ck_assert_uint_eq(set_a.n_holds, 0);
        ck_assert(list_is_empty(&set_a.created));
        ck_assert_uint_eq(dlog.calls, 0);
        assert_usage(UID_A, 1, 4096);

        /* The name is free for a new segment. */
        again = create(&set_c, "session", UID_C, 10, PROTO_LIFETIME_HOLDERS);
        ck_assert_ptr_ne(again, s);
        ck_assert_uint_ne(again->id, id);
        ck_assert_ptr_eq(registry_find(reg, "session"), again);

        /* The last holder of the old one lets go: only the old one is destroyed. */
        ck_assert_int_eq(registry_release(reg, &set_b, id), 0);
        ck_assert_uint_eq(dlog.calls, 1);
        ck_assert_uint_eq(destroyed(id), 1);
        ck_assert_ptr_null(registry_find_id(reg, id));
        ck_assert_ptr_eq(registry_find(reg, "session"), again);
        ck_assert_ptr_eq(registry_find_id(reg, again->id), again);
        assert_usage(UID_A, 0, 0);
        assert_usage(UID_C, 1, 10);
}
END_TEST

START_TEST(test_lifetime_creator_unheld) {
        Segment *s = create(&set_a, "session", UID_A, 4096, PROTO_LIFETIME_CREATOR);
        uint64_t id = s->id;

        /* Released by everyone, but the creator is still connected: kept. */
        ck_assert_int_eq(registry_release(reg, &set_a, id), 0);
        ck_assert_uint_eq(s->n_holders, 0);
        ck_assert_ptr_eq(registry_find(reg, "session"), s);
        ck_assert_uint_eq(dlog.calls, 0);

        /* Someone else's connection closing changes nothing. */
        registry_holdset_clear(reg, &set_b);
        ck_assert_ptr_eq(registry_find(reg, "session"), s);

        registry_holdset_clear(reg, &set_a);
        ck_assert_uint_eq(dlog.calls, 1);
        assert_gone("session", id);
        assert_empty();
}
END_TEST

START_TEST(test_lifetime_creator_unlinked_early) {
        Segment *s = create(&set_a, "session", UID_A, 4096, PROTO_LIFETIME_CREATOR);
        uint64_t id = s->id;

        /* Unlinked while the creator still holds it; freed when the creator goes. */
        registry_unlink(reg, s);
        ck_assert_ptr_null(registry_find(reg, "session"));
        ck_assert_ptr_eq(registry_find_id(reg, id), s);
        ck_assert_uint_eq(dlog.calls, 0);
        registry_holdset_clear(reg, &set_a);
        ck_assert_uint_eq(dlog.calls, 1);
        assert_gone("session", id);
        ck_assert(list_is_empty(&set_a.created));
        assert_empty();
}
END_TEST

START_TEST(test_unlink_with_holders) {
        Segment *old, *new;
        uint64_t old_id;

        old = create(&set_a, "name", UID_A, 4096, PROTO_LIFETIME_PERSISTENT);
        old_id = old->id;
        ck_assert_int_eq(registry_hold(reg, old, &set_b, false), 0);

        registry_unlink(reg, old);
        ck_assert_ptr_null(registry_find(reg, "name"));
        ck_assert_ptr_eq(registry_find_id(reg, old_id), old);
        ck_assert(!old->linked);
        ck_assert_uint_eq(dlog.calls, 0);
        /* Unlinked memory is still charged while it is held. */
        ck_assert_uint_eq(registry_count(reg), 1);
        assert_usage(UID_A, 1, 4096);

        /* Unlinking again is a no-op. */
        registry_unlink(reg, old);
        ck_assert_ptr_eq(registry_find_id(reg, old_id), old);
        ck_assert_uint_eq(dlog.calls, 0);

        new = create(&set_c, "name", UID_A, 100, PROTO_LIFETIME_HOLDERS);
        ck_assert_uint_ne(new->id, old_id);
        ck_assert_ptr_eq(registry_find(reg, "name"), new);
        ck_assert_uint_eq(registry_count(reg), 2);
        assert_usage(UID_A, 2, 4196);

        ck_assert_int_eq(registry_release(reg, &set_a, old_id), 0);
        ck_assert_uint_eq(dlog.calls, 0);
        ck_assert_int_eq(registry_release(reg, &set_b, old_id), 0);
        ck_assert_uint_eq(dlog.calls, 1);
        ck_assert_uint_eq(destroyed(old_id), 1);
        ck_assert_ptr_null(registry_find_id(reg, old_id));
        ck_assert_ptr_eq(registry_find(reg, "name"), new);
        assert_usage(UID_A, 1, 100);
}
END_TEST

START_TEST(test_unlink_holders_lifetime) {
        Segment *s = create(&set_a, "h", UID_A, 10, PROTO_LIFETIME_HOLDERS);
        uint64_t id = s->id;

        registry_unlink(reg, s);
        ck_assert_ptr_null(registry_find(reg, "h"));
        ck_assert_ptr_eq(registry_find_id(reg, id), s);
        ck_assert_uint_eq(dlog.calls, 0);
        ck_assert_int_eq(registry_release(reg, &set_a, id), 0);
        assert_gone("h", id);
}
END_TEST

START_TEST(test_holdset_clear_drops_all) {
        Segment *p1, *h1, *p2, *h2;
        uint64_t h1_id, h2_id;

        p1 = create(&set_a, "p1", UID_A, 1, PROTO_LIFETIME_PERSISTENT);
        h1 = create(&set_a, "h1", UID_A, 2, PROTO_LIFETIME_HOLDERS);
        p2 = create(&set_c, "p2", UID_C, 3, PROTO_LIFETIME_PERSISTENT);
        h2 = create(&set_c, "h2", UID_C, 4, PROTO_LIFETIME_HOLDERS);
        h1_id = h1->id;
        h2_id = h2->id;
        ck_assert_int_eq(registry_release(reg, &set_c, p2->id), 0);

        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(registry_hold(reg, p1, &set_b, i == 1), 0);
        ck_assert_int_eq(registry_hold(reg, h1, &set_b, false), 0);
        ck_assert_int_eq(registry_hold(reg, p2, &set_b, true), 0);
        ck_assert_int_eq(registry_hold(reg, h2, &set_b, false), 0);
        ck_assert_uint_eq(set_b.n_holds, 4);

        registry_holdset_clear(reg, &set_b);
        ck_assert_uint_eq(set_b.n_holds, 0);
        ck_assert(list_is_empty(&set_b.holds));
        ck_assert_ptr_null(registry_find_hold(reg, &set_b, p1->id));
        ck_assert_ptr_null(registry_find_hold(reg, &set_b, h1->id));
        ck_assert_ptr_null(registry_find_hold(reg, &set_b, p2->id));
        ck_assert_ptr_null(registry_find_hold(reg, &set_b, h2->id));
        ck_assert_uint_eq(p1->n_holders, 1);
        ck_assert_uint_eq(h1->n_holders, 1);
        ck_assert_uint_eq(p2->n_holders, 0);
        ck_assert_uint_eq(h2->n_holders, 1);
        ck_assert_uint_eq(dlog.calls, 0);
        ck_assert_uint_eq(registry_count(reg), 4);

        /* A's holds go: its "holders" segment goes, its persistent one stays. */
        registry_holdset_clear(reg, &set_a);
        ck_assert_uint_eq(set_a.n_holds, 0);
        ck_assert_uint_eq(dlog.calls, 1);
        assert_gone("h1", h1_id);
        ck_assert_ptr_eq(registry_find(reg, "p1"), p1);
        ck_assert_uint_eq(p1->n_holders, 0);

        registry_holdset_clear(reg, &set_c);
        ck_assert_uint_eq(dlog.calls, 2);
        assert_gone("h2", h2_id);
        ck_assert_ptr_eq(registry_find(reg, "p2"), p2);
        ck_assert_uint_eq(registry_count(reg), 2);

        /* Clearing an empty set is harmless. */
        registry_holdset_clear(reg, &set_c);
        ck_assert_uint_eq(dlog.calls, 2);
}
END_TEST

START_TEST(test_holdset_clear_then_reuse) {
        Segment *s = create(&set_a, "reuse", UID_A, 1, PROTO_LIFETIME_PERSISTENT);

        registry_holdset_clear(reg, &set_a);
        /* The set can be used again after being cleared. */
        ck_assert_int_eq(registry_hold(reg, s, &set_a, false), 0);
        ck_assert_uint_eq(set_a.n_holds, 1);
        ck_assert_uint_eq(s->n_holders, 1);
        ck_assert_int_eq(registry_release(reg, &set_a, s->id), 0);
        ck_assert_uint_eq(set_a.n_holds, 0);
        ck_assert_ptr_eq(registry_find(reg, "reuse"), s);
}
END_TEST

/* ----------------------------------------------------------------- quotas -- */

START_TEST(test_quota_user_segments) {
        Segment *s = NULL, *first;

        setup_limits(&(RegistryLimits){ .max_segments_per_user = 2 });
        first = create(&set_a, "a1", UID_A, 10, PROTO_LIFETIME_HOLDERS);
        create(&set_a, "a2", UID_A, 10, PROTO_LIFETIME_HOLDERS);
        ck_assert_int_eq(try_create(&set_a, "a3", UID_A, 10, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_SEGMENTS);
        ck_assert_ptr_null(s);
        ck_assert_ptr_null(registry_find(reg, "a3"));
        ck_assert_uint_eq(registry_count(reg), 2);
        ck_assert_uint_eq(registry_bytes(reg), 20);
        assert_usage(UID_A, 2, 20);
        ck_assert_uint_eq(set_a.n_holds, 2);
        ck_assert_uint_eq(dlog.calls, 0);

        /* Another user has a quota of its own. */
        create(&set_a, "b1", UID_B, 10, PROTO_LIFETIME_HOLDERS);
        create(&set_b, "b2", UID_B, 10, PROTO_LIFETIME_HOLDERS);
        ck_assert_int_eq(try_create(&set_b, "b3", UID_B, 10, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_SEGMENTS);

        /* Freeing one refunds it. */
        ck_assert_int_eq(registry_release(reg, &set_a, first->id), 0);
        assert_usage(UID_A, 1, 10);
        create(&set_a, "a3", UID_A, 10, PROTO_LIFETIME_HOLDERS);
        assert_usage(UID_A, 2, 20);

        registry_holdset_clear(reg, &set_a);
        registry_holdset_clear(reg, &set_b);
        ck_assert_uint_eq(dlog.calls, 5);
        assert_empty();
        teardown();
}
END_TEST

START_TEST(test_quota_user_bytes) {
        Segment *s = NULL, *first;

        setup_limits(&(RegistryLimits){ .max_bytes_per_user = 100 });
        first = create(&set_a, "a1", UID_A, 60, PROTO_LIFETIME_HOLDERS);
        ck_assert_int_eq(try_create(&set_a, "a2", UID_A, 41, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_BYTES);
        ck_assert_ptr_null(s);
        /* Sizes whose sum with the usage wraps around must not slip through. */
        ck_assert_int_eq(try_create(&set_a, "a2", UID_A, UINT64_MAX, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_BYTES);
        ck_assert_int_eq(try_create(&set_a, "a2", UID_A, UINT64_MAX - 59, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_BYTES);
        ck_assert_int_eq(try_create(&set_a, "a2", UID_A, UINT64_MAX - 50, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_BYTES);
        ck_assert_ptr_null(s);
        assert_usage(UID_A, 1, 60);
        ck_assert_uint_eq(registry_bytes(reg), 60);

        /* Up to the limit exactly. */
        create(&set_a, "a2", UID_A, 40, PROTO_LIFETIME_HOLDERS);
        assert_usage(UID_A, 2, 100);
        ck_assert_int_eq(try_create(&set_a, "a3", UID_A, 1, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_BYTES);

        /* A fresh user: a single segment above the limit is refused too. */
        ck_assert_int_eq(try_create(&set_b, "b1", UID_B, 101, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_BYTES);
        ck_assert_int_eq(try_create(&set_b, "b1", UID_B, UINT64_MAX, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_BYTES);
        assert_usage(UID_B, 0, 0);
        create(&set_b, "b1", UID_B, 100, PROTO_LIFETIME_HOLDERS);

        ck_assert_int_eq(registry_release(reg, &set_a, first->id), 0);
        assert_usage(UID_A, 1, 40);
        create(&set_a, "a3", UID_A, 60, PROTO_LIFETIME_HOLDERS);

        registry_holdset_clear(reg, &set_a);
        registry_holdset_clear(reg, &set_b);
        assert_empty();
        teardown();
}
END_TEST

START_TEST(test_quota_user_bytes_near_max) {
        Segment *s = NULL;

        setup_limits(&(RegistryLimits){ .max_bytes_per_user = UINT64_MAX });
        create(&set_a, "big", UID_A, UINT64_MAX - 5, PROTO_LIFETIME_HOLDERS);
        ck_assert_int_eq(try_create(&set_a, "more", UID_A, 6, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_BYTES);
        ck_assert_int_eq(try_create(&set_a, "more", UID_A, UINT64_MAX, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_BYTES);
        ck_assert_ptr_null(s);
        assert_usage(UID_A, 1, UINT64_MAX - 5);
        create(&set_a, "more", UID_A, 5, PROTO_LIFETIME_HOLDERS);
        assert_usage(UID_A, 2, UINT64_MAX);
        ck_assert_int_eq(try_create(&set_a, "one", UID_A, 1, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_USER_BYTES);

        registry_holdset_clear(reg, &set_a);
        ck_assert_uint_eq(dlog.calls, 2);
        assert_empty();
        teardown();
}
END_TEST

START_TEST(test_quota_segments) {
        Segment *s = NULL, *a;

        setup_limits(&(RegistryLimits){ .max_segments = 3 });
        a = create(&set_a, "a", UID_A, 1, PROTO_LIFETIME_HOLDERS);
        create(&set_b, "b", UID_B, 1, PROTO_LIFETIME_HOLDERS);
        create(&set_c, "c", UID_C, 1, PROTO_LIFETIME_HOLDERS);
        ck_assert_int_eq(try_create(&set_c, "d", UID_C, 1, PROTO_LIFETIME_HOLDERS, &s), REGISTRY_E_QUOTA_SEGMENTS);
        ck_assert_int_eq(try_create(&set_a, "d", UID_A + 100, 1, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_SEGMENTS);
        ck_assert_ptr_null(s);
        ck_assert_uint_eq(registry_count(reg), 3);
        assert_usage(UID_C, 1, 1);
        assert_usage(UID_A + 100, 0, 0);

        /* An unlinked but held segment still counts. */
        registry_unlink(reg, a);
        ck_assert_int_eq(try_create(&set_c, "d", UID_C, 1, PROTO_LIFETIME_HOLDERS, &s), REGISTRY_E_QUOTA_SEGMENTS);
        ck_assert_int_eq(registry_release(reg, &set_a, a->id), 0);
        create(&set_c, "d", UID_C, 1, PROTO_LIFETIME_HOLDERS);
        assert_usage(UID_C, 2, 2);

        registry_holdset_clear(reg, &set_b);
        registry_holdset_clear(reg, &set_c);
        ck_assert_uint_eq(dlog.calls, 4);
        assert_empty();
        teardown();
}
END_TEST

START_TEST(test_quota_bytes) {
        Segment *s = NULL;

        setup_limits(&(RegistryLimits){ .max_bytes = 1000 });
        create(&set_a, "a", UID_A, 600, PROTO_LIFETIME_HOLDERS);
        ck_assert_int_eq(try_create(&set_b, "b", UID_B, 401, PROTO_LIFETIME_HOLDERS, &s), REGISTRY_E_QUOTA_BYTES);
        ck_assert_int_eq(try_create(&set_b, "b", UID_B, UINT64_MAX, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_BYTES);
        ck_assert_int_eq(try_create(&set_b, "b", UID_B, UINT64_MAX - 599, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_BYTES);
        ck_assert_int_eq(try_create(&set_b, "b", UID_B, 1001, PROTO_LIFETIME_HOLDERS, &s), REGISTRY_E_QUOTA_BYTES);
        ck_assert_ptr_null(s);
        assert_usage(UID_B, 0, 0);
        ck_assert_uint_eq(registry_bytes(reg), 600);

        create(&set_b, "b", UID_B, 400, PROTO_LIFETIME_HOLDERS);
        ck_assert_uint_eq(registry_bytes(reg), 1000);
        ck_assert_int_eq(try_create(&set_c, "c", UID_C, 1, PROTO_LIFETIME_HOLDERS, &s), REGISTRY_E_QUOTA_BYTES);

        registry_holdset_clear(reg, &set_a);
        create(&set_c, "c", UID_C, 600, PROTO_LIFETIME_HOLDERS);
        ck_assert_uint_eq(registry_bytes(reg), 1000);

        registry_holdset_clear(reg, &set_b);
        registry_holdset_clear(reg, &set_c);
        assert_empty();
        teardown();
}
END_TEST

START_TEST(test_quota_bytes_near_max) {
        Segment *s = NULL;

        setup_limits(&(RegistryLimits){ .max_bytes = UINT64_MAX });
        create(&set_a, "a", UID_A, UINT64_MAX - 1, PROTO_LIFETIME_HOLDERS);
        ck_assert_int_eq(try_create(&set_b, "b", UID_B, 2, PROTO_LIFETIME_HOLDERS, &s), REGISTRY_E_QUOTA_BYTES);
        ck_assert_int_eq(try_create(&set_b, "b", UID_B, UINT64_MAX, PROTO_LIFETIME_HOLDERS, &s),
                         REGISTRY_E_QUOTA_BYTES);
        ck_assert_ptr_null(s);
        create(&set_b, "b", UID_B, 1, PROTO_LIFETIME_HOLDERS);
        ck_assert_uint_eq(registry_bytes(reg), UINT64_MAX);

        registry_holdset_clear(reg, &set_a);
        registry_holdset_clear(reg, &set_b);
        assert_empty();
        teardown();
}
END_TEST

START_TEST(test_quota_holds) {
        Segment *s = NULL, *s1, *s2, *s3;

        setup_limits(&(RegistryLimits){ .max_holds_per_conn = 2 });
        s1 = create(&set_a, "s1", UID_A, 1, PROTO_LIFETIME_PERSISTENT);
        s2 = create(&set_a, "s2", UID_A, 1, PROTO_LIFETIME_PERSISTENT);

        /* A third create by the same connection would be a third hold. */
        ck_assert_int_eq(try_create(&set_a, "s3", UID_A, 1, PROTO_LIFETIME_PERSISTENT, &s), REGISTRY_E_QUOTA_HOLDS);
        ck_assert_ptr_null(s);
        ck_assert_ptr_null(registry_find(reg, "s3"));
        ck_assert_uint_eq(registry_count(reg), 2);
        assert_usage(UID_A, 2, 2);
        ck_assert_uint_eq(set_a.n_holds, 2);
        ck_assert_uint_eq(dlog.calls, 0);

        s3 = create(&set_b, "s3", UID_A, 1, PROTO_LIFETIME_PERSISTENT);
        ck_assert_int_eq(registry_hold(reg, s3, &set_a, false), REGISTRY_E_QUOTA_HOLDS);
        ck_assert_ptr_null(registry_find_hold(reg, &set_a, s3->id));
        ck_assert_uint_eq(s3->n_holders, 1);
        ck_assert_uint_eq(set_a.n_holds, 2);

        /* Opening something already held is not a new hold. */
        ck_assert_int_eq(registry_hold(reg, s1, &set_a, false), 0);
        ck_assert_uint_eq(registry_find_hold(reg, &set_a, s1->id)->count, 2);
        ck_assert_uint_eq(set_a.n_holds, 2);

        /* Dropping a hold makes room. */
        ck_assert_int_eq(registry_release(reg, &set_a, s2->id), 0);
        ck_assert_uint_eq(set_a.n_holds, 1);
        ck_assert_int_eq(registry_hold(reg, s3, &set_a, true), 0);
        ck_assert_uint_eq(set_a.n_holds, 2);
        ck_assert_uint_eq(s3->n_holders, 2);

        /* Limits are per connection. */
        ck_assert_int_eq(registry_hold(reg, s2, &set_b, false), 0);
        ck_assert_int_eq(registry_hold(reg, s1, &set_b, false), REGISTRY_E_QUOTA_HOLDS);
        ck_assert_int_eq(registry_hold(reg, s1, &set_c, false), 0);

        registry_holdset_clear(reg, &set_a);
        registry_holdset_clear(reg, &set_b);
        registry_holdset_clear(reg, &set_c);
        registry_unlink(reg, s1);
        registry_unlink(reg, s2);
        registry_unlink(reg, s3);
        ck_assert_uint_eq(dlog.calls, 3);
        assert_empty();
        teardown();
}
END_TEST

START_TEST(test_quota_refund) {
        Segment *p, *c, *h;

        setup_limits(&(RegistryLimits){ .max_segments = 10, .max_bytes = 10000, .max_segments_per_user = 5,
                                        .max_bytes_per_user = 5000, .max_holds_per_conn = 10 });
        p = create(&set_a, "p", UID_A, 1000, PROTO_LIFETIME_PERSISTENT);
        c = create(&set_a, "c", UID_A, 2000, PROTO_LIFETIME_CREATOR);
        h = create(&set_b, "h", UID_B, 3000, PROTO_LIFETIME_HOLDERS);
        ck_assert_int_eq(registry_hold(reg, h, &set_a, false), 0);
        ck_assert_int_eq(registry_hold(reg, c, &set_b, false), 0);
        ck_assert_int_eq(registry_hold(reg, p, &set_c, false), 0);
        ck_assert_uint_eq(registry_count(reg), 3);
        ck_assert_uint_eq(registry_bytes(reg), 6000);
        assert_usage(UID_A, 2, 3000);
        assert_usage(UID_B, 1, 3000);

        registry_holdset_clear(reg, &set_a);     /* c unlinked, B still holds it */
        ck_assert_uint_eq(registry_count(reg), 3);
        assert_usage(UID_A, 2, 3000);
        registry_holdset_clear(reg, &set_b);     /* frees c and h */
        ck_assert_uint_eq(registry_count(reg), 1);
        ck_assert_uint_eq(registry_bytes(reg), 1000);
        assert_usage(UID_A, 1, 1000);
        assert_usage(UID_B, 0, 0);
        registry_holdset_clear(reg, &set_c);
        ck_assert_uint_eq(registry_count(reg), 1);
        registry_unlink(reg, p);
        ck_assert_uint_eq(dlog.calls, 3);
        assert_empty();

        /* After the refund the full quota is available again. */
        for (int i = 0; i < 5; i++) {
                char name[16];

                snprintf(name, sizeof(name), "again%d", i);
                create(&set_a, name, UID_A, 1000, PROTO_LIFETIME_HOLDERS);
        }
        assert_usage(UID_A, 5, 5000);
        registry_holdset_clear(reg, &set_a);
        assert_empty();
        teardown();
}
END_TEST

/* -------------------------------------------------------------- iteration -- */

START_TEST(test_iterate_in_order) {
        Segment *seg[6], *s;
        uint64_t expect = 1;

        for (int i = 1; i <= 5; i++) {
                char name[16];

                snprintf(name, sizeof(name), "it%d", i);
                seg[i] = create(&set_a, name, UID_A, 1, PROTO_LIFETIME_HOLDERS);
                ck_assert_uint_eq(seg[i]->id, (uint64_t)i);
        }
        for (s = registry_first_after(reg, 0); s; s = registry_next(reg, s))
                ck_assert_uint_eq(s->id, expect++);
        ck_assert_uint_eq(expect, 6);

        for (int i = 1; i <= 5; i++)
                ck_assert_ptr_eq(registry_first_after(reg, (uint64_t)i - 1), seg[i]);
        ck_assert_ptr_null(registry_first_after(reg, 5));
        ck_assert_ptr_null(registry_first_after(reg, 6));
        ck_assert_ptr_null(registry_first_after(reg, UINT64_MAX));
        ck_assert_ptr_null(registry_next(reg, seg[5]));
}
END_TEST

START_TEST(test_iterate_resume_after_deleted) {
        Segment *seg[6], *s;

        for (int i = 1; i <= 5; i++) {
                char name[16];

                snprintf(name, sizeof(name), "it%d", i);
                seg[i] = create(&set_a, name, UID_A, 1, PROTO_LIFETIME_HOLDERS);
        }

        /* A client listed up to id 3, then 3 went away. */
        ck_assert_int_eq(registry_release(reg, &set_a, 3), 0);
        ck_assert_uint_eq(destroyed(3), 1);
        ck_assert_ptr_eq(registry_first_after(reg, 3), seg[4]);
        ck_assert_ptr_eq(registry_first_after(reg, 2), seg[4]);
        ck_assert_ptr_eq(registry_next(reg, seg[2]), seg[4]);

        /* First and last gone too. */
        ck_assert_int_eq(registry_release(reg, &set_a, 1), 0);
        ck_assert_int_eq(registry_release(reg, &set_a, 5), 0);
        ck_assert_ptr_eq(registry_first_after(reg, 0), seg[2]);
        ck_assert_ptr_eq(registry_first_after(reg, 1), seg[2]);
        ck_assert_ptr_null(registry_first_after(reg, 4));
        ck_assert_ptr_null(registry_first_after(reg, 5));
        ck_assert_ptr_null(registry_next(reg, seg[4]));

        /* An unlinked but held segment is still live and listed by id. */
        registry_unlink(reg, seg[4]);
        ck_assert_ptr_eq(registry_first_after(reg, 2), seg[4]);

        /* New segments come after the old ones. */
        s = create(&set_b, "it6", UID_A, 1, PROTO_LIFETIME_HOLDERS);
        ck_assert_uint_eq(s->id, 6);
        ck_assert_ptr_eq(registry_next(reg, seg[4]), s);
        ck_assert_ptr_eq(registry_first_after(reg, 5), s);
        ck_assert_ptr_eq(registry_first_after(reg, 4), s);
}
END_TEST

/* ------------------------------------------------------------------- free -- */

START_TEST(test_free_destroys_every_segment) {
        Segment *s;
        uint64_t n;

        create(&set_a, "h", UID_A, 1, PROTO_LIFETIME_HOLDERS);
        create(&set_a, "c", UID_A, 1, PROTO_LIFETIME_CREATOR);
        s = create(&set_a, "p", UID_B, 1, PROTO_LIFETIME_PERSISTENT);
        ck_assert_int_eq(registry_hold(reg, s, &set_b, false), 0);
        ck_assert_int_eq(registry_hold(reg, s, &set_b, false), 0);
        s = create(&set_b, "unheld", UID_B, 1, PROTO_LIFETIME_PERSISTENT);
        ck_assert_int_eq(registry_release(reg, &set_b, s->id), 0);
        s = create(&set_c, "unlinked", UID_C, 1, PROTO_LIFETIME_PERSISTENT);
        ck_assert_int_eq(registry_hold(reg, s, &set_a, true), 0);
        registry_unlink(reg, s);
        for (int i = 0; i < 5; i++) {
                char name[16];

                snprintf(name, sizeof(name), "more%d", i);
                s = create(&set_c, name, UID_C, 1, i % 2 ? PROTO_LIFETIME_HOLDERS : PROTO_LIFETIME_CREATOR);
        }
        n = registry_count(reg);
        ck_assert_uint_eq(n, 10);
        ck_assert_uint_eq(dlog.calls, 0);

        reg = registry_free(reg);
        ck_assert_ptr_null(reg);
        ck_assert_uint_eq(dlog.calls, n);
        for (uint64_t id = 1; id <= n; id++)
                ck_assert_msg(destroyed(id) == 1, "segment %llu destroyed %u times", (unsigned long long)id,
                              destroyed(id));
        ck_assert_uint_eq(dlog.bad, 0);

        /* The hold sets outlive the registry, valid and empty. */
        ck_assert_uint_eq(set_a.n_holds, 0);
        ck_assert_uint_eq(set_b.n_holds, 0);
        ck_assert_uint_eq(set_c.n_holds, 0);
        ck_assert(list_is_empty(&set_a.holds));
        ck_assert(list_is_empty(&set_b.holds));
        ck_assert(list_is_empty(&set_c.holds));
        ck_assert(list_is_empty(&set_a.created));
        ck_assert(list_is_empty(&set_c.created));
}
END_TEST

START_TEST(test_free_null_and_empty) {
        ck_assert_ptr_null(registry_free(NULL));
        reg = registry_free(reg);
        ck_assert_uint_eq(dlog.calls, 0);
}
END_TEST

START_TEST(test_no_destroy_callback) {
        Registry *r = NULL;
        HoldSet set;
        SegmentParams p = { .name = "x", .size = 1, .uid = UID_A, .lifetime = PROTO_LIFETIME_HOLDERS };
        Segment *s = NULL;

        holdset_init(&set);
        ck_assert_int_eq(registry_new(&r, &(RegistryLimits){}, NULL, NULL), 0);
        ck_assert_int_eq(registry_create(r, &p, &set, &s), 0);
        ck_assert_int_eq(registry_release(r, &set, s->id), 0);
        ck_assert_ptr_null(registry_find(r, "x"));
        p.name = "y";
        ck_assert_int_eq(registry_create(r, &p, &set, &s), 0);
        ck_assert_ptr_null(registry_free(r));
        ck_assert_uint_eq(set.n_holds, 0);
}
END_TEST

/* ------------------------------------------------------------------ scale -- */

#define SCALE_N 100000

START_TEST(test_scale) {
        char name[32];
        uint64_t n = 0, prev = 0;

        for (unsigned i = 0; i < SCALE_N; i++) {
                Segment *s = NULL;
                int r;

                snprintf(name, sizeof(name), "seg-%06u", i);
                r = try_create(&set_a, name, UID_A + i % 7, 4096, PROTO_LIFETIME_HOLDERS, &s);
                if (r != 0 || !s || s->id != i + 1)
                        ck_abort_msg("creating segment %u failed: %d", i, r);
        }
        ck_assert_uint_eq(registry_count(reg), SCALE_N);
        ck_assert_uint_eq(registry_bytes(reg), (uint64_t)SCALE_N * 4096);
        ck_assert_uint_eq(set_a.n_holds, SCALE_N);

        for (unsigned i = 0; i < SCALE_N; i++) {
                Segment *s;

                snprintf(name, sizeof(name), "seg-%06u", i);
                s = registry_find(reg, name);
                if (!s || s->id != i + 1 || strcmp(s->name, name) != 0 || registry_find_id(reg, i + 1) != s ||
                    !registry_find_hold(reg, &set_a, i + 1))
                        ck_abort_msg("segment %u not found by name, id or hold", i);
        }
        ck_assert_ptr_null(registry_find(reg, "seg-100000"));
        ck_assert_ptr_null(registry_find_id(reg, SCALE_N + 1));

        for (Segment *s = registry_first_after(reg, 0); s; s = registry_next(reg, s)) {
                if (s->id <= prev)
                        ck_abort_msg("ids out of order: %llu after %llu", (unsigned long long)s->id,
                                     (unsigned long long)prev);
                prev = s->id;
                n++;
        }
        ck_assert_uint_eq(n, SCALE_N);

        /* Release every even id. */
        for (uint64_t id = 2; id <= SCALE_N; id += 2)
                if (registry_release(reg, &set_a, id) != 0)
                        ck_abort_msg("releasing %llu failed", (unsigned long long)id);
        ck_assert_uint_eq(dlog.calls, SCALE_N / 2);
        ck_assert_uint_eq(registry_count(reg), SCALE_N / 2);
        for (unsigned i = 0; i < SCALE_N; i++) {
                bool live = (i + 1) % 2 == 1;

                snprintf(name, sizeof(name), "seg-%06u", i);
                if ((registry_find(reg, name) != NULL) != live || (registry_find_id(reg, i + 1) != NULL) != live)
                        ck_abort_msg("segment %u is %s but should be %s", i, live ? "gone" : "live",
                                     live ? "live" : "gone");
        }

        reg = registry_free(reg);
        ck_assert_uint_eq(dlog.calls, SCALE_N);
        ck_assert_uint_eq(dlog.bad, 0);
        ck_assert_uint_eq(set_a.n_holds, 0);
}
END_TEST

static Suite *registry_suite(void) {
        Suite *s = suite_create("registry");
        TCase *tc;

        tc = tcase_create("create-find");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_create_find);
        tcase_add_test(tc, test_create_creator_lifetime_records_creator);
        tcase_add_test(tc, test_create_exists);
        tcase_add_test(tc, test_ids_increase);
        tcase_add_test(tc, test_find_empty);
        tcase_add_test(tc, test_strerror);
        suite_add_tcase(s, tc);

        tc = tcase_create("holds");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_hold_twice);
        tcase_add_test(tc, test_creator_opens_again);
        tcase_add_test(tc, test_hold_writable_upgrade);
        tcase_add_test(tc, test_not_held);
        suite_add_tcase(s, tc);

        tc = tcase_create("lifetimes");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_lifetime_holders);
        tcase_add_test(tc, test_lifetime_persistent);
        tcase_add_test(tc, test_lifetime_creator);
        tcase_add_test(tc, test_lifetime_creator_unheld);
        tcase_add_test(tc, test_lifetime_creator_unlinked_early);
        tcase_add_test(tc, test_unlink_with_holders);
        tcase_add_test(tc, test_unlink_holders_lifetime);
        tcase_add_test(tc, test_holdset_clear_drops_all);
        tcase_add_test(tc, test_holdset_clear_then_reuse);
        suite_add_tcase(s, tc);

        /* These make their own registry with the limits under test. */
        tc = tcase_create("quotas");
        tcase_add_test(tc, test_quota_user_segments);
        tcase_add_test(tc, test_quota_user_bytes);
        tcase_add_test(tc, test_quota_user_bytes_near_max);
        tcase_add_test(tc, test_quota_segments);
        tcase_add_test(tc, test_quota_bytes);
        tcase_add_test(tc, test_quota_bytes_near_max);
        tcase_add_test(tc, test_quota_holds);
        tcase_add_test(tc, test_quota_refund);
        suite_add_tcase(s, tc);

        tc = tcase_create("iteration");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_iterate_in_order);
        tcase_add_test(tc, test_iterate_resume_after_deleted);
        suite_add_tcase(s, tc);

        tc = tcase_create("free");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_free_destroys_every_segment);
        tcase_add_test(tc, test_free_null_and_empty);
        tcase_add_test(tc, test_no_destroy_callback);
        suite_add_tcase(s, tc);

        tc = tcase_create("scale");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_scale);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(registry_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
