/*
 * tp-eval: evaluate checkpoints on a dataset, once or from cron.  Options
 * and operands only; the work is lib/evalrun.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "tp/cli.h"
#include "tp/evalrun.h"

enum {
	OPT_CLAIM_TIMEOUT = 256,
	OPT_CONFUSION,
	OPT_SAMPLE_FILE,
	OPT_SPLIT,
	OPT_THREADS,
};

static const struct option opts[] = {
	{"batch-size", required_argument, NULL, 'b'},
	{"claim-timeout", required_argument, NULL, OPT_CLAIM_TIMEOUT},
	{"confusion", no_argument, NULL, OPT_CONFUSION},
	{"data", required_argument, NULL, 'd'},
	{"help", no_argument, NULL, 'h'},
	{"ledger", required_argument, NULL, 'l'},
	{"output", required_argument, NULL, 'o'},
	{"predictions", required_argument, NULL, 'p'},
	{"quiet", no_argument, NULL, 'q'},
	{"sample", required_argument, NULL, 'n'},
	{"sample-file", required_argument, NULL, OPT_SAMPLE_FILE},
	{"sample-seed", required_argument, NULL, 's'},
	{"split", required_argument, NULL, OPT_SPLIT},
	{"stratify", no_argument, NULL, 'S'},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"top-k", required_argument, NULL, 'k'},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: tp-eval [-qv] -d DATA [-b N] [-k K] [--confusion] [-o FILE] [-p FILE]\n"
	        "               [-n N [-S] [-s SEED] | --sample-file FILE] [-l LEDGER]\n"
	        "               [--claim-timeout SECONDS] [--split NAME] [--threads N]\n"
	        "               CHECKPOINT|RUN_DIR...\n"
	        "Evaluate checkpoints on a dataset; write eval records (tp-records(5)).\n"
	        "  -d, --data FILE          the dataset to evaluate on (required)\n"
	        "  -b, --batch-size N       examples per batch (default 4096; same results)\n"
	        "      --split NAME         the records' \"split\" (default test)\n"
	        "  -k, --top-k K            also top-K accuracy\n"
	        "      --confusion          also the confusion matrix\n"
	        "  -o, --output FILE        records to FILE (.zst compresses; default stdout)\n"
	        "  -p, --predictions FILE   per-example prediction records to FILE\n"
	        "  -n, --sample N           also a seeded sample of N examples and a skew report\n"
	        "  -s, --sample-seed SEED   seed of the sample (default 0)\n"
	        "  -S, --stratify           the sample keeps the class proportions\n"
	        "      --sample-file FILE   or compare this sample dataset with the full one\n"
	        "  -l, --ledger FILE        only checkpoints not yet evaluated in FILE (cron)\n"
	        "      --claim-timeout S    a claim older than S seconds is stale (default 3600)\n"
	        "      --threads N          OpenBLAS threads (default: OPENBLAS_NUM_THREADS)\n"
	        "  -q, --quiet              no progress line\n"
	        "  -v, --verbose            say why a checkpoint is skipped\n"
	        "  -h, --help               this help\n"
	        "  -V, --version            print the version\n"
	        "Exit: 0 evaluated, 5 nothing new (ledger), 2 usage, 3 error.\n");
}

int
main(int argc, char **argv)
{
	struct tp_evalrun_opts o;
	int64_t v;
	int c, quiet = 0, status;

	tp_evalrun_opts_init(&o);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":b:d:hk:l:n:o:p:qSs:vV", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (tp_parse_i64(optarg, 1, 1 << 24, "--batch-size", &v) != 0)
				return TP_EXIT_USAGE;
			o.batch = (size_t)v;
			break;
		case 'd':
			o.data = optarg;
			break;
		case 'h':
			usage(stdout);
			return tp_close_stdout(TP_EXIT_OK);
		case 'k':
			if (tp_parse_i64(optarg, 1, 1 << 20, "--top-k", &v) != 0)
				return TP_EXIT_USAGE;
			o.topk = (int)v;
			break;
		case 'l':
			o.ledger = optarg;
			break;
		case 'n':
			if (tp_parse_i64(optarg, 1, INT32_MAX, "--sample", &v) != 0)
				return TP_EXIT_USAGE;
			o.sample = v;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'p':
			o.predictions = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 's':
			if (tp_parse_i64(optarg, 0, INT64_MAX, "--sample-seed", &v) != 0)
				return TP_EXIT_USAGE;
			o.sample_seed = (uint64_t)v;
			break;
		case 'S':
			o.stratify = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'V':
			tp_print_version();
			return tp_close_stdout(TP_EXIT_OK);
		case OPT_CLAIM_TIMEOUT:
			if (tp_parse_f64(optarg, 0, 1e9, "--claim-timeout", &o.claim_timeout) != 0)
				return TP_EXIT_USAGE;
			break;
		case OPT_CONFUSION:
			o.confusion = 1;
			break;
		case OPT_SAMPLE_FILE:
			o.sample_path = optarg;
			break;
		case OPT_SPLIT:
			o.split = optarg;
			break;
		case OPT_THREADS:
			if (tp_parse_threads(optarg, &o.threads) != 0)
				return TP_EXIT_USAGE;
			break;
		default:
			tp_bad_option(argv[optind - 1], c);
			return TP_EXIT_USAGE;
		}
	}
	if (!o.data) {
		tp_errorf("no dataset given (usage: tp-eval -d DATA CHECKPOINT...)");
		return TP_EXIT_USAGE;
	}
	if (optind >= argc) {
		tp_errorf("no checkpoint given (usage: tp-eval -d DATA CHECKPOINT...)");
		return TP_EXIT_USAGE;
	}
	o.progress = !quiet && isatty(STDERR_FILENO);
	status = tp_evalrun(&o, (const char *const *)argv + optind,
	                    (size_t)(argc - optind));
	return tp_close_stdout(status);
}
