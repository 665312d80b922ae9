#pragma once

/*
 * Access decisions from the kernel's record of the peer: mode bits checked
 * like a file's, root may do anything.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct PeerCreds {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
} PeerCreds;

bool policy_may_access(const PeerCreds *p, uid_t owner, gid_t group, uint32_t mode, bool write);
bool policy_may_unlink(const PeerCreds *p, uid_t owner);
