/*
 * Attacks by holders and other uids on segments of a real shmbrokerd: every
 * way to get more than was given must fail, with the errno the kernel gives
 * on Linux 6.x (named in each check):
 *
 *   - read-only holders of memfd, posix and file segments: resize
 *     (ftruncate, fallocate), writable mappings (mmap, mprotect, MADV_REMOVE),
 *     reopening through /proc/self/fd, seals, chmod/chown, and the backing
 *     object's path (/dev/shm, the state directory);
 *   - read-write holders of memfd segments: growing past the size, even with
 *     FALLOC_FL_KEEP_SIZE (a writer may add write seals, which take no memory away);
 *   - System V holders: a writable attach with read-only mode bits,
 *     mprotect(PROT_WRITE) of a SHM_RDONLY attach, IPC_RMID, IPC_SET, SHM_LOCK;
 *   - another uid against the daemon itself: its fds through /proc,
 *     pidfd_getfd(), ptrace();
 *   - a squatter that puts a file or a symlink at the /dev/shm name of a
 *     POSIX segment before the daemon creates it.
 *
 * Root (the test) creates segments mode 0644, fills them with a pattern and
 * checks afterwards that the bytes and the size are unchanged; uid 65534
 * attacks in a child (tests/integration/util-child.h). Needs root, as in CI.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "tests/integration/util-child.h"
#include "tests/integration/util-daemon.h"

#define NOBODY 65534
#define SEG_SIZE (64 * 1024)
#define PATTERN 0x5a

typedef struct Target {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_segment *s;
        uint8_t *map;
        const char *name;
        enum shmb_backend backend;
        uint32_t mode;
        char object[PATH_MAX];          /* /dev/shm or state-directory path of the segment, or "" */
        int daemon_fd;                  /* the daemon's number for the segment's read-write fd, or -1 */
} Target;

/* ------------------------------------------------------------------ setup -- */

/* The /dev/shm name of POSIX segment @name: "shmb.<8 hex digits>.<name>". */
static bool posix_object(const char *name, char *ret, size_t len) {
        struct dirent *de;
        bool found = false;
        DIR *dp;

        dp = opendir("/dev/shm");
        ck_assert_msg(dp, "cannot read /dev/shm: %m");
        while (!found && (de = readdir(dp))) {
                const char *p = de->d_name;

                if (strncmp(p, "shmb.", 5) == 0 && strlen(p) == 14 + strlen(name) &&
                    strspn(p + 5, "0123456789abcdef") == 8 && p[13] == '.' && strcmp(p + 14, name) == 0) {
                        snprintf(ret, len, "/dev/shm/%s", p);
                        found = true;
                }
        }
        closedir(dp);
        return found;
}

/* The daemon's fd number for the memfd of segment @name ("/memfd:shmb:<name> (deleted)"). */
static int daemon_memfd(pid_t pid, const char *name) {
        char dir[64], want[300];
        struct dirent *de;
        int fd = -1;
        DIR *dp;

        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
        snprintf(want, sizeof(want), "/memfd:shmb:%s (deleted)", name);
        dp = opendir(dir);
        ck_assert_msg(dp, "cannot read %s: %m", dir);
        while (fd < 0 && (de = readdir(dp))) {
                char path[600], target[300];
                ssize_t n;

                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                n = readlink(path, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = 0;
                if (strcmp(target, want) == 0)
                        fd = atoi(de->d_name);
        }
        closedir(dp);
        return fd;
}

/* A daemon whose socket uid 65534 can reach, and a @mode segment of @backend filled by root. */
static void target_start(Target *t, enum shmb_backend backend, const char *name, uint32_t mode) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        void *p = NULL;
        int r;

        memset(t, 0, sizeof(*t));
        t->name = name;
        t->backend = backend;
        t->mode = mode;
        t->daemon_fd = -1;
        test_daemon_start(&t->d, NULL);
        test_daemon_share(&t->d);
        t->c = test_client(&t->d);
        o.backend = backend;
        o.mode = mode;
        r = shmb_create(t->c, name, SEG_SIZE, &o, &t->s);
        ck_assert_msg(r == 0, "create %s segment '%s' mode %04o: %s (%s)", shmb_backend_to_string(backend), name,
                      mode, errno_name(r), shmb_client_last_error(t->c));
        r = shmb_segment_map(t->s, &p);
        ck_assert_msg(r == 0, "map '%s': %s", name, errno_name(r));
        t->map = p;
        memset(t->map, PATTERN, SEG_SIZE);
        if (backend == SHMB_BACKEND_POSIX)
                ck_assert_msg(posix_object(name, t->object, sizeof(t->object)), "no /dev/shm object for '%s'", name);
        else if (backend == SHMB_BACKEND_FILE)
                snprintf(t->object, sizeof(t->object), "%s/segments/data/%s", t->d.state_dir, name);
        else if (backend == SHMB_BACKEND_MEMFD)
                t->daemon_fd = daemon_memfd(t->d.pid, name);
}

