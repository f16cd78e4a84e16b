/*
 * dist.c: ranks and deterministic sums over MPI, or the 1-rank identities
 * when built without it (tp/dist.h).  Only this file includes mpi.h.
 *
 * The sum of P > 2 ranks is a reduce-scatter by MPI_Alltoallv (rank r
 * receives chunk r of every rank and adds the P pieces in rank order)
 * followed by an MPI_Allgatherv of the summed chunks: the traffic of a ring
 * allreduce, a fixed order of additions, and one rank computing each
 * element, so all ranks agree to the bit whatever algorithm the MPI library
 * would pick.  Two ranks need none of it (see sum_any).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dist.h"

#ifdef TP_HAVE_MPI
#include <mpi.h>
#endif

struct tp_dist {
	int rank, size;
	int mpi;        /* MPI_Init was called by us */
	void *scratch;  /* receive buffer of the reduce-scatter */
	size_t scratch_bytes;
	int *counts;    /* [4][size]: send counts, send displs, receive counts,
	                 * receive displs */
};

/* Elements per round: chunk counts must fit MPI's int, and the scratch
 * buffer stays bounded for huge arrays. */
#define SEGMENT ((size_t)1 << 26)

static const char *
launcher_size(void)
{
	const char *keys[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *v = getenv(keys[i]);
		if (v && *v)
			return v;
	}
	return getenv("PMIX_RANK") ? "?" : NULL;
}

int
tp_dist_built_with_mpi(void)
{
#ifdef TP_HAVE_MPI
	return 1;
#else
	return 0;
#endif
}

struct tp_dist *
tp_dist_open(void)
{
	struct tp_dist *d = tp_xcalloc(1, sizeof *d);
	const char *ls = launcher_size();

	d->size = 1;
	if (!ls)
		return d;
#ifdef TP_HAVE_MPI
	{
		int argc = 0, provided;
		char **argv = NULL;

		/* Collectives are called from the main thread only; the loader
		 * thread never touches MPI. */
		if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) !=
		    MPI_SUCCESS) {
			tp_errorf("MPI_Init failed");
			free(d);
			return NULL;
		}
		d->mpi = 1;
		MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
		MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
		MPI_Comm_size(MPI_COMM_WORLD, &d->size);
		d->counts = tp_xmallocarray(4 * (size_t)d->size, sizeof *d->counts);
	}
#else
	/* Refuse only a launcher that says it started several: an unknown
	 * size (PMIX_RANK alone) may well be a 1-task job. */
	if (strcmp(ls, "1") != 0 && strcmp(ls, "?") != 0) {
		tp_errorf("started by mpirun with %s ranks, but built without MPI "
		          "(rebuild with make MPI=1)", ls);
		free(d);
		return NULL;
	}
#endif
	return d;
}

void
tp_dist_close(struct tp_dist *d)
{
	if (!d)
		return;
#ifdef TP_HAVE_MPI
	if (d->mpi)
		MPI_Finalize();
#endif
	free(d->scratch);
	free(d->counts);
	free(d);
}

void
tp_dist_abort(struct tp_dist *d, int status)
{
	if (!d || d->size < 2)
		return;
#ifdef TP_HAVE_MPI
	MPI_Abort(MPI_COMM_WORLD, status);
#endif
	exit(status); /* not reached: MPI_Abort does not return */
}

int
tp_dist_rank(const struct tp_dist *d)
{
	return d ? d->rank : 0;
}

int
tp_dist_size(const struct tp_dist *d)
{
	return d ? d->size : 1;
}

#ifdef TP_HAVE_MPI
static int
mpi_failed(const char *what, int rc)
{
	char msg[MPI_MAX_ERROR_STRING];
	int len = 0;

	if (rc == MPI_SUCCESS)
		return 0;
	if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS)
		snprintf(msg, sizeof msg, "error %d", rc);
	tp_errorf("%s failed: %s", what, msg);
	return -1;
}

/* Start and length of chunk j of n elements over p ranks: sizes differ by
 * at most one. */
static void
chunk(size_t n, int p, int j, size_t *start, size_t *len)
{
	size_t q = n / (size_t)p, r = n % (size_t)p, uj = (size_t)j;

	*start = uj * q + (uj < r ? uj : r);
	*len = q + (uj < r);
}

