#pragma once

/*
 * Reply helpers and handlers shared by dispatch.c, dispatch-life.c and
 * dispatch-ops.c.
 */

#include <stdbool.h>
#include <stdint.h>

#include "protocol/shmb-proto.h"
#include "util/macro.h"

typedef struct Conn Conn;
typedef struct Segment Segment;

int reply_error(Conn *c, const ProtoHeader *h, int status, int level, const char *fmt, ...) _printf_(5, 6);
int reply_seginfo(Conn *c, const ProtoHeader *h, const Segment *s, uint16_t flags, int fd);
int reply_empty(Conn *c, const ProtoHeader *h);
int reply_registry_error(Conn *c, const ProtoHeader *h, int r, const char *name);
int reply_denied(Conn *c, const ProtoHeader *h, const Segment *s, bool write);
void seginfo_fill(ProtoSegInfo *si, const Segment *s, uint16_t flags);
int segment_status_from_errno(int r);
int dispatch_open_existing(Conn *c, const ProtoHeader *h, Segment *s, bool write);
int dispatch_open_created(Conn *c, const ProtoHeader *h, Segment *s);
bool dispatch_may_read(const Conn *c, const Segment *s);

int dispatch_resize(Conn *c, const ProtoRequest *req);
int dispatch_publish(Conn *c, const ProtoRequest *req);
int dispatch_watch(Conn *c, const ProtoRequest *req);
int dispatch_unwatch(Conn *c, const ProtoRequest *req);

/* Operation ids: requests sent again (dispatch-ops.c). */
bool dispatch_op_lookup(Conn *c, const ProtoRequest *req, const char *name, Segment **ret_segment);
void dispatch_op_record(Conn *c, const ProtoRequest *req, const char *name, const Segment *s);
int dispatch_create_again(Conn *c, const ProtoHeader *h, Segment *s);
