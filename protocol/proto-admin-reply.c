/*
 * Admin protocol replies (PROTOCOL.md, section 13): the daemon's record encoders
 * and the clients' decoders. Every decoder bounds every field and count by
 * the bytes present.
 */

#include <errno.h>
#include <string.h>

#include "protocol/proto-reader.h"
#include "protocol/shmb-admin-proto.h"

/**
 * proto_admin_put_page() - header and empty page header of a paged reply
 * @b:          empty buffer
 * @type:       request type being answered
 * @req_id:     its request id
 *
 * Return: the offset of the page header, for proto_admin_patch_page().
 */
size_t proto_admin_put_page(ProtoBuf *b, uint16_t type, uint32_t req_id) {
        size_t at;

        proto_put_header(b, type | SHMB_MSG_REPLY, 0, req_id);
        at = b->len;
        proto_put_u32(b, 0);
        proto_put_u32(b, 0);
        proto_put_u64(b, 0);
        return at;
}

/**
 * proto_admin_patch_page() - fill in count, flags and cursor of a page header
 * @b:          buffer holding the reply
 * @at:         from proto_admin_put_page()
 * @count:      records in the page
 * @flags:      SHMB_ADMIN_PAGE_*
 * @next:       the after_id to continue with
 */
void proto_admin_patch_page(ProtoBuf *b, size_t at, uint32_t count, uint32_t flags, uint64_t next) {
        ProtoBuf p;

        if (at + SHMB_ADMIN_PAGE_FIXED > b->len)
                return;
        proto_buf_init(&p, b->data + at, SHMB_ADMIN_PAGE_FIXED);
        proto_put_u32(&p, count);
        proto_put_u32(&p, flags);
        proto_put_u64(&p, next);
}

/**
 * proto_admin_put_segment() - append an admin segment record
 * @b:          buffer
 * @s:          record
 */
void proto_admin_put_segment(ProtoBuf *b, const ProtoAdminSegment *s) {
        proto_put_u64(b, s->id);
        proto_put_u64(b, s->size);
        proto_put_u32(b, s->uid);
        proto_put_u32(b, s->gid);
        proto_put_u32(b, s->mode);
        proto_put_u32(b, s->holders);
        proto_put_u8(b, s->backend);
        proto_put_u8(b, s->lifetime);
        proto_put_u16(b, s->flags);
        proto_put_u32(b, (uint32_t)s->shmid);
        proto_put_u32(b, 0);
        proto_put_u32(b, 0);
        proto_put_u64(b, s->created_usec);
        proto_put_u64(b, s->last_opened_usec);
        proto_put_str(b, s->name, strnlen(s->name, SHMB_NAME_MAX));
}

/**
 * proto_admin_put_holder() - append a holder record
 * @b:          buffer
 * @h:          record
 */
void proto_admin_put_holder(ProtoBuf *b, const ProtoAdminHolder *h) {
        proto_put_u64(b, h->conn_id);
        proto_put_u64(b, h->since_usec);
        proto_put_u64(b, h->opens);
        proto_put_u32(b, h->pid);
        proto_put_u32(b, h->uid);
        proto_put_u32(b, h->gid);
        proto_put_u16(b, h->flags);
        proto_put_u16(b, 0);
        proto_put_str(b, h->comm, strnlen(h->comm, SHMB_COMM_MAX));
}

/**
 * proto_admin_put_client() - append a client-connection record
 * @b:          buffer
 * @c:          record
 */
void proto_admin_put_client(ProtoBuf *b, const ProtoAdminClient *c) {
        proto_put_u64(b, c->conn_id);
        proto_put_u64(b, c->connected_usec);
        proto_put_u64(b, c->holds);
        proto_put_u64(b, c->bytes_held);
        proto_put_u32(b, c->pid);
        proto_put_u32(b, c->uid);
        proto_put_u32(b, c->gid);
        proto_put_u16(b, c->flags);
        proto_put_u16(b, 0);
        proto_put_str(b, c->comm, strnlen(c->comm, SHMB_COMM_MAX));
}

/**
 * proto_admin_put_stats() - append the fixed part of a STATS reply
 * @b:          buffer holding the reply header
 * @st:         totals; n_backends and n_counters records must follow
 */
void proto_admin_put_stats(ProtoBuf *b, const ProtoAdminStats *st) {
        proto_put_u64(b, st->uptime_usec);
        proto_put_u64(b, st->started_usec);
        proto_put_u64(b, st->connections_total);
        proto_put_u64(b, st->admin_denied_total);
        proto_put_u32(b, st->connections);
        proto_put_u32(b, st->admin_connections);
        proto_put_u64(b, st->segments);
        proto_put_u64(b, st->bytes);
        proto_put_u64(b, st->holds);
        proto_put_u32(b, st->log_level);
        proto_put_u16(b, st->n_backends);
        proto_put_u16(b, st->n_counters);
}

/**
 * proto_admin_put_backend() - append a per-backend record of a STATS reply
 * @b:          buffer
 * @be:         record
 */
