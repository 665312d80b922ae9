#pragma once

/*
 * Internals shared by the library's source files.
 */

#include <stdint.h>

#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"

struct shmb_client {
        int fd;
        uint32_t next_req_id;
        char server[SHMB_VERSION_TEXT_MAX + 1];
        char error[SHMB_ERROR_TEXT_MAX + 1];
        uint8_t buf[SHMB_MSG_MAX];      /* last reply */
        size_t buf_len;
};

int client_error(struct shmb_client *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int client_transact(struct shmb_client *c, size_t req_len, int *ret_fd);
void client_stat_from_wire(struct shmb_stat *st, const ProtoSegInfo *si);
