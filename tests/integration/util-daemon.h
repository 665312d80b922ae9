#pragma once

/*
 * Integration-test harness: start a real shmbrokerd ($SHMBROKERD) on a
 * socket in a fresh temporary directory, wait for its READY=1 on a private
 * NOTIFY_SOCKET, and stop it. Failures abort the current Check test.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client/shmbroker-admin.h"
#include "client/shmbroker.h"

typedef struct TestDaemon {
        pid_t pid;
        char dir[256];          /* temporary directory, removed by test_daemon_stop() */
        char socket[300];       /* dir + "/shmbrokerd.sock" */
        char state_dir[300];    /* dir + "/state" */
        char admin_socket[300]; /* dir + "/admin.sock" */
} TestDaemon;

/* Start with "--socket PATH --admin-socket PATH --state-dir DIR --log-level debug" plus @extra_args
 * (NULL-terminated, may be NULL). The daemon gets SIGTERM if the process that started it dies (a
 * failed test), so none is left. */
void test_daemon_start(TestDaemon *d, const char *const *extra_args);
/* Start another daemon with the same socket, state directory and directory as the
 * last one (which must be gone: stopped with test_daemon_kill(), not test_daemon_stop()),
 * with the same fixed options plus @extra_args; wait for READY=1. */
void test_daemon_restart(TestDaemon *d, const char *const *extra_args);
/* Make the temporary directory searchable by every uid (0755), so that
 * test_run_as() children can reach the socket (which is 0666). */
void test_daemon_share(const TestDaemon *d);
/*
 * Check ends a failed test (in fork mode) without its teardown and kills its
 * process group, daemon included: the directory stays. Call test_run_begin()
 * in main() before srunner_run_all() and test_run_sweep() after it to remove
 * such leftovers of this run (and only of this run).
 */
void test_run_begin(void);
void test_run_sweep(void);
/* SIGTERM, wait, assert a clean exit (status 0); remove the directory. */
void test_daemon_stop(TestDaemon *d);
/* Send @sig and reap; returns the wait status. */
int test_daemon_kill(TestDaemon *d, int sig);
/* Number of open fds of a process (from /proc/PID/fd). */
int test_count_fds(pid_t pid);
/* Poll test_count_fds(@pid) every 10 ms until it equals @want or @timeout_ms
 * pass; returns the last count. */
int test_wait_fds(pid_t pid, int want, int timeout_ms);
/* Sleep @ms milliseconds. */
void test_sleep_ms(int ms);

/* A library client connected to @d (asserts success). */
struct shmb_client *test_client(const TestDaemon *d);
/* A raw SOCK_SEQPACKET socket connected to @d, no HELLO sent. */
int test_raw_connect(const TestDaemon *d);
/* The same, to @d's admin socket. */
int test_raw_connect_admin(const TestDaemon *d);
/* An admin handle connected to @d's admin socket (asserts success). */
struct shmb_admin *test_admin(const TestDaemon *d);
/* Send HELLO on a raw socket and check the reply. */
void test_raw_hello(int fd);
/* Send @len bytes as one datagram, with @pass_fd attached if >= 0. */
void test_raw_send(int fd, const void *buf, size_t len, int pass_fd);
/* Receive one datagram (blocking, 5 s timeout); returns its size, 0 on EOF, -errno on error.
 * If @ret_fd is not NULL it receives a passed fd or -1. */
ssize_t test_raw_recv(int fd, void *buf, size_t size, int *ret_fd);

/* Run @fn in a child that switched to @uid/@gid (and no supplementary
 * groups); returns the child's exit status (asserts it exited normally). */
int test_run_as(uid_t uid, gid_t gid, int (*fn)(void *userdata), void *userdata);
/* Send @len bytes as one datagram with @n_fds copies of @pass_fd (at most 253) in one SCM_RIGHTS
 * message; returns what sendmsg() returned, or -errno. */
ssize_t test_raw_send_fds(int fd, const void *buf, size_t len, int pass_fd, size_t n_fds);
