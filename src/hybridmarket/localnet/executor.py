"""Transaction execution: wire parsing, fees, the system program, the market program, rent.

What a Solana runtime does with one transaction, in Agave's order:

1. *Sanitize* the wire bytes (`parse_wire`): signature count, header, account indices.
2. *Load* (`execute`): validate the fee payer (exists, system-owned, pays the fee, stays rent
   exempt) and the invoked programs. A load failure drops the transaction: no fee, no record.
3. *Execute* the instructions in order on a scratch copy of the accounts. The system program is
   run here (Agave's log lines and errors); the market program is the Python model
   (`hybridmarket.program.processor.process_instruction`), whose results are checked the way the
   runtime checks a BPF program's (lamports conserved, only writable accounts changed, only the
   owner spends or writes).
4. *Rent check*: every writable account that changed ends at 0 lamports or rent exempt, else
   `InsufficientFundsForRent {account_index}`.

A failed transaction keeps only the fee payer's fee; its logs and error are still returned so
the caller can record them. Signature verification and the blockhash/status-cache checks live in
the bank, which owns that state. Nothing here does I/O.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import base58
from solders.hash import Hash
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from hybridmarket.localnet.errors import TxErr, instruction_error, instruction_error_text
from hybridmarket.program.runtime import (
    SYSTEM_PROGRAM_ID,
    AccountInfo,
    Clock,
    rent_exempt_minimum,
)

log = logging.getLogger(__name__)

LAMPORTS_PER_SIGNATURE = 5000
PACKET_DATA_SIZE = 1232
LOG_MESSAGES_BYTES_LIMIT = 10 * 1000
SYSTEM_PROGRAM_CU = 150
COMPUTE_BUDGET_CU = 150
MAX_PERMITTED_DATA_LENGTH = 10 * 1024 * 1024
DEFAULT_INSTRUCTION_CU_LIMIT = 200_000
MAX_COMPUTE_UNIT_LIMIT = 1_400_000

COMPUTE_BUDGET_ID = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
NATIVE_LOADER_ID = Pubkey.from_string("NativeLoader1111111111111111111111111111111")
BPF_LOADER_UPGRADEABLE_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SYSTEM_ID_STR = str(SYSTEM_PROGRAM_ID)


class Account(NamedTuple):
    """An account's stored state. Zero lamports means the account does not exist."""

    lamports: int
    owner: Pubkey
    data: bytes
    executable: bool = False


EMPTY_ACCOUNT = Account(0, SYSTEM_PROGRAM_ID, b"", False)


class TransactionParseError(Exception):
    """The bytes are not a transaction (deserialisation) or not a sane one (sanitize)."""

    def __init__(self, message: str, *, sanitize: bool = False):
        super().__init__(message)
        self.sanitize = sanitize


@dataclass(slots=True)
class ParsedTx:
    """A deserialised, sanitized wire transaction with its account roles worked out."""

    raw: bytes
    tx: VersionedTransaction
    signatures: list[Signature]
    keys: list[Pubkey]
    num_signers: int
    writable: list[bool]
    instructions: list[tuple[int, bytes, bytes]]  # (program index, account indices, data)
    blockhash: Hash
    version: int | None  # None for legacy, 0 for v0
    has_lookups: bool

    @property
    def signature(self) -> Signature:
        return self.signatures[0]


def _demoted(key: Pubkey, builtin_programs: frozenset[Pubkey]) -> bool:
    return key in builtin_programs


