/*
 * Integration tests of the real shmbrokerctl binary ($SHMBROKERCTL): every
 * admin command in table form and with --json (parsed with json-c), the
 * OpenMetrics output checked line by line, JSON of the client commands,
 * options before and after the command, and the exit codes.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/util-holder.h"

#define NOBODY 65534

typedef struct CtlResult {
        int status;             /* exit status */
        char *out;              /* standard output, NUL-terminated */
        char *err;              /* standard error */
} CtlResult;

static void ctl_result_free(CtlResult *r) {
        free(r->out);
        free(r->err);
}

/* Drain two pipes into growing buffers until both reach EOF. */
static void drain(int out_fd, int err_fd, char **ret_out, char **ret_err) {
        struct pollfd p[2] = { { .fd = out_fd, .events = POLLIN }, { .fd = err_fd, .events = POLLIN } };
        char *buf[2] = { NULL, NULL };
        size_t len[2] = { 0, 0 }, cap[2] = { 0, 0 };
        int open_fds = 2;

        while (open_fds > 0) {
                ck_assert_int_ge(poll(p, 2, -1), 0);
                for (int i = 0; i < 2; i++) {
                        ssize_t n;

                        if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
                                continue;
                        if (cap[i] - len[i] < 65536) {
                                cap[i] = cap[i] * 2 + 65536;
                                buf[i] = realloc(buf[i], cap[i]);
                                ck_assert_ptr_nonnull(buf[i]);
                        }
                        n = read(p[i].fd, buf[i] + len[i], cap[i] - len[i] - 1);
                        if (n <= 0) {
                                close(p[i].fd);
                                p[i].fd = -1;
                                open_fds--;
                                continue;
                        }
                        len[i] += (size_t)n;
                }
        }
        for (int i = 0; i < 2; i++) {
                if (!buf[i])
                        buf[i] = calloc(1, 1);
                ck_assert_ptr_nonnull(buf[i]);
                buf[i][len[i]] = 0;
        }
        *ret_out = buf[0];
        *ret_err = buf[1];
}

/* Run shmbrokerctl with @argv (NULL-terminated, without the program), as @uid if not -1. */
static CtlResult run_ctl_as(uid_t uid, const char *const *argv) {
        const char *bin = getenv("SHMBROKERCTL");
        const char *args[32];
        int out[2], err[2], status;
        CtlResult r = {};
        size_t n = 0;
        pid_t pid;

        ck_assert_msg(bin, "SHMBROKERCTL is not set (run through make check)");
        args[n++] = bin;
        for (size_t i = 0; argv[i] && n < 31; i++)
                args[n++] = argv[i];
        args[n] = NULL;
        ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(err[1], STDERR_FILENO) < 0)
                        _exit(125);
                if (uid != (uid_t)-1 && (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(uid) < 0))
                        _exit(124);
                unsetenv("SHMBROKER_SOCKET");
                unsetenv("SHMBROKER_ADMIN_SOCKET");
                execv(bin, (char *const *)args);
                _exit(127);
        }
        close(out[1]);
        close(err[1]);
        drain(out[0], err[0], &r.out, &r.err);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "shmbrokerctl died (status 0x%x)", status);
        r.status = WEXITSTATUS(status);
        return r;
}

#define RUN(...) run_ctl_as((uid_t)-1, (const char *const[]){ __VA_ARGS__, NULL })

static void share_dir(const TestDaemon *d) {
        ck_assert_int_eq(chmod(d->dir, 0755), 0);
}

static struct json_object *parse_json(const CtlResult *r) {
        struct json_object *j;

        ck_assert_msg(r->status == 0, "shmbrokerctl failed (%d): %s", r->status, r->err);
        j = json_tokener_parse(r->out);
        ck_assert_msg(j != NULL, "not JSON: %s", r->out);
        return j;
}

static struct json_object *get(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no key '%s' in %s", key,
                      json_object_to_json_string(o));
        return v;
}

