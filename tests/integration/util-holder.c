/*
 * Holder processes (see util-holder.h).
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/util-holder.h"

#define HOLDER_SEGMENTS_MAX 8

typedef struct HolderMsg {
        char cmd;
        char name[SHMB_NAME_MAX + 1];
} HolderMsg;

typedef struct Held {
        char name[SHMB_NAME_MAX + 1];
        struct shmb_segment *seg;
        char *addr;
} Held;

static int child_setup(const char *socket, const char *const *ops, struct shmb_client **ret_c, Held *held,
                       size_t *ret_n) {
        struct shmb_client *c;
        size_t n = 0;
        int r;

        r = shmb_client_new(&c, socket);
        if (r < 0)
                return r;
        for (size_t i = 0; ops && ops[i] && n < HOLDER_SEGMENTS_MAX; i++, n++) {
                struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
                char spec[512], *name, *size, *mode;

                snprintf(spec, sizeof(spec), "%s", ops[i]);
                name = spec + 2;
                size = strchr(name, ':');
                if (size)
                        *size++ = 0;
                snprintf(held[n].name, sizeof(held[n].name), "%.255s", name);
                if (spec[0] == 'c' || spec[0] == 'h') {
                        mode = size ? strchr(size, ':') : NULL;
                        if (!mode)
                                return -EINVAL;
                        *mode++ = 0;
                        o.mode = (uint32_t)strtoul(mode, NULL, 8);
                        o.lifetime = spec[0] == 'c' ? SHMB_LIFETIME_PERSISTENT : SHMB_LIFETIME_HOLDERS;
                        r = shmb_create(c, name, strtoull(size, NULL, 0), &o, &held[n].seg);
                } else {
                        r = shmb_open(c, name, spec[0] == 'r' ? SHMB_OPEN_RDONLY : 0, &held[n].seg);
                }
                if (r < 0)
                        return r;
                r = shmb_segment_map(held[n].seg, (void **)&held[n].addr);
                if (r < 0)
                        return r;
                if (spec[0] == 'c' || spec[0] == 'h')
                        memcpy(held[n].addr, name, strlen(name));
        }
        *ret_c = c;
        *ret_n = n;
        return 0;
}

static Held *child_find(Held *held, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(held[i].name, name) == 0)
                        return &held[i];
        return NULL;
}

static int child_answer(struct shmb_client *c, Held *held, size_t n, const HolderMsg *m) {
        Held *x = child_find(held, n, m->name);
        struct shmb_segment *s;
        struct shmb_stat st;
        int r;

        switch (m->cmd) {
        case 'm':
                return x && x->addr && memcmp(x->addr, m->name, strlen(m->name)) == 0;
        case 'o':
                r = shmb_open(c, m->name, SHMB_OPEN_RDONLY, &s);
                if (r == 0)
                        (void)shmb_segment_release(s);
                return r;
        case 's':
                return shmb_stat(c, m->name, &st);
        case 'l':
                if (!x || !x->seg)
                        return -ENOENT;
                r = shmb_segment_release(x->seg);
                x->seg = NULL;
                x->addr = NULL;
                return r;
        }
        return -EINVAL;
}

static void child_main(const TestDaemon *d, const char *comm, uid_t uid, gid_t gid, const char *const *ops,
                       int cmd_fd, int res_fd) {
        Held held[HOLDER_SEGMENTS_MAX] = {};
        struct shmb_client *c = NULL;
        HolderMsg m;
        size_t n = 0;
        int32_t r;

        (void)prctl(PR_SET_NAME, comm);
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (uid != (uid_t)-1 && (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0))
                _exit(98);
        r = child_setup(d->socket, ops, &c, held, &n);
        if (write(res_fd, &r, sizeof(r)) != sizeof(r) || r < 0)
                _exit(97);
        while (read(cmd_fd, &m, sizeof(m)) == sizeof(m) && m.cmd != 'q') {
                m.name[SHMB_NAME_MAX] = 0;
                r = child_answer(c, held, n, &m);
                if (write(res_fd, &r, sizeof(r)) != sizeof(r))
                        _exit(96);
        }
        for (size_t i = 0; i < n; i++)
                if (held[i].seg)
                        (void)shmb_segment_release(held[i].seg);
        shmb_client_free(c);
        _exit(0);
}

void test_holder_start(TestHolder *h, const TestDaemon *d, const char *comm, uid_t uid, gid_t gid,
                       const char *const *ops) {
        int cmd[2], res[2];
        int32_t r = -1;

        ck_assert_int_eq(pipe2(cmd, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(res, O_CLOEXEC), 0);
        h->pid = fork();
        ck_assert_int_ge(h->pid, 0);
        if (h->pid == 0) {
                close(cmd[1]);
                close(res[0]);
                child_main(d, comm, uid, gid, ops, cmd[0], res[1]);
        }
        close(cmd[0]);
        close(res[1]);
        h->cmd_fd = cmd[1];
        h->res_fd = res[0];
        ck_assert_int_eq(read(h->res_fd, &r, sizeof(r)), (ssize_t)sizeof(r));
        ck_assert_msg(r == 0, "holder '%s' failed to set up: %s", comm, strerror(-r));
}

int test_holder_ask(TestHolder *h, char cmd, const char *name) {
        HolderMsg m = { .cmd = cmd };
        int32_t r = 0;

        snprintf(m.name, sizeof(m.name), "%s", name);
        ck_assert_int_eq(write(h->cmd_fd, &m, sizeof(m)), (ssize_t)sizeof(m));
        ck_assert_int_eq(read(h->res_fd, &r, sizeof(r)), (ssize_t)sizeof(r));
        return r;
}

void test_holder_stop(TestHolder *h) {
        HolderMsg m = { .cmd = 'q' };
        int status;

        if (h->pid <= 0)
                return;
        ck_assert_int_eq(write(h->cmd_fd, &m, sizeof(m)), (ssize_t)sizeof(m));
        ck_assert_int_eq(waitpid(h->pid, &status, 0), h->pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "holder exited with status 0x%x", status);
        close(h->cmd_fd);
        close(h->res_fd);
        h->pid = 0;
}
