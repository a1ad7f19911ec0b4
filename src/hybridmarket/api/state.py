"""What every request handler may use: the pool, the chain client, the cache, the limiter,
the change hub and signals, IPFS and the settings, and the market bodies' batched read. Built
once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from psycopg_pool import AsyncConnectionPool

from hybridmarket.api.batch import Batched
from hybridmarket.api.cache import Cache
from hybridmarket.api.stream import Hub
from hybridmarket.chain.client import ChainClient
from hybridmarket.db.queries import markets as q_markets
from hybridmarket.ipfs.backends import IpfsBackend
from hybridmarket.settings import Settings
from hybridmarket.signals import Signals


@dataclass
class ApiState:
    settings: Settings
    db_url: str
    pool: AsyncConnectionPool
    # A few connections that run prepared statements on their generic plans
    # (`db.connect.GENERIC_PLANS`): the market reads whose plan does not depend on values.
    reads: AsyncConnectionPool
    client: ChainClient
    cache: Cache
    hub: Hub
    ipfs: IpfsBackend
    limiter: Any
    limits: dict[str, Any] = field(default_factory=dict)
    admins: frozenset[str] = field(default_factory=frozenset)
    moderators: frozenset[str] = field(default_factory=frozenset)
    signals: Signals = field(default_factory=Signals)  # how a comment is announced
    # (market id, the config's periods) -> the market's `Market` body; concurrent misses of
    # the detail read go to the database together.
    market_bodies: Batched[tuple[str, tuple[int, int] | None], bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.market_bodies = Batched(self._read_market_bodies)

    async def _read_market_bodies(
        self, keys: list[tuple[str, tuple[int, int] | None]]
    ) -> dict[tuple[str, tuple[int, int] | None], bytes]:
        out: dict[tuple[str, tuple[int, int] | None], bytes] = {}
        async with self.reads.connection() as conn:
            for periods in {p for _, p in keys}:
                ids = [mid for mid, p in keys if p == periods]
                found = await q_markets.bodies_json(conn, ids, periods=periods)
                out |= {(mid, periods): body.encode() for mid, body in found.items()}
        return out


async def state(request: Request) -> ApiState:
    """The app's state, as a coroutine: FastAPI runs a plain `def` dependency in its thread
    pool, a hop that costs more than a whole cached read (bench/api.py)."""
    st: ApiState = request.app.state.api
    return st
