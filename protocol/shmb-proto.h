#pragma once

/*
 * shmbroker wire protocol, versions 1 and 2: constants, message types, status
 * codes and the decoded forms of every message. The normative description is
 * protocol/PROTOCOL.md; this header, proto.c and proto-op.c must agree with it.
 * Version 2 is version 1 plus operation ids (proto-op.c); the admin socket
 * speaks version 1 only.
 *
 * Everything here is pure: no sockets, no file descriptors, no allocation.
 * File descriptors travel beside a message (SCM_RIGHTS), never inside it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHMB_PROTO_VERSION 1           /* what the encoders write; the admin socket's only version */
#define SHMB_PROTO_VERSION_MIN 1
#define SHMB_PROTO_VERSION_MAX 2       /* the client socket's highest version */
#define SHMB_PROTO_VERSION_OP_ID 2     /* the first version with operation ids */

#define SHMB_SOCKET_PATH_DEFAULT "/run/shmbrokerd/shmbrokerd.sock"
#define SHMB_SOCKET_ENV "SHMBROKER_SOCKET"

#define SHMB_HEADER_SIZE 16
#define SHMB_MSG_MAX 65536          /* largest datagram either side sends */
#define SHMB_NAME_MAX 255           /* bytes in a segment name */
#define SHMB_ERROR_TEXT_MAX 1024    /* bytes of text in an error reply */
#define SHMB_VERSION_TEXT_MAX 64    /* bytes of the daemon's version string */

/* Message types. A reply carries the request's type with SHMB_MSG_REPLY set. */
enum {
        SHMB_MSG_HELLO = 0x0001,
        SHMB_MSG_CREATE = 0x0002,
        SHMB_MSG_OPEN = 0x0003,
        SHMB_MSG_RELEASE = 0x0004,
        SHMB_MSG_UNLINK = 0x0005,
        SHMB_MSG_STAT = 0x0006,
        SHMB_MSG_LIST = 0x0007,
        SHMB_MSG_SYNC = 0x0008,
        SHMB_MSG_RECLAIM = 0x0009,      /* take back a hold after a daemon restart */
        SHMB_MSG_RESIZE = 0x000A,       /* grow a segment */
        SHMB_MSG_PUBLISH = 0x000B,      /* make a segment immutable */
        SHMB_MSG_WATCH = 0x000C,        /* subscribe to events of a name or prefix */
        SHMB_MSG_UNWATCH = 0x000D,
        _SHMB_MSG_REQUEST_MAX,
        SHMB_MSG_EVENT = 0x4001,        /* unsolicited notice from the daemon (req_id 0) */
        SHMB_MSG_REPLY = 0x8000,
};

/* Status of a reply; 0 is success. Stable numbers: never reuse one. */
enum {
        SHMB_STATUS_OK = 0,
        SHMB_STATUS_INVALID = 1,       /* malformed payload or bad argument */
        SHMB_STATUS_BAD_NAME = 2,      /* name empty, too long or bad characters */
        SHMB_STATUS_NOT_FOUND = 3,     /* no segment of that name */
        SHMB_STATUS_EXISTS = 4,        /* name taken (exclusive create, or too small) */
        SHMB_STATUS_DENIED = 5,        /* mode bits refuse this access */
        SHMB_STATUS_NOT_OWNER = 6,     /* only the owner (or root) may do this */
        SHMB_STATUS_NOT_HELD = 7,      /* release of a segment this connection does not hold */
        SHMB_STATUS_TOO_LARGE = 8,     /* size above the daemon's per-segment maximum */
        SHMB_STATUS_NO_SPACE = 9,      /* the kernel has no memory/space for the object */
        SHMB_STATUS_QUOTA = 10,        /* a per-user or global limit is reached */
        SHMB_STATUS_NO_MEMORY = 11,    /* the daemon itself is out of memory */
        SHMB_STATUS_UNSUPPORTED = 12,  /* unknown message type, flag or backend */
        SHMB_STATUS_VERSION = 13,      /* no common protocol version / wrong version */
        SHMB_STATUS_PROTOCOL = 14,     /* out-of-order message or fds where none belong */
        SHMB_STATUS_INTERNAL = 15,     /* unexpected failure inside the daemon */
        _SHMB_STATUS_MAX,
};

