/*
 * Integration tests: the segment-life commands of the real shmbrokerctl
 * ($SHMBROKERCTL) against a live shmbrokerd: resize, publish, watch (text and
 * --json, read line by line from a background process), run NAME[:ro]... --
 * COMMAND, cat --wait, create --ttl, and their usage errors. Waiting is
 * always a poll against a deadline; no test asserts how long anything took.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/shmbroker-admin.h"
#include "client/shmbroker.h"
#include "protocol/shmb-proto.h"
#include "tests/integration/util-ctl.h"
#include "tests/integration/util-daemon.h"

#define ARGS_MAX 32
#define WAIT_MS 10000           /* deadline for anything asynchronous */

static TestDaemon daemon_;

static void daemon_setup(void) {
        ck_assert_int_eq(unsetenv(SHMB_SOCKET_ENV), 0);
        test_daemon_start(&daemon_, NULL);
        /* Every shmbrokerctl below finds the daemon through the environment. */
        ck_assert_int_eq(setenv(SHMB_SOCKET_ENV, daemon_.socket, 1), 0);
}

static void daemon_teardown(void) {
        test_daemon_stop(&daemon_);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ running shmbrokerctl -- */

/* A shmbrokerctl left running: its standard input and output are pipes, its errors go to /dev/null. */
typedef struct Bg {
        pid_t pid;
        int in;                 /* write end of its standard input, or -1 */
        int out;                /* read end of its standard output, or -1 at end-of-file */
        char buf[65536];
        size_t len;
} Bg;

static Bg *bg_start(const char *const *args) {
        const char *argv[ARGS_MAX + 2] = { "shmbrokerctl" };
        int in[2], o[2], null_fd;
        size_t argc = 1;
        Bg *bg;

        for (; *args; args++) {
                ck_assert_uint_lt(argc, ARGS_MAX);
                argv[argc++] = *args;
        }
        argv[argc] = NULL;
        bg = calloc(1, sizeof(*bg));
        ck_assert_ptr_nonnull(bg);
        ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(o, O_CLOEXEC), 0);
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(null_fd, 0);
        bg->pid = ctl_spawn(argv, in[0], o[1], null_fd);
        close(in[0]);
        close(o[1]);
        close(null_fd);
        bg->in = in[1];
        bg->out = o[0];
        return bg;
}

/* The next line of its standard output, without the newline (malloc'd), or NULL at the deadline or end-of-file. */
static char *bg_read_line(Bg *bg, uint64_t deadline_ms) {
        for (;;) {
                char *nl = memchr(bg->buf, '\n', bg->len);
                struct pollfd p = { .fd = bg->out, .events = POLLIN };
                uint64_t now = now_ms();
                ssize_t n;

                if (nl) {
                        size_t k = (size_t)(nl - bg->buf);
                        char *line = strndup(bg->buf, k);

                        ck_assert_ptr_nonnull(line);
                        memmove(bg->buf, nl + 1, bg->len - k - 1);
                        bg->len -= k + 1;
                        return line;
                }
                if (bg->out < 0 || now >= deadline_ms)
                        return NULL;
                if (poll(&p, 1, (int)(deadline_ms - now)) <= 0)
                        continue;
                ck_assert_uint_lt(bg->len, sizeof(bg->buf));
                n = read(bg->out, bg->buf + bg->len, sizeof(bg->buf) - bg->len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        close(bg->out);
                        bg->out = -1;
                        continue;
                }
                bg->len += (size_t)n;
        }
}

/* Everything left on its standard output until end-of-file (the deadline fails the test). */
static size_t bg_read_all(Bg *bg, char *buf, size_t size) {
        uint64_t end = now_ms() + WAIT_MS;
        size_t got = bg->len < size ? bg->len : size;

        memcpy(buf, bg->buf, got);
        bg->len = 0;
        while (bg->out >= 0) {
                struct pollfd p = { .fd = bg->out, .events = POLLIN };
                char chunk[4096];
                ssize_t n;

                ck_assert_msg(now_ms() < end, "background shmbrokerctl did not close its output in time");
                if (poll(&p, 1, 100) <= 0)
                        continue;
                n = read(bg->out, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        close(bg->out);
                        bg->out = -1;
                        break;
                }
                for (ssize_t i = 0; i < n && got < size; i++)
                        buf[got++] = chunk[i];
        }
        return got;
}

