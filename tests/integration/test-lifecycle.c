/*
 * Integration tests: segment lifecycles against a live shmbrokerd, driven
 * through libshmbroker (and a raw socket where the library cannot reach):
 * sharing between processes, create/open/release/unlink semantics, the three
 * lifetimes, holders dropped by kill -9, stat and list, read-only holds,
 * daemon shutdown, close-on-exec fds and fd leaks in the daemon.
 *
 * Every test gets a fresh daemon from a checked fixture. Children forked by
 * a test never call ck_assert(): they report through their exit status.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"
#include "tests/integration/util-daemon.h"

#define SEG_SIZE 65536
#define HALF (SEG_SIZE / 2)
#define WAIT_MS 5000            /* deadline for asynchronous effects */
#define STEP_MS 10
#define NOBODY 65534
#define N_BULK 3000
#define N_CYCLES 200

static TestDaemon daemon_;

static void daemon_setup(void) {
        test_daemon_start(&daemon_, NULL);
}

static void daemon_teardown(void) {
        test_daemon_stop(&daemon_);
}

/* ------------------------------------------------------------------ helpers -- */

static uint8_t pattern_byte(size_t i, unsigned seed) {
        return (uint8_t)((i * 131u + seed * 7u) ^ (i >> 9) ^ seed);
}

static void pattern_fill(uint8_t *p, size_t len, unsigned seed) {
        for (size_t i = 0; i < len; i++)
                p[i] = pattern_byte(i, seed);
}

static bool pattern_check(const uint8_t *p, size_t len, unsigned seed) {
        for (size_t i = 0; i < len; i++)
                if (p[i] != pattern_byte(i, seed))
                        return false;
        return true;
}

static bool all_zero(const uint8_t *p, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (p[i])
                        return false;
        return true;
}

static struct shmb_segment *create_seg(struct shmb_client *c, const char *name, uint64_t size,
                                       enum shmb_lifetime lifetime, uint32_t mode, uint32_t flags) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *s = NULL;
        int r;

        o.lifetime = lifetime;
        o.mode = mode;
        o.flags = flags;
        r = shmb_create(c, name, size, &o, &s);
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

        ck_assert_int_eq(shmb_segment_map(s, &p), 0);
        ck_assert_ptr_nonnull(p);
        return p;
}

static void release_seg(struct shmb_segment *s) {
        ck_assert_int_eq(shmb_segment_release(s), 0);
}

static uint32_t seg_flags(const struct shmb_segment *s) {
        struct shmb_stat st;

        ck_assert_int_eq(shmb_segment_get_stat(s, &st), 0);
        return st.flags;
}

static struct shmb_stat stat_ok(struct shmb_client *c, const char *name) {
        struct shmb_stat st;
        int r = shmb_stat(c, name, &st);

        ck_assert_msg(r == 0, "stat '%s': %s (%s)", name, strerror(-r), shmb_client_last_error(c));
        return st;
}

static void assert_gone(struct shmb_client *c, const char *name) {
        struct shmb_stat st;

        ck_assert_int_eq(shmb_stat(c, name, &st), -ENOENT);
}

/* Poll until @name is gone (stat says -ENOENT); true if it went before the deadline. */
static bool wait_gone(struct shmb_client *c, const char *name) {
        struct shmb_stat st;

        for (int waited = 0;; waited += STEP_MS) {
                int r = shmb_stat(c, name, &st);

                ck_assert_msg(r == 0 || r == -ENOENT, "stat '%s': %s", name, strerror(-r));
                if (r == -ENOENT)
                        return true;
                if (waited >= WAIT_MS)
                        return false;
                test_sleep_ms(STEP_MS);
        }
}

/* Poll until @name has @holders holders; returns the last count seen. */
static uint32_t wait_holders(struct shmb_client *c, const char *name, uint32_t holders) {
        struct shmb_stat st = stat_ok(c, name);

        for (int waited = 0; st.holders != holders && waited < WAIT_MS; waited += STEP_MS) {
                test_sleep_ms(STEP_MS);
                st = stat_ok(c, name);
        }
        return st.holders;
}

static void pipe_put(int fd, char ch) {
        ssize_t n;

        do
                n = write(fd, &ch, 1);
        while (n < 0 && errno == EINTR);
}

/* One byte from a pipe, or 0 on EOF/error. */
static char pipe_get(int fd) {
        ssize_t n;
        char ch;

        do
                n = read(fd, &ch, 1);
        while (n < 0 && errno == EINTR);
        return n == 1 ? ch : 0;
}

