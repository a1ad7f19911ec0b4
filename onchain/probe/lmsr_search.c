/* The budget search, the model's max_shares_for_amount: the most shares of an outcome whose
 * quote_buy total is at most an amount. The program does not link it (it takes a share count
 * from the trader and refuses a total above the trader's limit); the test probe does, and so
 * does the host library behind the API's quotes (host/lmsr_host.c). It must give the model's
 * integer all the same: the search path depends on the closed-form guess, so the guess is
 * computed floor for floor as the model's _inverse_estimate. */
#include "lmsr_fixed.h"
#include "wide.h"

#define ND LMSR_N_DIGITS
#define ONE_D LMSR_ONE_DIGITS
#define FIX LMSR_FIX_DIGITS
/* target = n_before + net·2^128 < 2^189 + 2^192 < 2^193: seven digits. */
#define TD 7

typedef struct {
    uint64_t q_a;
    uint64_t q_b;
    uint64_t b;
    uint64_t net;
    uint32_t n_before[ND];
} search;

/* The model's _max_net_amount: the largest a with a + fees(a) <= budget, found from
 * budget·10000 / (10000 + total_bps) in at most three steps down. */
static uint64_t max_net_amount(uint64_t budget, const lmsr_fees *fees) {
    uint64_t total_bps = fees->protocol_bps + fees->resolver_bps + fees->lp_bps;
    u128 scaled;
    u128_mul64(budget, LMSR_BPS_DENOMINATOR, &scaled);
    uint64_t a;
    /* The quotient is at most budget: it fits, and the divisor is at least 10000. */
    u128_div64(scaled, LMSR_BPS_DENOMINATOR + total_bps, &a, NULL);
    /* a <= budget, so budget - a does not wrap (a + fees could, near U64_MAX). */
    while (a > 0 && lmsr_fee_sum(a, fees) > budget - a) {
        a -= 1;
    }
    return a;
}

/* fits(s): the rounded cost of s more shares is at most net. A negative numerator (impossible
 * while the error bound holds) is a cost <= 0, which fits, as in the model. */
static bool fits(const search *c, uint64_t s) {
    uint32_t n[ND];
    uint32_t y[ONE_D];
    lmsr_state(c->q_a + s, c->q_b, c->b, n, y);
    uint64_t cost;
    if (!lmsr_round_cost(c->n_before, n, c->b, &cost)) {
        return true;
    }
    return cost <= c->net;
}

/* The model's _inverse_estimate, clamped as its caller does: min(max(estimate, 1), limit).
 *   target = n_before + net·2^128, t = e^(-(target - q_b·2^128) / b), v = ONE - t,
 *   j = 129 - bit_length(v), neg_ln = j·_LN2 - ln1p(v·2^j - ONE),
 *   estimate = floor((target - b·neg_ln) / 2^128) - q_a.
 * neg_ln may be a few ulps negative (j = 1 and ln1p's error above ln 2) and the numerator is
 * signed in the model, so both signs are handled. Returns false when v == 0, which needs
 * t == ONE: impossible, since net >= 1 makes the exponent at least 2^128/b > 2^78. */
