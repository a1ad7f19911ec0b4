/* The program's entry point: deserialize the SBPFv0 input, dispatch on the 8-byte Anchor
 * discriminator, validate the accounts, run the handler, and report an error the way Anchor
 * does (one `AnchorError …` log line, then Custom(code) to the runtime).
 * Model: `hybridmarket.program.processor.process_instruction`. */
#include "program.h"

#define ACCOUNT_REALLOC_SPACE (10 * 1024)

/* The accounts' specs, one table per instruction, from generated.h. */
#define SPEC(name, signer, writable, system, type, init, seeds, a, b) \
    {#name, signer, writable, system, type, init, seeds, a, b},
#define SPEC_TABLE(ix, upper) static const AccountSpec SPECS_##ix[] = {HM_ACCOUNTS_##upper(SPEC)};
SPEC_TABLE(initialize_config, INITIALIZE_CONFIG)
SPEC_TABLE(update_config, UPDATE_CONFIG)
SPEC_TABLE(set_paused, SET_PAUSED)
SPEC_TABLE(propose_market, PROPOSE_MARKET)
SPEC_TABLE(submit_proposal_vote, SUBMIT_PROPOSAL_VOTE)
SPEC_TABLE(approve_market, APPROVE_MARKET)
SPEC_TABLE(activate_market, ACTIVATE_MARKET)
SPEC_TABLE(buy_shares, BUY_SHARES)
SPEC_TABLE(sell_shares, SELL_SHARES)
SPEC_TABLE(resolve_market, RESOLVE_MARKET)
SPEC_TABLE(initiate_dispute, INITIATE_DISPUTE)
SPEC_TABLE(submit_dispute_vote, SUBMIT_DISPUTE_VOTE)
SPEC_TABLE(finalize_market, FINALIZE_MARKET)
SPEC_TABLE(cancel_market, CANCEL_MARKET)
SPEC_TABLE(claim_winnings, CLAIM_WINNINGS)
SPEC_TABLE(withdraw_liquidity, WITHDRAW_LIQUIDITY)

static uint64_t load_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* The instruction's index in HM_INSTRUCTIONS, or -1 for an unknown discriminator. */
static int64_t find_instruction(uint64_t disc) {
#define MATCH(i, snake, camel, d) \
    if (disc == (d)) return i;
    HM_INSTRUCTIONS(MATCH)
#undef MATCH
    return -1;
}

static void set_specs(Ctx *c) {
#define CASE(i, snake, camel, d)                                           \
    case i:                                                                \
        c->specs = SPECS_##snake;                                          \
        c->spec_count = sizeof(SPECS_##snake) / sizeof(SPECS_##snake[0]); \
        break;
    switch (c->ix) { HM_INSTRUCTIONS(CASE) }
#undef CASE
}

static err_t run_handler(Ctx *c) {
#define CASE(i, snake, camel, d) \
    case i:                      \
        return ix_##snake(c);
    switch (c->ix) { HM_INSTRUCTIONS(CASE) }
#undef CASE
    return ERR_INSTRUCTION_FALLBACK_NOT_FOUND;
}

/* Walk the input buffer: every account (or duplicate marker), the instruction data, the
 * program id. Accounts beyond MAX_ACCOUNTS are skipped: no instruction names that many. */
static void deserialize(const uint8_t *input, Account *store, Ctx *c, uint64_t *n_accounts,
                        const uint8_t **data, uint64_t *data_len) {
    uint8_t *p = (uint8_t *)input;
    uint64_t n = load_u64(p);
    p += 8;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t dup = p[0];
        if (dup != NO_ACCOUNT) {
            /* the runtime only ever points back at an earlier position */
            if (i < MAX_ACCOUNTS && dup < i) c->acc[i] = c->acc[dup];
            p += 8;
            continue;
        }
        Account scratch;
        Account *a = i < MAX_ACCOUNTS ? &store[i] : &scratch;
        a->is_signer = p[1] != 0;
        a->is_writable = p[2] != 0;
        a->executable = p[3] != 0;
        p += 8;
        a->key = (SolPubkey *)p;
        p += 32;
        a->owner = (SolPubkey *)p;
        p += 32;
        a->lamports = (uint64_t *)p;
        p += 8;
        a->data_len = (uint64_t *)p;
        uint64_t len = load_u64(p);
        p += 8;
        a->data = p;
        p += len + ACCOUNT_REALLOC_SPACE;
        p = (uint8_t *)(((uint64_t)p + 7) & ~(uint64_t)7);
        a->rent_epoch = load_u64(p);
        p += 8;
        if (i < MAX_ACCOUNTS) c->acc[i] = a;
    }
    *n_accounts = n;
    *data_len = load_u64(p);
    p += 8;
    *data = p;
    p += *data_len;
    c->program_id = (const SolPubkey *)p;
}

static err_t process(Ctx *c, uint64_t n_accounts, const uint8_t *data, uint64_t data_len) {
    int64_t ix = data_len >= 8 ? find_instruction(load_u64(data)) : -1;
    if (ix < 0) return ERR_INSTRUCTION_FALLBACK_NOT_FOUND;
    c->ix = (uint64_t)ix;
    log_instruction_name(c->ix);
    set_specs(c);
    if (n_accounts < c->spec_count) return ERR_ACCOUNT_NOT_ENOUGH_KEYS;
    TRY(decode_args(c->ix, data + 8, data_len - 8, &c->args));
    SolClock clock;
    sol_get_clock_sysvar(&clock);
    c->now = clock.unix_timestamp;
    for (uint64_t i = 0; i < c->spec_count; i++) {
        if (c->specs[i].system_program) c->system_program = c->acc[i];
    }
    TRY(validate_accounts(c));
    return run_handler(c);
}

uint64_t entrypoint(const uint8_t *input) {
    Account store[MAX_ACCOUNTS];
    Ctx c;
    zero_bytes((uint8_t *)&c, sizeof(c));
    uint64_t n_accounts;
    const uint8_t *data;
    uint64_t data_len;
    deserialize(input, store, &c, &n_accounts, &data, &data_len);
    err_t e = process(&c, n_accounts, data, data_len);
    if (e != OK) log_anchor_error(&c, e);
    return e;
}
