/*
 * One handler per request type. Every refusal is an error reply whose text
 * says why; only an unreadable header or a broken socket drops the client.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "daemon/backend.h"
#include "daemon/conn.h"
#include "daemon/dispatch.h"
#include "daemon/dispatch-internal.h"
#include "daemon/events.h"
#include "daemon/waiters.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/policy.h"
#include "protocol/shmb-admin-proto.h"
#include "protocol/shmb-proto.h"

#define LIST_SCAN_MAX 8192      /* segments examined per LIST request */

static uint8_t out[SHMB_MSG_MAX];
static const char *request_segment;     /* the segment the current request names, for the journal */

_printf_(5, 6) int reply_error(Conn *c, const ProtoHeader *h, int status, int level, const char *fmt, ...) {
        char text[SHMB_ERROR_TEXT_MAX + 1];
        LogFields f = {
                .segment = request_segment,
                .client_pid = c->pid,
                .client_uid = c->creds.uid,
                .operation = proto_type_name(h->type),
                .status = proto_status_name(status),
        };
        ProtoBuf b;
        va_list ap;
        int n;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        log_struct_errno(level, 0, &f, "Client pid=%d uid=%u: %s refused (%s): %s", (int)c->pid,
                         (unsigned)c->creds.uid, proto_type_name(h->type), proto_status_name(status), text);
        proto_buf_init(&b, out, sizeof(out));
        n = proto_encode_error(&b, h->type, (uint16_t)status, h->req_id, text);
        return n < 0 ? n : conn_send(c, out, (size_t)n, -1);
}

void seginfo_fill(ProtoSegInfo *si, const Segment *s, uint16_t flags) {
        *si = (ProtoSegInfo){
                .id = s->id,
                .size = s->size,
                .uid = (uint32_t)s->uid,
                .gid = (uint32_t)s->gid,
                .mode = s->mode,
                .holders = (uint32_t)MIN(s->n_holders, UINT32_MAX),
                .backend = s->backend,
                .lifetime = s->lifetime,
                .flags = (uint16_t)(flags | s->flags | (s->linked ? 0 : PROTO_SEG_UNLINKED)),
                .shmid = s->obj.shmid,
                .ttl_sec = s->ttl_sec,
                .created_usec = s->created_usec,
                .max_size = s->max_size,
        };
        memcpy(si->name, s->name, sizeof(si->name));
}

int reply_seginfo(Conn *c, const ProtoHeader *h, const Segment *s, uint16_t flags, int fd) {
        ProtoSegInfo si;
        ProtoBuf b;
        int n;

        seginfo_fill(&si, s, flags);
        proto_buf_init(&b, out, sizeof(out));
        proto_put_header(&b, h->type | SHMB_MSG_REPLY, 0, h->req_id);
        proto_put_seginfo(&b, &si);
        n = proto_finish(&b);
        return n < 0 ? n : conn_send(c, out, (size_t)n, fd);
}

int reply_empty(Conn *c, const ProtoHeader *h) {
        ProtoBuf b;
        int n;

        proto_buf_init(&b, out, sizeof(out));
        proto_put_header(&b, h->type | SHMB_MSG_REPLY, 0, h->req_id);
        n = proto_finish(&b);
        return n < 0 ? n : conn_send(c, out, (size_t)n, -1);
}

int reply_registry_error(Conn *c, const ProtoHeader *h, int r, const char *name) {
        if (r == -ENOMEM)
                return reply_error(c, h, SHMB_STATUS_NO_MEMORY, LOG_WARNING, "daemon out of memory");
        if (r < 0)
                return reply_error(c, h, SHMB_STATUS_INTERNAL, LOG_ERR, "registry failure: %s", strerror(-r));
        if (r == REGISTRY_E_EXISTS)
                return reply_error(c, h, SHMB_STATUS_EXISTS, LOG_DEBUG, "segment '%s' exists", name);
        if (r == REGISTRY_E_NOT_HELD)
                return reply_error(c, h, SHMB_STATUS_NOT_HELD, LOG_DEBUG, "%s", registry_strerror(r));
        return reply_error(c, h, SHMB_STATUS_QUOTA, LOG_NOTICE, "%s", registry_strerror(r));
}

static const char *access_word(bool write) {
        return write ? "read-write" : "read-only";
}

