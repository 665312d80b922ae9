/*
 * Scenario 4: latency of create and open with 10, 1,000 and 100,000 live
 * segments, and with 10, 1,000 and 10,000 idle connections; the daemon's
 * memory per segment and per connection.
 *
 * The three levels of a group are three daemons alive at the same time;
 * each iteration times a create and an open on every one of them (in
 * rotating order), so the levels are compared in the same moments. A level
 * the daemon cannot reach (it runs out of file descriptors, say) is
 * measured where it stopped and the row says so.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/daemon.h"
#include "bench/loadgen.h"
#include "bench/report.h"
#include "client/shmbroker.h"

#define N_LEVELS 3
#define HEADROOM 64             /* segments given back after hitting a limit, so creates can be timed */
#define TARGET_FLAT 2.0
#define TARGET_BYTES 1024.0

typedef struct Level {
        BenchDaemon d;
        struct shmb_client *c;          /* the measuring client */
        unsigned want;
        unsigned reached;               /* live at measurement time */
        unsigned populated;             /* made before any were given back */
        char why[400];                  /* why @want was not reached */
        ProcMem before, after;
        int fds_before, fds_after;      /* the daemon's open fds */
        int *idle;                      /* idle connections */
        Samples create, open;
} Level;

typedef struct Group {
        const char *kind;               /* "segments" or "connections" */
        const char *label;              /* "live segments", "idle connections" */
        unsigned wants[N_LEVELS];
} Group;

static const Group groups[] = {
        { "segments", "live segments", { 10, 1000, 100000 } },
        { "connections", "idle connections", { 10, 1000, 10000 } },
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static unsigned rng_below(unsigned n) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return (unsigned)(rng_state % n);
}

static int populate_segments(Level *l) {
        char name[32];
        int r = 0;

        for (unsigned i = 0; i < l->want; i++) {
                struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
                struct shmb_segment *seg;

                o.lifetime = SHMB_LIFETIME_PERSISTENT;
                snprintf(name, sizeof(name), "p%u", i);
                r = shmb_create(l->c, name, 4096, &o, &seg);
                if (r < 0) {
                        snprintf(l->why, sizeof(l->why), "create #%u failed: %s", i + 1, shmb_client_last_error(l->c));
                        break;
                }
                (void)shmb_segment_release(seg);
                l->reached = i + 1;
        }
        l->populated = l->reached;
        (void)proc_mem(l->d.pid, &l->after);
        l->fds_after = proc_fd_count(l->d.pid);
        /* After hitting a limit, give a few back so that creates can still be timed at this level. */
        for (unsigned k = 0; r < 0 && k < HEADROOM && l->reached > HEADROOM * 2; k++) {
                snprintf(name, sizeof(name), "p%u", --l->reached);
                (void)shmb_unlink(l->c, name);
        }
        return l->reached > 0 ? 0 : r;
}

static int populate_connections(Level *l) {
        l->idle = calloc(l->want, sizeof(int));
        if (!l->idle)
                return -ENOMEM;
        for (unsigned i = 0; i < l->want; i++) {
                int fd = loadgen_connect(l->d.socket);

                if (fd < 0) {
                        char tail[300];

                        snprintf(l->why, sizeof(l->why), "connection #%u failed: %s (daemon: %s)", i + 1,
                                 strerror(-fd), bench_daemon_log_tail(&l->d, tail, sizeof(tail)));
                        break;
                }
                l->idle[l->reached++] = fd;
        }
        l->populated = l->reached;
        (void)proc_mem(l->d.pid, &l->after);
        l->fds_after = proc_fd_count(l->d.pid);
        /* After hitting a limit, give a few back so that creates can still be timed at this level. */
        for (unsigned k = 0; l->why[0] && k < HEADROOM && l->reached > HEADROOM * 2; k++)
                close(l->idle[--l->reached]);
        return l->reached > 0 ? 0 : -EIO;
}

static int level_start(BenchConfig *cfg, const Group *g, Level *l, unsigned want) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *seg;
        int r;

        l->want = want;
        r = bench_daemon_start(&l->d, cfg);
        if (r >= 0)
                r = shmb_client_new(&l->c, l->d.socket);
        /* The segment opened at the connection levels; it also warms the daemon's allocator. */
        o.lifetime = SHMB_LIFETIME_PERSISTENT;
        if (r >= 0)
                r = shmb_create(l->c, "o", 4096, &o, &seg);
        if (r < 0) {
                snprintf(l->why, sizeof(l->why), "cannot start: %s", strerror(-r));
                return r;
        }
        (void)shmb_segment_release(seg);
        (void)proc_mem(l->d.pid, &l->before);
        l->fds_before = proc_fd_count(l->d.pid);
        bench_progress("scenario 4: %u %s", want, g->label);
        return strcmp(g->kind, "segments") == 0 ? populate_segments(l) : populate_connections(l);
}

