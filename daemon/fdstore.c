/*
 * Passed file descriptors and the service manager's file-descriptor store.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "daemon/fdstore.h"
#include "daemon/log.h"
#include "daemon/unit.h"
#include "util/cleanup.h"

#define SEG_PREFIX "seg-"

static const char *const mode_names[_FDSTORE_MODE_MAX] = {
        [FDSTORE_AUTO] = "auto",
        [FDSTORE_YES] = "yes",
        [FDSTORE_NO] = "no",
};

/**
 * fdstore_mode_from_string() - parse "auto", "yes" or "no"
 * @s:          text
 *
 * Return: FDSTORE_*, or -EINVAL.
 */
int fdstore_mode_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(mode_names); i++)
                if (strcmp(s, mode_names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}

static bool parse_seg_name(const char *name, uint64_t *ret) {
        char *end;

        if (strncmp(name, SEG_PREFIX, strlen(SEG_PREFIX)) != 0)
                return false;
        name += strlen(SEG_PREFIX);
        if (name[0] < '1' || name[0] > '9')
                return false;
        errno = 0;
        *ret = strtoull(name, &end, 10);
        return errno == 0 && *end == 0;
}

static int cmp_stored(const void *a, const void *b) {
        const StoredFd *x = a, *y = b;

        return x->id < y->id ? -1 : x->id > y->id;
}

/* FDSTOREREMOVE of one name. */
static void store_remove_name(const char *name) {
        char msg[128];

        snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", name);
        (void)sd_notify(0, msg);
}

/**
 * fdstore_collect() - sort out the fds passed with $LISTEN_FDS
 * @st:         store, FDSTORE_NULL
 *
 * "client", or else the one listening SOCK_SEQPACKET socket of any other
 * name (a socket unit's default name), becomes the client socket.
 * "seg-<id>" fds are kept for the restore. Everything else is closed, and
 * removed from the store in case an older version put it there.
 *
 * Return: 0, or negative errno (logged).
 */
int fdstore_collect(FdStore *st) {
        char **names = NULL;
        int n, fallback = -1;

        n = sd_listen_fds_with_names(1, &names);
        if (n < 0)
                return log_error_errno(n, "Cannot read the file descriptors passed by the service manager: %m");
        if (n == 0)
                return 0;
        st->segs = calloc((size_t)n, sizeof(*st->segs));
        if (!st->segs) {
                for (int i = 0; i < n; i++) {
                        safe_close(SD_LISTEN_FDS_START + i);
                        free(names ? names[i] : NULL);
                }
                free(names);
                return log_error_errno(ENOMEM, "Out of memory");
        }
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "unknown";
                bool listening = sd_is_socket(fd, AF_UNIX, SOCK_SEQPACKET, 1) > 0;
                uint64_t id;

                if (strcmp(name, "client") == 0 && listening && st->client_fd < 0) {
                        st->client_fd = fd;
                } else if (parse_seg_name(name, &id)) {
                        st->segs[st->n_segs++] = (StoredFd){ .id = id, .fd = fd };
                } else if (strcmp(name, "admin") == 0 && listening && st->admin_fd < 0) {
                        st->admin_fd = fd;
                } else if (listening && fallback < 0) {
                        fallback = fd;
                } else {
                        log_notice("Passed file descriptor %d named '%s' is unknown; closing it", fd, name);
                        if (!listening)
                                store_remove_name(name);
                        safe_close(fd);
                }
                free(names ? names[i] : NULL);
        }
        free(names);
        if (st->client_fd < 0 && fallback >= 0) {
                log_info("Using the passed listening socket (fd %d) as the client socket", fallback);
                st->client_fd = fallback;
        } else if (fallback >= 0) {
                safe_close(fallback);
        }
        qsort(st->segs, st->n_segs, sizeof(*st->segs), cmp_stored);
        if (st->n_segs > 0)
                log_debug("Received %zu stored segment fds", st->n_segs);
        return 0;
}

