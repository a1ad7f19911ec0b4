/* A test-only Solana program that runs one LMSR function per instruction, so the tests can
 * compare the real SBF build of lmsr.c, wide.c and lmsr_search.c with the Python model inside
 * Agave's SVM (tests/unit/test_lmsr_binary.py).
 *
 * Instruction data: an op code byte, seven padding bytes, then the op's arguments as little-endian
 * u64s (the padding puts them on 8-byte boundaries of the input buffer, so they are read with
 * aligned loads, as the Solana C SDK reads the buffer: the probe's own cost stays small next
 * to the LMSR's). Return data (sol_set_return_data): a status byte (LMSR_OK or
 * LMSR_OUT_OF_RANGE), then, if LMSR_OK, the result as little-endian u64s (fixed-point values
 * as 64-bit limbs, least significant first; a quote as its eleven u64 fields, then is_buy and
 * outcome). The instruction takes no accounts. Malformed input (accounts, an unknown op, a
 * wrong length, an outcome other than 0/1) fails the instruction with PROBE_BAD_INPUT. */
#include "lmsr.h"
#include "lmsr_fixed.h"
#include "sol.h"
#include "wide.h"

#define PROBE_BAD_INPUT 1
#define MAX_RESULTS 13
#define DIVMOD_U_DIGITS 8
#define DIVMOD_V_DIGITS 6

enum {
    OP_NOOP = 0, /* the probe's own cost: decode, no LMSR call, empty OK result */
    OP_FEE_AMOUNT = 1,
    OP_COST = 2,
    OP_PRICE = 3,
    OP_BUY_COST = 4,
    OP_SELL_PROCEEDS = 5,
    OP_QUOTE_BUY = 6,
    OP_QUOTE_SELL = 7,
    OP_MAX_SHARES = 8,
    OP_COST_FIXED = 9,
    OP_EXP_NEG = 10,
    OP_LN1P = 11,
    OP_U128_MUL64 = 12,
    OP_U128_ADD = 13,
    OP_U128_DIV64 = 14,
    OP_WIDE_DIVMOD = 15, /* m, n, u: four limbs (m <= 8 digits), v: three limbs (n <= 6) */
};

/* How many u64 arguments each op takes. */
static const uint8_t ARG_COUNT[] = {0, 2, 3, 4, 5, 5, 8, 8, 8, 3, 3, 2, 2, 4, 3, 9};

/* Limbs of a value held as 32-bit digits: limb i = digits 2i and 2i + 1. */
static uint64_t limb(const uint32_t *digits, size_t count, size_t i) {
    uint64_t lo = 2 * i < count ? digits[2 * i] : 0;
    uint64_t hi = 2 * i + 1 < count ? digits[2 * i + 1] : 0;
    return (hi << 32) | lo;
}

static void digits_of(const uint64_t *limbs, size_t n_limbs, uint32_t *digits) {
    for (size_t i = 0; i < n_limbs; i++) {
        digits[2 * i] = (uint32_t)limbs[i];
        digits[2 * i + 1] = (uint32_t)(limbs[i] >> 32);
    }
}

static void trade_of(const uint64_t *a, lmsr_trade *t) {
    t->q_yes = a[0];
    t->q_no = a[1];
    t->b = a[2];
    t->outcome = a[3] != 0;
    t->shares = a[4];
}

static void fees_of(const uint64_t *a, lmsr_fees *f) {
    f->protocol_bps = a[0];
    f->resolver_bps = a[1];
    f->lp_bps = a[2];
}

static size_t put_quote(const lmsr_quote *q, uint64_t *r) {
    r[0] = q->shares;
    r[1] = q->amount;
    r[2] = q->protocol_fee;
    r[3] = q->resolver_fee;
    r[4] = q->lp_fee;
    r[5] = q->total;
    r[6] = q->price_before;
    r[7] = q->price_after;
    r[8] = q->price_yes_after;
    r[9] = q->average_price;
    r[10] = q->price_impact_bps;
    r[11] = q->is_buy;
    r[12] = q->outcome;
    return 13;
}

