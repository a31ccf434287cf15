/*
 * nk_ring.c — the SPSC shared-memory ring, futex waits, and the kernel's
 * header-only forward.  Layout and invariants: see nk_ring.h.
 *
 * Every function here is called from Python through cffi in API mode, which
 * releases the GIL for the duration of the call, so spinning and sleeping here
 * never stall the other Python threads of the process.
 *
 * Rules this file keeps:
 *   - read every shared field once into a local, validate, then use the local
 *     (the peer may change the mapping at any time);
 *   - never touch memory outside [sh, data + cap);
 *   - once a ring is found corrupt it stays corrupt (r->corrupt is sticky).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nk_api.h"

#define ALIGN8(x)  (((x) + 7u) & ~(uint64_t)7u)
#define REC_HDR    ((uint64_t)sizeof(struct nk_record))

/* ---------------------------------------------------------------- time */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* --------------------------------------------------------------- futex */

static long futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000LL;
        ts.tv_nsec = timeout_ns % 1000000000LL;
        tsp = &ts;
    }
    /* Shared (not PRIVATE): the waker is another process. */
    return syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, tsp, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Bump a sequence word and wake whoever sleeps on it. */
static void bump_and_wake(_Atomic uint32_t *seq)
{
    atomic_fetch_add_explicit(seq, 1, memory_order_seq_cst);
    futex_wake_all(seq);
}

/* ------------------------------------------------------------ creation */

uint64_t nk_ring_bytes_for(uint64_t capacity)
{
    return NK_RING_HDR_SIZE + capacity;
}

static int is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

int nk_ring_format(void *mem, uint64_t size)
{
    if (size <= NK_RING_HDR_SIZE)
        return NK_ERR_INVAL;
    uint64_t cap = size - NK_RING_HDR_SIZE;
    if (!is_pow2(cap) || cap < 64)
        return NK_ERR_INVAL;
    struct nk_ring_shared *sh = mem;
    memset(sh, 0, NK_RING_HDR_SIZE);
    sh->capacity = cap;
    atomic_thread_fence(memory_order_release);
    sh->magic = NK_RING_MAGIC;
    return NK_OK;
}

int nk_ring_attach(nk_ring *r, void *mem, uint64_t size, int role)
{
    memset(r, 0, sizeof *r);
    struct nk_ring_shared *sh = mem;
    if (size <= NK_RING_HDR_SIZE || (role != NK_PRODUCER && role != NK_CONSUMER))
        return NK_ERR_INVAL;
    uint64_t magic = sh->magic, cap = sh->capacity;
    if (magic != NK_RING_MAGIC || !is_pow2(cap) || cap < 64 || cap != size - NK_RING_HDR_SIZE)
        return NK_ERR_CORRUPT;
    uint64_t head = atomic_load(&sh->head), tail = atomic_load(&sh->tail);
    if (head < tail || head - tail > cap || (head & 7) || (tail & 7))
        return NK_ERR_CORRUPT;
    r->sh = sh;
    r->data = (uint8_t *)mem + NK_RING_HDR_SIZE;
    r->cap = cap;
    r->role = role;
    r->mine = role == NK_PRODUCER ? head : tail;
    r->theirs = role == NK_PRODUCER ? tail : head;
    r->spin_max_ns = NK_DEFAULT_SPIN_NS;
    r->spin_ns = NK_DEFAULT_SPIN_NS;
    return NK_OK;
}

