"""Solana JSON-RPC methods over the bank: request parsing, response shapes, error codes.

Shapes follow Agave's RPC (see shared/SOLANA.md §2): `{"context": {"slot", "apiVersion"},
"value": …}` wrappers where Agave has them, explicit `null` config fields treated as absent,
`id` echoed as sent (0 included), batches answered as arrays. `handle_payload` takes the parsed
JSON body and returns the JSON-ready response; the HTTP server does the bytes.

Everything here runs synchronously on the event loop: a `sendTransaction` is executed by the
SVM and committed to the open slot before its response is written, which is also why
preflight needs no separate simulation (see `Bank.preflight`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

import base58
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message, MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from hybridmarket.codec.base58 import encode as b58encode
from hybridmarket.localnet import errors as errs
from hybridmarket.localnet.bank import CONFIRMED, FINALIZED, PROCESSED, Bank
from hybridmarket.localnet.errors import RpcError, invalid_params
from hybridmarket.localnet.executor import (
    PACKET_DATA_SIZE,
    Account,
    ExecOutcome,
    ParsedTx,
    TransactionParseError,
    inner_instructions_json,
    parse_wire,
)
from hybridmarket.localnet.faults import Faults
from hybridmarket.localnet.parsed import (
    all_account_keys,
    parse_account_data,
    parsed_meta,
    parsed_transaction,
)
from hybridmarket.program.runtime import rent_exempt_minimum

if TYPE_CHECKING:
    from hybridmarket.localnet.validator import LocalValidator

log = logging.getLogger(__name__)

API_VERSION = "2.2.16"
FEATURE_SET = 3294202862
U64_MAX = 18446744073709551615
SLOTS_PER_EPOCH = 432_000
MAX_MULTIPLE_ACCOUNTS = 100
MAX_SIGNATURE_STATUSES = 256
MAX_GET_SIGNATURES_LIMIT = 1000
MAX_PROGRAM_ACCOUNT_FILTERS = 4
MAX_BASE58_ACCOUNT_BYTES = 128
MAX_BASE58_TX_SIZE = 1683
MAX_BASE64_TX_SIZE = 1644
TEST_CONTROL_PREFIX = "hybridmarket_"

_COMMITMENTS = {
    "processed": PROCESSED,
    "recent": PROCESSED,
    "confirmed": CONFIRMED,
    "single": CONFIRMED,
    "singleGossip": CONFIRMED,
    "finalized": FINALIZED,
    "root": FINALIZED,
    "max": FINALIZED,
}


# --- parameter helpers ---------------------------------------------------------------------


def _params(params: Any) -> list[Any]:
    if params is None:
        return []
    if isinstance(params, list):
        return params
    raise invalid_params("Invalid params: invalid type: map, expected a sequence.")


def _arg(params: list[Any], i: int) -> Any:
    return params[i] if i < len(params) else None


def _config(params: list[Any], i: int) -> dict[str, Any]:
    value = _arg(params, i)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_params("Invalid params: invalid type: expected a config object.")
    return {k: v for k, v in value.items() if v is not None}


def _required(params: list[Any], i: int, what: str) -> Any:
    value = _arg(params, i)
    if value is None:
        raise invalid_params(f"Invalid params: missing field `{what}`.")
    return value


def commitment_of(cfg: dict[str, Any]) -> str:
    raw = cfg.get("commitment")
    if raw is None:
        return FINALIZED
    try:
        return _COMMITMENTS[raw]
    except (KeyError, TypeError):
        raise invalid_params(
            f"Invalid params: unknown variant `{raw}`, expected one of `processed`, "
            "`confirmed`, `finalized`."
        ) from None


def _b58_bytes(value: Any, size: int) -> bytes:
    """Decode a base58 parameter of exactly `size` bytes, with Agave's error messages."""
    if not isinstance(value, str):
        raise invalid_params("Invalid param: Invalid")
    # Valid keys and signatures decode in solders (Rust); only a bad one takes the slow path,
    # which tells an invalid string from one of the wrong size.
    if size == 32 and 32 <= len(value) <= 44:
        with contextlib.suppress(ValueError):
            return bytes(Pubkey.from_string(value))
    elif size == 64 and 64 <= len(value) <= 88:
        with contextlib.suppress(ValueError):
            return bytes(Signature.from_string(value))
    try:
        raw = base58.b58decode(value)
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None
    if len(raw) != size:
        raise invalid_params("Invalid param: WrongSize")
    return raw


