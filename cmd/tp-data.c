/*
 * tp-data: datasets for people (doc/tp-data.1): pack CSV/TSV and IDX
 * files into tp datasets, split, sample, shard, inspect and synthesize
 * them.  Option parsing and wiring only; the work is in lib/pack.c,
 * lib/dataops.c and lib/dataset.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/cli.h"
#include "tp/dataops.h"
#include "tp/dataset.h"
#include "tp/pack.h"
#include "tp/zio.h"

/* Each subcommand's synopsis; usage errors show only theirs. */
static const char *const synopsis[][2] = {
	{"pack", "pack [-r] [--plain] [-d DELIM] [-k K] [-l COLUMN] [-o FILE]\n"
	 "                    [-w COLUMN] [--format csv|idx] [--header | --no-header]\n"
	 "                    [--name NAME]\n"
	 "                    [--scale METHOD | --scale-from DATASET] [FILE | IMAGES LABELS]\n"},
	{"split", "split -f FRACTIONS [--plain] [-s SEED] [--names LIST]\n"
	 "                    -o PREFIX | -o FILE ... [FILE ...]\n"},
	{"sample", "sample -n COUNT | -f FRACTION [-S] [--plain] [-o FILE] [-s SEED]\n"
	 "                    [FILE ...]\n"},
	{"shard", "shard -n COUNT -o PREFIX [--plain] [FILE ...]\n"},
	{"info", "info [-j] [FILE ...]\n"},
	{"synth", "synth [--plain] [-n COUNT] [-o FILE] [-s SEED] [--classes K]\n"
	 "                    [--features D] [--kind KIND] [--name NAME] [--noise SIGMA]\n"},
	{"", "-h | --help | -V | --version\n"},
};

static const char help_text[] =
"\n"
"Datasets are record streams: a header, then examples {x, y, w}; outputs are\n"
"zstd-compressed unless --plain, to standard output unless -o.\n"
"\n"
"pack     CSV/TSV (delimiter and header line detected) or an IDX pair\n"
"  -d, --delimiter C    ',', ';', tab, space (runs of blanks)\n"
"      --format F       csv or idx (default: idx with two operands)\n"
"      --header         the first line names the columns\n"
"      --no-header      the first line is data\n"
"  -k, --classes K      number of classes (default: largest label + 1)\n"
"  -l, --label COLUMN   label column: name or 1-based number (default: last)\n"
"      --name NAME      dataset name for the header\n"
"  -r, --regression     the label is a real-valued target\n"
"      --scale METHOD   minmax or standardize, recorded in the header\n"
"      --scale-from DS  apply the scaling recorded in dataset DS\n"
"  -w, --weight COLUMN  per-example weights (>= 0) from this column\n"
"split    seeded, stratified by class, in random order\n"
"  -f, --fractions LIST e.g. 0.6,0.2,0.2 (sum 1)\n"
"      --names LIST     part names for -o PREFIX (default train,valid,test)\n"
"  -o, --output F       once: PREFIX-NAME.zst; once per part: the files\n"
"sample   a seeded random subset\n"
"  -n, --count N        or -f, --fraction F\n"
"  -S, --stratify       keep the class proportions\n"
"shard    N contiguous shards PREFIX-00000-of-0000N.zst\n"
"info     header, count and class balance\n"
"  -j, --json           one JSON object\n"
"synth    synthetic data (default 1000 examples)\n"
"      --kind KIND      blobs (default), spirals, mnist or linear (regression)\n"
"      --features D, --classes K, --noise SIGMA: override the kind's default\n"
"common\n"
"  -o, --output FILE    output (default: standard output)\n"
"      --plain          do not compress the output\n"
"  -s, --seed N         seed of every random choice (default 0)\n"
"  -h, --help           this help\n"
"  -V, --version        the version\n";

/* Print the synopsis of cmd (NULL: all) and return status; help goes to
 * stdout, a usage error's synopsis to stderr. */
