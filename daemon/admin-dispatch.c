/*
 * Admin requests: the admin connection's HELLO, authorization, dispatch,
 * and the actions (destroy a segment, disconnect a process, change the log
 * level). The queries are in admin-query.c.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "daemon/admin-internal.h"
#include "daemon/admin.h"
#include "daemon/conn.h"
#include "daemon/log.h"
#include "daemon/manager.h"

static uint8_t out[SHMB_MSG_MAX];

/**
 * admin_reply_error() - send an error reply on an admin connection and log it
 * @c:          admin connection
 * @h:          header of the request being answered
 * @status:     SHMB_STATUS_*, not OK
 * @level:      log level of the refusal
 * @fmt:        the reason, in words the operator can act on
 *
 * Return: 0, or negative errno if the connection is broken.
 */
int admin_reply_error(Conn *c, const ProtoHeader *h, int status, int level, const char *fmt, ...) {
        char text[SHMB_ERROR_TEXT_MAX + 1];
        ProtoBuf b;
        va_list ap;
        int n;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        log_full_errno(level, 0, "Admin pid=%d uid=%u: %s refused (%s): %s", (int)c->pid, (unsigned)c->creds.uid,
                       proto_admin_op_name(h->type), proto_status_name(status), text);
        proto_buf_init(&b, out, sizeof(out));
        n = proto_encode_error(&b, h->type, (uint16_t)status, h->req_id, text);
        return n < 0 ? n : conn_send(c, out, (size_t)n, -1);
}

/**
 * admin_reply_finish() - patch the length of a reply and send it
 * @c:          admin connection
 * @b:          the encoded reply
 *
 * Return: 0, or negative errno.
 */
int admin_reply_finish(Conn *c, ProtoBuf *b) {
        int n = proto_finish(b);

        return n < 0 ? n : conn_send(c, b->data, (size_t)n, -1);
}

static int admin_hello(Conn *c, const ProtoRequest *req) {
        ProtoHelloReply hr = {
                .version = SHMB_PROTO_VERSION,
                .max_message = SHMB_MSG_MAX,
                .max_name = SHMB_NAME_MAX,
                .uid = (uint32_t)c->creds.uid,
                .gid = (uint32_t)c->creds.gid,
                .pid = (uint32_t)c->pid,
        };
        ProtoBuf b;
        int n;

        if (c->hello_done)
                return admin_reply_error(c, &req->hdr, SHMB_STATUS_PROTOCOL, LOG_DEBUG, "HELLO was already done");
        if (req->hello.min_version > SHMB_PROTO_VERSION || req->hello.max_version < SHMB_PROTO_VERSION_MIN)
                return admin_reply_error(c, &req->hdr, SHMB_STATUS_VERSION, LOG_NOTICE,
                                         "client speaks versions %u-%u, daemon speaks %u-%u",
                                         req->hello.min_version, req->hello.max_version, SHMB_PROTO_VERSION_MIN,
                                         SHMB_PROTO_VERSION);
        c->hello_done = true;
        snprintf(hr.server, sizeof(hr.server), "shmbrokerd %s", PACKAGE_VERSION);
        proto_buf_init(&b, out, sizeof(out));
        n = proto_encode_hello_reply(&b, req->hdr.req_id, &hr);
        return n < 0 ? n : conn_send(c, out, (size_t)n, -1);
}

static int admin_destroy(Conn *c, const ProtoAdminRequest *req) {
        Registry *reg = c->manager->registry;
        Segment *s = registry_find(reg, req->destroy.name);
        uint64_t id, n;
        ProtoBuf b;

        if (!s)
                return admin_reply_error(c, &req->hdr, SHMB_STATUS_NOT_FOUND, LOG_DEBUG, "no segment named '%s'",
                                         req->destroy.name);
        id = s->id;
        n = registry_destroy(reg, s);
        log_notice("Admin pid=%d uid=%u destroyed segment '%s' (id %llu), dropping the holds of %llu connection(s)",
                   (int)c->pid, (unsigned)c->creds.uid, req->destroy.name, (unsigned long long)id,
                   (unsigned long long)n);
        proto_buf_init(&b, out, sizeof(out));
        proto_put_header(&b, req->hdr.type | SHMB_MSG_REPLY, 0, req->hdr.req_id);
        proto_put_u64(&b, id);
        proto_put_u64(&b, n);
        return admin_reply_finish(c, &b);
}

static int admin_kick(Conn *c, const ProtoAdminRequest *req) {
        Manager *m = c->manager;
        pid_t pid = (pid_t)req->kick.pid;
        uint64_t holds = 0;
        uint32_t closed = 0;
        bool self = false;
        ProtoBuf b;

        /* Bounded by the connection limit; the requesting connection itself is spared. */
        list_for_each_safe(l, &m->conns) {
                Conn *k = list_entry(l, Conn, link);

                if (k->pid != pid)
                        continue;
                if (k == c) {
                        self = true;
                        continue;
                }
                holds += k->holds.n_holds;
                closed++;
                conn_dismiss(k, "disconnected by an administrator (kick)");
        }
        if (closed == 0)
                return admin_reply_error(c, &req->hdr, SHMB_STATUS_NOT_FOUND, LOG_DEBUG, "%s %d",
                                         self ? "no connection other than this one is from pid"
                                              : "no connection from pid",
                                         (int)pid);
        log_notice("Admin pid=%d uid=%u disconnected %u connection(s) of pid %d, releasing %llu hold(s)",
                   (int)c->pid, (unsigned)c->creds.uid, closed, (int)pid, (unsigned long long)holds);
        proto_buf_init(&b, out, sizeof(out));
        proto_put_header(&b, req->hdr.type | SHMB_MSG_REPLY, 0, req->hdr.req_id);
        proto_put_u32(&b, closed);
        proto_put_u32(&b, 0);
        proto_put_u64(&b, holds);
        return admin_reply_finish(c, &b);
}

