/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef SHMBROKER_H
#define SHMBROKER_H

/*
 * libshmbroker: client library of shmbrokerd.
 *
 * Every function returns 0 (or a positive count) on success and a negative
 * errno on failure; bad arguments give -EINVAL, never an abort. After a
 * failure answered by the daemon, shmb_client_last_error() has its words.
 *
 * Threads: a struct shmb_client and the segments made through it must be
 * used by one thread at a time (lock around them, or use one client per
 * thread). Separate clients are independent. Nothing here keeps global
 * state, installs signal handlers or prints.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct shmb_client;
struct shmb_segment;

enum shmb_lifetime {
        SHMB_LIFETIME_HOLDERS = 0,    /* destroyed when the last holder releases (default) */
        SHMB_LIFETIME_CREATOR = 1,    /* destroyed when the creator's connection closes */
        SHMB_LIFETIME_PERSISTENT = 2, /* kept until unlinked or the daemon stops */
        SHMB_LIFETIME_TTL = 3,        /* destroyed after ttl_sec seconds without holders */
        _SHMB_LIFETIME_PIN = 0x7fffffff,
};

enum shmb_backend {
        SHMB_BACKEND_DEFAULT = 0,     /* the daemon's default */
        SHMB_BACKEND_MEMFD = 1,
        SHMB_BACKEND_POSIX = 2,
        SHMB_BACKEND_SYSV = 3,
        SHMB_BACKEND_FILE = 4,
        _SHMB_BACKEND_PIN = 0x7fffffff,
};

/* Flags of shmb_create_options.flags */
#define SHMB_CREATE_EXCL 0x0001u      /* fail with -EEXIST if the name is taken */
#define SHMB_CREATE_HUGE 0x0002u      /* huge pages (memfd, sysv); size rounded up */
#define SHMB_CREATE_RESERVE 0x0004u   /* allocate all memory/space now (not sysv) */

/* Flags of shmb_open() and shmb_open_wait() */
#define SHMB_OPEN_RDONLY 0x0001u      /* read-only hold and fd */
#define SHMB_OPEN_WAIT_PUBLISHED 0x0002u /* shmb_open_wait(): wait until it is published, too */

/* Flags of shmb_watch() */
#define SHMB_WATCH_PREFIX 0x0001u     /* the pattern is a name prefix ("" for every name) */

/* Flags of struct shmb_stat.flags */
#define SHMB_SEG_READONLY 0x0001u
#define SHMB_SEG_CREATED 0x0002u
#define SHMB_SEG_UNLINKED 0x0004u
#define SHMB_SEG_HUGE 0x0008u
#define SHMB_SEG_RESERVED 0x0010u
#define SHMB_SEG_PUBLISHED 0x0020u    /* immutable: every open is read-only */
#define SHMB_SEG_FROZEN 0x0040u       /* published with no writable mapping left anywhere */

#define SHMB_NAME_MAX 255

/* Options of shmb_create(); start from SHMB_CREATE_OPTIONS_INIT. */
struct shmb_create_options {
        uint32_t mode;                /* permission bits, 0..0777 (default 0600) */
        enum shmb_lifetime lifetime;  /* default SHMB_LIFETIME_HOLDERS */
        enum shmb_backend backend;    /* default SHMB_BACKEND_DEFAULT */
        uint32_t flags;               /* SHMB_CREATE_* */
        uint32_t ttl_sec;             /* SHMB_LIFETIME_TTL: seconds without holders before destruction */
        uint32_t reserved0;           /* zero */
        uint64_t max_size;            /* 0, or how far shmb_resize() may grow it (memfd: charged at once) */
        uint32_t reserved[4];         /* zero */
};

#define SHMB_CREATE_OPTIONS_INIT { 0600, SHMB_LIFETIME_HOLDERS, SHMB_BACKEND_DEFAULT, 0, 0, 0, 0, { 0 } }

