/*
 * tp-ckpt: look at, check and convert checkpoint archives
 * (doc/tp-checkpoint.5) from the shell: verify, info, cat, export and
 * create.  Everything about the format lives in lib/ckpt.c; this file only
 * parses options and wires the commands to it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/ckpt.h"
#include "tp/cli.h"
#include "tp/err.h"
#include "tp/json.h"
#include "tp/record.h"

static const char usage_text[] =
	"usage: tp-ckpt verify [-qv] FILE...\n"
	"       tp-ckpt info [-j] FILE\n"
	"       tp-ckpt cat FILE MEMBER\n"
	"       tp-ckpt export [-L LEVEL] -o MODEL FILE\n"
	"       tp-ckpt create [-L LEVEL] [-m MANIFEST] -o FILE [NAME=PATH...]\n";

static const char help_text[] =
	"Check, show and convert tp checkpoint archives (tp-checkpoint(5)).\n"
	"\n"
	"  verify    check every FILE (exit 3 when one is bad, a line for each)\n"
	"  info      print the manifest as a msgpack record (-j: JSON)\n"
	"  cat       write one member's bytes to stdout\n"
	"  export    write the inference-only model artifact of a full checkpoint\n"
	"  create    write a checkpoint from a manifest record and member files\n"
	"\n"
	"  -j, --json            info: print JSON instead of msgpack\n"
	"  -L, --level=LEVEL     zstd level 0..22 (0: plain tar; default 3)\n"
	"  -m, --manifest=FILE   create: copy the keys of FILE's first record\n"
	"  -o, --output=FILE     export, create: the file to write\n"
	"  -q, --quiet           verify: no message for bad files\n"
	"  -v, --verbose         verify: print \"FILE: ok\" for good files\n"
	"  -h, --help            show this help\n"
	"  -V, --version         show the version\n"
	"\n"
	"See tp-ckpt(1) and tp-checkpoint(5).\n";

struct opts {
	int json, quiet, verbose, level_set;
	int64_t level;
	const char *manifest, *output;
};

static int
usage(void)
{
	fputs(usage_text, stderr);
	return TP_EXIT_USAGE;
}

static int
cmd_verify(const struct opts *o, char **files, int n)
{
	int status = TP_EXIT_OK;

	if (n < 1)
		return usage();
	for (int i = 0; i < n; i++) {
		struct tp_ckpt *c;

		char why[512];

		/* -q: the verdict is the exit code alone. */
		c = o->quiet ? tp_ckpt_open_err(files[i], why, sizeof why)
		             : tp_ckpt_open(files[i]);
		if (!c) {
			status = TP_EXIT_RUNTIME;
			continue;
		}
		if (o->verbose)
			printf("%s: ok\n", files[i]);
		tp_ckpt_close(c);
	}
	return status;
}

static int
cmd_info(const struct opts *o, char **files, int n)
{
	struct tp_ckpt *c;
	int status = TP_EXIT_OK;

	if (n != 1)
		return usage();
	c = tp_ckpt_open(files[0]);
	if (!c)
		return TP_EXIT_RUNTIME;
	if (o->json) {
		struct tp_jbuf j;
		tp_jbuf_init(&j);
		tp_json_value(&j, tp_ckpt_manifest(c), TP_JSON_BIN_BASE64);
		tp_jbuf_addc(&j, '\n');
		if (fwrite(j.buf, 1, j.len, stdout) != j.len)
			status = TP_EXIT_RUNTIME;
		tp_jbuf_release(&j);
	} else {
		size_t len;
		const void *raw = tp_ckpt_manifest_raw(c, &len);
		if (fwrite(raw, 1, len, stdout) != len)
			status = TP_EXIT_RUNTIME;
	}
	tp_ckpt_close(c);
	return status;
}

static int
cmd_cat(char **files, int n)
{
	struct tp_ckpt *c;
	const void *p;
	size_t len;
	int status = TP_EXIT_OK;

	if (n != 2)
		return usage();
	c = tp_ckpt_open(files[0]);
	if (!c)
		return TP_EXIT_RUNTIME;
	p = tp_ckpt_member(c, files[1], &len);
	if (!p) {
		tp_errorf("%s: no member %s", files[0], files[1]);
		status = TP_EXIT_RUNTIME;
	} else if (fwrite(p, 1, len, stdout) != len) {
		status = TP_EXIT_RUNTIME;
	}
	tp_ckpt_close(c);
	return status;
}

static int
cmd_export(const struct opts *o, char **files, int n)
{
	if (n != 1 || !o->output)
		return usage();
	return tp_ckpt_export(files[0], o->output, (int)o->level) == 0
	               ? TP_EXIT_OK
	               : TP_EXIT_RUNTIME;
}

/* Whole file into memory ("-": stdin); NULL after a message. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f) {
		tp_syserrorf("%s", path);
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = tp_xrealloc(buf, cap);
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		tp_syserrorf("%s", path);
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

/* Copy the keys of the first record of path, except the ones
 * tp_ckpt_write owns. */
