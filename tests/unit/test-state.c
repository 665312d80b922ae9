/*
 * Unit tests for the restart state file (state.c, state-read.c): a
 * snapshot and the journal lines after it replay into the registry as it
 * was; torn and malformed lines are skipped; the journal is compacted.
 * Files only, in a temporary directory; no sockets.
 */

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/registry.h"
#include "daemon/state.h"

static char dir[64], path[128];
static Registry *reg;
static StateWriter *writer;
static HoldSet set_a, set_b;

static const PeerIdentity proc_a = { .pid = 100, .uid = 1000, .start_time = 5555 };
static const PeerIdentity proc_b = { .pid = 200, .uid = 0, .start_time = 6666 };

static void destroy_cb(Segment *s, void *userdata) {
        state_record_destroyed(writer, s);
}

static void unlink_cb(Segment *s, void *userdata) {
        state_record_unlinked(writer, s);
}

static void hold_cb(Segment *s, const PeerIdentity *who, bool writable, int64_t delta, void *userdata) {
        state_record_hold(writer, s, who, writable, delta);
}

static void setup(void) {
        RegistryLimits limits = {};

        snprintf(dir, sizeof(dir), "/tmp/shmbroker-state-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/state", dir);
        ck_assert_int_eq(registry_new(&reg, &limits, destroy_cb, NULL), 0);
        registry_set_unlink_fn(reg, unlink_cb);
        registry_set_hold_fn(reg, hold_cb);
        ck_assert_int_eq(state_writer_new(&writer, path, "/var/lib/test state", reg), 0);
        holdset_init(&set_a);
        holdset_init(&set_b);
        set_a.who = proc_a;
        set_b.who = proc_b;
}

static int remove_entry(const char *p, const struct stat *st, int type, struct FTW *ftw) {
        (void)remove(p);
        return 0;
}

