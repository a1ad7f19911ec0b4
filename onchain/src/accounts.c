/* The program's accounts: 8-byte Anchor discriminator + borsh, zero-padded to the fixed size
 * (generated.h's SPACE_*). Loading applies Anchor's checks in Anchor's order; storing rewrites
 * the whole allocation. Model: `hybridmarket.program.accounts`. */
#include "program.h"

static uint64_t disc_of(const Account *a) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | a->data[i];
    return v;
}

/* The checks before decoding: the data holds the expected discriminator. (Initialization and
 * ownership are checked by validate.c, which knows the account's name.) */
static err_t check_disc(const Account *a, uint64_t disc) {
    if (*a->data_len < 8) return ERR_ACCOUNT_DISCRIMINATOR_NOT_FOUND;
    if (disc_of(a) != disc) return ERR_ACCOUNT_DISCRIMINATOR_MISMATCH;
    return OK;
}

static void reader_of(const Account *a, Reader *r) {
    r->p = a->data;
    r->len = *a->data_len;
    r->off = 8;
    r->bad = false;
}

err_t load_config(const Account *a, GlobalConfig *out) {
    TRY(check_disc(a, DISC_GLOBAL_CONFIG));
    Reader r;
    reader_of(a, &r);
    rd_pubkey(&r, &out->admin);
    rd_config_params(&r, &out->params);
    out->is_paused = rd_bool(&r);
    out->bump = rd_u8(&r);
    rd_bytes(&r, out->reserved, 64);
    return r.bad ? ERR_ACCOUNT_DID_NOT_DESERIALIZE : OK;
}

err_t load_market(const Account *a, MarketAccount *m) {
    TRY(check_disc(a, DISC_MARKET_ACCOUNT));
    Reader r;
    reader_of(a, &r);
    rd_bytes(&r, m->market_id, 32);
    rd_pubkey(&r, &m->creator);
    m->state = rd_enum(&r, STATE_COUNT);
    rd_pubkey(&r, &m->resolver);
    m->b_parameter = rd_u64(&r);
    m->shares_yes = rd_u64(&r);
    m->shares_no = rd_u64(&r);
    m->current_liquidity = rd_u64(&r);
    m->initial_liquidity = rd_u64(&r);
    m->total_volume = rd_u64(&r);
    m->accumulated_resolver_fees = rd_u64(&r);
    m->accumulated_lp_fees = rd_u64(&r);
    m->proposal_likes = rd_u32(&r);
    m->proposal_dislikes = rd_u32(&r);
    m->proposal_total_votes = rd_u32(&r);
    m->dispute_agree = rd_u32(&r);
    m->dispute_disagree = rd_u32(&r);
    m->dispute_total_votes = rd_u32(&r);
    rd_pubkey(&r, &m->dispute_initiator);
    rd_bytes(&r, m->ipfs_evidence_hash, EVIDENCE_CID_LEN);
    m->created_at = rd_i64(&r);
    m->approved_at = rd_i64(&r);
    m->activated_at = rd_i64(&r);
    m->resolution_proposed_at = rd_i64(&r);
    m->dispute_initiated_at = rd_i64(&r);
    m->finalized_at = rd_i64(&r);
    m->cancelled_at = rd_i64(&r);
    m->claimed_shares_yes = rd_u64(&r);
    m->claimed_shares_no = rd_u64(&r);
    m->total_claimed = rd_u64(&r);
    m->total_withdrawn = rd_u64(&r);
    m->resolver_fee_paid = rd_u64(&r);
    m->trades_count = rd_u32(&r);
    m->bump = rd_u8(&r);
    rd_bytes(&r, m->reserved, 64);
    m->proposed_outcome = rd_opt_bool(&r);
    m->final_outcome = rd_opt_bool(&r);
    return r.bad ? ERR_ACCOUNT_DID_NOT_DESERIALIZE : OK;
}

err_t load_position(const Account *a, UserPosition *p) {
    TRY(check_disc(a, DISC_USER_POSITION));
    Reader r;
    reader_of(a, &r);
    rd_pubkey(&r, &p->market);
    rd_pubkey(&r, &p->user);
    p->shares_yes = rd_u64(&r);
    p->shares_no = rd_u64(&r);
    p->total_invested = rd_u64(&r);
    p->total_withdrawn = rd_u64(&r);
    p->trades_count = rd_u32(&r);
    p->last_trade_at = rd_i64(&r);
    p->has_claimed = rd_bool(&r);
    p->claimed_amount = rd_u64(&r);
    p->bump = rd_u8(&r);
    rd_bytes(&r, p->reserved, 32);
    return r.bad ? ERR_ACCOUNT_DID_NOT_DESERIALIZE : OK;
}

