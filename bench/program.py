"""Benchmark: the program binary in Agave's SVM (LiteSVM): compute units and executions/s.

Three measurements, all of the shipped binary (`hybridmarket.sbf.program_binary()`, or the ELF
named by --elf):

1. Compute units per instruction, from the SVM, over a scripted history that runs every
   instruction (buys and sells across sizes and market depths, the first buy of a wallet
   creating its position, disputed and undisputed finalizations, cancellations, claims,
   withdrawals). Printed as a markdown table with min / median / max and the budget: every
   instruction must stay ≤ 200k CU; the targets are ≤ 50k for buy_shares / sell_shares and
   ≤ 15k for every other instruction. Which meet them is printed, nothing is asserted.
2. The LMSR quote on bench/lmsr.py's market (b = 1000 SOL, q = (2500, 1200) SOL, 10 SOL of
   YES): the model's `quote_buy` in µs per call against the binary's cost of the same quote
   in CU: a buy refused for slippage (validation + quote) minus a buy refused for zero shares
   (validation only).
3. SVM executions per second, signature verification on, pre-signed transactions: buy_shares
   against system transfers in the same run (the baseline), so the ratio does not depend on
   the machine.

    .venv/bin/python bench/program.py [--elf path] [--txs 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import TransactionMetadata

from hybridmarket.program import builders as b
from hybridmarket.program import lmsr
from hybridmarket.program.accounts import ConfigParams, MarketAccount
from hybridmarket.program.ids import PROGRAM_ID, market_pda
from hybridmarket.program.runtime import SYSTEM_PROGRAM_ID, AccountInfo, Clock, ProcessResult
from hybridmarket.sbf import program_binary
from hybridmarket.sbf.svm import SvmRunner, instruction_name
from machine import measured

SOL = 1_000_000_000
BUDGET = 200_000
TRADE_TARGET = 50_000
OTHER_TARGET = 15_000
TRADES = {"buy_shares", "sell_shares"}
EVIDENCE = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"evidence").digest()
U64_MAX = 2**64 - 1
NATIVE_LOADER = Pubkey.from_string("NativeLoader1111111111111111111111111111111")
SYSTEM_PROGRAM_ACCOUNT = (1, NATIVE_LOADER, b"system_program")  # as the SVM holds it

# bench/lmsr.py's market.
B = 10**12
Q_YES, Q_NO = 2_500_000_000_000, 1_200_000_000_000
SHARES = 10_000_000_000
FEES = lmsr.FeeSchedule(protocol_bps=300, resolver_bps=200, lp_bps=500)


class Ledger:
    """Accounts in a dict, each instruction run by the binary in the SVM (a minimal bank)."""

    def __init__(self, runner: SvmRunner) -> None:
        self.runner = runner
        self.accounts: dict[Pubkey, tuple[int, Pubkey, bytes]] = {}
        self.now = 1_700_000_000
        self.slot = 1
        self.units: dict[str, list[int]] = defaultdict(list)

    def key(self, lamports: int = 10**6 * SOL) -> Pubkey:
        k = Keypair().pubkey()
        self.accounts[k] = (lamports, SYSTEM_PROGRAM_ID, b"")
        return k

    def advance(self, seconds: int) -> None:
        self.now += seconds
        self.slot += max(1, seconds * 5 // 2)

    def run(
        self, ix: Instruction, *signers: Pubkey, expect_ok: bool | None = True
    ) -> ProcessResult:
        """Run `ix`; `expect_ok` None takes either outcome. Successes' units are recorded."""
        infos = []
        for m in ix.accounts:
            builtin = m.pubkey == SYSTEM_PROGRAM_ID
            lamports, owner, data = (
                SYSTEM_PROGRAM_ACCOUNT
                if builtin
                else self.accounts.get(m.pubkey, (0, SYSTEM_PROGRAM_ID, b""))
            )
            infos.append(
                AccountInfo(
                    m.pubkey,
                    lamports,
                    owner,
                    data,
                    m.is_signer and m.pubkey in signers,
                    m.is_writable and not builtin,
                    builtin,
                )
            )
        r = self.runner(ix.program_id, infos, bytes(ix.data), Clock(self.slot, self.now))
        self.slot += 1
        if expect_ok is not None and r.ok != expect_ok:
            raise RuntimeError(
                f"{instruction_name(bytes(ix.data))}: {r.error}\n" + "\n".join(r.logs)
            )
        if r.ok:
            self.units[instruction_name(bytes(ix.data))].append(r.compute_units)
            for a in r.accounts:
                if not a.executable:
                    self.accounts[a.key] = (a.lamports, a.owner, bytes(a.data))
        return r

    def market(self, mid: bytes) -> MarketAccount:
        return MarketAccount.from_account_data(self.accounts[market_pda(mid)[0]][2])

    def set_market(self, mid: bytes, m: MarketAccount) -> None:
        key = market_pda(mid)[0]
        lamports, owner, _ = self.accounts[key]
        self.accounts[key] = (lamports, owner, m.to_account_data())


