#pragma once

/*
 * Backends create the kernel object behind a segment and hand out fds.
 * All sit behind one ops table; a backend not built or not enabled is
 * absent (backend_get() returns NULL).
 */

#include <stdbool.h>
#include <stdint.h>

typedef struct Segment Segment;

typedef struct BackendOps {
        const char *name;
        /* Create the object for s->size bytes, sized and sealed; fill s->obj. */
        int (*create)(Segment *s);
        /* An fd for a holder, owned by the segment (borrowed by the caller). */
        int (*get_fd)(Segment *s, bool writable, int *ret_fd);
        /* Release the kernel object and fds; safe on a half-created segment. */
        void (*destroy)(Segment *s);
} BackendOps;

extern const BackendOps backend_memfd_ops;

const BackendOps *backend_get(uint8_t backend);
const char *backend_name(uint8_t backend);
int backend_from_string(const char *s);
