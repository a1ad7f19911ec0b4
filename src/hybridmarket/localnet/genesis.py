"""A fresh ledger's first slots: keypair files, genesis accounts, funding, the program's deploy,
GlobalConfig.

Key files are Solana CLI keypairs (`solana-keygen` format: a JSON array of 64 integers, as
`Keypair.to_json()` writes) with mode 0600, in the ledger directory:

- `faucet.json`: holds the supply; `requestAirdrop` and the funding below spend from it.
- `admin.json`: the program's admin (signs `initialize_config`).
- `backend-authority.json`: the backend's signing key (approve/finalize/cancel).
- `protocol-fee-wallet.json`: receives the protocol fee.

Slot 0 holds the genesis accounts: the faucet and, when the program is deployed, its program
account, empty and owned by the upgradeable loader (the one step of a deploy that needs the
program id's secret key, which a fixed address derived from a hash has none of; on a real
cluster `hybridmarket deploy` creates it with the program keypair). The builtins and sysvars are
the SVM's own. Slot 1 holds real, signed transactions: the faucet funds the three keys, then
deploys the program binary through `BPFLoaderUpgradeable` (buffer, writes, deploy, with the
admin as upgrade authority), as `solana program deploy` does. Slot 2 holds the admin's
`initialize_config`. They go through the same pipeline as any client's, so an indexer sees
them (and the ConfigInitialized event) like any other transaction.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from hybridmarket.chain.keys import load_or_create_keypair
from hybridmarket.localnet.executor import Account
from hybridmarket.program.runtime import LAMPORTS_PER_SOL, SYSTEM_PROGRAM_ID, rent_exempt_minimum
from hybridmarket.sbf import loader

log = logging.getLogger(__name__)

FAUCET_LAMPORTS = 500_000_000 * LAMPORTS_PER_SOL
KEY_FUNDING_LAMPORTS = 1_000 * LAMPORTS_PER_SOL
FEE_WALLET_FUNDING_LAMPORTS = 1 * LAMPORTS_PER_SOL

FAUCET_FILE = "faucet.json"
ADMIN_FILE = "admin.json"
BACKEND_FILE = "backend-authority.json"
FEE_WALLET_FILE = "protocol-fee-wallet.json"


@dataclass(slots=True)
class GenesisKeys:
    faucet: Keypair
    admin: Keypair
    backend: Keypair
    fee_wallet: Keypair
    paths: dict[str, Path]


def prepare_keys(
    ledger: Path,
    *,
    admin_keypair: Path | None = None,
    backend_keypair: Path | None = None,
) -> GenesisKeys:
    """Load or create the key files (given paths are used as they are, never copied)."""
    paths = {
        "faucet": ledger / FAUCET_FILE,
        "admin": admin_keypair or ledger / ADMIN_FILE,
        "backend_authority": backend_keypair or ledger / BACKEND_FILE,
        "protocol_fee_wallet": ledger / FEE_WALLET_FILE,
    }
    return GenesisKeys(
        faucet=load_or_create_keypair(paths["faucet"]),
        admin=load_or_create_keypair(paths["admin"]),
        backend=load_or_create_keypair(paths["backend_authority"]),
        fee_wallet=load_or_create_keypair(paths["protocol_fee_wallet"]),
        paths=paths,
    )


def genesis_accounts(faucet: Pubkey, program_id: Pubkey | None) -> dict[Pubkey, Account]:
    accounts = {faucet: Account(FAUCET_LAMPORTS, SYSTEM_PROGRAM_ID, b"")}
    if program_id is not None:
        # An Uninitialized upgradeable-loader account of the program's size, rent exempt:
        # what the deploy's `create_account` would leave.
        accounts[program_id] = Account(
            rent_exempt_minimum(loader.PROGRAM_SIZE), loader.LOADER_ID, bytes(loader.PROGRAM_SIZE)
        )
    return accounts


def deploy_transactions(
    keys: GenesisKeys, program_id: Pubkey, elf: bytes, blockhash: Hash
) -> list[VersionedTransaction]:
    """The program's deploy as signed transactions: the faucet pays, the admin is the upgrade
    authority. The program account exists already (`genesis_accounts`), so the final step is
    `DeployWithMaxDataLen` without its `create_account`."""
    buffer = Keypair()
    plan = loader.plan_deploy(
        elf,
        payer=keys.faucet.pubkey(),
        program_id=program_id,
        buffer=buffer.pubkey(),
        authority=keys.admin.pubkey(),
    )
    signers = {k.pubkey(): k for k in (keys.faucet, keys.admin, buffer)}
    txs = []
    last = plan.steps[-1]
    for step in plan.steps:
        ixs = list(step.instructions)
        if step is last:
            ixs = [ix for ix in ixs if ix.program_id == loader.LOADER_ID]
        msg = Message.new_with_blockhash(ixs, keys.faucet.pubkey(), blockhash)
        needed = msg.account_keys[: msg.header.num_required_signatures]
        txs.append(VersionedTransaction(msg, [signers[k] for k in needed]))
    return txs


def load_config_file(path: Path | None) -> dict[str, Any]:
    """ConfigParams overrides from a TOML or JSON file (a flat table of field names)."""
    if path is None:
        return {}
    text = path.read_text()
    if not text.strip():
        return {}
    data: Any = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a table of ConfigParams fields")
    table = data.get("config", data)
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [config] must be a table")
    return dict(table)


def funding_transaction(keys: GenesisKeys, blockhash: Hash) -> VersionedTransaction:
    ixs = [
        transfer(TransferParams(from_pubkey=keys.faucet.pubkey(), to_pubkey=k, lamports=amount))
        for k, amount in (
            (keys.admin.pubkey(), KEY_FUNDING_LAMPORTS),
            (keys.backend.pubkey(), KEY_FUNDING_LAMPORTS),
            (keys.fee_wallet.pubkey(), FEE_WALLET_FUNDING_LAMPORTS),
        )
    ]
    msg = Message.new_with_blockhash(ixs, keys.faucet.pubkey(), blockhash)
    return VersionedTransaction(msg, [keys.faucet])


def config_instruction(
    keys: GenesisKeys, program_id: Pubkey, overrides: dict[str, Any]
) -> Instruction | None:
    """`initialize_config` from the program's builders, or None if the model is not there."""
    try:
        from hybridmarket.program import accounts as program_accounts
        from hybridmarket.program import builders
    except ImportError:
        log.warning("program builders not available: GlobalConfig not initialised")
        return None
    params_cls: Any = program_accounts.ConfigParams
    params = params_cls.default(keys.backend.pubkey(), keys.fee_wallet.pubkey())
    if overrides:
        params = apply_overrides(params, overrides)
    make: Callable[..., Instruction] = builders.initialize_config
    return make(keys.admin.pubkey(), params, program_id)


def apply_overrides(params: Any, overrides: dict[str, Any]) -> Any:
    import dataclasses

    converted: dict[str, Any] = {}
    for name, value in overrides.items():
        current = getattr(params, name)
        converted[name] = Pubkey.from_string(value) if isinstance(current, Pubkey) else value
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        return dataclasses.replace(params, **converted)
    replace = getattr(params, "replace", None)
    if callable(replace):
        return replace(**converted)
    raise TypeError("ConfigParams cannot be overridden")


def config_transaction(
    keys: GenesisKeys, program_id: Pubkey, overrides: dict[str, Any], blockhash: Hash
) -> VersionedTransaction | None:
    ix = config_instruction(keys, program_id, overrides)
    if ix is None:
        return None
    msg = Message.new_with_blockhash([ix], keys.admin.pubkey(), blockhash)
    return VersionedTransaction(msg, [keys.admin])
