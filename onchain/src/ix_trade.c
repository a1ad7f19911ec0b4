/* buy_shares and sell_shares: LMSR trades with fees and a slippage bound.
 * A buy pays the LMSR cost plus the resolver and LP fees into the market and the protocol fee
 * to the fee wallet (system-program transfers from the trader); a sale is paid by the market
 * directly (it owns its lamports), the fees staying in it or going to the fee wallet.
 * Model: `processor._buy_shares`, `_sell_shares`, `_record_trade`. */
#include "program.h"

enum { CONFIG = 0, MARKET = 1, POSITION = 2, TRADER = 3, FEE_WALLET = 4 };

static err_t prelude(Ctx *c) {
    const GlobalConfig *cfg = &c->config;
    TRY(require_not_paused(cfg));
    if (c->market.state != STATE_ACTIVE) return ERR_INVALID_MARKET_STATE;
    if (c->args.trade.shares == 0) return ERR_INVALID_SHARE_AMOUNT;
    if (!key_equal(c->acc[FEE_WALLET]->key, &cfg->params.protocol_fee_wallet))
        return ERR_INVALID_FEE_WALLET;
    return OK;
}

static void fees_of(const GlobalConfig *cfg, lmsr_fees *f) {
    f->protocol_bps = cfg->params.protocol_fee_bps;
    f->resolver_bps = cfg->params.resolver_fee_bps;
    f->lp_bps = cfg->params.lp_fee_bps;
}

/* v + d or v - d, checked (the model's _checked_add with a signed delta) */
static bool apply(uint64_t *v, uint64_t d, bool up) {
    if (up) return add_u64(*v, d, v);
    if (d > *v) return false;
    *v -= d;
    return true;
}

static err_t record_trade(Ctx *c, bool is_buy, const lmsr_quote *q) {
    MarketAccount *m = &c->market;
    UserPosition *pos = &c->position;
    bool outcome = c->args.trade.outcome;
    uint64_t shares = c->args.trade.shares;
    bool ok = apply(outcome ? &m->shares_yes : &m->shares_no, shares, is_buy) &&
              apply(&m->current_liquidity, q->amount, is_buy) &&
              add_u64(m->accumulated_resolver_fees, q->resolver_fee,
                      &m->accumulated_resolver_fees) &&
              add_u64(m->accumulated_lp_fees, q->lp_fee, &m->accumulated_lp_fees) &&
              add_u64(m->total_volume, q->amount, &m->total_volume) &&
              add_u32(m->trades_count, 1, &m->trades_count) &&
              apply(outcome ? &pos->shares_yes : &pos->shares_no, shares, is_buy) &&
              add_u64(is_buy ? pos->total_invested : pos->total_withdrawn, q->total,
                      is_buy ? &pos->total_invested : &pos->total_withdrawn) &&
              add_u32(pos->trades_count, 1, &pos->trades_count);
    if (!ok) return ERR_MATH_OVERFLOW;
    pos->last_trade_at = c->now;
    store_market(c->acc[MARKET], m);
    store_position(c->acc[POSITION], pos);

    uint8_t buf[8 + 32 + 32 + 32 + 1 + 16 * 8 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w, is_buy ? DISC_EVENT_SHARES_BOUGHT : DISC_EVENT_SHARES_SOLD, c, MARKET);
    wr_pubkey(&w, c->acc[TRADER]->key);
    wr_bool(&w, outcome);
    wr_u64(&w, shares);
    wr_u64(&w, q->amount);
    wr_u64(&w, q->protocol_fee);
    wr_u64(&w, q->resolver_fee);
    wr_u64(&w, q->lp_fee);
    wr_u64(&w, q->total);
    wr_u64(&w, m->shares_yes);
    wr_u64(&w, m->shares_no);
    wr_u64(&w, q->price_yes_after);
    wr_u64(&w, m->current_liquidity);
    wr_u64(&w, m->total_volume);
    wr_u64(&w, m->accumulated_resolver_fees);
    wr_u64(&w, m->accumulated_lp_fees);
    wr_u64(&w, pos->shares_yes);
    wr_u64(&w, pos->shares_no);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    return OK;
}

err_t ix_buy_shares(Ctx *c) {
    TRY(prelude(c));
    const MarketAccount *m = &c->market;
    const TradeArgs *a = &c->args.trade;
    lmsr_fees fees;
    fees_of(&c->config, &fees);
    lmsr_trade t = {m->shares_yes, m->shares_no, m->b_parameter, a->outcome, a->shares};
    lmsr_quote q;
    if (lmsr_quote_buy(&t, &fees, &q) != LMSR_OK)
        return ERR_TRADE_OUT_OF_RANGE;
    if (q.total > a->limit) return ERR_SLIPPAGE_EXCEEDED;
    if (c->init_path[POSITION]) {
        UserPosition *pos = &c->position;
        zero_bytes((uint8_t *)pos, sizeof(*pos));
        copy_bytes(pos->market.x, c->acc[MARKET]->key->x, 32);
        copy_bytes(pos->user.x, c->acc[TRADER]->key->x, 32);
        pos->bump = c->bump[POSITION];
        TRY(init_account(c, POSITION, TRADER, SPACE_USER_POSITION, ERR_ALREADY_INITIALIZED));
        store_position(c->acc[POSITION], pos);
    }
    /* amount + resolver + lp fees: at most the total, which fits in a u64 */
    TRY(system_transfer(c, TRADER, MARKET, q.amount + q.resolver_fee + q.lp_fee));
    TRY(system_transfer(c, TRADER, FEE_WALLET, q.protocol_fee));
    return record_trade(c, true, &q);
}

err_t ix_sell_shares(Ctx *c) {
    TRY(prelude(c));
    const MarketAccount *m = &c->market;
    const TradeArgs *a = &c->args.trade;
    uint64_t held = a->outcome ? c->position.shares_yes : c->position.shares_no;
    if (held < a->shares) return ERR_INSUFFICIENT_SHARES;
    lmsr_fees fees;
    fees_of(&c->config, &fees);
    lmsr_trade t = {m->shares_yes, m->shares_no, m->b_parameter, a->outcome, a->shares};
    lmsr_quote q;
    if (lmsr_quote_sell(&t, &fees, &q) != LMSR_OK)
        return ERR_TRADE_OUT_OF_RANGE;
    if (q.total < a->limit) return ERR_SLIPPAGE_EXCEEDED;
    TRY(move_lamports(c, MARKET, TRADER, q.total));
    TRY(move_lamports(c, MARKET, FEE_WALLET, q.protocol_fee));
    return record_trade(c, false, &q);
}
