/*
 * shmbrokerctl output: times, users, safe text for terminals, and the JSON
 * objects shared by several commands. The JSON layouts are documented in
 * shmbrokerctl(1) and kept stable: fields are only ever added.
 */

#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/ctl.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

/**
 * ctl_time() - "YYYY-MM-DD HH:MM:SS" in UTC, "-" for 0
 * @usec:       CLOCK_REALTIME microseconds
 * @buf:        output
 * @len:        its size
 *
 * Return: @buf.
 */
const char *ctl_time(uint64_t usec, char *buf, size_t len) {
        time_t t = (time_t)(usec / 1000000);
        struct tm tm;

        if (usec == 0)
                snprintf(buf, len, "-");
        else if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, len, "%llu", (unsigned long long)usec);
        return buf;
}

/**
 * ctl_time_iso() - RFC 3339 UTC with microseconds ("2026-01-02T03:04:05.000006Z")
 * @usec:       CLOCK_REALTIME microseconds
 * @buf:        output
 * @len:        its size
 *
 * Return: @buf.
 */
const char *ctl_time_iso(uint64_t usec, char *buf, size_t len) {
        time_t t = (time_t)(usec / 1000000);
        char date[32];
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                snprintf(date, sizeof(date), "1970-01-01T00:00:00");
        snprintf(buf, len, "%s.%06lluZ", date, (unsigned long long)(usec % 1000000));
        return buf;
}

/**
 * ctl_duration() - "3d 4h 5m 6s"
 * @usec:       microseconds
 * @buf:        output
 * @len:        its size
 *
 * Return: @buf.
 */
const char *ctl_duration(uint64_t usec, char *buf, size_t len) {
        uint64_t s = usec / 1000000;

        if (s >= 86400)
                snprintf(buf, len, "%llud %lluh %llum %llus", (unsigned long long)(s / 86400),
                         (unsigned long long)(s % 86400 / 3600), (unsigned long long)(s % 3600 / 60),
                         (unsigned long long)(s % 60));
        else if (s >= 3600)
                snprintf(buf, len, "%lluh %llum %llus", (unsigned long long)(s / 3600),
                         (unsigned long long)(s % 3600 / 60), (unsigned long long)(s % 60));
        else if (s >= 60)
                snprintf(buf, len, "%llum %llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
        else
                snprintf(buf, len, "%.3fs", (double)usec / 1e6);
        return buf;
}

/**
 * ctl_user() - "UID (name)"
 * @uid:        user id
 * @buf:        output
 * @len:        its size
 *
 * Return: @buf.
 */
const char *ctl_user(uid_t uid, char *buf, size_t len) {
        struct passwd *pw = getpwuid(uid);

        snprintf(buf, len, "%u (%s)", (unsigned)uid, pw ? pw->pw_name : "?");
        return buf;
}

/**
 * ctl_group() - "GID (name)"
 * @gid:        group id
 * @buf:        output
 * @len:        its size
 *
 * Return: @buf.
 */
const char *ctl_group(gid_t gid, char *buf, size_t len) {
        struct group *gr = getgrgid(gid);

        snprintf(buf, len, "%u (%s)", (unsigned)gid, gr ? gr->gr_name : "?");
        return buf;
}

/**
 * ctl_printable() - a copy safe to print on a terminal: control bytes become '?'
 * @s:          text chosen by someone else (a process's command name)
 * @buf:        output
 * @len:        its size
 *
 * Return: @buf.
 */
const char *ctl_printable(const char *s, char *buf, size_t len) {
        size_t i;

        for (i = 0; s[i] && i + 1 < len; i++)
                buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
        buf[i] = 0;
        return buf;
}

static const struct {
        uint32_t flag;
        const char *name;
} seg_flag_names[] = {
        { SHMB_SEG_UNLINKED, "unlinked" },
        { SHMB_SEG_HUGE, "huge" },
        { SHMB_SEG_RESERVED, "reserved" },
        { SHMB_SEG_PUBLISHED, "published" },
        { SHMB_SEG_FROZEN, "frozen" },
};

/**
 * ctl_seg_flags() - "unlinked,huge" (or "-")
 * @flags:      SHMB_SEG_* (READONLY and CREATED are ignored)
 * @buf:        output
 * @len:        its size
 *
 * Return: @buf.
 */
const char *ctl_seg_flags(uint32_t flags, char *buf, size_t len) {
        size_t n = 0;

        buf[0] = 0;
        for (size_t i = 0; i < sizeof(seg_flag_names) / sizeof(seg_flag_names[0]); i++)
                if (flags & seg_flag_names[i].flag)
                        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "",
                                              seg_flag_names[i].name);
        if (!buf[0])
                snprintf(buf, len, "-");
        return buf;
}

