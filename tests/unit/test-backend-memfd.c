/*
 * Unit tests for the memfd backend (daemon/backend-memfd.c) and the backend
 * table: sizing, seals, the read-only fd and what a holder can (not) do
 * with it, and teardown.
 */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/registry.h"
#include "protocol/shmb-proto.h"

#define SEG_SIZE 10000          /* deliberately not a multiple of the page size */
#define NOBODY 65534

static const BackendOps *ops = &backend_memfd_ops;

static void segment_setup(Segment *s, const char *name, uint64_t size) {
        memset(s, 0, sizeof(*s));
        s->obj = (SegmentObject){ .fd = -1, .ro_fd = -1, .shmid = -1 };
        s->size = size;
        s->backend = PROTO_BACKEND_MEMFD;
        snprintf(s->name, sizeof(s->name), "%s", name);
}

static void segment_create(Segment *s, const char *name, uint64_t size) {
        segment_setup(s, name, size);
        ck_assert_int_eq(ops->create(s), 0);
        ck_assert_int_ge(s->obj.fd, 0);
        ck_assert_int_eq(s->obj.ro_fd, -1);
}

static int get_ro_fd(Segment *s) {
        int fd = -1;

        ck_assert_int_eq(ops->get_fd(s, false, &fd), 0);
        ck_assert_int_ge(fd, 0);
        return fd;
}

static void assert_closed(int fd) {
        ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
        ck_assert_int_eq(errno, EBADF);
}

/* ---------------------------------------------------------------- create -- */

START_TEST(test_create_size_and_mode) {
        Segment s;
        struct stat st;

        segment_create(&s, "size-test", SEG_SIZE);
        ck_assert_int_eq(fstat(s.obj.fd, &st), 0);
        ck_assert_int_eq(st.st_size, SEG_SIZE);
        ck_assert_uint_eq(st.st_mode & 07777, 0400);
        /* Every fd is close-on-exec from birth; the rw fd is read-write. */
        ck_assert_int_ne(fcntl(s.obj.fd, F_GETFD) & FD_CLOEXEC, 0);
        ck_assert_int_eq(fcntl(s.obj.fd, F_GETFL) & O_ACCMODE, O_RDWR);
        ops->destroy(&s);
}
END_TEST

START_TEST(test_create_one_byte) {
        Segment s;
        struct stat st;

        segment_create(&s, "tiny", 1);
        ck_assert_int_eq(fstat(s.obj.fd, &st), 0);
        ck_assert_int_eq(st.st_size, 1);
        ops->destroy(&s);
}
END_TEST

START_TEST(test_create_long_name) {
        Segment s;
        char name[SHMB_NAME_MAX + 1];
        struct stat st;

        /* A 255-byte name is longer than the kernel's memfd label limit. */
        memset(name, 'n', SHMB_NAME_MAX);
        name[SHMB_NAME_MAX] = 0;
        segment_create(&s, name, 4096);
        ck_assert_int_eq(fstat(s.obj.fd, &st), 0);
        ck_assert_int_eq(st.st_size, 4096);
        ops->destroy(&s);
}
END_TEST

START_TEST(test_create_too_large) {
        Segment s;

        segment_setup(&s, "huge", (uint64_t)INT64_MAX + 1);
        ck_assert_int_eq(ops->create(&s), -EFBIG);
        ck_assert_int_eq(s.obj.fd, -1);
        ck_assert_int_eq(s.obj.ro_fd, -1);
        segment_setup(&s, "huge", UINT64_MAX);
        ck_assert_int_eq(ops->create(&s), -EFBIG);
        ck_assert_int_eq(s.obj.fd, -1);
        ops->destroy(&s);
}
END_TEST

/* ----------------------------------------------------------------- seals -- */

