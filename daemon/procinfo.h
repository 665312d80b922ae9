#pragma once

/*
 * What /proc says about a peer process, read once and best-effort.
 */

#include <stddef.h>
#include <sys/types.h>

void procinfo_read_comm(pid_t pid, char *buf, size_t size);
