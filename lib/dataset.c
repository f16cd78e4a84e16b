/*
 * dataset.c: the dataset format (doc/tp-dataset.5) on top of record
 * streams: header, sequential reader and writer, whole-dataset load, and the
 * batch loader with its prefetch thread.
 *
 * The loader's order is a pure function of (seed, shard, epoch): each epoch
 * draws its own RNG from tp_seed_derive, so a saved position is just
 * (epoch, offset) and restoring replays nothing in memory (and at most the
 * current epoch's decoding when streaming).  One producer thread means the
 * order never depends on timing.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include "tp/dataset.h"
#include "tp/record.h"
#include "tp/zio.h"

#define MAX_FEATURES (1 << 24)
#define MAX_CLASSES (1 << 24)

/* ---- header ---- */

void
tp_ds_header_init(struct tp_ds_header *h)
{
	memset(h, 0, sizeof *h);
	h->version = 1;
}

static void
free_names(char **v, int64_t n)
{
	if (!v)
		return;
	for (int64_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
tp_ds_header_release(struct tp_ds_header *h)
{
	free(h->name);
	free_names(h->feature_names, h->features);
	free_names(h->label_names, h->classes);
	free(h->scale_a);
	free(h->scale_b);
	tp_ds_header_init(h);
}

static char **
copy_names(char *const *v, int64_t n)
{
	char **c;

	if (!v)
		return NULL;
	c = tp_xmallocarray((size_t)n, sizeof *c);
	for (int64_t i = 0; i < n; i++)
		c[i] = tp_xstrdup(v[i]);
	return c;
}

static float *
copy_floats(const float *v, int64_t n)
{
	float *c;

	if (!v)
		return NULL;
	c = tp_xmallocarray((size_t)n, sizeof *c);
	memcpy(c, v, (size_t)n * sizeof *c);
	return c;
}

void
tp_ds_header_copy(struct tp_ds_header *dst, const struct tp_ds_header *src)
{
	*dst = *src;
	dst->name = src->name ? tp_xstrdup(src->name) : NULL;
	dst->feature_names = copy_names(src->feature_names, src->features);
	dst->label_names = copy_names(src->label_names, src->classes);
	dst->scale_a = copy_floats(src->scale_a, src->features);
	dst->scale_b = copy_floats(src->scale_b, src->features);
}

const char *
tp_scale_name(enum tp_scale s)
{
	switch (s) {
	case TP_SCALE_MINMAX:
		return "minmax";
	case TP_SCALE_STANDARDIZE:
		return "standardize";
	default:
		return "none";
	}
}

int
tp_scale_parse(const char *s)
{
	if (!strcmp(s, "minmax"))
		return TP_SCALE_MINMAX;
	if (!strcmp(s, "standardize"))
		return TP_SCALE_STANDARDIZE;
	if (!strcmp(s, "none"))
		return TP_SCALE_NONE;
	return -1;
}

/* An array of n strings, or NULL after printing. */
static char **
parse_names(const struct tp_rd *rd, const struct tp_val *v, int64_t n,
            const char *key)
{
	char **names;

	if (tp_val_type(v) != TP_V_ARRAY || (int64_t)tp_val_len(v) != n) {
		tp_rd_errorf(rd, "key \"%s\": expected an array of %lld strings",
		             key, (long long)n);
		return NULL;
	}
	names = tp_xcalloc((size_t)n, sizeof *names);
	for (int64_t i = 0; i < n; i++) {
		names[i] = tp_val_strdup(tp_val_at(v, (size_t)i));
		if (!names[i]) {
			tp_rd_errorf(rd, "key \"%s\": element %lld is not a string",
			             key, (long long)i);
			free_names(names, n);
			return NULL;
		}
	}
	return names;
}

/* Decode n little-endian float32 from p into out. */
static void
get_f32le(float *out, const unsigned char *p, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(out, p, n * sizeof *out);
#else
	for (size_t i = 0; i < n; i++) {
		uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		             (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
		memcpy(&out[i], &u, sizeof u);
	}
#endif
}

/* The bytes of x[n] as little-endian float32: x itself on LE hosts. */
static const void *
put_f32le(const float *x, size_t n, unsigned char *scratch)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	(void)n;
	(void)scratch;
	return x;
#else
	for (size_t i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, &x[i], sizeof u);
		scratch[4 * i] = u & 255;
		scratch[4 * i + 1] = u >> 8 & 255;
		scratch[4 * i + 2] = u >> 16 & 255;
		scratch[4 * i + 3] = u >> 24 & 255;
	}
	return scratch;
#endif
}

/* A bin of d float32, or NULL after printing. */
static float *
parse_f32_bin(const struct tp_rd *rd, const struct tp_val *v, int64_t d,
              const char *key)
{
	size_t len;
	const void *p = tp_val_bin(v, &len);
	float *out;

	if (!p || len != (size_t)d * 4) {
		tp_rd_errorf(rd, "key \"%s\": expected a bin of %lld float32",
		             key, (long long)d);
		return NULL;
	}
	out = tp_xmallocarray((size_t)d, sizeof *out);
	get_f32le(out, p, (size_t)d);
	return out;
}

static int
parse_scaling(struct tp_ds_header *h, const struct tp_rd *rd,
              const struct tp_val *v)
{
	const struct tp_val *m = tp_val_get(v, "method");
	char *method = tp_val_strdup(m);
	int s = method ? tp_scale_parse(method) : -1;

	if (tp_val_type(v) != TP_V_MAP || s < 0) {
		tp_rd_errorf(rd, "key \"scaling\": expected a map with \"method\" "
		             "minmax, standardize or none");
		free(method);
		return -1;
	}
	free(method);
	h->scaling = (enum tp_scale)s;
	if (s == TP_SCALE_NONE)
		return 0;
	if (!tp_val_get(v, "a") || !tp_val_get(v, "b")) {
		tp_rd_errorf(rd, "key \"scaling\": missing \"a\" or \"b\"");
		return -1;
	}
	h->scale_a = parse_f32_bin(rd, tp_val_get(v, "a"), h->features, "scaling.a");
	if (!h->scale_a)
		return -1;
	h->scale_b = parse_f32_bin(rd, tp_val_get(v, "b"), h->features, "scaling.b");
	return h->scale_b ? 0 : -1;
}

int
tp_ds_header_parse(struct tp_ds_header *h, const struct tp_rd *rd,
                   const struct tp_val *rec)
{
	char type[32];
	const struct tp_val *v;

	tp_ds_header_init(h);
	if (tp_rec_type(rd, rec, type, sizeof type) < 0)
		return -1;
	if (strcmp(type, "dataset") != 0) {
		tp_rd_errorf(rd, "not a dataset: first record has type \"%s\"", type);
		return -1;
	}
	if (tp_rec_need_i64(rd, rec, "version", &h->version) < 0 ||
	    tp_rec_need_i64(rd, rec, "features", &h->features) < 0 ||
	    tp_rec_need_i64(rd, rec, "classes", &h->classes) < 0 ||
	    tp_rec_need_i64(rd, rec, "count", &h->count) < 0)
		goto fail;
	if (h->version != 1) {
		tp_rd_errorf(rd, "dataset version %lld is not supported (this "
		             "reader knows version 1)", (long long)h->version);
		goto fail;
	}
	if (h->features < 1 || h->features > MAX_FEATURES) {
		tp_rd_errorf(rd, "\"features\": %lld is not in [1, %d]",
		             (long long)h->features, MAX_FEATURES);
		goto fail;
	}
	if (h->classes < 0 || h->classes > MAX_CLASSES) {
		tp_rd_errorf(rd, "\"classes\": %lld is not in [0, %d]",
		             (long long)h->classes, MAX_CLASSES);
		goto fail;
	}
	if (h->count < 0) {
		tp_rd_errorf(rd, "\"count\": %lld is negative", (long long)h->count);
		goto fail;
	}
	if ((v = tp_val_get(rec, "name")) && !(h->name = tp_val_strdup(v))) {
		tp_rd_errorf(rd, "key \"name\": expected a string");
		goto fail;
	}
	if ((v = tp_val_get(rec, "feature_names")) &&
	    !(h->feature_names = parse_names(rd, v, h->features, "feature_names")))
		goto fail;
	if ((v = tp_val_get(rec, "label_names")) &&
	    !(h->label_names = parse_names(rd, v, h->classes, "label_names")))
		goto fail;
	if ((v = tp_val_get(rec, "scaling")) && parse_scaling(h, rd, v) < 0)
		goto fail;
	return 0;
fail:
	tp_ds_header_release(h);
	return -1;
}

void
tp_ds_header_build(const struct tp_ds_header *h, struct tp_rb *b)
{
	size_t d = (size_t)h->features;
	unsigned char *scratch = NULL;

	tp_rb_begin(b, "dataset");
	tp_rb_i64(b, "version", 1);
	tp_rb_i64(b, "features", h->features);
	tp_rb_i64(b, "classes", h->classes);
	tp_rb_i64(b, "count", h->count);
	if (h->name)
		tp_rb_str(b, "name", h->name);
	if (h->feature_names) {
		tp_rb_arr_begin(b, "feature_names");
		for (size_t i = 0; i < d; i++)
			tp_rb_str(b, NULL, h->feature_names[i]);
		tp_rb_arr_end(b);
	}
	if (h->label_names) {
		tp_rb_arr_begin(b, "label_names");
		for (int64_t i = 0; i < h->classes; i++)
			tp_rb_str(b, NULL, h->label_names[i]);
		tp_rb_arr_end(b);
	}
	if (h->scaling != TP_SCALE_NONE && h->scale_a && h->scale_b) {
		scratch = tp_xmallocarray(d, 4);
		tp_rb_map_begin(b, "scaling");
		tp_rb_str(b, "method", tp_scale_name(h->scaling));
		tp_rb_bin(b, "a", put_f32le(h->scale_a, d, scratch), d * 4);
		tp_rb_bin(b, "b", put_f32le(h->scale_b, d, scratch), d * 4);
		tp_rb_map_end(b);
		free(scratch);
	}
}

/* Same layout (features, classes, scaling): shards of one dataset. */
static int
header_compatible(const struct tp_ds_header *a, const struct tp_ds_header *b)
{
	size_t n = (size_t)a->features * sizeof(float);

	if (a->features != b->features || a->classes != b->classes ||
	    a->scaling != b->scaling)
		return 0;
	if (a->scaling != TP_SCALE_NONE &&
	    (memcmp(a->scale_a, b->scale_a, n) || memcmp(a->scale_b, b->scale_b, n)))
		return 0;
	return 1;
}

static void
incompatible_error(const char *name, const struct tp_ds_header *want,
                   const struct tp_ds_header *got)
{
	tp_errorf("%s: not a shard of the same dataset (%lld features, %lld "
	          "classes, scaling %s; expected %lld, %lld, %s)", name,
	          (long long)got->features, (long long)got->classes,
	          tp_scale_name(got->scaling), (long long)want->features,
	          (long long)want->classes, tp_scale_name(want->scaling));
}

/* ---- sequential reader ---- */

struct tp_dsr {
	struct tp_rd *rd;
	struct tp_ds_header h;
	int64_t index;
	int done;
};

struct tp_dsr *
tp_dsr_open(const char *path)
{
	struct tp_dsr *r;
	const struct tp_val *rec;
	int rc;

	r = tp_xcalloc(1, sizeof *r);
	tp_ds_header_init(&r->h);
	if (!(r->rd = tp_rd_open(path)))
		goto fail;
	rc = tp_rd_next(r->rd, &rec);
	if (rc == 0)
		tp_errorf("%s: empty: not a dataset", tp_rd_name(r->rd));
	if (rc <= 0 || tp_ds_header_parse(&r->h, r->rd, rec) < 0)
		goto fail;
	return r;
fail:
	tp_dsr_close(r);
	return NULL;
}

const struct tp_ds_header *
tp_dsr_header(const struct tp_dsr *r)
{
	return &r->h;
}

const char *
tp_dsr_name(const struct tp_dsr *r)
{
	return tp_rd_name(r->rd);
}

int64_t
tp_dsr_index(const struct tp_dsr *r)
{
	return r->index;
}

static int
parse_x(struct tp_dsr *r, const struct tp_val *v, float *x)
{
	size_t d = (size_t)r->h.features, len;
	const void *p;

	if (!v) {
		tp_rd_errorf(r->rd, "example %lld: missing key \"x\"",
		             (long long)r->index);
		return -1;
	}
	if ((p = tp_val_bin(v, &len))) {
		if (len != d * 4) {
			tp_rd_errorf(r->rd, "example %lld: \"x\" holds %zu bytes, "
			             "expected %zu (%zu float32)", (long long)r->index,
			             len, d * 4, d);
			return -1;
		}
		get_f32le(x, p, d);
		return 0;
	}
	if (tp_val_type(v) != TP_V_ARRAY) {
		tp_rd_errorf(r->rd, "example %lld: \"x\": expected bin or array, "
		             "found %s", (long long)r->index,
		             tp_vtype_name(tp_val_type(v)));
		return -1;
	}
	if (tp_val_len(v) != d) {
		tp_rd_errorf(r->rd, "example %lld: \"x\" has %zu features, "
		             "expected %zu", (long long)r->index, tp_val_len(v), d);
		return -1;
	}
	for (size_t j = 0; j < d; j++) {
		double f;
		if (tp_val_f64(tp_val_at(v, j), &f) < 0) {
			tp_rd_errorf(r->rd, "example %lld: \"x\"[%zu] is not a number",
			             (long long)r->index, j);
			return -1;
		}
		x[j] = (float)f;
	}
	return 0;
}

static int
parse_y(struct tp_dsr *r, const struct tp_val *v, double *y)
{
	int64_t c;

	if (!v) {
		tp_rd_errorf(r->rd, "example %lld: missing key \"y\"",
		             (long long)r->index);
		return -1;
	}
	if (r->h.classes == 0) {
		if (tp_val_f64(v, y) < 0 || !isfinite(*y)) {
			tp_rd_errorf(r->rd, "example %lld: \"y\" is not a finite number",
			             (long long)r->index);
			return -1;
		}
		return 0;
	}
	if (tp_val_i64(v, &c) < 0) {
		tp_rd_errorf(r->rd, "example %lld: \"y\" is not a class index",
		             (long long)r->index);
		return -1;
	}
	if (c < 0 || c >= r->h.classes) {
		tp_rd_errorf(r->rd, "example %lld: class %lld out of range [0, %lld)",
		             (long long)r->index, (long long)c,
		             (long long)r->h.classes);
		return -1;
	}
	*y = (double)c;
	return 0;
}

int
tp_dsr_next(struct tp_dsr *r, float *x, double *y, float *w)
{
	const struct tp_val *rec, *v;
	double wv;
	int rc;

	if (r->done)
		return 0;
	rc = tp_rd_next(r->rd, &rec);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (r->index != r->h.count) {
			tp_errorf("%s: truncated: header says %lld examples, found %lld",
			          tp_rd_name(r->rd), (long long)r->h.count,
			          (long long)r->index);
			return -1;
		}
		r->done = 1;
		return 0;
	}
	if (r->index == r->h.count) {
		tp_rd_errorf(r->rd, "more than the %lld examples the header says",
		             (long long)r->h.count);
		return -1;
	}
	if ((v = tp_val_get(rec, "type")) && !tp_val_streq(v, "example")) {
		tp_rd_errorf(r->rd, "example %lld: unexpected record type in a "
		             "dataset", (long long)r->index);
		return -1;
	}
	if (parse_x(r, tp_val_get(rec, "x"), x) < 0 ||
	    parse_y(r, tp_val_get(rec, "y"), y) < 0)
		return -1;
	*w = 1;
	if ((v = tp_val_get(rec, "w"))) {
		if (tp_val_f64(v, &wv) < 0 || !isfinite(wv) || wv < 0) {
			tp_rd_errorf(r->rd, "example %lld: \"w\" is not a finite "
			             "weight >= 0", (long long)r->index);
			return -1;
		}
		*w = (float)wv;
	}
	r->index++;
	return 1;
}

