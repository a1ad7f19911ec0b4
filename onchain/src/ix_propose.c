/* propose_market: create a market in Proposed; its id is the sha256 of the canonical metadata.
 * Model: `processor._propose_market`. */
#include "program.h"

enum { CONFIG = 0, MARKET = 1, CREATOR = 2 };

err_t ix_propose_market(Ctx *c) {
    const GlobalConfig *cfg = &c->config;
    const ProposeArgs *a = &c->args.propose;
    TRY(require_not_paused(cfg));
    uint64_t min_b = cfg->params.min_b_parameter > LMSR_MIN_B ? cfg->params.min_b_parameter
                                                              : LMSR_MIN_B;
    if (a->b_parameter < min_b || a->b_parameter > LMSR_MAX_B) return ERR_INVALID_BPARAMETER;
    uint64_t worst_loss; /* ceil(b ln 2) = cost(0, 0, b) */
    if (lmsr_cost(0, 0, a->b_parameter, &worst_loss) != LMSR_OK) return ERR_INVALID_BPARAMETER;
    uint64_t floor = cfg->params.min_initial_liquidity > worst_loss
                         ? cfg->params.min_initial_liquidity
                         : worst_loss;
    if (a->initial_liquidity < floor) return ERR_INSUFFICIENT_INITIAL_LIQUIDITY;
    if (key_is_zero(&a->resolver)) return ERR_INVALID_RESOLVER_ACCOUNT;

    MarketAccount *m = &c->market;
    zero_bytes((uint8_t *)m, sizeof(*m));
    copy_bytes(m->market_id, a->market_id, 32);
    copy_bytes(m->creator.x, c->acc[CREATOR]->key->x, 32);
    m->state = STATE_PROPOSED;
    copy_bytes(m->resolver.x, a->resolver.x, 32);
    m->b_parameter = a->b_parameter;
    m->initial_liquidity = a->initial_liquidity;
    m->created_at = c->now;
    m->bump = c->bump[MARKET];
    m->proposed_outcome = OPT_NONE;
    m->final_outcome = OPT_NONE;
    TRY(init_account(c, MARKET, CREATOR, SPACE_MARKET_ACCOUNT, ERR_ALREADY_INITIALIZED));
    store_market(c->acc[MARKET], m);

    uint8_t buf[8 + 32 + 32 + 32 + 32 + 8 + 8 + 1 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w, DISC_EVENT_MARKET_PROPOSED, c, MARKET);
    wr_pubkey(&w, &m->creator);
    wr_pubkey(&w, &m->resolver);
    wr_u64(&w, m->b_parameter);
    wr_u64(&w, m->initial_liquidity);
    wr_u8(&w, m->state);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    return OK;
}
