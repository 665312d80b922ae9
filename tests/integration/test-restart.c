/*
 * Restarts without systemd: the harness keeps the memfds the daemon stores,
 * kills the daemon (SIGKILL, or SIGTERM that cannot be told from a stop) and
 * starts a new one with those fds in LISTEN_FDS, the same state and runtime
 * directories: every segment comes back with its name, id, bytes, owner and
 * mode; library clients reclaim their holds; holds nobody reclaims end after
 * the grace period; a call made while the daemon is away waits for it up to
 * the client's timeout.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"
#include "tests/integration/util-service.h"

#define NOBODY 65534

static const char *const store_args[] = { "--fd-store=yes", "--reclaim-grace=1", NULL };

static void fill(void *p, size_t len, unsigned seed) {
        for (size_t i = 0; i < len; i++)
                ((unsigned char *)p)[i] = (unsigned char)(i * 7 + seed);
}

static bool filled(const void *p, size_t len, unsigned seed) {
        for (size_t i = 0; i < len; i++)
                if (((const unsigned char *)p)[i] != (unsigned char)(i * 7 + seed))
                        return false;
        return true;
}

static struct shmb_segment *create(struct shmb_client *c, const char *name, uint64_t size,
                                   enum shmb_backend backend, enum shmb_lifetime lifetime, uint32_t mode) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *s = NULL;
        int r;

        o.backend = backend;
        o.lifetime = lifetime;
        o.mode = mode;
        r = shmb_create(c, name, size, &o, &s);
        ck_assert_msg(r == 0, "create '%s': %s", name, shmb_client_last_error(c));
        return s;
}

static void *map(struct shmb_segment *s) {
        void *p = NULL;

        ck_assert_int_eq(shmb_segment_map(s, &p), 0);
        return p;
}

/* Open @name read-only and check its bytes. */
static void check_bytes(struct shmb_client *c, const char *name, unsigned seed) {
        struct shmb_segment *s = NULL;
        int r = shmb_open(c, name, SHMB_OPEN_RDONLY, &s);

        ck_assert_msg(r == 0, "open '%s' after the restart: %s", name, shmb_client_last_error(c));
        ck_assert_msg(filled(map(s), (size_t)shmb_segment_get_size(s), seed), "bytes of '%s' changed", name);
        ck_assert_int_eq(shmb_segment_release(s), 0);
}

typedef struct Made {
        const char *name;
        enum shmb_backend backend;
        uint32_t mode;
        unsigned seed;
        uint64_t id;
        int shmid;
} Made;

static Made made[] = {
        { "r-memfd", SHMB_BACKEND_MEMFD, 0640, 1, 0, -1 },
        { "r-posix", SHMB_BACKEND_POSIX, 0604, 2, 0, -1 },
        { "r-sysv", SHMB_BACKEND_SYSV, 0600, 3, 0, -1 },
        { "r-file", SHMB_BACKEND_FILE, 0660, 4, 0, -1 },
};

/* As uid 65534: one persistent segment of each backend, filled; report ids through a pipe. */
static void create_as_nobody(TestService *t) {
        int pfd[2], status;
        pid_t pid;

        ck_assert_int_eq(pipe(pfd), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                struct shmb_client *c = NULL;

                close(pfd[0]);
                if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0 ||
                    shmb_client_new(&c, t->socket) < 0)
                        _exit(2);
                for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
                        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
                        struct shmb_segment *s;
                        void *p;

                        o.backend = made[i].backend;
                        o.lifetime = SHMB_LIFETIME_PERSISTENT;
                        o.mode = made[i].mode;
                        if (shmb_create(c, made[i].name, 8192, &o, &s) < 0 || shmb_segment_map(s, &p) < 0)
                                _exit(3);
                        fill(p, 8192, made[i].seed);
                        made[i].id = shmb_segment_get_id(s);
                        made[i].shmid = shmb_segment_get_shmid(s) >= 0 ? shmb_segment_get_shmid(s) : -1;
                        shmb_segment_release(s);
                }
                if (write(pfd[1], made, sizeof(made)) != sizeof(made))
                        _exit(4);
                shmb_client_free(c);
                _exit(0);
        }
        close(pfd[1]);
        ck_assert_int_eq(read(pfd[0], made, sizeof(made)), (ssize_t)sizeof(made));
        close(pfd[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "creator child failed (0x%x)", status);
}

