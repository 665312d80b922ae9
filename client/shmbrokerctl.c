/*
 * shmbrokerctl: command-line client of shmbrokerd, built on libshmbroker only.
 */

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "client/ctl.h"
#include "client/shmbroker.h"
#include "util/size.h"

bool arg_json;
bool arg_verbose;
uint32_t arg_wait_ms;
bool arg_published;
bool arg_all;
const char *arg_admin_socket;
const char *arg_socket;
static uint32_t arg_mode = 0600;
static int arg_lifetime = SHMB_LIFETIME_PERSISTENT;
static int arg_backend = SHMB_BACKEND_DEFAULT;
static bool arg_exclusive;
static bool arg_huge;
static bool arg_reserve;
static uint64_t arg_offset;
static uint64_t arg_length = UINT64_MAX;
static uint64_t arg_size;
static uint64_t arg_max_size;
static uint32_t arg_ttl;

static uint64_t min_u64(uint64_t a, uint64_t b) {
        return a < b ? a : b;
}

static void help(void) {
        printf("Usage: shmbrokerctl [OPTIONS] COMMAND [ARGS]\n"
               "\n"
               "Commands:\n"
               "  create NAME SIZE    create a segment (SIZE: bytes, or with K, M, G, T)\n"
               "  write NAME          copy standard input into a segment\n"
               "  cat NAME            copy a segment to standard output\n"
               "  stat NAME           show a segment's attributes\n"
               "  sync NAME           make a file segment's bytes durable\n"
               "  ls                  list the segments you may read\n"
               "  rm NAME             remove a segment's name (holders keep the memory)\n"
               "  resize NAME SIZE    grow a segment; every holder is told the new size\n"
               "  publish NAME        make a segment immutable: every later open is read-only\n"
               "  watch [PREFIX]      print events of the names starting with PREFIX\n"
               "  run NAME[:ro]... -- COMMAND [ARGS]\n"
               "                      run COMMAND with the segments as fds 3, 4, ...\n"
               "                      (SHMBROKER_FD_<NAME>, SHMBROKER_SIZE_<NAME>,\n"
               "                      SHMBROKER_SEGMENTS)\n"
               "  version             show the daemon's and this program's version\n"
               "\n"
               "Admin commands (admin socket: root or the daemon's admin group):\n"
               "  ls --all            every segment, with last-opened time\n"
               "  show NAME           a segment and every process holding it\n"
               "  clients             every connection: process, holds, bytes held\n"
               "  stats               totals per backend, requests and errors per operation\n"
               "  metrics             the statistics in the OpenMetrics (Prometheus) text format\n"
               "  destroy NAME        end a segment now: remove the name, drop every hold\n"
               "  kick PID            disconnect every connection of a process\n"
               "  log-level [LEVEL]   show or change the daemon's log level\n"
               "\n"
               "Options (before or after the command):\n"
               "  -s, --socket PATH   daemon socket (default $SHMBROKER_SOCKET, else\n"
               "                      /run/shmbrokerd/shmbrokerd.sock)\n"
               "      --admin-socket PATH  admin socket (default: admin.sock beside\n"
               "                      --socket, else $SHMBROKER_ADMIN_SOCKET, else beside\n"
               "                      $SHMBROKER_SOCKET, else /run/shmbrokerd/admin.sock)\n"
               "  -j, --json          print JSON (layouts in shmbrokerctl(1))\n"
               "  -v, --verbose       say what a command did (they print nothing on success)\n"
               "  -a, --all           ls: every segment, through the admin socket\n"
               "  -m, --mode MODE     create: octal permission bits (default 0600)\n"
               "  -l, --lifetime L    create: persistent (default) or ttl (with --ttl)\n"
               "      --ttl SEC       create: lifetime ttl, destroyed after SEC seconds unused\n"
               "      --max-size SIZE create: how far resize may grow it (memfd: charged now)\n"
               "      --wait MS       write/cat/run: wait up to MS milliseconds for the name\n"
               "      --published     write/cat/run: wait until it is published, too\n"
               "  -b, --backend B     create: memfd, posix, sysv or file (default: the daemon's)\n"
               "  -x, --exclusive     create: fail if the name exists\n"
               "      --huge          create: huge pages (memfd, sysv); size rounded up\n"
               "      --reserve       create: allocate all memory now (memfd, posix)\n"
               "  -o, --offset N      write/cat: start at byte N (default 0)\n"
               "  -n, --length N      cat: at most N bytes (default: to the end)\n"
               "  -h, --help          show this help\n"
               "      --version       show this program's version\n"
               "\n"
               "SIZE is in bytes, or with K, M, G or T (powers of 1024): 4096, 64K, 1M, 2G.\n"
               "Exit status: 0 success, 1 refused or failed, 2 usage error,\n"
               "3 cannot connect to the daemon, 4 admin access denied. See shmbrokerctl(1).\n");
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "shmbrokerctl: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'shmbrokerctl --help'.\n");
        return EXIT_USAGE;
}

