"""Sending and confirming for the simulator, through `ChainClient`: transactions signed with
`ChainClient.build_signed` and sent with `send_raw` under bounded concurrency, and one
background poller that confirms everything in flight in bulk (`signature_statuses`, 256 to a
call) instead of one `confirm` per signature, so confirmations never slow the sending."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import structlog
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.errors import ChainError, PreflightFailed, RpcError
from hybridmarket.sim.records import EXPECTED_ERROR, Failure, Progress, SentTx, TxStatus

log = structlog.get_logger(__name__)

TRANSFERS_PER_TX = 20  # 20 system transfers fit a 1232-byte transaction
BLOCKHASH_MAX_AGE = 1.0  # seconds a fetched blockhash is reused (valid for 150 slots)


def accepted(rec: SentTx) -> bool:
    """The node took it (with preflight on the embedded validator: it executed and succeeded)."""
    return rec.status in (TxStatus.PENDING, TxStatus.OK)


class Sender:
    """Signs and sends with bounded concurrency; one background poller confirms in bulk."""

    def __init__(
        self,
        client: ChainClient,
        *,
        concurrency: int,
        confirm_timeout: float = 60.0,
        poll_interval: float = 0.05,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.confirm_timeout = confirm_timeout
        self.poll_interval = poll_interval
        self.progress = progress
        self.phase = "setup"
        self.records: list[SentTx] = []
        self._sem = asyncio.Semaphore(concurrency)
        self._pending: dict[str, SentTx] = {}
        self._seen: set[str] = set()
        self._sent: dict[str, int] = {}
        self._settled: dict[str, int] = {}
        self._blockhash: tuple[Hash, int] | None = None
        self._blockhash_at = 0.0
        self._blockhash_lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None

    def _cached_blockhash(self, stale: Hash | None) -> tuple[Hash, int] | None:
        cached = self._blockhash
        if (
            cached is not None
            and time.monotonic() - self._blockhash_at < BLOCKHASH_MAX_AGE
            and cached[0] != stale
        ):
            return cached
        return None

    async def _recent_blockhash(self, stale: Hash | None = None) -> tuple[Hash, int]:
        # Without the lock when the cache serves, so that one sender waiting for the next
        # slot's blockhash (after a duplicate) holds up no one else.
        cached = self._cached_blockhash(stale)
        if cached is not None:
            return cached
        async with self._blockhash_lock:
            cached = self._cached_blockhash(stale)
            if cached is not None:
                return cached
            while True:
                got = await self.client.latest_blockhash()
                if got[0] != stale:
                    break
                await asyncio.sleep(self.poll_interval)  # wait for the next slot's blockhash
            self._blockhash, self._blockhash_at = got, time.monotonic()
            return got

    def _add(self, rec: SentTx) -> None:
        self.records.append(rec)
        self._sent[rec.phase] = self._sent.get(rec.phase, 0) + 1

    async def send(
        self,
        instruction: str,
        instructions: Sequence[Instruction],
        payer: Keypair,
        signers: Sequence[Keypair] = (),
        *,
        market_id: bytes | None = None,
        failure: Failure | None = None,
        program: bool = True,
    ) -> SentTx:
        """Send one transaction; returns once the node has answered (not confirmed)."""
        expected = int(EXPECTED_ERROR[failure]) if failure is not None else None
        async with self._sem:
            blockhash, last_valid = await self._recent_blockhash()
            tx = ChainClient.build_signed(instructions, payer, signers, blockhash)
            while str(tx.signatures[0]) in self._seen:
                # The same message under the same blockhash is the same transaction, which the
                # node would drop as a duplicate: sign it again under the next blockhash.
                blockhash, last_valid = await self._recent_blockhash(stale=blockhash)
                tx = ChainClient.build_signed(instructions, payer, signers, blockhash)
            sig = str(tx.signatures[0])
            self._seen.add(sig)
            rec = SentTx(
                signature=sig,
                instruction=instruction,
                phase=self.phase,
                payer=payer.pubkey(),
                market_id=market_id,
                program=program,
                failure=failure,
                expected_error=expected,
                sent_at=time.time(),
                last_valid_block_height=last_valid,
            )
            self._add(rec)
            try:
                await self.client.send_raw(bytes(tx), skip_preflight=failure is not None)
            except PreflightFailed as e:
                if e.err == "AlreadyProcessed":  # a retried send whose first attempt landed
                    self._track(rec)
                else:
                    rec.status, rec.err = TxStatus.REJECTED, e.err
            except RpcError as e:
                rec.status, rec.err = TxStatus.REJECTED, str(e)
            except ChainError:  # unreachable node: it may have landed, the poller finds out
                self._track(rec)
            else:
                self._track(rec)
            rec.acked_at = time.time()
            return rec

    async def airdrop(self, key: Pubkey, lamports: int) -> SentTx:
        async with self._sem:
            rec = SentTx("", "airdrop", self.phase, key, program=False, sent_at=time.time())
            self._add(rec)
            try:
                rec.signature = await self.client.request_airdrop(key, lamports, confirm=False)
            except ChainError as e:
                rec.status, rec.err = TxStatus.REJECTED, str(e)
            else:
                self._track(rec)
            rec.acked_at = time.time()
            return rec

    def _track(self, rec: SentTx) -> None:
        self._pending[rec.signature] = rec
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="workload-confirmations")

    async def settle(self) -> None:
        """Wait until everything sent so far is confirmed, failed or given up."""
        while self._poller is not None:
            task = self._poller
            await task  # re-raises the poller's error, if it had one
            if task is self._poller:
                break
        self.report_progress(self.phase)

    async def aclose(self) -> None:
        if self._poller is not None and not self._poller.done():
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller

    def report_progress(self, phase: str) -> None:
        if self.progress is not None:
            self.progress(phase, self._settled.get(phase, 0), self._sent.get(phase, 0))

    async def _poll(self) -> None:
        while self._pending:
            await asyncio.sleep(self.poll_interval)
            try:
                await self._poll_once()
            except ChainError as e:  # keep polling: the timeout bounds how long
                log.warning("workload.poll_failed", error=str(e))
                self._give_up(time.time())
            for phase in {r.phase for r in self._pending.values()} | {self.phase}:
                self.report_progress(phase)

    def _done(self, rec: SentTx, status: TxStatus) -> None:
        rec.status = status
        del self._pending[rec.signature]
        self._settled[rec.phase] = self._settled.get(rec.phase, 0) + 1

    def _give_up(self, now: float) -> None:
        """A node that does not answer cannot confirm: what it was sent before the timeout is
        lost (else an unreachable node is polled for ever)."""
        for rec in list(self._pending.values()):
            if now - rec.sent_at > self.confirm_timeout:
                self._done(rec, TxStatus.LOST)

    async def _poll_once(self) -> None:
        sigs = list(self._pending)
        unseen: list[SentTx] = []
        for sig, st in zip(sigs, await self.client.signature_statuses(sigs), strict=True):
            rec = self._pending.get(sig)
            if rec is None:
                continue
            if st is None:
                unseen.append(rec)
                continue
            slot, err, status = st
            if status in ("confirmed", "finalized"):
                rec.slot, rec.err = slot, err
                self._done(rec, TxStatus.OK if rec.err is None else TxStatus.FAILED)
        if not unseen:
            return
        height = await self.client.block_height()
        now = time.time()
        for rec in unseen:
            expired = rec.last_valid_block_height is not None and (
                height > rec.last_valid_block_height
            )
            if expired or now - rec.sent_at > self.confirm_timeout:
                self._done(rec, TxStatus.LOST)


async def fund_with(
    sender: Sender, faucet: Keypair | None, amounts: Sequence[tuple[Pubkey, int]]
) -> list[SentTx]:
    if faucet is None:
        return list(await asyncio.gather(*(sender.airdrop(k, n) for k, n in amounts)))
    src = faucet.pubkey()
    batches = [amounts[i : i + TRANSFERS_PER_TX] for i in range(0, len(amounts), TRANSFERS_PER_TX)]
    return list(
        await asyncio.gather(
            *(
                sender.send(
                    "transfer",
                    [
                        transfer(TransferParams(from_pubkey=src, to_pubkey=k, lamports=n))
                        for k, n in batch
                    ],
                    faucet,
                    program=False,
                )
                for batch in batches
            )
        )
    )


async def fund_wallets(
    client: ChainClient,
    faucet: Keypair | None,
    amounts: Sequence[tuple[Pubkey, int]],
    *,
    concurrency: int = 32,
) -> list[SentTx]:
    """Fund keys, confirmed: faucet transfers 20 to a transaction, or (no faucet) one
    requestAirdrop each. Raises RuntimeError if any funding transaction did not land."""
    sender = Sender(client, concurrency=concurrency)
    sender.phase = "funding"
    try:
        sent = await fund_with(sender, faucet, amounts)
        await sender.settle()
    finally:
        await sender.aclose()
    bad = [t for t in sent if t.status != TxStatus.OK]
    if bad:
        raise RuntimeError(f"{len(bad)} funding transactions failed: {bad[0]}")
    return sent
