#pragma once

/*
 * Internals of the admin API shared by client/admin.c and client/admin-list.c.
 */

#include <sys/un.h>

#include "client/client-internal.h"
#include "client/shmbroker-admin.h"

struct shmb_admin {
        struct shmb_client c;           /* transport: request/reply exchange and last error */
        char path[sizeof(((struct sockaddr_un){}).sun_path)];
};

int admin_ensure_connected(struct shmb_admin *a);
