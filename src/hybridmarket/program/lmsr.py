"""Hanson's LMSR market maker for a binary (YES/NO) market, in integer fixed point only.

The cost function is ``C(q_yes, q_no) = b·ln(e^(q_yes/b) + e^(q_no/b))``; buying ``s`` shares
of an outcome costs ``C(after) − C(before)`` and selling them pays ``C(before) − C(after)``.
The price of YES is ``∂C/∂q_yes = 1/(1 + e^(−(q_yes − q_no)/b))``.

Units (DESIGN.md §2): money in lamports; shares are u64 share units with 9 decimals (one share
unit redeems one lamport); ``b`` is in share units; prices are 9-decimal fixed point.

Arithmetic. This module is the reference model of the on-chain program, so it uses **no floats
at all**: Python ints stand in for the wide unsigned integers a Rust program would use (U256,
like spl-math's ``PreciseNumber``). Internally every real number is a binary fixed-point value
with ``FRAC_BITS = 128`` fractional bits ("ulps" below are units of 2^-128). With the input
bounds below, every intermediate value stays below 2^256, so a Rust port fits in U256 with no
overflow check beyond the input validation done here.

- ``C`` is evaluated with the log-sum-exp shift ``C = m + b·ln(1 + e^(−x))``, ``m = max(q)``,
  ``x = |q_yes − q_no|/b``, which only ever exponentiates a number ≤ 0.
- ``e^(−x)``: range reduction ``x = k·ln2 + r``, ``0 ≤ r < ln2``, then a Horner-evaluated
  Taylor series for ``e^(−r)`` and a right shift by ``k``. When ``k > 128``, ``e^(−x)`` is
  below half an ulp and is taken as 0 (the term it drops from C is below b·2^-129 < 2^-79
  lamports), so arbitrarily lopsided markets need no special handling.
- ``ln(1 + y)`` for ``0 ≤ y ≤ 1``: ``2·atanh(y/(2 + y))``, a series in ``z² ≤ 1/9``.

Error bound. Every floor in those series is accounted for (see ``_exp_neg`` and ``_ln1p``):
``ln(1 + e^(−x))`` is computed within 8.3 ulps, so ``C`` (``m`` is exact, the ln term is
multiplied by ``b``) is within ``b·COST_ERROR_ULPS`` ulps, i.e. below 2^-74 lamports even at
``MAX_B``. Rounding then always favours the pool: the bound is *added* before a cost is rounded
up and *subtracted* before proceeds are rounded down, so a rounded cost is never below the exact
real cost and rounded proceeds never exceed the exact real proceeds, each within one lamport of
it (plus the error bound). Consequently buying and then selling the same shares never returns more than was paid, and a
pool seeded with ``min_initial_liquidity(b)`` always holds at least ``max(q_yes, q_no)``.

The API's quotes come through ``program.quote``, which runs the program's own C (compiled for
the host) where it can and these functions elsewhere. This module stays the reference that the
C, in the SVM and on the host, is tested against.

Pure module: no I/O, stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICE_SCALE: int = 10**9
"""Prices are fixed point with 9 decimals: PRICE_SCALE is a probability of 1."""

BPS_DENOMINATOR: int = 10_000
"""Fees are in basis points of the LMSR amount."""

MIN_B: int = 1_000
"""Smallest supported ``b`` (share units). Below it the market's whole depth (b·ln2 ≈ 693
lamports here) is comparable to the one lamport each trade's rounding may move, and prices
jump from ~0 to ~1 within a few share units; real markets use b in the 10^9..10^13 range."""

MAX_B: int = 10**15
"""Largest supported ``b``: one million SOL of shares (worst-case loss b·ln2 ≈ 693k SOL). It
keeps b < 2^50, so the cost error bound ``b·COST_ERROR_ULPS`` ulps stays below 2^-74 lamports."""

MAX_SHARES: int = 10**18
"""Largest outstanding shares per side: 10^9 SOL of shares, more than all SOL in existence.
Every cost is then at most MAX_SHARES + MAX_B·ln2 < 2^60, and a buy's total (cost plus fees,
which sum to less than 100%) below 2^61, so nothing this module returns can overflow a u64."""

U64_MAX: int = 2**64 - 1
"""Largest lamport amount accepted (amounts are u64 on chain)."""

FRAC_BITS: int = 128
"""Fractional bits of the internal fixed point; ``cost_fixed`` returns values in these units."""

COST_ERROR_ULPS: int = 16
"""``cost_fixed`` guarantee: ``|N − C·2^FRAC_BITS| ≤ b·COST_ERROR_ULPS`` (analysis: ≤ 8.3·b)."""

_ONE = 1 << FRAC_BITS

# round(ln 2 · 2^128): within half an ulp of ln 2 (checked against mpmath in the tests).
_LN2 = 0xB17217F7D1CF79ABC9E3B39803F2F6AF

# Taylor terms for e^(−r), r < ln2: the first omitted term ln2^31/31! < 2^-129 (half an ulp).
_EXP_TERMS = 30
_EXP_DIVISORS = tuple(n << FRAC_BITS for n in range(_EXP_TERMS, 0, -1))

# atanh series Σ w^k/(2k+1), w ≤ 1/9, k = 0..38: the omitted tail is below 0.3 ulp.
_ATANH_TERMS = 38
_ATANH_COEFFS = tuple(_ONE // (2 * k + 1) for k in range(_ATANH_TERMS, -1, -1))


class LmsrError(ValueError):
    """Bad input: wrong type, negative, zero where a positive value is required, out of range."""


class TradeOutOfRange(LmsrError):
    """A trade that would leave the supported range: more shares than MAX_SHARES on a side,
    selling more than is outstanding, or a sale too small to cover its fees."""


def _require_int(name: str, value: object, low: int, high: int) -> int:
    """Return `value` if it is a plain int in [low, high]; bool, float and the rest are refused
    (bool is an int subclass in Python but never a meaningful amount)."""
    if type(value) is not int:
        raise LmsrError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise LmsrError(f"{name} must be in [{low}, {high}], got {value}")
    return value


def _require_bool(name: str, value: object) -> bool:
    if type(value) is not bool:
        raise LmsrError(f"{name} must be a bool (True = YES), got {type(value).__name__}")
    return value


def _check_market(q_yes: object, q_no: object, b: object) -> tuple[int, int, int]:
    return (
        _require_int("q_yes", q_yes, 0, MAX_SHARES),
        _require_int("q_no", q_no, 0, MAX_SHARES),
        _require_int("b", b, MIN_B, MAX_B),
    )


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Trading fees in basis points of the LMSR amount, each rounded up (in the pool's favour).

    Each must be in 0..10000 and their sum below 10000, so fees never take a whole sale unless
    it is worth only a few lamports (each fee's rounding up adds less than one).
    """

    protocol_bps: int
    resolver_bps: int
    lp_bps: int

    def __post_init__(self) -> None:
        for name in ("protocol_bps", "resolver_bps", "lp_bps"):
            _require_int(name, getattr(self, name), 0, BPS_DENOMINATOR)
        if self.total_bps >= BPS_DENOMINATOR:
            raise LmsrError(f"fees sum to {self.total_bps} bps; they must be below 10000")

    @property
    def total_bps(self) -> int:
        """The three fees together, in basis points."""
        return self.protocol_bps + self.resolver_bps + self.lp_bps

    def fees(self, amount: int) -> tuple[int, int, int]:
        """(protocol, resolver, lp) fees on `amount` lamports, each rounded up."""
        return (
            fee_amount(amount, self.protocol_bps),
            fee_amount(amount, self.resolver_bps),
            fee_amount(amount, self.lp_bps),
        )


