"""Backups of a whole deployment and their restoration (the seed's production checklist).

An archive (`hybridmarket-<UTC time>.tar.gz`) holds:
- `database.dump`: `pg_dump --format=custom` of the database (a consistent snapshot);
- `ledger/`: the validator's SQLite ledger through SQLite's online backup API (consistent even
  while the validator writes) and its key files, when the chain is the embedded one;
- `ipfs/`: the embedded block store (content-addressed files: a copy is consistent);
- `keys/`: the backend authority key file (0600, like the original);
- `manifest.json`: versions, schema version, what is inside, sizes.

The database is dumped before the ledger is copied, so a restored ledger is never behind the
database: after a restore the indexer simply catches up from its cursor.

`pg_dump`/`pg_restore` come from the pgserver wheel (PostgreSQL 16 client tools, which also
handle older servers such as a DATABASE_URL on PostgreSQL 15).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hybridmarket import __version__
from hybridmarket.settings import Settings

Progress = Callable[[str], None]
LEDGER_FILE = "ledger.sqlite"
_LEDGER_SKIP = {"ready.json", "validator.log"}


class BackupError(RuntimeError):
    pass


def pg_tool(name: str) -> str:
    import pgserver

    path = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found (neither in the pgserver wheel nor on PATH)")
    return found


def _run(args: list[str]) -> None:
    r = subprocess.run(args, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {r.stderr.strip()[-2000:]}")


def _copy_sqlite(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def backup(
    settings: Settings, output_dir: Path | None = None, *, progress: Progress = lambda _m: None
) -> Path:
    """Write a backup archive; returns its path."""
    from hybridmarket.db.connect import database
    from hybridmarket.db.migrate import check

    data = settings.data_dir
    out = output_dir or data / "backups"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    archive = out / f"hybridmarket-{stamp}.tar.gz"
    manifest: dict[str, Any] = {"hybridmarket": __version__, "created_at": stamp, "parts": {}}
    with tempfile.TemporaryDirectory(dir=out, prefix=".backup-") as tmp_s:
        tmp = Path(tmp_s)
        progress("database: pg_dump")
        with database(settings) as url:
            import psycopg

            with psycopg.connect(url) as conn:
                manifest["schema_version"] = check(conn)
            # The schema comes back from the migrations; the dump carries the data.
            _run(
                [
                    pg_tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--exclude-table-data=schema_migrations",
                    "--file",
                    str(tmp / "database.dump"),
                    url,
                ]
            )
        manifest["parts"]["database"] = (tmp / "database.dump").stat().st_size
        ledger = data / "ledger"
        if (ledger / LEDGER_FILE).exists():
            progress("ledger: SQLite online backup")
            _copy_sqlite(ledger / LEDGER_FILE, tmp / "ledger" / LEDGER_FILE)
            for f in ledger.glob("*.json"):
                if f.name not in _LEDGER_SKIP:
                    shutil.copy2(f, tmp / "ledger" / f.name)
            manifest["parts"]["ledger"] = (tmp / "ledger" / LEDGER_FILE).stat().st_size
        for part in ("ipfs", "keys"):
            if (data / part).exists():
                progress(f"{part}: copy")
                shutil.copytree(data / part, tmp / part)
                manifest["parts"][part] = sum(
                    p.stat().st_size for p in (tmp / part).rglob("*") if p.is_file()
                )
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        progress(f"archive: {archive.name}")
        partial = archive.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            for p in sorted(tmp.iterdir()):
                tar.add(p, arcname=p.name)
        os.replace(partial, archive)
    return archive


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives in `directory`; returns the deleted ones."""
    archives = sorted(directory.glob("hybridmarket-*.tar.gz"))
    doomed = archives[:-keep] if keep > 0 else archives
    for p in doomed:
        p.unlink()
    return doomed


def restore(
    settings: Settings, archive: Path, *, force: bool = False, progress: Progress = lambda _m: None
) -> dict[str, Any]:
    """Bring a data directory (and the database) back from an archive."""
    from hybridmarket.db import migrate
    from hybridmarket.db.connect import database
    from hybridmarket.db.schema import verify

    data = settings.data_dir
    if not archive.is_file():
        raise BackupError(f"no such archive: {archive}")
    existing = [p for p in ("postgres", "ledger", "ipfs", "keys") if (data / p).exists()]
    if existing and not force:
        raise BackupError(
            f"{data} already holds {', '.join(existing)}: restore into an empty data directory, "
            "or pass --force to replace them"
        )
    with tempfile.TemporaryDirectory(prefix="hm-restore-") as tmp_s:
        tmp = Path(tmp_s)
        progress("archive: extract")
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(tmp, filter="data")
        manifest: dict[str, Any] = json.loads((tmp / "manifest.json").read_text())
        for part in existing:
            shutil.rmtree(data / part)
        data.mkdir(parents=True, exist_ok=True)
        for part in ("ledger", "ipfs", "keys"):
            if (tmp / part).exists():
                progress(f"{part}: restore")
                shutil.copytree(tmp / part, data / part)
        progress("database: schema, then pg_restore of the data")
        with database(settings) as url:
            import psycopg

            with psycopg.connect(url) as conn:
                if migrate.applied(conn):
                    raise BackupError(
                        "the database is not empty: restore into a fresh database "
                        "(drop and recreate it, or unset DATABASE_URL for the embedded one)"
                    )
            migrate.migrate(url, target=int(manifest["schema_version"]))
            _run(
                [
                    pg_tool("pg_restore"),
                    "--data-only",
                    "--single-transaction",
                    "--exit-on-error",
                    "--no-owner",
                    "--dbname",
                    url,
                    str(tmp / "database.dump"),
                ]
            )
            migrate.migrate(url)
            verify(url)
    return manifest
