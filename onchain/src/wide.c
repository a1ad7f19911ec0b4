/* Multi-limb unsigned arithmetic on 32-bit digits (wide.h) and the u128 helpers of lmsr.h.
 *
 * Every digit operation is done in uint64_t: a digit product plus a carry and a digit is at
 * most (2^32 - 1)^2 + 2·(2^32 - 1) = 2^64 - 1, so nothing wraps unless the comment says so.
 * Shifts of a uint64_t are always by less than 64 bits; a shift "by 32 - s" with s = 0 is
 * taken on a uint64_t holding a digit, where it is defined and yields the digit's high part
 * (zero), which is what the formulas need. */
#include "lmsr.h"
#include "wide.h"

#define DIGIT_BITS 32
#define DIGIT_MASK 0xffffffffULL

/* Leading zero bits of a nonzero digit, by binary search: the BPF backend has no clz. */
static uint64_t nlz32(uint32_t x) {
    uint64_t n = 0;
    if (x <= 0x0000ffffU) {
        n += 16;
        x <<= 16;
    }
    if (x <= 0x00ffffffU) {
        n += 8;
        x <<= 8;
    }
    if (x <= 0x0fffffffU) {
        n += 4;
        x <<= 4;
    }
    if (x <= 0x3fffffffU) {
        n += 2;
        x <<= 2;
    }
    if (x <= 0x7fffffffU) {
        n += 1;
    }
    return n;
}

void wide_zero(uint32_t *w, size_t n) {
    for (size_t i = 0; i < n; i++) {
        w[i] = 0;
    }
}

void wide_copy(uint32_t *w, const uint32_t *u, size_t n) {
    for (size_t i = 0; i < n; i++) {
        w[i] = u[i];
    }
}

void wide_from_u64(uint32_t *w, size_t n, uint64_t x) {
    wide_zero(w, n);
    w[0] = (uint32_t)x;
    w[1] = (uint32_t)(x >> DIGIT_BITS);
}

bool wide_is_zero(const uint32_t *u, size_t n) {
    uint32_t any = 0;
    for (size_t i = 0; i < n; i++) {
        any |= u[i];
    }
    return any == 0;
}

int wide_cmp(const uint32_t *u, const uint32_t *v, size_t n) {
    for (size_t i = n; i-- > 0;) {
        if (u[i] != v[i]) {
            return u[i] < v[i] ? -1 : 1;
        }
    }
    return 0;
}

uint64_t wide_bit_length(const uint32_t *u, size_t n) {
    for (size_t i = n; i-- > 0;) {
        if (u[i] != 0) {
            return DIGIT_BITS * i + DIGIT_BITS - nlz32(u[i]);
        }
    }
    return 0;
}

uint32_t wide_add(uint32_t *w, const uint32_t *u, const uint32_t *v, size_t n) {
    uint64_t carry = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = (uint64_t)u[i] + v[i] + carry;
        w[i] = (uint32_t)t;
        carry = t >> DIGIT_BITS;
    }
    return (uint32_t)carry;
}

uint32_t wide_sub(uint32_t *w, const uint32_t *u, const uint32_t *v, size_t n) {
    uint64_t borrow = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t sub = (uint64_t)v[i] + borrow; /* <= 2^32 */
        uint64_t digit = u[i];
        w[i] = (uint32_t)(digit - sub); /* wraps exactly when a borrow is taken */
        borrow = digit < sub;
    }
    return (uint32_t)borrow;
}

uint32_t wide_add_u64(uint32_t *w, size_t n, uint64_t x) {
    uint64_t carry = x;
    for (size_t i = 0; i < n; i++) {
        /* Only the low half of the carry joins a digit (t < 2^33); the high half moves up.
         * After the first step carry <= 2^32, so nothing wraps. */
        uint64_t t = (uint64_t)w[i] + (carry & DIGIT_MASK);
        w[i] = (uint32_t)t;
        carry = (carry >> DIGIT_BITS) + (t >> DIGIT_BITS);
    }
    return (uint32_t)(carry != 0);
}

/* Schoolbook multiplication; `always_inline` so that the fixed-size callers get their loops
 * unrolled with constant trip counts. */
static inline __attribute__((always_inline)) void mul_body(uint32_t *w, const uint32_t *u,
                                                            size_t m, const uint32_t *v,
                                                            size_t n) {
    for (size_t i = 0; i < m; i++) {
        w[i] = 0;
    }
    for (size_t j = 0; j < n; j++) {
        uint64_t vj = v[j];
        uint64_t carry = 0;
        for (size_t i = 0; i < m; i++) {
            uint64_t t = (uint64_t)u[i] * vj + w[i + j] + carry;
            w[i + j] = (uint32_t)t;
            carry = t >> DIGIT_BITS;
        }
        w[j + m] = (uint32_t)carry;
    }
}