void proto_admin_put_backend(ProtoBuf *b, const ProtoAdminBackend *be) {
        proto_put_u8(b, be->backend);
        proto_put_u8(b, be->flags);
        proto_put_u16(b, 0);
        proto_put_u32(b, 0);
        proto_put_u64(b, be->segments);
        proto_put_u64(b, be->bytes);
}

/**
 * proto_admin_put_counter() - append a request counter of a STATS reply
 * @b:          buffer
 * @ct:         record
 */
void proto_admin_put_counter(ProtoBuf *b, const ProtoAdminCounter *ct) {
        proto_put_u16(b, ct->type);
        proto_put_u16(b, ct->status);
        proto_put_u32(b, 0);
        proto_put_u64(b, ct->count);
}

/**
 * proto_admin_decode_page() - page header of a paged reply
 * @buf:        whole datagram
 * @len:        its size
 * @ret_count:  records in this page
 * @ret_flags:  SHMB_ADMIN_PAGE_*
 * @ret_next:   the after_id to continue with
 * @ret_offset: where the rest of the payload starts
 *
 * Return: 0, or -EBADMSG if malformed.
 */
int proto_admin_decode_page(const void *buf, size_t len, uint32_t *ret_count, uint32_t *ret_flags,
                            uint64_t *ret_next, size_t *ret_offset) {
        ProtoReader r;

        preader_init(&r, buf, len, SHMB_HEADER_SIZE);
        *ret_count = preader_u32(&r);
        *ret_flags = preader_u32(&r);
        *ret_next = preader_u64(&r);
        if (r.short_read)
                return -EBADMSG;
        /* The smallest record (a holder with an empty command name) has 42 bytes. */
        if (*ret_count > (len - r.off) / (SHMB_ADMIN_HOLDER_FIXED + 2))
                return -EBADMSG;
        *ret_offset = r.off;
        return 0;
}

/**
 * proto_admin_decode_segment_at() - one admin segment record at *@offset
 * @buf:        whole datagram
 * @len:        its size
 * @offset:     in: where the record starts; out: just past it
 * @ret:        decoded record
 *
 * Return: 0, or -EBADMSG if it does not fit or its name is invalid.
 */
int proto_admin_decode_segment_at(const void *buf, size_t len, size_t *offset, ProtoAdminSegment *ret) {
        ProtoReader r;
        size_t n;

        preader_init(&r, buf, len, *offset);
        ret->id = preader_u64(&r);
        ret->size = preader_u64(&r);
        ret->uid = preader_u32(&r);
        ret->gid = preader_u32(&r);
        ret->mode = preader_u32(&r);
        ret->holders = preader_u32(&r);
        ret->backend = preader_u8(&r);
        ret->lifetime = preader_u8(&r);
        ret->flags = preader_u16(&r);
        ret->shmid = (int32_t)preader_u32(&r);
        (void)preader_u32(&r);
        (void)preader_u32(&r);
        ret->created_usec = preader_u64(&r);
        ret->last_opened_usec = preader_u64(&r);
        if (!preader_str(&r, ret->name, sizeof(ret->name), &n) || !proto_name_valid(ret->name, n))
                return -EBADMSG;
        *offset = r.off;
        return 0;
}

/* A command name: at most SHMB_COMM_MAX bytes, no NUL inside. */
static bool decode_comm(ProtoReader *r, char *out) {
        size_t n;

        return preader_str(r, out, SHMB_COMM_MAX + 1, &n) && !memchr(out, 0, n);
}

/**
 * proto_admin_decode_holder_at() - one holder record at *@offset
 * @buf:        whole datagram
 * @len:        its size
 * @offset:     in: where the record starts; out: just past it
 * @ret:        decoded record
 *
 * Return: 0, or -EBADMSG.
 */
int proto_admin_decode_holder_at(const void *buf, size_t len, size_t *offset, ProtoAdminHolder *ret) {
        ProtoReader r;

        preader_init(&r, buf, len, *offset);
        ret->conn_id = preader_u64(&r);
        ret->since_usec = preader_u64(&r);
        ret->opens = preader_u64(&r);
        ret->pid = preader_u32(&r);
        ret->uid = preader_u32(&r);
        ret->gid = preader_u32(&r);
        ret->flags = preader_u16(&r);
        (void)preader_u16(&r);
        if (!decode_comm(&r, ret->comm))
                return -EBADMSG;
        *offset = r.off;
        return 0;
}

/**
 * proto_admin_decode_client_at() - one client-connection record at *@offset
 * @buf:        whole datagram
 * @len:        its size
 * @offset:     in: where the record starts; out: just past it
 * @ret:        decoded record
 *
 * Return: 0, or -EBADMSG.
 */
int proto_admin_decode_client_at(const void *buf, size_t len, size_t *offset, ProtoAdminClient *ret) {
        ProtoReader r;

        preader_init(&r, buf, len, *offset);
        ret->conn_id = preader_u64(&r);
        ret->connected_usec = preader_u64(&r);
        ret->holds = preader_u64(&r);
        ret->bytes_held = preader_u64(&r);
        ret->pid = preader_u32(&r);
        ret->uid = preader_u32(&r);
        ret->gid = preader_u32(&r);
        ret->flags = preader_u16(&r);
        (void)preader_u16(&r);
        if (!decode_comm(&r, ret->comm))
                return -EBADMSG;
        *offset = r.off;
        return 0;
}