uint32_t nk_ring_max_payload(const nk_ring *r)
{
    uint64_t m = r->cap / 2 - REC_HDR;
    return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

/* The two rings of one channel, seen from one side: `recv` we consume, `send` the
 * other side consumes.  Our running word is recv's consumer_cpu, the peer's is
 * send's; both rings' waits know both.  We run now: say so. */
void nk_ring_pair(nk_ring *recv, nk_ring *send)
{
    _Atomic uint32_t *own = &recv->sh->consumer_cpu, *peer = &send->sh->consumer_cpu;
    recv->own_cpu = send->own_cpu = own;
    recv->peer_cpu = send->peer_cpu = peer;
    int cpu = sched_getcpu();
    atomic_store_explicit(own, cpu < 0 ? 0xFFFFFFFFu : (uint32_t)cpu + 1, memory_order_relaxed);
}

/* While a wait sleeps or spins we are not running: publish 0, and our CPU after. */
static void publish_running(nk_ring *r, int running)
{
    if (!r->own_cpu)
        return;
    int cpu = running ? sched_getcpu() : -1;
    uint32_t word = !running ? 0 : cpu < 0 ? 0xFFFFFFFFu : (uint32_t)cpu + 1;
    atomic_store_explicit(r->own_cpu, word, memory_order_relaxed);
}

/* For a waiter that does not wait on this ring itself (the kernel, on the ring of a
 * process it does not read from this pass): publish our running word by hand. */
void nk_ring_mark_running(nk_ring *r, int running)
{
    publish_running(r, running);
}

void nk_ring_set_spin(nk_ring *r, uint64_t spin_max_ns)
{
    r->spin_max_ns = spin_max_ns;
    r->spin_ns = spin_max_ns;
}

/* ----------------------------------------------------- index validation */

static int corrupt(nk_ring *r)
{
    r->corrupt = 1;
    return NK_ERR_CORRUPT;
}

/* Consumer: refresh and validate the producer's head. */
static int load_head(nk_ring *r)
{
    uint64_t h = atomic_load_explicit(&r->sh->head, memory_order_acquire);
    if (h < r->theirs || h < r->mine || h - r->mine > r->cap || (h & 7))
        return corrupt(r);
    r->theirs = h;
    return NK_OK;
}

/* Producer: refresh and validate the consumer's tail. */
static int load_tail(nk_ring *r)
{
    uint64_t t = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
    if (t < r->theirs || t > r->mine || r->mine - t > r->cap || (t & 7))
        return corrupt(r);
    r->theirs = t;
    return NK_OK;
}

/* --------------------------------------------------------- publication */

static void publish_head(nk_ring *r)
{
    atomic_store_explicit(&r->sh->head, r->mine, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->sh->consumer_waiters, memory_order_relaxed)) {
        r->wakes_sent++;
        bump_and_wake(&r->sh->data_seq);
    }
}

static void publish_tail(nk_ring *r)
{
    atomic_store_explicit(&r->sh->tail, r->mine, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->sh->producer_waiters, memory_order_relaxed)) {
        r->wakes_sent++;
        bump_and_wake(&r->sh->space_seq);
    }
}

/* ------------------------------------------------------------ producer */

/* Bytes a record of `len` payload bytes takes if written at r->mine,
 * including the PAD record needed to skip to the start of the area. */
static uint64_t footprint(const nk_ring *r, uint32_t len)
{
    uint64_t total = REC_HDR + ALIGN8((uint64_t)len);
    uint64_t off = r->mine & (r->cap - 1);
    return off + total > r->cap ? (r->cap - off) + total : total;
}

static int has_room(nk_ring *r, uint32_t len)
{
    uint64_t need = footprint(r, len);
    if (r->cap - (r->mine - r->theirs) >= need)
        return 1;
    if (load_tail(r) != NK_OK)
        return NK_ERR_CORRUPT;
    return r->cap - (r->mine - r->theirs) >= need;
}

static void write_pad_if_needed(nk_ring *r, uint32_t len)
{
    uint64_t total = REC_HDR + ALIGN8((uint64_t)len);
    uint64_t off = r->mine & (r->cap - 1);
    if (off + total <= r->cap)
        return;
    struct nk_record pad = { (uint32_t)(r->cap - off - REC_HDR), NK_REC_PAD };
    memcpy(r->data + off, &pad, REC_HDR);
    r->mine += r->cap - off;
}

