#pragma once

/*
 * Integration-test harness standing in for systemd: a notify socket that
 * records READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 and keeps the fds a
 * daemon stores with FDSTORE=1/FDNAME= (dropping them on FDSTOREREMOVE=1),
 * and a launcher that starts shmbrokerd with those fds passed back through
 * LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID — a restart as systemd does it,
 * without systemd. Failures abort the current Check test.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "client/shmbroker.h"

#define TEST_STORE_MAX 256

typedef struct StoredEntry {
        char name[64];
        int fd;
} StoredEntry;

typedef struct TestService {
        pid_t pid;
        char dir[256];                  /* temporary directory, removed by test_service_cleanup() */
        char socket[300];
        char state_dir[300];
        char runtime_dir[300];
        char log[300];                  /* the daemon's stderr, appended over restarts */
        char notify_path[300];
        int notify_fd;
        StoredEntry store[TEST_STORE_MAX];
        size_t n_store;
        unsigned n_ready;               /* READY=1 received (all instances) */
        unsigned n_stopping;
        unsigned n_watchdog;
        unsigned n_removed;             /* FDSTOREREMOVE=1 received */
        char status[512];               /* last STATUS= */
} TestService;

/* Temporary directory (mode 0755, so other uids reach the socket) and notify socket. */
void test_service_init(TestService *t);
/* Start shmbrokerd with --socket, --state-dir, --runtime-dir, --log-level debug, @args
 * (NULL-terminated, may be NULL) and @env ("NAME=value", NULL-terminated, may be NULL),
 * passing every stored fd; wait for a new READY=1. */
void test_service_start(TestService *t, const char *const *args, const char *const *env);
/* Send @sig, reap, and take in the messages it sent before it died; returns the wait status. */
int test_service_kill(TestService *t, int sig);
/* Take in notify messages for up to @timeout_ms, or until @until returns true. */
bool test_service_wait(TestService *t, bool (*until)(TestService *t, void *userdata), void *userdata,
                       int timeout_ms);
/* The stored fd of that name, or -1. */
int test_service_stored(TestService *t, const char *name);
/* Forget a stored fd (as if systemd had lost it). */
void test_service_unstore(TestService *t, const char *name);
/* Add an fd to the store (dup'ed), as if an older instance had stored it. */
void test_service_store(TestService *t, const char *name, int fd);
/* Whether the daemon's log contains @text. */
bool test_service_log_contains(TestService *t, const char *text);
/* Stop with SIGINT if running (asserting a clean exit), close the store, remove the directory. */
void test_service_cleanup(TestService *t);
/* A library client of the service (asserts success). */
struct shmb_client *test_service_client(TestService *t);