/* The attacks changed nothing: every byte and the size are as root left them. */
static void target_finish(Target *t) {
        struct stat st;

        for (size_t i = 0; i < SEG_SIZE; i++)
                ck_assert_msg(t->map[i] == PATTERN, "byte %zu of '%s' changed to 0x%02x by the attacks", i, t->name,
                              t->map[i]);
        if (t->backend != SHMB_BACKEND_SYSV) {
                ck_assert_int_eq(fstat(shmb_segment_get_fd(t->s), &st), 0);
                ck_assert_msg(st.st_size == SEG_SIZE, "size of '%s' changed from %d to %lld", t->name, SEG_SIZE,
                              (long long)st.st_size);
        }
        ck_assert_int_eq(shmb_segment_release(t->s), 0);
        t->c = shmb_client_free(t->c);
        test_daemon_stop(&t->d);
}

/* ---------------------------------------------------------- read-only fd -- */

/* As uid 65534: open read-only through the daemon; the handle and its fd in @ret_*. */
static int child_open(const Target *t, unsigned flags, struct shmb_client **ret_c, struct shmb_segment **ret_s) {
        int r = shmb_client_new(ret_c, t->d.socket);

        if (r < 0)
                return child_fail("cannot connect to %s: %s", t->d.socket, errno_name(r));
        r = shmb_open(*ret_c, t->name, flags, ret_s);
        if (r < 0)
                return child_fail("open '%s' (flags %u) as uid %d: %s (%s)", t->name, flags, NOBODY, errno_name(r),
                                  shmb_client_last_error(*ret_c));
        return 0;
}