/**
 * proto_admin_decode_stats() - fixed part of a STATS reply
 * @buf:        whole datagram
 * @len:        its size
 * @ret:        decoded totals
 * @ret_offset: where the backend records start
 *
 * Checks that exactly n_backends backend records and n_counters counters follow.
 *
 * Return: 0, or -EBADMSG.
 */
int proto_admin_decode_stats(const void *buf, size_t len, ProtoAdminStats *ret, size_t *ret_offset) {
        ProtoReader r;

        preader_init(&r, buf, len, SHMB_HEADER_SIZE);
        ret->uptime_usec = preader_u64(&r);
        ret->started_usec = preader_u64(&r);
        ret->connections_total = preader_u64(&r);
        ret->admin_denied_total = preader_u64(&r);
        ret->connections = preader_u32(&r);
        ret->admin_connections = preader_u32(&r);
        ret->segments = preader_u64(&r);
        ret->bytes = preader_u64(&r);
        ret->holds = preader_u64(&r);
        ret->log_level = preader_u32(&r);
        ret->n_backends = preader_u16(&r);
        ret->n_counters = preader_u16(&r);
        if (r.short_read || len - r.off != (size_t)ret->n_backends * SHMB_ADMIN_BACKEND_SIZE +
                                                  (size_t)ret->n_counters * SHMB_ADMIN_COUNTER_SIZE)
                return -EBADMSG;
        *ret_offset = r.off;
        return 0;
}

/**
 * proto_admin_decode_backend_at() - one backend record of a STATS reply
 * @buf:        whole datagram
 * @len:        its size
 * @offset:     in: where the record starts; out: just past it
 * @ret:        decoded record
 *
 * Return: 0, or -EBADMSG.
 */
int proto_admin_decode_backend_at(const void *buf, size_t len, size_t *offset, ProtoAdminBackend *ret) {
        ProtoReader r;

        preader_init(&r, buf, len, *offset);
        ret->backend = preader_u8(&r);
        ret->flags = preader_u8(&r);
        (void)preader_u16(&r);
        (void)preader_u32(&r);
        ret->segments = preader_u64(&r);
        ret->bytes = preader_u64(&r);
        if (r.short_read)
                return -EBADMSG;
        *offset = r.off;
        return 0;
}

/**
 * proto_admin_decode_counter_at() - one request counter of a STATS reply
 * @buf:        whole datagram
 * @len:        its size
 * @offset:     in: where the record starts; out: just past it
 * @ret:        decoded record
 *
 * Return: 0, or -EBADMSG.
 */
int proto_admin_decode_counter_at(const void *buf, size_t len, size_t *offset, ProtoAdminCounter *ret) {
        ProtoReader r;

        preader_init(&r, buf, len, *offset);
        ret->type = preader_u16(&r);
        ret->status = preader_u16(&r);
        (void)preader_u32(&r);
        ret->count = preader_u64(&r);
        if (r.short_read)
                return -EBADMSG;
        *offset = r.off;
        return 0;
}

/**
 * proto_admin_decode_u64_pair() - a reply whose payload is two u64 (DESTROY)
 * @buf:        whole datagram
 * @len:        its size
 * @ret_a:      first value
 * @ret_b:      second value
 *
 * Return: 0, or -EBADMSG.
 */
int proto_admin_decode_u64_pair(const void *buf, size_t len, uint64_t *ret_a, uint64_t *ret_b) {
        ProtoReader r;

        preader_init(&r, buf, len, SHMB_HEADER_SIZE);
        *ret_a = preader_u64(&r);
        *ret_b = preader_u64(&r);
        return preader_done(&r) ? 0 : -EBADMSG;
}

/**
 * proto_admin_decode_kick_reply() - payload of a KICK reply
 * @buf:        whole datagram
 * @len:        its size
 * @ret_closed: connections closed
 * @ret_holds:  holds released with them
 *
 * Return: 0, or -EBADMSG.
 */
int proto_admin_decode_kick_reply(const void *buf, size_t len, uint32_t *ret_closed, uint64_t *ret_holds) {
        ProtoReader r;

        preader_init(&r, buf, len, SHMB_HEADER_SIZE);
        *ret_closed = preader_u32(&r);
        (void)preader_u32(&r);
        *ret_holds = preader_u64(&r);
        return preader_done(&r) ? 0 : -EBADMSG;
}

/**
 * proto_admin_decode_log_level_reply() - payload of a LOG_LEVEL reply
 * @buf:        whole datagram
 * @len:        its size
 * @ret_old:    level before the request
 * @ret_new:    level after it
 *
 * Return: 0, or -EBADMSG.
 */
int proto_admin_decode_log_level_reply(const void *buf, size_t len, uint32_t *ret_old, uint32_t *ret_new) {
        ProtoReader r;

        preader_init(&r, buf, len, SHMB_HEADER_SIZE);
        *ret_old = preader_u32(&r);
        *ret_new = preader_u32(&r);
        return preader_done(&r) ? 0 : -EBADMSG;
}