static int handle_hello(Conn *c, const ProtoRequest *req) {
        ProtoHelloReply hr = {
                .max_message = SHMB_MSG_MAX,
                .max_name = SHMB_NAME_MAX,
                .uid = (uint32_t)c->creds.uid,
                .gid = (uint32_t)c->creds.gid,
                .pid = (uint32_t)c->pid,
        };
        ProtoBuf b;
        int n;

        if (c->hello_done)
                return reply_error(c, &req->hdr, SHMB_STATUS_PROTOCOL, LOG_DEBUG, "HELLO was already done");
        if (req->hello.min_version > SHMB_PROTO_VERSION_MAX || req->hello.max_version < SHMB_PROTO_VERSION_MIN)
                return reply_error(c, &req->hdr, SHMB_STATUS_VERSION, LOG_NOTICE,
                                   "client speaks versions %u-%u, daemon speaks %u-%u", req->hello.min_version,
                                   req->hello.max_version, SHMB_PROTO_VERSION_MIN, SHMB_PROTO_VERSION_MAX);
        c->hello_done = true;
        /* The highest version both speak; the reply and everything after carry it in the header. */
        c->version = MIN(req->hello.max_version, (uint16_t)SHMB_PROTO_VERSION_MAX);
        hr.version = c->version;
        snprintf(hr.server, sizeof(hr.server), "shmbrokerd %s", PACKAGE_VERSION);
        proto_buf_init(&b, out, sizeof(out));
        n = proto_encode_hello_reply(&b, req->hdr.req_id, &hr);
        return n < 0 ? n : conn_send(c, out, (size_t)n, -1);
}

int segment_status_from_errno(int r) {
        switch (r) {
        case -ENOSPC:
        case -ENOMEM:
        case -EDQUOT:
        case -EROFS:
                return SHMB_STATUS_NO_SPACE;
        case -EOPNOTSUPP:
                return SHMB_STATUS_UNSUPPORTED;
        case -EFBIG:
        case -EINVAL:
                return SHMB_STATUS_TOO_LARGE;
        case -EMFILE:
        case -ENFILE:
                return SHMB_STATUS_QUOTA;
        default:
                return SHMB_STATUS_INTERNAL;
        }
}

int reply_denied(Conn *c, const ProtoHeader *h, const Segment *s, bool write) {
        return reply_error(c, h, SHMB_STATUS_DENIED, LOG_DEBUG,
                           "uid %u may not open '%s' %s (owner %u, group %u, mode %04o)", (unsigned)c->creds.uid,
                           s->name, access_word(write), (unsigned)s->uid, (unsigned)s->gid, s->mode);
}

/* Open @s for @c, with @flags added to the reply's; @check: the mode must allow it. */
static int open_segment(Conn *c, const ProtoHeader *h, Segment *s, bool write, uint16_t flags, bool check) {
        const BackendOps *ops = backend_get(s->backend);
        int fd = -1, r;

        if (s->flags & PROTO_SEG_PUBLISHED)
                write = false;
        if (check && !policy_may_access(&c->creds, s->uid, s->gid, s->mode, write))
                return reply_denied(c, h, s, write);
        r = ops ? ops->get_fd(s, write, &fd) : -ENOSYS;
        if (r < 0)
                return reply_error(c, h, segment_status_from_errno(r), LOG_WARNING,
                                   "cannot open '%s': %s", s->name, strerror(-r));
        r = registry_hold(c->manager->registry, s, &c->holds, write);
        if (r != 0)
                return reply_registry_error(c, h, r, s->name);
        return reply_seginfo(c, h, s, (uint16_t)(flags | (write ? 0 : PROTO_SEG_READONLY)), fd);
}

/* Open an existing segment for @c; a published segment is opened read-only whatever was asked. */
int dispatch_open_existing(Conn *c, const ProtoHeader *h, Segment *s, bool write) {
        return open_segment(c, h, s, write, 0, true);
}

/*
 * A CREATE sent again: its process gets what it made as the first reply gave it, SEG_CREATED
 * included, whatever the mode says (a creator gets its segment even with a mode that keeps the
 * owner out); read-only if it was published since.
 */
int dispatch_open_created(Conn *c, const ProtoHeader *h, Segment *s) {
        return open_segment(c, h, s, true, PROTO_SEG_CREATED, false);
}

