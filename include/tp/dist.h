/*
 * dist.h: the processes of a data-parallel run (doc/tp-distributed.7), the
 * only module that touches MPI.
 *
 * Built with `make MPI=1` (TP_HAVE_MPI) and started by mpirun, a program
 * sees P ranks and can sum arrays across them; otherwise every function is
 * the one-rank identity and no MPI library is linked, so plain builds and
 * plain runs pay nothing.  MPI is initialized only when the process was
 * launched by mpirun (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK in the
 * environment): `tp-train` run by hand never starts an MPI runtime.
 *
 * The sums are deterministic: element i is added in rank order 0, 1, ...,
 * P-1 by the rank that owns i's chunk, and every rank receives the same
 * bits (a reduce-scatter then an allgather, ring allreduce's traffic of
 * 2 (P-1)/P times the array).  MPI_Allreduce leaves both the order and the
 * agreement of the ranks to the implementation; identical parameters on
 * every rank must not depend on that.  (With two ranks each element is a
 * single commutative addition, and MPI_Allreduce is used.)
 *
 * Errors: a failed collective prints one line and returns -1.  Because the
 * other ranks may then wait forever, a program ends a failed P-rank run with
 * tp_dist_abort.
 */
#ifndef TP_DIST_H
#define TP_DIST_H

#include <stddef.h>

#include "tp/err.h"

struct tp_dist;

/*
 * The world of this process: initializes MPI when built with it and
 * launched by mpirun, else a 1-rank world.  NULL after one line when
 * mpirun started several ranks of a program built without MPI (each would
 * train alone and all would write the same files) or MPI_Init failed.
 * Close with tp_dist_close (accepts NULL).
 */
struct tp_dist *tp_dist_open(void) TP_WUR;
/* MPI_Finalize when MPI was initialized; frees d. */
void tp_dist_close(struct tp_dist *d);
/* End every rank of the job now with exit code status (MPI_Abort), when
 * there are several; returns (doing nothing) in a 1-rank world.  Like
 * out-of-memory, the one way this module exits: for main() only. */
void tp_dist_abort(struct tp_dist *d, int status);

/* This process's rank in [0, size) and the number of ranks; a NULL d is
 * the 1-rank world. */
int tp_dist_rank(const struct tp_dist *d);
int tp_dist_size(const struct tp_dist *d);
/* 1 when this program was built with MPI. */
int tp_dist_built_with_mpi(void);

/* buf[n] = the sum of every rank's buf[n], added in rank order, identical
 * bits on every rank.  Every rank must call it with the same n.  0 or -1. */
int tp_dist_sum_f32(struct tp_dist *d, float *buf, size_t n) TP_WUR;
int tp_dist_sum_f64(struct tp_dist *d, double *buf, size_t n) TP_WUR;
/* The same with MPI_Allreduce (implementation order): for benchmarks. */
int tp_dist_allreduce_f32(struct tp_dist *d, float *buf, size_t n) TP_WUR;
/* Copy root's buf[bytes] to every rank.  0 or -1. */
int tp_dist_bcast(struct tp_dist *d, void *buf, size_t bytes, int root) TP_WUR;
/* Rank r's buf[bytes] to out[r * bytes] on root (out is only written
 * there; with one rank, a copy).  Every rank must call it.  0 or -1. */
int tp_dist_gather(struct tp_dist *d, const void *buf, size_t bytes, void *out,
                   int root) TP_WUR;
/* Wait for every rank.  0 or -1. */
int tp_dist_barrier(struct tp_dist *d) TP_WUR;

#endif