void wide_mul(uint32_t *w, const uint32_t *u, size_t m, const uint32_t *v, size_t n) {
    mul_body(w, u, m, v, n);
}

void wide_mul_4x4(uint32_t *w, const uint32_t *u, const uint32_t *v) {
    mul_body(w, u, 4, v, 4);
}

/* --- the Horner loops ------------------------------------------------------------------------
 * The LMSR spends nearly all its compute units in two loops of 128 x 128-bit products, so these
 * run whole loops with the digits of their operands in uint64_t locals (each < 2^32): once
 * inlined and unrolled the compiler keeps them in registers instead of reloading them through
 * pointers that might alias the output, and no call is made per step. */

/* p[0..8) = a · b, four digits each. */
static inline __attribute__((always_inline)) void mul4_local(uint64_t *p, const uint64_t *a,
                                                              const uint64_t *b) {
    for (size_t i = 0; i < 8; i++) {
        p[i] = 0;
    }
    for (size_t j = 0; j < 4; j++) {
        uint64_t carry = 0;
        for (size_t i = 0; i < 4; i++) {
            uint64_t t = a[i] * b[j] + p[i + j] + carry; /* <= 2^64 - 1 */
            p[i + j] = t & DIGIT_MASK;
            carry = t >> DIGIT_BITS;
        }
        p[j + 4] = carry;
    }
}

void wide_horner_exp(uint32_t *s_io, const uint32_t *r_in, uint32_t first) {
    uint64_t r[4];
    uint64_t s[4];
    uint64_t p[8];
    for (size_t i = 0; i < 4; i++) {
        r[i] = r_in[i];
        s[i] = s_io[i];
    }
    for (uint64_t n = first; n >= 1; n--) {
        mul4_local(p, s, r);
        /* m = r - (floor(s·r / 2^128) + up), up = 1 iff the low half is nonzero: the round-up
         * enters the borrow chain as its initial borrow. */
        uint64_t borrow = (p[0] | p[1] | p[2] | p[3]) != 0 ? 1 : 0;
        uint64_t m[4];
        for (size_t i = 0; i < 4; i++) {
            uint64_t sub = p[4 + i] + borrow; /* <= 2^32 */
            m[i] = (r[i] - sub) & DIGIT_MASK; /* wraps exactly when a borrow is taken */
            borrow = r[i] < sub ? 1 : 0;
        }
        /* s = floor(m / n), n >= 1, from the top digit down (rem < n, so cur < 2^64). */
        uint64_t rem = 0;
        for (size_t i = 4; i-- > 0;) {
            uint64_t cur = (rem << DIGIT_BITS) | m[i];
            s[i] = cur / n;
            rem = cur - s[i] * n;
        }
    }
    for (size_t i = 0; i < 4; i++) {
        s_io[i] = (uint32_t)s[i];
    }
}

void wide_horner_mulhi_add(uint32_t *acc_io, const uint32_t *w_in, const uint32_t (*c)[4],
                           size_t count) {
    uint64_t w[4];
    uint64_t acc[4];
    uint64_t p[8];
    for (size_t i = 0; i < 4; i++) {
        w[i] = w_in[i];
        acc[i] = acc_io[i];
    }
    for (size_t k = 0; k < count; k++) {
        mul4_local(p, acc, w);
        uint64_t carry = 0;
        for (size_t i = 0; i < 4; i++) {
            uint64_t t = c[k][i] + p[4 + i] + carry; /* < 2^33 */
            acc[i] = t & DIGIT_MASK;
            carry = t >> DIGIT_BITS;
        }
    }
    for (size_t i = 0; i < 4; i++) {
        acc_io[i] = (uint32_t)acc[i];
    }
}

void wide_shl(uint32_t *w, const uint32_t *u, size_t n, uint64_t s) {
    uint64_t digits = s / DIGIT_BITS;
    uint64_t bits = s % DIGIT_BITS;
    /* From the top down, so that w may be u: w[i] reads only u[i - digits] and the digit
     * below it, neither yet overwritten. */
    for (size_t i = n; i-- > 0;) {
        uint64_t x = 0;
        if (i >= digits) {
            x = (uint64_t)u[i - digits] << bits;
            if (i > digits) {
                x |= (uint64_t)u[i - digits - 1] >> (DIGIT_BITS - bits);
            }
        }
        w[i] = (uint32_t)x;
    }
}