static int handle_create(Conn *c, const ProtoRequest *req) {
        const ProtoHeader *h = &req->hdr;
        Manager *m = c->manager;
        uint8_t backend = req->create.backend ? req->create.backend : m->cfg.default_backend;
        const BackendOps *ops = backend_get(backend);
        const char *name = req->create.name;
        uint64_t size = req->create.size, max_size;
        uint16_t seg_flags = 0;
        SegmentParams p;
        Segment *s;
        int fd, r;

        if (dispatch_op_lookup(c, req, name, &s) && s)
                return dispatch_create_again(c, h, s);
        if (!ops)
                return reply_error(c, h, SHMB_STATUS_UNSUPPORTED, LOG_DEBUG,
                                   "backend '%s' is not available in this daemon", backend_name(backend));
        if (req->create.flags & PROTO_CREATE_HUGE) {
                uint64_t page;

                if (backend != PROTO_BACKEND_MEMFD && backend != PROTO_BACKEND_SYSV)
                        return reply_error(c, h, SHMB_STATUS_UNSUPPORTED, LOG_DEBUG,
                                           "huge pages are available for memfd and sysv segments, not %s",
                                           backend_name(backend));
                r = backend_huge_page_size(&page);
                if (r < 0)
                        return reply_error(c, h, SHMB_STATUS_NO_SPACE, LOG_DEBUG, "%s",
                                           r == -ENOSPC ? "no huge pages are reserved on this host "
                                                          "(vm.nr_hugepages is 0)"
                                                        : "this kernel offers no huge pages");
                if (size > UINT64_MAX - page + 1)
                        return reply_error(c, h, SHMB_STATUS_TOO_LARGE, LOG_DEBUG, "size too large");
                size = (size + page - 1) / page * page;
                seg_flags |= PROTO_SEG_HUGE;
        }
        max_size = size;
        if (req->create.flags & PROTO_CREATE_RESERVE) {
                if (backend == PROTO_BACKEND_SYSV)
                        return reply_error(c, h, SHMB_STATUS_UNSUPPORTED, LOG_DEBUG,
                                           "sysv segments cannot be reserved without mapping them; "
                                           "the kernel charges them at shmget() time");
                seg_flags |= PROTO_SEG_RESERVED;
        }
        if (req->create.max_size > size) {
                if (backend == PROTO_BACKEND_SYSV)
                        return reply_error(c, h, SHMB_STATUS_UNSUPPORTED, LOG_DEBUG,
                                           "sysv segments cannot grow in place, so they take no max_size");
                if (seg_flags & PROTO_SEG_HUGE)
                        return reply_error(c, h, SHMB_STATUS_UNSUPPORTED, LOG_DEBUG,
                                           "huge-page segments cannot grow, so they take no max_size");
                max_size = req->create.max_size;
        }
        if (max_size > m->cfg.max_segment_size)
                return reply_error(c, h, SHMB_STATUS_TOO_LARGE, LOG_DEBUG,
                                   "%s %llu exceeds the daemon's maximum of %llu bytes",
                                   max_size > size ? "max_size" : "size", (unsigned long long)max_size,
                                   (unsigned long long)m->cfg.max_segment_size);
        s = registry_find(m->registry, name);
        if (s) {
                if (req->create.flags & PROTO_CREATE_EXCL)
                        return reply_error(c, h, SHMB_STATUS_EXISTS, LOG_DEBUG, "segment '%s' exists", name);
                /* Permission first: a caller without access learns nothing about the segment. */
                if (!policy_may_access(&c->creds, s->uid, s->gid, s->mode, true))
                        return reply_denied(c, h, s, true);
                if (req->create.backend != PROTO_BACKEND_DEFAULT && req->create.backend != s->backend)
                        return reply_error(c, h, SHMB_STATUS_EXISTS, LOG_DEBUG,
                                           "segment '%s' exists with backend %s, not %s", name,
                                           backend_name(s->backend), backend_name(req->create.backend));
                if (size > s->size)
                        return reply_error(c, h, SHMB_STATUS_EXISTS, LOG_DEBUG,
                                           "segment '%s' exists with %llu bytes, fewer than the %llu asked for",
                                           name, (unsigned long long)s->size,
                                           (unsigned long long)size);
                return dispatch_open_existing(c, h, s, true);
        }

        p = (SegmentParams){
                .name = name,
                .size = size,
                .max_size = max_size,
                /* A memfd is sized to its maximum at once, and any writer can touch all of it. */
                .charge = backend == PROTO_BACKEND_MEMFD ? max_size : size,
                .ttl_sec = req->create.ttl_sec,
                .uid = c->creds.uid,
                .gid = c->creds.gid,
                .mode = req->create.mode,
                .lifetime = req->create.lifetime,
                .backend = backend,
                .flags = seg_flags,
                .created_usec = now_usec(),
        };
        r = registry_create(m->registry, &p, &c->holds, &s);
        if (r != 0)
                return reply_registry_error(c, h, r, name);
        r = ops->create(s);
        if (r >= 0)
                r = ops->get_fd(s, true, &fd);
        if (r < 0) {
                int status = segment_status_from_errno(r);

                /* The name first (the creator's hold keeps the segment), then the hold: it goes with it. */
                registry_unlink(m->registry, s);
                (void)registry_release(m->registry, &c->holds, s->id);
                return reply_error(c, h, status, LOG_NOTICE, "cannot create %llu-byte %s segment '%s': %s",
                                   (unsigned long long)size, backend_name(backend), name, strerror(-r));
        }
        dispatch_op_record(c, req, name, s);
        manager_segment_created(m, s);
        log_struct_errno(LOG_DEBUG, 0,
                         &((LogFields){ .segment = name, .client_pid = c->pid, .client_uid = c->creds.uid,
                                        .operation = "create", .status = "OK" }),
                         "Client pid=%d uid=%u created '%s' (id %llu, %llu bytes, %s, mode %04o)", (int)c->pid,
                         (unsigned)c->creds.uid, name, (unsigned long long)s->id, (unsigned long long)s->size,
                         backend_name(backend), s->mode);
        r = reply_seginfo(c, h, s, PROTO_SEG_CREATED, fd);
        events_emit(m, PROTO_EVENT_CREATED, s);
        waiters_wake(m, s);
        return r;
}