static int
copy_manifest(const char *path, struct tp_rb *b)
{
	static const char *const owned[] = {"type", "format", "format_version",
	                                    "members"};
	const struct tp_val *rec;
	struct tp_rd *rd = tp_rd_open(path);
	int r;

	if (!rd)
		return -1;
	r = tp_rd_next(rd, &rec);
	if (r == 0)
		tp_errorf("%s: no record", path);
	if (r == 1 && tp_val_type(rec) == TP_V_MAP) {
		for (size_t i = 0; i < tp_val_len(rec); i++) {
			const struct tp_val *k = tp_map_key(rec, i);
			size_t kl, j;
			const char *ks = tp_val_str(k, &kl);

			for (j = 0; j < sizeof owned / sizeof *owned; j++)
				if (tp_val_streq(k, owned[j]))
					break;
			if (!ks || j < sizeof owned / sizeof *owned)
				continue;
			tp_rb_keyn(b, ks, kl);
			tp_rb_val(b, NULL, tp_map_val(rec, i));
		}
	}
	tp_rd_close(rd);
	return r == 1 ? 0 : -1;
}

static int
cmd_create(const struct opts *o, char **args, int n)
{
	struct tp_ckpt_blob *blobs;
	char **bufs;
	struct tp_rb b;
	int status = TP_EXIT_OK;

	if (!o->output)
		return usage();
	for (int i = 0; i < n; i++)
		if (!strchr(args[i], '=')) {
			tp_errorf("member '%s' is not NAME=PATH", args[i]);
			return usage();
		}
	tp_rb_init(&b);
	tp_rb_begin(&b, "checkpoint");
	if (o->manifest && copy_manifest(o->manifest, &b) != 0)
		status = TP_EXIT_RUNTIME;
	blobs = tp_xcalloc((size_t)n + 1, sizeof *blobs);
	bufs = tp_xcalloc((size_t)n + 1, sizeof *bufs);
	for (int i = 0; status == TP_EXIT_OK && i < n; i++) {
		char *eq = strchr(args[i], '=');
		*eq = '\0';
		blobs[i].name = args[i];
		bufs[i] = slurp(eq + 1, &blobs[i].bytes);
		blobs[i].data = bufs[i];
		if (!bufs[i])
			status = TP_EXIT_RUNTIME;
	}
	if (status == TP_EXIT_OK &&
	    tp_ckpt_write(o->output, &b, blobs, (size_t)n, (int)o->level) != 0)
		status = TP_EXIT_RUNTIME;
	for (int i = 0; i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(blobs);
	tp_rb_release(&b);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{"level", required_argument, NULL, 'L'},
		{"manifest", required_argument, NULL, 'm'},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	const char *cmd;
	int c, status;

	o.level = 3;
	while ((c = getopt_long(argc, argv, "hjL:m:o:qvV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			fputs("\n", stdout);
			fputs(help_text, stdout);
			return tp_close_stdout(TP_EXIT_OK);
		case 'j':
			o.json = 1;
			break;
		case 'L':
			if (tp_parse_i64(optarg, 0, 22, "--level", &o.level) != 0)
				return usage();
			o.level_set = 1;
			break;
		case 'm':
			o.manifest = optarg;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'V':
			tp_print_version();
			return tp_close_stdout(TP_EXIT_OK);
		default:
			return usage();
		}
	}
	if (optind >= argc)
		return usage();
	cmd = argv[optind++];
	argv += optind;
	argc -= optind;
	if (strcmp(cmd, "verify") == 0 && !o.json && !o.output && !o.manifest &&
	    !o.level_set)
		status = cmd_verify(&o, argv, argc);
	else if (strcmp(cmd, "info") == 0 && !o.output && !o.manifest &&
	         !o.level_set && !o.quiet && !o.verbose)
		status = cmd_info(&o, argv, argc);
	else if (strcmp(cmd, "cat") == 0 && !o.json && !o.output && !o.manifest &&
	         !o.level_set && !o.quiet && !o.verbose)
		status = cmd_cat(argv, argc);
	else if (strcmp(cmd, "export") == 0 && !o.json && !o.manifest && !o.quiet &&
	         !o.verbose)
		status = cmd_export(&o, argv, argc);
	else if (strcmp(cmd, "create") == 0 && !o.json && !o.quiet && !o.verbose)
		status = cmd_create(&o, argv, argc);
	else {
		if (strcmp(cmd, "verify") && strcmp(cmd, "info") && strcmp(cmd, "cat") &&
		    strcmp(cmd, "export") && strcmp(cmd, "create"))
			tp_errorf("unknown command '%s'", cmd);
		else
			tp_errorf("%s: option not valid for this command", cmd);
		status = usage();
	}
	return tp_close_stdout(status);
}
