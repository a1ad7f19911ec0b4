"""Verifiable tallies: every vote count the backend posts on chain is first published as a
canonical JSON document (the market, the kind, each VoteRecord address with its voter, vote and
slot, the counts), stored on IPFS with its sha256; `verify_tally` recounts the votes from the
chain's VoteRecord accounts and checks them against the counts stored on chain and the document.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from solders.pubkey import Pubkey

from hybridmarket.canonical import canonical_json, sha256_hex
from hybridmarket.chain.client import ChainClient
from hybridmarket.db.queries import jobs as q_jobs
from hybridmarket.db.queries import votes as q_votes
from hybridmarket.ipfs.backends import IpfsBackend
from hybridmarket.program.accounts import VoteKind
from hybridmarket.program.ids import market_pda
from hybridmarket.program.rules import posted_counts

KINDS = {"proposal": VoteKind.Proposal, "dispute": VoteKind.Dispute}


@dataclass(frozen=True, slots=True)
class Tally:
    market_id: str
    kind: str
    yes: int
    no: int
    document: bytes
    sha256: str


async def build(conn: AsyncConnection[Any], program_id: Pubkey, market_id: str, kind: str) -> Tally:
    """The tally document of the indexed votes of a market."""
    table = q_votes.TABLES[kind]
    cur = await conn.execute(
        f"SELECT vote_record, user_wallet, vote, slot FROM {table} "
        "WHERE market_id = %s ORDER BY vote_record",
        (market_id,),
    )
    votes = [
        {"vote_record": r[0], "voter": r[1], "vote": bool(r[2]), "slot": int(r[3])}
        for r in await cur.fetchall()
    ]
    yes = sum(1 for v in votes if v["vote"])
    doc = {
        "program_id": str(program_id),
        "market_id": market_id,
        "market": str(market_pda(bytes.fromhex(market_id), program_id)[0]),
        "kind": kind,
        "votes": votes,
        "yes": yes,
        "no": len(votes) - yes,
    }
    body = canonical_json(doc)
    return Tally(market_id, kind, yes, len(votes) - yes, body, sha256_hex(body))


async def publish(conn: AsyncConnection[Any], ipfs: IpfsBackend, tally: Tally) -> tuple[int, str]:
    """Store the document on IPFS (CIDv1, as `ipfs add --cid-version=1`) and record it."""
    cid = await asyncio.to_thread(ipfs.add, tally.document, cid_version=1)
    tid = await q_jobs.publish_tally(
        conn,
        market_id=tally.market_id,
        kind=tally.kind,
        yes_votes=tally.yes,
        no_votes=tally.no,
        document=tally.document.decode(),
        sha256=tally.sha256,
        cid=cid,
    )
    return tid, cid


@dataclass
class Verification:
    market_id: str
    kind: str
    chain_recount: tuple[int, int]
    posted: tuple[int, int] | None
    published: tuple[int, int] | None
    cid: str | None
    differences: list[str]

    @property
    def ok(self) -> bool:
        return not self.differences


async def verify(
    client: ChainClient,
    market_id: str,
    kind: str,
    published: tuple[int, int, str, str, str] | None,
    ipfs: IpfsBackend | None,
) -> Verification:
    """Recount from the chain's VoteRecords; compare with the on-chain counts and the document."""
    mid = bytes.fromhex(market_id)
    records = await client.list_vote_records(mid, KINDS[kind])
    chain_votes = {str(addr): (str(r.user), r.vote) for addr, r in records}
    recount = (
        sum(1 for _, v in chain_votes.values() if v),
        sum(1 for _, v in chain_votes.values() if not v),
    )
    market = await client.get_market(mid)
    diffs: list[str] = []
    posted = None if market is None else posted_counts(kind, market)
    if market is None:
        diffs.append("the market does not exist on chain")
    elif posted is None and kind == "proposal":
        diffs.append("no proposal tally has been posted on chain (the market was not approved)")
    elif posted is None:
        diffs.append(
            "no dispute tally has been posted on chain (the market was not finalized after a dispute)"
        )
    if posted is not None and posted != recount:
        diffs.append(
            f"on-chain counts {posted[0]} yes / {posted[1]} no, recount of VoteRecords {recount[0]} / {recount[1]}"
        )
    pub: tuple[int, int] | None = None
    cid: str | None = None
    if published is None:
        if posted is not None:
            diffs.append("no published tally document for the counts posted on chain")
    else:
        yes, no, document, sha, cid = published
        pub = (yes, no)
        body = document.encode()
        if sha256_hex(body) != sha:
            diffs.append("the stored document does not match its sha256")
        if ipfs is not None:
            try:
                stored = await asyncio.to_thread(ipfs.cat, cid)
            except Exception as e:  # a missing block, a bad CID
                diffs.append(f"the document's CID {cid} cannot be read: {e}")
            else:
                if stored != body:
                    diffs.append(f"the content at {cid} differs from the recorded document")
        doc = json.loads(document)
        listed = {v["vote_record"]: (v["voter"], v["vote"]) for v in doc.get("votes", [])}
        if (doc.get("yes"), doc.get("no")) != pub:
            diffs.append("the document's counts differ from its recorded counts")
        if posted is not None and pub != posted:
            diffs.append(
                f"published document counts {pub[0]} / {pub[1]}, on-chain counts {posted[0]} / {posted[1]}"
            )
        for rec, v in sorted(listed.items()):
            if chain_votes.get(rec) != v:
                diffs.append(
                    f"vote record {rec} in the document is {v}, on chain {chain_votes.get(rec)}"
                )
        for rec in sorted(set(chain_votes) - set(listed)):
            diffs.append(f"vote record {rec} on chain is missing from the document")
    return Verification(market_id, kind, recount, posted, pub, cid, diffs)
