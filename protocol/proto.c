/*
 * Encoding and decoding of protocol messages over caller buffers (the
 * operation ids of version 2 are encoded in proto-op.c).
 * All integers are little-endian. Decoders bound every length against the
 * bytes present and require each payload to have its exact size.
 */

#include <errno.h>
#include <string.h>

#include "protocol/shmb-proto.h"

typedef struct Reader {
        const uint8_t *p;
        size_t len;
        size_t off;
        bool short_read;
} Reader;

static void reader_init(Reader *r, const void *buf, size_t len, size_t off) {
        *r = (Reader){ .p = buf, .len = len, .off = off };
}

static bool reader_take(Reader *r, size_t n, const uint8_t **ret) {
        if (r->short_read || r->off > r->len || r->len - r->off < n) {
                r->short_read = true;
                return false;
        }
        *ret = r->p + r->off;
        r->off += n;
        return true;
}

static uint8_t get_u8(Reader *r) {
        const uint8_t *p;

        return reader_take(r, 1, &p) ? p[0] : 0;
}

static uint16_t get_u16(Reader *r) {
        const uint8_t *p;

        return reader_take(r, 2, &p) ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

static uint32_t get_u32(Reader *r) {
        const uint8_t *p;

        if (!reader_take(r, 4, &p))
                return 0;
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(Reader *r) {
        uint64_t lo = get_u32(r);

        return lo | (uint64_t)get_u32(r) << 32;
}

/* A length-prefixed string into @out (NUL-terminated); false if too long or short. */
static bool get_str(Reader *r, char *out, size_t out_size, size_t *ret_len) {
        uint16_t n = get_u16(r);
        const uint8_t *p;

        if (r->short_read || n >= out_size || !reader_take(r, n, &p))
                return false;
        memcpy(out, p, n);
        out[n] = 0;
        if (ret_len)
                *ret_len = n;
        return true;
}

static bool reader_done(const Reader *r) {
        return !r->short_read && r->off == r->len;
}

/**
 * proto_name_valid() - whether a segment name is acceptable
 * @name:       bytes of the name (need not be NUL-terminated)
 * @len:        its length
 *
 * A name is 1 to SHMB_NAME_MAX bytes of [A-Za-z0-9._-] not starting with
 * '.' or '-'.
 *
 * Return: true if valid.
 */
bool proto_name_valid(const char *name, size_t len) {
        if (len == 0 || len > SHMB_NAME_MAX || name[0] == '.' || name[0] == '-')
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = name[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/**
 * proto_prefix_valid() - whether a name prefix (for WATCH) is acceptable
 * @prefix:     bytes
 * @len:        length, 0 to SHMB_NAME_MAX (empty matches every name)
 *
 * Return: true if every byte is a name character and it does not start
 * with '.' or '-'.
 */
bool proto_prefix_valid(const char *prefix, size_t len) {
        return len == 0 || proto_name_valid(prefix, len);
}

static const struct {
        const char *name;
        const char *text;
        int err;
} status_table[_SHMB_STATUS_MAX] = {
        [SHMB_STATUS_OK] = { "OK", "success", 0 },
        [SHMB_STATUS_INVALID] = { "INVALID", "invalid request", EINVAL },
        [SHMB_STATUS_BAD_NAME] = { "BAD_NAME", "invalid segment name", EINVAL },
        [SHMB_STATUS_NOT_FOUND] = { "NOT_FOUND", "no such segment", ENOENT },
        [SHMB_STATUS_EXISTS] = { "EXISTS", "segment exists", EEXIST },
        [SHMB_STATUS_DENIED] = { "DENIED", "permission denied", EACCES },
        [SHMB_STATUS_NOT_OWNER] = { "NOT_OWNER", "only the owner may do this", EPERM },
        [SHMB_STATUS_NOT_HELD] = { "NOT_HELD", "segment not held by this connection", EBADF },
        [SHMB_STATUS_TOO_LARGE] = { "TOO_LARGE", "segment too large", EFBIG },
        [SHMB_STATUS_NO_SPACE] = { "NO_SPACE", "no memory or space for the segment", ENOSPC },
        [SHMB_STATUS_QUOTA] = { "QUOTA", "limit reached", EDQUOT },
        [SHMB_STATUS_NO_MEMORY] = { "NO_MEMORY", "daemon out of memory", ENOMEM },
        [SHMB_STATUS_UNSUPPORTED] = { "UNSUPPORTED", "not supported", EOPNOTSUPP },
        [SHMB_STATUS_VERSION] = { "VERSION", "protocol version not supported", EPROTONOSUPPORT },
        [SHMB_STATUS_PROTOCOL] = { "PROTOCOL", "protocol violation", EPROTO },
        [SHMB_STATUS_INTERNAL] = { "INTERNAL", "internal error in the daemon", EIO },
};

/**
 * proto_status_name() - symbolic name of a status ("NOT_FOUND")
 * @status:     status code
 *
 * Return: a static string; "UNKNOWN" for codes this version does not know.
 */
const char *proto_status_name(int status) {
        if (status < 0 || status >= _SHMB_STATUS_MAX)
                return "UNKNOWN";
        return status_table[status].name;
}

/**
 * proto_status_text() - short human description of a status
 * @status:     status code
 *
 * Return: a static string.
 */
const char *proto_status_text(int status) {
        if (status < 0 || status >= _SHMB_STATUS_MAX)
                return "unknown status";
        return status_table[status].text;
}

/**
 * proto_status_to_errno() - errno a status maps to (positive)
 * @status:     status code
 *
 * Return: the errno value, 0 for OK, EPROTO for unknown codes.
 */
int proto_status_to_errno(int status) {
        if (status < 0 || status >= _SHMB_STATUS_MAX)
                return EPROTO;
        return status_table[status].err;
}

/**
 * proto_type_name() - name of a request type, for logs
 * @type:       message type (reply bit ignored)
 *
 * Return: a static string.
 */
const char *proto_type_name(uint16_t type) {
        static const char *const names[_SHMB_MSG_REQUEST_MAX] = {
                [SHMB_MSG_HELLO] = "hello",   [SHMB_MSG_CREATE] = "create", [SHMB_MSG_OPEN] = "open",
                [SHMB_MSG_RELEASE] = "release", [SHMB_MSG_UNLINK] = "unlink", [SHMB_MSG_STAT] = "stat",
                [SHMB_MSG_LIST] = "list",     [SHMB_MSG_SYNC] = "sync",     [SHMB_MSG_RECLAIM] = "reclaim",
                [SHMB_MSG_RESIZE] = "resize", [SHMB_MSG_PUBLISH] = "publish", [SHMB_MSG_WATCH] = "watch",
                [SHMB_MSG_UNWATCH] = "unwatch",
        };

        type &= (uint16_t)~SHMB_MSG_REPLY;
        if (type == SHMB_MSG_EVENT)
                return "event";
        if (type == 0 || type >= _SHMB_MSG_REQUEST_MAX || !names[type])
                return "unknown";
        return names[type];
}

/**
 * proto_decode_header() - read the fixed header of a datagram
 * @buf:        datagram
 * @len:        its size in bytes
 * @ret:        decoded header
 *
 * Return: 0, or SHMB_STATUS_INVALID if @len is shorter than a header or the
 * length field does not match @len (@ret is filled whenever @len allows).
 */
int proto_decode_header(const void *buf, size_t len, ProtoHeader *ret) {
        Reader r;

        if (len < SHMB_HEADER_SIZE)
                return SHMB_STATUS_INVALID;
        reader_init(&r, buf, len, 0);
        ret->version = get_u16(&r);
        ret->type = get_u16(&r);
        ret->flags = get_u16(&r);
        ret->status = get_u16(&r);
        ret->length = get_u32(&r);
        ret->req_id = get_u32(&r);
        if (ret->length != len)
                return SHMB_STATUS_INVALID;
        return 0;
}

static int get_name(Reader *r, char *out, const char **why) {
        size_t n;

        if (!get_str(r, out, SHMB_NAME_MAX + 1, &n)) {
                *why = r->short_read ? "payload too short for the name" : "name longer than 255 bytes";
                return r->short_read ? SHMB_STATUS_INVALID : SHMB_STATUS_BAD_NAME;
        }
        if (!proto_name_valid(out, n) || memchr(out, 0, n)) {
                *why = "name must be 1-255 bytes of [A-Za-z0-9._-], not starting with '.' or '-'";
                return SHMB_STATUS_BAD_NAME;
        }
        return 0;
}

/* The version and flag rules of the header; strips an operation id off the end (*len shrinks). */
static int check_header(const uint8_t *buf, size_t *len, uint16_t version, ProtoRequest *ret, const char **ret_why) {
        const ProtoHeader *h = &ret->hdr;
        uint16_t allowed = 0;
        Reader r;

        if (h->type != SHMB_MSG_HELLO && h->version != version) {
                *ret_why = version == SHMB_PROTO_VERSION ? "message version is not the negotiated version 1"
                                                         : "message version is not the negotiated version 2";
                return SHMB_STATUS_VERSION;
        }
        if (version >= SHMB_PROTO_VERSION_OP_ID && h->type != SHMB_MSG_HELLO)
                allowed = SHMB_HDR_OP_ID;
        if ((h->flags & ~allowed) || h->status != 0) {
                *ret_why = allowed ? "header status must be zero, and flags other than OP_ID (0x0001) too"
                                   : "header flags and status must be zero in requests";
                return SHMB_STATUS_INVALID;
        }
        if (!(h->flags & SHMB_HDR_OP_ID))
                return 0;
        if (!proto_type_takes_op_id(h->type)) {
                *ret_why = "only CREATE, UNLINK, RESIZE and PUBLISH carry an operation id";
                return SHMB_STATUS_INVALID;
        }
        if (*len < SHMB_HEADER_SIZE + SHMB_OP_ID_SIZE) {
                *ret_why = "datagram too short for the operation id";
                return SHMB_STATUS_INVALID;
        }
        *len -= SHMB_OP_ID_SIZE;
        reader_init(&r, buf, *len + SHMB_OP_ID_SIZE, *len);
        ret->op_id = get_u64(&r);
        if (ret->op_id == 0) {
                *ret_why = "operation id 0 is not allowed";
                return SHMB_STATUS_INVALID;
        }
        return 0;
}

/**
 * proto_decode_request() - proto_decode_request_version() for a version 1 connection
 * @buf:        datagram
 * @len:        its size
 * @ret:        decoded request
 * @ret_why:    on failure, a static explanation
 *
 * Return: 0, or a positive SHMB_STATUS_* describing what is wrong.
 */
int proto_decode_request(const void *buf, size_t len, ProtoRequest *ret, const char **ret_why) {
        return proto_decode_request_version(buf, len, SHMB_PROTO_VERSION, ret, ret_why);
}

/**
 * proto_decode_request_version() - decode and validate a whole request datagram
 * @buf:        datagram
 * @len:        its size
 * @version:    the connection's negotiated version (1 until HELLO is accepted)
 * @ret:        decoded request (header filled even on most failures)
 * @ret_why:    on failure, a static explanation
 *
 * Checks the header, the type, the exact payload size, reserved fields,
 * flag bits, names, modes and enums; with @version 2, also the operation id
 * a request may carry at its end (PROTOCOL.md section 5.17). Whether the
 * daemon can honour a valid request (backend availability, limits) is not
 * decided here.
 *
 * Return: 0, or a positive SHMB_STATUS_* describing what is wrong.
 */
int proto_decode_request_version(const void *buf, size_t len, uint16_t version, ProtoRequest *ret,
                                 const char **ret_why) {
        ProtoHeader *h = &ret->hdr;
        Reader r;
        int s;

        memset(ret, 0, sizeof(*ret));
        if (proto_decode_header(buf, len, h) != 0) {
                *ret_why = len < SHMB_HEADER_SIZE ? "datagram shorter than the 16-byte header"
                                                  : "length field does not match the datagram size";
                return SHMB_STATUS_INVALID;
        }
        if (h->type & SHMB_MSG_REPLY) {
                *ret_why = "reply type sent as a request";
                return SHMB_STATUS_INVALID;
        }
        if (h->type == 0 || h->type >= _SHMB_MSG_REQUEST_MAX || !strcmp(proto_type_name(h->type), "unknown")) {
                *ret_why = "unknown message type";
                return SHMB_STATUS_UNSUPPORTED;
        }
        s = check_header(buf, &len, version, ret, ret_why);
        if (s)
                return s;

        reader_init(&r, buf, len, SHMB_HEADER_SIZE);
        switch (h->type) {
        case SHMB_MSG_HELLO:
                ret->hello.min_version = get_u16(&r);
                ret->hello.max_version = get_u16(&r);
                if (get_u32(&r) != 0 && !r.short_read) {
                        *ret_why = "reserved field must be zero";
                        return SHMB_STATUS_INVALID;
                }
                if (reader_done(&r) && ret->hello.min_version > ret->hello.max_version) {
                        *ret_why = "min_version is above max_version";
                        return SHMB_STATUS_INVALID;
                }
                break;
        case SHMB_MSG_CREATE:
                ret->create.size = get_u64(&r);
                ret->create.mode = get_u32(&r);
                ret->create.lifetime = get_u8(&r);
                ret->create.backend = get_u8(&r);
                ret->create.flags = get_u16(&r);
                ret->create.ttl_sec = get_u32(&r);
                ret->create.max_size = get_u64(&r);
                s = get_name(&r, ret->create.name, ret_why);
                if (s)
                        return s;
                if (ret->create.size == 0) {
                        *ret_why = "size must be at least 1 byte";
                        return SHMB_STATUS_INVALID;
                }
                if (ret->create.mode & ~0777u) {
                        *ret_why = "mode has bits outside 0777";
                        return SHMB_STATUS_INVALID;
                }
                if (ret->create.lifetime >= _PROTO_LIFETIME_MAX) {
                        *ret_why = "unknown lifetime policy";
                        return SHMB_STATUS_UNSUPPORTED;
                }
                if (ret->create.backend >= _PROTO_BACKEND_MAX) {
                        *ret_why = "unknown backend";
                        return SHMB_STATUS_UNSUPPORTED;
                }
                if (ret->create.flags & ~PROTO_CREATE_FLAGS_ALL) {
                        *ret_why = "unknown create flags";
                        return SHMB_STATUS_UNSUPPORTED;
                }
                if ((ret->create.lifetime == PROTO_LIFETIME_TTL) != (ret->create.ttl_sec != 0)) {
                        *ret_why = "ttl_sec must be at least 1 with lifetime ttl and 0 otherwise";
                        return SHMB_STATUS_INVALID;
                }
                if (ret->create.max_size && ret->create.max_size < ret->create.size) {
                        *ret_why = "max_size is below size";
                        return SHMB_STATUS_INVALID;
                }
                break;
        case SHMB_MSG_OPEN:
                ret->open.flags = get_u16(&r);
                if (get_u16(&r) != 0 && !r.short_read) {
                        *ret_why = "reserved field must be zero";
                        return SHMB_STATUS_INVALID;
                }
                ret->open.timeout_ms = get_u32(&r);
                s = get_name(&r, ret->open.name, ret_why);
                if (s)
                        return s;
                if (ret->open.flags & ~PROTO_OPEN_FLAGS_ALL) {
                        *ret_why = "unknown open flags";
                        return SHMB_STATUS_UNSUPPORTED;
                }
                if (ret->open.timeout_ms > PROTO_OPEN_TIMEOUT_MAX) {
                        *ret_why = "timeout_ms is above 3600000 (one hour)";
                        return SHMB_STATUS_INVALID;
                }
                break;
        case SHMB_MSG_RESIZE:
                ret->resize.size = get_u64(&r);
                s = get_name(&r, ret->resize.name, ret_why);
                if (s)
                        return s;
                if (ret->resize.size == 0) {
                        *ret_why = "size must be at least 1 byte";
                        return SHMB_STATUS_INVALID;
                }
                break;
        case SHMB_MSG_WATCH: {
                size_t n;

                ret->watch.flags = get_u16(&r);
                if ((get_u16(&r) != 0 || get_u32(&r) != 0) && !r.short_read) {
                        *ret_why = "reserved fields must be zero";
                        return SHMB_STATUS_INVALID;
                }
                if (!get_str(&r, ret->watch.pattern, sizeof(ret->watch.pattern), &n)) {
                        *ret_why = r.short_read ? "payload too short for the pattern" : "pattern longer than 255 bytes";
                        return r.short_read ? SHMB_STATUS_INVALID : SHMB_STATUS_BAD_NAME;
                }
                if (ret->watch.flags & ~PROTO_WATCH_FLAGS_ALL) {
                        *ret_why = "unknown watch flags";
                        return SHMB_STATUS_UNSUPPORTED;
                }
                if (memchr(ret->watch.pattern, 0, n) ||
                    !((ret->watch.flags & PROTO_WATCH_PREFIX) ? proto_prefix_valid(ret->watch.pattern, n)
                                                              : proto_name_valid(ret->watch.pattern, n))) {
                        *ret_why = "pattern must be a valid name, or with the prefix flag a valid start of one";
                        return SHMB_STATUS_BAD_NAME;
                }
                break;
        }
        case SHMB_MSG_UNWATCH:
                ret->unwatch.watch_id = get_u32(&r);
                if (get_u32(&r) != 0 && !r.short_read) {
                        *ret_why = "reserved field must be zero";
                        return SHMB_STATUS_INVALID;
                }
                break;
        case SHMB_MSG_RELEASE:
                ret->release.id = get_u64(&r);
                break;
        case SHMB_MSG_UNLINK:
        case SHMB_MSG_STAT:
        case SHMB_MSG_SYNC:
        case SHMB_MSG_PUBLISH:
                /* unlink, stat, sync and publish share one layout: the name. */
                s = get_name(&r, ret->stat.name, ret_why);
                if (s)
                        return s;
                break;
        case SHMB_MSG_LIST:
                ret->list.after_id = get_u64(&r);
                ret->list.max_entries = get_u32(&r);
                if (get_u32(&r) != 0 && !r.short_read) {
                        *ret_why = "reserved field must be zero";
                        return SHMB_STATUS_INVALID;
                }
                break;
        case SHMB_MSG_RECLAIM:
                ret->reclaim.id = get_u64(&r);
                ret->reclaim.flags = get_u16(&r);
                if ((get_u16(&r) != 0 || get_u32(&r) != 0) && !r.short_read) {
                        *ret_why = "reserved fields must be zero";
                        return SHMB_STATUS_INVALID;
                }
                if (!r.short_read && ret->reclaim.id == 0) {
                        *ret_why = "segment id 0 does not exist";
                        return SHMB_STATUS_INVALID;
                }
                if (ret->reclaim.flags & ~PROTO_RECLAIM_FLAGS_ALL) {
                        *ret_why = "unknown reclaim flags";
                        return SHMB_STATUS_UNSUPPORTED;
                }
                break;
        }
        if (!reader_done(&r)) {
                *ret_why = r.short_read ? "payload too short for this message type"
                                        : "payload longer than this message type";
                return SHMB_STATUS_INVALID;
        }
        *ret_why = NULL;
        return 0;
}

/**
 * proto_buf_init() - start encoding into @data
 * @b:          buffer cursor
 * @data:       memory to fill
 * @size:       its size (at most SHMB_MSG_MAX is ever used)
 */
void proto_buf_init(ProtoBuf *b, void *data, size_t size) {
        *b = (ProtoBuf){ .data = data, .size = size < SHMB_MSG_MAX ? size : SHMB_MSG_MAX };
}

static uint8_t *buf_reserve(ProtoBuf *b, size_t n) {
        uint8_t *p;

        if (b->overflow || b->size - b->len < n) {
                b->overflow = true;
                return NULL;
        }
        p = b->data + b->len;
        b->len += n;
        return p;
}

/**
 * proto_put_u8() / proto_put_u16() / proto_put_u32() / proto_put_u64() - append integers
 * @b:          buffer
 * @v:          value, written little-endian; overflow is remembered in @b
 */
void proto_put_u8(ProtoBuf *b, uint8_t v) {
        uint8_t *p = buf_reserve(b, 1);

        if (p)
                p[0] = v;
}

void proto_put_u16(ProtoBuf *b, uint16_t v) {
        uint8_t *p = buf_reserve(b, 2);

        if (p) {
                p[0] = (uint8_t)v;
                p[1] = (uint8_t)(v >> 8);
        }
}

void proto_put_u32(ProtoBuf *b, uint32_t v) {
        proto_put_u16(b, (uint16_t)v);
        proto_put_u16(b, (uint16_t)(v >> 16));
}

void proto_put_u64(ProtoBuf *b, uint64_t v) {
        proto_put_u32(b, (uint32_t)v);
        proto_put_u32(b, (uint32_t)(v >> 32));
}

/**
 * proto_put_str() - append a u16 length and the bytes of a string
 * @b:          buffer
 * @s:          bytes
 * @len:        length (at most 65535)
 */
void proto_put_str(ProtoBuf *b, const char *s, size_t len) {
        uint8_t *p;

        if (len > UINT16_MAX) {
                b->overflow = true;
                return;
        }
        proto_put_u16(b, (uint16_t)len);
        p = buf_reserve(b, len);
        if (p && len)
                memcpy(p, s, len);
}

/**
 * proto_put_header() - append a header whose length is patched by proto_finish()
 * @b:          buffer, must be empty
 * @type:       message type
 * @status:     status (0 in requests)
 * @req_id:     request id
 */
void proto_put_header(ProtoBuf *b, uint16_t type, uint16_t status, uint32_t req_id) {
        proto_put_u16(b, SHMB_PROTO_VERSION);
        proto_put_u16(b, type);
        proto_put_u16(b, 0);
        proto_put_u16(b, status);
        proto_put_u32(b, 0);
        proto_put_u32(b, req_id);
}

/**
 * proto_put_seginfo() - append a segment-info record
 * @b:          buffer
 * @si:         record
 */
void proto_put_seginfo(ProtoBuf *b, const ProtoSegInfo *si) {
        proto_put_u64(b, si->id);
        proto_put_u64(b, si->size);
        proto_put_u32(b, si->uid);
        proto_put_u32(b, si->gid);
        proto_put_u32(b, si->mode);
        proto_put_u32(b, si->holders);
        proto_put_u8(b, si->backend);
        proto_put_u8(b, si->lifetime);
        proto_put_u16(b, si->flags);
        proto_put_u32(b, (uint32_t)si->shmid);
        proto_put_u32(b, si->ttl_sec);
        proto_put_u32(b, 0);
        proto_put_u64(b, si->created_usec);
        proto_put_u64(b, si->max_size);
        proto_put_str(b, si->name, strnlen(si->name, SHMB_NAME_MAX));
}

/**
 * proto_finish() - patch the length field
 * @b:          buffer holding one message
 *
 * Return: the message length, or -EMSGSIZE if anything did not fit.
 */
int proto_finish(ProtoBuf *b) {
        if (b->overflow || b->len < SHMB_HEADER_SIZE)
                return -EMSGSIZE;
        b->data[8] = (uint8_t)b->len;
        b->data[9] = (uint8_t)(b->len >> 8);
        b->data[10] = (uint8_t)(b->len >> 16);
        b->data[11] = (uint8_t)(b->len >> 24);
        return (int)b->len;
}

/**
 * proto_encode_hello() - HELLO request
 * @b:          empty buffer
 * @req_id:     request id
 * @min_version: lowest version the client speaks
 * @max_version: highest version the client speaks
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_hello(ProtoBuf *b, uint32_t req_id, uint16_t min_version, uint16_t max_version) {
        proto_put_header(b, SHMB_MSG_HELLO, 0, req_id);
        if (!b->overflow) {
                /* The header of a HELLO carries the highest version spoken. */
                b->data[0] = (uint8_t)max_version;
                b->data[1] = (uint8_t)(max_version >> 8);
        }
        proto_put_u16(b, min_version);
        proto_put_u16(b, max_version);
        proto_put_u32(b, 0);
        return proto_finish(b);
}

/**
 * proto_encode_create() - CREATE request without ttl or max_size
 * @b:          empty buffer
 * @req_id:     request id
 * @name:       segment name (NUL-terminated, not validated here)
 * @size:       size in bytes
 * @mode:       permission bits (0..0777)
 * @lifetime:   PROTO_LIFETIME_* (not TTL)
 * @backend:    PROTO_BACKEND_*
 * @flags:      PROTO_CREATE_*
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_create(ProtoBuf *b, uint32_t req_id, const char *name, uint64_t size, uint32_t mode,
                        uint8_t lifetime, uint8_t backend, uint16_t flags) {
        ProtoCreate c = {
                .name = name, .size = size, .mode = mode, .lifetime = lifetime, .backend = backend, .flags = flags,
        };

        return proto_encode_create_full(b, req_id, &c);
}

/**
 * proto_encode_create_full() - CREATE request with every field
 * @b:          empty buffer
 * @req_id:     request id
 * @c:          fields (name NUL-terminated, not validated here)
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_create_full(ProtoBuf *b, uint32_t req_id, const ProtoCreate *c) {
        proto_put_header(b, SHMB_MSG_CREATE, 0, req_id);
        proto_put_u64(b, c->size);
        proto_put_u32(b, c->mode);
        proto_put_u8(b, c->lifetime);
        proto_put_u8(b, c->backend);
        proto_put_u16(b, c->flags);
        proto_put_u32(b, c->ttl_sec);
        proto_put_u64(b, c->max_size);
        proto_put_str(b, c->name, strlen(c->name));
        return proto_finish(b);
}

/**
 * proto_encode_open() - OPEN request that does not wait
 * @b:          empty buffer
 * @req_id:     request id
 * @name:       segment name
 * @flags:      PROTO_OPEN_*
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_open(ProtoBuf *b, uint32_t req_id, const char *name, uint16_t flags) {
        return proto_encode_open_wait(b, req_id, name, flags, 0);
}

/**
 * proto_encode_open_wait() - OPEN request
 * @b:          empty buffer
 * @req_id:     request id
 * @name:       segment name
 * @flags:      PROTO_OPEN_*
 * @timeout_ms: how long to wait for the name to appear (0: fail at once)
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_open_wait(ProtoBuf *b, uint32_t req_id, const char *name, uint16_t flags, uint32_t timeout_ms) {
        proto_put_header(b, SHMB_MSG_OPEN, 0, req_id);
        proto_put_u16(b, flags);
        proto_put_u16(b, 0);
        proto_put_u32(b, timeout_ms);
        proto_put_str(b, name, strlen(name));
        return proto_finish(b);
}

/**
 * proto_encode_resize() - RESIZE request
 * @b:          empty buffer
 * @req_id:     request id
 * @name:       segment name
 * @size:       new size in bytes (not smaller than the current one)
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_resize(ProtoBuf *b, uint32_t req_id, const char *name, uint64_t size) {
        proto_put_header(b, SHMB_MSG_RESIZE, 0, req_id);
        proto_put_u64(b, size);
        proto_put_str(b, name, strlen(name));
        return proto_finish(b);
}

/**
 * proto_encode_watch() - WATCH request
 * @b:          empty buffer
 * @req_id:     request id
 * @pattern:    a name, or with PROTO_WATCH_PREFIX a prefix ("" for all)
 * @flags:      PROTO_WATCH_*
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_watch(ProtoBuf *b, uint32_t req_id, const char *pattern, uint16_t flags) {
        proto_put_header(b, SHMB_MSG_WATCH, 0, req_id);
        proto_put_u16(b, flags);
        proto_put_u16(b, 0);
        proto_put_u32(b, 0);
        proto_put_str(b, pattern, strlen(pattern));
        return proto_finish(b);
}

/**
 * proto_encode_unwatch() - UNWATCH request
 * @b:          empty buffer
 * @req_id:     request id
 * @watch_id:   from the WATCH reply
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_unwatch(ProtoBuf *b, uint32_t req_id, uint32_t watch_id) {
        proto_put_header(b, SHMB_MSG_UNWATCH, 0, req_id);
        proto_put_u32(b, watch_id);
        proto_put_u32(b, 0);
        return proto_finish(b);
}

/**
 * proto_encode_event() - an EVENT notice (req_id 0)
 * @b:          empty buffer
 * @e:          the event
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_event(ProtoBuf *b, const ProtoEvent *e) {
        proto_put_header(b, SHMB_MSG_EVENT, 0, 0);
        proto_put_u8(b, e->kind);
        proto_put_u8(b, 0);
        proto_put_u16(b, e->flags);
        proto_put_u32(b, e->watch_id);
        proto_put_u64(b, e->seq);
        proto_put_u64(b, e->id);
        proto_put_u64(b, e->size);
        proto_put_u64(b, e->dropped);
        proto_put_str(b, e->name, strnlen(e->name, SHMB_NAME_MAX));
        return proto_finish(b);
}

/**
 * proto_decode_event() - payload of an EVENT notice
 * @buf:        whole datagram (header already checked to be SHMB_MSG_EVENT)
 * @len:        its size
 * @ret:        the event
 *
 * Return: 0, or -EBADMSG if malformed or of an unknown kind.
 */
int proto_decode_event(const void *buf, size_t len, ProtoEvent *ret) {
        Reader r;
        size_t n;

        reader_init(&r, buf, len, SHMB_HEADER_SIZE);
        ret->kind = get_u8(&r);
        (void)get_u8(&r);
        ret->flags = get_u16(&r);
        ret->watch_id = get_u32(&r);
        ret->seq = get_u64(&r);
        ret->id = get_u64(&r);
        ret->size = get_u64(&r);
        ret->dropped = get_u64(&r);
        if (!get_str(&r, ret->name, sizeof(ret->name), &n) || !reader_done(&r))
                return -EBADMSG;
        if (ret->kind == 0 || ret->kind >= _PROTO_EVENT_MAX || (n && !proto_name_valid(ret->name, n)))
                return -EBADMSG;
        return 0;
}

/**
 * proto_decode_watch_reply() - payload of a successful WATCH reply
 * @buf:        whole datagram
 * @len:        its size
 * @ret_watch_id: the subscription's id
 *
 * Return: 0, or -EBADMSG if malformed.
 */
int proto_decode_watch_reply(const void *buf, size_t len, uint32_t *ret_watch_id) {
        Reader r;

        reader_init(&r, buf, len, SHMB_HEADER_SIZE);
        *ret_watch_id = get_u32(&r);
        (void)get_u32(&r);
        return reader_done(&r) ? 0 : -EBADMSG;
}

/**
 * proto_encode_release() - RELEASE request
 * @b:          empty buffer
 * @req_id:     request id
 * @id:         segment id from a CREATE/OPEN reply
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_release(ProtoBuf *b, uint32_t req_id, uint64_t id) {
        proto_put_header(b, SHMB_MSG_RELEASE, 0, req_id);
        proto_put_u64(b, id);
        return proto_finish(b);
}

/**
 * proto_encode_name_request() - UNLINK, STAT or SYNC request (payload: the name)
 * @b:          empty buffer
 * @type:       SHMB_MSG_UNLINK, SHMB_MSG_STAT or SHMB_MSG_SYNC
 * @req_id:     request id
 * @name:       segment name
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_name_request(ProtoBuf *b, uint16_t type, uint32_t req_id, const char *name) {
        proto_put_header(b, type, 0, req_id);
        proto_put_str(b, name, strlen(name));
        return proto_finish(b);
}

/**
 * proto_encode_list() - LIST request
 * @b:          empty buffer
 * @req_id:     request id
 * @after_id:   list segments with ids above this (0: from the start)
 * @max_entries: at most this many entries (0: as many as fit)
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_list(ProtoBuf *b, uint32_t req_id, uint64_t after_id, uint32_t max_entries) {
        proto_put_header(b, SHMB_MSG_LIST, 0, req_id);
        proto_put_u64(b, after_id);
        proto_put_u32(b, max_entries);
        proto_put_u32(b, 0);
        return proto_finish(b);
}

/**
 * proto_encode_reclaim() - RECLAIM request
 * @b:          empty buffer
 * @req_id:     request id
 * @id:         segment id from the CREATE or OPEN reply that made the hold
 * @flags:      PROTO_RECLAIM_RDONLY for a read-only open
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_reclaim(ProtoBuf *b, uint32_t req_id, uint64_t id, uint16_t flags) {
        proto_put_header(b, SHMB_MSG_RECLAIM, 0, req_id);
        proto_put_u64(b, id);
        proto_put_u16(b, flags);
        proto_put_u16(b, 0);
        proto_put_u32(b, 0);
        return proto_finish(b);
}

/**
 * proto_encode_error() - error reply: header with @status, payload the text
 * @b:          empty buffer
 * @type:       request type being answered (reply bit added here)
 * @status:     non-zero status
 * @req_id:     request id being answered
 * @text:       explanation (truncated to SHMB_ERROR_TEXT_MAX bytes)
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_error(ProtoBuf *b, uint16_t type, uint16_t status, uint32_t req_id, const char *text) {
        proto_put_header(b, type | SHMB_MSG_REPLY, status, req_id);
        proto_put_str(b, text, strnlen(text, SHMB_ERROR_TEXT_MAX));
        return proto_finish(b);
}

/**
 * proto_encode_hello_reply() - successful HELLO reply
 * @b:          empty buffer
 * @req_id:     request id
 * @h:          contents
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_encode_hello_reply(ProtoBuf *b, uint32_t req_id, const ProtoHelloReply *h) {
        proto_put_header(b, SHMB_MSG_HELLO | SHMB_MSG_REPLY, 0, req_id);
        proto_put_u16(b, h->version);
        proto_put_u16(b, 0);
        proto_put_u32(b, h->max_message);
        proto_put_u32(b, h->max_name);
        proto_put_u32(b, h->uid);
        proto_put_u32(b, h->gid);
        proto_put_u32(b, h->pid);
        proto_put_str(b, h->server, strnlen(h->server, SHMB_VERSION_TEXT_MAX));
        return proto_finish(b);
}

/**
 * proto_decode_hello_reply() - payload of a successful HELLO reply
 * @buf:        whole datagram
 * @len:        its size
 * @ret:        decoded contents
 *
 * Return: 0, or -EBADMSG if malformed.
 */
int proto_decode_hello_reply(const void *buf, size_t len, ProtoHelloReply *ret) {
        Reader r;

        reader_init(&r, buf, len, SHMB_HEADER_SIZE);
        ret->version = get_u16(&r);
        (void)get_u16(&r);
        ret->max_message = get_u32(&r);
        ret->max_name = get_u32(&r);
        ret->uid = get_u32(&r);
        ret->gid = get_u32(&r);
        ret->pid = get_u32(&r);
        if (!get_str(&r, ret->server, sizeof(ret->server), NULL) || !reader_done(&r))
                return -EBADMSG;
        return 0;
}

/**
 * proto_decode_seginfo_at() - one segment-info record at *@offset
 * @buf:        whole datagram
 * @len:        its size
 * @offset:     in: where the record starts; out: just past it
 * @ret:        decoded record
 *
 * Return: 0, or -EBADMSG if it does not fit or its name is invalid.
 */
int proto_decode_seginfo_at(const void *buf, size_t len, size_t *offset, ProtoSegInfo *ret) {
        Reader r;
        size_t n;

        reader_init(&r, buf, len, *offset);
        ret->id = get_u64(&r);
        ret->size = get_u64(&r);
        ret->uid = get_u32(&r);
        ret->gid = get_u32(&r);
        ret->mode = get_u32(&r);
        ret->holders = get_u32(&r);
        ret->backend = get_u8(&r);
        ret->lifetime = get_u8(&r);
        ret->flags = get_u16(&r);
        ret->shmid = (int32_t)get_u32(&r);
        ret->ttl_sec = get_u32(&r);
        (void)get_u32(&r);
        ret->created_usec = get_u64(&r);
        ret->max_size = get_u64(&r);
        if (!get_str(&r, ret->name, sizeof(ret->name), &n) || !proto_name_valid(ret->name, n))
                return -EBADMSG;
        *offset = r.off;
        return 0;
}

/**
 * proto_decode_seginfo_reply() - payload of a CREATE, OPEN or STAT reply
 * @buf:        whole datagram
 * @len:        its size
 * @ret:        decoded record
 *
 * Return: 0, or -EBADMSG if malformed.
 */
int proto_decode_seginfo_reply(const void *buf, size_t len, ProtoSegInfo *ret) {
        size_t off = SHMB_HEADER_SIZE;
        int r = proto_decode_seginfo_at(buf, len, &off, ret);

        if (r < 0)
                return r;
        return off == len ? 0 : -EBADMSG;
}

/**
 * proto_decode_list_reply() - fixed part of a LIST reply
 * @buf:        whole datagram
 * @len:        its size
 * @ret_count:  number of records that follow
 * @ret_flags:  SHMB_LIST_*
 * @ret_next:   the after_id to continue with
 * @ret_offset: where the first record starts
 *
 * Return: 0, or -EBADMSG if malformed.
 */
int proto_decode_list_reply(const void *buf, size_t len, uint32_t *ret_count, uint32_t *ret_flags,
                            uint64_t *ret_next, size_t *ret_offset) {
        Reader r;

        reader_init(&r, buf, len, SHMB_HEADER_SIZE);
        *ret_count = get_u32(&r);
        *ret_flags = get_u32(&r);
        *ret_next = get_u64(&r);
        if (r.short_read)
                return -EBADMSG;
        /* Each record needs at least its fixed part and a 1-byte name. */
        if (*ret_count > (len - r.off) / (SHMB_SEGINFO_FIXED + 2 + 1))
                return -EBADMSG;
        *ret_offset = r.off;
        return 0;
}

/**
 * proto_decode_error_text() - text of an error reply
 * @buf:        whole datagram
 * @len:        its size
 * @text:       output, NUL-terminated
 * @size:       size of @text
 *
 * Return: 0, or -EBADMSG if malformed (then @text is empty).
 */
int proto_decode_error_text(const void *buf, size_t len, char *text, size_t size) {
        Reader r;
        uint16_t n;
        const uint8_t *p;

        if (size == 0)
                return -EINVAL;
        text[0] = 0;
        reader_init(&r, buf, len, SHMB_HEADER_SIZE);
        n = get_u16(&r);
        if (!reader_take(&r, n, &p) || !reader_done(&r))
                return -EBADMSG;
        if (n >= size)
                n = (uint16_t)(size - 1);
        memcpy(text, p, n);
        text[n] = 0;
        return 0;
}
