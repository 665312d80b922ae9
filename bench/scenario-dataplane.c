/*
 * Scenario 6: what the broker buys. 1 GiB moved from a producer process to
 * a consumer process, 64 KiB at a time, through a ring in a segment that
 * the producer created and the consumer opened by name through the broker,
 * against a pipe and a Unix stream socket (default buffer sizes).
 *
 * The work is the same in every method: the producer fills each chunk (a
 * byte pattern plus a sequence number), the consumer reads all of it (a
 * checksum that must match). With the ring the chunk is filled and summed
 * in place ("in place", the point of sharing memory), or filled in a
 * private buffer, copied in, copied out and summed ("copy", the same
 * copies a pipe makes). The methods alternate within each run. Producer
 * and consumer are pinned, to one CPU and then to two: left to the
 * scheduler they share a CPU in some runs and not in others, which changes
 * every method by a different amount.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/daemon.h"
#include "bench/report.h"
#include "bench/ring.h"
#include "client/shmbroker.h"

#define CHUNK 65536
#define RING_CAPACITY (16 * CHUNK)

enum { M_SHM, M_SHM_COPY, M_PIPE, M_UNIX, _M_MAX };

static const char *const method_names[_M_MAX] = { "shm ring in place", "shm ring copy", "pipe", "unix socket" };

static bool is_ring(int method) {
        return method == M_SHM || method == M_SHM_COPY;
}

static void fill(uint8_t *chunk, uint64_t seq) {
        memset(chunk, (int)(seq & 0xff), CHUNK);
        memcpy(chunk, &seq, sizeof(seq));
}

/* Whether the chunk holds what fill(@seq) wrote: reads every word. */
static bool check(const uint8_t *chunk, uint64_t seq) {
        uint64_t sum = 0, w, rep = (seq & 0xff) * 0x0101010101010101ull;

        for (size_t off = 0; off < CHUNK; off += sizeof(w)) {
                memcpy(&w, chunk + off, sizeof(w));
                sum += w;
        }
        return sum == seq + rep * (CHUNK / sizeof(w) - 1);
}

/* What the consumer reports back: when it finished and how many chunks were wrong. */
typedef struct Outcome {
        uint64_t end_ns;
        uint64_t bad_chunks;
} Outcome;

