/*
 * memfd backend. The object is sized to the segment's maximum size and sealed
 * against shrinking and growing before any fd leaves the daemon, so no holder
 * can make another take SIGBUS. A resize grows the segment within that
 * maximum. F_SEAL_SEAL waits for publish, which adds a write seal first; a
 * read-only fd cannot add seals, and the seals a writer could add only take
 * writability away, never memory. Its inode mode is then set to 0400: a read-only fd,
 * made by reopening the daemon's own fd read-only, cannot be turned into a
 * writable one through /proc/self/fd by anyone but the daemon's uid or root.
 *
 * With PROTO_SEG_HUGE the memfd lives on hugetlbfs and its pages are always
 * allocated at create (a hugetlb fault without a page would be SIGBUS);
 * with PROTO_SEG_RESERVE ordinary pages are allocated at create too.
 *
 * Across a daemon restart the memfd lives on in the service manager's
 * file-descriptor store and comes back to restore(), which checks that it
 * still is what the record says: a sealed regular file of the recorded size.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/registry.h"
#include "util/cleanup.h"

#define MEMFD_SEALS (F_SEAL_SHRINK | F_SEAL_GROW)

static int memfd_create_object(Segment *s) {
        _cleanup_close_ int fd = -1;
        unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
        char label[64];
        int r;

        if (s->max_size > (uint64_t)INT64_MAX)
                return -EFBIG;
        if (s->flags & PROTO_SEG_HUGE)
                flags |= MFD_HUGETLB;
        /* The memfd name is a label for /proc; the kernel caps it at 249 bytes. */
        snprintf(label, sizeof(label), "shmb:%.58s", s->name);
        fd = memfd_create(label, flags);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t)s->max_size) < 0)
                return -errno;
        if (s->flags & (PROTO_SEG_HUGE | PROTO_SEG_RESERVED)) {
                r = backend_reserve(fd, s->max_size);
                if (r < 0)
                        return r;
                s->flags |= PROTO_SEG_RESERVED;
        }
        if (fcntl(fd, F_ADD_SEALS, MEMFD_SEALS) < 0)
                return -errno;
        if (fchmod(fd, 0400) < 0)
                return -errno;
        s->obj.fd = TAKE_FD(fd);
        return 0;
}

static int memfd_get_fd(Segment *s, bool writable, int *ret_fd) {
        char path[64];
        int fd;

        if (s->obj.fd < 0)
                return -EBADF;
        if (writable) {
                *ret_fd = s->obj.fd;
                return 0;
        }
        if (s->obj.ro_fd < 0) {
                snprintf(path, sizeof(path), "/proc/self/fd/%d", s->obj.fd);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                s->obj.ro_fd = fd;
        }
        *ret_fd = s->obj.ro_fd;
        return 0;
}

/* The object already has the maximum size: growing is the registry's business. */
static int memfd_resize(Segment *s, uint64_t size) {
        return size <= s->max_size ? 0 : -EFBIG;
}

static int memfd_publish(Segment *s, bool *ret_frozen) {
        /* F_SEAL_WRITE needs no writable mapping anywhere; else writes through fds and new
         * mappings stop (F_SEAL_FUTURE_WRITE) while existing writable mappings still write. */
        if (fcntl(s->obj.fd, F_ADD_SEALS, F_SEAL_WRITE) == 0)
                *ret_frozen = true;
        else if (errno == EBUSY && fcntl(s->obj.fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0)
                *ret_frozen = false;
        else
                return -errno;
        return fcntl(s->obj.fd, F_ADD_SEALS, F_SEAL_SEAL) < 0 ? -errno : 0;
}

static int memfd_restore(Segment *s, int fd) {
        struct stat st;
        int seals;

        if (fd < 0)
                return -ENOENT;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != s->max_size ||
            st.st_uid != geteuid()) {
                safe_close(fd);
                return -EBADFD;
        }
        seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0 || (seals & MEMFD_SEALS) != MEMFD_SEALS) {
                safe_close(fd);
                return -EBADFD;
        }
        s->obj.fd = fd;
        return 0;
}

const BackendOps backend_memfd_ops = {
        .name = "memfd",
        .create = memfd_create_object,
        .restore = memfd_restore,
        .get_fd = memfd_get_fd,
        .resize = memfd_resize,
        .publish = memfd_publish,
        .destroy = backend_close_fds,
        .keep = backend_close_fds,
};
