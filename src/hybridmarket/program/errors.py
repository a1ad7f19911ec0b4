"""Every way an instruction can fail, with Anchor's codes, names and messages.

Anchor's framework errors keep Anchor's own numbers (100–3999) so logs and client decoding look
exactly like a deployed Anchor program; the program's own errors start at 6000
(`ERROR_CODE_OFFSET`). Each is raised as `ProgramError` and reported by the processor.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

ERROR_CODE_OFFSET = 6000


class AnchorCode(IntEnum):
    """The subset of anchor-lang's `ErrorCode` that the model's account checks can raise."""

    InstructionFallbackNotFound = 101
    InstructionDidNotDeserialize = 102
    ConstraintMut = 2000
    ConstraintSeeds = 2006
    ConstraintAddress = 2012
    AccountDiscriminatorNotFound = 3001
    AccountDiscriminatorMismatch = 3002
    AccountDidNotDeserialize = 3003
    AccountNotEnoughKeys = 3005
    AccountOwnedByWrongProgram = 3007
    InvalidProgramId = 3008
    AccountNotSigner = 3010
    AccountNotInitialized = 3012


ANCHOR_MESSAGES: dict[AnchorCode, str] = {
    AnchorCode.InstructionFallbackNotFound: "Fallback functions are not supported",
    AnchorCode.InstructionDidNotDeserialize: "The program could not deserialize the given instruction",
    AnchorCode.ConstraintMut: "A mut constraint was violated",
    AnchorCode.ConstraintSeeds: "A seeds constraint was violated",
    AnchorCode.ConstraintAddress: "An address constraint was violated",
    AnchorCode.AccountDiscriminatorNotFound: "No discriminator was found on the account",
    AnchorCode.AccountDiscriminatorMismatch: "Account discriminator did not match what was expected",
    AnchorCode.AccountDidNotDeserialize: "Failed to deserialize the account",
    AnchorCode.AccountNotEnoughKeys: "Not enough account keys given to the instruction",
    AnchorCode.AccountOwnedByWrongProgram: "The given account is owned by a different program than expected",
    AnchorCode.InvalidProgramId: "Program ID was not as expected",
    AnchorCode.AccountNotSigner: "The given account did not sign",
    AnchorCode.AccountNotInitialized: "The program expected this account to be already initialized",
}


class MarketError(IntEnum):
    """The program's `#[error_code]` enum: code = 6000 + index."""

    Unauthorized = 6000
    ProtocolPaused = 6001
    InvalidConfig = 6002
    AlreadyInitialized = 6003
    InvalidMarketState = 6004
    InvalidBParameter = 6005
    InsufficientInitialLiquidity = 6006
    AlreadyVoted = 6007
    QuorumNotReached = 6008
    ApprovalThresholdNotMet = 6009
    VoteCountsExceedRecords = 6010
    InvalidShareAmount = 6011
    SlippageExceeded = 6012
    InsufficientShares = 6013
    TradeOutOfRange = 6014
    ResolutionTooEarly = 6015
    InvalidEvidenceCid = 6016
    DisputeWindowClosed = 6017
    InvalidOutcomeNotDisputable = 6018
    DisputeVotingClosed = 6019
    FinalizeTooEarly = 6020
    InvalidVoteCounts = 6021
    InvalidResolverAccount = 6022
    InvalidFeeWallet = 6023
    AlreadyClaimed = 6024
    NothingToClaim = 6025
    NothingToWithdraw = 6026
    MathOverflow = 6027


MARKET_MESSAGES: dict[MarketError, str] = {
    MarketError.Unauthorized: "The signer is not allowed to perform this action",
    MarketError.ProtocolPaused: "The protocol is paused",
    MarketError.InvalidConfig: "The configuration parameters are invalid",
    MarketError.AlreadyInitialized: "The account is already initialized",
    MarketError.InvalidMarketState: "The market's state does not allow this instruction",
    MarketError.InvalidBParameter: "The liquidity parameter b is outside the allowed range",
    MarketError.InsufficientInitialLiquidity: "The initial liquidity must cover b·ln 2 and the configured minimum",
    MarketError.AlreadyVoted: "This wallet has already voted on this market",
    MarketError.QuorumNotReached: "Not enough votes to reach the quorum",
    MarketError.ApprovalThresholdNotMet: "The approval threshold is not met",
    MarketError.VoteCountsExceedRecords: "The posted vote counts exceed the votes recorded on chain",
    MarketError.InvalidShareAmount: "The number of shares must be greater than zero",
    MarketError.SlippageExceeded: "The price moved beyond the allowed slippage",
    MarketError.InsufficientShares: "The position does not hold enough shares",
    MarketError.TradeOutOfRange: "The trade would leave the supported LMSR range",
    MarketError.ResolutionTooEarly: "The market cannot be resolved before the minimum resolution delay",
    MarketError.InvalidEvidenceCid: "The evidence must be a binary CID of at most 46 bytes",
    MarketError.DisputeWindowClosed: "The dispute period has ended",
    MarketError.InvalidOutcomeNotDisputable: "An INVALID resolution cannot be disputed",
    MarketError.DisputeVotingClosed: "The dispute voting period has ended",
    MarketError.FinalizeTooEarly: "The market cannot be finalized yet",
    MarketError.InvalidVoteCounts: "Dispute counts must be given for a disputed market and only then",
    MarketError.InvalidResolverAccount: "The resolver account does not match the market",
    MarketError.InvalidFeeWallet: "The fee wallet does not match the configuration",
    MarketError.AlreadyClaimed: "The winnings have already been claimed",
    MarketError.NothingToClaim: "The position has nothing to claim",
    MarketError.NothingToWithdraw: "There is no liquidity left to withdraw",
    MarketError.MathOverflow: "Arithmetic overflow",
}


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: int
    name: str
    message: str


def error_info(code: int) -> ErrorInfo | None:
    """Name and message for an Anchor or program error code (None if unknown)."""
    try:
        m = MarketError(code)
        return ErrorInfo(code, m.name, MARKET_MESSAGES[m])
    except ValueError:
        pass
    try:
        a = AnchorCode(code)
        return ErrorInfo(code, a.name, ANCHOR_MESSAGES[a])
    except ValueError:
        return None


class ProgramError(Exception):
    """An instruction failed with an Anchor or program error code.

    `account` names the account that failed a constraint (Anchor logs it as "caused by account").
    """

    def __init__(
        self, code: MarketError | AnchorCode, *, account: str | None = None, detail: str = ""
    ):
        self.code = code
        self.account = account
        self.detail = detail
        msg = MARKET_MESSAGES[code] if isinstance(code, MarketError) else ANCHOR_MESSAGES[code]
        self.error_message = msg
        super().__init__(f"{code.name} ({int(code)}): {msg}" + (f" [{detail}]" if detail else ""))


class SystemCpiError(Exception):
    """A system-program CPI made by the program failed (e.g. a payer without enough lamports).

    The runtime reports these with the system program's own custom codes and log lines.
    """

    def __init__(self, code: int, log_line: str):
        self.code = code
        self.log_line = log_line
        super().__init__(log_line)


def all_program_errors() -> list[ErrorInfo]:
    return [ErrorInfo(int(e), e.name, MARKET_MESSAGES[e]) for e in MarketError]
