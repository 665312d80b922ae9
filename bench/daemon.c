/*
 * Starting, stopping and inspecting shmbrokerd for the benchmark.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/daemon.h"
#include "util/cleanup.h"

#define WRAPPER_ARGS_MAX 16

static int notify_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        (void)unlink(path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        memcpy(sa.sun_path, path, strlen(path));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        return fd;
}

/*
 * argv: the wrapper's words (split at spaces), the daemon, --socket PATH and
 * --state-dir DIR, both private to this instance (the default state
 * directory is shared and locked). Nothing else: default settings. On the
 * server CPU of the current placement; SIGTERM if the benchmark dies.
 */
static void exec_daemon(const BenchDaemon *d, const BenchConfig *cfg, const char *notify) {
        char *argv[WRAPPER_ARGS_MAX + 6], *words = NULL, state[320];
        size_t n = 0;
        int fd;

        if (cfg->daemon_wrapper && *cfg->daemon_wrapper) {
                words = strdup(cfg->daemon_wrapper);
                for (char *save = NULL, *w = strtok_r(words, " ", &save); w && n < WRAPPER_ARGS_MAX;
                     w = strtok_r(NULL, " ", &save))
                        argv[n++] = w;
        }
        argv[n++] = (char *)cfg->daemon_path;
        argv[n++] = (char *)"--socket";
        argv[n++] = (char *)d->socket;
        snprintf(state, sizeof(state), "%s/state", d->dir);
        argv[n++] = (char *)"--state-dir";
        argv[n++] = state;
        argv[n] = NULL;

        fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
                (void)dup2(fd, STDERR_FILENO);
                (void)dup2(fd, STDOUT_FILENO);
        }
        setenv("NOTIFY_SOCKET", notify, 1);
        (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (cfg->server_cpu >= 0)
                (void)bench_pin(cfg->server_cpu);
        execvp(argv[0], argv);
        _exit(127);
}

static int spawn(BenchDaemon *d, const BenchConfig *cfg) {
        int timeout_ms = cfg->daemon_wrapper ? 120000 : 10000;
        char notify[320];
        uint64_t t0;
        int nfd;

        snprintf(notify, sizeof(notify), "%s/notify.sock", d->dir);
        nfd = notify_socket(notify);
        if (nfd < 0)
                return nfd;
        t0 = now_ns();
        d->pid = fork();
        if (d->pid < 0) {
                d->pid = 0;
                close(nfd);
                return -errno;
        }
        if (d->pid == 0)
                exec_daemon(d, cfg, notify);

        for (int waited = 0; waited < timeout_ms; waited += 20) {
                struct pollfd p = { .fd = nfd, .events = POLLIN };
                char buf[4096];
                int status;

                if (poll(&p, 1, 20) > 0) {
                        ssize_t n = recv(nfd, buf, sizeof(buf) - 1, 0);

                        if (n > 0) {
                                buf[n] = 0;
                                if (strstr(buf, "READY=1")) {
                                        d->ready_ns = now_ns() - t0;
                                        close(nfd);
                                        return 0;
                                }
                        }
                }
                if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
                        d->pid = 0;
                        close(nfd);
                        return -ECHILD;
                }
        }
        close(nfd);
        (void)bench_daemon_kill(d);
        return -ETIMEDOUT;
}

/**
 * bench_daemon_start() - start a fresh daemon in a new private directory
 * @d:          the instance
 * @cfg:        settings (daemon path, wrapper, runtime directory)
 *
 * Return: 0, -ECHILD if it exited during start-up (see its log),
 * -ETIMEDOUT if it never reported READY=1, or another negative errno.
 */
