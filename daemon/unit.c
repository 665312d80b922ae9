/*
 * Our systemd unit, asked over D-Bus. Used at start (does the unit keep a
 * file-descriptor store for us?) and at SIGTERM (is this a stop, or the stop
 * half of a restart?). Blocking calls with a short timeout: both happen
 * outside of serving clients.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/unit.h"

#define DEST "org.freedesktop.systemd1"
#define CALL_TIMEOUT_USEC (2 * 1000 * 1000)

static sd_bus *bus_unref(sd_bus *b) {
        return b ? sd_bus_flush_close_unref(b) : NULL;
}

/* The system bus; as root, systemd's private socket if there is no bus daemon. */
static int bus_open(sd_bus **ret) {
        sd_bus *b = NULL;
        int r;

        r = sd_bus_open_system(&b);
        if (r < 0 && geteuid() == 0) {
                r = sd_bus_new(&b);
                if (r >= 0)
                        r = sd_bus_set_address(b, "unix:path=/run/systemd/private");
                if (r >= 0)
                        r = sd_bus_start(b);
                if (r < 0)
                        b = bus_unref(b);
        }
        if (r < 0)
                return r;
        (void)sd_bus_set_method_call_timeout(b, CALL_TIMEOUT_USEC);
        *ret = b;
        return 0;
}

/*
 * The bus, our unit's name and object path, if this process is the main
 * process of a service unit.
 */
static int unit_open(sd_bus **ret_bus, char **ret_unit, char **ret_path) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char *unit = NULL, *path = NULL;
        uint32_t main_pid = 0;
        sd_bus *b = NULL;
        int r;

        r = sd_pid_get_unit(0, &unit);
        if (r >= 0 && !strstr(unit, ".service"))
                r = -ENOMEDIUM;
        if (r >= 0)
                r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r >= 0)
                r = bus_open(&b);
        if (r >= 0)
                r = sd_bus_get_property_trivial(b, DEST, path, "org.freedesktop.systemd1.Service", "MainPID", &error,
                                                'u', &main_pid);
        if (r >= 0 && main_pid != (uint32_t)getpid())
                r = -ESRCH;
        if (r < 0) {
                log_debug_errno(r, "Cannot ask systemd about our unit%s%s: %s", unit ? " " : "", unit ? unit : "",
                                error.message ? error.message : strerror(-r));
                sd_bus_error_free(&error);
                bus_unref(b);
                free(path);
                free(unit);
                return r;
        }
        *ret_bus = b;
        *ret_unit = unit;
        *ret_path = path;
        return 0;
}

/**
 * unit_fdstore_max() - FileDescriptorStoreMax= of our unit, if we are its main process
 * @ret:        the setting (0: no store)
 *
 * Return: 0, -ENOMEDIUM if we do not run as a service, -ESRCH if we are not
 * its main process, or another negative errno (no bus, no answer).
 */
int unit_fdstore_max(uint64_t *ret) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char *unit = NULL, *path = NULL;
        sd_bus *b = NULL;
        uint32_t max = 0;
        int r;

        r = unit_open(&b, &unit, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_trivial(b, DEST, path, "org.freedesktop.systemd1.Service", "FileDescriptorStoreMax",
                                        &error, 'u', &max);
        if (r >= 0)
                *ret = max;
        else
                log_debug_errno(r, "Cannot read FileDescriptorStoreMax of %s: %s", unit,
                                error.message ? error.message : strerror(-r));
        sd_bus_error_free(&error);
        bus_unref(b);
        free(path);
        free(unit);
        return r < 0 ? r : 0;
}

/**
 * unit_restart_pending() - whether our unit's current job is a restart
 *
 * At SIGTERM this tells "systemctl restart" (job type restart, try-restart,
 * reload-or-restart, ...) from "systemctl stop" (job type stop) and from a
 * signal sent outside of any job.
 *
 * Return: 1 for a restart, 0 for anything else, negative errno if it cannot
 * be told (no bus; not the main process of a service).
 */
int unit_restart_pending(void) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        char *unit = NULL, *path = NULL, *type = NULL;
        const char *job_path = NULL;
        sd_bus *b = NULL;
        uint32_t job_id = 0;
        int r;

        r = unit_open(&b, &unit, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property(b, DEST, path, "org.freedesktop.systemd1.Unit", "Job", &error, &reply, "(uo)");
        if (r >= 0)
                r = sd_bus_message_read(reply, "(uo)", &job_id, &job_path);
        if (r >= 0 && job_id == 0)
                r = 0;
        else if (r >= 0) {
                r = sd_bus_get_property_string(b, DEST, job_path, "org.freedesktop.systemd1.Job", "JobType", &error,
                                               &type);
                if (r >= 0) {
                        log_debug("Unit %s has job %u of type %s", unit, job_id, type);
                        r = strstr(type, "restart") != NULL;
                }
        }
        if (r < 0)
                log_debug_errno(r, "Cannot ask systemd about the job of unit %s: %s", unit,
                                error.message ? error.message : strerror(-r));
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        bus_unref(b);
        free(type);
        free(path);
        free(unit);
        return r;
}
