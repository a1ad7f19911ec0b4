"""Checking a workload's report against the chain: every market's state and the program's
signatures since the run began."""

from __future__ import annotations

from typing import Any

from hybridmarket.chain.client import ChainClient
from hybridmarket.program.accounts import MarketState
from hybridmarket.sim.records import TxStatus, WorkloadReport


async def program_signatures(
    client: ChainClient, *, until: str | None = None
) -> dict[str, tuple[int, Any]]:
    """Every confirmed signature of the program newer than `until` (all if None), paging
    getSignaturesForAddress back 1000 at a time: signature → (slot, err)."""
    out: dict[str, tuple[int, Any]] = {}
    before: str | None = None
    while True:
        page = await client.signatures_for_program(before=before, until=until, limit=1000)
        for sig, slot, err, _block_time in page:
            out[sig] = (slot, err)
        if len(page) < 1000:
            return out
        before = page[-1][0]


async def verify_report(client: ChainClient, report: WorkloadReport) -> list[str]:
    """What differs between the chain and the report (empty when they agree): every market's
    state, outcomes, posted counts and trade count; and the program's signatures since the run
    began against the landed program transactions, with their success or failure. Valid only
    if nothing else wrote to the program during the run."""
    problems: list[str] = []
    accounts = await client.get_markets([m.market_id for m in report.markets])
    for rec, acc in zip(report.markets, accounts, strict=True):
        name = f"market {rec.market_id.hex()[:12]} ({rec.fate})"
        if rec.state is None or acc is None:
            if (rec.state is None) != (acc is None):
                problems.append(f"{name}: report {rec.state}, chain {acc and acc.state}")
            continue
        expected = {
            "state": rec.state,
            "trades_count": rec.trades,
            "proposed_outcome": rec.proposed_outcome,
            "final_outcome": rec.final_outcome,
        }
        if rec.proposal_likes or rec.proposal_dislikes:
            expected |= {
                "proposal_likes": rec.proposal_likes,
                "proposal_dislikes": rec.proposal_dislikes,
            }
        if rec.state is MarketState.Finalized:
            expected |= {
                "dispute_agree": rec.dispute_agree,
                "dispute_disagree": rec.dispute_disagree,
            }
        for attr, want in expected.items():
            got = getattr(acc, attr)
            if got != want:
                problems.append(f"{name}: {attr} is {got!r} on chain, {want!r} in the report")
    chain = await program_signatures(client, until=report.cursor_before)
    ours = {t.signature: t for t in report.transactions if t.program and t.landed}
    for sig in sorted(chain.keys() - ours.keys()):
        problems.append(f"{sig}: on chain, not in the report")
    for sig in sorted(ours.keys() - chain.keys()):
        problems.append(f"{sig}: landed per the report, not on chain")
    for sig in sorted(chain.keys() & ours.keys()):
        slot, err = chain[sig]
        t = ours[sig]
        if (err is None) != (t.status == TxStatus.OK) or slot != t.slot:
            problems.append(f"{sig}: chain slot {slot} err {err}, report {t.slot} {t.err}")
    problems.extend(
        f"{t.signature}: {t.instruction} {t.status} {t.err}" for t in report.unexpected()
    )
    return problems
