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
#include <sys/un.h>

#include "config.h"
#include "daemon/backend.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "util/size.h"

static ManagerConfig arg_cfg;
static bool arg_no_admin;
static char arg_admin_default[sizeof(((struct sockaddr_un){}).sun_path) + 16];
static char arg_admin_group[64];

static void help(void) {
        printf("Usage: shmbrokerd [OPTIONS]\n"
               "\n"
               "Broker named shared-memory segments over a Unix socket.\n"
               "\n"
               "  -s, --socket PATH            client socket (default %s)\n"
               "      --admin-socket PATH      operators' socket (default: admin.sock beside the\n"
               "                               client socket, %s)\n"
               "      --admin-group NAME|GID   this group may use the admin socket too (default: root only)\n"
               "      --no-admin               no admin socket\n"
               "      --state-dir DIR          file segments and System V records (default %s)\n"
               "      --default-backend NAME   memfd (default), posix, sysv or file\n"
               "      --disable-backend NAME   refuse segments of this backend (repeatable)\n"
               "      --log-level LEVEL        err, warning, notice, info (default) or debug\n"
               "      --max-segment-size SIZE  largest segment (default: physical memory)\n"
               "      --max-connections N      simultaneous clients (default %llu)\n"
               "      --max-segments-per-user N  segments one uid may own (default %llu)\n"
               "      --max-bytes-per-user SIZE  bytes one uid may own (default: 2x memory)\n"
               "  -h, --help                   show this help\n"
               "      --version                show the version\n"
               "\n"
               "Sizes take K, M, G, T suffixes (powers of 1024). SIGTERM or SIGINT stop the\n"
               "daemon and destroy every segment it made.\n",
               SHMB_SOCKET_PATH_DEFAULT, SHMB_ADMIN_SOCKET_PATH_DEFAULT, SHMB_STATE_DIR_DEFAULT, (unsigned long long)arg_cfg.max_connections,
               (unsigned long long)arg_cfg.limits.max_segments_per_user);
}

static int parse_u64(const char *opt, const char *s, uint64_t *ret, bool size) {
        char *end;
        int r;

        if (size) {
                r = size_parse(s, ret);
        } else {
                errno = 0;
                *ret = strtoull(s, &end, 10);
                r = (errno || end == s || *end || s[0] == '-') ? -EINVAL : 0;
        }
        if (r < 0 || *ret == 0) {
                fprintf(stderr, "shmbrokerd: invalid value '%s' for %s\n", s, opt);
                return -EINVAL;
        }
        return 0;
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

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_LOG_LEVEL = 0x100,
                ARG_MAX_SEGMENT_SIZE,
                ARG_MAX_CONNECTIONS,
                ARG_MAX_SEGMENTS_PER_USER,
                ARG_MAX_BYTES_PER_USER,
                ARG_VERSION,
                ARG_STATE_DIR,
                ARG_DEFAULT_BACKEND,
                ARG_DISABLE_BACKEND,
                ARG_ADMIN_SOCKET,
                ARG_ADMIN_GROUP,
                ARG_NO_ADMIN,
        };
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "admin-socket", required_argument, NULL, ARG_ADMIN_SOCKET },
                { "admin-group", required_argument, NULL, ARG_ADMIN_GROUP },
                { "no-admin", no_argument, NULL, ARG_NO_ADMIN },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "default-backend", required_argument, NULL, ARG_DEFAULT_BACKEND },
                { "disable-backend", required_argument, NULL, ARG_DISABLE_BACKEND },
                { "max-segment-size", required_argument, NULL, ARG_MAX_SEGMENT_SIZE },
                { "max-connections", required_argument, NULL, ARG_MAX_CONNECTIONS },
                { "max-segments-per-user", required_argument, NULL, ARG_MAX_SEGMENTS_PER_USER },
                { "max-bytes-per-user", required_argument, NULL, ARG_MAX_BYTES_PER_USER },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, level, b;

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
                case ARG_MAX_SEGMENT_SIZE:
                        if (parse_u64("--max-segment-size", optarg, &arg_cfg.max_segment_size, true) < 0)
                                return -EINVAL;
                        break;
                case ARG_MAX_CONNECTIONS:
                        if (parse_u64("--max-connections", optarg, &arg_cfg.max_connections, false) < 0)
                                return -EINVAL;
                        break;
                case ARG_MAX_SEGMENTS_PER_USER:
                        if (parse_u64("--max-segments-per-user", optarg,
                                      &arg_cfg.limits.max_segments_per_user, false) < 0)
                                return -EINVAL;
                        break;
                case ARG_MAX_BYTES_PER_USER:
                        if (parse_u64("--max-bytes-per-user", optarg, &arg_cfg.limits.max_bytes_per_user, true) < 0)
                                return -EINVAL;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("shmbrokerd %s\n", PACKAGE_VERSION);
                        return 0;
                default:
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
        if (arg_cfg.state_dir[0] != '/') {
                fprintf(stderr, "shmbrokerd: --state-dir needs an absolute path, got '%s'\n", arg_cfg.state_dir);
                return -EINVAL;
        }
        if (arg_cfg.socket_path[0] != '/') {
                fprintf(stderr, "shmbrokerd: --socket needs an absolute path, got '%s'\n", arg_cfg.socket_path);
                return -EINVAL;
        }
        if (admin_config_finish() < 0)
                return -EINVAL;
        return 1;
}

int main(int argc, char **argv) {
        Manager *m = NULL;
        int r;

        manager_config_defaults(&arg_cfg);
        log_open();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        (void)signal(SIGPIPE, SIG_IGN);
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
        if (r >= 0) {
                log_info("shmbrokerd %s running (default backend %s)", PACKAGE_VERSION,
                         backend_name(arg_cfg.default_backend));
                r = manager_run(m);
        }
        manager_free(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
