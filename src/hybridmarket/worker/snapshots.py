"""The snapshot service (DESIGN.md §5): every UTC day, one JSON document per market with
discussion activity that day, archived on IPFS, its CID recorded in `ipfs_anchors`.

For each market in ACTIVE, RESOLVING or DISPUTED with visible comments created that day (UTC),
the document is the seed's, plus what makes each comment verifiable by anyone::

    {"market_id": "<hex>", "snapshot_date": "YYYY-MM-DD", "discussions_count": N,
     "discussions": [{"id", "user_wallet", "content", "created_at", "signed_message",
                      "signature"}, ...],
     "previous": "<CID of the market's snapshot of its previous day with comments>" | null}

- `snapshot_date` is the UTC day whose comments the document holds; comments are in
  (created_at, id) order; `created_at` is ISO 8601 UTC with microseconds and `Z`.
- `signed_message` is the Sign-In-With-Solana text the author's wallet signed: it names the
  market in its statement and carries `sha256:<hex>` of the content's UTF-8 bytes as a resource;
  `signature` is the base58 ed25519 signature of that text's UTF-8 bytes by `user_wallet`.
- Canonical JSON (`hybridmarket.canonical`: sorted keys, UTF-8, no insignificant whitespace),
  so the same comments always give the same bytes and the same CID.
- `previous` makes a market's snapshots a chain: whoever holds the latest CID can walk back
  day by day and prove that no day was dropped or rewritten (`hybridmarket verify-archive`).
  It is null in the market's first snapshot; documents written before it existed have no
  `previous` and start a chain. A day is therefore archived only after every earlier one: a
  market with a snapshot of a later day is not archived for an earlier day (it would fork the
  chain; counted as `out_of_order`), and the daily job does not archive a market's later days
  in a run where an earlier day of it failed (the next run does them in order).
- The seed put the document's own CID inside the document; no document can contain the hash of
  itself, so it is left out. The CID is `ipfs add --cid-version=1` of the bytes.

Uploads go through the configured `IpfsBackend` (embedded store, Kubo RPC or a pinning
service), in worker threads. A market's anchor is written as soon as its upload succeeds, so
one snapshot exists per (market, day): a rerun skips anchored markets (a no-op once a day is
done), a crash loses nothing done, and a failed upload is retried by the next run. Every upload
is counted in `hybridmarket_snapshot_uploads_total{outcome="ok"|"error"}` (success rate =
ok / (ok + error)).

A day is only archived once it is over by the database's clock, after the insert barrier in
`hybridmarket.db.queries.discussions` (no comment committed later can be dated inside it).
The scheduled job (`snapshot_recent`, cron CRON_SNAPSHOTS, default 00:00 UTC) covers the
previous day and the `LOOKBACK_DAYS - 1` before it, so a day missed or partly failed is finished
by the next run; `hybridmarket snapshot --date` archives any past day.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import structlog
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from hybridmarket.canonical import canonical_json
from hybridmarket.db.queries import discussions as q
from hybridmarket.ipfs.backends import IpfsBackend

log = structlog.get_logger(__name__)

UPLOADS = Counter(
    "hybridmarket_snapshot_uploads",
    "IPFS uploads of daily discussion snapshots, by outcome (ok, error)",
    ["outcome"],
)
LOOKBACK_DAYS: Final = 7
DEFAULT_CONCURRENCY: Final = 4
_MAX_ERRORS_LISTED: Final = 20

Progress = Callable[[int, int], None]


class DayNotOver(ValueError):
    """The day asked for has not ended yet (by the database's clock)."""


def format_time(t: datetime) -> str:
    """ISO 8601 in UTC with microseconds and `Z`: how documents and the API write times."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def comment_entry(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "user_wallet": row["user_wallet"],
        "content": row["content"],
        "created_at": format_time(row["created_at"]),
        "signed_message": row["signed_message"],
        "signature": row["signature"],
    }


def snapshot_document(
    market_id: str, day: date, comments: list[dict[str, Any]], previous: str | None = None
) -> dict[str, Any]:
    """The document of one market's comments of one day (`comments`: rows in order), linked to
    the CID of the market's previous snapshot (None for its first)."""
    return {
        "market_id": market_id,
        "snapshot_date": day.isoformat(),
        "discussions_count": len(comments),
        "discussions": [comment_entry(c) for c in comments],
        "previous": previous,
    }


def snapshot_bytes(
    market_id: str, day: date, comments: list[dict[str, Any]], previous: str | None = None
) -> bytes:
    """The canonical JSON bytes that are stored on IPFS."""
    return canonical_json(snapshot_document(market_id, day, comments, previous))


@dataclass
class DaySummary:
    day: date
    markets: int = 0  # markets with comments that day still to archive when the run began
    snapshotted: int = 0
    already_snapshotted: int = 0
    failed: int = 0
    out_of_order: int = 0  # not archived: a later day of the market already is (see above)
    comments: int = 0
    bytes: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "markets": self.markets,
            "snapshotted": self.snapshotted,
            "already_snapshotted": self.already_snapshotted,
            "failed": self.failed,
            "out_of_order": self.out_of_order,
            "comments": self.comments,
            "bytes": self.bytes,
            "errors": self.errors,
        }


def _upload(
    ipfs: IpfsBackend, market_id: str, day: date, rows: list[dict[str, Any]], previous: str | None
) -> tuple[str, int]:
    data = snapshot_bytes(market_id, day, rows, previous)
    return ipfs.add(data, cid_version=1), len(data)