/* Whether it is still running (not reaped). */
static bool bg_running(Bg *bg) {
        int status;

        return waitpid(bg->pid, &status, WNOHANG) == 0;
}

/* Close its standard input, optionally signal it, and reap it; returns the wait status. */
static int bg_finish(Bg *bg, int sig) {
        int status;

        if (bg->in >= 0)
                close(bg->in);
        if (sig)
                (void)kill(bg->pid, sig);
        ck_assert_int_eq(waitpid(bg->pid, &status, 0), bg->pid);
        if (bg->out >= 0)
                close(bg->out);
        free(bg);
        return status;
}

static void assert_not_contains(const char *haystack, const char *needle) {
        ck_assert_msg(!strstr(haystack, needle), "did not expect \"%s\" in:\n%s", needle, haystack);
}

/* Does segment @name exist? (asked through the library, not the CLI) */
static bool seg_exists(const char *name, struct shmb_stat *ret) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_stat st;
        int r = shmb_stat(c, name, &st);

        shmb_client_free(c);
        ck_assert_msg(r == 0 || r == -ENOENT, "stat '%s': %s", name, strerror(-r));
        if (r == 0 && ret)
                *ret = st;
        return r == 0;
}

/* The bytes of a segment as the library maps them. */
static void assert_bytes(const char *name, const char *want, size_t n) {
        struct shmb_client *c = test_client(&daemon_);
        struct shmb_segment *s;
        void *p;

        ck_assert_int_eq(shmb_open(c, name, SHMB_OPEN_RDONLY, &s), 0);
        ck_assert_int_eq(shmb_segment_map(s, &p), 0);
        ck_assert_mem_eq(p, want, n);
        ck_assert_int_eq(shmb_segment_release(s), 0);
        shmb_client_free(c);
}

/* Poll the admin socket until process @pid has a connection that finished HELLO. */
static void wait_connected(pid_t pid) {
        struct shmb_admin *a = test_admin(&daemon_);
        uint64_t end = now_ms() + WAIT_MS;

        for (;;) {
                struct shmb_admin_client *v;
                bool found = false;
                size_t n;

                ck_assert_int_eq(shmb_admin_list_clients(a, &v, &n), 0);
                for (size_t i = 0; i < n; i++)
                        if (v[i].pid == pid && (v[i].flags & SHMB_ADMIN_CLIENT_HELLO))
                                found = true;
                shmb_admin_clients_free(v);
                if (found)
                        break;
                ck_assert_msg(now_ms() < end, "shmbrokerctl (pid %d) did not connect within %d ms", (int)pid,
                              WAIT_MS);
                test_sleep_ms(10);
        }
        shmb_admin_free(a);
}

/* ------------------------------------------------------------------ resize -- */

START_TEST(test_resize_grows) {
        struct shmb_stat st;
        struct json_object *j, *v;
        char *out, *err;

        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "grow.m", "64K", "--max-size", "1M", NULL), 0);
        /* Quiet on success; --verbose says what it did. */
        ck_assert_int_eq(run_ctl(NULL, &out, &err, "resize", "grow.m", "128K", NULL), 0);
        ck_assert_str_eq(out, "");
        ck_assert_str_eq(err, "");
        free(out);
        free(err);
        ck_assert_int_eq(run_ctl(NULL, &out, &err, "resize", "grow.m", "256K", "-v", NULL), 0);
        ck_assert_str_eq(out, "resized grow.m: 262144 bytes (256K)\n");
        ck_assert_str_eq(err, "");
        free(out);
        free(err);
        ck_assert(seg_exists("grow.m", &st));
        ck_assert_uint_eq(st.size, 262144);
        ck_assert_uint_eq(st.max_size, 1048576);

        /* --json: the segment object as the daemon now describes it. */
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "resize", "grow.m", "512K", "--json", NULL), 0);
        j = json_tokener_parse(out);
        ck_assert_msg(j, "resize --json printed no JSON:\n%s", out);
        ck_assert(json_object_object_get_ex(j, "name", &v));
        ck_assert_str_eq(json_object_get_string(v), "grow.m");
        ck_assert(json_object_object_get_ex(j, "size", &v));
        ck_assert_int_eq(json_object_get_int64(v), 524288);
        ck_assert(json_object_object_get_ex(j, "max_size", &v));
        ck_assert_int_eq(json_object_get_int64(v), 1048576);
        json_object_put(j);
        free(out);
        ck_assert(seg_exists("grow.m", &st));
        ck_assert_uint_eq(st.size, 524288);

        /* A posix segment grows in place, with no --max-size. */
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "grow.p", "4K", "--backend", "posix", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "resize", "grow.p", "1M", "--verbose", NULL), 0);
        ck_assert_str_eq(out, "resized grow.p: 1048576 bytes (1M)\n");
        free(out);
}
END_TEST

