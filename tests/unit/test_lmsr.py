"""The integer LMSR against a 50-digit mpmath reference, and its pool-favouring rounding.

Hypothesis draws markets over the whole supported range: b from MIN_B to MAX_B on a log scale,
outstanding shares up to MAX_SHARES, and both balanced and wildly lopsided markets (|Δq|/b up to
10^15, where e^(−|Δq|/b) underflows any fixed point).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpmath import exp, factorial, log, log1p, mp, mpf

from hybridmarket.program import lmsr
from hybridmarket.program.lmsr import (
    BPS_DENOMINATOR,
    COST_ERROR_ULPS,
    MAX_B,
    MAX_SHARES,
    MIN_B,
    PRICE_SCALE,
    U64_MAX,
    FeeSchedule,
    LmsrError,
    TradeOutOfRange,
    buy_cost,
    cost,
    cost_fixed,
    fee_amount,
    max_shares_for_amount,
    min_initial_liquidity,
    price,
    quote_buy,
    quote_sell,
    sell_proceeds,
)

pytestmark = pytest.mark.unit

mp.dps = 50

DEFAULT_FEES = FeeSchedule(protocol_bps=300, resolver_bps=200, lp_bps=500)
NO_FEES = FeeSchedule(0, 0, 0)
# Whatever the rounding, a real value this close to the rounded one is within the mpmath noise
# of a 50-digit reference on values up to 10^18; the module's own error is below 2^-74.
TINY = mpf("1e-20")


# --- reference ---------------------------------------------------------------------------------


def soft_ref(d: int, b: int) -> mpf:
    """ln(1 + e^(−d/b)), the part of C above max(q)."""
    return log1p(exp(-mpf(d) / b))


def cost_ref(q_yes: int, q_no: int, b: int) -> mpf:
    return mpf(max(q_yes, q_no)) + b * soft_ref(abs(q_yes - q_no), b)


def price_ref(q_yes: int, q_no: int, b: int, outcome: bool) -> mpf:
    p_yes = 1 / (1 + exp(-mpf(q_yes - q_no) / b))
    return (p_yes if outcome else 1 - p_yes) * PRICE_SCALE


# --- strategies --------------------------------------------------------------------------------

b_values = st.one_of(
    st.sampled_from([MIN_B, MAX_B, 10**9, 10**12]),
    st.integers(3, 14).flatmap(lambda e: st.integers(10**e, 10 ** (e + 1))),
)


@st.composite
def markets(draw: st.DrawFn) -> tuple[int, int, int]:
    """(q_yes, q_no, b): balanced, near (|Δq| ≤ 64·b), or anywhere in the range."""
    b = draw(b_values)
    q = draw(
        st.one_of(
            st.integers(0, MAX_SHARES),
            st.integers(0, min(MAX_SHARES, 100 * b)),
            st.sampled_from([0, MAX_SHARES]),
        )
    )
    kind = draw(st.sampled_from(["equal", "near", "any"]))
    if kind == "equal":
        other = q
    elif kind == "near":
        other = min(MAX_SHARES, max(0, q + draw(st.integers(-64 * b, 64 * b))))
    else:
        other = draw(st.integers(0, MAX_SHARES))
    return (q, other, b) if draw(st.booleans()) else (other, q, b)


def share_counts(limit: int, b: int) -> st.SearchStrategy[int]:
    """Trade sizes in [1, limit]: a few units, around b, or anything."""
    return st.one_of(
        st.integers(1, min(limit, 10)),
        st.integers(1, min(limit, 10 * b)),
        st.integers(1, limit),
    )


@st.composite
def buys(draw: st.DrawFn) -> tuple[int, int, int, bool, int]:
    """(q_yes, q_no, b, outcome, shares) for a buy that stays within MAX_SHARES."""
    q_yes, q_no, b = draw(markets())
    if q_yes == q_no == MAX_SHARES:  # both sides full: nothing can be bought
        q_yes -= 1
    outcome = draw(st.booleans())
    if (q_yes if outcome else q_no) == MAX_SHARES:
        outcome = not outcome
    side = q_yes if outcome else q_no
    return q_yes, q_no, b, outcome, draw(share_counts(MAX_SHARES - side, b))


fee_schedules = st.one_of(
    st.just(DEFAULT_FEES),
    st.just(NO_FEES),
    st.tuples(st.integers(0, 3333), st.integers(0, 3333), st.integers(0, 3333)).map(
        lambda t: FeeSchedule(*t)
    ),
)

SETTINGS = settings(max_examples=800, deadline=None)


# --- constants and the arithmetic itself -------------------------------------------------------


def test_internal_constants_are_what_the_error_analysis_assumes() -> None:
    one = mpf(2) ** lmsr.FRAC_BITS
    assert abs(lmsr._LN2 - log(2) * one) <= mpf(1) / 2
    # Truncated Taylor series of e^(−r), r < ln 2: first omitted term below half an ulp.
    n = lmsr._EXP_TERMS + 1
    assert log(2) ** n / factorial(n) * one < mpf(1) / 2
    # Truncated atanh series Σ w^k/(2k+1), w ≤ 1/9: the tail below 0.3 ulp.
    k = lmsr._ATANH_TERMS + 1
    assert (mpf(1) / 9) ** k / (2 * k + 1) * mpf(9) / 8 * one < mpf("0.3")
    # b < 2^50 keeps the cost error bound under 2^-74 lamports.
    assert MAX_B * COST_ERROR_ULPS < 2 ** (lmsr.FRAC_BITS - 74)


def test_module_uses_no_floats() -> None:
    """No float literal, no true division, no math/float import in the program model."""
    tree = ast.parse(Path(lmsr.__file__).read_text())
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float))
        assert not isinstance(node, ast.Div), f"true division at line {node.lineno}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not {"math", "cmath", "decimal", "fractions"} & set(names)
        if isinstance(node, ast.Name):
            assert node.id != "float"


@SETTINGS
@given(markets())
def test_cost_fixed_matches_50_digit_reference(market: tuple[int, int, int]) -> None:
    q_yes, q_no, b = market
    n, frac = cost_fixed(q_yes, q_no, b)
    error = abs(mpf(n) / mpf(2) ** frac - cost_ref(q_yes, q_no, b))
    assert error <= 1
    assert error <= mpf("1e-6")
    # The documented bound, checked on the ln term alone (max(q) is exact), where 50 digits
    # resolve far below an ulp: |N − C·2^F| ≤ b·COST_ERROR_ULPS.
    ln_term_ulps = mpf(n - (max(q_yes, q_no) << frac)) / b
    exact_ulps = soft_ref(abs(q_yes - q_no), b) * mpf(2) ** frac
    assert abs(ln_term_ulps - exact_ulps) <= COST_ERROR_ULPS


@pytest.mark.parametrize(
    ("q_yes", "q_no", "b"),
    [
        (0, 0, MIN_B),
        (0, 0, MAX_B),
        (MAX_SHARES, MAX_SHARES, MAX_B),
        (MAX_SHARES, 0, MIN_B),  # |Δq|/b = 10^15: e^(−x) far below any fixed point
        (0, MAX_SHARES, MAX_B),
        (1, 0, MAX_B),  # smallest nonzero x
        (89 * MAX_B, 0, MAX_B),  # around the e^(−x) underflow threshold (x ≈ 88.7)
        (88 * MAX_B, 0, MAX_B),
        (MAX_SHARES, MAX_SHARES - 1, MIN_B),
    ],
)
def test_cost_fixed_at_extremes(q_yes: int, q_no: int, b: int) -> None:
    n, frac = cost_fixed(q_yes, q_no, b)
    ln_term_ulps = mpf(n - (max(q_yes, q_no) << frac)) / b
    exact_ulps = soft_ref(abs(q_yes - q_no), b) * mpf(2) ** frac
    assert abs(ln_term_ulps - exact_ulps) <= COST_ERROR_ULPS
    assert abs(mpf(n) / mpf(2) ** frac - cost_ref(q_yes, q_no, b)) <= mpf("1e-6")


@SETTINGS
@given(markets())
def test_cost_rounds_up_within_one_lamport(market: tuple[int, int, int]) -> None:
    exact = cost_ref(*market)
    rounded = cost(*market)
    assert exact <= rounded < exact + 1 + TINY


# --- trades ------------------------------------------------------------------------------------


@SETTINGS
@given(buys())
def test_buy_cost_and_sell_proceeds_round_in_the_pools_favour(
    trade: tuple[int, int, int, bool, int],
) -> None:
    q_yes, q_no, b, outcome, shares = trade
    after = (q_yes + shares, q_no) if outcome else (q_yes, q_no + shares)
    exact = cost_ref(*after, b) - cost_ref(q_yes, q_no, b)
    paid = buy_cost(q_yes, q_no, b, outcome, shares)
    assert exact <= paid < exact + 1 + TINY
    # Selling the same shares back from `after` has the same exact value.
    received = sell_proceeds(*after, b, outcome, shares)
    assert exact - 1 - TINY < received <= exact
    assert received <= paid


@SETTINGS
@given(buys(), fee_schedules)
def test_buy_then_sell_never_returns_more_than_paid(
    trade: tuple[int, int, int, bool, int], fees: FeeSchedule
) -> None:
    q_yes, q_no, b, outcome, shares = trade
    bought = quote_buy(q_yes, q_no, b, outcome, shares, fees)
    after = (q_yes + shares, q_no) if outcome else (q_yes, q_no + shares)
    try:
        sold = quote_sell(*after, b, outcome, shares, fees)
    except TradeOutOfRange:
        return  # fees exceed the proceeds: the sale cannot happen at all
    assert sold.total <= sold.amount <= bought.amount <= bought.total


@SETTINGS
@given(buys(), fee_schedules)
def test_quote_fields_are_consistent(
    trade: tuple[int, int, int, bool, int], fees: FeeSchedule
) -> None:
    q_yes, q_no, b, outcome, shares = trade
    q = quote_buy(q_yes, q_no, b, outcome, shares, fees)
    after = (q_yes + shares, q_no) if outcome else (q_yes, q_no + shares)
    assert (q.is_buy, q.outcome, q.shares) == (True, outcome, shares)
    assert q.amount == buy_cost(q_yes, q_no, b, outcome, shares)
    assert q.protocol_fee == fee_amount(q.amount, fees.protocol_bps)
    assert q.resolver_fee == fee_amount(q.amount, fees.resolver_bps)
    assert q.lp_fee == fee_amount(q.amount, fees.lp_bps)
    assert q.total == q.amount + q.protocol_fee + q.resolver_fee + q.lp_fee
    assert q.total <= U64_MAX
    assert q.price_before == price(q_yes, q_no, b, outcome)
    assert q.price_after == price(*after, b, outcome)
    assert q.price_yes_after == price(*after, b, True)
    assert q.price_after >= q.price_before
    assert q.average_price == q.amount * PRICE_SCALE // shares
    expected_impact = (
        (q.price_after - q.price_before) * BPS_DENOMINATOR // q.price_before
        if q.price_before
        else 0
    )
    assert q.price_impact_bps == expected_impact

    if sell_proceeds(*after, b, outcome, shares) == 0:
        with pytest.raises(TradeOutOfRange, match="pay anything"):
            quote_sell(*after, b, outcome, shares, NO_FEES)
        return
    s = quote_sell(*after, b, outcome, shares, NO_FEES)
    assert not s.is_buy
    assert s.total == s.amount == sell_proceeds(*after, b, outcome, shares)
    assert (s.price_before, s.price_after) == (q.price_after, q.price_before)
    assert s.price_yes_after == price(q_yes, q_no, b, True)


@settings(max_examples=300, deadline=None)
@given(
    b_values,
    fee_schedules,
    st.lists(
        st.tuples(st.booleans(), st.booleans(), st.integers(0, 4), st.integers(1, 2**64)),
        min_size=1,
        max_size=40,
    ),
)
def test_pool_stays_solvent_over_any_trade_sequence(
    b: int, fees: FeeSchedule, ops: list[tuple[bool, bool, int, int]]
) -> None:
    """Initial liquidity + Σ buy amounts − Σ sell amounts ≥ max(q) after every trade (the most
    the market can owe). Fees only add to the pool, so the invariant is checked without them;
    sizes range from single units (where rounding matters most) to the whole range."""
    q = {True: 0, False: 0}
    vault = min_initial_liquidity(b)
    scales = [10, b, 100 * b, MAX_SHARES, MAX_SHARES]
    for is_buy, outcome, scale, raw in ops:
        room = MAX_SHARES - q[outcome] if is_buy else q[outcome]
        if room == 0:
            continue
        shares = 1 + raw % min(room, scales[scale])
        if is_buy:
            quote = quote_buy(q[True], q[False], b, outcome, shares, fees)
            vault += quote.amount
            q[outcome] += shares
        else:
            vault -= sell_proceeds(q[True], q[False], b, outcome, shares)
            q[outcome] -= shares
        assert vault >= max(q.values())
        assert vault >= cost_ref(q[True], q[False], b)


def test_many_single_unit_round_trips_only_enrich_the_pool() -> None:
    b = MIN_B
    vault = min_initial_liquidity(b)
    q_yes = q_no = 0
    for i in range(300):
        outcome = i % 3 != 0
        vault += buy_cost(q_yes, q_no, b, outcome, 1)
        q_yes, q_no = (q_yes + 1, q_no) if outcome else (q_yes, q_no + 1)
        assert vault >= max(q_yes, q_no)
    while q_yes:
        vault -= sell_proceeds(q_yes, q_no, b, True, 1)
        q_yes -= 1
        assert vault >= max(q_yes, q_no)
    assert vault >= cost_ref(q_yes, q_no, b)


# --- prices ------------------------------------------------------------------------------------


@SETTINGS
@given(markets())
def test_prices_match_reference_and_sum_to_one(market: tuple[int, int, int]) -> None:
    p_yes = price(*market, True)
    p_no = price(*market, False)
    assert p_yes + p_no in (PRICE_SCALE - 1, PRICE_SCALE)
    for p, outcome in ((p_yes, True), (p_no, False)):
        exact = price_ref(*market, outcome)
        assert exact - 1 - TINY < p <= exact + TINY
        assert 0 <= p <= PRICE_SCALE


@SETTINGS
@given(markets(), st.integers(1, MAX_SHARES), st.booleans())
def test_price_is_monotone_in_shares(market: tuple[int, int, int], delta: int, yes: bool) -> None:
    q_yes, q_no, b = market
    grown = (q_yes + delta, q_no) if yes else (q_yes, q_no + delta)
    more = (min(MAX_SHARES, grown[0]), min(MAX_SHARES, grown[1]))
    assert price(*more, b, yes) >= price(q_yes, q_no, b, yes)
    assert price(*more, b, not yes) <= price(q_yes, q_no, b, not yes)


@pytest.mark.parametrize("b", [MIN_B, 10**9, 123_456_789_012, MAX_B])
@pytest.mark.parametrize("q", [0, 1, 10**9, MAX_SHARES])
def test_balanced_market_prices_exactly_one_half(b: int, q: int) -> None:
    assert price(q, q, b, True) == price(q, q, b, False) == 500_000_000


# --- initial liquidity -------------------------------------------------------------------------


def ln2_convergent_denominators(limit: int) -> list[int]:
    """Denominators of the continued-fraction convergents of ln 2, up to and one past `limit`."""
    with mp.workdps(120):
        x = log(2)
        dens = [1, 0]  # q_{-2}, q_{-1}
        while dens[-1] <= limit:
            a = int(x)
            dens.append(a * dens[-1] + dens[-2])
            x = 1 / (x - a)
    return [q for q in dens[2:] if q >= 1]


def test_no_b_in_range_puts_b_ln2_near_an_integer() -> None:
    """Why rounding b·ln 2 up is its exact ceiling: by Lagrange's best-approximation theorem the
    distance from b·ln 2 to the nearest integer, over 1 ≤ b < q_{n+1}, is smallest at the
    convergent denominator q_n; it stays above 2^-60, while the module's error is below 2^-74."""
    dens = ln2_convergent_denominators(MAX_B)
    assert dens[:6] == [1, 1, 3, 10, 13, 88]  # ln 2 = [0; 1, 2, 3, 1, 6, …]
    q_n = max(q for q in dens if q <= MAX_B)
    assert q_n == 416_024_953_243_748
    with mp.workdps(120):
        gap = abs(q_n * log(2) - mp.nint(q_n * log(2)))
    assert gap > mpf(2) ** -60
    for q in dens:
        if MIN_B <= q <= MAX_B:
            assert min_initial_liquidity(q) == int(mp.ceil(q * log(2)))


