#pragma once

/*
 * A client connection: the only place that calls recvmsg()/sendmsg() on
 * client sockets. Incoming datagrams go to dispatch_request(); replies are
 * sent at once when the socket takes them and queued (bounded) otherwise.
 */

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/policy.h"
#include "daemon/registry.h"
#include "protocol/shmb-admin-proto.h"
#include "util/hashmap.h"
#include "util/list.h"

typedef struct Manager Manager;

#define CONN_E_REFUSED 1        /* conn_new(): a connection limit refused the peer (told so) */

#define CONN_OUTQ_MAX 64        /* queued replies before reading from the client pauses */
#define CONN_OUTQ_BYTES_MAX 65536 /* or queued bytes: a non-reader pins at most ~2 messages' worth */
#define CONN_BATCH_MAX 32       /* datagrams handled per wake-up, for fairness */
#define CONN_STALL_TIMEOUT_SEC 10 /* a client whose queue stays full (reads no reply) this long is dropped */
#define CONN_GROUPS_MAX 256     /* supplementary groups remembered per peer */

typedef struct Conn {
        Manager *manager;
        ev_io io;
        ev_timer stall;                 /* runs while reading is paused on a full out-queue */
        int fd;
        uint64_t id;
        pid_t pid;
        PeerCreds creds;                /* from SO_PEERCRED and SO_PEERGROUPS */
        HoldSet holds;
        List link;                      /* manager->conns */
        List outq;                      /* OutMsg.link */
        size_t n_out;                   /* queued datagrams, events included */
        size_t n_events_out;            /* of which EVENT notices */
        size_t out_bytes;               /* bytes of queued replies */
        bool hello_done;
        uint16_t version;               /* protocol version: 1 until HELLO negotiates another */
        uint64_t connected_usec;
        bool is_admin;                  /* accepted on the admin socket */
        HNode id_node;                  /* manager->conns_by_id */
        char comm[SHMB_COMM_MAX + 1];   /* /proc/PID/comm at accept, "?" if unknown */
        struct Waiter *waiter;          /* a parked OPEN: no further request is read meanwhile */
        bool parked_input;              /* ...and the client sent more: stop watching until it is answered */
        List watches;                   /* Watch.conn_link */
        unsigned n_watches;
        uint32_t last_watch_id;
        uint64_t event_seq;             /* events sent or dropped */
        uint64_t events_dropped;        /* dropped since the last DROPPED notice */
} Conn;

int conn_new(Manager *m, int fd, Conn **ret);
Conn *conn_free(Conn *c);
void conn_dismiss(Conn *c, const char *why);
int conn_send(Conn *c, void *buf, size_t len, int fd);
int conn_send_event(Conn *c, void *buf, size_t len);
void conn_update_events(Conn *c);
