/*
 * shmbrokerctl metrics: the daemon's statistics in the OpenMetrics text
 * format (which Prometheus reads), or the same samples as JSON. Families
 * are built first, then rendered, so both forms always agree.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/ctl.h"

#define SAMPLES_MAX 1024

typedef struct Sample {
        const char *label[2];           /* label names, NULL if unused */
        const char *value_of[2];        /* label values (static strings) */
        uint64_t u;
        double d;
        bool is_float;
} Sample;

typedef struct Family {
        const char *name;
        const char *type;               /* "gauge" or "counter" */
        const char *unit;               /* NULL or the unit (the name ends in _<unit>) */
        const char *help;
        size_t first;                   /* index of its first sample */
        size_t n;
} Family;

typedef struct Metrics {
        Family families[16];
        size_t n_families;
        Sample samples[SAMPLES_MAX];
        size_t n_samples;
} Metrics;

static Family *family(Metrics *m, const char *name, const char *type, const char *unit, const char *help) {
        Family *f = &m->families[m->n_families++];

        *f = (Family){ .name = name, .type = type, .unit = unit, .help = help, .first = m->n_samples };
        return f;
}

static void sample(Metrics *m, Family *f, const char *l0, const char *v0, const char *l1, const char *v1,
                   uint64_t u) {
        if (m->n_samples >= SAMPLES_MAX)
                return;
        m->samples[m->n_samples++] = (Sample){ .label = { l0, l1 }, .value_of = { v0, v1 }, .u = u };
        f->n++;
}

static void sample_float(Metrics *m, Family *f, double d) {
        if (m->n_samples >= SAMPLES_MAX)
                return;
        m->samples[m->n_samples++] = (Sample){ .d = d, .is_float = true };
        f->n++;
}

static bool counter_is(const struct shmb_admin_counter *ct, uint16_t op, uint16_t status) {
        return ct->status == status &&
               strcmp(shmb_admin_operation_to_string(ct->operation), shmb_admin_operation_to_string(op)) == 0;
}

static void build(Metrics *m, const struct shmb_admin_stats *st) {
        Family *f;

        f = family(m, "shmbroker_start_time_seconds", "gauge", "seconds",
                   "When the daemon started, in seconds since the Unix epoch.");
        sample_float(m, f, (double)st->started_usec / 1e6);
        f = family(m, "shmbroker_uptime_seconds", "gauge", "seconds", "Time since the daemon started.");
        sample_float(m, f, (double)st->uptime_usec / 1e6);
        f = family(m, "shmbroker_backend_enabled", "gauge", NULL, "1 if the daemon serves this backend, else 0.");
        for (int b = SHMB_BACKEND_MEMFD; b < SHMB_ADMIN_BACKENDS_MAX; b++)
                if (strcmp(shmb_backend_to_string((enum shmb_backend)b), "unknown") != 0)
                        sample(m, f, "backend", shmb_backend_to_string((enum shmb_backend)b), NULL, NULL,
                               (uint64_t)!!st->backends[b].enabled);
        f = family(m, "shmbroker_segments", "gauge", NULL, "Live segments (named, or unnamed but still held).");
        for (int b = SHMB_BACKEND_MEMFD; b < SHMB_ADMIN_BACKENDS_MAX; b++)
                if (strcmp(shmb_backend_to_string((enum shmb_backend)b), "unknown") != 0)
                        sample(m, f, "backend", shmb_backend_to_string((enum shmb_backend)b), NULL, NULL,
                               st->backends[b].segments);
        f = family(m, "shmbroker_segment_bytes", "gauge", "bytes", "Sum of the sizes of the live segments.");
        for (int b = SHMB_BACKEND_MEMFD; b < SHMB_ADMIN_BACKENDS_MAX; b++)
                if (strcmp(shmb_backend_to_string((enum shmb_backend)b), "unknown") != 0)
                        sample(m, f, "backend", shmb_backend_to_string((enum shmb_backend)b), NULL, NULL,
                               st->backends[b].bytes);
        f = family(m, "shmbroker_holds", "gauge", NULL, "Holds of all connections on all segments.");
        sample(m, f, NULL, NULL, NULL, NULL, st->holds);
        f = family(m, "shmbroker_connections", "gauge", NULL, "Open connections, by socket.");
        sample(m, f, "socket", "client", NULL, NULL, st->connections);
        sample(m, f, "socket", "admin", NULL, NULL, st->admin_connections);
        f = family(m, "shmbroker_connections_accepted", "counter", NULL,
                   "Connections accepted on either socket since the daemon started.");
        sample(m, f, NULL, NULL, NULL, NULL, st->connections_total);
        f = family(m, "shmbroker_admin_denied", "counter", NULL,
                   "Admin connections refused because the peer is neither root nor in the admin group.");
        sample(m, f, NULL, NULL, NULL, NULL, st->admin_denied_total);
        f = family(m, "shmbroker_log_level", "gauge", NULL, "The daemon's log level: 0 emerg .. 7 debug.");
        sample(m, f, NULL, NULL, NULL, NULL, (uint64_t)st->log_level);

        /* Every operation's "ok" series exists (0 until used), then whatever else was counted. */
        f = family(m, "shmbroker_requests", "counter", NULL,
                   "Requests answered, by operation and reply status; errors are the statuses other than ok.");
        for (uint16_t t = 1; t < 0x0120; t++) {
                const char *op = shmb_admin_operation_to_string(t);
                uint64_t ok = 0;

                if (strcmp(op, "unknown") == 0)
                        continue;
                for (size_t k = 0; k < st->n_counters; k++)
                        if (counter_is(&st->counters[k], t, 0))
                                ok += st->counters[k].count;
                sample(m, f, "operation", op, "status", "ok", ok);
        }
        for (size_t k = 0; k < st->n_counters; k++) {
                const struct shmb_admin_counter *ct = &st->counters[k];
                const char *op = shmb_admin_operation_to_string(ct->operation);

                if (ct->status == 0 && strcmp(op, "unknown") != 0)
                        continue;
                sample(m, f, "operation", op, "status", shmb_admin_status_to_string(ct->status), ct->count);
        }
}