START_TEST(test_resize_refusals) {
        struct shmb_stat st;
        char *out, *err;

        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "shrink", "64K", "--max-size", "1M", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, &out, &err, "resize", "shrink", "4K", NULL), 1);
        ck_assert_str_eq(out, "");
        assert_contains(err, "'shrink'");
        assert_contains(err, "segments only grow");
        free(out);
        free(err);
        ck_assert(seg_exists("shrink", &st));
        ck_assert_uint_eq(st.size, 65536);

        /* Beyond the memfd's max_size. */
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "resize", "shrink", "2M", NULL), 1);
        assert_contains(err, "maximum of 1048576 bytes");
        free(err);

        /* A missing name. */
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "resize", "nosuch", "8K", NULL), 1);
        assert_contains(err, "'nosuch'");
        free(err);

        /* A bad size is a usage error, found before connecting. */
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "resize", "shrink", "12X", NULL), 2);
        assert_contains(err, "12X");
        free(err);
        ck_assert(seg_exists("shrink", &st));
        ck_assert_uint_eq(st.size, 65536);
}
END_TEST

/* ------------------------------------------------------------------ publish -- */

START_TEST(test_publish_then_write) {
        struct shmb_stat st;
        char *out, *err;

        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "pub", "16", NULL), 0);
        ck_assert_int_eq(run_ctl("v1", NULL, NULL, "write", "pub", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, &out, &err, "publish", "pub", "-v", NULL), 0);
        ck_assert_str_eq(out, "published pub: 16 bytes (16), frozen: its bytes can never change again\n");
        ck_assert_str_eq(err, "");
        free(out);
        free(err);
        ck_assert(seg_exists("pub", &st));
        ck_assert_uint_eq(st.flags & (SHMB_SEG_PUBLISHED | SHMB_SEG_FROZEN), SHMB_SEG_PUBLISHED | SHMB_SEG_FROZEN);

        /* Every open is read-only now: writing fails, saying why, and the bytes stay. */
        ck_assert_int_eq(run_ctl("v2", &out, &err, "write", "pub", NULL), 1);
        ck_assert_str_eq(out, "");
        assert_contains(err, "is published: it can no longer be written");
        free(out);
        free(err);
        assert_bytes("pub", "v1", 2);

        /* Published is for good: publishing again changes nothing (and succeeds), no resize. */
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "publish", "pub", NULL), 0);
        ck_assert_str_eq(out, "");
        free(out);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "resize", "pub", "32", NULL), 1);
        assert_contains(err, "is published");
        free(err);
        assert_bytes("pub", "v1", 2);
}
END_TEST

/* ------------------------------------------------------------------ watch -- */

/*
 * Make sure the watcher's subscription is in place: create and remove probe
 * segments under the prefix until the watcher reports one, then consume its
 * lines up to the last probe's "destroyed". @json: the watcher prints JSON
 * lines.
 */
static void watch_sync(Bg *w, const char *prefix, bool json) {
        uint64_t end = now_ms() + WAIT_MS;
        char name[64], last[64] = "";
        char *line = NULL;

        for (int i = 0; !line; i++) {
                ck_assert_msg(now_ms() < end, "watch %s printed nothing for %d probe segments", prefix, i);
                snprintf(name, sizeof(name), "%sprobe%d", prefix, i);
                ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", name, "4K", NULL), 0);
                ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "rm", name, NULL), 0);
                snprintf(last, sizeof(last), "%s", name);
                line = bg_read_line(w, now_ms() + 100);
        }
        for (;;) {
                bool done;

                /* "destroyed <name> id=" or "...\"destroyed\"...\"name\":\"<name>\"..." */
                if (json) {
                        char key[96];

                        snprintf(key, sizeof(key), "\"name\":\"%s\"", last);
                        done = strstr(line, "\"destroyed\"") && strstr(line, key);
                } else {
                        char key[96];

                        snprintf(key, sizeof(key), " %s id=", last);
                        done = strncmp(line, "destroyed", 9) == 0 && strstr(line, key);
                }
                free(line);
                if (done)
                        return;
                line = bg_read_line(w, end);
                ck_assert_msg(line, "watch %s: no \"destroyed\" line for %s", prefix, last);
        }
}

