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
#include "util/list.h"

typedef struct Manager Manager;

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
        size_t n_out;
        size_t out_bytes;
        bool hello_done;
        uint64_t connected_usec;
} Conn;

int conn_new(Manager *m, int fd, Conn **ret);
Conn *conn_free(Conn *c);
int conn_send(Conn *c, const void *buf, size_t len, int fd);
