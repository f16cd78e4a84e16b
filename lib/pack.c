/*
 * pack.c: CSV/TSV and IDX import and feature scaling for tp-data pack.
 *
 * Text is parsed strictly: every line must have the first line's field
 * count, every feature must be a finite number, and every error names the
 * file and line, because a silently skipped row or a NaN turned into a zero
 * is a bug users find weeks later in their curves.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/pack.h"
#include "tp/zio.h"

void
tp_pack_opts_init(struct tp_pack_opts *o)
{
	memset(o, 0, sizeof *o);
	o->header = -1;
}

/* ---- reading lines through zio ---- */

struct lines {
	struct tp_zin *z;
	char *buf;
	size_t len, pos, cap;
	int eof;
	long lineno;
};

/* Next line (NUL-terminated, without "\n" or "\r\n") or NULL at the end;
 * *err set on a read error. */
static char *
next_line(struct lines *L, int *err)
{
	for (;;) {
		char *nl = memchr(L->buf + L->pos, '\n', L->len - L->pos);
		char *line;

		if (nl || (L->eof && L->pos < L->len)) {
			line = L->buf + L->pos;
			if (!nl)
				nl = L->buf + L->len; /* last line without newline */
			L->pos = (size_t)(nl - L->buf) + 1;
			*nl = '\0';
			if (nl > line && nl[-1] == '\r')
				nl[-1] = '\0';
			L->lineno++;
			return line;
		}
		if (L->eof)
			return NULL;
		/* Keep the partial line, make room, read more. */
		memmove(L->buf, L->buf + L->pos, L->len - L->pos);
		L->len -= L->pos;
		L->pos = 0;
		if (L->cap - L->len < 65536) {
			L->cap = L->cap * 2 + 65536;
			L->buf = tp_xrealloc(L->buf, L->cap + 1);
		}
		ssize_t n = tp_zin_read(L->z, L->buf + L->len, L->cap - L->len);
		if (n < 0) {
			*err = 1;
			return NULL;
		}
		if (n == 0)
			L->eof = 1;
		L->len += (size_t)n;
	}
}

/* ---- fields ---- */

struct fields {
	char **v;
	size_t n, cap;
};

static void
add_field(struct fields *f, char *s)
{
	if (f->n == f->cap) {
		f->cap = f->cap * 2 + 16;
		f->v = tp_xrealloc(f->v, f->cap * sizeof *f->v);
	}
	f->v[f->n++] = s;
}

/* Split line in place.  Double quotes protect delimiters ("" is a quote);
 * returns -1 on an unterminated quote. */
static int
split_line(char *line, int delim, struct fields *f)
{
	char *p = line;

	f->n = 0;
	if (delim == ' ') {
		for (;;) {
			while (*p == ' ' || *p == '\t')
				p++;
			if (!*p)
				return 0;
			add_field(f, p);
			while (*p && *p != ' ' && *p != '\t')
				p++;
			if (*p)
				*p++ = '\0';
		}
	}
	for (;;) {
		if (*p == '"') {
			char *out = p, *in = p + 1;

			add_field(f, out);
			for (;;) {
				if (!*in)
					return -1;
				if (*in == '"' && in[1] == '"') {
					*out++ = '"';
					in += 2;
				} else if (*in == '"') {
					in++;
					break;
				} else {
					*out++ = *in++;
				}
			}
			/* Anything between the closing quote and the delimiter is
			 * kept: lenient like most CSV readers, and numbers still
			 * fail loudly later. */
			while (*in && *in != delim)
				*out++ = *in++;
			*out = '\0';
			if (!*in)
				return 0;
			p = in + 1;
			continue;
		}
		add_field(f, p);
		while (*p && *p != delim)
			p++;
		if (!*p)
			return 0;
		*p++ = '\0';
	}
}

static int
detect_delim(const char *line)
{
	if (strchr(line, '\t'))
		return '\t';
	if (strchr(line, ','))
		return ',';
	if (strchr(line, ';'))
		return ';';
	return ' ';
}

/* Strict number: the whole field (surrounding blanks allowed), finite. */
static int
parse_num(const char *s, double *out)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	errno = 0;
	*out = strtod(s, &end);
	if (end == s)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end || !isfinite(*out) || (errno == ERANGE && fabs(*out) > 1))
		return -1;
	return 0;
}

