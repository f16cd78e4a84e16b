/*
 * qmc.h: points of the unit cube [0,1)^d for the search: scrambled Sobol,
 * scrambled Halton, uniform random and a midpoint grid.
 *
 * Every point is a pure function of (method, d, levels, seed, flags, index):
 * point i can be computed alone, so a slice of a sequence equals the same
 * rows of the whole and trials can be generated in any order by any number
 * of workers.  The exact algorithms are specified in tp-sample(1) and pinned
 * by golden values in tests/unit/test-qmc.c: the same seed gives the same
 * points in every version of tp.
 */
#ifndef TP_QMC_H
#define TP_QMC_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

enum tp_qmc_kind {
	TP_QMC_SOBOL,  /* Joe-Kuo directions, linear matrix scramble + shift */
	TP_QMC_HALTON, /* first d prime bases, random permutation per digit */
	TP_QMC_RANDOM, /* independent uniforms (xoshiro256** of tp/rng.h) */
	TP_QMC_GRID,   /* midpoints (l + 1/2) / levels[j], first axis slowest */
};

enum {
	TP_QMC_PLAIN = 1, /* Sobol/Halton without scrambling (reference tests) */
};

#define TP_QMC_MAXDIM 1024        /* direction numbers shipped in the repo */
#define TP_QMC_MAXINDEX (1ULL << 32) /* Sobol uses 32 direction numbers */

struct tp_qmc;

/*
 * A generator of d-dimensional points, 1 <= d <= TP_QMC_MAXDIM.  levels[d]
 * (borrowed, read only here) gives the axis sizes of the grid and is unused
 * (may be NULL) for the other kinds.  NULL on error (printed).
 */
struct tp_qmc *tp_qmc_new(enum tp_qmc_kind kind, int d, const int *levels,
                          uint64_t seed, int flags) TP_WUR;
void tp_qmc_free(struct tp_qmc *q);

int tp_qmc_dim(const struct tp_qmc *q);
/* Number of distinct indices: TP_QMC_MAXINDEX, or the grid's size. */
uint64_t tp_qmc_size(const struct tp_qmc *q);

/* Point i (< tp_qmc_size) into x[d], each coordinate in [0, 1). */
void tp_qmc_point(const struct tp_qmc *q, uint64_t i, double *x);
/* Points start .. start+n-1 into x[n][d] (row-major); bit-identical to n
 * calls of tp_qmc_point, but incremental (Gray code, digit counters). */
void tp_qmc_fill(const struct tp_qmc *q, uint64_t start, size_t n, double *x);

/* "sobol", "halton", "random", "grid" <-> kind; parse returns 0 or -1
 * (nothing printed). */
int tp_qmc_kind_parse(const char *s, enum tp_qmc_kind *out) TP_WUR;
const char *tp_qmc_kind_name(enum tp_qmc_kind kind);

#endif
