/*
 * libshmbroker: names of lifetimes and backends, for CLIs and logs.
 */

#include <errno.h>
#include <string.h>

#include "client/shmbroker.h"
#include "util/macro.h"

static const char *const lifetime_names[] = { "holders", "creator", "persistent", "ttl" };
static const char *const event_names[] = { "?", "created", "resized", "published", "unlinked", "destroyed", "dropped" };

/**
 * shmb_event_kind_to_string() - "created", "resized", ...
 * @k:          event kind
 *
 * Return: a static string, "unknown" for other values.
 */
_public_ const char *shmb_event_kind_to_string(enum shmb_event_kind k) {
        return (unsigned)k - 1 < ELEMENTSOF(event_names) - 1 ? event_names[k] : "unknown";
}
static const char *const backend_names[] = { "default", "memfd", "posix", "sysv", "file" };

/**
 * shmb_lifetime_to_string() - "holders", "creator", "persistent" or "ttl"
 * @l:          lifetime
 *
 * Return: a static string, "unknown" for other values.
 */
_public_ const char *shmb_lifetime_to_string(enum shmb_lifetime l) {
        return (unsigned)l < ELEMENTSOF(lifetime_names) ? lifetime_names[l] : "unknown";
}

/**
 * shmb_lifetime_from_string() - parse a lifetime name
 * @s:          text
 *
 * Return: the lifetime, or -EINVAL.
 */
_public_ int shmb_lifetime_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(lifetime_names); i++)
                if (strcmp(s, lifetime_names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}

/**
 * shmb_backend_to_string() - "memfd", "posix", "sysv", "file" or "default"
 * @b:          backend
 *
 * Return: a static string, "unknown" for other values.
 */
_public_ const char *shmb_backend_to_string(enum shmb_backend b) {
        return (unsigned)b < ELEMENTSOF(backend_names) ? backend_names[b] : "unknown";
}

/**
 * shmb_backend_from_string() - parse a backend name
 * @s:          text
 *
 * Return: the backend, or -EINVAL.
 */
_public_ int shmb_backend_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(backend_names); i++)
                if (strcmp(s, backend_names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}
