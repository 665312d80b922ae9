/*
 * shmbroker-bench: the broker's cost against the kernel floor and against
 * what users would use instead. See BENCHMARKS.md; run through "make bench".
 */

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <gnu/libc-version.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/daemon.h"
#include "bench/report.h"
#include "client/shmbroker.h"

#ifndef BENCH_BUILD_CFLAGS
#define BENCH_BUILD_CFLAGS "unknown"
#endif

static const char *arg_json = "bench-results.json";
static const char *arg_chart = NULL;
static uint64_t start_ns;

static int (*const scenarios[_BENCH_S_MAX])(BenchConfig *cfg, Report *rep) = {
        [BENCH_S_CREATE] = scenario_create,       [BENCH_S_OPEN] = scenario_open,
        [BENCH_S_THROUGHPUT] = scenario_throughput, [BENCH_S_SCALE] = scenario_scale,
        [BENCH_S_CLEANUP] = scenario_cleanup,     [BENCH_S_DATAPLANE] = scenario_dataplane,
        [BENCH_S_PYTHON] = scenario_python,
};

/**
 * bench_iters() - an iteration count after SHMB_BENCH_QUICK / SHMB_BENCH_SCALE
 * @cfg:        settings
 * @base:       the count of a full run
 * @min:        never fewer than this
 *
 * Return: the count.
 */
unsigned bench_iters(const BenchConfig *cfg, unsigned base, unsigned min) {
        double n = (double)base * cfg->scale;

        return n < (double)min ? min : (unsigned)n;
}

/**
 * bench_seconds() - a duration after SHMB_BENCH_QUICK / SHMB_BENCH_SCALE
 * @cfg:        settings
 * @base:       seconds in a full run
 * @min:        never shorter than this
 *
 * Return: seconds.
 */
double bench_seconds(const BenchConfig *cfg, double base, double min) {
        double s = base * cfg->scale;

        return s < min ? min : s;
}

/**
 * bench_progress() - one line on stderr about what runs now
 * @fmt:        text
 */
void bench_progress(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "[%6.1fs] ", (double)(now_ns() - start_ns) / 1e9);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/**
 * bench_touch_pages() - write one byte in every page: the first touch
 * @addr:       mapping
 * @size:       its size
 */
void bench_touch_pages(void *addr, uint64_t size) {
        volatile uint8_t *p = addr;

        for (uint64_t off = 0; off < size; off += 4096)
                p[off] = 1;
}

static int parse_scenarios(const char *s, unsigned *ret) {
        unsigned mask = 0;
        char *end;

        while (*s) {
                unsigned long n = strtoul(s, &end, 10);

                if (end == s || n == 0 || n >= _BENCH_S_MAX)
                        return -EINVAL;
                mask |= 1u << n;
                s = *end == ',' ? end + 1 : end;
                if (*end && *end != ',')
                        return -EINVAL;
        }
        *ret = mask;
        return mask ? 0 : -EINVAL;
}

static const char *find_in_path(const char *name) {
        static char buf[4096];
        const char *path = getenv("PATH");

        while (path && *path) {
                size_t len = strcspn(path, ":");

                snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, name);
                if (len > 0 && access(buf, X_OK) == 0)
                        return buf;
                path += len + (path[len] == ':');
        }
        return NULL;
}

