/*
 * nk_route.c — the forward path: route runs of messages ring to ring without
 * Python.  Included by nk_ring.c (it uses the ring's static helpers).
 * nk_route.h says what C decides and what it hands to Python.
 *
 * The call table functions below are the only code that touches
 * nk_slot.calls: kernel/admit.py calls them for the Python path, and
 * nk_route_drain for the C path, so a reply right is one entry either way.
 */

#include "nk_route.h"

/* ----------------------------------------------------------- the rows */

void nk_table_init(nk_table *t, uint32_t max_calls, uint32_t max_record)
{
    memset(t, 0, sizeof *t);
    t->max_calls = max_calls;
    t->max_record = max_record;
}

void nk_slot_register(nk_table *t, uint32_t slot, int32_t endpoint, nk_ring *up,
                      nk_ring *down, nk_call *calls)
{
    nk_slot *s = &t->slot[slot & (NK_MAX_SLOTS - 1)];
    memset(s, 0, sizeof *s);
    s->endpoint = endpoint;
    s->up = up;
    s->down = down;
    s->calls = calls;
    s->flags = NK_SLOT_ALIVE | (up && down ? NK_SLOT_RINGS : 0);
}

void nk_slot_clear(nk_table *t, uint32_t slot)
{
    memset(&t->slot[slot & (NK_MAX_SLOTS - 1)], 0, sizeof(nk_slot));
}

void nk_slot_flag(nk_table *t, uint32_t slot, uint32_t flag, int on)
{
    nk_slot *s = &t->slot[slot & (NK_MAX_SLOTS - 1)];
    s->flags = on ? s->flags | flag : s->flags & ~flag;
}

/* The live row an endpoint names (a bare well-known slot is an alias), or -1. */
static int32_t resolve(const nk_table *t, int32_t ep, int alias_ok)
{
    if (ep <= 0)
        return -1;
    int32_t slot = ep & (NK_MAX_SLOTS - 1);
    const nk_slot *s = &t->slot[slot];
    if (!(s->flags & NK_SLOT_ALIVE))
        return -1;
    if (s->endpoint == ep || (alias_ok && ep < NK_FIRST_DYNAMIC))
        return slot;
    return -1;
}

/* ------------------------------------------------------ the ACL cache */

void nk_acl_remember(nk_table *t, uint32_t slot, int32_t dst_ep)
{
    nk_slot *s = &t->slot[slot & (NK_MAX_SLOTS - 1)];
    for (uint32_t i = 0; i < s->nallowed; i++)
        if (s->allowed[i] == dst_ep)
            return;
    if (s->nallowed < NK_ACL_CACHE)
        s->allowed[s->nallowed++] = dst_ep;
    else   /* full: forget one (a miss only costs a trip through Python) */
        s->allowed[(uint32_t)dst_ep % NK_ACL_CACHE] = dst_ep;
}

void nk_acl_forget(nk_table *t, uint32_t slot)
{
    t->slot[slot & (NK_MAX_SLOTS - 1)].nallowed = 0;
}

static int acl_cached(const nk_slot *s, int32_t dst_ep)
{
    for (uint32_t i = 0; i < s->nallowed; i++)
        if (s->allowed[i] == dst_ep)
            return 1;
    return 0;
}

/* ------------------------------------------------------ the call table */

int64_t nk_call_find(const nk_table *t, uint32_t slot, uint64_t id)
{
    const nk_slot *s = &t->slot[slot & (NK_MAX_SLOTS - 1)];
    for (uint32_t i = 0; i < s->ncalls; i++)
        if (s->calls[i].id == id)
            return i;
    return -1;
}

uint32_t nk_call_count(const nk_table *t, uint32_t slot)
{
    return t->slot[slot & (NK_MAX_SLOTS - 1)].ncalls;
}

/* 0, or -1 when the row has max_calls already (admit checks first). */
int nk_call_record(nk_table *t, uint32_t slot, uint64_t id, int32_t callee, int64_t t0_ns)
{
    nk_slot *s = &t->slot[slot & (NK_MAX_SLOTS - 1)];
    if (!s->calls || s->ncalls >= t->max_calls)
        return -1;
    s->calls[s->ncalls++] = (nk_call){ id, callee, 0, t0_ns };
    return 0;
}

static void call_remove(nk_slot *s, uint32_t i)
{
    s->calls[i] = s->calls[--s->ncalls];   /* order does not matter */
}

/* seL4's one-shot reply right: if the row's process waits for `callee` to
 * answer call `id`, forget the call and return 1 (its start in *t0_ns). */
int nk_call_take(nk_table *t, uint32_t slot, uint64_t id, int32_t callee, int64_t *t0_ns)
{
    nk_slot *s = &t->slot[slot & (NK_MAX_SLOTS - 1)];
    for (uint32_t i = 0; i < s->ncalls; i++) {
        if (s->calls[i].id == id && s->calls[i].callee == callee) {
            *t0_ns = s->calls[i].t0_ns;
            call_remove(s, i);
            return 1;
        }
    }
    return 0;
}

