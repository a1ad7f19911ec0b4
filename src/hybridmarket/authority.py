"""The backend authority's keypair, loaded through one interface (`KeySource`).

Providers:
- `FileKeySource`: a Solana CLI keypair file (JSON array of 64 bytes), the default, under the
  data directory (`DATA_DIR/keys/backend-authority.json`), created on first run with 0600;
- `EnvKeySource`: `BACKEND_KEYPAIR` holding the same JSON array, or the base58 of the 64 bytes;
- `VaultKeySource`: HashiCorp Vault's KV engine through `hvac` (the `vault` extra), the key
  stored as one of the two forms above under `BACKEND_KEYPAIR_VAULT_PATH`.

The secret never leaves this module in readable form: `Signer` exposes the public key and a
`sign` method, and its repr and str show the public key only, so it cannot end up in a log,
an error message or an API response by accident.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import base58
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from hybridmarket.chain.keys import KeypairFileError, load_keypair, load_or_create_keypair

if TYPE_CHECKING:
    from pydantic import SecretStr

    from hybridmarket.settings import Settings

BACKEND_KEY_FILE = Path("keys") / "backend-authority.json"


class KeySourceError(RuntimeError):
    """The key could not be loaded; the message never contains key material."""


class Signer:
    """A keypair that shows only its public key."""

    __slots__ = ("_kp", "source")

    def __init__(self, keypair: Keypair, source: str) -> None:
        self._kp = keypair
        self.source = source

    def pubkey(self) -> Pubkey:
        return self._kp.pubkey()

    def sign_message(self, message: bytes) -> Signature:
        return self._kp.sign_message(message)

    def keypair(self) -> Keypair:
        """The solders Keypair, to sign a transaction; never log or return it."""
        return self._kp

    def __repr__(self) -> str:
        return f"Signer({self.pubkey()}, from {self.source})"

    __str__ = __repr__


class KeySource(Protocol):
    def load(self) -> Signer: ...


def _parse_secret(text: str, where: str) -> Keypair:
    text = text.strip()
    try:
        if text.startswith("["):
            raw = json.loads(text)
            if not (isinstance(raw, list) and len(raw) == 64):
                raise ValueError
            return Keypair.from_bytes(bytes(raw))
        return Keypair.from_bytes(base58.b58decode(text))
    except (ValueError, TypeError):
        raise KeySourceError(
            f"{where} is not a keypair (a JSON array of 64 bytes, or their base58)"
        ) from None


@dataclass(frozen=True)
class FileKeySource:
    path: Path
    create: bool = True

    def load(self) -> Signer:
        try:
            kp = load_or_create_keypair(self.path) if self.create else load_keypair(self.path)
        except KeypairFileError as e:
            raise KeySourceError(str(e)) from None
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            raise KeySourceError(
                f"{self.path} is readable by others (mode {mode:o}); run: chmod 600 {self.path}"
            )
        return Signer(kp, f"file {self.path}")


@dataclass(frozen=True)
class EnvKeySource:
    """The key given in the environment (`BACKEND_KEYPAIR`, through Settings)."""

    value: SecretStr
    variable: str = "BACKEND_KEYPAIR"

    def load(self) -> Signer:
        value = self.value.get_secret_value()
        if not value:
            raise KeySourceError(f"${self.variable} is empty")
        return Signer(_parse_secret(value, f"${self.variable}"), f"${self.variable}")


@dataclass(frozen=True)
class VaultKeySource:
    """Vault KV v2: the secret at `path` (mount `mount`) has a field `field` with the key."""

    url: str
    token: str
    path: str
    mount: str = "secret"
    field: str = "keypair"

    def load(self) -> Signer:
        try:
            import hvac
        except ImportError:
            raise KeySourceError(
                "the Vault key source needs hvac: pip install 'hybridmarket[vault]'"
            ) from None
        try:
            client = hvac.Client(url=self.url, token=self.token)
            secret = client.secrets.kv.v2.read_secret_version(
                path=self.path, mount_point=self.mount
            )
            value = secret["data"]["data"][self.field]
        except Exception as e:  # hvac raises many types; never include the response body
            raise KeySourceError(
                f"cannot read {self.mount}/{self.path} from Vault: {type(e).__name__}"
            ) from None
        return Signer(
            _parse_secret(str(value), f"Vault {self.mount}/{self.path}"), f"Vault {self.path}"
        )


def backend_key_source(settings: Settings) -> KeySource:
    """The configured source: `BACKEND_KEYPAIR` if set, Vault if `VAULT_ADDR` and
    `BACKEND_KEYPAIR_VAULT_PATH` are set, otherwise the key file under the data directory
    (`BACKEND_KEYPAIR_FILE` to point elsewhere)."""
    if settings.backend_keypair is not None and settings.backend_keypair.get_secret_value():
        return EnvKeySource(settings.backend_keypair)
    if settings.vault_addr and settings.backend_keypair_vault_path:
        token = settings.vault_token.get_secret_value() if settings.vault_token else ""
        return VaultKeySource(settings.vault_addr, token, settings.backend_keypair_vault_path)
    return FileKeySource(settings.backend_keypair_file or settings.data_dir / BACKEND_KEY_FILE)
