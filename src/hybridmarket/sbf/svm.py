"""Run the program binary in Agave's own SVM (LiteSVM), behind the program model's interface.

`SvmRunner` has the signature of `program.processor.process_instruction` (the local
validator's `ProgramRunner`): it writes the instruction's accounts and the clock into a
LiteSVM, executes one transaction holding just that instruction, and reads back what Agave's
runtime committed: accounts, log lines, compute units, the error and the events.
`DifferentialRunner` runs two such runners on every input (the model and the binary) and
records every way their results differ, so any caller of a runner (the unit-test bank, the
local validator) becomes a differential test.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Literal

from solders.account import Account
from solders.clock import Clock as SvmClock
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import FeatureSet, LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import (
    InstructionErrorBorshIO,
    InstructionErrorCustom,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
    TransactionErrorInsufficientFundsForRent,
)

from hybridmarket.codec.anchor import DISCRIMINATOR_LEN
from hybridmarket.codec.borsh import BorshError
from hybridmarket.program.accounts import decode_any_account
from hybridmarket.program.errors import error_info
from hybridmarket.program.events import PROGRAM_DATA_PREFIX, decode_event_log
from hybridmarket.program.ids import PROGRAM_ID
from hybridmarket.program.instructions import BY_DISCRIMINATOR
from hybridmarket.program.runtime import (
    MAX_PERMITTED_DATA_LENGTH,
    SYSTEM_PROGRAM_ID,
    AccountInfo,
    Clock,
    InstructionError,
    ProcessResult,
    rent_exempt_minimum,
)

__all__ = [
    "SYSTEM_ERRORS",
    "Difference",
    "DifferenceError",
    "DifferentialRunner",
    "Runner",
    "SvmRunner",
    "UndecodableEvent",
    "UnrepresentableInput",
    "compare_results",
    "instruction_name",
]

Runner = Callable[[Pubkey, Sequence[AccountInfo], bytes, Clock], ProcessResult]
FeatureSetName = Literal["mainnet", "all"]

SYSTEM_ID_STR = str(SYSTEM_PROGRAM_ID)
SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
NATIVE_LOADER = Pubkey.from_string("NativeLoader1111111111111111111111111111111")
SYSTEM_TRANSFER_CU = 150  # the system program's fixed cost per instruction
FEE_PAYER_LAMPORTS = 10**18
CONSUMED_LINE = re.compile(r"^Program \S+ consumed \d+ of \d+ compute units$")

# solana-system-interface's SystemError: {"Custom": n} from a failed system-program call.
SYSTEM_ERRORS: dict[int, tuple[str, str]] = {
    0: ("AccountAlreadyInUse", "an account with the same address already exists"),
    1: ("ResultWithNegativeLamports", "account does not have enough SOL to perform the operation"),
    2: ("InvalidProgramId", "cannot assign account to this program id"),
    3: ("InvalidAccountDataLength", "cannot allocate account data of this length"),
    4: ("MaxSeedLengthExceeded", "length of requested seed is too long"),
    5: ("AddressWithSeedMismatch", "provided address does not match addressed derived from seed"),
    6: (
        "NonceNoRecentBlockhashes",
        "advancing stored nonce requires a populated RecentBlockhashes sysvar",
    ),
    7: ("NonceBlockhashNotExpired", "stored nonce is still in recent_blockhashes"),
    8: ("NonceUnexpectedBlockhashValue", "specified nonce does not match stored nonce"),
}


class UnrepresentableInput(ValueError):
    """An input the SVM cannot be given: a program, sysvar or builtin account that differs
    from the SVM's own (or marked writable, which the runtime would demote)."""


@dataclass(frozen=True, slots=True)
class UndecodableEvent:
    """A `Program data:` line with one of the program's event discriminators that does not
    decode (kept as an event so that a comparison shows it)."""

    data: bytes
    reason: str


def _variant(err: object) -> str:
    """`InstructionErrorFieldless.ComputationalBudgetExceeded` -> `ComputationalBudgetExceeded`."""
    return str(err).rsplit(".", 1)[-1]


