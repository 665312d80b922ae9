/*
 * Writing the restart state (see state.h for the format).
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/state.h"
#include "util/cleanup.h"

#define COMPACT_MIN 4096        /* journal lines before a compaction is considered */
#define LINE_MAX_LEN (512 + SHMB_NAME_MAX)

struct StateWriter {
        Registry *registry;
        OpLog *ops;                     /* operation records, written after the segments; may be NULL */
        char *path;
        char *tmp_path;
        char *state_dir;
        int fd;                         /* append fd; -1 until the first snapshot, or frozen */
        bool frozen;
        bool failed;                    /* a write failed: take a snapshot at the next chance */
        uint64_t appended;              /* journal lines since the snapshot */
        uint64_t snapshot_lines;
};

/**
 * state_path() - "<runtime-dir>/state"
 * @ret:        allocated path
 * @runtime_dir: directory
 *
 * Return: 0 or -ENOMEM.
 */
int state_path(char **ret, const char *runtime_dir) {
        return asprintf(ret, "%s/state", runtime_dir) < 0 ? -ENOMEM : 0;
}

/**
 * state_writer_new() - prepare to write the state; nothing is written yet
 * @ret:        writer
 * @path:       the state file
 * @state_dir:  recorded in the file, so that only a daemon of this state
 *              directory restores from it
 * @r:          registry to snapshot
 *
 * Return: 0 or -ENOMEM.
 */
int state_writer_new(StateWriter **ret, const char *path, const char *state_dir, Registry *r) {
        StateWriter *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        w->fd = -1;
        w->registry = r;
        w->path = strdup(path);
        w->state_dir = strdup(state_dir);
        if (!w->path || !w->state_dir || asprintf(&w->tmp_path, "%s.tmp", path) < 0) {
                w->tmp_path = NULL;
                return state_writer_free(w), -ENOMEM;
        }
        *ret = w;
        return 0;
}

/**
 * state_writer_free() - close the journal (the file stays)
 * @w:          writer or NULL
 *
 * Return: NULL
 */
StateWriter *state_writer_free(StateWriter *w) {
        if (!w)
                return NULL;
        safe_close(w->fd);
        free(w->path);
        free(w->tmp_path);
        free(w->state_dir);
        free(w);
        return NULL;
}

static const PeerIdentity *segment_creator(const Segment *s) {
        static const PeerIdentity none = {};

        if (s->creator)
                return &s->creator->who;
        if (s->has_pending_creator)
                return &s->pending_creator;
        return &none;
}

static int format_segment(char *buf, size_t size, const Segment *s) {
        const PeerIdentity *c = segment_creator(s);

        return snprintf(buf, size,
                        "S %" PRIu64 " %u %" PRIu64 " %u %u %o %u %u %" PRIu64 " %u %d %d %d %u %" PRIu64
                        " %" PRIu64 " %" PRIu64 " %u %s\n",
                        s->id, s->backend, s->size, (unsigned)s->uid, (unsigned)s->gid, s->mode, s->lifetime,
                        s->flags, s->created_usec, s->linked ? 1u : 0u, s->obj.shmid, (int)s->obj.shm_cpid,
                        (int)c->pid, (unsigned)c->uid, c->start_time, s->max_size, s->charged, s->ttl_sec, s->name);
}

static int format_hold(char *buf, size_t size, uint64_t id, const PeerIdentity *who, bool writable, int64_t delta) {
        return snprintf(buf, size, "H %" PRIu64 " %d %u %" PRIu64 " %u %" PRId64 "\n", id, (int)who->pid,
                        (unsigned)who->uid, who->start_time, writable ? 1u : 0u, delta);
}

/* Every line describing @s as it is now; returns the number of lines. */
static uint64_t write_segment_lines(FILE *f, const Segment *s) {
        char line[LINE_MAX_LEN];
        uint64_t n = 1;

        format_segment(line, sizeof(line), s);
        fputs(line, f);
        list_for_each(l, &s->holds) {
                const Hold *h = list_entry(l, Hold, seg_link);

                format_hold(line, sizeof(line), s->id, &h->set->who, h->writable, (int64_t)h->count);
                fputs(line, f);
                n++;
        }
        list_for_each(l, &s->pending) {
                const PendingHold *p = list_entry(l, PendingHold, seg_link);

                format_hold(line, sizeof(line), s->id, &p->who, p->writable, (int64_t)p->count);
                fputs(line, f);
                n++;
        }
        return n;
}

/**
 * state_writer_snapshot() - write the whole state anew (temporary file, rename)
 * @w:          writer
 *
 * Every segment in the registry counts as recorded afterwards.
 *
 * Return: 0 or negative errno (logged; the next change retries).
 */
