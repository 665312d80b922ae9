/*
 * shmbrokerctl: resize, publish, watch, and run COMMAND with segments as
 * inherited file descriptors.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/ctl.h"
#include "util/size.h"

#define RUN_SEGMENTS_MAX 64

/* After a change: --json prints the segment; --verbose a line "VERB NAME: BYTES bytes (SIZE)...". */
static int print_stat_after(struct shmb_client *c, const char *name, const char *verb) {
        struct shmb_stat st;
        char sz[32];
        int r;

        if (!arg_json && !arg_verbose)
                return EXIT_OK;
        r = shmb_stat(c, name, &st);
        if (r < 0)
                return ctl_fail(c, r, "cannot stat", name);
        if (arg_json)
                return ctl_json_print(ctl_json_stat(&st));
        ctl_verbose("%s %s: %llu bytes (%s)%s", verb, name, (unsigned long long)st.size,
                    size_format(sz, sizeof(sz), st.size),
                    !(st.flags & SHMB_SEG_PUBLISHED) ? ""
                    : st.flags & SHMB_SEG_FROZEN     ? ", frozen: its bytes can never change again"
                                                     : ", not frozen: holders that could write still can");
        return EXIT_OK;
}

/**
 * ctl_resize() - "resize NAME SIZE": grow a segment
 * @c:          client
 * @args:       name and size
 *
 * Return: exit status.
 */
int ctl_resize(struct shmb_client *c, char **args) {
        uint64_t size;
        int r;

        r = ctl_parse_size(NULL, args[1], 1, &size);
        if (r != EXIT_OK)
                return r;
        r = shmb_resize(c, args[0], size);
        if (r < 0)
                return ctl_fail(c, r, "cannot resize", args[0]);
        return print_stat_after(c, args[0], "resized");
}

/**
 * ctl_publish() - "publish NAME": make a segment immutable
 * @c:          client
 * @args:       name
 *
 * Return: exit status.
 */
int ctl_publish(struct shmb_client *c, char **args) {
        int r = shmb_publish(c, args[0]);

        if (r < 0)
                return ctl_fail(c, r, "cannot publish", args[0]);
        return print_stat_after(c, args[0], "published");
}

static void print_event(struct shmb_client *c, const struct shmb_event *ev, void *userdata) {
        if (arg_json) {
                struct json_object *o = json_object_new_object();

                ctl_json_add_str(o, "event", shmb_event_kind_to_string(ev->kind));
                ctl_json_add_u64(o, "seq", ev->seq);
                if (ev->kind == SHMB_EVENT_DROPPED) {
                        ctl_json_add_u64(o, "dropped", ev->dropped);
                        if (ev->flags & SHMB_EVENT_RECONNECTED)
                                json_object_object_add(o, "reconnected", json_object_new_boolean(1));
                } else {
                        ctl_json_add_str(o, "name", ev->name);
                        ctl_json_add_u64(o, "id", ev->id);
                        ctl_json_add_u64(o, "size", ev->size);
                        json_object_object_add(o, "flags", ctl_json_seg_flags(ev->flags));
                }
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                json_object_put(o);
        } else if (ev->kind == SHMB_EVENT_DROPPED && (ev->flags & SHMB_EVENT_RECONNECTED)) {
                printf("%-9s events lost while shmbrokerd was away (it restarted; how many is unknown)\n",
                       "dropped");
        } else if (ev->kind == SHMB_EVENT_DROPPED) {
                printf("%-9s %llu events lost (this reader was too slow)\n", "dropped",
                       (unsigned long long)ev->dropped);
        } else {
                printf("%-9s %s id=%llu size=%llu\n", shmb_event_kind_to_string(ev->kind), ev->name,
                       (unsigned long long)ev->id, (unsigned long long)ev->size);
        }
        fflush(stdout);
}

/**
 * ctl_watch() - "watch [PREFIX]": print events of names starting with PREFIX as they happen
 * @c:          client
 * @args:       the prefix, or NULL for every name
 *
 * A daemon restart is ridden out by the library (reconnect, subscription
 * renewed, one "dropped" line for the gap).
 *
 * Return: exit status (runs until interrupted, or until the daemon stays
 * away longer than the library's timeout).
 */
int ctl_watch(struct shmb_client *c, char **args) {
        const char *prefix = args[0] ? args[0] : "";
        uint32_t id;
        int r;

        r = shmb_watch(c, prefix, SHMB_WATCH_PREFIX, &id);
        if (r < 0)
                return ctl_fail(c, r, "cannot watch", prefix);
        for (;;) {
                struct pollfd p = { .fd = shmb_client_get_fd(c), .events = POLLIN };

                if (poll(&p, 1, -1) < 0 && errno != EINTR) {
                        fprintf(stderr, "shmbrokerctl: poll: %m\n");
                        return EXIT_FAIL;
                }
                r = shmb_client_dispatch(c, print_event, NULL);
                if (r < 0) {
                        fprintf(stderr, "shmbrokerctl: %s\n", shmb_client_last_error(c));
                        return EXIT_NOCONN;
                }
        }
}

