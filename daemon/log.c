/*
 * Logging for shmbrokerd.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/**
 * log_open() - decide the output format (journal stream or plain stderr)
 */
void log_open(void) {
        to_journal = getenv("JOURNAL_STREAM") != NULL;
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
        char buf[2048];
        va_list ap;
        int saved = errno;

        if (error < 0)
                error = -error;
        errno = error;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (to_journal)
                fprintf(stderr, "<%d>%s\n", level, buf);
        else
                fprintf(stderr, "shmbrokerd: %s: %s\n", log_level_to_string(level), buf);
        errno = saved;
        return -error;
}
