"""`hybridmarket api` options that are refused before anything starts (the `--workers 2`
deployment itself runs in tests/integration/test_deployment_redis.py)."""

from __future__ import annotations

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
