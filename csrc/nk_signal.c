/*
 * nk_signal.c — signals that wake a futex wait.
 *
 * Python runs a signal handler only between bytecodes.  A signal that lands
 * while a process spins inside a C wait (no system call to interrupt) would
 * stay unseen until the wait ends, possibly never.  So for the few signals
 * that mean "stop now" (SIGTERM, and SIGINT/SIGHUP for the kernel) we install
 * a C handler that records the signal and rings the process's doorbell — the
 * same futex word its wait sleeps on — and Python collects the recorded
 * signals with nk_signals_take() after each wait.
 *
 * The handler is async-signal-safe: an atomic OR, an atomic add, one futex
 * system call.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nk_api.h"

static uint32_t *volatile signal_bell;
static uint64_t signals_seen;

static void on_signal(int sig)
{
    __atomic_fetch_or(&signals_seen, (uint64_t)1 << sig, __ATOMIC_SEQ_CST);
    uint32_t *bell = signal_bell;
    if (bell) {
        __atomic_fetch_add(bell, 1, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, bell, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
}

/* Route `sig` to the C handler; its arrival rings `bell` (NULL: only record). */
int nk_signal_ring(int sig, uint32_t *bell)
{
    if (sig <= 0 || sig >= 64)
        return NK_ERR_INVAL;
    if (bell)
        signal_bell = bell;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;   /* no SA_RESTART: a blocking call returns EINTR */
    return sigaction(sig, &sa, NULL) == 0 ? NK_OK : NK_ERR_INVAL;
}

/* The signals recorded since the last call (bit n = signal n), cleared. */
uint64_t nk_signals_take(void)
{
    return __atomic_exchange_n(&signals_seen, 0, __ATOMIC_SEQ_CST);
}
