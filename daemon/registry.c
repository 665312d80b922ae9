/*
 * Segment registry: name and id maps, holds, lifetimes and quotas.
 *
 * A segment is freed when nobody holds it and either its name is gone or
 * its lifetime is "holders". Unlinking removes the name at once; holders
 * keep the segment (and the memory) until they let go. A named segment of
 * lifetime "ttl" that nobody holds is idle: the daemon, told through the
 * idle callback, unlinks it when its time is up.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/registry-internal.h"
#include "util/cleanup.h"

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

/**
 * registry_set_idle_fn() - be told when a kept segment loses its last holder or gains a first one
 * @r:          registry
 * @fn:         called with idle=true when the last hold goes and the segment
 *              stays (named, lifetime not "holders"), idle=false on the
 *              first hold of such a segment
 */
void registry_set_idle_fn(Registry *r, RegistryIdleFn fn) {
        r->idle = fn;
}

/**
 * registry_set_limits() - change the quotas (they apply to later creates)
 * @r:          registry
 * @limits:     new limits
 */
void registry_set_limits(Registry *r, const RegistryLimits *limits) {
        r->limits = *limits;
}

/**
 * registry_set_hold_fn() - be told about every change of holds (and pending holds)
 * @r:          registry
 * @fn:         called with the holder's identity, the access and the change in
 *              opens; not called while the registry is freed
 */
void registry_set_hold_fn(Registry *r, RegistryHoldFn fn) {
        r->hold_changed = fn;
}

/**
 * registry_hold_changed() - report a change of @who's opens on @s
 * @r:          registry
 * @s:          segment
 * @who:        holder
 * @old_writable: access before
 * @old_count:  opens before (0: none)
 * @new_writable: access after
 * @new_count:  opens after (0: none)
 */
void registry_hold_changed(Registry *r, Segment *s, const PeerIdentity *who, bool old_writable,
                           uint64_t old_count, bool new_writable, uint64_t new_count) {
        if (!r->hold_changed)
                return;
        if (old_count > 0 && (old_writable != new_writable || new_count == 0)) {
                r->hold_changed(s, who, old_writable, -(int64_t)old_count, r->userdata);
                old_count = 0;
        }
        if (new_count != old_count)
                r->hold_changed(s, who, new_writable, (int64_t)new_count - (int64_t)old_count, r->userdata);
}

/**
 * segment_unname() - remove a segment's name (it must have one)
 * @r:          registry
 * @s:          segment
 */
void segment_unname(Registry *r, Segment *s) {
        hmap_remove(&r->by_name, &s->name_node);
        s->linked = false;
        if (r->unlinked)
                r->unlinked(s, r->userdata);
}

/**
 * user_find() - the usage record of @uid
 * @r:          registry
 * @uid:        user
 *
 * Return: the record, or NULL.
 */
UserUsage *user_find(Registry *r, uid_t uid) {
        uint64_t h = hash_u64(uid);

        for (HNode *n = hmap_first(&r->users, h); n; n = hmap_next(n)) {
                UserUsage *u = container_of(n, UserUsage, node);

                if (u->uid == uid)
                        return u;
        }
        return NULL;
}

/**
 * segment_free() - unindex and free a segment, calling the destroy callback first
 * @r:          registry
 * @s:          segment, with no holds
 */
void segment_free(Registry *r, Segment *s) {
        UserUsage *u;

        list_for_each_safe(l, &s->pending) {
                list_unlink(l);
                free(list_entry(l, PendingHold, seg_link));
                r->n_pending--;
        }
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
                u->bytes -= s->charged;
                if (u->segments == 0) {
                        hmap_remove(&r->users, &u->node);
                        free(u);
                }
        }
        r->n_segments--;
        r->n_bytes -= s->charged;
        if (s->backend < _PROTO_BACKEND_MAX) {
                r->backend_segments[s->backend]--;
                r->backend_bytes[s->backend] -= s->size;
        }
        free(s);
}

/**
 * segment_maybe_free() - free @s if its lifetime has ended
 * @r:          registry
 * @s:          segment
 *
 * Pending holds count as holds until they are reclaimed or dropped.
 *
 * Return: true if @s was freed.
 */
bool segment_maybe_free(Registry *r, Segment *s) {
        if (s->n_holders == 0 && list_is_empty(&s->pending) &&
            (!s->linked || s->lifetime == PROTO_LIFETIME_HOLDERS)) {
                segment_free(r, s);
                return true;
        }
        return false;
}

