"""What every `hybridmarket` service command shares: the `--data-dir` option, the settings
read from the environment (a bad variable is one line per error and exit code 2), and running a
command's coroutine (an expected failure is one line and exit code 1)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from hybridmarket.settings import Settings, settings_errors

T = TypeVar("T")
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (embedded PostgreSQL lives in DATA_DIR/postgres). "
        "Default: $HYBRIDMARKET_DATA_DIR or .hybridmarket",
    ),
]


def run_cli(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; expected failures become one clear line and exit code 1."""
    import psycopg

    from hybridmarket.chain.errors import ChainError
    from hybridmarket.db.migrate import MigrationError
    from hybridmarket.db.schema import SchemaMismatch

    try:
        return asyncio.run(coro)
    except (MigrationError, SchemaMismatch, ChainError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    except psycopg.OperationalError as e:
        typer.echo(f"error: cannot use the database: {str(e).strip()}", err=True)
        raise typer.Exit(1) from None


def cli_settings(data_dir: Path | None) -> Settings:
    """The settings from the environment; a bad variable is one line per error and exit code 2."""
    from pydantic import ValidationError

    try:
        s = Settings()
    except ValidationError as e:
        for line in settings_errors(e):
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None
    if data_dir is not None:
        s.data_dir = data_dir
    return s