void
tp_dsr_close(struct tp_dsr *r)
{
	if (!r)
		return;
	tp_rd_close(r->rd);
	tp_ds_header_release(&r->h);
	free(r);
}

/* ---- writer ---- */

struct tp_dsw {
	struct tp_wr *wr;
	struct tp_rb b;
	int64_t d, k, count, written;
	unsigned char *scratch;
};

struct tp_dsw *
tp_dsw_open(const char *path, int flags, const struct tp_ds_header *h)
{
	struct tp_dsw *w = tp_xcalloc(1, sizeof *w);

	/* Special files (/dev/null, FIFOs) are written in place by zio. */
	tp_rb_init(&w->b);
	w->d = h->features;
	w->k = h->classes;
	w->count = h->count;
	w->scratch = tp_xmallocarray((size_t)h->features, 4);
	if (!(w->wr = tp_wr_open(path, flags)))
		goto fail;
	tp_ds_header_build(h, &w->b);
	if (tp_wr_rb(w->wr, &w->b) < 0)
		goto fail;
	return w;
fail:
	tp_dsw_abort(w);
	return NULL;
}

int
tp_dsw_put(struct tp_dsw *w, const float *x, double y, float weight)
{
	size_t d = (size_t)w->d;

	w->written++;
	/* No "type": examples are the bulk of the file (doc/tp-dataset.5). */
	tp_rb_begin(&w->b, NULL);
	tp_rb_bin(&w->b, "x", put_f32le(x, d, w->scratch), d * 4);
	if (w->k > 0)
		tp_rb_i64(&w->b, "y", (int64_t)y);
	else
		tp_rb_f64(&w->b, "y", y);
	if (weight >= 0)
		tp_rb_f32(&w->b, "w", weight);
	return tp_wr_rb(w->wr, &w->b);
}

