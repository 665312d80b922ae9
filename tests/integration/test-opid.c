/*
 * Protocol version 2 on the wire, against a real daemon (raw sockets, no
 * library): HELLO negotiation, and version-1 clients exactly as before
 * (their headers, their refusals, no operation ids); operation ids are
 * recognised only from the process that sent them — another process
 * using the same id is a stranger — also after a kill -9 and a restart on
 * the restart state and the (emulated) fd store, and a reused id with
 * another name is a new request.
 */

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol/shmb-proto.h"
#include "tests/integration/util-service.h"

static const char *const store_args[] = { "--fd-store=yes", "--reclaim-grace=1", NULL };

typedef struct Reply {
        ProtoHeader h;
        uint8_t buf[SHMB_MSG_MAX];
        size_t len;
        char text[SHMB_ERROR_TEXT_MAX + 1];
        ProtoSegInfo si;                /* of a successful CREATE or OPEN reply */
} Reply;

static int raw_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        strcpy(sa.sun_path, path);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        return fd;
}

/* Send @len bytes of @msg, receive the reply (an fd passed with it is closed). */
static void raw_call(int fd, const void *msg, size_t len, Reply *rep) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = { .iov_base = rep->buf, .iov_len = sizeof(rep->buf) };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                            .msg_controllen = sizeof(control.buf) };
        ssize_t n;

        ck_assert_int_eq(send(fd, msg, len, 0), (ssize_t)len);
        n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
        ck_assert_int_ge(n, SHMB_HEADER_SIZE);
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                int passed;

                memcpy(&passed, CMSG_DATA(c), sizeof(int));
                close(passed);
        }
        rep->len = (size_t)n;
        ck_assert_int_eq(proto_decode_header(rep->buf, rep->len, &rep->h), 0);
        rep->text[0] = 0;
        if (rep->h.status != 0)
                ck_assert_int_eq(proto_decode_error_text(rep->buf, rep->len, rep->text, sizeof(rep->text)), 0);
        else if ((rep->h.type == (SHMB_MSG_CREATE | SHMB_MSG_REPLY) ||
                  rep->h.type == (SHMB_MSG_OPEN | SHMB_MSG_REPLY)))
                ck_assert_int_eq(proto_decode_seginfo_reply(rep->buf, rep->len, &rep->si), 0);
}

/* HELLO with @min..@max; returns the reply's status. */
static int hello(int fd, uint16_t min, uint16_t max, Reply *rep) {
        uint8_t msg[64];
        ProtoBuf b;

        proto_buf_init(&b, msg, sizeof(msg));
        raw_call(fd, msg, (size_t)proto_encode_hello(&b, 1, min, max), rep);
        return rep->h.status;
}

/* A version-2 connection to @path. */
static int connect_v2(const char *path) {
        ProtoHelloReply hr;
        Reply rep;
        int fd = raw_connect(path);

        ck_assert_int_eq(hello(fd, 1, 2, &rep), 0);
        ck_assert_int_eq(proto_decode_hello_reply(rep.buf, rep.len, &hr), 0);
        ck_assert_uint_eq(hr.version, 2);
        return fd;
}

/* CREATE of a persistent memfd segment of mode @mode, with @op_id (0: none) and @flags; returns the status. */
static int create_mode(int fd, uint16_t version, const char *name, uint32_t mode, uint16_t flags, uint64_t op_id,
                       Reply *rep) {
        uint8_t msg[SHMB_MSG_MAX];
        ProtoBuf b;
        int n;

        proto_buf_init(&b, msg, sizeof(msg));
        n = proto_encode_create(&b, 7, name, 4096, mode, PROTO_LIFETIME_PERSISTENT, PROTO_BACKEND_MEMFD, flags);
        if (op_id)
                n = proto_add_op_id(&b, op_id);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(proto_frame_request(msg, (size_t)n, version), n);
        raw_call(fd, msg, (size_t)n, rep);
        ck_assert_uint_eq(rep->h.version, version);
        ck_assert_uint_eq(rep->h.req_id, 7);
        return rep->h.status;
}