static void teardown(void) {
        writer = state_writer_free(writer);
        registry_holdset_clear(reg, &set_a);
        registry_holdset_clear(reg, &set_b);
        reg = registry_free(reg);
        (void)nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static Segment *make(const char *name, HoldSet *creator, uint8_t backend, uint8_t lifetime) {
        SegmentParams p = { .name = name, .size = 8192, .uid = creator->who.uid, .gid = 50, .mode = 0640,
                            .lifetime = lifetime, .backend = backend, .created_usec = 123456789 };
        Segment *s;

        ck_assert_int_eq(registry_create(reg, &p, creator, &s), 0);
        if (backend == PROTO_BACKEND_SYSV) {
                s->obj.shmid = 4242;
                s->obj.shm_cpid = 77;
        }
        state_record_segment(writer, s);
        return s;
}

static StateImage *replay(void) {
        StateImage *img = NULL;

        ck_assert_int_eq(state_read(path, &img), 0);
        return img;
}

static const StateSegment *find(StateImage *img, uint64_t id) {
        list_for_each(l, &img->segments) {
                const StateSegment *s = list_entry(l, StateSegment, link);

                if (s->id == id)
                        return s;
        }
        return NULL;
}

static int64_t held(const StateSegment *s, const PeerIdentity *who, bool writable) {
        list_for_each(l, &s->holds) {
                const StateHold *h = list_entry(l, StateHold, link);

                if (peer_identity_equal(&h->who, who) && h->writable == writable)
                        return h->count;
        }
        return 0;
}

static void append(const char *text) {
        FILE *f = fopen(path, "ae");

        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

START_TEST(test_snapshot_and_journal) {
        Segment *a, *b, *c;
        const StateSegment *r;
        StateImage *img;
        uint64_t b_id, c_id;

        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        a = make("alpha", &set_a, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_HOLDERS);
        b = make("beta", &set_b, PROTO_BACKEND_SYSV, PROTO_LIFETIME_CREATOR);
        c = make("gamma", &set_a, PROTO_BACKEND_FILE, PROTO_LIFETIME_PERSISTENT);
        ck_assert_int_eq(registry_hold(reg, a, &set_b, false), 0);
        ck_assert_int_eq(registry_hold(reg, a, &set_a, true), 0);
        b_id = b->id;
        c_id = c->id;
        ck_assert_int_eq(registry_release(reg, &set_a, c_id), 0); /* persistent: stays */
        registry_unlink(reg, c);                                    /* unheld: gone */

        img = replay();
        ck_assert_str_eq(img->state_dir, "/var/lib/test state");
        ck_assert_int_eq(img->daemon_pid, getpid());
        ck_assert_uint_eq(img->n_bad, 0);
        ck_assert_uint_eq(img->n_segments, 2);
        ck_assert_uint_ge(img->next_id, b->id + 1);
        r = find(img, a->id);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->name, "alpha");
        ck_assert_uint_eq(r->p.size, 8192);
        ck_assert_uint_eq(r->p.uid, 1000);
        ck_assert_uint_eq(r->p.gid, 50);
        ck_assert_uint_eq(r->p.mode, 0640);
        ck_assert_uint_eq(r->p.created_usec, 123456789);
        ck_assert(r->linked);
        ck_assert_int_eq(held(r, &proc_a, true), 2);
        ck_assert_int_eq(held(r, &proc_b, false), 1);
        r = find(img, b->id);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(r->p.backend, PROTO_BACKEND_SYSV);
        ck_assert_int_eq(r->shmid, 4242);
        ck_assert_int_eq(r->shm_cpid, 77);
        ck_assert(peer_identity_equal(&r->creator, &proc_b));
        ck_assert_ptr_null(find(img, c_id));
        state_image_free(img);

        /* The creator goes: its segment loses its name and, unheld, ends. A holder goes. */
        registry_holdset_clear(reg, &set_b);
        img = replay();
        ck_assert_ptr_null(find(img, b_id));
        r = find(img, a->id);
        ck_assert_int_eq(held(r, &proc_b, false), 0);
        ck_assert_int_eq(held(r, &proc_a, true), 2);
        state_image_free(img);

        /* A snapshot says the same in fewer lines. */
        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        img = replay();
        ck_assert_uint_eq(img->n_segments, 1);
        ck_assert_int_eq(held(find(img, a->id), &proc_a, true), 2);
        ck_assert_uint_ge(img->next_id, a->id + 1);
        state_image_free(img);
}
END_TEST

START_TEST(test_unlinked_but_held) {
        const StateSegment *r;
        StateImage *img;
        Segment *a;

        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        a = make("held", &set_a, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_PERSISTENT);
        registry_unlink(reg, a);
        img = replay();
        r = find(img, a->id);
        ck_assert_ptr_nonnull(r);
        ck_assert(!r->linked);
        ck_assert_int_eq(held(r, &proc_a, true), 1);
        state_image_free(img);
}
END_TEST

START_TEST(test_pending_holds_in_snapshot) {
        SegmentParams p = { .name = "back", .size = 4096, .mode = 0600, .lifetime = PROTO_LIFETIME_CREATOR,
                            .backend = PROTO_BACKEND_MEMFD };
        const StateSegment *r;
        StateImage *img;
        Segment *s;

        ck_assert_int_eq(registry_restore(reg, &p, 7, true, &s), 0);
        ck_assert_int_eq(registry_add_pending(reg, s, &proc_a, true, 3), 0);
        registry_set_pending_creator(reg, s, &proc_a);
        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        /* One open comes back: the process's total stays 3. */
        ck_assert_int_eq(registry_reclaim(reg, s, &set_a, true), 0);
        img = replay();
        r = find(img, 7);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(held(r, &proc_a, true), 3);
        ck_assert(peer_identity_equal(&r->creator, &proc_a));
        state_image_free(img);
        /* The grace period ends: the two unreclaimed opens are gone. */
        registry_drop_pending(reg);
        img = replay();
        ck_assert_int_eq(held(find(img, 7), &proc_a, true), 1);
        state_image_free(img);
}
END_TEST

START_TEST(test_torn_and_malformed_lines) {
        StateImage *img;
        Segment *a;

        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        a = make("alpha", &set_a, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_PERSISTENT);
        append("X what is this\n");
        append("S 99 9 1 0 0 600 0 0 0 1 -1 0 0 0 0 bad-backend\n");
        append("S 98 1 1 0 0 600 0 0 0 1 -1 0 0 0 0 .bad-name\n");
        append("H 12345 1 2 3 1 1\n"); /* no such segment */
        append("D 1"); /* torn by a crash: no newline */
        img = replay();
        ck_assert_uint_eq(img->n_bad, 5);
        ck_assert_uint_eq(img->n_segments, 1);
        ck_assert_ptr_nonnull(find(img, a->id));
        state_image_free(img);
}
END_TEST

START_TEST(test_not_a_state_file) {
        StateImage *img = NULL;

        ck_assert_int_eq(state_read(path, &img), -ENOENT);
        append("something else\n");
        ck_assert_int_eq(state_read(path, &img), -EBADMSG);
        ck_assert_ptr_null(img);
}
END_TEST

START_TEST(test_compaction) {
        struct stat st;
        StateImage *img;
        Segment *a;

        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        a = make("busy", &set_a, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_PERSISTENT);
        for (int i = 0; i < 5000; i++) {
                ck_assert_int_eq(registry_hold(reg, a, &set_b, false), 0);
                ck_assert_int_eq(registry_release(reg, &set_b, a->id), 0);
        }
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_gt(st.st_size, 100000);
        state_writer_maintain(writer);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_lt(st.st_size, 1000);
        /* Appending goes on after the compaction. */
        ck_assert_int_eq(registry_hold(reg, a, &set_b, false), 0);
        img = replay();
        ck_assert_int_eq(held(find(img, a->id), &proc_b, false), 1);
        ck_assert_int_eq(held(find(img, a->id), &proc_a, true), 1);
        state_image_free(img);
}
END_TEST

START_TEST(test_freeze_and_remove) {
        StateImage *img;
        uint64_t id;

        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        id = make("alpha", &set_a, PROTO_BACKEND_MEMFD, PROTO_LIFETIME_HOLDERS)->id;
        /* After the freeze, what the daemon does while letting go is not recorded. */
        state_writer_freeze(writer);
        registry_holdset_clear(reg, &set_a);
        img = replay();
        ck_assert_ptr_nonnull(find(img, id));
        state_image_free(img);
        state_writer_remove(writer);
        ck_assert_int_lt(access(path, F_OK), 0);
}
END_TEST

static Suite *state_suite(void) {
        Suite *s = suite_create("state");
        TCase *tc;

        tc = tcase_create("replay");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_snapshot_and_journal);
        tcase_add_test(tc, test_unlinked_but_held);
        tcase_add_test(tc, test_pending_holds_in_snapshot);
        suite_add_tcase(s, tc);

        tc = tcase_create("robustness");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_torn_and_malformed_lines);
        tcase_add_test(tc, test_not_a_state_file);
        suite_add_tcase(s, tc);

        tc = tcase_create("upkeep");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_compaction);
        tcase_add_test(tc, test_freeze_and_remove);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(state_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
