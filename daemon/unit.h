#pragma once

/*
 * Questions to the service manager about our own unit, over D-Bus: the
 * system bus, else (as root) systemd's private socket.
 */

#include <stdint.h>

int unit_fdstore_max(uint64_t *ret);
int unit_restart_pending(void);