enum {
        PROTO_LIFETIME_HOLDERS = 0,     /* gone when the last holder lets go */
        PROTO_LIFETIME_CREATOR = 1,     /* gone when the creator's connection closes */
        PROTO_LIFETIME_PERSISTENT = 2,  /* kept until unlinked or the daemon stops */
        PROTO_LIFETIME_TTL = 3,         /* destroyed after ttl_sec seconds without holders */
        _PROTO_LIFETIME_MAX,
};

enum {
        PROTO_BACKEND_DEFAULT = 0,      /* the daemon's default (memfd) */
        PROTO_BACKEND_MEMFD = 1,
        PROTO_BACKEND_POSIX = 2,        /* shm_open() object, fd passed */
        PROTO_BACKEND_SYSV = 3,         /* shmget() segment, shmid in the reply, no fd */
        PROTO_BACKEND_FILE = 4,         /* file under the state directory, persists */
        _PROTO_BACKEND_MAX,
};

/* CREATE flags */
#define PROTO_CREATE_EXCL 0x0001u       /* fail with EXISTS if the name is taken */
#define PROTO_CREATE_HUGE 0x0002u       /* huge pages (memfd, sysv); size rounded up */
#define PROTO_CREATE_RESERVE 0x0004u    /* allocate all memory/space at create */
#define PROTO_CREATE_FLAGS_ALL (PROTO_CREATE_EXCL | PROTO_CREATE_HUGE | PROTO_CREATE_RESERVE)

/* OPEN flags */
#define PROTO_OPEN_RDONLY 0x0001u
#define PROTO_OPEN_WAIT_PUBLISHED 0x0002u /* with a timeout: wait until it is published too */
#define PROTO_OPEN_FLAGS_ALL (PROTO_OPEN_RDONLY | PROTO_OPEN_WAIT_PUBLISHED)
#define PROTO_OPEN_TIMEOUT_MAX 3600000u   /* milliseconds */

/* WATCH flags */
#define PROTO_WATCH_PREFIX 0x0001u      /* the pattern is a name prefix (may be empty: every name) */
#define PROTO_WATCH_FLAGS_ALL PROTO_WATCH_PREFIX

/* Event kinds */
enum {
        PROTO_EVENT_CREATED = 1,
        PROTO_EVENT_RESIZED = 2,
        PROTO_EVENT_PUBLISHED = 3,
        PROTO_EVENT_UNLINKED = 4,       /* the name is gone; holders keep the segment */
        PROTO_EVENT_DESTROYED = 5,      /* the segment is gone */
        PROTO_EVENT_DROPPED = 6,        /* events were dropped for this slow reader: see "dropped" */
        _PROTO_EVENT_MAX,
};

/* RECLAIM flags */
#define PROTO_RECLAIM_RDONLY 0x0001u    /* reclaim a read-only open (else read-write) */
#define PROTO_RECLAIM_FLAGS_ALL PROTO_RECLAIM_RDONLY

/* Segment-info flags */
#define PROTO_SEG_READONLY 0x0001u      /* this reply's hold/fd is read-only */
#define PROTO_SEG_CREATED 0x0002u       /* this request created the segment */
#define PROTO_SEG_UNLINKED 0x0004u      /* the name is gone; holders keep the memory */
#define PROTO_SEG_HUGE 0x0008u          /* backed by huge pages */
#define PROTO_SEG_RESERVED 0x0010u      /* memory/space allocated at create */
#define PROTO_SEG_PUBLISHED 0x0020u     /* immutable: every open is read-only */
#define PROTO_SEG_FROZEN 0x0040u        /* published with no writable mapping left: bytes can never change */

/* Header flags of a request (version 2; version 1 requests have none) */
#define SHMB_HDR_OP_ID 0x0001u         /* the datagram ends with an 8-byte operation id */
#define SHMB_OP_ID_SIZE 8

/* LIST reply flags */
#define SHMB_LIST_MORE 0x0001u         /* more entries follow: ask again after the last id */

