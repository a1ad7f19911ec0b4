/* Instruction arguments, decoded as Anchor does before it looks at any account: the borsh
 * encoding of the instruction's args struct, exactly (a short buffer, a bad bool/Option tag,
 * an evidence CID longer than 46 bytes or trailing bytes: InstructionDidNotDeserialize).
 * Model: `hybridmarket.program.instructions` (the *Args structs). */
#include "program.h"

err_t decode_args(uint64_t ix, const uint8_t *data, uint64_t len, Args *out) {
    Reader r = {data, len, 0, false};
    switch (ix) {
    case IX_INITIALIZE_CONFIG:
    case IX_UPDATE_CONFIG:
        rd_config_params(&r, &out->params);
        break;
    case IX_SET_PAUSED:
    case IX_SUBMIT_PROPOSAL_VOTE:
    case IX_SUBMIT_DISPUTE_VOTE:
        out->flag = rd_bool(&r);
        break;
    case IX_PROPOSE_MARKET:
        rd_bytes(&r, out->propose.market_id, 32);
        out->propose.b_parameter = rd_u64(&r);
        out->propose.initial_liquidity = rd_u64(&r);
        rd_pubkey(&r, &out->propose.resolver);
        break;
    case IX_APPROVE_MARKET:
        out->approve.likes = rd_u32(&r);
        out->approve.dislikes = rd_u32(&r);
        break;
    case IX_BUY_SHARES:
    case IX_SELL_SHARES:
        out->trade.outcome = rd_bool(&r);
        out->trade.shares = rd_u64(&r);
        out->trade.limit = rd_u64(&r);
        break;
    case IX_RESOLVE_MARKET:
        out->resolve.outcome = rd_opt_bool(&r);
        out->resolve.cid_len = rd_u32(&r);
        if (out->resolve.cid_len > EVIDENCE_CID_LEN) r.bad = true;
        if (!r.bad) rd_bytes(&r, out->resolve.cid, out->resolve.cid_len);
        break;
    case IX_FINALIZE_MARKET:
        out->finalize.has_agree = rd_opt_u32(&r, &out->finalize.agree);
        out->finalize.has_disagree = rd_opt_u32(&r, &out->finalize.disagree);
        break;
    default: /* activate_market, initiate_dispute, cancel_market, claim, withdraw: no args */
        break;
    }
    if (r.bad || r.off != r.len) return ERR_INSTRUCTION_DID_NOT_DESERIALIZE;
    return OK;
}
