/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SHMBROKER_ADMIN_H
#define SHMBROKER_ADMIN_H

/*
 * libshmbroker admin API: the operator's view of shmbrokerd through its
 * admin socket (root, the daemon's user or the admin group only). Who holds
 * what, statistics, and the actions destroy, kick and log-level.
 *
 * Same conventions as shmbroker.h: 0 (or a count) on success, negative errno
 * on failure, -EINVAL for bad arguments, the daemon's words in
 * shmb_admin_last_error(). A handle is used by one thread at a time.
 * Listings are fetched page by page internally and returned whole; each
 * page is a consistent snapshot, the whole listing is not (entries created
 * or gone meanwhile may or may not appear, none appears twice).
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmbroker.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shmb_admin;

#define SHMB_ADMIN_COMM_MAX 15          /* bytes of a command name */
#define SHMB_ADMIN_BACKENDS_MAX 8       /* size of shmb_admin_stats.backends[] */

/* Flags of shmb_admin_holder.flags */
#define SHMB_ADMIN_HOLD_WRITABLE 0x0001u        /* read-write hold (else read-only) */

/* Flags of shmb_admin_client.flags */
#define SHMB_ADMIN_CLIENT_ADMIN 0x0001u /* connected to the admin socket */
#define SHMB_ADMIN_CLIENT_HELLO 0x0002u /* has completed HELLO */

/* A segment as the operator sees it. */
struct shmb_admin_segment {
        uint64_t id;
        uint64_t size;                  /* bytes */
        uid_t uid;                      /* owner */
        gid_t gid;
        uint32_t mode;
        uint32_t holders;               /* connections holding it */
        enum shmb_backend backend;
        enum shmb_lifetime lifetime;
        uint32_t flags;                 /* SHMB_SEG_UNLINKED, SHMB_SEG_HUGE, SHMB_SEG_RESERVED */
        int32_t shmid;                  /* System V id, or -1 */
        uint64_t created_usec;          /* CLOCK_REALTIME, microseconds */
        uint64_t last_opened_usec;      /* last create or open; 0: none since the daemon started */
        char name[SHMB_NAME_MAX + 1];
        uint64_t reserved[4];
};

/* One connection's hold on a segment. */
struct shmb_admin_holder {
        uint64_t conn_id;               /* as in shmb_admin_client.conn_id */
        pid_t pid;
        uid_t uid;
        gid_t gid;
        uint32_t flags;                 /* SHMB_ADMIN_HOLD_* */
        uint64_t opens;                 /* creates/opens not yet released */
        uint64_t since_usec;            /* when the hold began */
        char comm[SHMB_ADMIN_COMM_MAX + 1];     /* command name at connect, "?" if unknown */
        uint64_t reserved[4];
};

/* A connection to either socket. */
struct shmb_admin_client {
        uint64_t conn_id;               /* unique for the daemon's lifetime, ascending */
        pid_t pid;
        uid_t uid;
        gid_t gid;
        uint32_t flags;                 /* SHMB_ADMIN_CLIENT_* */
        uint64_t connected_usec;
        uint64_t holds;                 /* segments held */
        uint64_t bytes_held;            /* sum of their sizes */
        char comm[SHMB_ADMIN_COMM_MAX + 1];
        uint64_t reserved[4];
};

struct shmb_admin_backend_usage {
        int enabled;                    /* the daemon serves this backend */
        uint64_t segments;
        uint64_t bytes;
};

/* Replies sent for one operation with one status. */
struct shmb_admin_counter {
        uint16_t operation;             /* request type; 0 for unknown types */
        uint16_t status;                /* 0 ok, else the error status */
        uint64_t count;
};

struct shmb_admin_stats {
        uint64_t uptime_usec;
        uint64_t started_usec;          /* CLOCK_REALTIME at start */
        uint64_t connections_total;     /* accepted since start, both sockets */
        uint64_t admin_denied_total;    /* admin connections refused */
        uint32_t connections;           /* client connections now */
        uint32_t admin_connections;     /* admin connections now, this one included */
        uint64_t segments;
        uint64_t bytes;
        uint64_t holds;
        int log_level;                  /* 0 emerg .. 7 debug */
        struct shmb_admin_backend_usage backends[SHMB_ADMIN_BACKENDS_MAX];     /* by enum shmb_backend */
        size_t n_counters;
        struct shmb_admin_counter *counters;    /* non-zero counters only */
};

/* Handle. @socket_path NULL: $SHMBROKER_ADMIN_SOCKET, else admin.sock in the directory of
 * $SHMBROKER_SOCKET (where the daemon puts it by default), else /run/shmbrokerd/admin.sock.
 * Connects on the first request, or explicitly with shmb_admin_connect(). */
int shmb_admin_new(struct shmb_admin **ret, const char *socket_path);
struct shmb_admin *shmb_admin_free(struct shmb_admin *a);
int shmb_admin_connect(struct shmb_admin *a);
const char *shmb_admin_get_socket_path(const struct shmb_admin *a);
const char *shmb_admin_last_error(const struct shmb_admin *a);

/* Queries. Arrays are freed with the matching *_free(). */
int shmb_admin_list_segments(struct shmb_admin *a, struct shmb_admin_segment **ret_segments, size_t *ret_n);
void shmb_admin_segments_free(struct shmb_admin_segment *segments);
int shmb_admin_show(struct shmb_admin *a, const char *name, struct shmb_admin_segment *ret_segment,
                    struct shmb_admin_holder **ret_holders, size_t *ret_n);
void shmb_admin_holders_free(struct shmb_admin_holder *holders);
int shmb_admin_list_clients(struct shmb_admin *a, struct shmb_admin_client **ret_clients, size_t *ret_n);
void shmb_admin_clients_free(struct shmb_admin_client *clients);
int shmb_admin_stats(struct shmb_admin *a, struct shmb_admin_stats **ret);
void shmb_admin_stats_free(struct shmb_admin_stats *stats);

/* Actions. */
int shmb_admin_destroy(struct shmb_admin *a, const char *name, uint64_t *ret_holders_dropped);
int shmb_admin_kick(struct shmb_admin *a, pid_t pid, unsigned *ret_closed, uint64_t *ret_holds_released);
int shmb_admin_set_log_level(struct shmb_admin *a, int level, int *ret_old_level);
int shmb_admin_get_log_level(struct shmb_admin *a, int *ret_level);

/* Names. */
const char *shmb_admin_operation_to_string(unsigned operation);
const char *shmb_admin_status_to_string(unsigned status);
const char *shmb_admin_log_level_to_string(int level);
int shmb_admin_log_level_from_string(const char *s);

#ifdef __cplusplus
}
#endif

#endif
