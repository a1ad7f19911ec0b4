"""The API's response bodies, as Pydantic models: what `/openapi.json` documents for each 2xx
and what a response must match (the fuzz test checks every answer against them).

Every model forbids fields it does not name (`additionalProperties: false`), so a field added
to a body without its model fails that check, and the test of the cached byte bodies
(markets list and detail, kept encoded in the cache) that validates them with
`model_validate_json`. Amounts are integers (lamports, share units); prices and other exact
decimals are strings; times are ISO 8601 strings in UTC (`Z`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    """A response body: exactly the fields it names."""

    model_config = ConfigDict(extra="forbid")


MarketState = Literal[
    "PROPOSED", "APPROVED", "ACTIVE", "RESOLVING", "DISPUTED", "FINALIZED", "CANCELLED"
]
MarketId = Annotated[
    str, Field(pattern="^[0-9a-f]{64}$", description="Market id: 64 lowercase hex digits")
]
Address = Annotated[
    str,
    Field(pattern="^[1-9A-HJ-NP-Za-km-z]{32,44}$", description="A Solana address (base58)"),
]
Time = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Price = Annotated[
    str,
    Field(
        pattern=r"^(0|1)(\.[0-9]+)?$",
        description="A price between 0 and 1, as a decimal string (exact)",
    ),
]
Lamports = Annotated[int, Field(ge=0, description="Lamports")]
Shares = Annotated[int, Field(ge=0, description="Share units")]
Outcome = Literal["yes", "no"]
ResolvedOutcome = Literal["yes", "no", "invalid"]
Base64Transaction = Annotated[
    str,
    Field(
        description="A v0 transaction, base64, with empty signatures: the wallet signs it "
        "and posts it to POST /api/transactions (or sends it itself)"
    ),
]


# ---- markets ------------------------------------------------------------------------------


class ProposalCounts(Body):
    total: int = Field(ge=0, description="Votes cast")
    likes: int = Field(ge=0)
    dislikes: int = Field(ge=0)


class DisputeCounts(Body):
    total: int = Field(ge=0, description="Votes cast")
    agree: int = Field(ge=0, description="Votes that the proposed outcome is wrong")
    disagree: int = Field(ge=0, description="Votes that the proposed outcome is right")


class MarketVoteCounts(Body):
    """The vote counters of the market account (as indexed from the chain)."""

    proposal: ProposalCounts
    dispute: DisputeCounts


class Resolution(Body):
    proposed_outcome: ResolvedOutcome | None = Field(
        description="The resolver's outcome; null until resolved"
    )
    final_outcome: ResolvedOutcome | None = Field(description="null until finalized")
    evidence_cid: str | None = Field(description="IPFS CID of the resolver's evidence")
    resolution_proposed_at: Time | None = Field(description="When the resolver resolved")
    dispute_deadline: Time | None = Field(description="End of the dispute period (chain time)")
    dispute_initiator: Address | None = Field(description="Who disputed the resolution")
    dispute_initiated_at: Time | None
    dispute_voting_deadline: Time | None = Field(
        description="End of the dispute voting period (chain time)"
    )
    finalized_at: Time | None
    cancelled_at: Time | None


class MarketLinks(Body):
    self: str = Field(description="This market")
    price: str = Field(description="Its price and quotes")
    history: str = Field(description="Its price history")
    votes: str = Field(description="Its vote tallies")
    discussions: str = Field(description="Its comments")


class Market(Body):
    """A market: its metadata (off chain, hashed into its id) and its cached on-chain state."""

    id: MarketId
    address: Address = Field(description="The market account (PDA)")
    question: str | None = Field(description="null for a market proposed without metadata")
    description: str | None
    category: str | None
    resolution_criteria: str | None
    closes_at: Time | None = Field(description="When trading is meant to end (metadata)")
    creator: Address
    resolver: Address = Field(description="The wallet that resolves the market")
    state: MarketState
    b_parameter: int = Field(ge=0, description="LMSR liquidity parameter (share units)")
    shares_yes: Shares = Field(description="YES shares outstanding")
    shares_no: Shares = Field(description="NO shares outstanding")
    price_yes: Price = Field(description="Price of a YES share")
    price_no: Price = Field(description="Price of a NO share (1 - price_yes)")
    liquidity: Lamports = Field(description="Lamports held by the market")
    initial_liquidity: Lamports = Field(description="The creator's deposit at activation")
    volume: Lamports = Field(description="Traded volume")
    trades_count: int = Field(ge=0)
    votes: MarketVoteCounts
    resolution: Resolution
    created_at: Time = Field(description="When it was proposed (chain time)")
    approved_at: Time | None
    activated_at: Time | None
    updated_at: Time = Field(description="When this copy of the chain state last changed")
    links: MarketLinks


class MarketList(Body):
    markets: list[Market] = Field(description="One page, in the order asked for")
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last")


class QuoteFees(Body):
    protocol: Lamports
    resolver: Lamports
    lp: Lamports = Field(description="To the liquidity provider")


class Quote(Body):
    """An LMSR quote against the market's on-chain state."""

    side: Literal["buy", "sell"]
    outcome: Outcome
    shares: Shares
    amount: Lamports = Field(description="LMSR cost (buy) or proceeds (sell), before fees")
    fees: QuoteFees
    total: Lamports = Field(description="Paid (buy: amount + fees) or received (sell)")
    price_before: Price = Field(description="Price of this outcome before the trade")
    price_after: Price = Field(description="Price of this outcome after the trade")
    price_yes_after: Price
    average_price: Price = Field(description="amount / shares")
    price_impact_bps: int = Field(ge=0, description="Basis points")


