/*
 * libshmbroker admin API: listings (paged internally) and statistics.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin-internal.h"
#include "protocol/shmb-admin-proto.h"
#include "util/macro.h"

#define SHOW_RESTARTS_MAX 3     /* the name changed hands between pages this often: give up */

/* Make room for @need elements in *@v (capacity *@cap). */
static int grow(void **v, size_t *cap, size_t need, size_t elem) {
        size_t ncap;
        void *nv;

        if (need <= *cap)
                return 0;
        ncap = MAX(*cap * 2, need + 64);
        if (ncap > SIZE_MAX / elem)
                return -ENOMEM;
        nv = realloc(*v, ncap * elem);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        *cap = ncap;
        return 0;
}

/* Send one page request (LIST_SEGMENTS, LIST_CLIENTS or SHOW) and decode the page header. */
static int admin_page(struct shmb_admin *a, uint16_t type, const char *name, uint64_t after, uint32_t *ret_count,
                      uint32_t *ret_flags, uint64_t *ret_next, size_t *ret_off) {
        struct shmb_client *c = &a->c;
        ProtoBuf b;
        int len, r;

        r = admin_ensure_connected(a);
        if (r < 0)
                return r;
        proto_buf_init(&b, c->buf, sizeof(c->buf));
        if (type == SHMB_ADMIN_MSG_SHOW)
                len = proto_admin_encode_show(&b, c->next_req_id++, name, after, 0);
        else
                len = proto_admin_encode_list(&b, type, c->next_req_id++, after, 0);
        r = len < 0 ? len : client_transact(c, (size_t)len, NULL);
        if (r < 0)
                return r;
        if (proto_admin_decode_page(c->buf, c->buf_len, ret_count, ret_flags, ret_next, ret_off) < 0)
                return client_error(c, EBADMSG, "malformed %s reply from shmbrokerd", proto_admin_op_name(type));
        return 0;
}

static void segment_from_wire(struct shmb_admin_segment *s, const ProtoAdminSegment *w) {
        *s = (struct shmb_admin_segment){
                .id = w->id,
                .size = w->size,
                .uid = (uid_t)w->uid,
                .gid = (gid_t)w->gid,
                .mode = w->mode,
                .holders = w->holders,
                .backend = (enum shmb_backend)w->backend,
                .lifetime = (enum shmb_lifetime)w->lifetime,
                .flags = w->flags,
                .shmid = w->shmid,
                .created_usec = w->created_usec,
                .last_opened_usec = w->last_opened_usec,
        };
        memcpy(s->name, w->name, sizeof(s->name));
}

/**
 * shmb_admin_list_segments() - every segment, in creation order
 * @a:          handle
 * @ret_segments: array, free with shmb_admin_segments_free()
 * @ret_n:      number of entries
 *
 * Includes segments whose name was removed but that are still held
 * (SHMB_SEG_UNLINKED), whoever owns them.
 *
 * Return: 0 or negative errno.
 */
_public_ int shmb_admin_list_segments(struct shmb_admin *a, struct shmb_admin_segment **ret_segments,
                                      size_t *ret_n) {
        struct shmb_admin_segment *v = NULL;
        size_t n = 0, cap = 0;
        uint64_t after = 0;
        uint32_t flags;

        if (!a || !ret_segments || !ret_n)
                return -EINVAL;
        do {
                uint32_t count;
                size_t off;
                int r;

                r = admin_page(a, SHMB_ADMIN_MSG_LIST_SEGMENTS, NULL, after, &count, &flags, &after, &off);
                if (r >= 0)
                        r = grow((void **)&v, &cap, n + count, sizeof(*v));
                for (uint32_t i = 0; r >= 0 && i < count; i++) {
                        ProtoAdminSegment w;

                        if (proto_admin_decode_segment_at(a->c.buf, a->c.buf_len, &off, &w) < 0)
                                r = client_error(&a->c, EBADMSG, "malformed segment record from shmbrokerd");
                        else
                                segment_from_wire(&v[n++], &w);
                }
                if (r < 0) {
                        free(v);
                        return r;
                }
        } while (flags & SHMB_ADMIN_PAGE_MORE);
        *ret_segments = v;
        *ret_n = n;
        return 0;
}

/**
 * shmb_admin_segments_free() - free an array from shmb_admin_list_segments()
 * @segments:   array or NULL
 */
_public_ void shmb_admin_segments_free(struct shmb_admin_segment *segments) {
        free(segments);
}

