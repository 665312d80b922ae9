#pragma once

/*
 * Daemon logging. When stderr is connected to the journal ($JOURNAL_STREAM
 * names it), messages go to the journal with sd_journal_send(), with
 * PRIORITY=, CODE_FILE=, CODE_LINE=, ERRNO= and, for the structured variant,
 * SHMB_SEGMENT=, SHMB_CLIENT_PID=, SHMB_CLIENT_UID=, SHMB_OPERATION= and
 * SHMB_STATUS=; otherwise to stderr as "shmbrokerd: level: text".
 * Only daemon/ logs.
 */

#include <errno.h>
#include <stdbool.h>
#include <sys/types.h>
#include <syslog.h>

#include "util/macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);
void log_open(void);
int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) _printf_(5, 6);
bool log_to_journal(void);

/* Fields of a structured message; NULL strings and a zero pid are left out. */
typedef struct LogFields {
        const char *segment;
        pid_t client_pid;
        uid_t client_uid;
        const char *operation;
        const char *status;
} LogFields;

int log_internal_fields(int level, int error, const char *file, int line, const LogFields *f, const char *fmt, ...)
        _printf_(6, 7);

#define log_full_errno(level, error, ...)                                                    \
        ({                                                                                   \
                int _l_ = (level), _e_ = (error);                                            \
                (_l_ <= log_get_max_level()) ? log_internal(_l_, _e_, __FILE__, __LINE__, __VA_ARGS__) \
                                             : -((_e_) < 0 ? -(_e_) : (_e_));                \
        })

/* Like log_full_errno() with journal fields; the text should still say everything. */
#define log_struct_errno(level, error, fields, ...)                                          \
        ({                                                                                   \
                int _l_ = (level), _e_ = (error);                                            \
                (_l_ <= log_get_max_level())                                                 \
                        ? log_internal_fields(_l_, _e_, __FILE__, __LINE__, (fields), __VA_ARGS__) \
                        : -((_e_) < 0 ? -(_e_) : (_e_));                                     \
        })

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)

/* Log with errno set to @e for %m; evaluate to -|e|. */
#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)
