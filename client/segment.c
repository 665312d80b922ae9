/*
 * libshmbroker: create, open, release, map, unlink, stat, list.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "client/client-internal.h"
#include "util/cleanup.h"
#include "util/macro.h"

/**
 * client_stat_from_wire() - public form of a segment-info record
 * @st:         output
 * @si:         decoded record
 */
void client_stat_from_wire(struct shmb_stat *st, const ProtoSegInfo *si) {
        *st = (struct shmb_stat){
                .ttl_sec = si->ttl_sec,
                .max_size = si->max_size,
                .id = si->id,
                .size = si->size,
                .uid = (uid_t)si->uid,
                .gid = (gid_t)si->gid,
                .mode = si->mode,
                .holders = si->holders,
                .backend = (enum shmb_backend)si->backend,
                .lifetime = (enum shmb_lifetime)si->lifetime,
                .flags = si->flags,
                .shmid = si->shmid,
                .created_usec = si->created_usec,
        };
        memcpy(st->name, si->name, sizeof(st->name));
}

static int check_name(struct shmb_client *c, const char *name) {
        if (!name || !proto_name_valid(name, strnlen(name, SHMB_NAME_MAX + 1)))
                return client_error(c, EINVAL,
                                    "invalid segment name: use 1-255 characters of [A-Za-z0-9._-], "
                                    "not starting with '.' or '-'");
        return 0;
}

/* Turn a CREATE/OPEN reply in c->buf plus its fd into a segment handle. */
static int segment_from_reply(struct shmb_client *c, int fd, struct shmb_segment **ret) {
        struct shmb_segment *s;
        ProtoSegInfo si;

        if (proto_decode_seginfo_reply(c->buf, c->buf_len, &si) < 0 ||
            (si.backend == SHMB_BACKEND_SYSV ? si.shmid < 0 : fd < 0)) {
                safe_close(fd);
                return client_error(c, EBADMSG, "malformed reply from shmbrokerd (no segment, fd or shmid)");
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                safe_close(fd);
                return -ENOMEM;
        }
        s->client = c;
        s->fd = fd;
        client_stat_from_wire(&s->st, &si);
        list_append(&c->segments, &s->link);
        *ret = s;
        return 0;
}

static void segment_unmap(struct shmb_segment *s, void *addr, uint64_t size) {
        if (s->st.backend == SHMB_BACKEND_SYSV)
                (void)shmdt(addr);
        else
                (void)munmap(addr, (size_t)size);
}

/* Each refusal says which option is wrong, as shmbrokerctl does for its own options. */
static int check_create_options(struct shmb_client *c, uint64_t size, const struct shmb_create_options *o) {
        const unsigned known = SHMB_CREATE_EXCL | SHMB_CREATE_HUGE | SHMB_CREATE_RESERVE;

        if (o->mode > 0777)
                return client_error(c, EINVAL, "invalid mode 0%o: permission bits go from 0 to 0777", o->mode);
        if ((unsigned)o->lifetime > SHMB_LIFETIME_TTL)
                return client_error(c, EINVAL, "unknown lifetime %u (holders 0, creator 1, persistent 2, ttl 3)",
                                    (unsigned)o->lifetime);
        if (o->lifetime == SHMB_LIFETIME_TTL && o->ttl_sec == 0)
                return client_error(c, EINVAL, "lifetime ttl needs ttl_sec: the seconds without holders "
                                               "before the segment ends, at least 1");
        if (o->lifetime != SHMB_LIFETIME_TTL && o->ttl_sec != 0)
                return client_error(c, EINVAL, "ttl_sec %u is only for lifetime ttl, not %s", o->ttl_sec,
                                    shmb_lifetime_to_string(o->lifetime));
        if (o->max_size && o->max_size < size)
                return client_error(c, EINVAL, "max_size %llu is below the size %llu: it is how far the "
                                               "segment may grow", (unsigned long long)o->max_size,
                                    (unsigned long long)size);
        if ((unsigned)o->backend > SHMB_BACKEND_FILE)
                return client_error(c, EINVAL, "unknown backend %u (default 0, memfd 1, posix 2, sysv 3, file 4)",
                                    (unsigned)o->backend);
        if (o->flags & ~known)
                return client_error(c, EINVAL, "unknown create flags 0x%x", o->flags & ~known);
        return 0;
}

/**
 * shmb_create() - create a segment, or open it if it exists (unless EXCL)
 * @c:          client
 * @name:       segment name
 * @size:       bytes (>= 1); opening an existing segment needs size <= its size
 * @opts:       options, or NULL for SHMB_CREATE_OPTIONS_INIT
 * @ret:        segment handle, held read-write
 *
 * Return: 0, -EEXIST, -EACCES, -EDQUOT, -EFBIG, -ENOSPC, -EINVAL, ...
 */
