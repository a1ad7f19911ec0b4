"""Vote receipts: `GET /api/markets/{id}/votes/{wallet}/receipt` tells a voter where their vote
is (its VoteRecord, the slot and transaction that created it) and whether the tally posted on
chain counts it.

The verdict is the chain's and IPFS's, not the database's. The program stores counts, not the
tally document's CID, so what binds a document to the chain is this: the VoteRecord account
exists with this vote (getMultipleAccounts, with the market account in the same call), the
market account holds posted counts, and the document read from IPFS hashes to its CID, is this
program's, market's and kind's tally, states exactly the posted counts and lists this
VoteRecord with this voter and vote. The database only says where to look: the vote's
transaction (its status read from the chain) and which published document has those counts."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from solders.pubkey import Pubkey

from hybridmarket.api.common import MarketIdPath, Wallet, iso, present, rate_limit
from hybridmarket.api.errors import ApiError, chain_unavailable, not_found
from hybridmarket.api.models import ReceiptTally, TallyCounts, VoteReceipt, VoteReceipts
from hybridmarket.api.routes import error_responses
from hybridmarket.api.routes.markets import load_market
from hybridmarket.api.state import ApiState, state
from hybridmarket.chain.errors import ChainError
from hybridmarket.codec.borsh import BorshError
from hybridmarket.db.queries import receipts as q_receipts
from hybridmarket.ipfs.errors import BackendError, IpfsError
from hybridmarket.ipfs.importer import compute_cid
from hybridmarket.program.accounts import MarketAccount, MarketState, VoteKind, VoteRecord
from hybridmarket.program.ids import market_pda, vote_pda
from hybridmarket.program.rules import posted_counts

router = APIRouter(
    prefix="/api/markets", tags=["markets"], responses=error_responses(404, 422, 429, 503)
)

Kind = Literal["proposal", "dispute"]
KINDS: Final[dict[Kind, VoteKind]] = {"proposal": VoteKind.Proposal, "dispute": VoteKind.Dispute}
DOCUMENT_TTL: Final = 3600.0  # a CID's content never changes; the entry only bounds memory


_A = TypeVar("_A", MarketAccount, VoteRecord)


def _decode(raw: tuple[int, Pubkey, bytes] | None, cls: type[_A], program: Pubkey) -> _A | None:
    """The program's account of type `cls`, or None: an address that holds something else (not
    the program's, or not this type) holds no vote and no market."""
    if raw is None or raw[1] != program:
        return None
    try:
        return cls.from_account_data(raw[2])
    except BorshError:
        return None


@dataclass(frozen=True, slots=True)
class _Document:
    """A tally document read from IPFS: its parsed JSON, or why it cannot be used."""

    body: dict[str, Any] | None
    problem: str | None


def _still_voting(kind: Kind, market: MarketAccount) -> bool:
    want = MarketState.Proposed if kind == "proposal" else MarketState.Disputed
    return bool(market.state == want)


async def _document(st: ApiState, cid: str) -> _Document:
    """The document at `cid`, from IPFS, checked to hash to it (cached: a CID's content is
    fixed). A node that cannot be reached is a 503, not a verdict."""

    async def load() -> _Document:
        try:
            data = await asyncio.to_thread(st.ipfs.cat, cid)
        except BackendError as e:
            raise ApiError(503, "ipfs_unavailable", f"the IPFS node failed: {e}") from None
        except (IpfsError, ValueError, KeyError) as e:  # missing, corrupt, not a CID
            return _Document(None, f"the tally document {cid} cannot be read from IPFS: {e}")
        if compute_cid(data, cid_version=1) != cid:
            return _Document(None, f"the content read for {cid} does not hash to that CID")
        try:
            body = json.loads(data)
        except ValueError:
            return _Document(None, f"the content at {cid} is not a JSON tally document")
        if not isinstance(body, dict):
            return _Document(None, f"the content at {cid} is not a JSON tally document")
        return _Document(body, None)

    doc: _Document = await st.cache.get(f"tally-document:{cid}", load, ttl=DOCUMENT_TTL)
    return doc


def _lists(doc: dict[str, Any], vote_record: str, wallet: str, vote: bool) -> str | None:
    """Why the document does not count this vote, or None when it does."""
    votes = doc.get("votes")
    entries = [v for v in votes if isinstance(v, dict)] if isinstance(votes, list) else []
    mine = [v for v in entries if v.get("vote_record") == vote_record]
    if not mine:
        return f"the tally document does not list the VoteRecord {vote_record}"
    if mine[0].get("voter") != wallet or mine[0].get("vote") is not vote:
        return (
            f"the tally document lists the VoteRecord {vote_record} with voter "
            f"{mine[0].get('voter')} and vote {mine[0].get('vote')}, not this vote"
        )
    return None


