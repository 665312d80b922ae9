/*
 * File backend: a regular file per segment, <state-dir>/segments/data/<name>,
 * with its attributes in <state-dir>/segments/meta/<name>. Persistent file
 * segments survive a daemon stop, a crash and a reboot; at start the daemon
 * registers them again, and removes file segments of any other lifetime
 * (their holders are gone with the dead instance).
 *
 * Every block is allocated at create (fallocate), so a full disk is an error
 * then, never a SIGBUS later. Files are mode 0600, owned by the daemon, in a
 * directory only the daemon can enter; a regular file cannot be sealed, so a
 * read-write holder could still ftruncate() it (documented). SYNC makes the
 * bytes durable (fdatasync), whoever wrote them through a shared mapping.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/log.h"
#include "daemon/registry.h"
#include "protocol/shmb-proto.h"
#include "util/cleanup.h"

static int data_dir_fd = -1;
static int meta_dir_fd = -1;

static int open_dir_at(int at, const char *name, int *ret) {
        if (mkdirat(at, name, 0700) < 0 && errno != EEXIST)
                return -errno;
        *ret = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return *ret < 0 ? -errno : 0;
}

static int meta_write(const Segment *s) {
        /* One create at a time (one thread), so one temporary name does; "." starts no segment name. */
        static const char tmp[] = ".new";
        _cleanup_close_ int fd = -1;
        char buf[512];
        int n;

        n = snprintf(buf, sizeof(buf),
                     "version=1\nsize=%llu\nuid=%u\ngid=%u\nmode=%o\nlifetime=%u\nflags=%u\ncreated=%llu\n",
                     (unsigned long long)s->size, (unsigned)s->uid, (unsigned)s->gid, s->mode, s->lifetime,
                     s->flags, (unsigned long long)s->created_usec);
        fd = openat(meta_dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (write(fd, buf, (size_t)n) != n || fdatasync(fd) < 0) {
                int r = errno ? -errno : -EIO;

                (void)unlinkat(meta_dir_fd, tmp, 0);
                return r;
        }
        if (renameat(meta_dir_fd, tmp, meta_dir_fd, s->name) < 0)
                return -errno;
        (void)fsync(meta_dir_fd);
        return 0;
}

static int meta_read(const char *name, SegmentParams *p) {
        unsigned long long size = 0, created = 0;
        unsigned uid = 0, gid = 0, mode = 0, lifetime = 0, flags = 0, version = 0;
        char buf[512];
        _cleanup_close_ int fd = -1;
        ssize_t n;

        fd = openat(meta_dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        if (sscanf(buf, "version=%u\nsize=%llu\nuid=%u\ngid=%u\nmode=%o\nlifetime=%u\nflags=%u\ncreated=%llu",
                   &version, &size, &uid, &gid, &mode, &lifetime, &flags, &created) != 8 || version != 1 ||
            size == 0 || mode > 0777 || lifetime >= _PROTO_LIFETIME_MAX)
                return -EBADMSG;
        *p = (SegmentParams){ .size = size, .uid = uid, .gid = gid, .mode = mode, .lifetime = (uint8_t)lifetime,
                              .backend = PROTO_BACKEND_FILE, .flags = (uint16_t)flags, .created_usec = created };
        return 0;
}

static void remove_segment_files(const char *name) {
        (void)unlinkat(data_dir_fd, name, 0);
        (void)unlinkat(meta_dir_fd, name, 0);
}

/* Register one persistent segment found on disk; remove anything else. */
static int restore_one(Registry *r, const char *name, unsigned *restored, unsigned *removed) {
        _cleanup_close_ int fd = -1;
        SegmentParams p;
        struct stat st;
        Segment *s;
        int ret;

        if (!proto_name_valid(name, strlen(name)) || meta_read(name, &p) < 0 ||
            p.lifetime != PROTO_LIFETIME_PERSISTENT) {
                remove_segment_files(name);
                (*removed)++;
                return 0;
        }
        fd = openat(data_dir_fd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != p.size) {
                log_warning("File segment '%s' is missing or has the wrong size; removing it", name);
                remove_segment_files(name);
                (*removed)++;
                return 0;
        }
        p.name = name;
        ret = registry_create(r, &p, NULL, &s);
        if (ret != 0)
                return log_error_errno(ret < 0 ? ret : EDQUOT, "Cannot restore file segment '%s': %s", name,
                                       ret < 0 ? strerror(-ret) : registry_strerror(ret));
        s->obj.fd = TAKE_FD(fd);
        (*restored)++;
        return 0;
}

static int file_setup(const BackendConfig *cfg, Registry *r) {
        _cleanup_close_ int state_fd = -1, seg_fd = -1;
        unsigned restored = 0, removed = 0;
        struct dirent *de;
        DIR *d;
        int fd, ret;

        state_fd = open(cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state_fd < 0)
                return log_error_errno(errno, "Cannot open state directory '%s': %m", cfg->state_dir);
        ret = open_dir_at(state_fd, "segments", &seg_fd);
        if (ret < 0)
                return log_error_errno(ret, "Cannot create %s/segments: %m", cfg->state_dir);
        ret = open_dir_at(seg_fd, "meta", &meta_dir_fd);
        if (ret < 0)
                return log_error_errno(ret, "Cannot create %s/segments/meta: %m", cfg->state_dir);
        ret = open_dir_at(seg_fd, "data", &data_dir_fd);
        if (ret < 0)
                return log_error_errno(ret, "Cannot create %s/segments/data: %m", cfg->state_dir);

        /* Every data file is a segment candidate; meta files without data are stale. */
        fd = fcntl(data_dir_fd, F_DUPFD_CLOEXEC, 3);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d)
                return log_error_errno(errno, "Cannot read %s/segments/data: %m", cfg->state_dir);
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                ret = restore_one(r, de->d_name, &restored, &removed);
                if (ret < 0)
                        break;
        }
        closedir(d);
        if (ret < 0)
                return ret;
        fd = fcntl(meta_dir_fd, F_DUPFD_CLOEXEC, 3);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (d) {
                while ((de = readdir(d)))
                        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
                            faccessat(data_dir_fd, de->d_name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                                (void)unlinkat(meta_dir_fd, de->d_name, 0);
                closedir(d);
        }
        if (restored || removed)
                log_info("File backend: restored %u persistent segments, removed %u left by ended lifetimes",
                         restored, removed);
        return 0;
}

