/*
 * Unit tests for the protocol codec (protocol/proto.c): round trips of every
 * request and reply, the exact little-endian layout, and the status the
 * request decoder gives for every kind of malformed datagram.
 */

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "protocol/shmb-proto.h"
#include "util/macro.h"

static uint8_t buf[SHMB_MSG_MAX + 64];

/* ---------------------------------------------------------------- helpers -- */

static void le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void le32(uint8_t *p, uint32_t v) {
        le16(p, (uint16_t)v);
        le16(p + 2, (uint16_t)(v >> 16));
}

static void le64(uint8_t *p, uint64_t v) {
        le32(p, (uint32_t)v);
        le32(p + 4, (uint32_t)(v >> 32));
}

/* Make the header's length field agree with @len. */
static void fix_length(uint8_t *msg, size_t len) {
        le32(msg + 8, (uint32_t)len);
}

static size_t encode_create(uint8_t *out, const char *name, uint64_t size, uint32_t mode, uint8_t lifetime,
                            uint8_t backend, uint16_t flags) {
        ProtoBuf b;
        int n;

        proto_buf_init(&b, out, SHMB_MSG_MAX);
        n = proto_encode_create(&b, 7, name, size, mode, lifetime, backend, flags);
        ck_assert_int_gt(n, 0);
        return (size_t)n;
}

static size_t encode_open(uint8_t *out, const char *name, uint16_t flags) {
        ProtoBuf b;
        int n;

        proto_buf_init(&b, out, SHMB_MSG_MAX);
        n = proto_encode_open(&b, 8, name, flags);
        ck_assert_int_gt(n, 0);
        return (size_t)n;
}

static size_t encode_name(uint8_t *out, uint16_t type, const char *name) {
        ProtoBuf b;
        int n;

        proto_buf_init(&b, out, SHMB_MSG_MAX);
        n = proto_encode_name_request(&b, type, 9, name);
        ck_assert_int_gt(n, 0);
        return (size_t)n;
}

static size_t encode_hello(uint8_t *out, uint16_t min, uint16_t max) {
        ProtoBuf b;
        int n;

        proto_buf_init(&b, out, SHMB_MSG_MAX);
        n = proto_encode_hello(&b, 1, min, max);
        ck_assert_int_gt(n, 0);
        return (size_t)n;
}

static size_t encode_release(uint8_t *out, uint64_t id) {
        ProtoBuf b;
        int n;

        proto_buf_init(&b, out, SHMB_MSG_MAX);
        n = proto_encode_release(&b, 10, id);
        ck_assert_int_gt(n, 0);
        return (size_t)n;
}

static size_t encode_list(uint8_t *out, uint64_t after, uint32_t max) {
        ProtoBuf b;
        int n;

        proto_buf_init(&b, out, SHMB_MSG_MAX);
        n = proto_encode_list(&b, 11, after, max);
        ck_assert_int_gt(n, 0);
        return (size_t)n;
}

/* One valid message of @type, for the tests that apply to every type. */
static size_t encode_valid(uint8_t *out, uint16_t type) {
        switch (type) {
        case SHMB_MSG_HELLO:
                return encode_hello(out, 1, 1);
        case SHMB_MSG_CREATE:
                return encode_create(out, "seg", 4096, 0600, PROTO_LIFETIME_HOLDERS, PROTO_BACKEND_DEFAULT, 0);
        case SHMB_MSG_OPEN:
                return encode_open(out, "seg", 0);
        case SHMB_MSG_RELEASE:
                return encode_release(out, 1);
        case SHMB_MSG_UNLINK:
        case SHMB_MSG_STAT:
                return encode_name(out, type, "seg");
        case SHMB_MSG_LIST:
                return encode_list(out, 0, 0);
        }
        ck_abort_msg("no encoder for type %u", type);
        return 0;
}

static const uint16_t request_types[] = {
        SHMB_MSG_HELLO, SHMB_MSG_CREATE, SHMB_MSG_OPEN, SHMB_MSG_RELEASE,
        SHMB_MSG_UNLINK, SHMB_MSG_STAT, SHMB_MSG_LIST,
};

#define assert_decodes(msg, len, req) assert_decodes_at(__LINE__, msg, len, req)
static void assert_decodes_at(int line, const uint8_t *msg, size_t len, ProtoRequest *req) {
        const char *why = "not touched";
        int s = proto_decode_request(msg, len, req, &why);

        ck_assert_msg(s == 0, "line %d: valid request refused: %s (%s)", line, proto_status_name(s),
                      why ? why : "(no reason)");
        ck_assert_msg(why == NULL, "line %d: ret_why not cleared on success", line);
}

/* The request decoder must give exactly @status, and say why. */
#define assert_refused(msg, len, status) assert_refused_at(__LINE__, msg, len, status)
static void assert_refused_at(int line, const uint8_t *msg, size_t len, int status) {
        ProtoRequest req;
        const char *why = NULL;
        int s = proto_decode_request(msg, len, &req, &why);

        ck_assert_msg(s == status, "line %d: decoding %zu bytes gave %s (%d, \"%s\"), expected %s (%d)", line, len,
                      proto_status_name(s), s, why ? why : "", proto_status_name(status), status);
        ck_assert_msg(why != NULL, "line %d: status %s without ret_why", line, proto_status_name(s));
        ck_assert_msg(why[0] != 0, "line %d: empty ret_why", line);
}

/* Build a message by hand: header + @payload, length filled in. */
static size_t build(uint8_t *out, uint16_t version, uint16_t type, const void *payload, size_t plen) {
        memset(out, 0, SHMB_HEADER_SIZE);
        le16(out, version);
        le16(out + 2, type);
        le32(out + 12, 0xabcd);
        if (plen > 0)
                memcpy(out + SHMB_HEADER_SIZE, payload, plen);
        fix_length(out, SHMB_HEADER_SIZE + plen);
        return SHMB_HEADER_SIZE + plen;
}

/* A CREATE with a raw name field (length @name_len, then @name_bytes bytes of @name). */
static size_t build_create_raw(uint8_t *out, uint16_t name_len, const void *name, size_t name_bytes) {
        uint8_t p[SHMB_CREATE_FIXED + 2 + 512];

        ck_assert_uint_le(name_bytes, 512);
        memset(p, 0, sizeof(p));
        le64(p, 4096);
        le32(p + 8, 0600);
        le16(p + SHMB_CREATE_FIXED, name_len);
        memcpy(p + SHMB_CREATE_FIXED + 2, name, name_bytes);
        return build(out, 1, SHMB_MSG_CREATE, p, SHMB_CREATE_FIXED + 2 + name_bytes);
}

static void seginfo_example(ProtoSegInfo *si, uint64_t id, const char *name) {
        memset(si, 0, sizeof(*si));
        si->id = id;
        si->size = UINT64_C(0x0123456789abcdef);
        si->uid = 1000;
        si->gid = 0xfffffffe;
        si->mode = 0640;
        si->holders = 3;
        si->backend = PROTO_BACKEND_MEMFD;
        si->lifetime = PROTO_LIFETIME_CREATOR;
        si->flags = PROTO_SEG_READONLY | PROTO_SEG_CREATED;
        si->shmid = -1;
        si->ttl_sec = 0;
        si->created_usec = UINT64_C(1700000000123456);
        snprintf(si->name, sizeof(si->name), "%s", name);
}

static void assert_seginfo_eq(const ProtoSegInfo *a, const ProtoSegInfo *b) {
        ck_assert_uint_eq(a->id, b->id);
        ck_assert_uint_eq(a->size, b->size);
        ck_assert_uint_eq(a->uid, b->uid);
        ck_assert_uint_eq(a->gid, b->gid);
        ck_assert_uint_eq(a->mode, b->mode);
        ck_assert_uint_eq(a->holders, b->holders);
        ck_assert_uint_eq(a->backend, b->backend);
        ck_assert_uint_eq(a->lifetime, b->lifetime);
        ck_assert_uint_eq(a->flags, b->flags);
        ck_assert_int_eq(a->shmid, b->shmid);
        ck_assert_uint_eq(a->ttl_sec, b->ttl_sec);
        ck_assert_uint_eq(a->created_usec, b->created_usec);
        ck_assert_str_eq(a->name, b->name);
}

/* --------------------------------------------------------- request round -- */

START_TEST(test_roundtrip_hello) {
        ProtoRequest req;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_hello(&b, 0xdeadbeef, 1, 3);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_HELLO_SIZE);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.hdr.type, SHMB_MSG_HELLO);
        /* The header of a HELLO carries the highest version the client speaks. */
        ck_assert_uint_eq(req.hdr.version, 3);
        ck_assert_uint_eq(req.hdr.flags, 0);
        ck_assert_uint_eq(req.hdr.status, 0);
        ck_assert_uint_eq(req.hdr.length, (uint32_t)n);
        ck_assert_uint_eq(req.hdr.req_id, 0xdeadbeef);
        ck_assert_uint_eq(req.hello.min_version, 1);
        ck_assert_uint_eq(req.hello.max_version, 3);

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_hello(&b, 0, 1, 1);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.hdr.version, 1);
        ck_assert_uint_eq(req.hello.min_version, 1);
        ck_assert_uint_eq(req.hello.max_version, 1);
}
END_TEST

