#pragma once

/*
 * The segment registry: pure bookkeeping of named segments, the holds that
 * connections have on them, lifetimes and per-user quotas. No I/O: the
 * kernel object behind a segment is released through the destroy callback
 * when the registry lets a segment go.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol/shmb-proto.h"
#include "util/hashmap.h"
#include "util/list.h"

typedef struct Registry Registry;
typedef struct Segment Segment;

/* Expected outcomes, positive; negative errno is reserved for failures. */
enum {
        REGISTRY_E_EXISTS = 1,
        REGISTRY_E_NOT_HELD,
        REGISTRY_E_QUOTA_USER_SEGMENTS,
        REGISTRY_E_QUOTA_USER_BYTES,
        REGISTRY_E_QUOTA_SEGMENTS,
        REGISTRY_E_QUOTA_BYTES,
        REGISTRY_E_QUOTA_HOLDS,
        REGISTRY_E_SHRINK,
        REGISTRY_E_NOT_PENDING,
};

typedef struct RegistryLimits {
        uint64_t max_segments;          /* all users together */
        uint64_t max_bytes;
        uint64_t max_segments_per_user;
        uint64_t max_bytes_per_user;
        uint64_t max_holds_per_conn;
} RegistryLimits;

/*
 * Who holds: the kernel's record of a connection's peer. A daemon restart
 * keeps holds under this identity, and only a connection from the same
 * process (pid and start time) and uid may take them back.
 */
typedef struct PeerIdentity {
        pid_t pid;
        uid_t uid;
        uint64_t start_time;            /* /proc/PID/stat field 22; 0: unknown (never reclaims) */
} PeerIdentity;

/* What a connection holds; embedded in the connection. */
typedef struct HoldSet {
        List holds;                     /* Hold.set_link */
        List created;                   /* Segment.creator_link (lifetime "creator") */
        uint64_t n_holds;
        uint64_t owner_id;              /* the connection's id: orders Segment.holds */
        uint64_t bytes;                 /* sum of the sizes of the segments held */
        PeerIdentity who;               /* the connection's peer (zero in unit tests) */
} HoldSet;

/* A hold recorded before a restart that its owner has not reclaimed yet. */
typedef struct PendingHold {
        List seg_link;                  /* Segment.pending */
        PeerIdentity who;
        uint64_t count;                 /* opens still to reclaim */
        bool writable;
} PendingHold;

typedef struct Hold {
        Segment *segment;
        HoldSet *set;
        HNode node;                     /* registry->holds, keyed by (set, id) */
        List seg_link;
        List set_link;
        uint64_t count;                 /* opens not yet released */
        bool writable;
        uint64_t since_usec;            /* when the hold began (registry clock) */
} Hold;

/* Backend state owned by the backend; the registry never looks inside. */
typedef struct SegmentObject {
        int fd;                         /* read-write fd, or -1 */
        int ro_fd;                      /* cached read-only fd, or -1 */
        int shmid;                      /* System V id, or -1 */
        pid_t shm_cpid;                 /* System V: the creating daemon's pid (shm_cpid) */
} SegmentObject;

struct Segment {
        Registry *registry;
        HNode name_node;
        HNode id_node;
        List id_link;                   /* registry->segments, ascending id */
        List holds;                     /* Hold.seg_link, ascending HoldSet.owner_id */
        List creator_link;
        HoldSet *creator;               /* while lifetime "creator" and connected */
        uint64_t id;
        uint64_t size;
        uint64_t max_size;              /* a resize may grow it up to this */
        uint64_t charged;               /* bytes charged to the owner's quota */
        uid_t uid;
        gid_t gid;
        uint32_t mode;
        uint8_t lifetime;
        uint8_t backend;
        uint16_t flags;                 /* PROTO_SEG_HUGE, _RESERVED, _PUBLISHED, _FROZEN */
        uint32_t ttl_sec;               /* lifetime "ttl" */
        bool linked;                    /* the name still refers to it */
        uint64_t n_holders;             /* distinct holding connections */
        List pending;                   /* PendingHold.seg_link, after a restart */
        bool has_pending_creator;       /* lifetime "creator": the creator may come back */
        bool recorded;                  /* the state journal knows it (daemon/state.c) */
        PeerIdentity pending_creator;
        uint64_t created_usec;
        uint64_t last_opened_usec;      /* last create/open (registry clock), 0: never */
        void *userdata;                 /* the daemon's (the TTL timer) */
        SegmentObject obj;
        char name[SHMB_NAME_MAX + 1];
};