static int handle_open(Conn *c, const ProtoRequest *req) {
        Segment *s = registry_find(c->manager->registry, req->open.name);
        bool want_published = req->open.flags & PROTO_OPEN_WAIT_PUBLISHED;

        if (s && (!want_published || (s->flags & PROTO_SEG_PUBLISHED)))
                return dispatch_open_existing(c, &req->hdr, s, !(req->open.flags & PROTO_OPEN_RDONLY));
        if (req->open.timeout_ms > 0)
                return waiters_park(c, &req->hdr, req->open.name, req->open.flags, req->open.timeout_ms);
        if (s)
                return reply_error(c, &req->hdr, SHMB_STATUS_NOT_FOUND, LOG_DEBUG, "segment '%s' is not published",
                                   req->open.name);
        return reply_error(c, &req->hdr, SHMB_STATUS_NOT_FOUND, LOG_DEBUG, "no segment named '%s'",
                           req->open.name);
}

static int handle_release(Conn *c, const ProtoRequest *req) {
        int r = registry_release(c->manager->registry, &c->holds, req->release.id);

        if (r != 0)
                return reply_registry_error(c, &req->hdr, r, NULL);
        return reply_empty(c, &req->hdr);
}

static int handle_unlink(Conn *c, const ProtoRequest *req) {
        Segment *s;

        if (dispatch_op_lookup(c, req, req->unlink.name, &s)) {
                /* Done already; or recorded, then cut short by a crash: finish it. */
                if (s && s->linked && policy_may_unlink(&c->creds, s->uid))
                        registry_unlink(c->manager->registry, s);
                return reply_empty(c, &req->hdr);
        }
        s = registry_find(c->manager->registry, req->unlink.name);
        if (!s)
                return reply_error(c, &req->hdr, SHMB_STATUS_NOT_FOUND, LOG_DEBUG, "no segment named '%s'",
                                   req->unlink.name);
        if (!policy_may_unlink(&c->creds, s->uid))
                return reply_error(c, &req->hdr, SHMB_STATUS_NOT_OWNER, LOG_DEBUG,
                                   "only its owner (uid %u) or root may unlink '%s'", (unsigned)s->uid, s->name);
        dispatch_op_record(c, req, req->unlink.name, s);
        registry_unlink(c->manager->registry, s);
        return reply_empty(c, &req->hdr);
}

bool dispatch_may_read(const Conn *c, const Segment *s) {
        return policy_may_access(&c->creds, s->uid, s->gid, s->mode, false);
}

