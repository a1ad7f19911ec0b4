/* Hanson's LMSR for a binary market (lmsr.h), a bit-exact port of the reference model
 * `hybridmarket.program.lmsr`: the same 2^-128 fixed point, the same series with the same
 * number of terms, the same floors in the same order, so every result is the model's integer.
 * The error bound of each floor is argued in the docstring of the model function named above
 * each kernel; this file only has to show that it computes the same integers without
 * overflowing its fixed-size digit arrays (sizes in lmsr_fixed.h).
 *
 * The constants are the model's, generated with Python and checked digit for digit by
 * tests/unit/test_lmsr_binary.py:
 *   from hybridmarket.program import lmsr
 *   digits = lambda x, n: [(x >> (32 * i)) & 0xffffffff for i in range(n)]
 *   digits(lmsr._LN2, 4); digits(129 * lmsr._LN2, 6)
 *   [digits(c, 4) for c in lmsr._ATANH_COEFFS[:-1]]    # the last one is ONE itself */
#include "lmsr_fixed.h"
#include "wide.h"

#define FIX LMSR_FIX_DIGITS
#define ONE_D LMSR_ONE_DIGITS
#define XD LMSR_X_DIGITS
#define ND LMSR_N_DIGITS

/* Taylor terms of e^(-r) (the model's _EXP_TERMS): divisors n = 30 .. 1. */
#define EXP_TERMS 30U
/* atanh coefficients ONE // (2k + 1) for k = 38 .. 1; the model's 39th, for k = 0, is ONE. */
#define ATANH_TABLE 38U

const uint32_t lmsr_ln2[FIX] = {0x03f2f6afU, 0xc9e3b398U, 0xd1cf79abU, 0xb17217f7U};

/* 129 · _LN2: x >= this iff divmod(x, _LN2) has k > 128, where the model returns 0. */
static const uint32_t LN2_TIMES_129[XD] = {0xfd6e4e2fU, 0xbbbd7f99U, 0xb98c4f90U,
                                           0x6a7e13e0U, 0x00000059U, 0x00000000U};

static const uint32_t ATANH_COEFFS[ATANH_TABLE][FIX] = {
    {0xd4c77b03U, 0x3531dec0U, 0x0d4c77b0U, 0x03531decU},
    {0xd0369d03U, 0x369d0369U, 0x9d0369d0U, 0x0369d036U},
    {0xe070381cU, 0x070381c0U, 0x70381c0eU, 0x0381c0e0U},
    {0x4481cd85U, 0x240e6c2bU, 0x2073615aU, 0x039b0ad1U},
    {0xb5cc0ed7U, 0xc0ed7303U, 0xd7303b5cU, 0x03b5cc0eU},
    {0x5f85bb39U, 0x40f4898dU, 0x7e16ece5U, 0x03d22635U},
    {0x03f03f03U, 0x3f03f03fU, 0xf03f03f0U, 0x03f03f03U},
    {0x04104104U, 0x41041041U, 0x10410410U, 0x04104104U},
    {0xf368eb04U, 0x4325c53eU, 0xef368eb0U, 0x04325c53U},
    {0x5270d045U, 0x15b1e5f7U, 0xdd49c341U, 0x0456c797U},
    {0x1f7047dcU, 0xf7047dc1U, 0x7047dc11U, 0x047dc11fU},
    {0x904a7904U, 0x4a7904a7U, 0x7904a790U, 0x04a7904aU},
    {0xe304d487U, 0x4873ecadU, 0xcade304dU, 0x04d4873eU},
    {0x05050505U, 0x05050505U, 0x05050505U, 0x05050505U},
    {0x97829cbcU, 0x0a72f053U, 0xcbc14e5eU, 0x05397829U},
    {0x572620aeU, 0x882b9310U, 0xe4c415c9U, 0x0572620aU},
    {0x05b05b05U, 0x5b05b05bU, 0xb05b05b0U, 0x05b05b05U},
    {0x417d05f4U, 0xf417d05fU, 0x5f417d05U, 0x05f417d0U},
    {0x7063e706U, 0x63e7063eU, 0xe7063e70U, 0x063e7063U},
    {0x06906906U, 0x69069069U, 0x90690690U, 0x06906906U},
    {0x45306eb3U, 0x5306eb3eU, 0x306eb3e4U, 0x06eb3e45U},
    {0x07507507U, 0x75075075U, 0x50750750U, 0x07507507U},
    {0xf07c1f07U, 0x7c1f07c1U, 0x1f07c1f0U, 0x07c1f07cU},
    {0x10842108U, 0x84210842U, 0x21084210U, 0x08421084U},
    {0x3dcb08d3U, 0xd3dcb08dU, 0x8d3dcb08U, 0x08d3dcb0U},
    {0x5ed097b4U, 0xed097b42U, 0xd097b425U, 0x097b425eU},
    {0x70a3d70aU, 0xa3d70a3dU, 0xd70a3d70U, 0x0a3d70a3U},
    {0x21642c85U, 0x42c8590bU, 0x8590b216U, 0x0b21642cU},
    {0x0c30c30cU, 0xc30c30c3U, 0x30c30c30U, 0x0c30c30cU},
    {0x5e50d794U, 0xe50d7943U, 0x50d79435U, 0x0d79435eU},
    {0x0f0f0f0fU, 0x0f0f0f0fU, 0x0f0f0f0fU, 0x0f0f0f0fU},
    {0x11111111U, 0x11111111U, 0x11111111U, 0x11111111U},
    {0x13b13b13U, 0x3b13b13bU, 0xb13b13b1U, 0x13b13b13U},
    {0xd1745d17U, 0x745d1745U, 0x5d1745d1U, 0x1745d174U},
    {0x1c71c71cU, 0xc71c71c7U, 0x71c71c71U, 0x1c71c71cU},
    {0x24924924U, 0x49249249U, 0x92492492U, 0x24924924U},
    {0x33333333U, 0x33333333U, 0x33333333U, 0x33333333U},
    {0x55555555U, 0x55555555U, 0x55555555U, 0x55555555U}
};

