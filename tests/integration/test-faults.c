/*
 * Fault tests against a real shmbrokerd: many clients at once, clients
 * killed with SIGKILL in the middle of their requests, the daemon itself
 * killed and restarted while clients work, a client flooding fds, and
 * clients that never read. After each: the daemon serves, no System V
 * segment, /dev/shm object or file segment of this test is left beyond the
 * live ones, and the daemon's fd count is back to its baseline.
 *
 * Segment names start with "tf<pid>-" (pid of the test's process), so the
 * kernel objects counted are this test's only. Random choices print their
 * seed; SHMB_TEST_SEED=N replays one. Needs root (as in CI) for the
 * System V and /dev/shm views and a RLIMIT_NOFILE hard limit of 4096+.
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/shmbroker.h"
#include "daemon/conn.h"
#include "protocol/shmb-proto.h"
#include "tests/integration/util-daemon.h"
#include "tests/integration/util-objects.h"
#include "util/macro.h"

#define DEADLINE_MS 10000
#define SEG_SIZE 4096
#define N_CROWD 1000
#define N_CROWD_THREADS 4
#define N_KILLED 100
#define KILL_WAVE 20
#define N_RESTARTS 20
#define N_WORKERS 4
#define N_KEEP 3
#define KEEP_SIZE (64 * 1024)
#define N_FLOOD 1000
#define N_EMPTY 20
#define N_DEAF 20

static char prefix[32];                 /* "tf<pid of the test's process>-" */
static uint8_t buf[SHMB_MSG_MAX];

/*
 * Check ends a failed test by killing its process group, daemons included
 * (SIGKILL: they clean nothing up). What they made is recorded here, in a
 * page shared with the runner, whose teardown removes it after each TCase.
 */
typedef struct Leftovers {
        pid_t creators[64];             /* of System V segments: daemons, and the tests' own children */
        size_t n_creators;
        char prefixes[8][32];
        size_t n_prefixes;
} Leftovers;

static Leftovers *lo;

/* --------------------------------------------------------------- helpers -- */

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned test_seed(const char *test) {
        const char *env = getenv("SHMB_TEST_SEED");
        unsigned seed = env ? (unsigned)strtoul(env, NULL, 0) : (unsigned)time(NULL) ^ (unsigned)getpid();

        fprintf(stderr, "%s: seed %u (SHMB_TEST_SEED=%u replays it)\n", test, seed, seed);
        return seed;
}

