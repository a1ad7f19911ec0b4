/* Generated from the Python model by `python -m hybridmarket.program.cheader`:
 * do not edit (tests/unit/test_program_binary_constants.py keeps it equal). */
#ifndef HM_GENERATED_H
#define HM_GENERATED_H

/* Account discriminators (sha256("account:<Name>")[:8], little-endian) and sizes. */
#define DISC_GLOBAL_CONFIG 0xd9b0fca0ca9c0895ULL
#define SPACE_GLOBAL_CONFIG 228
#define DISC_MARKET_ACCOUNT 0xfbc9c6f0e1bb4ec9ULL
#define SPACE_MARKET_ACCOUNT 440
#define DISC_USER_POSITION 0x1b11ea53f5d1f8fbULL
#define SPACE_USER_POSITION 158
#define DISC_VOTE_RECORD 0xa79d09eaa57b0970ULL
#define SPACE_VOTE_RECORD 83
#define EVIDENCE_CID_LEN 46

/* Event discriminators (sha256("event:<Name>")[:8]). */
#define DISC_EVENT_CONFIG_INITIALIZED 0x5bb2a7139cc831b5ULL
#define DISC_EVENT_CONFIG_UPDATED 0xc2c6130b7ae6f128ULL
#define DISC_EVENT_MARKET_PROPOSED 0x7c8307e57897c8f1ULL
#define DISC_EVENT_PROPOSAL_VOTE_SUBMITTED 0x3806a2d9028f439cULL
#define DISC_EVENT_MARKET_APPROVED 0x261f01106144ded5ULL
#define DISC_EVENT_MARKET_ACTIVATED 0x0b6b84bb304e49c4ULL
#define DISC_EVENT_SHARES_BOUGHT 0x41e2eafd0a4562f0ULL
#define DISC_EVENT_SHARES_SOLD 0xfb719ee43505e723ULL
#define DISC_EVENT_MARKET_RESOLVED 0xcac76a8f5fe64359ULL
#define DISC_EVENT_MARKET_DISPUTED 0x0024adb64b8404d3ULL
#define DISC_EVENT_DISPUTE_VOTE_SUBMITTED 0x72c10a4ec3d50227ULL
#define DISC_EVENT_MARKET_FINALIZED 0xb3ea4c25cc423e53ULL
#define DISC_EVENT_MARKET_CANCELLED 0xaa51b413a821a38bULL
#define DISC_EVENT_WINNINGS_CLAIMED 0x96467536c41db8bbULL
#define DISC_EVENT_LIQUIDITY_WITHDRAWN 0x44da1f9a8b4978f0ULL

/* The instructions: X(index, snake_name, CamelName, discriminator). */
#define HM_INSTRUCTIONS(X) \
    X(0, initialize_config, InitializeConfig, 0x46c4bec201157fd0ULL) \
    X(1, update_config, UpdateConfig, 0x63db530abffc9e1dULL) \
    X(2, set_paused, SetPaused, 0xdaa6e1b0c07d3c5bULL) \
    X(3, propose_market, ProposeMarket, 0x693ab5c202ffc927ULL) \
    X(4, submit_proposal_vote, SubmitProposalVote, 0xf00eb91de63bbbb1ULL) \
    X(5, approve_market, ApproveMarket, 0x0596ed96e04953c3ULL) \
    X(6, activate_market, ActivateMarket, 0x5948637174c51a0aULL) \
    X(7, buy_shares, BuyShares, 0x6c6a25089a8aef28ULL) \
    X(8, sell_shares, SellShares, 0xc4c79ee710a9a4b8ULL) \
    X(9, resolve_market, ResolveMarket, 0xef174a2ead50179bULL) \
    X(10, initiate_dispute, InitiateDispute, 0x25ab3d2c17a0f280ULL) \
    X(11, submit_dispute_vote, SubmitDisputeVote, 0xe648eb98423ddf31ULL) \
    X(12, finalize_market, FinalizeMarket, 0xf701d9d51c26e110ULL) \
    X(13, cancel_market, CancelMarket, 0x0b9647ded25479cdULL) \
    X(14, claim_winnings, ClaimWinnings, 0xddf2ec0e3b18d7a1ULL) \
    X(15, withdraw_liquidity, WithdrawLiquidity, 0x1ffdf32fb9219e95ULL) \

#define IX_INITIALIZE_CONFIG 0
#define IX_UPDATE_CONFIG 1
#define IX_SET_PAUSED 2
#define IX_PROPOSE_MARKET 3
#define IX_SUBMIT_PROPOSAL_VOTE 4
#define IX_APPROVE_MARKET 5
#define IX_ACTIVATE_MARKET 6
#define IX_BUY_SHARES 7
#define IX_SELL_SHARES 8
#define IX_RESOLVE_MARKET 9
#define IX_INITIATE_DISPUTE 10
#define IX_SUBMIT_DISPUTE_VOTE 11
#define IX_FINALIZE_MARKET 12
#define IX_CANCEL_MARKET 13
#define IX_CLAIM_WINNINGS 14
#define IX_WITHDRAW_LIQUIDITY 15

