/*
 * Unit tests for the admin protocol codec: request decoding and its
 * refusals, records round-tripping, reply decoders' bounds, and random
 * input (run under ASan, any over-read shows).
 */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/shmb-admin-proto.h"

static uint8_t buf[SHMB_MSG_MAX];

static int decode(int len, ProtoAdminRequest *req, const char **why) {
        ck_assert_int_gt(len, 0);
        return proto_admin_decode_request(buf, (size_t)len, req, why);
}

START_TEST(test_types) {
        ck_assert(proto_admin_type_is_admin(0x0101));
        ck_assert(proto_admin_type_is_admin(0x0107));
        ck_assert(!proto_admin_type_is_admin(0x0108));
        ck_assert(!proto_admin_type_is_admin(0x0100));
        ck_assert(!proto_admin_type_is_admin(0x0001));
        ck_assert(proto_admin_type_is_client(0x0002));
        ck_assert(!proto_admin_type_is_client(0x0001));
        ck_assert(!proto_admin_type_is_client(0x0101));
        ck_assert_str_eq(proto_admin_op_name(0x0003), "open");
        ck_assert_str_eq(proto_admin_op_name(0x8003), "open");
        ck_assert_str_eq(proto_admin_op_name(0x0105), "admin_destroy");
        ck_assert_str_eq(proto_admin_op_name(0x0199), "unknown");
        ck_assert_str_eq(proto_admin_op_name(0), "unknown");
        ck_assert_str_eq(proto_admin_status_label(SHMB_STATUS_OK), "ok");
        ck_assert_str_eq(proto_admin_status_label(SHMB_STATUS_NOT_FOUND), "not_found");
        ck_assert_str_eq(proto_admin_status_label(SHMB_STATUS_INTERNAL), "internal");
        ck_assert_str_eq(proto_admin_status_label(99), "unknown");
}
END_TEST

START_TEST(test_decode_requests) {
        ProtoAdminRequest req;
        const char *why;
        ProtoBuf b;

        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_list(&b, SHMB_ADMIN_MSG_LIST_CLIENTS, 9, 42, 7), &req, &why), 0);
        ck_assert_uint_eq(req.hdr.type, SHMB_ADMIN_MSG_LIST_CLIENTS);
        ck_assert_uint_eq(req.hdr.req_id, 9);
        ck_assert_uint_eq(req.list.after_id, 42);
        ck_assert_uint_eq(req.list.max_entries, 7);

        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_show(&b, 1, "frames", 5, 0), &req, &why), 0);
        ck_assert_str_eq(req.show.name, "frames");
        ck_assert_uint_eq(req.show.after_id, 5);

        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_destroy(&b, 1, "a.b-c_d"), &req, &why), 0);
        ck_assert_str_eq(req.destroy.name, "a.b-c_d");

        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_kick(&b, 1, 4321), &req, &why), 0);
        ck_assert_uint_eq(req.kick.pid, 4321);

        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_log_level(&b, 1, SHMB_ADMIN_LOG_LEVEL_QUERY), &req, &why), 0);
        ck_assert_uint_eq(req.log_level.level, SHMB_ADMIN_LOG_LEVEL_QUERY);

        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_stats(&b, 1), &req, &why), 0);
        ck_assert_ptr_null(why);
}
END_TEST

START_TEST(test_decode_refusals) {
        ProtoAdminRequest req;
        const char *why;
        ProtoBuf b;
        int n;

        /* A client request on the admin socket. */
        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_encode_open(&b, 1, "x", 0), &req, &why), SHMB_STATUS_UNSUPPORTED);
        ck_assert_str_eq(why, "client requests are served on the client socket only");
        /* Unknown type, reply bit, version, flags. */
        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_list(&b, 0x0108, 1, 0, 0), &req, &why), SHMB_STATUS_UNSUPPORTED);
        ck_assert_str_eq(why, "unknown message type");
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_admin_encode_stats(&b, 1);
        buf[3] |= 0x80;
        ck_assert_int_eq(decode(n, &req, &why), SHMB_STATUS_INVALID);
        buf[3] &= 0x7f;
        buf[0] = 2;
        ck_assert_int_eq(decode(n, &req, &why), SHMB_STATUS_VERSION);
        buf[0] = 1;
        buf[4] = 1;
        ck_assert_int_eq(decode(n, &req, &why), SHMB_STATUS_INVALID);
        buf[4] = 0;
        /* Length field not the datagram size. */
        ck_assert_int_eq(proto_admin_decode_request(buf, (size_t)n + 1, &req, &why), SHMB_STATUS_INVALID);
        /* STATS with a payload. */
        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_ADMIN_MSG_STATS, 0, 1);
        proto_put_u32(&b, 0);
        ck_assert_int_eq(decode(proto_finish(&b), &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "payload longer than this message type");
        /* LIST with a short payload, with a reserved word set. */
        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_ADMIN_MSG_LIST_SEGMENTS, 0, 1);
        proto_put_u64(&b, 0);
        ck_assert_int_eq(decode(proto_finish(&b), &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "payload too short for this message type");
        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_ADMIN_MSG_LIST_SEGMENTS, 0, 1);
        proto_put_u64(&b, 0);
        proto_put_u32(&b, 0);
        proto_put_u32(&b, 1);
        ck_assert_int_eq(decode(proto_finish(&b), &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "reserved field must be zero");
        /* Names. */
        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_destroy(&b, 1, ".hidden"), &req, &why), SHMB_STATUS_BAD_NAME);
        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_show(&b, 1, "", 0, 0), &req, &why), SHMB_STATUS_BAD_NAME);
        /* KICK: pid 0, pid above INT32_MAX, reserved set. */
        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_kick(&b, 1, 0), &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "pid must be between 1 and 2147483647");
        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(decode(proto_admin_encode_kick(&b, 1, 0x80000000u), &req, &why), SHMB_STATUS_INVALID);
        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_ADMIN_MSG_KICK, 0, 1);
        proto_put_u32(&b, 5);
        proto_put_u32(&b, 1);
        ck_assert_int_eq(decode(proto_finish(&b), &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "reserved field must be zero");
}
END_TEST