static int child_readonly_fd(void *userdata) {
        const Target *t = userdata;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        char proc[64];
        uint8_t *p;
        int fd, r;

        r = child_open(t, SHMB_OPEN_RDONLY, &c, &s);
        if (r)
                return r;
        fd = shmb_segment_get_fd(s);
        if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY)
                return child_fail("the fd of a read-only hold is not O_RDONLY");

        /* Resize: do_ftruncate() wants a writable file (EINVAL); vfs_fallocate() too (EBADF). */
        CHILD_EXPECT_ERRNO(ftruncate(fd, SEG_SIZE / 2), EINVAL, "ftruncate(shrink) of a read-only fd");
        CHILD_EXPECT_ERRNO(ftruncate(fd, SEG_SIZE * 2), EINVAL, "ftruncate(grow) of a read-only fd");
        CHILD_EXPECT_ERRNO(fallocate(fd, 0, SEG_SIZE, 4096), EBADF, "fallocate(grow) of a read-only fd");
        CHILD_EXPECT_ERRNO(fallocate(fd, FALLOC_FL_KEEP_SIZE, SEG_SIZE, 1 << 20), EBADF,
                           "fallocate(KEEP_SIZE, past the end) of a read-only fd");
        CHILD_EXPECT_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), EBADF,
                           "fallocate(PUNCH_HOLE) of a read-only fd");
        CHILD_EXPECT_ERRNO(pwrite(fd, "x", 1, 0), EBADF, "pwrite to a read-only fd");

        /* Writable shared mappings. */
        CHILD_EXPECT_ERRNO(mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES,
                           "mmap(PROT_WRITE, MAP_SHARED) of a read-only fd");
        p = mmap(NULL, SEG_SIZE, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                return child_fail("mmap(PROT_READ, MAP_SHARED) of a read-only fd: %s", errno_name(errno));
        CHILD_EXPECT_ERRNO(mprotect(p, SEG_SIZE, PROT_READ | PROT_WRITE), EACCES,
                           "mprotect(PROT_WRITE) of a read-only shared mapping");
        CHILD_EXPECT_ERRNO(madvise(p, SEG_SIZE, MADV_REMOVE), EACCES,
                           "madvise(MADV_REMOVE) (punch a hole) through a read-only shared mapping");
        munmap(p, SEG_SIZE);
        /* A private writable mapping is allowed; its writes stay private (the parent checks the bytes). */
        p = mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
                return child_fail("mmap(PROT_WRITE, MAP_PRIVATE) of a read-only fd: %s", errno_name(errno));
        memset(p, 0, SEG_SIZE);
        munmap(p, SEG_SIZE);

        /* A writable fd for the same inode. */
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        CHILD_EXPECT_ERRNO(open(proc, O_RDWR | O_CLOEXEC), EACCES, "reopen /proc/self/fd/N read-write");
        CHILD_EXPECT_ERRNO(open(proc, O_WRONLY | O_CLOEXEC), EACCES, "reopen /proc/self/fd/N write-only");
        CHILD_EXPECT_ERRNO(fchmod(fd, 0666), EPERM, "fchmod(0666) of the segment's inode");
        CHILD_EXPECT_ERRNO(fchown(fd, NOBODY, NOBODY), EPERM, "fchown to uid 65534 of the segment's inode");

        /* Seals would freeze the segment for its writers; a file not open for writing takes none (EPERM). */
        CHILD_EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM,
                           "F_ADD_SEALS(F_SEAL_WRITE) through a read-only fd");
        CHILD_EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), EPERM,
                           "F_ADD_SEALS(F_SEAL_FUTURE_WRITE) through a read-only fd");
        CHILD_EXPECT_ERRNO(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), EPERM,
                           "F_ADD_SEALS(F_SEAL_SHRINK) through a read-only fd");

        /* The backing object by its path: mode 0600 and the daemon's (posix); a 0700 directory (file). */
        if (t->object[0]) {
                CHILD_EXPECT_ERRNO(open(t->object, O_RDWR | O_CLOEXEC), EACCES, "open of the backing object read-write");
                CHILD_EXPECT_ERRNO(open(t->object, O_RDONLY | O_CLOEXEC), EACCES, "open of the backing object read-only");
                /* /dev/shm is sticky (1777): only the owner may remove a name in it. */
                CHILD_EXPECT_ERRNO(unlink(t->object), t->backend == SHMB_BACKEND_POSIX ? EPERM : EACCES,
                                   "unlink of the backing object");
        }
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

static void check_readonly_fd(enum shmb_backend backend) {
        Target t;

        target_start(&t, backend, "ro-target", 0644);
        child_run(NOBODY, NOBODY, child_readonly_fd, &t, "read-only holder");
        target_finish(&t);
}

START_TEST(test_memfd_readonly_holder) {
        check_readonly_fd(SHMB_BACKEND_MEMFD);
}
END_TEST

START_TEST(test_posix_readonly_holder) {
        check_readonly_fd(SHMB_BACKEND_POSIX);
}
END_TEST

START_TEST(test_file_readonly_holder) {
        check_readonly_fd(SHMB_BACKEND_FILE);
}
END_TEST

/* -------------------------------------------------------- read-write memfd -- */

