#pragma once

/*
 * Parsing and printing of byte sizes with binary suffixes (K, M, G, T).
 */

#include <stddef.h>
#include <stdint.h>

int size_parse(const char *s, uint64_t *ret);
const char *size_parse_error(const char *s, int r);
const char *size_format(char *buf, size_t len, uint64_t bytes);
