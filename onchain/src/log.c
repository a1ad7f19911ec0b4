/* Log lines an Anchor program prints: `Instruction: <Name>` on entry and, on failure, one
 * `AnchorError …` line naming the error, its number and message (and the account, for
 * constraint errors). Model: `hybridmarket.program.processor._anchor_log`. */
#include "program.h"

typedef struct {
    char buf[320];
    uint64_t len;
} Line;

static void put(Line *l, const char *s) {
    for (uint64_t i = 0; s[i] && l->len < sizeof(l->buf); i++) l->buf[l->len++] = s[i];
}

static void put_u64_dec(Line *l, uint64_t v) {
    char digits[20];
    uint64_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(digits));
    while (n && l->len < sizeof(l->buf)) l->buf[l->len++] = digits[--n];
}

void log_str(const char *s) { sol_log_(s, cstr_len(s)); }

void log_instruction_name(uint64_t ix) {
#define CASE(i, snake, camel, d)              \
    case i:                                   \
        log_str("Instruction: " #camel);      \
        return;
    switch (ix) { HM_INSTRUCTIONS(CASE) }
#undef CASE
}

/* The instruction's file name; only errors of a dispatched instruction reach it (the one
 * error before dispatch, InstructionFallbackNotFound, is < 1000 and says "occurred"). */
static const char *instruction_file(uint64_t ix) {
#define CASE(i, snake, camel, d) \
    case i:                      \
        return #snake;
    switch (ix) { HM_INSTRUCTIONS(CASE) }
#undef CASE
    return "lib";
}

static void error_text(err_t code, const char **name, const char **message) {
#define CASE(n, id, msg) \
    case n:              \
        *name = #id;     \
        *message = msg;  \
        return;
    switch (code) {
        HM_ANCHOR_ERRORS(CASE)
        HM_PROGRAM_ERRORS(CASE)
    }
#undef CASE
    *name = "Unknown";
    *message = "Unknown error";
}

err_t fail_account(Ctx *c, uint64_t idx, err_t code) {
    c->err_account = c->specs[idx].name;
    return code;
}

void log_anchor_error(const Ctx *c, err_t code) {
    const char *name, *message;
    error_text(code, &name, &message);
    Line l;
    l.len = 0;
    if (c->err_account) {
        put(&l, "AnchorError caused by account: ");
        put(&l, c->err_account);
        put(&l, ". ");
    } else if (code < 1000) {
        put(&l, "AnchorError occurred. ");
    } else {
        /* Anchor names the source line of the `require!`; the model's convention: 40 + n % 100 */
        put(&l, "AnchorError thrown in programs/hybridmarket/src/instructions/");
        put(&l, instruction_file(c->ix));
        put(&l, ".rs:");
        put_u64_dec(&l, 40 + code % 100);
        put(&l, ". ");
    }
    put(&l, "Error Code: ");
    put(&l, name);
    put(&l, ". Error Number: ");
    put_u64_dec(&l, code);
    put(&l, ". Error Message: ");
    put(&l, message);
    put(&l, ".");
    sol_log_(l.buf, l.len);
}
