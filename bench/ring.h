#pragma once

/*
 * A single-producer single-consumer ring of fixed-size chunks in shared
 * memory, for the data-plane scenario. Each side spins briefly when the
 * ring is full (empty) and then sleeps on a futex in the shared mapping;
 * the other side wakes it only when it announced that it sleeps. A chunk
 * is either written and read in place (*_begin() gives the slot,
 * *_commit() hands it over) or copied in and out (ring_push/ring_pop).
 */

#include <stddef.h>
#include <stdint.h>

#define RING_HEADER_SIZE 4096

size_t ring_segment_size(uint64_t capacity);
void ring_init(void *mem, uint64_t capacity, uint64_t chunk);
void *ring_push_begin(void *mem);
void ring_push_commit(void *mem);
const void *ring_pop_begin(void *mem);
void ring_pop_commit(void *mem);
void ring_push(void *mem, const void *src);
void ring_pop(void *mem, void *dst);