/**
 * ctl_fail() - print why a request failed
 * @c:          client (its last error is printed), or NULL
 * @r:          negative errno
 * @what:       "cannot open", ...
 * @name:       what it was about
 *
 * Return: EXIT_FAIL.
 */
int ctl_fail(struct shmb_client *c, int r, const char *what, const char *name) {
        const char *msg = c ? shmb_client_last_error(c) : "";

        fprintf(stderr, "shmbrokerctl: %s '%s': %s\n", what, name, *msg ? msg : strerror(-r));
        return EXIT_FAIL;
}

static int cmd_create(struct shmb_client *c, char **args) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *s;
        int r;

        o.mode = arg_mode;
        o.lifetime = (enum shmb_lifetime)arg_lifetime;
        o.backend = (enum shmb_backend)arg_backend;
        o.flags = (arg_exclusive ? SHMB_CREATE_EXCL : 0) | (arg_huge ? SHMB_CREATE_HUGE : 0) |
                  (arg_reserve ? SHMB_CREATE_RESERVE : 0);
        o.ttl_sec = arg_ttl;
        o.max_size = arg_max_size;
        r = shmb_create(c, args[0], arg_size, &o, &s);
        if (r < 0)
                return ctl_fail(c, r, "cannot create", args[0]);
        if (arg_json) {
                struct shmb_stat st;
                struct json_object *j;

                (void)shmb_segment_get_stat(s, &st);
                j = ctl_json_stat(&st);
                if (j)
                        json_object_object_add(j, "created", json_object_new_boolean(st.flags & SHMB_SEG_CREATED));
                r = shmb_segment_release(s);
                if (r < 0) {
                        json_object_put(j);
                        return ctl_fail(c, r, "cannot release", args[0]);
                }
                return ctl_json_print(j);
        }
        if (arg_verbose) {
                struct shmb_stat st;
                char sz[32];

                (void)shmb_segment_get_stat(s, &st);
                ctl_verbose("%s %s: %llu bytes (%s), %s, %s, mode %04o",
                            st.flags & SHMB_SEG_CREATED ? "created" : "opened existing", args[0], (unsigned long long)st.size, size_format(sz, sizeof(sz), st.size),
                            shmb_backend_to_string(st.backend), shmb_lifetime_to_string(st.lifetime), st.mode);
        }
        r = shmb_segment_release(s);
        if (r < 0)
                return ctl_fail(c, r, "cannot release", args[0]);
        return EXIT_OK;
}

