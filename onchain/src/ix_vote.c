/* submit_proposal_vote and submit_dispute_vote: one VoteRecord per wallet, market and kind;
 * the market counts the records so the backend cannot post more votes than exist.
 * Model: `processor._vote`. */
#include "program.h"

enum { CONFIG = 0, MARKET = 1, VOTE_RECORD = 2, VOTER = 3 };
enum { KIND_PROPOSAL = 0, KIND_DISPUTE = 1 };

static err_t vote(Ctx *c, uint8_t kind) {
    MarketAccount *m = &c->market;
    TRY(require_not_paused(&c->config));
    if (kind == KIND_PROPOSAL) {
        if (m->state != STATE_PROPOSED) return ERR_INVALID_MARKET_STATE;
    } else {
        if (m->state != STATE_DISPUTED) return ERR_INVALID_MARKET_STATE;
        if (time_reached(c->now, m->dispute_initiated_at,
                         c->config.params.dispute_voting_period))
            return ERR_DISPUTE_VOTING_CLOSED;
    }
    VoteRecord *v = &c->vote;
    copy_bytes(v->market.x, c->acc[MARKET]->key->x, 32);
    copy_bytes(v->user.x, c->acc[VOTER]->key->x, 32);
    v->kind = kind;
    v->vote = c->args.flag;
    v->voted_at = c->now;
    v->bump = c->bump[VOTE_RECORD];
    TRY(init_account(c, VOTE_RECORD, VOTER, SPACE_VOTE_RECORD, ERR_ALREADY_VOTED));
    store_vote(c->acc[VOTE_RECORD], v);

    uint32_t *count = kind == KIND_PROPOSAL ? &m->proposal_total_votes : &m->dispute_total_votes;
    if (!add_u32(*count, 1, count)) return ERR_MATH_OVERFLOW;
    uint8_t buf[8 + 32 + 32 + 32 + 32 + 1 + 4 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_event_header(&w,
                    kind == KIND_PROPOSAL ? DISC_EVENT_PROPOSAL_VOTE_SUBMITTED
                                          : DISC_EVENT_DISPUTE_VOTE_SUBMITTED,
                    c, MARKET);
    wr_pubkey(&w, c->acc[VOTER]->key);
    wr_pubkey(&w, c->acc[VOTE_RECORD]->key);
    wr_bool(&w, v->vote);
    wr_u32(&w, *count);
    wr_i64(&w, c->now);
    emit(buf, w.len);
    store_market(c->acc[MARKET], m);
    return OK;
}

err_t ix_submit_proposal_vote(Ctx *c) { return vote(c, KIND_PROPOSAL); }

err_t ix_submit_dispute_vote(Ctx *c) { return vote(c, KIND_DISPUTE); }
