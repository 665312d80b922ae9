/*
 * Kernel objects made by a daemon under test (see util-objects.h).
 */

#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "tests/integration/util-objects.h"

/* Visit the System V segments whose creator is one of @pids; @remove them too. */
static int sysv_walk(const pid_t *pids, size_t n, bool remove) {
        char line[512];
        FILE *f;
        int count = 0;

        f = fopen("/proc/sysvipc/shm", "re");
        ck_assert_msg(f, "cannot read /proc/sysvipc/shm: %m");
        while (fgets(line, sizeof(line), f)) {
                long long key, size;
                int id, cpid;
                unsigned perms;

                /* key shmid perms size cpid ... (the first line is a header) */
                if (sscanf(line, "%lld %d %o %lld %d", &key, &id, &perms, &size, &cpid) != 5)
                        continue;
                for (size_t i = 0; i < n; i++)
                        if (cpid == pids[i]) {
                                count++;
                                if (remove)
                                        (void)shmctl(id, IPC_RMID, NULL);
                        }
        }
        fclose(f);
        return count;
}

int objects_sysv_count(const pid_t *pids, size_t n) {
        return sysv_walk(pids, n, false);
}

void objects_sysv_remove(const pid_t *pids, size_t n) {
        (void)sysv_walk(pids, n, true);
}

static int posix_walk(const char *prefix, bool remove) {
        struct dirent *de;
        DIR *dp;
        int n = 0;

        dp = opendir("/dev/shm");
        ck_assert_msg(dp, "cannot read /dev/shm: %m");
        while ((de = readdir(dp))) {
                const char *p = de->d_name;
                char path[300];

                if (strncmp(p, "shmb.", 5) != 0 || strlen(p) <= 14 || strspn(p + 5, "0123456789abcdef") != 8 ||
                    p[13] != '.' || strncmp(p + 14, prefix, strlen(prefix)) != 0)
                        continue;
                n++;
                snprintf(path, sizeof(path), "/dev/shm/%s", p);
                if (remove)
                        (void)unlink(path);
        }
        closedir(dp);
        return n;
}

int objects_posix_count(const char *prefix) {
        return posix_walk(prefix, false);
}

void objects_posix_remove(const char *prefix) {
        (void)posix_walk(prefix, true);
}

int objects_file_count(const char *state_dir, const char *prefix) {
        char dir[512];
        struct dirent *de;
        DIR *dp;
        int n = 0;

        snprintf(dir, sizeof(dir), "%s/segments/data", state_dir);
        dp = opendir(dir);
        if (!dp)
                return 0;
        while ((de = readdir(dp)))
                if (de->d_name[0] != '.' && strncmp(de->d_name, prefix, strlen(prefix)) == 0)
                        n++;
        closedir(dp);
        return n;
}
