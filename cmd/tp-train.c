/*
 * tp-train: train a model for a fixed number of steps and stream what
 * happened.  Options and operands only; the loop is lib/train.c.  Under
 * mpirun (built with make MPI=1) the ranks train one model data-parallel
 * (doc/tp-distributed.7).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp/cli.h"
#include "tp/dist.h"
#include "tp/hparams.h"
#include "tp/train.h"

enum {
	OPT_VALID = 256,
	OPT_TRIAL,
	OPT_TRIAL_INDEX,
	OPT_THREADS,
	OPT_NO_TIMING,
	OPT_INPUT_BOUND,
	OPT_INIT_FROM,
	OPT_RESUME,
	OPT_STREAM,
	OPT_SHUFFLE_BUFFER,
	OPT_HP = 1000, /* + row of the hyperparameter table */
};

static const struct option fixed_opts[] = {
	{"help", no_argument, NULL, 'h'},
	{"init-from", required_argument, NULL, OPT_INIT_FROM},
	{"input-bound", required_argument, NULL, OPT_INPUT_BOUND},
	{"metrics", required_argument, NULL, 'o'},
	{"no-timing", no_argument, NULL, OPT_NO_TIMING},
	{"quiet", no_argument, NULL, 'q'},
	{"resume", no_argument, NULL, OPT_RESUME},
	{"run-dir", required_argument, NULL, 'd'},
	{"shuffle-buffer", required_argument, NULL, OPT_SHUFFLE_BUFFER},
	{"stream", no_argument, NULL, OPT_STREAM},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"trial", required_argument, NULL, OPT_TRIAL},
	{"trial-index", required_argument, NULL, OPT_TRIAL_INDEX},
	{"valid", required_argument, NULL, OPT_VALID},
	{"version", no_argument, NULL, 'V'},
};
#define NFIXED (sizeof fixed_opts / sizeof fixed_opts[0])

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: tp-train [options] [--HYPERPARAMETER VALUE ...] TRAIN...\n"
	        "       tp-train --resume -d DIR [-q] [-o FILE] [--threads N] [--no-timing]\n"
	        "Train for a fixed number of steps; stream records (tp-records(5)).\n"
	        "Under mpirun (built with make MPI=1) the ranks train one model data-parallel\n"
	        "(tp-distributed(7)).\n"
	        "  -d, --run-dir DIR       write DIR/config.tpr and DIR/metrics.tpr\n"
	        "      --valid FILE        validation set, evaluated every eval_every steps\n"
	        "  -o, --metrics FILE      metrics stream (default: stdout without --run-dir)\n"
	        "      --trial FILE        take hyperparameters from a trial record (- stdin)\n"
	        "      --trial-index N     the N-th trial record of FILE, from 0 (default 0)\n"
	        "      --init-from CKPT    warm start from a checkpoint's parameters\n"
	        "      --resume            continue the run in -d DIR from its latest checkpoint\n"
	        "      --stream            read TRAIN as the run goes, not into memory; under\n"
	        "                          mpirun each rank reads only its own shard\n"
	        "      --shuffle-buffer N  examples held for shuffling with --stream (8192)\n"
	        "      --threads N         threads of the step (default: OPENBLAS_NUM_THREADS or all cores)\n"
	        "      --no-timing         leave wall-clock fields out (byte-stable stream)\n"
	        "      --input-bound F     warn when waiting for data exceeds F of the time (0.25)\n"
	        "  -q, --quiet             no progress line\n"
	        "  -h, --help              this help\n"
	        "  -V, --version           print the version\n"
	        "Hyperparameters (flags override the trial record):\n");
	tp_hp_usage(f);
}

/* The command line, shell-quoted where needed, for the config record. */
static char *
join_argv(int argc, char **argv)
{
	size_t n = 1;
	char *s, *p;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) * 4 + 3;
	s = p = tp_xmalloc(n);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int plain = *a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                            "0123456789-_./=:,+@%") == strlen(a);
		if (i)
			*p++ = ' ';
		if (plain) {
			p = stpcpy(p, a);
			continue;
		}
		*p++ = '\'';
		for (; *a; a++)
			p = *a == '\'' ? stpcpy(p, "'\\''") : (*p = *a, p + 1);
		*p++ = '\'';
	}
	*p = '\0';
	return s;
}

