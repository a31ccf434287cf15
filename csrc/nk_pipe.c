/*
 * nk_pipe.c — a pipe's byte ring in shared memory: locks, copies, futex
 * waits.  Layout, who writes what, and the waiting protocol: nk_pipe.h.
 *
 * Called from Python through cffi in API mode, which releases the GIL for
 * the whole call, so a read or write that waits here never stalls the
 * process's other threads.
 *
 * Rules this file keeps (nk_ring.c's):
 *   - read every shared field once into a local, validate, then use the local;
 *   - never touch memory outside [sh, data + cap): every offset is masked;
 *   - once the pipe is found corrupt it stays corrupt (p->corrupt is sticky),
 *     and once its server is seen gone it stays dead (p->dead).
 * Return values: a byte count (>= 0; a read's 0 is end of file), or one of
 * NK_ERR_EMPTY / NK_ERR_FULL (nonblocking, nothing could move), NK_PIPE_BROKEN,
 * NK_PIPE_DEAD, NK_ERR_INTR (a signal came while waiting; call again),
 * NK_ERR_CORRUPT, NK_ERR_INVAL.  A write that moved some bytes before one of
 * those returns the count instead; the next call reports the condition.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "nk_pipe.h"

#define AGAIN  1   /* internal: a lock is busy and the call may not wait */

/* --------------------------------------------------------------- waiting */

static void deadline_in(struct timespec *ts, int64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ns / 1000000000LL;
    ts->tv_nsec += ns % 1000000000LL;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
struct futex_waitv { uint64_t val; uint64_t uaddr; uint32_t flags; uint32_t __reserved; };
#endif

/* Signals posted to this process (the watched down ring's word; see nk_pipe.h). */
static int signalled(nk_pipe *p)
{
    return p->down && atomic_load(&p->down->sh->signals) != 0;
}

/* Sleep on `word` (still `seen`) for one slice — and on the watched down ring, so
 * that the kernel's NOTIFY of a signal wakes us.  0: woken, timed out or the word
 * had changed; NK_ERR_INTR: a signal (a host one, or one posted to us). */
static int futex_sleep(nk_pipe *p, _Atomic uint32_t *word, uint32_t seen)
{
    struct timespec ts = { p->slice_ns / 1000000000LL, p->slice_ns % 1000000000LL };
    long rc;
    p->sleeps++;
    if (!p->down) {
        /* Shared (not PRIVATE): the waker is another process. */
        rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, seen, &ts, NULL, 0);
    } else {
        struct nk_ring_shared *down = p->down->sh;
        atomic_fetch_add_explicit(&down->consumer_waiters, 1, memory_order_seq_cst);
        struct futex_waitv w[2] = {
            { .val = seen, .uaddr = (uintptr_t)word, .flags = FUTEX_32 },
            { .val = atomic_load(&down->data_seq), .uaddr = (uintptr_t)&down->data_seq,
              .flags = FUTEX_32 },
        };
        atomic_thread_fence(memory_order_seq_cst);
        if (signalled(p)) {   /* posted before we counted ourselves: no wake will come */
            rc = -1;
            errno = EINTR;
        } else {
            struct timespec until;
            deadline_in(&until, p->slice_ns);
            rc = syscall(SYS_futex_waitv, w, 2, 0, &until, CLOCK_MONOTONIC);
        }
        atomic_fetch_sub_explicit(&down->consumer_waiters, 1, memory_order_seq_cst);
    }
    if ((rc < 0 && errno == EINTR) || signalled(p))
        return NK_ERR_INTR;
    return 0;
}

static void bump_and_wake(nk_pipe *p, _Atomic uint32_t *word)
{
    atomic_fetch_add_explicit(word, 1, memory_order_seq_cst);
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    p->wakes++;
}

/* A pidfd polls readable once its process has exited (a zombie too). */
int nk_pipe_server_gone(nk_pipe *p)
{
    if (p->dead)
        return 1;
    if (p->server_pidfd < 0)
        return 0;
    struct pollfd pfd = { .fd = p->server_pidfd, .events = POLLIN };
    if (poll(&pfd, 1, 0) > 0)   /* POLLIN: exited; POLLNVAL: cannot tell — dead too */
        p->dead = 1;
    return p->dead;
}

/* Count this call once among the side's blocked ends (a hint, see nk_pipe.h). */
static void mark_blocked(_Atomic uint32_t *count, int *counted)
{
    if (!*counted) {
        atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
        *counted = 1;
    }
}