/* Every segment of made[] is back as it was. */
static void check_made(TestService *t) {
        struct shmb_client *c = test_service_client(t);

        for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
                struct shmb_stat st;
                int r = shmb_stat(c, made[i].name, &st);

                ck_assert_msg(r == 0, "'%s' is gone after the restart: %s", made[i].name, shmb_client_last_error(c));
                ck_assert_uint_eq(st.id, made[i].id);
                ck_assert_uint_eq(st.uid, NOBODY);
                ck_assert_uint_eq(st.mode, made[i].mode);
                ck_assert_uint_eq(st.size, 8192);
                ck_assert_int_eq(st.backend, made[i].backend);
                ck_assert_int_eq(st.lifetime, SHMB_LIFETIME_PERSISTENT);
                ck_assert_int_eq(st.shmid, made[i].shmid);
                check_bytes(c, made[i].name, made[i].seed);
        }
        shmb_client_free(c);
}

/* POSIX objects of the daemon using @t's state directory ("shmb.<FNV-1a of it>.<name>"). */
static int count_posix(TestService *t) {
        char prefix[32];
        struct dirent *de;
        uint32_t h = 2166136261u;
        DIR *d;
        int n = 0;

        for (const char *p = t->state_dir; *p; p++) {
                h ^= (uint8_t)*p;
                h *= 16777619u;
        }
        snprintf(prefix, sizeof(prefix), "shmb.%08x.", (unsigned)h);
        d = opendir("/dev/shm");
        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
                        n++;
        closedir(d);
        return n;
}

static void check_stopped_clean(TestService *t, int shmid) {
        struct shmid_ds ds;
        char state[400];

        ck_assert_int_eq(count_posix(t), 1);
        test_service_cleanup(t);
        ck_assert_msg(count_posix(t) == 0, "a POSIX object is left after the stop");
        ck_assert_msg(shmctl(shmid, IPC_STAT, &ds) < 0, "System V segment %d is left after the stop", shmid);
        snprintf(state, sizeof(state), "%s/state", t->runtime_dir);
        ck_assert_int_lt(access(state, F_OK), 0);
}

START_TEST(test_kill9_keeps_every_backend) {
        TestService t;
        char state[400];

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        create_as_nobody(&t);
        snprintf(state, sizeof(state), "%s/state", t.runtime_dir);
        ck_assert_int_eq(access(state, F_OK), 0);
        test_service_kill(&t, SIGKILL);

        test_service_start(&t, store_args, NULL);
        check_made(&t);
        /* New ids continue above the restored ones. */
        {
                struct shmb_client *c = test_service_client(&t);
                struct shmb_segment *s = create(c, "r-new", 4096, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_HOLDERS, 0600);

                ck_assert_uint_gt(shmb_segment_get_id(s), made[3].id);
                shmb_segment_release(s);
                shmb_client_free(c);
        }
        /* And a second crash: restored segments are recorded again. */
        test_service_kill(&t, SIGKILL);
        test_service_start(&t, store_args, NULL);
        check_made(&t);
        check_stopped_clean(&t, made[2].shmid);
}
END_TEST

START_TEST(test_sigterm_without_job_keeps) {
        TestService t;
        int status;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        create_as_nobody(&t);
        /* No systemd to ask whether this is a restart: the daemon keeps everything, and says so. */
        status = test_service_kill(&t, SIGTERM);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status 0x%x", status);
        ck_assert_uint_eq(t.n_stopping, 1);
        ck_assert(test_service_log_contains(&t, "cannot tell a restart from a stop"));
        test_service_start(&t, store_args, NULL);
        check_made(&t);
        check_stopped_clean(&t, made[2].shmid);
}
END_TEST