static void wait_child_ok(pid_t pid, const char *what) {
        int status;

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child failed (status 0x%x, step %d)",
                      what, status, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Raw protocol: send @len bytes of @req, receive the reply into @reply; returns its status. */
static uint16_t raw_transact(int fd, const uint8_t *req, int len, uint8_t *reply, size_t size, size_t *ret_len,
                             int *ret_fd) {
        ProtoHeader rq, rp;
        ssize_t n;

        ck_assert_int_gt(len, 0);
        ck_assert_int_eq(proto_decode_header(req, (size_t)len, &rq), 0);
        test_raw_send(fd, req, (size_t)len, -1);
        n = test_raw_recv(fd, reply, size, ret_fd);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(proto_decode_header(reply, (size_t)n, &rp), 0);
        ck_assert_uint_eq(rp.type, rq.type | SHMB_MSG_REPLY);
        ck_assert_uint_eq(rp.req_id, rq.req_id);
        if (ret_len)
                *ret_len = (size_t)n;
        return rp.status;
}

/* Raw CREATE or OPEN (@create false: OPEN with @open_flags); returns the segment id. */
static uint64_t raw_hold(int fd, uint32_t req_id, bool create, const char *name, uint8_t lifetime,
                         uint16_t open_flags) {
        static uint8_t req[SHMB_MSG_MAX], reply[SHMB_MSG_MAX];
        ProtoSegInfo si;
        ProtoBuf b;
        size_t len;
        int len_req, seg_fd;
        uint16_t status;

        proto_buf_init(&b, req, sizeof(req));
        if (create)
                len_req = proto_encode_create(&b, req_id, name, 4096, 0600, lifetime, PROTO_BACKEND_DEFAULT, 0);
        else
                len_req = proto_encode_open(&b, req_id, name, open_flags);
        status = raw_transact(fd, req, len_req, reply, sizeof(reply), &len, &seg_fd);
        ck_assert_msg(status == SHMB_STATUS_OK, "raw %s '%s': status %s", create ? "CREATE" : "OPEN", name,
                      proto_status_name(status));
        ck_assert_int_ge(seg_fd, 0);
        close(seg_fd);
        ck_assert_int_eq(proto_decode_seginfo_reply(reply, len, &si), 0);
        return si.id;
}

static uint16_t raw_release(int fd, uint32_t req_id, uint64_t id) {
        static uint8_t req[SHMB_MSG_MAX], reply[SHMB_MSG_MAX];
        ProtoBuf b;

        proto_buf_init(&b, req, sizeof(req));
        return raw_transact(fd, req, proto_encode_release(&b, req_id, id), reply, sizeof(reply), NULL, NULL);
}

/* ------------------------------------------------------------------ sharing -- */

/* Child of test_share_two_processes: open by name, check the parent's bytes, answer. */
static int child_share(const char *socket) {
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        void *p;

        if (shmb_client_new(&c, socket) < 0)
                return 10;
        if (shmb_open(c, "shared", 0, &s) < 0)
                return 11;
        if (shmb_segment_get_size(s) != SEG_SIZE || shmb_segment_is_readonly(s) != 0)
                return 12;
        if (shmb_segment_map(s, &p) < 0)
                return 13;
        if (!pattern_check(p, HALF, 7))
                return 14;
        pattern_fill((uint8_t *)p + HALF, HALF, 99);
        if (shmb_segment_release(s) < 0)
                return 15;
        shmb_client_free(c);
        return 0;
}

START_TEST(test_share_two_processes) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_segment *s;
        uint8_t *p;
        pid_t pid;

        s = create_seg(c, "shared", SEG_SIZE, SHMB_LIFETIME_HOLDERS, 0600, 0);
        p = map_seg(s);
        ck_assert(all_zero(p, SEG_SIZE));
        pattern_fill(p, HALF, 7);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(child_share(daemon_.socket));
        wait_child_ok(pid, "open, verify and reply");

        ck_assert_msg(pattern_check(p + HALF, HALF, 99), "the child's reply is not in the parent's mapping");
        ck_assert_msg(pattern_check(p, HALF, 7), "the parent's bytes changed");
        release_seg(s);
        assert_gone(c, "shared");
        shmb_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ create/open -- */

START_TEST(test_create_exclusive_and_existing) {
        struct shmb_create_options excl = SHMB_CREATE_OPTIONS_INIT, plain = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_client *a = test_client(&daemon_), *b = test_client(&daemon_);
        struct shmb_segment *s1, *s2 = NULL;
        struct shmb_stat st;

        excl.flags = SHMB_CREATE_EXCL;
        s1 = create_seg(a, "excl", 8192, SHMB_LIFETIME_HOLDERS, 0600, SHMB_CREATE_EXCL);
        ck_assert_uint_ne(seg_flags(s1) & SHMB_SEG_CREATED, 0);

        /* EXCL on a taken name, from the creator and from another client. */
        ck_assert_int_eq(shmb_create(a, "excl", 8192, &excl, &s2), -EEXIST);
        ck_assert_ptr_null(s2);
        ck_assert_int_eq(shmb_create(b, "excl", 4096, &excl, &s2), -EEXIST);
        ck_assert_ptr_null(s2);
        ck_assert_ptr_nonnull(strstr(shmb_client_last_error(b), "excl"));

        /* Without EXCL: opens the existing one, at its size, not newly created. */
        ck_assert_int_eq(shmb_create(b, "excl", 4096, &plain, &s2), 0);
        ck_assert_ptr_nonnull(s2);
        ck_assert_int_eq(shmb_segment_get_stat(s2, &st), 0);
        ck_assert_uint_eq(st.flags & SHMB_SEG_CREATED, 0);
        ck_assert_uint_eq(st.id, shmb_segment_get_id(s1));
        ck_assert_uint_eq(shmb_segment_get_size(s2), 8192);
        ck_assert_uint_eq(stat_ok(a, "excl").holders, 2);

        /* Asking for more than the existing size. */
        {
                struct shmb_segment *s3 = NULL;

                ck_assert_int_eq(shmb_create(b, "excl", 8193, &plain, &s3), -EEXIST);
                ck_assert_ptr_null(s3);
                ck_assert_uint_eq(stat_ok(a, "excl").size, 8192);

                /* Size 0 is refused, and creates nothing. */
                ck_assert_int_eq(shmb_create(a, "zero", 0, &plain, &s3), -EINVAL);
                ck_assert_ptr_null(s3);
                assert_gone(a, "zero");
        }

        release_seg(s2);
        release_seg(s1);
        assert_gone(a, "excl");
        shmb_client_free(b);
        shmb_client_free(a);
}
END_TEST

START_TEST(test_open_missing) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_segment *s = NULL;

        ck_assert_int_eq(shmb_open(c, "no-such-segment", 0, &s), -ENOENT);
        ck_assert_ptr_null(s);
        ck_assert_msg(strstr(shmb_client_last_error(c), "no-such-segment"),
                      "last_error does not name the segment: \"%s\"", shmb_client_last_error(c));
        ck_assert_int_eq(shmb_open(c, "no-such-segment", SHMB_OPEN_RDONLY, &s), -ENOENT);
        ck_assert_ptr_null(s);
        shmb_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ release -- */

START_TEST(test_release_only_holder) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_segment *s;

        s = create_seg(c, "rel", 4096, SHMB_LIFETIME_HOLDERS, 0600, 0);
        ck_assert_uint_eq(stat_ok(c, "rel").holders, 1);
        release_seg(s);
        assert_gone(c, "rel");
        shmb_client_free(c);
}
END_TEST

