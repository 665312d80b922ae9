/*
 * Parked OPEN requests.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/conn.h"
#include "daemon/dispatch-internal.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/registry.h"
#include "daemon/waiters.h"

static void waiter_free(Waiter *w) {
        Conn *c = w->conn;

        ev_timer_stop(c->manager->loop, &w->timer);
        hmap_remove(&c->manager->waiters, &w->node);
        c->waiter = NULL;
        c->parked_input = false;
        free(w);
}

/* Answer a parked request and let its connection read again; drop the connection if broken. */
static void waiter_finish(Waiter *w, Segment *s) {
        ProtoHeader h = w->hdr;
        Conn *c = w->conn;
        char name[SHMB_NAME_MAX + 1];
        uint32_t ms = w->timeout_ms;
        bool published = w->flags & PROTO_OPEN_WAIT_PUBLISHED, write = !(w->flags & PROTO_OPEN_RDONLY);
        int r;

        memcpy(name, w->name, sizeof(name));
        waiter_free(w);
        if (s)
                r = dispatch_open_existing(c, &h, s, write);
        else
                r = reply_error(c, &h, SHMB_STATUS_NOT_FOUND, LOG_DEBUG, "no segment named '%s' %s within %u ms",
                                name, published ? "was published" : "appeared", ms);
        if (r < 0)
                conn_free(c);
        else
                conn_update_events(c);
}

static void waiter_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents) {
        waiter_finish(container_of(t, Waiter, timer), NULL);
}

/**
 * waiters_park() - wait for @name to appear before answering an OPEN
 * @c:          connection (must have no parked request)
 * @h:          the request's header
 * @name:       segment name
 * @flags:      PROTO_OPEN_* of the request
 * @timeout_ms: how long, at least 1
 *
 * Return: 0, or negative errno if the connection must be dropped.
 */
int waiters_park(Conn *c, const ProtoHeader *h, const char *name, uint16_t flags, uint32_t timeout_ms) {
        Manager *m = c->manager;
        Waiter *w;

        w = calloc(1, sizeof(*w));
        if (!w)
                return reply_error(c, h, SHMB_STATUS_NO_MEMORY, LOG_WARNING, "daemon out of memory");
        w->conn = c;
        w->hdr = *h;
        w->flags = flags;
        w->timeout_ms = timeout_ms;
        snprintf(w->name, sizeof(w->name), "%s", name);
        if (hmap_insert(&m->waiters, &w->node, hash_bytes(w->name, strlen(w->name))) < 0) {
                free(w);
                return reply_error(c, h, SHMB_STATUS_NO_MEMORY, LOG_WARNING, "daemon out of memory");
        }
        ev_timer_init(&w->timer, waiter_timeout_cb, timeout_ms / 1000.0, 0.);
        ev_timer_start(m->loop, &w->timer);
        c->waiter = w;
        conn_update_events(c);
        log_debug("Client pid=%d waits up to %u ms for '%s'", (int)c->pid, timeout_ms, name);
        return 0;
}

/**
 * waiters_wake() - a segment was created or published: answer those waiting for it
 * @m:          manager
 * @s:          the segment (named)
 */
void waiters_wake(Manager *m, Segment *s) {
        uint64_t hash = hash_bytes(s->name, strlen(s->name)), id = s->id;
        bool more = true;

        /* Each answer may free connections (and with them holds): look everything up again. */
        while (more && registry_find_id(m->registry, id) == s) {
                more = false;
                for (HNode *n = hmap_first(&m->waiters, hash); n; n = hmap_next(n)) {
                        Waiter *w = container_of(n, Waiter, node);

                        if (strcmp(w->name, s->name) != 0)
                                continue;
                        if ((w->flags & PROTO_OPEN_WAIT_PUBLISHED) && !(s->flags & PROTO_SEG_PUBLISHED))
                                continue;
                        waiter_finish(w, (Segment *)s);
                        more = true;
                        break;
                }
        }
}

/**
 * waiters_conn_free() - forget the parked request of a closing connection
 * @c:          connection
 */
void waiters_conn_free(Conn *c) {
        if (c->waiter)
                waiter_free(c->waiter);
}