def parse_pubkey(value: Any) -> Pubkey:
    return Pubkey.from_bytes(_b58_bytes(value, 32))


def parse_signature(value: Any) -> Signature:
    return Signature.from_bytes(_b58_bytes(value, 64))


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid_params(f"Invalid params: invalid type for `{what}`, expected u64.")
    return value


def encode_account(
    acct: Account, encoding: str | None, data_slice: dict[str, Any] | None
) -> dict[str, Any]:
    data = acct.data
    if data_slice:
        off = int(data_slice.get("offset") or 0)
        length = int(data_slice.get("length") or 0)
        data = data[off : off + length]
    enc = encoding or "binary"
    # jsonParsed parses the whole data; the slice applies only to its base64 fallback.
    parsed = parse_account_data(acct.owner, acct.data) if enc == "jsonParsed" else None
    encoded: Any
    if parsed is not None:
        encoded = parsed
    elif enc in ("base64", "jsonParsed"):
        encoded = [base64.b64encode(data).decode(), "base64"]
    elif enc in ("base58", "binary"):
        if len(data) > MAX_BASE58_ACCOUNT_BYTES:
            raise invalid_params(
                "Encoded binary (base 58) data should be less than 128 bytes, please use "
                "Base64 encoding."
            )
        b58 = b58encode(data)
        encoded = b58 if enc == "binary" else [b58, "base58"]
    elif enc == "base64+zstd":
        raise invalid_params("Invalid params: base64+zstd encoding is not supported here.")
    else:
        raise invalid_params(
            f"Invalid params: unknown variant `{enc}`, expected one of `binary`, `base58`, "
            "`base64`, `jsonParsed`, `base64+zstd`."
        )
    return {
        "lamports": acct.lamports,
        "data": encoded,
        "owner": str(acct.owner),
        "executable": acct.executable,
        "rentEpoch": U64_MAX,
        "space": len(acct.data),
    }


def decode_tx_param(value: Any, encoding: str | None) -> bytes:
    if not isinstance(value, str):
        raise invalid_params("Invalid params: invalid type: expected a string.")
    enc = encoding or "base58"
    if enc == "base58":
        if len(value) > MAX_BASE58_TX_SIZE:
            raise invalid_params(
                f"base58 encoded solana_transaction::versioned::VersionedTransaction too large: "
                f"{len(value)} bytes (max: encoded/raw {MAX_BASE58_TX_SIZE}/{PACKET_DATA_SIZE})"
            )
        try:
            raw = base58.b58decode(value)
        except ValueError as exc:
            raise invalid_params(f"invalid base58 encoding: {exc}") from None
    elif enc == "base64":
        if len(value) > MAX_BASE64_TX_SIZE:
            raise invalid_params(
                f"base64 encoded solana_transaction::versioned::VersionedTransaction too large: "
                f"{len(value)} bytes (max: encoded/raw {MAX_BASE64_TX_SIZE}/{PACKET_DATA_SIZE})"
            )
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid_params(f"invalid base64 encoding: {exc}") from None
    else:
        raise invalid_params(
            f"Invalid params: unknown variant `{enc}`, expected `base58` or `base64`."
        )
    if len(raw) > PACKET_DATA_SIZE:
        raise invalid_params(
            f"decoded solana_transaction::versioned::VersionedTransaction too large: "
            f"{len(raw)} bytes (max: {PACKET_DATA_SIZE} bytes)"
        )
    return raw