async def _receipt(
    st: ApiState,
    market_id: str,
    wallet: str,
    kind: Kind,
    address: Pubkey,
    record: VoteRecord,
    market: MarketAccount,
    statuses: dict[str, tuple[int, Any, str] | None],
    indexed: q_receipts.IndexedVote | None,
    tallies: list[q_receipts.PublishedTally],
) -> VoteReceipt:
    checks = [f"the VoteRecord {address} exists on chain: this wallet's {kind} vote"]
    slot = signature = None
    if indexed is not None and indexed.vote_record == str(address):
        status = statuses.get(indexed.tx_signature)
        if status is not None and status[1] is None and status[0] == indexed.slot:
            slot, signature = indexed.slot, indexed.tx_signature
            checks.append(f"its transaction {signature} landed at slot {slot}")
        else:
            checks.append(f"the indexed transaction {indexed.tx_signature} is not confirmed")
    else:
        checks.append("its transaction is not indexed yet")
    posted = posted_counts(kind, market)
    verdict: Literal["pending", "counted", "not_counted"]
    tally: ReceiptTally | None = None
    if posted is None:
        if _still_voting(kind, market):
            verdict = "pending"
            checks.append("no tally is posted on chain yet: the vote is still open")
        else:
            verdict = "not_counted"
            checks.append(
                f"voting ended without a {kind} tally posted on chain (the market is "
                f"{market.state.name.upper()})"
            )
    elif not tallies:
        verdict = "not_counted"
        checks.append(
            f"the market account holds the counts {posted[0]} / {posted[1]}, but no published "
            "tally document states them"
        )
    else:
        checks.append(f"the market account holds the posted counts {posted[0]} / {posted[1]}")
        published = tallies[0]
        tally = ReceiptTally(
            cid=published.cid,
            url=f"/ipfs/{published.cid}",
            sha256=published.sha256,
            counts=TallyCounts(yes=published.yes, no=published.no),
            transaction=published.posted_by,
        )
        landed = statuses.get(published.posted_by or "")
        if landed is not None and landed[1] is None:
            checks.append(f"the transaction {published.posted_by} that posted them landed")
        doc = await _document(st, published.cid)
        problem = doc.problem
        if problem is None:
            body = present(doc.body)
            expected = {
                "program_id": str(st.client.program_id),
                "market_id": market_id,
                "market": str(market_pda(bytes.fromhex(market_id), st.client.program_id)[0]),
                "kind": kind,
                "yes": posted[0],
                "no": posted[1],
            }
            wrong = [k for k, v in expected.items() if body.get(k) != v]
            if wrong:
                problem = (
                    f"the document at {published.cid} is not this market's posted {kind} tally "
                    f"(it differs in {', '.join(wrong)})"
                )
            else:
                problem = _lists(body, str(address), wallet, record.vote)
        if problem is None:
            verdict = "counted"
            checks.append(
                f"the document at {published.cid} hashes to its CID, states the posted counts "
                "and lists this VoteRecord with this vote"
            )
        else:
            verdict = "not_counted"
            checks.append(problem)
    return VoteReceipt(
        kind=kind,
        vote_record=str(address),
        vote=record.vote,
        voted_at=present(iso(datetime.fromtimestamp(record.voted_at, UTC))),
        slot=slot,
        signature=signature,
        status=verdict,
        counted_on_chain=verdict == "counted",
        posted_on_chain=None if posted is None else TallyCounts(yes=posted[0], no=posted[1]),
        tally=tally,
        checks=checks,
    )


@router.get(
    "/{market_id}/votes/{wallet}/receipt",
    summary="A voter's receipt: the VoteRecord, its transaction, and whether the posted "
    "tally counts it (checked on chain)",
    description="For each vote the wallet cast on the market (proposal, dispute): the "
    "VoteRecord account, the slot and signature of the vote's transaction, the published "
    "tally document with the counts posted on chain, and `counted_on_chain`, checked against "
    "the chain's accounts and the document on IPFS rather than the database. 404 "
    "`vote_not_found` when the chain holds no VoteRecord of this wallet for this market.",
)
async def get_vote_receipt(
    market_id: MarketIdPath,
    wallet: Wallet,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> VoteReceipts:
    await rate_limit(st, request, response, "reads")
    await load_market(st, market_id)
    program = st.client.program_id
    market_key = market_pda(bytes.fromhex(market_id), program)[0]
    user = Pubkey.from_string(wallet)
    keys = {k: vote_pda(market_key, user, int(v), program)[0] for k, v in KINDS.items()}
    try:
        raw = await st.client.get_multiple_raw([market_key, *keys.values()])
    except ChainError as e:
        raise chain_unavailable(e) from None
    chain_market = _decode(raw[0], MarketAccount, program)
    records = {k: _decode(r, VoteRecord, program) for k, r in zip(keys, raw[1:], strict=True)}
    voted = {
        k: r
        for k, r in records.items()
        if r is not None and (r.market, r.user, r.kind) == (market_key, user, KINDS[k])
    }
    if chain_market is None or not voted:
        raise not_found("vote", f"of {wallet} on market {market_id} (no VoteRecord on chain)")
    async with st.pool.connection() as conn:
        indexed = {k: await q_receipts.indexed_vote(conn, k, market_id, wallet) for k in voted}
        tallies: dict[str, list[q_receipts.PublishedTally]] = {}
        for k in voted:
            posted = posted_counts(k, chain_market)
            tallies[k] = (
                []
                if posted is None
                else await q_receipts.tallies_with_counts(conn, market_id, k, *posted)
            )
    signatures = [v.tx_signature for v in indexed.values() if v is not None]
    signatures += [t[0].posted_by for t in tallies.values() if t and t[0].posted_by]
    try:
        found = await st.client.signature_statuses(signatures) if signatures else []
    except ChainError as e:
        raise chain_unavailable(e) from None
    statuses = dict(zip(signatures, found, strict=True))
    out = {
        k: await _receipt(
            st, market_id, wallet, k, keys[k], r, chain_market, statuses, indexed[k], tallies[k]
        )
        for k, r in voted.items()
    }
    return VoteReceipts(
        market_id=market_id,
        wallet=wallet,
        proposal=out.get("proposal"),
        dispute=out.get("dispute"),
    )
