/*
 * System V backend. shmget(IPC_PRIVATE); the reply carries the shmid and the
 * client attaches it. The kernel object's owner, group and mode are set to
 * the segment's, so the kernel enforces the same access as the broker; its
 * creator (cuid) stays the daemon. The daemon removes (IPC_RMID) each
 * segment when its lifetime ends and at stop.
 *
 * The kernel keeps a System V segment until someone removes it, so every id
 * the daemon creates is first written to a journal in the state directory
 * and made durable before the client learns it. At start the journal of a
 * dead instance is replayed: each recorded id is removed only if it still
 * names a segment created by our uid, by the recorded pid, of the recorded
 * size (ids are reused, so a record alone proves nothing).
 *
 * The journal also names the instance's pid: while that pid is free, every
 * private segment our uid made from it goes too (an instance killed between
 * shmget() and the record left one that no record names).
 *
 * Across a restart under systemd the segments stay: the restart state lists
 * each one's shmid and creator pid, restore() checks them the same way, and
 * reap() removes only what no restored segment claims.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/log.h"
#include "daemon/registry.h"
#include "util/cleanup.h"

#define JOURNAL_NAME "sysv-segments"
#define JOURNAL_COMPACT_MIN 4096

typedef struct OldEntry {
        int id;
        pid_t cpid;
        uint64_t size;
        bool claimed;
} OldEntry;

static int journal_fd = -1;
static int state_dir_fd = -1;
static Registry *sysv_registry;
static uint64_t journal_records;
static uint64_t live_segments;
static OldEntry *old_entries;           /* the previous instance's journal, between setup and reap */
static size_t n_old_entries;
static pid_t old_instance;              /* the previous instance's pid ("= PID" in its journal) */

static int journal_write(const char *line, bool durable) {
        size_t len = strlen(line);
        ssize_t n;

        if (journal_fd < 0)
                return -EBADF;
        n = write(journal_fd, line, len);
        if (n < 0)
                return -errno;
        if ((size_t)n != len)
                return -EIO;
        journal_records++;
        if (durable && fdatasync(journal_fd) < 0)
                return -errno;
        return 0;
}

/* Whether @id still names a segment this daemon uid made from @cpid with @size bytes. */
static bool segment_is_ours(int id, pid_t cpid, uint64_t size) {
        struct shmid_ds ds;

        if (shmctl(id, IPC_STAT, &ds) < 0)
                return false;
        return ds.shm_perm.cuid == geteuid() && ds.shm_cpid == cpid && (uint64_t)ds.shm_segsz == size &&
               ds.shm_perm.__key == IPC_PRIVATE;
}

/* Read the previous instance's journal: "= pid" names it, "+ id cpid size" adds, "- id" removes. */
static int journal_load(FILE *f) {
        char line[128];
        size_t cap = 0;

        while (fgets(line, sizeof(line), f)) {
                unsigned long long size;
                int id, cpid;

                if (sscanf(line, "= %d", &cpid) == 1) {
                        old_instance = (pid_t)cpid;
                        continue;
                }
                if (sscanf(line, "- %d", &id) == 1) {
                        for (size_t i = 0; i < n_old_entries; i++)
                                if (old_entries[i].id == id)
                                        old_entries[i].id = -1;
                        continue;
                }
                if (sscanf(line, "+ %d %d %llu", &id, &cpid, &size) != 3 || id < 0)
                        continue;
                if (n_old_entries == cap) {
                        size_t ncap = cap ? cap * 2 : 64;
                        OldEntry *n = realloc(old_entries, ncap * sizeof(*n));

                        if (!n)
                                return -ENOMEM;
                        old_entries = n;
                        cap = ncap;
                }
                old_entries[n_old_entries++] = (OldEntry){ .id = id, .cpid = cpid, .size = size };
        }
        return 0;
}