/* The events of one segment's life, as the tests below cause them. */
static void life_of_seg(const char *name) {
        char size_arg[] = "8K";

        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", name, "4K", "--max-size", "64K", NULL), 0);
        /* Not under the prefix: no line. */
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "elsewhere", "4K", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "resize", name, size_arg, NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "publish", name, NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "rm", name, NULL), 0);
}

START_TEST(test_watch_lines) {
        static const char *const want_event[] = { "created", "resized", "published", "unlinked", "destroyed" };
        static const unsigned want_size[] = { 4096, 8192, 8192, 8192, 8192 };
        const char *args[] = { "watch", "cam.", NULL };
        struct shmb_stat st;
        uint64_t end;
        unsigned long long id = 0;
        Bg *w;
        int status;

        w = bg_start(args);
        watch_sync(w, "cam.", false);
        life_of_seg("cam.seg");
        ck_assert(!seg_exists("cam.seg", &st));

        end = now_ms() + WAIT_MS;
        for (size_t i = 0; i < 5; i++) {
                char *line = bg_read_line(w, end), ev[32] = "", name[64] = "";
                unsigned long long lid = 0, size = 0;

                ck_assert_msg(line, "watch cam.: line %zu (%s) did not come", i + 1, want_event[i]);
                ck_assert_msg(sscanf(line, "%31s %63s id=%llu size=%llu", ev, name, &lid, &size) == 4,
                              "watch cam.: line %zu is \"%s\"", i + 1, line);
                ck_assert_msg(strcmp(ev, want_event[i]) == 0, "line %zu is \"%s\", expected event %s", i + 1, line,
                              want_event[i]);
                ck_assert_str_eq(name, "cam.seg");
                ck_assert_uint_eq(size, want_size[i]);
                /* The event name is padded to 9 characters. */
                ck_assert_msg(line[9] == ' ' && line[10] != ' ', "line %zu is not padded: \"%s\"", i + 1, line);
                if (i == 0)
                        id = lid;
                ck_assert_uint_eq(lid, id);
                free(line);
        }
        /* Nothing else: "elsewhere" is not under the prefix. */
        {
                char *line = bg_read_line(w, now_ms() + 200);

                ck_assert_msg(!line, "unexpected line after the five: \"%s\"", line ? line : "");
        }
        ck_assert_msg(bg_running(w), "watch exited on its own");
        status = bg_finish(w, SIGTERM);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "watch ended with status 0x%x", status);
}
END_TEST

START_TEST(test_watch_rides_out_restart) {
        const char *args[] = { "watch", "r.", NULL };
        char *line;
        Bg *w;
        int status;

        w = bg_start(args);
        watch_sync(w, "r.", false);
        test_daemon_kill(&daemon_, SIGKILL);
        test_daemon_restart(&daemon_, NULL);
        /* It does not exit: it says what it lost, subscribes again and goes on. */
        line = bg_read_line(w, now_ms() + WAIT_MS);
        ck_assert_msg(line, "watch printed nothing after the restart (running: %d)", bg_running(w));
        ck_assert_str_eq(line, "dropped   events lost while shmbrokerd was away (it restarted; how many is unknown)");
        free(line);
        watch_sync(w, "r.", false);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "r.after", "4K", NULL), 0);
        line = bg_read_line(w, now_ms() + WAIT_MS);
        ck_assert_msg(line && strncmp(line, "created   r.after id=", 21) == 0, "line after the restart: \"%s\"",
                      line ? line : "(none)");
        free(line);
        ck_assert_msg(bg_running(w), "watch exited on its own");
        status = bg_finish(w, SIGTERM);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "watch ended with status 0x%x", status);
}
END_TEST

static struct json_object *json_member(struct json_object *o, const char *key) {
        struct json_object *v = NULL;

        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key, json_object_to_json_string(o));
        return v;
}

