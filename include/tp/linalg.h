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

/*
 * tp_sgemm with the rows or the columns of C (whichever are more) cut
 * into one block per thread of the pool, each block one single-threaded
 * OpenBLAS call (the caller sets OpenBLAS to 1 thread).  Cuts fall on
 * multiples of 16 and depend only on the shapes and the thread count, so
 * the same inputs and threads give the same bits.  A small product, or a
 * NULL pool, runs whole in the caller.
 */
struct tp_pool;
void tp_sgemm_pool(struct tp_pool *p, int ta, int tb, int M, int N, int K,
                   float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc);

/*
 * The same, always cut by rows, and then(arg, lo, hi) called by the thread
 * that computed rows [lo, hi) of C as soon as they are done, while they
 * are in its cache (concurrently with the other blocks; once with the
 * whole range when the product runs in the caller).
 */
typedef void tp_gemm_rows_fn(void *arg, int lo, int hi);
void tp_sgemm_pool_rows(struct tp_pool *p, int ta, int tb, int M, int N,
                        int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C,
                        int ldc, tp_gemm_rows_fn *then, void *arg);

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
