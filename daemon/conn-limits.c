/*
 * Per-user and global connection counting.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/conn-limits.h"
#include "util/macro.h"

typedef struct UserConns {
        HNode node;
        uid_t uid;
        uint64_t n;
} UserConns;

static UserConns *user_find(ConnLimits *l, uid_t uid) {
        for (HNode *n = hmap_first(&l->users, hash_u64(uid)); n; n = hmap_next(n)) {
                UserConns *u = container_of(n, UserConns, node);

                if (u->uid == uid)
                        return u;
        }
        return NULL;
}

/**
 * conn_limits_admit() - count a new connection of @uid, unless a limit says no
 * @l:          limits
 * @uid:        the peer's uid
 * @why:        on refusal, the reason in words
 * @why_len:    size of @why
 *
 * Return: 0 (counted), CONN_LIMITS_REFUSED, or -ENOMEM.
 */
int conn_limits_admit(ConnLimits *l, uid_t uid, char *why, size_t why_len) {
        UserConns *u = user_find(l, uid);

        /* Root is trusted (it could kill the daemon anyway) and must always get in. */
        if (uid != 0 && l->max_total && l->total >= l->max_total) {
                snprintf(why, why_len, "the daemon's limit of %llu connection%s is reached",
                         (unsigned long long)l->max_total, l->max_total == 1 ? "" : "s");
                return CONN_LIMITS_REFUSED;
        }
        if (uid != 0 && l->max_per_user && u && u->n >= l->max_per_user) {
                snprintf(why, why_len, "uid %u already has %llu connection%s, the limit per user",
                         (unsigned)uid, (unsigned long long)u->n, u->n == 1 ? "" : "s");
                return CONN_LIMITS_REFUSED;
        }
        if (!u) {
                u = calloc(1, sizeof(*u));
                if (!u)
                        return -ENOMEM;
                u->uid = uid;
                if (hmap_insert(&l->users, &u->node, hash_u64(uid)) < 0) {
                        free(u);
                        return -ENOMEM;
                }
        }
        u->n++;
        l->total++;
        return 0;
}

/**
 * conn_limits_release() - a connection counted by conn_limits_admit() closed
 * @l:          limits
 * @uid:        its uid
 */
void conn_limits_release(ConnLimits *l, uid_t uid) {
        UserConns *u = user_find(l, uid);

        if (!u)
                return;
        l->total--;
        if (--u->n == 0) {
                hmap_remove(&l->users, &u->node);
                free(u);
        }
}

/**
 * conn_limits_deinit() - free the per-user table (all connections are gone)
 * @l:          limits
 */
void conn_limits_deinit(ConnLimits *l) {
        for (size_t i = 0; i < l->users.n_buckets; i++) {
                HNode *n = l->users.buckets[i];

                while (n) {
                        HNode *next = n->next;

                        free(container_of(n, UserConns, node));
                        n = next;
                }
        }
        hmap_deinit(&l->users);
        l->total = 0;
}