static int
usage(int status, const char *cmd)
{
	FILE *f = status == TP_EXIT_OK ? stdout : stderr;
	int first = 1;

	for (size_t i = 0; i < sizeof synopsis / sizeof synopsis[0]; i++) {
		if (cmd && strcmp(cmd, synopsis[i][0]) != 0)
			continue;
		fprintf(f, "%s tp-data %s", first ? "usage:" : "      ", synopsis[i][1]);
		first = 0;
	}
	if (status == TP_EXIT_OK)
		fputs(help_text, stdout);
	return status;
}

/* Options shared by the subcommands; each parses the ones it knows. */
enum {
	OPT_PLAIN = 256,
	OPT_FORMAT,
	OPT_HEADER,
	OPT_NO_HEADER,
	OPT_NAME,
	OPT_SCALE,
	OPT_SCALE_FROM,
	OPT_NAMES,
	OPT_KIND,
	OPT_FEATURES,
	OPT_NOISE,
};

struct opts {
	const char *outputs[64];
	int noutputs;
	int plain;
	int64_t seed;
	/* pack */
	struct tp_pack_opts pack;
	const char *format, *scale, *scale_from;
	/* split, sample, shard, synth */
	const char *fractions, *names;
	const char *cmd; /* the subcommand, for usage() */
	int64_t count;
	double fraction;
	int have_fraction, stratify, json;
	/* synth */
	struct tp_synth_opts synth;
};

static int
out_flags(const struct opts *o)
{
	return (o->plain ? TP_ZOUT_PLAIN : TP_ZOUT_COMPRESS) | TP_ZOUT_ATOMIC;
}

static const char *
output(const struct opts *o)
{
	return o->noutputs ? o->outputs[0] : "-";
}

/* Load the operand files (none: stdin) as one dataset. */
static int
load(struct tp_dataset *ds, int argc, char **argv)
{
	return tp_dataset_load(ds, (const char *const *)argv, (size_t)argc);
}

static int
cmd_pack(struct opts *o, int argc, char **argv)
{
	struct tp_dataset ds;
	int idx, rc = -1;

	idx = o->format ? !strcmp(o->format, "idx") : argc == 2;
	if (o->format && strcmp(o->format, "idx") && strcmp(o->format, "csv")) {
		tp_errorf("--format: '%s' is not csv or idx", o->format);
		return usage(TP_EXIT_USAGE, o->cmd);
	}
	if ((idx && argc != 2) || (!idx && argc > 1)) {
		tp_errorf("pack: %s", idx ? "IDX needs two files: IMAGES LABELS" :
		          "one CSV file at a time (or none: standard input)");
		return usage(TP_EXIT_USAGE, o->cmd);
	}
	if (idx && o->pack.weight) {
		tp_errorf("--weight: only for CSV input");
		return usage(TP_EXIT_USAGE, o->cmd);
	}
	if (o->scale && tp_scale_parse(o->scale) < 0) {
		tp_errorf("--scale: '%s' is not minmax or standardize", o->scale);
		return usage(TP_EXIT_USAGE, o->cmd);
	}
	if (o->scale && o->scale_from) {
		tp_errorf("--scale and --scale-from exclude each other");
		return usage(TP_EXIT_USAGE, o->cmd);
	}
	if (idx)
		rc = tp_pack_idx(&ds, argv[0], argv[1], &o->pack);
	else
		rc = tp_pack_csv(&ds, argc ? argv[0] : "-", &o->pack);
	if (rc < 0)
		return TP_EXIT_RUNTIME;
	if (o->scale)
		rc = tp_scale_fit(&ds, (enum tp_scale)tp_scale_parse(o->scale));
	if (rc == 0 && o->scale_from) {
		struct tp_dsr *r = tp_dsr_open(o->scale_from);

		rc = r ? tp_scale_apply(&ds, tp_dsr_header(r), tp_dsr_name(r)) : -1;
		tp_dsr_close(r);
	}
	if (rc == 0)
		rc = tp_dataset_write(&ds, NULL, 0, output(o), out_flags(o));
	tp_dataset_release(&ds);
	return rc < 0 ? TP_EXIT_RUNTIME : TP_EXIT_OK;
}

