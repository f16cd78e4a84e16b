/*
 * tp-ckpt-select: choose the best checkpoints of one run or a whole study
 * from the evaluation records the runs left, after the fact (the playbook's
 * retrospective checkpoint selection), and optionally delete the rest.
 * Options and output only; the rules are lib/select.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tp/cli.h"
#include "tp/err.h"
#include "tp/json.h"
#include "tp/record.h"
#include "tp/select.h"

static const char usage_text[] =
	"usage: tp-ckpt-select [-fqr] [-F FORMAT] [-m METRIC] [-n N] [--split NAME]\n"
	"                      [--min | --max] [--prune [--force]] [RUN...]\n";

static const char help_text[] =
	"Print the best checkpoint(s) by a metric of the evaluation records in\n"
	"metrics streams, run directories or tp-eval output (stdin when none).\n"
	"\n"
	"  -F, --format=FORMAT   path (default), tsv or records\n"
	"  -f, --final           rank runs by the metric at their final step\n"
	"      --force           with --prune: really delete\n"
	"  -m, --metric=NAME     metric to rank by (default error)\n"
	"      --max             larger is better\n"
	"      --min             smaller is better (default, except for\n"
	"                        accuracy-like names)\n"
	"  -n, --keep=N          print the N best (default 1)\n"
	"      --prune           list the other checkpoints of the runs for\n"
	"                        deletion (a dry run unless --force)\n"
	"  -q, --quiet           do not report skipped checkpoints\n"
	"  -r, --per-run         choose within each run\n"
	"      --split=NAME      evaluation split (default valid)\n"
	"  -h, --help            show this help\n"
	"  -V, --version         show the version\n"
	"\n"
	"Exit 0 when something was selected, 1 when no checkpoint qualifies.\n"
	"See tp-ckpt-select(1).\n";

enum { OPT_FORCE = 256, OPT_MAX, OPT_MIN, OPT_PRUNE, OPT_SPLIT };
enum format { FMT_PATH, FMT_TSV, FMT_RECORDS };

struct opts {
	struct tp_select_opts sel;
	enum format format;
	int prune, force;
};

static int
usage(void)
{
	fputs(usage_text, stderr);
	return TP_EXIT_USAGE;
}

static int
print_picks(const struct opts *o, const struct tp_pick *p, size_t n)
{
	struct tp_jbuf j;
	struct tp_rb b;
	int rc = 0;

	tp_jbuf_init(&j);
	tp_rb_init(&b);
	if (o->format == FMT_TSV) {
		tp_jbuf_add(&j, "path\tstep\t", 10);
		tp_jbuf_add(&j, o->sel.metric, strlen(o->sel.metric));
		tp_jbuf_add(&j, "\trun\n", 5);
	}
	for (size_t i = 0; i < n; i++) {
		if (o->format == FMT_PATH) {
			tp_jbuf_add(&j, p[i].path, strlen(p[i].path));
			tp_jbuf_addc(&j, '\n');
		} else if (o->format == FMT_TSV) {
			char step[32];
			int k = snprintf(step, sizeof step, "\t%lld\t", (long long)p[i].step);
			tp_jbuf_add(&j, p[i].path, strlen(p[i].path));
			tp_jbuf_add(&j, step, (size_t)k);
			tp_json_f64(&j, p[i].value);
			tp_jbuf_addc(&j, '\t');
			tp_jbuf_add(&j, p[i].run, strlen(p[i].run));
			tp_jbuf_addc(&j, '\n');
		} else {
			const void *raw;
			size_t len;
			tp_rb_begin(&b, "selection");
			tp_rb_str(&b, "path", p[i].path);
			tp_rb_i64(&b, "step", p[i].step);
			tp_rb_str(&b, "split", o->sel.split);
			tp_rb_str(&b, "metric", o->sel.metric);
			tp_rb_f64(&b, "value", p[i].value);
			tp_rb_str(&b, "run", p[i].run);
			tp_rb_u64(&b, "rank", p[i].rank);
			raw = tp_rb_finish(&b, &len);
			tp_jbuf_add(&j, raw, len);
		}
	}
	if (fwrite(j.buf, 1, j.len, stdout) != j.len)
		rc = -1;
	tp_rb_release(&b);
	tp_jbuf_release(&j);
	return rc;
}

static int
prune(const struct opts *o, struct tp_select *s)
{
	const char *const *paths;
	size_t n = tp_select_others(s, &paths);
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (!o->force) {
			if (!o->sel.quiet)
				tp_errorf("would delete %s", paths[i]);
		} else if (unlink(paths[i]) != 0 && errno != ENOENT) {
			tp_syserrorf("%s: cannot delete", paths[i]);
			rc = -1;
		} else if (!o->sel.quiet) {
			tp_errorf("deleted %s", paths[i]);
		}
	}
	return rc;
}

static int
run(struct opts *o, char **ins, int nins)
{
	static char *stdin_only[] = {"-"};
	struct tp_select *s;
	const struct tp_pick *picks;
	size_t n;
	int status = TP_EXIT_OK;

	if (nins == 0) {
		ins = stdin_only;
		nins = 1;
	}
	s = tp_select_new(&o->sel);
	for (int i = 0; i < nins; i++)
		if (tp_select_read(s, ins[i]) != 0) {
			tp_select_free(s);
			return TP_EXIT_RUNTIME;
		}
	n = tp_select_choose(s, &picks);
	if (n == 0) {
		if (!o->sel.quiet)
			tp_errorf("no checkpoint qualifies (split %s, metric %s)",
			          o->sel.split, o->sel.metric);
		tp_select_free(s);
		return TP_EXIT_NO;
	}
	if (print_picks(o, picks, n) != 0)
		status = TP_EXIT_RUNTIME;
	/* Output first: a Makefile sees the choice even if a delete fails. */
	if (fflush(stdout) != 0)
		status = TP_EXIT_RUNTIME;
	if (status == TP_EXIT_OK && o->prune && prune(o, s) != 0)
		status = TP_EXIT_RUNTIME;
	tp_select_free(s);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"final", no_argument, NULL, 'f'},
		{"force", no_argument, NULL, OPT_FORCE},
		{"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{"keep", required_argument, NULL, 'n'},
		{"max", no_argument, NULL, OPT_MAX},
		{"metric", required_argument, NULL, 'm'},
		{"min", no_argument, NULL, OPT_MIN},
		{"per-run", no_argument, NULL, 'r'},
		{"prune", no_argument, NULL, OPT_PRUNE},
		{"quiet", no_argument, NULL, 'q'},
		{"split", required_argument, NULL, OPT_SPLIT},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	int64_t keep;
	int c, dir_set = 0;

	o.sel.maximize = -1;
	o.sel.keep = 1;
	while ((c = getopt_long(argc, argv, "F:fhm:n:qrV", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (strcmp(optarg, "path") == 0)
				o.format = FMT_PATH;
			else if (strcmp(optarg, "tsv") == 0)
				o.format = FMT_TSV;
			else if (strcmp(optarg, "records") == 0)
				o.format = FMT_RECORDS;
			else {
				tp_errorf("--format: '%s' is not path, tsv or records", optarg);
				return usage();
			}
			break;
		case 'f':
			o.sel.final = 1;
			break;
		case OPT_FORCE:
			o.force = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs("\n", stdout);
			fputs(help_text, stdout);
			return tp_close_stdout(TP_EXIT_OK);
		case 'm':
			if (!optarg[0]) {
				tp_errorf("--metric: empty name");
				return usage();
			}
			o.sel.metric = optarg;
			break;
		case 'n':
			if (tp_parse_i64(optarg, 1, 1000000, "--keep", &keep) != 0)
				return usage();
			o.sel.keep = (size_t)keep;
			break;
		case OPT_MAX:
		case OPT_MIN:
			if (dir_set && o.sel.maximize != (c == OPT_MAX)) {
				tp_errorf("--min and --max contradict each other");
				return usage();
			}
			o.sel.maximize = c == OPT_MAX;
			dir_set = 1;
			break;
		case 'q':
			o.sel.quiet = 1;
			break;
		case 'r':
			o.sel.per_run = 1;
			break;
		case OPT_PRUNE:
			o.prune = 1;
			break;
		case OPT_SPLIT:
			if (!optarg[0]) {
				tp_errorf("--split: empty name");
				return usage();
			}
			o.sel.split = optarg;
			break;
		case 'V':
			tp_print_version();
			return tp_close_stdout(TP_EXIT_OK);
		default:
			return usage();
		}
	}
	if (o.force && !o.prune) {
		tp_errorf("--force only goes with --prune");
		return usage();
	}
	if (!o.sel.metric)
		o.sel.metric = "error";
	if (!o.sel.split)
		o.sel.split = "valid";
	return tp_close_stdout(run(&o, argv + optind, argc - optind));
}
