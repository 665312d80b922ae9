/*
 * Integration tests: a segment's life after create, against a live
 * shmbrokerd: growing it (RESIZE, and the RESIZED notices that grow every
 * holder's handle), making it immutable (PUBLISH: write seals on memfd,
 * read-only opens everywhere), waiting for a name (OPEN with a timeout),
 * subscriptions (WATCH/UNWATCH, event order and sequence numbers, the
 * bounded queue of a slow reader), and lifetime "ttl".
 *
 * Children forked by a test never call ck_assert(): they write why they
 * failed into a shared page and exit non-zero. Parent and child step
 * through a test together over two pipes, one byte per step.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"
#include "tests/integration/util-daemon.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define NOBODY 65534
#define WAIT_MS 5000            /* deadline for asynchronous effects */
#define STEP_TIMEOUT_MS 10000   /* how long one side waits for the other's next step */
#define CHILD_MSG_SIZE 1024
#define EVENTS_MAX 64
#define SLOW_CYCLES 5000

/* ----------------------------------------------------------------- helpers -- */

/* Shared with the children: why a child failed. */
static char *child_msg;

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 1, 2))) static int child_fail(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(child_msg, CHILD_MSG_SIZE, fmt, ap);
        va_end(ap);
        return 1;
}

static void child_msg_reset(void) {
        if (!child_msg) {
                child_msg = mmap(NULL, CHILD_MSG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
                ck_assert_msg(child_msg != MAP_FAILED, "mmap of the child message page failed");
        }
        child_msg[0] = 0;
}

/* Two pipes between the test and one forked child. */
typedef struct Sync {
        int to_child[2];
        int to_parent[2];
} Sync;

static void sync_init(Sync *s) {
        ck_assert_int_eq(pipe2(s->to_child, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(s->to_parent, O_CLOEXEC), 0);
}

static void sync_close(Sync *s) {
        close(s->to_child[0]);
        close(s->to_child[1]);
        close(s->to_parent[0]);
        close(s->to_parent[1]);
}

static bool fd_write_all(int fd, const void *buf, size_t len) {
        const uint8_t *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return false;
                p += n;
                len -= (size_t)n;
        }
        return true;
}

/* Read exactly @len bytes within @timeout_ms; false on timeout, EOF or error. */
static bool fd_read_all(int fd, void *buf, size_t len, int timeout_ms) {
        uint64_t end = now_ms() + (uint64_t)timeout_ms;
        uint8_t *p = buf;

        while (len > 0) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                uint64_t now = now_ms();
                ssize_t n;

                if (now >= end || poll(&pfd, 1, (int)(end - now)) <= 0)
                        return false;
                n = read(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return false;
                p += n;
                len -= (size_t)n;
        }
        return true;
}

/* Parent side: tell the child @step, or wait for the child's @step. */
static void parent_send(Sync *s, char step) {
        ck_assert_msg(fd_write_all(s->to_child[1], &step, 1), "cannot tell the child '%c'", step);
}

static void parent_expect(Sync *s, char step) {
        char got = 0;

        ck_assert_msg(fd_read_all(s->to_parent[0], &got, 1, STEP_TIMEOUT_MS),
                      "child did not reach step '%c' (it failed or hangs: %s)", step,
                      child_msg[0] ? child_msg : "no message");
        ck_assert_msg(got == step, "child sent step '%c', expected '%c'", got, step);
}

/* Child side: the same, returning false on failure. */
static bool child_send(Sync *s, char step) {
        return fd_write_all(s->to_parent[1], &step, 1);
}

static bool child_expect(Sync *s, char step) {
        char got = 0;

        return fd_read_all(s->to_child[0], &got, 1, STEP_TIMEOUT_MS) && got == step;
}

typedef int (*ChildFn)(Sync *s, const TestDaemon *d);

/* Fork a child running @fn (before the test makes its own clients, so it inherits none). */
static pid_t child_start(Sync *s, const TestDaemon *d, ChildFn fn) {
        pid_t pid;

        child_msg_reset();
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(fn(s, d));
        return pid;
}

static void child_finish(pid_t pid) {
        int status = 0;

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status 0x%x): %s", status,
                      child_msg[0] ? child_msg : "no message");
}

/* Run @fn as nobody; assert it passed (child_msg says why not). */
static void run_as_nobody(int (*fn)(void *), void *arg) {
        int status;

        child_msg_reset();
        status = test_run_as(NOBODY, NOBODY, fn, arg);
        ck_assert_msg(status != 99, "child could not switch to uid %d", NOBODY);
        ck_assert_msg(status == 0, "child as uid %d: %s", NOBODY, child_msg[0] ? child_msg : "failed");
}

static struct shmb_create_options opts_make(enum shmb_backend backend, uint32_t mode, uint64_t max_size) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;

        o.backend = backend;
        o.mode = mode;
        o.max_size = max_size;
        return o;
}

static struct shmb_segment *create_seg(struct shmb_client *c, const char *name, uint64_t size,
                                       const struct shmb_create_options *o) {
        struct shmb_segment *s = NULL;
        int r = shmb_create(c, name, size, o, &s);

        ck_assert_msg(r == 0, "create '%s': %s (%s)", name, strerror(-r), shmb_client_last_error(c));
        ck_assert_ptr_nonnull(s);
        return s;
}

static struct shmb_segment *open_seg(struct shmb_client *c, const char *name, unsigned flags) {
        struct shmb_segment *s = NULL;
        int r = shmb_open(c, name, flags, &s);

        ck_assert_msg(r == 0, "open '%s': %s (%s)", name, strerror(-r), shmb_client_last_error(c));
        ck_assert_ptr_nonnull(s);
        return s;
}

static uint8_t *map_seg(struct shmb_segment *s) {
        void *p = NULL;
        int r = shmb_segment_map(s, &p);

        ck_assert_msg(r == 0, "map '%s': %s", shmb_segment_get_name(s), strerror(-r));
        ck_assert_ptr_nonnull(p);
        return p;
}

static struct shmb_stat stat_ok(struct shmb_client *c, const char *name) {
        struct shmb_stat st;
        int r = shmb_stat(c, name, &st);

        ck_assert_msg(r == 0, "stat '%s': %s (%s)", name, strerror(-r), shmb_client_last_error(c));
        return st;
}

static uint32_t handle_flags(const struct shmb_segment *s) {
        struct shmb_stat st;

        ck_assert_int_eq(shmb_segment_get_stat(s, &st), 0);
        return st.flags;
}

static off_t fd_size(int fd) {
        struct stat st;

        ck_assert_int_eq(fstat(fd, &st), 0);
        return st.st_size;
}

static uint8_t pattern_byte(size_t i, unsigned seed) {
        return (uint8_t)((i * 131u + seed * 7u) ^ (i >> 9) ^ seed);
}

static void pattern_fill(uint8_t *p, size_t from, size_t to, unsigned seed) {
        for (size_t i = from; i < to; i++)
                p[i] = pattern_byte(i, seed);
}

/* Index of the first byte in [@from, @to) that is not the pattern, or @to. */
static size_t pattern_mismatch(const uint8_t *p, size_t from, size_t to, unsigned seed) {
        for (size_t i = from; i < to; i++)
                if (p[i] != pattern_byte(i, seed))
                        return i;
        return to;
}

/* Events handed out by shmb_client_dispatch(), in order. */
typedef struct EventLog {
        struct shmb_event ev[EVENTS_MAX];
        size_t n;
        size_t overflow;
} EventLog;

static void log_event(struct shmb_client *c, const struct shmb_event *ev, void *userdata) {
        EventLog *log = userdata;

        if (log->n < EVENTS_MAX)
                log->ev[log->n++] = *ev;
        else
                log->overflow++;
}

/*
 * Dispatch events of @c into @log until it has @want of them or @timeout_ms
 * pass (poll between dispatches). Returns the number logged, or a negative
 * errno from shmb_client_dispatch(). Never asserts: children use it too.
 */
static int collect_events(struct shmb_client *c, EventLog *log, size_t want, int timeout_ms) {
        uint64_t end = now_ms() + (uint64_t)timeout_ms;

        for (;;) {
                struct pollfd pfd = { .fd = shmb_client_get_fd(c), .events = POLLIN };
                uint64_t now;
                int r = shmb_client_dispatch(c, log_event, log);

                if (r < 0)
                        return r;
                now = now_ms();
                if (log->n >= want || now >= end)
                        return (int)log->n;
                (void)poll(&pfd, 1, (int)(end - now));
        }
}

static void wait_events(struct shmb_client *c, EventLog *log, size_t want) {
        int r = collect_events(c, log, want, WAIT_MS);

        ck_assert_msg(r >= 0, "dispatch failed: %s", strerror(-r));
        ck_assert_msg(log->n >= want, "got %zu events within %d ms, expected %zu", log->n, WAIT_MS, want);
}

