/*
 * nk_errors.h — return codes and small constants shared by the C side and,
 * through the cffi cdef, by Python (which reads the values from here).
 */
#ifndef NK_ERRORS_H
#define NK_ERRORS_H

#define NK_OK               0
#define NK_ERR_EMPTY       (-1)   /* nothing to read */
#define NK_ERR_FULL        (-2)   /* no room to write */
#define NK_ERR_TOOBIG      (-3)   /* record larger than the ring's maximum */
#define NK_ERR_CORRUPT     (-4)   /* shared indices or record lengths invalid */
#define NK_ERR_INTR        (-5)   /* a signal interrupted a wait */
#define NK_ERR_BADMSG      (-6)   /* record is not a well-formed message */
#define NK_ERR_SMALLBUF    (-7)   /* caller's buffer too small; nothing consumed */
#define NK_ERR_CORRUPT_DST (-8)   /* forward: the destination ring is corrupt */
#define NK_ERR_INVAL       (-9)   /* bad argument (size, role) */

#define NK_PRODUCER 1
#define NK_CONSUMER 2

/* Spin budget before sleeping on a futex.  Short on purpose: with more
 * runnable processes than cores a long spin starves the peer it waits for. */
#define NK_DEFAULT_SPIN_NS 20000

/* futex_waitv accepts at most this many words in one call. */
#define NK_WAITV_MAX 128

#endif
