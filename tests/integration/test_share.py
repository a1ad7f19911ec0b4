"""Shared market links end to end (the real app on a socket, the validator, PostgreSQL): the
page at `/market/<id>[/<slug>]` with its server-made head, the chart picture decoded and seen
to move with the price, refusals as HTML pages, and absolute URLs that follow X-Forwarded-Proto
only from a trusted proxy."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import httpx2
import pytest
from PIL import Image
from psycopg_pool import AsyncConnectionPool

from hybridmarket.api import sharing
from hybridmarket.chain import ChainClient
from hybridmarket.indexer.service import Indexer
from hybridmarket.localnet.validator import LocalValidator

from ..unit.test_sharing import parse_head
from .api_fixtures import api_settings, running_api, sign_transaction
from .test_actions import active_market, http  # noqa: F401 (a fixture)
from .test_api import funded

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
SOL = 1_000_000_000
QUESTION = "Will <script>alert(\"x\")</script> & 'friends' reach 1,000 users?"


def png(r: httpx2.Response) -> Image.Image:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    img.load()
    assert img.format == "PNG"
    return img


async def test_a_shared_link_shows_the_market(
    validator: LocalValidator,
    client: ChainClient,
    http: httpx2.AsyncClient,  # noqa: F811
    pool: AsyncConnectionPool,
    db_url: str,
    tmp_path: Path,
) -> None:
    mid = await active_market(validator, client, http, pool, QUESTION)
    slug = sharing.slug(QUESTION)
    assert slug == "will-script-alert-x-script-friends-reach-1-000-users"
    base = str(http.base_url).rstrip("/")
    canonical = f"{base}/market/{mid}/{slug}"

    pages = {}
    for path in (f"/market/{mid}", f"/market/{mid}/{slug}", f"/market/{mid}/an-old-slug"):
        r = await http.get(path)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"].startswith("text/html")
        pages[path] = r.text
    assert len(set(pages.values())) == 1  # any slug, or none: the same page
    text = pages[f"/market/{mid}"]
    assert "<script>alert" not in text and "&lt;script&gt;alert(&quot;x&quot;)" in text
    head = parse_head(text.split("</head>")[0])
    assert head.title == f"{QUESTION} · hybridmarket"
    assert head.meta["og:title"] == QUESTION == head.meta["twitter:title"]
    assert head.links["canonical"] == canonical == head.meta["og:url"]
    assert head.meta["og:description"] == (
        "YES 50.0% · volume 0.00 SOL · closes 2030-01-01 00:00 UTC · Trading"
    )
    assert head.meta["twitter:description"] == head.meta["og:description"]
    assert head.meta["twitter:card"] == "summary_large_image"
    assert (head.meta["og:type"], head.meta["og:site_name"]) == ("website", "hybridmarket")
    image = head.meta["og:image"]
    assert image == head.meta["twitter:image"]
    assert image.startswith(f"{base}/api/markets/{mid}/chart.png?v=")
    # The UI's own page: its scripts and styles are absolute, so they load from this path.
    for asset in ("/static/app.js", "/static/app.css", "/static/vendor/nacl-fast.min.js"):
        assert f'"{asset}"' in text
        assert (await http.get(asset)).status_code == 200
    assert (await http.head(f"/market/{mid}/{slug}")).status_code == 200  # link checkers

    # The picture: a PNG of the card's size, cached with an ETag.
    first = await http.get(image)
    before = png(first)
    assert before.size == (1200, 630)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = await http.get(f"/api/markets/{mid}/chart.png", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    assert (await http.get(f"/api/markets/{mid}/chart.png")).content == first.content

    # A trade moves the price: a new picture, a new description, a new image URL.
    trader = await funded(client, 50 * SOL)
    built = await http.post(
        f"/api/markets/{mid}/buy",
        json={"wallet": str(trader.pubkey()), "outcome": "yes", "amount": 20 * SOL},
    )
    assert built.status_code == 200, built.text
    relayed = await http.post(
        "/api/transactions",
        json={"transaction": sign_transaction(built.json()["transaction"], trader)},
    )
    assert relayed.status_code == 200 and relayed.json()["status"] == "confirmed", relayed.text
    await Indexer(pool, client).sync()
    price = (await http.get(f"/api/markets/{mid}")).json()["price_yes"]
    moved = parse_head((await http.get(f"/market/{mid}")).text.split("</head>")[0])
    percent = f"{float(price) * 100:.1f}%"
    assert moved.meta["og:description"].startswith(f"YES {percent} · volume ")
    assert moved.meta["og:image"] != image
    changed = await http.get(moved.meta["og:image"])
    after = png(changed)
    assert after.size == (1200, 630) and changed.headers["etag"] != etag
    assert after.tobytes() != before.tobytes()
    stale = await http.get(f"/api/markets/{mid}/chart.png", headers={"If-None-Match": etag})
    assert stale.status_code == 200

    # Refusals: pages for people (HTML 404), the envelope for the API.
    unknown = hashlib.sha256(b"no such market").hexdigest()
    for path in (f"/market/{unknown}", f"/market/{unknown}/a-slug", "/market/xyz", "/market/XYZ/s"):
        r = await http.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html")
        assert "No such market" in r.text
    r = await http.get(f"/api/markets/{unknown}/chart.png")
    assert r.status_code == 404 and r.json()["error"]["code"] == "market_not_found"
    r = await http.get("/api/markets/xyz/chart.png")
    assert r.status_code == 422 and "error" in r.json()

    # Behind a proxy: X-Forwarded-Proto counts only from TRUSTED_PROXIES.
    forwarded = {"X-Forwarded-Proto": "https", "Host": "markets.example"}
    r = await http.get(f"/market/{mid}", headers=forwarded)
    assert parse_head(r.text).links["canonical"].startswith("http://markets.example/market/")
    trusted = api_settings(
        db_url, validator.rpc_url, validator.ws_url, tmp_path, TRUSTED_PROXIES="127.0.0.1"
    )
    async with running_api(trusted) as behind:
        r = await behind.get(f"/market/{mid}/x", headers=forwarded)
        head = parse_head(r.text)
        assert head.links["canonical"] == f"https://markets.example/market/{mid}/{slug}"
        assert head.meta["og:image"].startswith("https://markets.example/api/markets/")


async def test_public_url_starts_the_absolute_urls(
    validator: LocalValidator,
    client: ChainClient,
    http: httpx2.AsyncClient,  # noqa: F811
    pool: AsyncConnectionPool,
    db_url: str,
    tmp_path: Path,
) -> None:
    """The shared page's meta and the Action's icon and buttons start at PUBLIC_URL when it is
    set, whatever Host the request names; without it, at the request's own base URL."""
    question = "Will the ferry timetable change in spring?"
    mid = await active_market(validator, client, http, pool, question)
    path = f"/market/{mid}/{sharing.slug(question)}"

    async def absolute_urls(h: httpx2.AsyncClient, headers: dict[str, str]) -> list[str]:
        page = await h.get(f"/market/{mid}", headers=headers)
        assert page.status_code == 200, page.text
        head = parse_head(page.text.split("</head>")[0])
        action = await h.get(f"/api/actions/markets/{mid}", headers=headers)
        assert action.status_code == 200, action.text
        body = action.json()
        return [
            head.links["canonical"],
            head.meta["og:url"],
            head.meta["og:image"],
            head.meta["twitter:image"],
            body["icon"],
            *(x["href"] for x in body["links"]["actions"]),
        ]

    own = str(http.base_url).rstrip("/")
    urls = await absolute_urls(http, {})
    assert urls[0] == own + path
    assert all(u.startswith(own + "/") for u in urls), urls

    public = "https://markets.example/hm"
    configured = api_settings(
        db_url, validator.rpc_url, validator.ws_url, tmp_path, PUBLIC_URL=public + "/"
    )
    assert configured.public_url == public  # the trailing slash dropped
    async with running_api(configured) as h:
        urls = await absolute_urls(h, {"Host": "elsewhere.example"})
        assert urls[0] == public + path == urls[1]
        assert urls[2].startswith(f"{public}/api/markets/{mid}/chart.png?v=")
        assert urls[4] == f"{public}/api/actions/markets/{mid}/icon.svg"
        assert urls[5:] == [
            f"{public}/api/actions/markets/{mid}?outcome={side}&amount={{amount}}"
            for side in ("yes", "no")
        ]
        icon = await h.get(f"/api/actions/markets/{mid}/icon.svg")  # still served here
        assert icon.status_code == 200
