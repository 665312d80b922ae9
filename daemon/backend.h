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

typedef struct BackendOps {
        const char *name;
        /* Called once at start: reap what a dead instance left, restore what persists. */
        int (*setup)(const BackendConfig *cfg, Registry *r);
        /* Create the object for s->size bytes, sized (and sealed where possible); fill s->obj. */
        int (*create)(Segment *s);
        /* An fd for a holder, owned by the segment (borrowed by the caller); -1 if the backend has none. */
        int (*get_fd)(Segment *s, bool writable, int *ret_fd);
        /* Make the bytes durable (NULL: not supported). */
        int (*sync)(Segment *s);
        /* The segment lost its name but is still held (NULL: nothing to do). */
        void (*unlinked)(Segment *s);
        /* Release the kernel object and fds; safe on a half-created segment. */
        void (*destroy)(Segment *s);
        /* Daemon stop: like destroy, except for what must outlive the daemon (NULL: destroy). */
        void (*detach)(Segment *s);
} BackendOps;

extern const BackendOps backend_memfd_ops;
extern const BackendOps backend_posix_ops;
extern const BackendOps backend_sysv_ops;
extern const BackendOps backend_file_ops;

int backend_setup(const BackendConfig *cfg, Registry *r);
const BackendOps *backend_get(uint8_t backend);
const char *backend_name(uint8_t backend);
int backend_from_string(const char *s);
int backend_huge_page_size(uint64_t *ret);
int backend_reserve(int fd, uint64_t size);
