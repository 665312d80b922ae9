/*
 * shmbrokerctl: which sockets to use, connecting to them, and saying what to
 * do when that fails (no daemon, a path that is not a socket, no access).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "client/ctl.h"

#define SOCKET_PATH_DEFAULT "/run/shmbrokerd/shmbrokerd.sock"
#define ADMIN_PATH_DEFAULT "/run/shmbrokerd/admin.sock"

static char admin_beside[sizeof(((struct sockaddr_un){}).sun_path) + 16];

/**
 * ctl_socket_path() - the client socket shmbrokerctl uses
 *
 * Return: --socket, else $SHMBROKER_SOCKET, else the system socket.
 */
const char *ctl_socket_path(void) {
        const char *env = getenv("SHMBROKER_SOCKET");

        if (arg_socket)
                return arg_socket;
        return env && *env ? env : SOCKET_PATH_DEFAULT;
}

/**
 * ctl_admin_socket_path() - the admin socket shmbrokerctl uses
 *
 * The command line comes first, then the environment: --admin-socket, else
 * admin.sock beside --socket, else $SHMBROKER_ADMIN_SOCKET, else admin.sock
 * beside $SHMBROKER_SOCKET, else the system's admin socket. "Beside" is
 * where the daemon puts its admin socket unless told otherwise.
 *
 * Return: the path.
 */
const char *ctl_admin_socket_path(void) {
        const char *env = getenv("SHMBROKER_ADMIN_SOCKET"), *client = NULL, *slash;

        if (arg_admin_socket)
                return arg_admin_socket;
        if (arg_socket)
                client = arg_socket;
        else if (env && *env)
                return env;
        else if (getenv("SHMBROKER_SOCKET") && *getenv("SHMBROKER_SOCKET"))
                client = getenv("SHMBROKER_SOCKET");
        if (!client)
                return ADMIN_PATH_DEFAULT;
        slash = strrchr(client, '/');
        if (slash)
                snprintf(admin_beside, sizeof(admin_beside), "%.*s/admin.sock", (int)(slash - client), client);
        else
                snprintf(admin_beside, sizeof(admin_beside), "admin.sock");
        return admin_beside;
}

/* What is at @path instead of a listening socket, in words; NULL if it is a socket or missing. */
static const char *not_a_socket(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0 || S_ISSOCK(st.st_mode))
                return NULL;
        if (S_ISDIR(st.st_mode))
                return "a directory";
        if (S_ISREG(st.st_mode))
                return "a regular file";
        return "not a socket";
}

/**
 * ctl_connect_error() - explain why connecting to a socket failed, and what to do
 * @r:          negative errno from connecting
 * @path:       the socket
 * @admin:      the admin socket (else the client socket)
 *
 * Return: EXIT_NOCONN.
 */
int ctl_connect_error(int r, const char *path, bool admin) {
        const char *what = admin ? "the admin socket of shmbrokerd" : "shmbrokerd", *kind = not_a_socket(path);
        const char *opt = admin ? "--admin-socket PATH or SHMBROKER_ADMIN_SOCKET=PATH"
                                : "--socket PATH or SHMBROKER_SOCKET=PATH";

        if (kind) {
                fprintf(stderr, "shmbrokerctl: cannot connect to %s at %s: it is %s, not a socket\n"
                                "Name the daemon's socket with %s.\n", what, path,
                        strcmp(kind, "not a socket") == 0 ? "something else" : kind, opt);
                return EXIT_NOCONN;
        }
        switch (-r) {
        case ENOENT:
        case ENOTDIR:
        case ECONNREFUSED:
                fprintf(stderr, "shmbrokerctl: cannot connect to %s at %s: %s\n", what, path,
                        r == -ECONNREFUSED ? "nobody listens there (connection refused)" : "no such socket");
                if (admin)
                        fprintf(stderr, "Is shmbrokerd running, with its admin socket there (by default admin.sock "
                                        "beside its\nclient socket)? Name another with %s.\n", opt);
                else
                        fprintf(stderr, "Is shmbrokerd running? Start it (systemctl start shmbrokerd.socket), "
                                        "or name its socket\nwith %s.\n", opt);
                break;
        case ENAMETOOLONG:
                fprintf(stderr, "shmbrokerctl: cannot connect to %s at %s: the path is longer than %zu bytes\n",
                        what, path, sizeof(((struct sockaddr_un){}).sun_path) - 1);
                break;
        default:
                fprintf(stderr, "shmbrokerctl: cannot connect to %s at %s: %s\n", what, path, strerror(-r));
                break;
        }
        return EXIT_NOCONN;
}

/**
 * ctl_connect() - connect to the client socket, explaining a failure
 * @ret:        the client
 *
 * Return: EXIT_OK or EXIT_NOCONN.
 */
int ctl_connect(struct shmb_client **ret) {
        const char *path = ctl_socket_path();
        int r = shmb_client_new(ret, path);

        if (r == -EDQUOT) {
                fprintf(stderr, "shmbrokerctl: shmbrokerd at %s refused the connection: "
                                "its connection limit (per user or in all) is reached\n", path);
                return EXIT_NOCONN;
        }
        if (r < 0)
                return ctl_connect_error(r, path, false);
        return EXIT_OK;
}

/**
 * ctl_admin_open() - connect to the admin socket, explaining a failure
 * @ret:        the admin handle
 *
 * Return: EXIT_OK, EXIT_NOCONN, or EXIT_DENIED (the socket's mode or the
 * daemon refused this user; the daemon's words are printed).
 */
int ctl_admin_open(struct shmb_admin **ret) {
        const char *path = ctl_admin_socket_path();
        struct shmb_admin *a;
        int r;

        r = shmb_admin_new(&a, path);
        if (r < 0)
                return ctl_connect_error(r, path, true);
        r = shmb_admin_connect(a);
        if (r >= 0) {
                *ret = a;
                return EXIT_OK;
        }
        if (r == -EACCES || r == -EPERM) {
                fprintf(stderr, "shmbrokerctl: %s\n", shmb_admin_last_error(a));
                r = EXIT_DENIED;
        } else if (r == -ENOENT || r == -ENOTDIR || r == -ECONNREFUSED || not_a_socket(path)) {
                r = ctl_connect_error(r, path, true);
        } else {
                fprintf(stderr, "shmbrokerctl: %s\n", shmb_admin_last_error(a));
                r = EXIT_NOCONN;
        }
        shmb_admin_free(a);
        return r;
}