static bool inverse_guess(const search *c, uint64_t limit, uint64_t *guess) {
    uint32_t target[TD];
    wide_copy(target, c->n_before, ND);
    target[ND] = 0;
    wide_add_u64(target + 4, TD - 4, c->net);

    /* target - q_b·2^128 >= 0: n_before >= max(q)·2^128. */
    uint32_t qb[TD] = {0, 0, 0, 0, (uint32_t)c->q_b, (uint32_t)(c->q_b >> 32), 0};
    uint32_t rest[TD];
    wide_sub(rest, target, qb, TD);
    uint32_t bd[2] = {(uint32_t)c->b, (uint32_t)(c->b >> 32)};
    uint32_t arg[TD];
    wide_zero(arg, TD);
    wide_divmod(arg, rest, TD, bd, bd[1] != 0 ? 2 : 1);
    /* arg < 2^193 / MIN_B < 2^184: the six digits lmsr_exp_neg takes (arg[6] == 0). */
    uint32_t t[ONE_D];
    lmsr_exp_neg(arg, t);

    uint32_t one[ONE_D] = {0, 0, 0, 0, 1};
    uint32_t v[ONE_D];
    wide_sub(v, one, t, ONE_D); /* t <= ONE */
    uint64_t bits = wide_bit_length(v, ONE_D);
    if (bits == 0) {
        return false;
    }
    uint64_t j = 129 - bits; /* v <= ONE: bits <= 129 */
    uint32_t norm[ONE_D];
    wide_shl(norm, v, ONE_D, j); /* in [2^128, 2^129) */
    norm[4] -= 1;                /* - ONE: now in [0, ONE) */
    uint32_t ln[ONE_D];
    lmsr_ln1p(norm, ln);
    ln[4] = 0;

    /* neg_ln = j·_LN2 - ln, kept as a sign and a magnitude (j <= 128: below 2^136). */
    uint32_t jd[1] = {(uint32_t)j};
    uint32_t j_ln2[ONE_D];
    wide_mul(j_ln2, lmsr_ln2, FIX, jd, 1);
    bool negative = wide_cmp(j_ln2, ln, ONE_D) < 0;
    uint32_t mag[ONE_D];
    if (negative) {
        wide_sub(mag, ln, j_ln2, ONE_D);
    } else {
        wide_sub(mag, j_ln2, ln, ONE_D);
    }
    uint32_t b_mag[TD]; /* b·|neg_ln| < 2^50·2^136 */
    wide_mul(b_mag, mag, ONE_D, bd, 2);

    /* numerator = target - b·neg_ln, eight digits so that a sum cannot carry out. */
    uint32_t num[TD + 1];
    uint32_t sub[TD + 1];
    wide_copy(num, target, TD);
    num[TD] = 0;
    wide_copy(sub, b_mag, TD);
    sub[TD] = 0;
    if (negative) {
        wide_add(num, num, sub, TD + 1);
    } else if (wide_sub(num, num, sub, TD + 1) != 0) {
        *guess = 1; /* a negative numerator floors below 0, so the estimate is below 1 */
        return true;
    }

    /* floor(num / 2^128) - q_a, clamped to [1, limit] (limit <= MAX_SHARES < 2^60). */
    if ((num[6] | num[7]) != 0) {
        *guess = limit; /* the floor is at least 2^64 > q_a + limit */
        return true;
    }
    uint64_t whole = ((uint64_t)num[5] << 32) | num[4];
    uint64_t estimate = whole > c->q_a ? whole - c->q_a : 0;
    if (estimate < 1) {
        estimate = 1;
    }
    *guess = estimate < limit ? estimate : limit;
    return true;
}

int lmsr_max_shares_for_amount(const lmsr_trade *t, const lmsr_fees *fees, uint64_t *out) {
    if (!lmsr_market_valid(t->q_yes, t->q_no, t->b) || !lmsr_fees_valid(fees)) {
        return LMSR_OUT_OF_RANGE;
    }
    search c;
    c.q_a = t->outcome ? t->q_yes : t->q_no;
    c.q_b = t->outcome ? t->q_no : t->q_yes;
    c.b = t->b;
    c.net = max_net_amount(t->shares, fees); /* t->shares holds the budget */
    uint32_t y[ONE_D];
    lmsr_state(c.q_a, c.q_b, c.b, c.n_before, y);

    /* limit = min(MAX_SHARES - q_a, net + cost(q) - q_a): a buy of s shares costs more than
     * q_a + s - cost(q). cost(q) >= max(q) >= q_a, since n_before >= max(q)·2^128. The sum
     * is compared rather than formed, as net + cost can pass 2^64. */
    uint64_t room = LMSR_MAX_SHARES - c.q_a;
    uint64_t extra = lmsr_ceil_cost(c.n_before, c.b) - c.q_a;
    uint64_t limit = (c.net >= room || extra >= room - c.net) ? room : c.net + extra;
    if (c.net < 1 || limit < 1) {
        *out = 0; /* every buy costs at least one lamport */
        return LMSR_OK;
    }

    /* Invariant: lo fits (0 always does), hi does not (limit + 1 stands for "out of range"). */
    uint64_t guess;
    if (!inverse_guess(&c, limit, &guess)) {
        return LMSR_OUT_OF_RANGE;
    }
    uint64_t lo;
    uint64_t hi;
    uint64_t step = 1; /* doubles at most ~61 times before hi reaches limit + 1 */
    if (fits(&c, guess)) {
        lo = guess;
        hi = guess + 1 < limit + 1 ? guess + 1 : limit + 1;
        while (hi <= limit && fits(&c, hi)) {
            lo = hi;
            step *= 2;
            hi = lo + step < limit + 1 ? lo + step : limit + 1;
        }
    } else {
        lo = guess - 1; /* guess >= 1 */
        hi = guess;
        while (lo > 0 && !fits(&c, lo)) {
            hi = lo;
            step *= 2;
            lo = hi > step ? hi - step : 0;
        }
    }
    while (hi - lo > 1) {
        uint64_t mid = (lo + hi) / 2;
        if (fits(&c, mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    *out = lo;
    return LMSR_OK;
}
