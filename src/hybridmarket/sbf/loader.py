"""Instructions of Solana's upgradeable BPF loader (loader-v3), and a plan for a whole deploy.

Pure: addresses, sizes and instruction bytes only, nothing is signed or sent. The encoding is
bincode as Agave decodes it (`solana-loader-v3-interface`): a u32 little-endian variant index,
then the fields (`u32`/`u64` little-endian, `Vec<u8>` as a u64 length and the bytes). The
optional trailing booleans newer runtimes accept (`close_buffer`, `tombstone`) are left out, so
every runtime applies its default (close the buffer; do not tombstone).

A deploy is what `solana program deploy` does: a buffer account owned by the loader is created
and initialized, the ELF is written into it in chunks that each fit one packet, then a program
account is created and `DeployWithMaxDataLen` moves the bytes into the program-data account (a
PDA of the program id under the loader) and marks the program executable. The program can be
invoked from the next slot on. `plan_deploy` returns those transactions in order, with the
keys each must be signed by.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT

from hybridmarket.program.runtime import SYSTEM_PROGRAM_ID, rent_exempt_minimum

LOADER_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")

# UpgradeableLoaderState (bincode: u32 variant, then the fields):
#   Uninitialized                                   4 bytes
#   Buffer { authority: Option<Pubkey> }            4 + 1 + 32 = 37, then the program bytes
#   Program { programdata_address: Pubkey }         4 + 32 = 36
#   ProgramData { slot: u64, authority: Option }    4 + 8 + 1 + 32 = 45, then the ELF
BUFFER_METADATA_SIZE = 37
PROGRAM_SIZE = 36
PROGRAMDATA_METADATA_SIZE = 45

PACKET_DATA_SIZE = 1232  # the largest serialized transaction a validator accepts
MAX_WRITE_CHUNK = 900  # what the Solana CLI's deploy writes per transaction, at most
MAX_PERMITTED_DATA_LENGTH = 10 * 1024 * 1024

INITIALIZE_BUFFER = 0
WRITE = 1
DEPLOY_WITH_MAX_DATA_LEN = 2
UPGRADE = 3
SET_AUTHORITY = 4
CLOSE = 5
EXTEND_PROGRAM = 6
SET_AUTHORITY_CHECKED = 7

_UNINITIALIZED, _BUFFER, _PROGRAM, _PROGRAMDATA = 0, 1, 2, 3


def buffer_size(program_len: int) -> int:
    """The data length of a buffer account that holds a program of `program_len` bytes."""
    return BUFFER_METADATA_SIZE + program_len


def programdata_size(max_data_len: int) -> int:
    """The data length of a program-data account that can hold up to `max_data_len` bytes."""
    return PROGRAMDATA_METADATA_SIZE + max_data_len


def programdata_address(program_id: Pubkey) -> Pubkey:
    """The program-data account of `program_id`: the PDA of seeds `[program_id]` under the
    loader."""
    return Pubkey.find_program_address([bytes(program_id)], LOADER_ID)[0]


def _ix(tag: int, fields: bytes, metas: Sequence[AccountMeta]) -> Instruction:
    return Instruction(LOADER_ID, struct.pack("<I", tag) + fields, list(metas))


def initialize_buffer(buffer: Pubkey, authority: Pubkey | None) -> Instruction:
    """InitializeBuffer: mark a loader-owned account as a buffer writable by `authority` (None:
    immutable). No signer is needed, so send it in the transaction that creates the account."""
    metas = [AccountMeta(buffer, is_signer=False, is_writable=True)]
    if authority is not None:
        metas.append(AccountMeta(authority, is_signer=False, is_writable=False))
    return _ix(INITIALIZE_BUFFER, b"", metas)


def write(buffer: Pubkey, authority: Pubkey, offset: int, data: bytes) -> Instruction:
    """Write `data` at `offset` of the program bytes held in a buffer (signed by its authority)."""
    if not 0 <= offset <= 0xFFFF_FFFF:
        raise ValueError(f"offset {offset} does not fit a u32")
    fields = struct.pack("<IQ", offset, len(data)) + bytes(data)
    return _ix(
        WRITE,
        fields,
        [
            AccountMeta(buffer, is_signer=False, is_writable=True),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


def deploy_with_max_data_len(
    payer: Pubkey, program_id: Pubkey, buffer: Pubkey, authority: Pubkey, max_data_len: int
) -> Instruction:
    """DeployWithMaxDataLen: create the program-data account (paid by `payer`), copy the buffer
    into it, drain the buffer to `payer` and make `program_id` executable.

    The program account must already exist, owned by the loader, `PROGRAM_SIZE` bytes, rent
    exempt and uninitialized (create it in the same transaction: nothing else protects it), and
    the buffer's authority must be `authority`, which signs and becomes the upgrade authority.
    """
    if max_data_len < 0 or programdata_size(max_data_len) > MAX_PERMITTED_DATA_LENGTH:
        raise ValueError(f"max_data_len {max_data_len} is outside what an account can hold")
    return _ix(
        DEPLOY_WITH_MAX_DATA_LEN,
        struct.pack("<Q", max_data_len),
        [
            AccountMeta(payer, is_signer=True, is_writable=True),
            AccountMeta(programdata_address(program_id), is_signer=False, is_writable=True),
            AccountMeta(program_id, is_signer=False, is_writable=True),
            AccountMeta(buffer, is_signer=False, is_writable=True),
            AccountMeta(RENT, is_signer=False, is_writable=False),
            AccountMeta(CLOCK, is_signer=False, is_writable=False),
            AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


def upgrade(program_id: Pubkey, buffer: Pubkey, authority: Pubkey, spill: Pubkey) -> Instruction:
    """Upgrade: replace the program's bytes with the buffer's; the buffer's lamports beyond what
    the program-data account needs go to `spill`."""
    return _ix(
        UPGRADE,
        b"",
        [
            AccountMeta(programdata_address(program_id), is_signer=False, is_writable=True),
            AccountMeta(program_id, is_signer=False, is_writable=True),
            AccountMeta(buffer, is_signer=False, is_writable=True),
            AccountMeta(spill, is_signer=False, is_writable=True),
            AccountMeta(RENT, is_signer=False, is_writable=False),
            AccountMeta(CLOCK, is_signer=False, is_writable=False),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


def set_buffer_authority(buffer: Pubkey, authority: Pubkey, new_authority: Pubkey) -> Instruction:
    """SetAuthority on a buffer (a buffer cannot be made immutable this way)."""
    return _ix(
        SET_AUTHORITY,
        b"",
        [
            AccountMeta(buffer, is_signer=False, is_writable=True),
            AccountMeta(authority, is_signer=True, is_writable=False),
            AccountMeta(new_authority, is_signer=False, is_writable=False),
        ],
    )


def set_upgrade_authority(
    program_id: Pubkey, authority: Pubkey, new_authority: Pubkey | None
) -> Instruction:
    """SetAuthority on a program: a new upgrade authority, or None to make it immutable."""
    metas = [
        AccountMeta(programdata_address(program_id), is_signer=False, is_writable=True),
        AccountMeta(authority, is_signer=True, is_writable=False),
    ]
    if new_authority is not None:
        metas.append(AccountMeta(new_authority, is_signer=False, is_writable=False))
    return _ix(SET_AUTHORITY, b"", metas)


def close_buffer(buffer: Pubkey, recipient: Pubkey, authority: Pubkey) -> Instruction:
    """Close: give a buffer's lamports to `recipient` (e.g. after a failed deploy)."""
    return _ix(
        CLOSE,
        b"",
        [
            AccountMeta(buffer, is_signer=False, is_writable=True),
            AccountMeta(recipient, is_signer=False, is_writable=True),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


def close_program(program_id: Pubkey, recipient: Pubkey, authority: Pubkey) -> Instruction:
    """Close: remove a program (its program-data account's lamports go to `recipient`)."""
    return _ix(
        CLOSE,
        b"",
        [
            AccountMeta(programdata_address(program_id), is_signer=False, is_writable=True),
            AccountMeta(recipient, is_signer=False, is_writable=True),
            AccountMeta(authority, is_signer=True, is_writable=False),
            AccountMeta(program_id, is_signer=False, is_writable=True),
        ],
    )


def extend_program(program_id: Pubkey, payer: Pubkey | None, additional_bytes: int) -> Instruction:
    """ExtendProgram: grow the program-data account; `payer` funds the extra rent (None: the
    account already holds enough)."""
    metas = [
        AccountMeta(programdata_address(program_id), is_signer=False, is_writable=True),
        AccountMeta(program_id, is_signer=False, is_writable=True),
    ]
    if payer is not None:
        metas.append(AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False))
        metas.append(AccountMeta(payer, is_signer=True, is_writable=True))
    return _ix(EXTEND_PROGRAM, struct.pack("<I", additional_bytes), metas)


def create_buffer(
    payer: Pubkey, buffer: Pubkey, authority: Pubkey, lamports: int, program_len: int
) -> list[Instruction]:
    """The system `create_account` of a buffer for `program_len` bytes, then InitializeBuffer
    (signed by `payer` and the buffer's own key)."""
    return [
        create_account(
            CreateAccountParams(
                from_pubkey=payer,
                to_pubkey=buffer,
                lamports=lamports,
                space=buffer_size(program_len),
                owner=LOADER_ID,
            )
        ),
        initialize_buffer(buffer, authority),
    ]


# ---- account states ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BufferState:
    authority: Pubkey | None
    program: bytes  # everything after the metadata (what was written, zero padded)


@dataclass(frozen=True, slots=True)
class ProgramState:
    programdata_address: Pubkey


@dataclass(frozen=True, slots=True)
class ProgramDataState:
    slot: int  # the slot of the last deploy or upgrade
    upgrade_authority: Pubkey | None
    elf: bytes  # everything after the metadata (the ELF, then zero padding to max_data_len)


LoaderState = BufferState | ProgramState | ProgramDataState | None


def _option_pubkey(data: bytes, at: int) -> Pubkey | None:
    if data[at] == 0:
        return None
    if data[at] != 1:
        raise ValueError(f"invalid Option tag {data[at]}")
    return Pubkey.from_bytes(data[at + 1 : at + 33])


def decode_state(data: bytes) -> LoaderState:
    """Decode a loader-owned account's data (None for an uninitialized account)."""
    if len(data) < 4:
        raise ValueError("account data too short for an UpgradeableLoaderState")
    (tag,) = struct.unpack_from("<I", data)
    if tag == _UNINITIALIZED:
        return None
    if tag == _BUFFER and len(data) >= 5:
        authority = _option_pubkey(data, 4)
        return BufferState(authority, bytes(data[BUFFER_METADATA_SIZE:]))
    if tag == _PROGRAM and len(data) >= PROGRAM_SIZE:
        return ProgramState(Pubkey.from_bytes(data[4:36]))
    if tag == _PROGRAMDATA and len(data) >= 13:
        (slot,) = struct.unpack_from("<Q", data, 4)
        authority = _option_pubkey(data, 12)
        return ProgramDataState(slot, authority, bytes(data[PROGRAMDATA_METADATA_SIZE:]))
    raise ValueError(f"not an UpgradeableLoaderState (tag {tag}, {len(data)} bytes)")


# ---- a whole deploy ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeployStep:
    """One transaction of a deploy: its instructions and the keys that must sign it (the payer
    first: it pays the fee)."""

    label: str
    instructions: tuple[Instruction, ...]
    signers: tuple[Pubkey, ...]


@dataclass(frozen=True, slots=True)
class DeployPlan:
    program_id: Pubkey
    programdata: Pubkey
    buffer: Pubkey
    payer: Pubkey
    authority: Pubkey
    max_data_len: int
    chunk_size: int
    steps: tuple[DeployStep, ...]
    buffer_lamports: int  # held by the buffer while writing; drained back to the payer at deploy
    program_lamports: int  # the program account's rent
    programdata_lamports: int  # the program-data account's rent, paid by the payer at deploy

    @property
    def payer_lamports(self) -> int:
        """The most the payer must hold at once, fees aside: the buffer while writing, or the
        program and program-data accounts at deploy (when the buffer's lamports are back)."""
        return max(
            self.buffer_lamports,
            self.buffer_lamports + self.program_lamports,
            self.program_lamports + self.programdata_lamports,
        )


def _signers(payer: Pubkey, ixs: Sequence[Instruction]) -> tuple[Pubkey, ...]:
    out = [payer]
    for ix in ixs:
        for meta in ix.accounts:
            if meta.is_signer and meta.pubkey not in out:
                out.append(meta.pubkey)
    return tuple(out)


def transaction_size(payer: Pubkey, instructions: Sequence[Instruction]) -> int:
    """The serialized size of a legacy transaction of these instructions paid by `payer`,
    signatures included."""
    msg = Message.new_with_blockhash(list(instructions), payer, Hash.default())
    n = msg.header.num_required_signatures
    return _compact_len(n) + 64 * n + len(bytes(msg))


def _compact_len(n: int) -> int:
    return 1 if n < 0x80 else 2 if n < 0x4000 else 3


def write_chunk_size(payer: Pubkey, buffer: Pubkey, authority: Pubkey) -> int:
    """The most program bytes one Write transaction can carry (at most `MAX_WRITE_CHUNK`)."""
    empty = transaction_size(payer, [write(buffer, authority, 0, b"")])
    # The instruction data's compact length grows by a byte once it passes 127 bytes.
    room = PACKET_DATA_SIZE - empty - 1
    if room <= 0:
        raise ValueError("a Write instruction does not fit a packet")
    return min(MAX_WRITE_CHUNK, room)


def plan_deploy(
    elf: bytes,
    *,
    payer: Pubkey,
    program_id: Pubkey,
    buffer: Pubkey,
    authority: Pubkey | None = None,
    max_data_len: int | None = None,
    chunk_size: int | None = None,
    minimum_balance: Callable[[int], int] = rent_exempt_minimum,
) -> DeployPlan:
    """Every transaction of a deploy of `elf` at `program_id`, in the order they must land.

    `program_id` and `buffer` are fresh keypairs' public keys (each signs its account's
    creation); `authority` (default: the payer) becomes the buffer's and the program's upgrade
    authority; `max_data_len` (default: twice the ELF) bounds future upgrades. `minimum_balance`
    is the cluster's rent-exemption function (Agave's default rent unless given). The write
    transactions may be sent concurrently once the first step has landed; the last step must
    come after all of them.
    """
    if not elf:
        raise ValueError("empty program")
    auth = payer if authority is None else authority
    max_len = 2 * len(elf) if max_data_len is None else max_data_len
    if max_len < len(elf):
        raise ValueError(f"max_data_len {max_len} is smaller than the program ({len(elf)} bytes)")
    chunk = write_chunk_size(payer, buffer, auth) if chunk_size is None else chunk_size
    if not 0 < chunk <= write_chunk_size(payer, buffer, auth):
        raise ValueError(f"chunk size {chunk} does not fit a packet")
    buffer_lamports = minimum_balance(buffer_size(len(elf)))
    program_lamports = minimum_balance(PROGRAM_SIZE)
    steps: list[DeployStep] = []
    create = create_buffer(payer, buffer, auth, buffer_lamports, len(elf))
    steps.append(DeployStep("create buffer", tuple(create), _signers(payer, create)))
    for offset in range(0, len(elf), chunk):
        ixs = [write(buffer, auth, offset, elf[offset : offset + chunk])]
        steps.append(DeployStep(f"write {offset}", tuple(ixs), _signers(payer, ixs)))
    deploy = [
        create_account(
            CreateAccountParams(
                from_pubkey=payer,
                to_pubkey=program_id,
                lamports=program_lamports,
                space=PROGRAM_SIZE,
                owner=LOADER_ID,
            )
        ),
        deploy_with_max_data_len(payer, program_id, buffer, auth, max_len),
    ]
    steps.append(DeployStep("deploy", tuple(deploy), _signers(payer, deploy)))
    for step in steps:
        size = transaction_size(payer, step.instructions)
        if size > PACKET_DATA_SIZE:
            raise ValueError(f"{step.label}: {size} bytes do not fit a {PACKET_DATA_SIZE} packet")
    return DeployPlan(
        program_id=program_id,
        programdata=programdata_address(program_id),
        buffer=buffer,
        payer=payer,
        authority=auth,
        max_data_len=max_len,
        chunk_size=chunk,
        steps=tuple(steps),
        buffer_lamports=buffer_lamports,
        program_lamports=program_lamports,
        programdata_lamports=max(1, minimum_balance(programdata_size(max_len))),
    )


__all__ = [
    "BUFFER_METADATA_SIZE",
    "LOADER_ID",
    "MAX_WRITE_CHUNK",
    "PACKET_DATA_SIZE",
    "PROGRAMDATA_METADATA_SIZE",
    "PROGRAM_SIZE",
    "BufferState",
    "DeployPlan",
    "DeployStep",
    "LoaderState",
    "ProgramDataState",
    "ProgramState",
    "buffer_size",
    "close_buffer",
    "close_program",
    "create_buffer",
    "decode_state",
    "deploy_with_max_data_len",
    "extend_program",
    "initialize_buffer",
    "plan_deploy",
    "programdata_address",
    "programdata_size",
    "set_buffer_authority",
    "set_upgrade_authority",
    "transaction_size",
    "upgrade",
    "write",
    "write_chunk_size",
]