/* Rewrite the journal with only the live segments (atomically, durably). */
static int journal_compact(void) {
        _cleanup_close_ int fd = -1;
        FILE *f;

        fd = openat(state_dir_fd, JOURNAL_NAME ".new", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "we");
        if (!f)
                return -errno;
        fd = -1;
        journal_records = 0;
        /* Who we are, durably before any segment: the next instance reaps by it what the records miss. */
        fprintf(f, "= %d\n", (int)getpid());
        for (Segment *s = registry_first_after(sysv_registry, 0); s; s = registry_next(sysv_registry, s)) {
                if (s->backend != PROTO_BACKEND_SYSV || s->obj.shmid < 0)
                        continue;
                fprintf(f, "+ %d %d %llu\n", s->obj.shmid, (int)s->obj.shm_cpid, (unsigned long long)s->size);
                journal_records++;
        }
        if (fflush(f) != 0 || fdatasync(fileno(f)) < 0) {
                int r = -errno;

                fclose(f);
                return r;
        }
        fclose(f);
        if (renameat(state_dir_fd, JOURNAL_NAME ".new", state_dir_fd, JOURNAL_NAME) < 0)
                return -errno;
        (void)fsync(state_dir_fd);
        journal_fd = safe_close(journal_fd);
        journal_fd = openat(state_dir_fd, JOURNAL_NAME, O_WRONLY | O_APPEND | O_CLOEXEC);
        return journal_fd < 0 ? -errno : 0;
}

static int sysv_setup(const BackendConfig *cfg, Registry *r) {
        FILE *f;
        int fd, ret;

        sysv_registry = r;
        state_dir_fd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state_dir_fd < 0)
                return log_error_errno(errno, "Cannot open state directory '%s': %m", cfg->state_dir);
        fd = openat(state_dir_fd, JOURNAL_NAME, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Cannot read %s/%s: %m", cfg->state_dir,
                                                               JOURNAL_NAME);
        f = fdopen(fd, "re");
        if (!f) {
                safe_close(fd);
                return -errno;
        }
        ret = journal_load(f);
        fclose(f);
        return ret;
}

/* The recorded id must still name our segment with the recorded owner and mode. */
static int sysv_restore(Segment *s, int fd) {
        uint32_t mode = (s->flags & PROTO_SEG_PUBLISHED) ? s->mode & ~0222u : s->mode; /* see sysv_publish() */
        struct shmid_ds ds;

        safe_close(fd);
        if (s->obj.shmid < 0 || !segment_is_ours(s->obj.shmid, s->obj.shm_cpid, s->size) ||
            shmctl(s->obj.shmid, IPC_STAT, &ds) < 0 || ds.shm_perm.uid != s->uid ||
            (ds.shm_perm.mode & 0777) != mode) {
                s->obj.shmid = -1;
                return -ENOENT;
        }
        for (size_t i = 0; i < n_old_entries; i++)
                if (old_entries[i].id == s->obj.shmid)
                        old_entries[i].claimed = true;
        live_segments++;
        return 0;
}

static bool old_entry_claimed(int id) {
        for (size_t i = 0; i < n_old_entries; i++)
                if (old_entries[i].id == id && old_entries[i].claimed)
                        return true;
        return false;
}

/*
 * Every segment the dead instance @cpid made that no restored segment
 * claims, recorded or not: one killed between shmget() and its journal
 * record left one the records miss. Only while @cpid is free: a live
 * process with that pid is someone else.
 */
static unsigned reap_instance(pid_t cpid) {
        struct shm_info info;
        unsigned n = 0;
        int max;

        if (cpid <= 0 || cpid == getpid() || kill(cpid, 0) == 0 || errno != ESRCH)
                return 0;
        max = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info);
        for (int i = 0; i <= max; i++) {
                struct shmid_ds ds = {}; /* valgrind 3.19 does not know that SHM_STAT_ANY fills it */
                int id = shmctl(i, SHM_STAT_ANY, &ds);

                if (id >= 0 && ds.shm_cpid == cpid && ds.shm_perm.cuid == geteuid() &&
                    ds.shm_perm.__key == IPC_PRIVATE && !old_entry_claimed(id) && shmctl(id, IPC_RMID, NULL) == 0)
                        n++;
        }
        return n;
}

