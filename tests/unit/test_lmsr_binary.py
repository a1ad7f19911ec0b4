"""The C LMSR, built into a real SBF program and run in Agave's SVM, against the Python model.

`onchain/src/lmsr.c` (+ `wide.c`, and the probe-only budget search) must return the model's
integers for every valid input and refuse exactly where the model raises. Hypothesis draws
with the model's own strategies (tests/unit/test_lmsr.py): b from MIN_B to MAX_B, q up to
MAX_SHARES, lopsided markets, tiny and huge trades, fee schedules; then explicit edge cases
and the refusals. The probe's compute units per function are measured and held to budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridmarket.program import lmsr, quote
from hybridmarket.program.lmsr import (
    MAX_B,
    MAX_SHARES,
    MIN_B,
    U64_MAX,
    FeeSchedule,
    LmsrError,
    Quote,
)
from hybridmarket.sbf.build import build_probe, project_root
from hybridmarket.sbf.toolchain import ToolchainError, find_compiler

from .lmsr_probe import LmsrProbe, Op, digits_value, fee_tuple
from .test_lmsr import DEFAULT_FEES, NO_FEES, b_values, buys, fee_schedules, markets, share_counts

pytestmark = pytest.mark.unit

T = TypeVar("T")
ONE = 1 << lmsr.FRAC_BITS
SETTINGS = settings(max_examples=250, deadline=None)
Market = tuple[int, int, int]
Trade = tuple[int, int, int, bool, int]


@pytest.fixture(scope="module")
def probe() -> Iterator[LmsrProbe]:
    try:
        compiler = find_compiler()
    except ToolchainError as exc:
        pytest.fail(f"{exc} (`make test` installs the program extra)")
    yield LmsrProbe(build_probe(compiler=compiler))


def model(fn: Callable[..., T], *args: object) -> T | None:
    """The model's result, or None where it refuses the input."""
    try:
        return fn(*args)
    except LmsrError:
        return None


def model_fees(raw: tuple[int, int, int]) -> FeeSchedule | None:
    return model(FeeSchedule, *raw)


# --- strategies (beyond test_lmsr's) -----------------------------------------------------------


@st.composite
def sells(draw: st.DrawFn) -> Trade:
    """(q_yes, q_no, b, outcome, shares) for a sale of at most what is outstanding."""
    q_yes, q_no, b = draw(markets())
    outcome = draw(st.booleans())
    if (q_yes if outcome else q_no) == 0:
        outcome = not outcome
    if (q_yes if outcome else q_no) == 0:  # an empty market: put shares on the traded side
        q_yes = draw(share_counts(MAX_SHARES, b))
        outcome = True
    side = q_yes if outcome else q_no
    return q_yes, q_no, b, outcome, draw(share_counts(side, b))


# Values on both sides of every bound the LMSR checks, and anything a u64 holds.
EDGES = [0, 1, MIN_B - 1, MIN_B, MAX_B, MAX_B + 1, MAX_SHARES - 1, MAX_SHARES, MAX_SHARES + 1]
any_u64 = st.one_of(st.sampled_from([*EDGES, U64_MAX]), st.integers(0, U64_MAX))
raw_fees = st.one_of(
    fee_schedules.map(fee_tuple),
    st.tuples(*[st.sampled_from([0, 1, 3333, 9999, 10_000, 10_001, U64_MAX])] * 3),
    st.tuples(*[st.integers(0, 10_001)] * 3),
)


@st.composite
def any_trades(draw: st.DrawFn) -> Trade:
    """Inputs valid or not: a real market with any trade size, or any u64s at all."""
    if draw(st.booleans()):
        q_yes, q_no, b = draw(markets())
    else:
        q_yes, q_no, b = draw(any_u64), draw(any_u64), draw(st.one_of(any_u64, b_values))
    shares = draw(st.one_of(any_u64, st.integers(0, 10 * max(b, 1))))
    return q_yes, q_no, b, draw(st.booleans()), shares


# --- checks shared by the properties and the edge cases ----------------------------------------


def check_market(probe: LmsrProbe, q_yes: int, q_no: int, b: int) -> None:
    n = model(lambda *a: lmsr.cost_fixed(*a)[0], q_yes, q_no, b)
    assert probe.cost_fixed(q_yes, q_no, b) == n
    assert probe.cost(q_yes, q_no, b) == model(lmsr.cost, q_yes, q_no, b)
    for outcome in (True, False):
        assert probe.price(q_yes, q_no, b, outcome) == model(lmsr.price, q_yes, q_no, b, outcome)


