#pragma once

/*
 * Holder processes for integration tests: a forked child with its own name
 * (prctl), optionally its own uid/gid, that connects to the daemon through
 * libshmbroker, creates or opens segments, maps them, and then does what
 * the test asks over a pipe: read its mapping back, open or stat a name
 * again, release, or quit.
 */

#include <stdint.h>
#include <sys/types.h>

#include "tests/integration/util-daemon.h"

typedef struct TestHolder {
        pid_t pid;
        int cmd_fd;             /* parent -> child */
        int res_fd;             /* child -> parent */
} TestHolder;

/*
 * Start a holder named @comm. If @uid is not (uid_t)-1 the child switches to
 * @uid/@gid (no supplementary groups) before connecting. @ops, NULL-terminated:
 *   "c:NAME:SIZE:MODE"  create (persistent, octal MODE), write NAME at offset 0
 *   "h:NAME:SIZE:MODE"  the same with lifetime "holders"
 *   "o:NAME"            open read-write
 *   "r:NAME"            open read-only
 * Every segment is mapped. Asserts that all of them succeeded.
 */
void test_holder_start(TestHolder *h, const TestDaemon *d, const char *comm, uid_t uid, gid_t gid,
                       const char *const *ops);

/*
 * Ask the holder something; returns its answer:
 *   'm' NAME  1 if its mapping of NAME still starts with the bytes of NAME, else 0
 *   'o' NAME  shmb_open(NAME, read-only) then release: 0 or negative errno
 *   's' NAME  shmb_stat(NAME): 0 or negative errno (a dropped connection shows here)
 *   'l' NAME  shmb_segment_release() of its hold on NAME: 0 or negative errno
 */
int test_holder_ask(TestHolder *h, char cmd, const char *name);

/* Tell the holder to quit and reap it; asserts a clean exit. */
void test_holder_stop(TestHolder *h);
