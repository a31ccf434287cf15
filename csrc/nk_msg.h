/*
 * nk_msg.h — the fixed message header every nanokernel message starts with.
 *
 * A message is one ring record: this header, then `body_len` bytes of msgpack.
 * The kernel routes on the header alone; it never unpacks a body that is not
 * addressed to it (endpoint 0).
 *
 * Who writes what:
 *   src       the KERNEL, on every routed message. Whatever the sender put
 *             there is overwritten, so a process cannot forge its identity.
 *   dst       the sender.
 *   kind      the sender (NK_KIND_*).
 *   flags     the sender (NK_FLAG_*); reserved bits must be zero.
 *   id        the sender: the call id of a CALL, echoed by its REPLY/ERROR/
 *             CANCEL; the notification bits of a NOTIFY.
 *   body_len  the sender; the kernel checks it against the record length.
 *
 * All fields are little-endian (the only byte order this simulator runs on).
 */
#ifndef NK_MSG_H
#define NK_MSG_H

#include <stdint.h>

typedef struct nk_msg_header {
    int32_t  src;
    int32_t  dst;
    uint16_t kind;
    uint16_t flags;
    uint32_t body_len;
    uint64_t id;
} nk_msg_header;

/* Message kinds.  CALL → exactly one REPLY or ERROR. */
#define NK_KIND_CALL    1
#define NK_KIND_REPLY   2
#define NK_KIND_ERROR   3
#define NK_KIND_SEND    4
#define NK_KIND_NOTIFY  5
#define NK_KIND_CANCEL  6
#define NK_KIND_MAX     6

/* Flags. */
#define NK_FLAG_NONBLOCK  0x0001   /* SEND: refuse with WouldBlock instead of waiting */

#define NK_HEADER_SIZE  ((uint32_t)sizeof(nk_msg_header))

/* Endpoint numbers the kernel reserves.  Everything else is assigned at spawn. */
#define NK_EP_KERNEL    0
#define NK_EP_ANY       (-1)

#endif
