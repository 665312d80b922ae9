/*
 * Integration tests of the storage backends (memfd, posix, sysv, file)
 * against real kernel objects: a real shmbrokerd driven through libshmbroker
 * and shmbrokerctl, witnessed through /dev/shm, shmctl(), `ipcs -m`,
 * /proc and the state directory. Needs root (uid switches, tmpfs mounts,
 * vm.nr_hugepages), as in CI.
 *
 * Every test stops its daemon and removes what it made. What a failing test
 * leaves behind (daemons, mounts, System V segments, /dev/shm objects,
 * directories, the huge page setting) is recorded in a page shared with the
 * runner process, whose unchecked teardown undoes it after each TCase.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "tests/integration/util-daemon.h"
#include "util/macro.h"

#define NOBODY 65534
#define NAME_LEN 96
#define TRACK_MAX 16
#define SHMID_TRACK_MAX 128
#define REPLY_OFFSET 1000
#define KIB 1024ull
#define MIB (1024ull * 1024ull)

/* What a test made that must not outlive it; shared with the runner process. */
typedef struct Leftovers {
        pid_t daemons[TRACK_MAX];
        char dirs[TRACK_MAX][PATH_MAX];
        char mounts[TRACK_MAX][PATH_MAX];
        int shmids[SHMID_TRACK_MAX];
        pid_t shm_cpids[SHMID_TRACK_MAX];       /* 0: free slot */
        long hugepages_saved;                   /* vm.nr_hugepages before a test changed it, or -1 */
        int child_int;                          /* a value a child reports back */
        char child_msg[512];                    /* why a child failed */
} Leftovers;

static Leftovers *lo;
static pid_t main_pid;

/* ------------------------------------------------------------ leftovers -- */

static void track_path(char (*slots)[PATH_MAX], const char *path) {
        for (size_t i = 0; i < TRACK_MAX; i++)
                if (!slots[i][0]) {
                        snprintf(slots[i], PATH_MAX, "%s", path);
                        return;
                }
        ck_abort_msg("more than %d tracked paths", TRACK_MAX);
}

static void untrack_path(char (*slots)[PATH_MAX], const char *path) {
        for (size_t i = 0; i < TRACK_MAX; i++)
                if (strcmp(slots[i], path) == 0)
                        slots[i][0] = 0;
}

static void track_pid(pid_t pid) {
        for (size_t i = 0; i < TRACK_MAX; i++)
                if (lo->daemons[i] == 0) {
                        lo->daemons[i] = pid;
                        return;
                }
        ck_abort_msg("more than %d tracked daemons", TRACK_MAX);
}

static void untrack_pid(pid_t pid) {
        for (size_t i = 0; i < TRACK_MAX; i++)
                if (lo->daemons[i] == pid)
                        lo->daemons[i] = 0;
}

/* Remember a System V segment (with its creator pid, so a reused id is never removed). */
static void track_shmid(int id) {
        struct shmid_ds ds;

        ck_assert_msg(shmctl(id, IPC_STAT, &ds) == 0, "expected IPC_STAT of shmid %d to work, got %s", id,
                      strerror(errno));
        for (size_t i = 0; i < SHMID_TRACK_MAX; i++)
                if (lo->shm_cpids[i] == 0) {
                        lo->shmids[i] = id;
                        lo->shm_cpids[i] = ds.shm_cpid;
                        return;
                }
        ck_abort_msg("more than %d tracked System V segments", SHMID_TRACK_MAX);
}

static void untrack_shmid(int id) {
        for (size_t i = 0; i < SHMID_TRACK_MAX; i++)
                if (lo->shm_cpids[i] != 0 && lo->shmids[i] == id)
                        lo->shm_cpids[i] = 0;
}

static bool pid_is_test_daemon(pid_t pid) {
        const char *bin = getenv("SHMBROKERD");
        char path[64], cmd[PATH_MAX];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, cmd, sizeof(cmd) - 1);
        close(fd);
        if (n <= 0 || !bin)
                return false;
        cmd[n] = 0;
        return strcmp(cmd, bin) == 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void)remove(path);
        return 0;
}

