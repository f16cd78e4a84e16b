/*
 * test-qmc.c: the sequences of tp/qmc.h.  Unscrambled Sobol against scipy's
 * Joe-Kuo values (bench/sample/scipy-sobol-ref.py made the tables), the net
 * property of every 1-D projection, the centered L2 discrepancy of scrambled
 * Sobol and Halton against random points, slices against the whole, and
 * golden scrambled values that pin the algorithm across versions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tp/qmc.h"

static const int ref_first[13][32] = {
	{0, 16, 24, 8, 12, 28, 20, 4, 6, 22, 30, 14, 10, 26, 18, 2, 3, 19, 27, 11, 15, 31, 23, 7, 5, 21, 29, 13, 9, 25, 17, 1},
	{0, 16, 8, 24, 12, 28, 4, 20, 10, 26, 2, 18, 6, 22, 14, 30, 15, 31, 7, 23, 3, 19, 11, 27, 5, 21, 13, 29, 9, 25, 1, 17},
	{0, 16, 8, 24, 20, 4, 28, 12, 30, 14, 22, 6, 10, 26, 2, 18, 15, 31, 7, 23, 27, 11, 19, 3, 17, 1, 25, 9, 5, 21, 13, 29},
	{0, 16, 8, 24, 28, 12, 20, 4, 14, 30, 6, 22, 18, 2, 26, 10, 21, 5, 29, 13, 9, 25, 1, 17, 27, 11, 19, 3, 7, 23, 15, 31},
	{0, 16, 24, 8, 12, 28, 20, 4, 18, 2, 10, 26, 30, 14, 6, 22, 9, 25, 17, 1, 5, 21, 29, 13, 27, 11, 3, 19, 23, 7, 15, 31},
	{0, 16, 24, 8, 4, 20, 28, 12, 10, 26, 18, 2, 14, 30, 22, 6, 31, 15, 7, 23, 27, 11, 3, 19, 21, 5, 13, 29, 17, 1, 9, 25},
	{0, 16, 8, 24, 12, 28, 4, 20, 14, 30, 6, 22, 2, 18, 10, 26, 17, 1, 25, 9, 29, 13, 21, 5, 31, 15, 23, 7, 19, 3, 27, 11},
	{0, 16, 24, 8, 28, 12, 4, 20, 30, 14, 6, 22, 2, 18, 26, 10, 27, 11, 3, 19, 7, 23, 31, 15, 5, 21, 29, 13, 25, 9, 1, 17},
	{0, 16, 24, 8, 28, 12, 4, 20, 30, 14, 6, 22, 2, 18, 26, 10, 15, 31, 23, 7, 19, 3, 11, 27, 17, 1, 9, 25, 13, 29, 21, 5},
	{0, 16, 24, 8, 20, 4, 12, 28, 10, 26, 18, 2, 30, 14, 6, 22, 5, 21, 29, 13, 17, 1, 9, 25, 15, 31, 23, 7, 27, 11, 3, 19},
	{0, 16, 24, 8, 4, 20, 28, 12, 22, 6, 14, 30, 18, 2, 10, 26, 3, 19, 27, 11, 7, 23, 31, 15, 21, 5, 13, 29, 17, 1, 9, 25},
	{0, 16, 24, 8, 12, 28, 20, 4, 6, 22, 30, 14, 10, 26, 18, 2, 27, 11, 3, 19, 23, 7, 15, 31, 29, 13, 5, 21, 17, 1, 9, 25},
	{0, 16, 24, 8, 28, 12, 4, 20, 2, 18, 26, 10, 30, 14, 6, 22, 29, 13, 5, 21, 1, 17, 25, 9, 31, 15, 7, 23, 3, 19, 27, 11},
};
static const long ref_at_1000[13] = {235929600, 103809024, 556793856, 726663168, 300941312, 974127104, 49283072, 965738496, 537919488, 74448896, 479199232, 424673280, 766509056};
static const long ref_at_1048575[13] = {1024, 1006648320, 828646400, 494291968, 929870848, 851446784, 354022400, 954000384, 794608640, 444587008, 580715520, 913562624, 993885184};

static const int ref_dims[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 63, 511, 1023};

/* Hickernell's squared centered L2 discrepancy of x[n][d] (scipy's
 * qmc.discrepancy(method="CD")). */