static void hold_free(Registry *r, Hold *h) {
        Segment *s = h->segment;

        registry_hold_changed(r, s, &h->set->who, h->writable, h->count, h->writable, 0);

        hmap_remove(&r->holds, &h->node);
        list_unlink(&h->seg_link);
        list_unlink(&h->set_link);
        h->set->n_holds--;
        h->set->bytes -= s->size;
        s->n_holders--;
        free(h);
        if (!segment_maybe_free(r, s) && s->n_holders == 0 && list_is_empty(&s->pending) && r->idle)
                r->idle(s, true, r->userdata);
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
        r->hold_changed = NULL;
        list_for_each_safe(l, &r->segments) {
                Segment *s = list_entry(l, Segment, id_link);

                list_for_each_safe(hl, &s->holds) {
                        Hold *h = list_entry(hl, Hold, seg_link);

                        hmap_remove(&r->holds, &h->node);
                        list_unlink(&h->seg_link);
                        list_unlink(&h->set_link);
                        h->set->n_holds--;
                        h->set->bytes -= s->size;
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
        set->owner_id = 0;
        set->bytes = 0;
        set->who = (PeerIdentity){};
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

/* Keep a segment's holds in ascending owner id, so that holders can be listed in pages. */
static void hold_link_ordered(Segment *s, Hold *h) {
        List *pos = s->holds.prev;

        /* New holds mostly come from the newest connection: walk from the tail. */
        while (pos != &s->holds && list_entry(pos, Hold, seg_link)->set->owner_id > h->set->owner_id)
                pos = pos->prev;
        list_insert_before(pos->next, &h->seg_link);
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
        uint64_t now = r->clock ? r->clock() : 0;
        int ret;

        if (h) {
                s->last_opened_usec = now;
                registry_hold_changed(r, s, &set->who, h->writable, h->count, h->writable || writable,
                                      h->count + 1);
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
        h->since_usec = now;
        s->last_opened_usec = now;
        hold_link_ordered(s, h);
        list_append(&set->holds, &h->set_link);
        set->n_holds++;
        set->bytes += s->size;
        if (s->n_holders++ == 0 && r->idle)
                r->idle(s, false, r->userdata);
        registry_hold_changed(r, s, &set->who, writable, 0, writable, 1);
        return 0;
}

/* Keep r->segments in ascending id order (restored ids may arrive in any order). */
static void segment_list_insert(Registry *r, Segment *s) {
        List *where = &r->segments;

        /* New ids are the largest: the common case is an append. */
        while (where->prev != &r->segments && list_entry(where->prev, Segment, id_link)->id > s->id)
                where = where->prev;
        list_insert_before(where, &s->id_link);
}

/**
 * segment_add() - allocate a segment, index it and charge its owner
 * @r:          registry
 * @p:          attributes
 * @id:         its id (unused by any live segment)
 * @linked:     enter the name (which must be free) in the name map
 * @ret:        the segment, unheld; its object fields are -1
 *
 * No quota is checked here. next_id moves above @id.
 *
 * Return: 0 or -ENOMEM.
 */
int segment_add(Registry *r, const SegmentParams *p, uint64_t id, bool linked, Segment **ret) {
        UserUsage *u;
        Segment *s;

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
        s->id = id;
        snprintf(s->name, sizeof(s->name), "%s", p->name);
        s->size = p->size;
        s->max_size = p->max_size ? p->max_size : p->size;
        s->charged = p->charge ? p->charge : p->size;
        s->ttl_sec = p->ttl_sec;
        s->uid = p->uid;
        s->gid = p->gid;
        s->mode = p->mode;
        s->lifetime = p->lifetime;
        s->backend = p->backend;
        s->flags = p->flags;
        s->created_usec = p->created_usec;
        s->linked = linked;
        s->obj = (SegmentObject){ .fd = -1, .ro_fd = -1, .shmid = -1 };
        list_init(&s->holds);
        list_init(&s->id_link);
        list_init(&s->creator_link);
        list_init(&s->pending);
        if (linked && hmap_insert(&r->by_name, &s->name_node, hash_bytes(s->name, strlen(s->name))) < 0)
                goto fail_seg;
        if (hmap_insert(&r->by_id, &s->id_node, hash_u64(s->id)) < 0) {
                if (linked)
                        hmap_remove(&r->by_name, &s->name_node);
                goto fail_seg;
        }
        if (id >= r->next_id)
                r->next_id = id + 1;
        segment_list_insert(r, s);
        u->segments++;
        u->bytes += s->charged;
        r->n_segments++;
        r->n_bytes += s->charged;
        if (s->backend < _PROTO_BACKEND_MAX) {
                r->backend_segments[s->backend]++;
                r->backend_bytes[s->backend] += s->size;
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
        Segment *s;
        int q;

        if (registry_find(r, p->name))
                return REGISTRY_E_EXISTS;
        /* A segment restored at start existed already: it is counted, never refused. */
        q = creator ? quota_check(r, p->uid, p->charge ? p->charge : p->size) : 0;
        if (q)
                return q;
        if (creator && r->limits.max_holds_per_conn && creator->n_holds >= r->limits.max_holds_per_conn)
                return REGISTRY_E_QUOTA_HOLDS;
        q = segment_add(r, p, r->next_id, true, &s);
        if (q < 0)
                return q;
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
        s->last_opened_usec = s->created_usec;  /* creating is the first open */
        *ret = s;
        return 0;
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
        if (h->count == 1) {
                hold_free(r, h);
                return 0;
        }
        registry_hold_changed(r, h->segment, &set->who, h->writable, h->count, h->writable, h->count - 1);
        h->count--;
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
 * registry_resize_check() - whether the owner's quota allows charging @charge for @s
 * @r:          registry
 * @s:          segment
 * @charge:     the charge after growing (not below the current one)
 *
 * Return: 0, REGISTRY_E_SHRINK, REGISTRY_E_QUOTA_BYTES or REGISTRY_E_QUOTA_USER_BYTES.
 */
int registry_resize_check(Registry *r, const Segment *s, uint64_t charge) {
        const RegistryLimits *l = &r->limits;
        UserUsage *u = user_find(r, s->uid);
        uint64_t delta;

        if (charge < s->charged)
                return REGISTRY_E_SHRINK;
        delta = charge - s->charged;
        if (l->max_bytes && (delta > l->max_bytes || r->n_bytes > l->max_bytes - delta))
                return REGISTRY_E_QUOTA_BYTES;
        if (u && l->max_bytes_per_user && (delta > l->max_bytes_per_user || u->bytes > l->max_bytes_per_user - delta))
                return REGISTRY_E_QUOTA_USER_BYTES;
        return 0;
}

/**
 * registry_resize() - record a grown segment and charge its owner for it
 * @r:          registry
 * @s:          segment
 * @size:       new size, not below the current one
 * @charge:     new quota charge, not below the current one
 *
 * Return: 0, or what registry_resize_check() says (nothing changed then).
 */
int registry_resize(Registry *r, Segment *s, uint64_t size, uint64_t charge) {
        UserUsage *u = user_find(r, s->uid);
        int q;

        if (size < s->size)
                return REGISTRY_E_SHRINK;
        q = registry_resize_check(r, s, charge);
        if (q)
                return q;
        if (u)
                u->bytes += charge - s->charged;
        r->n_bytes += charge - s->charged;
        if (s->backend < _PROTO_BACKEND_MAX)
                r->backend_bytes[s->backend] += size - s->size;
        /* Holders' "bytes held" follow the size. */
        list_for_each(l, &s->holds)
                list_entry(l, Hold, seg_link)->set->bytes += size - s->size;
        s->charged = charge;
        s->size = size;
        if (s->max_size < size)
                s->max_size = size;
        return 0;
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
        case REGISTRY_E_SHRINK:
                return "segments only grow";
        case REGISTRY_E_NOT_PENDING:
                return "no hold of this process on that segment awaits reclaim";
        default:
                return "unknown registry error";
        }
}

/**
 * registry_set_clock() - source of hold and open times
 * @r:          registry
 * @fn:         returns the current time in microseconds; NULL: times stay 0
 */
void registry_set_clock(Registry *r, RegistryClockFn fn) {
        r->clock = fn;
}

/**
 * registry_destroy() - remove a segment's name and drop every hold on it
 * @r:          registry
 * @s:          segment; freed (through the destroy callback) before this returns
 *
 * The operator's "destroy": unlike registry_unlink(), holders lose their
 * holds too, so the segment ends now. Memory that holders have mapped stays
 * theirs; the daemon forgets the segment.
 *
 * Return: the number of connections that held it.
 */
uint64_t registry_destroy(Registry *r, Segment *s) {
        uint64_t n = s->n_holders;

        if (s->linked)
                segment_unname(r, s);
        if (s->n_holders == 0) {
                segment_free(r, s);
                return 0;
        }
        /* Freeing the last hold frees the segment and its list head: stop there. */
        for (;;) {
                Hold *h = list_entry(s->holds.next, Hold, seg_link);
                bool last = h->seg_link.next == &s->holds;

                hold_free(r, h);
                if (last)
                        break;
        }
        return n;
}

/**
 * registry_backend_usage() - live segments and bytes of one backend
 * @r:          registry
 * @backend:    PROTO_BACKEND_*
 * @ret_segments: segments (named or still held)
 * @ret_bytes:  the sum of their sizes
 */
void registry_backend_usage(const Registry *r, uint8_t backend, uint64_t *ret_segments, uint64_t *ret_bytes) {
        bool known = backend < _PROTO_BACKEND_MAX;

        *ret_segments = known ? r->backend_segments[backend] : 0;
        *ret_bytes = known ? r->backend_bytes[backend] : 0;
}

/**
 * registry_hold_count() - holds of all connections together
 * @r:          registry
 *
 * Return: the number of (connection, segment) holds.
 */
uint64_t registry_hold_count(const Registry *r) {
        return hmap_size(&r->holds);
}