static void level_stop(Level *l) {
        for (unsigned i = 0; l->idle && i < l->reached; i++)
                close(l->idle[i]);
        free(l->idle);
        shmb_client_free(l->c);
        bench_daemon_cleanup(&l->d);
        samples_deinit(&l->create);
        samples_deinit(&l->open);
}

static int time_ops(Level *l, bool segments, bool record) {
        struct shmb_segment *seg;
        char name[32] = "o";
        uint64_t t0, t1;
        int r;

        t0 = now_ns();
        r = shmb_create(l->c, "c", 4096, NULL, &seg);
        t1 = now_ns();
        if (r < 0)
                return r;
        (void)shmb_segment_release(seg);
        if (record)
                samples_add(&l->create, t1 - t0);
        if (segments)
                snprintf(name, sizeof(name), "p%u", rng_below(l->reached));
        t0 = now_ns();
        r = shmb_open(l->c, name, 0, &seg);
        t1 = now_ns();
        if (r < 0)
                return r;
        (void)shmb_segment_release(seg);
        if (record)
                samples_add(&l->open, t1 - t0);
        return 0;
}

/* fig[run][level][op: create, open][p50, p99] in µs */
typedef double Figures[BENCH_RUNS_MAX][N_LEVELS][2][2];

static int measure(const BenchConfig *cfg, Level *lv, bool segments, Figures fig, Level **ret_failed) {
        unsigned iters = bench_iters(cfg, 2000, 50), warmup = iters / 10 + 1;

        for (unsigned k = 0; k < cfg->runs; k++) {
                for (int j = 0; j < N_LEVELS; j++) {
                        samples_clear(&lv[j].create);
                        samples_clear(&lv[j].open);
                        (void)samples_reserve(&lv[j].create, iters);
                        (void)samples_reserve(&lv[j].open, iters);
                }
                for (unsigned i = 0; i < warmup + iters; i++) {
                        for (unsigned j = 0; j < N_LEVELS; j++) {
                                Level *l = &lv[(i + j) % N_LEVELS];
                                int r = time_ops(l, segments, i >= warmup);

                                if (r < 0) {
                                        snprintf(l->why, sizeof(l->why), "%s", shmb_client_last_error(l->c));
                                        *ret_failed = l;
                                        return r;
                                }
                        }
                }
                for (int j = 0; j < N_LEVELS; j++) {
                        fig[k][j][0][0] = samples_percentile(&lv[j].create, 0.5) / 1e3;
                        fig[k][j][0][1] = samples_percentile(&lv[j].create, 0.99) / 1e3;
                        fig[k][j][1][0] = samples_percentile(&lv[j].open, 0.5) / 1e3;
                        fig[k][j][1][1] = samples_percentile(&lv[j].open, 0.99) / 1e3;
                }
        }
        return 0;
}