def _error(err: object, logs: Sequence[str]) -> InstructionError:
    if isinstance(err, TransactionErrorInstructionError):
        inner = err.err
        if isinstance(inner, InstructionErrorCustom):
            code = inner.code
            system_failed = f"Program {SYSTEM_ID_STR} failed: custom program error: {hex(code)}"
            if system_failed in logs and code in SYSTEM_ERRORS:
                name, message = SYSTEM_ERRORS[code]
                return InstructionError(custom=code, name=name, message=message)
            info = error_info(code)
            if info is None:
                return InstructionError(custom=code)
            return InstructionError(custom=code, name=info.name, message=info.message)
        if isinstance(inner, InstructionErrorBorshIO):
            return InstructionError(
                builtin="BorshIoError", name="BorshIoError", message=inner.value
            )
        name = _variant(inner)
        return InstructionError(builtin=name, name=name)
    # A transaction-level error (the instruction never ran, or the runtime refused its result).
    if isinstance(err, TransactionErrorFieldless):
        name = _variant(err)
    else:
        name = type(err).__name__.removeprefix("TransactionError")
    return InstructionError(builtin=name, name=name, message=str(err))


def _events(logs: Sequence[str]) -> tuple[Any, ...]:
    out: list[Any] = []
    for line in logs:
        if not line.startswith(PROGRAM_DATA_PREFIX):
            continue
        try:
            event = decode_event_log(line)
        except BorshError as e:
            import base64

            raw = base64.b64decode(line[len(PROGRAM_DATA_PREFIX) :])
            out.append(UndecodableEvent(raw, str(e)))
            continue
        if event is not None:
            out.append(event)
    return tuple(out)


