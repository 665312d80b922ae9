#pragma once

/*
 * Internals shared by the library's source files.
 */

#include <stdbool.h>
#include <stdint.h>

#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"
#include "util/list.h"

#define CLIENT_TIMEOUT_DEFAULT_USEC (UINT64_C(30) * 1000 * 1000)

struct shmb_client {
        int fd;
        uint32_t next_req_id;
        char *socket_path;
        uint64_t timeout_usec;          /* how long a call may spend reconnecting; 0: never reconnect */
        bool reconnecting;
        List segments;                  /* struct shmb_segment.link: live handles, reclaimed after a restart */
        char server[SHMB_VERSION_TEXT_MAX + 1];
        char error[SHMB_ERROR_TEXT_MAX + 1];
        uint8_t buf[SHMB_MSG_MAX];      /* last reply */
        size_t buf_len;
};

struct shmb_segment {
        struct shmb_client *client;
        List link;                      /* client->segments */
        int fd;
        void *addr;
        bool lost;                      /* the hold did not survive a daemon restart */
        struct shmb_stat st;
};

/* What a request means if the connection broke and was re-established. */
typedef enum ClientRetry {
        CLIENT_RESEND,                  /* reconnect, reclaim, send it again on the new connection */
        CLIENT_NO_RECONNECT,            /* a release: a broken connection already let go of the hold */
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
