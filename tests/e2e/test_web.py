"""The web UI in a real browser (Debian's Chromium driven by Playwright) against the real stack: a
local validator, a fresh PostgreSQL database, the indexer following live, the API serving the UI.

A person's paths: the market list, buying YES and seeing the price and the chart move, voting on
a proposal, posting and deleting a comment, claiming after finalization, a phone-sized screen.
The browser's wallet is the demo wallet (a keypair in localStorage, funded by the faucet); every
transaction is signed in the page and relayed through the API. Screenshots go to
test-artifacts/web/."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import base58
import httpx2
import pytest
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket.canonical import canonical_json
from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.db.connect import make_pool
from hybridmarket.db.queries import discussions as q_discussions
from hybridmarket.indexer.service import Indexer
from hybridmarket.ipfs import EmbeddedBackend
from hybridmarket.ipfs.importer import compute_cid
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b
from hybridmarket.worker.snapshots import snapshot_day

from ..integration.api_fixtures import api_settings, running_api, sign_transaction, signed_message
from ..integration.localnet_fixtures import control, running_validator

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
SOL = 1_000_000_000
EVIDENCE = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"evidence").digest()
TIMEOUT_MS = 30_000
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"  # axe-core, vendor/README.md
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

try:
    from playwright.async_api import Browser, Page, async_playwright, expect
except ImportError:  # pragma: no cover - the dev extra installs it
    async_playwright = None  # type: ignore[assignment]


def require_browser() -> None:
    """Fail, never skip, without a browser: a skipped UI test is an untested UI in CI."""
    if async_playwright is None:
        pytest.fail("playwright is not installed: run `make test` (it installs the dev extra)")
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make browser` (apt-get install chromium)")


@dataclass
class World:
    v: LocalValidator
    client: ChainClient
    http: httpx2.AsyncClient
    url: str
    backend: Keypair
    pool: AsyncConnectionPool  # the indexer's, on the API's database
    data_dir: Path  # the API's (its IPFS block store is data_dir / "ipfs")
    creators: dict[str, Keypair] = field(default_factory=dict)  # market id -> its creator

    async def funded(self, lamports: int = 100 * SOL) -> Keypair:
        kp = Keypair()
        await self.client.request_airdrop(kp.pubkey(), lamports)
        return kp

    async def relay(self, built: dict[str, Any], *signers: Keypair) -> None:
        r = await self.http.post(
            "/api/transactions",
            json={"transaction": sign_transaction(built["transaction"], *signers)},
        )
        assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text

    async def market(self, mid: str, **want: Any) -> dict[str, Any]:
        """The market from the API once the indexer shows every field in `want`."""
        m: dict[str, Any] = {}
        for _ in range(400):
            r = await self.http.get(f"/api/markets/{mid}")
            if r.status_code == 200:
                m = r.json()
                if all(m.get(k) == v for k, v in want.items()):
                    return m
            await asyncio.sleep(0.05)
        raise AssertionError(f"market {mid} never had {want}: {m}")

    async def propose(
        self, question: str, category: str = "weather", resolver: Keypair | None = None
    ) -> tuple[str, Keypair]:
        """A market proposed through the API (metadata signed with SIWS), indexed."""
        creator = await self.funded(500 * SOL)
        meta = {
            "question": question,
            "category": category,
            "description": "A market made by the browser tests.",
            "resolution_criteria": "YES if it happens before the closing time, per the evidence.",
            "closes_at": "2030-01-01T00:00:00Z",
            "creator": str(creator.pubkey()),
        }
        mid = hashlib.sha256(canonical_json(meta)).hexdigest()
        message, signature = await signed_message(self.http, creator, "create_market", mid, mid)
        body: dict[str, Any] = {
            "metadata": meta,
            "b_parameter": 100 * SOL,
            "initial_liquidity": 70 * SOL,
            "message": message,
            "signature": signature,
        }
        if resolver is not None:
            body["resolver"] = str(resolver.pubkey())
        r = await self.http.post("/api/markets", json=body)
        assert r.status_code == 201, r.text
        await self.relay(r.json(), creator)
        await self.market(mid, state="PROPOSED")
        self.creators[mid] = creator
        return mid, creator

    async def active(
        self, question: str, category: str = "weather", resolver: Keypair | None = None
    ) -> str:
        """A market liked by 10 wallets (the quorum), approved by the backend key, activated by its creator."""
        mid, creator = await self.propose(question, category, resolver)
        # Straight to the chain: the API's per-IP vote limit is for people, not test set-up.
        voters = [await self.funded(SOL) for _ in range(10)]
        await asyncio.gather(
            *(
                self.client.send([b.submit_proposal_vote(x.pubkey(), bytes.fromhex(mid), True)], x)
                for x in voters
            )
        )
        await self.client.send(
            [b.approve_market(self.backend.pubkey(), bytes.fromhex(mid), 10, 0)], self.backend
        )
        await self.market(mid, state="APPROVED")
        r = await self.http.post(
            f"/api/markets/{mid}/activate", json={"wallet": str(creator.pubkey())}
        )
        assert r.status_code == 200, r.text
        await self.relay(r.json(), creator)
        await self.market(mid, state="ACTIVE")
        return mid

    async def buy(self, mid: str, trader: Keypair, outcome: str, amount: int) -> dict[str, Any]:
        r = await self.http.post(
            f"/api/markets/{mid}/buy",
            json={"wallet": str(trader.pubkey()), "outcome": outcome, "amount": amount},
        )
        assert r.status_code == 200, r.text
        built: dict[str, Any] = r.json()
        await self.relay(built, trader)
        return built

    async def comment(self, author: Keypair, mid: str, text: str) -> None:
        """A comment posted through the API, signed by `author` as a wallet signs it."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        message, signature = await signed_message(self.http, author, "post_comment", mid, digest)
        r = await self.http.post(
            "/api/discussions",
            json={
                "marketId": mid,
                "content": text,
                "wallet": str(author.pubkey()),
                "message": message,
                "signature": signature,
            },
        )
        assert r.status_code == 201, r.text

    async def advance(self, seconds: int) -> None:
        await control(self.v, "hybridmarket_advanceClock", seconds=seconds)
        slot = await self.client.get_slot()
        while await self.client.get_slot() <= slot + 1:
            await asyncio.sleep(0.02)


