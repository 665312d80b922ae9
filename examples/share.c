/* Share memory between two processes through shmbrokerd. */
#include <shmbroker.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
        struct shmb_client *c;
        struct shmb_segment *seg;
        char *p;
        int r;

        r = shmb_client_new(&c, NULL); /* $SHMBROKER_SOCKET, else the system socket */
        if (r < 0) {
                fprintf(stderr, "connect: %s\n", strerror(-r));
                return 1;
        }
        r = shmb_create(c, "greeting", 4096, NULL, &seg); /* mode 0600, gone with its last holder */
        if (r < 0 || shmb_segment_map(seg, (void **)&p) < 0) {
                fprintf(stderr, "create: %s\n", shmb_client_last_error(c));
                return 1;
        }
        strcpy(p, "hello from the parent");

        if (fork() == 0) { /* another process: its own connection, opens by name */
                struct shmb_client *c2;
                struct shmb_segment *s2;
                const char *q;

                if (shmb_client_new(&c2, NULL) < 0 || shmb_open(c2, "greeting", SHMB_OPEN_RDONLY, &s2) < 0 ||
                    shmb_segment_map(s2, (void **)&q) < 0)
                        _exit(1);
                printf("child read: %s\n", q);
                fflush(stdout);
                shmb_segment_release(s2);
                shmb_client_free(c2);
                _exit(0);
        }
        wait(NULL);
        shmb_segment_release(seg); /* the last holder lets go: the segment is destroyed */
        shmb_client_free(c);
        return 0;
}
