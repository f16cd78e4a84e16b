/*
 * qmc.c: the unit-cube sequences behind tp-sample.  The playbook prefers
 * quasi-random search during exploration ("jittered, shuffled grid search"):
 * low-discrepancy points spread trials more evenly than random ones while
 * staying non-adaptive and reproducible.  Scrambling keeps that evenness and
 * makes each seed an independent, unbiased draw.
 *
 * Sobol: Joe-Kuo new-joe-kuo-6.21201 direction numbers (lib/sobol_dirnum.h,
 * made by scripts/extract-sobol.py), points in Gray-code order as in
 * scipy.stats.qmc, 52-bit fixed point, scrambled by a random lower-triangular
 * binary matrix per dimension (Matousek's linear matrix scramble) and a
 * random digital shift.  Halton: the first d primes as bases, every digit
 * position of every base with its own random permutation (one permutation
 * over large bases leaves the well-known correlated projections).  The exact
 * recipes are in tp-sample(1) ("ALGORITHMS").
 */
#include <stdlib.h>
#include <string.h>

#include "tp/qmc.h"
#include "tp/rng.h"

#include "sobol_dirnum.h"

#define BITS 52 /* fixed-point bits: the double mantissa, so no rounding */
#define NDIR 32 /* direction numbers: indices below 2^32 */

/* Streams of tp_seed_derive(seed, .): one per method, unrelated to the
 * per-trial seeds that tp/study.h derives. */
#define STREAM_SOBOL 0x736f626f6cULL  /* "sobol" */
#define STREAM_HALTON 0x68616c746fULL /* "halto" */
#define STREAM_RANDOM 0x72616e646fULL /* "rando" */

struct halton_dim {
	uint32_t base, ndig; /* ndig: largest D with base^D <= 2^52 */
	uint64_t scale;      /* base^ndig */
	uint64_t *weight;    /* weight[k] = base^(ndig-1-k) */
	uint32_t *perm;      /* perm[k * base + a]: digit a at position k */
};

struct tp_qmc {
	enum tp_qmc_kind kind;
	int d;
	uint64_t seed, size;
	uint64_t *dir;            /* Sobol: dir[j * NDIR + k], scrambled */
	uint64_t *shift;          /* Sobol: shift[j] */
	struct halton_dim *halton; /* Halton: [d] */
	int *levels;              /* grid: [d] */
};

int
tp_qmc_kind_parse(const char *s, enum tp_qmc_kind *out)
{
	static const char *const names[] = {"sobol", "halton", "random", "grid"};

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum tp_qmc_kind)i;
			return 0;
		}
	return -1;
}

const char *
tp_qmc_kind_name(enum tp_qmc_kind kind)
{
	switch (kind) {
	case TP_QMC_SOBOL: return "sobol";
	case TP_QMC_HALTON: return "halton";
	case TP_QMC_RANDOM: return "random";
	case TP_QMC_GRID: return "grid";
	}
	return "?";
}

static int
parity64(uint64_t x)
{
	return __builtin_parityll(x);
}

/* Unscrambled direction numbers of dimension j as BITS-bit fractions:
 * v_k = m_k / 2^(k+1), m_k from Joe and Kuo's recurrence. */
static void
sobol_directions(int j, uint64_t *v)
{
	unsigned poly = tp_sobol_dirnum[j].poly;
	int s = 0;
	uint64_t m[NDIR];

	while (poly >> (s + 1))
		s++;
	if (s == 0) { /* van der Corput */
		for (int k = 0; k < NDIR; k++)
			m[k] = 1;
	} else {
		for (int k = 0; k < s && k < NDIR; k++)
			m[k] = tp_sobol_dirnum[j].m[k];
		for (int k = s; k < NDIR; k++) {
			/* m_k = 2 a_1 m_{k-1} ^ ... ^ 2^s m_{k-s} ^ m_{k-s} */
			uint64_t x = m[k - s] ^ (m[k - s] << s);

			for (int t = 1; t < s; t++)
				if ((poly >> (s - t)) & 1)
					x ^= m[k - t] << t;
			m[k] = x;
		}
	}
	for (int k = 0; k < NDIR; k++)
		v[k] = m[k] << (BITS - 1 - k);
}

/* Matousek's linear matrix scramble: output bit t (weight 2^-(t+1)) is
 * input bit t xor a random combination of the more significant input bits,
 * so the matrix is invertible on every leading block of bits and every
 * elementary interval keeps its count (the net property survives). */
