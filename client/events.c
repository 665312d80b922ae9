/*
 * libshmbroker: resize, publish, and events: kept while a reply is awaited,
 * handed out by shmb_client_dispatch(), with one DROPPED for what a full
 * buffer or a reconnect lost (subscriptions themselves: watch.c).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client/client-internal.h"
#include "util/cleanup.h"
#include "util/macro.h"

static int name_call(struct shmb_client *c, int n) {
        if (n < 0)
                return n;
        return client_transact(c, (size_t)n, NULL);
}

/* A holder's RESIZED notice grows the handles of that segment. */
static void apply_resize(struct shmb_client *c, const struct shmb_event *ev) {
        list_for_each(l, &c->segments) {
                struct shmb_segment *s = list_entry(l, struct shmb_segment, link);

                if (s->st.id == ev->id && ev->size > s->st.size)
                        s->st.size = ev->size;
        }
}

/**
 * shmb_resize() - grow a segment (the caller needs write access)
 * @c:          client
 * @name:       segment name
 * @size:       new size, not below the current one
 *
 * Every holder gets a RESIZED notice. memfd segments grow within the
 * max_size given at create; sysv segments cannot grow.
 *
 * Return: 0, -EINVAL (a shrink), -EFBIG (above max_size), -EOPNOTSUPP
 * (sysv), -EDQUOT, -EACCES (or published), -ENOENT.
 */
_public_ int shmb_resize(struct shmb_client *c, const char *name, uint64_t size) {
        struct shmb_event ev = { .kind = SHMB_EVENT_RESIZED };
        ProtoSegInfo si;
        ProtoBuf b;
        int r;

        if (!c || !name || size == 0 || !proto_name_valid(name, strnlen(name, SHMB_NAME_MAX + 1)))
                return -EINVAL;
        proto_buf_init(&b, c->buf, sizeof(c->buf));
        r = name_call(c, client_tag_op(c, proto_encode_resize(&b, c->next_req_id++, name, size)));
        if (r < 0)
                return r;
        /* The caller's own handles grow at once, not only when its RESIZED notice is read. */
        if (proto_decode_seginfo_reply(c->buf, c->buf_len, &si) == 0) {
                ev.id = si.id;
                ev.size = si.size;
                apply_resize(c, &ev);
        }
        return 0;
}

/**
 * shmb_publish() - make a segment immutable; every later open is read-only
 * @c:          client
 * @name:       segment name (the caller needs write access)
 *
 * memfd segments are write-sealed: writes through any fd fail from now on,
 * and if no writable mapping exists anywhere the bytes can never change
 * again (SHMB_SEG_FROZEN); otherwise existing writable mappings can still
 * write. posix, file and sysv segments cannot be sealed: the daemon only
 * stops handing out writable access.
 *
 * Return: 0, -ENOENT, -EACCES, -EINVAL.
 */
_public_ int shmb_publish(struct shmb_client *c, const char *name) {
        ProtoBuf b;
        int n;

        if (!c || !name || !proto_name_valid(name, strnlen(name, SHMB_NAME_MAX + 1)))
                return -EINVAL;
        proto_buf_init(&b, c->buf, sizeof(c->buf));
        n = proto_encode_name_request(&b, SHMB_MSG_PUBLISH, c->next_req_id++, name);
        return name_call(c, client_tag_op(c, n));
}

static bool overflowing(const struct shmb_client *c) {
        return c->events_dropped > 0 || c->dropped_gap || c->n_events >= CLIENT_EVENTS_MAX;
}

/**
 * client_event_received() - keep an EVENT datagram for shmb_client_dispatch()
 * @c:          client
 * @buf:        the datagram
 * @len:        its size
 *
 * The subscription's id becomes the application's, and seq continues the
 * application's count across reconnects.
 */
void client_event_received(struct shmb_client *c, const uint8_t *buf, size_t len) {
        ProtoEvent pe;
        ClientEvent *e;
        uint32_t watch_id = 0;

        if (proto_decode_event(buf, len, &pe) < 0)
                return;
        /* A subscription the application has ended: nothing to hand out. */
        if (pe.watch_id != 0 && !(watch_id = client_watch_app_id(c, pe.watch_id)))
                return;
        c->last_seq = c->seq_base + pe.seq;
        /* Once one is dropped, every later one is too until dispatch, so the order holds. */
        if (overflowing(c) || !(e = calloc(1, sizeof(*e)))) {
                c->events_dropped += pe.kind == PROTO_EVENT_DROPPED ? pe.dropped : 1;
                c->dropped_seq = c->last_seq;
                return;
        }
        e->ev = (struct shmb_event){
                .kind = (enum shmb_event_kind)pe.kind,
                .watch_id = watch_id,
                .seq = c->last_seq,
                .id = pe.id,
                .size = pe.size,
                .dropped = pe.dropped,
                .flags = pe.flags,
        };
        memcpy(e->ev.name, pe.name, sizeof(e->ev.name));
        if (e->ev.kind == SHMB_EVENT_RESIZED)
                apply_resize(c, &e->ev);
        list_append(&c->events, &e->link);
        c->n_events++;
}

