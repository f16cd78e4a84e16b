/*
 * linalg.c: thin wrappers over OpenBLAS/LAPACK so that no other module
 * includes cblas.h, and so that the calling convention (row-major, ints)
 * is decided in one place.
 */
#include <cblas.h>
#include <string.h>

#include "tp/linalg.h"

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
