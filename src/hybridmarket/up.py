"""`hybridmarket up`: every part of the system in one command, in order, with a health check
between steps and one line per part. Ctrl-C (SIGINT/SIGTERM) stops them all; data stays in the
data directory for the next run.

Parts, each embedded unless configured: PostgreSQL (DATABASE_URL), migrated to the code's
schema; the Solana validator as a child process (SOLANA_RPC_URL); the worker (indexer,
aggregators, monitor, reconciler).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from contextlib import AsyncExitStack, ExitStack

import typer

from hybridmarket.settings import Settings


def _line(part: str, status: str, where: str = "") -> None:
    typer.echo(f"  {part:<12} {status:<9} {where}".rstrip())


async def run_up(settings: Settings) -> None:
    from hybridmarket import logs
    from hybridmarket.authority import FileKeySource, backend_key_source
    from hybridmarket.chain.client import ChainClient
    from hybridmarket.context import Context
    from hybridmarket.db.connect import database, make_pool
    from hybridmarket.db.migrate import migrate
    from hybridmarket.db.schema import verify
    from hybridmarket.localnet.process import ValidatorProcess
    from hybridmarket.signals import redis_publisher
    from hybridmarket.worker.runner import JOB_NAMES, Worker

    logs.configure("warning")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    with ExitStack() as sync_stack:
        url = sync_stack.enter_context(database(settings))
        applied = migrate(url)
        verify(url)
        _line(
            "postgres",
            "ready",
            "DATABASE_URL"
            if settings.database_url
            else f"embedded, {settings.data_dir / 'postgres'}",
        )
        if applied:
            _line("", "", f"migrated: {', '.join(f'{m.version:04d}_{m.name}' for m in applied)}")

        rpc_url, ws_url = settings.rpc_url(), settings.ws_url()
        key_source = backend_key_source(settings.data_dir)
        signer = key_source.load()
        if settings.solana_rpc_url is None:
            extra: tuple[str, ...] = ()
            if isinstance(key_source, FileKeySource):
                # The embedded chain's backend authority is the worker's key.
                extra = ("--backend-keypair", str(key_source.path))
            proc = ValidatorProcess(
                settings.data_dir / "ledger", rpc_port=settings.rpc_port, extra_args=extra
            )
            await asyncio.to_thread(proc.start)
            sync_stack.callback(proc.stop)
            rpc_url, ws_url = proc.rpc_url, proc.ws_url
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(ChainClient(rpc_url))
            if not await client.is_healthy():
                raise typer.Exit(_fail(f"the Solana RPC at {rpc_url} is not healthy"))
            _line("validator", "ready", f"{rpc_url}  (WebSocket {ws_url})")
            pool = await stack.enter_async_context(make_pool(url, max_size=settings.db_pool_size))
            publish = await stack.enter_async_context(redis_publisher(settings.redis_url))
            ctx = Context(settings, url, pool, client)
            worker = Worker(ctx, ws_url=ws_url, signer=signer)
            worker.indexer.publish = publish
            first = await worker.indexer.sync()
            _line("indexer", "ready", f"synced to slot {first.synced_slot}, following live")
            _line(
                "worker",
                "ready",
                f"backend authority {signer.pubkey()}; jobs: {', '.join(JOB_NAMES)}",
            )
            typer.echo("Running. Ctrl-C stops every part.")
            await worker.run(stop)
    typer.echo("Stopped; data kept in " + str(settings.data_dir.resolve()))


def _fail(msg: str) -> int:
    typer.echo(f"error: {msg}", err=True)
    return 1
