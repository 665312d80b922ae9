/*
 * Manager: libev loop, accept with back-off on fd exhaustion, signals,
 * the glue between registry, backends, restart state, file-descriptor store
 * and notifications, and orderly shutdown: every segment destroyed at a
 * stop, every segment left in place for the next instance at a restart.
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
#include "daemon/events.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/unit.h"
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

static uint64_t mono_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
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
                .runtime_dir = SHMB_RUNTIME_DIR_DEFAULT,
                .max_connections = 16384,
                .max_connections_per_user = 1024,
                .reclaim_grace_sec = SHMB_RECLAIM_GRACE_DEFAULT,
                .fd_store = FDSTORE_AUTO,
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

/* Lifetime "ttl": a timer runs while a named segment has no holder. */
typedef struct TtlTimer {
        ev_timer timer;
        Manager *manager;
        Segment *segment;
} TtlTimer;

static void ttl_timer_free(Manager *m, Segment *s) {
        TtlTimer *t = s->userdata;

        if (!t)
                return;
        ev_timer_stop(m->loop, &t->timer);
        free(t);
        s->userdata = NULL;
}

static void ttl_expired_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        TtlTimer *t = container_of(w, TtlTimer, timer);
        Manager *m = t->manager;
        Segment *s = t->segment;

        log_debug("Segment '%s' unused for %u s: its time is up", s->name, s->ttl_sec);
        ttl_timer_free(m, s); /* frees t */
        registry_unlink(m->registry, s);
}

static void segment_idle_cb(Segment *s, bool idle, void *userdata) {
        Manager *m = userdata;
        TtlTimer *t;

        if (s->lifetime != PROTO_LIFETIME_TTL)
                return;
        if (!idle) {
                ttl_timer_free(m, s);
                return;
        }
        if (s->userdata)
                return;
        t = calloc(1, sizeof(*t));
        if (!t) {
                /* Without a timer the segment would never expire: end it now. */
                log_warning("Out of memory for the timer of '%s'; removing it now", s->name);
                registry_unlink(m->registry, s);
                return;
        }
        t->manager = m;
        t->segment = s;
        ev_timer_init(&t->timer, ttl_expired_cb, (double)s->ttl_sec, 0.);
        ev_timer_start(m->loop, &t->timer);
        s->userdata = t;
}

static void segment_destroy_cb(Segment *s, void *userdata) {
        const BackendOps *ops = backend_get(s->backend);
        Manager *m = userdata;

        ttl_timer_free(m, s);
        if (!m->stopping)
                events_emit(m, PROTO_EVENT_DESTROYED, s);
        if (!ops)
                return;
        if (m->stopping && m->keep_segments) {
                if (ops->keep)
                        ops->keep(s);
                return;
        }
        if (m->stopping && ops->detach) {
                ops->detach(s);
                return;
        }
        log_struct_errno(LOG_DEBUG, 0, &((LogFields){ .segment = s->name, .operation = "destroy", .status = "OK" }),
                         "Segment '%s' (id %llu) destroyed", s->name, (unsigned long long)s->id);
        state_record_destroyed(m->state, s);
        /* At a stop the service manager empties the whole store once the unit is down. */
        if (s->backend == PROTO_BACKEND_MEMFD && s->recorded && !m->stopping)
                fdstore_remove(&m->fdstore, s->id);
        ops->destroy(s);
        if (!m->stopping)
                manager_changed(m);
}

static void segment_unlinked_cb(Segment *s, void *userdata) {
        const BackendOps *ops = backend_get(s->backend);
        Manager *m = userdata;

        if (m->stopping && m->keep_segments)
                return; /* a creator disconnecting at a restart: the name stays for the next instance */
        log_debug("Segment '%s' (id %llu) lost its name", s->name, (unsigned long long)s->id);
        events_emit(m, PROTO_EVENT_UNLINKED, s);
        state_record_unlinked(m->state, s);
        if (ops && ops->unlinked)
                ops->unlinked(s);
}

