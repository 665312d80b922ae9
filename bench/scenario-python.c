/*
 * Scenario 7: what users pick instead. Runs bench/py-bench.py with the
 * python3 found on $PATH (skipped without one) against a fresh daemon; the
 * script compares the broker (libshmbroker through ctypes) with Python's
 * multiprocessing.shared_memory and SharedMemoryManager in one interleaved
 * loop and prints ROW lines, which become rows here. Client, Python's
 * helper processes and the daemon share one CPU (placement "same CPU").
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"
#include "bench/daemon.h"
#include "bench/report.h"

static void exec_python(const BenchConfig *cfg, const char *socket, int out) {
        char iters[32], runs[32];

        snprintf(iters, sizeof(iters), "%u", bench_iters(cfg, 400, 20));
        snprintf(runs, sizeof(runs), "%u", cfg->runs);
        if (dup2(out, STDOUT_FILENO) < 0)
                _exit(126);
        execl(cfg->python, cfg->python, cfg->py_script, "--lib", cfg->lib_path, "--socket", socket, "--iters", iters,
              "--runs", runs, (char *)NULL);
        _exit(127);
}

/* "ROW\tcase\tmetric\tunit\tmedian\tmin\tmax\truns" */
static int parse_row(Report *rep, char *line) {
        char *f[8], *save = NULL;
        Spread s;
        Row *row;
        int n = 0;

        for (char *t = strtok_r(line, "\t\n", &save); t && n < 8; t = strtok_r(NULL, "\t\n", &save))
                f[n++] = t;
        if (n != 8)
                return -EBADMSG;
        s = (Spread){ strtod(f[4], NULL), strtod(f[5], NULL), strtod(f[6], NULL), strtoul(f[7], NULL, 10) };
        row = report_add(rep, BENCH_S_PYTHON, f[1], f[2], f[3], &s);
        return row ? 0 : -ENOMEM;
}

/**
 * scenario_python() - scenario 7
 * @cfg:        settings
 * @rep:        where the rows go
 *
 * Return: 0, or negative errno if the scenario could not run at all.
 */
int scenario_python(BenchConfig *cfg, Report *rep) {
        static const char what[] = "Python standard library";
        char line[1024], error[512] = "", version[128] = "";
        BenchDaemon d = {};
        unsigned rows = 0;
        int p[2], status, r;
        pid_t pid;
        FILE *f;

        if (!cfg->python) {
                report_skip(rep, BENCH_S_PYTHON, what, "python3 not found");
                return 0;
        }
        if (!cfg->py_script || access(cfg->py_script, R_OK) < 0) {
                report_skip(rep, BENCH_S_PYTHON, what, "bench/py-bench.py not given (--py-script)");
                return 0;
        }
        if (!cfg->lib_path) {
                report_skip(rep, BENCH_S_PYTHON, what, "cannot tell where libshmbroker.so is loaded from");
                return 0;
        }

        r = bench_place(cfg, &cfg->placements[0]);
        if (r >= 0)
                r = bench_daemon_start(&d, cfg);
        if (r < 0) {
                report_fail(rep, BENCH_S_PYTHON, what, "cannot start shmbrokerd: %s", strerror(-r));
                bench_daemon_cleanup(&d);
                return r;
        }
        bench_progress("scenario 7: %s %s, %u runs", cfg->python, cfg->py_script, cfg->runs);
        if (pipe2(p, O_CLOEXEC) < 0) {
                r = -errno;
                bench_daemon_cleanup(&d);
                return r;
        }
        pid = fork();
        if (pid == 0)
                exec_python(cfg, d.socket, p[1]);
        close(p[1]);
        f = fdopen(p[0], "re");
        while (f && fgets(line, sizeof(line), f)) {
                if (strncmp(line, "ROW\t", 4) == 0 && parse_row(rep, line) == 0)
                        rows++;
                else if (strncmp(line, "INFO\tpython\t", 12) == 0)
                        snprintf(version, sizeof(version), "%.*s", (int)strcspn(line + 12, "\n"), line + 12);
                else if (strncmp(line, "ERROR\t", 6) == 0)
                        snprintf(error, sizeof(error), "%.*s", (int)strcspn(line + 6, "\n"), line + 6);
        }
        if (f)
                fclose(f);
        else
                close(p[0]);
        (void)waitpid(pid, &status, 0);
        if (error[0] || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                report_fail(rep, BENCH_S_PYTHON, what, "py-bench.py failed (status 0x%x): %s", status,
                            error[0] ? error : "see its output above");
        else if (version[0])
                report_info(rep, "python", "%s (%s)", version, cfg->python);
        bench_daemon_cleanup(&d);
        return rows > 0 ? 0 : -EIO;
}
