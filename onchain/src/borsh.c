/* Borsh as Rust's crate reads it: little-endian integers, bool only 0 or 1, Option tag only
 * 0 or 1, enum variants in range; any violation or a short buffer marks the reader bad. The
 * writer never writes past its capacity (callers size their buffers for the largest value). */
#include "program.h"

static bool take(Reader *r, uint64_t n) {
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        return false;
    }
    return true;
}

/* Fixed-size copies through __builtin_memcpy compile to one (possibly misaligned) load or
 * store: the toolchain enables misaligned access, which SBPF supports. BPF is little-endian,
 * like borsh. */
#define RD(type, r)                                     \
    do {                                                \
        type v = 0;                                     \
        if (!take(r, sizeof(type))) return v;           \
        __builtin_memcpy(&v, r->p + r->off, sizeof(v)); \
        r->off += sizeof(v);                            \
        return v;                                       \
    } while (0)

uint8_t rd_u8(Reader *r) { RD(uint8_t, r); }
uint16_t rd_u16(Reader *r) { RD(uint16_t, r); }
uint32_t rd_u32(Reader *r) { RD(uint32_t, r); }
uint64_t rd_u64(Reader *r) { RD(uint64_t, r); }
int64_t rd_i64(Reader *r) { RD(int64_t, r); }

bool rd_bool(Reader *r) {
    uint8_t b = rd_u8(r);
    if (b > 1) r->bad = true;
    return b == 1;
}

uint8_t rd_enum(Reader *r, uint8_t variants) {
    uint8_t b = rd_u8(r);
    if (b >= variants) r->bad = true;
    return b;
}

opt_bool rd_opt_bool(Reader *r) {
    uint8_t tag = rd_u8(r);
    if (tag == 0) return OPT_NONE;
    if (tag != 1) {
        r->bad = true;
        return OPT_NONE;
    }
    return OPT_SOME(rd_bool(r));
}

bool rd_opt_u32(Reader *r, uint32_t *out) {
    uint8_t tag = rd_u8(r);
    *out = 0;
    if (tag == 0) return false;
    if (tag != 1) {
        r->bad = true;
        return false;
    }
    *out = rd_u32(r);
    return true;
}

void rd_bytes(Reader *r, uint8_t *out, uint64_t n) {
    if (!take(r, n)) return;
    copy_bytes(out, r->p + r->off, n);
    r->off += n;
}

void rd_pubkey(Reader *r, SolPubkey *out) { rd_bytes(r, out->x, 32); }

#define WR(type, w, value)                               \
    do {                                                 \
        type x_ = (value);                               \
        if (sizeof(x_) > w->cap - w->len) return;        \
        __builtin_memcpy(w->p + w->len, &x_, sizeof(x_)); \
        w->len += sizeof(x_);                            \
    } while (0)

void wr_u8(Writer *w, uint8_t v) { WR(uint8_t, w, v); }
void wr_u16(Writer *w, uint16_t v) { WR(uint16_t, w, v); }
void wr_u32(Writer *w, uint32_t v) { WR(uint32_t, w, v); }
void wr_u64(Writer *w, uint64_t v) { WR(uint64_t, w, v); }
void wr_i64(Writer *w, int64_t v) { WR(int64_t, w, v); }
void wr_bool(Writer *w, bool v) { WR(uint8_t, w, v ? 1 : 0); }

void wr_opt_bool(Writer *w, opt_bool v) {
    if (!OPT_IS_SOME(v)) {
        wr_u8(w, 0);
        return;
    }
    wr_u8(w, 1);
    wr_bool(w, OPT_VALUE(v));
}

void wr_opt_u32(Writer *w, bool some, uint32_t v) {
    wr_u8(w, some ? 1 : 0);
    if (some) wr_u32(w, v);
}

void wr_bytes(Writer *w, const uint8_t *src, uint64_t n) {
    if (n > w->cap - w->len) return;
    copy_bytes(w->p + w->len, src, n);
    w->len += n;
}

void wr_pubkey(Writer *w, const SolPubkey *k) { wr_bytes(w, k->x, 32); }

void rd_config_params(Reader *r, ConfigParams *p) {
    rd_pubkey(r, &p->backend_authority);
    rd_pubkey(r, &p->protocol_fee_wallet);
    p->protocol_fee_bps = rd_u16(r);
    p->resolver_fee_bps = rd_u16(r);
    p->lp_fee_bps = rd_u16(r);
    p->proposal_approval_threshold_bps = rd_u16(r);
    p->min_proposal_votes = rd_u32(r);
    p->dispute_success_threshold_bps = rd_u16(r);
    p->min_dispute_votes = rd_u32(r);
    p->min_resolution_delay = rd_i64(r);
    p->dispute_period = rd_i64(r);
    p->dispute_voting_period = rd_i64(r);
    p->min_b_parameter = rd_u64(r);
    p->min_initial_liquidity = rd_u64(r);
}

void wr_config_params(Writer *w, const ConfigParams *p) {
    wr_pubkey(w, &p->backend_authority);
    wr_pubkey(w, &p->protocol_fee_wallet);
    wr_u16(w, p->protocol_fee_bps);
    wr_u16(w, p->resolver_fee_bps);
    wr_u16(w, p->lp_fee_bps);
    wr_u16(w, p->proposal_approval_threshold_bps);
    wr_u32(w, p->min_proposal_votes);
    wr_u16(w, p->dispute_success_threshold_bps);
    wr_u32(w, p->min_dispute_votes);
    wr_i64(w, p->min_resolution_delay);
    wr_i64(w, p->dispute_period);
    wr_i64(w, p->dispute_voting_period);
    wr_u64(w, p->min_b_parameter);
    wr_u64(w, p->min_initial_liquidity);
}
