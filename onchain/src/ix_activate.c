/* activate_market: the creator deposits the initial liquidity and trading opens.
 * Model: `processor._activate_market`. */
#include "program.h"

enum { CONFIG = 0, MARKET = 1, CREATOR = 2 };

err_t ix_activate_market(Ctx *c) {
    MarketAccount *m = &c->market;
    TRY(require_not_paused(&c->config));
    if (!key_equal(c->acc[CREATOR]->key, &m->creator)) return ERR_UNAUTHORIZED;
    if (m->state != STATE_APPROVED) return ERR_INVALID_MARKET_STATE;
    TRY(system_transfer(c, CREATOR, MARKET, m->initial_liquidity));
    m->state = STATE_ACTIVE;
    m->current_liquidity = m->initial_liquidity;
    m->activated_at = c->now;
    store_market(c->acc[MARKET], m);
    uint64_t p_yes;
    TRY(price_yes(m, &p_yes));

    uint8_t buf[8 + 32 + 32 + 32 + 8 + 8 + 8 + 1 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w, DISC_EVENT_MARKET_ACTIVATED, c, MARKET);
    wr_pubkey(&w, &m->creator);
    wr_u64(&w, m->initial_liquidity);
    wr_u64(&w, m->current_liquidity);
    wr_u64(&w, p_yes);
    wr_u8(&w, m->state);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    return OK;
}
