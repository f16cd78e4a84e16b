/*
 * tp-train: train a model for a fixed number of steps and stream what
 * happened.  Options and operands only; the loop is lib/train.c.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp/cli.h"
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
	        "  -d, --run-dir DIR       write DIR/config.tpr and DIR/metrics.tpr\n"
	        "      --valid FILE        validation set, evaluated every eval_every steps\n"
	        "  -o, --metrics FILE      metrics stream (default: stdout without --run-dir)\n"
	        "      --trial FILE        take hyperparameters from a trial record (- stdin)\n"
	        "      --trial-index N     the N-th trial record of FILE, from 0 (default 0)\n"
	        "      --init-from CKPT    warm start from a checkpoint's parameters\n"
	        "      --resume            continue the run in -d DIR from its latest checkpoint\n"
	        "      --threads N         OpenBLAS threads (default: OPENBLAS_NUM_THREADS or all cores)\n"
	        "      --no-timing         leave wall-clock fields out (byte-stable stream)\n"
	        "      --input-bound F     warn when waiting for data exceeds F of the time (0.25)\n"
	        "  -q, --quiet             no progress line\n"
	        "  -h, --help              this help\n"
	        "  -V, --version           print the version\n"
	        "Hyperparameters (flags override the trial record):\n");
	for (int i = 0; tp_hp_name(i); i++) {
		char opt[40], def[96];
		const char *n = tp_hp_name(i);
		size_t j;
		for (j = 0; n[j] && j < sizeof opt - 1; j++)
			opt[j] = n[j] == '_' ? '-' : n[j];
		opt[j] = '\0';
		tp_hp_default_text(i, def, sizeof def);
		fprintf(f, "      --%-18s %s [%s]\n", opt, tp_hp_help(i), def);
	}
}

/* One line for a bad option: getopt's own message plus a usage line would
 * be two. */
static void
bad_option(const char *arg, int c)
{
	if (c == ':')
		tp_errorf("option '%s' needs a value (see tp-train --help)", arg);
	else
		tp_errorf("unknown option '%s' (see tp-train --help)", arg);
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
	struct option *opts;
	const char *trial_path = NULL;
	int64_t trial_index = 0, v;
	char *command;
	int nhp = 0, c, quiet = 0, status;
	struct {
		const char *name, *value;
	} *sets;

	tp_train_opts_init(&o);
	while (tp_hp_name(nhp))
		nhp++;
	/* Each hyperparameter as --dash-name and --underscore_name. */
	opts = tp_xcalloc(NFIXED + 2 * (size_t)nhp + 1, sizeof *opts);
	sets = tp_xcalloc((size_t)argc, sizeof *sets);
	memcpy(opts, fixed_opts, sizeof fixed_opts);
	for (int i = 0; i < nhp; i++) {
		char *dash = tp_xstrdup(tp_hp_name(i));
		for (char *q = dash; *q; q++)
			if (*q == '_')
				*q = '-';
		opts[NFIXED + 2 * (size_t)i] = (struct option){dash, required_argument, NULL, OPT_HP + i};
		opts[NFIXED + 2 * (size_t)i + 1] =
		    (struct option){tp_hp_name(i), required_argument, NULL, OPT_HP + i};
	}
	int nsets = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:ho:qV", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.run_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return tp_close_stdout(TP_EXIT_OK);
		case 'o':
			o.metrics_path = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'V':
			tp_print_version();
			return tp_close_stdout(TP_EXIT_OK);
		case OPT_VALID:
			o.valid_path = optarg;
			break;
		case OPT_TRIAL:
			trial_path = optarg;
			break;
		case OPT_TRIAL_INDEX:
			if (tp_parse_i64(optarg, 0, INT64_MAX, "--trial-index", &trial_index) != 0)
				return TP_EXIT_USAGE;
			break;
		case OPT_THREADS:
			if (tp_parse_i64(optarg, 1, 1024, "--threads", &v) != 0)
				return TP_EXIT_USAGE;
			o.threads = (int)v;
			break;
		case OPT_INIT_FROM:
			o.init_from = optarg;
			break;
		case OPT_RESUME:
			o.resume = 1;
			break;
		case OPT_NO_TIMING:
			o.timing = 0;
			break;
		case OPT_INPUT_BOUND:
			if (tp_parse_f64(optarg, 0, 1, "--input-bound", &o.input_bound) != 0)
				return TP_EXIT_USAGE;
			break;
		default:
			if (c >= OPT_HP && c < OPT_HP + nhp) {
				sets[nsets].name = tp_hp_name(c - OPT_HP);
				sets[nsets++].value = optarg;
				break;
			}
			bad_option(argv[optind - 1], c);
			return TP_EXIT_USAGE;
		}
	}
	if (o.resume) {
		/* The run's own configuration and data: nothing may change them. */
		if (optind < argc || nsets || trial_path || o.init_from || o.valid_path) {
			tp_errorf("--resume takes the run's configuration and data from -d DIR; "
			          "give no hyperparameters, trial or data");
			return TP_EXIT_USAGE;
		}
		if (!o.run_dir) {
			tp_errorf("--resume needs a run directory (-d DIR)");
			return TP_EXIT_USAGE;
		}
	} else if (optind >= argc) {
		tp_errorf("no training set given (usage: tp-train [options] TRAIN...)");
		return TP_EXIT_USAGE;
	}
	o.train_paths = (const char *const *)argv + optind;
	o.ntrain = (size_t)(argc - optind);
	if (trial_path && tp_train_read_trial(&o, trial_path, trial_index, &trial) != 0)
		return TP_EXIT_USAGE;
	for (int i = 0; i < nsets; i++) {
		char origin[64];
		snprintf(origin, sizeof origin, "--%s", sets[i].name);
		if (tp_hp_set(&o.hp, sets[i].name, sets[i].value, origin) != 0)
			return TP_EXIT_USAGE;
	}
	o.progress = !quiet && isatty(STDERR_FILENO);
	command = join_argv(argc, argv);
	o.command = command;
	o.stop = &stop_flag;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	status = tp_train(&o);
	free(command);
	tp_train_trial_free(trial);
	for (int i = 0; i < nhp; i++)
		free((char *)opts[NFIXED + 2 * (size_t)i].name);
	free(opts);
	free(sets);
	return tp_close_stdout(status);
}
