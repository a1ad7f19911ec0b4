/* The Solana runtime as this program sees it: integer types, the SBPFv0 input buffer, and the
 * syscalls it calls (each resolved by name by the loader, murmur3-hashed). Freestanding C11:
 * no libc, no writable globals, no floating point. */
#ifndef HM_SOL_H
#define HM_SOL_H

typedef unsigned char uint8_t;
typedef signed char int8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef signed int int32_t;
typedef unsigned long long uint64_t;
typedef signed long long int64_t;
typedef uint64_t size_t;
#define bool _Bool
#define true 1
#define false 0
#define NULL ((void *)0)
#define U64_MAX 0xffffffffffffffffULL
#define U32_MAX 0xffffffffU

#define MAX_SEED_LEN 32
#define MAX_SEEDS 16

typedef struct {
    uint8_t x[32];
} SolPubkey;

/* One account of the instruction, pointing into the input buffer: writes through `lamports`,
 * `data` and `owner` are what the runtime commits. */
typedef struct {
    SolPubkey *key;
    uint64_t *lamports;
    uint64_t data_len;
    uint8_t *data;
    SolPubkey *owner;
    uint64_t rent_epoch;
    bool is_signer;
    bool is_writable;
    bool executable;
} SolAccountInfo;

typedef struct {
    const uint8_t *addr;
    uint64_t len;
} SolBytes;

typedef struct {
    SolPubkey *pubkey;
    bool is_writable;
    bool is_signer;
} SolAccountMeta;

typedef struct {
    SolPubkey *program_id;
    SolAccountMeta *accounts;
    uint64_t account_len;
    uint8_t *data;
    uint64_t data_len;
} SolInstruction;

typedef struct {
    const SolBytes *addr;
    uint64_t len;
} SolSignerSeeds;

typedef struct {
    uint64_t slot;
    int64_t epoch_start_timestamp;
    uint64_t epoch;
    uint64_t leader_schedule_epoch;
    int64_t unix_timestamp;
} SolClock;

/* Rent sysvar as serialized (bincode): the threshold is an f64, read here as its bits. */
typedef struct {
    uint64_t lamports_per_byte_year;
    uint64_t exemption_threshold_bits;
    uint8_t burn_percent;
} SolRent;

void sol_log_(const char *message, uint64_t len);
void sol_log_64_(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e);
void sol_log_pubkey(const SolPubkey *pubkey);
void sol_log_data(const SolBytes *fields, uint64_t count);
uint64_t sol_create_program_address(const SolBytes *seeds, uint64_t seeds_len,
                                    const SolPubkey *program_id, SolPubkey *address);
uint64_t sol_try_find_program_address(const SolBytes *seeds, uint64_t seeds_len,
                                      const SolPubkey *program_id, SolPubkey *address,
                                      uint8_t *bump_seed);
uint64_t sol_invoke_signed_c(const SolInstruction *instruction, const SolAccountInfo *account_infos,
                             uint64_t account_infos_len, const SolSignerSeeds *signers_seeds,
                             uint64_t signers_seeds_len);
uint64_t sol_get_clock_sysvar(SolClock *clock);
uint64_t sol_get_rent_sysvar(SolRent *rent);
void sol_memcpy_(void *dst, const void *src, uint64_t n);
void sol_memset_(void *dst, uint8_t c, uint64_t n);
void sol_memcmp_(const void *a, const void *b, uint64_t n, int32_t *result);
void sol_set_return_data(const uint8_t *data, uint64_t len);
void sol_panic_(const char *file, uint64_t len, uint64_t line, uint64_t column);

#endif
