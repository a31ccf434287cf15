/*
 * nk_batch.c — many messages per call: the throughput path.  Included by
 * nk_ring.c (it uses the ring's static helpers).
 *
 * One Python call per message costs microseconds; one C call per batch costs
 * that once.  So a sender can put a batch of SENDs to one destination, the
 * router can forward a run of them with one call, and a receiver can take
 * a batch of messages — each still a whole message with its own header.
 */

/* Put n messages to `dst` of one kind: bodies back to back in `bodies`,
 * their lengths in lens[].  Headers are built here; publish once.  Returns
 * how many were put (stops at the first that does not fit) or an error when
 * the very first one fails. */
int64_t nk_msg_put_many(nk_ring *r, int32_t dst, uint16_t kind, uint16_t flags,
                        const void *bodies, const uint32_t *lens, uint32_t n)
{
    const uint8_t *p = bodies;
    uint32_t i;
    for (i = 0; i < n; i++) {
        uint64_t len = (uint64_t)NK_HEADER_SIZE + lens[i];
        int rc = len > UINT32_MAX ? NK_ERR_TOOBIG : check_put(r, len);
        if (rc == NK_OK)
            rc = has_room(r, (uint32_t)len);
        if (rc < 0 && i == 0)
            return rc;
        if (rc <= 0)
            break;
        nk_msg_header h = { 0, dst, kind, flags, lens[i], 0 };
        write_record(r, &h, NK_HEADER_SIZE, p, lens[i]);
        p += lens[i];
    }
    if (i)
        publish_head(r);
    return i;
}

/* Router fast path: forward the run of messages at the head of `src` that
 * are all of `kind` to `dst_ep` with no flags and a consistent body_len, at
 * most `max_len` bytes each and `max_n` in all, into `dst` (stamping src).
 * Stops at the first message that differs, does not fit, or is malformed —
 * the caller looks at that one itself.  Publishes each side once.  Returns
 * the count; the bytes moved go to *bytes. */
int64_t nk_ring_forward_run(nk_ring *src, nk_ring *dst, int32_t stamp, int32_t dst_ep,
                            uint16_t kind, uint32_t max_len, uint32_t max_n, uint64_t *bytes)
{
    uint32_t i;
    uint64_t moved = 0;
    for (i = 0; i < max_n; i++) {
        uint8_t *p;
        int64_t len = next_record(src, &p);
        if (len < (int64_t)NK_HEADER_SIZE || (uint64_t)len > max_len)
            break;
        nk_msg_header h;
        memcpy(&h, p, NK_HEADER_SIZE);
        if (h.kind != kind || h.dst != dst_ep || h.flags != 0 ||
            (uint64_t)h.body_len != (uint64_t)len - NK_HEADER_SIZE)
            break;
        if (check_put(dst, (uint64_t)len) != NK_OK || has_room(dst, (uint32_t)len) != 1)
            break;
        /* the copy starts with the header checked here, not what the sender may
         * have written over its record since (it shares that memory) */
        uint8_t *q = write_record(dst, p, (uint32_t)len, NULL, 0);
        h.src = stamp;
        memcpy(q, &h, NK_HEADER_SIZE);
        consume(src, (uint32_t)len);
        moved += (uint64_t)len;
    }
    if (i) {
        publish_head(dst);
        publish_tail(src);
    }
    *bytes = moved;
    return i;
}

/* Take up to maxn messages: headers into hdrs[], bodies back to back into
 * `bodies` (at most buflen bytes), body lengths into lens[].  Publishes once.
 * A record that is not a well-formed message is consumed and skipped.
 * Returns the count (0: empty) or an error when the ring is corrupt. */
int64_t nk_msg_get_many(nk_ring *r, nk_msg_header *hdrs, void *bodies, uint64_t buflen,
                        uint32_t *lens, uint32_t maxn)
{
    uint8_t *out = bodies;
    uint64_t used = 0;
    uint32_t n = 0, taken = 0;
    while (n < maxn) {
        uint8_t *p;
        int64_t len = next_record(r, &p);
        if (len == NK_ERR_EMPTY)
            break;
        if (len < 0) {
            if (n == 0 && taken == 0)
                return len;
            break;
        }
        uint64_t blen = (uint64_t)len >= NK_HEADER_SIZE ? (uint64_t)len - NK_HEADER_SIZE : 0;
        if ((uint64_t)len >= NK_HEADER_SIZE && used + blen > buflen)
            break;
        consume(r, (uint32_t)len);
        taken++;
        if ((uint64_t)len < NK_HEADER_SIZE)
            continue;
        memcpy(&hdrs[n], p, NK_HEADER_SIZE);
        if ((uint64_t)hdrs[n].body_len != blen)
            continue;
        memcpy(out + used, p + NK_HEADER_SIZE, blen);
        lens[n++] = (uint32_t)blen;
        used += blen;
    }
    if (taken)
        publish_tail(r);
    return n;
}