static int cmd_write(struct shmb_client *c, char **args) {
        struct shmb_segment *s;
        uint64_t size, pos;
        char *p;
        int r, ret = EXIT_OK;

        r = shmb_open_wait(c, args[0], arg_published ? SHMB_OPEN_WAIT_PUBLISHED : 0, arg_wait_ms, &s);
        if (r < 0)
                return ctl_fail(c, r, "cannot open", args[0]);
        size = shmb_segment_get_size(s);
        if (shmb_segment_is_readonly(s) > 0) {
                /* The daemon opens published segments read-only, whatever was asked. */
                fprintf(stderr, "shmbrokerctl: '%s' is published: it can no longer be written\n", args[0]);
                shmb_segment_release(s);
                return EXIT_FAIL;
        }
        if (arg_offset > size) {
                fprintf(stderr, "shmbrokerctl: offset %llu is beyond the end of '%s' (%llu bytes)\n",
                        (unsigned long long)arg_offset, args[0], (unsigned long long)size);
                shmb_segment_release(s);
                return EXIT_FAIL;
        }
        r = shmb_segment_map(s, (void **)&p);
        if (r < 0) {
                ret = ctl_fail(c, r, "cannot map", args[0]);
                shmb_segment_release(s);
                return ret;
        }
        for (pos = arg_offset; pos < size;) {
                ssize_t n = read(STDIN_FILENO, p + pos, (size_t)min_u64(size - pos, 1 << 20));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        fprintf(stderr, "shmbrokerctl: reading standard input: %m\n");
                        ret = EXIT_FAIL;
                        break;
                }
                if (n == 0)
                        break;
                pos += (uint64_t)n;
        }
        if (ret == EXIT_OK && pos == size) {
                char extra;
                ssize_t n;

                do
                        n = read(STDIN_FILENO, &extra, 1);
                while (n < 0 && errno == EINTR);
                if (n > 0) {
                        fprintf(stderr, "shmbrokerctl: input is longer than the %llu bytes from offset %llu to "
                                        "the end of '%s'; the rest was not written\n",
                                (unsigned long long)(size - arg_offset), (unsigned long long)arg_offset, args[0]);
                        ret = EXIT_FAIL;
                }
        }
        shmb_segment_release(s);
        if (ret == EXIT_OK && arg_json) {
                struct json_object *j = json_object_new_object();

                if (j) {
                        ctl_json_add_str(j, "name", args[0]);
                        ctl_json_add_u64(j, "offset", arg_offset);
                        ctl_json_add_u64(j, "bytes_written", pos - arg_offset);
                }
                return ctl_json_print(j);
        }
        if (ret == EXIT_OK)
                ctl_verbose("wrote %s: %llu bytes at offset %llu", args[0], (unsigned long long)(pos - arg_offset),
                            (unsigned long long)arg_offset);
        return ret;
}

static int cmd_cat(struct shmb_client *c, char **args) {
        struct shmb_segment *s;
        uint64_t size, end;
        const char *p;
        int r, ret = EXIT_OK;

        r = shmb_open_wait(c, args[0], SHMB_OPEN_RDONLY | (arg_published ? SHMB_OPEN_WAIT_PUBLISHED : 0),
                           arg_wait_ms, &s);
        if (r < 0)
                return ctl_fail(c, r, "cannot open", args[0]);
        size = shmb_segment_get_size(s);
        if (arg_offset > size) {
                fprintf(stderr, "shmbrokerctl: offset %llu is beyond the end of '%s' (%llu bytes)\n",
                        (unsigned long long)arg_offset, args[0], (unsigned long long)size);
                shmb_segment_release(s);
                return EXIT_FAIL;
        }
        end = size - arg_offset < arg_length ? size : arg_offset + arg_length;
        r = shmb_segment_map(s, (void **)&p);
        if (r < 0) {
                ret = ctl_fail(c, r, "cannot map", args[0]);
                shmb_segment_release(s);
                return ret;
        }
        for (uint64_t pos = arg_offset; pos < end;) {
                ssize_t n = write(STDOUT_FILENO, p + pos, (size_t)min_u64(end - pos, 1 << 20));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        /* A reader that stopped early (head -c) is not an error. */
                        if (errno != EPIPE) {
                                fprintf(stderr, "shmbrokerctl: writing standard output: %m\n");
                                ret = EXIT_FAIL;
                        }
                        break;
                }
                pos += (uint64_t)n;
        }
        shmb_segment_release(s);
        return ret;
}

