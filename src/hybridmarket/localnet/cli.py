"""`hybridmarket localnet`: run the embedded validator in the foreground.

Like `solana-test-validator`: JSON-RPC on 127.0.0.1:8899, WebSocket on the next port, ledger
under `.hybridmarket/ledger`. Prints the program id, the URLs and where the key files are.
With `--ready-file`, writes the same information as JSON once serving (used by
`ValidatorProcess`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from hybridmarket.localnet.validator import DEFAULT_LEDGER, DEFAULT_RPC_PORT, LocalValidator

app = typer.Typer(add_completion=False, help="Run the embedded Solana validator.")


async def run_localnet(
    ledger: Path = DEFAULT_LEDGER,
    *,
    rpc_port: int = DEFAULT_RPC_PORT,
    ws_port: int | None = None,
    bind_address: str = "127.0.0.1",
    reset: bool = False,
    slot_ms: int = 400,
    finalize_depth: int = 32,
    enable_test_controls: bool = False,
    config: Path | None = None,
    admin_keypair: Path | None = None,
    backend_keypair: Path | None = None,
    ready_file: Path | None = None,
    quiet: bool = False,
    program: bool = True,
) -> None:
    """Start the validator and serve until SIGINT/SIGTERM; then stop cleanly."""
    validator = LocalValidator(
        ledger,
        host=bind_address,
        rpc_port=rpc_port,
        ws_port=ws_port,
        reset=reset,
        slot_ms=slot_ms,
        finalize_depth=finalize_depth,
        enable_test_controls=enable_test_controls,
        config_file=config,
        admin_keypair=admin_keypair,
        backend_keypair=backend_keypair,
        program=program,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with validator:
        info = validator.info()
        if not quiet:
            if program:
                print(f"Program Id: {info['program_id']}")
            else:
                print("Program: none (deploy one with `hybridmarket deploy --url RPC_URL ...`)")
            print(f"Ledger location: {info['ledger']}")
            print(f"JSON RPC URL: {info['rpc_url']}")
            print(f"WebSocket PubSub URL: {info['ws_url']}")
            for name, path in info["keys"].items():
                print(f"{name.replace('_', ' ').title()} keypair: {path}")
            if enable_test_controls:
                print("Test controls: ENABLED (hybridmarket_* methods)")
            print(f"Genesis hash: {info['genesis_hash']}", flush=True)
        if ready_file is not None:
            tmp = ready_file.with_suffix(ready_file.suffix + ".tmp")
            tmp.write_text(json.dumps({**info, "pid": os.getpid()}))
            tmp.replace(ready_file)
        waiter = asyncio.create_task(stop.wait())
        assert validator._slot_task is not None
        await asyncio.wait({waiter, validator._slot_task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if validator.fatal is not None:
            raise SystemExit(f"validator failed: {validator.fatal}")


@app.command("localnet")
def localnet(
    ledger: Annotated[Path, typer.Option("--ledger", help="Ledger directory.")] = DEFAULT_LEDGER,
    rpc_port: Annotated[
        int, typer.Option("--rpc-port", help="JSON-RPC port; WebSocket is rpc-port+1.")
    ] = DEFAULT_RPC_PORT,
    reset: Annotated[bool, typer.Option("--reset", help="Start from a fresh ledger.")] = False,
    ws_port: Annotated[
        int | None, typer.Option("--ws-port", help="WebSocket port (default rpc-port+1).")
    ] = None,
    bind_address: Annotated[str, typer.Option("--bind-address")] = "127.0.0.1",
    slot_ms: Annotated[int, typer.Option("--slot-ms", help="Slot duration.")] = 400,
    finalize_depth: Annotated[
        int, typer.Option("--finalize-depth", help="Slots between confirmed and finalized.")
    ] = 32,
    enable_test_controls: Annotated[
        bool,
        typer.Option("--enable-test-controls", help="Enable hybridmarket_* test-only methods."),
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="GlobalConfig parameters (TOML or JSON).")
    ] = None,
    admin_keypair: Annotated[Path | None, typer.Option("--admin-keypair")] = None,
    backend_keypair: Annotated[Path | None, typer.Option("--backend-keypair")] = None,
    no_program: Annotated[
        bool,
        typer.Option(
            "--no-program",
            help="Start a fresh ledger without the program (for `hybridmarket deploy`).",
        ),
    ] = False,
    ready_file: Annotated[Path | None, typer.Option("--ready-file", hidden=True)] = None,
    quiet: Annotated[bool, typer.Option("--quiet")] = False,
    log_level: Annotated[str, typer.Option("--log-level")] = "WARNING",
) -> None:
    """Run the embedded local Solana validator (JSON-RPC + WebSocket) in the foreground."""
    from hybridmarket.localnet.store import LedgerVersionError

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(
            run_localnet(
                ledger,
                rpc_port=rpc_port,
                ws_port=ws_port,
                bind_address=bind_address,
                reset=reset,
                slot_ms=slot_ms,
                finalize_depth=finalize_depth,
                enable_test_controls=enable_test_controls,
                config=config,
                admin_keypair=admin_keypair,
                backend_keypair=backend_keypair,
                ready_file=ready_file,
                quiet=quiet,
                program=not no_program,
            )
        )
    except LedgerVersionError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None


def main() -> None:
    app()
