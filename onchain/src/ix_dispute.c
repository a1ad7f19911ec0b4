/* initiate_dispute: any wallet disputes a YES/NO resolution within the dispute period.
 * Model: `processor._initiate_dispute`. */
#include "program.h"

enum { CONFIG = 0, MARKET = 1, INITIATOR = 2 };

err_t ix_initiate_dispute(Ctx *c) {
    MarketAccount *m = &c->market;
    TRY(require_not_paused(&c->config));
    if (m->state != STATE_RESOLVING) return ERR_INVALID_MARKET_STATE;
    if (time_reached(c->now, m->resolution_proposed_at, c->config.params.dispute_period))
        return ERR_DISPUTE_WINDOW_CLOSED;
    if (!OPT_IS_SOME(m->proposed_outcome)) return ERR_INVALID_OUTCOME_NOT_DISPUTABLE;
    m->state = STATE_DISPUTED;
    copy_bytes(m->dispute_initiator.x, c->acc[INITIATOR]->key->x, 32);
    m->dispute_initiated_at = c->now;
    store_market(c->acc[MARKET], m);

    uint8_t buf[8 + 32 + 32 + 32 + 1 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w, DISC_EVENT_MARKET_DISPUTED, c, MARKET);
    wr_pubkey(&w, &m->dispute_initiator);
    wr_u8(&w, m->state);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    return OK;
}
