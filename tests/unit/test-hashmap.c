/*
 * Unit tests for util/hashmap: the intrusive chained table and the keyed
 * SipHash-2-4 behind hash_bytes()/hash_u64().
 */

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/macro.h"

typedef struct Item {
        HNode node;
        uint64_t key;
        bool linked;
} Item;

static const uint8_t key_a[16] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                   0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
static const uint8_t key_b[16] = { 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
                                   0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f };

/* The item with @key among the nodes of hash @hash, or NULL. */
static Item *lookup(const HMap *m, uint64_t hash, uint64_t key) {
        for (HNode *n = hmap_first(m, hash); n; n = hmap_next(n)) {
                Item *it = container_of(n, Item, node);

                if (n->hash != hash)
                        ck_abort_msg("chain of hash %llx yields a node of hash %llx", (unsigned long long)hash,
                                     (unsigned long long)n->hash);
                if (it->key == key)
                        return it;
        }
        return NULL;
}

/* Number of nodes hmap_first()/hmap_next() yield for @hash. */
static size_t count_chain(const HMap *m, uint64_t hash) {
        size_t n = 0;

        for (HNode *h = hmap_first(m, hash); h; h = hmap_next(h))
                n++;
        return n;
}

static uint64_t item_hash(uint64_t key) {
        return hash_u64(key);
}

/* ---------------------------------------------------------------- hashing -- */

START_TEST(test_hash_reference_vectors) {
        uint8_t msg[64];

        /* Published SipHash-2-4 test vectors: key 00..0f, message 00..(len-1). */
        for (size_t i = 0; i < sizeof(msg); i++)
                msg[i] = (uint8_t)i;
        hash_init_key(key_a);
        ck_assert_uint_eq(hash_bytes(msg, 0), UINT64_C(0x726fdb47dd0e0e31));
        ck_assert_uint_eq(hash_bytes(msg, 8), UINT64_C(0x93f5f5799a932462));
        ck_assert_uint_eq(hash_bytes(msg, 15), UINT64_C(0xa129ca6149be45e5));
        ck_assert_uint_eq(hash_bytes(msg, 63), UINT64_C(0x958a324ceb064572));
}
END_TEST

START_TEST(test_hash_deterministic) {
        static const char data[] = "segment-name.with_various-chars";
        uint64_t h1, h2, h3, hb;

        hash_init_key(key_a);
        h1 = hash_bytes(data, strlen(data));
        h2 = hash_bytes(data, strlen(data));
        ck_assert_uint_eq(h1, h2);

        /* A different key gives a different hash of the same bytes. */
        hash_init_key(key_b);
        hb = hash_bytes(data, strlen(data));
        ck_assert_uint_ne(h1, hb);

        /* Setting the first key again reproduces the first hash. */
        hash_init_key(key_a);
        h3 = hash_bytes(data, strlen(data));
        ck_assert_uint_eq(h1, h3);
}
END_TEST

START_TEST(test_hash_different_inputs) {
        uint64_t v = 12345;

        hash_init_key(key_a);
        ck_assert_uint_ne(hash_bytes("a", 1), hash_bytes("b", 1));
        ck_assert_uint_ne(hash_bytes("ab", 2), hash_bytes("ba", 2));
        /* The length is part of the hash: a prefix differs, as do trailing NULs. */
        ck_assert_uint_ne(hash_bytes("abc", 2), hash_bytes("abc", 3));
        ck_assert_uint_ne(hash_bytes("a\0", 1), hash_bytes("a\0", 2));
        ck_assert_uint_ne(hash_bytes("", 0), hash_bytes("\0", 1));
        ck_assert_uint_ne(hash_u64(1), hash_u64(2));
        ck_assert_uint_ne(hash_u64(0), hash_u64(UINT64_C(1) << 63));
        /* hash_u64() is hash_bytes() of the integer's bytes. */
        ck_assert_uint_eq(hash_u64(v), hash_bytes(&v, sizeof(v)));
}
END_TEST

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

START_TEST(test_hash_spread) {
        enum { N = 65536 };
        uint64_t *h = calloc(N, sizeof(*h));
        size_t dups = 0;

        ck_assert_ptr_nonnull(h);
        hash_init_key(key_a);
        for (uint64_t i = 0; i < N; i++)
                h[i] = hash_u64(i);
        /* No two of many sequential keys collide in 64 bits. */
        qsort(h, N, sizeof(*h), cmp_u64);
        for (size_t i = 1; i < N; i++)
                if (h[i] == h[i - 1])
                        dups++;
        ck_assert_uint_eq(dups, 0);
        free(h);
}
END_TEST

