#pragma once

/*
 * Events: connections subscribe (WATCH) to a name or a name prefix and get
 * EVENT notices of segments created, resized, published, unlinked and
 * destroyed, in order. Holders get RESIZED notices of what they hold
 * without subscribing. A slow reader never blocks the daemon: past a bound
 * its events are dropped, counted, and reported in a DROPPED notice.
 */

#include <stdbool.h>
#include <stdint.h>

#include "util/list.h"

typedef struct Conn Conn;
typedef struct Manager Manager;
typedef struct Segment Segment;

#define EVENTS_WATCHES_PER_CONN 64
#define EVENTS_QUEUE_MAX 128            /* queued messages past which a connection's events drop */

typedef struct Watch {
        List conn_link;                 /* conn->watches */
        List all_link;                  /* manager->watches */
        Conn *conn;
        uint32_t id;
        bool prefix;
        size_t len;
        char pattern[256];
} Watch;

int events_watch(Conn *c, const char *pattern, bool prefix, uint32_t *ret_id);
int events_unwatch(Conn *c, uint32_t id);
void events_conn_free(Conn *c);
void events_emit(Manager *m, uint8_t kind, const Segment *s);
void events_notify_holders(Manager *m, uint8_t kind, const Segment *s);
void events_flush_dropped(Conn *c);