/* CANCEL: forget call `id`; returns its callee's endpoint, or 0 if none. */
int32_t nk_call_withdraw(nk_table *t, uint32_t slot, uint64_t id)
{
    nk_slot *s = &t->slot[slot & (NK_MAX_SLOTS - 1)];
    int64_t i = nk_call_find(t, slot, id);
    if (i < 0)
        return 0;
    int32_t callee = s->calls[i].callee;
    call_remove(s, (uint32_t)i);
    return callee;
}

/* The calls waiting on `callee`: callers' endpoints and call ids, at most
 * `max`; returns how many there are in all (ps's "serving", exit's errors). */
uint32_t nk_call_waiting_on(const nk_table *t, int32_t callee, int32_t *callers,
                            uint64_t *ids, uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t slot = 0; slot < NK_MAX_SLOTS; slot++) {
        const nk_slot *s = &t->slot[slot];
        for (uint32_t i = 0; s->endpoint && i < s->ncalls; i++) {
            if (s->calls[i].callee != callee)
                continue;
            if (n < max) {
                callers[n] = s->endpoint;
                ids[n] = s->calls[i].id;
            }
            n++;
        }
    }
    return n;
}

/* MINIX's deadlock check: would `src` calling `dst` close a cycle of waiting
 * calls — does `dst`, following outstanding calls, reach `src`? */
int nk_call_cycle(const nk_table *t, uint32_t src, uint32_t dst)
{
    src &= NK_MAX_SLOTS - 1;
    dst &= NK_MAX_SLOTS - 1;
    if (dst == src)
        return 1;
    if (t->slot[dst].ncalls == 0)
        return 0;   /* a callee that waits on nobody closes no cycle: the usual case */
    static uint32_t stack[NK_MAX_SLOTS];    /* the kernel's router thread only */
    uint8_t seen[NK_MAX_SLOTS / 8] = { 0 };
    uint32_t top = 0;
    stack[top++] = dst & (NK_MAX_SLOTS - 1);
    while (top) {
        uint32_t p = stack[--top];
        if (p == src)
            return 1;
        if (seen[p / 8] & (1u << (p % 8)))
            continue;
        seen[p / 8] |= (uint8_t)(1u << (p % 8));
        const nk_slot *s = &t->slot[p];
        for (uint32_t i = 0; i < s->ncalls; i++) {
            int32_t next = resolve(t, s->calls[i].callee, 0);
            if (next >= 0 && top < NK_MAX_SLOTS
                    && !(seen[next / 8] & (1u << (next % 8))))
                stack[top++] = (uint32_t)next;
        }
    }
    return 0;
}

/* ------------------------------------------------------- the forward path */

/* Can C admit this CALL or SEND from row `s`?  The receiver's row, or -1. */
static int32_t admit_c(const nk_table *t, uint32_t src, const nk_msg_header *h)
{
    const nk_slot *s = &t->slot[src];
    int32_t d = resolve(t, h->dst, 1);
    if (d < 0)
        return -1;
    const nk_slot *r = &t->slot[d];
    if ((r->flags & (NK_SLOT_RINGS | NK_SLOT_HELD)) != NK_SLOT_RINGS
            || !acl_cached(s, r->endpoint))
        return -1;
    if (h->kind != NK_KIND_CALL)
        return d;
    if (s->ncalls >= t->max_calls || nk_call_find(t, src, h->id) >= 0)
        return -1;
    if (nk_call_cycle(t, src, (uint32_t)d))
        return -1;
    return d;
}

/* Can C deliver this REPLY or ERROR?  The caller's row, or -1 (no right:
 * Python drops and counts it; or a caller C may not write to). */
static int32_t reply_c(const nk_table *t, uint32_t src, const nk_msg_header *h)
{
    int32_t c = resolve(t, h->dst, 0);
    if (c < 0 || (t->slot[c].flags & (NK_SLOT_RINGS | NK_SLOT_HELD)) != NK_SLOT_RINGS)
        return -1;
    const nk_slot *caller = &t->slot[c];
    for (uint32_t i = 0; i < caller->ncalls; i++)
        if (caller->calls[i].id == h->id && caller->calls[i].callee == t->slot[src].endpoint)
            return c;
    return -1;
}

static void count(nk_table *t, nk_slot *s, nk_slot *r, uint64_t len)
{
    s->msgs_out++;
    s->bytes_out += len;
    r->msgs_in++;
    r->bytes_in += len;
    uint64_t used = r->down->mine - r->down->theirs;
    if (used > r->ring_high_water)
        r->ring_high_water = used;
    t->messages_routed++;
    t->ring_crossings += 2;
}

