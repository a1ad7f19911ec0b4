"""The indexer: applies the program's transactions to PostgreSQL, in chain order, exactly once.

How it never loses or duplicates an event:
- `getSignaturesForAddress` is the authority on *what* to apply: every sync pages back from the
  newest confirmed signature to the stored cursor and applies the missing transactions oldest
  first. Live `logsSubscribe` notifications only wake a sync early and save the
  `getTransaction` call (their logs are used when complete); a dropped notification, a closed
  WebSocket or a restart just means the next sync (at most `poll_interval` later) finds it.
- Each batch is applied in one database transaction that also records every transaction in
  `indexed_transactions` and advances the cursor, under an advisory lock shared by every writer
  of chain-cached rows. Transactions already recorded are skipped, so re-applying is a no-op,
  and a crash at any moment leaves the database at a batch boundary.
- An event that cannot be applied goes to `dead_letters` and is retried with backoff; a retry
  re-inserts its rows idempotently and refreshes the market and position from an account read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from solders.pubkey import Pubkey

from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.errors import ChainError, RpcUnavailable
from hybridmarket.chain.events import ParsedEvent
from hybridmarket.chain.stream import LogEntry, program_logs
from hybridmarket.db.queries import indexer as q
from hybridmarket.db.queries import markets as q_markets
from hybridmarket.db.queries import positions as q_positions
from hybridmarket.db.queries import trades as q_trades
from hybridmarket.db.queries import users as q_users
from hybridmarket.db.queries import votes as q_votes
from hybridmarket.indexer import metrics
from hybridmarket.indexer.model import (
    BatchState,
    ChainTx,
    market_ids_of,
    position_keys_of,
)
from hybridmarket.program.events import MarketProposed, decode_event
from hybridmarket.signals import Signals, market_changes

log = structlog.get_logger(__name__)

_DEAD_LETTER_BACKOFF = (1.0, 5.0, 30.0, 120.0, 600.0, 3600.0)
SIGNATURE_PAGE = 1000
SLOT_SECONDS = 0.4  # Solana's target slot time, to express a lag in slots as seconds

Progress = Callable[[int, int], None]


def backoff_seconds(attempts: int) -> float:
    return _DEAD_LETTER_BACKOFF[min(attempts - 1, len(_DEAD_LETTER_BACKOFF) - 1)]


@dataclass
class SyncResult:
    applied: int = 0
    skipped: int = 0
    events: int = 0
    dead_lettered: int = 0
    synced_slot: int = 0
    markets: set[str] = field(default_factory=set)


class Indexer:
    """Applies program transactions from one RPC endpoint to one database."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        client: ChainClient,
        *,
        ws_url: str | None = None,
        batch_size: int = 2000,
        fetch_concurrency: int = 16,
        poll_interval: float = 1.0,
        signals: Signals | None = None,
        on_reconcile: Callable[[], Any] | None = None,
        on_repair: Callable[[set[str]], Any] | None = None,
    ) -> None:
        self.pool = pool
        self.client = client
        self.ws_url = ws_url
        self.program_id: Pubkey = client.program_id
        self.commitment = "confirmed"
        self.batch_size = batch_size
        self.fetch_concurrency = fetch_concurrency
        self.poll_interval = poll_interval
        # Each batch announces the markets it changed (NOTIFY, and Redis when configured).
        self.signals = signals or Signals()
        self._log_cache: dict[str, LogEntry] = {}
        self._sync_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.reconcile_requested = False
        self.stopping: asyncio.Event | None = None
        # From whoever runs the reconciler next to this indexer (bootstrap.indexer): a full
        # reconciliation (after truncated logs) and a repair of some markets (dead letters).
        self.on_reconcile = on_reconcile
        self.on_repair = on_repair

    # ---- fetching ---------------------------------------------------------------------------
    async def _pending_signatures(
        self, until: str | None
    ) -> list[tuple[str, int, Any, int | None]]:
        """Every program signature newer than `until`, oldest first."""
        out: list[tuple[str, int, Any, int | None]] = []
        before: str | None = None
        while True:
            page = await self.client.signatures_for_program(
                before=before, until=until, limit=SIGNATURE_PAGE
            )
            out.extend(page)
            if len(page) < SIGNATURE_PAGE:
                break
            before = page[-1][0]
        out.reverse()
        return out

    async def _fetch(self, sigs: Sequence[tuple[str, int, Any, int | None]]) -> list[ChainTx]:
        """The transactions of `sigs`, in order: from notification logs when complete, else by
        `getTransaction` (JSON-RPC batches, a few in flight)."""
        out: dict[str, ChainTx] = {}
        missing: list[tuple[str, int, Any, int | None]] = []
        for sig, slot, err, block_time in sigs:
            cached = self._log_cache.pop(sig, None)
            if cached is not None and not cached.truncated:
                out[sig] = ChainTx(sig, slot, block_time, err, cached.events if err is None else ())
            else:
                missing.append((sig, slot, err, block_time))
        sem = asyncio.Semaphore(max(1, self.fetch_concurrency // 4))

        async def batch(part: list[tuple[str, int, Any, int | None]]) -> None:
            todo = [s[0] for s in part]
            async with sem:
                for attempt in range(20):
                    infos = await self.client.get_transactions(todo)
                    for info in infos:
                        if info is None:
                            continue
                        if info.truncated:
                            # Events past the log limit are gone (as on any cluster).
                            metrics.FAILURES.labels("truncated_logs").inc()
                            log.warning(
                                "truncated logs; reconciliation requested", signature=info.signature
                            )
                            self.reconcile_requested = True
                        out[info.signature] = ChainTx(
                            info.signature, info.slot, info.block_time, info.err, info.events
                        )
                    todo = [s for s in todo if s not in out]
                    if not todo:
                        return
                    await asyncio.sleep(0.05 * (attempt + 1))
            raise RpcUnavailable(f"getTransaction: {len(todo)} transactions not available")

        parts = [missing[i : i + 100] for i in range(0, len(missing), 100)]
        await asyncio.gather(*(batch(p) for p in parts))
        return [out[s[0]] for s in sigs]

    # ---- applying ---------------------------------------------------------------------------
    async def apply(
        self,
        txs: Sequence[ChainTx],
        *,
        conn: AsyncConnection[Any] | None = None,
        synced_slot: int = 0,
    ) -> SyncResult:
        """Apply transactions (oldest first) in one database transaction; idempotent."""
        if conn is None:
            async with self.pool.connection() as c:
                return await self.apply(txs, conn=c, synced_slot=synced_slot)
        started = time.perf_counter()
        try:
            async with self.signals.transaction(conn) as announce:
                result = await self._apply_batch(conn, txs, synced_slot)
                announce.extend(market_changes(result.markets, synced_slot))
        except psycopg.OperationalError:
            raise
        except psycopg.Error as e:
            # Something in the batch violates the schema: isolate it, one event at a time.
            metrics.FAILURES.labels("batch").inc()
            log.warning("batch failed; applying its transactions one by one", error=str(e))
            result = SyncResult()
            for tx in txs:
                async with self.signals.transaction(conn) as announce:
                    r = await self._apply_isolated(conn, tx)
                    announce.extend(market_changes(r.markets, tx.slot))
                result.applied += r.applied
                result.skipped += r.skipped
                result.events += r.events
                result.dead_lettered += r.dead_lettered
                result.markets |= r.markets
            if synced_slot:
                async with conn.transaction():
                    await q.set_cursor(
                        conn,
                        str(self.program_id),
                        self.commitment,
                        last_signature=None,
                        last_slot=0,
                        synced_slot=synced_slot,
                    )
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        return result

    async def _apply_batch(
        self, conn: AsyncConnection[Any], txs: Sequence[ChainTx], synced_slot: int
    ) -> SyncResult:
        await q.lock(conn)
        pid = str(self.program_id)
        await q.get_cursor(conn, pid, self.commitment, for_update=True)
        done = await q.already_applied(conn, [t.signature for t in txs])
        todo = [t for t in txs if t.signature not in done]
        result = SyncResult(skipped=len(txs) - len(todo))
        if todo:
            state = await self._load_state(conn, todo)
            for tx in todo:
                state.apply_tx(tx)
            await self._write(conn, state)
            for f in state.failed:
                await self._dead_letter(conn, f.tx, f.event, f.error)
            result.applied = len(todo)
            result.events = sum(state.events_applied.values())
            result.dead_lettered = len(state.failed)
            result.markets = set(state.changed_markets)
            last = todo[-1]
            await q.set_cursor(
                conn,
                pid,
                self.commitment,
                last_signature=last.signature,
                last_slot=last.slot,
                synced_slot=synced_slot,
            )
            self._count(state, todo)
            metrics.INDEXED_SLOT.set(last.slot)
        elif synced_slot:
            await q.set_cursor(
                conn,
                pid,
                self.commitment,
                last_signature=None,
                last_slot=0,
                synced_slot=synced_slot,
            )
        result.synced_slot = synced_slot
        return result

    async def _apply_isolated(self, conn: AsyncConnection[Any], tx: ChainTx) -> SyncResult:
        """Apply one transaction event by event, each in a savepoint; failures dead-lettered."""
        await q.lock(conn)
        pid = str(self.program_id)
        await q.get_cursor(conn, pid, self.commitment, for_update=True)
        if await q.already_applied(conn, [tx.signature]):
            return SyncResult(skipped=1)
        result = SyncResult(applied=1)
        for pe in tx.events if tx.err is None else ():
            single = ChainTx(tx.signature, tx.slot, tx.block_time, tx.err, (pe,))
            try:
                async with conn.transaction():
                    state = await self._load_state(conn, [single])
                    state.apply_tx(single)
                    state.transactions.clear()
                    await self._write(conn, state)
                if state.failed:
                    f = state.failed[0]
                    await self._dead_letter(conn, tx, pe, f.error)
                    result.dead_lettered += 1
                else:
                    result.events += 1
                    result.markets |= state.changed_markets
                    self._count(state, [])
            except psycopg.OperationalError:
                raise
            except psycopg.Error as e:
                await self._dead_letter(conn, tx, pe, f"{type(e).__name__}: {e}")
                result.dead_lettered += 1
        await q.append_transactions(
            conn,
            [
                (
                    tx.signature,
                    tx.slot,
                    None if tx.block_time is None else _utc(tx.block_time),
                    None if tx.err is None else json.dumps(tx.err),
                    result.events,
                )
            ],
        )
        await q.set_cursor(
            conn,
            pid,
            self.commitment,
            last_signature=tx.signature,
            last_slot=tx.slot,
            synced_slot=0,
        )
        metrics.TRANSACTIONS_APPLIED.labels("ok" if tx.err is None else "failed").inc()
        return result

    async def _load_state(self, conn: AsyncConnection[Any], txs: Sequence[ChainTx]) -> BatchState:
        mids: set[str] = set()
        pkeys: set[tuple[str, str]] = set()
        for tx in txs:
            if tx.err is None:
                mids |= market_ids_of(tx)
                pkeys |= position_keys_of(tx)
        state = BatchState(self.program_id)
        state.markets = await q_markets.load(conn, mids, for_update=True)
        state.positions = await q_positions.load(conn, pkeys, for_update=True)
        return state

    async def _write(self, conn: AsyncConnection[Any], s: BatchState) -> None:
        # Parents first (markets), then rows that reference them.
        await q_markets.upsert(conn, (s.markets[m] for m in sorted(s.changed_markets)))
        await q_positions.upsert(conn, (s.positions[k] for k in sorted(s.changed_positions)))
        await q_trades.append_trades(conn, s.trades)
        await q_trades.append_prices(conn, s.price_points)
        await q_votes.append(conn, "proposal", s.proposal_votes)
        await q_votes.append(conn, "dispute", s.dispute_votes)
        await q_users.seen(conn, s.users)
        await q.append_transactions(conn, s.transactions)
        if s.config is not None:
            await q.save_config(conn, s.config)

    async def _dead_letter(
        self, conn: AsyncConnection[Any], tx: ChainTx, pe: ParsedEvent, error: str
    ) -> None:
        name = type(pe.event).__name__
        await q.add_dead_letter(
            conn,
            signature=tx.signature,
            slot=tx.slot,
            instruction_index=pe.instruction_index,
            event_index=pe.event_index,
            event_name=name,
            payload=pe.event.to_bytes(),
            error=error,
            retry_in_s=backoff_seconds(1),
        )
        metrics.FAILURES.labels("dead_letter").inc()
        log.error(
            "event dead-lettered",
            signature=tx.signature,
            instruction_index=pe.instruction_index,
            event_index=pe.event_index,
            event_name=name,
            error=error,
        )

    def _count(self, state: BatchState, txs: Sequence[ChainTx]) -> None:
        for name, n in state.events_applied.items():
            metrics.EVENTS_APPLIED.labels(name).inc(n)
        for tx in txs:
            metrics.TRANSACTIONS_APPLIED.labels("ok" if tx.err is None else "failed").inc()

    # ---- syncing ----------------------------------------------------------------------------
    async def sync(
        self, *, conn: AsyncConnection[Any] | None = None, progress: Progress | None = None
    ) -> SyncResult:
        """Apply every confirmed program transaction not yet applied; returns what was done."""
        async with self._sync_lock:
            return await self._sync(conn, progress)

    async def _sync(
        self, conn: AsyncConnection[Any] | None, progress: Progress | None
    ) -> SyncResult:
        started = time.monotonic()
        chain_slot = await self.client.get_slot()
        metrics.CHAIN_SLOT.set(chain_slot)
        cursor = await self._cursor(conn)
        sigs = await self._pending_signatures(cursor.last_signature)
        total = SyncResult()
        if progress:
            progress(0, len(sigs))
        chunks = [sigs[i : i + self.batch_size] for i in range(0, len(sigs), self.batch_size)]
        # Fetch the next chunk while the current one is written.
        next_fetch = asyncio.ensure_future(self._fetch(chunks[0])) if chunks else None
        done = 0
        for i, _chunk in enumerate(chunks):
            assert next_fetch is not None
            if self.stopping is not None and self.stopping.is_set():
                next_fetch.cancel()  # every batch so far is committed; the rest waits for later
                await asyncio.gather(next_fetch, return_exceptions=True)
                return total
            txs = await next_fetch
            next_fetch = (
                asyncio.ensure_future(self._fetch(chunks[i + 1])) if i + 1 < len(chunks) else None
            )
            last = i + 1 == len(chunks)
            r = await self.apply(txs, conn=conn, synced_slot=chain_slot if last else 0)
            total.applied += r.applied
            total.skipped += r.skipped
            total.events += r.events
            total.dead_lettered += r.dead_lettered
            total.markets |= r.markets
            done += len(txs)
            if progress:
                progress(done, len(sigs))
        if not chunks:
            await self.apply([], conn=conn, synced_slot=chain_slot)
        total.synced_slot = chain_slot
        metrics.SYNCED_SLOT.set(chain_slot)
        metrics.LAG_SLOTS.set(0)
        metrics.LAG_SECONDS.set(time.monotonic() - started)
        # Notifications for signatures that were already applied are no longer needed.
        if len(self._log_cache) > 10_000:
            self._log_cache.clear()
        return total

    async def _cursor(self, conn: AsyncConnection[Any] | None) -> q.Cursor:
        if conn is None:
            async with self.pool.connection() as c:
                return await q.get_cursor(c, str(self.program_id), self.commitment)
        return await q.get_cursor(conn, str(self.program_id), self.commitment)

    # ---- dead letters -----------------------------------------------------------------------
    async def retry_dead_letters(self, repair: Callable[[set[str]], Any] | None = None) -> int:
        """Retry due dead letters; returns how many were resolved.

        A retry applies the event's rows again (idempotently) as a one-event transaction; the
        market and position state it would have changed is then refreshed from the chain by
        `repair` (the reconciler), because later events were applied without it.
        """
        resolved = 0
        async with self.pool.connection() as conn:
            async with conn.transaction():
                await q.lock(conn)
                due = await q.due_dead_letters(conn)
            for dl in due:
                event = decode_event(dl.payload)
                pe = ParsedEvent(dl.instruction_index, dl.event_index, event)
                tx = ChainTx(dl.tx_signature, dl.slot, None, None, (pe,))
                try:
                    # First bring the market and positions to the chain's state (later events
                    # were applied without this one), then add the rows the event appends.
                    if repair is not None:
                        await _maybe_await(repair(market_ids_of(tx)))
                    async with conn.transaction():
                        await q.lock(conn)
                        state = await self._load_state(conn, [tx])
                        state.apply_tx(tx)
                        proposed_again = isinstance(event, MarketProposed) and bool(state.markets)
                        if state.failed and not proposed_again:
                            raise _Retry(state.failed[0].error)
                        await _insert_missing(conn, state)
                        await q.resolve_dead_letter(conn, dl.id)
                    resolved += 1
                    log.info("dead letter resolved", id=dl.id, event_name=dl.event_name)
                except (_Retry, ChainError, psycopg.Error) as e:
                    if isinstance(e, psycopg.OperationalError):
                        raise
                    async with conn.transaction():
                        await q.retry_failed(conn, dl.id, str(e), backoff_seconds(dl.attempts + 1))
                    log.warning("dead letter retry failed", id=dl.id, error=str(e))
            async with conn.transaction():
                metrics.DEAD_LETTERS.set(await q.pending_dead_letters(conn))
        return resolved

    # ---- live -------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, progress: Progress | None = None) -> None:
        """Index until `stop` is set: catch up, then follow the chain live."""
        self.stopping = stop
        first = await self.sync(progress=progress)
        log.info("indexer following the chain live", synced_slot=first.synced_slot)
        listener = asyncio.create_task(self._listen(stop))
        try:
            while not stop.is_set():
                waiter = asyncio.create_task(self._wake.wait())
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait(
                    {waiter, stopper},
                    timeout=self.poll_interval,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waiter.cancel()
                stopper.cancel()
                if stop.is_set():
                    break
                self._wake.clear()
                try:
                    await self.sync()
                    if self.reconcile_requested and self.on_reconcile is not None:
                        self.reconcile_requested = False
                        await _maybe_await(self.on_reconcile())
                    await self.retry_dead_letters(self.on_repair)
                except (ChainError, psycopg.OperationalError, OSError) as e:
                    metrics.FAILURES.labels("sync").inc()
                    log.warning("sync failed; retrying", error=str(e))
                    await _sleep_or_stop(stop, self.poll_interval)
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)

    async def _listen(self, stop: asyncio.Event) -> None:
        """Follow logsSubscribe; reconnect with backoff. Each notification wakes a sync."""
        if self.ws_url is None:
            return
        delay = 0.1
        while not stop.is_set():
            try:
                async for entry in program_logs(self.ws_url, self.program_id):
                    metrics.NOTIFICATIONS.inc()
                    self._log_cache[entry.signature] = entry
                    self._wake.set()
                    delay = 0.1
            except RpcUnavailable as e:
                metrics.FAILURES.labels("websocket").inc()
                log.info("logsSubscribe disconnected; reconnecting", error=str(e), delay=delay)
            self._wake.set()  # whatever was missed while disconnected: sync now
            await _sleep_or_stop(stop, delay)
            delay = min(delay * 2, 5.0)


class _Retry(Exception):
    pass


async def _insert_missing(conn: AsyncConnection[Any], s: BatchState) -> None:
    """Append a retried event's rows, skipping any already there (idempotent)."""
    for table, cols, rows in (
        ("trades", q_trades.TRADE_COLUMNS, s.trades),
        ("price_history", q_trades.PRICE_COLUMNS, s.price_points),
    ):
        if rows:
            placeholders = ", ".join(["%s"] * len(cols))
            async with conn.cursor() as cur:
                await cur.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders}) "
                    "ON CONFLICT DO NOTHING",
                    rows,
                )
    # Votes with their counts (vote_tallies), only those not there yet.
    await q_votes.insert_missing(conn, "proposal", s.proposal_votes)
    await q_votes.insert_missing(conn, "dispute", s.dispute_votes)
    await q_users.seen(conn, s.users)
    if s.config is not None:
        await q.save_config(conn, s.config)


def _utc(ts: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC)


async def _maybe_await(value: Any) -> Any:
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def indexer_health(
    pool: AsyncConnectionPool,
    client: ChainClient,
    *,
    ask_chain: bool = True,
    max_lag_slots: int = 150,
) -> dict[str, Any]:
    """What `/health` reports about the indexer of `client.program_id`: slots, lag in slots and
    seconds, dead letters, and `ok` (the database reflects the chain within `max_lag_slots`,
    about a minute). `ask_chain=False` (the RPC is known to be down): the database's side only."""
    async with pool.connection() as conn:
        h = await q.health(conn, str(client.program_id), "confirmed")
    chain_slot: int | None = None
    if ask_chain:
        try:
            chain_slot = await client.get_slot()
        except ChainError as e:
            h["chain_error"] = str(e)
    h["chain_slot"] = chain_slot
    if chain_slot is not None:
        lag = max(0, chain_slot - h["synced_slot"])
        h["lag_slots"] = lag
        h["lag_seconds"] = round(lag * SLOT_SECONDS, 3)
        metrics.LAG_SLOTS.set(lag)
        metrics.CHAIN_SLOT.set(chain_slot)
    h["ok"] = chain_slot is not None and h["lag_slots"] <= max_lag_slots
    return h