typedef struct ProtoHeader {
        uint16_t version;
        uint16_t type;
        uint16_t flags;
        uint16_t status;
        uint32_t length;
        uint32_t req_id;
} ProtoHeader;

typedef struct ProtoSegInfo {
        uint64_t id;
        uint64_t size;
        uint32_t uid;
        uint32_t gid;
        uint32_t mode;
        uint32_t holders;
        uint8_t backend;
        uint8_t lifetime;
        uint16_t flags;
        int32_t shmid;                 /* -1 unless the backend is System V */
        uint32_t ttl_sec;              /* lifetime "ttl": seconds unheld before destruction */
        uint64_t created_usec;         /* CLOCK_REALTIME, microseconds */
        uint64_t max_size;             /* a resize may grow it up to this */
        char name[SHMB_NAME_MAX + 1];
} ProtoSegInfo;

/* A decoded request. Names are NUL-terminated copies. */
typedef struct ProtoRequest {
        ProtoHeader hdr;
        uint64_t op_id;                /* from the OP_ID trailer; 0: none */
        union {
                struct {
                        uint16_t min_version;
                        uint16_t max_version;
                } hello;
                struct {
                        uint64_t size;
                        uint32_t mode;
                        uint8_t lifetime;
                        uint8_t backend;
                        uint16_t flags;
                        uint32_t ttl_sec;
                        uint64_t max_size;
                        char name[SHMB_NAME_MAX + 1];
                } create;
                struct {
                        uint16_t flags;
                        uint32_t timeout_ms;
                        char name[SHMB_NAME_MAX + 1];
                } open;
                struct {
                        uint64_t size;
                        char name[SHMB_NAME_MAX + 1];
                } resize;
                struct {
                        uint16_t flags;
                        char pattern[SHMB_NAME_MAX + 1];
                } watch;
                struct {
                        uint32_t watch_id;
                } unwatch;
                struct {
                        uint64_t id;
                } release;
                struct {
                        char name[SHMB_NAME_MAX + 1];
                } unlink, stat, sync, publish;
                struct {
                        uint64_t after_id;
                        uint32_t max_entries;
                } list;
                struct {
                        uint64_t id;
                        uint16_t flags;
                } reclaim;
        };
} ProtoRequest;

typedef struct ProtoHelloReply {
        uint16_t version;
        uint32_t max_message;
        uint32_t max_name;
        uint32_t uid;
        uint32_t gid;
        uint32_t pid;
        char server[SHMB_VERSION_TEXT_MAX + 1];
} ProtoHelloReply;

/* Sizes of fixed payload parts (see PROTOCOL.md). */
#define SHMB_HELLO_SIZE 8
#define SHMB_HELLO_REPLY_FIXED 24
#define SHMB_CREATE_FIXED 28
#define SHMB_OPEN_FIXED 8
#define SHMB_RESIZE_FIXED 8
#define SHMB_WATCH_FIXED 8
#define SHMB_UNWATCH_SIZE 8
#define SHMB_WATCH_REPLY_SIZE 8
#define SHMB_EVENT_FIXED 40
#define SHMB_RELEASE_SIZE 8
#define SHMB_LIST_SIZE 16
#define SHMB_RECLAIM_SIZE 16
#define SHMB_LIST_REPLY_FIXED 16
#define SHMB_SEGINFO_FIXED 64

/* Encoding buffer: a bounded cursor over caller memory. */
typedef struct ProtoBuf {
        uint8_t *data;
        size_t size;
        size_t len;
        bool overflow;
} ProtoBuf;

bool proto_name_valid(const char *name, size_t len);
bool proto_prefix_valid(const char *prefix, size_t len);
const char *proto_status_name(int status);
const char *proto_status_text(int status);
int proto_status_to_errno(int status);
const char *proto_type_name(uint16_t type);

int proto_decode_header(const void *buf, size_t len, ProtoHeader *ret);
int proto_decode_request(const void *buf, size_t len, ProtoRequest *ret, const char **ret_why);
int proto_decode_request_version(const void *buf, size_t len, uint16_t version, ProtoRequest *ret,
                                 const char **ret_why);