static void help(void) {
        printf("Usage: shmbroker-bench --daemon PATH [OPTIONS]\n"
               "\n"
               "Measure shmbrokerd against the kernel floor and the usual alternatives.\n"
               "Starts its own daemons (default settings, private sockets).\n"
               "\n"
               "  --daemon PATH        shmbrokerd to run (default $SHMBROKERD)\n"
               "  --runtime-dir DIR    where sockets and logs go (default: a new /tmp directory)\n"
               "  --json PATH          results file (default bench-results.json)\n"
               "  --chart-data PATH    gnuplot data for the chart\n"
               "  --python PATH        python3 for scenario 7 ('none' to skip; default: from $PATH)\n"
               "  --py-script PATH     bench/py-bench.py\n"
               "  --scenarios LIST     e.g. 1,2,4 (default: all; or $SHMB_BENCH_SCENARIOS)\n"
               "  --runs N             repetitions of each measurement (default 5; $SHMB_BENCH_RUNS)\n"
               "  --quick              short run (3 runs, 1/10 of the iterations; $SHMB_BENCH_QUICK=1)\n"
               "\n"
               "Environment: SHMB_BENCH_SCALE=F multiplies iteration counts and durations;\n"
               "SHMB_BENCH_DAEMON_WRAPPER='valgrind --tool=callgrind ...' runs each daemon under a tool.\n");
}

