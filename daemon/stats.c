/*
 * Request and connection counters (see stats.h).
 */

#include <string.h>
#include <time.h>

#include "daemon/stats.h"

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/**
 * stats_init() - zero every counter and start the uptime clock
 * @st:         statistics
 */
void stats_init(Stats *st) {
        memset(st, 0, sizeof(*st));
        st->started_mono_usec = mono_usec();
}

static size_t op_index(uint16_t type) {
        if (type >= SHMB_MSG_HELLO && type < _SHMB_MSG_REQUEST_MAX)
                return type;
        if (proto_admin_type_is_admin(type))
                return (size_t)_SHMB_MSG_REQUEST_MAX + (type - SHMB_ADMIN_MSG_FIRST);
        return 0;
}

/**
 * stats_op_type() - the request type an operation slot counts
 * @op:         slot, 0 .. STATS_OPS_MAX - 1
 *
 * Return: the type; 0 for the slot of unknown types.
 */
uint16_t stats_op_type(size_t op) {
        if (op == 0 || op >= STATS_OPS_MAX)
                return 0;
        if (op < _SHMB_MSG_REQUEST_MAX)
                return (uint16_t)op;
        return (uint16_t)(SHMB_ADMIN_MSG_FIRST + (op - _SHMB_MSG_REQUEST_MAX));
}

/**
 * stats_count_reply() - count one reply about to be sent
 * @st:         statistics
 * @buf:        the encoded reply (header first)
 * @len:        its size
 *
 * The operation is the reply's type without the reply bit, the outcome its
 * status; so every request answered is counted once, refusals included.
 */
void stats_count_reply(Stats *st, const void *buf, size_t len) {
        const uint8_t *p = buf;
        uint16_t type, status;

        if (len < SHMB_HEADER_SIZE)
                return;
        type = (uint16_t)((p[2] | p[3] << 8) & ~SHMB_MSG_REPLY);
        status = (uint16_t)(p[6] | p[7] << 8);
        if (status >= _SHMB_STATUS_MAX)
                status = SHMB_STATUS_INTERNAL;
        st->replies[op_index(type)][status]++;
}

/**
 * stats_uptime_usec() - time since stats_init(), immune to clock changes
 * @st:         statistics
 *
 * Return: microseconds.
 */
uint64_t stats_uptime_usec(const Stats *st) {
        return mono_usec() - st->started_mono_usec;
}