int
tp_dsw_close(struct tp_dsw *w)
{
	int rc;

	if (w->written != w->count) {
		tp_errorf("%s: wrote %lld examples, the header says %lld "
		          "(internal error)", tp_wr_name(w->wr),
		          (long long)w->written, (long long)w->count);
		tp_dsw_abort(w);
		return -1;
	}
	rc = tp_wr_close(w->wr);
	w->wr = NULL;
	tp_dsw_abort(w);
	return rc;
}

void
tp_dsw_abort(struct tp_dsw *w)
{
	if (!w)
		return;
	if (w->wr)
		tp_wr_abort(w->wr);
	tp_rb_release(&w->b);
	free(w->scratch);
	free(w);
}

/* ---- in memory ---- */

void
tp_dataset_init(struct tp_dataset *ds)
{
	memset(ds, 0, sizeof *ds);
	tp_ds_header_init(&ds->h);
}

static void
dataset_reserve(struct tp_dataset *ds, size_t cap)
{
	ds->x = tp_xrealloc(ds->x, cap * ds->d * sizeof *ds->x);
	if (ds->h.classes > 0)
		ds->y = tp_xrealloc(ds->y, cap * sizeof *ds->y);
	else
		ds->t = tp_xrealloc(ds->t, cap * sizeof *ds->t);
	ds->w = tp_xrealloc(ds->w, cap * sizeof *ds->w);
}