START_TEST(test_watch_json) {
        static const char *const want_event[] = { "created", "resized", "published", "unlinked", "destroyed" };
        static const int64_t want_size[] = { 4096, 8192, 8192, 8192, 8192 };
        const char *args[] = { "--json", "watch", "jcam.", NULL };
        int64_t last_seq = 0, id = 0;
        uint64_t end;
        Bg *w;

        w = bg_start(args);
        watch_sync(w, "jcam.", true);
        life_of_seg("jcam.seg");

        end = now_ms() + WAIT_MS;
        for (size_t i = 0; i < 5; i++) {
                char *line = bg_read_line(w, end);
                struct json_object *j, *flags;
                bool published = false;

                ck_assert_msg(line, "watch --json: line %zu (%s) did not come", i + 1, want_event[i]);
                /* One object per line: the line itself parses, and is all of it. */
                j = json_tokener_parse(line);
                ck_assert_msg(j && json_object_is_type(j, json_type_object), "line %zu is not a JSON object: %s",
                              i + 1, line);
                ck_assert_str_eq(json_object_get_string(json_member(j, "event")), want_event[i]);
                ck_assert_str_eq(json_object_get_string(json_member(j, "name")), "jcam.seg");
                ck_assert_int_eq(json_object_get_int64(json_member(j, "size")), want_size[i]);
                ck_assert(json_object_is_type(json_member(j, "id"), json_type_int));
                if (i == 0)
                        id = json_object_get_int64(json_member(j, "id"));
                ck_assert_int_eq(json_object_get_int64(json_member(j, "id")), id);
                /* seq counts every event of this connection, the probes' too: one up each time. */
                if (i > 0)
                        ck_assert_int_eq(json_object_get_int64(json_member(j, "seq")), last_seq + 1);
                last_seq = json_object_get_int64(json_member(j, "seq"));
                flags = json_member(j, "flags");
                ck_assert(json_object_is_type(flags, json_type_array));
                for (size_t k = 0; k < json_object_array_length(flags); k++)
                        if (strcmp(json_object_get_string(json_object_array_get_idx(flags, k)), "published") == 0)
                                published = true;
                ck_assert_msg(published == (i >= 2), "line %zu: published flag %d: %s", i + 1, published, line);
                json_object_put(j);
                free(line);
        }
        (void)bg_finish(w, SIGTERM);
}
END_TEST

/* ------------------------------------------------------------------ run -- */

START_TEST(test_run_fds_and_env) {
        char *out, *err;

        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "run.data", "16", NULL), 0);
        ck_assert_int_eq(run_ctl("hello", NULL, NULL, "write", "run.data", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "Run-2", "8", NULL), 0);
        ck_assert_int_eq(run_ctl("world", NULL, NULL, "write", "Run-2", NULL), 0);

        /* Segment i is fd 3 + i; each fd is read only once here (holders of one access share the offset). */
        ck_assert_int_eq(run_ctl(NULL, &out, &err, "run", "run.data", "Run-2", "--", "sh", "-c",
                                 "head -c 5 <&3; echo; head -c 5 <&4; echo; "
                                 "echo \"fd=$SHMBROKER_FD_RUN_DATA size=$SHMBROKER_SIZE_RUN_DATA\"; "
                                 "echo \"fd=$SHMBROKER_FD_RUN_2 size=$SHMBROKER_SIZE_RUN_2\"; "
                                 "echo \"segments=$SHMBROKER_SEGMENTS\"",
                                 NULL),
                         0);
        ck_assert_str_eq(out, "hello\nworld\nfd=3 size=16\nfd=4 size=8\nsegments=run.data=3 Run-2=4\n");
        ck_assert_str_eq(err, "");
        free(out);
        free(err);

        /* The holds last while the command runs; afterwards nobody holds them. */
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "run", "run.data", "--", "sh", "-c", "echo ok", NULL), 0);
        ck_assert_str_eq(out, "ok\n");
        free(out);
        {
                struct shmb_stat st;

                ck_assert(seg_exists("run.data", &st));
                ck_assert_uint_eq(st.holders, 0);
        }
}
END_TEST

static unsigned long fdinfo_flags(const char *out) {
        const char *p = strstr(out, "flags:");

        ck_assert_msg(p, "no flags: line in\n%s", out);
        return strtoul(p + strlen("flags:"), NULL, 8);
}

