/*
 * Handlers for a segment's life after create/open: grow it (RESIZE), make it
 * immutable (PUBLISH), and subscribe to events (WATCH, UNWATCH).
 */

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "daemon/backend.h"
#include "daemon/conn.h"
#include "daemon/dispatch-internal.h"
#include "daemon/events.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/policy.h"
#include "daemon/waiters.h"

/* @s (NULL: no segment has @name) if @c may change it; else NULL, the refusal sent and its result in *ret. */
static Segment *check_writable(Conn *c, const ProtoHeader *h, Segment *s, const char *name, int *ret) {
        *ret = 0;
        if (!s)
                *ret = reply_error(c, h, SHMB_STATUS_NOT_FOUND, LOG_DEBUG, "no segment named '%s'", name);
        else if (!policy_may_access(&c->creds, s->uid, s->gid, s->mode, true))
                *ret = reply_denied(c, h, s, true);
        else if (s->flags & PROTO_SEG_PUBLISHED)
                *ret = reply_error(c, h, SHMB_STATUS_DENIED, LOG_DEBUG, "segment '%s' is published: it no longer "
                                   "changes", name);
        else
                return s;
        return NULL;
}

/**
 * dispatch_resize() - grow a segment; every holder is told the new size
 * @c:          connection
 * @req:        decoded RESIZE
 *
 * Return: 0, or negative errno if the connection must be dropped.
 */
int dispatch_resize(Conn *c, const ProtoRequest *req) {
        const ProtoHeader *h = &req->hdr;
        Manager *m = c->manager;
        uint64_t size = req->resize.size, charge;
        const BackendOps *ops;
        Segment *s;
        int r;

        /* Sent again: the segment it grew, if that is still there; grown already, it is done. */
        if (dispatch_op_lookup(c, req, req->resize.name, &s) && s && size <= s->size)
                return reply_seginfo(c, h, s, 0, -1);
        s = check_writable(c, h, s ?: registry_find(m->registry, req->resize.name), req->resize.name, &r);
        if (!s)
                return r;
        if (size < s->size)
                return reply_error(c, h, SHMB_STATUS_INVALID, LOG_DEBUG,
                                   "segment '%s' has %llu bytes: segments only grow (shrinking would make "
                                   "holders fault)", s->name, (unsigned long long)s->size);
        if (size == s->size) {
                dispatch_op_record(c, req, req->resize.name, s);
                return reply_seginfo(c, h, s, 0, -1);
        }
        ops = backend_get(s->backend);
        if (!ops || !ops->resize)
                return reply_error(c, h, SHMB_STATUS_UNSUPPORTED, LOG_DEBUG,
                                   "'%s' is a %s segment, which cannot grow in place", s->name,
                                   backend_name(s->backend));
        if (size > s->max_size && s->backend == PROTO_BACKEND_MEMFD)
                return reply_error(c, h, SHMB_STATUS_TOO_LARGE, LOG_DEBUG,
                                   "memfd segment '%s' is sealed at its maximum of %llu bytes "
                                   "(give a larger max_size at create)", s->name,
                                   (unsigned long long)s->max_size);
        if (size > m->cfg.max_segment_size)
                return reply_error(c, h, SHMB_STATUS_TOO_LARGE, LOG_DEBUG,
                                   "size %llu exceeds the daemon's maximum of %llu bytes", (unsigned long long)size,
                                   (unsigned long long)m->cfg.max_segment_size);
        /* The quota is checked before the object grows, so a refusal changes nothing. */
        charge = MAX(s->charged, size);
        r = registry_resize_check(m->registry, s, charge);
        if (r != 0)
                return reply_registry_error(c, h, r, s->name);
        dispatch_op_record(c, req, req->resize.name, s);
        r = ops->resize(s, size);
        if (r < 0)
                return reply_error(c, h, segment_status_from_errno(r), LOG_NOTICE, "cannot grow '%s' to %llu bytes: %s",
                                   s->name, (unsigned long long)size, strerror(-r));
        r = registry_resize(m->registry, s, size, charge);
        assert(r == 0);
        manager_segment_changed(m, s);
        log_debug("Client pid=%d uid=%u grew '%s' to %llu bytes", (int)c->pid, (unsigned)c->creds.uid, s->name,
                  (unsigned long long)size);
        r = reply_seginfo(c, h, s, 0, -1);
        events_notify_holders(m, PROTO_EVENT_RESIZED, s);
        events_emit(m, PROTO_EVENT_RESIZED, s);
        return r;
}

