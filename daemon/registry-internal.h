#pragma once

/*
 * Registry internals shared by registry.c and registry-pending.c; nothing
 * outside the registry includes this.
 */

#include "daemon/registry.h"

typedef struct UserUsage {
        HNode node;
        uid_t uid;
        uint64_t segments;
        uint64_t bytes;
} UserUsage;

struct Registry {
        RegistryLimits limits;
        RegistryDestroyFn destroy;
        RegistryUnlinkFn unlinked;
        RegistryHoldFn hold_changed;
        RegistryClockFn clock;
        RegistryIdleFn idle;
        void *userdata;
        HMap by_name;
        HMap by_id;
        HMap holds;
        HMap users;
        List segments;                  /* ascending id */
        uint64_t next_id;
        uint64_t n_segments;
        uint64_t n_bytes;
        uint64_t n_pending;             /* PendingHold entries of all segments */
        uint64_t backend_segments[_PROTO_BACKEND_MAX];
        uint64_t backend_bytes[_PROTO_BACKEND_MAX];
};

UserUsage *user_find(Registry *r, uid_t uid);
int segment_add(Registry *r, const SegmentParams *p, uint64_t id, bool linked, Segment **ret);
void segment_unname(Registry *r, Segment *s);
void segment_free(Registry *r, Segment *s);
bool segment_maybe_free(Registry *r, Segment *s);
void registry_hold_changed(Registry *r, Segment *s, const PeerIdentity *who, bool old_writable,
                           uint64_t old_count, bool new_writable, uint64_t new_count);