START_TEST(test_run_readonly) {
        static const char script[] = "grep '^flags:' /proc/self/fdinfo/3; "
                                     "if printf W >&3 2>/dev/null; then echo fd-write-ok; else echo fd-write-failed; fi; "
                                     "if printf W >/proc/self/fd/3 2>/dev/null; then echo reopen-write-ok; "
                                     "else echo reopen-write-failed; fi";
        char *out;

        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "ro.seg", "16", NULL), 0);
        ck_assert_int_eq(run_ctl("hello", NULL, NULL, "write", "ro.seg", NULL), 0);

        /* :ro: fd 3 is open read-only; neither it nor a reopen through /proc writes. */
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "run", "ro.seg:ro", "--", "sh", "-c", script, NULL), 0);
        ck_assert_msg((fdinfo_flags(out) & 3) == O_RDONLY, "fd 3 of run NAME:ro is not O_RDONLY:\n%s", out);
        assert_contains(out, "fd-write-failed\n");
        assert_contains(out, "reopen-write-failed\n");
        free(out);
        assert_bytes("ro.seg", "hello", 5);

        /* Without :ro the same fd is read-write, and writing through it works. */
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "run", "ro.seg", "--", "sh", "-c", script, NULL), 0);
        ck_assert_msg((fdinfo_flags(out) & 3) == O_RDWR, "fd 3 of run NAME is not O_RDWR:\n%s", out);
        assert_contains(out, "fd-write-ok\n");
        free(out);
        assert_bytes("ro.seg", "W", 1);
}
END_TEST

START_TEST(test_run_exit_status) {
        char *out, *err;

        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "st.seg", "4K", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "run", "st.seg", "--", "sh", "-c", "exit 7", NULL), 7);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "run", "st.seg", "--", "true", NULL), 0);
        /* Killed by a signal: 128 + its number. */
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "run", "st.seg", "--", "sh", "-c", "kill -TERM $$", NULL),
                         128 + SIGTERM);

        /* A missing name: exit 1 with a message, and the command never runs. */
        ck_assert_int_eq(run_ctl(NULL, &out, &err, "run", "st.seg", "nosuch", "--", "sh", "-c", "echo RAN", NULL), 1);
        assert_not_contains(out, "RAN");
        assert_contains(err, "'nosuch'");
        free(out);
        free(err);
}
END_TEST

/* ------------------------------------------------------------------ cat --wait -- */

START_TEST(test_cat_wait_for_create) {
        const char *args[] = { "cat", "--wait", "2000", "later", NULL };
        char buf[64];
        size_t n;
        Bg *cat;
        int status;

        ck_assert(!seg_exists("later", NULL));
        cat = bg_start(args);
        /* It is connected and has not given up: it waits for the name. */
        wait_connected(cat->pid);
        ck_assert_msg(bg_running(cat), "cat --wait 2000 ended before the segment was created");
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "later", "16", NULL), 0);

        n = bg_read_all(cat, buf, sizeof(buf));
        status = bg_finish(cat, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cat --wait ended with status 0x%x", status);
        ck_assert_uint_eq(n, 16);
}
END_TEST

START_TEST(test_cat_wait_timeout) {
        char *out, *err;

        ck_assert_int_eq(run_ctl(NULL, &out, &err, "cat", "--wait", "200", "never", NULL), 1);
        ck_assert_str_eq(out, "");
        assert_contains(err, "'never'");
        assert_contains(err, "within 200 ms");
        free(out);
        free(err);

        /* --published waits for a publish, not a create. */
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "unpub", "16", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "cat", "--published", "--wait", "200", "unpub", NULL), 1);
        assert_contains(err, "was published within 200 ms");
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "publish", "unpub", NULL), 0);
        ck_assert_int_eq(run_ctl(NULL, &out, NULL, "cat", "--published", "--wait", "200", "unpub", NULL), 0);
        ck_assert_uint_eq(ctl_out_len, 16);
        free(out);
}
END_TEST

/* ------------------------------------------------------------------ ttl -- */