static int create(int fd, uint16_t version, const char *name, uint16_t flags, uint64_t op_id, Reply *rep) {
        return create_mode(fd, version, name, 0644, flags, op_id, rep);
}

START_TEST(test_version_1_unchanged) {
        uint8_t msg[SHMB_MSG_MAX];
        ProtoHelloReply hr;
        ProtoBuf b;
        TestService t;
        Reply rep;
        int fd, n;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        /* A version-1 client: HELLO 1..1 is answered with version 1, in the header too. */
        fd = raw_connect(t.socket);
        ck_assert_int_eq(hello(fd, 1, 1, &rep), 0);
        ck_assert_int_eq(proto_decode_hello_reply(rep.buf, rep.len, &hr), 0);
        ck_assert_uint_eq(hr.version, 1);
        ck_assert_uint_eq(rep.h.version, 1);
        ck_assert_uint_eq(rep.len, 42 + strlen(hr.server));
        /* Its requests and replies are version 1, with the sizes and flags of version 1. */
        ck_assert_int_eq(create(fd, 1, "v1", PROTO_CREATE_EXCL, 0, &rep), 0);
        ck_assert_uint_eq(rep.len, 82 + 2);
        ck_assert_uint_eq(rep.h.flags, 0);
        /* No operation ids in version 1: the same CREATE again is a new one. */
        ck_assert_int_eq(create(fd, 1, "v1", PROTO_CREATE_EXCL, 0, &rep), SHMB_STATUS_EXISTS);
        /* The OP_ID flag is refused as every header flag is in version 1. */
        proto_buf_init(&b, msg, sizeof(msg));
        n = proto_encode_name_request(&b, SHMB_MSG_UNLINK, 8, "v1");
        n = proto_add_op_id(&b, 99);
        msg[0] = 1;
        raw_call(fd, msg, (size_t)n, &rep);
        ck_assert_uint_eq(rep.h.status, SHMB_STATUS_INVALID);
        ck_assert_str_eq(rep.text, "header flags and status must be zero in requests");
        ck_assert_uint_eq(rep.h.version, 1);
        /* A version-2 header on a version-1 connection: VERSION, as before. */
        msg[0] = 2;
        raw_call(fd, msg, (size_t)n, &rep);
        ck_assert_uint_eq(rep.h.status, SHMB_STATUS_VERSION);
        ck_assert_str_eq(rep.text, "message version is not the negotiated version 1");
        close(fd);
        test_service_cleanup(&t);
}
END_TEST

