/*
 * Scenario 2: open an existing segment + map + unmap + release.
 *
 * The floor is what the operation cannot avoid: one SOCK_SEQPACKET round
 * trip that carries an fd (to a trivial echo peer in a child process, which
 * answers with a reply of the daemon's size) plus the mmap and munmap. A
 * second floor adds the second round trip that the protocol spends on
 * RELEASE, to show how much is protocol and how much is daemon. All three
 * are interleaved in one loop, the order rotating every iteration.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/daemon.h"
#include "bench/echo-peer.h"
#include "bench/report.h"
#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"

#define SEG_NAME "s2"
#define SEG_SIZE 65536
#define TARGET_P50 1.15
#define TARGET_P99 2.0

enum { V_BROKER, V_FLOOR, V_FLOOR2, _V_MAX };

static const char *const variant_names[_V_MAX] = { "broker", "floor", "floor+RTT" };

typedef struct Ctx {
        struct shmb_client *client;
        EchoPeer peer;
        uint8_t open_req[512];
        size_t open_len;
        uint8_t release_req[64];
        size_t release_len;
} Ctx;

static int op_broker(Ctx *x) {
        struct shmb_segment *seg;
        void *p;
        int r;

        r = shmb_open(x->client, SEG_NAME, 0, &seg);
        if (r < 0)
                return r;
        r = shmb_segment_map(seg, &p);
        if (r < 0) {
                (void)shmb_segment_release(seg);
                return r;
        }
        return shmb_segment_release(seg);
}

static int op_floor(Ctx *x, bool second_rtt) {
        uint8_t buf[1024];
        ssize_t n;
        void *p;
        int fd, r = 0;

        if (send(x->peer.fd, x->open_req, x->open_len, MSG_NOSIGNAL) < 0)
                return -errno;
        n = bench_recv_fd(x->peer.fd, buf, sizeof(buf), 0, &fd);
        if (n <= 0 || fd < 0)
                return n < 0 ? (int)n : -EBADMSG;
        p = mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
                r = -errno;
        else
                (void)munmap(p, SEG_SIZE);
        close(fd);
        if (r < 0 || !second_rtt)
                return r;
        if (send(x->peer.fd, x->release_req, x->release_len, MSG_NOSIGNAL) < 0)
                return -errno;
        n = bench_recv_fd(x->peer.fd, buf, sizeof(buf), 0, NULL);
        return n > 0 ? 0 : -EBADMSG;
}

static int run_op(Ctx *x, int v) {
        switch (v) {
        case V_BROKER:
                return op_broker(x);
        case V_FLOOR:
                return op_floor(x, false);
        default:
                return op_floor(x, true);
        }
}

static int setup(const BenchConfig *cfg, Ctx *x, BenchDaemon *d, struct shmb_client **holder, struct shmb_segment **seg) {
        ProtoBuf b;
        int r;

        r = shmb_client_new(holder, d->socket);
        if (r >= 0)
                r = shmb_create(*holder, SEG_NAME, SEG_SIZE, NULL, seg);
        if (r >= 0)
                r = shmb_client_new(&x->client, d->socket);
        if (r < 0)
                return r;
        /* The requests the library sends, byte for byte in size. */
        proto_buf_init(&b, x->open_req, sizeof(x->open_req));
        r = proto_encode_open(&b, 1, SEG_NAME, 0);
        if (r < 0)
                return r;
        x->open_len = (size_t)r;
        proto_buf_init(&b, x->release_req, sizeof(x->release_req));
        r = proto_encode_release(&b, 2, 1);
        if (r < 0)
                return r;
        x->release_len = (size_t)r;
        return echo_peer_spawn(&x->peer, SEG_NAME, SEG_SIZE, cfg->server_cpu);
}

