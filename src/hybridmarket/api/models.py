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
    likes: int = Field(description="Votes for the market", ge=0)
    dislikes: int = Field(description="Votes against it", ge=0)


class DisputeCounts(Body):
    total: int = Field(ge=0, description="Votes cast")
    agree: int = Field(ge=0, description="Votes that the proposed outcome is wrong")
    disagree: int = Field(ge=0, description="Votes that the proposed outcome is right")


class MarketVoteCounts(Body):
    """The vote counters of the market account (as indexed from the chain)."""

    proposal: ProposalCounts = Field(description="The proposal vote")
    dispute: DisputeCounts = Field(description="The dispute vote")


class Resolution(Body):
    proposed_outcome: ResolvedOutcome | None = Field(
        description="The resolver's outcome; null until resolved"
    )
    final_outcome: ResolvedOutcome | None = Field(description="null until finalized")
    evidence_cid: str | None = Field(description="IPFS CID of the resolver's evidence")
    resolution_proposed_at: Time | None = Field(description="When the resolver resolved")
    dispute_deadline: Time | None = Field(description="End of the dispute period (chain time)")
    dispute_initiator: Address | None = Field(description="Who disputed the resolution")
    dispute_initiated_at: Time | None = Field(description="When the resolution was disputed")
    dispute_voting_deadline: Time | None = Field(
        description="End of the dispute voting period (chain time)"
    )
    finalized_at: Time | None = Field(description="When the outcome became final")
    cancelled_at: Time | None = Field(description="When the market was cancelled")


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
    description: str | None = Field(description="The creator's description")
    category: str | None = Field(description="e.g. weather, sports")
    resolution_criteria: str | None = Field(description="How the resolver decides")
    closes_at: Time | None = Field(description="When trading is meant to end (metadata)")
    creator: Address
    resolver: Address = Field(description="The wallet that resolves the market")
    state: MarketState = Field(description="Its state on chain")
    b_parameter: int = Field(ge=0, description="LMSR liquidity parameter (share units)")
    shares_yes: Shares = Field(description="YES shares outstanding")
    shares_no: Shares = Field(description="NO shares outstanding")
    price_yes: Price = Field(description="Price of a YES share")
    price_no: Price = Field(description="Price of a NO share (1 - price_yes)")
    liquidity: Lamports = Field(description="Lamports held by the market")
    initial_liquidity: Lamports = Field(description="The creator's deposit at activation")
    volume: Lamports = Field(description="Traded volume")
    trades_count: int = Field(description="Trades made in it", ge=0)
    votes: MarketVoteCounts = Field(description="The vote counters of its account")
    resolution: Resolution = Field(description="Its resolution, dispute and outcome")
    created_at: Time = Field(description="When it was proposed (chain time)")
    approved_at: Time | None = Field(description="When the backend approved it (chain time)")
    activated_at: Time | None = Field(
        description="When its creator deposited the liquidity (chain time)"
    )
    updated_at: Time = Field(description="When this copy of the chain state last changed")
    links: MarketLinks = Field(description="Where to read more of it")


class MarketListItem(Market):
    """A market as listed: with its price's change over the last 24 hours of the chain's clock."""

    change_24h: str | None = Field(
        pattern=r"^-?(0|1)(\.[0-9]+)?$",
        description="price_yes now minus price_yes 24 hours ago by the chain's clock (its "
        "opening price for a younger market), as a decimal string; null when unknown (never "
        "priced, or the chain's clock unreadable)",
    )


class MarketList(Body):
    markets: list[MarketListItem] = Field(description="One page, in the order asked for")
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last")


class QuoteFees(Body):
    protocol: Lamports
    resolver: Lamports
    lp: Lamports = Field(description="To the liquidity provider")