START_TEST(test_roundtrip_create) {
        ProtoRequest req;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_create(&b, 42, "My_seg-1.data", UINT64_C(1) << 40, 0640, PROTO_LIFETIME_PERSISTENT,
                                PROTO_BACKEND_MEMFD, PROTO_CREATE_EXCL);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_CREATE_FIXED + 2 + 13);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.hdr.version, SHMB_PROTO_VERSION);
        ck_assert_uint_eq(req.hdr.type, SHMB_MSG_CREATE);
        ck_assert_uint_eq(req.hdr.req_id, 42);
        ck_assert_uint_eq(req.hdr.length, (uint32_t)n);
        ck_assert_uint_eq(req.create.size, UINT64_C(1) << 40);
        ck_assert_uint_eq(req.create.mode, 0640);
        ck_assert_uint_eq(req.create.lifetime, PROTO_LIFETIME_PERSISTENT);
        ck_assert_uint_eq(req.create.backend, PROTO_BACKEND_MEMFD);
        ck_assert_uint_eq(req.create.flags, PROTO_CREATE_EXCL);
        ck_assert_str_eq(req.create.name, "My_seg-1.data");

        /* Extremes that are still valid. */
        n = (int)encode_create(buf, "x", UINT64_MAX, 0777, PROTO_LIFETIME_PERSISTENT, PROTO_BACKEND_FILE, 0);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.create.size, UINT64_MAX);
        ck_assert_uint_eq(req.create.mode, 0777);
        ck_assert_uint_eq(req.create.backend, PROTO_BACKEND_FILE);
        ck_assert_uint_eq(req.create.flags, 0);
        ck_assert_str_eq(req.create.name, "x");

        n = (int)encode_create(buf, "y", 1, 0, PROTO_LIFETIME_HOLDERS, PROTO_BACKEND_DEFAULT, 0);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.create.size, 1);
        ck_assert_uint_eq(req.create.mode, 0);
        ck_assert_uint_eq(req.create.lifetime, PROTO_LIFETIME_HOLDERS);
}
END_TEST

START_TEST(test_roundtrip_open) {
        ProtoRequest req;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_open(&b, 0x01020304, "camera.frames", PROTO_OPEN_RDONLY);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_OPEN_FIXED + 2 + 13);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.hdr.type, SHMB_MSG_OPEN);
        ck_assert_uint_eq(req.hdr.req_id, 0x01020304);
        ck_assert_uint_eq(req.open.flags, PROTO_OPEN_RDONLY);
        ck_assert_str_eq(req.open.name, "camera.frames");

        n = (int)encode_open(buf, "rw", 0);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.open.flags, 0);
        ck_assert_str_eq(req.open.name, "rw");
}
END_TEST

START_TEST(test_roundtrip_release) {
        ProtoRequest req;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_release(&b, 99, UINT64_C(0xfedcba9876543210));
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_RELEASE_SIZE);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.hdr.type, SHMB_MSG_RELEASE);
        ck_assert_uint_eq(req.hdr.req_id, 99);
        ck_assert_uint_eq(req.release.id, UINT64_C(0xfedcba9876543210));
}
END_TEST

START_TEST(test_roundtrip_unlink_stat) {
        ProtoRequest req;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_name_request(&b, SHMB_MSG_UNLINK, 5, "gone-soon");
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + 2 + 9);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.hdr.type, SHMB_MSG_UNLINK);
        ck_assert_uint_eq(req.hdr.req_id, 5);
        ck_assert_str_eq(req.unlink.name, "gone-soon");

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_name_request(&b, SHMB_MSG_STAT, 6, "look_at.me");
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.hdr.type, SHMB_MSG_STAT);
        ck_assert_uint_eq(req.hdr.req_id, 6);
        ck_assert_str_eq(req.stat.name, "look_at.me");
}
END_TEST

START_TEST(test_roundtrip_list) {
        ProtoRequest req;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_list(&b, 12, UINT64_C(0x1122334455667788), 0x99aabbcc);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_LIST_SIZE);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.hdr.type, SHMB_MSG_LIST);
        ck_assert_uint_eq(req.hdr.req_id, 12);
        ck_assert_uint_eq(req.list.after_id, UINT64_C(0x1122334455667788));
        ck_assert_uint_eq(req.list.max_entries, 0x99aabbcc);

        n = (int)encode_list(buf, 0, 0);
        assert_decodes(buf, (size_t)n, &req);
        ck_assert_uint_eq(req.list.after_id, 0);
        ck_assert_uint_eq(req.list.max_entries, 0);
}
END_TEST

START_TEST(test_roundtrip_name_255) {
        char name[SHMB_NAME_MAX + 1];
        ProtoRequest req;
        size_t n;

        memset(name, 'a', SHMB_NAME_MAX);
        name[SHMB_NAME_MAX] = 0;
        name[100] = '.';
        name[200] = '-';
        name[254] = '9';
        n = encode_create(buf, name, 1, 0600, 0, 0, 0);
        assert_decodes(buf, n, &req);
        ck_assert_str_eq(req.create.name, name);
        n = encode_open(buf, name, 0);
        assert_decodes(buf, n, &req);
        ck_assert_str_eq(req.open.name, name);
        n = encode_name(buf, SHMB_MSG_UNLINK, name);
        assert_decodes(buf, n, &req);
        ck_assert_str_eq(req.unlink.name, name);
        n = encode_name(buf, SHMB_MSG_STAT, name);
        assert_decodes(buf, n, &req);
        ck_assert_str_eq(req.stat.name, name);
}
END_TEST

START_TEST(test_create_bytes) {
        static const uint8_t expected[] = {
                /* header: version 1, type CREATE, flags 0, status 0, length 40, req_id 0x11223344 */
                0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x28, 0x00, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11,
                /* size 0x0102030405060708 */
                0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                /* mode 0640 = 0x1a0 */
                0xa0, 0x01, 0x00, 0x00,
                /* lifetime PERSISTENT, backend MEMFD, flags EXCL */
                0x02, 0x01, 0x01, 0x00,
                /* reserved */
                0x00, 0x00, 0x00, 0x00,
                /* name: length 2, "ab" */
                0x02, 0x00, 'a', 'b',
        };
        ProtoBuf b;
        int n;

        memset(buf, 0xee, 64);
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_create(&b, 0x11223344, "ab", UINT64_C(0x0102030405060708), 0640,
                                PROTO_LIFETIME_PERSISTENT, PROTO_BACKEND_MEMFD, PROTO_CREATE_EXCL);
        ck_assert_int_eq(n, (int)sizeof(expected));
        ck_assert_mem_eq(buf, expected, sizeof(expected));
        /* Nothing written past the message. */
        ck_assert_uint_eq(buf[sizeof(expected)], 0xee);
}
END_TEST

START_TEST(test_other_bytes) {
        static const uint8_t hello[] = {
                0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
        };
        static const uint8_t release[] = {
                0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
                0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
        };
        static const uint8_t error[] = {
                0x01, 0x00, 0x03, 0x80, 0x00, 0x00, 0x03, 0x00, 0x15, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
                0x03, 0x00, 'n', 'o', '!',
        };
        ProtoBuf b;

        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(proto_encode_hello(&b, 1, 1, 3), (int)sizeof(hello));
        ck_assert_mem_eq(buf, hello, sizeof(hello));
        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(proto_encode_release(&b, 2, UINT64_C(0x0123456789abcdef)), (int)sizeof(release));
        ck_assert_mem_eq(buf, release, sizeof(release));
        proto_buf_init(&b, buf, sizeof(buf));
        ck_assert_int_eq(proto_encode_error(&b, SHMB_MSG_OPEN, SHMB_STATUS_NOT_FOUND, 4, "no!"), (int)sizeof(error));
        ck_assert_mem_eq(buf, error, sizeof(error));
}
END_TEST

/* ----------------------------------------------------------- reply round -- */

START_TEST(test_roundtrip_hello_reply) {
        ProtoHelloReply in = {
                .version = 1,
                .max_message = SHMB_MSG_MAX,
                .max_name = SHMB_NAME_MAX,
                .uid = 1000,
                .gid = 0xffffffff,
                .pid = 4242,
                .server = "shmbrokerd 0.1",
        }, out;
        ProtoHeader h;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_hello_reply(&b, 77, &in);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_HELLO_REPLY_FIXED + 2 + 14);
        ck_assert_int_eq(proto_decode_header(buf, (size_t)n, &h), 0);
        ck_assert_uint_eq(h.type, SHMB_MSG_HELLO | SHMB_MSG_REPLY);
        ck_assert_uint_eq(h.status, 0);
        ck_assert_uint_eq(h.req_id, 77);
        ck_assert_uint_eq(h.length, (uint32_t)n);

        memset(&out, 0x55, sizeof(out));
        ck_assert_int_eq(proto_decode_hello_reply(buf, (size_t)n, &out), 0);
        ck_assert_uint_eq(out.version, 1);
        ck_assert_uint_eq(out.max_message, SHMB_MSG_MAX);
        ck_assert_uint_eq(out.max_name, SHMB_NAME_MAX);
        ck_assert_uint_eq(out.uid, 1000);
        ck_assert_uint_eq(out.gid, 0xffffffff);
        ck_assert_uint_eq(out.pid, 4242);
        ck_assert_str_eq(out.server, "shmbrokerd 0.1");

        /* Truncated or extended replies are refused. */
        for (size_t len = SHMB_HEADER_SIZE; len < (size_t)n; len++)
                ck_assert_int_eq(proto_decode_hello_reply(buf, len, &out), -EBADMSG);
        buf[n] = 0;
        ck_assert_int_eq(proto_decode_hello_reply(buf, (size_t)n + 1, &out), -EBADMSG);
}
END_TEST

START_TEST(test_hello_reply_long_server) {
        ProtoHelloReply in = { .version = 1 }, out;
        ProtoBuf b;
        int n;

        /* The version string is cut to SHMB_VERSION_TEXT_MAX bytes and still decodes. */
        memset(in.server, 'v', sizeof(in.server) - 1);
        in.server[sizeof(in.server) - 1] = 0;
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_hello_reply(&b, 1, &in);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_HELLO_REPLY_FIXED + 2 + SHMB_VERSION_TEXT_MAX);
        ck_assert_int_eq(proto_decode_hello_reply(buf, (size_t)n, &out), 0);
        ck_assert_uint_eq(strlen(out.server), SHMB_VERSION_TEXT_MAX);

        /* A server string longer than the reader's buffer is malformed. */
        le16(buf + SHMB_HEADER_SIZE + SHMB_HELLO_REPLY_FIXED, SHMB_VERSION_TEXT_MAX + 1);
        memset(buf + n, 'v', 1);
        ck_assert_int_eq(proto_decode_hello_reply(buf, (size_t)n + 1, &out), -EBADMSG);
}
END_TEST

