"""Shared market links: `/market/<id>[/<slug>]` serves the web UI's page with a `<head>` made on
the server (title, canonical URL, Open Graph and Twitter-card meta), so a link pasted in a chat
shows the market; `/api/markets/<id>/chart.png` is the card's picture.

Both read the market through the API's cache (`load_market`), and the picture is rendered once
per change of the market (kept in a small cache of its own, keyed on the market's `updated_at`),
then answered with an ETag. Absolute URLs start at `base_url`: PUBLIC_URL when it is set, else the
request's own base URL, whose scheme comes from X-Forwarded-Proto only from TRUSTED_PROXIES
(`server_config`)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from hybridmarket.api import chart_image, sharing
from hybridmarket.api.cache import Cache
from hybridmarket.api.common import MarketIdPath, rate_limit
from hybridmarket.api.errors import ApiError
from hybridmarket.api.routes import error_responses
from hybridmarket.api.routes.markets import load_market
from hybridmarket.api.state import ApiState, state
from hybridmarket.db.queries import trades as q_trades

router = APIRouter(tags=["markets"])

MARKET_ID: Final = re.compile(r"[0-9a-f]{64}")
RAW_POINTS: Final = 2000  # beyond this many price changes the picture draws hourly, then daily
COARSER: Final = (3600, 86400)
CHART_MAX_AGE: Final = 60
# Pictures are ~30-50 KB: they get a cache of their own, bounded in count, rather than entries
# of the API's cache (20,000 of them would be a gigabyte). Keyed on the market's updated_at, so
# a changed market is drawn anew without an invalidation; old versions age out.
CHART_ENTRIES: Final = 256
CHART_TTL: Final = 3600.0
EMPTY_PAGE: Final = '<!doctype html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n  <title></title>\n</head>\n<body></body>\n</html>\n'


def _charts(request: Request) -> Cache:
    """The app's picture cache (made on first use: one per app, like its state)."""
    cache: Cache | None = getattr(request.app.state, "chart_cache", None)
    if cache is None:
        cache = request.app.state.chart_cache = Cache(ttl=CHART_TTL, max_entries=CHART_ENTRIES)
    return cache


def base_url(request: Request, st: ApiState) -> str:
    """Where the absolute URLs the API writes start (shared links' meta, Actions' icons and
    links), without a trailing slash: the operator's PUBLIC_URL, else this request's base."""
    return st.settings.public_url or str(request.base_url).rstrip("/")


def chart_url(base: str, market: dict[str, Any]) -> str:
    """The picture's absolute URL, with the market's version in it: a card cached by a chat
    service is fetched anew once the market changed."""
    version = hashlib.sha256(str(market["updated_at"]).encode()).hexdigest()[:12]
    return f"{base}/api/markets/{market['id']}/chart.png?v={version}"


async def _page(request: Request, st: ApiState, market_id: str) -> HTMLResponse:
    from hybridmarket.api.app import WEB_DIR

    if not MARKET_ID.fullmatch(market_id):
        return HTMLResponse(sharing.not_found_page("That is not a market's address."), 404)
    try:
        market = await load_market(st, market_id)
    except ApiError as e:
        if e.status != 404:
            raise
        return HTMLResponse(sharing.not_found_page("No market has this id."), 404)
    path = WEB_DIR / "index.html"
    index = path.read_text(encoding="utf-8") if path.exists() else EMPTY_PAGE  # no UI built in
    base = base_url(request, st)
    head = sharing.head(market, base_url=base, image_url=chart_url(base, market))
    return HTMLResponse(
        sharing.page(index, head),
        headers={"Cache-Control": "no-cache"},  # the price in the meta moves
    )


@router.api_route("/market/{market_id}", methods=["GET", "HEAD"], include_in_schema=False)
async def market_page(
    market_id: str, request: Request, st: Annotated[ApiState, Depends(state)]
) -> HTMLResponse:
    """The web UI at a market's readable URL, its `<head>` describing the market."""
    return await _page(request, st, market_id)


@router.api_route(
    "/market/{market_id}/{slug:path}", methods=["GET", "HEAD"], include_in_schema=False
)
async def market_page_slug(
    market_id: str, slug: str, request: Request, st: Annotated[ApiState, Depends(state)]
) -> HTMLResponse:
    """Any slug (or a stale one, after an edit of the rule) opens the same page; its canonical
    URL names the current slug."""
    return await _page(request, st, market_id)


async def _points(st: ApiState, market_id: str) -> list[tuple[Any, Decimal]]:
    """The YES price over the market's whole life, at most RAW_POINTS of them."""
    async with st.pool.connection() as conn:
        points = await q_trades.price_points(conn, market_id, since=None, limit=RAW_POINTS + 1)
        for seconds in COARSER:
            if len(points) <= RAW_POINTS:
                break
            candles = await q_trades.price_candles(
                conn, market_id, seconds=seconds, since=None, limit=RAW_POINTS + 1
            )
            points = [(t, close) for t, _o, _h, _l, close, _n in candles]
    return points[-RAW_POINTS:]


@router.get(
    "/api/markets/{market_id}/chart.png",
    summary="The market's price chart as a picture (1200×630 PNG) for link previews",
    description="The question, the YES price now and its line over time: the `og:image` and "
    "`twitter:image` of the market's page. Rendered once per change of the market; the ETag "
    "answers a revalidation with 304. (`v`, a version in the page's link, is not read.)",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "A PNG picture"},
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **error_responses(404, 422, 429, 503),
    },
)
async def chart_png(
    market_id: MarketIdPath, request: Request, st: Annotated[ApiState, Depends(state)]
) -> Response:
    await rate_limit(st, request, None, "reads")
    market = await load_market(st, market_id)

    async def render() -> tuple[bytes, str]:
        points = await _points(st, market_id)
        price = Decimal(market["price_yes"] or "0.5")
        question = market["question"] or f"Market {market_id[:8]}"
        png = await asyncio.to_thread(chart_image.render, question, price, points)
        return png, f'"{hashlib.sha256(png).hexdigest()[:32]}"'

    png, etag = await _charts(request).get(f"{market_id}:{market['updated_at']}", render)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={CHART_MAX_AGE}"}
    match = request.headers.get("if-none-match", "")
    tags = {t.strip().removeprefix("W/") for t in match.split(",")}  # the weak comparison
    if etag in tags or "*" in tags:
        return Response(status_code=304, headers=headers)
    return Response(png, media_type="image/png", headers=headers)
