#pragma once

/*
 * Request handling: decode a datagram, check it against the connection's
 * state and the caller's rights, act on the registry and backends, reply.
 */

#include <stddef.h>
#include <stdint.h>

typedef struct Conn Conn;

int dispatch_request(Conn *c, const uint8_t *buf, size_t len, size_t n_fds);