/* initialize_config: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_INITIALIZE_CONFIG(X) \
    X(config, 0, 1, 0, ACC_GLOBAL_CONFIG, INIT, SEEDS_CONFIG, -1, -1) \
    X(admin, 1, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \
    X(system_program, 0, 0, 1, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* update_config: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_UPDATE_CONFIG(X) \
    X(config, 0, 1, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(admin, 1, 0, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* set_paused: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_SET_PAUSED(X) \
    X(config, 0, 1, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(admin, 1, 0, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* propose_market: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_PROPOSE_MARKET(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT, SEEDS_MARKET_ARG, -1, -1) \
    X(creator, 1, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \
    X(system_program, 0, 0, 1, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* submit_proposal_vote: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_SUBMIT_PROPOSAL_VOTE(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(vote_record, 0, 1, 0, ACC_VOTE_RECORD, INIT, SEEDS_VOTE_PROPOSAL, 1, 3) \
    X(voter, 1, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \
    X(system_program, 0, 0, 1, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* approve_market: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_APPROVE_MARKET(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(backend, 1, 0, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* activate_market: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_ACTIVATE_MARKET(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(creator, 1, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \
    X(system_program, 0, 0, 1, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* buy_shares: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_BUY_SHARES(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(position, 0, 1, 0, ACC_USER_POSITION, INIT_IF_NEEDED, SEEDS_POSITION, 1, 3) \
    X(trader, 1, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \
    X(protocol_fee_wallet, 0, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \
    X(system_program, 0, 0, 1, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* sell_shares: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_SELL_SHARES(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(position, 0, 1, 0, ACC_USER_POSITION, INIT_NONE, SEEDS_POSITION, 1, 3) \
    X(trader, 1, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \
    X(protocol_fee_wallet, 0, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* resolve_market: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_RESOLVE_MARKET(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(resolver, 1, 0, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* initiate_dispute: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_INITIATE_DISPUTE(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(initiator, 1, 0, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* submit_dispute_vote: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_SUBMIT_DISPUTE_VOTE(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(vote_record, 0, 1, 0, ACC_VOTE_RECORD, INIT, SEEDS_VOTE_DISPUTE, 1, 3) \
    X(voter, 1, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \
    X(system_program, 0, 0, 1, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* finalize_market: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_FINALIZE_MARKET(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(backend, 1, 0, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \
    X(resolver, 0, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* cancel_market: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_CANCEL_MARKET(X) \
    X(config, 0, 0, 0, ACC_GLOBAL_CONFIG, INIT_NONE, SEEDS_CONFIG, -1, -1) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(authority, 1, 0, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* claim_winnings: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_CLAIM_WINNINGS(X) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(position, 0, 1, 0, ACC_USER_POSITION, INIT_NONE, SEEDS_POSITION, 0, 2) \
    X(owner, 1, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \

/* withdraw_liquidity: X(name, signer, writable, system program, type, init, seeds, ref a, ref b) */
#define HM_ACCOUNTS_WITHDRAW_LIQUIDITY(X) \
    X(market, 0, 1, 0, ACC_MARKET_ACCOUNT, INIT_NONE, SEEDS_MARKET_STATE, -1, -1) \
    X(creator, 1, 1, 0, ACC_NONE, INIT_NONE, SEEDS_NONE, -1, -1) \


/* Anchor framework errors: X(code, Name, message). */
#define HM_ANCHOR_ERRORS(X) \
    X(101, InstructionFallbackNotFound, "Fallback functions are not supported") \
    X(102, InstructionDidNotDeserialize, "The program could not deserialize the given instruction") \
    X(2000, ConstraintMut, "A mut constraint was violated") \
    X(2006, ConstraintSeeds, "A seeds constraint was violated") \
    X(2012, ConstraintAddress, "An address constraint was violated") \
    X(3001, AccountDiscriminatorNotFound, "No discriminator was found on the account") \
    X(3002, AccountDiscriminatorMismatch, "Account discriminator did not match what was expected") \
    X(3003, AccountDidNotDeserialize, "Failed to deserialize the account") \
    X(3005, AccountNotEnoughKeys, "Not enough account keys given to the instruction") \
    X(3007, AccountOwnedByWrongProgram, "The given account is owned by a different program than expected") \
    X(3008, InvalidProgramId, "Program ID was not as expected") \
    X(3010, AccountNotSigner, "The given account did not sign") \
    X(3012, AccountNotInitialized, "The program expected this account to be already initialized") \

