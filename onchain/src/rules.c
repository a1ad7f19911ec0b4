/* Rules several instructions share: pause, parameter validation, prices, payouts and the
 * evidence CID format. Model: `hybridmarket.program.processor` (validate_params, payout,
 * outstanding_claims, _price_yes) and `accounts.binary_cid_length`. */
#include "program.h"

err_t require_not_paused(const GlobalConfig *cfg) {
    return cfg->is_paused ? ERR_PROTOCOL_PAUSED : OK;
}

/* The market's stored b and shares were range-checked when they were written, so the LMSR
 * cannot refuse them; if it ever did, the trade-range error is the honest report. */
err_t price_yes(const MarketAccount *m, uint64_t *out) {
    if (lmsr_price(m->shares_yes, m->shares_no, m->b_parameter, true, out) != LMSR_OK)
        return ERR_TRADE_OUT_OF_RANGE;
    return OK;
}

static err_t prices(const MarketAccount *m, uint64_t *p_yes, uint64_t *p_no) {
    if (lmsr_price(m->shares_yes, m->shares_no, m->b_parameter, true, p_yes) != LMSR_OK ||
        lmsr_price(m->shares_yes, m->shares_no, m->b_parameter, false, p_no) != LMSR_OK)
        return ERR_TRADE_OUT_OF_RANGE;
    return OK;
}

err_t validate_params(const ConfigParams *p) {
    uint64_t fees = (uint64_t)p->protocol_fee_bps + p->resolver_fee_bps + p->lp_fee_bps;
    bool ok = fees < LMSR_BPS_DENOMINATOR && p->proposal_approval_threshold_bps > 0 &&
              p->proposal_approval_threshold_bps <= LMSR_BPS_DENOMINATOR &&
              p->dispute_success_threshold_bps > 0 &&
              p->dispute_success_threshold_bps <= LMSR_BPS_DENOMINATOR &&
              p->min_proposal_votes >= 1 && p->min_dispute_votes >= 1 &&
              p->min_resolution_delay >= 0 && p->dispute_period > 0 &&
              p->dispute_voting_period > 0 && p->min_b_parameter >= LMSR_MIN_B &&
              p->min_b_parameter <= LMSR_MAX_B && !key_is_zero(&p->backend_authority) &&
              !key_is_zero(&p->protocol_fee_wallet);
    return ok ? OK : ERR_INVALID_CONFIG;
}

/* shares_yes * p_yes + shares_no * p_no, exactly (below 2^96: shares <= 2^64, p <= 10^9). */
static bool weighted(uint64_t sy, uint64_t p_yes, uint64_t sn, uint64_t p_no, u128 *out) {
    u128 a, b;
    u128_mul64(sy, p_yes, &a);
    u128_mul64(sn, p_no, &b);
    return u128_add(a, b, out);
}

err_t payout(const MarketAccount *m, uint64_t shares_yes, uint64_t shares_no, uint64_t *out) {
    if (m->state == STATE_FINALIZED && OPT_IS_SOME(m->final_outcome)) {
        *out = OPT_VALUE(m->final_outcome) ? shares_yes : shares_no;
        return OK;
    }
    uint64_t p_yes, p_no;
    TRY(prices(m, &p_yes, &p_no));
    u128 sum;
    if (!weighted(shares_yes, p_yes, shares_no, p_no, &sum)) return ERR_MATH_OVERFLOW;
    if (!u128_div64(sum, LMSR_PRICE_SCALE, out, NULL)) return ERR_MATH_OVERFLOW;
    return OK;
}

err_t outstanding_claims(const MarketAccount *m, uint64_t *out) {
    if (m->claimed_shares_yes > m->shares_yes || m->claimed_shares_no > m->shares_no)
        return ERR_MATH_OVERFLOW;
    uint64_t uy = m->shares_yes - m->claimed_shares_yes;
    uint64_t un = m->shares_no - m->claimed_shares_no;
    if (m->state == STATE_FINALIZED && OPT_IS_SOME(m->final_outcome)) {
        *out = OPT_VALUE(m->final_outcome) ? uy : un;
        return OK;
    }
    if (m->shares_yes == 0 && m->shares_no == 0) {
        *out = 0;
        return OK;
    }
    uint64_t p_yes, p_no, rem;
    TRY(prices(m, &p_yes, &p_no));
    u128 sum;
    if (!weighted(uy, p_yes, un, p_no, &sum)) return ERR_MATH_OVERFLOW;
    if (!u128_div64(sum, LMSR_PRICE_SCALE, out, &rem)) return ERR_MATH_OVERFLOW;
    if (rem != 0 && !add_u64(*out, 1, out)) return ERR_MATH_OVERFLOW; /* rounded up */
    return OK;
}

/* One unsigned LEB128 varint as the model's `_varint` reads it: at most 9 bytes (shift < 63). */
static bool varint(const uint8_t *buf, uint64_t len, uint64_t *i, uint64_t *value) {
    uint64_t v = 0;
    for (uint64_t shift = 0; *i < len && shift < 63; shift += 7) {
        uint8_t b = buf[*i];
        v |= (uint64_t)(b & 0x7f) << shift;
        (*i)++;
        if (!(b & 0x80)) {
            *value = v;
            return true;
        }
    }
    return false;
}

uint64_t binary_cid_length(const uint8_t *buf, uint64_t len, bool *ok) {
    *ok = false;
    if (len >= 2 && buf[0] == 0x12 && buf[1] == 0x20) { /* CIDv0: a bare sha2-256 multihash */
        *ok = len >= 34;
        return 34;
    }
    uint64_t i = 0, version, codec, mh_code, digest_len;
    if (!varint(buf, len, &i, &version) || version != 1) return 0;
    if (!varint(buf, len, &i, &codec) || !varint(buf, len, &i, &mh_code) ||
        !varint(buf, len, &i, &digest_len))
        return 0;
    uint64_t limit = len < EVIDENCE_CID_LEN ? len : EVIDENCE_CID_LEN;
    if (digest_len == 0 || digest_len > limit || i > limit - digest_len) return 0;
    *ok = true;
    return i + digest_len;
}