START_TEST(test_negotiation) {
        static const struct {
                uint16_t min, max, status, version;
        } cases[] = {
                { 1, 2, 0, 2 }, { 2, 2, 0, 2 }, { 1, 9, 0, 2 }, { 2, 7, 0, 2 }, { 1, 1, 0, 1 },
                { 3, 4, SHMB_STATUS_VERSION, 0 }, { 0, 0, SHMB_STATUS_VERSION, 0 },
        };
        uint8_t msg[SHMB_MSG_MAX];
        ProtoHelloReply hr;
        ProtoBuf b;
        TestService t;
        Reply rep;
        int fd, n;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                fd = raw_connect(t.socket);
                ck_assert_int_eq(hello(fd, cases[i].min, cases[i].max, &rep), cases[i].status);
                if (cases[i].status) {
                        ck_assert_str_eq(rep.text, cases[i].min == 3 ? "client speaks versions 3-4, daemon speaks 1-2"
                                                                     : "client speaks versions 0-0, daemon speaks 1-2");
                        ck_assert_uint_eq(rep.h.version, 1);
                } else {
                        ck_assert_int_eq(proto_decode_hello_reply(rep.buf, rep.len, &hr), 0);
                        ck_assert_uint_eq(hr.version, cases[i].version);
                        ck_assert_uint_eq(rep.h.version, cases[i].version);
                }
                close(fd);
        }
        /* On a version-2 connection every request says 2; one that says 1 is refused. */
        fd = connect_v2(t.socket);
        ck_assert_int_eq(create(fd, 2, "v2", 0, 0, &rep), 0);
        proto_buf_init(&b, msg, sizeof(msg));
        n = proto_encode_name_request(&b, SHMB_MSG_STAT, 9, "v2");
        raw_call(fd, msg, (size_t)n, &rep);
        ck_assert_uint_eq(rep.h.status, SHMB_STATUS_VERSION);
        ck_assert_str_eq(rep.text, "message version is not the negotiated version 2");
        ck_assert_uint_eq(rep.h.version, 2);
        /* An operation id only on the four requests that change things. */
        msg[0] = 2;
        msg[4] = SHMB_HDR_OP_ID;
        n += 8;
        memset(msg + n - 8, 0x11, 8);
        msg[8] = (uint8_t)n;
        raw_call(fd, msg, (size_t)n, &rep);
        ck_assert_uint_eq(rep.h.status, SHMB_STATUS_INVALID);
        ck_assert_str_eq(rep.text, "only CREATE, UNLINK, RESIZE and PUBLISH carry an operation id");
        close(fd);
        test_service_cleanup(&t);
}
END_TEST

