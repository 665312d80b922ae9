/*
 * Fuzz target: the whole daemon core (conn, dispatch, registry, policy and
 * all four backends on real kernel objects) driven by up to four clients
 * over socketpair(AF_UNIX, SOCK_SEQPACKET).
 *
 * Input:
 *   byte 0        set-up: bit 0 = every new connection first does a valid
 *                 HELLO; bits 1-2 = peer uid (0 root, 1 nobody, 2 uid 1000,
 *                 3 slot n gets the n-th of those), taken by SO_PEERCRED from
 *                 a socketpair() made under that effective uid (root only);
 *                 bit 3 = the daemon's end of each connection has the
 *                 smallest send buffer (replies queue in the daemon at once);
 *                 bit 4 = peers have supplementary groups 4321, 1000, 65534;
 *                 bit 5 = that HELLO offers versions 1-2 (operation ids)
 *   then records  u16 length (little-endian), u8 control, length bytes
 *                 (cut short at the end of the input; length 0xffff sends
 *                 a datagram of SHMB_MSG_MAX + 1 bytes, zero-padded)
 *   control       bits 0-1 connection slot (opened on first use)
 *                 bit 7 clear: send the bytes as one datagram, with
 *                   bits 2-3 fds attached (0, 1, 2 or 253) of
 *                   bits 4-5 kind (/dev/null, memfd, the client's own socket, pipe)
 *                   bit 6 then run the daemon and read replies
 *                 bit 7 set: bits 2-3 pick an action on the slot: close it,
 *                   toggle whether its replies are read, run the daemon
 *                   without reading, or run the daemon and read replies
 *                 a slot opens on first use by anything but "close"
 *
 * Oracles besides the sanitizers: every reply decodes, answers a request
 * type, carries the version its connection had negotiated when it was sent
 * (1 before HELLO) and an fd only where the protocol says (a read-only
 * reply's fd is O_RDONLY); once every client has closed, the daemon frees all its
 * connections but those a passed socket keeps open, which must be on their
 * way out (stall timer running); after manager_free() the process has exactly the fds it had
 * before, no System V segment made by this process exists, and no POSIX
 * object of this instance is left in /dev/shm.
 *
 * The daemon runs with small limits (256 KiB segments, a few segments per
 * uid, 8 holds per connection) so that inputs reach them.
 *
 * SHMB_FUZZ_LOG=debug (or any level name) shows the daemon's log.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/conn.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "protocol/shmb-proto.h"
#include "tests/fuzz/fuzz.h"
#include "util/cleanup.h"
#include "util/macro.h"

#define SLOTS 4
#define PUMPS_MAX 64
#define FDS_MANY 253
#define SEG_SIZE_MAX (256 * 1024)
#define SETUP_HELLO 0x01
#define SETUP_SMALL_BUFFERS 0x08
#define SETUP_GROUPS 0x10
#define SETUP_VERSION_2 0x20

typedef struct Slot {
        int fd;                 /* client end, or -1 */
        bool deaf;              /* replies are left unread */
        uint16_t version;       /* negotiated, as the replies read so far say */
} Slot;

typedef struct Run {
        Manager *m;
        Slot slots[SLOTS];
        uint8_t setup;
        int devnull;
        int memfd;
        int pipe[2];
} Run;

static const uid_t uids[] = { 0, 65534, 1000, 0 };
static const gid_t extra_groups[] = { 4321, 1000, 65534 };
static const char *const state_parents[] = { "/dev/shm", "/tmp" };
static char state_dir[64];
static char posix_prefix[32];
static Registry *setup_registry;       /* lives for the process: backends keep a pointer to it */
static uint8_t sendbuf[SHMB_MSG_MAX + 1];
static uint8_t recvbuf[SHMB_MSG_MAX + 1];

static void check(bool ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-server: %s\n", what);
                abort();
        }
}

/* The POSIX backend's tag for a state directory (FNV-1a, as in backend-posix.c). */
static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261u;

        for (; *s; s++) {
                h ^= (uint8_t)*s;
                h *= 16777619u;
        }
        return h;
}

static int count_dir(const char *path, const char *prefix) {
        struct dirent *de;
        DIR *d = opendir(path);
        int n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && (!prefix || strncmp(de->d_name, prefix, strlen(prefix)) == 0))
                        n++;
        closedir(d);
        return n;
}

