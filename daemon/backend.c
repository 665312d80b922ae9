/*
 * Backend table, set-up, and helpers shared by backends.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/log.h"
#include "protocol/shmb-proto.h"
#include "util/macro.h"

static const char *const backend_names[_PROTO_BACKEND_MAX] = {
        [PROTO_BACKEND_DEFAULT] = "default", [PROTO_BACKEND_MEMFD] = "memfd", [PROTO_BACKEND_POSIX] = "posix",
        [PROTO_BACKEND_SYSV] = "sysv",       [PROTO_BACKEND_FILE] = "file",
};

static const BackendOps *const backend_table[_PROTO_BACKEND_MAX] = {
        [PROTO_BACKEND_MEMFD] = &backend_memfd_ops,
        [PROTO_BACKEND_POSIX] = &backend_posix_ops,
        [PROTO_BACKEND_SYSV] = &backend_sysv_ops,
        [PROTO_BACKEND_FILE] = &backend_file_ops,
};

static unsigned enabled_mask = 1u << PROTO_BACKEND_MEMFD;

/**
 * backend_setup() - enable backends and let each clean up or restore
 * @cfg:        state directory and enabled set
 * @r:          registry to restore persistent segments into
 *
 * Return: 0, or the first setup failure (logged).
 */
int backend_setup(const BackendConfig *cfg, Registry *r) {
        enabled_mask = cfg->enabled;
        for (size_t i = 0; i < ELEMENTSOF(backend_table); i++) {
                int ret;

                if (!backend_table[i] || !(enabled_mask & (1u << i)) || !backend_table[i]->setup)
                        continue;
                ret = backend_table[i]->setup(cfg, r);
                if (ret < 0)
                        return log_error_errno(ret, "Failed to set up the %s backend: %m", backend_names[i]);
        }
        return 0;
}

/**
 * backend_get() - ops of a backend this daemon has enabled
 * @backend:    PROTO_BACKEND_* (not DEFAULT)
 *
 * Return: the ops, or NULL if the backend is unknown or disabled.
 */
const BackendOps *backend_get(uint8_t backend) {
        if (backend >= _PROTO_BACKEND_MAX || !(enabled_mask & (1u << backend)))
                return NULL;
        return backend_table[backend];
}

/**
 * backend_name() - name of a backend
 * @backend:    PROTO_BACKEND_*
 *
 * Return: a static string.
 */
const char *backend_name(uint8_t backend) {
        return backend < _PROTO_BACKEND_MAX ? backend_names[backend] : "unknown";
}

/**
 * backend_from_string() - parse a backend name
 * @s:          "memfd", "posix", "sysv" or "file"
 *
 * Return: PROTO_BACKEND_*, or -EINVAL.
 */
int backend_from_string(const char *s) {
        for (size_t i = 1; i < ELEMENTSOF(backend_names); i++)
                if (strcmp(s, backend_names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}

/**
 * backend_huge_page_size() - the default huge page size, if any are reserved
 * @ret:        size in bytes
 *
 * Return: 0; -ENOENT if the kernel has no huge pages; -ENOSPC if none are
 * reserved (vm.nr_hugepages is 0).
 */
int backend_huge_page_size(uint64_t *ret) {
        unsigned long long total = 0, size_kb = 0, v;
        char line[256];
        FILE *f;

        f = fopen("/proc/meminfo", "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                if (sscanf(line, "HugePages_Total: %llu", &v) == 1)
                        total = v;
                else if (sscanf(line, "Hugepagesize: %llu kB", &v) == 1)
                        size_kb = v;
        }
        fclose(f);
        if (size_kb == 0)
                return -ENOENT;
        if (total == 0)
                return -ENOSPC;
        *ret = size_kb * 1024;
        return 0;
}

/**
 * backend_reserve() - allocate every block of @fd now, so later faults cannot fail
 * @fd:         memfd, POSIX shm object or file
 * @size:       bytes
 *
 * Return: 0, -ENOSPC/-ENOMEM when there is no room, or another negative errno.
 */
int backend_reserve(int fd, uint64_t size) {
        int r;

        do
                r = fallocate(fd, 0, 0, (off_t)size);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : 0;
}