_public_ int shmb_create(struct shmb_client *c, const char *name, uint64_t size,
                         const struct shmb_create_options *opts, struct shmb_segment **ret) {
        static const struct shmb_create_options defaults = SHMB_CREATE_OPTIONS_INIT;
        ProtoBuf b;
        int n, r, fd = -1;

        if (!c || !ret)
                return -EINVAL;
        r = check_name(c, name);
        if (r < 0)
                return r;
        if (!opts)
                opts = &defaults;
        if (size == 0)
                return client_error(c, EINVAL, "size must be at least 1 byte");
        r = check_create_options(c, size, opts);
        if (r < 0)
                return r;
        proto_buf_init(&b, c->buf, sizeof(c->buf));
        n = proto_encode_create_full(&b, c->next_req_id++,
                                     &(ProtoCreate){
                                             .name = name,
                                             .size = size,
                                             .mode = opts->mode,
                                             .lifetime = (uint8_t)opts->lifetime,
                                             .backend = (uint8_t)opts->backend,
                                             .flags = (uint16_t)opts->flags,
                                             .ttl_sec = opts->ttl_sec,
                                             .max_size = opts->max_size,
                                     });
        /* Sent again after a reconnect, the daemon knows it by its operation id. */
        n = client_tag_op(c, n);
        if (n < 0)
                return n;
        r = client_transact(c, (size_t)n, &fd);
        if (r < 0)
                return r;
        return segment_from_reply(c, fd, ret);
}

/**
 * shmb_open() - open an existing segment
 * @c:          client
 * @name:       segment name
 * @flags:      SHMB_OPEN_RDONLY for a read-only hold and fd
 * @ret:        segment handle
 *
 * Return: 0, -ENOENT, -EACCES, -EINVAL, ...
 */
_public_ int shmb_open(struct shmb_client *c, const char *name, unsigned flags, struct shmb_segment **ret) {
        return shmb_open_wait(c, name, flags, 0, ret);
}

/**
 * shmb_open_wait() - open a segment, waiting up to @timeout_ms for it to exist
 * @c:          client
 * @name:       segment name
 * @flags:      SHMB_OPEN_RDONLY; SHMB_OPEN_WAIT_PUBLISHED to wait until it is published too
 * @timeout_ms: 0 to fail at once, at most 3600000; the daemon wakes the call
 *              when the segment is created (published), without polling
 * @ret:        segment handle
 *
 * Return: 0, -ENOENT (not there in time), -EACCES, -EINVAL, ...
 */
_public_ int shmb_open_wait(struct shmb_client *c, const char *name, unsigned flags, uint32_t timeout_ms,
                            struct shmb_segment **ret) {
        ProtoBuf b;
        int n, r, fd = -1;

        if (!c || !ret)
                return -EINVAL;
        r = check_name(c, name);
        if (r < 0)
                return r;
        if (flags & ~(SHMB_OPEN_RDONLY | SHMB_OPEN_WAIT_PUBLISHED))
                return client_error(c, EINVAL, "unknown open flags");
        if (timeout_ms > 3600000)
                return client_error(c, EINVAL, "timeout above one hour");
        proto_buf_init(&b, c->buf, sizeof(c->buf));
        n = proto_encode_open_wait(&b, c->next_req_id++, name, (uint16_t)flags, timeout_ms);
        if (n < 0)
                return n;
        r = client_transact(c, (size_t)n, &fd);
        if (r < 0)
                return r;
        return segment_from_reply(c, fd, ret);
}

/**
 * shmb_segment_release() - drop the hold, unmap, close and free the handle
 * @s:          segment handle (freed even if the daemon cannot be told)
 *
 * A release never waits for a daemon that went away: a broken connection
 * has let go of the hold already (a restarted daemon drops holds nobody
 * reclaims), so the handle is freed and the error returned. A hold lost in
 * a restart, or whose client was freed first, is released locally only.
 *
 * Return: 0, or negative errno if the daemon did not confirm (the hold is
 * dropped anyway when the connection closes).
 */
_public_ int shmb_segment_release(struct shmb_segment *s) {
        struct shmb_client *c;
        bool local;
        ProtoBuf b;
        int n = 0;

        if (!s)
                return -EINVAL;
        c = s->client;
        if (s->addr)
                segment_unmap(s, s->addr, s->mapped_size);
        while (s->old) {
                OldMapping *o = s->old;

                s->old = o->next;
                segment_unmap(s, o->addr, o->size);
                free(o);
        }
        /* Unlinked here: a later reconnect does not reclaim this open. */
        list_unlink(&s->link);
        safe_close(s->fd);
        local = s->lost || !c;
        if (!local) {
                proto_buf_init(&b, c->buf, sizeof(c->buf));
                n = proto_encode_release(&b, c->next_req_id++, s->st.id);
        }
        free(s);
        if (local)
                return 0;
        if (n < 0)
                return n;
        return client_transact_full(c, (size_t)n, NULL, CLIENT_NO_RECONNECT);
}

