/*
 * linalg.h: dense linear algebra, the only module that touches OpenBLAS.
 * Matrices are row-major.  Single precision for the networks (sgemm),
 * double precision for the Gaussian process of the Bayesian search.
 */
#ifndef TP_LINALG_H
#define TP_LINALG_H

#include <stddef.h>

#include "tp/err.h"

/*
 * C[M,N] = alpha * op(A) op(B) + beta * C, row-major; op(A) is [M,K]
 * (A is [K,M] when ta), op(B) is [K,N] (B is [N,K] when tb).
 */
void tp_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* Same in double precision. */
void tp_dgemm(int ta, int tb, int M, int N, int K, double alpha,
              const double *A, int lda, const double *B, int ldb, double beta,
              double *C, int ldc);

/* Threads OpenBLAS may use for one call; n <= 0 means its default.
 * The default is what OPENBLAS_NUM_THREADS says, else the core count. */
void tp_blas_set_threads(int n);
int tp_blas_threads(void);

/*
 * In-place Cholesky factor of the symmetric positive definite [n,n] A:
 * on success the lower triangle holds L with A = L L^T (the strict upper
 * triangle is zeroed).  Returns 0, or the order k > 0 of the leading minor
 * that is not positive definite (A is then unspecified).
 */
int tp_dpotrf(int n, double *A) TP_WUR;

/* Solve L L^T X = B in place for B [n, nrhs], given L from tp_dpotrf. */
void tp_dpotrs(int n, int nrhs, const double *L, double *B);

/* Solve L X = B in place (forward substitution), B [n, nrhs]. */
void tp_dtrsv_lower(int n, int nrhs, const double *L, double *B);

#endif
