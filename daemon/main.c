/*
 * shmbrokerd: parse options, listen, serve, shut down cleanly.
 */

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/un.h>

#include "config.h"
#include "daemon/backend.h"
#include "daemon/fdstore.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/restore.h"
#include "util/size.h"

/* Exit status for a command line that is wrong, as for shmbrokerctl (1 is a failed start). */
#define EXIT_USAGE 2

static ManagerConfig arg_cfg;
static bool arg_no_admin;
static char arg_admin_default[sizeof(((struct sockaddr_un){}).sun_path) + 16];
static char arg_admin_group[64];

/* Numeric limits: option name, where it goes, whether it takes a size suffix. */
static const struct {
        const char *name;
        uint64_t *value;
        bool size;
        const char *help;
} limit_options[] = {
        { "max-segment-size", &arg_cfg.max_segment_size, true, "largest segment (default: physical memory)" },
        { "max-segments", &arg_cfg.limits.max_segments, false, "segments in all" },
        { "max-bytes", &arg_cfg.limits.max_bytes, true, "bytes in all (default: 4x physical memory)" },
        { "max-segments-per-user", &arg_cfg.limits.max_segments_per_user, false, "segments one uid may own" },
        { "max-bytes-per-user", &arg_cfg.limits.max_bytes_per_user, true, "bytes one uid may own (default: 2x memory)" },
        { "max-connections", &arg_cfg.max_connections, false, "connections in all" },
        { "max-connections-per-user", &arg_cfg.max_connections_per_user, false, "connections of one uid" },
        { "max-holds-per-connection", &arg_cfg.limits.max_holds_per_conn, false, "holds of one connection" },
};

/* Every line within 80 columns; the details are in shmbrokerd(8). */
static void help(void) {
        printf("Usage: shmbrokerd [OPTIONS]\n"
               "\n"
               "Broker named shared-memory segments over a Unix socket.\n"
               "\n"
               "  -s, --socket PATH                client socket, unless systemd passes one\n"
               "                                   (default %s)\n"
               "      --admin-socket PATH          operators' socket (default: admin.sock\n"
               "                                   beside the client socket)\n"
               "      --admin-group NAME|GID       this group may use the admin socket too\n"
               "      --no-admin                   serve no admin socket\n"
               "      --state-dir DIR              posix, sysv and file bookkeeping, file\n"
               "                                   segments (default %s)\n"
               "      --runtime-dir DIR            restart state (default %s)\n"
               "      --fd-store auto|yes|no       keep memfds in systemd's file-descriptor\n"
               "                                   store across restarts (default auto)\n"
               "      --reclaim-grace SEC          how long holds wait for their owners after\n"
               "                                   a restart (default %d)\n"
               "      --default-backend NAME       memfd (default), posix, sysv or file\n"
               "      --disable-backend NAME       refuse this backend (repeatable)\n"
               "      --log-level LEVEL            err, warning, notice, info (default), debug\n"
               "\n"
               "Limits (root is exempt from the connection limits; SIZE takes K, M, G, T):\n",
               SHMB_SOCKET_PATH_DEFAULT, SHMB_STATE_DIR_DEFAULT, SHMB_RUNTIME_DIR_DEFAULT,
               SHMB_RECLAIM_GRACE_DEFAULT);
        for (size_t i = 0; i < ELEMENTSOF(limit_options); i++) {
                char opt[64];

                snprintf(opt, sizeof(opt), "--%s %s", limit_options[i].name, limit_options[i].size ? "SIZE" : "N");
                if (limit_options[i].size && strstr(limit_options[i].help, "default"))
                        printf("      %-29s%s\n", opt, limit_options[i].help);
                else
                        printf("      %-29s%s (default %llu)\n", opt, limit_options[i].help,
                               (unsigned long long)*limit_options[i].value);
        }
        printf("\n"
               "  -h, --help                       show this help\n"
               "      --version                    show the version\n"
               "\n"
               "SIGINT, and SIGTERM without a file-descriptor store, stop the daemon and\n"
               "destroy every segment it made, except persistent file segments. Exit status:\n"
               "0 after a clean stop, 1 if start-up failed, 2 for a wrong command line.\n"
               "See shmbrokerd(8) for the rest.\n");
}