/**
 * dispatch_publish() - make a segment immutable; from then on every open is read-only
 * @c:          connection
 * @req:        decoded PUBLISH
 *
 * Return: 0, or negative errno if the connection must be dropped.
 */
int dispatch_publish(Conn *c, const ProtoRequest *req) {
        const ProtoHeader *h = &req->hdr;
        Manager *m = c->manager;
        const BackendOps *ops;
        bool frozen = false;
        Segment *s;
        int r;

        /* Sent again: the segment it published, if that is still there. */
        if (!dispatch_op_lookup(c, req, req->publish.name, &s) || !s)
                s = registry_find(m->registry, req->publish.name);
        /* Publishing what is published already is done: answer as for the first time. */
        if (s && (s->flags & PROTO_SEG_PUBLISHED) && policy_may_access(&c->creds, s->uid, s->gid, s->mode, true)) {
                dispatch_op_record(c, req, req->publish.name, s);
                return reply_seginfo(c, h, s, 0, -1);
        }
        s = check_writable(c, h, s, req->publish.name, &r);
        if (!s)
                return r;
        dispatch_op_record(c, req, req->publish.name, s);
        ops = backend_get(s->backend);
        r = ops && ops->publish ? ops->publish(s, &frozen) : -EOPNOTSUPP;
        if (r == -EPERM)
                return reply_error(c, h, SHMB_STATUS_DENIED, LOG_NOTICE,
                                   "cannot publish '%s': a holder sealed it against further seals", s->name);
        if (r < 0)
                return reply_error(c, h, segment_status_from_errno(r), LOG_NOTICE, "cannot publish '%s': %s",
                                   s->name, strerror(-r));
        s->flags |= PROTO_SEG_PUBLISHED | (frozen ? PROTO_SEG_FROZEN : 0);
        manager_segment_changed(m, s);
        log_debug("Client pid=%d uid=%u published '%s'%s", (int)c->pid, (unsigned)c->creds.uid, s->name,
                  frozen ? " (frozen)" : " (writable mappings remain)");
        r = reply_seginfo(c, h, s, 0, -1);
        events_emit(m, PROTO_EVENT_PUBLISHED, s);
        waiters_wake(m, s);
        return r;
}

/**
 * dispatch_watch() - subscribe to events of a name or prefix
 * @c:          connection
 * @req:        decoded WATCH
 *
 * Return: 0, or negative errno if the connection must be dropped.
 */
int dispatch_watch(Conn *c, const ProtoRequest *req) {
        uint8_t buf[SHMB_HEADER_SIZE + SHMB_WATCH_REPLY_SIZE];
        uint32_t id;
        ProtoBuf b;
        int r, n;

        r = events_watch(c, req->watch.pattern, req->watch.flags & PROTO_WATCH_PREFIX, &id);
        if (r == -EMFILE)
                return reply_error(c, &req->hdr, SHMB_STATUS_QUOTA, LOG_DEBUG,
                                   "this connection already has %d subscriptions, the limit",
                                   EVENTS_WATCHES_PER_CONN);
        if (r < 0)
                return reply_error(c, &req->hdr, SHMB_STATUS_NO_MEMORY, LOG_WARNING, "daemon out of memory");
        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, SHMB_MSG_WATCH | SHMB_MSG_REPLY, 0, req->hdr.req_id);
        proto_put_u32(&b, id);
        proto_put_u32(&b, 0);
        n = proto_finish(&b);
        return n < 0 ? n : conn_send(c, buf, (size_t)n, -1);
}

/**
 * dispatch_unwatch() - end a subscription
 * @c:          connection
 * @req:        decoded UNWATCH
 *
 * Return: 0, or negative errno if the connection must be dropped.
 */
int dispatch_unwatch(Conn *c, const ProtoRequest *req) {
        if (events_unwatch(c, req->unwatch.watch_id) < 0)
                return reply_error(c, &req->hdr, SHMB_STATUS_NOT_FOUND, LOG_DEBUG,
                                   "this connection has no subscription %u", req->unwatch.watch_id);
        return reply_empty(c, &req->hdr);
}