def parse_wire(raw: bytes, builtin_programs: frozenset[Pubkey] = frozenset()) -> ParsedTx:
    """Deserialize and sanitize one wire transaction (legacy or v0)."""
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except Exception as exc:  # solders raises its own error types
        raise TransactionParseError(
            f"failed to deserialize solana_transaction::versioned::VersionedTransaction: {exc}"
        ) from exc
    msg = tx.message
    if not isinstance(msg, (Message, MessageV0)):
        raise TransactionParseError("invalid transaction: Transaction version is unsupported")
    header = msg.header
    n_req = header.num_required_signatures
    n_ro_signed = header.num_readonly_signed_accounts
    n_ro_unsigned = header.num_readonly_unsigned_accounts
    keys = list(msg.account_keys)
    sigs = list(tx.signatures)
    n_keys = len(keys)
    is_v0 = isinstance(msg, MessageV0)
    has_lookups = bool(msg.address_table_lookups) if isinstance(msg, MessageV0) else False
    sane = (
        n_req >= 1
        and len(sigs) == n_req
        and n_ro_signed < n_req
        and n_req + n_ro_unsigned <= n_keys <= 256
        and len(set(keys)) == n_keys
    )
    instructions: list[tuple[int, bytes, bytes]] = []
    if sane:
        for ix in msg.instructions:
            pidx = ix.program_id_index
            accts = bytes(ix.accounts)
            # Lookup-table accounts would extend the index space; we load no tables.
            bad = pidx == 0 or pidx >= n_keys or (accts and max(accts) >= n_keys)
            if bad and not has_lookups:
                sane = False
                break
            instructions.append((pidx, accts, bytes(ix.data)))
    if not sane:
        raise TransactionParseError(
            "invalid transaction: Transaction failed to sanitize accounts offsets correctly",
            sanitize=True,
        )
    invoked = {keys[p] for p, _, _ in instructions if p < n_keys}
    writable = []
    for i, key in enumerate(keys):
        w = i < n_req - n_ro_signed if i < n_req else i < n_keys - n_ro_unsigned
        if w and (key in invoked or _demoted(key, builtin_programs)):
            w = False
        writable.append(w)
    return ParsedTx(
        raw=raw,
        tx=tx,
        signatures=sigs,
        keys=keys,
        num_signers=n_req,
        writable=writable,
        instructions=instructions,
        blockhash=msg.recent_blockhash,
        version=0 if is_v0 else None,
        has_lookups=has_lookups,
    )