START_TEST(test_without_store_says_what_it_kept) {
        static const char *const args[] = { "--fd-store=no", NULL };
        struct shmid_ds ds;
        struct shmb_client *c;
        struct shmb_stat st;
        TestService t;

        test_service_init(&t);
        test_service_start(&t, args, NULL);
        create_as_nobody(&t);
        test_service_kill(&t, SIGKILL);
        test_service_start(&t, args, NULL);
        ck_assert(test_service_log_contains(&t, "Without restart state: kept 1 persistent file segment, removed 1 "
                                                "POSIX, 1 System V and 0 file leftovers\n"));
        c = test_service_client(&t);
        ck_assert_int_eq(shmb_stat(c, "r-memfd", &st), -ENOENT);
        ck_assert_int_eq(shmb_stat(c, "r-posix", &st), -ENOENT);
        ck_assert_int_eq(shmb_stat(c, "r-sysv", &st), -ENOENT);
        ck_assert_int_eq(shmb_stat(c, "r-file", &st), 0);
        check_bytes(c, "r-file", made[3].seed);
        ck_assert_int_lt(shmctl(made[2].shmid, IPC_STAT, &ds), 0);
        ck_assert_int_eq(count_posix(&t), 0);
        shmb_client_free(c);
        test_service_cleanup(&t);
}
END_TEST

static bool grace_over(TestService *t, void *userdata) {
        return t->status[0] && !strstr(t->status, "await");
}

START_TEST(test_client_reclaims) {
        struct shmb_segment *s, *other;
        struct shmb_client *c, *idle;
        struct shmb_stat st;
        TestService t;
        void *p;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        c = test_service_client(&t);
        idle = test_service_client(&t);
        s = create(c, "held", 8192, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_HOLDERS, 0600);
        p = map(s);
        fill(p, 8192, 9);
        ck_assert_int_eq(shmb_open(idle, "held", 0, &other), 0);

        test_service_kill(&t, SIGKILL);
        /* The mapping never depended on the daemon. */
        ck_assert(filled(p, 8192, 9));
        test_service_start(&t, store_args, NULL);
        ck_assert(strstr(t.status, "2 holds await reclaim") || strstr(t.status, "1 holds await reclaim"));

        /* The first call reconnects and reclaims the handle's hold. */
        ck_assert_int_eq(shmb_stat(c, "held", &st), 0);
        ck_assert_uint_eq(st.holders, 1);
        ck_assert_uint_eq(st.id, shmb_segment_get_id(s));
        /* The idle client never calls: its hold is dropped at the end of the grace period. */
        ck_assert_msg(test_service_wait(&t, grace_over, NULL, 10000), "grace period did not end: '%s'", t.status);
        ck_assert_int_eq(shmb_stat(c, "held", &st), 0);
        ck_assert_uint_eq(st.holders, 1);
        ck_assert(filled(p, 8192, 9));
        fill(p, 8192, 10);
        check_bytes(c, "held", 10);

        /* Too late for the idle client: its handle's hold is lost, its release local. */
        ck_assert_int_eq(shmb_stat(idle, "held", &st), 0);
        ck_assert_uint_eq(st.holders, 1);
        ck_assert_int_eq(shmb_segment_release(other), 0);
        ck_assert_int_eq(shmb_stat(c, "held", &st), 0);
        ck_assert_uint_eq(st.holders, 1);

        /* Lifetimes work afterwards: the last holder lets go, the segment ends. */
        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_int_eq(shmb_stat(c, "held", &st), -ENOENT);
        shmb_client_free(idle);
        shmb_client_free(c);
        test_service_cleanup(&t);
}
END_TEST

static bool segment_gone(TestService *t, void *name) {
        struct shmb_client *c = test_service_client(t);
        struct shmb_stat st;
        int r = shmb_stat(c, name, &st);

        shmb_client_free(c);
        return r == -ENOENT;
}

static bool not_stored(TestService *t, void *name) {
        return test_service_stored(t, name) < 0;
}