class SvmRunner:
    """The program binary executed by Agave's SVM, as a `ProgramRunner`.

    Each call sets the Clock sysvar's slot and unix_timestamp, writes every input account with
    `set_account` (an absent or zero-lamport input is removed, so it does not exist in the SVM
    either), and sends one legacy transaction holding just this instruction, paid by a fee
    payer of the runner's own so that no tested account pays fees. Signer and writable flags
    come from the inputs. Signature verification and the blockhash check are off: the
    interface carries no keys, so signers are asserted, not proven. Every transaction carries
    a fresh signature (and the transaction history is disabled), so identical inputs never
    come back `AlreadyProcessed`.

    Executable inputs (the system program, programs) and sysvars are the SVM's own: they are
    not written and come back as given, and an input that claims another state for them, or
    marks them writable (the runtime demotes them), raises `UnrepresentableInput`, since the
    program would see something else than the input says. So does an account passed twice
    with different states or flags (a transaction has one of each per key). The result holds the accounts as the runtime committed
    them, in input order (the inputs unchanged on failure), the log lines as the SVM printed
    them, the real compute units, the error as `InstructionError` (program and Anchor codes
    named by `error_info`, system-program codes by `SYSTEM_ERRORS`, runtime errors by their
    variant name in `builtin`) and, on success, the events decoded from `Program data:` lines.

    When the program succeeded but the runtime refuses the transaction because a writable
    account would be left rent-paying (`InsufficientFundsForRent`), that is the caller's check
    (the local validator makes it after the program), so the runner re-executes with a system
    transfer after the instruction that lifts that account out of the rent-paying state, and
    reports the program's own result (the transfer's lamports, log lines and compute units
    taken off). That retry's transaction budget includes the transfer's share, so its
    `consumed N of M` line shows M = 203000.

    `feature_set="mainnet"` is mainnet's feature set as this Agave knows it; `"all"` turns on
    every feature it has, pending ones included. Among those, SIMD-0460
    (virtual_address_space_adjustments, 7VgiehxNxu53KdxgLspGQY8myE6f7UokaWa4jsGcaSz) makes
    Agave 4.1.2 refuse any SBPFv0 program that is passed an account (`Failed to create SBF VM:
    Invalid memory region at index 4`, ProgramEnvironmentSetupFailure), bundled SPL programs
    as much as ours, so "all" is of use only for what that leaves.

    One LiteSVM per runner, kept for its lifetime: not thread-safe, call it from one thread.
    """

    def __init__(
        self,
        elf: bytes,
        program_id: Pubkey = PROGRAM_ID,
        *,
        feature_set: FeatureSetName = "mainnet",
    ) -> None:
        svm = LiteSVM()
        if feature_set == "mainnet":
            svm = svm.with_mainnet_features()
        elif feature_set == "all":
            svm = svm.with_feature_set(FeatureSet.all_enabled())
        else:
            raise ValueError(f"feature_set must be 'mainnet' or 'all', not {feature_set!r}")
        self.svm = svm.with_sigverify(False).with_blockhash_check(False).with_transaction_history(0)
        self.elf = bytes(elf)
        self.program_id = program_id
        self.feature_set = feature_set
        self.fee_payer = Keypair().pubkey()
        self._programs: set[Pubkey] = set()
        self._nonce = count(1)
        self._tag = Keypair().pubkey()  # makes signatures unique across runners too
        self._blockhash: Hash = self.svm.latest_blockhash()
        self.add_program(program_id)

    def add_program(self, program_id: Pubkey) -> None:
        """Load the binary at another address too (calls for unknown ids do this themselves)."""
        if program_id not in self._programs:
            self.svm.add_program(program_id, self.elf)
            self._programs.add(program_id)

    # -- one instruction ------------------------------------------------------------------------

    def _reserved(self, key: Pubkey) -> bool:
        """Accounts the runner must not overwrite: programs, sysvars, the fee payer."""
        if key == self.fee_payer or key in self._programs:
            return True
        acc = self.svm.get_account(key)
        return acc is not None and (acc.executable or acc.owner in (SYSVAR_OWNER, NATIVE_LOADER))

    def _check_kept(self, info: AccountInfo) -> None:
        """An input for an account the SVM holds itself must be that account, read-only."""
        if info.key == self.fee_payer:
            raise UnrepresentableInput(f"{info.key} is the runner's fee payer")
        acc = self.svm.get_account(info.key)
        if acc is None or (acc.lamports, acc.owner, bytes(acc.data), acc.executable) != (
            info.lamports,
            info.owner,
            bytes(info.data),
            info.executable,
        ):
            raise UnrepresentableInput(
                f"{info.key} is the SVM's own account ({acc}); the input gives "
                f"{info.lamports} lamports, owner {info.owner}, {len(info.data)} bytes, "
                f"executable {info.executable}"
            )
        if info.is_writable:
            raise UnrepresentableInput(f"{info.key} is reserved: the runtime makes it read-only")

    def _write(self, infos: Iterable[AccountInfo]) -> None:
        for info in infos:
            self.svm.set_account(
                info.key,
                Account(info.lamports, bytes(info.data), info.owner, False, 0)
                if info.lamports
                else Account.default(),
            )

    def _signature(self) -> Signature:
        return Signature(struct.pack("<Q", next(self._nonce)) + bytes(self._tag) + bytes(24))

    def _send(
        self, ix: Instruction, topups: dict[Pubkey, int]
    ) -> tuple[TransactionMetadata | FailedTransactionMetadata, Message]:
        ixs = [ix]
        for key, lamports in topups.items():
            ixs.append(
                transfer(
                    TransferParams(from_pubkey=self.fee_payer, to_pubkey=key, lamports=lamports)
                )
            )
        msg = Message.new_with_blockhash(ixs, self.fee_payer, self._blockhash)
        sig = self._signature()
        tx = VersionedTransaction.populate(msg, [sig] * msg.header.num_required_signatures)
        result = self.svm.send_transaction(tx)
        assert isinstance(result, TransactionMetadata | FailedTransactionMetadata)
        return result, msg

    def __call__(
        self, program_id: Pubkey, infos: Sequence[AccountInfo], data: bytes, clock: Clock
    ) -> ProcessResult:
        self.add_program(program_id)
        svm = self.svm
        c = svm.get_clock()
        if (c.slot, c.unix_timestamp) != (clock.slot, clock.unix_timestamp):
            svm.set_clock(
                SvmClock(
                    slot=clock.slot,
                    epoch_start_timestamp=c.epoch_start_timestamp,
                    epoch=c.epoch,
                    leader_schedule_epoch=c.leader_schedule_epoch,
                    unix_timestamp=clock.unix_timestamp,
                )
            )
        svm.set_account(self.fee_payer, Account(FEE_PAYER_LAMPORTS, b"", SYSTEM_PROGRAM_ID))
        written: dict[Pubkey, AccountInfo] = {}
        kept: set[Pubkey] = set()
        first: dict[Pubkey, AccountInfo] = {}
        for info in infos:
            seen = first.setdefault(info.key, info)
            if seen is not info and seen != info:
                raise UnrepresentableInput(
                    f"{info.key} is passed twice with different states or flags; a transaction "
                    "has one state and one signer/writable flag per key"
                )
            if info.key in written or info.key in kept:
                continue
            if info.executable or self._reserved(info.key):
                self._check_kept(info)
                kept.add(info.key)
                continue
            written[info.key] = info
        self._write(written.values())
        metas = [AccountMeta(i.key, i.is_signer, i.is_writable) for i in infos]
        ix = Instruction(program_id, bytes(data), metas)
        topups: dict[Pubkey, int] = {}
        while True:
            result, msg = self._send(ix, topups)
            if not isinstance(result, FailedTransactionMetadata):
                break
            err = result.err()
            if not isinstance(err, TransactionErrorInsufficientFundsForRent):
                break
            key = msg.account_keys[err.account_index]
            if key in topups or key not in written:
                break
            topups[key] = rent_exempt_minimum(MAX_PERMITTED_DATA_LENGTH)
            # The failed attempt charged the fee payer and nothing else; write the inputs again
            # all the same, so that the retry starts from exactly them.
            self._write(written.values())
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            logs = tuple(meta.logs())
            error = _error(result.err(), logs)
            return ProcessResult(tuple(infos), logs, meta.compute_units_consumed(), error)
        logs = tuple(result.logs())
        units = result.compute_units_consumed()
        if topups:
            units -= SYSTEM_TRANSFER_CU * len(topups)
            if logs and logs[-1] != "Log truncated":
                logs = logs[: len(logs) - 2 * len(topups)]
        out: list[AccountInfo] = []
        for info in infos:
            if info.key in kept:
                out.append(info)
                continue
            acc = svm.get_account(info.key)
            if acc is None:
                out.append(info.with_state(lamports=0, owner=SYSTEM_PROGRAM_ID, data=b""))
            else:
                lamports = acc.lamports - topups.get(info.key, 0)
                out.append(info.with_state(lamports=lamports, owner=acc.owner, data=acc.data))
        return ProcessResult(tuple(out), logs, units, None, _events(logs))