/**
 * ctl_verbose() - with --verbose, a line on standard output saying what was done
 * @fmt:        the line, without its newline
 *
 * Commands that change something print nothing on success unless asked.
 */
void ctl_verbose(const char *fmt, ...) {
        va_list ap;

        if (!arg_verbose)
                return;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
}

/**
 * ctl_usage_error() - print a usage error
 * @fmt:        message
 *
 * Return: EXIT_USAGE.
 */
int ctl_usage_error(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "shmbrokerctl: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'shmbrokerctl --help'.\n");
        return EXIT_USAGE;
}

/**
 * ctl_json_print() - print a JSON value (pretty, one trailing newline) and free it
 * @o:          value, owned; NULL means json-c ran out of memory
 *
 * Return: EXIT_OK, or EXIT_FAIL if it could not be built or written.
 */
int ctl_json_print(struct json_object *o) {
        const char *s;
        int r = EXIT_OK;

        if (!o) {
                fprintf(stderr, "shmbrokerctl: out of memory building JSON\n");
                return EXIT_FAIL;
        }
        s = json_object_to_json_string_ext(o, JSON_FLAGS);
        if (!s || printf("%s\n", s) < 0 || fflush(stdout) != 0) {
                fprintf(stderr, "shmbrokerctl: cannot write JSON output\n");
                r = EXIT_FAIL;
        }
        json_object_put(o);
        return r;
}

/**
 * ctl_json_array_begin() - start printing a JSON array
 * @a:          state
 */
void ctl_json_array_begin(CtlJsonArray *a) {
        *a = (CtlJsonArray){};
        if (fputs("[", stdout) < 0)
                a->failed = true;
}

/**
 * ctl_json_array_add() - print one element (indented as json-c would) and free it
 * @a:          state
 * @o:          element, owned; NULL means json-c ran out of memory
 */
void ctl_json_array_add(CtlJsonArray *a, struct json_object *o) {
        const char *s = o ? json_object_to_json_string_ext(o, JSON_FLAGS) : NULL;

        if (!s) {
                a->failed = true;
                json_object_put(o);
                return;
        }
        if (fputs(a->n++ ? ",\n  " : "\n  ", stdout) < 0)
                a->failed = true;
        for (; *s; s++)
                if (putchar(*s) < 0 || (*s == '\n' && fputs("  ", stdout) < 0))
                        a->failed = true;
        json_object_put(o);
}

/**
 * ctl_json_array_end() - finish the array
 * @a:          state
 *
 * Return: EXIT_OK, or EXIT_FAIL if anything could not be built or written.
 */
int ctl_json_array_end(CtlJsonArray *a) {
        if (fputs("\n]\n", stdout) < 0 || fflush(stdout) != 0)
                a->failed = true;
        if (a->failed)
                fprintf(stderr, "shmbrokerctl: cannot build or write JSON output\n");
        return a->failed ? EXIT_FAIL : EXIT_OK;
}

/**
 * ctl_json_add_u64() - add an unsigned integer member
 * @o:          object
 * @key:        member name
 * @v:          value
 */
void ctl_json_add_u64(struct json_object *o, const char *key, uint64_t v) {
        json_object_object_add(o, key, json_object_new_uint64(v));
}

/**
 * ctl_json_add_str() - add a string member (NULL adds null)
 * @o:          object
 * @key:        member name
 * @s:          value or NULL
 */
void ctl_json_add_str(struct json_object *o, const char *key, const char *s) {
        json_object_object_add(o, key, s ? json_object_new_string(s) : NULL);
}

