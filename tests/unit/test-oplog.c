/*
 * Unit tests for the operation records (daemon/oplog.c): a request is
 * found again only by the same process, id, type and name; records are
 * replaced, expire, and stay within their bounds per process and in all.
 */

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "daemon/oplog.h"
#include "protocol/shmb-proto.h"

static uint64_t fake_now;
static OpLog log_;

static uint64_t fake_clock(void) {
        return fake_now;
}

static const PeerIdentity a = { .pid = 100, .uid = 1000, .start_time = 5555 };
static const PeerIdentity b = { .pid = 100, .uid = 1000, .start_time = 5556 }; /* pid reused */
static const PeerIdentity c = { .pid = 101, .uid = 1000, .start_time = 5555 };

static void setup(void) {
        fake_now = 1000;
        oplog_init(&log_, fake_clock);
}

static void teardown(void) {
        oplog_deinit(&log_);
}

static void add(const PeerIdentity *who, uint64_t op_id, uint16_t type, const char *name, uint64_t segment) {
        ck_assert_int_eq(oplog_add(&log_, who, op_id, type, oplog_name_hash(name), segment, NULL), 0);
}

static uint64_t found(const PeerIdentity *who, uint64_t op_id, uint16_t type, const char *name) {
        const OpRecord *rec = oplog_find(&log_, who, op_id, type, oplog_name_hash(name));

        return rec ? rec->segment_id : 0;
}

START_TEST(test_find) {
        add(&a, 7, SHMB_MSG_CREATE, "seg", 11);
        ck_assert_uint_eq(found(&a, 7, SHMB_MSG_CREATE, "seg"), 11);
        /* Another process (a reused pid included), another id, type or name: not this request. */
        ck_assert_uint_eq(found(&b, 7, SHMB_MSG_CREATE, "seg"), 0);
        ck_assert_uint_eq(found(&c, 7, SHMB_MSG_CREATE, "seg"), 0);
        ck_assert_uint_eq(found(&a, 8, SHMB_MSG_CREATE, "seg"), 0);
        ck_assert_uint_eq(found(&a, 7, SHMB_MSG_UNLINK, "seg"), 0);
        ck_assert_uint_eq(found(&a, 7, SHMB_MSG_CREATE, "seh"), 0);
        ck_assert_uint_eq(oplog_record_who(oplog_find(&log_, &a, 7, SHMB_MSG_CREATE, oplog_name_hash("seg")))->pid,
                          a.pid);
        /* The same id recorded again replaces the record. */
        add(&a, 7, SHMB_MSG_UNLINK, "other", 12);
        ck_assert_uint_eq(found(&a, 7, SHMB_MSG_CREATE, "seg"), 0);
        ck_assert_uint_eq(found(&a, 7, SHMB_MSG_UNLINK, "other"), 12);
        ck_assert_uint_eq(log_.n_records, 1);
}
END_TEST

START_TEST(test_refused) {
        static const PeerIdentity unknown = { .pid = 5, .uid = 0, .start_time = 0 };
        const OpRecord *rec = (const OpRecord *)1;

        ck_assert_int_eq(oplog_add(&log_, &a, 0, SHMB_MSG_CREATE, 1, 1, &rec), -EINVAL);
        ck_assert_ptr_null(rec);
        /* Without a start time the process cannot be told from a later one with its pid. */
        ck_assert_int_eq(oplog_add(&log_, &unknown, 3, SHMB_MSG_CREATE, 1, 1, &rec), 0);
        ck_assert_ptr_null(rec);
        ck_assert_uint_eq(log_.n_records, 0);
        ck_assert_ptr_null(oplog_find(&log_, &unknown, 3, SHMB_MSG_CREATE, 1));
        ck_assert_ptr_null(oplog_find(&log_, &a, 0, SHMB_MSG_CREATE, 1));
}
END_TEST

