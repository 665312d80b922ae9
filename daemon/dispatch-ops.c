/*
 * Requests sent again (protocol version 2, PROTOCOL.md section 5.17). A
 * CREATE, UNLINK, RESIZE or PUBLISH that carries an operation id is first
 * looked up in the operation records of its process: if that process made
 * the same request before, it is answered as the first one was and not
 * carried out twice. Each handler records the id before its change becomes
 * durable, so that after a crash the record is never missing for a change
 * that survived; a record whose change did not survive is finished (UNLINK,
 * RESIZE, PUBLISH) or, its segment being gone, ignored (CREATE).
 */

#include "daemon/conn.h"
#include "daemon/dispatch-internal.h"
#include "daemon/log.h"
#include "daemon/manager.h"
#include "daemon/oplog.h"
#include "daemon/state.h"

/**
 * dispatch_op_lookup() - whether @req repeats a request its process made before
 * @c:          connection
 * @req:        decoded request
 * @name:       the name it carries
 * @ret_segment: the segment the first request changed, if it still exists;
 *              else NULL
 *
 * Return: true if @req carries an operation id its process recorded for
 * the same type and name.
 */
bool dispatch_op_lookup(Conn *c, const ProtoRequest *req, const char *name, Segment **ret_segment) {
        Manager *m = c->manager;
        const OpRecord *rec;

        *ret_segment = NULL;
        if (req->op_id == 0)
                return false;
        rec = oplog_find(&m->oplog, &c->holds.who, req->op_id, req->hdr.type, oplog_name_hash(name));
        if (!rec)
                return false;
        *ret_segment = registry_find_id(m->registry, rec->segment_id);
        log_debug("Client pid=%d uid=%u sent %s '%s' (operation %#llx) again; segment %llu %s", (int)c->pid,
                  (unsigned)c->creds.uid, proto_type_name(req->hdr.type), name, (unsigned long long)req->op_id,
                  (unsigned long long)rec->segment_id, *ret_segment ? "is there" : "is gone");
        return true;
}

/**
 * dispatch_op_record() - remember that @req changes @s
 * @c:          connection
 * @req:        decoded request; nothing is recorded without an operation id
 * @name:       the name it carries
 * @s:          the segment it changes
 *
 * Called before the change is recorded in the restart state (or, for
 * RESIZE and PUBLISH, before it is made), so that the record is written
 * first. Out of memory, the request is simply not recognised if it comes again.
 */
void dispatch_op_record(Conn *c, const ProtoRequest *req, const char *name, const Segment *s) {
        Manager *m = c->manager;
        const OpRecord *rec;
        int r;

        if (req->op_id == 0)
                return;
        r = oplog_add(&m->oplog, &c->holds.who, req->op_id, req->hdr.type, oplog_name_hash(name), s->id, &rec);
        if (r < 0)
                log_warning_errno(r, "Cannot record operation %#llx of client pid=%d: %m, ignoring",
                                  (unsigned long long)req->op_id, (int)c->pid);
        else if (rec)
                state_record_op(m->state, rec);
}

/**
 * dispatch_create_again() - answer a CREATE sent again: the segment it made, opened anew
 * @c:          connection
 * @h:          the request's header
 * @s:          the segment the first CREATE made
 *
 * As the first reply did: a read-write hold (read-only if the segment was
 * published since) and a descriptor, with SEG_CREATED, whatever the mode
 * says (it is the creator's process). The process's
 * connection becomes the creator again of a restored segment of lifetime
 * "creator". The first CREATE's hold, if a restart kept it, waits for a
 * RECLAIM like any other and ends with the grace period.
 *
 * Return: 0, or negative errno if the connection must be dropped.
 */
int dispatch_create_again(Conn *c, const ProtoHeader *h, Segment *s) {
        registry_resume_creator(c->manager->registry, s, &c->holds);
        return dispatch_open_created(c, h, s);
}