# ---- differential runs --------------------------------------------------------------------------


def instruction_name(data: bytes) -> str:
    """The program instruction `data` calls, by its discriminator."""
    ix = BY_DISCRIMINATOR.get(bytes(data[:DISCRIMINATOR_LEN])) if len(data) >= 8 else None
    return ix.name if ix is not None else f"unknown({bytes(data[:DISCRIMINATOR_LEN]).hex()})"


def _account_label(data: bytes, index: int) -> str:
    ix = BY_DISCRIMINATOR.get(bytes(data[:DISCRIMINATOR_LEN])) if len(data) >= 8 else None
    if ix is not None and index < len(ix.accounts):
        return f"#{index} {ix.accounts[index].name}"
    return f"#{index}"


def _show(value: Any) -> str:
    if isinstance(value, Pubkey):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return repr(value)


def _fields_diff(a: Any, b: Any, names: tuple[str, str], indent: str = "  ") -> list[str]:
    """Field-by-field differences of two dataclasses of the same type."""
    lines: list[str] = []
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if x != y:
            lines.append(f"{indent}{f.name}: {names[0]}={_show(x)} {names[1]}={_show(y)}")
    return lines


def _bytes_diff(a: bytes, b: bytes, names: tuple[str, str], limit: int = 6) -> list[str]:
    lines = [f"  length {len(a)} vs {len(b)}"] if len(a) != len(b) else []
    ranges: list[tuple[int, int]] = []
    start = None
    for i in range(max(len(a), len(b))):
        same = i < len(a) and i < len(b) and a[i] == b[i]
        if not same and start is None:
            start = i
        elif same and start is not None:
            ranges.append((start, i))
            start = None
    if start is not None:
        ranges.append((start, max(len(a), len(b))))
    for lo, end in ranges[:limit]:
        hi = min(end, lo + 48)
        lines.append(f"  bytes {lo}..{hi}: {names[0]}={a[lo:hi].hex()} {names[1]}={b[lo:hi].hex()}")
    if len(ranges) > limit:
        lines.append(f"  … {len(ranges) - limit} more differing ranges")
    return lines


