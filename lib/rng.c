/*
 * rng.c: xoshiro256** (Blackman and Vigna) seeded through splitmix64.  Chosen
 * for a tiny, fully visible state (checkpointable), speed, and a published
 * reference to pin golden values against.
 */
#include <math.h>

#include "tp/rng.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
tp_rng_seed(struct tp_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t
tp_rng_u64(struct tp_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

double
tp_rng_uniform(struct tp_rng *r)
{
	return (double)(tp_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t
tp_rng_below(struct tp_rng *r, uint64_t n)
{
	/* Rejection keeps it unbiased for every n, not just powers of two. */
	uint64_t lim = -n % n, x;

	do
		x = tp_rng_u64(r);
	while (x < lim);
	return x % n;
}

double
tp_rng_normal(struct tp_rng *r)
{
	double u1 = 1.0 - tp_rng_uniform(r); /* (0, 1]: log is finite */
	double u2 = tp_rng_uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void
tp_rng_shuffle_u32(struct tp_rng *r, uint32_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)tp_rng_below(r, i);
		uint32_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

uint64_t
tp_seed_derive(uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);

	splitmix64(&x);
	return splitmix64(&x);
}
