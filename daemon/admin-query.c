/*
 * Admin queries: every segment, one segment with its holders, every
 * connection, and statistics. Listings are paged like the client LIST: each
 * request examines at most SHMB_ADMIN_SCAN_MAX entries and fills at most
 * one datagram, then says MORE with the cursor to continue from, so a
 * listing of any size never holds up the event loop.
 */

#include <string.h>

#include "daemon/admin-internal.h"
#include "daemon/backend.h"
#include "daemon/conn.h"
#include "daemon/log.h"
#include "daemon/manager.h"

static uint8_t out[SHMB_MSG_MAX];

static void segment_fill(ProtoAdminSegment *a, const Segment *s) {
        *a = (ProtoAdminSegment){
                .id = s->id,
                .size = s->size,
                .uid = (uint32_t)s->uid,
                .gid = (uint32_t)s->gid,
                .mode = s->mode,
                .holders = (uint32_t)MIN(s->n_holders, UINT32_MAX),
                .backend = s->backend,
                .lifetime = s->lifetime,
                .flags = (uint16_t)(s->flags | (s->linked ? 0 : PROTO_SEG_UNLINKED)),
                .shmid = s->obj.shmid,
                .created_usec = s->created_usec,
                .last_opened_usec = s->last_opened_usec,
        };
        memcpy(a->name, s->name, sizeof(a->name));
}

/* Append a record unless it does not fit; false (and @b unchanged) if it did not. */
static bool put_or_rewind(ProtoBuf *b, size_t before) {
        if (!b->overflow)
                return true;
        b->overflow = false;
        b->len = before;
        return false;
}

static Conn *conn_by_id(Manager *m, uint64_t id) {
        for (HNode *n = hmap_first(&m->conns_by_id, hash_u64(id)); n; n = hmap_next(n)) {
                Conn *c = container_of(n, Conn, id_node);

                if (c->id == id)
                        return c;
        }
        return NULL;
}

/**
 * admin_handle_list_segments() - one page of every segment, named or not
 * @c:          admin connection
 * @req:        LIST_SEGMENTS request
 *
 * Unlike the client LIST, segments that lost their name but are still held
 * are listed too (flag UNLINKED), and no permission hides any.
 *
 * Return: 0, or negative errno if the connection is broken.
 */
int admin_handle_list_segments(Conn *c, const ProtoAdminRequest *req) {
        Registry *reg = c->manager->registry;
        uint32_t max = req->list.max_entries, count = 0, flags = 0;
        uint64_t next = req->list.after_id;
        unsigned scanned = 0;
        ProtoBuf b;
        size_t at;

        proto_buf_init(&b, out, sizeof(out));
        at = proto_admin_put_page(&b, req->hdr.type, req->hdr.req_id);
        for (Segment *s = registry_first_after(reg, req->list.after_id); s; s = registry_next(reg, s)) {
                ProtoAdminSegment a;
                size_t before = b.len;

                if ((max && count >= max) || scanned++ >= SHMB_ADMIN_SCAN_MAX) {
                        flags |= SHMB_ADMIN_PAGE_MORE;
                        break;
                }
                segment_fill(&a, s);
                proto_admin_put_segment(&b, &a);
                if (!put_or_rewind(&b, before)) {
                        flags |= SHMB_ADMIN_PAGE_MORE;
                        break;
                }
                count++;
                next = s->id;
        }
        proto_admin_patch_page(&b, at, count, flags, next);
        return admin_reply_finish(c, &b);
}

/*
 * The first hold on @s by a connection with an id above @after (holds are in
 * id order). O(1) while the cursor's connection still holds @s; else a walk
 * bounded by the number of holders, itself bounded by the connection limit.
 * Skipped holds do not count against the scan cap: a page must always make
 * progress past its cursor.
 */
