#pragma once

/*
 * Children that run as another uid (forked by test_run_as()) and report
 * why they failed. A child never calls ck_assert(): it returns non-zero
 * after child_fail() wrote its reason into a page shared with the parent,
 * and child_run() in the parent turns that into the test's failure message.
 */

#include <errno.h>
#include <sys/types.h>

/* Record why the child failed; returns 1 (the child's exit status). */
int child_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "EACCES" for EACCES or -EACCES, "success" for 0. */
const char *errno_name(int err);
/* Run @fn as @uid/@gid (no supplementary groups); assert it returned 0, else fail with its reason and @what. */
void child_run(uid_t uid, gid_t gid, int (*fn)(void *userdata), void *userdata, const char *what);

/* In a child: a call returning -1 (or MAP_FAILED) with errno must fail with exactly @err. */
#define CHILD_EXPECT_ERRNO(expr, err, what)                                                             \
        do {                                                                                            \
                long _r;                                                                                \
                errno = 0;                                                                              \
                _r = (long)(expr);                                                                      \
                if (_r != -1 || errno != (err))                                                         \
                        return child_fail("%s: expected %s, got %s", what, errno_name(err),             \
                                          _r == -1 ? errno_name(errno) : "success");                    \
        } while (0)

/* In a child: a call returning 0 or -errno (the library) must return exactly @expected. */
#define CHILD_EXPECT_RET(expr, expected, what)                                                          \
        do {                                                                                            \
                int _r = (expr);                                                                        \
                if (_r != (expected))                                                                   \
                        return child_fail("%s: expected %s, got %s", what, errno_name(expected),        \
                                          errno_name(_r));                                              \
        } while (0)
