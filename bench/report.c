/*
 * Results: rows, verdicts, the table, the JSON file and the chart data.
 */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/json.h"
#include "bench/report.h"

static const char *const scenario_titles[] = {
        [1] = "create+map+touch+unmap+release vs in-process",
        [2] = "open+map+unmap+release vs one fd-passing round trip",
        [3] = "throughput: open+release per second",
        [4] = "scale: latency and memory with many segments / idle connections",
        [5] = "cleanup of System V segments",
        [6] = "data plane: 1 GiB producer -> consumer",
        [7] = "what users pick instead (Python standard library)",
};

/**
 * verdict_name() - word for a verdict in the table and the JSON
 * @v:          verdict
 *
 * Return: a static string ("" for VERDICT_NONE).
 */
const char *verdict_name(Verdict v) {
        static const char *const names[_VERDICT_MAX] = {
                [VERDICT_NONE] = "", [VERDICT_MET] = "met", [VERDICT_MISSED] = "MISSED",
                [VERDICT_SKIPPED] = "skipped", [VERDICT_FAILED] = "FAILED",
        };

        return (unsigned)v < _VERDICT_MAX ? names[v] : "?";
}

/**
 * report_add() - add a figure
 * @r:          report
 * @scenario:   BENCH_S_*
 * @what:       the case
 * @metric:     what was measured
 * @unit:       unit of @v
 * @v:          the figure (NULL: no value)
 *
 * Return: the row, valid until the next report_add(); NULL if out of memory.
 */
Row *report_add(Report *r, int scenario, const char *what, const char *metric, const char *unit,
                const Spread *v) {
        Row *row;

        if (r->n_rows == r->cap_rows) {
                size_t cap = r->cap_rows ? r->cap_rows * 2 : 64;
                Row *n = realloc(r->rows, cap * sizeof(*n));

                if (!n)
                        return NULL;
                r->rows = n;
                r->cap_rows = cap;
        }
        row = &r->rows[r->n_rows++];
        *row = (Row){ .scenario = scenario, .x = NAN, .target = NAN };
        snprintf(row->what, sizeof(row->what), "%s", what);
        snprintf(row->metric, sizeof(row->metric), "%s", metric);
        snprintf(row->unit, sizeof(row->unit), "%s", unit);
        row->v = v ? *v : (Spread){ NAN, NAN, NAN, 0 };
        return row;
}

/**
 * report_runs() - add a figure from its value in each run
 * @r:          report
 * @scenario:   BENCH_S_*
 * @what:       the case
 * @metric:     what was measured
 * @unit:       unit of the values
 * @per_run:    one value per run (NAN: that run has none)
 * @n_runs:     number of runs
 *
 * Return: the row (median over runs, with min and max), or NULL.
 */
Row *report_runs(Report *r, int scenario, const char *what, const char *metric, const char *unit,
                 const double *per_run, size_t n_runs) {
        Spread s;

        spread_of(per_run, n_runs, &s);
        return report_add(r, scenario, what, metric, unit, &s);
}

/**
 * report_set_target() - compare a row's median against a target
 * @row:        row (may be NULL)
 * @op:         "<=", "<" or ">="
 * @target:     the limit
 */
void report_set_target(Row *row, const char *op, double target) {
        bool ok;

        if (!row)
                return;
        snprintf(row->op, sizeof(row->op), "%s", op);
        row->target = target;
        if (row->v.n == 0) {
                if (row->verdict == VERDICT_NONE)
                        row->verdict = VERDICT_FAILED;
                return;
        }
        if (strcmp(op, "<=") == 0)
                ok = row->v.median <= target;
        else if (strcmp(op, "<") == 0)
                ok = row->v.median < target;
        else
                ok = row->v.median >= target;
        row->verdict = ok ? VERDICT_MET : VERDICT_MISSED;
}

/**
 * report_set_x() - put a row on a chart
 * @row:        row (may be NULL)
 * @series:     the series ("segments create p99")
 * @x:          level on its axis (segments, connections, clients)
 */
void report_set_x(Row *row, const char *series, double x) {
        if (!row)
                return;
        snprintf(row->series, sizeof(row->series), "%s", series);
        row->x = x;
}

static void vnote(Row *row, const char *fmt, va_list ap) {
        size_t len = strlen(row->note);

        if (len > 0 && len + 2 < sizeof(row->note)) {
                memcpy(row->note + len, "; ", 3);
                len += 2;
        }
        if (len < sizeof(row->note))
                vsnprintf(row->note + len, sizeof(row->note) - len, fmt, ap);
}

