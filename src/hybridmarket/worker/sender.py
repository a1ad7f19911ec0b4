"""Transactions signed by the backend authority, each with its audit trail.

The chain is the source of truth: before sending, the market account is read and nothing is
sent if it already moved on (recorded as `skipped`). The audit row is written before the
transaction is broadcast (`pending`, then `sent` with its signature), so a crash at any point
leaves a row that `resolve_unfinished` settles on the next run by rebroadcasting the same
signed bytes (same signature, so it lands at most once) until it confirms or its blockhash
expires. A
repeat that the program refuses because the market already moved on (e.g. our own earlier
attempt landed before a crash) is `skipped`, never a failure; a transaction that fails on
chain for any other reason is `failed`, counted in a metric and logged as an error.
Market state is never written here: the indexer brings the result in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool
from solders.instruction import Instruction

from hybridmarket.authority import Signer
from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.errors import (
    ChainError,
    PreflightFailed,
    RpcError,
    TransactionExpired,
    TransactionFailed,
)
from hybridmarket.db.queries import audit
from hybridmarket.db.queries import jobs as q_jobs
from hybridmarket.program.accounts import MarketAccount, MarketState
from hybridmarket.program.errors import MarketError

log = structlog.get_logger(__name__)

SENT = Counter(
    "hybridmarket_backend_transactions",
    "Backend authority transactions by outcome",
    ["action", "outcome"],
)
# Program refusals that mean "the market is no longer where this action applies".
_MOVED_ON = {int(MarketError.InvalidMarketState)}
_UNSETTLED_AFTER_S = (
    120.0  # a blockhash is valid ~60-90 s: a signature unseen after this never landed
)


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: str  # confirmed | skipped | failed
    audit_id: int
    signature: str | None = None
    error: str | None = None


class AuthoritySender:
    def __init__(self, pool: AsyncConnectionPool, client: ChainClient, signer: Signer) -> None:
        self.pool = pool
        self.client = client
        self.signer = signer
        self.actor = str(signer.pubkey())

    async def skip(
        self, action: str, market_id: str, arguments: dict[str, Any], reason: dict[str, Any]
    ) -> Outcome:
        async with self.pool.connection() as conn:
            aid = await audit.record(
                conn,
                actor=self.actor,
                action=action,
                market_id=market_id,
                arguments=arguments,
                reason=reason,
                outcome="skipped",
            )
        SENT.labels(action, "skipped").inc()
        log.info("nothing sent", action=action, market_id=market_id, **reason)
        return Outcome("skipped", aid)

    async def execute(
        self,
        ix: Instruction,
        *,
        action: str,
        market_id: str,
        arguments: dict[str, Any],
        reason: dict[str, Any],
        done: Callable[[MarketAccount | None], bool],
        tally_id: int | None = None,
    ) -> Outcome:
        """Send `ix` signed by the backend, confirm it, and record everything.

        `done(market)` says whether the market account shows this action already happened;
        it decides between `skipped` and `failed` when the program refuses.
        """
        async with self.pool.connection() as conn:
            aid = await audit.record(
                conn,
                actor=self.actor,
                action=action,
                market_id=market_id,
                arguments=arguments,
                reason=reason,
            )
            if tally_id is not None:
                await q_jobs.link_tally(conn, tally_id, aid)
        blockhash, last_valid = await self.client.latest_blockhash()
        tx = self.client.build_signed([ix], self.signer.keypair(), (), blockhash)
        sig, wire = str(tx.signatures[0]), bytes(tx)
        async with self.pool.connection() as conn:
            await audit.mark_sent(
                conn, aid, tx_signature=sig, tx_wire=wire, last_valid_block_height=last_valid
            )
        return await self._deliver(aid, action, market_id, sig, wire, last_valid, done)

    async def _deliver(
        self,
        aid: int,
        action: str,
        market_id: str | None,
        sig: str,
        wire: bytes,
        last_valid: int,
        done: Callable[[MarketAccount | None], bool],
    ) -> Outcome:
        """Broadcast the signed `wire` (again, after a crash: same signature, lands at most once)
        and wait for a definite outcome: confirmed, refused, or expired."""
        try:
            try:
                await self.client.send_raw(wire)
            except PreflightFailed as e:
                if e.err != "AlreadyProcessed":
                    raise
            except RpcError as e:
                if "already been processed" not in str(e).lower():
                    raise
            await self.client.confirm(sig, last_valid_block_height=last_valid)
        except TransactionFailed as e:
            return await self._refused(
                aid, action, market_id, sig, e, done, landed=not isinstance(e, PreflightFailed)
            )
        except TransactionExpired as e:
            return await self._finish(aid, action, "failed", sig, f"expired: {e}")
        except ChainError:
            # Unknown whether it landed: the row stays `sent`; resolve_unfinished settles it.
            log.warning(
                "backend transaction unconfirmed", action=action, market_id=market_id, signature=sig
            )
            raise
        return await self._finish(aid, action, "confirmed", sig, None)

    async def _refused(
        self,
        aid: int,
        action: str,
        market_id: str | None,
        sig: str,
        e: TransactionFailed,
        done: Callable[[MarketAccount | None], bool],
        *,
        landed: bool,
    ) -> Outcome:
        if (
            e.code in _MOVED_ON
            and market_id is not None
            and done(await self.client.get_market(bytes.fromhex(market_id)))
        ):
            return await self._finish(
                aid, action, "skipped", sig if landed else None, f"already done: {e.name}"
            )
        return await self._finish(
            aid, action, "failed", sig if landed else None, f"{e.name or e}: {e}"
        )

    async def _finish(
        self, aid: int, action: str, outcome: str, sig: str | None, error: str | None
    ) -> Outcome:
        async with self.pool.connection() as conn:
            await audit.update(conn, aid, outcome=outcome, tx_signature=sig, error=error)
        SENT.labels(action, outcome).inc()
        if outcome == "failed":
            log.error("backend transaction failed", action=action, signature=sig, error=error)
        else:
            log.info("backend transaction", action=action, outcome=outcome, signature=sig)
        return Outcome(outcome, aid, sig, error)

    async def resolve_unfinished(self) -> int:
        """Settle audit rows a crash left `pending` or `sent`; returns how many were settled."""
        settled = 0
        async with self.pool.connection() as conn:
            rows = await audit.unresolved(conn, self.actor)
        for row in rows:
            if row.outcome == "pending" or row.tx_signature is None:
                async with self.pool.connection() as conn:
                    await audit.update(
                        conn, row.id, outcome="failed", error="interrupted before sending"
                    )
                settled += 1
                continue
            if row.tx_wire is not None and row.last_valid_block_height is not None:
                # Rebroadcast the very transaction and wait for its fate. A refusal because the
                # market moved on means another run did the work: `skipped`.
                try:
                    if (
                        await self.client.signature_status(row.tx_signature) is None
                        and await self.client.block_height() > row.last_valid_block_height
                    ):
                        async with self.pool.connection() as conn:
                            await audit.update(
                                conn,
                                row.id,
                                outcome="failed",
                                error="never landed (blockhash expired)",
                            )
                        settled += 1
                        continue
                    await self._deliver(
                        row.id,
                        row.action,
                        row.market_id,
                        row.tx_signature,
                        row.tx_wire,
                        row.last_valid_block_height,
                        lambda _m: True,
                    )
                except ChainError:
                    continue  # still unknown (chain unreachable): the next run tries again
                settled += 1
                continue
            # Rows written before the signed bytes were kept: only the signature's status.
            status = await self.client.signature_status(row.tx_signature)
            if status is not None and status[2] in ("confirmed", "finalized"):
                _slot, err, _ = status
                outcome = "confirmed" if err is None else "failed"
                async with self.pool.connection() as conn:
                    await audit.update(
                        conn,
                        row.id,
                        outcome=outcome,
                        error=None if err is None else f"landed with {err}",
                    )
                settled += 1
            elif status is None and time.time() - row.at.timestamp() > _UNSETTLED_AFTER_S:
                async with self.pool.connection() as conn:
                    await audit.update(
                        conn, row.id, outcome="failed", error="never landed (blockhash expired)"
                    )
                settled += 1
        if settled:
            log.info("settled unfinished backend transactions", count=settled)
        return settled


def in_state(*states: MarketState) -> Callable[[MarketAccount | None], bool]:
    """`done` predicate: the market is in one of these states."""
    return lambda m: m is not None and m.state in states
