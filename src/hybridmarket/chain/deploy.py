"""Deploy or upgrade the program on any cluster through `BPFLoaderUpgradeable`, over JSON-RPC.

What `solana program deploy` does, with the same accounts and instructions (the instruction
bytes and the plan are `hybridmarket.sbf.loader`'s):

1. A buffer account owned by the loader, created and initialized with the upgrade authority
   as its authority. Its keypair is kept in a file beside the program keypair
   (`<program>-buffer.json`) until the deploy has consumed it, so an interrupted deploy resumes
   with the same buffer: the chunks already written (read back and compared) are not sent again.
2. The ELF written in packet-sized chunks, many in flight at once, each retried (re-signed with
   a fresh blockhash) until it lands; the buffer is then read back and must equal the ELF.
3. A fresh program id: `create_account` (signed by the program keypair) and
   `DeployWithMaxDataLen`. An existing program: `Upgrade` (signed by its upgrade authority),
   which swaps the bytes while every account the program owns stays as it is.
4. The program-data account is read back and the sha256 of the deployed bytes printed.

Everything goes through `ChainClient` (the project's one gateway to a node), so retries and
error mapping are the same as every service's. Errors are `DeployError` with a message that
says what to do.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from hybridmarket.chain.client import ChainClient
from hybridmarket.chain.errors import ChainError, TransactionExpired, TransactionFailed
from hybridmarket.chain.keys import load_or_create_keypair
from hybridmarket.program.runtime import LAMPORTS_PER_SOL
from hybridmarket.sbf import loader

FEE_PER_SIGNATURE = 5000
WRITES_IN_FLIGHT = 16
SEND_ATTEMPTS = 5

Progress = Callable[[int, int], None]  # (bytes written so far, total)


class DeployError(Exception):
    """A deploy that cannot go on; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class DeployResult:
    program_id: Pubkey
    programdata: Pubkey
    upgraded: bool  # False: a first deploy
    unchanged: bool  # the cluster already ran exactly these bytes; nothing was sent
    sha256: str  # of the ELF as read back from the program-data account
    slot: int  # the program-data account's deploy slot
    authority: Pubkey | None
    chunks_sent: int
    chunks_reused: int


def sol(lamports: int) -> str:
    return f"{lamports / LAMPORTS_PER_SOL:.9f}".rstrip("0").rstrip(".") + " SOL"


def buffer_keypair_path(program_keypair: Path) -> Path:
    return program_keypair.with_name(program_keypair.stem + "-buffer.json")