/* One pass over the pages of SHOW; -EAGAIN if the name went to another segment meanwhile. */
static int show_pass(struct shmb_admin *a, const char *name, struct shmb_admin_segment *ret_segment,
                     struct shmb_admin_holder **ret_holders, size_t *ret_n) {
        struct shmb_admin_holder *v = NULL;
        size_t n = 0, cap = 0;
        uint64_t after = 0, id = 0;
        uint32_t flags;

        do {
                ProtoAdminSegment w;
                uint32_t count;
                size_t off;
                int r;

                r = admin_page(a, SHMB_ADMIN_MSG_SHOW, name, after, &count, &flags, &after, &off);
                if (r >= 0 && proto_admin_decode_segment_at(a->c.buf, a->c.buf_len, &off, &w) < 0)
                        r = client_error(&a->c, EBADMSG, "malformed SHOW reply from shmbrokerd");
                if (r >= 0 && id != 0 && w.id != id)
                        r = -EAGAIN;
                if (r >= 0 && id == 0) {
                        id = w.id;
                        segment_from_wire(ret_segment, &w);
                }
                if (r >= 0)
                        r = grow((void **)&v, &cap, n + count + 1, sizeof(*v));
                for (uint32_t i = 0; r >= 0 && i < count; i++) {
                        ProtoAdminHolder h;

                        if (proto_admin_decode_holder_at(a->c.buf, a->c.buf_len, &off, &h) < 0) {
                                r = client_error(&a->c, EBADMSG, "malformed holder record from shmbrokerd");
                                break;
                        }
                        v[n] = (struct shmb_admin_holder){
                                .conn_id = h.conn_id,
                                .pid = (pid_t)h.pid,
                                .uid = (uid_t)h.uid,
                                .gid = (gid_t)h.gid,
                                .flags = h.flags,
                                .opens = h.opens,
                                .since_usec = h.since_usec,
                        };
                        memcpy(v[n++].comm, h.comm, sizeof(h.comm));
                }
                if (r < 0) {
                        free(v);
                        return r;
                }
        } while (flags & SHMB_ADMIN_PAGE_MORE);
        *ret_holders = v;
        *ret_n = n;
        return 0;
}

/**
 * shmb_admin_show() - a segment and every connection holding it
 * @a:          handle
 * @name:       segment name
 * @ret_segment: the segment
 * @ret_holders: array in ascending connection id, free with shmb_admin_holders_free()
 * @ret_n:      number of holders
 *
 * Return: 0, -ENOENT, -EINVAL, -EAGAIN (the name kept changing hands), ...
 */
_public_ int shmb_admin_show(struct shmb_admin *a, const char *name, struct shmb_admin_segment *ret_segment,
                             struct shmb_admin_holder **ret_holders, size_t *ret_n) {
        struct shmb_admin_segment seg;
        int r = -EAGAIN;

        if (!a || !ret_segment || !ret_holders || !ret_n)
                return -EINVAL;
        if (!name || !proto_name_valid(name, strnlen(name, SHMB_NAME_MAX + 1)))
                return client_error(&a->c, EINVAL, "invalid segment name '%s'", name ? name : "(null)");
        for (int i = 0; i < SHOW_RESTARTS_MAX && r == -EAGAIN; i++)
                r = show_pass(a, name, &seg, ret_holders, ret_n);
        if (r == -EAGAIN)
                return client_error(&a->c, EAGAIN, "segment '%s' was replaced repeatedly while being listed", name);
        if (r >= 0)
                *ret_segment = seg;
        return r;
}

/**
 * shmb_admin_holders_free() - free an array from shmb_admin_show()
 * @holders:    array or NULL
 */
_public_ void shmb_admin_holders_free(struct shmb_admin_holder *holders) {
        free(holders);
}

/**
 * shmb_admin_list_clients() - every connection to either socket, by connection id
 * @a:          handle
 * @ret_clients: array, free with shmb_admin_clients_free()
 * @ret_n:      number of entries (this admin connection included)
 *
 * Return: 0 or negative errno.
 */