START_TEST(test_unreclaimed_holders_segment_ends) {
        struct shmb_client *holder, *c;
        struct shmb_segment *s;
        struct shmb_stat st;
        TestService t;
        char name[64];

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        holder = test_service_client(&t);
        s = create(holder, "orphan", 4096, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_HOLDERS, 0644);
        snprintf(name, sizeof(name), "seg-%llu", (unsigned long long)shmb_segment_get_id(s));
        test_service_kill(&t, SIGKILL);
        test_service_start(&t, store_args, NULL);

        /* Back at once (the holder is alive and may still reclaim), held by nobody yet. */
        c = test_service_client(&t);
        ck_assert_int_eq(shmb_stat(c, "orphan", &st), 0);
        ck_assert_uint_eq(st.holders, 0);
        shmb_client_free(c);
        /* The holder never calls: after --reclaim-grace 1 the segment's lifetime ends. */
        ck_assert_msg(test_service_wait(&t, segment_gone, (void *)"orphan", 10000), "'orphan' outlived the grace period");
        /* Its memfd leaves the store (the FDSTOREREMOVE notification may follow the STAT reply). */
        ck_assert_msg(test_service_wait(&t, not_stored, name, 10000), "%s still in the fd store", name);
        /* The holder's connection broke with the restart: its release cannot be confirmed, and needs not be. */
        {
                int r = shmb_segment_release(s);

                ck_assert_msg(r == -ECONNRESET || r == -EPIPE, "release on a broken connection: %d", r);
        }
        shmb_client_free(holder);
        test_service_cleanup(&t);
}
END_TEST

/* RECLAIM of segment @id from this process, over a fresh raw connection; returns the reply status. */
static int raw_reclaim(const char *path, uint64_t id) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint8_t buf[SHMB_MSG_MAX];
        ProtoHeader h;
        ProtoBuf b;
        int fd, n;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, path);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -1;
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_hello(&b, 1, 1, 1);
        if (send(fd, buf, (size_t)n, 0) != n || recv(fd, buf, sizeof(buf), 0) <= 0)
                return -1;
        proto_buf_init(&b, buf, sizeof(buf));
        n = proto_encode_reclaim(&b, 2, id, 0);
        if (send(fd, buf, (size_t)n, 0) != n)
                return -1;
        n = (int)recv(fd, buf, sizeof(buf), 0);
        close(fd);
        if (n <= 0 || proto_decode_header(buf, (size_t)n, &h) != 0)
                return -1;
        return h.status;
}

START_TEST(test_reclaim_needs_the_same_process) {
        struct shmb_client *c;
        struct shmb_segment *s;
        struct shmb_stat st;
        TestService t;
        uint64_t id;
        int status;
        pid_t pid;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        c = test_service_client(&t);
        s = create(c, "mine", 4096, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_HOLDERS, 0666);
        id = shmb_segment_get_id(s);
        test_service_kill(&t, SIGKILL);
        test_service_start(&t, store_args, NULL);

        /* Another process, same uid, asking for this process's hold: refused by the kernel's word. */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(raw_reclaim(t.socket, id) == SHMB_STATUS_NOT_HELD ? 0 : 1);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a stranger reclaimed the hold");
        /* Unknown ids are NOT_FOUND. */
        ck_assert_int_eq(raw_reclaim(t.socket, id + 1000), SHMB_STATUS_NOT_FOUND);

        /* The owner itself may. */
        ck_assert_int_eq(shmb_stat(c, "mine", &st), 0);
        ck_assert_uint_eq(st.holders, 1);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
        test_service_cleanup(&t);
}
END_TEST

