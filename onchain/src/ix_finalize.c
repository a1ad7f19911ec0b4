/* finalize_market: after the dispute period (no counts) or after the dispute vote (the
 * backend posts the counts); a dispute flips a YES/NO outcome iff quorum and threshold hold.
 * The resolver is paid the accumulated resolver fees unless the outcome is INVALID.
 * Model: `processor._finalize_market`. */
#include "program.h"

enum { CONFIG = 0, MARKET = 1, BACKEND = 2, RESOLVER = 3 };

err_t ix_finalize_market(Ctx *c) {
    const ConfigParams *p = &c->config.params;
    MarketAccount *m = &c->market;
    const FinalizeArgs *a = &c->args.finalize;
    if (!key_equal(c->acc[BACKEND]->key, &p->backend_authority)) return ERR_UNAUTHORIZED;
    if (m->state != STATE_RESOLVING && m->state != STATE_DISPUTED)
        return ERR_INVALID_MARKET_STATE;
    if (!key_equal(c->acc[RESOLVER]->key, &m->resolver)) return ERR_INVALID_RESOLVER_ACCOUNT;
    opt_bool final = m->proposed_outcome;
    bool flipped = false;
    uint64_t agree = 0, disagree = 0;
    if (m->state == STATE_RESOLVING) {
        if (a->has_agree || a->has_disagree) return ERR_INVALID_VOTE_COUNTS;
        if (!time_reached(c->now, m->resolution_proposed_at, p->dispute_period))
            return ERR_FINALIZE_TOO_EARLY;
    } else {
        if (!a->has_agree || !a->has_disagree) return ERR_INVALID_VOTE_COUNTS;
        if (!time_reached(c->now, m->dispute_initiated_at, p->dispute_voting_period))
            return ERR_FINALIZE_TOO_EARLY;
        agree = a->agree;
        disagree = a->disagree;
        uint64_t total = agree + disagree; /* two u32: no overflow */
        if (total > m->dispute_total_votes) return ERR_VOTE_COUNTS_EXCEED_RECORDS;
        flipped = total > 0 && total >= p->min_dispute_votes &&
                  agree * LMSR_BPS_DENOMINATOR >= p->dispute_success_threshold_bps * total;
        if (flipped && OPT_IS_SOME(final)) final = OPT_SOME(!OPT_VALUE(final));
    }
    uint64_t resolver_fee = OPT_IS_SOME(final) ? m->accumulated_resolver_fees : 0;
    if (resolver_fee) TRY(move_lamports(c, MARKET, RESOLVER, resolver_fee));
    m->state = STATE_FINALIZED;
    m->final_outcome = final;
    m->dispute_agree = (uint32_t)agree;
    m->dispute_disagree = (uint32_t)disagree;
    m->finalized_at = c->now;
    m->accumulated_resolver_fees -= resolver_fee;
    m->resolver_fee_paid = resolver_fee;
    store_market(c->acc[MARKET], m);

    uint8_t buf[8 + 32 + 32 + 32 + 2 + 2 + 5 + 5 + 1 + 8 + 1 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w, DISC_EVENT_MARKET_FINALIZED, c, MARKET);
    wr_pubkey(&w, c->acc[BACKEND]->key);
    wr_opt_bool(&w, m->proposed_outcome);
    wr_opt_bool(&w, final);
    wr_opt_u32(&w, a->has_agree, a->agree);
    wr_opt_u32(&w, a->has_disagree, a->disagree);
    wr_bool(&w, flipped);
    wr_u64(&w, resolver_fee);
    wr_u8(&w, m->state);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    return OK;
}
