"""The boundary between a Solana runtime (the local validator) and the program model.

The validator hands the processor the instruction's accounts as `AccountInfo`s and the clock;
the processor hands back the accounts' new states, the log lines a validator prints for the
instruction (from `Program <id> invoke [1]` to `success`/`failed: …`), the compute units, and
the error if any. Pure data: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from solders.pubkey import Pubkey

SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")

# Rent (Agave defaults): 3480 lamports per byte-year, two years for exemption, and 128 bytes of
# account overhead. rent_exempt_minimum(0) == 890_880, as `getMinimumBalanceForRentExemption 0`.
LAMPORTS_PER_BYTE_YEAR = 3480
EXEMPTION_THRESHOLD_YEARS = 2
ACCOUNT_STORAGE_OVERHEAD = 128
MAX_PERMITTED_DATA_LENGTH = 10 * 1024 * 1024

LAMPORTS_PER_SOL = 1_000_000_000
DEFAULT_COMPUTE_BUDGET = 200_000


def rent_exempt_minimum(data_len: int) -> int:
    """The lamports an account of `data_len` bytes must hold to be rent exempt."""
    if not 0 <= data_len <= MAX_PERMITTED_DATA_LENGTH:
        raise ValueError(f"data length {data_len} is outside 0..{MAX_PERMITTED_DATA_LENGTH}")
    return (
        (ACCOUNT_STORAGE_OVERHEAD + data_len) * LAMPORTS_PER_BYTE_YEAR * EXEMPTION_THRESHOLD_YEARS
    )


@dataclass(frozen=True, slots=True)
class Clock:
    """The Clock sysvar fields the program reads."""

    slot: int
    unix_timestamp: int


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """One account as an instruction sees it (before) or leaves it (after)."""

    key: Pubkey
    lamports: int
    owner: Pubkey
    data: bytes
    is_signer: bool = False
    is_writable: bool = False
    executable: bool = False

    def with_state(
        self, *, lamports: int | None = None, owner: Pubkey | None = None, data: bytes | None = None
    ) -> AccountInfo:
        return replace(
            self,
            lamports=self.lamports if lamports is None else lamports,
            owner=self.owner if owner is None else owner,
            data=self.data if data is None else data,
        )


@dataclass(frozen=True, slots=True)
class InstructionError:
    """An instruction's failure as the runtime reports it.

    `custom` is set for `{"Custom": n}` errors (Anchor's and the program's codes, and the system
    program's); otherwise `builtin` names a runtime `InstructionError` variant such as
    `"MissingRequiredSignature"` or `"InvalidInstructionData"`.
    """

    custom: int | None = None
    builtin: str | None = None
    name: str = ""
    message: str = ""

    def to_json(self) -> Any:
        """The inner part of `{"InstructionError": [index, <this>]}`."""
        if self.custom is not None:
            return {"Custom": self.custom}
        return self.builtin


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """What the processor returns for one top-level instruction.

    On success `accounts` holds every account's state after the instruction, in the order they
    were passed. On failure `accounts` equals the input (an instruction applies fully or not at
    all) and `error` says why. `logs` are complete either way.
    """

    accounts: tuple[AccountInfo, ...]
    logs: tuple[str, ...]
    compute_units: int
    error: InstructionError | None = None
    events: tuple[Any, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.error is None