/* Take `m`; a dead owner's lock is taken over (nothing it did is half-published). */
static int take_lock(nk_pipe *p, pthread_mutex_t *m, int flags, _Atomic uint32_t *blocked,
                     int *counted)
{
    int rc = pthread_mutex_trylock(m);
    for (;;) {
        if (rc == 0)
            return NK_OK;
        if (rc == EOWNERDEAD)
            return pthread_mutex_consistent(m) == 0 ? NK_OK : (p->corrupt = 1, NK_ERR_CORRUPT);
        if (rc != EBUSY && rc != ETIMEDOUT) {   /* ENOTRECOVERABLE, EINVAL: scribbled on */
            p->corrupt = 1;
            return NK_ERR_CORRUPT;
        }
        if (flags & NK_PIPE_NONBLOCK)
            return AGAIN;
        if (nk_pipe_server_gone(p))
            return NK_PIPE_DEAD;
        if (rc == ETIMEDOUT && signalled(p))
            return NK_ERR_INTR;
        mark_blocked(blocked, counted);
        struct timespec ts;
        deadline_in(&ts, p->slice_ns);
        rc = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
    }
}

/* ---------------------------------------------------------------- copies */

static void copy_in(nk_pipe *p, uint64_t at, const uint8_t *src, uint64_t k)
{
    uint64_t off = at & (p->cap - 1), first = p->cap - off < k ? p->cap - off : k;
    memcpy(p->data + off, src, first);
    memcpy(p->data, src + first, k - first);
}

static void copy_out(nk_pipe *p, uint64_t at, uint8_t *dst, uint64_t k)
{
    uint64_t off = at & (p->cap - 1), first = p->cap - off < k ? p->cap - off : k;
    memcpy(dst, p->data + off, first);
    memcpy(dst + first, p->data, k - first);
}

/* ---------------------------------------------------------------- setup */

uint64_t nk_pipe_bytes_for(uint64_t capacity)
{
    if (capacity < NK_PIPE_BUF || (capacity & (capacity - 1)) || capacity > (1ULL << 40))
        return 0;
    return NK_PIPE_HDR_SIZE + capacity;
}

int nk_pipe_format(void *mem, uint64_t size, uint64_t capacity, int32_t server_pid,
                   uint64_t nonce)
{
    uint64_t need = nk_pipe_bytes_for(capacity);
    if (!mem || !need || size < need)
        return NK_ERR_INVAL;
    struct nk_pipe_shared *sh = mem;
    memset(sh, 0, sizeof *sh);
    pthread_mutexattr_t a;
    if (pthread_mutexattr_init(&a) != 0)
        return NK_ERR_INVAL;
    int bad = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED)
            | pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)
            | pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK)
            | pthread_mutex_init(&sh->wlock, &a)
            | pthread_mutex_init(&sh->rlock, &a);
    pthread_mutexattr_destroy(&a);
    if (bad)
        return NK_ERR_INVAL;
    sh->capacity = capacity;
    sh->nonce = nonce;
    sh->server_pid = server_pid;
    sh->pipe_buf = NK_PIPE_BUF;
    atomic_thread_fence(memory_order_seq_cst);
    __atomic_store_n(&sh->magic, NK_PIPE_MAGIC, __ATOMIC_RELEASE);
    return NK_OK;
}

int nk_pipe_attach(nk_pipe *p, void *mem, uint64_t size, uint64_t nonce, int server_pidfd)
{
    memset(p, 0, sizeof *p);
    p->server_pidfd = -1;
    p->slice_ns = NK_PIPE_SLICE_NS;
    if (!mem || size < NK_PIPE_HDR_SIZE)
        return NK_ERR_INVAL;
    struct nk_pipe_shared *sh = mem;
    uint64_t cap = sh->capacity;
    if (__atomic_load_n(&sh->magic, __ATOMIC_ACQUIRE) != NK_PIPE_MAGIC || sh->nonce != nonce)
        return NK_ERR_INVAL;
    if (!nk_pipe_bytes_for(cap) || nk_pipe_bytes_for(cap) > size)
        return NK_ERR_CORRUPT;
    p->sh = sh;
    p->data = (uint8_t *)mem + NK_PIPE_HDR_SIZE;
    p->cap = cap;
    p->server_pidfd = server_pidfd;
    return NK_OK;
}

/* ---------------------------------------------------------------- reading */