static void report_all(Report *rep, const char *what, unsigned runs, double p50[][_V_MAX], double p99[][_V_MAX],
                       unsigned iters) {
        double col[BENCH_RUNS_MAX];
        char metric[48];
        Row *row;

        for (int v = 0; v < _V_MAX; v++) {
                for (unsigned k = 0; k < runs; k++)
                        col[k] = p50[k][v];
                snprintf(metric, sizeof(metric), "%s p50", variant_names[v]);
                row = report_runs(rep, BENCH_S_OPEN, what, metric, "us", col, runs);
                if (v == V_BROKER)
                        report_note(row, "%u iterations per run", iters);
                for (unsigned k = 0; k < runs; k++)
                        col[k] = p99[k][v];
                snprintf(metric, sizeof(metric), "%s p99", variant_names[v]);
                report_runs(rep, BENCH_S_OPEN, what, metric, "us", col, runs);
        }
        for (int v = V_FLOOR; v < _V_MAX; v++) {
                for (int pct = 0; pct < 2; pct++) {
                        for (unsigned k = 0; k < runs; k++)
                                col[k] = pct ? p99[k][V_BROKER] / p99[k][v] : p50[k][V_BROKER] / p50[k][v];
                        snprintf(metric, sizeof(metric), "broker/%s %s", variant_names[v], pct ? "p99" : "p50");
                        row = report_runs(rep, BENCH_S_OPEN, what, metric, "x", col, runs);
                        if (v == V_FLOOR)
                                report_set_target(row, "<=", pct ? TARGET_P99 : TARGET_P50);
                }
        }
}

static int run_placement(BenchConfig *cfg, Report *rep, const Placement *pl, Samples *s) {
        double p50[BENCH_RUNS_MAX][_V_MAX], p99[BENCH_RUNS_MAX][_V_MAX];
        unsigned iters = bench_iters(cfg, 5000, 100), warmup = iters / 10 + 1;
        struct shmb_client *holder = NULL;
        struct shmb_segment *seg = NULL;
        Ctx x = { .peer = { .fd = -1 } };
        BenchDaemon d = {};
        char what[48];
        int r;

        snprintf(what, sizeof(what), "64 KiB, %s", pl->name);
        r = bench_place(cfg, pl);
        if (r >= 0)
                r = bench_daemon_start(&d, cfg);
        if (r < 0) {
                report_fail(rep, BENCH_S_OPEN, what, "cannot start shmbrokerd: %s", strerror(-r));
                bench_daemon_cleanup(&d);
                return r;
        }
        r = setup(cfg, &x, &d, &holder, &seg);
        if (r < 0) {
                report_fail(rep, BENCH_S_OPEN, what, "setup: %s", strerror(-r));
                goto finish;
        }
        bench_progress("scenario 2: open %s, %u runs x %u iterations x 3 variants", what, cfg->runs, iters);
        for (unsigned k = 0; k < cfg->runs && r >= 0; k++) {
                for (int v = 0; v < _V_MAX; v++) {
                        samples_clear(&s[v]);
                        (void)samples_reserve(&s[v], iters);
                }
                for (unsigned i = 0; i < warmup + iters && r >= 0; i++) {
                        for (int j = 0; j < _V_MAX && r >= 0; j++) {
                                int v = (int)((i + (unsigned)j) % _V_MAX);
                                uint64_t t0 = now_ns();

                                r = run_op(&x, v);
                                if (i >= warmup)
                                        samples_add(&s[v], now_ns() - t0);
                        }
                }
                for (int v = 0; v < _V_MAX; v++) {
                        p50[k][v] = samples_percentile(&s[v], 0.5) / 1e3;
                        p99[k][v] = samples_percentile(&s[v], 0.99) / 1e3;
                }
        }
        if (r < 0) {
                char why[700];

                report_fail(rep, BENCH_S_OPEN, what, "an operation failed: %s (%s; %s)", strerror(-r),
                            x.client ? shmb_client_last_error(x.client) : "", bench_daemon_status(&d, why, sizeof(why)));
        } else {
                report_all(rep, what, cfg->runs, p50, p99, iters);
        }
finish:
        echo_peer_stop(&x.peer);
        if (seg)
                (void)shmb_segment_release(seg);
        shmb_client_free(holder);
        shmb_client_free(x.client);
        bench_daemon_cleanup(&d);
        return 0;
}

/**
 * scenario_open() - scenario 2, client and servers on the same CPU and on
 * different CPUs
 * @cfg:        settings
 * @rep:        where the rows go
 *
 * Return: 0, or negative errno if the scenario could not run at all.
 */
int scenario_open(BenchConfig *cfg, Report *rep) {
        Samples s[_V_MAX] = { SAMPLES_NULL, SAMPLES_NULL, SAMPLES_NULL };
        int r = 0;

        for (unsigned i = 0; i < cfg->n_placements && r >= 0; i++)
                r = run_placement(cfg, rep, &cfg->placements[i], s);
        for (int v = 0; v < _V_MAX; v++)
                samples_deinit(&s[v]);
        return r;
}
