/*
 * Bad input never harms other clients. Every test starts a daemon with one
 * healthy library client holding a mapped segment, lets bad clients loose on
 * raw sockets, and then checks that the daemon still runs, that its fd count
 * is back to what it was once the bad clients are gone, and that the healthy
 * client can still create, open and stat.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"
#include "tests/integration/util-daemon.h"

#define HEALTHY_NAME "healthy"
#define HEALTHY_SIZE 65536
#define HEALTHY_BYTE 0xc3
#define DEADLINE_MSEC 5000

typedef struct Fixture {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_segment *seg;
        uint8_t *map;
        int base_fds;
        int conn_fds;           /* daemon fds per connection: the socket, and its pidfd where the kernel has one */
} Fixture;

static uint8_t buf[SHMB_MSG_MAX + 8192];
static uint8_t rbuf[SHMB_MSG_MAX];

static uint64_t now_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_msec(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

        nanosleep(&ts, NULL);
}

static void set_rcvtimeo(int fd, int sec) {
        struct timeval tv = { .tv_sec = sec };

        ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
}

/* Poll until the daemon has @want fds, for up to 5 s; returns the last count seen. */
static int wait_fd_count(const Fixture *f, int want) {
        uint64_t end = now_msec() + DEADLINE_MSEC;
        int n;

        for (;;) {
                n = test_count_fds(f->d.pid);
                if (n == want || now_msec() >= end)
                        return n;
                sleep_msec(20);
        }
}

/* Start the daemon and the healthy client; remember the daemon's fd count. */
static void fixture_start(Fixture *f) {
        void *p = NULL;
        int r;

        memset(f, 0, sizeof(*f));
        test_daemon_start(&f->d, NULL);
        f->c = test_client(&f->d);
        /* "Promptly": a healthy call that waits 5 s for its reply fails with -EAGAIN. */
        set_rcvtimeo(shmb_client_get_fd(f->c), 5);
        r = shmb_create(f->c, HEALTHY_NAME, HEALTHY_SIZE, NULL, &f->seg);
        ck_assert_msg(r == 0, "healthy create: %s", strerror(-r));
        ck_assert_int_eq(shmb_segment_map(f->seg, &p), 0);
        f->map = p;
        memset(f->map, HEALTHY_BYTE, HEALTHY_SIZE);
        f->base_fds = test_count_fds(f->d.pid);
        /* The healthy connection costs the same as any other: measure it off the baseline. */
        {
                int fd = test_raw_connect(&f->d), n;

                test_raw_hello(fd);
                n = test_count_fds(f->d.pid);
                close(fd);
                f->conn_fds = n - f->base_fds;
                ck_assert_msg(f->conn_fds == 1 || f->conn_fds == 2, "a connection costs the daemon %d fds",
                              f->conn_fds);
                ck_assert_int_eq(wait_fd_count(f, f->base_fds), f->base_fds);
        }
}

static void assert_daemon_alive(Fixture *f) {
        int status = 0;

        /* kill(pid, 0) also succeeds on a zombie: reap-check first. */
        if (waitpid(f->d.pid, &status, WNOHANG) == f->d.pid) {
                f->d.pid = 0;
                test_daemon_stop(&f->d);
                ck_abort_msg("shmbrokerd died (wait status 0x%x)", status);
        }
        ck_assert_msg(kill(f->d.pid, 0) == 0, "shmbrokerd (pid %d) is gone: %m", (int)f->d.pid);
}

static void assert_fds_at_baseline(const Fixture *f, const char *after) {
        int n = wait_fd_count(f, f->base_fds);

        ck_assert_msg(n == f->base_fds, "daemon has %d fds 5 s after %s, baseline %d", n, after, f->base_fds);
}

/* The healthy client can still stat, create, open (rw and ro) and release. */
static void assert_healthy(Fixture *f) {
        static unsigned probe;
        struct shmb_segment *s = NULL, *rw = NULL, *ro = NULL;
        struct shmb_stat st;
        char name[64];
        int r;

        for (size_t i = 0; i < HEALTHY_SIZE; i += 4096)
                ck_assert_msg(f->map[i] == HEALTHY_BYTE, "healthy mapping changed at byte %zu", i);
        r = shmb_stat(f->c, HEALTHY_NAME, &st);
        ck_assert_msg(r == 0, "healthy stat: %s (%s)", strerror(-r), shmb_client_last_error(f->c));
        ck_assert_uint_eq(st.size, HEALTHY_SIZE);

        snprintf(name, sizeof(name), "probe-%u", probe++);
        r = shmb_create(f->c, name, 4096, NULL, &s);
        ck_assert_msg(r == 0, "healthy create of '%s': %s (%s)", name, strerror(-r), shmb_client_last_error(f->c));
        r = shmb_open(f->c, name, 0, &rw);
        ck_assert_msg(r == 0, "healthy open of '%s': %s", name, strerror(-r));
        r = shmb_open(f->c, name, SHMB_OPEN_RDONLY, &ro);
        ck_assert_msg(r == 0, "healthy read-only open of '%s': %s", name, strerror(-r));
        r = shmb_stat(f->c, name, &st);
        ck_assert_msg(r == 0, "healthy stat of '%s': %s", name, strerror(-r));
        ck_assert_uint_eq(st.holders, 1);
        ck_assert_int_eq(shmb_segment_release(ro), 0);
        ck_assert_int_eq(shmb_segment_release(rw), 0);
        ck_assert_int_eq(shmb_segment_release(s), 0);
}

