"""Configuration shared by every part: environment variables (and `.env`), with embedded
defaults so that nothing needs configuring on one machine.

`DATABASE_URL`, `SOLANA_RPC_URL` (+ `SOLANA_WS_URL`), `REDIS_URL`, `IPFS_API_URL` switch each part
from its embedded default to a real server (DESIGN.md §1); `PROGRAM_ID` names the program's
address on that cluster, the one id every part of a process uses. Every setting is read here
and nowhere else (secrets as `SecretStr`), and each is documented in docs/deploy.md (a test
keeps both true).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    ValidationError,
    WithJsonSchema,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from solders.pubkey import Pubkey

from hybridmarket.program.ids import PROGRAM_ID


def _public_key(value: object) -> Pubkey:
    if isinstance(value, Pubkey):
        return value
    if isinstance(value, str):
        try:
            return Pubkey.from_string(value.strip())
        except ValueError:
            pass
    raise ValueError(f"not a base58 public key (32 bytes, as `solana address` prints): {value!r}")


def _redis_installed(url: str | None) -> str | None:
    """REDIS_URL needs the Redis client, which is an extra: say so at start, in one line."""
    if url:
        try:
            import redis  # noqa: F401
        except ImportError:
            raise ValueError(
                "needs the Redis client: pip install 'hybridmarket[redis]' (or unset REDIS_URL)"
            ) from None
    return url


def _public_url(value: str) -> str:
    """An origin (and optional path prefix) that absolute URLs start with, without the
    trailing slash; empty stays empty (derive it from each request)."""
    from urllib.parse import urlsplit

    value = value.strip().rstrip("/")
    if value:
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.query
            or parts.fragment
        ):
            raise ValueError(f"not a public base URL (http(s)://host[:port][/prefix]): {value!r}")
    return value


PublicKey = Annotated[
    Pubkey,
    PlainValidator(_public_key),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "format": "base58 public key"}),
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        Path(".hybridmarket"),
        alias="HYBRIDMARKET_DATA_DIR",
        description="Where the embedded PostgreSQL, validator ledger, IPFS blocks and keys live.",
    )
    database_url: str | None = Field(
        None, alias="DATABASE_URL", description="PostgreSQL URL; unset = embedded pgserver."
    )
    db_pool_size: int = Field(
        20, alias="DB_POOL_SIZE", ge=1, le=200, description="Max connections per process."
    )
    db_timeout: float = Field(
        5.0,
        alias="DB_TIMEOUT",
        gt=0,
        le=300,
        description="Seconds to wait for a database connection; an API request that cannot get "
        "one in time answers 503 (database_unavailable) with Retry-After.",
    )
    solana_rpc_url: str | None = Field(
        None, alias="SOLANA_RPC_URL", description="JSON-RPC URL; unset = the local validator."
    )
    solana_ws_url: str | None = Field(
        None, alias="SOLANA_WS_URL", description="WebSocket URL; default derived from the RPC URL."
    )
    redis_url: Annotated[str | None, AfterValidator(_redis_installed)] = Field(
        None,
        alias="REDIS_URL",
        description="Redis for shared rate limits and cache signals (the `redis` extra).",
    )
    program_id: PublicKey = Field(
        PROGRAM_ID,
        alias="PROGRAM_ID",
        description="The program's address on the cluster (base58); default the IDL's address, "
        "where the local validator deploys it. Every part builds, reads and indexes under it.",
    )
    rpc_port: int = Field(
        8899,
        alias="HYBRIDMARKET_RPC_PORT",
        description="Port of the embedded validator's JSON-RPC (its WebSocket is the next one).",
    )
    # The backend authority's key: the first of these that is set, else the key file.
    backend_keypair: SecretStr | None = Field(
        None,
        alias="BACKEND_KEYPAIR",
        description="The backend key itself: a JSON array of 64 bytes or their base58.",
    )
    vault_addr: str | None = Field(
        None, alias="VAULT_ADDR", description="HashiCorp Vault's address, for the backend key."
    )
    vault_token: SecretStr | None = Field(
        None, alias="VAULT_TOKEN", description="The Vault token that may read the key."
    )
    backend_keypair_vault_path: str | None = Field(
        None,
        alias="BACKEND_KEYPAIR_VAULT_PATH",
        description="Where in Vault's KV v2 engine (mount `secret`, field `keypair`) the key is.",
    )
    backend_keypair_file: Path | None = Field(
        None,
        alias="BACKEND_KEYPAIR_FILE",
        description="A Solana CLI keypair file (mode 0600) with the backend key; default "
        "DATA_DIR/keys/backend-authority.json, created on first run.",
    )
    # IPFS: a Kubo node, or a pinning service; else the embedded block store.
    ipfs_api_url: str | None = Field(
        None, alias="IPFS_API_URL", description="A Kubo node's RPC API, e.g. http://host:5001."
    )
    pinning_service_url: str | None = Field(
        None,
        alias="PINNING_SERVICE_URL",
        description="An IPFS Pinning Service API endpoint (with PINNING_SERVICE_TOKEN).",
    )
    pinning_service_token: SecretStr | None = Field(
        None, alias="PINNING_SERVICE_TOKEN", description="The pinning service's access token."
    )
    # The API
    api_host: str = Field("127.0.0.1", alias="API_HOST", description="Address the API binds.")
    api_port: int = Field(8000, alias="API_PORT", description="Port of the API and web UI.")
    api_domain: str | None = Field(
        None,
        alias="API_DOMAIN",
        description="SIWS domain (host[:port] users see); default host:port.",
    )
    public_url: Annotated[str, AfterValidator(_public_url)] = Field(
        "",
        alias="PUBLIC_URL",
        description="The site's public base URL, e.g. https://markets.example: the start of the "
        "absolute URLs the API writes (shared links' meta, Actions' icons and links); empty = "
        "each request's own base URL.",
    )
    chain_id: str = Field(
        "localnet",
        alias="SOLANA_CHAIN_ID",
        description="The cluster a Sign-In-With-Solana message must name (its Chain ID).",
    )
    cors_origins: str = Field("", alias="CORS_ORIGINS", description="Comma-separated origins.")
    admin_wallets: str = Field("", alias="ADMIN_WALLETS", description="Comma-separated wallets.")
    moderator_wallets: str = Field(
        "", alias="MODERATOR_WALLETS", description="Comma-separated wallets that may moderate."
    )
    cache_ttl: float = Field(
        30.0,
        alias="API_CACHE_TTL",
        ge=0,
        description="Seconds a cached market or list lives when no change signal arrives.",
    )
    cache_mb: int = Field(
        256,
        alias="API_CACHE_MB",
        ge=1,
        le=65536,
        description="Megabytes of encoded bodies (list pages, markets) each API process keeps "
        "in its read cache; the least recently used go first.",
    )
    trusted_proxies: str = Field(
        "",
        alias="TRUSTED_PROXIES",
        description="Comma-separated addresses or networks (CIDR) of the proxies whose "
        "X-Forwarded-For names the client; nobody's by default.",
    )
    rpc_deadline: float = Field(
        5.0,
        alias="API_RPC_DEADLINE",
        gt=0,
        description="Seconds an API request waits for the chain, retries included, before 503.",
    )
    max_body_bytes: int = Field(
        65536,
        alias="API_MAX_BODY_BYTES",
        ge=1024,
        description="Largest request body the API reads; a larger one is answered 413.",
    )
    rate_limits: str = Field(
        "",
        alias="RATE_LIMITS",
        description="Overrides of the default limits, e.g. 'comments=20/60,trades=60/60'.",
    )
    # The worker (cron expressions in UTC; an optional sixth field is seconds).
    cron_proposals: str = Field(
        "*/5 * * * *", alias="CRON_PROPOSALS", description="Approving or expiring proposals."
    )
    cron_disputes: str = Field(
        "*/5 * * * *", alias="CRON_DISPUTES", description="Finalizing resolutions and disputes."
    )
    cron_monitor: str = Field(
        "* * * * *", alias="CRON_MONITOR", description="The market monitor (stuck markets)."
    )
    cron_reconcile: str = Field(
        "0 * * * *", alias="CRON_RECONCILE", description="Reconciling the database with the chain."
    )
    cron_snapshots: str = Field(
        "0 0 * * *", alias="CRON_SNAPSHOTS", description="Daily discussion snapshots to IPFS."
    )
    cron_backups: str = Field(
        "30 0 * * *", alias="CRON_BACKUPS", description="Daily backups under DATA_DIR/backups."
    )
    backup_retention: int = Field(
        7, alias="BACKUP_RETENTION", ge=1, description="Daily archives kept in DATA_DIR/backups."
    )
    proposal_voting_window: int = Field(
        7 * 24 * 3600,
        alias="PROPOSAL_VOTING_WINDOW",
        ge=1,
        description="Seconds a proposal is open to votes before it expires.",
    )
    monitor_stuck_grace: int = Field(
        3600,
        alias="MONITOR_STUCK_GRACE",
        ge=0,
        description="Seconds past a deadline before the monitor reports a market stuck.",
    )

    def domain(self) -> str:
        return self.api_domain or f"{self.api_host}:{self.api_port}"

    def environment(self) -> dict[str, str]:
        """These settings as the environment variables that reproduce them in another process
        (`api --workers N`, whose processes build their own `Settings()`); unset ones are left
        out, secrets are included in clear."""
        out: dict[str, str] = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            out[field.alias or name.upper()] = str(value)
        return out

    def export(self) -> None:
        """Put `environment()` into this process's environment, for the processes it starts."""
        import os

        os.environ.update(self.environment())

    @staticmethod
    def split(value: str) -> list[str]:
        return [v.strip() for v in value.split(",") if v.strip()]

    def rpc_url(self) -> str:
        return self.solana_rpc_url or f"http://127.0.0.1:{self.rpc_port}"

    def ws_url(self) -> str:
        if self.solana_ws_url:
            return self.solana_ws_url
        if self.solana_rpc_url:
            return ws_url_for(self.solana_rpc_url)
        return f"ws://127.0.0.1:{self.rpc_port + 1}"


def ws_url_for(rpc_url: str) -> str:
    """The WebSocket URL Solana tooling derives from an RPC URL (scheme swapped; an explicit
    port is incremented by one, as `solana` CLI and web3.js do)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(rpc_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    netloc = parts.netloc
    if parts.port is not None:
        host = netloc.rsplit(":", 1)[0]
        netloc = f"{host}:{parts.port + 1}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def settings_errors(error: ValidationError) -> list[str]:
    """`VARIABLE: what is wrong with it`, one line per invalid environment variable."""
    out = []
    for e in error.errors():
        name = ".".join(str(part) for part in e["loc"]) or "settings"
        msg = str(e["msg"]).removeprefix("Value error, ")
        out.append(f"{name}: {msg}")
    return out
