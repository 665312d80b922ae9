#pragma once

/*
 * The daemon's state: event loop, listener, connections, registry and
 * configuration. One instance per process.
 */

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/registry.h"
#include "util/list.h"

#define SHMB_STATE_DIR_DEFAULT "/var/lib/shmbrokerd"

typedef struct ManagerConfig {
        const char *socket_path;
        const char *state_dir;
        unsigned backends;              /* enabled: 1 << PROTO_BACKEND_* */
        uint64_t max_segment_size;
        uint64_t max_connections;
        uint8_t default_backend;
        RegistryLimits limits;
} ManagerConfig;

typedef struct Manager {
        struct ev_loop *loop;
        ManagerConfig cfg;
        Registry *registry;
        int listen_fd;
        int lock_fd;                    /* flock on <state-dir>/lock */
        bool socket_bound;
        bool stopping;                  /* segments are being detached, not destroyed */              /* we created the path and unlink it at exit */
        ev_io listen_io;
        ev_timer accept_retry;
        ev_signal sig_term;
        ev_signal sig_int;
        List conns;
        uint64_t n_conns;
        uint64_t last_conn_id;
        uint64_t started_usec;
} Manager;

void manager_config_defaults(ManagerConfig *cfg);
int manager_new(Manager **ret, const ManagerConfig *cfg);
Manager *manager_free(Manager *m);
int manager_listen(Manager *m);
int manager_start_backends(Manager *m);
int manager_run(Manager *m);
int manager_add_client_fd(Manager *m, int fd);
void manager_run_once(Manager *m);
void manager_conn_closed(Manager *m);
uint64_t now_usec(void);
