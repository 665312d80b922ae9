/*
 * Registry after a daemon restart: segments come back under their old ids,
 * with no holder, and the holds they had become pending holds recorded under
 * the holder's identity (pid, uid, process start time). A connection from
 * that same process takes its holds back one open at a time (RECLAIM); what
 * nobody reclaims is dropped after a grace period, and lifetimes apply then.
 *
 * Still no I/O: the caller has read the state and checked the kernel objects.
 */

#include <errno.h>
#include <stdlib.h>

#include "daemon/registry-internal.h"

/**
 * peer_identity_equal() - whether two identities are the same process
 * @a:          identity
 * @b:          identity
 *
 * An unknown start time (0) never matches: without it a recycled pid could
 * pass for the old holder.
 *
 * Return: true if pid, uid and a known start time all match.
 */
bool peer_identity_equal(const PeerIdentity *a, const PeerIdentity *b) {
        return a->start_time != 0 && a->pid == b->pid && a->uid == b->uid && a->start_time == b->start_time;
}

/**
 * registry_restore() - add a segment that existed before a restart
 * @r:          registry
 * @p:          attributes as recorded
 * @id:         its recorded id; later new ids are above it
 * @linked:     whether it still had its name (else only holders kept it)
 * @ret:        the segment, with no hold and no pending hold
 *
 * Quotas are not checked: the segment was admitted before. The caller adds
 * pending holds, fills the backend object, and calls registry_drop_pending()
 * when the grace period ends (or frees the registry).
 *
 * Return: 0, REGISTRY_E_EXISTS (the id, or the name of a linked segment, is
 * taken), or -ENOMEM.
 */
int registry_restore(Registry *r, const SegmentParams *p, uint64_t id, bool linked, Segment **ret) {
        if (id == 0 || registry_find_id(r, id) || (linked && registry_find(r, p->name)))
                return REGISTRY_E_EXISTS;
        return segment_add(r, p, id, linked, ret);
}

/**
 * registry_add_pending() - record that @who held @s before the restart
 * @r:          registry
 * @s:          restored segment
 * @who:        the holder's identity
 * @writable:   whether the hold was read-write
 * @count:      opens (>= 1)
 *
 * Return: 0, -EINVAL for a zero count, or -ENOMEM.
 */
int registry_add_pending(Registry *r, Segment *s, const PeerIdentity *who, bool writable, uint64_t count) {
        PendingHold *p;

        if (count == 0)
                return -EINVAL;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->who = *who;
        p->writable = writable;
        p->count = count;
        list_append(&s->pending, &p->seg_link);
        r->n_pending++;
        return 0;
}

/**
 * registry_set_pending_creator() - the creator of a lifetime "creator" segment may come back
 * @r:          registry
 * @s:          restored, linked segment
 * @who:        the creator's identity
 */
void registry_set_pending_creator(Registry *r, Segment *s, const PeerIdentity *who) {
        s->has_pending_creator = true;
        s->pending_creator = *who;
}

static PendingHold *pending_find(Segment *s, const PeerIdentity *who, bool writable) {
        PendingHold *fallback = NULL;

        list_for_each(l, &s->pending) {
                PendingHold *p = list_entry(l, PendingHold, seg_link);

                if (!peer_identity_equal(&p->who, who) || (writable && !p->writable))
                        continue;
                /* A read-only open takes a read-only pending hold first. */
                if (p->writable == writable)
                        return p;
                fallback = p;
        }
        return fallback;
}

static void pending_free(Registry *r, PendingHold *p) {
        list_unlink(&p->seg_link);
        r->n_pending--;
        free(p);
}

/**
 * registry_reclaim() - turn one pending open of @set's peer into a real hold
 * @r:          registry
 * @s:          segment
 * @set:        the new connection's holds; set->who is its kernel-verified peer
 * @writable:   read-write wanted (needs a read-write pending hold)
 *
 * The creator of a lifetime "creator" segment becomes its creator again.
 *
 * Return: 0, REGISTRY_E_NOT_PENDING, REGISTRY_E_QUOTA_HOLDS, or -ENOMEM.
 */
int registry_reclaim(Registry *r, Segment *s, HoldSet *set, bool writable) {
        PendingHold *p = pending_find(s, &set->who, writable);
        int q;

        if (!p)
                return REGISTRY_E_NOT_PENDING;
        q = registry_hold(r, s, set, writable);
        if (q)
                return q;
        registry_hold_changed(r, s, &p->who, p->writable, p->count, p->writable, p->count - 1);
        if (--p->count == 0)
                pending_free(r, p);
        registry_resume_creator(r, s, set);
        return 0;
}

/**
 * registry_resume_creator() - a connection of a restored segment's creator makes it the creator again
 * @r:          registry
 * @s:          segment
 * @set:        the connection's holds; set->who is its kernel-verified peer
 *
 * Only for a segment of lifetime "creator" that still has its name, whose
 * recorded creator is @set's process and has no connection yet. Otherwise
 * nothing changes.
 */
void registry_resume_creator(Registry *r, Segment *s, HoldSet *set) {
        if (s->has_pending_creator && peer_identity_equal(&s->pending_creator, &set->who) && !s->creator &&
            s->linked && s->lifetime == PROTO_LIFETIME_CREATOR) {
                s->has_pending_creator = false;
                s->creator = set;
                list_append(&set->created, &s->creator_link);
        }
}

/**
 * registry_drop_pending() - the grace period is over: forget what was not reclaimed
 * @r:          registry
 *
 * Pending holds go; lifetime "creator" segments whose creator did not come
 * back lose their name; segments whose lifetime ends with that are freed.
 *
 * Return: the number of pending holds dropped.
 */
uint64_t registry_drop_pending(Registry *r) {
        uint64_t n = 0;

        list_for_each_safe(l, &r->segments) {
                Segment *s = list_entry(l, Segment, id_link);

                list_for_each_safe(pl, &s->pending) {
                        PendingHold *p = list_entry(pl, PendingHold, seg_link);

                        registry_hold_changed(r, s, &p->who, p->writable, p->count, p->writable, 0);
                        pending_free(r, p);
                        n++;
                }
                s->has_pending_creator = false;
                if (s->lifetime == PROTO_LIFETIME_CREATOR && !s->creator && s->linked)
                        segment_unname(r, s);
                /* Also frees restored segments that came back with no holder at all; a kept
                 * one that nobody holds now is idle (its TTL starts). */
                if (!segment_maybe_free(r, s) && s->n_holders == 0 && r->idle)
                        r->idle(s, true, r->userdata);
        }
        return n;
}

/**
 * registry_pending_count() - pending holds not yet reclaimed
 * @r:          registry
 *
 * Return: the number of pending hold records.
 */
uint64_t registry_pending_count(const Registry *r) {
        return r->n_pending;
}

/**
 * registry_discard() - drop a restored segment whose kernel object was not found
 * @r:          registry
 * @s:          restored segment with no holds and no pending holds yet
 *
 * The destroy callback runs (the backend fields are -1); the unlink
 * callback does not: the name never referred to a live object here.
 */
void registry_discard(Registry *r, Segment *s) {
        if (s->linked) {
                hmap_remove(&r->by_name, &s->name_node);
                s->linked = false;
        }
        segment_free(r, s);
}

/**
 * registry_reserve_ids() - new ids start at @next_id at the least
 * @r:          registry
 * @next_id:    the next id the previous instance would have used
 */
void registry_reserve_ids(Registry *r, uint64_t next_id) {
        if (next_id > r->next_id)
                r->next_id = next_id;
}