static void print_text(const Metrics *m) {
        for (size_t i = 0; i < m->n_families; i++) {
                const Family *f = &m->families[i];

                printf("# TYPE %s %s\n", f->name, f->type);
                if (f->unit)
                        printf("# UNIT %s %s\n", f->name, f->unit);
                printf("# HELP %s %s\n", f->name, f->help);
                for (size_t k = f->first; k < f->first + f->n; k++) {
                        const Sample *s = &m->samples[k];

                        printf("%s%s", f->name, strcmp(f->type, "counter") == 0 ? "_total" : "");
                        for (int l = 0; l < 2 && s->label[l]; l++)
                                printf("%s%s=\"%s\"", l ? "," : "{", s->label[l], s->value_of[l]);
                        if (s->label[0])
                                printf("}");
                        if (s->is_float)
                                printf(" %.6f\n", s->d);
                        else
                                printf(" %llu\n", (unsigned long long)s->u);
                }
        }
        printf("# EOF\n");
}

static struct json_object *to_json(const Metrics *m) {
        struct json_object *arr = json_object_new_array();

        for (size_t i = 0; arr && i < m->n_families; i++) {
                const Family *f = &m->families[i];
                struct json_object *o = json_object_new_object(), *samples = json_object_new_array();
                char name[128];

                ctl_json_add_str(o, "name", f->name);
                ctl_json_add_str(o, "type", f->type);
                ctl_json_add_str(o, "unit", f->unit);
                ctl_json_add_str(o, "help", f->help);
                snprintf(name, sizeof(name), "%s%s", f->name, strcmp(f->type, "counter") == 0 ? "_total" : "");
                for (size_t k = f->first; k < f->first + f->n; k++) {
                        const Sample *s = &m->samples[k];
                        struct json_object *so = json_object_new_object(), *labels = json_object_new_object();

                        ctl_json_add_str(so, "name", name);
                        for (int l = 0; l < 2 && s->label[l]; l++)
                                ctl_json_add_str(labels, s->label[l], s->value_of[l]);
                        json_object_object_add(so, "labels", labels);
                        json_object_object_add(so, "value", s->is_float ? json_object_new_double(s->d)
                                                                         : json_object_new_uint64(s->u));
                        json_object_array_add(samples, so);
                }
                json_object_object_add(o, "samples", samples);
                json_object_array_add(arr, o);
        }
        return arr;
}

/**
 * ctl_metrics() - print the daemon's metrics (OpenMetrics text, or JSON with --json)
 * @a:          connected admin handle
 *
 * Return: exit status.
 */
int ctl_metrics(struct shmb_admin *a) {
        struct shmb_admin_stats *st;
        Metrics *m;
        int r;

        r = shmb_admin_stats(a, &st);
        if (r < 0) {
                fprintf(stderr, "shmbrokerctl: cannot get statistics: %s\n", shmb_admin_last_error(a));
                return EXIT_FAIL;
        }
        m = calloc(1, sizeof(*m));
        if (!m) {
                shmb_admin_stats_free(st);
                fprintf(stderr, "shmbrokerctl: out of memory\n");
                return EXIT_FAIL;
        }
        build(m, st);
        shmb_admin_stats_free(st);
        if (arg_json)
                r = ctl_json_print(to_json(m));
        else {
                print_text(m);
                r = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
        }
        free(m);
        return r;
}
