"""Solana's error values, in the JSON and text forms the validator must reproduce exactly.

Transaction errors travel as JSON in `meta.err`, in signature statuses and in notifications
(`"BlockhashNotFound"`, `{"InstructionError": [0, {"Custom": 1}]}`,
`{"InsufficientFundsForRent": {"account_index": 1}}`), and as text in the message of a failed
`sendTransaction` preflight (`Transaction simulation failed: Error processing Instruction 0:
custom program error: 0x1`) and in the `Program <id> failed: …` log line. The texts below are
Agave's `Display` implementations. JSON-RPC errors carry Solana's codes and messages.
"""

from __future__ import annotations

from typing import Any

# JSON value of a TransactionError: a unit-variant name or a one-key object.
TxErr = Any

INSTRUCTION_ERROR_TEXT: dict[str, str] = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "UnbalancedInstruction": "sum of account balances before and after instruction do not match",
    "ModifiedProgramId": "instruction illegally modified the program id of an account",
    "ExternalAccountLamportSpend": "instruction spent from the balance of an account it does not own",
    "ExternalAccountDataModified": "instruction modified data of an account it does not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "DuplicateAccountIndex": "instruction contains duplicate accounts",
    "ExecutableModified": "instruction changed executable bit of an account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountDataSizeChanged": (
        "program other than the account's owner changed the size of the account data"
    ),
    "AccountNotExecutable": "instruction expected an executable account",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "UnsupportedProgramId": "Unsupported program id",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "InvalidAccountOwner": "Invalid account owner",
    "ArithmeticOverflow": "Program arithmetic overflowed",
    "InvalidRealloc": "Failed to reallocate account data",
    "AccountBorrowFailed": "instruction tries to borrow reference for an account which is "
    "already borrowed",
    "ProgramFailedToComplete": "Program failed to complete",
}

TRANSACTION_ERROR_TEXT: dict[str, str] = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "UnsupportedVersion": "Transaction version is unsupported",
    "AddressLookupTableNotFound": ("Transaction loads an address table account that doesn't exist"),
}


def instruction_error_text(err: Any) -> str:
    """Agave's text for an `InstructionError` JSON value (`{"Custom": n}` or a variant name)."""
    if isinstance(err, dict) and "Custom" in err:
        return f"custom program error: {err['Custom']:#x}"
    if isinstance(err, str):
        return INSTRUCTION_ERROR_TEXT.get(err, err)
    return str(err)


def transaction_error_text(err: TxErr) -> str:
    """Agave's text for a `TransactionError` JSON value."""
    if isinstance(err, str):
        return TRANSACTION_ERROR_TEXT.get(err, err)
    if isinstance(err, dict):
        if "InstructionError" in err:
            index, inner = err["InstructionError"]
            return f"Error processing Instruction {index}: {instruction_error_text(inner)}"
        if "InsufficientFundsForRent" in err:
            idx = err["InsufficientFundsForRent"]["account_index"]
            return f"Transaction results in an account ({idx}) with insufficient funds for rent"
        if "DuplicateInstruction" in err:
            return f"Transaction contains a duplicate instruction ({err['DuplicateInstruction']})"
    return str(err)


def instruction_error(index: int, inner: Any) -> TxErr:
    return {"InstructionError": [index, inner]}


# JSON-RPC error codes (jsonrpc-core and Agave's RpcCustomError).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
BLOCK_CLEANED_UP = -32001
SEND_TRANSACTION_PREFLIGHT_FAILURE = -32002
TRANSACTION_SIGNATURE_VERIFICATION_FAILURE = -32003
BLOCK_NOT_AVAILABLE = -32004
NODE_UNHEALTHY = -32005
TRANSACTION_PRECOMPILE_VERIFICATION_FAILURE = -32006
SLOT_SKIPPED = -32007
TRANSACTION_HISTORY_NOT_AVAILABLE = -32011
TRANSACTION_SIGNATURE_LEN_MISMATCH = -32013
UNSUPPORTED_TRANSACTION_VERSION = -32015
MIN_CONTEXT_SLOT_NOT_REACHED = -32016


class RpcError(Exception):
    """A JSON-RPC error response: `{"code", "message", "data"?}`."""

    def __init__(self, code: int, message: str, data: Any = None, *, has_data: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.has_data = has_data or data is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.has_data:
            out["data"] = self.data
        return out


def invalid_params(message: str = "Invalid params") -> RpcError:
    return RpcError(INVALID_PARAMS, message)


def method_not_found() -> RpcError:
    return RpcError(METHOD_NOT_FOUND, "Method not found")


def invalid_request() -> RpcError:
    return RpcError(INVALID_REQUEST, "Invalid request")


def internal_error() -> RpcError:
    return RpcError(INTERNAL_ERROR, "Internal error")