static void remove_tree(const char *dir) {
        (void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static long hugepages_read(void) {
        FILE *f = fopen("/proc/sys/vm/nr_hugepages", "re");
        long v = -1;

        if (!f)
                return -1;
        if (fscanf(f, "%ld", &v) != 1)
                v = -1;
        fclose(f);
        return v;
}

static int hugepages_write(long v) {
        char buf[32];
        int fd, n, r = 0;

        fd = open("/proc/sys/vm/nr_hugepages", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = snprintf(buf, sizeof(buf), "%ld\n", v);
        if (write(fd, buf, (size_t)n) != n)
                r = -errno;
        close(fd);
        return r;
}

static void leftovers_setup(void) {
        memset(lo, 0, sizeof(*lo));
        lo->hugepages_saved = -1;
}

/* Runs in the runner process after each TCase, whatever its tests did. */
static void leftovers_teardown(void) {
        char marker[32];
        struct dirent *de;
        DIR *dp;

        for (size_t i = 0; i < TRACK_MAX; i++) {
                pid_t pid = lo->daemons[i];

                if (pid <= 0 || !pid_is_test_daemon(pid))
                        continue;
                fprintf(stderr, "teardown: killing leftover shmbrokerd pid %d\n", (int)pid);
                (void)kill(pid, SIGKILL);
                /* Not our child: wait until it is gone or a zombie, so its mounts are free. */
                for (int n = 0; n < 100 && pid_is_test_daemon(pid); n++)
                        usleep(20000);
        }
        for (size_t i = 0; i < TRACK_MAX; i++) {
                if (!lo->mounts[i][0])
                        continue;
                fprintf(stderr, "teardown: unmounting leftover %s\n", lo->mounts[i]);
                if (umount2(lo->mounts[i], 0) < 0)
                        (void)umount2(lo->mounts[i], MNT_DETACH);
        }
        for (size_t i = 0; i < SHMID_TRACK_MAX; i++) {
                struct shmid_ds ds;

                if (lo->shm_cpids[i] == 0)
                        continue;
                if (shmctl(lo->shmids[i], IPC_STAT, &ds) == 0 && ds.shm_cpid == lo->shm_cpids[i]) {
                        fprintf(stderr, "teardown: removing leftover System V segment %d\n", lo->shmids[i]);
                        (void)shmctl(lo->shmids[i], IPC_RMID, NULL);
                }
        }
        snprintf(marker, sizeof(marker), "tbk%d-", (int)main_pid);
        dp = opendir("/dev/shm");
        while (dp && (de = readdir(dp))) {
                char path[PATH_MAX];

                if (!strstr(de->d_name, marker))
                        continue;
                fprintf(stderr, "teardown: removing leftover /dev/shm/%s\n", de->d_name);
                snprintf(path, sizeof(path), "/%s", de->d_name);
                (void)shm_unlink(path);
        }
        if (dp)
                closedir(dp);
        for (size_t i = 0; i < TRACK_MAX; i++) {
                if (!lo->dirs[i][0] || strncmp(lo->dirs[i], "/tmp/", 5) != 0)
                        continue;
                fprintf(stderr, "teardown: removing leftover %s\n", lo->dirs[i]);
                remove_tree(lo->dirs[i]);
        }
        for (size_t i = 0; i < TRACK_MAX; i++)
                if (lo->mounts[i][0])
                        (void)rmdir(lo->mounts[i]);
        if (lo->hugepages_saved >= 0) {
                fprintf(stderr, "teardown: restoring vm.nr_hugepages = %ld\n", lo->hugepages_saved);
                (void)hugepages_write(lo->hugepages_saved);
        }
        leftovers_setup();
}

/* --------------------------------------------------------------- daemon -- */

static void daemon_start(TestDaemon *d, const char *const *args) {
        test_daemon_start(d, args);
        track_path(lo->dirs, d->dir);
        track_pid(d->pid);
}

static void daemon_restart(TestDaemon *d, const char *const *args) {
        test_daemon_restart(d, args);
        track_pid(d->pid);
}

static void daemon_stop(TestDaemon *d) {
        pid_t pid = d->pid;

        test_daemon_stop(d);
        untrack_pid(pid);
        untrack_path(lo->dirs, d->dir);
}

/* SIGTERM, assert a clean exit, keep the directory for a restart. */
static void daemon_term_keep(TestDaemon *d) {
        pid_t pid = d->pid;
        int status = test_daemon_kill(d, SIGTERM);

        untrack_pid(pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "expected shmbrokerd to exit with status 0 on SIGTERM, got wait status 0x%x", status);
        ck_assert_msg(access(d->socket, F_OK) < 0, "expected the socket %s removed at stop", d->socket);
}

static void daemon_kill9(TestDaemon *d) {
        pid_t pid = d->pid;
        int status = test_daemon_kill(d, SIGKILL);

        untrack_pid(pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "expected shmbrokerd to die of SIGKILL, got wait status 0x%x", status);
}

/* Let uid 65534 reach the socket in the (mode 0700) test directory. */
static void daemon_open_dir(const TestDaemon *d) {
        ck_assert_int_eq(chmod(d->dir, 0711), 0);
}

/*
 * Exec shmbrokerd with @args and a notify socket at @notify; wait (10 s at
 * most) until it reports READY=1 (return its pid, tracked) or exits (return 0,
 * its wait status in @ret_status).
 */
static pid_t daemon_spawn(const char *notify, const char *const *args, int *ret_status) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *bin = getenv("SHMBROKERD");
        const char *argv[32];
        size_t n = 0;
        pid_t pid;
        int nfd;

        ck_assert_msg(bin, "SHMBROKERD is not set (run through make check)");
        argv[n++] = bin;
        for (size_t i = 0; args[i] && n < ELEMENTSOF(argv) - 1; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        ck_assert_uint_lt(strlen(notify), sizeof(sa.sun_path));
        strcpy(sa.sun_path, notify);
        (void)unlink(notify);
        nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(nfd, 0);
        ck_assert_int_eq(bind(nfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                setenv("NOTIFY_SOCKET", notify, 1);
                execv(bin, (char *const *)argv);
                _exit(127);
        }
        track_pid(pid);
        for (int waited = 0; waited < 10000; waited += 50) {
                struct pollfd pfd = { .fd = nfd, .events = POLLIN };
                char buf[4096];
                ssize_t len;

                if (poll(&pfd, 1, 50) > 0) {
                        len = recv(nfd, buf, sizeof(buf) - 1, 0);
                        ck_assert_int_ge(len, 0);
                        buf[len] = 0;
                        if (strstr(buf, "READY=1")) {
                                close(nfd);
                                return pid;
                        }
                }
                if (waitpid(pid, ret_status, WNOHANG) == pid) {
                        untrack_pid(pid);
                        close(nfd);
                        return 0;
                }
        }
        ck_abort_msg("expected shmbrokerd to start or exit within 10 s; it did neither");
        return -1;
}

/* Stop a daemon from daemon_spawn(); return its wait status. */
static int daemon_spawned_stop(pid_t pid) {
        int status = 0;

        (void)kill(pid, SIGTERM);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        untrack_pid(pid);
        return status;
}

/* Exec shmbrokerd with @args; assert it refuses to start, and return its wait status. */
static int daemon_expect_refusal(const char *notify, const char *const *args) {
        int status = 0;
        pid_t pid = daemon_spawn(notify, args, &status);

        if (pid > 0) {
                daemon_spawned_stop(pid);
                ck_abort_msg("expected shmbrokerd to refuse to start, but it reported READY=1");
        }
        return status;
}

/* --------------------------------------------------------------- helpers -- */

static const char *seg_name(char *buf, const char *label) {
        snprintf(buf, NAME_LEN, "tbk%d-%s", (int)main_pid, label);
        return buf;
}

static struct shmb_create_options create_opts(enum shmb_backend backend, enum shmb_lifetime lifetime,
                                              uint32_t mode, uint32_t flags) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;

        o.backend = backend;
        o.lifetime = lifetime;
        o.mode = mode;
        o.flags = flags;
        return o;
}

/* Create through @c and assert success. */
static struct shmb_segment *create_ok(struct shmb_client *c, const char *name, uint64_t size,
                                      enum shmb_backend backend, enum shmb_lifetime lifetime, uint32_t mode) {
        struct shmb_create_options o = create_opts(backend, lifetime, mode, 0);
        struct shmb_segment *s = NULL;
        int r;

        r = shmb_create(c, name, size, &o, &s);
        ck_assert_msg(r == 0, "expected creating %s segment '%s' (%llu bytes) to succeed, got %s: %s",
                      shmb_backend_to_string(backend), name, (unsigned long long)size, strerror(-r),
                      shmb_client_last_error(c));
        if (backend == SHMB_BACKEND_SYSV)
                track_shmid(shmb_segment_get_shmid(s));
        return s;
}

static void *map_ok(struct shmb_segment *s) {
        void *p = NULL;
        int r = shmb_segment_map(s, &p);

        ck_assert_msg(r == 0, "expected mapping '%s' to succeed, got %s", shmb_segment_get_name(s), strerror(-r));
        return p;
}

/* Number of /dev/shm entries "shmb.<8 hex digits>.<name>"; the first one's path in @ret. */
static int posix_objects(const char *name, char *ret, size_t len) {
        struct dirent *de;
        DIR *dp;
        int n = 0;

        dp = opendir("/dev/shm");
        ck_assert_msg(dp, "cannot read /dev/shm: %s", strerror(errno));
        while ((de = readdir(dp))) {
                const char *p = de->d_name;

                if (strncmp(p, "shmb.", 5) != 0 || strlen(p) != 14 + strlen(name) ||
                    strspn(p + 5, "0123456789abcdef") != 8 || p[13] != '.' || strcmp(p + 14, name) != 0)
                        continue;
                if (n++ == 0 && ret)
                        snprintf(ret, len, "/dev/shm/%s", p);
        }
        closedir(dp);
        return n;
}

static bool path_exists(const char *path) {
        struct stat st;

        return lstat(path, &st) == 0;
}

static void file_paths(const TestDaemon *d, const char *name, char *data, char *meta) {
        snprintf(data, PATH_MAX, "%s/segments/data/%s", d->state_dir, name);
        snprintf(meta, PATH_MAX, "%s/segments/meta/%s", d->state_dir, name);
}

/* Entries of @dir other than ".", ".." and @except (may be NULL); the first one's name in @first. */
static int dir_entries(const char *dir, const char *except, char *first, size_t len) {
        struct dirent *de;
        DIR *dp;
        int n = 0;

        dp = opendir(dir);
        ck_assert_msg(dp, "cannot read %s: %s", dir, strerror(errno));
        while ((de = readdir(dp))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                    (except && strcmp(de->d_name, except) == 0))
                        continue;
                if (n++ == 0)
                        snprintf(first, len, "%s", de->d_name);
        }
        closedir(dp);
        return n;
}

/* 0 if IPC_STAT of @id works, else its errno. */
static int sysv_stat_errno(int id, struct shmid_ds *ret) {
        struct shmid_ds ds;

        if (shmctl(id, IPC_STAT, ret ? ret : &ds) < 0)
                return errno;
        return 0;
}

static void assert_sysv_gone(int id, const char *what) {
        int e = sysv_stat_errno(id, NULL);

        ck_assert_msg(e == EINVAL || e == EIDRM, "expected shmid %d (%s) removed (IPC_STAT: EINVAL or EIDRM), got %s",
                      id, what, e ? strerror(e) : "success");
}

/* The shmid column of the real `ipcs -m`. */
static size_t ipcs_shmids(int *ids, size_t max) {
        char line[512];
        size_t n = 0;
        FILE *f;
        int status;

        f = popen("ipcs -m", "r");
        ck_assert_msg(f, "cannot run ipcs -m: %s", strerror(errno));
        while (fgets(line, sizeof(line), f)) {
                unsigned long key;
                int id;

                if (sscanf(line, "0x%lx %d", &key, &id) == 2 && n < max)
                        ids[n++] = id;
        }
        status = pclose(f);
        ck_assert_msg(status == 0, "expected `ipcs -m` to exit 0, got wait status 0x%x", status);
        return n;
}

static bool ipcs_lists(int id) {
        int ids[8192];
        size_t n = ipcs_shmids(ids, ELEMENTSOF(ids));

        for (size_t i = 0; i < n; i++)
                if (ids[i] == id)
                        return true;
        return false;
}

/* Poll (5 s at most) until @pid has @want fds; return the last count. */
static int wait_fd_count(pid_t pid, int want) {
        int n = -1;

        for (int i = 0; i < 100; i++) {
                n = test_count_fds(pid);
                if (n == want)
                        break;
                usleep(50000);
        }
        return n;
}

/* The permission field ("r--s") of the /proc/self/maps line starting at @addr; "" if none. */
static void maps_perms(const void *addr, char *perms, size_t len) {
        char line[512];
        FILE *f;

        perms[0] = 0;
        f = fopen("/proc/self/maps", "re");
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                unsigned long start, end;
                char p[8];

                if (sscanf(line, "%lx-%lx %7s", &start, &end, p) == 3 && start == (unsigned long)addr) {
                        snprintf(perms, len, "%s", p);
                        break;
                }
        }
        fclose(f);
}

static long meminfo_value(const char *key) {
        char line[256];
        size_t klen = strlen(key);
        long v = -1;
        FILE *f;

        f = fopen("/proc/meminfo", "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
                        v = strtol(line + klen + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

/* Set vm.nr_hugepages (saving the old value once); false, with a note, if that is not possible here. */
static bool hugepages_set(long v) {
        long old = hugepages_read();
        int r;

        if (old < 0) {
                fprintf(stderr, "SKIPPED: cannot read /proc/sys/vm/nr_hugepages: %s\n", strerror(errno));
                return false;
        }
        if (lo->hugepages_saved < 0)
                lo->hugepages_saved = old;
        r = hugepages_write(v);
        if (r < 0) {
                fprintf(stderr, "SKIPPED: cannot write %ld to /proc/sys/vm/nr_hugepages: %s\n", v, strerror(-r));
                return false;
        }
        return true;
}

static void hugepages_restore(void) {
        long v = lo->hugepages_saved;

        if (v < 0)
                return;
        ck_assert_msg(hugepages_write(v) == 0, "expected to restore vm.nr_hugepages = %ld", v);
        lo->hugepages_saved = -1;
}

/* A tmpfs at @path (created if missing); false, with a note, if mounting is not allowed here. */
static bool tmpfs_mount(const char *path, const char *options) {
        if (mkdir(path, 0700) < 0)
                ck_assert_msg(errno == EEXIST, "cannot create %s: %s", path, strerror(errno));
        if (mount("none", path, "tmpfs", 0, options) < 0) {
                int e = errno;

                ck_assert_msg(e == EPERM, "expected mounting a tmpfs on %s to work (or EPERM), got %s", path,
                              strerror(e));
                fprintf(stderr, "SKIPPED: cannot mount a tmpfs on %s: %s\n", path, strerror(e));
                (void)rmdir(path);
                return false;
        }
        track_path(lo->mounts, path);
        return true;
}

static void tmpfs_unmount(const char *path) {
        ck_assert_msg(umount2(path, 0) == 0, "expected unmounting %s to work, got %s", path, strerror(errno));
        untrack_path(lo->mounts, path);
        (void)rmdir(path);
}

/* ---------------------------------------------------------------- children -- */

_printf_(1, 2) static int child_fail(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(lo->child_msg, sizeof(lo->child_msg), fmt, ap);
        va_end(ap);
        return 1;
}

/* Run @fn as @uid/@gid in a child with its own client; assert it returned 0. */
static void run_child_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg, const char *what) {
        int rc;

        lo->child_msg[0] = 0;
        lo->child_int = -1;
        rc = test_run_as(uid, gid, fn, arg);
        ck_assert_msg(rc == 0, "%s (child as uid %u): exit %d: %s", what, (unsigned)uid, rc,
                      lo->child_msg[0] ? lo->child_msg : "could not switch uid");
}

typedef struct ChildArgs {
        const char *socket;
        const char *name;
        enum shmb_backend backend;
        unsigned open_flags;                    /* SHMB_OPEN_RDONLY or 0 */
        const char *expect;                     /* bytes expected at offset 0 */
        const char *reply;                      /* read-write: written at REPLY_OFFSET */
        int shmid;
        uint64_t size;                          /* create */
        struct shmb_create_options opts;        /* create */
} ChildArgs;

static int child_connect(const ChildArgs *a, struct shmb_client **c) {
        int r = shmb_client_new(c, a->socket);

        if (r < 0)
                return child_fail("expected to connect to %s, got %s", a->socket, strerror(-r));
        return 0;
}

/* Open by name, check the hold, map, see the bytes; write a reply through a read-write hold. */
static int child_open_and_read(void *userdata) {
        const ChildArgs *a = userdata;
        bool ro = a->open_flags & SHMB_OPEN_RDONLY;
        struct shmb_segment *s = NULL;
        struct shmb_client *c;
        struct shmb_stat st;
        char *p;
        int r;

        if (child_connect(a, &c))
                return 1;
        r = shmb_open(c, a->name, a->open_flags, &s);
        if (r < 0)
                return child_fail("expected shmb_open('%s', %s) to succeed, got %s: %s", a->name,
                                  ro ? "RDONLY" : "read-write", strerror(-r), shmb_client_last_error(c));
        if (shmb_segment_is_readonly(s) != (int)ro)
                return child_fail("expected shmb_segment_is_readonly() == %d, got %d", ro,
                                  shmb_segment_is_readonly(s));
        if (shmb_segment_get_stat(s, &st) < 0 || st.backend != a->backend)
                return child_fail("expected backend %s in the open reply, got %s",
                                  shmb_backend_to_string(a->backend), shmb_backend_to_string(st.backend));
        r = shmb_segment_map(s, (void **)&p);
        if (r < 0)
                return child_fail("expected mapping '%s' to succeed, got %s", a->name, strerror(-r));
        if (memcmp(p, a->expect, strlen(a->expect)) != 0)
                return child_fail("expected to read '%s' at offset 0, got '%.*s'", a->expect,
                                  (int)strlen(a->expect), p);
        if (!ro)
                memcpy(p + REPLY_OFFSET, a->reply, strlen(a->reply));
        r = shmb_segment_release(s);
        if (r < 0)
                return child_fail("expected releasing '%s' to succeed, got %s", a->name, strerror(-r));
        shmb_client_free(c);
        return 0;
}

/* Create, check fd/shmid, write @expect at the start and the end, release. Reports the shmid. */
static int child_create_and_write(void *userdata) {
        const ChildArgs *a = userdata;
        size_t len = strlen(a->expect);
        struct shmb_segment *s = NULL;
        struct shmb_client *c;
        bool sysv = a->opts.backend == SHMB_BACKEND_SYSV;
        char *p;
        int r;

        if (child_connect(a, &c))
                return 1;
        r = shmb_create(c, a->name, a->size, &a->opts, &s);
        if (r < 0)
                return child_fail("expected creating '%s' to succeed, got %s: %s", a->name, strerror(-r),
                                  shmb_client_last_error(c));
        if (sysv && (shmb_segment_get_fd(s) != -ENODATA || shmb_segment_get_shmid(s) < 0))
                return child_fail("expected a sysv segment to have no fd (-ENODATA) and a shmid >= 0, got fd %d "
                                  "shmid %d",
                                  shmb_segment_get_fd(s), shmb_segment_get_shmid(s));
        if (!sysv && (shmb_segment_get_fd(s) < 0 || shmb_segment_get_shmid(s) != -ENODATA))
                return child_fail("expected a %s segment to have an fd and no shmid (-ENODATA), got fd %d shmid %d",
                                  shmb_backend_to_string(a->opts.backend), shmb_segment_get_fd(s),
                                  shmb_segment_get_shmid(s));
        lo->child_int = shmb_segment_get_shmid(s);
        r = shmb_segment_map(s, (void **)&p);
        if (r < 0)
                return child_fail("expected mapping '%s' to succeed, got %s", a->name, strerror(-r));
        memcpy(p, a->expect, len);
        memcpy(p + shmb_segment_get_size(s) - len, a->expect, len);
        r = shmb_segment_release(s);
        if (r < 0)
                return child_fail("expected releasing '%s' to succeed, got %s", a->name, strerror(-r));
        shmb_client_free(c);
        return 0;
}

/* ------------------------------------------------------ 1: each backend -- */

static void check_backend_lifecycle(enum shmb_backend backend) {
        const char *bname = shmb_backend_to_string(backend);
        char name[NAME_LEN], path[PATH_MAX], data[PATH_MAX], meta[PATH_MAX], text[64], link[PATH_MAX];
        struct shmb_segment *s;
        struct shmb_client *c;
        struct shmb_stat st, *list = NULL;
        ChildArgs a;
        TestDaemon d;
        size_t n = 0;
        ssize_t len;
        int base_fds, fds, shmid = -1, r;
        bool listed = false;
        char *p;

        seg_name(name, bname);
        snprintf(text, sizeof(text), "hello from %s", bname);
        daemon_start(&d, NULL);
        c = test_client(&d);
        base_fds = test_count_fds(d.pid);

        s = create_ok(c, name, 64 * KIB, backend, SHMB_LIFETIME_HOLDERS, 0644);
        ck_assert_int_eq(shmb_segment_get_stat(s, &st), 0);
        ck_assert_msg(st.backend == backend, "expected backend %s in the create reply, got %s", bname,
                      shmb_backend_to_string(st.backend));
        ck_assert_msg(st.flags & SHMB_SEG_CREATED, "expected SHMB_SEG_CREATED in the create reply");
        ck_assert_uint_eq(shmb_segment_get_size(s), 64 * KIB);
        p = map_ok(s);
        memcpy(p, text, strlen(text) + 1);

        /* The kernel object exists. */
        switch (backend) {
        case SHMB_BACKEND_MEMFD:
                snprintf(path, sizeof(path), "/proc/self/fd/%d", shmb_segment_get_fd(s));
                len = readlink(path, link, sizeof(link) - 1);
                ck_assert_int_gt(len, 0);
                link[len] = 0;
                ck_assert_msg(strncmp(link, "/memfd:shmb:", 12) == 0 && strstr(link, name),
                              "expected the fd to be a memfd labelled shmb:%s, got %s", name, link);
                break;
        case SHMB_BACKEND_POSIX:
                ck_assert_msg(posix_objects(name, path, sizeof(path)) == 1,
                              "expected one /dev/shm/shmb.*.%s object while the segment exists", name);
                break;
        case SHMB_BACKEND_SYSV:
                shmid = shmb_segment_get_shmid(s);
                ck_assert_msg(shmid >= 0, "expected a shmid, got %d", shmid);
                ck_assert_msg(sysv_stat_errno(shmid, NULL) == 0, "expected IPC_STAT of shmid %d to work", shmid);
                break;
        case SHMB_BACKEND_FILE:
                file_paths(&d, name, data, meta);
                ck_assert_msg(path_exists(data) && path_exists(meta), "expected %s and %s while the segment exists",
                              data, meta);
                break;
        default:
                ck_abort_msg("unknown backend %d", backend);
        }

        /* Another process with its own client opens it by name, read-write and read-only. */
        a = (ChildArgs){ .socket = d.socket, .name = name, .backend = backend, .expect = text, .reply = "child-rw" };
        run_child_as(0, 0, child_open_and_read, &a, "open read-write by name, see the bytes, write a reply");
        ck_assert_msg(memcmp(p + REPLY_OFFSET, "child-rw", 8) == 0,
                      "expected the child's write 'child-rw' visible to the creator, got '%.8s'", p + REPLY_OFFSET);
        a.open_flags = SHMB_OPEN_RDONLY;
        run_child_as(0, 0, child_open_and_read, &a, "open read-only by name, see the bytes");

        r = shmb_stat(c, name, &st);
        ck_assert_msg(r == 0, "expected stat of '%s' to succeed, got %s", name, strerror(-r));
        ck_assert_msg(st.backend == backend, "expected stat backend %s, got %s", bname,
                      shmb_backend_to_string(st.backend));
        ck_assert_uint_eq(st.size, 64 * KIB);
        ck_assert_uint_eq(st.mode, 0644);
        ck_assert_uint_eq(st.uid, 0);
        ck_assert_int_eq(st.lifetime, SHMB_LIFETIME_HOLDERS);
        ck_assert_msg(st.holders == 1, "expected 1 holder after the children released, got %u", st.holders);
        ck_assert_int_eq(st.shmid, backend == SHMB_BACKEND_SYSV ? shmid : -1);

        r = shmb_list(c, &list, &n);
        ck_assert_msg(r == 0, "expected list to succeed, got %s", strerror(-r));
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i].name, name) == 0) {
                        listed = true;
                        ck_assert_msg(list[i].backend == backend, "expected list backend %s, got %s", bname,
                                      shmb_backend_to_string(list[i].backend));
                }
        shmb_list_free(list);
        ck_assert_msg(listed, "expected '%s' in the list", name);

        /* The last release ends a "holders" segment, and its kernel object. */
        ck_assert_int_eq(shmb_segment_release(s), 0);
        r = shmb_stat(c, name, &st);
        ck_assert_msg(r == -ENOENT, "expected '%s' gone after the last release (-ENOENT), got %s", name,
                      strerror(-r));
        switch (backend) {
        case SHMB_BACKEND_POSIX:
                ck_assert_msg(posix_objects(name, NULL, 0) == 0, "expected no /dev/shm/shmb.*.%s after the last "
                              "release, found %s", name, path);
                break;
        case SHMB_BACKEND_SYSV:
                assert_sysv_gone(shmid, "after the last release");
                break;
        case SHMB_BACKEND_FILE:
                ck_assert_msg(!path_exists(data), "expected %s removed after the last release", data);
                ck_assert_msg(!path_exists(meta), "expected %s removed after the last release", meta);
                break;
        default:
                break;
        }
        /* Every fd the daemon had for it (memfd, read-only fds, files) is closed. */
        fds = wait_fd_count(d.pid, base_fds);
        ck_assert_msg(fds == base_fds, "expected the daemon back to %d fds after the last release, has %d",
                      base_fds, fds);

        shmb_client_free(c);
        daemon_stop(&d);
}

