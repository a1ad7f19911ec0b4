"""The `hybridmarket` command: one entry point for every part of the system."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Annotated

import typer

from hybridmarket import __version__
from hybridmarket.api import cli as _api_cli
from hybridmarket.chain.deploy_cli import deploy as _deploy_command
from hybridmarket.cli_support import DataDir, cli_settings
from hybridmarket.indexer import cli as _indexer_cli
from hybridmarket.ipfs.cli import app as _ipfs_app
from hybridmarket.localnet.cli import localnet as _localnet_command
from hybridmarket.worker import archive_cli as _archive_cli
from hybridmarket.worker import cli as _worker_cli
from hybridmarket.worker import snapshot_cli as _snapshot_cli

app = typer.Typer(
    name="hybridmarket",
    help="A binary prediction market: Solana for the critical state, PostgreSQL for the rest.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """A binary prediction market: Solana for the critical state, PostgreSQL for the rest."""


@app.command()
def idl(
    program_id: Annotated[
        str | None,
        typer.Option(
            "--program-id", help="Program address to put in the IDL (default: the model's)."
        ),
    ] = None,
) -> None:
    """Print the program's Anchor IDL (0.30+ spec JSON), generated from the program model."""
    from solders.pubkey import Pubkey

    from hybridmarket.program.idl import idl_json
    from hybridmarket.program.ids import PROGRAM_ID

    pid = PROGRAM_ID
    if program_id:
        try:
            pid = Pubkey.from_string(program_id)
        except ValueError:
            raise typer.BadParameter(f"not a base58 public key: {program_id!r}") from None
    typer.echo(idl_json(pid), nl=False)


@app.command()
def up(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Where every part keeps its data [default: .hybridmarket]."
        ),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the data and start from scratch.")
    ] = False,
    rpc_port: Annotated[
        int, typer.Option("--rpc-port", help="Validator JSON-RPC port (WebSocket is +1).")
    ] = 8899,
    port: Annotated[int, typer.Option("--port", help="API and web UI port.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Seed a fresh data directory with a demo market world (then keep it lively).",
        ),
    ] = False,
) -> None:
    """Start the whole system on embedded defaults; Ctrl-C stops every part cleanly.

    PostgreSQL (embedded under DATA_DIR/postgres unless DATABASE_URL is set), migrated; the
    local Solana validator (DATA_DIR/ledger, unless SOLANA_RPC_URL is set); the worker (indexer,
    aggregators, monitor, reconciler, snapshots); the API and the web UI on 127.0.0.1:PORT.
    Running it again keeps all data; --reset starts over.
    """
    from hybridmarket.up import run_up

    settings = cli_settings(data_dir)
    settings.rpc_port = rpc_port
    settings.api_port = port
    if reset and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    typer.echo(f"hybridmarket {__version__}: data in {settings.data_dir.resolve()}")
    asyncio.run(run_up(settings, demo=demo))


app.command("localnet", help="Run the embedded local Solana validator (JSON-RPC + WebSocket).")(
    _localnet_command
)

app.add_typer(_ipfs_app, name="ipfs", help="Add and read content with Kubo-identical CIDs.")
app.command("migrate")(_indexer_cli.migrate)
app.command("indexer")(_indexer_cli.indexer)
app.command("reconcile")(_indexer_cli.reconcile)
app.command("worker")(_worker_cli.worker)
app.command("verify-tally")(_worker_cli.verify_tally)
app.command("snapshot")(_snapshot_cli.snapshot)
app.command("verify-archive")(_archive_cli.verify_archive_command)
app.command("api")(_api_cli.api)
app.command("deploy")(_deploy_command)


@app.command("backup")
def backup_command(
    data_dir: DataDir = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Directory for the archive [DATA_DIR/backups]")
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option("--keep", min=1, help="Then keep only the newest N archives there."),
    ] = None,
) -> None:
    """Write a consistent, timestamped archive: database (pg_dump), ledger, IPFS blocks, keys."""
    from hybridmarket.backup import BackupError, backup, prune

    settings = cli_settings(data_dir)
    try:
        archive = backup(settings, output, progress=lambda m: typer.echo(f"  {m}", err=True))
    except BackupError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(str(archive))
    if keep:
        for old in prune(archive.parent, keep):
            typer.echo(f"  removed {old.name}", err=True)


@app.command("restore")
def restore_command(
    archive: Annotated[Path, typer.Argument(help="An archive written by `hybridmarket backup`.")],
    data_dir: DataDir = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace the ledger, IPFS blocks and keys already there."),
    ] = False,
) -> None:
    """Bring a data directory (and its database) back from a backup archive."""
    from hybridmarket.backup import BackupError, restore

    settings = cli_settings(data_dir)
    try:
        manifest = restore(
            settings, archive, force=force, progress=lambda m: typer.echo(f"  {m}", err=True)
        )
    except BackupError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"restored {archive.name} (taken {manifest['created_at']}) into {settings.data_dir}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