static int64_t get_int(struct json_object *o, const char *key) {
        struct json_object *v = get(o, key);

        ck_assert_msg(json_object_is_type(v, json_type_int), "'%s' is not an integer", key);
        return json_object_get_int64(v);
}

static const char *get_str(struct json_object *o, const char *key) {
        struct json_object *v = get(o, key);

        ck_assert_msg(json_object_is_type(v, json_type_string), "'%s' is not a string", key);
        return json_object_get_string(v);
}

static struct json_object *find_by(struct json_object *arr, const char *key, const char *value, int64_t num) {
        ck_assert(json_object_is_type(arr, json_type_array));
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                struct json_object *e = json_object_array_get_idx(arr, i), *v;

                if (!json_object_object_get_ex(e, key, &v))
                        continue;
                if (value ? strcmp(json_object_get_string(v), value) == 0 : json_object_get_int64(v) == num)
                        return e;
        }
        return NULL;
}

static void check_time_pair(struct json_object *o, const char *stem, bool may_be_null) {
        char k[64];
        struct json_object *at;

        snprintf(k, sizeof(k), "%s_usec", stem);
        ck_assert_int_ge(get_int(o, k), 0);
        snprintf(k, sizeof(k), "%s_at", stem);
        at = get(o, k);
        if (!at) {
                ck_assert(may_be_null);
                return;
        }
        ck_assert_msg(strlen(json_object_get_string(at)) == 27 && json_object_get_string(at)[26] == 'Z',
                      "%s is not RFC 3339 UTC: %s", k, json_object_get_string(at));
}