/* A failed mmap() or shmat(): the words go to the client, if the handle still has one. */
static int segment_map_error(struct shmb_segment *s, int err, const char *what) {
        if (!s->client)
                return -err;
        if (s->st.backend == SHMB_BACKEND_SYSV)
                return client_error(s->client, err, "%s of '%s' (shmid %d) failed: %s", what, s->st.name,
                                    s->st.shmid, strerror(err));
        return client_error(s->client, err, "%s of '%s' failed: %s", what, s->st.name, strerror(err));
}

/**
 * shmb_segment_map() - map the whole segment shared (read-only holds: PROT_READ)
 * @s:          segment
 * @ret_addr:   the mapping; the same address on later calls while the size
 *              stays; after a resize, a new mapping of the new size (the old
 *              one stays valid until shmb_segment_release())
 *
 * System V segments are attached with shmat() (SHM_RDONLY for read-only holds).
 *
 * Return: 0 or negative errno from mmap() or shmat().
 */
_public_ int shmb_segment_map(struct shmb_segment *s, void **ret_addr) {
        int prot;
        void *p;

        if (!s || !ret_addr)
                return -EINVAL;
        if (s->addr && s->mapped_size != s->st.size) {
                OldMapping *o = malloc(sizeof(*o));

                if (!o)
                        return -ENOMEM;
                *o = (OldMapping){ .next = s->old, .addr = s->addr, .size = s->mapped_size };
                s->old = o;
                s->addr = NULL;
        }
        if (!s->addr) {
                if (s->st.size > SIZE_MAX)
                        return -EFBIG;
                bool ro = s->st.flags & SHMB_SEG_READONLY;

                if (s->st.backend == SHMB_BACKEND_SYSV) {
                        p = shmat(s->st.shmid, NULL, ro ? SHM_RDONLY : 0);
                        if (p == (void *)-1)
                                return segment_map_error(s, errno, "shmat");
                        s->addr = p;
                        s->mapped_size = s->st.size;
                        *ret_addr = p;
                        return 0;
                }
                prot = PROT_READ | (ro ? 0 : PROT_WRITE);
                p = mmap(NULL, (size_t)s->st.size, prot, MAP_SHARED, s->fd, 0);
                if (p == MAP_FAILED)
                        return segment_map_error(s, errno, "mmap");
                s->addr = p;
                s->mapped_size = s->st.size;
        }
        *ret_addr = s->addr;
        return 0;
}

/**
 * shmb_segment_get_fd() - the segment's fd, owned by the handle
 * @s:          segment
 *
 * Return: the fd, -ENODATA for System V segments (no fd), or -EINVAL.
 */
_public_ int shmb_segment_get_fd(const struct shmb_segment *s) {
        if (!s)
                return -EINVAL;
        return s->fd >= 0 ? s->fd : -ENODATA;
}

/**
 * shmb_segment_get_shmid() - the System V id of a sysv segment
 * @s:          segment
 *
 * Return: the shmid, -ENODATA for other backends, or -EINVAL.
 */
_public_ int shmb_segment_get_shmid(const struct shmb_segment *s) {
        if (!s)
                return -EINVAL;
        return s->st.shmid >= 0 ? s->st.shmid : -ENODATA;
}

/**
 * shmb_segment_get_size() - size in bytes
 * @s:          segment
 *
 * Return: the size, 0 for NULL.
 */
_public_ uint64_t shmb_segment_get_size(const struct shmb_segment *s) {
        return s ? s->st.size : 0;
}

/**
 * shmb_segment_get_id() - the daemon's id of the segment
 * @s:          segment
 *
 * Return: the id, 0 for NULL.
 */
_public_ uint64_t shmb_segment_get_id(const struct shmb_segment *s) {
        return s ? s->st.id : 0;
}

/**
 * shmb_segment_get_name() - the name it was created or opened under
 * @s:          segment
 *
 * Return: the name, owned by the handle.
 */
_public_ const char *shmb_segment_get_name(const struct shmb_segment *s) {
        return s ? s->st.name : NULL;
}

/**
 * shmb_segment_is_readonly() - whether the hold and fd are read-only
 * @s:          segment
 *
 * Return: 1, 0, or -EINVAL.
 */
_public_ int shmb_segment_is_readonly(const struct shmb_segment *s) {
        if (!s)
                return -EINVAL;
        return !!(s->st.flags & SHMB_SEG_READONLY);
}

