"""The program's entry point: what the Rust/Anchor program would do, step for step.

`process_instruction` dispatches on the 8-byte discriminator, validates the accounts the way
Anchor's generated `try_accounts` does (signer, mut, address, owner, discriminator, seeds, init),
runs the handler on working copies, and returns either every account's new state with the
events and log lines, or the original accounts with the error. Lamports only move between the
instruction's accounts, so they are conserved by construction; the validator checks it anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from solders.pubkey import Pubkey

from hybridmarket.codec.anchor import DISCRIMINATOR_LEN, to_upper_camel
from hybridmarket.codec.borsh import U64_MAX, BorshError, BorshStruct
from hybridmarket.program import lmsr, rules
from hybridmarket.program.accounts import (
    EVIDENCE_CID_LEN,
    TERMINAL_STATES,
    AccountState,
    ConfigParams,
    GlobalConfig,
    MarketAccount,
    MarketState,
    UserPosition,
    VoteKind,
    VoteRecord,
    binary_cid_length,
)
from hybridmarket.program.errors import (
    AnchorCode,
    MarketError,
    ProgramError,
    SystemCpiError,
)
from hybridmarket.program.events import (
    ConfigInitialized,
    ConfigUpdated,
    DisputeVoteSubmitted,
    Event,
    LiquidityWithdrawn,
    MarketActivated,
    MarketApproved,
    MarketCancelled,
    MarketDisputed,
    MarketFinalized,
    MarketProposed,
    MarketResolved,
    ProposalVoteSubmitted,
    SharesBought,
    SharesSold,
    WinningsClaimed,
)
from hybridmarket.program.instructions import (
    BY_DISCRIMINATOR,
    AccountSpec,
    ApproveMarketArgs,
    BuySharesArgs,
    FinalizeMarketArgs,
    InitializeConfigArgs,
    InstructionDef,
    ProposeMarketArgs,
    ResolveMarketArgs,
    SellSharesArgs,
    SetPausedArgs,
    UpdateConfigArgs,
    VoteArgs,
)
from hybridmarket.program.runtime import (
    DEFAULT_COMPUTE_BUDGET,
    SYSTEM_PROGRAM_ID,
    AccountInfo,
    Clock,
    InstructionError,
    ProcessResult,
    rent_exempt_minimum,
)

A = TypeVar("A", bound=AccountState)
SYSTEM_ID_STR = str(SYSTEM_PROGRAM_ID)
BPS = lmsr.BPS_DENOMINATOR


def _src_line(ix: str, code: int) -> str:
    return f"programs/hybridmarket/src/instructions/{ix}.rs:{40 + code % 100}"


class Ctx:
    """Working copies of an instruction's accounts, with Anchor-like helpers."""

    def __init__(
        self,
        program_id: Pubkey,
        ix: InstructionDef,
        accounts: Sequence[AccountInfo],
        args: BorshStruct,
        clock: Clock,
    ) -> None:
        self.program_id = program_id
        self.ix = ix
        self.args = args
        self.clock = clock
        self.now = clock.unix_timestamp
        self.infos = accounts
        # Accounts passed twice are one account: every write goes to its first position.
        first: dict[Pubkey, int] = {}
        self.canon = [first.setdefault(a.key, i) for i, a in enumerate(accounts)]
        self.lamports = [a.lamports for a in accounts]
        self.owner = [a.owner for a in accounts]
        self.data = [a.data for a in accounts]
        self.index = {spec.name: self.canon[i] for i, spec in enumerate(ix.accounts)}
        self.states: dict[str, AccountState] = {}
        self.bumps: dict[str, int] = {}  # canonical bumps of the accounts the handler creates
        self.logs: list[str] = []
        self.events: list[Event] = []

    # -- lookup --------------------------------------------------------------------------------
    def key(self, name: str) -> Pubkey:
        return self.infos[self.index[name]].key

    def state(self, name: str, cls: type[A]) -> A:
        st = self.states[name]
        assert isinstance(st, cls)
        return st

    def set_state(self, name: str, value: AccountState) -> None:
        self.states[name] = value
        self.data[self.index[name]] = value.to_account_data()

    # -- lamports ------------------------------------------------------------------------------
    def _cpi(self, lines: Sequence[str]) -> None:
        self.logs.append(f"Program {SYSTEM_ID_STR} invoke [2]")
        self.logs.extend(lines)

    def system_transfer(self, frm: str, to: str, amount: int) -> None:
        """A CPI to the system program's transfer (the payer must be a signing system account)."""
        if amount == 0:
            return
        i, j = self.index[frm], self.index[to]
        self._cpi(())
        if self.lamports[i] < amount:
            raise SystemCpiError(
                1, f"Transfer: insufficient lamports {self.lamports[i]}, need {amount}"
            )
        self.lamports[i] -= amount
        self.lamports[j] += amount
        self.logs.append(f"Program {SYSTEM_ID_STR} success")

    def move(self, frm: str, to: str, amount: int) -> None:
        """Debit an account this program owns directly, as Rust does with `**lamports -=`."""
        i, j = self.index[frm], self.index[to]
        if amount < 0 or self.lamports[i] < amount:
            raise ProgramError(MarketError.MathOverflow, detail=f"debit {amount} from {frm}")
        self.lamports[i] -= amount
        self.lamports[j] += amount

    def create_pda(self, name: str, payer: str, space: int) -> None:
        """Anchor's `init`: fund to rent exemption, allocate and assign to this program."""
        i, p = self.index[name], self.index[payer]
        need = rent_exempt_minimum(space)
        if self.lamports[i] == 0:  # create_account
            self._cpi(())
            if self.lamports[p] < need:
                raise SystemCpiError(
                    1, f"Transfer: insufficient lamports {self.lamports[p]}, need {need}"
                )
            self.lamports[p] -= need
            self.lamports[i] += need
            self.logs.append(f"Program {SYSTEM_ID_STR} success")
        else:  # someone pre-funded the address: transfer the rest, allocate, assign
            self.system_transfer(payer, name, max(0, need - self.lamports[i]))
            for _ in ("allocate", "assign"):
                self._cpi(())
                self.logs.append(f"Program {SYSTEM_ID_STR} success")
        self.owner[i] = self.program_id
        self.data[i] = bytes(space)

    def rent_floor(self, name: str) -> int:
        return rent_exempt_minimum(len(self.data[self.index[name]]))

    def balance(self, name: str) -> int:
        return self.lamports[self.index[name]]

    def emit(self, event: Event) -> None:
        self.events.append(event)
        self.logs.append(event.to_log_line())

    def emit_market(self, cls: type[Event], m: MarketAccount, **fields: Any) -> None:
        """Emit a market event: market_id, market address, timestamp and (where the event has
        one) the market's state after the instruction are filled in from `m`."""
        common: dict[str, Any] = {
            "market_id": m.market_id,
            "market": self.key("market"),
            "timestamp": self.now,
        }
        if any(name == "state" for name, _ in cls.SCHEMA):
            common["state"] = m.state
        self.emit(cls(**common, **fields))


