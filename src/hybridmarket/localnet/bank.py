"""The validator's ledger in memory: accounts, slots, commitment levels, the status cache.

One `Bank` owns the whole chain state and is only touched from the event loop thread, so there
are no locks. Transactions are executed by Agave's SVM (`SvmExecutor`, which holds the current
state) the moment they arrive, into the open slot (the *processed* state); the bank keeps its
own copy of every account a transaction wrote, for older commitments, `getProgramAccounts` and
persistence. Every `slot_ms` the validator closes the open slot: it is frozen (the next slot
opens and takes transactions at once), written to disk in one SQLite transaction by the
ledger's writer process, and becomes *confirmed* when that write has returned, so what a client
saw as confirmed is on disk; it becomes *finalized* `finalize_depth` slots later.

Reading an account at an older commitment uses per-slot *before-images*: for each slot that is
not yet finalized, the state every account had before the slot first changed it. The state at
slot `s` is the before-image in the first later slot that touched the account, else the current
state. Finalized slots drop their before-images, so memory stays bounded by the depth.

The status cache (signature → slot, error) covers the last 300 slots: enough to reject replays
for as long as their blockhash is valid (150 slots), as Agave's does.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from solders.hash import Hash
from solders.pubkey import Pubkey

from hybridmarket.localnet.executor import (
    Account,
    ExecOutcome,
    ParsedTx,
    SvmExecutor,
    dropped,
    meta_parts,
)
from hybridmarket.localnet.store import LedgerStore, SlotRow, SlotRows, slot_rows

MAX_PROCESSING_AGE = 150
STATUS_CACHE_SLOTS = 300
BLOCKHASH_QUEUE_SLOTS = 300
SLOT_HASHES = 512  # entries of the SlotHashes sysvar (at most what the blockhash queue holds)

PROCESSED = "processed"
CONFIRMED = "confirmed"
FINALIZED = "finalized"


@dataclass(slots=True)
class TxRecord:
    """A transaction that landed in a slot (successful or failed)."""

    ptx: ParsedTx
    sig_bytes: bytes
    slot: int
    index: int
    outcome: ExecOutcome

    @property
    def all_keys(self) -> list[Pubkey]:
        """The static keys, then the addresses loaded from lookup tables."""
        o = self.outcome
        if not o.loaded_writable and not o.loaded_readonly:
            return self.ptx.keys
        return [*self.ptx.keys, *o.loaded_writable, *o.loaded_readonly]


@dataclass(slots=True)
class SlotState:
    slot: int
    parent: int
    blockhash: Hash
    block_time: int
    block_height: int
    txs: list[TxRecord] = field(default_factory=list)
    before: dict[Pubkey, Account | None] = field(default_factory=dict)
    closed: bool = False


@dataclass(slots=True)
class FrozenSlot:
    """A closed slot and its rows for `LedgerStore.commit_slot` (picklable, so that the
    ledger's writer process can take them)."""

    state: SlotState
    rows: SlotRows


class BankListener(Protocol):
    def on_transaction(self, rec: TxRecord) -> None: ...
    def on_new_slot(self, slot: int, parent: int, root: int) -> None: ...
    def on_slot_confirmed(self, st: SlotState) -> None: ...
    def on_slots_finalized(self, slots: list[SlotState]) -> None: ...


def _next_hash(prev: Hash, slot: int) -> Hash:
    return Hash(hashlib.sha256(bytes(prev) + slot.to_bytes(8, "little")).digest())


class Bank:
    def __init__(
        self,
        store: LedgerStore,
        executor: SvmExecutor,
        *,
        finalize_depth: int = 32,
        time_fn: Callable[[], float] = time.time,
    ):
        self.store = store
        self.executor = executor
        self.finalize_depth = max(0, finalize_depth)
        self.time_fn = time_fn
        self.accounts: dict[Pubkey, Account] = {}
        self.owner_index: dict[Pubkey, set[Pubkey]] = {}
        self.slots: dict[int, SlotState] = {}
        self.blockhashes: dict[Hash, int] = {}  # blockhash -> block height
        self.blockhash_order: deque[tuple[int, Hash]] = deque()
        self.status: dict[bytes, tuple[int, Any]] = {}
        self.status_order: deque[tuple[int, list[bytes]]] = deque()
        self.listeners: list[BankListener] = []
        self.clock_offset = 0
        self.genesis_hash = Hash.default()
        self.confirmed_slot = 0
        self.finalized_slot = 0
        self.transaction_count = 0
        self.current: SlotState = SlotState(0, 0, Hash.default(), 0, 0)

    # --- bootstrapping ------------------------------------------------------------------------

    def create_genesis(self, accounts: dict[Pubkey, Account], genesis_hash: Hash) -> None:
        """Slot 0 of a fresh ledger: the genesis accounts, persisted, then slot 1 opened."""
        self.genesis_hash = genesis_hash
        now = self._now()
        st = SlotState(0, 0, genesis_hash, now, 0)
        for pk, acct in accounts.items():
            st.before[pk] = None
            self._put(pk, acct)
            self.executor.set_account(pk, acct)
        self.current = st
        self.executor.set_clock(0, now)
        self.slots[0] = st
        self._remember_blockhash(0, genesis_hash)
        self.store.set_meta("genesis_hash", str(genesis_hash))
        self.close_slot()

    def load(self) -> None:
        """Rebuild memory and the SVM's state from the store after a restart: persisted slots
        become finalized."""
        restored = list(self.store.load_accounts())
        for pk, acct in restored:
            self._put(pk, acct)
        self.executor.restore(restored)
        self.genesis_hash = Hash.from_string(self.store.get_meta("genesis_hash") or "")
        self.clock_offset = int(self.store.get_meta("clock_offset") or 0)
        rows = self.store.load_recent_slots(BLOCKHASH_QUEUE_SLOTS)
        for row in rows:
            self._remember_blockhash(row.block_height, row.blockhash)
        last = rows[-1]
        for sig, slot, err in self.store.load_statuses_since(last.slot - STATUS_CACHE_SLOTS):
            self.status[sig] = (slot, err)
            if not self.status_order or self.status_order[-1][0] != slot:
                self.status_order.append((slot, []))
            self.status_order[-1][1].append(sig)
        self.transaction_count = self.store.transaction_count()
        prev = SlotState(
            last.slot, last.parent, last.blockhash, last.block_time, last.block_height, closed=True
        )
        self.slots = {last.slot: prev}
        self.confirmed_slot = self.finalized_slot = last.slot
        self._open_slot(prev)

    # --- time ---------------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self.time_fn()) + self.clock_offset

    def advance_clock(self, seconds: int) -> int:
        """Move unix time forward (test control); the open slot's clock moves too."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.clock_offset += seconds
        self.current.block_time = max(self.current.block_time, self._now())
        self.executor.set_clock(self.current.slot, self.current.block_time)
        return self.current.block_time

    # --- accounts -----------------------------------------------------------------------------

    def _put(self, pk: Pubkey, acct: Account | None) -> None:
        old = self.accounts.get(pk)
        if old is not None and (acct is None or acct.lamports == 0 or old.owner != acct.owner):
            owned = self.owner_index.get(old.owner)
            if owned is not None:
                owned.discard(pk)
        if acct is None or acct.lamports == 0:
            self.accounts.pop(pk, None)
            return
        self.accounts[pk] = acct
        if old is None or old.owner != acct.owner:
            self.owner_index.setdefault(acct.owner, set()).add(pk)

    def slot_for(self, commitment: str) -> int:
        if commitment == PROCESSED:
            return self.current.slot
        if commitment == CONFIRMED:
            return self.confirmed_slot
        return self.finalized_slot

    def account(self, pk: Pubkey) -> Account | None:
        """The processed state: the bank's copy, else the SVM's own (builtins, sysvars)."""
        acct = self.accounts.get(pk)
        if acct is None:
            return self.executor.account(pk)
        return acct

    def account_at(self, pk: Pubkey, slot: int) -> Account | None:
        cur = self.current.slot
        if slot < cur:
            slots = self.slots
            for s in range(slot + 1, cur + 1):
                st = slots.get(s)
                if st is not None and pk in st.before:
                    return st.before[pk]
        return self.account(pk)

    def program_accounts_at(self, owner: Pubkey, slot: int) -> list[tuple[Pubkey, Account]]:
        candidates = set(self.owner_index.get(owner, ()))
        for s in range(slot + 1, self.current.slot + 1):
            st = self.slots.get(s)
            if st is not None:
                candidates.update(st.before)
        out = []
        for pk in candidates:
            acct = self.account_at(pk, slot)
            if acct is not None and acct.owner == owner:
                out.append((pk, acct))
        out.sort(key=lambda item: bytes(item[0]))
        return out

    # --- blockhashes --------------------------------------------------------------------------

    def _remember_blockhash(self, height: int, h: Hash) -> None:
        self.blockhashes[h] = height
        self.blockhash_order.append((height, h))
        while len(self.blockhash_order) > BLOCKHASH_QUEUE_SLOTS:
            _, old = self.blockhash_order.popleft()
            self.blockhashes.pop(old, None)

    def blockhash_valid(self, h: Hash, at_height: int | None = None) -> bool:
        height = self.blockhashes.get(h)
        if height is None:
            return False
        now = self.current.block_height if at_height is None else at_height
        return now - height <= MAX_PROCESSING_AGE and height <= now

    def latest_blockhash(self, commitment: str) -> tuple[Hash, int]:
        slot = self.slot_for(commitment)
        st = self.slots.get(slot) or self.current
        return st.blockhash, st.block_height + MAX_PROCESSING_AGE

    def block_height_for(self, commitment: str) -> int:
        slot = self.slot_for(commitment)
        st = self.slots.get(slot)
        return st.block_height if st is not None else slot

    # --- transactions -------------------------------------------------------------------------

    def check(self, ptx: ParsedTx, *, check_status: bool = True) -> ExecOutcome | None:
        """Status cache and blockhash checks; an unloaded outcome if the tx must be dropped."""
        if check_status and bytes(ptx.signature) in self.status:
            return dropped("AlreadyProcessed")
        if not self.blockhash_valid(ptx.blockhash):
            return dropped("BlockhashNotFound")
        return None

    def simulate(
        self, ptx: ParsedTx, *, check_blockhash: bool = True
    ) -> tuple[ExecOutcome, dict[Pubkey, Account]]:
        """The SVM's simulation against the processed state: the outcome and the post-state
        of the accounts it loaded. Nothing is committed."""
        if check_blockhash and not self.blockhash_valid(ptx.blockhash):
            return dropped("BlockhashNotFound"), {}
        return self.executor.simulate(ptx, self.account)

    def process(self, ptx: ParsedTx) -> tuple[ExecOutcome, TxRecord | None]:
        """Check, execute and (if it loaded) commit one transaction into the open slot."""
        refused = self.check(ptx)
        if refused is not None:
            return refused, None
        outcome = self.executor.execute(ptx, self.account)
        if not outcome.loaded:
            return outcome, None
        return outcome, self._record(ptx, outcome)

    def preflight(self, ptx: ParsedTx) -> tuple[ExecOutcome, TxRecord | None]:
        """`sendTransaction` with preflight: executed once; committed only if it succeeded.
        A failure is reported to the sender and leaves nothing behind (its fee is undone in
        the SVM), as a preflight simulation that fails keeps the transaction from the leader.
        """
        refused = self.check(ptx)
        if refused is not None:
            return refused, None
        outcome = self.executor.execute(ptx, self.account)
        if outcome.err is not None:
            if outcome.loaded:
                self.executor.revert(outcome, self.account)
            return outcome, None
        return outcome, self._record(ptx, outcome)

    def _record(self, ptx: ParsedTx, outcome: ExecOutcome) -> TxRecord:
        """Record a transaction the SVM has committed: before-images, the bank's copy of the
        accounts it wrote, the status cache, listeners."""
        st = self.current
        before = st.before
        accounts = self.accounts
        for pk, acct in outcome.writes.items():
            if pk not in before:
                before[pk] = accounts.get(pk)
            self._put(pk, acct)
        sig = bytes(ptx.signature)
        rec = TxRecord(ptx, sig, st.slot, len(st.txs), outcome)
        st.txs.append(rec)
        self.status[sig] = (st.slot, outcome.err)
        order = self.status_order
        if not order or order[-1][0] != st.slot:
            order.append((st.slot, []))
        order[-1][1].append(sig)
        self.transaction_count += 1
        for listener in self.listeners:
            listener.on_transaction(rec)
        return rec

    def get_status(self, sig: bytes) -> tuple[int, Any] | None:
        return self.status.get(sig)

    # --- slots --------------------------------------------------------------------------------

    def close_slot(self) -> None:
        """Freeze the open slot, persist it here, mark it confirmed, advance finalized (the
        next slot is open from the freeze on). The slot clock does the same with the write in
        the ledger's writer process."""
        frozen = self.freeze_slot()
        self.store.commit_slot(*frozen.rows)
        self.confirm_slot(frozen)

    def freeze_slot(self) -> FrozenSlot:
        """Close the open slot to new transactions, gather what must go to disk and open the
        next slot, so that transactions keep landing while the frozen one is written."""
        st = self.current
        st.closed = True
        # Only what the transactions are made of: their JSON and address rows are the
        # writer's work (`LedgerStore.commit_slot`).
        tx_rows = [
            (
                rec.sig_bytes,
                st.slot,
                rec.index,
                rec.ptx.raw,
                rec.ptx.version,
                meta_parts(rec.outcome),
            )
            for rec in st.txs
        ]
        accounts = self.accounts
        row = SlotRow(st.slot, st.parent, st.blockhash, st.block_time, st.block_height, len(st.txs))
        rows = slot_rows(
            row,
            [(pk, accounts.get(pk)) for pk in st.before],
            tx_rows,
            {"clock_offset": str(self.clock_offset)},
        )
        frozen = FrozenSlot(st, rows)
        self._open_slot(st)
        return frozen

    def confirm_slot(self, frozen: FrozenSlot) -> None:
        """A persisted slot becomes confirmed; finalized follows `finalize_depth` behind."""
        st = frozen.state
        self.confirmed_slot = st.slot
        for listener in self.listeners:
            listener.on_slot_confirmed(st)
        new_final = max(self.finalized_slot, st.slot - self.finalize_depth)
        if new_final > self.finalized_slot or st.slot == 0:
            newly = [
                self.slots[s]
                for s in range(self.finalized_slot + 1, new_final + 1)
                if s in self.slots
            ]
            self.finalized_slot = new_final
            if newly:
                for listener in self.listeners:
                    listener.on_slots_finalized(newly)
            for s in [s for s in self.slots if s < new_final]:
                del self.slots[s]
            fin = self.slots.get(new_final)
            if fin is not None:
                fin.before = {}
                fin.txs = []

    def _open_slot(self, prev: SlotState) -> None:
        slot = prev.slot + 1
        h = _next_hash(prev.blockhash, slot)
        st = SlotState(slot, prev.slot, h, max(prev.block_time, self._now()), prev.block_height + 1)
        self.slots[slot] = st
        self.current = st
        self.executor.set_clock(slot, st.block_time)
        self._remember_blockhash(st.block_height, h)
        # Every slot has a block here, so a block's height is its slot; the open one is not in.
        self.executor.set_slot_hashes(list(reversed(self.blockhash_order))[1 : SLOT_HASHES + 1])
        while self.status_order and self.status_order[0][0] < slot - STATUS_CACHE_SLOTS:
            _, sigs = self.status_order.popleft()
            for sig in sigs:
                self.status.pop(sig, None)
        for listener in self.listeners:
            listener.on_new_slot(slot, prev.slot, self.finalized_slot)

    def block_time(self, slot: int) -> int | None:
        st = self.slots.get(slot)
        if st is not None:
            return st.block_time if st.closed else None
        return self.store.block_time(slot)
