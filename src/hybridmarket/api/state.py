"""What every request handler may use: the pool, the chain client, the cache, the limiter,
the change hub and signals, IPFS and the settings. Built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from psycopg_pool import AsyncConnectionPool

from hybridmarket.api.cache import Cache
from hybridmarket.api.stream import Hub
from hybridmarket.chain.client import ChainClient
from hybridmarket.ipfs.backends import IpfsBackend
from hybridmarket.settings import Settings
from hybridmarket.signals import Signals


@dataclass
class ApiState:
    settings: Settings
    db_url: str
    pool: AsyncConnectionPool
    client: ChainClient
    cache: Cache
    hub: Hub
    ipfs: IpfsBackend
    limiter: Any
    limits: dict[str, Any] = field(default_factory=dict)
    admins: frozenset[str] = field(default_factory=frozenset)
    moderators: frozenset[str] = field(default_factory=frozenset)
    signals: Signals = field(default_factory=Signals)  # how a comment is announced


async def state(request: Request) -> ApiState:
    """The app's state, as a coroutine: FastAPI runs a plain `def` dependency in its thread
    pool, a hop that costs more than a whole cached read (bench/api.py)."""
    st: ApiState = request.app.state.api
    return st
