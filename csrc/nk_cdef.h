/*
 * nk_cdef.h — what Python sees of csrc/, read by build_ffi.py into ffi.cdef().
 *
 * cdef-only: no #include, no _Atomic.  Constants are `...` and structs end in
 * `...;`, so every value and offset comes from the C compiler reading the real
 * headers (nk_msg.h, nk_ring.h, nk_errors.h) — nothing is re-typed in Python.
 * The shared ring layout stays opaque: Python never touches it directly.
 */

#define NK_OK ...
#define NK_ERR_EMPTY ...
#define NK_ERR_FULL ...
#define NK_ERR_TOOBIG ...
#define NK_ERR_CORRUPT ...
#define NK_ERR_INTR ...
#define NK_ERR_BADMSG ...
#define NK_ERR_SMALLBUF ...
#define NK_ERR_CORRUPT_DST ...
#define NK_ERR_INVAL ...
#define NK_PRODUCER ...
#define NK_CONSUMER ...
#define NK_DEFAULT_SPIN_NS ...
#define NK_WAITV_MAX ...
#define NK_RING_HDR_SIZE ...

#define NK_KIND_CALL ...
#define NK_KIND_REPLY ...
#define NK_KIND_ERROR ...
#define NK_KIND_SEND ...
#define NK_KIND_NOTIFY ...
#define NK_KIND_CANCEL ...
#define NK_KIND_MAX ...
#define NK_FLAG_NONBLOCK ...
#define NK_HEADER_SIZE ...
#define NK_EP_KERNEL ...
#define NK_EP_ANY ...
#define NK_SLOT_BITS ...
#define NK_MAX_SLOTS ...
#define NK_FIRST_DYNAMIC ...
#define NK_SLOT_ALIVE ...
#define NK_SLOT_RINGS ...
#define NK_SLOT_HELD ...
#define NK_ROUTE_EMPTY ...
#define NK_ROUTE_SLOW ...
#define NK_ROUTE_BUDGET ...

typedef struct nk_msg_header {
    int32_t  src;
    int32_t  dst;
    uint16_t kind;
    uint16_t flags;
    uint32_t body_len;
    uint64_t id;
    ...;
} nk_msg_header;

typedef struct nk_ring {
    uint64_t cap;
    int      role;
    int      corrupt;
    uint64_t spin_ns;
    uint64_t spin_max_ns;
    uint64_t wakes_sent;
    uint64_t sleeps;
    uint64_t spins;
    ...;
} nk_ring;

typedef struct nk_call {
    uint64_t id;
    int32_t  callee;
    int64_t  t0_ns;
    ...;
} nk_call;

typedef struct nk_slot {
    int32_t  endpoint;
    uint32_t flags;
    uint32_t ncalls;
    uint64_t msgs_in;
    uint64_t msgs_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t ring_high_water;
    ...;
} nk_slot;

typedef struct nk_table {
    uint32_t max_calls;
    uint32_t max_record;
    uint64_t messages_routed;
    uint64_t ring_crossings;
    nk_slot  slot[...];
    ...;
} nk_table;

/* creation */
uint64_t nk_ring_bytes_for(uint64_t capacity);
int      nk_ring_format(void *mem, uint64_t size);
int      nk_ring_attach(nk_ring *r, void *mem, uint64_t size, int role);
uint32_t nk_ring_max_payload(const nk_ring *r);
void     nk_ring_set_spin(nk_ring *r, uint64_t spin_max_ns);
void     nk_ring_pair(nk_ring *recv, nk_ring *send);
void     nk_ring_mark_running(nk_ring *r, int running);

/* producer */
int      nk_ring_put(nk_ring *r, const void *buf, uint32_t len);
int      nk_ring_putv(nk_ring *r, const void *a, uint32_t alen, const void *b, uint32_t blen);
int64_t  nk_ring_put_many(nk_ring *r, const void *buf, const uint32_t *lens, uint32_t n);
int      nk_msg_put(nk_ring *r, int32_t dst, uint16_t kind, uint16_t flags,
                    uint64_t id, const void *body, uint32_t body_len);

