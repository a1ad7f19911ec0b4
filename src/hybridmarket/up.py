"""`hybridmarket up`: every part of the system in one command, in order, with a health check
between steps and one line per part. Ctrl-C (SIGINT/SIGTERM) stops them all; data stays in the
data directory for the next run.

Parts, each embedded unless configured: PostgreSQL (DATABASE_URL), migrated to the code's
schema; the Solana validator as a child process (SOLANA_RPC_URL); the worker (indexer,
aggregators, monitor, reconciler, snapshots); the API with the web UI. With `--demo`, a fresh
data directory is first seeded with a believable market world through the real path, and a
light trickle of trades and comments keeps it alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from contextlib import AsyncExitStack, ExitStack

import typer

from hybridmarket.settings import Settings

DEMO_RATE_LIMITS = "comments=300/60,markets=100/60,votes=300/60,trades=600/60"


def _line(part: str, status: str, where: str = "") -> None:
    typer.echo(f"  {part:<12} {status:<9} {where}".rstrip())


async def _wait_http(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            try:
                r = await http.get(url)
                if r.status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")
            await asyncio.sleep(0.1)


async def run_up(settings: Settings, *, demo: bool = False) -> None:
    import uvicorn

    from hybridmarket import logs
    from hybridmarket.api.app import create_app, server_config
    from hybridmarket.authority import FileKeySource, backend_key_source
    from hybridmarket.chain.client import ChainClient
    from hybridmarket.context import Context
    from hybridmarket.db.connect import database, make_pool
    from hybridmarket.db.migrate import migrate
    from hybridmarket.db.schema import verify
    from hybridmarket.localnet.process import ValidatorProcess
    from hybridmarket.program.ids import PROGRAM_ID
    from hybridmarket.signals import redis_publisher
    from hybridmarket.worker.runner import JOB_NAMES, Worker

    if settings.solana_rpc_url is None and settings.program_id != PROGRAM_ID:
        # The embedded validator deploys the program at the IDL's address only.
        raise typer.Exit(
            _fail(
                f"PROGRAM_ID={settings.program_id} needs SOLANA_RPC_URL: the embedded validator "
                f"deploys the program at {PROGRAM_ID}; unset PROGRAM_ID or point SOLANA_RPC_URL "
                "at the cluster where it is deployed"
            )
        )

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
            extra: list[str] = []
            if isinstance(key_source, FileKeySource):
                # The embedded chain's backend authority is the worker's key.
                extra += ["--backend-keypair", str(key_source.path)]
            proc = ValidatorProcess(
                settings.data_dir / "ledger",
                rpc_port=settings.rpc_port,
                # The demo moves the chain's clock to show resolutions and disputes.
                enable_test_controls=demo,
                extra_args=tuple(extra),
            )
            await asyncio.to_thread(proc.start)
            sync_stack.callback(proc.stop)
            rpc_url, ws_url = proc.rpc_url, proc.ws_url
        # Every part below shares these servers (the API must not open the embedded database a
        # second time: pgserver stops it when the last handle in a process closes).
        update: dict[str, object] = {
            "database_url": url,
            "solana_rpc_url": rpc_url,
            "solana_ws_url": ws_url,
        }
        if demo and not settings.rate_limits:
            # The demo seeds and chats from this machine: room for its bursts.
            update["rate_limits"] = DEMO_RATE_LIMITS
        shared = settings.model_copy(update=update)
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(
                ChainClient(rpc_url, program_id=settings.program_id)
            )
            if not await client.is_healthy():
                raise typer.Exit(_fail(f"the Solana RPC at {rpc_url} is not healthy"))
            _line(
                "validator",
                "ready",
                f"{rpc_url}  (WebSocket {ws_url}; program {settings.program_id})",
            )
            pool = await stack.enter_async_context(make_pool(url, max_size=settings.db_pool_size))
            publish = await stack.enter_async_context(redis_publisher(settings.redis_url))
            worker = Worker(Context(shared, url, pool, client), ws_url=ws_url, signer=signer)
            worker.indexer.publish = publish
            first = await worker.indexer.sync()
            _line("indexer", "ready", f"synced to slot {first.synced_slot}, following live")
            tasks = [asyncio.create_task(worker.run(stop))]
            _line(
                "worker",
                "ready",
                f"backend authority {signer.pubkey()}; jobs: {', '.join(JOB_NAMES)}",
            )

            server = uvicorn.Server(server_config(create_app(shared), shared))
            # uvicorn captures SIGINT/SIGTERM while it serves and re-raises them when it stops,
            # which then sets `stop` for the other parts.
            api_task = asyncio.create_task(server.serve())
            base = f"http://{settings.api_host}:{settings.api_port}"
            try:
                await _wait_http(f"{base}/api/health")
            except RuntimeError as e:
                stop.set()
                raise typer.Exit(_fail(str(e))) from None
            _line("api", "ready", f"{base}/api  (OpenAPI {base}/docs)")
            if demo:
                from hybridmarket.demo import run_demo

                tasks.append(asyncio.create_task(run_demo(shared, base, stop, progress=_line)))
            _line("web", "ready", f"{base}/")
            typer.echo(f"\nOpen {base}/ in your browser. Ctrl-C stops every part.")
            await stop.wait()
            typer.echo("Stopping...")
            server.should_exit = True
            await asyncio.gather(*tasks, api_task, return_exceptions=True)
    typer.echo("Stopped; data kept in " + str(settings.data_dir.resolve()))


def _fail(msg: str) -> int:
    typer.echo(f"error: {msg}", err=True)
    return 1
