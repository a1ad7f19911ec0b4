"""Benchmark: the API's LMSR quotes, native (the program's C, `program.quote`) against the model.

Times, in the same run, each quote function of the reference model (`program.lmsr`, Python
integers) and of `program.quote` (the host build of the program's own `onchain/src/lmsr.c`
through ctypes, `lmsr.Quote` built from its answer), then prints both figures per call (median
microseconds) and their ratio model/native. Rows: one mid-sized, lopsided market (buy, sell,
budget search, price, and make_quote's amount path: the budget search then the buy), the same
buy over 1,000 trades drawn across the whole domain, and the API's response model built from a
quote (`api.routes.markets.quote_model`, the same for both). A naive float LMSR is kept as the
floor of what any quote can cost in Python. The machine's cores and load average at the start
and the end go to stderr. Run: ``.venv/bin/python bench/lmsr.py``.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
import time
from collections.abc import Callable

from hybridmarket.api.routes.markets import quote_model
from hybridmarket.program import lmsr, quote
from machine import measured

SAMPLES = 201
CALLS_PER_SAMPLE = 20

# A 1000-SOL-deep market leaning YES, buying 10 SOL of shares / spending 5 SOL, default fees.
B = 10**12
Q_YES, Q_NO = 2_500_000_000_000, 1_200_000_000_000
SHARES = 10_000_000_000
BUDGET = 5_000_000_000
FEES = lmsr.FeeSchedule(protocol_bps=300, resolver_bps=200, lp_bps=500)


def float_cost(q_yes: float, q_no: float, b: float) -> float:
    """C with the same log-sum-exp shift, in floats."""
    return max(q_yes, q_no) + b * math.log1p(math.exp(-abs(q_yes - q_no) / b))


def float_price_yes(q_yes: float, q_no: float, b: float) -> float:
    return 1.0 / (1.0 + math.exp(-(q_yes - q_no) / b))


def float_quote_buy(
    q_yes: int, q_no: int, b: int, outcome: bool, shares: int, fees: lmsr.FeeSchedule
) -> tuple[int, int, float, float]:
    """The float counterpart of quote_buy: amount, fees and total, prices before and after."""
    after = (q_yes + shares, q_no) if outcome else (q_yes, q_no + shares)
    amount = math.ceil(float_cost(*after, b) - float_cost(q_yes, q_no, b))
    fee = sum(
        math.ceil(amount * bps / lmsr.BPS_DENOMINATOR)
        for bps in (fees.protocol_bps, fees.resolver_bps, fees.lp_bps)
    )
    p_before = float_price_yes(q_yes, q_no, b)
    p_after = float_price_yes(*after, b)
    if not outcome:
        p_before, p_after = 1.0 - p_before, 1.0 - p_after
    return amount, amount + fee, p_before, p_after


def random_trades(count: int, seed: int = 17) -> list[tuple[int, int, int, bool, int]]:
    """Buys across the domain: b on a log scale from MIN_B to MAX_B, markets balanced to far
    lopsided, trades from one share unit to 10·b (a fixed seed: the same trades every run)."""
    rng = random.Random(seed)
    trades = []
    while len(trades) < count:
        b = int(10 ** rng.uniform(3, 15))
        q_yes = rng.randrange(0, 50 * b)
        q_no = max(0, q_yes + rng.randrange(-20 * b, 20 * b))
        shares = max(1, int(10 ** rng.uniform(0, math.log10(10 * b))))
        outcome = rng.random() < 0.5
        if max(q_yes, q_no) + shares <= lmsr.MAX_SHARES:
            trades.append((q_yes, q_no, b, outcome, shares))
    return trades


def median_us(call: Callable[[], object]) -> float:
    """Median over SAMPLES of the mean time of CALLS_PER_SAMPLE calls, in microseconds."""
    call()  # warm up
    samples = []
    for _ in range(SAMPLES):
        start = time.perf_counter_ns()
        for _ in range(CALLS_PER_SAMPLE):
            call()
        samples.append((time.perf_counter_ns() - start) / CALLS_PER_SAMPLE)
    return statistics.median(samples) / 1000


def cycling(fn: Callable[..., object], args: list[tuple[object, ...]]) -> Callable[[], object]:
    """A call of `fn` on the next of `args` each time (so a sample spans many trades)."""
    state = {"i": 0}

    def call() -> object:
        i = state["i"]
        state["i"] = (i + 1) % len(args)
        return fn(*args[i])

    return call


def amount_quote(q: quote.Quoter) -> Callable[[], lmsr.Quote]:
    """make_quote's path for an amount: the most shares the budget buys, then their quote."""

    def call() -> lmsr.Quote:
        shares = q.max_shares_for_amount(Q_YES, Q_NO, B, True, BUDGET, FEES)
        return q.quote_buy(Q_YES, Q_NO, B, True, shares, FEES)

    return call


def main() -> None:
    native = quote.load()  # the library program.quote loaded (its functions, as a Quoter)
    if native.backend != "native":  # not x86_64 Linux: the API quotes with the model here
        print("the host library does not load here: nothing native to measure", file=sys.stderr)
        return
    model = quote.MODEL
    market = (Q_YES, Q_NO, B, True)
    trades = [(*t, FEES) for t in random_trades(1000)]
    for t in trades:  # the two answer the same, trade by trade
        assert native.quote_buy(*t) == model.quote_buy(*t), t
    assert native.max_shares_for_amount(*market, BUDGET, FEES) == model.max_shares_for_amount(
        *market, BUDGET, FEES
    )
    cases: list[tuple[str, Callable[[quote.Quoter], Callable[[], object]]]] = [
        ("quote_buy", lambda q: lambda: q.quote_buy(*market, SHARES, FEES)),
        ("quote_sell", lambda q: lambda: q.quote_sell(*market, SHARES, FEES)),
        ("max_shares_for_amount", lambda q: lambda: q.max_shares_for_amount(*market, BUDGET, FEES)),
        ("price", lambda q: lambda: q.price(*market)),
        ("amount → shares → quote", amount_quote),
        ("quote_buy, 1000 trades", lambda q: cycling(q.quote_buy, trades)),
    ]
    rows = [(name, median_us(make(model)), median_us(make(native))) for name, make in cases]
    q = native.quote_buy(*market, SHARES, FEES)
    response_us = median_us(lambda: quote_model(q, "buy", True))
    float_us = median_us(lambda: float_quote_buy(*market, SHARES, FEES))

    print(
        f"LMSR quotes: b={B}, q=({Q_YES}, {Q_NO}), {SHARES} shares / {BUDGET} lamports, "
        f"fees 3%+2%+5%; median of {SAMPLES}×{CALLS_PER_SAMPLE} calls"
    )
    print(f"{'operation':<26}{'model µs':>10}{'native µs':>11}{'model/native':>14}")
    for name, model_us, native_us in rows:
        print(f"{name:<26}{model_us:>10.2f}{native_us:>11.2f}{model_us / native_us:>13.1f}×")
    print(f"the API's response model from a quote (quote_model): {response_us:.2f} µs")
    print(f"a naive float quote_buy, for scale: {float_us:.2f} µs")
    shares = native.max_shares_for_amount(*market, BUDGET, FEES)
    print(f"results: total {q.total} lamports; {shares} shares for {BUDGET} lamports")


if __name__ == "__main__":
    with measured("bench/lmsr.py"):
        main()
