/*
 * Fuzz target: the protocol decoders over arbitrary bytes.
 *
 * One input is one datagram. It goes through the request decoder (as the
 * daemon sees it on a version-1 and on a version-2 connection), through
 * proto_frame_request() (as the library sends a request again), and through
 * every reply decoder (as the library sees it), the error text decoder with
 * several output sizes. Oracles besides the sanitizers: a request that
 * decodes re-encodes to the same bytes (its operation id included), an
 * operation id is accepted only where the protocol allows one, and every
 * decoded name is valid and NUL-terminated within its buffer.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/shmb-proto.h"
#include "tests/fuzz/fuzz.h"

static void check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-proto: %s\n", what);
                abort();
        }
}

static void check_name(const char *name, size_t size) {
        size_t n = strnlen(name, size);

        check(n < size, "decoded name not NUL-terminated");
        check(proto_name_valid(name, n), "decoder accepted an invalid name");
}

/* Encode @req again with the public encoders. */
static int reencode(const ProtoRequest *req, uint8_t *out, size_t size) {
        const ProtoHeader *h = &req->hdr;
        ProtoBuf b;

        proto_buf_init(&b, out, size);
        switch (h->type) {
        case SHMB_MSG_HELLO:
                return proto_encode_hello(&b, h->req_id, req->hello.min_version, req->hello.max_version);
        case SHMB_MSG_CREATE:
                return proto_encode_create_full(&b, h->req_id,
                                                &(ProtoCreate){
                                                        .name = req->create.name,
                                                        .size = req->create.size,
                                                        .mode = req->create.mode,
                                                        .lifetime = req->create.lifetime,
                                                        .backend = req->create.backend,
                                                        .flags = req->create.flags,
                                                        .ttl_sec = req->create.ttl_sec,
                                                        .max_size = req->create.max_size,
                                                });
        case SHMB_MSG_OPEN:
                return proto_encode_open_wait(&b, h->req_id, req->open.name, req->open.flags, req->open.timeout_ms);
        case SHMB_MSG_RESIZE:
                return proto_encode_resize(&b, h->req_id, req->resize.name, req->resize.size);
        case SHMB_MSG_WATCH:
                return proto_encode_watch(&b, h->req_id, req->watch.pattern, req->watch.flags);
        case SHMB_MSG_UNWATCH:
                return proto_encode_unwatch(&b, h->req_id, req->unwatch.watch_id);
        case SHMB_MSG_RECLAIM:
                return proto_encode_reclaim(&b, h->req_id, req->reclaim.id, req->reclaim.flags);
        case SHMB_MSG_RELEASE:
                return proto_encode_release(&b, h->req_id, req->release.id);
        case SHMB_MSG_UNLINK:
        case SHMB_MSG_STAT:
        case SHMB_MSG_SYNC:
        case SHMB_MSG_PUBLISH:
                return proto_encode_name_request(&b, h->type, h->req_id, req->stat.name);
        case SHMB_MSG_LIST:
                return proto_encode_list(&b, h->req_id, req->list.after_id, req->list.max_entries);
        }
        check(false, "decoder accepted an unknown type");
        return -1;
}

