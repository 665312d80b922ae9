#pragma once

/*
 * The kernel objects a daemon under test made, seen from outside: System V
 * segments (from /proc/sysvipc/shm, what ipcs -m reads), POSIX objects in
 * /dev/shm, and file segments in a state directory.
 */

#include <stddef.h>
#include <sys/types.h>

/* System V segments whose creator pid is one of @pids[0..n). */
int objects_sysv_count(const pid_t *pids, size_t n);
/* /dev/shm objects of the POSIX backend ("shmb.<8 hex digits>.<name>") whose segment name starts with @prefix. */
int objects_posix_count(const char *prefix);
/* Data files of file segments in @state_dir whose name starts with @prefix. */
int objects_file_count(const char *state_dir, const char *prefix);
/* Remove what a daemon killed by a failed test left: System V segments of @pids, /dev/shm objects of @prefix. */
void objects_sysv_remove(const pid_t *pids, size_t n);
void objects_posix_remove(const char *prefix);