static const uint32_t ZERO_FIX[FIX] = {0, 0, 0, 0};
static const uint32_t ZERO_COEFF[1][FIX] = {{0, 0, 0, 0}};

static bool is_one(const uint32_t *y /* ONE */) {
    return y[4] != 0; /* y <= ONE, so a nonzero top digit means y == ONE */
}

/* --- kernels ---------------------------------------------------------------------------------- */

/* _exp_neg. With x = k·ln2 + r, the model's Horner loop is acc = ONE - floor(acc·r / (n·2^128))
 * for n = 30 .. 1, from acc = ONE. acc can be ONE itself (129 bits), so this keeps its
 * complement s = ONE - acc < 2^128 instead (s = 0 at the start):
 *   floor(acc·r / 2^128) = floor((2^128 - s)·r / 2^128) = r - ceil(s·r / 2^128),
 * and floor(floor(P / 2^128) / n) = floor(P / (n·2^128)), so the model's next acc is
 * ONE - s' with s' = floor((r - ceil(s·r / 2^128)) / n). Since s < 2^128, ceil(s·r/2^128) <= r
 * and the subtraction cannot go negative; s' <= r < 2^128 stays in four digits. */
void lmsr_exp_neg(const uint32_t *x, uint32_t *y) {
    wide_zero(y, ONE_D);
    if (wide_cmp(x, LN2_TIMES_129, XD) >= 0) {
        return; /* k > 128: e^(-x) < 2^-129, below half an ulp */
    }
    /* x < 129·ln2 < 2^135 fits five digits; the quotient k <= 128 fits its low digit. */
    uint32_t k_digits[2];
    uint32_t r[5];
    wide_copy(r, x, 5);
    wide_divmod(k_digits, r, 5, lmsr_ln2, FIX); /* r[0..4) = x mod _LN2 */
    uint64_t k = k_digits[0];

    uint32_t s[FIX] = {0, 0, 0, 0};
    wide_horner_exp(s, r, EXP_TERMS);

    /* acc = ONE - s, five digits (acc == ONE iff s == 0), then y = acc >> k. */
    uint32_t acc[ONE_D];
    uint32_t borrow = wide_sub(acc, ZERO_FIX, s, FIX);
    acc[4] = 1 - borrow;
    wide_shr(y, acc, ONE_D, k);
}

