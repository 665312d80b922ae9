#pragma once

/*
 * The results of one benchmark run: rows of figures (a median over runs
 * with its spread), each optionally compared against a target, plus facts
 * about the machine. Printed as a table, written as JSON, and projected
 * into a data file for the chart.
 */

#include <stdbool.h>
#include <stddef.h>

#include "bench/stats.h"

typedef enum Verdict {
        VERDICT_NONE,                   /* a figure without a target */
        VERDICT_MET,
        VERDICT_MISSED,
        VERDICT_SKIPPED,                /* not measured: the note says why */
        VERDICT_FAILED,                 /* the measurement broke: the note says how */
        _VERDICT_MAX,
} Verdict;

typedef struct Row {
        int scenario;
        char what[48];                  /* the case: "create 4 KiB", "live segments" */
        char metric[48];                /* "broker p50", "broker/memfd p50", "create p99" */
        char unit[12];                  /* "us", "x", "ops/s", "B", "ms", "GiB/s" */
        Spread v;
        char series[48];                /* chart series the row belongs to, or "" */
        double x;                       /* its level on the chart's axis, or NAN */
        char op[3];                     /* "<=" or ">=" with @target, or "" */
        double target;
        Verdict verdict;
        char note[320];
} Row;

typedef struct Report {
        Row *rows;
        size_t n_rows;
        size_t cap_rows;
        char (*info)[2][160];           /* machine and settings: key, value */
        size_t n_info;
        size_t cap_info;
} Report;

#define REPORT_NULL { NULL, 0, 0, NULL, 0, 0 }

Row *report_add(Report *r, int scenario, const char *what, const char *metric, const char *unit,
                const Spread *v);
Row *report_runs(Report *r, int scenario, const char *what, const char *metric, const char *unit,
                 const double *per_run, size_t n_runs);
void report_set_target(Row *row, const char *op, double target);
void report_set_x(Row *row, const char *series, double x);
void report_note(Row *row, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
Row *report_skip(Report *r, int scenario, const char *what, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
Row *report_fail(Report *r, int scenario, const char *what, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void report_info(Report *r, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void report_print(const Report *r, FILE *f);
int report_write_json(const Report *r, const char *path);
int report_write_chart_data(const Report *r, const char *path);
void report_free(Report *r);
const char *verdict_name(Verdict v);
