/*
 * The service-manager notification protocol without systemd: a notify
 * socket of the test's own receives READY=1, STATUS=, WATCHDOG=1,
 * STOPPING=1, and the memfds the daemon stores with FDSTORE=1.
 */

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "tests/integration/util-service.h"

static const char *const store_args[] = { "--fd-store=yes", NULL };

static bool status_has(TestService *t, void *text) {
        return strstr(t->status, text) != NULL;
}

START_TEST(test_ready_and_status) {
        struct shmb_segment *a, *b;
        struct shmb_client *c;
        TestService t;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        ck_assert_uint_eq(t.n_ready, 1);
        ck_assert_str_eq(t.status, "0 segments, 0 connections");

        c = test_service_client(&t);
        ck_assert_int_eq(shmb_create(c, "status-a", 4096, NULL, &a), 0);
        ck_assert_int_eq(shmb_create(c, "status-b", 4096, NULL, &b), 0);
        /* At most one STATUS= a second: the summary catches up within a few seconds. */
        ck_assert_msg(test_service_wait(&t, status_has, (void *)"2 segments, 1 connections", 5000),
                      "STATUS= did not report the new segments; last: '%s'", t.status);
        shmb_segment_release(a);
        shmb_segment_release(b);
        shmb_client_free(c);
        ck_assert_msg(test_service_wait(&t, status_has, (void *)"0 segments, 0 connections", 5000),
                      "STATUS= did not report the release; last: '%s'", t.status);
        test_service_cleanup(&t);
}
END_TEST

static bool watchdog_twice(TestService *t, void *userdata) {
        return t->n_watchdog >= 2;
}

START_TEST(test_watchdog) {
        static const char *const env[] = { "WATCHDOG_USEC=200000", NULL };
        TestService t;

        test_service_init(&t);
        test_service_start(&t, NULL, env);
        ck_assert_msg(test_service_wait(&t, watchdog_twice, NULL, 5000), "no WATCHDOG=1 pings within 5 s (got %u)",
                      t.n_watchdog);
        test_service_cleanup(&t);
}
END_TEST

START_TEST(test_no_watchdog_without_request) {
        TestService t;

        test_service_init(&t);
        test_service_start(&t, NULL, NULL);
        (void)test_service_wait(&t, NULL, NULL, 500);
        ck_assert_uint_eq(t.n_watchdog, 0);
        test_service_cleanup(&t);
}
END_TEST

START_TEST(test_stopping_on_sigterm) {
        TestService t;
        int status;

        test_service_init(&t);
        test_service_start(&t, NULL, NULL);
        status = test_service_kill(&t, SIGTERM);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status 0x%x", status);
        ck_assert_uint_eq(t.n_stopping, 1);
        ck_assert_msg(access(t.socket, F_OK) < 0, "the socket it bound is left behind");
        test_service_cleanup(&t);
}
END_TEST

static bool stored(TestService *t, void *name) {
        return test_service_stored(t, name) >= 0;
}

static bool not_stored(TestService *t, void *name) {
        return test_service_stored(t, name) < 0;
}

START_TEST(test_fdstore_memfd) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *s, *p;
        struct stat st_client, st_store;
        struct shmb_client *c;
        char name[64];
        TestService t;
        int fd;

        test_service_init(&t);
        test_service_start(&t, store_args, NULL);
        c = test_service_client(&t);
        ck_assert_int_eq(shmb_create(c, "stored", 65536, NULL, &s), 0);
        snprintf(name, sizeof(name), "seg-%llu", (unsigned long long)shmb_segment_get_id(s));
        ck_assert_msg(test_service_wait(&t, stored, name, 5000), "no FDSTORE=1 with FDNAME=%s", name);

        /* The stored fd is the segment's memfd itself. */
        fd = test_service_stored(&t, name);
        ck_assert_int_eq(fstat(shmb_segment_get_fd(s), &st_client), 0);
        ck_assert_int_eq(fstat(fd, &st_store), 0);
        ck_assert_uint_eq(st_client.st_ino, st_store.st_ino);
        ck_assert_uint_eq(st_client.st_dev, st_store.st_dev);
        ck_assert_int_eq(st_store.st_size, 65536);

        /* Other backends keep their objects themselves: nothing is stored for them. */
        o.backend = SHMB_BACKEND_POSIX;
        ck_assert_int_eq(shmb_create(c, "not-stored", 4096, &o, &p), 0);
        snprintf(name, sizeof(name), "seg-%llu", (unsigned long long)shmb_segment_get_id(p));
        (void)test_service_wait(&t, NULL, NULL, 300);
        ck_assert_int_lt(test_service_stored(&t, name), 0);
        ck_assert_uint_eq(t.n_store, 1);
        shmb_segment_release(p);

        /* The last holder lets go: the segment is destroyed and leaves the store. */
        snprintf(name, sizeof(name), "seg-%llu", (unsigned long long)shmb_segment_get_id(s));
        ck_assert_int_eq(shmb_segment_release(s), 0);
        ck_assert_msg(test_service_wait(&t, not_stored, name, 5000), "no FDSTOREREMOVE=1 for %s", name);
        ck_assert_uint_eq(t.n_store, 0);
        shmb_client_free(c);
        test_service_cleanup(&t);
}
END_TEST

START_TEST(test_no_store_by_default) {
        struct shmb_segment *s;
        struct shmb_client *c;
        char state[400];
        TestService t;

        /* auto: no $FDSTORE and no systemd unit to ask, so no store and no state file. */
        test_service_init(&t);
        test_service_start(&t, NULL, NULL);
        c = test_service_client(&t);
        ck_assert_int_eq(shmb_create(c, "plain", 4096, NULL, &s), 0);
        (void)test_service_wait(&t, NULL, NULL, 300);
        ck_assert_uint_eq(t.n_store, 0);
        snprintf(state, sizeof(state), "%s/state", t.runtime_dir);
        ck_assert_int_lt(access(state, F_OK), 0);
        shmb_segment_release(s);
        shmb_client_free(c);
        test_service_cleanup(&t);
}
END_TEST

static Suite *notify_suite(void) {
        Suite *s = suite_create("notify");
        TCase *tc;

        tc = tcase_create("readiness");
        tcase_add_test(tc, test_ready_and_status);
        tcase_add_test(tc, test_stopping_on_sigterm);
        suite_add_tcase(s, tc);

        tc = tcase_create("watchdog");
        tcase_add_test(tc, test_watchdog);
        tcase_add_test(tc, test_no_watchdog_without_request);
        suite_add_tcase(s, tc);

        tc = tcase_create("fdstore");
        tcase_add_test(tc, test_fdstore_memfd);
        tcase_add_test(tc, test_no_store_by_default);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(notify_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
