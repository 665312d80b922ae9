#pragma once

/*
 * The service manager's notification protocol (sd_notify): READY=1 once the
 * daemon serves, STATUS= with a one-line summary (at most once a second),
 * WATCHDOG=1 at half the interval systemd asked for, STOPPING=1 at stop.
 * Everything is a no-op without $NOTIFY_SOCKET.
 */

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

typedef void (*NotifyStatusFn)(char *buf, size_t size, void *userdata);

typedef struct Notifier {
        struct ev_loop *loop;
        bool enabled;                   /* $NOTIFY_SOCKET is set */
        bool ready;
        ev_timer watchdog;
        ev_timer status_timer;          /* the delayed STATUS= of a rate-limited update */
        ev_tstamp last_status;
        NotifyStatusFn status_fn;
        void *userdata;
        char status[256];               /* last STATUS= sent */
} Notifier;

void notify_init(Notifier *n, struct ev_loop *loop, NotifyStatusFn status_fn, void *userdata);
void notify_deinit(Notifier *n);
void notify_ready(Notifier *n);
void notify_status_changed(Notifier *n);
void notify_stopping(Notifier *n);
