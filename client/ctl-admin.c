/*
 * shmbrokerctl admin commands, served on the admin socket: ls --all, show,
 * clients, stats, destroy, kick, log-level and metrics.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/ctl.h"
#include "util/size.h"

typedef struct AdminCommand {
        const char *name;
        int min_args;
        int max_args;
        int (*fn)(struct shmb_admin *a, char **args, int n_args);
        const char *usage;
} AdminCommand;

static int admin_fail(struct shmb_admin *a, int r, const char *what) {
        const char *msg = shmb_admin_last_error(a);

        fprintf(stderr, "shmbrokerctl: %s: %s\n", what, *msg ? msg : strerror(-r));
        return EXIT_FAIL;
}

static int cmd_ls_all(struct shmb_admin *a, char **args, int n_args) {
        struct shmb_admin_segment *v;
        CtlJsonArray arr;
        size_t n;
        int r;

        r = shmb_admin_list_segments(a, &v, &n);
        if (r < 0)
                return admin_fail(a, r, "cannot list segments");
        if (arg_json) {
                ctl_json_array_begin(&arr);
                for (size_t i = 0; i < n; i++)
                        ctl_json_array_add(&arr, ctl_json_admin_segment(&v[i]));
                shmb_admin_segments_free(v);
                return ctl_json_array_end(&arr);
        }
        printf("%-24s %10s %-7s %6s %5s %-10s %7s %-19s %-19s %s\n", "NAME", "SIZE", "BACKEND", "OWNER", "MODE",
               "LIFETIME", "HOLDERS", "CREATED(UTC)", "LAST-OPENED(UTC)", "FLAGS");
        for (size_t i = 0; i < n; i++) {
                char sz[32], t1[32], t2[32], fl[64];

                printf("%-24s %10s %-7s %6u %04o  %-10s %7u %-19s %-19s %s\n", v[i].name,
                       size_format(sz, sizeof(sz), v[i].size), shmb_backend_to_string(v[i].backend),
                       (unsigned)v[i].uid, v[i].mode, shmb_lifetime_to_string(v[i].lifetime), v[i].holders,
                       ctl_time(v[i].created_usec, t1, sizeof(t1)), ctl_time(v[i].last_opened_usec, t2, sizeof(t2)),
                       ctl_seg_flags(v[i].flags, fl, sizeof(fl)));
        }
        shmb_admin_segments_free(v);
        return EXIT_OK;
}

static struct json_object *json_holder(const struct shmb_admin_holder *h) {
        struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        ctl_json_add_u64(o, "conn_id", h->conn_id);
        ctl_json_add_u64(o, "pid", (uint64_t)h->pid);
        ctl_json_add_u64(o, "uid", h->uid);
        ctl_json_add_u64(o, "gid", h->gid);
        ctl_json_add_str(o, "comm", h->comm);
        ctl_json_add_str(o, "access", h->flags & SHMB_ADMIN_HOLD_WRITABLE ? "read-write" : "read-only");
        ctl_json_add_u64(o, "opens", h->opens);
        ctl_json_add_time(o, "since", h->since_usec);
        return o;
}

static int cmd_show(struct shmb_admin *a, char **args, int n_args) {
        char b1[32], b2[128], b3[128], t1[32], t2[32], fl[64];
        struct shmb_admin_holder *h;
        struct shmb_admin_segment s;
        size_t n;
        int r;

        r = shmb_admin_show(a, args[0], &s, &h, &n);
        if (r < 0)
                return admin_fail(a, r, "cannot show segment");
        if (arg_json) {
                struct json_object *o = json_object_new_object(), *arr = json_object_new_array_ext((int)n);

                for (size_t i = 0; arr && i < n; i++)
                        json_object_array_add(arr, json_holder(&h[i]));
                shmb_admin_holders_free(h);
                if (!o || !arr) {
                        json_object_put(o);
                        json_object_put(arr);
                        return ctl_json_print(NULL);
                }
                json_object_object_add(o, "segment", ctl_json_admin_segment(&s));
                json_object_object_add(o, "holders", arr);
                return ctl_json_print(o);
        }
        printf("name:        %s\n"
               "id:          %llu\n"
               "size:        %llu (%s)\n"
               "backend:     %s\n"
               "owner:       %s\n"
               "group:       %s\n"
               "mode:        %04o\n"
               "lifetime:    %s\n"
               "holders:     %u\n"
               "created:     %s UTC\n"
               "last opened: %s%s\n"
               "flags:       %s\n",
               s.name, (unsigned long long)s.id, (unsigned long long)s.size, size_format(b1, sizeof(b1), s.size),
               shmb_backend_to_string(s.backend), ctl_user(s.uid, b2, sizeof(b2)), ctl_group(s.gid, b3, sizeof(b3)),
               s.mode, shmb_lifetime_to_string(s.lifetime), s.holders, ctl_time(s.created_usec, t1, sizeof(t1)),
               ctl_time(s.last_opened_usec, t2, sizeof(t2)), s.last_opened_usec ? " UTC" : "",
               ctl_seg_flags(s.flags, fl, sizeof(fl)));
        if (s.shmid >= 0)
                printf("shmid:       %d\n", s.shmid);
        printf("\n%6s %8s %6s %-16s %-10s %5s %s\n", "CONN", "PID", "UID", "COMMAND", "ACCESS", "OPENS",
               "SINCE(UTC)");
        for (size_t i = 0; i < n; i++) {
                char comm[SHMB_ADMIN_COMM_MAX + 1];

                printf("%6llu %8d %6u %-16s %-10s %5llu %s\n", (unsigned long long)h[i].conn_id, (int)h[i].pid,
                       (unsigned)h[i].uid, ctl_printable(h[i].comm, comm, sizeof(comm)),
                       h[i].flags & SHMB_ADMIN_HOLD_WRITABLE ? "read-write" : "read-only",
                       (unsigned long long)h[i].opens, ctl_time(h[i].since_usec, t1, sizeof(t1)));
        }
        shmb_admin_holders_free(h);
        return EXIT_OK;
}

static struct json_object *json_client(const struct shmb_admin_client *c) {
        struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        ctl_json_add_u64(o, "conn_id", c->conn_id);
        ctl_json_add_str(o, "kind", c->flags & SHMB_ADMIN_CLIENT_ADMIN ? "admin" : "client");
        ctl_json_add_u64(o, "pid", (uint64_t)c->pid);
        ctl_json_add_u64(o, "uid", c->uid);
        ctl_json_add_u64(o, "gid", c->gid);
        ctl_json_add_str(o, "comm", c->comm);
        ctl_json_add_u64(o, "holds", c->holds);
        ctl_json_add_u64(o, "bytes_held", c->bytes_held);
        ctl_json_add_time(o, "connected", c->connected_usec);
        return o;
}

static int cmd_clients(struct shmb_admin *a, char **args, int n_args) {
        struct shmb_admin_client *v;
        size_t n;
        int r;

        r = shmb_admin_list_clients(a, &v, &n);
        if (r < 0)
                return admin_fail(a, r, "cannot list connections");
        if (arg_json) {
                CtlJsonArray arr;

                ctl_json_array_begin(&arr);
                for (size_t i = 0; i < n; i++)
                        ctl_json_array_add(&arr, json_client(&v[i]));
                shmb_admin_clients_free(v);
                return ctl_json_array_end(&arr);
        }
        printf("%6s %-6s %8s %6s %-16s %6s %10s %s\n", "CONN", "KIND", "PID", "UID", "COMMAND", "HOLDS", "HELD",
               "CONNECTED(UTC)");
        for (size_t i = 0; i < n; i++) {
                char comm[SHMB_ADMIN_COMM_MAX + 1], sz[32], t[32];

                printf("%6llu %-6s %8d %6u %-16s %6llu %10s %s\n", (unsigned long long)v[i].conn_id,
                       v[i].flags & SHMB_ADMIN_CLIENT_ADMIN ? "admin" : "client", (int)v[i].pid, (unsigned)v[i].uid,
                       ctl_printable(v[i].comm, comm, sizeof(comm)), (unsigned long long)v[i].holds,
                       size_format(sz, sizeof(sz), v[i].bytes_held), ctl_time(v[i].connected_usec, t, sizeof(t)));
        }
        shmb_admin_clients_free(v);
        return EXIT_OK;
}

/* Operations in the order they are shown: every one the library knows, then unknown types. */
static size_t known_operations(uint16_t *ops, size_t max) {
        static const uint16_t ranges[][2] = { { 0x0001, 0x0010 }, { 0x0101, 0x0110 } };
        size_t n = 0;

        for (size_t r = 0; r < 2; r++)
                for (uint16_t t = ranges[r][0]; t < ranges[r][1] && n < max; t++)
                        if (strcmp(shmb_admin_operation_to_string(t), "unknown") != 0)
                                ops[n++] = t;
        return n;
}

