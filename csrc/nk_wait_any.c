/*
 * nk_wait_any.c — the kernel's one blocking point: wait until any of many
 * rings is readable, any of some rings is writable again, or the kernel's own
 * doorbell rings (a child exited, a signal arrived).  Included by nk_ring.c.
 *
 * Spins over every ring for up to spin_ns (yielding the CPU between rounds of
 * polls, as wait_for in nk_ring.c does), then sleeps with futex_waitv(2) on
 * all their sequence words at once (Linux 5.16+).  With more words than
 * futex_waitv takes, it falls back to sleeping on the doorbell alone in short
 * slices and re-scanning: slower, never wrong.
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

/* Returns the number of readable readers written to ready[] (0 when woken
 * for a writer, the bell or the timeout), or NK_ERR_INTR on a signal. */
int64_t nk_wait_any(nk_ring **rd, uint32_t nrd, nk_ring **wr, const uint32_t *wlen,
                    uint32_t nwr, uint32_t *bell, uint32_t bell_seen,
                    int64_t spin_ns, int64_t timeout_ns, uint32_t *ready)
{
    int64_t n = scan(rd, nrd, wr, wlen, nwr, bell, bell_seen, ready);
    if (n >= 0 || timeout_ns == 0)
        return n < 0 ? 0 : n;
    int64_t start = now_ns();
    int64_t deadline = timeout_ns < 0 ? INT64_MAX : start + timeout_ns;
    int64_t spin_end = start + spin_ns < deadline ? start + spin_ns : deadline;
    for (unsigned i = 0; spin_ns > 0; i++) {
        cpu_relax();
        if ((n = scan(rd, nrd, wr, wlen, nwr, bell, bell_seen, ready)) >= 0)
            return n;
        if ((i & 7) == 7) {
            if (now_ns() >= spin_end)
                break;
            sched_yield();   /* let a peer queued on this CPU run (see adapt_spin) */
        }
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
