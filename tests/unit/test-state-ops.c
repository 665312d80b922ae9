/*
 * Unit tests for operation records in the restart state (state-ops.c):
 * journal lines and snapshots replay into the records as they were, in
 * order, the ids they name count as used, malformed lines are skipped.
 * Files only, in a temporary directory; no sockets.
 */

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/oplog.h"
#include "daemon/registry.h"
#include "daemon/state.h"
#include "protocol/shmb-proto.h"

static char dir[64], path[128];
static Registry *reg;
static StateWriter *writer;
static OpLog ops;
static uint64_t now;

static const PeerIdentity proc = { .pid = 300, .uid = 1000, .start_time = 777 };

static uint64_t clock_fn(void) {
        return now;
}

static void destroy_cb(Segment *s, void *userdata) {
}

static void setup(void) {
        RegistryLimits limits = {};

        snprintf(dir, sizeof(dir), "/tmp/shmbroker-state-ops-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/state", dir);
        ck_assert_int_eq(registry_new(&reg, &limits, destroy_cb, NULL), 0);
        ck_assert_int_eq(state_writer_new(&writer, path, "/var/lib/ops", reg), 0);
        now = 1;
        oplog_init(&ops, clock_fn);
        state_writer_set_oplog(writer, &ops);
}

static int remove_entry(const char *p, const struct stat *st, int type, struct FTW *ftw) {
        (void)remove(p);
        return 0;
}

static void teardown(void) {
        writer = state_writer_free(writer);
        oplog_deinit(&ops);
        reg = registry_free(reg);
        (void)nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void record(uint64_t op_id, uint16_t type, const char *name, uint64_t segment) {
        const OpRecord *rec;

        ck_assert_int_eq(oplog_add(&ops, &proc, op_id, type, oplog_name_hash(name), segment, &rec), 0);
        ck_assert_ptr_nonnull(rec);
        state_record_op(writer, rec);
}

static StateImage *replay(void) {
        StateImage *img = NULL;

        ck_assert_int_eq(state_read(path, &img), 0);
        return img;
}

/* The @i-th record of @img (from 0), checked against the arguments. */
static void check_op(StateImage *img, size_t i, uint64_t op_id, uint16_t type, const char *name, uint64_t segment) {
        size_t k = 0;

        list_for_each(l, &img->ops) {
                const StateOp *op = list_entry(l, StateOp, link);

                if (k++ != i)
                        continue;
                ck_assert(peer_identity_equal(&op->who, &proc));
                ck_assert_uint_eq(op->op_id, op_id);
                ck_assert_uint_eq(op->type, type);
                ck_assert_uint_eq(op->name_hash, oplog_name_hash(name));
                ck_assert_uint_eq(op->segment_id, segment);
                return;
        }
        ck_abort_msg("no record %zu", i);
}

static size_t count_ops(StateImage *img) {
        size_t n = 0;

        list_for_each(l, &img->ops)
                n++;
        return n;
}

START_TEST(test_journal_and_snapshot) {
        StateImage *img;

        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        record(UINT64_C(0xfedcba9876543210), SHMB_MSG_CREATE, "made", 41);
        record(2, SHMB_MSG_UNLINK, "gone", 40);
        record(3, SHMB_MSG_RESIZE, "grown", 7);
        img = replay();
        ck_assert_uint_eq(img->n_bad, 0);
        ck_assert_uint_eq(count_ops(img), 3);
        check_op(img, 0, UINT64_C(0xfedcba9876543210), SHMB_MSG_CREATE, "made", 41);
        check_op(img, 1, 2, SHMB_MSG_UNLINK, "gone", 40);
        check_op(img, 2, 3, SHMB_MSG_RESIZE, "grown", 7);
        /* Ids a record names are used: no new segment takes them after a restart. */
        ck_assert_uint_ge(img->next_id, 42);
        state_image_free(img);

        /* A record made again comes later in the file; a snapshot keeps the newest only. */
        record(2, SHMB_MSG_UNLINK, "gone", 43);
        img = replay();
        ck_assert_uint_eq(count_ops(img), 4);
        check_op(img, 3, 2, SHMB_MSG_UNLINK, "gone", 43);
        state_image_free(img);
        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        img = replay();
        ck_assert_uint_eq(count_ops(img), 3);
        check_op(img, 0, UINT64_C(0xfedcba9876543210), SHMB_MSG_CREATE, "made", 41);
        check_op(img, 2, 2, SHMB_MSG_UNLINK, "gone", 43);
        state_image_free(img);

        /* Expired records are not written again. */
        now += OPLOG_KEEP_USEC;
        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        img = replay();
        ck_assert_uint_eq(count_ops(img), 0);
        state_image_free(img);
}
END_TEST

START_TEST(test_malformed) {
        static const char *const bad[] = {
                "O 300 1000 777 5 2 99\n",                       /* a field missing */
                "O 300 1000 777 5 2 99 4 x\n",                   /* one too many */
                "O 300 1000 777 0 2 99 4\n",                     /* op id 0 */
                "O 300 1000 0 5 2 99 4\n",                       /* no start time */
                "O 0 1000 777 5 2 99 4\n",                       /* no pid */
                "O 300 1000 777 5 6 99 4\n",                     /* STAT takes no op id */
                "O 300 1000 777 5 70000 99 4\n",                 /* type out of range */
                "O 300 1000 777 5 2 99 0\n",                     /* segment 0 */
                "O 300 1000 777 5 2 99 4",                       /* torn */
        };
        StateImage *img;
        FILE *f;

        ck_assert_int_eq(state_writer_snapshot(writer), 0);
        f = fopen(path, "ae");
        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                fputs(bad[i], f);
        fclose(f);
        img = replay();
        ck_assert_uint_eq(img->n_bad, sizeof(bad) / sizeof(bad[0]));
        ck_assert_uint_eq(count_ops(img), 0);
        state_image_free(img);
}
END_TEST

static Suite *state_ops_suite(void) {
        Suite *s = suite_create("state-ops");
        TCase *tc = tcase_create("records");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_journal_and_snapshot);
        tcase_add_test(tc, test_malformed);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(state_ops_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