bool proto_type_takes_op_id(uint16_t type);
int proto_add_op_id(ProtoBuf *b, uint64_t op_id);
int proto_frame_request(void *buf, size_t len, uint16_t version);

void proto_buf_init(ProtoBuf *b, void *data, size_t size);
void proto_put_header(ProtoBuf *b, uint16_t type, uint16_t status, uint32_t req_id);
void proto_put_u8(ProtoBuf *b, uint8_t v);
void proto_put_u16(ProtoBuf *b, uint16_t v);
void proto_put_u32(ProtoBuf *b, uint32_t v);
void proto_put_u64(ProtoBuf *b, uint64_t v);
void proto_put_str(ProtoBuf *b, const char *s, size_t len);
void proto_put_seginfo(ProtoBuf *b, const ProtoSegInfo *si);
int proto_finish(ProtoBuf *b);

int proto_encode_hello(ProtoBuf *b, uint32_t req_id, uint16_t min_version, uint16_t max_version);
typedef struct ProtoEvent {
        uint8_t kind;
        uint16_t flags;                /* the segment's PROTO_SEG_* flags */
        uint32_t watch_id;             /* 0: a notice to a holder */
        uint64_t seq;                  /* per connection, +1 per event sent or dropped */
        uint64_t id;
        uint64_t size;
        uint64_t dropped;              /* PROTO_EVENT_DROPPED: how many */
        char name[SHMB_NAME_MAX + 1];  /* may be empty for DROPPED */
} ProtoEvent;

typedef struct ProtoCreate {
        const char *name;
        uint64_t size;
        uint32_t mode;
        uint8_t lifetime;
        uint8_t backend;
        uint16_t flags;
        uint32_t ttl_sec;
        uint64_t max_size;
} ProtoCreate;

int proto_encode_create(ProtoBuf *b, uint32_t req_id, const char *name, uint64_t size, uint32_t mode,
                        uint8_t lifetime, uint8_t backend, uint16_t flags);
int proto_encode_create_full(ProtoBuf *b, uint32_t req_id, const ProtoCreate *c);
int proto_encode_open(ProtoBuf *b, uint32_t req_id, const char *name, uint16_t flags);
int proto_encode_open_wait(ProtoBuf *b, uint32_t req_id, const char *name, uint16_t flags, uint32_t timeout_ms);
int proto_encode_resize(ProtoBuf *b, uint32_t req_id, const char *name, uint64_t size);
int proto_encode_watch(ProtoBuf *b, uint32_t req_id, const char *pattern, uint16_t flags);
int proto_encode_unwatch(ProtoBuf *b, uint32_t req_id, uint32_t watch_id);
int proto_encode_event(ProtoBuf *b, const ProtoEvent *e);
int proto_decode_event(const void *buf, size_t len, ProtoEvent *ret);
int proto_decode_watch_reply(const void *buf, size_t len, uint32_t *ret_watch_id);
int proto_encode_release(ProtoBuf *b, uint32_t req_id, uint64_t id);
int proto_encode_name_request(ProtoBuf *b, uint16_t type, uint32_t req_id, const char *name);
int proto_encode_list(ProtoBuf *b, uint32_t req_id, uint64_t after_id, uint32_t max_entries);
int proto_encode_reclaim(ProtoBuf *b, uint32_t req_id, uint64_t id, uint16_t flags);
int proto_encode_error(ProtoBuf *b, uint16_t type, uint16_t status, uint32_t req_id, const char *text);
int proto_encode_hello_reply(ProtoBuf *b, uint32_t req_id, const ProtoHelloReply *h);

int proto_decode_hello_reply(const void *buf, size_t len, ProtoHelloReply *ret);
int proto_decode_seginfo_reply(const void *buf, size_t len, ProtoSegInfo *ret);
int proto_decode_error_text(const void *buf, size_t len, char *text, size_t size);
int proto_decode_list_reply(const void *buf, size_t len, uint32_t *ret_count, uint32_t *ret_flags,
                            uint64_t *ret_next, size_t *ret_offset);
int proto_decode_seginfo_at(const void *buf, size_t len, size_t *offset, ProtoSegInfo *ret);