class FeeRates(Body):
    """Fee rates in basis points of a trade's cost (buy) or proceeds (sell)."""

    protocol: int = Field(ge=0)
    resolver: int = Field(ge=0)
    lp: int = Field(ge=0)
    total: int = Field(ge=0)


class MarketPrice(Body):
    market_id: MarketId
    state: MarketState
    price_yes: Price
    price_no: Price
    fees_bps: FeeRates = Field(description="What every trade pays, before an amount is typed")
    quote: Quote | None = Field(None, description="Only when `shares` or `amount` is given")


class PricePoint(Body):
    """One price change (interval=raw)."""

    t: Time
    price_yes: Price


class Candle(Body):
    """One interval's prices (interval other than raw), empty intervals left out."""

    t: Time = Field(description="Start of the interval")
    open: Price
    high: Price
    low: Price
    close: Price
    price_yes: Price = Field(description="= close")
    points: int = Field(ge=1, description="Price changes in the interval")


class PriceHistory(Body):
    market_id: MarketId
    interval: Literal["raw", "1m", "5m", "15m", "1h", "4h", "1d"]
    points: list[PricePoint] | list[Candle] = Field(description="Oldest first")


class YourVote(Body):
    vote: bool
    voted_at: Time


class ProposalTally(Body):
    """A tally the worker published on IPFS and posted on chain."""

    cid: str
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="sha256 of the tally document")
    likes: int = Field(ge=0)
    dislikes: int = Field(ge=0)


class DisputeTally(Body):
    """A tally the worker published on IPFS and posted on chain."""

    cid: str
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="sha256 of the tally document")
    agree: int = Field(ge=0)
    disagree: int = Field(ge=0)


class ProposalVotes(Body):
    likes: int = Field(ge=0, description="Indexed votes for")
    dislikes: int = Field(ge=0, description="Indexed votes against")
    total: int = Field(ge=0)
    posted_on_chain: ProposalCounts = Field(description="The market account's counters")
    your_vote: YourVote | None = Field(description="The `wallet`'s vote, if asked and cast")
    published_tally: ProposalTally | None
    threshold_bps: int = Field(ge=0, description="Share of likes needed for approval")
    min_votes: int = Field(ge=0, description="Quorum")


class DisputeVotes(Body):
    agree: int = Field(ge=0, description="Indexed votes that the outcome is wrong")
    disagree: int = Field(ge=0, description="Indexed votes that it is right")
    total: int = Field(ge=0)
    posted_on_chain: DisputeCounts = Field(description="The market account's counters")
    your_vote: YourVote | None = Field(description="The `wallet`'s vote, if asked and cast")
    published_tally: DisputeTally | None
    threshold_bps: int = Field(ge=0, description="Share of `agree` that overturns")
    min_votes: int = Field(ge=0, description="Quorum")


class MarketVotes(Body):
    market_id: MarketId
    state: MarketState
    proposal: ProposalVotes
    dispute: DisputeVotes


class CreatedMarket(Body):
    market_id: MarketId = Field(description="sha256 of canonical_metadata")
    address: Address = Field(description="The market account (PDA) it will have")
    canonical_metadata: str = Field(description="The canonical JSON that the id hashes")
    transaction: Base64Transaction = Field(description="The unsigned propose_market transaction")
    last_valid_block_height: int = Field(ge=0)


# ---- trading: unsigned transactions and the relay -----------------------------------------


class UnsignedTransaction(Body):
    """A transaction for the user's wallet to sign (the Solana Actions convention)."""

    transaction: Base64Transaction
    last_valid_block_height: int = Field(ge=0, description="Valid until this block height")
    signer: Address = Field(description="The wallet that must sign it (the fee payer)")


