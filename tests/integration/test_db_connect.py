"""`db.connect.make_pool`'s session settings: applied to every connection, after the URL's own
`options` (which still hold)."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hybridmarket.db.connect import GENERIC_PLANS, make_pool

pytestmark = pytest.mark.integration


async def test_session_settings_join_the_urls_options(db_url: str) -> None:
    params = conninfo_to_dict(db_url)
    url = make_conninfo(**{**params, "options": "-c statement_timeout=4321"})
    async with make_pool(url, max_size=2, session=GENERIC_PLANS) as pool:
        for _ in range(2):
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT current_setting('plan_cache_mode'), "
                    "current_setting('statement_timeout')"
                )
                assert await cur.fetchone() == ("force_generic_plan", "4321ms")
    async with make_pool(db_url, max_size=1) as pool, pool.connection() as conn:
        cur = await conn.execute("SELECT current_setting('plan_cache_mode')")
        assert await cur.fetchone() == ("auto",)