static int parse_limit(size_t i, const char *s) {
        uint64_t v;
        char *end;
        int r;

        if (limit_options[i].size) {
                r = size_parse(s, &v);
        } else {
                errno = 0;
                v = strtoull(s, &end, 10);
                r = (errno || end == s || *end || s[0] == '-') ? -EINVAL : 0;
        }
        if (r < 0 && limit_options[i].size) {
                fprintf(stderr, "shmbrokerd: invalid size '%s' for --%s: %s\n", s, limit_options[i].name,
                        size_parse_error(s, r));
                return -EINVAL;
        }
        if (r < 0 || v == 0) {
                fprintf(stderr, "shmbrokerd: invalid value '%s' for --%s (a positive %s)\n", s,
                        limit_options[i].name, limit_options[i].size ? "size" : "number");
                return -EINVAL;
        }
        *limit_options[i].value = v;
        return 0;
}

static bool path_ok(const char *opt, const char *path) {
        if (path[0] != '/') {
                fprintf(stderr, "shmbrokerd: %s needs an absolute path, got '%s'\n", opt, path);
                return false;
        }
        if (strchr(path, '\n')) {
                fprintf(stderr, "shmbrokerd: %s must not contain a newline\n", opt);
                return false;
        }
        return true;
}

/* --admin-group: a group name, or a numeric gid (which need not have a name). */
static int parse_admin_group(const char *s) {
        struct group *gr = NULL;
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (!errno && end != s && !*end && s[0] != '-' && v < (gid_t)-1) {
                arg_cfg.admin_gid = (gid_t)v;
                gr = getgrgid(arg_cfg.admin_gid);
                snprintf(arg_admin_group, sizeof(arg_admin_group), "%s", gr ? gr->gr_name : s);
        } else {
                gr = getgrnam(s);
                if (!gr) {
                        fprintf(stderr, "shmbrokerd: --admin-group: no group named '%s'\n", s);
                        return -EINVAL;
                }
                arg_cfg.admin_gid = gr->gr_gid;
                snprintf(arg_admin_group, sizeof(arg_admin_group), "%s", s);
        }
        arg_cfg.admin_group_name = arg_admin_group;
        return 0;
}

/* The admin socket: --no-admin, --admin-socket, or admin.sock beside the client socket. */
static int admin_config_finish(void) {
        const char *slash;

        if (arg_no_admin) {
                arg_cfg.admin_socket_path = NULL;
                return 0;
        }
        if (!arg_cfg.admin_socket_path) {
                slash = strrchr(arg_cfg.socket_path, '/');
                snprintf(arg_admin_default, sizeof(arg_admin_default), "%.*s/admin.sock",
                         (int)(slash - arg_cfg.socket_path), arg_cfg.socket_path);
                arg_cfg.admin_socket_path = arg_admin_default;
        }
        if (arg_cfg.admin_socket_path[0] != '/') {
                fprintf(stderr, "shmbrokerd: --admin-socket needs an absolute path, got '%s'\n",
                        arg_cfg.admin_socket_path);
                return -EINVAL;
        }
        if (strcmp(arg_cfg.admin_socket_path, arg_cfg.socket_path) == 0) {
                fprintf(stderr, "shmbrokerd: the admin socket and the client socket must differ ('%s')\n",
                        arg_cfg.socket_path);
                return -EINVAL;
        }
        return 0;
}