@SETTINGS
@given(b_values)
def test_min_initial_liquidity_is_the_exact_ceiling(b: int) -> None:
    expected = int(mp.ceil(b * log(2)))
    assert min_initial_liquidity(b) == expected == cost(0, 0, b)


# --- max_shares_for_amount ---------------------------------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(
    markets(),
    st.booleans(),
    st.one_of(st.integers(0, 20), st.integers(0, 10**12), st.integers(0, U64_MAX)),
    fee_schedules,
)
def test_max_shares_for_amount_is_the_largest_that_fits(
    market: tuple[int, int, int], outcome: bool, amount: int, fees: FeeSchedule
) -> None:
    q_yes, q_no, b = market
    side = q_yes if outcome else q_no
    shares = max_shares_for_amount(q_yes, q_no, b, outcome, amount, fees)
    assert 0 <= shares <= MAX_SHARES - side
    if shares:
        assert quote_buy(q_yes, q_no, b, outcome, shares, fees).total <= amount
    if side + shares < MAX_SHARES:
        assert quote_buy(q_yes, q_no, b, outcome, shares + 1, fees).total > amount


def test_max_shares_for_amount_known_values() -> None:
    b = 10**12
    # One share unit costs one lamport at p = 1/2 (0.5 rounded up); 10% fees round up to 3.
    assert max_shares_for_amount(0, 0, b, True, 3, DEFAULT_FEES) == 0
    assert max_shares_for_amount(0, 0, b, True, 4, DEFAULT_FEES) == 1
    assert max_shares_for_amount(0, 0, b, True, 0, NO_FEES) == 0
    # Nothing to buy on a full side.
    assert max_shares_for_amount(MAX_SHARES, 0, b, True, U64_MAX, NO_FEES) == 0
    # A budget larger than everything buys the side up to MAX_SHARES.
    assert max_shares_for_amount(0, 0, b, False, U64_MAX, DEFAULT_FEES) == MAX_SHARES
    # Spending exactly a quote's total buys at least that quote's shares.
    total = quote_buy(0, 0, b, True, 10**12, DEFAULT_FEES).total
    assert max_shares_for_amount(0, 0, b, True, total, DEFAULT_FEES) >= 10**12
    # A near-worthless side: every unit up to ~10^18 − 6908 costs at most one lamport.
    s = max_shares_for_amount(MAX_SHARES, 0, MIN_B, False, 4, DEFAULT_FEES)
    assert quote_buy(MAX_SHARES, 0, MIN_B, False, s, DEFAULT_FEES).total == 4
    assert quote_buy(MAX_SHARES, 0, MIN_B, False, s + 1, DEFAULT_FEES).total > 4


