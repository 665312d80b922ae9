/*
 * Writes the seed corpora of the fuzz targets: DIR/proto/ (one datagram per
 * file: every request type, every reply type, a few malformed ones) and
 * DIR/server/ (fuzz-server.c's record format: sessions that reach every
 * request handler on every backend, several uids, passed fds, clients
 * that vanish or stop reading). The files are committed; rerun with
 * `make fuzz-corpus` after a protocol change and commit what changed.
 *
 * Usage: gen-corpus DIR
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "protocol/shmb-proto.h"

#define SEED_MAX (SHMB_MSG_MAX * 2)

typedef struct Seed {
        uint8_t data[SEED_MAX];
        size_t len;
} Seed;

static const char *out_dir;
static uint8_t msg[SHMB_MSG_MAX];
static uint32_t req_id;

static void die(const char *what) {
        fprintf(stderr, "gen-corpus: %s: %s\n", what, strerror(errno));
        exit(EXIT_FAILURE);
}

static void write_file(const char *sub, const char *name, const void *data, size_t len) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s/%s", out_dir, sub, name);
        f = fopen(path, "we");
        if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
                die(path);
}

/* ------------------------------------------------------------ datagrams -- */

static int enc_hello(void) {
        ProtoBuf b;

        proto_buf_init(&b, msg, sizeof(msg));
        return proto_encode_hello(&b, ++req_id, SHMB_PROTO_VERSION, SHMB_PROTO_VERSION);
}

static int enc_create(const char *name, uint64_t size, uint32_t mode, uint8_t lifetime, uint8_t backend,
                      uint16_t flags) {
        ProtoBuf b;

        proto_buf_init(&b, msg, sizeof(msg));
        return proto_encode_create(&b, ++req_id, name, size, mode, lifetime, backend, flags);
}

static int enc_open(const char *name, uint16_t flags) {
        ProtoBuf b;

        proto_buf_init(&b, msg, sizeof(msg));
        return proto_encode_open(&b, ++req_id, name, flags);
}

static int enc_release(uint64_t id) {
        ProtoBuf b;

        proto_buf_init(&b, msg, sizeof(msg));
        return proto_encode_release(&b, ++req_id, id);
}

static int enc_name(uint16_t type, const char *name) {
        ProtoBuf b;

        proto_buf_init(&b, msg, sizeof(msg));
        return proto_encode_name_request(&b, type, ++req_id, name);
}

/* The request just encoded in msg (@len bytes), ended with operation id @op_id (version 2). */
static int with_op(int len, uint64_t op_id) {
        ProtoBuf b = { .data = msg, .size = sizeof(msg), .len = len < 0 ? 0 : (size_t)len };

        return len < 0 ? len : proto_add_op_id(&b, op_id);
}

static int enc_hello_v2(void) {
        ProtoBuf b;

        proto_buf_init(&b, msg, sizeof(msg));
        return proto_encode_hello(&b, ++req_id, SHMB_PROTO_VERSION_MIN, SHMB_PROTO_VERSION_MAX);
}

static int enc_resize(const char *name, uint64_t size) {
        ProtoBuf b;

        proto_buf_init(&b, msg, sizeof(msg));
        return proto_encode_resize(&b, ++req_id, name, size);
}

static int enc_create_max(const char *name, uint64_t size, uint64_t max_size) {
        ProtoBuf b;

        proto_buf_init(&b, msg, sizeof(msg));
        return proto_encode_create_full(&b, ++req_id,
                                        &(ProtoCreate){ .name = name, .size = size, .mode = 0644,
                                                        .lifetime = PROTO_LIFETIME_PERSISTENT,
                                                        .backend = PROTO_BACKEND_MEMFD, .max_size = max_size });
}

static int enc_list(uint64_t after, uint32_t max) {
        ProtoBuf b;

        proto_buf_init(&b, msg, sizeof(msg));
        return proto_encode_list(&b, ++req_id, after, max);
}

static void seginfo(ProtoSegInfo *si, uint64_t id, const char *name, uint8_t backend, uint16_t flags) {
        *si = (ProtoSegInfo){ .id = id, .size = 4096, .uid = 1000, .gid = 1000, .mode = 0640, .holders = 2,
                              .backend = backend, .flags = flags, .shmid = backend == PROTO_BACKEND_SYSV ? 7 : -1,
                              .created_usec = 1700000000000000ull };
        snprintf(si->name, sizeof(si->name), "%s", name);
}

static void proto_seed(const char *name, int len) {
        if (len < 0) {
                errno = EMSGSIZE;
                die(name);
        }
        write_file("proto", name, msg, (size_t)len);
}

