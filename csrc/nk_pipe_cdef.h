/*
 * nk_pipe_cdef.h — what Python sees of nk_pipe.h (cdef-only: no #include, no
 * _Atomic; the values and the layout come from the compiler reading nk_pipe.h).
 * The shared region stays opaque: Python only calls the functions.
 */

#define NK_PIPE_BUF ...
#define NK_PIPE_CAPACITY ...
#define NK_PIPE_HDR_SIZE ...
#define NK_PIPE_SLICE_NS ...
#define NK_PIPE_NONBLOCK ...
#define NK_PIPE_BROKEN ...
#define NK_PIPE_DEAD ...

typedef struct nk_pipe {
    uint64_t cap;
    int      server_pidfd;
    int      dead;
    int      corrupt;
    int64_t  slice_ns;
    uint64_t sleeps;
    uint64_t wakes;
    ...;
} nk_pipe;

uint64_t nk_pipe_bytes_for(uint64_t capacity);
int      nk_pipe_format(void *mem, uint64_t size, uint64_t capacity, int32_t server_pid,
                        uint64_t nonce);
int      nk_pipe_attach(nk_pipe *p, void *mem, uint64_t size, uint64_t nonce, int server_pidfd);
int64_t  nk_pipe_read(nk_pipe *p, void *buf, uint64_t n, int flags);
int64_t  nk_pipe_write(nk_pipe *p, const void *buf, uint64_t n, int flags);
void     nk_pipe_set_ends(nk_pipe *p, uint32_t readers, uint32_t writers);
int      nk_pipe_drop(nk_pipe *p);
uint64_t nk_pipe_buffered(nk_pipe *p);
void     nk_pipe_blocked(nk_pipe *p, uint32_t *readers, uint32_t *writers);
int      nk_pipe_server_gone(nk_pipe *p);
void     nk_pipe_watch(nk_pipe *p, nk_ring *down);
void     nk_pipe_layout(uint64_t *head_off, uint64_t *tail_off, uint64_t *data_off);