START_TEST(test_ls_all) {
        const char *a_ops[] = { "c:alpha:8192:0644", NULL };
        struct json_object *j, *e;
        TestHolder a;
        TestDaemon d;
        CtlResult r;

        test_daemon_start(&d, NULL);
        test_holder_start(&a, &d, "holder-a", (uid_t)-1, 0, a_ops);

        r = RUN("--admin-socket", d.admin_socket, "ls", "--all");
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_ptr_nonnull(strstr(r.out, "NAME"));
        ck_assert_ptr_nonnull(strstr(r.out, "LAST-OPENED"));
        {
                const char *line = strstr(r.out, "\nalpha ");

                ck_assert_ptr_nonnull(line);
                ck_assert_ptr_nonnull(strstr(line, "8K"));
                ck_assert_ptr_nonnull(strstr(line, "memfd"));
                ck_assert_ptr_nonnull(strstr(line, "0644"));
                ck_assert_ptr_nonnull(strstr(line, "persistent"));
        }
        ctl_result_free(&r);

        /* Options after the command, short forms. */
        r = RUN("ls", "-a", "-j", "--admin-socket", d.admin_socket);
        j = parse_json(&r);
        ck_assert_uint_eq(json_object_array_length(j), 1);
        e = find_by(j, "name", "alpha", 0);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(get_int(e, "size"), 8192);
        ck_assert_int_gt(get_int(e, "id"), 0);
        ck_assert_str_eq(get_str(e, "backend"), "memfd");
        ck_assert_int_eq(get_int(e, "uid"), geteuid());
        ck_assert_int_eq(get_int(e, "gid"), getegid());
        ck_assert_str_eq(get_str(e, "mode"), "0644");
        ck_assert_str_eq(get_str(e, "lifetime"), "persistent");
        ck_assert_int_eq(get_int(e, "holders"), 1);
        ck_assert_uint_eq(json_object_array_length(get(e, "flags")), 0);
        ck_assert_ptr_null(get(e, "shmid"));
        check_time_pair(e, "created", false);
        check_time_pair(e, "last_opened", false);
        ck_assert_int_eq(get_int(e, "last_opened_usec"), get_int(e, "created_usec"));
        json_object_put(j);
        ctl_result_free(&r);

        /* Without --all, ls stays a client command (no admin socket needed). */
        r = RUN("--socket", d.socket, "--admin-socket", "/nonexistent/admin.sock", "ls", "--json");
        j = parse_json(&r);
        ck_assert_ptr_nonnull(find_by(j, "name", "alpha", 0));
        json_object_put(j);
        ctl_result_free(&r);

        test_holder_stop(&a);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_show) {
        const char *a_ops[] = { "c:alpha:8192:0644", NULL };
        const char *b_ops[] = { "r:alpha", NULL };
        struct json_object *j, *seg, *hs, *h;
        TestHolder a, b;
        TestDaemon d;
        CtlResult r;

        test_daemon_start(&d, NULL);
        share_dir(&d);
        test_holder_start(&a, &d, "holder-a", (uid_t)-1, 0, a_ops);
        test_holder_start(&b, &d, "holder-b", geteuid() == 0 ? NOBODY : (uid_t)-1, NOBODY, b_ops);

        r = RUN("show", "alpha", "--admin-socket", d.admin_socket);
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_ptr_nonnull(strstr(r.out, "name:        alpha"));
        ck_assert_ptr_nonnull(strstr(r.out, "holders:     2"));
        ck_assert_ptr_nonnull(strstr(r.out, "holder-a"));
        ck_assert_ptr_nonnull(strstr(r.out, "read-write"));
        ck_assert_ptr_nonnull(strstr(r.out, "holder-b"));
        ck_assert_ptr_nonnull(strstr(r.out, "read-only"));
        ctl_result_free(&r);

        r = RUN("--json", "--admin-socket", d.admin_socket, "show", "alpha");
        j = parse_json(&r);
        seg = get(j, "segment");
        ck_assert_str_eq(get_str(seg, "name"), "alpha");
        ck_assert_int_eq(get_int(seg, "holders"), 2);
        hs = get(j, "holders");
        ck_assert_uint_eq(json_object_array_length(hs), 2);
        h = find_by(hs, "pid", NULL, a.pid);
        ck_assert_ptr_nonnull(h);
        ck_assert_str_eq(get_str(h, "comm"), "holder-a");
        ck_assert_str_eq(get_str(h, "access"), "read-write");
        ck_assert_int_eq(get_int(h, "uid"), geteuid());
        ck_assert_int_eq(get_int(h, "opens"), 1);
        ck_assert_int_gt(get_int(h, "conn_id"), 0);
        check_time_pair(h, "since", false);
        h = find_by(hs, "pid", NULL, b.pid);
        ck_assert_ptr_nonnull(h);
        ck_assert_str_eq(get_str(h, "comm"), "holder-b");
        ck_assert_str_eq(get_str(h, "access"), "read-only");
        ck_assert_int_eq(get_int(h, "uid"), geteuid() == 0 ? NOBODY : geteuid());
        json_object_put(j);
        ctl_result_free(&r);

        r = RUN("--admin-socket", d.admin_socket, "show", "nosuch");
        ck_assert_int_eq(r.status, 1);
        ck_assert_ptr_nonnull(strstr(r.err, "no segment named 'nosuch'"));
        ctl_result_free(&r);

        test_holder_stop(&a);
        test_holder_stop(&b);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_clients) {
        const char *a_ops[] = { "c:alpha:8192:0644", "c:beta:4096:0600", NULL };
        struct json_object *j, *e;
        TestHolder a;
        TestDaemon d;
        CtlResult r;
        char pid[32];

        test_daemon_start(&d, NULL);
        test_holder_start(&a, &d, "holder-a", (uid_t)-1, 0, a_ops);
        snprintf(pid, sizeof(pid), " %d ", (int)a.pid);

        r = RUN("clients", "--admin-socket", d.admin_socket);
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_ptr_nonnull(strstr(r.out, "COMMAND"));
        ck_assert_ptr_nonnull(strstr(r.out, pid));
        ck_assert_ptr_nonnull(strstr(r.out, "holder-a"));
        ck_assert_ptr_nonnull(strstr(r.out, "12K"));
        ck_assert_ptr_nonnull(strstr(r.out, "admin"));
        ctl_result_free(&r);

        r = RUN("clients", "--json", "--admin-socket", d.admin_socket);
        j = parse_json(&r);
        ck_assert_uint_eq(json_object_array_length(j), 2);
        e = find_by(j, "pid", NULL, a.pid);
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(get_str(e, "kind"), "client");
        ck_assert_str_eq(get_str(e, "comm"), "holder-a");
        ck_assert_int_eq(get_int(e, "uid"), geteuid());
        ck_assert_int_eq(get_int(e, "gid"), getegid());
        ck_assert_int_eq(get_int(e, "holds"), 2);
        ck_assert_int_eq(get_int(e, "bytes_held"), 8192 + 4096);
        ck_assert_int_gt(get_int(e, "conn_id"), 0);
        check_time_pair(e, "connected", false);
        e = find_by(j, "kind", "admin", 0);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(get_int(e, "holds"), 0);
        json_object_put(j);
        ctl_result_free(&r);

        test_holder_stop(&a);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_stats) {
        struct json_object *j, *o;
        TestDaemon d;
        CtlResult r;

        test_daemon_start(&d, NULL);
        r = RUN("--socket", d.socket, "create", "one", "64K");
        ck_assert_int_eq(r.status, 0);
        ctl_result_free(&r);
        r = RUN("--socket", d.socket, "-b", "posix", "create", "two", "4K");
        ck_assert_int_eq(r.status, 0);
        ctl_result_free(&r);
        r = RUN("--socket", d.socket, "stat", "nosuch");
        ck_assert_int_eq(r.status, 1);
        ctl_result_free(&r);

        r = RUN("stats", "--admin-socket", d.admin_socket);
        ck_assert_msg(r.status == 0, "%s", r.err);
        ck_assert_ptr_nonnull(strstr(r.out, "segments:     2"));
        ck_assert_ptr_nonnull(strstr(r.out, "uptime:"));
        ck_assert_ptr_nonnull(strstr(r.out, "BACKEND"));
        ck_assert_ptr_nonnull(strstr(r.out, "not_found=1"));
        ctl_result_free(&r);

        r = RUN("stats", "--admin-socket", d.admin_socket, "--json");
        j = parse_json(&r);
        ck_assert_int_eq(get_int(j, "segments"), 2);
        ck_assert_int_eq(get_int(j, "bytes"), 65536 + 4096);
        ck_assert_int_eq(get_int(j, "holds"), 0);
        ck_assert_int_ge(get_int(j, "uptime_usec"), 0);
        check_time_pair(j, "started", false);
        ck_assert_str_eq(get_str(j, "log_level"), "debug");
        o = get(j, "connections");
        ck_assert_int_eq(get_int(o, "client"), 0);
        ck_assert_int_eq(get_int(o, "admin"), 1);
        ck_assert_int_ge(get_int(o, "accepted_total"), 4);
        ck_assert_int_eq(get_int(o, "admin_denied_total"), 0);
        o = get(get(j, "backends"), "memfd");
        ck_assert(json_object_get_boolean(get(o, "enabled")));
        ck_assert_int_eq(get_int(o, "segments"), 1);
        ck_assert_int_eq(get_int(o, "bytes"), 65536);
        o = get(get(j, "backends"), "posix");
        ck_assert_int_eq(get_int(o, "segments"), 1);
        o = get(get(j, "requests"), "create");
        ck_assert_int_eq(get_int(o, "total"), 2);
        ck_assert_int_eq(get_int(o, "errors"), 0);
        ck_assert_int_eq(get_int(get(o, "by_status"), "ok"), 2);
        o = get(get(j, "requests"), "stat");
        ck_assert_int_eq(get_int(o, "total"), 1);
        ck_assert_int_eq(get_int(o, "errors"), 1);
        ck_assert_int_eq(get_int(get(o, "by_status"), "not_found"), 1);
        o = get(get(j, "requests"), "open");
        ck_assert_int_eq(get_int(o, "total"), 0);
        /* The table above and this one. */
        ck_assert_int_eq(get_int(get(get(j, "requests"), "admin_stats"), "total"), 2);
        json_object_put(j);
        ctl_result_free(&r);
        test_daemon_stop(&d);
}
END_TEST

