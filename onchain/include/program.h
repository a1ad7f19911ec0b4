/* The program's shared types: the instruction context, the decoded accounts, and the helpers
 * every instruction uses (validation, lamports, events, errors). Each instruction lives in its
 * own file (ix_*.c) and follows the Python model `hybridmarket.program.processor` step for step:
 * the same checks in the same order, so the same input fails with the same error. */
#ifndef HM_PROGRAM_H
#define HM_PROGRAM_H

#include "sol.h"
#include "generated.h"
#include "lmsr.h"

#define MAX_ACCOUNTS 8 /* the most any instruction names (extra accounts are ignored) */
#define NO_ACCOUNT 0xff

/* Error results: 0 is success; Anchor's and the program's codes are returned as Custom(n). */
typedef uint64_t err_t;
#define OK 0
#define TRY(expr)                 \
    do {                          \
        err_t _e = (expr);        \
        if (_e != OK) return _e;  \
    } while (0)

typedef enum { ACC_NONE, ACC_GLOBAL_CONFIG, ACC_MARKET_ACCOUNT, ACC_USER_POSITION, ACC_VOTE_RECORD } acc_type;
typedef enum { INIT_NONE, INIT, INIT_IF_NEEDED } init_kind;
typedef enum {
    SEEDS_NONE,
    SEEDS_CONFIG,
    SEEDS_MARKET_STATE,
    SEEDS_MARKET_ARG,
    SEEDS_POSITION,
    SEEDS_VOTE_PROPOSAL,
    SEEDS_VOTE_DISPUTE
} seeds_kind;

/* One account of the instruction, pointing into the input buffer. `data_len` is a pointer
 * because a system-program CPI (create_account, allocate) changes it in place. */
typedef struct {
    SolPubkey *key;
    uint64_t *lamports;
    uint64_t *data_len;
    uint8_t *data;
    SolPubkey *owner;
    uint64_t rent_epoch;
    bool is_signer;
    bool is_writable;
    bool executable;
} Account;

/* One account of an instruction's interface (generated.h's HM_ACCOUNTS_* tables). */
typedef struct {
    const char *name;
    bool signer;
    bool writable;
    bool system_program;
    acc_type type;
    init_kind init;
    seeds_kind seeds;
    int8_t ref_a;
    int8_t ref_b;
} AccountSpec;

/* ---- decoded accounts (field for field the model's dataclasses) ---- */
typedef struct {
    SolPubkey backend_authority;
    SolPubkey protocol_fee_wallet;
    uint16_t protocol_fee_bps;
    uint16_t resolver_fee_bps;
    uint16_t lp_fee_bps;
    uint16_t proposal_approval_threshold_bps;
    uint32_t min_proposal_votes;
    uint16_t dispute_success_threshold_bps;
    uint32_t min_dispute_votes;
    int64_t min_resolution_delay;
    int64_t dispute_period;
    int64_t dispute_voting_period;
    uint64_t min_b_parameter;
    uint64_t min_initial_liquidity;
} ConfigParams;

typedef struct {
    SolPubkey admin;
    ConfigParams params;
    bool is_paused;
    uint8_t bump;
    uint8_t reserved[64];
} GlobalConfig;

/* Option<bool> as stored: 0 = None, 1 = Some(false), 2 = Some(true). */
typedef uint8_t opt_bool;
#define OPT_NONE 0
#define OPT_SOME(b) ((opt_bool)((b) ? 2 : 1))
#define OPT_IS_SOME(o) ((o) != OPT_NONE)
#define OPT_VALUE(o) ((o) == 2)

enum {
    STATE_PROPOSED = 0,
    STATE_APPROVED = 1,
    STATE_ACTIVE = 2,
    STATE_RESOLVING = 3,
    STATE_DISPUTED = 4,
    STATE_FINALIZED = 5,
    STATE_CANCELLED = 6,
    STATE_COUNT = 7
};

typedef struct {
    uint8_t market_id[32];
    SolPubkey creator;
    uint8_t state;
    SolPubkey resolver;
    uint64_t b_parameter;
    uint64_t shares_yes;
    uint64_t shares_no;
    uint64_t current_liquidity;
    uint64_t initial_liquidity;
    uint64_t total_volume;
    uint64_t accumulated_resolver_fees;
    uint64_t accumulated_lp_fees;
    uint32_t proposal_likes;
    uint32_t proposal_dislikes;
    uint32_t proposal_total_votes;
    uint32_t dispute_agree;
    uint32_t dispute_disagree;
    uint32_t dispute_total_votes;
    SolPubkey dispute_initiator;
    uint8_t ipfs_evidence_hash[EVIDENCE_CID_LEN];
    int64_t created_at;
    int64_t approved_at;
    int64_t activated_at;
    int64_t resolution_proposed_at;
    int64_t dispute_initiated_at;
    int64_t finalized_at;
    int64_t cancelled_at;
    uint64_t claimed_shares_yes;
    uint64_t claimed_shares_no;
    uint64_t total_claimed;
    uint64_t total_withdrawn;
    uint64_t resolver_fee_paid;
    uint32_t trades_count;
    uint8_t bump;
    uint8_t reserved[64];
    opt_bool proposed_outcome;
    opt_bool final_outcome;
} MarketAccount;

