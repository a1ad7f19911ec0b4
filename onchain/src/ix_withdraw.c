/* withdraw_liquidity: pay the creator what the market holds above its rent and an upper bound
 * of the claims still outstanding; fees first, then pool liquidity, so that
 * lamports = rent + current_liquidity + accumulated fees keeps holding.
 * Model: `processor._withdraw_liquidity`. */
#include "program.h"

enum { MARKET = 0, CREATOR = 1 };

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

err_t ix_withdraw_liquidity(Ctx *c) {
    MarketAccount *m = &c->market;
    if (!key_equal(c->acc[CREATOR]->key, &m->creator)) return ERR_UNAUTHORIZED;
    if (m->state != STATE_FINALIZED && m->state != STATE_CANCELLED)
        return ERR_INVALID_MARKET_STATE;
    uint64_t claims;
    TRY(outstanding_claims(m, &claims));
    uint64_t balance = *c->acc[MARKET]->lamports;
    unsigned __int128 reserved =
        (unsigned __int128)rent_exempt_minimum(*c->acc[MARKET]->data_len) + claims;
    if ((unsigned __int128)balance <= reserved) return ERR_NOTHING_TO_WITHDRAW;
    uint64_t available = balance - (uint64_t)reserved;
    TRY(move_lamports(c, MARKET, CREATOR, available));
    uint64_t from_lp = min_u64(available, m->accumulated_lp_fees);
    uint64_t from_resolver = min_u64(available - from_lp, m->accumulated_resolver_fees);
    uint64_t from_pool = available - from_lp - from_resolver;
    m->accumulated_lp_fees -= from_lp;
    m->accumulated_resolver_fees -= from_resolver;
    if (from_pool > m->current_liquidity) return ERR_MATH_OVERFLOW;
    m->current_liquidity -= from_pool;
    if (!add_u64(m->total_withdrawn, available, &m->total_withdrawn)) return ERR_MATH_OVERFLOW;
    store_market(c->acc[MARKET], m);

    uint8_t buf[8 + 32 + 32 + 32 + 8 + 8 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w, DISC_EVENT_LIQUIDITY_WITHDRAWN, c, MARKET);
    wr_pubkey(&w, &m->creator);
    wr_u64(&w, available);
    wr_u64(&w, m->total_withdrawn);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    return OK;
}