START_TEST(test_roundtrip_seginfo_reply) {
        ProtoSegInfo in, out;
        ProtoHeader h;
        ProtoBuf b;
        int n;

        seginfo_example(&in, 12345, "frames.0");
        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_MSG_CREATE | SHMB_MSG_REPLY, 0, 31);
        proto_put_seginfo(&b, &in);
        n = proto_finish(&b);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_SEGINFO_FIXED + 2 + 8);
        ck_assert_int_eq(proto_decode_header(buf, (size_t)n, &h), 0);
        ck_assert_uint_eq(h.type, SHMB_MSG_CREATE | SHMB_MSG_REPLY);
        ck_assert_uint_eq(h.req_id, 31);

        memset(&out, 0x55, sizeof(out));
        ck_assert_int_eq(proto_decode_seginfo_reply(buf, (size_t)n, &out), 0);
        assert_seginfo_eq(&out, &in);

        /* System V ids and a full-length name survive too. */
        in.shmid = 0x7fff0001;
        in.backend = PROTO_BACKEND_SYSV;
        in.flags = PROTO_SEG_UNLINKED;
        in.ttl_sec = 60;
        memset(in.name, 'N', SHMB_NAME_MAX);
        in.name[SHMB_NAME_MAX] = 0;
        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_MSG_STAT | SHMB_MSG_REPLY, 0, 32);
        proto_put_seginfo(&b, &in);
        n = proto_finish(&b);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_SEGINFO_FIXED + 2 + SHMB_NAME_MAX);
        ck_assert_int_eq(proto_decode_seginfo_reply(buf, (size_t)n, &out), 0);
        assert_seginfo_eq(&out, &in);

        /* Trailing bytes after the record are refused. */
        buf[n] = 0;
        ck_assert_int_eq(proto_decode_seginfo_reply(buf, (size_t)n + 1, &out), -EBADMSG);
}
END_TEST

START_TEST(test_roundtrip_list_reply) {
        static const char *const names[] = { "first", "second.seg", "3", "fourth_with-a-longer.name" };
        ProtoSegInfo in[ELEMENTSOF(names)], out;
        uint32_t count, flags;
        uint64_t next;
        size_t off;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_MSG_LIST | SHMB_MSG_REPLY, 0, 50);
        proto_put_u32(&b, ELEMENTSOF(names));
        proto_put_u32(&b, SHMB_LIST_MORE);
        proto_put_u64(&b, 400);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                seginfo_example(&in[i], 100 * (i + 1), names[i]);
                in[i].holders = (uint32_t)i;
                in[i].shmid = (int32_t)i - 1;
                proto_put_seginfo(&b, &in[i]);
        }
        n = proto_finish(&b);
        ck_assert_int_gt(n, 0);

        ck_assert_int_eq(proto_decode_list_reply(buf, (size_t)n, &count, &flags, &next, &off), 0);
        ck_assert_uint_eq(count, ELEMENTSOF(names));
        ck_assert_uint_eq(flags, SHMB_LIST_MORE);
        ck_assert_uint_eq(next, 400);
        ck_assert_uint_eq(off, SHMB_HEADER_SIZE + SHMB_LIST_REPLY_FIXED);
        for (size_t i = 0; i < count; i++) {
                memset(&out, 0x55, sizeof(out));
                ck_assert_int_eq(proto_decode_seginfo_at(buf, (size_t)n, &off, &out), 0);
                assert_seginfo_eq(&out, &in[i]);
        }
        ck_assert_uint_eq(off, (size_t)n);

        /* An empty list. */
        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_MSG_LIST | SHMB_MSG_REPLY, 0, 51);
        proto_put_u32(&b, 0);
        proto_put_u32(&b, 0);
        proto_put_u64(&b, 0);
        n = proto_finish(&b);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + SHMB_LIST_REPLY_FIXED);
        ck_assert_int_eq(proto_decode_list_reply(buf, (size_t)n, &count, &flags, &next, &off), 0);
        ck_assert_uint_eq(count, 0);
        ck_assert_uint_eq(flags, 0);
        ck_assert_uint_eq(off, (size_t)n);
}
END_TEST

static size_t build_list_reply(uint32_t count, size_t records) {
        ProtoSegInfo si;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_MSG_LIST | SHMB_MSG_REPLY, 0, 1);
        proto_put_u32(&b, count);
        proto_put_u32(&b, 0);
        proto_put_u64(&b, 0);
        for (size_t i = 0; i < records; i++) {
                seginfo_example(&si, i + 1, "a");
                proto_put_seginfo(&b, &si);
        }
        n = proto_finish(&b);
        ck_assert_int_gt(n, 0);
        return (size_t)n;
}

START_TEST(test_list_reply_count_too_large) {
        uint32_t count = 0, flags = 0;
        uint64_t next = 0;
        size_t off = 0, len;

        /* Records of minimal size (1-byte names) exactly fill the datagram. */
        len = build_list_reply(3, 3);
        ck_assert_uint_eq(len, SHMB_HEADER_SIZE + SHMB_LIST_REPLY_FIXED + 3 * (SHMB_SEGINFO_FIXED + 2 + 1));
        ck_assert_int_eq(proto_decode_list_reply(buf, len, &count, &flags, &next, &off), 0);
        ck_assert_uint_eq(count, 3);

        /* One more record claimed than the bytes can hold. */
        len = build_list_reply(4, 3);
        ck_assert_int_eq(proto_decode_list_reply(buf, len, &count, &flags, &next, &off), -EBADMSG);
        /* One byte short of the last minimal record. */
        len = build_list_reply(3, 3);
        ck_assert_int_eq(proto_decode_list_reply(buf, len - 1, &count, &flags, &next, &off), -EBADMSG);
        len = build_list_reply(UINT32_MAX, 3);
        ck_assert_int_eq(proto_decode_list_reply(buf, len, &count, &flags, &next, &off), -EBADMSG);
        len = build_list_reply(1, 0);
        ck_assert_int_eq(proto_decode_list_reply(buf, len, &count, &flags, &next, &off), -EBADMSG);

        /* The fixed part itself truncated. */
        len = build_list_reply(0, 0);
        for (size_t l = SHMB_HEADER_SIZE; l < len; l++)
                ck_assert_int_eq(proto_decode_list_reply(buf, l, &count, &flags, &next, &off), -EBADMSG);
}
END_TEST

START_TEST(test_seginfo_at_truncated) {
        ProtoSegInfo in, out;
        ProtoBuf b;
        size_t off, start = 10, end;

        seginfo_example(&in, 5, "trunc");
        memset(buf, 0, 64);
        proto_buf_init(&b, buf, sizeof(buf));
        b.len = start;
        proto_put_seginfo(&b, &in);
        ck_assert(!b.overflow);
        end = b.len;
        ck_assert_uint_eq(end - start, SHMB_SEGINFO_FIXED + 2 + 5);

        off = start;
        ck_assert_int_eq(proto_decode_seginfo_at(buf, end, &off, &out), 0);
        ck_assert_uint_eq(off, end);
        assert_seginfo_eq(&out, &in);

        for (size_t len = start; len < end; len++) {
                off = start;
                ck_assert_int_eq(proto_decode_seginfo_at(buf, len, &off, &out), -EBADMSG);
                /* The offset is only advanced on success. */
                ck_assert_uint_eq(off, start);
        }
}
END_TEST

START_TEST(test_seginfo_at_bad_name) {
        static const char *const bad[] = { "", ".hidden", "-opt", "a/b", "a b" };
        ProtoSegInfo in, out;
        ProtoBuf b;
        size_t off;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                seginfo_example(&in, 1, bad[i]);
                proto_buf_init(&b, buf, sizeof(buf));
                proto_put_seginfo(&b, &in);
                off = 0;
                ck_assert_msg(proto_decode_seginfo_at(buf, b.len, &off, &out) == -EBADMSG, "name \"%s\" accepted",
                              bad[i]);
                ck_assert_uint_eq(off, 0);
        }

        /* A name length above SHMB_NAME_MAX. */
        seginfo_example(&in, 1, "ok");
        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_seginfo(&b, &in);
        le16(buf + SHMB_SEGINFO_FIXED, SHMB_NAME_MAX + 1);
        memset(buf + SHMB_SEGINFO_FIXED + 2, 'a', SHMB_NAME_MAX + 1);
        off = 0;
        ck_assert_int_eq(proto_decode_seginfo_at(buf, SHMB_SEGINFO_FIXED + 2 + SHMB_NAME_MAX + 1, &off, &out),
                         -EBADMSG);
}
END_TEST

