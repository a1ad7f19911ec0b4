/* Byte helpers and checked arithmetic. Plain loops: with -fno-builtin clang keeps them as
 * loops instead of calling memcpy/memset, which the BPF backend cannot emit. */
#include "program.h"

/* Below this many bytes a loop is cheaper than a syscall (10 CU at least, then 1 per 250 B). */
#define SYSCALL_MEM_MIN 24

void copy_bytes(uint8_t *dst, const uint8_t *src, uint64_t n) {
    if (n >= SYSCALL_MEM_MIN) {
        sol_memcpy_(dst, src, n);
        return;
    }
    for (uint64_t i = 0; i < n; i++) dst[i] = src[i];
}

void zero_bytes(uint8_t *dst, uint64_t n) {
    if (n >= SYSCALL_MEM_MIN) {
        sol_memset_(dst, 0, n);
        return;
    }
    for (uint64_t i = 0; i < n; i++) dst[i] = 0;
}

bool bytes_equal(const uint8_t *a, const uint8_t *b, uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        if (a[i] != b[i]) return false;
    }
    return true;
}

bool key_equal(const SolPubkey *a, const SolPubkey *b) {
    const uint64_t *x = (const uint64_t *)a->x;
    const uint64_t *y = (const uint64_t *)b->x;
    return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

bool key_is_zero(const SolPubkey *a) {
    const uint64_t *x = (const uint64_t *)a->x;
    return (x[0] | x[1] | x[2] | x[3]) == 0;
}

uint64_t cstr_len(const char *s) {
    uint64_t n = 0;
    while (s[n]) n++;
    return n;
}

bool add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a > U64_MAX - b) return false;
    *out = a + b;
    return true;
}

bool add_u32(uint32_t a, uint32_t b, uint32_t *out) {
    if (a > U32_MAX - b) return false;
    *out = a + b;
    return true;
}

bool time_reached(int64_t now, int64_t base, int64_t delta) {
    /* 128-bit add and compare are native on the BPF backend (only mul/div are libcalls) */
    return (__int128)now >= (__int128)base + (__int128)delta;
}