/* Write one record made of two pieces (header + body, or one piece and an
 * empty one) without publishing it.  The caller has checked the room. */
static uint8_t *write_record(nk_ring *r, const void *a, uint32_t alen,
                             const void *b, uint32_t blen)
{
    uint32_t len = alen + blen;
    write_pad_if_needed(r, len);
    uint64_t off = r->mine & (r->cap - 1);
    struct nk_record rec = { len, 0 };
    uint8_t *payload = r->data + off + REC_HDR;
    memcpy(r->data + off, &rec, REC_HDR);
    if (alen)
        memcpy(payload, a, alen);
    if (blen)
        memcpy(payload + alen, b, blen);
    r->mine += REC_HDR + ALIGN8((uint64_t)len);
    return payload;
}

static int check_put(nk_ring *r, uint64_t len)
{
    if (r->corrupt)
        return NK_ERR_CORRUPT;
    if (r->role != NK_PRODUCER)
        return NK_ERR_INVAL;
    if (len > nk_ring_max_payload(r))
        return NK_ERR_TOOBIG;
    return NK_OK;
}

int nk_ring_putv(nk_ring *r, const void *a, uint32_t alen, const void *b, uint32_t blen)
{
    int rc = check_put(r, (uint64_t)alen + blen);
    if (rc != NK_OK)
        return rc;
    rc = has_room(r, alen + blen);
    if (rc <= 0)
        return rc == 0 ? NK_ERR_FULL : rc;
    write_record(r, a, alen, b, blen);
    publish_head(r);
    return NK_OK;
}

int nk_ring_put(nk_ring *r, const void *buf, uint32_t len)
{
    return nk_ring_putv(r, buf, len, NULL, 0);
}

/* Put records lens[0..n) found back to back in buf; publish once.
 * Returns how many were put (stops at the first that does not fit). */
int64_t nk_ring_put_many(nk_ring *r, const void *buf, const uint32_t *lens, uint32_t n)
{
    const uint8_t *p = buf;
    uint32_t i;
    for (i = 0; i < n; i++) {
        int rc = check_put(r, lens[i]);
        if (rc == NK_OK)
            rc = has_room(r, lens[i]);
        if (rc < 0 && i == 0)
            return rc;
        if (rc <= 0)
            break;
        write_record(r, p, lens[i], NULL, 0);
        p += lens[i];
    }
    if (i)
        publish_head(r);
    return i;
}

/* Put one message: header built here from the arguments, then the body. */
int nk_msg_put(nk_ring *r, int32_t dst, uint16_t kind, uint16_t flags,
               uint64_t id, const void *body, uint32_t body_len)
{
    nk_msg_header h = { 0, dst, kind, flags, body_len, id };
    return nk_ring_putv(r, &h, NK_HEADER_SIZE, body, body_len);
}

/* ------------------------------------------------------------ consumer */

/* Locate the next record at r->mine: skips a PAD record, validates the
 * length.  Returns the payload length, NK_ERR_EMPTY or NK_ERR_CORRUPT. */
static int64_t next_record(nk_ring *r, uint8_t **payload)
{
    if (r->corrupt)
        return NK_ERR_CORRUPT;
    if (r->role != NK_CONSUMER)
        return NK_ERR_INVAL;
    for (int pass = 0; pass < 2; pass++) {
        if (r->theirs == r->mine) {
            if (load_head(r) != NK_OK)
                return NK_ERR_CORRUPT;
            if (r->theirs == r->mine)
                return NK_ERR_EMPTY;
        }
        uint64_t off = r->mine & (r->cap - 1);
        uint64_t avail = r->theirs - r->mine;
        uint64_t word = __atomic_load_n((uint64_t *)(r->data + off), __ATOMIC_RELAXED);
        struct nk_record rec;
        memcpy(&rec, &word, sizeof rec);
        if (rec.flags == NK_REC_PAD) {
            uint64_t skip = r->cap - off;
            if (pass || rec.len != skip - REC_HDR || skip > avail)
                return corrupt(r);
            r->mine += skip;
            continue;
        }
        uint64_t total = REC_HDR + ALIGN8((uint64_t)rec.len);
        if (rec.flags != 0 || rec.len > nk_ring_max_payload(r) ||
            total > avail || off + total > r->cap)
            return corrupt(r);
        *payload = r->data + off + REC_HDR;
        return rec.len;
    }
    return corrupt(r);
}