static int admin_log_level(Conn *c, const ProtoAdminRequest *req) {
        uint32_t level = req->log_level.level, old = (uint32_t)log_get_max_level();
        ProtoBuf b;

        if (level == SHMB_ADMIN_LOG_LEVEL_QUERY) {
                level = old;
        } else if (level > LOG_DEBUG) {
                return admin_reply_error(c, &req->hdr, SHMB_STATUS_INVALID, LOG_DEBUG,
                                         "log level must be 0 (emerg) to 7 (debug), not %u", level);
        } else if (level != old) {
                /* Said at notice, or lower if either level would hide that: the change is always logged. */
                log_full_errno((int)MIN(MIN(old, level), (uint32_t)LOG_NOTICE), 0,
                               "Admin pid=%d uid=%u changed the log level from %s to %s", (int)c->pid,
                               (unsigned)c->creds.uid, log_level_to_string((int)old),
                               log_level_to_string((int)level));
                log_set_max_level((int)level);
        }
        proto_buf_init(&b, out, sizeof(out));
        proto_put_header(&b, req->hdr.type | SHMB_MSG_REPLY, 0, req->hdr.req_id);
        proto_put_u32(&b, old);
        proto_put_u32(&b, level);
        return admin_reply_finish(c, &b);
}

static int admin_denied(Conn *c, const ProtoHeader *h) {
        Manager *m = c->manager;

        char who[SHMB_ERROR_TEXT_MAX / 2], user[64] = "";

        m->stats.admin_denied_total++;
        if (m->admin.daemon_uid != 0)
                snprintf(user, sizeof(user), ", uid %u (the daemon's user)", (unsigned)m->admin.daemon_uid);
        if (m->cfg.admin_group_name)
                snprintf(who, sizeof(who), "root%s or group '%s'", user, m->cfg.admin_group_name);
        else
                snprintf(who, sizeof(who), "root%s", user);
        (void)admin_reply_error(c, h, SHMB_STATUS_DENIED, LOG_NOTICE, "admin access needs %s (you are uid %u)", who,
                                (unsigned)c->creds.uid);
        return -EACCES;
}

/**
 * admin_dispatch() - handle one datagram from an admin connection
 * @c:          connection accepted on the admin socket
 * @buf:        datagram
 * @len:        its size (at most SHMB_MSG_MAX)
 * @n_fds:      fds that came with it (already closed)
 *
 * A peer that is not authorized gets DENIED to whatever it sent first and
 * is disconnected. Client requests get UNSUPPORTED: they belong on the
 * client socket.
 *
 * Return: 0, or negative errno if the connection must be dropped.
 */
int admin_dispatch(Conn *c, const uint8_t *buf, size_t len, size_t n_fds) {
        const char *why = NULL;
        ProtoAdminRequest req;
        ProtoHeader h = {};
        int s;

        if (len < SHMB_HEADER_SIZE)
                return log_notice_errno(EBADMSG, "Admin pid=%d uid=%u sent a %zu-byte datagram, disconnecting",
                                        (int)c->pid, (unsigned)c->creds.uid, len);
        (void)proto_decode_header(buf, len, &h);
        if (!admin_peer_authorized(c->manager, &c->creds))
                return admin_denied(c, &h);
        if (n_fds > 0)
                return admin_reply_error(c, &h, SHMB_STATUS_PROTOCOL, LOG_NOTICE,
                                         "requests must not carry file descriptors (%zu closed)", n_fds);
        if (h.type == SHMB_MSG_HELLO) {
                ProtoRequest hello;

                s = proto_decode_request(buf, len, &hello, &why);
                if (s != 0)
                        return admin_reply_error(c, &hello.hdr, s, LOG_DEBUG, "%s", why);
                return admin_hello(c, &hello);
        }
        s = proto_admin_decode_request(buf, len, &req, &why);
        if (s != 0)
                return admin_reply_error(c, &req.hdr, s, LOG_DEBUG, "%s", why);
        if (!c->hello_done)
                return admin_reply_error(c, &req.hdr, SHMB_STATUS_PROTOCOL, LOG_DEBUG,
                                         "the first request on a connection must be HELLO");

        switch (req.hdr.type) {
        case SHMB_ADMIN_MSG_LIST_SEGMENTS:
                return admin_handle_list_segments(c, &req);
        case SHMB_ADMIN_MSG_SHOW:
                return admin_handle_show(c, &req);
        case SHMB_ADMIN_MSG_LIST_CLIENTS:
                return admin_handle_list_clients(c, &req);
        case SHMB_ADMIN_MSG_STATS:
                return admin_handle_stats(c, &req);
        case SHMB_ADMIN_MSG_DESTROY:
                return admin_destroy(c, &req);
        case SHMB_ADMIN_MSG_KICK:
                return admin_kick(c, &req);
        case SHMB_ADMIN_MSG_LOG_LEVEL:
                return admin_log_level(c, &req);
        }
        return admin_reply_error(c, &req.hdr, SHMB_STATUS_UNSUPPORTED, LOG_DEBUG, "unknown message type");
}
