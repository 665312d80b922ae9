/*
 * Security of segments handed out by a real shmbrokerd: what a read-only fd
 * refuses, that nobody can resize a segment under a reader, the mode bits
 * across uids and groups, and that a client's identity is the kernel's.
 *
 * Other uids run in children made by test_run_as(). Children never call
 * ck_assert (it would report from the wrong process): they return non-zero
 * after writing what went wrong into a shared page the parent reports.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"
#include "tests/integration/util-daemon.h"

#define NOBODY 65534
#define OTHER_UID 1234
#define OTHER_GID 4321
#define SEG_SIZE 16384
#define CHILD_MSG_SIZE 1024

typedef struct ChildArgs {
        const char *socket;
        const char *name;
        uint64_t size;
        uint32_t mode;
        uint8_t pattern;
} ChildArgs;

/* Shared with the children: why a child failed. */
static char *child_msg;

static const char *errname(int err) {
        const char *s;

        if (err == 0)
                return "success";
        s = strerrorname_np(err < 0 ? -err : err);
        return s ? s : "unknown errno";
}

__attribute__((format(printf, 1, 2))) static int child_fail(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(child_msg, CHILD_MSG_SIZE, fmt, ap);
        va_end(ap);
        return 1;
}

/* In a child: a syscall returning -1/errno must fail with exactly @err. */
#define CHILD_EXPECT_ERRNO(expr, err, what)                                                              \
        do {                                                                                             \
                long _r;                                                                                 \
                errno = 0;                                                                               \
                _r = (long)(expr);                                                                       \
                if (_r != -1 || errno != (err))                                                          \
                        return child_fail("%s: expected %s, got %s (returned %ld)", what, errname(err), \
                                          _r == -1 ? errname(errno) : "success", _r);                    \
        } while (0)

/* In a child: a library call must return exactly @expected (0 or -errno). */
#define CHILD_EXPECT_RET(expr, expected, what, client)                                                 \
        do {                                                                                           \
                int _r = (expr);                                                                       \
                if (_r != (expected))                                                                  \
                        return child_fail("%s: expected %s%s, got %s%s (%s)", what, (expected) ? "-" : "", \
                                          errname(expected), _r < 0 ? "-" : "", errname(_r),           \
                                          (client) ? shmb_client_last_error(client) : "");             \
        } while (0)

static void child_msg_reset(void) {
        if (!child_msg) {
                child_msg = mmap(NULL, CHILD_MSG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                ck_assert_msg(child_msg != MAP_FAILED, "mmap of the child message page failed: %m");
        }
        child_msg[0] = 0;
}

/* Run @fn as @uid/@gid; returns its exit status (0: passed; else child_msg says why). */
static int child_status(uid_t uid, gid_t gid, int (*fn)(void *), void *arg) {
        int status;

        child_msg_reset();
        status = test_run_as(uid, gid, fn, arg);
        ck_assert_msg(status != 99, "child could not switch to uid %u gid %u", (unsigned)uid, (unsigned)gid);
        return status;
}

static void run_child(uid_t uid, gid_t gid, int (*fn)(void *), void *arg) {
        int status = child_status(uid, gid, fn, arg);

        ck_assert_msg(status == 0, "child as uid %u gid %u: %s", (unsigned)uid, (unsigned)gid,
                      child_msg[0] ? child_msg : "failed without saying why");
}

/* Like run_child(), but the child also keeps @group as a supplementary group. */
static void run_child_with_group(uid_t uid, gid_t gid, gid_t group, int (*fn)(void *), void *arg) {
        pid_t pid;
        int status;

        child_msg_reset();
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (setgroups(1, &group) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                        _exit(99);
                _exit(fn(arg));
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "child as uid %u died (status 0x%x)", (unsigned)uid, status);
        ck_assert_msg(WEXITSTATUS(status) != 99, "child could not switch to uid %u gid %u groups %u", (unsigned)uid,
                      (unsigned)gid, (unsigned)group);
        ck_assert_msg(WEXITSTATUS(status) == 0, "child as uid %u gid %u groups %u: %s", (unsigned)uid, (unsigned)gid,
                      (unsigned)group, child_msg[0] ? child_msg : "failed without saying why");
}

/* Start a daemon whose socket other uids can reach (mkdtemp makes the directory 0700). */
static void daemon_start(TestDaemon *d) {
        test_daemon_start(d, NULL);
        ck_assert_msg(chmod(d->dir, 0755) == 0, "chmod %s: %m", d->dir);
}

static struct shmb_segment *root_create(struct shmb_client *c, const char *name, uint64_t size, uint32_t mode,
                                        enum shmb_lifetime lifetime, uint8_t **ret_map) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *s = NULL;
        void *p = NULL;
        int r;

        o.mode = mode;
        o.lifetime = lifetime;
        r = shmb_create(c, name, size, &o, &s);
        ck_assert_msg(r == 0, "root: create '%s' mode %04o: %s (%s)", name, mode, errname(r),
                      shmb_client_last_error(c));
        if (ret_map) {
                r = shmb_segment_map(s, &p);
                ck_assert_msg(r == 0, "root: map '%s': %s", name, errname(r));
                *ret_map = p;
        }
        return s;
}

