"""`hybridmarket snapshot --date YYYY-MM-DD`: archive one past UTC day of discussions on IPFS
now, as the worker's daily job does (`hybridmarket.worker.snapshots`)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import typer

from hybridmarket.cli_support import DataDir, cli_settings, run_cli
from hybridmarket.settings import Settings


def _progress() -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A rich progress bar on a terminal; a line every few seconds otherwise."""
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        bar = Progress(
            TextColumn("snapshots"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        task = bar.add_task("snapshots", total=None)
        bar.start()

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return update, bar.stop
    last = [0.0]

    def line(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] > 5:
            last[0] = now
            typer.echo(f"snapshot: {done}/{total} markets", err=True)

    return line, lambda: None


def snapshot(
    day: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="The UTC day to archive, YYYY-MM-DD (default: yesterday, UTC). Must be over.",
        ),
    ] = None,
    data_dir: DataDir = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=64, help="Uploads in flight.")
    ] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Archive one UTC day of discussions on IPFS: one canonical JSON document per market in
    ACTIVE, RESOLVING or DISPUTED with comments that day, with each comment's signed message
    and signature; the CID goes to ipfs_anchors.

    Idempotent: markets already archived for the day are skipped, so rerunning a day finishes
    what failed and otherwise does nothing. IPFS: IPFS_API_URL (Kubo RPC), PINNING_SERVICE_URL
    + PINNING_SERVICE_TOKEN, or the embedded store in DATA_DIR/ipfs. Exits 1 if an upload
    failed.
    """
    today = datetime.now(UTC).date()
    if day is None:
        target = today - timedelta(days=1)
    else:
        try:
            target = date.fromisoformat(day)
        except ValueError:
            raise typer.BadParameter(f"not a date (YYYY-MM-DD): {day!r}") from None
        if len(day) != 10:
            raise typer.BadParameter(f"not a date (YYYY-MM-DD): {day!r}")
    if target >= today:
        raise typer.BadParameter(
            f"{target.isoformat()} (UTC) is not over yet; archive a past day", param_hint="--date"
        )
    from hybridmarket import logs

    logs.configure("warning")
    summary = run_cli(_run(cli_settings(data_dir), target, concurrency, quiet=as_json))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(
            f"snapshot of {summary['date']}: {summary['snapshotted']} markets archived "
            f"({summary['comments']} comments, {summary['bytes']} bytes), "
            f"{summary['already_snapshotted']} already archived, {summary['failed']} failed"
        )
        for e in summary["errors"]:
            typer.echo(f"  FAILED {e['market_id']}: {e['error']}", err=True)
    if summary["failed"]:
        raise typer.Exit(1)


async def _run(settings: Settings, day: date, concurrency: int, *, quiet: bool) -> dict[str, Any]:
    from hybridmarket import bootstrap
    from hybridmarket.worker.snapshots import DayNotOver, snapshot_day

    update, done = _progress()

    def archived(market_id: str, cid: str, count: int) -> None:
        if not quiet:
            typer.echo(f"{market_id} {cid} {count}")

    try:
        async with bootstrap.open_context(
            settings, name="snapshot", pool_size=concurrency + 2
        ) as ctx:
            return await snapshot_day(
                ctx.pool,
                ctx.ipfs,
                day,
                progress=update,
                concurrency=concurrency,
                on_snapshot=archived,
            )
    except DayNotOver as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    finally:
        done()
