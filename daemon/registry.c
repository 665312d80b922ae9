/*
 * Segment registry: name and id maps, holds, lifetimes and quotas.
 *
 * A segment is freed when nobody holds it and either its name is gone or
 * its lifetime is "holders". Unlinking removes the name at once; holders
 * keep the segment (and the memory) until they let go.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/registry.h"
#include "util/cleanup.h"

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
        void *userdata;
        HMap by_name;
        HMap by_id;
        HMap holds;
        HMap users;
        List segments;
        uint64_t next_id;
        uint64_t n_segments;
        uint64_t n_bytes;
};

static uint64_t hold_hash(const HoldSet *set, uint64_t id) {
        uint64_t k[2] = { (uint64_t)(uintptr_t)set, id };

        return hash_bytes(k, sizeof(k));
}

/**
 * registry_new() - create an empty registry
 * @ret:        the registry
 * @limits:     quotas (0 in a field means no limit)
 * @destroy:    called for each segment the registry frees, before it frees it
 * @userdata:   passed to @destroy
 *
 * Return: 0 or -ENOMEM.
 */
int registry_new(Registry **ret, const RegistryLimits *limits, RegistryDestroyFn destroy, void *userdata) {
        Registry *r;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->limits = *limits;
        r->destroy = destroy;
        r->userdata = userdata;
        r->next_id = 1;
        list_init(&r->segments);
        *ret = r;
        return 0;
}

/**
 * registry_set_unlink_fn() - be told when a live segment loses its name
 * @r:          registry
 * @fn:         called after the name is removed, before any free (not for
 *              segments freed with their name: the destroy callback covers those)
 */
void registry_set_unlink_fn(Registry *r, RegistryUnlinkFn fn) {
        r->unlinked = fn;
}

static void segment_unname(Registry *r, Segment *s) {
        hmap_remove(&r->by_name, &s->name_node);
        s->linked = false;
        if (r->unlinked)
                r->unlinked(s, r->userdata);
}

static UserUsage *user_find(Registry *r, uid_t uid) {
        uint64_t h = hash_u64(uid);

        for (HNode *n = hmap_first(&r->users, h); n; n = hmap_next(n)) {
                UserUsage *u = container_of(n, UserUsage, node);

                if (u->uid == uid)
                        return u;
        }
        return NULL;
}

static void segment_free(Registry *r, Segment *s) {
        UserUsage *u;

        if (r->destroy)
                r->destroy(s, r->userdata);
        if (s->linked)
                hmap_remove(&r->by_name, &s->name_node);
        hmap_remove(&r->by_id, &s->id_node);
        list_unlink(&s->id_link);
        list_unlink(&s->creator_link);
        u = user_find(r, s->uid);
        if (u) {
                u->segments--;
                u->bytes -= s->size;
                if (u->segments == 0) {
                        hmap_remove(&r->users, &u->node);
                        free(u);
                }
        }
        r->n_segments--;
        r->n_bytes -= s->size;
        free(s);
}

static void segment_maybe_free(Registry *r, Segment *s) {
        if (s->n_holders == 0 && (!s->linked || s->lifetime == PROTO_LIFETIME_HOLDERS))
                segment_free(r, s);
}

static void hold_free(Registry *r, Hold *h) {
        Segment *s = h->segment;

        hmap_remove(&r->holds, &h->node);
        list_unlink(&h->seg_link);
        list_unlink(&h->set_link);
        h->set->n_holds--;
        s->n_holders--;
        free(h);
        segment_maybe_free(r, s);
}

/**
 * registry_free() - free every segment (calling the destroy callback) and the registry
 * @r:          registry or NULL
 *
 * Holds are dropped too; the hold sets stay valid and empty.
 *
 * Return: NULL
 */