/* ---- CSV ---- */

struct csv {
	const char *name;
	size_t nf, label;   /* fields per line, label column (0-based) */
	size_t wcol;        /* weight column, or SIZE_MAX */
	size_t n, cap, d;
	float *x;
	float *w;           /* weights, with a weight column */
	double *y;          /* numeric labels */
	char **ynames;      /* name labels, per row */
	int names;          /* labels are names */
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Resolve a column given by name (with a header line) or 1-based number
 * against the first line; opt names the option in messages. */
static int
find_col(const struct csv *c, const char *spec, const char *opt,
         const struct fields *f, int has_header, size_t *out)
{
	int64_t col;
	char *end;

	if (has_header)
		for (size_t i = 0; i < f->n; i++)
			if (!strcmp(f->v[i], spec)) {
				*out = i;
				return 0;
			}
	errno = 0;
	col = strtoll(spec, &end, 10);
	if (*spec && !*end && !errno) {
		if (col < 1 || (uint64_t)col > c->nf) {
			tp_errorf("%s: %s: column %lld is not in [1, %zu]", c->name, opt,
			          (long long)col, c->nf);
			return -1;
		}
		*out = (size_t)col - 1;
		return 0;
	}
	tp_errorf("%s: %s: no column named '%s'%s", c->name, opt, spec,
	          has_header ? "" : " (the file has no header line)");
	return -1;
}

static int
find_columns(struct csv *c, const struct tp_pack_opts *o,
             const struct fields *f, int has_header)
{
	c->label = c->nf - 1;
	c->wcol = SIZE_MAX;
	if (o->label && find_col(c, o->label, "--label", f, has_header,
	                         &c->label) < 0)
		return -1;
	if (!o->weight)
		return 0;
	if (find_col(c, o->weight, "--weight", f, has_header, &c->wcol) < 0)
		return -1;
	if (c->wcol == c->label) {
		tp_errorf("%s: --weight: column %zu is the label", c->name,
		          c->wcol + 1);
		return -1;
	}
	if (c->nf < 3) {
		tp_errorf("%s: --weight: no column left for features", c->name);
		return -1;
	}
	c->d--;
	return 0;
}

static int
csv_row(struct csv *c, const struct tp_pack_opts *o, struct fields *f,
        long lineno)
{
	size_t j = 0;
	double v;
	const char *lab;

	if (f->n != c->nf) {
		tp_errorf("%s: line %ld: expected %zu fields, found %zu", c->name,
		          lineno, c->nf, f->n);
		return -1;
	}
	if (c->n == c->cap) {
		c->cap = c->cap * 2 + 256;
		c->x = tp_xrealloc(c->x, c->cap * c->d * sizeof *c->x);
		c->y = tp_xrealloc(c->y, c->cap * sizeof *c->y);
		if (c->wcol != SIZE_MAX)
			c->w = tp_xrealloc(c->w, c->cap * sizeof *c->w);
		if (c->names)
			c->ynames = tp_xrealloc(c->ynames, c->cap * sizeof *c->ynames);
	}
	for (size_t i = 0; i < f->n; i++) {
		if (i == c->label)
			continue;
		if (parse_num(f->v[i], &v) < 0) {
			tp_errorf("%s: line %ld: field %zu: '%s' is not a finite number",
			          c->name, lineno, i + 1, f->v[i]);
			return -1;
		}
		if (i == c->wcol) {
			if (v < 0) {
				tp_errorf("%s: line %ld: weight %s is negative", c->name,
				          lineno, f->v[i]);
				return -1;
			}
			c->w[c->n] = (float)v;
			continue;
		}
		c->x[c->n * c->d + j++] = (float)v;
	}
	lab = f->v[c->label];
	if (c->names) {
		c->ynames[c->n++] = tp_xstrdup(lab);
		return 0;
	}
	if (parse_num(lab, &v) < 0) {
		tp_errorf("%s: line %ld: label '%s' is not a %s", c->name, lineno, lab,
		          o->regression ? "finite number" : "class index");
		return -1;
	}
	if (!o->regression) {
		if (v != floor(v)) {
			tp_errorf("%s: line %ld: label '%s' is not a class index "
			          "(use --regression for real-valued targets)", c->name,
			          lineno, lab);
			return -1;
		}
		if (v < 0 || v >= (double)(o->classes > 0 ? o->classes : 1 << 24)) {
			tp_errorf("%s: line %ld: label %s out of range [0, %lld)",
			          c->name, lineno, lab,
			          (long long)(o->classes > 0 ? o->classes : 1 << 24));
			return -1;
		}
	}
	c->y[c->n++] = v;
	return 0;
}

/* Build ds from the parsed rows. */
static void
csv_finish(struct csv *c, struct tp_dataset *ds, char **fnames,
           const struct tp_pack_opts *o)
{
	struct tp_ds_header h;
	char **uniq = NULL;
	size_t nu = 0;

	tp_ds_header_init(&h);
	h.features = (int64_t)c->d;
	h.feature_names = fnames;
	h.name = (char *)o->name;
	if (o->regression) {
		h.classes = 0;
	} else if (c->names) {
		uniq = tp_xmallocarray(c->n + 1, sizeof *uniq);
		memcpy(uniq, c->ynames, c->n * sizeof *uniq);
		qsort(uniq, c->n, sizeof *uniq, cmp_str);
		for (size_t i = 0; i < c->n; i++)
			if (nu == 0 || strcmp(uniq[nu - 1], uniq[i]))
				uniq[nu++] = uniq[i];
		h.classes = o->classes > (int64_t)nu ? o->classes : (int64_t)nu;
		if (h.classes == (int64_t)nu)
			h.label_names = uniq;
	} else {
		double mx = -1;
		for (size_t i = 0; i < c->n; i++)
			mx = c->y[i] > mx ? c->y[i] : mx;
		h.classes = o->classes > 0 ? o->classes : (int64_t)mx + 1;
		if (h.classes < 1)
			h.classes = 1;
	}
	tp_dataset_alloc(ds, &h, c->n);
	memcpy(ds->x, c->x, c->n * c->d * sizeof *ds->x);
	if (c->w) {
		memcpy(ds->w, c->w, c->n * sizeof *ds->w);
		ds->has_weights = 1;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (ds->t) {
			ds->t[i] = (float)c->y[i];
		} else if (c->names) {
			char **hit = bsearch(&c->ynames[i], uniq, nu, sizeof *uniq,
			                     cmp_str);
			ds->y[i] = (int32_t)(hit - uniq);
		} else {
			ds->y[i] = (int32_t)c->y[i];
		}
	}
	free(uniq);
}

int
tp_pack_csv(struct tp_dataset *ds, const char *path,
            const struct tp_pack_opts *o)
{
	struct lines L = {0};
	struct fields f = {0};
	struct csv c = {0};
	char **fnames = NULL;
	char *line;
	int err = 0, delim = o->delimiter, first = 1, rc = -1;

	tp_dataset_init(ds);
	if (!(L.z = tp_zin_open(path)))
		return -1;
	L.cap = 65536;
	L.buf = tp_xmalloc(L.cap + 1);
	c.name = tp_zin_name(L.z);
	while ((line = next_line(&L, &err))) {
		if (!*line)
			continue; /* blank lines, e.g. a trailing one */
		if (!delim)
			delim = detect_delim(line);
		if (split_line(line, delim, &f) < 0) {
			tp_errorf("%s: line %ld: unterminated quoted field", c.name,
			          L.lineno);
			goto out;
		}
		if (first) {
			int has_header = o->header;
			double v;

			first = 0;
			c.nf = f.n;
			if (c.nf < 2) {
				tp_errorf("%s: line %ld: found %zu field%s, need at least 2 "
				          "(features and a label; wrong --delimiter?)",
				          c.name, L.lineno, f.n, f.n == 1 ? "" : "s");
				goto out;
			}
			c.d = c.nf - 1;
			if (has_header < 0) {
				/* A header names columns: some field is not a number.
				 * The last field is left out as it is usually the
				 * label, which may be a class name. */
				has_header = 0;
				for (size_t i = 0; i + 1 < f.n; i++)
					if (parse_num(f.v[i], &v) < 0)
						has_header = 1;
			}
			if (find_columns(&c, o, &f, has_header) < 0)
				goto out;
			if (has_header) {
				size_t j = 0;

				fnames = tp_xcalloc(c.d, sizeof *fnames);
				for (size_t i = 0; i < f.n; i++)
					if (i != c.label && i != c.wcol)
						fnames[j++] = tp_xstrdup(f.v[i]);
				continue;
			}
		}
		if (c.n == 0 && !o->regression)
			c.names = f.n == c.nf &&
			          parse_num(f.v[c.label], &(double){0}) < 0;
		if (csv_row(&c, o, &f, L.lineno) < 0)
			goto out;
	}
	if (err)
		goto out;
	if (c.n == 0) {
		tp_errorf("%s: no examples", c.name);
		goto out;
	}
	if (c.names && o->classes > 0) {
		/* Counted in csv_finish; checked here to name the problem. */
		size_t nu = 0;
		char **u = tp_xmallocarray(c.n, sizeof *u);

		memcpy(u, c.ynames, c.n * sizeof *u);
		qsort(u, c.n, sizeof *u, cmp_str);
		for (size_t i = 0; i < c.n; i++)
			nu += i == 0 || strcmp(u[i - 1], u[i]);
		free(u);
		if ((int64_t)nu > o->classes) {
			tp_errorf("%s: %zu distinct label names, more than --classes "
			          "%lld", c.name, nu, (long long)o->classes);
			goto out;
		}
	}
	csv_finish(&c, ds, fnames, o);
	rc = 0;
out:
	if (fnames)
		for (size_t i = 0; i < c.d; i++)
			free(fnames[i]);
	free(fnames);
	for (size_t i = 0; c.ynames && i < c.n; i++)
		free(c.ynames[i]);
	free(c.ynames);
	free(c.x);
	free(c.y);
	free(c.w);
	free(f.v);
	free(L.buf);
	tp_zin_close(L.z);
	return rc;
}

/* ---- IDX ---- */

struct idx {
	unsigned char *data; /* whole file */
	size_t len;
	int type;            /* element type code */
	int ndims;
	uint64_t dims[8];
	size_t esize;
	const unsigned char *elems;
	uint64_t count;      /* product of dims[1..] */
};

static int
read_all(const char *path, unsigned char **out, size_t *len, char **name)
{
	struct tp_zin *z = tp_zin_open(path);
	size_t cap = 1 << 20, n = 0;
	unsigned char *buf;

	if (!z)
		return -1;
	buf = tp_xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (cap - n < (1 << 16)) {
			cap *= 2;
			buf = tp_xrealloc(buf, cap);
		}
		r = tp_zin_read(z, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			tp_zin_close(z);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*name = tp_xstrdup(tp_zin_name(z));
	tp_zin_close(z);
	*out = buf;
	*len = n;
	return 0;
}

static int
idx_parse(struct idx *x, const char *name)
{
	const unsigned char *p = x->data;
	uint64_t total;

	if (x->len < 4 || p[0] != 0 || p[1] != 0) {
		tp_errorf("%s: not an IDX file (bad magic %02x%02x%02x%02x)", name,
		          x->len > 0 ? p[0] : 0, x->len > 1 ? p[1] : 0,
		          x->len > 2 ? p[2] : 0, x->len > 3 ? p[3] : 0);
		return -1;
	}
	x->type = p[2];
	x->ndims = p[3];
	switch (x->type) {
	case 0x08: case 0x09: x->esize = 1; break;
	case 0x0b: x->esize = 2; break;
	case 0x0c: case 0x0d: x->esize = 4; break;
	case 0x0e: x->esize = 8; break;
	default:
		tp_errorf("%s: not an IDX file (unknown element type 0x%02x)", name,
		          x->type);
		return -1;
	}
	if (x->ndims < 1 || x->ndims > 8) {
		tp_errorf("%s: IDX: %d dimensions, expected 1 to 8", name, x->ndims);
		return -1;
	}
	if (x->len < 4 + 4 * (size_t)x->ndims) {
		tp_errorf("%s: IDX: truncated header", name);
		return -1;
	}
	x->count = 1;
	for (int i = 0; i < x->ndims; i++) {
		const unsigned char *q = p + 4 + 4 * i;

		x->dims[i] = (uint64_t)q[0] << 24 | (uint64_t)q[1] << 16 |
		             (uint64_t)q[2] << 8 | q[3];
		/* Checked per factor: the product of 7 dims could wrap. */
		if (i > 0 && (x->count *= x->dims[i]) > (1 << 24))
			break;
	}
	if (x->count == 0 || x->count > (1 << 24)) {
		tp_errorf("%s: IDX: %llu values per item, expected 1 to %d", name,
		          (unsigned long long)x->count, 1 << 24);
		return -1;
	}
	total = x->dims[0] * x->count * x->esize;
	x->elems = p + 4 + 4 * (size_t)x->ndims;
	if ((uint64_t)(x->len - 4 - 4 * (size_t)x->ndims) != total) {
		tp_errorf("%s: IDX: header promises %llu bytes of data, found %zu%s",
		          name, (unsigned long long)total,
		          x->len - 4 - 4 * (size_t)x->ndims,
		          x->len - 4 - 4 * (size_t)x->ndims < total ? " (truncated)" : "");
		return -1;
	}
	return 0;
}

/* Element i as a double (IDX is big-endian). */
static double
idx_get(const struct idx *x, size_t i)
{
	const unsigned char *q = x->elems + i * x->esize;
	uint64_t u = 0;

	for (size_t k = 0; k < x->esize; k++)
		u = u << 8 | q[k];
	switch (x->type) {
	case 0x08: return (double)(uint8_t)u;
	case 0x09: return (double)(int8_t)(uint8_t)u;
	case 0x0b: return (double)(int16_t)(uint16_t)u;
	case 0x0c: return (double)(int32_t)(uint32_t)u;
	case 0x0d: {
		uint32_t v = (uint32_t)u;
		float f;
		memcpy(&f, &v, sizeof f);
		return f;
	}
	default: {
		double f;
		memcpy(&f, &u, sizeof f);
		return f;
	}
	}
}

int
tp_pack_idx(struct tp_dataset *ds, const char *images, const char *labels,
            const struct tp_pack_opts *o)
{
	struct idx im = {0}, lb = {0};
	char *imname = NULL, *lbname = NULL;
	struct tp_ds_header h;
	double mx = -1;
	int rc = -1;

	tp_dataset_init(ds);
	if (read_all(images, &im.data, &im.len, &imname) < 0)
		goto out;
	if (idx_parse(&im, imname) < 0 ||
	    read_all(labels, &lb.data, &lb.len, &lbname) < 0 ||
	    idx_parse(&lb, lbname) < 0)
		goto out;
	if (lb.ndims != 1 || lb.type == 0x0d || lb.type == 0x0e) {
		tp_errorf("%s: IDX labels must be one integer per item", lbname);
		goto out;
	}
	if (lb.dims[0] != im.dims[0]) {
		tp_errorf("%s: %llu labels for %llu images in %s", lbname,
		          (unsigned long long)lb.dims[0],
		          (unsigned long long)im.dims[0], imname);
		goto out;
	}
	if (im.dims[0] == 0 || im.dims[0] > UINT32_MAX) {
		tp_errorf("%s: %llu items: expected 1 to %u", imname,
		          (unsigned long long)im.dims[0], UINT32_MAX);
		goto out;
	}
	for (size_t i = 0; i < lb.dims[0]; i++) {
		double v = idx_get(&lb, i);

		if (!o->regression &&
		    (v < 0 || (o->classes > 0 && v >= (double)o->classes))) {
			tp_errorf("%s: item %zu: label %.0f out of range [0, %lld)",
			          lbname, i, v,
			          (long long)(o->classes > 0 ? o->classes : 1 << 24));
			goto out;
		}
		mx = v > mx ? v : mx;
	}
	tp_ds_header_init(&h);
	h.features = (int64_t)im.count;
	h.classes = o->regression ? 0 : o->classes > 0 ? o->classes : (int64_t)mx + 1;
	h.name = (char *)o->name;
	tp_dataset_alloc(ds, &h, (size_t)im.dims[0]);
	for (size_t i = 0; i < ds->n * ds->d; i++)
		ds->x[i] = (float)idx_get(&im, i);
	for (size_t i = 0; i < ds->n; i++) {
		if (ds->y)
			ds->y[i] = (int32_t)idx_get(&lb, i);
		else
			ds->t[i] = (float)idx_get(&lb, i);
	}
	rc = 0;
out:
	free(im.data);
	free(lb.data);
	free(imname);
	free(lbname);
	return rc;
}

/* ---- scaling ---- */

static void
apply(struct tp_dataset *ds)
{
	const float *a = ds->h.scale_a, *b = ds->h.scale_b;

	for (size_t i = 0; i < ds->n; i++) {
		float *x = ds->x + i * ds->d;
		for (size_t j = 0; j < ds->d; j++)
			x[j] = (x[j] - a[j]) * b[j];
	}
}

int
tp_scale_fit(struct tp_dataset *ds, enum tp_scale method)
{
	size_t d = ds->d;
	double *s1, *s2;

	if (ds->h.scaling != TP_SCALE_NONE) {
		tp_errorf("the dataset is already scaled (%s)",
		          tp_scale_name(ds->h.scaling));
		return -1;
	}
	if (method == TP_SCALE_NONE)
		return 0;
	if (ds->n == 0) {
		tp_errorf("cannot fit scaling on an empty dataset");
		return -1;
	}
	s1 = tp_xcalloc(d, sizeof *s1);
	s2 = tp_xcalloc(d, sizeof *s2);
	ds->h.scale_a = tp_xmallocarray(d, sizeof(float));
	ds->h.scale_b = tp_xmallocarray(d, sizeof(float));
	if (method == TP_SCALE_MINMAX) {
		for (size_t j = 0; j < d; j++)
			s1[j] = s2[j] = ds->x[j];
		for (size_t i = 1; i < ds->n; i++)
			for (size_t j = 0; j < d; j++) {
				double v = ds->x[i * d + j];
				s1[j] = v < s1[j] ? v : s1[j];
				s2[j] = v > s2[j] ? v : s2[j];
			}
		for (size_t j = 0; j < d; j++) {
			ds->h.scale_a[j] = (float)s1[j];
			ds->h.scale_b[j] = s2[j] > s1[j] ? (float)(1 / (s2[j] - s1[j])) : 1;
		}
	} else {
		/* Two passes: the one-pass sum of squares cancels badly. */
		for (size_t i = 0; i < ds->n; i++)
			for (size_t j = 0; j < d; j++)
				s1[j] += ds->x[i * d + j];
		for (size_t j = 0; j < d; j++)
			s1[j] /= (double)ds->n;
		for (size_t i = 0; i < ds->n; i++)
			for (size_t j = 0; j < d; j++) {
				double e = ds->x[i * d + j] - s1[j];
				s2[j] += e * e;
			}
		for (size_t j = 0; j < d; j++) {
			double sd = sqrt(s2[j] / (double)ds->n);
			ds->h.scale_a[j] = (float)s1[j];
			ds->h.scale_b[j] = sd > 0 ? (float)(1 / sd) : 1;
		}
	}
	ds->h.scaling = method;
	free(s1);
	free(s2);
	apply(ds);
	return 0;
}

int
tp_scale_apply(struct tp_dataset *ds, const struct tp_ds_header *from,
               const char *from_name)
{
	if (from->features != (int64_t)ds->d) {
		tp_errorf("%s: --scale-from: %lld features, this data has %zu",
		          from_name, (long long)from->features, ds->d);
		return -1;
	}
	if (from->scaling == TP_SCALE_NONE || !from->scale_a || !from->scale_b) {
		tp_errorf("%s: --scale-from: the dataset records no scaling",
		          from_name);
		return -1;
	}
	if (ds->h.scaling != TP_SCALE_NONE) {
		tp_errorf("the dataset is already scaled (%s)",
		          tp_scale_name(ds->h.scaling));
		return -1;
	}
	ds->h.scaling = from->scaling;
	ds->h.scale_a = tp_xmallocarray(ds->d, sizeof(float));
	ds->h.scale_b = tp_xmallocarray(ds->d, sizeof(float));
	memcpy(ds->h.scale_a, from->scale_a, ds->d * sizeof(float));
	memcpy(ds->h.scale_b, from->scale_b, ds->d * sizeof(float));
	apply(ds);
	return 0;
}