static int handle_stat(Conn *c, const ProtoRequest *req) {
        Segment *s = registry_find(c->manager->registry, req->stat.name);

        if (!s)
                return reply_error(c, &req->hdr, SHMB_STATUS_NOT_FOUND, LOG_DEBUG, "no segment named '%s'",
                                   req->stat.name);
        if (!dispatch_may_read(c, s))
                return reply_error(c, &req->hdr, SHMB_STATUS_DENIED, LOG_DEBUG,
                                   "uid %u may not read '%s' (owner %u, group %u, mode %04o)",
                                   (unsigned)c->creds.uid, s->name, (unsigned)s->uid, (unsigned)s->gid, s->mode);
        return reply_seginfo(c, &req->hdr, s, 0, -1);
}

static int handle_sync(Conn *c, const ProtoRequest *req) {
        Segment *s = registry_find(c->manager->registry, req->sync.name);
        const BackendOps *ops;
        int r;

        if (!s)
                return reply_error(c, &req->hdr, SHMB_STATUS_NOT_FOUND, LOG_DEBUG, "no segment named '%s'",
                                   req->sync.name);
        if (!dispatch_may_read(c, s))
                return reply_error(c, &req->hdr, SHMB_STATUS_DENIED, LOG_DEBUG,
                                   "uid %u may not read '%s' (owner %u, group %u, mode %04o)",
                                   (unsigned)c->creds.uid, s->name, (unsigned)s->uid, (unsigned)s->gid, s->mode);
        ops = backend_get(s->backend);
        if (!ops || !ops->sync)
                return reply_error(c, &req->hdr, SHMB_STATUS_UNSUPPORTED, LOG_DEBUG,
                                   "'%s' is a %s segment: only file segments have storage to sync", s->name,
                                   backend_name(s->backend));
        r = ops->sync(s);
        if (r < 0)
                return reply_error(c, &req->hdr, segment_status_from_errno(r), LOG_WARNING,
                                   "cannot sync '%s': %s", s->name, strerror(-r));
        return reply_empty(c, &req->hdr);
}

static int handle_reclaim(Conn *c, const ProtoRequest *req) {
        Registry *reg = c->manager->registry;
        Segment *s = registry_find_id(reg, req->reclaim.id);
        bool write = !(req->reclaim.flags & PROTO_RECLAIM_RDONLY);
        int r;

        if (!s)
                return reply_error(c, &req->hdr, SHMB_STATUS_NOT_FOUND, LOG_DEBUG,
                                   "no segment with id %llu: it did not survive the daemon's restart",
                                   (unsigned long long)req->reclaim.id);
        r = registry_reclaim(reg, s, &c->holds, write);
        if (r == REGISTRY_E_NOT_PENDING)
                return reply_error(c, &req->hdr, SHMB_STATUS_NOT_HELD, LOG_DEBUG,
                                   "no %s hold of process %d (uid %u) on segment %llu awaits reclaim",
                                   access_word(write), (int)c->pid, (unsigned)c->creds.uid,
                                   (unsigned long long)s->id);
        if (r != 0)
                return reply_registry_error(c, &req->hdr, r, s->name);
        log_struct_errno(LOG_DEBUG, 0,
                         &((LogFields){ .segment = s->name, .client_pid = c->pid, .client_uid = c->creds.uid,
                                        .operation = "reclaim", .status = "OK" }),
                         "Client pid=%d uid=%u reclaimed a %s hold on '%s' (id %llu)", (int)c->pid,
                         (unsigned)c->creds.uid, access_word(write), s->name, (unsigned long long)s->id);
        manager_changed(c->manager);
        return reply_seginfo(c, &req->hdr, s, write ? 0 : PROTO_SEG_READONLY, -1);
}

static int handle_list(Conn *c, const ProtoRequest *req) {
        Registry *reg = c->manager->registry;
        uint32_t max = req->list.max_entries, count = 0, flags = 0;
        uint64_t next = req->list.after_id;
        size_t count_at;
        ProtoBuf b;
        Segment *s;
        int n;

        proto_buf_init(&b, out, sizeof(out));
        proto_put_header(&b, SHMB_MSG_LIST | SHMB_MSG_REPLY, 0, req->hdr.req_id);
        count_at = b.len;
        proto_put_u32(&b, 0);
        proto_put_u32(&b, 0);
        proto_put_u64(&b, 0);

        s = registry_first_after(reg, req->list.after_id);
        for (unsigned scanned = 0; s; s = registry_next(reg, s), scanned++) {
                ProtoSegInfo si;
                size_t before = b.len;

                if ((max && count >= max) || scanned >= LIST_SCAN_MAX) {
                        flags |= SHMB_LIST_MORE;
                        break;
                }
                if (s->linked && dispatch_may_read(c, s)) {
                        seginfo_fill(&si, s, 0);
                        proto_put_seginfo(&b, &si);
                        if (b.overflow) {
                                b.overflow = false;
                                b.len = before;
                                flags |= SHMB_LIST_MORE;
                                break;
                        }
                        count++;
                }
                next = s->id;
        }
        /* Patch count, flags and cursor in place. */
        {
                ProtoBuf p = { .data = out + count_at, .size = 16 };

                proto_put_u32(&p, count);
                proto_put_u32(&p, flags);
                proto_put_u64(&p, next);
        }
        n = proto_finish(&b);
        return n < 0 ? n : conn_send(c, out, (size_t)n, -1);
}

