"""The worker's jobs: proposal aggregation, dispute aggregation, the market monitor, the recount
of the vote tallies.

Each job reads what to consider from the database (the indexer's copy), decides with the chain's
own account and clock, reads the vote counts the indexer keeps with the votes (`vote_tallies`),
and acts through `AuthoritySender` (which audits everything and never writes market state).
Each returns a summary for job_runs. `recount_tallies` checks those counts against the votes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool

from hybridmarket.chain.client import ChainClient
from hybridmarket.db.queries import indexer as q_indexer
from hybridmarket.db.queries import votes as q_votes
from hybridmarket.ipfs.backends import IpfsBackend
from hybridmarket.program import builders as b
from hybridmarket.program.accounts import GlobalConfig, MarketAccount, MarketState
from hybridmarket.program.rules import (
    dispute_period_ends_at,
    dispute_period_over,
    dispute_voting_ends_at,
    dispute_voting_over,
    proposal_decision,
    proposal_rule,
)
from hybridmarket.worker import tally as tallies
from hybridmarket.worker.sender import AuthoritySender, Outcome, in_state

log = structlog.get_logger(__name__)

STUCK = Gauge(
    "hybridmarket_markets_stuck",
    "Markets past their state's deadline by more than the grace period",
    ["state"],
)
TALLY_DIFFERENCES = Counter(
    "hybridmarket_vote_tally_differences",
    "Kept vote counts found different from the votes (and repaired)",
    ["kind"],
)
DEFAULT_PROPOSAL_WINDOW = 7 * 24 * 3600
DEFAULT_STUCK_GRACE = 3600


@dataclass
class Services:
    pool: AsyncConnectionPool
    client: ChainClient
    sender: AuthoritySender
    ipfs: IpfsBackend
    proposal_window: int = DEFAULT_PROPOSAL_WINDOW
    stuck_grace: int = DEFAULT_STUCK_GRACE
    summary: dict[str, Any] = field(default_factory=dict)


async def _chain_markets(s: Services, ids: list[str]) -> dict[str, MarketAccount | None]:
    accounts = await s.client.get_markets([bytes.fromhex(m) for m in ids])
    return dict(zip(ids, accounts, strict=True))


async def _config(s: Services) -> GlobalConfig:
    cfg = await s.client.get_config()
    if cfg is None:
        raise RuntimeError("the program's GlobalConfig is not initialised")
    return cfg


# Everything a proposed market can have become once approve_market has landed.
_APPROVED_OR_LATER = in_state(
    MarketState.Approved,
    MarketState.Active,
    MarketState.Resolving,
    MarketState.Disputed,
    MarketState.Finalized,
    MarketState.Cancelled,
)


async def approve_with_tally(
    s: Services,
    cfg: GlobalConfig,
    mid: str,
    likes: int,
    dislikes: int,
    *,
    extra: dict[str, Any] | None = None,
) -> Outcome | None:
    """Approve one PROPOSED market whose SQL counts (likes, dislikes) meet quorum and threshold
    (the caller decided that): publish its tally document, then send approve_market with those
    counts. None, with nothing sent, when the indexed votes no longer match the counts (votes
    indexed in between: decide again). `extra` is merged into the audit reason."""
    async with s.pool.connection() as conn:
        t = await tallies.build(conn, s.client.program_id, mid, "proposal")
        if (t.yes, t.no) != (likes, dislikes):
            return None
        tid, cid = await tallies.publish(conn, s.ipfs, t)
    return await s.sender.execute(
        b.approve_market(
            s.sender.signer.pubkey(),
            bytes.fromhex(mid),
            likes,
            dislikes,
            program_id=s.client.program_id,
        ),
        action="approve_market",
        market_id=mid,
        arguments={"likes": likes, "dislikes": dislikes},
        reason={
            **proposal_rule(cfg, likes, dislikes),
            "rule": "quorum and threshold met",
            "tally_cid": cid,
            "tally_sha256": t.sha256,
            **(extra or {}),
        },
        done=_APPROVED_OR_LATER,
        tally_id=tid,
    )


async def finalize_disputed(
    s: Services,
    cfg: GlobalConfig,
    acc: MarketAccount,
    mid: str,
    agree: int,
    disagree: int,
    now: int,
    *,
    extra: dict[str, Any] | None = None,
) -> Outcome | None:
    """Finalize one DISPUTED market whose voting period is over (the caller checked) with its
    SQL counts: publish the dispute tally, then send finalize_market with the counts. None, with
    nothing sent, when the indexed votes no longer match the counts."""
    async with s.pool.connection() as conn:
        t = await tallies.build(conn, s.client.program_id, mid, "dispute")
        if (t.yes, t.no) != (agree, disagree):
            return None
        tid, cid = await tallies.publish(conn, s.ipfs, t)
    return await s.sender.execute(
        b.finalize_market(
            s.sender.signer.pubkey(),
            bytes.fromhex(mid),
            acc.resolver,
            agree,
            disagree,
            program_id=s.client.program_id,
        ),
        action="finalize_market",
        market_id=mid,
        arguments={"agree": agree, "disagree": disagree},
        reason={
            "rule": "dispute voting period ended",
            "voting_ended_at": dispute_voting_ends_at(cfg, acc),
            "chain_time": now,
            "min_dispute_votes": cfg.min_dispute_votes,
            "threshold_bps": cfg.dispute_success_threshold_bps,
            "tally_cid": cid,
            "tally_sha256": t.sha256,
            **(extra or {}),
        },
        done=in_state(MarketState.Finalized, MarketState.Cancelled),
        tally_id=tid,
    )


async def finalize_undisputed(
    s: Services,
    cfg: GlobalConfig,
    acc: MarketAccount,
    mid: str,
    now: int,
    *,
    extra: dict[str, Any] | None = None,
) -> Outcome:
    """Finalize one RESOLVING market whose dispute period passed (the caller checked): no
    counts, the proposed outcome stands."""
    return await s.sender.execute(
        b.finalize_market(
            s.sender.signer.pubkey(),
            bytes.fromhex(mid),
            acc.resolver,
            program_id=s.client.program_id,
        ),
        action="finalize_market",
        market_id=mid,
        arguments={"agree": None, "disagree": None},
        reason={
            "rule": "dispute period passed with no dispute",
            "dispute_period_ended_at": dispute_period_ends_at(cfg, acc),
            "chain_time": now,
            **(extra or {}),
        },
        done=in_state(MarketState.Finalized, MarketState.Cancelled, MarketState.Disputed),
    )


async def aggregate_proposals(s: Services) -> dict[str, Any]:
    """Approve PROPOSED markets whose votes meet quorum and threshold; cancel those that miss
    either when the proposal voting window has passed."""
    cfg = await _config(s)
    now = await s.client.chain_time()
    async with s.pool.connection() as conn:
        counts = await q_votes.tallies(conn, "proposal", state="PROPOSED")
    chain = await _chain_markets(s, sorted(counts))
    out = {"considered": len(counts), "approved": 0, "cancelled": 0, "skipped": 0, "failed": 0}
    for mid, (likes, dislikes) in sorted(counts.items()):
        acc = chain[mid]
        rule = proposal_rule(cfg, likes, dislikes)
        if acc is None or acc.state != MarketState.Proposed:
            await s.sender.skip(
                "approve_market",
                mid,
                {},
                {"chain_state": None if acc is None else acc.state.name, **rule},
            )
            out["skipped"] += 1
            continue
        decision = proposal_decision(cfg, acc, likes, dislikes, now, s.proposal_window)
        if decision == "approve":
            r = await approve_with_tally(s, cfg, mid, likes, dislikes)
            if r is None:  # votes indexed in between: next tick
                continue
            out["approved" if r.outcome == "confirmed" else r.outcome] += 1
        elif decision == "cancel":
            r = await s.sender.execute(
                b.cancel_market(
                    s.sender.signer.pubkey(), bytes.fromhex(mid), program_id=s.client.program_id
                ),
                action="cancel_market",
                market_id=mid,
                arguments={},
                reason={
                    **rule,
                    "rule": "proposal voting window passed without quorum and threshold",
                    "proposed_at": acc.created_at,
                    "window_s": s.proposal_window,
                    "chain_time": now,
                },
                done=in_state(MarketState.Cancelled, MarketState.Approved),
            )
            out["cancelled" if r.outcome == "confirmed" else r.outcome] += 1
    return out


async def aggregate_disputes(s: Services) -> dict[str, Any]:
    """Finalize DISPUTED markets whose dispute voting period has ended, with their counts."""
    cfg = await _config(s)
    now = await s.client.chain_time()
    async with s.pool.connection() as conn:
        counts = await q_votes.tallies(conn, "dispute", state="DISPUTED")
    chain = await _chain_markets(s, sorted(counts))
    out = {"considered": len(counts), "finalized": 0, "waiting": 0, "skipped": 0, "failed": 0}
    for mid, (agree, disagree) in sorted(counts.items()):
        acc = chain[mid]
        if acc is None or acc.state != MarketState.Disputed:
            await s.sender.skip(
                "finalize_market",
                mid,
                {},
                {
                    "chain_state": None if acc is None else acc.state.name,
                    "agree": agree,
                    "disagree": disagree,
                },
            )
            out["skipped"] += 1
            continue
        if not dispute_voting_over(cfg, acc, now):
            out["waiting"] += 1
            continue
        r = await finalize_disputed(s, cfg, acc, mid, agree, disagree, now)
        if r is None:
            continue
        out["finalized" if r.outcome == "confirmed" else r.outcome] += 1
    return out


async def monitor_markets(s: Services) -> dict[str, Any]:
    """Finalize RESOLVING markets whose dispute period passed undisputed; report stuck ones."""
    cfg = await _config(s)
    now = await s.client.chain_time()
    async with s.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, state, extract(epoch FROM created_at)::bigint, "
            "extract(epoch FROM resolution_proposed_at)::bigint, "
            "extract(epoch FROM dispute_initiated_at)::bigint "
            "FROM markets WHERE state IN ('PROPOSED', 'RESOLVING', 'DISPUTED')"
        )
        rows = await cur.fetchall()
    out: dict[str, Any] = {"resolving": 0, "finalized": 0, "skipped": 0, "failed": 0}

    def deadline(row: Any) -> int:
        if row[1] == "PROPOSED":
            return int(row[2]) + s.proposal_window
        if row[1] == "RESOLVING":
            return int(row[3] or 0) + cfg.dispute_period
        return int(row[4] or 0) + cfg.dispute_voting_period

    stuck: dict[str, int] = {"PROPOSED": 0, "RESOLVING": 0, "DISPUTED": 0}
    for row in rows:
        late = now - deadline(row)
        if late > s.stuck_grace:
            stuck[row[1]] += 1
            log.warning("market stuck", market_id=row[0], state=row[1], past_deadline_s=late)
    for state, n in stuck.items():
        STUCK.labels(state).set(n)
    out["stuck"] = stuck
    resolving = sorted(row[0] for row in rows if row[1] == "RESOLVING")
    out["resolving"] = len(resolving)
    chain = await _chain_markets(s, resolving)
    for mid in resolving:
        acc = chain[mid]
        if acc is None or acc.state != MarketState.Resolving:
            await s.sender.skip(
                "finalize_market", mid, {}, {"chain_state": None if acc is None else acc.state.name}
            )
            out["skipped"] += 1
            continue
        if not dispute_period_over(cfg, acc, now):
            continue
        r = await finalize_undisputed(s, cfg, acc, mid, now)
        out["finalized" if r.outcome == "confirmed" else r.outcome] += 1
    return out


async def recount_tallies(pool: AsyncConnectionPool) -> dict[str, Any]:
    """Recount every market's votes from the rows and compare with the counts the indexer keeps;
    log each difference and repair it. Holds the indexer lock, so no batch lands in between."""
    out: dict[str, Any] = {"differences": 0, "repaired": []}
    async with pool.connection() as conn, conn.transaction():
        await q_indexer.lock(conn)
        for kind in q_votes.TABLES:
            found = await q_votes.recount(conn, kind, repair=True)
            for d in found:
                log.warning(
                    "vote tally differed from the votes; repaired",
                    market_id=d.market_id,
                    kind=kind,
                    kept=list(d.kept),
                    counted=list(d.counted),
                )
            TALLY_DIFFERENCES.labels(kind).inc(len(found))
            out["differences"] += len(found)
            out["repaired"] += [
                {"market_id": d.market_id, "kind": kind, "kept": d.kept, "counted": d.counted}
                for d in found[:100]
            ]
    return out