typedef struct SegmentParams {
        const char *name;
        uint64_t size;
        uint64_t max_size;              /* 0: the size */
        uint64_t charge;                /* quota charge; 0: the size */
        uid_t uid;
        gid_t gid;
        uint32_t mode;
        uint8_t lifetime;
        uint8_t backend;
        uint16_t flags;
        uint32_t ttl_sec;
        uint64_t created_usec;
} SegmentParams;

typedef void (*RegistryDestroyFn)(Segment *s, void *userdata);
typedef void (*RegistryUnlinkFn)(Segment *s, void *userdata);
typedef uint64_t (*RegistryClockFn)(void);
typedef void (*RegistryIdleFn)(Segment *s, bool idle, void *userdata);
/* Opens held (or pending) by @who on @s with this access changed by @delta. */
typedef void (*RegistryHoldFn)(Segment *s, const PeerIdentity *who, bool writable, int64_t delta, void *userdata);

int registry_new(Registry **ret, const RegistryLimits *limits, RegistryDestroyFn destroy, void *userdata);
Registry *registry_free(Registry *r);
void registry_set_unlink_fn(Registry *r, RegistryUnlinkFn fn);
void registry_set_idle_fn(Registry *r, RegistryIdleFn fn);
void registry_set_hold_fn(Registry *r, RegistryHoldFn fn);
void registry_set_limits(Registry *r, const RegistryLimits *limits);

void holdset_init(HoldSet *set);
void registry_holdset_clear(Registry *r, HoldSet *set);

int registry_create(Registry *r, const SegmentParams *p, HoldSet *creator, Segment **ret);
int registry_hold(Registry *r, Segment *s, HoldSet *set, bool writable);
int registry_release(Registry *r, HoldSet *set, uint64_t id);
void registry_unlink(Registry *r, Segment *s);
int registry_resize_check(Registry *r, const Segment *s, uint64_t charge);
int registry_resize(Registry *r, Segment *s, uint64_t size, uint64_t charge);

int registry_restore(Registry *r, const SegmentParams *p, uint64_t id, bool linked, Segment **ret);
int registry_add_pending(Registry *r, Segment *s, const PeerIdentity *who, bool writable, uint64_t count);
void registry_set_pending_creator(Registry *r, Segment *s, const PeerIdentity *who);
int registry_reclaim(Registry *r, Segment *s, HoldSet *set, bool writable);
void registry_resume_creator(Registry *r, Segment *s, HoldSet *set);
uint64_t registry_drop_pending(Registry *r);
uint64_t registry_pending_count(const Registry *r);
void registry_discard(Registry *r, Segment *s);
void registry_reserve_ids(Registry *r, uint64_t next_id);
bool peer_identity_equal(const PeerIdentity *a, const PeerIdentity *b);

Segment *registry_find(Registry *r, const char *name);
Segment *registry_find_id(Registry *r, uint64_t id);
Hold *registry_find_hold(Registry *r, HoldSet *set, uint64_t id);
Segment *registry_first_after(Registry *r, uint64_t after_id);
Segment *registry_next(Registry *r, Segment *s);

uint64_t registry_count(const Registry *r);
uint64_t registry_bytes(const Registry *r);
void registry_user_usage(Registry *r, uid_t uid, uint64_t *ret_segments, uint64_t *ret_bytes);
const char *registry_strerror(int code);

/* Operator view (admin socket). */
void registry_set_clock(Registry *r, RegistryClockFn fn);
uint64_t registry_destroy(Registry *r, Segment *s);
void registry_backend_usage(const Registry *r, uint8_t backend, uint64_t *ret_segments, uint64_t *ret_bytes);
uint64_t registry_hold_count(const Registry *r);
