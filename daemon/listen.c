/*
 * The client socket: adopted from the service manager (socket activation,
 * by the name "client"), or bound by the daemon itself when started by hand.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/manager.h"
#include "util/cleanup.h"

/* A path that exists: refuse if a daemon answers there, remove it if stale. */
static int socket_path_clear(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(errno, "Cannot use the socket path '%s': %m", path);
        }
        if (!S_ISSOCK(st.st_mode))
                return log_error_errno(EEXIST, "'%s' exists and is not a socket; refusing to replace it", path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        memcpy(sa.sun_path, path, strlen(path));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                return log_error_errno(EADDRINUSE, "Another daemon is listening on '%s'", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to remove stale socket '%s': %m", path);
        return 0;
}

/**
 * manager_socket_path_clear() - make a socket path free for bind()
 * @path:       socket path
 *
 * Refuses if a daemon answers there or the path is not a socket; removes a
 * stale socket.
 *
 * Return: 0 or negative errno (logged).
 */
int manager_socket_path_clear(const char *path) {
        return socket_path_clear(path);
}

/*
 * Bind and listen on cfg.socket_path (mode 0666). Creates the parent
 * directory (0755) if missing and replaces a stale socket left by a dead
 * instance; refuses if a live daemon answers.
 */
static int listen_bind(Manager *m) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *path = m->cfg.socket_path;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *dir = NULL;
        char *slash;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(ENAMETOOLONG, "Socket path '%s' is longer than %zu bytes", path,
                                       sizeof(sa.sun_path) - 1);
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create '%s': %m", dir);
        }
        r = socket_path_clear(path);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create socket: %m");
        memcpy(sa.sun_path, path, strlen(path));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return log_error_errno(errno, "Failed to bind '%s': %m", path);
        m->socket_bound = true;
        if (chmod(path, 0666) < 0)
                return log_error_errno(errno, "Failed to chmod '%s': %m", path);
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Failed to listen on '%s': %m", path);
        manager_start_accepting(m, TAKE_FD(fd));
        snprintf(m->socket_desc, sizeof(m->socket_desc), "%s", path);
        return 0;
}

/**
 * manager_socket_describe() - a passed listening socket, in words for the log
 * @fd:         the socket
 * @what:       "socket", "admin socket"
 * @buf:        output: "PATH (passed by the service manager)"
 * @len:        its size
 */
void manager_socket_describe(int fd, const char *what, char *buf, size_t len) {
        struct sockaddr_un sa = {};
        socklen_t sl = sizeof(sa);

        if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0 && sl > offsetof(struct sockaddr_un, sun_path) &&
            sa.sun_path[0])
                snprintf(buf, len, "%.*s (passed by the service manager)",
                         (int)(sl - offsetof(struct sockaddr_un, sun_path)), sa.sun_path);
        else
                snprintf(buf, len, "the %s passed by the service manager (fd %d)", what, fd);
}


/* A listening socket from the service manager. */
static int listen_adopt(Manager *m, int fd) {
        int flags;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return log_error_errno(errno, "Cannot make the passed client socket non-blocking: %m");
        manager_socket_describe(fd, "socket", m->socket_desc, sizeof(m->socket_desc));
        manager_start_accepting(m, fd);
        return 0;
}

/**
 * manager_listen() - take the passed file descriptors, then serve on the client socket
 * @m:          manager
 *
 * Sorts out $LISTEN_FDS (see fdstore.h), decides whether to use the
 * file-descriptor store (cfg.fd_store), and adopts the socket named
 * "client" — or, without one, binds cfg.socket_path itself.
 *
 * Return: 0 or negative errno (logged).
 */
int manager_listen(Manager *m) {
        int r, fd;

        r = fdstore_collect(&m->fdstore);
        if (r < 0)
                return r;
        fdstore_decide(&m->fdstore, m->cfg.fd_store);
        if (m->fdstore.enabled && m->fdstore.max > 0 && m->fdstore.max < m->cfg.limits.max_segments) {
                log_info("The file-descriptor store holds %llu fds: limiting segments to that many",
                         (unsigned long long)m->fdstore.max);
                m->cfg.limits.max_segments = m->fdstore.max;
                registry_set_limits(m->registry, &m->cfg.limits);
        }
        if (m->fdstore.client_fd >= 0) {
                fd = TAKE_FD(m->fdstore.client_fd);
                r = listen_adopt(m, fd);
                if (r < 0)
                        safe_close(fd);
                return r;
        }
        return listen_bind(m);
}