/* ------------------------------------------------------------------ table -- */

START_TEST(test_empty) {
        HMap m = HMAP_NULL;

        ck_assert_uint_eq(hmap_size(&m), 0);
        ck_assert_ptr_null(hmap_first(&m, 0));
        ck_assert_ptr_null(hmap_first(&m, 42));
        hmap_deinit(&m);
        ck_assert_ptr_null(m.buckets);
        ck_assert_uint_eq(m.n_buckets, 0);
}
END_TEST

START_TEST(test_insert_lookup_remove_many) {
        enum { N = 20000 };
        HMap m = HMAP_NULL;
        Item *items = calloc(N, sizeof(*items));

        ck_assert_ptr_nonnull(items);
        hash_init_key(key_a);
        for (size_t i = 0; i < N; i++) {
                items[i].key = i * 7919 + 3;
                ck_assert_int_eq(hmap_insert(&m, &items[i].node, item_hash(items[i].key)), 0);
                items[i].linked = true;
        }
        ck_assert_uint_eq(hmap_size(&m), N);

        for (size_t i = 0; i < N; i++)
                ck_assert_ptr_eq(lookup(&m, item_hash(items[i].key), items[i].key), &items[i]);
        /* Keys that were never inserted are not found. */
        for (uint64_t k = 0; k < 1000; k++)
                if (k % 7919 != 3)
                        ck_assert_ptr_null(lookup(&m, item_hash(k * 7919 + 1), k * 7919 + 1));

        /* Remove every odd item. */
        for (size_t i = 1; i < N; i += 2) {
                hmap_remove(&m, &items[i].node);
                items[i].linked = false;
        }
        ck_assert_uint_eq(hmap_size(&m), N / 2);
        for (size_t i = 0; i < N; i++) {
                Item *it = lookup(&m, item_hash(items[i].key), items[i].key);

                if (items[i].linked)
                        ck_assert_ptr_eq(it, &items[i]);
                else
                        ck_assert_ptr_null(it);
        }

        /* Re-insert a removed one; remove everything. */
        ck_assert_int_eq(hmap_insert(&m, &items[1].node, item_hash(items[1].key)), 0);
        items[1].linked = true;
        ck_assert_ptr_eq(lookup(&m, item_hash(items[1].key), items[1].key), &items[1]);
        for (size_t i = 0; i < N; i++)
                if (items[i].linked)
                        hmap_remove(&m, &items[i].node);
        ck_assert_uint_eq(hmap_size(&m), 0);
        for (size_t i = 0; i < N; i += 97)
                ck_assert_ptr_null(lookup(&m, item_hash(items[i].key), items[i].key));

        hmap_deinit(&m);
        free(items);
}
END_TEST

START_TEST(test_same_hash_twice) {
        HMap m = HMAP_NULL;
        Item a = { .key = 1 }, b = { .key = 2 }, c = { .key = 3 };
        const uint64_t h = UINT64_C(0x123456789abcdef0);

        ck_assert_int_eq(hmap_insert(&m, &a.node, h), 0);
        ck_assert_int_eq(hmap_insert(&m, &b.node, h), 0);
        ck_assert_uint_eq(hmap_size(&m), 2);
        ck_assert_uint_eq(count_chain(&m, h), 2);
        ck_assert_ptr_eq(lookup(&m, h, 1), &a);
        ck_assert_ptr_eq(lookup(&m, h, 2), &b);
        ck_assert_ptr_null(lookup(&m, h, 3));
        /* Another hash in the same table sees neither. */
        ck_assert_uint_eq(count_chain(&m, h + 1), 0);

        /* Duplicates are the caller's business: the same key twice is stored twice. */
        c.key = 1;
        ck_assert_int_eq(hmap_insert(&m, &c.node, h), 0);
        ck_assert_uint_eq(count_chain(&m, h), 3);

        hmap_remove(&m, &a.node);
        ck_assert_uint_eq(count_chain(&m, h), 2);
        ck_assert_ptr_eq(lookup(&m, h, 1), &c);
        ck_assert_ptr_eq(lookup(&m, h, 2), &b);
        hmap_remove(&m, &c.node);
        ck_assert_ptr_null(lookup(&m, h, 1));
        ck_assert_ptr_eq(lookup(&m, h, 2), &b);
        hmap_remove(&m, &b.node);
        ck_assert_uint_eq(count_chain(&m, h), 0);
        ck_assert_uint_eq(hmap_size(&m), 0);
        hmap_deinit(&m);
}
END_TEST

