#pragma once

/*
 * Facts about processes from /proc.
 */

#include <stdint.h>
#include <sys/types.h>

int procfs_start_time(pid_t pid, uint64_t *ret);