def _data_diff(a: bytes, b: bytes, names: tuple[str, str]) -> list[str]:
    try:
        x, y = decode_any_account(a), decode_any_account(b)
    except (BorshError, ValueError):
        return _bytes_diff(a, b, names)
    if type(x) is not type(y):
        return [f"  type {type(x).__name__} vs {type(y).__name__}", *_bytes_diff(a, b, names)]
    lines = _fields_diff(x, y, names)
    if x.to_account_data() != a or y.to_account_data() != b:  # padding or trailing bytes
        lines += _bytes_diff(a, b, names)
    return lines or _bytes_diff(a, b, names)


def _error_text(e: InstructionError | None) -> str:
    if e is None:
        return "success"
    return f"{e.to_json()} {e.name}".rstrip()


def _comparable_logs(logs: Sequence[str]) -> list[str]:
    return [line for line in logs if not CONSUMED_LINE.match(line)]


def compare_results(
    data: bytes,
    reference: ProcessResult,
    candidate: ProcessResult,
    names: tuple[str, str] = ("model", "binary"),
) -> dict[str, list[str]]:
    """Every difference between two results of one instruction: aspect -> readable lines.

    Compared: the error (its runtime JSON, `{"Custom": n}` or the builtin's name), each
    account's lamports, owner and data (decoded field by field where both are program
    accounts), the log lines except `consumed N of M compute units`, and the events. Compute
    units are not compared.
    """
    out: dict[str, list[str]] = {}
    re_, ce = reference.error, candidate.error
    if (re_.to_json() if re_ else None) != (ce.to_json() if ce else None):
        out["error"] = [f"  {names[0]}: {_error_text(re_)}", f"  {names[1]}: {_error_text(ce)}"]
    if len(reference.accounts) != len(candidate.accounts):
        out["accounts"] = [
            f"  {len(reference.accounts)} accounts vs {len(candidate.accounts)}",
        ]
    for i, (x, y) in enumerate(zip(reference.accounts, candidate.accounts, strict=False)):
        label = f"account {_account_label(data, i)} {x.key}"
        lines: list[str] = []
        if x.key != y.key:
            lines.append(f"  key {x.key} vs {y.key}")
        if x.lamports != y.lamports:
            lines.append(
                f"  lamports {names[0]}={x.lamports} {names[1]}={y.lamports}"
                f" ({y.lamports - x.lamports:+d})"
            )
        if x.owner != y.owner:
            lines.append(f"  owner {names[0]}={x.owner} {names[1]}={y.owner}")
        if bytes(x.data) != bytes(y.data):
            lines += _data_diff(bytes(x.data), bytes(y.data), names)
        if lines:
            out[label] = lines
    rl, cl = _comparable_logs(reference.logs), _comparable_logs(candidate.logs)
    if rl != cl:
        diff = difflib.unified_diff(rl, cl, names[0], names[1], n=2, lineterm="")
        out["logs"] = ["  " + line for line in list(diff)[2:]]
    if reference.events != candidate.events:
        ev: list[str] = []
        n = max(len(reference.events), len(candidate.events))
        for i in range(n):
            ex = reference.events[i] if i < len(reference.events) else None
            ey = candidate.events[i] if i < len(candidate.events) else None
            if ex == ey:
                continue
            if dataclasses.is_dataclass(ex) and type(ex) is type(ey):
                ev.append(f"  event {i} {type(ex).__name__}:")
                ev += _fields_diff(ex, ey, names, indent="    ")
            else:
                ev.append(f"  event {i}: {names[0]}={ex!r}")
                ev.append(f"  event {i}: {names[1]}={ey!r}")
        out["events"] = ev
    return out


