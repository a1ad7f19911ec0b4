"""Transaction execution on Agave's SVM (LiteSVM): wire parsing, then the real runtime.

What stays ours is only what an RPC node does before and around the runtime:

1. *Sanitize* the wire bytes (`parse_wire`), so that `sendTransaction` answers a malformed
   transaction with Agave's RPC error texts before anything runs.
2. *Execute* (`SvmExecutor.execute`): the transaction, from its wire bytes, goes to LiteSVM,
   which verifies the signatures, loads and charges the fee payer, runs the compute-budget
   instructions, the system program, the upgradeable loader and the program binary with real
   compute-unit metering, and checks rent. Everything in the outcome (error, logs, compute
   units, fee, inner instructions, return data) is the SVM's.
3. *Read back* what the transaction wrote: every account it could write (its writable keys,
   lookup-table addresses included, sysvars and builtins left out) is read from the SVM and
   compared with the validator's copy; the accounts that changed are the outcome's `writes`,
   which the bank records per slot for older commitments and persists.

A transaction the SVM refuses before charging a fee (bad signature, unknown or broke fee
payer, missing lookup table) is *not loaded*: it is dropped and never recorded, as a leader
drops it. One that failed after the fee was charged is recorded with its error; only its fee
stays (the SVM commits nothing else). The blockhash and status-cache checks are the bank's,
which owns slots; the SVM's own blockhash check and history are off.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, NamedTuple

from solders.account import Account as SvmAccount
from solders.address_lookup_table_account import AddressLookupTable
from solders.clock import Clock as SvmClock
from solders.hash import Hash
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import (
    FailedTransactionMetadata,
    SimulatedTransactionInfo,
    TransactionMetadata,
)

from hybridmarket.codec.base58 import encode as b58encode
from hybridmarket.localnet.errors import TxErr
from hybridmarket.program.runtime import SYSTEM_PROGRAM_ID

PACKET_DATA_SIZE = 1232

NATIVE_LOADER_ID = Pubkey.from_string("NativeLoader1111111111111111111111111111111")
SYSVAR_OWNER_ID = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
BPF_LOADER_UPGRADEABLE_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
ADDRESS_LOOKUP_TABLE_ID = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
# Transaction errors with which the runtime refuses a transaction before charging its fee.
NOT_LOADED = frozenset(
    {
        "AccountNotFound",
        "InsufficientFundsForFee",
        "InvalidAccountForFee",
        "SignatureFailure",
        "AlreadyProcessed",
        "BlockhashNotFound",
        "SanitizeFailure",
        "AddressLookupTableNotFound",
        "InvalidAddressLookupTableOwner",
        "InvalidAddressLookupTableData",
        "InvalidAddressLookupTableIndex",
        "UnsupportedVersion",
        "MissingSignatureForFee",
    }
)
# The runtime's own accounts: never written by a transaction, never the validator's to keep.
RESERVED_OWNERS = frozenset({NATIVE_LOADER_ID, SYSVAR_OWNER_ID})


class Account(NamedTuple):
    """An account's stored state. Zero lamports means the account does not exist."""

    lamports: int
    owner: Pubkey
    data: bytes
    executable: bool = False


EMPTY_ACCOUNT = Account(0, SYSTEM_PROGRAM_ID, b"", False)


def from_svm(acc: SvmAccount | None) -> Account | None:
    if acc is None or acc.lamports == 0:
        return None
    return Account(acc.lamports, acc.owner, bytes(acc.data), acc.executable)


def to_svm(acct: Account | None) -> SvmAccount:
    if acct is None or acct.lamports == 0:
        return SvmAccount.default()
    return SvmAccount(acct.lamports, acct.data, acct.owner, acct.executable, 0)


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
    keys: list[Pubkey]  # the static keys; lookup-table addresses come at execution
    num_signers: int
    writable: list[bool]  # per static key: writable by the message header
    instructions: list[tuple[int, bytes, bytes]]  # (program index, account indices, data)
    blockhash: Hash
    version: int | None  # None for legacy, 0 for v0
    has_lookups: bool

    @property
    def signature(self) -> Signature:
        return self.signatures[0]


