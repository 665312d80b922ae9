#pragma once

/*
 * OPEN with a timeout: a request for a name that does not exist yet (or is
 * not published yet) is parked until a segment of that name is created (or
 * published), or until the timeout, without polling. The connection reads no
 * further request meanwhile, so replies stay in order.
 */

#include <ev.h>
#include <stdint.h>

#include "protocol/shmb-proto.h"
#include "util/hashmap.h"

typedef struct Conn Conn;
typedef struct Manager Manager;
typedef struct Segment Segment;

typedef struct Waiter {
        HNode node;                     /* manager->waiters, by name */
        Conn *conn;
        ProtoHeader hdr;
        uint16_t flags;                 /* PROTO_OPEN_* */
        uint32_t timeout_ms;
        ev_timer timer;
        char name[SHMB_NAME_MAX + 1];
} Waiter;

int waiters_park(Conn *c, const ProtoHeader *h, const char *name, uint16_t flags, uint32_t timeout_ms);
void waiters_wake(Manager *m, Segment *s);
void waiters_conn_free(Conn *c);