def check_buy(probe: LmsrProbe, trade: Trade, raw: tuple[int, int, int]) -> None:
    assert probe.buy_cost(*trade) == model(lmsr.buy_cost, *trade)
    fees = model_fees(raw)
    expected = None if fees is None else model(lmsr.quote_buy, *trade, fees)
    assert probe.quote(True, *trade, raw) == expected


def check_sell(probe: LmsrProbe, trade: Trade, raw: tuple[int, int, int]) -> None:
    assert probe.sell_proceeds(*trade) == model(lmsr.sell_proceeds, *trade)
    fees = model_fees(raw)
    expected = None if fees is None else model(lmsr.quote_sell, *trade, fees)
    assert probe.quote(False, *trade, raw) == expected


def check_budget(
    probe: LmsrProbe, market: Market, outcome: bool, amount: int, raw: tuple[int, int, int]
) -> None:
    fees = model_fees(raw)
    expected = (
        None if fees is None else model(lmsr.max_shares_for_amount, *market, outcome, amount, fees)
    )
    assert probe.max_shares_for_amount(*market, outcome, amount, raw) == expected


# --- the constants -----------------------------------------------------------------------------


def c_table(source: str, name: str) -> list[int]:
    """The digits of the `static const uint32_t NAME[...] = {...};` table in `source`."""
    match = re.search(rf"\b{name}\[[^=]*=\s*\{{(.*?)\}};", source, re.S)
    assert match, f"no table {name}"
    return [int(d, 16) for d in re.findall(r"0x([0-9a-f]{8})U", match.group(1))]


def as_digits(value: int, count: int) -> list[int]:
    return [(value >> (32 * i)) & 0xFFFF_FFFF for i in range(count)]


def test_c_constants_are_the_models() -> None:
    source = (project_root() / "onchain" / "src" / "lmsr.c").read_text()
    assert c_table(source, "lmsr_ln2") == as_digits(lmsr._LN2, 4)
    assert c_table(source, "LN2_TIMES_129") == as_digits(129 * lmsr._LN2, 6)
    # The model's 39 atanh coefficients, k = 38 .. 0; the C keeps the first 38 (the last is ONE).
    assert lmsr._ATANH_COEFFS[-1] == ONE
    expected = [d for c in lmsr._ATANH_COEFFS[:-1] for d in as_digits(c, 4)]
    assert c_table(source, "ATANH_COEFFS") == expected
    assert re.search(rf"#define EXP_TERMS {lmsr._EXP_TERMS}U\b", source)
    assert re.search(rf"#define ATANH_TABLE {lmsr._ATANH_TERMS}U\b", source)
    assert tuple(n << lmsr.FRAC_BITS for n in range(30, 0, -1)) == lmsr._EXP_DIVISORS
    header = (project_root() / "onchain" / "include" / "lmsr.h").read_text()
    for name in ("PRICE_SCALE", "BPS_DENOMINATOR", "MIN_B", "MAX_B", "MAX_SHARES"):
        assert re.search(rf"#define LMSR_{name} {getattr(lmsr, name)}ULL\b", header), name


# --- kernels and helpers -----------------------------------------------------------------------


@SETTINGS
@given(
    st.one_of(
        st.integers(0, 130 * lmsr._LN2),
        st.integers(128 * lmsr._LN2, 130 * lmsr._LN2),
        st.integers(0, 2**192 - 1),
        st.integers(0, 2**80),
    ),
    st.one_of(st.integers(0, ONE - 1), st.integers(0, 40).map(lambda e: 2**e)),
)
def test_exp_neg_and_ln1p_match_the_model(probe: LmsrProbe, x: int, y: int) -> None:
    assert probe.exp_neg(x) == lmsr._exp_neg(x)
    assert probe.ln1p(y) == lmsr._ln1p(y)


@pytest.mark.parametrize(
    "x",
    [
        0,
        1,
        lmsr._LN2 - 1,
        lmsr._LN2,
        128 * lmsr._LN2,
        129 * lmsr._LN2 - 1,
        129 * lmsr._LN2,
        2**192 - 1,
    ],
)
def test_exp_neg_at_its_boundaries(probe: LmsrProbe, x: int) -> None:
    """x = 0 gives exactly ONE; k = 128 is the last shift kept, k = 129 underflows to 0."""
    assert probe.exp_neg(x) == lmsr._exp_neg(x)