/* Split a comma-separated list in place. */
static size_t
split_list(char *s, char **out, size_t max)
{
	size_t n = 0;

	for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
		out[n++] = tok;
	return n;
}

static int
cmd_split(struct opts *o, int argc, char **argv)
{
	static const char *const defnames[] = {"train", "valid", "test"};
	char *fbuf, *nbuf = NULL, *fl[64], *nl[64];
	double f[64];
	size_t k, nn = 0, counts[64];
	uint32_t *parts[64] = {0};
	struct tp_dataset ds;
	int status = TP_EXIT_USAGE;

	if (!o->fractions) {
		tp_errorf("split: --fractions is required");
		return usage(TP_EXIT_USAGE, o->cmd);
	}
	fbuf = tp_xstrdup(o->fractions);
	k = split_list(fbuf, fl, 64);
	for (size_t j = 0; j < k; j++)
		if (tp_parse_f64(fl[j], 0, 1, "--fractions", &f[j]) < 0)
			goto out;
	if (tp_data_check_fractions(f, k) < 0)
		goto out;
	if (o->names) {
		nbuf = tp_xstrdup(o->names);
		nn = split_list(nbuf, nl, 64);
		if (nn != k) {
			tp_errorf("--names: %zu names for %zu fractions", nn, k);
			goto out;
		}
	} else if (k > 3) {
		tp_errorf("--names: needed for more than 3 parts");
		goto out;
	}
	if (o->noutputs != 1 && (size_t)o->noutputs != k) {
		tp_errorf("split: give -o once (a prefix) or once per part (%zu)", k);
		goto out;
	}
	status = TP_EXIT_RUNTIME;
	if (load(&ds, argc, argv) < 0)
		goto out;
	if (tp_data_split(&ds, f, k, (uint64_t)o->seed, parts, counts) == 0) {
		status = TP_EXIT_OK;
		for (size_t j = 0; j < k && status == TP_EXIT_OK; j++) {
			char *name;
			size_t len = strlen(o->outputs[0]) + 300;

			if (o->noutputs == 1) {
				name = tp_xmalloc(len);
				snprintf(name, len, "%s-%s.zst", o->outputs[0],
				         o->names ? nl[j] : defnames[j]);
			} else {
				name = tp_xstrdup(o->outputs[j]);
			}
			if (tp_dataset_write(&ds, parts[j], counts[j], name,
			                     out_flags(o)) < 0)
				status = TP_EXIT_RUNTIME;
			free(name);
		}
	}
	for (size_t j = 0; j < k; j++)
		free(parts[j]);
	tp_dataset_release(&ds);
out:
	free(fbuf);
	free(nbuf);
	return status == TP_EXIT_USAGE ? usage(status, o->cmd) : status;
}

static int
cmd_sample(struct opts *o, int argc, char **argv)
{
	struct tp_dataset ds;
	uint32_t *idx;
	size_t n;
	int rc;

	if ((o->count < 0) == !o->have_fraction) {
		tp_errorf("sample: give one of -n COUNT and -f FRACTION");
		return usage(TP_EXIT_USAGE, o->cmd);
	}
	if (load(&ds, argc, argv) < 0)
		return TP_EXIT_RUNTIME;
	n = o->count >= 0 ? (size_t)o->count :
	    (size_t)(o->fraction * (double)ds.n + 0.5);
	rc = tp_data_sample(&ds, n, (uint64_t)o->seed, o->stratify, &idx);
	if (rc == 0) {
		rc = tp_dataset_write(&ds, idx, n, output(o), out_flags(o));
		free(idx);
	}
	tp_dataset_release(&ds);
	return rc < 0 ? TP_EXIT_RUNTIME : TP_EXIT_OK;
}

