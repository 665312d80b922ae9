/*
 * Byte sizes: "4096", "64K", "1M", "2G", "1T" (powers of 1024; a trailing
 * "B" or "iB" is accepted: "1MiB").
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/size.h"

/**
 * size_parse() - parse a size with an optional binary suffix
 * @s:          text
 * @ret:        bytes
 *
 * Return: 0, -EINVAL for bad syntax, -ERANGE on overflow.
 */
int size_parse(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                unsigned shift;
        } table[] = {
                { "", 0 },    { "B", 0 },    { "K", 10 },   { "KB", 10 },  { "KiB", 10 },
                { "M", 20 },  { "MB", 20 },  { "MiB", 20 }, { "G", 30 },   { "GB", 30 },
                { "GiB", 30 }, { "T", 40 },  { "TB", 40 },  { "TiB", 40 },
        };
        unsigned long long v;
        char *end;

        if (!s || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
                if (strcasecmp(end, table[i].suffix) != 0)
                        continue;
                if (table[i].shift && v > (UINT64_MAX >> table[i].shift))
                        return -ERANGE;
                *ret = (uint64_t)v << table[i].shift;
                return 0;
        }
        return -EINVAL;
}

/**
 * size_parse_error() - why size_parse() refused a text, in words for a message
 * @s:          the text
 * @r:          what size_parse() returned
 *
 * Return: a static string such as "too large (...)", to follow "invalid size '...': ".
 */
const char *size_parse_error(const char *s, int r) {
        if (r == -ERANGE)
                return "too large (the largest size is 18446744073709551615 bytes, 16 EiB - 1)";
        if (s && s[0] == '-')
                return "a size cannot be negative";
        if (!s || !s[0])
                return "empty: a size is a number of bytes, e.g. 4096, 64K, 1M, 2G";
        return "not a size: a number of bytes with an optional K, M, G or T (powers of 1024; "
               "also k, KB, KiB), e.g. 4096, 64K, 1M, 2G";
}

/**
 * size_format() - human form: exact bytes below 1 KiB, else one decimal ("1.5M")
 * @buf:        output
 * @len:        its size
 * @bytes:      value
 *
 * Return: @buf.
 */
const char *size_format(char *buf, size_t len, uint64_t bytes) {
        static const char units[] = "KMGTPE";
        double v = (double)bytes;
        int u = -1;

        if (bytes < 1024) {
                snprintf(buf, len, "%llu", (unsigned long long)bytes);
                return buf;
        }
        while (v >= 1024 && u < 5) {
                v /= 1024;
                u++;
        }
        if (v == (double)(uint64_t)v)
                snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u]);
        else
                snprintf(buf, len, "%.1f%c", v, units[u]);
        return buf;
}
