#pragma once

/*
 * Latency samples, percentiles, and the spread of a figure over repeated
 * runs (median, min, max).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Samples {
        uint64_t *v;                    /* nanoseconds */
        size_t n;
        size_t cap;
        bool sorted;
} Samples;

#define SAMPLES_NULL { NULL, 0, 0, false }

/* One figure over runs: the median of the per-run values, and their range. */
typedef struct Spread {
        double median;
        double min;
        double max;
        size_t n;                       /* runs it is made of; 0: no value */
} Spread;

int samples_reserve(Samples *s, size_t n);
void samples_add(Samples *s, uint64_t ns);
void samples_clear(Samples *s);
void samples_deinit(Samples *s);
double samples_percentile(Samples *s, double p);

void spread_of(const double *v, size_t n, Spread *ret);
Spread spread_scaled(const Spread *s, double factor);
