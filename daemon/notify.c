/*
 * sd_notify() glue: readiness, status, watchdog, stopping.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "daemon/log.h"
#include "daemon/notify.h"
#include "util/macro.h"

#define STATUS_INTERVAL 1.0     /* seconds between STATUS= updates, at least */

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        (void)sd_notify(0, "WATCHDOG=1");
}

static void status_send(Notifier *n) {
        char text[sizeof(n->status)], msg[sizeof(n->status) + 16];

        n->status_fn(text, sizeof(text), n->userdata);
        if (strcmp(text, n->status) == 0)
                return;
        snprintf(n->status, sizeof(n->status), "%s", text);
        snprintf(msg, sizeof(msg), "STATUS=%s", text);
        (void)sd_notify(0, msg);
        n->last_status = ev_now(n->loop);
}

static void status_timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        status_send(container_of(w, Notifier, status_timer));
}

/**
 * notify_init() - set up notifications and the watchdog timer
 * @n:          notifier, embedded in the manager
 * @loop:       event loop
 * @status_fn:  writes the one-line status into a buffer
 * @userdata:   passed to @status_fn
 *
 * The watchdog timer runs from here on if systemd asked for one
 * ($WATCHDOG_USEC, and $WATCHDOG_PID if set naming this process).
 */
void notify_init(Notifier *n, struct ev_loop *loop, NotifyStatusFn status_fn, void *userdata) {
        uint64_t usec = 0;

        *n = (Notifier){ .loop = loop, .status_fn = status_fn, .userdata = userdata, .last_status = -1e9 };
        n->enabled = getenv("NOTIFY_SOCKET") != NULL;
        ev_timer_init(&n->status_timer, status_timer_cb, STATUS_INTERVAL, 0.);
        ev_timer_init(&n->watchdog, watchdog_cb, 0., 0.);
        if (!n->enabled)
                return;
        if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
                ev_tstamp half = (ev_tstamp)usec / 2e6;

                ev_timer_set(&n->watchdog, half, half);
                ev_timer_start(loop, &n->watchdog);
                log_debug("Watchdog enabled: pinging every %.3f s", half);
        }
}

/**
 * notify_deinit() - stop the timers
 * @n:          notifier
 */
void notify_deinit(Notifier *n) {
        if (!n->loop)
                return;
        ev_timer_stop(n->loop, &n->watchdog);
        ev_timer_stop(n->loop, &n->status_timer);
}

/**
 * notify_ready() - READY=1 with the current status; call once the daemon serves
 * @n:          notifier
 */
void notify_ready(Notifier *n) {
        char text[sizeof(n->status)], msg[sizeof(n->status) + 32];

        n->ready = true;
        if (!n->enabled)
                return;
        n->status_fn(text, sizeof(text), n->userdata);
        snprintf(n->status, sizeof(n->status), "%s", text);
        snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", text);
        (void)sd_notify(0, msg);
        n->last_status = ev_now(n->loop);
}

/**
 * notify_status_changed() - the summary may have changed; send it, at most once a second
 * @n:          notifier
 */
void notify_status_changed(Notifier *n) {
        ev_tstamp due;

        if (!n->enabled || !n->ready || ev_is_active(&n->status_timer))
                return;
        due = n->last_status + STATUS_INTERVAL - ev_now(n->loop);
        if (due <= 0) {
                status_send(n);
                return;
        }
        ev_timer_set(&n->status_timer, due, 0.);
        ev_timer_start(n->loop, &n->status_timer);
}

/**
 * notify_stopping() - STOPPING=1
 * @n:          notifier
 */
void notify_stopping(Notifier *n) {
        if (n->enabled)
                (void)sd_notify(0, "STOPPING=1");
}
