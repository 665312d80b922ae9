#pragma once

/*
 * Internals shared by the library's source files.
 */

#include <stdbool.h>
#include <stdint.h>

#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"
#include "util/list.h"

#define CLIENT_EVENTS_MAX 4096          /* events kept between dispatches; more are counted as dropped */

/* An event read while waiting for a reply, kept for shmb_client_dispatch(). */
typedef struct ClientEvent {
        List link;
        struct shmb_event ev;
} ClientEvent;

/*
 * A subscription. The application keeps the id shmb_watch() gave it; the
 * daemon's id belongs to one connection, and a reconnect renews the
 * subscription under a new one.
 */
typedef struct ClientWatch {
        List link;                      /* shmb_client.watches */
        uint32_t id;                    /* the application's */
        uint32_t daemon_id;             /* on the current connection; 0: none (not renewed) */
        uint16_t flags;                 /* PROTO_WATCH_* */
        bool ending;                    /* UNWATCH sent: not renewed */
        char pattern[SHMB_NAME_MAX + 1];
} ClientWatch;

/* A mapping replaced by a larger one after a resize: kept until release, so no pointer breaks. */
typedef struct OldMapping {
        struct OldMapping *next;
        void *addr;
        uint64_t size;
} OldMapping;

struct shmb_segment {
        struct shmb_client *client;     /* NULL once shmb_client_free() detached the handle */
        List link;                      /* client->segments */
        int fd;
        void *addr;
        uint64_t mapped_size;
        OldMapping *old;
        bool lost;                      /* the hold did not survive a daemon restart */
        struct shmb_stat st;
};

#define CLIENT_TIMEOUT_DEFAULT_USEC (UINT64_C(30) * 1000 * 1000)

struct shmb_client {
        int fd;
        uint32_t next_req_id;
        char *socket_path;
        uint64_t timeout_usec;          /* how long a call may spend reconnecting; 0: never reconnect */
        bool reconnecting;
        bool dismissed;                 /* the daemon closed us for good (limit, kick): never reconnect */
        List segments;                  /* live handles: RESIZED notices grow them; reclaimed after a restart */
        List events;                    /* ClientEvent.link */
        size_t n_events;
        uint64_t events_dropped;        /* not kept: the buffer was full */
        uint64_t dropped_seq;           /* seq of the last one not kept */
        bool dropped_gap;               /* ...and a reconnect lost an unknown number too */
        uint64_t seq_base;              /* the application's seq = seq_base + the connection's */
        uint64_t last_seq;              /* the application's seq of the last event */
        List watches;                   /* ClientWatch.link */
        uint32_t last_watch_id;
        uint16_t version;               /* negotiated on the current connection */
        uint64_t next_op_id;            /* operation ids (version 2): random start, +1 per request */
        char server[SHMB_VERSION_TEXT_MAX + 1];
        char error[SHMB_ERROR_TEXT_MAX + 1];
        uint8_t buf[SHMB_MSG_MAX];      /* last reply */
        size_t buf_len;
};


/* What a request means if the connection broke and was re-established. */
typedef enum ClientRetry {
        CLIENT_RESEND,                  /* reconnect, reclaim, send it again on the new connection */
        CLIENT_NO_RECONNECT,            /* a release: a broken connection already let go of the hold */
        CLIENT_RECONNECT_ONLY,          /* an unwatch: the broken connection ended the subscription,
                                         * so reconnect (renewing the others) and count it done */
} ClientRetry;

int client_error(struct shmb_client *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int client_transact(struct shmb_client *c, size_t req_len, int *ret_fd);
int client_transact_full(struct shmb_client *c, size_t req_len, int *ret_fd, ClientRetry retry);
int client_exchange(struct shmb_client *c, size_t req_len, int *ret_fd, uint64_t deadline, bool *ret_broken);
int client_connect_once(struct shmb_client *c, uint64_t deadline);
int client_reconnect(struct shmb_client *c);
bool client_errno_is_disconnect(int err);
uint64_t client_now_usec(void);
void client_stat_from_wire(struct shmb_stat *st, const ProtoSegInfo *si);
void client_event_received(struct shmb_client *c, const uint8_t *buf, size_t len);
void client_events_gap(struct shmb_client *c);
int client_watches_renew(struct shmb_client *c, uint64_t deadline);
uint32_t client_watch_app_id(struct shmb_client *c, uint32_t daemon_id);
void client_watches_free(struct shmb_client *c);
int client_tag_op(struct shmb_client *c, int len);