static void hold_changed_cb(Segment *s, const PeerIdentity *who, bool writable, int64_t delta, void *userdata) {
        Manager *m = userdata;

        state_record_hold(m->state, s, who, writable, delta);
}

/**
 * manager_segment_created() - a new segment's kernel object exists
 * @m:          manager
 * @s:          segment
 *
 * Its memfd goes to the file-descriptor store before the segment is
 * recorded in the restart state, so that a recorded memfd is always stored.
 */
void manager_segment_created(Manager *m, Segment *s) {
        if (s->backend == PROTO_BACKEND_MEMFD && s->obj.fd >= 0)
                fdstore_push(&m->fdstore, s->id, s->obj.fd);
        state_record_segment(m->state, s);
        manager_changed(m);
}

/**
 * manager_segment_changed() - a recorded segment grew or was published
 * @m:          manager
 * @s:          segment
 *
 * Records it again (attributes and holds), so a restart restores it as it is now.
 */
void manager_segment_changed(Manager *m, Segment *s) {
        state_record_segment(m->state, s);
}

static void status_text(char *buf, size_t size, void *userdata) {
        Manager *m = userdata;
        uint64_t pending = registry_pending_count(m->registry);
        int n;

        n = snprintf(buf, size, "%llu segments, %llu connections", (unsigned long long)registry_count(m->registry),
                     (unsigned long long)m->n_conns);
        if (pending > 0 && n > 0 && (size_t)n < size)
                snprintf(buf + n, size - (size_t)n, "; %llu holds await reclaim", (unsigned long long)pending);
}

/**
 * manager_changed() - segments or connections changed: update STATUS= (rate-limited)
 * @m:          manager
 */
void manager_changed(Manager *m) {
        if (!m->stopping)
                notify_status_changed(&m->notify);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
        Manager *m = ev_userdata(loop);
        int r;

        m->keep_segments = false;
        if (w->signum == SIGTERM && m->state) {
                /* Under a file-descriptor store: is this "systemctl stop" or the stop half of a restart? */
                r = unit_restart_pending();
                m->keep_segments = r != 0;
                if (r > 0)
                        log_info("Received SIGTERM for a restart: keeping every segment for the next instance");
                else if (r < 0)
                        log_warning_errno(r, "Received SIGTERM, and cannot tell a restart from a stop (%m): "
                                          "keeping every segment for the next instance, which reaps them if unwanted");
                else
                        log_info("Received SIGTERM for a stop: destroying every segment");
        } else {
                log_info("Received %s, stopping", strsignal(w->signum));
        }
        notify_stopping(&m->notify);
        ev_break(loop, EVBREAK_ALL);
}

static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        Manager *m = container_of(w, Manager, grace);
        uint64_t before = registry_count(m->registry), n;

        n = registry_drop_pending(m->registry);
        log_info("Reclaim grace period over: released %llu holds whose owners did not come back; "
                 "%llu segments ended with them",
                 (unsigned long long)n, (unsigned long long)(before - registry_count(m->registry)));
        manager_changed(m);
}

/**
 * manager_start_grace() - after a restore: holds not reclaimed within the grace period are dropped
 * @m:          manager
 */
void manager_start_grace(Manager *m) {
        ev_timer_set(&m->grace, (ev_tstamp)m->cfg.reclaim_grace_sec, 0.);
        ev_timer_start(m->loop, &m->grace);
}

static void maintain_cb(struct ev_loop *loop, ev_prepare *w, int revents) {
        Manager *m = container_of(w, Manager, maintain);

        state_writer_maintain(m->state);
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
                r = conn_new(m, fd, &c);
                if (r < 0)
                        /* The peer may be gone already: routine, not an error. */
                        log_debug_errno(r, "Failed to set up a connection: %m, ignoring");
                if (r != 0)
                        safe_close(fd);
        }
}

