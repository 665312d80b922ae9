#pragma once

/*
 * shmbroker-bench: settings shared by every scenario, the monotonic clock,
 * and the scenario entry points. Each scenario measures the broker and its
 * floor in one interleaved loop and adds rows to the report; none of them
 * fakes a number: what cannot be measured becomes a "skipped" or "failed"
 * row that says why.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct Report Report;

#define BENCH_RUNS_MAX 64

enum {
        BENCH_S_CREATE = 1,     /* create + map + touch + unmap + release vs in-process */
        BENCH_S_OPEN,           /* open + map + unmap + release vs one fd-passing round trip */
        BENCH_S_THROUGHPUT,     /* open+release per second, 1..512 clients */
        BENCH_S_SCALE,          /* latency with many segments / idle connections; memory */
        BENCH_S_CLEANUP,        /* removal of System V segments at stop and after kill -9 */
        BENCH_S_DATAPLANE,      /* 1 GiB through a ring in a segment vs pipe and socket */
        BENCH_S_PYTHON,         /* Python's multiprocessing.shared_memory and managers */
        _BENCH_S_MAX,
};

/*
 * Where the client (this process) and the server (daemon or floor peer)
 * run. On a VM whose idle vCPUs halt, a wake-up across CPUs costs far more
 * than one on the same CPU, and unpinned processes land either way from one
 * run to the next; latency scenarios therefore pin both sides, the same way
 * for the broker and its floor, and report each placement.
 */
typedef struct Placement {
        const char *name;               /* "same CPU", "cross CPU", "unpinned" */
        int client_cpu;                 /* -1: any */
        int server_cpu;                 /* -1: any */
} Placement;

#define BENCH_PLACEMENTS_MAX 2

typedef struct BenchConfig {
        const char *daemon_path;        /* shmbrokerd to start */
        const char *daemon_wrapper;     /* e.g. "valgrind --tool=callgrind", or NULL */
        const char *runtime_dir;        /* private directory for sockets and logs */
        const char *python;             /* python3 to run, or NULL when absent */
        const char *py_script;          /* bench/py-bench.py */
        const char *lib_path;           /* libshmbroker.so as loaded, for the Python scenario */
        unsigned runs;                  /* repetitions of each measurement */
        double scale;                   /* multiplier on iteration counts and durations */
        bool quick;                     /* SHMB_BENCH_QUICK=1 */
        unsigned scenarios;             /* bit (1 << BENCH_S_*) for each scenario to run */
        unsigned daemon_seq;            /* numbering of daemon directories */
        Placement placements[BENCH_PLACEMENTS_MAX];
        unsigned n_placements;          /* 2 with two CPUs or more, else 1 */
        int server_cpu;                 /* CPU for servers started now, -1: any */
} BenchConfig;

static inline uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned bench_iters(const BenchConfig *cfg, unsigned base, unsigned min);
double bench_seconds(const BenchConfig *cfg, double base, double min);
void bench_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_touch_pages(void *addr, uint64_t size);

int bench_cpu_init(BenchConfig *cfg);
int bench_place(BenchConfig *cfg, const Placement *p);
int bench_pin(int cpu);

int scenario_create(BenchConfig *cfg, Report *rep);
int scenario_open(BenchConfig *cfg, Report *rep);
int scenario_throughput(BenchConfig *cfg, Report *rep);
int scenario_scale(BenchConfig *cfg, Report *rep);
int scenario_cleanup(BenchConfig *cfg, Report *rep);
int scenario_dataplane(BenchConfig *cfg, Report *rep);
int scenario_python(BenchConfig *cfg, Report *rep);
