#pragma once

/*
 * Request statistics: every reply the daemon sends is counted by its
 * operation (request type) and status, at the one place replies leave
 * (conn_send()). Plus connection totals and the uptime clock. Pure
 * counters: O(1) to update and to read.
 */

#include <stddef.h>
#include <stdint.h>

#include "protocol/shmb-admin-proto.h"
#include "protocol/shmb-proto.h"

/* Operation slots: 0 unknown types, then client types, then admin types. */
#define STATS_OPS_MAX (_SHMB_MSG_REQUEST_MAX + (_SHMB_ADMIN_MSG_MAX - SHMB_ADMIN_MSG_FIRST))

typedef struct Stats {
        uint64_t replies[STATS_OPS_MAX][_SHMB_STATUS_MAX];
        uint64_t connections_total;     /* accepted on either socket */
        uint64_t admin_denied_total;    /* admin connections refused for their credentials */
        uint64_t started_mono_usec;     /* CLOCK_MONOTONIC at start */
} Stats;

void stats_init(Stats *st);
void stats_count_reply(Stats *st, const void *buf, size_t len);
uint16_t stats_op_type(size_t op);
uint64_t stats_uptime_usec(const Stats *st);
