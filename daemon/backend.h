#pragma once

/*
 * Backends create the kernel object behind a segment and hand out fds (or,
 * for System V, the shmid). All sit behind one ops table; a backend that is
 * disabled is absent (backend_get() returns NULL).
 */

#include <stdbool.h>
#include <stdint.h>

typedef struct Registry Registry;
typedef struct Segment Segment;

typedef struct BackendConfig {
        const char *state_dir;          /* file segments, System V journal */
        unsigned enabled;               /* 1 << PROTO_BACKEND_* */
} BackendConfig;

/* What the start-up found of a previous instance, for one summary line. */
typedef struct BackendReapStats {
        unsigned removed[5];            /* leftovers removed, by PROTO_BACKEND_* */
        unsigned restored_files;        /* persistent file segments registered from their metadata */
} BackendReapStats;

/*
 * Start-up runs setup() of every backend, then restore() for each segment
 * the restart state lists, then reap() of every backend, which removes only
 * what no segment claims.
 */
typedef struct BackendOps {
        const char *name;
        /* Called once at start, before any restore: open directories and journals (NULL: nothing). */
        int (*setup)(const BackendConfig *cfg, Registry *r);
        /*
         * Find the kernel object of a segment recorded before a restart: @fd
         * is its stored memfd (owned by the callee), else -1; s->obj.shmid and
         * shm_cpid are as recorded. Fills s->obj, or leaves every field -1 and
         * returns negative errno (NULL: not restorable).
         */
        int (*restore)(Segment *s, int fd);
        /* After restores: remove leftovers no segment claims, register what persists on its own (NULL: none). */
        int (*reap)(const BackendConfig *cfg, Registry *r, BackendReapStats *stats);
        /* Create the object for s->size bytes, sized (and sealed where possible); fill s->obj. */
        int (*create)(Segment *s);
        /* An fd for a holder, owned by the segment (borrowed by the caller); -1 if the backend has none. */
        int (*get_fd)(Segment *s, bool writable, int *ret_fd);
        /* Make the bytes durable (NULL: not supported). */
        int (*sync)(Segment *s);
        /* Grow to @size (NULL: cannot grow in place). */
        int (*resize)(Segment *s, uint64_t size);
        /* Make immutable as far as the object allows; *ret_frozen: even existing mappings can't write. */
        int (*publish)(Segment *s, bool *ret_frozen);
        /* The segment lost its name but is still held (NULL: nothing to do). */
        void (*unlinked)(Segment *s);
        /* Release the kernel object and fds; safe on a half-created segment. */
        void (*destroy)(Segment *s);
        /* Daemon stop: like destroy, except for what must outlive the daemon (NULL: destroy). */
        void (*detach)(Segment *s);
        /* Daemon stop for a restart: let go of the object but leave it for the next instance (NULL: nothing). */
        void (*keep)(Segment *s);
} BackendOps;

extern const BackendOps backend_memfd_ops;
extern const BackendOps backend_posix_ops;
extern const BackendOps backend_sysv_ops;
extern const BackendOps backend_file_ops;

int backend_setup(const BackendConfig *cfg, Registry *r);
int backend_reap(const BackendConfig *cfg, Registry *r, BackendReapStats *stats);
void backend_close_fds(Segment *s);
const BackendOps *backend_get(uint8_t backend);
const char *backend_name(uint8_t backend);
int backend_from_string(const char *s);
int backend_huge_page_size(uint64_t *ret);
int backend_reserve(int fd, uint64_t size);
int backend_grow_fd(int fd, uint64_t old_size, uint64_t size, bool reserve);
