/* Moving lamports: CPIs to the system program (transfer from a signing wallet; create_account,
 * or transfer + allocate + assign for a pre-funded address, to create a PDA) and direct debits
 * of accounts this program owns, as Rust does with `**lamports -= n`.
 * Model: `hybridmarket.program.processor.Ctx` (system_transfer, move, create_pda). */
#include "program.h"

#define SYSTEM_TRANSFER 2
#define SYSTEM_CREATE_ACCOUNT 0
#define SYSTEM_ASSIGN 1
#define SYSTEM_ALLOCATE 8
#define ACCOUNT_STORAGE_OVERHEAD 128

/* Rent::minimum_balance: ((128 + len) * lamports_per_byte_year) as f64 * threshold, as u64.
 * The threshold is an f64 in the sysvar; it is applied here exactly in integers from its bits
 * (the product is far below 2^53, so its conversion to f64 is exact, and `as u64` floors). */
uint64_t rent_exempt_minimum(uint64_t data_len) {
    SolRent rent;
    sol_get_rent_sysvar(&rent);
    uint64_t base = (ACCOUNT_STORAGE_OVERHEAD + data_len) * rent.lamports_per_byte_year;
    uint64_t bits = rent.exemption_threshold_bits;
    uint64_t exp = (bits >> 52) & 0x7ff;
    if ((bits >> 63) != 0 || exp == 0) return 0; /* negative, zero or subnormal */
    uint64_t mant = (bits & 0xfffffffffffffULL) | (1ULL << 52);
    /* threshold = mant * 2^(exp - 1075); base * threshold = (base * mant) >> (1075 - exp) */
    u128 prod;
    u128_mul64(base, mant, &prod);
    if (exp >= 1075) return U64_MAX; /* thresholds of 2^52 and more: saturate like `as u64` */
    uint64_t shift = 1075 - exp;
    if (shift >= 128) return 0;
    if (shift >= 64) return shift == 64 ? prod.hi : prod.hi >> (shift - 64);
    if (shift == 0) return prod.hi ? U64_MAX : prod.lo;
    if ((prod.hi >> shift) != 0) return U64_MAX;
    return (prod.lo >> shift) | (prod.hi << (64 - shift));
}

static void info_of(const Account *a, SolAccountInfo *out) {
    out->key = a->key;
    out->lamports = a->lamports;
    out->data_len = *a->data_len;
    out->data = a->data;
    out->owner = a->owner;
    out->rent_epoch = a->rent_epoch;
    out->is_signer = a->is_signer;
    out->is_writable = a->is_writable;
    out->executable = a->executable;
}

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* The PDA signer seeds of the account at `idx` (its seeds plus its canonical bump). */
typedef struct {
    SolBytes seeds[5];
    uint8_t bump[1];
    SolSignerSeeds signer;
} PdaSigner;

static err_t pda_signer(Ctx *c, uint64_t idx, PdaSigner *s) {
    uint64_t n = 0;
    TRY(seeds_bytes(c, idx, s->seeds, &n));
    s->bump[0] = c->bump[idx];
    s->seeds[n].addr = s->bump;
    s->seeds[n].len = 1;
    s->signer.addr = s->seeds;
    s->signer.len = n + 1;
    return OK;
}

/* One system-program instruction over accounts `a` (and `b` if not NO_ACCOUNT), both
 * writable; `a` signs (a wallet, or a PDA through `signer`). A failure inside the system
 * program aborts the whole instruction with its error, as on a real cluster. */
typedef struct {
    uint64_t a;
    uint64_t b;
    bool b_signs;
    uint8_t *data;
    uint64_t len;
    const SolSignerSeeds *signer;
} SystemCall;

static void invoke_system(Ctx *c, const SystemCall *call) {
    uint64_t a = call->a, b = call->b;
    SolAccountMeta metas[2];
    SolAccountInfo infos[3];
    uint64_t n = 0;
    metas[n].pubkey = c->acc[a]->key;
    metas[n].is_writable = true;
    metas[n].is_signer = true;
    info_of(c->acc[a], &infos[n]);
    n++;
    if (b != NO_ACCOUNT) {
        metas[n].pubkey = c->acc[b]->key;
        metas[n].is_writable = true;
        metas[n].is_signer = call->b_signs;
        info_of(c->acc[b], &infos[n]);
        n++;
    }
    info_of(c->system_program, &infos[n]);
    SolInstruction ix;
    ix.program_id = c->system_program->key;
    ix.accounts = metas;
    ix.account_len = n;
    ix.data = call->data;
    ix.data_len = call->len;
    sol_invoke_signed_c(&ix, infos, n + 1, call->signer, call->signer ? 1 : 0);
}

static void transfer_cpi(Ctx *c, uint64_t from, uint64_t to, uint64_t amount,
                         const SolSignerSeeds *signer) {
    uint8_t data[12];
    put_u32(data, SYSTEM_TRANSFER);
    put_u64(data + 4, amount);
    SystemCall call = {from, to, false, data, sizeof(data), signer};
    invoke_system(c, &call);
}

err_t system_transfer(Ctx *c, uint64_t from, uint64_t to, uint64_t amount) {
    if (amount == 0) return OK;
    transfer_cpi(c, from, to, amount, NULL);
    return OK;
}

err_t move_lamports(Ctx *c, uint64_t from, uint64_t to, uint64_t amount) {
    uint64_t *src = c->acc[from]->lamports;
    uint64_t *dst = c->acc[to]->lamports;
    uint64_t credited;
    if (*src < amount) return ERR_MATH_OVERFLOW;
    if (src == dst) return OK;
    if (!add_u64(*dst, amount, &credited)) return ERR_MATH_OVERFLOW;
    *src -= amount;
    *dst = credited;
    return OK;
}

err_t init_account(Ctx *c, uint64_t idx, uint64_t payer, uint64_t space, err_t exists_error) {
    Account *a = c->acc[idx];
    if (!is_uninitialized(a)) return fail_account(c, idx, exists_error);
    uint64_t need = rent_exempt_minimum(space);
    PdaSigner s;
    TRY(pda_signer(c, idx, &s));
    if (*a->lamports == 0) {
        uint8_t data[52];
        put_u32(data, SYSTEM_CREATE_ACCOUNT);
        put_u64(data + 4, need);
        put_u64(data + 12, space);
        copy_bytes(data + 20, c->program_id->x, 32);
        SystemCall call = {payer, idx, true, data, sizeof(data), &s.signer};
        invoke_system(c, &call);
    } else {
        /* Someone sent lamports to the address first: top it up, allocate, assign. */
        if (need > *a->lamports) transfer_cpi(c, payer, idx, need - *a->lamports, NULL);
        uint8_t alloc[12];
        put_u32(alloc, SYSTEM_ALLOCATE);
        put_u64(alloc + 4, space);
        SystemCall allocate = {idx, NO_ACCOUNT, false, alloc, sizeof(alloc), &s.signer};
        invoke_system(c, &allocate);
        uint8_t assign[36];
        put_u32(assign, SYSTEM_ASSIGN);
        copy_bytes(assign + 4, c->program_id->x, 32);
        SystemCall assign_call = {idx, NO_ACCOUNT, false, assign, sizeof(assign), &s.signer};
        invoke_system(c, &assign_call);
    }
    return OK;
}