START_TEST(test_roundtrip_error) {
        char text[SHMB_ERROR_TEXT_MAX + 1];
        ProtoHeader h;
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_error(&b, SHMB_MSG_OPEN, SHMB_STATUS_NOT_FOUND, 1234, "no segment 'x'");
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + 2 + 14);
        ck_assert_int_eq(proto_decode_header(buf, (size_t)n, &h), 0);
        ck_assert_uint_eq(h.version, SHMB_PROTO_VERSION);
        ck_assert_uint_eq(h.type, SHMB_MSG_OPEN | SHMB_MSG_REPLY);
        ck_assert_uint_eq(h.status, SHMB_STATUS_NOT_FOUND);
        ck_assert_uint_eq(h.req_id, 1234);
        ck_assert_int_eq(proto_decode_error_text(buf, (size_t)n, text, sizeof(text)), 0);
        ck_assert_str_eq(text, "no segment 'x'");

        /* The caller's buffer bounds the copy. */
        ck_assert_int_eq(proto_decode_error_text(buf, (size_t)n, text, 5), 0);
        ck_assert_str_eq(text, "no s");
        ck_assert_int_eq(proto_decode_error_text(buf, (size_t)n, text, 1), 0);
        ck_assert_str_eq(text, "");
        ck_assert_int_eq(proto_decode_error_text(buf, (size_t)n, text, 0), -EINVAL);

        /* An empty text. */
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_error(&b, SHMB_MSG_LIST, SHMB_STATUS_INTERNAL, 1, "");
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + 2);
        strcpy(text, "junk");
        ck_assert_int_eq(proto_decode_error_text(buf, (size_t)n, text, sizeof(text)), 0);
        ck_assert_str_eq(text, "");
}
END_TEST

START_TEST(test_error_text_limits) {
        static char longtext[3000];
        static char text[sizeof(longtext)];
        ProtoBuf b;
        int n;

        /* Text is cut to SHMB_ERROR_TEXT_MAX bytes when encoding. */
        memset(longtext, 'e', sizeof(longtext) - 1);
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_error(&b, SHMB_MSG_CREATE, SHMB_STATUS_QUOTA, 1, longtext);
        ck_assert_int_eq(n, SHMB_HEADER_SIZE + 2 + SHMB_ERROR_TEXT_MAX);
        ck_assert_int_eq(proto_decode_error_text(buf, (size_t)n, text, sizeof(text)), 0);
        ck_assert_uint_eq(strlen(text), SHMB_ERROR_TEXT_MAX);

        /* Malformed: truncated, too long, or a length past the end; text comes back empty. */
        for (size_t len = SHMB_HEADER_SIZE; len < (size_t)n; len++) {
                strcpy(text, "junk");
                ck_assert_int_eq(proto_decode_error_text(buf, len, text, sizeof(text)), -EBADMSG);
                ck_assert_str_eq(text, "");
        }
        ck_assert_int_eq(proto_decode_error_text(buf, (size_t)n + 1, text, sizeof(text)), -EBADMSG);
        le16(buf + SHMB_HEADER_SIZE, 0xffff);
        ck_assert_int_eq(proto_decode_error_text(buf, (size_t)n, text, sizeof(text)), -EBADMSG);
}
END_TEST

/* ---------------------------------------------------------------- header -- */

START_TEST(test_short_datagram) {
        uint8_t msg[SHMB_HEADER_SIZE];
        size_t full = encode_release(buf, 1);
        ProtoHeader h;

        for (size_t len = 0; len < SHMB_HEADER_SIZE; len++) {
                /* With the length field patched to match, as far as it exists. */
                memcpy(msg, buf, sizeof(msg));
                if (len >= 12)
                        fix_length(msg, len);
                assert_refused(msg, len, SHMB_STATUS_INVALID);
                ck_assert_int_eq(proto_decode_header(msg, len, &h), SHMB_STATUS_INVALID);
        }
        ck_assert_uint_eq(full, SHMB_HEADER_SIZE + SHMB_RELEASE_SIZE);
        assert_refused(buf, 0, SHMB_STATUS_INVALID);
}
END_TEST

START_TEST(test_length_mismatch) {
        for (size_t i = 0; i < ELEMENTSOF(request_types); i++) {
                size_t len = encode_valid(buf, request_types[i]);
                ProtoHeader h;

                ck_assert_int_eq(proto_decode_header(buf, len, &h), 0);
                /* The length field claims more than arrived ... */
                fix_length(buf, len + 1);
                assert_refused(buf, len, SHMB_STATUS_INVALID);
                ck_assert_int_eq(proto_decode_header(buf, len, &h), SHMB_STATUS_INVALID);
                fix_length(buf, 0xffffffff);
                assert_refused(buf, len, SHMB_STATUS_INVALID);
                /* ... or less. */
                fix_length(buf, len - 1);
                assert_refused(buf, len, SHMB_STATUS_INVALID);
                fix_length(buf, SHMB_HEADER_SIZE);
                assert_refused(buf, len, SHMB_STATUS_INVALID);
                fix_length(buf, 0);
                assert_refused(buf, len, SHMB_STATUS_INVALID);
                /* Datagram longer than the length field says (field unchanged). */
                fix_length(buf, len);
                buf[len] = 0;
                assert_refused(buf, len + 1, SHMB_STATUS_INVALID);
                /* ... or shorter. */
                assert_refused(buf, len - 1, SHMB_STATUS_INVALID);
        }
}
END_TEST

START_TEST(test_reply_bit) {
        for (size_t i = 0; i < ELEMENTSOF(request_types); i++) {
                size_t len = encode_valid(buf, request_types[i]);

                le16(buf + 2, request_types[i] | SHMB_MSG_REPLY);
                assert_refused(buf, len, SHMB_STATUS_INVALID);
        }
        /* Even with an unknown type under it. */
        encode_valid(buf, SHMB_MSG_RELEASE);
        le16(buf + 2, 0xffff);
        assert_refused(buf, SHMB_HEADER_SIZE + SHMB_RELEASE_SIZE, SHMB_STATUS_INVALID);
        le16(buf + 2, SHMB_MSG_REPLY);
        assert_refused(buf, SHMB_HEADER_SIZE + SHMB_RELEASE_SIZE, SHMB_STATUS_INVALID);
}
END_TEST

START_TEST(test_unknown_type) {
        static const uint16_t types[] = { 0, _SHMB_MSG_REQUEST_MAX, 0x0009, 0x0100, 0x1000, 0x7fff };
        static const size_t plens[] = { 0, 8, 16, 64 };
        uint8_t payload[64];

        memset(payload, 0, sizeof(payload));
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                for (size_t j = 0; j < ELEMENTSOF(plens); j++) {
                        size_t len = build(buf, 1, types[i], payload, plens[j]);

                        assert_refused(buf, len, SHMB_STATUS_UNSUPPORTED);
                }
}
END_TEST

START_TEST(test_version) {
        static const uint16_t versions[] = { 0, 2, 3, 0x0100, 0xffff };

        for (size_t i = 0; i < ELEMENTSOF(request_types); i++) {
                size_t len = encode_valid(buf, request_types[i]);
                ProtoRequest req;

                for (size_t v = 0; v < ELEMENTSOF(versions); v++) {
                        le16(buf, versions[v]);
                        if (request_types[i] == SHMB_MSG_HELLO) {
                                /* HELLO is how versions are negotiated: any header version is fine. */
                                assert_decodes(buf, len, &req);
                                ck_assert_uint_eq(req.hdr.version, versions[v]);
                        } else
                                assert_refused(buf, len, SHMB_STATUS_VERSION);
                }
        }
}
END_TEST

START_TEST(test_header_flags_status) {
        static const uint16_t values[] = { 1, 2, 0x8000, 0xffff };

        for (size_t i = 0; i < ELEMENTSOF(request_types); i++) {
                size_t len = encode_valid(buf, request_types[i]);

                for (size_t v = 0; v < ELEMENTSOF(values); v++) {
                        le16(buf + 4, values[v]);
                        assert_refused(buf, len, SHMB_STATUS_INVALID);
                        le16(buf + 4, 0);
                        le16(buf + 6, values[v]);
                        assert_refused(buf, len, SHMB_STATUS_INVALID);
                        le16(buf + 6, 0);
                }
        }
}
END_TEST

START_TEST(test_req_id_any) {
        static const uint32_t ids[] = { 0, 1, 0x7fffffff, 0xffffffff };
        ProtoRequest req;

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                size_t len = encode_valid(buf, SHMB_MSG_STAT);

                le32(buf + 12, ids[i]);
                assert_decodes(buf, len, &req);
                ck_assert_uint_eq(req.hdr.req_id, ids[i]);
        }
}
END_TEST

/* ---------------------------------------------------------------- payload -- */

START_TEST(test_truncated_every_byte) {
        char name[SHMB_NAME_MAX + 1];
        uint8_t msg[SHMB_MSG_MAX];
        size_t lens[16], n = 0;
        uint8_t *msgs[16];
        static uint8_t store[16][512];

        memset(name, 'z', 40);
        name[40] = 0;
        msgs[n] = store[n], lens[n] = encode_hello(store[n], 1, 1), n++;
        msgs[n] = store[n], lens[n] = encode_create(store[n], name, 10, 0600, 1, 1, 1), n++;
        msgs[n] = store[n], lens[n] = encode_create(store[n], "a", 10, 0600, 0, 0, 0), n++;
        msgs[n] = store[n], lens[n] = encode_open(store[n], name, 1), n++;
        msgs[n] = store[n], lens[n] = encode_open(store[n], "b", 0), n++;
        msgs[n] = store[n], lens[n] = encode_release(store[n], 77), n++;
        msgs[n] = store[n], lens[n] = encode_name(store[n], SHMB_MSG_UNLINK, name), n++;
        msgs[n] = store[n], lens[n] = encode_name(store[n], SHMB_MSG_STAT, "c"), n++;
        msgs[n] = store[n], lens[n] = encode_list(store[n], 5, 5), n++;

        for (size_t i = 0; i < n; i++) {
                ProtoRequest req;

                assert_decodes(msgs[i], lens[i], &req);
                for (size_t len = 0; len < lens[i]; len++) {
                        ProtoHeader h;
                        const char *why = NULL;
                        int s;

                        /* Cut without touching the length field: a mismatch. */
                        memcpy(msg, msgs[i], lens[i]);
                        s = proto_decode_request(msg, len, &req, &why);
                        ck_assert_msg(s != 0, "message %zu cut to %zu bytes accepted", i, len);
                        ck_assert_int_eq(s, SHMB_STATUS_INVALID);
                        ck_assert_ptr_nonnull(why);

                        /* Cut with the length field made to agree: a short payload. */
                        if (len >= SHMB_HEADER_SIZE)
                                fix_length(msg, len);
                        why = NULL;
                        s = proto_decode_request(msg, len, &req, &why);
                        ck_assert_msg(s != 0, "message %zu cut to %zu bytes (length fixed) accepted", i, len);
                        ck_assert_msg(s == SHMB_STATUS_INVALID, "message %zu cut to %zu bytes: %s (%s)", i, len,
                                      proto_status_name(s), why ? why : "");
                        ck_assert_ptr_nonnull(why);
                        if (len >= SHMB_HEADER_SIZE)
                                ck_assert_int_eq(proto_decode_header(msg, len, &h), 0);
                }
        }
}
END_TEST