/* Remove what the old journal lists and no segment claims; start a new journal. */
static int sysv_reap(const BackendConfig *cfg, Registry *r, BackendReapStats *stats) {
        int ret;

        for (size_t i = 0; i < n_old_entries; i++) {
                OldEntry *e = &old_entries[i];

                if (e->id >= 0 && !e->claimed && segment_is_ours(e->id, e->cpid, e->size) &&
                    shmctl(e->id, IPC_RMID, NULL) == 0)
                        stats->removed[PROTO_BACKEND_SYSV]++;
        }
        stats->removed[PROTO_BACKEND_SYSV] += reap_instance(old_instance);
        old_instance = 0;
        free(old_entries);
        old_entries = NULL;
        n_old_entries = 0;
        ret = journal_compact();
        if (ret < 0)
                return log_error_errno(ret, "Cannot write %s/%s: %m", cfg->state_dir, JOURNAL_NAME);
        return 0;
}

static int sysv_create(Segment *s) {
        struct shmid_ds ds;
        char line[128];
        int id, flags = IPC_CREAT | IPC_EXCL | 0600, r;

        if (s->flags & PROTO_SEG_RESERVED)
                return -EOPNOTSUPP;
        if (s->flags & PROTO_SEG_HUGE)
                flags |= SHM_HUGETLB;
        if (s->size > SIZE_MAX)
                return -EFBIG;
        id = shmget(IPC_PRIVATE, (size_t)s->size, flags);
        if (id < 0)
                return -errno;
        /* Durable before anyone but us knows the id. */
        snprintf(line, sizeof(line), "+ %d %d %llu\n", id, (int)getpid(), (unsigned long long)s->size);
        r = journal_write(line, true);
        if (r < 0) {
                (void)shmctl(id, IPC_RMID, NULL);
                return r;
        }
        s->obj.shmid = id;
        s->obj.shm_cpid = getpid();
        live_segments++;
        memset(&ds, 0, sizeof(ds));
        ds.shm_perm.uid = s->uid;
        ds.shm_perm.gid = s->gid;
        ds.shm_perm.mode = (unsigned short)s->mode;
        if (shmctl(id, IPC_SET, &ds) < 0)
                return -errno;
        return 0;
}

/* New attaches can no longer be read-write; existing ones keep writing (System V has no seals). */
static int sysv_publish(Segment *s, bool *ret_frozen) {
        struct shmid_ds ds = {};

        ds.shm_perm.uid = s->uid;
        ds.shm_perm.gid = s->gid;
        ds.shm_perm.mode = (unsigned short)(s->mode & ~0222u);
        *ret_frozen = false;
        return shmctl(s->obj.shmid, IPC_SET, &ds) < 0 ? -errno : 0;
}

static int sysv_get_fd(Segment *s, bool writable, int *ret_fd) {
        if (s->obj.shmid < 0)
                return -EBADF;
        *ret_fd = -1;
        return 0;
}

static void sysv_destroy(Segment *s) {
        char line[64];

        if (s->obj.shmid < 0)
                return;
        /* The owner may have removed it already, and the id may then be someone else's. */
        if (segment_is_ours(s->obj.shmid, s->obj.shm_cpid, s->size) && shmctl(s->obj.shmid, IPC_RMID, NULL) < 0)
                log_warning_errno(errno, "Failed to remove System V segment %d: %m, ignoring", s->obj.shmid);
        snprintf(line, sizeof(line), "- %d\n", s->obj.shmid);
        (void)journal_write(line, false);
        s->obj.shmid = -1;
        live_segments--;
        if (journal_records > JOURNAL_COMPACT_MIN && journal_records > 4 * live_segments) {
                int r = journal_compact();

                if (r < 0)
                        log_warning_errno(r, "Failed to compact the System V journal: %m, ignoring");
        }
}

/* Restart: the segment stays, and so does its journal entry. */
static void sysv_keep(Segment *s) {
        if (s->obj.shmid < 0)
                return;
        s->obj.shmid = -1;
        live_segments--;
}

const BackendOps backend_sysv_ops = {
        .name = "sysv",
        .setup = sysv_setup,
        .restore = sysv_restore,
        .reap = sysv_reap,
        .keep = sysv_keep,
        .create = sysv_create,
        .get_fd = sysv_get_fd,
        .publish = sysv_publish,
        .destroy = sysv_destroy,
};
