/* initialize_config, update_config, set_paused: the protocol parameters and the pause switch.
 * Model: `processor._initialize_config`, `_update_config`, `_set_paused`. */
#include "program.h"

enum { CONFIG = 0, ADMIN = 1 };

static void emit_config(const Ctx *c, uint64_t disc, const SolPubkey *admin,
                        const ConfigParams *params, bool with_paused, bool paused) {
    uint8_t buf[8 + 32 + 122 + 1 + 8];
    Writer w = {buf, sizeof(buf), 0};
    wr_u64(&w, disc);
    wr_pubkey(&w, admin);
    wr_config_params(&w, params);
    if (with_paused) wr_bool(&w, paused);
    wr_i64(&w, c->now);
    emit(buf, w.len);
}

err_t ix_initialize_config(Ctx *c) {
    const ConfigParams *p = &c->args.params;
    TRY(validate_params(p));
    GlobalConfig *cfg = &c->config;
    copy_bytes(cfg->admin.x, c->acc[ADMIN]->key->x, 32);
    cfg->params = *p;
    cfg->is_paused = false;
    cfg->bump = c->bump[CONFIG];
    zero_bytes(cfg->reserved, 64);
    TRY(init_account(c, CONFIG, ADMIN, SPACE_GLOBAL_CONFIG, ERR_ALREADY_INITIALIZED));
    store_config(c->acc[CONFIG], cfg);
    emit_config(c, DISC_EVENT_CONFIG_INITIALIZED, &cfg->admin, p, false, false);
    return OK;
}

static err_t require_admin(const Ctx *c) {
    return key_equal(c->acc[ADMIN]->key, &c->config.admin) ? OK : ERR_UNAUTHORIZED;
}

err_t ix_update_config(Ctx *c) {
    TRY(require_admin(c));
    TRY(validate_params(&c->args.params));
    c->config.params = c->args.params; /* admin, is_paused, bump and reserved are kept */
    store_config(c->acc[CONFIG], &c->config);
    emit_config(c, DISC_EVENT_CONFIG_UPDATED, &c->config.admin, &c->config.params, true,
                c->config.is_paused);
    return OK;
}

err_t ix_set_paused(Ctx *c) {
    TRY(require_admin(c));
    c->config.is_paused = c->args.flag;
    store_config(c->acc[CONFIG], &c->config);
    emit_config(c, DISC_EVENT_CONFIG_UPDATED, &c->config.admin, &c->config.params, true,
                c->args.flag);
    return OK;
}