def parse_wire(raw: bytes) -> ParsedTx:
    """Deserialize and sanitize one wire transaction (legacy or v0), with Agave's RPC texts."""
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
    lookups = msg.address_table_lookups if isinstance(msg, MessageV0) else []
    n_loaded = sum(len(lk.writable_indexes) + len(lk.readonly_indexes) for lk in lookups)
    n_all = n_keys + n_loaded
    sane = (
        n_req >= 1
        and len(sigs) == n_req
        and n_ro_signed < n_req
        and n_req + n_ro_unsigned <= n_keys
        and n_all <= 256
        and len(set(keys)) == n_keys
    )
    instructions: list[tuple[int, bytes, bytes]] = []
    if sane:
        for ix in msg.instructions:
            pidx = ix.program_id_index
            accts = bytes(ix.accounts)
            # A program must be a static key; accounts may index the loaded addresses too.
            if pidx == 0 or pidx >= n_keys or (accts and max(accts) >= n_all):
                sane = False
                break
            instructions.append((pidx, accts, bytes(ix.data)))
    if not sane:
        raise TransactionParseError(
            "invalid transaction: Transaction failed to sanitize accounts offsets correctly",
            sanitize=True,
        )
    writable = [
        i < n_req - n_ro_signed if i < n_req else i < n_keys - n_ro_unsigned for i in range(n_keys)
    ]
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
        has_lookups=bool(lookups),
    )


@dataclass(slots=True)
class ExecOutcome:
    """What executing (or trying to load) one transaction produced.

    `loaded` is False when the runtime refused the transaction before charging its fee: such a
    transaction is dropped, never recorded, and changes nothing.
    """

    loaded: bool
    err: TxErr | None
    logs: list[str] = field(default_factory=list)
    compute_units: int = 0
    fee: int = 0
    pre_balances: list[int] = field(default_factory=list)
    post_balances: list[int] = field(default_factory=list)
    inner_instructions: InnerRaw = field(default_factory=list)  # inner_instructions_json()
    return_data: dict[str, Any] | None = None
    writes: dict[Pubkey, Account | None] = field(default_factory=dict)
    loaded_writable: list[Pubkey] = field(default_factory=list)
    loaded_readonly: list[Pubkey] = field(default_factory=list)
    loaded_accounts_data_size: int = 0
    pre_accounts: list[Account | None] = field(default_factory=list)  # per key, before


def dropped(err: TxErr) -> ExecOutcome:
    return ExecOutcome(loaded=False, err=err)


Loader = Callable[[Pubkey], Account | None]
# Per top-level instruction with CPIs: (index, [(program index, account indices, data, stack
# height)]).
InnerRaw = list[tuple[int, list[tuple[int, bytes, bytes, int | None]]]]


def _inner_raw(meta: TransactionMetadata) -> InnerRaw:
    """The CPIs, per top-level instruction that made any, as plain tuples; their JSON (with
    base58 data) is made only when it is needed (`inner_instructions_json`), which for a
    recorded transaction is in the ledger's writer process."""
    out: InnerRaw = []
    for index, inner in enumerate(meta.inner_instructions()):
        if inner:
            calls = []
            for ii in inner:
                ci = ii.instruction()
                calls.append(
                    (ci.program_id_index, bytes(ci.accounts), bytes(ci.data), ii.stack_height())
                )
            out.append((index, calls))
    return out


def inner_instructions_json(raw: InnerRaw) -> list[dict[str, Any]]:
    """`meta.innerInstructions` as Agave writes it."""
    return [
        {
            "index": index,
            "instructions": [
                {
                    "programIdIndex": pidx,
                    "accounts": list(accounts),
                    "data": b58encode(data),
                    "stackHeight": stack_height,
                }
                for pidx, accounts, data, stack_height in calls
            ],
        }
        for index, calls in raw
    ]


# Everything `meta_json_from_parts` needs, as builtins (the ledger's writer process takes it).
MetaParts = tuple[
    Any,  # err (TransactionError JSON) or None
    int,  # fee
    list[int],  # pre balances
    list[int],  # post balances
    InnerRaw,
    list[str],  # logs
    list[bytes],  # loaded writable addresses
    list[bytes],  # loaded readonly addresses
    int,  # compute units
    dict[str, Any] | None,  # return data
]


def meta_parts(o: ExecOutcome) -> MetaParts:
    return (
        o.err,
        o.fee,
        o.pre_balances,
        o.post_balances,
        o.inner_instructions,
        o.logs,
        [bytes(k) for k in o.loaded_writable],
        [bytes(k) for k in o.loaded_readonly],
        o.compute_units,
        o.return_data,
    )


def meta_json_from_parts(parts: MetaParts) -> dict[str, Any]:
    """`meta` of getTransaction, as Agave's UiTransactionStatusMeta."""
    err, fee, pre, post, inner, logs, loaded_w, loaded_r, units, return_data = parts
    meta = {
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "fee": fee,
        "preBalances": pre,
        "postBalances": post,
        "innerInstructions": inner_instructions_json(inner),
        "logMessages": logs,
        "preTokenBalances": [],
        "postTokenBalances": [],
        "rewards": [],
        "loadedAddresses": {
            "writable": [str(Pubkey.from_bytes(k)) for k in loaded_w],
            "readonly": [str(Pubkey.from_bytes(k)) for k in loaded_r],
        },
        "computeUnitsConsumed": units,
    }
    if return_data is not None:
        meta["returnData"] = return_data
    return meta