static const char *user_name(uid_t uid, char *buf, size_t len) {
        struct passwd *pw = getpwuid(uid);

        snprintf(buf, len, "%u (%s)", (unsigned)uid, pw ? pw->pw_name : "?");
        return buf;
}

static const char *group_name(gid_t gid, char *buf, size_t len) {
        struct group *gr = getgrgid(gid);

        snprintf(buf, len, "%u (%s)", (unsigned)gid, gr ? gr->gr_name : "?");
        return buf;
}

static const char *time_format(uint64_t usec, char *buf, size_t len) {
        time_t t = (time_t)(usec / 1000000);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, len, "%llu", (unsigned long long)usec);
        return buf;
}

static int cmd_stat(struct shmb_client *c, char **args) {
        char b1[64], b2[128], b3[128], b4[64];
        struct shmb_stat st;
        int r;

        r = shmb_stat(c, args[0], &st);
        if (r < 0)
                return ctl_fail(c, r, "cannot stat", args[0]);
        if (arg_json)
                return ctl_json_print(ctl_json_stat(&st));
        printf("name:     %s\n"
               "id:       %llu\n"
               "size:     %llu (%s)\n"
               "backend:  %s\n"
               "owner:    %s\n"
               "group:    %s\n"
               "mode:     %04o\n"
               "lifetime: %s\n"
               "holders:  %u\n"
               "created:  %s\n",
               st.name, (unsigned long long)st.id, (unsigned long long)st.size, size_format(b1, sizeof(b1), st.size),
               shmb_backend_to_string(st.backend), user_name(st.uid, b2, sizeof(b2)),
               group_name(st.gid, b3, sizeof(b3)), st.mode, shmb_lifetime_to_string(st.lifetime), st.holders,
               time_format(st.created_usec, b4, sizeof(b4)));
        if (st.shmid >= 0)
                printf("shmid:    %d\n", st.shmid);
        if (st.flags & (SHMB_SEG_HUGE | SHMB_SEG_RESERVED))
                printf("memory:  %s%s\n", st.flags & SHMB_SEG_HUGE ? " huge-pages" : "",
                       st.flags & SHMB_SEG_RESERVED ? " reserved" : "");
        if (st.max_size > st.size)
                printf("max-size: %llu (%s)\n", (unsigned long long)st.max_size, size_format(b1, sizeof(b1), st.max_size));
        if (st.lifetime == SHMB_LIFETIME_TTL)
                printf("ttl:      %u s\n", st.ttl_sec);
        if (st.flags & SHMB_SEG_PUBLISHED)
                printf("state:    published%s\n", st.flags & SHMB_SEG_FROZEN ? ", frozen" : "");
        return EXIT_OK;
}

/* {"name": NAME, "<what>": true} */
static int json_name_status(const char *name, const char *what) {
        struct json_object *j = json_object_new_object();

        if (j) {
                ctl_json_add_str(j, "name", name);
                json_object_object_add(j, what, json_object_new_boolean(1));
        }
        return ctl_json_print(j);
}

static int cmd_sync(struct shmb_client *c, char **args) {
        int r = shmb_sync(c, args[0]);

        if (r < 0)
                return ctl_fail(c, r, "cannot sync", args[0]);
        if (arg_json)
                return json_name_status(args[0], "synced");
        ctl_verbose("synced %s: its bytes are on disk", args[0]);
        return EXIT_OK;
}

