"""LMSR quotes for the API: the on-chain program's own C compiled for this machine, else the model.

``quote_buy``, ``quote_sell``, ``max_shares_for_amount`` and ``price`` take what the functions of
the same names in ``program.lmsr`` (the reference model) take, return the same values and raise
the same errors. Where the host library ``lmsr_host.so`` loads (x86_64 Linux: the program's
``onchain/src/lmsr.c`` and ``wide.c`` built by ``python -m hybridmarket.sbf build`` with the
pinned zig), they call it through ctypes, ~4× faster than the model's Python integers; anywhere
else (another OS or architecture, a missing file) they are the model's functions, and one log
line says so. ``BACKEND`` says which. The tests hold the two to each other over the whole domain
(tests/unit/test_quote_native.py) and the library to a fresh build of the C.

Errors. The C only says *that* it refuses an input, so a refusal is answered by the model on the
same input, which raises its own exception with its message: refusals are rare (the API checks
its parameters first), and this keeps one definition of every error. Arguments that the C could
not even receive (not an int, or outside a u64, which ctypes would silently wrap) go straight to
the model, for the same reason.

The binding is ctypes rather than cffi: it is the stdlib and needs no build at install, and
cffi's ABI mode measured only ~0.35 µs faster per call (of ~6), not worth a dependency.

Loading a shared object at import is this module's one side effect; it reads no setting, so the
program package stays free of configuration (the layering of docs/architecture.md).
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hybridmarket.program import lmsr
from hybridmarket.program.lmsr import U64_MAX, FeeSchedule, Quote

__all__ = [
    "BACKEND",
    "HOST_ABI",
    "LIBRARY",
    "MODEL",
    "Quoter",
    "load",
    "max_shares_for_amount",
    "price",
    "quote_buy",
    "quote_sell",
]

log = logging.getLogger(__name__)

LIBRARY: Path = Path(__file__).with_name("lmsr_host.so")
"""The shipped host library (built from onchain/ for x86_64 Linux)."""

HOST_ABI: int = 1
"""The entry points' version, `HM_HOST_ABI` in onchain/host/lmsr_host.c."""

Backend = Literal["native", "model"]
QuoteFn = Callable[[int, int, int, bool, int, FeeSchedule], Quote]
BudgetFn = Callable[[int, int, int, bool, int, FeeSchedule], int]
PriceFn = Callable[[int, int, int, bool], int]


@dataclass(frozen=True, slots=True)
class Quoter:
    """One way to quote: the native library's functions, or the model's."""

    backend: Backend
    quote_buy: QuoteFn
    quote_sell: QuoteFn
    max_shares_for_amount: BudgetFn
    price: PriceFn


MODEL = Quoter("model", lmsr.quote_buy, lmsr.quote_sell, lmsr.max_shares_for_amount, lmsr.price)
"""The reference model's functions, as a Quoter."""

_U64 = ctypes.c_uint64
_OUT = ctypes.POINTER(_U64)
# The quote's fields after is_buy and outcome, in Quote's order (lmsr_host.c's copy_quote).
_QuoteFields = _U64 * 11
_One = _U64 * 1


