/*
 * gen.c: a synthetic study for bench/track/run.sh: N trial streams as
 * tp-train writes them (config, a train record and an eval record per
 * evaluation, a checkpoint every tenth), with EVALS evaluations each, into
 * DIR/run-NNNNN.tpr.  Deterministic for a seed.
 *
 *   gen DIR N EVALS SEED
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tp/record.h"
#include "tp/rng.h"
#include "tp/zio.h"

int
main(int argc, char **argv)
{
	struct tp_rng r;
	struct tp_rb b;
	int n, evals;

	if (argc != 5)
		return 2;
	n = atoi(argv[2]);
	evals = atoi(argv[3]);
	tp_rng_seed(&r, strtoull(argv[4], NULL, 10));
	tp_rb_init(&b);
	for (int i = 0; i < n; i++) {
		char path[4096], ck[128];
		double lr = pow(10, -4 + 3 * tp_rng_uniform(&r));
		double mom = 0.8 + 0.19 * tp_rng_uniform(&r);
		double q = fabs(log10(lr) + 2.5), noise = 0.01 * tp_rng_normal(&r);
		const char *opt = i % 2 ? "nesterov" : "adam";
		struct tp_wr *w;

		snprintf(path, sizeof path, "%s/run-%05d.tpr", argv[1], i);
		if (!(w = tp_wr_open(path, TP_ZOUT_PLAIN)))
			return 3;
		tp_rb_begin(&b, "config");
		tp_rb_str(&b, "version", "0.1.0");
		tp_rb_str(&b, "study", "bench");
		tp_rb_i64(&b, "trial", i);
		tp_rb_map_begin(&b, "params");
		tp_rb_f64(&b, "lr", lr);
		tp_rb_f64(&b, "momentum", mom);
		tp_rb_str(&b, "optimizer", opt);
		tp_rb_i64(&b, "batch_size", 128);
		tp_rb_i64(&b, "steps", 100 * evals);
		tp_rb_map_end(&b);
		tp_rb_i64(&b, "seed", i);
		snprintf(ck, sizeof ck, "runs/%05d", i);
		tp_rb_str(&b, "run_dir", ck);
		tp_rb_str(&b, "command", "tp-train --trial trials.tpr");
		if (tp_wr_rb(w, &b))
			return 3;
		for (int e = 1; e <= evals; e++) {
			int64_t step = 100 * e;
			double v = 0.05 + q / 10 + 1 / (1 + e / 10.0) + noise;
			tp_rb_begin(&b, "train");
			tp_rb_i64(&b, "step", step);
			tp_rb_f64(&b, "loss", v * 0.8);
			tp_rb_f64(&b, "lr", lr);
			tp_rb_f64(&b, "grad_norm", 1 + tp_rng_uniform(&r));
			if (tp_wr_rb(w, &b))
				return 3;
			tp_rb_begin(&b, "eval");
			tp_rb_i64(&b, "step", step);
			tp_rb_str(&b, "split", "valid");
			tp_rb_f64(&b, "loss", 2 * v);
			tp_rb_f64(&b, "error", v);
			tp_rb_f64(&b, "accuracy", 1 - v);
			tp_rb_i64(&b, "count", 10000);
			if (tp_wr_rb(w, &b))
				return 3;
			if (e % 10)
				continue;
			snprintf(ck, sizeof ck, "runs/%05d/ckpt/step-%06lld.tpc", i,
			         (long long)step);
			tp_rb_begin(&b, "checkpoint");
			tp_rb_i64(&b, "step", step);
			tp_rb_str(&b, "path", ck);
			if (tp_wr_rb(w, &b))
				return 3;
		}
		tp_rb_begin(&b, "summary");
		tp_rb_i64(&b, "steps", 100 * evals);
		if (tp_wr_rb(w, &b) || tp_wr_close(w))
			return 3;
	}
	tp_rb_release(&b);
	return 0;
}