/* "SHMBROKER_FD_" + the name, upper case, anything but letters and digits as '_'. */
static void env_key(char *buf, size_t len, const char *what, const char *name) {
        size_t n = (size_t)snprintf(buf, len, "SHMBROKER_%s_", what);

        for (; *name && n + 1 < len; name++, n++)
                buf[n] = (*name >= 'a' && *name <= 'z') ? (char)(*name - 'a' + 'A')
                         : ((*name >= 'A' && *name <= 'Z') || (*name >= '0' && *name <= '9')) ? *name
                                                                                             : '_';
        buf[n] = 0;
}

static int setenv_u64(const char *what, const char *name, uint64_t v) {
        char key[300], val[32];

        env_key(key, sizeof(key), what, name);
        snprintf(val, sizeof(val), "%llu", (unsigned long long)v);
        return setenv(key, val, 1);
}

/* In the child: segment i's fd becomes 3 + i, inherited; then exec. Never returns. */
static void run_child(int n, struct shmb_segment **segs, char **command) {
        char list[RUN_SEGMENTS_MAX * (SHMB_NAME_MAX + 8)] = "";
        int high[RUN_SEGMENTS_MAX];

        /* Move every fd above the target range first, so no dup2() overwrites one not yet placed. */
        for (int i = 0; i < n; i++) {
                int fd = shmb_segment_get_fd(segs[i]);

                high[i] = fd >= 0 ? fcntl(fd, F_DUPFD, 3 + n) : -1;
                if (fd >= 0 && high[i] < 0)
                        _exit(127);
        }
        for (int i = 0; i < n; i++) {
                const char *name = shmb_segment_get_name(segs[i]);
                size_t len = strlen(list);

                if (high[i] >= 0) {
                        if (dup2(high[i], 3 + i) < 0)
                                _exit(127);
                        close(high[i]);
                        setenv_u64("FD", name, (uint64_t)(3 + i));
                        snprintf(list + len, sizeof(list) - len, "%s%s=%d", len ? " " : "", name, 3 + i);
                } else {
                        setenv_u64("SHMID", name, (uint64_t)shmb_segment_get_shmid(segs[i]));
                        snprintf(list + len, sizeof(list) - len, "%s%s=shmid:%d", len ? " " : "", name,
                                 shmb_segment_get_shmid(segs[i]));
                }
                setenv_u64("SIZE", name, shmb_segment_get_size(segs[i]));
        }
        setenv("SHMBROKER_SEGMENTS", list, 1);
        execvp(command[0], command);
        fprintf(stderr, "shmbrokerctl: cannot run '%s': %m\n", command[0]);
        _exit(127);
}

/**
 * ctl_run() - "run NAME[:ro]... -- COMMAND [ARGS]": run a program with segments as fds
 * @n_specs:    number of NAME[:ro] arguments
 * @specs:      them
 * @command:    the program and its arguments (NULL-terminated)
 *
 * Segment i (from 0) is fd 3 + i in the program, open read-write, or
 * read-only with ":ro"; System V segments have no fd and get
 * SHMBROKER_SHMID_<NAME> instead. SHMBROKER_FD_<NAME>, SHMBROKER_SIZE_<NAME>
 * and SHMBROKER_SEGMENTS ("name=3 other=4") describe them. The holds last
 * until the program exits.
 *
 * Return: the program's exit status (128 + signal if it was killed), or
 * the usual statuses if the segments cannot be opened.
 */
int ctl_run(int n_specs, char **specs, char **command) {
        struct shmb_segment *segs[RUN_SEGMENTS_MAX];
        struct shmb_client *c = NULL;
        int n = 0, r, status, ret;
        pid_t pid;

        if (n_specs > RUN_SEGMENTS_MAX)
                return ctl_usage_error("at most %d segments", RUN_SEGMENTS_MAX);
        r = ctl_connect(&c);
        if (r != EXIT_OK)
                return r;
        for (; n < n_specs; n++) {
                char name[SHMB_NAME_MAX + 4];
                char *colon;
                unsigned flags = arg_published ? SHMB_OPEN_WAIT_PUBLISHED : 0;

                snprintf(name, sizeof(name), "%s", specs[n]);
                colon = strrchr(name, ':');
                if (colon && strcmp(colon, ":ro") == 0) {
                        *colon = 0;
                        flags |= SHMB_OPEN_RDONLY;
                }
                r = shmb_open_wait(c, name, flags, arg_wait_ms, &segs[n]);
                if (r < 0) {
                        ret = ctl_fail(c, r, "cannot open", name);
                        goto out;
                }
        }
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
                fprintf(stderr, "shmbrokerctl: fork: %m\n");
                ret = EXIT_FAIL;
                goto out;
        }
        if (pid == 0)
                run_child(n, segs, command);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        status = 127 << 8;
                        break;
                }
        ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
        while (n-- > 0)
                shmb_segment_release(segs[n]);
        shmb_client_free(c);
        return ret;
}
