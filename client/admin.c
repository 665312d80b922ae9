/*
 * libshmbroker admin API: handle, connection, actions and names. The
 * listings are in admin-list.c.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "client/admin-internal.h"
#include "protocol/shmb-admin-proto.h"
#include "util/cleanup.h"
#include "util/macro.h"

/* "admin.sock" in the directory of @client_path, where the daemon puts it by default. */
static int admin_path_beside(char *buf, size_t size, const char *client_path) {
        const char *slash = strrchr(client_path, '/');
        int n;

        if (!slash)
                n = snprintf(buf, size, "admin.sock");
        else
                n = snprintf(buf, size, "%.*s/admin.sock", (int)(slash - client_path), client_path);
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/**
 * shmb_admin_new() - an admin handle for a daemon's admin socket
 * @ret:        the handle
 * @socket_path: admin socket; NULL for $SHMBROKER_ADMIN_SOCKET, else
 *              admin.sock beside $SHMBROKER_SOCKET, else
 *              /run/shmbrokerd/admin.sock
 *
 * Does not connect yet: shmb_admin_connect() does, or the first request.
 *
 * Return: 0, -EINVAL, -ENAMETOOLONG or -ENOMEM.
 */
_public_ int shmb_admin_new(struct shmb_admin **ret, const char *socket_path) {
        char path[sizeof(((struct shmb_admin *)NULL)->path)];
        const char *client;
        struct shmb_admin *a;

        if (!ret)
                return -EINVAL;
        if (!socket_path)
                socket_path = getenv(SHMB_ADMIN_SOCKET_ENV);
        if (!socket_path || !*socket_path) {
                client = getenv(SHMB_SOCKET_ENV);
                socket_path = SHMB_ADMIN_SOCKET_PATH_DEFAULT;
                if (client && *client) {
                        if (admin_path_beside(path, sizeof(path), client) < 0)
                                return -ENAMETOOLONG;
                        socket_path = path;
                }
        }
        if (strlen(socket_path) >= sizeof(a->path))
                return -ENAMETOOLONG;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->c.fd = -1;
        a->c.next_req_id = 1;
        a->c.version = SHMB_PROTO_VERSION; /* the admin socket speaks version 1 only */
        memcpy(a->path, socket_path, strlen(socket_path));
        *ret = a;
        return 0;
}

/**
 * shmb_admin_free() - close the connection and free the handle
 * @a:          handle or NULL
 *
 * Return: NULL
 */
_public_ struct shmb_admin *shmb_admin_free(struct shmb_admin *a) {
        if (!a)
                return NULL;
        safe_close(a->c.fd);
        free(a);
        return NULL;
}

static int admin_hello(struct shmb_admin *a) {
        struct shmb_client *c = &a->c;
        ProtoHelloReply hr;
        ProtoBuf b;
        int n, r;

        proto_buf_init(&b, c->buf, sizeof(c->buf));
        n = proto_encode_hello(&b, c->next_req_id++, SHMB_PROTO_VERSION_MIN, SHMB_PROTO_VERSION);
        if (n < 0)
                return n;
        r = client_transact(c, (size_t)n, NULL);
        if (r < 0)
                return r;
        if (proto_decode_hello_reply(c->buf, c->buf_len, &hr) < 0 || hr.version != SHMB_PROTO_VERSION)
                return client_error(c, EPROTO, "unexpected HELLO reply on the admin socket %s", a->path);
        snprintf(c->server, sizeof(c->server), "%s", hr.server);
        return 0;
}

/**
 * shmb_admin_connect() - connect to the admin socket and say HELLO
 * @a:          handle; a no-op if already connected
 *
 * Return: 0; -ENOENT or -ECONNREFUSED if no daemon listens there; -EACCES
 * if the socket's permissions or the daemon refuse this user (then
 * shmb_admin_last_error() says who may); other negative errno.
 */
_public_ int shmb_admin_connect(struct shmb_admin *a) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct shmb_client *c;
        int r;

        if (!a)
                return -EINVAL;
        c = &a->c;
        if (c->fd >= 0)
                return 0;
        memcpy(sa.sun_path, a->path, strlen(a->path));
        c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return client_error(c, errno, "cannot create a socket: %s", strerror(errno));
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = -errno;
                c->fd = safe_close(c->fd);
                if (r == -EACCES || r == -EPERM)
                        return client_error(c, EACCES,
                                            "permission denied on the admin socket %s: admin access needs root "
                                            "or the daemon's admin group", a->path);
                return client_error(c, r, "cannot connect to the admin socket %s: %s", a->path, strerror(-r));
        }
        r = admin_hello(a);
        if (r < 0) {
                c->fd = safe_close(c->fd);
                return r;
        }
        return 0;
}