/**
 * report_note() - append an explanation to a row
 * @row:        row (may be NULL)
 * @fmt:        text
 */
void report_note(Row *row, const char *fmt, ...) {
        va_list ap;

        if (!row)
                return;
        va_start(ap, fmt);
        vnote(row, fmt, ap);
        va_end(ap);
}

static Row *add_status(Report *r, int scenario, const char *what, Verdict v, const char *fmt, va_list ap) {
        Row *row = report_add(r, scenario, what, "-", "", NULL);

        if (!row)
                return NULL;
        row->verdict = v;
        vnote(row, fmt, ap);
        return row;
}

/**
 * report_skip() - record that a case was not measured, and why
 * @r:          report
 * @scenario:   BENCH_S_*
 * @what:       the case
 * @fmt:        the reason ("skipped: ..." is printed before it)
 *
 * Return: the row, or NULL.
 */
Row *report_skip(Report *r, int scenario, const char *what, const char *fmt, ...) {
        va_list ap;
        Row *row;

        va_start(ap, fmt);
        row = add_status(r, scenario, what, VERDICT_SKIPPED, fmt, ap);
        va_end(ap);
        return row;
}

/**
 * report_fail() - record that a measurement broke, and how
 * @r:          report
 * @scenario:   BENCH_S_*
 * @what:       the case
 * @fmt:        what went wrong
 *
 * Return: the row, or NULL.
 */
Row *report_fail(Report *r, int scenario, const char *what, const char *fmt, ...) {
        va_list ap;
        Row *row;

        va_start(ap, fmt);
        row = add_status(r, scenario, what, VERDICT_FAILED, fmt, ap);
        va_end(ap);
        return row;
}

/**
 * report_info() - a fact about the machine or the settings
 * @r:          report
 * @key:        name
 * @fmt:        value
 */
void report_info(Report *r, const char *key, const char *fmt, ...) {
        va_list ap;

        if (r->n_info == r->cap_info) {
                size_t cap = r->cap_info ? r->cap_info * 2 : 16;
                char(*n)[2][160] = realloc(r->info, cap * sizeof(*n));

                if (!n)
                        return;
                r->info = n;
                r->cap_info = cap;
        }
        snprintf(r->info[r->n_info][0], sizeof(r->info[0][0]), "%s", key);
        va_start(ap, fmt);
        vsnprintf(r->info[r->n_info][1], sizeof(r->info[0][1]), fmt, ap);
        va_end(ap);
        r->n_info++;
}

/* "12.3", "1.23e+06" style with enough digits for the unit. */
static void fmt_value(char *buf, size_t size, double v) {
        double a = fabs(v);

        if (isnan(v))
                snprintf(buf, size, "-");
        else if (a >= 100000)
                snprintf(buf, size, "%.0f", v);
        else if (a >= 100)
                snprintf(buf, size, "%.1f", v);
        else if (a >= 1)
                snprintf(buf, size, "%.2f", v);
        else
                snprintf(buf, size, "%.3f", v);
}

/**
 * report_print() - the results as a table, scenario by scenario
 * @r:          report
 * @f:          output
 */
void report_print(const Report *r, FILE *f) {
        int last = -1;

        for (size_t i = 0; i < r->n_info; i++)
                fprintf(f, "%-20s %s\n", r->info[i][0], r->info[i][1]);
        for (size_t i = 0; i < r->n_rows; i++) {
                const Row *row = &r->rows[i];
                char med[32], lo[32], hi[32], spread[72] = "", target[40] = "";

                if (row->scenario != last) {
                        last = row->scenario;
                        fprintf(f, "\n[%d] %s\n", row->scenario,
                                row->scenario > 0 && row->scenario <= 7 ? scenario_titles[row->scenario] : "");
                        fprintf(f, "    %-26s %-28s %12s %-7s %-24s %-12s %s\n", "case", "metric", "median", "unit",
                                "spread [min..max]", "target", "verdict");
                }
                if (row->verdict == VERDICT_SKIPPED || (row->verdict == VERDICT_FAILED && row->v.n == 0)) {
                        fprintf(f, "    %-26s %s: %s\n", row->what, row->verdict == VERDICT_SKIPPED ? "skipped" : "FAILED",
                                row->note);
                        continue;
                }
                fmt_value(med, sizeof(med), row->v.median);
                if (row->v.n > 1) {
                        fmt_value(lo, sizeof(lo), row->v.min);
                        fmt_value(hi, sizeof(hi), row->v.max);
                        snprintf(spread, sizeof(spread), "[%s..%s] n=%zu", lo, hi, row->v.n);
                }
                if (row->op[0]) {
                        fmt_value(lo, sizeof(lo), row->target);
                        snprintf(target, sizeof(target), "%s %s", row->op, lo);
                }
                fprintf(f, "    %-26s %-28s %12s %-7s %-24s %-12s %s\n", row->what, row->metric, med, row->unit, spread,
                        target, verdict_name(row->verdict));
                if (row->note[0])
                        fprintf(f, "    %-26s   note: %s\n", "", row->note);
        }
        fputc('\n', f);
}

