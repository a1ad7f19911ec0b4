"""Backups: an archive of a live deployment (embedded PostgreSQL, a running validator, IPFS
blocks, keys), restored into a fresh data directory, gives back identical data."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import psycopg
import pytest

from hybridmarket.backup import BackupError, backup, prune, restore
from hybridmarket.chain import ChainClient
from hybridmarket.db.connect import make_pool
from hybridmarket.db.embedded import EmbeddedPostgres
from hybridmarket.db.migrate import migrate
from hybridmarket.db.schema import EXPECTED_TABLES
from hybridmarket.indexer.service import Indexer
from hybridmarket.ipfs.backends import EmbeddedBackend
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.settings import Settings

from ..dbtools import embedded_dir
from .localnet_fixtures import running_validator
from .test_indexer import lifecycle

pytestmark = pytest.mark.integration


def _settings(data_dir: Path) -> Settings:
    return Settings(HYBRIDMARKET_DATA_DIR=data_dir, DATABASE_URL=None)


def _table_digests(url: str) -> dict[str, tuple[int, str]]:
    out = {}
    with psycopg.connect(url) as c:
        for table in sorted(EXPECTED_TABLES):
            if table == "schema_migrations":
                continue
            row = c.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t"
            ).fetchone()
            assert row is not None
            out[table] = (int(row[0]), str(row[1]))
    return out


async def _chain_state(v: LocalValidator) -> tuple[list[str], list[tuple[str, bytes]]]:
    async with ChainClient(v.rpc_url) as c:
        sigs = [s for s, *_ in await c.signatures_for_program(limit=1000)]
        markets = sorted((str(k), bytes(m.market_id)) for k, m in await c.list_markets())
    return sigs, markets


async def test_backup_then_restore_gives_identical_data() -> None:
    with embedded_dir() as d:
        await _backup_then_restore(d / "a", d / "b")


async def _backup_then_restore(a: Path, b: Path) -> None:
    with EmbeddedPostgres(a / "postgres") as pg:
        migrate(pg.uri)
        cid = EmbeddedBackend(a / "ipfs").add(b"evidence document")
        async with running_validator(a / "ledger") as v:
            async with ChainClient(v.rpc_url) as client:
                await lifecycle(v, client, b"backed up", dispute=False)
                async with make_pool(pg.uri, max_size=2) as pool:
                    await Indexer(pool, client).sync()
            (a / "keys").mkdir()
            (a / "keys" / "backend-authority.json").write_text("[1]")
            (a / "keys" / "backend-authority.json").chmod(0o600)
            # Taken while the validator runs and the database is up.
            archive = backup(_settings(a))
            before_chain = await _chain_state(v)
        before_db = _table_digests(pg.uri)
    assert before_db["markets"][0] == 1 and before_db["trades"][0] > 0
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"database.dump", "ledger/ledger.sqlite", "manifest.json", "ipfs"} <= names

    manifest = restore(_settings(b), archive)
    assert manifest["schema_version"] >= 1
    with EmbeddedPostgres(b / "postgres") as pg_b:
        assert _table_digests(pg_b.uri) == before_db
    async with running_validator(b / "ledger") as v2:
        assert await _chain_state(v2) == before_chain
    assert EmbeddedBackend(b / "ipfs").cat(cid) == b"evidence document"
    assert (b / "keys" / "backend-authority.json").stat().st_mode & 0o777 == 0o600

    # A data directory that holds data is not overwritten by accident.
    with pytest.raises(BackupError, match="already holds"):
        restore(_settings(b), archive)


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (tmp_path / f"hybridmarket-{stamp}.tar.gz").write_bytes(b"x")
    removed = prune(tmp_path, 2)
    assert [p.name for p in removed] == ["hybridmarket-20260101T000000Z.tar.gz"]
    assert len(list(tmp_path.glob("*.tar.gz"))) == 2


def test_restore_cli_refuses_a_missing_archive(tmp_path: Path) -> None:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hybridmarket",
            "restore",
            str(tmp_path / "nope.tar.gz"),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1 and "no such archive" in r.stderr and "Traceback" not in r.stderr


async def test_worker_backup_job_keeps_the_newest(tmp_path: Path, db_url: str) -> None:
    import asyncio

    async with running_validator(tmp_path / "ledger") as v:
        env = {
            "DATABASE_URL": db_url,
            "SOLANA_RPC_URL": v.rpc_url,
            "HYBRIDMARKET_DATA_DIR": str(tmp_path),
            "BACKEND_KEYPAIR_FILE": str(v.key_paths["backend_authority"]),
            "BACKUP_RETENTION": "1",
        }
        import os

        for _ in range(2):
            r = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "hybridmarket", "worker", "--run-once", "backups"],
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                check=False,
            )
            assert r.returncode == 0, r.stderr
            await asyncio.sleep(1.1)  # archives are named by the second
    archives = sorted((tmp_path / "backups").glob("hybridmarket-*.tar.gz"))
    assert len(archives) == 1
    with tarfile.open(archives[0]) as tar:
        assert {"database.dump", "ledger/ledger.sqlite", "manifest.json"} <= set(tar.getnames())