static List *first_hold_after(Manager *m, Segment *s, uint64_t after) {
        Conn *k = after ? conn_by_id(m, after) : NULL;
        Hold *h = k ? registry_find_hold(m->registry, &k->holds, s->id) : NULL;
        List *pos;

        if (h)
                return h->seg_link.next;
        for (pos = s->holds.next; pos != &s->holds; pos = pos->next)
                if (list_entry(pos, Hold, seg_link)->set->owner_id > after)
                        break;
        return pos;
}

/**
 * admin_handle_show() - a segment and one page of its holders
 * @c:          admin connection
 * @req:        SHOW request
 *
 * Holders come in ascending connection id; after_id is a connection id.
 *
 * Return: 0, or negative errno if the connection is broken.
 */
int admin_handle_show(Conn *c, const ProtoAdminRequest *req) {
        Manager *m = c->manager;
        Segment *s = registry_find(m->registry, req->show.name);
        uint32_t max = req->show.max_entries, count = 0, flags = 0;
        uint64_t next = req->show.after_id;
        unsigned scanned = 0;
        ProtoAdminSegment a;
        ProtoBuf b;
        size_t at;

        if (!s)
                return admin_reply_error(c, &req->hdr, SHMB_STATUS_NOT_FOUND, LOG_DEBUG, "no segment named '%s'",
                                         req->show.name);
        proto_buf_init(&b, out, sizeof(out));
        at = proto_admin_put_page(&b, req->hdr.type, req->hdr.req_id);
        segment_fill(&a, s);
        proto_admin_put_segment(&b, &a);
        for (List *pos = first_hold_after(m, s, req->show.after_id); pos != &s->holds;
             pos = pos->next) {
                Hold *h = list_entry(pos, Hold, seg_link);
                Conn *k = container_of(h->set, Conn, holds);
                size_t before = b.len;
                ProtoAdminHolder rec;

                if ((max && count >= max) || scanned++ >= SHMB_ADMIN_SCAN_MAX) {
                        flags |= SHMB_ADMIN_PAGE_MORE;
                        break;
                }
                rec = (ProtoAdminHolder){
                        .conn_id = k->id,
                        .since_usec = h->since_usec,
                        .opens = h->count,
                        .pid = (uint32_t)k->pid,
                        .uid = (uint32_t)k->creds.uid,
                        .gid = (uint32_t)k->creds.gid,
                        .flags = h->writable ? SHMB_ADMIN_HOLD_WRITABLE : 0,
                };
                memcpy(rec.comm, k->comm, sizeof(rec.comm));
                proto_admin_put_holder(&b, &rec);
                if (!put_or_rewind(&b, before)) {
                        flags |= SHMB_ADMIN_PAGE_MORE;
                        break;
                }
                count++;
                next = k->id;
        }
        proto_admin_patch_page(&b, at, count, flags, next);
        return admin_reply_finish(c, &b);
}

/* The first connection with an id above @after (m->conns is in id order); as first_hold_after(). */
static List *first_conn_after(Manager *m, uint64_t after) {
        Conn *k = after ? conn_by_id(m, after) : NULL;
        List *pos;

        if (k)
                return k->link.next;
        for (pos = m->conns.next; pos != &m->conns; pos = pos->next)
                if (list_entry(pos, Conn, link)->id > after)
                        break;
        return pos;
}

/**
 * admin_handle_list_clients() - one page of every connection, both sockets
 * @c:          admin connection
 * @req:        LIST_CLIENTS request
 *
 * Return: 0, or negative errno if the connection is broken.
 */
