/*
 * tp-cat: record streams for people and for other tools.  Reads msgpack
 * record streams (plain, zstd or gzip) or JSON Lines, keeps the records
 * that pass -t/-w, and writes them as JSON Lines, TSV columns, msgpack
 * (byte for byte when nothing is projected) or a count.  The format work
 * lives in lib/record.c and lib/json.c; this file only wires options.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/cli.h"
#include "tp/err.h"
#include "tp/json.h"
#include "tp/record.h"
#include "tp/zio.h"

static const char usage_text[] =
	"usage: tp-cat [-cHjmuz] [-b MODE] [-k KEYS] [-L LEVEL] [-n N] [-o FILE]\n"
	"              [-t TYPE]... [-w KEY=VALUE]... [FILE...]\n";

static const char help_text[] =
	"Print record streams (msgpack, zstd or plain, or JSON Lines with -j).\n"
	"\n"
	"  -b, --bin=MODE        bin values as base64 (default), summary or floats\n"
	"  -c, --count           print only the number of matching records\n"
	"  -H, --no-header       no header line in -k output\n"
	"  -j, --from-json       input is JSON Lines\n"
	"  -k, --keys=K1,K2,...  print these keys as TSV (a.b looks inside maps)\n"
	"  -L, --level=LEVEL     zstd level for compressed output (default 3)\n"
	"  -m, --msgpack         write msgpack records instead of JSON\n"
	"  -n, --limit=N         stop after N matching records\n"
	"  -o, --output=FILE     write to FILE (zstd when it ends in .zst)\n"
	"  -t, --type=TYPE       keep records of this type (repeatable; \"example\"\n"
	"                        means records without a type)\n"
	"  -u, --unbuffered      flush after every record (for tail -f)\n"
	"  -w, --where=KEY=VALUE keep records whose KEY equals VALUE (repeatable)\n"
	"  -z, --zstd            compress the output with zstd\n"
	"  -h, --help            show this help\n"
	"  -V, --version         show the version\n"
	"\n"
	"See tp-cat(1) and tp-records(5).\n";

struct opts {
	enum tp_json_bin bin;
	int count, no_header, from_json, msgpack, unbuffered, zstd;
	int level;
	int64_t limit; /* -1: no limit */
	const char *output;
	const char **types;
	size_t ntypes;
	char **wkeys;
	const char **wvals;
	size_t nwhere;
	char **keys;
	size_t nkeys;
};

struct state {
	struct tp_zout *out;
	struct tp_jbuf line;
	struct tp_rb rb;
	uint64_t matched;
};

static int
usage(void)
{
	fputs(usage_text, stderr);
	return TP_EXIT_USAGE;
}

static int
keep(const struct opts *o, const struct tp_val *rec)
{
	if (o->ntypes) {
		const struct tp_val *t = tp_val_get(rec, "type");
		size_t i;

		for (i = 0; i < o->ntypes; i++)
			if (t ? tp_val_streq(t, o->types[i])
			      : strcmp(o->types[i], "example") == 0)
				break;
		if (i == o->ntypes)
			return 0;
	}
	for (size_t i = 0; i < o->nwhere; i++) {
		const struct tp_val *v = tp_val_path(rec, o->wkeys[i]);
		if (!v || !tp_val_match(v, o->wvals[i]))
			return 0;
	}
	return 1;
}

static int
emit(const struct opts *o, struct state *s, const struct tp_val *rec,
     const void *raw, size_t len)
{
	s->matched++;
	if (o->count)
		return 0;
	if (o->msgpack && o->nkeys) {
		tp_rb_begin(&s->rb, NULL);
		for (size_t i = 0; i < o->nkeys; i++) {
			const struct tp_val *v = tp_val_path(rec, o->keys[i]);
			if (v)
				tp_rb_val(&s->rb, o->keys[i], v);
		}
		raw = tp_rb_finish(&s->rb, &len);
	}
	if (o->msgpack) {
		if (tp_zout_write(s->out, raw, len) < 0)
			return -1;
	} else {
		s->line.len = 0;
		if (o->nkeys) {
			for (size_t i = 0; i < o->nkeys; i++) {
				if (i)
					tp_jbuf_addc(&s->line, '\t');
				tp_json_tsv_field(&s->line, tp_val_path(rec, o->keys[i]),
				                  o->bin);
			}
		} else {
			tp_json_value(&s->line, rec, o->bin);
		}
		tp_jbuf_addc(&s->line, '\n');
		if (tp_zout_write(s->out, s->line.buf, s->line.len) < 0)
			return -1;
	}
	return o->unbuffered ? tp_zout_flush(s->out) : 0;
}

