/*
 * Scenario 5: how long the daemon takes to remove 10,000 System V segments
 * when it stops (SIGTERM), and to reap them after a kill -9 (from starting
 * the next instance until none of the dead instance's segments is left).
 *
 * Runs only when the daemon accepts shmb_create() with SHMB_BACKEND_SYSV;
 * a daemon without the backend gives a "skipped" row, never a number. The
 * segments are checked in the kernel (shmctl IPC_STAT, matching the creator
 * pid), not taken on the daemon's word; whatever a daemon leaves behind is
 * counted, reported, and then removed by the benchmark so the host is not
 * littered.
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/daemon.h"
#include "bench/report.h"
#include "client/shmbroker.h"

#define N_WANT 10000
#define TARGET_MS 1000.0
#define REAP_TIMEOUT_NS (10ull * 1000000000ull)

typedef struct SysvSet {
        int *ids;
        struct shmb_segment **segs;
        unsigned n;
        pid_t cpid;                     /* the daemon that made them */
        char why[400];                  /* why fewer than N_WANT were made */
} SysvSet;

static int create_sysv(struct shmb_client *c, const char *name, struct shmb_segment **ret, int *ret_id) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_stat st;
        int r;

        o.backend = SHMB_BACKEND_SYSV;
        r = shmb_create(c, name, 4096, &o, ret);
        if (r < 0)
                return r;
        r = shmb_segment_get_stat(*ret, &st);
        if (r < 0 || st.shmid < 0) {
                (void)shmb_segment_release(*ret);
                return r < 0 ? r : -EBADMSG;
        }
        *ret_id = st.shmid;
        return 0;
}

/* 1: the daemon has the backend; 0: it refuses it as unsupported; <0: something else broke. */
static int probe(const BenchDaemon *d, char *why, size_t size) {
        struct shmb_client *c;
        struct shmb_segment *seg;
        int r, id;

        r = shmb_client_new(&c, d->socket);
        if (r < 0) {
                snprintf(why, size, "cannot connect: %s", strerror(-r));
                return r;
        }
        r = create_sysv(c, "probe", &seg, &id);
        if (r == -EOPNOTSUPP) {
                r = 0;
        } else if (r < 0) {
                snprintf(why, size, "System V create failed: %s (%s)", strerror(-r), shmb_client_last_error(c));
        } else {
                (void)shmb_segment_release(seg);
                r = 1;
        }
        shmb_client_free(c);
        return r;
}

static unsigned count_alive(const SysvSet *set) {
        unsigned n = 0;

        for (unsigned i = 0; i < set->n; i++) {
                struct shmid_ds ds;

                if (shmctl(set->ids[i], IPC_STAT, &ds) == 0 && ds.shm_cpid == set->cpid)
                        n++;
        }
        return n;
}

/* Remove what a daemon left behind (only segments its pid created). */
static void remove_leftovers(const SysvSet *set) {
        for (unsigned i = 0; i < set->n; i++) {
                struct shmid_ds ds;

                if (shmctl(set->ids[i], IPC_STAT, &ds) == 0 && ds.shm_cpid == set->cpid)
                        (void)shmctl(set->ids[i], IPC_RMID, NULL);
        }
}

static int fill(struct shmb_client *c, pid_t daemon_pid, SysvSet *set) {
        *set = (SysvSet){ .cpid = daemon_pid };
        set->ids = calloc(N_WANT, sizeof(int));
        set->segs = calloc(N_WANT, sizeof(*set->segs));
        if (!set->ids || !set->segs)
                return -ENOMEM;
        for (unsigned i = 0; i < N_WANT; i++) {
                char name[32];
                int r;

                snprintf(name, sizeof(name), "v%u", i);
                r = create_sysv(c, name, &set->segs[i], &set->ids[i]);
                if (r < 0) {
                        snprintf(set->why, sizeof(set->why), "create #%u failed: %s", i + 1,
                                 shmb_client_last_error(c));
                        break;
                }
                set->n++;
        }
        return set->n > 0 ? 0 : -EIO;
}

static void set_free(SysvSet *set) {
        /* The daemon is gone by now: the releases fail, the handles are freed. */
        for (unsigned i = 0; set->segs && i < set->n; i++)
                (void)shmb_segment_release(set->segs[i]);
        free(set->segs);
        free(set->ids);
        *set = (SysvSet){};
}

/* Time from @t0 until none is left; UINT64_MAX if some are still there after the timeout. */
static uint64_t wait_gone(const SysvSet *set, uint64_t t0, unsigned *ret_left) {
        SysvSet alive = { .ids = malloc(set->n * sizeof(int)), .n = set->n, .cpid = set->cpid };
        uint64_t now;

        if (!alive.ids) {
                *ret_left = count_alive(set);
                return UINT64_MAX;
        }
        memcpy(alive.ids, set->ids, set->n * sizeof(int));
        for (;;) {
                unsigned k = 0;

                /* Keep only the ids still alive, so each poll gets cheaper. */
                for (unsigned i = 0; i < alive.n; i++) {
                        struct shmid_ds ds;

                        if (shmctl(alive.ids[i], IPC_STAT, &ds) == 0 && ds.shm_cpid == alive.cpid)
                                alive.ids[k++] = alive.ids[i];
                }
                alive.n = k;
                now = now_ns();
                if (k == 0 || now - t0 > REAP_TIMEOUT_NS)
                        break;
                usleep(1000);
        }
        free(alive.ids);
        *ret_left = alive.n;
        return alive.n == 0 ? now - t0 : UINT64_MAX;
}

