#pragma once

/*
 * Running the real shmbrokerctl ($SHMBROKERCTL) from tests: its arguments,
 * standard input, output, error and exit status. Failures abort the test.
 */

#include <stddef.h>
#include <sys/types.h>

/* Bytes of standard output of the last run_ctl() (it may hold NUL bytes). */
extern size_t ctl_out_len;

/*
 * Run shmbrokerctl with the NULL-terminated arguments after @err, feeding
 * @stdin_data (NULL: empty) and capturing its output into malloc'd,
 * NUL-terminated *@out and *@err (either may be NULL to discard). Returns the
 * exit status; a death by signal fails the test.
 */
int run_ctl(const char *stdin_data, char **out, char **err, ...) __attribute__((sentinel));

/* Start shmbrokerctl with @argv (argv[0] included) on the given standard fds; returns its pid. */
pid_t ctl_spawn(const char *const *argv, int in_fd, int out_fd, int err_fd);

/* Fail the test unless @needle is in @haystack. */
void assert_contains(const char *haystack, const char *needle);