class Quote(Body):
    """An LMSR quote against the market's on-chain state."""

    side: Literal["buy", "sell"] = Field(description="Buy or sell")
    outcome: Outcome = Field(description="The side traded")
    shares: Shares
    amount: Lamports = Field(description="LMSR cost (buy) or proceeds (sell), before fees")
    fees: QuoteFees = Field(description="The fees, included in total")
    total: Lamports = Field(description="Paid (buy: amount + fees) or received (sell)")
    price_before: Price = Field(description="Price of this outcome before the trade")
    price_after: Price = Field(description="Price of this outcome after the trade")
    price_yes_after: Price
    average_price: Price = Field(description="amount / shares")
    price_impact_bps: int = Field(ge=0, description="Basis points")


class FeeRates(Body):
    """Fee rates in basis points of a trade's cost (buy) or proceeds (sell)."""

    protocol: int = Field(description="To the protocol's wallet", ge=0)
    resolver: int = Field(description="To the market's resolver", ge=0)
    lp: int = Field(description="To the liquidity provider", ge=0)
    total: int = Field(description="All three", ge=0)


class MarketPrice(Body):
    market_id: MarketId
    state: MarketState = Field(description="The market's state")
    price_yes: Price
    price_no: Price
    fees_bps: FeeRates = Field(description="What every trade pays, before an amount is typed")
    quote: Quote | None = Field(None, description="Only when `shares` or `amount` is given")


class PricePoint(Body):
    """One price change (interval=raw)."""

    t: Time = Field(description="When the price changed (chain time)")
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
    interval: Literal["raw", "1m", "5m", "15m", "1h", "4h", "1d"] = Field(
        description="The interval asked for"
    )
    points: list[PricePoint] | list[Candle] = Field(description="Oldest first")


class YourVote(Body):
    vote: bool = Field(description="proposal: true = like; dispute: true = the outcome is wrong")
    voted_at: Time = Field(description="When (chain time)")


class ProposalTally(Body):
    """A tally the worker published on IPFS and posted on chain."""

    cid: str = Field(description="The tally document on IPFS")
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="sha256 of the tally document")
    likes: int = Field(description="Likes counted", ge=0)
    dislikes: int = Field(description="Dislikes counted", ge=0)


class DisputeTally(Body):
    """A tally the worker published on IPFS and posted on chain."""

    cid: str = Field(description="The tally document on IPFS")
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="sha256 of the tally document")
    agree: int = Field(description="Votes counted that the outcome is wrong", ge=0)
    disagree: int = Field(description="Votes counted that it is right", ge=0)


class ProposalVotes(Body):
    likes: int = Field(ge=0, description="Indexed votes for")
    dislikes: int = Field(ge=0, description="Indexed votes against")
    total: int = Field(description="Indexed votes", ge=0)
    posted_on_chain: ProposalCounts = Field(description="The market account's counters")
    your_vote: YourVote | None = Field(description="The `wallet`'s vote, if asked and cast")
    published_tally: ProposalTally | None = Field(
        description="The latest tally posted on chain, if any"
    )
    threshold_bps: int = Field(ge=0, description="Share of likes needed for approval")
    min_votes: int = Field(ge=0, description="Quorum")


class DisputeVotes(Body):
    agree: int = Field(ge=0, description="Indexed votes that the outcome is wrong")
    disagree: int = Field(ge=0, description="Indexed votes that it is right")
    total: int = Field(description="Indexed votes", ge=0)
    posted_on_chain: DisputeCounts = Field(description="The market account's counters")
    your_vote: YourVote | None = Field(description="The `wallet`'s vote, if asked and cast")
    published_tally: DisputeTally | None = Field(
        description="The latest tally posted on chain, if any"
    )
    threshold_bps: int = Field(ge=0, description="Share of `agree` that overturns")
    min_votes: int = Field(ge=0, description="Quorum")


class MarketVotes(Body):
    market_id: MarketId
    state: MarketState = Field(description="The market's state")
    proposal: ProposalVotes = Field(description="Whether it should be listed")
    dispute: DisputeVotes = Field(description="Whether its resolution is wrong")