/* After the bad clients are gone: alive, fds at baseline, healthy client works; then stop. */
static void fixture_finish(Fixture *f, const char *after) {
        assert_daemon_alive(f);
        assert_fds_at_baseline(f, after);
        assert_healthy(f);
        assert_fds_at_baseline(f, "the healthy client's probe segments were released");
        ck_assert_int_eq(shmb_segment_release(f->seg), 0);
        f->c = shmb_client_free(f->c);
        test_daemon_stop(&f->d);
}

/* A raw connection that has done HELLO. */
static int raw_ready(const Fixture *f) {
        int fd = test_raw_connect(&f->d);

        test_raw_hello(fd);
        return fd;
}

/* Receive one reply and check its type, status and req_id. */
static void expect_reply(int fd, uint16_t type, uint16_t status, uint32_t req_id, const char *what) {
        ProtoHeader h;
        ssize_t n;
        int pfd = -1;

        n = test_raw_recv(fd, rbuf, sizeof(rbuf), &pfd);
        if (pfd >= 0)
                close(pfd);
        ck_assert_msg(n > 0, "%s: expected a %s reply, got %s", what, proto_status_name(status),
                      n == 0 ? "a disconnect" : strerror((int)-n));
        ck_assert_msg(proto_decode_header(rbuf, (size_t)n, &h) == 0, "%s: reply header does not decode", what);
        ck_assert_msg(h.type == (type | SHMB_MSG_REPLY), "%s: reply type 0x%04x, expected 0x%04x", what, h.type,
                      type | SHMB_MSG_REPLY);
        ck_assert_msg(h.status == status, "%s: status %s, expected %s", what, proto_status_name(h.status),
                      proto_status_name(status));
        ck_assert_msg(h.req_id == req_id, "%s: reply req_id %u, expected %u", what, h.req_id, req_id);
}

/* The daemon closed this connection: recv sees EOF (not a reply, not a timeout). */
static void expect_disconnect(int fd, const char *what) {
        ssize_t n = test_raw_recv(fd, rbuf, sizeof(rbuf), NULL);

        ck_assert_msg(n == 0, "%s: expected the daemon to close the connection, got %s", what,
                      n > 0 ? "a reply" : strerror((int)-n));
}

/* A STAT of the healthy segment on a raw connection answers OK: the connection is usable. */
static void expect_usable(int fd, uint32_t req_id, const char *what) {
        ProtoBuf b;
        int len;

        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_name_request(&b, SHMB_MSG_STAT, req_id, HEALTHY_NAME);
        ck_assert_int_gt(len, 0);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, SHMB_MSG_STAT, SHMB_STATUS_OK, req_id, what);
}

static void put_u32le(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

/* A request of @type with a name payload built by hand (the name may hold any bytes). */
static size_t build_name_request(uint16_t type, uint32_t req_id, const char *name, size_t name_len) {
        ProtoBuf b;
        int len;

        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, type, 0, req_id);
        switch (type) {
        case SHMB_MSG_CREATE:
                proto_put_u64(&b, 4096);
                proto_put_u32(&b, 0600);
                proto_put_u8(&b, PROTO_LIFETIME_HOLDERS);
                proto_put_u8(&b, PROTO_BACKEND_DEFAULT);
                proto_put_u16(&b, 0);
                proto_put_u32(&b, 0);   /* ttl_sec */
                proto_put_u64(&b, 0);   /* max_size */
                break;
        case SHMB_MSG_OPEN:
                proto_put_u16(&b, 0);
                proto_put_u16(&b, 0);
                proto_put_u32(&b, 0);
                break;
        default:
                break;
        }
        proto_put_str(&b, name, name_len);
        len = proto_finish(&b);
        ck_assert_int_gt(len, 0);
        return (size_t)len;
}

/* The registry holds only the healthy segment (poll: closing clients is asynchronous). */
static void assert_only_healthy_listed(Fixture *f) {
        uint64_t end = now_msec() + DEADLINE_MSEC;
        struct shmb_stat *v = NULL;
        size_t n = 0;

        for (;;) {
                ck_assert_int_eq(shmb_list(f->c, &v, &n), 0);
                if ((n == 1 && strcmp(v[0].name, HEALTHY_NAME) == 0) || now_msec() >= end)
                        break;
                shmb_list_free(v);
                v = NULL;
                sleep_msec(20);
        }
        ck_assert_msg(n == 1 && strcmp(v[0].name, HEALTHY_NAME) == 0,
                      "list shows %zu segments (first '%s'), expected only '%s'", n, n ? v[0].name : "",
                      HEALTHY_NAME);
        shmb_list_free(v);
}