/* The segment a decoded request is about, if any. */
static const char *request_segment_name(Conn *c, const ProtoRequest *req, int decode_status) {
        Segment *s;

        if (decode_status != 0)
                return NULL;
        switch (req->hdr.type) {
        case SHMB_MSG_CREATE:
                return req->create.name;
        case SHMB_MSG_OPEN:
                return req->open.name;
        case SHMB_MSG_UNLINK:
        case SHMB_MSG_STAT:
        case SHMB_MSG_SYNC:
                return req->stat.name;
        case SHMB_MSG_RELEASE:
        case SHMB_MSG_RECLAIM:
                s = registry_find_id(c->manager->registry,
                                     req->hdr.type == SHMB_MSG_RELEASE ? req->release.id : req->reclaim.id);
                return s ? s->name : NULL;
        default:
                return NULL;
        }
}

/**
 * dispatch_request() - handle one datagram from a client
 * @c:          connection
 * @buf:        datagram
 * @len:        its size (at most SHMB_MSG_MAX)
 * @n_fds:      fds that came with it (already closed)
 *
 * Return: 0, or negative errno if the connection must be dropped.
 */
int dispatch_request(Conn *c, const uint8_t *buf, size_t len, size_t n_fds) {
        const char *why = NULL;
        ProtoRequest req;
        int s;

        s = proto_decode_request_version(buf, len, c->version, &req, &why);
        request_segment = request_segment_name(c, &req, s);
        if (len < SHMB_HEADER_SIZE)
                return log_notice_errno(EBADMSG, "Client pid=%d uid=%u sent a %zu-byte datagram, disconnecting",
                                        (int)c->pid, (unsigned)c->creds.uid, len);
        if (n_fds > 0)
                return reply_error(c, &req.hdr, SHMB_STATUS_PROTOCOL, LOG_NOTICE,
                                   "requests must not carry file descriptors (%zu closed)", n_fds);
        if (s == SHMB_STATUS_UNSUPPORTED && proto_admin_type_is_admin(req.hdr.type))
                why = "admin requests are served on the admin socket only";
        if (s != 0)
                return reply_error(c, &req.hdr, s, LOG_DEBUG, "%s", why);
        if (!c->hello_done && req.hdr.type != SHMB_MSG_HELLO)
                return reply_error(c, &req.hdr, SHMB_STATUS_PROTOCOL, LOG_DEBUG,
                                   "the first request on a connection must be HELLO");

        switch (req.hdr.type) {
        case SHMB_MSG_HELLO:
                return handle_hello(c, &req);
        case SHMB_MSG_CREATE:
                return handle_create(c, &req);
        case SHMB_MSG_OPEN:
                return handle_open(c, &req);
        case SHMB_MSG_RELEASE:
                return handle_release(c, &req);
        case SHMB_MSG_UNLINK:
                return handle_unlink(c, &req);
        case SHMB_MSG_STAT:
                return handle_stat(c, &req);
        case SHMB_MSG_LIST:
                return handle_list(c, &req);
        case SHMB_MSG_SYNC:
                return handle_sync(c, &req);
        case SHMB_MSG_RESIZE:
                return dispatch_resize(c, &req);
        case SHMB_MSG_PUBLISH:
                return dispatch_publish(c, &req);
        case SHMB_MSG_WATCH:
                return dispatch_watch(c, &req);
        case SHMB_MSG_UNWATCH:
                return dispatch_unwatch(c, &req);
        case SHMB_MSG_RECLAIM:
                return handle_reclaim(c, &req);
        }
        return reply_error(c, &req.hdr, SHMB_STATUS_UNSUPPORTED, LOG_DEBUG, "unknown message type");
}