/* _ln1p: z = floor(y·2^128 / (2·2^128 + y)), w = floor(z² / 2^128), the Horner sum
 * acc = c_k + floor(acc·w / 2^128) over the model's 39 coefficients, then floor(z·acc / 2^127).
 * Before the last step every acc is below ONE (the partial sums from k = 1 are at most
 * (1/3)·(9/8)·ONE with w <= ONE/9), so four digits hold them with no carry; the last
 * coefficient is ONE itself, so with t = floor(acc·w / 2^128) the result is
 *   floor(z·(2^128 + t) / 2^127) = 2z + floor(z·t / 2^127),
 * which is below ln2·2^128 + 6 < ONE, so it fits four digits. */
void lmsr_ln1p(const uint32_t *y, uint32_t *out) {
    uint32_t num[2 * FIX] = {0, 0, 0, 0, y[0], y[1], y[2], y[3]};
    uint32_t den[ONE_D] = {y[0], y[1], y[2], y[3], 2};
    uint32_t z[FIX];
    wide_divmod(z, num, 2 * FIX, den, ONE_D); /* 8 - 5 + 1 = 4 digits: z <= ONE/3 */

    uint32_t prod[2 * FIX];
    uint32_t w[FIX];
    wide_mul_4x4(prod, z, z);
    wide_copy(w, prod + FIX, FIX);

    /* acc = c_38, then 37 steps to c_1, then t = floor(acc·w / 2^128) (a step adding 0). */
    uint32_t t[FIX];
    wide_copy(t, ATANH_COEFFS[0], FIX);
    wide_horner_mulhi_add(t, w, ATANH_COEFFS + 1, ATANH_TABLE - 1);
    wide_horner_mulhi_add(t, w, ZERO_COEFF, 1);

    wide_mul_4x4(prod, z, t);
    wide_shr(prod, prod, 2 * FIX, 127); /* z·t >> 127 < 2^129: five digits */
    uint32_t twice_z[ONE_D] = {z[0], z[1], z[2], z[3], 0};
    wide_shl(twice_z, twice_z, ONE_D, 1);
    uint32_t sum[ONE_D];
    wide_add(sum, twice_z, prod, ONE_D);
    wide_copy(out, sum, FIX);
}

void lmsr_exp_ratio(uint64_t q_a, uint64_t q_b, uint64_t b, uint32_t *y) {
    uint64_t d = q_a >= q_b ? q_a - q_b : q_b - q_a;
    if (d == 0) {
        wide_zero(y, ONE_D);
        y[4] = 1; /* exactly ONE */
        return;
    }
    /* x = floor(d·2^128 / b) < 2^60·2^128 / 1000 < 2^179: six digits. b < 2^50 has one or two
     * digits, and b >= MIN_B > 0 (checked by every caller). */
    uint32_t num[XD] = {0, 0, 0, 0, (uint32_t)d, (uint32_t)(d >> 32)};
    uint32_t den[2] = {(uint32_t)b, (uint32_t)(b >> 32)};
    uint32_t x[XD] = {0, 0, 0, 0, 0, 0};
    wide_divmod(x, num, XD, den, den[1] != 0 ? 2 : 1);
    lmsr_exp_neg(x, y);
}

/* _cost_n: max(q)·2^128 + b·soft, soft = _LN2 for a balanced market, 0 when y underflowed,
 * ln(1 + y) otherwise. b·soft < 2^178 and the sum < 2^189: no carry out of six digits. */
static void cost_n(uint64_t q_a, uint64_t q_b, uint64_t b, const uint32_t *y, uint32_t *n) {
    uint32_t soft[FIX];
    if (is_one(y)) {
        wide_copy(soft, lmsr_ln2, FIX);
    } else if (wide_is_zero(y, FIX)) {
        wide_zero(soft, FIX);
    } else {
        lmsr_ln1p(y, soft);
    }
    uint32_t bd[2] = {(uint32_t)b, (uint32_t)(b >> 32)};
    wide_mul(n, soft, FIX, bd, 2);
    wide_add_u64(n + FIX, ND - FIX, q_a >= q_b ? q_a : q_b);
}

void lmsr_state(uint64_t q_a, uint64_t q_b, uint64_t b, uint32_t *n, uint32_t *y) {
    lmsr_exp_ratio(q_a, q_b, b, y);
    cost_n(q_a, q_b, b, y, n);
}

