/* Multi-limb unsigned integers for the LMSR's 2^-128 fixed point.
 *
 * A number is an array of 32-bit digits, least significant first, with its length passed
 * alongside. Digits are 32 bits so that a digit product plus two carries fits the 64-bit
 * registers of BPF, whose only multiply keeps the low 64 bits of the product and whose only
 * divide is 64-bit unsigned: (2^32 - 1)^2 + 2·(2^32 - 1) = 2^64 - 1. Nothing here allocates,
 * recurses, copies structures or touches a global; every function takes pointers and lengths
 * and, unless it says otherwise, its output may not overlap its inputs.
 *
 * Lengths are in digits and at most WIDE_MAX_DIGITS; every caller in this program uses fixed
 * lengths that the LMSR's input bounds justify (see lmsr_fixed.h). */
#ifndef HM_WIDE_H
#define HM_WIDE_H

#include "sol.h"

#define WIDE_MAX_DIGITS 10

void wide_zero(uint32_t *w, size_t n);
void wide_copy(uint32_t *w, const uint32_t *u, size_t n);
/* w[0..n) = x; n >= 2. */
void wide_from_u64(uint32_t *w, size_t n, uint64_t x);
bool wide_is_zero(const uint32_t *u, size_t n);
/* -1, 0 or 1 as u <, =, > v (both n digits). */
int wide_cmp(const uint32_t *u, const uint32_t *v, size_t n);
/* Number of significant bits (0 for zero). */
uint64_t wide_bit_length(const uint32_t *u, size_t n);

/* w = u + v mod 2^(32n); returns the carry out (0 or 1). w may be u or v. */
uint32_t wide_add(uint32_t *w, const uint32_t *u, const uint32_t *v, size_t n);
/* w = u - v mod 2^(32n); returns the borrow out (1 iff u < v). w may be u or v. */
uint32_t wide_sub(uint32_t *w, const uint32_t *u, const uint32_t *v, size_t n);
/* w += x mod 2^(32n), in place; returns the carry out. n >= 2. */
uint32_t wide_add_u64(uint32_t *w, size_t n, uint64_t x);

/* w[0..m+n) = u[0..m) · v[0..n), exact. */
void wide_mul(uint32_t *w, const uint32_t *u, size_t m, const uint32_t *v, size_t n);
/* The hot step of the LMSR's Horner loops: w[0..8) = u[0..4) · v[0..4), exact. */
void wide_mul_4x4(uint32_t *w, const uint32_t *u, const uint32_t *v);

/* The exponential's Horner loop, for n = first, first - 1, .., 1:
 *   s = floor((r - ceil(s·r / 2^128)) / n),
 * with s and r four digits, s < 2^128 (s_io holds the start and receives the end). The caller
 * guarantees ceil(s·r / 2^128) <= r, which holds whenever s < 2^128. first >= 1. */
void wide_horner_exp(uint32_t *s_io, const uint32_t *r, uint32_t first);
/* The logarithm's Horner loop, for k = 0 .. count - 1:
 *   acc = c[k] + floor(acc·w / 2^128)  (mod 2^128: the caller guarantees no carry out),
 * with acc, w and each c[k] four digits. */
void wide_horner_mulhi_add(uint32_t *acc_io, const uint32_t *w, const uint32_t (*c)[4],
                           size_t count);

/* w = u << s mod 2^(32n), any s (s >= 32n gives 0). w may be u. */
void wide_shl(uint32_t *w, const uint32_t *u, size_t n, uint64_t s);
/* w = u >> s (floor), any s. w may be u. */
void wide_shr(uint32_t *w, const uint32_t *u, size_t n, uint64_t s);

/* q[0..m) = floor(u / d), returns u mod d; d != 0 (d == 0 gives q = 0 and returns 0: the
 * callers pass constants). q may be u. */
uint32_t wide_div_small(uint32_t *q, const uint32_t *u, size_t m, uint32_t d);
/* Knuth's algorithm D (TAOCP 4.3.1; Hacker's Delight `divmnu`): q[0..m-n+1) = floor(u / v) for u
 * of m digits and v of n digits with v[n-1] != 0, and u is replaced by u mod v (in its low n
 * digits; the others become 0): in place, since the BPF backend passes at most five arguments.
 * Returns false, changing nothing, unless 1 <= n <= m <= WIDE_MAX_DIGITS and v[n-1] != 0. */
bool wide_divmod(uint32_t *q, uint32_t *u, size_t m, const uint32_t *v, size_t n);

#endif