void wide_shr(uint32_t *w, const uint32_t *u, size_t n, uint64_t s) {
    uint64_t digits = s / DIGIT_BITS;
    uint64_t bits = s % DIGIT_BITS;
    /* From the bottom up, so that w may be u (w[i] reads u[i + digits] and the digit above). */
    for (size_t i = 0; i < n; i++) {
        uint64_t x = 0;
        if (digits < n - i) {
            x = (uint64_t)u[i + digits] >> bits;
            if (digits < n - i - 1) {
                x |= (uint64_t)u[i + digits + 1] << (DIGIT_BITS - bits);
            }
        }
        w[i] = (uint32_t)x;
    }
}

uint32_t wide_div_small(uint32_t *q, const uint32_t *u, size_t m, uint32_t d) {
    if (d == 0) {
        wide_zero(q, m);
        return 0;
    }
    uint64_t rem = 0;
    for (size_t i = m; i-- > 0;) {
        uint64_t cur = (rem << DIGIT_BITS) | u[i]; /* rem < d < 2^32 */
        q[i] = (uint32_t)(cur / d);
        rem = cur % d;
    }
    return (uint32_t)rem;
}

bool wide_divmod(uint32_t *q, uint32_t *u, size_t m, const uint32_t *v, size_t n) {
    if (n == 0 || n > m || m > WIDE_MAX_DIGITS || v[n - 1] == 0) {
        return false;
    }
    if (n == 1) {
        uint32_t rem = wide_div_small(q, u, m, v[0]);
        wide_zero(u, m);
        u[0] = rem;
        return true;
    }

    /* D1: normalise so that the divisor's top bit is set (then each estimated quotient digit
     * is at most two too large); the dividend gains a digit. */
    uint32_t vn[WIDE_MAX_DIGITS];
    uint32_t un[WIDE_MAX_DIGITS + 1];
    uint64_t s = nlz32(v[n - 1]);
    for (size_t i = n - 1; i > 0; i--) {
        vn[i] = (uint32_t)(((uint64_t)v[i] << s) | ((uint64_t)v[i - 1] >> (DIGIT_BITS - s)));
    }
    vn[0] = (uint32_t)((uint64_t)v[0] << s);
    un[m] = (uint32_t)((uint64_t)u[m - 1] >> (DIGIT_BITS - s));
    for (size_t i = m - 1; i > 0; i--) {
        un[i] = (uint32_t)(((uint64_t)u[i] << s) | ((uint64_t)u[i - 1] >> (DIGIT_BITS - s)));
    }
    un[0] = (uint32_t)((uint64_t)u[0] << s);

    uint64_t vtop = vn[n - 1]; /* >= 2^31: never zero */
    uint64_t vnext = vn[n - 2];
    for (size_t j = m - n + 1; j-- > 0;) {
        /* D3: estimate the quotient digit from the top two digits of the partial remainder
         * (un[j + n] <= vtop, so num < 2^64), then lower it while Knuth's test on the third
         * digit shows it too large; afterwards qhat < 2^32 and is q[j] or q[j] + 1. */
        uint64_t num = ((uint64_t)un[j + n] << DIGIT_BITS) | un[j + n - 1];
        uint64_t qhat = num / vtop;
        uint64_t rhat = num % vtop;
        /* rhat < 2^32 whenever it is shifted; qhat * vnext < 2^64 as qhat <= 2^32 + 1. */
        while (qhat > DIGIT_MASK || qhat * vnext > ((rhat << DIGIT_BITS) | un[j + n - 2])) {
            qhat -= 1;
            rhat += vtop;
            if (rhat > DIGIT_MASK) {
                break;
            }
        }

        /* D4: un[j .. j + n] -= qhat · vn, tracking the product's carry and the borrow apart
         * so that every quantity stays unsigned and below 2^64. */
        uint64_t carry = 0;
        uint64_t borrow = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t p = qhat * vn[i] + carry;
            carry = p >> DIGIT_BITS;
            uint64_t sub = (p & DIGIT_MASK) + borrow;
            uint64_t digit = un[i + j];
            un[i + j] = (uint32_t)(digit - sub);
            borrow = digit < sub;
        }
        uint64_t sub = carry + borrow;
        uint64_t top = un[j + n];
        un[j + n] = (uint32_t)(top - sub);

        /* D5/D6: a negative result means qhat was one too large (rare): add vn back, and
         * drop the carry out of the top digit, which cancels the borrow. */
        q[j] = (uint32_t)qhat;
        if (top < sub) {
            q[j] -= 1;
            uint64_t c = 0;
            for (size_t i = 0; i < n; i++) {
                uint64_t t = (uint64_t)un[i + j] + vn[i] + c;
                un[i + j] = (uint32_t)t;
                c = t >> DIGIT_BITS;
            }
            un[j + n] = (uint32_t)(un[j + n] + c);
        }
    }

    /* D8: the remainder is un[0 .. n) shifted back. */
    wide_zero(u, m);
    for (size_t i = 0; i + 1 < n; i++) {
        u[i] = (uint32_t)(((uint64_t)un[i] >> s) | ((uint64_t)un[i + 1] << (DIGIT_BITS - s)));
    }
    u[n - 1] = (uint32_t)((uint64_t)un[n - 1] >> s);
    return true;
}

