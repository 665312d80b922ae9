#pragma once

/*
 * Scope-bound cleanup helpers: _cleanup_free_, _cleanup_close_, TAKE_PTR(),
 * TAKE_FD() and DEFINE_CLEANUP() for module destructors.
 */

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p) {
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* close() that preserves errno and ignores -1; returns -1 for "fd = safe_close(fd)". */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void)close(fd);
                errno = saved;
        }
        return -1;
}

static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Define a cleanup helper for a function "Foo *f(Foo *)" returning NULL. */
#define DEFINE_CLEANUP(type, func)                      \
        static inline void func##p(type *p) {          \
                if (*p)                                 \
                        (void)func(*p);                 \
        }

#define TAKE_PTR(p)                              \
        ({                                       \
                __typeof__(p) _tmp_ = (p);       \
                (p) = NULL;                      \
                _tmp_;                           \
        })

#define TAKE_FD(fd)                  \
        ({                           \
                int _tmp_ = (fd);    \
                (fd) = -1;           \
                _tmp_;               \
        })
