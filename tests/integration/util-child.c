/*
 * Children as other uids (see util-child.h).
 */

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/integration/util-child.h"
#include "tests/integration/util-daemon.h"

#define CHILD_MSG_SIZE 1024

static char *child_msg;

int child_fail(const char *fmt, ...) {
        va_list ap;

        if (!child_msg)
                return 1;
        va_start(ap, fmt);
        vsnprintf(child_msg, CHILD_MSG_SIZE, fmt, ap);
        va_end(ap);
        return 1;
}

const char *errno_name(int err) {
        const char *s;

        if (err == 0)
                return "success";
        s = strerrorname_np(err < 0 ? -err : err);
        return s ? s : "an unknown errno";
}

void child_run(uid_t uid, gid_t gid, int (*fn)(void *userdata), void *userdata, const char *what) {
        int status;

        if (!child_msg) {
                child_msg = mmap(NULL, CHILD_MSG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                ck_assert_msg(child_msg != MAP_FAILED, "mmap of the child message page failed: %m");
        }
        child_msg[0] = 0;
        status = test_run_as(uid, gid, fn, userdata);
        ck_assert_msg(status != 99, "%s: the child could not switch to uid %u gid %u", what, (unsigned)uid,
                      (unsigned)gid);
        ck_assert_msg(status == 0, "%s (as uid %u): %s", what, (unsigned)uid,
                      child_msg[0] ? child_msg : "failed without saying why");
}