typedef struct {
    SolPubkey market;
    SolPubkey user;
    uint64_t shares_yes;
    uint64_t shares_no;
    uint64_t total_invested;
    uint64_t total_withdrawn;
    uint32_t trades_count;
    int64_t last_trade_at;
    bool has_claimed;
    uint64_t claimed_amount;
    uint8_t bump;
    uint8_t reserved[32];
} UserPosition;

typedef struct {
    SolPubkey market;
    SolPubkey user;
    uint8_t kind;
    bool vote;
    int64_t voted_at;
    uint8_t bump;
} VoteRecord;

/* ---- borsh: a bounds-checked reader and a writer (Rust borsh's strictness) ---- */
typedef struct {
    const uint8_t *p;
    uint64_t len;
    uint64_t off;
    bool bad;
} Reader;

typedef struct {
    uint8_t *p;
    uint64_t cap;
    uint64_t len;
} Writer;

uint8_t rd_u8(Reader *r);
uint16_t rd_u16(Reader *r);
uint32_t rd_u32(Reader *r);
uint64_t rd_u64(Reader *r);
int64_t rd_i64(Reader *r);
bool rd_bool(Reader *r);
opt_bool rd_opt_bool(Reader *r);
/* Option<u32>: returns whether it is Some; the value goes to *out. */
bool rd_opt_u32(Reader *r, uint32_t *out);
void rd_bytes(Reader *r, uint8_t *out, uint64_t n);
void rd_pubkey(Reader *r, SolPubkey *out);
uint8_t rd_enum(Reader *r, uint8_t variants);

void wr_u8(Writer *w, uint8_t v);
void wr_u16(Writer *w, uint16_t v);
void wr_u32(Writer *w, uint32_t v);
void wr_u64(Writer *w, uint64_t v);
void wr_i64(Writer *w, int64_t v);
void wr_bool(Writer *w, bool v);
void wr_opt_bool(Writer *w, opt_bool v);
void wr_opt_u32(Writer *w, bool some, uint32_t v);
void wr_bytes(Writer *w, const uint8_t *src, uint64_t n);
void wr_pubkey(Writer *w, const SolPubkey *k);

void rd_config_params(Reader *r, ConfigParams *p);
void wr_config_params(Writer *w, const ConfigParams *p);

/* ---- instruction arguments (decoded before the accounts, as Anchor does) ---- */
typedef struct {
    bool outcome;
    uint64_t shares;
    uint64_t limit; /* max_cost of a buy, min_proceeds of a sale */
} TradeArgs;

typedef struct {
    uint8_t market_id[32];
    uint64_t b_parameter;
    uint64_t initial_liquidity;
    SolPubkey resolver;
} ProposeArgs;

typedef struct {
    opt_bool outcome;
    uint32_t cid_len;
    uint8_t cid[EVIDENCE_CID_LEN];
} ResolveArgs;

typedef struct {
    bool has_agree;
    bool has_disagree;
    uint32_t agree;
    uint32_t disagree;
} FinalizeArgs;

typedef union {
    ConfigParams params; /* initialize_config, update_config */
    bool flag;           /* set_paused(paused), submit_*_vote(vote) */
    ProposeArgs propose;
    struct {
        uint32_t likes;
        uint32_t dislikes;
    } approve;
    TradeArgs trade;
    ResolveArgs resolve;
    FinalizeArgs finalize;
} Args;

/* args.c: decode the running instruction's arguments (exactly the bytes, as Rust borsh). */
err_t decode_args(uint64_t ix, const uint8_t *data, uint64_t len, Args *out);

