/*
 * Backend table.
 */

#include <errno.h>
#include <string.h>

#include "daemon/backend.h"
#include "protocol/shmb-proto.h"
#include "util/macro.h"

static const char *const backend_names[_PROTO_BACKEND_MAX] = {
        [PROTO_BACKEND_DEFAULT] = "default", [PROTO_BACKEND_MEMFD] = "memfd", [PROTO_BACKEND_POSIX] = "posix",
        [PROTO_BACKEND_SYSV] = "sysv",       [PROTO_BACKEND_FILE] = "file",
};

/**
 * backend_get() - ops of a backend this daemon provides
 * @backend:    PROTO_BACKEND_* (not DEFAULT)
 *
 * Return: the ops, or NULL if the backend is unknown or not provided.
 */
const BackendOps *backend_get(uint8_t backend) {
        switch (backend) {
        case PROTO_BACKEND_MEMFD:
                return &backend_memfd_ops;
        default:
                return NULL;
        }
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
 * @s:          "memfd", "posix", ...
 *
 * Return: PROTO_BACKEND_*, or -EINVAL.
 */
int backend_from_string(const char *s) {
        for (size_t i = 1; i < ELEMENTSOF(backend_names); i++)
                if (strcmp(s, backend_names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}
