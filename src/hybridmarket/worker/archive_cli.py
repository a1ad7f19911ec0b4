"""`hybridmarket verify-archive MARKET_ID`: walk a market's discussion archive on IPFS from its
latest snapshot back to its first (each names the previous one's CID,
`hybridmarket.worker.snapshots`) and check everything a reader can check without trusting us:

- every document's bytes hash to the CID that named it (fetched through the IPFS backend);
- it is a snapshot of this market, its comments counted right and dated inside its day;
- every comment is signed by its author's wallet: the Sign-In-With-Solana text names this
  market and the sha256 of the content, and the ed25519 signature of that text verifies
  (`hybridmarket.api.siws`: the same parse, statement and signature checks as the API's);
- the links: days strictly decreasing from the latest (one snapshot per day), each day's CID
  the one the database anchored for it, no anchored day missing from the chain, and no day on
  which the database has visible comments (from the first archived day up to yesterday, UTC)
  missing from it.

Exit 0 when all holds, 1 with one line per problem."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import typer
from psycopg_pool import AsyncConnectionPool

from hybridmarket.api import siws
from hybridmarket.cli_support import DataDir, cli_settings, run_cli
from hybridmarket.db.queries import discussions as q
from hybridmarket.ipfs.backends import IpfsBackend
from hybridmarket.ipfs.cid import CID
from hybridmarket.ipfs.importer import compute_cid
from hybridmarket.settings import Settings
from hybridmarket.worker.snapshots import format_time


@dataclass
class ArchiveReport:
    market_id: str
    head: str | None = None
    days: list[tuple[date, str, int]] = field(default_factory=list)  # newest first
    problems: list[str] = field(default_factory=list)


def comment_problem(entry: Any, market_id: str) -> str | None:
    """Why an archived comment is not proven to be its author's, or None when it is."""
    try:
        wallet, text = entry["user_wallet"], entry["signed_message"]
        msg = siws.parse(text)
        if msg.address != wallet:
            return f"signed by {msg.address}, not its author {wallet}"
        if msg.statement != siws.statement_for("post_comment", market_id):
            return f"the signed message is not about this market: {msg.statement!r}"
        if siws.content_resource(entry["content"]) not in msg.resources:
            return "the signed message does not name the sha256 of this content"
        siws.verify_signature(wallet, text, entry["signature"])
    except siws.SiwsError as e:
        return e.message
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        return f"malformed entry ({type(e).__name__})"
    return None


def _document_problems(doc: Any, market_id: str, cid: str) -> tuple[date | None, list[str]]:
    """The day a document is of, and what is wrong with it as a snapshot of `market_id`."""
    if not isinstance(doc, dict):
        return None, [f"{cid}: not a snapshot document"]
    try:
        day = date.fromisoformat(doc["snapshot_date"])
        comments = list(doc["discussions"])
    except (KeyError, TypeError, ValueError):
        return None, [f"{cid}: not a snapshot document (snapshot_date, discussions)"]
    where = f"{day.isoformat()} ({cid})"
    problems = []
    if doc.get("market_id") != market_id:
        problems.append(f"{where}: a snapshot of market {doc.get('market_id')}, not this one")
    if doc.get("discussions_count") != len(comments):
        problems.append(
            f"{where}: discussions_count {doc.get('discussions_count')} but "
            f"{len(comments)} comments"
        )
    start, end = format_time(q.day_bounds(day)[0]), format_time(q.day_bounds(day)[1])
    for entry in comments:
        ident = entry.get("id") if isinstance(entry, dict) else None
        why = comment_problem(entry, market_id)
        if why is not None:
            problems.append(f"{where}: comment {ident}: {why}")
        elif not (start <= str(entry.get("created_at")) < end):
            problems.append(f"{where}: comment {ident} is dated {entry.get('created_at')}")
    return day, problems


def _fetch(ipfs: IpfsBackend, cid: str) -> tuple[bytes | None, str | None]:
    try:
        parsed = CID.decode(cid)
    except Exception:
        return None, f"{cid!r} is not a CID"
    try:
        data = ipfs.cat(parsed)
    except Exception as e:  # missing block, backend down, corrupt store: all a broken link
        return None, f"{cid}: cannot be read from IPFS ({type(e).__name__}: {e})"
    if compute_cid(data, cid_version=parsed.version) != str(parsed):
        return None, f"{cid}: the content does not hash to its CID"
    return data, None


