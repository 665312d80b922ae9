/*
 * Streaming JSON writer for the results file.
 */

#include <math.h>
#include <stdio.h>

#include "bench/json.h"

/**
 * json_init() - start writing JSON to @f
 * @w:          writer
 * @f:          output stream
 */
void json_init(JsonWriter *w, FILE *f) {
        *w = (JsonWriter){ .f = f };
}

static void indent(JsonWriter *w) {
        fputc('\n', w->f);
        for (unsigned i = 0; i < w->depth; i++)
                fputs("  ", w->f);
}

/* Separator and indentation before a value (or a key). */
static void before_value(JsonWriter *w) {
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->depth == 0)
                return;
        if (w->need_comma[w->depth])
                fputc(',', w->f);
        w->need_comma[w->depth] = true;
        indent(w);
}

static void open_nested(JsonWriter *w, char c) {
        before_value(w);
        fputc(c, w->f);
        if (w->depth + 1 < JSON_DEPTH_MAX)
                w->depth++;
        w->need_comma[w->depth] = false;
}

static void close_nested(JsonWriter *w, char c) {
        bool had_items = w->need_comma[w->depth];

        if (w->depth > 0)
                w->depth--;
        if (had_items)
                indent(w);
        fputc(c, w->f);
        if (w->depth == 0)
                fputc('\n', w->f);
}

/**
 * json_begin_object() - open "{"
 * @w:          writer
 */
void json_begin_object(JsonWriter *w) {
        open_nested(w, '{');
}

/**
 * json_end_object() - close "}"
 * @w:          writer
 */
void json_end_object(JsonWriter *w) {
        close_nested(w, '}');
}

/**
 * json_begin_array() - open "["
 * @w:          writer
 */
void json_begin_array(JsonWriter *w) {
        open_nested(w, '[');
}

/**
 * json_end_array() - close "]"
 * @w:          writer
 */
void json_end_array(JsonWriter *w) {
        close_nested(w, ']');
}

static void put_escaped(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p < 0x20)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

/**
 * json_key() - the key of the next member of an object
 * @w:          writer
 * @key:        member name
 */
void json_key(JsonWriter *w, const char *key) {
        before_value(w);
        put_escaped(w->f, key);
        fputs(": ", w->f);
        w->after_key = true;
}

/**
 * json_string() - a string value (NULL writes null)
 * @w:          writer
 * @s:          UTF-8 text
 */
void json_string(JsonWriter *w, const char *s) {
        if (!s) {
                json_null(w);
                return;
        }
        before_value(w);
        put_escaped(w->f, s);
}

/**
 * json_number() - a number; NAN and infinities become null
 * @w:          writer
 * @v:          value
 */
void json_number(JsonWriter *w, double v) {
        if (isnan(v) || isinf(v)) {
                json_null(w);
                return;
        }
        before_value(w);
        fprintf(w->f, "%.6g", v);
}

/**
 * json_uint() - an unsigned integer
 * @w:          writer
 * @v:          value
 */
void json_uint(JsonWriter *w, unsigned long long v) {
        before_value(w);
        fprintf(w->f, "%llu", v);
}

/**
 * json_bool() - true or false
 * @w:          writer
 * @v:          value
 */
void json_bool(JsonWriter *w, bool v) {
        before_value(w);
        fputs(v ? "true" : "false", w->f);
}

/**
 * json_null() - null
 * @w:          writer
 */
void json_null(JsonWriter *w) {
        before_value(w);
        fputs("null", w->f);
}