static void consume(nk_ring *r, uint32_t len)
{
    r->mine += REC_HDR + ALIGN8((uint64_t)len);
}

/* Copy the next record into buf.  Returns its length, NK_ERR_EMPTY,
 * NK_ERR_CORRUPT, or NK_ERR_SMALLBUF (record left in place). */
int64_t nk_ring_get(nk_ring *r, void *buf, uint32_t buflen)
{
    uint8_t *p;
    int64_t len = next_record(r, &p);
    if (len < 0)
        return len;
    if (len > buflen)
        return NK_ERR_SMALLBUF;
    memcpy(buf, p, len);
    consume(r, (uint32_t)len);
    publish_tail(r);
    return len;
}

/* Copy up to maxn records back to back into buf, their lengths into lens;
 * publish the tail once.  Returns the count (0: empty) or an error when the
 * very first record fails. */
int64_t nk_ring_get_many(nk_ring *r, void *buf, uint64_t buflen, uint32_t *lens, uint32_t maxn)
{
    uint8_t *out = buf;
    uint64_t used = 0;
    uint32_t i;
    for (i = 0; i < maxn; i++) {
        uint8_t *p;
        int64_t len = next_record(r, &p);
        if (len == NK_ERR_EMPTY)
            break;
        if (len < 0 && i == 0)
            return len;
        if (len < 0 || used + len > buflen)
            break;
        memcpy(out + used, p, len);
        lens[i] = (uint32_t)len;
        used += len;
        consume(r, (uint32_t)len);
    }
    if (i)
        publish_tail(r);
    return i;
}

/* Copy the first n bytes of the next record without consuming it.
 * Returns the record's full length (or an error). */
int64_t nk_ring_peek(nk_ring *r, void *buf, uint32_t n)
{
    uint8_t *p;
    int64_t len = next_record(r, &p);
    if (len < 0)
        return len;
    memcpy(buf, p, len < n ? (size_t)len : n);
    return len;
}

int64_t nk_ring_discard(nk_ring *r)
{
    uint8_t *p;
    int64_t len = next_record(r, &p);
    if (len < 0)
        return len;
    consume(r, (uint32_t)len);
    publish_tail(r);
    return len;
}

/* Read the next message: header into *h, body into body (at most bodylen).
 * Returns the body length; NK_ERR_BADMSG (record consumed) when the record is
 * too short for a header or its body_len disagrees with the record. */
int64_t nk_msg_get(nk_ring *r, nk_msg_header *h, void *body, uint32_t bodylen)
{
    uint8_t *p;
    int64_t len = next_record(r, &p);
    if (len < 0)
        return len;
    if ((uint64_t)len < NK_HEADER_SIZE) {
        memset(h, 0, sizeof *h);
        consume(r, (uint32_t)len);
        publish_tail(r);
        return NK_ERR_BADMSG;
    }
    uint64_t blen = (uint64_t)len - NK_HEADER_SIZE;
    if (blen > bodylen)
        return NK_ERR_SMALLBUF;
    memcpy(h, p, NK_HEADER_SIZE);
    memcpy(body, p + NK_HEADER_SIZE, blen);
    consume(r, (uint32_t)len);
    publish_tail(r);
    if (h->body_len != blen)
        return NK_ERR_BADMSG;
    return (int64_t)blen;
}

/* Kernel fast path: copy the header of the next message into *h.
 * Returns the record length, NK_ERR_EMPTY/CORRUPT, or NK_ERR_BADMSG when the
 * record cannot be a message (it is left in place; discard it). */