static void report_group(Report *rep, const Group *g, const Level *lv, unsigned runs, Figures fig) {
        static const char *const ops[2] = { "create", "open" }, *const pcts[2] = { "p50", "p99" };
        const char *unit_name = strcmp(g->kind, "segments") == 0 ? "segment" : "connection";
        double col[BENCH_RUNS_MAX];
        char what[48], metric[48], series[48];
        Row *row;

        for (int j = 0; j < N_LEVELS; j++) {
                const Level *l = &lv[j];
                Spread mem;

                snprintf(what, sizeof(what), "%u %s", l->reached, g->label);
                for (int op = 0; op < 2; op++)
                        for (int p = 0; p < 2; p++) {
                                for (unsigned k = 0; k < runs; k++)
                                        col[k] = fig[k][j][op][p];
                                snprintf(metric, sizeof(metric), "%s %s", ops[op], pcts[p]);
                                snprintf(series, sizeof(series), "%s %s %s", g->kind, ops[op], pcts[p]);
                                row = report_runs(rep, BENCH_S_SCALE, what, metric, "us", col, runs);
                                report_set_x(row, series, l->reached);
                                if (op == 0 && p == 0 && l->reached < l->want)
                                        report_note(row, "wanted %u %s: %s", l->want, g->label, l->why);
                        }
                if (l->reached < 100)
                        continue;       /* a few pages of heap say nothing per item */
                col[0] = ((double)l->after.anon_kib - (double)l->before.anon_kib) * 1024.0 / l->populated;
                spread_of(col, 1, &mem);
                snprintf(metric, sizeof(metric), "daemon memory per %s", unit_name);
                row = report_add(rep, BENCH_S_SCALE, what, metric, "B", &mem);
                report_note(row, "RssAnon %llu -> %llu KiB, VmRSS %llu -> %llu KiB for %u",
                            (unsigned long long)l->before.anon_kib, (unsigned long long)l->after.anon_kib,
                            (unsigned long long)l->before.rss_kib, (unsigned long long)l->after.rss_kib, l->populated);
                if (j == N_LEVELS - 1)
                        report_set_target(row, "<=", TARGET_BYTES);
                col[0] = (double)(l->fds_after - l->fds_before) / l->populated;
                spread_of(col, 1, &mem);
                snprintf(metric, sizeof(metric), "daemon fds per %s", unit_name);
                row = report_add(rep, BENCH_S_SCALE, what, metric, "fds", &mem);
                report_note(row, "%d -> %d open fds", l->fds_before, l->fds_after);
        }
        col[0] = lv[N_LEVELS - 1].populated;
        row = report_runs(rep, BENCH_S_SCALE, g->label, "largest level reached", g->kind, col, 1);
        report_set_target(row, ">=", lv[N_LEVELS - 1].want);
        if (lv[N_LEVELS - 1].why[0])
                report_note(row, "%s", lv[N_LEVELS - 1].why);
        snprintf(what, sizeof(what), "%u vs %u %s", lv[N_LEVELS - 1].reached, lv[0].reached, g->kind);
        for (int op = 0; op < 2; op++)
                for (int p = 0; p < 2; p++) {
                        for (unsigned k = 0; k < runs; k++)
                                col[k] = fig[k][N_LEVELS - 1][op][p] / fig[k][0][op][p];
                        snprintf(metric, sizeof(metric), "%s %s largest/smallest", ops[op], pcts[p]);
                        row = report_runs(rep, BENCH_S_SCALE, what, metric, "x", col, runs);
                        if (p == 1)
                                report_set_target(row, "<=", TARGET_FLAT);
                        if (p == 1 && lv[N_LEVELS - 1].reached < lv[N_LEVELS - 1].want)
                                report_note(row, "largest level not reached (%u of %u)", lv[N_LEVELS - 1].reached,
                                            lv[N_LEVELS - 1].want);
                }
}

/**
 * scenario_scale() - scenario 4, both groups, client and daemons on one CPU
 * @cfg:        settings
 * @rep:        where the rows go
 *
 * Return: 0, or negative errno if the scenario could not run at all.
 */
int scenario_scale(BenchConfig *cfg, Report *rep) {
        static Figures fig;
        int r = bench_place(cfg, &cfg->placements[0]);

        if (r < 0)
                return r;
        for (size_t gi = 0; gi < sizeof(groups) / sizeof(groups[0]); gi++) {
                const Group *g = &groups[gi];
                Level lv[N_LEVELS] = {};

                for (int j = 0; j < N_LEVELS && r >= 0; j++)
                        r = level_start(cfg, g, &lv[j], g->wants[j]);
                if (r < 0) {
                        for (int j = 0; j < N_LEVELS; j++)
                                if (lv[j].why[0])
                                        report_fail(rep, BENCH_S_SCALE, g->label, "%u %s: %s", lv[j].want, g->label,
                                                    lv[j].why);
                } else {
                        bench_progress("scenario 4: %s, %u runs, create+open on 3 daemons interleaved", g->label,
                                       cfg->runs);
                        Level *failed = NULL;

                        r = measure(cfg, lv, strcmp(g->kind, "segments") == 0, fig, &failed);
                        if (r < 0 && failed) {
                                char why[700];

                                report_fail(rep, BENCH_S_SCALE, g->label, "at %u %s: %s: %s (%s)", failed->reached,
                                            g->label, strerror(-r), failed->why,
                                            bench_daemon_status(&failed->d, why, sizeof(why)));
                        } else if (r < 0) {
                                report_fail(rep, BENCH_S_SCALE, g->label, "an operation failed: %s", strerror(-r));
                        } else
                                report_group(rep, g, lv, cfg->runs, fig);
                }
                for (int j = 0; j < N_LEVELS; j++)
                        level_stop(&lv[j]);
                r = 0;
        }
        return 0;
}
