/*
 * nk_ring.h — a single-producer/single-consumer ring in shared memory.
 *
 * Design
 *   One producer process appends records, one consumer process removes them.
 *   `head` and `tail` are free-running 64-bit byte counters (they never wrap in
 *   practice: 2^64 bytes), so "used = head - tail" needs no full/empty flag.
 *   Each lives on its own cache line, written by exactly one side.
 *
 *   A record is an 8-byte nk_record (length + flags) followed by the payload,
 *   padded to 8 bytes.  A record never straddles the end of the data area: when
 *   it would, the producer writes a PAD record covering the rest of the area and
 *   starts again at offset 0.  A payload is at most capacity/2 - 8 bytes, which
 *   guarantees that an empty ring always has room for it.
 *
 * Trust
 *   Each side keeps its own index in private memory (struct nk_ring) and only
 *   publishes it; it never reads its own index back from shared memory.  The
 *   other side's index and every record length are validated before use, so a
 *   peer that scribbles on the mapping yields NK_ERR_CORRUPT, never a read or a
 *   write outside the mapping.
 *
 * Waiting
 *   data_seq / space_seq are 32-bit futex words.  A side that is about to sleep
 *   increments the waiter count, reads the sequence word, re-checks the ring and
 *   only then calls FUTEX_WAIT (shared, not PRIVATE: the peer is another
 *   process).  The other side publishes its index, issues a seq_cst fence and
 *   bumps/wakes only if a waiter is registered.  Either the sleeper sees the new
 *   index or the waker sees the waiter — no lost wake-ups.
 *
 *   Whether to spin first is decided by the peer's "running" word
 *   (consumer_cpu of the channel's other ring: CPU + 1 while the peer runs, 0
 *   while it waits).  Spinning only pays while the peer runs on another CPU;
 *   when it waits, or shares our CPU, the waiter sleeps at once.
 */
#ifndef NK_RING_H
#define NK_RING_H

#include <stdint.h>
#include <stddef.h>
#include <stdatomic.h>

#define NK_RING_MAGIC      0x314752494b4e4e55ULL   /* "UNNKIRG1" */
#define NK_CACHELINE       64
#define NK_RING_HDR_SIZE   (3 * NK_CACHELINE)

struct nk_ring_shared {
    /* line 0 — written once by the creator, read-only afterwards */
    uint64_t magic;
    uint64_t capacity;                 /* bytes in the data area, power of two */
    /* The one word of line 0 that changes, and rarely: signals the kernel has
     * posted to the consumer (bit n = signal n).  Only a process's down ring
     * uses it — the kernel ORs bits in, the process takes them all at once. */
    _Atomic uint64_t signals;
    uint8_t  _pad0[NK_CACHELINE - 24];

    /* line 1 — written by the PRODUCER (consumer_waiters: by the consumer) */
    _Atomic uint64_t head;             /* bytes ever produced */
    _Atomic uint32_t data_seq;         /* futex: bumped when data arrives */
    _Atomic uint32_t consumer_waiters; /* consumers asleep on data_seq */
    uint8_t  _pad1[NK_CACHELINE - 16];

    /* line 2 — written by the CONSUMER (producer_waiters: by the producer) */
    _Atomic uint64_t tail;             /* bytes ever consumed */
    _Atomic uint32_t space_seq;        /* futex: bumped when space frees up */
    _Atomic uint32_t producer_waiters; /* producers asleep on space_seq */
    _Atomic uint32_t consumer_cpu;     /* the consumer's "running" word: CPU + 1 while it
                                          runs, 0 while it waits (see nk_wait_any.c) */
    uint8_t  _pad2[NK_CACHELINE - 20];

    /* the data area follows at offset NK_RING_HDR_SIZE */
};

/* One record header inside the data area. */
struct nk_record {
    uint32_t len;     /* payload bytes (PAD: bytes skipped after this header) */
    uint32_t flags;   /* NK_REC_PAD or 0 */
};
#define NK_REC_PAD  1u

/* A side's private view of a ring.  Never placed in shared memory. */
typedef struct nk_ring {
    struct nk_ring_shared *sh;
    uint8_t  *data;
    uint64_t  cap;          /* validated copy of sh->capacity */
    uint64_t  mine;         /* producer: head, consumer: tail — authoritative */
    uint64_t  theirs;       /* last validated value of the other side's index */
    int       role;         /* NK_PRODUCER or NK_CONSUMER */
    int       corrupt;      /* sticky: once corrupt, always corrupt */
    uint64_t  spin_ns;      /* adaptive spin budget before sleeping */
    uint64_t  spin_max_ns;
    uint64_t  wakes_sent;   /* futex wakes issued (for stats) */
    uint64_t  sleeps;       /* futex waits entered (for stats) */
    uint64_t  spins;        /* waits that spun because the peer ran elsewhere (stats) */
    /* Running words (nk_ring_pair): ours is the consumer_cpu of the ring we consume,
     * the peer's that of the ring it consumes.  NULL: not paired (unknown). */
    _Atomic uint32_t *own_cpu;
    _Atomic uint32_t *peer_cpu;
} nk_ring;

#endif
