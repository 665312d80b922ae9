#pragma once

/*
 * Trivial peers that stand in for the daemon to measure the floor: they
 * answer every request at once with a precomputed reply of the same size as
 * the daemon's (a segment-info reply carrying a memfd for OPEN and CREATE,
 * a bare header otherwise), doing no bookkeeping at all.
 *
 * EchoPeer: one blocking connection (a socketpair) served by a child
 * process; the floor of a single round trip.
 * EchoServer: a child process listening on a path with one epoll loop, like
 * the daemon; the floor of throughput with many clients.
 */

#include <stdint.h>
#include <sys/types.h>

typedef struct EchoPeer {
        pid_t pid;
        int fd;                         /* our end of the connection */
} EchoPeer;

typedef struct EchoServer {
        pid_t pid;
        char socket[300];
} EchoServer;

int echo_peer_spawn(EchoPeer *p, const char *seg_name, uint64_t seg_size, int cpu);
void echo_peer_stop(EchoPeer *p);
int echo_server_spawn(EchoServer *s, const char *path, const char *seg_name, uint64_t seg_size, int cpu);
void echo_server_stop(EchoServer *s);

int bench_send_fd(int fd, const void *buf, size_t len, int pass_fd);
ssize_t bench_recv_fd(int fd, void *buf, size_t size, int flags, int *ret_fd);
