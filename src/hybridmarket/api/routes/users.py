"""Users: profile, portfolio (positions with their average cost, P&L and the action that applies
now), positions (marked to market), trade history."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Path, Query, Response

from hybridmarket.api import siws
from hybridmarket.api.common import _check_wallet, dec, iso, present
from hybridmarket.api.errors import ApiError
from hybridmarket.api.models import (
    CreatedMarketLiquidity,
    Portfolio,
    PortfolioPosition,
    PortfolioTotals,
    Position,
    PositionAction,
    Positions,
    ProposedMarket,
    ProposedMarkets,
    Trade,
    TradeFees,
    Trades,
    User,
    UserComment,
    UserComments,
    WalletTrade,
)
from hybridmarket.api.routes import encoded, encoded_as, error_responses
from hybridmarket.api.state import ApiState, state
from hybridmarket.db.queries import portfolio as q_portfolio
from hybridmarket.db.queries import positions as q_positions
from hybridmarket.db.queries import trades as q_trades
from hybridmarket.program import processor
from hybridmarket.program.accounts import MarketAccount, MarketState

router = APIRouter(prefix="/api/users", tags=["users"], responses=error_responses(422))


# A position in chain order, "slot:seq": the cursor of trade pages (a wallet's, a market's tape).
CHAIN_CURSOR = "^[0-9]{1,19}:[0-9]{1,19}$"
_BIGINT = 2**63 - 1


def chain_cursor(cursor: str) -> tuple[int, int]:
    """The (slot, seq) of a cursor that matched CHAIN_CURSOR."""
    slot, _, seq = cursor.partition(":")
    position = (int(slot), int(seq))
    if max(position) > _BIGINT:
        raise ApiError(422, "invalid_request", "cursor: not a cursor returned by this API")
    return position


def next_chain_cursor(rows: list[dict[str, Any]], limit: int) -> str | None:
    """The cursor after a full page of trades (newest first); None after the last page."""
    if len(rows) < limit:
        return None
    return f"{rows[-1]['slot']}:{rows[-1]['seq']}"


async def _wallet(
    wallet: Annotated[
        str, Path(min_length=siws.ADDRESS_CHARS[0], max_length=siws.ADDRESS_CHARS[1])
    ],
) -> str:
    # A coroutine, as `state` is: FastAPI runs a plain `def` dependency in its thread pool, a
    # hop that cost the portfolio a fifth of its CPU per request (bench/portfolio.py).
    try:
        return _check_wallet(wallet)
    except ValueError as e:
        raise ApiError(422, "invalid_request", f"wallet: {e}") from None


@router.get("/{wallet}", summary="A wallet's profile and totals")
async def get_user(
    wallet: Annotated[str, Depends(_wallet)], st: Annotated[ApiState, Depends(state)]
) -> User:
    async with st.pool.connection() as conn:
        r = await q_portfolio.profile(conn, wallet)
    return User(
        wallet=wallet,
        first_seen=iso(r["first_seen"]) if r["first_seen"] else None,
        last_seen=iso(r["last_seen"]) if r["last_seen"] else None,
        trades=int(r["trades"]),
        bought=int(r["bought"]),
        sold=int(r["sold"]),
        markets_traded=int(r["markets_traded"]),
        markets_created=int(r["markets_created"]),
        comments=int(r["comments"]),
        positions=int(r["positions"]),
        realized_pnl=int(r["realized_pnl"] or 0),
        volume=int(r["volume"] or 0),
    )


@dataclass(frozen=True)
class _SettledMarket:
    """The fields of a market account that `processor.payout` and
    `processor.outstanding_claims` read, from the cached row: the program's own rules price a
    claim and a withdrawal here."""

    state: MarketState
    final_outcome: bool | None
    shares_yes: int
    shares_no: int
    b_parameter: int
    claimed_shares_yes: int
    claimed_shares_no: int

    @classmethod
    def of(cls, r: dict[str, Any]) -> MarketAccount:
        return cast(
            MarketAccount,
            cls(
                state=MarketState[r["state"].title()],
                final_outcome=r["final_outcome"],
                shares_yes=int(r["market_shares_yes"]),
                shares_no=int(r["market_shares_no"]),
                b_parameter=int(r["b_parameter"]),
                claimed_shares_yes=int(r["claimed_shares_yes"]),
                claimed_shares_no=int(r["claimed_shares_no"]),
            ),
        )


_SETTLED = ("FINALIZED", "CANCELLED")


def _withdrawable(r: dict[str, Any]) -> int:
    """What withdraw_liquidity would pay the creator of a settled market now: the pool and the
    fees it holds above what unclaimed positions can still take (the program's rule)."""
    held = (
        int(r["current_liquidity"])
        + int(r["accumulated_lp_fees"])
        + int(r["accumulated_resolver_fees"])
    )
    return max(0, held - processor.outstanding_claims(_SettledMarket.of(r)))


def _average_price(basis: int, shares: int) -> str | None:
    if shares == 0:
        return None
    units = basis * 10**9 // shares
    return f"{units // 10**9}.{units % 10**9:09d}"


def _portfolio_position(wallet: str, r: dict[str, Any]) -> PortfolioPosition:
    y, n = int(r["shares_yes"]), int(r["shares_no"])
    basis_y, basis_n = int(r["cost_basis_yes"]), int(r["cost_basis_no"])
    basis = basis_y + basis_n
    realized = int(r["realized_yes"]) + int(r["realized_no"])
    claimed = int(r["claimed_amount"])
    settled = r["state"] in _SETTLED
    # Settled (migration 0013): claimed, or in a market FINALIZED with an outcome, where the
    # payout is known without the claim; what the claim pays is then realized, as the
    # leaderboards count it.
    if r["has_claimed"]:
        value, unrealized = 0, 0
        realized += claimed - basis
    elif settled:
        value = processor.payout(_SettledMarket.of(r), y, n)
        if r["state"] == "FINALIZED" and r["final_outcome"] is not None:
            realized += value - basis
            unrealized = 0
        else:
            unrealized = value - basis
    else:
        price = int(r["current_price"].scaleb(9))  # NUMERIC(18, 9): exact, in 10^-9
        value = (y * price + n * (10**9 - price)) // 10**9
        unrealized = value - basis
    action: PositionAction | None = None
    if r["state"] == "ACTIVE" and (y or n):
        action = "sell"
    elif settled and not r["has_claimed"] and value > 0:
        action = "claim"
    elif settled and r["creator_wallet"] == wallet and _withdrawable(r) > 0:
        action = "withdraw_liquidity"
    return PortfolioPosition(
        market_id=r["market_id"],
        question=r["question"],
        state=r["state"],
        shares_yes=y,
        shares_no=n,
        average_price_yes=_average_price(basis_y, y),
        average_price_no=_average_price(basis_n, n),
        cost_basis_yes=basis_y,
        cost_basis_no=basis_n,
        cost_basis=basis,
        price_yes=present(dec(r["current_price"])),
        value=value,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        claimed=claimed,
        has_claimed=r["has_claimed"],
        action=action,
        trades_count=int(r["trades_count"]),
        last_trade_at=iso(r["last_trade_at"]),
    )


@router.get(
    "/{wallet}/portfolio",
    summary="Portfolio: positions at average cost, P&L, the action that applies now; totals",
    description="Each position's cost and P&L come from the indexed trades by the **average-cost "
    "method**, per market and side, in chain order: a buy adds its shares and what it paid "
    "(fees included) to the holding and its cost basis; a sale takes out "
    "floor(basis x shares sold / shares held) of the basis (all of it when it sells everything "
    "held) and realizes what it received (after fees) minus that. `realized_pnl` is the sum "
    "over sales, plus, once the position is settled, what the claim pays minus the remaining "
    "cost basis: a position settles when its market is FINALIZED with an outcome (a losing one "
    "at a payout of 0) or, in an INVALID or CANCELLED market, when it is claimed; the "
    "leaderboards count the same. `unrealized_pnl` is `value - cost_basis` until then (0 once "
    "settled), where `value` marks the shares at the market's current price (rounded down) or, "
    "once the market is FINALIZED or CANCELLED, is what the claim pays (1 lamport per winning "
    "share unit; at the last price for INVALID or a cancellation). Exact integer lamports "
    "throughout. `action`: `sell` in an ACTIVE market, "
    "`claim` in a settled one until claimed (POST /api/markets/{id}/claim builds it), "
    "`withdraw_liquidity` for the creator of a settled market with liquidity left "
    "(POST /api/markets/{id}/withdraw), else null. `created` lists the settled markets the "
    "wallet created with liquidity left to withdraw, held or not. At most 1000 positions.",
    response_model=None,
    responses=encoded_as(Portfolio),
)
async def get_portfolio(
    wallet: Annotated[str, Depends(_wallet)], st: Annotated[ApiState, Depends(state)]
) -> Response:
    # The body is built by the database (one statement): the JSON of `portfolio_model`.
    async with st.pool.connection() as conn:
        body = await q_portfolio.portfolio_json(conn, wallet)
    return encoded(body.encode())


def portfolio_model(
    wallet: str, rows: list[dict[str, Any]], created_rows: list[dict[str, Any]]
) -> Portfolio:
    """The portfolio of `wallet` from the rows of `q_portfolio.POSITION_ROWS` and
    `CREATED_ROWS`, by the program's rules: the Python reference of the body the database
    builds (`q_portfolio.PORTFOLIO_JSON`; tests/integration/test_portfolio_json.py holds the two
    to the same bytes)."""
    positions = [_portfolio_position(wallet, r) for r in rows]
    created = [
        CreatedMarketLiquidity(
            market_id=r["market_id"],
            question=r["question"],
            state=r["state"],
            withdrawable=w,
            action="withdraw_liquidity",
        )
        for r in created_rows
        if (w := _withdrawable(r)) > 0
    ]
    realized = sum(p.realized_pnl for p in positions)
    unrealized = sum(p.unrealized_pnl for p in positions)
    return Portfolio(
        wallet=wallet,
        positions=positions,
        created=created,
        totals=PortfolioTotals(
            positions=len(positions),
            cost_basis=sum(p.cost_basis for p in positions if not p.has_claimed),
            value=sum(p.value for p in positions),
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            pnl=realized + unrealized,
            claimable=sum(p.value for p in positions if p.action == "claim"),
            withdrawable=sum(c.withdrawable for c in created),
        ),
    )


@router.get("/{wallet}/markets", summary="The markets a wallet proposed, newest first")
async def get_created_markets(
    wallet: Annotated[str, Depends(_wallet)],
    st: Annotated[ApiState, Depends(state)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ProposedMarkets:
    async with st.pool.connection() as conn:
        rows = await q_portfolio.created_markets(conn, wallet, limit)
    return ProposedMarkets(
        wallet=wallet,
        markets=[
            ProposedMarket(
                market_id=r["market_id"],
                question=r["question"],
                state=r["state"],
                created_at=present(iso(r["created_at"])),
                volume=int(r["total_volume"]),
            )
            for r in rows
        ],
    )


@router.get("/{wallet}/comments", summary="A wallet's comments, newest first")
async def get_comments(
    wallet: Annotated[str, Depends(_wallet)],
    st: Annotated[ApiState, Depends(state)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UserComments:
    async with st.pool.connection() as conn:
        rows = await q_portfolio.comments(conn, wallet, limit)
    return UserComments(
        wallet=wallet,
        comments=[
            UserComment(
                id=str(r["id"]),
                market_id=r["market_id"],
                question=r["question"],
                content=r["content"],
                created_at=present(iso(r["created_at"])),
            )
            for r in rows
        ],
    )


@router.get("/{wallet}/positions", summary="Positions with mark-to-market value and P&L")
async def get_positions(
    wallet: Annotated[str, Depends(_wallet)], st: Annotated[ApiState, Depends(state)]
) -> Positions:
    async with st.pool.connection() as conn:
        rows = await q_positions.of_wallet_with_markets(conn, wallet)
    out = []
    for r in rows:
        y, n = int(r["shares_yes"]), int(r["shares_no"])
        price = r["current_price"]
        if r["state"] == "FINALIZED" and r["final_outcome"] is not None:
            value = Decimal(y if r["final_outcome"] else n)
        else:
            value = y * price + n * (1 - price)
        if r["has_claimed"]:
            value = Decimal(0)
        invested, withdrawn = int(r["total_invested"]), int(r["total_withdrawn"])
        claimed = int(r["claimed_amount"])
        pnl = value + withdrawn + claimed - invested
        out.append(
            Position(
                market_id=r["market_id"],
                question=r["question"],
                state=r["state"],
                shares_yes=y,
                shares_no=n,
                price_yes=present(dec(price)),
                value=int(value),
                total_invested=invested,
                total_withdrawn=withdrawn,
                claimed=claimed,
                has_claimed=r["has_claimed"],
                pnl=int(pnl),
                trades_count=int(r["trades_count"]),
                last_trade_at=iso(r["last_trade_at"]),
            )
        )
    return Positions(wallet=wallet, positions=out)


@router.get(
    "/{wallet}/trades",
    summary="Trade history, newest first",
    description="Each trade with its market's question, side, shares, price after it and the "
    "transaction's signature (`signature`: link it to an explorer). In chain order backwards "
    "(slot, then order within the slot): `next_before` continues with older trades, and trades "
    "indexed meanwhile (or made in the same second) neither shift nor skip a page.",
)
async def get_trades(
    wallet: Annotated[str, Depends(_wallet)],
    st: Annotated[ApiState, Depends(state)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        str | None,
        Query(pattern=CHAIN_CURSOR, description="`next_before` of the previous page"),
    ] = None,
) -> Trades:
    after = None if before is None else chain_cursor(before)
    async with st.pool.connection() as conn:
        rows = await q_trades.of_wallet(conn, wallet, before=after, limit=limit)
    return Trades(
        wallet=wallet,
        trades=[WalletTrade(**trade_model(r).model_dump(), question=r["question"]) for r in rows],
        next_before=next_chain_cursor(rows, limit),
    )


def trade_model(r: dict[str, Any]) -> Trade:
    """The public shape of a `trades` row."""
    return Trade(
        market_id=r["market_id"],
        wallet=r["user_wallet"],
        side=r["trade_type"],
        outcome="yes" if r["outcome"] else "no",
        shares=int(r["shares"]),
        amount=int(r["cost"]),
        fees=TradeFees(
            protocol=int(r["protocol_fee"]),
            resolver=int(r["resolver_fee"]),
            lp=int(r["lp_fee"]),
        ),
        total=int(r["total"]),
        price_yes_after=present(dec(r["price_after"])),
        signature=r["tx_signature"],
        slot=int(r["slot"]),
        at=present(iso(r["created_at"])),
    )


def trade_json(r: dict[str, Any]) -> dict[str, Any]:
    """`trade_model` as the dict the live stream sends."""
    return trade_model(r).model_dump()