def _simulate_value(
    outcome: ExecOutcome,
    *,
    accounts: list[Any] | None = None,
    inner: bool = False,
    replacement: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "err": outcome.err,
        "logs": outcome.logs,
        "accounts": accounts,
        "unitsConsumed": outcome.compute_units,
        "returnData": outcome.return_data,
        "innerInstructions": inner_instructions_json(outcome.inner_instructions) if inner else None,
        "replacementBlockhash": replacement,
        "loadedAccountsDataSize": outcome.loaded_accounts_data_size,
        "fee": outcome.fee if outcome.loaded else None,
        "preBalances": outcome.pre_balances if outcome.loaded else None,
        "postBalances": outcome.post_balances if outcome.loaded else None,
        "preTokenBalances": None,
        "postTokenBalances": None,
    }


def tx_json(ptx: ParsedTx) -> dict[str, Any]:
    """`transaction` of getTransaction in `json` encoding (UiRawMessage)."""
    msg = ptx.tx.message
    h = msg.header
    message: dict[str, Any] = {
        "header": {
            "numRequiredSignatures": h.num_required_signatures,
            "numReadonlySignedAccounts": h.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": h.num_readonly_unsigned_accounts,
        },
        "accountKeys": [str(k) for k in ptx.keys],
        "recentBlockhash": str(ptx.blockhash),
        "instructions": [
            {
                "programIdIndex": pidx,
                "accounts": list(accts),
                "data": b58encode(data),
                "stackHeight": None,
            }
            for pidx, accts, data in ptx.instructions
        ],
    }
    if isinstance(msg, MessageV0):
        message["addressTableLookups"] = [
            {
                "accountKey": str(lk.account_key),
                "writableIndexes": list(lk.writable_indexes),
                "readonlyIndexes": list(lk.readonly_indexes),
            }
            for lk in msg.address_table_lookups
        ]
    return {"signatures": [str(s) for s in ptx.signatures], "message": message}


