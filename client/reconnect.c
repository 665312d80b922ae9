/*
 * libshmbroker: surviving a daemon restart. The memory never depended on
 * the daemon: fds and mappings stay valid. What the daemon forgot is the
 * connection and, with it, which holds and subscriptions are ours; a
 * restarted daemon keeps the holds as pending holds under our pid, uid and
 * start time for a grace period. Here the library reconnects with back-off,
 * reclaims one open per live segment handle (RECLAIM), so lifetimes keep
 * working, and renews every subscription under the id the application
 * has, with one DROPPED event for what the gap may have lost. The request
 * that found the connection broken is then sent again by client.c.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "client/client-internal.h"
#include "util/cleanup.h"
#include "util/macro.h"

#define BACKOFF_FIRST_USEC (10 * 1000)
#define BACKOFF_MAX_USEC (1000 * 1000)

static void sleep_usec(uint64_t usec) {
        struct timespec ts = { .tv_sec = (time_t)(usec / 1000000), .tv_nsec = (long)(usec % 1000000) * 1000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/*
 * RECLAIM every live handle's open. A refusal means the daemon no longer
 * has that hold (the segment did not survive, or the grace period is over):
 * the handle is marked lost and its release becomes local. Only a broken
 * connection fails the whole reclaim.
 */
static int reclaim_all(struct shmb_client *c, uint64_t deadline) {
        list_for_each(l, &c->segments) {
                struct shmb_segment *s = list_entry(l, struct shmb_segment, link);
                ProtoSegInfo si;
                ProtoBuf b;
                bool broken;
                int n, r;

                if (s->lost)
                        continue;
                proto_buf_init(&b, c->buf, sizeof(c->buf));
                n = proto_encode_reclaim(&b, c->next_req_id++, s->st.id,
                                         (s->st.flags & SHMB_SEG_READONLY) ? PROTO_RECLAIM_RDONLY : 0);
                if (n < 0)
                        return n;
                r = client_exchange(c, (size_t)n, NULL, deadline, &broken);
                if (r < 0 && broken)
                        return r;
                if (r < 0)
                        s->lost = true;
                /* A RESIZED notice of the time away is lost: the reply has the size now. */
                else if (proto_decode_seginfo_reply(c->buf, c->buf_len, &si) == 0 && si.size > s->st.size)
                        s->st.size = si.size;
        }
        return 0;
}

/* Connect, HELLO and reclaim until @deadline; returns 0 or the last error. */
static int reconnect_until(struct shmb_client *c, uint64_t start, uint64_t deadline) {
        uint64_t delay = BACKOFF_FIRST_USEC, now;
        int r;

        for (;;) {
                r = client_connect_once(c, deadline);
                if (r >= 0) {
                        r = reclaim_all(c, deadline);
                        if (r >= 0)
                                r = client_watches_renew(c, deadline);
                        if (r >= 0)
                                return 0;
                        c->fd = safe_close(c->fd);
                }
                if (!client_errno_is_disconnect(r))
                        return r;
                now = client_now_usec();
                if (now >= deadline)
                        break;
                sleep_usec(MIN(delay, deadline - now));
                delay = MIN(delay * 2, BACKOFF_MAX_USEC);
                if (client_now_usec() >= deadline)
                        break;
        }
        return client_error(c, ETIMEDOUT, "shmbrokerd could not be reached for %llu ms (%s)",
                            (unsigned long long)((client_now_usec() - start) / 1000), strerror(r < 0 ? -r : r));
}

/**
 * client_reconnect() - replace a broken connection, reclaim every hold, renew every subscription
 * @c:          client
 *
 * Tries for up to c->timeout_usec. Events of the old connection that were
 * read are kept; one DROPPED event after them stands for those that were
 * not (client_events_gap()).
 *
 * Return: 0; -ETIMEDOUT if the daemon could not be reached in time (the
 * client stays disconnected, and the next call tries again); or another
 * negative errno the new daemon answered with (e.g. -EPROTONOSUPPORT).
 */
int client_reconnect(struct shmb_client *c) {
        uint64_t start = client_now_usec();
        int r;

        c->reconnecting = true;
        c->fd = safe_close(c->fd);
        client_events_gap(c);
        r = reconnect_until(c, start, start + c->timeout_usec);
        c->reconnecting = false;
        if (r < 0)
                c->fd = safe_close(c->fd);
        return r;
}

/* Whether the connection is gone: hang-up, error, or a readable EOF where no reply is due. */
static bool connection_broken(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char b;

        if (fd < 0)
                return true;
        if (poll(&p, 1, 0) <= 0)
                return false;
        if (p.revents & (POLLHUP | POLLERR))
                return true;
        return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/**
 * shmb_client_reconnect() - if the daemon went away, reconnect and reclaim now
 * @c:          client
 *
 * Every call does this by itself when it finds the connection broken; an
 * application that polls shmb_client_get_fd() and sees POLLHUP can call
 * this to take its holds back before the daemon's grace period ends, even
 * when it has nothing else to ask. Waits up to the client's timeout.
 *
 * Return: 0 if connected (already, or again), -ETIMEDOUT, or another
 * negative errno.
 */
_public_ int shmb_client_reconnect(struct shmb_client *c) {
        if (!c)
                return -EINVAL;
        if (!connection_broken(c->fd))
                return 0;
        if (c->timeout_usec == 0)
                return client_error(c, ECONNRESET, "the connection to shmbrokerd is broken and the timeout is 0");
        return client_reconnect(c);
}