/* One segment of n <= SEGMENT elements of type t (es bytes each). */
static int
sum_segment(struct tp_dist *d, void *buf, size_t n, MPI_Datatype t, size_t es)
{
	int p = d->size, *sc = d->counts, *sd = sc + p, *rc = sd + p, *rd = rc + p;
	size_t mystart, mylen, need;
	unsigned char *b = buf;

	chunk(n, p, d->rank, &mystart, &mylen);
	need = (size_t)p * (mylen ? mylen : 1) * es;
	if (need > d->scratch_bytes) {
		free(d->scratch);
		d->scratch = tp_xmalloc(need);
		d->scratch_bytes = need;
	}
	for (int j = 0; j < p; j++) {
		size_t s, l;
		chunk(n, p, j, &s, &l);
		sc[j] = (int)l;
		sd[j] = (int)s;
		rc[j] = (int)mylen;
		rd[j] = (int)((size_t)j * mylen);
	}
	if (mpi_failed("MPI_Alltoallv",
	               MPI_Alltoallv(buf, sc, sd, t, d->scratch, rc, rd, t,
	                             MPI_COMM_WORLD)))
		return -1;
	/* Rank order: the same additions whatever the network did. */
	if (t == MPI_FLOAT) {
		const float *in = d->scratch;
		float *out = (float *)(void *)(b + mystart * es);
		for (size_t i = 0; i < mylen; i++) {
			float s = in[i];
			for (int j = 1; j < p; j++)
				s += in[(size_t)j * mylen + i];
			out[i] = s;
		}
	} else {
		const double *in = d->scratch;
		double *out = (double *)(void *)(b + mystart * es);
		for (size_t i = 0; i < mylen; i++) {
			double s = in[i];
			for (int j = 1; j < p; j++)
				s += in[(size_t)j * mylen + i];
			out[i] = s;
		}
	}
	for (int j = 0; j < p; j++) {
		rc[j] = sc[j];
		rd[j] = sd[j];
	}
	return mpi_failed("MPI_Allgatherv",
	                  MPI_Allgatherv(MPI_IN_PLACE, 0, t, buf, rc, rd, t,
	                                 MPI_COMM_WORLD));
}

static int
sum_any(struct tp_dist *d, void *buf, size_t n, MPI_Datatype t, size_t es)
{
	for (size_t off = 0; off < n; off += SEGMENT) {
		size_t m = n - off < SEGMENT ? n - off : SEGMENT;
		void *p = (unsigned char *)buf + off * es;
		/* Two ranks: each element is one addition a + b, and IEEE
		 * addition commutes, so whatever MPI does is the rank-order sum
		 * on both; its allreduce is 2-6x faster here than ours. */
		if (d->size == 2) {
			if (mpi_failed("MPI_Allreduce",
			               MPI_Allreduce(MPI_IN_PLACE, p, (int)m, t, MPI_SUM,
			                             MPI_COMM_WORLD)))
				return -1;
		} else if (sum_segment(d, p, m, t, es) != 0) {
			return -1;
		}
	}
	return 0;
}
#endif

int
tp_dist_sum_f32(struct tp_dist *d, float *buf, size_t n)
{
#ifdef TP_HAVE_MPI
	if (d && d->size > 1)
		return sum_any(d, buf, n, MPI_FLOAT, sizeof *buf);
#endif
	(void)d, (void)buf, (void)n;
	return 0;
}

int
tp_dist_sum_f64(struct tp_dist *d, double *buf, size_t n)
{
#ifdef TP_HAVE_MPI
	if (d && d->size > 1)
		return sum_any(d, buf, n, MPI_DOUBLE, sizeof *buf);
#endif
	(void)d, (void)buf, (void)n;
	return 0;
}

int
tp_dist_allreduce_f32(struct tp_dist *d, float *buf, size_t n)
{
#ifdef TP_HAVE_MPI
	if (d && d->size > 1)
		for (size_t off = 0; off < n; off += SEGMENT) {
			size_t m = n - off < SEGMENT ? n - off : SEGMENT;
			if (mpi_failed("MPI_Allreduce",
			               MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)m,
			                             MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD)))
				return -1;
		}
#endif
	(void)d, (void)buf, (void)n;
	return 0;
}

int
tp_dist_bcast(struct tp_dist *d, void *buf, size_t bytes, int root)
{
#ifdef TP_HAVE_MPI
	if (d && d->size > 1)
		for (size_t off = 0; off < bytes; off += SEGMENT) {
			size_t m = bytes - off < SEGMENT ? bytes - off : SEGMENT;
			if (mpi_failed("MPI_Bcast",
			               MPI_Bcast((unsigned char *)buf + off, (int)m,
			                         MPI_BYTE, root, MPI_COMM_WORLD)))
				return -1;
		}
#endif
	(void)d, (void)buf, (void)bytes, (void)root;
	return 0;
}

int
tp_dist_gather(struct tp_dist *d, const void *buf, size_t bytes, void *out,
               int root)
{
#ifdef TP_HAVE_MPI
	if (d && d->size > 1) {
		if (bytes > (size_t)INT_MAX / (size_t)d->size) {
			tp_errorf("MPI_Gather: %zu bytes per rank is too many", bytes);
			return -1;
		}
		return mpi_failed("MPI_Gather",
		                  MPI_Gather(buf, (int)bytes, MPI_BYTE, out, (int)bytes,
		                             MPI_BYTE, root, MPI_COMM_WORLD));
	}
#endif
	(void)d, (void)root;
	memcpy(out, buf, bytes);
	return 0;
}

int
tp_dist_barrier(struct tp_dist *d)
{
#ifdef TP_HAVE_MPI
	if (d && d->size > 1)
		return mpi_failed("MPI_Barrier", MPI_Barrier(MPI_COMM_WORLD));
#endif
	(void)d;
	return 0;
}
