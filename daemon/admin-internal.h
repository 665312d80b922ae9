#pragma once

/*
 * Shared by the admin request handlers (admin-dispatch.c, admin-query.c).
 */

#include <stdint.h>

#include "protocol/shmb-admin-proto.h"
#include "util/macro.h"

typedef struct Conn Conn;

int admin_reply_error(Conn *c, const ProtoHeader *h, int status, int level, const char *fmt, ...) _printf_(5, 6);
int admin_reply_finish(Conn *c, ProtoBuf *b);

int admin_handle_list_segments(Conn *c, const ProtoAdminRequest *req);
int admin_handle_show(Conn *c, const ProtoAdminRequest *req);
int admin_handle_list_clients(Conn *c, const ProtoAdminRequest *req);
int admin_handle_stats(Conn *c, const ProtoAdminRequest *req);