class LogCollector:
    """Agave's LogCollector: at 10,000 bytes a single `Log truncated` line, then nothing."""

    __slots__ = ("lines", "size", "truncated")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.truncated = False

    def add(self, line: str) -> None:
        if self.truncated:
            return
        size = self.size + len(line.encode()) if not line.isascii() else self.size + len(line)
        if size >= LOG_MESSAGES_BYTES_LIMIT:
            self.truncated = True
            self.lines.append("Log truncated")
        else:
            self.size = size
            self.lines.append(line)

    def extend(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.add(line)


@dataclass(slots=True)
class ExecOutcome:
    """What executing (or trying to load) one transaction produced.

    `loaded` is False when the transaction failed before execution (fee payer or program
    loading): such a transaction is dropped, never recorded, and charges nothing.
    """

    loaded: bool
    err: TxErr | None
    logs: list[str] = field(default_factory=list)
    compute_units: int = 0
    fee: int = 0
    pre_balances: list[int] = field(default_factory=list)
    post_balances: list[int] = field(default_factory=list)
    inner_instructions: list[dict[str, Any]] = field(default_factory=list)
    writes: dict[Pubkey, Account] = field(default_factory=dict)
    loaded_accounts_data_size: int = 0


class _InstrFail(Exception):
    def __init__(self, err: Any):
        super().__init__(str(err))
        self.err = err


ProgramRunner = Callable[[Pubkey, Sequence[AccountInfo], bytes, Clock], Any]


def compute_fee(ptx: ParsedTx) -> int:
    """5000 lamports per signature plus the prioritization fee (ComputeBudget price × limit)."""
    fee = LAMPORTS_PER_SIGNATURE * len(ptx.signatures)
    price = 0
    limit: int | None = None
    non_budget = 0
    for pidx, _accts, data in ptx.instructions:
        if ptx.keys[pidx] == COMPUTE_BUDGET_ID:
            if len(data) >= 5 and data[0] == 2:
                limit = struct.unpack_from("<I", data, 1)[0]
            elif len(data) >= 9 and data[0] == 3:
                price = struct.unpack_from("<Q", data, 1)[0]
        else:
            non_budget += 1
    if price:
        if limit is None:
            limit = DEFAULT_INSTRUCTION_CU_LIMIT * non_budget
        limit = min(limit, MAX_COMPUTE_UNIT_LIMIT)
        fee += (price * limit + 999_999) // 1_000_000
    return fee


def _is_rent_ok(acct: Account) -> bool:
    return acct.lamports == 0 or acct.lamports >= rent_exempt_minimum(len(acct.data))


class Executor:
    """Runs transactions against an account loader. Stateless apart from its configuration."""

    def __init__(self, market_program_id: Pubkey | None, market_runner: ProgramRunner | None):
        self.market_program_id = market_program_id
        self.market_runner = market_runner
        self.builtin_programs = frozenset(
            k for k in (SYSTEM_PROGRAM_ID, COMPUTE_BUDGET_ID, market_program_id) if k is not None
        )

    def execute(
        self, ptx: ParsedTx, load: Callable[[Pubkey], Account | None], clock: Clock
    ) -> ExecOutcome:
        keys = ptx.keys
        fee = compute_fee(ptx)
        accounts: list[Account] = []
        data_size = 0
        for k in keys:
            a = load(k)
            if a is None:
                a = EMPTY_ACCOUNT
            accounts.append(a)
            data_size += len(a.data)
        if ptx.has_lookups:
            return ExecOutcome(loaded=False, err="AddressLookupTableNotFound")
        # Fee payer: exists, system-owned with no data, can pay, stays rent exempt.
        payer = accounts[0]
        if payer.lamports == 0:
            return ExecOutcome(loaded=False, err="AccountNotFound")
        if payer.owner != SYSTEM_PROGRAM_ID or payer.data:
            return ExecOutcome(loaded=False, err="InvalidAccountForFee")
        if payer.lamports < fee:
            return ExecOutcome(loaded=False, err="InsufficientFundsForFee")
        payer_after_fee = payer._replace(lamports=payer.lamports - fee)
        if not _is_rent_ok(payer_after_fee):
            return ExecOutcome(loaded=False, err={"InsufficientFundsForRent": {"account_index": 0}})
        # Programs: present and executable.
        for pidx, _a, _d in ptx.instructions:
            prog = accounts[pidx]
            if prog.lamports == 0:
                return ExecOutcome(loaded=False, err="ProgramAccountNotFound")
            if not prog.executable:
                return ExecOutcome(loaded=False, err="InvalidProgramForExecution")

        pre_balances = [a.lamports for a in accounts]
        work = list(accounts)
        work[0] = payer_after_fee
        logs = LogCollector()
        cu = 0
        err: TxErr | None = None
        inner: list[dict[str, Any]] = []
        for ix_index, (pidx, acct_idx, data) in enumerate(ptx.instructions):
            program_id = keys[pidx]
            try:
                if program_id == SYSTEM_PROGRAM_ID:
                    cu += SYSTEM_PROGRAM_CU
                    logs.add(f"Program {SYSTEM_ID_STR} invoke [1]")
                    try:
                        _system_instruction(ptx, work, acct_idx, data, logs)
                    except _InstrFail as f:
                        logs.add(f"Program {SYSTEM_ID_STR} failed: {instruction_error_text(f.err)}")
                        raise
                    logs.add(f"Program {SYSTEM_ID_STR} success")
                elif program_id == COMPUTE_BUDGET_ID:
                    cu += COMPUTE_BUDGET_CU
                    logs.add(f"Program {program_id} invoke [1]")
                    logs.add(f"Program {program_id} success")
                elif program_id == self.market_program_id and self.market_runner is not None:
                    used, ix_inner = self._run_market(
                        ptx, work, program_id, acct_idx, data, clock, logs
                    )
                    cu += used
                    if ix_inner:
                        inner.append({"index": ix_index, "instructions": ix_inner})
                else:
                    logs.add(f"Program {program_id} invoke [1]")
                    logs.add(f"Program {program_id} failed: Unsupported program id")
                    raise _InstrFail("UnsupportedProgramId")
            except _InstrFail as f:
                err = instruction_error(ix_index, f.err)
                break
        if err is None:
            for i, (before, after) in enumerate(zip(accounts, work, strict=True)):
                if ptx.writable[i] and after is not before and not _is_rent_ok(after):
                    if after == before:
                        continue
                    err = {"InsufficientFundsForRent": {"account_index": i}}
                    break
        writes: dict[Pubkey, Account] = {}
        if err is None:
            for i, (before, after) in enumerate(zip(accounts, work, strict=True)):
                if after is not before and after != before:
                    writes[keys[i]] = after
            post = [a.lamports for a in work]
        else:
            writes[keys[0]] = payer_after_fee
            post = list(pre_balances)
            post[0] = payer_after_fee.lamports
            inner = []
        return ExecOutcome(
            loaded=True,
            err=err,
            logs=logs.lines,
            compute_units=cu,
            fee=fee,
            pre_balances=pre_balances,
            post_balances=post,
            inner_instructions=inner,
            writes=writes,
            loaded_accounts_data_size=data_size,
        )

    def _run_market(
        self,
        ptx: ParsedTx,
        work: list[Account],
        program_id: Pubkey,
        acct_idx: bytes,
        data: bytes,
        clock: Clock,
        logs: LogCollector,
    ) -> tuple[int, list[dict[str, Any]]]:
        keys = ptx.keys
        n_signers = ptx.num_signers
        writable = ptx.writable
        infos = [
            AccountInfo(
                key=keys[i],
                lamports=work[i].lamports,
                owner=work[i].owner,
                data=work[i].data,
                is_signer=i < n_signers,
                is_writable=writable[i],
                executable=work[i].executable,
            )
            for i in acct_idx
        ]
        assert self.market_runner is not None
        try:
            result = self.market_runner(program_id, infos, data, clock)
        except Exception:
            log.exception("market program raised")
            logs.add(f"Program {program_id} invoke [1]")
            logs.add(f"Program {program_id} failed: Program failed to complete")
            raise _InstrFail("ProgramFailedToComplete") from None
        out_logs = list(result.logs)
        if result.error is not None:
            logs.extend(out_logs)
            raise _InstrFail(result.error.to_json())
        problem = _verify_program_result(program_id, infos, result.accounts)
        if problem is not None:
            if out_logs and out_logs[-1].endswith(" success"):
                out_logs[-1] = f"Program {program_id} failed: {instruction_error_text(problem)}"
            logs.extend(out_logs)
            raise _InstrFail(problem)
        logs.extend(out_logs)
        for i, post in zip(acct_idx, result.accounts, strict=True):
            cur = work[i]
            if post.lamports != cur.lamports or post.owner != cur.owner or post.data != cur.data:
                work[i] = Account(post.lamports, post.owner, bytes(post.data), cur.executable)
        inner: list[dict[str, Any]] = []
        for entry in getattr(result, "inner_instructions", ()) or ():
            compiled = _compile_inner(entry, keys)
            if compiled is not None:
                inner.append(compiled)
        return int(result.compute_units), inner


def _compile_inner(entry: Any, keys: list[Pubkey]) -> dict[str, Any] | None:
    """An inner instruction reported by the model, as `meta.innerInstructions[].instructions[]`."""
    try:
        program_id, account_keys, data, stack_height = entry
        index = {k: i for i, k in enumerate(keys)}
        return {
            "programIdIndex": index[program_id],
            "accounts": [index[k] for k in account_keys],
            "data": base58.b58encode(bytes(data)).decode(),
            "stackHeight": stack_height,
        }
    except (KeyError, ValueError, TypeError):
        return None


def _verify_program_result(
    program_id: Pubkey, before: Sequence[AccountInfo], after: Sequence[AccountInfo]
) -> str | None:
    """The runtime's checks on a program's account changes; the error name or None."""
    if len(after) != len(before):
        return "NotEnoughAccountKeys"
    pre_total = 0
    post_total = 0
    seen: set[Pubkey] = set()
    for pre, post in zip(before, after, strict=True):
        if post.key != pre.key:
            return "ModifiedProgramId"
        if pre.key not in seen:
            seen.add(pre.key)
            pre_total += pre.lamports
            post_total += post.lamports
        if post.lamports < 0:
            return "ArithmeticOverflow"
        changed_l = post.lamports != pre.lamports
        changed_d = post.data != pre.data
        changed_o = post.owner != pre.owner
        if not (changed_l or changed_d or changed_o):
            continue
        if pre.executable:
            return "ExecutableModified"
        if not pre.is_writable:
            if changed_l:
                return "ReadonlyLamportChange"
            if changed_d:
                return "ReadonlyDataModified"
            return "ModifiedProgramId"
        fresh_system = pre.owner == SYSTEM_PROGRAM_ID and not pre.data
        if changed_o and not (
            (fresh_system and post.owner == program_id)  # assign through a system CPI
            or pre.owner == program_id  # the owner closes or hands over its account
        ):
            return "ModifiedProgramId"
        # Debits of others' accounts only through a system transfer signed by them.
        if (
            post.lamports < pre.lamports
            and pre.owner != program_id
            and not (pre.owner == SYSTEM_PROGRAM_ID and pre.is_signer and not pre.data)
        ):
            return "ExternalAccountLamportSpend"
        if changed_d and program_id not in (post.owner, pre.owner):
            return "ExternalAccountDataModified"
    if pre_total != post_total:
        return "UnbalancedInstruction"
    return None


# --- the system program --------------------------------------------------------------------


def _addr(key: Pubkey) -> str:
    return f"Address {{ address: {key}, base: None }}"


def _system_instruction(
    ptx: ParsedTx, work: list[Account], acct_idx: bytes, data: bytes, logs: LogCollector
) -> None:
    if len(data) < 4:
        raise _InstrFail("InvalidInstructionData")
    tag = struct.unpack_from("<I", data)[0]
    n_signers = ptx.num_signers
    if tag == 2:  # Transfer { lamports }
        if len(data) < 12:
            raise _InstrFail("InvalidInstructionData")
        if len(acct_idx) < 2:
            raise _InstrFail("NotEnoughAccountKeys")
        lamports = struct.unpack_from("<Q", data, 4)[0]
        _transfer(ptx, work, acct_idx[0], acct_idx[1], lamports, logs)
    elif tag == 0:  # CreateAccount { lamports, space, owner }
        if len(data) < 52:
            raise _InstrFail("InvalidInstructionData")
        if len(acct_idx) < 2:
            raise _InstrFail("NotEnoughAccountKeys")
        lamports, space = struct.unpack_from("<QQ", data, 4)
        owner = Pubkey.from_bytes(data[20:52])
        frm, to = acct_idx[0], acct_idx[1]
        if work[to].lamports > 0:
            logs.add(f"Create Account: account {_addr(ptx.keys[to])} already in use")
            raise _InstrFail({"Custom": 0})
        _allocate(ptx, work, to, space, logs)
        _assign(ptx, work, to, owner, logs)
        _transfer(ptx, work, frm, to, lamports, logs)
    elif tag == 1:  # Assign { owner }
        if len(data) < 36:
            raise _InstrFail("InvalidInstructionData")
        if len(acct_idx) < 1:
            raise _InstrFail("NotEnoughAccountKeys")
        _assign(ptx, work, acct_idx[0], Pubkey.from_bytes(data[4:36]), logs)
    elif tag == 8:  # Allocate { space }
        if len(data) < 12:
            raise _InstrFail("InvalidInstructionData")
        if len(acct_idx) < 1:
            raise _InstrFail("NotEnoughAccountKeys")
        _allocate(ptx, work, acct_idx[0], struct.unpack_from("<Q", data, 4)[0], logs)
    else:
        raise _InstrFail("InvalidInstructionData")
    del n_signers


def _transfer(
    ptx: ParsedTx, work: list[Account], frm: int, to: int, lamports: int, logs: LogCollector
) -> None:
    src = work[frm]
    if frm >= ptx.num_signers:
        logs.add(f"Transfer: `from` account {ptx.keys[frm]} must sign")
        raise _InstrFail("MissingRequiredSignature")
    if src.data:
        logs.add("Transfer: `from` must not carry data")
        raise _InstrFail("InvalidArgument")
    if lamports > src.lamports:
        logs.add(f"Transfer: insufficient lamports {src.lamports}, need {lamports}")
        raise _InstrFail({"Custom": 1})
    if lamports == 0:
        return
    if src.owner != SYSTEM_PROGRAM_ID:
        raise _InstrFail("ExternalAccountLamportSpend")
    if not ptx.writable[frm] or not ptx.writable[to]:
        raise _InstrFail("ReadonlyLamportChange")
    if frm == to:
        return
    work[frm] = src._replace(lamports=src.lamports - lamports)
    dst = work[to]
    work[to] = dst._replace(lamports=dst.lamports + lamports)


def _allocate(ptx: ParsedTx, work: list[Account], idx: int, space: int, logs: LogCollector) -> None:
    acct = work[idx]
    if idx >= ptx.num_signers:
        logs.add(f"Allocate: 'to' account {_addr(ptx.keys[idx])} must sign")
        raise _InstrFail("MissingRequiredSignature")
    if acct.data or acct.owner != SYSTEM_PROGRAM_ID:
        logs.add(f"Allocate: account {_addr(ptx.keys[idx])} already in use")
        raise _InstrFail({"Custom": 0})
    if space > MAX_PERMITTED_DATA_LENGTH:
        logs.add(f"Allocate: requested {space}, max allowed {MAX_PERMITTED_DATA_LENGTH}")
        raise _InstrFail({"Custom": 3})
    if space and not ptx.writable[idx]:
        raise _InstrFail("ReadonlyDataModified")
    work[idx] = acct._replace(data=bytes(space))


def _assign(
    ptx: ParsedTx, work: list[Account], idx: int, owner: Pubkey, logs: LogCollector
) -> None:
    acct = work[idx]
    if acct.owner == owner:
        return
    if idx >= ptx.num_signers:
        logs.add(f"Assign: account {_addr(ptx.keys[idx])} must sign")
        raise _InstrFail("MissingRequiredSignature")
    if acct.owner != SYSTEM_PROGRAM_ID or not ptx.writable[idx]:
        raise _InstrFail("ModifiedProgramId")
    work[idx] = acct._replace(owner=owner)