static struct json_object *json_stats(const struct shmb_admin_stats *st) {
        struct json_object *o = json_object_new_object(), *conns, *backends, *requests;
        uint16_t ops[64];
        size_t n_ops = known_operations(ops, 60);
        char t[64];

        if (!o)
                return NULL;
        ops[n_ops++] = 0;
        ctl_json_add_u64(o, "uptime_usec", st->uptime_usec);
        ctl_json_add_time(o, "started", st->started_usec);
        ctl_json_add_str(o, "log_level", shmb_admin_log_level_to_string(st->log_level));
        conns = json_object_new_object();
        ctl_json_add_u64(conns, "client", st->connections);
        ctl_json_add_u64(conns, "admin", st->admin_connections);
        ctl_json_add_u64(conns, "accepted_total", st->connections_total);
        ctl_json_add_u64(conns, "admin_denied_total", st->admin_denied_total);
        json_object_object_add(o, "connections", conns);
        ctl_json_add_u64(o, "segments", st->segments);
        ctl_json_add_u64(o, "bytes", st->bytes);
        ctl_json_add_u64(o, "holds", st->holds);
        backends = json_object_new_object();
        for (int b = SHMB_BACKEND_MEMFD; b < SHMB_ADMIN_BACKENDS_MAX; b++) {
                struct json_object *be;

                snprintf(t, sizeof(t), "%s", shmb_backend_to_string((enum shmb_backend)b));
                if (strcmp(t, "unknown") == 0)
                        continue;
                be = json_object_new_object();
                json_object_object_add(be, "enabled", json_object_new_boolean(st->backends[b].enabled));
                ctl_json_add_u64(be, "segments", st->backends[b].segments);
                ctl_json_add_u64(be, "bytes", st->backends[b].bytes);
                json_object_object_add(backends, t, be);
        }
        json_object_object_add(o, "backends", backends);
        requests = json_object_new_object();
        for (size_t i = 0; i < n_ops; i++) {
                struct json_object *op = json_object_new_object(), *by = json_object_new_object();
                uint64_t total = 0, errors = 0;

                for (size_t k = 0; k < st->n_counters; k++) {
                        const struct shmb_admin_counter *ct = &st->counters[k];

                        if (strcmp(shmb_admin_operation_to_string(ct->operation),
                                   shmb_admin_operation_to_string(ops[i])) != 0)
                                continue;
                        total += ct->count;
                        errors += ct->status ? ct->count : 0;
                        ctl_json_add_u64(by, shmb_admin_status_to_string(ct->status), ct->count);
                }
                if (ops[i] == 0 && total == 0) {
                        json_object_put(op);
                        json_object_put(by);
                        continue;
                }
                ctl_json_add_u64(op, "total", total);
                ctl_json_add_u64(op, "errors", errors);
                json_object_object_add(op, "by_status", by);
                json_object_object_add(requests, shmb_admin_operation_to_string(ops[i]), op);
        }
        json_object_object_add(o, "requests", requests);
        return o;
}