@pytest.mark.parametrize("y", [0, 1, ONE // 2, ONE - 1, lmsr._exp_neg(1 << 78)])
def test_ln1p_at_its_boundaries(probe: LmsrProbe, y: int) -> None:
    assert probe.ln1p(y) == lmsr._ln1p(y)


u64s = st.one_of(st.integers(0, U64_MAX), st.sampled_from([0, 1, 2**32 - 1, 2**32, U64_MAX]))
u128s = st.one_of(st.integers(0, 2**128 - 1), st.sampled_from([0, 2**64 - 1, 2**64, 2**128 - 1]))


@SETTINGS
@given(u64s, u64s, u128s, u128s)
def test_u128_helpers_match_python_ints(probe: LmsrProbe, a: int, b: int, n: int, m: int) -> None:
    assert probe.u128_mul64(a, b) == a * b
    assert probe.u128_add(n, m) == (n + m if n + m < 2**128 else None)
    fits = b != 0 and n // b <= U64_MAX
    assert probe.u128_div64(n, b) == (divmod(n, b) if fits else None)
    if b:
        assert probe.u128_div64(a * b, b) == (a, 0)


divisors = st.one_of(
    st.sampled_from([1, 10_000, 2**32 - 1, 2**32, 2**32 + 1, 2**63 - 1, 2**63, U64_MAX]),
    st.integers(1, 64).flatmap(lambda bits: st.integers(1, 2**bits - 1)),
)


@SETTINGS
@given(u64s, divisors, st.data())
def test_u128_div64_on_every_quotient_digit_pattern(
    probe: LmsrProbe, quotient: int, d: int, data: st.DataObject
) -> None:
    """n = q·d + r for any q, d, r < d: every quotient that fits, including the largest."""
    r = data.draw(st.one_of(st.sampled_from([0, d - 1]), st.integers(0, d - 1)))
    assert probe.u128_div64(quotient * d + r, d) == (quotient, r)


# Knuth D's rare steps: an estimated quotient digit lowered once or twice, and the add-back
# (probability ~2^-31 per digit on random input). The first three are Hacker's Delight's
# divmnu tests of the add-back; the rest were found by searching digits near the 2^31 and
# 2^32 boundaries with a Python transcription of the algorithm.
DIVMOD_VECTORS: list[tuple[list[int], list[int]]] = [
    ([0, 0, 0x80000000, 0x7FFFFFFF], [1, 0, 0x80000000]),
    ([3, 0, 0x80000000], [1, 0, 0x20000000]),
    ([3, 0, 0, 0x80000000], [1, 0, 0x20000000]),
    ([0, 0x7FFFFFFF, 0, 0x80000000, 0xFFFFFFFF], [1, 0, 0xFFFFFFFF, 1]),
    (
        [0xFFFFFFFF, 0, 0xFFFFFFFE, 0x80000000, 0x80000000, 0x7FFFFFFF],
        [0, 1, 0xFFFFFFFE, 0, 0x80000000],
    ),
    (
        [0xFFFFFFFE, 0x7FFFFFFF, 0x80000000, 0x7FFFFFFF, 0, 1, 0, 0x7FFFFFFF],
        [0xFFFFFFFF, 0xFFFFFFFF, 0x7FFFFFFF],
    ),
    (  # three corrections of qhat, no add-back
        [0xFFFFFFFE, 0, 0, 0xFFFFFFFF, 1, 0x80000000],
        [0x7FFFFFFF, 0xFFFFFFFF, 0xFFFFFFFE, 0x80000000],
    ),
    (
        [0x80000000, 0, 0x7FFFFFFF, 1, 0x80000000, 0x80000000, 1, 0xFFFFFFFE],
        [0, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF],
    ),
    ([5, 0, 0, 0, 0, 0, 0, 0], [7]),  # one-digit divisor
    ([0xFFFFFFFF] * 8, [0xFFFFFFFF] * 6),
]


def check_divmod(probe: LmsrProbe, u: list[int], v: list[int]) -> None:
    valid = 1 <= len(v) <= len(u) and v[-1] != 0
    expected = divmod(digits_value(u), digits_value(v)) if valid else None
    assert probe.wide_divmod(u, v) == expected


@pytest.mark.parametrize(("u", "v"), DIVMOD_VECTORS)
def test_knuth_division_on_its_rare_paths(probe: LmsrProbe, u: list[int], v: list[int]) -> None:
    check_divmod(probe, u, v)


digits_near_bounds = st.one_of(
    st.sampled_from([0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF]),
    st.integers(0, 0xFFFF_FFFF),
)


@SETTINGS
@given(st.lists(digits_near_bounds, min_size=1, max_size=8), st.data())
def test_knuth_division_matches_python_ints(
    probe: LmsrProbe, u: list[int], data: st.DataObject
) -> None:
    v = data.draw(st.lists(digits_near_bounds, min_size=1, max_size=min(len(u), 6)))
    check_divmod(probe, u, v)  # a zero top digit of v is refused


def test_knuth_division_refuses_bad_sizes(probe: LmsrProbe) -> None:
    assert probe.wide_divmod([1, 2], [1, 2, 3]) is None  # n > m
    assert probe.wide_divmod([1, 2], []) is None
    assert probe.wide_divmod([1, 2], [1, 0]) is None  # a zero top digit


# --- the LMSR API ------------------------------------------------------------------------------


@SETTINGS
@given(markets())
def test_cost_and_prices_match_the_model(probe: LmsrProbe, market: Market) -> None:
    check_market(probe, *market)


@SETTINGS
@given(buys(), fee_schedules)
def test_buys_match_the_model(probe: LmsrProbe, trade: Trade, fees: FeeSchedule) -> None:
    check_buy(probe, trade, fee_tuple(fees))


@SETTINGS
@given(sells(), fee_schedules)
def test_sells_match_the_model(probe: LmsrProbe, trade: Trade, fees: FeeSchedule) -> None:
    check_sell(probe, trade, fee_tuple(fees))


@SETTINGS
@given(buys(), fee_schedules)
def test_selling_back_what_was_bought_matches_the_model(
    probe: LmsrProbe, trade: Trade, fees: FeeSchedule
) -> None:
    q_yes, q_no, b, outcome, shares = trade
    after = (q_yes + shares, q_no) if outcome else (q_yes, q_no + shares)
    check_sell(probe, (*after, b, outcome, shares), fee_tuple(fees))


@SETTINGS
@given(
    markets(),
    st.booleans(),
    st.one_of(st.integers(0, 20), st.integers(0, 10**12), st.integers(0, U64_MAX)),
    fee_schedules,
)
def test_max_shares_for_amount_matches_the_model(
    probe: LmsrProbe, market: Market, outcome: bool, amount: int, fees: FeeSchedule
) -> None:
    check_budget(probe, market, outcome, amount, fee_tuple(fees))


@SETTINGS
@given(any_trades(), raw_fees)
def test_refusals_match_the_model(
    probe: LmsrProbe, trade: Trade, raw: tuple[int, int, int]
) -> None:
    """Anything a u64 holds: the C refuses exactly the inputs the model raises on."""
    q_yes, q_no, b, outcome, shares = trade
    check_market(probe, q_yes, q_no, b)
    check_buy(probe, trade, raw)
    check_sell(probe, trade, raw)
    check_budget(probe, (q_yes, q_no, b), outcome, shares, raw)


@SETTINGS
@given(any_u64, st.one_of(st.integers(0, 10_001), any_u64))
def test_fee_amount_matches_the_model(probe: LmsrProbe, amount: int, bps: int) -> None:
    assert probe.fee_amount(amount, bps) == model(lmsr.fee_amount, amount, bps)


# --- edge cases --------------------------------------------------------------------------------


def underflow_edge(b: int) -> int:
    """The smallest |Δq| whose e^(−|Δq|/b) the model takes as 0 (k > 128)."""
    d = (129 * lmsr._LN2 * b) >> lmsr.FRAC_BITS
    while ((d << lmsr.FRAC_BITS) // b) < 129 * lmsr._LN2:
        d += 1
    return d


EDGE_MARKETS: list[Market] = [
    (0, 0, MIN_B),
    (0, 0, MAX_B),
    (0, 0, 10**12),
    (10**18, 10**18, MAX_B),  # balanced at MAX_SHARES: y is exactly ONE
    (MAX_SHARES, 0, MIN_B),  # |Δq|/b = 10^15: far past the underflow
    (0, MAX_SHARES, MAX_B),
    (1, 0, MAX_B),  # the smallest nonzero x
    (89 * MAX_B, 0, MAX_B),
    (88 * MAX_B, 0, MAX_B),
    (underflow_edge(10**12), 0, 10**12),  # k = 129: the first y taken as 0
    (underflow_edge(10**12) - 1, 0, 10**12),  # k = 128: the last y kept
    (0, underflow_edge(MIN_B), MIN_B),
    (MAX_SHARES, MAX_SHARES - 1, MIN_B),
    (MAX_SHARES - 1, MAX_SHARES, MAX_B),
    (123_456_789_012_345, 98_765_432_109, 999_999_999_999_999),
]


@pytest.mark.parametrize("market", EDGE_MARKETS)
def test_edge_markets_match_the_model(probe: LmsrProbe, market: Market) -> None:
    q_yes, q_no, b = market
    check_market(probe, q_yes, q_no, b)
    for outcome in (True, False):
        side = q_yes if outcome else q_no
        for shares in {1, 2, b, 10 * b, MAX_SHARES - side, MAX_SHARES - side + 1, U64_MAX}:
            for raw in ((300, 200, 500), (0, 0, 0), (9_999, 0, 0), (3_333, 3_333, 3_333)):
                check_buy(probe, (q_yes, q_no, b, outcome, shares), raw)
        for shares in {1, 2, b, side // 2, side, side + 1}:
            for raw in ((300, 200, 500), (0, 0, 0), (3_333, 3_333, 3_333)):
                check_sell(probe, (q_yes, q_no, b, outcome, shares), raw)
        for amount in (0, 1, 3, 4, 10**9, 10**15, U64_MAX):
            check_budget(probe, market, outcome, amount, (300, 200, 500))


@pytest.mark.parametrize("market", EDGE_MARKETS)
def test_the_host_build_answers_as_the_binary(probe: LmsrProbe, market: Market) -> None:
    """The API's native quotes (program.quote: the same C built for the host) against the SBF
    build in the SVM directly, not only through the model (tests/unit/test_quote_native.py)."""
    q_yes, q_no, b = market
    raw = (300, 200, 500)
    fees = FeeSchedule(*raw)
    for outcome in (True, False):
        side = q_yes if outcome else q_no
        for shares in {1, b, 10 * b, max(side // 2, 1)}:
            trade = (q_yes, q_no, b, outcome, shares)
            assert probe.quote(True, *trade, raw) == model(quote.quote_buy, *trade, fees)
            assert probe.quote(False, *trade, raw) == model(quote.quote_sell, *trade, fees)
        for amount in (4, 10**9, U64_MAX):
            assert probe.max_shares_for_amount(*market, outcome, amount, raw) == (
                quote.max_shares_for_amount(*market, outcome, amount, fees)
            )
        assert probe.price(*market, outcome) == quote.price(*market, outcome)


def test_known_values(probe: LmsrProbe) -> None:
    """test_lmsr's fixed vectors, from the binary."""
    assert probe.cost(0, 0, 10**9) == 693_147_181
    assert probe.cost(0, 0, MIN_B) == 694
    q = probe.quote(True, 0, 0, 10**12, True, 10**12, fee_tuple(DEFAULT_FEES))
    assert q == Quote(
        is_buy=True,
        outcome=True,
        shares=10**12,
        amount=620_114_506_959,
        protocol_fee=18_603_435_209,
        resolver_fee=12_402_290_140,
        lp_fee=31_005_725_348,
        total=682_125_957_656,
        price_before=500_000_000,
        price_after=731_058_578,
        price_yes_after=731_058_578,
        average_price=620_114_506,
        price_impact_bps=4621,
    )
    s = probe.quote(False, 10**12, 0, 10**12, True, 10**12, fee_tuple(NO_FEES))
    assert s is not None and s.amount == s.total == 620_114_506_958
    assert probe.max_shares_for_amount(0, 0, 10**12, True, 3, fee_tuple(DEFAULT_FEES)) == 0
    assert probe.max_shares_for_amount(0, 0, 10**12, True, 4, fee_tuple(DEFAULT_FEES)) == 1
    assert probe.max_shares_for_amount(0, 0, 10**12, False, U64_MAX, (300, 200, 500)) == MAX_SHARES


REFUSED: list[tuple[Op, tuple[int, ...]]] = [
    (Op.COST, (MAX_SHARES + 1, 0, 10**9)),
    (Op.COST, (0, MAX_SHARES + 1, 10**9)),
    (Op.COST, (0, 0, MIN_B - 1)),
    (Op.COST, (0, 0, MAX_B + 1)),
    (Op.COST_FIXED, (0, 0, 0)),
    (Op.PRICE, (0, 0, MAX_B + 1, 1)),
    (Op.BUY_COST, (0, 0, 10**9, 1, 0)),
    (Op.BUY_COST, (MAX_SHARES, 0, 10**9, 1, 1)),
    (Op.BUY_COST, (0, 5, 10**9, 0, MAX_SHARES)),
    (Op.BUY_COST, (0, 0, 10**9, 1, U64_MAX)),
    (Op.SELL_PROCEEDS, (5, 0, 10**9, 1, 6)),
    (Op.SELL_PROCEEDS, (0, 0, 10**9, 0, 1)),
    (Op.QUOTE_SELL, (0, 9, 10**9, 1, 1, 0, 0, 0)),
    (Op.QUOTE_SELL, (9, 0, 10**9, 1, 3, 300, 200, 500)),  # pays nothing after fees
    (Op.QUOTE_SELL, (9, 0, 10**9, 1, 1, 0, 0, 0)),  # pays nothing at all
    (Op.QUOTE_BUY, (0, 0, 10**9, 1, 1, 10_001, 0, 0)),
    (Op.QUOTE_BUY, (0, 0, 10**9, 1, 1, 5_000, 4_000, 1_000)),  # fees sum to 10000
    (Op.QUOTE_BUY, (0, 0, 10**9, 1, 1, U64_MAX, U64_MAX, 2)),  # a sum that would wrap
    (Op.MAX_SHARES, (0, 0, 10**9, 1, 1, 0, 10_001, 0)),
    (Op.MAX_SHARES, (0, 0, 0, 1, 1, 0, 0, 0)),
    (Op.FEE_AMOUNT, (10, 10_001)),
]


@pytest.mark.parametrize(("op", "args"), REFUSED)
def test_bad_input_is_refused(probe: LmsrProbe, op: Op, args: tuple[int, ...]) -> None:
    assert probe.call(op, *args) is None


# --- compute units -----------------------------------------------------------------------------

# Ceilings for the figures this test measures (the program's trade instructions target 50k in
# all, the LMSR quote being most of it).
CU_CEILINGS = {
    Op.COST: 18_000,
    Op.PRICE: 9_000,
    Op.BUY_COST: 34_000,
    Op.SELL_PROCEEDS: 34_000,
    Op.QUOTE_BUY: 38_000,
    Op.QUOTE_SELL: 38_000,
}


def test_compute_units_per_function(probe: LmsrProbe, capsys: pytest.CaptureFixture[str]) -> None:
    """The probe's compute units on markets across the range, minus its own (a no-op call)."""
    probe.call(Op.NOOP)
    overhead = probe.compute_units[Op.NOOP][-1]
    b = 10**12
    # Sellers hold YES in every market; the last is past the underflow (y = 0, no series).
    markets_ = [
        (3 * b // 2, b // 3, b),
        (b, b, b),
        (b, 0, b),
        (7 * b, 0, b),
        (MAX_SHARES, 0, MAX_B),
    ]
    figures: dict[Op, list[int]] = {op: [] for op in CU_CEILINGS}
    for q_yes, q_no, bb in markets_:
        calls: list[tuple[Op, tuple[int, ...]]] = [
            (Op.COST, (q_yes, q_no, bb)),
            (Op.PRICE, (q_yes, q_no, bb, 1)),
            (Op.PRICE, (q_yes, q_no, bb, 0)),
            (Op.BUY_COST, (q_yes, q_no, bb, 0, bb // 100)),
            (Op.SELL_PROCEEDS, (q_yes, q_no, bb, 1, q_yes // 3)),
            (Op.QUOTE_BUY, (q_yes, q_no, bb, 0, bb // 100, 300, 200, 500)),
            (Op.QUOTE_BUY, (q_yes, q_no, bb, 1, bb // 100, 300, 200, 500)),
            (Op.QUOTE_SELL, (q_yes, q_no, bb, 1, q_yes // 3, 300, 200, 500)),
        ]
        for op, args in calls:
            if probe.call(op, *args) is not None:  # a refusal costs next to nothing
                figures[op].append(probe.compute_units[op][-1] - overhead)
    with capsys.disabled():
        print(f"\nLMSR compute units in the SBF probe (its own {overhead} CU subtracted):")
        for op, values in figures.items():
            print(f"  {op.name.lower():<14} min {min(values):>6,}  max {max(values):>6,}")
    for op, values in figures.items():
        assert max(values) <= CU_CEILINGS[op], (op.name, values)