/* --- u128 helpers (lmsr.h) ------------------------------------------------------------------- */

void u128_mul64(uint64_t a, uint64_t b, u128 *out) {
    /* Four 32 x 32-bit products; the middle column sums three values below 2^32. */
    uint64_t a0 = a & DIGIT_MASK;
    uint64_t a1 = a >> DIGIT_BITS;
    uint64_t b0 = b & DIGIT_MASK;
    uint64_t b1 = b >> DIGIT_BITS;
    uint64_t p00 = a0 * b0;
    uint64_t p01 = a0 * b1;
    uint64_t p10 = a1 * b0;
    uint64_t p11 = a1 * b1;
    uint64_t mid = (p00 >> DIGIT_BITS) + (p01 & DIGIT_MASK) + (p10 & DIGIT_MASK);
    out->lo = (p00 & DIGIT_MASK) | (mid << DIGIT_BITS);
    out->hi = p11 + (p01 >> DIGIT_BITS) + (p10 >> DIGIT_BITS) + (mid >> DIGIT_BITS);
}

bool u128_add(u128 a, u128 b, u128 *out) {
    uint64_t lo = a.lo + b.lo; /* wraps by design: the carry is recovered below */
    uint64_t carry = lo < a.lo;
    uint64_t hi = a.hi + b.hi;
    bool overflow = hi < a.hi;
    uint64_t hi_c = hi + carry;
    overflow |= hi_c < hi;
    out->lo = lo;
    out->hi = hi_c;
    return !overflow;
}

/* Leading zero bits of a nonzero u64. */
static uint64_t nlz64(uint64_t x) {
    uint64_t hi = x >> DIGIT_BITS;
    return hi != 0 ? nlz32((uint32_t)hi) : DIGIT_BITS + nlz32((uint32_t)x);
}

/* Hacker's Delight `divlu`: Knuth D specialised to a two-word dividend and a one-word divisor,
 * with 64-bit words split into 32-bit halves: two quotient digits, each estimated from the
 * normalised divisor's top half and corrected at most twice. */
bool u128_div64(u128 n, uint64_t d, uint64_t *q, uint64_t *rem) {
    /* The quotient fits in 64 bits iff n.hi < d (this also refuses d == 0). */
    if (d == 0 || n.hi >= d) {
        return false;
    }
    const uint64_t base = 1ULL << DIGIT_BITS;
    uint64_t s = nlz64(d); /* 0 .. 63 */
    uint64_t v = d << s;
    uint64_t vn1 = v >> DIGIT_BITS;
    uint64_t vn0 = v & DIGIT_MASK;
    /* (n << s) as un32 (its top word: n.hi < d keeps it below v) and un1, un0 (the low word's
     * halves). (lo >> 1) >> (63 - s) is lo >> (64 - s) without a shift by 64 when s = 0. */
    uint64_t un32 = (n.hi << s) | ((n.lo >> 1) >> (63 - s));
    uint64_t un10 = n.lo << s;
    uint64_t un1 = un10 >> DIGIT_BITS;
    uint64_t un0 = un10 & DIGIT_MASK;

    /* rhat < base whenever it is multiplied by base, so nothing below wraps except where
     * marked. */
    uint64_t q1 = un32 / vn1;
    uint64_t rhat = un32 % vn1;
    while (q1 >= base || q1 * vn0 > ((rhat << DIGIT_BITS) | un1)) {
        q1 -= 1;
        rhat += vn1;
        if (rhat >= base) {
            break;
        }
    }
    /* The partial remainder (un32·base + un1 - q1·v) is below v < 2^64: computed mod 2^64. */
    uint64_t un21 = (un32 << DIGIT_BITS) + un1 - q1 * v;

    uint64_t q0 = un21 / vn1;
    rhat = un21 % vn1;
    while (q0 >= base || q0 * vn0 > ((rhat << DIGIT_BITS) | un0)) {
        q0 -= 1;
        rhat += vn1;
        if (rhat >= base) {
            break;
        }
    }
    *q = (q1 << DIGIT_BITS) + q0;
    if (rem != NULL) {
        *rem = ((un21 << DIGIT_BITS) + un0 - q0 * v) >> s; /* again below v: mod 2^64 */
    }
    return true;
}
