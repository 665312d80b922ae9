#pragma once

/*
 * File descriptors from and to the service manager.
 *
 * At start: the sockets systemd passes ($LISTEN_FDS, named by
 * $LISTEN_FDNAMES: "client" is the client socket; "admin" the admin socket) and
 * the memfds this service stored before a restart ("seg-<id>").
 *
 * While running, if the manager keeps a file-descriptor store for us: every
 * memfd segment is stored as FDSTORE=1 with FDNAME=seg-<id>, and removed
 * (FDSTOREREMOVE=1) when the segment is destroyed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct StoredFd {
        uint64_t id;                    /* segment id from "seg-<id>" */
        int fd;                         /* -1 once taken */
} StoredFd;

typedef enum FdStoreMode {
        FDSTORE_AUTO,                   /* use it if systemd says we have one */
        FDSTORE_YES,                    /* use it whenever $NOTIFY_SOCKET is set */
        FDSTORE_NO,
        _FDSTORE_MODE_MAX,
        _FDSTORE_MODE_INVALID = -22,
} FdStoreMode;

typedef struct FdStore {
        bool enabled;                   /* memfds go to the store; the state file is written */
        uint64_t max;                   /* the store's size if known, else 0 */
        int client_fd;                  /* passed client socket, or -1 */
        int admin_fd;                   /* passed admin socket, or -1 */
        StoredFd *segs;                 /* sorted by id */
        size_t n_segs;
        unsigned n_push_failed;
} FdStore;

#define FDSTORE_NULL { .client_fd = -1, .admin_fd = -1 }

int fdstore_mode_from_string(const char *s);
int fdstore_collect(FdStore *st);
void fdstore_decide(FdStore *st, FdStoreMode mode);
int fdstore_take_segment(FdStore *st, uint64_t id);
size_t fdstore_drop_unclaimed(FdStore *st);
void fdstore_push(FdStore *st, uint64_t id, int fd);
void fdstore_remove(FdStore *st, uint64_t id);
void fdstore_done(FdStore *st);
