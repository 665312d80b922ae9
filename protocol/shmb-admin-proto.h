#pragma once

/*
 * shmbroker admin protocol, version 1: the messages served on the admin
 * socket. Transport, header, HELLO, strings and error replies are those of
 * the client protocol (shmb-proto.h); only the message types 0x0101..0x0107
 * and their payloads are added here. The normative description is
 * protocol/PROTOCOL.md, section 13.
 *
 * Pure: no sockets, no file descriptors, no allocation.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/shmb-proto.h"

#define SHMB_ADMIN_SOCKET_PATH_DEFAULT "/run/shmbrokerd/admin.sock"
#define SHMB_ADMIN_SOCKET_ENV "SHMBROKER_ADMIN_SOCKET"

#define SHMB_COMM_MAX 15                /* bytes of a command name (/proc/PID/comm) */
#define SHMB_ADMIN_SCAN_MAX 8192        /* entries examined per listing request */

/* Admin message types; a reply has SHMB_MSG_REPLY set, as in the client protocol. */
enum {
        SHMB_ADMIN_MSG_FIRST = 0x0101,
        SHMB_ADMIN_MSG_LIST_SEGMENTS = 0x0101,
        SHMB_ADMIN_MSG_SHOW = 0x0102,
        SHMB_ADMIN_MSG_LIST_CLIENTS = 0x0103,
        SHMB_ADMIN_MSG_STATS = 0x0104,
        SHMB_ADMIN_MSG_DESTROY = 0x0105,
        SHMB_ADMIN_MSG_KICK = 0x0106,
        SHMB_ADMIN_MSG_LOG_LEVEL = 0x0107,
        _SHMB_ADMIN_MSG_MAX,
};

/* Paged replies (LIST_SEGMENTS, SHOW, LIST_CLIENTS): flags of the page header. */
#define SHMB_ADMIN_PAGE_MORE 0x0001u    /* ask again with after_id = next */

/* Holder-record flags */
#define SHMB_ADMIN_HOLD_WRITABLE 0x0001u

/* Client-record flags */
#define SHMB_ADMIN_CLIENT_ADMIN 0x0001u /* a connection to the admin socket */
#define SHMB_ADMIN_CLIENT_HELLO 0x0002u /* HELLO accepted */

/* Backend-record flags (STATS) */
#define SHMB_ADMIN_BACKEND_ENABLED 0x01u

/* LOG_LEVEL request: report the level without changing it. */
#define SHMB_ADMIN_LOG_LEVEL_QUERY UINT32_MAX

/* Sizes of fixed parts (see PROTOCOL.md, section 13). */
#define SHMB_ADMIN_LIST_SIZE 16
#define SHMB_ADMIN_SHOW_FIXED 16
#define SHMB_ADMIN_PAGE_FIXED 16
#define SHMB_ADMIN_SEGMENT_FIXED 64
#define SHMB_ADMIN_HOLDER_FIXED 40
#define SHMB_ADMIN_CLIENT_FIXED 48
#define SHMB_ADMIN_STATS_FIXED 72
#define SHMB_ADMIN_BACKEND_SIZE 24
#define SHMB_ADMIN_COUNTER_SIZE 16
#define SHMB_ADMIN_KICK_SIZE 8
#define SHMB_ADMIN_LOG_LEVEL_SIZE 4

typedef struct ProtoAdminSegment {
        uint64_t id;
        uint64_t size;
        uint32_t uid;
        uint32_t gid;
        uint32_t mode;
        uint32_t holders;
        uint8_t backend;
        uint8_t lifetime;
        uint16_t flags;                 /* PROTO_SEG_UNLINKED, _HUGE, _RESERVED */
        int32_t shmid;
        uint64_t created_usec;
        uint64_t last_opened_usec;      /* 0: never opened since the daemon started */
        char name[SHMB_NAME_MAX + 1];
} ProtoAdminSegment;

typedef struct ProtoAdminHolder {
        uint64_t conn_id;
        uint64_t since_usec;
        uint64_t opens;
        uint32_t pid;
        uint32_t uid;
        uint32_t gid;
        uint16_t flags;                 /* SHMB_ADMIN_HOLD_* */
        char comm[SHMB_COMM_MAX + 1];
} ProtoAdminHolder;

typedef struct ProtoAdminClient {
        uint64_t conn_id;
        uint64_t connected_usec;
        uint64_t holds;
        uint64_t bytes_held;
        uint32_t pid;
        uint32_t uid;
        uint32_t gid;
        uint16_t flags;                 /* SHMB_ADMIN_CLIENT_* */
        char comm[SHMB_COMM_MAX + 1];
} ProtoAdminClient;

