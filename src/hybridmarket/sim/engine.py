"""Running a planned workload phase by phase (see the package docstring): every market of a
phase concurrently, the dependent transactions of one market in order, a local LMSR model of
each market for exact quotes, and each phase ending when all it sent is confirmed."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import structlog
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from hybridmarket.canonical import canonical_json, market_id_of
from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.errors import ChainError
from hybridmarket.ipfs.cid import CID
from hybridmarket.program import builders as ix
from hybridmarket.program import lmsr, rules
from hybridmarket.program.accounts import GlobalConfig, MarketAccount, MarketState, UserPosition
from hybridmarket.program.ids import market_pda
from hybridmarket.program.processor import outstanding_claims, payout
from hybridmarket.program.runtime import rent_exempt_minimum
from hybridmarket.sim.clock import AdvanceClock
from hybridmarket.sim.plan import MarketPlan, TradeOp, funding_needs, plan_markets
from hybridmarket.sim.records import (
    BPS,
    SOL,
    Failure,
    Fate,
    MarketRecord,
    Progress,
    SentTx,
    TxStatus,
    WorkloadConfig,
    WorkloadReport,
    side_index,
)
from hybridmarket.sim.sender import Sender, accepted, fund_with

log = structlog.get_logger(__name__)

RAW_CODEC = 0x55


@dataclass(slots=True)
class _Live:
    """A market as the driver knows it while running: the plan, the record and an LMSR model."""

    plan: MarketPlan
    rec: MarketRecord
    q_yes: int = 0
    q_no: int = 0
    holdings: dict[int, list[int]] = field(default_factory=dict)  # wallet → [yes, no]
    likes: int = 0
    dislikes: int = 0
    agree: int = 0
    disagree: int = 0

    def apply(self, wallet: int, outcome: bool, delta: int) -> None:
        if outcome:
            self.q_yes += delta
        else:
            self.q_no += delta
        self.holdings.setdefault(wallet, [0, 0])[side_index(outcome)] += delta
        self.rec.trades += 1


class _Engine:
    def __init__(
        self,
        client: ChainClient,
        *,
        admin: Keypair,
        backend: Keypair,
        faucet: Keypair | None,
        config: WorkloadConfig,
        advance_clock: AdvanceClock | None,
        progress: Progress | None,
    ) -> None:
        self.client = client
        self.program_id = client.program_id
        self.admin = admin
        self.backend = backend
        self.faucet = faucet
        self.cfg = config
        self.advance_clock = advance_clock
        self.wallets = [Keypair() for _ in range(config.wallets)]
        self.sender = Sender(
            client,
            concurrency=config.concurrency,
            confirm_timeout=config.confirm_timeout,
            poll_interval=config.poll_interval,
            progress=progress,
        )
        self.phase_seconds: dict[str, float] = {}
        self.live: list[_Live] = []
        self.params: GlobalConfig | None = None

    # -- helpers -------------------------------------------------------------------------------

    @property
    def program_config(self) -> GlobalConfig:
        assert self.params is not None
        return self.params

    @property
    def fees(self) -> lmsr.FeeSchedule:
        c = self.program_config
        return lmsr.FeeSchedule(c.protocol_fee_bps, c.resolver_fee_bps, c.lp_fee_bps)

    def _in(self, states: Iterable[MarketState], fates: Callable[[Fate], bool]) -> list[_Live]:
        wanted = set(states)
        return [lm for lm in self.live if lm.rec.state in wanted and fates(lm.plan.fate)]

    @staticmethod
    async def _each(markets: Iterable[_Live], fn: Callable[[_Live], Awaitable[None]]) -> None:
        await asyncio.gather(*(fn(lm) for lm in markets))

    async def _send(
        self,
        name: str,
        instruction: Instruction,
        payer: Keypair,
        lm: _Live | None = None,
        failure: Failure | None = None,
    ) -> SentTx:
        mid = lm.rec.market_id if lm is not None else None
        return await self.sender.send(name, [instruction], payer, market_id=mid, failure=failure)

    async def _phase(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        t0 = time.perf_counter()
        self.sender.phase = name
        await body()
        await self.sender.settle()
        self.phase_seconds[name] = time.perf_counter() - t0

    async def _cancel(self, lm: _Live, failure: Failure | None = None) -> None:
        authority = self.backend if lm.plan.index % 2 == 0 else self.admin
        mid = lm.rec.market_id
        rec = await self._send(
            "cancel_market",
            ix.cancel_market(authority.pubkey(), mid, program_id=self.program_id),
            authority,
            lm,
            failure,
        )
        if failure is None and accepted(rec):
            lm.rec.state = MarketState.Cancelled

    # -- the run -------------------------------------------------------------------------------

    async def run(self) -> WorkloadReport:
        started = time.time()
        client = self.client
        params = await client.get_config()
        if params is None:
            raise RuntimeError("the program's GlobalConfig is not initialised")
        if params.is_paused:
            raise RuntimeError("the protocol is paused")
        self.params = params
        newest = await client.signatures_for_program(limit=1)
        cursor = newest[0][0] if newest else None
        start_slot = await client.get_slot()
        clock = self.advance_clock is not None
        keys = [kp.pubkey() for kp in self.wallets]
        plans = plan_markets(self.cfg, params, keys, clock, await self._chain_time())
        for p in plans:
            record = MarketRecord(
                market_id=market_id_of(p.metadata),
                metadata=p.metadata,
                fate=p.fate,
                creator=keys[p.creator],
                resolver=keys[p.resolver],
                b_parameter=p.b,
                initial_liquidity=p.liquidity,
            )
            self.live.append(_Live(p, record))
        needs = funding_needs(self.cfg, params, plans, len(keys))
        try:
            await self._phase("funding", lambda: self._fund(list(zip(keys, needs, strict=True))))
            if self.cfg.admin_instructions:
                await self._phase("admin", self._admin)
            await self._phase("propose", self._propose)
            await self._phase("vote", self._vote)
            await self._phase("approve", self._approve)
            await self._phase("activate", self._activate)
            await self._phase("trade", self._trade)
            await self._phase("cancel", self._cancel_active)
            if clock:
                await self._phase("resolve", self._resolve)
                await self._phase("dispute", self._dispute)
                await self._phase("finalize", self._finalize)
            await self._phase("claim", self._claim)
            await self._phase("withdraw", self._withdraw)
            if clock:
                await self._phase("late", self._late)
        finally:
            await self.sender.aclose()
        return WorkloadReport(
            config=self.cfg,
            transactions=self.sender.records,
            markets=[lm.rec for lm in self.live],
            wallets=keys,
            keypairs=self.wallets,
            phase_seconds=self.phase_seconds,
            started_at=started,
            finished_at=time.time(),
            start_slot=start_slot,
            end_slot=await client.get_slot(),
            cursor_before=cursor,
            used_clock=clock,
        )

    async def _chain_time(self) -> int:
        try:
            return await self.client.chain_time()
        except ChainError:  # a node that keeps no block times: the metadata's dates use ours
            return int(time.time())

    async def _fund(self, amounts: list[tuple[Pubkey, int]]) -> None:
        sent = await fund_with(self.sender, self.faucet, amounts)
        await self.sender.settle()
        bad = [t for t in sent if t.status != TxStatus.OK]
        if bad:
            raise RuntimeError(f"{len(bad)} funding transactions failed, e.g. {bad[0]}")

    async def _admin(self) -> None:
        admin, pk = self.admin, self.admin.pubkey()
        ff = self.cfg.failed_fraction > 0
        await self._send(
            "update_config",
            ix.update_config(pk, self.program_config.params(), program_id=self.program_id),
            admin,
        )
        paused = await self._send(
            "set_paused", ix.set_paused(pk, True, program_id=self.program_id), admin
        )
        try:
            if ff and accepted(paused):
                probe = hashlib.sha256(b"paused-probe" + os.urandom(16)).digest()
                b = max(self.program_config.min_b_parameter, 100 * SOL)
                liquidity = max(
                    lmsr.min_initial_liquidity(b), self.program_config.min_initial_liquidity
                )
                propose = ix.propose_market(pk, probe, b, liquidity, pk, program_id=self.program_id)
                await self._send("propose_market", propose, admin, failure=Failure.PAUSED)
        finally:
            if accepted(paused):
                await self._send(
                    "set_paused", ix.set_paused(pk, False, program_id=self.program_id), admin
                )
        if ff:
            init = ix.initialize_config(
                pk, self.program_config.params(), program_id=self.program_id
            )
            await self._send("initialize_config", init, admin, failure=Failure.REINITIALIZE)

    async def _propose(self) -> None:
        async def one(lm: _Live) -> None:
            p = lm.plan
            creator = self.wallets[p.creator]
            propose = ix.propose_market(
                creator.pubkey(),
                lm.rec.market_id,
                p.b,
                p.liquidity,
                lm.rec.resolver,
                program_id=self.program_id,
            )
            if accepted(await self._send("propose_market", propose, creator, lm)):
                lm.rec.state = MarketState.Proposed

        await self._each(self.live, one)

    async def _vote(self) -> None:
        async def one(lm: _Live) -> None:
            mid, votes = lm.rec.market_id, lm.plan.proposal_votes

            async def cast(w: int, like: bool, failure: Failure | None = None) -> None:
                kp = self.wallets[w]
                vote = ix.submit_proposal_vote(kp.pubkey(), mid, like, program_id=self.program_id)
                rec = await self._send("submit_proposal_vote", vote, kp, lm, failure)
                if failure is None and accepted(rec):
                    lm.likes += like
                    lm.dislikes += not like

            await asyncio.gather(*(cast(w, like) for w, like in votes))
            # A change of mind: the same wallet votes again, the other way.
            again = [votes[j] for j in lm.plan.double_votes]
            await asyncio.gather(*(cast(w, not v, Failure.DOUBLE_VOTE) for w, v in again))

        await self._each(self._in([MarketState.Proposed], lambda f: True), one)

    async def _approve(self) -> None:
        cfg = self.program_config
        backend, pk = self.backend, self.backend.pubkey()

        async def one(lm: _Live) -> None:
            p, mid = lm.plan, lm.rec.market_id
            if p.fate is Fate.CANCELLED_PROPOSED:
                await self._cancel(lm)
                return
            if not p.fate.approved:
                return
            if Failure.BAD_COUNTS in p.failures:
                bad = ix.approve_market(
                    pk, mid, lm.likes + lm.dislikes + 1, 0, program_id=self.program_id
                )
                await self._send("approve_market", bad, backend, lm, Failure.BAD_COUNTS)
            if not rules.approves(cfg, lm.likes, lm.dislikes):
                log.warning("workload.not_approvable", market=mid.hex(), likes=lm.likes)
                return
            approve = ix.approve_market(pk, mid, lm.likes, lm.dislikes, program_id=self.program_id)
            if accepted(await self._send("approve_market", approve, backend, lm)):
                lm.rec.state = MarketState.Approved
                lm.rec.proposal_likes, lm.rec.proposal_dislikes = lm.likes, lm.dislikes

        await self._each(self._in([MarketState.Proposed], lambda f: True), one)

    async def _activate(self) -> None:
        async def one(lm: _Live) -> None:
            p, mid = lm.plan, lm.rec.market_id
            if p.fate is Fate.CANCELLED_APPROVED:
                await self._cancel(lm)
                return
            if not p.fate.activated:
                return
            if Failure.UNAUTHORIZED in p.failures:
                intruder = self.wallets[p.intruder]
                bad = ix.activate_market(intruder.pubkey(), mid, program_id=self.program_id)
                await self._send("activate_market", bad, intruder, lm, Failure.UNAUTHORIZED)
            creator = self.wallets[p.creator]
            activate = ix.activate_market(creator.pubkey(), mid, program_id=self.program_id)
            if accepted(await self._send("activate_market", activate, creator, lm)):
                lm.rec.state = MarketState.Active

        await self._each(self._in([MarketState.Approved], lambda f: True), one)

    # -- trading -------------------------------------------------------------------------------

    async def _trade(self) -> None:
        async def script(lm: _Live) -> None:
            rng = random.Random(f"{self.cfg.seed}:trade:{lm.plan.index}")
            for op in lm.plan.trades:
                if lm.rec.state is not MarketState.Active:
                    return
                if op.failure is not None:
                    await self._failing_trade(lm, op, rng)
                await self._trade_once(lm, op)

        await self._each(self._in([MarketState.Active], lambda f: True), script)

    def _sell_quote(self, lm: _Live, side: bool, shares: int) -> lmsr.Quote | None:
        try:
            q = lmsr.quote_sell(lm.q_yes, lm.q_no, lm.plan.b, side, shares, self.fees)
        except lmsr.LmsrError:
            return None
        return q if q.total > 0 else None

    def _sell_choice(self, lm: _Live, op: TradeOp) -> tuple[bool, int, lmsr.Quote] | None:
        """(side, shares, quote) if this op sells: it wants to and the wallet holds shares."""
        hold = lm.holdings.get(op.wallet)
        if not op.sell or hold is None or not (hold[0] or hold[1]):
            return None
        side = op.outcome if hold[side_index(op.outcome)] else not op.outcome
        shares = max(1, int(hold[side_index(side)] * op.sell_frac))
        q = self._sell_quote(lm, side, shares)
        return None if q is None else (side, shares, q)

    async def _trade_once(self, lm: _Live, op: TradeOp) -> None:
        kp, mid, fee_wallet = (
            self.wallets[op.wallet],
            lm.rec.market_id,
            self.program_config.protocol_fee_wallet,
        )
        slip = self.cfg.slippage_bps
        sell = self._sell_choice(lm, op)
        if sell is not None:
            side, shares, q = sell
            floor = q.total * (BPS - slip) // BPS
            order = ix.sell_shares(
                kp.pubkey(), mid, side, shares, floor, fee_wallet, program_id=self.program_id
            )
            if accepted(await self._send("sell_shares", order, kp, lm)):
                lm.apply(op.wallet, side, -shares)
            return
        q = lmsr.quote_buy(lm.q_yes, lm.q_no, lm.plan.b, op.outcome, op.shares, self.fees)
        cap = q.total + -(-q.total * slip // BPS)
        order = ix.buy_shares(
            kp.pubkey(), mid, op.outcome, op.shares, cap, fee_wallet, program_id=self.program_id
        )
        if accepted(await self._send("buy_shares", order, kp, lm)):
            lm.apply(op.wallet, op.outcome, op.shares)

    async def _failing_trade(self, lm: _Live, op: TradeOp, rng: random.Random) -> None:
        mid, fee_wallet = lm.rec.market_id, self.program_config.protocol_fee_wallet
        if op.failure is Failure.OVERSELL and lm.holdings:
            w = op.wallet if op.wallet in lm.holdings else rng.choice(sorted(lm.holdings))
            kp = self.wallets[w]
            held = lm.holdings[w][side_index(op.outcome)]
            shares = held + 1 + rng.randrange(max(1, lm.plan.b // 100))
            order = ix.sell_shares(
                kp.pubkey(), mid, op.outcome, shares, 0, fee_wallet, program_id=self.program_id
            )
            await self._send("sell_shares", order, kp, lm, Failure.OVERSELL)
            return
        # Slippage: the exact quote, one lamport short (or an oversell with no position yet).
        kp = self.wallets[op.wallet]
        sell = self._sell_choice(lm, op)
        if sell is not None:
            side, shares, q = sell
            order = ix.sell_shares(
                kp.pubkey(), mid, side, shares, q.total + 1, fee_wallet, program_id=self.program_id
            )
            await self._send("sell_shares", order, kp, lm, Failure.SLIPPAGE)
            return
        q = lmsr.quote_buy(lm.q_yes, lm.q_no, lm.plan.b, op.outcome, op.shares, self.fees)
        order = ix.buy_shares(
            kp.pubkey(),
            mid,
            op.outcome,
            op.shares,
            q.total - 1,
            fee_wallet,
            program_id=self.program_id,
        )
        await self._send("buy_shares", order, kp, lm, Failure.SLIPPAGE)

    async def _cancel_active(self) -> None:
        markets = self._in([MarketState.Active], lambda f: f is Fate.CANCELLED_ACTIVE)
        await self._each(markets, self._cancel)

    # -- resolution, disputes, finalization ----------------------------------------------------

    async def _advance(self, seconds: int) -> None:
        assert self.advance_clock is not None
        await self.advance_clock(seconds)

    def _evidence(self, lm: _Live) -> tuple[bytes, bytes]:
        outcome = lm.plan.outcome
        doc = {
            "market_id": lm.rec.market_id.hex(),
            "question": lm.rec.metadata["question"],
            "proposed_outcome": "INVALID" if outcome is None else ("YES" if outcome else "NO"),
            "resolver": str(lm.rec.resolver),
            "sources": [lm.rec.metadata["resolution_criteria"]],
        }
        body = canonical_json(doc)
        return body, CID.for_block(body, RAW_CODEC).to_bytes()

    async def _resolve_one(self, lm: _Live, failure: Failure | None = None) -> None:
        kp = self.wallets[lm.plan.resolver]
        evidence, cid = self._evidence(lm)
        resolve = ix.resolve_market(
            kp.pubkey(), lm.rec.market_id, lm.plan.outcome, cid, program_id=self.program_id
        )
        rec = await self._send("resolve_market", resolve, kp, lm, failure)
        if failure is None and accepted(rec):
            lm.rec.state = MarketState.Resolving
            lm.rec.proposed_outcome = lm.plan.outcome
            lm.rec.evidence, lm.rec.evidence_cid = evidence, cid

    async def _resolve(self) -> None:
        markets = self._in([MarketState.Active], lambda f: f.resolves_early)
        early = [lm for lm in markets if Failure.TOO_EARLY_RESOLVE in lm.plan.failures]
        await asyncio.gather(*(self._resolve_one(lm, Failure.TOO_EARLY_RESOLVE) for lm in early))
        await self._advance(self.program_config.min_resolution_delay + 1)
        await self._each(markets, self._resolve_one)

    async def _open_dispute(self, lm: _Live) -> None:
        p, mid = lm.plan, lm.rec.market_id
        initiator = self.wallets[p.initiator]
        dispute = ix.initiate_dispute(initiator.pubkey(), mid, program_id=self.program_id)
        if not accepted(await self._send("initiate_dispute", dispute, initiator, lm)):
            return
        lm.rec.state = MarketState.Disputed

        async def cast(w: int, wrong: bool, failure: Failure | None = None) -> None:
            kp = self.wallets[w]
            vote = ix.submit_dispute_vote(kp.pubkey(), mid, wrong, program_id=self.program_id)
            rec = await self._send("submit_dispute_vote", vote, kp, lm, failure)
            if failure is None and accepted(rec):
                lm.agree += wrong
                lm.disagree += not wrong

        await asyncio.gather(*(cast(w, v) for w, v in p.dispute_votes))
        again = [p.dispute_votes[j] for j in p.double_dispute_votes]
        await asyncio.gather(*(cast(w, not v, Failure.DOUBLE_VOTE) for w, v in again))

    async def _dispute(self) -> None:
        async def one(lm: _Live) -> None:
            p = lm.plan
            if p.fate.disputed:
                await self._open_dispute(lm)
            elif Failure.NOT_DISPUTABLE in p.failures:
                kp = self.wallets[p.initiator]
                dispute = ix.initiate_dispute(
                    kp.pubkey(), lm.rec.market_id, program_id=self.program_id
                )
                await self._send("initiate_dispute", dispute, kp, lm, Failure.NOT_DISPUTABLE)

        await self._each(self._in([MarketState.Resolving], lambda f: f.resolves_early), one)
        early = [
            lm
            for lm in self._in([MarketState.Resolving, MarketState.Disputed], lambda f: True)
            if Failure.TOO_EARLY_FINALIZE in lm.plan.failures
        ]
        await asyncio.gather(*(self._finalize_one(lm, Failure.TOO_EARLY_FINALIZE) for lm in early))

    async def _finalize_one(self, lm: _Live, failure: Failure | None = None) -> None:
        backend = self.backend
        agree: int | None = None
        disagree: int | None = None
        if lm.rec.state is MarketState.Disputed:
            agree, disagree = lm.agree, lm.disagree
        finalize = ix.finalize_market(
            backend.pubkey(),
            lm.rec.market_id,
            lm.rec.resolver,
            agree,
            disagree,
            program_id=self.program_id,
        )
        rec = await self._send("finalize_market", finalize, backend, lm, failure)
        if failure is None and accepted(rec):
            flipped = (
                agree is not None
                and disagree is not None
                and rules.dispute_flips(self.program_config, agree, disagree)
            )
            final = lm.rec.proposed_outcome
            if flipped and final is not None:
                final = not final
            lm.rec.state = MarketState.Finalized
            lm.rec.final_outcome, lm.rec.flipped = final, flipped
            lm.rec.dispute_agree, lm.rec.dispute_disagree = agree or 0, disagree or 0

    async def _finalize(self) -> None:
        cfg = self.program_config
        await self._advance(max(cfg.dispute_period, cfg.dispute_voting_period) + 1)
        states = [MarketState.Resolving, MarketState.Disputed]
        await self._each(self._in(states, lambda f: f.resolves_early), self._finalize_one)

    # -- payouts -------------------------------------------------------------------------------

    def _ended(self) -> list[_Live]:
        ended = [MarketState.Finalized, MarketState.Cancelled]
        return self._in(ended, lambda f: f.activated)

    async def _claim(self) -> None:
        markets = self._ended()
        accounts = await self.client.get_markets([lm.rec.market_id for lm in markets])
        index = {kp.pubkey(): i for i, kp in enumerate(self.wallets)}
        ff = self.cfg.failed_fraction

        async def one(lm: _Live, market: MarketAccount | None) -> None:
            if market is None:
                return
            rng = random.Random(f"{self.cfg.seed}:claim:{lm.plan.index}")
            listed = await self.client.list_positions(market_id=lm.rec.market_id)
            mine = sorted(
                ((index[pos.user], pos) for _, pos in listed if pos.user in index),
                key=lambda item: item[0],
            )
            todo = [(w, pos, payout(market, pos.shares_yes, pos.shares_no)) for w, pos in mine]
            draws = [rng.random() < ff for _ in todo]

            async def claim(w: int, pos: UserPosition, amount: int, twin: bool) -> None:
                if pos.has_claimed:
                    return
                kp = self.wallets[w]
                order = ix.claim_winnings(kp.pubkey(), lm.rec.market_id, program_id=self.program_id)
                if amount == 0:
                    if twin:
                        await self._send("claim_winnings", order, kp, lm, Failure.NOTHING_TO_CLAIM)
                    return
                rec = await self._send("claim_winnings", order, kp, lm)
                if twin and accepted(rec):
                    await self._send("claim_winnings", order, kp, lm, Failure.DOUBLE_CLAIM)

            await asyncio.gather(
                *(claim(w, pos, n, d) for (w, pos, n), d in zip(todo, draws, strict=True))
            )

        await asyncio.gather(*(one(lm, m) for lm, m in zip(markets, accounts, strict=True)))

    async def _withdraw(self) -> None:
        markets = self._ended()
        raws = await self.client.get_multiple_raw(
            [market_pda(lm.rec.market_id, self.program_id)[0] for lm in markets]
        )

        async def one(lm: _Live, raw: tuple[int, Pubkey, bytes] | None) -> None:
            if raw is None:
                return
            lamports, _owner, data = raw
            market = MarketAccount.from_account_data(data)
            available = lamports - rent_exempt_minimum(len(data)) - outstanding_claims(market)
            if available <= 0:
                return
            creator = self.wallets[lm.plan.creator]
            order = ix.withdraw_liquidity(
                creator.pubkey(), lm.rec.market_id, program_id=self.program_id
            )
            rec = await self._send("withdraw_liquidity", order, creator, lm)
            if Failure.DOUBLE_WITHDRAW in lm.plan.failures and accepted(rec):
                await self._send("withdraw_liquidity", order, creator, lm, Failure.DOUBLE_WITHDRAW)

        await asyncio.gather(*(one(lm, raw) for lm, raw in zip(markets, raws, strict=True)))
        ended = [MarketState.Finalized, MarketState.Cancelled]
        late = self._in(ended, lambda f: True)
        await asyncio.gather(
            *(
                self._cancel(lm, Failure.CANCEL_TERMINAL)
                for lm in late
                if Failure.CANCEL_TERMINAL in lm.plan.failures
            )
        )

    async def _late(self) -> None:
        async def one(lm: _Live) -> None:
            await self._resolve_one(lm)
            if lm.plan.fate is Fate.DISPUTED and lm.rec.state is MarketState.Resolving:
                await self._open_dispute(lm)

        fates = (Fate.RESOLVING, Fate.DISPUTED)
        await self._each(self._in([MarketState.Active], lambda f: f in fates), one)


async def run_workload(
    client: ChainClient,
    *,
    admin: Keypair,
    backend: Keypair,
    faucet: Keypair | None,
    config: WorkloadConfig,
    advance_clock: AdvanceClock | None,
    progress: Progress | None = None,
) -> WorkloadReport:
    """Plan and run a random workload (see the module docstring); returns what was sent.

    `admin` and `backend` are the program's admin and backend authority (they must be funded);
    `faucet` funds the wallets by transfer (None: by requestAirdrop). `progress(phase, done,
    total)` is called as confirmations come in.
    """
    engine = _Engine(
        client,
        admin=admin,
        backend=backend,
        faucet=faucet,
        config=config,
        advance_clock=advance_clock,
        progress=progress,
    )
    return await engine.run()