# ---- account validation (Anchor's try_accounts) ---------------------------------------------


def _resolve_seed_bytes(ctx: Ctx, spec: AccountSpec) -> list[bytes]:
    out: list[bytes] = []
    for seed in spec.seeds or ():
        if seed.kind == "const":
            out.append(seed.value)
        elif seed.kind == "arg":
            out.append(bytes(getattr(ctx.args, seed.path)))
        else:
            acc, _, fld = seed.path.partition(".")
            out.append(bytes(getattr(ctx.states[acc], fld)) if fld else bytes(ctx.key(acc)))
    return out


def _check_seeds(ctx: Ctx, spec: AccountSpec, bump: int | None) -> int:
    seeds = _resolve_seed_bytes(ctx, spec)
    key = ctx.key(spec.name)
    expected: Pubkey | None
    if bump is None:
        expected, bump = Pubkey.find_program_address(seeds, ctx.program_id)
    else:
        try:
            expected = Pubkey.create_program_address([*seeds, bytes([bump])], ctx.program_id)
        except Exception:  # solders raises PubkeyError for an on-curve result
            expected = None
    if expected != key:
        ctx.logs.append("Program log: Left:")
        ctx.logs.append(f"Program log: {key}")
        ctx.logs.append("Program log: Right:")
        ctx.logs.append(f"Program log: {expected}")
        raise ProgramError(AnchorCode.ConstraintSeeds, account=spec.name)
    return bump


def _load_typed(ctx: Ctx, spec: AccountSpec, cls: type[AccountState]) -> AccountState:
    i = ctx.index[spec.name]
    if ctx.owner[i] == SYSTEM_PROGRAM_ID and ctx.lamports[i] == 0:
        raise ProgramError(AnchorCode.AccountNotInitialized, account=spec.name)
    if ctx.owner[i] != ctx.program_id:
        raise ProgramError(AnchorCode.AccountOwnedByWrongProgram, account=spec.name)
    data = ctx.data[i]
    if len(data) < DISCRIMINATOR_LEN:
        raise ProgramError(AnchorCode.AccountDiscriminatorNotFound, account=spec.name)
    if data[:DISCRIMINATOR_LEN] != cls.DISCRIMINATOR:
        raise ProgramError(AnchorCode.AccountDiscriminatorMismatch, account=spec.name)
    try:
        return cls.from_account_data(data)
    except BorshError:
        raise ProgramError(AnchorCode.AccountDidNotDeserialize, account=spec.name) from None