/* Decode as a connection of @version would; a request that decodes must encode to the same bytes. */
static void fuzz_request(const uint8_t *data, size_t size, uint16_t version) {
        static uint8_t out[SHMB_MSG_MAX];
        const char *why = NULL;
        ProtoRequest req;
        int s, n;

        s = proto_decode_request_version(data, size, version, &req, &why);
        if (s != 0) {
                check(s > 0 && s < _SHMB_STATUS_MAX, "decoder returned a status out of range");
                check(why && *why, "refusal without a reason");
                return;
        }
        check(why == NULL, "accepted request with a reason set");
        switch (req.hdr.type) {
        case SHMB_MSG_CREATE:
                check_name(req.create.name, sizeof(req.create.name));
                break;
        case SHMB_MSG_OPEN:
                check_name(req.open.name, sizeof(req.open.name));
                break;
        case SHMB_MSG_UNLINK:
        case SHMB_MSG_STAT:
        case SHMB_MSG_SYNC:
        case SHMB_MSG_PUBLISH:
                check_name(req.stat.name, sizeof(req.stat.name));
                break;
        case SHMB_MSG_RESIZE:
                check_name(req.resize.name, sizeof(req.resize.name));
                break;
        }
        check(req.op_id == 0 || (version >= SHMB_PROTO_VERSION_OP_ID && proto_type_takes_op_id(req.hdr.type)),
              "operation id accepted where none belongs");
        n = reencode(&req, out, sizeof(out));
        check(n >= 0, "a decoded request does not encode");
        if (req.hdr.type != SHMB_MSG_HELLO) {
                if (req.op_id) {
                        ProtoBuf b = { .data = out, .size = sizeof(out), .len = (size_t)n };

                        n = proto_add_op_id(&b, req.op_id);
                } else {
                        n = proto_frame_request(out, (size_t)n, version);
                }
                check(n >= 0, "a decoded request does not take its version or operation id again");
        }
        /* HELLO carries max_version in the header's version field; the encoder writes exactly that. */
        if (req.hdr.type == SHMB_MSG_HELLO && req.hdr.version != req.hello.max_version)
                return;
        check((size_t)n == size && memcmp(out, data, size) == 0, "decode then encode changed the bytes");
}

static void fuzz_replies(const uint8_t *data, size_t size) {
        static const size_t text_sizes[] = { 1, 2, 16, SHMB_ERROR_TEXT_MAX + 1, SHMB_MSG_MAX };
        static char text[SHMB_MSG_MAX];
        ProtoHelloReply hr;
        ProtoSegInfo si;
        ProtoHeader h;
        uint64_t next;
        uint32_t count, flags;
        size_t off;

        (void)proto_decode_header(data, size, &h);
        if (proto_decode_hello_reply(data, size, &hr) == 0)
                check(strnlen(hr.server, sizeof(hr.server)) < sizeof(hr.server), "server text not terminated");
        if (proto_decode_seginfo_reply(data, size, &si) == 0)
                check_name(si.name, sizeof(si.name));
        {
                ProtoEvent ev;

                if (proto_decode_event(data, size, &ev) == 0)
                        check(ev.kind > 0 && ev.kind < _PROTO_EVENT_MAX &&
                                      strnlen(ev.name, sizeof(ev.name)) < sizeof(ev.name),
                              "event decoded with a bad kind or an unterminated name");
        }
        for (size_t i = 0; i < sizeof(text_sizes) / sizeof(text_sizes[0]); i++)
                if (proto_decode_error_text(data, size, text, text_sizes[i]) == 0)
                        check(strnlen(text, text_sizes[i]) < text_sizes[i], "error text not terminated");
        if (proto_decode_list_reply(data, size, &count, &flags, &next, &off) == 0) {
                check(off <= size, "list records start past the end");
                for (uint32_t i = 0; i < count; i++) {
                        size_t before = off;

                        if (proto_decode_seginfo_at(data, size, &off, &si) < 0)
                                break;
                        check(off > before && off <= size, "list record cursor did not advance within bounds");
                        check_name(si.name, sizeof(si.name));
                }
        }
}

/* Fitting a request to a connection's version never grows it, and leaves a request. */
static void fuzz_frame(const uint8_t *data, size_t size) {
        static uint8_t copy[SHMB_MSG_MAX];
        ProtoHeader h;

        for (uint16_t version = SHMB_PROTO_VERSION_MIN; version <= SHMB_PROTO_VERSION_MAX; version++) {
                int n;

                memcpy(copy, data, size);
                n = proto_frame_request(copy, size, version);
                if (n < 0)
                        continue;
                check((size_t)n <= size, "framing grew the request");
                check(proto_decode_header(copy, (size_t)n, &h) == 0 && h.version == version,
                      "framing left a bad header");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > SHMB_MSG_MAX)
                return 0;
        fuzz_request(data, size, SHMB_PROTO_VERSION);
        fuzz_request(data, size, SHMB_PROTO_VERSION_OP_ID);
        fuzz_frame(data, size);
        fuzz_replies(data, size);
        return 0;
}