/* 1: go on, 0: the limit was reached, -1: error (printed). */
static int
cat_file(const struct opts *o, struct state *s, const char *path)
{
	const struct tp_val *rec;
	const void *raw;
	size_t len;
	int r, rc = 1;

	if (o->from_json) {
		struct tp_jsonl *j = tp_jsonl_open(path);
		if (!j)
			return -1;
		while (rc == 1 && (r = tp_jsonl_next(j, &rec, &raw, &len)) == 1)
			if (keep(o, rec)) {
				if (emit(o, s, rec, raw, len) < 0)
					rc = -1;
				else if (o->limit >= 0 && s->matched >= (uint64_t)o->limit)
					rc = 0;
			}
		if (rc == 1 && r < 0)
			rc = -1;
		tp_jsonl_close(j);
	} else {
		struct tp_rd *rd = tp_rd_open(path);
		if (!rd)
			return -1;
		while (rc == 1 && (r = tp_rd_next(rd, &rec)) == 1)
			if (keep(o, rec)) {
				raw = tp_rd_raw(rd, &len);
				if (emit(o, s, rec, raw, len) < 0)
					rc = -1;
				else if (o->limit >= 0 && s->matched >= (uint64_t)o->limit)
					rc = 0;
			}
		if (rc == 1 && r < 0)
			rc = -1;
		tp_rd_close(rd);
	}
	return rc;
}

static char **
split_keys(const char *list, size_t *n)
{
	char **v = NULL;
	const char *p = list;

	*n = 0;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t k = c ? (size_t)(c - p) : strlen(p);
		v = tp_xrealloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = tp_xstrndup(p, k);
		if (!c)
			return v;
		p = c + 1;
	}
}

