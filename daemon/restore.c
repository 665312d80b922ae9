/*
 * Start-up after a restart: read the restart state, bring every recorded
 * segment back under its old id with its kernel object (memfds from the
 * file-descriptor store, POSIX objects by name, System V ids re-checked,
 * files reopened), turn the recorded holds of processes still alive into
 * pending holds, then let the backends reap what nothing claims. Ends with
 * one log line saying what was kept and what was not.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/restore.h"
#include "daemon/state.h"
#include "util/cleanup.h"
#include "util/procfs.h"

typedef struct RestoreStats {
        unsigned restored[_PROTO_BACKEND_MAX];
        unsigned dropped;
        uint64_t pending;
        uint64_t gone_holders;
} RestoreStats;

/* Whether the process recorded as @who still runs (same pid, same start time). */
static bool process_alive(const PeerIdentity *who) {
        uint64_t start;

        return who->start_time != 0 && procfs_start_time(who->pid, &start) >= 0 && start == who->start_time;
}

static const char *restore_error(int r) {
        switch (r) {
        case -ENOENT:
                return "its kernel object is gone";
        case -EBADFD:
                return "its kernel object is not what was recorded";
        default:
                return strerror(-r);
        }
}

static void restore_segment(Manager *m, const StateSegment *rec, RestoreStats *st) {
        const BackendOps *ops = backend_get(rec->p.backend);
        Segment *s;
        int fd = -1, r;

        if (rec->p.backend == PROTO_BACKEND_MEMFD)
                fd = fdstore_take_segment(&m->fdstore, rec->id);
        if (!ops || !ops->restore) {
                log_warning("Cannot restore segment '%s' (id %llu): the %s backend is disabled", rec->name,
                            (unsigned long long)rec->id, backend_name(rec->p.backend));
                if (fd >= 0)
                        fdstore_remove(&m->fdstore, rec->id);
                safe_close(fd);
                st->dropped++;
                return;
        }
        if (rec->p.backend == PROTO_BACKEND_MEMFD && fd < 0) {
                log_warning("Cannot restore segment '%s' (id %llu): its memfd is not in the file-descriptor store",
                            rec->name, (unsigned long long)rec->id);
                st->dropped++;
                return;
        }
        r = registry_restore(m->registry, &rec->p, rec->id, rec->linked, &s);
        if (r != 0) {
                log_warning("Cannot restore segment '%s' (id %llu): %s", rec->name, (unsigned long long)rec->id,
                            r < 0 ? strerror(-r) : "its id or name is taken");
                if (fd >= 0)
                        fdstore_remove(&m->fdstore, rec->id);
                safe_close(fd);
                st->dropped++;
                return;
        }
        s->obj.shmid = rec->shmid;
        s->obj.shm_cpid = rec->shm_cpid;
        r = ops->restore(s, fd);
        if (r < 0) {
                log_warning("Cannot restore %s segment '%s' (id %llu): %s", backend_name(rec->p.backend), rec->name,
                            (unsigned long long)rec->id, restore_error(r));
                registry_discard(m->registry, s);
                if (rec->p.backend == PROTO_BACKEND_MEMFD)
                        fdstore_remove(&m->fdstore, rec->id);
                st->dropped++;
                return;
        }
        list_for_each(l, &rec->holds) {
                const StateHold *h = list_entry(l, StateHold, link);

                if (!process_alive(&h->who)) {
                        st->gone_holders++;
                        continue;
                }
                if (registry_add_pending(m->registry, s, &h->who, h->writable, (uint64_t)h->count) < 0) {
                        log_warning("Out of memory restoring the holds of '%s'; they are dropped", rec->name);
                        break;
                }
                st->pending++;
        }
        if (rec->creator.pid > 0 && rec->linked && rec->p.lifetime == PROTO_LIFETIME_CREATOR &&
            process_alive(&rec->creator))
                registry_set_pending_creator(m->registry, s, &rec->creator);
        st->restored[rec->p.backend]++;
}

/*
 * The operation records of processes still running, so that a request they
 * send again is recognised. A record of a CREATE, RESIZE or PUBLISH whose
 * segment did not come back names nothing any more: such a request is
 * carried out anew. UNLINK records stay: the name they took is gone either way.
 */
static void restore_ops(Manager *m, const StateImage *img) {
        list_for_each(l, &img->ops) {
                const StateOp *op = list_entry(l, StateOp, link);

                if (!process_alive(&op->who))
                        continue;
                if (op->type != SHMB_MSG_UNLINK && !registry_find_id(m->registry, op->segment_id))
                        continue;
                if (oplog_add(&m->oplog, &op->who, op->op_id, op->type, op->name_hash, op->segment_id, NULL) < 0) {
                        log_warning("Out of memory restoring operation records; the rest are dropped");
                        break;
                }
        }
        if (m->oplog.n_records > 0)
                log_info("Kept %llu operation records of running clients: requests they send again are "
                         "recognised", (unsigned long long)m->oplog.n_records);
}

