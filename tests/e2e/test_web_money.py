"""Following your money and your markets in a real browser (Chromium through Playwright) against
the real stack of tests/e2e/test_web.py (its `world`): the portfolio with exact lamports and a
one-click claim, a sell link into the trade box, the trade history's transactions; a profile and
the leaderboards; a market's tape, largest holders, activity, follow and share at its shared path
URL; notifications arriving live in the top bar's badge and the notifications page, marked read
with a signature."""

from __future__ import annotations

import asyncio
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.async_api import Browser, Page, expect
from solders.keypair import Keypair

from hybridmarket.program import builders as b

from .test_web import (  # noqa: F401 - the fixtures
    EVIDENCE,
    SOL,
    World,
    browser,
    open_tab,
    wallet_funded,
    world,
)

pytestmark = pytest.mark.e2e


def lamports(n: int) -> str:
    """The title a figure carries: its exact lamports."""
    return f"{n} lamports"


def sol_text(lamports: int) -> str:
    """What util.js `sol` shows for an amount of at least 0.0001 SOL (2 decimals from 1 SOL, 4
    below, trailing zeros dropped)."""
    v = Decimal(lamports) / SOL
    digits = 2 if v >= 1 else 4
    text = f"{v.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP):,f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + " SOL"


async def expect_activity_bars(page: Page, w: World, mid: str, interval: str = "1d") -> None:
    """The activity chart draws a bar per interval with trades, and hovering each one the
    legend reads that interval's volume and traders as the API gives them."""
    r = await w.http.get(f"/api/markets/{mid}/activity", params={"interval": interval})
    buckets = r.json()["buckets"]
    assert buckets, r.text
    chart = page.get_by_test_id("activity-chart")
    await expect(chart).to_have_attribute("data-bars", str(len(buckets)))
    await expect(chart.locator("canvas")).to_have_count(1)
    centres = await chart.get_attribute("data-bar-x")
    assert centres is not None
    xs = [int(x) for x in centres.split(",")]
    assert len(xs) == len(buckets) and xs == sorted(xs)
    over = chart.locator(".u-over")
    box = await over.bounding_box()
    assert box is not None
    values = chart.locator(".u-legend .u-series .u-value")
    rows = page.get_by_test_id("activity-row")  # the figures, newest first
    for i, (x, bucket) in enumerate(zip(xs, buckets, strict=True)):
        await over.hover(position={"x": x, "y": box["height"] / 2})
        await expect(values.nth(1)).to_have_text(sol_text(int(bucket["volume"])))
        await expect(values.nth(2)).to_have_text(str(bucket["traders"]))
        volume = rows.nth(len(buckets) - 1 - i).locator("td").nth(1)
        await expect(volume).to_have_attribute("title", lamports(int(bucket["volume"])))
    await page.mouse.move(0, 0)


async def finalize_yes(w: World, mid: str, resolver: Keypair) -> None:
    cfg = await w.client.get_config()
    assert cfg is not None
    await w.advance(cfg.min_resolution_delay)
    await w.client.send(
        [b.resolve_market(resolver.pubkey(), bytes.fromhex(mid), True, EVIDENCE)], resolver
    )
    await w.market(mid, state="RESOLVING")
    await w.advance(cfg.dispute_period)
    await w.client.send(
        [b.finalize_market(w.backend.pubkey(), bytes.fromhex(mid), resolver.pubkey())],
        w.backend,
    )
    await w.market(mid, state="FINALIZED")


