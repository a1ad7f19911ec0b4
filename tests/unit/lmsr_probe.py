"""The LMSR probe (`onchain/probe/`) in Agave's SVM: one C LMSR call per simulated transaction.

Each method mirrors a function of `hybridmarket.program.lmsr` and returns the C result, or None
where the C refuses (LMSR_OUT_OF_RANGE), which is where the model raises LmsrError. The compute
units of every call are kept per op, for the figures the tests report.
"""

from __future__ import annotations

import enum
import struct
from collections import defaultdict

from solders.compute_budget import ComputeBudget
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from hybridmarket.program.lmsr import FeeSchedule, Quote

LMSR_OK = 0
LMSR_OUT_OF_RANGE = 1
U64 = (1 << 64) - 1

# The budget search may evaluate C a hundred times on a bad guess (~16k CU each), past the
# 1.4M a transaction may ask for; the probe is a test harness, not the program, so it may run
# as long as the search needs.
PROBE_CU_LIMIT = 100_000_000


class Op(enum.IntEnum):
    """The probe's op codes (onchain/probe/lmsr_probe.c)."""

    NOOP = 0
    FEE_AMOUNT = 1
    COST = 2
    PRICE = 3
    BUY_COST = 4
    SELL_PROCEEDS = 5
    QUOTE_BUY = 6
    QUOTE_SELL = 7
    MAX_SHARES = 8
    COST_FIXED = 9
    EXP_NEG = 10
    LN1P = 11
    U128_MUL64 = 12
    U128_ADD = 13
    U128_DIV64 = 14
    WIDE_DIVMOD = 15


class ProbeError(RuntimeError):
    """The probe failed the instruction (malformed input), which no test should cause."""


def limbs(value: int, count: int) -> list[int]:
    """`value` as `count` little-endian 64-bit limbs."""
    if not 0 <= value < 1 << (64 * count):
        raise ValueError(f"{value} does not fit {count} limbs")
    return [(value >> (64 * i)) & U64 for i in range(count)]


def from_limbs(values: list[int]) -> int:
    return sum(v << (64 * i) for i, v in enumerate(values))