/* _side_price: S·2^128 / (ONE + y) with S = PRICE_SCALE, floored for the leading side, and
 * S - ceil(·) for the other. ONE <= ONE + y <= 2·ONE, so the quotient is at most S < 2^30. */
uint64_t lmsr_side_price(uint64_t q_a, uint64_t q_b, const uint32_t *y) {
    uint32_t num[ONE_D] = {0, 0, 0, 0, (uint32_t)LMSR_PRICE_SCALE};
    uint32_t den[ONE_D];
    wide_copy(den, y, ONE_D);
    den[4] += 1; /* y <= ONE: den[4] <= 2 */
    uint32_t q[1];
    wide_divmod(q, num, ONE_D, den, ONE_D); /* num becomes the remainder */
    if (q_a >= q_b) {
        return q[0];
    }
    return LMSR_PRICE_SCALE - q[0] - (wide_is_zero(num, ONE_D) ? 0 : 1);
}

/* The top two digits of an N, i.e. floor(n / 2^128) (< 2^62 for every N in range). */
static uint64_t lamports_of(const uint32_t *n) {
    return ((uint64_t)n[5] << 32) | n[4];
}

bool lmsr_round_cost(const uint32_t *n_before, const uint32_t *n_after, uint64_t b,
                     uint64_t *out) {
    uint32_t t[ND];
    wide_copy(t, n_after, ND);
    wide_add_u64(t, ND, 2 * b * LMSR_COST_ERROR_ULPS); /* 32·b < 2^55; t < 2^190 */
    if (wide_sub(t, t, n_before, ND) != 0) {
        *out = 0;
        return false;
    }
    *out = lamports_of(t) + (wide_is_zero(t, FIX) ? 0 : 1);
    return true;
}

uint64_t lmsr_round_proceeds(const uint32_t *n_before, const uint32_t *n_after, uint64_t b) {
    uint32_t bound[ND];
    wide_copy(bound, n_after, ND);
    wide_add_u64(bound, ND, 2 * b * LMSR_COST_ERROR_ULPS);
    uint32_t t[ND];
    if (wide_sub(t, n_before, bound, ND) != 0) {
        return 0; /* exact proceeds below the error bound: a practically worthless side */
    }
    return lamports_of(t);
}

uint64_t lmsr_ceil_cost(const uint32_t *n, uint64_t b) {
    uint32_t t[ND];
    wide_copy(t, n, ND);
    wide_add_u64(t, ND, b * LMSR_COST_ERROR_ULPS);
    return lamports_of(t) + (wide_is_zero(t, FIX) ? 0 : 1);
}

/* --- validation ------------------------------------------------------------------------------ */

bool lmsr_market_valid(uint64_t q_yes, uint64_t q_no, uint64_t b) {
    return q_yes <= LMSR_MAX_SHARES && q_no <= LMSR_MAX_SHARES && b >= LMSR_MIN_B &&
           b <= LMSR_MAX_B;
}

/* The model's _check_trade: the traded side (q_a), the other (q_b), shares >= 1, a buy may not
 * take the side past MAX_SHARES, a sale may not exceed what is outstanding. */
static bool trade_valid(const lmsr_trade *t, bool is_buy, uint64_t *q_a, uint64_t *q_b) {
    if (!lmsr_market_valid(t->q_yes, t->q_no, t->b) || t->shares == 0) {
        return false;
    }
    *q_a = t->outcome ? t->q_yes : t->q_no;
    *q_b = t->outcome ? t->q_no : t->q_yes;
    if (is_buy) {
        return t->shares <= LMSR_MAX_SHARES - *q_a;
    }
    return t->shares <= *q_a;
}

bool lmsr_fees_valid(const lmsr_fees *fees) {
    return fees->protocol_bps <= LMSR_BPS_DENOMINATOR &&
           fees->resolver_bps <= LMSR_BPS_DENOMINATOR && fees->lp_bps <= LMSR_BPS_DENOMINATOR &&
           fees->protocol_bps + fees->resolver_bps + fees->lp_bps < LMSR_BPS_DENOMINATOR;
}

/* --- public API ------------------------------------------------------------------------------ */