static void remove_dir_entries(const char *path) {
        char file[512];
        struct dirent *de;
        DIR *d = opendir(path);

        if (!d)
                return;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
                        (void)unlink(file);
                }
        closedir(d);
}

/* System V segments whose creator is this process. */
static int own_sysv_segments(void) {
        struct shm_info info;
        int max, n = 0;

        max = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info);
        for (int i = 0; i <= max; i++) {
                struct shmid_ds ds;

                if (shmctl(i, SHM_STAT_ANY, &ds) >= 0 && ds.shm_cpid == getpid())
                        n++;
        }
        return n;
}

/* Remove a state directory and the POSIX objects of the instance that used it. */
static void remove_state(const char *dir) {
        char path[512], prefix[32];
        struct dirent *de;
        DIR *d;

        snprintf(prefix, sizeof(prefix), "shmb.%08x.", (unsigned)fnv1a(dir));
        d = opendir("/dev/shm");
        while (d && (de = readdir(d)))
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
                        snprintf(path, sizeof(path), "/dev/shm/%s", de->d_name);
                        (void)unlink(path);
                }
        if (d)
                closedir(d);
        snprintf(path, sizeof(path), "%s/segments/data", dir);
        remove_dir_entries(path);
        (void)rmdir(path);
        snprintf(path, sizeof(path), "%s/segments/meta", dir);
        remove_dir_entries(path);
        (void)rmdir(path);
        snprintf(path, sizeof(path), "%s/segments", dir);
        (void)rmdir(path);
        remove_dir_entries(dir);
        (void)rmdir(dir);
}

static void remove_own_state(void) {
        remove_state(state_dir);
}

/* What fuzz-server processes that crashed (no atexit) left in @parent: "shmbfuzz-<dead pid>". */
static void sweep_stale_states(const char *parent) {
        struct dirent *de;
        DIR *d = opendir(parent);

        while (d && (de = readdir(d))) {
                char path[512];
                long pid;

                if (strncmp(de->d_name, "shmbfuzz-", 9) != 0)
                        continue;
                pid = strtol(de->d_name + 9, NULL, 10);
                if (pid <= 0 || pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
                remove_state(path);
        }
        if (d)
                closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        ManagerConfig cfg;
        BackendConfig bc;
        const char *level = getenv("SHMB_FUZZ_LOG");
        int r;

        log_set_max_level(level ? log_level_from_string(level) : LOG_EMERG);
        /* tmpfs if possible: the System V journal is fdatasync()ed on every create. */
        for (size_t i = 0; i < ELEMENTSOF(state_parents); i++) {
                sweep_stale_states(state_parents[i]);
                snprintf(state_dir, sizeof(state_dir), "%s/shmbfuzz-%d", state_parents[i], (int)getpid());
                if (mkdir(state_dir, 0755) == 0)
                        break;
                state_dir[0] = 0;
        }
        check(state_dir[0], "cannot create a state directory in /dev/shm or /tmp");
        atexit(remove_own_state);
        snprintf(posix_prefix, sizeof(posix_prefix), "shmb.%08x.", (unsigned)fnv1a(state_dir));
        manager_config_defaults(&cfg);
        r = registry_new(&setup_registry, &cfg.limits, NULL, NULL);
        check(r == 0, "registry_new failed");
        bc = (BackendConfig){ .state_dir = state_dir, .enabled = cfg.backends };
        r = backend_setup(&bc, setup_registry);
        check(r == 0, "backend_setup failed");
        return 0;
}

static int fd_count(void) {
        return count_dir("/proc/self/fd", NULL) - 1; /* minus the directory stream's own fd */
}

/* For the report of an fd leak: what each open fd is. */
static void dump_fds(void) {
        struct dirent *de;
        DIR *d = opendir("/proc/self/fd");

        while (d && (de = readdir(d))) {
                char path[300], target[256];
                ssize_t n;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
                n = readlink(path, target, sizeof(target) - 1);
                target[n > 0 ? n : 0] = 0;
                fprintf(stderr, "fuzz-server: fd %s -> %s\n", de->d_name, target);
        }
        if (d)
                closedir(d);
}

/* socketpair() as @uid, with @groups if set: the kernel records them for SO_PEERCRED and SO_PEERGROUPS. */
static void peer_socketpair(uid_t uid, bool groups, int sv[2]) {
        gid_t saved[64];
        int n_saved = -1, r;
        bool switched = false;

        if (geteuid() == 0 && groups) {
                n_saved = getgroups(ELEMENTSOF(saved), saved);
                check(n_saved >= 0 && setgroups(ELEMENTSOF(extra_groups), extra_groups) == 0, "setgroups failed");
        }
        if (uid != 0 && geteuid() == 0) {
                switched = setegid((gid_t)uid) == 0 && seteuid(uid) == 0;
                if (!switched)
                        (void)setegid(0);
        }
        r = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
        if (switched)
                check(seteuid(0) == 0 && setegid(0) == 0, "cannot switch back to root");
        if (n_saved >= 0)
                check(setgroups((size_t)n_saved, saved) == 0, "cannot restore the groups");
        check(r == 0, "socketpair failed");
}

/* A client socket for @slot, its peer adopted by the daemon; optionally HELLO first. */
static void slot_open(Run *run, int slot) {
        uint8_t mode = (run->setup >> 1) & 3;
        int sv[2], r;

        peer_socketpair(uids[mode == 3 ? slot : mode], run->setup & SETUP_GROUPS, sv);
        if (run->setup & SETUP_SMALL_BUFFERS) {
                int one = 1;    /* the kernel rounds it up to its minimum */

                check(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one)) == 0, "SO_SNDBUF failed");
        }
        r = manager_add_client_fd(run->m, sv[1]);
        check(r == 0, "manager_add_client_fd failed");
        run->slots[slot] = (Slot){ .fd = sv[0], .version = SHMB_PROTO_VERSION };
        if (run->setup & SETUP_HELLO) {
                ProtoBuf b;
                int n;

                proto_buf_init(&b, sendbuf, sizeof(sendbuf));
                n = proto_encode_hello(&b, 0, SHMB_PROTO_VERSION,
                                       run->setup & SETUP_VERSION_2 ? SHMB_PROTO_VERSION_MAX : SHMB_PROTO_VERSION);
                check(send(sv[0], sendbuf, (size_t)n, MSG_NOSIGNAL) == n, "HELLO send failed");
        }
}