/* ---- the instruction context ---- */
typedef struct {
    const SolPubkey *program_id;
    Account *acc[MAX_ACCOUNTS];   /* by the instruction's account position (duplicates alias) */
    Account *system_program;      /* the system_program account when the instruction has one */
    const AccountSpec *specs;
    uint64_t spec_count;
    uint64_t ix;                  /* index in HM_INSTRUCTIONS */
    const char *err_account;      /* the account an Anchor constraint error is about */
    int64_t now;
    /* Canonical bumps of the accounts created by this instruction (init paths). */
    uint8_t bump[MAX_ACCOUNTS];
    bool init_path[MAX_ACCOUNTS];
    /* Decoded states of the typed accounts (only the ones the instruction names). */
    GlobalConfig config;
    MarketAccount market;
    UserPosition position;
    VoteRecord vote;
    Args args;
} Ctx;

/* Errors with and without an account (Anchor logs "caused by account: <name>"). */
err_t fail_account(Ctx *c, uint64_t idx, err_t code);

/* validate.c: Anchor's try_accounts over the instruction's AccountSpec table. */
err_t validate_accounts(Ctx *c);
bool is_uninitialized(const Account *a);
err_t seeds_bytes(const Ctx *c, uint64_t idx, SolBytes *seeds, uint64_t *count);

/* accounts.c: load and store typed account data. */
err_t load_config(const Account *a, GlobalConfig *out);
err_t load_market(const Account *a, MarketAccount *out);
err_t load_position(const Account *a, UserPosition *out);
err_t load_vote(const Account *a, VoteRecord *out);
void store_config(Account *a, const GlobalConfig *v);
void store_market(Account *a, const MarketAccount *v);
void store_position(Account *a, const UserPosition *v);
void store_vote(Account *a, const VoteRecord *v);

/* lamports.c: system-program CPIs and direct debits of program-owned accounts. */
uint64_t rent_exempt_minimum(uint64_t data_len);
err_t system_transfer(Ctx *c, uint64_t from, uint64_t to, uint64_t amount);
err_t move_lamports(Ctx *c, uint64_t from, uint64_t to, uint64_t amount);
/* Anchor's init: create the PDA at position idx (canonical bump in c->bump[idx]) paid by
 * `payer`, or report AlreadyInitialized/AlreadyVoted for an account that exists. */
err_t init_account(Ctx *c, uint64_t idx, uint64_t payer, uint64_t space, err_t exists_error);

/* log.c */
void log_str(const char *s);
void log_anchor_error(const Ctx *c, err_t code);
void log_instruction_name(uint64_t ix);

/* events.c: `emit!` = sol_log_data(discriminator + borsh). */
void emit(const uint8_t *buf, uint64_t len);
void wr_event_header(Writer *w, uint64_t discriminator, const Ctx *c, uint64_t market_idx);

/* util */
void copy_bytes(uint8_t *dst, const uint8_t *src, uint64_t n);
void zero_bytes(uint8_t *dst, uint64_t n);
bool bytes_equal(const uint8_t *a, const uint8_t *b, uint64_t n);
bool key_equal(const SolPubkey *a, const SolPubkey *b);
bool key_is_zero(const SolPubkey *a);
uint64_t cstr_len(const char *s);

/* checked arithmetic: false on overflow (the handler then fails with MathOverflow) */
bool add_u64(uint64_t a, uint64_t b, uint64_t *out);
bool add_u32(uint32_t a, uint32_t b, uint32_t *out);
/* now >= base + delta / now < base + delta, exact (no i64 overflow) */
bool time_reached(int64_t now, int64_t base, int64_t delta);

/* shared rules of several instructions (rules.c) */
err_t require_not_paused(const GlobalConfig *cfg);
err_t price_yes(const MarketAccount *m, uint64_t *out);
err_t validate_params(const ConfigParams *p);
err_t payout(const MarketAccount *m, uint64_t shares_yes, uint64_t shares_no, uint64_t *out);
err_t outstanding_claims(const MarketAccount *m, uint64_t *out);
uint64_t binary_cid_length(const uint8_t *buf, uint64_t len, bool *ok);

/* The instruction handlers (one file each). */
err_t ix_initialize_config(Ctx *c);
err_t ix_update_config(Ctx *c);
err_t ix_set_paused(Ctx *c);
err_t ix_propose_market(Ctx *c);
err_t ix_submit_proposal_vote(Ctx *c);
err_t ix_approve_market(Ctx *c);
err_t ix_activate_market(Ctx *c);
err_t ix_buy_shares(Ctx *c);
err_t ix_sell_shares(Ctx *c);
err_t ix_resolve_market(Ctx *c);
err_t ix_initiate_dispute(Ctx *c);
err_t ix_submit_dispute_vote(Ctx *c);
err_t ix_finalize_market(Ctx *c);
err_t ix_cancel_market(Ctx *c);
err_t ix_claim_winnings(Ctx *c);
err_t ix_withdraw_liquidity(Ctx *c);

#endif
