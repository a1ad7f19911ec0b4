"""A steady stream of random trades at a target rate, with the send time of every signature
recorded, for measuring the indexer's lag (see `trickle`)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from solders.keypair import Keypair

from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.errors import ChainError
from hybridmarket.program import builders as ix
from hybridmarket.program import lmsr
from hybridmarket.program.accounts import MarketState, UserPosition
from hybridmarket.program.runtime import rent_exempt_minimum
from hybridmarket.sim.records import (
    BPS,
    FEE_PER_SIGNATURE,
    MIN_TRADE_SHARES,
    Progress,
    TrickleReport,
    side_index,
)
from hybridmarket.sim.sender import Sender, accepted


@dataclass(slots=True)
class _Book:
    market_id: bytes
    b: int
    q_yes: int
    q_no: int


async def trickle(
    client: ChainClient,
    *,
    wallets: Sequence[Keypair],
    rate_per_s: float,
    duration_s: float | None = None,
    stop: asyncio.Event | None = None,
    markets: Sequence[bytes] | None = None,
    seed: int = 0,
    concurrency: int = 64,
    slippage_bps: int = 300,
    max_trade_fraction: float = 0.01,
    sell_probability: float = 0.5,
    confirm_timeout: float = 60.0,
    poll_interval: float = 0.05,
    progress: Progress | None = None,
) -> TrickleReport:
    """A steady stream of random buys and sells on the active markets at `rate_per_s`, until
    `duration_s` has passed or `stop` is set, then waits for every confirmation.

    Sends are scheduled on a fixed clock (send i at start + i/rate) with at most `concurrency`
    sendTransaction calls in flight; confirmations are polled in bulk in the background, so
    their latency never slows the sending. If the node cannot keep up and the schedule falls
    more than a second behind, the backlog is skipped (counted in `skipped`) rather than sent
    in a burst. Trades are small (at most `max_trade_fraction` of b) with a `slippage_bps`
    tolerance, so trades in flight together on one market do not fail each other; holdings
    are reserved when a sale is sent, so a wallet never sells the same shares twice.
    `wallets` must be funded; a buy that their balance (read at start) may not cover is not sent.
    """
    if rate_per_s <= 0:
        raise ValueError("rate_per_s must be positive")
    if duration_s is None and stop is None:
        raise ValueError("give duration_s, stop or both")
    if not wallets:
        raise ValueError("trickle needs wallets")
    params = await client.get_config()
    if params is None:
        raise RuntimeError("the program's GlobalConfig is not initialised")
    fees = lmsr.FeeSchedule(params.protocol_fee_bps, params.resolver_fee_bps, params.lp_fee_bps)
    fee_wallet = params.protocol_fee_wallet
    wanted = set(markets) if markets is not None else None
    books = {
        m.market_id: _Book(m.market_id, m.b_parameter, m.shares_yes, m.shares_no)
        for _, m in await client.list_markets(MarketState.Active)
        if wanted is None or m.market_id in wanted
    }
    if not books:
        raise ValueError("no active market to trade on")
    ids = sorted(books)
    index = {kp.pubkey(): i for i, kp in enumerate(wallets)}
    holdings: dict[tuple[bytes, int], list[int]] = {}
    for mid, listed in zip(
        ids,
        await asyncio.gather(*(client.list_positions(market_id=mid) for mid in ids)),
        strict=True,
    ):
        for _, pos in listed:
            if pos.user in index:
                holdings[(mid, index[pos.user])] = [pos.shares_yes, pos.shares_no]
    raw = await client.get_multiple_raw([kp.pubkey() for kp in wallets])
    balances = [r[0] if r is not None else 0 for r in raw]
    reserve = rent_exempt_minimum(UserPosition.SPACE) + 10 * FEE_PER_SIGNATURE

    sender = Sender(
        client,
        concurrency=concurrency,
        confirm_timeout=confirm_timeout,
        poll_interval=poll_interval,
        progress=progress,
    )
    sender.phase = "trickle"
    rng = random.Random(seed)

    async def resync(book: _Book) -> None:
        with contextlib.suppress(ChainError):
            m = await client.get_market(book.market_id)
            if m is not None:
                book.q_yes, book.q_no = m.shares_yes, m.shares_no

    async def buy(w: int, book: _Book, outcome: bool, shares: int, cap: int) -> None:
        kp = wallets[w]
        order = ix.buy_shares(
            kp.pubkey(),
            book.market_id,
            outcome,
            shares,
            cap,
            fee_wallet,
            program_id=client.program_id,
        )
        rec = await sender.send("buy_shares", [order], kp, market_id=book.market_id)
        if accepted(rec):
            if outcome:
                book.q_yes += shares
            else:
                book.q_no += shares
            holdings.setdefault((book.market_id, w), [0, 0])[side_index(outcome)] += shares
        else:
            balances[w] += cap
            await resync(book)

    async def sell(w: int, book: _Book, outcome: bool, shares: int, floor: int) -> None:
        kp = wallets[w]
        order = ix.sell_shares(
            kp.pubkey(),
            book.market_id,
            outcome,
            shares,
            floor,
            fee_wallet,
            program_id=client.program_id,
        )
        rec = await sender.send("sell_shares", [order], kp, market_id=book.market_id)
        if accepted(rec):
            if outcome:
                book.q_yes -= shares
            else:
                book.q_no -= shares
            balances[w] += floor
        else:
            holdings[(book.market_id, w)][side_index(outcome)] += shares
            await resync(book)

    def pick() -> Coroutine[Any, Any, None] | None:
        for _ in range(4):
            book = books[rng.choice(ids)]
            w = rng.randrange(len(wallets))
            hold = holdings.get((book.market_id, w))
            if hold and (hold[0] or hold[1]) and rng.random() < sell_probability:
                side = rng.random() < 0.5
                if not hold[side_index(side)]:
                    side = not side
                shares = max(1, int(hold[side_index(side)] * rng.uniform(0.2, 1.0)))
                try:
                    q = lmsr.quote_sell(book.q_yes, book.q_no, book.b, side, shares, fees)
                except lmsr.LmsrError:
                    continue
                if q.total <= 0:
                    continue
                hold[side_index(side)] -= shares  # reserved until the node answers
                return sell(w, book, side, shares, q.total * (BPS - slippage_bps) // BPS)
            outcome = rng.random() < 0.5
            frac = rng.uniform(max_trade_fraction / 10, max_trade_fraction)
            shares = max(MIN_TRADE_SHARES, int(book.b * frac))
            q = lmsr.quote_buy(book.q_yes, book.q_no, book.b, outcome, shares, fees)
            cap = q.total + -(-q.total * slippage_bps // BPS)
            if balances[w] < cap + reserve:
                continue
            balances[w] -= cap
            return buy(w, book, outcome, shares, cap)
        return None

    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()
    started = time.time()
    t0 = loop.time()
    end = t0 + duration_s if duration_s is not None else math.inf
    sent = skipped = 0

    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        gate.release()

    try:
        while not (stop is not None and stop.is_set()):
            now = loop.time()
            if now >= end:
                break
            due = t0 + sent / rate_per_s
            if due > now:
                wait = min(due, end) - now
                if stop is None:
                    await asyncio.sleep(wait)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), wait)
                continue
            if now - due > 1.0:  # fell behind by a second: skip the backlog, do not burst
                behind = int((now - due) * rate_per_s)
                t0 += behind / rate_per_s
                skipped += behind
            await gate.acquire()
            work = pick()
            sent += 1
            if work is None:
                gate.release()
                continue
            task = asyncio.create_task(work)
            tasks.add(task)
            task.add_done_callback(done)
        finished = time.time()
        if tasks:
            await asyncio.gather(*list(tasks))
        await sender.settle()
    finally:
        for task in list(tasks):
            task.cancel()
        await sender.aclose()
    return TrickleReport(
        target_rate=rate_per_s,
        transactions=sender.records,
        markets=ids,
        started_at=started,
        finished_at=finished,
        settled_at=time.time(),
        skipped=skipped,
    )