/**
 * fdstore_decide() - whether to use the store
 * @st:         store, after fdstore_collect()
 * @mode:       --fd-store
 *
 * "auto" uses it when systemd says the unit has one: $FDSTORE (systemd 254
 * and later), FileDescriptorStoreMax= over D-Bus, or stored segment fds that
 * came back with this start. "yes" uses it whenever $NOTIFY_SOCKET is set.
 */
void fdstore_decide(FdStore *st, FdStoreMode mode) {
        const char *e = getenv("FDSTORE");
        uint64_t max = 0;

        st->enabled = false;
        if (mode == FDSTORE_NO || !getenv("NOTIFY_SOCKET"))
                return;
        if (e && sscanf(e, "%" SCNu64, &max) == 1)
                st->max = max;
        else if (mode == FDSTORE_AUTO && unit_fdstore_max(&max) >= 0)
                st->max = max;
        if (mode == FDSTORE_YES)
                st->enabled = true;
        else
                st->enabled = st->max > 0 || st->n_segs > 0;
}

/**
 * fdstore_take_segment() - the stored fd of segment @id, now owned by the caller
 * @st:         store
 * @id:         segment id
 *
 * Return: the fd, or -ENOENT.
 */
int fdstore_take_segment(FdStore *st, uint64_t id) {
        StoredFd key = { .id = id }, *s;

        s = bsearch(&key, st->segs, st->n_segs, sizeof(*st->segs), cmp_stored);
        if (!s || s->fd < 0)
                return -ENOENT;
        return TAKE_FD(s->fd);
}

/**
 * fdstore_drop_unclaimed() - close stored fds no segment took, and remove them from the store
 * @st:         store
 *
 * Return: how many there were.
 */
size_t fdstore_drop_unclaimed(FdStore *st) {
        size_t n = 0;

        for (size_t i = 0; i < st->n_segs; i++) {
                char name[32];

                if (st->segs[i].fd < 0)
                        continue;
                snprintf(name, sizeof(name), SEG_PREFIX "%" PRIu64, st->segs[i].id);
                log_warning("Stored fd %s belongs to no recorded segment; dropping it", name);
                st->segs[i].fd = safe_close(st->segs[i].fd);
                store_remove_name(name);
                n++;
        }
        free(st->segs);
        st->segs = NULL;
        st->n_segs = 0;
        return n;
}

/**
 * fdstore_push() - keep a segment's memfd in the store as "seg-<id>"
 * @st:         store (no-op unless enabled)
 * @id:         segment id
 * @fd:         the memfd (duplicated by the kernel; still ours)
 */
void fdstore_push(FdStore *st, uint64_t id, int fd) {
        char msg[64];
        int r;

        if (!st->enabled)
                return;
        snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=" SEG_PREFIX "%" PRIu64, id);
        r = sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
        if (r <= 0 && st->n_push_failed++ == 0)
                log_warning_errno(r < 0 ? r : ENOTCONN,
                                  "Cannot store segment fds with the service manager (%m); "
                                  "memfd segments will not survive a restart");
}

/**
 * fdstore_remove() - drop segment @id's memfd from the store
 * @st:         store (no-op unless enabled)
 * @id:         segment id
 */
void fdstore_remove(FdStore *st, uint64_t id) {
        char name[32];

        if (!st->enabled)
                return;
        snprintf(name, sizeof(name), SEG_PREFIX "%" PRIu64, id);
        store_remove_name(name);
}

/**
 * fdstore_done() - close what is left (after a failed start)
 * @st:         store
 */
void fdstore_done(FdStore *st) {
        for (size_t i = 0; i < st->n_segs; i++)
                safe_close(st->segs[i].fd);
        free(st->segs);
        st->segs = NULL;
        st->n_segs = 0;
        st->client_fd = safe_close(st->client_fd);
        st->admin_fd = safe_close(st->admin_fd);
}
