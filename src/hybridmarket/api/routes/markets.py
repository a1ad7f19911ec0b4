"""Markets: list, detail, price and quotes, history, vote tallies, and creating metadata."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field
from solders.pubkey import Pubkey

from hybridmarket.api import chainclock
from hybridmarket.api.cache import HITS, LIST_TAG, Cache, item_key, list_request_key, market_key
from hybridmarket.api.common import (
    MarketIdPath,
    Signature,
    StoredText,
    Wallet,
    check_signed,
    dec,
    iso,
    parse_decimal,
    parse_time,
    present,
    program_config,
    rate_limit,
)
from hybridmarket.api.errors import ApiError, chain_unavailable, not_found
from hybridmarket.api.models import (
    Candle,
    CreatedMarket,
    DisputeTally,
    DisputeVotes,
    FeeRates,
    Market,
    MarketList,
    MarketPrice,
    MarketVotes,
    PriceHistory,
    PricePoint,
    ProposalTally,
    ProposalVotes,
    Quote,
    QuoteFees,
    YourVote,
)
from hybridmarket.api.routes import encoded, encoded_as, error_responses
from hybridmarket.api.state import ApiState, state
from hybridmarket.canonical import canonical_json, sha256_hex
from hybridmarket.chain.errors import ChainError
from hybridmarket.db.queries import jobs as q_jobs
from hybridmarket.db.queries import markets as q_markets
from hybridmarket.db.queries import trades as q_trades
from hybridmarket.db.queries import votes as q_votes
from hybridmarket.program import builders as b
from hybridmarket.program import lmsr, quote
from hybridmarket.program.ids import market_pda

router = APIRouter(
    prefix="/api/markets",
    tags=["markets"],
    responses=error_responses(400, 401, 404, 422, 429, 503),
)


def _json(value: Any) -> bytes:
    """The JSON body FastAPI would send for `value` (its JSONResponse settings: compact, UTF-8
    unescaped), by orjson: a page of 50 markets encodes in a tenth of json.dumps' time."""
    return orjson.dumps(value)


def _encode_cursor(key: str, mid: str, rank: int) -> str:
    raw = json.dumps([key, mid, rank]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[str, str, int]:
    """The (sort key, market id, open-first rank) of a cursor; the key must read as this sort's
    type (SQL casts it), so a forged cursor is a 422, not a database error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, mid, *rest = json.loads(raw)
        rank = rest[0] if rest else 1
        if not isinstance(key, str) or not isinstance(mid, str) or "\x00" in key + mid:
            raise ValueError
        if len(rest) > 1 or rank not in (0, 1) or isinstance(rank, bool):
            raise ValueError
        if sort == "volume":
            parse_decimal(key)
        elif sort == "relevance":
            float(key)
        elif not (sort == "closing" and key == "infinity"):
            parse_time(key)
        return key, mid, rank
    except (ValueError, binascii.Error, TypeError):
        raise ApiError(
            422, "invalid_request", "cursor: not a cursor returned by this API"
        ) from None


async def _day_ago(request: Request) -> datetime | None:
    """24 hours before the chain's clock (the API's chain clock: it can be days ahead of the
    wall clock); None while the chain's time is unknown."""
    clock = chainclock.chain_clock(request.app)
    now = None if clock is None else await clock.current()
    return None if now is None else datetime.fromtimestamp(now - 24 * 3600, UTC)