START_TEST(test_appended_byte) {
        static const uint8_t extra[] = { 0x00, 0x01, 'a', 0xff };

        for (size_t i = 0; i < ELEMENTSOF(request_types); i++)
                for (size_t e = 0; e < ELEMENTSOF(extra); e++) {
                        size_t len = encode_valid(buf, request_types[i]);

                        buf[len] = extra[e];
                        fix_length(buf, len + 1);
                        assert_refused(buf, len + 1, SHMB_STATUS_INVALID);
                }

        /* Many bytes more, up to the largest datagram. */
        for (size_t i = 0; i < ELEMENTSOF(request_types); i++) {
                size_t len = encode_valid(buf, request_types[i]);

                memset(buf + len, 0, SHMB_MSG_MAX - len);
                fix_length(buf, SHMB_MSG_MAX);
                assert_refused(buf, SHMB_MSG_MAX, SHMB_STATUS_INVALID);
        }
}
END_TEST

START_TEST(test_header_only) {
        /* Every request type has a payload; a bare header is too short. */
        for (size_t i = 0; i < ELEMENTSOF(request_types); i++) {
                size_t len = build(buf, 1, request_types[i], NULL, 0);

                ck_assert_uint_eq(len, SHMB_HEADER_SIZE);
                assert_refused(buf, len, SHMB_STATUS_INVALID);
        }
}
END_TEST

START_TEST(test_reserved_fields) {
        size_t len;

        /* HELLO: u32 at payload offset 4. */
        for (size_t k = 0; k < 4; k++) {
                len = encode_hello(buf, 1, 1);
                buf[SHMB_HEADER_SIZE + 4 + k] = 0x01;
                assert_refused(buf, len, SHMB_STATUS_INVALID);
        }
        /* CREATE: u32 at payload offset 16. */
        for (size_t k = 0; k < 4; k++) {
                len = encode_create(buf, "r", 1, 0600, 0, 0, 0);
                buf[SHMB_HEADER_SIZE + 16 + k] = 0x80;
                assert_refused(buf, len, SHMB_STATUS_INVALID);
        }
        /* OPEN: u16 at payload offset 2 and u32 at offset 4. */
        for (size_t k = 0; k < 6; k++) {
                len = encode_open(buf, "r", 0);
                buf[SHMB_HEADER_SIZE + 2 + k] = 0x01;
                assert_refused(buf, len, SHMB_STATUS_INVALID);
        }
        /* LIST: u32 at payload offset 12. */
        for (size_t k = 0; k < 4; k++) {
                len = encode_list(buf, 0, 0);
                buf[SHMB_HEADER_SIZE + 12 + k] = 0xff;
                assert_refused(buf, len, SHMB_STATUS_INVALID);
        }
}
END_TEST

START_TEST(test_hello_versions) {
        ProtoRequest req;
        size_t len;

        len = encode_hello(buf, 2, 1);
        assert_refused(buf, len, SHMB_STATUS_INVALID);
        len = encode_hello(buf, 0xffff, 0);
        assert_refused(buf, len, SHMB_STATUS_INVALID);
        /* min == max, and ranges the daemon may not speak, are for the daemon to judge. */
        len = encode_hello(buf, 5, 5);
        assert_decodes(buf, len, &req);
        len = encode_hello(buf, 0, 0xffff);
        assert_decodes(buf, len, &req);
        ck_assert_uint_eq(req.hello.min_version, 0);
        ck_assert_uint_eq(req.hello.max_version, 0xffff);
}
END_TEST

START_TEST(test_create_values) {
        ProtoRequest req;
        size_t len;

        len = encode_create(buf, "s", 0, 0600, 0, 0, 0);
        assert_refused(buf, len, SHMB_STATUS_INVALID);

        len = encode_create(buf, "s", 1, 01000, 0, 0, 0);
        assert_refused(buf, len, SHMB_STATUS_INVALID);
        len = encode_create(buf, "s", 1, 04755, 0, 0, 0);
        assert_refused(buf, len, SHMB_STATUS_INVALID);
        len = encode_create(buf, "s", 1, 0x80000000u, 0, 0, 0);
        assert_refused(buf, len, SHMB_STATUS_INVALID);
        len = encode_create(buf, "s", 1, 0777, 0, 0, 0);
        assert_decodes(buf, len, &req);

        for (unsigned l = 0; l < 256; l++) {
                len = encode_create(buf, "s", 1, 0600, (uint8_t)l, 0, 0);
                if (l < _PROTO_LIFETIME_MAX)
                        assert_decodes(buf, len, &req);
                else
                        assert_refused(buf, len, SHMB_STATUS_UNSUPPORTED);
        }
        for (unsigned be = 0; be < 256; be++) {
                len = encode_create(buf, "s", 1, 0600, 0, (uint8_t)be, 0);
                if (be < _PROTO_BACKEND_MAX)
                        assert_decodes(buf, len, &req);
                else
                        assert_refused(buf, len, SHMB_STATUS_UNSUPPORTED);
        }
        ck_assert_int_eq(_PROTO_LIFETIME_MAX, 3);
        ck_assert_int_eq(_PROTO_BACKEND_MAX, 5);

        for (unsigned bit = 0; bit < 16; bit++) {
                uint16_t f = (uint16_t)(1u << bit);

                len = encode_create(buf, "s", 1, 0600, 0, 0, f);
                if (f & PROTO_CREATE_FLAGS_ALL)
                        assert_decodes(buf, len, &req);
                else
                        assert_refused(buf, len, SHMB_STATUS_UNSUPPORTED);
        }
        len = encode_create(buf, "s", 1, 0600, 0, 0, 0xffff);
        assert_refused(buf, len, SHMB_STATUS_UNSUPPORTED);
}
END_TEST

START_TEST(test_open_flags) {
        ProtoRequest req;
        size_t len;

        for (unsigned bit = 0; bit < 16; bit++) {
                uint16_t f = (uint16_t)(1u << bit);

                len = encode_open(buf, "s", f);
                if (f & PROTO_OPEN_FLAGS_ALL)
                        assert_decodes(buf, len, &req);
                else
                        assert_refused(buf, len, SHMB_STATUS_UNSUPPORTED);
        }
        len = encode_open(buf, "s", 0xffff);
        assert_refused(buf, len, SHMB_STATUS_UNSUPPORTED);
}
END_TEST

/* ------------------------------------------------------------------ names -- */

/* Name checks must give the same answer in every request that carries a name. */
static void assert_name_refused(const char *name, int status) {
        size_t len;

        len = encode_create(buf, name, 1, 0600, 0, 0, 0);
        assert_refused(buf, len, status);
        len = encode_open(buf, name, 0);
        assert_refused(buf, len, status);
        len = encode_name(buf, SHMB_MSG_UNLINK, name);
        assert_refused(buf, len, status);
        len = encode_name(buf, SHMB_MSG_STAT, name);
        assert_refused(buf, len, status);
}

/* Same for a name given as raw bytes (may contain NUL). */
static void assert_raw_name_refused(const void *name, size_t n, int status) {
        uint8_t p[2 + SHMB_NAME_MAX + 16];
        uint8_t o[SHMB_OPEN_FIXED + sizeof(p)];
        size_t len;

        ck_assert_uint_le(n, SHMB_NAME_MAX + 16);
        le16(p, (uint16_t)n);
        memcpy(p + 2, name, n);

        len = build_create_raw(buf, (uint16_t)n, name, n);
        assert_refused(buf, len, status);
        memset(o, 0, SHMB_OPEN_FIXED);
        memcpy(o + SHMB_OPEN_FIXED, p, 2 + n);
        len = build(buf, 1, SHMB_MSG_OPEN, o, SHMB_OPEN_FIXED + 2 + n);
        assert_refused(buf, len, status);
        len = build(buf, 1, SHMB_MSG_UNLINK, p, 2 + n);
        assert_refused(buf, len, status);
        len = build(buf, 1, SHMB_MSG_STAT, p, 2 + n);
        assert_refused(buf, len, status);
}

START_TEST(test_name_length) {
        char name[SHMB_NAME_MAX + 2];
        ProtoRequest req;
        size_t len;

        assert_name_refused("", SHMB_STATUS_BAD_NAME);

        memset(name, 'n', SHMB_NAME_MAX);
        name[SHMB_NAME_MAX] = 0;
        len = encode_name(buf, SHMB_MSG_STAT, name);
        assert_decodes(buf, len, &req);
        ck_assert_uint_eq(strlen(req.stat.name), SHMB_NAME_MAX);

        name[SHMB_NAME_MAX] = 'n';
        name[SHMB_NAME_MAX + 1] = 0;
        assert_name_refused(name, SHMB_STATUS_BAD_NAME);

        /* A length field far above the limit, with or without the bytes behind it. */
        assert_raw_name_refused(name, SHMB_NAME_MAX + 1, SHMB_STATUS_BAD_NAME);
        len = build_create_raw(buf, 0xffff, "abc", 3);
        assert_refused(buf, len, SHMB_STATUS_BAD_NAME);
        len = build_create_raw(buf, 256, "abc", 3);
        assert_refused(buf, len, SHMB_STATUS_BAD_NAME);
}
END_TEST

