/*
 * Operation ids (protocol version 2): a client may end a CREATE, UNLINK,
 * RESIZE or PUBLISH request with an 8-byte id of its choosing, flagged in
 * the header, so that the daemon can recognise the same request sent again
 * after its reply was lost (PROTOCOL.md section 5.17). The decoding is part
 * of proto_decode_request_version() in proto.c.
 */

#include <errno.h>
#include <string.h>

#include "protocol/shmb-proto.h"

static uint16_t get_le16(const uint8_t *p) {
        return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v) {
        put_le16(p, (uint16_t)v);
        put_le16(p + 2, (uint16_t)(v >> 16));
}

/**
 * proto_type_takes_op_id() - whether a request type may carry an operation id
 * @type:       request type
 *
 * Return: true for CREATE, UNLINK, RESIZE and PUBLISH: the requests that
 * change a segment or a name, which a client may need to send again.
 */
bool proto_type_takes_op_id(uint16_t type) {
        switch (type) {
        case SHMB_MSG_CREATE:
        case SHMB_MSG_UNLINK:
        case SHMB_MSG_RESIZE:
        case SHMB_MSG_PUBLISH:
                return true;
        default:
                return false;
        }
}

/**
 * proto_add_op_id() - end an encoded request with an operation id
 * @b:          buffer holding one whole request (CREATE, UNLINK, RESIZE or PUBLISH)
 * @op_id:      the id, not 0
 *
 * Sets the header's version to 2 and its OP_ID flag, appends @op_id
 * (little-endian) and patches the length.
 *
 * Return: the message length, -EINVAL (no such request in @b, @op_id 0, or
 * it has an id already), or -EMSGSIZE.
 */
int proto_add_op_id(ProtoBuf *b, uint64_t op_id) {
        ProtoHeader h;

        if (b->overflow || op_id == 0 || proto_decode_header(b->data, b->len, &h) != 0 ||
            !proto_type_takes_op_id(h.type) || (h.flags & SHMB_HDR_OP_ID))
                return -EINVAL;
        put_le16(b->data, SHMB_PROTO_VERSION_OP_ID);
        put_le16(b->data + 4, (uint16_t)(h.flags | SHMB_HDR_OP_ID));
        proto_put_u64(b, op_id);
        return proto_finish(b);
}

/**
 * proto_frame_request() - fit an encoded request to a connection's version
 * @buf:        the request (not HELLO, whose header version is the client's highest)
 * @len:        its length
 * @version:    the version negotiated on the connection it is to be sent on
 *
 * Writes @version into the header. A request that carries an operation id
 * loses it (flag and trailer) when @version has none; the bytes before stay.
 *
 * Return: the new length, or -EINVAL if @buf holds no request.
 */
int proto_frame_request(void *buf, size_t len, uint16_t version) {
        uint8_t *p = buf;
        ProtoHeader h;

        if (proto_decode_header(buf, len, &h) != 0 || (h.type & SHMB_MSG_REPLY) || h.type == SHMB_MSG_HELLO)
                return -EINVAL;
        if ((h.flags & SHMB_HDR_OP_ID) && version < SHMB_PROTO_VERSION_OP_ID) {
                if (len < SHMB_HEADER_SIZE + SHMB_OP_ID_SIZE)
                        return -EINVAL;
                len -= SHMB_OP_ID_SIZE;
                put_le16(p + 4, (uint16_t)(get_le16(p + 4) & ~SHMB_HDR_OP_ID));
                put_le32(p + 8, (uint32_t)len);
        }
        put_le16(p, version);
        return (int)len;
}
