/*
 * Scenario 1: create + map + first touch + unmap + release.
 *
 * Four ways of doing the same work, interleaved in one loop (the order
 * rotates every iteration): through the broker (shmb_create, map, touch
 * every page, shmb_segment_release), and directly in this process with
 * memfd_create + ftruncate + mmap, with shm_open, and with shmget + shmat.
 * The broker's ratio to the direct memfd path is the target.
 */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/daemon.h"
#include "bench/report.h"
#include "client/shmbroker.h"

#define TARGET_RATIO 1.3

enum { V_BROKER, V_MEMFD, V_POSIX, V_SYSV, _V_MAX };

static const char *const variant_names[_V_MAX] = { "broker", "memfd", "shm_open", "shmget" };

typedef struct Ctx {
        struct shmb_client *client;
        char posix_name[64];
} Ctx;

static int op_broker(Ctx *x, uint64_t size) {
        struct shmb_segment *seg;
        void *p;
        int r;

        r = shmb_create(x->client, "s1", size, NULL, &seg);
        if (r < 0)
                return r;
        r = shmb_segment_map(seg, &p);
        if (r >= 0)
                bench_touch_pages(p, size);
        if (r < 0) {
                (void)shmb_segment_release(seg);
                return r;
        }
        return shmb_segment_release(seg);
}

static int map_touch_unmap(int fd, uint64_t size) {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

        if (p == MAP_FAILED)
                return -errno;
        bench_touch_pages(p, size);
        return munmap(p, size) < 0 ? -errno : 0;
}