int lmsr_fee_amount(uint64_t amount, uint64_t bps, uint64_t *out) {
    if (bps > LMSR_BPS_DENOMINATOR) {
        return LMSR_OUT_OF_RANGE;
    }
    /* amount·bps < 2^78; the quotient is at most amount, so it and the round-up fit a u64. */
    u128 product;
    u128_mul64(amount, bps, &product);
    uint64_t q;
    uint64_t rem;
    u128_div64(product, LMSR_BPS_DENOMINATOR, &q, &rem);
    *out = q + (rem != 0 ? 1 : 0);
    return LMSR_OK;
}

uint64_t lmsr_fee_sum(uint64_t amount, const lmsr_fees *fees) {
    /* Each fee is at most amount·bps/10000 + 1 and the bps sum below 10000: no overflow. */
    uint64_t protocol;
    uint64_t resolver;
    uint64_t lp;
    lmsr_fee_amount(amount, fees->protocol_bps, &protocol);
    lmsr_fee_amount(amount, fees->resolver_bps, &resolver);
    lmsr_fee_amount(amount, fees->lp_bps, &lp);
    return protocol + resolver + lp;
}

int lmsr_cost_fixed(uint64_t q_yes, uint64_t q_no, uint64_t b, uint32_t *out) {
    if (!lmsr_market_valid(q_yes, q_no, b)) {
        return LMSR_OUT_OF_RANGE;
    }
    uint32_t y[ONE_D];
    lmsr_state(q_yes, q_no, b, out, y);
    return LMSR_OK;
}

int lmsr_cost(uint64_t q_yes, uint64_t q_no, uint64_t b, uint64_t *out) {
    uint32_t n[ND];
    if (lmsr_cost_fixed(q_yes, q_no, b, n) != LMSR_OK) {
        return LMSR_OUT_OF_RANGE;
    }
    *out = lmsr_ceil_cost(n, b);
    return LMSR_OK;
}

int lmsr_price(uint64_t q_yes, uint64_t q_no, uint64_t b, bool outcome, uint64_t *out) {
    if (!lmsr_market_valid(q_yes, q_no, b)) {
        return LMSR_OUT_OF_RANGE;
    }
    uint64_t q_a = outcome ? q_yes : q_no;
    uint64_t q_b = outcome ? q_no : q_yes;
    uint32_t y[ONE_D];
    lmsr_exp_ratio(q_a, q_b, b, y);
    *out = lmsr_side_price(q_a, q_b, y);
    return LMSR_OK;
}

int lmsr_buy_cost(const lmsr_trade *t, uint64_t *out) {
    uint64_t q_a;
    uint64_t q_b;
    if (!trade_valid(t, true, &q_a, &q_b)) {
        return LMSR_OUT_OF_RANGE;
    }
    uint32_t n_before[ND];
    uint32_t n_after[ND];
    uint32_t y[ONE_D];
    lmsr_state(q_a, q_b, t->b, n_before, y);
    lmsr_state(q_a + t->shares, q_b, t->b, n_after, y);
    return lmsr_round_cost(n_before, n_after, t->b, out) ? LMSR_OK : LMSR_OUT_OF_RANGE;
}

int lmsr_sell_proceeds(const lmsr_trade *t, uint64_t *out) {
    uint64_t q_a;
    uint64_t q_b;
    if (!trade_valid(t, false, &q_a, &q_b)) {
        return LMSR_OUT_OF_RANGE;
    }
    uint32_t n_before[ND];
    uint32_t n_after[ND];
    uint32_t y[ONE_D];
    lmsr_state(q_a, q_b, t->b, n_before, y);
    lmsr_state(q_a - t->shares, q_b, t->b, n_after, y);
    *out = lmsr_round_proceeds(n_before, n_after, t->b);
    return LMSR_OK;
}

/* A trade's market before and after: the traded side (q_a), the other (q_b), C·2^128 and y. */
typedef struct {
    uint64_t q_a;
    uint64_t q_b;
    uint32_t n[ND];
    uint32_t y[ONE_D];
} market_state;

/* A quote's trade: its direction, the market on both sides of it. */
typedef struct {
    bool is_buy;
    bool outcome;
    uint64_t shares;
    market_state before;
    market_state after;
} trade_states;