START_TEST(test_name_past_end) {
        uint8_t p[2 + 8];
        size_t len;

        /* The name length points past the end of the datagram. */
        len = build_create_raw(buf, 4, "abc", 3);
        assert_refused(buf, len, SHMB_STATUS_INVALID);
        len = build_create_raw(buf, 255, "abc", 3);
        assert_refused(buf, len, SHMB_STATUS_INVALID);
        len = build_create_raw(buf, 1, "", 0);
        assert_refused(buf, len, SHMB_STATUS_INVALID);

        le16(p, 5);
        memcpy(p + 2, "abcd", 4);
        len = build(buf, 1, SHMB_MSG_STAT, p, 6);
        assert_refused(buf, len, SHMB_STATUS_INVALID);
        len = build(buf, 1, SHMB_MSG_UNLINK, p, 6);
        assert_refused(buf, len, SHMB_STATUS_INVALID);
        /* The length field itself cut in half. */
        len = build(buf, 1, SHMB_MSG_STAT, p, 1);
        assert_refused(buf, len, SHMB_STATUS_INVALID);

        /* Shorter than the bytes that follow: trailing garbage. */
        le16(p, 3);
        len = build(buf, 1, SHMB_MSG_STAT, p, 6);
        assert_refused(buf, len, SHMB_STATUS_INVALID);
}
END_TEST

START_TEST(test_name_bad_characters) {
        static const char *const bad[] = {
                "a/b", "/abs", "a b", " a", "a ", ".hidden", ".", "..", "-opt", "-", "a\tb", "a\nb",
                "a:b", "a*b", "a\\b", "a+b", "a@b", "a~b", "a%b", "name\x7f", "\x01",
                "caf\xc3\xa9", "\xe2\x82\xac", "\xff", "a\x80",
        };
        static const char nul_inside[] = { 'a', 0, 'b' };
        static const char nul_first[] = { 0, 'a' };
        static const char nul_last[] = { 'a', 0 };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_name_refused(bad[i], SHMB_STATUS_BAD_NAME);
        assert_raw_name_refused(nul_inside, sizeof(nul_inside), SHMB_STATUS_BAD_NAME);
        assert_raw_name_refused(nul_first, sizeof(nul_first), SHMB_STATUS_BAD_NAME);
        assert_raw_name_refused(nul_last, sizeof(nul_last), SHMB_STATUS_BAD_NAME);
        assert_raw_name_refused("\0", 1, SHMB_STATUS_BAD_NAME);
}
END_TEST

START_TEST(test_name_good_characters) {
        static const char *const good[] = {
                "a", "Z", "0", "_", "_x", "a.b", "a-b", "a..b", "a-", "a.", "ABCxyz019._-", "9lives",
        };
        ProtoRequest req;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                size_t len = encode_name(buf, SHMB_MSG_STAT, good[i]);

                assert_decodes(buf, len, &req);
                ck_assert_str_eq(req.stat.name, good[i]);
        }
}
END_TEST

START_TEST(test_name_valid) {
        char name[SHMB_NAME_MAX + 1];

        ck_assert(proto_name_valid("a", 1));
        ck_assert(proto_name_valid("abc-DEF_123.x", 13));
        ck_assert(proto_name_valid("_", 1));
        ck_assert(!proto_name_valid("", 0));
        ck_assert(!proto_name_valid("abc", 0));
        ck_assert(!proto_name_valid(".a", 2));
        ck_assert(!proto_name_valid("-a", 2));
        ck_assert(!proto_name_valid("a/b", 3));
        ck_assert(!proto_name_valid("a b", 3));
        ck_assert(!proto_name_valid("a\0b", 3));
        ck_assert(!proto_name_valid("\xc3\xa9", 2));
        /* Only @len bytes count: no terminator needed, and what follows is ignored. */
        ck_assert(proto_name_valid("ab/c", 2));
        ck_assert(!proto_name_valid("ab/c", 3));

        memset(name, 'x', sizeof(name));
        ck_assert(proto_name_valid(name, SHMB_NAME_MAX));
        ck_assert(!proto_name_valid(name, SHMB_NAME_MAX + 1));
        for (int c = 0; c < 256; c++) {
                char s[2] = { 'a', (char)c };
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                          c == '_' || c == '-';

                ck_assert_msg(proto_name_valid(s, 2) == ok, "character 0x%02x: %d", c, !ok);
                s[0] = (char)c;
                ck_assert_msg(proto_name_valid(s, 1) == (ok && c != '.' && c != '-'), "leading 0x%02x", c);
        }
}
END_TEST

/* ---------------------------------------------------------------- status -- */

START_TEST(test_status_to_errno) {
        static const int expected[_SHMB_STATUS_MAX] = {
                [SHMB_STATUS_OK] = 0,
                [SHMB_STATUS_INVALID] = EINVAL,
                [SHMB_STATUS_BAD_NAME] = EINVAL,
                [SHMB_STATUS_NOT_FOUND] = ENOENT,
                [SHMB_STATUS_EXISTS] = EEXIST,
                [SHMB_STATUS_DENIED] = EACCES,
                [SHMB_STATUS_NOT_OWNER] = EPERM,
                [SHMB_STATUS_NOT_HELD] = EBADF,
                [SHMB_STATUS_TOO_LARGE] = EFBIG,
                [SHMB_STATUS_NO_SPACE] = ENOSPC,
                [SHMB_STATUS_QUOTA] = EDQUOT,
                [SHMB_STATUS_NO_MEMORY] = ENOMEM,
                [SHMB_STATUS_UNSUPPORTED] = EOPNOTSUPP,
                [SHMB_STATUS_VERSION] = EPROTONOSUPPORT,
                [SHMB_STATUS_PROTOCOL] = EPROTO,
                [SHMB_STATUS_INTERNAL] = EIO,
        };

        ck_assert_int_eq(_SHMB_STATUS_MAX, 16);
        for (int s = 0; s < _SHMB_STATUS_MAX; s++)
                ck_assert_msg(proto_status_to_errno(s) == expected[s], "status %d maps to %d, expected %d", s,
                              proto_status_to_errno(s), expected[s]);
        /* Stable numbers. */
        ck_assert_int_eq(SHMB_STATUS_NOT_FOUND, 3);
        ck_assert_int_eq(SHMB_STATUS_QUOTA, 10);
        ck_assert_int_eq(SHMB_STATUS_INTERNAL, 15);
        /* Unknown codes. */
        ck_assert_int_eq(proto_status_to_errno(_SHMB_STATUS_MAX), EPROTO);
        ck_assert_int_eq(proto_status_to_errno(16), EPROTO);
        ck_assert_int_eq(proto_status_to_errno(0xffff), EPROTO);
        ck_assert_int_eq(proto_status_to_errno(-1), EPROTO);
}
END_TEST

START_TEST(test_status_names) {
        static const char *const names[_SHMB_STATUS_MAX] = {
                "OK", "INVALID", "BAD_NAME", "NOT_FOUND", "EXISTS", "DENIED", "NOT_OWNER", "NOT_HELD",
                "TOO_LARGE", "NO_SPACE", "QUOTA", "NO_MEMORY", "UNSUPPORTED", "VERSION", "PROTOCOL", "INTERNAL",
        };

        for (int s = 0; s < _SHMB_STATUS_MAX; s++) {
                ck_assert_str_eq(proto_status_name(s), names[s]);
                ck_assert_ptr_nonnull(proto_status_text(s));
                ck_assert_str_ne(proto_status_text(s), "unknown status");
        }
        ck_assert_str_eq(proto_status_name(_SHMB_STATUS_MAX), "UNKNOWN");
        ck_assert_str_eq(proto_status_name(100), "UNKNOWN");
        ck_assert_str_eq(proto_status_name(0xffff), "UNKNOWN");
        ck_assert_str_eq(proto_status_name(-1), "UNKNOWN");
        ck_assert_str_eq(proto_status_name(-EINVAL), "UNKNOWN");
        ck_assert_str_eq(proto_status_text(16), "unknown status");
        ck_assert_str_eq(proto_status_text(-1), "unknown status");
}
END_TEST

START_TEST(test_type_names) {
        ck_assert_str_eq(proto_type_name(SHMB_MSG_HELLO), "hello");
        ck_assert_str_eq(proto_type_name(SHMB_MSG_CREATE), "create");
        ck_assert_str_eq(proto_type_name(SHMB_MSG_OPEN), "open");
        ck_assert_str_eq(proto_type_name(SHMB_MSG_RELEASE), "release");
        ck_assert_str_eq(proto_type_name(SHMB_MSG_UNLINK), "unlink");
        ck_assert_str_eq(proto_type_name(SHMB_MSG_STAT), "stat");
        ck_assert_str_eq(proto_type_name(SHMB_MSG_LIST), "list");
        ck_assert_str_eq(proto_type_name(SHMB_MSG_OPEN | SHMB_MSG_REPLY), "open");
        ck_assert_str_eq(proto_type_name(0), "unknown");
        ck_assert_str_eq(proto_type_name(_SHMB_MSG_REQUEST_MAX), "unknown");
        ck_assert_str_eq(proto_type_name(0x7fff), "unknown");
        ck_assert_str_eq(proto_type_name(SHMB_MSG_REPLY), "unknown");
}
END_TEST

/* -------------------------------------------------------------- encoding -- */