class Deployer:
    def __init__(
        self,
        client: ChainClient,
        payer: Keypair,
        *,
        authority: Keypair | None = None,
        progress: Progress | None = None,
        say: Callable[[str], None] = lambda _m: None,
    ) -> None:
        self.client = client
        self.payer = payer
        self.authority = authority or payer
        self.progress = progress
        self.say = say

    # --- sending ------------------------------------------------------------------------------

    async def _send(
        self, ixs: Sequence[Instruction], signers: Sequence[Keypair], what: str
    ) -> None:
        """Sign with a fresh blockhash, send, confirm; again if the blockhash expired first."""
        by_key = {k.pubkey(): k for k in (self.payer, *signers)}
        last: Exception | None = None
        for _attempt in range(SEND_ATTEMPTS):
            blockhash, last_valid = await self.client.latest_blockhash()
            msg = Message.new_with_blockhash(list(ixs), self.payer.pubkey(), blockhash)
            needed = msg.account_keys[: msg.header.num_required_signatures]
            tx = VersionedTransaction(msg, [by_key[k] for k in needed])
            sig = str(tx.signatures[0])
            try:
                try:
                    await self.client.send_raw(bytes(tx))
                except TransactionFailed as e:
                    # The same bytes landed already (a retry after a lost answer): confirm them.
                    if e.err != "AlreadyProcessed":
                        raise
                await self.client.confirm(sig, last_valid_block_height=last_valid)
                return
            except TransactionExpired as e:
                last = e
            except TransactionFailed as e:
                raise DeployError(_failure(what, e)) from None
        raise DeployError(f"{what}: did not land after {SEND_ATTEMPTS} attempts ({last})")

    async def _minimum_balance(self, size: int) -> int:
        resp = await self.client.gateway.call(
            "getMinimumBalanceForRentExemption",
            lambda: self.client.rpc.get_minimum_balance_for_rent_exemption(size),
        )
        return int(resp.value)

    # --- the deploy ---------------------------------------------------------------------------

    async def deploy(
        self, elf: bytes, program: Keypair | Pubkey, buffer: Keypair, *, max_data_len: int | None
    ) -> DeployResult:
        program_id = program.pubkey() if isinstance(program, Keypair) else program
        existing = await self.client.get_account_data(program_id)
        upgrading = False
        if existing is not None:
            _lamports, owner, data = existing
            if owner != loader.LOADER_ID:
                raise DeployError(
                    f"program id {program_id} is already used by an account owned by {owner}; "
                    "pass another --program-keypair"
                )
            state = loader.decode_state(data)
            if isinstance(state, loader.ProgramState):
                upgrading = True
                done = await self._check_upgrade(program_id, state.programdata_address, elf)
                if done is not None:
                    return done
            elif state is not None:
                raise DeployError(
                    f"{program_id} is a loader account that is not a program ({type(state).__name__}); "
                    "pass another --program-keypair"
                )
        elif not isinstance(program, Keypair):
            raise DeployError(
                f"{program_id} does not exist: a first deploy needs its keypair (--program-keypair)"
            )

        plan = loader.plan_deploy(
            elf,
            payer=self.payer.pubkey(),
            program_id=program_id,
            buffer=buffer.pubkey(),
            authority=self.authority.pubkey(),
            max_data_len=max_data_len,
        )
        create_program = existing is None
        await self._check_funds(plan, len(elf), upgrading=upgrading, create_program=create_program)
        sent, reused = await self._fill_buffer(plan, elf, buffer)
        if upgrading:
            ix = loader.upgrade(
                program_id, buffer.pubkey(), self.authority.pubkey(), self.payer.pubkey()
            )
            await self._send([ix], [self.authority], "upgrade")
        else:
            final = list(plan.steps[-1].instructions)
            signers: list[Keypair] = [self.authority]
            if create_program:
                assert isinstance(program, Keypair)
                signers.append(program)
            else:
                final = [ix for ix in final if ix.program_id == loader.LOADER_ID]
            await self._send(final, signers, "deploy")
        result = await self._read_back(program_id, elf, upgraded=upgrading, unchanged=False)
        return dataclasses.replace(result, chunks_sent=sent, chunks_reused=reused)

    async def _check_upgrade(
        self, program_id: Pubkey, programdata: Pubkey, elf: bytes
    ) -> DeployResult | None:
        raw = await self.client.get_account_data(programdata)
        if raw is None:
            raise DeployError(f"{program_id}: its program-data account {programdata} is missing")
        state = loader.decode_state(raw[2])
        if not isinstance(state, loader.ProgramDataState):
            raise DeployError(f"{programdata} is not a program-data account")
        if state.upgrade_authority is None:
            raise DeployError(
                f"{program_id} is immutable (no upgrade authority): it cannot be upgraded"
            )
        if state.upgrade_authority != self.authority.pubkey():
            raise DeployError(
                f"wrong upgrade authority: {program_id} is upgraded by {state.upgrade_authority}, "
                f"not {self.authority.pubkey()}; pass that key with --upgrade-authority"
            )
        if state.elf[: len(elf)] == elf and not any(state.elf[len(elf) :]):
            self.say(f"{program_id} already runs these bytes; nothing to upgrade")
            return await self._read_back(program_id, elf, upgraded=False, unchanged=True)
        if len(state.elf) < len(elf):
            raise DeployError(
                f"the program ({len(elf)} bytes) does not fit {program_id}'s program-data account "
                f"({len(state.elf)} bytes); extend it first (ExtendProgram)"
            )
        return None

    async def _check_funds(
        self, plan: loader.DeployPlan, elf_len: int, *, upgrading: bool, create_program: bool
    ) -> None:
        buffer_rent = await self._minimum_balance(loader.buffer_size(elf_len))
        fees = FEE_PER_SIGNATURE * 3 * len(plan.steps)
        need = buffer_rent + fees
        if not upgrading:
            need = max(
                need,
                fees
                + (await self._minimum_balance(loader.programdata_size(plan.max_data_len)))
                + (await self._minimum_balance(loader.PROGRAM_SIZE) if create_program else 0),
            )
        have = await self.client.get_balance(self.payer.pubkey())
        if have < need:
            raise DeployError(
                f"insufficient funds: the payer {self.payer.pubkey()} holds {sol(have)}, the "
                f"deploy needs about {sol(need)}; send it {sol(need - have)} more and run again"
            )

    async def _fill_buffer(
        self, plan: loader.DeployPlan, elf: bytes, buffer: Keypair
    ) -> tuple[int, int]:
        """Create the buffer unless it exists (a resumed deploy), write the chunks it lacks,
        then check it holds exactly the ELF. Returns (chunks sent, chunks already there)."""
        size = loader.buffer_size(len(elf))
        raw = await self.client.get_account_data(buffer.pubkey())
        held = b""
        if raw is None:
            await self._send(plan.steps[0].instructions, [buffer, self.authority], "create buffer")
        else:
            _l, owner, data = raw
            state = loader.decode_state(data) if owner == loader.LOADER_ID else None
            if not isinstance(state, loader.BufferState) or len(data) != size:
                raise DeployError(
                    f"the buffer {buffer.pubkey()} from an earlier deploy does not fit this "
                    "program; delete its keypair file (<program keypair>-buffer.json) and run again"
                )
            if state.authority != self.authority.pubkey():
                raise DeployError(
                    f"the buffer {buffer.pubkey()} is held by {state.authority}, not the upgrade "
                    "authority; pass that key with --upgrade-authority"
                )
            held = data[loader.BUFFER_METADATA_SIZE :]
            self.say(f"resuming with buffer {buffer.pubkey()}")
        writes = plan.steps[1:-1]
        chunk = plan.chunk_size
        todo = []
        reused = 0
        for i, step in enumerate(writes):
            off = i * chunk
            if held[off : off + chunk] == elf[off : off + chunk]:
                reused += 1
            else:
                todo.append((off, step))
        done = reused * chunk
        if self.progress:
            self.progress(min(done, len(elf)), len(elf))
        sem = asyncio.Semaphore(WRITES_IN_FLIGHT)

        async def write(off: int, step: loader.DeployStep) -> None:
            nonlocal done
            async with sem:
                await self._send(step.instructions, [self.authority], f"write at {off}")
            done += len(elf[off : off + chunk])
            if self.progress:
                self.progress(min(done, len(elf)), len(elf))

        # A failed write (or an interruption) cancels the others; what landed stays reusable.
        try:
            async with asyncio.TaskGroup() as tg:
                for off, step in todo:
                    tg.create_task(write(off, step))
        except ExceptionGroup as group:
            raise group.exceptions[0] from None
        raw = await self.client.get_account_data(buffer.pubkey())
        if raw is None or raw[2][loader.BUFFER_METADATA_SIZE :] != elf:
            raise DeployError(
                f"the buffer {buffer.pubkey()} does not hold the program after writing; run again"
            )
        return len(todo), reused

    async def _read_back(
        self, program_id: Pubkey, elf: bytes, *, upgraded: bool, unchanged: bool
    ) -> DeployResult:
        programdata = loader.programdata_address(program_id)
        program = await self.client.get_account_data(program_id)
        raw = await self.client.get_account_data(programdata)
        if program is None or raw is None:
            raise DeployError(f"{program_id} is not deployed after the deploy")
        state = loader.decode_state(raw[2])
        assert isinstance(state, loader.ProgramDataState)
        deployed = state.elf[: len(elf)]
        digest = hashlib.sha256(deployed).hexdigest()
        if deployed != elf or any(state.elf[len(elf) :]):
            raise DeployError(
                f"{program_id} holds other bytes (sha256 {digest}) than the program "
                f"(sha256 {hashlib.sha256(elf).hexdigest()})"
            )
        return DeployResult(
            program_id=program_id,
            programdata=programdata,
            upgraded=upgraded,
            unchanged=unchanged,
            sha256=digest,
            slot=state.slot,
            authority=state.upgrade_authority,
            chunks_sent=0,
            chunks_reused=0,
        )


def _failure(what: str, e: TransactionFailed) -> str:
    text = " ".join(e.logs[-3:]) if e.logs else str(e)
    if "insufficient lamports" in text or e.err == "InsufficientFundsForFee":
        return f"{what}: the payer cannot pay ({text}); fund it and run again"
    return f"{what} failed: {e} {text}".strip()


async def deploy_program(
    client: ChainClient,
    elf: bytes,
    *,
    payer: Keypair,
    program_keypair: Path,
    authority: Keypair | None = None,
    max_data_len: int | None = None,
    progress: Progress | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> DeployResult:
    """Deploy `elf` at the id of `program_keypair` (created if the file does not exist), or
    upgrade the program there. The buffer keypair file is removed once the deploy used it."""
    program = load_or_create_keypair(program_keypair)
    buffer_path = buffer_keypair_path(program_keypair)
    buffer = load_or_create_keypair(buffer_path)
    d = Deployer(client, payer, authority=authority, progress=progress, say=say)
    try:
        result = await d.deploy(elf, program, buffer, max_data_len=max_data_len)
    except ChainError as e:
        raise DeployError(
            f"the cluster at {client.rpc_url} failed: {e}; run again to resume"
        ) from None
    buffer_path.unlink(missing_ok=True)
    return result