typedef struct ProtoAdminStats {
        uint64_t uptime_usec;
        uint64_t started_usec;
        uint64_t connections_total;
        uint64_t admin_denied_total;
        uint32_t connections;
        uint32_t admin_connections;
        uint64_t segments;
        uint64_t bytes;
        uint64_t holds;
        uint32_t log_level;
        uint16_t n_backends;
        uint16_t n_counters;
} ProtoAdminStats;

typedef struct ProtoAdminBackend {
        uint8_t backend;
        uint8_t flags;                  /* SHMB_ADMIN_BACKEND_* */
        uint64_t segments;
        uint64_t bytes;
} ProtoAdminBackend;

typedef struct ProtoAdminCounter {
        uint16_t type;                  /* request type; 0: unknown types */
        uint16_t status;
        uint64_t count;
} ProtoAdminCounter;

/* A decoded admin request. Names are NUL-terminated copies. */
typedef struct ProtoAdminRequest {
        ProtoHeader hdr;
        union {
                struct {
                        uint64_t after_id;
                        uint32_t max_entries;
                } list;                 /* LIST_SEGMENTS, LIST_CLIENTS */
                struct {
                        uint64_t after_id;
                        uint32_t max_entries;
                        char name[SHMB_NAME_MAX + 1];
                } show;
                struct {
                        char name[SHMB_NAME_MAX + 1];
                } destroy;
                struct {
                        uint32_t pid;
                } kick;
                struct {
                        uint32_t level;
                } log_level;
        };
} ProtoAdminRequest;

bool proto_admin_type_is_admin(uint16_t type);
bool proto_admin_type_is_client(uint16_t type);
const char *proto_admin_op_name(uint16_t type);
const char *proto_admin_status_label(int status);

int proto_admin_decode_request(const void *buf, size_t len, ProtoAdminRequest *ret, const char **ret_why);

/* Daemon side: replies. */
size_t proto_admin_put_page(ProtoBuf *b, uint16_t type, uint32_t req_id);
void proto_admin_patch_page(ProtoBuf *b, size_t at, uint32_t count, uint32_t flags, uint64_t next);
void proto_admin_put_segment(ProtoBuf *b, const ProtoAdminSegment *s);
void proto_admin_put_holder(ProtoBuf *b, const ProtoAdminHolder *h);
void proto_admin_put_client(ProtoBuf *b, const ProtoAdminClient *c);
void proto_admin_put_stats(ProtoBuf *b, const ProtoAdminStats *st);
void proto_admin_put_backend(ProtoBuf *b, const ProtoAdminBackend *be);
void proto_admin_put_counter(ProtoBuf *b, const ProtoAdminCounter *ct);

/* Client side: requests. */
int proto_admin_encode_list(ProtoBuf *b, uint16_t type, uint32_t req_id, uint64_t after_id, uint32_t max_entries);
int proto_admin_encode_show(ProtoBuf *b, uint32_t req_id, const char *name, uint64_t after_id,
                            uint32_t max_entries);
int proto_admin_encode_stats(ProtoBuf *b, uint32_t req_id);
int proto_admin_encode_destroy(ProtoBuf *b, uint32_t req_id, const char *name);
int proto_admin_encode_kick(ProtoBuf *b, uint32_t req_id, uint32_t pid);
int proto_admin_encode_log_level(ProtoBuf *b, uint32_t req_id, uint32_t level);

/* Client side: replies. Offsets walk a datagram; every decoder bounds-checks. */
int proto_admin_decode_page(const void *buf, size_t len, uint32_t *ret_count, uint32_t *ret_flags,
                            uint64_t *ret_next, size_t *ret_offset);
int proto_admin_decode_segment_at(const void *buf, size_t len, size_t *offset, ProtoAdminSegment *ret);
int proto_admin_decode_holder_at(const void *buf, size_t len, size_t *offset, ProtoAdminHolder *ret);
int proto_admin_decode_client_at(const void *buf, size_t len, size_t *offset, ProtoAdminClient *ret);
int proto_admin_decode_stats(const void *buf, size_t len, ProtoAdminStats *ret, size_t *ret_offset);
int proto_admin_decode_backend_at(const void *buf, size_t len, size_t *offset, ProtoAdminBackend *ret);
int proto_admin_decode_counter_at(const void *buf, size_t len, size_t *offset, ProtoAdminCounter *ret);
int proto_admin_decode_u64_pair(const void *buf, size_t len, uint64_t *ret_a, uint64_t *ret_b);
int proto_admin_decode_kick_reply(const void *buf, size_t len, uint32_t *ret_closed, uint64_t *ret_holds);
int proto_admin_decode_log_level_reply(const void *buf, size_t len, uint32_t *ret_old, uint32_t *ret_new);
