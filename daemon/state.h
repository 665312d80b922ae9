#pragma once

/*
 * The restart state: what a restarted daemon needs to find every segment
 * again — names, ids, owners, modes, lifetimes, sizes, backends, System V ids
 * and who held what. It lives in <runtime-dir>/state and is written only
 * while the service manager keeps our memfds (the file-descriptor store).
 *
 * The file is a snapshot followed by a journal of changes, one text line
 * each, appended as they happen (so a kill -9 loses nothing that was
 * acknowledged); it is compacted into a fresh snapshot (write a temporary
 * file, rename) when the journal has grown. Lines:
 *
 *   shmbrokerd-state 1                         magic, first line
 *   P <daemon-pid> <state-dir>                  who wrote it
 *   N <next-id>                                 ids below this were used
 *   S <id> <backend> <size> <uid> <gid> <mode-octal> <lifetime> <flags>
 *     <created-usec> <linked> <shmid> <shm-cpid> <creator-pid> <creator-uid>
 *     <creator-start> <name>                    a segment (again: replaces)
 *   H <id> <pid> <uid> <start> <rw> <delta>     opens held by a process change
 *   U <id>                                      the segment lost its name
 *   D <id>                                      the segment is gone
 *   O <pid> <uid> <start> <op-id> <type> <name-hash> <segment-id>
 *                                               an operation record (oplog.h,
 *                                               state-ops.c; again: replaces)
 *
 * A last line without its newline (torn by a crash) is ignored.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "daemon/oplog.h"
#include "daemon/registry.h"
#include "util/hashmap.h"
#include "util/list.h"

#define STATE_MAGIC "shmbrokerd-state 1"

typedef struct StateHold {
        List link;                      /* StateSegment.holds */
        PeerIdentity who;
        bool writable;
        int64_t count;
} StateHold;

typedef struct StateSegment {
        List link;                      /* StateImage.segments */
        HNode node;                     /* StateImage.by_id */
        uint64_t id;
        SegmentParams p;                /* p.name points to name */
        bool linked;
        int shmid;
        pid_t shm_cpid;
        PeerIdentity creator;           /* pid 0: none */
        List holds;                     /* StateHold.link */
        char name[SHMB_NAME_MAX + 1];
} StateSegment;

/* An operation record as read back (see oplog.h). */
typedef struct StateOp {
        List link;                      /* StateImage.ops, in the order last recorded */
        PeerIdentity who;
        uint64_t op_id;
        uint64_t name_hash;
        uint64_t segment_id;
        uint16_t type;
} StateOp;

typedef struct StateImage {
        pid_t daemon_pid;
        char *state_dir;
        uint64_t next_id;
        List segments;                  /* in order of first appearance */
        HMap by_id;
        uint64_t n_segments;
        List ops;                       /* StateOp.link */
        unsigned n_bad;                 /* malformed or torn lines skipped */
} StateImage;

typedef struct StateWriter StateWriter;

int state_path(char **ret, const char *runtime_dir);

int state_read(const char *path, StateImage **ret);
StateImage *state_image_free(StateImage *img);

int state_writer_new(StateWriter **ret, const char *path, const char *state_dir, Registry *r);
StateWriter *state_writer_free(StateWriter *w);
int state_writer_snapshot(StateWriter *w);
void state_writer_maintain(StateWriter *w);
void state_writer_freeze(StateWriter *w);
void state_writer_remove(StateWriter *w);

void state_record_segment(StateWriter *w, Segment *s);
void state_record_unlinked(StateWriter *w, Segment *s);
void state_record_destroyed(StateWriter *w, Segment *s);
void state_record_hold(StateWriter *w, Segment *s, const PeerIdentity *who, bool writable, int64_t delta);

/* Operation records (state-ops.c), written through the same journal. */
void state_writer_set_oplog(StateWriter *w, OpLog *log);
void state_writer_append(StateWriter *w, const char *line, int len);
void state_record_op(StateWriter *w, const OpRecord *rec);
uint64_t state_write_ops(FILE *f, OpLog *log);
int state_parse_op(StateImage *img, const char *line);
void state_image_ops_free(StateImage *img);