static void slot_close(Run *run, int slot) {
        run->slots[slot].fd = safe_close(run->slots[slot].fd);
}

/* One reply: it must decode, and carry an fd only where the protocol puts one. */
static void check_reply(Slot *slot, const uint8_t *buf, size_t len, int fd) {
        uint16_t type;
        ProtoHeader h;
        ProtoSegInfo si;
        ProtoHelloReply hr;
        char text[SHMB_ERROR_TEXT_MAX + 1];
        uint64_t next;
        uint32_t count, flags;
        size_t off;

        check(proto_decode_header(buf, len, &h) == 0, "reply header does not decode");
        /* An accepted HELLO's reply carries the version it chose, and everything after it too. */
        if (h.type == (SHMB_MSG_HELLO | SHMB_MSG_REPLY) && h.status == SHMB_STATUS_OK &&
            proto_decode_hello_reply(buf, len, &hr) == 0) {
                check(hr.version >= SHMB_PROTO_VERSION_MIN && hr.version <= SHMB_PROTO_VERSION_MAX,
                      "HELLO chose a version the daemon does not speak");
                slot->version = hr.version;
        }
        check(h.version == slot->version && h.flags == 0, "reply header version or flags wrong");
        if (h.type == SHMB_MSG_EVENT) {
                ProtoEvent ev;

                check(h.req_id == 0 && h.status == SHMB_STATUS_OK, "EVENT notice with a req_id or a status");
                check(fd < 0, "EVENT notice carries an fd");
                check(proto_decode_event(buf, len, &ev) == 0, "EVENT notice does not decode");
                return;
        }
        check(h.type & SHMB_MSG_REPLY, "reply without the reply bit");
        check(h.status < _SHMB_STATUS_MAX, "reply status unknown");
        type = h.type & (uint16_t)~SHMB_MSG_REPLY;
        if (h.status != SHMB_STATUS_OK) {
                check(fd < 0, "error reply carries an fd");
                check(proto_decode_error_text(buf, len, text, sizeof(text)) == 0, "error text does not decode");
                return;
        }
        switch (type) {
        case SHMB_MSG_HELLO:
                check(proto_decode_hello_reply(buf, len, &hr) == 0, "HELLO reply does not decode");
                break;
        case SHMB_MSG_CREATE:
        case SHMB_MSG_OPEN:
        case SHMB_MSG_STAT:
                check(proto_decode_seginfo_reply(buf, len, &si) == 0, "segment reply does not decode");
                if (type == SHMB_MSG_STAT || si.backend == PROTO_BACKEND_SYSV) {
                        check(fd < 0, "reply without a segment fd carries one");
                        break;
                }
                check(fd >= 0, "CREATE/OPEN reply lacks the segment fd");
                if (si.flags & PROTO_SEG_READONLY)
                        check((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "read-only reply with a writable fd");
                break;
        case SHMB_MSG_LIST:
                check(proto_decode_list_reply(buf, len, &count, &flags, &next, &off) == 0,
                      "LIST reply does not decode");
                for (uint32_t i = 0; i < count; i++)
                        check(proto_decode_seginfo_at(buf, len, &off, &si) == 0, "LIST record does not decode");
                check(off == len, "LIST reply has trailing bytes");
                break;
        case SHMB_MSG_RESIZE:
        case SHMB_MSG_PUBLISH:
        case SHMB_MSG_RECLAIM:
                check(proto_decode_seginfo_reply(buf, len, &si) == 0, "segment reply does not decode");
                check(fd < 0, "RESIZE/PUBLISH/RECLAIM reply carries an fd");
                break;
        case SHMB_MSG_WATCH:
                check(proto_decode_watch_reply(buf, len, &count) == 0, "WATCH reply does not decode");
                check(fd < 0, "WATCH reply carries an fd");
                break;
        case SHMB_MSG_RELEASE:
        case SHMB_MSG_UNLINK:
        case SHMB_MSG_SYNC:
        case SHMB_MSG_UNWATCH:
                check(len == SHMB_HEADER_SIZE, "empty reply has a payload");
                break;
        default:
                check(false, "OK reply to an unknown type");
        }
        if (type != SHMB_MSG_CREATE && type != SHMB_MSG_OPEN)
                check(fd < 0, "reply carries an fd it should not");
}

/* Read every pending reply on @slot; close passed fds. */
static void slot_drain(Run *run, int slot) {
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * 4)];
        } control;

        for (;;) {
                struct iovec iov = { .iov_base = recvbuf, .iov_len = sizeof(recvbuf) };
                struct msghdr msg = {
                        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)
                };
                int fd = -1, n_fds = 0;
                ssize_t n;

                n = recvmsg(run->slots[slot].fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (n <= 0)
                        return;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                                int pfd;

                                memcpy(&pfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                if (fd < 0)
                                        fd = pfd;
                                else
                                        safe_close(pfd);
                                n_fds++;
                        }
                }
                check(!(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)), "reply truncated");
                check(n_fds <= 1, "reply carries more than one fd");
                check_reply(&run->slots[slot], recvbuf, (size_t)n, fd);
                safe_close(fd);
        }
}

