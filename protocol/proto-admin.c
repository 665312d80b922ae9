/*
 * Admin protocol requests (PROTOCOL.md, section 13): type ranges and names, the
 * daemon's request decoder, and the clients' request encoders. Replies are
 * in proto-admin-reply.c. Little-endian, exact payload sizes.
 */

#include <errno.h>
#include <string.h>

#include "protocol/proto-reader.h"
#include "protocol/shmb-admin-proto.h"

/**
 * proto_admin_type_is_admin() - whether @type is an admin request type
 * @type:       message type (the reply bit must be clear)
 *
 * Return: true for 0x0101..0x0107.
 */
bool proto_admin_type_is_admin(uint16_t type) {
        return type >= SHMB_ADMIN_MSG_FIRST && type < _SHMB_ADMIN_MSG_MAX;
}

/**
 * proto_admin_type_is_client() - whether @type is a client request other than HELLO
 * @type:       message type
 *
 * Return: true for the client protocol's CREATE .. SYNC.
 */
bool proto_admin_type_is_client(uint16_t type) {
        return type > SHMB_MSG_HELLO && type < _SHMB_MSG_REQUEST_MAX;
}

/**
 * proto_admin_op_name() - stable operation label of a request type
 * @type:       client or admin request type (reply bit ignored)
 *
 * Used in statistics, metrics labels and JSON: "open", "admin_destroy", ...
 *
 * Return: a static string; "unknown" for other types.
 */
const char *proto_admin_op_name(uint16_t type) {
        static const char *const admin_names[] = {
                "admin_list_segments", "admin_show", "admin_list_clients", "admin_stats",
                "admin_destroy",       "admin_kick", "admin_log_level",
        };

        type &= (uint16_t)~SHMB_MSG_REPLY;
        if (proto_admin_type_is_admin(type))
                return admin_names[type - SHMB_ADMIN_MSG_FIRST];
        if (type == SHMB_MSG_HELLO || proto_admin_type_is_client(type))
                return proto_type_name(type);
        return "unknown";
}

/**
 * proto_admin_status_label() - lower-case status name ("ok", "not_found")
 * @status:     status code
 *
 * Return: a static string; "unknown" for codes this version does not know.
 */
const char *proto_admin_status_label(int status) {
        static const char *const labels[_SHMB_STATUS_MAX] = {
                "ok",        "invalid",  "bad_name",  "not_found",   "exists",  "denied",
                "not_owner", "not_held", "too_large", "no_space",    "quota",   "no_memory",
                "unsupported", "version", "protocol", "internal",
        };

        if (status < 0 || status >= _SHMB_STATUS_MAX)
                return "unknown";
        return labels[status];
}

static int decode_name(ProtoReader *r, char *out, const char **why) {
        size_t n;

        if (!preader_str(r, out, SHMB_NAME_MAX + 1, &n)) {
                *why = r->short_read ? "payload too short for the name" : "name longer than 255 bytes";
                return r->short_read ? SHMB_STATUS_INVALID : SHMB_STATUS_BAD_NAME;
        }
        if (!proto_name_valid(out, n) || memchr(out, 0, n)) {
                *why = "name must be 1-255 bytes of [A-Za-z0-9._-], not starting with '.' or '-'";
                return SHMB_STATUS_BAD_NAME;
        }
        return 0;
}

/**
 * proto_admin_decode_request() - decode and validate an admin request datagram
 * @buf:        datagram
 * @len:        its size
 * @ret:        decoded request (header filled whenever @len allows)
 * @ret_why:    on failure, a static explanation
 *
 * HELLO is not an admin type: decode it with proto_decode_request(). Client
 * request types are refused with UNSUPPORTED and a text that names the
 * client socket.
 *
 * Return: 0, or a positive SHMB_STATUS_* describing what is wrong.
 */