# ---- vote receipts ----------------------------------------------------------------------------


class TallyCounts(Body):
    yes: int = Field(ge=0, description="proposal: likes; dispute: votes that the outcome is wrong")
    no: int = Field(ge=0, description="proposal: dislikes; dispute: votes that it is right")


class ReceiptTally(Body):
    """The published tally document that should include the vote."""

    cid: str = Field(description="The tally document's CID (CIDv1) on IPFS")
    url: str = Field(description="The document through this API's IPFS gateway (/ipfs/{cid})")
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description="sha256 of the tally document")
    counts: TallyCounts = Field(description="The counts the document states")
    transaction: str | None = Field(
        description="The backend's transaction that posted these counts on chain (approve_market "
        "or finalize_market), from its audit log; null if it is not recorded"
    )


class VoteReceipt(Body):
    """A wallet's vote of one kind, and whether the tally posted on chain counts it."""

    kind: Literal["proposal", "dispute"] = Field(description="Which vote")
    vote_record: Address = Field(description="The VoteRecord account (PDA) the vote created")
    vote: bool = Field(
        description="As on chain: proposal true = like; dispute true = the outcome is wrong"
    )
    voted_at: Time = Field(description="When (chain time, from the VoteRecord)")
    slot: int | None = Field(
        ge=0, description="The slot of the vote's transaction; null until it is indexed"
    )
    signature: str | None = Field(
        description="The vote's transaction (base58), confirmed on chain at `slot`; null until "
        "it is indexed"
    )
    status: Literal["pending", "counted", "not_counted"] = Field(
        description="pending: no tally is posted on chain yet; counted: the tally posted on "
        "chain includes this vote; not_counted: a tally was posted (or voting ended) without it"
    )
    counted_on_chain: bool = Field(
        description="Checked against the chain and IPFS, not the database: the VoteRecord "
        "exists on chain with this vote, the market account holds posted counts, and the "
        "document at `tally.cid` (its bytes hash to the CID) is this market's tally of this "
        "kind, states those counts and lists this VoteRecord with this voter and vote"
    )
    posted_on_chain: TallyCounts | None = Field(
        description="The counts the market account holds for this vote; null until posted"
    )
    tally: ReceiptTally | None = Field(
        description="The published document with the posted counts; null when none is"
    )
    checks: list[str] = Field(
        description="What was checked, in words; for pending or not_counted, why"
    )


class VoteReceipts(Body):
    market_id: MarketId
    wallet: Address = Field(description="The voter")
    proposal: VoteReceipt | None = Field(description="The proposal vote; null if none")
    dispute: VoteReceipt | None = Field(description="The dispute vote; null if none")


class CreatedMarket(Body):
    market_id: MarketId = Field(description="sha256 of canonical_metadata")
    address: Address = Field(description="The market account (PDA) it will have")
    canonical_metadata: str = Field(description="The canonical JSON that the id hashes")
    transaction: Base64Transaction = Field(description="The unsigned propose_market transaction")
    last_valid_block_height: int = Field(
        description="The transaction is valid until this block height", ge=0
    )


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
    quote: BuyQuote = Field(description="What the buy costs")
    transaction: Base64Transaction
    last_valid_block_height: int = Field(ge=0, description="Valid until this block height")
    signer: Address = Field(description="The wallet that must sign it (the fee payer)")


class SellOrder(Body):
    quote: SellQuote = Field(description="What the sale pays")
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
    status: Literal["confirmed"] = Field(description="It landed and succeeded")
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
    markets_traded: int = Field(description="Markets it traded in", ge=0)
    markets_created: int = Field(ge=0, description="Markets it proposed")
    comments: int = Field(ge=0, description="Its comments, deleted ones left out")
    positions: int = Field(ge=0, description="Markets it holds (or held) a position in")
    realized_pnl: int = Field(
        description="Lamports realized by the average-cost method (signed): on sales, and on "
        "positions settled (held to a market's end)"
    )
    volume: Lamports = Field(description="LMSR amounts traded (before fees)")


