"""``hybridmarket ipfs add|cat`` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hybridmarket.ipfs import EmbeddedBackend, compute_cid
from hybridmarket.ipfs.cli import app

pytestmark = pytest.mark.unit

EMPTY_V1 = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
EMPTY_V0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
DATA = bytes(range(256)) * 1500


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("IPFS_API_URL", raising=False)
    return CliRunner()


def test_only_hash_prints_cid_like_ipfs_add_q(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    store = tmp_path / "store"
    result = runner.invoke(app, ["add", "--only-hash", str(empty), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert result.stdout == EMPTY_V1 + "\n"
    result = runner.invoke(app, ["add", "-n", "--cid-version", "0", str(empty)])
    assert result.stdout == EMPTY_V0 + "\n"
    assert not store.exists()


def test_add_then_cat(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "file.bin"
    src.write_bytes(DATA)
    store = ["--store", str(tmp_path / "store")]
    for version in ("0", "1"):
        added = runner.invoke(app, ["add", "--cid-version", version, str(src), *store])
        assert added.exit_code == 0, added.output
        cid = added.stdout.strip()
        assert cid == compute_cid(DATA, cid_version=int(version))
        shown = runner.invoke(app, ["cat", cid, *store])
        assert shown.exit_code == 0, shown.output
        assert shown.stdout_bytes == DATA


def test_stdin(runner: CliRunner, tmp_path: Path) -> None:
    store = ["--store", str(tmp_path / "store")]
    only = runner.invoke(app, ["add", "-n", "-"], input=DATA)
    assert only.stdout.strip() == compute_cid(DATA)
    added = runner.invoke(app, ["add", "-", *store], input=DATA)
    assert added.stdout.strip() == compute_cid(DATA)


def test_errors_exit_1_with_a_message(runner: CliRunner, tmp_path: Path) -> None:
    store = ["--store", str(tmp_path / "store")]
    bad = runner.invoke(app, ["cat", "not-a-cid", *store])
    assert bad.exit_code == 1
    assert "Error:" in bad.stderr
    missing = runner.invoke(app, ["cat", compute_cid(b"absent"), *store])
    assert missing.exit_code == 1
    assert "not found" in missing.stderr
    no_file = runner.invoke(app, ["add", str(tmp_path / "nope"), *store])
    assert no_file.exit_code == 1
    version = runner.invoke(app, ["add", "--cid-version", "2", "-n", "-"], input=b"")
    assert version.exit_code == 2


def test_api_url_from_env_is_used(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hybridmarket.ipfs.cli as cli

    seen: list[str | None] = []

    def fake_make_backend(*, store_dir: Path, api_url: str | None) -> EmbeddedBackend:
        seen.append(api_url)
        return EmbeddedBackend(store_dir)

    monkeypatch.setattr(cli, "make_backend", fake_make_backend)
    store = ["--store", str(tmp_path)]
    env = {"IPFS_API_URL": "http://127.0.0.1:5001"}
    assert runner.invoke(app, ["add", "-", *store], input=b"x", env=env).exit_code == 0
    assert runner.invoke(app, ["cat", EMPTY_V1, "--api-url", "http://h:1", *store]).exit_code == 1
    assert seen == ["http://127.0.0.1:5001", "http://h:1"]