static int cmd_stats(struct shmb_admin *a, char **args, int n_args) {
        struct shmb_admin_stats *st;
        char b1[64], b2[64];
        uint16_t ops[64];
        size_t n_ops;
        int r;

        r = shmb_admin_stats(a, &st);
        if (r < 0)
                return admin_fail(a, r, "cannot get statistics");
        if (arg_json) {
                struct json_object *o = json_stats(st);

                shmb_admin_stats_free(st);
                return ctl_json_print(o);
        }
        printf("uptime:       %s (since %s UTC)\n", ctl_duration(st->uptime_usec, b1, sizeof(b1)),
               ctl_time(st->started_usec, b2, sizeof(b2)));
        printf("log level:    %s\n", shmb_admin_log_level_to_string(st->log_level));
        printf("connections:  %u client, %u admin (%llu accepted since start, %llu admin refused)\n",
               st->connections, st->admin_connections, (unsigned long long)st->connections_total,
               (unsigned long long)st->admin_denied_total);
        printf("segments:     %llu (%s)\n", (unsigned long long)st->segments, size_format(b1, sizeof(b1), st->bytes));
        printf("holds:        %llu\n", (unsigned long long)st->holds);
        printf("\n%-8s %-8s %10s %10s\n", "BACKEND", "ENABLED", "SEGMENTS", "BYTES");
        for (int b = SHMB_BACKEND_MEMFD; b < SHMB_ADMIN_BACKENDS_MAX; b++)
                if (strcmp(shmb_backend_to_string((enum shmb_backend)b), "unknown") != 0)
                        printf("%-8s %-8s %10llu %10s\n", shmb_backend_to_string((enum shmb_backend)b),
                               st->backends[b].enabled ? "yes" : "no", (unsigned long long)st->backends[b].segments,
                               size_format(b1, sizeof(b1), st->backends[b].bytes));
        printf("\n%-20s %10s %10s  %s\n", "OPERATION", "REQUESTS", "ERRORS", "BY STATUS");
        n_ops = known_operations(ops, 60);
        ops[n_ops++] = 0;
        for (size_t i = 0; i < n_ops; i++) {
                char by[512] = "";
                uint64_t total = 0, errors = 0;
                size_t len = 0;

                for (size_t k = 0; k < st->n_counters; k++) {
                        const struct shmb_admin_counter *ct = &st->counters[k];

                        if (strcmp(shmb_admin_operation_to_string(ct->operation),
                                   shmb_admin_operation_to_string(ops[i])) != 0)
                                continue;
                        total += ct->count;
                        errors += ct->status ? ct->count : 0;
                        len += (size_t)snprintf(by + len, len < sizeof(by) ? sizeof(by) - len : 0, "%s%s=%llu",
                                                len ? " " : "", shmb_admin_status_to_string(ct->status),
                                                (unsigned long long)ct->count);
                }
                if (total == 0 && ops[i] == 0)
                        continue;
                printf("%-20s %10llu %10llu  %s\n", shmb_admin_operation_to_string(ops[i]), (unsigned long long)total,
                       (unsigned long long)errors, by);
        }
        shmb_admin_stats_free(st);
        return EXIT_OK;
}