Registry *registry_free(Registry *r) {
        if (!r)
                return NULL;
        list_for_each_safe(l, &r->segments) {
                Segment *s = list_entry(l, Segment, id_link);

                list_for_each_safe(hl, &s->holds) {
                        Hold *h = list_entry(hl, Hold, seg_link);

                        hmap_remove(&r->holds, &h->node);
                        list_unlink(&h->seg_link);
                        list_unlink(&h->set_link);
                        h->set->n_holds--;
                        free(h);
                }
                s->n_holders = 0;
                segment_free(r, s);
        }
        hmap_deinit(&r->by_name);
        hmap_deinit(&r->by_id);
        hmap_deinit(&r->holds);
        hmap_deinit(&r->users);
        free(r);
        return NULL;
}

/**
 * holdset_init() - initialise an empty hold set
 * @set:        the set, embedded in a connection
 */
void holdset_init(HoldSet *set) {
        list_init(&set->holds);
        list_init(&set->created);
        set->n_holds = 0;
}

/**
 * registry_holdset_clear() - the connection behind @set is gone
 * @r:          registry
 * @set:        its holds
 *
 * Unlinks the segments it created with lifetime "creator" and drops every
 * hold it had; segments whose lifetime ends with that are freed.
 */
void registry_holdset_clear(Registry *r, HoldSet *set) {
        list_for_each_safe(l, &set->created) {
                Segment *s = list_entry(l, Segment, creator_link);

                list_unlink(&s->creator_link);
                s->creator = NULL;
                if (s->linked)
                        segment_unname(r, s);
                segment_maybe_free(r, s);
        }
        list_for_each_safe(l, &set->holds)
                hold_free(r, list_entry(l, Hold, set_link));
}

/**
 * registry_find() - the segment a name refers to
 * @r:          registry
 * @name:       NUL-terminated name
 *
 * Return: the segment, or NULL.
 */
Segment *registry_find(Registry *r, const char *name) {
        size_t len = strlen(name);
        uint64_t h = hash_bytes(name, len);

        for (HNode *n = hmap_first(&r->by_name, h); n; n = hmap_next(n)) {
                Segment *s = container_of(n, Segment, name_node);

                if (strcmp(s->name, name) == 0)
                        return s;
        }
        return NULL;
}

/**
 * registry_find_id() - a live segment by id (named or not)
 * @r:          registry
 * @id:         segment id
 *
 * Return: the segment, or NULL.
 */
Segment *registry_find_id(Registry *r, uint64_t id) {
        for (HNode *n = hmap_first(&r->by_id, hash_u64(id)); n; n = hmap_next(n)) {
                Segment *s = container_of(n, Segment, id_node);

                if (s->id == id)
                        return s;
        }
        return NULL;
}

/**
 * registry_find_hold() - the hold @set has on segment @id
 * @r:          registry
 * @set:        hold set
 * @id:         segment id
 *
 * Return: the hold, or NULL.
 */
Hold *registry_find_hold(Registry *r, HoldSet *set, uint64_t id) {
        for (HNode *n = hmap_first(&r->holds, hold_hash(set, id)); n; n = hmap_next(n)) {
                Hold *h = container_of(n, Hold, node);

                if (h->set == set && h->segment->id == id)
                        return h;
        }
        return NULL;
}

static int quota_check(Registry *r, uid_t uid, uint64_t size) {
        const RegistryLimits *l = &r->limits;
        UserUsage *u = user_find(r, uid);
        uint64_t segs = u ? u->segments : 0, bytes = u ? u->bytes : 0;

        if (l->max_segments && r->n_segments >= l->max_segments)
                return REGISTRY_E_QUOTA_SEGMENTS;
        if (l->max_bytes && (size > l->max_bytes || r->n_bytes > l->max_bytes - size))
                return REGISTRY_E_QUOTA_BYTES;
        if (l->max_segments_per_user && segs >= l->max_segments_per_user)
                return REGISTRY_E_QUOTA_USER_SEGMENTS;
        if (l->max_bytes_per_user && (size > l->max_bytes_per_user || bytes > l->max_bytes_per_user - size))
                return REGISTRY_E_QUOTA_USER_BYTES;
        return 0;
}

/**
 * registry_hold() - give @set a hold on @s (or count one more open)
 * @r:          registry
 * @s:          segment
 * @set:        the connection's holds
 * @writable:   whether this open is read-write (a hold once writable stays so)
 *
 * Return: 0, REGISTRY_E_QUOTA_HOLDS, or -ENOMEM.
 */