static int
cmd_shard(struct opts *o, int argc, char **argv)
{
	struct tp_dataset ds;
	int rc;

	if (o->count < 1 || o->noutputs != 1) {
		tp_errorf("shard: -n COUNT (>= 1) and -o PREFIX are required");
		return usage(TP_EXIT_USAGE, o->cmd);
	}
	if (load(&ds, argc, argv) < 0)
		return TP_EXIT_RUNTIME;
	rc = tp_data_shard(&ds, (size_t)o->count, o->outputs[0], out_flags(o));
	tp_dataset_release(&ds);
	return rc < 0 ? TP_EXIT_RUNTIME : TP_EXIT_OK;
}

static int
cmd_info(struct opts *o, int argc, char **argv)
{
	struct tp_data_info info;

	if (o->noutputs) {
		tp_errorf("info: writes to standard output; no -o");
		return usage(TP_EXIT_USAGE, o->cmd);
	}
	if (tp_data_info(&info, (const char *const *)argv, (size_t)argc) < 0)
		return TP_EXIT_RUNTIME;
	/* Shards read as one are named together. */
	{
		size_t len = 2;
		char *names;

		for (int i = 0; i < argc; i++)
			len += strlen(argv[i]) + 1;
		names = tp_xcalloc(len, 1);
		for (int i = 0; i < argc; i++)
			strcat(strcat(names, i ? " " : ""), argv[i]);
		tp_data_info_print(stdout, &info, argc ? names : "-", o->json);
		free(names);
	}
	tp_data_info_release(&info);
	return TP_EXIT_OK;
}

static int
cmd_synth(struct opts *o, int argc, char **argv)
{
	if (argc) {
		tp_errorf("synth: takes no file operands");
		return usage(TP_EXIT_USAGE, o->cmd);
	}
	o->synth.count = o->count >= 0 ? o->count : 1000;
	o->synth.seed = (uint64_t)o->seed;
	if (tp_synth_write(&o->synth, output(o), out_flags(o)) < 0)
		return TP_EXIT_RUNTIME;
	return TP_EXIT_OK;
}

static const struct {
	const char *name;
	int (*run)(struct opts *, int, char **);
	const char *shortopts;
} cmds[] = {
	{"info", cmd_info, ":hjV"},
	{"pack", cmd_pack, ":d:hk:l:o:rVw:"},
	{"sample", cmd_sample, ":f:hn:o:Ss:V"},
	{"shard", cmd_shard, ":hn:o:V"},
	{"split", cmd_split, ":f:ho:s:V"},
	{"synth", cmd_synth, ":hk:n:o:s:V"},
};

/* Sorted by long name; each subcommand accepts those in its shortopts
 * (long-only ones are checked in parse_opt). */
static const struct option longopts[] = {
	{"classes", required_argument, NULL, 'k'},
	{"count", required_argument, NULL, 'n'},
	{"delimiter", required_argument, NULL, 'd'},
	{"features", required_argument, NULL, OPT_FEATURES},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"fraction", required_argument, NULL, 'f'},
	{"fractions", required_argument, NULL, 'f'},
	{"header", no_argument, NULL, OPT_HEADER},
	{"help", no_argument, NULL, 'h'},
	{"json", no_argument, NULL, 'j'},
	{"kind", required_argument, NULL, OPT_KIND},
	{"label", required_argument, NULL, 'l'},
	{"name", required_argument, NULL, OPT_NAME},
	{"names", required_argument, NULL, OPT_NAMES},
	{"no-header", no_argument, NULL, OPT_NO_HEADER},
	{"noise", required_argument, NULL, OPT_NOISE},
	{"output", required_argument, NULL, 'o'},
	{"plain", no_argument, NULL, OPT_PLAIN},
	{"regression", no_argument, NULL, 'r'},
	{"scale", required_argument, NULL, OPT_SCALE},
	{"scale-from", required_argument, NULL, OPT_SCALE_FROM},
	{"seed", required_argument, NULL, 's'},
	{"stratify", no_argument, NULL, 'S'},
	{"version", no_argument, NULL, 'V'},
	{"weight", required_argument, NULL, 'w'},
	{NULL, 0, NULL, 0},
};

static const char *
long_name(int c)
{
	for (const struct option *p = longopts; p->name; p++)
		if (p->val == c)
			return p->name;
	return "?";
}

/* Which long-only options each subcommand takes. */
static int
long_ok(const char *cmd, int c)
{
	switch (c) {
	case OPT_PLAIN:
		return strcmp(cmd, "info") != 0;
	case OPT_FORMAT:
	case OPT_HEADER:
	case OPT_NO_HEADER:
	case OPT_SCALE:
	case OPT_SCALE_FROM:
		return !strcmp(cmd, "pack");
	case OPT_NAME:
		return !strcmp(cmd, "pack") || !strcmp(cmd, "synth");
	case OPT_NAMES:
		return !strcmp(cmd, "split");
	case OPT_KIND:
	case OPT_FEATURES:
	case OPT_NOISE:
		return !strcmp(cmd, "synth");
	}
	return 0;
}

static int
parse_delim(const char *s, int *out)
{
	if (!strcmp(s, "tab") || !strcmp(s, "\\t") || !strcmp(s, "\t"))
		*out = '\t';
	else if (!strcmp(s, "space") || !strcmp(s, " "))
		*out = ' ';
	else if (!strcmp(s, "comma") || !strcmp(s, ","))
		*out = ',';
	else if (!strcmp(s, "semicolon") || !strcmp(s, ";"))
		*out = ';';
	else {
		tp_errorf("--delimiter: '%s' is not one of , ; tab space", s);
		return -1;
	}
	return 0;
}

/* One option; 0, or an exit status to return at once. */
static int
parse_opt(const char *cmd, int c, const char *arg, struct opts *o)
{
	int64_t v;
	int k;

	switch (c) {
	case 'd':
		return parse_delim(arg, &o->pack.delimiter) < 0 ? usage(TP_EXIT_USAGE, cmd) : 0;
	case 'f':
		if (!strcmp(cmd, "split")) {
			o->fractions = arg;
			return 0;
		}
		o->have_fraction = 1;
		if (tp_parse_f64(arg, 0, 1, "--fraction", &o->fraction) < 0)
			return usage(TP_EXIT_USAGE, cmd);
		return 0;
	case 'h':
		usage(TP_EXIT_OK, NULL);
		return -1;
	case 'j':
		o->json = 1;
		return 0;
	case 'k':
		if (tp_parse_i64(arg, 1, 1 << 24, "--classes", &v) < 0)
			return usage(TP_EXIT_USAGE, cmd);
		o->pack.classes = o->synth.classes = v;
		return 0;
	case 'l':
		o->pack.label = arg;
		return 0;
	case 'n':
		if (tp_parse_i64(arg, 0, (int64_t)UINT32_MAX, "--count", &o->count) < 0)
			return usage(TP_EXIT_USAGE, cmd);
		return 0;
	case 'o':
		if (o->noutputs == 64) {
			tp_errorf("-o: at most 64 outputs");
			return usage(TP_EXIT_USAGE, cmd);
		}
		o->outputs[o->noutputs++] = arg;
		return 0;
	case 'r':
		o->pack.regression = 1;
		return 0;
	case 's':
		if (tp_parse_i64(arg, 0, INT64_MAX, "--seed", &o->seed) < 0)
			return usage(TP_EXIT_USAGE, cmd);
		return 0;
	case 'S':
		o->stratify = 1;
		return 0;
	case 'V':
		tp_print_version();
		return -1;
	case 'w':
		o->pack.weight = arg;
		return 0;
	case OPT_PLAIN:
		o->plain = 1;
		return 0;
	case OPT_FORMAT:
		o->format = arg;
		return 0;
	case OPT_HEADER:
		o->pack.header = 1;
		return 0;
	case OPT_NO_HEADER:
		o->pack.header = 0;
		return 0;
	case OPT_NAME:
		o->pack.name = o->synth.name = arg;
		return 0;
	case OPT_NAMES:
		o->names = arg;
		return 0;
	case OPT_SCALE:
		o->scale = arg;
		return 0;
	case OPT_SCALE_FROM:
		o->scale_from = arg;
		return 0;
	case OPT_KIND:
		if ((k = tp_synth_kind_parse(arg)) < 0) {
			tp_errorf("--kind: '%s' is not blobs, spirals, mnist or linear",
			          arg);
			return usage(TP_EXIT_USAGE, cmd);
		}
		o->synth.kind = (enum tp_synth_kind)k;
		return 0;
	case OPT_FEATURES:
		if (tp_parse_i64(arg, 1, 1 << 24, "--features", &o->synth.features) < 0)
			return usage(TP_EXIT_USAGE, cmd);
		return 0;
	case OPT_NOISE:
		if (tp_parse_f64(arg, 0, 1e6, "--noise", &o->synth.noise) < 0)
			return usage(TP_EXIT_USAGE, cmd);
		return 0;
	default:
		return usage(TP_EXIT_USAGE, cmd);
	}
}

static int
run(int argc, char **argv)
{
	struct opts o;
	const char *cmd;
	size_t i;
	int c, st;

	if (argc < 2) {
		tp_errorf("missing subcommand");
		return usage(TP_EXIT_USAGE, NULL);
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help"))
		return usage(TP_EXIT_OK, NULL);
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		tp_print_version();
		return TP_EXIT_OK;
	}
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (!strcmp(cmd, cmds[i].name))
			break;
	if (i == sizeof cmds / sizeof cmds[0]) {
		tp_errorf("'%s' is not a subcommand (pack, split, sample, shard, "
		          "info, synth)", cmd);
		return usage(TP_EXIT_USAGE, NULL);
	}
	memset(&o, 0, sizeof o);
	o.cmd = cmd;
	tp_pack_opts_init(&o.pack);
	o.count = -1;
	o.synth.noise = -1;
	argc--;
	argv++;
	opterr = 0; /* our messages name the subcommand */
	while ((c = getopt_long(argc, argv, cmds[i].shortopts, longopts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			char opt[3] = {'-', (char)optopt, 0};

			tp_errorf("%s: %s option '%s'", cmd,
			          c == '?' ? "unknown" : "missing argument for",
			          c == '?' && optopt > 0 && optopt < 256 ? opt :
			          argv[optind - 1]);
			return usage(TP_EXIT_USAGE, cmd);
		}
		/* Every subcommand shares the long table: refuse the options
		 * of the others like unknown ones. */
		if (c < 256 ? !strchr(cmds[i].shortopts + 1, c) : !long_ok(cmd, c)) {
			tp_errorf("%s: option --%s does not apply", cmd, long_name(c));
			return usage(TP_EXIT_USAGE, cmd);
		}
		if ((st = parse_opt(cmd, c, optarg, &o)) != 0)
			return st < 0 ? TP_EXIT_OK : st;
	}
	if (o.noutputs > 1 && strcmp(cmd, "split") != 0) {
		tp_errorf("%s: -o given %d times; one output", cmd, o.noutputs);
		return usage(TP_EXIT_USAGE, cmd);
	}
	return cmds[i].run(&o, argc - optind, argv + optind);
}

int
main(int argc, char **argv)
{
	return tp_close_stdout(run(argc, argv));
}
