/*
 * Scenario 3: open+release operations per second with 1, 8, 64 and 512
 * concurrent clients.
 *
 * The load generator (loadgen.c) keeps one request outstanding on each
 * connection. Each run measures the daemon and then an epoll echo server
 * (the floor: the same transport with no bookkeeping), in alternating
 * order, so that the ratio compares neighbours in time. The daemon's and
 * the generator's CPU use are reported to show who was the bottleneck, and
 * operations per CPU-second of the server, which other load on the machine
 * does not change as much as operations per second.
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/daemon.h"
#include "bench/echo-peer.h"
#include "bench/loadgen.h"
#include "bench/report.h"
#include "client/shmbroker.h"

#define N_SEGMENTS 16
#define TARGET_CLIENTS 64
#define TARGET_OPS 100000.0

static const unsigned client_counts[] = { 1, 8, 64, 512 };

typedef struct Figures {
        double ops[2][BENCH_RUNS_MAX];  /* [0] broker, [1] echo */
        double ratio[BENCH_RUNS_MAX];
        double p50[BENCH_RUNS_MAX];
        double p99[BENCH_RUNS_MAX];
        double cpu_daemon[BENCH_RUNS_MAX];
        double cpu_client[BENCH_RUNS_MAX];
        double per_cpu[2][BENCH_RUNS_MAX];     /* ops per CPU-second of the server: [0] daemon, [1] echo */
        uint64_t errors;
} Figures;

static void report_level(Report *rep, unsigned n, unsigned runs, const Figures *f, double secs) {
        char what[48];
        Row *row;

        snprintf(what, sizeof(what), "%u client%s", n, n == 1 ? "" : "s");
        row = report_runs(rep, BENCH_S_THROUGHPUT, what, "broker ops/s", "ops/s", f->ops[0], runs);
        report_set_x(row, "clients broker ops/s", n);
        if (n == TARGET_CLIENTS)
                report_set_target(row, ">=", TARGET_OPS);
        report_note(row, "%.1f s counted per run", secs);
        if (f->errors)
                report_note(row, "%llu error replies or broken connections", (unsigned long long)f->errors);
        row = report_runs(rep, BENCH_S_THROUGHPUT, what, "echo floor ops/s", "ops/s", f->ops[1], runs);
        report_set_x(row, "clients echo ops/s", n);
        report_runs(rep, BENCH_S_THROUGHPUT, what, "broker/echo ops/s", "x", f->ratio, runs);
        row = report_runs(rep, BENCH_S_THROUGHPUT, what, "broker latency p50", "us", f->p50, runs);
        report_set_x(row, "clients broker p50", n);
        row = report_runs(rep, BENCH_S_THROUGHPUT, what, "broker latency p99", "us", f->p99, runs);
        report_set_x(row, "clients broker p99", n);
        report_runs(rep, BENCH_S_THROUGHPUT, what, "daemon CPU (1 = a core)", "cores", f->cpu_daemon, runs);
        report_runs(rep, BENCH_S_THROUGHPUT, what, "load generator CPU", "cores", f->cpu_client, runs);
        row = report_runs(rep, BENCH_S_THROUGHPUT, what, "broker ops per daemon CPU-s", "ops", f->per_cpu[0], runs);
        report_set_x(row, "clients broker ops per daemon CPU-s", n);
        if (n == TARGET_CLIENTS)
                report_note(row, "what one fully available core would give; less than 1 core above means "
                            "other processes took the CPU");
        report_runs(rep, BENCH_S_THROUGHPUT, what, "echo ops per server CPU-s", "ops", f->per_cpu[1], runs);
}

static int one_run(const char *path, pid_t pid, unsigned n, const char *const *names, double warm, double secs,
                   LoadResult *res) {
        *res = (LoadResult){ .latency = SAMPLES_NULL };
        return loadgen_run(path, pid, n, names, N_SEGMENTS, warm, secs, res);
}

