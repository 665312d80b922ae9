/*
 * Chained hash table with SipHash-2-4 keyed from getrandom(), so that names
 * chosen by clients cannot be aimed at one bucket.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/hashmap.h"

static uint64_t sip_k0, sip_k1;
static bool sip_keyed;

/**
 * hash_init_key() - set the hash key explicitly (tests; otherwise random)
 * @key:        16 bytes of key material
 */
void hash_init_key(const uint8_t key[16]) {
        memcpy(&sip_k0, key, 8);
        memcpy(&sip_k1, key + 8, 8);
        sip_keyed = true;
}

static void hash_ensure_key(void) {
        uint8_t key[16] = {};

        if (sip_keyed)
                return;
        /* A short read or failure leaves a fixed key: still correct, merely predictable. */
        (void)getrandom(key, sizeof(key), GRND_NONBLOCK);
        hash_init_key(key);
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND()                                                             \
        do {                                                                   \
                v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);      \
                v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                         \
                v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                         \
                v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);      \
        } while (0)

/**
 * hash_bytes() - keyed SipHash-2-4 of a byte string
 * @data:       bytes
 * @len:        number of bytes
 *
 * Return: the 64-bit hash.
 */
uint64_t hash_bytes(const void *data, size_t len) {
        const uint8_t *p = data;
        uint64_t v0, v1, v2, v3, m, b = (uint64_t)len << 56;
        size_t i, tail = len & 7;

        hash_ensure_key();
        v0 = sip_k0 ^ 0x736f6d6570736575ULL;
        v1 = sip_k1 ^ 0x646f72616e646f6dULL;
        v2 = sip_k0 ^ 0x6c7967656e657261ULL;
        v3 = sip_k1 ^ 0x7465646279746573ULL;

        for (i = 0; i + 8 <= len; i += 8) {
                memcpy(&m, p + i, 8);
                v3 ^= m;
                SIPROUND();
                SIPROUND();
                v0 ^= m;
        }
        for (size_t j = 0; j < tail; j++)
                b |= (uint64_t)p[i + j] << (8 * j);
        v3 ^= b;
        SIPROUND();
        SIPROUND();
        v0 ^= b;
        v2 ^= 0xff;
        SIPROUND();
        SIPROUND();
        SIPROUND();
        SIPROUND();
        return v0 ^ v1 ^ v2 ^ v3;
}

/**
 * hash_u64() - hash of an integer key (ids, uids)
 * @v:          the key
 *
 * Return: the 64-bit hash.
 */
uint64_t hash_u64(uint64_t v) {
        return hash_bytes(&v, sizeof(v));
}

static int hmap_grow(HMap *m) {
        size_t n = m->n_buckets ? m->n_buckets * 2 : 16;
        HNode **b;

        b = calloc(n, sizeof(*b));
        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_buckets; i++) {
                HNode *node = m->buckets[i];

                while (node) {
                        HNode *next = node->next;
                        size_t idx = node->hash & (n - 1);

                        node->next = b[idx];
                        b[idx] = node;
                        node = next;
                }
        }
        free(m->buckets);
        m->buckets = b;
        m->n_buckets = n;
        return 0;
}

/**
 * hmap_insert() - link a node (duplicates are the caller's business)
 * @m:          map
 * @n:          node, not linked in any map
 * @hash:       its hash
 *
 * Return: 0, or -ENOMEM if the table had to grow and could not.
 */
int hmap_insert(HMap *m, HNode *n, uint64_t hash) {
        size_t idx;

        if (m->n_items >= m->n_buckets) {
                int r = hmap_grow(m);

                /* An over-full table still works; fail only if it has no buckets. */
                if (r < 0 && m->n_buckets == 0)
                        return r;
        }
        n->hash = hash;
        idx = hash & (m->n_buckets - 1);
        n->next = m->buckets[idx];
        m->buckets[idx] = n;
        m->n_items++;
        return 0;
}

/**
 * hmap_remove() - unlink a node that is in @m
 * @m:          map
 * @n:          node
 */
void hmap_remove(HMap *m, HNode *n) {
        HNode **p = &m->buckets[n->hash & (m->n_buckets - 1)];

        while (*p && *p != n)
                p = &(*p)->next;
        if (*p) {
                *p = n->next;
                n->next = NULL;
                m->n_items--;
        }
}

/**
 * hmap_first() - first node whose hash equals @hash
 * @m:          map
 * @hash:       hash to look for
 *
 * Return: the node, or NULL. Continue with hmap_next().
 */
HNode *hmap_first(const HMap *m, uint64_t hash) {
        HNode *n;

        if (m->n_buckets == 0)
                return NULL;
        for (n = m->buckets[hash & (m->n_buckets - 1)]; n; n = n->next)
                if (n->hash == hash)
                        return n;
        return NULL;
}

/**
 * hmap_next() - next node after @n with the same hash
 * @n:          node returned by hmap_first() or hmap_next()
 *
 * Return: the node, or NULL.
 */
HNode *hmap_next(const HNode *n) {
        uint64_t hash = n->hash;

        for (n = n->next; n; n = n->next)
                if (n->hash == hash)
                        return (HNode *)n;
        return NULL;
}

/**
 * hmap_deinit() - free the bucket array; nodes are the caller's
 * @m:          map
 */
void hmap_deinit(HMap *m) {
        free(m->buckets);
        *m = (HMap)HMAP_NULL;
}