/* ---------------------------------------------------------------- short/long -- */

START_TEST(test_short_datagram_disconnects) {
        Fixture f;
        int fd;

        fixture_start(&f);
        fd = test_raw_connect(&f.d);
        test_raw_send(fd, "abc", 3, -1);
        expect_disconnect(fd, "3-byte datagram before HELLO");
        close(fd);

        fd = raw_ready(&f);
        test_raw_send(fd, "abc", 3, -1);
        expect_disconnect(fd, "3-byte datagram after HELLO");
        close(fd);

        fd = raw_ready(&f);
        test_raw_send(fd, buf, SHMB_HEADER_SIZE - 1, -1);
        expect_disconnect(fd, "15-byte datagram");
        close(fd);
        fixture_finish(&f, "short datagrams");
}
END_TEST

START_TEST(test_oversized_datagram_disconnects) {
        static uint8_t big[70000];
        Fixture f;
        ProtoBuf b;
        int fd;

        fixture_start(&f);
        fd = raw_ready(&f);
        memset(big, 'a', sizeof(big));
        proto_buf_init(&b, big, SHMB_HEADER_SIZE);
        proto_put_header(&b, SHMB_MSG_STAT, 0, 7);
        put_u32le(big + 8, sizeof(big));
        test_raw_send(fd, big, sizeof(big), -1);
        expect_disconnect(fd, "70,000-byte datagram");
        close(fd);

        /* One byte over the limit is refused the same way. */
        fd = raw_ready(&f);
        put_u32le(big + 8, SHMB_MSG_MAX + 1);
        test_raw_send(fd, big, SHMB_MSG_MAX + 1, -1);
        expect_disconnect(fd, "65,537-byte datagram");
        close(fd);
        fixture_finish(&f, "oversized datagrams");
}
END_TEST

START_TEST(test_largest_datagram_answered) {
        static uint8_t big[SHMB_MSG_MAX];
        Fixture f;
        ProtoBuf b;
        int fd;

        fixture_start(&f);
        fd = raw_ready(&f);
        memset(big, 'a', sizeof(big));
        proto_buf_init(&b, big, SHMB_HEADER_SIZE);
        proto_put_header(&b, SHMB_MSG_STAT, 0, 8);
        put_u32le(big + 8, sizeof(big));
        /* Name length "aa" = 24,929 bytes: longer than 255, so BAD_NAME, not a disconnect. */
        test_raw_send(fd, big, sizeof(big), -1);
        expect_reply(fd, SHMB_MSG_STAT, SHMB_STATUS_BAD_NAME, 8, "65,536-byte STAT with a 24,929-byte name");
        expect_usable(fd, 9, "after a 65,536-byte datagram");
        close(fd);
        fixture_finish(&f, "a maximum-size datagram");
}
END_TEST

/* -------------------------------------------------------------------- header -- */

START_TEST(test_length_mismatch_invalid) {
        Fixture f;
        ProtoBuf b;
        int fd, len;

        fixture_start(&f);
        fd = raw_ready(&f);

        /* Length field larger than the datagram. */
        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_name_request(&b, SHMB_MSG_STAT, 41, HEALTHY_NAME);
        put_u32le(buf + 8, (uint32_t)len + 5);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, SHMB_MSG_STAT, SHMB_STATUS_INVALID, 41, "length field 5 bytes over the datagram");
        expect_usable(fd, 42, "after a too-large length field");

        /* Length field smaller than the datagram (trailing bytes). */
        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_name_request(&b, SHMB_MSG_STAT, 43, HEALTHY_NAME);
        memset(buf + len, 0, 3);
        test_raw_send(fd, buf, (size_t)len + 3, -1);
        expect_reply(fd, SHMB_MSG_STAT, SHMB_STATUS_INVALID, 43, "3 bytes beyond the length field");
        expect_usable(fd, 44, "after a too-small length field");

        /* Length field 0xffffffff. */
        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_name_request(&b, SHMB_MSG_STAT, 45, HEALTHY_NAME);
        put_u32le(buf + 8, UINT32_MAX);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, SHMB_MSG_STAT, SHMB_STATUS_INVALID, 45, "length field 0xffffffff");
        expect_usable(fd, 46, "after a 0xffffffff length field");
        close(fd);
        fixture_finish(&f, "length mismatches");
}
END_TEST

