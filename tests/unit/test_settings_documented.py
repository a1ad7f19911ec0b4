"""One configuration: every setting is a field of `Settings` with a description, documented in
docs/deploy.md, and the code reads no setting from the environment anywhere else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from hybridmarket.authority import EnvKeySource, FileKeySource, VaultKeySource, backend_key_source
from hybridmarket.ipfs.backends import (
    EmbeddedBackend,
    KuboBackend,
    PinningServiceBackend,
    backend_from_settings,
)
from hybridmarket.settings import Settings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "hybridmarket"
# The validator and the program's build read their own process options (a ready file, the
# compiler choice), which are not deployment settings.
OWN_OPTIONS = ("localnet", "sbf")


def _documented() -> set[str]:
    return set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", (ROOT / "docs" / "deploy.md").read_text()))


def test_every_setting_has_a_description_and_is_in_the_deployment_docs() -> None:
    fields = Settings.model_fields.values()
    assert [f.alias for f in fields if not f.description] == []
    aliases = {f.alias for f in fields}
    assert sorted(aliases - _documented()) == []  # settings the docs do not name
    assert sorted(_documented() - aliases) == []  # variables the docs name that do not exist


def test_no_setting_is_read_from_the_environment_outside_settings() -> None:
    readers = re.compile(r"os\.environ|os\.getenv|getenv\(")
    found = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if rel.parts[0] in OWN_OPTIONS or rel.name == "settings.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if readers.search(line):
                found.append(f"{rel}:{n}: {line.strip()}")
    assert found == []


def test_secrets_are_secret_strings_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BACKEND_KEYPAIR", "VAULT_TOKEN", "PINNING_SERVICE_TOKEN"):
        monkeypatch.setenv(name, "s3cr3t-value")
    s = Settings(_env_file=None)
    for field in ("backend_keypair", "vault_token", "pinning_service_token"):
        assert isinstance(getattr(s, field), SecretStr)
    assert "s3cr3t-value" not in repr(s) and "s3cr3t-value" not in str(s.model_dump())


def test_the_key_source_and_ipfs_backend_come_from_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "BACKEND_KEYPAIR",
        "VAULT_ADDR",
        "BACKEND_KEYPAIR_VAULT_PATH",
        "BACKEND_KEYPAIR_FILE",
        "IPFS_API_URL",
        "PINNING_SERVICE_URL",
        "PINNING_SERVICE_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)

    def settings(**env: str) -> Settings:
        return Settings(_env_file=None, HYBRIDMARKET_DATA_DIR=tmp_path, **env)

    default = backend_key_source(settings())
    assert isinstance(default, FileKeySource)
    assert default.path == tmp_path / "keys" / "backend-authority.json"
    other = tmp_path / "elsewhere.json"
    chosen = backend_key_source(settings(BACKEND_KEYPAIR_FILE=str(other)))
    assert isinstance(chosen, FileKeySource) and chosen.path == other
    vault = backend_key_source(
        settings(VAULT_ADDR="http://vault:8200", BACKEND_KEYPAIR_VAULT_PATH="hm/backend")
    )
    assert isinstance(vault, VaultKeySource) and vault.path == "hm/backend"
    env = backend_key_source(settings(BACKEND_KEYPAIR="[1,2]", VAULT_ADDR="http://vault:8200"))
    assert isinstance(env, EnvKeySource)  # the key itself wins

    assert isinstance(backend_from_settings(settings()), EmbeddedBackend)
    assert isinstance(
        backend_from_settings(settings(IPFS_API_URL="http://127.0.0.1:5001")), KuboBackend
    )
    pinning = settings(PINNING_SERVICE_URL="https://pin.example", PINNING_SERVICE_TOKEN="t")
    assert isinstance(backend_from_settings(pinning), PinningServiceBackend)
