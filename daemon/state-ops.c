/*
 * Operation records in the restart state (see state.h for the file and
 * oplog.h for the records): one line each,
 *
 *   O <pid> <uid> <start> <op-id> <type> <name-hash> <segment-id>
 *
 * written to the journal before the change it names is recorded, and with
 * every snapshot. Of two lines of the same (process, op id) the later counts.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "daemon/state.h"
#include "protocol/shmb-proto.h"

#define OP_LINE_MAX 160

static int format_op(char *buf, size_t size, const OpRecord *rec) {
        const PeerIdentity *who = oplog_record_who(rec);

        return snprintf(buf, size, "O %d %u %" PRIu64 " %" PRIu64 " %u %" PRIu64 " %" PRIu64 "\n", (int)who->pid,
                        (unsigned)who->uid, who->start_time, rec->op_id, (unsigned)rec->type, rec->name_hash,
                        rec->segment_id);
}

/**
 * state_record_op() - append an operation record to the journal
 * @w:          writer or NULL
 * @rec:        the record
 */
void state_record_op(StateWriter *w, const OpRecord *rec) {
        char line[OP_LINE_MAX];

        if (w)
                state_writer_append(w, line, format_op(line, sizeof(line), rec));
}

/**
 * state_write_ops() - every operation record, for a snapshot
 * @f:          the snapshot being written
 * @log:        the records, or NULL
 *
 * Return: the number of lines written.
 */
uint64_t state_write_ops(FILE *f, OpLog *log) {
        char line[OP_LINE_MAX];
        const OpRecord *rec;
        uint64_t n = 0;

        if (!log)
                return 0;
        oplog_expire(log);
        oplog_for_each(rec, log) {
                if (format_op(line, sizeof(line), rec) < (int)sizeof(line)) {
                        fputs(line, f);
                        n++;
                }
        }
        return n;
}

/**
 * state_parse_op() - replay an "O" line
 * @img:        the state being read
 * @line:       the line, with its newline
 *
 * Records are kept in file order; of two with the same process and op id
 * the later one counts (oplog_add() replaces, restore.c adds them in
 * order). Segment ids named here count as used, like those of "S" lines.
 *
 * Return: 0, -EBADMSG if malformed, or -ENOMEM.
 */
int state_parse_op(StateImage *img, const char *line) {
        unsigned long long start, op_id, name_hash, segment_id;
        unsigned uid, type;
        int pid, off = -1;
        StateOp *op;

        if (sscanf(line, "O %d %u %llu %llu %u %llu %llu%n", &pid, &uid, &start, &op_id, &type, &name_hash,
                   &segment_id, &off) != 7 ||
            off < 0 || line[off] != '\n' || pid <= 0 || start == 0 || op_id == 0 || segment_id == 0 ||
            type > UINT16_MAX || !proto_type_takes_op_id((uint16_t)type))
                return -EBADMSG;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        *op = (StateOp){
                .who = { .pid = pid, .uid = uid, .start_time = start },
                .op_id = op_id,
                .name_hash = name_hash,
                .segment_id = segment_id,
                .type = (uint16_t)type,
        };
        list_append(&img->ops, &op->link);
        if (segment_id >= img->next_id)
                img->next_id = segment_id + 1;
        return 0;
}

/**
 * state_image_ops_free() - free the operation records of a replayed state
 * @img:        the state
 */
void state_image_ops_free(StateImage *img) {
        list_for_each_safe(l, &img->ops) {
                list_unlink(l);
                free(list_entry(l, StateOp, link));
        }
}
