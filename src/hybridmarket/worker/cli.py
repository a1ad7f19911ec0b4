"""`hybridmarket worker` and `hybridmarket verify-tally`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from hybridmarket.cli_support import DataDir, cli_settings, run_cli
from hybridmarket.settings import Settings


def worker(
    data_dir: DataDir = None,
    run_once: Annotated[
        str | None,
        typer.Option(
            "--run-once",
            help="Run one job now and exit: proposals, disputes, monitor, reconcile, tallies "
            "(the recount of the kept vote counts), snapshots or backups.",
        ),
    ] = None,
    no_indexer: Annotated[
        bool, typer.Option("--no-indexer", help="Do not run the indexer in this process.")
    ] = False,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Serve Prometheus metrics on this port.")
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size", min=1, max=10_000, help="The indexer's transactions per DB batch."
        ),
    ] = 2000,
) -> None:
    """Run the backend services: indexer, aggregators, monitor, reconciler, snapshots, backups.

    Jobs run on cron schedules (UTC; CRON_PROPOSALS, CRON_DISPUTES, CRON_MONITOR, CRON_RECONCILE,
    CRON_SNAPSHOTS, CRON_BACKUPS; the vote tallies' recount runs with CRON_RECONCILE); several
    replicas may run at once: each job runs once per tick. The backend key comes
    from BACKEND_KEYPAIR, Vault (VAULT_ADDR + BACKEND_KEYPAIR_VAULT_PATH) or the key file
    DATA_DIR/keys/backend-authority.json (BACKEND_KEYPAIR_FILE), created on first run.
    SIGTERM finishes the job in hand, then exits.
    """
    from hybridmarket import logs
    from hybridmarket.worker.runner import JOB_NAMES

    if run_once is not None and run_once not in JOB_NAMES:
        raise typer.BadParameter(f"unknown job {run_once!r}; one of: {', '.join(JOB_NAMES)}")
    logs.configure()
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    summary = run_cli(_run(cli_settings(data_dir), run_once, not no_indexer, batch_size))
    if summary is not None:
        typer.echo(json.dumps(summary, indent=2, default=str))


async def _run(
    settings: Settings, once: str | None, with_indexer: bool, batch_size: int
) -> dict[str, Any] | None:
    from hybridmarket import bootstrap
    from hybridmarket.worker.runner import stop_on_signals

    async with bootstrap.open_context(settings, name="worker") as ctx:
        w = bootstrap.worker(ctx, batch_size=batch_size)
        if once is not None:
            return await w.run_once(once)
        async with stop_on_signals() as stop:
            await w.run(stop, with_indexer=with_indexer)
    return None


def verify_tally(
    market_id: Annotated[str, typer.Argument(help="The market id (64 hex digits).")],
    data_dir: DataDir = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="proposal or dispute (default: every tally posted)."),
    ] = None,
) -> None:
    """Recount a market's votes from the chain and check the posted tallies.

    Reads the VoteRecord accounts (getProgramAccounts with a memcmp filter on the market),
    compares the recount with the counts stored on chain and with the published tally document
    (sha256 and IPFS content). Exits 0 when all agree; prints every difference otherwise.
    """
    if len(market_id) != 64 or any(c not in "0123456789abcdef" for c in market_id):
        raise typer.BadParameter(f"not a market id (64 lowercase hex digits): {market_id!r}")
    if kind not in (None, "proposal", "dispute"):
        raise typer.BadParameter("--kind must be proposal or dispute")
    results = run_cli(_verify(cli_settings(data_dir), market_id, kind))
    failed = False
    for v in results:
        head = f"{v.kind}: chain recount {v.chain_recount[0]} yes / {v.chain_recount[1]} no"
        if v.posted is not None:
            head += f"; posted on chain {v.posted[0]} / {v.posted[1]}"
        if v.published is not None:
            head += f"; published {v.published[0]} / {v.published[1]} ({v.cid})"
        typer.echo(head)
        for d in v.differences:
            typer.echo(f"  DIFFERENCE: {d}")
        failed |= not v.ok
    typer.echo("all agree" if not failed else "tallies do NOT agree")
    if failed:
        raise typer.Exit(1)


async def _verify(settings: Settings, market_id: str, kind: str | None) -> list[Any]:
    from hybridmarket import bootstrap
    from hybridmarket.db.queries import jobs as q_jobs
    from hybridmarket.worker import tally

    out = []
    async with bootstrap.open_context(settings, name="verify", pool_size=2) as ctx:
        kinds = [kind] if kind else ["proposal", "dispute"]
        market = await ctx.client.get_market(bytes.fromhex(market_id))
        if kind is None and market is not None and market.dispute_initiated_at == 0:
            kinds = ["proposal"]
        for k in kinds:
            async with ctx.pool.connection() as conn:
                published = await q_jobs.latest_tally(conn, market_id, k)
            out.append(await tally.verify(ctx.client, market_id, k, published, ctx.ipfs))
    return out