int registry_hold(Registry *r, Segment *s, HoldSet *set, bool writable) {
        Hold *h = registry_find_hold(r, set, s->id);
        int ret;

        if (h) {
                h->count++;
                h->writable |= writable;
                return 0;
        }
        if (r->limits.max_holds_per_conn && set->n_holds >= r->limits.max_holds_per_conn)
                return REGISTRY_E_QUOTA_HOLDS;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        ret = hmap_insert(&r->holds, &h->node, hold_hash(set, s->id));
        if (ret < 0) {
                free(h);
                return ret;
        }
        h->segment = s;
        h->set = set;
        h->count = 1;
        h->writable = writable;
        list_append(&s->holds, &h->seg_link);
        list_append(&set->holds, &h->set_link);
        set->n_holds++;
        s->n_holders++;
        return 0;
}

/**
 * registry_create() - add a named segment, held read-write by its creator
 * @r:          registry
 * @p:          attributes (name must be valid and free)
 * @creator:    the creating connection's holds; NULL for a segment restored
 *              at start (no hold, no quota check: it existed already; only
 *              lifetime "persistent" makes sense)
 * @ret:        the new segment; its object fields are -1 for the backend to fill
 *
 * Charges the owner's quota. If the backend then fails, the caller drops the
 * creator's hold with registry_release(), which frees the segment again.
 *
 * Return: 0, REGISTRY_E_EXISTS, REGISTRY_E_QUOTA_*, or -ENOMEM.
 */
