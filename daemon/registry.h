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
};

typedef struct RegistryLimits {
        uint64_t max_segments;          /* all users together */
        uint64_t max_bytes;
        uint64_t max_segments_per_user;
        uint64_t max_bytes_per_user;
        uint64_t max_holds_per_conn;
} RegistryLimits;

/* What a connection holds; embedded in the connection. */
typedef struct HoldSet {
        List holds;                     /* Hold.set_link */
        List created;                   /* Segment.creator_link (lifetime "creator") */
        uint64_t n_holds;
} HoldSet;

typedef struct Hold {
        Segment *segment;
        HoldSet *set;
        HNode node;                     /* registry->holds, keyed by (set, id) */
        List seg_link;
        List set_link;
        uint64_t count;                 /* opens not yet released */
        bool writable;
} Hold;

/* Backend state owned by the backend; the registry never looks inside. */
typedef struct SegmentObject {
        int fd;                         /* read-write fd, or -1 */
        int ro_fd;                      /* cached read-only fd, or -1 */
        int shmid;                      /* System V id, or -1 */
} SegmentObject;

struct Segment {
        Registry *registry;
        HNode name_node;
        HNode id_node;
        List id_link;                   /* registry->segments, ascending id */
        List holds;                     /* Hold.seg_link */
        List creator_link;
        HoldSet *creator;               /* while lifetime "creator" and connected */
        uint64_t id;
        uint64_t size;
        uid_t uid;
        gid_t gid;
        uint32_t mode;
        uint8_t lifetime;
        uint8_t backend;
        uint16_t flags;                 /* PROTO_SEG_HUGE, PROTO_SEG_RESERVED */
        bool linked;                    /* the name still refers to it */
        uint64_t n_holders;             /* distinct holding connections */
        uint64_t created_usec;
        SegmentObject obj;
        char name[SHMB_NAME_MAX + 1];
};

typedef struct SegmentParams {
        const char *name;
        uint64_t size;
        uid_t uid;
        gid_t gid;
        uint32_t mode;
        uint8_t lifetime;
        uint8_t backend;
        uint16_t flags;
        uint64_t created_usec;
} SegmentParams;

typedef void (*RegistryDestroyFn)(Segment *s, void *userdata);
typedef void (*RegistryUnlinkFn)(Segment *s, void *userdata);

int registry_new(Registry **ret, const RegistryLimits *limits, RegistryDestroyFn destroy, void *userdata);
Registry *registry_free(Registry *r);
void registry_set_unlink_fn(Registry *r, RegistryUnlinkFn fn);

void holdset_init(HoldSet *set);
void registry_holdset_clear(Registry *r, HoldSet *set);

int registry_create(Registry *r, const SegmentParams *p, HoldSet *creator, Segment **ret);
int registry_hold(Registry *r, Segment *s, HoldSet *set, bool writable);
int registry_release(Registry *r, HoldSet *set, uint64_t id);
void registry_unlink(Registry *r, Segment *s);

Segment *registry_find(Registry *r, const char *name);
Segment *registry_find_id(Registry *r, uint64_t id);
Hold *registry_find_hold(Registry *r, HoldSet *set, uint64_t id);
Segment *registry_first_after(Registry *r, uint64_t after_id);
Segment *registry_next(Registry *r, Segment *s);

uint64_t registry_count(const Registry *r);
uint64_t registry_bytes(const Registry *r);
void registry_user_usage(Registry *r, uid_t uid, uint64_t *ret_segments, uint64_t *ret_bytes);
const char *registry_strerror(int code);
