#pragma once

/*
 * A small streaming JSON writer: objects, arrays, strings, numbers (NAN
 * becomes null), booleans. Commas and indentation are handled here; the
 * caller keeps the nesting balanced.
 */

#include <stdbool.h>
#include <stdio.h>

#define JSON_DEPTH_MAX 16

typedef struct JsonWriter {
        FILE *f;
        unsigned depth;
        bool need_comma[JSON_DEPTH_MAX];
        bool after_key;
} JsonWriter;

void json_init(JsonWriter *w, FILE *f);
void json_begin_object(JsonWriter *w);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w);
void json_end_array(JsonWriter *w);
void json_key(JsonWriter *w, const char *key);
void json_string(JsonWriter *w, const char *s);
void json_number(JsonWriter *w, double v);
void json_uint(JsonWriter *w, unsigned long long v);
void json_bool(JsonWriter *w, bool v);
void json_null(JsonWriter *w);
