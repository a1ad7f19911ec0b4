"""The backend key's sources: a key file, an environment variable, Vault (the rules the worker
decides by are tested at their boundaries in test_rules.py)."""

from __future__ import annotations

import json
from pathlib import Path

import base58
import pytest
from solders.keypair import Keypair

from hybridmarket.authority import (
    EnvKeySource,
    FileKeySource,
    KeySourceError,
    backend_key_source,
)
from hybridmarket.settings import Settings

pytestmark = pytest.mark.unit


def test_key_file_is_created_0600_and_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "backend-authority.json"
    signer = FileKeySource(path).load()
    assert path.stat().st_mode & 0o777 == 0o600
    assert FileKeySource(path).load().pubkey() == signer.pubkey()  # same key next run
    secret_b58 = base58.b58encode(bytes(signer.keypair())).decode()
    for text in (repr(signer), str(signer), f"{signer}"):
        assert str(signer.pubkey()) in text and secret_b58 not in text and "[" not in text
    path.chmod(0o644)
    with pytest.raises(KeySourceError, match="chmod 600"):
        FileKeySource(path).load()
    with pytest.raises(KeySourceError, match="not found"):
        FileKeySource(tmp_path / "missing.json", create=False).load()


def test_env_key_source_accepts_both_forms_and_hides_bad_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kp = Keypair()

    def source(value: str) -> EnvKeySource:
        monkeypatch.setenv("BACKEND_KEYPAIR", value)
        chosen = backend_key_source(Settings(_env_file=None))
        assert isinstance(chosen, EnvKeySource)
        return chosen

    assert source(json.dumps(list(bytes(kp)))).load().pubkey() == kp.pubkey()
    assert source(base58.b58encode(bytes(kp)).decode()).load().pubkey() == kp.pubkey()
    with pytest.raises(KeySourceError) as e:
        source("not-a-key-but-secret-looking").load()
    assert "secret-looking" not in str(e.value)
    monkeypatch.delenv("BACKEND_KEYPAIR")
    assert isinstance(backend_key_source(Settings(_env_file=None)), FileKeySource)