/* One stop run and one kill run; ms[0] stop, ms[1] restart to reaped, ms[2] restart to READY. */
static int run_once(BenchConfig *cfg, double ms[3], unsigned left[2], unsigned *made, char *why, size_t size) {
        struct shmb_client *c = NULL;
        BenchDaemon d = {};
        SysvSet set = {};
        uint64_t t, t0;
        int r;

        for (int mode = 0; mode < 2; mode++) {
                r = bench_daemon_start(&d, cfg);
                if (r >= 0)
                        r = shmb_client_new(&c, d.socket);
                if (r >= 0)
                        r = fill(c, d.pid, &set);
                if (r < 0) {
                        snprintf(why, size, "set-up failed: %s %.300s", strerror(-r), set.why);
                        goto fail;
                }
                *made = set.n;
                if (set.why[0])
                        snprintf(why, size, "%s", set.why);
                if (mode == 0) {
                        r = bench_daemon_stop(&d, &t);
                        if (r != 0) {
                                snprintf(why, size, "the daemon did not exit cleanly on SIGTERM (status %d)", r);
                                r = r < 0 ? r : -EIO;
                                goto fail;
                        }
                        ms[0] = (double)t / 1e6;
                        /* Whatever is left once the daemon has exited stays: count, don't wait. */
                        left[0] = count_alive(&set);
                } else {
                        (void)bench_daemon_kill(&d);
                        t0 = now_ns();
                        r = bench_daemon_restart(&d, cfg);
                        if (r < 0) {
                                snprintf(why, size, "restart after kill -9 failed: %s", strerror(-r));
                                goto fail;
                        }
                        ms[2] = (double)(now_ns() - t0) / 1e6;
                        t = wait_gone(&set, t0, &left[1]);
                        ms[1] = t == UINT64_MAX ? -1 : (double)t / 1e6;
                }
                remove_leftovers(&set);
                set_free(&set);
                c = shmb_client_free(c);
                bench_daemon_cleanup(&d);
                d = (BenchDaemon){};
        }
        return 0;
fail:
        remove_leftovers(&set);
        set_free(&set);
        shmb_client_free(c);
        bench_daemon_cleanup(&d);
        return r < 0 ? r : -EIO;
}

static void report_all(Report *rep, unsigned runs, double ms[][3], unsigned left[][2], unsigned made,
                       const char *why) {
        double col[BENCH_RUNS_MAX];
        char what[48];
        Row *row;

        col[0] = made;
        row = report_runs(rep, BENCH_S_CLEANUP, "System V segments", "segments created", "segments", col, 1);
        report_set_target(row, ">=", N_WANT);
        if (why[0])
                report_note(row, "%s", why);

        snprintf(what, sizeof(what), "stop, %u segments", made);
        for (unsigned k = 0; k < runs; k++)
                col[k] = ms[k][0];
        row = report_runs(rep, BENCH_S_CLEANUP, what, "SIGTERM to exit", "ms", col, runs);
        report_set_target(row, "<", TARGET_MS);
        for (unsigned k = 0; k < runs; k++)
                col[k] = left[k][0];
        row = report_runs(rep, BENCH_S_CLEANUP, what, "left behind after exit", "segments", col, runs);
        report_set_target(row, "<=", 0);

        snprintf(what, sizeof(what), "kill -9, %u segments", made);
        for (unsigned k = 0; k < runs; k++)
                col[k] = ms[k][1] < 0 ? NAN : ms[k][1];
        row = report_runs(rep, BENCH_S_CLEANUP, what, "restart to all reaped", "ms", col, runs);
        report_set_target(row, "<", TARGET_MS);
        for (unsigned k = 0; k < runs; k++)
                col[k] = ms[k][2];
        report_runs(rep, BENCH_S_CLEANUP, what, "restart to READY=1", "ms", col, runs);
        for (unsigned k = 0; k < runs; k++)
                col[k] = left[k][1];
        row = report_runs(rep, BENCH_S_CLEANUP, what, "left behind after 10 s", "segments", col, runs);
        report_set_target(row, "<=", 0);
}

/**
 * scenario_cleanup() - scenario 5, if the daemon has a System V backend
 * @cfg:        settings
 * @rep:        where the rows go
 *
 * Return: 0, or negative errno if the scenario could not run at all.
 */
int scenario_cleanup(BenchConfig *cfg, Report *rep) {
        unsigned runs = cfg->runs < 3 ? cfg->runs : 3, made = 0, left[BENCH_RUNS_MAX][2];
        double ms[BENCH_RUNS_MAX][3];
        char why[400] = "";
        BenchDaemon d = {};
        int r;

        (void)bench_place(cfg, NULL);
        r = bench_daemon_start(&d, cfg);
        if (r < 0) {
                report_fail(rep, BENCH_S_CLEANUP, "System V segments", "cannot start shmbrokerd: %s", strerror(-r));
                bench_daemon_cleanup(&d);
                return r;
        }
        r = probe(&d, why, sizeof(why));
        bench_daemon_cleanup(&d);
        if (r == 0) {
                report_skip(rep, BENCH_S_CLEANUP, "System V segments", "daemon has no sysv backend");
                return 0;
        }
        if (r < 0) {
                report_fail(rep, BENCH_S_CLEANUP, "System V segments", "%s", why);
                return 0;
        }
        for (unsigned k = 0; k < runs; k++) {
                bench_progress("scenario 5: System V cleanup, run %u of %u", k + 1, runs);
                why[0] = 0;
                r = run_once(cfg, ms[k], left[k], &made, why, sizeof(why));
                if (r < 0) {
                        report_fail(rep, BENCH_S_CLEANUP, "System V segments", "%s", why);
                        return 0;
                }
        }
        report_all(rep, runs, ms, left, made, why);
        return 0;
}
