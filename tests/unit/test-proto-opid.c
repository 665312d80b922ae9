/*
 * Unit tests for protocol version 2 in the codec: the exact bytes of the
 * HELLO and of the requests with an operation id that PROTOCOL.md shows
 * (section 11.18), the round trip, every refusal of the decoder on version-1 and
 * version-2 connections, and proto_frame_request() for a request sent
 * again on a connection of another version.
 */

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/shmb-proto.h"

static uint8_t buf[SHMB_MSG_MAX];

static int decode2(size_t len, ProtoRequest *req, const char **why) {
        return proto_decode_request_version(buf, len, 2, req, why);
}

static size_t encode_unlink(const char *name, uint64_t op_id) {
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_name_request(&b, SHMB_MSG_UNLINK, 3, name);
        if (op_id)
                n = proto_add_op_id(&b, op_id);
        ck_assert_int_gt(n, 0);
        return (size_t)n;
}

static void set_len(size_t len) {
        buf[8] = (uint8_t)len;
        buf[9] = (uint8_t)(len >> 8);
}

START_TEST(test_hello_layout) {
        static const uint8_t expected[24] = {
                0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        };
        ProtoBuf b;

        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(proto_encode_hello(&b, 1, 1, 2), sizeof(expected));
        ck_assert_mem_eq(buf, expected, sizeof(expected));
}
END_TEST

START_TEST(test_create_layout) {
        /* PROTOCOL.md 11.18: CREATE "frames", 1 MiB, 0640, persistent, CREATE_EXCL, op id 0x5eed000000000001. */
        static const uint8_t expected[60] = {
                0x02, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x01, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00,
                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x66, 0x72,
                0x61, 0x6d, 0x65, 0x73, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xed, 0x5e,
        };
        const char *why = "unset";
        ProtoRequest req;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_create(&b, 2, "frames", 1 << 20, 0640, PROTO_LIFETIME_PERSISTENT, PROTO_BACKEND_DEFAULT,
                                PROTO_CREATE_EXCL);
        ck_assert_int_eq(n, 52);
        ck_assert_int_eq(proto_add_op_id(&b, UINT64_C(0x5eed000000000001)), sizeof(expected));
        ck_assert_mem_eq(buf, expected, sizeof(expected));
        ck_assert_int_eq(decode2(sizeof(expected), &req, &why), 0);
        ck_assert_ptr_null(why);
        ck_assert_uint_eq(req.op_id, UINT64_C(0x5eed000000000001));
        ck_assert_str_eq(req.create.name, "frames");
        ck_assert_uint_eq(req.create.size, 1 << 20);
        ck_assert_uint_eq(req.create.flags, PROTO_CREATE_EXCL);
        ck_assert_uint_eq(req.hdr.flags, SHMB_HDR_OP_ID);
        ck_assert_uint_eq(req.hdr.version, 2);
}
END_TEST

START_TEST(test_unlink_layout) {
        /* PROTOCOL.md 11.18: UNLINK "frames", op id 0x5eed000000000002. */
        static const uint8_t expected[32] = {
                0x02, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
                0x06, 0x00, 0x66, 0x72, 0x61, 0x6d, 0x65, 0x73, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xed, 0x5e,
        };
        const char *why;
        ProtoRequest req;

        ck_assert_uint_eq(encode_unlink("frames", UINT64_C(0x5eed000000000002)), sizeof(expected));
        ck_assert_mem_eq(buf, expected, sizeof(expected));
        ck_assert_int_eq(decode2(sizeof(expected), &req, &why), 0);
        ck_assert_str_eq(req.unlink.name, "frames");
        ck_assert_uint_eq(req.op_id, UINT64_C(0x5eed000000000002));
}
END_TEST

START_TEST(test_without_op_id) {
        const char *why;
        ProtoRequest req;
        size_t len = encode_unlink("a", 0);

        /* A version-2 request needs no operation id; its header says 2. */
        ck_assert_int_eq(proto_frame_request(buf, len, 2), (int)len);
        ck_assert_uint_eq(buf[0], 2);
        ck_assert_int_eq(decode2(len, &req, &why), 0);
        ck_assert_uint_eq(req.op_id, 0);
        /* Resize and publish take one too; the other requests do not. */
        ck_assert(proto_type_takes_op_id(SHMB_MSG_CREATE));
        ck_assert(proto_type_takes_op_id(SHMB_MSG_UNLINK));
        ck_assert(proto_type_takes_op_id(SHMB_MSG_RESIZE));
        ck_assert(proto_type_takes_op_id(SHMB_MSG_PUBLISH));
        for (uint16_t t = 0; t < 0x20; t++)
                if (t != SHMB_MSG_CREATE && t != SHMB_MSG_UNLINK && t != SHMB_MSG_RESIZE && t != SHMB_MSG_PUBLISH)
                        ck_assert(!proto_type_takes_op_id(t));
}
END_TEST