static int child_connect(const ChildArgs *a, struct shmb_client **ret) {
        int r = shmb_client_new(ret, a->socket);

        if (r < 0)
                return child_fail("cannot connect to %s: %s", a->socket, errname(r));
        return 0;
}

static bool list_has(struct shmb_client *c, const char *name, int *ret_err) {
        struct shmb_stat *v = NULL;
        size_t n = 0;
        bool found = false;

        *ret_err = shmb_list(c, &v, &n);
        for (size_t i = 0; *ret_err == 0 && i < n; i++)
                if (strcmp(v[i].name, name) == 0)
                        found = true;
        shmb_list_free(v);
        return found;
}

/* Fork a child that reads the last byte of @p[0..size); assert no SIGBUS and the value. */
static void assert_last_byte_readable(const uint8_t *p, uint64_t size, uint8_t expected) {
        pid_t pid;
        int status;

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                volatile const uint8_t *v = p;

                _exit(v[size - 1] == expected ? 0 : 1);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS),
                      "reading the last byte of the reader's %llu-byte mapping raised SIGBUS",
                      (unsigned long long)size);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "last byte of the reader's mapping is not 0x%02x (status 0x%x)", expected, status);
}

/* ---------------------------------------------------------------- read-only fd -- */

static int child_open_ro(const ChildArgs *a, struct shmb_client **ret_c, struct shmb_segment **ret_s) {
        int r;

        r = child_connect(a, ret_c);
        if (r)
                return r;
        CHILD_EXPECT_RET(shmb_open(*ret_c, a->name, SHMB_OPEN_RDONLY, ret_s), 0, "open read-only", *ret_c);
        if (shmb_segment_is_readonly(*ret_s) != 1)
                return child_fail("a SHMB_OPEN_RDONLY handle is not marked read-only");
        if ((fcntl(shmb_segment_get_fd(*ret_s), F_GETFL) & O_ACCMODE) != O_RDONLY)
                return child_fail("the fd of a read-only open is not O_RDONLY");
        return 0;
}