START_TEST(test_release_not_held) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_segment *s;
        uint64_t id;
        int fd;

        fd = test_raw_connect(&daemon_);
        test_raw_hello(fd);

        /* An id that never existed. */
        ck_assert_uint_eq(raw_release(fd, 2, 987654321), SHMB_STATUS_NOT_HELD);

        /* A live segment held by another connection only: not this one's to release. */
        s = create_seg(c, "other", 4096, SHMB_LIFETIME_HOLDERS, 0600, 0);
        ck_assert_uint_eq(raw_release(fd, 3, shmb_segment_get_id(s)), SHMB_STATUS_NOT_HELD);
        ck_assert_uint_eq(stat_ok(c, "other").holders, 1);

        /* Releasing twice: the first succeeds, the second is NOT_HELD. */
        id = raw_hold(fd, 4, true, "twice-released", PROTO_LIFETIME_PERSISTENT, 0);
        ck_assert_uint_eq(raw_release(fd, 5, id), SHMB_STATUS_OK);
        ck_assert_uint_eq(raw_release(fd, 6, id), SHMB_STATUS_NOT_HELD);
        ck_assert_uint_eq(stat_ok(c, "twice-released").holders, 0);

        close(fd);
        release_seg(s);
        shmb_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ kill -9 -- */

/* Child of test_kill_holder: hold two segments, report, block until killed. */
static int child_hold_forever(const char *socket, int ready_fd) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_client *c = NULL;
        struct shmb_segment *s1 = NULL, *s2 = NULL;

        o.lifetime = SHMB_LIFETIME_HOLDERS;
        if (shmb_client_new(&c, socket) < 0)
                return 10;
        if (shmb_create(c, "killed-holders", 4096, &o, &s1) < 0)
                return 11;
        if (shmb_open(c, "killed-persistent", 0, &s2) < 0)
                return 12;
        pipe_put(ready_fd, 'R');
        for (;;)
                pause();
}

START_TEST(test_kill_holder) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_stat st;
        int p[2], status;
        pid_t pid;

        release_seg(create_seg(c, "killed-persistent", 4096, SHMB_LIFETIME_PERSISTENT, 0600, 0));
        ck_assert_uint_eq(stat_ok(c, "killed-persistent").holders, 0);

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(p[0]);
                _exit(child_hold_forever(daemon_.socket, p[1]));
        }
        close(p[1]);
        if (pipe_get(p[0]) != 'R') {
                waitpid(pid, &status, 0);
                ck_abort_msg("holder child failed before holding (status 0x%x)", status);
        }
        close(p[0]);

        ck_assert_uint_eq(stat_ok(c, "killed-holders").holders, 1);
        ck_assert_uint_eq(stat_ok(c, "killed-persistent").holders, 1);

        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        ck_assert_msg(wait_gone(c, "killed-holders"), "holders-lifetime segment outlived its killed only holder");
        ck_assert_uint_eq(wait_holders(c, "killed-persistent", 0), 0);
        st = stat_ok(c, "killed-persistent");
        ck_assert_int_eq(st.lifetime, SHMB_LIFETIME_PERSISTENT);
        shmb_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ lifetimes -- */

/* Child of test_creator_lifetime: create, fill, report, wait for the go, exit still holding. */
static int child_creator(const char *socket, int ready_fd, int go_fd) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_client *c = NULL;
        struct shmb_segment *s = NULL;
        void *p;

        o.lifetime = SHMB_LIFETIME_CREATOR;
        if (shmb_client_new(&c, socket) < 0)
                return 10;
        if (shmb_create(c, "by-creator", SEG_SIZE, &o, &s) < 0)
                return 11;
        if (shmb_segment_map(s, &p) < 0)
                return 12;
        pattern_fill(p, SEG_SIZE, 3);
        pipe_put(ready_fd, 'R');
        (void)pipe_get(go_fd);
        /* Exit with the hold and the connection open: the kernel closes them. */
        return 0;
}

