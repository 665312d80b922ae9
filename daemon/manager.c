/*
 * Manager: libev loop, listening socket, accept with back-off on fd
 * exhaustion, signals, and orderly shutdown (every segment destroyed).
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/conn.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "protocol/shmb-proto.h"
#include "util/cleanup.h"

#define ACCEPT_RETRY_SEC 0.1

/**
 * now_usec() - CLOCK_REALTIME in microseconds
 *
 * Return: the time.
 */
uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/**
 * manager_config_defaults() - defaults sized from this host's memory
 * @cfg:        configuration to fill
 */
void manager_config_defaults(ManagerConfig *cfg) {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        uint64_t ram = (pages > 0 && psize > 0) ? (uint64_t)pages * (uint64_t)psize : (uint64_t)1 << 32;

        *cfg = (ManagerConfig){
                .socket_path = SHMB_SOCKET_PATH_DEFAULT,
                .state_dir = SHMB_STATE_DIR_DEFAULT,
                .backends = (1u << PROTO_BACKEND_MEMFD) | (1u << PROTO_BACKEND_POSIX) |
                            (1u << PROTO_BACKEND_SYSV) | (1u << PROTO_BACKEND_FILE),
                .max_segment_size = ram,
                .max_connections = 16384,
                .default_backend = PROTO_BACKEND_MEMFD,
                .limits = {
                        .max_segments = 1000000,
                        .max_bytes = ram * 4,
                        .max_segments_per_user = 200000,
                        .max_bytes_per_user = ram * 2,
                        .max_holds_per_conn = 65536,
                },
        };
}

static void segment_destroy_cb(Segment *s, void *userdata) {
        const BackendOps *ops = backend_get(s->backend);
        Manager *m = userdata;

        if (!ops)
                return;
        if (m->stopping && ops->detach) {
                ops->detach(s);
                return;
        }
        log_debug("Segment '%s' (id %llu) destroyed", s->name, (unsigned long long)s->id);
        ops->destroy(s);
}

static void segment_unlinked_cb(Segment *s, void *userdata) {
        const BackendOps *ops = backend_get(s->backend);

        log_debug("Segment '%s' (id %llu) lost its name", s->name, (unsigned long long)s->id);
        if (ops && ops->unlinked)
                ops->unlinked(s);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
        log_info("Received %s, stopping", strsignal(w->signum));
        (void)sd_notify(0, "STOPPING=1");
        ev_break(loop, EVBREAK_ALL);
}

static void listen_pause(Manager *m) {
        ev_io_stop(m->loop, &m->listen_io);
        if (!ev_is_active(&m->accept_retry)) {
                ev_timer_set(&m->accept_retry, ACCEPT_RETRY_SEC, 0.);
                ev_timer_start(m->loop, &m->accept_retry);
        }
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
        Manager *m = container_of(w, Manager, listen_io);

        for (int i = 0; i < 64; i++) {
                Conn *c;
                int fd, r;

                fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                log_warning_errno(errno, "Cannot accept connections: %m; pausing accept");
                                listen_pause(m);
                        } else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                                log_warning_errno(errno, "accept() failed: %m, ignoring");
                        }
                        return;
                }
                if (m->n_conns >= m->cfg.max_connections) {
                        log_notice("Connection limit (%llu) reached, refusing a client",
                                   (unsigned long long)m->cfg.max_connections);
                        safe_close(fd);
                        continue;
                }
                r = conn_new(m, fd, &c);
                if (r < 0) {
                        /* The peer may be gone already: routine, not an error. */
                        log_debug_errno(r, "Failed to set up a connection: %m, ignoring");
                        safe_close(fd);
                }
        }
}

static void accept_retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        Manager *m = container_of(w, Manager, accept_retry);

        ev_io_start(m->loop, &m->listen_io);
}

/**
 * manager_conn_closed() - a connection went away (hook for accept resumption)
 * @m:          manager
 */
void manager_conn_closed(Manager *m) {
        if (ev_is_active(&m->accept_retry)) {
                ev_timer_stop(m->loop, &m->accept_retry);
                ev_io_start(m->loop, &m->listen_io);
        }
}

/**
 * manager_new() - set up the loop, registry and signal handling
 * @ret:        the manager
 * @cfg:        configuration (copied; strings must outlive the manager)
 *
 * Return: 0 or negative errno.
 */
