/*
 * memfd backend. The object is sized and sealed (no shrink, no grow, no
 * further seals) before any fd leaves the daemon, so no holder can make
 * another take SIGBUS. Its inode mode is then set to 0400: a read-only fd,
 * made by reopening the daemon's own fd read-only, cannot be turned into a
 * writable one through /proc/self/fd by anyone but the daemon's uid or root.
 *
 * With PROTO_SEG_HUGE the memfd lives on hugetlbfs and its pages are always
 * allocated at create (a hugetlb fault without a page would be SIGBUS);
 * with PROTO_SEG_RESERVE ordinary pages are allocated at create too.
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

#define MEMFD_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

static int memfd_create_object(Segment *s) {
        _cleanup_close_ int fd = -1;
        unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
        char label[64];
        int r;

        if (s->size > (uint64_t)INT64_MAX)
                return -EFBIG;
        if (s->flags & PROTO_SEG_HUGE)
                flags |= MFD_HUGETLB;
        /* The memfd name is a label for /proc; the kernel caps it at 249 bytes. */
        snprintf(label, sizeof(label), "shmb:%.58s", s->name);
        fd = memfd_create(label, flags);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t)s->size) < 0)
                return -errno;
        if (s->flags & (PROTO_SEG_HUGE | PROTO_SEG_RESERVED)) {
                r = backend_reserve(fd, s->size);
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

static void memfd_destroy(Segment *s) {
        s->obj.fd = safe_close(s->obj.fd);
        s->obj.ro_fd = safe_close(s->obj.ro_fd);
}

const BackendOps backend_memfd_ops = {
        .name = "memfd",
        .create = memfd_create_object,
        .get_fd = memfd_get_fd,
        .destroy = memfd_destroy,
};
