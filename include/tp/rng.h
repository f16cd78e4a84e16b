/*
 * rng.h: the suite's one pseudo-random generator (xoshiro256**, seeded by
 * splitmix64).  Its whole state is the four words below, so checkpoints save
 * and restore it exactly, and the same seed gives the same stream on every
 * machine and in every version (golden values in tests/unit/test-rng.c).
 */
#ifndef TP_RNG_H
#define TP_RNG_H

#include <stddef.h>
#include <stdint.h>

struct tp_rng {
	uint64_t s[4];
};

void tp_rng_seed(struct tp_rng *r, uint64_t seed);
uint64_t tp_rng_u64(struct tp_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double tp_rng_uniform(struct tp_rng *r);
/* Uniform integer in [0, n), unbiased (n > 0). */
uint64_t tp_rng_below(struct tp_rng *r, uint64_t n);
/* Standard normal (Box-Muller, no cached second value: state stays s[4]). */
double tp_rng_normal(struct tp_rng *r);
/* Fisher-Yates shuffle of a[0..n). */
void tp_rng_shuffle_u32(struct tp_rng *r, uint32_t *a, size_t n);
/* An independent seed for stream `stream` of `seed` (e.g. init vs data
 * order vs dropout), by hashing: nearby inputs give unrelated outputs. */
uint64_t tp_seed_derive(uint64_t seed, uint64_t stream);

#endif