def _is_uninitialized(ctx: Ctx, name: str) -> bool:
    i = ctx.index[name]
    return ctx.owner[i] == SYSTEM_PROGRAM_ID and not ctx.data[i]


def _validate_accounts(ctx: Ctx) -> None:
    ix = ctx.ix
    for pos, spec in enumerate(ix.accounts):
        info = ctx.infos[pos]
        if spec.signer and not info.is_signer:
            raise ProgramError(AnchorCode.AccountNotSigner, account=spec.name)
        if spec.writable and not info.is_writable:
            raise ProgramError(AnchorCode.ConstraintMut, account=spec.name)
        if spec.address is not None and info.key != spec.address:
            code = (
                AnchorCode.InvalidProgramId
                if spec.address == SYSTEM_PROGRAM_ID
                else AnchorCode.ConstraintAddress
            )
            raise ProgramError(code, account=spec.name)
        cls = spec.account_type
        if cls is None:
            continue
        if spec.init == "init" or (
            spec.init == "init_if_needed" and _is_uninitialized(ctx, spec.name)
        ):
            # Creation happens in the handler, after its own checks; only the address is checked
            # here (an initialized account at an init address is the handler's error to report).
            ctx.bumps[spec.name] = _check_seeds(ctx, spec, None)
            continue
        state = _load_typed(ctx, spec, cls)
        ctx.states[spec.name] = state
        if spec.seeds is not None:
            _check_seeds(ctx, spec, getattr(state, "bump", None))


def _new_bump(ctx: Ctx, name: str) -> int:
    return ctx.bumps[name]


def _init_account(ctx: Ctx, name: str, payer: str, value: AccountState) -> None:
    if not _is_uninitialized(ctx, name):
        raise ProgramError(
            MarketError.AlreadyVoted
            if isinstance(value, VoteRecord)
            else MarketError.AlreadyInitialized,
            account=name,
        )
    ctx.create_pda(name, payer, type(value).SPACE)
    ctx.set_state(name, value)


# ---- helpers ---------------------------------------------------------------------------------


def _require(cond: bool, err: MarketError, detail: str = "") -> None:
    if not cond:
        raise ProgramError(err, detail=detail)


def _checked_add(a: int, b: int, limit: int = U64_MAX) -> int:
    r = a + b
    if r > limit or r < 0:
        raise ProgramError(MarketError.MathOverflow)
    return r


def _checked_sub(a: int, b: int) -> int:
    if b > a:
        raise ProgramError(MarketError.MathOverflow)
    return a - b


def _config(ctx: Ctx) -> GlobalConfig:
    return ctx.state("config", GlobalConfig)


def _market(ctx: Ctx) -> MarketAccount:
    return ctx.state("market", MarketAccount)


def _not_paused(cfg: GlobalConfig) -> None:
    _require(not cfg.is_paused, MarketError.ProtocolPaused)


def _in_state(m: MarketAccount, *states: MarketState) -> None:
    _require(m.state in states, MarketError.InvalidMarketState, f"state is {m.state.name}")


def _fees(cfg: GlobalConfig) -> lmsr.FeeSchedule:
    return lmsr.FeeSchedule(cfg.protocol_fee_bps, cfg.resolver_fee_bps, cfg.lp_fee_bps)


def _price_yes(m: MarketAccount) -> int:
    return lmsr.price(m.shares_yes, m.shares_no, m.b_parameter, True)


def validate_params(p: ConfigParams) -> None:
    """The checks update_config and initialize_config apply to parameters."""
    ok = (
        p.protocol_fee_bps + p.resolver_fee_bps + p.lp_fee_bps < BPS
        and 0 < p.proposal_approval_threshold_bps <= BPS
        and 0 < p.dispute_success_threshold_bps <= BPS
        and p.min_proposal_votes >= 1
        and p.min_dispute_votes >= 1
        and p.min_resolution_delay >= 0
        and p.dispute_period > 0
        and p.dispute_voting_period > 0
        and lmsr.MIN_B <= p.min_b_parameter <= lmsr.MAX_B
        and p.backend_authority != Pubkey.default()
        and p.protocol_fee_wallet != Pubkey.default()
    )
    _require(ok, MarketError.InvalidConfig)


def payout(m: MarketAccount, shares_yes: int, shares_no: int) -> int:
    """What a position holding these shares is paid once the market has ended."""
    if m.state == MarketState.Finalized and m.final_outcome is not None:
        return shares_yes if m.final_outcome else shares_no
    p_yes = lmsr.price(m.shares_yes, m.shares_no, m.b_parameter, True)
    p_no = lmsr.price(m.shares_yes, m.shares_no, m.b_parameter, False)
    return (shares_yes * p_yes + shares_no * p_no) // lmsr.PRICE_SCALE


