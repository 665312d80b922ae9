/*
 * Operation records (see oplog.h): a hash by (process, op id) and two
 * oldest-first lists, one of every record and one per process, so that
 * expiry and both bounds only ever look at the head of a list.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/oplog.h"

static uint64_t peer_hash(const PeerIdentity *who) {
        uint64_t k[3] = { (uint64_t)who->pid, (uint64_t)who->uid, who->start_time };

        return hash_bytes(k, sizeof(k));
}

static uint64_t key_hash(const PeerIdentity *who, uint64_t op_id) {
        uint64_t k[4] = { (uint64_t)who->pid, (uint64_t)who->uid, who->start_time, op_id };

        return hash_bytes(k, sizeof(k));
}

static bool same_peer(const PeerIdentity *a, const PeerIdentity *b) {
        return a->pid == b->pid && a->uid == b->uid && a->start_time == b->start_time;
}

/**
 * oplog_init() - an empty log
 * @log:        the log
 * @clock:      monotonic time in µs
 */
void oplog_init(OpLog *log, OpLogClockFn clock) {
        *log = (OpLog){ .by_key = HMAP_NULL, .peers = HMAP_NULL, .clock = clock };
        list_init(&log->records);
}

static void record_free(OpLog *log, OpRecord *rec) {
        OpPeer *peer = rec->peer;

        hmap_remove(&log->by_key, &rec->node);
        list_unlink(&rec->all_link);
        list_unlink(&rec->peer_link);
        log->n_records--;
        free(rec);
        if (--peer->n_records == 0) {
                hmap_remove(&log->peers, &peer->node);
                free(peer);
        }
}

/**
 * oplog_deinit() - free every record
 * @log:        the log
 */
void oplog_deinit(OpLog *log) {
        list_for_each_safe(l, &log->records)
                record_free(log, list_entry(l, OpRecord, all_link));
        hmap_deinit(&log->by_key);
        hmap_deinit(&log->peers);
}

/**
 * oplog_expire() - forget the records whose time is up
 * @log:        the log
 */
void oplog_expire(OpLog *log) {
        uint64_t now = log->clock();

        while (!list_is_empty(&log->records)) {
                OpRecord *rec = list_entry(log->records.next, OpRecord, all_link);

                if (now - rec->made_usec < OPLOG_KEEP_USEC)
                        break;
                record_free(log, rec);
        }
}

static OpPeer *peer_find(OpLog *log, const PeerIdentity *who) {
        for (HNode *n = hmap_first(&log->peers, peer_hash(who)); n; n = hmap_next(n)) {
                OpPeer *p = container_of(n, OpPeer, node);

                if (same_peer(&p->who, who))
                        return p;
        }
        return NULL;
}

static OpRecord *record_find(OpLog *log, const PeerIdentity *who, uint64_t op_id) {
        for (HNode *n = hmap_first(&log->by_key, key_hash(who, op_id)); n; n = hmap_next(n)) {
                OpRecord *rec = container_of(n, OpRecord, node);

                if (rec->op_id == op_id && same_peer(&rec->peer->who, who))
                        return rec;
        }
        return NULL;
}

static OpPeer *peer_get(OpLog *log, const PeerIdentity *who) {
        OpPeer *p = peer_find(log, who);

        if (p)
                return p;
        p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->who = *who;
        list_init(&p->records);
        if (hmap_insert(&log->peers, &p->node, peer_hash(who)) < 0) {
                free(p);
                return NULL;
        }
        return p;
}

/**
 * oplog_add() - record that @who's request @op_id changed segment @segment_id
 * @log:        the log
 * @who:        the process (a start time of 0, unknown, is never recorded)
 * @op_id:      its operation id, not 0
 * @type:       the request's type
 * @name_hash:  oplog_name_hash() of the name the request carried
 * @segment_id: the segment it changed
 * @ret:        if not NULL, the record (NULL if not recorded)
 *
 * A record of the same process and id is replaced. Expired records go
 * first; then, if a bound is reached, the process's oldest record, or the
 * oldest of all.
 *
 * Return: 0 (also when not recorded for want of a start time), -EINVAL for
 * @op_id 0, or -ENOMEM.
 */
int oplog_add(OpLog *log, const PeerIdentity *who, uint64_t op_id, uint16_t type, uint64_t name_hash,
              uint64_t segment_id, const OpRecord **ret) {
        OpRecord *rec;
        OpPeer *peer;

        if (ret)
                *ret = NULL;
        if (op_id == 0)
                return -EINVAL;
        if (who->start_time == 0)
                return 0;
        oplog_expire(log);
        rec = record_find(log, who, op_id);
        if (rec)
                record_free(log, rec);
        peer = peer_get(log, who);
        if (!peer)
                return -ENOMEM;
        rec = calloc(1, sizeof(*rec));
        if (rec) {
                rec->peer = peer;
                rec->op_id = op_id;
                rec->name_hash = name_hash;
                rec->segment_id = segment_id;
                rec->made_usec = log->clock();
                rec->type = type;
        }
        if (!rec || hmap_insert(&log->by_key, &rec->node, key_hash(who, op_id)) < 0) {
                free(rec);
                if (peer->n_records == 0) {
                        hmap_remove(&log->peers, &peer->node);
                        free(peer);
                }
                return -ENOMEM;
        }
        list_append(&log->records, &rec->all_link);
        list_append(&peer->records, &rec->peer_link);
        peer->n_records++;
        log->n_records++;
        /* The new record is the newest of both lists: the bounds never push it out. */
        if (peer->n_records > OPLOG_PER_PEER) {
                record_free(log, list_entry(peer->records.next, OpRecord, peer_link));
                log->n_evicted++;
        }
        if (log->n_records > OPLOG_MAX) {
                record_free(log, list_entry(log->records.next, OpRecord, all_link));
                log->n_evicted++;
        }
        if (ret)
                *ret = rec;
        return 0;
}

/**
 * oplog_find() - the record of a request sent again, if it is one
 * @log:        the log
 * @who:        the process sending it
 * @op_id:      the id it carries
 * @type:       its type
 * @name_hash:  oplog_name_hash() of the name it carries
 *
 * A record with the same process and id but another type or name is not
 * this request: the client reused an id, and the request is a new one.
 *
 * Return: the record, or NULL.
 */
const OpRecord *oplog_find(OpLog *log, const PeerIdentity *who, uint64_t op_id, uint16_t type,
                           uint64_t name_hash) {
        OpRecord *rec;

        if (op_id == 0 || who->start_time == 0)
                return NULL;
        oplog_expire(log);
        rec = record_find(log, who, op_id);
        if (!rec || rec->type != type || rec->name_hash != name_hash)
                return NULL;
        return rec;
}

/**
 * oplog_record_who() - the process a record belongs to
 * @rec:        record
 *
 * Return: its identity.
 */
const PeerIdentity *oplog_record_who(const OpRecord *rec) {
        return &rec->peer->who;
}

/**
 * oplog_name_hash() - a hash of a segment name that is the same in every daemon instance
 * @name:       NUL-terminated name
 *
 * FNV-1a, 64 bits: records in the restart state keep it across restarts.
 *
 * Return: the hash.
 */
uint64_t oplog_name_hash(const char *name) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
                h ^= *p;
                h *= UINT64_C(1099511628211);
        }
        return h;
}