static int parse_grace(const char *s) {
        unsigned long long v;
        char *end;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > 86400) {
                fprintf(stderr, "shmbrokerd: invalid value '%s' for --reclaim-grace (0 to 86400 seconds)\n", s);
                return -EINVAL;
        }
        arg_cfg.reclaim_grace_sec = v;
        return 0;
}

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_LOG_LEVEL = 0x100,
                ARG_VERSION,
                ARG_STATE_DIR,
                ARG_DEFAULT_BACKEND,
                ARG_DISABLE_BACKEND,
                ARG_ADMIN_SOCKET,
                ARG_ADMIN_GROUP,
                ARG_NO_ADMIN,
                ARG_RUNTIME_DIR,
                ARG_FD_STORE,
                ARG_RECLAIM_GRACE,
                ARG_LIMIT, /* ARG_LIMIT + i: limit_options[i] */
        };
        static const struct option fixed[] = {
                { "socket", required_argument, NULL, 's' },
                { "admin-socket", required_argument, NULL, ARG_ADMIN_SOCKET },
                { "admin-group", required_argument, NULL, ARG_ADMIN_GROUP },
                { "no-admin", no_argument, NULL, ARG_NO_ADMIN },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "fd-store", required_argument, NULL, ARG_FD_STORE },
                { "reclaim-grace", required_argument, NULL, ARG_RECLAIM_GRACE },
                { "default-backend", required_argument, NULL, ARG_DEFAULT_BACKEND },
                { "disable-backend", required_argument, NULL, ARG_DISABLE_BACKEND },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
        };
        struct option options[ELEMENTSOF(fixed) + ELEMENTSOF(limit_options) + 1] = {};
        int c, level, b;

        memcpy(options, fixed, sizeof(fixed));
        for (size_t i = 0; i < ELEMENTSOF(limit_options); i++)
                options[ELEMENTSOF(fixed) + i] =
                        (struct option){ limit_options[i].name, required_argument, NULL, ARG_LIMIT + (int)i };

        while ((c = getopt_long(argc, argv, "s:h", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        arg_cfg.socket_path = optarg;
                        break;
                case ARG_STATE_DIR:
                        arg_cfg.state_dir = optarg;
                        break;
                case ARG_ADMIN_SOCKET:
                        arg_cfg.admin_socket_path = optarg;
                        break;
                case ARG_ADMIN_GROUP:
                        if (parse_admin_group(optarg) < 0)
                                return -EINVAL;
                        break;
                case ARG_NO_ADMIN:
                        arg_no_admin = true;
                        break;
                case ARG_RUNTIME_DIR:
                        arg_cfg.runtime_dir = optarg;
                        break;
                case ARG_FD_STORE:
                        b = fdstore_mode_from_string(optarg);
                        if (b < 0) {
                                fprintf(stderr, "shmbrokerd: --fd-store takes auto, yes or no, not '%s'\n", optarg);
                                return -EINVAL;
                        }
                        arg_cfg.fd_store = (FdStoreMode)b;
                        break;
                case ARG_RECLAIM_GRACE:
                        if (parse_grace(optarg) < 0)
                                return -EINVAL;
                        break;
                case ARG_DEFAULT_BACKEND:
                case ARG_DISABLE_BACKEND:
                        b = backend_from_string(optarg);
                        if (b < 0) {
                                fprintf(stderr, "shmbrokerd: unknown backend '%s' (memfd, posix, sysv, file)\n", optarg);
                                return -EINVAL;
                        }
                        if (c == ARG_DEFAULT_BACKEND)
                                arg_cfg.default_backend = (uint8_t)b;
                        else
                                arg_cfg.backends &= ~(1u << b);
                        break;
                case ARG_LOG_LEVEL:
                        level = log_level_from_string(optarg);
                        if (level < 0) {
                                fprintf(stderr, "shmbrokerd: unknown log level '%s'\n", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(level);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("shmbrokerd %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        if (c >= ARG_LIMIT && c < ARG_LIMIT + (int)ELEMENTSOF(limit_options)) {
                                if (parse_limit((size_t)(c - ARG_LIMIT), optarg) < 0)
                                        return -EINVAL;
                                break;
                        }
                        fprintf(stderr, "Try 'shmbrokerd --help'.\n");
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "shmbrokerd: unexpected argument '%s'\nTry 'shmbrokerd --help'.\n", argv[optind]);
                return -EINVAL;
        }
        if (!(arg_cfg.backends & (1u << arg_cfg.default_backend))) {
                fprintf(stderr, "shmbrokerd: the default backend '%s' is disabled\n",
                        backend_name(arg_cfg.default_backend));
                return -EINVAL;
        }
        if (!path_ok("--state-dir", arg_cfg.state_dir) || !path_ok("--socket", arg_cfg.socket_path) ||
            !path_ok("--runtime-dir", arg_cfg.runtime_dir))
                return -EINVAL;
        if (admin_config_finish() < 0)
                return -EINVAL;
        return 1;
}

/* One fd per segment and per connection: take the hard limit as the soft one. */
static void raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_warning_errno(errno, "Failed to raise the file descriptor limit: %m, ignoring");
}

int main(int argc, char **argv) {
        Manager *m = NULL;
        int r;

        manager_config_defaults(&arg_cfg);
        log_open();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        (void)signal(SIGPIPE, SIG_IGN);
        raise_fd_limit();
        r = manager_new(&m, &arg_cfg);
        if (r < 0) {
                log_error_errno(r, "Failed to start: %m");
                return EXIT_FAILURE;
        }
        r = manager_listen(m);
        if (r >= 0)
                r = admin_listen(m);
        if (r >= 0)
                r = manager_start_backends(m);
        if (r >= 0)
                r = restore_run(m);
        if (r >= 0) {
                /* Said once every step succeeded: a start that fails logs only why. */
                log_info("shmbrokerd %s running on %s; admin socket %s; default backend %s", PACKAGE_VERSION,
                         m->socket_desc, m->admin.desc[0] ? m->admin.desc : "none",
                         backend_name(arg_cfg.default_backend));
                r = manager_run(m);
        }
        manager_free(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