START_TEST(test_memfd_lifecycle) {
        check_backend_lifecycle(SHMB_BACKEND_MEMFD);
}
END_TEST

START_TEST(test_posix_lifecycle) {
        check_backend_lifecycle(SHMB_BACKEND_POSIX);
}
END_TEST

START_TEST(test_sysv_lifecycle) {
        check_backend_lifecycle(SHMB_BACKEND_SYSV);
}
END_TEST

START_TEST(test_file_lifecycle) {
        check_backend_lifecycle(SHMB_BACKEND_FILE);
}
END_TEST

/* Every backend takes every valid name, up to SHMB_NAME_MAX characters. */
START_TEST(test_max_length_names) {
        static const enum shmb_backend backends[] = { SHMB_BACKEND_MEMFD, SHMB_BACKEND_POSIX, SHMB_BACKEND_SYSV,
                                                      SHMB_BACKEND_FILE };
        struct shmb_client *c;
        TestDaemon d;

        daemon_start(&d, NULL);
        c = test_client(&d);
        for (size_t i = 0; i < ELEMENTSOF(backends); i++) {
                const char *bname = shmb_backend_to_string(backends[i]);
                struct shmb_create_options o = create_opts(backends[i], SHMB_LIFETIME_HOLDERS, 0600, 0);
                char name[SHMB_NAME_MAX + 1];
                struct shmb_segment *s = NULL, *ro = NULL;
                struct shmb_stat st;
                char *p, *q;
                int r, len;

                len = snprintf(name, sizeof(name), "tbk%d-%s-", (int)main_pid, bname);
                memset(name + len, 'L', SHMB_NAME_MAX - (size_t)len);
                name[SHMB_NAME_MAX] = 0;
                r = shmb_create(c, name, 4096, &o, &s);
                ck_assert_msg(r == 0, "expected a %s segment with a %d-character name to be created, got %s: %s",
                              bname, SHMB_NAME_MAX, strerror(-r), shmb_client_last_error(c));
                if (backends[i] == SHMB_BACKEND_SYSV)
                        track_shmid(shmb_segment_get_shmid(s));
                p = map_ok(s);
                strcpy(p, bname);
                r = shmb_open(c, name, SHMB_OPEN_RDONLY, &ro);
                ck_assert_msg(r == 0, "expected a read-only open of the %s segment with a %d-character name, got %s: "
                              "%s", bname, SHMB_NAME_MAX, strerror(-r), shmb_client_last_error(c));
                q = map_ok(ro);
                ck_assert_str_eq(q, bname);
                ck_assert_int_eq(shmb_segment_release(ro), 0);
                ck_assert_int_eq(shmb_segment_release(s), 0);
                ck_assert_int_eq(shmb_stat(c, name, &st), -ENOENT);
        }
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

/* ------------------------------------------------------------- 2: posix -- */

START_TEST(test_posix_object_mode_owner) {
        char name[NAME_LEN], path[PATH_MAX];
        struct shmb_segment *s;
        struct shmb_client *c;
        struct stat st;
        TestDaemon d;

        seg_name(name, "posix-obj");
        daemon_start(&d, NULL);
        c = test_client(&d);
        s = create_ok(c, name, 12345, SHMB_BACKEND_POSIX, SHMB_LIFETIME_PERSISTENT, 0644);
        ck_assert_msg(posix_objects(name, path, sizeof(path)) == 1, "expected one /dev/shm/shmb.*.%s", name);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_msg(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600,
                      "expected %s to be a regular file of mode 0600 (whatever the segment's 0644), got 0%o", path,
                      (unsigned)st.st_mode);
        ck_assert_msg(st.st_uid == 0 && st.st_gid == 0, "expected %s owned by the daemon (0:0), got %u:%u", path,
                      (unsigned)st.st_uid, (unsigned)st.st_gid);
        ck_assert_int_eq(st.st_size, 12345);

        /* Unheld but named (persistent): the object stays. */
        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_msg(path_exists(path), "expected %s to stay while the persistent segment has its name", path);
        ck_assert_int_eq(shmb_unlink(c, name), 0);
        ck_assert_msg(!path_exists(path), "expected %s removed with the segment's name", path);

        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

static int child_posix_readonly(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_segment *s = NULL;
        struct shmb_client *c;
        char path[64];
        void *p;
        int fd, fl, r;

        if (child_connect(a, &c))
                return 1;
        r = shmb_open(c, a->name, 0, &s);
        if (r != -EACCES)
                return child_fail("expected a read-write open of a 0644 root segment refused (-EACCES), got %s",
                                  strerror(-r));
        r = shmb_open(c, a->name, SHMB_OPEN_RDONLY, &s);
        if (r < 0)
                return child_fail("expected a read-only open to succeed, got %s", strerror(-r));
        fd = shmb_segment_get_fd(s);
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY)
                return child_fail("expected an O_RDONLY fd, got flags 0%o", fl);
        p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED || errno != EACCES)
                return child_fail("expected mmap(PROT_WRITE, MAP_SHARED) of the read-only fd to fail with EACCES, "
                                  "got %s",
                                  p == MAP_FAILED ? strerror(errno) : "success");
        /* The object is 0600 and root's: the fd cannot be reopened writable through /proc. */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        r = open(path, O_RDWR | O_CLOEXEC);
        if (r >= 0 || errno != EACCES)
                return child_fail("expected reopening %s read-write to fail with EACCES, got %s", path,
                                  r >= 0 ? "success" : strerror(errno));
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_posix_readonly_fd) {
        struct shmb_segment *rw, *ro;
        struct shmb_client *c;
        char name[NAME_LEN];
        ChildArgs a;
        TestDaemon d;
        char *p, *q;
        void *w;
        int fl;

        seg_name(name, "posix-ro");
        daemon_start(&d, NULL);
        daemon_open_dir(&d);
        c = test_client(&d);
        rw = create_ok(c, name, 64 * KIB, SHMB_BACKEND_POSIX, SHMB_LIFETIME_HOLDERS, 0644);
        p = map_ok(rw);
        strcpy(p, "ro-check");
        fl = fcntl(shmb_segment_get_fd(rw), F_GETFL);
        ck_assert_msg((fl & O_ACCMODE) == O_RDWR, "expected the creator's fd O_RDWR, got flags 0%o", fl);

        ck_assert_int_eq(shmb_open(c, name, SHMB_OPEN_RDONLY, &ro), 0);
        fl = fcntl(shmb_segment_get_fd(ro), F_GETFL);
        ck_assert_msg((fl & O_ACCMODE) == O_RDONLY, "expected the read-only holder's fd O_RDONLY, got flags 0%o", fl);
        w = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, MAP_SHARED, shmb_segment_get_fd(ro), 0);
        ck_assert_msg(w == MAP_FAILED && errno == EACCES,
                      "expected mmap(PROT_WRITE, MAP_SHARED) of the read-only fd to fail with EACCES, got %s",
                      w == MAP_FAILED ? strerror(errno) : "success");
        q = map_ok(ro);
        ck_assert_str_eq(q, "ro-check");

        a = (ChildArgs){ .socket = d.socket, .name = name, .backend = SHMB_BACKEND_POSIX };
        run_child_as(NOBODY, NOBODY, child_posix_readonly, &a, "read-only holder cannot write");

        ck_assert_int_eq(shmb_segment_release(ro), 0);
        ck_assert_int_eq(shmb_segment_release(rw), 0);
        ck_assert_msg(posix_objects(name, NULL, 0) == 0, "expected /dev/shm/shmb.*.%s gone after the last release",
                      name);
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

