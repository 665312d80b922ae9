/*
 * Integration tests of libshmbroker's own contract, against a live
 * shmbrokerd: segment handles may outlive their client (freeing the client
 * first detaches them; their release is then local), and a refused create
 * says in shmb_client_last_error() which option is wrong.
 *
 * make check-valgrind also runs this program itself under valgrind, so a use
 * of a freed client is reported there even where it happens to work.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "tests/integration/util-daemon.h"

#define SEG_SIZE 65536
#define WAIT_MS 5000
#define STEP_MS 10

static TestDaemon daemon_;

static void daemon_setup(void) {
        test_daemon_start(&daemon_, NULL);
}

static void daemon_teardown(void) {
        test_daemon_stop(&daemon_);
}

static struct shmb_segment *create(struct shmb_client *c, const char *name, enum shmb_backend backend) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *s = NULL;
        int r;

        o.backend = backend;
        r = shmb_create(c, name, SEG_SIZE, &o, &s);
        ck_assert_msg(r == 0, "create '%s': %s (%s)", name, strerror(-r), shmb_client_last_error(c));
        return s;
}

/* Whether any page of [p, p + len) is mapped in this process, from /proc/self/maps (a probe by
 * system call would be reported by valgrind). */
static bool is_mapped(const void *p, size_t len) {
        uintptr_t lo = (uintptr_t)p, hi = lo + len;
        unsigned long start, end;
        bool found = false;
        char line[512];
        FILE *f;

        f = fopen("/proc/self/maps", "re");
        ck_assert_ptr_nonnull(f);
        while (!found && fgets(line, sizeof(line), f))
                if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start < hi && end > lo)
                        found = true;
        fclose(f);
        return found;
}

/* Poll until the daemon no longer has @name (its last holder's connection closed). */
static void wait_gone(const char *name) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_stat st;
        int r = 0;

        for (int waited = 0; waited < WAIT_MS; waited += STEP_MS) {
                r = shmb_stat(c, name, &st);
                if (r == -ENOENT)
                        break;
                test_sleep_ms(STEP_MS);
        }
        shmb_client_free(c);
        ck_assert_msg(r == -ENOENT, "'%s' still exists after its only holder's client was freed (%d)", name, r);
}

/* ------------------------------------------------- client freed before its segments -- */

static void free_client_first(enum shmb_backend backend) {
        struct shmb_client *c = test_client(&daemon_), *other;
        struct shmb_segment *s, *kept;
        uint64_t id;
        char *p;
        int fd;

        s = create(c, "first", backend);
        ck_assert_int_eq(shmb_segment_map(s, (void **)&p), 0);
        memcpy(p, "still here", 11);
        fd = shmb_segment_get_fd(s);
        id = shmb_segment_get_id(s);

        ck_assert_ptr_null(shmb_client_free(c));
        /* The handle outlives its client: attributes, fd and mapping stay. */
        ck_assert_str_eq(shmb_segment_get_name(s), "first");
        ck_assert_uint_eq(shmb_segment_get_id(s), id);
        ck_assert_uint_eq(shmb_segment_get_size(s), SEG_SIZE);
        ck_assert_int_eq(shmb_segment_get_fd(s), fd);
        ck_assert_str_eq(p, "still here");
        /* The connection is gone, and with it the hold: the segment (lifetime holders) ends. */
        wait_gone("first");

        /* A new client (which may well get the freed client's memory and socket number) is not
         * touched by the old handle's release. */
        other = test_client(&daemon_);
        kept = create(other, "kept", backend);
        ck_assert(is_mapped(p, SEG_SIZE));
        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_msg(!is_mapped(p, SEG_SIZE), "the mapping survived the release");
        /* Nothing was opened since the release: the number must be free. */
        if (fd >= 0)
                ck_assert_msg(fcntl(fd, F_GETFD) < 0, "the release left fd %d open", fd);
        {
                struct shmb_stat st;

                ck_assert_int_eq(shmb_stat(other, "kept", &st), 0);
                ck_assert_uint_eq(st.holders, 1);
        }
        ck_assert_int_eq(shmb_segment_release(kept), 0);
        shmb_client_free(other);
}

START_TEST(test_free_client_first_memfd) {
        free_client_first(SHMB_BACKEND_MEMFD);
}
END_TEST