static int cmd_ls(struct shmb_client *c, char **args) {
        struct shmb_stat *v;
        size_t n;
        int r;

        r = shmb_list(c, &v, &n);
        if (r < 0)
                return ctl_fail(c, r, "cannot list", "segments");
        if (arg_json) {
                CtlJsonArray arr;

                ctl_json_array_begin(&arr);
                for (size_t i = 0; i < n; i++)
                        ctl_json_array_add(&arr, ctl_json_stat(&v[i]));
                shmb_list_free(v);
                return ctl_json_array_end(&arr);
        }
        printf("%-24s %10s %-7s %8s %5s %-10s %7s\n", "NAME", "SIZE", "BACKEND", "OWNER", "MODE", "LIFETIME",
               "HOLDERS");
        for (size_t i = 0; i < n; i++) {
                char sz[32];

                printf("%-24s %10s %-7s %8u %04o  %-10s %7u\n", v[i].name, size_format(sz, sizeof(sz), v[i].size),
                       shmb_backend_to_string(v[i].backend), (unsigned)v[i].uid, v[i].mode,
                       shmb_lifetime_to_string(v[i].lifetime), v[i].holders);
        }
        shmb_list_free(v);
        return EXIT_OK;
}

static int cmd_rm(struct shmb_client *c, char **args) {
        int r = shmb_unlink(c, args[0]);

        if (r < 0)
                return ctl_fail(c, r, "cannot remove", args[0]);
        if (arg_json)
                return json_name_status(args[0], "removed");
        ctl_verbose("removed %s: holders keep the memory, new opens fail", args[0]);
        return EXIT_OK;
}

static int cmd_version(struct shmb_client *c, char **args) {
        if (arg_json) {
                const char *daemon = shmb_client_server_version(c);
                struct json_object *j = json_object_new_object();

                /* Both members are bare versions: HELLO says "shmbrokerd 0.1.0". */
                if (strncmp(daemon, "shmbrokerd ", 11) == 0)
                        daemon += 11;
                if (j) {
                        ctl_json_add_str(j, "shmbrokerctl", PACKAGE_VERSION);
                        ctl_json_add_str(j, "daemon", daemon);
                }
                return ctl_json_print(j);
        }
        printf("shmbrokerctl %s\n%s\n", PACKAGE_VERSION, shmb_client_server_version(c));
        return EXIT_OK;
}

static const struct {
        const char *name;
        int n_args;
        int (*fn)(struct shmb_client *c, char **args);
        const char *usage;
} commands[] = {
        { "create", 2, cmd_create, "create NAME SIZE" },
        { "write", 1, cmd_write, "write NAME" },
        { "cat", 1, cmd_cat, "cat NAME" },
        { "stat", 1, cmd_stat, "stat NAME" },
        { "sync", 1, cmd_sync, "sync NAME" },
        { "ls", 0, cmd_ls, "ls" },
        { "rm", 1, cmd_rm, "rm NAME" },
        { "version", 0, cmd_version, "version" },
        { "resize", 2, ctl_resize, "resize NAME SIZE" },
        { "publish", 1, ctl_publish, "publish NAME" },
        { "watch", -1, ctl_watch, "watch [PREFIX]" },
};

/**
 * ctl_parse_size() - parse a size argument, explaining a refusal
 * @opt:        the option it belongs to ("--max-size"), or NULL for a command's SIZE
 * @s:          the text
 * @min:        smallest value accepted (0 or 1)
 * @ret:        the bytes
 *
 * Return: EXIT_OK, or EXIT_USAGE after saying what is wrong.
 */
int ctl_parse_size(const char *opt, const char *s, uint64_t min, uint64_t *ret) {
        uint64_t v;
        int r;

        r = size_parse(s, &v);
        if (r < 0)
                return usage_error("invalid size '%s'%s%s: %s", s, opt ? " for " : "", opt ? opt : "",
                                   size_parse_error(s, r));
        if (v < min)
                return usage_error("invalid size '%s'%s%s: at least %llu byte", s, opt ? " for " : "",
                                   opt ? opt : "", (unsigned long long)min);
        *ret = v;
        return EXIT_OK;
}