START_TEST(test_creator_lifetime) {
        struct shmb_client *b = test_client(&daemon_);
        struct shmb_segment *sb, *sn;
        int ready[2], go[2];
        uint64_t old_id;
        uint8_t *pb;
        pid_t pid;

        ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                close(ready[0]);
                close(go[1]);
                _exit(child_creator(daemon_.socket, ready[1], go[0]));
        }
        close(ready[1]);
        close(go[0]);
        ck_assert_msg(pipe_get(ready[0]) == 'R', "creator child failed");
        close(ready[0]);

        ck_assert_int_eq(stat_ok(b, "by-creator").lifetime, SHMB_LIFETIME_CREATOR);
        sb = open_seg(b, "by-creator", 0);
        old_id = shmb_segment_get_id(sb);
        pb = map_seg(sb);
        ck_assert(pattern_check(pb, SEG_SIZE, 3));
        ck_assert_uint_eq(stat_ok(b, "by-creator").holders, 2);

        /* The creator's connection closes: the name goes, though b still holds it. */
        pipe_put(go[1], 'G');
        close(go[1]);
        wait_child_ok(pid, "creator");
        ck_assert_msg(wait_gone(b, "by-creator"), "name of a creator-lifetime segment outlived its creator");

        /* b's mapping still has the bytes and still works. */
        ck_assert(pattern_check(pb, SEG_SIZE, 3));
        pattern_fill(pb, SEG_SIZE, 4);
        ck_assert(pattern_check(pb, SEG_SIZE, 4));
        {
                struct shmb_segment *none = NULL;

                ck_assert_int_eq(shmb_open(b, "by-creator", 0, &none), -ENOENT);
        }

        /* The name is free for a new, different segment. */
        sn = create_seg(b, "by-creator", 4096, SHMB_LIFETIME_HOLDERS, 0600, SHMB_CREATE_EXCL);
        ck_assert_uint_ne(seg_flags(sn) & SHMB_SEG_CREATED, 0);
        ck_assert_uint_ne(shmb_segment_get_id(sn), old_id);
        ck_assert(all_zero(map_seg(sn), 4096));
        ck_assert(pattern_check(pb, SEG_SIZE, 4));

        release_seg(sn);
        release_seg(sb);
        shmb_client_free(b);
}
END_TEST

START_TEST(test_persistent_lifetime) {
        struct shmb_client *a = test_client(&daemon_), *b;
        struct shmb_segment *s;
        struct shmb_stat st;

        s = create_seg(a, "keep", SEG_SIZE, SHMB_LIFETIME_PERSISTENT, 0600, 0);
        pattern_fill(map_seg(s), SEG_SIZE, 11);
        release_seg(s);
        shmb_client_free(a);

        /* Nobody holds it any more; it is still there with its bytes. */
        b = test_client(&daemon_);
        st = stat_ok(b, "keep");
        ck_assert_uint_eq(st.holders, 0);
        ck_assert_int_eq(st.lifetime, SHMB_LIFETIME_PERSISTENT);
        s = open_seg(b, "keep", SHMB_OPEN_RDONLY);
        ck_assert(pattern_check(map_seg(s), SEG_SIZE, 11));
        release_seg(s);
        ck_assert_uint_eq(stat_ok(b, "keep").holders, 0);

        /* Unlink removes it. */
        ck_assert_int_eq(shmb_unlink(b, "keep"), 0);
        assert_gone(b, "keep");
        ck_assert_int_eq(shmb_unlink(b, "keep"), -ENOENT);
        shmb_client_free(b);
}
END_TEST

/* test_run_as() body: unlink someone else's segment; 0 if refused with -EPERM. */
static int unlink_as_other(void *userdata) {
        const char *socket = userdata;
        struct shmb_client *c = NULL;
        int r;

        if (shmb_client_new(&c, socket) < 0)
                return 10;
        r = shmb_unlink(c, "unl");
        shmb_client_free(c);
        return r == -EPERM ? 0 : r == 0 ? 11 : 12;
}