START_TEST(test_expiry) {
        add(&a, 1, SHMB_MSG_CREATE, "x", 1);
        fake_now += OPLOG_KEEP_USEC / 2;
        add(&a, 2, SHMB_MSG_CREATE, "x", 2);
        fake_now += OPLOG_KEEP_USEC / 2;
        /* The first is OPLOG_KEEP_USEC old now: gone; the second is not. */
        ck_assert_uint_eq(found(&a, 1, SHMB_MSG_CREATE, "x"), 0);
        ck_assert_uint_eq(found(&a, 2, SHMB_MSG_CREATE, "x"), 2);
        ck_assert_uint_eq(log_.n_records, 1);
        fake_now += OPLOG_KEEP_USEC;
        oplog_expire(&log_);
        ck_assert_uint_eq(log_.n_records, 0);
        ck_assert_uint_eq(hmap_size(&log_.peers), 0);
}
END_TEST

START_TEST(test_bound_per_process) {
        for (uint64_t i = 1; i <= OPLOG_PER_PEER + 10; i++)
                add(&a, i, SHMB_MSG_RESIZE, "x", i);
        add(&c, 1, SHMB_MSG_RESIZE, "x", 99);
        ck_assert_uint_eq(log_.n_records, OPLOG_PER_PEER + 1);
        ck_assert_uint_eq(log_.n_evicted, 10);
        /* The process's oldest went; its newest and the other process's stay. */
        ck_assert_uint_eq(found(&a, 10, SHMB_MSG_RESIZE, "x"), 0);
        ck_assert_uint_eq(found(&a, 11, SHMB_MSG_RESIZE, "x"), 11);
        ck_assert_uint_eq(found(&a, OPLOG_PER_PEER + 10, SHMB_MSG_RESIZE, "x"), OPLOG_PER_PEER + 10);
        ck_assert_uint_eq(found(&c, 1, SHMB_MSG_RESIZE, "x"), 99);
}
END_TEST

START_TEST(test_bound_in_all) {
        PeerIdentity who = { .uid = 1000, .start_time = 1 };
        uint64_t n = 0;
        const OpRecord *rec;

        /* OPLOG_MAX + 1 records from processes that stay within their own bound. */
        for (pid_t pid = 1; n <= OPLOG_MAX; pid++)
                for (uint64_t i = 1; i <= OPLOG_PER_PEER && n <= OPLOG_MAX; i++, n++) {
                        who.pid = pid;
                        add(&who, i, SHMB_MSG_PUBLISH, "p", n + 1);
                }
        ck_assert_uint_eq(log_.n_records, OPLOG_MAX);
        ck_assert_uint_eq(log_.n_evicted, 1);
        /* The very first went. */
        who.pid = 1;
        ck_assert_uint_eq(found(&who, 1, SHMB_MSG_PUBLISH, "p"), 0);
        ck_assert_uint_eq(found(&who, 2, SHMB_MSG_PUBLISH, "p"), 2);
        /* Iteration sees them oldest first. */
        n = 0;
        oplog_for_each(rec, &log_) {
                ck_assert_uint_eq(rec->segment_id, n + 2);
                n++;
        }
        ck_assert_uint_eq(n, OPLOG_MAX);
}
END_TEST

START_TEST(test_name_hash_stable) {
        /* FNV-1a 64 of "" and "a": the values every daemon instance computes. */
        ck_assert_uint_eq(oplog_name_hash(""), UINT64_C(0xcbf29ce484222325));
        ck_assert_uint_eq(oplog_name_hash("a"), UINT64_C(0xaf63dc4c8601ec8c));
        ck_assert_uint_ne(oplog_name_hash("ab"), oplog_name_hash("ba"));
}
END_TEST

static Suite *oplog_suite(void) {
        Suite *s = suite_create("oplog");
        TCase *tc = tcase_create("records");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_find);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_expiry);
        tcase_add_test(tc, test_bound_per_process);
        tcase_add_test(tc, test_bound_in_all);
        tcase_add_test(tc, test_name_hash_stable);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(oplog_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
