/*
 * Reading the restart state: replay the snapshot and the journal after it
 * into a StateImage (see state.h for the format).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/state.h"
#include "protocol/shmb-proto.h"

static StateSegment *image_find(StateImage *img, uint64_t id) {
        for (HNode *n = hmap_first(&img->by_id, hash_u64(id)); n; n = hmap_next(n)) {
                StateSegment *s = container_of(n, StateSegment, node);

                if (s->id == id)
                        return s;
        }
        return NULL;
}

static void segment_holds_free(StateSegment *s) {
        list_for_each_safe(l, &s->holds) {
                list_unlink(l);
                free(list_entry(l, StateHold, link));
        }
}

static void image_delete(StateImage *img, StateSegment *s) {
        segment_holds_free(s);
        hmap_remove(&img->by_id, &s->node);
        list_unlink(&s->link);
        img->n_segments--;
        free(s);
}

/**
 * state_image_free() - free a replayed state
 * @img:        image or NULL
 *
 * Return: NULL
 */
StateImage *state_image_free(StateImage *img) {
        if (!img)
                return NULL;
        list_for_each_safe(l, &img->segments)
                image_delete(img, list_entry(l, StateSegment, link));
        state_image_ops_free(img);
        hmap_deinit(&img->by_id);
        free(img->state_dir);
        free(img);
        return NULL;
}

static int parse_segment(StateImage *img, const char *line) {
        unsigned long long id, size, created, cr_start, max_size, charged;
        unsigned backend, uid, gid, mode, lifetime, flags, linked, cr_uid, ttl;
        int shmid, cpid, cr_pid, off = -1;
        const char *name;
        StateSegment *s;
        size_t len;

        if (sscanf(line, "S %llu %u %llu %u %u %o %u %u %llu %u %d %d %d %u %llu %llu %llu %u %n", &id, &backend,
                   &size, &uid, &gid, &mode, &lifetime, &flags, &created, &linked, &shmid, &cpid, &cr_pid, &cr_uid,
                   &cr_start, &max_size, &charged, &ttl, &off) != 18 || off < 0)
                return -EBADMSG;
        name = line + off;
        len = strcspn(name, "\n");
        if (id == 0 || backend == PROTO_BACKEND_DEFAULT || backend >= _PROTO_BACKEND_MAX || size == 0 ||
            max_size < size || charged == 0 || (lifetime == PROTO_LIFETIME_TTL) != (ttl != 0) ||
            mode > 0777 || lifetime >= _PROTO_LIFETIME_MAX || flags > UINT16_MAX || linked > 1 ||
            !proto_name_valid(name, len) || name[len] != '\n')
                return -EBADMSG;
        s = image_find(img, id);
        if (s) {
                /* Recorded again (after an ambiguity): the later record wins, holds included. */
                segment_holds_free(s);
        } else {
                s = calloc(1, sizeof(*s));
                if (!s)
                        return -ENOMEM;
                s->id = id;
                list_init(&s->holds);
                if (hmap_insert(&img->by_id, &s->node, hash_u64(id)) < 0) {
                        free(s);
                        return -ENOMEM;
                }
                list_append(&img->segments, &s->link);
                img->n_segments++;
        }
        memcpy(s->name, name, len);
        s->name[len] = 0;
        s->p = (SegmentParams){
                .name = s->name,
                .size = size,
                .max_size = max_size,
                .charge = charged,
                .ttl_sec = ttl,
                .uid = uid,
                .gid = gid,
                .mode = mode,
                .lifetime = (uint8_t)lifetime,
                .backend = (uint8_t)backend,
                .flags = (uint16_t)flags,
                .created_usec = created,
        };
        s->linked = linked;
        s->shmid = shmid;
        s->shm_cpid = cpid;
        s->creator = (PeerIdentity){ .pid = cr_pid, .uid = cr_uid, .start_time = cr_start };
        if (id >= img->next_id)
                img->next_id = id + 1;
        return 0;
}