/* Run op on its arguments; returns the status and writes the result count to *count. */
static int run(uint8_t op, const uint64_t *a, uint64_t *r, size_t *count) {
    int status = LMSR_OK;
    lmsr_trade t;
    lmsr_fees f;
    lmsr_quote q;
    uint32_t digits[8];
    uint32_t divisor[6];
    uint32_t out[8];
    u128 x;
    u128 y;
    *count = 1;
    switch (op) {
    case OP_NOOP:
        *count = 0;
        break;
    case OP_FEE_AMOUNT:
        status = lmsr_fee_amount(a[0], a[1], &r[0]);
        break;
    case OP_COST:
        status = lmsr_cost(a[0], a[1], a[2], &r[0]);
        break;
    case OP_PRICE:
        status = lmsr_price(a[0], a[1], a[2], a[3] != 0, &r[0]);
        break;
    case OP_BUY_COST:
        trade_of(a, &t);
        status = lmsr_buy_cost(&t, &r[0]);
        break;
    case OP_SELL_PROCEEDS:
        trade_of(a, &t);
        status = lmsr_sell_proceeds(&t, &r[0]);
        break;
    case OP_QUOTE_BUY:
    case OP_QUOTE_SELL:
        trade_of(a, &t);
        fees_of(a + 5, &f);
        status = op == OP_QUOTE_BUY ? lmsr_quote_buy(&t, &f, &q) : lmsr_quote_sell(&t, &f, &q);
        if (status == LMSR_OK) {
            *count = put_quote(&q, r);
        }
        break;
    case OP_MAX_SHARES:
        trade_of(a, &t);
        fees_of(a + 5, &f);
        status = lmsr_max_shares_for_amount(&t, &f, &r[0]);
        break;
    case OP_COST_FIXED:
        status = lmsr_cost_fixed(a[0], a[1], a[2], out);
        for (size_t i = 0; i < 3; i++) {
            r[i] = limb(out, LMSR_N_DIGITS, i);
        }
        *count = 3;
        break;
    case OP_EXP_NEG: /* x: three limbs (six digits) */
        digits_of(a, 3, digits);
        lmsr_exp_neg(digits, out);
        for (size_t i = 0; i < 3; i++) {
            r[i] = limb(out, LMSR_ONE_DIGITS, i);
        }
        *count = 3;
        break;
    case OP_LN1P: /* y < 2^128: two limbs */
        digits_of(a, 2, digits);
        lmsr_ln1p(digits, out);
        r[0] = limb(out, LMSR_FIX_DIGITS, 0);
        r[1] = limb(out, LMSR_FIX_DIGITS, 1);
        *count = 2;
        break;
    case OP_U128_MUL64:
        u128_mul64(a[0], a[1], &x);
        r[0] = x.lo;
        r[1] = x.hi;
        *count = 2;
        break;
    case OP_U128_ADD:
        x.lo = a[0];
        x.hi = a[1];
        y.lo = a[2];
        y.hi = a[3];
        status = u128_add(x, y, &x) ? LMSR_OK : LMSR_OUT_OF_RANGE;
        r[0] = x.lo;
        r[1] = x.hi;
        *count = 2;
        break;
    case OP_U128_DIV64:
        x.lo = a[0];
        x.hi = a[1];
        status = u128_div64(x, a[2], &r[0], &r[1]) ? LMSR_OK : LMSR_OUT_OF_RANGE;
        *count = 2;
        break;
    case OP_WIDE_DIVMOD: /* results: the quotient's four limbs, then the remainder's three */
        if (a[0] > DIVMOD_U_DIGITS || a[1] > DIVMOD_V_DIGITS) {
            status = LMSR_OUT_OF_RANGE;
            break;
        }
        digits_of(a + 2, 4, digits);
        digits_of(a + 6, 3, divisor);
        wide_zero(out, 8);
        if (!wide_divmod(out, digits, a[0], divisor, a[1])) {
            status = LMSR_OUT_OF_RANGE;
            break;
        }
        for (size_t i = 0; i < 4; i++) {
            r[i] = limb(out, 8, i);
        }
        for (size_t i = 0; i < 3; i++) {
            r[4 + i] = limb(digits, a[1], i);
        }
        *count = 7;
        break;
    default:
        *count = 0;
        break;
    }
    return status;
}

uint64_t entrypoint(const uint8_t *input) {
    /* SBPFv0 input: u64 account count, the accounts (none here), u64 data length, the data. The
     * buffer is 8-byte aligned, so with no accounts the data starts at offset 16 and the
     * arguments at offset 24. */
    const uint64_t *words = (const uint64_t *)input;
    if (words[0] != 0) {
        return PROBE_BAD_INPUT; /* the probe takes no accounts */
    }
    uint64_t len = words[1];
    const uint8_t *data = input + 16;
    if (len < 8 || data[0] >= sizeof(ARG_COUNT)) {
        return PROBE_BAD_INPUT;
    }
    uint8_t op = data[0];
    uint64_t n_args = ARG_COUNT[op];
    if (len != 8 + 8 * n_args) {
        return PROBE_BAD_INPUT;
    }
    const uint64_t *args = words + 3;
    bool has_outcome = op == OP_PRICE || (op >= OP_BUY_COST && op <= OP_MAX_SHARES);
    if (has_outcome && args[3] > 1) {
        return PROBE_BAD_INPUT;
    }

    /* results[0]'s last byte is the status, so the reply is contiguous and the u64s aligned. */
    uint64_t results[1 + MAX_RESULTS];
    size_t count;
    int status = run(op, args, results + 1, &count);
    uint8_t *reply = (uint8_t *)results + 7;
    reply[0] = (uint8_t)status;
    size_t n = status == LMSR_OK ? count : 0;
    sol_set_return_data(reply, 1 + 8 * n);
    return 0;
}