/**
 * client_events_gap() - the connection broke: events may have been lost until the next one
 * @c:          client
 *
 * Queues one DROPPED event with SHMB_EVENT_RECONNECTED (or marks the
 * pending one of a full buffer), if the client has anything events are
 * about: a subscription or a segment handle. Its seq stands for the gap;
 * the new connection's events count on from it. Two reconnects with no
 * event between make one DROPPED.
 */
void client_events_gap(struct shmb_client *c) {
        ClientEvent *tail;

        if (list_is_empty(&c->watches) && list_is_empty(&c->segments))
                return;
        c->seq_base = ++c->last_seq;
        if (overflowing(c)) {
                c->dropped_gap = true;
                c->dropped_seq = c->last_seq;
                return;
        }
        tail = list_is_empty(&c->events) ? NULL : list_entry(c->events.prev, ClientEvent, link);
        if (tail && tail->ev.kind == SHMB_EVENT_DROPPED && (tail->ev.flags & SHMB_EVENT_RECONNECTED)) {
                tail->ev.seq = c->last_seq;
                return;
        }
        tail = calloc(1, sizeof(*tail));
        if (!tail) {
                c->dropped_gap = true;
                c->dropped_seq = c->last_seq;
                return;
        }
        tail->ev = (struct shmb_event){
                .kind = SHMB_EVENT_DROPPED,
                .seq = c->last_seq,
                .flags = SHMB_EVENT_RECONNECTED,
        };
        list_append(&c->events, &tail->link);
        c->n_events++;
}

/* Read every datagram waiting on the socket (only events can come unasked). */
static int read_pending(struct shmb_client *c) {
        if (c->fd < 0)
                return client_error(c, ENOTCONN, "not connected to shmbrokerd");
        for (;;) {
                ProtoHeader h;
                ssize_t n;

                n = recv(c->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n < 0)
                        return client_error(c, errno, "cannot receive from shmbrokerd: %s", strerror(errno));
                if (n == 0)
                        return client_error(c, ECONNRESET, "shmbrokerd closed the connection");
                if (proto_decode_header(c->buf, (size_t)n, &h) != 0 || h.type != SHMB_MSG_EVENT)
                        return client_error(c, EBADMSG, "unexpected message from shmbrokerd");
                client_event_received(c, c->buf, (size_t)n);
        }
}

/**
 * shmb_client_dispatch() - hand every kept and readable event to @fn, without blocking
 * @c:          client
 * @fn:         called once per event, in order
 * @userdata:   passed to @fn
 *
 * A connection found broken is made again first, as by every call (up to
 * the client's timeout; this is the one case that blocks): the events of
 * the old connection come first, then one DROPPED with
 * SHMB_EVENT_RECONNECTED, then those of the renewed subscriptions.
 *
 * Return: the number of events handed out, or negative errno (the
 * connection is broken then and could not be made again; kept events were
 * still handed out).
 */
_public_ int shmb_client_dispatch(struct shmb_client *c, shmb_event_fn fn, void *userdata) {
        int n = 0, r;

        if (!c || !fn)
                return -EINVAL;
        r = read_pending(c);
        /* The daemon went away (a restart): come back, as every call does; the events of the
         * renewed subscriptions follow a DROPPED. */
        if (r < 0 && client_errno_is_disconnect(r) && c->timeout_usec > 0 && !c->dismissed) {
                r = client_reconnect(c);
                if (r >= 0)
                        r = read_pending(c);
        }
        while (!list_is_empty(&c->events)) {
                ClientEvent *e = list_entry(c->events.next, ClientEvent, link);

                list_unlink(&e->link);
                c->n_events--;
                fn(c, &e->ev, userdata);
                free(e);
                n++;
        }
        /* The events not kept came after all the kept ones. */
        if (c->events_dropped > 0 || c->dropped_gap) {
                struct shmb_event ev = {
                        .kind = SHMB_EVENT_DROPPED,
                        .seq = c->dropped_seq,
                        .dropped = c->events_dropped,
                        .flags = c->dropped_gap ? SHMB_EVENT_RECONNECTED : 0,
                };

                c->events_dropped = 0;
                c->dropped_gap = false;
                fn(c, &ev, userdata);
                n++;
        }
        return r < 0 ? r : n;
}

/**
 * shmb_client_pending() - events kept for shmb_client_dispatch()
 * @c:          client
 *
 * Return: their number (not counting unread ones on the socket).
 */
_public_ int shmb_client_pending(const struct shmb_client *c) {
        if (!c)
                return -EINVAL;
        return (int)MIN(c->n_events + (c->events_dropped || c->dropped_gap ? 1 : 0), (size_t)INT32_MAX);
}