int64_t nk_msg_peek(nk_ring *r, nk_msg_header *h)
{
    uint8_t *p;
    int64_t len = next_record(r, &p);
    if (len < 0)
        return len;
    if ((uint64_t)len < NK_HEADER_SIZE) {
        memset(h, 0, sizeof *h);
        return NK_ERR_BADMSG;
    }
    memcpy(h, p, NK_HEADER_SIZE);
    if ((uint64_t)h->body_len != (uint64_t)len - NK_HEADER_SIZE)
        return NK_ERR_BADMSG;
    return len;
}

/* Kernel fast path: move the next record of src into dst as the message the
 * kernel checked: `checked` is the header it peeked and admitted, and it is
 * what dst's copy starts with (its src field `stamp`) — not whatever the
 * sender may have written over its record since, in memory it shares with us.
 * A record whose length changed since the peek is a corrupt ring.  Returns the
 * record length, NK_ERR_FULL (dst has no room; src untouched), NK_ERR_EMPTY,
 * NK_ERR_CORRUPT (src corrupt) or NK_ERR_CORRUPT_DST (dst corrupt; src untouched). */
int64_t nk_ring_forward(nk_ring *src, nk_ring *dst, int32_t stamp,
                        const nk_msg_header *checked)
{
    uint8_t *p;
    int64_t len = next_record(src, &p);
    if (len < 0)
        return len;
    if ((uint64_t)len != (uint64_t)NK_HEADER_SIZE + checked->body_len)
        return corrupt(src);
    int rc = check_put(dst, (uint64_t)len);
    if (rc == NK_OK)
        rc = has_room(dst, (uint32_t)len);
    if (rc == NK_ERR_CORRUPT)
        return NK_ERR_CORRUPT_DST;
    if (rc < 0)
        return rc;
    if (rc == 0)
        return NK_ERR_FULL;
    uint8_t *q = write_record(dst, p, (uint32_t)len, NULL, 0);
    nk_msg_header h = *checked;
    h.src = stamp;
    memcpy(q, &h, NK_HEADER_SIZE);
    consume(src, (uint32_t)len);
    publish_head(dst);
    publish_tail(src);
    return len;
}

/* ------------------------------------------------------------ queries */

/* Where the shared fields live, for tests that corrupt them on purpose. */
void nk_ring_layout(uint64_t *head_off, uint64_t *tail_off, uint64_t *data_off)
{
    *head_off = offsetof(struct nk_ring_shared, head);
    *tail_off = offsetof(struct nk_ring_shared, tail);
    *data_off = NK_RING_HDR_SIZE;
}

int nk_ring_readable(nk_ring *r)
{
    uint8_t *p;
    int64_t len = next_record(r, &p);
    if (len == NK_ERR_EMPTY)
        return 0;
    return len < 0 ? (int)len : 1;
}

int nk_ring_writable(nk_ring *r, uint32_t len)
{
    int rc = check_put(r, len);
    if (rc != NK_OK)
        return rc;
    return has_room(r, len);
}

/* How many sides sleep on this ring's futexes: a process with a sleeper on its
 * down ring (waiting for a message) or its up ring (a SEND waiting for room)
 * waits for the kernel — what an ordered kernel waits for (kernel/quiescence.py).
 * A hint read from shared memory, never trusted further. */
uint32_t nk_ring_waiters(nk_ring *r)
{
    return atomic_load_explicit(&r->sh->consumer_waiters, memory_order_acquire)
         + atomic_load_explicit(&r->sh->producer_waiters, memory_order_acquire);
}

uint64_t nk_ring_used(nk_ring *r)
{
    if (r->role == NK_PRODUCER) {
        if (load_tail(r) != NK_OK)
            return 0;
        return r->mine - r->theirs;
    }
    if (load_head(r) != NK_OK)
        return 0;
    return r->theirs - r->mine;
}

/* ------------------------------------------------------------- waiting */

