/*
 * reader.c: throughput of the dataset batch loader (tp/dataset.h), for
 * bench/bench-reader.sh.  Reads one epoch of FILE in batches and prints
 * "MODE examples seconds examples/s wait_seconds checksum"; the checksum
 * keeps the compiler from skipping the reads and lets runs be compared.
 *
 *   reader FILE eval|train|memory [BATCH]
 *
 * eval: streaming, file order; train: streaming with the shuffle buffer;
 * memory: load the whole file, then a shuffled in-memory epoch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tp/dataset.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	struct tp_loader_opts o = {.batch = 256, .seed = 1};
	struct tp_dataset ds;
	struct tp_loader *l;
	const struct tp_ds_batch *b;
	const char *path;
	double t0 = now(), sum = 0;
	uint64_t seen = 0, m;
	int memory, rc;

	if (argc < 3) {
		fprintf(stderr, "usage: reader FILE eval|train|memory [BATCH]\n");
		return 2;
	}
	path = argv[1];
	memory = !strcmp(argv[2], "memory");
	o.mode = !strcmp(argv[2], "eval") ? TP_LOAD_EVAL : TP_LOAD_TRAIN;
	if (argc > 3)
		o.batch = (size_t)atol(argv[3]);
	if (memory) {
		if (tp_dataset_load(&ds, &path, 1) < 0)
			return 3;
		l = tp_loader_new(&ds, &o, NULL);
	} else {
		l = tp_loader_open(&path, 1, &o, NULL);
	}
	if (!l)
		return 3;
	m = tp_loader_examples(l);
	/* One epoch: eval ends by itself, train after m examples. */
	while (seen < m && (rc = tp_loader_next(l, &b)) == 1) {
		seen += b->valid;
		sum += b->x[0] + b->x[b->n * b->d - 1];
	}
	printf("%s %llu %.3f %.0f %.3f %g\n", argv[2], (unsigned long long)seen,
	       now() - t0, (double)seen / (now() - t0), tp_loader_wait_seconds(l),
	       sum);
	tp_loader_close(l);
	if (memory)
		tp_dataset_release(&ds);
	return seen >= m ? 0 : 3;
}
