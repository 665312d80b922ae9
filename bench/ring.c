/*
 * SPSC chunk ring with futex wake-ups.
 *
 * head counts bytes produced, tail bytes consumed; both only grow. A side
 * that must wait spins for a while, then announces itself (cons_waiting or
 * prod_waiting), re-checks, and sleeps on the other side's sequence word;
 * the other side bumps that word after every move and calls FUTEX_WAKE only
 * when someone announced a sleep. All accesses to the words involved in the
 * handshake are sequentially consistent, so a wake-up cannot be lost: either
 * the sleeper sees the new position when it re-checks, or the mover sees
 * the announcement.
 */

#include <linux/futex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench/ring.h"

#define SPIN_MAX 200             /* a few microseconds: long enough across CPUs, short on one */

typedef struct RingHdr {
        _Alignas(64) _Atomic uint64_t head;
        _Atomic uint32_t head_seq;      /* the consumer sleeps on this */
        _Atomic uint32_t cons_waiting;
        _Alignas(64) _Atomic uint64_t tail;
        _Atomic uint32_t tail_seq;      /* the producer sleeps on this */
        _Atomic uint32_t prod_waiting;
        _Alignas(64) uint64_t capacity;
        uint64_t chunk;
} RingHdr;

_Static_assert(sizeof(RingHdr) <= RING_HEADER_SIZE, "ring header too large");

static void futex_wait(_Atomic uint32_t *addr, uint32_t val) {
        /* Not FUTEX_PRIVATE_FLAG: the word is shared between processes. */
        (void)syscall(SYS_futex, addr, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr) {
        (void)syscall(SYS_futex, addr, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
}

/**
 * ring_segment_size() - bytes a segment needs for a ring
 * @capacity:   data bytes
 *
 * Return: header plus data.
 */
size_t ring_segment_size(uint64_t capacity) {
        return RING_HEADER_SIZE + (size_t)capacity;
}

/**
 * ring_init() - set up an empty ring (by the producer, before the consumer starts)
 * @mem:        the mapped segment
 * @capacity:   data bytes, a multiple of @chunk
 * @chunk:      bytes moved per push and pop
 */
void ring_init(void *mem, uint64_t capacity, uint64_t chunk) {
        RingHdr *h = mem;

        memset(h, 0, sizeof(*h));
        h->capacity = capacity;
        h->chunk = chunk;
        atomic_thread_fence(memory_order_seq_cst);
}

/* Wait until @ready(h) holds; sleep on @seq after announcing in @waiting. */
static void wait_for(RingHdr *h, bool (*ready)(RingHdr *h), _Atomic uint32_t *seq, _Atomic uint32_t *waiting) {
        for (int i = 0; i < SPIN_MAX; i++) {
                if (ready(h))
                        return;
                cpu_relax();
        }
        for (;;) {
                uint32_t s = atomic_load(seq);

                atomic_store(waiting, 1);
                if (ready(h)) {
                        atomic_store(waiting, 0);
                        return;
                }
                futex_wait(seq, s);
                atomic_store(waiting, 0);
                if (ready(h))
                        return;
        }
}

static bool has_room(RingHdr *h) {
        return atomic_load(&h->head) - atomic_load(&h->tail) + h->chunk <= h->capacity;
}

static bool has_data(RingHdr *h) {
        return atomic_load(&h->head) - atomic_load(&h->tail) >= h->chunk;
}

/**
 * ring_push_begin() - the next free slot, waiting for room
 * @mem:        the mapped segment
 *
 * Return: h->chunk writable bytes; ring_push_commit() hands them over.
 */
void *ring_push_begin(void *mem) {
        RingHdr *h = mem;
        uint64_t pos;

        wait_for(h, has_room, &h->tail_seq, &h->prod_waiting);
        pos = atomic_load_explicit(&h->head, memory_order_relaxed);
        return (uint8_t *)mem + RING_HEADER_SIZE + pos % h->capacity;
}

/**
 * ring_push_commit() - publish the slot from ring_push_begin()
 * @mem:        the mapped segment
 */
void ring_push_commit(void *mem) {
        RingHdr *h = mem;

        atomic_store(&h->head, atomic_load_explicit(&h->head, memory_order_relaxed) + h->chunk);
        atomic_fetch_add(&h->head_seq, 1);
        if (atomic_load(&h->cons_waiting))
                futex_wake(&h->head_seq);
}

/**
 * ring_pop_begin() - the oldest full slot, waiting for data
 * @mem:        the mapped segment
 *
 * Return: h->chunk readable bytes; ring_pop_commit() frees them.
 */
const void *ring_pop_begin(void *mem) {
        RingHdr *h = mem;
        uint64_t pos;

        wait_for(h, has_data, &h->head_seq, &h->cons_waiting);
        pos = atomic_load_explicit(&h->tail, memory_order_relaxed);
        return (const uint8_t *)mem + RING_HEADER_SIZE + pos % h->capacity;
}

/**
 * ring_pop_commit() - give the slot from ring_pop_begin() back to the producer
 * @mem:        the mapped segment
 */
void ring_pop_commit(void *mem) {
        RingHdr *h = mem;

        atomic_store(&h->tail, atomic_load_explicit(&h->tail, memory_order_relaxed) + h->chunk);
        atomic_fetch_add(&h->tail_seq, 1);
        if (atomic_load(&h->prod_waiting))
                futex_wake(&h->tail_seq);
}

/**
 * ring_push() - copy one chunk in, waiting for room
 * @mem:        the mapped segment
 * @src:        h->chunk bytes
 */
void ring_push(void *mem, const void *src) {
        RingHdr *h = mem;

        memcpy(ring_push_begin(mem), src, h->chunk);
        ring_push_commit(mem);
}

/**
 * ring_pop() - copy one chunk out, waiting for data
 * @mem:        the mapped segment
 * @dst:        room for h->chunk bytes
 */
void ring_pop(void *mem, void *dst) {
        RingHdr *h = mem;

        memcpy(dst, ring_pop_begin(mem), h->chunk);
        ring_pop_commit(mem);
}