START_TEST(test_bad_header_fields) {
        static const struct {
                const char *what;
                size_t offset;
                uint8_t value;
                uint16_t status;
        } cases[] = {
                { "header version 2 on STAT", 0, 2, SHMB_STATUS_VERSION },
                { "header version 0 on STAT", 0, 0, SHMB_STATUS_VERSION },
                { "header flags 0x0001", 4, 1, SHMB_STATUS_INVALID },
                { "header status 0x0001 in a request", 6, 1, SHMB_STATUS_INVALID },
        };
        Fixture f;
        ProtoBuf b;
        int fd, len;

        fixture_start(&f);
        fd = raw_ready(&f);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint32_t id = 90 + 2 * (uint32_t)i;

                proto_buf_init(&b, buf, sizeof(buf));
                len = proto_encode_name_request(&b, SHMB_MSG_STAT, id, HEALTHY_NAME);
                buf[cases[i].offset] = cases[i].value;
                test_raw_send(fd, buf, (size_t)len, -1);
                expect_reply(fd, SHMB_MSG_STAT, cases[i].status, id, cases[i].what);
                expect_usable(fd, id + 1, cases[i].what);
        }
        close(fd);
        fixture_finish(&f, "bad header fields");
}
END_TEST

START_TEST(test_unknown_and_reply_types) {
        Fixture f;
        ProtoBuf b;
        int fd, len;

        fixture_start(&f);
        fd = raw_ready(&f);

        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, 0x0077, 0, 51);
        len = proto_finish(&b);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, 0x0077, SHMB_STATUS_UNSUPPORTED, 51, "type 0x0077");
        expect_usable(fd, 52, "after type 0x0077");

        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, 0x8001, 0, 53);
        proto_put_u16(&b, 1);
        proto_put_u16(&b, 1);
        proto_put_u32(&b, 0);
        len = proto_finish(&b);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, 0x8001, SHMB_STATUS_INVALID, 53, "type 0x8001 (reply bit set)");
        expect_usable(fd, 54, "after type 0x8001");

        proto_buf_init(&b, buf, sizeof(buf));
        proto_put_header(&b, 0x0000, 0, 55);
        len = proto_finish(&b);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, 0x0000, SHMB_STATUS_UNSUPPORTED, 55, "type 0x0000");
        expect_usable(fd, 56, "after type 0x0000");
        close(fd);
        fixture_finish(&f, "unknown types");
}
END_TEST

/* ----------------------------------------------------------------- handshake -- */

START_TEST(test_request_before_hello) {
        Fixture f;
        ProtoBuf b;
        int fd, len;

        fixture_start(&f);
        fd = test_raw_connect(&f.d);
        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_name_request(&b, SHMB_MSG_STAT, 61, HEALTHY_NAME);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, SHMB_MSG_STAT, SHMB_STATUS_PROTOCOL, 61, "STAT before HELLO");
        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_create(&b, 62, "early", 4096, 0600, 0, 0, 0);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, SHMB_MSG_CREATE, SHMB_STATUS_PROTOCOL, 62, "CREATE before HELLO");
        /* The connection stays usable: HELLO now works. */
        test_raw_hello(fd);
        expect_usable(fd, 63, "HELLO after refused requests");
        close(fd);
        assert_only_healthy_listed(&f);
        fixture_finish(&f, "requests before HELLO");
}
END_TEST

START_TEST(test_second_hello) {
        Fixture f;
        ProtoBuf b;
        int fd, len;

        fixture_start(&f);
        fd = raw_ready(&f);
        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_hello(&b, 71, 1, 1);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, SHMB_MSG_HELLO, SHMB_STATUS_PROTOCOL, 71, "second HELLO");
        expect_usable(fd, 72, "after a second HELLO");
        close(fd);
        fixture_finish(&f, "a second HELLO");
}
END_TEST

START_TEST(test_hello_no_common_version) {
        Fixture f;
        ProtoBuf b;
        int fd, len;

        fixture_start(&f);
        fd = test_raw_connect(&f.d);
        proto_buf_init(&b, buf, sizeof(buf));
        /* The daemon speaks 1 and 2. */
        len = proto_encode_hello(&b, 81, 3, 9);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, SHMB_MSG_HELLO, SHMB_STATUS_VERSION, 81, "HELLO min_version 3 max_version 9");
        /* Refused, so still not past HELLO. */
        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_name_request(&b, SHMB_MSG_STAT, 82, HEALTHY_NAME);
        test_raw_send(fd, buf, (size_t)len, -1);
        expect_reply(fd, SHMB_MSG_STAT, SHMB_STATUS_PROTOCOL, 82, "STAT after a refused HELLO");
        test_raw_hello(fd);
        expect_usable(fd, 83, "after a good HELLO");
        close(fd);
        fixture_finish(&f, "a HELLO without a common version");
}
END_TEST

/* --------------------------------------------------------------------- names -- */