static double
cd2(const double *x, int n, int d)
{
	double a = 1, b = 0, c = 0;

	for (int k = 0; k < d; k++)
		a *= 13.0 / 12.0;
	for (int i = 0; i < n; i++) {
		double p = 1;

		for (int k = 0; k < d; k++) {
			double t = fabs(x[i * d + k] - 0.5);

			p *= 1 + 0.5 * t - 0.5 * t * t;
		}
		b += p;
		for (int j = 0; j < n; j++) {
			double q = 1;

			for (int k = 0; k < d; k++) {
				double s = fabs(x[i * d + k] - 0.5), t = fabs(x[j * d + k] - 0.5);

				q *= 1 + 0.5 * s + 0.5 * t - 0.5 * fabs(x[i * d + k] - x[j * d + k]);
			}
			c += q;
		}
	}
	return a - 2.0 / n * b + c / ((double)n * n);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median_cd2(enum tp_qmc_kind kind, int n, int d, int seeds)
{
	double *x = malloc(sizeof *x * (size_t)n * (size_t)d), v[32];

	for (int s = 0; s < seeds; s++) {
		struct tp_qmc *q = tp_qmc_new(kind, d, NULL, (uint64_t)s + 1, 0);

		tp_qmc_fill(q, 0, (size_t)n, x);
		v[s] = cd2(x, n, d);
		tp_qmc_free(q);
	}
	free(x);
	qsort(v, (size_t)seeds, sizeof *v, cmp_double);
	return v[seeds / 2];
}

static void
test_reference(void)
{
	struct tp_qmc *q = tp_qmc_new(TP_QMC_SOBOL, 1024, NULL, 0, TP_QMC_PLAIN);
	double *x = malloc(sizeof *x * 1024);
	int bad = 0, bad1000 = 0, badlast = 0;

	for (int i = 0; i < 32; i++) {
		tp_qmc_point(q, (uint64_t)i, x);
		for (int k = 0; k < 13; k++)
			bad += x[ref_dims[k]] * 32 != ref_first[k][i];
	}
	tp_qmc_point(q, 1000, x);
	for (int k = 0; k < 13; k++)
		bad1000 += x[ref_dims[k]] * 0x1p30 != (double)ref_at_1000[k];
	tp_qmc_point(q, (1 << 20) - 1, x);
	for (int k = 0; k < 13; k++)
		badlast += x[ref_dims[k]] * 0x1p30 != (double)ref_at_1048575[k];
	CHECK(bad == 0, "unscrambled Sobol: first 32 points of 13 dims match scipy (%d off)", bad);
	CHECK(bad1000 == 0, "unscrambled Sobol: point 1000 matches scipy");
	CHECK(badlast == 0, "unscrambled Sobol: point 2^20-1 matches scipy");
	free(x);
	tp_qmc_free(q);
}

/* Every 1-D projection of the first 2^k points is a permutation of the
 * intervals [j/2^k, (j+1)/2^k): scrambling must keep the net property. */
static void
test_net(int flags, const char *what)
{
	enum { D = 64, K = 12 };
	struct tp_qmc *q = tp_qmc_new(TP_QMC_SOBOL, D, NULL, 7, flags);
	double *x = malloc(sizeof *x * D << K);
	unsigned char *seen = malloc(1u << K);
	int bad = 0;

	tp_qmc_fill(q, 0, 1u << K, x);
	for (int k = 1; k <= K; k++)
		for (int j = 0; j < D; j++) {
			memset(seen, 0, 1u << k);
			for (int i = 0; i < 1 << k; i++) {
				long c = (long)floor(x[i * D + j] * (1 << k));

				if (c < 0 || c >= 1 << k || seen[c]++)
					bad++;
			}
		}
	CHECK(bad == 0, "%s Sobol: first 2^k points, k=1..12, 64 dims: each "
	      "1-D projection hits every j/2^k once (%d misses)", what, bad);
	free(seen);
	free(x);
	tp_qmc_free(q);
}

/* Halton's analogue: the first b^k points fill the intervals of width b^-k. */
static void
test_halton_net(void)
{
	static const int base[5] = {2, 3, 5, 7, 11}, k[5] = {10, 6, 4, 3, 2};
	struct tp_qmc *q = tp_qmc_new(TP_QMC_HALTON, 5, NULL, 3, 0);
	double *x = malloc(sizeof *x * 5 * 1024);
	int bad = 0;

	tp_qmc_fill(q, 0, 1024, x);
	for (int j = 0; j < 5; j++) {
		int m = 1;

		for (int t = 0; t < k[j]; t++)
			m *= base[j];
		char *seen = calloc((size_t)m, 1);
		for (int i = 0; i < m; i++) {
			long c = (long)floor(x[i * 5 + j] * m);

			if (c < 0 || c >= m || seen[c]++)
				bad++;
		}
		free(seen);
	}
	CHECK(bad == 0, "scrambled Halton: first b^k points fill every interval once");
	free(x);
	tp_qmc_free(q);
}

static void
test_discrepancy(void)
{
	static const double plain8[] = {
		0, 0, 0, 0, 0, .5, .5, .5, .5, .5, .75, .25, .25, .25, .75,
		.25, .75, .75, .75, .25, .375, .375, .625, .875, .375,
		.875, .875, .125, .375, .875, .625, .125, .875, .625, .625,
		.125, .625, .375, .125, .125};
	double r, s, h;

	CHECK_CLOSE(cd2(plain8, 8, 5), 0.12760788272410384, 1e-12, 0,
	            "centered L2 discrepancy agrees with scipy on 8 points");
	r = median_cd2(TP_QMC_RANDOM, 256, 5, 11);
	s = median_cd2(TP_QMC_SOBOL, 256, 5, 11);
	h = median_cd2(TP_QMC_HALTON, 256, 5, 11);
	printf("# CD2 n=256 d=5 median of 11 seeds: random %.3g sobol %.3g halton %.3g\n",
	       r, s, h);
	CHECK(r > 3e-3 && r < 1e-2, "random: discrepancy %.3g near scipy's 5.8e-3", r);
	CHECK(s < 1e-3, "scrambled Sobol: discrepancy %.3g < 1e-3", s);
	CHECK(h < 1.5e-3, "scrambled Halton: discrepancy %.3g < 1.5e-3", h);
	CHECK(s < r / 5 && h < r / 3, "both far below random");
}

/* The trap the issue warns about: plain Halton over large prime bases puts
 * 256 points on a few lines of the (307, 311) projection; a permutation per
 * digit of each base restores it to better than random. */
static double
mean_cd2_pair(enum tp_qmc_kind kind, int flags, int j)
{
	enum { D = 64, N = 256 };
	double *x = malloc(sizeof *x * D * N), y[2 * N], m = 0;

	for (int s = 1; s <= 5; s++) {
		struct tp_qmc *q = tp_qmc_new(kind, D, NULL, (uint64_t)s, flags);

		tp_qmc_fill(q, 0, N, x);
		for (int i = 0; i < N; i++) {
			y[2 * i] = x[i * D + j];
			y[2 * i + 1] = x[i * D + j + 1];
		}
		m += cd2(y, N, 2) / 5;
		tp_qmc_free(q);
	}
	free(x);
	return m;
}

static void
test_halton_large_bases(void)
{
	double r = mean_cd2_pair(TP_QMC_RANDOM, 0, 62);
	double h = mean_cd2_pair(TP_QMC_HALTON, 0, 62);
	double p = mean_cd2_pair(TP_QMC_HALTON, TP_QMC_PLAIN, 62);

	printf("# CD2 of dims 63-64 (bases 307, 311), n=256: random %.3g, "
	       "plain Halton %.3g, scrambled Halton %.3g\n", r, p, h);
	CHECK(p > 5 * r, "plain Halton, bases 307 and 311: far worse than random");
	CHECK(h < r, "scrambled Halton, bases 307 and 311: better than random");
}

/* tp_qmc_fill (incremental) equals tp_qmc_point (direct), bit for bit, at
 * any start: slices of the sequence equal the whole. */
static void
test_slices(void)
{
	static const int levels[3] = {3, 1, 4};
	const enum tp_qmc_kind kinds[4] = {TP_QMC_SOBOL, TP_QMC_HALTON,
	                                   TP_QMC_RANDOM, TP_QMC_GRID};

	for (int t = 0; t < 4; t++) {
		struct tp_qmc *q = tp_qmc_new(kinds[t], 3, levels, 11, 0);
		double whole[300 * 3], part[300 * 3], one[3];
		int bad = 0;

		tp_qmc_fill(q, 0, 300, whole);
		tp_qmc_fill(q, 37, 200, part);
		for (int i = 0; i < 200; i++)
			bad += memcmp(part + i * 3, whole + (i + 37) * 3, sizeof one) != 0;
		for (int i = 0; i < 300; i += 7) {
			tp_qmc_point(q, (uint64_t)i, one);
			bad += memcmp(one, whole + i * 3, sizeof one) != 0;
		}
		for (int i = 0; i < 300 * 3; i++)
			bad += !(whole[i] >= 0 && whole[i] < 1);
		CHECK(bad == 0, "%s: fill at 37 and single points equal the whole",
		      tp_qmc_kind_name(kinds[t]));
		tp_qmc_free(q);
	}
	/* the Sobol Gray-code counter past a large power of two */
	struct tp_qmc *q = tp_qmc_new(TP_QMC_SOBOL, 2, NULL, 5, 0);
	double a[8 * 2], b[2];
	int bad = 0;

	tp_qmc_fill(q, (1ULL << 31) - 4, 8, a);
	for (int i = 0; i < 8; i++) {
		tp_qmc_point(q, (1ULL << 31) - 4 + (uint64_t)i, b);
		bad += memcmp(b, a + 2 * i, sizeof b) != 0;
	}
	CHECK(bad == 0, "sobol: fill across 2^31 equals single points");
	tp_qmc_free(q);
}

static void
test_seeds(void)
{
	const enum tp_qmc_kind kinds[3] = {TP_QMC_SOBOL, TP_QMC_HALTON, TP_QMC_RANDOM};

	for (int t = 0; t < 3; t++) {
		struct tp_qmc *a = tp_qmc_new(kinds[t], 4, NULL, 1, 0);
		struct tp_qmc *b = tp_qmc_new(kinds[t], 4, NULL, 1, 0);
		struct tp_qmc *c = tp_qmc_new(kinds[t], 4, NULL, 2, 0);
		double xa[64 * 4], xb[64 * 4], xc[64 * 4];

		tp_qmc_fill(a, 0, 64, xa);
		tp_qmc_fill(b, 0, 64, xb);
		tp_qmc_fill(c, 0, 64, xc);
		CHECK(!memcmp(xa, xb, sizeof xa), "%s: same seed, same points",
		      tp_qmc_kind_name(kinds[t]));
		CHECK(memcmp(xa, xc, sizeof xa), "%s: different seeds differ",
		      tp_qmc_kind_name(kinds[t]));
		tp_qmc_free(a);
		tp_qmc_free(b);
		tp_qmc_free(c);
	}
	/* adding a dimension leaves the others unchanged */
	struct tp_qmc *a = tp_qmc_new(TP_QMC_SOBOL, 3, NULL, 9, 0);
	struct tp_qmc *b = tp_qmc_new(TP_QMC_SOBOL, 4, NULL, 9, 0);
	double xa[3], xb[4];

	tp_qmc_point(a, 17, xa);
	tp_qmc_point(b, 17, xb);
	CHECK(!memcmp(xa, xb, sizeof xa), "sobol: a 4th dimension keeps the first 3");
	tp_qmc_free(a);
	tp_qmc_free(b);
}

static void
test_grid(void)
{
	static const int levels[2] = {2, 3};
	static const double want[6][2] = {
		{.25, 1. / 6}, {.25, .5}, {.25, 5. / 6},
		{.75, 1. / 6}, {.75, .5}, {.75, 5. / 6}};
	struct tp_qmc *q = tp_qmc_new(TP_QMC_GRID, 2, levels, 0, 0);
	double x[2];
	int bad = 0;

	CHECK(tp_qmc_size(q) == 6, "grid 2x3 has 6 points");
	for (int i = 0; i < 6; i++) {
		tp_qmc_point(q, (uint64_t)i, x);
		bad += x[0] != want[i][0] || fabs(x[1] - want[i][1]) > 1e-15;
	}
	CHECK(bad == 0, "grid: midpoints, last axis fastest");
	tp_qmc_free(q);
}

static void
test_errors(void)
{
	static const int zero[2] = {2, 0};

	CHECK(tp_qmc_new(TP_QMC_SOBOL, 0, NULL, 0, 0) == NULL, "0 dimensions refused");
	CHECK(tp_qmc_new(TP_QMC_HALTON, TP_QMC_MAXDIM + 1, NULL, 0, 0) == NULL,
	      "%d dimensions refused", TP_QMC_MAXDIM + 1);
	CHECK(tp_qmc_new(TP_QMC_GRID, 2, zero, 0, 0) == NULL, "grid axis of 0 refused");
	CHECK(tp_qmc_new(TP_QMC_GRID, 2, NULL, 0, 0) == NULL, "grid without levels refused");
}

/* Golden values: the first points of the scrambled sequences for seed 42.
 * They pin the documented algorithm; if this fails, old studies would no
 * longer reproduce. */
static void
test_golden(void)
{
	static const double want[3][3][3] = {
		{{0x1.dc5e85935cb2p-2, 0x1.32aa93a5f676p-3, 0x1.903a3115cf864p-1},
		 {0x1.516e95ed5a0dap-1, 0x1.149e539454662p-1, 0x1.9ad02e7e10794p-2},
		 {0x1.ec5f4249b6f9ep-1, 0x1.d2a8a153d0244p-2, 0x1.21a7d9b988a22p-1}},
		{{0x1.5c79c3d2eb53ap-1, 0x1.2236442ea54f4p-4, 0x1.ce70c3ab19ae3p-1},
		 {0x1.71e70f4bad4e8p-3, 0x1.799c1ddb29ff4p-1, 0x1.367b20efccf5fp-2},
		 {0x1.dc79c3d2eb53ap-1, 0x1.9de2e660fea92p-2, 0x1.680a5d44b347cp-1}},
		{{0x1.91add97f19a8ep-2, 0x1.353f58fbee19p-2, 0x1.4c645eb21d36ap-2},
		 {0x1.cd81d26b8336ap-1, 0x1.c46e7968bd2bp-5, 0x1.fc1910ec6397ep-1},
		 {0x1.d54040f00573ep-1, 0x1.aca4fe1c3e97ap-1, 0x1.323f0f9957b7bp-1}},
	};
	const enum tp_qmc_kind kinds[3] = {TP_QMC_SOBOL, TP_QMC_HALTON, TP_QMC_RANDOM};

	for (int t = 0; t < 3; t++) {
		struct tp_qmc *q = tp_qmc_new(kinds[t], 3, NULL, 42, 0);
		double x[3];
		int bad = 0;

		for (int i = 0; i < 3; i++) {
			tp_qmc_point(q, (uint64_t)i, x);
			bad += memcmp(x, want[t][i], sizeof x) != 0;
		}
		CHECK(bad == 0, "%s: seed 42 gives the golden points of tp 0.1.0",
		      tp_qmc_kind_name(kinds[t]));
		tp_qmc_free(q);
	}
}

int
main(void)
{
	enum tp_qmc_kind k;

	CHECK(tp_qmc_kind_parse("halton", &k) == 0 && k == TP_QMC_HALTON &&
	      tp_qmc_kind_parse("bayes", &k) == -1, "method names");
	test_reference();
	test_net(TP_QMC_PLAIN, "unscrambled");
	test_net(0, "scrambled");
	test_halton_net();
	test_discrepancy();
	test_halton_large_bases();
	test_slices();
	test_seeds();
	test_grid();
	test_errors();
	test_golden();
	return check_done();
}