int manager_new(Manager **ret, const ManagerConfig *cfg) {
        Manager *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->cfg = *cfg;
        m->listen_fd = -1;
        m->lock_fd = -1;
        list_init(&m->conns);
        m->started_usec = now_usec();
        m->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
        if (!m->loop) {
                free(m);
                return -ENOMEM;
        }
        ev_set_userdata(m->loop, m);
        r = registry_new(&m->registry, &cfg->limits, segment_destroy_cb, m);
        if (r < 0) {
                ev_loop_destroy(m->loop);
                free(m);
                return r;
        }
        registry_set_unlink_fn(m->registry, segment_unlinked_cb);
        ev_timer_init(&m->accept_retry, accept_retry_cb, ACCEPT_RETRY_SEC, 0.);
        ev_signal_init(&m->sig_term, signal_cb, SIGTERM);
        ev_signal_init(&m->sig_int, signal_cb, SIGINT);
        ev_signal_start(m->loop, &m->sig_term);
        ev_signal_start(m->loop, &m->sig_int);
        *ret = m;
        return 0;
}

/* A path that exists: refuse if a daemon answers there, remove it if stale. */
static int socket_path_clear(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
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
 * manager_listen() - bind and listen on cfg.socket_path (mode 0666)
 * @m:          manager
 *
 * Creates the parent directory (0755) if missing and replaces a stale
 * socket left by a dead instance; refuses if a live daemon answers.
 *
 * Return: 0 or negative errno (logged).
 */
int manager_listen(Manager *m) {
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
        m->listen_fd = TAKE_FD(fd);
        ev_io_init(&m->listen_io, accept_cb, m->listen_fd, EV_READ);
        ev_io_start(m->loop, &m->listen_io);
        log_info("Listening on %s", path);
        return 0;
}

/**
 * manager_start_backends() - claim the state directory and set up backends
 * @m:          manager, listening (so no other daemon serves this socket)
 *
 * The state directory is needed by the posix, sysv and file backends; it is
 * created (0755) if missing and locked, so that two daemons never share one
 * (each would take the other's objects for leftovers). Then each
 * backend reaps what a dead instance left and restores what persists.
 *
 * Return: 0 or negative errno (logged).
 */
int manager_start_backends(Manager *m) {
        const ManagerConfig *cfg = &m->cfg;
        BackendConfig bc = { .state_dir = cfg->state_dir, .enabled = cfg->backends };
        _cleanup_free_ char *lock = NULL;

        if (cfg->backends & ~(1u << PROTO_BACKEND_MEMFD)) {
                if (mkdir(cfg->state_dir, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Cannot create state directory '%s': %m "
                                               "(use --state-dir, or disable the posix, sysv and file backends)",
                                               cfg->state_dir);
                if (asprintf(&lock, "%s/lock", cfg->state_dir) < 0)
                        return -ENOMEM;
                m->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                if (m->lock_fd < 0)
                        return log_error_errno(errno, "Cannot open '%s': %m", lock);
                if (flock(m->lock_fd, LOCK_EX | LOCK_NB) < 0)
                        return log_error_errno(errno == EWOULDBLOCK ? EBUSY : errno,
                                               "State directory '%s' is in use by another shmbrokerd",
                                               cfg->state_dir);
        }
        return backend_setup(&bc, m->registry);
}

/**
 * manager_run() - serve until SIGTERM or SIGINT
 * @m:          manager, listening
 *
 * Return: 0.
 */
int manager_run(Manager *m) {
        (void)sd_notifyf(0, "READY=1\nSTATUS=Serving on %s", m->cfg.socket_path);
        ev_run(m->loop, 0);
        return 0;
}

/**
 * manager_add_client_fd() - adopt an already-connected socket as a client
 * @m:          manager
 * @fd:         SOCK_SEQPACKET socket, non-blocking and close-on-exec; owned on success
 *
 * For harnesses (fuzzing) that connect clients over socketpair() instead of
 * through the listening socket.
 *
 * Return: 0, or negative errno (then the caller still owns @fd).
 */
int manager_add_client_fd(Manager *m, int fd) {
        Conn *c;

        return conn_new(m, fd, &c);
}

/**
 * manager_run_once() - handle every pending event, without waiting
 * @m:          manager
 */
void manager_run_once(Manager *m) {
        ev_run(m->loop, EVRUN_NOWAIT);
}

/**
 * manager_free() - disconnect every client, destroy every segment, remove the socket
 * @m:          manager or NULL
 *
 * Return: NULL
 */
Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        list_for_each_safe(l, &m->conns)
                conn_free(list_entry(l, Conn, link));
        m->stopping = true;
        m->registry = registry_free(m->registry);
        safe_close(m->lock_fd);
        if (m->listen_fd >= 0) {
                ev_io_stop(m->loop, &m->listen_io);
                safe_close(m->listen_fd);
        }
        if (m->socket_bound)
                (void)unlink(m->cfg.socket_path);
        ev_timer_stop(m->loop, &m->accept_retry);
        ev_signal_stop(m->loop, &m->sig_term);
        ev_signal_stop(m->loop, &m->sig_int);
        ev_loop_destroy(m->loop);
        free(m);
        return NULL;
}
