/*
 * POSIX shared-memory backend: shm_open() objects named
 * "/shmb.<tag>.<segment name>", visible in /dev/shm as long as the segment
 * has its name (holders of an unlinked segment keep their fds). <tag> is
 * derived from
 * the state directory, so each daemon instance knows its own objects and
 * removes them at start if a dead instance left any.
 *
 * The object is created mode 0600 and owned by the daemon, so only the
 * broker hands it out. POSIX objects cannot be sealed: a read-write holder
 * can ftruncate() it and make other holders take SIGBUS. Read-only holders
 * get an O_RDONLY fd. The daemon never maps the object.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/log.h"
#include "daemon/registry.h"
#include "util/cleanup.h"

#define POSIX_PREFIX "shmb."
#define POSIX_NAME_MAX 255

static char posix_tag[16] = "00000000";

/* Unkeyed FNV-1a: the tag must be the same in every instance using one state directory. */
static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261u;

        for (; *s; s++) {
                h ^= (uint8_t)*s;
                h *= 16777619u;
        }
        return h;
}

/* "/shmb.<tag>.<name>"; names too long for NAME_MAX are cut and given a hash suffix. */
static void object_name(const Segment *s, char *buf, size_t len) {
        char head[64];
        size_t room;

        snprintf(head, sizeof(head), "%s%s.", POSIX_PREFIX, posix_tag);
        room = POSIX_NAME_MAX - strlen(head);
        if (strlen(s->name) <= room)
                snprintf(buf, len, "/%s%.*s", head, (int)room, s->name);
        else
                snprintf(buf, len, "/%s%.*s~%08x", head, (int)(room - 9), s->name, (unsigned)fnv1a(s->name));
}

static int posix_setup(const BackendConfig *cfg, Registry *r) {
        char prefix[64];
        struct dirent *de;
        unsigned n = 0;
        DIR *d;

        snprintf(posix_tag, sizeof(posix_tag), "%08x", (unsigned)fnv1a(cfg->state_dir));
        snprintf(prefix, sizeof(prefix), "%s%s.", POSIX_PREFIX, posix_tag);
        d = opendir("/dev/shm");
        if (!d)
                return log_warning_errno(errno, "Cannot read /dev/shm: %m; POSIX leftovers not checked, ignoring"), 0;
        while ((de = readdir(d))) {
                char path[300];

                if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
                        continue;
                snprintf(path, sizeof(path), "/%s", de->d_name);
                if (shm_unlink(path) == 0)
                        n++;
        }
        closedir(d);
        if (n > 0)
                log_notice("Removed %u POSIX shared-memory objects left by a previous instance", n);
        return 0;
}

static int posix_create(Segment *s) {
        char path[POSIX_NAME_MAX + 2];
        _cleanup_close_ int fd = -1;
        int r;

        if (s->flags & PROTO_SEG_HUGE)
                return -EOPNOTSUPP;
        if (s->size > (uint64_t)INT64_MAX)
                return -EFBIG;
        object_name(s, path, sizeof(path));
        fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
                /* Ours by its prefix, and no segment has this name: a leftover. */
                (void)shm_unlink(path);
                fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        }
        if (fd < 0)
                return -errno;
        /* From here on the name exists: destroy() must remove it on failure. */
        s->obj.fd = fd;
        fd = -1;
        if (fchmod(s->obj.fd, 0600) < 0 || ftruncate(s->obj.fd, (off_t)s->size) < 0)
                return -errno;
        if (s->flags & PROTO_SEG_RESERVED) {
                r = backend_reserve(s->obj.fd, s->size);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int posix_get_fd(Segment *s, bool writable, int *ret_fd) {
        char path[POSIX_NAME_MAX + 2];

        if (s->obj.fd < 0)
                return -EBADF;
        if (writable) {
                *ret_fd = s->obj.fd;
                return 0;
        }
        if (s->obj.ro_fd < 0) {
                object_name(s, path, sizeof(path));
                s->obj.ro_fd = shm_open(path, O_RDONLY | O_CLOEXEC, 0);
                if (s->obj.ro_fd < 0)
                        return -errno;
        }
        *ret_fd = s->obj.ro_fd;
        return 0;
}

/* The /dev/shm name goes with the segment's name; holders keep their fds. */
static void posix_unlinked(Segment *s) {
        char path[POSIX_NAME_MAX + 2];

        if (s->obj.fd < 0)
                return;
        object_name(s, path, sizeof(path));
        if (shm_unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove POSIX object %s: %m, ignoring", path);
}

static void posix_destroy(Segment *s) {
        if (s->linked)
                posix_unlinked(s);
        s->obj.fd = safe_close(s->obj.fd);
        s->obj.ro_fd = safe_close(s->obj.ro_fd);
}

const BackendOps backend_posix_ops = {
        .name = "posix",
        .setup = posix_setup,
        .create = posix_create,
        .get_fd = posix_get_fd,
        .unlinked = posix_unlinked,
        .destroy = posix_destroy,
};