class RpcHandler:
    """The JSON-RPC method table. One instance per validator."""

    def __init__(self, validator: LocalValidator):
        self.v = validator
        self.bank: Bank = validator.bank
        self.methods: dict[str, Callable[[Any], Any]] = {
            "getAccountInfo": self.get_account_info,
            "getMultipleAccounts": self.get_multiple_accounts,
            "getProgramAccounts": self.get_program_accounts,
            "getBalance": self.get_balance,
            "getLatestBlockhash": self.get_latest_blockhash,
            "isBlockhashValid": self.is_blockhash_valid,
            "sendTransaction": self.send_transaction,
            "simulateTransaction": self.simulate_transaction,
            "getSignatureStatuses": self.get_signature_statuses,
            "getSignaturesForAddress": self.get_signatures_for_address,
            "getTransaction": self.get_transaction,
            "getSlot": self.get_slot,
            "getBlockHeight": self.get_block_height,
            "getBlockTime": self.get_block_time,
            "getHealth": lambda p: "ok",
            "getVersion": lambda p: {"solana-core": API_VERSION, "feature-set": FEATURE_SET},
            "getMinimumBalanceForRentExemption": self.get_min_rent,
            "requestAirdrop": self.request_airdrop,
            "getFeeForMessage": self.get_fee_for_message,
            "getEpochInfo": self.get_epoch_info,
            "getGenesisHash": lambda p: str(self.bank.genesis_hash),
            "getIdentity": lambda p: {"identity": str(self.v.identity)},
            "getTransactionCount": self.get_transaction_count,
            "getFirstAvailableBlock": lambda p: 0,
            "minimumLedgerSlot": lambda p: 0,
            "getRecentPrioritizationFees": lambda p: [],
        }
        if validator.enable_test_controls:
            self.methods.update(
                {
                    "hybridmarket_advanceClock": self.tc_advance_clock,
                    "hybridmarket_setFaults": self.tc_set_faults,
                    "hybridmarket_clearFaults": self.tc_clear_faults,
                    "hybridmarket_getFaults": lambda p: self.v.faults.to_json(),
                    "hybridmarket_getClock": self.tc_get_clock,
                    "hybridmarket_getStats": lambda p: self.v.stats_json(),
                }
            )

    # --- envelope -----------------------------------------------------------------------------

    def handle_payload(self, payload: Any) -> Any:
        """Answer one parsed JSON-RPC payload (object or batch); None for an empty answer."""
        if isinstance(payload, list):
            if not payload:
                return self._error(None, errs.invalid_request())
            return [self.handle_one(item) for item in payload]
        return self.handle_one(payload)

    def _error(self, req_id: Any, err: RpcError) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "error": err.to_json(), "id": req_id}

    def handle_one(self, req: Any) -> dict[str, Any]:
        if not isinstance(req, dict):
            return self._error(None, errs.invalid_request())
        req_id = req.get("id")
        method = req.get("method")
        if req.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return self._error(req_id, errs.invalid_request())
        fn = self.methods.get(method)
        if fn is None:
            return self._error(req_id, errs.method_not_found())
        try:
            result = fn(req.get("params"))
        except RpcError as err:
            return self._error(req_id, err)
        except Exception:
            log.exception("internal error in %s", method)
            return self._error(req_id, errs.internal_error())
        return {"jsonrpc": "2.0", "result": result, "id": req_id}

    def _context(self, slot: int) -> dict[str, Any]:
        return {"slot": slot, "apiVersion": API_VERSION}

    def _slot(self, cfg: dict[str, Any]) -> int:
        slot = self.bank.slot_for(commitment_of(cfg))
        mcs = cfg.get("minContextSlot")
        if mcs is not None and _int(mcs, "minContextSlot") > slot:
            raise RpcError(
                errs.MIN_CONTEXT_SLOT_NOT_REACHED,
                "Minimum context slot has not been reached",
                {"contextSlot": slot},
            )
        return slot

    # --- accounts -----------------------------------------------------------------------------

    def get_account_info(self, params: Any) -> Any:
        p = _params(params)
        pk = parse_pubkey(_required(p, 0, "pubkey"))
        cfg = _config(p, 1)
        slot = self._slot(cfg)
        acct = self.bank.account_at(pk, slot)
        value = (
            None
            if acct is None
            else encode_account(acct, cfg.get("encoding"), cfg.get("dataSlice"))
        )
        return {"context": self._context(slot), "value": value}

    def get_multiple_accounts(self, params: Any) -> Any:
        p = _params(params)
        keys = _required(p, 0, "pubkeys")
        if not isinstance(keys, list):
            raise invalid_params("Invalid params: invalid type: expected a sequence.")
        if len(keys) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        pks = [parse_pubkey(k) for k in keys]
        cfg = _config(p, 1)
        slot = self._slot(cfg)
        enc, ds = cfg.get("encoding"), cfg.get("dataSlice")
        values = []
        for pk in pks:
            acct = self.bank.account_at(pk, slot)
            values.append(None if acct is None else encode_account(acct, enc, ds))
        return {"context": self._context(slot), "value": values}

    def get_program_accounts(self, params: Any) -> Any:
        p = _params(params)
        program = parse_pubkey(_required(p, 0, "program_id"))
        cfg = _config(p, 1)
        slot = self._slot(cfg)
        filters = cfg.get("filters") or []
        if not isinstance(filters, list):
            raise invalid_params("Invalid params: filters must be a sequence.")
        if len(filters) > MAX_PROGRAM_ACCOUNT_FILTERS:
            raise invalid_params(f"Too many filters provided; max {MAX_PROGRAM_ACCOUNT_FILTERS}")
        checks: list[Callable[[bytes], bool]] = []
        for f in filters:
            checks.append(_compile_filter(f))
        enc, ds = cfg.get("encoding"), cfg.get("dataSlice")
        if enc == "jsonParsed" and ds is not None:
            raise RpcError(
                errs.INVALID_REQUEST,
                "Sliced account data can only be encoded using binary (base 58) or base64 "
                "encoding.",
            )
        out = []
        for pk, acct in self.bank.program_accounts_at(program, slot):
            data = acct.data
            if all(check(data) for check in checks):
                out.append({"pubkey": str(pk), "account": encode_account(acct, enc, ds)})
        if cfg.get("withContext"):
            return {"context": self._context(slot), "value": out}
        return out

    def get_balance(self, params: Any) -> Any:
        p = _params(params)
        pk = parse_pubkey(_required(p, 0, "pubkey"))
        slot = self._slot(_config(p, 1))
        acct = self.bank.account_at(pk, slot)
        return {"context": self._context(slot), "value": 0 if acct is None else acct.lamports}

    def get_min_rent(self, params: Any) -> Any:
        p = _params(params)
        size = _int(_required(p, 0, "data_len"), "data_len")
        try:
            return rent_exempt_minimum(size)
        except ValueError:
            raise invalid_params("Invalid params: data length too large") from None

    # --- blockhashes, slots, time -------------------------------------------------------------

    def get_latest_blockhash(self, params: Any) -> Any:
        p = _params(params)
        cfg = _config(p, 0)
        slot = self._slot(cfg)
        h, last_valid = self.bank.latest_blockhash(commitment_of(cfg))
        return {
            "context": self._context(slot),
            "value": {"blockhash": str(h), "lastValidBlockHeight": last_valid},
        }

    def is_blockhash_valid(self, params: Any) -> Any:
        p = _params(params)
        raw = _required(p, 0, "blockhash")
        try:
            h = Hash.from_string(raw)
        except (ValueError, TypeError):
            raise invalid_params("Invalid param: Invalid") from None
        cfg = _config(p, 1)
        slot = self._slot(cfg)
        height = self.bank.block_height_for(commitment_of(cfg))
        return {
            "context": self._context(slot),
            "value": self.bank.blockhash_valid(h, height),
        }

    def get_slot(self, params: Any) -> Any:
        return self._slot(_config(_params(params), 0))

    def get_block_height(self, params: Any) -> Any:
        cfg = _config(_params(params), 0)
        self._slot(cfg)
        return self.bank.block_height_for(commitment_of(cfg))

    def get_block_time(self, params: Any) -> Any:
        p = _params(params)
        slot = _int(_required(p, 0, "slot"), "slot")
        if slot > self.bank.confirmed_slot:
            raise RpcError(errs.BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")
        bt = self.bank.block_time(slot)
        if bt is None:
            raise RpcError(errs.BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")
        return bt

    def get_epoch_info(self, params: Any) -> Any:
        cfg = _config(_params(params), 0)
        slot = self._slot(cfg)
        return {
            "absoluteSlot": slot,
            "blockHeight": self.bank.block_height_for(commitment_of(cfg)),
            "epoch": slot // SLOTS_PER_EPOCH,
            "slotIndex": slot % SLOTS_PER_EPOCH,
            "slotsInEpoch": SLOTS_PER_EPOCH,
            "transactionCount": self.bank.transaction_count,
        }

    def get_transaction_count(self, params: Any) -> Any:
        return self.bank.transaction_count

    def get_fee_for_message(self, params: Any) -> Any:
        p = _params(params)
        raw_b64 = _required(p, 0, "message")
        cfg = _config(p, 1)
        slot = self._slot(cfg)
        try:
            raw = base64.b64decode(raw_b64, validate=True)
            msg: Message | MessageV0 = (
                MessageV0.from_bytes(raw[1:]) if raw and raw[0] & 0x80 else Message.from_bytes(raw)
            )
        except Exception:
            raise invalid_params("invalid message: failed to deserialize") from None
        if not self.bank.blockhash_valid(msg.recent_blockhash):
            return {"context": self._context(slot), "value": None}
        n_keys = len(msg.account_keys)
        if any(
            ix.program_id_index >= n_keys or any(i >= n_keys for i in bytes(ix.accounts))
            for ix in msg.instructions
        ):
            raise invalid_params("invalid message: account index out of range")
        fee = self.v.executor.fee_for_message(msg)
        return {"context": self._context(slot), "value": fee}

    # --- transactions -------------------------------------------------------------------------

    def _parse_tx(self, p: list[Any], cfg: dict[str, Any]) -> ParsedTx:
        raw = decode_tx_param(_required(p, 0, "transaction"), cfg.get("encoding"))
        try:
            return parse_wire(raw)
        except TransactionParseError as exc:
            raise invalid_params(str(exc)) from None

    def send_transaction(self, params: Any) -> Any:
        stats = self.v.stats
        t0 = perf_counter()
        p = _params(params)
        cfg = _config(p, 1)
        ptx = self._parse_tx(p, cfg)
        if cfg.get("preflightCommitment") is not None:
            commitment_of({"commitment": cfg["preflightCommitment"]})
        t1 = perf_counter()
        stats.decode += t1 - t0
        stats.transactions += 1
        bank = self.bank
        if cfg.get("skipPreflight"):
            # Like a leader: transactions that do not load (bad signatures included) are
            # dropped silently; failed ones land with their error.
            bank.process(ptx)
            stats.execute += perf_counter() - t1
            return str(ptx.signature)
        outcome, rec = bank.preflight(ptx)
        stats.execute += perf_counter() - t1
        if rec is not None:
            return str(ptx.signature)
        # The RPC node verifies signatures before its preflight simulation.
        if outcome.err == "SignatureFailure" or (
            not outcome.loaded and not all(ptx.tx.verify_with_results())
        ):
            raise RpcError(
                errs.TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
                "Transaction signature verification failure",
            )
        raise RpcError(
            errs.SEND_TRANSACTION_PREFLIGHT_FAILURE,
            f"Transaction simulation failed: {errs.transaction_error_text(outcome.err)}",
            _simulate_value(outcome),
        )

    def simulate_transaction(self, params: Any) -> Any:
        p = _params(params)
        cfg = _config(p, 1)
        ptx = self._parse_tx(p, cfg)
        sig_verify = bool(cfg.get("sigVerify"))
        replace = bool(cfg.get("replaceRecentBlockhash"))
        if sig_verify and replace:
            raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
        # Checked here, so that the SVM's simulation runs without it (the default is off).
        if sig_verify and not all(ptx.tx.verify_with_results()):
            raise RpcError(
                errs.TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
                "Transaction signature verification failure",
            )
        slot = self._slot(cfg)
        bank = self.bank
        replacement = None
        if replace:
            h, last_valid = bank.latest_blockhash(PROCESSED)
            replacement = {"blockhash": str(h), "lastValidBlockHeight": last_valid}
        outcome, posts = bank.simulate(ptx, check_blockhash=not replace)
        accounts = None
        acfg = cfg.get("accounts")
        if isinstance(acfg, dict) and acfg.get("addresses") is not None:
            addrs = [parse_pubkey(a) for a in acfg["addresses"]]
            enc = acfg.get("encoding") or "base64"
            accounts = []
            for pk in addrs:
                acct = posts[pk] if pk in posts else bank.account(pk)
                accounts.append(
                    None if acct is None or acct.lamports == 0 else encode_account(acct, enc, None)
                )
        value = _simulate_value(
            outcome,
            accounts=accounts,
            inner=bool(cfg.get("innerInstructions")),
            replacement=replacement,
        )
        return {"context": self._context(slot), "value": value}

    def get_signature_statuses(self, params: Any) -> Any:
        p = _params(params)
        sigs = _required(p, 0, "signatures")
        if not isinstance(sigs, list):
            raise invalid_params("Invalid params: invalid type: expected a sequence.")
        if len(sigs) > MAX_SIGNATURE_STATUSES:
            raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
        parsed = [bytes(parse_signature(s)) for s in sigs]
        cfg = _config(p, 1)
        search = bool(cfg.get("searchTransactionHistory"))
        bank = self.bank
        values: list[Any] = []
        for sig in parsed:
            st = bank.get_status(sig)
            if st is None and search:
                st = bank.store.get_status(sig)
            if st is None:
                values.append(None)
                continue
            slot, err = st
            values.append(self._status_json(slot, err))
        return {"context": self._context(bank.current.slot), "value": values}

    def _status_json(self, slot: int, err: Any) -> dict[str, Any]:
        bank = self.bank
        if slot <= bank.finalized_slot:
            conf, confirmations = "finalized", None
        elif slot <= bank.confirmed_slot:
            conf, confirmations = "confirmed", bank.current.slot - slot
        else:
            conf, confirmations = "processed", 0
        return {
            "slot": slot,
            "confirmations": confirmations,
            "err": err,
            "status": {"Ok": None} if err is None else {"Err": err},
            "confirmationStatus": conf,
        }

    def _at_least_confirmed(self, cfg: dict[str, Any]) -> int:
        commitment = commitment_of(cfg)
        if commitment == PROCESSED:
            raise invalid_params("Method does not support commitment below `confirmed`")
        return self._slot(cfg)

    def get_signatures_for_address(self, params: Any) -> Any:
        p = _params(params)
        address = parse_pubkey(_required(p, 0, "address"))
        cfg = _config(p, 1)
        max_slot = self._at_least_confirmed(cfg)
        limit = cfg.get("limit", MAX_GET_SIGNATURES_LIMIT)
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not (1 <= limit <= MAX_GET_SIGNATURES_LIMIT)
        ):
            raise invalid_params(f"Invalid limit; max {MAX_GET_SIGNATURES_LIMIT}")
        store = self.bank.store
        before = until = None
        if cfg.get("before") is not None:
            before = store.tx_position(bytes(parse_signature(cfg["before"])))
            if before is None:
                return []
        if cfg.get("until") is not None:
            until = store.tx_position(bytes(parse_signature(cfg["until"])))
        rows = store.signatures_for_address(
            bytes(address), max_slot=max_slot, before=before, until=until, limit=limit
        )
        fin = self.bank.finalized_slot
        return [
            {
                "signature": str(Signature.from_bytes(sig)),
                "slot": slot,
                "err": err,
                "memo": None,
                "blockTime": bt,
                "confirmationStatus": "finalized" if slot <= fin else "confirmed",
            }
            for sig, slot, err, bt in rows
        ]

    def get_transaction(self, params: Any) -> Any:
        p = _params(params)
        sig = parse_signature(_required(p, 0, "signature"))
        cfg = _config(p, 1)
        if isinstance(p[1] if len(p) > 1 else None, str):  # legacy: encoding as 2nd param
            cfg = {"encoding": p[1]}
        max_slot = self._at_least_confirmed(cfg)
        encoding = cfg.get("encoding") or "json"
        if encoding not in ("json", "jsonParsed", "base64", "base58"):
            raise invalid_params(f"Invalid params: unknown variant `{encoding}`.")
        max_version = cfg.get("maxSupportedTransactionVersion")
        stored = self.bank.store.get_transaction(bytes(sig))
        if stored is None or stored.slot > max_slot:
            return None
        if stored.version is not None and (max_version is None or stored.version > max_version):
            if max_version is None:
                msg = (
                    "Transaction version (0) is not supported by the requesting client. Please "
                    "try the request again with the following configuration parameter: "
                    '"maxSupportedTransactionVersion": 0'
                )
            else:
                msg = f"Transaction version ({stored.version}) is not supported"
            raise RpcError(errs.UNSUPPORTED_TRANSACTION_VERSION, msg)
        tx: Any
        meta = stored.meta
        if encoding == "base64":
            tx = [base64.b64encode(stored.raw).decode(), "base64"]
        elif encoding == "base58":
            tx = [b58encode(stored.raw), "base58"]
        elif encoding == "jsonParsed":
            vtx = VersionedTransaction.from_bytes(stored.raw)
            tx = parsed_transaction(vtx, meta)
            meta = parsed_meta(meta, all_account_keys(vtx, meta))
        else:
            tx = tx_json(parse_wire(stored.raw))
        out: dict[str, Any] = {
            "slot": stored.slot,
            "transaction": tx,
            "meta": meta,
            "blockTime": stored.block_time,
        }
        if max_version is not None:
            out["version"] = "legacy" if stored.version is None else stored.version
        return out

    def request_airdrop(self, params: Any) -> Any:
        p = _params(params)
        pk = parse_pubkey(_required(p, 0, "pubkey"))
        lamports = _int(_required(p, 1, "lamports"), "lamports")
        faucet: Keypair | None = self.v.faucet
        if faucet is None:
            raise RpcError(errs.INTERNAL_ERROR, "Internal error: no faucet")
        bank = self.bank
        h, _ = bank.latest_blockhash(PROCESSED)
        ix = transfer(TransferParams(from_pubkey=faucet.pubkey(), to_pubkey=pk, lamports=lamports))
        msg = Message.new_with_blockhash([ix], faucet.pubkey(), h)
        vtx = VersionedTransaction(msg, [faucet])
        ptx = parse_wire(bytes(vtx))
        outcome, _rec = bank.process(ptx)
        if not outcome.loaded:
            raise RpcError(
                errs.INTERNAL_ERROR,
                f"Internal error: airdrop failed: {errs.transaction_error_text(outcome.err)}",
            )
        return str(ptx.signature)

    # --- test controls ------------------------------------------------------------------------

    def _tc_args(self, params: Any) -> dict[str, Any]:
        if params is None:
            return {}
        if isinstance(params, dict):
            return params
        if isinstance(params, list) and (not params or isinstance(params[0], dict)):
            return params[0] if params else {}
        raise invalid_params("Invalid params: expected an object")

    def tc_advance_clock(self, params: Any) -> Any:
        args = self._tc_args(params)
        seconds = args.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise invalid_params("Invalid params: `seconds` must be a non-negative integer")
        ts = self.bank.advance_clock(seconds)
        return {"unixTimestamp": ts, "slot": self.bank.current.slot}

    def tc_get_clock(self, params: Any) -> Any:
        return {
            "unixTimestamp": self.bank.current.block_time,
            "slot": self.bank.current.slot,
            "offset": self.bank.clock_offset,
        }

    def tc_set_faults(self, params: Any) -> Any:
        try:
            self.v.faults = Faults.from_params(self._tc_args(params))
        except (TypeError, ValueError) as exc:
            raise invalid_params(f"Invalid params: {exc}") from None
        return self.v.faults.to_json()

    def tc_clear_faults(self, params: Any) -> Any:
        self.v.faults = Faults()
        return True


def _compile_filter(f: Any) -> Callable[[bytes], bool]:
    if not isinstance(f, dict) or len(f) != 1:
        raise invalid_params("Invalid params: unknown filter")
    if "dataSize" in f:
        size = _int(f["dataSize"], "dataSize")
        return lambda data: len(data) == size
    if "memcmp" in f:
        m = f["memcmp"]
        if not isinstance(m, dict):
            raise invalid_params("Invalid params: invalid memcmp filter")
        offset = _int(m.get("offset"), "offset")
        raw = m.get("bytes")
        enc = m.get("encoding") or "base58"
        if not isinstance(raw, str):
            raise invalid_params("Invalid params: memcmp bytes must be a string")
        try:
            if enc == "base58":
                if len(raw) > 175:
                    raise invalid_params("Invalid param: MemcmpEncodedBytes too long")
                want = base58.b58decode(raw)
            elif enc == "base64":
                want = base64.b64decode(raw, validate=True)
            else:
                raise invalid_params(f"Invalid params: unknown memcmp encoding `{enc}`")
        except (ValueError, binascii.Error):
            raise invalid_params("Invalid param: DecodeError") from None
        if len(want) > MAX_BASE58_ACCOUNT_BYTES:
            raise invalid_params("Invalid param: DataTooLarge")
        end = offset + len(want)
        return lambda data: data[offset:end] == want
    raise invalid_params("Invalid params: unknown filter")


__all__ = ["RpcHandler", "encode_account", "to_bytes_versioned"]
