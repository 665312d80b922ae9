/*
 * Subscriptions and event delivery.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/conn.h"
#include "daemon/events.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/policy.h"
#include "daemon/registry.h"
#include "protocol/shmb-proto.h"

/**
 * events_watch() - subscribe @c to a name or prefix
 * @c:          connection
 * @pattern:    valid name, or valid prefix (may be empty) when @prefix
 * @prefix:     match names starting with @pattern
 * @ret_id:     the subscription's id (unique within the connection)
 *
 * Return: 0, -EMFILE past EVENTS_WATCHES_PER_CONN, or -ENOMEM.
 */
int events_watch(Conn *c, const char *pattern, bool prefix, uint32_t *ret_id) {
        Watch *w;

        if (c->n_watches >= EVENTS_WATCHES_PER_CONN)
                return -EMFILE;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->conn = c;
        w->id = ++c->last_watch_id;
        w->prefix = prefix;
        w->len = strlen(pattern);
        memcpy(w->pattern, pattern, w->len + 1);
        list_append(&c->watches, &w->conn_link);
        list_append(&c->manager->watches, &w->all_link);
        c->n_watches++;
        *ret_id = w->id;
        return 0;
}

static void watch_free(Watch *w) {
        list_unlink(&w->conn_link);
        list_unlink(&w->all_link);
        w->conn->n_watches--;
        free(w);
}

/**
 * events_unwatch() - end a subscription
 * @c:          connection
 * @id:         its id
 *
 * Return: 0 or -ENOENT.
 */
int events_unwatch(Conn *c, uint32_t id) {
        list_for_each(l, &c->watches) {
                Watch *w = list_entry(l, Watch, conn_link);

                if (w->id == id) {
                        watch_free(w);
                        return 0;
                }
        }
        return -ENOENT;
}

/**
 * events_conn_free() - drop every subscription of a closing connection
 * @c:          connection
 */
void events_conn_free(Conn *c) {
        list_for_each_safe(l, &c->watches)
                watch_free(list_entry(l, Watch, conn_link));
}

static bool watch_matches(const Watch *w, const char *name) {
        if (w->prefix)
                return strncmp(name, w->pattern, w->len) == 0;
        return strcmp(name, w->pattern) == 0;
}

static int send_event(Conn *c, const ProtoEvent *e) {
        uint8_t buf[SHMB_HEADER_SIZE + SHMB_EVENT_FIXED + 2 + SHMB_NAME_MAX];
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_event(&b, e);
        if (n < 0)
                return n;
        return conn_send_event(c, buf, (size_t)n);
}

/* Queue one event for @c, or count it as dropped if @c is not keeping up. */
static void deliver(Conn *c, ProtoEvent *e) {
        if (c->n_out >= EVENTS_QUEUE_MAX || c->events_dropped > 0) {
                c->events_dropped++;
                c->event_seq++;
                return;
        }
        e->seq = ++c->event_seq;
        if (send_event(c, e) < 0)
                /* A broken connection is noticed and dropped on its next wake-up. */
                log_debug("Client pid=%d: event not delivered", (int)c->pid);
}

/**
 * events_flush_dropped() - tell @c how many events it missed, once it has room again
 * @c:          connection whose queue just drained
 *
 * The notice carries the seq of the last dropped event (it takes none of
 * its own), so the seqs a client sees still count every event.
 */
void events_flush_dropped(Conn *c) {
        ProtoEvent e = { .kind = PROTO_EVENT_DROPPED };

        if (c->events_dropped == 0 || c->n_out >= EVENTS_QUEUE_MAX / 2)
                return;
        e.seq = c->event_seq;
        e.dropped = c->events_dropped;
        c->events_dropped = 0;
        (void)send_event(c, &e);
}

static void event_fill(ProtoEvent *e, uint8_t kind, const Segment *s) {
        *e = (ProtoEvent){ .kind = kind, .flags = s->flags, .id = s->id, .size = s->size };
        memcpy(e->name, s->name, sizeof(e->name));
}

/**
 * events_emit() - deliver an event to every matching subscription
 * @m:          manager
 * @kind:       PROTO_EVENT_*
 * @s:          the segment (its current name, size and flags are reported)
 */
void events_emit(Manager *m, uint8_t kind, const Segment *s) {
        ProtoEvent e;

        list_for_each(l, &m->watches) {
                Watch *w = list_entry(l, Watch, all_link);

                /* A subscriber learns only of segments it may read, as LIST shows them. */
                if (!watch_matches(w, s->name) ||
                    !policy_may_access(&w->conn->creds, s->uid, s->gid, s->mode, false))
                        continue;
                event_fill(&e, kind, s);
                e.watch_id = w->id;
                deliver(w->conn, &e);
        }
}

/**
 * events_notify_holders() - tell every connection holding @s (watch id 0)
 * @m:          manager
 * @kind:       PROTO_EVENT_* (RESIZED)
 * @s:          the segment
 */
void events_notify_holders(Manager *m, uint8_t kind, const Segment *s) {
        ProtoEvent e;

        list_for_each(l, &s->holds) {
                Hold *h = list_entry(l, Hold, seg_link);
                Conn *c = container_of(h->set, Conn, holds);

                event_fill(&e, kind, s);
                deliver(c, &e);
        }
}