/* Validate a quote's inputs and evaluate the market on both sides of the trade. */
static bool prepare_trade(const lmsr_trade *in, bool is_buy, const lmsr_fees *fees,
                          trade_states *t) {
    uint64_t q_a;
    uint64_t q_b;
    if (!trade_valid(in, is_buy, &q_a, &q_b) || !lmsr_fees_valid(fees)) {
        return false;
    }
    t->is_buy = is_buy;
    t->outcome = in->outcome;
    t->shares = in->shares;
    t->before.q_a = q_a;
    t->before.q_b = q_b;
    t->after.q_a = is_buy ? q_a + in->shares : q_a - in->shares;
    t->after.q_b = q_b;
    lmsr_state(q_a, q_b, in->b, t->before.n, t->before.y);
    lmsr_state(t->after.q_a, q_b, in->b, t->after.n, t->after.y);
    return true;
}

/* The model's _quote: fees on the LMSR amount, the total, and the prices around the trade. */
static int assemble_quote(const trade_states *t, uint64_t amount, const lmsr_fees *fees,
                          lmsr_quote *out) {
    uint64_t protocol;
    uint64_t resolver;
    uint64_t lp;
    lmsr_fee_amount(amount, fees->protocol_bps, &protocol);
    lmsr_fee_amount(amount, fees->resolver_bps, &resolver);
    lmsr_fee_amount(amount, fees->lp_bps, &lp);
    uint64_t fee_sum = protocol + resolver + lp;
    uint64_t total;
    if (t->is_buy) {
        total = amount + fee_sum; /* amount < 2^60 and the fees below it: < 2^61 */
    } else {
        if (fee_sum >= amount) {
            /* A sale that pays nothing would take the trader's shares for free (the model's
             * TradeOutOfRange "sale too small to pay anything after fees"). */
            return LMSR_OUT_OF_RANGE;
        }
        total = amount - fee_sum;
    }
    const market_state *before = &t->before;
    const market_state *after = &t->after;
    uint64_t price_before = lmsr_side_price(before->q_a, before->q_b, before->y);
    uint64_t price_after = lmsr_side_price(after->q_a, after->q_b, after->y);
    /* amount·PRICE_SCALE / shares is a u64 since amount <= shares + 1 (prices are below one);
     * refused rather than truncated were it ever not. shares >= 1. */
    u128 scaled;
    u128_mul64(amount, LMSR_PRICE_SCALE, &scaled);
    uint64_t average_price;
    if (!u128_div64(scaled, t->shares, &average_price, NULL)) {
        return LMSR_OUT_OF_RANGE;
    }
    uint64_t moved = price_after >= price_before ? price_after - price_before
                                                 : price_before - price_after;

    out->is_buy = t->is_buy;
    out->outcome = t->outcome;
    out->shares = t->shares;
    out->amount = amount;
    out->protocol_fee = protocol;
    out->resolver_fee = resolver;
    out->lp_fee = lp;
    out->total = total;
    out->price_before = price_before;
    out->price_after = price_after;
    out->price_yes_after =
        t->outcome ? price_after : lmsr_side_price(after->q_b, after->q_a, after->y);
    out->average_price = average_price;
    /* prices <= PRICE_SCALE < 2^30: the product is far below 2^64 */
    out->price_impact_bps = price_before != 0 ? moved * LMSR_BPS_DENOMINATOR / price_before : 0;
    return LMSR_OK;
}

int lmsr_quote_buy(const lmsr_trade *in, const lmsr_fees *fees, lmsr_quote *out) {
    trade_states t;
    if (!prepare_trade(in, true, fees, &t)) {
        return LMSR_OUT_OF_RANGE;
    }
    uint64_t amount;
    if (!lmsr_round_cost(t.before.n, t.after.n, in->b, &amount)) {
        return LMSR_OUT_OF_RANGE;
    }
    return assemble_quote(&t, amount, fees, out);
}

int lmsr_quote_sell(const lmsr_trade *in, const lmsr_fees *fees, lmsr_quote *out) {
    trade_states t;
    if (!prepare_trade(in, false, fees, &t)) {
        return LMSR_OUT_OF_RANGE;
    }
    return assemble_quote(&t, lmsr_round_proceeds(t.before.n, t.after.n, in->b), fees, out);
}