@dataclass(frozen=True, slots=True)
class Quote:
    """Everything a trade costs or pays and how it moves the market.

    ``amount`` is the LMSR cost of a buy (rounded up) or the gross LMSR proceeds of a sale
    (rounded down); the fees are each ``fee_amount(amount, bps)``; ``total`` is what the trader
    pays (buy: amount + fees) or receives (sell: amount − fees). Prices are PRICE_SCALE fixed
    point, floored; ``price_before``/``price_after`` are for the traded outcome.
    """

    is_buy: bool
    outcome: bool
    shares: int
    amount: int
    protocol_fee: int
    resolver_fee: int
    lp_fee: int
    total: int
    price_before: int
    price_after: int
    price_yes_after: int
    average_price: int
    price_impact_bps: int


# --- fixed-point kernels (arguments and results in ulps of 2^-128) -----------------------------


def _exp_neg(x: int) -> int:
    """``e^(−x)`` for fixed-point ``x ≥ 0``, within 2.5 ulps.

    With ``x = k·ln2 + r`` (r computed from the rounded ``_LN2``, off by at most k/2 ulps, which
    costs at most k·2^-k/2 ≤ 1/4 ulp after the shift), ``e^(−r)`` is the Horner form
    ``1 − r(1 − r/2(1 − r/3(…)))``: each step floors once and scales the previous error by
    r/n < 1, so the sum is within e^r ≤ 2 ulps, plus < 1/2 ulp of truncated series. The shift
    by ``k`` floors once more (≤ 1 ulp) and halves the rest, so the total is ≤ 2.5 ulps. The
    result is at most ``_ONE`` and strictly below it for any x ≥ 2^78 (every x this module
    passes is either 0 or above that, since x = d·2^128/b with d ≥ 1, b < 2^50).
    """
    k, r = divmod(x, _LN2)
    if k > FRAC_BITS:
        return 0  # e^(−x) < 2^-129: below half an ulp
    acc = _ONE
    for divisor in _EXP_DIVISORS:
        acc = _ONE - acc * r // divisor
    return acc >> k


