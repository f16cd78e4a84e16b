/*
 * linalg.c: thin wrappers over OpenBLAS/LAPACK so that no other module
 * includes cblas.h, and so that the calling convention (row-major, ints)
 * is decided in one place.
 */
#include <cblas.h>
#include <string.h>

#include "tp/linalg.h"
#include "tp/pool.h"

/* LAPACK's Fortran symbols, exported by libopenblas (no lapacke.h needed). */
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda,
                    int *info);

void
tp_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
         int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
	            tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
	            ldb, beta, C, ldc);
}

struct gemm_job {
	int ta, tb, M, N, K, by_rows;
	float alpha, beta;
	const float *A, *B;
	int lda, ldb, ldc;
	float *C;
	tp_gemm_rows_fn *then;
	void *arg;
};

static void
gemm_block(void *arg, size_t lo, size_t hi)
{
	const struct gemm_job *j = arg;
	int n = (int)(hi - lo);

	if (n <= 0)
		return;
	if (j->by_rows) /* rows lo..hi of C: rows of op(A) */
		tp_sgemm(j->ta, j->tb, n, j->N, j->K, j->alpha,
		         j->ta ? j->A + lo : j->A + lo * (size_t)j->lda, j->lda, j->B,
		         j->ldb, j->beta, j->C + lo * (size_t)j->ldc, j->ldc);
	else /* columns lo..hi of C: columns of op(B) */
		tp_sgemm(j->ta, j->tb, j->M, n, j->K, j->alpha, j->A, j->lda,
		         j->tb ? j->B + lo * (size_t)j->ldb : j->B + lo, j->ldb,
		         j->beta, j->C + lo, j->ldc);
	if (j->then)
		j->then(j->arg, (int)lo, (int)hi);
}

/* Multiply-adds a block should have at least: below this a thread's
 * wake-up and OpenBLAS's per-call set-up outweigh the work. */
#define GEMM_BLOCK_MIN (1L << 17)

static void
gemm_split(struct tp_pool *p, struct gemm_job *j)
{
	int len = j->by_rows ? j->M : j->N, other = j->by_rows ? j->N : j->M;
	long per = (long)other * j->K;
	size_t min = (size_t)(GEMM_BLOCK_MIN / (per > 0 ? per : 1)) + 1;

	if (tp_pool_threads(p) <= 1 || len < 32 || j->K <= 0)
		gemm_block(j, 0, (size_t)len);
	else
		tp_pool_for(p, (size_t)len, min, gemm_block, j);
}

void
tp_sgemm_pool(struct tp_pool *p, int ta, int tb, int M, int N, int K,
              float alpha, const float *A, int lda, const float *B, int ldb,
              float beta, float *C, int ldc)
{
	struct gemm_job j = {ta, tb, M, N, K, M >= N, alpha, beta, A, B,
	                     lda, ldb, ldc, C, NULL, NULL};

	gemm_split(p, &j);
}

void
tp_sgemm_pool_rows(struct tp_pool *p, int ta, int tb, int M, int N, int K,
                   float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc,
                   tp_gemm_rows_fn *then, void *arg)
{
	struct gemm_job j = {ta, tb, M, N, K, 1, alpha, beta, A, B,
	                     lda, ldb, ldc, C, then, arg};

	gemm_split(p, &j);
}

void
tp_dgemm(int ta, int tb, int M, int N, int K, double alpha, const double *A,
         int lda, const double *B, int ldb, double beta, double *C, int ldc)
{
	cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
	            tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
	            ldb, beta, C, ldc);
}

void
tp_blas_set_threads(int n)
{
	if (n > 0)
		openblas_set_num_threads(n);
}

int
tp_blas_threads(void)
{
	return openblas_get_num_threads();
}

int
tp_dpotrf(int n, double *A)
{
	int info = 0;

	/* Row-major lower == column-major upper: ask LAPACK for "U". */
	dpotrf_("U", &n, A, &n, &info);
	if (info != 0)
		return info > 0 ? info : n;
	for (int i = 0; i < n; i++)
		memset(A + (size_t)i * n + i + 1, 0, sizeof *A * (size_t)(n - i - 1));
	return 0;
}

void
tp_dtrsv_lower(int n, int nrhs, const double *L, double *B)
{
	cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans,
	            CblasNonUnit, n, nrhs, 1.0, L, n, B, nrhs);
}

void
tp_dpotrs(int n, int nrhs, const double *L, double *B)
{
	tp_dtrsv_lower(n, nrhs, L, B);
	cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans,
	            CblasNonUnit, n, nrhs, 1.0, L, n, B, nrhs);
}