/* Read <runtime-dir>/state if it is ours; NULL if there is none to use. */
static StateImage *state_load(Manager *m, const char *path) {
        StateImage *img = NULL;
        int r;

        r = state_read(path, &img);
        if (r == -ENOENT)
                return NULL;
        if (r < 0) {
                log_warning_errno(r, "Cannot read the restart state %s: %m; ignoring it", path);
                return NULL;
        }
        if (!img->state_dir || strcmp(img->state_dir, m->cfg.state_dir) != 0) {
                log_warning("Restart state %s belongs to a daemon with state directory '%s', not '%s'; ignoring it",
                            path, img->state_dir ? img->state_dir : "?", m->cfg.state_dir);
                return state_image_free(img);
        }
        if (img->n_bad > 0)
                log_warning("Restart state %s: skipped %u malformed or incomplete lines", path, img->n_bad);
        return img;
}

static void log_summary(Manager *m, const StateImage *img, const RestoreStats *st, const BackendReapStats *rs,
                        size_t stray_fds) {
        unsigned restored = 0;

        for (size_t i = 0; i < _PROTO_BACKEND_MAX; i++)
                restored += st->restored[i];
        if (img)
                log_info("Restored %u of %llu segments of shmbrokerd pid %d (memfd %u, posix %u, sysv %u, file %u); "
                         "%llu holds await their owners for %llu s, %llu holders are gone; dropped %u segments "
                         "and %zu stray stored fds; removed leftovers: posix %u, sysv %u, file %u",
                         restored, (unsigned long long)img->n_segments, (int)img->daemon_pid,
                         st->restored[PROTO_BACKEND_MEMFD], st->restored[PROTO_BACKEND_POSIX],
                         st->restored[PROTO_BACKEND_SYSV], st->restored[PROTO_BACKEND_FILE],
                         (unsigned long long)st->pending, (unsigned long long)m->cfg.reclaim_grace_sec,
                         (unsigned long long)st->gone_holders, st->dropped, stray_fds,
                         rs->removed[PROTO_BACKEND_POSIX], rs->removed[PROTO_BACKEND_SYSV],
                         rs->removed[PROTO_BACKEND_FILE]);
        else if (rs->restored_files + rs->removed[PROTO_BACKEND_POSIX] + rs->removed[PROTO_BACKEND_SYSV] +
                 rs->removed[PROTO_BACKEND_FILE] > 0)
                log_info("Without restart state: kept %u persistent file segment%s, removed %u POSIX, %u System V "
                         "and %u file leftovers", rs->restored_files, rs->restored_files == 1 ? "" : "s",
                         rs->removed[PROTO_BACKEND_POSIX], rs->removed[PROTO_BACKEND_SYSV],
                         rs->removed[PROTO_BACKEND_FILE]);
        /* Under a service manager a restart could keep memfd segments, but only with a store. */
        if (!m->fdstore.enabled && getenv("NOTIFY_SOCKET"))
                log_info("No file-descriptor store (FileDescriptorStoreMax=): segments end with this instance");
}

/**
 * restore_run() - restore, reap, and start recording the restart state
 * @m:          manager, listening, with backends set up
 *
 * Without a state file this is the old start-up: POSIX and System V
 * leftovers reaped, persistent file segments restored, memfds lost.
 *
 * Return: 0 or negative errno (logged).
 */
int restore_run(Manager *m) {
        BackendConfig bc = { .state_dir = m->cfg.state_dir, .enabled = m->cfg.backends };
        _cleanup_free_ char *path = NULL;
        BackendReapStats rs = {};
        RestoreStats st = {};
        StateImage *img;
        size_t stray;
        int r;

        r = state_path(&path, m->cfg.runtime_dir);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        img = state_load(m, path);
        if (img) {
                list_for_each(l, &img->segments)
                        restore_segment(m, list_entry(l, StateSegment, link), &st);
                registry_reserve_ids(m->registry, img->next_id);
                restore_ops(m, img);
        }
        stray = fdstore_drop_unclaimed(&m->fdstore);
        r = backend_reap(&bc, m->registry, &rs);
        if (r < 0) {
                state_image_free(img);
                return r;
        }
        log_summary(m, img, &st, &rs, stray);
        if (img)
                manager_start_grace(m);
        img = state_image_free(img);

        if (!m->fdstore.enabled) {
                if (unlink(path) == 0)
                        log_info("Removed %s: without a file-descriptor store no restart state is kept", path);
                return 0;
        }
        if (mkdir(m->cfg.runtime_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Cannot create runtime directory '%s': %m", m->cfg.runtime_dir);
        r = state_writer_new(&m->state, path, m->cfg.state_dir, m->registry);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        state_writer_set_oplog(m->state, &m->oplog);
        if (state_writer_snapshot(m->state) < 0)
                return 0; /* logged; retried at the next change */
        log_info("Restart state is kept in %s; memfd segments are kept by the service manager", path);
        return 0;
}
