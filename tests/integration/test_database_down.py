"""A database that stops accepting connections, through the real API (uvicorn on a socket, a
real validator, real PostgreSQL): every route that needs it answers 503 `database_unavailable`
with Retry-After within DB_TIMEOUT, `/api/health` says the database is down, never a 500; once
the database accepts connections again, the same requests succeed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket.localnet.validator import LocalValidator

from .api_fixtures import api_settings, running_api
from .discussion_fixtures import insert_market

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


async def _refuse_connections(admin_url: str, dbname: str, refuse: bool) -> None:
    """`ALLOW_CONNECTIONS false` and every open session ended: even a superuser cannot connect."""
    async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as c:
        await c.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(dbname), sql.SQL("false" if refuse else "true")
            )
        )
        if refuse:
            await c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            )


async def test_a_database_that_refuses_connections_is_503_not_500(
    validator: LocalValidator,
    db_url: str,
    pg_admin_url: str,
    pool: AsyncConnectionPool,
    tmp_path: Path,
) -> None:
    async with pool.connection() as conn:
        market = await insert_market(conn, state="PROPOSED")
    await pool.close()  # the test's own pool: only the API's connections remain
    dbname = conninfo_to_dict(db_url)["dbname"]
    settings = api_settings(
        db_url, validator.rpc_url, validator.ws_url, tmp_path, DB_TIMEOUT=1, API_CACHE_TTL=0.01
    )
    wallet = str(Keypair().pubkey())
    requests = {
        "detail": ("GET", f"/api/markets/{market}", None),
        "list": ("GET", "/api/markets", {"q": "nothing cached"}),
        "comments": ("GET", f"/api/discussions/{market}", None),
        "positions": ("GET", f"/api/users/{wallet}/positions", None),
        "vote": (
            "POST",
            f"/api/markets/{market}/vote",
            {"wallet": wallet, "kind": "proposal", "vote": True},
        ),
    }

    async def send(method: str, path: str, data: object) -> int:
        if method == "GET":
            r = await http.get(path, params=data)  # type: ignore[arg-type]
        else:
            r = await http.post(path, json=data)
        return r.status_code

    async with running_api(settings) as http:
        before = {k: await send(*v) for k, v in requests.items()}
        assert all(code < 500 for code in before.values()), before
        await _refuse_connections(pg_admin_url, dbname, True)
        try:
            for what, (method, path, data) in requests.items():
                if method == "GET":
                    r = await http.get(path, params=data)  # type: ignore[arg-type]
                else:
                    r = await http.post(path, json=data)
                assert r.status_code == 503, (what, r.text)
                assert r.headers["Retry-After"] == "5", what
                assert r.json()["error"]["code"] == "database_unavailable", (what, r.text)
            health = await http.get("/api/health")
            assert health.status_code == 503, health.text
            assert health.json()["database"]["ok"] is False, health.text
        finally:
            await _refuse_connections(pg_admin_url, dbname, False)
        # The pool reconnects with a backoff after its failed attempts: once health says the
        # database is back, every route answers as before.
        for _ in range(300):
            if (await http.get("/api/health")).json()["database"]["ok"]:
                break
            await asyncio.sleep(0.1)
        after = {k: await send(*v) for k, v in requests.items()}
        assert after == before
