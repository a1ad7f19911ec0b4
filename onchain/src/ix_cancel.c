/* cancel_market: the backend or the admin cancels a market in any non-terminal state.
 * Model: `processor._cancel_market`. */
#include "program.h"

enum { CONFIG = 0, MARKET = 1, AUTHORITY = 2 };

err_t ix_cancel_market(Ctx *c) {
    const GlobalConfig *cfg = &c->config;
    MarketAccount *m = &c->market;
    const SolPubkey *authority = c->acc[AUTHORITY]->key;
    if (!key_equal(authority, &cfg->params.backend_authority) &&
        !key_equal(authority, &cfg->admin))
        return ERR_UNAUTHORIZED;
    if (m->state == STATE_FINALIZED || m->state == STATE_CANCELLED)
        return ERR_INVALID_MARKET_STATE;
    uint8_t previous = m->state;
    m->state = STATE_CANCELLED;
    m->cancelled_at = c->now;
    store_market(c->acc[MARKET], m);
    uint64_t p_yes;
    TRY(price_yes(m, &p_yes));

    uint8_t buf[8 + 32 + 32 + 32 + 1 + 8 + 1 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w, DISC_EVENT_MARKET_CANCELLED, c, MARKET);
    wr_pubkey(&w, authority);
    wr_u8(&w, previous);
    wr_u64(&w, p_yes);
    wr_u8(&w, m->state);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    return OK;
}