START_TEST(test_bad_names) {
        static const uint16_t types[] = { SHMB_MSG_CREATE, SHMB_MSG_OPEN, SHMB_MSG_STAT, SHMB_MSG_UNLINK };
        struct {
                const char *what;
                char name[SHMB_NAME_MAX + 2];
                size_t len;
        } cases[] = {
                { .what = "256-byte name" },
                { .what = "name with '/'", .name = "a/b", .len = 3 },
                { .what = "name with a leading '.'", .name = ".hidden", .len = 7 },
                { .what = "name with a NUL inside", .name = "ab\0cd", .len = 5 },
                { .what = "name '..'", .name = "..", .len = 2 },
                { .what = "empty name", .name = "", .len = 0 },
        };
        Fixture f;
        uint32_t id = 100;
        int fd;

        memset(cases[0].name, 'n', 256);
        cases[0].len = 256;
        fixture_start(&f);
        fd = raw_ready(&f);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
                        char what[128];
                        size_t len = build_name_request(types[t], id, cases[i].name, cases[i].len);

                        snprintf(what, sizeof(what), "%s with a %s", proto_type_name(types[t]), cases[i].what);
                        test_raw_send(fd, buf, len, -1);
                        expect_reply(fd, types[t], SHMB_STATUS_BAD_NAME, id++, what);
                }
        expect_usable(fd, id, "after bad names");
        /* The 255-byte name is the longest good one. */
        {
                char name[SHMB_NAME_MAX];
                size_t len;

                memset(name, 'n', sizeof(name));
                len = build_name_request(SHMB_MSG_STAT, ++id, name, sizeof(name));
                test_raw_send(fd, buf, len, -1);
                expect_reply(fd, SHMB_MSG_STAT, SHMB_STATUS_NOT_FOUND, id, "STAT with a 255-byte name");
        }
        close(fd);
        assert_only_healthy_listed(&f);
        fixture_finish(&f, "bad names");
}
END_TEST

/* ----------------------------------------------------------------------- fds -- */

static int eventfd_new(void) {
        int fd = eventfd(0, EFD_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        return fd;
}

START_TEST(test_fd_on_request) {
        Fixture f;
        struct shmb_stat st;
        ProtoBuf b;
        int efd, fd1, fd2, len, n;

        fixture_start(&f);
        efd = eventfd_new();

        /* 250 HELLOs carrying an eventfd: refused, and HELLO is not done. */
        fd1 = test_raw_connect(&f.d);
        for (uint32_t i = 1; i <= 250; i++) {
                proto_buf_init(&b, buf, sizeof(buf));
                len = proto_encode_hello(&b, i, 1, 1);
                test_raw_send(fd1, buf, (size_t)len, efd);
                expect_reply(fd1, SHMB_MSG_HELLO, SHMB_STATUS_PROTOCOL, i, "HELLO with an fd");
        }
        n = test_count_fds(f.d.pid);
        ck_assert_msg(n == f.base_fds + f.conn_fds, "daemon has %d fds after 250 HELLOs with an fd, expected %d",
                      n, f.base_fds + f.conn_fds);
        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_name_request(&b, SHMB_MSG_STAT, 999, HEALTHY_NAME);
        test_raw_send(fd1, buf, (size_t)len, -1);
        expect_reply(fd1, SHMB_MSG_STAT, SHMB_STATUS_PROTOCOL, 999, "STAT after HELLOs that carried fds");

        /* 250 CREATEs carrying /dev/null or the eventfd: refused, nothing created. */
        fd2 = raw_ready(&f);
        {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

                ck_assert_int_ge(null, 0);
                for (uint32_t i = 1; i <= 250; i++) {
                        proto_buf_init(&b, buf, sizeof(buf));
                        len = proto_encode_create(&b, 1000 + i, "with-fd", 4096, 0600, 0, 0, 0);
                        test_raw_send(fd2, buf, (size_t)len, i % 2 ? null : efd);
                        expect_reply(fd2, SHMB_MSG_CREATE, SHMB_STATUS_PROTOCOL, 1000 + i, "CREATE with an fd");
                }
                close(null);
        }
        n = test_count_fds(f.d.pid);
        ck_assert_msg(n == f.base_fds + 2 * f.conn_fds, "daemon has %d fds after 500 requests with an fd, "
                      "expected %d", n, f.base_fds + 2 * f.conn_fds);
        ck_assert_msg(shmb_stat(f.c, "with-fd", &st) == -ENOENT, "a CREATE that carried an fd created a segment");
        expect_usable(fd2, 2000, "after CREATEs with fds");
        close(fd1);
        close(fd2);
        close(efd);
        fixture_finish(&f, "500 requests carrying fds");
}
END_TEST

/* Send one datagram with @n_fds copies of @pass in a single SCM_RIGHTS message. */
static ssize_t send_with_fds(int fd, const void *data, size_t len, int pass, size_t n_fds) {
        size_t space = CMSG_SPACE(sizeof(int) * n_fds);
        struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        struct cmsghdr *cm;
        void *control;
        ssize_t r;

        control = calloc(1, space);
        ck_assert_ptr_nonnull(control);
        msg.msg_control = control;
        msg.msg_controllen = space;
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        for (size_t i = 0; i < n_fds; i++)
                memcpy(CMSG_DATA(cm) + i * sizeof(int), &pass, sizeof(int));
        r = sendmsg(fd, &msg, MSG_NOSIGNAL);
        free(control);
        return r < 0 ? -errno : r;
}

START_TEST(test_many_fds_in_one_message) {
        static const size_t counts[] = { 200, 253 };
        Fixture f;
        ProtoBuf b;
        int efd, len;

        fixture_start(&f);
        efd = eventfd_new();
        for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
                char what[64];
                ssize_t r;
                int fd = raw_ready(&f);
                int nfds;

                snprintf(what, sizeof(what), "CREATE carrying %zu fds", counts[i]);
                proto_buf_init(&b, buf, sizeof(buf));
                len = proto_encode_create(&b, 300, "many-fds", 4096, 0600, 0, 0, 0);
                r = send_with_fds(fd, buf, (size_t)len, efd, counts[i]);
                ck_assert_msg(r == len, "sendmsg with %zu fds: %s", counts[i], r < 0 ? strerror((int)-r) : "short");
                /* PROTOCOL.md 5.1: all of them fit the daemon's control buffer, so a PROTOCOL reply. */
                expect_reply(fd, SHMB_MSG_CREATE, SHMB_STATUS_PROTOCOL, 300, what);
                nfds = test_count_fds(f.d.pid);
                ck_assert_msg(nfds == f.base_fds + f.conn_fds,
                              "%s: daemon has %d fds with the connection still open, expected %d", what, nfds,
                              f.base_fds + 1);
                close(fd);
                nfds = wait_fd_count(&f, f.base_fds);
                ck_assert_msg(nfds == f.base_fds, "%s: daemon has %d fds, baseline %d", what, nfds, f.base_fds);
        }
        close(efd);
        assert_only_healthy_listed(&f);
        fixture_finish(&f, "messages carrying 200 and 253 fds");
}
END_TEST

