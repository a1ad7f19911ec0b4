"""`hybridmarket api` options that are refused before anything starts (the `--workers 2`
deployment itself runs in tests/integration/test_deployment_redis.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hybridmarket.cli import app
from hybridmarket.settings import Settings

pytestmark = pytest.mark.unit


def test_more_than_one_process_needs_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    r = CliRunner().invoke(app, ["api", "--workers", "2"])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --workers 2 needs REDIS_URL"), r.output


def test_settings_reproduce_themselves_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What each `--workers` process reads is what its parent had, secrets included."""
    s = Settings(
        _env_file=None,
        DATABASE_URL="postgresql://u@h/db",
        BACKEND_KEYPAIR="[1, 2, 3]",
        ADMIN_WALLETS="a,b",
        API_CACHE_TTL=2.5,
    )
    for name in [*s.environment(), "REDIS_URL", "VAULT_TOKEN"]:
        monkeypatch.delenv(name, raising=False)
    for k, v in s.environment().items():
        monkeypatch.setenv(k, v)
    again = Settings(_env_file=None)
    assert again == s
    assert again.backend_keypair is not None
    assert again.backend_keypair.get_secret_value() == "[1, 2, 3]"


def test_redis_url_without_the_redis_extra_is_one_clear_line(tmp_path: Path) -> None:
    """The Redis client is the `redis` extra: a REDIS_URL without it is refused at start."""
    script = (
        "import sys; sys.modules['redis'] = None\n"  # as if the extra were not installed
        "from hybridmarket.cli import main; sys.argv = ['hybridmarket', 'worker']; main()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "DATABASE"))}
    r = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "REDIS_URL": "redis://127.0.0.1:6379/0"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: REDIS_URL: needs the Redis client: pip install 'hybridmarket[redis]' "
        "(or unset REDIS_URL)"
    ]


def test_a_server_settles_its_heap_once_started() -> None:
    """ApiServer (what `hybridmarket api` and `up` serve with) freezes the heap startup built
    and collects the first generation less often, once started; building it does not (so an app
    made in a test process leaves that process's collector as it was)."""
    code = """
import asyncio, gc
import uvicorn
from hybridmarket.api.cli import GC_GEN0_THRESHOLD, ApiServer

async def app(scope, receive, send):
    pass

async def main():
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = ApiServer(config, handle_signals=False)
    before = (gc.get_freeze_count(), gc.get_threshold()[0])
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    after = (gc.get_freeze_count(), gc.get_threshold()[0])
    server.should_exit = True
    await task
    print(before[0] == 0, before[1] != GC_GEN0_THRESHOLD, after[0] > 0, after[1] == GC_GEN0_THRESHOLD)

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"] * 4, done.stdout