@pytest.fixture
async def world(tmp_path: Path, db_url: str) -> AsyncIterator[World]:
    require_browser()
    async with (
        running_validator(tmp_path / "ledger") as v,
        ChainClient(v.rpc_url) as client,
        make_pool(db_url, max_size=4, name="e2e-indexer") as pool,
    ):
        indexer = Indexer(pool, client, ws_url=v.ws_url, poll_interval=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(indexer.run(stop))
        try:
            async with running_api(api_settings(db_url, v.rpc_url, v.ws_url, tmp_path)) as http:
                yield World(
                    v,
                    client,
                    http,
                    str(http.base_url),
                    load_keypair(v.key_paths["backend_authority"]),
                    pool,
                    tmp_path,
                )
        finally:
            stop.set()
            await task


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_browser()
    async with async_playwright() as pw:
        br = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield br
        finally:
            await br.close()


class Tab:
    """One browser page with its JavaScript errors collected (a test fails on any)."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.name = name
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "console",
            lambda m: (
                self.errors.append(m.text)
                if m.type == "error" and "Failed to load resource" not in m.text
                else None
            ),
        )
        page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
        page.set_default_timeout(TIMEOUT_MS)

    async def shot(self, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        await self.page.evaluate("window.scrollTo(0, 0)")  # the sticky bar at the top
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    def check(self) -> None:
        assert not self.errors, self.errors


async def open_tab(
    browser: Browser,
    world: World,
    name: str,
    wallet: Keypair | None = None,
    viewport: tuple[int, int] = (1280, 900),
) -> Tab:
    ctx = await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    if wallet is not None:  # the demo wallet's key, as the UI stores it (base58 of 64 bytes)
        secret = base58.b58encode(bytes(wallet)).decode()
        await ctx.add_init_script(
            f"localStorage.setItem('hybridmarket.demoWallet', '{secret}');"
            "localStorage.setItem('hybridmarket.wallet', 'demo');"
        )
    expect.set_options(timeout=TIMEOUT_MS)
    return Tab(await ctx.new_page(), name)


async def wallet_funded(tab: Tab) -> str:
    """Wait for the demo wallet to show a balance above zero; its address."""
    balance = tab.page.get_by_test_id("balance")
    await expect(balance).to_have_text(re.compile(r"^[1-9][\d.,]* SOL$"))
    addr = await tab.page.get_by_test_id("wallet-address").get_attribute("data-address")
    assert addr
    return addr


async def test_list_then_buy_yes_moves_the_price_and_the_chart(
    world: World, browser: Browser
) -> None:
    mid = await world.active("Will it rain in Lisbon on Friday?")
    other = await world.active("Will the ECB cut rates in June?", category="economics")
    trader = await world.funded()
    await world.buy(other, trader, "no", 3 * SOL)
    tab = await open_tab(browser, world, "buy")
    page = tab.page
    await page.goto(world.url + "/")
    cards = page.get_by_test_id("market-card")
    await expect(cards).to_have_count(2)
    # The new demo wallet is funded by the faucet on its first visit.
    address = await wallet_funded(tab)
    await expect(page.locator(f'[data-id="{other}"] [data-testid="change"]')).not_to_have_text("…")
    await tab.shot("list")
    # Search and filter narrow the list.
    await page.get_by_test_id("search").fill("lisbon")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("Lisbon")
    await page.get_by_test_id("search").fill("")
    await page.get_by_test_id("category").select_option("economics")
    await expect(cards).to_have_count(1)
    await expect(cards.first).to_contain_text("ECB")

    await page.goto(world.url + f"/#/market/{mid}")
    await expect(page.get_by_test_id("question")).to_have_text("Will it rain in Lisbon on Friday?")
    await expect(page.get_by_test_id("price-yes")).to_have_text("50.0%")
    chart = page.get_by_test_id("chart")
    await expect(chart.locator("canvas")).to_have_count(1)
    await expect(chart).to_have_attribute("data-history", re.compile(r"^\d+$"))
    history_before = int(await chart.get_attribute("data-history") or 0)
    last_before = await chart.get_attribute("data-last")
    await page.get_by_test_id("outcome-yes").click()
    await page.get_by_test_id("trade-input").fill("2")
    quote = page.get_by_test_id("quote")
    await expect(page.get_by_test_id("quote-shares")).to_contain_text("YES shares")
    await expect(quote).to_contain_text("Fees")
    await expect(page.get_by_test_id("quote-impact")).to_contain_text("%")
    await tab.shot("quote")
    await page.get_by_test_id("trade-submit").click()
    await expect(page.get_by_test_id("toast-ok").filter(has_text="Bought")).to_be_visible()
    # The trade is indexed; the page hears it on the stream: price, chart, position move.
    await expect(page.get_by_test_id("price-yes")).not_to_have_text("50.0%")
    yes_after = float((await page.get_by_test_id("price-yes").inner_text()).rstrip("%"))
    assert yes_after > 50.0
    await expect(chart).not_to_have_attribute("data-last", last_before or "")
    await expect(chart).to_have_attribute("data-history", str(history_before + 1))
    await expect(page.get_by_test_id("pos-yes")).not_to_contain_text("0.00")
    await expect(page.get_by_test_id("trades-count")).to_contain_text("1")
    await tab.shot("bought")
    # Sell one share back: the sell side quotes in shares and pays out.
    await page.get_by_test_id("side-sell").click()
    await expect(page.get_by_test_id("trade-submit")).to_have_text("Sell YES")
    await page.get_by_test_id("trade-input").fill("1")
    await expect(page.get_by_test_id("quote-total")).to_contain_text("SOL")
    await page.get_by_test_id("trade-submit").click()
    await expect(page.get_by_test_id("toast-ok").filter(has_text="Sold 1 YES")).to_be_visible()
    await expect(page.get_by_test_id("trades-count")).to_contain_text("2")
    # The chain agrees: this wallet holds YES shares.
    pos = (await world.http.get(f"/api/users/{address}/positions")).json()["positions"]
    assert [p["market_id"] for p in pos] == [mid] and pos[0]["shares_yes"] > 0
    assert pos[0]["total_withdrawn"] > 0
    # The portfolio lists it.
    await page.goto(world.url + "/#/portfolio")
    await expect(page.get_by_test_id("position-row")).to_have_count(1)
    await tab.shot("portfolio")
    tab.check()


async def test_propose_a_market_then_vote_on_it(world: World, browser: Browser) -> None:
    tab = await open_tab(browser, world, "vote")
    page = tab.page
    await page.goto(world.url + "/#/new")
    address = await wallet_funded(tab)
    question = "Will the new bridge open before 2027?"
    await page.get_by_test_id("new-question").fill(question)
    await page.get_by_test_id("new-category").fill("Infrastructure")
    await page.get_by_test_id("new-description").fill("The city says the works end in 2026.")
    await page.get_by_test_id("new-criteria").fill("YES if the bridge opens to traffic in 2026.")
    await page.get_by_test_id("new-b").fill("5")
    await expect(page.get_by_test_id("new-liquidity")).to_have_value("3.47")
    # What the API and the program would refuse is said next to its field, before signing.
    await page.get_by_test_id("new-closes").fill("2020-01-01T12:00")
    await page.get_by_test_id("new-liquidity").fill("69315")
    await page.get_by_test_id("new-submit").click()
    await expect(page.get_by_test_id("new-closes-error")).to_contain_text("has passed")
    await expect(page.get_by_test_id("new-liquidity-error")).to_contain_text("Your wallet holds")
    await expect(page).to_have_url(re.compile(r"#/new$"))
    await page.get_by_test_id("new-closes").fill("2026-12-31T23:00")
    await page.get_by_test_id("new-liquidity").fill("3.47")
    await expect(page.get_by_test_id("new-closes-error")).to_be_hidden()
    await expect(page.get_by_test_id("new-liquidity-error")).to_be_hidden()
    await tab.shot("propose")
    await page.get_by_test_id("new-submit").click()
    # Signed metadata stored, the propose_market transaction signed and relayed, then indexed.
    await expect(page.get_by_test_id("question")).to_have_text(question)
    found = re.search(r"#/market/([0-9a-f]{64})/will-the-new-bridge-open-before-2027$", page.url)
    assert found, page.url  # the id, and the question as a readable slug
    mid = found[1]
    m = await world.market(mid, state="PROPOSED")
    assert m["creator"] == address and m["category"] == "infrastructure"
    assert m["b_parameter"] == 5 * SOL and m["initial_liquidity"] == 3_470_000_000
    assert m["closes_at"] is not None
    panel = page.get_by_test_id("vote-panel")
    await expect(panel).to_contain_text("Proposal vote")
    await expect(page.get_by_test_id("threshold")).to_contain_text("Needs 70.00% of at least 10")
    await tab.shot("before")
    await page.get_by_test_id("vote-yes").click()
    await expect(page.get_by_test_id("your-vote")).to_contain_text("Like")
    await expect(page.get_by_test_id("tally")).to_have_attribute("data-yes", "1")
    await expect(page.get_by_test_id("vote-yes")).to_be_disabled()
    await tab.shot("voted")
    votes = (await world.http.get(f"/api/markets/{mid}/votes")).json()
    assert votes["proposal"]["likes"] == 1 and votes["proposal"]["dislikes"] == 0
    tab.check()


async def test_post_and_delete_a_comment(world: World, browser: Browser) -> None:
    # Active: the markets whose discussions are archived daily.
    mid = await world.active("Will a comet be visible by eye this year?", "science")
    tab = await open_tab(browser, world, "comment")
    page = tab.page
    await page.goto(world.url + f"/#/market/{mid}")
    await wallet_funded(tab)
    text = "Two observatories say it will peak at magnitude 4 <b>not bold</b> — see their notes."
    await page.get_by_test_id("comment-input").fill(text)
    await page.get_by_test_id("comment-post").click()
    comment = page.get_by_test_id("comment")
    await expect(comment).to_have_count(1)
    # Shown as text: the markup is not interpreted.
    await expect(comment.locator(".comment-body")).to_have_text(text)
    await expect(comment.locator("b")).to_have_count(0)
    await tab.shot("posted")
    listed = (await world.http.get(f"/api/discussions/{mid}")).json()["discussions"]
    assert [c["content"] for c in listed] == [text]
    # The day archived on IPFS (only a day that is over is: the comment is moved to
    # yesterday): the market page names the archive's head, the CID anchored.
    await expect(page.get_by_test_id("archive-head")).to_have_count(0)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    async with world.pool.connection() as conn:
        await conn.execute(
            "UPDATE discussions SET created_at = created_at - interval '1 day' "
            "WHERE market_id = %s",
            (mid,),
        )
    await snapshot_day(world.pool, EmbeddedBackend(world.data_dir / "ipfs"), yesterday)
    async with world.pool.connection() as conn:
        (anchor,) = await q_discussions.list_anchors(conn, mid)
    await page.reload()
    await expect(page.get_by_test_id("archive-head")).to_have_text(anchor["ipfs_hash"])
    await expect(page.get_by_test_id("archive-verify")).to_have_text(
        f"hybridmarket verify-archive {mid}"
    )
    await comment.get_by_test_id("comment-delete").click()
    await expect(comment).to_have_count(0)
    await expect(page.get_by_test_id("comments")).to_contain_text("No comments yet")
    await tab.shot("deleted")
    assert (await world.http.get(f"/api/discussions/{mid}")).json()["discussions"] == []
    tab.check()


async def test_claim_after_finalization(world: World, browser: Browser) -> None:
    resolver = await world.funded()
    mid = await world.active("Will the marathon record fall in Berlin?", "sports", resolver)
    me = Keypair()  # the browser's demo wallet, known here so the test can trade as it
    tab = await open_tab(browser, world, "claim", wallet=me)
    page = tab.page
    await page.goto(world.url + f"/#/market/{mid}")
    await expect(page.get_by_test_id("balance")).to_have_text("0 SOL")
    await page.get_by_test_id("outcome-yes").click()
    await page.get_by_test_id("trade-input").fill("3")
    await expect(page.get_by_test_id("quote-short")).to_contain_text("not enough")
    await page.get_by_test_id("faucet").click()  # the faucet button, as a person would
    await wallet_funded(tab)
    await expect(page.get_by_test_id("quote-short")).to_have_count(0)
    await page.get_by_test_id("trade-input").fill("3")
    await expect(page.get_by_test_id("quote-total")).to_contain_text("SOL")
    await page.get_by_test_id("trade-submit").click()
    await expect(page.get_by_test_id("toast-ok").filter(has_text="Bought")).to_be_visible()
    await expect(page.get_by_test_id("pos-yes")).not_to_contain_text("0.00")
    # The resolver says YES; nobody disputes; the backend finalizes after the dispute period.
    cfg = await world.client.get_config()
    assert cfg is not None
    await world.advance(cfg.min_resolution_delay)
    await world.client.send(
        [b.resolve_market(resolver.pubkey(), bytes.fromhex(mid), True, EVIDENCE)], resolver
    )
    await world.market(mid, state="RESOLVING")
    await expect(page.get_by_test_id("dispute-panel")).to_contain_text("YES")
    await expect(page.get_by_test_id("evidence")).to_contain_text("bafkrei")
    await tab.shot("resolving")
    await world.advance(cfg.dispute_period)
    await world.client.send(
        [b.finalize_market(world.backend.pubkey(), bytes.fromhex(mid), resolver.pubkey())],
        world.backend,
    )
    await world.market(mid, state="FINALIZED")
    await expect(page.get_by_test_id("final-outcome")).to_have_text("YES")
    # Settled: the outcome and what a share pays, not a trading price.
    await expect(page.get_by_test_id("settled-outcome")).to_contain_text("YES won")
    await expect(page.get_by_test_id("settled-payout")).to_have_text(
        "Each YES share pays 1 SOL; NO shares pay nothing."
    )
    await expect(page.get_by_test_id("price-yes")).to_have_count(0)
    claim = page.get_by_test_id("claim")
    await expect(claim).to_contain_text("Claim")
    await tab.shot("finalized")
    before = await world.client.get_balance(me.pubkey())
    await claim.click()
    await expect(page.get_by_test_id("toast-ok").filter(has_text="claimed")).to_be_visible()
    await expect(page.get_by_test_id("claimed")).to_contain_text("You claimed")
    await tab.shot("claimed")
    pos = (await world.http.get(f"/api/users/{me.pubkey()}/positions")).json()["positions"]
    assert pos[0]["has_claimed"] and pos[0]["claimed"] == pos[0]["shares_yes"]
    assert await world.client.get_balance(me.pubkey()) > before
    tab.check()


async def test_resolve_as_the_resolver_then_dispute_and_vote(
    world: World, browser: Browser
) -> None:
    me = Keypair()  # the browser's wallet is this market's resolver
    mid = await world.active("Will the lake freeze by February?", "weather", resolver=me)
    invalid = await world.active("Will the river freeze by March?", "weather", resolver=me)
    await world.client.request_airdrop(me.pubkey(), 10 * SOL)
    cfg = await world.client.get_config()
    assert cfg is not None
    await world.advance(cfg.min_resolution_delay)
    tab = await open_tab(browser, world, "dispute", wallet=me)
    page = tab.page
    await page.goto(world.url + f"/#/market/{mid}")
    panel = page.get_by_test_id("resolve-panel")
    await expect(panel).to_contain_text("You are the resolver")
    # The evidence is written in the page, stored on IPFS, and its CID goes on chain.
    statement = "The lake stayed open all winter: https://example.org/lake-report-2027"
    evidence = compute_cid(statement.encode() + b"\n", cid_version=1)
    await page.get_by_test_id("resolve-outcome").select_option("no")
    await page.get_by_test_id("resolve").click()  # without evidence: said, nothing signed
    await expect(page.get_by_test_id("resolve-error")).to_contain_text("Give the evidence")
    await page.get_by_test_id("resolve-evidence").fill(statement)
    await page.get_by_test_id("resolve").click()
    await expect(page.get_by_test_id("dispute-panel")).to_contain_text("The resolver says NO")
    await expect(page.get_by_test_id("proposed-outcome")).to_have_text("NO")
    link = page.get_by_test_id("evidence").locator("a")
    await expect(link).to_have_attribute("href", f"/ipfs/{evidence}")
    m = await world.market(mid, state="RESOLVING")
    assert m["resolution"]["evidence_cid"] == evidence
    # The page shows what it says, its link a link.
    await expect(page.get_by_test_id("evidence-text")).to_have_text(statement)
    await expect(page.get_by_test_id("evidence-text").locator("a")).to_have_attribute(
        "href", "https://example.org/lake-report-2027"
    )
    # The link opens the evidence through the gateway.
    async with page.context.expect_page() as opened:
        await link.click()
    shown = await opened.value
    await expect(shown.locator("body")).to_have_text(statement)
    await shown.close()
    await tab.shot("resolving")
    # Anyone may dispute within the window; then wallets vote whether the outcome is wrong.
    await page.get_by_test_id("initiate-dispute").click()
    await expect(page.get_by_test_id("state").first).to_have_text("Disputed")
    await expect(page.get_by_test_id("vote-panel")).to_contain_text("Dispute vote")
    await expect(page.get_by_test_id("threshold")).to_contain_text("Needs 60.00% of at least 5")
    # Colour follows meaning: "wrong" is red, "right" green (they were the other way round).
    await expect(page.get_by_test_id("vote-yes")).to_have_text("Outcome is wrong")
    await expect(page.get_by_test_id("vote-yes")).to_have_class(re.compile(r"\bbtn-no\b"))
    await expect(page.get_by_test_id("vote-no")).to_have_class(re.compile(r"\bbtn-yes\b"))
    await page.get_by_test_id("vote-yes").click()
    await expect(page.get_by_test_id("your-vote")).to_contain_text("Outcome is wrong")
    await expect(page.get_by_test_id("tally")).to_have_attribute("data-yes", "1")
    await tab.shot("disputed")
    m = await world.market(mid, state="DISPUTED")
    assert m["resolution"]["dispute_initiator"] == str(me.pubkey())
    assert m["resolution"]["proposed_outcome"] == "no"
    votes = (await world.http.get(f"/api/markets/{mid}/votes")).json()
    assert votes["dispute"]["agree"] == 1
    # A resolution to INVALID cannot be disputed (the program refuses it): nothing offers to.
    await page.goto(world.url + f"/#/market/{invalid}")
    await page.get_by_test_id("resolve-outcome").select_option("invalid")
    await page.get_by_test_id("resolve-evidence").fill("The river was never measured.")
    await page.get_by_test_id("resolve").click()
    dispute = page.get_by_test_id("dispute-panel")
    await expect(dispute).to_contain_text("An invalid resolution cannot be disputed")
    await expect(page.get_by_test_id("initiate-dispute")).to_have_count(0)
    tab.check()


async def test_phone_sized_screen(world: World, browser: Browser) -> None:
    mid = await world.active("Will the harbour freeze over this winter?")
    tab = await open_tab(browser, world, "phone", viewport=(390, 844))
    page = tab.page
    await page.goto(world.url + "/")
    await expect(page.get_by_test_id("market-card")).to_have_count(1)
    await wallet_funded(tab)
    await tab.shot("list")
    await page.get_by_test_id("market-card").click()
    await expect(page.get_by_test_id("chart").locator("canvas")).to_have_count(1)
    # The trade box is far down (under the prices and the chart): a bar at the bottom of the
    # screen brings it up, with the outcome chosen and the amount to type.
    box = page.get_by_test_id("trade-box")
    await expect(box).not_to_be_in_viewport(ratio=0.5)
    bar = page.get_by_test_id("trade-bar")
    await expect(bar).to_be_in_viewport()
    await expect(page.get_by_test_id("bar-buy-no")).to_have_text("Buy NO 50.0%")
    assert await serious_violations(page) == []  # the bar's colours and names too
    await tab.page.screenshot(path=str(ARTIFACTS / "phone-bar.png"))
    await page.get_by_test_id("bar-buy-no").click()
    await expect(box).to_be_in_viewport(ratio=0.5)
    await expect(page.get_by_test_id("outcome-no")).to_have_attribute("aria-pressed", "true")
    await expect(page.get_by_test_id("trade-input")).to_be_focused()
    await expect(bar).to_be_hidden()
    await page.get_by_test_id("trade-input").fill("1")
    await expect(page.get_by_test_id("quote-total")).to_contain_text("SOL")
    await tab.shot("market")
    # Nothing wider than the screen: no sideways scrolling.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    box = await page.get_by_test_id("trade-box").bounding_box()
    assert box is not None and box["width"] <= 390
    assert page.url.endswith(f"#/market/{mid}/will-the-harbour-freeze-over-this-winter")
    tab.check()


# A stand-in for Phantom or Solflare: a Wallet Standard wallet registered the way real ones do
# (answering the app's "wallet-standard:app-ready" event), holding its own key, signing what the
# page hands it, and counting what it signed.
FAKE_WALLET = """
(() => {
  const secret = Uint8Array.from(%(secret)s);
  const address = %(address)r;
  const account = { address, publicKey: secret.slice(32), chains: ["solana:localnet"],
                    features: ["solana:signTransaction", "solana:signMessage"] };
  window.__fakeWallet = { transactions: 0, messages: 0 };
  const wallet = {
    version: "1.0.0", name: "Test Wallet", icon: "data:image/svg+xml,%%3Csvg xmlns='http://www.w3.org/2000/svg'/%%3E",
    chains: ["solana:localnet"], accounts: [account],
    features: {
      "standard:connect": { version: "1.0.0", connect: async () => ({ accounts: [account] }) },
      "standard:disconnect": { version: "1.0.0", disconnect: async () => {} },
      "standard:events": { version: "1.0.0", on: () => () => {} },
      "solana:signMessage": { version: "1.0.0", signMessage: async (...inputs) => inputs.map((i) => {
        window.__fakeWallet.messages++;
        return { signedMessage: i.message, signature: window.nacl.sign.detached(i.message, secret) };
      }) },
      "solana:signTransaction": { version: "1.0.0", supportedTransactionVersions: ["legacy", 0],
        signTransaction: async (...inputs) => inputs.map((i) => {
          window.__fakeWallet.transactions++;
          const tx = new Uint8Array(i.transaction);
          const n = tx[0];  // compact-u16, one byte for a few signatures; we are the fee payer
          const message = tx.subarray(1 + 64 * n);
          tx.set(window.nacl.sign.detached(message, secret), 1);
          return { signedTransaction: tx };
        }) },
    },
  };
  window.addEventListener("wallet-standard:app-ready", (e) => e.detail.register(wallet));
})();
"""


async def test_a_browser_wallet_through_the_wallet_standard(world: World, browser: Browser) -> None:
    mid, _creator = await world.propose("Will the river flood the old town in spring?", "weather")
    kp = Keypair()
    tab = await open_tab(browser, world, "browser-wallet")
    await tab.page.context.add_init_script(
        FAKE_WALLET % {"secret": list(bytes(kp)), "address": str(kp.pubkey())}
    )
    page = tab.page
    await page.goto(world.url + f"/#/market/{mid}")
    await wallet_funded(tab)  # the demo wallet, until the person picks their own
    await page.get_by_test_id("wallet-address").click()
    await page.get_by_role("button", name="Connect Test Wallet").click()
    await expect(page.get_by_test_id("wallet-address")).to_have_attribute(
        "data-address", str(kp.pubkey())
    )
    await expect(page.get_by_test_id("wallet-address")).to_contain_text("Test Wallet")
    await page.get_by_test_id("faucet").click()
    await wallet_funded(tab)
    # A transaction (the vote) and a message (the comment), both signed by the wallet.
    await page.get_by_test_id("vote-no").click()
    await expect(page.get_by_test_id("your-vote")).to_contain_text("Dislike")
    await page.get_by_test_id("comment-input").fill("Signed by my own wallet.")
    await page.get_by_test_id("comment-post").click()
    await expect(page.get_by_test_id("comment")).to_have_count(1)
    await tab.shot("connected")
    assert await page.evaluate("window.__fakeWallet") == {"transactions": 1, "messages": 1}
    votes = (
        await world.http.get(f"/api/markets/{mid}/votes", params={"wallet": str(kp.pubkey())})
    ).json()
    assert votes["proposal"]["your_vote"]["vote"] is False
    comments = (await world.http.get(f"/api/discussions/{mid}")).json()["discussions"]
    assert [c["user_wallet"] for c in comments] == [str(kp.pubkey())]
    # The choice is remembered: after a reload the page reconnects the same wallet.
    await page.reload()
    await expect(page.get_by_test_id("wallet-address")).to_have_attribute(
        "data-address", str(kp.pubkey())
    )
    tab.check()


async def test_amounts_slippage_comment_length_and_toasts_say_what_is_true(
    world: World, browser: Browser
) -> None:
    """The fee rate is shown before an amount is typed; a decimal comma is a decimal comma
    (never a 10x trade) and an ambiguous "1,500" is
    refused; changing the slippage re-quotes and an out-of-range one is said; selling more than
    the wallet holds is refused before signing; the comment
    counter counts as the server does (code points: 1,000 emoji fit, not 1,001); an error
    toast does not outlive its page."""
    mid = await world.active("Will the harbour freeze over this winter?")
    tab = await open_tab(browser, world, "amounts")
    page = tab.page
    await page.goto(world.url + f"/#/market/{mid}")
    await wallet_funded(tab)
    # The fee rate shows before any amount is typed, in the trade box and the details.
    await expect(page.get_by_test_id("fee-rate")).to_have_text(
        "Fees: 10.00% of each trade (protocol 3.00%, resolver 2.00%, liquidity providers 5.00%)."
    )
    await expect(page.get_by_test_id("fee-total")).to_have_text("10.00% per trade")
    amount = page.get_by_test_id("trade-input")
    async with page.expect_request(lambda r: "/price" in r.url and "amount=1500000000" in r.url):
        await amount.fill("1,5")
    await expect(page.get_by_test_id("quote-total")).to_be_visible()
    await expect(page.get_by_test_id("trade-submit")).to_be_enabled()
    await amount.fill("1,500")
    await expect(page.get_by_test_id("amount-error")).to_contain_text("decimal point")
    await expect(page.get_by_test_id("trade-submit")).to_be_disabled()
    async with page.expect_request(lambda r: "/price" in r.url and "amount=2000000000" in r.url):
        await amount.fill("2")
    await expect(page.get_by_test_id("quote-total")).to_be_visible()
    # Slippage: a new value re-quotes; one out of range is refused in words.
    await page.locator("details.slippage summary").click()
    slippage = page.get_by_test_id("slippage")
    async with page.expect_request(lambda r: "/price" in r.url and "amount=2000000000" in r.url):
        await slippage.fill("5")
        await slippage.dispatch_event("change")
    await expect(page.get_by_test_id("quote")).to_contain_text("Max with slippage")
    await expect(page.get_by_test_id("slippage-error")).to_be_hidden()
    await slippage.fill("80")
    await slippage.dispatch_event("change")
    await expect(page.get_by_test_id("slippage-error")).to_contain_text("0 to 50")

    # Selling shares the wallet does not hold is stopped before anything is signed.
    await page.get_by_test_id("side-sell").click()
    await amount.fill("1")
    await expect(page.get_by_test_id("sell-too-much")).to_have_text(
        "You hold 0 YES shares: you cannot sell 1."
    )
    await expect(page.get_by_test_id("trade-submit")).to_be_disabled()
    await page.get_by_test_id("side-buy").click()

    # 1,000 emoji are 1,000 characters to the server (2,000 UTF-16 units to a textarea).
    comment = page.get_by_test_id("comment-input")
    await comment.fill("🌧" * 1001)
    await expect(page.locator(".char-count")).to_have_text("1001 / 1000")
    await expect(page.get_by_test_id("comment-post")).to_be_disabled()
    await comment.fill("🌧" * 1000)
    await expect(page.locator(".char-count")).to_have_text("1000 / 1000")
    await page.get_by_test_id("comment-post").click()
    await expect(page.get_by_test_id("comment")).to_have_count(1)
    listed = (await world.http.get(f"/api/discussions/{mid}")).json()["discussions"]
    assert [c["content"] for c in listed] == ["🌧" * 1000]

    # An error toast (posting nothing) is gone once the user has moved to another page.
    await page.get_by_test_id("comment-post").click()
    await expect(page.get_by_test_id("toast-error")).to_contain_text("Write something first")
    await page.goto(world.url + "/#/")
    await expect(page.get_by_test_id("market-card")).to_have_count(1)
    await expect(page.get_by_test_id("toast-error")).to_have_count(0)
    tab.check()


async def test_api_docs_render_offline(world: World, browser: Browser) -> None:
    """/docs is Swagger UI from the package's vendored copy: it renders with every request to
    another host refused (it was blank offline, loading its scripts from a CDN)."""
    tab = await open_tab(browser, world, "docs")
    page = tab.page
    origin = world.url.rstrip("/")
    elsewhere: list[str] = []

    async def only_here(route: Any) -> None:
        if route.request.url.startswith(origin):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_here)
    await page.goto(world.url + "/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("hybridmarket API")
    await expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert elsewhere == []
    tab.check()


async def _chain_time_header(world: World, at_least: int) -> int:
    """X-Chain-Time of an API response, once it has reached `at_least` (the API reads the chain
    at most once a second, so a moved clock shows within a few reads)."""
    seen = None
    for _ in range(200):
        r = await world.http.get("/api/markets")
        assert r.status_code == 200, r.text
        seen = int(r.headers["X-Chain-Time"])
        if seen >= at_least:
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"X-Chain-Time stayed at {seen}, below {at_least}")


async def test_api_responses_and_stream_events_carry_the_chains_clock(world: World) -> None:
    """Every /api/* response says the chain's time (X-Chain-Time, unix seconds), which follows a
    clock moved on by days, and so does every live event (chain_time); with the chain not
    answering the API still answers, its clock run on from the last reading."""
    chain = await world.client.chain_time()
    first = await _chain_time_header(world, 0)
    assert abs(first - chain) <= 2, (first, chain)
    assert "x-chain-time" not in (await world.http.get("/")).headers  # the UI's page: not API
    await world.advance(3 * 86400)
    moved = await _chain_time_header(world, chain + 3 * 86400)
    assert moved - chain < 3 * 86400 + 60

    # A live event carries it too.
    async with world.http.stream("GET", "/api/stream") as resp:
        lines = resp.aiter_lines()
        proposing = asyncio.create_task(world.propose("Will the tram line reach the port?"))
        event = None
        async with asyncio.timeout(60):
            async for line in lines:
                if line == "event: market":
                    event = json.loads((await anext(lines)).removeprefix("data: "))
                    break
        await proposing
    assert event is not None and event["question"] == "Will the tram line reach the port?"
    assert moved <= event["chain_time"] < moved + 120

    # Every RPC request to the chain now hangs: the API answers all the same.
    await control(world.v, "hybridmarket_setFaults", timeout_rate=1.0, timeout_seconds=3)
    try:
        last = moved
        for _ in range(15):  # over more than a second: the API tries the chain again meanwhile
            r = await world.http.get("/api/markets")
            assert r.status_code == 200, r.text
            t = int(r.headers["X-Chain-Time"])
            assert t >= last
            last = t
            await asyncio.sleep(0.1)
    finally:
        await control(world.v, "hybridmarket_clearFaults")


async def test_times_count_from_the_chains_clock(world: World, browser: Browser) -> None:
    """The chain's clock is five days ahead of the browser's: a resolution's countdown, the list's
    "final in …", a trade's "… ago" and the chart's last point count from the chain's time, not
    the browser's (which read "in 7d 23h" and drew the chart days into the future)."""
    resolver = await world.funded()
    mid = await world.active("Will the ferry run on time all week?", resolver=resolver)
    trader = await world.funded()
    await world.advance(5 * 86400)
    await world.buy(mid, trader, "yes", 2 * SOL)
    await world.client.send(
        [b.resolve_market(resolver.pubkey(), bytes.fromhex(mid), True, EVIDENCE)], resolver
    )
    await world.market(mid, state="RESOLVING")
    chain = await world.client.chain_time()
    await _chain_time_header(world, chain)
    tab = await open_tab(browser, world, "chain-clock", wallet=trader)
    page = tab.page
    await page.goto(world.url + "/")
    browser_now = await page.evaluate("Date.now() / 1000")
    assert chain - browser_now > 4 * 86400  # the two clocks really are days apart
    # The dispute period is 3 days from the resolution, which the chain timed a moment ago.
    countdown = re.compile(r"in (2d 23h|3d 0h)")
    await expect(page.get_by_test_id("market-card").locator(".card-foot")).to_contain_text(
        countdown
    )
    await page.goto(world.url + f"/#/market/{mid}")
    await expect(page.get_by_test_id("dispute-panel")).to_contain_text(countdown)
    await expect(page.get_by_test_id("resolution")).to_contain_text(countdown)
    chart = page.get_by_test_id("chart")
    await expect(chart).to_have_attribute("data-end", re.compile(r"^\d+$"))
    end = int(await chart.get_attribute("data-end") or 0)
    assert abs(end - chain) < 600, (end, chain)
    await page.goto(world.url + "/#/portfolio")
    await expect(page.get_by_test_id("portfolio")).to_contain_text(re.compile(r"\d+[sm] ago"))
    await tab.shot("portfolio")
    tab.check()


async def test_the_proposal_form_says_what_is_wrong_with_the_question(
    world: World, browser: Browser
) -> None:
    """The API's rules for a question, said next to the field before anything is signed: 10 to
    200 characters once trimmed (counted as code points, as the API counts), and not a copy of
    an existing market's question (ignoring case and runs of whitespace)."""
    existing, _creator = await world.propose("Will the old lighthouse reopen to visitors?")
    tab = await open_tab(browser, world, "question-rules")
    page = tab.page
    await page.goto(world.url + "/#/new")
    await wallet_funded(tab)
    question = page.get_by_test_id("new-question")
    error = page.get_by_test_id("new-question-error")
    signing = page.get_by_test_id("new-submit")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)

    await question.fill("   Rain?   ")
    await signing.click()
    await expect(error).to_contain_text("at least 10 characters (this has 5)")
    await expect(question).to_be_focused()
    await question.fill("🌧" * 200)  # 200 code points (400 UTF-16 units): allowed
    await expect(page.get_by_test_id("new-question-count")).to_have_text("200 / 200 characters")
    await expect(error).to_be_hidden()
    await question.fill("🌧" * 201)
    await expect(error).to_contain_text("at most 200 characters (this has 201)")
    # A copy of an existing question, in other case and spacing, is found before signing.
    await question.fill("  will the OLD lighthouse   reopen to visitors?")
    await expect(error).to_contain_text("This question is already asked")
    link = page.get_by_test_id("new-question-duplicate")
    await expect(link).to_have_attribute("href", re.compile(f"^#/market/{existing}/"))
    await signing.click()
    await expect(error).to_be_visible()
    assert not [u for u in sent if "/api/auth" in u or u.endswith("/api/markets")], sent
    await expect(page).to_have_url(re.compile(r"#/new$"))
    await question.fill("Will the new lighthouse open to visitors?")
    await expect(error).to_be_hidden()
    await tab.shot("question")
    # Someone proposes the same question after the page looked: the API's 409 goes next to
    # the field too, with a link to that market, and nothing is proposed.
    fresh = "Will the harbour ferry run on New Year's Day?"
    async with page.expect_response(lambda r: "/api/markets?q=" in r.url):
        await question.fill(fresh)
    other, _creator = await world.propose(fresh)
    await signing.click()
    await expect(error).to_contain_text("This question is already asked")
    await expect(link).to_have_attribute("href", f"#/market/{other}")
    await expect(page).to_have_url(re.compile(r"#/new$"))
    tab.check()


async def test_filters_live_in_the_url_and_the_back_button_works(
    world: World, browser: Browser
) -> None:
    """Search, category, state and sort are in the list's URL: a shared link opens the same list,
    the back button returns to the previous one; a market has a readable URL (its question as a
    slug after the id) and its old URL, without the slug, still opens it."""
    lisbon = await world.active("Will it rain in Lisbon on Friday?")
    await world.active("Will the ECB cut rates in June?", category="economics")
    await world.propose("Will it snow in Oslo in May?")
    tab = await open_tab(browser, world, "url-state")
    page = tab.page
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/" in r.url else None)
    cards = page.get_by_test_id("market-card")
    await page.goto(world.url + "/")
    await expect(cards).to_have_count(3)
    for i in range(3):  # each card's change is shown (a request per card would be done by then)
        await expect(page.get_by_test_id("change").nth(i)).not_to_have_text("…")
    # The 24 h change comes with the list (change_24h): no request per card.
    assert [u for u in asked if "/history" in u] == [], asked
    await page.get_by_test_id("category").select_option("weather")
    await expect(page).to_have_url(re.compile(r"#/\?category=weather$"))
    await expect(cards).to_have_count(2)
    await page.get_by_test_id("state-filter").select_option("ACTIVE")
    await expect(page).to_have_url(re.compile(r"#/\?category=weather&state=ACTIVE$"))
    await expect(cards).to_have_count(1)
    await page.get_by_test_id("sort").select_option("newest")
    await page.get_by_test_id("search").fill("lisbon")
    await expect(page).to_have_url(
        re.compile(r"#/\?q=lisbon&category=weather&state=ACTIVE&sort=newest$")
    )
    await expect(page.get_by_test_id("announce")).to_have_text("1 market")
    # The card opens the market at its readable URL.
    await cards.first.click()
    await expect(page).to_have_url(
        re.compile(f"#/market/{lisbon}/will-it-rain-in-lisbon-on-friday$")
    )
    await expect(page.get_by_test_id("question")).to_be_focused()  # the new page's heading
    # Back: the same list, filters and all.
    await page.go_back()
    await expect(page.get_by_test_id("search")).to_have_value("lisbon")
    await expect(page.get_by_test_id("sort")).to_have_value("newest")
    await expect(cards).to_have_count(1)
    await page.go_back()  # before the search (one entry for it, not one per key)
    await expect(page.get_by_test_id("search")).to_have_value("")
    await expect(page.get_by_test_id("sort")).to_have_value("newest")
    await expect(page).to_have_url(re.compile(r"#/\?category=weather&state=ACTIVE&sort=newest$"))
    await page.go_back()
    await expect(page.get_by_test_id("sort")).to_have_value("volume")
    await expect(page.get_by_test_id("state-filter")).to_have_value("ACTIVE")
    await expect(cards).to_have_count(1)
    await page.go_back()
    await expect(page.get_by_test_id("state-filter")).to_have_value("")
    await expect(cards).to_have_count(2)
    await page.go_back()
    await expect(page.get_by_test_id("category")).to_have_value("")
    await expect(cards).to_have_count(3)
    # A shared link opens that list in a new tab; an old market URL (no slug) still works.
    other = await open_tab(browser, world, "url-state-shared")
    await other.page.goto(world.url + "/#/?category=economics")
    await expect(other.page.get_by_test_id("market-card")).to_have_count(1)
    await expect(other.page.get_by_test_id("category")).to_have_value("economics")
    await other.page.goto(world.url + f"/#/market/{lisbon}")
    await expect(other.page.get_by_test_id("question")).to_have_text(
        "Will it rain in Lisbon on Friday?"
    )
    await expect(other.page).to_have_url(
        re.compile(f"#/market/{lisbon}/will-it-rain-in-lisbon-on-friday$")
    )
    other.check()
    tab.check()


async def serious_violations(page: Page) -> list[str]:
    """What axe-core finds against WCAG 2.1 A and AA on the page as it is, serious or critical
    only, one line per rule with the first few elements."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    found = await page.evaluate(
        """async (tags) => (await axe.run(document, { runOnly: { type: "tag", values: tags } }))
            .violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" ") + " | " + (n.failureSummary || "")) }))""",
        WCAG_AA,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: {v['nodes']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


async def test_accessibility_of_the_list_market_portfolio_and_propose_pages(
    world: World, browser: Browser
) -> None:
    """axe-core finds no serious or critical WCAG 2.1 AA violation (contrast, roles, names) on
    the list, a market with its trade box, the portfolio, the proposal form, a profile, the
    leaderboards and the notifications, in light and dark; toggles say they are pressed, the
    current page's nav link says so, and a live trade re-renders the cards without anything
    being announced."""
    mid = await world.active("Will the city open a night bus line?")
    trader = await world.funded()
    await world.buy(mid, trader, "yes", 2 * SOL)
    # A comment on the market it holds: a notification for the notifications page.
    await world.comment(await world.funded(), mid, "The council votes on it next month.")
    tab = await open_tab(browser, world, "a11y", wallet=trader)
    page = tab.page
    problems: list[str] = []
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        await page.goto(world.url + "/")
        await expect(page.get_by_test_id("market-card")).to_have_count(1)
        await expect(page.get_by_test_id("change")).not_to_have_text("…")
        problems += [f"list ({scheme}): {v}" for v in await serious_violations(page)]
        await expect(page.locator('[data-nav="markets"]')).to_have_attribute("aria-current", "page")
        await page.goto(world.url + f"/#/market/{mid}")
        await expect(page.get_by_test_id("trade-box")).to_be_visible()
        await expect(page.get_by_test_id("chart").locator("canvas")).to_have_count(1)
        await expect(page.get_by_test_id("activity-chart").locator("canvas")).to_have_count(1)
        await page.get_by_test_id("trade-input").fill("1")
        await expect(page.get_by_test_id("quote-total")).to_be_visible()
        problems += [f"market ({scheme}): {v}" for v in await serious_violations(page)]
        await page.goto(world.url + "/#/portfolio")
        await expect(page.get_by_test_id("position-row")).to_have_count(1)
        await expect(page.locator('[data-nav="portfolio"]')).to_have_attribute(
            "aria-current", "page"
        )
        problems += [f"portfolio ({scheme}): {v}" for v in await serious_violations(page)]
        await page.goto(world.url + f"/#/user/{trader.pubkey()}")
        await expect(page.get_by_test_id("trade-row")).to_have_count(1)
        problems += [f"profile ({scheme}): {v}" for v in await serious_violations(page)]
        await page.goto(world.url + "/#/leaderboards?by=volume")
        await expect(page.get_by_test_id("board-row")).to_have_count(1)
        problems += [f"leaderboards ({scheme}): {v}" for v in await serious_violations(page)]
        await page.goto(world.url + "/#/notifications")
        await expect(page.get_by_test_id("notification")).to_have_count(1)
        await expect(page.get_by_test_id("unread-count")).to_have_text("1")
        problems += [f"notifications ({scheme}): {v}" for v in await serious_violations(page)]
        await page.goto(world.url + "/#/new")
        await page.get_by_test_id("new-question").fill("Short")
        await page.get_by_test_id("new-submit").click()
        await expect(page.get_by_test_id("new-question-error")).to_be_visible()
        problems += [f"propose ({scheme}): {v}" for v in await serious_violations(page)]
    assert problems == [], "\n".join(problems)
    await page.emulate_media(color_scheme="light")

    # Toggles expose their state.
    await page.goto(world.url + f"/#/market/{mid}")
    await expect(page.get_by_test_id("side-buy")).to_have_attribute("aria-pressed", "true")
    await expect(page.get_by_test_id("side-sell")).to_have_attribute("aria-pressed", "false")
    await page.get_by_test_id("outcome-no").click()
    await expect(page.get_by_test_id("outcome-no")).to_have_attribute("aria-pressed", "true")
    await expect(page.get_by_test_id("outcome-yes")).to_have_attribute("aria-pressed", "false")
    await expect(page.get_by_test_id("span-all")).to_have_attribute("aria-pressed", "true")
    await page.get_by_test_id("span-1d").click()
    await expect(page.get_by_test_id("span-1d")).to_have_attribute("aria-pressed", "true")
    await expect(page.get_by_test_id("span-all")).to_have_attribute("aria-pressed", "false")
    # A trade by someone else re-renders the card; nothing of it is announced.
    await page.goto(world.url + "/")
    await expect(page.get_by_test_id("market-card")).to_have_count(1)
    assert await page.locator("main[aria-live], main [aria-live]").count() == 0
    before = await page.get_by_test_id("price").inner_text()
    await world.buy(mid, await world.funded(), "yes", 5 * SOL)
    await expect(page.get_by_test_id("price")).not_to_have_text(before)
    await expect(page.get_by_test_id("announce")).to_have_text("")
    tab.check()


async def test_a_cancelled_market(world: World, browser: Browser) -> None:
    """A market cancelled while trading says so and offers only what the program allows then:
    no trade box (nor the phone's trade bar); each position claims what it is worth at the last
    price; the creator withdraws what is left of the liquidity."""
    mid = await world.active("Will the stadium roof be finished by August?", "sports")
    creator = world.creators[mid]  # the browser's wallet: it traded, and it made the market
    await world.buy(mid, creator, "yes", 4 * SOL)
    await world.client.send(
        [b.cancel_market(world.backend.pubkey(), bytes.fromhex(mid))], world.backend
    )
    await world.market(mid, state="CANCELLED")
    tab = await open_tab(browser, world, "cancelled", wallet=creator, viewport=(390, 844))
    page = tab.page
    await page.goto(world.url + f"/#/market/{mid}")
    await expect(page.get_by_test_id("state").first).to_have_text("Cancelled")
    await expect(page.get_by_test_id("settled-outcome")).to_contain_text("Cancelled")
    await expect(page.get_by_test_id("settled-payout")).to_contain_text(
        "Each position is paid at the last price: a YES share 0."
    )
    await expect(page.get_by_test_id("claim")).to_contain_text("Claim")
    await expect(page.get_by_test_id("trade-box")).to_have_count(0)
    await expect(page.get_by_test_id("trade-bar")).to_be_hidden()
    await expect(page.get_by_test_id("price-yes")).to_have_count(0)
    await expect(page.get_by_test_id("resolution")).to_contain_text("Cancelled")
    await tab.shot("cancelled")
    pos = (await world.http.get(f"/api/users/{creator.pubkey()}/positions")).json()["positions"]
    worth = pos[0]["value"]
    assert 0 < worth < pos[0]["shares_yes"]  # the last price, not a winning share's 1 SOL
    before = await world.client.get_balance(creator.pubkey())
    await page.get_by_test_id("claim").click()
    await expect(page.get_by_test_id("claimed")).to_contain_text("You claimed")
    pos = (await world.http.get(f"/api/users/{creator.pubkey()}/positions")).json()["positions"]
    assert pos[0]["has_claimed"] and pos[0]["claimed"] == worth
    await page.get_by_test_id("withdraw").click()
    await expect(page.get_by_test_id("toast-ok").filter(has_text="withdrawn")).to_be_visible()
    after = await world.client.get_balance(creator.pubkey())
    assert after > before + worth  # the claim, then the liquidity left above it (less fees)
    # In the list: not among the open markets (the default), but among the settled ones:
    # cancelled, without a price bar.
    await page.goto(world.url + "/")
    await expect(page.locator(".list-status")).to_have_text("No markets match.")
    await page.get_by_test_id("state-filter").select_option("settled")
    await expect(page).to_have_url(re.compile(r"#/\?state=settled$"))
    card = page.get_by_test_id("market-card")
    await expect(card.get_by_test_id("price")).to_have_text("Cancelled")
    await expect(card.locator(".bar")).to_have_count(0)
    tab.check()


async def test_evidence_is_stored_on_ipfs_within_bounds(
    world: World, db_url: str, tmp_path: Path
) -> None:
    """POST /api/evidence stores the bytes as they are and answers their CID (what `ipfs add
    --cid-version=1` gives), which the gateway serves; an empty one is 422, one beyond 1 MiB is
    413 in the envelope (the other routes' limit, 64 KiB by default, does not apply to it)."""
    text = b"The lake stayed open all winter: https://example.org/lake-report-2027\n"
    r = await world.http.post("/api/evidence", content=text, headers={"Content-Type": "text/plain"})
    assert r.status_code == 201, r.text
    cid = compute_cid(text, cid_version=1)
    assert r.json() == {"cid": cid, "size": len(text), "url": f"/ipfs/{cid}"}
    shown = await world.http.get(f"/ipfs/{cid}")
    assert shown.status_code == 200 and shown.content == text
    assert shown.headers["content-type"].startswith("text/plain")
    pdf = b"%PDF-1.4\x00\x01\x02" + bytes(range(256)) * 100  # a file, not text
    r = await world.http.post("/api/evidence", content=pdf)
    assert r.status_code == 201, r.text
    shown = await world.http.get(r.json()["url"])
    assert shown.content == pdf and shown.headers["content-type"] == "application/octet-stream"
    r = await world.http.post("/api/evidence", content=b"")
    assert r.status_code == 422 and r.json()["error"]["code"] == "evidence_empty"
    # Up to 1 MiB, although the other routes' bodies are limited to 64 KiB by default.
    r = await world.http.post("/api/evidence", content=b"x" * (1 << 20))
    assert r.status_code == 201, r.text
    r = await world.http.post("/api/evidence", content=b"x" * ((1 << 20) + 1))
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert r.json()["error"]["details"] == {"max_bytes": 1 << 20}
    r = await world.http.post("/api/discussions", content=b"x" * (64 * 1024 + 1))
    assert r.status_code == 413 and r.json()["error"]["details"] == {"max_bytes": 64 * 1024}


async def test_a_program_refusal_is_said_in_words(world: World, browser: Browser) -> None:
    """What the program refuses reaches the trader as a sentence, not its error's name (a
    resolution before the program's minimum delay: ResolutionTooEarly)."""
    me = Keypair()
    mid = await world.active("Will the bakery on Main Street reopen?", resolver=me)
    await world.client.request_airdrop(me.pubkey(), 10 * SOL)
    tab = await open_tab(browser, world, "program-error", wallet=me)
    page = tab.page
    await page.goto(world.url + f"/#/market/{mid}")
    await page.get_by_test_id("resolve-evidence").fill("The bakery's sign says: reopening soon.")
    await page.get_by_test_id("resolve").click()
    toast = page.get_by_test_id("toast-error")
    await expect(toast).to_contain_text("It is too early to resolve this market")
    await expect(toast).not_to_contain_text("ResolutionTooEarly")
    await world.market(mid, state="ACTIVE")
    tab.check()