static void pump(Run *run, bool read_replies) {
        manager_run_once(run->m);
        for (int i = 0; read_replies && i < SLOTS; i++)
                if (run->slots[i].fd >= 0 && !run->slots[i].deaf)
                        slot_drain(run, i);
}

static int pass_fd(Run *run, int slot, int kind) {
        switch (kind) {
        case 0:
                return run->devnull;
        case 1:
                return run->memfd;
        case 2:
                return run->slots[slot].fd;
        default:
                return run->pipe[0];
        }
}

static void slot_send(Run *run, int slot, const uint8_t *data, size_t len, uint8_t control) {
        static const size_t fd_counts[] = { 0, 1, 2, FDS_MANY };
        size_t n_fds = fd_counts[(control >> 2) & 3];
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * FDS_MANY)];
        } cbuf;
        struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n_fds > 0) {
                int fd = pass_fd(run, slot, (control >> 4) & 3);
                struct cmsghdr *c;

                memset(&cbuf, 0, sizeof(cbuf));
                msg.msg_control = cbuf.buf;
                msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                for (size_t i = 0; i < n_fds; i++)
                        memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
        }
        /* A full socket: let the daemon read (and us read its replies), then retry a few times. */
        for (int tries = 0; tries < 8; tries++) {
                if (sendmsg(run->slots[slot].fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
                        return;
                if (errno != EAGAIN)
                        return;         /* EPIPE: the daemon dropped this client */
                pump(run, true);
        }
}

static void action(Run *run, int slot, uint8_t control) {
        switch ((control >> 2) & 3) {
        case 0:
                slot_close(run, slot);
                break;
        case 1:
                run->slots[slot].deaf = !run->slots[slot].deaf;
                break;
        case 2:
                pump(run, false);
                break;
        default:
                pump(run, true);
                break;
        }
}

static void run_init(Run *run, uint8_t setup) {
        ManagerConfig cfg;
        int r;

        *run = (Run){ .setup = setup, .devnull = -1, .memfd = -1, .pipe = { -1, -1 } };
        for (int i = 0; i < SLOTS; i++)
                run->slots[i].fd = -1;
        manager_config_defaults(&cfg);
        cfg.socket_path = "/nonexistent/fuzz.sock";
        cfg.state_dir = state_dir;
        cfg.max_segment_size = SEG_SIZE_MAX;
        cfg.limits.max_segments = 24;
        cfg.limits.max_bytes = 6 * SEG_SIZE_MAX;
        cfg.limits.max_segments_per_user = 16;
        cfg.limits.max_bytes_per_user = 4 * SEG_SIZE_MAX;
        cfg.limits.max_holds_per_conn = 8;
        r = manager_new(&run->m, &cfg);
        check(r == 0, "manager_new failed");
        run->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        run->memfd = memfd_create("fuzz", MFD_CLOEXEC);
        check(run->devnull >= 0 && run->memfd >= 0 && pipe2(run->pipe, O_CLOEXEC) == 0, "cannot make fds to pass");
}

static void run_finish(Run *run) {
        char path[128];
        int pumps;

        for (int i = 0; i < SLOTS; i++)
                slot_close(run, i);
        for (pumps = 0; run->m->n_conns > 0 && pumps < PUMPS_MAX; pumps++)
                manager_run_once(run->m);
        /* Left: only connections that a datagram with their own socket attached keeps open, unread behind a
         * full out-queue; their stall timers drop them in CONN_STALL_TIMEOUT_SEC (manager_free() does here). */
        list_for_each(l, &run->m->conns)
                check(ev_is_active(&list_entry(l, Conn, link)->stall), "a connection outlives its closed client");
        run->m = manager_free(run->m);
        safe_close(run->devnull);
        safe_close(run->memfd);
        safe_close(run->pipe[0]);
        safe_close(run->pipe[1]);
        check(own_sysv_segments() == 0, "System V segments left after manager_free");
        check(count_dir("/dev/shm", posix_prefix) == 0, "POSIX objects left after manager_free");
        /* Persistent file segments stay on disk by design; each with its attributes. Start afresh. */
        snprintf(path, sizeof(path), "%s/segments/data", state_dir);
        {
                char meta[128];
                int n_data = count_dir(path, NULL);

                snprintf(meta, sizeof(meta), "%s/segments/meta", state_dir);
                check(n_data == count_dir(meta, NULL), "file segment data and attribute files differ in number");
                if (n_data > 0) {
                        remove_dir_entries(path);
                        remove_dir_entries(meta);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t off = 1;
        int base_fds;
        Run run;

        if (size < 1)
                return 0;
        if (!setup_registry)
                (void)LLVMFuzzerInitialize(NULL, NULL);
        /* Counted per input: between inputs libFuzzer may start llvm-symbolizer (two pipes). */
        base_fds = fd_count();
        run_init(&run, data[0]);

        while (off + 3 <= size) {
                size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
                uint8_t control = data[off + 2];
                int slot = control & 3;
                size_t have;

                off += 3;
                if (run.slots[slot].fd < 0 && (control & 0x8c) != 0x80)
                        slot_open(&run, slot);
                if (control & 0x80) {
                        if (run.slots[slot].fd >= 0)
                                action(&run, slot, control);
                        continue;
                }
                have = MIN(len == 0xffff ? (size_t)SHMB_MSG_MAX + 1 : len, size - off);
                if (len == 0xffff) {
                        memset(sendbuf, 0, SHMB_MSG_MAX + 1);
                        memcpy(sendbuf, data + off, have);
                        slot_send(&run, slot, sendbuf, SHMB_MSG_MAX + 1, control);
                } else {
                        slot_send(&run, slot, data + off, have, control);
                }
                off += have;
                if (control & 0x40)
                        pump(&run, true);
        }
        pump(&run, true);
        run_finish(&run);
        if (fd_count() != base_fds) {
                fprintf(stderr, "fuzz-server: %d fds before this input, now:\n", base_fds);
                dump_fds();
                check(false, "fd count changed across one input (an fd leaked or was closed twice)");
        }
        return 0;
}
