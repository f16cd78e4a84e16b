/*
 * tp-overfit-batch: can the model drive the loss of one batch to about
 * zero?  The sanity check before a long study; exit 0 yes, 1 no.  Options
 * and operands only; the work is lib/overfit.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/cli.h"
#include "tp/hparams.h"
#include "tp/json.h"
#include "tp/overfit.h"
#include "tp/record.h"
#include "tp/train.h"
#include "tp/zio.h"

enum {
	OPT_MAX_STEPS = 256,
	OPT_THRESHOLD,
	OPT_SHUFFLE_LABELS,
	OPT_KEEP_REG,
	OPT_THREADS,
	OPT_TRIAL,
	OPT_TRIAL_INDEX,
	OPT_HP = 1000, /* + row of the hyperparameter table */
};

static const struct option fixed_opts[] = {
	{"examples", required_argument, NULL, 'n'},
	{"help", no_argument, NULL, 'h'},
	{"json", no_argument, NULL, 'j'},
	{"keep-regularization", no_argument, NULL, OPT_KEEP_REG},
	{"max-steps", required_argument, NULL, OPT_MAX_STEPS},
	{"output", required_argument, NULL, 'o'},
	{"quiet", no_argument, NULL, 'q'},
	{"shuffle-labels", no_argument, NULL, OPT_SHUFFLE_LABELS},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"threshold", required_argument, NULL, OPT_THRESHOLD},
	{"trial", required_argument, NULL, OPT_TRIAL},
	{"trial-index", required_argument, NULL, OPT_TRIAL_INDEX},
	{"version", no_argument, NULL, 'V'},
};
#define NFIXED (sizeof fixed_opts / sizeof fixed_opts[0])

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: tp-overfit-batch [-jq] [-n N] [-o FILE] [--max-steps N]\n"
	        "                        [--threshold LOSS] [--shuffle-labels]\n"
	        "                        [--keep-regularization] [--threads N]\n"
	        "                        [--trial FILE [--trial-index N]]\n"
	        "                        [--HYPERPARAMETER VALUE ...] TRAIN...\n"
	        "Train on one seeded batch until its loss is below a threshold; exit 0 if it is\n"
	        "(the batch was overfit), 1 if not, with the reason.\n"
	        "  -n, --examples N        batch size (default: the batch_size hyperparameter)\n"
	        "      --max-steps N       step budget (default 1000)\n"
	        "      --threshold LOSS    target loss (default 0.01; regression: 1%% of Var(y))\n"
	        "      --shuffle-labels    permute the batch's labels (a control that must fail\n"
	        "                          for a small model)\n"
	        "      --keep-regularization  keep dropout, weight decay, label smoothing\n"
	        "      --trial FILE        take hyperparameters from a trial record (- stdin)\n"
	        "      --trial-index N     the N-th trial record of FILE, from 0 (default 0)\n"
	        "      --threads N         OpenBLAS threads (default: OPENBLAS_NUM_THREADS)\n"
	        "  -j, --json              print the result as one JSON record instead of text\n"
	        "  -o, --output FILE       also write the result as an \"overfit\" record to FILE\n"
	        "  -q, --quiet             print nothing; the exit status says it\n"
	        "  -h, --help              this help\n"
	        "  -V, --version           print the version\n"
	        "Hyperparameters (as tp-train; flags override the trial record):\n");
	tp_hp_usage(f);
	fprintf(f, "Exit: 0 overfit, 1 not overfit, 2 usage, 3 error.\n");
}

/* The result as one JSON line on stdout. */
static int
print_json(struct tp_rb *b)
{
	struct tp_jbuf j;
	struct tp_rd *rd;
	const struct tp_val *rec;
	const void *p;
	size_t len;
	int rc = -1;

	p = tp_rb_finish(b, &len);
	rd = tp_rd_mem(p, len, "result");
	if (!rd)
		return -1;
	tp_jbuf_init(&j);
	if (tp_rd_next(rd, &rec) == 1) {
		tp_json_value(&j, rec, TP_JSON_BIN_BASE64);
		tp_jbuf_addc(&j, '\n');
		rc = fwrite(j.buf, 1, j.len, stdout) == j.len ? 0 : -1;
	}
	tp_jbuf_release(&j);
	tp_rd_close(rd);
	return rc;
}