/* Wait until pred(r, len) is non-zero, spinning up to r->spin_ns first and
 * then sleeping on `seq`.  Returns 1 ready, an error (NK_ERR_CORRUPT,
 * NK_ERR_INTR on a signal), or 0: the timeout passed, or the sleeper was
 * woken while the condition is still false (nk_ring_kick; room freed but not
 * enough yet) — callers that want to keep waiting call again. */
typedef int (*ready_fn)(nk_ring *, uint32_t);

static int ready_to_read(nk_ring *r, uint32_t unused) { (void)unused; return nk_ring_readable(r); }

/* Adaptive spin: how long to poll before sleeping, learned from each wait.
 * A spin that catches the peer restores the full budget; a wait that ends in
 * a sleep halves it, down to spin_max / SPIN_FLOOR_DIV.  The floor keeps a
 * short spin after an idle spell, so a peer that answers within
 * microseconds again is noticed (only a spin that succeeds can show that).
 *
 * The spin yields the CPU every SPIN_POLLS polls.  With as many runnable
 * processes as cores — or more — the peer we wait for may be queued on our
 * own CPU: after a few wake-ups Linux tends to put a ping-pong pair on one
 * CPU (wake-affine), and there it can only answer once we stop.  Measured on
 * a 2-vCPU VM, 64-byte round trip after an idle spell: pure spin then futex
 * 15 µs, spin with sched_yield 8.4 µs; with the pair on two CPUs 1.6 µs
 * either way.  With nothing else runnable, sched_yield returns at once.
 *
 * (The kernel's nk_wait_any sleeps at once when its peers do not run elsewhere.
 * Here that was tried too and measured worse: a process waits for the kernel,
 * whose running word still says "waiting" when the process starts to wait (it
 * was woken but has not run yet), so the process slept on a futex it could
 * have yielded past.  nanokernel bench call --quick, 3 runs interleaved, every
 * process on one CPU: routed call p50 63-95 us with this spin, 82-93 us
 * without; the same either way with the OS placing them.  The spin stays
 * bounded: spin_ns adapts down to spin_max / SPIN_FLOOR_DIV.) */
#define SPIN_FLOOR_DIV 8
#define SPIN_POLLS     32

static void adapt_spin(nk_ring *r, int slept)
{
    uint64_t floor = r->spin_max_ns / SPIN_FLOOR_DIV;
    if (!slept)
        r->spin_ns = r->spin_max_ns;
    else
        r->spin_ns = r->spin_ns / 2 > floor ? r->spin_ns / 2 : floor;
}

static int wait_slow(nk_ring *r, ready_fn pred, uint32_t len, _Atomic uint32_t *seq,
                     _Atomic uint32_t *waiters, int64_t timeout_ns, uint32_t seq0);

static int wait_for(nk_ring *r, ready_fn pred, uint32_t len, _Atomic uint32_t *seq,
                    _Atomic uint32_t *waiters, int64_t timeout_ns)
{
    uint32_t seq0 = atomic_load_explicit(seq, memory_order_seq_cst);   /* to notice a kick */
    int rc = pred(r, len);
    if (rc != 0 || timeout_ns == 0)
        return rc;
    publish_running(r, 0);
    rc = wait_slow(r, pred, len, seq, waiters, timeout_ns, seq0);
    publish_running(r, 1);
    return rc;
}

