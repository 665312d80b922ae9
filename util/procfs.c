/*
 * /proc readers.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/procfs.h"

/**
 * procfs_start_time() - when a process started (field 22 of /proc/PID/stat)
 * @pid:        process
 * @ret:        clock ticks after boot; never 0 on success
 *
 * A pid and its start time name one process for the lifetime of the system:
 * a recycled pid has a later start time.
 *
 * Return: 0, -ESRCH if there is no such process, -EBADMSG if the file is
 * malformed, or another negative errno.
 */
int procfs_start_time(pid_t pid, uint64_t *ret) {
        char path[64], buf[1024], *p, *end;
        _cleanup_close_ int fd = -1;
        unsigned long long v;
        ssize_t n;

        if (pid <= 0)
                return -ESRCH;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        /* The command name (field 2) may contain spaces and ')': skip to the last ')'. */
        p = strrchr(buf, ')');
        if (!p)
                return -EBADMSG;
        p++;
        /* Fields 3..21 precede the start time. */
        for (int field = 3; field <= 22; field++) {
                while (*p == ' ')
                        p++;
                if (!*p)
                        return -EBADMSG;
                if (field == 22)
                        break;
                p = strchr(p, ' ');
                if (!p)
                        return -EBADMSG;
        }
        errno = 0;
        v = strtoull(p, &end, 10);
        if (errno || end == p || (*end != ' ' && *end != '\n' && *end != 0) || v == 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}
