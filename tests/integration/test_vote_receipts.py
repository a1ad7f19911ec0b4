"""Vote receipts end to end: a proposal vote built by the API, signed and relayed to the real
validator; its receipt before it is indexed, pending once indexed, counted once the worker's
aggregator has published the tally and posted its counts on chain; and not counted when the
published document leaves the vote out or its CID names other content (the verdict follows
the chain and IPFS, not the database's word)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from psycopg_pool import AsyncConnectionPool
from solders.keypair import Keypair

from hybridmarket import bootstrap
from hybridmarket.authority import Signer
from hybridmarket.canonical import canonical_json, sha256_hex
from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.indexer.service import Indexer
from hybridmarket.ipfs.backends import IpfsBackend, backend_from_settings
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b
from hybridmarket.program.accounts import VoteKind
from hybridmarket.program.ids import market_pda, vote_pda
from hybridmarket.settings import Settings
from hybridmarket.worker import jobs

from .api_fixtures import api_settings, running_api
from .localnet_fixtures import control
from .test_api import create_market, funded, relay

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
SOL = 1_000_000_000


@pytest.fixture
def settings(validator: LocalValidator, db_url: str, tmp_path: Path) -> Settings:
    return api_settings(db_url, validator.rpc_url, validator.ws_url, tmp_path)


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    async with running_api(settings) as h:
        yield h


async def receipt(http: httpx2.AsyncClient, mid: str, wallet: Keypair) -> dict[str, Any]:
    r = await http.get(f"/api/markets/{mid}/votes/{wallet.pubkey()}/receipt")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["dispute"] is None
    proposal: dict[str, Any] = body["proposal"]
    return proposal


async def set_published(
    pool: AsyncConnectionPool, ipfs: IpfsBackend, mid: str, document: bytes, cid: str | None = None
) -> str:
    """Make the published proposal tally of `mid` this document (stored on IPFS) or, with
    `cid`, name that CID whatever the document: what a wrong publication would look like."""
    cid = cid or ipfs.add(document, cid_version=1)
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE published_tallies SET document = %s, sha256 = %s, cid = %s "
            "WHERE market_id = %s AND kind = 'proposal'",
            (document.decode(), sha256_hex(document), cid, mid),
        )
    return cid


async def test_a_vote_receipt_from_pending_to_counted(
    validator: LocalValidator,
    client: ChainClient,
    http: httpx2.AsyncClient,
    pool: AsyncConnectionPool,
    settings: Settings,
) -> None:
    indexer = Indexer(pool, client)
    ipfs = backend_from_settings(settings)
    creator = await funded(client, 500 * SOL)
    mid = await create_market(http, creator, "Will the receipts say where each vote went?")
    await indexer.sync()

    # Voting: the API builds the transaction, the voter's own key signs it, the relay sends it.
    voter = await funded(client, SOL)
    built = await http.post(
        f"/api/markets/{mid}/vote",
        json={"wallet": str(voter.pubkey()), "kind": "proposal", "vote": True},
    )
    assert built.status_code == 200, built.text
    assert (await relay(http, built.json(), voter))["status"] == "confirmed"
    record = str(vote_pda(market_pda(bytes.fromhex(mid))[0], voter.pubkey(), VoteKind.Proposal)[0])

    # On chain, not yet indexed: the receipt reads the VoteRecord from the chain.
    early = await receipt(http, mid, voter)
    assert (early["vote_record"], early["vote"], early["status"]) == (record, True, "pending")
    assert early["signature"] is None and early["slot"] is None
    assert not early["counted_on_chain"] and "not indexed yet" in " ".join(early["checks"])

    await indexer.sync()
    pending = await receipt(http, mid, voter)
    assert pending["status"] == "pending" and not pending["counted_on_chain"]
    assert pending["tally"] is None and pending["posted_on_chain"] is None
    tx = await client.get_transaction(pending["signature"])
    assert tx is not None and tx.slot == pending["slot"]

    # Not voted: 404 in the envelope. An unknown market: 404 too.
    stranger = Keypair()
    r = await http.get(f"/api/markets/{mid}/votes/{stranger.pubkey()}/receipt")
    assert r.status_code == 404 and r.json()["error"]["code"] == "vote_not_found", r.text
    unknown = hashlib.sha256(b"no market").hexdigest()
    r = await http.get(f"/api/markets/{unknown}/votes/{voter.pubkey()}/receipt")
    assert r.status_code == 404 and r.json()["error"]["code"] == "market_not_found"
    r = await http.get(f"/api/markets/{mid}/votes/not-a-wallet/receipt")
    assert r.status_code == 422 and "error" in r.json()

    # Nine more likes reach the quorum; the worker publishes the tally and approves on chain.
    others = [await funded(client, SOL) for _ in range(9)]
    for x in others:
        await client.send([b.submit_proposal_vote(x.pubkey(), bytes.fromhex(mid), True)], x)
    await indexer.sync()
    backend = load_keypair(validator.key_paths["backend_authority"])
    services = bootstrap.services(settings, pool, client, ipfs, Signer(backend, "test"))
    summary = await jobs.aggregate_proposals(services)
    assert summary["approved"] == 1, summary
    await indexer.sync()

    counted = await receipt(http, mid, voter)
    assert counted["status"] == "counted" and counted["counted_on_chain"] is True, counted
    assert counted["posted_on_chain"] == {"yes": 10, "no": 0}
    tally = counted["tally"]
    assert tally["counts"] == {"yes": 10, "no": 0} and tally["url"] == f"/ipfs/{tally['cid']}"
    assert tally["transaction"] is not None
    assert f"the transaction {tally['transaction']} that posted them landed" in counted["checks"]
    assert (counted["slot"], counted["signature"]) == (pending["slot"], pending["signature"])
    served = await http.get(tally["url"])  # the document, through the API's gateway
    assert served.status_code == 200
    document = json.loads(served.content)
    assert {"vote_record": record, "voter": str(voter.pubkey()), "vote": True, "slot": counted[
        "slot"
    ]} in document["votes"]  # fmt: skip
    votes = (await http.get(f"/api/markets/{mid}/votes")).json()
    assert votes["proposal"]["published_tally"]["cid"] == tally["cid"]

    # A published document that leaves the vote out (its counts still the chain's): not counted.
    original = served.content
    left_out = dict(document, votes=[v for v in document["votes"] if v["vote_record"] != record])
    await set_published(pool, ipfs, mid, canonical_json(left_out))
    r = await receipt(http, mid, voter)
    assert r["status"] == "not_counted" and r["counted_on_chain"] is False
    assert f"does not list the VoteRecord {record}" in r["checks"][-1]
    # The vote listed the other way round: not this vote.
    flipped = dict(
        document,
        votes=[dict(v, vote=False) if v["vote_record"] == record else v for v in document["votes"]],
    )
    await set_published(pool, ipfs, mid, canonical_json(flipped))
    r = await receipt(http, mid, voter)
    assert r["status"] == "not_counted" and "not this vote" in r["checks"][-1]
    # The CID names other content (another market's tally), or nothing stored at all.
    other = dict(document, market_id=hashlib.sha256(b"another market").hexdigest())
    wrong_cid = ipfs.add(canonical_json(other), cid_version=1)
    await set_published(pool, ipfs, mid, original, cid=wrong_cid)
    r = await receipt(http, mid, voter)
    assert r["status"] == "not_counted" and r["tally"]["cid"] == wrong_cid
    assert "differs in market_id" in r["checks"][-1]
    missing = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    await set_published(pool, ipfs, mid, original, cid=missing)
    r = await receipt(http, mid, voter)
    assert r["status"] == "not_counted" and "cannot be read from IPFS" in r["checks"][-1]
    # Counts that are not the chain's: no published document has the posted counts.
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE published_tallies SET yes_votes = 9, cid = %s WHERE market_id = %s",
            (tally["cid"], mid),
        )
    r = await receipt(http, mid, voter)
    assert r["status"] == "not_counted" and r["tally"] is None
    assert "no published tally document states them" in r["checks"][-1]
    # Put right again: counted.
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE published_tallies SET yes_votes = 10 WHERE market_id = %s", (mid,)
        )
    await set_published(pool, ipfs, mid, original)
    assert (await receipt(http, mid, voter))["status"] == "counted"


async def advance(validator: LocalValidator, client: ChainClient, seconds: int) -> None:
    await control(validator, "hybridmarket_advanceClock", seconds=seconds)
    slot = await client.get_slot()
    while await client.get_slot() <= slot + 1:  # a block at the new time is confirmed
        await asyncio.sleep(0.02)


async def test_a_dispute_vote_receipt_and_counts_posted_without_a_document(
    validator: LocalValidator,
    client: ChainClient,
    http: httpx2.AsyncClient,
    pool: AsyncConnectionPool,
    settings: Settings,
) -> None:
    indexer = Indexer(pool, client)
    creator = await funded(client, 500 * SOL)  # and the resolver
    mid = await create_market(http, creator, "Will a dispute vote get its receipt too?")
    market = bytes.fromhex(mid)
    likers = [await funded(client, SOL) for _ in range(10)]
    for x in likers:
        await client.send([b.submit_proposal_vote(x.pubkey(), market, True)], x)
    # Approved straight on chain, with no tally published: the counts cannot be checked.
    backend = load_keypair(validator.key_paths["backend_authority"])
    await client.send([b.approve_market(backend.pubkey(), market, 10, 0)], backend)
    await indexer.sync()
    r = await receipt(http, mid, likers[0])
    assert r["status"] == "not_counted" and r["posted_on_chain"] == {"yes": 10, "no": 0}
    assert "no published tally document states them" in r["checks"][-1]

    await client.send([b.activate_market(creator.pubkey(), market)], creator)
    cfg = await client.get_config()
    assert cfg is not None
    await advance(validator, client, cfg.min_resolution_delay)
    evidence = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(b"evidence").digest()
    await client.send([b.resolve_market(creator.pubkey(), market, True, evidence)], creator)
    await client.send([b.initiate_dispute(likers[0].pubkey(), market)], likers[0])
    await indexer.sync()
    voter = await funded(client, SOL)
    built = await http.post(
        f"/api/markets/{mid}/vote",
        json={"wallet": str(voter.pubkey()), "kind": "dispute", "vote": False},
    )
    assert built.status_code == 200, built.text
    assert (await relay(http, built.json(), voter))["status"] == "confirmed"
    others = [await funded(client, SOL) for _ in range(4)]
    for x in others:
        await client.send([b.submit_dispute_vote(x.pubkey(), market, False)], x)
    await indexer.sync()
    url = f"/api/markets/{mid}/votes/{voter.pubkey()}/receipt"
    pending = (await http.get(url)).json()
    assert pending["proposal"] is None and pending["dispute"]["status"] == "pending"
    assert pending["dispute"]["vote"] is False and pending["dispute"]["slot"] is not None

    await advance(validator, client, cfg.dispute_voting_period)
    ipfs = backend_from_settings(settings)
    services = bootstrap.services(settings, pool, client, ipfs, Signer(backend, "test"))
    assert (await jobs.aggregate_disputes(services))["finalized"] == 1
    await indexer.sync()
    counted = (await http.get(url)).json()["dispute"]
    assert counted["status"] == "counted" and counted["counted_on_chain"], counted
    assert counted["posted_on_chain"] == {"yes": 0, "no": 5}
    assert counted["tally"]["counts"] == {"yes": 0, "no": 5}