static void gen_proto(void) {
        ProtoHelloReply hr = { .version = 1, .max_message = SHMB_MSG_MAX, .max_name = SHMB_NAME_MAX, .uid = 1000,
                               .gid = 1000, .pid = 42 };
        ProtoSegInfo si;
        ProtoBuf b;
        int len;

        proto_seed("req-hello", enc_hello());
        proto_seed("req-create-memfd", enc_create("seg-a", 4096, 0600, PROTO_LIFETIME_HOLDERS, PROTO_BACKEND_MEMFD, 0));
        proto_seed("req-create-sysv-excl", enc_create("seg.b_1", 65536, 0644, PROTO_LIFETIME_PERSISTENT,
                                                      PROTO_BACKEND_SYSV, PROTO_CREATE_EXCL));
        proto_seed("req-create-huge-reserve", enc_create("h", 1, 0666, PROTO_LIFETIME_CREATOR, PROTO_BACKEND_DEFAULT,
                                                         PROTO_CREATE_HUGE | PROTO_CREATE_RESERVE));
        proto_seed("req-open-rw", enc_open("seg-a", 0));
        proto_seed("req-open-ro", enc_open("seg-a", PROTO_OPEN_RDONLY));
        proto_seed("req-release", enc_release(1));
        proto_seed("req-unlink", enc_name(SHMB_MSG_UNLINK, "seg-a"));
        proto_seed("req-stat", enc_name(SHMB_MSG_STAT, "seg-a"));
        proto_seed("req-sync", enc_name(SHMB_MSG_SYNC, "seg-a"));
        proto_seed("req-list", enc_list(0, 10));
        proto_seed("req-hello-v2", enc_hello_v2());
        proto_seed("req-create-opid", with_op(enc_create("seg-a", 4096, 0600, PROTO_LIFETIME_PERSISTENT,
                                                         PROTO_BACKEND_MEMFD, PROTO_CREATE_EXCL), 0x5eed));
        proto_seed("req-unlink-opid", with_op(enc_name(SHMB_MSG_UNLINK, "seg-a"), 0x5eee));
        proto_seed("req-resize-opid", with_op(enc_resize("seg-a", 8192), UINT64_MAX));
        proto_seed("req-publish-opid", with_op(enc_name(SHMB_MSG_PUBLISH, "seg-a"), 1));

        /* Malformed: a header alone, and a length field that lies. */
        len = enc_list(0, 0);
        proto_seed("bad-header-only", SHMB_HEADER_SIZE);
        msg[8] ^= 1;
        proto_seed("bad-length-field", len);

        proto_buf_init(&b, msg, sizeof(msg));
        proto_seed("rep-hello", proto_encode_hello_reply(&b, 1, &hr));
        hr.version = SHMB_PROTO_VERSION_MAX;
        proto_buf_init(&b, msg, sizeof(msg));
        len = proto_encode_hello_reply(&b, 1, &hr);
        msg[0] = SHMB_PROTO_VERSION_MAX; /* the reply's header carries the version chosen */
        proto_seed("rep-hello-v2", len);
        proto_buf_init(&b, msg, sizeof(msg));
        proto_seed("rep-error", proto_encode_error(&b, SHMB_MSG_OPEN, SHMB_STATUS_DENIED, 3, "permission denied"));
        seginfo(&si, 5, "seg-a", PROTO_BACKEND_MEMFD, PROTO_SEG_CREATED);
        proto_buf_init(&b, msg, sizeof(msg));
        proto_put_header(&b, SHMB_MSG_CREATE | SHMB_MSG_REPLY, 0, 4);
        proto_put_seginfo(&b, &si);
        proto_seed("rep-seginfo", proto_finish(&b));
        proto_buf_init(&b, msg, sizeof(msg));
        proto_put_header(&b, SHMB_MSG_LIST | SHMB_MSG_REPLY, 0, 6);
        proto_put_u32(&b, 2);
        proto_put_u32(&b, SHMB_LIST_MORE);
        proto_put_u64(&b, 9);
        proto_put_seginfo(&b, &si);
        seginfo(&si, 9, "seg-z", PROTO_BACKEND_SYSV, 0);
        proto_put_seginfo(&b, &si);
        proto_seed("rep-list", proto_finish(&b));
        proto_buf_init(&b, msg, sizeof(msg));
        proto_put_header(&b, SHMB_MSG_RELEASE | SHMB_MSG_REPLY, 0, 7);
        proto_seed("rep-empty", proto_finish(&b));
}

/* ---------------------------------------------------------------- server -- */

