/*
 * shmbrokerd: parse options, listen, serve, shut down cleanly.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "daemon/backend.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "util/size.h"

static ManagerConfig arg_cfg;

/* Numeric limits: option name, where it goes, whether it takes a size suffix. */
static const struct {
        const char *name;
        uint64_t *value;
        bool size;
        const char *help;
} limit_options[] = {
        { "max-segment-size", &arg_cfg.max_segment_size, true, "largest segment (default: physical memory)" },
        { "max-segments", &arg_cfg.limits.max_segments, false, "segments in all" },
        { "max-bytes", &arg_cfg.limits.max_bytes, true, "bytes of segments in all (default: 4x memory)" },
        { "max-segments-per-user", &arg_cfg.limits.max_segments_per_user, false, "segments one uid may own" },
        { "max-bytes-per-user", &arg_cfg.limits.max_bytes_per_user, true, "bytes one uid may own (default: 2x memory)" },
        { "max-connections", &arg_cfg.max_connections, false, "connections in all, root exempt" },
        { "max-connections-per-user", &arg_cfg.max_connections_per_user, false,
          "connections of one uid, root exempt" },
        { "max-holds-per-connection", &arg_cfg.limits.max_holds_per_conn, false, "segments one connection may hold" },
};

static void help(void) {
        printf("Usage: shmbrokerd [OPTIONS]\n"
               "\n"
               "Broker named shared-memory segments over a Unix socket.\n"
               "\n"
               "  -s, --socket PATH                  client socket (default %s)\n"
               "      --state-dir DIR                posix/sysv/file bookkeeping, file segments (default %s)\n"
               "      --default-backend NAME         memfd (default), posix, sysv or file\n"
               "      --disable-backend NAME         refuse segments of this backend (repeatable)\n"
               "      --log-level LEVEL              err, warning, notice, info (default) or debug\n",
               SHMB_SOCKET_PATH_DEFAULT, SHMB_STATE_DIR_DEFAULT);
        for (size_t i = 0; i < ELEMENTSOF(limit_options); i++) {
                char opt[64];

                snprintf(opt, sizeof(opt), "--%s %s", limit_options[i].name, limit_options[i].size ? "SIZE" : "N");
                if (limit_options[i].size && strstr(limit_options[i].help, "default"))
                        printf("      %-31s%s\n", opt, limit_options[i].help);
                else
                        printf("      %-31s%s (default %llu)\n", opt, limit_options[i].help,
                               (unsigned long long)*limit_options[i].value);
        }
        printf("  -h, --help                         show this help\n"
               "      --version                      show the version\n"
               "\n"
               "Sizes take K, M, G, T suffixes (powers of 1024). SIGTERM or SIGINT stop the\n"
               "daemon and destroy every segment it made, except persistent file segments.\n");
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
        if (r < 0 || v == 0) {
                fprintf(stderr, "shmbrokerd: invalid value '%s' for --%s (a positive %s)\n", s,
                        limit_options[i].name, limit_options[i].size ? "size" : "number");
                return -EINVAL;
        }
        *limit_options[i].value = v;
        return 0;
}

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_LOG_LEVEL = 0x100,
                ARG_VERSION,
                ARG_STATE_DIR,
                ARG_DEFAULT_BACKEND,
                ARG_DISABLE_BACKEND,
                ARG_LIMIT, /* ARG_LIMIT + i: limit_options[i] */
        };
        static const struct option fixed[] = {
                { "socket", required_argument, NULL, 's' },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
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
        if (arg_cfg.state_dir[0] != '/') {
                fprintf(stderr, "shmbrokerd: --state-dir needs an absolute path, got '%s'\n", arg_cfg.state_dir);
                return -EINVAL;
        }
        if (arg_cfg.socket_path[0] != '/') {
                fprintf(stderr, "shmbrokerd: --socket needs an absolute path, got '%s'\n", arg_cfg.socket_path);
                return -EINVAL;
        }
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
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        (void)signal(SIGPIPE, SIG_IGN);
        raise_fd_limit();
        r = manager_new(&m, &arg_cfg);
        if (r < 0) {
                log_error_errno(r, "Failed to start: %m");
                return EXIT_FAILURE;
        }
        r = manager_listen(m);
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
