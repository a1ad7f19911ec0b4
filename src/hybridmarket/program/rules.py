"""The protocol's approval and dispute rules, once: pure functions of the GlobalConfig, vote
counts and chain times (no I/O).

The program model enforces them, the worker decides with them what to send, the simulator
plans votes with them; all three must agree to the vote and to the second. Thresholds are
inclusive (`yes * 10000 >= threshold_bps * total`, no rounding anywhere); a deadline `start +
period` is the first second at which the period is over (windows are open strictly before it).
"""

from __future__ import annotations

from typing import Any, Literal

from hybridmarket.program.accounts import GlobalConfig, MarketAccount, MarketState
from hybridmarket.program.lmsr import BPS_DENOMINATOR as BPS

ProposalDecision = Literal["approve", "cancel"]


# ---- counts ------------------------------------------------------------------------------------


def meets_threshold(yes: int, total: int, threshold_bps: int) -> bool:
    """`yes` of `total` votes reach `threshold_bps` (inclusive, in exact integers)."""
    return yes * BPS >= threshold_bps * total


def yes_votes_needed(threshold_bps: int, total: int) -> int:
    """The fewest yes votes of `total` that meet `threshold_bps`."""
    return -(-threshold_bps * total // BPS)


def proposal_quorum_reached(cfg: GlobalConfig, total: int) -> bool:
    return total >= cfg.min_proposal_votes


def proposal_threshold_met(cfg: GlobalConfig, likes: int, total: int) -> bool:
    return meets_threshold(likes, total, cfg.proposal_approval_threshold_bps)


def approves(cfg: GlobalConfig, likes: int, dislikes: int) -> bool:
    """approve_market accepts these counts: at least one vote, quorum and threshold (both
    inclusive). The program reports the two failures apart (QuorumNotReached, then
    ApprovalThresholdNotMet); a valid config has min_proposal_votes >= 1, so the extra
    "at least one vote" never changes the answer for a config the program accepted."""
    total = likes + dislikes
    return (
        total > 0
        and proposal_quorum_reached(cfg, total)
        and proposal_threshold_met(cfg, likes, total)
    )


def dispute_flips(cfg: GlobalConfig, agree: int, disagree: int) -> bool:
    """finalize_market with these dispute counts flips the proposed outcome: at least one
    vote, the dispute quorum, and `agree` (the outcome is wrong) at the dispute threshold."""
    total = agree + disagree
    return (
        total > 0
        and total >= cfg.min_dispute_votes
        and meets_threshold(agree, total, cfg.dispute_success_threshold_bps)
    )


def proposal_rule(cfg: GlobalConfig, likes: int, dislikes: int) -> dict[str, Any]:
    """The counts and the rule they are judged by (as recorded in an audit reason)."""
    return {
        "likes": likes,
        "dislikes": dislikes,
        "min_proposal_votes": cfg.min_proposal_votes,
        "threshold_bps": cfg.proposal_approval_threshold_bps,
    }


# ---- times -------------------------------------------------------------------------------------


def resolution_opens_at(cfg: GlobalConfig, m: MarketAccount) -> int:
    return m.activated_at + cfg.min_resolution_delay


def resolution_allowed(cfg: GlobalConfig, m: MarketAccount, now: int) -> bool:
    """resolve_market is accepted from activation + min_resolution_delay on."""
    return now >= resolution_opens_at(cfg, m)


def dispute_period_ends_at(cfg: GlobalConfig, m: MarketAccount) -> int:
    return m.resolution_proposed_at + cfg.dispute_period


def dispute_window_open(cfg: GlobalConfig, m: MarketAccount, now: int) -> bool:
    """initiate_dispute is accepted strictly before the dispute period ends."""
    return now < dispute_period_ends_at(cfg, m)


def dispute_period_over(cfg: GlobalConfig, m: MarketAccount, now: int) -> bool:
    """An undisputed resolution can be finalized from resolution_proposed_at + dispute_period."""
    return not dispute_window_open(cfg, m, now)


def dispute_voting_ends_at(cfg: GlobalConfig, m: MarketAccount) -> int:
    return m.dispute_initiated_at + cfg.dispute_voting_period


def dispute_voting_open(cfg: GlobalConfig, m: MarketAccount, now: int) -> bool:
    """submit_dispute_vote is accepted strictly before the dispute voting period ends."""
    return now < dispute_voting_ends_at(cfg, m)


def dispute_voting_over(cfg: GlobalConfig, m: MarketAccount, now: int) -> bool:
    """finalize_market takes the dispute counts from dispute_initiated_at +
    dispute_voting_period on."""
    return not dispute_voting_open(cfg, m, now)


def posted_counts(kind: str, m: MarketAccount) -> tuple[int, int] | None:
    """The (yes, no) counts of a `kind` ("proposal" or "dispute") vote that the market account
    holds, once the backend has posted them: approve_market stores the proposal's,
    finalize_market after a dispute the dispute's; None before."""
    if kind == "proposal":
        return None if m.approved_at == 0 else (m.proposal_likes, m.proposal_dislikes)
    if m.dispute_initiated_at == 0 or m.state != MarketState.Finalized:
        return None
    return m.dispute_agree, m.dispute_disagree


def proposal_window_over(m: MarketAccount, now: int, window: int) -> bool:
    """The backend's (off-chain) proposal voting window: from created_at + window on, a
    proposal that does not meet quorum and threshold is cancelled."""
    return now >= m.created_at + window


def proposal_decision(
    cfg: GlobalConfig, m: MarketAccount, likes: int, dislikes: int, now: int, window: int
) -> ProposalDecision | None:
    """'approve', 'cancel' (the window passed without quorum and threshold) or None (wait)."""
    if approves(cfg, likes, dislikes):
        return "approve"
    if proposal_window_over(m, now, window):
        return "cancel"
    return None
