/*
 * bench-ckpt: full-state save of a 10M-parameter model with Adam state
 * (params 40 MB + m and v 80 MB = 120 MB of float32) through tp_ckpt_write,
 * plain and zstd, then the verified load (tp_ckpt_open).  Every save here
 * includes the atomic protocol (fsync of the file and of the directory);
 * that is what tp-train does.  Prints one TSV line per measurement; the
 * median of REPS runs.  usage: bench-ckpt DIR [REPS] [LEVEL...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tp/ckpt.h"
#include "tp/record.h"
#include "tp/rng.h"
#include "tp/sha256.h"

#define NPARAM 10000000

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Wall time and this process's CPU time: the machine is shared, and CPU
 * time does not count other processes' turns (nor waits for the disk). */
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static double
median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, cmp);
	return t[n / 2];
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	int levels[8] = {0, 1, 3}, nlev = 3;
	float *params = malloc(sizeof(float) * NPARAM);
	float *optim = malloc(sizeof(float) * NPARAM * 2);
	double t[32], u[32];
	char path[4096];
	struct tp_rb b;

	if (argc > 3) {
		nlev = 0;
		for (int i = 3; i < argc && nlev < 8; i++)
			levels[nlev++] = atoi(argv[i]);
	}
	if (reps < 1 || reps > 32 || !params || !optim)
		return 2;
	/* Trained weights look like noise to a compressor; Adam's v is
	 * small positive numbers.  Random draws are the honest case. */
	{
		struct tp_rng r;
		tp_rng_seed(&r, 42);
		for (size_t i = 0; i < NPARAM; i++) {
			params[i] = (float)(tp_rng_normal(&r) * 0.05);
			optim[i] = (float)(tp_rng_normal(&r) * 1e-3);
			optim[NPARAM + i] = (float)(tp_rng_uniform(&r) * 1e-6);
		}
	}
	tp_rb_init(&b);
	printf("op\tlevel\tMB\twall_s\tcpu_s\tfile_MB\n");
	/* The checksums alone: the part of a save and of a load that is
	 * SHA-256 (tp_sha256_*, shared with tp-track). */
	for (int i = 0; i < reps; i++) {
		struct tp_sha256 h;
		char hex[65];
		t[i] = now();
		u[i] = cpu();
		tp_sha256_init(&h);
		tp_sha256_update(&h, params, sizeof(float) * NPARAM);
		tp_sha256_hex(&h, hex);
		tp_sha256_init(&h);
		tp_sha256_update(&h, optim, sizeof(float) * NPARAM * 2);
		tp_sha256_hex(&h, hex);
		t[i] = now() - t[i];
		u[i] = cpu() - u[i];
	}
	printf("sha256\t-\t120\t%.3f\t%.3f\t-\n", median(t, reps), median(u, reps));
	for (int l = 0; l < nlev; l++) {
		struct tp_ckpt_blob blobs[] = {
			{"params.f32", params, sizeof(float) * NPARAM},
			{"optim.f32", optim, sizeof(float) * NPARAM * 2},
		};
		struct stat st;

		snprintf(path, sizeof path, "%s/bench-%d.tpc", dir, levels[l]);
		for (int i = 0; i < reps; i++) {
			tp_rb_begin(&b, "checkpoint");
			tp_rb_str(&b, "kind", "full");
			tp_rb_i64(&b, "step", 1000);
			tp_rb_str(&b, "optimizer", "adam");
			t[i] = now();
			u[i] = cpu();
			if (tp_ckpt_write(path, &b, blobs, 2, levels[l]) != 0)
				return 3;
			t[i] = now() - t[i];
			u[i] = cpu() - u[i];
		}
		stat(path, &st);
		printf("save\t%d\t120\t%.3f\t%.3f\t%.1f\n", levels[l], median(t, reps),
		       median(u, reps), (double)st.st_size / 1e6);
		for (int i = 0; i < reps; i++) {
			struct tp_ckpt *c;
			t[i] = now();
			u[i] = cpu();
			c = tp_ckpt_open(path);
			t[i] = now() - t[i];
			u[i] = cpu() - u[i];
			if (!c)
				return 3;
			tp_ckpt_close(c);
		}
		printf("load\t%d\t120\t%.3f\t%.3f\t%.1f\n", levels[l], median(t, reps),
		       median(u, reps), (double)st.st_size / 1e6);
		fflush(stdout);
		remove(path);
	}
	tp_rb_release(&b);
	free(params);
	free(optim);
	return 0;
}