async def snapshot_day(
    pool: AsyncConnectionPool,
    ipfs: IpfsBackend,
    day: date,
    *,
    progress: Progress | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_snapshot: Callable[[str, str, int], None] | None = None,
    batch_markets: int = 100,
    skip: set[str] | None = None,
) -> dict[str, Any]:
    """Archive `day`'s comments: one document per eligible market not yet anchored for it,
    linked to the market's previous snapshot. Markets in `skip` are left for a later run, and
    a market whose upload fails is added to it (so a caller archiving several days in order
    does not archive a market's later day before its earlier one).

    Returns a summary (counts, bytes, the first errors). Raises `DayNotOver` for a day that has
    not ended. `progress(done, total)` is called as markets are finished; `on_snapshot(market_id,
    cid, count)` for each new snapshot. The markets to archive are chosen first (once per
    market); their comments are then read `batch_markets` markets at a time while up to
    `concurrency` uploads are in flight."""
    if concurrency < 1 or batch_markets < 1:
        raise ValueError("concurrency and batch_markets must be >= 1")
    _, end = q.day_bounds(day)
    async with pool.connection() as conn:
        closed = await q.close_day(conn)
        if closed < end:
            raise DayNotOver(f"{day.isoformat()} (UTC) is not over yet; archive past days only")
        summary = DaySummary(day)
        held = frozenset(skip or ())
        pending = [m for m in await q.pending_markets(conn, day) if m not in held]
        summary.markets = len(pending)
        summary.already_snapshotted = await q.anchored_markets(conn, day)
    done = 0
    if progress:
        progress(0, summary.markets)
    slots = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()

    async def archive(market_id: str, rows: list[dict[str, Any]], previous: str | None) -> None:
        nonlocal done
        try:
            try:
                cid, size = await asyncio.to_thread(_upload, ipfs, market_id, day, rows, previous)
            except Exception as e:  # any backend failure: counted, retried by the next run
                UPLOADS.labels("error").inc()
                summary.failed += 1
                if skip is not None:
                    skip.add(market_id)
                log.warning(
                    "snapshot upload failed",
                    market_id=market_id,
                    day=day.isoformat(),
                    error=f"{type(e).__name__}: {e}",
                )
                if len(summary.errors) < _MAX_ERRORS_LISTED:
                    summary.errors.append(
                        {"market_id": market_id, "error": f"{type(e).__name__}: {e}"}
                    )
                return
            UPLOADS.labels("ok").inc()
            async with pool.connection() as conn:
                inserted = await q.insert_anchor(
                    conn,
                    market_id=market_id,
                    snapshot_date=day,
                    ipfs_hash=cid,
                    discussions_count=len(rows),
                    size_bytes=size,
                )
            if inserted:
                summary.snapshotted += 1
                summary.comments += len(rows)
                summary.bytes += size
                if on_snapshot:
                    on_snapshot(market_id, cid, len(rows))
            else:  # another run archived it in the meantime
                summary.already_snapshotted += 1
        finally:
            done += 1
            if progress:
                progress(done, summary.markets)
            slots.release()

    async def dispatch(market_id: str, rows: list[dict[str, Any]], previous: str | None) -> None:
        await slots.acquire()
        task = asyncio.create_task(archive(market_id, rows, previous))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    try:
        for i in range(0, len(pending), batch_markets):
            async with pool.connection() as conn:
                heads = await q.chain_heads(conn, pending[i : i + batch_markets], day)
                rows = await q.day_comments(conn, pending[i : i + batch_markets], day)
            batch = 0
            for market_id, group in itertools.groupby(rows, key=lambda r: r["market_id"]):
                batch += 1
                previous, later = heads[market_id]
                if later:
                    summary.out_of_order += 1
                    log.warning(
                        "snapshot out of order: a later day is archived",
                        market_id=market_id,
                        day=day.isoformat(),
                    )
                    done += 1
                    continue
                await dispatch(market_id, list(group), previous)
            # Markets whose comments were all deleted since they were chosen: nothing to do.
            done += len(pending[i : i + batch_markets]) - batch
        await asyncio.gather(*tasks)
    finally:
        for t in list(tasks):
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
    log.info(
        "discussion snapshots", **{k: v for k, v in summary.as_dict().items() if k != "errors"}
    )
    return summary.as_dict()


async def snapshot_recent(
    pool: AsyncConnectionPool,
    ipfs: IpfsBackend,
    *,
    today: date | None = None,
    lookback_days: int = LOOKBACK_DAYS,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> dict[str, Any]:
    """The worker's daily job: archive yesterday (UTC) and finish the `lookback_days - 1` days
    before it (each a no-op when complete). Returns totals and each day that had work."""
    if lookback_days < 1:
        raise ValueError("lookback_days must be >= 1")
    today = today or datetime.now(UTC).date()
    out: dict[str, Any] = {"snapshotted": 0, "failed": 0, "comments": 0, "days": {}}
    failed: set[str] = set()  # their later days wait for the next run, to keep chains in order
    for back in range(lookback_days, 0, -1):
        day = today - timedelta(days=back)
        try:
            s = await snapshot_day(pool, ipfs, day, concurrency=concurrency, skip=failed)
        except DayNotOver:  # the worker's clock is ahead of the database's
            continue
        for key in ("snapshotted", "failed", "comments"):
            out[key] += s[key]
        if s["markets"] or s["failed"]:
            out["days"][s["date"]] = s
    return out