/* OpenMetrics text, checked line by line: grammar, metadata before samples, no family twice, # EOF last. */
static void check_openmetrics(const char *text) {
        regex_t type_re, help_re, unit_re, sample_re;
        char family[128] = "", type[32] = "", *copy, *line, *save = NULL;
        char seen[64][128];
        int n_seen = 0, n_samples = 0;
        bool eof = false, has_help = false;

        ck_assert_int_eq(regcomp(&type_re, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|info|stateset|unknown)$",
                                 REG_EXTENDED), 0);
        ck_assert_int_eq(regcomp(&help_re, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]+$", REG_EXTENDED), 0);
        ck_assert_int_eq(regcomp(&unit_re, "^# UNIT ([a-zA-Z_:][a-zA-Z0-9_:]*) ([a-z]+)$", REG_EXTENDED), 0);
        ck_assert_int_eq(regcomp(&sample_re,
                                 "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
                                 "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\.)*\""
                                 "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\.)*\")*\\})?"
                                 " (-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[+-]Inf)$",
                                 REG_EXTENDED),
                         0);
        ck_assert_msg(strlen(text) > 6 && strcmp(text + strlen(text) - 6, "# EOF\n") == 0, "no '# EOF' at the end");
        copy = strdup(text);
        ck_assert_ptr_nonnull(copy);
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                regmatch_t m[3];

                ck_assert_msg(!eof, "text after # EOF: %s", line);
                if (strcmp(line, "# EOF") == 0) {
                        eof = true;
                } else if (regexec(&type_re, line, 3, m, 0) == 0) {
                        snprintf(family, sizeof(family), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
                        snprintf(type, sizeof(type), "%.*s", (int)(m[2].rm_eo - m[2].rm_so), line + m[2].rm_so);
                        for (int i = 0; i < n_seen; i++)
                                ck_assert_msg(strcmp(seen[i], family) != 0, "family %s appears twice", family);
                        ck_assert_int_lt(n_seen, 64);
                        snprintf(seen[n_seen++], sizeof(seen[0]), "%s", family);
                        has_help = false;
                } else if (regexec(&help_re, line, 3, m, 0) == 0) {
                        ck_assert_msg(strncmp(line + m[1].rm_so, family, strlen(family)) == 0 &&
                                              (size_t)(m[1].rm_eo - m[1].rm_so) == strlen(family),
                                      "HELP outside its family: %s", line);
                        has_help = true;
                } else if (regexec(&unit_re, line, 3, m, 0) == 0) {
                        char suffix[64];

                        snprintf(suffix, sizeof(suffix), "_%.*s", (int)(m[2].rm_eo - m[2].rm_so), line + m[2].rm_so);
                        ck_assert_msg(strlen(family) > strlen(suffix) &&
                                              strcmp(family + strlen(family) - strlen(suffix), suffix) == 0,
                                      "family %s does not end in its unit", family);
                } else {
                        char expect[160];

                        ck_assert_msg(regexec(&sample_re, line, 3, m, 0) == 0, "not an OpenMetrics line: %s", line);
                        ck_assert_msg(family[0] && has_help, "sample before TYPE and HELP: %s", line);
                        snprintf(expect, sizeof(expect), "%s%s", family, strcmp(type, "counter") == 0 ? "_total" : "");
                        ck_assert_msg((size_t)(m[1].rm_eo - m[1].rm_so) == strlen(expect) &&
                                              strncmp(line, expect, strlen(expect)) == 0,
                                      "sample %s outside family %s", line, family);
                        n_samples++;
                }
        }
        ck_assert(eof);
        ck_assert_int_gt(n_samples, 10);
        free(copy);
        regfree(&type_re);
        regfree(&help_re);
        regfree(&unit_re);
        regfree(&sample_re);
}