/* Nothing more is waiting for @c (the daemon sends events before it answers the request that caused them). */
static void assert_no_more_events(struct shmb_client *c, const char *what) {
        EventLog log = { .n = 0 };
        int r = shmb_client_dispatch(c, log_event, &log);

        ck_assert_msg(r == 0, "%s: %d unexpected events (first: %s '%s')", what, r,
                      log.n ? shmb_event_kind_to_string(log.ev[0].kind) : "-", log.n ? log.ev[0].name : "");
}

static void assert_event(const struct shmb_event *ev, enum shmb_event_kind kind, uint32_t watch_id, uint64_t id,
                         const char *name, uint64_t size, const char *what) {
        ck_assert_msg(ev->kind == kind, "%s: kind %s, expected %s", what, shmb_event_kind_to_string(ev->kind),
                      shmb_event_kind_to_string(kind));
        ck_assert_msg(ev->watch_id == watch_id, "%s: watch_id %u, expected %u", what, ev->watch_id, watch_id);
        ck_assert_msg(ev->id == id, "%s: segment id %llu, expected %llu", what, (unsigned long long)ev->id,
                      (unsigned long long)id);
        ck_assert_msg(strcmp(ev->name, name) == 0, "%s: name '%s', expected '%s'", what, ev->name, name);
        ck_assert_msg(ev->size == size, "%s: size %llu, expected %llu", what, (unsigned long long)ev->size,
                      (unsigned long long)size);
}

/* Poll until @name is gone (stat says -ENOENT); true if it went before the deadline. */
static bool wait_gone(struct shmb_client *c, const char *name, int timeout_ms) {
        uint64_t end = now_ms() + (uint64_t)timeout_ms;
        struct shmb_stat st;

        for (;;) {
                int r = shmb_stat(c, name, &st);

                ck_assert_msg(r == 0 || r == -ENOENT, "stat '%s': %s", name, strerror(-r));
                if (r == -ENOENT)
                        return true;
                if (now_ms() >= end)
                        return false;
                test_sleep_ms(20);
        }
}

/* A raw connection that has done HELLO. */
static int raw_ready(const TestDaemon *d) {
        int fd = test_raw_connect(d);

        test_raw_hello(fd);
        return fd;
}

/* Receive one reply on a raw socket; check its type and status; return its req_id. */
static uint32_t raw_expect(int fd, uint16_t type, uint16_t status, const char *what) {
        static uint8_t rbuf[SHMB_MSG_MAX];
        ProtoHeader h;
        ssize_t n;
        int pfd = -1;

        n = test_raw_recv(fd, rbuf, sizeof(rbuf), &pfd);
        if (pfd >= 0)
                close(pfd);
        ck_assert_msg(n > 0, "%s: no reply (%s)", what, n == 0 ? "disconnected" : strerror((int)-n));
        ck_assert_msg(proto_decode_header(rbuf, (size_t)n, &h) == 0, "%s: reply header does not decode", what);
        ck_assert_msg(h.type == (type | SHMB_MSG_REPLY), "%s: reply type 0x%04x, expected 0x%04x", what, h.type,
                      type | SHMB_MSG_REPLY);
        ck_assert_msg(h.status == status, "%s: status %s, expected %s", what, proto_status_name(h.status),
                      proto_status_name(status));
        return h.req_id;
}

/* ------------------------------------------------------------------ resize -- */

#define GROW_NAME "grow"
#define GROW_SMALL (64 * KIB)
#define GROW_BIG (512 * KIB)
#define GROW_MAX (1 * MIB)

/* The second holder: opens, maps, gets the RESIZED notice, maps again, writes beyond the old end. */
static int child_resize_holder(Sync *sy, const TestDaemon *d) {
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        EventLog log = { .n = 0 };
        uint8_t *old = NULL, *big = NULL;
        size_t bad;
        int r;

        if (!child_expect(sy, 'c'))
                return child_fail("no 'created' step from the parent");
        r = shmb_client_new(&c, d->socket);
        if (r < 0)
                return child_fail("connect: %s", strerror(-r));
        r = shmb_open(c, GROW_NAME, 0, &s);
        if (r < 0)
                return child_fail("open '%s': %s (%s)", GROW_NAME, strerror(-r), shmb_client_last_error(c));
        if (shmb_segment_get_size(s) != GROW_SMALL)
                return child_fail("opened size %llu, expected %u", (unsigned long long)shmb_segment_get_size(s),
                                  GROW_SMALL);
        r = shmb_segment_map(s, (void **)&old);
        if (r < 0)
                return child_fail("map: %s", strerror(-r));
        bad = pattern_mismatch(old, 0, GROW_SMALL, 1);
        if (bad != GROW_SMALL)
                return child_fail("byte %zu of the creator's pattern differs in the child's mapping", bad);
        if (!child_send(sy, 'o'))
                return child_fail("cannot send 'opened'");

        if (!child_expect(sy, 'r'))
                return child_fail("no 'resized' step from the parent");
        r = collect_events(c, &log, 1, WAIT_MS);
        if (r < 0)
                return child_fail("dispatch: %s", strerror(-r));
        if (log.n != 1)
                return child_fail("the second holder got %zu events, expected one RESIZED notice", log.n);
        if (log.ev[0].kind != SHMB_EVENT_RESIZED || log.ev[0].watch_id != 0 || log.ev[0].size != GROW_BIG ||
            log.ev[0].id != shmb_segment_get_id(s) || strcmp(log.ev[0].name, GROW_NAME) != 0)
                return child_fail("second holder's notice: kind %s watch_id %u size %llu id %llu name '%s', "
                                  "expected RESIZED, 0, %u, %llu, '%s'",
                                  shmb_event_kind_to_string(log.ev[0].kind), log.ev[0].watch_id,
                                  (unsigned long long)log.ev[0].size, (unsigned long long)log.ev[0].id,
                                  log.ev[0].name, GROW_BIG, (unsigned long long)shmb_segment_get_id(s), GROW_NAME);
        if (shmb_segment_get_size(s) != GROW_BIG)
                return child_fail("the notice did not grow the handle: size %llu, expected %u",
                                  (unsigned long long)shmb_segment_get_size(s), GROW_BIG);
        r = shmb_segment_map(s, (void **)&big);
        if (r < 0)
                return child_fail("map after the resize: %s", strerror(-r));
        if (big == old)
                return child_fail("shmb_segment_map() returned the old 64 KiB mapping after the resize");
        if (msync(big, GROW_BIG, MS_ASYNC) < 0)
                return child_fail("the new mapping does not cover 512 KiB: msync: %s", strerror(errno));
        /* The old mapping stays valid until release. */
        bad = pattern_mismatch(old, 0, GROW_SMALL, 1);
        if (bad != GROW_SMALL)
                return child_fail("old mapping: byte %zu differs after the resize", bad);
        bad = pattern_mismatch(big, 0, GROW_SMALL, 1);
        if (bad != GROW_SMALL)
                return child_fail("new mapping: byte %zu of the first 64 KiB differs", bad);
        /* Beyond the old end, for the creator to read. */
        pattern_fill(big, GROW_SMALL, 2 * GROW_SMALL, 2);
        big[GROW_BIG - 1] = 0xc7;
        if (!child_send(sy, 'w'))
                return child_fail("cannot send 'written'");

        if (!child_expect(sy, 'v'))
                return child_fail("no 'verified' step from the parent");
        bad = pattern_mismatch(big, 256 * KIB, GROW_BIG - 1, 3);
        if (bad != GROW_BIG - 1)
                return child_fail("byte %zu written by the creator beyond 64 KiB is not seen by the second holder",
                                  bad);
        r = shmb_segment_release(s);
        if (r < 0)
                return child_fail("release: %s", strerror(-r));
        shmb_client_free(c);
        return 0;
}

