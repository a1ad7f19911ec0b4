/* approve_market: the backend posts the proposal tally; it approves only if the quorum and
 * the threshold hold and the counts do not exceed the votes recorded on chain.
 * Model: `processor._approve_market`. */
#include "program.h"

enum { CONFIG = 0, MARKET = 1, BACKEND = 2 };

err_t ix_approve_market(Ctx *c) {
    const ConfigParams *p = &c->config.params;
    MarketAccount *m = &c->market;
    if (!key_equal(c->acc[BACKEND]->key, &p->backend_authority)) return ERR_UNAUTHORIZED;
    if (m->state != STATE_PROPOSED) return ERR_INVALID_MARKET_STATE;
    uint64_t likes = c->args.approve.likes, dislikes = c->args.approve.dislikes;
    uint64_t total = likes + dislikes; /* two u32: no overflow */
    if (total > m->proposal_total_votes) return ERR_VOTE_COUNTS_EXCEED_RECORDS;
    if (total < p->min_proposal_votes) return ERR_QUORUM_NOT_REACHED;
    if (likes * LMSR_BPS_DENOMINATOR < p->proposal_approval_threshold_bps * total)
        return ERR_APPROVAL_THRESHOLD_NOT_MET;
    m->state = STATE_APPROVED;
    m->proposal_likes = (uint32_t)likes;
    m->proposal_dislikes = (uint32_t)dislikes;
    m->approved_at = c->now;
    store_market(c->acc[MARKET], m);

    uint8_t buf[8 + 32 + 32 + 32 + 4 + 4 + 1 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w, DISC_EVENT_MARKET_APPROVED, c, MARKET);
    wr_pubkey(&w, c->acc[BACKEND]->key);
    wr_u32(&w, (uint32_t)likes);
    wr_u32(&w, (uint32_t)dislikes);
    wr_u8(&w, m->state);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    return OK;
}