class Position(Body):
    """A wallet's position in one market, marked to market."""

    market_id: MarketId
    question: str | None = Field(description="The market's question")
    state: MarketState = Field(description="The market's state")
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
    has_claimed: bool = Field(description="Whether the winnings (or refund) were claimed")
    pnl: int = Field(description="Lamports: value + withdrawn + claimed - invested")
    trades_count: int = Field(description="Trades in this market", ge=0)
    last_trade_at: Time | None = Field(description="The latest of them (chain time)")


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
    side: Literal["buy", "sell"] = Field(description="Buy or sell")
    outcome: Outcome = Field(description="The side traded")
    shares: Shares
    amount: Lamports = Field(description="LMSR cost (buy) or proceeds (sell), before fees")
    fees: TradeFees = Field(description="The fees, included in total")
    total: Lamports = Field(description="Paid (buy) or received (sell)")
    price_yes_after: Price
    signature: TxSignature
    slot: int = Field(description="The slot it landed in", ge=0)
    at: Time = Field(description="Block time")


class WalletTrade(Trade):
    """A trade in a wallet's history: with its market's question."""

    question: str | None = Field(description="The market's question")


class Trades(Body):
    wallet: Address
    trades: list[WalletTrade] = Field(description="Newest first")
    next_before: str | None = Field(
        description="`before` for the next page (a position in chain order); null on the last"
    )


SignedLamports = Annotated[int, Field(description="Lamports, signed (a loss is negative)")]
AveragePrice = Annotated[
    str,
    Field(
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description="Lamports paid per share unit held (fees included, so it can exceed 1), as "
        "an exact decimal string (9 places, rounded down)",
    ),
]
PositionAction = Literal["sell", "claim", "withdraw_liquidity"]


class PortfolioPosition(Body):
    """One position, with its cost by the average-cost method and what can be done with it."""

    market_id: MarketId
    question: str | None = Field(description="The market's question")
    state: MarketState = Field(description="The market's state")
    shares_yes: Shares = Field(description="YES shares held")
    shares_no: Shares = Field(description="NO shares held")
    average_price_yes: AveragePrice | None = Field(
        description="cost_basis_yes / shares_yes; null without YES shares"
    )
    average_price_no: AveragePrice | None = Field(
        description="cost_basis_no / shares_no; null without NO shares"
    )
    cost_basis_yes: Lamports = Field(description="What the YES shares held cost")
    cost_basis_no: Lamports = Field(description="What the NO shares held cost")
    cost_basis: Lamports = Field(description="cost_basis_yes + cost_basis_no")
    price_yes: Price = Field(description="The market's current YES price")
    value: Lamports = Field(
        description="The shares at the current price (rounded down); once the market is "
        "settled, what its claim pays; 0 once claimed"
    )
    realized_pnl: SignedLamports = Field(
        description="From sales (received minus the average cost of the shares sold), plus "
        "once settled (claimed, or its market FINALIZED with an outcome) what the claim pays "
        "minus the cost basis"
    )
    unrealized_pnl: SignedLamports = Field(description="value - cost_basis (0 once settled)")
    claimed: Lamports = Field(description="Received from the claim")
    has_claimed: bool = Field(description="Whether the winnings (or refund) were claimed")
    action: PositionAction | None = Field(
        description="What applies now: sell (an ACTIVE market), claim (a settled market whose "
        "claim pays something, not yet claimed), withdraw_liquidity (its creator, when liquidity "
        "is left to withdraw), or null"
    )
    trades_count: int = Field(description="Trades in this market", ge=0)
    last_trade_at: Time | None = Field(description="The latest of them (chain time)")