START_TEST(test_growth) {
        enum { N = 1000 };
        HMap m = HMAP_NULL;
        Item *items = calloc(N, sizeof(*items));
        size_t prev_buckets = 0;
        unsigned grew = 0;

        ck_assert_ptr_nonnull(items);
        hash_init_key(key_a);
        for (size_t i = 0; i < N; i++) {
                items[i].key = i;
                ck_assert_int_eq(hmap_insert(&m, &items[i].node, item_hash(i)), 0);
                /* Load factor at most 1, and a power of two so masking works. */
                ck_assert_uint_ge(m.n_buckets, hmap_size(&m));
                ck_assert_uint_eq(m.n_buckets & (m.n_buckets - 1), 0);
                if (m.n_buckets != prev_buckets) {
                        ck_assert_uint_gt(m.n_buckets, prev_buckets);
                        grew++;
                        prev_buckets = m.n_buckets;
                        /* Everything inserted so far survives the rehash. */
                        for (size_t j = 0; j <= i; j++)
                                ck_assert_ptr_eq(lookup(&m, item_hash(j), j), &items[j]);
                }
        }
        ck_assert_uint_ge(grew, 5);
        ck_assert_uint_ge(m.n_buckets, N);
        hmap_deinit(&m);
        free(items);
}
END_TEST

START_TEST(test_remove_in_chain) {
        enum { N = 6 };
        HMap m = HMAP_NULL;
        Item items[N];
        size_t order[N] = { 2, 0, 5, 3, 1, 4 }; /* middle, tail, head, ... */

        /*
         * Distinct hashes that share their low 16 bits land in one bucket
         * of any table up to 64Ki buckets: one chain of N nodes.
         */
        memset(items, 0, sizeof(items));
        for (size_t i = 0; i < N; i++) {
                items[i].key = i;
                ck_assert_int_eq(hmap_insert(&m, &items[i].node, ((uint64_t)(i + 1) << 32) | 0x5a5a), 0);
                items[i].linked = true;
        }
        ck_assert_uint_lt(m.n_buckets, 1u << 16);
        for (size_t k = 0; k < N; k++) {
                size_t victim = order[k];

                hmap_remove(&m, &items[victim].node);
                items[victim].linked = false;
                ck_assert_uint_eq(hmap_size(&m), N - k - 1);
                for (size_t i = 0; i < N; i++) {
                        uint64_t h = ((uint64_t)(i + 1) << 32) | 0x5a5a;

                        ck_assert_uint_eq(count_chain(&m, h), items[i].linked ? 1 : 0);
                        if (items[i].linked)
                                ck_assert_ptr_eq(lookup(&m, h, i), &items[i]);
                }
        }
        hmap_deinit(&m);
}
END_TEST

START_TEST(test_remove_not_linked) {
        HMap m = HMAP_NULL;
        Item a = { .key = 1 }, b = { .key = 2 };

        ck_assert_int_eq(hmap_insert(&m, &a.node, 7), 0);
        /* Removing a node that is not in the map leaves the map alone. */
        b.node.hash = 7;
        hmap_remove(&m, &b.node);
        ck_assert_uint_eq(hmap_size(&m), 1);
        ck_assert_ptr_eq(lookup(&m, 7, 1), &a);
        /* Removing twice counts once. */
        hmap_remove(&m, &a.node);
        hmap_remove(&m, &a.node);
        ck_assert_uint_eq(hmap_size(&m), 0);
        ck_assert_ptr_null(hmap_first(&m, 7));
        hmap_deinit(&m);
}
END_TEST

static Suite *hashmap_suite(void) {
        Suite *s = suite_create("hashmap");
        TCase *tc;

        tc = tcase_create("hash");
        tcase_add_test(tc, test_hash_reference_vectors);
        tcase_add_test(tc, test_hash_deterministic);
        tcase_add_test(tc, test_hash_different_inputs);
        tcase_add_test(tc, test_hash_spread);
        suite_add_tcase(s, tc);

        tc = tcase_create("insert-lookup-remove");
        tcase_add_test(tc, test_empty);
        tcase_add_test(tc, test_insert_lookup_remove_many);
        tcase_add_test(tc, test_remove_not_linked);
        suite_add_tcase(s, tc);

        tc = tcase_create("collisions");
        tcase_add_test(tc, test_same_hash_twice);
        tcase_add_test(tc, test_remove_in_chain);
        suite_add_tcase(s, tc);

        tc = tcase_create("growth");
        tcase_add_test(tc, test_growth);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(hashmap_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