def _native(lib: ctypes.PyDLL) -> Quoter:
    """The library's entry points wrapped as the model's functions."""
    buy, sell, budget, price_ = (
        lib.hm_quote_buy,
        lib.hm_quote_sell,
        lib.hm_max_shares_for_amount,
        lib.hm_price,
    )
    for fn in (buy, sell, budget):
        fn.argtypes = [_U64] * 8 + [_OUT]
        fn.restype = ctypes.c_int
    price_.argtypes = [_U64] * 4 + [_OUT]
    price_.restype = ctypes.c_int

    # Each function checks, in one expression, only what the C cannot: that every argument is
    # what ctypes passes unchanged (an int, not a bool, within a u64; the fees a validated
    # FeeSchedule). The C checks the ranges and the trade itself; anything refused goes to the
    # model, which raises. The result array is made per call: a shared one would race threads.
    def trade(fn: Any, is_buy: bool) -> QuoteFn:
        """quote_buy (`fn` = hm_quote_buy) or quote_sell (hm_quote_sell); a refusal is the
        model's function of the same name to explain (looked up at the call)."""

        def quote(
            q_yes: int, q_no: int, b: int, outcome: bool, shares: int, fees: FeeSchedule
        ) -> Quote:
            if (
                type(q_yes) is int
                and type(q_no) is int
                and type(b) is int
                and type(shares) is int
                and type(outcome) is bool
                and type(fees) is FeeSchedule
                and 0 <= q_yes <= U64_MAX
                and 0 <= q_no <= U64_MAX
                and 0 <= b <= U64_MAX
                and 0 <= shares <= U64_MAX
            ):
                out = _QuoteFields()
                if not fn(
                    q_yes,
                    q_no,
                    b,
                    outcome,
                    shares,
                    fees.protocol_bps,
                    fees.resolver_bps,
                    fees.lp_bps,
                    out,
                ):
                    return Quote(is_buy, outcome, *out[:])
            model = lmsr.quote_buy if is_buy else lmsr.quote_sell
            return model(q_yes, q_no, b, outcome, shares, fees)

        return quote

    quote_buy = trade(buy, True)
    quote_sell = trade(sell, False)

    def max_shares_for_amount(
        q_yes: int, q_no: int, b: int, outcome: bool, amount: int, fees: FeeSchedule
    ) -> int:
        if (
            type(q_yes) is int
            and type(q_no) is int
            and type(b) is int
            and type(amount) is int
            and type(outcome) is bool
            and type(fees) is FeeSchedule
            and 0 <= q_yes <= U64_MAX
            and 0 <= q_no <= U64_MAX
            and 0 <= b <= U64_MAX
            and 0 <= amount <= U64_MAX
        ):
            out = _One()
            if not budget(
                q_yes,
                q_no,
                b,
                outcome,
                amount,
                fees.protocol_bps,
                fees.resolver_bps,
                fees.lp_bps,
                out,
            ):
                return out[0]
        return lmsr.max_shares_for_amount(q_yes, q_no, b, outcome, amount, fees)

    def price(q_yes: int, q_no: int, b: int, outcome: bool) -> int:
        if (
            type(q_yes) is int
            and type(q_no) is int
            and type(b) is int
            and type(outcome) is bool
            and 0 <= q_yes <= U64_MAX
            and 0 <= q_no <= U64_MAX
            and 0 <= b <= U64_MAX
        ):
            out = _One()
            if not price_(q_yes, q_no, b, outcome, out):
                return out[0]
        return lmsr.price(q_yes, q_no, b, outcome)

    return Quoter("native", quote_buy, quote_sell, max_shares_for_amount, price)


def load(path: Path = LIBRARY) -> Quoter:
    """The native functions of the host library at `path`, or MODEL, after one warning saying
    why, where it cannot load (another platform or architecture, a missing or foreign file)."""
    try:
        # PyDLL keeps the GIL through the call: a quote takes a few microseconds, less than
        # releasing and taking back the GIL would let another thread do.
        lib = ctypes.PyDLL(str(path))
        abi = lib.hm_host_abi
        abi.argtypes = []
        abi.restype = _U64
        found = abi()
        if found != HOST_ABI:
            raise OSError(f"{path}: entry points of version {found}, this module calls {HOST_ABI}")
    except (OSError, AttributeError) as exc:
        # The message names the file and what went wrong (dlopen's own words).
        log.warning("LMSR quotes use the Python model: the host library cannot load: %s", exc)
        return MODEL
    return _native(lib)


_QUOTER = load()

BACKEND: Backend = _QUOTER.backend
"""``"native"`` where the host library loaded, else ``"model"``."""

quote_buy: QuoteFn = _QUOTER.quote_buy
"""``lmsr.quote_buy``, natively where possible."""
quote_sell: QuoteFn = _QUOTER.quote_sell
"""``lmsr.quote_sell``, natively where possible."""
max_shares_for_amount: BudgetFn = _QUOTER.max_shares_for_amount
"""``lmsr.max_shares_for_amount``, natively where possible."""
price: PriceFn = _QUOTER.price
"""``lmsr.price``, natively where possible."""
