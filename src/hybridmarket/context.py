"""What a service process opens at start: the database (embedded or DATABASE_URL, migrated to
the code's schema), a connection pool, and the chain client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from hybridmarket.chain.client import ChainClient
from hybridmarket.db.connect import database, make_pool
from hybridmarket.db.schema import verify
from hybridmarket.settings import Settings


@dataclass
class Context:
    settings: Settings
    db_url: str
    pool: AsyncConnectionPool
    client: ChainClient


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
        yield Context(settings, url, pool, client)