static int child_memfd_writer(void *userdata) {
        const Target *t = userdata;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        struct stat st;
        int fd, r;

        r = child_open(t, 0, &c, &s);
        if (r)
                return r;
        fd = shmb_segment_get_fd(s);
        if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR)
                return child_fail("the fd of a read-write hold is not O_RDWR");
        /* F_SEAL_GROW covers every allocation past the end, even one that keeps the size. */
        CHILD_EXPECT_ERRNO(fallocate(fd, FALLOC_FL_KEEP_SIZE, SEG_SIZE, 1 << 20), EPERM,
                           "fallocate(KEEP_SIZE, past the end) by a read-write holder");
        CHILD_EXPECT_ERRNO(fallocate(fd, 0, 0, SEG_SIZE * 2), EPERM, "fallocate(0, twice the size) by a read-write holder");
        CHILD_EXPECT_ERRNO(ftruncate(fd, SEG_SIZE + 1), EPERM, "ftruncate(grow by one byte) by a read-write holder");
        CHILD_EXPECT_ERRNO(ftruncate(fd, SEG_SIZE - 1), EPERM, "ftruncate(shrink by one byte) by a read-write holder");
        /*
         * F_SEAL_SEAL waits for PUBLISH, which adds write seals: until then a writer may add
         * them too. That only takes writability away from the writers (who are trusted with
         * the content anyway), never memory: shrinking and growing stay impossible.
         */
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0)
                return child_fail("F_ADD_SEALS(F_SEAL_FUTURE_WRITE) by a read-write holder: %s", errno_name(errno));
        CHILD_EXPECT_ERRNO(pwrite(fd, "x", 1, 0), EPERM, "pwrite after F_SEAL_FUTURE_WRITE");
        CHILD_EXPECT_ERRNO(ftruncate(fd, SEG_SIZE + 1), EPERM, "ftruncate(grow) after the writer's own seal");
        CHILD_EXPECT_ERRNO(fchown(fd, NOBODY, NOBODY), EPERM, "fchown of the memfd by a read-write holder");
        if (fstat(fd, &st) < 0 || st.st_size != SEG_SIZE)
                return child_fail("size is %lld after the attempts, not %d", (long long)st.st_size, SEG_SIZE);
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_memfd_writer_cannot_grow) {
        Target t;

        target_start(&t, SHMB_BACKEND_MEMFD, "rw-target", 0666);
        child_run(NOBODY, NOBODY, child_memfd_writer, &t, "read-write memfd holder");
        target_finish(&t);
}
END_TEST

/* ---------------------------------------------------------------- System V -- */

static int child_sysv_readonly(void *userdata) {
        const Target *t = userdata;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        struct shmid_ds ds;
        int id, r;
        void *p;

        r = child_open(t, SHMB_OPEN_RDONLY, &c, &s);
        if (r)
                return r;
        id = shmb_segment_get_shmid(s);
        if (id < 0)
                return child_fail("a read-only sysv hold has no shmid (%d)", id);
        /* The kernel checks the mode bits (0644: read for others). */
        CHILD_EXPECT_ERRNO(shmat(id, NULL, 0), EACCES, "shmat read-write of a 0644 segment by a read-only holder");
        p = shmat(id, NULL, SHM_RDONLY);
        if (p == (void *)-1)
                return child_fail("shmat(SHM_RDONLY) of a 0644 segment: %s", errno_name(errno));
        if (((uint8_t *)p)[SEG_SIZE - 1] != PATTERN)
                return child_fail("the read-only attach does not show root's bytes");
        CHILD_EXPECT_ERRNO(mprotect(p, SEG_SIZE, PROT_READ | PROT_WRITE), EACCES,
                           "mprotect(PROT_WRITE) of a SHM_RDONLY attach");
        CHILD_EXPECT_ERRNO(madvise(p, SEG_SIZE, MADV_REMOVE), EACCES, "madvise(MADV_REMOVE) of a SHM_RDONLY attach");
        shmdt(p);
        /* Only the owner, the creator (the daemon) and CAP_SYS_ADMIN/CAP_IPC_LOCK may control the segment. */
        CHILD_EXPECT_ERRNO(shmctl(id, IPC_RMID, NULL), EPERM, "IPC_RMID by a read-only holder");
        if (shmctl(id, IPC_STAT, &ds) < 0)
                return child_fail("IPC_STAT of a 0644 segment: %s", errno_name(errno));
        ds.shm_perm.mode = 0666;
        CHILD_EXPECT_ERRNO(shmctl(id, IPC_SET, &ds), EPERM, "IPC_SET (mode 0666) by a read-only holder");
        ds.shm_perm.mode = 0644;
        ds.shm_perm.uid = NOBODY;
        CHILD_EXPECT_ERRNO(shmctl(id, IPC_SET, &ds), EPERM, "IPC_SET (owner 65534) by a read-only holder");
        CHILD_EXPECT_ERRNO(shmctl(id, SHM_LOCK, NULL), EPERM, "SHM_LOCK by a read-only holder");
        CHILD_EXPECT_ERRNO(shmctl(id, SHM_UNLOCK, NULL), EPERM, "SHM_UNLOCK by a read-only holder");
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_sysv_readonly_holder) {
        struct shmid_ds ds;
        Target t;
        int id;

        target_start(&t, SHMB_BACKEND_SYSV, "sysv-target", 0644);
        id = shmb_segment_get_shmid(t.s);
        child_run(NOBODY, NOBODY, child_sysv_readonly, &t, "read-only sysv holder");
        ck_assert_msg(shmctl(id, IPC_STAT, &ds) == 0, "shmid %d is gone after a holder's IPC_RMID attempt", id);
        ck_assert_msg(ds.shm_perm.uid == 0 && (ds.shm_perm.mode & 0777) == 0644 && !(ds.shm_perm.mode & SHM_DEST),
                      "shmid %d changed: owner %u mode 0%o", id, (unsigned)ds.shm_perm.uid, (unsigned)ds.shm_perm.mode);
        target_finish(&t);
}
END_TEST

