/*
 * shmbrokerd: parse options, listen, serve, shut down cleanly.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon/backend.h"
#include "daemon/log.h"
#include "daemon/fdstore.h"
#include "daemon/manager.h"
#include "daemon/restore.h"
#include "util/size.h"

static ManagerConfig arg_cfg;

static void help(void) {
        printf("Usage: shmbrokerd [OPTIONS]\n"
               "\n"
               "Broker named shared-memory segments over a Unix socket.\n"
               "\n"
               "  -s, --socket PATH            client socket when not passed by systemd (default %s)\n"
               "      --state-dir DIR          file segments and System V records (default %s)\n"
               "      --runtime-dir DIR        restart state, under systemd (default %s)\n"
               "      --fd-store MODE          keep memfds in systemd's file-descriptor store across\n"
               "                               restarts: auto (default: if the unit has one), yes, no\n"
               "      --reclaim-grace SEC      after a restart, how long holds wait for their owners\n"
               "                               to reclaim them (default %d)\n"
               "      --default-backend NAME   memfd (default), posix, sysv or file\n"
               "      --disable-backend NAME   refuse segments of this backend (repeatable)\n"
               "      --log-level LEVEL        err, warning, notice, info (default) or debug\n"
               "      --max-segment-size SIZE  largest segment (default: physical memory)\n"
               "      --max-connections N      simultaneous clients (default %llu)\n"
               "      --max-segments N         segments in all (default %llu)\n"
               "      --max-segments-per-user N  segments one uid may own (default %llu)\n"
               "      --max-bytes-per-user SIZE  bytes one uid may own (default: 2x memory)\n"
               "  -h, --help                   show this help\n"
               "      --version                show the version\n"
               "\n"
               "Sizes take K, M, G, T suffixes (powers of 1024). SIGINT, and SIGTERM without a\n"
               "file-descriptor store, stop the daemon and destroy every segment it made. Under\n"
               "systemd with a store, SIGTERM for a restart keeps every segment for the next\n"
               "instance; SIGTERM for a stop destroys them.\n",
               SHMB_SOCKET_PATH_DEFAULT, SHMB_STATE_DIR_DEFAULT, SHMB_RUNTIME_DIR_DEFAULT, SHMB_RECLAIM_GRACE_DEFAULT,
               (unsigned long long)arg_cfg.max_connections, (unsigned long long)arg_cfg.limits.max_segments,
               (unsigned long long)arg_cfg.limits.max_segments_per_user);
}

static int parse_u64_full(const char *opt, const char *s, uint64_t *ret, bool size, bool zero_ok) {
        char *end;
        int r;

        if (size) {
                r = size_parse(s, ret);
        } else {
                errno = 0;
                *ret = strtoull(s, &end, 10);
                r = (errno || end == s || *end || s[0] == '-') ? -EINVAL : 0;
        }
        if (r < 0 || (*ret == 0 && !zero_ok)) {
                fprintf(stderr, "shmbrokerd: invalid value '%s' for %s\n", s, opt);
                return -EINVAL;
        }
        return 0;
}

static int parse_u64(const char *opt, const char *s, uint64_t *ret, bool size) {
        return parse_u64_full(opt, s, ret, size, false);
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
                ARG_RUNTIME_DIR,
                ARG_FD_STORE,
                ARG_RECLAIM_GRACE,
                ARG_MAX_SEGMENTS,
        };
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "fd-store", required_argument, NULL, ARG_FD_STORE },
                { "reclaim-grace", required_argument, NULL, ARG_RECLAIM_GRACE },
                { "max-segments", required_argument, NULL, ARG_MAX_SEGMENTS },
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
                        if (parse_u64_full("--reclaim-grace", optarg, &arg_cfg.reclaim_grace_sec, false, true) < 0)
                                return -EINVAL;
                        break;
                case ARG_MAX_SEGMENTS:
                        if (parse_u64("--max-segments", optarg, &arg_cfg.limits.max_segments, false) < 0)
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
        if (!path_ok("--state-dir", arg_cfg.state_dir) || !path_ok("--socket", arg_cfg.socket_path) ||
            !path_ok("--runtime-dir", arg_cfg.runtime_dir))
                return -EINVAL;
        if (arg_cfg.reclaim_grace_sec > 86400) {
                fprintf(stderr, "shmbrokerd: --reclaim-grace is at most 86400 seconds\n");
                return -EINVAL;
        }
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
                r = manager_start_backends(m);
        if (r >= 0)
                r = restore_run(m);
        if (r >= 0) {
                log_info("shmbrokerd %s running (default backend %s)", PACKAGE_VERSION,
                         backend_name(arg_cfg.default_backend));
                r = manager_run(m);
        }
        manager_free(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
