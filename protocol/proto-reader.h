#pragma once

/*
 * A bounds-checked little-endian cursor over a received datagram. Any read
 * past the end yields zeroes and sets short_read, so a decoder can read a
 * whole layout and check once.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct ProtoReader {
        const uint8_t *p;
        size_t len;
        size_t off;
        bool short_read;
} ProtoReader;

static inline void preader_init(ProtoReader *r, const void *buf, size_t len, size_t off) {
        *r = (ProtoReader){ .p = buf, .len = len, .off = off, .short_read = off > len };
}

static inline bool preader_take(ProtoReader *r, size_t n, const uint8_t **ret) {
        if (r->short_read || r->len - r->off < n) {
                r->short_read = true;
                return false;
        }
        *ret = r->p + r->off;
        r->off += n;
        return true;
}

static inline uint8_t preader_u8(ProtoReader *r) {
        const uint8_t *p;

        return preader_take(r, 1, &p) ? p[0] : 0;
}

static inline uint16_t preader_u16(ProtoReader *r) {
        const uint8_t *p;

        return preader_take(r, 2, &p) ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

static inline uint32_t preader_u32(ProtoReader *r) {
        const uint8_t *p;

        if (!preader_take(r, 4, &p))
                return 0;
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t preader_u64(ProtoReader *r) {
        uint64_t lo = preader_u32(r);

        return lo | (uint64_t)preader_u32(r) << 32;
}

/* A u16-length string into @out (NUL-terminated); false if short or >= @out_size bytes. */
static inline bool preader_str(ProtoReader *r, char *out, size_t out_size, size_t *ret_len) {
        uint16_t n = preader_u16(r);
        const uint8_t *p;

        if (r->short_read || n >= out_size || !preader_take(r, n, &p))
                return false;
        memcpy(out, p, n);
        out[n] = 0;
        if (ret_len)
                *ret_len = n;
        return true;
}

static inline bool preader_done(const ProtoReader *r) {
        return !r->short_read && r->off == r->len;
}