START_TEST(test_records_round_trip) {
        ProtoAdminSegment s = { .id = 3, .size = 1 << 20, .uid = 1000, .gid = 100, .mode = 0640, .holders = 2,
                                .backend = 1, .lifetime = 2, .flags = PROTO_SEG_UNLINKED, .shmid = -1,
                                .created_usec = 111, .last_opened_usec = 222 }, s2;
        ProtoAdminHolder h = { .conn_id = 7, .since_usec = 333, .opens = 2, .pid = 44, .uid = 5, .gid = 6,
                               .flags = SHMB_ADMIN_HOLD_WRITABLE }, h2;
        ProtoAdminClient c = { .conn_id = 8, .connected_usec = 444, .holds = 3, .bytes_held = 12288, .pid = 45,
                               .uid = 7, .gid = 8, .flags = SHMB_ADMIN_CLIENT_ADMIN }, c2;
        uint32_t count, flags;
        uint64_t next;
        size_t at, off;
        ProtoBuf b;
        int n;

        strcpy(s.name, "frames");
        strcpy(h.comm, "viewer");
        strcpy(c.comm, "?");
        proto_buf_init(&b, buf, sizeof(buf));
        at = proto_admin_put_page(&b, SHMB_ADMIN_MSG_SHOW, 5);
        proto_admin_put_segment(&b, &s);
        proto_admin_put_holder(&b, &h);
        proto_admin_put_client(&b, &c);
        proto_admin_patch_page(&b, at, 1, SHMB_ADMIN_PAGE_MORE, 7);
        n = proto_finish(&b);
        ck_assert_int_eq(n, 16 + 16 + 66 + 6 + 42 + 6 + 50 + 1);
        ck_assert_int_eq(proto_admin_decode_page(buf, (size_t)n, &count, &flags, &next, &off), 0);
        ck_assert_uint_eq(count, 1);
        ck_assert_uint_eq(flags, SHMB_ADMIN_PAGE_MORE);
        ck_assert_uint_eq(next, 7);
        ck_assert_int_eq(proto_admin_decode_segment_at(buf, (size_t)n, &off, &s2), 0);
        ck_assert_mem_eq(&s, &s2, offsetof(ProtoAdminSegment, name));
        ck_assert_str_eq(s2.name, "frames");
        ck_assert_int_eq(proto_admin_decode_holder_at(buf, (size_t)n, &off, &h2), 0);
        ck_assert_uint_eq(h2.conn_id, 7);
        ck_assert_uint_eq(h2.since_usec, 333);
        ck_assert_uint_eq(h2.opens, 2);
        ck_assert_uint_eq(h2.pid, 44);
        ck_assert_uint_eq(h2.flags, SHMB_ADMIN_HOLD_WRITABLE);
        ck_assert_str_eq(h2.comm, "viewer");
        ck_assert_int_eq(proto_admin_decode_client_at(buf, (size_t)n, &off, &c2), 0);
        ck_assert_uint_eq(c2.bytes_held, 12288);
        ck_assert_uint_eq(c2.flags, SHMB_ADMIN_CLIENT_ADMIN);
        ck_assert_str_eq(c2.comm, "?");
        ck_assert_uint_eq(off, (size_t)n);
        /* Truncated anywhere: refused, never read past the end. */
        for (int len = SHMB_HEADER_SIZE; len < n; len++) {
                off = SHMB_HEADER_SIZE + 16;
                if (len < (int)off + 66 + 6)
                        ck_assert_int_eq(proto_admin_decode_segment_at(buf, (size_t)len, &off, &s2), -EBADMSG);
        }
}
END_TEST