class CreatedMarketLiquidity(Body):
    """A settled market the wallet created, with liquidity it can withdraw."""

    market_id: MarketId
    question: str | None = Field(description="The market's question")
    state: MarketState = Field(description="FINALIZED or CANCELLED")
    withdrawable: Lamports = Field(
        description="What withdraw_liquidity pays now: the pool and fees above what unclaimed "
        "positions can still take"
    )
    action: Literal["withdraw_liquidity"] = Field(description="Always withdraw_liquidity")


class PortfolioTotals(Body):
    positions: int = Field(ge=0, description="Positions listed")
    cost_basis: Lamports = Field(description="Sum of cost_basis")
    value: Lamports = Field(description="Sum of value")
    realized_pnl: SignedLamports = Field(description="Sum of realized_pnl")
    unrealized_pnl: SignedLamports = Field(description="Sum of unrealized_pnl")
    pnl: SignedLamports = Field(description="realized_pnl + unrealized_pnl")
    claimable: Lamports = Field(description="Sum of value over positions whose action is claim")
    withdrawable: Lamports = Field(description="Sum of withdrawable over created markets")


class Portfolio(Body):
    wallet: Address
    positions: list[PortfolioPosition] = Field(description="Most recently traded first")
    created: list[CreatedMarketLiquidity] = Field(
        description="Settled markets it created with liquidity left to withdraw"
    )
    totals: PortfolioTotals = Field(description="Over the positions and created markets")


class ProposedMarket(Body):
    """A market the wallet proposed."""

    market_id: MarketId
    question: str | None = Field(description="The market's question")
    state: MarketState = Field(description="The market's state")
    created_at: Time = Field(description="When it was proposed (chain time)")
    volume: Lamports = Field(description="LMSR amounts traded in it (before fees)")


class ProposedMarkets(Body):
    wallet: Address
    markets: list[ProposedMarket] = Field(description="Newest first, at most `limit`")


class UserComment(Body):
    """A comment the wallet posted (not deleted), with its market's question."""

    id: str = Field(description="UUID")
    market_id: MarketId
    question: str | None = Field(description="The market's question")
    content: str = Field(description="Exactly as sent")
    created_at: Time = Field(description="When it was posted")


class UserComments(Body):
    wallet: Address
    comments: list[UserComment] = Field(description="Newest first, at most `limit`")


# ---- market activity -----------------------------------------------------------------------


class MarketTrades(Body):
    market_id: MarketId
    trades: list[Trade] = Field(description="Newest first (chain order)")
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last")


class Holder(Body):
    wallet: Address
    shares: Shares = Field(description="Shares of this side held")


class MarketHolders(Body):
    market_id: MarketId
    yes: list[Holder] = Field(description="Largest YES holders first")
    no: list[Holder] = Field(description="Largest NO holders first")


class ActivityBucket(Body):
    t: Time = Field(description="Start of the interval")
    volume: Lamports = Field(description="LMSR amounts traded (before fees)")
    trades: int = Field(ge=1, description="Trades in the interval")
    traders: int = Field(ge=1, description="Distinct wallets that traded in it")


class MarketActivity(Body):
    market_id: MarketId
    interval: Literal["1h", "4h", "1d", "1w"] = Field(description="The interval asked for")
    buckets: list[ActivityBucket] = Field(description="Oldest first; empty intervals left out")


# ---- leaderboards --------------------------------------------------------------------------


class LeaderboardEntry(Body):
    rank: int = Field(ge=1, description="1 for the best")
    wallet: Address
    realized_pnl: SignedLamports = Field(
        description="Realized by the average-cost method: on sales, and on positions settled"
    )
    volume: Lamports = Field(description="LMSR amounts traded (before fees)")
    trades: int = Field(ge=0, description="Trades made")