START_TEST(test_create_ttl) {
        const char *args[] = { "run", "--wait", "10000", "ttl.once", "--", "sh", "-c", "echo held; read x || :", NULL };
        struct shmb_stat st;
        uint64_t end;
        char *line;
        Bg *holder;
        int status;

        /* A holder waits for the name, so the segment is held from its creation on. */
        holder = bg_start(args);
        wait_connected(holder->pid);
        ck_assert_int_eq(run_ctl(NULL, NULL, NULL, "create", "ttl.once", "4K", "--ttl", "1", NULL), 0);
        line = bg_read_line(holder, now_ms() + WAIT_MS);
        ck_assert_msg(line && strcmp(line, "held") == 0, "run --wait did not start its command (got \"%s\")",
                      line ? line : "nothing");
        free(line);

        ck_assert(seg_exists("ttl.once", &st));
        ck_assert_int_eq(st.lifetime, SHMB_LIFETIME_TTL);
        ck_assert_uint_eq(st.ttl_sec, 1);
        ck_assert_uint_eq(st.holders, 1);

        /* The last holder lets go: the segment ends after its time to live. */
        status = bg_finish(holder, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "run ended with status 0x%x", status);
        end = now_ms() + WAIT_MS;
        while (seg_exists("ttl.once", NULL)) {
                ck_assert_msg(now_ms() < end, "a segment with --ttl 1 still exists %d ms after its last holder left",
                              WAIT_MS);
                test_sleep_ms(50);
        }
}
END_TEST

/* ------------------------------------------------------------------ usage -- */

START_TEST(test_life_usage_errors) {
        char absent[400];
        char *out, *err;

        ck_assert_int_eq(run_ctl(NULL, &out, &err, "create", "u1", "4K", "--ttl", "0", NULL), 2);
        ck_assert_str_eq(out, "");
        assert_contains(err, "--ttl");
        free(out);
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "create", "u1", "4K", "--lifetime", "ttl", NULL), 2);
        assert_contains(err, "--ttl");
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "create", "u1", "4K", "--ttl", "5", "--lifetime", "holders", NULL),
                         2);
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "run", "u1", "true", NULL), 2);
        assert_contains(err, "run NAME[:ro]... -- COMMAND");
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "run", "u1", "--", NULL), 2);
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "cat", "u1", "--", "x", NULL), 2);
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "cat", "u1", "--wait", "3600001", NULL), 2);
        free(err);
        ck_assert(!seg_exists("u1", NULL));

        /* Found before connecting: the same with no daemon there. */
        snprintf(absent, sizeof(absent), "%s/absent.sock", daemon_.dir);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "--socket", absent, "create", "u1", "4K", "--ttl", "0", NULL), 2);
        assert_not_contains(err, "cannot connect");
        free(err);
        ck_assert_int_eq(run_ctl(NULL, NULL, &err, "--socket", absent, "run", "u1", "true", NULL), 2);
        assert_not_contains(err, "cannot connect");
        free(err);
}
END_TEST

/* ------------------------------------------------------------------ main -- */

static TCase *tcase(const char *name) {
        TCase *tc = tcase_create(name);

        tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
        tcase_set_timeout(tc, 60);
        return tc;
}

static Suite *ctl_life_suite(void) {
        Suite *s = suite_create("ctl-life");
        TCase *tc;

        tc = tcase("resize");
        tcase_add_test(tc, test_resize_grows);
        tcase_add_test(tc, test_resize_refusals);
        suite_add_tcase(s, tc);

        tc = tcase("publish");
        tcase_add_test(tc, test_publish_then_write);
        suite_add_tcase(s, tc);

        tc = tcase("watch");
        tcase_add_test(tc, test_watch_lines);
        tcase_add_test(tc, test_watch_json);
        tcase_add_test(tc, test_watch_rides_out_restart);
        suite_add_tcase(s, tc);

        tc = tcase("run");
        tcase_add_test(tc, test_run_fds_and_env);
        tcase_add_test(tc, test_run_readonly);
        tcase_add_test(tc, test_run_exit_status);
        suite_add_tcase(s, tc);

        tc = tcase("wait");
        tcase_add_test(tc, test_cat_wait_for_create);
        tcase_add_test(tc, test_cat_wait_timeout);
        suite_add_tcase(s, tc);

        tc = tcase("ttl");
        tcase_add_test(tc, test_create_ttl);
        suite_add_tcase(s, tc);

        tc = tcase("usage");
        tcase_add_test(tc, test_life_usage_errors);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr;
        int failed;

        /* A program that stops reading its stdin must not kill us with SIGPIPE. */
        (void)signal(SIGPIPE, SIG_IGN);
        sr = srunner_create(ctl_life_suite());
        test_run_begin();
        srunner_run_all(sr, CK_NORMAL);
        test_run_sweep();
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