START_TEST(test_stats_bounds) {
        ProtoAdminStats st = { .uptime_usec = 1, .n_backends = 1, .n_counters = 2 }, st2;
        ProtoAdminBackend be = { .backend = 1, .flags = 1, .segments = 2, .bytes = 3 }, be2;
        ProtoAdminCounter ct = { .type = 3, .status = 3, .count = 9 }, ct2;
        size_t off;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_ADMIN_MSG_STATS | SHMB_MSG_REPLY, 0, 1);
        proto_admin_put_stats(&b, &st);
        proto_admin_put_backend(&b, &be);
        proto_admin_put_counter(&b, &ct);
        proto_admin_put_counter(&b, &ct);
        n = proto_finish(&b);
        ck_assert_int_eq(n, 16 + 72 + 24 + 32);
        ck_assert_int_eq(proto_admin_decode_stats(buf, (size_t)n, &st2, &off), 0);
        ck_assert_uint_eq(st2.n_counters, 2);
        ck_assert_int_eq(proto_admin_decode_backend_at(buf, (size_t)n, &off, &be2), 0);
        ck_assert_uint_eq(be2.bytes, 3);
        ck_assert_int_eq(proto_admin_decode_counter_at(buf, (size_t)n, &off, &ct2), 0);
        ck_assert_uint_eq(ct2.count, 9);
        /* Counts that do not match the bytes present are refused. */
        ck_assert_int_eq(proto_admin_decode_stats(buf, (size_t)n - 1, &st2, &off), -EBADMSG);
        buf[16 + 70] = 3;
        ck_assert_int_eq(proto_admin_decode_stats(buf, (size_t)n, &st2, &off), -EBADMSG);
}
END_TEST

START_TEST(test_page_count_bound) {
        uint32_t count, flags;
        uint64_t next;
        size_t off;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        (void)proto_admin_put_page(&b, SHMB_ADMIN_MSG_LIST_SEGMENTS, 1);
        proto_admin_patch_page(&b, SHMB_HEADER_SIZE, 1000, 0, 0);
        n = proto_finish(&b);
        /* 1000 records claimed, none present. */
        ck_assert_int_eq(proto_admin_decode_page(buf, (size_t)n, &count, &flags, &next, &off), -EBADMSG);
        ck_assert_int_eq(proto_admin_decode_page(buf, 20, &count, &flags, &next, &off), -EBADMSG);
}
END_TEST

START_TEST(test_random_input) {
        unsigned seed = 12345;

        for (int i = 0; i < 200000; i++) {
                size_t len = (size_t)(rand_r(&seed) % 200), off;
                ProtoAdminRequest req;
                ProtoAdminSegment s;
                ProtoAdminHolder h;
                ProtoAdminClient c;
                ProtoAdminStats st;
                uint32_t a, f;
                uint64_t x, y;
                const char *why;

                for (size_t k = 0; k < len; k++)
                        buf[k] = (uint8_t)rand_r(&seed);
                if (len >= SHMB_HEADER_SIZE) {
                        /* Often a plausible header, so payload decoders run too. */
                        buf[0] = 1;
                        buf[1] = 0;
                        buf[2] = (uint8_t)(1 + rand_r(&seed) % 8);
                        buf[3] = (uint8_t)(rand_r(&seed) % 2);
                        memset(buf + 4, 0, 4);
                        buf[8] = (uint8_t)len;
                        memset(buf + 9, 0, 3);
                }
                (void)proto_admin_decode_request(buf, len, &req, &why);
                off = SHMB_HEADER_SIZE;
                (void)proto_admin_decode_page(buf, len, &a, &f, &x, &off);
                off = SHMB_HEADER_SIZE;
                (void)proto_admin_decode_segment_at(buf, len, &off, &s);
                off = SHMB_HEADER_SIZE;
                (void)proto_admin_decode_holder_at(buf, len, &off, &h);
                off = SHMB_HEADER_SIZE;
                (void)proto_admin_decode_client_at(buf, len, &off, &c);
                (void)proto_admin_decode_stats(buf, len, &st, &off);
                (void)proto_admin_decode_u64_pair(buf, len, &x, &y);
                (void)proto_admin_decode_kick_reply(buf, len, &a, &x);
                (void)proto_admin_decode_log_level_reply(buf, len, &a, &f);
        }
}
END_TEST

static Suite *proto_admin_suite(void) {
        Suite *s = suite_create("proto-admin");
        TCase *tc;

        tc = tcase_create("requests");
        tcase_add_test(tc, test_types);
        tcase_add_test(tc, test_decode_requests);
        tcase_add_test(tc, test_decode_refusals);
        suite_add_tcase(s, tc);
        tc = tcase_create("replies");
        tcase_add_test(tc, test_records_round_trip);
        tcase_add_test(tc, test_stats_bounds);
        tcase_add_test(tc, test_page_count_bound);
        suite_add_tcase(s, tc);
        tc = tcase_create("robustness");
        tcase_add_test(tc, test_random_input);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(proto_admin_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
