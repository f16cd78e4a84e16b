/*
 * test-dist: the rank sums of tp/dist.h.  Run plainly it checks the 1-rank
 * identities (and that a launcher's environment is refused without MPI);
 * t-mpi.sh runs the MPI build of it under mpirun -np 3, where every rank
 * checks that the sums are exact, in rank order and the same bits on all.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tp/dist.h"

/* Rank r's contribution to element i: values whose float sums round, so
 * that the order of additions shows in the bits. */
static double
value(int r, size_t i)
{
	return (double)(r + 1) * 0.1 + (double)i * 1e-3 + 1.0 / (double)(3 + r + i);
}

static void
check_sum_f32(struct tp_dist *d, size_t n)
{
	int p = tp_dist_size(d), r = tp_dist_rank(d);
	float *a = malloc((n ? n : 1) * sizeof *a), *want = malloc((n ? n : 1) * sizeof *want);
	float *root = malloc((n ? n : 1) * sizeof *root);
	int same = 1, agree;

	for (size_t i = 0; i < n; i++) {
		a[i] = (float)value(r, i);
		want[i] = (float)value(0, i);
		for (int j = 1; j < p; j++)
			want[i] += (float)value(j, i);
	}
	CHECK(tp_dist_sum_f32(d, a, n) == 0, "sum_f32 of %zu floats on %d ranks", n, p);
	for (size_t i = 0; i < n; i++)
		same &= memcmp(&a[i], &want[i], sizeof a[i]) == 0;
	CHECK(same, "sum_f32 of %zu: the rank-order sum, bit for bit", n);
	memcpy(root, a, n * sizeof *a);
	agree = tp_dist_bcast(d, root, n * sizeof *root, 0) == 0 &&
	        memcmp(root, a, n * sizeof *a) == 0;
	CHECK(agree, "sum_f32 of %zu: rank %d has rank 0's bits", n, r);
	free(a);
	free(want);
	free(root);
}

static void
check_sum_f64(struct tp_dist *d, size_t n)
{
	int p = tp_dist_size(d), r = tp_dist_rank(d);
	double *a = malloc((n ? n : 1) * sizeof *a), *want = malloc((n ? n : 1) * sizeof *want);
	int same = 1;

	for (size_t i = 0; i < n; i++) {
		a[i] = value(r, i);
		want[i] = value(0, i);
		for (int j = 1; j < p; j++)
			want[i] += value(j, i);
	}
	CHECK(tp_dist_sum_f64(d, a, n) == 0, "sum_f64 of %zu doubles", n);
	for (size_t i = 0; i < n; i++)
		same &= memcmp(&a[i], &want[i], sizeof a[i]) == 0;
	CHECK(same, "sum_f64 of %zu: the rank-order sum, bit for bit", n);
	free(a);
	free(want);
}

int
main(void)
{
	struct tp_dist *d;
	int p;

	if (!tp_dist_built_with_mpi() && !getenv("OMPI_COMM_WORLD_SIZE")) {
		setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
		d = tp_dist_open();
		CHECK(d == NULL, "without MPI, a 2-rank launcher is refused");
		tp_dist_close(d);
		setenv("OMPI_COMM_WORLD_SIZE", "1", 1);
		d = tp_dist_open();
		CHECK(d && tp_dist_size(d) == 1, "without MPI, a 1-rank launcher is one rank");
		tp_dist_close(d);
		unsetenv("OMPI_COMM_WORLD_SIZE");
	}
	d = tp_dist_open();
	if (!CHECK(d != NULL, "tp_dist_open"))
		return check_done();
	p = tp_dist_size(d);
	CHECK(p >= 1 && tp_dist_rank(d) >= 0 && tp_dist_rank(d) < p,
	      "rank %d of %d", tp_dist_rank(d), p);
	CHECK(tp_dist_size(NULL) == 1 && tp_dist_rank(NULL) == 0,
	      "NULL is the 1-rank world");
	/* Fewer elements than ranks, uneven chunks, and a long array. */
	check_sum_f32(d, 0);
	check_sum_f32(d, 1);
	check_sum_f32(d, 2);
	check_sum_f32(d, 7);
	check_sum_f32(d, 100003);
	check_sum_f64(d, 1);
	check_sum_f64(d, 1001);
	{
		float v[3] = {1, 2, 3};
		int ok = tp_dist_allreduce_f32(d, v, 3) == 0 && v[0] == (float)p &&
		         v[1] == 2.0f * (float)p && v[2] == 3.0f * (float)p;
		CHECK(ok, "allreduce_f32 of small integers is exact");
	}
	{
		int64_t x = tp_dist_rank(d) == 0 ? 42 : -1;
		CHECK(tp_dist_bcast(d, &x, sizeof x, 0) == 0 && x == 42, "bcast from rank 0");
	}
	CHECK(tp_dist_barrier(d) == 0, "barrier");
	tp_dist_abort(NULL, 3); /* returns: no job to end */
	tp_dist_close(d);
	tp_dist_close(NULL);
	return check_done();
}
