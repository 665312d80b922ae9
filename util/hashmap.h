#pragma once

/*
 * Intrusive chained hash table. Callers embed an HNode, compute the hash
 * (hash_bytes()/hash_u64(), keyed per process so clients cannot choose
 * colliding keys), and compare keys themselves while walking a chain.
 */

#include <stddef.h>
#include <stdint.h>

typedef struct HNode {
        struct HNode *next;
        uint64_t hash;
} HNode;

typedef struct HMap {
        HNode **buckets;
        size_t n_buckets;
        size_t n_items;
} HMap;

#define HMAP_NULL { NULL, 0, 0 }

void hash_init_key(const uint8_t key[16]);
uint64_t hash_bytes(const void *data, size_t len);
uint64_t hash_u64(uint64_t v);

int hmap_insert(HMap *m, HNode *n, uint64_t hash);
void hmap_remove(HMap *m, HNode *n);
HNode *hmap_first(const HMap *m, uint64_t hash);
HNode *hmap_next(const HNode *n);
void hmap_deinit(HMap *m);

static inline size_t hmap_size(const HMap *m) {
        return m->n_items;
}