def _ln1p(y: int) -> int:
    """``ln(1 + y)`` for fixed-point ``0 ≤ y < _ONE``, within 5.3 ulps.

    ``ln(1 + y) = 2·atanh(z)``, ``z = y/(2 + y) ≤ 1/3``: z is floored (< 1 ulp, ×2/(1 − z²)
    ≤ 2.25 on the result), ``w = z²`` floored (< 1 ulp, ×≤ 0.42 on the series), the Horner sum
    of ``Σ w^k/(2k+1)`` floors twice per step with earlier errors scaled by w ≤ 1/9 (≤ 2.25
    ulps) plus a tail below 0.3 ulp, and the final ``2·z·S`` floors once (≤ (2/3)·2.97 + 1).
    """
    z = (y << FRAC_BITS) // ((2 << FRAC_BITS) + y)
    w = (z * z) >> FRAC_BITS
    coeffs = iter(_ATANH_COEFFS)
    acc = next(coeffs)
    for coeff in coeffs:
        acc = coeff + ((acc * w) >> FRAC_BITS)
    return (z * acc) >> (FRAC_BITS - 1)


def _exp_ratio(q_a: int, q_b: int, b: int) -> int:
    """``y = e^(−|q_a − q_b|/b)`` in fixed point; exactly ``_ONE`` for a balanced market."""
    d = abs(q_a - q_b)
    if d == 0:
        return _ONE
    return _exp_neg((d << FRAC_BITS) // b)


def _cost_n(q_a: int, q_b: int, b: int, y: int) -> int:
    """``C·2^128`` within ``b·COST_ERROR_ULPS``, given ``y = _exp_ratio(q_a, q_b, b)``.

    ``m·2^128`` is exact; ``ln(1 + y)`` is within 5.3 ulps of ``ln(1 + y_computed)``, plus 2.5
    ulps for ``y``'s own error and 0.5 for flooring ``x = d/b`` (the function's slope is ≤ 1/2),
    8.3 ulps in all, times ``b``. A balanced market uses ``_LN2`` (≤ 1/2 ulp).
    """
    if y == _ONE:
        soft = _LN2
    elif y == 0:
        soft = 0
    else:
        soft = _ln1p(y)
    return (max(q_a, q_b) << FRAC_BITS) + b * soft


def _ceil_lamports(n: int) -> int:
    return -(-n >> FRAC_BITS)


def _side_price(q_a: int, q_b: int, y: int) -> int:
    """Floor of PRICE_SCALE × the price of side ``a``, given ``y = _exp_ratio(q_a, q_b, b)``.

    The leading side's price is ``floor(S/(1 + y))`` and the other's ``S − ceil(S/(1 + y))``
    (S = PRICE_SCALE) from the same quotient, so the two sum to 10^9 or 10^9 − 1.
    """
    num = PRICE_SCALE << FRAC_BITS
    den = _ONE + y
    if q_a >= q_b:
        return num // den
    return PRICE_SCALE + (-num // den)


def _state(q_a: int, q_b: int, b: int) -> tuple[int, int]:
    """(``C·2^128`` as in ``_cost_n``, ``y = e^(−|q_a − q_b|/b)``) of a market."""
    y = _exp_ratio(q_a, q_b, b)
    return _cost_n(q_a, q_b, b, y), y


def _round_cost(n_before: int, n_after: int, b: int) -> int:
    """``C(after) − C(before)`` rounded up after adding both states' error bounds."""
    return _ceil_lamports(n_after - n_before + 2 * b * COST_ERROR_ULPS)


def _round_proceeds(n_before: int, n_after: int, b: int) -> int:
    """``C(before) − C(after)`` rounded down after subtracting both states' error bounds; an
    exact value below the bound (a practically worthless side) becomes 0, never negative."""
    return max(0, (n_before - n_after - 2 * b * COST_ERROR_ULPS) >> FRAC_BITS)


def _sides(q_yes: int, q_no: int, outcome: bool) -> tuple[int, int]:
    """(shares of the traded outcome, shares of the other one)."""
    return (q_yes, q_no) if outcome else (q_no, q_yes)


def _check_trade(
    q_yes: object, q_no: object, b: object, outcome: object, shares: object, *, is_buy: bool
) -> tuple[int, int, int, int]:
    """Validate a trade; return (traded side's q, other side's q, b, shares)."""
    qy, qn, bb = _check_market(q_yes, q_no, b)
    side = _require_bool("outcome", outcome)
    n = _require_int("shares", shares, 1, U64_MAX)
    q_a, q_b = _sides(qy, qn, side)
    if is_buy and q_a + n > MAX_SHARES:
        raise TradeOutOfRange(
            f"buying {n} shares would leave {q_a + n} outstanding, above MAX_SHARES={MAX_SHARES}"
        )
    if not is_buy and n > q_a:
        raise TradeOutOfRange(f"cannot sell {n} shares: only {q_a} are outstanding on that side")
    return q_a, q_b, bb, n


# --- public API ---------------------------------------------------------------------------------


def fee_amount(amount: int, bps: int) -> int:
    """``ceil(amount·bps/10000)``: a fee, rounded up in the pool's favour."""
    _require_int("amount", amount, 0, U64_MAX)
    _require_int("bps", bps, 0, BPS_DENOMINATOR)
    return -(-amount * bps // BPS_DENOMINATOR)


def cost_fixed(q_yes: int, q_no: int, b: int) -> tuple[int, int]:
    """``(N, F)`` with ``C(q_yes, q_no) ≈ N/2^F`` before any rounding, within
    ``b·COST_ERROR_ULPS`` units of 2^-F (for tests against a high-precision reference)."""
    qy, qn, bb = _check_market(q_yes, q_no, b)
    return _cost_n(qy, qn, bb, _exp_ratio(qy, qn, bb)), FRAC_BITS


def cost(q_yes: int, q_no: int, b: int) -> int:
    """``C(q_yes, q_no)`` in lamports, rounded up (never below the exact value, < 1 above)."""
    n, _ = cost_fixed(q_yes, q_no, b)
    return _ceil_lamports(n + b * COST_ERROR_ULPS)


def min_initial_liquidity(b: int) -> int:
    """``ceil(b·ln 2)``: the LMSR's worst-case loss, which the creator must deposit.

    It is ``cost(0, 0, b)``: the fixed-point value is within 2^-74 lamports of ``b·ln 2``, and
    no ``b ≤ MAX_B`` brings ``b·ln 2`` that close to an integer (the closest, at the continued
    fraction denominator 416024953243748 of ln 2, is 2^-51 away; the tests check it), so the
    rounding up is the exact ceiling.
    """
    return cost(0, 0, b)


def buy_cost(q_yes: int, q_no: int, b: int, outcome: bool, shares: int) -> int:
    """LMSR cost of buying `shares` of `outcome` (True = YES): C(after) − C(before), rounded up
    (never below the exact value, less than one lamport above it)."""
    q_a, q_b, bb, n = _check_trade(q_yes, q_no, b, outcome, shares, is_buy=True)
    return _round_cost(_state(q_a, q_b, bb)[0], _state(q_a + n, q_b, bb)[0], bb)


def sell_proceeds(q_yes: int, q_no: int, b: int, outcome: bool, shares: int) -> int:
    """Gross LMSR proceeds of selling `shares` of `outcome`: C(before) − C(after), rounded down
    (never above the exact value, less than one lamport below it). `shares` may not exceed what
    is outstanding on that side."""
    q_a, q_b, bb, n = _check_trade(q_yes, q_no, b, outcome, shares, is_buy=False)
    return _round_proceeds(_state(q_a, q_b, bb)[0], _state(q_a - n, q_b, bb)[0], bb)


def price(q_yes: int, q_no: int, b: int, outcome: bool) -> int:
    """Price of `outcome`, ``floor(p·10^9)`` of the computed probability (within one unit of
    the exact one); ``p_yes = 1/(1 + e^(−(q_yes − q_no)/b))``. YES + NO is 10^9 or 10^9 − 1."""
    qy, qn, bb = _check_market(q_yes, q_no, b)
    q_a, q_b = _sides(qy, qn, _require_bool("outcome", outcome))
    return _side_price(q_a, q_b, _exp_ratio(q_a, q_b, bb))


def _require_fees(fees: object) -> FeeSchedule:
    if not isinstance(fees, FeeSchedule):
        raise LmsrError(f"fees must be a FeeSchedule, got {type(fees).__name__}")
    return fees


def _quote(
    outcome: bool,
    shares: int,
    amount: int,
    fees: FeeSchedule,
    *,
    before: tuple[int, int, int],
    after: tuple[int, int, int],
) -> Quote:
    """Assemble a Quote from the LMSR amount and the markets ``(q_a, q_b, y)`` around the
    trade (``q_a`` = the traded outcome); a buy iff the traded side grows."""
    is_buy = after[0] > before[0]
    protocol_fee, resolver_fee, lp_fee = fees.fees(amount)
    fee_sum = protocol_fee + resolver_fee + lp_fee
    total = amount + fee_sum if is_buy else amount - fee_sum
    if not is_buy and total <= 0:
        # A sale that pays nothing would take the trader's shares for free: refused, like a
        # trade of zero shares (a buy always costs at least one lamport: its cost rounds up).
        raise TradeOutOfRange(
            f"sale too small to pay anything after fees: proceeds {amount} lamports, fees {fee_sum}"
        )
    q_a, q_b, y = after
    price_before = _side_price(*before)
    price_after = _side_price(q_a, q_b, y)
    return Quote(
        is_buy=is_buy,
        outcome=outcome,
        shares=shares,
        amount=amount,
        protocol_fee=protocol_fee,
        resolver_fee=resolver_fee,
        lp_fee=lp_fee,
        total=total,
        price_before=price_before,
        price_after=price_after,
        price_yes_after=price_after if outcome else _side_price(q_b, q_a, y),
        average_price=amount * PRICE_SCALE // shares,
        price_impact_bps=(
            abs(price_after - price_before) * BPS_DENOMINATOR // price_before if price_before else 0
        ),
    )


def quote_buy(
    q_yes: int, q_no: int, b: int, outcome: bool, shares: int, fees: FeeSchedule
) -> Quote:
    """Quote buying `shares` of `outcome`: ``amount`` = ``buy_cost``, the trader pays
    ``total = amount + fees``."""
    q_a, q_b, bb, n = _check_trade(q_yes, q_no, b, outcome, shares, is_buy=True)
    schedule = _require_fees(fees)
    n_before, y_before = _state(q_a, q_b, bb)
    n_after, y_after = _state(q_a + n, q_b, bb)
    amount = _round_cost(n_before, n_after, bb)
    return _quote(
        outcome, n, amount, schedule, before=(q_a, q_b, y_before), after=(q_a + n, q_b, y_after)
    )


def quote_sell(
    q_yes: int, q_no: int, b: int, outcome: bool, shares: int, fees: FeeSchedule
) -> Quote:
    """Quote selling `shares` of `outcome`: ``amount`` = ``sell_proceeds``, the trader receives
    ``total = amount − fees``. Raises TradeOutOfRange if nothing is left after the fees (each
    rounded up), which only happens for sales worth a few lamports."""
    q_a, q_b, bb, n = _check_trade(q_yes, q_no, b, outcome, shares, is_buy=False)
    schedule = _require_fees(fees)
    n_before, y_before = _state(q_a, q_b, bb)
    n_after, y_after = _state(q_a - n, q_b, bb)
    amount = _round_proceeds(n_before, n_after, bb)
    return _quote(
        outcome, n, amount, schedule, before=(q_a, q_b, y_before), after=(q_a - n, q_b, y_after)
    )


def _max_net_amount(budget: int, fees: FeeSchedule) -> int:
    """The largest LMSR amount ``a`` with ``a + fees(a) ≤ budget``.

    ``a + fees(a)`` is strictly increasing and at least ``a·(1 + total_bps/10000)``, so the
    answer is at most ``budget·10000/(10000 + total_bps)``; each fee's rounding adds less than
    one lamport, so at most three steps down reach it.
    """
    a = budget * BPS_DENOMINATOR // (BPS_DENOMINATOR + fees.total_bps)
    while a > 0 and a + sum(fees.fees(a)) > budget:
        a -= 1
    return a


def _inverse_estimate(n_before: int, net: int, q_a: int, q_b: int, b: int) -> int:
    """Shares of side ``a`` whose cost is about ``net`` lamports, by inverting C (an estimate).

    ``C(q_a + s, q_b) = C₁`` solves to ``q_a + s = C₁ + b·ln(1 − e^(−u))``,
    ``u = (C₁ − q_b)/b``. Here ``u ≥ 1/b > 2^-50`` (C₁ ≥ max(q) + net), so ``1 − e^(−u)`` is
    positive and is normalised to ``[1, 2)·2^-j`` for the ln series.
    """
    target = n_before + (net << FRAC_BITS)
    t = _exp_neg((target - (q_b << FRAC_BITS)) // b)
    v = _ONE - t
    j = FRAC_BITS + 1 - v.bit_length()
    neg_ln = j * _LN2 - _ln1p((v << j) - _ONE)
    return ((target - b * neg_ln) >> FRAC_BITS) - q_a


def max_shares_for_amount(
    q_yes: int, q_no: int, b: int, outcome: bool, amount: int, fees: FeeSchedule
) -> int:
    """The most shares of `outcome` whose ``quote_buy(...).total`` is at most `amount`.

    0 if even one share unit costs more (or the side is already at MAX_SHARES). Exact: the
    budget is first turned into the largest LMSR amount ``net`` it covers after fees, so a buy
    fits iff its rounded cost is ``≤ net``; that cost is non-decreasing in the shares, and the
    answer lies in ``[0, limit]`` (a buy of s shares costs more than ``q_a + s − C``, and the
    side may not pass MAX_SHARES). The closed-form inverse of C gives a guess, usually exact
    to a share unit; a galloping search from the guess brackets the boundary and bisection
    finishes it, so a typical call evaluates C three or four times.
    """
    qy, qn, bb = _check_market(q_yes, q_no, b)
    q_a, q_b = _sides(qy, qn, _require_bool("outcome", outcome))
    budget = _require_int("amount", amount, 0, U64_MAX)
    net = _max_net_amount(budget, _require_fees(fees))
    n_before, _ = _state(q_a, q_b, bb)
    limit = min(MAX_SHARES - q_a, net + _ceil_lamports(n_before + bb * COST_ERROR_ULPS) - q_a)
    if net < 1 or limit < 1:
        return 0  # every buy costs at least one lamport

    def fits(s: int) -> bool:
        return _round_cost(n_before, _state(q_a + s, q_b, bb)[0], bb) <= net

    # Invariant: lo fits (0 always does), hi does not (limit + 1 stands for "out of range").
    guess = min(max(_inverse_estimate(n_before, net, q_a, q_b, bb), 1), limit)
    step = 1
    if fits(guess):
        lo, hi = guess, min(guess + 1, limit + 1)
        while hi <= limit and fits(hi):
            lo, step = hi, step * 2
            hi = min(lo + step, limit + 1)
    else:
        lo, hi = guess - 1, guess
        while lo > 0 and not fits(lo):
            hi, step = lo, step * 2
            lo = max(hi - step, 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo
