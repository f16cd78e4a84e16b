/*
 * tp-track: the study spreadsheet, training curves and diagnostics.
 * Ingests the record streams of tp-sample, tp-train and tp-eval into a
 * lock-free store (lib/store.c), prints the playbook's spreadsheet as text,
 * TSV, CSV, Markdown or JSON Lines (lib/table.c), draws curves and axis
 * plots (lib/plot.c) and answers the playbook's questions (lib/diag.c).
 * This file parses options and wires those modules together.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/cli.h"
#include "tp/diag.h"
#include "tp/err.h"
#include "tp/plot.h"
#include "tp/record.h"
#include "tp/store.h"
#include "tp/table.h"
#include "tp/zio.h"

static const char usage_text[] =
	"usage: tp-track [-d DIR] init\n"
	"       tp-track [-d DIR] study NAME [--config FILE] [--notes TEXT]\n"
	"                [--command CMD] [--goal TEXT]\n"
	"       tp-track [-d DIR] ingest [-q] [--study NAME] [--trial N] [PATH...]\n"
	"       tp-track [-d DIR] table [-f FORMAT] [-n N] [-o FILE] [--study NAME]\n"
	"                [OBJECTIVE]\n"
	"       tp-track [-d DIR] compare [-f FORMAT] [-o FILE] [--study NAME]...\n"
	"                [OBJECTIVE]\n"
	"       tp-track [-d DIR] curves --study NAME [-n N] [--trial N]... [-o FILE]\n"
	"                [-w WIDTH] [-f FORMAT] [OBJECTIVE]\n"
	"       tp-track [-d DIR] axis --study NAME (-p PARAM | --all) [-o FILE]\n"
	"                [--log | --linear] [OBJECTIVE]\n"
	"       tp-track [-d DIR] check [-q] [--study NAME]... [--space FILE]\n"
	"                [--bound P=LO:HI[:log]]... [--epoch-steps N] [--near F]\n"
	"                [--per-param N] [OBJECTIVE]\n"
	"       tp-track [-d DIR] export [--study NAME] [-o FILE] [OBJECTIVE]\n"
	"       tp-track leak [-q] TRAIN HELDOUT...\n"
	"OBJECTIVE: [-m METRIC] [--split SPLIT] [--min | --max] [--final]\n";

static const char help_text[] =
	"Track studies and trials; print the spreadsheet, curves and findings.\n"
	"\n"
	"Commands:\n"
	"  init      create the store\n"
	"  study     register (or update) a study: config checksum, notes, command\n"
	"  ingest    add run directories or record files (none or -: stdin)\n"
	"  table     one row per study, or per trial with --study\n"
	"  compare   the best trial of each study and scientific value, side by side\n"
	"  curves    training and validation curves: sparklines, or SVG with -o\n"
	"  axis      objective against a hyperparameter, SVG\n"
	"  check     the playbook's questions; exit 7 when something was found\n"
	"  export    result records, the history of tp-sample -m bayes\n"
	"  leak      held-out examples that also appear in the training set\n"
	"\n"
	"Options:\n"
	"  -a, --all              axis: one plot per nuisance parameter (-o PREFIX)\n"
	"  -b, --bound=P=LO:HI[:log] check: search-space bounds of parameter P\n"
	"  -c, --config=FILE      study: the study's config file (checksummed)\n"
	"  -C, --command=CMD      study: the command that reproduces the study\n"
	"  -d, --store=DIR        the store (default $TP_TRACK, else ./tp-track)\n"
	"  -e, --epoch-steps=N    check: steps per epoch for the periodicity check\n"
	"  -f, --format=FMT       text, tsv, csv, markdown or jsonl\n"
	"  -F, --final            the value at the last evaluated step, not the best\n"
	"  -g, --goal=TEXT        study: the round's goal\n"
	"  -l, --log              axis: logarithmic x axis\n"
	"  -L, --linear           axis: linear x axis\n"
	"  -m, --metric=NAME      metric of the objective (default error, mse or loss)\n"
	"  -M, --max              larger is better\n"
	"      --min              smaller is better\n"
	"  -n, --count=N          table: at most N rows; curves: the best N (3)\n"
	"  -N, --notes=TEXT       study: notes\n"
	"  -o, --output=FILE      write to FILE instead of stdout\n"
	"  -p, --param=NAME       axis: the hyperparameter\n"
	"  -P, --per-param=N      check: trials wanted per nuisance parameter (10)\n"
	"  -q, --quiet            ingest, check, leak: print nothing; exit status only\n"
	"  -r, --near=F           check: boundary zone, fraction of the range (0.1)\n"
	"  -S, --study=NAME       the study\n"
	"      --space=FILE       check: bounds from a search space (tp-space(5))\n"
	"      --split=NAME       split of the objective (default valid)\n"
	"  -t, --trial=N          ingest: trial of unnamed streams; curves: show it\n"
	"  -w, --width=N          curves: sparkline width (40)\n"
	"  -h, --help             show this help\n"
	"  -V, --version          show the version\n"
	"\n"
	"Exit status: 0 ok, 2 usage, 3 runtime or bad data, 7 check/leak found\n"
	"something.  See tp-track(1).\n";

enum { OPT_MIN = 256, OPT_SPLIT, OPT_SPACE };

static const struct option longopts[] = {
	{"all", no_argument, NULL, 'a'},
	{"bound", required_argument, NULL, 'b'},
	{"command", required_argument, NULL, 'C'},
	{"config", required_argument, NULL, 'c'},
	{"count", required_argument, NULL, 'n'},
	{"epoch-steps", required_argument, NULL, 'e'},
	{"final", no_argument, NULL, 'F'},
	{"format", required_argument, NULL, 'f'},
	{"goal", required_argument, NULL, 'g'},
	{"help", no_argument, NULL, 'h'},
	{"linear", no_argument, NULL, 'L'},
	{"log", no_argument, NULL, 'l'},
	{"max", no_argument, NULL, 'M'},
	{"metric", required_argument, NULL, 'm'},
	{"min", no_argument, NULL, OPT_MIN},
	{"near", required_argument, NULL, 'r'},
	{"notes", required_argument, NULL, 'N'},
	{"output", required_argument, NULL, 'o'},
	{"param", required_argument, NULL, 'p'},
	{"per-param", required_argument, NULL, 'P'},
	{"quiet", no_argument, NULL, 'q'},
	{"space", required_argument, NULL, OPT_SPACE},
	{"split", required_argument, NULL, OPT_SPLIT},
	{"store", required_argument, NULL, 'd'},
	{"study", required_argument, NULL, 'S'},
	{"trial", required_argument, NULL, 't'},
	{"version", no_argument, NULL, 'V'},
	{"width", required_argument, NULL, 'w'},
	{NULL, 0, NULL, 0},
};

struct opts {
	const char *cmd, *store, *output, *param, *space;
	const char *config, *command, *notes, *goal;
	const char **studies;
	size_t nstudies;
	int64_t *trials;
	size_t ntrials;
	struct tp_bound *bounds;
	size_t nbounds;
	struct tp_objective obj;
	int format, all, logx, quiet;
	int64_t count, width, epoch, per_param;
	double near;
	int nargs;
	char **args;
};

/* Usage errors are one line, like every diagnostic of the suite: what was
 * wrong and where the full usage is. */