int
main(int argc, char **argv)
{
	struct tp_train_opts o;
	struct tp_train_trial *trial = NULL;
	struct tp_dist *dist = NULL;
	struct option *opts;
	const char *trial_path = NULL;
	int64_t trial_index = 0, v;
	char *command = NULL;
	int nsets = 0, c, quiet = 0, status = -1;
	struct tp_hp_flag *sets;

	tp_train_opts_init(&o);
	opts = tp_hp_options(fixed_opts, NFIXED, OPT_HP);
	sets = tp_xcalloc((size_t)argc, sizeof *sets);
	opterr = 0;
	while (status < 0 && (c = getopt_long(argc, argv, ":d:ho:qV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.run_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			status = TP_EXIT_OK;
			break;
		case 'o':
			o.metrics_path = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'V':
			tp_print_version();
			status = TP_EXIT_OK;
			break;
		case OPT_VALID:
			o.valid_path = optarg;
			break;
		case OPT_TRIAL:
			trial_path = optarg;
			break;
		case OPT_TRIAL_INDEX:
			if (tp_parse_i64(optarg, 0, INT64_MAX, "--trial-index", &trial_index) != 0)
				status = TP_EXIT_USAGE;
			break;
		case OPT_THREADS:
			if (tp_parse_threads(optarg, &o.threads) != 0)
				status = TP_EXIT_USAGE;
			break;
		case OPT_INIT_FROM:
			o.init_from = optarg;
			break;
		case OPT_RESUME:
			o.resume = 1;
			break;
		case OPT_STREAM:
			o.stream = 1;
			break;
		case OPT_SHUFFLE_BUFFER:
			if (tp_parse_i64(optarg, 1, INT64_C(1) << 32, "--shuffle-buffer", &v) != 0)
				status = TP_EXIT_USAGE;
			else
				o.shuffle_buffer = (size_t)v;
			break;
		case OPT_NO_TIMING:
			o.timing = 0;
			break;
		case OPT_INPUT_BOUND:
			if (tp_parse_f64(optarg, 0, 1, "--input-bound", &o.input_bound) != 0)
				status = TP_EXIT_USAGE;
			break;
		default:
			if (tp_hp_take_flag(c, OPT_HP, optarg, sets, &nsets))
				break;
			tp_bad_option(argv[optind - 1], c);
			status = TP_EXIT_USAGE;
		}
	}
	if (status < 0 && o.resume) {
		/* The run's own configuration and data: nothing may change them. */
		if (optind < argc || nsets || trial_path || o.init_from || o.valid_path ||
		    o.stream || o.shuffle_buffer) {
			tp_errorf("--resume takes the run's configuration and data from -d DIR; "
			          "give no hyperparameters, trial or data");
			status = TP_EXIT_USAGE;
		} else if (!o.run_dir) {
			tp_errorf("--resume needs a run directory (-d DIR)");
			status = TP_EXIT_USAGE;
		}
	} else if (status < 0 && optind >= argc) {
		tp_errorf("no training set given (usage: tp-train [options] TRAIN...)");
		status = TP_EXIT_USAGE;
	} else if (status < 0 && o.shuffle_buffer && !o.stream) {
		tp_errorf("--shuffle-buffer applies to --stream only");
		status = TP_EXIT_USAGE;
	}
	if (status < 0 && trial_path &&
	    tp_train_read_trial(&o, trial_path, trial_index, &trial) != 0)
		status = TP_EXIT_USAGE;
	if (status < 0 && tp_hp_apply_flags(&o.hp, sets, nsets) != 0)
		status = TP_EXIT_USAGE;
	if (status < 0) {
		o.train_paths = (const char *const *)argv + optind;
		o.ntrain = (size_t)(argc - optind);
		o.progress = !quiet && isatty(STDERR_FILENO);
		command = join_argv(argc, argv);
		o.command = command;
		o.stop = &stop_flag;
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		dist = tp_dist_open();
		o.dist = dist;
		status = dist ? tp_train(&o) : TP_EXIT_USAGE;
		/* A status not every rank reached may leave the others waiting
		 * in a collective: end the whole job. */
		if (status != TP_EXIT_OK && status != TP_EXIT_DIVERGED &&
		    status != TP_EXIT_INTERRUPTED) {
			fflush(stdout);
			tp_dist_abort(dist, status);
		}
		tp_dist_close(dist);
	}
	free(command);
	tp_train_trial_free(trial);
	tp_hp_options_free(opts, OPT_HP);
	free(sets);
	return tp_close_stdout(status);
}