static int wait_slow(nk_ring *r, ready_fn pred, uint32_t len, _Atomic uint32_t *seq,
                     _Atomic uint32_t *waiters, int64_t timeout_ns, uint32_t seq0)
{
    int rc;
    int64_t start = now_ns();
    int64_t deadline = timeout_ns < 0 ? INT64_MAX : start + timeout_ns;
    int64_t spin_end = start + (int64_t)r->spin_ns;
    if (spin_end > deadline)
        spin_end = deadline;
    for (unsigned i = 1;; i++) {
        cpu_relax();
        if ((rc = pred(r, len)) != 0) {
            adapt_spin(r, 0);
            return rc;
        }
        if (i % SPIN_POLLS == 0) {
            if (now_ns() >= spin_end)
                break;
            sched_yield();
        }
    }
    for (;;) {
        atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst);
        uint32_t seen = atomic_load_explicit(seq, memory_order_seq_cst);
        int err = 0;
        rc = pred(r, len);
        if (rc == 0 && seen != seq0) {
            /* Woken (or kicked while spinning) and the condition is still
             * false: a kick (nk_ring_kick), or room freed that is not yet
             * enough.  Return 0 and let the caller look around. */
            atomic_fetch_sub_explicit(waiters, 1, memory_order_seq_cst);
            return 0;
        }
        if (rc == 0) {
            int64_t left = -1;
            if (deadline != INT64_MAX && (left = deadline - now_ns()) <= 0) {
                atomic_fetch_sub_explicit(waiters, 1, memory_order_seq_cst);
                adapt_spin(r, 1);
                return 0;
            }
            r->sleeps++;
            if (futex_wait(seq, seen, left) < 0)
                err = errno;
        }
        atomic_fetch_sub_explicit(waiters, 1, memory_order_seq_cst);
        if (rc == 0)
            rc = pred(r, len);
        if (rc != 0) {
            adapt_spin(r, 1);
            return rc;
        }
        if (err == EINTR)
            return NK_ERR_INTR;
    }
}

int nk_ring_wait_readable(nk_ring *r, int64_t timeout_ns)
{
    return wait_for(r, ready_to_read, 0, &r->sh->data_seq, &r->sh->consumer_waiters, timeout_ns);
}

/* get() that waits: the next record into buf, waiting up to timeout_ns for one — one
 * call from Python instead of three (get, wait, get), which is most of a round trip's
 * cost when the peer answers within a microsecond.  Returns the length, NK_ERR_EMPTY
 * when the wait ended with nothing there (timeout, kick), or an error (NK_ERR_INTR:
 * a signal — the caller runs its handlers and calls again). */
int64_t nk_ring_get_wait(nk_ring *r, void *buf, uint32_t buflen, int64_t timeout_ns)
{
    int64_t n = nk_ring_get(r, buf, buflen);
    if (n != NK_ERR_EMPTY || timeout_ns == 0)
        return n;
    int rc = nk_ring_wait_readable(r, timeout_ns);
    if (rc < 0)
        return rc;
    return nk_ring_get(r, buf, buflen);
}

int nk_ring_wait_writable(nk_ring *r, uint32_t len, int64_t timeout_ns)
{
    return wait_for(r, nk_ring_writable, len, &r->sh->space_seq, &r->sh->producer_waiters, timeout_ns);
}

/* Wake this ring's consumer even though nothing was put: a local thread's
 * doorbell ("look at your private queue"). */
void nk_ring_kick(nk_ring *r)
{
    bump_and_wake(&r->sh->data_seq);
}

/* Signals (kernel/signals.py): the kernel ORs bits into the word of the ring it
 * writes to a process; the process exchanges them out.  A word, not messages:
 * standard signals coalesce, and a handler running between two bytecodes can
 * take them without touching the ring a call may be reading at that moment. */
void nk_ring_signals_post(nk_ring *r, uint64_t bits)
{
    atomic_fetch_or(&r->sh->signals, bits);
}

uint64_t nk_ring_signals_take(nk_ring *r)
{
    return atomic_exchange(&r->sh->signals, 0);
}

/* A private doorbell: a 32-bit futex word in the waiter's own memory. */
uint32_t nk_bell_read(uint32_t *bell)
{
    return __atomic_load_n(bell, __ATOMIC_SEQ_CST);
}

void nk_bell_ring(uint32_t *bell)
{
    __atomic_fetch_add(bell, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, bell, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

#include "nk_wait_any.c"
#include "nk_batch.c"
#include "nk_route.c"