static int measure_level(const BenchConfig *cfg, const BenchDaemon *d, const EchoServer *echo, unsigned n,
                         const char *const *names, Figures *f) {
        double secs = bench_seconds(cfg, 0.7, 0.2), warm = bench_seconds(cfg, 0.2, 0.05);
        int r = 0;

        *f = (Figures){};
        for (unsigned k = 0; k < cfg->runs; k++) {
                LoadResult b, e;

                /* Alternate which goes first, so neither always follows the other. */
                if (k & 1) {
                        r = one_run(echo->socket, echo->pid, n, names, warm, secs, &e);
                        if (r >= 0)
                                r = one_run(d->socket, d->pid, n, names, warm, secs, &b);
                } else {
                        r = one_run(d->socket, d->pid, n, names, warm, secs, &b);
                        if (r >= 0)
                                r = one_run(echo->socket, echo->pid, n, names, warm, secs, &e);
                }
                if (r < 0)
                        return r;
                f->ops[0][k] = b.ops_per_sec;
                f->ops[1][k] = e.ops_per_sec;
                f->ratio[k] = b.ops_per_sec / e.ops_per_sec;
                f->p50[k] = samples_percentile(&b.latency, 0.5) / 1e3;
                f->p99[k] = samples_percentile(&b.latency, 0.99) / 1e3;
                f->cpu_daemon[k] = b.server_cpu;
                f->cpu_client[k] = b.client_cpu;
                f->per_cpu[0][k] = b.server_cpu > 0 ? b.ops_per_sec / b.server_cpu : NAN;
                f->per_cpu[1][k] = e.server_cpu > 0 ? e.ops_per_sec / e.server_cpu : NAN;
                f->errors += b.errors;
                samples_deinit(&b.latency);
                samples_deinit(&e.latency);
        }
        return 0;
}

/**
 * scenario_throughput() - scenario 3
 * @cfg:        settings
 * @rep:        where the rows go
 *
 * Return: 0, or negative errno if the scenario could not run at all.
 */
int scenario_throughput(BenchConfig *cfg, Report *rep) {
        struct shmb_segment *segs[N_SEGMENTS] = {};
        char name_buf[N_SEGMENTS][16], echo_path[300];
        const char *names[N_SEGMENTS];
        struct shmb_client *holder = NULL;
        EchoServer echo = {};
        BenchDaemon d = {};
        int r;

        /* Both sides busy: the scheduler spreads them; no pinning. */
        r = bench_place(cfg, NULL);
        if (r >= 0)
                r = bench_daemon_start(&d, cfg);
        if (r < 0) {
                report_fail(rep, BENCH_S_THROUGHPUT, "daemon", "cannot start shmbrokerd: %s", strerror(-r));
                bench_daemon_cleanup(&d);
                return r;
        }
        r = shmb_client_new(&holder, d.socket);
        for (unsigned i = 0; i < N_SEGMENTS && r >= 0; i++) {
                snprintf(name_buf[i], sizeof(name_buf[i]), "t%u", i);
                names[i] = name_buf[i];
                r = shmb_create(holder, names[i], 65536, NULL, &segs[i]);
        }
        snprintf(echo_path, sizeof(echo_path), "%s/echo.sock", d.dir);
        if (r >= 0)
                r = echo_server_spawn(&echo, echo_path, "t0", 65536, cfg->server_cpu);
        if (r < 0) {
                report_fail(rep, BENCH_S_THROUGHPUT, "setup", "%s", strerror(-r));
                goto finish;
        }
        for (size_t i = 0; i < sizeof(client_counts) / sizeof(client_counts[0]); i++) {
                unsigned n = client_counts[i];
                Figures f;

                bench_progress("scenario 3: %u concurrent client(s), %u runs, broker and echo alternating", n,
                               cfg->runs);
                r = measure_level(cfg, &d, &echo, n, names, &f);
                if (r < 0) {
                        char what[48], why[700];

                        snprintf(what, sizeof(what), "%u client%s", n, n == 1 ? "" : "s");
                        report_fail(rep, BENCH_S_THROUGHPUT, what, "cannot set up %u connection(s): %s (%s)", n,
                                    strerror(-r), bench_daemon_status(&d, why, sizeof(why)));
                        if (d.pid <= 0)
                                break;
                        continue;
                }
                report_level(rep, n, cfg->runs, &f, bench_seconds(cfg, 0.7, 0.2));
        }
finish:
        echo_server_stop(&echo);
        for (unsigned i = 0; i < N_SEGMENTS; i++)
                if (segs[i])
                        (void)shmb_segment_release(segs[i]);
        shmb_client_free(holder);
        bench_daemon_cleanup(&d);
        return 0;
}