# --- fixed vectors (also for a Rust port) ------------------------------------------------------


def test_known_values() -> None:
    assert min_initial_liquidity(10**9) == 693_147_181  # ceil(10^9·ln 2)
    assert min_initial_liquidity(MIN_B) == 694
    assert cost(0, 0, 10**9) == 693_147_181
    assert fee_amount(0, 300) == 0
    assert fee_amount(1, 1) == 1
    assert fee_amount(10_000, 300) == 300
    assert fee_amount(10_001, 300) == 301
    # Buying b YES shares from a balanced market costs b·ln((e + 1)/2) = 620114506958.28.
    q = quote_buy(0, 0, 10**12, True, 10**12, DEFAULT_FEES)
    assert q.amount == 620_114_506_959
    assert (q.protocol_fee, q.resolver_fee, q.lp_fee) == (
        18_603_435_209,
        12_402_290_140,
        31_005_725_348,
    )
    assert q.total == 682_125_957_656
    assert (q.price_before, q.price_after, q.price_yes_after) == (
        500_000_000,
        731_058_578,
        731_058_578,
    )
    assert q.average_price == 620_114_506
    assert q.price_impact_bps == 4621
    s = quote_sell(10**12, 0, 10**12, True, 10**12, NO_FEES)
    assert s.amount == s.total == 620_114_506_958
    no = quote_buy(0, 0, 10**12, False, 10**12, NO_FEES)
    assert (no.price_after, no.price_yes_after) == (731_058_578, 268_941_421)


