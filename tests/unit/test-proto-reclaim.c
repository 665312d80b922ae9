/*
 * Unit tests for RECLAIM in the protocol codec: the exact layout of the
 * request (PROTOCOL.md section 11.6a), the round trip, and every refusal of
 * the decoder. Kept apart from test-proto.c, which covers protocol v1 as
 * it was before restarts kept holds.
 */

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/shmb-proto.h"

static uint8_t buf[SHMB_MSG_MAX];

static size_t encode(uint64_t id, uint16_t flags) {
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_reclaim(&b, 2, id, flags);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_RECLAIM_SIZE);
        return (size_t)n;
}

static int decode(size_t len, ProtoRequest *req, const char **why) {
        buf[8] = (uint8_t)len; /* keep the header's length field in step */
        buf[9] = (uint8_t)(len >> 8);
        return proto_decode_request(buf, len, req, why);
}

START_TEST(test_layout) {
        static const uint8_t expected[32] = {
                0x01, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
                0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        };

        ck_assert_uint_eq(encode(1, PROTO_RECLAIM_RDONLY), sizeof(expected));
        ck_assert_mem_eq(buf, expected, sizeof(expected));
}
END_TEST

START_TEST(test_round_trip) {
        const char *why = "unset";
        ProtoRequest req;
        size_t len = encode(UINT64_C(0x0123456789abcdef), 0);

        ck_assert_int_eq(proto_decode_request(buf, len, &req, &why), 0);
        ck_assert_ptr_null(why);
        ck_assert_uint_eq(req.hdr.type, SHMB_MSG_RECLAIM);
        ck_assert_uint_eq(req.hdr.req_id, 2);
        ck_assert_uint_eq(req.reclaim.id, UINT64_C(0x0123456789abcdef));
        ck_assert_uint_eq(req.reclaim.flags, 0);
        len = encode(7, PROTO_RECLAIM_RDONLY);
        ck_assert_int_eq(proto_decode_request(buf, len, &req, &why), 0);
        ck_assert_uint_eq(req.reclaim.flags, PROTO_RECLAIM_RDONLY);
        ck_assert_str_eq(proto_type_name(SHMB_MSG_RECLAIM), "reclaim");
        ck_assert_str_eq(proto_type_name(SHMB_MSG_RECLAIM | SHMB_MSG_REPLY), "reclaim");
}
END_TEST

START_TEST(test_refusals) {
        const char *why;
        ProtoRequest req;
        size_t len;

        len = encode(5, 0);
        buf[26] = 1; /* reserved u16 */
        ck_assert_int_eq(decode(len, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "reserved fields must be zero");

        len = encode(5, 0);
        buf[31] = 1; /* reserved u32 */
        ck_assert_int_eq(decode(len, &req, &why), SHMB_STATUS_INVALID);

        len = encode(0, 0);
        ck_assert_int_eq(decode(len, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "segment id 0 does not exist");

        len = encode(5, 0x0002);
        ck_assert_int_eq(decode(len, &req, &why), SHMB_STATUS_UNSUPPORTED);
        ck_assert_str_eq(why, "unknown reclaim flags");

        len = encode(5, 0);
        ck_assert_int_eq(decode(len - 1, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "payload too short for this message type");
        ck_assert_int_eq(decode(SHMB_HEADER_SIZE, &req, &why), SHMB_STATUS_INVALID);

        len = encode(5, 0);
        buf[len] = 0;
        ck_assert_int_eq(decode(len + 1, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "payload longer than this message type");
}
END_TEST

static Suite *reclaim_suite(void) {
        Suite *s = suite_create("proto-reclaim");
        TCase *tc = tcase_create("reclaim");

        tcase_add_test(tc, test_layout);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_refusals);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(reclaim_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