def meta_json(o: ExecOutcome) -> dict[str, Any]:
    return meta_json_from_parts(meta_parts(o))


def _return_data_json(meta: TransactionMetadata) -> dict[str, Any] | None:
    rd = meta.return_data()
    data = bytes(rd.data)
    if not data:
        return None
    return {"programId": str(rd.program_id), "data": [base64.b64encode(data).decode(), "base64"]}


class SvmExecutor:
    """One LiteSVM holding the chain's current (processed) state, and how to run it.

    The validator keeps its own copy of every account a transaction or genesis wrote (for
    older commitments, `getProgramAccounts` and persistence); the SVM holds the same state plus
    its own builtins and sysvars, which `account` falls back to. Not thread-safe: the
    validator calls it from its event loop only.
    """

    def __init__(self) -> None:
        self.svm = (
            LiteSVM()
            .with_mainnet_features()
            .with_sigverify(True)
            .with_blockhash_check(False)
            .with_transaction_history(0)
        )
        self.busy = 0.0  # seconds spent executing and simulating, for the validator's stats

    # --- state --------------------------------------------------------------------------------

    def account(self, pk: Pubkey) -> Account | None:
        """The SVM's own state of an account (builtins and sysvars included)."""
        return from_svm(self.svm.get_account(pk))

    def set_account(self, pk: Pubkey, acct: Account | None) -> None:
        self.svm.set_account(pk, to_svm(acct))

    def restore(self, accounts: list[tuple[Pubkey, Account]]) -> None:
        """Load persisted accounts back into a fresh SVM. Program-data goes in before the
        program accounts that name it, so the SVM's program cache finds the ELF."""
        for pk, acct in sorted(accounts, key=lambda item: item[1].executable):
            self.svm.set_account(pk, to_svm(acct))

    def set_clock(self, slot: int, unix_timestamp: int) -> None:
        c = self.svm.get_clock()
        if (c.slot, c.unix_timestamp) != (slot, unix_timestamp):
            self.svm.set_clock(
                SvmClock(
                    slot=slot,
                    epoch_start_timestamp=c.epoch_start_timestamp,
                    epoch=c.epoch,
                    leader_schedule_epoch=c.leader_schedule_epoch,
                    unix_timestamp=unix_timestamp,
                )
            )

    def set_slot_hashes(self, hashes: list[tuple[int, Hash]]) -> None:
        """The SlotHashes sysvar: the recent slots and their hashes, newest first (what the
        address-lookup-table program checks a new table's `recent_slot` against)."""
        self.svm.set_slot_hashes(hashes)

    # --- transactions -------------------------------------------------------------------------

    def _loaded_addresses(self, ptx: ParsedTx, load: Loader) -> tuple[list[Pubkey], list[Pubkey]]:
        """Resolve a v0 message's lookup tables from the current state (the SVM checks the
        tables' validity itself; an address that cannot be resolved here makes the SVM refuse
        the transaction, so nothing is read back for it)."""
        writable: list[Pubkey] = []
        readonly: list[Pubkey] = []
        msg = ptx.tx.message
        assert isinstance(msg, MessageV0)
        for lk in msg.address_table_lookups:
            table = load(lk.account_key)
            if table is None or table.owner != ADDRESS_LOOKUP_TABLE_ID:
                return [], []
            try:
                addrs = AddressLookupTable.deserialize(table.data).addresses
                writable += [addrs[i] for i in bytes(lk.writable_indexes)]
                readonly += [addrs[i] for i in bytes(lk.readonly_indexes)]
            except (ValueError, IndexError):
                return [], []
        return writable, readonly

    def _keys(self, ptx: ParsedTx, load: Loader) -> tuple[list[Pubkey], list[Pubkey], list[Pubkey]]:
        """(every key: static, then loaded writable, then loaded readonly; loaded writable;
        loaded readonly)."""
        if not ptx.has_lookups:
            return ptx.keys, [], []
        loaded_w, loaded_r = self._loaded_addresses(ptx, load)
        return [*ptx.keys, *loaded_w, *loaded_r], loaded_w, loaded_r

    @staticmethod
    def _outcome(
        meta: TransactionMetadata,
        err: TxErr | None,
        pre: list[Account | None],
        post_balances: list[int],
        loaded: tuple[list[Pubkey], list[Pubkey]],
        *,
        writes: dict[Pubkey, Account | None] | None = None,
    ) -> ExecOutcome:
        """What the SVM reported for a transaction that loaded (its CPIs only if it
        succeeded: a failed transaction's effects, inner instructions included, are void)."""
        return ExecOutcome(
            loaded=True,
            err=err,
            logs=list(meta.logs()),
            compute_units=meta.compute_units_consumed(),
            fee=meta.fee(),
            pre_balances=[a.lamports if a is not None else 0 for a in pre],
            post_balances=post_balances,
            inner_instructions=_inner_raw(meta) if err is None else [],
            return_data=_return_data_json(meta),
            writes=writes or {},
            loaded_writable=loaded[0],
            loaded_readonly=loaded[1],
            loaded_accounts_data_size=sum(len(a.data) for a in pre if a is not None),
            pre_accounts=pre,
        )

    def execute(self, ptx: ParsedTx, load: Loader) -> ExecOutcome:
        """Run one transaction in the SVM, which commits it to its own state if it loads.
        `load` reads the validator's copy of an account (for balances and changes)."""
        all_keys, loaded_w, loaded_r = self._keys(ptx, load)
        pre = [load(k) for k in all_keys]
        payer = ptx.keys[0]
        t0 = perf_counter()
        result = self.svm.send_transaction(ptx.tx)
        self.busy += perf_counter() - t0
        if isinstance(result, FailedTransactionMetadata):
            err = json.loads(result.to_json())["err"]
            payer_after = self.svm.get_balance(payer) or 0
            if payer_after == (pre[0].lamports if pre[0] is not None else 0):
                return dropped(err)  # refused before the fee: nothing happened
            post = [a.lamports if a is not None else 0 for a in pre]
            post[0] = payer_after
            writes = {payer: from_svm(self.svm.get_account(payer))}
            return self._outcome(result.meta(), err, pre, post, (loaded_w, loaded_r), writes=writes)
        assert isinstance(result, TransactionMetadata)
        n_static = len(ptx.keys)
        n_writable = n_static + len(loaded_w)
        writable = ptx.writable
        get = self.svm.get_account
        writes = {}
        post_balances = []
        for i, k in enumerate(all_keys):
            before = pre[i]
            may_write = (writable[i] if i < n_static else i < n_writable) and (
                before is None or before.owner not in RESERVED_OWNERS
            )
            if may_write:
                after = from_svm(get(k))
                if after != before:
                    writes[k] = after
                post_balances.append(after.lamports if after is not None else 0)
            else:
                post_balances.append(before.lamports if before is not None else 0)
        return self._outcome(result, None, pre, post_balances, (loaded_w, loaded_r), writes=writes)

    def revert(self, outcome: ExecOutcome, load: Loader) -> None:
        """Undo what a loaded transaction committed to the SVM (a failed preflight's fee):
        every account it wrote goes back to the validator's copy."""
        for pk in outcome.writes:
            self.svm.set_account(pk, to_svm(load(pk)))

    def fee_for_message(self, msg: Message | MessageV0) -> int:
        """The fee the runtime would charge for `msg` (`getFeeForMessage`): the SVM computes it
        before loading anything, so a simulation of the unsigned message reports it whatever
        the outcome. Compute-budget rules (the unit price, the default unit limit of builtin
        and other instructions) are the SVM's, not a copy of them."""
        n = msg.header.num_required_signatures
        tx = VersionedTransaction.populate(msg, [Signature.default()] * n)
        self.svm.with_sigverify(False)
        try:
            result = self.svm.simulate_transaction(tx)
        finally:
            self.svm.with_sigverify(True)
        meta = result.meta()
        return int(meta.fee())

    def simulate(self, ptx: ParsedTx, load: Loader) -> tuple[ExecOutcome, dict[Pubkey, Account]]:
        """The SVM's simulation: the outcome and the post-state of every account it loaded."""
        all_keys, loaded_w, loaded_r = self._keys(ptx, load)
        pre = [load(k) for k in all_keys]
        balances = [a.lamports if a is not None else 0 for a in pre]
        # simulateTransaction verifies signatures only when asked (the RPC layer does that).
        self.svm.with_sigverify(False)
        try:
            result = self.svm.simulate_transaction(ptx.tx)
        finally:
            self.svm.with_sigverify(True)
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            err = json.loads(result.to_json())["err"]
            if isinstance(err, str) and err in NOT_LOADED:
                return dropped(err), {}
            post = list(balances)
            if post:
                post[0] = max(0, post[0] - meta.fee())
            return self._outcome(meta, err, pre, post, (loaded_w, loaded_r)), {}
        assert isinstance(result, SimulatedTransactionInfo)
        posts: dict[Pubkey, Account] = {}
        for pk, acc in result.post_accounts():
            a = from_svm(acc)
            posts[pk] = a if a is not None else EMPTY_ACCOUNT
        post_balances = [
            posts[k].lamports if k in posts else b for k, b in zip(all_keys, balances, strict=True)
        ]
        outcome = self._outcome(result.meta(), None, pre, post_balances, (loaded_w, loaded_r))
        return outcome, posts