def test_largest_possible_total_fits_a_u64() -> None:
    """The most expensive buy (a whole side at MAX_B) with the highest fees allowed."""
    q = quote_buy(0, 0, MAX_B, True, MAX_SHARES, FeeSchedule(9_999, 0, 0))
    assert q.amount <= MAX_SHARES
    assert q.total < 2**63


# --- bad input ---------------------------------------------------------------------------------

BAD_INPUTS: list[tuple[Callable[[], object], type[Exception], str]] = [
    (lambda: cost(-1, 0, 10**9), LmsrError, "q_yes"),
    (lambda: cost(0, MAX_SHARES + 1, 10**9), LmsrError, "q_no"),
    (lambda: cost(True, 0, 10**9), LmsrError, "q_yes must be an int, got bool"),
    (lambda: cost(0, 1.0, 10**9), LmsrError, "q_no must be an int, got float"),
    (lambda: cost(0, 0, MIN_B - 1), LmsrError, "b must be in"),
    (lambda: cost(0, 0, MAX_B + 1), LmsrError, "b must be in"),
    (lambda: cost(0, 0, 1e9), LmsrError, "b must be an int"),
    (lambda: cost_fixed(0, 0, 0), LmsrError, "b must be in"),
    (lambda: min_initial_liquidity(False), LmsrError, "b must be an int"),
    (lambda: price(0, 0, 10**9, 1), LmsrError, "outcome must be a bool"),
    (lambda: buy_cost(0, 0, 10**9, True, 0), LmsrError, "shares"),
    (lambda: buy_cost(0, 0, 10**9, True, -5), LmsrError, "shares"),
    (lambda: buy_cost(0, 0, 10**9, True, 2.0), LmsrError, "shares must be an int"),
    (lambda: buy_cost(0, 0, 10**9, None, 1), LmsrError, "outcome"),
    (lambda: buy_cost(MAX_SHARES, 0, 10**9, True, 1), TradeOutOfRange, "MAX_SHARES"),
    (lambda: buy_cost(0, 5, 10**9, False, MAX_SHARES), TradeOutOfRange, "MAX_SHARES"),
    (lambda: sell_proceeds(5, 0, 10**9, True, 6), TradeOutOfRange, "only 5"),
    (lambda: sell_proceeds(0, 0, 10**9, False, 1), TradeOutOfRange, "only 0"),
    (lambda: quote_sell(0, 9, 10**9, True, 1, NO_FEES), TradeOutOfRange, "outstanding"),
    (lambda: quote_sell(9, 0, 10**9, True, 3, DEFAULT_FEES), TradeOutOfRange, "after fees"),
    (lambda: quote_sell(9, 0, 10**9, True, 1, NO_FEES), TradeOutOfRange, "pay anything"),
    (lambda: quote_buy(0, 0, 10**9, True, 1, None), LmsrError, "FeeSchedule"),
    (lambda: quote_buy(0, 0, 10**9, True, 1, (0, 0, 0)), LmsrError, "FeeSchedule"),
    (lambda: FeeSchedule(-1, 0, 0), LmsrError, "protocol_bps"),
    (lambda: FeeSchedule(0, 10_001, 0), LmsrError, "resolver_bps"),
    (lambda: FeeSchedule(0, 0, 1.5), LmsrError, "lp_bps must be an int"),
    (lambda: FeeSchedule(True, 0, 0), LmsrError, "protocol_bps must be an int"),
    (lambda: FeeSchedule(5_000, 4_000, 1_000), LmsrError, "below 10000"),
    (lambda: fee_amount(-1, 10), LmsrError, "amount"),
    (lambda: fee_amount(2**64, 10), LmsrError, "amount"),
    (lambda: fee_amount(10, 10_001), LmsrError, "bps"),
    (lambda: fee_amount(10, True), LmsrError, "bps must be an int"),
    (lambda: max_shares_for_amount(0, 0, 10**9, True, -1, NO_FEES), LmsrError, "amount"),
    (lambda: max_shares_for_amount(0, 0, 10**9, True, 1.0, NO_FEES), LmsrError, "amount"),
    (lambda: max_shares_for_amount(0, 0, 10**9, True, 1, "fees"), LmsrError, "FeeSchedule"),
    (lambda: max_shares_for_amount(0, 0, 10**9, "yes", 1, NO_FEES), LmsrError, "outcome"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUTS)
def test_bad_input_is_refused_with_a_message(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_trade_out_of_range_is_an_lmsr_error_and_a_value_error() -> None:
    assert issubclass(TradeOutOfRange, LmsrError)
    assert issubclass(LmsrError, ValueError)