void
tp_dataset_alloc(struct tp_dataset *ds, const struct tp_ds_header *h, size_t n)
{
	tp_dataset_init(ds);
	tp_ds_header_copy(&ds->h, h);
	ds->h.count = (int64_t)n;
	ds->n = n;
	ds->d = (size_t)h->features;
	if (n > SIZE_MAX / sizeof(float) / ds->d)
		tp_oom();
	dataset_reserve(ds, n);
	memset(ds->x, 0, n * ds->d * sizeof *ds->x);
	for (size_t i = 0; i < n; i++)
		ds->w[i] = 1;
	ds->nfiles = 1;
	ds->file_start = tp_xcalloc(2, sizeof *ds->file_start);
	ds->file_start[1] = n;
}

void
tp_dataset_release(struct tp_dataset *ds)
{
	tp_ds_header_release(&ds->h);
	free(ds->x);
	free(ds->y);
	free(ds->t);
	free(ds->w);
	free(ds->file_start);
	tp_dataset_init(ds);
}

/* Read one file's examples onto the end of ds. */
static int
load_one(struct tp_dataset *ds, struct tp_dsr *r, size_t *cap)
{
	const struct tp_ds_header *h = tp_dsr_header(r);
	/* Trust the header's count for the allocation only up to 1 GiB: a
	 * corrupt count must not exhaust memory before the data says so. */
	size_t want = ds->n + (size_t)h->count, rowb = ds->d * sizeof(float);
	size_t lim = ds->n + ((size_t)1 << 30) / rowb + 1;
	double y;
	int rc;

	if ((uint64_t)h->count > UINT32_MAX - ds->n) {
		tp_errorf("%s: %lld examples: too many to load into memory",
		          tp_dsr_name(r), (long long)h->count);
		return -1;
	}
	if (want > *cap) {
		*cap = want < lim ? want : lim;
		dataset_reserve(ds, *cap);
	}
	for (;;) {
		if (ds->n == *cap) {
			*cap = *cap * 2 + 16;
			dataset_reserve(ds, *cap);
		}
		rc = tp_dsr_next(r, ds->x + ds->n * ds->d, &y, &ds->w[ds->n]);
		if (rc <= 0)
			return rc;
		if (ds->y)
			ds->y[ds->n] = (int32_t)y;
		else
			ds->t[ds->n] = (float)y;
		if (ds->w[ds->n] != 1)
			ds->has_weights = 1;
		ds->n++;
	}
}

/* The files' headers, checked as shards of one dataset, and their examples
 * when `examples` is set (else only the counts the headers give). */
static int
load_files(struct tp_dataset *ds, const char *const *paths, size_t npaths,
           int examples)
{
	const char *stdin_path = "-";
	size_t cap = 0;

	tp_dataset_init(ds);
	if (npaths == 0) {
		paths = &stdin_path;
		npaths = 1;
	}
	ds->file_start = tp_xcalloc(npaths + 1, sizeof *ds->file_start);
	for (size_t i = 0; i < npaths; i++) {
		struct tp_dsr *r = tp_dsr_open(paths[i]);
		int rc = 0;

		if (!r)
			goto fail;
		if (i == 0) {
			tp_ds_header_copy(&ds->h, tp_dsr_header(r));
			ds->d = (size_t)ds->h.features;
		} else if (!header_compatible(&ds->h, tp_dsr_header(r))) {
			incompatible_error(tp_dsr_name(r), &ds->h, tp_dsr_header(r));
			tp_dsr_close(r);
			goto fail;
		}
		if (examples)
			rc = load_one(ds, r, &cap);
		else
			ds->n += (size_t)tp_dsr_header(r)->count;
		tp_dsr_close(r);
		if (rc < 0)
			goto fail;
		ds->file_start[++ds->nfiles] = ds->n;
	}
	if (examples)
		dataset_reserve(ds, ds->n);
	ds->h.count = (int64_t)ds->n;
	return 0;
fail:
	tp_dataset_release(ds);
	return -1;
}