START_TEST(test_refusals) {
        const char *why;
        ProtoRequest req;
        ProtoBuf b;
        size_t len;

        /* Version 1 connection: the flag is a header flag like any other. */
        len = encode_unlink("a", 5);
        ck_assert_int_eq(proto_decode_request(buf, len, &req, &why), SHMB_STATUS_VERSION);
        ck_assert_str_eq(why, "message version is not the negotiated version 1");
        buf[0] = 1;
        ck_assert_int_eq(proto_decode_request(buf, len, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "header flags and status must be zero in requests");

        /* Version 2 connection: a version-1 header. */
        len = encode_unlink("a", 0);
        ck_assert_int_eq(decode2(len, &req, &why), SHMB_STATUS_VERSION);
        ck_assert_str_eq(why, "message version is not the negotiated version 2");

        /* Other flag bits, or a status. */
        len = encode_unlink("a", 5);
        buf[4] |= 0x02;
        ck_assert_int_eq(decode2(len, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "header status must be zero, and flags other than OP_ID (0x0001) too");
        len = encode_unlink("a", 5);
        buf[6] = 1;
        ck_assert_int_eq(decode2(len, &req, &why), SHMB_STATUS_INVALID);

        /* The flag on a request that takes no operation id. */
        proto_buf_init(&b, buf, sizeof(buf));
        len = (size_t)proto_encode_name_request(&b, SHMB_MSG_STAT, 3, "a");
        ck_assert_int_eq(proto_add_op_id(&b, 5), -EINVAL);
        buf[0] = 2;
        buf[4] = SHMB_HDR_OP_ID;
        memset(buf + len, 1, 8);
        set_len(len + 8);
        ck_assert_int_eq(decode2(len + 8, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "only CREATE, UNLINK, RESIZE and PUBLISH carry an operation id");

        /* Too short for it, and id 0. */
        len = encode_unlink("a", 5);
        set_len(SHMB_HEADER_SIZE + 7);
        ck_assert_int_eq(decode2(SHMB_HEADER_SIZE + 7, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "datagram too short for the operation id");
        len = encode_unlink("a", 5);
        memset(buf + len - 8, 0, 8);
        ck_assert_int_eq(decode2(len, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "operation id 0 is not allowed");

        /* The payload before it is checked as ever: one byte missing is one byte missing. */
        len = encode_unlink("ab", 5);
        memmove(buf + len - 9, buf + len - 8, 8);
        set_len(len - 1);
        ck_assert_int_eq(decode2(len - 1, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_str_eq(why, "payload too short for the name");

        /* HELLO never carries one, whatever the version. */
        proto_buf_init(&b, buf, sizeof(buf));
        len = (size_t)proto_encode_hello(&b, 1, 1, 2);
        buf[4] = SHMB_HDR_OP_ID;
        ck_assert_int_eq(decode2(len, &req, &why), SHMB_STATUS_INVALID);
        ck_assert_int_eq(proto_decode_request(buf, len, &req, &why), SHMB_STATUS_INVALID);
}
END_TEST

START_TEST(test_add_op_id_refusals) {
        ProtoBuf b;

        encode_unlink("a", 0);
        proto_buf_init(&b, buf, sizeof(buf));
        b.len = 20;
        ck_assert_int_eq(proto_add_op_id(&b, 1), -EINVAL); /* length field disagrees */
        proto_buf_init(&b, buf, sizeof(buf));
        b.len = (size_t)proto_encode_name_request(&b, SHMB_MSG_UNLINK, 3, "a");
        ck_assert_int_eq(proto_add_op_id(&b, 0), -EINVAL);
        ck_assert_int_eq(proto_add_op_id(&b, 1), 27);
        ck_assert_int_eq(proto_add_op_id(&b, 2), -EINVAL); /* one id per request */
        proto_buf_init(&b, buf, 26);
        b.len = (size_t)proto_encode_name_request(&b, SHMB_MSG_UNLINK, 3, "a");
        ck_assert_int_eq(proto_add_op_id(&b, 1), -EMSGSIZE);
}
END_TEST

START_TEST(test_frame_for_version_1) {
        const char *why;
        ProtoRequest req;
        size_t len = encode_unlink("name", 7);
        int n;

        /* Sent again to a daemon of version 1: the id goes, the request stays. */
        n = proto_frame_request(buf, len, 1);
        ck_assert_int_eq(n, (int)len - 8);
        ck_assert_int_eq(proto_decode_request(buf, (size_t)n, &req, &why), 0);
        ck_assert_str_eq(req.unlink.name, "name");
        ck_assert_uint_eq(req.hdr.flags, 0);
        /* Framed for version 2 again it stays without. */
        ck_assert_int_eq(proto_frame_request(buf, (size_t)n, 2), n);
        ck_assert_int_eq(decode2((size_t)n, &req, &why), 0);
        ck_assert_uint_eq(req.op_id, 0);
        /* Not a request. */
        ck_assert_int_eq(proto_frame_request(buf, 10, 1), -EINVAL);
        buf[3] |= 0x80;
        ck_assert_int_eq(proto_frame_request(buf, (size_t)n, 1), -EINVAL);
}
END_TEST

static Suite *opid_suite(void) {
        Suite *s = suite_create("proto-opid");
        TCase *tc = tcase_create("opid");

        tcase_add_test(tc, test_hello_layout);
        tcase_add_test(tc, test_create_layout);
        tcase_add_test(tc, test_unlink_layout);
        tcase_add_test(tc, test_without_op_id);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_add_op_id_refusals);
        tcase_add_test(tc, test_frame_for_version_1);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(opid_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