/* If Python's prometheus_client is installed, let its OpenMetrics parser read the text too. */
static void check_with_python(const char *text) {
        static const char script[] =
                "import sys\n"
                "try:\n"
                "    from prometheus_client.openmetrics.parser import text_string_to_metric_families\n"
                "except ImportError:\n"
                "    sys.exit(77)\n"
                "n = sum(len(f.samples) for f in text_string_to_metric_families(sys.stdin.read()))\n"
                "sys.exit(0 if n > 10 else 1)\n";
        const char *python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : NULL;
        int in[2], status;
        pid_t pid;

        if (!python) {
                printf("python3 not found: OpenMetrics checked by the C checks only\n");
                return;
        }
        ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (dup2(in[0], STDIN_FILENO) < 0)
                        _exit(125);
                execl(python, python, "-c", script, (char *)NULL);
                _exit(127);
        }
        close(in[0]);
        ck_assert_int_eq(write(in[1], text, strlen(text)), (ssize_t)strlen(text));
        close(in[1]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
                printf("prometheus_client not installed: OpenMetrics checked by the C checks only\n");
                return;
        }
        ck_assert_msg(WEXITSTATUS(status) == 0, "prometheus_client's OpenMetrics parser rejected the text");
}

START_TEST(test_metrics) {
        const char *a_ops[] = { "c:alpha:8192:0644", NULL };
        struct json_object *j, *f;
        TestHolder a;
        TestDaemon d;
        CtlResult r;

        test_daemon_start(&d, NULL);
        test_holder_start(&a, &d, "holder-a", (uid_t)-1, 0, a_ops);
        ck_assert_int_eq(test_holder_ask(&a, 's', "nosuch"), -ENOENT);

        r = RUN("metrics", "--admin-socket", d.admin_socket);
        ck_assert_msg(r.status == 0, "%s", r.err);
        check_openmetrics(r.out);
        check_with_python(r.out);
        ck_assert_ptr_nonnull(strstr(r.out, "# TYPE shmbroker_segments gauge\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "\nshmbroker_segments{backend=\"memfd\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "\nshmbroker_segment_bytes{backend=\"memfd\"} 8192\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "# TYPE shmbroker_requests counter\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "\nshmbroker_requests_total{operation=\"create\",status=\"ok\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "\nshmbroker_requests_total{operation=\"open\",status=\"ok\"} 0\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "\nshmbroker_requests_total{operation=\"stat\",status=\"not_found\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "\nshmbroker_connections{socket=\"client\"} 1\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "\nshmbroker_holds 1\n"));
        ctl_result_free(&r);

        r = RUN("metrics", "--json", "--admin-socket", d.admin_socket);
        j = parse_json(&r);
        f = find_by(j, "name", "shmbroker_requests", 0);
        ck_assert_ptr_nonnull(f);
        ck_assert_str_eq(get_str(f, "type"), "counter");
        ck_assert_int_gt((int)json_object_array_length(get(f, "samples")), 10);
        ck_assert_str_eq(get_str(json_object_array_get_idx(get(f, "samples"), 0), "name"), "shmbroker_requests_total");
        f = find_by(j, "name", "shmbroker_segment_bytes", 0);
        ck_assert_ptr_nonnull(f);
        ck_assert_str_eq(get_str(f, "unit"), "bytes");
        json_object_put(j);
        ctl_result_free(&r);

        test_holder_stop(&a);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_actions) {
        const char *a_ops[] = { "c:victim:4096:0600", NULL };
        const char *k_ops[] = { "c:kseg:4096:0600", NULL };
        struct json_object *j;
        TestHolder a, k;
        TestDaemon d;
        CtlResult r;
        char pid[32];

        test_daemon_start(&d, NULL);
        test_holder_start(&a, &d, "holder-a", (uid_t)-1, 0, a_ops);
        test_holder_start(&k, &d, "kicked", (uid_t)-1, 0, k_ops);

        r = RUN("--admin-socket", d.admin_socket, "--json", "destroy", "victim");
        j = parse_json(&r);
        ck_assert_str_eq(get_str(j, "name"), "victim");
        ck_assert(json_object_get_boolean(get(j, "destroyed")));
        ck_assert_int_eq(get_int(j, "holders_dropped"), 1);
        json_object_put(j);
        ctl_result_free(&r);
        ck_assert_int_eq(test_holder_ask(&a, 'm', "victim"), 1);
        ck_assert_int_eq(test_holder_ask(&a, 'o', "victim"), -ENOENT);
        r = RUN("--admin-socket", d.admin_socket, "destroy", "victim");
        ck_assert_int_eq(r.status, 1);
        ck_assert_ptr_nonnull(strstr(r.err, "no segment named 'victim'"));
        ctl_result_free(&r);

        snprintf(pid, sizeof(pid), "%d", (int)k.pid);
        r = RUN("kick", pid, "--admin-socket", d.admin_socket, "--json");
        j = parse_json(&r);
        ck_assert_int_eq(get_int(j, "pid"), k.pid);
        ck_assert_int_eq(get_int(j, "connections_closed"), 1);
        ck_assert_int_eq(get_int(j, "holds_released"), 1);
        json_object_put(j);
        ctl_result_free(&r);
        ck_assert_int_lt(test_holder_ask(&k, 's', "kseg"), 0);
        r = RUN("kick", pid, "--admin-socket", d.admin_socket);
        ck_assert_int_eq(r.status, 1);
        ck_assert_ptr_nonnull(strstr(r.err, "no connection from pid"));
        ctl_result_free(&r);

        r = RUN("log-level", "--admin-socket", d.admin_socket);
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(r.out, "debug\n");
        ctl_result_free(&r);
        r = RUN("log-level", "info", "--admin-socket", d.admin_socket, "-v");
        ck_assert_int_eq(r.status, 0);
        ck_assert_str_eq(r.out, "log level debug -> info\n");
        ctl_result_free(&r);
        r = RUN("log-level", "debug", "--json", "--admin-socket", d.admin_socket);
        j = parse_json(&r);
        ck_assert_str_eq(get_str(j, "old"), "info");
        ck_assert_str_eq(get_str(j, "new"), "debug");
        json_object_put(j);
        ctl_result_free(&r);

        test_holder_stop(&a);
        test_holder_stop(&k);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_client_commands_json) {
        struct json_object *j;
        TestDaemon d;
        CtlResult r;

        test_daemon_start(&d, NULL);
        r = RUN("--json", "--socket", d.socket, "create", "frames", "1M", "--mode", "0640");
        j = parse_json(&r);
        ck_assert_str_eq(get_str(j, "name"), "frames");
        ck_assert_int_eq(get_int(j, "size"), 1 << 20);
        ck_assert_str_eq(get_str(j, "mode"), "0640");
        ck_assert_str_eq(get_str(j, "lifetime"), "persistent");
        ck_assert(json_object_get_boolean(get(j, "created")));
        json_object_put(j);
        ctl_result_free(&r);

        r = RUN("stat", "frames", "--socket", d.socket, "-j");
        j = parse_json(&r);
        ck_assert_str_eq(get_str(j, "name"), "frames");
        ck_assert_str_eq(get_str(j, "backend"), "memfd");
        ck_assert_int_eq(get_int(j, "holders"), 0);
        check_time_pair(j, "created", false);
        json_object_put(j);
        ctl_result_free(&r);

        r = RUN("rm", "frames", "--socket", d.socket, "--json");
        j = parse_json(&r);
        ck_assert_str_eq(get_str(j, "name"), "frames");
        ck_assert(json_object_get_boolean(get(j, "removed")));
        json_object_put(j);
        ctl_result_free(&r);

        r = RUN("version", "--json", "--socket", d.socket);
        j = parse_json(&r);
        /* Both are bare versions, the same for a daemon and a tool of one build. */
        ck_assert_str_eq(get_str(j, "daemon"), PACKAGE_VERSION);
        ck_assert_str_eq(get_str(j, "shmbrokerctl"), PACKAGE_VERSION);
        json_object_put(j);
        ctl_result_free(&r);
        test_daemon_stop(&d);
}
END_TEST

START_TEST(test_exit_codes) {
        TestDaemon d;
        CtlResult r;

        test_daemon_start(&d, NULL);
        /* 2: usage, decided before connecting. */
        r = RUN("--admin-socket", d.admin_socket, "show");
        ck_assert_int_eq(r.status, 2);
        ctl_result_free(&r);
        r = RUN("--admin-socket", d.admin_socket, "kick", "abc");
        ck_assert_int_eq(r.status, 2);
        ctl_result_free(&r);
        r = RUN("--admin-socket", d.admin_socket, "log-level", "loud");
        ck_assert_int_eq(r.status, 2);
        ctl_result_free(&r);
        r = RUN("--admin-socket", d.admin_socket, "frobnicate");
        ck_assert_int_eq(r.status, 2);
        ctl_result_free(&r);
        /* 3: nobody listens there. */
        r = RUN("--admin-socket", "/nonexistent/admin.sock", "stats");
        ck_assert_int_eq(r.status, 3);
        ck_assert_ptr_nonnull(strstr(r.err, "/nonexistent/admin.sock"));
        ctl_result_free(&r);
        r = RUN("--socket", "/nonexistent/s.sock", "ls");
        ck_assert_int_eq(r.status, 3);
        ctl_result_free(&r);
        /* 1: the daemon refused. */
        r = RUN("--admin-socket", d.admin_socket, "destroy", "nosuch");
        ck_assert_int_eq(r.status, 1);
        ctl_result_free(&r);

        /* 4: not an operator, refused by the socket's mode, then by the daemon itself. */
        if (geteuid() == 0) {
                share_dir(&d);
                r = run_ctl_as(NOBODY, (const char *const[]){ "--admin-socket", d.admin_socket, "stats", NULL });
                ck_assert_int_eq(r.status, 4);
                ck_assert_ptr_nonnull(strstr(r.err, "admin access needs root"));
                ctl_result_free(&r);
                ck_assert_int_eq(chmod(d.admin_socket, 0666), 0);
                r = run_ctl_as(NOBODY, (const char *const[]){ "clients", "--json", "--admin-socket", d.admin_socket,
                                                              NULL });
                ck_assert_int_eq(r.status, 4);
                ck_assert_ptr_nonnull(strstr(r.err, "admin access needs root (you are uid 65534)"));
                ck_assert_str_eq(r.out, "");
                ctl_result_free(&r);
        } else {
                printf("test_exit_codes: exit code 4 needs root to switch uid, skipped\n");
        }
        test_daemon_stop(&d);
}
END_TEST

static Suite *ctl_admin_suite(void) {
        Suite *s = suite_create("ctl-admin");
        TCase *tc;

        tc = tcase_create("queries");
        tcase_add_test(tc, test_ls_all);
        tcase_add_test(tc, test_show);
        tcase_add_test(tc, test_clients);
        tcase_add_test(tc, test_stats);
        tcase_add_test(tc, test_metrics);
        suite_add_tcase(s, tc);

        tc = tcase_create("actions");
        tcase_add_test(tc, test_actions);
        suite_add_tcase(s, tc);

        tc = tcase_create("cli");
        tcase_add_test(tc, test_client_commands_json);
        tcase_add_test(tc, test_exit_codes);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(ctl_admin_suite());
        int failed;

        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