int
tp_dataset_load(struct tp_dataset *ds, const char *const *paths, size_t npaths)
{
	return load_files(ds, paths, npaths, 1);
}

int
tp_dataset_load_headers(struct tp_dataset *ds, const char *const *paths,
                        size_t npaths)
{
	return load_files(ds, paths, npaths, 0);
}

int
tp_dataset_write(const struct tp_dataset *ds, const uint32_t *idx, size_t n,
                 const char *path, int flags)
{
	struct tp_ds_header h = ds->h;
	struct tp_dsw *w;

	if (!idx)
		n = ds->n;
	h.count = (int64_t)n;
	if (!(w = tp_dsw_open(path, flags, &h)))
		return -1;
	for (size_t k = 0; k < n; k++) {
		size_t i = idx ? idx[k] : k;
		double y = ds->y ? (double)ds->y[i] : (double)ds->t[i];
		float wt = ds->has_weights ? ds->w[i] : -1;

		if (tp_dsw_put(w, ds->x + i * ds->d, y, wt) < 0) {
			tp_dsw_abort(w);
			return -1;
		}
	}
	return tp_dsw_close(w);
}

/* ---- loader ---- */

void
tp_loader_state_encode(const struct tp_loader_state *s,
                       unsigned char out[TP_LOADER_STATE_BYTES])
{
	uint64_t v[4] = {s->epoch, s->offset, s->seed, s->examples};
	uint32_t u[4] = {s->shard, s->shards, s->batch, s->streaming};

	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 8; k++)
			out[8 * i + k] = (unsigned char)(v[i] >> (8 * k));
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			out[32 + 4 * i + k] = (unsigned char)(u[i] >> (8 * k));
}

int
tp_loader_state_decode(struct tp_loader_state *s, const unsigned char *in,
                       size_t len)
{
	uint64_t v[4] = {0};
	uint32_t u[4] = {0};

	if (len != TP_LOADER_STATE_BYTES) {
		tp_errorf("loader state: %zu bytes, expected %d", len,
		          TP_LOADER_STATE_BYTES);
		return -1;
	}
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 8; k++)
			v[i] |= (uint64_t)in[8 * i + k] << (8 * k);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			u[i] |= (uint32_t)in[32 + 4 * i + k] << (8 * k);
	s->epoch = v[0];
	s->offset = v[1];
	s->seed = v[2];
	s->examples = v[3];
	s->shard = u[0];
	s->shards = u[1];
	s->batch = u[2];
	s->streaming = u[3];
	return 0;
}

struct slot {
	struct tp_ds_batch b;
	uint64_t epoch, offset; /* position after this batch */
};

struct tp_loader {
	struct tp_loader_opts o;
	struct tp_ds_header h;
	size_t d;
	uint64_t m; /* examples in this shard */

	/* in memory */
	const struct tp_dataset *ds;
	uint32_t *sel;  /* shard-local index -> dataset row */
	uint32_t *perm; /* this epoch's order of sel */
	uint64_t perm_epoch;
	int have_perm;

	/* streaming */
	char **paths;
	size_t npaths;
	int64_t *base;    /* index of each file's first example overall */
	size_t *files;    /* this shard's files in canonical order */
	size_t nfiles;
	size_t *order;    /* this epoch's file order */
	int strided;
	struct tp_dsr *rd;
	size_t fi;        /* position in order */
	int64_t gidx;     /* overall index of the next example of rd */
	int epoch_open, raw_done;
	struct tp_rng rng;
	float *bx;        /* shuffle buffer [bcap, d] */
	double *by;
	float *bw;
	size_t bcap, bn;

	/* producer position */
	uint64_t epoch, offset;

	/* queue */
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t can_produce, can_consume;
	struct slot *slots;
	size_t nslots;
	uint64_t produced, taken, released;
	int done, status, stop;
	int prod_waiting, cons_waiting; /* signal only a sleeper: fewer futex calls */

	/* consumer */
	uint64_t pos_epoch, pos_offset;
	double waited;
};

static uint64_t
epoch_seed(const struct tp_loader *l, uint64_t epoch)
{
	/* Hosts shuffle differently (playbook: multi-host pipelines), epochs
	 * too, and each epoch's RNG is recomputable from the position. */
	return tp_seed_derive(tp_seed_derive(l->o.seed, l->o.shard), epoch);
}

static void
put_row(struct tp_loader *l, struct tp_ds_batch *b, size_t row, double y, float w)
{
	if (b->y)
		b->y[row] = (int32_t)y;
	else
		b->t[row] = (float)y;
	b->w[row] = w;
}