/**
 * shmb_segment_get_stat() - attributes as of the create or open reply
 * @s:          segment
 * @ret:        copy of the attributes
 *
 * Return: 0 or -EINVAL.
 */
_public_ int shmb_segment_get_stat(const struct shmb_segment *s, struct shmb_stat *ret) {
        if (!s || !ret)
                return -EINVAL;
        *ret = s->st;
        return 0;
}

static int name_request(struct shmb_client *c, uint16_t type, const char *name) {
        ProtoBuf b;
        int n, r;

        if (!c)
                return -EINVAL;
        r = check_name(c, name);
        if (r < 0)
                return r;
        proto_buf_init(&b, c->buf, sizeof(c->buf));
        n = proto_encode_name_request(&b, type, c->next_req_id++, name);
        if (type == SHMB_MSG_UNLINK)
                n = client_tag_op(c, n);
        if (n < 0)
                return n;
        return client_transact(c, (size_t)n, NULL);
}

/**
 * shmb_unlink() - remove a name; holders keep their memory
 * @c:          client
 * @name:       segment name
 *
 * Return: 0, -ENOENT, -EPERM (not the owner), -EINVAL.
 */
_public_ int shmb_unlink(struct shmb_client *c, const char *name) {
        return name_request(c, SHMB_MSG_UNLINK, name);
}

/**
 * shmb_stat() - attributes of a named segment
 * @c:          client
 * @name:       segment name
 * @ret:        attributes
 *
 * Return: 0, -ENOENT, -EACCES, -EINVAL.
 */
_public_ int shmb_stat(struct shmb_client *c, const char *name, struct shmb_stat *ret) {
        ProtoSegInfo si;
        int r;

        if (!ret)
                return -EINVAL;
        r = name_request(c, SHMB_MSG_STAT, name);
        if (r < 0)
                return r;
        if (proto_decode_seginfo_reply(c->buf, c->buf_len, &si) < 0)
                return client_error(c, EBADMSG, "malformed STAT reply from shmbrokerd");
        client_stat_from_wire(ret, &si);
        return 0;
}

/**
 * shmb_sync() - make a file segment's bytes durable (fdatasync in the daemon)
 * @c:          client
 * @name:       segment name
 *
 * Return: 0, -ENOENT, -EACCES, -EOPNOTSUPP (not a file segment), -EINVAL.
 */
_public_ int shmb_sync(struct shmb_client *c, const char *name) {
        return name_request(c, SHMB_MSG_SYNC, name);
}

/**
 * shmb_list() - every segment the caller may read, in creation order
 * @c:          client
 * @ret_entries: array, free with shmb_list_free()
 * @ret_n:      number of entries
 *
 * Return: 0 or negative errno.
 */
_public_ int shmb_list(struct shmb_client *c, struct shmb_stat **ret_entries, size_t *ret_n) {
        struct shmb_stat *v = NULL;
        size_t n = 0, cap = 0;
        uint64_t after = 0;
        uint32_t flags;

        if (!c || !ret_entries || !ret_n)
                return -EINVAL;
        do {
                uint32_t count;
                size_t off;
                ProtoBuf b;
                int len, r;

                proto_buf_init(&b, c->buf, sizeof(c->buf));
                len = proto_encode_list(&b, c->next_req_id++, after, 0);
                r = len < 0 ? len : client_transact(c, (size_t)len, NULL);
                if (r >= 0 && proto_decode_list_reply(c->buf, c->buf_len, &count, &flags, &after, &off) < 0)
                        r = client_error(c, EBADMSG, "malformed LIST reply from shmbrokerd");
                if (r < 0) {
                        free(v);
                        return r;
                }
                if (n + count > cap) {
                        size_t ncap = MAX(cap * 2, n + count + 16);
                        struct shmb_stat *nv = realloc(v, ncap * sizeof(*v));

                        if (!nv) {
                                free(v);
                                return -ENOMEM;
                        }
                        v = nv;
                        cap = ncap;
                }
                for (uint32_t i = 0; i < count; i++) {
                        ProtoSegInfo si;

                        if (proto_decode_seginfo_at(c->buf, c->buf_len, &off, &si) < 0) {
                                free(v);
                                return client_error(c, EBADMSG, "malformed LIST entry from shmbrokerd");
                        }
                        client_stat_from_wire(&v[n++], &si);
                }
        } while (flags & SHMB_LIST_MORE);
        *ret_entries = v;
        *ret_n = n;
        return 0;
}

/**
 * shmb_list_free() - free an array from shmb_list()
 * @entries:    array or NULL
 */
_public_ void shmb_list_free(struct shmb_stat *entries) {
        free(entries);
}