static void json_spread(JsonWriter *w, const char *key, const Spread *s) {
        json_key(w, key);
        json_begin_object(w);
        json_key(w, "median");
        json_number(w, s->median);
        json_key(w, "min");
        json_number(w, s->min);
        json_key(w, "max");
        json_number(w, s->max);
        json_key(w, "runs");
        json_uint(w, s->n);
        json_end_object(w);
}

/**
 * report_write_json() - write the whole report as JSON
 * @r:          report
 * @path:       file to (over)write
 *
 * Return: 0 or negative errno.
 */
int report_write_json(const Report *r, const char *path) {
        JsonWriter w;
        FILE *f;

        f = fopen(path, "we");
        if (!f)
                return -errno;
        json_init(&w, f);
        json_begin_object(&w);
        json_key(&w, "info");
        json_begin_object(&w);
        for (size_t i = 0; i < r->n_info; i++) {
                json_key(&w, r->info[i][0]);
                json_string(&w, r->info[i][1]);
        }
        json_end_object(&w);
        json_key(&w, "results");
        json_begin_array(&w);
        for (size_t i = 0; i < r->n_rows; i++) {
                const Row *row = &r->rows[i];

                json_begin_object(&w);
                json_key(&w, "scenario");
                json_uint(&w, (unsigned)row->scenario);
                json_key(&w, "case");
                json_string(&w, row->what);
                json_key(&w, "metric");
                json_string(&w, row->metric);
                json_key(&w, "unit");
                json_string(&w, row->unit);
                json_spread(&w, "value", &row->v);
                json_key(&w, "series");
                json_string(&w, row->series[0] ? row->series : NULL);
                json_key(&w, "x");
                json_number(&w, row->x);
                json_key(&w, "target");
                if (row->op[0]) {
                        json_begin_object(&w);
                        json_key(&w, "op");
                        json_string(&w, row->op);
                        json_key(&w, "limit");
                        json_number(&w, row->target);
                        json_end_object(&w);
                } else {
                        json_null(&w);
                }
                json_key(&w, "verdict");
                json_string(&w, row->verdict == VERDICT_NONE ? NULL : verdict_name(row->verdict));
                json_key(&w, "note");
                json_string(&w, row->note[0] ? row->note : NULL);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_end_object(&w);
        if (fclose(f) != 0)
                return -errno;
        return 0;
}

/**
 * report_write_chart_data() - the rows that lie on an axis, as gnuplot blocks
 * @r:          report
 * @path:       file to (over)write
 *
 * One block per series, headed "# s<N> <series>" and separated by two
 * blank lines, with columns x, median, min, max; the chart script selects
 * blocks by that heading (gnuplot "index 'name'").
 *
 * Return: 0 or negative errno.
 */
int report_write_chart_data(const Report *r, const char *path) {
        bool *done = calloc(r->n_rows ? r->n_rows : 1, sizeof(bool));
        FILE *f;

        if (!done)
                return -ENOMEM;
        f = fopen(path, "we");
        if (!f) {
                free(done);
                return -errno;
        }
        for (size_t i = 0; i < r->n_rows; i++) {
                const Row *a = &r->rows[i];

                if (done[i] || isnan(a->x))
                        continue;
                fprintf(f, "# s%d %s\n# x median min max (%s)\n", a->scenario, a->series, a->unit);
                for (size_t j = i; j < r->n_rows; j++) {
                        const Row *b = &r->rows[j];

                        if (done[j] || isnan(b->x) || b->scenario != a->scenario || strcmp(b->series, a->series) != 0)
                                continue;
                        done[j] = true;
                        if (b->v.n == 0)
                                fprintf(f, "%g NaN NaN NaN\n", b->x);
                        else
                                fprintf(f, "%g %g %g %g\n", b->x, b->v.median, b->v.min, b->v.max);
                }
                fputs("\n\n", f);
        }
        free(done);
        if (fclose(f) != 0)
                return -errno;
        return 0;
}

/**
 * report_free() - free the rows and facts
 * @r:          report
 */
void report_free(Report *r) {
        free(r->rows);
        free(r->info);
        *r = (Report)REPORT_NULL;
}