/* Next example of the memory source into row (x already there or copied). */
static int
mem_next(struct tp_loader *l, struct tp_ds_batch *b, size_t row)
{
	const struct tp_dataset *ds = l->ds;
	size_t i;

	if (l->o.mode == TP_LOAD_EVAL) {
		if (l->offset >= l->m)
			return 0;
		i = l->sel[l->offset];
	} else {
		if (!l->have_perm || l->perm_epoch != l->epoch) {
			struct tp_rng r;

			tp_rng_seed(&r, epoch_seed(l, l->epoch));
			for (uint64_t k = 0; k < l->m; k++)
				l->perm[k] = l->sel[k];
			tp_rng_shuffle_u32(&r, l->perm, l->m);
			l->perm_epoch = l->epoch;
			l->have_perm = 1;
		}
		i = l->perm[l->offset];
	}
	memcpy(b->x + row * l->d, ds->x + i * l->d, l->d * sizeof(float));
	put_row(l, b, row, ds->y ? (double)ds->y[i] : (double)ds->t[i], ds->w[i]);
	return 1;
}

static void
stream_close_file(struct tp_loader *l)
{
	tp_dsr_close(l->rd);
	l->rd = NULL;
}

static void
stream_open_epoch(struct tp_loader *l)
{
	tp_rng_seed(&l->rng, epoch_seed(l, l->epoch));
	memcpy(l->order, l->files, l->nfiles * sizeof *l->order);
	if (l->o.mode == TP_LOAD_TRAIN) {
		for (size_t i = l->nfiles; i > 1; i--) {
			size_t j = (size_t)tp_rng_below(&l->rng, i), t = l->order[i - 1];
			l->order[i - 1] = l->order[j];
			l->order[j] = t;
		}
	}
	l->fi = 0;
	l->bn = 0;
	l->raw_done = 0;
	l->epoch_open = 1;
}

/* Next selected example in this epoch's file order: 1, 0 (epoch end), -1. */
static int
stream_raw(struct tp_loader *l, float *x, double *y, float *w)
{
	for (;;) {
		int rc;

		if (!l->rd) {
			size_t f;

			if (l->fi == l->nfiles)
				return 0;
			f = l->order[l->fi];
			if (!(l->rd = tp_dsr_open(l->paths[f])))
				return -1;
			if (!header_compatible(&l->h, tp_dsr_header(l->rd)) ||
			    tp_dsr_header(l->rd)->count != l->base[f + 1] - l->base[f]) {
				tp_errorf("%s: changed since the loader opened it",
				          l->paths[f]);
				stream_close_file(l);
				return -1;
			}
			l->gidx = l->base[f];
		}
		rc = tp_dsr_next(l->rd, x, y, w);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			stream_close_file(l);
			l->fi++;
			continue;
		}
		if (l->strided && (uint64_t)l->gidx++ % l->o.shards != l->o.shard)
			continue;
		return 1;
	}
}

static int
stream_next(struct tp_loader *l, struct tp_ds_batch *b, size_t row)
{
	float *x = b->x + row * l->d, w;
	double y;
	size_t j;
	int rc;

	if (!l->epoch_open)
		stream_open_epoch(l);
	if (l->o.mode == TP_LOAD_EVAL) {
		rc = stream_raw(l, x, &y, &w);
		if (rc > 0)
			put_row(l, b, row, y, w);
		return rc;
	}
	while (!l->raw_done && l->bn < l->bcap) {
		rc = stream_raw(l, l->bx + l->bn * l->d, &l->by[l->bn], &l->bw[l->bn]);
		if (rc < 0)
			return -1;
		if (rc == 0)
			l->raw_done = 1;
		else
			l->bn++;
	}
	if (l->bn == 0) {
		tp_errorf("%s: the shard holds fewer examples than its headers say",
		          l->paths[0]);
		return -1;
	}
	j = (size_t)tp_rng_below(&l->rng, l->bn);
	memcpy(x, l->bx + j * l->d, l->d * sizeof(float));
	put_row(l, b, row, l->by[j], l->bw[j]);
	rc = 0;
	if (!l->raw_done) {
		rc = stream_raw(l, l->bx + j * l->d, &l->by[j], &l->bw[j]);
		if (rc < 0)
			return -1;
		if (rc == 0)
			l->raw_done = 1;
	}
	if (rc == 0) {
		/* Source exhausted: fill the hole with the last held example. */
		l->bn--;
		if (j != l->bn) {
			memcpy(l->bx + j * l->d, l->bx + l->bn * l->d,
			       l->d * sizeof(float));
			l->by[j] = l->by[l->bn];
			l->bw[j] = l->bw[l->bn];
		}
	}
	return 1;
}

/* Produce the next example into row: 1, 0 (eval end), -1. */
static int
source_next(struct tp_loader *l, struct tp_ds_batch *b, size_t row)
{
	int rc = l->ds ? mem_next(l, b, row) : stream_next(l, b, row);

	if (rc <= 0)
		return rc;
	if (++l->offset == l->m && l->o.mode == TP_LOAD_TRAIN) {
		l->epoch++;
		l->offset = 0;
		if (l->rd)
			stream_close_file(l);
		l->epoch_open = 0;
	}
	return 1;
}

static int
fill_batch(struct tp_loader *l, struct tp_ds_batch *b)
{
	size_t row = 0;
	int rc = 1;

	while (row < b->n && (rc = source_next(l, b, row)) > 0)
		row++;
	if (rc < 0)
		return -1;
	if (row == 0)
		return 0;
	b->valid = row;
	/* Padding of weight 0: exact per-example means over the last batch. */
	if (row < b->n) {
		memset(b->x + row * l->d, 0, (b->n - row) * l->d * sizeof(float));
		for (size_t r = row; r < b->n; r++)
			put_row(l, b, r, 0, 0);
	}
	return 1;
}

