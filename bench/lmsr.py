"""Benchmark: the integer LMSR (hybridmarket.program.lmsr) against a naive float LMSR.

Times one ``quote_buy`` and one ``max_shares_for_amount`` on a mid-sized, lopsided market, and
the same computations with floats (math.exp/log1p, and a float bisection for the budget), in the
same run, then prints each figure (median microseconds per call) and the ratio integer/float.
The float version is the baseline: what the exactness (128-bit fixed point, error bounds,
rounding in the pool's favour) costs. Run: ``.venv/bin/python bench/lmsr.py``.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

from hybridmarket.program import lmsr

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


def float_max_shares(
    q_yes: int, q_no: int, b: int, outcome: bool, amount: int, fees: lmsr.FeeSchedule
) -> int:
    """The float counterpart of max_shares_for_amount: bisection on the float total."""
    side = q_yes if outcome else q_no
    lo, hi = 0, lmsr.MAX_SHARES - side + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if float_quote_buy(q_yes, q_no, b, outcome, mid, fees)[1] <= amount:
            lo = mid
        else:
            hi = mid
    return lo


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


def main() -> None:
    int_quote = lmsr.quote_buy(Q_YES, Q_NO, B, True, SHARES, FEES)
    flt_quote = float_quote_buy(Q_YES, Q_NO, B, True, SHARES, FEES)
    int_max = lmsr.max_shares_for_amount(Q_YES, Q_NO, B, True, BUDGET, FEES)
    flt_max = float_max_shares(Q_YES, Q_NO, B, True, BUDGET, FEES)
    rows = [
        (
            "quote_buy",
            median_us(lambda: lmsr.quote_buy(Q_YES, Q_NO, B, True, SHARES, FEES)),
            median_us(lambda: float_quote_buy(Q_YES, Q_NO, B, True, SHARES, FEES)),
            f"total {int_quote.total} vs float {flt_quote[1]} lamports",
        ),
        (
            "max_shares_for_amount",
            median_us(lambda: lmsr.max_shares_for_amount(Q_YES, Q_NO, B, True, BUDGET, FEES)),
            median_us(lambda: float_max_shares(Q_YES, Q_NO, B, True, BUDGET, FEES)),
            f"{int_max} vs float {flt_max} shares",
        ),
    ]
    print(f"LMSR: b={B}, q=({Q_YES}, {Q_NO}); median of {SAMPLES}×{CALLS_PER_SAMPLE} calls")
    print(f"{'operation':<24}{'integer µs':>12}{'float µs':>12}{'int/float':>11}   results")
    for name, int_us, float_us, results in rows:
        print(f"{name:<24}{int_us:>12.2f}{float_us:>12.2f}{int_us / float_us:>10.1f}×   {results}")


if __name__ == "__main__":
    main()
