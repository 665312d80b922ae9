#pragma once

/*
 * Internals shared by the library's source files.
 */

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

/* A mapping replaced by a larger one after a resize: kept until release, so no pointer breaks. */
typedef struct OldMapping {
        struct OldMapping *next;
        void *addr;
        uint64_t size;
} OldMapping;

struct shmb_segment {
        struct shmb_client *client;
        List link;                      /* client->segments */
        int fd;
        void *addr;
        uint64_t mapped_size;
        OldMapping *old;
        struct shmb_stat st;
};

struct shmb_client {
        int fd;
        uint32_t next_req_id;
        List segments;                  /* live handles, to apply RESIZED notices */
        List events;                    /* ClientEvent.link */
        size_t n_events;
        uint64_t events_dropped;        /* not kept: the buffer was full */
        uint64_t dropped_seq;           /* seq of the last one not kept */
        char server[SHMB_VERSION_TEXT_MAX + 1];
        char error[SHMB_ERROR_TEXT_MAX + 1];
        uint8_t buf[SHMB_MSG_MAX];      /* last reply */
        size_t buf_len;
};

int client_error(struct shmb_client *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int client_transact(struct shmb_client *c, size_t req_len, int *ret_fd);
void client_stat_from_wire(struct shmb_stat *st, const ProtoSegInfo *si);
void client_event_received(struct shmb_client *c, const uint8_t *buf, size_t len);