/* The program's errors (6000 + index): X(code, Name, message). */
#define HM_PROGRAM_ERRORS(X) \
    X(6000, Unauthorized, "The signer is not allowed to perform this action") \
    X(6001, ProtocolPaused, "The protocol is paused") \
    X(6002, InvalidConfig, "The configuration parameters are invalid") \
    X(6003, AlreadyInitialized, "The account is already initialized") \
    X(6004, InvalidMarketState, "The market's state does not allow this instruction") \
    X(6005, InvalidBParameter, "The liquidity parameter b is outside the allowed range") \
    X(6006, InsufficientInitialLiquidity, "The initial liquidity must cover b\302\267ln 2 and the configured minimum") \
    X(6007, AlreadyVoted, "This wallet has already voted on this market") \
    X(6008, QuorumNotReached, "Not enough votes to reach the quorum") \
    X(6009, ApprovalThresholdNotMet, "The approval threshold is not met") \
    X(6010, VoteCountsExceedRecords, "The posted vote counts exceed the votes recorded on chain") \
    X(6011, InvalidShareAmount, "The number of shares must be greater than zero") \
    X(6012, SlippageExceeded, "The price moved beyond the allowed slippage") \
    X(6013, InsufficientShares, "The position does not hold enough shares") \
    X(6014, TradeOutOfRange, "The trade would leave the supported LMSR range") \
    X(6015, ResolutionTooEarly, "The market cannot be resolved before the minimum resolution delay") \
    X(6016, InvalidEvidenceCid, "The evidence must be a binary CID of at most 46 bytes") \
    X(6017, DisputeWindowClosed, "The dispute period has ended") \
    X(6018, InvalidOutcomeNotDisputable, "An INVALID resolution cannot be disputed") \
    X(6019, DisputeVotingClosed, "The dispute voting period has ended") \
    X(6020, FinalizeTooEarly, "The market cannot be finalized yet") \
    X(6021, InvalidVoteCounts, "Dispute counts must be given for a disputed market and only then") \
    X(6022, InvalidResolverAccount, "The resolver account does not match the market") \
    X(6023, InvalidFeeWallet, "The fee wallet does not match the configuration") \
    X(6024, AlreadyClaimed, "The winnings have already been claimed") \
    X(6025, NothingToClaim, "The position has nothing to claim") \
    X(6026, NothingToWithdraw, "There is no liquidity left to withdraw") \
    X(6027, MathOverflow, "Arithmetic overflow") \

#define ERR_INSTRUCTION_FALLBACK_NOT_FOUND 101
#define ERR_INSTRUCTION_DID_NOT_DESERIALIZE 102
#define ERR_CONSTRAINT_MUT 2000
#define ERR_CONSTRAINT_SEEDS 2006
#define ERR_CONSTRAINT_ADDRESS 2012
#define ERR_ACCOUNT_DISCRIMINATOR_NOT_FOUND 3001
#define ERR_ACCOUNT_DISCRIMINATOR_MISMATCH 3002
#define ERR_ACCOUNT_DID_NOT_DESERIALIZE 3003
#define ERR_ACCOUNT_NOT_ENOUGH_KEYS 3005
#define ERR_ACCOUNT_OWNED_BY_WRONG_PROGRAM 3007
#define ERR_INVALID_PROGRAM_ID 3008
#define ERR_ACCOUNT_NOT_SIGNER 3010
#define ERR_ACCOUNT_NOT_INITIALIZED 3012
#define ERR_UNAUTHORIZED 6000
#define ERR_PROTOCOL_PAUSED 6001
#define ERR_INVALID_CONFIG 6002
#define ERR_ALREADY_INITIALIZED 6003
#define ERR_INVALID_MARKET_STATE 6004
#define ERR_INVALID_BPARAMETER 6005
#define ERR_INSUFFICIENT_INITIAL_LIQUIDITY 6006
#define ERR_ALREADY_VOTED 6007
#define ERR_QUORUM_NOT_REACHED 6008
#define ERR_APPROVAL_THRESHOLD_NOT_MET 6009
#define ERR_VOTE_COUNTS_EXCEED_RECORDS 6010
#define ERR_INVALID_SHARE_AMOUNT 6011
#define ERR_SLIPPAGE_EXCEEDED 6012
#define ERR_INSUFFICIENT_SHARES 6013
#define ERR_TRADE_OUT_OF_RANGE 6014
#define ERR_RESOLUTION_TOO_EARLY 6015
#define ERR_INVALID_EVIDENCE_CID 6016
#define ERR_DISPUTE_WINDOW_CLOSED 6017
#define ERR_INVALID_OUTCOME_NOT_DISPUTABLE 6018
#define ERR_DISPUTE_VOTING_CLOSED 6019
#define ERR_FINALIZE_TOO_EARLY 6020
#define ERR_INVALID_VOTE_COUNTS 6021
#define ERR_INVALID_RESOLVER_ACCOUNT 6022
#define ERR_INVALID_FEE_WALLET 6023
#define ERR_ALREADY_CLAIMED 6024
#define ERR_NOTHING_TO_CLAIM 6025
#define ERR_NOTHING_TO_WITHDRAW 6026
#define ERR_MATH_OVERFLOW 6027

#endif