static int parse_argv(int argc, char **argv, BenchConfig *cfg) {
        enum { A_DAEMON = 0x100, A_RUNTIME, A_JSON, A_CHART, A_PYTHON, A_PYSCRIPT, A_SCEN, A_RUNS, A_QUICK };
        static const struct option options[] = {
                { "daemon", required_argument, NULL, A_DAEMON },
                { "runtime-dir", required_argument, NULL, A_RUNTIME },
                { "json", required_argument, NULL, A_JSON },
                { "chart-data", required_argument, NULL, A_CHART },
                { "python", required_argument, NULL, A_PYTHON },
                { "py-script", required_argument, NULL, A_PYSCRIPT },
                { "scenarios", required_argument, NULL, A_SCEN },
                { "runs", required_argument, NULL, A_RUNS },
                { "quick", no_argument, NULL, A_QUICK },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *e;
        int c;

        cfg->daemon_path = getenv("SHMBROKERD");
        cfg->daemon_wrapper = getenv("SHMB_BENCH_DAEMON_WRAPPER");
        cfg->python = find_in_path("python3");
        cfg->runs = 5;
        cfg->scale = 1.0;
        cfg->scenarios = ((1u << _BENCH_S_MAX) - 1) & ~1u;
        e = getenv("SHMB_BENCH_QUICK");
        cfg->quick = e && *e && strcmp(e, "0") != 0;
        if ((e = getenv("SHMB_BENCH_SCENARIOS")) && *e && parse_scenarios(e, &cfg->scenarios) < 0) {
                fprintf(stderr, "shmbroker-bench: bad SHMB_BENCH_SCENARIOS '%s'\n", e);
                return -EINVAL;
        }
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case A_DAEMON:
                        cfg->daemon_path = optarg;
                        break;
                case A_RUNTIME:
                        cfg->runtime_dir = optarg;
                        break;
                case A_JSON:
                        arg_json = optarg;
                        break;
                case A_CHART:
                        arg_chart = optarg;
                        break;
                case A_PYTHON:
                        cfg->python = strcmp(optarg, "none") == 0 ? NULL : optarg;
                        break;
                case A_PYSCRIPT:
                        cfg->py_script = optarg;
                        break;
                case A_QUICK:
                        cfg->quick = true;
                        break;
                case A_SCEN:
                        if (parse_scenarios(optarg, &cfg->scenarios) < 0) {
                                fprintf(stderr, "shmbroker-bench: bad --scenarios '%s'\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case A_RUNS:
                        setenv("SHMB_BENCH_RUNS", optarg, 1);
                        break;
                case 'h':
                        help();
                        return 0;
                default:
                        return -EINVAL;
                }
        }
        if (cfg->quick) {
                cfg->runs = 3;
                cfg->scale = 0.1;
        }
        if ((e = getenv("SHMB_BENCH_RUNS")) && *e)
                cfg->runs = (unsigned)strtoul(e, NULL, 10);
        if ((e = getenv("SHMB_BENCH_SCALE")) && *e)
                cfg->scale = strtod(e, NULL);
        if (cfg->runs < 1 || cfg->runs > BENCH_RUNS_MAX || !(cfg->scale > 0)) {
                fprintf(stderr, "shmbroker-bench: runs must be 1-%d and the scale positive\n", BENCH_RUNS_MAX);
                return -EINVAL;
        }
        if (!cfg->daemon_path) {
                fprintf(stderr, "shmbroker-bench: --daemon PATH (or $SHMBROKERD) is required\n");
                return -EINVAL;
        }
        return 1;
}

static void machine_info(Report *rep, const BenchConfig *cfg) {
        char line[512], model[160] = "unknown", date[64], cmd[600];
        struct rlimit rl = {};
        struct utsname u;
        time_t t = time(NULL);
        FILE *f;

        if ((f = fopen("/proc/cpuinfo", "re"))) {
                while (fgets(line, sizeof(line), f))
                        if (sscanf(line, "model name : %159[^\n]", model) == 1)
                                break;
                fclose(f);
        }
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        (void)uname(&u);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
        report_info(rep, "date", "%s", date);
        report_info(rep, "cpus", "%ld online", sysconf(_SC_NPROCESSORS_ONLN));
        report_info(rep, "cpu", "%s", model);
        report_info(rep, "kernel", "%s %s %s", u.sysname, u.release, u.machine);
        report_info(rep, "memory", "%ld MiB", sysconf(_SC_PHYS_PAGES) / 1024 * (sysconf(_SC_PAGESIZE) / 1024));
        report_info(rep, "glibc", "%s", gnu_get_libc_version());
        snprintf(cmd, sizeof(cmd), "'%s' --version 2>/dev/null", cfg->daemon_path);
        if ((f = popen(cmd, "re"))) {
                if (fgets(line, sizeof(line), f))
                        report_info(rep, "daemon", "%.*s, default settings (only private --socket and --state-dir)", (int)strcspn(line, "\n"),
                                    line);
                pclose(f);
        }
        report_info(rep, "build CFLAGS", "%s", BENCH_BUILD_CFLAGS);
        report_info(rep, "RLIMIT_NOFILE", "%llu soft / %llu hard (bench and daemons)", (unsigned long long)rl.rlim_cur,
                    (unsigned long long)rl.rlim_max);
        if ((f = fopen("/proc/sys/kernel/shmmni", "re"))) {
                if (fgets(line, sizeof(line), f))
                        report_info(rep, "kernel.shmmni", "%.*s", (int)strcspn(line, "\n"), line);
                fclose(f);
        }
        report_info(rep, "settings", "runs=%u scale=%g%s%s", cfg->runs, cfg->scale, cfg->quick ? " (quick)" : "",
                    cfg->daemon_wrapper ? " (daemon under a wrapper: not a benchmark run)" : "");
}

typedef struct Load {
        double loadavg;
        uint64_t busy_ticks;            /* all CPUs, from /proc/stat, steal excluded */
        uint64_t steal_ticks;           /* taken by the hypervisor for others */
        uint64_t total_ticks;
} Load;

static void load_read(Load *l) {
        unsigned long long v[10] = {};
        FILE *f;

        *l = (Load){};
        if ((f = fopen("/proc/loadavg", "re"))) {
                if (fscanf(f, "%lf", &l->loadavg) != 1)
                        l->loadavg = -1;
                fclose(f);
        }
        if ((f = fopen("/proc/stat", "re"))) {
                if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                           &v[6], &v[7]) == 8) {
                        l->busy_ticks = v[0] + v[1] + v[2] + v[5] + v[6];
                        l->steal_ticks = v[7];
                        l->total_ticks = l->busy_ticks + v[3] + v[4] + v[7];
                }
                fclose(f);
        }
}

/*
 * How busy the machine was with work other than ours: CPU time of all
 * processes minus that of the benchmark and everything it started (all
 * reaped by now). Other work on the machine makes every figure noisier.
 */