/* Control byte of a record (see fuzz-server.c). */
#define SLOT(n) ((uint8_t)(n))
#define FDS(n) ((uint8_t)((n) << 2))          /* 0, 1, 2 or 3 (= 253) */
#define KIND(n) ((uint8_t)((n) << 4))         /* /dev/null, memfd, own socket, pipe */
#define PUMP 0x40
#define ACTION(n) ((uint8_t)(0x80 | (n) << 2)) /* close, toggle deaf, run, run and read */

#define SETUP_HELLO 0x01
#define SETUP_UID(n) ((uint8_t)((n) << 1))     /* root, nobody, 1000, per slot */
#define SETUP_SMALL_BUFFERS 0x08
#define SETUP_GROUPS 0x10
#define SETUP_VERSION_2 0x20

static void seed_init(Seed *s, uint8_t setup) {
        s->data[0] = setup;
        s->len = 1;
}

static void rec(Seed *s, uint8_t control, const void *data, size_t len) {
        if (s->len + 3 + len > SEED_MAX) {
                errno = E2BIG;
                die("seed too large");
        }
        s->data[s->len++] = (uint8_t)len;
        s->data[s->len++] = (uint8_t)(len >> 8);
        s->data[s->len++] = control;
        memcpy(s->data + s->len, data, len);
        s->len += len;
}

/* Send the datagram just encoded in msg. */
static void req(Seed *s, uint8_t control, int len) {
        if (len < 0) {
                errno = EMSGSIZE;
                die("encoding");
        }
        rec(s, control | PUMP, msg, (size_t)len);
}

static void act(Seed *s, uint8_t slot, int action) {
        rec(s, ACTION(action) | slot, NULL, 0);
}

static void server_seed(const char *name, const Seed *s) {
        write_file("server", name, s->data, s->len);
}

/* Create, open rw and ro, stat, list, sync, release, unlink: every handler on one backend. */
static void session(Seed *s, uint8_t slot, uint8_t backend, uint8_t lifetime, uint16_t flags) {
        req(s, slot, enc_create("seg", 8192, 0644, lifetime, backend, flags));
        req(s, slot, enc_open("seg", 0));
        req(s, slot, enc_open("seg", PROTO_OPEN_RDONLY));
        req(s, slot, enc_name(SHMB_MSG_STAT, "seg"));
        req(s, slot, enc_list(0, 0));
        req(s, slot, enc_name(SHMB_MSG_SYNC, "seg"));
        req(s, slot, enc_release(1));
        req(s, slot, enc_release(1));
        req(s, slot, enc_name(SHMB_MSG_UNLINK, "seg"));
        req(s, slot, enc_release(1));
}

