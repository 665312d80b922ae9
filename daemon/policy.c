/*
 * Permission checks.
 */

#include "daemon/policy.h"

static bool peer_in_group(const PeerCreds *p, gid_t gid) {
        if (p->gid == gid)
                return true;
        for (size_t i = 0; i < p->n_groups; i++)
                if (p->groups[i] == gid)
                        return true;
        return false;
}

/**
 * policy_may_access() - may the peer open a segment read-only or read-write
 * @p:          the peer's credentials
 * @owner:      segment owner
 * @group:      segment group
 * @mode:       segment mode bits (0..0777)
 * @write:      read-write wanted (needs both r and w bits; read-only needs r)
 *
 * As for files, exactly one class applies: owner, else group, else other.
 *
 * Return: true if allowed.
 */
bool policy_may_access(const PeerCreds *p, uid_t owner, gid_t group, uint32_t mode, bool write) {
        uint32_t bits, need = write ? 06 : 04;

        if (p->uid == 0)
                return true;
        if (p->uid == owner)
                bits = mode >> 6;
        else if (peer_in_group(p, group))
                bits = mode >> 3;
        else
                bits = mode;
        return (bits & need) == need;
}

/**
 * policy_may_unlink() - may the peer remove a segment's name
 * @p:          the peer's credentials
 * @owner:      segment owner
 *
 * Return: true for the owner and root.
 */
bool policy_may_unlink(const PeerCreds *p, uid_t owner) {
        return p->uid == 0 || p->uid == owner;
}
