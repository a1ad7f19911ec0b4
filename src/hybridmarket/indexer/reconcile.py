"""The reconciler: compares the cached market (and position) rows with the chain's accounts field
by field, records every discrepancy and repairs the rows from the chain.

Comparing a cache that is being written against a chain that keeps moving needs care: the run
holds the indexer lock (so no batch is applied meanwhile), first catches the database up, reads
the accounts with getMultipleAccounts in batches of 100, and then asks the chain whether any
program transaction landed after the cursor. If one did, it is applied and the markets it
touched are read again, until the database and the reads describe the same moment. Only then is
a difference a real discrepancy; repairing it cannot double-count a later event.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from hybridmarket.chain.client import ChainClient
from hybridmarket.db.queries import indexer as q
from hybridmarket.db.queries import markets as q_markets
from hybridmarket.db.queries import positions as q_positions
from hybridmarket.db.queries import reconcile as q_reconcile
from hybridmarket.db.rows import (
    MARKET_CHAIN_FIELDS,
    POSITION_CHAIN_FIELDS,
    Discrepancy,
    MarketRow,
    PositionRow,
    ReconcileReport,
)
from hybridmarket.indexer import metrics
from hybridmarket.indexer.model import (
    market_ids_of,
    market_row_from_account,
    position_row_from_account,
)
from hybridmarket.indexer.service import Indexer
from hybridmarket.program.accounts import MarketAccount
from hybridmarket.program.ids import market_pda
from hybridmarket.signals import market_changes

log = structlog.get_logger(__name__)
_MAX_ROUNDS = 5


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


def _diff(a: Any, b: Any, fields: tuple[str, ...]) -> list[tuple[str, Any, Any]]:
    return [(f, getattr(a, f), getattr(b, f)) for f in fields if getattr(a, f) != getattr(b, f)]


class Reconciler:
    def __init__(self, pool: AsyncConnectionPool, client: ChainClient, indexer: Indexer) -> None:
        self.pool = pool
        self.client = client
        self.indexer = indexer

    async def run(
        self, *, only: set[str] | None = None, repair: bool = True, positions: bool = True
    ) -> ReconcileReport:
        """Reconcile every market (or the markets in `only`); returns the report."""
        report = ReconcileReport()
        async with self.pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (q.INDEXER_LOCK,))
            try:
                report.run_id = await q_reconcile.start_run(conn)
                try:
                    await self._run(conn, report, only, repair, positions)
                except Exception as e:
                    await q_reconcile.finish_run(conn, report, error=f"{type(e).__name__}: {e}")
                    metrics.RECONCILE_RUNS.labels("error").inc()
                    raise
                await q_reconcile.finish_run(conn, report)
                metrics.RECONCILE_RUNS.labels("ok").inc()
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (q.INDEXER_LOCK,))
        log.info("reconciliation finished", **report.summary())
        return report

    async def _run(
        self,
        conn: AsyncConnection[Any],
        report: ReconcileReport,
        only: set[str] | None,
        repair: bool,
        positions: bool,
    ) -> None:
        await self.indexer.sync(conn=conn)
        report.chain_slot = await self.client.get_slot()
        async with conn.transaction():
            cached = await (
                q_markets.load(conn, only) if only is not None else q_markets.load_all(conn)
            )
        wanted = set(cached) if only is None else set(only)
        if only is None:
            # Markets on chain that the database does not know at all.
            wanted |= {bytes(acc.market_id).hex() for _, acc in await self.client.list_markets()}
        chain = await self._read_markets(wanted, report.chain_slot)
        # Make the database describe the same moment as the reads.
        for _round in range(_MAX_ROUNDS):
            cursor = await q.get_cursor(conn, str(self.indexer.program_id), "confirmed")
            pending = await self.indexer._pending_signatures(cursor.last_signature)
            if not pending:
                break
            moved: set[str] = set()
            txs = await self.indexer._fetch(pending)
            for tx in txs:
                if tx.err is None:
                    moved |= market_ids_of(tx)
            await self.indexer.apply(txs, conn=conn)
            slot = await self.client.get_slot()
            chain.update(await self._read_markets(moved & wanted, slot))
        else:
            report.busy = sorted(wanted)
            log.warning("chain kept moving; reconciliation skipped this run")
            return
        async with self.indexer.signals.transaction(conn) as announce:
            cached = await q_markets.load(conn, wanted, for_update=True)
            fixes: list[MarketRow] = []
            for mid in sorted(wanted):
                ref = chain.get(mid)
                row = cached.get(mid)
                report.markets_checked += 1
                if ref is None:
                    if row is not None:
                        report.discrepancies.append(Discrepancy(mid, "row", "present", None))
                    continue
                if row is None:
                    report.discrepancies.append(Discrepancy(mid, "row", None, "present"))
                    fixes.append(ref)
                    continue
                diffs = _diff(row, ref, MARKET_CHAIN_FIELDS)
                for f, a, b in diffs:
                    report.discrepancies.append(Discrepancy(mid, f, _text(a), _text(b)))
                if diffs:
                    ref.last_slot = max(row.last_slot, ref.last_slot)
                    fixes.append(ref)
            pos_fixes: list[PositionRow] = []
            if positions:
                pos_fixes = await self._check_positions(conn, report, wanted, only is None)
            if repair:
                await q_markets.upsert(conn, fixes)
                await q_positions.upsert(conn, pos_fixes)
                report.repaired = len(fixes) + len(pos_fixes)
                repaired = {m.id for m in fixes} | {p.market_id for p in pos_fixes}
                announce.extend(market_changes(repaired, report.chain_slot))
            await q_reconcile.record(conn, report.run_id, report.discrepancies)
        for d in report.discrepancies:
            metrics.RECONCILE_DISCREPANCIES.labels(d.field.split(":")[0]).inc()
            log.warning(
                "discrepancy", market_id=d.market_id, field=d.field, cached=d.cached, chain=d.chain
            )

    async def _read_markets(self, ids: set[str], slot: int) -> dict[str, MarketRow]:
        order = sorted(ids)
        keys = [market_pda(bytes.fromhex(m), self.client.program_id)[0] for m in order]
        raws = await self.client.get_multiple_raw(keys)
        out: dict[str, MarketRow] = {}
        for mid, key, raw in zip(order, keys, raws, strict=True):
            if raw is None or raw[1] != self.client.program_id:
                continue
            acc = MarketAccount.from_account_data(raw[2])
            out[mid] = market_row_from_account(acc, key, slot)
        return out

    async def _check_positions(
        self,
        conn: AsyncConnection[Any],
        report: ReconcileReport,
        wanted: set[str],
        everything: bool,
    ) -> list[PositionRow]:
        chain_pos: dict[tuple[str, str], PositionRow] = {}
        by_address = {
            str(market_pda(bytes.fromhex(m), self.client.program_id)[0]): m for m in wanted
        }
        if everything:
            found = await self.client.list_positions()
        else:
            found = []
            for market_id in sorted(wanted):
                found += await self.client.list_positions(market_id=bytes.fromhex(market_id))
        for _key, pos in found:
            owner = by_address.get(str(pos.market))
            if owner is not None:
                chain_pos[(owner, str(pos.user))] = position_row_from_account(
                    pos, owner, report.chain_slot
                )
        if everything:
            cached = await q_positions.load_all(conn)
        else:
            cached = await q_positions.load(conn, list(chain_pos), for_update=True)
        fixes = []
        for key in sorted(set(chain_pos) | {k for k in cached if k[0] in wanted}):
            ref, row = chain_pos.get(key), cached.get(key)
            report.positions_checked += 1
            where = f"position:{key[1]}"
            if ref is None:
                report.discrepancies.append(Discrepancy(key[0], where, "present", None))
                continue
            if row is None:
                report.discrepancies.append(Discrepancy(key[0], where, None, "present"))
                fixes.append(ref)
                continue
            diffs = _diff(row, ref, POSITION_CHAIN_FIELDS)
            for f, a, b in diffs:
                report.discrepancies.append(Discrepancy(key[0], f"{where}:{f}", _text(a), _text(b)))
            if diffs:
                ref.last_slot = max(row.last_slot, ref.last_slot)
                fixes.append(ref)
        return fixes