START_TEST(test_creator_lifetime) {
        struct shmb_client *back, *gone, *c;
        struct shmb_segment *a, *b;
        struct shmb_stat st;
        TestService t;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        back = test_service_client(&t);
        gone = test_service_client(&t);
        a = create(back, "by-back", 4096, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_CREATOR, 0644);
        b = create(gone, "by-gone", 4096, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_CREATOR, 0644);
        /* "gone" lets go of its hold but stays the creator: only the creator can bring the name back. */
        ck_assert_int_eq(shmb_segment_release(b), 0);
        test_service_kill(&t, SIGKILL);
        test_service_start(&t, store_args, NULL);

        ck_assert_int_eq(shmb_stat(back, "by-back", &st), 0);
        ck_assert_msg(test_service_wait(&t, grace_over, NULL, 10000), "grace period did not end: '%s'", t.status);
        c = test_service_client(&t);
        /* The creator that reclaimed keeps the name; the other one's name went with the grace period. */
        ck_assert_int_eq(shmb_stat(c, "by-back", &st), 0);
        ck_assert_int_eq(shmb_stat(c, "by-gone", &st), -ENOENT);
        /* And the creator's lifetime still works: its connection closes, the name goes. */
        ck_assert_int_eq(shmb_segment_release(a), 0);
        shmb_client_free(back);
        ck_assert_msg(test_service_wait(&t, segment_gone, (void *)"by-back", 5000), "'by-back' outlived its creator");
        shmb_client_free(gone);
        shmb_client_free(c);
        test_service_cleanup(&t);
}
END_TEST

START_TEST(test_store_and_state_must_agree) {
        struct shmb_client *c;
        struct shmb_segment *a, *b;
        struct shmb_stat st;
        char name_b[64];
        TestService t;
        int stray;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        c = test_service_client(&t);
        a = create(c, "kept", 4096, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_PERSISTENT, 0644);
        b = create(c, "lost-fd", 4096, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_PERSISTENT, 0644);
        fill(map(a), 4096, 5);
        snprintf(name_b, sizeof(name_b), "seg-%llu", (unsigned long long)shmb_segment_get_id(b));
        shmb_segment_release(a);
        shmb_segment_release(b);
        shmb_client_free(c);
        (void)test_service_wait(&t, NULL, NULL, 200);
        test_service_kill(&t, SIGKILL);

        /* The store lost one segment's fd, and holds an fd no record names. */
        test_service_unstore(&t, name_b);
        stray = memfd_create("stray", MFD_CLOEXEC);
        ck_assert_int_ge(stray, 0);
        test_service_store(&t, "seg-999", stray);
        close(stray);
        test_service_start(&t, store_args, NULL);

        c = test_service_client(&t);
        ck_assert_int_eq(shmb_stat(c, "kept", &st), 0);
        check_bytes(c, "kept", 5);
        ck_assert_int_eq(shmb_stat(c, "lost-fd", &st), -ENOENT);
        ck_assert(test_service_log_contains(&t, "its memfd is not in the file-descriptor store"));
        ck_assert(test_service_log_contains(&t, "Stored fd seg-999 belongs to no recorded segment"));
        ck_assert_int_lt(test_service_stored(&t, "seg-999"), 0);
        shmb_client_free(c);
        test_service_cleanup(&t);
}
END_TEST

START_TEST(test_state_of_another_instance_ignored) {
        static const char *const other[] = { "--fd-store=yes", "--state-dir=/tmp/shmbroker-not-this-one", NULL };
        struct shmb_client *c;
        struct shmb_segment *s;
        struct shmb_stat st;
        char state[400];
        TestService t;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        c = test_service_client(&t);
        s = create(c, "theirs", 4096, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_PERSISTENT, 0644);
        shmb_segment_release(s);
        shmb_client_free(c);
        test_service_kill(&t, SIGKILL);

        /* A daemon of another state directory does not restore that state: it starts empty. */
        test_service_start(&t, other, NULL);
        ck_assert(test_service_log_contains(&t, "belongs to a daemon with state directory"));
        c = test_service_client(&t);
        ck_assert_int_eq(shmb_stat(c, "theirs", &st), -ENOENT);
        shmb_client_free(c);
        test_service_kill(&t, SIGINT);
        snprintf(state, sizeof(state), "%s/state", t.runtime_dir);
        ck_assert_int_lt(access(state, F_OK), 0); /* its own state, removed at its stop */
        rmdir("/tmp/shmbroker-not-this-one/segments/data");
        rmdir("/tmp/shmbroker-not-this-one/segments/meta");
        rmdir("/tmp/shmbroker-not-this-one/segments");
        unlink("/tmp/shmbroker-not-this-one/lock");
        unlink("/tmp/shmbroker-not-this-one/sysv-segments");
        rmdir("/tmp/shmbroker-not-this-one");
        test_service_cleanup(&t);
}
END_TEST