static const char *seg_name(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *seg_name(char *out, size_t size, const char *fmt, ...) {
        va_list ap;
        size_t n = (size_t)snprintf(out, size, "%s", prefix);

        va_start(ap, fmt);
        vsnprintf(out + n, size - n, fmt, ap);
        va_end(ap);
        return out;
}

/* Each test (a process of its own) names its segments "tf<pid>-...": a failed test's leftovers are not the next one's. */
static void prefix_init(void) {
        snprintf(prefix, sizeof(prefix), "tf%d-", (int)getpid());
        if (lo->n_prefixes < ELEMENTSOF(lo->prefixes))
                snprintf(lo->prefixes[lo->n_prefixes++], sizeof(lo->prefixes[0]), "%s", prefix);
}

static void track_creator(pid_t pid) {
        if (lo->n_creators < ELEMENTSOF(lo->creators))
                lo->creators[lo->n_creators++] = pid;
}

static void daemon_start(TestDaemon *d) {
        test_daemon_start(d, NULL);
        track_creator(d->pid);
}

static void daemon_restart(TestDaemon *d) {
        test_daemon_restart(d, NULL);
        track_creator(d->pid);
}

/* In the runner process, after each TCase. */
static void leftovers_teardown(void) {
        objects_sysv_remove(lo->creators, lo->n_creators);
        for (size_t i = 0; i < lo->n_prefixes; i++)
                objects_posix_remove(lo->prefixes[i]);
        memset(lo, 0, sizeof(*lo));
}

/* The daemon's fd count once it is idle: after one client came and went (so sd_notify's socket is closed). */
static int daemon_baseline(const TestDaemon *d) {
        struct shmb_client *c = test_client(d);
        int n = test_count_fds(d->pid);

        shmb_client_free(c);
        ck_assert_int_eq(test_wait_fds(d->pid, n - 1, DEADLINE_MS), n - 1);
        return n - 1;
}

/* Set the soft RLIMIT_NOFILE (@soft, or the hard limit if 0); the hard one must be at least @need. */
static void set_nofile(rlim_t soft, rlim_t need) {
        struct rlimit rl;

        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
        ck_assert_msg(rl.rlim_max >= need, "RLIMIT_NOFILE hard limit %llu is below the %llu this test needs",
                      (unsigned long long)rl.rlim_max, (unsigned long long)need);
        rl.rlim_cur = soft ? soft : rl.rlim_max;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

static void assert_alive(TestDaemon *d) {
        int status = 0;

        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
                d->pid = 0;
                ck_abort_msg("shmbrokerd died (wait status 0x%x)", status);
        }
}

/* Poll until the daemon has @want fds (DEADLINE_MS at most); assert it. */
static void assert_fds(const TestDaemon *d, int want, const char *after) {
        int n = test_wait_fds(d->pid, want, DEADLINE_MS);

        ck_assert_msg(n == want, "daemon has %d fds after %s, baseline %d", n, after, want);
}

/* Sockets among the daemon's fds. */
static int daemon_sockets(pid_t pid) {
        char dir[64], path[600], target[64];
        struct dirent *de;
        DIR *dp;
        int n = 0;

        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
        dp = opendir(dir);
        ck_assert_msg(dp, "cannot read %s: %m", dir);
        while ((de = readdir(dp))) {
                ssize_t len;

                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                len = readlink(path, target, sizeof(target) - 1);
                if (len > 0 && strncmp(target, "socket:", 7) == 0)
                        n++;
        }
        closedir(dp);
        return n;
}

typedef struct Census {
        int listed[5];          /* our segments the daemon lists, by backend (1..4) */
        int persistent_unheld;  /* ... of which persistent with no holder */
        int total;
} Census;

static Census census(const TestDaemon *d) {
        struct shmb_stat *v = NULL;
        struct shmb_client *c = test_client(d);
        Census cs = { 0 };
        size_t n = 0;

        ck_assert_int_eq(shmb_list(c, &v, &n), 0);
        for (size_t i = 0; i < n; i++) {
                if (strncmp(v[i].name, prefix, strlen(prefix)) != 0)
                        continue;
                ck_assert_int_lt(v[i].backend, 5);
                cs.listed[v[i].backend]++;
                cs.total++;
                if (v[i].lifetime == SHMB_LIFETIME_PERSISTENT && v[i].holders == 0)
                        cs.persistent_unheld++;
        }
        shmb_list_free(v);
        shmb_client_free(c);
        return cs;
}

/* Poll until the kernel objects of this test are exactly the daemon's live segments; assert it. */
static void assert_objects_match(const TestDaemon *d, const char *after) {
        uint64_t end = now_ms() + DEADLINE_MS;
        int sysv, posix, file;
        Census cs;

        for (;;) {
                cs = census(d);
                sysv = objects_sysv_count(&d->pid, 1);
                posix = objects_posix_count(prefix);
                file = objects_file_count(d->state_dir, prefix);
                if ((sysv == cs.listed[SHMB_BACKEND_SYSV] && posix == cs.listed[SHMB_BACKEND_POSIX] &&
                     file == cs.listed[SHMB_BACKEND_FILE]) ||
                    now_ms() >= end)
                        break;
                test_sleep_ms(20);
        }
        ck_assert_msg(sysv == cs.listed[SHMB_BACKEND_SYSV],
                      "after %s: %d System V segments of the daemon exist, it lists %d", after, sysv,
                      cs.listed[SHMB_BACKEND_SYSV]);
        ck_assert_msg(posix == cs.listed[SHMB_BACKEND_POSIX], "after %s: %d /dev/shm objects exist, the daemon lists %d",
                      after, posix, cs.listed[SHMB_BACKEND_POSIX]);
        ck_assert_msg(file == cs.listed[SHMB_BACKEND_FILE], "after %s: %d file segments exist, the daemon lists %d",
                      after, file, cs.listed[SHMB_BACKEND_FILE]);
}

/* Unlink every segment of this test the daemon lists. */
static void unlink_ours(const TestDaemon *d) {
        struct shmb_stat *v = NULL;
        struct shmb_client *c = test_client(d);
        size_t n = 0;

        ck_assert_int_eq(shmb_list(c, &v, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (strncmp(v[i].name, prefix, strlen(prefix)) == 0)
                        ck_assert_int_eq(shmb_unlink(c, v[i].name), 0);
        shmb_list_free(v);
        shmb_client_free(c);
}

/* The daemon creates, opens, maps and releases a segment of every backend. */
static void assert_serves(const TestDaemon *d) {
        struct shmb_client *c = test_client(d);
        struct timeval tv = { .tv_sec = 5 };

        ck_assert_int_eq(setsockopt(shmb_client_get_fd(c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        for (int b = SHMB_BACKEND_MEMFD; b <= SHMB_BACKEND_FILE; b++) {
                struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
                struct shmb_segment *s = NULL, *ro = NULL;
                char name[64];
                uint8_t *p = NULL;
                int r;

                o.backend = (enum shmb_backend)b;
                seg_name(name, sizeof(name), "probe-%d", b);
                r = shmb_create(c, name, SEG_SIZE, &o, &s);
                ck_assert_msg(r == 0, "create of a %s probe: %s (%s)", shmb_backend_to_string(o.backend),
                              strerror(-r), shmb_client_last_error(c));
                ck_assert_int_eq(shmb_segment_map(s, (void **)&p), 0);
                p[0] = 0x42;
                r = shmb_open(c, name, SHMB_OPEN_RDONLY, &ro);
                ck_assert_msg(r == 0, "read-only open of a %s probe: %s", shmb_backend_to_string(o.backend),
                              strerror(-r));
                ck_assert_int_eq(shmb_segment_release(ro), 0);
                ck_assert_int_eq(shmb_segment_release(s), 0);
        }
        shmb_client_free(c);
}

/* ---------------------------------------------------------- 1,000 clients -- */

typedef struct Crowd {
        const TestDaemon *d;
        struct shmb_client *c[N_CROWD];
        struct shmb_segment *own[N_CROWD];
        struct shmb_segment *peer[N_CROWD];
        pthread_barrier_t phase;
        pthread_mutex_t lock;
        int errors;
        char first_error[256];
} Crowd;

typedef struct CrowdThread {
        Crowd *crowd;
        int first, last;
} CrowdThread;

static void crowd_error(Crowd *cr, int i, const char *what, int r) {
        pthread_mutex_lock(&cr->lock);
        if (cr->errors++ == 0)
                snprintf(cr->first_error, sizeof(cr->first_error), "client %d: %s: %s (%s)", i, what, strerror(-r),
                         cr->c[i] ? shmb_client_last_error(cr->c[i]) : "");
        pthread_mutex_unlock(&cr->lock);
}

static uint8_t crowd_byte(int i) {
        return (uint8_t)(i * 7 + 1);
}

/* Each client: connect; (all connected) create and fill its segment; open its neighbour's; (checked) let go. */
static void *crowd_thread(void *userdata) {
        CrowdThread *t = userdata;
        Crowd *cr = t->crowd;
        char name[64];
        uint8_t *p;
        int r;

        for (int i = t->first; i < t->last; i++) {
                r = shmb_client_new(&cr->c[i], cr->d->socket);
                if (r < 0)
                        crowd_error(cr, i, "connect", r);
        }
        pthread_barrier_wait(&cr->phase);
        for (int i = t->first; i < t->last; i++) {
                struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;

                if (!cr->c[i])
                        continue;
                o.backend = (enum shmb_backend)(SHMB_BACKEND_MEMFD + i % 4);
                o.mode = 0644;
                r = shmb_create(cr->c[i], seg_name(name, sizeof(name), "crowd-%d", i), SEG_SIZE, &o, &cr->own[i]);
                if (r == 0)
                        r = shmb_segment_map(cr->own[i], (void **)&p);
                if (r < 0) {
                        crowd_error(cr, i, "create and map", r);
                        continue;
                }
                memset(p, crowd_byte(i), SEG_SIZE);
        }
        pthread_barrier_wait(&cr->phase);
        for (int i = t->first; i < t->last; i++) {
                int j = (i + 1) % N_CROWD;

                if (!cr->c[i])
                        continue;
                r = shmb_open(cr->c[i], seg_name(name, sizeof(name), "crowd-%d", j), SHMB_OPEN_RDONLY, &cr->peer[i]);
                if (r == 0)
                        r = shmb_segment_map(cr->peer[i], (void **)&p);
                if (r < 0)
                        crowd_error(cr, i, "open and map the neighbour's segment", r);
                else if (p[0] != crowd_byte(j) || p[SEG_SIZE - 1] != crowd_byte(j))
                        crowd_error(cr, i, "the neighbour's bytes differ", -EIO);
        }
        pthread_barrier_wait(&cr->phase);
        pthread_barrier_wait(&cr->phase);       /* the main thread has looked */
        for (int i = t->first; i < t->last; i++) {
                if (cr->peer[i])
                        (void)shmb_segment_release(cr->peer[i]);
                if (cr->own[i])
                        (void)shmb_segment_release(cr->own[i]);
                shmb_client_free(cr->c[i]);
        }
        return NULL;
}

START_TEST(test_thousand_clients) {
        CrowdThread threads[N_CROWD_THREADS];
        pthread_t tid[N_CROWD_THREADS];
        static Crowd cr;
        TestDaemon d;
        Census cs;
        int base_fds, base_sockets, sockets;

        prefix_init();
        set_nofile(0, 4096);
        daemon_start(&d);
        base_fds = daemon_baseline(&d);
        base_sockets = daemon_sockets(d.pid);
        memset(&cr, 0, sizeof(cr));
        cr.d = &d;
        ck_assert_int_eq(pthread_mutex_init(&cr.lock, NULL), 0);
        ck_assert_int_eq(pthread_barrier_init(&cr.phase, NULL, N_CROWD_THREADS + 1), 0);
        for (int k = 0; k < N_CROWD_THREADS; k++) {
                threads[k] = (CrowdThread){ .crowd = &cr, .first = k * N_CROWD / N_CROWD_THREADS,
                                            .last = (k + 1) * N_CROWD / N_CROWD_THREADS };
                ck_assert_int_eq(pthread_create(&tid[k], NULL, crowd_thread, &threads[k]), 0);
        }
        pthread_barrier_wait(&cr.phase);        /* connected */
        sockets = daemon_sockets(d.pid);
        pthread_barrier_wait(&cr.phase);        /* created */
        pthread_barrier_wait(&cr.phase);        /* opened */
        ck_assert_msg(cr.errors == 0, "%d errors among %d clients; first: %s", cr.errors, N_CROWD, cr.first_error);
        ck_assert_msg(sockets == base_sockets + N_CROWD, "daemon has %d client sockets with %d clients connected",
                      sockets - base_sockets, N_CROWD);
        cs = census(&d);
        ck_assert_msg(cs.total == N_CROWD, "daemon lists %d segments, %d were created", cs.total, N_CROWD);
        for (int b = SHMB_BACKEND_MEMFD; b <= SHMB_BACKEND_FILE; b++)
                ck_assert_msg(cs.listed[b] == N_CROWD / 4, "daemon lists %d %s segments, expected %d", cs.listed[b],
                              shmb_backend_to_string((enum shmb_backend)b), N_CROWD / 4);
        ck_assert_int_eq(objects_sysv_count(&d.pid, 1), N_CROWD / 4);
        ck_assert_int_eq(objects_posix_count(prefix), N_CROWD / 4);
        ck_assert_int_eq(objects_file_count(d.state_dir, prefix), N_CROWD / 4);
        pthread_barrier_wait(&cr.phase);        /* let go */
        for (int k = 0; k < N_CROWD_THREADS; k++)
                ck_assert_int_eq(pthread_join(tid[k], NULL), 0);

        assert_alive(&d);
        assert_fds(&d, base_fds, "1,000 clients released their segments and closed");
        assert_objects_match(&d, "1,000 clients closed");
        ck_assert_int_eq(census(&d).total, 0);
        assert_serves(&d);
        assert_fds(&d, base_fds, "the probes");
        test_daemon_stop(&d);
        pthread_barrier_destroy(&cr.phase);
}
END_TEST

/* ---------------------------------------------------- clients killed -9 -- */

/* A client that never stops: connect, then create, open, map, release, unlink, stat, list at random. */
static void churn_forever(const char *socket, unsigned seed, const char *tag) {
        static const enum shmb_lifetime lifetimes[] = { SHMB_LIFETIME_HOLDERS, SHMB_LIFETIME_CREATOR,
                                                        SHMB_LIFETIME_HOLDERS, SHMB_LIFETIME_PERSISTENT };
        struct shmb_segment *held[8] = { 0 };
        struct shmb_client *c = NULL;

        srand(seed);
        for (;;) {
                struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
                struct shmb_stat st, *v = NULL;
                size_t n, slot = (size_t)rand() % 8;
                char name[64];
                void *p;
                int r = 0;

                if (!c && shmb_client_new(&c, socket) < 0) {
                        c = NULL;
                        test_sleep_ms(1);
                        continue;
                }
                seg_name(name, sizeof(name), "%s-%d", tag, rand() % 8);
                switch (rand() % 8) {
                case 0:
                case 1:
                        if (held[slot])
                                break;
                        o.backend = (enum shmb_backend)(SHMB_BACKEND_MEMFD + rand() % 4);
                        o.lifetime = lifetimes[rand() % 4];
                        o.mode = 0666;
                        r = shmb_create(c, name, SEG_SIZE * (1 + (uint64_t)(rand() % 4)), &o, &held[slot]);
                        break;
                case 2:
                        if (!held[slot])
                                r = shmb_open(c, name, rand() % 2 ? SHMB_OPEN_RDONLY : 0, &held[slot]);
                        break;
                case 3:
                        if (held[slot] && shmb_segment_map(held[slot], &p) == 0)
                                (void)*(volatile uint8_t *)p;
                        break;
                case 4:
                        if (held[slot])
                                r = shmb_segment_release(held[slot]);
                        held[slot] = NULL;
                        break;
                case 5:
                        r = shmb_unlink(c, name);
                        break;
                case 6:
                        r = shmb_stat(c, name, &st);
                        break;
                default:
                        r = shmb_list(c, &v, &n);
                        shmb_list_free(v);
                        break;
                }
                if (r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN || rand() % 64 == 0) {
                        /* The daemon went away (or we choose to): drop everything and reconnect. */
                        for (size_t i = 0; i < 8; i++)
                                if (held[i])
                                        (void)shmb_segment_release(held[i]);
                        memset(held, 0, sizeof(held));
                        c = shmb_client_free(c);
                }
        }
}

START_TEST(test_clients_killed_mid_request) {
        unsigned seed = test_seed("test_clients_killed_mid_request");
        struct shmb_client *healthy;
        struct shmb_segment *hs;
        pid_t pids[KILL_WAVE];
        int base_fds, killed = 0;
        TestDaemon d;
        Census cs;

        prefix_init();
        daemon_start(&d);
        healthy = test_client(&d);
        ck_assert_int_eq(shmb_create(healthy, "healthy", SEG_SIZE, NULL, &hs), 0);
        base_fds = test_count_fds(d.pid);
        srand(seed);
        for (int wave = 0; wave < N_KILLED / KILL_WAVE; wave++) {
                for (int i = 0; i < KILL_WAVE; i++) {
                        unsigned child_seed = (unsigned)rand();
                        char tag[16];

                        snprintf(tag, sizeof(tag), "k%d", i % 5);
                        pids[i] = fork();
                        ck_assert_int_ge(pids[i], 0);
                        if (pids[i] == 0)
                                churn_forever(d.socket, child_seed, tag);
                }
                /* Each dies at a random point of its requests, 0-20 ms after the one before. */
                for (int i = 0; i < KILL_WAVE; i++) {
                        int status;

                        test_sleep_ms(rand() % 21);
                        ck_assert_int_eq(kill(pids[i], SIGKILL), 0);
                        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
                        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                                      "client %d ended on its own (status 0x%x)", i, status);
                        killed++;
                }
        }
        ck_assert_int_eq(killed, N_KILLED);

        assert_alive(&d);
        assert_serves(&d);
        assert_objects_match(&d, "100 clients were killed");
        cs = census(&d);
        ck_assert_msg(cs.total == cs.persistent_unheld,
                      "%d of the dead clients' %d segments are not persistent-and-unheld", cs.total - cs.persistent_unheld,
                      cs.total);
        fprintf(stderr, "test_clients_killed_mid_request: %d persistent segments outlived their makers\n", cs.total);
        unlink_ours(&d);
        assert_objects_match(&d, "unlinking the persistent survivors");
        ck_assert_int_eq(census(&d).total, 0);
        assert_fds(&d, base_fds, "100 killed clients and unlinking their segments");
        ck_assert_int_eq(shmb_segment_release(hs), 0);
        shmb_client_free(healthy);
        test_daemon_stop(&d);
}
END_TEST

/* ------------------------------------------------- daemon killed -9 x 20 -- */

typedef struct Progress {
        atomic_uint ops;        /* requests answered, over all workers */
        atomic_uint corrupt;    /* kept segments read back wrong */
} Progress;

static uint8_t keep_byte(int k, size_t i) {
        return (uint8_t)(k * 31 + i / 4096);
}

/* Work until killed: reconnect whenever the daemon is gone; read the kept segments, make new ones. */
static void work_forever(const char *socket, int idx, Progress *pg) {
        struct shmb_client *c = NULL;

        srand((unsigned)idx * 7919u + (unsigned)getpid());
        for (;;) {
                struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
                struct shmb_segment *s = NULL, *keep = NULL;
                char name[64];
                int k = rand() % N_KEEP, r;
                uint8_t *p;

                if (!c && shmb_client_new(&c, socket) < 0) {
                        c = NULL;
                        test_sleep_ms(5);
                        continue;
                }
                r = shmb_open(c, seg_name(name, sizeof(name), "keep-%d", k), SHMB_OPEN_RDONLY, &keep);
                if (r == 0 && shmb_segment_map(keep, (void **)&p) == 0) {
                        for (size_t i = 0; i < KEEP_SIZE; i += 4096)
                                if (p[i] != keep_byte(k, i))
                                        atomic_fetch_add(&pg->corrupt, 1);
                }
                o.backend = (enum shmb_backend)(SHMB_BACKEND_MEMFD + rand() % 4);
                /* Persistent memfd, posix and sysv segments die with the daemon; file ones would be restored. */
                o.lifetime = o.backend != SHMB_BACKEND_FILE && rand() % 3 == 0 ? SHMB_LIFETIME_PERSISTENT
                                                                                : SHMB_LIFETIME_HOLDERS;
                if (r == 0)
                        r = shmb_create(c, seg_name(name, sizeof(name), "w%d-%d", idx, rand() % 4), SEG_SIZE, &o, &s);
                if (r == -EEXIST)
                        r = shmb_open(c, name, 0, &s);
                if (r == 0 && shmb_segment_map(s, (void **)&p) == 0)
                        p[0] = 1;
                if (r == 0)
                        atomic_fetch_add(&pg->ops, 1);
                if (s)
                        (void)shmb_segment_release(s);
                if (keep)
                        (void)shmb_segment_release(keep);
                if (r < 0 && r != -ENOENT && r != -EACCES)
                        c = shmb_client_free(c);
        }
}

static void keep_create(const TestDaemon *d) {
        struct shmb_create_options o = SHMB_CREATE_OPTIONS_INIT;
        struct shmb_client *c = test_client(d);

        o.backend = SHMB_BACKEND_FILE;
        o.lifetime = SHMB_LIFETIME_PERSISTENT;
        o.mode = 0644;
        for (int k = 0; k < N_KEEP; k++) {
                struct shmb_segment *s = NULL;
                char name[64];
                uint8_t *p = NULL;

                ck_assert_int_eq(shmb_create(c, seg_name(name, sizeof(name), "keep-%d", k), KEEP_SIZE, &o, &s), 0);
                ck_assert_int_eq(shmb_segment_map(s, (void **)&p), 0);
                for (size_t i = 0; i < KEEP_SIZE; i++)
                        p[i] = keep_byte(k, i);
                ck_assert_int_eq(shmb_sync(c, name), 0);
                ck_assert_int_eq(shmb_segment_release(s), 0);
        }
        shmb_client_free(c);
}

/* The kept file segments on disk: the right size and bytes. */
static void keep_check_files(const TestDaemon *d) {
        for (int k = 0; k < N_KEEP; k++) {
                char name[64], path[512];
                uint8_t *data = malloc(KEEP_SIZE + 1);
                ssize_t n;
                int fd;

                ck_assert_ptr_nonnull(data);
                snprintf(path, sizeof(path), "%s/segments/data/%s", d->state_dir,
                         seg_name(name, sizeof(name), "keep-%d", k));
                fd = open(path, O_RDONLY | O_CLOEXEC);
                ck_assert_msg(fd >= 0, "kept file segment %s is gone: %m", path);
                n = read(fd, data, KEEP_SIZE + 1);
                close(fd);
                ck_assert_msg(n == KEEP_SIZE, "kept file segment %s has %zd bytes, not %d", path, n, KEEP_SIZE);
                for (size_t i = 0; i < KEEP_SIZE; i++)
                        ck_assert_msg(data[i] == keep_byte(k, i), "kept file segment %s differs at byte %zu", path, i);
                free(data);
        }
}

/* Poll until the workers have done @more requests past @since (DEADLINE_MS); assert it. */
static void assert_progress(Progress *pg, unsigned since, unsigned more, int restart) {
        uint64_t end = now_ms() + DEADLINE_MS;

        while (atomic_load(&pg->ops) < since + more && now_ms() < end)
                test_sleep_ms(5);
        ck_assert_msg(atomic_load(&pg->ops) >= since + more,
                      "the workers did only %u requests in %d s after restart %d", atomic_load(&pg->ops) - since,
                      DEADLINE_MS / 1000, restart);
}

START_TEST(test_daemon_killed_and_restarted) {
        unsigned seed = test_seed("test_daemon_killed_and_restarted");
        pid_t daemons[N_RESTARTS + 1], workers[N_WORKERS];
        Progress *pg;
        TestDaemon d;
        int status;

        pg = mmap(NULL, sizeof(*pg), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert(pg != MAP_FAILED);
        memset(pg, 0, sizeof(*pg));
        srand(seed);
        prefix_init();
        daemon_start(&d);
        daemons[0] = d.pid;
        keep_create(&d);
        for (int i = 0; i < N_WORKERS; i++) {
                workers[i] = fork();
                ck_assert_int_ge(workers[i], 0);
                if (workers[i] == 0)
                        work_forever(d.socket, i, pg);
        }
        assert_progress(pg, 0, N_WORKERS, 0);
        for (int n = 1; n <= N_RESTARTS; n++) {
                unsigned ops;

                test_sleep_ms(20 + rand() % 80);
                status = test_daemon_kill(&d, SIGKILL);
                ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                              "shmbrokerd did not die of SIGKILL (status 0x%x)", status);
                ops = atomic_load(&pg->ops);
                daemon_restart(&d);
                daemons[n] = d.pid;
                assert_progress(pg, ops, N_WORKERS, n);
        }
        for (int i = 0; i < N_WORKERS; i++) {
                ck_assert_int_eq(kill(workers[i], SIGKILL), 0);
                ck_assert_int_eq(waitpid(workers[i], &status, 0), workers[i]);
        }
        fprintf(stderr, "test_daemon_killed_and_restarted: %u requests answered across %d daemons\n",
                atomic_load(&pg->ops), N_RESTARTS + 1);
        ck_assert_msg(atomic_load(&pg->corrupt) == 0, "the workers read %u wrong pages of kept segments",
                      atomic_load(&pg->corrupt));

        assert_alive(&d);
        assert_serves(&d);
        assert_objects_match(&d, "20 kills and restarts");
        status = test_daemon_kill(&d, SIGTERM);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the last shmbrokerd did not stop cleanly (0x%x)",
                      status);
        ck_assert_msg(objects_sysv_count(daemons, N_RESTARTS + 1) == 0,
                      "%d System V segments of the %d daemons are left after the last one stopped",
                      objects_sysv_count(daemons, N_RESTARTS + 1), N_RESTARTS + 1);
        ck_assert_msg(objects_posix_count(prefix) == 0, "%d /dev/shm objects are left after the last daemon stopped",
                      objects_posix_count(prefix));
        ck_assert_msg(objects_file_count(d.state_dir, "") == N_KEEP,
                      "%d file segments are on disk after the last daemon stopped, expected the %d kept",
                      objects_file_count(d.state_dir, ""), N_KEEP);
        keep_check_files(&d);
        test_daemon_stop(&d);
        munmap(pg, sizeof(*pg));
}
END_TEST

/* A private System V segment made by a child that then exits: a segment whose creator is dead. */
static int orphan_segment(pid_t *ret_cpid) {
        int pipefd[2], id = -1;
        pid_t pid;

        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                id = shmget(IPC_PRIVATE, SEG_SIZE, IPC_CREAT | 0600);
                _exit(write(pipefd[1], &id, sizeof(id)) == sizeof(id) ? 0 : 1);
        }
        ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
        ck_assert_int_eq(read(pipefd[0], &id, sizeof(id)), sizeof(id));
        close(pipefd[0]);
        close(pipefd[1]);
        ck_assert_msg(id >= 0, "the child could not make a System V segment");
        track_creator(pid);
        *ret_cpid = pid;
        return id;
}

/*
 * An instance killed between shmget() and the journal record of the id:
 * the next instance must still remove the segment. Simulated by a dead
 * child's segment and a journal naming that child as the instance
 * ("= <pid>", the line every instance writes first).
 */
START_TEST(test_sysv_unrecorded_segment_reaped) {
        char journal[512], line[32];
        pid_t unrecorded_cpid, foreign_cpid;
        struct shmid_ds ds;
        int unrecorded, foreign, fd, status, n;
        TestDaemon d;

        prefix_init();
        daemon_start(&d);
        status = test_daemon_kill(&d, SIGKILL);
        ck_assert(WIFSIGNALED(status));
        unrecorded = orphan_segment(&unrecorded_cpid);
        foreign = orphan_segment(&foreign_cpid);
        snprintf(journal, sizeof(journal), "%s/sysv-segments", d.state_dir);
        fd = open(journal, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ck_assert_msg(fd >= 0, "no System V journal at %s: %m", journal);
        n = snprintf(line, sizeof(line), "= %d\n", (int)unrecorded_cpid);
        ck_assert_int_eq(write(fd, line, (size_t)n), n);
        close(fd);

        daemon_restart(&d);
        ck_assert_msg(shmctl(unrecorded, IPC_STAT, &ds) < 0 && (errno == EINVAL || errno == EIDRM),
                      "shmid %d of the dead instance %d (no record of its own) survived the restart", unrecorded,
                      (int)unrecorded_cpid);
        ck_assert_msg(shmctl(foreign, IPC_STAT, &ds) == 0, "shmid %d of another dead process was removed: %m", foreign);
        ck_assert_int_eq(shmctl(foreign, IPC_RMID, NULL), 0);
        assert_serves(&d);
        test_daemon_stop(&d);
}
END_TEST

/* ------------------------------------------------------------ fd floods -- */

typedef struct Fixture {
        TestDaemon d;
        struct shmb_client *c;
        struct shmb_segment *seg;
        int base_fds;
} Fixture;

/* A daemon and a healthy client holding "healthy" (opened read-only once, so its read-only fd exists). */
static void fixture_start(Fixture *f) {
        struct shmb_segment *ro = NULL;
        struct timeval tv = { .tv_sec = 5 };
        int r;

        memset(f, 0, sizeof(*f));
        prefix_init();
        daemon_start(&f->d);
        f->c = test_client(&f->d);
        /* Promptly: a healthy request that waits 5 s for its reply fails. */
        ck_assert_int_eq(setsockopt(shmb_client_get_fd(f->c), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        r = shmb_create(f->c, "healthy", SEG_SIZE, NULL, &f->seg);
        ck_assert_msg(r == 0, "healthy create: %s", strerror(-r));
        ck_assert_int_eq(shmb_open(f->c, "healthy", SHMB_OPEN_RDONLY, &ro), 0);
        ck_assert_int_eq(shmb_segment_release(ro), 0);
        f->base_fds = test_count_fds(f->d.pid);
}

static void assert_healthy(Fixture *f, uint32_t holders) {
        struct shmb_stat st;
        int r;

        assert_alive(&f->d);
        r = shmb_stat(f->c, "healthy", &st);
        ck_assert_msg(r == 0, "healthy stat: %s (%s)", strerror(-r), shmb_client_last_error(f->c));
        ck_assert_msg(st.holders == holders, "'healthy' has %u holders, expected %u", st.holders, holders);
}

static void fixture_finish(Fixture *f, const char *after) {
        assert_fds(&f->d, f->base_fds, after);
        assert_healthy(f, 1);
        assert_serves(&f->d);
        assert_fds(&f->d, f->base_fds, "the probes");
        ck_assert_int_eq(shmb_segment_release(f->seg), 0);
        f->c = shmb_client_free(f->c);
        test_daemon_stop(&f->d);
}

/* The reply to the request just sent: its status. */
static uint16_t reply_status(int fd, uint32_t req_id) {
        ProtoHeader h;
        ssize_t n = test_raw_recv(fd, buf, sizeof(buf), NULL);

        ck_assert_msg(n > 0, "expected a reply to request %u, got %s", req_id, n == 0 ? "a disconnect" : strerror((int)-n));
        ck_assert_int_eq(proto_decode_header(buf, (size_t)n, &h), 0);
        ck_assert_uint_eq(h.req_id, req_id);
        return h.status;
}

START_TEST(test_fd_flood) {
        Fixture f;
        ProtoBuf b;
        int fd, efd, len;

        fixture_start(&f);
        efd = eventfd(0, EFD_CLOEXEC);
        ck_assert_int_ge(efd, 0);
        fd = test_raw_connect(&f.d);
        test_raw_hello(fd);
        for (uint32_t i = 1; i <= N_FLOOD; i++) {
                ssize_t r;
                uint16_t status;

                proto_buf_init(&b, buf, sizeof(buf));
                len = proto_encode_create(&b, i, "flood", SEG_SIZE, 0600, 0, 0, 0);
                r = test_raw_send_fds(fd, buf, (size_t)len, efd, 253);
                ck_assert_msg(r == len, "message %u with 253 fds: %s", i, r < 0 ? strerror((int)-r) : "short");
                status = reply_status(fd, i);
                ck_assert_msg(status == SHMB_STATUS_PROTOCOL, "message %u with 253 fds: status %s, expected PROTOCOL", i,
                              proto_status_name(status));
                if (i % 100 == 0) {
                        /* The 253 fds are closed before the reply: only the connection is extra. */
                        ck_assert_int_eq(test_count_fds(f.d.pid), f.base_fds + 1);
                        assert_healthy(&f, 1);
                }
        }
        ck_assert_msg(shmb_stat(f.c, "flood", &(struct shmb_stat){ 0 }) == -ENOENT,
                      "a request that carried fds created a segment");
        close(fd);
        close(efd);
        fixture_finish(&f, "1,000 messages of 253 fds");
}
END_TEST

/* The soft RLIMIT_NOFILE of @pid, from /proc/PID/limits. */
static unsigned long long soft_nofile(pid_t pid) {
        unsigned long long soft = 0;
        char path[64], line[256];
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
        f = fopen(path, "re");
        ck_assert_msg(f, "cannot read %s: %m", path);
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Max open files %llu", &soft) == 1)
                        break;
        fclose(f);
        return soft;
}

/* Started with the usual soft limit of 1,024 fds, the daemon takes the hard limit as its own. */
START_TEST(test_daemon_raises_fd_limit) {
        struct rlimit rl;
        TestDaemon d;

        prefix_init();
        set_nofile(1024, 4096);
        daemon_start(&d);
        ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
        ck_assert_msg(soft_nofile(d.pid) == (unsigned long long)rl.rlim_max,
                      "the daemon's soft fd limit is %llu, not the hard limit %llu", soft_nofile(d.pid),
                      (unsigned long long)rl.rlim_max);
        test_daemon_stop(&d);
}
END_TEST

/* Regression (found by fuzz-server): an empty datagram carrying fds is dropped like end-of-file, fds closed. */
START_TEST(test_empty_datagram_with_fds) {
        Fixture f;
        int efd;

        fixture_start(&f);
        efd = eventfd(0, EFD_CLOEXEC);
        ck_assert_int_ge(efd, 0);
        for (int i = 0; i < N_EMPTY; i++) {
                int fd = test_raw_connect(&f.d);
                ssize_t r = test_raw_send_fds(fd, "", 0, efd, 253);

                ck_assert_msg(r == 0, "empty datagram with 253 fds: %s", r < 0 ? strerror((int)-r) : "sent bytes");
                r = test_raw_recv(fd, buf, sizeof(buf), NULL);
                ck_assert_msg(r == 0, "expected the daemon to drop a client sending an empty datagram, got %s",
                              r > 0 ? "a reply" : strerror((int)-r));
                close(fd);
        }
        close(efd);
        fixture_finish(&f, "20 empty datagrams carrying 253 fds each");
}
END_TEST

/* A client that sends OPENs (each reply carries an fd) and never reads; returns once the daemon stops reading it. */
static int deaf_client(Fixture *f, unsigned *ret_sent) {
        int fd = test_raw_connect(&f->d);
        unsigned sent = 0, quiet = 0;
        uint64_t end = now_ms() + DEADLINE_MS;
        ProtoBuf b;
        int len;

        test_raw_hello(fd);
        while (quiet < 5 && now_ms() < end) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };

                proto_buf_init(&b, buf, sizeof(buf));
                len = proto_encode_open(&b, sent + 2, "healthy", PROTO_OPEN_RDONLY);
                if (send(fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) == len) {
                        sent++;
                        quiet = 0;
                        continue;
                }
                ck_assert_msg(errno == EAGAIN, "send of OPEN #%u: %m", sent + 1);
                if (poll(&p, 1, 20) == 0)
                        quiet++;
        }
        ck_assert_msg(quiet >= 5, "the daemon kept reading a client that never reads (%u requests)", sent);
        *ret_sent = sent;
        return fd;
}

START_TEST(test_clients_never_read) {
        int fds[N_DEAF], n;
        unsigned sent, total = 0;
        Fixture f;

        fixture_start(&f);
        for (int i = 0; i < N_DEAF; i++) {
                fds[i] = deaf_client(&f, &sent);
                total += sent;
        }
        fprintf(stderr, "test_clients_never_read: %d clients sent %u OPENs and read no reply\n", N_DEAF, total);
        /* Each keeps its socket and at most CONN_OUTQ_MAX queued replies, each with its fd. */
        n = test_count_fds(f.d.pid);
        ck_assert_msg(n <= f.base_fds + N_DEAF * (1 + CONN_OUTQ_MAX),
                      "daemon has %d fds for %d stalled clients (baseline %d, at most %d queued replies each)", n,
                      N_DEAF, f.base_fds, CONN_OUTQ_MAX);
        assert_healthy(&f, 1 + N_DEAF);
        assert_serves(&f.d);
        for (int i = 0; i < N_DEAF; i++)
                close(fds[i]);
        fixture_finish(&f, "20 clients that never read went away");
}
END_TEST

static TCase *tcase_new(Suite *s, const char *name) {
        TCase *tc = tcase_create(name);

        tcase_add_unchecked_fixture(tc, NULL, leftovers_teardown);
        tcase_set_timeout(tc, 120);
        suite_add_tcase(s, tc);
        return tc;
}

/*
 * Regression (found by fuzz-server): a client fills its out-queue, so the
 * daemon stops reading it, then sends a datagram carrying its own socket
 * and exits. That datagram, unread in the daemon's receive queue, keeps the
 * client's socket open, so the daemon sees no end-of-file: without the
 * stall timeout the connection and its holds would stay for ever.
 */
START_TEST(test_client_passing_itself_is_dropped) {
        int fd, len, queued, n;
        unsigned sent = 0;
        uint64_t end;
        Fixture f;
        ProtoBuf b;
        ssize_t r;

        fixture_start(&f);
        fd = test_raw_connect(&f.d);
        test_raw_hello(fd);
        /* OPENs until the daemon has queued CONN_OUTQ_MAX replies, each with an fd, and stopped reading us. */
        queued = f.base_fds + 1 + CONN_OUTQ_MAX;
        end = now_ms() + DEADLINE_MS;
        while (test_count_fds(f.d.pid) < queued && now_ms() < end) {
                proto_buf_init(&b, buf, sizeof(buf));
                len = proto_encode_open(&b, ++sent, "healthy", PROTO_OPEN_RDONLY);
                if (send(fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) != len) {
                        ck_assert_msg(errno == EAGAIN, "send of OPEN #%u: %m", sent);
                        sent--;
                        test_sleep_ms(1);
                }
        }
        ck_assert_msg(test_count_fds(f.d.pid) == queued, "the daemon did not queue %d replies for %u OPENs",
                      CONN_OUTQ_MAX, sent);
        proto_buf_init(&b, buf, sizeof(buf));
        len = proto_encode_name_request(&b, ++sent, SHMB_MSG_STAT, "healthy");
        r = test_raw_send_fds(fd, buf, (size_t)len, fd, 1);
        ck_assert_msg(r == len, "send of a STAT carrying the client's own socket: %s", strerror((int)-r));
        close(fd);
        assert_healthy(&f, 2);
        n = test_wait_fds(f.d.pid, f.base_fds, CONN_STALL_TIMEOUT_SEC * 1000 + DEADLINE_MS);
        ck_assert_msg(n == f.base_fds, "daemon has %d fds %d s after a client passed its own socket and exited, "
                      "baseline %d", n, CONN_STALL_TIMEOUT_SEC + DEADLINE_MS / 1000, f.base_fds);
        fixture_finish(&f, "a client that passed its own socket and exited");
}
END_TEST

static Suite *faults_suite(void) {
        Suite *s = suite_create("faults");
        TCase *tc;

        tc = tcase_new(s, "crowd");
        tcase_add_test(tc, test_thousand_clients);

        tc = tcase_new(s, "kill");
        tcase_add_test(tc, test_clients_killed_mid_request);
        tcase_add_test(tc, test_daemon_killed_and_restarted);
        tcase_add_test(tc, test_sysv_unrecorded_segment_reaped);

        /* Valgrind keeps its client's fd limit where it started: tests/valgrind.sh leaves this out. */
        tc = tcase_new(s, "fd-limit");
        tcase_set_tags(tc, "no-valgrind");
        tcase_add_test(tc, test_daemon_raises_fd_limit);

        tc = tcase_new(s, "fds");
        tcase_add_test(tc, test_fd_flood);
        tcase_add_test(tc, test_empty_datagram_with_fds);
        tcase_add_test(tc, test_clients_never_read);
        tcase_add_test(tc, test_client_passing_itself_is_dropped);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(faults_suite());
        int failed;

        lo = mmap(NULL, sizeof(*lo), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (lo == MAP_FAILED)
                return EXIT_FAILURE;
        memset(lo, 0, sizeof(*lo));
        test_run_begin();
        srunner_run_all(sr, CK_NORMAL);
        test_run_sweep();
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
