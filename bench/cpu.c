/*
 * CPU placement of the benchmark and of the servers it starts.
 */

#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "bench/bench.h"

static cpu_set_t original_mask;

/**
 * bench_cpu_init() - remember the CPUs we may use and define the placements
 * @cfg:        settings; placements and server_cpu are filled in
 *
 * "same CPU" puts client and server on the first allowed CPU; "cross CPU"
 * puts the server on the second (only with two CPUs or more).
 *
 * Return: 0 or negative errno.
 */
int bench_cpu_init(BenchConfig *cfg) {
        int first = -1, second = -1;

        if (sched_getaffinity(0, sizeof(original_mask), &original_mask) < 0)
                return -errno;
        for (int c = 0; c < CPU_SETSIZE && second < 0; c++) {
                if (!CPU_ISSET(c, &original_mask))
                        continue;
                if (first < 0)
                        first = c;
                else
                        second = c;
        }
        cfg->server_cpu = -1;
        cfg->n_placements = 0;
        cfg->placements[cfg->n_placements++] = (Placement){ "same CPU", first, first };
        if (second >= 0)
                cfg->placements[cfg->n_placements++] = (Placement){ "cross CPU", first, second };
        return 0;
}

/**
 * bench_pin() - run the calling process on one CPU, or anywhere again
 * @cpu:        the CPU, or -1 for every CPU the benchmark started with
 *
 * Children forked afterwards inherit it.
 *
 * Return: 0 or negative errno.
 */
int bench_pin(int cpu) {
        cpu_set_t set;

        if (cpu < 0) {
                set = original_mask;
        } else {
                CPU_ZERO(&set);
                CPU_SET(cpu, &set);
        }
        return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

/**
 * bench_place() - pin this process and choose the CPU of servers started next
 * @cfg:        settings (server_cpu is set)
 * @p:          the placement, or NULL to unpin everything
 *
 * Return: 0 or negative errno.
 */
int bench_place(BenchConfig *cfg, const Placement *p) {
        cfg->server_cpu = p ? p->server_cpu : -1;
        return bench_pin(p ? p->client_cpu : -1);
}