START_TEST(test_posix_unlink_keeps_mapping) {
        struct shmb_segment *old, *old_ro, *fresh;
        char name[NAME_LEN], path[PATH_MAX];
        struct stat st_old, st_new;
        struct shmb_client *c;
        struct shmb_stat st;
        TestDaemon d;
        char *p, *q, *n;

        seg_name(name, "posix-unlink");
        daemon_start(&d, NULL);
        c = test_client(&d);
        old = create_ok(c, name, 64 * KIB, SHMB_BACKEND_POSIX, SHMB_LIFETIME_HOLDERS, 0600);
        ck_assert_int_eq(shmb_open(c, name, SHMB_OPEN_RDONLY, &old_ro), 0);
        p = map_ok(old);
        q = map_ok(old_ro);
        strcpy(p, "before-unlink");
        ck_assert_int_eq(posix_objects(name, path, sizeof(path)), 1);

        ck_assert_int_eq(shmb_unlink(c, name), 0);
        ck_assert_msg(posix_objects(name, NULL, 0) == 0, "expected %s removed by unlink while held", path);
        ck_assert_int_eq(shmb_stat(c, name, &st), -ENOENT);
        /* The holders' memory is still shared. */
        ck_assert_str_eq(p, "before-unlink");
        strcpy(p, "after-unlink");
        ck_assert_msg(strcmp(q, "after-unlink") == 0,
                      "expected a write after unlink visible to the other holder, got '%s'", q);

        /* The name is free for a new, distinct segment. */
        fresh = create_ok(c, name, 64 * KIB, SHMB_BACKEND_POSIX, SHMB_LIFETIME_HOLDERS, 0600);
        ck_assert_msg(shmb_segment_get_id(fresh) != shmb_segment_get_id(old), "expected a new segment id");
        ck_assert_msg(posix_objects(name, NULL, 0) == 1, "expected a new /dev/shm/shmb.*.%s", name);
        ck_assert_int_eq(fstat(shmb_segment_get_fd(old), &st_old), 0);
        ck_assert_int_eq(fstat(shmb_segment_get_fd(fresh), &st_new), 0);
        ck_assert_msg(st_old.st_ino != st_new.st_ino, "expected the new segment to be another object (inode %llu)",
                      (unsigned long long)st_old.st_ino);
        n = map_ok(fresh);
        ck_assert_msg(n[0] == 0, "expected the new segment zero-filled, got '%.12s'", n);
        strcpy(n, "fresh");
        ck_assert_str_eq(p, "after-unlink");

        /* Destroying the old one must not take the new one's name. */
        ck_assert_int_eq(shmb_segment_release(old_ro), 0);
        ck_assert_int_eq(shmb_segment_release(old), 0);
        ck_assert_msg(posix_objects(name, NULL, 0) == 1,
                      "expected the new segment's /dev/shm object to survive the old segment's destruction");
        ck_assert_int_eq(shmb_stat(c, name, &st), 0);
        ck_assert_uint_eq(st.id, shmb_segment_get_id(fresh));
        ck_assert_int_eq(shmb_segment_release(fresh), 0);
        ck_assert_int_eq(posix_objects(name, NULL, 0), 0);

        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

/* -------------------------------------------------------------- 3: sysv -- */

static void assert_sysv_perm(int shmid, uid_t uid, gid_t gid, uint32_t mode, uint64_t size) {
        struct shmid_ds ds;
        int e = sysv_stat_errno(shmid, &ds);

        ck_assert_msg(e == 0, "expected IPC_STAT of shmid %d to work, got %s", shmid, strerror(e));
        ck_assert_msg(ds.shm_perm.uid == uid && ds.shm_perm.gid == gid,
                      "expected shmid %d owned by the segment's owner %u:%u, got %u:%u", shmid, (unsigned)uid,
                      (unsigned)gid, (unsigned)ds.shm_perm.uid, (unsigned)ds.shm_perm.gid);
        ck_assert_msg((ds.shm_perm.mode & 0777) == mode, "expected shmid %d mode 0%o, got 0%o", shmid, mode,
                      (unsigned)(ds.shm_perm.mode & 0777));
        ck_assert_msg(ds.shm_perm.cuid == 0 && ds.shm_perm.cgid == 0,
                      "expected shmid %d created by the daemon (cuid 0), got cuid %u cgid %u", shmid,
                      (unsigned)ds.shm_perm.cuid, (unsigned)ds.shm_perm.cgid);
        ck_assert_uint_eq(ds.shm_segsz, size);
}

START_TEST(test_sysv_shmid_and_perm) {
        char name[NAME_LEN], name2[NAME_LEN];
        struct shmb_segment *s;
        struct shmb_client *c;
        struct shmb_stat st;
        ChildArgs a;
        TestDaemon d;
        int shmid;

        seg_name(name, "sysv-root");
        seg_name(name2, "sysv-nobody");
        daemon_start(&d, NULL);
        daemon_open_dir(&d);
        c = test_client(&d);

        s = create_ok(c, name, 8192, SHMB_BACKEND_SYSV, SHMB_LIFETIME_HOLDERS, 0640);
        ck_assert_msg(shmb_segment_get_fd(s) == -ENODATA, "expected get_fd of a sysv segment to be -ENODATA, got %d",
                      shmb_segment_get_fd(s));
        shmid = shmb_segment_get_shmid(s);
        ck_assert_msg(shmid >= 0, "expected get_shmid >= 0, got %d", shmid);
        assert_sysv_perm(shmid, 0, 0, 0640, 8192);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        assert_sysv_gone(shmid, "holders segment after its release");

        /* Created by uid 65534: the kernel object is 65534's, its creator stays the daemon. */
        a = (ChildArgs){ .socket = d.socket, .name = name2, .size = 10000, .expect = "nobody" };
        a.opts = create_opts(SHMB_BACKEND_SYSV, SHMB_LIFETIME_PERSISTENT, 0604, 0);
        run_child_as(NOBODY, NOBODY, child_create_and_write, &a, "create a persistent sysv segment");
        shmid = lo->child_int;
        track_shmid(shmid);
        ck_assert_int_eq(shmb_stat(c, name2, &st), 0);
        ck_assert_int_eq(st.shmid, shmid);
        ck_assert_uint_eq(st.uid, NOBODY);
        ck_assert_uint_eq(st.gid, NOBODY);
        assert_sysv_perm(shmid, st.uid, st.gid, st.mode, 10000);
        ck_assert_int_eq(shmb_unlink(c, name2), 0);
        assert_sysv_gone(shmid, "unheld segment after unlink");

        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

START_TEST(test_sysv_readonly_attach) {
        struct shmb_segment *rw, *ro;
        struct shmb_client *c;
        char name[NAME_LEN], perms[8];
        TestDaemon d;
        char *p, *q;

        seg_name(name, "sysv-ro");
        daemon_start(&d, NULL);
        c = test_client(&d);
        rw = create_ok(c, name, 64 * KIB, SHMB_BACKEND_SYSV, SHMB_LIFETIME_HOLDERS, 0644);
        p = map_ok(rw);
        strcpy(p, "sysv-bytes");
        ck_assert_int_eq(shmb_open(c, name, SHMB_OPEN_RDONLY, &ro), 0);
        ck_assert_int_eq(shmb_segment_is_readonly(ro), 1);
        ck_assert_int_eq(shmb_segment_get_shmid(ro), shmb_segment_get_shmid(rw));
        q = map_ok(ro);
        ck_assert_msg(q != p, "expected a second attach at another address");
        ck_assert_str_eq(q, "sysv-bytes");
        maps_perms(q, perms, sizeof(perms));
        ck_assert_msg(strcmp(perms, "r--s") == 0, "expected the read-only attach mapped r--s, got '%s'", perms);
        maps_perms(p, perms, sizeof(perms));
        ck_assert_msg(strcmp(perms, "rw-s") == 0, "expected the read-write attach mapped rw-s, got '%s'", perms);
        ck_assert_int_eq(shmb_segment_release(ro), 0);
        ck_assert_int_eq(shmb_segment_release(rw), 0);
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

static int child_sysv_denied(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_segment *s = NULL;
        struct shmb_client *c;
        void *p;
        int r;

        if (child_connect(a, &c))
                return 1;
        r = shmb_open(c, a->name, SHMB_OPEN_RDONLY, &s);
        if (r != -EACCES)
                return child_fail("expected the daemon to refuse opening a 0600 root segment (-EACCES), got %s",
                                  r == 0 ? "success" : strerror(-r));
        p = shmat(a->shmid, NULL, 0);
        if (p != (void *)-1 || errno != EACCES)
                return child_fail("expected shmat(%d) read-write to fail with EACCES, got %s", a->shmid,
                                  p != (void *)-1 ? "success" : strerror(errno));
        p = shmat(a->shmid, NULL, SHM_RDONLY);
        if (p != (void *)-1 || errno != EACCES)
                return child_fail("expected shmat(%d, SHM_RDONLY) to fail with EACCES, got %s", a->shmid,
                                  p != (void *)-1 ? "success" : strerror(errno));
        shmb_client_free(c);
        return 0;
}

START_TEST(test_sysv_other_uid_denied) {
        struct shmb_segment *s;
        struct shmb_client *c;
        char name[NAME_LEN];
        ChildArgs a;
        TestDaemon d;

        seg_name(name, "sysv-private");
        daemon_start(&d, NULL);
        daemon_open_dir(&d);
        c = test_client(&d);
        s = create_ok(c, name, 4096, SHMB_BACKEND_SYSV, SHMB_LIFETIME_HOLDERS, 0600);
        a = (ChildArgs){ .socket = d.socket, .name = name, .shmid = shmb_segment_get_shmid(s) };
        run_child_as(NOBODY, NOBODY, child_sysv_denied, &a, "uid 65534 and a 0600 root sysv segment");
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

static int child_sysv_not_owner(void *userdata) {
        const ChildArgs *a = userdata;
        struct shmb_segment *s = NULL;
        struct shmb_client *c;
        struct shmid_ds ds;
        char *p;
        int r;

        if (child_connect(a, &c))
                return 1;
        r = shmb_open(c, a->name, 0, &s);
        if (r < 0)
                return child_fail("expected a read-write open of a 0666 segment to succeed, got %s", strerror(-r));
        r = shmb_segment_map(s, (void **)&p);
        if (r < 0)
                return child_fail("expected the attach to succeed, got %s", strerror(-r));
        strcpy(p, "from-nobody");
        if (shmctl(a->shmid, IPC_RMID, NULL) == 0 || errno != EPERM)
                return child_fail("expected IPC_RMID by a holder that is not the owner to fail with EPERM, got %s",
                                  errno == EPERM ? "success" : strerror(errno));
        if (shmctl(a->shmid, IPC_STAT, &ds) < 0)
                return child_fail("expected IPC_STAT of a 0666 segment to work, got %s", strerror(errno));
        ds.shm_perm.mode = 0600;
        ds.shm_perm.uid = NOBODY;
        if (shmctl(a->shmid, IPC_SET, &ds) == 0 || errno != EPERM)
                return child_fail("expected IPC_SET by a holder that is not the owner to fail with EPERM, got %s",
                                  errno == EPERM ? "success" : strerror(errno));
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

START_TEST(test_sysv_non_owner_holder_cannot_rmid_or_set) {
        struct shmb_segment *s;
        struct shmb_client *c;
        char name[NAME_LEN];
        ChildArgs a;
        TestDaemon d;
        char *p;

        seg_name(name, "sysv-shared");
        daemon_start(&d, NULL);
        daemon_open_dir(&d);
        c = test_client(&d);
        s = create_ok(c, name, 4096, SHMB_BACKEND_SYSV, SHMB_LIFETIME_HOLDERS, 0666);
        p = map_ok(s);
        a = (ChildArgs){ .socket = d.socket, .name = name, .shmid = shmb_segment_get_shmid(s) };
        run_child_as(NOBODY, NOBODY, child_sysv_not_owner, &a, "non-owner holder and IPC_RMID/IPC_SET");
        ck_assert_str_eq(p, "from-nobody");
        assert_sysv_perm(a.shmid, 0, 0, 0666, 4096);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        assert_sysv_gone(a.shmid, "after the last release");
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

/* --------------------------------------------------------- 4: leftovers -- */

#define N_LEFT 5

static const enum shmb_lifetime left_lifetimes[N_LEFT] = {
        SHMB_LIFETIME_PERSISTENT, SHMB_LIFETIME_PERSISTENT, SHMB_LIFETIME_HOLDERS,
        SHMB_LIFETIME_HOLDERS,    SHMB_LIFETIME_CREATOR,
};

/* Create N_LEFT segments of @backend (persistent, holders, creator), held by @c, none mapped. */
static void create_five(struct shmb_client *c, enum shmb_backend backend, const char *label,
                        struct shmb_segment **segs, char (*names)[NAME_LEN]) {
        for (int i = 0; i < N_LEFT; i++) {
                char l[64];

                snprintf(l, sizeof(l), "%s-%d", label, i);
                seg_name(names[i], l);
                segs[i] = create_ok(c, names[i], 4096 * (uint64_t)(i + 1), backend, left_lifetimes[i], 0600);
        }
}

static void drop_five(struct shmb_segment **segs) {
        for (int i = 0; i < N_LEFT; i++)
                (void)shmb_segment_release(segs[i]);      /* the daemon is gone: the handle is freed anyway */
}

/* A System V segment made by the test itself, not through the daemon. */
static int own_sysv_segment(void) {
        int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);

        ck_assert_msg(id >= 0, "expected shmget(IPC_PRIVATE) to work, got %s", strerror(errno));
        track_shmid(id);
        return id;
}

static void remove_own_sysv_segment(int id) {
        ck_assert_msg(shmctl(id, IPC_RMID, NULL) == 0, "expected removing our own shmid %d to work, got %s", id,
                      strerror(errno));
        untrack_shmid(id);
        ck_assert_msg(!ipcs_lists(id), "expected ipcs -m not to list our own shmid %d after IPC_RMID", id);
}

START_TEST(test_sysv_stop_removes_segments) {
        struct shmb_segment *segs[N_LEFT];
        char names[N_LEFT][NAME_LEN];
        struct shmb_client *c;
        int ids[N_LEFT], own;
        TestDaemon d;

        own = own_sysv_segment();
        daemon_start(&d, NULL);
        c = test_client(&d);
        create_five(c, SHMB_BACKEND_SYSV, "stop", segs, names);
        for (int i = 0; i < N_LEFT; i++) {
                ids[i] = shmb_segment_get_shmid(segs[i]);
                track_shmid(ids[i]);
                ck_assert_msg(ipcs_lists(ids[i]), "expected ipcs -m to list shmid %d of '%s'", ids[i], names[i]);
        }
        ck_assert_msg(ipcs_lists(own), "expected ipcs -m to list our own shmid %d", own);

        daemon_stop(&d);
        for (int i = 0; i < N_LEFT; i++) {
                ck_assert_msg(!ipcs_lists(ids[i]), "expected shmid %d (%s lifetime) removed by a normal stop, "
                              "ipcs -m still lists it", ids[i], shmb_lifetime_to_string(left_lifetimes[i]));
                untrack_shmid(ids[i]);
        }
        ck_assert_msg(ipcs_lists(own), "expected our own shmid %d untouched by the daemon's stop", own);
        drop_five(segs);
        shmb_client_free(c);
        remove_own_sysv_segment(own);
}
END_TEST

START_TEST(test_sysv_kill_then_restart_reaps) {
        struct shmb_segment *segs[N_LEFT];
        char names[N_LEFT][NAME_LEN];
        struct shmb_client *c;
        struct shmb_segment *s;
        int ids[N_LEFT], own;
        TestDaemon d;

        own = own_sysv_segment();
        daemon_start(&d, NULL);
        c = test_client(&d);
        create_five(c, SHMB_BACKEND_SYSV, "kill", segs, names);
        for (int i = 0; i < N_LEFT; i++) {
                ids[i] = shmb_segment_get_shmid(segs[i]);
                track_shmid(ids[i]);
        }

        daemon_kill9(&d);
        for (int i = 0; i < N_LEFT; i++)
                ck_assert_msg(ipcs_lists(ids[i]), "expected shmid %d (%s lifetime) kept by the kernel after kill -9",
                              ids[i], shmb_lifetime_to_string(left_lifetimes[i]));
        ck_assert_msg(ipcs_lists(own), "expected our own shmid %d to exist", own);
        drop_five(segs);
        shmb_client_free(c);

        daemon_restart(&d, NULL);
        for (int i = 0; i < N_LEFT; i++) {
                ck_assert_msg(!ipcs_lists(ids[i]), "expected shmid %d left by the killed daemon removed at restart, "
                              "ipcs -m still lists it", ids[i]);
                untrack_shmid(ids[i]);
        }
        ck_assert_msg(ipcs_lists(own), "expected our own shmid %d untouched by the restart", own);
        /* The restarted daemon serves sysv segments again. */
        c = test_client(&d);
        s = create_ok(c, names[0], 4096, SHMB_BACKEND_SYSV, SHMB_LIFETIME_HOLDERS, 0600);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        daemon_stop(&d);
        ck_assert_msg(ipcs_lists(own), "expected our own shmid %d untouched by the stop", own);
        remove_own_sysv_segment(own);
}
END_TEST

static int own_posix_object(const char *path) {
        int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

        ck_assert_msg(fd >= 0, "expected shm_open(%s) to work, got %s", path, strerror(errno));
        close(fd);
        return 0;
}

START_TEST(test_posix_kill_then_restart_reaps) {
        char names[N_LEFT][NAME_LEN], paths[N_LEFT][PATH_MAX], ours[128], foreign[128];
        char ours_dev[PATH_MAX], foreign_dev[PATH_MAX];
        struct shmb_segment *segs[N_LEFT];
        struct shmb_client *c;
        TestDaemon d;

        snprintf(ours, sizeof(ours), "/test-not-ours-tbk%d-", (int)main_pid);
        /* Looks like another daemon instance's (another state directory's tag). */
        snprintf(foreign, sizeof(foreign), "/shmb.ffffffff.tbk%d-foreign", (int)main_pid);
        snprintf(ours_dev, sizeof(ours_dev), "/dev/shm%s", ours);
        snprintf(foreign_dev, sizeof(foreign_dev), "/dev/shm%s", foreign);
        own_posix_object(ours);
        own_posix_object(foreign);

        daemon_start(&d, NULL);
        c = test_client(&d);
        create_five(c, SHMB_BACKEND_POSIX, "pkill", segs, names);
        for (int i = 0; i < N_LEFT; i++)
                ck_assert_msg(posix_objects(names[i], paths[i], sizeof(paths[i])) == 1,
                              "expected one /dev/shm/shmb.*.%s", names[i]);

        daemon_kill9(&d);
        for (int i = 0; i < N_LEFT; i++)
                ck_assert_msg(path_exists(paths[i]), "expected %s (%s lifetime) to exist after kill -9", paths[i],
                              shmb_lifetime_to_string(left_lifetimes[i]));
        drop_five(segs);
        shmb_client_free(c);

        daemon_restart(&d, NULL);
        for (int i = 0; i < N_LEFT; i++)
                ck_assert_msg(!path_exists(paths[i]), "expected %s left by the killed daemon removed at restart",
                              paths[i]);
        ck_assert_msg(path_exists(ours_dev), "expected %s (not the daemon's) to survive the restart", ours_dev);
        ck_assert_msg(path_exists(foreign_dev), "expected %s (another instance's tag) to survive the restart",
                      foreign_dev);

        /* A normal stop removes the restarted daemon's objects, and only those. */
        c = test_client(&d);
        create_five(c, SHMB_BACKEND_POSIX, "pstop", segs, names);
        for (int i = 0; i < N_LEFT; i++)
                ck_assert_int_eq(posix_objects(names[i], paths[i], sizeof(paths[i])), 1);
        daemon_stop(&d);
        for (int i = 0; i < N_LEFT; i++)
                ck_assert_msg(!path_exists(paths[i]), "expected %s removed by a normal stop", paths[i]);
        drop_five(segs);
        shmb_client_free(c);
        ck_assert_msg(path_exists(ours_dev) && path_exists(foreign_dev), "expected %s and %s to survive the stop",
                      ours_dev, foreign_dev);
        ck_assert_int_eq(shm_unlink(ours), 0);
        ck_assert_int_eq(shm_unlink(foreign), 0);
}
END_TEST

/* -------------------------------------------------------------- 5: file -- */

static void check_file_restored(const TestDaemon *d, const char *name, const struct shmb_stat *before,
                                const char *bytes) {
        size_t len = strlen(bytes);
        struct shmb_segment *s;
        struct shmb_client *c;
        struct shmb_stat st;
        char *p;
        int r;

        c = test_client(d);
        r = shmb_stat(c, name, &st);
        ck_assert_msg(r == 0, "expected file segment '%s' restored after the restart, stat gave %s", name,
                      strerror(-r));
        ck_assert_msg(st.backend == SHMB_BACKEND_FILE, "expected backend file after restore, got %s",
                      shmb_backend_to_string(st.backend));
        ck_assert_msg(st.size == before->size, "expected size %llu after restore, got %llu",
                      (unsigned long long)before->size, (unsigned long long)st.size);
        ck_assert_msg(st.uid == before->uid && st.gid == before->gid, "expected owner %u:%u after restore, got %u:%u",
                      (unsigned)before->uid, (unsigned)before->gid, (unsigned)st.uid, (unsigned)st.gid);
        ck_assert_msg(st.mode == before->mode, "expected mode 0%o after restore, got 0%o", before->mode, st.mode);
        ck_assert_msg(st.lifetime == SHMB_LIFETIME_PERSISTENT, "expected lifetime persistent after restore, got %s",
                      shmb_lifetime_to_string(st.lifetime));
        ck_assert_int_eq(shmb_open(c, name, SHMB_OPEN_RDONLY, &s), 0);
        p = map_ok(s);
        ck_assert_msg(memcmp(p, bytes, len) == 0, "expected '%s' at the start after restore, got '%.*s'", bytes,
                      (int)len, p);
        ck_assert_msg(memcmp(p + st.size - len, bytes, len) == 0, "expected '%s' at the end after restore", bytes);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
}

static void check_file_persistence(bool crash) {
        char name[NAME_LEN], data[PATH_MAX], meta[PATH_MAX];
        const char *bytes = crash ? "written-before-kill-9" : "written-before-sigterm";
        struct shmb_client *c;
        struct shmb_stat before;
        ChildArgs a;
        TestDaemon d;

        seg_name(name, crash ? "file-kill" : "file-stop");
        daemon_start(&d, NULL);
        daemon_open_dir(&d);
        a = (ChildArgs){ .socket = d.socket, .name = name, .size = 100 * KIB + 1, .expect = bytes };
        a.opts = create_opts(SHMB_BACKEND_FILE, SHMB_LIFETIME_PERSISTENT, 0640, 0);
        run_child_as(NOBODY, NOBODY, child_create_and_write, &a, "create and write a persistent file segment");
        c = test_client(&d);
        ck_assert_int_eq(shmb_stat(c, name, &before), 0);
        ck_assert_uint_eq(before.uid, NOBODY);
        ck_assert_uint_eq(before.gid, NOBODY);
        ck_assert_uint_eq(before.mode, 0640);
        ck_assert_uint_eq(before.size, 100 * KIB + 1);
        shmb_client_free(c);

        if (crash)
                daemon_kill9(&d);
        else
                daemon_term_keep(&d);
        file_paths(&d, name, data, meta);
        ck_assert_msg(path_exists(data) && path_exists(meta), "expected %s and %s kept while the daemon is down",
                      data, meta);
        daemon_restart(&d, NULL);
        check_file_restored(&d, name, &before, bytes);
        daemon_stop(&d);
}

START_TEST(test_file_persists_across_stop) {
        check_file_persistence(false);
}
END_TEST

START_TEST(test_file_persists_across_kill) {
        check_file_persistence(true);
}
END_TEST

START_TEST(test_file_holders_not_restored_after_kill) {
        char temp[NAME_LEN], keep[NAME_LEN], data[PATH_MAX], meta[PATH_MAX], kdata[PATH_MAX], kmeta[PATH_MAX];
        struct shmb_segment *t, *k;
        struct shmb_client *c;
        struct shmb_stat st;
        TestDaemon d;
        int r;

        seg_name(temp, "file-holders");
        seg_name(keep, "file-persistent");
        daemon_start(&d, NULL);
        c = test_client(&d);
        t = create_ok(c, temp, 64 * KIB, SHMB_BACKEND_FILE, SHMB_LIFETIME_HOLDERS, 0600);
        k = create_ok(c, keep, 64 * KIB, SHMB_BACKEND_FILE, SHMB_LIFETIME_PERSISTENT, 0600);
        file_paths(&d, temp, data, meta);
        file_paths(&d, keep, kdata, kmeta);
        ck_assert_msg(path_exists(data) && path_exists(meta), "expected %s and %s while held", data, meta);

        daemon_kill9(&d);
        ck_assert_msg(path_exists(data) && path_exists(meta), "expected %s and %s left by the killed daemon", data,
                      meta);
        (void)shmb_segment_release(t);
        (void)shmb_segment_release(k);
        shmb_client_free(c);

        daemon_restart(&d, NULL);
        ck_assert_msg(!path_exists(data), "expected %s (holders lifetime) removed at restart", data);
        ck_assert_msg(!path_exists(meta), "expected %s (holders lifetime) removed at restart", meta);
        c = test_client(&d);
        r = shmb_stat(c, temp, &st);
        ck_assert_msg(r == -ENOENT, "expected the holders-lifetime file segment not restored (-ENOENT), got %s",
                      r == 0 ? "success" : strerror(-r));
        r = shmb_stat(c, keep, &st);
        ck_assert_msg(r == 0, "expected the persistent file segment restored, got %s", strerror(-r));
        ck_assert_msg(path_exists(kdata) && path_exists(kmeta), "expected %s and %s kept", kdata, kmeta);
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

START_TEST(test_file_sync) {
        static const enum shmb_backend others[] = { SHMB_BACKEND_MEMFD, SHMB_BACKEND_POSIX, SHMB_BACKEND_SYSV };
        struct shmb_segment *f, *o;
        struct shmb_client *c;
        char name[NAME_LEN], other[NAME_LEN];
        TestDaemon d;
        char *p;
        int r;

        seg_name(name, "file-sync");
        daemon_start(&d, NULL);
        c = test_client(&d);
        f = create_ok(c, name, 64 * KIB, SHMB_BACKEND_FILE, SHMB_LIFETIME_HOLDERS, 0600);
        p = map_ok(f);
        strcpy(p, "sync me");
        r = shmb_sync(c, name);
        ck_assert_msg(r == 0, "expected sync of a file segment to return 0, got %s: %s", strerror(-r),
                      shmb_client_last_error(c));
        for (size_t i = 0; i < ELEMENTSOF(others); i++) {
                seg_name(other, shmb_backend_to_string(others[i]));
                o = create_ok(c, other, 4096, others[i], SHMB_LIFETIME_HOLDERS, 0600);
                r = shmb_sync(c, other);
                ck_assert_msg(r == -EOPNOTSUPP, "expected sync of a %s segment to give -EOPNOTSUPP, got %s",
                              shmb_backend_to_string(others[i]), r == 0 ? "success" : strerror(-r));
                ck_assert_msg(strstr(shmb_client_last_error(c), "only file segments"),
                              "expected the refusal to say only file segments sync, got '%s'",
                              shmb_client_last_error(c));
                ck_assert_int_eq(shmb_segment_release(o), 0);
        }
        r = shmb_sync(c, "tbk-no-such-segment");
        ck_assert_msg(r == -ENOENT, "expected sync of a missing segment to give -ENOENT, got %s", strerror(-r));
        ck_assert_int_eq(shmb_segment_release(f), 0);
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

/* "meta" is a valid segment name, although the backend keeps its attributes in segments/meta/. */
START_TEST(test_file_name_meta) {
        char data[PATH_MAX], meta[PATH_MAX];
        struct shmb_create_options o = create_opts(SHMB_BACKEND_FILE, SHMB_LIFETIME_PERSISTENT, 0600, 0);
        struct shmb_segment *s = NULL;
        struct shmb_client *c;
        struct shmb_stat st;
        struct stat fst;
        TestDaemon d;
        char *p;
        int r;

        daemon_start(&d, NULL);
        c = test_client(&d);
        r = shmb_create(c, "meta", 4096, &o, &s);
        ck_assert_msg(r == 0, "expected a file segment named 'meta' to be created, got %s: %s", strerror(-r),
                      shmb_client_last_error(c));
        p = map_ok(s);
        strcpy(p, "named meta");
        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_int_eq(shmb_stat(c, "meta", &st), 0);
        ck_assert_int_eq(st.backend, SHMB_BACKEND_FILE);
        snprintf(data, sizeof(data), "%s/segments/meta", d.state_dir);
        ck_assert_msg(stat(data, &fst) == 0 && S_ISDIR(fst.st_mode), "expected %s still the attributes directory",
                      data);
        shmb_client_free(c);

        /* And it persists like any other name. */
        daemon_term_keep(&d);
        daemon_restart(&d, NULL);
        c = test_client(&d);
        r = shmb_stat(c, "meta", &st);
        ck_assert_msg(r == 0, "expected the persistent file segment 'meta' restored, got %s", strerror(-r));
        ck_assert_int_eq(shmb_open(c, "meta", SHMB_OPEN_RDONLY, &s), 0);
        p = map_ok(s);
        ck_assert_str_eq(p, "named meta");
        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_int_eq(shmb_unlink(c, "meta"), 0);
        snprintf(meta, sizeof(meta), "%s/segments/meta", d.state_dir);
        ck_assert_msg(stat(meta, &fst) == 0 && S_ISDIR(fst.st_mode), "expected %s still a directory after unlink",
                      meta);
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

/* The state directory is a 1 MiB tmpfs. */
START_TEST(test_file_disk_full) {
        static const enum shmb_lifetime lifetimes[] = { SHMB_LIFETIME_HOLDERS, SHMB_LIFETIME_PERSISTENT };
        char mnt[128], big[NAME_LEN], small[NAME_LEN], segdir[PATH_MAX], metadir[PATH_MAX], first[NAME_MAX + 1];
        const char *args[] = { "--state-dir", mnt, NULL };
        struct shmb_segment *s;
        struct shmb_client *c;
        TestDaemon d;
        char *p;
        int r, n;

        snprintf(mnt, sizeof(mnt), "/tmp/shmbroker-tmpfs-%d-full", (int)getpid());
        if (!tmpfs_mount(mnt, "size=1M,mode=0755"))
                return;
        seg_name(big, "file-4m");
        seg_name(small, "file-256k");
        daemon_start(&d, args);
        snprintf(d.state_dir, sizeof(d.state_dir), "%s", mnt);
        snprintf(segdir, sizeof(segdir), "%s/segments/data", mnt);
        snprintf(metadir, sizeof(metadir), "%s/segments/meta", mnt);
        c = test_client(&d);

        for (size_t i = 0; i < ELEMENTSOF(lifetimes); i++) {
                struct shmb_create_options o = create_opts(SHMB_BACKEND_FILE, lifetimes[i], 0600, 0);

                s = NULL;
                r = shmb_create(c, big, 4 * MIB, &o, &s);
                ck_assert_msg(r == -ENOSPC, "expected a 4 MiB %s file segment on a 1 MiB state dir to fail with "
                              "-ENOSPC, got %s", shmb_lifetime_to_string(lifetimes[i]),
                              r == 0 ? "success" : strerror(-r));
                ck_assert_msg(strstr(shmb_client_last_error(c), "No space left on device"),
                              "expected the daemon's message to give the reason, got '%s'", shmb_client_last_error(c));
                n = dir_entries(segdir, NULL, first, sizeof(first));
                ck_assert_msg(n == 0, "expected nothing left in %s after the failed create, found %d ('%s')", segdir,
                              n, first);
                n = dir_entries(metadir, NULL, first, sizeof(first));
                ck_assert_msg(n == 0, "expected nothing left in %s after the failed create, found %d ('%s')",
                              metadir, n, first);
                ck_assert_int_eq(shmb_stat(c, big, &(struct shmb_stat){ 0 }), -ENOENT);
        }

        s = create_ok(c, small, 256 * KIB, SHMB_BACKEND_FILE, SHMB_LIFETIME_HOLDERS, 0600);
        p = map_ok(s);
        memset(p, 'x', 256 * KIB);
        ck_assert_int_eq(dir_entries(segdir, NULL, first, sizeof(first)), 1);
        ck_assert_str_eq(first, small);
        ck_assert_int_eq(shmb_segment_release(s), 0);

        shmb_client_free(c);
        daemon_stop(&d);
        tmpfs_unmount(mnt);
}
END_TEST

/*
 * The file backend's directory <state>/segments is a tmpfs remounted read-only
 * while the daemon runs. (Not the whole state directory: the daemon keeps its
 * lock file and System V journal there open for writing, so the kernel refuses
 * to remount that read-only with EBUSY.)
 */
START_TEST(test_file_readonly_state_dir) {
        char state[128], segdir[PATH_MAX], name[NAME_LEN], mem[NAME_LEN];
        const char *args[] = { "--state-dir", state, NULL };
        struct shmb_create_options o = create_opts(SHMB_BACKEND_FILE, SHMB_LIFETIME_HOLDERS, 0600, 0);
        struct shmb_segment *s = NULL;
        struct shmb_client *c;
        TestDaemon d;
        char *p;
        int r;

        snprintf(state, sizeof(state), "/tmp/shmbroker-tmpfs-%d-ro", (int)getpid());
        snprintf(segdir, sizeof(segdir), "%s/segments", state);
        ck_assert_int_eq(mkdir(state, 0755), 0);
        track_path(lo->dirs, state);
        if (!tmpfs_mount(segdir, "size=1M,mode=0700")) {
                remove_tree(state);
                untrack_path(lo->dirs, state);
                return;
        }
        seg_name(name, "file-ro");
        seg_name(mem, "memfd-ro");
        daemon_start(&d, args);
        snprintf(d.state_dir, sizeof(d.state_dir), "%s", state);
        ck_assert_msg(mount("none", segdir, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL) == 0,
                      "expected remounting %s read-only to work, got %s", segdir, strerror(errno));
        c = test_client(&d);

        r = shmb_create(c, name, 64 * KIB, &o, &s);
        ck_assert_msg(r == -ENOSPC, "expected creating a file segment on a read-only state dir to fail with "
                      "-ENOSPC (EROFS maps to NO_SPACE), got %s", r == 0 ? "success" : strerror(-r));
        ck_assert_msg(strstr(shmb_client_last_error(c), "Read-only file system"),
                      "expected 'Read-only file system' in the message, got '%s'", shmb_client_last_error(c));
        ck_assert_int_eq(shmb_stat(c, name, &(struct shmb_stat){ 0 }), -ENOENT);

        s = create_ok(c, mem, 64 * KIB, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_HOLDERS, 0600);
        p = map_ok(s);
        strcpy(p, "memfd still works");
        ck_assert_int_eq(shmb_segment_release(s), 0);

        shmb_client_free(c);
        daemon_stop(&d);
        tmpfs_unmount(segdir);
        remove_tree(state);
        untrack_path(lo->dirs, state);
}
END_TEST

/* -------------------------------------------------------------- 6: huge -- */

static void assert_huge_refused(struct shmb_client *c, enum shmb_backend backend, int want, const char *words) {
        struct shmb_create_options o = create_opts(backend, SHMB_LIFETIME_HOLDERS, 0600, SHMB_CREATE_HUGE);
        struct shmb_segment *s = NULL;
        char name[NAME_LEN];
        int r;

        seg_name(name, "huge-refused");
        r = shmb_create(c, name, 100, &o, &s);
        ck_assert_msg(r == want, "expected a --huge %s create to fail with %s, got %s", shmb_backend_to_string(backend),
                      strerror(-want), r == 0 ? "success" : strerror(-r));
        ck_assert_msg(strstr(shmb_client_last_error(c), words), "expected '%s' in the message, got '%s'", words,
                      shmb_client_last_error(c));
}

START_TEST(test_huge_without_reserved_pages) {
        struct shmb_client *c;
        TestDaemon d;
        long total;

        if (!hugepages_set(0))
                return;
        total = meminfo_value("HugePages_Total");
        if (total != 0) {
                fprintf(stderr, "SKIPPED %s: HugePages_Total is %ld with vm.nr_hugepages = 0\n", __func__, total);
                hugepages_restore();
                return;
        }
        daemon_start(&d, NULL);
        c = test_client(&d);
        assert_huge_refused(c, SHMB_BACKEND_MEMFD, -ENOSPC, "no huge pages are reserved");
        assert_huge_refused(c, SHMB_BACKEND_SYSV, -ENOSPC, "no huge pages are reserved");
        shmb_client_free(c);
        daemon_stop(&d);
        hugepages_restore();
}
END_TEST

START_TEST(test_huge_memfd_and_sysv) {
        static const enum shmb_backend backends[] = { SHMB_BACKEND_MEMFD, SHMB_BACKEND_SYSV };
        struct shmb_segment *segs[2], *ro;
        struct shmb_client *c;
        struct shmb_stat st;
        char name[NAME_LEN];
        TestDaemon d;
        long total, page_kb;
        uint64_t page;

        if (!hugepages_set(4))
                return;
        total = meminfo_value("HugePages_Total");
        page_kb = meminfo_value("Hugepagesize");
        if (total < 2 || page_kb <= 0) {
                fprintf(stderr, "SKIPPED %s: only %ld huge pages (of %ld kB) after vm.nr_hugepages = 4\n", __func__,
                        total, page_kb);
                hugepages_restore();
                return;
        }
        page = (uint64_t)page_kb * KIB;
        daemon_start(&d, NULL);
        c = test_client(&d);
        for (size_t i = 0; i < ELEMENTSOF(backends); i++) {
                struct shmb_create_options o = create_opts(backends[i], SHMB_LIFETIME_HOLDERS, 0600, SHMB_CREATE_HUGE);
                const char *bname = shmb_backend_to_string(backends[i]);
                char *p, *q;
                int r;

                seg_name(name, bname);
                r = shmb_create(c, name, 100, &o, &segs[i]);
                ck_assert_msg(r == 0, "expected a 100-byte --huge %s segment, got %s: %s", bname, strerror(-r),
                              shmb_client_last_error(c));
                if (backends[i] == SHMB_BACKEND_SYSV)
                        track_shmid(shmb_segment_get_shmid(segs[i]));
                ck_assert_int_eq(shmb_stat(c, name, &st), 0);
                ck_assert_msg(st.size == page, "expected a --huge %s segment of 100 bytes rounded to the huge page "
                              "size %llu, got %llu", bname, (unsigned long long)page, (unsigned long long)st.size);
                ck_assert_msg(st.flags & SHMB_SEG_HUGE, "expected SHMB_SEG_HUGE on the %s segment, flags 0x%x", bname,
                              st.flags);
                ck_assert_uint_eq(shmb_segment_get_size(segs[i]), page);
                p = map_ok(segs[i]);
                strcpy(p, "huge bytes");
                p[page - 1] = 'z';
                ck_assert_int_eq(shmb_open(c, name, SHMB_OPEN_RDONLY, &ro), 0);
                q = map_ok(ro);
                ck_assert_str_eq(q, "huge bytes");
                ck_assert_int_eq(q[page - 1], 'z');
                ck_assert_int_eq(shmb_segment_release(ro), 0);
                if (backends[i] == SHMB_BACKEND_SYSV) {
                        struct shmid_ds ds;

                        ck_assert_int_eq(sysv_stat_errno(st.shmid, &ds), 0);
                        ck_assert_uint_eq(ds.shm_segsz, page);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                ck_assert_int_eq(shmb_segment_release(segs[i]), 0);
        shmb_client_free(c);
        daemon_stop(&d);
        hugepages_restore();
}
END_TEST

START_TEST(test_huge_posix_file_unsupported) {
        struct shmb_client *c;
        TestDaemon d;

        daemon_start(&d, NULL);
        c = test_client(&d);
        assert_huge_refused(c, SHMB_BACKEND_POSIX, -EOPNOTSUPP, "not posix");
        assert_huge_refused(c, SHMB_BACKEND_FILE, -EOPNOTSUPP, "not file");
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

/* ----------------------------------------------------------- 7: reserve -- */

START_TEST(test_reserve_memfd_posix) {
        static const enum shmb_backend backends[] = { SHMB_BACKEND_MEMFD, SHMB_BACKEND_POSIX };
        struct shmb_client *c;
        TestDaemon d;

        daemon_start(&d, NULL);
        c = test_client(&d);
        for (size_t i = 0; i < ELEMENTSOF(backends); i++) {
                const char *bname = shmb_backend_to_string(backends[i]);

                for (int reserve = 0; reserve <= 1; reserve++) {
                        struct shmb_create_options o = create_opts(backends[i], SHMB_LIFETIME_HOLDERS, 0600,
                                                                   reserve ? SHMB_CREATE_RESERVE : 0);
                        struct shmb_segment *s = NULL;
                        struct shmb_stat st, rst;
                        char name[NAME_LEN], label[64];
                        struct stat fst;
                        int r;

                        snprintf(label, sizeof(label), "%s-reserve-%d", bname, reserve);
                        seg_name(name, label);
                        r = shmb_create(c, name, MIB, &o, &s);
                        ck_assert_msg(r == 0, "expected a %s segment (reserve %d), got %s: %s", bname, reserve,
                                      strerror(-r), shmb_client_last_error(c));
                        ck_assert_int_eq(shmb_segment_get_stat(s, &rst), 0);
                        ck_assert_int_eq(shmb_stat(c, name, &st), 0);
                        ck_assert_msg(!!(rst.flags & SHMB_SEG_RESERVED) == reserve &&
                                      !!(st.flags & SHMB_SEG_RESERVED) == reserve,
                                      "expected SHMB_SEG_RESERVED %s on the %s segment (reply 0x%x, stat 0x%x)",
                                      reserve ? "set" : "clear", bname, rst.flags, st.flags);
                        ck_assert_int_eq(fstat(shmb_segment_get_fd(s), &fst), 0);
                        if (reserve)
                                ck_assert_msg((uint64_t)fst.st_blocks * 512 >= MIB,
                                              "expected all %llu bytes of the reserved %s segment allocated, "
                                              "st_blocks*512 = %llu",
                                              MIB, bname, (unsigned long long)fst.st_blocks * 512);
                        else
                                ck_assert_msg(fst.st_blocks == 0,
                                              "expected nothing allocated in an untouched %s segment without "
                                              "reserve, st_blocks = %llu",
                                              bname, (unsigned long long)fst.st_blocks);
                        ck_assert_int_eq(shmb_segment_release(s), 0);
                }
        }
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

START_TEST(test_reserve_sysv_unsupported) {
        struct shmb_create_options o = create_opts(SHMB_BACKEND_SYSV, SHMB_LIFETIME_HOLDERS, 0600,
                                                   SHMB_CREATE_RESERVE);
        struct shmb_segment *s = NULL;
        struct shmb_client *c;
        char name[NAME_LEN];
        TestDaemon d;
        int r;

        seg_name(name, "sysv-reserve");
        daemon_start(&d, NULL);
        c = test_client(&d);
        r = shmb_create(c, name, MIB, &o, &s);
        ck_assert_msg(r == -EOPNOTSUPP, "expected sysv + reserve to fail with -EOPNOTSUPP, got %s",
                      r == 0 ? "success" : strerror(-r));
        ck_assert_msg(strstr(shmb_client_last_error(c), "sysv"), "expected the message to name sysv, got '%s'",
                      shmb_client_last_error(c));
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

/* ----------------------------------------------------------- 8: options -- */

START_TEST(test_disable_backend) {
        const char *args[] = { "--disable-backend", "sysv", NULL };
        struct shmb_create_options o = create_opts(SHMB_BACKEND_SYSV, SHMB_LIFETIME_HOLDERS, 0600, 0);
        struct shmb_segment *s = NULL;
        struct shmb_client *c;
        struct shmb_stat st;
        char name[NAME_LEN];
        TestDaemon d;
        int r;

        seg_name(name, "disabled");
        daemon_start(&d, args);
        c = test_client(&d);
        r = shmb_create(c, name, 4096, &o, &s);
        ck_assert_msg(r == -EOPNOTSUPP, "expected a sysv create with sysv disabled to fail with -EOPNOTSUPP, got %s",
                      r == 0 ? "success" : strerror(-r));
        ck_assert_msg(strstr(shmb_client_last_error(c), "'sysv'"), "expected the message to name the backend, got '%s'",
                      shmb_client_last_error(c));
        s = create_ok(c, name, 4096, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_HOLDERS, 0600);
        ck_assert_int_eq(shmb_stat(c, name, &st), 0);
        ck_assert_int_eq(st.backend, SHMB_BACKEND_MEMFD);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

START_TEST(test_default_backend) {
        const char *args[] = { "--default-backend", "posix", NULL };
        struct shmb_segment *s;
        struct shmb_client *c;
        struct shmb_stat st;
        char name[NAME_LEN];
        TestDaemon d;

        seg_name(name, "default");
        daemon_start(&d, args);
        c = test_client(&d);
        s = create_ok(c, name, 4096, SHMB_BACKEND_DEFAULT, SHMB_LIFETIME_HOLDERS, 0600);
        ck_assert_int_eq(shmb_stat(c, name, &st), 0);
        ck_assert_msg(st.backend == SHMB_BACKEND_POSIX, "expected the default backend posix in stat, got %s",
                      shmb_backend_to_string(st.backend));
        ck_assert_msg(posix_objects(name, NULL, 0) == 1, "expected a /dev/shm/shmb.*.%s object", name);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

START_TEST(test_default_backend_disabled_refuses_start) {
        char dir[128], sock[PATH_MAX], state[PATH_MAX], notify[PATH_MAX];
        const char *args[] = { "--socket", sock, "--state-dir", state, "--default-backend", "sysv",
                               "--disable-backend", "sysv", NULL };
        int status;

        snprintf(dir, sizeof(dir), "/tmp/shmbroker-test-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        track_path(lo->dirs, dir);
        snprintf(sock, sizeof(sock), "%s/shmbrokerd.sock", dir);
        snprintf(state, sizeof(state), "%s/state", dir);
        snprintf(notify, sizeof(notify), "%s/notify.sock", dir);
        status = daemon_expect_refusal(notify, args);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2,
                      "expected shmbrokerd to refuse a disabled default backend as a usage error (status 2), got 0x%x",
                      status);
        ck_assert_msg(!path_exists(sock), "expected no socket at %s", sock);
        remove_tree(dir);
        untrack_path(lo->dirs, dir);
}
END_TEST

START_TEST(test_state_dir_in_use) {
        char sock[PATH_MAX], notify[PATH_MAX], name[NAME_LEN];
        const char *args[] = { "--socket", sock, "--state-dir", NULL, NULL };
        struct shmb_segment *s;
        struct shmb_client *c;
        TestDaemon d;
        int status;

        seg_name(name, "lock");
        daemon_start(&d, NULL);
        snprintf(sock, sizeof(sock), "%s/second.sock", d.dir);
        args[3] = d.state_dir;
        snprintf(notify, sizeof(notify), "%s/notify2.sock", d.dir);
        status = daemon_expect_refusal(notify, args);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
                      "expected a second shmbrokerd on the same state dir to exit with status 1, got 0x%x", status);
        ck_assert_msg(!path_exists(sock), "expected the second daemon's socket %s removed", sock);
        /* The first one is unharmed. */
        c = test_client(&d);
        s = create_ok(c, name, 4096, SHMB_BACKEND_SYSV, SHMB_LIFETIME_HOLDERS, 0600);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        s = create_ok(c, name, 4096, SHMB_BACKEND_FILE, SHMB_LIFETIME_HOLDERS, 0600);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

/*
 * POSIX objects are named after the state directory, and each start removes
 * "its" objects as leftovers: a second daemon on the same state directory must
 * never do that to a running one, whatever backends it enables.
 */
START_TEST(test_second_daemon_keeps_first_posix_objects) {
        char sock[PATH_MAX], notify[PATH_MAX], name[NAME_LEN], path[PATH_MAX];
        const char *args[] = { "--socket", sock, "--state-dir", NULL, "--disable-backend", "sysv",
                               "--disable-backend", "file", NULL };
        struct shmb_segment *s;
        struct shmb_client *c;
        TestDaemon d;
        pid_t second;
        int status = 0, r;
        char *p;

        seg_name(name, "first-posix");
        daemon_start(&d, NULL);
        c = test_client(&d);
        s = create_ok(c, name, 64 * KIB, SHMB_BACKEND_POSIX, SHMB_LIFETIME_PERSISTENT, 0644);
        p = map_ok(s);
        strcpy(p, "first daemon");
        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_int_eq(posix_objects(name, path, sizeof(path)), 1);

        snprintf(sock, sizeof(sock), "%s/second.sock", d.dir);
        snprintf(notify, sizeof(notify), "%s/notify2.sock", d.dir);
        args[3] = d.state_dir;
        second = daemon_spawn(notify, args, &status);
        if (second > 0)
                status = daemon_spawned_stop(second);

        ck_assert_msg(path_exists(path),
                      "expected the running daemon's POSIX object %s to survive a second shmbrokerd on the same "
                      "state dir with only memfd and posix enabled; the second one %s",
                      path, second > 0 ? "started (no state-dir lock) and removed it as a leftover" : "exited");
        r = shmb_open(c, name, SHMB_OPEN_RDONLY, &s);
        ck_assert_msg(r == 0, "expected a read-only open of '%s' from the first daemon to work, got %s: %s", name,
                      strerror(-r), shmb_client_last_error(c));
        p = map_ok(s);
        ck_assert_str_eq(p, "first daemon");
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        daemon_stop(&d);
}
END_TEST

/* --------------------------------------------------------------- 9: ctl -- */

/* Run $SHMBROKERCTL @args with SHMBROKER_SOCKET set, @input on stdin, stdout into @out; return its exit status. */
static int run_ctl(const TestDaemon *d, const char *input, char *out, size_t size, const char *const *args) {
        const char *bin = getenv("SHMBROKERCTL");
        const char *argv[16];
        int in[2], outp[2], status;
        size_t n = 0, len = 0;
        pid_t pid;

        ck_assert_msg(bin, "SHMBROKERCTL is not set (run through make check)");
        argv[n++] = bin;
        for (size_t i = 0; args[i] && n < ELEMENTSOF(argv) - 1; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(outp, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (dup2(in[0], STDIN_FILENO) < 0 || dup2(outp[1], STDOUT_FILENO) < 0)
                        _exit(126);
                setenv("SHMBROKER_SOCKET", d->socket, 1);
                execv(bin, (char *const *)argv);
                _exit(127);
        }
        close(in[0]);
        close(outp[1]);
        if (input)
                ck_assert_int_eq(write(in[1], input, strlen(input)), (ssize_t)strlen(input));
        close(in[1]);
        for (;;) {
                char buf[4096];
                ssize_t r = read(outp[0], buf, sizeof(buf));

                if (r < 0 && errno == EINTR)
                        continue;
                ck_assert_int_ge(r, 0);
                if (r == 0)
                        break;
                for (ssize_t i = 0; i < r && len + 1 < size; i++)
                        out[len++] = buf[i];
        }
        out[len] = 0;
        close(outp[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "expected shmbrokerctl %s to exit, got wait status 0x%x", args[0], status);
        return WEXITSTATUS(status);
}

static void check_ctl_backend(const char *backend) {
        char name[NAME_LEN], out[4096], want[64], label[32];
        const char *create[] = { "create", name, "64K", "--backend", backend, NULL };
        const char *write_[] = { "write", name, NULL };
        const char *cat[] = { "cat", name, NULL };
        const char *stat_[] = { "stat", name, NULL };
        const char *sync_[] = { "sync", name, NULL };
        bool file = strcmp(backend, "file") == 0;
        TestDaemon d;
        int rc;

        snprintf(label, sizeof(label), "ctl-%s", backend);
        seg_name(name, label);
        daemon_start(&d, NULL);
        rc = run_ctl(&d, NULL, out, sizeof(out), create);
        ck_assert_msg(rc == 0, "expected `shmbrokerctl create %s 64K --backend %s` to exit 0, got %d", name, backend,
                      rc);
        rc = run_ctl(&d, "hi", out, sizeof(out), write_);
        ck_assert_msg(rc == 0, "expected `printf hi | shmbrokerctl write %s` to exit 0, got %d", name, rc);
        rc = run_ctl(&d, NULL, out, sizeof(out), cat);
        ck_assert_msg(rc == 0, "expected `shmbrokerctl cat %s` to exit 0, got %d", name, rc);
        ck_assert_msg(strncmp(out, "hi", 2) == 0, "expected `cat` output to start with 'hi', got '%.8s'", out);
        rc = run_ctl(&d, NULL, out, sizeof(out), stat_);
        ck_assert_msg(rc == 0, "expected `shmbrokerctl stat %s` to exit 0, got %d", name, rc);
        snprintf(want, sizeof(want), "\nbackend:  %s\n", backend);
        ck_assert_msg(strstr(out, want), "expected `stat` to show 'backend:  %s', got:\n%s", backend, out);
        if (strcmp(backend, "sysv") == 0) {
                const char *id = strstr(out, "\nshmid:    ");

                ck_assert_msg(id, "expected `stat` of a sysv segment to show 'shmid:', got:\n%s", out);
                track_shmid(atoi(id + 11));
        } else
                ck_assert_msg(!strstr(out, "shmid:"), "expected no 'shmid:' for a %s segment, got:\n%s", backend, out);
        rc = run_ctl(&d, NULL, out, sizeof(out), sync_);
        ck_assert_msg(rc == (file ? 0 : 1), "expected `shmbrokerctl sync` of a %s segment to exit %d, got %d", backend,
                      file ? 0 : 1, rc);
        daemon_stop(&d);
}

START_TEST(test_ctl_memfd) {
        check_ctl_backend("memfd");
}
END_TEST

START_TEST(test_ctl_posix) {
        check_ctl_backend("posix");
}
END_TEST

START_TEST(test_ctl_sysv) {
        check_ctl_backend("sysv");
}
END_TEST

START_TEST(test_ctl_file) {
        check_ctl_backend("file");
}
END_TEST

/* ------------------------------------------------------------------ main -- */

static TCase *tcase_new(Suite *s, const char *name) {
        TCase *tc = tcase_create(name);

        tcase_set_timeout(tc, 60);
        tcase_add_unchecked_fixture(tc, leftovers_setup, leftovers_teardown);
        suite_add_tcase(s, tc);
        return tc;
}

static Suite *backends_suite(void) {
        Suite *s = suite_create("backends");
        TCase *tc;

        tc = tcase_new(s, "lifecycle");
        tcase_add_test(tc, test_memfd_lifecycle);
        tcase_add_test(tc, test_posix_lifecycle);
        tcase_add_test(tc, test_sysv_lifecycle);
        tcase_add_test(tc, test_file_lifecycle);
        tcase_add_test(tc, test_max_length_names);

        tc = tcase_new(s, "posix");
        tcase_add_test(tc, test_posix_object_mode_owner);
        tcase_add_test(tc, test_posix_readonly_fd);
        tcase_add_test(tc, test_posix_unlink_keeps_mapping);

        tc = tcase_new(s, "sysv");
        tcase_add_test(tc, test_sysv_shmid_and_perm);
        tcase_add_test(tc, test_sysv_readonly_attach);
        tcase_add_test(tc, test_sysv_other_uid_denied);
        tcase_add_test(tc, test_sysv_non_owner_holder_cannot_rmid_or_set);

        tc = tcase_new(s, "leftovers");
        tcase_add_test(tc, test_sysv_stop_removes_segments);
        tcase_add_test(tc, test_sysv_kill_then_restart_reaps);
        tcase_add_test(tc, test_posix_kill_then_restart_reaps);

        tc = tcase_new(s, "file");
        tcase_add_test(tc, test_file_persists_across_stop);
        tcase_add_test(tc, test_file_persists_across_kill);
        tcase_add_test(tc, test_file_holders_not_restored_after_kill);
        tcase_add_test(tc, test_file_sync);
        tcase_add_test(tc, test_file_name_meta);
        tcase_add_test(tc, test_file_disk_full);
        tcase_add_test(tc, test_file_readonly_state_dir);

        tc = tcase_new(s, "huge");
        tcase_add_test(tc, test_huge_without_reserved_pages);
        tcase_add_test(tc, test_huge_memfd_and_sysv);
        tcase_add_test(tc, test_huge_posix_file_unsupported);

        tc = tcase_new(s, "reserve");
        tcase_add_test(tc, test_reserve_memfd_posix);
        tcase_add_test(tc, test_reserve_sysv_unsupported);

        tc = tcase_new(s, "options");
        tcase_add_test(tc, test_disable_backend);
        tcase_add_test(tc, test_default_backend);
        tcase_add_test(tc, test_default_backend_disabled_refuses_start);
        tcase_add_test(tc, test_state_dir_in_use);
        tcase_add_test(tc, test_second_daemon_keeps_first_posix_objects);

        tc = tcase_new(s, "ctl");
        tcase_add_test(tc, test_ctl_memfd);
        tcase_add_test(tc, test_ctl_posix);
        tcase_add_test(tc, test_ctl_sysv);
        tcase_add_test(tc, test_ctl_file);

        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        lo = mmap(NULL, sizeof(*lo), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (lo == MAP_FAILED) {
                perror("mmap");
                return EXIT_FAILURE;
        }
        main_pid = getpid();
        leftovers_setup();
        sr = srunner_create(backends_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
