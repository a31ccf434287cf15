/*
 * nk_pipe.h — a pipe's data region: one byte ring in shared memory that
 * every end of one pipe maps, so a read or a write moves bytes with a copy
 * in and a copy out and no message (servers/pipe.py brokers the region;
 * docs/ipc.md tells the whole story).
 *
 * Design
 *   The pipe server makes the region at `create` (a memfd: this header, then
 *   `capacity` bytes of data, a power of two) and keeps it open; each end's
 *   process maps it.  `head` and `tail` are free-running 64-bit byte counters
 *   (used = head - tail), as in nk_ring.h, but a pipe may have many writers
 *   and many readers, so each side is serialised by a lock in the region:
 *     wlock  guards head: a write of at most NK_PIPE_BUF bytes waits, holding
 *            it, until all of it fits, then copies it whole — never split,
 *            never interleaved with another write.  A larger write copies what
 *            fits, publishes it, and waits for room for the rest.
 *     rlock  guards tail: a read takes what is there (at most what was asked)
 *            and waits only while the pipe is empty.
 *   Both are robust, process-shared pthread mutexes: when a process dies
 *   holding one, the next locker gets EOWNERDEAD and goes on (nothing is
 *   half-published: head and tail move only after their bytes are copied).
 *
 *   End of file and broken pipe come from `readers` and `writers`, the pipe's
 *   open ends, which only the pipe server writes (nk_pipe_set_ends: on create,
 *   dup, close, and when a holder dies); it bumps both futex words after each
 *   change, so a sleeping reader sees "empty and no writer" (end of file) and
 *   a sleeping writer "no reader" (broken pipe) at once.
 *
 * Who writes what
 *   line 0   the pipe server, once (nk_pipe_format); read-only afterwards
 *   line 1   the pipe server only (readers, writers)
 *   line 2   writers under wlock (head); data_seq: writers and the server;
 *            readers_asleep: readers
 *   line 3   readers under rlock (tail); space_seq: readers and the server;
 *            writers_asleep: writers
 *   line 4   hints for tools and tests: ends inside a read or write that has
 *            had to wait (a process killed while it waits stays counted)
 *
 * Waiting
 *   A sleeper counts itself in *_asleep, reads the sequence word, re-checks
 *   the ring and the end counts, then FUTEX_WAITs (shared, not PRIVATE); the
 *   other side publishes its index, issues a seq_cst fence and bumps/wakes
 *   when a sleeper is counted — the protocol of nk_ring.h.  Every wait, of a
 *   lock or of a futex, lasts at most NK_PIPE_SLICE_NS (the view's slice_ns;
 *   tests lengthen it to prove that a wake, not a time-out, ended a wait),
 *   after which the waiter checks that the pipe server still lives (poll on
 *   a pidfd of it): a pipe whose server died gives NK_PIPE_DEAD, never a
 *   hang.  Every call checks that first, too.
 *
 *   Signals: a process that catches signals (libipc/signals.py) gets them as
 *   bits in the signal word of its down ring, announced by a NOTIFY on that
 *   ring and a host SIGURG.  A view told that ring (nk_pipe_watch) sleeps on
 *   its data_seq too (futex_waitv, counted among the ring's consumer waiters),
 *   and returns NK_ERR_INTR when the signal word is set — before sleeping or
 *   after any wake — so a handler can interrupt a read or write that waits,
 *   with no window in which the signal is missed.  (A wait for a lock sees
 *   it at the end of its slice.)
 *
 * Trust
 *   Each process keeps a validated copy of the capacity; head and tail are
 *   read into locals and validated (used <= capacity) and every offset is
 *   masked, so an end that scribbles on the region gets the pipe corrupt
 *   (NK_ERR_CORRUPT) for everyone, never a read or write outside the mapping.
 *   A hostile end can stall its own pipe (hold a lock): it could anyway, by
 *   never reading.
 */
#ifndef NK_PIPE_H
#define NK_PIPE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "nk_errors.h"
#include "nk_ring.h"

