/*
 * test-linalg: tp_sgemm against a double-precision product for every
 * transpose pair, and tp_sgemm_pool / tp_sgemm_pool_rows cut over a pool:
 * the same product, the same bits from run to run at a thread count, and
 * every row of C handed to the callback once, already computed.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tp/linalg.h"
#include "tp/pool.h"

static float
val(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((*s >> 8) % 2001) / 1000.0f - 1.0f;
}

/* op(X)[r][c] for X stored row-major with leading dimension ld. */
static double
at(const float *X, int trans, int ld, int r, int c)
{
	return trans ? X[(size_t)c * ld + r] : X[(size_t)r * ld + c];
}

struct prod {
	int ta, tb, M, N, K, lda, ldb, ldc;
	float alpha, beta;
	float *A, *B, *C0, *want;
};

static void
prod_make(struct prod *p, int ta, int tb, int M, int N, int K, float alpha,
          float beta, unsigned seed)
{
	int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;

	*p = (struct prod){ta, tb, M, N, K, ac + 3, bc + 1, N + 5, alpha, beta,
	                   NULL, NULL, NULL, NULL};
	p->A = malloc(sizeof(float) * (size_t)ar * p->lda);
	p->B = malloc(sizeof(float) * (size_t)br * p->ldb);
	p->C0 = malloc(sizeof(float) * (size_t)M * p->ldc);
	p->want = malloc(sizeof(float) * (size_t)M * N);
	for (size_t i = 0; i < (size_t)ar * p->lda; i++)
		p->A[i] = val(&seed);
	for (size_t i = 0; i < (size_t)br * p->ldb; i++)
		p->B[i] = val(&seed);
	for (size_t i = 0; i < (size_t)M * p->ldc; i++)
		p->C0[i] = val(&seed);
	for (int r = 0; r < M; r++)
		for (int c = 0; c < N; c++) {
			double s = 0;

			for (int k = 0; k < K; k++)
				s += at(p->A, ta, p->lda, r, k) * at(p->B, tb, p->ldb, k, c);
			p->want[(size_t)r * N + c] =
			    (float)(alpha * s + beta * p->C0[(size_t)r * p->ldc + c]);
		}
}

static void
prod_free(struct prod *p)
{
	free(p->A);
	free(p->B);
	free(p->C0);
	free(p->want);
}

/* C matches the double-precision product; the padding past N untouched. */
static int
close_to(const struct prod *p, const float *C)
{
	for (int r = 0; r < p->M; r++) {
		for (int c = 0; c < p->N; c++) {
			double w = p->want[(size_t)r * p->N + c],
			       g = C[(size_t)r * p->ldc + c];

			if (!(fabs(g - w) <= 1e-5 * (1 + p->K) * (1 + fabs(w))))
				return 0;
		}
		for (int c = p->N; c < p->ldc; c++)
			if (memcmp(&C[(size_t)r * p->ldc + c], &p->C0[(size_t)r * p->ldc + c],
			           sizeof *C) != 0)
				return 0;
	}
	return 1;
}

static float *
run(const struct prod *p, struct tp_pool *pool)
{
	float *C = malloc(sizeof(float) * (size_t)p->M * p->ldc);

	memcpy(C, p->C0, sizeof(float) * (size_t)p->M * p->ldc);
	if (pool)
		tp_sgemm_pool(pool, p->ta, p->tb, p->M, p->N, p->K, p->alpha, p->A,
		              p->lda, p->B, p->ldb, p->beta, C, p->ldc);
	else
		tp_sgemm(p->ta, p->tb, p->M, p->N, p->K, p->alpha, p->A, p->lda, p->B,
		         p->ldb, p->beta, C, p->ldc);
	return C;
}

/* The rows callback: each row once, and computed when it arrives. */
struct seen {
	const struct prod *p;
	const float *C;
	unsigned char *rows;
	int bad;
	pthread_mutex_t mu;
};

static void
rows_seen(void *arg, int lo, int hi)
{
	struct seen *s = arg;
	struct prod part = *s->p;

	part.M = hi - lo;
	part.want = s->p->want + (size_t)lo * s->p->N;
	part.C0 = s->p->C0 + (size_t)lo * s->p->ldc;
	int ok = lo >= 0 && hi <= s->p->M && lo < hi &&
	         close_to(&part, s->C + (size_t)lo * s->p->ldc);
	pthread_mutex_lock(&s->mu);
	for (int r = lo; r < hi && ok; r++)
		s->rows[r]++;
	if (!ok)
		s->bad = 1;
	pthread_mutex_unlock(&s->mu);
}

static void
check_rows(const struct prod *p, struct tp_pool *pool, const char *what)
{
	float *C = malloc(sizeof(float) * (size_t)p->M * p->ldc);
	struct seen s = {p, C, calloc((size_t)p->M, 1), 0,
	                 PTHREAD_MUTEX_INITIALIZER};
	int once = 1;

	memcpy(C, p->C0, sizeof(float) * (size_t)p->M * p->ldc);
	tp_sgemm_pool_rows(pool, p->ta, p->tb, p->M, p->N, p->K, p->alpha, p->A,
	                   p->lda, p->B, p->ldb, p->beta, C, p->ldc, rows_seen, &s);
	for (int r = 0; r < p->M; r++)
		once &= s.rows[r] == 1;
	CHECK(!s.bad && once && close_to(p, C),
	      "%s: rows: every row handed over once, already computed", what);
	free(s.rows);
	free(C);
}

int
main(void)
{
	static const int shapes[][3] = {
	    {1, 1, 1}, {7, 5, 3}, {33, 37, 784}, {64, 256, 64}, {256, 64, 64},
	    {64, 10, 256}, {10, 256, 64}, {100, 300, 37}, {129, 47, 200},
	};
	struct tp_pool *pool = tp_pool_new(3);

	tp_blas_set_threads(1);
	tp_pool_set_spin(pool, 50);
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		for (int t = 0; t < 4; t++) {
			struct prod p;
			char what[96];
			float beta = i % 2 ? 0.0f : 0.5f;
			float *C1, *C2, *C3;

			prod_make(&p, t & 1, t >> 1, shapes[i][0], shapes[i][1],
			          shapes[i][2], 1.5f, beta, (unsigned)(i * 4 + t + 1));
			snprintf(what, sizeof what, "%c%c %dx%dx%d beta %g",
			         p.ta ? 'T' : 'N', p.tb ? 'T' : 'N', p.M, p.N, p.K, beta);
			C1 = run(&p, NULL);
			C2 = run(&p, pool);
			C3 = run(&p, pool);
			CHECK(close_to(&p, C1), "%s: tp_sgemm is the product", what);
			CHECK(close_to(&p, C2), "%s: on 3 threads, the product", what);
			CHECK(memcmp(C2, C3, sizeof(float) * (size_t)p.M * p.ldc) == 0,
			      "%s: on 3 threads, the same bits again", what);
			check_rows(&p, pool, what);
			check_rows(&p, NULL, what);
			free(C1);
			free(C2);
			free(C3);
			prod_free(&p);
		}
	tp_pool_free(pool);
	return check_done();
}