int proto_admin_decode_request(const void *buf, size_t len, ProtoAdminRequest *ret, const char **ret_why) {
        ProtoHeader *h = &ret->hdr;
        ProtoReader r;
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
        if (proto_admin_type_is_client(h->type)) {
                *ret_why = "client requests are served on the client socket only";
                return SHMB_STATUS_UNSUPPORTED;
        }
        if (!proto_admin_type_is_admin(h->type)) {
                *ret_why = "unknown message type";
                return SHMB_STATUS_UNSUPPORTED;
        }
        if (h->version != SHMB_PROTO_VERSION) {
                *ret_why = "message version is not the negotiated version 1";
                return SHMB_STATUS_VERSION;
        }
        if (h->flags != 0 || h->status != 0) {
                *ret_why = "header flags and status must be zero in requests";
                return SHMB_STATUS_INVALID;
        }

        preader_init(&r, buf, len, SHMB_HEADER_SIZE);
        switch (h->type) {
        case SHMB_ADMIN_MSG_LIST_SEGMENTS:
        case SHMB_ADMIN_MSG_LIST_CLIENTS:
        case SHMB_ADMIN_MSG_SHOW:
                ret->list.after_id = preader_u64(&r);
                ret->list.max_entries = preader_u32(&r);
                if (preader_u32(&r) != 0 && !r.short_read) {
                        *ret_why = "reserved field must be zero";
                        return SHMB_STATUS_INVALID;
                }
                if (h->type == SHMB_ADMIN_MSG_SHOW) {
                        s = decode_name(&r, ret->show.name, ret_why);
                        if (s)
                                return s;
                }
                break;
        case SHMB_ADMIN_MSG_STATS:
                break;
        case SHMB_ADMIN_MSG_DESTROY:
                s = decode_name(&r, ret->destroy.name, ret_why);
                if (s)
                        return s;
                break;
        case SHMB_ADMIN_MSG_KICK:
                ret->kick.pid = preader_u32(&r);
                if (preader_u32(&r) != 0 && !r.short_read) {
                        *ret_why = "reserved field must be zero";
                        return SHMB_STATUS_INVALID;
                }
                if (!r.short_read && (ret->kick.pid == 0 || ret->kick.pid > INT32_MAX)) {
                        *ret_why = "pid must be between 1 and 2147483647";
                        return SHMB_STATUS_INVALID;
                }
                break;
        case SHMB_ADMIN_MSG_LOG_LEVEL:
                ret->log_level.level = preader_u32(&r);
                break;
        }
        if (!preader_done(&r)) {
                *ret_why = r.short_read ? "payload too short for this message type"
                                        : "payload longer than this message type";
                return SHMB_STATUS_INVALID;
        }
        *ret_why = NULL;
        return 0;
}

/**
 * proto_admin_encode_list() - LIST_SEGMENTS or LIST_CLIENTS request
 * @b:          empty buffer
 * @type:       SHMB_ADMIN_MSG_LIST_SEGMENTS or SHMB_ADMIN_MSG_LIST_CLIENTS
 * @req_id:     request id
 * @after_id:   list ids above this (0: from the start)
 * @max_entries: at most this many records (0: as many as fit)
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_admin_encode_list(ProtoBuf *b, uint16_t type, uint32_t req_id, uint64_t after_id, uint32_t max_entries) {
        proto_put_header(b, type, 0, req_id);
        proto_put_u64(b, after_id);
        proto_put_u32(b, max_entries);
        proto_put_u32(b, 0);
        return proto_finish(b);
}

/**
 * proto_admin_encode_show() - SHOW request
 * @b:          empty buffer
 * @req_id:     request id
 * @name:       segment name
 * @after_id:   holders with connection ids above this (0: from the start)
 * @max_entries: at most this many holder records (0: as many as fit)
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_admin_encode_show(ProtoBuf *b, uint32_t req_id, const char *name, uint64_t after_id,
                            uint32_t max_entries) {
        proto_put_header(b, SHMB_ADMIN_MSG_SHOW, 0, req_id);
        proto_put_u64(b, after_id);
        proto_put_u32(b, max_entries);
        proto_put_u32(b, 0);
        proto_put_str(b, name, strlen(name));
        return proto_finish(b);
}

/**
 * proto_admin_encode_stats() - STATS request (no payload)
 * @b:          empty buffer
 * @req_id:     request id
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_admin_encode_stats(ProtoBuf *b, uint32_t req_id) {
        proto_put_header(b, SHMB_ADMIN_MSG_STATS, 0, req_id);
        return proto_finish(b);
}

/**
 * proto_admin_encode_destroy() - DESTROY request
 * @b:          empty buffer
 * @req_id:     request id
 * @name:       segment name
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_admin_encode_destroy(ProtoBuf *b, uint32_t req_id, const char *name) {
        proto_put_header(b, SHMB_ADMIN_MSG_DESTROY, 0, req_id);
        proto_put_str(b, name, strlen(name));
        return proto_finish(b);
}

/**
 * proto_admin_encode_kick() - KICK request
 * @b:          empty buffer
 * @req_id:     request id
 * @pid:        process whose connections are closed
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_admin_encode_kick(ProtoBuf *b, uint32_t req_id, uint32_t pid) {
        proto_put_header(b, SHMB_ADMIN_MSG_KICK, 0, req_id);
        proto_put_u32(b, pid);
        proto_put_u32(b, 0);
        return proto_finish(b);
}

/**
 * proto_admin_encode_log_level() - LOG_LEVEL request
 * @b:          empty buffer
 * @req_id:     request id
 * @level:      0 (emerg) .. 7 (debug), or SHMB_ADMIN_LOG_LEVEL_QUERY
 *
 * Return: message length or -EMSGSIZE.
 */
int proto_admin_encode_log_level(ProtoBuf *b, uint32_t req_id, uint32_t level) {
        proto_put_header(b, SHMB_ADMIN_MSG_LOG_LEVEL, 0, req_id);
        proto_put_u32(b, level);
        return proto_finish(b);
}