class Leaderboard(Body):
    by: Literal["profit", "volume"] = Field(description="The order asked for")
    period: Literal["all", "week"] = Field(description="The period asked for")
    week: str | None = Field(description="The UTC week's Monday (YYYY-MM-DD); null for all")
    entries: list[LeaderboardEntry] = Field(description="Best first")
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last")


# ---- follows and notifications -------------------------------------------------------------


class Follow(Body):
    """A market a wallet follows, with the SIWS message and signature that asked for it."""

    wallet: Address
    market_id: MarketId
    question: str | None = Field(description="The market's question")
    followed_at: Time = Field(description="When it was first followed")
    signed_message: str = Field(description="The SIWS text the wallet signed (the latest)")
    signature: TxSignature = Field(description="Its ed25519 signature, base58")


class FollowedMarket(Follow):
    state: MarketState = Field(description="The market's state")


class Follows(Body):
    wallet: Address
    follows: list[FollowedMarket] = Field(description="By market id")
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last")


class Unfollowed(Body):
    wallet: Address
    market_id: MarketId
    following: Literal[False] = Field(description="Always false")
    was_following: bool = Field(description="Whether the wallet followed it before")


class Notification(Body):
    """Something that happened to a market the wallet follows or holds."""

    id: int = Field(ge=1, description="Increasing: mark read up to it")
    market_id: MarketId
    question: str | None = Field(description="The market's question")
    kind: Literal["resolution_proposed", "dispute_opened", "finalized", "claimable", "comment"] = (
        Field(
            description="resolution_proposed (deadline: end of the dispute period), "
            "dispute_opened (deadline: end of the dispute vote), finalized (outcome), "
            "claimable (a settled market where its position has a claim to make), comment (a "
            "new comment on a market it holds or follows)"
        )
    )
    deadline: Time | None = Field(description="resolution_proposed and dispute_opened only")
    outcome: ResolvedOutcome | None = Field(description="finalized and claimable only")
    comment_id: str | None = Field(description="comment only: the comment's UUID")
    author: Address | None = Field(description="comment only: who wrote it")
    created_at: Time = Field(description="When it was generated")
    read: bool = Field(description="Whether the wallet marked it read")


class Notifications(Body):
    wallet: Address
    unread: int = Field(ge=0, description="Unread notifications in all")
    notifications: list[Notification] = Field(description="Newest first")
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last")


class NotificationsRead(Body):
    wallet: Address
    up_to: int = Field(ge=0, description="Notifications with ids up to this one are read")
    marked: int = Field(ge=0, description="Notifications this request marked read")
    unread: int = Field(ge=0, description="Unread notifications left")


# ---- auth and faucet -----------------------------------------------------------------------


class Nonce(Body):
    nonce: str = Field(description="Single use, for this wallet and action")
    expires_at: Time = Field(description="Sign and send before this")
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
    created_at: Time = Field(description="When it was posted")
    signed_message: str = Field(description="The SIWS text the author's wallet signed")
    signature: TxSignature = Field(description="Its ed25519 signature, base58")


class SnapshotLinks(Body):
    document: str = Field(description="The document, checked against its CID")
    gateway: str = Field(description="The IPFS gateway's copy")


class Snapshot(Body):
    """One day's comments archived on IPFS."""

    cid: str = Field(description="The document's CID (CIDv1)")
    snapshot_date: str = Field(description="The UTC day (YYYY-MM-DD)")
    discussions_count: int = Field(description="Comments in it", ge=0)
    size_bytes: int | None = Field(description="The document's size", ge=0)
    created_at: Time = Field(description="When it was archived")
    links: SnapshotLinks = Field(description="Where to fetch it")


class Discussion(Body):
    market_id: MarketId
    order: Literal["newest", "oldest"] = Field(description="The order asked for")
    discussions: list[Comment] = Field(description="One page, soft-deleted comments left out")
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last")
    ipfs_snapshots: list[Snapshot] = Field(description="Newest first")