int state_writer_snapshot(StateWriter *w) {
        _cleanup_close_ int fd = -1;
        uint64_t lines = 3, next_id = 1;
        FILE *f;
        int r = 0;

        if (w->frozen)
                return 0;
        fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
                r = -errno;
                goto fail;
        }
        f = fdopen(fd, "we");
        if (!f) {
                r = -errno;
                goto fail;
        }
        fd = -1;
        for (Segment *s = registry_first_after(w->registry, 0); s; s = registry_next(w->registry, s))
                next_id = s->id + 1;
        fprintf(f, STATE_MAGIC "\nP %d %s\nN %" PRIu64 "\n", (int)getpid(), w->state_dir, next_id);
        for (Segment *s = registry_first_after(w->registry, 0); s; s = registry_next(w->registry, s)) {
                lines += write_segment_lines(f, s);
                s->recorded = true;
        }
        lines += state_write_ops(f, w->ops);
        if (fflush(f) != 0 || ferror(f)) {
                r = -errno ?: -EIO;
                fclose(f);
                goto fail;
        }
        fclose(f);
        if (rename(w->tmp_path, w->path) < 0) {
                r = -errno;
                goto fail;
        }
        safe_close(w->fd);
        w->fd = open(w->path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (w->fd < 0) {
                r = -errno;
                goto fail;
        }
        if (w->failed)
                log_info("Restart state is written again to %s", w->path);
        w->failed = false;
        w->appended = 0;
        w->snapshot_lines = lines;
        return 0;

fail:
        (void)unlink(w->tmp_path);
        if (!w->failed)
                log_warning_errno(r, "Cannot write the restart state %s: %m; retrying at the next change", w->path);
        w->failed = true;
        return r;
}

/**
 * state_writer_maintain() - between loop iterations: retry after a failure, compact a long journal
 * @w:          writer or NULL
 */
void state_writer_maintain(StateWriter *w) {
        if (!w || w->frozen)
                return;
        if (w->failed || (w->appended > COMPACT_MIN && w->appended > 4 * w->snapshot_lines))
                (void)state_writer_snapshot(w);
}

/**
 * state_writer_append() - append one line to the journal
 * @w:          writer
 * @line:       the line, newline included
 * @len:        its length (snprintf()'s result: a truncated line is not written)
 *
 * A failed write is logged, and the next chance writes a snapshot instead.
 */
void state_writer_append(StateWriter *w, const char *line, int len) {
        ssize_t n;

        if (w->frozen || w->failed || w->fd < 0 || len <= 0 || len >= LINE_MAX_LEN)
                return;
        n = write(w->fd, line, (size_t)len);
        if (n != len) {
                log_warning_errno(n < 0 ? errno : EIO, "Cannot append to the restart state %s: %m; "
                                  "writing it anew", w->path);
                w->failed = true;
                return;
        }
        w->appended++;
}

/**
 * state_writer_set_oplog() - the operation records a snapshot also writes
 * @w:          writer or NULL
 * @log:        the records
 */
void state_writer_set_oplog(StateWriter *w, OpLog *log) {
        if (w)
                w->ops = log;
}

/**
 * state_record_segment() - a segment is complete (its kernel object exists)
 * @w:          writer or NULL
 * @s:          segment, with the holds it has now
 */
void state_record_segment(StateWriter *w, Segment *s) {
        char line[LINE_MAX_LEN];

        if (!w || w->frozen)
                return;
        s->recorded = true;
        state_writer_append(w, line, format_segment(line, sizeof(line), s));
        list_for_each(l, &s->holds) {
                const Hold *h = list_entry(l, Hold, seg_link);

                state_writer_append(w, line, format_hold(line, sizeof(line), s->id, &h->set->who, h->writable,
                                                 (int64_t)h->count));
        }
}

/**
 * state_record_unlinked() - a recorded segment lost its name
 * @w:          writer or NULL
 * @s:          segment
 */
void state_record_unlinked(StateWriter *w, Segment *s) {
        char line[64];

        if (w && s->recorded)
                state_writer_append(w, line, snprintf(line, sizeof(line), "U %" PRIu64 "\n", s->id));
}

/**
 * state_record_destroyed() - a recorded segment is gone
 * @w:          writer or NULL
 * @s:          segment
 */
void state_record_destroyed(StateWriter *w, Segment *s) {
        char line[64];

        if (w && s->recorded)
                state_writer_append(w, line, snprintf(line, sizeof(line), "D %" PRIu64 "\n", s->id));
}

/**
 * state_record_hold() - opens of a process on a recorded segment changed
 * @w:          writer or NULL
 * @s:          segment
 * @who:        the process
 * @writable:   access of the opens
 * @delta:      change in their number
 */
void state_record_hold(StateWriter *w, Segment *s, const PeerIdentity *who, bool writable, int64_t delta) {
        char line[LINE_MAX_LEN];

        if (w && s->recorded)
                state_writer_append(w, line, format_hold(line, sizeof(line), s->id, who, writable, delta));
}

/**
 * state_writer_freeze() - stop writing: what follows is the daemon letting go
 * @w:          writer or NULL
 *
 * Connections closing and segments being released at stop must not be
 * recorded: the next instance is to find the state as it was while serving.
 */
void state_writer_freeze(StateWriter *w) {
        if (!w)
                return;
        w->frozen = true;
        w->fd = safe_close(w->fd);
}

/**
 * state_writer_remove() - delete the state file (after everything was destroyed)
 * @w:          writer or NULL
 */
void state_writer_remove(StateWriter *w) {
        if (!w)
                return;
        state_writer_freeze(w);
        if (unlink(w->path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Cannot remove %s: %m, ignoring", w->path);
        (void)unlink(w->tmp_path);
}
