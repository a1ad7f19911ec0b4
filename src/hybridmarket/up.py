"""`hybridmarket up`: every part of the system in one command, in order, with a health check
between steps and one line per part. Ctrl-C (SIGINT, or SIGTERM) stops them all within 5 s in
any phase (starting, seeding, running; open live streams are ended) and exits with status 0; a
second one cancels what is still stopping. Data stays in the data directory for the next run.

Parts, each embedded unless configured: PostgreSQL (DATABASE_URL), migrated to the code's
schema; the Solana validator as a child process (SOLANA_RPC_URL); the worker (indexer,
aggregators, monitor, reconciler, snapshots); the API with the web UI. With `--demo`, a fresh
data directory is first seeded with a believable market world through the real path, and a
light trickle of trades and comments keeps it alive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import subprocess
import sys
import time
from contextlib import AsyncExitStack, ExitStack
from typing import TYPE_CHECKING

import typer

from hybridmarket.settings import Settings

if TYPE_CHECKING:
    from hybridmarket.localnet.process import ValidatorProcess

DEMO_RATE_LIMITS = "comments=300/60,markets=100/60,votes=300/60,trades=600/60"
# The 5 s from SIGINT/SIGTERM to exit: the running parts get STOP_GRACE_S to finish on their own
# (the API its requests, the worker its job) before they are cancelled; then the validator gets
# VALIDATOR_STOP_S to write its open slot before it is killed; PostgreSQL's fast shutdown is last.
STOP_GRACE_S = 2.0
VALIDATOR_STOP_S = 2.0


def _line(part: str, status: str, where: str = "") -> None:
    typer.echo(f"  {part:<12} {status:<9} {where}".rstrip())


async def _wait_http(url: str, timeout: float = 60.0) -> None:
    import httpx2

    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx2.AsyncClient(timeout=5) as http:
        while True:
            try:
                r = await http.get(url)
                if r.status_code < 500:
                    return
            except httpx2.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")
            await asyncio.sleep(0.1)


async def run_up(settings: Settings, *, demo: bool = False) -> None:
    """Run every part until SIGINT or SIGTERM; returns once all of them have stopped (within
    5 s of the signal, in any phase: starting, seeding, running)."""
    from hybridmarket import logs
    from hybridmarket.program.ids import PROGRAM_ID

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
    stop, serving = asyncio.Event(), asyncio.Event()
    parts = asyncio.create_task(_run_parts(settings, demo, stop, serving))

    def on_signal() -> None:
        # While the parts start there is nothing to finish, and a second signal means now:
        # cancel, which unwinds whatever has started (the ExitStacks below).
        if stop.is_set() or not serving.is_set():
            parts.cancel()
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal)
    try:
        await parts
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if not stop.is_set() or (task is not None and task.cancelling()):
            raise  # cancelled from outside, not stopped by a signal
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    typer.echo("Stopped; data kept in " + str(settings.data_dir.resolve()))


async def _run_parts(
    settings: Settings, demo: bool, stop: asyncio.Event, serving: asyncio.Event
) -> None:
    """Start every part, set `serving`, run until `stop`, then stop them: the parts get
    STOP_GRACE_S to finish on their own, then are cancelled; the validator and PostgreSQL are
    stopped last."""
    from hybridmarket import bootstrap
    from hybridmarket.api.app import create_app, server_config
    from hybridmarket.api.cli import ApiServer
    from hybridmarket.authority import FileKeySource, backend_key_source
    from hybridmarket.db.connect import database
    from hybridmarket.db.migrate import migrate
    from hybridmarket.db.schema import verify
    from hybridmarket.localnet.process import ValidatorProcess
    from hybridmarket.worker.runner import JOB_NAMES

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
        key_source = backend_key_source(settings)
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
            starting = concurrent.futures.ThreadPoolExecutor(1, "validator-start")
            started = starting.submit(proc.start)
            starting.shutdown(wait=False)
            sync_stack.callback(_stop_validator, proc, started)
            await asyncio.wrap_future(started)
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
            ctx = await stack.enter_async_context(bootstrap.open_context(shared, name="up"))
            if not await ctx.client.is_healthy():
                raise typer.Exit(_fail(f"the Solana RPC at {rpc_url} is not healthy"))
            _line(
                "validator",
                "ready",
                f"{rpc_url}  (WebSocket {ws_url}; program {settings.program_id})",
            )
            worker = bootstrap.worker(ctx, signer=signer)
            first = await worker.indexer.sync()
            _line("indexer", "ready", f"synced to slot {first.synced_slot}, following live")
            # Whatever happens from here, no task outlives this block (it uses the pool).
            tasks: list[asyncio.Task[None]] = []
            stack.push_async_callback(_cancel, tasks)
            tasks.append(asyncio.create_task(worker.run(stop)))
            _line(
                "worker",
                "ready",
                f"backend authority {signer.pubkey()}; jobs: {', '.join(JOB_NAMES)}",
            )

            server: ApiServer | None = None
            api_child: subprocess.Popen[bytes] | None = None
            processes = api_processes(settings)
            if processes == 1:
                # SIGINT/SIGTERM are ours (run_up), not uvicorn's: it would swallow the first.
                server = ApiServer(server_config(create_app(shared), shared), handle_signals=False)
                tasks.append(asyncio.create_task(server.serve()))
            else:
                api_child = _start_api(shared, processes)
                sync_stack.callback(_stop_api, api_child)
            base = f"http://{settings.api_host}:{settings.api_port}"
            try:
                await _wait_http(f"{base}/api/health")
            except RuntimeError as e:
                raise typer.Exit(_fail(str(e))) from None
            many = f"; {processes} processes" if processes > 1 else ""
            _line("api", "ready", f"{base}/api  (OpenAPI {base}/docs{many})")
            demo_task = None
            if demo:
                from hybridmarket.demo import run_demo

                demo_task = asyncio.create_task(run_demo(shared, base, stop, progress=_line))
                tasks.append(demo_task)
            _line("web", "ready", f"{base}/")
            typer.echo(f"\nOpen {base}/ in your browser. Ctrl-C stops every part.")
            serving.set()
            await stop.wait()
            typer.echo("Stopping...")
            if demo_task is not None:
                demo_task.cancel()  # seeding starts over next time; the trickle has no end
            if server is not None:
                server.should_exit = True  # which also ends the open live streams
            if api_child is not None:
                api_child.terminate()  # uvicorn's supervisor stops its processes on SIGTERM
            await asyncio.wait(tasks, timeout=STOP_GRACE_S)


def api_processes(settings: Settings) -> int:
    """One API process per core when they can share their rate limits (REDIS_URL); else one."""
    return max(1, os.cpu_count() or 1) if settings.redis_url else 1


def _start_api(shared: Settings, processes: int) -> subprocess.Popen[bytes]:
    """`hybridmarket api --workers N` as a child, on the servers this `up` started."""
    shared.export()
    return subprocess.Popen(
        [sys.executable, "-m", "hybridmarket", "api", "--workers", str(processes)],
        stdin=subprocess.DEVNULL,
    )


def _stop_api(proc: subprocess.Popen[bytes]) -> None:
    # Its processes end their open streams within their 2 s grace, from the SIGTERM sent when
    # `up` began to stop (or now, if it stops before serving).
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _stop_validator(
    proc: ValidatorProcess, started: concurrent.futures.Future[ValidatorProcess]
) -> None:
    # A start cancelled midway goes on in its thread: let it spawn the child before stopping it.
    while proc.proc is None and not started.done():
        time.sleep(0.01)
    proc.stop(VALIDATOR_STOP_S)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _fail(msg: str) -> int:
    typer.echo(f"error: {msg}", err=True)
    return 1