class DeletedComment(Body):
    id: str = Field(description="UUID")
    market_id: MarketId
    deleted: Literal[True] = Field(description="Always true")
    deleted_at: Time = Field(description="When")
    deleted_by: Address
    delete_reason: str | None = Field(description="Why, if a reason was given")
    by_moderator: bool = Field(description="Deleted by a moderator rather than its author")


class SnapshotComment(Body):
    id: str = Field(description="UUID")
    user_wallet: Address
    content: str = Field(description="As posted")
    created_at: Time = Field(description="When it was posted")
    signed_message: str = Field(description="The SIWS text the author's wallet signed")
    signature: TxSignature = Field(description="Its ed25519 signature, base58")


class SnapshotDocument(Body):
    """A day's comments of one market as archived (canonical JSON: its bytes hash to the CID)."""

    discussions: list[SnapshotComment] = Field(description="In (created_at, id) order")
    discussions_count: int = Field(description="len(discussions)", ge=0)
    market_id: MarketId
    snapshot_date: str = Field(description="The UTC day (YYYY-MM-DD)")
    previous: str | None = Field(
        None,
        description="CID of the market's previous snapshot (null in its first; absent in "
        "documents written before the archive was a chain)",
    )


# ---- admin ---------------------------------------------------------------------------------


class AdminResult(Body):
    """An admin action applied on chain, through the audit-logged backend sender."""

    action: Literal["approve_market", "finalize_market", "cancel_market"] = Field(
        description="What was done"
    )
    market_id: MarketId
    outcome: Literal["confirmed"] = Field(description="The transaction confirmed")
    signature: TxSignature | None = Field(description="The transaction's signature")
    audit_id: int = Field(description="The audit_log row of this action")


# ---- health --------------------------------------------------------------------------------


class PartHealth(Body):
    ok: bool = Field(description="Whether it answers")
    error: str | None = Field(None, description="Why not, when not ok")


class ChainHealth(Body):
    ok: bool = Field(description="Whether the RPC answers and the node is healthy")
    rpc: str | None = Field(None, description="The RPC URL, when it answered")
    error: str | None = Field(None, description="Why not, when the RPC failed")
    program_id: Address


class IndexerHealth(Body):
    indexed_slot: int | None = Field(None, ge=0, description="Last slot with indexed events")
    synced_slot: int | None = Field(None, ge=0, description="Slot up to which it has synced")
    last_signature: str | None = Field(None, description="The last transaction indexed")
    seconds_since_update: float | None = Field(None, description="Since its cursor last moved")
    dead_letters_pending: int | None = Field(
        None, description="Events it could not apply, unresolved", ge=0
    )
    chain_error: str | None = Field(None, description="Why the chain's slot is unknown")
    chain_slot: int | None = Field(None, description="The chain's slot now, if it answered")
    lag_slots: int | None = Field(None, description="chain_slot - synced_slot", ge=0)
    lag_seconds: float | None = Field(None, description="The lag at 400 ms a slot", ge=0)
    ok: bool = Field(description="The database reflects the chain within about a minute")
    error: str | None = Field(None, description="Why its state could not be read")


class JobRun(Body):
    tick: str = Field(description="The schedule's tick it ran for")
    worker: str = Field(description="The worker that ran it")
    started_at: str = Field(description="When it started")
    finished_at: str | None = Field(description="When it finished; null while running")
    outcome: str | None = Field(description="ok or error; null while running")
    error: str | None = Field(description="Why it failed")


class Health(Body):
    jobs: dict[str, JobRun] | None = Field(None, description="Each job's latest run")
    database: PartHealth = Field(description="PostgreSQL")
    chain: ChainHealth = Field(description="The Solana RPC")
    redis: PartHealth | None = Field(None, description="With REDIS_URL only")
    indexer: IndexerHealth | None = Field(None, description="When the database answered")
    status: Literal["ok", "degraded"] = Field(description="ok, or degraded when a part is not")