/* In a child process (a stranger to the parent's records): the CREATE of @name with @op_id. */
static int create_in_child(const char *socket, const char *name, uint16_t flags, uint64_t op_id, int want,
                           uint16_t want_flags) {
        int status;
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                Reply rep;
                int fd = connect_v2(socket);

                if (create(fd, 2, name, flags, op_id, &rep) != want)
                        _exit(1);
                if (want == 0 && (strcmp(rep.si.name, name) != 0 || (rep.si.flags & PROTO_SEG_CREATED) != want_flags))
                        _exit(2);
                _exit(0);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

START_TEST(test_op_id_of_another_process) {
        const uint64_t op = UINT64_C(0x1122334455667788);
        uint64_t id;
        TestService t;
        Reply rep;
        int fd;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        fd = connect_v2(t.socket);
        ck_assert_int_eq(create(fd, 2, "mine", PROTO_CREATE_EXCL, op, &rep), 0);
        ck_assert(rep.si.flags & PROTO_SEG_CREATED);
        id = rep.si.id;
        /* The same request from this process, on another connection: recognised. */
        close(fd);
        fd = connect_v2(t.socket);
        ck_assert_int_eq(create(fd, 2, "mine", PROTO_CREATE_EXCL, op, &rep), 0);
        ck_assert_uint_eq(rep.si.id, id);
        ck_assert(rep.si.flags & PROTO_SEG_CREATED);
        /* Another process with the same id is someone else: refused, or served as its own request. */
        ck_assert_int_eq(create_in_child(t.socket, "mine", PROTO_CREATE_EXCL, op, SHMB_STATUS_EXISTS, 0), 0);
        ck_assert_int_eq(create_in_child(t.socket, "theirs", PROTO_CREATE_EXCL, op, 0, PROTO_SEG_CREATED), 0);
        /* This process reusing the id for another name: a new request. */
        ck_assert_int_eq(create(fd, 2, "other", PROTO_CREATE_EXCL, op, &rep), 0);
        ck_assert_str_eq(rep.si.name, "other");
        ck_assert_uint_ne(rep.si.id, id);
        ck_assert_int_eq(create(fd, 2, "other", PROTO_CREATE_EXCL, op, &rep), 0);
        close(fd);

        /* The records are in the restart state: after a kill -9 they still tell who is who. */
        fd = connect_v2(t.socket);
        ck_assert_int_eq(create(fd, 2, "late", PROTO_CREATE_EXCL, op + 1, &rep), 0);
        id = rep.si.id;
        close(fd);
        test_service_kill(&t, SIGKILL);
        test_service_start(&t, store_args, NULL);
        ck_assert(test_service_log_contains(&t, "operation records of running clients"));
        fd = connect_v2(t.socket);
        ck_assert_int_eq(create(fd, 2, "late", PROTO_CREATE_EXCL, op + 1, &rep), 0);
        ck_assert_uint_eq(rep.si.id, id);
        ck_assert(rep.si.flags & PROTO_SEG_CREATED);
        ck_assert_int_eq(create_in_child(t.socket, "late", PROTO_CREATE_EXCL, op + 1, SHMB_STATUS_EXISTS, 0), 0);
        /* Without an operation id nothing is recognised. */
        ck_assert_int_eq(create(fd, 2, "late", PROTO_CREATE_EXCL, 0, &rep), SHMB_STATUS_EXISTS);
        close(fd);
        test_service_cleanup(&t);
}
END_TEST

/* As uid 65534 (root may open anything): create a mode-0 segment, then send the CREATE again. */
static int mode_0_as_nobody(const char *socket) {
        Reply rep;
        uint64_t id;
        int fd;

        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                return 10;
        /* Mode 0: nobody may open it, not even its owner; its creator got it all the same. */
        fd = connect_v2(socket);
        if (create_mode(fd, 2, "locked", 0, PROTO_CREATE_EXCL, 42, &rep) != 0)
                return 11;
        id = rep.si.id;
        close(fd);
        /* Sent again, the CREATE gets what the first one got, not DENIED. */
        fd = connect_v2(socket);
        if (create_mode(fd, 2, "locked", 0, PROTO_CREATE_EXCL, 42, &rep) != 0)
                return 12;
        if (rep.si.id != id || (rep.si.flags & (PROTO_SEG_CREATED | PROTO_SEG_READONLY)) != PROTO_SEG_CREATED)
                return 13;
        /* A new CREATE of the name is refused as ever. */
        if (create_mode(fd, 2, "locked", 0, 0, 43, &rep) != SHMB_STATUS_DENIED)
                return 14;
        close(fd);
        return 0;
}

START_TEST(test_create_again_mode_0) {
        TestService t;
        int status;
        pid_t pid;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(mode_0_as_nobody(t.socket));
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: 0x%x", status);
        test_service_cleanup(&t);
}
END_TEST

/* A request of @type for @name with operation id @op_id (CREATE: a 4 KiB memfd with max_size 64 KiB). */
static int tagged(int fd, uint16_t type, const char *name, uint64_t size, uint64_t op_id, Reply *rep) {
        uint8_t msg[SHMB_MSG_MAX];
        ProtoBuf b;
        int n;

        proto_buf_init(&b, msg, sizeof(msg));
        if (type == SHMB_MSG_CREATE)
                n = proto_encode_create_full(&b, 5, &(ProtoCreate){ .name = name, .size = size, .mode = 0644,
                                                                    .lifetime = PROTO_LIFETIME_PERSISTENT,
                                                                    .backend = PROTO_BACKEND_MEMFD,
                                                                    .max_size = 65536 });
        else if (type == SHMB_MSG_RESIZE)
                n = proto_encode_resize(&b, 5, name, size);
        else
                n = proto_encode_name_request(&b, type, 5, name);
        if (op_id)
                n = proto_add_op_id(&b, op_id);
        else
                n = proto_frame_request(msg, (size_t)n, 2);
        ck_assert_int_gt(n, 0);
        raw_call(fd, msg, (size_t)n, rep);
        return rep->h.status;
}

/* The daemon's (internal) name hash of operation records: FNV-1a, 64 bits. */
static uint64_t name_hash(const char *name) {
        uint64_t h = UINT64_C(14695981039346656037);

        for (; *name; name++)
                h = (h ^ (uint8_t)*name) * UINT64_C(1099511628211);
        return h;
}

static uint64_t own_start_time(void) {
        char buf[4096], *p;
        unsigned long long start = 0;
        FILE *f = fopen("/proc/self/stat", "re");
        size_t n;

        ck_assert_ptr_nonnull(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        p = strrchr(buf, ')');
        ck_assert_ptr_nonnull(p);
        /* After "(comm)": field 3 on; the start time is field 22. */
        ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                                &start), 1);
        return start;
}