/* The element of @argv that starts with "-" and a digit, for the message about it. */
static const char *negative_arg(int argc, char **argv) {
        for (int i = 1; i < argc; i++)
                if (argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9')
                        return argv[i];
        return "-?";
}

/* getopt's refusals in our words (opterr is 0). */
static int option_error(int opt, int argc, char **argv) {
        const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

        if (opt == ':')
                return usage_error("option '%s' needs a value", arg);
        if (optopt >= '0' && optopt <= '9')
                return usage_error("'%s' is not an option, and no size, offset or length can be negative",
                                   negative_arg(argc, argv));
        if (optopt > 0 && optopt < 0x100)
                return usage_error("unknown option '-%c'", optopt);
        return usage_error("unknown option '%s'", arg);
}

int main(int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_HUGE, ARG_RESERVE, ARG_ADMIN_SOCKET, ARG_TTL, ARG_MAX_SIZE, ARG_WAIT,
               ARG_PUBLISHED };
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },  { "mode", required_argument, NULL, 'm' },
                { "lifetime", required_argument, NULL, 'l' }, { "backend", required_argument, NULL, 'b' },
                { "exclusive", no_argument, NULL, 'x' },      { "offset", required_argument, NULL, 'o' },
                { "length", required_argument, NULL, 'n' },   { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION }, { "huge", no_argument, NULL, ARG_HUGE },
                { "reserve", no_argument, NULL, ARG_RESERVE }, { "json", no_argument, NULL, 'j' },
                { "all", no_argument, NULL, 'a' },            { "admin-socket", required_argument, NULL, ARG_ADMIN_SOCKET },
                { "ttl", required_argument, NULL, ARG_TTL },  { "max-size", required_argument, NULL, ARG_MAX_SIZE },
                { "wait", required_argument, NULL, ARG_WAIT }, { "published", no_argument, NULL, ARG_PUBLISHED },
                { "verbose", no_argument, NULL, 'v' },
                {},
        };
        struct shmb_client *c = NULL;
        char **command = NULL;
        unsigned long v;
        char *end;
        int opt, r;

        /* "run ... -- COMMAND ARGS": what follows "--" is the command's, never ours. */
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--") == 0) {
                        command = argv + i + 1;
                        argv[i] = NULL;
                        argc = i;
                        break;
                }

        opterr = 0;
        while ((opt = getopt_long(argc, argv, ":s:m:l:b:xo:n:hjav", options, NULL)) >= 0) {
                switch (opt) {
                case 's':
                case ARG_ADMIN_SOCKET:
                        if (!*optarg)
                                return usage_error("%s needs a path: an empty one names no socket",
                                                   opt == 's' ? "--socket" : "--admin-socket");
                        if (opt == 's')
                                arg_socket = optarg;
                        else
                                arg_admin_socket = optarg;
                        break;
                case 'j':
                        arg_json = true;
                        break;
                case 'v':
                        arg_verbose = true;
                        break;
                case 'a':
                        arg_all = true;
                        break;
                case 'm': {
                        unsigned long m;

                        errno = 0;
                        m = strtoul(optarg, &end, 8);
                        if (errno || end == optarg || *end || m > 0777 || optarg[0] == '-')
                                return usage_error("invalid mode '%s' (octal, 0000-0777)", optarg);
                        arg_mode = (uint32_t)m;
                        break;
                }
                case 'l':
                        arg_lifetime = shmb_lifetime_from_string(optarg);
                        if (arg_lifetime < 0)
                                return usage_error("invalid lifetime '%s' (holders, creator, persistent, ttl)", optarg);
                        break;
                case 'b':
                        arg_backend = shmb_backend_from_string(optarg);
                        if (arg_backend < 0)
                                return usage_error("invalid backend '%s' (memfd, posix, sysv, file)", optarg);
                        break;
                case 'x':
                        arg_exclusive = true;
                        break;
                case ARG_HUGE:
                        arg_huge = true;
                        break;
                case ARG_TTL:
                case ARG_WAIT:
                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || optarg[0] == '-' ||
                            (opt == ARG_TTL ? v == 0 || v > UINT32_MAX : v > 3600000))
                                return usage_error("invalid value '%s' for %s", optarg,
                                                   opt == ARG_TTL ? "--ttl (seconds, at least 1)"
                                                                  : "--wait (milliseconds, at most 3600000)");
                        if (opt == ARG_TTL) {
                                arg_ttl = (uint32_t)v;
                                arg_lifetime = SHMB_LIFETIME_TTL;
                        } else {
                                arg_wait_ms = (uint32_t)v;
                        }
                        break;
                case ARG_MAX_SIZE:
                        r = ctl_parse_size("--max-size", optarg, 1, &arg_max_size);
                        if (r != EXIT_OK)
                                return r;
                        break;
                case ARG_PUBLISHED:
                        arg_published = true;
                        break;
                case ARG_RESERVE:
                        arg_reserve = true;
                        break;
                case 'o':
                        r = ctl_parse_size("--offset", optarg, 0, &arg_offset);
                        if (r != EXIT_OK)
                                return r;
                        break;
                case 'n':
                        r = ctl_parse_size("--length", optarg, 0, &arg_length);
                        if (r != EXIT_OK)
                                return r;
                        break;
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_VERSION:
                        printf("shmbrokerctl %s\n", PACKAGE_VERSION);
                        return EXIT_OK;
                default:
                        return option_error(opt, argc, argv);
                }
        }
        if (optind >= argc)
                return usage_error("missing command");
        if ((arg_lifetime == SHMB_LIFETIME_TTL) != (arg_ttl != 0))
                return usage_error("--lifetime ttl goes with --ttl SEC");
        if (strcmp(argv[optind], "run") == 0) {
                if (optind + 1 >= argc || !command || !command[0])
                        return usage_error("usage: shmbrokerctl run NAME[:ro]... -- COMMAND [ARGS]");
                return ctl_run(argc - optind - 1, argv + optind + 1, command);
        }
        if (command)
                return usage_error("'--' is for run only");
        (void)signal(SIGPIPE, SIG_IGN);
        if (ctl_admin_is_command(argv[optind]))
                return ctl_admin_main(argv[optind], argc - optind - 1, argv + optind + 1);
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(argv[optind], commands[i].name) != 0)
                        continue;
                if (commands[i].n_args >= 0 ? argc - optind - 1 != commands[i].n_args : argc - optind - 1 > 1)
                        return usage_error("usage: shmbrokerctl %s", commands[i].usage);
                /* Arguments are checked before connecting: usage errors never depend on the daemon. */
                if (commands[i].fn == cmd_create || commands[i].fn == ctl_resize) {
                        r = ctl_parse_size(NULL, argv[optind + 2], 1, &arg_size);
                        if (r != EXIT_OK)
                                return r;
                }
                if (commands[i].fn == cmd_create && (arg_lifetime == SHMB_LIFETIME_HOLDERS ||
                                                     arg_lifetime == SHMB_LIFETIME_CREATOR))
                        return usage_error("--lifetime %s would end the segment at once: this command is its "
                                           "%s and exits\nright after creating it. Keep it with the default "
                                           "lifetime (persistent) and remove it\nwith rm, or let it end SEC "
                                           "seconds after its last holder with --ttl SEC.",
                                           shmb_lifetime_to_string(arg_lifetime),
                                           arg_lifetime == SHMB_LIFETIME_HOLDERS ? "only holder" : "creator");
                r = ctl_connect(&c);
                if (r != EXIT_OK)
                        return r;
                r = commands[i].fn(c, argv + optind + 1);
                shmb_client_free(c);
                return r;
        }
        return usage_error("unknown command '%s'", argv[optind]);
}