static int child_ro_mapping(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        uint8_t *p;
        int fd, r;

        r = child_open_ro(a, &c, &s);
        if (r)
                return r;
        fd = shmb_segment_get_fd(s);
        p = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED || errno != EACCES)
                return child_fail("mmap(PROT_WRITE, MAP_SHARED) of a read-only fd: expected EACCES, got %s",
                                  p == MAP_FAILED ? errname(errno) : "success");
        p = mmap(NULL, a->size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                return child_fail("mmap(PROT_READ, MAP_SHARED) of a read-only fd failed: %s", errname(errno));
        if (p[0] != a->pattern || p[a->size - 1] != a->pattern)
                return child_fail("read-only mapping does not show the creator's bytes");
        CHILD_EXPECT_ERRNO(mprotect(p, a->size, PROT_READ | PROT_WRITE), EACCES,
                           "mprotect(PROT_WRITE) of a PROT_READ shared mapping of a read-only fd");
        munmap(p, a->size);
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

static int child_ro_fileops(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        int fd, r;

        r = child_open_ro(a, &c, &s);
        if (r)
                return r;
        fd = shmb_segment_get_fd(s);
        /* do_ftruncate(): not open for writing gives EINVAL on Linux (checked on 6.18). */
        CHILD_EXPECT_ERRNO(ftruncate(fd, (off_t)a->size / 2), EINVAL, "ftruncate(smaller) of a read-only fd");
        CHILD_EXPECT_ERRNO(ftruncate(fd, (off_t)a->size * 2), EINVAL, "ftruncate(larger) of a read-only fd");
        CHILD_EXPECT_ERRNO(pwrite(fd, "x", 1, 0), EBADF, "pwrite to a read-only fd");
        CHILD_EXPECT_ERRNO(write(fd, "x", 1), EBADF, "write to a read-only fd");
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

static int child_ro_escalation(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        char path[64];
        int fd, r;

        r = child_open_ro(a, &c, &s);
        if (r)
                return r;
        fd = shmb_segment_get_fd(s);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        CHILD_EXPECT_ERRNO(open(path, O_RDWR | O_CLOEXEC), EACCES, "reopen of /proc/self/fd/N with O_RDWR");
        CHILD_EXPECT_ERRNO(open(path, O_WRONLY | O_CLOEXEC), EACCES, "reopen of /proc/self/fd/N with O_WRONLY");
        CHILD_EXPECT_ERRNO(fchmod(fd, 0666), EPERM, "fchmod(0666) through a read-only fd");
        CHILD_EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM,
                           "F_ADD_SEALS(F_SEAL_WRITE) on a read-only fd");
        CHILD_EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), EPERM,
                           "F_ADD_SEALS(F_SEAL_FUTURE_WRITE) on a read-only fd");
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

/* Root makes a 0644 segment filled with a pattern; nobody runs @fn on it; the bytes stay intact. */
static void run_readonly_case(int (*fn)(void *)) {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_segment *s;
        uint8_t *p;
        ChildArgs a = { .name = "ro-seg", .size = SEG_SIZE, .pattern = 0xa5 };

        daemon_start(&d);
        a.socket = d.socket;
        c = test_client(&d);
        s = root_create(c, a.name, a.size, 0644, SHMB_LIFETIME_HOLDERS, &p);
        memset(p, a.pattern, a.size);

        run_child(NOBODY, NOBODY, fn, &a);

        for (size_t i = 0; i < a.size; i++)
                ck_assert_msg(p[i] == a.pattern, "byte %zu changed through a read-only fd", i);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}

START_TEST(test_readonly_fd_refuses_writable_mappings) {
        run_readonly_case(child_ro_mapping);
}
END_TEST

START_TEST(test_readonly_fd_refuses_resize_and_write) {
        run_readonly_case(child_ro_fileops);
}
END_TEST

START_TEST(test_readonly_fd_refuses_reopen_chmod_and_seals) {
        run_readonly_case(child_ro_escalation);
}
END_TEST

/* ---------------------------------------------------------------------- seals -- */

/* Every resize or new seal through @fd fails with EPERM; "who" names the holder in messages. */
static void assert_no_resize(int fd, uint64_t size, const char *who) {
        struct stat st;

        errno = 0;
        ck_assert_msg(ftruncate(fd, (off_t)size / 2) == -1 && errno == EPERM,
                      "%s: ftruncate(smaller): expected EPERM, got %s", who, errname(errno));
        errno = 0;
        ck_assert_msg(ftruncate(fd, (off_t)size * 2) == -1 && errno == EPERM,
                      "%s: ftruncate(larger): expected EPERM, got %s", who, errname(errno));
        errno = 0;
        ck_assert_msg(ftruncate(fd, 0) == -1 && errno == EPERM, "%s: ftruncate(0): expected EPERM, got %s", who,
                      errname(errno));
        errno = 0;
        ck_assert_msg(fallocate(fd, 0, (off_t)size, 4096) == -1 && errno == EPERM,
                      "%s: fallocate beyond the size: expected EPERM, got %s", who, errname(errno));
        errno = 0;
        ck_assert_msg(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == -1 && errno == EPERM,
                      "%s: F_ADD_SEALS(F_SEAL_WRITE): expected EPERM, got %s", who, errname(errno));
        ck_assert_int_eq(fstat(fd, &st), 0);
        ck_assert_msg((uint64_t)st.st_size == size, "%s: size changed from %llu to %lld", who,
                      (unsigned long long)size, (long long)st.st_size);
}

