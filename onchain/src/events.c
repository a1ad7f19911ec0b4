/* Events as Anchor's `emit!` writes them: one `sol_log_data` field holding the 8-byte event
 * discriminator and the borsh body, which the runtime logs as `Program data: <base64>`.
 * Model: `hybridmarket.program.events`. */
#include "program.h"

void emit(const uint8_t *buf, uint64_t len) {
    SolBytes field = {buf, len};
    sol_log_data(&field, 1);
}

/* discriminator, market_id and the market's address: the start of every market event */
void wr_event_header(Writer *w, uint64_t discriminator, const Ctx *c, uint64_t market_idx) {
    wr_u64(w, discriminator);
    wr_bytes(w, c->market.market_id, 32);
    wr_pubkey(w, c->acc[market_idx]->key);
}
