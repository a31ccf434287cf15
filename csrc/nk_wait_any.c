/*
 * nk_wait_any.c — the kernel's one blocking point: wait until any of many
 * rings is readable, any of some rings is writable again, or the kernel's own
 * doorbell rings (a child exited, a signal arrived).  Included by nk_ring.c.
 *
 * Spinning fits the machine: the waiter spins (up to spin_ns, never yielding)
 * only while a peer of the rings it waits on runs on ANOTHER CPU — read from
 * the peer's running word (nk_ring_pair) — since only then can the answer
 * come without a wake-up.  A peer that waits, or that shares our CPU, cannot
 * answer while we spin: then we sleep at once.  The waiter publishes its own
 * word on the rings it consumes: 0 from the moment it starts waiting, CPU + 1
 * once it runs again.  (Measured on a 2-vCPU VM with every process on one CPU:
 * spinning there only burned the time the peer needed.)
 *
 * Then it sleeps with futex_waitv(2) on all their sequence words at once
 * (Linux 5.16+).  With more words than futex_waitv takes, it falls back to
 * sleeping on the doorbell alone in short slices and re-scanning: slower,
 * never wrong.
 *
 * The words live in memory the peer can write: a hostile peer that claims to
 * run for ever only makes us spin spin_ns per wait — bounded, never a hang.
 */
#include <sys/syscall.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
struct futex_waitv { uint64_t val; uint64_t uaddr; uint32_t flags; uint32_t __reserved; };
#endif

#define POLL_SLICE_NS 1000000LL

/* Scan: readable readers go to ready[]; returns their count, or -1 when
 * nothing at all is ready (no reader, no writer, bell unchanged). */
static int64_t scan(nk_ring **rd, uint32_t nrd, nk_ring **wr, const uint32_t *wlen,
                    uint32_t nwr, uint32_t *bell, uint32_t bell_seen, uint32_t *ready)
{
    int64_t n = 0, other = 0;
    for (uint32_t i = 0; i < nrd; i++)
        if (nk_ring_readable(rd[i]) != 0)   /* corrupt counts as ready: the caller finds out */
            ready[n++] = i;
    for (uint32_t i = 0; i < nwr && !other; i++)
        if (nk_ring_writable(wr[i], wlen[i]) != 0)
            other = 1;
    if (__atomic_load_n(bell, __ATOMIC_SEQ_CST) != bell_seen)
        other = 1;
    return n || other ? n : -1;
}

static void set_waiters(nk_ring **rd, uint32_t nrd, nk_ring **wr, uint32_t nwr, int delta)
{
    for (uint32_t i = 0; i < nrd; i++)
        atomic_fetch_add_explicit(&rd[i]->sh->consumer_waiters, (uint32_t)delta, memory_order_seq_cst);
    for (uint32_t i = 0; i < nwr; i++)
        atomic_fetch_add_explicit(&wr[i]->sh->producer_waiters, (uint32_t)delta, memory_order_seq_cst);
}

/* Read every sequence word into w[] — BEFORE the caller re-checks the rings,
 * so a put that lands after the check changes a word and fails the wait. */
static uint32_t fill_waitv(struct futex_waitv *w, nk_ring **rd, uint32_t nrd,
                           nk_ring **wr, uint32_t nwr, uint32_t *bell, uint32_t bell_seen)
{
    uint32_t n = 0;
    w[n++] = (struct futex_waitv){ .val = bell_seen, .uaddr = (uintptr_t)bell, .flags = FUTEX_32 };
    for (uint32_t i = 0; i < nrd; i++)
        w[n++] = (struct futex_waitv){
            .val = atomic_load(&rd[i]->sh->data_seq),
            .uaddr = (uintptr_t)&rd[i]->sh->data_seq, .flags = FUTEX_32 };
    for (uint32_t i = 0; i < nwr; i++)
        w[n++] = (struct futex_waitv){
            .val = atomic_load(&wr[i]->sh->space_seq),
            .uaddr = (uintptr_t)&wr[i]->sh->space_seq, .flags = FUTEX_32 };
    return n;
}

static long sleep_waitv(struct futex_waitv *w, uint32_t n, int64_t deadline)
{
    struct timespec ts, *tsp = NULL;
    if (deadline != INT64_MAX) {
        ts.tv_sec = deadline / 1000000000LL;
        ts.tv_nsec = deadline % 1000000000LL;
        tsp = &ts;
    }
    return syscall(SYS_futex_waitv, w, n, 0, tsp, CLOCK_MONOTONIC);
}