START_TEST(test_finish_overflow) {
        uint8_t tiny[32];
        ProtoBuf b;

        /* A header does not fit in 10 bytes. */
        memset(tiny, 0xee, sizeof(tiny));
        proto_buf_init(&b, tiny, 10);
        proto_put_header(&b, SHMB_MSG_STAT, 0, 1);
        ck_assert(b.overflow);
        ck_assert_int_eq(proto_finish(&b), -EMSGSIZE);
        for (size_t i = 10; i < sizeof(tiny); i++)
                ck_assert_uint_eq(tiny[i], 0xee);

        /* Header fits, payload does not. */
        proto_buf_init(&b, tiny, SHMB_HEADER_SIZE);
        ck_assert_int_eq(proto_encode_release(&b, 1, 1), -EMSGSIZE);
        for (size_t i = SHMB_HEADER_SIZE; i < sizeof(tiny); i++)
                ck_assert_uint_eq(tiny[i], 0xee);
        proto_buf_init(&b, tiny, SHMB_HEADER_SIZE + SHMB_RELEASE_SIZE - 1);
        ck_assert_int_eq(proto_encode_release(&b, 1, 1), -EMSGSIZE);
        proto_buf_init(&b, tiny, SHMB_HEADER_SIZE + SHMB_RELEASE_SIZE);
        ck_assert_int_eq(proto_encode_release(&b, 1, 1), SHMB_HEADER_SIZE + SHMB_RELEASE_SIZE);

        /* Overflow is sticky: a later small put that would fit does not clear it. */
        proto_buf_init(&b, tiny, SHMB_HEADER_SIZE + 2);
        proto_put_header(&b, SHMB_MSG_STAT, 0, 1);
        proto_put_u32(&b, 1);
        ck_assert(b.overflow);
        proto_put_u8(&b, 1);
        ck_assert_int_eq(proto_finish(&b), -EMSGSIZE);

        /* Less than a header is not a message. */
        proto_buf_init(&b, tiny, sizeof(tiny));
        proto_put_u32(&b, 1);
        ck_assert(!b.overflow);
        ck_assert_int_eq(proto_finish(&b), -EMSGSIZE);

        /* A string longer than a u16 length can say. */
        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_MSG_STAT, 0, 1);
        proto_put_str(&b, (const char *)buf, (size_t)UINT16_MAX + 1);
        ck_assert_int_eq(proto_finish(&b), -EMSGSIZE);
}
END_TEST

START_TEST(test_encoders_exact_fit) {
        char name[SHMB_NAME_MAX + 1];
        ProtoHelloReply hr = { .version = 1, .server = "srv" };
        ProtoBuf b;
        size_t need;

        memset(name, 'q', SHMB_NAME_MAX);
        name[SHMB_NAME_MAX] = 0;

        /* Each encoder succeeds in a buffer of exactly its size and fails in one byte less. */
        need = SHMB_HEADER_SIZE + SHMB_CREATE_FIXED + 2 + SHMB_NAME_MAX;
        proto_buf_init(&b, buf, need);
        ck_assert_int_eq(proto_encode_create(&b, 1, name, 1, 0600, 0, 0, 0), (int)need);
        proto_buf_init(&b, buf, need - 1);
        ck_assert_int_eq(proto_encode_create(&b, 1, name, 1, 0600, 0, 0, 0), -EMSGSIZE);

        need = SHMB_HEADER_SIZE + SHMB_OPEN_FIXED + 2 + SHMB_NAME_MAX;
        proto_buf_init(&b, buf, need);
        ck_assert_int_eq(proto_encode_open(&b, 1, name, 0), (int)need);
        proto_buf_init(&b, buf, need - 1);
        ck_assert_int_eq(proto_encode_open(&b, 1, name, 0), -EMSGSIZE);

        need = SHMB_HEADER_SIZE + 2 + SHMB_NAME_MAX;
        proto_buf_init(&b, buf, need);
        ck_assert_int_eq(proto_encode_name_request(&b, SHMB_MSG_STAT, 1, name), (int)need);
        proto_buf_init(&b, buf, need - 1);
        ck_assert_int_eq(proto_encode_name_request(&b, SHMB_MSG_STAT, 1, name), -EMSGSIZE);

        need = SHMB_HEADER_SIZE + SHMB_LIST_SIZE;
        proto_buf_init(&b, buf, need);
        ck_assert_int_eq(proto_encode_list(&b, 1, 2, 3), (int)need);
        proto_buf_init(&b, buf, need - 1);
        ck_assert_int_eq(proto_encode_list(&b, 1, 2, 3), -EMSGSIZE);

        need = SHMB_HEADER_SIZE + SHMB_HELLO_SIZE;
        proto_buf_init(&b, buf, need);
        ck_assert_int_eq(proto_encode_hello(&b, 1, 1, 1), (int)need);
        proto_buf_init(&b, buf, need - 1);
        ck_assert_int_eq(proto_encode_hello(&b, 1, 1, 1), -EMSGSIZE);

        need = SHMB_HEADER_SIZE + 2 + 5;
        proto_buf_init(&b, buf, need);
        ck_assert_int_eq(proto_encode_error(&b, SHMB_MSG_STAT, SHMB_STATUS_DENIED, 1, "nope!"), (int)need);
        proto_buf_init(&b, buf, need - 1);
        ck_assert_int_eq(proto_encode_error(&b, SHMB_MSG_STAT, SHMB_STATUS_DENIED, 1, "nope!"), -EMSGSIZE);

        need = SHMB_HEADER_SIZE + SHMB_HELLO_REPLY_FIXED + 2 + 3;
        proto_buf_init(&b, buf, need);
        ck_assert_int_eq(proto_encode_hello_reply(&b, 1, &hr), (int)need);
        proto_buf_init(&b, buf, need - 1);
        ck_assert_int_eq(proto_encode_hello_reply(&b, 1, &hr), -EMSGSIZE);
}
END_TEST

START_TEST(test_encode_tiny_buffers) {
        /*
         * Every encoder, given a buffer of 0..header size bytes, reports
         * -EMSGSIZE and writes nothing outside the buffer.
         */
        uint8_t mem[SHMB_HEADER_SIZE + 16];
        ProtoHelloReply hr = { .version = 1 };

        for (size_t size = 0; size <= SHMB_HEADER_SIZE; size++) {
                for (int which = 0; which < 8; which++) {
                        ProtoBuf b;
                        int n = 0;

                        memset(mem, 0xee, sizeof(mem));
                        proto_buf_init(&b, mem, size);
                        switch (which) {
                        case 0:
                                n = proto_encode_hello(&b, 1, 1, 0x0303);
                                break;
                        case 1:
                                n = proto_encode_create(&b, 1, "x", 1, 0600, 0, 0, 0);
                                break;
                        case 2:
                                n = proto_encode_open(&b, 1, "x", 0);
                                break;
                        case 3:
                                n = proto_encode_release(&b, 1, 1);
                                break;
                        case 4:
                                n = proto_encode_name_request(&b, SHMB_MSG_UNLINK, 1, "x");
                                break;
                        case 5:
                                n = proto_encode_list(&b, 1, 0, 0);
                                break;
                        case 6:
                                n = proto_encode_error(&b, SHMB_MSG_OPEN, SHMB_STATUS_DENIED, 1, "x");
                                break;
                        case 7:
                                n = proto_encode_hello_reply(&b, 1, &hr);
                                break;
                        }
                        ck_assert_msg(n == -EMSGSIZE, "encoder %d in %zu bytes returned %d", which, size, n);
                        for (size_t i = size; i < sizeof(mem); i++)
                                ck_assert_msg(mem[i] == 0xee, "encoder %d in a %zu-byte buffer wrote byte %zu",
                                              which, size, i);
                }
        }
}
END_TEST

START_TEST(test_buf_capped_at_msg_max) {
        static uint8_t big[SHMB_MSG_MAX * 2];
        ProtoBuf b;

        proto_buf_init(&b, big, sizeof(big));
        ck_assert_uint_eq(b.size, SHMB_MSG_MAX);
        proto_put_header(&b, SHMB_MSG_STAT, 0, 1);
        for (size_t i = SHMB_HEADER_SIZE; i < SHMB_MSG_MAX; i++)
                proto_put_u8(&b, 0);
        ck_assert(!b.overflow);
        ck_assert_int_eq(proto_finish(&b), SHMB_MSG_MAX);
        proto_put_u8(&b, 0);
        ck_assert(b.overflow);
        ck_assert_int_eq(proto_finish(&b), -EMSGSIZE);
}
END_TEST

START_TEST(test_put_little_endian) {
        static const uint8_t expected[] = {
                0x12, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12,
                0x03, 0x00, 'a', 'b', 'c',
        };
        uint8_t out[32];
        ProtoBuf b;

        proto_buf_init(&b, out, sizeof(out));
        proto_put_u8(&b, 0x12);
        proto_put_u16(&b, 0x1234);
        proto_put_u32(&b, 0x12345678);
        proto_put_u64(&b, UINT64_C(0x123456789abcdef0));
        proto_put_str(&b, "abcdef", 3);
        ck_assert(!b.overflow);
        ck_assert_uint_eq(b.len, sizeof(expected));
        ck_assert_mem_eq(out, expected, sizeof(expected));
}
END_TEST

/* ------------------------------------------------------------ over-reads -- */

/*
 * Every decoder is given a byte count; it must not look at byte @len or
 * beyond, whatever the bytes say. Messages are placed so that they end
 * exactly where an inaccessible page begins: a read past @len is SIGSEGV.
 */
static uint8_t *guard_area;
static size_t guard_page;