static int cmd_destroy(struct shmb_admin *a, char **args, int n_args) {
        uint64_t n;
        int r;

        r = shmb_admin_destroy(a, args[0], &n);
        if (r < 0)
                return admin_fail(a, r, "cannot destroy segment");
        if (arg_json) {
                struct json_object *o = json_object_new_object();

                if (o) {
                        ctl_json_add_str(o, "name", args[0]);
                        json_object_object_add(o, "destroyed", json_object_new_boolean(1));
                        ctl_json_add_u64(o, "holders_dropped", n);
                }
                return ctl_json_print(o);
        }
        ctl_verbose("destroyed %s: %llu holder%s dropped", args[0], (unsigned long long)n, n == 1 ? "" : "s");
        return EXIT_OK;
}

static int cmd_kick(struct shmb_admin *a, char **args, int n_args) {
        unsigned long pid = strtoul(args[0], NULL, 10);
        uint64_t holds;
        unsigned n;
        int r;

        r = shmb_admin_kick(a, (pid_t)pid, &n, &holds);
        if (r < 0)
                return admin_fail(a, r, "cannot disconnect");
        if (arg_json) {
                struct json_object *o = json_object_new_object();

                if (o) {
                        ctl_json_add_u64(o, "pid", pid);
                        ctl_json_add_u64(o, "connections_closed", n);
                        ctl_json_add_u64(o, "holds_released", holds);
                }
                return ctl_json_print(o);
        }
        ctl_verbose("disconnected pid %lu: %u connection%s closed, %llu hold%s released", pid, n, n == 1 ? "" : "s",
                    (unsigned long long)holds, holds == 1 ? "" : "s");
        return EXIT_OK;
}