static int file_create(Segment *s) {
        int fd, r;

        if (s->flags & PROTO_SEG_HUGE)
                return -EOPNOTSUPP;
        if (s->size > (uint64_t)INT64_MAX)
                return -EFBIG;
        fd = openat(data_dir_fd, s->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno == EEXIST) {
                /* No segment has this name (files go with names): a leftover. */
                remove_segment_files(s->name);
                fd = openat(data_dir_fd, s->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        }
        if (fd < 0)
                return -errno;
        s->obj.fd = fd; /* from here on destroy() removes the file */
        r = backend_reserve(fd, s->size);
        if (r >= 0)
                s->flags |= PROTO_SEG_RESERVED;
        else if (r == -EOPNOTSUPP)
                /* A file system without fallocate: a sparse file, and a full disk shows later. */
                r = ftruncate(fd, (off_t)s->size) < 0 ? -errno : 0;
        if (r < 0)
                return r;
        return meta_write(s);
}

static int file_get_fd(Segment *s, bool writable, int *ret_fd) {
        if (s->obj.fd < 0)
                return -EBADF;
        if (writable) {
                *ret_fd = s->obj.fd;
                return 0;
        }
        if (s->obj.ro_fd < 0) {
                s->obj.ro_fd = openat(data_dir_fd, s->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (s->obj.ro_fd < 0)
                        return -errno;
        }
        *ret_fd = s->obj.ro_fd;
        return 0;
}

static int file_sync(Segment *s) {
        if (s->obj.fd < 0)
                return -EBADF;
        return fdatasync(s->obj.fd) < 0 ? -errno : 0;
}

static void file_close(Segment *s) {
        s->obj.fd = safe_close(s->obj.fd);
        s->obj.ro_fd = safe_close(s->obj.ro_fd);
}

/* Files go with the name, so a new segment of that name never meets them. */
static void file_unlinked(Segment *s) {
        if (s->obj.fd >= 0)
                remove_segment_files(s->name);
}

static void file_destroy(Segment *s) {
        if (s->linked)
                file_unlinked(s);
        file_close(s);
}

static void file_detach(Segment *s) {
        if (s->lifetime == PROTO_LIFETIME_PERSISTENT && s->linked) {
                (void)fdatasync(s->obj.fd);
                file_close(s);
        } else {
                file_destroy(s);
        }
}

const BackendOps backend_file_ops = {
        .name = "file",
        .setup = file_setup,
        .create = file_create,
        .get_fd = file_get_fd,
        .sync = file_sync,
        .unlinked = file_unlinked,
        .destroy = file_destroy,
        .detach = file_detach,
};