/* ---------------------------------------------------------- the daemon -- */

static int pidfd_open_(pid_t pid) {
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int child_daemon_fds(void *userdata) {
        const Target *t = userdata;
        char path[64];
        struct iovec local, remote;
        char byte;
        int pidfd;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)t->d.pid);
        CHILD_EXPECT_ERRNO(open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), EACCES, "listing the daemon's fds");
        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)t->d.pid, t->daemon_fd);
        CHILD_EXPECT_ERRNO(open(path, O_RDWR | O_CLOEXEC), EACCES, "open of the daemon's memfd through /proc/PID/fd");
        CHILD_EXPECT_ERRNO(open(path, O_RDONLY | O_CLOEXEC), EACCES, "open read-only of the daemon's memfd through /proc");
        pidfd = pidfd_open_(t->d.pid);
        if (pidfd < 0)
                return child_fail("pidfd_open of the daemon (allowed to anyone): %s", errno_name(errno));
        CHILD_EXPECT_ERRNO(syscall(SYS_pidfd_getfd, pidfd, t->daemon_fd, 0), EPERM,
                           "pidfd_getfd of the daemon's memfd");
        close(pidfd);
        CHILD_EXPECT_ERRNO(ptrace(PTRACE_ATTACH, t->d.pid, NULL, NULL), EPERM, "ptrace(PTRACE_ATTACH) of the daemon");
        local = (struct iovec){ .iov_base = &byte, .iov_len = 1 };
        remote = (struct iovec){ .iov_base = (void *)0x10000, .iov_len = 1 };
        CHILD_EXPECT_ERRNO(process_vm_readv(t->d.pid, &local, 1, &remote, 1, 0), EPERM,
                           "process_vm_readv of the daemon");
        return 0;
}

START_TEST(test_daemon_fds_unreachable) {
        Target t;

        target_start(&t, SHMB_BACKEND_MEMFD, "daemon-held", 0600);
        ck_assert_msg(t.daemon_fd >= 0, "the daemon has no fd named memfd:shmb:%s", t.name);
        child_run(NOBODY, NOBODY, child_daemon_fds, &t, "another uid against the daemon's fds");
        target_finish(&t);
}
END_TEST

/* ------------------------------------------------------------- squatting -- */

typedef struct Squat {
        char file[PATH_MAX];            /* /dev/shm/shmb.<tag>.<name> made by uid 65534 as a file */
        char link[PATH_MAX];            /* ... and one as a symlink to @precious */
        char precious[PATH_MAX];        /* a file of root's the symlink points at */
} Squat;

static int child_squat(void *userdata) {
        const Squat *q = userdata;
        int fd;

        fd = open(q->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0)
                return child_fail("cannot create %s as uid %d: %s", q->file, NOBODY, errno_name(errno));
        if (fchmod(fd, 0666) < 0 || ftruncate(fd, SEG_SIZE) < 0 || pwrite(fd, "squat", 5, 0) != 5)
                return child_fail("cannot prepare %s: %s", q->file, errno_name(errno));
        close(fd);
        if (symlink(q->precious, q->link) < 0)
                return child_fail("cannot create the symlink %s: %s", q->link, errno_name(errno));
        return 0;
}

static int child_squatter_after(void *userdata) {
        const Squat *q = userdata;

        CHILD_EXPECT_ERRNO(open(q->file, O_RDWR | O_CLOEXEC), EACCES, "the squatter opening the daemon's object");
        CHILD_EXPECT_ERRNO(open(q->link, O_RDWR | O_CLOEXEC), EACCES,
                           "the squatter opening the daemon's object at its symlink's name");
        return 0;
}