@dataclass(frozen=True, slots=True)
class Difference:
    """One instruction on which the two runners disagreed."""

    call: int  # the runner's call number, from 1
    instruction: str
    program_id: Pubkey
    aspects: dict[str, list[str]]
    inputs: tuple[AccountInfo, ...] = field(repr=False)
    data: bytes = field(repr=False)
    clock: Clock = field(repr=False)

    def describe(self) -> str:
        head = (
            f"call {self.call}: {self.instruction} (data {self.data.hex()}, "
            f"slot {self.clock.slot}, unix_timestamp {self.clock.unix_timestamp})"
        )
        body = [" inputs:"]
        for i, a in enumerate(self.inputs):
            flags = ("s" if a.is_signer else "-") + ("w" if a.is_writable else "-")
            body.append(
                f"  {_account_label(self.data, i)} {a.key} [{flags}] {a.lamports} lamports, "
                f"owner {a.owner}, {len(a.data)} bytes"
            )
        for aspect, lines in self.aspects.items():
            body.append(f" {aspect}:")
            body.extend(lines)
        return "\n".join([head, *body])


class DifferenceError(AssertionError):
    """Raised by a strict `DifferentialRunner` at the first difference."""


class DifferentialRunner:
    """Runs `reference` and `candidate` on every input and returns the reference's result.

    Every difference (see `compare_results`) is recorded as a `Difference`, with the
    instruction's name and inputs; a candidate that raises is a difference too. `strict=True`
    also raises `DifferenceError` at once (for callers that report exceptions, such as tests;
    not for the local validator, which turns a runner's exception into a failed transaction).
    `names` label the two sides in diffs.
    """

    def __init__(
        self,
        reference: Runner,
        candidate: Runner,
        *,
        names: tuple[str, str] = ("model", "binary"),
        strict: bool = False,
    ) -> None:
        self.reference = reference
        self.candidate = candidate
        self.names = names
        self.strict = strict
        self.compared = 0
        self.calls: Counter[str] = Counter()
        self.differences: list[Difference] = []

    def __call__(
        self, program_id: Pubkey, infos: Sequence[AccountInfo], data: bytes, clock: Clock
    ) -> ProcessResult:
        infos = tuple(infos)
        data = bytes(data)
        ref = self.reference(program_id, infos, data, clock)
        self.compared += 1
        name = instruction_name(data)
        self.calls[name] += 1
        try:
            cand = self.candidate(program_id, infos, data, clock)
            aspects = compare_results(data, ref, cand, self.names)
        except Exception as e:
            aspects = {"exception": [f"  {self.names[1]} raised {type(e).__name__}: {e}"]}
        if aspects:
            diff = Difference(self.compared, name, program_id, aspects, infos, data, clock)
            self.differences.append(diff)
            if self.strict:
                raise DifferenceError(
                    f"{self.names[0]} and {self.names[1]} differ:\n{diff.describe()}"
                )
        return ref

    def report(self, limit: int = 20) -> str:
        """A readable account of the differences (the first `limit` in full)."""
        if not self.differences:
            return f"no differences in {self.compared} instructions"
        by_name = Counter(d.instruction for d in self.differences)
        lines = [
            f"{len(self.differences)} of {self.compared} instructions differ: "
            + ", ".join(f"{n} {k}" for k, n in by_name.most_common())
        ]
        lines += [d.describe() for d in self.differences[:limit]]
        if len(self.differences) > limit:
            lines.append(f"… and {len(self.differences) - limit} more")
        return "\n".join(lines)

    def assert_no_differences(self) -> None:
        """Raise `DifferenceError` with the report if any instruction differed."""
        if self.differences:
            raise DifferenceError(self.report())