/* Route up to max_n messages from row `src`'s ring, stopping at the first
 * one C cannot decide (its header goes to *h, its record length to *len,
 * and it stays at the head of the ring for Python).  Each receiver's ring
 * is published when the run moves on to another one, so a run of SENDs
 * wakes its receiver once.  *moved says how many went. */
int nk_route_drain(nk_table *t, uint32_t src, uint32_t max_n, nk_msg_header *h,
                   int64_t *len, uint32_t *moved)
{
    nk_slot *s = &t->slot[src & (NK_MAX_SLOTS - 1)];
    nk_ring *in = s->up, *unpublished = NULL;
    int stop = NK_ROUTE_BUDGET;
    uint32_t n = 0;
    *moved = 0;
    if ((s->flags & (NK_SLOT_ALIVE | NK_SLOT_RINGS)) != (NK_SLOT_ALIVE | NK_SLOT_RINGS))
        return NK_ROUTE_SLOW;   /* not a row C may read */
    while (n < max_n) {
        uint8_t *p;
        int64_t l = next_record(in, &p);
        stop = l == NK_ERR_EMPTY ? NK_ROUTE_EMPTY : NK_ROUTE_SLOW;
        if (l < (int64_t)NK_HEADER_SIZE || (uint64_t)l > t->max_record)
            break;   /* empty, corrupt, malformed or too big: Python's checks */
        memcpy(h, p, NK_HEADER_SIZE);
        *len = l;
        if (h->body_len != (uint64_t)l - NK_HEADER_SIZE || (h->flags & ~NK_FLAG_NONBLOCK))
            break;
        int32_t d = -1;
        if (h->kind == NK_KIND_CALL || h->kind == NK_KIND_SEND)
            d = admit_c(t, src, h);
        else if (h->kind == NK_KIND_REPLY || h->kind == NK_KIND_ERROR)
            d = reply_c(t, src, h);
        if (d < 0)
            break;
        nk_slot *r = &t->slot[d];
        if (check_put(r->down, (uint64_t)l) != NK_OK || has_room(r->down, (uint32_t)l) != 1)
            break;   /* full (back-pressure, queues) or corrupt: Python's */
        if (unpublished && unpublished != r->down)
            publish_head(unpublished);
        unpublished = r->down;
        /* The copy's header is the one checked here, not what the sender may
         * have scribbled since, with the true source stamped on it. */
        uint8_t *q = write_record(r->down, p, (uint32_t)l, NULL, 0);
        h->src = s->endpoint;
        memcpy(q, h, NK_HEADER_SIZE);
        consume(in, (uint32_t)l);
        int64_t t0;
        if (h->kind == NK_KIND_CALL)
            nk_call_record(t, src, h->id, r->endpoint, now_ns());
        else if (h->kind != NK_KIND_SEND)
            nk_call_take(t, (uint32_t)d, h->id, s->endpoint, &t0);
        count(t, s, r, (uint64_t)l);
        n++;
        stop = NK_ROUTE_BUDGET;
    }
    if (unpublished)
        publish_head(unpublished);
    if (n)
        publish_tail(in);
    *moved = n;
    return stop;
}

/* The kernel's quiet loop: wait on every reader's ring, route what C can
 * decide, wait again — Python runs only when it has something to decide.
 * For the usual state of the kernel: nothing held, nobody blocked, no timer
 * (kernel.py falls back to one nk_wait_any per pass otherwise).  rd[i] is
 * the ring of table row slots[i].
 *
 * Returns how many readers hold a message only Python can route (their
 * indexes in ready[]), 0 when the doorbell rang (an exit, a signal) or
 * after max_rounds waits (Python looks around), NK_ERR_INTR on a signal. */
int64_t nk_route_loop(nk_table *t, nk_ring **rd, const uint32_t *slots, uint32_t nrd,
                      uint32_t *bell, uint32_t bell_seen, int64_t spin_ns,
                      uint32_t batch, uint32_t max_rounds, uint32_t *ready)
{
    static uint32_t woken[NK_MAX_SLOTS];   /* the kernel's router thread only */
    for (uint32_t round = 0; round < max_rounds; round++) {
        int64_t n = nk_wait_any(rd, nrd, NULL, NULL, 0, bell, bell_seen, spin_ns, -1, woken);
        if (n <= 0)
            return n;
        uint32_t slow = 0;
        for (int64_t j = 0; j < n; j++) {   /* fairness: start one further each round */
            uint32_t i = woken[(j + round) % n];
            nk_msg_header h;
            int64_t len;
            uint32_t moved;
            if (nk_route_drain(t, slots[i], batch, &h, &len, &moved) == NK_ROUTE_SLOW)
                ready[slow++] = i;
        }
        if (slow)
            return slow;
        if (__atomic_load_n(bell, __ATOMIC_SEQ_CST) != bell_seen)
            return 0;
    }
    return 0;
}