/* The segment's object at @path is a fresh one: the daemon's, 0600, regular, zero-filled. */
static void assert_daemon_object(const char *path, struct shmb_segment *s) {
        struct stat st, fst;
        uint8_t *p = NULL;

        ck_assert_msg(lstat(path, &st) == 0, "%s is missing: %m", path);
        ck_assert_msg(S_ISREG(st.st_mode) && st.st_uid == 0 && (st.st_mode & 07777) == 0600,
                      "%s is not the daemon's 0600 file (mode 0%o, owner %u)", path, (unsigned)st.st_mode,
                      (unsigned)st.st_uid);
        ck_assert_int_eq(fstat(shmb_segment_get_fd(s), &fst), 0);
        ck_assert_msg(fst.st_ino == st.st_ino, "the segment's fd is not the object at %s", path);
        ck_assert_int_eq(shmb_segment_map(s, (void **)&p), 0);
        ck_assert_msg(p[0] == 0 && memcmp(p, "squat", 5) != 0, "the segment holds the squatter's bytes");
}

START_TEST(test_posix_name_squatting) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *probe, *s1, *s2;
        char tag_path[PATH_MAX], buf[16];
        Squat q;
        TestDaemon d;
        struct shmb_client *c;
        struct stat st;
        int fd;

        test_daemon_start(&d, NULL);
        test_daemon_share(&d);
        c = test_client(&d);
        /* The instance's object prefix, from a probe segment's /dev/shm name. */
        o.backend = SHMB_BACKEND_POSIX;
        ck_assert_int_eq(shmb_create(c, "probe", 4096, &o, &probe), 0);
        ck_assert(posix_object("probe", tag_path, sizeof(tag_path)));
        ck_assert_int_eq(shmb_segment_release(probe), 0);
        tag_path[strlen(tag_path) - strlen("probe")] = 0;
        snprintf(q.file, sizeof(q.file), "%ssquatted", tag_path);
        snprintf(q.link, sizeof(q.link), "%slinked", tag_path);
        snprintf(q.precious, sizeof(q.precious), "%s/precious", d.dir);
        fd = open(q.precious, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "precious", 8), 8);
        close(fd);

        child_run(NOBODY, NOBODY, child_squat, &q, "squatting the daemon's /dev/shm names");

        o.mode = 0600;
        ck_assert_msg(shmb_create(c, "squatted", SEG_SIZE, &o, &s1) == 0, "create over a squatted name: %s",
                      shmb_client_last_error(c));
        ck_assert_msg(shmb_create(c, "linked", SEG_SIZE, &o, &s2) == 0, "create over a symlinked name: %s",
                      shmb_client_last_error(c));
        assert_daemon_object(q.file, s1);
        assert_daemon_object(q.link, s2);
        ck_assert_int_eq(stat(q.precious, &st), 0);
        fd = open(q.precious, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(read(fd, buf, sizeof(buf)), 8);
        close(fd);
        ck_assert_msg(st.st_size == 8 && memcmp(buf, "precious", 8) == 0 && st.st_uid == 0,
                      "the symlink's target was changed through the daemon");
        child_run(NOBODY, NOBODY, child_squatter_after, &q, "the squatter after the daemon's create");

        ck_assert_int_eq(shmb_segment_release(s1), 0);
        ck_assert_int_eq(shmb_segment_release(s2), 0);
        ck_assert_msg(access(q.file, F_OK) < 0 && access(q.link, F_OK) < 0, "objects left after the last release");
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static Suite *attacks_suite(void) {
        Suite *s = suite_create("attacks");
        TCase *tc;

        tc = tcase_create("readonly-holder");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_memfd_readonly_holder);
        tcase_add_test(tc, test_posix_readonly_holder);
        tcase_add_test(tc, test_file_readonly_holder);
        tcase_add_test(tc, test_sysv_readonly_holder);
        suite_add_tcase(s, tc);

        tc = tcase_create("writer");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_memfd_writer_cannot_grow);
        suite_add_tcase(s, tc);

        tc = tcase_create("other-uid");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_daemon_fds_unreachable);
        tcase_add_test(tc, test_posix_name_squatting);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(attacks_suite());
        int failed;

        test_run_begin();
        srunner_run_all(sr, CK_NORMAL);
        test_run_sweep();
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