START_TEST(test_resize_memfd_two_holders) {
        struct shmb_create_options o = opts_make(SHMB_BACKEND_MEMFD, 0600, GROW_MAX);
        EventLog log = { .n = 0 };
        struct shmb_client *c;
        struct shmb_segment *s;
        struct shmb_stat st;
        uint8_t *old, *big;
        TestDaemon d;
        Sync sy;
        pid_t pid;

        test_daemon_start(&d, NULL);
        sync_init(&sy);
        pid = child_start(&sy, &d, child_resize_holder);

        c = test_client(&d);
        s = create_seg(c, GROW_NAME, GROW_SMALL, &o);
        ck_assert_uint_eq(shmb_segment_get_size(s), GROW_SMALL);
        st = stat_ok(c, GROW_NAME);
        ck_assert_uint_eq(st.size, GROW_SMALL);
        ck_assert_uint_eq(st.max_size, GROW_MAX);
        old = map_seg(s);
        pattern_fill(old, 0, GROW_SMALL, 1);
        parent_send(&sy, 'c');
        parent_expect(&sy, 'o');

        ck_assert_msg(shmb_resize(c, GROW_NAME, GROW_BIG) == 0, "resize to 512 KiB: %s",
                      shmb_client_last_error(c));
        st = stat_ok(c, GROW_NAME);
        ck_assert_msg(st.size == GROW_BIG, "stat after the resize: size %llu, expected %u",
                      (unsigned long long)st.size, GROW_BIG);
        ck_assert_uint_eq(st.max_size, GROW_MAX);

        /* The creator, a holder too, gets its notice (watch id 0) and its handle grows. */
        wait_events(c, &log, 1);
        ck_assert_uint_eq(log.n, 1);
        assert_event(&log.ev[0], SHMB_EVENT_RESIZED, 0, shmb_segment_get_id(s), GROW_NAME, GROW_BIG,
                     "creator's RESIZED notice");
        ck_assert_msg(shmb_segment_get_size(s) == GROW_BIG, "creator's handle size %llu after the notice, "
                      "expected %u", (unsigned long long)shmb_segment_get_size(s), GROW_BIG);
        parent_send(&sy, 'r');

        parent_expect(&sy, 'w');
        big = map_seg(s);
        ck_assert_msg(big != old, "shmb_segment_map() returned the old mapping after the resize");
        ck_assert_msg(msync(big, GROW_BIG, MS_ASYNC) == 0, "the new mapping does not cover 512 KiB");
        ck_assert_msg(pattern_mismatch(old, 0, GROW_SMALL, 1) == GROW_SMALL,
                      "the old 64 KiB mapping no longer reads the creator's bytes");
        ck_assert_msg(pattern_mismatch(big, GROW_SMALL, 2 * GROW_SMALL, 2) == 2 * GROW_SMALL,
                      "bytes the second holder wrote beyond 64 KiB are not seen by the creator");
        ck_assert_uint_eq(big[GROW_BIG - 1], 0xc7);
        pattern_fill(big, 256 * KIB, GROW_BIG - 1, 3);
        parent_send(&sy, 'v');
        child_finish(pid);

        /* Refusals leave the segment as it is. */
        ck_assert_int_eq(shmb_resize(c, GROW_NAME, GROW_BIG - 1), -EINVAL);
        ck_assert_int_eq(shmb_resize(c, GROW_NAME, GROW_SMALL), -EINVAL);
        ck_assert_int_eq(shmb_resize(c, GROW_NAME, GROW_MAX + 1), -EFBIG);
        ck_assert_int_eq(shmb_resize(c, GROW_NAME, 2 * GROW_MAX), -EFBIG);
        ck_assert_int_eq(shmb_resize(c, GROW_NAME, GROW_BIG), 0);
        ck_assert_uint_eq(stat_ok(c, GROW_NAME).size, GROW_BIG);
        ck_assert_int_eq(shmb_resize(c, "no-such-segment", GROW_BIG), -ENOENT);

        /* Up to max_size exactly is fine. */
        ck_assert_int_eq(shmb_resize(c, GROW_NAME, GROW_MAX), 0);
        ck_assert_uint_eq(stat_ok(c, GROW_NAME).size, GROW_MAX);

        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        sync_close(&sy);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_resize_backends) {
        struct shmb_create_options sysv = opts_make(SHMB_BACKEND_SYSV, 0600, 0);
        struct shmb_create_options posix = opts_make(SHMB_BACKEND_POSIX, 0600, 0);
        struct shmb_create_options file = opts_make(SHMB_BACKEND_FILE, 0600, 0);
        struct shmb_segment *sv, *px, *fl;
        struct shmb_client *c;
        uint8_t *p;
        TestDaemon d;

        test_daemon_start(&d, NULL);
        c = test_client(&d);

        /* System V segments cannot grow in place. */
        sv = create_seg(c, "grow.sysv", 64 * KIB, &sysv);
        ck_assert_int_eq(shmb_resize(c, "grow.sysv", 128 * KIB), -EOPNOTSUPP);
        ck_assert_uint_eq(stat_ok(c, "grow.sysv").size, 64 * KIB);

        /* POSIX and file segments grow without a max_size: ftruncate in the daemon. */
        px = create_seg(c, "grow.posix", 64 * KIB, &posix);
        p = map_seg(px);
        memset(p, 0x5a, 64 * KIB);
        ck_assert_int_eq(shmb_resize(c, "grow.posix", 256 * KIB), 0);
        ck_assert_msg(fd_size(shmb_segment_get_fd(px)) == 256 * KIB, "posix object is %lld bytes after the resize",
                      (long long)fd_size(shmb_segment_get_fd(px)));
        ck_assert_uint_eq(stat_ok(c, "grow.posix").size, 256 * KIB);
        ck_assert_uint_eq(p[64 * KIB - 1], 0x5a);

        fl = create_seg(c, "grow.file", 64 * KIB, &file);
        ck_assert_int_eq(shmb_resize(c, "grow.file", 3 * MIB), 0);
        ck_assert_msg(fd_size(shmb_segment_get_fd(fl)) == 3 * MIB, "file is %lld bytes after the resize",
                      (long long)fd_size(shmb_segment_get_fd(fl)));
        ck_assert_uint_eq(stat_ok(c, "grow.file").size, 3 * MIB);
        ck_assert_int_eq(shmb_resize(c, "grow.file", MIB), -EINVAL);

        ck_assert_int_eq(shmb_segment_release(fl), 0);
        ck_assert_int_eq(shmb_segment_release(px), 0);
        ck_assert_int_eq(shmb_segment_release(sv), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_resize_quota) {
        const char *args[] = { "--max-bytes-per-user", "1M", NULL };
        struct shmb_create_options posix = opts_make(SHMB_BACKEND_POSIX, 0600, 0);
        struct shmb_create_options memfd_big = opts_make(SHMB_BACKEND_MEMFD, 0600, 768 * KIB);
        struct shmb_create_options memfd_ok = opts_make(SHMB_BACKEND_MEMFD, 0600, 256 * KIB);
        struct shmb_segment *px, *mf = NULL;
        struct shmb_client *c;
        TestDaemon d;
        int r;

        test_daemon_start(&d, args);
        c = test_client(&d);

        /* A POSIX segment cannot grow past the owner's byte quota; the refusal changes nothing. */
        px = create_seg(c, "quota.posix", 512 * KIB, &posix);
        ck_assert_int_eq(shmb_resize(c, "quota.posix", 2 * MIB), -EDQUOT);
        ck_assert_msg(stat_ok(c, "quota.posix").size == 512 * KIB, "a refused resize changed the size");
        ck_assert_msg(fd_size(shmb_segment_get_fd(px)) == 512 * KIB, "a refused resize changed the object");

        /* A memfd is charged its max_size at create: 64 KiB would fit, 768 KiB (or 2 MiB) does not. */
        memfd_big.max_size = 2 * MIB;
        r = shmb_create(c, "quota.memfd", 64 * KIB, &memfd_big, &mf);
        ck_assert_msg(r == -EDQUOT, "memfd with max_size 2 MiB under a 1 MiB quota: %s, expected EDQUOT",
                      r < 0 ? strerror(-r) : "created");
        memfd_big.max_size = 768 * KIB;
        r = shmb_create(c, "quota.memfd", 64 * KIB, &memfd_big, &mf);
        ck_assert_msg(r == -EDQUOT, "memfd with max_size 768 KiB beside 512 KiB under a 1 MiB quota: %s, "
                      "expected EDQUOT", r < 0 ? strerror(-r) : "created");
        ck_assert_int_eq(shmb_stat(c, "quota.memfd", &(struct shmb_stat){ 0 }), -ENOENT);
        mf = create_seg(c, "quota.memfd", 64 * KIB, &memfd_ok);
        /* Now 768 KiB are charged: growing the posix segment by 512 KiB is over. */
        ck_assert_int_eq(shmb_resize(c, "quota.posix", MIB), -EDQUOT);
        ck_assert_int_eq(shmb_segment_release(mf), 0);
        /* With the memfd's charge refunded, up to the quota is fine. */
        ck_assert_int_eq(shmb_resize(c, "quota.posix", MIB), 0);
        ck_assert_uint_eq(stat_ok(c, "quota.posix").size, MIB);

        ck_assert_int_eq(shmb_segment_release(px), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

typedef struct NobodyArgs {
        const char *socket;
        const char *name;
        bool publish;           /* try shmb_publish(), else shmb_resize() */
} NobodyArgs;

/* As nobody on a root-owned 0644 segment: readable, so not a secret, but neither growable nor publishable. */
static int nobody_change(void *userdata) {
        const NobodyArgs *a = userdata;
        struct shmb_client *c = NULL;
        struct shmb_stat st;
        int r;

        r = shmb_client_new(&c, a->socket);
        if (r < 0)
                return child_fail("connect: %s", strerror(-r));
        r = shmb_stat(c, a->name, &st);
        if (r < 0)
                return child_fail("stat of a 0644 segment: %s", strerror(-r));
        r = a->publish ? shmb_publish(c, a->name) : shmb_resize(c, a->name, st.size * 2);
        if (r != -EACCES)
                return child_fail("%s by a reader without write permission: %s, expected EACCES",
                                  a->publish ? "publish" : "resize", r < 0 ? strerror(-r) : "success");
        shmb_client_free(c);
        return 0;
}

/* Root makes a 0644 memfd segment; nobody tries to resize or publish it; nothing changes. */
static void run_nobody_change(bool publish) {
        struct shmb_create_options o = opts_make(SHMB_BACKEND_MEMFD, 0644, MIB);
        struct shmb_client *c;
        struct shmb_segment *s;
        struct shmb_stat st;
        TestDaemon d;
        NobodyArgs a = { .name = "root.0644", .publish = publish };

        test_daemon_start(&d, NULL);
        test_daemon_share(&d);
        a.socket = d.socket;
        c = test_client(&d);
        s = create_seg(c, a.name, 64 * KIB, &o);

        run_as_nobody(nobody_change, &a);
        st = stat_ok(c, a.name);
        ck_assert_msg(st.size == 64 * KIB, "a refused resize changed the size to %llu", (unsigned long long)st.size);
        ck_assert_msg(!(st.flags & SHMB_SEG_PUBLISHED), "a refused publish published the segment");
        /* The owner still can. */
        if (publish)
                ck_assert_int_eq(shmb_publish(c, a.name), 0);
        else
                ck_assert_int_eq(shmb_resize(c, a.name, 128 * KIB), 0);

        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}

START_TEST(test_resize_needs_write_access) {
        run_nobody_change(false);
}
END_TEST

/* ----------------------------------------------------------------- publish -- */

/* Every later open of @name, however asked, is a read-only hold with a read-only fd. */
static void assert_opens_read_only(struct shmb_client *c, const char *name, uint64_t size) {
        struct shmb_segment *rw, *cr, *ro;
        int fd;

        rw = open_seg(c, name, 0);
        ck_assert_msg(shmb_segment_is_readonly(rw) == 1, "read-write open of published '%s' is not read-only", name);
        ck_assert(handle_flags(rw) & SHMB_SEG_READONLY);
        ck_assert(handle_flags(rw) & SHMB_SEG_PUBLISHED);
        fd = shmb_segment_get_fd(rw);
        ck_assert_msg((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "read-write open of published '%s' passed a "
                      "writable fd", name);
        errno = 0;
        ck_assert_ptr_eq(mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
        ck_assert_int_eq(errno, EACCES);

        /* Create-or-open of the existing name is an open: read-only too, not CREATED. */
        cr = create_seg(c, name, size, NULL);
        ck_assert_msg(shmb_segment_is_readonly(cr) == 1, "create-or-open of published '%s' is not read-only", name);
        ck_assert(!(handle_flags(cr) & SHMB_SEG_CREATED));
        ck_assert_uint_eq(shmb_segment_get_id(cr), shmb_segment_get_id(rw));
        ck_assert_int_eq(fcntl(shmb_segment_get_fd(cr), F_GETFL) & O_ACCMODE, O_RDONLY);

        ro = open_seg(c, name, SHMB_OPEN_RDONLY);
        ck_assert_int_eq(shmb_segment_is_readonly(ro), 1);

        ck_assert_int_eq(shmb_segment_release(ro), 0);
        ck_assert_int_eq(shmb_segment_release(cr), 0);
        ck_assert_int_eq(shmb_segment_release(rw), 0);
}

START_TEST(test_publish_memfd_frozen) {
        struct shmb_create_options o = opts_make(SHMB_BACKEND_MEMFD, 0644, 0);
        struct shmb_client *c, *rc;
        struct shmb_segment *s, *r;
        struct shmb_stat st;
        uint8_t *p;
        TestDaemon d;
        int fd;

        test_daemon_start(&d, NULL);
        c = test_client(&d);
        rc = test_client(&d);
        s = create_seg(c, "pub.frozen", 64 * KIB, &o);
        fd = shmb_segment_get_fd(s);

        /* Written through a mapping that is gone again before publish, and through the fd. */
        p = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ck_assert_ptr_ne(p, MAP_FAILED);
        pattern_fill(p, 0, 64 * KIB, 4);
        ck_assert_int_eq(munmap(p, 64 * KIB), 0);
        ck_assert_int_eq(pwrite(fd, "before", 6, 100), 6);

        ck_assert_msg(shmb_publish(c, "pub.frozen") == 0, "publish: %s", shmb_client_last_error(c));
        st = stat_ok(c, "pub.frozen");
        ck_assert_msg(st.flags & SHMB_SEG_PUBLISHED, "stat flags 0x%x lack PUBLISHED", st.flags);
        ck_assert_msg(st.flags & SHMB_SEG_FROZEN, "no writable mapping was left, but stat flags 0x%x lack FROZEN",
                      st.flags);

        /* Sealed for writing: the creator's own read-write fd can no longer write. */
        errno = 0;
        ck_assert_msg(pwrite(fd, "after", 5, 100) == -1 && errno == EPERM,
                      "pwrite through the creator's fd after publish: expected EPERM, got %s", strerror(errno));
        errno = 0;
        ck_assert_ptr_eq(mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
        ck_assert_int_eq(errno, EPERM);
        ck_assert_msg((fcntl(fd, F_GET_SEALS) & (F_SEAL_WRITE | F_SEAL_SEAL)) == (F_SEAL_WRITE | F_SEAL_SEAL),
                      "seals after publish: 0x%x", (unsigned)fcntl(fd, F_GET_SEALS));

        /* The bytes are all there for a reader. */
        r = open_seg(rc, "pub.frozen", SHMB_OPEN_RDONLY);
        p = map_seg(r);
        ck_assert_mem_eq(p + 100, "before", 6);
        ck_assert_uint_eq(pattern_mismatch(p, 200, 64 * KIB, 4), 64 * KIB);
        ck_assert_int_eq(shmb_segment_release(r), 0);

        /* Published segments no longer change. */
        ck_assert_int_eq(shmb_resize(c, "pub.frozen", 128 * KIB), -EACCES);
        assert_opens_read_only(rc, "pub.frozen", 64 * KIB);
        assert_opens_read_only(c, "pub.frozen", 64 * KIB);

        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(rc);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_publish_memfd_mapped) {
        struct shmb_create_options o = opts_make(SHMB_BACKEND_MEMFD, 0644, MIB);
        struct shmb_client *c, *rc;
        struct shmb_segment *s, *r;
        struct shmb_stat st;
        uint8_t *w, *p;
        TestDaemon d;
        int fd;

        test_daemon_start(&d, NULL);
        c = test_client(&d);
        rc = test_client(&d);
        s = create_seg(c, "pub.mapped", 64 * KIB, &o);
        fd = shmb_segment_get_fd(s);
        w = map_seg(s);
        memset(w, 0x11, 64 * KIB);

        ck_assert_msg(shmb_publish(c, "pub.mapped") == 0, "publish: %s", shmb_client_last_error(c));
        st = stat_ok(c, "pub.mapped");
        ck_assert_msg(st.flags & SHMB_SEG_PUBLISHED, "stat flags 0x%x lack PUBLISHED", st.flags);
        ck_assert_msg(!(st.flags & SHMB_SEG_FROZEN), "a writable mapping exists, yet stat says FROZEN (0x%x)",
                      st.flags);

        /* Writes through any fd and new writable mappings are refused ... */
        errno = 0;
        ck_assert_msg(pwrite(fd, "x", 1, 0) == -1 && errno == EPERM,
                      "pwrite through the writer's fd after publish: expected EPERM, got %s", strerror(errno));
        errno = 0;
        ck_assert_msg(mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EPERM,
                      "new writable shared mapping of the writer's fd after publish: expected EPERM, got %s",
                      strerror(errno));
        /*
         * ... but F_SEAL_FUTURE_WRITE leaves the writable mapping that existed at
         * publish writable: the segment can still change through it. That is
         * what "published but not FROZEN" means; only FROZEN promises that the
         * bytes never change again.
         */
        w[10] = 0x22;
        r = open_seg(rc, "pub.mapped", SHMB_OPEN_RDONLY);
        p = map_seg(r);
        ck_assert_uint_eq(p[10], 0x22);
        ck_assert_uint_eq(p[11], 0x11);
        ck_assert_int_eq(shmb_segment_release(r), 0);

        ck_assert_int_eq(shmb_resize(c, "pub.mapped", 128 * KIB), -EACCES);
        ck_assert_uint_eq(stat_ok(c, "pub.mapped").size, 64 * KIB);
        assert_opens_read_only(rc, "pub.mapped", 64 * KIB);

        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(rc);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_publish_posix_file) {
        static const enum shmb_backend backends[] = { SHMB_BACKEND_POSIX, SHMB_BACKEND_FILE };
        struct shmb_client *c, *rc;
        TestDaemon d;

        test_daemon_start(&d, NULL);
        c = test_client(&d);
        rc = test_client(&d);
        for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
                struct shmb_create_options o = opts_make(backends[i], 0644, 0);
                const char *name = backends[i] == SHMB_BACKEND_POSIX ? "pub.posix" : "pub.file";
                struct shmb_segment *s;
                struct shmb_stat st;
                uint8_t *p;

                s = create_seg(c, name, 16 * KIB, &o);
                p = map_seg(s);
                memset(p, 0x33, 16 * KIB);
                ck_assert_msg(shmb_publish(c, name) == 0, "publish %s: %s", name, shmb_client_last_error(c));
                st = stat_ok(rc, name);
                ck_assert_msg(st.flags & SHMB_SEG_PUBLISHED, "%s: stat flags 0x%x lack PUBLISHED", name, st.flags);
                /* These objects cannot be sealed: the daemon only stops handing out writable access. */
                ck_assert_msg(!(st.flags & SHMB_SEG_FROZEN), "%s: FROZEN, but it cannot be sealed", name);
                assert_opens_read_only(rc, name, 16 * KIB);
                ck_assert_int_eq(shmb_resize(c, name, 32 * KIB), -EACCES);
                ck_assert_int_eq(shmb_segment_release(s), 0);
        }
        shmb_client_free(rc);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_publish_needs_write_access) {
        run_nobody_change(true);
}
END_TEST

/* --------------------------------------------------------------- open-wait -- */

/* What a waiting child reports: the segment it got. */
typedef struct WaitReport {
        uint64_t id;
        uint32_t flags;
        uint32_t pad;
} WaitReport;

static int child_wait_common(Sync *sy, const TestDaemon *d, const char *name, unsigned flags, char verify_step) {
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        struct shmb_stat st;
        WaitReport rep;
        uint8_t *p;
        int r;

        r = shmb_client_new(&c, d->socket);
        if (r < 0)
                return child_fail("connect: %s", strerror(-r));
        if (!child_send(sy, 'w'))
                return child_fail("cannot send 'waiting'");
        r = shmb_open_wait(c, name, flags, 5000, &s);
        if (r < 0)
                return child_fail("open_wait '%s': %s (%s)", name, strerror(-r), shmb_client_last_error(c));
        if (shmb_segment_get_stat(s, &st) < 0)
                return child_fail("no stat of the handle");
        rep = (WaitReport){ .id = st.id, .flags = st.flags };
        if (!fd_write_all(sy->to_parent[1], &rep, sizeof(rep)))
                return child_fail("cannot report the segment");
        if (verify_step) {
                if (!child_expect(sy, verify_step))
                        return child_fail("no '%c' step from the parent", verify_step);
                r = shmb_segment_map(s, (void **)&p);
                if (r < 0)
                        return child_fail("map: %s", strerror(-r));
                if (memcmp(p, "hello, waiter", 13) != 0)
                        return child_fail("the waiter does not see the creator's bytes");
        }
        shmb_segment_release(s);
        shmb_client_free(c);
        return 0;
}

static int child_wait_later(Sync *sy, const TestDaemon *d) {
        return child_wait_common(sy, d, "later", 0, 'x');
}

static int child_wait_published(Sync *sy, const TestDaemon *d) {
        return child_wait_common(sy, d, "pubwait", SHMB_OPEN_WAIT_PUBLISHED, 0);
}

static WaitReport parent_read_report(Sync *sy) {
        WaitReport rep;

        ck_assert_msg(fd_read_all(sy->to_parent[0], &rep, sizeof(rep), STEP_TIMEOUT_MS),
                      "the waiting child reported no segment: %s", child_msg[0] ? child_msg : "no message");
        return rep;
}

START_TEST(test_open_wait_woken_by_create) {
        struct shmb_client *c;
        struct shmb_segment *s;
        WaitReport rep;
        uint8_t *p;
        TestDaemon d;
        Sync sy;
        pid_t pid;

        test_daemon_start(&d, NULL);
        sync_init(&sy);
        pid = child_start(&sy, &d, child_wait_later);
        parent_expect(&sy, 'w');
        /* Give the child's OPEN time to reach the daemon and be parked (correct either way). */
        test_sleep_ms(200);

        c = test_client(&d);
        s = create_seg(c, "later", 4096, NULL);
        ck_assert(handle_flags(s) & SHMB_SEG_CREATED);
        rep = parent_read_report(&sy);
        ck_assert_msg(rep.id == shmb_segment_get_id(s), "the waiter got segment id %llu, the creator made %llu",
                      (unsigned long long)rep.id, (unsigned long long)shmb_segment_get_id(s));
        ck_assert_msg(!(rep.flags & SHMB_SEG_CREATED), "the waiter's reply says CREATED");
        ck_assert_msg(!(rep.flags & SHMB_SEG_READONLY), "the waiter asked read-write, got read-only");
        p = map_seg(s);
        memcpy(p, "hello, waiter", 13);
        parent_send(&sy, 'x');
        child_finish(pid);
        ck_assert_uint_eq(stat_ok(c, "later").holders, 1);

        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        sync_close(&sy);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_open_wait_timeout) {
        struct shmb_segment *s = NULL, *held;
        struct shmb_client *c;
        uint64_t start, took;
        TestDaemon d;
        int r;

        test_daemon_start(&d, NULL);
        c = test_client(&d);

        start = now_ms();
        r = shmb_open_wait(c, "never", 0, 300, &s);
        took = now_ms() - start;
        ck_assert_msg(r == -ENOENT, "open_wait of a name never created: %s, expected ENOENT",
                      r < 0 ? strerror(-r) : "success");
        ck_assert_ptr_null(s);
        ck_assert_msg(strstr(shmb_client_last_error(c), "within 300 ms"), "error text \"%s\" lacks \"within 300 ms\"",
                      shmb_client_last_error(c));
        /* Sanity lower bound only: it did wait. */
        ck_assert_msg(took >= 250, "open_wait(300 ms) returned after %llu ms", (unsigned long long)took);

        /* Timeout 0: no waiting at all. */
        ck_assert_int_eq(shmb_open_wait(c, "never", 0, 0, &s), -ENOENT);
        ck_assert_int_eq(shmb_open(c, "never", 0, &s), -ENOENT);
        /* Timeout 0 with WAIT_PUBLISHED on an unpublished segment: not found either. */
        held = create_seg(c, "unpublished", 4096, NULL);
        ck_assert_int_eq(shmb_open_wait(c, "unpublished", SHMB_OPEN_WAIT_PUBLISHED, 0, &s), -ENOENT);
        /* The connection still works normally. */
        ck_assert_uint_eq(stat_ok(c, "unpublished").holders, 1);
        ck_assert_int_eq(shmb_segment_release(held), 0);

        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_open_wait_published) {
        struct pollfd pfd;
        struct shmb_client *c;
        struct shmb_segment *s;
        WaitReport rep;
        TestDaemon d;
        Sync sy;
        pid_t pid;

        test_daemon_start(&d, NULL);
        sync_init(&sy);
        pid = child_start(&sy, &d, child_wait_published);
        parent_expect(&sy, 'w');
        test_sleep_ms(200);

        c = test_client(&d);
        s = create_seg(c, "pubwait", 4096, NULL);
        /* The create must not wake it; give a wrong wake-up a moment to show. */
        test_sleep_ms(200);
        pfd = (struct pollfd){ .fd = sy.to_parent[0], .events = POLLIN };
        ck_assert_msg(poll(&pfd, 1, 0) == 0, "the WAIT_PUBLISHED waiter answered before the publish: %s",
                      child_msg[0] ? child_msg : "(woken by the create)");
        ck_assert_int_eq(shmb_publish(c, "pubwait"), 0);

        rep = parent_read_report(&sy);
        ck_assert_uint_eq(rep.id, shmb_segment_get_id(s));
        ck_assert_msg(rep.flags & SHMB_SEG_PUBLISHED, "the waiter got the segment without PUBLISHED (flags 0x%x): "
                      "woken by the create", rep.flags);
        ck_assert_msg(rep.flags & SHMB_SEG_READONLY, "the waiter got a writable hold on a published segment");
        child_finish(pid);

        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        sync_close(&sy);
        test_daemon_stop(&d);
}
END_TEST

static int child_wait_forever(Sync *sy, const TestDaemon *d) {
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        int r;

        r = shmb_client_new(&c, d->socket);
        if (r < 0)
                return child_fail("connect: %s", strerror(-r));
        if (!child_send(sy, 'w'))
                return child_fail("cannot send 'waiting'");
        r = shmb_open_wait(c, "never.killed", 0, 60000, &s);
        return child_fail("open_wait returned %d before the kill", r);
}

START_TEST(test_open_wait_killed) {
        struct shmb_client *c;
        struct shmb_segment *s;
        int base, n, status;
        TestDaemon d;
        Sync sy;
        pid_t pid;

        test_daemon_start(&d, NULL);
        sync_init(&sy);
        c = test_client(&d);
        base = test_count_fds(d.pid);
        pid = child_start(&sy, &d, child_wait_forever);
        parent_expect(&sy, 'w');
        /* Let the OPEN be parked; then the waiter dies without a word. */
        test_sleep_ms(200);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        /* The daemon keeps serving ... */
        s = create_seg(c, "alive", 4096, NULL);
        ck_assert_uint_eq(stat_ok(c, "alive").holders, 1);
        ck_assert_int_eq(shmb_segment_release(s), 0);

        /* ... and closes the dead waiter's connection long before its 60 s timeout. */
        n = test_wait_fds(d.pid, base, WAIT_MS);
        ck_assert_msg(n == base, "daemon has %d fds %d ms after a parked waiter was killed, %d before it came", n,
                      WAIT_MS, base);

        /* The name the dead waiter wanted is just a name. */
        s = create_seg(c, "never.killed", 4096, NULL);
        ck_assert_uint_eq(stat_ok(c, "never.killed").holders, 1);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        n = test_wait_fds(d.pid, base, WAIT_MS);
        ck_assert_int_eq(n, base);

        shmb_client_free(c);
        sync_close(&sy);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_open_wait_pipelined) {
        uint8_t buf[SHMB_MSG_MAX];
        struct shmb_client *c;
        struct shmb_segment *exists, *later;
        uint32_t first, second;
        ProtoBuf b;
        TestDaemon d;
        int fd, n;

        test_daemon_start(&d, NULL);
        c = test_client(&d);
        exists = create_seg(c, "pipe.exists", 4096, NULL);
        fd = raw_ready(&d);

        /* OPEN that must wait, then a STAT that could be answered at once: both sent before any reply. */
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_open_wait(&b, 10, "pipe.later", 0, 5000);
        ck_assert_int_gt(n, 0);
        test_raw_send(fd, buf, (size_t)n, -1);
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_name_request(&b, SHMB_MSG_STAT, 11, "pipe.exists");
        ck_assert_int_gt(n, 0);
        test_raw_send(fd, buf, (size_t)n, -1);

        test_sleep_ms(200);
        later = create_seg(c, "pipe.later", 4096, NULL);
        first = raw_expect(fd, SHMB_MSG_OPEN, SHMB_STATUS_OK, "parked OPEN");
        second = raw_expect(fd, SHMB_MSG_STAT, SHMB_STATUS_OK, "STAT behind the parked OPEN");
        ck_assert_msg(first == 10 && second == 11, "replies came as req_id %u then %u, expected 10 then 11", first,
                      second);

        /* Same with a timeout: the STAT waits for the OPEN's refusal. */
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_open_wait(&b, 12, "pipe.never", 0, 300);
        ck_assert_int_gt(n, 0);
        test_raw_send(fd, buf, (size_t)n, -1);
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_name_request(&b, SHMB_MSG_STAT, 13, "pipe.exists");
        ck_assert_int_gt(n, 0);
        test_raw_send(fd, buf, (size_t)n, -1);
        first = raw_expect(fd, SHMB_MSG_OPEN, SHMB_STATUS_NOT_FOUND, "timed-out OPEN");
        second = raw_expect(fd, SHMB_MSG_STAT, SHMB_STATUS_OK, "STAT behind the timed-out OPEN");
        ck_assert_msg(first == 12 && second == 13, "replies came as req_id %u then %u, expected 12 then 13", first,
                      second);

        close(fd);
        ck_assert_int_eq(shmb_segment_release(later), 0);
        ck_assert_int_eq(shmb_segment_release(exists), 0);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

/* ------------------------------------------------------------------ events -- */

START_TEST(test_events_prefix_order) {
        struct shmb_create_options posix = opts_make(SHMB_BACKEND_POSIX, 0644, 0);
        struct shmb_client *sub, *act, *holder;
        struct shmb_segment *sa, *sx, *sh;
        EventLog log = { .n = 0 };
        uint32_t wid = 0;
        uint64_t id;
        TestDaemon d;

        test_daemon_start(&d, NULL);
        sub = test_client(&d);
        act = test_client(&d);
        holder = test_client(&d);
        ck_assert_int_eq(shmb_watch(sub, "cam.", SHMB_WATCH_PREFIX, &wid), 0);
        ck_assert_uint_ne(wid, 0);

        sa = create_seg(act, "cam.a", 4096, &posix);
        id = shmb_segment_get_id(sa);
        ck_assert_int_eq(shmb_resize(act, "cam.a", 8192), 0);
        ck_assert_int_eq(shmb_publish(act, "cam.a"), 0);
        sx = create_seg(act, "other.x", 4096, NULL);
        sh = open_seg(holder, "cam.a", 0);
        /* The creator lets go (no event: the holder keeps it), then takes the name away. */
        ck_assert_int_eq(shmb_segment_release(sa), 0);
        ck_assert_int_eq(shmb_unlink(act, "cam.a"), 0);
        ck_assert_int_eq(shmb_segment_release(sh), 0);
        ck_assert_int_eq(shmb_segment_release(sx), 0);

        wait_events(sub, &log, 5);
        assert_no_more_events(sub, "after the five events of cam.a");
        ck_assert_uint_eq(log.n, 5);
        assert_event(&log.ev[0], SHMB_EVENT_CREATED, wid, id, "cam.a", 4096, "event 1");
        assert_event(&log.ev[1], SHMB_EVENT_RESIZED, wid, id, "cam.a", 8192, "event 2");
        assert_event(&log.ev[2], SHMB_EVENT_PUBLISHED, wid, id, "cam.a", 8192, "event 3");
        assert_event(&log.ev[3], SHMB_EVENT_UNLINKED, wid, id, "cam.a", 8192, "event 4");
        assert_event(&log.ev[4], SHMB_EVENT_DESTROYED, wid, id, "cam.a", 8192, "event 5");
        ck_assert_msg(!(log.ev[0].flags & SHMB_SEG_PUBLISHED), "CREATED says PUBLISHED");
        ck_assert_msg(!(log.ev[1].flags & SHMB_SEG_PUBLISHED), "RESIZED says PUBLISHED");
        ck_assert_msg(log.ev[2].flags & SHMB_SEG_PUBLISHED, "PUBLISHED event lacks the PUBLISHED flag (0x%x)",
                      log.ev[2].flags);
        ck_assert_msg(!(log.ev[2].flags & SHMB_SEG_FROZEN), "a posix segment reported FROZEN");
        ck_assert_msg(log.ev[0].seq >= 1, "first seq is %llu", (unsigned long long)log.ev[0].seq);
        for (size_t i = 1; i < log.n; i++)
                ck_assert_msg(log.ev[i].seq == log.ev[i - 1].seq + 1, "event %zu has seq %llu after %llu", i + 1,
                              (unsigned long long)log.ev[i].seq, (unsigned long long)log.ev[i - 1].seq);

        shmb_client_free(holder);
        shmb_client_free(act);
        shmb_client_free(sub);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_events_exact_and_unwatch) {
        static const char *const others[] = { "cam.bb", "xcam.b", "cam", "cam.c" };
        struct shmb_segment *other[4], *b;
        struct shmb_client *sub, *act;
        EventLog log = { .n = 0 };
        uint32_t wid = 0, wid2 = 0;
        uint64_t id;
        TestDaemon d;

        test_daemon_start(&d, NULL);
        sub = test_client(&d);
        act = test_client(&d);
        ck_assert_int_eq(shmb_watch(sub, "cam.b", 0, &wid), 0);

        for (size_t i = 0; i < 4; i++)
                other[i] = create_seg(act, others[i], 4096, NULL);
        b = create_seg(act, "cam.b", 4096, NULL);
        id = shmb_segment_get_id(b);
        wait_events(sub, &log, 1);
        assert_no_more_events(sub, "an exact watch of cam.b after creating cam.bb, xcam.b, cam, cam.c, cam.b");
        assert_event(&log.ev[0], SHMB_EVENT_CREATED, wid, id, "cam.b", 4096, "exact watch");

        ck_assert_int_eq(shmb_segment_release(b), 0);
        wait_events(sub, &log, 2);
        assert_event(&log.ev[1], SHMB_EVENT_DESTROYED, wid, id, "cam.b", 4096, "exact watch, release");
        ck_assert_uint_eq(log.ev[1].seq, log.ev[0].seq + 1);

        /* After unwatch, nothing more. */
        ck_assert_int_eq(shmb_unwatch(sub, wid), 0);
        b = create_seg(act, "cam.b", 4096, NULL);
        ck_assert_int_eq(shmb_segment_release(b), 0);
        for (size_t i = 0; i < 4; i++)
                ck_assert_int_eq(shmb_segment_release(other[i]), 0);
        assert_no_more_events(sub, "after shmb_unwatch()");
        ck_assert_int_eq(shmb_client_pending(sub), 0);

        /* Unknown subscriptions. */
        ck_assert_int_eq(shmb_unwatch(sub, wid), -ENOENT);
        ck_assert_int_eq(shmb_unwatch(sub, 9999), -ENOENT);
        ck_assert_int_eq(shmb_unwatch(sub, 0), -ENOENT);
        /* Another connection's id is not this one's. */
        ck_assert_int_eq(shmb_watch(act, "cam.b", 0, &wid2), 0);
        ck_assert_int_eq(shmb_unwatch(sub, wid2 + 1000), -ENOENT);
        /* Patterns are checked: not a name, or a bad prefix. */
        ck_assert_int_eq(shmb_watch(sub, "", 0, &wid), -EINVAL);
        ck_assert_int_eq(shmb_watch(sub, ".x", SHMB_WATCH_PREFIX, &wid), -EINVAL);
        ck_assert_int_eq(shmb_watch(sub, "a/b", 0, &wid), -EINVAL);

        shmb_client_free(act);
        shmb_client_free(sub);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_events_watch_limit) {
        struct shmb_client *c;
        uint32_t ids[64], extra = 0;
        TestDaemon d;
        int r;

        test_daemon_start(&d, NULL);
        c = test_client(&d);
        for (size_t i = 0; i < 64; i++) {
                char pattern[32];

                snprintf(pattern, sizeof(pattern), "w%zu.", i);
                r = shmb_watch(c, pattern, SHMB_WATCH_PREFIX, &ids[i]);
                ck_assert_msg(r == 0, "watch %zu of 64: %s", i + 1, strerror(-r));
                for (size_t j = 0; j < i; j++)
                        ck_assert_msg(ids[j] != ids[i], "watch ids %zu and %zu are both %u", j, i, ids[i]);
        }
        r = shmb_watch(c, "w64.", SHMB_WATCH_PREFIX, &extra);
        ck_assert_msg(r == -EDQUOT, "65th watch on one connection: %s, expected EDQUOT",
                      r < 0 ? strerror(-r) : "success");
        ck_assert_int_eq(shmb_watch(c, "exact", 0, &extra), -EDQUOT);
        /* One fewer makes room for one more. */
        ck_assert_int_eq(shmb_unwatch(c, ids[17]), 0);
        ck_assert_int_eq(shmb_watch(c, "w64.", SHMB_WATCH_PREFIX, &extra), 0);
        ck_assert_int_eq(shmb_watch(c, "w65.", SHMB_WATCH_PREFIX, &extra), -EDQUOT);

        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

typedef struct SlowCount {
        uint64_t delivered;     /* events other than DROPPED */
        uint64_t dropped;       /* sum of DROPPED.dropped */
        uint64_t notices;       /* DROPPED events */
        uint64_t last_seq;
        uint64_t not_increasing;
        uint64_t bad_watch_id;
        uint32_t watch_id;
} SlowCount;

static void count_event(struct shmb_client *c, const struct shmb_event *ev, void *userdata) {
        SlowCount *n = userdata;

        if (ev->kind == SHMB_EVENT_DROPPED) {
                n->notices++;
                n->dropped += ev->dropped;
        } else {
                n->delivered++;
                if (ev->watch_id != n->watch_id)
                        n->bad_watch_id++;
        }
        if (ev->seq <= n->last_seq)
                n->not_increasing++;
        n->last_seq = ev->seq;
}

START_TEST(test_events_slow_reader) {
        /* Less logging: 5,000 cycles would fill the test log. */
        const char *args[] = { "--log-level", "notice", NULL };
        struct shmb_client *slow, *busy;
        SlowCount cnt = { .delivered = 0 };
        uint64_t end;
        int base, n;
        TestDaemon d;

        test_daemon_start(&d, args);
        slow = test_client(&d);
        busy = test_client(&d);
        /* After both HELLOs: nothing of the start-up is still open. */
        base = test_count_fds(d.pid);
        ck_assert_int_eq(shmb_watch(slow, "", SHMB_WATCH_PREFIX, &cnt.watch_id), 0);

        /* 10,000 events for a subscriber that reads none: the busy client is never held up. */
        for (int i = 0; i < SLOW_CYCLES; i++) {
                struct shmb_segment *s = NULL;
                char name[32];
                int r;

                snprintf(name, sizeof(name), "slow.%d", i);
                r = shmb_create(busy, name, 4096, NULL, &s);
                ck_assert_msg(r == 0, "cycle %d: create: %s (%s)", i, strerror(-r), shmb_client_last_error(busy));
                r = shmb_segment_release(s);
                ck_assert_msg(r == 0, "cycle %d: release: %s", i, strerror(-r));
        }

        /* Now read everything there is. */
        end = now_ms() + 2 * WAIT_MS;
        while (cnt.delivered + cnt.dropped < 2 * SLOW_CYCLES && now_ms() < end) {
                struct pollfd pfd = { .fd = shmb_client_get_fd(slow), .events = POLLIN };
                int r = shmb_client_dispatch(slow, count_event, &cnt);

                ck_assert_msg(r >= 0, "dispatch: %s", strerror(-r));
                if (r == 0)
                        (void)poll(&pfd, 1, 100);
        }
        ck_assert_msg(cnt.notices >= 1 && cnt.dropped > 0,
                      "a subscriber that read nothing during 10,000 events got no DROPPED notice "
                      "(%llu delivered, %llu notices, %llu dropped)", (unsigned long long)cnt.delivered,
                      (unsigned long long)cnt.notices, (unsigned long long)cnt.dropped);
        ck_assert_msg(cnt.delivered + cnt.dropped == 2 * SLOW_CYCLES,
                      "%llu delivered + %llu dropped = %llu, expected %d", (unsigned long long)cnt.delivered,
                      (unsigned long long)cnt.dropped, (unsigned long long)(cnt.delivered + cnt.dropped),
                      2 * SLOW_CYCLES);
        ck_assert_msg(cnt.not_increasing == 0, "%llu events did not increase seq",
                      (unsigned long long)cnt.not_increasing);
        ck_assert_msg(cnt.bad_watch_id == 0, "%llu events carried a wrong watch id",
                      (unsigned long long)cnt.bad_watch_id);
        assert_no_more_events(slow, "after all 10,000 events were accounted for");

        /* Nothing kept: every segment gone, fds back where they were; and it still serves. */
        ck_assert_int_eq(shmb_stat(busy, "slow.0", &(struct shmb_stat){ 0 }), -ENOENT);
        n = test_wait_fds(d.pid, base, WAIT_MS);
        ck_assert_msg(n == base, "daemon has %d fds after the slow reader caught up, %d before the cycles", n, base);
        shmb_client_free(busy);
        shmb_client_free(slow);
        test_daemon_stop(&d);
        /* Last: the seq of the last notice is the number of events, delivered or dropped. */
        ck_assert_msg(cnt.last_seq == 2 * SLOW_CYCLES,
                      "last seq %llu, expected %d (seq counts every event, dropped ones included; %llu delivered, "
                      "%llu dropped in %llu DROPPED notices)", (unsigned long long)cnt.last_seq, 2 * SLOW_CYCLES,
                      (unsigned long long)cnt.delivered, (unsigned long long)cnt.dropped,
                      (unsigned long long)cnt.notices);
}
END_TEST

/* --------------------------------------------------------------------- ttl -- */

static struct shmb_create_options ttl_opts(uint32_t ttl_sec) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;

        o.lifetime = SHMB_LIFETIME_TTL;
        o.ttl_sec = ttl_sec;
        return o;
}

START_TEST(test_ttl_expires) {
        struct shmb_create_options o = ttl_opts(1);
        struct shmb_client *c, *w;
        struct shmb_segment *s;
        EventLog log = { .n = 0 };
        struct shmb_stat st;
        uint32_t wid = 0;
        uint64_t id, end;
        TestDaemon d;

        test_daemon_start(&d, NULL);
        c = test_client(&d);
        w = test_client(&d);
        ck_assert_int_eq(shmb_watch(w, "ttl.one", 0, &wid), 0);
        s = create_seg(c, "ttl.one", 4096, &o);
        id = shmb_segment_get_id(s);
        st = stat_ok(c, "ttl.one");
        ck_assert_int_eq(st.lifetime, SHMB_LIFETIME_TTL);
        ck_assert_uint_eq(st.ttl_sec, 1);

        /* Unheld, it stays for its ttl ... */
        ck_assert_int_eq(shmb_segment_release(s), 0);
        st = stat_ok(c, "ttl.one");
        ck_assert_uint_eq(st.holders, 0);
        /* ... and then goes. */
        ck_assert_msg(wait_gone(c, "ttl.one", WAIT_MS), "an unheld ttl-1 segment still exists after %d ms", WAIT_MS);

        /* The watcher is told it was destroyed. */
        end = now_ms() + WAIT_MS;
        while ((log.n == 0 || log.ev[log.n - 1].kind != SHMB_EVENT_DESTROYED) && now_ms() < end)
                ck_assert_int_ge(collect_events(w, &log, log.n + 1, (int)(end - now_ms())), 0);
        ck_assert_msg(log.n >= 2, "watcher got %zu events", log.n);
        assert_event(&log.ev[0], SHMB_EVENT_CREATED, wid, id, "ttl.one", 4096, "ttl watcher, first event");
        assert_event(&log.ev[log.n - 1], SHMB_EVENT_DESTROYED, wid, id, "ttl.one", 4096, "ttl watcher, last event");
        for (size_t i = 1; i + 1 < log.n; i++)
                ck_assert_msg(log.ev[i].kind == SHMB_EVENT_UNLINKED, "unexpected %s event before DESTROYED",
                              shmb_event_kind_to_string(log.ev[i].kind));

        shmb_client_free(w);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_ttl_reopen_keeps_it) {
        struct shmb_create_options o = ttl_opts(2);
        struct shmb_client *c;
        struct shmb_segment *s;
        uint64_t id;
        TestDaemon d;

        test_daemon_start(&d, NULL);
        c = test_client(&d);
        s = create_seg(c, "ttl.two", 4096, &o);
        id = shmb_segment_get_id(s);
        ck_assert_int_eq(shmb_segment_release(s), 0);

        /* Reopened within its ttl, it is the same segment, and held it does not expire. */
        test_sleep_ms(300);
        s = open_seg(c, "ttl.two", 0);
        ck_assert_uint_eq(shmb_segment_get_id(s), id);
        test_sleep_ms(2500);
        ck_assert_msg(stat_ok(c, "ttl.two").id == id, "the reopened ttl segment was replaced");
        ck_assert_uint_eq(stat_ok(c, "ttl.two").holders, 1);

        /* Released again, it goes after its ttl. */
        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_uint_eq(stat_ok(c, "ttl.two").holders, 0);
        ck_assert_msg(wait_gone(c, "ttl.two", WAIT_MS), "ttl-2 segment still exists %d ms after its last release",
                      WAIT_MS);

        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_ttl_held_never_expires) {
        struct shmb_create_options o = ttl_opts(1);
        struct shmb_client *c, *c2;
        struct shmb_segment *s, *s2;
        TestDaemon d;

        test_daemon_start(&d, NULL);
        c = test_client(&d);
        c2 = test_client(&d);
        s = create_seg(c, "ttl.held", 4096, &o);
        test_sleep_ms(2500);
        ck_assert_uint_eq(stat_ok(c, "ttl.held").holders, 1);

        /* A second holder coming and going leaves it held: still no expiry. */
        s2 = open_seg(c2, "ttl.held", SHMB_OPEN_RDONLY);
        ck_assert_int_eq(shmb_segment_release(s2), 0);
        test_sleep_ms(1500);
        ck_assert_uint_eq(stat_ok(c, "ttl.held").holders, 1);

        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_msg(wait_gone(c, "ttl.held", WAIT_MS), "ttl-1 segment still exists %d ms after its last release",
                      WAIT_MS);

        shmb_client_free(c2);
        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

static void raw_create(int fd, uint32_t req_id, const char *name, uint8_t lifetime, uint32_t ttl_sec) {
        uint8_t buf[SHMB_MSG_MAX];
        ProtoBuf b;
        int n;

        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_create_full(&b, req_id,
                                     &(ProtoCreate){
                                             .name = name,
                                             .size = 4096,
                                             .mode = 0600,
                                             .lifetime = lifetime,
                                             .ttl_sec = ttl_sec,
                                     });
        ck_assert_int_gt(n, 0);
        test_raw_send(fd, buf, (size_t)n, -1);
}

START_TEST(test_ttl_invalid) {
        struct shmb_create_options o = ttl_opts(0);
        struct shmb_segment *s = NULL;
        struct shmb_client *c;
        TestDaemon d;
        int fd;

        test_daemon_start(&d, NULL);
        c = test_client(&d);

        /* The library refuses lifetime ttl without seconds, and seconds without lifetime ttl. */
        ck_assert_int_eq(shmb_create(c, "ttl.zero", 4096, &o, &s), -EINVAL);
        ck_assert_ptr_null(s);
        o = ttl_opts(5);
        o.lifetime = SHMB_LIFETIME_PERSISTENT;
        ck_assert_int_eq(shmb_create(c, "ttl.zero", 4096, &o, &s), -EINVAL);
        ck_assert_int_eq(shmb_stat(c, "ttl.zero", &(struct shmb_stat){ 0 }), -ENOENT);

        /* So does the daemon, for a client that bypasses the library. */
        fd = raw_ready(&d);
        raw_create(fd, 20, "ttl.zero", PROTO_LIFETIME_TTL, 0);
        ck_assert_uint_eq(raw_expect(fd, SHMB_MSG_CREATE, SHMB_STATUS_INVALID, "lifetime 3 with ttl 0"), 20);
        raw_create(fd, 21, "ttl.zero", PROTO_LIFETIME_PERSISTENT, 5);
        ck_assert_uint_eq(raw_expect(fd, SHMB_MSG_CREATE, SHMB_STATUS_INVALID, "lifetime 2 with ttl 5"), 21);
        raw_create(fd, 22, "ttl.zero", PROTO_LIFETIME_HOLDERS, 1);
        ck_assert_uint_eq(raw_expect(fd, SHMB_MSG_CREATE, SHMB_STATUS_INVALID, "lifetime 0 with ttl 1"), 22);
        ck_assert_int_eq(shmb_stat(c, "ttl.zero", &(struct shmb_stat){ 0 }), -ENOENT);
        /* Lifetime 3 with seconds is fine. */
        raw_create(fd, 23, "ttl.raw", PROTO_LIFETIME_TTL, 30);
        ck_assert_uint_eq(raw_expect(fd, SHMB_MSG_CREATE, SHMB_STATUS_OK, "lifetime 3 with ttl 30"), 23);
        ck_assert_uint_eq(stat_ok(c, "ttl.raw").ttl_sec, 30);
        close(fd);

        shmb_client_free(c);
        test_daemon_stop(&d);
}
END_TEST

/* ------------------------------------------------------------------- suite -- */

static Suite *life_suite(void) {
        Suite *s = suite_create("life");
        TCase *tc;

        tc = tcase_create("resize");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_resize_memfd_two_holders);
        tcase_add_test(tc, test_resize_backends);
        tcase_add_test(tc, test_resize_quota);
        tcase_add_test(tc, test_resize_needs_write_access);
        suite_add_tcase(s, tc);

        tc = tcase_create("publish");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_publish_memfd_frozen);
        tcase_add_test(tc, test_publish_memfd_mapped);
        tcase_add_test(tc, test_publish_posix_file);
        tcase_add_test(tc, test_publish_needs_write_access);
        suite_add_tcase(s, tc);

        tc = tcase_create("open-wait");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_open_wait_woken_by_create);
        tcase_add_test(tc, test_open_wait_timeout);
        tcase_add_test(tc, test_open_wait_published);
        tcase_add_test(tc, test_open_wait_killed);
        tcase_add_test(tc, test_open_wait_pipelined);
        suite_add_tcase(s, tc);

        tc = tcase_create("events");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_events_prefix_order);
        tcase_add_test(tc, test_events_exact_and_unwatch);
        tcase_add_test(tc, test_events_watch_limit);
        tcase_add_test(tc, test_events_slow_reader);
        suite_add_tcase(s, tc);

        tc = tcase_create("ttl");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_ttl_expires);
        tcase_add_test(tc, test_ttl_reopen_keeps_it);
        tcase_add_test(tc, test_ttl_held_never_expires);
        tcase_add_test(tc, test_ttl_invalid);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(life_suite());
        int failed;

        test_run_begin();
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        test_run_sweep();
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
