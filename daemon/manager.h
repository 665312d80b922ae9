#pragma once

/*
 * The daemon's state: event loop, listener, connections, registry and
 * configuration. One instance per process.
 */

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/conn-limits.h"
#include "daemon/admin.h"
#include "daemon/fdstore.h"
#include "daemon/notify.h"
#include "daemon/oplog.h"
#include "daemon/registry.h"
#include "daemon/state.h"
#include "daemon/stats.h"
#include "util/hashmap.h"
#include "util/list.h"

#define SHMB_STATE_DIR_DEFAULT "/var/lib/shmbrokerd"
#define SHMB_RUNTIME_DIR_DEFAULT "/run/shmbrokerd"
#define SHMB_RECLAIM_GRACE_DEFAULT 30

typedef struct ManagerConfig {
        const char *socket_path;
        const char *state_dir;
        const char *runtime_dir;        /* the restart state file */
        unsigned backends;              /* enabled: 1 << PROTO_BACKEND_* */
        uint64_t max_segment_size;
        uint64_t max_connections;
        uint64_t max_connections_per_user;
        uint64_t reclaim_grace_sec;     /* how long restored holds wait for their owners */
        FdStoreMode fd_store;
        uint8_t default_backend;
        RegistryLimits limits;
        const char *admin_socket_path;  /* NULL: no admin socket */
        const char *admin_group_name;   /* for messages; NULL: no admin group */
        gid_t admin_gid;                /* valid if admin_group_name is set */
} ManagerConfig;

typedef struct Manager {
        struct ev_loop *loop;
        ManagerConfig cfg;
        Registry *registry;
        FdStore fdstore;
        StateWriter *state;             /* only with a file-descriptor store */
        OpLog oplog;                    /* operation ids of requests, for requests sent again */
        Notifier notify;
        int listen_fd;
        int lock_fd;                    /* flock on <state-dir>/lock */
        bool socket_bound;              /* we created the path and unlink it at exit */
        bool stopping;                  /* segments are being detached, not destroyed */
        bool keep_segments;             /* stopping for a restart: leave every object for the next instance */
        char socket_desc[192];          /* where clients connect, for the start-up log line */
        ev_io listen_io;
        ev_timer accept_retry;
        ev_timer grace;                 /* end of the reclaim grace period */
        ev_prepare maintain;            /* between iterations: state journal upkeep */
        ev_signal sig_term;
        ev_signal sig_int;
        List conns;
        List watches;                   /* Watch.all_link: every subscription */
        HMap waiters;                   /* parked OPENs by name */
        uint64_t n_conns;
        ConnLimits conn_limits;
        uint64_t last_conn_id;
        uint64_t started_usec;
        AdminListener admin;
        Stats stats;
        HMap conns_by_id;               /* Conn.id_node */
} Manager;

void manager_config_defaults(ManagerConfig *cfg);
int manager_new(Manager **ret, const ManagerConfig *cfg);
Manager *manager_free(Manager *m);
int manager_listen(Manager *m);
void manager_start_accepting(Manager *m, int fd);
int manager_start_backends(Manager *m);
void manager_start_grace(Manager *m);
int manager_run(Manager *m);
int manager_add_client_fd(Manager *m, int fd);
void manager_run_once(Manager *m);
void manager_conn_closed(Manager *m);
void manager_changed(Manager *m);
void manager_segment_created(Manager *m, Segment *s);
void manager_segment_changed(Manager *m, Segment *s);
uint64_t now_usec(void);
int manager_socket_path_clear(const char *path);
void manager_socket_describe(int fd, const char *what, char *buf, size_t len);
