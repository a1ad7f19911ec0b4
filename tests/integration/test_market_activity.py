"""A market's tape, holders and activity through the API (real uvicorn, real validator, real
PostgreSQL), from indexed rows: newest first in chain order across cursor pages, the largest
holders of each side, volume and distinct traders per interval; a market that does not exist,
and cursors that are not ours."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from hybridmarket.localnet.validator import LocalValidator

from .api_fixtures import api_settings
from .discussion_fixtures import Served, serving
from .trade_fixtures import TradeRow, append_trades, insert_market, insert_position, new_wallet

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(validator: LocalValidator, db_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    settings = api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path / "data")
    async with serving(settings) as s:
        yield s


async def test_tape_holders_and_activity(api: Served, pool: AsyncConnectionPool) -> None:
    rng = random.Random(16)
    wallets = [new_wallet() for _ in range(5)]
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    rows = []
    for i in range(23):  # several trades per slot: their order there is the append order
        at = t0 + timedelta(hours=rng.randrange(0, 72))
        rows.append((i // 3, at, rng.choice(wallets), rng.randrange(1, 1000)))
    async with pool.connection() as conn:
        mid = await insert_market(conn)
        other = await insert_market(conn)
        await append_trades(
            conn,
            [TradeRow(mid, w, "buy", True, 10, c + 1, c, slot, at) for slot, at, w, c in rows]
            + [TradeRow(other, wallets[0], "buy", True, 10, 2, 1, 99, t0)],
        )
        holdings = {w: (rng.randrange(0, 50), rng.randrange(0, 50)) for w in wallets}
        for w, (y, n) in holdings.items():
            await insert_position(conn, mid, w, shares_yes=y, shares_no=n)

    seen, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        r = await api.http.get(f"/api/markets/{mid}/trades", params=params)
        assert r.status_code == 200, r.text
        seen += [(t["slot"], t["wallet"], t["amount"]) for t in r.json()["trades"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [(slot, w, c) for slot, _, w, c in reversed(rows)]

    r = await api.http.get(f"/api/markets/{mid}/holders", params={"limit": 3})
    assert r.status_code == 200, r.text
    for side, k in (("yes", 0), ("no", 1)):
        expected = sorted(
            ((w, h[k]) for w, h in holdings.items() if h[k] > 0), key=lambda x: (-x[1], x[0])
        )[:3]
        assert [(h["wallet"], h["shares"]) for h in r.json()[side]] == expected

    r = await api.http.get(f"/api/markets/{mid}/activity", params={"interval": "1d"})
    assert r.status_code == 200, r.text
    days: dict[str, tuple[int, int, set[str]]] = {}
    for _, at, w, c in rows:
        key = at.date().isoformat() + "T00:00:00Z"
        v, n, ws = days.get(key, (0, 0, set()))
        days[key] = (v + c, n + 1, ws | {w})
    assert [(b["t"], b["volume"], b["trades"], b["traders"]) for b in r.json()["buckets"]] == [
        (k, v, n, len(ws)) for k, (v, n, ws) in sorted(days.items())
    ]


async def test_unknown_market_and_foreign_cursors(api: Served) -> None:
    missing = "ab" * 32
    for path in ("trades", "holders", "activity"):
        r = await api.http.get(f"/api/markets/{missing}/{path}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "market_not_found", r.text
    async with api.st.pool.connection() as conn:
        mid = await insert_market(conn)
    for cursor in ("1:x", "99999999999999999999:1", "9999999999999999999:1", ""):
        r = await api.http.get(f"/api/markets/{mid}/trades", params={"cursor": cursor})
        assert r.status_code == 422, (cursor, r.text)
        assert "error" in r.json()
