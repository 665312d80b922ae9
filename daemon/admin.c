/*
 * Admin socket: bind with restrictive permissions, accept, and decide who
 * is an operator. Requests are handled in admin-dispatch.c and
 * admin-query.c.
 *
 * Permissions are enforced twice: by the socket file (0600, or 0660 and
 * the admin group) so that others cannot even connect, and by the peer's
 * credentials, taken from the kernel at connect, on every request.
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

#include "daemon/admin.h"
#include "daemon/conn.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "util/cleanup.h"

#define ADMIN_ACCEPT_RETRY_SEC 0.1

/**
 * admin_listener_init() - an admin listener that is not listening
 * @a:          listener, embedded in the manager
 */
void admin_listener_init(AdminListener *a) {
        *a = (AdminListener){ .fd = -1, .daemon_uid = geteuid() };
}

/**
 * admin_peer_authorized() - may this peer use the admin socket
 * @m:          manager
 * @p:          the peer's credentials (SO_PEERCRED, SO_PEERGROUPS)
 *
 * Root and the daemon's own user may (either could stop or trace the daemon
 * anyway); so may members of the admin group, by primary or supplementary
 * group.
 *
 * Return: true if authorized.
 */
bool admin_peer_authorized(const Manager *m, const PeerCreds *p) {
        if (p->uid == 0 || p->uid == m->admin.daemon_uid)
                return true;
        if (!m->cfg.admin_group_name)
                return false;
        if (p->gid == m->cfg.admin_gid)
                return true;
        for (size_t i = 0; i < p->n_groups; i++)
                if (p->groups[i] == m->cfg.admin_gid)
                        return true;
        return false;
}

static void admin_pause(Manager *m) {
        ev_io_stop(m->loop, &m->admin.io);
        if (!ev_is_active(&m->admin.retry)) {
                ev_timer_set(&m->admin.retry, ADMIN_ACCEPT_RETRY_SEC, 0.);
                ev_timer_start(m->loop, &m->admin.retry);
        }
}

static void admin_retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        Manager *m = container_of(w, Manager, admin.retry);

        ev_io_start(m->loop, &m->admin.io);
}

static void admin_accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
        Manager *m = container_of(w, Manager, admin.io);

        for (int i = 0; i < 16; i++) {
                Conn *c;
                int fd, r;

                fd = accept4(m->admin.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                log_warning_errno(errno, "Cannot accept admin connections: %m; pausing accept");
                                admin_pause(m);
                        } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                                log_warning_errno(errno, "accept() on the admin socket failed: %m, ignoring");
                        }
                        return;
                }
                if (m->admin.n_conns >= ADMIN_CONNECTIONS_MAX) {
                        log_notice("Admin connection limit (%d) reached, refusing an operator",
                                   ADMIN_CONNECTIONS_MAX);
                        safe_close(fd);
                        continue;
                }
                r = conn_new(m, fd, &c);
                if (r < 0) {
                        log_debug_errno(r, "Failed to set up an admin connection: %m, ignoring");
                        safe_close(fd);
                        continue;
                }
                c->is_admin = true;
                m->admin.n_conns++;
                log_debug("Admin connection from pid=%d uid=%u (%s)%s", (int)c->pid, (unsigned)c->creds.uid,
                          c->comm, admin_peer_authorized(m, &c->creds) ? "" : ", not authorized");
        }
}

static void admin_start_accepting(Manager *m, int fd) {
        m->admin.fd = fd;
        ev_io_init(&m->admin.io, admin_accept_cb, m->admin.fd, EV_READ);
        ev_io_start(m->loop, &m->admin.io);
        ev_timer_init(&m->admin.retry, admin_retry_cb, ADMIN_ACCEPT_RETRY_SEC, 0.);
}

/* The admin socket from the service manager: its unit sets the mode and owner. */
static int admin_adopt(Manager *m, int fd) {
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
                safe_close(fd);
                return log_error_errno(errno, "Cannot make the passed admin socket non-blocking: %m");
        }
        admin_start_accepting(m, fd);
        manager_socket_describe(fd, "admin socket", m->admin.desc, sizeof(m->admin.desc));
        return 0;
}

/**
 * admin_listen() - adopt or bind the admin socket, if one is configured
 * @m:          manager
 *
 * A socket passed by the service manager under the name "admin" is used as
 * it is. Else: mode 0600 (the daemon's user and root), or 0660 with the admin group as
 * the socket's group. The socket is created under umask 0177, so it is
 * never more open than that, not even between bind() and chmod(). A stale
 * socket is replaced; a live daemon on the path makes this fail.
 *
 * Return: 0 or negative errno (logged).
 */
int admin_listen(Manager *m) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *path = m->cfg.admin_socket_path;
        bool group = m->cfg.admin_group_name != NULL;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *dir = NULL;
        mode_t old_umask;
        char *slash;
        int r;

        if (m->fdstore.admin_fd >= 0) {
                if (!path) {
                        log_notice("Passed an admin socket, but --no-admin was given; closing it");
                        m->fdstore.admin_fd = safe_close(m->fdstore.admin_fd);
                        return 0;
                }
                return admin_adopt(m, TAKE_FD(m->fdstore.admin_fd));
        }
        if (!path)
                return 0;
        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(ENAMETOOLONG, "Admin socket path '%s' is longer than %zu bytes", path,
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
        r = manager_socket_path_clear(path);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create the admin socket: %m");
        memcpy(sa.sun_path, path, strlen(path));
        old_umask = umask(0177);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        if (r < 0)
                r = -errno;
        umask(old_umask);
        if (r < 0)
                return log_error_errno(r, "Failed to bind the admin socket '%s': %m", path);
        m->admin.bound = true;
        if (group && chown(path, (uid_t)-1, m->cfg.admin_gid) < 0)
                return log_error_errno(errno, "Failed to give the admin socket '%s' to group '%s': %m", path,
                                       m->cfg.admin_group_name);
        if (chmod(path, group ? 0660 : 0600) < 0)
                return log_error_errno(errno, "Failed to chmod '%s': %m", path);
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Failed to listen on '%s': %m", path);
        admin_start_accepting(m, TAKE_FD(fd));
        if (group)
                snprintf(m->admin.desc, sizeof(m->admin.desc), "%s (root and group '%s')", path,
                         m->cfg.admin_group_name);
        else if (m->admin.daemon_uid != 0)
                snprintf(m->admin.desc, sizeof(m->admin.desc), "%s (root and uid %u)", path,
                         (unsigned)m->admin.daemon_uid);
        else
                snprintf(m->admin.desc, sizeof(m->admin.desc), "%s (root only)", path);
        return 0;
}

/**
 * admin_close() - stop listening and remove the admin socket
 * @m:          manager; admin connections must be freed already
 */
void admin_close(Manager *m) {
        if (m->admin.fd >= 0) {
                ev_io_stop(m->loop, &m->admin.io);
                ev_timer_stop(m->loop, &m->admin.retry);
                m->admin.fd = safe_close(m->admin.fd);
        }
        if (m->admin.bound && m->cfg.admin_socket_path) {
                (void)unlink(m->cfg.admin_socket_path);
                m->admin.bound = false;
        }
}