static void
sobol_scramble(struct tp_rng *r, uint64_t *v, uint64_t *shift)
{
	const uint64_t all = (1ULL << BITS) - 1;
	uint64_t row[BITS];

	*shift = tp_rng_u64(r) >> (64 - BITS);
	for (int t = 0; t < BITS; t++) {
		int p = BITS - 1 - t;
		uint64_t above = all & ~((2ULL << p) - 1);

		row[t] = ((tp_rng_u64(r) >> (64 - BITS)) & above) | (1ULL << p);
	}
	for (int k = 0; k < NDIR; k++) {
		uint64_t out = 0;

		for (int t = 0; t < BITS; t++)
			if (parity64(row[t] & v[k]))
				out |= 1ULL << (BITS - 1 - t);
		v[k] = out;
	}
}

static int
is_prime(uint32_t n)
{
	for (uint32_t p = 2; p * p <= n; p++)
		if (n % p == 0)
			return 0;
	return n >= 2;
}

static void
halton_init(struct halton_dim *h, uint32_t base, struct tp_rng *r)
{
	uint64_t scale = 1;
	uint32_t nd = 0;

	while (scale <= (1ULL << BITS) / base) {
		scale *= base;
		nd++;
	}
	h->base = base;
	h->ndig = nd;
	h->scale = scale;
	h->weight = tp_xmallocarray(nd, sizeof *h->weight);
	h->perm = tp_xmallocarray((size_t)nd * base, sizeof *h->perm);
	for (uint32_t k = 0; k < nd; k++) {
		uint32_t *p = h->perm + (size_t)k * base;

		scale /= base;
		h->weight[k] = scale;
		for (uint32_t a = 0; a < base; a++)
			p[a] = a;
		if (r)
			tp_rng_shuffle_u32(r, p, base);
	}
}

struct tp_qmc *
tp_qmc_new(enum tp_qmc_kind kind, int d, const int *levels, uint64_t seed,
           int flags)
{
	struct tp_qmc *q;
	int plain = flags & TP_QMC_PLAIN;

	if (d < 1 || d > TP_QMC_MAXDIM) {
		tp_errorf("%s: %d dimensions: supported are 1 to %d",
		          tp_qmc_kind_name(kind), d, TP_QMC_MAXDIM);
		return NULL;
	}
	q = tp_xcalloc(1, sizeof *q);
	q->kind = kind;
	q->d = d;
	q->seed = seed;
	q->size = TP_QMC_MAXINDEX;
	switch (kind) {
	case TP_QMC_SOBOL: {
		uint64_t base = tp_seed_derive(seed, STREAM_SOBOL);

		q->dir = tp_xmallocarray((size_t)d * NDIR, sizeof *q->dir);
		q->shift = tp_xcalloc((size_t)d, sizeof *q->shift);
		for (int j = 0; j < d; j++) {
			struct tp_rng r;

			sobol_directions(j, q->dir + (size_t)j * NDIR);
			if (plain)
				continue;
			/* One stream per dimension: adding a parameter to a
			 * space leaves the other coordinates unchanged. */
			tp_rng_seed(&r, tp_seed_derive(base, (uint64_t)j));
			sobol_scramble(&r, q->dir + (size_t)j * NDIR, &q->shift[j]);
		}
		break;
	}
	case TP_QMC_HALTON: {
		uint64_t base = tp_seed_derive(seed, STREAM_HALTON);
		uint32_t p = 1;

		q->halton = tp_xcalloc((size_t)d, sizeof *q->halton);
		for (int j = 0; j < d; j++) {
			struct tp_rng r;

			do
				p++;
			while (!is_prime(p));
			tp_rng_seed(&r, tp_seed_derive(base, (uint64_t)j));
			halton_init(&q->halton[j], p, plain ? NULL : &r);
		}
		break;
	}
	case TP_QMC_RANDOM:
		break;
	case TP_QMC_GRID: {
		uint64_t n = 1;

		q->levels = tp_xmallocarray((size_t)d, sizeof *q->levels);
		for (int j = 0; j < d; j++) {
			int l = levels ? levels[j] : 0;

			if (l < 1 || n > (1ULL << 62) / (uint64_t)l) {
				tp_errorf("grid: axis %d: %d levels (the grid needs "
				          "1 or more per axis, 2^62 points at most)",
				          j + 1, l);
				tp_qmc_free(q);
				return NULL;
			}
			q->levels[j] = l;
			n *= (uint64_t)l;
		}
		q->size = n;
		break;
	}
	default:
		tp_errorf("unknown sampling method %d", (int)kind);
		free(q);
		return NULL;
	}
	return q;
}

void
tp_qmc_free(struct tp_qmc *q)
{
	if (!q)
		return;
	if (q->halton)
		for (int j = 0; j < q->d; j++) {
			free(q->halton[j].weight);
			free(q->halton[j].perm);
		}
	free(q->halton);
	free(q->dir);
	free(q->shift);
	free(q->levels);
	free(q);
}

int
tp_qmc_dim(const struct tp_qmc *q)
{
	return q->d;
}

uint64_t
tp_qmc_size(const struct tp_qmc *q)
{
	return q->size;
}