class BuyQuote(Quote):
    max_cost: Lamports = Field(description="The most the transaction may pay (slippage)")


class SellQuote(Quote):
    min_proceeds: Lamports = Field(description="The least the transaction accepts (slippage)")


class BuyOrder(Body):
    quote: BuyQuote
    transaction: Base64Transaction
    last_valid_block_height: int = Field(ge=0, description="Valid until this block height")
    signer: Address = Field(description="The wallet that must sign it (the fee payer)")


class SellOrder(Body):
    quote: SellQuote
    transaction: Base64Transaction
    last_valid_block_height: int = Field(ge=0, description="Valid until this block height")
    signer: Address = Field(description="The wallet that must sign it (the fee payer)")


class Activation(Body):
    deposit: Lamports = Field(description="The liquidity the activation deposits")
    transaction: Base64Transaction
    last_valid_block_height: int = Field(ge=0, description="Valid until this block height")
    signer: Address = Field(description="The wallet that must sign it (the fee payer)")


TxSignature = Annotated[
    str,
    Field(pattern="^[1-9A-HJ-NP-Za-km-z]{64,88}$", description="The transaction's signature"),
]


class RelaySubmitted(Body):
    signature: TxSignature
    status: Literal["submitted"] = Field(description="Sent; not waited for (wait=none)")


class RelayConfirmed(Body):
    signature: TxSignature
    status: Literal["confirmed"]
    slot: int = Field(ge=0, description="The slot it landed in")


class RelayFailed(Body):
    signature: TxSignature
    status: Literal["failed"] = Field(description="It landed and the program refused it")
    error: str = Field(description="The program error's name, or the chain's error")
    code: int | None = Field(description="The program's error code")


class RelayExpired(Body):
    signature: TxSignature
    status: Literal["expired"] = Field(description="Its blockhash expired before it landed")


Relayed = Annotated[
    RelaySubmitted | RelayConfirmed | RelayFailed | RelayExpired, Field(discriminator="status")
]


# ---- users ---------------------------------------------------------------------------------


class User(Body):
    wallet: Address
    first_seen: Time | None = Field(description="First indexed activity (chain time)")
    last_seen: Time | None = Field(description="Latest indexed activity (chain time)")
    trades: int = Field(ge=0, description="Trades made")
    bought: Lamports = Field(description="Paid for buys, fees included")
    sold: Lamports = Field(description="Received from sales, after fees")
    markets_traded: int = Field(ge=0)


class Position(Body):
    """A wallet's position in one market, marked to market."""

    market_id: MarketId
    question: str | None
    state: MarketState
    shares_yes: Shares
    shares_no: Shares
    price_yes: Price = Field(description="The market's current YES price")
    value: int = Field(
        ge=0,
        description="Lamports: shares at the current price, what the winning side pays once "
        "finalized, 0 once claimed",
    )
    total_invested: Lamports
    total_withdrawn: Lamports = Field(description="Received from sales")
    claimed: Lamports = Field(description="Received from the claim")
    has_claimed: bool
    pnl: int = Field(description="Lamports: value + withdrawn + claimed - invested")
    trades_count: int = Field(ge=0)
    last_trade_at: Time | None


class Positions(Body):
    wallet: Address
    positions: list[Position] = Field(description="Most recently traded first")


class TradeFees(Body):
    protocol: Lamports
    resolver: Lamports
    lp: Lamports = Field(description="To the liquidity provider")


class Trade(Body):
    market_id: MarketId
    wallet: Address
    side: Literal["buy", "sell"]
    outcome: Outcome
    shares: Shares
    amount: Lamports = Field(description="LMSR cost (buy) or proceeds (sell), before fees")
    fees: TradeFees
    total: Lamports = Field(description="Paid (buy) or received (sell)")
    price_yes_after: Price
    signature: TxSignature
    slot: int = Field(ge=0)
    at: Time = Field(description="Block time")


class Trades(Body):
    wallet: Address
    trades: list[Trade] = Field(description="Newest first")
    next_before: Time | None = Field(description="`before` for the next page; null on the last")


# ---- auth and faucet -----------------------------------------------------------------------


class Nonce(Body):
    nonce: str = Field(description="Single use, for this wallet and action")
    expires_at: Time
    message: str = Field(description="The exact Sign-In-With-Solana text to sign")
    domain: str = Field(description="This deployment's domain, as the message names it")