static void *
producer(void *arg)
{
	struct tp_loader *l = arg;

	for (;;) {
		struct slot *s;
		int rc;

		pthread_mutex_lock(&l->mu);
		while (!l->stop && l->produced - l->released >= l->nslots) {
			l->prod_waiting = 1;
			pthread_cond_wait(&l->can_produce, &l->mu);
			l->prod_waiting = 0;
		}
		if (l->stop) {
			pthread_mutex_unlock(&l->mu);
			break;
		}
		s = &l->slots[l->produced % l->nslots];
		pthread_mutex_unlock(&l->mu);

		rc = fill_batch(l, &s->b);
		s->epoch = l->epoch;
		s->offset = l->offset;

		pthread_mutex_lock(&l->mu);
		if (rc > 0)
			l->produced++;
		else {
			l->done = 1;
			l->status = rc;
		}
		if (l->cons_waiting)
			pthread_cond_signal(&l->can_consume);
		pthread_mutex_unlock(&l->mu);
		if (rc <= 0)
			break;
	}
	return NULL;
}

/* Skip to the saved position by producing and dropping examples. */
static int
skip_to(struct tp_loader *l, uint64_t offset)
{
	struct tp_ds_batch *b = &l->slots[0].b;

	if (l->ds) {
		l->offset = offset;
		return 0;
	}
	while (l->offset < offset) {
		int rc = stream_next(l, b, 0);

		if (rc <= 0) {
			if (rc == 0)
				tp_errorf("loader state: offset %llu is past the end of "
				          "the data", (unsigned long long)offset);
			return -1;
		}
		l->offset++;
	}
	return 0;
}

static struct tp_loader *
loader_alloc(const struct tp_loader_opts *o)
{
	struct tp_loader *l = tp_xcalloc(1, sizeof *l);

	l->o = *o;
	if (!l->o.prefetch)
		l->o.prefetch = 8;
	if (!l->o.shuffle_buffer)
		l->o.shuffle_buffer = TP_LOADER_SHUFFLE_BUFFER;
	if (!l->o.shards)
		l->o.shards = 1;
	tp_ds_header_init(&l->h);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->can_produce, NULL);
	pthread_cond_init(&l->can_consume, NULL);
	return l;
}

static int
check_opts(const struct tp_loader_opts *o)
{
	if (o->batch < 1 || o->batch > UINT32_MAX) {
		tp_errorf("loader: batch size %zu is not in [1, %u]", o->batch,
		          UINT32_MAX);
		return -1;
	}
	if (o->shards && o->shard >= o->shards) {
		tp_errorf("loader: shard %u of %u does not exist (shards count "
		          "from 0)", o->shard, o->shards);
		return -1;
	}
	return 0;
}

/* Allocate slots, restore the position and start the thread. */
static int
loader_start(struct tp_loader *l, const struct tp_loader_state *resume)
{
	size_t B = l->o.batch;

	if (l->m == 0 && l->o.mode == TP_LOAD_TRAIN) {
		tp_errorf("loader: shard %u of %u holds no examples", l->o.shard,
		          l->o.shards);
		return -1;
	}
	l->nslots = l->o.prefetch + 1; /* + the one the consumer holds */
	l->slots = tp_xcalloc(l->nslots, sizeof *l->slots);
	for (size_t i = 0; i < l->nslots; i++) {
		struct tp_ds_batch *b = &l->slots[i].b;

		b->n = B;
		b->d = l->d;
		b->x = tp_xcalloc_lines(B * l->d, sizeof *b->x);
		if (l->h.classes > 0)
			b->y = tp_xcalloc(B, sizeof *b->y);
		else
			b->t = tp_xcalloc(B, sizeof *b->t);
		b->w = tp_xcalloc(B, sizeof *b->w);
	}
	if (resume) {
		if (resume->seed != l->o.seed || resume->shard != l->o.shard ||
		    resume->shards != l->o.shards || resume->examples != l->m ||
		    resume->streaming != (l->ds == NULL)) {
			tp_errorf("loader state: saved for another data stream (seed, "
			          "shard, example count or streaming differ)");
			return -1;
		}
		l->epoch = resume->epoch;
		if (l->o.mode == TP_LOAD_TRAIN && resume->offset >= l->m) {
			tp_errorf("loader state: offset %llu is past the end of the "
			          "epoch", (unsigned long long)resume->offset);
			return -1;
		}
		if (skip_to(l, resume->offset) < 0)
			return -1;
	}
	l->pos_epoch = l->epoch;
	l->pos_offset = l->offset;
	if (pthread_create(&l->thread, NULL, producer, l) != 0) {
		tp_errorf("loader: cannot start the prefetch thread");
		return -1;
	}
	l->started = 1;
	return 0;
}

struct tp_loader *
tp_loader_new(const struct tp_dataset *ds, const struct tp_loader_opts *o,
              const struct tp_loader_state *resume)
{
	struct tp_loader *l;

	if (check_opts(o) < 0)
		return NULL;
	l = loader_alloc(o);
	l->ds = ds;
	tp_ds_header_copy(&l->h, &ds->h);
	l->d = ds->d;
	l->sel = tp_xmallocarray(ds->n ? ds->n : 1, sizeof *l->sel);
	if (ds->nfiles >= l->o.shards && ds->file_start) {
		for (size_t f = l->o.shard; f < ds->nfiles; f += l->o.shards)
			for (size_t i = ds->file_start[f]; i < ds->file_start[f + 1]; i++)
				l->sel[l->m++] = (uint32_t)i;
	} else {
		for (size_t i = l->o.shard; i < ds->n; i += l->o.shards)
			l->sel[l->m++] = (uint32_t)i;
	}
	if (o->mode == TP_LOAD_TRAIN)
		l->perm = tp_xmallocarray(l->m ? l->m : 1, sizeof *l->perm);
	if (loader_start(l, resume) < 0) {
		tp_loader_close(l);
		return NULL;
	}
	return l;
}