static int read_full(int fd, void *buf, size_t len) {
        for (size_t done = 0; done < len;) {
                ssize_t n = read(fd, (uint8_t *)buf + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EPIPE;
                done += (size_t)n;
        }
        return 0;
}

static int write_full(int fd, const void *buf, size_t len) {
        for (size_t done = 0; done < len;) {
                ssize_t n = write(fd, (const uint8_t *)buf + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EPIPE;
                done += (size_t)n;
        }
        return 0;
}

/* Consumer side, in the child: get @chunks chunks by @method, check them, report on @ctl. */
static _Noreturn void consume(int method, int rfd, const char *socket_path, uint64_t chunks, int ctl) {
        static uint8_t dst[CHUNK];
        struct shmb_client *c = NULL;
        struct shmb_segment *seg = NULL;
        Outcome o = {};
        void *ring = NULL;
        char ready = 1;

        if (is_ring(method) && (shmb_client_new(&c, socket_path) < 0 || shmb_open(c, "dp", 0, &seg) < 0 ||
                                shmb_segment_map(seg, &ring) < 0))
                _exit(2);
        if (write_full(ctl, &ready, 1) < 0)
                _exit(3);
        for (uint64_t i = 0; i < chunks; i++) {
                if (method == M_SHM) {
                        if (!check(ring_pop_begin(ring), i))
                                o.bad_chunks++;
                        ring_pop_commit(ring);
                        continue;
                }
                if (method == M_SHM_COPY)
                        ring_pop(ring, dst);
                else if (read_full(rfd, dst, CHUNK) < 0)
                        _exit(4);
                if (!check(dst, i))
                        o.bad_chunks++;
        }
        o.end_ns = now_ns();
        (void)write_full(ctl, &o, sizeof(o));
        _exit(0);
}

/* One transfer of @chunks chunks; returns its duration in ns, or negative errno. */
static int64_t transfer(int method, struct shmb_client *c, const char *socket_path, uint64_t chunks,
                        int consumer_cpu, uint64_t *bad) {
        static uint8_t src[CHUNK];
        struct shmb_segment *seg = NULL;
        int data[2] = { -1, -1 }, ctl[2], status;
        void *ring = NULL;
        uint64_t t0;
        Outcome o;
        pid_t pid;
        char ready;
        int r = 0;

        if (is_ring(method)) {
                r = shmb_create(c, "dp", ring_segment_size(RING_CAPACITY), NULL, &seg);
                if (r >= 0)
                        r = shmb_segment_map(seg, &ring);
                if (r < 0)
                        return r;
                ring_init(ring, RING_CAPACITY, CHUNK);
        } else if (method == M_PIPE ? pipe2(data, O_CLOEXEC) : socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, data)) {
                return -errno;
        }
        if (pipe2(ctl, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (consumer_cpu >= 0)
                        (void)bench_pin(consumer_cpu);
                close(ctl[0]);
                if (data[1] >= 0)
                        close(data[1]);
                consume(method, data[0], socket_path, chunks, ctl[1]);
        }
        close(ctl[1]);
        if (data[0] >= 0)
                close(data[0]);
        if (read_full(ctl[0], &ready, 1) < 0) {
                r = -EIO;
                goto finish;
        }
        t0 = now_ns();
        for (uint64_t i = 0; i < chunks && r >= 0; i++) {
                if (method == M_SHM) {
                        fill(ring_push_begin(ring), i);
                        ring_push_commit(ring);
                        continue;
                }
                fill(src, i);
                if (method == M_SHM_COPY)
                        ring_push(ring, src);
                else
                        r = write_full(data[1], src, CHUNK);
        }
        if (r >= 0)
                r = read_full(ctl[0], &o, sizeof(o));
finish:
        if (data[1] >= 0)
                close(data[1]);
        close(ctl[0]);
        (void)waitpid(pid, &status, 0);
        if (seg)
                (void)shmb_segment_release(seg);
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -ECHILD;
        *bad += o.bad_chunks;
        return (int64_t)(o.end_ns - t0);
}

static void run_placement(BenchConfig *cfg, Report *rep, const Placement *pl) {
        uint64_t mib = bench_iters(cfg, 1024, 64), chunks = mib * 1024 * 1024 / CHUNK;
        double gib = (double)mib / 1024.0, rate[_M_MAX][BENCH_RUNS_MAX], ratio[3][BENCH_RUNS_MAX];
        uint64_t bad[_M_MAX] = {};
        struct shmb_client *c = NULL;
        BenchDaemon d = {};
        char what[48], metric[48];
        Row *row;
        int r;

        snprintf(what, sizeof(what), "%llu MiB, %s", (unsigned long long)mib, pl->name);
        r = bench_place(cfg, pl);
        if (r >= 0)
                r = bench_daemon_start(&d, cfg);
        if (r >= 0)
                r = shmb_client_new(&c, d.socket);
        if (r < 0) {
                report_fail(rep, BENCH_S_DATAPLANE, what, "cannot start or connect: %s", strerror(-r));
                bench_daemon_cleanup(&d);
                return;
        }
        bench_progress("scenario 6: %s, %u runs x 4 methods", what, cfg->runs);
        for (unsigned k = 0; k < cfg->runs; k++) {
                for (int j = 0; j < _M_MAX; j++) {
                        int m = (int)((k + (unsigned)j) % _M_MAX);
                        int64_t ns = transfer(m, c, d.socket, chunks, pl->server_cpu, &bad[m]);

                        if (ns < 0) {
                                report_fail(rep, BENCH_S_DATAPLANE, what, "%s transfer failed: %s", method_names[m],
                                            strerror((int)-ns));
                                goto finish;
                        }
                        rate[m][k] = gib / ((double)ns / 1e9);
                }
                ratio[0][k] = rate[M_SHM][k] / rate[M_PIPE][k];
                ratio[1][k] = rate[M_SHM][k] / rate[M_UNIX][k];
                ratio[2][k] = rate[M_SHM_COPY][k] / rate[M_PIPE][k];
        }
        for (int m = 0; m < _M_MAX; m++) {
                snprintf(metric, sizeof(metric), "%s", method_names[m]);
                row = report_runs(rep, BENCH_S_DATAPLANE, what, metric, "GiB/s", rate[m], cfg->runs);
                if (bad[m])
                        report_note(row, "%llu chunks arrived out of order or corrupted", (unsigned long long)bad[m]);
        }
        report_runs(rep, BENCH_S_DATAPLANE, what, "in place / pipe", "x", ratio[0], cfg->runs);
        report_runs(rep, BENCH_S_DATAPLANE, what, "in place / unix socket", "x", ratio[1], cfg->runs);
        report_runs(rep, BENCH_S_DATAPLANE, what, "ring copy / pipe", "x", ratio[2], cfg->runs);
finish:
        shmb_client_free(c);
        bench_daemon_cleanup(&d);
}

/**
 * scenario_dataplane() - scenario 6, producer and consumer on one CPU and on two
 * @cfg:        settings
 * @rep:        where the rows go
 *
 * Return: 0.
 */
int scenario_dataplane(BenchConfig *cfg, Report *rep) {
        for (unsigned i = 0; i < cfg->n_placements; i++)
                run_placement(cfg, rep, &cfg->placements[i]);
        return 0;
}
