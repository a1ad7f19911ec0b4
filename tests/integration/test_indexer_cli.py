"""The `migrate`, `indexer` and `reconcile` commands as a user runs them (real processes, real
validator, real PostgreSQL through DATABASE_URL): output, exit codes, clear errors."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from hybridmarket.chain import ChainClient
from hybridmarket.db.migrate import HEAD
from hybridmarket.localnet.validator import LocalValidator

from .test_indexer import lifecycle

pytestmark = pytest.mark.integration


def hm(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        [sys.executable, "-m", "hybridmarket", *args],
        check=False,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_migrate_then_nothing_to_do(empty_db_url: str) -> None:
    env = {"DATABASE_URL": empty_db_url}
    first = hm("migrate", env=env)
    assert "applied 0001_initial" in first.stdout and f"({HEAD} applied now)" in first.stdout
    again = hm("migrate", env=env)
    assert "(0 applied now)" in again.stdout


def test_clear_errors_without_tracebacks(empty_db_url: str, tmp_path: Path) -> None:
    # A database that was never migrated.
    r = hm("indexer", "--once", env={"DATABASE_URL": empty_db_url}, check=False)
    assert r.returncode == 1 and "run `hybridmarket migrate`" in r.stderr
    assert "Traceback" not in r.stderr
    # A database that does not exist.
    bad = psycopg.conninfo.make_conninfo(empty_db_url, dbname="no_such_db")
    r = hm("migrate", env={"DATABASE_URL": bad}, check=False)
    assert r.returncode == 1 and "cannot use the database" in r.stderr
    assert "Traceback" not in r.stderr
    # A bad market id is a usage error.
    r = hm("reconcile", "--market", "xyz", env={"DATABASE_URL": empty_db_url}, check=False)
    assert r.returncode == 2 and "64 lowercase hex digits" in r.stderr


async def ahm(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`hm` without blocking the event loop (the validator runs in it)."""
    return await asyncio.to_thread(hm, *args, env=env)


async def test_index_once_and_reconcile(validator: LocalValidator, db_url: str) -> None:
    async with ChainClient(validator.rpc_url) as client:
        mid = (await lifecycle(validator, client, b"cli", dispute=False)).hex()
    env = {
        "DATABASE_URL": db_url,
        "SOLANA_RPC_URL": validator.rpc_url,
        "SOLANA_WS_URL": validator.ws_url,
    }
    out = await ahm("indexer", "--once", env=env)
    assert out.stdout.startswith("applied ") and not out.stdout.startswith("applied 0 ")
    assert "; 0 dead-lettered" in out.stdout
    assert (await ahm("indexer", "--once", env=env)).stdout.startswith("applied 0 transactions")
    clean = json.loads((await ahm("reconcile", "--json", env=env)).stdout)
    assert clean["discrepancies"] == 0 and clean["markets_checked"] == 1
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("UPDATE markets SET total_volume = 1 WHERE id = %s", (mid,))
    report = (await ahm("reconcile", "--no-repair", env=env)).stdout
    assert "1 discrepancies, 0 rows repaired" in report and "total_volume: 1" in report
    fixed = json.loads((await ahm("reconcile", "--json", "--market", mid, env=env)).stdout)
    assert fixed["discrepancies"] == 1 and fixed["repaired"] == 1
    assert json.loads((await ahm("reconcile", "--json", env=env)).stdout)["discrepancies"] == 0
