/* claim_winnings: pay a position once after finalization (1 lamport per winning share unit)
 * or, for INVALID and cancelled markets, at the last price. Model: `processor._claim_winnings`. */
#include "program.h"

enum { MARKET = 0, POSITION = 1, OWNER = 2 };

err_t ix_claim_winnings(Ctx *c) {
    MarketAccount *m = &c->market;
    UserPosition *pos = &c->position;
    if (m->state != STATE_FINALIZED && m->state != STATE_CANCELLED)
        return ERR_INVALID_MARKET_STATE;
    if (pos->has_claimed) return ERR_ALREADY_CLAIMED;
    uint64_t amount;
    TRY(payout(m, pos->shares_yes, pos->shares_no, &amount));
    if (amount == 0) return ERR_NOTHING_TO_CLAIM;
    TRY(move_lamports(c, MARKET, OWNER, amount));
    if (amount > m->current_liquidity) return ERR_MATH_OVERFLOW;
    m->current_liquidity -= amount;
    if (!add_u64(m->claimed_shares_yes, pos->shares_yes, &m->claimed_shares_yes) ||
        !add_u64(m->claimed_shares_no, pos->shares_no, &m->claimed_shares_no) ||
        !add_u64(m->total_claimed, amount, &m->total_claimed))
        return ERR_MATH_OVERFLOW;
    pos->has_claimed = true;
    pos->claimed_amount = amount;
    store_market(c->acc[MARKET], m);
    store_position(c->acc[POSITION], pos);

    uint8_t buf[8 + 32 + 32 + 32 + 8 * 4 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w, DISC_EVENT_WINNINGS_CLAIMED, c, MARKET);
    wr_pubkey(&w, &pos->user);
    wr_u64(&w, amount);
    wr_u64(&w, pos->shares_yes);
    wr_u64(&w, pos->shares_no);
    wr_u64(&w, m->total_claimed);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    return OK;
}
