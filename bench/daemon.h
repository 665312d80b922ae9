#pragma once

/*
 * Real shmbrokerd instances for the benchmark: each on a private socket and
 * state directory in its own directory under the run's runtime directory,
 * otherwise with its default settings, ready when it sends READY=1 to a
 * private NOTIFY_SOCKET. Plus what /proc says about a process.
 */

#include <stdint.h>
#include <sys/types.h>

#include "bench/bench.h"

typedef struct BenchDaemon {
        pid_t pid;
        char dir[256];                  /* private directory, removed by bench_daemon_cleanup() */
        char socket[300];               /* dir + "/shmbrokerd.sock" */
        char log[300];                  /* dir + "/daemon.log": its stderr */
        uint64_t ready_ns;              /* from fork to READY=1, last start */
} BenchDaemon;

typedef struct ProcMem {
        uint64_t rss_kib;               /* VmRSS */
        uint64_t anon_kib;              /* RssAnon: the process's own heap and stacks */
} ProcMem;

int bench_daemon_start(BenchDaemon *d, BenchConfig *cfg);
int bench_daemon_restart(BenchDaemon *d, const BenchConfig *cfg);
int bench_daemon_stop(BenchDaemon *d, uint64_t *ret_ns);
int bench_daemon_kill(BenchDaemon *d);
void bench_daemon_cleanup(BenchDaemon *d);
int bench_remove_tree(const char *path);
const char *bench_daemon_log_tail(const BenchDaemon *d, char *buf, size_t size);
const char *bench_daemon_status(BenchDaemon *d, char *buf, size_t size);

int proc_mem(pid_t pid, ProcMem *ret);
int proc_cpu_ns(pid_t pid, uint64_t *ret);
int proc_fd_count(pid_t pid);