START_TEST(test_unlink_semantics) {
        struct shmb_client *a = test_client(&daemon_), *b = test_client(&daemon_);
        struct shmb_segment *s, *sn, *none = NULL;
        struct shmb_stat *v;
        uint64_t old_id;
        uint8_t *p;
        size_t n;

        s = create_seg(a, "unl", SEG_SIZE, SHMB_LIFETIME_PERSISTENT, 0666, 0);
        old_id = shmb_segment_get_id(s);
        p = map_seg(s);
        pattern_fill(p, SEG_SIZE, 21);

        if (geteuid() == 0) {
                int code;

                test_daemon_share(&daemon_);
                code = test_run_as(NOBODY, NOBODY, unlink_as_other, daemon_.socket);
                ck_assert_msg(code == 0, "unlink by uid %d: expected -EPERM (child code %d)", NOBODY, code);
                ck_assert_uint_eq(stat_ok(b, "unl").id, old_id);
        } else {
                fprintf(stderr, "test_unlink_semantics: not root, skipping unlink by another uid "
                                "(cannot switch to uid %d)\n", NOBODY);
        }

        ck_assert_int_eq(shmb_unlink(a, "unl"), 0);

        /* The holder's mapping still works. */
        ck_assert(pattern_check(p, SEG_SIZE, 21));
        pattern_fill(p, SEG_SIZE, 22);
        ck_assert(pattern_check(p, SEG_SIZE, 22));

        /* The name is free: no open, no stat, a new create gets a new id and new memory. */
        ck_assert_int_eq(shmb_open(b, "unl", 0, &none), -ENOENT);
        ck_assert_ptr_null(none);
        assert_gone(b, "unl");
        sn = create_seg(b, "unl", SEG_SIZE, SHMB_LIFETIME_HOLDERS, 0600, SHMB_CREATE_EXCL);
        ck_assert_uint_ne(shmb_segment_get_id(sn), old_id);
        ck_assert(all_zero(map_seg(sn), SEG_SIZE));
        ck_assert(pattern_check(p, SEG_SIZE, 22));

        /* Only the new one is listed. */
        ck_assert_int_eq(shmb_list(b, &v, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(v[0].name, "unl");
        ck_assert_uint_eq(v[0].id, shmb_segment_get_id(sn));
        shmb_list_free(v);

        release_seg(sn);
        release_seg(s);
        shmb_client_free(b);
        shmb_client_free(a);
}
END_TEST

/* ------------------------------------------------------------------ stat/list -- */

START_TEST(test_stat_fields) {
        struct shmb_client *a = test_client(&daemon_), *b = test_client(&daemon_), *c = test_client(&daemon_);
        struct shmb_segment *s, *s_again, *sb, *sc;
        struct shmb_stat st;
        int fd;

        s = create_seg(a, "st", 12345, SHMB_LIFETIME_PERSISTENT, 0640, 0);
        st = stat_ok(b, "st");
        ck_assert_str_eq(st.name, "st");
        ck_assert_uint_eq(st.id, shmb_segment_get_id(s));
        ck_assert_uint_eq(st.size, 12345);
        ck_assert_uint_eq(st.mode, 0640);
        ck_assert_uint_eq(st.uid, geteuid());
        ck_assert_uint_eq(st.gid, getegid());
        ck_assert_int_eq(st.lifetime, SHMB_LIFETIME_PERSISTENT);
        ck_assert_int_eq(st.backend, SHMB_BACKEND_MEMFD);
        ck_assert_int_eq(st.shmid, -1);
        /* CLOCK_REALTIME in microseconds: within a day of now (a units check, not a timing one). */
        ck_assert_msg(st.created_usec / 1000000 + 86400 > (uint64_t)time(NULL) &&
                              st.created_usec / 1000000 < (uint64_t)time(NULL) + 86400,
                      "created_usec %llu is not microseconds of CLOCK_REALTIME",
                      (unsigned long long)st.created_usec);
        ck_assert_uint_eq(st.flags & (SHMB_SEG_CREATED | SHMB_SEG_UNLINKED | SHMB_SEG_READONLY), 0);
        ck_assert_uint_eq(st.holders, 1);

        /* Holders count connections: a second open by a is not a second holder. */
        sb = open_seg(b, "st", 0);
        ck_assert_uint_eq(stat_ok(a, "st").holders, 2);
        sc = open_seg(c, "st", SHMB_OPEN_RDONLY);
        ck_assert_uint_eq(stat_ok(a, "st").holders, 3);
        s_again = open_seg(a, "st", 0);
        ck_assert_uint_eq(stat_ok(a, "st").holders, 3);
        release_seg(s_again);
        ck_assert_uint_eq(stat_ok(a, "st").holders, 3);
        release_seg(sb);
        ck_assert_uint_eq(stat_ok(a, "st").holders, 2);
        release_seg(sc);
        ck_assert_uint_eq(stat_ok(a, "st").holders, 1);
        release_seg(s);
        st = stat_ok(a, "st");
        ck_assert_uint_eq(st.holders, 0);
        ck_assert_uint_eq(st.size, 12345);

        /* A connection that closes while holding stops counting. */
        sb = open_seg(b, "st", 0);
        fd = test_raw_connect(&daemon_);
        test_raw_hello(fd);
        (void)raw_hold(fd, 2, false, "st", 0, PROTO_OPEN_RDONLY);
        ck_assert_uint_eq(stat_ok(a, "st").holders, 2);
        close(fd);
        ck_assert_uint_eq(wait_holders(a, "st", 1), 1);
        release_seg(sb);
        ck_assert_uint_eq(stat_ok(a, "st").holders, 0);
        shmb_client_free(c);
        shmb_client_free(b);
        shmb_client_free(a);
}
END_TEST

/* test_run_as() body: list as another uid; 0 if exactly "l-two" is visible. */
static int list_as_other(void *userdata) {
        const char *socket = userdata;
        struct shmb_client *c = NULL;
        struct shmb_stat *v = NULL;
        size_t n = 0;
        int ret;

        if (shmb_client_new(&c, socket) < 0)
                return 10;
        if (shmb_list(c, &v, &n) < 0)
                return 11;
        ret = n != 1 ? 12 : strcmp(v[0].name, "l-two") != 0 ? 13 : 0;
        shmb_list_free(v);
        shmb_client_free(c);
        return ret;
}

START_TEST(test_list_visible) {
        struct shmb_client *a = test_client(&daemon_);
        struct shmb_segment *two, *three;
        struct shmb_stat *v;
        size_t n;

        ck_assert_int_eq(shmb_list(a, &v, &n), 0);
        ck_assert_uint_eq(n, 0);
        shmb_list_free(v);

        release_seg(create_seg(a, "l-one", 4096, SHMB_LIFETIME_PERSISTENT, 0600, 0));
        two = create_seg(a, "l-two", 8192, SHMB_LIFETIME_HOLDERS, 0644, 0);
        three = create_seg(a, "l-three", 4096, SHMB_LIFETIME_PERSISTENT, 0600, 0);
        /* Held but unlinked: alive, not visible by name. */
        ck_assert_int_eq(shmb_unlink(a, "l-three"), 0);
        /* Released holders-lifetime: gone. */
        release_seg(create_seg(a, "l-gone", 4096, SHMB_LIFETIME_HOLDERS, 0600, 0));

        ck_assert_int_eq(shmb_list(a, &v, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_str_eq(v[0].name, "l-one");
        ck_assert_str_eq(v[1].name, "l-two");
        ck_assert_uint_lt(v[0].id, v[1].id);
        for (size_t i = 0; i < n; i++) {
                struct shmb_stat st = stat_ok(a, v[i].name);

                ck_assert_uint_eq(v[i].id, st.id);
                ck_assert_uint_eq(v[i].size, st.size);
                ck_assert_uint_eq(v[i].mode, st.mode);
                ck_assert_uint_eq(v[i].uid, st.uid);
                ck_assert_uint_eq(v[i].holders, st.holders);
                ck_assert_int_eq(v[i].lifetime, st.lifetime);
                ck_assert_int_eq(v[i].backend, SHMB_BACKEND_MEMFD);
        }
        ck_assert_uint_eq(v[1].size, 8192);
        ck_assert_uint_eq(v[1].holders, 1);
        shmb_list_free(v);

        if (geteuid() == 0) {
                int code;

                test_daemon_share(&daemon_);
                code = test_run_as(NOBODY, NOBODY, list_as_other, daemon_.socket);
                ck_assert_msg(code == 0, "list by uid %d: expected only l-two (child code %d)", NOBODY, code);
        } else {
                fprintf(stderr, "test_list_visible: not root, skipping the listing by another uid\n");
        }

        release_seg(three);
        release_seg(two);
        shmb_client_free(a);
}
END_TEST

START_TEST(test_list_many_pages) {
        struct shmb_client *c;
        struct shmb_stat *v;
        struct rlimit rl;
        char name[48];
        size_t n;

        /* The daemon keeps one memfd per segment: let it (our child) have enough fds. */
        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
        if (rl.rlim_cur < N_BULK + 256 && rl.rlim_max > rl.rlim_cur) {
                test_daemon_stop(&daemon_);
                rl.rlim_cur = rl.rlim_max;
                ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
                test_daemon_start(&daemon_, NULL);
        }

        c = test_client(&daemon_);
        for (int i = 0; i < N_BULK; i++) {
                snprintf(name, sizeof(name), "bulk-segment-%05d", i);
                release_seg(create_seg(c, name, 4096, SHMB_LIFETIME_PERSISTENT, 0600, 0));
        }
        /* More than one LIST reply's worth. */
        ck_assert_uint_gt((size_t)N_BULK * (SHMB_SEGINFO_FIXED + strlen(name)), SHMB_MSG_MAX);

        ck_assert_int_eq(shmb_list(c, &v, &n), 0);
        ck_assert_uint_eq(n, N_BULK);
        for (size_t i = 0; i < n; i++) {
                snprintf(name, sizeof(name), "bulk-segment-%05zu", i);
                ck_assert_str_eq(v[i].name, name);
                if (i > 0)
                        ck_assert_msg(v[i].id > v[i - 1].id, "ids not strictly ascending at %zu: %llu after %llu",
                                      i, (unsigned long long)v[i].id, (unsigned long long)v[i - 1].id);
        }
        shmb_list_free(v);
        shmb_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ handles -- */

START_TEST(test_two_handles_same_client) {
        struct shmb_client *a = test_client(&daemon_), *b = test_client(&daemon_);
        struct shmb_segment *s, *h1, *h2;
        uint8_t *p1, *p2;

        s = create_seg(a, "twice", SEG_SIZE, SHMB_LIFETIME_HOLDERS, 0600, 0);
        h1 = open_seg(b, "twice", 0);
        h2 = open_seg(b, "twice", 0);
        ck_assert_ptr_ne(h1, h2);
        ck_assert_uint_eq(shmb_segment_get_id(h1), shmb_segment_get_id(h2));
        ck_assert_int_ne(shmb_segment_get_fd(h1), shmb_segment_get_fd(h2));
        p1 = map_seg(h1);
        p2 = map_seg(h2);
        pattern_fill(p1, SEG_SIZE, 31);
        ck_assert(pattern_check(p2, SEG_SIZE, 31));

        release_seg(s);
        ck_assert_uint_eq(stat_ok(b, "twice").holders, 1);

        release_seg(h1);
        ck_assert_msg(pattern_check(p2, SEG_SIZE, 31), "releasing one handle broke the other's mapping");
        ck_assert_uint_eq(stat_ok(b, "twice").holders, 1);

        release_seg(h2);
        assert_gone(b, "twice");
        shmb_client_free(b);
        shmb_client_free(a);
}
END_TEST

START_TEST(test_readonly_open) {
        struct shmb_client *w = test_client(&daemon_), *r = test_client(&daemon_);
        struct shmb_segment *sw, *sr;
        const uint8_t *pr;
        uint8_t *pw;
        int flags;

        sw = create_seg(w, "ro", SEG_SIZE, SHMB_LIFETIME_HOLDERS, 0644, 0);
        ck_assert_int_eq(shmb_segment_is_readonly(sw), 0);
        pw = map_seg(sw);
        pattern_fill(pw, SEG_SIZE, 41);

        sr = open_seg(r, "ro", SHMB_OPEN_RDONLY);
        ck_assert_int_eq(shmb_segment_is_readonly(sr), 1);
        ck_assert_uint_ne(seg_flags(sr) & SHMB_SEG_READONLY, 0);
        ck_assert_uint_eq(shmb_segment_get_size(sr), SEG_SIZE);
        pr = map_seg(sr);
        ck_assert(pattern_check(pr, SEG_SIZE, 41));

        /* Later writes show through. */
        pattern_fill(pw, SEG_SIZE, 42);
        ck_assert(pattern_check(pr, SEG_SIZE, 42));

        /* The fd is read-only: no writable shared mapping from it. */
        flags = fcntl(shmb_segment_get_fd(sr), F_GETFL);
        ck_assert_int_ge(flags, 0);
        ck_assert_int_eq(flags & O_ACCMODE, O_RDONLY);
        ck_assert(mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, shmb_segment_get_fd(sr), 0) ==
                  MAP_FAILED);

        release_seg(sr);
        release_seg(sw);
        shmb_client_free(r);
        shmb_client_free(w);
}
END_TEST

/* ------------------------------------------------------------------ shutdown -- */

START_TEST(test_sigterm_with_live_segments) {
        struct shmb_client *a = test_client(&daemon_), *b = test_client(&daemon_);
        struct shmb_segment *s1, *s2, *s3, *sr;
        const uint8_t *pr;
        uint8_t *p1;
        struct shmb_stat st;

        s1 = create_seg(a, "live-holders", SEG_SIZE, SHMB_LIFETIME_HOLDERS, 0600, 0);
        s2 = create_seg(a, "live-persistent", SEG_SIZE, SHMB_LIFETIME_PERSISTENT, 0600, 0);
        s3 = create_seg(a, "live-creator", SEG_SIZE, SHMB_LIFETIME_CREATOR, 0600, 0);
        p1 = map_seg(s1);
        pattern_fill(p1, SEG_SIZE, 51);
        pattern_fill(map_seg(s2), SEG_SIZE, 52);
        sr = open_seg(b, "live-persistent", SHMB_OPEN_RDONLY);
        pr = map_seg(sr);

        /* Asserts exit status 0 and that the socket file is gone. */
        test_daemon_stop(&daemon_);
        ck_assert_int_eq(daemon_.pid, 0);

        ck_assert(pattern_check(p1, SEG_SIZE, 51));
        ck_assert(pattern_check(pr, SEG_SIZE, 52));
        ck_assert_int_lt(shmb_stat(b, "live-persistent", &st), 0);

        /* The daemon cannot confirm; the handles are freed anyway. */
        (void)shmb_segment_release(sr);
        (void)shmb_segment_release(s3);
        (void)shmb_segment_release(s2);
        (void)shmb_segment_release(s1);
        shmb_client_free(b);
        shmb_client_free(a);
}
END_TEST

/* ------------------------------------------------------------------ fds -- */

static void assert_cloexec(int fd, const char *what) {
        int flags;

        ck_assert_msg(fd >= 0, "%s: no fd (%d)", what, fd);
        flags = fcntl(fd, F_GETFD);
        ck_assert_msg(flags >= 0, "%s: fcntl: %s", what, strerror(errno));
        ck_assert_msg(flags & FD_CLOEXEC, "%s: fd %d is not close-on-exec", what, fd);
}

START_TEST(test_fds_cloexec) {
        struct shmb_client *a = test_client(&daemon_), *b = test_client(&daemon_);
        struct shmb_segment *sc, *so, *sr, *se;

        assert_cloexec(shmb_client_get_fd(a), "client socket");
        assert_cloexec(shmb_client_get_fd(b), "second client socket");
        sc = create_seg(a, "cloexec", 4096, SHMB_LIFETIME_HOLDERS, 0644, 0);
        assert_cloexec(shmb_segment_get_fd(sc), "created segment");
        se = create_seg(b, "cloexec", 4096, SHMB_LIFETIME_HOLDERS, 0644, 0);
        assert_cloexec(shmb_segment_get_fd(se), "segment opened by create");
        so = open_seg(b, "cloexec", 0);
        assert_cloexec(shmb_segment_get_fd(so), "segment opened read-write");
        sr = open_seg(b, "cloexec", SHMB_OPEN_RDONLY);
        assert_cloexec(shmb_segment_get_fd(sr), "segment opened read-only");

        release_seg(sr);
        release_seg(so);
        release_seg(se);
        release_seg(sc);
        shmb_client_free(b);
        shmb_client_free(a);
}
END_TEST

START_TEST(test_daemon_fds_no_leak) {
        struct shmb_client *c;
        struct shmb_stat *v;
        int before, after;
        size_t n;

        /*
         * A probe stays connected throughout; its first round trip proves the
         * daemon is in its loop, past the transient fd of sd_notify(READY=1).
         */
        c = test_client(&daemon_);
        ck_assert_int_eq(shmb_list(c, &v, &n), 0);
        shmb_list_free(v);
        before = test_count_fds(daemon_.pid);
        for (int i = 0; i < N_CYCLES; i++) {
                char name[32];

                snprintf(name, sizeof(name), "cycle-%d", i);
                if (i % 2 == 0) {
                        /* Library clients that release everything, then disconnect. */
                        struct shmb_client *c1 = test_client(&daemon_), *c2 = test_client(&daemon_);
                        struct shmb_segment *s1, *s2, *s3;

                        s1 = create_seg(c1, name, 8192, i % 4 ? SHMB_LIFETIME_CREATOR : SHMB_LIFETIME_HOLDERS,
                                        0600, 0);
                        s2 = open_seg(c2, name, 0);
                        s3 = open_seg(c2, name, SHMB_OPEN_RDONLY);
                        (void)map_seg(s1);
                        (void)map_seg(s3);
                        release_seg(s3);
                        release_seg(s2);
                        release_seg(s1);
                        shmb_client_free(c2);
                        shmb_client_free(c1);
                } else {
                        /* Raw clients that disconnect while holding. */
                        int f1 = test_raw_connect(&daemon_), f2 = test_raw_connect(&daemon_);

                        test_raw_hello(f1);
                        test_raw_hello(f2);
                        (void)raw_hold(f1, 2, true, name,
                                       i % 4 == 1 ? PROTO_LIFETIME_HOLDERS : PROTO_LIFETIME_CREATOR, 0);
                        (void)raw_hold(f2, 2, false, name, 0, PROTO_OPEN_RDONLY);
                        (void)raw_hold(f2, 3, false, name, 0, 0);
                        close(f1);
                        close(f2);
                }
        }

        /* Every segment went with its holders and creators. */
        for (int waited = 0;; waited += STEP_MS) {
                ck_assert_int_eq(shmb_list(c, &v, &n), 0);
                shmb_list_free(v);
                if (n == 0 || waited >= WAIT_MS)
                        break;
                test_sleep_ms(STEP_MS);
        }
        ck_assert_uint_eq(n, 0);

        after = test_wait_fds(daemon_.pid, before, WAIT_MS);
        ck_assert_msg(after == before, "daemon has %d fds after %d cycles, %d before", after, N_CYCLES, before);
        shmb_client_free(c);
}
END_TEST

/* ------------------------------------------------------------------ main -- */

static TCase *tcase(const char *name) {
        TCase *tc = tcase_create(name);

        tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
        tcase_set_timeout(tc, 30);
        return tc;
}

static Suite *lifecycle_suite(void) {
        Suite *s = suite_create("lifecycle");
        TCase *tc;

        tc = tcase("share");
        tcase_add_test(tc, test_share_two_processes);
        suite_add_tcase(s, tc);

        tc = tcase("create-open");
        tcase_add_test(tc, test_create_exclusive_and_existing);
        tcase_add_test(tc, test_open_missing);
        suite_add_tcase(s, tc);

        tc = tcase("release");
        tcase_add_test(tc, test_release_only_holder);
        tcase_add_test(tc, test_release_not_held);
        suite_add_tcase(s, tc);

        tc = tcase("crashed-holder");
        tcase_add_test(tc, test_kill_holder);
        suite_add_tcase(s, tc);

        tc = tcase("lifetimes");
        tcase_add_test(tc, test_creator_lifetime);
        tcase_add_test(tc, test_persistent_lifetime);
        tcase_add_test(tc, test_unlink_semantics);
        suite_add_tcase(s, tc);

        tc = tcase("stat-list");
        tcase_add_test(tc, test_stat_fields);
        tcase_add_test(tc, test_list_visible);
        tcase_add_test(tc, test_list_many_pages);
        suite_add_tcase(s, tc);

        tc = tcase("handles");
        tcase_add_test(tc, test_two_handles_same_client);
        tcase_add_test(tc, test_readonly_open);
        suite_add_tcase(s, tc);

        tc = tcase("shutdown");
        tcase_add_test(tc, test_sigterm_with_live_segments);
        suite_add_tcase(s, tc);

        tc = tcase("fds");
        tcase_add_test(tc, test_fds_cloexec);
        tcase_add_test(tc, test_daemon_fds_no_leak);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(lifecycle_suite());
        int failed;

        test_run_begin();
        srunner_run_all(sr, CK_NORMAL);
        test_run_sweep();
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
