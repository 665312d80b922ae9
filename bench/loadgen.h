#pragma once

/*
 * Closed-loop load generator for the throughput scenario: N connections,
 * each doing OPEN (receive the fd, close it) then RELEASE, again and again,
 * one request outstanding per connection, all driven by one epoll loop in
 * this process over the raw protocol (so the client side costs as little
 * as possible and the server is what is measured).
 */

#include <stdint.h>

#include "bench/stats.h"

typedef struct LoadResult {
        double ops_per_sec;             /* completed OPEN+RELEASE pairs per second */
        double server_cpu;              /* server CPU time / wall time (1.0 = one core busy) */
        double client_cpu;              /* this process's CPU time / wall time */
        uint64_t errors;                /* error replies or broken connections */
        Samples latency;                /* per pair, ns (a sample of them) */
} LoadResult;

int loadgen_connect(const char *socket_path);
int loadgen_run(const char *socket_path, pid_t server_pid, unsigned n_clients, const char *const *names,
                unsigned n_names, double warmup_sec, double measure_sec, LoadResult *ret);
