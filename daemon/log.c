/*
 * Logging for shmbrokerd: the journal's native protocol when stderr is the
 * journal, plain stderr otherwise.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "daemon/log.h"

static int max_level = LOG_INFO;
static bool to_journal;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/**
 * log_set_max_level() - messages above @level are dropped
 * @level:      LOG_ERR .. LOG_DEBUG
 */
void log_set_max_level(int level) {
        max_level = level;
}

/**
 * log_get_max_level() - the current maximum level
 *
 * Return: the level.
 */
int log_get_max_level(void) {
        return max_level;
}

/**
 * log_level_from_string() - parse "debug", "info", ... or a number 0-7
 * @s:          the text
 *
 * Return: the level, or -EINVAL.
 */
int log_level_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return (int)i;
        if (strcasecmp(s, "error") == 0)
                return LOG_ERR;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
                return s[0] - '0';
        return -EINVAL;
}

/**
 * log_level_to_string() - name of a level
 * @level:      0-7
 *
 * Return: a static string.
 */
const char *log_level_to_string(int level) {
        if (level < 0 || level >= (int)ELEMENTSOF(level_names))
                return "unknown";
        return level_names[level];
}

/* $JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected; it must still be our stderr. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/**
 * log_open() - decide the output: the journal when stderr is the journal stream, else stderr
 */
void log_open(void) {
        to_journal = stderr_is_journal();
}

/**
 * log_to_journal() - whether messages go to the journal
 *
 * Return: true under systemd with stderr connected to the journal.
 */
bool log_to_journal(void) {
        return to_journal;
}

#define FIELDS_MAX 12
#define SHMB_LOG_SEGMENT_MAX (13 + 255 + 1)

static int add_field(struct iovec *iov, size_t *n, char *buf, size_t size, const char *fmt, ...) _printf_(5, 6);
static int add_field(struct iovec *iov, size_t *n, char *buf, size_t size, const char *fmt, ...) {
        va_list ap;
        int len;

        va_start(ap, fmt);
        len = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        if (len < 0)
                return -EINVAL;
        iov[*n] = (struct iovec){ .iov_base = buf, .iov_len = MIN((size_t)len, size - 1) };
        (*n)++;
        return 0;
}

/* Send one entry to the journal; false if that failed (the caller falls back to stderr). */
static bool journal_send(int level, int error, const char *file, int line, const LogFields *f, const char *msg) {
        char prio[16], code_file[256], code_line[32], err[32], seg[SHMB_LOG_SEGMENT_MAX], pid[32], uid[32],
                op[64], status[64], *message = NULL;
        struct iovec iov[FIELDS_MAX];
        size_t n = 0;
        int r;

        if (asprintf(&message, "MESSAGE=%s", msg) < 0)
                return false;
        iov[n++] = (struct iovec){ .iov_base = message, .iov_len = strlen(message) };
        add_field(iov, &n, prio, sizeof(prio), "PRIORITY=%d", level);
        add_field(iov, &n, code_file, sizeof(code_file), "CODE_FILE=%s", file);
        add_field(iov, &n, code_line, sizeof(code_line), "CODE_LINE=%d", line);
        iov[n++] = (struct iovec){ .iov_base = (char *)"SYSLOG_IDENTIFIER=shmbrokerd", .iov_len = 28 };
        if (error > 0)
                add_field(iov, &n, err, sizeof(err), "ERRNO=%d", error);
        if (f && f->segment)
                add_field(iov, &n, seg, sizeof(seg), "SHMB_SEGMENT=%s", f->segment);
        if (f && f->client_pid > 0) {
                add_field(iov, &n, pid, sizeof(pid), "SHMB_CLIENT_PID=%d", (int)f->client_pid);
                add_field(iov, &n, uid, sizeof(uid), "SHMB_CLIENT_UID=%u", (unsigned)f->client_uid);
        }
        if (f && f->operation)
                add_field(iov, &n, op, sizeof(op), "SHMB_OPERATION=%s", f->operation);
        if (f && f->status)
                add_field(iov, &n, status, sizeof(status), "SHMB_STATUS=%s", f->status);
        r = sd_journal_sendv(iov, (int)n);
        free(message);
        return r >= 0;
}

static int log_dispatch(int level, int error, const char *file, int line, const LogFields *f, const char *fmt,
                        va_list ap) {
        char buf[2048];
        int saved = errno;

        if (error < 0)
                error = -error;
        errno = error;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        if (!to_journal || !journal_send(level, error, file, line, f, buf)) {
                if (to_journal)
                        fprintf(stderr, "<%d>%s\n", level, buf);
                else
                        fprintf(stderr, "shmbrokerd: %s: %s\n", log_level_to_string(level), buf);
        }
        errno = saved;
        return -error;
}

/**
 * log_internal() - write one message; use the log_*() macros instead
 * @level:      priority
 * @error:      errno for %m (sign ignored), or 0
 * @file:       source file
 * @line:       source line
 * @fmt:        format
 *
 * Return: -|error|, so that "return log_error_errno(r, ...)" propagates.
 */
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_dispatch(level, error, file, line, NULL, fmt, ap);
        va_end(ap);
        return r;
}

/**
 * log_internal_fields() - write one message with journal fields; use log_struct_errno()
 * @level:      priority
 * @error:      errno for %m (sign ignored), or 0
 * @file:       source file
 * @line:       source line
 * @f:          fields (NULL: none)
 * @fmt:        format
 *
 * Return: -|error|.
 */
int log_internal_fields(int level, int error, const char *file, int line, const LogFields *f, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_dispatch(level, error, file, line, f, fmt, ap);
        va_end(ap);
        return r;
}