/*
 * What a kill -9 leaves between an operation record and the change it names,
 * built in the restart state by hand (the record is written first, so a
 * crash can cut there): the request sent again finishes an UNLINK and a
 * RESIZE, and creates anew for a CREATE whose segment was never recorded,
 * under an id above the one the record named.
 */
START_TEST(test_crash_after_the_record) {
        uint64_t id_u, id_g, start = own_start_time();
        char path[400];
        TestService t;
        Reply rep;
        FILE *f;
        int fd;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        fd = connect_v2(t.socket);
        ck_assert_int_eq(tagged(fd, SHMB_MSG_CREATE, "u", 4096, 0, &rep), 0);
        id_u = rep.si.id;
        ck_assert_int_eq(tagged(fd, SHMB_MSG_CREATE, "g", 4096, 0, &rep), 0);
        id_g = rep.si.id;
        close(fd);
        test_service_kill(&t, SIGKILL);

        snprintf(path, sizeof(path), "%s/state", t.runtime_dir);
        f = fopen(path, "ae");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "O %d 0 %llu 101 %u %llu %llu\n", (int)getpid(), (unsigned long long)start, SHMB_MSG_UNLINK,
                (unsigned long long)name_hash("u"), (unsigned long long)id_u);
        fprintf(f, "O %d 0 %llu 102 %u %llu %llu\n", (int)getpid(), (unsigned long long)start, SHMB_MSG_RESIZE,
                (unsigned long long)name_hash("g"), (unsigned long long)id_g);
        fprintf(f, "O %d 0 %llu 103 %u %llu %llu\n", (int)getpid(), (unsigned long long)start, SHMB_MSG_CREATE,
                (unsigned long long)name_hash("c"), (unsigned long long)(id_g + 100));
        fclose(f);
        test_service_start(&t, store_args, NULL);
        ck_assert(test_service_log_contains(&t, "Kept 2 operation records of running clients"));

        fd = connect_v2(t.socket);
        ck_assert_int_eq(tagged(fd, SHMB_MSG_UNLINK, "u", 0, 101, &rep), 0);
        ck_assert_int_eq(tagged(fd, SHMB_MSG_STAT, "u", 0, 0, &rep), SHMB_STATUS_NOT_FOUND);
        ck_assert_int_eq(tagged(fd, SHMB_MSG_RESIZE, "g", 8192, 102, &rep), 0);
        ck_assert_int_eq(tagged(fd, SHMB_MSG_STAT, "g", 0, 0, &rep), 0);
        ck_assert_int_eq(proto_decode_seginfo_reply(rep.buf, rep.len, &rep.si), 0);
        ck_assert_uint_eq(rep.si.size, 8192);
        ck_assert_int_eq(tagged(fd, SHMB_MSG_CREATE, "c", 4096, 103, &rep), 0);
        ck_assert(rep.si.flags & PROTO_SEG_CREATED);
        ck_assert_uint_gt(rep.si.id, id_g + 100);
        close(fd);
        test_service_cleanup(&t);
}
END_TEST

static Suite *opid_suite(void) {
        Suite *s = suite_create("opid");
        TCase *tc = tcase_create("wire");

        tcase_add_test(tc, test_version_1_unchanged);
        tcase_add_test(tc, test_negotiation);
        tcase_add_test(tc, test_op_id_of_another_process);
        tcase_add_test(tc, test_create_again_mode_0);
        tcase_add_test(tc, test_crash_after_the_record);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(opid_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
