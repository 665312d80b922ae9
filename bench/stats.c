/*
 * Latency samples and percentiles.
 *
 * Percentiles interpolate linearly between the two nearest ranks of the
 * sorted samples (p in [0, 1]); with 100 samples p99 lies between the two
 * largest. A run's figure is one percentile of its samples; a reported
 * figure is the median of the per-run figures, with their min and max as
 * the spread, so one noisy run moves the spread and not the value.
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/stats.h"

/**
 * samples_reserve() - make room for @n more samples without reallocating
 * @s:          samples
 * @n:          how many will be added
 *
 * Reserving before a timed loop keeps realloc() out of the measurements.
 *
 * Return: 0 or -ENOMEM.
 */
int samples_reserve(Samples *s, size_t n) {
        uint64_t *v;

        if (s->n + n <= s->cap)
                return 0;
        v = realloc(s->v, (s->n + n) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        s->v = v;
        s->cap = s->n + n;
        return 0;
}

/**
 * samples_add() - record one latency
 * @s:          samples
 * @ns:         nanoseconds
 *
 * Samples beyond the reserved room are dropped if memory runs out; the
 * percentiles then describe the ones kept.
 */
void samples_add(Samples *s, uint64_t ns) {
        if (s->n == s->cap && samples_reserve(s, s->cap ? s->cap : 1024) < 0)
                return;
        s->v[s->n++] = ns;
        s->sorted = false;
}

/**
 * samples_clear() - forget the samples, keep the memory
 * @s:          samples
 */
void samples_clear(Samples *s) {
        s->n = 0;
        s->sorted = false;
}

/**
 * samples_deinit() - free the samples
 * @s:          samples
 */
void samples_deinit(Samples *s) {
        free(s->v);
        *s = (Samples)SAMPLES_NULL;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

/**
 * samples_percentile() - a percentile of the samples
 * @s:          samples (sorted in place on first use)
 * @p:          0.5 for the median, 0.99 for p99
 *
 * Return: nanoseconds, or NAN without samples.
 */
double samples_percentile(Samples *s, double p) {
        double pos, frac;
        size_t i;

        if (s->n == 0)
                return NAN;
        if (!s->sorted) {
                qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
                s->sorted = true;
        }
        if (p <= 0)
                return (double)s->v[0];
        if (p >= 1)
                return (double)s->v[s->n - 1];
        pos = p * (double)(s->n - 1);
        i = (size_t)pos;
        frac = pos - (double)i;
        if (i + 1 >= s->n)
                return (double)s->v[s->n - 1];
        return (double)s->v[i] + frac * ((double)s->v[i + 1] - (double)s->v[i]);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/**
 * spread_of() - median, min and max of per-run values
 * @v:          values (NANs are ignored)
 * @n:          number of values
 * @ret:        the spread; ret->n is 0 if no value was a number (or memory ran out)
 */
void spread_of(const double *v, size_t n, Spread *ret) {
        double *sorted = malloc((n ? n : 1) * sizeof(double));
        size_t k = 0;

        for (size_t i = 0; sorted && i < n; i++)
                if (!isnan(v[i]))
                        sorted[k++] = v[i];
        if (k == 0) {
                free(sorted);
                *ret = (Spread){ NAN, NAN, NAN, 0 };
                return;
        }
        qsort(sorted, k, sizeof(double), cmp_double);
        *ret = (Spread){
                .median = (k & 1) ? sorted[k / 2] : (sorted[k / 2 - 1] + sorted[k / 2]) / 2,
                .min = sorted[0],
                .max = sorted[k - 1],
                .n = k,
        };
        free(sorted);
}

/**
 * spread_scaled() - the same spread in another unit
 * @s:          spread
 * @factor:     multiplier (e.g. 1e-3 for ns to µs)
 *
 * Return: the scaled spread.
 */
Spread spread_scaled(const Spread *s, double factor) {
        return (Spread){ s->median * factor, s->min * factor, s->max * factor, s->n };
}