/**
 * ctl_json_add_time() - add "<key>_usec" (integer) and "<key>_at" (RFC 3339, or null for 0)
 * @o:          object
 * @key:        member name stem ("created")
 * @usec:       CLOCK_REALTIME microseconds, 0 for none
 */
void ctl_json_add_time(struct json_object *o, const char *key, uint64_t usec) {
        char k[64], t[64];

        snprintf(k, sizeof(k), "%s_usec", key);
        ctl_json_add_u64(o, k, usec);
        snprintf(k, sizeof(k), "%s_at", key);
        ctl_json_add_str(o, k, usec ? ctl_time_iso(usec, t, sizeof(t)) : NULL);
}

/**
 * ctl_json_seg_flags() - segment flags as an array of names
 * @flags:      SHMB_SEG_*
 *
 * Return: a new JSON array (["unlinked", "huge", "reserved"], in that order, as set).
 */
struct json_object *ctl_json_seg_flags(uint32_t flags) {
        struct json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < sizeof(seg_flag_names) / sizeof(seg_flag_names[0]); i++)
                if (flags & seg_flag_names[i].flag)
                        json_object_array_add(a, json_object_new_string(seg_flag_names[i].name));
        return a;
}

static struct json_object *json_segment_common(const char *name, uint64_t id, uint64_t size,
                                               enum shmb_backend backend, uid_t uid, gid_t gid, uint32_t mode,
                                               enum shmb_lifetime lifetime, uint32_t holders, uint32_t flags,
                                               int32_t shmid, uint64_t created_usec) {
        struct json_object *o = json_object_new_object();
        char m[8];

        if (!o)
                return NULL;
        snprintf(m, sizeof(m), "%04o", mode);
        ctl_json_add_str(o, "name", name);
        ctl_json_add_u64(o, "id", id);
        ctl_json_add_u64(o, "size", size);
        ctl_json_add_str(o, "backend", shmb_backend_to_string(backend));
        ctl_json_add_u64(o, "uid", uid);
        ctl_json_add_u64(o, "gid", gid);
        ctl_json_add_str(o, "mode", m);
        ctl_json_add_str(o, "lifetime", shmb_lifetime_to_string(lifetime));
        ctl_json_add_u64(o, "holders", holders);
        json_object_object_add(o, "flags", ctl_json_seg_flags(flags));
        json_object_object_add(o, "shmid", shmid >= 0 ? json_object_new_int(shmid) : NULL);
        ctl_json_add_time(o, "created", created_usec);
        return o;
}

/* Attributes only the client socket reports (resize limit and TTL). */
static void json_add_life(struct json_object *o, const struct shmb_stat *st) {
        ctl_json_add_u64(o, "max_size", st->max_size);
        json_object_object_add(o, "ttl_sec", st->lifetime == SHMB_LIFETIME_TTL ? json_object_new_int64(st->ttl_sec) : NULL);
}

/**
 * ctl_json_stat() - a segment as the client socket describes it
 * @st:         attributes
 *
 * Return: a new JSON object.
 */
struct json_object *ctl_json_stat(const struct shmb_stat *st) {
        struct json_object *o = json_segment_common(st->name, st->id, st->size, st->backend, st->uid, st->gid,
                                                    st->mode, st->lifetime, st->holders, st->flags, st->shmid,
                                                    st->created_usec);

        if (o)
                json_add_life(o, st);
        return o;
}

/**
 * ctl_json_admin_segment() - a segment as the admin socket describes it
 * @s:          attributes
 *
 * The client-view members plus "last_opened_usec" and "last_opened_at".
 *
 * Return: a new JSON object.
 */
struct json_object *ctl_json_admin_segment(const struct shmb_admin_segment *s) {
        struct json_object *o = json_segment_common(s->name, s->id, s->size, s->backend, s->uid, s->gid, s->mode,
                                                    s->lifetime, s->holders, s->flags, s->shmid, s->created_usec);

        if (o)
                ctl_json_add_time(o, "last_opened", s->last_opened_usec);
        return o;
}