START_TEST(test_fds_beyond_daemon_limit_disconnect) {
        struct rlimit old, low;
        Fixture f;
        ProtoBuf b;
        ssize_t r;
        int efd, fd, len;

        fixture_start(&f);
        efd = eventfd_new();
        fd = raw_ready(&f);
        /* Leave the daemon room for 50 more fds: the kernel installs 50 of 200 and sets MSG_CTRUNC. */
        ck_assert_int_eq(prlimit(f.d.pid, RLIMIT_NOFILE, NULL, &old), 0);
        low = old;
        low.rlim_cur = (rlim_t)f.base_fds + f.conn_fds + 50;
        ck_assert_int_eq(prlimit(f.d.pid, RLIMIT_NOFILE, &low, NULL), 0);

        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_create(&b, 310, "truncated-fds", 4096, 0600, 0, 0, 0);
        r = send_with_fds(fd, buf, (size_t)len, efd, 200);
        ck_assert_msg(r == len, "sendmsg with 200 fds: %s", r < 0 ? strerror((int)-r) : "short");
        expect_disconnect(fd, "200 fds with room for 50 (MSG_CTRUNC)");
        ck_assert_int_eq(prlimit(f.d.pid, RLIMIT_NOFILE, &old, NULL), 0);
        close(fd);
        close(efd);
        assert_only_healthy_listed(&f);
        fixture_finish(&f, "a message whose fds did not fit the daemon's limit");
}
END_TEST

/* ------------------------------------------------------------------- garbage -- */

static int reconnect(const Fixture *f, int fd, bool hello) {
        if (fd >= 0)
                close(fd);
        return hello ? raw_ready(f) : test_raw_connect(&f->d);
}