static uint32_t this_cpu(void)
{
    int cpu = sched_getcpu();
    return cpu < 0 ? 0xFFFFFFFFu : (uint32_t)cpu + 1;
}

/* Publish our running word (0: waiting) — once per distinct word: the kernel waits
 * on many rings, each with its own word for its own peer. */
static void mark_running(nk_ring **rd, uint32_t nrd, uint32_t word)
{
    for (uint32_t i = 0; i < nrd; i++)
        if (rd[i]->own_cpu)
            atomic_store_explicit(rd[i]->own_cpu, word, memory_order_relaxed);
}

/* Does a peer of these rings run now, on a CPU other than `me`? */
static int peer_runs_elsewhere(nk_ring **rd, uint32_t nrd, uint32_t me)
{
    for (uint32_t i = 0; i < nrd; i++) {
        if (!rd[i]->peer_cpu)
            continue;
        uint32_t cpu = atomic_load_explicit(rd[i]->peer_cpu, memory_order_relaxed);
        if (cpu && cpu != me)
            return 1;
    }
    return 0;
}

static int64_t wait_any(nk_ring **rd, uint32_t nrd, nk_ring **wr, const uint32_t *wlen,
                        uint32_t nwr, uint32_t *bell, uint32_t bell_seen,
                        int64_t spin_ns, int64_t timeout_ns, uint32_t *ready);

/* Returns the number of readable readers written to ready[] (0 when woken
 * for a writer, the bell or the timeout), or NK_ERR_INTR on a signal. */
int64_t nk_wait_any(nk_ring **rd, uint32_t nrd, nk_ring **wr, const uint32_t *wlen,
                    uint32_t nwr, uint32_t *bell, uint32_t bell_seen,
                    int64_t spin_ns, int64_t timeout_ns, uint32_t *ready)
{
    int64_t n = scan(rd, nrd, wr, wlen, nwr, bell, bell_seen, ready);
    if (n >= 0 || timeout_ns == 0)
        return n < 0 ? 0 : n;
    mark_running(rd, nrd, 0);
    n = wait_any(rd, nrd, wr, wlen, nwr, bell, bell_seen, spin_ns, timeout_ns, ready);
    mark_running(rd, nrd, this_cpu());
    return n;
}

static int64_t wait_any(nk_ring **rd, uint32_t nrd, nk_ring **wr, const uint32_t *wlen,
                        uint32_t nwr, uint32_t *bell, uint32_t bell_seen,
                        int64_t spin_ns, int64_t timeout_ns, uint32_t *ready)
{
    int64_t n;
    int64_t start = now_ns();
    int64_t deadline = timeout_ns < 0 ? INT64_MAX : start + timeout_ns;
    int64_t spin_end = start + spin_ns < deadline ? start + spin_ns : deadline;
    uint32_t me = this_cpu();
    int spin = spin_ns > 0 && peer_runs_elsewhere(rd, nrd, me);
    for (unsigned i = 0; spin; i++) {
        cpu_relax();
        if ((n = scan(rd, nrd, wr, wlen, nwr, bell, bell_seen, ready)) >= 0) {
            rd[0]->spins++;
            return n;
        }
        if ((i & 15) == 15 && (now_ns() >= spin_end || !peer_runs_elsewhere(rd, nrd, me)))
            break;   /* the peer stopped running (or time is up): it will wake us */
    }
    int fits = 1 + nrd + nwr <= NK_WAITV_MAX;
    struct futex_waitv w[NK_WAITV_MAX];
    for (;;) {
        uint32_t nw = 0;
        if (fits) {
            set_waiters(rd, nrd, wr, nwr, 1);
            nw = fill_waitv(w, rd, nrd, wr, nwr, bell, bell_seen);
        }
        n = scan(rd, nrd, wr, wlen, nwr, bell, bell_seen, ready);
        long rc = 0;
        int err = 0;
        if (n < 0) {
            if (deadline != INT64_MAX && now_ns() >= deadline)
                n = 0;
            else if (fits)
                rc = sleep_waitv(w, nw, deadline);
            else {
                int64_t left = deadline == INT64_MAX ? POLL_SLICE_NS : deadline - now_ns();
                rc = futex_wait((_Atomic uint32_t *)bell, bell_seen,
                               left < POLL_SLICE_NS ? left : POLL_SLICE_NS);
            }
            if (rc < 0)
                err = errno;
        }
        if (fits)
            set_waiters(rd, nrd, wr, nwr, -1);
        if (n >= 0)
            return n;
        if ((n = scan(rd, nrd, wr, wlen, nwr, bell, bell_seen, ready)) >= 0)
            return n;
        if (err == EINTR)
            return NK_ERR_INTR;
    }
}