static int64_t read_locked(nk_pipe *p, uint8_t *buf, uint64_t n, int flags, int *counted)
{
    struct nk_pipe_shared *sh = p->sh;
    for (;;) {
        uint64_t tail = atomic_load_explicit(&sh->tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit(&sh->head, memory_order_acquire);
        uint64_t used = head - tail;
        if (used > p->cap) {
            p->corrupt = 1;
            return NK_ERR_CORRUPT;
        }
        if (used) {
            uint64_t k = used < n ? used : n;
            copy_out(p, tail, buf, k);
            atomic_store_explicit(&sh->tail, tail + k, memory_order_release);
            atomic_thread_fence(memory_order_seq_cst);
            if (atomic_load_explicit(&sh->writers_asleep, memory_order_relaxed))
                bump_and_wake(p, &sh->space_seq);
            return (int64_t)k;
        }
        if (atomic_load(&sh->writers) == 0) {
            /* A writer's last bytes were published before its end closed. */
            if (atomic_load_explicit(&sh->head, memory_order_acquire) == head)
                return 0;
            continue;
        }
        if (flags & NK_PIPE_NONBLOCK)
            return NK_ERR_EMPTY;
        if (nk_pipe_server_gone(p))
            return NK_PIPE_DEAD;
        mark_blocked(&sh->readers_blocked, counted);
        atomic_fetch_add_explicit(&sh->readers_asleep, 1, memory_order_seq_cst);
        uint32_t seen = atomic_load(&sh->data_seq);
        atomic_thread_fence(memory_order_seq_cst);
        int rc = 0;
        if (atomic_load(&sh->head) == head && atomic_load(&sh->writers) != 0)
            rc = futex_sleep(p, &sh->data_seq, seen);
        atomic_fetch_sub_explicit(&sh->readers_asleep, 1, memory_order_seq_cst);
        if (rc)
            return rc;
    }
}

int64_t nk_pipe_read(nk_pipe *p, void *buf, uint64_t n, int flags)
{
    if (p->corrupt || !p->sh)
        return NK_ERR_CORRUPT;
    if (!buf || n == 0)
        return NK_ERR_INVAL;
    if (nk_pipe_server_gone(p))
        return NK_PIPE_DEAD;
    struct nk_pipe_shared *sh = p->sh;
    int counted = 0;
    int64_t rc = take_lock(p, &sh->rlock, flags, &sh->readers_blocked, &counted);
    if (rc == NK_OK) {
        rc = read_locked(p, buf, n, flags, &counted);
        pthread_mutex_unlock(&sh->rlock);
    } else if (rc == AGAIN) {
        rc = NK_ERR_EMPTY;   /* another reader waits inside: the pipe is empty */
    }
    if (counted)
        atomic_fetch_sub_explicit(&sh->readers_blocked, 1, memory_order_relaxed);
    return rc;
}

/* ---------------------------------------------------------------- writing */

static int64_t write_locked(nk_pipe *p, const uint8_t *buf, uint64_t n, int flags, int *counted)
{
    struct nk_pipe_shared *sh = p->sh;
    uint64_t done = 0;
    for (;;) {
        if (atomic_load(&sh->readers) == 0)
            return done ? (int64_t)done : NK_PIPE_BROKEN;
        uint64_t head = atomic_load_explicit(&sh->head, memory_order_relaxed);
        uint64_t tail = atomic_load_explicit(&sh->tail, memory_order_acquire);
        uint64_t used = head - tail;
        if (used > p->cap) {
            p->corrupt = 1;
            return NK_ERR_CORRUPT;
        }
        uint64_t room = p->cap - used, left = n - done;
        /* at most PIPE_BUF: all or nothing; more: what fits */
        uint64_t k = left <= room ? left : left <= NK_PIPE_BUF ? 0 : room;
        if (k) {
            copy_in(p, head, buf + done, k);
            atomic_store_explicit(&sh->head, head + k, memory_order_release);
            atomic_thread_fence(memory_order_seq_cst);
            if (atomic_load_explicit(&sh->readers_asleep, memory_order_relaxed))
                bump_and_wake(p, &sh->data_seq);
            done += k;
            if (done == n)
                return (int64_t)done;
            continue;
        }
        if (flags & NK_PIPE_NONBLOCK)
            return done ? (int64_t)done : NK_ERR_FULL;
        if (nk_pipe_server_gone(p))
            return done ? (int64_t)done : NK_PIPE_DEAD;
        mark_blocked(&sh->writers_blocked, counted);
        atomic_fetch_add_explicit(&sh->writers_asleep, 1, memory_order_seq_cst);
        uint32_t seen = atomic_load(&sh->space_seq);
        atomic_thread_fence(memory_order_seq_cst);
        int rc = 0;
        if (atomic_load(&sh->tail) == tail && atomic_load(&sh->readers) != 0)
            rc = futex_sleep(p, &sh->space_seq, seen);
        atomic_fetch_sub_explicit(&sh->writers_asleep, 1, memory_order_seq_cst);
        if (rc)
            return done ? (int64_t)done : rc;
    }
}

int64_t nk_pipe_write(nk_pipe *p, const void *buf, uint64_t n, int flags)
{
    if (p->corrupt || !p->sh)
        return NK_ERR_CORRUPT;
    if (n == 0)
        return 0;
    if (!buf)
        return NK_ERR_INVAL;
    if (nk_pipe_server_gone(p))
        return NK_PIPE_DEAD;
    struct nk_pipe_shared *sh = p->sh;
    if (atomic_load(&sh->readers) == 0)
        return NK_PIPE_BROKEN;
    int counted = 0;
    int64_t rc = take_lock(p, &sh->wlock, flags, &sh->writers_blocked, &counted);
    if (rc == NK_OK) {
        rc = write_locked(p, buf, n, flags, &counted);
        pthread_mutex_unlock(&sh->wlock);
    } else if (rc == AGAIN) {
        rc = NK_ERR_FULL;   /* another writer waits inside for room */
    }
    if (counted)
        atomic_fetch_sub_explicit(&sh->writers_blocked, 1, memory_order_relaxed);
    return rc;
}

/* ---------------------------------------------------------------- the server's side */

/* Publish the pipe's open ends and wake every sleeper to look at them. */
void nk_pipe_set_ends(nk_pipe *p, uint32_t readers, uint32_t writers)
{
    struct nk_pipe_shared *sh = p->sh;
    if (!sh)
        return;
    atomic_store(&sh->readers, readers);
    atomic_store(&sh->writers, writers);
    atomic_thread_fence(memory_order_seq_cst);
    bump_and_wake(p, &sh->data_seq);
    bump_and_wake(p, &sh->space_seq);
}

/* Discard what is buffered (the last reader has gone: nobody can read it); NK_ERR_FULL
 * when a reader still holds the lock (a read in progress: leave the bytes to it). */
int nk_pipe_drop(nk_pipe *p)
{
    struct nk_pipe_shared *sh = p->sh;
    int counted = 0;
    if (!sh || p->corrupt)
        return NK_ERR_CORRUPT;
    int rc = take_lock(p, &sh->rlock, NK_PIPE_NONBLOCK, &sh->readers_blocked, &counted);
    if (rc != NK_OK)
        return rc == AGAIN ? NK_ERR_FULL : rc;
    atomic_store_explicit(&sh->tail, atomic_load_explicit(&sh->head, memory_order_acquire),
                          memory_order_release);
    pthread_mutex_unlock(&sh->rlock);
    return NK_OK;
}

/* ---------------------------------------------------------------- queries */

uint64_t nk_pipe_buffered(nk_pipe *p)
{
    struct nk_pipe_shared *sh = p->sh;
    if (!sh)
        return 0;
    uint64_t tail = atomic_load(&sh->tail), head = atomic_load(&sh->head);
    uint64_t used = head - tail;
    return used > p->cap ? p->cap : used;   /* torn between the loads, or scribbled on */
}

void nk_pipe_blocked(nk_pipe *p, uint32_t *readers, uint32_t *writers)
{
    struct nk_pipe_shared *sh = p->sh;
    *readers = sh ? atomic_load_explicit(&sh->readers_blocked, memory_order_relaxed) : 0;
    *writers = sh ? atomic_load_explicit(&sh->writers_blocked, memory_order_relaxed) : 0;
}

/* Let this view's waits end when a signal is posted to this process (nk_pipe.h). */
void nk_pipe_watch(nk_pipe *p, nk_ring *down)
{
    p->down = down;
}

/* Offsets of head, tail and the data inside a region (for tests that scribble on it). */
void nk_pipe_layout(uint64_t *head_off, uint64_t *tail_off, uint64_t *data_off)
{
    *head_off = offsetof(struct nk_pipe_shared, head);
    *tail_off = offsetof(struct nk_pipe_shared, tail);
    *data_off = NK_PIPE_HDR_SIZE;
}
