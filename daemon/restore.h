#pragma once

/*
 * Start-up after a restart (see restore.c).
 */

typedef struct Manager Manager;

int restore_run(Manager *m);