static void gen_server(void) {
        static const char *const backends[] = { "default", "memfd", "posix", "sysv", "file" };
        static Seed s;
        char name[64];
        int len;

        for (uint8_t b = 0; b < _PROTO_BACKEND_MAX; b++) {
                for (uint8_t l = 0; l < _PROTO_LIFETIME_MAX; l++) {
                        seed_init(&s, SETUP_HELLO);
                        session(&s, SLOT(0), b, l, 0);
                        snprintf(name, sizeof(name), "session-%s-lifetime%u", backends[b], l);
                        server_seed(name, &s);
                }
                seed_init(&s, SETUP_HELLO);
                session(&s, SLOT(0), b, PROTO_LIFETIME_PERSISTENT, PROTO_CREATE_RESERVE | PROTO_CREATE_EXCL);
                session(&s, SLOT(1), b, PROTO_LIFETIME_HOLDERS, PROTO_CREATE_HUGE);
                snprintf(name, sizeof(name), "flags-%s", backends[b]);
                server_seed(name, &s);
        }

        /* The handshake by hand, and requests before it. */
        seed_init(&s, 0);
        req(&s, SLOT(0), enc_name(SHMB_MSG_STAT, "x"));
        req(&s, SLOT(0), enc_hello());
        req(&s, SLOT(0), enc_hello());
        req(&s, SLOT(0), enc_list(0, 1));
        server_seed("handshake", &s);

        /* Creator lifetime across connections: slot 0 creates, slot 1 holds, slot 0 goes. */
        seed_init(&s, SETUP_HELLO);
        req(&s, SLOT(0), enc_create("creator", 4096, 0666, PROTO_LIFETIME_CREATOR, PROTO_BACKEND_POSIX, 0));
        req(&s, SLOT(1), enc_open("creator", 0));
        act(&s, SLOT(0), 0);
        req(&s, SLOT(1), enc_name(SHMB_MSG_STAT, "creator"));
        req(&s, SLOT(2), enc_create("creator", 4096, 0666, PROTO_LIFETIME_HOLDERS, PROTO_BACKEND_SYSV, 0));
        act(&s, SLOT(1), 0);
        req(&s, SLOT(3), enc_list(0, 0));
        server_seed("creator-gone", &s);

        /* Other uids: root (slot 0, 3), nobody (1), 1000 (2) against modes 0600, 0640, 0666. */
        seed_init(&s, SETUP_HELLO | SETUP_UID(3));
        req(&s, SLOT(0), enc_create("private", 4096, 0600, PROTO_LIFETIME_PERSISTENT, PROTO_BACKEND_MEMFD, 0));
        req(&s, SLOT(0), enc_create("shared", 4096, 0644, PROTO_LIFETIME_PERSISTENT, PROTO_BACKEND_SYSV, 0));
        req(&s, SLOT(2), enc_create("mine", 4096, 0666, PROTO_LIFETIME_HOLDERS, PROTO_BACKEND_FILE, 0));
        for (uint8_t slot = 1; slot <= 2; slot++) {
                req(&s, slot, enc_open("private", PROTO_OPEN_RDONLY));
                req(&s, slot, enc_open("shared", 0));
                req(&s, slot, enc_open("shared", PROTO_OPEN_RDONLY));
                req(&s, slot, enc_open("mine", 0));
                req(&s, slot, enc_name(SHMB_MSG_STAT, "private"));
                req(&s, slot, enc_name(SHMB_MSG_UNLINK, "shared"));
                req(&s, slot, enc_create("private", 4096, 0600, 0, 0, 0));
                req(&s, slot, enc_list(0, 0));
        }
        req(&s, SLOT(3), enc_name(SHMB_MSG_UNLINK, "mine"));
        server_seed("uids", &s);

        /* File descriptors on requests: one, two, 253, of every kind. */
        seed_init(&s, SETUP_HELLO);
        for (uint8_t k = 0; k < 4; k++)
                for (uint8_t n = 1; n < 4; n++) {
                        len = enc_create("with-fds", 4096, 0600, 0, 0, 0);
                        rec(&s, SLOT(k) | FDS(n) | KIND(k) | PUMP, msg, (size_t)len);
                }
        req(&s, SLOT(0), enc_list(0, 0));
        server_seed("passed-fds", &s);

        /* A client that stops reading while its OPEN replies (each with an fd) pile up in the daemon. */
        for (int small = 0; small < 2; small++) {
                seed_init(&s, SETUP_HELLO | (small ? SETUP_SMALL_BUFFERS : 0));
                req(&s, SLOT(1), enc_create("popular", 4096, 0644, PROTO_LIFETIME_PERSISTENT, PROTO_BACKEND_MEMFD, 0));
                act(&s, SLOT(0), 1);
                for (int i = 0; i < 120; i++)
                        rec(&s, SLOT(0), msg, (size_t)enc_open("popular", PROTO_OPEN_RDONLY));
                act(&s, SLOT(0), 2);
                req(&s, SLOT(1), enc_name(SHMB_MSG_STAT, "popular"));
                act(&s, SLOT(0), 1);
                act(&s, SLOT(0), 3);
                server_seed(small ? "deaf-client-small-buffers" : "deaf-client", &s);
        }

        /* Supplementary groups: uid 1000's 0640 segment is readable by nobody through group 1000. */
        seed_init(&s, SETUP_HELLO | SETUP_UID(3) | SETUP_GROUPS);
        req(&s, SLOT(2), enc_create("grouped", 4096, 0640, PROTO_LIFETIME_HOLDERS, PROTO_BACKEND_SYSV, 0));
        req(&s, SLOT(1), enc_open("grouped", PROTO_OPEN_RDONLY));
        req(&s, SLOT(1), enc_open("grouped", 0));
        req(&s, SLOT(1), enc_name(SHMB_MSG_STAT, "grouped"));
        req(&s, SLOT(1), enc_name(SHMB_MSG_SYNC, "grouped"));
        req(&s, SLOT(1), enc_list(0, 0));
        server_seed("groups", &s);

        /* Large creates on every backend, reserved or not: near the per-uid byte quota. */
        seed_init(&s, SETUP_HELLO);
        for (uint8_t b = PROTO_BACKEND_MEMFD; b < _PROTO_BACKEND_MAX; b++) {
                req(&s, SLOT(0), enc_create("big", 200 * 1024, 0600, PROTO_LIFETIME_HOLDERS, b, 0));
                req(&s, SLOT(0), enc_create("big", 200 * 1024, 0600, PROTO_LIFETIME_PERSISTENT, b, PROTO_CREATE_RESERVE));
                req(&s, SLOT(0), enc_name(SHMB_MSG_STAT, "big"));
        }
        server_seed("large-creates", &s);

        /* More distinct holds than one connection may have. */
        seed_init(&s, SETUP_HELLO);
        for (int i = 0; i < 12; i++) {
                snprintf(name, sizeof(name), "h%d", i);
                req(&s, SLOT(0), enc_create(name, 4096, 0600, PROTO_LIFETIME_PERSISTENT, PROTO_BACKEND_MEMFD, 0));
                req(&s, SLOT(1), enc_open(name, PROTO_OPEN_RDONLY));
        }
        server_seed("holds", &s);

        /* Quotas: more segments than the fuzz daemon's per-user limit, and a hold limit. */
        seed_init(&s, SETUP_HELLO);
        for (int i = 0; i < 40; i++) {
                snprintf(name, sizeof(name), "q%d", i);
                req(&s, SLOT(i % 2), enc_create(name, 65536, 0600, PROTO_LIFETIME_PERSISTENT, (uint8_t)(1 + i % 4), 0));
        }
        for (int i = 0; i < 60; i++)
                req(&s, SLOT(2), enc_open("q0", 0));
        server_seed("quotas", &s);

        /* Version 2: requests with operation ids, sent again, by another slot (the same process),
         * reused for another name; and the same bytes on version-1 connections. */
        for (int v2 = 0; v2 < 2; v2++) {
                seed_init(&s, SETUP_HELLO | (v2 ? SETUP_VERSION_2 : 0));
                for (int again = 0; again < 2; again++) {
                        req(&s, SLOT(0), with_op(enc_create_max("op", 4096, 65536), 1));
                        req(&s, SLOT(0), with_op(enc_resize("op", 8192), 2));
                        req(&s, SLOT(0), with_op(enc_name(SHMB_MSG_PUBLISH, "op"), 3));
                        req(&s, SLOT(0), with_op(enc_name(SHMB_MSG_UNLINK, "op"), 4));
                }
                req(&s, SLOT(1), with_op(enc_create_max("op", 4096, 0), 1));
                act(&s, SLOT(1), 0);
                req(&s, SLOT(2), with_op(enc_create_max("op", 4096, 0), 1));
                req(&s, SLOT(2), with_op(enc_create_max("op2", 4096, 0), 1));
                /* An operation id on a request that takes none, set by hand. */
                len = enc_name(SHMB_MSG_STAT, "op2");
                msg[0] = 2;
                msg[4] = SHMB_HDR_OP_ID;
                memset(msg + len, 0x42, SHMB_OP_ID_SIZE);
                len += SHMB_OP_ID_SIZE;
                msg[8] = (uint8_t)len;
                req(&s, SLOT(2), len);
                len = enc_list(0, 0);
                req(&s, SLOT(3), v2 ? proto_frame_request(msg, (size_t)len, SHMB_PROTO_VERSION_MAX) : len);
                server_seed(v2 ? "opids" : "opids-on-version-1", &s);
        }

        /* Sizes: short, header-only, oversized (length 0xffff), and a lying length field. */
        seed_init(&s, SETUP_HELLO);
        rec(&s, SLOT(0) | PUMP, "abc", 3);
        enc_list(0, 0);
        req(&s, SLOT(1), SHMB_HEADER_SIZE);
        len = enc_list(0, 0);
        msg[8] ^= 0x10;
        req(&s, SLOT(3), len);
        /* Last: length 0xffff takes the rest of the input and pads it to SHMB_MSG_MAX + 1 bytes. */
        len = enc_name(SHMB_MSG_STAT, "seg");
        rec(&s, SLOT(2) | PUMP, msg, (size_t)len);
        s.data[s.len - (size_t)len - 3] = 0xff;
        s.data[s.len - (size_t)len - 2] = 0xff;
        server_seed("sizes", &s);
}

int main(int argc, char **argv) {
        char path[4096];

        if (argc != 2) {
                fprintf(stderr, "Usage: gen-corpus DIR\n");
                return EXIT_FAILURE;
        }
        out_dir = argv[1];
        for (size_t i = 0; i < 2; i++) {
                snprintf(path, sizeof(path), "%s/%s", out_dir, i == 0 ? "proto" : "server");
                if (mkdir(out_dir, 0755) < 0 && errno != EEXIST)
                        die(out_dir);
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        die(path);
        }
        gen_proto();
        gen_server();
        return EXIT_SUCCESS;
}