class LmsrProbe:
    """An SVM with the probe deployed, and a payer for its transactions."""

    def __init__(self, elf: bytes) -> None:
        budget = ComputeBudget(True)
        budget.compute_unit_limit = PROBE_CU_LIMIT
        self.svm = LiteSVM().with_compute_budget(budget)
        self.program_id = Pubkey.new_unique()
        self.svm.add_program(self.program_id, elf)
        self.payer = Keypair()
        self.svm.airdrop(self.payer.pubkey(), 10**12)
        self.compute_units: dict[Op, list[int]] = defaultdict(list)

    def call(self, op: Op, *args: int) -> list[int] | None:
        """Run `op`; its u64 results, or None if the LMSR refused the input."""
        data = bytes([op]) + bytes(7) + b"".join(struct.pack("<Q", a) for a in args)
        instruction = Instruction(self.program_id, data, [])
        blockhash = self.svm.latest_blockhash()
        message = Message.new_with_blockhash([instruction], self.payer.pubkey(), blockhash)
        result = self.svm.simulate_transaction(Transaction([self.payer], message, blockhash))
        meta = result.meta()
        returned = meta.return_data()
        if returned is None or returned.program_id != self.program_id:
            raise ProbeError(f"op {op.name}{args}: no return data; logs: {meta.logs()}")
        self.compute_units[op].append(meta.compute_units_consumed())
        reply = bytes(returned.data)
        if reply[0] == LMSR_OUT_OF_RANGE:
            return None
        if reply[0] != LMSR_OK or (len(reply) - 1) % 8:
            raise ProbeError(f"op {op.name}{args}: malformed reply {reply.hex()}")
        return list(struct.unpack(f"<{(len(reply) - 1) // 8}Q", reply[1:]))

    def one(self, op: Op, *args: int) -> int | None:
        out = self.call(op, *args)
        return None if out is None else out[0]

    # --- the LMSR API (lmsr.h) ---------------------------------------------------------------

    def fee_amount(self, amount: int, bps: int) -> int | None:
        return self.one(Op.FEE_AMOUNT, amount, bps)

    def cost(self, q_yes: int, q_no: int, b: int) -> int | None:
        return self.one(Op.COST, q_yes, q_no, b)

    def cost_fixed(self, q_yes: int, q_no: int, b: int) -> int | None:
        out = self.call(Op.COST_FIXED, q_yes, q_no, b)
        return None if out is None else from_limbs(out)

    def price(self, q_yes: int, q_no: int, b: int, outcome: bool) -> int | None:
        return self.one(Op.PRICE, q_yes, q_no, b, int(outcome))

    def buy_cost(self, q_yes: int, q_no: int, b: int, outcome: bool, shares: int) -> int | None:
        return self.one(Op.BUY_COST, q_yes, q_no, b, int(outcome), shares)

    def sell_proceeds(
        self, q_yes: int, q_no: int, b: int, outcome: bool, shares: int
    ) -> int | None:
        return self.one(Op.SELL_PROCEEDS, q_yes, q_no, b, int(outcome), shares)

    def quote(
        self,
        is_buy: bool,
        q_yes: int,
        q_no: int,
        b: int,
        outcome: bool,
        shares: int,
        fees: tuple[int, int, int],
    ) -> Quote | None:
        op = Op.QUOTE_BUY if is_buy else Op.QUOTE_SELL
        out = self.call(op, q_yes, q_no, b, int(outcome), shares, *fees)
        if out is None:
            return None
        fields = out[:11]
        return Quote(
            out[11] == 1,
            out[12] == 1,
            fields[0],
            fields[1],
            fields[2],
            fields[3],
            fields[4],
            fields[5],
            fields[6],
            fields[7],
            fields[8],
            fields[9],
            fields[10],
        )

    def max_shares_for_amount(
        self, q_yes: int, q_no: int, b: int, outcome: bool, amount: int, fees: tuple[int, int, int]
    ) -> int | None:
        return self.one(Op.MAX_SHARES, q_yes, q_no, b, int(outcome), amount, *fees)

    # --- fixed-point kernels (lmsr_fixed.h) and the u128 helpers -----------------------------

    def exp_neg(self, x: int) -> int:
        out = self.call(Op.EXP_NEG, *limbs(x, 3))
        assert out is not None
        return from_limbs(out)

    def ln1p(self, y: int) -> int:
        out = self.call(Op.LN1P, *limbs(y, 2))
        assert out is not None
        return from_limbs(out)

    def u128_mul64(self, a: int, b: int) -> int:
        out = self.call(Op.U128_MUL64, a, b)
        assert out is not None
        return from_limbs(out)

    def u128_add(self, a: int, b: int) -> int | None:
        out = self.call(Op.U128_ADD, *limbs(a, 2), *limbs(b, 2))
        return None if out is None else from_limbs(out)

    def u128_div64(self, n: int, d: int) -> tuple[int, int] | None:
        out = self.call(Op.U128_DIV64, *limbs(n, 2), d)
        return None if out is None else (out[0], out[1])

    def wide_divmod(self, u: list[int], v: list[int]) -> tuple[int, int] | None:
        """Knuth D on 32-bit digit lists (least significant first): (quotient, remainder)."""
        out = self.call(
            Op.WIDE_DIVMOD, len(u), len(v), *limbs(digits_value(u), 4), *limbs(digits_value(v), 3)
        )
        return None if out is None else (from_limbs(out[:4]), from_limbs(out[4:]))


def digits_value(digits: list[int]) -> int:
    return sum(d << (32 * i) for i, d in enumerate(digits))


def fee_tuple(fees: FeeSchedule) -> tuple[int, int, int]:
    return fees.protocol_bps, fees.resolver_bps, fees.lp_bps