@router.get("", summary="List markets", response_model=None, responses=encoded_as(MarketList))
async def list_markets(
    request: Request,
    st: Annotated[ApiState, Depends(state)],
    state_: Annotated[
        Literal["PROPOSED", "APPROVED", "ACTIVE", "RESOLVING", "DISPUTED", "FINALIZED", "CANCELLED"]
        | None,
        Query(alias="state", description="Only markets in this state (`status` then ignored)"),
    ] = None,
    status: Annotated[
        Literal["open", "settled", "all"],
        Query(
            description="open: markets not yet settled (the default); settled: FINALIZED and "
            "CANCELLED ones; all: open markets first, then settled ones"
        ),
    ] = "open",
    category: Annotated[StoredText | None, Query(max_length=50)] = None,
    q: Annotated[
        StoredText | None,
        Query(
            max_length=200,
            description="Word search in the question: every word, in any order and form "
            '("Nairobi rain" finds "Will it rain in Nairobi"); "quoted phrase", or, -word',
        ),
    ] = None,
    sort: Annotated[
        Literal["volume", "newest", "closing", "relevance"] | None,
        Query(description="Default: relevance with `q`, else volume"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    search = q.strip() if q and q.strip() else None
    order = sort or ("relevance" if search else "volume")
    if order == "relevance" and search is None:
        raise ApiError(422, "invalid_request", "sort: relevance needs a search (q)")
    after = _decode_cursor(cursor, order) if cursor else None
    # Kept by the request's exact query string, so that CachedReads answers it next time
    # without routing (the same page asked with its parameters in another order is kept apart).
    key = list_request_key(request.scope.get("query_string", b""))

    async def load() -> bytes:
        since = await _day_ago(request)

        async def read(periods: tuple[int, int] | None) -> bytes:
            # A search's plan depends on its words (how many markets match): a custom one.
            async with (st.pool if search else st.reads).connection() as conn:
                keys = await q_markets.page_keys(
                    conn,
                    state=state_,
                    category=category,
                    search=search,
                    status=status,
                    sort=order,
                    after=after,
                    limit=limit + 1,
                )
            page = [mid for mid, _, _ in keys[:limit]]
            items = await list_items(st.cache, st.reads, page, since=since, periods=periods)
            last = keys[limit - 1] if len(keys) > limit else None
            return list_body((items[mid] for mid in page if mid in items), last)

        return await _with_periods(st, read)

    body: bytes = await st.cache.get(key, load, tags=[LIST_TAG])
    return encoded(body)


async def list_items(
    cache: Cache,
    pool: AsyncConnectionPool,
    ids: list[str],
    *,
    since: datetime | None,
    periods: tuple[int, int] | None,
) -> dict[str, bytes]:
    """The `MarketListItem` bodies of the markets `ids`, by id: from the cache, where each is
    kept tagged with its market (so a trade drops that market's body, not every list's), and
    the missing ones built by the database in one statement. A page of a list is its keyset
    (`page_keys`: index blocks only) and these. Bodies without a 24-hour window or the
    program config (the chain's clock or the config unreadable) are sent, not kept."""
    items: dict[str, bytes] = {}
    missing = []
    for mid in ids:
        body = cache.peek(item_key(mid))
        if body is None:
            missing.append(mid)
        else:
            items[mid] = body
    if missing:
        HITS.labels("miss").inc(len(missing))
        generation = cache.generation
        async with pool.connection() as conn:
            read = await q_markets.items_json(conn, missing, since=since, periods=periods)
        for mid, text in read.items():
            items[mid] = text.encode()
            if since is not None and periods is not None:
                cache.put(item_key(mid), items[mid], tags=[mid], generation=generation)
    return items


def list_body(items: Iterable[bytes], last: tuple[str, Any, int] | None) -> bytes:
    """A `MarketList` body from its markets' JSON and the (id, list_key, list_rank) keyset of
    its last market when more follow: the next cursor is the only value encoded here."""
    nxt = None
    if last is not None:
        mid, k, rank = last
        text = "infinity" if k is None else present(iso(k)) if isinstance(k, datetime) else str(k)
        nxt = _encode_cursor(text, mid, int(rank))
    return b'{"markets":[' + b",".join(items) + b'],"next_cursor":' + _json(nxt) + b"}"


async def _with_periods(
    st: ApiState, read: Callable[[tuple[int, int] | None], Awaitable[bytes]]
) -> bytes:
    """`read` given the program config's (dispute, dispute voting) periods, which the database
    needs for the deadlines it writes. When the config cannot be read, `read` still runs first
    without them, so that its own error (the database down, a 404) is the answer, as when the
    config was read after the rows; then the config's."""
    try:
        cfg = await program_config(st)
    except Exception:
        await read(None)
        raise
    return await read((cfg.dispute_period, cfg.dispute_voting_period))


async def fetch_market_json(st: ApiState, market_id: str) -> bytes:
    """One market's public shape as JSON, built by the database (no cache; read together
    with the other requests' markets being read at the same time, `st.market_bodies`)."""

    async def read(periods: tuple[int, int] | None) -> bytes:
        body = await st.market_bodies.load((market_id, periods))
        if body is None:
            raise not_found("market", market_id)
        return body

    return await _with_periods(st, read)


async def fetch_market(st: ApiState, market_id: str) -> dict[str, Any]:
    """One market's public shape, read from the database (no cache)."""
    market: dict[str, Any] = orjson.loads(await fetch_market_json(st, market_id))
    return market


async def load_market(st: ApiState, market_id: str) -> dict[str, Any]:
    """One market's public shape, through the cache."""
    market: dict[str, Any] = await st.cache.get(
        f"market:{market_id}", lambda: fetch_market(st, market_id), tags=[market_id]
    )
    return market


@router.get(
    "/{market_id}",
    summary="One market: metadata, cached chain state, deadlines",
    response_model=None,
    responses=encoded_as(Market),
)
async def get_market(market_id: MarketIdPath, st: Annotated[ApiState, Depends(state)]) -> Response:
    async def load() -> bytes:  # the body only: bytes are no work for the garbage collector
        return await fetch_market_json(st, market_id)

    body: bytes = await st.cache.get(market_key(market_id), load, tags=[market_id])
    return encoded(body)


def _fees(cfg: Any) -> lmsr.FeeSchedule:
    return lmsr.FeeSchedule(cfg.protocol_fee_bps, cfg.resolver_fee_bps, cfg.lp_fee_bps)


def _price(scaled: int) -> str:
    text = dec(Decimal(scaled) / Decimal(lmsr.PRICE_SCALE))
    assert text is not None
    return text


def quote_model(q: lmsr.Quote, side: Literal["buy", "sell"], outcome: bool) -> Quote:
    return Quote(
        side=side,
        outcome="yes" if outcome else "no",
        shares=q.shares,
        amount=q.amount,
        fees=QuoteFees(protocol=q.protocol_fee, resolver=q.resolver_fee, lp=q.lp_fee),
        total=q.total,
        price_before=_price(q.price_before),
        price_after=_price(q.price_after),
        price_yes_after=_price(q.price_yes_after),
        average_price=_price(q.average_price),
        price_impact_bps=q.price_impact_bps,
    )


async def make_quote(
    st: ApiState,
    market_id: str,
    side: Literal["buy", "sell"],
    outcome: bool,
    shares: int | None,
    amount: int | None,
) -> tuple[Quote, Any]:
    """A quote against the market's current on-chain state."""
    acc = await st.client.get_market(bytes.fromhex(market_id))
    if acc is None:
        raise not_found("market", market_id)
    fees = _fees(await program_config(st))
    try:
        if shares is None:
            if side != "buy" or amount is None:
                raise ApiError(422, "invalid_request", "give shares, or amount for a buy")
            shares = quote.max_shares_for_amount(
                acc.shares_yes, acc.shares_no, acc.b_parameter, outcome, amount, fees
            )
            if shares == 0:
                raise ApiError(
                    422, "amount_too_small", "the amount does not buy a single share unit"
                )
        fn = quote.quote_buy if side == "buy" else quote.quote_sell
        q = fn(acc.shares_yes, acc.shares_no, acc.b_parameter, outcome, shares, fees)
    except lmsr.LmsrError as e:
        raise ApiError(422, "trade_out_of_range", str(e)) from None
    return quote_model(q, side, outcome), acc


@router.get(
    "/{market_id}/price",
    summary="Current price, and a quote for shares or an amount",
    response_model_exclude_unset=True,  # `quote` only when asked for
)
async def get_price(
    market_id: MarketIdPath,
    st: Annotated[ApiState, Depends(state)],
    outcome: Literal["yes", "no"] = "yes",
    side: Literal["buy", "sell"] = "buy",
    shares: Annotated[int | None, Query(ge=1, le=lmsr.MAX_SHARES)] = None,
    amount: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Lamports to spend (buy)")
    ] = None,
) -> MarketPrice:
    market = await load_market(st, market_id)
    cfg = await program_config(st)
    out = MarketPrice(
        market_id=market_id,
        state=market["state"],
        price_yes=market["price_yes"],
        price_no=market["price_no"],
        fees_bps=FeeRates(
            protocol=cfg.protocol_fee_bps,
            resolver=cfg.resolver_fee_bps,
            lp=cfg.lp_fee_bps,
            total=cfg.protocol_fee_bps + cfg.resolver_fee_bps + cfg.lp_fee_bps,
        ),
    )
    if shares is not None or amount is not None:
        if shares is not None and amount is not None:
            raise ApiError(422, "invalid_request", "give shares or amount, not both")
        out.quote, _ = await make_quote(st, market_id, side, outcome == "yes", shares, amount)
    return out


_INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}


@router.get("/{market_id}/history", summary="Price points for charts")
async def get_history(
    market_id: MarketIdPath,
    st: Annotated[ApiState, Depends(state)],
    interval: Literal["raw", "1m", "5m", "15m", "1h", "4h", "1d"] = "1h",
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> PriceHistory:
    await load_market(st, market_id)

    async def load() -> PriceHistory:
        points: list[PricePoint] | list[Candle]
        async with st.pool.connection() as conn:
            if interval == "raw":
                rows = await q_trades.price_points(conn, market_id, since=since, limit=limit)
                points = [
                    PricePoint(t=present(iso(at)), price_yes=present(dec(p))) for at, p in rows
                ]
            else:
                candles = await q_trades.price_candles(
                    conn, market_id, seconds=_INTERVALS[interval], since=since, limit=limit
                )
                points = [
                    Candle(
                        t=present(iso(t)),
                        open=present(dec(o)),
                        high=present(dec(h)),
                        low=present(dec(lo)),
                        close=present(dec(c)),
                        price_yes=present(dec(c)),
                        points=n,
                    )
                    for t, o, h, lo, c, n in candles
                ]
        return PriceHistory(market_id=market_id, interval=interval, points=points)

    result: PriceHistory = await st.cache.get(
        f"history:{market_id}:{interval}:{since}:{limit}", load, tags=[market_id]
    )
    return result


@router.get("/{market_id}/votes", summary="Vote tallies, your vote, the published tally")
async def get_votes(
    market_id: MarketIdPath,
    st: Annotated[ApiState, Depends(state)],
    wallet: Annotated[Wallet | None, Query()] = None,
) -> MarketVotes:
    market = await load_market(st, market_id)
    cfg = await program_config(st)
    async with st.pool.connection() as conn:
        counts = {k: await q_votes.tally(conn, k, market_id) for k in ("proposal", "dispute")}
        mine = {
            k: None if wallet is None else await q_markets.wallet_vote(conn, k, market_id, wallet)
            for k in ("proposal", "dispute")
        }
        published = {
            k: await q_jobs.latest_tally(conn, market_id, k) for k in ("proposal", "dispute")
        }

    def your(kind: str) -> YourVote | None:
        v = mine[kind]
        return None if v is None else YourVote(vote=v[0], voted_at=present(iso(v[1])))

    (likes, dislikes), (agree, disagree) = counts["proposal"], counts["dispute"]
    pt, dt = published["proposal"], published["dispute"]
    return MarketVotes(
        market_id=market_id,
        state=market["state"],
        proposal=ProposalVotes(
            likes=likes,
            dislikes=dislikes,
            total=likes + dislikes,
            posted_on_chain=market["votes"]["proposal"],
            your_vote=your("proposal"),
            published_tally=None
            if pt is None
            else ProposalTally(cid=pt[4], sha256=pt[3], likes=pt[0], dislikes=pt[1]),
            threshold_bps=cfg.proposal_approval_threshold_bps,
            min_votes=cfg.min_proposal_votes,
        ),
        dispute=DisputeVotes(
            agree=agree,
            disagree=disagree,
            total=agree + disagree,
            posted_on_chain=market["votes"]["dispute"],
            your_vote=your("dispute"),
            published_tally=None
            if dt is None
            else DisputeTally(cid=dt[4], sha256=dt[3], agree=dt[0], disagree=dt[1]),
            threshold_bps=cfg.dispute_success_threshold_bps,
            min_votes=cfg.min_dispute_votes,
        ),
    )


QUESTION_CHARS = (10, 200)  # code points, of the question trimmed


class MarketMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StoredText = Field(
        max_length=1000,  # a bound for the request; the rule is QUESTION_CHARS
        description="10-200 characters (code points) once trimmed; not the question of an "
        "existing market, ignoring case and runs of whitespace",
    )
    description: StoredText | None = Field(None, max_length=5000)
    category: StoredText | None = Field(None, min_length=1, max_length=50)
    resolution_criteria: StoredText | None = Field(None, max_length=2000)
    closes_at: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    creator: Wallet


class CreateMarket(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metadata: MarketMetadata
    resolver: Wallet | None = None
    b_parameter: int = Field(ge=lmsr.MIN_B, le=lmsr.MAX_B, description="LMSR liquidity parameter")
    initial_liquidity: int = Field(ge=1, le=2**63 - 1, description="Lamports")
    message: str = Field(min_length=1, max_length=2000, description="The signed SIWS message")
    signature: Signature = Field(description="base58 or base64")


@router.post(
    "",
    summary="Create market metadata; returns the unsigned propose_market transaction",
    description="The metadata is stored as sent (its canonical JSON is what the market id "
    "hashes) once these rules hold, each refusal with its code:\n\n"
    "- `question`, trimmed, is 10 to 200 characters (Unicode code points): 422 "
    "`question_too_short` / `question_too_long` (details: `chars`, `min_chars`, "
    "`max_chars`);\n"
    "- no existing market (one proposed on chain) asks the same question, compared in lower "
    "case with each run of whitespace as one space and the ends trimmed: 409 "
    "`question_duplicate` (details: `market_id` of that market). Posting the same metadata "
    "again is not a duplicate;\n"
    "- `closes_at`, if given, is a real date (422 `invalid_request`) after the chain's clock "
    "(the latest block's time, which can be ahead of wall clocks), or after the market's "
    "proposal for metadata posted once it is on chain: 422 `closes_at_past`;\n"
    "- the SIWS message signs `create_market` of this market id with `sha256:<market id>` as "
    "a resource (401/403), and `initial_liquidity` is at least the program's minimum for this "
    "`b_parameter`: 422 `liquidity_too_low`.",
    status_code=201,
    responses=error_responses(403, 409),
)
async def create_market(
    body: CreateMarket,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> CreatedMarket:
    meta = body.metadata.model_dump(exclude_none=True)
    _check_question(meta["question"])
    closes = _closing_time(meta.get("closes_at"))
    canonical = canonical_json(meta)
    market_id = sha256_hex(canonical)
    creator = body.metadata.creator
    await rate_limit(st, request, response, "markets", creator)
    async with st.pool.connection() as conn:
        same = await q_markets.same_question(conn, meta["question"], other_than=market_id)
        if same is not None:
            raise ApiError(
                409,
                "question_duplicate",
                f"market {same} already asks this question",
                {"market_id": same},
            )
        if closes is not None:
            # Nobody could trade a market that closed before it was proposed. (The chain cannot
            # check this: the close date lives in the metadata that the market id hashes.) The
            # proposal is now by the chain's clock, or when it happened for one on chain already.
            proposed = await q_markets.proposed_at(conn, market_id) or await _chain_now(st)
            if closes <= proposed:
                raise ApiError(
                    422,
                    "closes_at_past",
                    f"metadata.closes_at {meta['closes_at']} is not after the market's proposal "
                    f"({iso(proposed)}, chain time)",
                    {"proposed_at": iso(proposed)},
                )
        await check_signed(
            conn,
            st,
            message=body.message,
            signature=body.signature,
            wallet=creator,
            action="create_market",
            subject=market_id,
            resources=(f"sha256:{market_id}",),
        )
        cfg = await program_config(st)
        if body.initial_liquidity < max(
            cfg.min_initial_liquidity, lmsr.min_initial_liquidity(body.b_parameter)
        ):
            raise ApiError(
                422, "liquidity_too_low", "initial_liquidity is below the minimum for this b"
            )
        await q_markets.insert_metadata(
            conn,
            market_id=market_id,
            document=json.dumps(meta),
            canonical_json=canonical.decode(),
            question=meta["question"],
            description=meta.get("description"),
            category=meta.get("category"),
            resolution_criteria=meta.get("resolution_criteria"),
            closes_at=meta.get("closes_at"),
            creator=creator,
        )
    owner = Pubkey.from_string(creator)
    resolver = Pubkey.from_string(body.resolver) if body.resolver else owner
    ix = b.propose_market(
        owner,
        bytes.fromhex(market_id),
        body.b_parameter,
        body.initial_liquidity,
        resolver,
        program_id=st.client.program_id,
    )
    tx, last_valid = await st.client.build_unsigned([ix], owner)
    st.cache.invalidate([market_id])
    return CreatedMarket(
        market_id=market_id,
        address=str(market_pda(bytes.fromhex(market_id), st.client.program_id)[0]),
        canonical_metadata=canonical.decode(),
        transaction=tx,
        last_valid_block_height=last_valid,
    )


def _check_question(question: str) -> None:
    chars = len(question.strip())
    low, high = QUESTION_CHARS
    if not low <= chars <= high:
        code, bound = (
            ("question_too_short", "at least") if chars < low else ("question_too_long", "at most")
        )
        raise ApiError(
            422,
            code,
            f"metadata.question is {chars} characters once trimmed; {bound} "
            f"{low if chars < low else high} are needed",
            {"chars": chars, "min_chars": low, "max_chars": high},
        )


def _closing_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise ApiError(
            422, "invalid_request", f"metadata.closes_at {text!r} is not a real date"
        ) from None


async def _chain_now(st: ApiState) -> datetime:
    """The chain's clock: the latest block's time."""
    try:
        return datetime.fromtimestamp(await st.client.chain_time(), UTC)
    except ChainError as e:
        raise chain_unavailable(e) from None