static int
write_record(const char *path, struct tp_rb *b)
{
	struct tp_wr *w = tp_wr_open(path, TP_ZOUT_AUTO);

	if (!w)
		return -1;
	if (tp_wr_rb(w, b) != 0) {
		tp_wr_abort(w);
		return -1;
	}
	return tp_wr_close(w);
}

static int
run(struct tp_overfit_opts *o, const char *trial_path, int64_t trial_index,
    const struct tp_hp_flag *sets, int nsets, int json, int quiet, const char *out)
{
	struct tp_train_opts to;
	struct tp_train_trial *trial = NULL;
	struct tp_overfit_result r;
	struct tp_rb b;
	int status;

	if (trial_path) {
		tp_train_opts_init(&to);
		if (tp_train_read_trial(&to, trial_path, trial_index, &trial) != 0)
			return TP_EXIT_USAGE;
		o->hp = to.hp;
	}
	if (tp_hp_apply_flags(&o->hp, sets, nsets) != 0) {
		tp_train_trial_free(trial);
		return TP_EXIT_USAGE;
	}
	status = tp_overfit(o, &r);
	tp_train_trial_free(trial);
	if (status != TP_EXIT_OK)
		return status;
	tp_rb_init(&b);
	tp_overfit_record(&r, &b);
	if (out && write_record(out, &b) != 0)
		status = TP_EXIT_RUNTIME;
	if (json && print_json(&b) != 0)
		status = TP_EXIT_RUNTIME;
	else if (!json && !quiet)
		tp_overfit_print(&r, stdout);
	tp_rb_release(&b);
	if (status == TP_EXIT_OK && r.verdict != TP_OVERFIT_YES)
		status = TP_EXIT_NO;
	return status;
}

int
main(int argc, char **argv)
{
	struct tp_overfit_opts o;
	struct option *opts;
	struct tp_hp_flag *sets;
	const char *trial_path = NULL, *out = NULL;
	int64_t trial_index = 0;
	int nsets = 0, c, json = 0, quiet = 0, status = -1;

	tp_overfit_opts_init(&o);
	opts = tp_hp_options(fixed_opts, NFIXED, OPT_HP);
	sets = tp_xcalloc((size_t)argc, sizeof *sets);
	opterr = 0;
	while (status < 0 && (c = getopt_long(argc, argv, ":hjn:o:qV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			status = TP_EXIT_OK;
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			if (tp_parse_i64(optarg, 1, 1 << 24, "--examples", &o.examples) != 0)
				status = TP_EXIT_USAGE;
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'V':
			tp_print_version();
			status = TP_EXIT_OK;
			break;
		case OPT_MAX_STEPS:
			if (tp_parse_i64(optarg, 0, INT64_MAX / 2, "--max-steps", &o.max_steps) != 0)
				status = TP_EXIT_USAGE;
			break;
		case OPT_THRESHOLD:
			if (tp_parse_f64(optarg, 0, 1e300, "--threshold", &o.threshold) != 0)
				status = TP_EXIT_USAGE;
			break;
		case OPT_SHUFFLE_LABELS:
			o.shuffle_labels = 1;
			break;
		case OPT_KEEP_REG:
			o.keep_regularization = 1;
			break;
		case OPT_THREADS:
			if (tp_parse_threads(optarg, &o.threads) != 0)
				status = TP_EXIT_USAGE;
			break;
		case OPT_TRIAL:
			trial_path = optarg;
			break;
		case OPT_TRIAL_INDEX:
			if (tp_parse_i64(optarg, 0, INT64_MAX, "--trial-index", &trial_index) != 0)
				status = TP_EXIT_USAGE;
			break;
		default:
			if (tp_hp_take_flag(c, OPT_HP, optarg, sets, &nsets))
				break;
			tp_bad_option(argv[optind - 1], c);
			status = TP_EXIT_USAGE;
		}
	}
	if (status < 0 && optind >= argc) {
		tp_errorf("no training set given (usage: tp-overfit-batch [options] TRAIN...)");
		status = TP_EXIT_USAGE;
	}
	if (status < 0) {
		o.paths = (const char *const *)argv + optind;
		o.npaths = (size_t)(argc - optind);
		status = run(&o, trial_path, trial_index, sets, nsets, json, quiet, out);
	}
	tp_hp_options_free(opts, OPT_HP);
	free(sets);
	return tp_close_stdout(status);
}