class FaucetInfo(Body):
    wallet: Address
    balance: Lamports = Field(description="The wallet's balance")
    available: bool = Field(description="Whether POST /api/faucet airdrops here (localnet only)")
    airdrop: Lamports = Field(description="What one airdrop gives")
    chain_id: str = Field(description="The cluster this API is on")


class Airdrop(Body):
    wallet: Address
    signature: TxSignature = Field(description="The airdrop's transaction")
    lamports: Lamports = Field(description="Airdropped")
    balance: Lamports = Field(description="The wallet's balance after it")


# ---- discussions ---------------------------------------------------------------------------


class Comment(Body):
    """A comment with the signed message and signature that prove its author."""

    id: str = Field(description="UUID")
    market_id: MarketId
    user_wallet: Address
    content: str = Field(description="Exactly as sent (1-1000 code points)")
    content_html: str = Field(description="`content` escaped for HTML")
    created_at: Time
    signed_message: str = Field(description="The SIWS text the author's wallet signed")
    signature: TxSignature = Field(description="Its ed25519 signature, base58")


class SnapshotLinks(Body):
    document: str = Field(description="The document, checked against its CID")
    gateway: str = Field(description="The IPFS gateway's copy")


class Snapshot(Body):
    """One day's comments archived on IPFS."""

    cid: str
    snapshot_date: str = Field(description="The UTC day (YYYY-MM-DD)")
    discussions_count: int = Field(ge=0)
    size_bytes: int | None = Field(ge=0)
    created_at: Time
    links: SnapshotLinks


class Discussion(Body):
    market_id: MarketId
    order: Literal["newest", "oldest"]
    discussions: list[Comment] = Field(description="One page, soft-deleted comments left out")
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last")
    ipfs_snapshots: list[Snapshot] = Field(description="Newest first")


class DeletedComment(Body):
    id: str = Field(description="UUID")
    market_id: MarketId
    deleted: Literal[True]
    deleted_at: Time
    deleted_by: Address
    delete_reason: str | None
    by_moderator: bool = Field(description="Deleted by a moderator rather than its author")


class SnapshotComment(Body):
    id: str = Field(description="UUID")
    user_wallet: Address
    content: str
    created_at: Time
    signed_message: str = Field(description="The SIWS text the author's wallet signed")
    signature: TxSignature = Field(description="Its ed25519 signature, base58")


class SnapshotDocument(Body):
    """A day's comments of one market as archived (canonical JSON: its bytes hash to the CID)."""

    discussions: list[SnapshotComment] = Field(description="In (created_at, id) order")
    discussions_count: int = Field(ge=0)
    market_id: MarketId
    snapshot_date: str = Field(description="The UTC day (YYYY-MM-DD)")


# ---- admin ---------------------------------------------------------------------------------


class AdminResult(Body):
    """An admin action applied on chain, through the audit-logged backend sender."""

    action: Literal["approve_market", "finalize_market", "cancel_market"]
    market_id: MarketId
    outcome: Literal["confirmed"] = Field(description="The transaction confirmed")
    signature: TxSignature | None = Field(description="The transaction's signature")
    audit_id: int = Field(description="The audit_log row of this action")


# ---- health --------------------------------------------------------------------------------


class PartHealth(Body):
    ok: bool
    error: str | None = Field(None, description="Why not, when not ok")


class ChainHealth(Body):
    ok: bool
    rpc: str | None = Field(None, description="The RPC URL, when it answered")
    error: str | None = Field(None, description="Why not, when the RPC failed")
    program_id: Address


class IndexerHealth(Body):
    indexed_slot: int | None = Field(None, ge=0, description="Last slot with indexed events")
    synced_slot: int | None = Field(None, ge=0, description="Slot up to which it has synced")
    last_signature: str | None = None
    seconds_since_update: float | None = None
    dead_letters_pending: int | None = Field(None, ge=0)
    chain_error: str | None = Field(None, description="Why the chain's slot is unknown")
    chain_slot: int | None = None
    lag_slots: int | None = Field(None, ge=0)
    lag_seconds: float | None = Field(None, ge=0)
    ok: bool = Field(description="The database reflects the chain within about a minute")
    error: str | None = Field(None, description="Why its state could not be read")


class JobRun(Body):
    tick: str
    worker: str
    started_at: str
    finished_at: str | None
    outcome: str | None
    error: str | None


class Health(Body):
    jobs: dict[str, JobRun] | None = Field(None, description="Each job's latest run")
    database: PartHealth
    chain: ChainHealth
    redis: PartHealth | None = Field(None, description="With REDIS_URL only")
    indexer: IndexerHealth | None = Field(None, description="When the database answered")
    status: Literal["ok", "degraded"]