async def verify_archive(
    pool: AsyncConnectionPool, ipfs: IpfsBackend, market_id: str, *, today: date | None = None
) -> ArchiveReport:
    """Walk and check a market's archive (see the module docstring)."""
    today = today or datetime.now(UTC).date()
    report = ArchiveReport(market_id)
    async with pool.connection() as conn:
        if await q.market_state(conn, market_id) is None:
            report.problems.append(f"no market {market_id}")
            return report
        head = await q.archive_head(conn, market_id)
        anchored = {
            a["snapshot_date"]: a["ipfs_hash"]
            for a in await q.list_anchors(conn, market_id, limit=1_000_000)
        }
        commented = await q.comment_days(conn, market_id, until=today - timedelta(days=1))
    report.head = None if head is None else head["ipfs_hash"]
    chain: dict[date, str] = {}
    seen: set[str] = set()
    cid, newer = report.head, None
    while cid is not None:
        if cid in seen:
            report.problems.append(f"{cid}: the chain loops back to it")
            break
        seen.add(cid)
        data, why = await asyncio.to_thread(_fetch, ipfs, cid)
        if data is None:
            report.problems.append(f"{why} (the chain stops here)")
            break
        try:
            doc = json.loads(data)
        except ValueError:
            report.problems.append(f"{cid}: not JSON (the chain stops here)")
            break
        day, problems = _document_problems(doc, market_id, cid)
        report.problems += problems
        if day is None:
            break
        if newer is not None and day >= newer:
            report.problems.append(
                f"{day.isoformat()} ({cid}) is linked from {newer.isoformat()}: "
                "days must strictly decrease"
            )
        if anchored.get(day) != cid:
            what = anchored.get(day) or "no snapshot"
            report.problems.append(
                f"{day.isoformat()}: the chain has {cid}, the database anchors {what}"
            )
        chain.setdefault(day, cid)
        report.days.append((day, cid, len(doc["discussions"])))
        newer = day
        previous = doc.get("previous")  # absent in documents older than the chain: its start
        if previous is not None and not isinstance(previous, str):
            report.problems.append(f"{day.isoformat()} ({cid}): previous is not a CID")
            break
        cid = previous
    for day, anchor in sorted(anchored.items(), reverse=True):
        if day not in chain:
            report.problems.append(
                f"{day.isoformat()}: snapshot {anchor} is not in the chain (dropped from it)"
            )
    first = min([*chain, *anchored], default=None)
    for day, count in sorted(commented.items(), reverse=True):
        if first is not None and day >= first and day not in chain and day not in anchored:
            report.problems.append(
                f"{day.isoformat()}: {count} comments in the database, no snapshot in the chain"
            )
    if head is None and commented:
        days = ", ".join(d.isoformat() for d in sorted(commented))
        report.problems.append(f"no snapshot at all, but comments on {days}")
    return report


def verify_archive_command(
    market_id: Annotated[str, typer.Argument(help="The market's id (64 hex digits).")],
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Walk a market's discussion archive on IPFS from its latest CID back to its first
    snapshot: check every CID, every comment's signature and the chain of links (one snapshot
    per day with comments, none dropped or rewritten). Exit 0 when all holds, 1 with one line
    per problem. IPFS: IPFS_API_URL, PINNING_SERVICE_URL or the embedded store in DATA_DIR."""
    market_id = market_id.strip().lower()
    if len(market_id) != 64 or any(c not in "0123456789abcdef" for c in market_id):
        raise typer.BadParameter(f"not a market id (64 hex digits): {market_id!r}")
    from hybridmarket import logs

    logs.configure("warning")
    report = run_cli(_run(cli_settings(data_dir), market_id))
    if as_json:
        out = {
            "market_id": report.market_id,
            "latest_cid": report.head,
            "days": [{"date": d.isoformat(), "cid": c, "comments": n} for d, c, n in report.days],
            "problems": report.problems,
        }
        typer.echo(json.dumps(out, indent=2))
    else:
        for day, cid, n in report.days:
            typer.echo(f"{day.isoformat()} {cid} {n}")
        for p in report.problems:
            typer.echo(f"PROBLEM {p}", err=True)
        verdict = "ok" if not report.problems else f"{len(report.problems)} problems"
        typer.echo(f"archive of {market_id}: {len(report.days)} days, {verdict}")
    if report.problems:
        raise typer.Exit(1)


async def _run(settings: Settings, market_id: str) -> ArchiveReport:
    from hybridmarket import bootstrap

    async with bootstrap.open_context(settings, name="verify-archive", pool_size=2) as ctx:
        return await verify_archive(ctx.pool, ctx.ipfs, market_id)
