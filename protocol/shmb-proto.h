#pragma once

/*
 * shmbroker wire protocol, version 1: constants, message types, status codes
 * and the decoded forms of every message. The normative description is
 * protocol/PROTOCOL.md; this header and proto.c must agree with it.
 *
 * Everything here is pure: no sockets, no file descriptors, no allocation.
 * File descriptors travel beside a message (SCM_RIGHTS), never inside it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHMB_PROTO_VERSION 1
#define SHMB_PROTO_VERSION_MIN 1

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
        _SHMB_MSG_REQUEST_MAX,
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
#define PROTO_OPEN_FLAGS_ALL PROTO_OPEN_RDONLY

/* Segment-info flags */
#define PROTO_SEG_READONLY 0x0001u      /* this reply's hold/fd is read-only */
#define PROTO_SEG_CREATED 0x0002u       /* this request created the segment */
#define PROTO_SEG_UNLINKED 0x0004u      /* the name is gone; holders keep the memory */
#define PROTO_SEG_HUGE 0x0008u          /* backed by huge pages */
#define PROTO_SEG_RESERVED 0x0010u      /* memory/space allocated at create */

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
        uint32_t ttl_sec;              /* reserved: 0 */
        uint64_t created_usec;         /* CLOCK_REALTIME, microseconds */
        char name[SHMB_NAME_MAX + 1];
} ProtoSegInfo;

/* A decoded request. Names are NUL-terminated copies. */
typedef struct ProtoRequest {
        ProtoHeader hdr;
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
                        char name[SHMB_NAME_MAX + 1];
                } create;
                struct {
                        uint16_t flags;
                        char name[SHMB_NAME_MAX + 1];
                } open;
                struct {
                        uint64_t id;
                } release;
                struct {
                        char name[SHMB_NAME_MAX + 1];
                } unlink, stat, sync;
                struct {
                        uint64_t after_id;
                        uint32_t max_entries;
                } list;
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
#define SHMB_CREATE_FIXED 20
#define SHMB_OPEN_FIXED 8
#define SHMB_RELEASE_SIZE 8
#define SHMB_LIST_SIZE 16
#define SHMB_LIST_REPLY_FIXED 16
#define SHMB_SEGINFO_FIXED 56

/* Encoding buffer: a bounded cursor over caller memory. */
typedef struct ProtoBuf {
        uint8_t *data;
        size_t size;
        size_t len;
        bool overflow;
} ProtoBuf;

bool proto_name_valid(const char *name, size_t len);
const char *proto_status_name(int status);
const char *proto_status_text(int status);
int proto_status_to_errno(int status);
const char *proto_type_name(uint16_t type);

int proto_decode_header(const void *buf, size_t len, ProtoHeader *ret);
int proto_decode_request(const void *buf, size_t len, ProtoRequest *ret, const char **ret_why);

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
int proto_encode_create(ProtoBuf *b, uint32_t req_id, const char *name, uint64_t size, uint32_t mode,
                        uint8_t lifetime, uint8_t backend, uint16_t flags);
int proto_encode_open(ProtoBuf *b, uint32_t req_id, const char *name, uint16_t flags);
int proto_encode_release(ProtoBuf *b, uint32_t req_id, uint64_t id);
int proto_encode_name_request(ProtoBuf *b, uint16_t type, uint32_t req_id, const char *name);
int proto_encode_list(ProtoBuf *b, uint32_t req_id, uint64_t after_id, uint32_t max_entries);
int proto_encode_error(ProtoBuf *b, uint16_t type, uint16_t status, uint32_t req_id, const char *text);
int proto_encode_hello_reply(ProtoBuf *b, uint32_t req_id, const ProtoHelloReply *h);

int proto_decode_hello_reply(const void *buf, size_t len, ProtoHelloReply *ret);
int proto_decode_seginfo_reply(const void *buf, size_t len, ProtoSegInfo *ret);
int proto_decode_error_text(const void *buf, size_t len, char *text, size_t size);
int proto_decode_list_reply(const void *buf, size_t len, uint32_t *ret_count, uint32_t *ret_flags,
                            uint64_t *ret_next, size_t *ret_offset);
int proto_decode_seginfo_at(const void *buf, size_t len, size_t *offset, ProtoSegInfo *ret);
