/*
 * nk_route.h — the kernel's routing table: what the forward path in C needs
 * to admit a message without calling Python.
 *
 * One row per process-table slot.  The kernel (Python) writes a row when it
 * spawns or loses a process and when its policy state changes; the C path
 * (nk_route.c) reads the rows, and both sides keep the outstanding-call
 * table here — the one copy of it, so the reply rights the C path uses up
 * are the ones kernel/admit.py checks.
 *
 * What C may decide alone, and what it leaves to Python (kernel/router.py):
 *   C        CALL, SEND, REPLY, ERROR between two processes with rings, when
 *            every rule is known to pass: a valid header, a size within the
 *            limit, a live destination, an ACL decision Python already made
 *            for that exact pair (the cache below), the call limits, no
 *            deadlock, a reply right, room in the receiver's ring.
 *   Python   everything else: kernel calls, NOTIFY and CANCEL, refusals and
 *            errors, hosted servers, full rings (back-pressure and queues),
 *            tracing.  C never refuses a message; it stops and hands over.
 */
#ifndef NK_ROUTE_H
#define NK_ROUTE_H

#include <stdint.h>
#include "nk_ring.h"

#define NK_SLOT_BITS      12                  /* endpoint = generation << 12 | slot */
#define NK_MAX_SLOTS      (1 << NK_SLOT_BITS)
#define NK_FIRST_DYNAMIC  16                  /* slots below: well-known, aliased */
#define NK_ACL_CACHE      32                  /* destinations remembered per sender */

/* Row flags. */
#define NK_SLOT_ALIVE  1u   /* running: it may send and be sent to */
#define NK_SLOT_RINGS  2u   /* a process with rings (not a server hosted in the kernel) */
#define NK_SLOT_HELD   4u   /* the kernel holds messages for it: nothing may overtake them */

/* Why nk_route_drain stopped. */
#define NK_ROUTE_EMPTY   0  /* the sender's ring is empty */
#define NK_ROUTE_SLOW    1  /* the message at the head needs Python (header in *h) */
#define NK_ROUTE_BUDGET  2  /* max_n messages moved */

/* One outstanding call: `caller` (the row's process) waits for `callee`. */
typedef struct nk_call {
    uint64_t id;
    int32_t  callee;      /* endpoint */
    uint32_t _pad;
    int64_t  t0_ns;       /* CLOCK_MONOTONIC, as Python's time.monotonic_ns() */
} nk_call;

typedef struct nk_slot {
    int32_t  endpoint;    /* 0: the row is empty */
    uint32_t flags;       /* NK_SLOT_* */
    nk_ring *up;          /* the ring the kernel reads the process from */
    nk_ring *down;        /* the ring the kernel writes to it */
    nk_call *calls;       /* max_calls entries (the kernel owns the memory) */
    uint32_t ncalls;
    uint32_t nallowed;
    int32_t  allowed[NK_ACL_CACHE];   /* endpoints admit.allowed() said yes to */
    /* messages the C path moved (the Python path counts its own in kernel.Proc) */
    uint64_t msgs_in, msgs_out, bytes_in, bytes_out, ring_high_water;
} nk_slot;

typedef struct nk_table {
    uint32_t max_calls;
    uint32_t max_record;  /* header + the boot's max_message */
    uint64_t messages_routed;
    uint64_t ring_crossings;
    nk_slot  slot[NK_MAX_SLOTS];
} nk_table;

#endif