static int cmd_log_level(struct shmb_admin *a, char **args, int n_args) {
        int old, now, r;

        if (n_args == 0) {
                r = shmb_admin_get_log_level(a, &now);
                old = now;
        } else {
                now = shmb_admin_log_level_from_string(args[0]);
                r = shmb_admin_set_log_level(a, now, &old);
        }
        if (r < 0)
                return admin_fail(a, r, "cannot change the log level");
        if (arg_json) {
                struct json_object *o = json_object_new_object();

                if (o) {
                        ctl_json_add_str(o, "old", shmb_admin_log_level_to_string(old));
                        ctl_json_add_str(o, "new", shmb_admin_log_level_to_string(now));
                }
                return ctl_json_print(o);
        }
        if (n_args == 0)
                printf("%s\n", shmb_admin_log_level_to_string(now));
        else
                ctl_verbose("log level %s -> %s", shmb_admin_log_level_to_string(old),
                            shmb_admin_log_level_to_string(now));
        return EXIT_OK;
}

static int cmd_metrics(struct shmb_admin *a, char **args, int n_args) {
        return ctl_metrics(a);
}

static const AdminCommand admin_commands[] = {
        { "ls", 0, 0, cmd_ls_all, "ls --all" },
        { "show", 1, 1, cmd_show, "show NAME" },
        { "clients", 0, 0, cmd_clients, "clients" },
        { "stats", 0, 0, cmd_stats, "stats" },
        { "destroy", 1, 1, cmd_destroy, "destroy NAME" },
        { "kick", 1, 1, cmd_kick, "kick PID" },
        { "log-level", 0, 1, cmd_log_level, "log-level [LEVEL]" },
        { "metrics", 0, 0, cmd_metrics, "metrics" },
};

static const AdminCommand *find(const char *name) {
        for (size_t i = 0; i < sizeof(admin_commands) / sizeof(admin_commands[0]); i++)
                if (strcmp(name, admin_commands[i].name) == 0)
                        return &admin_commands[i];
        return NULL;
}

/**
 * ctl_admin_is_command() - whether @name is served on the admin socket
 * @name:       command
 *
 * "ls" is, with --all.
 *
 * Return: true for admin commands.
 */
bool ctl_admin_is_command(const char *name) {
        return find(name) && (strcmp(name, "ls") != 0 || arg_all);
}

/* Arguments are checked before connecting: usage errors never depend on the daemon. */
static int check_args(const AdminCommand *cmd, char **args, int n_args) {
        if (n_args < cmd->min_args || n_args > cmd->max_args)
                return ctl_usage_error("usage: shmbrokerctl %s", cmd->usage);
        if (strcmp(cmd->name, "kick") == 0) {
                char *end;
                unsigned long pid;

                errno = 0;
                pid = strtoul(args[0], &end, 10);
                if (errno || end == args[0] || *end || args[0][0] == '-' || pid == 0 || pid > INT32_MAX)
                        return ctl_usage_error("invalid pid '%s'", args[0]);
        }
        if (strcmp(cmd->name, "log-level") == 0 && n_args == 1 && shmb_admin_log_level_from_string(args[0]) < 0)
                return ctl_usage_error("invalid log level '%s' (emerg, alert, crit, err, warning, notice, info, "
                                       "debug, or 0-7)", args[0]);
        return EXIT_OK;
}

/**
 * ctl_admin_main() - run an admin command
 * @name:       command (ctl_admin_is_command() said yes)
 * @n_args:     number of arguments after it
 * @args:       the arguments
 *
 * Return: the exit status: 0, 1 refused or failed, 2 usage, 3 no daemon at
 * the admin socket, 4 admin access denied.
 */
int ctl_admin_main(const char *name, int n_args, char **args) {
        const AdminCommand *cmd = find(name);
        struct shmb_admin *a;
        int r;

        r = check_args(cmd, args, n_args);
        if (r != EXIT_OK)
                return r;
        r = ctl_admin_open(&a);
        if (r != EXIT_OK)
                return r;
        r = cmd->fn(a, args, n_args);
        shmb_admin_free(a);
        return r;
}
