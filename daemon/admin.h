#pragma once

/*
 * The admin socket: a second listener for operators, separate from the
 * client socket. Its connections are ordinary Conns with is_admin set; they
 * speak the admin protocol (PROTOCOL.md, section 13) and only root, the daemon's
 * own user or members of the admin group are served.
 */

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/policy.h"

typedef struct Conn Conn;
typedef struct Manager Manager;

#define ADMIN_CONNECTIONS_MAX 64        /* simultaneous admin connections */

typedef struct AdminListener {
        int fd;
        bool bound;                     /* we created the path and unlink it at exit */
        uid_t daemon_uid;               /* served like root */
        uint64_t n_conns;
        char desc[224];                 /* where and for whom, for the start-up log line; "" if none */
        ev_io io;
        ev_timer retry;
} AdminListener;

void admin_listener_init(AdminListener *a);
int admin_listen(Manager *m);
void admin_close(Manager *m);
bool admin_peer_authorized(const Manager *m, const PeerCreds *p);
int admin_dispatch(Conn *c, const uint8_t *buf, size_t len, size_t n_fds);