START_TEST(test_seals) {
        Segment s;

        segment_create(&s, "seals", SEG_SIZE);
        ck_assert_int_eq(fcntl(s.obj.fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        ops->destroy(&s);
}
END_TEST

START_TEST(test_no_resize) {
        Segment s;
        struct stat st;

        segment_create(&s, "resize", SEG_SIZE);
        ck_assert_int_eq(ftruncate(s.obj.fd, SEG_SIZE - 1), -1);
        ck_assert_int_eq(errno, EPERM);
        ck_assert_int_eq(ftruncate(s.obj.fd, 0), -1);
        ck_assert_int_eq(errno, EPERM);
        ck_assert_int_eq(ftruncate(s.obj.fd, SEG_SIZE + 1), -1);
        ck_assert_int_eq(errno, EPERM);
        ck_assert_int_eq(fallocate(s.obj.fd, 0, 0, SEG_SIZE + 4096), -1);
        ck_assert_int_eq(errno, EPERM);
        ck_assert_int_eq(fallocate(s.obj.fd, 0, SEG_SIZE, 1), -1);
        ck_assert_int_eq(errno, EPERM);
        /* Writing past the end would grow the file: refused too. */
        ck_assert_int_eq(pwrite(s.obj.fd, "x", 1, SEG_SIZE), -1);
        ck_assert_int_eq(errno, EPERM);
        ck_assert_int_eq(fstat(s.obj.fd, &st), 0);
        ck_assert_int_eq(st.st_size, SEG_SIZE);
        ops->destroy(&s);
}
END_TEST

START_TEST(test_no_more_seals) {
        Segment s;

        segment_create(&s, "more-seals", SEG_SIZE);
        ck_assert_int_eq(fcntl(s.obj.fd, F_ADD_SEALS, F_SEAL_WRITE), -1);
        ck_assert_int_eq(errno, EPERM);
        ck_assert_int_eq(fcntl(s.obj.fd, F_ADD_SEALS, F_SEAL_SHRINK), -1);
        ck_assert_int_eq(errno, EPERM);
        ck_assert_int_eq(fcntl(s.obj.fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        ops->destroy(&s);
}
END_TEST

/* -------------------------------------------------------------- read-only -- */

START_TEST(test_get_fd) {
        Segment s;
        int rw = -1, ro, ro2;

        segment_create(&s, "get-fd", SEG_SIZE);
        ck_assert_int_eq(ops->get_fd(&s, true, &rw), 0);
        ck_assert_int_eq(rw, s.obj.fd);
        ck_assert_int_eq(fcntl(rw, F_GETFL) & O_ACCMODE, O_RDWR);

        ro = get_ro_fd(&s);
        ck_assert_int_ne(ro, s.obj.fd);
        ck_assert_int_eq(ro, s.obj.ro_fd);
        ck_assert_int_eq(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY);
        ck_assert_int_ne(fcntl(ro, F_GETFD) & FD_CLOEXEC, 0);

        /* The read-only fd is cached: a second request returns the same one. */
        ro2 = get_ro_fd(&s);
        ck_assert_int_eq(ro2, ro);
        ops->destroy(&s);
}
END_TEST

START_TEST(test_get_fd_without_object) {
        Segment s;
        int fd = 12345;

        segment_setup(&s, "no-object", SEG_SIZE);
        ck_assert_int_eq(ops->get_fd(&s, false, &fd), -EBADF);
        ck_assert_int_eq(ops->get_fd(&s, true, &fd), -EBADF);
        ck_assert_int_eq(fd, 12345);
        ck_assert_int_eq(s.obj.ro_fd, -1);
}
END_TEST

START_TEST(test_ro_same_object) {
        Segment s;
        struct stat a, b;
        int ro;

        segment_create(&s, "same-object", SEG_SIZE);
        ro = get_ro_fd(&s);
        ck_assert_int_eq(fstat(s.obj.fd, &a), 0);
        ck_assert_int_eq(fstat(ro, &b), 0);
        ck_assert_uint_eq(a.st_dev, b.st_dev);
        ck_assert_uint_eq(a.st_ino, b.st_ino);
        ck_assert_int_eq(b.st_size, SEG_SIZE);
        /* Seals belong to the inode, so the read-only fd shows them too. */
        ck_assert_int_eq(fcntl(ro, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
        ops->destroy(&s);
}
END_TEST

START_TEST(test_ro_no_writable_mmap) {
        Segment s;
        void *p;
        int ro;

        segment_create(&s, "ro-mmap", SEG_SIZE);
        ro = get_ro_fd(&s);

        p = mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
        ck_assert_ptr_eq(p, MAP_FAILED);
        ck_assert_int_eq(errno, EACCES);
        p = mmap(NULL, SEG_SIZE, PROT_WRITE, MAP_SHARED, ro, 0);
        ck_assert_ptr_eq(p, MAP_FAILED);
        ck_assert_int_eq(errno, EACCES);
        ops->destroy(&s);
}
END_TEST

START_TEST(test_ro_no_mprotect_write) {
        Segment s;
        void *p;
        int ro;

        segment_create(&s, "ro-mprotect", SEG_SIZE);
        ro = get_ro_fd(&s);

        p = mmap(NULL, SEG_SIZE, PROT_READ, MAP_SHARED, ro, 0);
        ck_assert_ptr_ne(p, MAP_FAILED);
        ck_assert_int_eq(mprotect(p, SEG_SIZE, PROT_READ | PROT_WRITE), -1);
        ck_assert_int_eq(errno, EACCES);
        ck_assert_int_eq(mprotect(p, SEG_SIZE, PROT_WRITE), -1);
        ck_assert_int_eq(errno, EACCES);
        ck_assert_int_eq(munmap(p, SEG_SIZE), 0);
        ops->destroy(&s);
}
END_TEST

START_TEST(test_ro_no_write) {
        Segment s;
        int ro;

        segment_create(&s, "ro-write", SEG_SIZE);
        ro = get_ro_fd(&s);
        ck_assert_int_eq(pwrite(ro, "x", 1, 0), -1);
        ck_assert_int_eq(errno, EBADF);
        ops->destroy(&s);
}
END_TEST

/* Child: become nobody, then try to reopen @fd through /proc read-write. Exits with the errno. */
static void reopen_as_nobody(int fd) {
        char path[64];
        int r;

        if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
                _exit(250);
        if (getuid() != NOBODY || geteuid() != NOBODY || getegid() != NOBODY)
                _exit(251);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        r = open(path, O_RDWR | O_CLOEXEC);
        if (r >= 0)
                _exit(252);
        _exit(errno & 0xff);
}

START_TEST(test_ro_no_reopen_rw_as_other_user) {
        Segment s;
        int ro, status;
        pid_t pid;

        if (geteuid() != 0) {
                printf("SKIP: test_ro_no_reopen_rw_as_other_user: needs root to switch to uid %d\n", NOBODY);
                return;
        }
        segment_create(&s, "ro-reopen", SEG_SIZE);
        ro = get_ro_fd(&s);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                reopen_as_nobody(ro);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "child did not exit normally (status 0x%x)", status);
        ck_assert_msg(WEXITSTATUS(status) != 250 && WEXITSTATUS(status) != 251, "child could not become uid %d",
                      NOBODY);
        ck_assert_msg(WEXITSTATUS(status) != 252, "uid %d reopened the read-only fd read-write", NOBODY);
        ck_assert_int_eq(WEXITSTATUS(status), EACCES);
        ops->destroy(&s);
}
END_TEST

START_TEST(test_rw_writes_seen_through_ro) {
        Segment s;
        uint8_t *rw_map;
        const uint8_t *ro_map;
        int ro;

        segment_create(&s, "shared", SEG_SIZE);
        ro = get_ro_fd(&s);
        ro_map = mmap(NULL, SEG_SIZE, PROT_READ, MAP_SHARED, ro, 0);
        ck_assert_ptr_ne(ro_map, MAP_FAILED);
        rw_map = mmap(NULL, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s.obj.fd, 0);
        ck_assert_ptr_ne(rw_map, MAP_FAILED);

        /* Fresh memory reads as zeros. */
        for (size_t i = 0; i < SEG_SIZE; i++)
                if (ro_map[i] != 0)
                        ck_abort_msg("byte %zu of a new segment is 0x%02x", i, ro_map[i]);

        /* Through write(2) on the rw fd ... */
        ck_assert_int_eq(pwrite(s.obj.fd, "hello", 5, 100), 5);
        ck_assert_mem_eq(ro_map + 100, "hello", 5);
        ck_assert_int_eq(pwrite(s.obj.fd, "Z", 1, SEG_SIZE - 1), 1);
        ck_assert_uint_eq(ro_map[SEG_SIZE - 1], 'Z');

        /* ... and through a writable shared mapping of it. */
        memcpy(rw_map + 5000, "mapped", 6);
        ck_assert_mem_eq(ro_map + 5000, "mapped", 6);
        rw_map[0] = 0xa5;
        ck_assert_uint_eq(ro_map[0], 0xa5);

        ck_assert_int_eq(munmap(rw_map, SEG_SIZE), 0);
        ck_assert_int_eq(munmap((void *)ro_map, SEG_SIZE), 0);
        ops->destroy(&s);
}
END_TEST

/* --------------------------------------------------------------- destroy -- */

START_TEST(test_destroy_closes_fds) {
        Segment s;
        int fd, ro;

        segment_create(&s, "destroy", SEG_SIZE);
        ro = get_ro_fd(&s);
        fd = s.obj.fd;
        ops->destroy(&s);
        ck_assert_int_eq(s.obj.fd, -1);
        ck_assert_int_eq(s.obj.ro_fd, -1);
        assert_closed(fd);
        assert_closed(ro);
        /* A second destroy is harmless, and a destroyed segment gives no fd. */
        ops->destroy(&s);
        ck_assert_int_eq(s.obj.fd, -1);
        ck_assert_int_eq(ops->get_fd(&s, false, &fd), -EBADF);
}
END_TEST

START_TEST(test_destroy_without_ro) {
        Segment s;
        int fd;

        segment_create(&s, "destroy-rw", SEG_SIZE);
        fd = s.obj.fd;
        ops->destroy(&s);
        ck_assert_int_eq(s.obj.fd, -1);
        ck_assert_int_eq(s.obj.ro_fd, -1);
        assert_closed(fd);
}
END_TEST

START_TEST(test_destroy_half_created) {
        Segment s;
        int canary;

        /* Nothing was created: destroy must not close any fd. */
        canary = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(canary, 0);
        segment_setup(&s, "half", SEG_SIZE);
        ops->destroy(&s);
        ck_assert_int_eq(s.obj.fd, -1);
        ck_assert_int_eq(s.obj.ro_fd, -1);
        ck_assert_int_ne(fcntl(canary, F_GETFD), -1);
        close(canary);
}
END_TEST

/* ----------------------------------------------------------------- table -- */

START_TEST(test_backend_table) {
        ck_assert_ptr_eq(backend_get(PROTO_BACKEND_MEMFD), &backend_memfd_ops);
        ck_assert_str_eq(backend_memfd_ops.name, "memfd");
        ck_assert_ptr_nonnull(backend_memfd_ops.create);
        ck_assert_ptr_nonnull(backend_memfd_ops.get_fd);
        ck_assert_ptr_nonnull(backend_memfd_ops.destroy);
        /* DEFAULT is resolved by the daemon, not by the table; reserved backends are not built. */
        ck_assert_ptr_null(backend_get(PROTO_BACKEND_DEFAULT));
        ck_assert_ptr_null(backend_get(PROTO_BACKEND_POSIX));
        ck_assert_ptr_null(backend_get(PROTO_BACKEND_SYSV));
        ck_assert_ptr_null(backend_get(PROTO_BACKEND_FILE));
        ck_assert_ptr_null(backend_get(_PROTO_BACKEND_MAX));
        ck_assert_ptr_null(backend_get(255));
}
END_TEST

START_TEST(test_backend_name) {
        ck_assert_str_eq(backend_name(PROTO_BACKEND_DEFAULT), "default");
        ck_assert_str_eq(backend_name(PROTO_BACKEND_MEMFD), "memfd");
        ck_assert_str_eq(backend_name(PROTO_BACKEND_POSIX), "posix");
        ck_assert_str_eq(backend_name(PROTO_BACKEND_SYSV), "sysv");
        ck_assert_str_eq(backend_name(PROTO_BACKEND_FILE), "file");
        ck_assert_str_eq(backend_name(_PROTO_BACKEND_MAX), "unknown");
        ck_assert_str_eq(backend_name(255), "unknown");
}
END_TEST

START_TEST(test_backend_from_string) {
        ck_assert_int_eq(backend_from_string("memfd"), PROTO_BACKEND_MEMFD);
        ck_assert_int_eq(backend_from_string("posix"), PROTO_BACKEND_POSIX);
        ck_assert_int_eq(backend_from_string("sysv"), PROTO_BACKEND_SYSV);
        ck_assert_int_eq(backend_from_string("file"), PROTO_BACKEND_FILE);
        ck_assert_int_eq(backend_from_string(""), -EINVAL);
        ck_assert_int_eq(backend_from_string("MEMFD"), -EINVAL);
        ck_assert_int_eq(backend_from_string("memfd "), -EINVAL);
        ck_assert_int_eq(backend_from_string("mem"), -EINVAL);
        ck_assert_int_eq(backend_from_string("unknown"), -EINVAL);
        /* Round trip for every backend with a parseable name. */
        for (int b = PROTO_BACKEND_MEMFD; b < _PROTO_BACKEND_MAX; b++)
                ck_assert_int_eq(backend_from_string(backend_name((uint8_t)b)), b);
}
END_TEST

static Suite *backend_memfd_suite(void) {
        Suite *s = suite_create("backend-memfd");
        TCase *tc;

        tc = tcase_create("create");
        tcase_add_test(tc, test_create_size_and_mode);
        tcase_add_test(tc, test_create_one_byte);
        tcase_add_test(tc, test_create_long_name);
        tcase_add_test(tc, test_create_too_large);
        suite_add_tcase(s, tc);

        tc = tcase_create("seals");
        tcase_add_test(tc, test_seals);
        tcase_add_test(tc, test_no_resize);
        tcase_add_test(tc, test_no_more_seals);
        suite_add_tcase(s, tc);

        tc = tcase_create("read-only");
        tcase_add_test(tc, test_get_fd);
        tcase_add_test(tc, test_get_fd_without_object);
        tcase_add_test(tc, test_ro_same_object);
        tcase_add_test(tc, test_ro_no_writable_mmap);
        tcase_add_test(tc, test_ro_no_mprotect_write);
        tcase_add_test(tc, test_ro_no_write);
        tcase_add_test(tc, test_ro_no_reopen_rw_as_other_user);
        tcase_add_test(tc, test_rw_writes_seen_through_ro);
        suite_add_tcase(s, tc);

        tc = tcase_create("destroy");
        tcase_add_test(tc, test_destroy_closes_fds);
        tcase_add_test(tc, test_destroy_without_ro);
        tcase_add_test(tc, test_destroy_half_created);
        suite_add_tcase(s, tc);

        tc = tcase_create("table");
        tcase_add_test(tc, test_backend_table);
        tcase_add_test(tc, test_backend_name);
        tcase_add_test(tc, test_backend_from_string);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(backend_memfd_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
