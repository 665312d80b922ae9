#pragma once

/*
 * Connection limits: how many connections the daemon and each user may have.
 * Bookkeeping only; conn.c asks before it adopts a connection.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/hashmap.h"

typedef struct ConnLimits {
        HMap users;                     /* UserConns by uid */
        uint64_t total;
        uint64_t max_total;             /* 0: no limit; root is exempt */
        uint64_t max_per_user;          /* 0: no limit; root is exempt */
} ConnLimits;

#define CONN_LIMITS_REFUSED 1

int conn_limits_admit(ConnLimits *l, uid_t uid, char *why, size_t why_len);
void conn_limits_release(ConnLimits *l, uid_t uid);
void conn_limits_deinit(ConnLimits *l);
