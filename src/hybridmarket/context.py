"""What a service process opens at start: the database (embedded or DATABASE_URL, migrated to
the code's schema), a connection pool, the chain client and the change signals (NOTIFY, and
Redis with REDIS_URL): every writer announces its changes through `Context.signals`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from psycopg_pool import AsyncConnectionPool

from hybridmarket.chain.client import ChainClient
from hybridmarket.db.connect import database, make_pool
from hybridmarket.db.schema import verify
from hybridmarket.settings import Settings
from hybridmarket.signals import Signals, signals_for


@dataclass
class Context:
    settings: Settings
    db_url: str
    pool: AsyncConnectionPool
    client: ChainClient
    # NOTIFY only unless built by `service_context` (which adds Redis when REDIS_URL is set).
    signals: Signals = field(default_factory=Signals)


@asynccontextmanager
async def service_context(
    settings: Settings, *, name: str, pool_size: int | None = None
) -> AsyncIterator[Context]:
    async with AsyncExitStack() as stack:
        url = stack.enter_context(database(settings))
        verify(url)
        pool = make_pool(url, max_size=pool_size or settings.db_pool_size, name=name)
        await stack.enter_async_context(pool)
        client = await stack.enter_async_context(
            ChainClient(settings.rpc_url(), program_id=settings.program_id)
        )
        signals = await stack.enter_async_context(signals_for(settings.redis_url))
        yield Context(settings, url, pool, client, signals)
