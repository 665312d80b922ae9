/*
 * libshmbroker: subscriptions. The daemon numbers the subscriptions of each
 * connection; the library gives the application its own numbers, which stay
 * valid when a reconnect renews every subscription under new daemon ids.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/client-internal.h"
#include "util/macro.h"

static ClientWatch *watch_find(struct shmb_client *c, uint32_t id) {
        list_for_each(l, &c->watches) {
                ClientWatch *w = list_entry(l, ClientWatch, link);

                if (w->id == id)
                        return w;
        }
        return NULL;
}

static void watch_free(ClientWatch *w) {
        list_unlink(&w->link);
        free(w);
}

/**
 * client_watch_app_id() - the application's id of the current connection's subscription @daemon_id
 * @c:          client
 * @daemon_id:  id in an EVENT notice (not 0)
 *
 * Return: the id, or 0 if the client has no such subscription.
 */
uint32_t client_watch_app_id(struct shmb_client *c, uint32_t daemon_id) {
        list_for_each(l, &c->watches) {
                ClientWatch *w = list_entry(l, ClientWatch, link);

                if (w->daemon_id == daemon_id)
                        return w->id;
        }
        return 0;
}

/* WATCH @w on the current connection; a refusal leaves it without a daemon id. */
static int watch_send(struct shmb_client *c, ClientWatch *w, uint64_t deadline, bool *ret_broken) {
        ProtoBuf b;
        int n, r;

        proto_buf_init(&b, c->buf, sizeof(c->buf));
        n = proto_encode_watch(&b, c->next_req_id++, w->pattern, w->flags);
        if (n < 0)
                return n;
        r = client_exchange(c, (size_t)n, NULL, deadline, ret_broken);
        if (r >= 0 && proto_decode_watch_reply(c->buf, c->buf_len, &w->daemon_id) < 0)
                r = client_error(c, EBADMSG, "malformed WATCH reply from shmbrokerd");
        if (r < 0)
                w->daemon_id = 0;
        return r;
}

/**
 * client_watches_renew() - subscribe again, on a new connection, to everything the client watched
 * @c:          client, just connected
 * @deadline:   CLOCK_MONOTONIC µs by which each reply must have come
 *
 * The application's ids stay; events of a subscription the daemon refuses
 * to renew (out of memory) are lost until the next reconnect renews it.
 *
 * Return: 0, or negative errno if the connection broke.
 */
int client_watches_renew(struct shmb_client *c, uint64_t deadline) {
        /* The old connection's ids mean nothing on this one. */
        list_for_each(l, &c->watches)
                list_entry(l, ClientWatch, link)->daemon_id = 0;
        list_for_each(l, &c->watches) {
                ClientWatch *w = list_entry(l, ClientWatch, link);
                bool broken;
                int r;

                if (w->ending)
                        continue;
                r = watch_send(c, w, deadline, &broken);
                if (r < 0 && broken)
                        return r;
        }
        return 0;
}

/**
 * client_watches_free() - forget every subscription
 * @c:          client
 */
void client_watches_free(struct shmb_client *c) {
        list_for_each_safe(l, &c->watches)
                watch_free(list_entry(l, ClientWatch, link));
}

/**
 * shmb_watch() - subscribe to events of a name or name prefix
 * @c:          client
 * @pattern:    a name, or with SHMB_WATCH_PREFIX a prefix ("" for all)
 * @flags:      SHMB_WATCH_PREFIX
 * @ret_watch_id: the subscription's id, carried by its events; it stays
 *              the same when a reconnect renews the subscription
 *
 * Return: 0, -EINVAL, -EDQUOT (64 subscriptions per connection).
 */
_public_ int shmb_watch(struct shmb_client *c, const char *pattern, unsigned flags, uint32_t *ret_watch_id) {
        ClientWatch *w;
        ProtoBuf b;
        int n, r;

        if (!c || !pattern || !ret_watch_id || (flags & ~SHMB_WATCH_PREFIX))
                return -EINVAL;
        if (strlen(pattern) > SHMB_NAME_MAX)
                return client_error(c, EINVAL, "pattern longer than 255 bytes");
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->flags = (uint16_t)flags;
        memcpy(w->pattern, pattern, strlen(pattern) + 1);
        proto_buf_init(&b, c->buf, sizeof(c->buf));
        n = proto_encode_watch(&b, c->next_req_id++, pattern, (uint16_t)flags);
        /* A reconnect in between renews the others, then this one is sent as it is. */
        r = n < 0 ? n : client_transact(c, (size_t)n, NULL);
        if (r >= 0 && proto_decode_watch_reply(c->buf, c->buf_len, &w->daemon_id) < 0)
                r = client_error(c, EBADMSG, "malformed WATCH reply from shmbrokerd");
        if (r < 0) {
                free(w);
                return r;
        }
        w->id = ++c->last_watch_id;
        list_append(&c->watches, &w->link);
        *ret_watch_id = w->id;
        return 0;
}

/**
 * shmb_unwatch() - end a subscription (its queued events may still come)
 * @c:          client
 * @watch_id:   from shmb_watch()
 *
 * If the connection is found broken, the subscription ended with it: the
 * client reconnects (renewing its other subscriptions) and does not send
 * the UNWATCH again.
 *
 * Return: 0, -ENOENT, or the error of a reconnect that failed.
 */
_public_ int shmb_unwatch(struct shmb_client *c, uint32_t watch_id) {
        ClientWatch *w;
        ProtoBuf b;
        int n, r;

        if (!c)
                return -EINVAL;
        w = watch_find(c, watch_id);
        if (!w)
                return client_error(c, ENOENT, "this client has no subscription %u", watch_id);
        if (w->daemon_id == 0) {
                /* The daemon has no such subscription: a reconnect could not renew it. */
                watch_free(w);
                return 0;
        }
        proto_buf_init(&b, c->buf, sizeof(c->buf));
        n = proto_encode_unwatch(&b, c->next_req_id++, w->daemon_id);
        /* Kept until the reply, for the events that precede it; a reconnect does not renew it. */
        w->ending = true;
        r = n < 0 ? n : client_transact_full(c, (size_t)n, NULL, CLIENT_RECONNECT_ONLY);
        watch_free(w);
        return r;
}
