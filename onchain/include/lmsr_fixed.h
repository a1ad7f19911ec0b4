/* The LMSR's fixed-point kernels (units of 2^-128, "ulps"), shared by lmsr.c, the budget search
 * (probe/lmsr_search.c) and the test probe. Each mirrors the private function of the reference
 * model `hybridmarket.program.lmsr` named in its comment, floor for floor; the error bound of
 * every floor is argued in that function's docstring.
 *
 * Sizes (32-bit digits, least significant first), from the model's input bounds
 * (q <= MAX_SHARES < 2^60, MIN_B <= b <= MAX_B < 2^50):
 *   FIX  4 digits  a value in [0, ONE), ONE = 2^128
 *   ONE  5 digits  a value in [0, ONE] (e^(-x) is exactly ONE when x is 0)
 *   X    6 digits  an exponent argument: d·2^128/b < 2^178, or the search's < 2^184
 *   N    6 digits  C·2^128 = max(q)·2^128 + b·ln(1 + y)·2^128 < 2^188 + 2^178 < 2^189 */
#ifndef HM_LMSR_FIXED_H
#define HM_LMSR_FIXED_H

#include "lmsr.h"

#define LMSR_FIX_DIGITS 4
#define LMSR_ONE_DIGITS 5
#define LMSR_X_DIGITS 6
#define LMSR_N_DIGITS 6

/* The model's COST_ERROR_ULPS: |N - C·2^128| <= b·COST_ERROR_ULPS. */
#define LMSR_COST_ERROR_ULPS 16ULL

/* round(ln 2 · 2^128), the model's _LN2. */
extern const uint32_t lmsr_ln2[LMSR_FIX_DIGITS];

/* _exp_neg: y = e^(-x) within 2.5 ulps; 0 when x >= 129·ln2 (k > 128). */
void lmsr_exp_neg(const uint32_t *x /* X */, uint32_t *y /* ONE */);
/* _ln1p: ln(1 + y) within 5.3 ulps, for 0 <= y < ONE. */
void lmsr_ln1p(const uint32_t *y /* FIX */, uint32_t *out /* FIX */);
/* _exp_ratio: y = e^(-|q_a - q_b|/b); exactly ONE for a balanced market. */
void lmsr_exp_ratio(uint64_t q_a, uint64_t q_b, uint64_t b, uint32_t *y /* ONE */);
/* _state: n = C·2^128 within b·COST_ERROR_ULPS and y = _exp_ratio(q_a, q_b, b). */
void lmsr_state(uint64_t q_a, uint64_t q_b, uint64_t b, uint32_t *n /* N */,
                uint32_t *y /* ONE */);
/* _side_price: floor of PRICE_SCALE × the price of side a, given y = _exp_ratio(q_a, q_b, b). */
uint64_t lmsr_side_price(uint64_t q_a, uint64_t q_b, const uint32_t *y /* ONE */);
/* _round_cost: ceil((n_after - n_before + 2·b·COST_ERROR_ULPS) / 2^128). Returns false, writing
 * 0, when that numerator is negative (the model would return a value <= 0): impossible while the
 * error bound holds, since the exact C(after) - C(before) of a buy is positive. */
bool lmsr_round_cost(const uint32_t *n_before, const uint32_t *n_after, uint64_t b,
                     uint64_t *out);
/* _round_proceeds: max(0, floor((n_before - n_after - 2·b·COST_ERROR_ULPS) / 2^128)). */
uint64_t lmsr_round_proceeds(const uint32_t *n_before, const uint32_t *n_after, uint64_t b);
/* cost's rounding: ceil((n + b·COST_ERROR_ULPS) / 2^128). */
uint64_t lmsr_ceil_cost(const uint32_t *n, uint64_t b);
/* The model's _check_market: q_yes, q_no <= MAX_SHARES and MIN_B <= b <= MAX_B. */
bool lmsr_market_valid(uint64_t q_yes, uint64_t q_no, uint64_t b);
/* The model's FeeSchedule checks: each fee <= 10000 bps, their sum < 10000. */
bool lmsr_fees_valid(const lmsr_fees *fees);
/* protocol + resolver + lp fee on `amount` (each rounded up); fees must be valid. */
uint64_t lmsr_fee_sum(uint64_t amount, const lmsr_fees *fees);

#endif