START_TEST(test_timeout_while_down) {
        struct shmb_client *c, *z;
        struct shmb_stat st;
        TestService t;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        c = test_service_client(&t);
        z = test_service_client(&t);
        ck_assert_int_eq(shmb_client_set_timeout(c, 300 * 1000), 0);
        ck_assert_int_eq(shmb_client_set_timeout(z, 0), 0);
        test_service_kill(&t, SIGKILL);

        ck_assert_int_eq(shmb_stat(c, "anything", &st), -ETIMEDOUT);
        ck_assert_msg(strstr(shmb_client_last_error(c), "could not be reached for"), "error text: '%s'",
                      shmb_client_last_error(c));
        ck_assert_int_lt(shmb_client_get_fd(c), 0);
        /* Timeout 0: fail at once with the connection's error. */
        {
                int r = shmb_stat(z, "anything", &st);

                ck_assert_msg(r == -ECONNRESET || r == -EPIPE, "timeout 0: %d", r);
        }
        ck_assert_int_eq(shmb_client_set_timeout(NULL, 1), -EINVAL);
        shmb_client_free(c);
        shmb_client_free(z);
        test_service_cleanup(&t);
}
END_TEST

typedef struct Call {
        struct shmb_client *c;
        int r;
        struct shmb_stat st;
} Call;

static void *stat_call(void *userdata) {
        Call *call = userdata;

        call->r = shmb_stat(call->c, "waited", &call->st);
        return NULL;
}

START_TEST(test_call_waits_for_restart) {
        struct timespec pause = { .tv_nsec = 300 * 1000 * 1000 };
        struct shmb_segment *s;
        TestService t;
        pthread_t th;
        Call call = {};

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        call.c = test_service_client(&t);
        ck_assert_int_eq(shmb_client_set_timeout(call.c, 20 * 1000 * 1000), 0);
        s = create(call.c, "waited", 4096, SHMB_BACKEND_MEMFD, SHMB_LIFETIME_HOLDERS, 0600);
        test_service_kill(&t, SIGKILL);

        /* The call starts while no daemon listens, and completes once one is back. */
        ck_assert_int_eq(pthread_create(&th, NULL, stat_call, &call), 0);
        nanosleep(&pause, NULL);
        test_service_start(&t, store_args, NULL);
        ck_assert_int_eq(pthread_join(th, NULL), 0);
        ck_assert_msg(call.r == 0, "stat after the restart: %s", shmb_client_last_error(call.c));
        ck_assert_uint_eq(call.st.holders, 1);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(call.c);
        test_service_cleanup(&t);
}
END_TEST

static Suite *restart_suite(void) {
        Suite *s = suite_create("restart");
        TCase *tc;

        tc = tcase_create("segments");
        tcase_add_test(tc, test_kill9_keeps_every_backend);
        tcase_add_test(tc, test_sigterm_without_job_keeps);
        tcase_add_test(tc, test_without_store_says_what_it_kept);
        tcase_add_test(tc, test_store_and_state_must_agree);
        tcase_add_test(tc, test_state_of_another_instance_ignored);
        suite_add_tcase(s, tc);

        tc = tcase_create("holds");
        tcase_add_test(tc, test_client_reclaims);
        tcase_add_test(tc, test_unreclaimed_holders_segment_ends);
        tcase_add_test(tc, test_reclaim_needs_the_same_process);
        tcase_add_test(tc, test_creator_lifetime);
        suite_add_tcase(s, tc);

        tc = tcase_create("clients");
        tcase_add_test(tc, test_timeout_while_down);
        tcase_add_test(tc, test_call_waits_for_restart);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(restart_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