int admin_handle_list_clients(Conn *c, const ProtoAdminRequest *req) {
        Manager *m = c->manager;
        uint32_t max = req->list.max_entries, count = 0, flags = 0;
        uint64_t next = req->list.after_id;
        unsigned scanned = 0;
        ProtoBuf b;
        size_t at;

        proto_buf_init(&b, out, sizeof(out));
        at = proto_admin_put_page(&b, req->hdr.type, req->hdr.req_id);
        for (List *pos = first_conn_after(m, req->list.after_id); pos != &m->conns; pos = pos->next) {
                Conn *k = list_entry(pos, Conn, link);
                size_t before = b.len;
                ProtoAdminClient rec;

                if ((max && count >= max) || scanned++ >= SHMB_ADMIN_SCAN_MAX) {
                        flags |= SHMB_ADMIN_PAGE_MORE;
                        break;
                }
                rec = (ProtoAdminClient){
                        .conn_id = k->id,
                        .connected_usec = k->connected_usec,
                        .holds = k->holds.n_holds,
                        .bytes_held = k->holds.bytes,
                        .pid = (uint32_t)k->pid,
                        .uid = (uint32_t)k->creds.uid,
                        .gid = (uint32_t)k->creds.gid,
                        .flags = (uint16_t)((k->is_admin ? SHMB_ADMIN_CLIENT_ADMIN : 0) |
                                            (k->hello_done ? SHMB_ADMIN_CLIENT_HELLO : 0)),
                };
                memcpy(rec.comm, k->comm, sizeof(rec.comm));
                proto_admin_put_client(&b, &rec);
                if (!put_or_rewind(&b, before)) {
                        flags |= SHMB_ADMIN_PAGE_MORE;
                        break;
                }
                count++;
                next = k->id;
        }
        proto_admin_patch_page(&b, at, count, flags, next);
        return admin_reply_finish(c, &b);
}

/**
 * admin_handle_stats() - totals, per-backend usage and request counters
 * @c:          admin connection
 * @req:        STATS request
 *
 * Everything here is kept up to date incrementally: O(1) in the number of
 * segments and connections. Only non-zero request counters are sent.
 *
 * Return: 0, or negative errno if the connection is broken.
 */
int admin_handle_stats(Conn *c, const ProtoAdminRequest *req) {
        Manager *m = c->manager;
        const Stats *st = &m->stats;
        ProtoAdminStats totals = {
                .uptime_usec = stats_uptime_usec(st),
                .started_usec = m->started_usec,
                .connections_total = st->connections_total,
                .admin_denied_total = st->admin_denied_total,
                .connections = (uint32_t)(m->n_conns - m->admin.n_conns),
                .admin_connections = (uint32_t)m->admin.n_conns,
                .segments = registry_count(m->registry),
                .bytes = registry_bytes(m->registry),
                .holds = registry_hold_count(m->registry),
                .log_level = (uint32_t)log_get_max_level(),
                .n_backends = _PROTO_BACKEND_MAX - 1,
        };
        ProtoBuf b;

        /* The STATS reply being built is counted before it is sent: count it now so it is included. */
        for (size_t op = 0; op < STATS_OPS_MAX; op++)
                for (int status = 0; status < _SHMB_STATUS_MAX; status++)
                        if (st->replies[op][status] || (stats_op_type(op) == req->hdr.type && status == 0))
                                totals.n_counters++;
        proto_buf_init(&b, out, sizeof(out));
        proto_put_header(&b, req->hdr.type | SHMB_MSG_REPLY, 0, req->hdr.req_id);
        proto_admin_put_stats(&b, &totals);
        for (uint8_t be = 1; be < _PROTO_BACKEND_MAX; be++) {
                ProtoAdminBackend rec = {
                        .backend = be,
                        .flags = backend_get(be) ? SHMB_ADMIN_BACKEND_ENABLED : 0,
                };

                registry_backend_usage(m->registry, be, &rec.segments, &rec.bytes);
                proto_admin_put_backend(&b, &rec);
        }
        for (size_t op = 0; op < STATS_OPS_MAX; op++)
                for (int status = 0; status < _SHMB_STATUS_MAX; status++) {
                        bool self = stats_op_type(op) == req->hdr.type && status == 0;
                        ProtoAdminCounter ct = {
                                .type = stats_op_type(op),
                                .status = (uint16_t)status,
                                .count = st->replies[op][status] + (self ? 1 : 0),
                        };

                        if (ct.count)
                                proto_admin_put_counter(&b, &ct);
                }
        return admin_reply_finish(c, &b);
}
