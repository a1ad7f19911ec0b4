/* resolve_market: the resolver proposes the outcome (None = INVALID) with an evidence CID,
 * no earlier than min_resolution_delay after activation. Model: `processor._resolve_market`. */
#include "program.h"

enum { CONFIG = 0, MARKET = 1, RESOLVER = 2 };

err_t ix_resolve_market(Ctx *c) {
    MarketAccount *m = &c->market;
    const ResolveArgs *a = &c->args.resolve;
    TRY(require_not_paused(&c->config));
    if (!key_equal(c->acc[RESOLVER]->key, &m->resolver)) return ERR_UNAUTHORIZED;
    if (m->state != STATE_ACTIVE) return ERR_INVALID_MARKET_STATE;
    if (!time_reached(c->now, m->activated_at, c->config.params.min_resolution_delay))
        return ERR_RESOLUTION_TOO_EARLY;
    bool ok;
    uint64_t n = binary_cid_length(a->cid, a->cid_len, &ok);
    if (!ok || n != a->cid_len) return ERR_INVALID_EVIDENCE_CID;
    m->state = STATE_RESOLVING;
    m->proposed_outcome = a->outcome;
    zero_bytes(m->ipfs_evidence_hash, EVIDENCE_CID_LEN);
    copy_bytes(m->ipfs_evidence_hash, a->cid, a->cid_len);
    m->resolution_proposed_at = c->now;
    store_market(c->acc[MARKET], m);

    uint8_t buf[8 + 32 + 32 + 32 + 2 + 4 + EVIDENCE_CID_LEN + 1 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w, DISC_EVENT_MARKET_RESOLVED, c, MARKET);
    wr_pubkey(&w, &m->resolver);
    wr_opt_bool(&w, a->outcome);
    wr_u32(&w, a->cid_len);
    wr_bytes(&w, a->cid, a->cid_len);
    wr_u8(&w, m->state);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    return OK;
}