def outstanding_claims(m: MarketAccount) -> int:
    """An upper bound on what unclaimed positions can still take out of the market."""
    uy = m.shares_yes - m.claimed_shares_yes
    un = m.shares_no - m.claimed_shares_no
    if m.state == MarketState.Finalized and m.final_outcome is not None:
        return uy if m.final_outcome else un
    if m.shares_yes == 0 and m.shares_no == 0:
        return 0
    p_yes = lmsr.price(m.shares_yes, m.shares_no, m.b_parameter, True)
    p_no = lmsr.price(m.shares_yes, m.shares_no, m.b_parameter, False)
    return -(-(uy * p_yes + un * p_no) // lmsr.PRICE_SCALE)


# ---- handlers --------------------------------------------------------------------------------


def _initialize_config(ctx: Ctx, a: InitializeConfigArgs) -> None:
    validate_params(a.params)
    cfg = GlobalConfig.from_params(ctx.key("admin"), a.params, _new_bump(ctx, "config"))
    _init_account(ctx, "config", "admin", cfg)
    ctx.emit(ConfigInitialized(admin=cfg.admin, params=a.params, timestamp=ctx.now))


def _require_admin(ctx: Ctx) -> GlobalConfig:
    cfg = _config(ctx)
    _require(ctx.key("admin") == cfg.admin, MarketError.Unauthorized)
    return cfg


def _update_config(ctx: Ctx, a: UpdateConfigArgs) -> None:
    cfg = _require_admin(ctx)
    validate_params(a.params)
    new = GlobalConfig.from_params(cfg.admin, a.params, cfg.bump)
    new = replace(new, is_paused=cfg.is_paused, reserved=cfg.reserved)
    ctx.set_state("config", new)
    ctx.emit(
        ConfigUpdated(admin=cfg.admin, params=a.params, is_paused=new.is_paused, timestamp=ctx.now)
    )


def _set_paused(ctx: Ctx, a: SetPausedArgs) -> None:
    cfg = _require_admin(ctx)
    new = replace(cfg, is_paused=a.paused)
    ctx.set_state("config", new)
    ctx.emit(
        ConfigUpdated(admin=cfg.admin, params=new.params(), is_paused=a.paused, timestamp=ctx.now)
    )


def _propose_market(ctx: Ctx, a: ProposeMarketArgs) -> None:
    cfg = _config(ctx)
    _not_paused(cfg)
    _require(
        max(cfg.min_b_parameter, lmsr.MIN_B) <= a.b_parameter <= lmsr.MAX_B,
        MarketError.InvalidBParameter,
    )
    floor = max(cfg.min_initial_liquidity, lmsr.min_initial_liquidity(a.b_parameter))
    _require(a.initial_liquidity >= floor, MarketError.InsufficientInitialLiquidity)
    _require(a.resolver != Pubkey.default(), MarketError.InvalidResolverAccount)
    m = MarketAccount(
        market_id=a.market_id,
        creator=ctx.key("creator"),
        state=MarketState.Proposed,
        resolver=a.resolver,
        b_parameter=a.b_parameter,
        shares_yes=0,
        shares_no=0,
        current_liquidity=0,
        initial_liquidity=a.initial_liquidity,
        total_volume=0,
        accumulated_resolver_fees=0,
        accumulated_lp_fees=0,
        proposal_likes=0,
        proposal_dislikes=0,
        proposal_total_votes=0,
        dispute_agree=0,
        dispute_disagree=0,
        dispute_total_votes=0,
        dispute_initiator=Pubkey.default(),
        ipfs_evidence_hash=bytes(EVIDENCE_CID_LEN),
        created_at=ctx.now,
        approved_at=0,
        activated_at=0,
        resolution_proposed_at=0,
        dispute_initiated_at=0,
        finalized_at=0,
        cancelled_at=0,
        claimed_shares_yes=0,
        claimed_shares_no=0,
        total_claimed=0,
        total_withdrawn=0,
        resolver_fee_paid=0,
        trades_count=0,
        bump=_new_bump(ctx, "market"),
        reserved=bytes(64),
        proposed_outcome=None,
        final_outcome=None,
    )
    _init_account(ctx, "market", "creator", m)
    ctx.emit_market(
        MarketProposed,
        m,
        creator=m.creator,
        resolver=m.resolver,
        b_parameter=m.b_parameter,
        initial_liquidity=m.initial_liquidity,
    )


def _vote(ctx: Ctx, a: VoteArgs, kind: VoteKind) -> None:
    cfg, m = _config(ctx), _market(ctx)
    _not_paused(cfg)
    if kind == VoteKind.Proposal:
        _in_state(m, MarketState.Proposed)
    else:
        _in_state(m, MarketState.Disputed)
        _require(rules.dispute_voting_open(cfg, m, ctx.now), MarketError.DisputeVotingClosed)
    voter = ctx.key("voter")
    record = VoteRecord(
        market=ctx.key("market"),
        user=voter,
        kind=kind,
        vote=a.vote,
        voted_at=ctx.now,
        bump=_new_bump(ctx, "vote_record"),
    )
    _init_account(ctx, "vote_record", "voter", record)
    common = {"voter": voter, "vote_record": ctx.key("vote_record"), "vote": a.vote}
    if kind == VoteKind.Proposal:
        m = replace(m, proposal_total_votes=_checked_add(m.proposal_total_votes, 1, 2**32 - 1))
        ctx.emit_market(
            ProposalVoteSubmitted, m, **common, proposal_total_votes=m.proposal_total_votes
        )
    else:
        m = replace(m, dispute_total_votes=_checked_add(m.dispute_total_votes, 1, 2**32 - 1))
        ctx.emit_market(
            DisputeVoteSubmitted, m, **common, dispute_total_votes=m.dispute_total_votes
        )
    ctx.set_state("market", m)


def _submit_proposal_vote(ctx: Ctx, a: VoteArgs) -> None:
    _vote(ctx, a, VoteKind.Proposal)


def _submit_dispute_vote(ctx: Ctx, a: VoteArgs) -> None:
    _vote(ctx, a, VoteKind.Dispute)


def _approve_market(ctx: Ctx, a: ApproveMarketArgs) -> None:
    cfg, m = _config(ctx), _market(ctx)
    _require(ctx.key("backend") == cfg.backend_authority, MarketError.Unauthorized)
    _in_state(m, MarketState.Proposed)
    total = a.likes + a.dislikes
    _require(total <= m.proposal_total_votes, MarketError.VoteCountsExceedRecords)
    _require(rules.proposal_quorum_reached(cfg, total), MarketError.QuorumNotReached)
    _require(rules.proposal_threshold_met(cfg, a.likes, total), MarketError.ApprovalThresholdNotMet)
    m = replace(
        m,
        state=MarketState.Approved,
        proposal_likes=a.likes,
        proposal_dislikes=a.dislikes,
        approved_at=ctx.now,
    )
    ctx.set_state("market", m)
    ctx.emit_market(
        MarketApproved,
        m,
        backend=ctx.key("backend"),
        likes=a.likes,
        dislikes=a.dislikes,
    )


def _activate_market(ctx: Ctx, _a: BorshStruct) -> None:
    cfg, m = _config(ctx), _market(ctx)
    _not_paused(cfg)
    _require(ctx.key("creator") == m.creator, MarketError.Unauthorized)
    _in_state(m, MarketState.Approved)
    ctx.system_transfer("creator", "market", m.initial_liquidity)
    m = replace(
        m,
        state=MarketState.Active,
        current_liquidity=m.initial_liquidity,
        activated_at=ctx.now,
    )
    ctx.set_state("market", m)
    ctx.emit_market(
        MarketActivated,
        m,
        creator=m.creator,
        initial_liquidity=m.initial_liquidity,
        current_liquidity=m.current_liquidity,
        price_yes=_price_yes(m),
    )


def _quote(fn: Callable[[], lmsr.Quote]) -> lmsr.Quote:
    try:
        return fn()
    except lmsr.LmsrError as e:
        raise ProgramError(MarketError.TradeOutOfRange, detail=str(e)) from None


def _trade_prelude(ctx: Ctx, shares: int) -> tuple[GlobalConfig, MarketAccount]:
    cfg, m = _config(ctx), _market(ctx)
    _not_paused(cfg)
    _in_state(m, MarketState.Active)
    _require(shares > 0, MarketError.InvalidShareAmount)
    _require(
        ctx.key("protocol_fee_wallet") == cfg.protocol_fee_wallet, MarketError.InvalidFeeWallet
    )
    return cfg, m


def _buy_shares(ctx: Ctx, a: BuySharesArgs) -> None:
    cfg, m = _trade_prelude(ctx, a.shares)
    q = _quote(
        lambda: lmsr.quote_buy(
            m.shares_yes, m.shares_no, m.b_parameter, a.outcome, a.shares, _fees(cfg)
        )
    )
    _require(
        q.total <= a.max_cost, MarketError.SlippageExceeded, f"total {q.total} > max {a.max_cost}"
    )
    trader = ctx.key("trader")
    if "position" in ctx.bumps:
        pos = UserPosition(
            market=ctx.key("market"),
            user=trader,
            shares_yes=0,
            shares_no=0,
            total_invested=0,
            total_withdrawn=0,
            trades_count=0,
            last_trade_at=0,
            has_claimed=False,
            claimed_amount=0,
            bump=_new_bump(ctx, "position"),
            reserved=bytes(32),
        )
        _init_account(ctx, "position", "trader", pos)
    pos = ctx.state("position", UserPosition)
    ctx.system_transfer("trader", "market", q.amount + q.resolver_fee + q.lp_fee)
    ctx.system_transfer("trader", "protocol_fee_wallet", q.protocol_fee)
    _record_trade(ctx, m, pos, a.outcome, a.shares, q, SharesBought)


def _sell_shares(ctx: Ctx, a: SellSharesArgs) -> None:
    cfg, m = _trade_prelude(ctx, a.shares)
    pos = ctx.state("position", UserPosition)
    held = pos.shares_yes if a.outcome else pos.shares_no
    _require(held >= a.shares, MarketError.InsufficientShares, f"holds {held}")
    q = _quote(
        lambda: lmsr.quote_sell(
            m.shares_yes, m.shares_no, m.b_parameter, a.outcome, a.shares, _fees(cfg)
        )
    )
    _require(
        q.total >= a.min_proceeds,
        MarketError.SlippageExceeded,
        f"total {q.total} < min {a.min_proceeds}",
    )
    ctx.move("market", "trader", q.total)
    ctx.move("market", "protocol_fee_wallet", q.protocol_fee)
    _record_trade(ctx, m, pos, a.outcome, -a.shares, q, SharesSold)


def _record_trade(
    ctx: Ctx,
    m: MarketAccount,
    pos: UserPosition,
    outcome: bool,
    delta: int,
    q: lmsr.Quote,
    event: type[SharesBought | SharesSold],
) -> None:
    """Apply a trade of `delta` shares (negative for a sale) to the market and the position,
    after its lamports have moved, and emit its event."""
    sign = 1 if delta > 0 else -1
    u32_max = 2**32 - 1
    dy, dn = (delta, 0) if outcome else (0, delta)
    m = replace(
        m,
        shares_yes=_checked_add(m.shares_yes, dy),
        shares_no=_checked_add(m.shares_no, dn),
        current_liquidity=_checked_add(m.current_liquidity, sign * q.amount),
        accumulated_resolver_fees=_checked_add(m.accumulated_resolver_fees, q.resolver_fee),
        accumulated_lp_fees=_checked_add(m.accumulated_lp_fees, q.lp_fee),
        total_volume=_checked_add(m.total_volume, q.amount),
        trades_count=_checked_add(m.trades_count, 1, u32_max),
    )
    pos = replace(
        pos,
        shares_yes=_checked_add(pos.shares_yes, dy),
        shares_no=_checked_add(pos.shares_no, dn),
        total_invested=_checked_add(pos.total_invested, q.total if sign > 0 else 0),
        total_withdrawn=_checked_add(pos.total_withdrawn, q.total if sign < 0 else 0),
        trades_count=_checked_add(pos.trades_count, 1, u32_max),
        last_trade_at=ctx.now,
    )
    ctx.set_state("market", m)
    ctx.set_state("position", pos)
    ctx.emit_market(
        event,
        m,
        trader=ctx.key("trader"),
        outcome=outcome,
        shares=abs(delta),
        amount=q.amount,
        protocol_fee=q.protocol_fee,
        resolver_fee=q.resolver_fee,
        lp_fee=q.lp_fee,
        total=q.total,
        shares_yes=m.shares_yes,
        shares_no=m.shares_no,
        price_yes=q.price_yes_after,
        current_liquidity=m.current_liquidity,
        total_volume=m.total_volume,
        accumulated_resolver_fees=m.accumulated_resolver_fees,
        accumulated_lp_fees=m.accumulated_lp_fees,
        position_shares_yes=pos.shares_yes,
        position_shares_no=pos.shares_no,
    )


def _resolve_market(ctx: Ctx, a: ResolveMarketArgs) -> None:
    cfg, m = _config(ctx), _market(ctx)
    _not_paused(cfg)
    _require(ctx.key("resolver") == m.resolver, MarketError.Unauthorized)
    _in_state(m, MarketState.Active)
    _require(rules.resolution_allowed(cfg, m, ctx.now), MarketError.ResolutionTooEarly)
    _require(
        binary_cid_length(a.evidence_cid) == len(a.evidence_cid), MarketError.InvalidEvidenceCid
    )
    m = replace(
        m,
        state=MarketState.Resolving,
        proposed_outcome=a.outcome,
        ipfs_evidence_hash=a.evidence_cid + bytes(EVIDENCE_CID_LEN - len(a.evidence_cid)),
        resolution_proposed_at=ctx.now,
    )
    ctx.set_state("market", m)
    ctx.emit_market(
        MarketResolved,
        m,
        resolver=m.resolver,
        proposed_outcome=a.outcome,
        evidence_cid=a.evidence_cid,
    )


def _initiate_dispute(ctx: Ctx, _a: BorshStruct) -> None:
    cfg, m = _config(ctx), _market(ctx)
    _not_paused(cfg)
    _in_state(m, MarketState.Resolving)
    _require(rules.dispute_window_open(cfg, m, ctx.now), MarketError.DisputeWindowClosed)
    _require(m.proposed_outcome is not None, MarketError.InvalidOutcomeNotDisputable)
    initiator = ctx.key("initiator")
    m = replace(
        m, state=MarketState.Disputed, dispute_initiator=initiator, dispute_initiated_at=ctx.now
    )
    ctx.set_state("market", m)
    ctx.emit_market(
        MarketDisputed,
        m,
        initiator=initiator,
    )


def _finalize_market(ctx: Ctx, a: FinalizeMarketArgs) -> None:
    cfg, m = _config(ctx), _market(ctx)
    _require(ctx.key("backend") == cfg.backend_authority, MarketError.Unauthorized)
    _in_state(m, MarketState.Resolving, MarketState.Disputed)
    _require(ctx.key("resolver") == m.resolver, MarketError.InvalidResolverAccount)
    final = m.proposed_outcome
    flipped = False
    agree = disagree = 0
    if m.state == MarketState.Resolving:
        _require(a.agree is None and a.disagree is None, MarketError.InvalidVoteCounts)
        _require(rules.dispute_period_over(cfg, m, ctx.now), MarketError.FinalizeTooEarly)
    else:
        _require(a.agree is not None and a.disagree is not None, MarketError.InvalidVoteCounts)
        assert a.agree is not None and a.disagree is not None
        _require(rules.dispute_voting_over(cfg, m, ctx.now), MarketError.FinalizeTooEarly)
        agree, disagree = a.agree, a.disagree
        total = agree + disagree
        _require(total <= m.dispute_total_votes, MarketError.VoteCountsExceedRecords)
        flipped = rules.dispute_flips(cfg, agree, disagree)
        if flipped and final is not None:
            final = not final
    resolver_fee = m.accumulated_resolver_fees if final is not None else 0
    if resolver_fee:
        ctx.move("market", "resolver", resolver_fee)
    m = replace(
        m,
        state=MarketState.Finalized,
        final_outcome=final,
        dispute_agree=agree,
        dispute_disagree=disagree,
        finalized_at=ctx.now,
        accumulated_resolver_fees=m.accumulated_resolver_fees - resolver_fee,
        resolver_fee_paid=resolver_fee,
    )
    ctx.set_state("market", m)
    ctx.emit_market(
        MarketFinalized,
        m,
        backend=ctx.key("backend"),
        proposed_outcome=m.proposed_outcome,
        final_outcome=final,
        dispute_agree=a.agree,
        dispute_disagree=a.disagree,
        flipped=flipped,
        resolver_fee_paid=resolver_fee,
    )


def _cancel_market(ctx: Ctx, _a: BorshStruct) -> None:
    cfg, m = _config(ctx), _market(ctx)
    authority = ctx.key("authority")
    _require(authority in (cfg.backend_authority, cfg.admin), MarketError.Unauthorized)
    _require(m.state not in TERMINAL_STATES, MarketError.InvalidMarketState, m.state.name)
    previous = m.state
    m = replace(m, state=MarketState.Cancelled, cancelled_at=ctx.now)
    ctx.set_state("market", m)
    ctx.emit_market(
        MarketCancelled,
        m,
        authority=authority,
        previous_state=previous,
        price_yes=_price_yes(m),
    )


def _claim_winnings(ctx: Ctx, _a: BorshStruct) -> None:
    m = _market(ctx)
    pos = ctx.state("position", UserPosition)
    _in_state(m, MarketState.Finalized, MarketState.Cancelled)
    _require(not pos.has_claimed, MarketError.AlreadyClaimed)
    amount = payout(m, pos.shares_yes, pos.shares_no)
    _require(amount > 0, MarketError.NothingToClaim)
    ctx.move("market", "owner", amount)
    m = replace(
        m,
        current_liquidity=_checked_sub(m.current_liquidity, amount),
        claimed_shares_yes=m.claimed_shares_yes + pos.shares_yes,
        claimed_shares_no=m.claimed_shares_no + pos.shares_no,
        total_claimed=_checked_add(m.total_claimed, amount),
    )
    pos = replace(pos, has_claimed=True, claimed_amount=amount)
    ctx.set_state("market", m)
    ctx.set_state("position", pos)
    ctx.emit_market(
        WinningsClaimed,
        m,
        user=pos.user,
        amount=amount,
        shares_yes=pos.shares_yes,
        shares_no=pos.shares_no,
        total_claimed=m.total_claimed,
    )


def _withdraw_liquidity(ctx: Ctx, _a: BorshStruct) -> None:
    m = _market(ctx)
    _require(ctx.key("creator") == m.creator, MarketError.Unauthorized)
    _in_state(m, MarketState.Finalized, MarketState.Cancelled)
    available = ctx.balance("market") - ctx.rent_floor("market") - outstanding_claims(m)
    _require(available > 0, MarketError.NothingToWithdraw)
    ctx.move("market", "creator", available)
    # Fees are paid out first, then pool liquidity: lamports = rent + pool + fees holds after.
    from_lp = min(available, m.accumulated_lp_fees)
    from_resolver = min(available - from_lp, m.accumulated_resolver_fees)
    from_pool = available - from_lp - from_resolver
    m = replace(
        m,
        accumulated_lp_fees=m.accumulated_lp_fees - from_lp,
        accumulated_resolver_fees=m.accumulated_resolver_fees - from_resolver,
        current_liquidity=_checked_sub(m.current_liquidity, from_pool),
        total_withdrawn=_checked_add(m.total_withdrawn, available),
    )
    ctx.set_state("market", m)
    ctx.emit_market(
        LiquidityWithdrawn,
        m,
        creator=m.creator,
        amount=available,
        total_withdrawn=m.total_withdrawn,
    )


Handler = Callable[[Ctx, Any], None]
HANDLERS: dict[str, Handler] = {
    "initialize_config": _initialize_config,
    "update_config": _update_config,
    "set_paused": _set_paused,
    "propose_market": _propose_market,
    "submit_proposal_vote": _submit_proposal_vote,
    "approve_market": _approve_market,
    "activate_market": _activate_market,
    "buy_shares": _buy_shares,
    "sell_shares": _sell_shares,
    "resolve_market": _resolve_market,
    "initiate_dispute": _initiate_dispute,
    "submit_dispute_vote": _submit_dispute_vote,
    "finalize_market": _finalize_market,
    "cancel_market": _cancel_market,
    "claim_winnings": _claim_winnings,
    "withdraw_liquidity": _withdraw_liquidity,
}


# ---- entry point -----------------------------------------------------------------------------


def _anchor_log(err: ProgramError, ix_name: str) -> str:
    tail = f"Error Code: {err.code.name}. Error Number: {int(err.code)}. Error Message: {err.error_message}."
    if err.account is not None:
        return f"Program log: AnchorError caused by account: {err.account}. {tail}"
    if isinstance(err.code, AnchorCode) and int(err.code) < 1000:
        return f"Program log: AnchorError occurred. {tail}"
    return f"Program log: AnchorError thrown in {_src_line(ix_name, int(err.code))}. {tail}"


def process_instruction(
    program_id: Pubkey, accounts: Sequence[AccountInfo], data: bytes, clock: Clock
) -> ProcessResult:
    """Run one top-level instruction of the market program.

    Returns the post-states of `accounts` (unchanged on failure), the complete log lines of the
    invocation, the compute units and, on failure, the error as the runtime reports it.
    """
    pid = str(program_id)
    logs = [f"Program {pid} invoke [1]"]
    ix = BY_DISCRIMINATOR.get(bytes(data[:DISCRIMINATOR_LEN])) if len(data) >= 8 else None
    units = ix.compute_units if ix else 1_500
    ctx: Ctx | None = None
    err: InstructionError | None = None
    try:
        if ix is None:
            code = AnchorCode.InstructionFallbackNotFound
            raise ProgramError(code)
        logs.append(f"Program log: Instruction: {to_upper_camel(ix.name)}")
        if len(accounts) < len(ix.accounts):
            raise ProgramError(AnchorCode.AccountNotEnoughKeys)
        try:
            args = ix.args.decode(bytes(data[DISCRIMINATOR_LEN:]))
        except BorshError:
            raise ProgramError(AnchorCode.InstructionDidNotDeserialize) from None
        ctx = Ctx(program_id, ix, accounts, args, clock)
        try:
            _validate_accounts(ctx)
            HANDLERS[ix.name](ctx, args)
        finally:
            logs.extend(ctx.logs)
    except ProgramError as e:
        logs.append(_anchor_log(e, ix.name if ix else "lib"))
        err = InstructionError(custom=int(e.code), name=e.code.name, message=e.error_message)
    except SystemCpiError as e:
        logs.append(e.log_line)
        logs.append(f"Program {SYSTEM_ID_STR} failed: custom program error: {hex(e.code)}")
        err = InstructionError(custom=e.code, name="SystemError", message=e.log_line)
    logs.append(f"Program {pid} consumed {units} of {DEFAULT_COMPUTE_BUDGET} compute units")
    if err is not None or ctx is None:
        assert err is not None
        logs.append(f"Program {pid} failed: custom program error: {hex(err.custom or 0)}")
        return ProcessResult(tuple(accounts), tuple(logs), units, err)
    logs.append(f"Program {pid} success")
    out = tuple(
        a.with_state(lamports=ctx.lamports[c], owner=ctx.owner[c], data=ctx.data[c])
        for a, c in zip(accounts, ctx.canon, strict=True)
    )
    return ProcessResult(out, tuple(logs), units, None, tuple(ctx.events))