START_TEST(test_random_garbage) {
        const char *env = getenv("SHMB_TEST_SEED");
        unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : (unsigned)time(NULL) ^ (unsigned)getpid();
        unsigned replies = 0, disconnects = 0;
        Fixture f;
        int fd = -1;

        fprintf(stderr, "test_random_garbage: seed %u (set SHMB_TEST_SEED=%u to replay)\n", seed, seed);
        srand(seed);
        fixture_start(&f);
        fd = reconnect(&f, fd, rand() % 2);
        for (int i = 0; i < 2000; i++) {
                size_t len = (size_t)(rand() % 301);
                ssize_t n;

                for (size_t k = 0; k < len; k++)
                        buf[k] = (uint8_t)rand();
                /* Half the time, a well-formed header over random payload, to reach the decoders. */
                if (len >= SHMB_HEADER_SIZE && rand() % 2) {
                        buf[0] = SHMB_PROTO_VERSION;
                        buf[1] = 0;
                        buf[2] = (uint8_t)(rand() % (_SHMB_MSG_REQUEST_MAX + 1));
                        buf[3] = 0;
                        memset(buf + 4, 0, 4);
                        put_u32le(buf + 8, (uint32_t)len);
                }
                test_raw_send(fd, buf, len, -1);
                n = test_raw_recv(fd, rbuf, sizeof(rbuf), NULL);
                if (len < SHMB_HEADER_SIZE) {
                        ck_assert_msg(n == 0, "garbage #%d (%zu bytes, seed %u): expected a disconnect, got %zd", i,
                                      len, seed, n);
                        disconnects++;
                        fd = reconnect(&f, fd, rand() % 2);
                        continue;
                }
                ck_assert_msg(n >= SHMB_HEADER_SIZE,
                              "garbage #%d (%zu bytes, seed %u): expected one reply, got %zd (%s)", i, len, seed, n,
                              n < 0 ? strerror((int)-n) : n == 0 ? "disconnect" : "short");
                /* The reply answers this datagram: same req_id, same type with the reply bit. */
                ck_assert_msg(memcmp(rbuf + 12, buf + 12, 4) == 0 && rbuf[2] == buf[2] &&
                                      rbuf[3] == (buf[3] | 0x80),
                              "garbage #%d (seed %u): reply does not echo the type and req_id", i, seed);
                replies++;
        }
        close(fd);
        fprintf(stderr, "test_random_garbage: %u replies, %u disconnects\n", replies, disconnects);
        assert_only_healthy_listed(&f);
        fixture_finish(&f, "2,000 random datagrams");
}
END_TEST

/* --------------------------------------------------------------------- flood -- */

#define FLOOD_N 10000

typedef struct Flood {
        int fd;
        atomic_uint sent;
        int error;
} Flood;