#define NK_PIPE_MAGIC     0x31455049504b4e55ULL   /* "UNKPIPE1" */
#define NK_PIPE_BUF       4096                    /* writes up to this size are atomic */
#define NK_PIPE_CAPACITY  (256 * 1024)            /* the pipe server's default */
#define NK_PIPE_HDR_SIZE  4096                    /* the data starts on the next page */
#define NK_PIPE_SLICE_NS  100000000LL             /* longest wait between liveness checks */

#define NK_PIPE_NONBLOCK  1                       /* flag: never wait (EMPTY / FULL) */

#define NK_PIPE_BROKEN    (-20)                   /* write: the pipe has no reader */
#define NK_PIPE_DEAD      (-21)                   /* the pipe server is gone */

struct nk_pipe_shared {
    /* line 0 — the pipe server, once */
    uint64_t magic;
    uint64_t capacity;                    /* data bytes, a power of two >= NK_PIPE_BUF */
    uint64_t nonce;                       /* this pipe's identity (the server's reply names it) */
    int32_t  server_pid;
    uint32_t pipe_buf;                    /* NK_PIPE_BUF, for readers of a dump */

    /* line 1 — the pipe server only */
    _Alignas(64) _Atomic uint32_t readers;   /* open read ends */
    _Atomic uint32_t writers;                /* open write ends */

    /* line 2 — the writers' side */
    _Alignas(64) pthread_mutex_t wlock;
    _Atomic uint64_t head;                   /* bytes ever written (under wlock) */
    _Atomic uint32_t data_seq;               /* futex: bumped when data arrives or writers change */
    _Atomic uint32_t readers_asleep;         /* readers asleep on data_seq */

    /* line 3 — the readers' side */
    _Alignas(64) pthread_mutex_t rlock;
    _Atomic uint64_t tail;                   /* bytes ever read (under rlock) */
    _Atomic uint32_t space_seq;              /* futex: bumped when room frees or readers change */
    _Atomic uint32_t writers_asleep;         /* writers asleep on space_seq */

    /* line 4 — hints */
    _Alignas(64) _Atomic uint32_t readers_blocked;
    _Atomic uint32_t writers_blocked;
};

_Static_assert(sizeof(struct nk_pipe_shared) <= NK_PIPE_HDR_SIZE, "nk_pipe: header too big");

/* A process's private view of a region.  Never placed in shared memory. */
typedef struct nk_pipe {
    struct nk_pipe_shared *sh;
    uint8_t  *data;
    uint64_t  cap;          /* validated copy of sh->capacity */
    int       server_pidfd; /* a pidfd of the pipe server; -1: none (the server's own view) */
    int       dead;         /* sticky: the server was seen gone */
    int       corrupt;      /* sticky: the indices were found invalid */
    int64_t   slice_ns;     /* longest wait between liveness checks (NK_PIPE_SLICE_NS) */
    nk_ring  *down;         /* this process's down ring (its signal word), or NULL */
    uint64_t  sleeps;       /* futex waits entered (stats) */
    uint64_t  wakes;        /* futex wakes issued (stats) */
} nk_pipe;

uint64_t nk_pipe_bytes_for(uint64_t capacity);
int      nk_pipe_format(void *mem, uint64_t size, uint64_t capacity, int32_t server_pid,
                        uint64_t nonce);
int      nk_pipe_attach(nk_pipe *p, void *mem, uint64_t size, uint64_t nonce, int server_pidfd);
int64_t  nk_pipe_read(nk_pipe *p, void *buf, uint64_t n, int flags);
int64_t  nk_pipe_write(nk_pipe *p, const void *buf, uint64_t n, int flags);
/* the pipe server's side */
void     nk_pipe_set_ends(nk_pipe *p, uint32_t readers, uint32_t writers);
int      nk_pipe_drop(nk_pipe *p);
/* queries */
uint64_t nk_pipe_buffered(nk_pipe *p);
void     nk_pipe_blocked(nk_pipe *p, uint32_t *readers, uint32_t *writers);
int      nk_pipe_server_gone(nk_pipe *p);
void     nk_pipe_watch(nk_pipe *p, nk_ring *down);
void     nk_pipe_layout(uint64_t *head_off, uint64_t *tail_off, uint64_t *data_off);

#endif