START_TEST(test_creator_cannot_resize) {
        TestDaemon d;
        struct shmb_client *c, *rc;
        struct shmb_segment *s, *rs = NULL;
        uint8_t *p, *rp;
        int seals;

        daemon_start(&d);
        c = test_client(&d);
        s = root_create(c, "sealed", SEG_SIZE, 0644, SHMB_LIFETIME_HOLDERS, &p);
        p[SEG_SIZE - 1] = 0x5a;
        seals = fcntl(shmb_segment_get_fd(s), F_GET_SEALS);
        ck_assert_msg(seals >= 0 && (seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) ==
                                            (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
                      "segment fd lacks SHRINK|GROW|SEAL seals (F_GET_SEALS = %d)", seals);

        rc = test_client(&d);
        ck_assert_int_eq(shmb_open(rc, "sealed", SHMB_OPEN_RDONLY, &rs), 0);
        ck_assert_int_eq(shmb_segment_map(rs, (void **)&rp), 0);

        assert_no_resize(shmb_segment_get_fd(s), SEG_SIZE, "read-write creator's fd");
        assert_last_byte_readable(rp, SEG_SIZE, 0x5a);

        ck_assert_int_eq(shmb_segment_release(rs), 0);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(rc);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static int child_rw_resize(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        int fd, r;

        r = child_connect(a, &c);
        if (r)
                return r;
        CHILD_EXPECT_RET(shmb_open(c, a->name, 0, &s), 0, "open read-write of a 0666 segment", c);
        fd = shmb_segment_get_fd(s);
        CHILD_EXPECT_ERRNO(ftruncate(fd, (off_t)a->size / 2), EPERM, "ftruncate(smaller) by a read-write holder");
        CHILD_EXPECT_ERRNO(ftruncate(fd, (off_t)a->size * 2), EPERM, "ftruncate(larger) by a read-write holder");
        CHILD_EXPECT_ERRNO(fallocate(fd, 0, (off_t)a->size, 4096), EPERM,
                           "fallocate beyond the size by a read-write holder");
        CHILD_EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM,
                           "F_ADD_SEALS(F_SEAL_WRITE) by a read-write holder");
        CHILD_EXPECT_ERRNO(fchmod(fd, 0777), EPERM, "fchmod by a read-write holder that does not own the inode");
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_other_writer_cannot_resize) {
        TestDaemon d;
        struct shmb_client *c, *rc;
        struct shmb_segment *s, *rs = NULL;
        uint8_t *p, *rp;
        ChildArgs a = { .name = "shared-rw", .size = SEG_SIZE };

        daemon_start(&d);
        a.socket = d.socket;
        c = test_client(&d);
        s = root_create(c, a.name, a.size, 0666, SHMB_LIFETIME_HOLDERS, &p);
        p[SEG_SIZE - 1] = 0x3c;
        rc = test_client(&d);
        ck_assert_int_eq(shmb_open(rc, a.name, SHMB_OPEN_RDONLY, &rs), 0);
        ck_assert_int_eq(shmb_segment_map(rs, (void **)&rp), 0);

        run_child(NOBODY, NOBODY, child_rw_resize, &a);
        assert_last_byte_readable(rp, SEG_SIZE, 0x3c);

        ck_assert_int_eq(shmb_segment_release(rs), 0);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(rc);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

/* ---------------------------------------------------------------- permissions -- */

static int child_private(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        struct shmb_stat st;
        int r, err;

        r = child_connect(a, &c);
        if (r)
                return r;
        CHILD_EXPECT_RET(shmb_open(c, a->name, SHMB_OPEN_RDONLY, &s), -EACCES, "open read-only of a 0600 segment", c);
        CHILD_EXPECT_RET(shmb_open(c, a->name, 0, &s), -EACCES, "open read-write of a 0600 segment", c);
        CHILD_EXPECT_RET(shmb_stat(c, a->name, &st), -EACCES, "stat of a 0600 segment", c);
        if (list_has(c, a->name, &err))
                return child_fail("list shows another uid's 0600 segment");
        if (err != 0)
                return child_fail("list failed: %s", errname(err));
        CHILD_EXPECT_RET(shmb_unlink(c, a->name), -EPERM, "unlink of another uid's 0600 segment", c);
        o.mode = 0666;
        CHILD_EXPECT_RET(shmb_create(c, a->name, 4096, &o, &s), -EACCES,
                         "create (no EXCL) over another uid's 0600 segment", c);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_mode_0600_closed_to_others) {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_segment *s;
        struct shmb_stat st;
        ChildArgs a = { .name = "private", .size = SEG_SIZE };

        daemon_start(&d);
        a.socket = d.socket;
        c = test_client(&d);
        s = root_create(c, a.name, a.size, 0600, SHMB_LIFETIME_HOLDERS, NULL);

        run_child(NOBODY, NOBODY, child_private, &a);

        ck_assert_msg(shmb_stat(c, a.name, &st) == 0, "the 0600 segment is gone after another uid's attempts");
        ck_assert_uint_eq(st.uid, 0);
        ck_assert_uint_eq(st.mode, 0600);
        ck_assert_uint_eq(st.holders, 1);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static int child_reader(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL, *w = NULL;
        uint8_t *p;
        int r;

        r = child_connect(a, &c);
        if (r)
                return r;
        CHILD_EXPECT_RET(shmb_open(c, a->name, SHMB_OPEN_RDONLY, &s), 0, "open read-only of a readable segment", c);
        CHILD_EXPECT_RET(shmb_segment_map(s, (void **)&p), 0, "map of a read-only open", c);
        if (p[0] != a->pattern || p[a->size - 1] != a->pattern)
                return child_fail("read-only mapping shows 0x%02x, not the creator's 0x%02x", p[0], a->pattern);
        CHILD_EXPECT_RET(shmb_open(c, a->name, 0, &w), -EACCES, "open read-write without the write bit", c);
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_mode_0644_read_only_for_others) {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_segment *s;
        uint8_t *p;
        ChildArgs a = { .name = "readable", .size = SEG_SIZE, .pattern = 0x11 };

        daemon_start(&d);
        a.socket = d.socket;
        c = test_client(&d);
        s = root_create(c, a.name, a.size, 0644, SHMB_LIFETIME_HOLDERS, &p);
        memset(p, a.pattern, a.size);

        run_child(NOBODY, NOBODY, child_reader, &a);

        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static int child_writer(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        uint8_t *p;
        int r;

        r = child_connect(a, &c);
        if (r)
                return r;
        CHILD_EXPECT_RET(shmb_open(c, a->name, 0, &s), 0, "open read-write of a 0666 segment", c);
        if (shmb_segment_is_readonly(s) != 0)
                return child_fail("a read-write open of a 0666 segment is marked read-only");
        CHILD_EXPECT_RET(shmb_segment_map(s, (void **)&p), 0, "map of a read-write open", c);
        memset(p, a->pattern, a->size);
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_mode_0666_writable_by_others) {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_segment *s;
        uint8_t *p;
        ChildArgs a = { .name = "public", .size = SEG_SIZE, .pattern = 0x77 };

        daemon_start(&d);
        a.socket = d.socket;
        c = test_client(&d);
        s = root_create(c, a.name, a.size, 0666, SHMB_LIFETIME_HOLDERS, &p);
        memset(p, 0, a.size);

        run_child(NOBODY, NOBODY, child_writer, &a);

        ck_assert_msg(p[0] == a.pattern && p[a.size / 2] == a.pattern && p[a.size - 1] == a.pattern,
                      "root's mapping does not see uid %d's writes (0x%02x)", NOBODY, p[0]);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

/* Create a persistent segment as the current (child) uid, fill it and go away. */
static int child_create_persistent(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        uint8_t *p;
        int r;

        r = child_connect(a, &c);
        if (r)
                return r;
        o.mode = a->mode;
        o.lifetime = SHMB_LIFETIME_PERSISTENT;
        o.flags = SHMB_CREATE_EXCL;
        CHILD_EXPECT_RET(shmb_create(c, a->name, a->size, &o, &s), 0, "create a persistent segment", c);
        CHILD_EXPECT_RET(shmb_segment_map(s, (void **)&p), 0, "map the new segment", c);
        memset(p, a->pattern, a->size);
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

static int child_denied_with_mode(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        char want[16];
        int r;

        r = child_connect(a, &c);
        if (r)
                return r;
        CHILD_EXPECT_RET(shmb_open(c, a->name, SHMB_OPEN_RDONLY, &s), -EACCES,
                         "open read-only by a uid outside owner and group", c);
        snprintf(want, sizeof(want), "%04o", a->mode);
        if (!strstr(shmb_client_last_error(c), want))
                return child_fail("error text \"%s\" does not mention the mode %s", shmb_client_last_error(c),
                                  want);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_group_access) {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_stat st;
        ChildArgs a = { .name = "group-seg", .size = SEG_SIZE, .mode = 0640, .pattern = 0x42 };

        daemon_start(&d);
        a.socket = d.socket;
        c = test_client(&d);

        run_child(OTHER_UID, OTHER_GID, child_create_persistent, &a);
        ck_assert_int_eq(shmb_stat(c, a.name, &st), 0);
        ck_assert_msg(st.uid == OTHER_UID && st.gid == OTHER_GID && st.mode == 0640,
                      "segment made by uid %d gid %d mode 0640 shows uid %u gid %u mode %04o", OTHER_UID, OTHER_GID,
                      (unsigned)st.uid, (unsigned)st.gid, st.mode);

        /* uid 65534 in the segment's group: read, not write. */
        run_child(NOBODY, OTHER_GID, child_reader, &a);
        /* uid 65534 in its own group: the "other" bits (none) apply. */
        run_child(NOBODY, NOBODY, child_denied_with_mode, &a);
        /* uid 65534 with the segment's group as a supplementary group: read, not write. */
        run_child_with_group(NOBODY, NOBODY, OTHER_GID, child_reader, &a);

        ck_assert_int_eq(shmb_unlink(c, a.name), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_root_opens_any_mode) {
        static const uint32_t modes[] = { 0000, 0400, 0600 };
        TestDaemon d;
        struct shmb_client *c;
        char name[32];

        daemon_start(&d);
        c = test_client(&d);
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                ChildArgs a = {
                        .socket = d.socket, .name = name, .size = SEG_SIZE, .mode = modes[i], .pattern = 0x99
                };
                struct shmb_segment *rw = NULL, *ro = NULL;
                uint8_t *p;
                int r;

                snprintf(name, sizeof(name), "nobodys-%04o", modes[i]);
                run_child(NOBODY, NOBODY, child_create_persistent, &a);

                r = shmb_open(c, name, 0, &rw);
                ck_assert_msg(r == 0, "root: open read-write of uid %d's mode %04o segment: expected success, got %s",
                              NOBODY, modes[i], errname(r));
                r = shmb_open(c, name, SHMB_OPEN_RDONLY, &ro);
                ck_assert_msg(r == 0, "root: open read-only of uid %d's mode %04o segment: expected success, got %s",
                              NOBODY, modes[i], errname(r));
                ck_assert_int_eq(shmb_segment_map(rw, (void **)&p), 0);
                ck_assert_msg(p[0] == 0x99, "root's mapping does not show the owner's bytes");
                ck_assert_int_eq(shmb_segment_release(ro), 0);
                ck_assert_int_eq(shmb_segment_release(rw), 0);
                ck_assert_int_eq(shmb_unlink(c, name), 0);
        }
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static int child_create_over(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        int r;

        r = child_connect(a, &c);
        if (r)
                return r;
        o.mode = 0666;
        CHILD_EXPECT_RET(shmb_create(c, a->name, a->size, &o, &s), -EACCES,
                         "create (no EXCL) of another uid's 0644 segment, same size", c);
        CHILD_EXPECT_RET(shmb_create(c, a->name, 1, &o, &s), -EACCES,
                         "create (no EXCL) of another uid's 0644 segment, smaller size", c);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_create_existing_needs_write_access) {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_segment *s;
        struct shmb_stat st;
        ChildArgs a = { .name = "taken", .size = SEG_SIZE };

        daemon_start(&d);
        a.socket = d.socket;
        c = test_client(&d);
        s = root_create(c, a.name, a.size, 0644, SHMB_LIFETIME_HOLDERS, NULL);

        run_child(NOBODY, NOBODY, child_create_over, &a);

        ck_assert_int_eq(shmb_stat(c, a.name, &st), 0);
        ck_assert_msg(st.uid == 0 && st.mode == 0644 && st.holders == 1,
                      "segment changed by a refused create: uid %u mode %04o holders %u", (unsigned)st.uid, st.mode,
                      st.holders);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static int child_create_larger(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        char size[32];
        int r;

        r = child_connect(a, &c);
        if (r)
                return r;
        o.mode = 0600;
        /* Larger than the existing segment: the refusal must be about access, not size. */
        CHILD_EXPECT_RET(shmb_create(c, a->name, a->size * 4, &o, &s), -EACCES,
                         "create (no EXCL), larger size, over another uid's 0600 segment", c);
        snprintf(size, sizeof(size), "%llu", (unsigned long long)a->size);
        if (strstr(shmb_client_last_error(c), size))
                return child_fail("refusal discloses the size of a segment stat may not show: \"%s\"",
                                  shmb_client_last_error(c));
        shmb_client_free(c);
        return 0;
}

START_TEST(test_create_does_not_disclose_private_size) {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_segment *s;
        ChildArgs a = { .name = "secret-size", .size = 12345 };
        int status;

        daemon_start(&d);
        a.socket = d.socket;
        c = test_client(&d);
        s = root_create(c, a.name, a.size, 0600, SHMB_LIFETIME_HOLDERS, NULL);

        status = child_status(NOBODY, NOBODY, child_create_larger, &a);

        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
        ck_assert_msg(status == 0, "child as uid %d: %s", NOBODY, child_msg);
}
END_TEST

/* ------------------------------------------------------------------- identity -- */

static int raw_connect_path(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = 5 };
        int fd;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        return fd;
}

/* Send one request and receive its reply; a passed fd is closed. Returns the reply size or -errno. */
static ssize_t raw_exchange(int fd, const uint8_t *req, size_t len, uint8_t *reply, size_t size) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 4)];
        } control;
        struct iovec iov = { .iov_base = reply, .iov_len = size };
        struct msghdr msg = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)
        };
        ssize_t n;

        if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
                return -errno;
        n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                        for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                                int pfd;

                                memcpy(&pfd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                                close(pfd);
                        }
        return n;
}

static bool bytes_contain_u32le(const uint8_t *p, size_t len, uint32_t v) {
        const uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

        return memmem(p, len, le, sizeof(le)) != NULL;
}

/* As uid 65534, speak the protocol by hand: nothing in the bytes says who we are. */
static int child_raw_identity(void *userdata) {
        const ChildArgs *a = userdata;
        static uint8_t req[SHMB_MSG_MAX], rep[SHMB_MSG_MAX];
        ProtoHelloReply hr;
        ProtoSegInfo si;
        ProtoHeader h;
        ProtoBuf b;
        ssize_t n;
        int fd, len;

        fd = raw_connect_path(a->socket);
        if (fd < 0)
                return child_fail("cannot connect to %s: %s", a->socket, errname(fd));

        proto_buf_init(&b, req, sizeof(req));
        len = proto_encode_hello(&b, 1, SHMB_PROTO_VERSION, SHMB_PROTO_VERSION);
        if (bytes_contain_u32le(req, (size_t)len, NOBODY))
                return child_fail("test premise broken: the HELLO bytes contain the uid");
        n = raw_exchange(fd, req, (size_t)len, rep, sizeof(rep));
        if (n <= 0 || proto_decode_header(rep, (size_t)n, &h) != 0 || h.status != SHMB_STATUS_OK ||
            proto_decode_hello_reply(rep, (size_t)n, &hr) < 0)
                return child_fail("HELLO failed (%zd)", n);
        if (hr.uid != NOBODY || hr.gid != NOBODY)
                return child_fail("HELLO reply says uid %u gid %u, expected %d from SO_PEERCRED", hr.uid, hr.gid,
                                  NOBODY);

        proto_buf_init(&b, req, sizeof(req));
        len = proto_encode_create(&b, 2, a->name, a->size, 0644, PROTO_LIFETIME_PERSISTENT, PROTO_BACKEND_DEFAULT,
                                  PROTO_CREATE_EXCL);
        if (len < 0)
                return child_fail("cannot encode CREATE");
        if (bytes_contain_u32le(req, (size_t)len, NOBODY))
                return child_fail("test premise broken: the CREATE bytes contain the uid");
        n = raw_exchange(fd, req, (size_t)len, rep, sizeof(rep));
        if (n <= 0 || proto_decode_header(rep, (size_t)n, &h) != 0)
                return child_fail("no CREATE reply (%zd)", n);
        if (h.status != SHMB_STATUS_OK || proto_decode_seginfo_reply(rep, (size_t)n, &si) < 0)
                return child_fail("CREATE refused: %s", proto_status_name(h.status));
        if (si.uid != NOBODY || si.gid != NOBODY)
                return child_fail("CREATE reply says owner uid %u gid %u, expected %d", si.uid, si.gid, NOBODY);
        close(fd);
        return 0;
}

START_TEST(test_identity_from_kernel) {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_stat st;
        ChildArgs a = { .name = "whose", .size = 4096 };

        daemon_start(&d);
        a.socket = d.socket;
        c = test_client(&d);

        run_child(NOBODY, NOBODY, child_raw_identity, &a);

        ck_assert_int_eq(shmb_stat(c, a.name, &st), 0);
        ck_assert_msg(st.uid == NOBODY && st.gid == NOBODY,
                      "segment created by uid %d shows owner uid %u gid %u", NOBODY, (unsigned)st.uid,
                      (unsigned)st.gid);
        ck_assert_int_eq(shmb_unlink(c, a.name), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static Suite *security_suite(void) {
        Suite *s = suite_create("security");
        TCase *tc;

        tc = tcase_create("readonly-fd");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_readonly_fd_refuses_writable_mappings);
        tcase_add_test(tc, test_readonly_fd_refuses_resize_and_write);
        tcase_add_test(tc, test_readonly_fd_refuses_reopen_chmod_and_seals);
        suite_add_tcase(s, tc);

        tc = tcase_create("seals");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_creator_cannot_resize);
        tcase_add_test(tc, test_other_writer_cannot_resize);
        suite_add_tcase(s, tc);

        tc = tcase_create("permissions");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_mode_0600_closed_to_others);
        tcase_add_test(tc, test_mode_0644_read_only_for_others);
        tcase_add_test(tc, test_mode_0666_writable_by_others);
        tcase_add_test(tc, test_group_access);
        tcase_add_test(tc, test_root_opens_any_mode);
        tcase_add_test(tc, test_create_existing_needs_write_access);
        tcase_add_test(tc, test_create_does_not_disclose_private_size);
        suite_add_tcase(s, tc);

        tc = tcase_create("identity");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_identity_from_kernel);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(security_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
