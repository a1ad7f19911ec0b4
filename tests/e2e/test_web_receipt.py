"""A voter's receipt in the browser (Chromium, the real stack of test_web.py's `world`): vote on
a proposal from the page, see the receipt pending with the VoteRecord and slot, then, once the
worker's aggregator has published the tally and approved the market on chain, "Your vote is
counted in the tally posted on chain" with the tally's CID linked through the API's gateway."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from solders.keypair import Keypair

from hybridmarket import bootstrap
from hybridmarket.api import sharing
from hybridmarket.authority import Signer
from hybridmarket.db.connect import make_pool
from hybridmarket.ipfs.backends import backend_from_settings
from hybridmarket.program import builders as b
from hybridmarket.worker import jobs

from ..integration.api_fixtures import api_settings
from .test_web import SOL, Browser, World, browser, expect, open_tab, wallet_funded, world

pytestmark = pytest.mark.e2e
__all__ = ["browser", "world"]  # the fixtures, from test_web.py


async def test_vote_then_see_the_receipt_counted(
    world: World, browser: Browser, db_url: str, tmp_path: Path
) -> None:
    question = "Will my vote show up in the posted tally?"
    mid, _creator = await world.propose(question)
    tab = await open_tab(browser, world, "receipt")
    page = tab.page
    # The shared path URL serves the UI: its scripts and styles load from there (the wallet
    # is drawn and funded by them), and its head names the market.
    served = await page.goto(world.url + f"/market/{mid}/{sharing.slug(question)}")
    assert served is not None and served.status == 200
    assert f"<title>{question} · hybridmarket</title>" in await served.text()
    address = await wallet_funded(tab)
    assert await page.evaluate("document.styleSheets.length") >= 2
    await page.goto(world.url + f"/#/market/{mid}")
    panel = page.get_by_test_id("receipt-panel")
    await expect(page.get_by_test_id("vote-yes")).to_be_enabled()
    await expect(panel).to_be_hidden()  # no vote yet
    await page.get_by_test_id("vote-yes").click()
    await expect(page.get_by_test_id("your-vote")).to_contain_text("Like")

    receipt = page.get_by_test_id("receipt-proposal")
    await expect(receipt).to_have_attribute("data-status", "pending")
    await expect(page.get_by_test_id("receipt-status")).to_contain_text("recorded on chain")
    api = (await world.http.get(f"/api/markets/{mid}/votes/{address}/receipt")).json()
    record = page.get_by_test_id("receipt-record")
    await expect(record).to_have_attribute("title", api["proposal"]["vote_record"])
    await expect(page.get_by_test_id("receipt-slot")).to_have_text(re.compile(r"^\d+$"))
    await tab.shot("pending")

    # Nine more likes (straight to the chain), then the worker's proposal job.
    voters: list[Keypair] = [await world.funded(SOL) for _ in range(9)]
    await asyncio.gather(
        *(
            world.client.send([b.submit_proposal_vote(x.pubkey(), bytes.fromhex(mid), True)], x)
            for x in voters
        )
    )
    for _ in range(400):
        votes = (await world.http.get(f"/api/markets/{mid}/votes")).json()
        if votes["proposal"]["total"] == 10:
            break
        await asyncio.sleep(0.05)
    settings = api_settings(db_url, world.v.rpc_url, world.v.ws_url, tmp_path)
    async with make_pool(db_url, max_size=2, name="e2e-worker") as pool:
        services = bootstrap.services(
            settings,
            pool,
            world.client,
            backend_from_settings(settings),
            Signer(world.backend, "test"),
        )
        assert (await jobs.aggregate_proposals(services))["approved"] == 1
    await world.market(mid, state="APPROVED")

    # The page hears the approval and reads the receipt again: counted, checked on chain.
    await expect(receipt).to_have_attribute("data-status", "counted")
    await expect(page.get_by_test_id("receipt-status")).to_have_text(
        "Your vote is counted in the tally posted on chain."
    )
    api = (await world.http.get(f"/api/markets/{mid}/votes/{address}/receipt")).json()
    cid = api["proposal"]["tally"]["cid"]
    await expect(page.get_by_test_id("receipt-cid")).to_have_attribute("href", f"/ipfs/{cid}")
    await expect(page.get_by_test_id("receipt-signature")).to_have_attribute(
        "title", api["proposal"]["signature"]
    )
    document = await world.http.get(f"/ipfs/{cid}")
    assert document.status_code == 200 and api["proposal"]["vote_record"] in document.text
    await tab.shot("counted")
    tab.check()