/* Coordinate j of Sobol point i as a BITS-bit fraction; only the low NDIR
 * bits of the Gray code count (indices are below 2^32). */
static uint64_t
sobol_raw(const struct tp_qmc *q, int j, uint64_t i)
{
	const uint64_t *v = q->dir + (size_t)j * NDIR;
	uint64_t g = i ^ (i >> 1), s = q->shift[j];

	for (int k = 0; k < NDIR && (g >> k); k++)
		if ((g >> k) & 1)
			s ^= v[k];
	return s;
}

static double
fixed_to_double(uint64_t x)
{
	/* signed conversion: one instruction, exact below 2^53 */
	return (double)(int64_t)x * 0x1.0p-52;
}

static uint64_t
halton_value(const struct halton_dim *h, uint64_t i)
{
	uint64_t x = 0;

	/* Index i mod base^ndig: beyond that the digits are cut off. */
	for (uint32_t k = 0; k < h->ndig; k++) {
		x += h->perm[(size_t)k * h->base + i % h->base] * h->weight[k];
		i /= h->base;
	}
	return x;
}

void
tp_qmc_point(const struct tp_qmc *q, uint64_t i, double *x)
{
	switch (q->kind) {
	case TP_QMC_SOBOL:
		for (int j = 0; j < q->d; j++)
			x[j] = fixed_to_double(sobol_raw(q, j, i));
		break;
	case TP_QMC_HALTON:
		for (int j = 0; j < q->d; j++) {
			const struct halton_dim *h = &q->halton[j];

			x[j] = (double)halton_value(h, i) / (double)h->scale;
		}
		break;
	case TP_QMC_RANDOM: {
		struct tp_rng r;

		tp_rng_seed(&r, tp_seed_derive(tp_seed_derive(q->seed, STREAM_RANDOM), i));
		for (int j = 0; j < q->d; j++)
			x[j] = tp_rng_uniform(&r);
		break;
	}
	case TP_QMC_GRID:
		/* The last axis varies fastest, as nested loops in declaration
		 * order would. */
		for (int j = q->d - 1; j >= 0; j--) {
			uint64_t l = (uint64_t)q->levels[j];

			x[j] = ((double)(i % l) + 0.5) / (double)l;
			i /= l;
		}
		break;
	}
}

static void
sobol_fill(const struct tp_qmc *q, uint64_t start, size_t n, double *x)
{
	int d = q->d;
	uint64_t *cur = tp_xmallocarray((size_t)d, sizeof *cur);

	for (int j = 0; j < d; j++)
		cur[j] = sobol_raw(q, j, start);
	for (size_t r = 0; r < n; r++) {
		double *row = x + r * (size_t)d;

		for (int j = 0; j < d; j++)
			row[j] = fixed_to_double(cur[j]);
		if (r + 1 < n) {
			/* gray(i+1) = gray(i) ^ 2^ctz(i+1): one xor per coordinate */
			uint64_t next = start + r + 1;
			int k = __builtin_ctzll(next);

			for (int j = 0; j < d; j++)
				cur[j] = k < NDIR ? cur[j] ^ q->dir[(size_t)j * NDIR + k]
				                  : sobol_raw(q, j, next);
		}
	}
	free(cur);
}

static void
halton_fill(const struct tp_qmc *q, uint64_t start, size_t n, double *x)
{
	int d = q->d;

	for (int j = 0; j < d; j++) {
		const struct halton_dim *h = &q->halton[j];
		uint32_t *dig = tp_xcalloc(h->ndig, sizeof *dig);
		uint64_t i = start, val;

		for (uint32_t k = 0; k < h->ndig; k++) {
			dig[k] = (uint32_t)(i % h->base);
			i /= h->base;
		}
		val = halton_value(h, start);
		for (size_t r = 0; r < n; r++) {
			x[r * (size_t)d + j] = (double)val / (double)h->scale;
			/* Increment the digit counter; the value changes by the
			 * permuted digits that changed, in exact integers. */
			for (uint32_t k = 0; k < h->ndig; k++) {
				const uint32_t *p = h->perm + (size_t)k * h->base;
				uint32_t a = dig[k], b = a + 1 == h->base ? 0 : a + 1;

				val = val - p[a] * h->weight[k] + p[b] * h->weight[k];
				dig[k] = b;
				if (b)
					break;
			}
		}
		free(dig);
	}
}

void
tp_qmc_fill(const struct tp_qmc *q, uint64_t start, size_t n, double *x)
{
	if (n == 0)
		return;
	switch (q->kind) {
	case TP_QMC_SOBOL:
		sobol_fill(q, start, n, x);
		break;
	case TP_QMC_HALTON:
		halton_fill(q, start, n, x);
		break;
	default:
		for (size_t r = 0; r < n; r++)
			tp_qmc_point(q, start + r, x + r * (size_t)q->d);
	}
}