static void report_load(Report *rep, const Load *a, const Load *b) {
        long hz = sysconf(_SC_CLK_TCK);
        struct rusage self = {}, children = {};
        double ours, busy, total, steal, ticks = (double)(hz > 0 ? hz : 100);

        (void)getrusage(RUSAGE_SELF, &self);
        (void)getrusage(RUSAGE_CHILDREN, &children);
        ours = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + children.ru_utime.tv_sec +
                        children.ru_stime.tv_sec) +
               (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + children.ru_utime.tv_usec +
                        children.ru_stime.tv_usec) / 1e6;
        busy = (double)(b->busy_ticks - a->busy_ticks) / ticks;
        steal = (double)(b->steal_ticks - a->steal_ticks) / ticks;
        total = (double)(b->total_ticks - a->total_ticks) / ticks;
        report_info(rep, "other load", "%.0f CPU-s used by other processes during the run (%.0f%% of all CPUs), "
                    "%.0f CPU-s stolen by the hypervisor; load average %.2f at start, %.2f at end",
                    busy > ours ? busy - ours : 0, total > 0 && busy > ours ? 100.0 * (busy - ours) / total : 0,
                    steal, a->loadavg, b->loadavg);
}

/* Soft RLIMIT_NOFILE up to the hard limit: 10,000 idle connections need the fds. */
static void raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
}

int main(int argc, char **argv) {
        char tmpdir[] = "/tmp/shmbroker-bench.XXXXXX";
        BenchConfig cfg = {};
        Report rep = REPORT_NULL;
        Load load0, load1;
        Dl_info dl;
        int r, failed = 0;

        start_ns = now_ns();
        r = parse_argv(argc, argv, &cfg);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        (void)signal(SIGPIPE, SIG_IGN);
        raise_nofile();
        if (cfg.runtime_dir && mkdir(cfg.runtime_dir, 0700) < 0 && errno != EEXIST) {
                fprintf(stderr, "shmbroker-bench: cannot create %s: %m\n", cfg.runtime_dir);
                return EXIT_FAILURE;
        }
        if (!cfg.runtime_dir) {
                if (!mkdtemp(tmpdir)) {
                        perror("mkdtemp");
                        return EXIT_FAILURE;
                }
                cfg.runtime_dir = tmpdir;
        }
        if (dladdr((void *)shmb_client_new, &dl) && dl.dli_fname)
                cfg.lib_path = dl.dli_fname;
        r = bench_cpu_init(&cfg);
        if (r < 0) {
                fprintf(stderr, "shmbroker-bench: cannot read the CPU affinity: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        machine_info(&rep, &cfg);
        load_read(&load0);

        for (int s = 1; s < _BENCH_S_MAX; s++) {
                if (!(cfg.scenarios & (1u << s)))
                        continue;
                r = scenarios[s](&cfg, &rep);
                (void)bench_place(&cfg, NULL);
                if (r < 0) {
                        fprintf(stderr, "shmbroker-bench: scenario %d did not run: %s\n", s, strerror(-r));
                        failed++;
                }
        }
        load_read(&load1);
        report_info(&rep, "duration", "%.0f s", (double)(now_ns() - start_ns) / 1e9);
        report_load(&rep, &load0, &load1);
        report_print(&rep, stdout);
        fflush(stdout);
        for (size_t i = 0; i < rep.n_rows; i++)
                if (rep.rows[i].verdict == VERDICT_FAILED)
                        failed++;
        r = report_write_json(&rep, arg_json);
        if (r < 0)
                fprintf(stderr, "shmbroker-bench: cannot write %s: %s\n", arg_json, strerror(-r));
        if (arg_chart && report_write_chart_data(&rep, arg_chart) < 0)
                fprintf(stderr, "shmbroker-bench: cannot write %s\n", arg_chart);
        report_free(&rep);
        if (failed)
                fprintf(stderr, "shmbroker-bench: %d measurement(s) failed; see the table and the daemons' logs in %s\n",
                        failed, cfg.runtime_dir);
        else if (cfg.runtime_dir == tmpdir)
                (void)bench_remove_tree(tmpdir);
        return failed || r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