async def test_portfolio_claim_in_one_click_profile_and_leaderboards(
    world: World,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    resolver = await world.funded()
    won = await world.active("Will the harbour bridge reopen by June?", "city", resolver)
    still = await world.active("Will the tram line reach the airport?", "city")
    me = await world.funded()  # the browser's wallet
    other = await world.funded()
    await world.buy(won, me, "yes", 3 * SOL)
    await world.buy(won, other, "no", 2 * SOL)
    await world.buy(still, me, "yes", 1 * SOL)
    tab = await open_tab(browser, world, "money-portfolio", wallet=me)
    page = tab.page
    await page.goto(world.url + "/#/portfolio")
    rows = page.get_by_test_id("position-row")
    await expect(rows).to_have_count(2)
    await expect(page.get_by_test_id("action-sell")).to_have_count(2)
    # The market settles while the page is open: its claim is offered at once (the stream's
    # claimable notification).
    await finalize_yes(world, won, resolver)
    await expect(page.get_by_test_id("action-claim")).to_have_count(1)
    address = str(me.pubkey())
    pf = (await world.http.get(f"/api/users/{address}/portfolio")).json()
    by_market = {p["market_id"]: p for p in pf["positions"]}
    assert by_market[won]["action"] == "claim" and by_market[still]["action"] == "sell"
    # Exact lamports, as the API gives them, behind every figure.
    for mid, p in by_market.items():
        row = page.locator(f'[data-testid="position-row"][data-market="{mid}"]')
        await expect(row.get_by_test_id("pos-value")).to_have_attribute(
            "title", lamports(p["value"])
        )
        await expect(row.get_by_test_id("pos-realized")).to_have_attribute(
            "title", lamports(p["realized_pnl"])
        )
        await expect(row.get_by_test_id("pos-unrealized")).to_have_attribute(
            "title", lamports(p["unrealized_pnl"])
        )
        await expect(row.get_by_test_id("pos-avg")).to_contain_text("YES")
        await expect(row.get_by_test_id("state")).to_be_visible()
    await expect(page.get_by_test_id("total-pnl")).to_have_attribute(
        "title", lamports(pf["totals"]["pnl"])
    )
    await expect(page.get_by_test_id("total-claimable")).to_contain_text("SOL")
    # The history: each trade with its question and its transaction.
    trades = (await world.http.get(f"/api/users/{address}/trades")).json()["trades"]
    history = page.get_by_test_id("trade-row")
    await expect(history).to_have_count(2)
    await expect(history.first).to_contain_text("Will the tram line reach the airport?")
    await expect(history.first.get_by_test_id("tx-link")).to_have_attribute(
        "href", re.compile(re.escape(trades[0]["signature"]))
    )
    await tab.shot("portfolio")

    # Claim in one click: built, signed in the page, relayed; the row then says claimed.
    before = await world.client.get_balance(me.pubkey())
    claim = page.locator(f'[data-market="{won}"]').get_by_test_id("action-claim")
    await expect(claim).to_have_text(re.compile(r"^Claim [\d.]+ SOL$"))
    await claim.click()
    await expect(page.get_by_test_id("toast-ok").filter(has_text="Claimed")).to_be_visible()
    await expect(page.locator(f'[data-market="{won}"]')).to_contain_text("Claimed")
    await expect(page.get_by_test_id("action-claim")).to_have_count(0)
    after = await world.client.get_balance(me.pubkey())
    assert after >= before + by_market[won]["value"] - 10_000_000  # less the fee and rent
    pos = (await world.http.get(f"/api/users/{address}/portfolio")).json()["positions"]
    assert next(p for p in pos if p["market_id"] == won)["has_claimed"]

    # Sell: the market's trade box, set to sell YES.
    await page.get_by_test_id("action-sell").click()
    await expect(page.get_by_test_id("question")).to_have_text(
        "Will the tram line reach the airport?"
    )
    await expect(page.get_by_test_id("side-sell")).to_have_attribute("aria-pressed", "true")
    await expect(page.get_by_test_id("outcome-yes")).to_have_attribute("aria-pressed", "true")
    await expect(page.get_by_test_id("trade-input")).to_be_focused()

    # The other trader's profile, reached from the market's largest holders.
    await page.goto(world.url + f"/#/market/{won}")
    await page.get_by_test_id("holders-no").get_by_test_id("wallet-link").click()
    await expect(page).to_have_url(re.compile(f"#/user/{other.pubkey()}$"))
    await expect(page.get_by_test_id("profile-trades")).to_contain_text("1")
    await expect(page.get_by_test_id("position-row")).to_have_count(1)
    await expect(page.get_by_test_id("trade-row")).to_have_count(1)
    await expect(page.get_by_test_id("action-claim")).to_have_count(0)  # not its owner's page
    await tab.shot("profile")

    # Leaderboards: by volume all time, this wallet first; the choice is in the URL.
    await page.get_by_role("link", name="Leaderboards").click()
    await expect(page.locator('[data-nav="leaderboards"]')).to_have_attribute(
        "aria-current", "page"
    )
    board = page.get_by_test_id("board-row")
    await expect(board.first).to_be_visible()
    await page.get_by_test_id("board-volume").click()
    await expect(page).to_have_url(re.compile(r"#/leaderboards\?by=volume$"))
    await expect(page.get_by_test_id("board-volume")).to_have_attribute("aria-current", "true")
    await expect(board.first).to_have_attribute("data-wallet", address)
    await expect(board.first).to_contain_text("(you)")
    volume = (await world.http.get("/api/leaderboards", params={"by": "volume"})).json()
    await expect(board).to_have_count(len(volume["entries"]))
    await page.get_by_test_id("board-week").click()
    await expect(page).to_have_url(re.compile(r"#/leaderboards\?by=volume&period=week$"))
    await expect(page.get_by_test_id("board-week")).to_have_attribute("aria-current", "true")
    await expect(page.get_by_test_id("board-period")).to_have_text(
        re.compile(r"^The week of Monday \d{4}-\d\d-\d\d ")
    )
    await page.go_back()
    await expect(page.get_by_test_id("board-all")).to_have_attribute("aria-current", "true")
    await tab.shot("leaderboards")
    # The creator's profile lists the market it proposed.
    creator = world.creators[won]
    await page.goto(world.url + f"/#/user/{creator.pubkey()}")
    await expect(page.get_by_test_id("created-row")).to_have_count(1)
    await expect(page.get_by_test_id("created-row")).to_contain_text(
        "Will the harbour bridge reopen by June?"
    )
    tab.check()

    # The creator withdraws what is left of the liquidity from its own portfolio.
    theirs = await open_tab(browser, world, "money-creator", wallet=creator)
    await theirs.page.goto(world.url + "/#/portfolio")
    withdraw = theirs.page.get_by_test_id("created-liquidity").get_by_test_id("action-withdraw")
    await expect(withdraw).to_have_text(re.compile(r"^Withdraw [\d.]+ SOL$"))
    before = await world.client.get_balance(creator.pubkey())
    await withdraw.click()
    await expect(
        theirs.page.get_by_test_id("toast-ok").filter(has_text="withdrawn")
    ).to_be_visible()
    await expect(theirs.page.get_by_test_id("created-liquidity")).to_have_count(0)
    assert await world.client.get_balance(creator.pubkey()) > before
    theirs.check()


async def test_market_tape_holders_follow_share_and_live_notifications(
    world: World,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    resolver = await world.funded()
    question = "Will the old lighthouse be restored this year?"
    mid = await world.active(question, "city", resolver)
    yes_holder, no_holder, author = [await world.funded() for _ in range(3)]
    await world.buy(mid, yes_holder, "yes", 3 * SOL)
    await world.buy(mid, no_holder, "no", 2 * SOL)
    me = await world.funded()
    tab = await open_tab(browser, world, "money-market", wallet=me)
    page = tab.page
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    streams: list[str] = []  # a tab keeps one stream, for what its page shows
    page.on("request", lambda r: streams.append(r.url) if "/api/stream" in r.url else None)
    # The shared path URL (served with its Open Graph meta) opens the market as its hash route
    # does, and stays a path: the id alone gets the question's slug.
    path = f"/market/{mid}/will-the-old-lighthouse-be-restored-this-year"
    await page.goto(world.url + f"/market/{mid}")
    await expect(page.get_by_test_id("question")).to_have_text(question)
    await expect(page).to_have_url(world.url + path)
    await wallet_funded(tab)
    market_stream = f"{world.url}/api/stream?market={mid}&wallet={me.pubkey()}"
    for _ in range(200):  # the wallet's address joins the stream once the wallet is known
        if streams[-1:] == [market_stream]:
            break
        await asyncio.sleep(0.05)
    assert streams[-1:] == [market_stream], streams
    # The tape on open, newest first; the largest holders; volume and traders.
    tape = page.get_by_test_id("tape-trade")
    await expect(tape).to_have_count(2)
    await expect(tape.first).to_contain_text("NO")
    await expect(tape.first.get_by_test_id("wallet-link")).to_have_attribute(
        "data-wallet", str(no_holder.pubkey())
    )
    await expect(page.get_by_test_id("holders-yes").get_by_test_id("holder")).to_have_count(1)
    await expect(page.get_by_test_id("holders-yes")).to_contain_text(str(yes_holder.pubkey())[:4])
    await expect(page.get_by_test_id("holders-no").get_by_test_id("holder")).to_have_count(1)
    # Volume and traders: one day with trades, one bar; its figures are the API's.
    activity = page.get_by_test_id("activity-row")
    await expect(activity).to_have_count(1)
    await expect(activity.first.locator("td").nth(3)).to_have_text("2")  # traders
    await expect_activity_bars(page, world, mid)
    # Share copies the path URL.
    await page.get_by_test_id("share").click()
    await expect(page.get_by_test_id("toast-ok").filter(has_text="Link copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == world.url + path
    # Follow (signed): stored for this wallet.
    follow = page.get_by_test_id("follow")
    await expect(follow).to_have_text("Follow")
    await follow.click()
    await expect(follow).to_have_attribute("aria-pressed", "true")
    follows = (await world.http.get(f"/api/users/{me.pubkey()}/follows")).json()["follows"]
    assert [f["market_id"] for f in follows] == [mid]
    # A trade arrives live at the top of the tape, a day later: a second bar, of one trader.
    await world.advance(86400)
    await world.buy(mid, await world.funded(), "yes", SOL)
    await expect(tape).to_have_count(3)
    await expect(tape.first).to_contain_text("BUY YES")
    await expect(activity).to_have_count(2)
    await expect(activity.first.locator("td").nth(3)).to_have_text("1")
    await expect(activity.nth(1).locator("td").nth(3)).to_have_text("2")
    await expect_activity_bars(page, world, mid)
    await page.get_by_test_id("activity-interval").select_option("1h")  # drawn anew, per hour
    await expect(page.get_by_test_id("activity-chart").locator(".u-legend")).to_contain_text("Hour")
    await expect_activity_bars(page, world, mid, "1h")
    await page.get_by_test_id("activity-interval").select_option("1d")
    await tab.shot("market")

    # Notifications arrive live in the badge while the page is open: a comment, a resolution.
    badge = page.get_by_test_id("unread-count")
    await expect(badge).to_be_hidden()
    await world.comment(author, mid, "The restoration fund reached its target last week.")
    await expect(badge).to_have_text("1")
    await expect(page.get_by_test_id("nav-notifications")).to_have_accessible_name(
        re.compile(r"^Notifications\s+1 unread$")
    )
    cfg = await world.client.get_config()
    assert cfg is not None
    await world.advance(cfg.min_resolution_delay)
    await world.client.send(
        [b.resolve_market(resolver.pubkey(), bytes.fromhex(mid), True, EVIDENCE)], resolver
    )
    await expect(badge).to_have_text("2")
    # The page lists what arrived while it was not open, newest first, then more live.
    await page.get_by_test_id("nav-notifications").click()
    items = page.get_by_test_id("notification")
    await expect(items).to_have_count(2)
    assert streams[-1] == f"{world.url}/api/stream?wallet={me.pubkey()}&events=notification"
    await expect(items.nth(0)).to_have_attribute("data-kind", "resolution_proposed")
    await expect(items.nth(0)).to_contain_text("It can be disputed until")
    await expect(items.nth(1)).to_have_attribute("data-kind", "comment")
    await world.comment(author, mid, "Scaffolding went up this morning.")
    await expect(items).to_have_count(3)
    await expect(items.nth(0)).to_have_attribute("data-kind", "comment")
    await expect(badge).to_have_text("3")
    await tab.shot("notifications")
    # Marked read, signed.
    await page.get_by_test_id("mark-read").click()
    await expect(page.get_by_test_id("unread")).to_have_count(0)
    await expect(badge).to_be_hidden()
    got = (await world.http.get(f"/api/users/{me.pubkey()}/notifications")).json()
    assert got["unread"] == 0 and len(got["notifications"]) == 3
    # The author's profile, from the notification: its comments, newest first.
    await items.nth(0).get_by_test_id("wallet-link").click()
    await expect(page).to_have_url(re.compile(f"#/user/{author.pubkey()}$"))
    comments = page.get_by_test_id("profile-comment")
    await expect(comments).to_have_count(2)
    await expect(comments.first).to_contain_text("Scaffolding went up this morning.")
    await expect(comments.first.locator("a")).to_have_text(question)
    await page.go_back()
    # Unfollow, from the market's page (its hash route).
    await items.nth(0).locator("a").first.click()
    await expect(page.get_by_test_id("question")).to_have_text(question)
    await expect(follow).to_have_attribute("aria-pressed", "true")
    await follow.click()
    await expect(follow).to_have_attribute("aria-pressed", "false")
    assert (await world.http.get(f"/api/users/{me.pubkey()}/follows")).json()["follows"] == []
    tab.check()