def measure_instructions(runner: SvmRunner) -> dict[str, list[int]]:
    """Every instruction's compute units over a scripted history."""
    led = Ledger(runner)
    admin, backend, creator, resolver = (led.key() for _ in range(4))
    fee_wallet = led.key(SOL)
    params = ConfigParams.default(backend, fee_wallet).with_changes(min_dispute_votes=3)
    led.run(b.initialize_config(admin, params), admin)
    led.run(b.update_config(admin, params), admin)
    led.run(b.set_paused(admin, True), admin)
    led.run(b.set_paused(admin, False), admin)

    counter = 0

    def active(b_param: int) -> bytes:
        nonlocal counter
        counter += 1
        mid = hashlib.sha256(f"bench-{counter}".encode()).digest()
        liq = max(lmsr.min_initial_liquidity(b_param), params.min_initial_liquidity)
        led.run(b.propose_market(creator, mid, b_param, liq, resolver), creator)
        for i in range(10):
            v = led.key(SOL)
            led.run(b.submit_proposal_vote(v, mid, i < 8), v)
        led.run(b.approve_market(backend, mid, 8, 2), backend)
        led.run(b.activate_market(creator, mid), creator)
        return mid

    traders = [led.key(10**9 * SOL) for _ in range(6)]
    markets = []
    for b_param in (SOL, 100 * SOL, 10_000 * SOL):
        mid = active(b_param)
        markets.append(mid)
        for i, t in enumerate(traders):
            for frac in (0.001, 0.05, 0.5, 2.0):
                shares = max(1_000, int(b_param * frac))
                led.run(b.buy_shares(t, mid, i % 2 == 0, shares, U64_MAX, fee_wallet), t)
            led.run(b.sell_shares(t, mid, i % 2 == 0, max(1_000, b_param // 10), 0, fee_wallet), t)
            led.run(
                b.buy_shares(t, mid, i % 2 == 1, max(1_000, b_param // 3), U64_MAX, fee_wallet), t
            )
            led.run(b.sell_shares(t, mid, i % 2 == 1, max(1_000, b_param // 7), 0, fee_wallet), t)

    undisputed, disputed, cancelled = markets
    led.advance(params.min_resolution_delay)
    led.run(b.resolve_market(resolver, undisputed, True, EVIDENCE), resolver)
    led.run(b.resolve_market(resolver, disputed, False, EVIDENCE), resolver)
    led.run(b.initiate_dispute(traders[0], disputed), traders[0])
    for i in range(5):
        v = led.key(SOL)
        led.run(b.submit_dispute_vote(v, disputed, i < 4), v)
    led.run(b.cancel_market(backend, cancelled), backend)
    led.advance(params.dispute_period)
    led.run(b.finalize_market(backend, undisputed, resolver), backend)
    led.run(b.finalize_market(backend, disputed, resolver, 4, 1), backend)
    for mid in markets:
        for t in traders:  # a loser of a finalized market has nothing to claim
            led.run(b.claim_winnings(t, mid), t, expect_ok=None)
        led.run(b.withdraw_liquidity(creator, mid), creator)
    return dict(led.units)


def quote_cost(runner: SvmRunner) -> tuple[float, int, int]:
    """(model µs per quote_buy, binary CU of the quote, binary CU of the whole buy)."""
    led = Ledger(runner)
    admin, backend, creator, resolver = (led.key() for _ in range(4))
    fee_wallet = led.key(SOL)
    params = ConfigParams.default(backend, fee_wallet).with_changes(min_proposal_votes=1)
    led.run(b.initialize_config(admin, params), admin)
    mid = hashlib.sha256(b"quote").digest()
    liq = lmsr.min_initial_liquidity(B)
    led.run(b.propose_market(creator, mid, B, liq, resolver), creator)
    v = led.key(SOL)
    led.run(b.submit_proposal_vote(v, mid, True), v)
    led.run(b.approve_market(backend, mid, 1, 0), backend)
    led.run(b.activate_market(creator, mid), creator)
    led.set_market(mid, replace(led.market(mid), shares_yes=Q_YES, shares_no=Q_NO))
    t = led.key(10**9 * SOL)
    led.run(b.buy_shares(t, mid, False, 1_000, U64_MAX, fee_wallet), t)  # creates the position
    led.set_market(mid, replace(led.market(mid), shares_yes=Q_YES, shares_no=Q_NO))
    before = dict(led.accounts)
    validation = led.run(b.buy_shares(t, mid, True, 0, U64_MAX, fee_wallet), t, expect_ok=False)
    quoted = led.run(b.buy_shares(t, mid, True, SHARES, 0, fee_wallet), t, expect_ok=False)
    whole = led.run(b.buy_shares(t, mid, True, SHARES, U64_MAX, fee_wallet), t)
    led.accounts = before
    us = _median_us(lambda: lmsr.quote_buy(Q_YES, Q_NO, B, True, SHARES, FEES))
    return us, quoted.compute_units - validation.compute_units, whole.compute_units


def _median_us(call: Callable[[], object], samples: int = 101, calls: int = 20) -> float:
    call()
    out = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        for _ in range(calls):
            call()
        out.append((time.perf_counter_ns() - start) / calls)
    return statistics.median(out) / 1000


def throughput(elf: bytes, n: int) -> tuple[float, float]:
    """(buy_shares per s, system transfers per s): pre-signed, signature verification on."""
    svm = LiteSVM().with_mainnet_features()
    svm.add_program(PROGRAM_ID, elf)
    assert svm.get_sigverify()

    def send(ixs: Sequence[Instruction], payer: Keypair) -> None:
        msg = Message.new_with_blockhash(list(ixs), payer.pubkey(), svm.latest_blockhash())
        r = svm.send_transaction(VersionedTransaction(msg, [payer]))
        if not isinstance(r, TransactionMetadata):
            raise RuntimeError(str(r))

    def funded(lamports: int) -> Keypair:
        kp = Keypair()
        svm.set_account(kp.pubkey(), Account(lamports, b"", SYSTEM_PROGRAM_ID))
        return kp

    admin, backend, creator, resolver, fee = (funded(10**6 * SOL) for _ in range(5))
    params = ConfigParams.default(backend.pubkey(), fee.pubkey()).with_changes(min_proposal_votes=1)
    send([b.initialize_config(admin.pubkey(), params)], admin)
    mid = hashlib.sha256(b"throughput").digest()
    b_param = 1_000 * SOL
    send(
        [
            b.propose_market(
                creator.pubkey(),
                mid,
                b_param,
                lmsr.min_initial_liquidity(b_param),
                resolver.pubkey(),
            )
        ],
        creator,
    )
    voter = funded(SOL)
    send([b.submit_proposal_vote(voter.pubkey(), mid, True)], voter)
    send([b.approve_market(backend.pubkey(), mid, 1, 0)], backend)
    send([b.activate_market(creator.pubkey(), mid)], creator)
    traders = [funded(10**6 * SOL) for _ in range(50)]
    for t in traders:  # positions exist, so every timed buy is the same kind of buy
        send([b.buy_shares(t.pubkey(), mid, True, 1_000_000, U64_MAX, fee.pubkey())], t)
    bh = svm.latest_blockhash()

    def signed(ix: Instruction, payer: Keypair) -> VersionedTransaction:
        return VersionedTransaction(Message.new_with_blockhash([ix], payer.pubkey(), bh), [payer])

    buys = [
        signed(
            b.buy_shares(
                traders[i % len(traders)].pubkey(),
                mid,
                i % 2 == 0,
                10**7 + i,
                U64_MAX,
                fee.pubkey(),
            ),
            traders[i % len(traders)],
        )
        for i in range(n)
    ]
    sink = Keypair().pubkey()
    transfers = [
        signed(
            transfer(
                TransferParams(
                    from_pubkey=traders[i % len(traders)].pubkey(), to_pubkey=sink, lamports=SOL + i
                )
            ),
            traders[i % len(traders)],
        )
        for i in range(n)
    ]

    def rate(txs: list[VersionedTransaction]) -> float:
        start = time.perf_counter()
        for tx in txs:
            r = svm.send_transaction(tx)
            if not isinstance(r, TransactionMetadata):
                raise RuntimeError(str(r))
        return len(txs) / (time.perf_counter() - start)

    return rate(buys), rate(transfers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elf", type=Path, help="a program ELF (default: the shipped binary)")
    parser.add_argument("--txs", type=int, default=2_000, help="transactions per throughput run")
    args = parser.parse_args()
    elf = args.elf.read_bytes() if args.elf else program_binary()
    runner = SvmRunner(elf)

    units = measure_instructions(runner)
    print(f"## Compute units per instruction ({len(elf)}-byte binary, mainnet features)\n")
    print("| instruction | calls | min CU | median CU | max CU | target | meets target |")
    print("|---|---:|---:|---:|---:|---:|:---:|")
    missed = []
    for name in sorted(units):
        cu = units[name]
        target = TRADE_TARGET if name in TRADES else OTHER_TARGET
        ok = max(cu) <= target
        over = " (over 200k!)" if max(cu) > BUDGET else ""
        if not ok:
            missed.append(name)
        print(
            f"| {name} | {len(cu)} | {min(cu):,} | {int(statistics.median(cu)):,} | "
            f"{max(cu):,}{over} | {target:,} | {'yes' if ok else 'no'} |"
        )
    within = all(max(cu) <= BUDGET for cu in units.values())
    print(f"\nAll within the {BUDGET:,} CU budget: {'yes' if within else 'no'}.")
    print("Targets missed: " + (", ".join(missed) if missed else "none") + ".\n")

    us, quote_cu, buy_cu = quote_cost(runner)
    print("## The LMSR quote (b = 1000 SOL, q = (2500, 1200) SOL, buy 10 SOL of YES)\n")
    print("| model quote_buy | binary quote | binary whole buy_shares |")
    print("|---:|---:|---:|")
    print(f"| {us:.1f} µs | {quote_cu:,} CU | {buy_cu:,} CU |\n")

    buys, transfers = throughput(elf, args.txs)
    print(f"## SVM executions per second ({args.txs} pre-signed each, sigverify on)\n")
    print("| buy_shares/s | system transfers/s (baseline) | buy/transfer |")
    print("|---:|---:|---:|")
    print(f"| {buys:,.0f} | {transfers:,.0f} | {buys / transfers:.2f}× |")


if __name__ == "__main__":
    with measured("bench/program.py"):
        main()