/* What the daemon says about a segment. */
struct shmb_stat {
        uint64_t id;                  /* unique for the daemon's lifetime */
        uint64_t size;                /* bytes */
        uid_t uid;                    /* owner (the creator) */
        gid_t gid;                    /* group (the creator's primary group) */
        uint32_t mode;                /* permission bits */
        uint32_t holders;             /* connections holding it */
        enum shmb_backend backend;
        enum shmb_lifetime lifetime;
        uint32_t flags;               /* SHMB_SEG_* */
        int32_t shmid;                /* System V id, or -1 */
        uint64_t created_usec;        /* CLOCK_REALTIME, microseconds */
        uint32_t ttl_sec;             /* SHMB_LIFETIME_TTL */
        uint64_t max_size;            /* a resize may grow it up to this */
        char name[SHMB_NAME_MAX + 1];
};

enum shmb_event_kind {
        SHMB_EVENT_CREATED = 1,
        SHMB_EVENT_RESIZED = 2,       /* also sent, unasked, to every holder (watch_id 0) */
        SHMB_EVENT_PUBLISHED = 3,
        SHMB_EVENT_UNLINKED = 4,      /* the name is gone; holders keep the memory */
        SHMB_EVENT_DESTROYED = 5,
        SHMB_EVENT_DROPPED = 6,       /* "dropped" events were lost: re-read what you need */
        _SHMB_EVENT_PIN = 0x7fffffff,
};

/* Flag of a SHMB_EVENT_DROPPED event: the connection to the daemon was lost (a restart) and made
 * again; events of the time in between are lost, how many is not known ("dropped" counts only
 * those the library knows of). Subscriptions were renewed under the same ids. */
#define SHMB_EVENT_RECONNECTED 0x10000u

struct shmb_event {
        enum shmb_event_kind kind;
        uint32_t watch_id;            /* the subscription, 0 for a notice to a holder */
        uint64_t seq;                 /* +1 per event, dropped ones included; DROPPED: the last one dropped */
        uint64_t id;                  /* segment id */
        uint64_t size;                /* its size now */
        uint64_t dropped;             /* SHMB_EVENT_DROPPED */
        uint32_t flags;               /* SHMB_SEG_*; SHMB_EVENT_RECONNECTED in a DROPPED */
        char name[SHMB_NAME_MAX + 1]; /* empty for SHMB_EVENT_DROPPED */
};

typedef void (*shmb_event_fn)(struct shmb_client *c, const struct shmb_event *ev, void *userdata);

/* Connection. @socket_path NULL: $SHMBROKER_SOCKET, else /run/shmbrokerd/shmbrokerd.sock. */
int shmb_client_new(struct shmb_client **ret, const char *socket_path);
struct shmb_client *shmb_client_free(struct shmb_client *c);
int shmb_client_get_fd(const struct shmb_client *c);

/*
 * Daemon restarts. Segments never depend on the daemon: fds and mappings
 * stay valid while it restarts. When a call (shmb_client_dispatch()
 * included) finds the connection broken, it reconnects with back-off (10 ms
 * doubling to 1 s), reclaims the hold of every live segment handle, renews
 * every subscription under the id the application has, queues one
 * SHMB_EVENT_DROPPED with SHMB_EVENT_RECONNECTED for the events lost
 * meanwhile, and sends its request again: a create, unlink, resize or
 * publish carries an operation id, so the daemon answers it as it did the
 * first time if it had carried it out (the segment the create made, not
 * -EEXIST; the unlink done, not -ENOENT). If the daemon cannot be reached
 * within the timeout (default 30 s; 0: never reconnect), the call fails
 * with -ETIMEDOUT and shmb_client_last_error() says for how long it tried. shmb_client_get_fd() changes with a reconnect.
 * shmb_client_reconnect() does the same at once when the connection is
 * broken (e.g. after poll() reported POLLHUP on the fd), and nothing
 * otherwise. A hold the daemon no longer has (the segment did not survive,
 * or the reclaim came after the daemon's grace period) is lost; the
 * handle's memory stays valid and its release is then local.
 */
