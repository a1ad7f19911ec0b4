/* The host build's entry points: the program's own LMSR (src/lmsr.c, src/wide.c, and the budget
 * search probe/lmsr_search.c) compiled for the machine the API runs on, called from Python
 * through ctypes by `hybridmarket.program.quote`. Nothing here computes: each function unpacks
 * scalar arguments into the structs lmsr.h takes and copies the result out, so a quote is the
 * program's integer by construction. Scalars rather than structs because ctypes converts a
 * Python int argument faster than it fills a Structure field; the result goes to a caller-owned
 * array of u64s. Built by `python -m hybridmarket.sbf build` into
 * src/hybridmarket/program/lmsr_host.so with -fvisibility=hidden, so only these are exported.
 *
 * Every function returns LMSR_OK or LMSR_OUT_OF_RANGE exactly as the lmsr.h function it wraps. */
#include "lmsr.h"

#define HM_EXPORT __attribute__((visibility("default")))

/* Bumped whenever a signature below changes: the Python side refuses a library of another
 * version instead of calling it with the wrong arguments. */
#define HM_HOST_ABI 1

/* The quote's fields in lmsr_quote's order, without is_buy and outcome (the caller knows them). */
#define HM_QUOTE_FIELDS 11

HM_EXPORT uint64_t hm_host_abi(void) {
    return HM_HOST_ABI;
}

static void copy_quote(const lmsr_quote *q, uint64_t *out) {
    out[0] = q->shares;
    out[1] = q->amount;
    out[2] = q->protocol_fee;
    out[3] = q->resolver_fee;
    out[4] = q->lp_fee;
    out[5] = q->total;
    out[6] = q->price_before;
    out[7] = q->price_after;
    out[8] = q->price_yes_after;
    out[9] = q->average_price;
    out[10] = q->price_impact_bps;
}

static int quote(bool is_buy, uint64_t q_yes, uint64_t q_no, uint64_t b, uint64_t outcome,
                 uint64_t shares, uint64_t protocol_bps, uint64_t resolver_bps, uint64_t lp_bps,
                 uint64_t *out) {
    lmsr_trade t = {q_yes, q_no, b, outcome != 0, shares};
    lmsr_fees fees = {protocol_bps, resolver_bps, lp_bps};
    lmsr_quote q;
    int rc = is_buy ? lmsr_quote_buy(&t, &fees, &q) : lmsr_quote_sell(&t, &fees, &q);
    if (rc == LMSR_OK) {
        copy_quote(&q, out);
    }
    return rc;
}

/* lmsr_quote_buy; out: HM_QUOTE_FIELDS u64s. */
HM_EXPORT int hm_quote_buy(uint64_t q_yes, uint64_t q_no, uint64_t b, uint64_t outcome,
                           uint64_t shares, uint64_t protocol_bps, uint64_t resolver_bps,
                           uint64_t lp_bps, uint64_t *out) {
    return quote(true, q_yes, q_no, b, outcome, shares, protocol_bps, resolver_bps, lp_bps, out);
}

/* lmsr_quote_sell; out: HM_QUOTE_FIELDS u64s. */
HM_EXPORT int hm_quote_sell(uint64_t q_yes, uint64_t q_no, uint64_t b, uint64_t outcome,
                            uint64_t shares, uint64_t protocol_bps, uint64_t resolver_bps,
                            uint64_t lp_bps, uint64_t *out) {
    return quote(false, q_yes, q_no, b, outcome, shares, protocol_bps, resolver_bps, lp_bps, out);
}

/* lmsr_max_shares_for_amount; out: one u64. */
HM_EXPORT int hm_max_shares_for_amount(uint64_t q_yes, uint64_t q_no, uint64_t b,
                                       uint64_t outcome, uint64_t amount, uint64_t protocol_bps,
                                       uint64_t resolver_bps, uint64_t lp_bps, uint64_t *out) {
    lmsr_trade t = {q_yes, q_no, b, outcome != 0, amount};
    lmsr_fees fees = {protocol_bps, resolver_bps, lp_bps};
    return lmsr_max_shares_for_amount(&t, &fees, out);
}

/* lmsr_price; out: one u64. */
HM_EXPORT int hm_price(uint64_t q_yes, uint64_t q_no, uint64_t b, uint64_t outcome,
                       uint64_t *out) {
    return lmsr_price(q_yes, q_no, b, outcome != 0, out);
}
