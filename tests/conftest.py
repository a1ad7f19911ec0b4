"""Session-wide fixtures: one PostgreSQL server (embedded, or DATABASE_URL) for the whole run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from psycopg_pool import AsyncConnectionPool

from hybridmarket.db.connect import make_pool

from .dbtools import create_template, drop_database, fresh_database, server_url


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A server to create test databases on (connected to its maintenance database)."""
    with server_url() as url:
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> Iterator[str]:
    name = create_template(pg_admin_url)
    yield name
    drop_database(pg_admin_url, name)


@pytest.fixture
def db_url(pg_admin_url: str, pg_template: str) -> Iterator[str]:
    """A fresh database migrated to head."""
    with fresh_database(pg_admin_url, pg_template) as url:
        yield url


@pytest.fixture
def empty_db_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database with no schema at all."""
    with fresh_database(pg_admin_url, None) as url:
        yield url


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with make_pool(db_url, max_size=8) as p:
        yield p