int shmb_client_set_timeout(struct shmb_client *c, uint64_t usec);
int shmb_client_reconnect(struct shmb_client *c);

const char *shmb_client_last_error(const struct shmb_client *c);
const char *shmb_client_server_version(const struct shmb_client *c);

/*
 * Segments. A segment handle holds the segment in the daemon and owns a
 * close-on-exec fd (shmb_segment_get_fd(); do not close it, dup it to keep
 * it). System V segments have no fd: shmb_segment_get_fd() returns -ENODATA
 * and shmb_segment_get_shmid() the id; shmb_segment_map() attaches them.
 * shmb_segment_release() drops the hold, unmaps (or detaches) what
 * shmb_segment_map() mapped, closes the fd and frees the handle; mappings
 * made otherwise stay valid. Closing the client releases every hold it had;
 * handles not yet released stay usable (fd, mapping, attributes) and their
 * shmb_segment_release() then only unmaps, closes and frees.
 */
int shmb_create(struct shmb_client *c, const char *name, uint64_t size, const struct shmb_create_options *opts,
                struct shmb_segment **ret);
int shmb_open(struct shmb_client *c, const char *name, unsigned flags, struct shmb_segment **ret);
int shmb_open_wait(struct shmb_client *c, const char *name, unsigned flags, uint32_t timeout_ms,
                   struct shmb_segment **ret);
int shmb_segment_release(struct shmb_segment *s);
int shmb_segment_map(struct shmb_segment *s, void **ret_addr);
int shmb_segment_get_fd(const struct shmb_segment *s);
int shmb_segment_get_shmid(const struct shmb_segment *s);
uint64_t shmb_segment_get_size(const struct shmb_segment *s);
uint64_t shmb_segment_get_id(const struct shmb_segment *s);
const char *shmb_segment_get_name(const struct shmb_segment *s);
int shmb_segment_is_readonly(const struct shmb_segment *s);
int shmb_segment_get_stat(const struct shmb_segment *s, struct shmb_stat *ret);

/* Names. */
int shmb_unlink(struct shmb_client *c, const char *name);
int shmb_stat(struct shmb_client *c, const char *name, struct shmb_stat *ret);
int shmb_sync(struct shmb_client *c, const char *name);
int shmb_resize(struct shmb_client *c, const char *name, uint64_t size);
int shmb_publish(struct shmb_client *c, const char *name);

/*
 * Events. Subscriptions deliver events of a name or prefix; holders get
 * RESIZED notices without one (the library then grows the handle's size, so
 * that the next shmb_segment_map() maps the new size). Events that arrive
 * while a call waits for its reply are kept; shmb_client_dispatch() hands
 * out the kept ones and any readable now, without blocking. Call it when
 * shmb_client_get_fd() is readable and after calls while
 * shmb_client_pending() is non-zero.
 */
int shmb_watch(struct shmb_client *c, const char *pattern, unsigned flags, uint32_t *ret_watch_id);
int shmb_unwatch(struct shmb_client *c, uint32_t watch_id);
int shmb_client_dispatch(struct shmb_client *c, shmb_event_fn fn, void *userdata);
int shmb_client_pending(const struct shmb_client *c);
int shmb_list(struct shmb_client *c, struct shmb_stat **ret_entries, size_t *ret_n);
void shmb_list_free(struct shmb_stat *entries);

/* Helpers. */
const char *shmb_event_kind_to_string(enum shmb_event_kind k);
const char *shmb_lifetime_to_string(enum shmb_lifetime l);
int shmb_lifetime_from_string(const char *s);
const char *shmb_backend_to_string(enum shmb_backend b);
int shmb_backend_from_string(const char *s);

#ifdef __cplusplus
}
#endif

#endif