err_t load_vote(const Account *a, VoteRecord *v) {
    TRY(check_disc(a, DISC_VOTE_RECORD));
    Reader r;
    reader_of(a, &r);
    rd_pubkey(&r, &v->market);
    rd_pubkey(&r, &v->user);
    v->kind = rd_enum(&r, 2);
    v->vote = rd_bool(&r);
    v->voted_at = rd_i64(&r);
    v->bump = rd_u8(&r);
    return r.bad ? ERR_ACCOUNT_DID_NOT_DESERIALIZE : OK;
}

/* A writer over the account's data with the discriminator written; the caller writes the
 * body and `finish` zero-pads to `space`. Accounts are always allocated at their SPACE by
 * this program, so the data is at least that long. */
static void writer_of(Account *a, uint64_t disc, uint64_t space, Writer *w) {
    w->p = a->data;
    w->cap = *a->data_len < space ? *a->data_len : space;
    w->len = 0;
    wr_u64(w, disc);
}

static void finish(Writer *w) { zero_bytes(w->p + w->len, w->cap - w->len); }

void store_config(Account *a, const GlobalConfig *v) {
    Writer w;
    writer_of(a, DISC_GLOBAL_CONFIG, SPACE_GLOBAL_CONFIG, &w);
    wr_pubkey(&w, &v->admin);
    wr_config_params(&w, &v->params);
    wr_bool(&w, v->is_paused);
    wr_u8(&w, v->bump);
    wr_bytes(&w, v->reserved, 64);
    finish(&w);
}

void store_market(Account *a, const MarketAccount *m) {
    Writer w;
    writer_of(a, DISC_MARKET_ACCOUNT, SPACE_MARKET_ACCOUNT, &w);
    wr_bytes(&w, m->market_id, 32);
    wr_pubkey(&w, &m->creator);
    wr_u8(&w, m->state);
    wr_pubkey(&w, &m->resolver);
    wr_u64(&w, m->b_parameter);
    wr_u64(&w, m->shares_yes);
    wr_u64(&w, m->shares_no);
    wr_u64(&w, m->current_liquidity);
    wr_u64(&w, m->initial_liquidity);
    wr_u64(&w, m->total_volume);
    wr_u64(&w, m->accumulated_resolver_fees);
    wr_u64(&w, m->accumulated_lp_fees);
    wr_u32(&w, m->proposal_likes);
    wr_u32(&w, m->proposal_dislikes);
    wr_u32(&w, m->proposal_total_votes);
    wr_u32(&w, m->dispute_agree);
    wr_u32(&w, m->dispute_disagree);
    wr_u32(&w, m->dispute_total_votes);
    wr_pubkey(&w, &m->dispute_initiator);
    wr_bytes(&w, m->ipfs_evidence_hash, EVIDENCE_CID_LEN);
    wr_i64(&w, m->created_at);
    wr_i64(&w, m->approved_at);
    wr_i64(&w, m->activated_at);
    wr_i64(&w, m->resolution_proposed_at);
    wr_i64(&w, m->dispute_initiated_at);
    wr_i64(&w, m->finalized_at);
    wr_i64(&w, m->cancelled_at);
    wr_u64(&w, m->claimed_shares_yes);
    wr_u64(&w, m->claimed_shares_no);
    wr_u64(&w, m->total_claimed);
    wr_u64(&w, m->total_withdrawn);
    wr_u64(&w, m->resolver_fee_paid);
    wr_u32(&w, m->trades_count);
    wr_u8(&w, m->bump);
    wr_bytes(&w, m->reserved, 64);
    wr_opt_bool(&w, m->proposed_outcome);
    wr_opt_bool(&w, m->final_outcome);
    finish(&w);
}

void store_position(Account *a, const UserPosition *p) {
    Writer w;
    writer_of(a, DISC_USER_POSITION, SPACE_USER_POSITION, &w);
    wr_pubkey(&w, &p->market);
    wr_pubkey(&w, &p->user);
    wr_u64(&w, p->shares_yes);
    wr_u64(&w, p->shares_no);
    wr_u64(&w, p->total_invested);
    wr_u64(&w, p->total_withdrawn);
    wr_u32(&w, p->trades_count);
    wr_i64(&w, p->last_trade_at);
    wr_bool(&w, p->has_claimed);
    wr_u64(&w, p->claimed_amount);
    wr_u8(&w, p->bump);
    wr_bytes(&w, p->reserved, 32);
    finish(&w);
}

void store_vote(Account *a, const VoteRecord *v) {
    Writer w;
    writer_of(a, DISC_VOTE_RECORD, SPACE_VOTE_RECORD, &w);
    wr_pubkey(&w, &v->market);
    wr_pubkey(&w, &v->user);
    wr_u8(&w, v->kind);
    wr_bool(&w, v->vote);
    wr_i64(&w, v->voted_at);
    wr_u8(&w, v->bump);
    finish(&w);
}