static int
usage(void)
{
	return TP_EXIT_USAGE;
}

/* "lr=1e-4:1e-1:log" */
static int
parse_bound(const char *arg, struct tp_bound *b)
{
	const char *eq = strchr(arg, '='), *s;
	char *end;

	memset(b, 0, sizeof *b);
	if (!eq || eq == arg)
		goto bad;
	b->name = tp_xstrndup(arg, (size_t)(eq - arg));
	b->lo = strtod(eq + 1, &end);
	if (end == eq + 1 || *end != ':')
		goto bad;
	s = end + 1;
	b->hi = strtod(s, &end);
	if (end == s ||
	    (*end && strcmp(end, ":log") != 0 && strcmp(end, ":linear") != 0))
		goto bad;
	b->log = strcmp(end, ":log") == 0;
	if (!isfinite(b->lo) || !isfinite(b->hi) || !(b->hi > b->lo) ||
	    (b->log && b->lo <= 0))
		goto bad;
	return 0;
bad:
	free((char *)b->name);
	b->name = NULL;
	tp_errorf("--bound: '%s' is not PARAM=LO:HI[:log] with finite LO < HI "
	          "(LO > 0 for log)", arg);
	return -1;
}

/* Which options each command takes (letters as in the option table). */
static const struct {
	const char *name, *opts;
} cmds[] = {
	{"init", ""},
	{"study", "cCNg"},
	{"ingest", "qSt"},
	{"table", "fnoSmMiFs"},
	{"compare", "foSmMiFs"},
	{"curves", "SntowfmMiFs"},
	{"axis", "SpaolLmMiFs"},
	{"check", "qSbernPxmMiFs"},
	{"export", "SomMiFs"},
	{"leak", "q"},
};

static int
parse(int argc, char **argv, struct opts *o)
{
	const char *allowed = NULL;
	int c;
	int64_t x;

	memset(o, 0, sizeof *o);
	o->obj.maximize = -1;
	o->logx = -1;
	o->count = -1;
	o->width = 40;
	o->near = 0.1;
	o->per_param = 10;
	/* Global options may come before the command. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->store = optarg; break;
		case 'h': fputs(usage_text, stdout); fputs(help_text, stdout); return 1;
		case 'V': tp_print_version(); return 1;
		default: tp_bad_option(argv[optind - 1], c); return -1;
		}
	}
	if (optind >= argc) {
		tp_errorf("no command given (usage: tp-track [-d DIR] COMMAND "
		          "[options]; see tp-track --help)");
		return -1;
	}
	o->cmd = argv[optind];
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
		if (strcmp(cmds[i].name, o->cmd) == 0)
			allowed = cmds[i].opts;
	if (!allowed) {
		tp_errorf("unknown command '%s' (see tp-track --help)", o->cmd);
		return -1;
	}
	argc -= optind, argv += optind;
	optind = 0; /* glibc: 0 re-initialises getopt (the "+" above) */
	while ((c = getopt_long(argc, argv,
	                        ":ab:C:c:d:e:Ff:g:hLlMm:n:N:o:p:P:qr:S:t:Vw:",
	                        longopts, NULL)) != -1) {
		char letter = c == OPT_MIN ? 'i' : c == OPT_SPLIT ? 's'
		              : c == OPT_SPACE ? 'x' : (char)c;
		if (c == '?' || c == ':') {
			tp_bad_option(argv[optind - 1], c);
			return -1;
		}
		if (c == 'h') {
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return 1;
		}
		if (c == 'V') {
			tp_print_version();
			return 1;
		}
		if (c != 'd' && !strchr(allowed, letter)) {
			const struct option *lo = longopts;
			while (lo->name && lo->val != c)
				lo++;
			tp_errorf("%s: option --%s does not apply (see tp-track "
			          "--help)", o->cmd, lo->name ? lo->name : "?");
			return -1;
		}
		switch (c) {
		case 'a': o->all = 1; break;
		case 'b':
			o->bounds = tp_xrealloc(o->bounds, (o->nbounds + 1) * sizeof *o->bounds);
			if (parse_bound(optarg, &o->bounds[o->nbounds]) != 0)
				return -1;
			o->nbounds++;
			break;
		case 'C': o->command = optarg; break;
		case 'c': o->config = optarg; break;
		case 'd': o->store = optarg; break;
		case 'e':
			if (tp_parse_i64(optarg, 1, INT64_MAX / 2, "--epoch-steps", &o->epoch))
				return -1;
			break;
		case 'F': o->obj.final = 1; break;
		case 'f':
			if ((o->format = tp_table_format(optarg)) < 0) {
				tp_errorf("--format: '%s' is not text, tsv, csv, markdown or "
				          "jsonl", optarg);
				return -1;
			}
			break;
		case 'g': o->goal = optarg; break;
		case 'L': o->logx = 0; break;
		case 'l': o->logx = 1; break;
		case 'M': o->obj.maximize = 1; break;
		case OPT_MIN: o->obj.maximize = 0; break;
		case 'm': o->obj.metric = optarg; break;
		case 'n':
			if (tp_parse_i64(optarg, 1, 1000000000, "--count", &o->count))
				return -1;
			break;
		case 'N': o->notes = optarg; break;
		case 'o': o->output = optarg; break;
		case 'p': o->param = optarg; break;
		case 'P':
			if (tp_parse_i64(optarg, 1, 1000000, "--per-param", &x))
				return -1;
			o->per_param = (int)x;
			break;
		case 'q': o->quiet = 1; break;
		case 'r':
			if (tp_parse_f64(optarg, 0, 0.5, "--near", &o->near))
				return -1;
			break;
		case 'S':
			o->studies = tp_xrealloc(o->studies, (o->nstudies + 1) * sizeof *o->studies);
			o->studies[o->nstudies++] = optarg;
			break;
		case OPT_SPLIT: o->obj.split = optarg; break;
		case OPT_SPACE: o->space = optarg; break;
		case 't':
			if (tp_parse_i64(optarg, 0, INT64_MAX, "--trial", &x))
				return -1;
			o->trials = tp_xrealloc(o->trials, (o->ntrials + 1) * sizeof *o->trials);
			o->trials[o->ntrials++] = x;
			break;
		case 'w':
			if (tp_parse_i64(optarg, 4, 400, "--width", &o->width))
				return -1;
			break;
		default:
			return -1;
		}
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

/* Operands and option combinations each command needs. */
static int
check_operands(const struct opts *o)
{
	const char *c = o->cmd;
	int one_study = strcmp(c, "curves") == 0 || strcmp(c, "axis") == 0;

	if (strcmp(c, "study") == 0 ? o->nargs != 1
	    : strcmp(c, "leak") == 0 ? o->nargs < 2
	    : strcmp(c, "ingest") != 0 && o->nargs != 0) {
		if (strcmp(c, "study") == 0 && o->nargs == 0)
			tp_errorf("study: one study NAME expected");
		else if (strcmp(c, "leak") == 0)
			tp_errorf("leak: TRAIN and at least one HELDOUT dataset expected");
		else
			tp_errorf("%s: unexpected operand '%s'", c,
			          o->args[strcmp(c, "study") == 0 ? 1 : 0]);
		return -1;
	}
	if ((one_study || strcmp(c, "table") == 0 || strcmp(c, "export") == 0 ||
	     strcmp(c, "ingest") == 0) && o->nstudies > 1) {
		tp_errorf("%s: --study given more than once", c);
		return -1;
	}
	if (strcmp(c, "ingest") == 0 && o->ntrials > 1) {
		tp_errorf("ingest: --trial given more than once");
		return -1;
	}
	if (one_study && o->nstudies != 1) {
		tp_errorf("%s: --study NAME is required", c);
		return -1;
	}
	if (strcmp(c, "axis") == 0 && !o->param == !o->all) {
		tp_errorf("axis: give either --param NAME or --all");
		return -1;
	}
	if (strcmp(c, "axis") == 0 && o->all && !o->output) {
		tp_errorf("axis: --all needs -o PREFIX (files PREFIX-PARAM.svg)");
		return -1;
	}
	return 0;
}

static int
open_out(const char *path, FILE **f)
{
	*f = stdout;
	if (!path || strcmp(path, "-") == 0)
		return 0;
	*f = fopen(path, "w");
	if (!*f) {
		tp_syserrorf("%s", path);
		return -1;
	}
	return 0;
}

static int
close_out(const char *path, FILE *f, int rc)
{
	if (f == stdout)
		return rc;
	if (fclose(f) != 0 && rc == 0) {
		tp_syserrorf("%s: write error", path);
		rc = -1;
	} else if (rc != 0) {
		tp_errorf("%s: write error", path);
	}
	return rc;
}

static int
print_table(const struct opts *o, struct tp_table *t)
{
	FILE *f;
	int rc;

	if (open_out(o->output, &f) != 0) {
		tp_table_release(t);
		return TP_EXIT_RUNTIME;
	}
	rc = tp_table_print(t, f, (enum tp_tfmt)o->format);
	tp_table_release(t);
	return close_out(o->output, f, rc) ? TP_EXIT_RUNTIME : TP_EXIT_OK;
}

static int
need_study(const struct tp_store *s, const char *name)
{
	size_t n;

	if (tp_store_study(s, name) || tp_store_trials(s, name, &n))
		return 0;
	tp_errorf("%s: no study '%s' in this store", s->dir, name);
	return -1;
}

static int
cmd_ingest(const struct opts *o, const char *dir)
{
	const char *study = o->nstudies ? o->studies[0] : NULL;
	int64_t trial = o->ntrials ? o->trials[0] : -1;
	int total = 0, n = o->nargs ? o->nargs : 1;

	int progress = n > 1 && !o->quiet && tp_stderr_is_tty();

	for (int i = 0; i < n; i++) {
		const char *p = o->nargs ? o->args[i] : "-";
		int added = 0;
		/* The progress line is erased before each step, so an error
		 * message gets a line of its own. */
		if (progress)
			fputs("\r\033[K", stderr);
		if (tp_store_ingest_path(dir, p, study, trial, &added) != 0)
			return TP_EXIT_RUNTIME;
		if (progress)
			fprintf(stderr, "tp-track: ingest %d/%d", i + 1, n);
		total += added;
	}
	if (progress)
		fputs("\r\033[K", stderr);
	if (!o->quiet)
		printf("%d new object%s\n", total, total == 1 ? "" : "s");
	return TP_EXIT_OK;
}

static int
cmd_study(const struct opts *o, const char *dir)
{
	struct tp_study st = {0};

	st.name = o->args[0];
	st.config = (char *)o->config;
	st.notes = (char *)o->notes;
	st.command = (char *)o->command;
	st.goal = (char *)o->goal;
	return tp_store_add_study(dir, &st) ? TP_EXIT_RUNTIME : TP_EXIT_OK;
}

static int
cmd_curves(const struct opts *o, const struct tp_store *s)
{
	size_t n, nr, k = 0;
	const struct tp_trial *t = tp_store_trials(s, o->studies[0], &n);
	struct tp_objective so = tp_objective_for(&o->obj, t, n);
	size_t *idx = tp_store_rank(t, n, &so, &nr);
	size_t want = o->ntrials ? o->ntrials : (size_t)(o->count > 0 ? o->count : 3);
	const struct tp_trial **sel = tp_xcalloc(want + 1, sizeof *sel);
	struct tp_series *se = tp_xcalloc(want + 1, sizeof *se);
	int rc = TP_EXIT_OK;

	for (size_t i = 0; i < o->ntrials; i++) {
		size_t j = 0;
		while (j < n && t[j].id != o->trials[i])
			j++;
		if (j == n) {
			tp_errorf("%s: study '%s' has no trial %lld", s->dir, o->studies[0],
			          (long long)o->trials[i]);
			rc = TP_EXIT_USAGE;
			goto out;
		}
		sel[k++] = &t[j];
	}
	for (size_t i = 0; !o->ntrials && i < nr && k < want; i++)
		sel[k++] = &t[idx[i]];
	for (size_t i = 0; i < k; i++)
		if (tp_store_series(s, sel[i], &se[i]) != 0) {
			rc = TP_EXIT_RUNTIME;
			goto out;
		}
	if (o->output) {
		FILE *f;
		if (open_out(o->output, &f) != 0)
			rc = TP_EXIT_RUNTIME;
		else if (close_out(o->output, f, tp_plot_curves_svg(f, sel, se, k, &so)))
			rc = TP_EXIT_RUNTIME;
	} else {
		struct tp_table tab;
		tp_plot_curves_table(sel, se, k, &so, (size_t)o->width, &tab);
		rc = print_table(o, &tab);
	}
out:
	for (size_t i = 0; i < k; i++)
		tp_series_release(&se[i]);
	free(se);
	free(sel);
	free(idx);
	return rc;
}

static int
axis_one(const struct opts *o, const struct tp_trial *t, size_t n,
         const struct tp_objective *so, const char *param, const char *path)
{
	FILE *f;

	if (open_out(path, &f) != 0)
		return TP_EXIT_RUNTIME;
	if (close_out(path, f, tp_plot_axis_svg(f, t, n, so, param, o->logx)))
		return TP_EXIT_RUNTIME;
	return TP_EXIT_OK;
}

static int
cmd_axis(const struct opts *o, const struct tp_store *s)
{
	size_t n;
	const struct tp_trial *t = tp_store_trials(s, o->studies[0], &n);
	struct tp_objective so = tp_objective_for(&o->obj, t, n);
	int rc = TP_EXIT_OK;

	if (o->param) {
		int found = 0;
		for (size_t i = 0; i < n && !found; i++) {
			const struct tp_tparam *p = tp_trial_param(&t[i], o->param);
			found = p && p->type != TP_TV_STR;
		}
		if (!found) {
			tp_errorf("%s: no trial of study '%s' has a numeric parameter '%s'",
			          s->dir, o->studies[0], o->param);
			return TP_EXIT_USAGE;
		}
		return axis_one(o, t, n, &so, o->param, o->output);
	}
	/* --all: every numeric parameter that varies and is not scientific. */
	{
		const char **names;
		size_t np = tp_plot_axis_params(t, n, &names);
		for (size_t i = 0; i < np && rc == 0; i++) {
			size_t len = strlen(o->output) + strlen(names[i]) + 8;
			char *path = tp_xmalloc(len);
			snprintf(path, len, "%s-%s.svg", o->output, names[i]);
			rc = axis_one(o, t, n, &so, names[i], path);
			if (rc == 0)
				printf("%s\n", path);
			free(path);
		}
		free(names);
	}
	return rc;
}

static void
print_findings(const struct tp_findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct tp_finding *x = &f->v[i];
		printf("%s: %s", x->note ? "note" : "finding", x->check);
		if (*x->study)
			printf(": %s", x->study);
		if (x->trial >= 0)
			printf(" trial %lld", (long long)x->trial);
		printf(": %s\n", x->text);
	}
}

static int
cmd_check(const struct opts *o, const struct tp_store *s)
{
	struct tp_findings f;
	struct tp_diag_opts d = {0};
	struct tp_bound *b = NULL;
	size_t nb = 0;
	int rc = 0;

	if (o->space && tp_store_space_bounds(o->space, &b, &nb) != 0)
		return TP_EXIT_USAGE;
	/* --bound after the space's: the later entry for a name wins. */
	b = tp_xrealloc(b, (nb + o->nbounds + 1) * sizeof *b);
	for (size_t i = 0; i < o->nbounds; i++) {
		b[nb] = o->bounds[i];
		b[nb++].name = tp_xstrdup(o->bounds[i].name);
	}
	d.obj = o->obj;
	d.bounds = b;
	d.nbounds = nb;
	d.near = o->near;
	d.per_param = (int)o->per_param;
	d.epoch_steps = o->epoch;
	tp_findings_init(&f);
	for (size_t i = 0; i < o->nstudies; i++)
		if (need_study(s, o->studies[i]) != 0) {
			tp_findings_release(&f);
			tp_store_bounds_free(b, nb);
			return TP_EXIT_USAGE;
		}
	for (size_t i = 0; i < s->nstudies && rc == 0; i++) {
		size_t k = 0;
		while (k < o->nstudies && strcmp(o->studies[k], s->studies[i].name) != 0)
			k++;
		if (o->nstudies && k == o->nstudies)
			continue;
		rc = tp_diag_study(&f, s, s->studies[i].name, &d);
	}
	if (rc == 0 && !o->quiet)
		print_findings(&f);
	rc = rc ? TP_EXIT_RUNTIME : tp_findings_count(&f) ? TP_EXIT_FOUND : TP_EXIT_OK;
	tp_findings_release(&f);
	tp_store_bounds_free(b, nb);
	return rc;
}

static int
cmd_leak(const struct opts *o)
{
	struct tp_findings f;
	int rc;

	tp_findings_init(&f);
	rc = tp_diag_leak(&f, o->args[0], (const char *const *)o->args + 1,
	                  (size_t)o->nargs - 1);
	if (rc == 0 && !o->quiet)
		print_findings(&f);
	rc = rc ? TP_EXIT_RUNTIME : tp_findings_count(&f) ? TP_EXIT_FOUND : TP_EXIT_OK;
	tp_findings_release(&f);
	return rc;
}

static int
cmd_export(const struct opts *o, const struct tp_store *s)
{
	struct tp_wr *w = tp_wr_open(o->output ? o->output : "-", TP_ZOUT_AUTO);

	if (!w)
		return TP_EXIT_RUNTIME;
	if (tp_store_export(s, o->nstudies ? o->studies[0] : NULL, &o->obj, w) != 0) {
		tp_wr_abort(w);
		return TP_EXIT_RUNTIME;
	}
	return tp_wr_close(w) ? TP_EXIT_RUNTIME : TP_EXIT_OK;
}

static int
run(const struct opts *o)
{
	const char *dir = tp_store_default_dir(o->store);
	struct tp_store s;
	struct tp_table tab;
	int rc;

	if (strcmp(o->cmd, "init") == 0)
		return tp_store_create(dir) ? TP_EXIT_RUNTIME : TP_EXIT_OK;
	if (strcmp(o->cmd, "study") == 0)
		return cmd_study(o, dir);
	if (strcmp(o->cmd, "ingest") == 0)
		return cmd_ingest(o, dir);
	if (strcmp(o->cmd, "leak") == 0)
		return cmd_leak(o);
	if (tp_store_load(&s, dir) != 0) {
		tp_store_release(&s);
		return TP_EXIT_RUNTIME;
	}
	for (size_t i = 0; i < o->nstudies; i++)
		if (strcmp(o->cmd, "check") != 0 && need_study(&s, o->studies[i]) != 0) {
			tp_store_release(&s);
			return TP_EXIT_USAGE;
		}
	if (strcmp(o->cmd, "table") == 0) {
		if (o->nstudies)
			tp_store_trial_table(&s, o->studies[0], &o->obj,
			                     o->count > 0 ? (size_t)o->count : 0, &tab);
		else
			tp_store_study_table(&s, &o->obj, &tab);
		rc = print_table(o, &tab);
	} else if (strcmp(o->cmd, "compare") == 0) {
		tp_store_compare_table(&s, o->studies, o->nstudies, &o->obj, &tab);
		rc = print_table(o, &tab);
	} else if (strcmp(o->cmd, "curves") == 0) {
		rc = cmd_curves(o, &s);
	} else if (strcmp(o->cmd, "axis") == 0) {
		rc = cmd_axis(o, &s);
	} else if (strcmp(o->cmd, "check") == 0) {
		rc = cmd_check(o, &s);
	} else {
		rc = cmd_export(o, &s);
	}
	tp_store_release(&s);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int r = parse(argc, argv, &o), rc;

	if (r > 0)
		rc = TP_EXIT_OK;
	else if (r < 0 || check_operands(&o) != 0)
		rc = usage();
	else
		rc = run(&o);
	for (size_t i = 0; i < o.nbounds; i++)
		free((char *)o.bounds[i].name);
	free(o.bounds);
	free(o.studies);
	free(o.trials);
	return tp_close_stdout(rc);
}