static void guard_setup(void) {
        guard_page = (size_t)sysconf(_SC_PAGESIZE);
        guard_area = mmap(NULL, 2 * guard_page + SHMB_MSG_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
        ck_assert_ptr_ne(guard_area, MAP_FAILED);
        /* Round the accessible part up to whole pages; the page after it is the guard. */
        guard_page = (SHMB_MSG_MAX + guard_page) / guard_page * guard_page;
        ck_assert_int_eq(mprotect(guard_area + guard_page, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE), 0);
}

static const uint8_t *guard_place(const uint8_t *msg, size_t len) {
        uint8_t *p = guard_area + guard_page - len;

        memcpy(p, msg, len);
        return p;
}

/* Valid replies of each shape, in @out; returns the length. */
static size_t reply_example(uint8_t *out, int which) {
        ProtoHelloReply hr = { .version = 1, .max_message = SHMB_MSG_MAX, .server = "shmbrokerd" };
        ProtoSegInfo si;
        ProtoBuf b;
        int n = -1;

        proto_buf_init(&b, out, SHMB_MSG_MAX);
        switch (which) {
        case 0:
                n = proto_encode_hello_reply(&b, 1, &hr);
                break;
        case 1:
                seginfo_example(&si, 1, "seg");
                proto_put_header(&b, SHMB_MSG_OPEN | SHMB_MSG_REPLY, 0, 1);
                proto_put_seginfo(&b, &si);
                n = proto_finish(&b);
                break;
        case 2:
                proto_put_header(&b, SHMB_MSG_LIST | SHMB_MSG_REPLY, 0, 1);
                proto_put_u32(&b, 2);
                proto_put_u32(&b, 0);
                proto_put_u64(&b, 2);
                seginfo_example(&si, 1, "a");
                proto_put_seginfo(&b, &si);
                seginfo_example(&si, 2, "bb");
                proto_put_seginfo(&b, &si);
                n = proto_finish(&b);
                break;
        case 3:
                n = proto_encode_error(&b, SHMB_MSG_OPEN, SHMB_STATUS_NOT_FOUND, 1, "no such segment");
                break;
        }
        ck_assert_int_gt(n, SHMB_HEADER_SIZE);
        return (size_t)n;
}

START_TEST(test_reply_decoders_short_datagram) {
        uint8_t msg[512];
        char text[64];
        ProtoHelloReply hr;
        ProtoSegInfo si;
        uint32_t count, flags;
        uint64_t next;
        size_t off, len;

        /* Datagrams shorter than a header are malformed for every reply decoder. */
        for (len = 0; len < SHMB_HEADER_SIZE; len++) {
                reply_example(msg, 0);
                ck_assert_int_eq(proto_decode_hello_reply(msg, len, &hr), -EBADMSG);
                reply_example(msg, 1);
                ck_assert_int_eq(proto_decode_seginfo_reply(msg, len, &si), -EBADMSG);
                reply_example(msg, 2);
                off = 12345;
                ck_assert_msg(proto_decode_list_reply(msg, len, &count, &flags, &next, &off) == -EBADMSG,
                              "proto_decode_list_reply() accepted a %zu-byte datagram (offset %zu)", len, off);
                reply_example(msg, 3);
                ck_assert_int_eq(proto_decode_error_text(msg, len, text, sizeof(text)), -EBADMSG);
        }
}
END_TEST

START_TEST(test_seginfo_at_offset_past_end) {
        uint8_t msg[512];
        ProtoSegInfo si, out;
        ProtoBuf b;
        size_t off;

        /* A valid record at 100, but the datagram is said to be 50 bytes long. */
        memset(msg, 0, sizeof(msg));
        seginfo_example(&si, 9, "beyond");
        proto_buf_init(&b, msg, sizeof(msg));
        b.len = 100;
        proto_put_seginfo(&b, &si);
        ck_assert(!b.overflow);

        off = 100;
        ck_assert_int_eq(proto_decode_seginfo_at(msg, b.len, &off, &out), 0);
        off = 100;
        ck_assert_msg(proto_decode_seginfo_at(msg, 50, &off, &out) == -EBADMSG,
                      "record at offset 100 decoded from a 50-byte datagram (offset now %zu)", off);
        ck_assert_uint_eq(off, 100);
        off = 51;
        ck_assert_int_eq(proto_decode_seginfo_at(msg, 50, &off, &out), -EBADMSG);
        ck_assert_uint_eq(off, 51);
}
END_TEST

START_TEST(test_request_decoder_no_overread) {
        uint8_t msg[SHMB_MSG_MAX];

        guard_setup();
        for (size_t i = 0; i < ELEMENTSOF(request_types); i++) {
                size_t full = encode_valid(msg, request_types[i]);

                for (size_t len = 0; len <= full; len++) {
                        ProtoRequest req;
                        ProtoHeader h;
                        const char *why;
                        uint8_t cut[SHMB_MSG_MAX];

                        memcpy(cut, msg, full);
                        if (len >= SHMB_HEADER_SIZE)
                                fix_length(cut, len);
                        (void)proto_decode_header(guard_place(cut, len), len, &h);
                        ck_assert_int_eq(proto_decode_request(guard_place(cut, len), len, &req, &why) == 0,
                                         len == full);
                }
        }
}
END_TEST

/* _i: 0 hello reply, 1 seginfo reply, 2 list reply and its records, 3 error text */
START_TEST(test_reply_decoders_no_overread) {
        uint8_t msg[SHMB_MSG_MAX];
        size_t full;

        guard_setup();
        full = reply_example(msg, _i);
        for (size_t len = 0; len <= full; len++) {
                const uint8_t *p = guard_place(msg, len);
                ProtoHelloReply hr;
                ProtoSegInfo si;
                uint32_t count, flags;
                uint64_t next;
                size_t off;
                char text[64];
                int r = 0;

                switch (_i) {
                case 0:
                        r = proto_decode_hello_reply(p, len, &hr);
                        break;
                case 1:
                        r = proto_decode_seginfo_reply(p, len, &si);
                        break;
                case 2:
                        r = proto_decode_list_reply(p, len, &count, &flags, &next, &off);
                        for (uint32_t k = 0; r == 0 && k < count; k++)
                                r = proto_decode_seginfo_at(p, len, &off, &si);
                        break;
                case 3:
                        r = proto_decode_error_text(p, len, text, sizeof(text));
                        break;
                }
                ck_assert_msg((r == 0) == (len == full), "decoder %d, %zu of %zu bytes: %d", _i, len, full, r);
        }
}
END_TEST

static Suite *proto_suite(void) {
        Suite *s = suite_create("proto");
        TCase *tc;

        tc = tcase_create("request-roundtrip");
        tcase_add_test(tc, test_roundtrip_hello);
        tcase_add_test(tc, test_roundtrip_create);
        tcase_add_test(tc, test_roundtrip_open);
        tcase_add_test(tc, test_roundtrip_release);
        tcase_add_test(tc, test_roundtrip_unlink_stat);
        tcase_add_test(tc, test_roundtrip_list);
        tcase_add_test(tc, test_roundtrip_name_255);
        suite_add_tcase(s, tc);

        tc = tcase_create("wire-bytes");
        tcase_add_test(tc, test_create_bytes);
        tcase_add_test(tc, test_other_bytes);
        tcase_add_test(tc, test_put_little_endian);
        suite_add_tcase(s, tc);

        tc = tcase_create("reply-roundtrip");
        tcase_add_test(tc, test_roundtrip_hello_reply);
        tcase_add_test(tc, test_hello_reply_long_server);
        tcase_add_test(tc, test_roundtrip_seginfo_reply);
        tcase_add_test(tc, test_roundtrip_list_reply);
        tcase_add_test(tc, test_list_reply_count_too_large);
        tcase_add_test(tc, test_seginfo_at_truncated);
        tcase_add_test(tc, test_seginfo_at_bad_name);
        tcase_add_test(tc, test_roundtrip_error);
        tcase_add_test(tc, test_error_text_limits);
        suite_add_tcase(s, tc);

        tc = tcase_create("malformed-header");
        tcase_add_test(tc, test_short_datagram);
        tcase_add_test(tc, test_length_mismatch);
        tcase_add_test(tc, test_reply_bit);
        tcase_add_test(tc, test_unknown_type);
        tcase_add_test(tc, test_version);
        tcase_add_test(tc, test_header_flags_status);
        tcase_add_test(tc, test_req_id_any);
        suite_add_tcase(s, tc);

        tc = tcase_create("malformed-payload");
        tcase_add_test(tc, test_truncated_every_byte);
        tcase_add_test(tc, test_appended_byte);
        tcase_add_test(tc, test_header_only);
        tcase_add_test(tc, test_reserved_fields);
        tcase_add_test(tc, test_hello_versions);
        tcase_add_test(tc, test_create_values);
        tcase_add_test(tc, test_open_flags);
        suite_add_tcase(s, tc);

        tc = tcase_create("names");
        tcase_add_test(tc, test_name_length);
        tcase_add_test(tc, test_name_past_end);
        tcase_add_test(tc, test_name_bad_characters);
        tcase_add_test(tc, test_name_good_characters);
        tcase_add_test(tc, test_name_valid);
        suite_add_tcase(s, tc);

        tc = tcase_create("status");
        tcase_add_test(tc, test_status_to_errno);
        tcase_add_test(tc, test_status_names);
        tcase_add_test(tc, test_type_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("encoding-limits");
        tcase_add_test(tc, test_finish_overflow);
        tcase_add_test(tc, test_encoders_exact_fit);
        tcase_add_test(tc, test_encode_tiny_buffers);
        tcase_add_test(tc, test_buf_capped_at_msg_max);
        suite_add_tcase(s, tc);

        tc = tcase_create("bounds");
        tcase_add_test(tc, test_reply_decoders_short_datagram);
        tcase_add_test(tc, test_seginfo_at_offset_past_end);
        tcase_add_test(tc, test_request_decoder_no_overread);
        tcase_add_loop_test(tc, test_reply_decoders_no_overread, 0, 4);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(proto_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
