/*
 * Best-effort peer information from /proc.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/procinfo.h"
#include "util/cleanup.h"

/**
 * procinfo_read_comm() - the command name of a process ("?" if unknown)
 * @pid:        process id as the daemon sees it (SO_PEERCRED)
 * @buf:        output, NUL-terminated; the kernel's limit is 15 bytes
 * @size:       size of @buf (at least 2)
 *
 * The name is the process's own choice (prctl(PR_SET_NAME)): for display
 * only, never for decisions. A process that is gone, or a /proc that hides
 * it, gives "?".
 */
void procinfo_read_comm(pid_t pid, char *buf, size_t size) {
        _cleanup_close_ int fd = -1;
        char path[64];
        ssize_t n;

        snprintf(buf, size, "?");
        if (pid <= 0 || size < 2)
                return;
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return;
        do
                n = read(fd, buf, size - 1);
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
                snprintf(buf, size, "?");
                return;
        }
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        if (!buf[0])
                snprintf(buf, size, "?");
}