/**
 * admin_ensure_connected() - connect unless connected; for every request
 * @a:          handle
 *
 * Return: 0 or negative errno.
 */
int admin_ensure_connected(struct shmb_admin *a) {
        return a->c.fd >= 0 ? 0 : shmb_admin_connect(a);
}

/**
 * shmb_admin_get_socket_path() - the admin socket this handle uses
 * @a:          handle
 *
 * Return: the path, owned by the handle.
 */
_public_ const char *shmb_admin_get_socket_path(const struct shmb_admin *a) {
        return a ? a->path : NULL;
}

/**
 * shmb_admin_last_error() - words for the last failure on @a
 * @a:          handle
 *
 * Return: the text (empty after a success).
 */
_public_ const char *shmb_admin_last_error(const struct shmb_admin *a) {
        return a ? a->c.error : "no admin handle";
}

static int check_name(struct shmb_admin *a, const char *name) {
        if (!name || !proto_name_valid(name, strnlen(name, SHMB_NAME_MAX + 1)))
                return client_error(&a->c, EINVAL,
                                    "invalid segment name: use 1-255 characters of [A-Za-z0-9._-], "
                                    "not starting with '.' or '-'");
        return 0;
}

/**
 * shmb_admin_destroy() - end a segment now: remove its name, drop every hold
 * @a:          handle
 * @name:       segment name
 * @ret_holders_dropped: if not NULL, the number of connections that held it
 *
 * Holders keep what they mapped, but cannot open the name again; their
 * later release of the segment fails with -EBADF.
 *
 * Return: 0, -ENOENT, -EINVAL, -EACCES, ...
 */
_public_ int shmb_admin_destroy(struct shmb_admin *a, const char *name, uint64_t *ret_holders_dropped) {
        uint64_t id, n;
        ProtoBuf b;
        int len, r;

        if (!a)
                return -EINVAL;
        r = check_name(a, name);
        if (r < 0)
                return r;
        r = admin_ensure_connected(a);
        if (r < 0)
                return r;
        proto_buf_init(&b, a->c.buf, sizeof(a->c.buf));
        len = proto_admin_encode_destroy(&b, a->c.next_req_id++, name);
        r = len < 0 ? len : client_transact(&a->c, (size_t)len, NULL);
        if (r < 0)
                return r;
        if (proto_admin_decode_u64_pair(a->c.buf, a->c.buf_len, &id, &n) < 0)
                return client_error(&a->c, EBADMSG, "malformed DESTROY reply from shmbrokerd");
        if (ret_holders_dropped)
                *ret_holders_dropped = n;
        return 0;
}

/**
 * shmb_admin_kick() - disconnect every connection of a process
 * @a:          handle
 * @pid:        the process (as the daemon sees it)
 * @ret_closed: if not NULL, connections closed
 * @ret_holds_released: if not NULL, holds they had (now released)
 *
 * The admin connection making the request is never closed by it.
 *
 * Return: 0, -ENOENT (no connection from @pid), -EINVAL, -EACCES, ...
 */
_public_ int shmb_admin_kick(struct shmb_admin *a, pid_t pid, unsigned *ret_closed, uint64_t *ret_holds_released) {
        uint32_t closed;
        uint64_t holds;
        ProtoBuf b;
        int len, r;

        if (!a || pid <= 0)
                return -EINVAL;
        r = admin_ensure_connected(a);
        if (r < 0)
                return r;
        proto_buf_init(&b, a->c.buf, sizeof(a->c.buf));
        len = proto_admin_encode_kick(&b, a->c.next_req_id++, (uint32_t)pid);
        r = len < 0 ? len : client_transact(&a->c, (size_t)len, NULL);
        if (r < 0)
                return r;
        if (proto_admin_decode_kick_reply(a->c.buf, a->c.buf_len, &closed, &holds) < 0)
                return client_error(&a->c, EBADMSG, "malformed KICK reply from shmbrokerd");
        if (ret_closed)
                *ret_closed = closed;
        if (ret_holds_released)
                *ret_holds_released = holds;
        return 0;
}

