#pragma once

/*
 * Operation records. A version-2 client ends a CREATE, UNLINK, RESIZE or
 * PUBLISH with an operation id of its choosing; the daemon records it with
 * the change, under the kernel's identity of the process that sent it (pid,
 * uid, process start time), so that the same request sent again after its
 * reply was lost is recognised and answered as the first one was, not
 * carried out twice. The record names the segment the request changed.
 *
 * Pure bookkeeping, no I/O: the manager also writes each record to the
 * restart state, and restores the records of running processes at start.
 *
 * Bounds: OPLOG_PER_PEER records per process (a new one pushes out that
 * process's oldest), OPLOG_MAX in all (the oldest goes first), and each is
 * kept OPLOG_KEEP_USEC from when it was made, or from when a restarted
 * daemon restored it.
 */

#include <stdbool.h>
#include <stdint.h>

#include "daemon/registry.h"
#include "util/hashmap.h"
#include "util/list.h"

#define OPLOG_PER_PEER 64
#define OPLOG_MAX 65536
#define OPLOG_KEEP_USEC (UINT64_C(300) * 1000 * 1000)

typedef struct OpPeer OpPeer;

typedef struct OpRecord {
        HNode node;                     /* OpLog.by_key */
        List all_link;                  /* OpLog.records, oldest first */
        List peer_link;                 /* OpPeer.records, oldest first */
        OpPeer *peer;
        uint64_t op_id;
        uint64_t name_hash;             /* oplog_name_hash() of the request's name */
        uint64_t segment_id;            /* the segment the request changed (UNLINK: the one it unnamed) */
        uint64_t made_usec;             /* OpLog clock */
        uint16_t type;                  /* SHMB_MSG_CREATE, _UNLINK, _RESIZE or _PUBLISH */
} OpRecord;

struct OpPeer {
        HNode node;                     /* OpLog.peers */
        PeerIdentity who;
        List records;                   /* OpRecord.peer_link */
        unsigned n_records;
};

typedef uint64_t (*OpLogClockFn)(void);

typedef struct OpLog {
        HMap by_key;
        HMap peers;
        List records;                   /* OpRecord.all_link, oldest first */
        uint64_t n_records;
        uint64_t n_evicted;             /* pushed out by a bound before their time */
        OpLogClockFn clock;             /* monotonic µs */
} OpLog;

void oplog_init(OpLog *log, OpLogClockFn clock);
void oplog_deinit(OpLog *log);
int oplog_add(OpLog *log, const PeerIdentity *who, uint64_t op_id, uint16_t type, uint64_t name_hash,
              uint64_t segment_id, const OpRecord **ret);
const OpRecord *oplog_find(OpLog *log, const PeerIdentity *who, uint64_t op_id, uint16_t type,
                           uint64_t name_hash);
void oplog_expire(OpLog *log);
uint64_t oplog_name_hash(const char *name);
const PeerIdentity *oplog_record_who(const OpRecord *rec);

#define oplog_for_each(rec, log)                                                                      \
        for (List *rec##_l_ = (log)->records.next;                                                    \
             rec##_l_ != &(log)->records && ((rec) = list_entry(rec##_l_, OpRecord, all_link), true); \
             rec##_l_ = rec##_l_->next)
