/* Hanson's LMSR for a binary market in integer fixed point: a bit-exact port of the reference
 * model `hybridmarket.program.lmsr` (128 fractional bits, the same series, the same floors, the
 * same error bounds and rounding in the pool's favour). Every function returns LMSR_OK or
 * LMSR_OUT_OF_RANGE exactly where the model raises LmsrError / TradeOutOfRange. */
#ifndef HM_LMSR_H
#define HM_LMSR_H

#include "sol.h"

#define LMSR_OK 0
#define LMSR_OUT_OF_RANGE 1

#define LMSR_PRICE_SCALE 1000000000ULL
#define LMSR_BPS_DENOMINATOR 10000ULL
#define LMSR_MIN_B 1000ULL
#define LMSR_MAX_B 1000000000000000ULL
#define LMSR_MAX_SHARES 1000000000000000000ULL

typedef struct {
    uint64_t protocol_bps;
    uint64_t resolver_bps;
    uint64_t lp_bps;
} lmsr_fees;

/* The model's Quote; prices are PRICE_SCALE fixed point. */
typedef struct {
    uint64_t shares;
    uint64_t amount;
    uint64_t protocol_fee;
    uint64_t resolver_fee;
    uint64_t lp_fee;
    uint64_t total;
    uint64_t price_before;
    uint64_t price_after;
    uint64_t price_yes_after;
    uint64_t average_price;
    uint64_t price_impact_bps;
    bool is_buy;
    bool outcome;
} lmsr_quote;

/* ceil(amount * bps / 10000); bps <= 10000 (else LMSR_OUT_OF_RANGE). */
int lmsr_fee_amount(uint64_t amount, uint64_t bps, uint64_t *out);
/* cost(q_yes, q_no, b) rounded up; min_initial_liquidity(b) == cost(0, 0, b). */
int lmsr_cost(uint64_t q_yes, uint64_t q_no, uint64_t b, uint64_t *out);
int lmsr_price(uint64_t q_yes, uint64_t q_no, uint64_t b, bool outcome, uint64_t *out);
/* A trade's inputs in one struct: the BPF backend passes at most five arguments in registers
 * ("too many arguments" otherwise), so the trade functions take it by pointer. */
typedef struct {
    uint64_t q_yes;
    uint64_t q_no;
    uint64_t b;
    bool outcome;
    uint64_t shares; /* for lmsr_max_shares_for_amount: the budget in lamports */
} lmsr_trade;

int lmsr_buy_cost(const lmsr_trade *t, uint64_t *out);
int lmsr_sell_proceeds(const lmsr_trade *t, uint64_t *out);
/* The fee schedule must satisfy the model's FeeSchedule checks (each <= 10000, sum < 10000). */
int lmsr_quote_buy(const lmsr_trade *t, const lmsr_fees *fees, lmsr_quote *out);
int lmsr_quote_sell(const lmsr_trade *t, const lmsr_fees *fees, lmsr_quote *out);
/* The model's cost_fixed: C·2^128 before any rounding, within b·COST_ERROR_ULPS, as six 32-bit
 * digits, least significant first (C < 2^61, so the value is below 2^189). For tests. */
int lmsr_cost_fixed(uint64_t q_yes, uint64_t q_no, uint64_t b, uint32_t *out /* 6 digits */);
/* The budget search (test probe only; the program does not use it): t->shares is the amount. */
int lmsr_max_shares_for_amount(const lmsr_trade *t, const lmsr_fees *fees, uint64_t *out);

/* 128-bit helpers on two 64-bit limbs (the BPF backend refuses __int128 multiply/divide). */
typedef struct {
    uint64_t lo;
    uint64_t hi;
} u128;
/* *out = a * b (never overflows). Written through a pointer: the BPF backend refuses aggregate
 * returns ("aggregate returns are not supported"); passing a u128 by value is fine. */
void u128_mul64(uint64_t a, uint64_t b, u128 *out);
/* a + b; returns false on overflow past 2^128. */
bool u128_add(u128 a, u128 b, u128 *out);
/* floor(n / d) into a u64; false if d == 0 or the quotient does not fit in 64 bits.
 * `rem` may be NULL. */
bool u128_div64(u128 n, uint64_t d, uint64_t *q, uint64_t *rem);

#endif