static void *flood_sender(void *userdata) {
        Flood *fl = userdata;
        uint8_t req[64];

        for (uint32_t i = 1; i <= FLOOD_N; i++) {
                ProtoBuf b;
                int len;

                proto_buf_init(&b, req, sizeof(req));
                len = proto_encode_name_request(&b, SHMB_MSG_STAT, i, HEALTHY_NAME);
                if (send(fl->fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
                        fl->error = errno;
                        break;
                }
                atomic_store(&fl->sent, i);
        }
        return NULL;
}

START_TEST(test_flood_does_not_starve_others) {
        struct timeval tv = { .tv_sec = 20 };
        Fixture f;
        Flood fl = { .fd = -1 };
        pthread_t thread;
        struct shmb_stat st;
        struct shmb_segment *s = NULL;
        unsigned last = 0, got = 0, stalled_at;
        uint64_t end;
        int r;

        fixture_start(&f);
        fl.fd = raw_ready(&f);
        ck_assert_int_eq(setsockopt(fl.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
        ck_assert_int_eq(pthread_create(&thread, NULL, flood_sender, &fl), 0);

        /* Wait until the flooder is stuck (the daemon stopped reading it) or done. */
        end = now_msec() + 10000;
        for (int quiet = 0; quiet < 10 && now_msec() < end;) {
                unsigned cur;

                sleep_msec(50);
                cur = atomic_load(&fl.sent);
                quiet = cur == last ? quiet + 1 : 0;
                last = cur;
                if (cur == FLOOD_N)
                        break;
        }
        stalled_at = atomic_load(&fl.sent);
        fprintf(stderr, "test_flood: flooder sent %u requests before it had to wait\n", stalled_at);
        ck_assert_msg(stalled_at < FLOOD_N,
                      "the daemon read all %d pipelined requests without pausing for the unread replies", FLOOD_N);

        /* The healthy client gets its answers now, with the flooder's replies unread. */
        r = shmb_stat(f.c, HEALTHY_NAME, &st);
        ck_assert_msg(r == 0, "healthy stat during a flood: %s (%s)", strerror(-r), shmb_client_last_error(f.c));
        r = shmb_create(f.c, "during-flood", 4096, NULL, &s);
        ck_assert_msg(r == 0, "healthy create during a flood: %s", strerror(-r));
        ck_assert_int_eq(shmb_segment_release(s), 0);

        /* Now the flooder reads: one reply per request, in order. */
        while (got < FLOOD_N) {
                ProtoHeader h;
                ssize_t n = test_raw_recv(fl.fd, rbuf, sizeof(rbuf), NULL);

                if (n <= 0)
                        break;
                ck_assert_int_eq(proto_decode_header(rbuf, (size_t)n, &h), 0);
                ck_assert_msg(h.req_id == got + 1, "flood reply #%u has req_id %u, expected %u", got + 1, h.req_id,
                              got + 1);
                ck_assert_msg(h.type == (SHMB_MSG_STAT | SHMB_MSG_REPLY) && h.status == SHMB_STATUS_OK,
                              "flood reply #%u: type 0x%04x status %s", got + 1, h.type,
                              proto_status_name(h.status));
                got++;
        }
        ck_assert_int_eq(pthread_join(thread, NULL), 0);
        fprintf(stderr, "test_flood: sent %u, received %u replies\n", atomic_load(&fl.sent), got);
        ck_assert_msg(fl.error == 0, "flooder's send failed after %u requests: %s", atomic_load(&fl.sent),
                      strerror(fl.error));
        ck_assert_msg(got >= 64, "flooder got only %u replies", got);
        ck_assert_msg(got == atomic_load(&fl.sent), "flooder sent %u requests but got %u replies",
                      atomic_load(&fl.sent), got);
        close(fl.fd);
        fixture_finish(&f, "a 10,000-request flood");
}
END_TEST

START_TEST(test_abrupt_disconnect_with_queued_replies) {
        Fixture f;
        ProtoBuf b;
        unsigned sent = 0, quiet = 0;
        int fd, len, n = 0;
        uint64_t end;

        fixture_start(&f);
        fd = raw_ready(&f);
        /*
         * OPEN replies carry an fd; the daemon keeps a copy of it for each reply
         * it must queue. Send until it has queued some and stopped reading us
         * (our sends make no progress for 200 ms).
         */
        end = now_msec() + DEADLINE_MSEC;
        while (now_msec() < end) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };

                proto_buf_init(&b, buf, sizeof(buf));
                len = proto_encode_open(&b, sent + 1, HEALTHY_NAME, 0);
                if (send(fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) == len) {
                        sent++;
                        quiet = 0;
                        continue;
                }
                ck_assert_msg(errno == EAGAIN, "send of OPEN #%u: %m", sent + 1);
                n = test_count_fds(f.d.pid);
                if (n > f.base_fds + f.conn_fds && quiet >= 10)
                        break;
                if (poll(&p, 1, 20) == 0)
                        quiet++;
        }
        fprintf(stderr, "test_abrupt: %u OPENs sent unread, daemon fds %d (baseline %d)\n", sent, n, f.base_fds);
        ck_assert_msg(n > f.base_fds + f.conn_fds, "daemon never queued replies for %u unread OPENs (%d fds)", sent, n);
        close(fd);
        fixture_finish(&f, "a client vanished with queued replies");
}
END_TEST

/* --------------------------------------------------------------------- churn -- */

START_TEST(test_connection_churn) {
        Fixture f;
        ProtoBuf b;
        int len;

        fixture_start(&f);
        for (int i = 0; i < 200; i++)
                close(test_raw_connect(&f.d));

        for (int i = 0; i < 200; i++) {
                char name[32];
                int fd = raw_ready(&f);

                snprintf(name, sizeof(name), "churn-%d", i);
                proto_buf_init(&b, buf, sizeof(buf));
                len = proto_encode_create(&b, 2, name, 8192, 0644, PROTO_LIFETIME_HOLDERS, 0, 0);
                test_raw_send(fd, buf, (size_t)len, -1);
                /* Half wait for the segment (and drop its fd), half vanish at once. */
                if (i % 2 == 0)
                        expect_reply(fd, SHMB_MSG_CREATE, SHMB_STATUS_OK, 2, "CREATE of a churn segment");
                close(fd);
        }
        assert_only_healthy_listed(&f);
        fixture_finish(&f, "400 short-lived clients");
}
END_TEST

static Suite *robustness_suite(void) {
        Suite *s = suite_create("robustness");
        TCase *tc;

        tc = tcase_create("datagram-size");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_short_datagram_disconnects);
        tcase_add_test(tc, test_oversized_datagram_disconnects);
        tcase_add_test(tc, test_largest_datagram_answered);
        suite_add_tcase(s, tc);

        tc = tcase_create("header");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_length_mismatch_invalid);
        tcase_add_test(tc, test_unknown_and_reply_types);
        tcase_add_test(tc, test_bad_header_fields);
        suite_add_tcase(s, tc);

        tc = tcase_create("handshake");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_request_before_hello);
        tcase_add_test(tc, test_second_hello);
        tcase_add_test(tc, test_hello_no_common_version);
        suite_add_tcase(s, tc);

        tc = tcase_create("names");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_bad_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("passed-fds");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_fd_on_request);
        tcase_add_test(tc, test_many_fds_in_one_message);
        tcase_add_test(tc, test_fds_beyond_daemon_limit_disconnect);
        suite_add_tcase(s, tc);

        tc = tcase_create("garbage");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_random_garbage);
        suite_add_tcase(s, tc);

        tc = tcase_create("backpressure");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_flood_does_not_starve_others);
        tcase_add_test(tc, test_abrupt_disconnect_with_queued_replies);
        suite_add_tcase(s, tc);

        tc = tcase_create("churn");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_connection_churn);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(robustness_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
