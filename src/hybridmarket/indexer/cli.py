"""`hybridmarket migrate`, `hybridmarket indexer` and `hybridmarket reconcile`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer

from hybridmarket.cli_support import DataDir, cli_settings, run_cli
from hybridmarket.settings import Settings


def migrate(data_dir: DataDir = None) -> None:
    """Apply the database migrations (DATABASE_URL, or the embedded PostgreSQL)."""
    import psycopg

    from hybridmarket.db.connect import database
    from hybridmarket.db.migrate import HEAD
    from hybridmarket.db.migrate import migrate as run_migrations

    settings = cli_settings(data_dir)
    try:
        with database(settings) as url:
            applied = run_migrations(url)
    except psycopg.OperationalError as e:
        typer.echo(f"error: cannot use the database: {str(e).strip()}", err=True)
        raise typer.Exit(1) from None
    for m in applied:
        typer.echo(f"applied {m.version:04d}_{m.name}")
    typer.echo(f"database schema at version {HEAD} ({len(applied)} applied now)")


def _progress_printer() -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A rich progress bar on a terminal; a log line every few seconds otherwise."""
    if sys.stderr.isatty():
        from rich.progress import Progress

        bar = Progress(transient=False)
        task = bar.add_task("backfill", total=None)
        started = [False]

        def update(done: int, total: int) -> None:
            if total and not started[0]:
                bar.start()
                started[0] = True
            bar.update(task, completed=done, total=total or None)

        return update, bar.stop
    last = [0.0]

    def log_line(done: int, total: int) -> None:
        now = time.monotonic()
        if total and (done == total or now - last[0] > 5):
            last[0] = now
            typer.echo(f"indexer: {done}/{total} transactions applied", err=True)

    return log_line, lambda: None


def indexer(
    data_dir: DataDir = None,
    once: Annotated[
        bool, typer.Option("--once", help="Catch up to the chain's head, then exit.")
    ] = False,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Serve Prometheus metrics on this port.")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=10_000, help="Transactions per DB batch.")
    ] = 2000,
) -> None:
    """Index the program's transactions into PostgreSQL, then follow the chain live.

    Catches up with getSignaturesForAddress from the stored cursor (a fresh database backfills
    the whole history, with a progress bar), then follows logsSubscribe at `confirmed`.

    Chain: SOLANA_RPC_URL / SOLANA_WS_URL (default: the local validator on 127.0.0.1:8899).
    Stop with Ctrl-C: the batch in hand is committed, nothing is lost.
    """
    from hybridmarket import logs

    logs.configure()
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    run_cli(_run_indexer(cli_settings(data_dir), once=once, batch_size=batch_size))


async def _run_indexer(settings: Settings, *, once: bool, batch_size: int) -> None:
    from hybridmarket import bootstrap

    update, done = _progress_printer()
    async with bootstrap.open_context(settings, name="indexer", pool_size=4) as ctx:
        ix, _ = bootstrap.indexer(ctx, ws_url=settings.ws_url(), batch_size=batch_size)
        if once:
            r = await ix.sync(progress=update)
            done()
            typer.echo(
                f"applied {r.applied} transactions ({r.events} events), "
                f"synced to slot {r.synced_slot}; {r.dead_lettered} dead-lettered"
            )
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await ix.run(stop, progress=update)
        finally:
            done()


def reconcile(
    data_dir: DataDir = None,
    market: Annotated[
        list[str] | None,
        typer.Option("--market", help="Only this market id (hex); repeatable."),
    ] = None,
    no_repair: Annotated[
        bool, typer.Option("--no-repair", help="Report discrepancies without repairing them.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check the cached markets and positions against the chain and repair them.

    Reads every market account with getMultipleAccounts in batches of 100, compares each cached
    field, records every discrepancy (reconcile_discrepancies), repairs from the chain and
    prints the counts.
    """
    from hybridmarket import logs

    for m in market or []:
        if len(m) != 64 or any(c not in "0123456789abcdef" for c in m):
            raise typer.BadParameter(f"not a market id (64 lowercase hex digits): {m!r}")
    logs.configure("warning")
    report = run_cli(_run_reconcile(cli_settings(data_dir), market, not no_repair))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(
        f"reconciliation run {report['run_id']} at slot {report['chain_slot']}: "
        f"{report['markets_checked']} markets, {report['positions_checked']} positions checked, "
        f"{report['discrepancies']} discrepancies, {report['repaired']} rows repaired"
    )
    for field, n in sorted(report["by_field"].items()):
        typer.echo(f"  {field}: {n}")


async def _run_reconcile(
    settings: Settings, markets: list[str] | None, repair: bool
) -> dict[str, Any]:
    from hybridmarket import bootstrap

    only = set(markets) if markets else None
    async with bootstrap.open_context(settings, name="reconcile", pool_size=2) as ctx:
        _, reconciler = bootstrap.indexer(ctx)
        return (await reconciler.run(only=only, repair=repair)).summary()