static void accept_retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        Manager *m = container_of(w, Manager, accept_retry);

        ev_io_start(m->loop, &m->listen_io);
}

/**
 * manager_start_accepting() - serve clients on a listening socket
 * @m:          manager
 * @fd:         non-blocking listening socket, owned by the manager from now on
 */
void manager_start_accepting(Manager *m, int fd) {
        m->listen_fd = fd;
        ev_io_init(&m->listen_io, accept_cb, m->listen_fd, EV_READ);
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
        m->fdstore = (FdStore)FDSTORE_NULL;
        list_init(&m->conns);
        list_init(&m->watches);
        m->conn_limits.max_total = cfg->max_connections;
        m->conn_limits.max_per_user = cfg->max_connections_per_user;
        admin_listener_init(&m->admin);
        stats_init(&m->stats);
        oplog_init(&m->oplog, mono_usec);
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
        registry_set_clock(m->registry, now_usec);
        registry_set_idle_fn(m->registry, segment_idle_cb);
        registry_set_hold_fn(m->registry, hold_changed_cb);
        notify_init(&m->notify, m->loop, status_text, m);
        ev_timer_init(&m->accept_retry, accept_retry_cb, ACCEPT_RETRY_SEC, 0.);
        ev_timer_init(&m->grace, grace_cb, 0., 0.);
        ev_prepare_init(&m->maintain, maintain_cb);
        ev_prepare_start(m->loop, &m->maintain);
        ev_signal_init(&m->sig_term, signal_cb, SIGTERM);
        ev_signal_init(&m->sig_int, signal_cb, SIGINT);
        ev_signal_start(m->loop, &m->sig_term);
        ev_signal_start(m->loop, &m->sig_int);
        *ret = m;
        return 0;
}

/**
 * manager_start_backends() - claim the state directory and set up backends
 * @m:          manager, listening (so no other daemon serves this socket)
 *
 * The state directory is needed by the posix, sysv and file backends and to
 * restore after a restart; it is created (0755) if missing and locked, so
 * that two daemons never share one (each would take the other's objects for
 * leftovers). Then each backend opens what it needs; restore_run() follows.
 *
 * Return: 0 or negative errno (logged).
 */
int manager_start_backends(Manager *m) {
        const ManagerConfig *cfg = &m->cfg;
        BackendConfig bc = { .state_dir = cfg->state_dir, .enabled = cfg->backends };
        _cleanup_free_ char *lock = NULL;

        if ((cfg->backends & ~(1u << PROTO_BACKEND_MEMFD)) || m->fdstore.enabled) {
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
        notify_ready(&m->notify);
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
        /* Connections closing and segments released now are the daemon letting go, not state. */
        state_writer_freeze(m->state);
        m->stopping = true;
        list_for_each_safe(l, &m->conns)
                conn_free(list_entry(l, Conn, link));
        admin_close(m);
        hmap_deinit(&m->conns_by_id);
        m->registry = registry_free(m->registry);
        hmap_deinit(&m->waiters);
        if (!m->keep_segments)
                state_writer_remove(m->state);
        m->state = state_writer_free(m->state);
        oplog_deinit(&m->oplog);
        fdstore_done(&m->fdstore);
        conn_limits_deinit(&m->conn_limits);
        safe_close(m->lock_fd);
        if (m->listen_fd >= 0) {
                ev_io_stop(m->loop, &m->listen_io);
                safe_close(m->listen_fd);
        }
        if (m->socket_bound)
                (void)unlink(m->cfg.socket_path);
        notify_deinit(&m->notify);
        ev_timer_stop(m->loop, &m->accept_retry);
        ev_timer_stop(m->loop, &m->grace);
        ev_prepare_stop(m->loop, &m->maintain);
        ev_signal_stop(m->loop, &m->sig_term);
        ev_signal_stop(m->loop, &m->sig_int);
        ev_loop_destroy(m->loop);
        free(m);
        return NULL;
}
