/*
 * A client that holds a segment across a daemon restart, for
 * test-units.sh: creates NAME (lifetime "holders", 4 KiB), fills it,
 * prints "ready", waits for a line on stdin (the test restarts the daemon
 * meanwhile), then checks its mapping, asks the daemon about NAME — which
 * makes the library reconnect and reclaim — and prints "holders N", and
 * finally releases it and prints "released R".
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client/shmbroker.h"

int main(int argc, char **argv) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_segment *s;
        struct shmb_client *c;
        struct shmb_stat st;
        char line[64], *p;
        int r;

        if (argc != 2)
                return 2;
        if (shmb_client_new(&c, NULL) < 0)
                return 3;
        o.mode = 0644;
        if (shmb_create(c, argv[1], 4096, &o, &s) < 0 || shmb_segment_map(s, (void **)&p) < 0) {
                fprintf(stderr, "hold-client: %s\n", shmb_client_last_error(c));
                return 4;
        }
        memset(p, 'h', 4096);
        printf("ready\n");
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin))
                return 5;
        for (size_t i = 0; i < 4096; i++)
                if (p[i] != 'h')
                        return 6;
        r = shmb_stat(c, argv[1], &st);
        if (r < 0) {
                printf("stat %s\n", shmb_client_last_error(c));
                return 7;
        }
        printf("holders %u\n", st.holders);
        r = shmb_segment_release(s);
        printf("released %d\n", r);
        fflush(stdout);
        shmb_client_free(c);
        return 0;
}
