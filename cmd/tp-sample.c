/*
 * tp-sample: the trials of a tuning round.  Reads a search space
 * (tp-space(5)), prints one trial record per study and trial index: scrambled
 * Sobol by default, Halton, random or grid, or Bayesian proposals from the
 * completed trials of earlier rounds.  See tp-sample(1).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/cli.h"
#include "tp/err.h"
#include "tp/qmc.h"
#include "tp/space.h"
#include "tp/study.h"

static const char usage_text[] =
	"usage: tp-sample [-dhqV] [-f format] [-m method] [-n trials] [-o file]\n"
	"                 [-p preset] [-s seed] [--start index] [--count n]\n"
	"                 [-H history]... [--metric name] [--split name] [--max]\n"
	"                 [space]\n";

static void
help(void)
{
	fputs(usage_text, stdout);
	fputs("Print the trials of a tuning round, one study per combination of\n"
	      "scientific values.\n\n"
	      "  -n, --trials N      trials per study (default 16)\n"
	      "  -s, --seed S        sampling seed (default 0)\n"
	      "  -m, --method M      sobol (default), halton, random, grid or bayes\n"
	      "      --start I       first trial index (default 0)\n"
	      "      --count N       trials per study to print (default: trials - start)\n"
	      "  -f, --format F      msgpack (default), json, args or tsv\n"
	      "  -o, --output FILE   write there (.zst: compressed; default stdout)\n"
	      "  -d, --describe      print the resolved space and the studies\n"
	      "  -p, --preset adam   tune Adam by the playbook's budget rules\n"
	      "  -H, --history FILE  completed trials for --method bayes (repeatable)\n"
	      "      --metric NAME   objective in eval records (default error)\n"
	      "      --split NAME    split of the eval records (default valid)\n"
	      "      --min, --max    minimize (default) or maximize the metric\n"
	      "  -q, --quiet         no warnings\n"
	      "  -h, --help          this help\n"
	      "  -V, --version       print the version\n", stdout);
}

static int
usage(void)
{
	fputs(usage_text, stderr);
	return TP_EXIT_USAGE;
}

enum { OPT_START = 256, OPT_COUNT, OPT_METRIC, OPT_SPLIT, OPT_MIN, OPT_MAX };

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"count", required_argument, NULL, OPT_COUNT},
		{"describe", no_argument, NULL, 'd'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"history", required_argument, NULL, 'H'},
		{"max", no_argument, NULL, OPT_MAX},
		{"method", required_argument, NULL, 'm'},
		{"metric", required_argument, NULL, OPT_METRIC},
		{"min", no_argument, NULL, OPT_MIN},
		{"output", required_argument, NULL, 'o'},
		{"preset", required_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"seed", required_argument, NULL, 's'},
		{"split", required_argument, NULL, OPT_SPLIT},
		{"start", required_argument, NULL, OPT_START},
		{"trials", required_argument, NULL, 'n'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct tp_study_opts o;
	struct tp_space sp;
	const char **history = NULL;
	const char *path;
	int c, describe = 0, preset = 0, have_count = 0, have_start = 0;
	int status = TP_EXIT_OK, usage_err, rc = 0;
	int64_t v;

	tp_study_opts_init(&o);
	opterr = 0; /* our messages: the short program name first, one line */
	while ((c = getopt_long(argc, argv, ":dH:f:hm:n:o:p:qs:V", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			describe = 1;
			break;
		case 'f':
			if (tp_format_parse(optarg, &o.format)) {
				tp_errorf("--format: '%s': expected msgpack, json, args or tsv",
				          optarg);
				return usage();
			}
			break;
		case 'h':
			help();
			return tp_close_stdout(TP_EXIT_OK);
		case 'H':
			history = realloc(history, sizeof *history * (size_t)(o.nhistory + 1));
			if (!history)
				tp_oom();
			history[o.nhistory++] = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "bayes"))
				o.bayes = 1;
			else if (tp_qmc_kind_parse(optarg, &o.method)) {
				tp_errorf("--method: '%s': expected sobol, halton, random, "
				          "grid or bayes", optarg);
				return usage();
			} else
				o.bayes = 0;
			break;
		case 'n':
			if (tp_parse_i64(optarg, 1, 1000000000, "--trials", &v))
				return usage();
			o.trials = (uint64_t)v;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'p':
			if (strcmp(optarg, "adam")) {
				tp_errorf("--preset: '%s': the only preset is adam", optarg);
				return usage();
			}
			preset = 1;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 's':
			if (tp_parse_i64(optarg, 0, INT64_MAX, "--seed", &v))
				return usage();
			o.seed = (uint64_t)v;
			break;
		case 'V':
			tp_print_version();
			return tp_close_stdout(TP_EXIT_OK);
		case OPT_START:
			if (tp_parse_i64(optarg, 0, (int64_t)TP_QMC_MAXINDEX - 1, "--start", &v))
				return usage();
			o.start = (uint64_t)v;
			have_start = 1;
			break;
		case OPT_COUNT:
			if (tp_parse_i64(optarg, 0, (int64_t)TP_QMC_MAXINDEX, "--count", &v))
				return usage();
			o.count = (uint64_t)v;
			have_count = 1;
			break;
		case OPT_METRIC:
			o.metric = optarg;
			break;
		case OPT_SPLIT:
			o.split = optarg;
			break;
		case OPT_MIN:
			o.maximize = 0;
			break;
		case OPT_MAX:
			o.maximize = 1;
			break;
		case ':':
			tp_errorf("%s: missing argument", argv[optind - 1]);
			return usage();
		default:
			if (optopt)
				tp_errorf("-%c: unknown option", optopt);
			else
				tp_errorf("%s: unknown option", argv[optind - 1]);
			return usage();
		}
	}
	if (argc - optind > 1) {
		tp_errorf("one search space at most, %d given", argc - optind);
		return usage();
	}
	if (o.nhistory && !o.bayes) {
		tp_errorf("--history needs --method bayes");
		free(history);
		return usage();
	}
	if (o.bayes && have_start) {
		tp_errorf("--start: Bayesian proposals are numbered after the history");
		free(history);
		return usage();
	}
	if (o.bayes && (have_count ? o.count : o.trials) > 1000) {
		tp_errorf("%s: at most 1000 Bayesian proposals per study",
		          have_count ? "--count" : "--trials");
		free(history);
		return usage();
	}
	if (!have_count)
		o.count = o.bayes ? o.trials : o.trials > o.start ? o.trials - o.start : 0;
	o.history = history;
	/* With a preset and no operand the space is the preset alone: stdin
	 * is not read (tp-sample -p adam -n 20 works in a terminal). */
	path = optind < argc ? argv[optind] : preset ? NULL : "-";
	tp_space_init(&sp, path ? path : "preset");
	if (preset)
		tp_space_want_adam(&sp);
	if (path)
		rc = tp_space_read(&sp, path);
	if (rc == -2) {
		status = TP_EXIT_RUNTIME;
	} else if (rc || tp_space_finish(&sp, o.trials)) {
		status = TP_EXIT_USAGE;
	} else if (describe) {
		if (tp_study_describe(&sp, &o, stdout))
			status = TP_EXIT_RUNTIME;
	} else if (tp_study_run(&sp, &o, &usage_err)) {
		status = usage_err ? TP_EXIT_USAGE : TP_EXIT_RUNTIME;
	}
	tp_space_release(&sp);
	free(history);
	return tp_close_stdout(status);
}