_public_ int shmb_admin_list_clients(struct shmb_admin *a, struct shmb_admin_client **ret_clients, size_t *ret_n) {
        struct shmb_admin_client *v = NULL;
        size_t n = 0, cap = 0;
        uint64_t after = 0;
        uint32_t flags;

        if (!a || !ret_clients || !ret_n)
                return -EINVAL;
        do {
                uint32_t count;
                size_t off;
                int r;

                r = admin_page(a, SHMB_ADMIN_MSG_LIST_CLIENTS, NULL, after, &count, &flags, &after, &off);
                if (r >= 0)
                        r = grow((void **)&v, &cap, n + count, sizeof(*v));
                for (uint32_t i = 0; r >= 0 && i < count; i++) {
                        ProtoAdminClient w;

                        if (proto_admin_decode_client_at(a->c.buf, a->c.buf_len, &off, &w) < 0) {
                                r = client_error(&a->c, EBADMSG, "malformed client record from shmbrokerd");
                                break;
                        }
                        v[n] = (struct shmb_admin_client){
                                .conn_id = w.conn_id,
                                .pid = (pid_t)w.pid,
                                .uid = (uid_t)w.uid,
                                .gid = (gid_t)w.gid,
                                .flags = w.flags,
                                .connected_usec = w.connected_usec,
                                .holds = w.holds,
                                .bytes_held = w.bytes_held,
                        };
                        memcpy(v[n++].comm, w.comm, sizeof(w.comm));
                }
                if (r < 0) {
                        free(v);
                        return r;
                }
        } while (flags & SHMB_ADMIN_PAGE_MORE);
        *ret_clients = v;
        *ret_n = n;
        return 0;
}

/**
 * shmb_admin_clients_free() - free an array from shmb_admin_list_clients()
 * @clients:    array or NULL
 */
_public_ void shmb_admin_clients_free(struct shmb_admin_client *clients) {
        free(clients);
}

/**
 * shmb_admin_stats() - the daemon's totals and request counters
 * @a:          handle
 * @ret:        statistics, free with shmb_admin_stats_free()
 *
 * Return: 0 or negative errno.
 */
_public_ int shmb_admin_stats(struct shmb_admin *a, struct shmb_admin_stats **ret) {
        struct shmb_client *c;
        struct shmb_admin_stats *st;
        ProtoAdminStats w;
        ProtoBuf b;
        size_t off;
        int len, r;

        if (!a || !ret)
                return -EINVAL;
        c = &a->c;
        r = admin_ensure_connected(a);
        if (r < 0)
                return r;
        proto_buf_init(&b, c->buf, sizeof(c->buf));
        len = proto_admin_encode_stats(&b, c->next_req_id++);
        r = len < 0 ? len : client_transact(c, (size_t)len, NULL);
        if (r < 0)
                return r;
        if (proto_admin_decode_stats(c->buf, c->buf_len, &w, &off) < 0)
                return client_error(c, EBADMSG, "malformed STATS reply from shmbrokerd");
        st = calloc(1, sizeof(*st));
        if (!st)
                return -ENOMEM;
        st->counters = calloc(w.n_counters ? w.n_counters : 1, sizeof(*st->counters));
        if (!st->counters) {
                free(st);
                return -ENOMEM;
        }
        st->uptime_usec = w.uptime_usec;
        st->started_usec = w.started_usec;
        st->connections_total = w.connections_total;
        st->admin_denied_total = w.admin_denied_total;
        st->connections = w.connections;
        st->admin_connections = w.admin_connections;
        st->segments = w.segments;
        st->bytes = w.bytes;
        st->holds = w.holds;
        st->log_level = (int)MIN(w.log_level, 7u);
        for (uint16_t i = 0; i < w.n_backends; i++) {
                ProtoAdminBackend be;

                (void)proto_admin_decode_backend_at(c->buf, c->buf_len, &off, &be);
                if (be.backend < SHMB_ADMIN_BACKENDS_MAX)
                        st->backends[be.backend] = (struct shmb_admin_backend_usage){
                                .enabled = !!(be.flags & SHMB_ADMIN_BACKEND_ENABLED),
                                .segments = be.segments,
                                .bytes = be.bytes,
                        };
        }
        for (uint16_t i = 0; i < w.n_counters; i++) {
                ProtoAdminCounter ct;

                (void)proto_admin_decode_counter_at(c->buf, c->buf_len, &off, &ct);
                st->counters[st->n_counters++] = (struct shmb_admin_counter){
                        .operation = ct.type,
                        .status = ct.status,
                        .count = ct.count,
                };
        }
        *ret = st;
        return 0;
}

/**
 * shmb_admin_stats_free() - free statistics from shmb_admin_stats()
 * @stats:      statistics or NULL
 */
_public_ void shmb_admin_stats_free(struct shmb_admin_stats *stats) {
        if (!stats)
                return;
        free(stats->counters);
        free(stats);
}
