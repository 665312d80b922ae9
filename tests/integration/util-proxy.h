#pragma once

/*
 * Integration-test harness: a relay between library clients and a real
 * shmbrokerd, on a socket of its own, that passes every datagram (and the
 * fds it carries) through unchanged, except one reply it is told to lose —
 * as a daemon killed after it made a change but before its reply reached
 * the client would lose it, only deterministically. The relay runs in a
 * thread of the test process, so the daemon sees the test process as the
 * peer, exactly as for a direct connection.
 */

#include <stddef.h>
#include <stdint.h>

typedef struct TestProxy TestProxy;

/* Listen on @front; relay each connection to a new connection to @back. */
TestProxy *test_proxy_start(const char *front, const char *back);
/* The next reply of request type @type is not passed on (nor its fd). */
void test_proxy_lose(TestProxy *p, uint16_t type);
/* Wait up to @timeout_ms for that reply; copy it to @buf and return its size (0 if it did not
 * come). Its connection then hangs: neither end is read, written or closed. */
size_t test_proxy_wait_lost(TestProxy *p, void *buf, size_t size, int timeout_ms);
/* Close the hanging connection (the client sees end-of-file; the daemon, if it still runs, sees
 * the connection close) and stop listening: connecting fails until test_proxy_listen(). */
void test_proxy_cut(TestProxy *p);
/* Listen again. */
void test_proxy_listen(TestProxy *p);
/* From now on, HELLO requests reach the daemon offering at most version @max (0: as sent), as if
 * the daemon spoke no later version. */
void test_proxy_hello_max(TestProxy *p, uint16_t max);
/* Stop relaying, close everything, free @p. */
void test_proxy_stop(TestProxy *p);