static int op_memfd(Ctx *x, uint64_t size) {
        int fd, r;

        fd = memfd_create("s1", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        r = ftruncate(fd, (off_t)size) < 0 ? -errno : map_touch_unmap(fd, size);
        close(fd);
        return r;
}

static int op_posix(Ctx *x, uint64_t size) {
        int fd, r;

        fd = shm_open(x->posix_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = ftruncate(fd, (off_t)size) < 0 ? -errno : map_touch_unmap(fd, size);
        close(fd);
        if (shm_unlink(x->posix_name) < 0 && r == 0)
                r = -errno;
        return r;
}

static int op_sysv(Ctx *x, uint64_t size) {
        void *p;
        int id, r = 0;

        id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
        if (id < 0)
                return -errno;
        p = shmat(id, NULL, 0);
        if (p == (void *)-1) {
                r = -errno;
        } else {
                bench_touch_pages(p, size);
                if (shmdt(p) < 0)
                        r = -errno;
        }
        if (shmctl(id, IPC_RMID, NULL) < 0 && r == 0)
                r = -errno;
        return r;
}

static int (*const ops[_V_MAX])(Ctx *x, uint64_t size) = { op_broker, op_memfd, op_posix, op_sysv };

typedef struct SizeCase {
        uint64_t size;
        const char *label;
        unsigned iters;                 /* per run, before scaling */
} SizeCase;

static const SizeCase cases[] = {
        { 4096, "4 KiB", 3000 },
        { 65536, "64 KiB", 3000 },
        { 1 << 20, "1 MiB", 250 },
        { 64 << 20, "64 MiB", 10 },
};

/* One run of one size: every variant @iters times, interleaved; p50/p99 per variant. */
static int run_once(Ctx *x, const SizeCase *sc, unsigned iters, Samples *s, double p50[_V_MAX],
                    double p99[_V_MAX]) {
        unsigned warmup = iters / 10 + 1;

        for (int v = 0; v < _V_MAX; v++) {
                samples_clear(&s[v]);
                if (samples_reserve(&s[v], iters) < 0)
                        return -ENOMEM;
        }
        for (unsigned i = 0; i < warmup + iters; i++) {
                for (int k = 0; k < _V_MAX; k++) {
                        int v = (int)((i + (unsigned)k) % _V_MAX), r;
                        uint64_t t0 = now_ns();

                        r = ops[v](x, sc->size);
                        if (r < 0) {
                                fprintf(stderr, "scenario 1: %s %s failed: %s (%s)\n", variant_names[v], sc->label,
                                        strerror(-r), v == V_BROKER ? shmb_client_last_error(x->client) : "");
                                return r;
                        }
                        if (i >= warmup)
                                samples_add(&s[v], now_ns() - t0);
                }
        }
        for (int v = 0; v < _V_MAX; v++) {
                p50[v] = samples_percentile(&s[v], 0.5) / 1e3;
                p99[v] = samples_percentile(&s[v], 0.99) / 1e3;
        }
        return 0;
}

static void report_size(Report *rep, const char *what, unsigned runs, double p50[][_V_MAX], double p99[][_V_MAX],
                        unsigned iters) {
        double col[BENCH_RUNS_MAX];
        char metric[48];
        Row *row;

        for (int v = 0; v < _V_MAX; v++) {
                for (unsigned k = 0; k < runs; k++)
                        col[k] = p50[k][v];
                snprintf(metric, sizeof(metric), "%s p50", variant_names[v]);
                row = report_runs(rep, BENCH_S_CREATE, what, metric, "us", col, runs);
                if (v == V_BROKER)
                        report_note(row, "%u iterations per run", iters);
                if (v > V_BROKER + 1)
                        continue;
                for (unsigned k = 0; k < runs; k++)
                        col[k] = p99[k][v];
                snprintf(metric, sizeof(metric), "%s p99", variant_names[v]);
                report_runs(rep, BENCH_S_CREATE, what, metric, "us", col, runs);
        }
        for (int v = V_MEMFD; v < _V_MAX; v++) {
                for (unsigned k = 0; k < runs; k++)
                        col[k] = p50[k][V_BROKER] / p50[k][v];
                snprintf(metric, sizeof(metric), "broker/%s p50", variant_names[v]);
                row = report_runs(rep, BENCH_S_CREATE, what, metric, "x", col, runs);
                if (v == V_MEMFD)
                        report_set_target(row, "<=", TARGET_RATIO);
        }
}

static int run_placement(BenchConfig *cfg, Report *rep, const Placement *pl, Samples *s) {
        double p50[BENCH_RUNS_MAX][_V_MAX], p99[BENCH_RUNS_MAX][_V_MAX];
        BenchDaemon d = {};
        Ctx x = {};
        int r;

        r = bench_place(cfg, pl);
        if (r >= 0)
                r = bench_daemon_start(&d, cfg);
        if (r < 0) {
                report_fail(rep, BENCH_S_CREATE, pl->name, "cannot start shmbrokerd: %s", strerror(-r));
                bench_daemon_cleanup(&d);
                return r;
        }
        snprintf(x.posix_name, sizeof(x.posix_name), "/shmb-bench-%d", (int)getpid());
        r = shmb_client_new(&x.client, d.socket);
        if (r < 0) {
                report_fail(rep, BENCH_S_CREATE, pl->name, "cannot connect: %s", strerror(-r));
                bench_daemon_cleanup(&d);
                return r;
        }
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                const SizeCase *sc = &cases[c];
                unsigned iters = bench_iters(cfg, sc->iters, 8);
                char what[48];

                snprintf(what, sizeof(what), "%s, %s", sc->label, pl->name);
                bench_progress("scenario 1: create %s, %u runs x %u iterations x 4 variants", what, cfg->runs, iters);
                for (unsigned k = 0; k < cfg->runs; k++) {
                        r = run_once(&x, sc, iters, s, p50[k], p99[k]);
                        if (r < 0)
                                break;
                }
                if (r < 0) {
                        char why[700];

                        report_fail(rep, BENCH_S_CREATE, what, "an operation failed: %s %s (%s)", strerror(-r),
                                    shmb_client_last_error(x.client), bench_daemon_status(&d, why, sizeof(why)));
                        if (d.pid <= 0)
                                break;
                        continue;
                }
                report_size(rep, what, cfg->runs, p50, p99, iters);
        }
        (void)shm_unlink(x.posix_name);
        shmb_client_free(x.client);
        bench_daemon_cleanup(&d);
        return 0;
}

/**
 * scenario_create() - scenario 1, every size, client and daemon on the same
 * CPU and on different CPUs
 * @cfg:        settings
 * @rep:        where the rows go
 *
 * Return: 0, or negative errno if the scenario could not run at all.
 */
int scenario_create(BenchConfig *cfg, Report *rep) {
        Samples s[_V_MAX] = { SAMPLES_NULL, SAMPLES_NULL, SAMPLES_NULL, SAMPLES_NULL };
        int r = 0;

        for (unsigned i = 0; i < cfg->n_placements && r >= 0; i++)
                r = run_placement(cfg, rep, &cfg->placements[i], s);
        for (int v = 0; v < _V_MAX; v++)
                samples_deinit(&s[v]);
        return r;
}