static int log_level_request(struct shmb_admin *a, uint32_t level, int *ret_old, int *ret_new) {
        uint32_t old, now;
        ProtoBuf b;
        int len, r;

        r = admin_ensure_connected(a);
        if (r < 0)
                return r;
        proto_buf_init(&b, a->c.buf, sizeof(a->c.buf));
        len = proto_admin_encode_log_level(&b, a->c.next_req_id++, level);
        r = len < 0 ? len : client_transact(&a->c, (size_t)len, NULL);
        if (r < 0)
                return r;
        if (proto_admin_decode_log_level_reply(a->c.buf, a->c.buf_len, &old, &now) < 0 || old > 7 || now > 7)
                return client_error(&a->c, EBADMSG, "malformed LOG_LEVEL reply from shmbrokerd");
        if (ret_old)
                *ret_old = (int)old;
        if (ret_new)
                *ret_new = (int)now;
        return 0;
}

/**
 * shmb_admin_set_log_level() - change the daemon's log level at run time
 * @a:          handle
 * @level:      0 (emerg) .. 7 (debug); other values are sent as they are
 *              and refused by the daemon with -EINVAL
 * @ret_old_level: if not NULL, the level before
 *
 * Return: 0, -EINVAL, -EACCES, ...
 */
_public_ int shmb_admin_set_log_level(struct shmb_admin *a, int level, int *ret_old_level) {
        if (!a || level < 0)
                return -EINVAL;
        return log_level_request(a, (uint32_t)level, ret_old_level, NULL);
}

/**
 * shmb_admin_get_log_level() - the daemon's current log level
 * @a:          handle
 * @ret_level:  0 (emerg) .. 7 (debug)
 *
 * Return: 0 or negative errno.
 */
_public_ int shmb_admin_get_log_level(struct shmb_admin *a, int *ret_level) {
        if (!a || !ret_level)
                return -EINVAL;
        return log_level_request(a, SHMB_ADMIN_LOG_LEVEL_QUERY, NULL, ret_level);
}

/**
 * shmb_admin_operation_to_string() - label of an operation ("open", "admin_kick")
 * @operation:  request type, as in shmb_admin_counter.operation
 *
 * Return: a static string; "unknown" for type 0 and types this library does not know.
 */
_public_ const char *shmb_admin_operation_to_string(unsigned operation) {
        return operation > UINT16_MAX ? "unknown" : proto_admin_op_name((uint16_t)operation);
}

/**
 * shmb_admin_status_to_string() - label of a reply status ("ok", "not_found")
 * @status:     status, as in shmb_admin_counter.status
 *
 * Return: a static string; "unknown" for codes this library does not know.
 */
_public_ const char *shmb_admin_status_to_string(unsigned status) {
        return status > INT16_MAX ? "unknown" : proto_admin_status_label((int)status);
}

static const char *const log_level_names[] = { "emerg", "alert", "crit", "err",
                                               "warning", "notice", "info", "debug" };

/**
 * shmb_admin_log_level_to_string() - "emerg" .. "debug"
 * @level:      0 .. 7
 *
 * Return: a static string; "unknown" for other values.
 */
_public_ const char *shmb_admin_log_level_to_string(int level) {
        return level >= 0 && level < (int)ELEMENTSOF(log_level_names) ? log_level_names[level] : "unknown";
}

/**
 * shmb_admin_log_level_from_string() - parse a level name or digit
 * @s:          "emerg", "alert", "crit", "err" (or "error"), "warning",
 *              "notice", "info", "debug", or "0" .. "7"
 *
 * Return: 0 .. 7, or -EINVAL.
 */
_public_ int shmb_admin_log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(log_level_names); i++)
                if (strcasecmp(s, log_level_names[i]) == 0)
                        return (int)i;
        if (strcasecmp(s, "error") == 0)
                return 3;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
                return s[0] - '0';
        return -EINVAL;
}