struct tp_loader *
tp_loader_open(const char *const *paths, size_t npaths,
               const struct tp_loader_opts *o,
               const struct tp_loader_state *resume)
{
	const char *stdin_path = "-";
	struct tp_loader *l;

	if (check_opts(o) < 0)
		return NULL;
	if (npaths == 0) {
		paths = &stdin_path;
		npaths = 1;
	}
	l = loader_alloc(o);
	l->npaths = npaths;
	l->paths = tp_xcalloc(npaths, sizeof *l->paths);
	l->base = tp_xcalloc(npaths + 1, sizeof *l->base);
	l->files = tp_xcalloc(npaths, sizeof *l->files);
	l->order = tp_xcalloc(npaths, sizeof *l->order);
	for (size_t i = 0; i < npaths; i++) {
		struct tp_dsr *r;

		l->paths[i] = tp_xstrdup(paths[i]);
		if (!strcmp(paths[i], "-") && (npaths > 1 || o->mode == TP_LOAD_TRAIN)) {
			tp_errorf("loader: standard input cannot be read more than "
			          "once; name a file");
			goto fail;
		}
		if (!(r = tp_dsr_open(paths[i])))
			goto fail;
		if (i == 0) {
			tp_ds_header_copy(&l->h, tp_dsr_header(r));
			l->d = (size_t)l->h.features;
		} else if (!header_compatible(&l->h, tp_dsr_header(r))) {
			incompatible_error(tp_dsr_name(r), &l->h, tp_dsr_header(r));
			tp_dsr_close(r);
			goto fail;
		}
		l->base[i + 1] = l->base[i] + tp_dsr_header(r)->count;
		/* Eval of stdin reads the stream we just opened. */
		if (npaths == 1 && !strcmp(paths[i], "-"))
			l->rd = r;
		else
			tp_dsr_close(r);
	}
	l->h.count = l->base[npaths];
	l->strided = npaths < l->o.shards;
	if (l->strided) {
		uint64_t n = (uint64_t)l->h.count;

		for (size_t i = 0; i < npaths; i++)
			l->files[l->nfiles++] = i;
		l->m = n / l->o.shards + (l->o.shard < n % l->o.shards);
	} else {
		for (size_t i = l->o.shard; i < npaths; i += l->o.shards) {
			l->files[l->nfiles++] = i;
			l->m += (uint64_t)(l->base[i + 1] - l->base[i]);
		}
	}
	if (o->mode == TP_LOAD_TRAIN) {
		l->bcap = l->o.shuffle_buffer < l->m ? l->o.shuffle_buffer : l->m;
		l->bx = tp_xmallocarray(l->bcap * l->d + 1, sizeof *l->bx);
		l->by = tp_xmallocarray(l->bcap + 1, sizeof *l->by);
		l->bw = tp_xmallocarray(l->bcap + 1, sizeof *l->bw);
	}
	if (l->rd) {
		/* stdin, eval: continue after the header already read. */
		stream_open_epoch(l);
		l->gidx = 0;
	}
	if (loader_start(l, resume) < 0)
		goto fail;
	return l;
fail:
	tp_loader_close(l);
	return NULL;
}

const struct tp_ds_header *
tp_loader_header(const struct tp_loader *l)
{
	return &l->h;
}

uint64_t
tp_loader_examples(const struct tp_loader *l)
{
	return l->m;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int
tp_loader_next(struct tp_loader *l, const struct tp_ds_batch **b)
{
	struct slot *s;
	double t0;

	pthread_mutex_lock(&l->mu);
	if (l->taken > l->released) {
		l->released++;
		/* Wake a full producer only at half empty: it then refills in a
		 * burst, not one context switch per batch. */
		if (l->prod_waiting && l->produced - l->released <= l->nslots / 2)
			pthread_cond_signal(&l->can_produce);
	}
	if (l->taken == l->produced && !l->done) {
		t0 = now();
		while (l->taken == l->produced && !l->done) {
			l->cons_waiting = 1;
			pthread_cond_wait(&l->can_consume, &l->mu);
			l->cons_waiting = 0;
		}
		l->waited += now() - t0;
	}
	if (l->taken == l->produced) {
		int st = l->status;

		pthread_mutex_unlock(&l->mu);
		return st;
	}
	s = &l->slots[l->taken % l->nslots];
	l->taken++;
	l->pos_epoch = s->epoch;
	l->pos_offset = s->offset;
	pthread_mutex_unlock(&l->mu);
	*b = &s->b;
	return 1;
}

void
tp_loader_state(const struct tp_loader *l, struct tp_loader_state *s)
{
	memset(s, 0, sizeof *s);
	s->epoch = l->pos_epoch;
	s->offset = l->pos_offset;
	s->seed = l->o.seed;
	s->examples = l->m;
	s->shard = l->o.shard;
	s->shards = l->o.shards;
	s->batch = (uint32_t)l->o.batch;
	s->streaming = l->ds == NULL;
}

double
tp_loader_wait_seconds(const struct tp_loader *l)
{
	return l->waited;
}

void
tp_loader_close(struct tp_loader *l)
{
	if (!l)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->stop = 1;
		pthread_cond_broadcast(&l->can_produce);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	for (size_t i = 0; l->slots && i < l->nslots; i++) {
		tp_free_lines(l->slots[i].b.x);
		free(l->slots[i].b.y);
		free(l->slots[i].b.t);
		free(l->slots[i].b.w);
	}
	free(l->slots);
	tp_dsr_close(l->rd);
	for (size_t i = 0; l->paths && i < l->npaths; i++)
		free(l->paths[i]);
	free(l->paths);
	free(l->base);
	free(l->files);
	free(l->order);
	free(l->sel);
	free(l->perm);
	free(l->bx);
	free(l->by);
	free(l->bw);
	tp_ds_header_release(&l->h);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->can_produce);
	pthread_cond_destroy(&l->can_consume);
	free(l);
}