static int parse_hold(StateImage *img, const char *line) {
        unsigned long long id, start;
        unsigned uid, rw;
        long long delta;
        int pid, off = -1;
        StateSegment *s;
        StateHold *h = NULL;

        if (sscanf(line, "H %llu %d %u %llu %u %lld%n", &id, &pid, &uid, &start, &rw, &delta, &off) != 6 ||
            off < 0 || line[off] != '\n' || rw > 1)
                return -EBADMSG;
        s = image_find(img, id);
        if (!s)
                return -EBADMSG;
        list_for_each(l, &s->holds) {
                StateHold *c = list_entry(l, StateHold, link);

                if (c->who.pid == pid && c->who.uid == uid && c->who.start_time == start && c->writable == rw) {
                        h = c;
                        break;
                }
        }
        if (!h) {
                if (delta <= 0)
                        return -EBADMSG;
                h = calloc(1, sizeof(*h));
                if (!h)
                        return -ENOMEM;
                h->who = (PeerIdentity){ .pid = pid, .uid = uid, .start_time = start };
                h->writable = rw;
                list_append(&s->holds, &h->link);
        }
        h->count += delta;
        if (h->count <= 0) {
                list_unlink(&h->link);
                free(h);
        }
        return 0;
}

static int parse_id_line(StateImage *img, const char *line, char type) {
        unsigned long long id;
        char t;
        int off = -1;
        StateSegment *s;

        if (sscanf(line, "%c %llu%n", &t, &id, &off) != 2 || t != type || off < 0 || line[off] != '\n')
                return -EBADMSG;
        s = image_find(img, id);
        if (!s)
                return -EBADMSG;
        if (type == 'D')
                image_delete(img, s);
        else
                s->linked = false;
        return 0;
}

static int parse_header(StateImage *img, const char *line) {
        unsigned long long next;
        int pid, off = -1;
        size_t len;

        if (line[0] == 'N') {
                if (sscanf(line, "N %llu%n", &next, &off) != 1 || off < 0 || line[off] != '\n')
                        return -EBADMSG;
                if (next > img->next_id)
                        img->next_id = next;
                return 0;
        }
        if (sscanf(line, "P %d %n", &pid, &off) != 1 || off < 0)
                return -EBADMSG;
        len = strcspn(line + off, "\n");
        free(img->state_dir);
        img->state_dir = strndup(line + off, len);
        if (!img->state_dir)
                return -ENOMEM;
        img->daemon_pid = pid;
        return 0;
}

static int parse_line(StateImage *img, const char *line) {
        switch (line[0]) {
        case 'S':
                return parse_segment(img, line);
        case 'H':
                return parse_hold(img, line);
        case 'U':
        case 'D':
                return parse_id_line(img, line, line[0]);
        case 'P':
        case 'N':
                return parse_header(img, line);
        case 'O':
                return state_parse_op(img, line);
        default:
                return -EBADMSG;
        }
}

/**
 * state_read() - replay a state file
 * @path:       the file
 * @ret:        the state: segments with their holds, as last recorded
 *
 * Malformed lines are skipped and counted in n_bad; so is a last line torn
 * by a crash.
 *
 * Return: 0, -ENOENT if there is no state, -EBADMSG if the file is not a
 * state file of this version, -ENOMEM, or another negative errno.
 */
int state_read(const char *path, StateImage **ret) {
        StateImage *img;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        FILE *f;
        int r = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        img = calloc(1, sizeof(*img));
        if (!img) {
                fclose(f);
                return -ENOMEM;
        }
        list_init(&img->segments);
        list_init(&img->ops);
        img->next_id = 1;
        n = getline(&line, &cap, f);
        if (n <= 0 || strcmp(line, STATE_MAGIC "\n") != 0)
                r = -EBADMSG;
        while (r == 0 && (n = getline(&line, &cap, f)) > 0) {
                if (line[n - 1] != '\n' || strlen(line) != (size_t)n) {
                        img->n_bad++;
                        continue;
                }
                r = parse_line(img, line);
                if (r == -EBADMSG) {
                        img->n_bad++;
                        r = 0;
                }
        }
        free(line);
        fclose(f);
        if (r < 0)
                return state_image_free(img), r;
        *ret = img;
        return 0;
}