int bench_daemon_start(BenchDaemon *d, BenchConfig *cfg) {
        *d = (BenchDaemon){};
        snprintf(d->dir, sizeof(d->dir), "%s/d%u", cfg->runtime_dir, ++cfg->daemon_seq);
        if (mkdir(d->dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        snprintf(d->socket, sizeof(d->socket), "%s/shmbrokerd.sock", d->dir);
        snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
        return spawn(d, cfg);
}

/**
 * bench_daemon_restart() - start the same daemon again after it died
 * @d:          an instance that was stopped or killed (same directory and socket)
 * @cfg:        settings
 *
 * Return: as bench_daemon_start().
 */
int bench_daemon_restart(BenchDaemon *d, const BenchConfig *cfg) {
        if (d->pid > 0)
                return -EBUSY;
        return spawn(d, cfg);
}

/**
 * bench_daemon_stop() - SIGTERM and wait; the daemon destroys what it made
 * @d:          instance
 * @ret_ns:     if not NULL, time from the signal to the exit
 *
 * Return: the exit status (0 for a clean exit), or negative errno.
 */
int bench_daemon_stop(BenchDaemon *d, uint64_t *ret_ns) {
        uint64_t t0;
        int status;

        if (d->pid <= 0)
                return -ESRCH;
        t0 = now_ns();
        if (kill(d->pid, SIGTERM) < 0)
                return -errno;
        if (waitpid(d->pid, &status, 0) != d->pid)
                return -errno;
        if (ret_ns)
                *ret_ns = now_ns() - t0;
        d->pid = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/**
 * bench_daemon_kill() - SIGKILL and reap: a crash, as far as the daemon can tell
 * @d:          instance
 *
 * Return: 0 or negative errno.
 */
int bench_daemon_kill(BenchDaemon *d) {
        if (d->pid <= 0)
                return -ESRCH;
        if (kill(d->pid, SIGKILL) < 0)
                return -errno;
        (void)waitpid(d->pid, NULL, 0);
        d->pid = 0;
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void)(flag == FTW_DP ? rmdir(path) : unlink(path));
        return 0;
}

/**
 * bench_remove_tree() - remove a directory and everything below it
 * @path:       the directory
 *
 * Return: 0 or negative errno.
 */
int bench_remove_tree(const char *path) {
        return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

/**
 * bench_daemon_cleanup() - stop the daemon if running; remove all but its log
 * @d:          instance
 *
 * The log stays for a look after a failure; main() removes the whole
 * runtime directory when every measurement worked.
 */
void bench_daemon_cleanup(BenchDaemon *d) {
        DIR *dp;
        struct dirent *de;

        if (d->pid > 0)
                (void)bench_daemon_stop(d, NULL);
        if (!d->dir[0])
                return;
        dp = opendir(d->dir);
        if (dp) {
                while ((de = readdir(dp))) {
                        char path[600];

                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                            strcmp(de->d_name, "daemon.log") == 0)
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", d->dir, de->d_name);
                        (void)bench_remove_tree(path);
                }
                closedir(dp);
        }
}

/**
 * bench_daemon_log_tail() - the last line the daemon logged
 * @d:          instance
 * @buf:        room for the line
 * @size:       its size
 *
 * Return: @buf (empty if there is no log).
 */
const char *bench_daemon_log_tail(const BenchDaemon *d, char *buf, size_t size) {
        char line[1024];
        FILE *f = fopen(d->log, "re");

        buf[0] = 0;
        if (!f)
                return buf;
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = 0;
                if (line[0])
                        snprintf(buf, size, "%s", line);
        }
        fclose(f);
        return buf;
}

/**
 * bench_daemon_status() - why a daemon stopped answering, for a failure note
 * @d:          instance
 * @buf:        room for the text
 * @size:       its size
 *
 * Reaps the daemon if it has exited. A daemon that exited with status 0
 * was asked to stop by a signal; since the benchmark only does that in
 * bench_daemon_stop(), something else on the machine sent it.
 *
 * Return: @buf.
 */
const char *bench_daemon_status(BenchDaemon *d, char *buf, size_t size) {
        char tail[512];
        int status;
        pid_t p;

        bench_daemon_log_tail(d, tail, sizeof(tail));
        p = d->pid > 0 ? waitpid(d->pid, &status, WNOHANG) : -1;
        if (p == 0)
                snprintf(buf, size, "daemon still running; its log ends: %s", tail);
        else if (p < 0)
                snprintf(buf, size, "daemon not running; its log ends: %s", tail);
        else if (WIFSIGNALED(status))
                snprintf(buf, size, "daemon killed by signal %d (%s); its log ends: %s", WTERMSIG(status),
                         strsignal(WTERMSIG(status)), tail);
        else
                snprintf(buf, size, "daemon exited with status %d%s; its log ends: %s", WEXITSTATUS(status),
                         WEXITSTATUS(status) == 0 ? " (a signal from outside the benchmark)" : "", tail);
        if (p > 0)
                d->pid = 0;
        return buf;
}

/**
 * proc_mem() - resident memory of a process
 * @pid:        process
 * @ret:        VmRSS and RssAnon in KiB
 *
 * Return: 0 or negative errno.
 */
int proc_mem(pid_t pid, ProcMem *ret) {
        char path[64], line[256];
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return -errno;
        *ret = (ProcMem){};
        while (fgets(line, sizeof(line), f)) {
                unsigned long long v;

                if (sscanf(line, "VmRSS: %llu kB", &v) == 1)
                        ret->rss_kib = v;
                else if (sscanf(line, "RssAnon: %llu kB", &v) == 1)
                        ret->anon_kib = v;
        }
        fclose(f);
        return 0;
}

/**
 * proc_fd_count() - number of open fds of a process
 * @pid:        process
 *
 * Return: the count, or negative errno.
 */
int proc_fd_count(pid_t pid) {
        char path[64];
        struct dirent *de;
        DIR *dp;
        int n = 0;

        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
        dp = opendir(path);
        if (!dp)
                return -errno;
        while ((de = readdir(dp)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(dp);
        return n;
}

/**
 * proc_cpu_ns() - CPU time a process has used (user + system)
 * @pid:        process
 * @ret:        nanoseconds
 *
 * Return: 0 or negative errno.
 */
int proc_cpu_ns(pid_t pid, uint64_t *ret) {
        unsigned long long utime, stime;
        char path[64], buf[1024], *p;
        long hz = sysconf(_SC_CLK_TCK);
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -EIO;
        buf[n] = 0;
        /* Fields after the command name, which may contain spaces: state is field 3, utime 14, stime 15. */
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
                return -EIO;
        *ret = (utime + stime) * (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100));
        return 0;
}