static int
run(struct opts *o, char **files, int nfiles)
{
	struct state s = {0};
	int flags, status = TP_EXIT_OK, r = 1;
	char *stdin_only[] = {"-"};

	flags = o->zstd ? TP_ZOUT_COMPRESS : o->output ? TP_ZOUT_AUTO : TP_ZOUT_PLAIN;
	/* A finished file or none: a follower wants to see it grow. */
	if (o->output && strcmp(o->output, "-") != 0 && !o->unbuffered)
		flags |= TP_ZOUT_ATOMIC;
	s.out = tp_zout_open(o->output, flags, o->level);
	if (!s.out)
		return TP_EXIT_RUNTIME;
	tp_jbuf_init(&s.line);
	tp_rb_init(&s.rb);
	if (o->nkeys && !o->msgpack && !o->count && !o->no_header) {
		for (size_t i = 0; i < o->nkeys; i++) {
			if (i)
				tp_jbuf_addc(&s.line, '\t');
			tp_jbuf_add(&s.line, o->keys[i], strlen(o->keys[i]));
		}
		tp_jbuf_addc(&s.line, '\n');
		if (tp_zout_write(s.out, s.line.buf, s.line.len) < 0)
			r = -1;
	}
	if (nfiles == 0) {
		files = stdin_only;
		nfiles = 1;
	}
	if (o->limit == 0)
		r = 0;
	for (int i = 0; i < nfiles && r == 1; i++)
		r = cat_file(o, &s, files[i]);
	if (r >= 0 && o->count) {
		char t[32];
		int n = snprintf(t, sizeof t, "%" PRIu64 "\n", s.matched);
		if (tp_zout_write(s.out, t, (size_t)n) < 0)
			r = -1;
	}
	/* After bad input, stdout still gets the good records before it (as
	 * zcat does); a file given with -o is not created. */
	if (r < 0 && o->output && strcmp(o->output, "-") != 0) {
		status = TP_EXIT_RUNTIME;
		tp_zout_abort(s.out);
	} else if (tp_zout_close(s.out) < 0 || r < 0) {
		status = TP_EXIT_RUNTIME;
	}
	tp_jbuf_release(&s.line);
	tp_rb_release(&s.rb);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"bin", required_argument, NULL, 'b'},
		{"count", no_argument, NULL, 'c'},
		{"from-json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"keys", required_argument, NULL, 'k'},
		{"level", required_argument, NULL, 'L'},
		{"limit", required_argument, NULL, 'n'},
		{"msgpack", no_argument, NULL, 'm'},
		{"no-header", no_argument, NULL, 'H'},
		{"output", required_argument, NULL, 'o'},
		{"type", required_argument, NULL, 't'},
		{"unbuffered", no_argument, NULL, 'u'},
		{"version", no_argument, NULL, 'V'},
		{"where", required_argument, NULL, 'w'},
		{"zstd", no_argument, NULL, 'z'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.bin = TP_JSON_BIN_BASE64, .limit = -1};
	int c, status;
	int64_t v;

	while ((c = getopt_long(argc, argv, "b:cHhjk:L:mn:o:t:uVw:z", longopts,
	                        NULL)) != -1) {
		switch (c) {
		case 'b':
			if (strcmp(optarg, "base64") == 0)
				o.bin = TP_JSON_BIN_BASE64;
			else if (strcmp(optarg, "summary") == 0)
				o.bin = TP_JSON_BIN_SUMMARY;
			else if (strcmp(optarg, "floats") == 0)
				o.bin = TP_JSON_BIN_FLOATS;
			else {
				tp_errorf("--bin: '%s' is not base64, summary or floats",
				          optarg);
				status = usage();
				goto done;
			}
			break;
		case 'c': o.count = 1; break;
		case 'H': o.no_header = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			status = TP_EXIT_OK;
			goto done;
		case 'j': o.from_json = 1; break;
		case 'k':
			if (o.keys) {
				tp_errorf("-k: given twice (list the keys once, comma-separated)");
				status = usage();
				goto done;
			}
			o.keys = split_keys(optarg, &o.nkeys);
			for (size_t i = 0; i < o.nkeys; i++)
				if (!o.keys[i][0]) {
					tp_errorf("-k: '%s': empty key name", optarg);
					status = usage();
					goto done;
				}
			break;
		case 'L':
			if (tp_parse_i64(optarg, -7, 22, "--level", &v) < 0) {
				status = usage();
				goto done;
			}
			o.level = (int)v;
			break;
		case 'm': o.msgpack = 1; break;
		case 'n':
			if (tp_parse_i64(optarg, 0, INT64_MAX, "--limit", &v) < 0) {
				status = usage();
				goto done;
			}
			o.limit = v;
			break;
		case 'o': o.output = optarg; break;
		case 't':
			o.types = tp_xrealloc(o.types, (o.ntypes + 1) * sizeof *o.types);
			o.types[o.ntypes++] = optarg;
			break;
		case 'u': o.unbuffered = 1; break;
		case 'V':
			tp_print_version();
			status = TP_EXIT_OK;
			goto done;
		case 'w': {
			const char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				tp_errorf("--where: '%s' is not KEY=VALUE", optarg);
				status = usage();
				goto done;
			}
			o.wkeys = tp_xrealloc(o.wkeys, (o.nwhere + 1) * sizeof *o.wkeys);
			o.wvals = tp_xrealloc(o.wvals, (o.nwhere + 1) * sizeof *o.wvals);
			o.wkeys[o.nwhere] = tp_xstrndup(optarg, (size_t)(eq - optarg));
			o.wvals[o.nwhere++] = eq + 1;
			break;
		}
		case 'z': o.zstd = 1; break;
		default:
			status = usage();
			goto done;
		}
	}
	if (o.count && (o.msgpack || o.nkeys)) {
		tp_errorf("-c cannot be combined with -m or -k");
		status = usage();
		goto done;
	}
	status = run(&o, argv + optind, argc - optind);
done:
	for (size_t i = 0; i < o.nkeys; i++)
		free(o.keys[i]);
	for (size_t i = 0; i < o.nwhere; i++)
		free(o.wkeys[i]);
	free(o.keys);
	free(o.wkeys);
	free(o.wvals);
	free(o.types);
	return tp_close_stdout(status);
}