int registry_create(Registry *r, const SegmentParams *p, HoldSet *creator, Segment **ret) {
        UserUsage *u;
        Segment *s;
        int q;

        if (registry_find(r, p->name))
                return REGISTRY_E_EXISTS;
        /* A segment restored at start existed already: it is counted, never refused. */
        q = creator ? quota_check(r, p->uid, p->size) : 0;
        if (q)
                return q;
        if (creator && r->limits.max_holds_per_conn && creator->n_holds >= r->limits.max_holds_per_conn)
                return REGISTRY_E_QUOTA_HOLDS;

        u = user_find(r, p->uid);
        if (!u) {
                u = calloc(1, sizeof(*u));
                if (!u)
                        return -ENOMEM;
                u->uid = p->uid;
                if (hmap_insert(&r->users, &u->node, hash_u64(p->uid)) < 0) {
                        free(u);
                        return -ENOMEM;
                }
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                goto fail_user;
        s->registry = r;
        s->id = r->next_id;
        snprintf(s->name, sizeof(s->name), "%s", p->name);
        s->size = p->size;
        s->uid = p->uid;
        s->gid = p->gid;
        s->mode = p->mode;
        s->lifetime = p->lifetime;
        s->backend = p->backend;
        s->flags = p->flags;
        s->created_usec = p->created_usec;
        s->linked = true;
        s->obj = (SegmentObject){ .fd = -1, .ro_fd = -1, .shmid = -1 };
        list_init(&s->holds);
        list_init(&s->id_link);
        list_init(&s->creator_link);
        if (hmap_insert(&r->by_name, &s->name_node, hash_bytes(s->name, strlen(s->name))) < 0)
                goto fail_seg;
        if (hmap_insert(&r->by_id, &s->id_node, hash_u64(s->id)) < 0) {
                hmap_remove(&r->by_name, &s->name_node);
                goto fail_seg;
        }
        r->next_id++;
        list_append(&r->segments, &s->id_link);
        u->segments++;
        u->bytes += s->size;
        r->n_segments++;
        r->n_bytes += s->size;
        if (!creator) {
                *ret = s;
                return 0;
        }
        if (s->lifetime == PROTO_LIFETIME_CREATOR) {
                s->creator = creator;
                list_append(&creator->created, &s->creator_link);
        }
        q = registry_hold(r, s, creator, true);
        if (q) {
                /* Frees the segment: unheld with no creator hold is not kept. */
                s->linked = false;
                hmap_remove(&r->by_name, &s->name_node);
                segment_free(r, s);
                return q;
        }
        *ret = s;
        return 0;

fail_seg:
        free(s);
fail_user:
        if (u->segments == 0) {
                hmap_remove(&r->users, &u->node);
                free(u);
        }
        return -ENOMEM;
}

/**
 * registry_release() - drop one open of segment @id by @set
 * @r:          registry
 * @set:        the connection's holds
 * @id:         segment id
 *
 * When the last open is released the hold goes, and with it possibly the
 * segment (see the lifetime rules at the top of this file).
 *
 * Return: 0 or REGISTRY_E_NOT_HELD.
 */
int registry_release(Registry *r, HoldSet *set, uint64_t id) {
        Hold *h = registry_find_hold(r, set, id);

        if (!h)
                return REGISTRY_E_NOT_HELD;
        if (--h->count == 0)
                hold_free(r, h);
        return 0;
}

/**
 * registry_unlink() - remove a segment's name; holders keep the segment
 * @r:          registry
 * @s:          a linked segment
 */
void registry_unlink(Registry *r, Segment *s) {
        if (!s->linked)
                return;
        segment_unname(r, s);
        segment_maybe_free(r, s);
}

/**
 * registry_first_after() - the live segment with the smallest id above @after_id
 * @r:          registry
 * @after_id:   0 to start from the beginning
 *
 * O(1) when @after_id is still live, else a walk of the id-ordered list.
 *
 * Return: the segment, or NULL.
 */
Segment *registry_first_after(Registry *r, uint64_t after_id) {
        Segment *s = after_id ? registry_find_id(r, after_id) : NULL;

        if (s)
                return registry_next(r, s);
        list_for_each(l, &r->segments) {
                s = list_entry(l, Segment, id_link);
                if (s->id > after_id)
                        return s;
        }
        return NULL;
}

/**
 * registry_next() - the next live segment in id order
 * @r:          registry
 * @s:          current segment
 *
 * Return: the segment, or NULL at the end.
 */
Segment *registry_next(Registry *r, Segment *s) {
        if (s->id_link.next == &r->segments)
                return NULL;
        return list_entry(s->id_link.next, Segment, id_link);
}

/**
 * registry_count() - number of live segments (named or held)
 * @r:          registry
 *
 * Return: the count.
 */
uint64_t registry_count(const Registry *r) {
        return r->n_segments;
}

/**
 * registry_bytes() - bytes of all live segments
 * @r:          registry
 *
 * Return: the sum of their sizes.
 */
uint64_t registry_bytes(const Registry *r) {
        return r->n_bytes;
}

/**
 * registry_user_usage() - what one user is charged for
 * @r:          registry
 * @uid:        user
 * @ret_segments: segments owned
 * @ret_bytes:  bytes owned
 */
void registry_user_usage(Registry *r, uid_t uid, uint64_t *ret_segments, uint64_t *ret_bytes) {
        UserUsage *u = user_find(r, uid);

        *ret_segments = u ? u->segments : 0;
        *ret_bytes = u ? u->bytes : 0;
}

/**
 * registry_strerror() - words for a REGISTRY_E_* code
 * @code:       the code
 *
 * Return: a static string.
 */
const char *registry_strerror(int code) {
        switch (code) {
        case REGISTRY_E_EXISTS:
                return "a segment of that name exists";
        case REGISTRY_E_NOT_HELD:
                return "this connection does not hold that segment";
        case REGISTRY_E_QUOTA_USER_SEGMENTS:
                return "the owner's limit on the number of segments is reached";
        case REGISTRY_E_QUOTA_USER_BYTES:
                return "the owner's limit on bytes in segments is reached";
        case REGISTRY_E_QUOTA_SEGMENTS:
                return "the daemon's limit on the number of segments is reached";
        case REGISTRY_E_QUOTA_BYTES:
                return "the daemon's limit on bytes in segments is reached";
        case REGISTRY_E_QUOTA_HOLDS:
                return "this connection's limit on holds is reached";
        default:
                return "unknown registry error";
        }
}