/* consumer */
int64_t  nk_ring_get(nk_ring *r, void *buf, uint32_t buflen);
int64_t  nk_ring_get_wait(nk_ring *r, void *buf, uint32_t buflen, int64_t timeout_ns);
int64_t  nk_ring_get_many(nk_ring *r, void *buf, uint64_t buflen, uint32_t *lens, uint32_t maxn);
int64_t  nk_ring_peek(nk_ring *r, void *buf, uint32_t n);
int64_t  nk_ring_discard(nk_ring *r);
int64_t  nk_msg_get(nk_ring *r, nk_msg_header *h, void *body, uint32_t bodylen);
int64_t  nk_msg_peek(nk_ring *r, nk_msg_header *h);
int64_t  nk_ring_forward(nk_ring *src, nk_ring *dst, int32_t stamp,
                         const nk_msg_header *checked);

/* queries and waiting */
int      nk_ring_readable(nk_ring *r);
int      nk_ring_writable(nk_ring *r, uint32_t len);
uint64_t nk_ring_used(nk_ring *r);
uint32_t nk_ring_waiters(nk_ring *r);
void     nk_ring_layout(uint64_t *head_off, uint64_t *tail_off, uint64_t *data_off);
int      nk_ring_wait_readable(nk_ring *r, int64_t timeout_ns);
int      nk_ring_wait_writable(nk_ring *r, uint32_t len, int64_t timeout_ns);
void     nk_ring_kick(nk_ring *r);
void     nk_ring_signals_post(nk_ring *r, uint64_t bits);
uint64_t nk_ring_signals_take(nk_ring *r);
uint32_t nk_bell_read(uint32_t *bell);
void     nk_bell_ring(uint32_t *bell);
int64_t  nk_wait_any(nk_ring **rd, uint32_t nrd, nk_ring **wr, const uint32_t *wlen,
                     uint32_t nwr, uint32_t *bell, uint32_t bell_seen,
                     int64_t spin_ns, int64_t timeout_ns, uint32_t *ready);

/* signals that ring a doorbell (nk_signal.c) */
int      nk_signal_ring(int sig, uint32_t *bell);
uint64_t nk_signals_take(void);

/* batches (nk_batch.c) */
int64_t  nk_msg_put_many(nk_ring *r, int32_t dst, uint16_t kind, uint16_t flags,
                         const void *bodies, const uint32_t *lens, uint32_t n);
int64_t  nk_ring_forward_run(nk_ring *src, nk_ring *dst, int32_t stamp, int32_t dst_ep,
                             uint16_t kind, uint32_t max_len, uint32_t max_n, uint64_t *bytes);
int64_t  nk_msg_get_many(nk_ring *r, nk_msg_header *hdrs, void *bodies, uint64_t buflen,
                         uint32_t *lens, uint32_t maxn);

/* the routing table and the forward path (nk_route.c) */
void     nk_table_init(nk_table *t, uint32_t max_calls, uint32_t max_record);
void     nk_slot_register(nk_table *t, uint32_t slot, int32_t endpoint, nk_ring *up,
                          nk_ring *down, nk_call *calls);
void     nk_slot_clear(nk_table *t, uint32_t slot);
void     nk_slot_flag(nk_table *t, uint32_t slot, uint32_t flag, int on);
void     nk_acl_remember(nk_table *t, uint32_t slot, int32_t dst_ep);
void     nk_acl_forget(nk_table *t, uint32_t slot);
int64_t  nk_call_find(const nk_table *t, uint32_t slot, uint64_t id);
uint32_t nk_call_count(const nk_table *t, uint32_t slot);
int      nk_call_record(nk_table *t, uint32_t slot, uint64_t id, int32_t callee, int64_t t0_ns);
int      nk_call_take(nk_table *t, uint32_t slot, uint64_t id, int32_t callee, int64_t *t0_ns);
int32_t  nk_call_withdraw(nk_table *t, uint32_t slot, uint64_t id);
uint32_t nk_call_waiting_on(const nk_table *t, int32_t callee, int32_t *callers,
                            uint64_t *ids, uint32_t max);
int      nk_call_cycle(const nk_table *t, uint32_t src, uint32_t dst);
int      nk_route_drain(nk_table *t, uint32_t src, uint32_t max_n, nk_msg_header *h,
                        int64_t *len, uint32_t *moved);
int64_t  nk_route_loop(nk_table *t, nk_ring **rd, const uint32_t *slots, uint32_t nrd,
                       uint32_t *bell, uint32_t bell_seen, int64_t spin_ns,
                       uint32_t batch, uint32_t max_rounds, uint32_t *ready);
