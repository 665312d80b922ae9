#pragma once

/*
 * shmbrokerctl internals shared by its source files: options, exit codes,
 * output helpers (human tables and JSON through json-c), admin commands.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client/shmbroker-admin.h"
#include "client/shmbroker.h"

enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,      /* the daemon refused, or a system call failed */
        EXIT_USAGE = 2,     /* bad command line */
        EXIT_NOCONN = 3,    /* cannot reach the daemon */
        EXIT_DENIED = 4,    /* admin access denied */
};

extern bool arg_json;
extern bool arg_verbose;
extern uint32_t arg_wait_ms;
extern bool arg_published;
extern bool arg_all;
extern const char *arg_admin_socket;
extern const char *arg_socket;

/* ctl-output.c */
const char *ctl_time(uint64_t usec, char *buf, size_t len);
const char *ctl_time_iso(uint64_t usec, char *buf, size_t len);
const char *ctl_duration(uint64_t usec, char *buf, size_t len);
const char *ctl_user(uid_t uid, char *buf, size_t len);
const char *ctl_group(gid_t gid, char *buf, size_t len);
const char *ctl_printable(const char *s, char *buf, size_t len);
const char *ctl_seg_flags(uint32_t flags, char *buf, size_t len);
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ctl_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_json_print(struct json_object *o);

/* A JSON array printed element by element (same text as ctl_json_print() of the whole array),
 * so that listings of any length need memory for one element only. */
typedef struct CtlJsonArray {
        size_t n;
        bool failed;
} CtlJsonArray;

void ctl_json_array_begin(CtlJsonArray *a);
void ctl_json_array_add(CtlJsonArray *a, struct json_object *o);
int ctl_json_array_end(CtlJsonArray *a);
void ctl_json_add_u64(struct json_object *o, const char *key, uint64_t v);
void ctl_json_add_str(struct json_object *o, const char *key, const char *s);
void ctl_json_add_time(struct json_object *o, const char *key, uint64_t usec);
struct json_object *ctl_json_seg_flags(uint32_t flags);
struct json_object *ctl_json_stat(const struct shmb_stat *st);
struct json_object *ctl_json_admin_segment(const struct shmb_admin_segment *s);

/* ctl-connect.c */
const char *ctl_socket_path(void);
const char *ctl_admin_socket_path(void);
int ctl_connect_error(int r, const char *path, bool admin);
int ctl_connect(struct shmb_client **ret);
int ctl_admin_open(struct shmb_admin **ret);

/* shmbrokerctl.c */
int ctl_fail(struct shmb_client *c, int r, const char *what, const char *name);
int ctl_parse_size(const char *opt, const char *s, uint64_t min, uint64_t *ret);

/* ctl-life.c */
int ctl_resize(struct shmb_client *c, char **args);
int ctl_publish(struct shmb_client *c, char **args);
int ctl_watch(struct shmb_client *c, char **args);
int ctl_run(int n_specs, char **specs, char **command);

/* ctl-admin.c */
bool ctl_admin_is_command(const char *name);
int ctl_admin_main(const char *name, int n_args, char **args);

/* ctl-metrics.c */
int ctl_metrics(struct shmb_admin *a);