START_TEST(test_free_client_first_sysv) {
        free_client_first(SHMB_BACKEND_SYSV);
}
END_TEST

START_TEST(test_map_after_client_freed) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_segment *s, *t;
        char *p, *q;

        s = create(c, "late", SHMB_BACKEND_MEMFD);
        t = create(c, "later", SHMB_BACKEND_POSIX);
        ck_assert_int_eq(shmb_segment_map(s, (void **)&p), 0);
        shmb_client_free(c);
        /* Mapping needs only the fd, which the handle still owns. */
        ck_assert_int_eq(shmb_segment_map(t, (void **)&q), 0);
        q[0] = 'x';
        ck_assert_int_eq(shmb_segment_release(t), 0);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_msg(!is_mapped(p, SEG_SIZE) && !is_mapped(q, SEG_SIZE), "a mapping survived its release");
}
END_TEST

/* ------------------------------------------------------------- create options -- */

static void assert_refused(struct shmb_client *c, uint64_t size, const struct shmb_create_options *o,
                           const char *expected) {
        struct shmb_segment *s = NULL;

        ck_assert_int_eq(shmb_create(c, "opts", size, o, &s), -EINVAL);
        ck_assert_ptr_null(s);
        ck_assert_str_eq(shmb_client_last_error(c), expected);
}

START_TEST(test_create_option_errors) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_stat st;

        o.lifetime = SHMB_LIFETIME_TTL;
        assert_refused(c, 4096, &o,
                       "lifetime ttl needs ttl_sec: the seconds without holders before the segment ends, at least 1");
        o.lifetime = SHMB_LIFETIME_PERSISTENT;
        o.ttl_sec = 60;
        assert_refused(c, 4096, &o, "ttl_sec 60 is only for lifetime ttl, not persistent");
        o = (struct shmb_create_options)SHMB_CREATE_OPTIONS_INIT;
        o.mode = 01777;
        assert_refused(c, 4096, &o, "invalid mode 01777: permission bits go from 0 to 0777");
        o = (struct shmb_create_options)SHMB_CREATE_OPTIONS_INIT;
        o.lifetime = (enum shmb_lifetime)9;
        assert_refused(c, 4096, &o, "unknown lifetime 9 (holders 0, creator 1, persistent 2, ttl 3)");
        o = (struct shmb_create_options)SHMB_CREATE_OPTIONS_INIT;
        o.max_size = 1024;
        assert_refused(c, 4096, &o, "max_size 1024 is below the size 4096: it is how far the segment may grow");
        o = (struct shmb_create_options)SHMB_CREATE_OPTIONS_INIT;
        o.backend = (enum shmb_backend)7;
        assert_refused(c, 4096, &o, "unknown backend 7 (default 0, memfd 1, posix 2, sysv 3, file 4)");
        o = (struct shmb_create_options)SHMB_CREATE_OPTIONS_INIT;
        o.flags = 0x80;
        assert_refused(c, 4096, &o, "unknown create flags 0x80");
        assert_refused(c, 0, NULL, "size must be at least 1 byte");
        /* Nothing reached the daemon. */
        ck_assert_int_eq(shmb_stat(c, "opts", &st), -ENOENT);
        /* A success empties the text. */
        ck_assert_str_ne(shmb_client_last_error(c), "");
        {
                struct shmb_segment *s;

                ck_assert_int_eq(shmb_create(c, "opts", 4096, NULL, &s), 0);
                ck_assert_str_eq(shmb_client_last_error(c), "");
                shmb_segment_release(s);
        }
        shmb_client_free(c);
}
END_TEST

static Suite *library_suite(void) {
        Suite *s = suite_create("library");
        TCase *tc;

        tc = tcase_create("free-order");
        tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
        tcase_add_test(tc, test_free_client_first_memfd);
        tcase_add_test(tc, test_free_client_first_sysv);
        tcase_add_test(tc, test_map_after_client_freed);
        suite_add_tcase(s, tc);

        tc = tcase_create("create-errors");
        tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
        tcase_add_test(tc, test_create_option_errors);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(library_suite());
        int failed;

        test_run_begin();
        srunner_run_all(sr, CK_NORMAL);
        test_run_sweep();
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
