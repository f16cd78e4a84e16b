/*
 * dataops.c: split, sample, shard, info and synth for tp-data.
 *
 * Splits are stratified because the playbook's comparisons between trials
 * are only as good as the validation set: a split that happens to starve a
 * class moves every trial's error the same way and hides real differences.
 * Rounding is by largest remainder so that no class is off by more than one
 * example from its share.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dataops.h"
#include "tp/rng.h"

/* Random streams of one seed, so that split and sample of the same seed
 * are unrelated and adding a class does not shift another's draw. */
enum { STREAM_SPLIT = 1, STREAM_SAMPLE, STREAM_SYNTH };

/*
 * Largest-remainder rounding of total * w[j] / wsum to integers summing to
 * total (ties to the lower j): out[j] is floor or ceil of the exact share.
 */
static void
apportion(size_t total, const double *w, size_t k, size_t *out)
{
	double wsum = 0, *rem = tp_xcalloc(k, sizeof *rem);
	size_t given = 0;

	for (size_t j = 0; j < k; j++)
		wsum += w[j];
	for (size_t j = 0; j < k; j++) {
		double q = (double)total * w[j] / wsum;

		out[j] = (size_t)floor(q);
		if (out[j] > total)
			out[j] = total;
		rem[j] = q - (double)out[j];
		given += out[j];
	}
	while (given < total) {
		size_t best = 0;

		for (size_t j = 1; j < k; j++)
			if (rem[j] > rem[best])
				best = j;
		out[best]++;
		rem[best] = -1;
		given++;
	}
	free(rem);
}

/*
 * One class of nc rows over k parts: floor(nc f[j]) each, and the rest one
 * by one to parts with a fractional share (so no part is a whole example
 * off), preferring the parts furthest below their total size (deficit,
 * updated), then the larger fractional share, then the lower j.
 */
static void
stratum(size_t nc, const double *f, size_t k, long *deficit, size_t *out)
{
	double *rem = tp_xcalloc(k, sizeof *rem);
	size_t given = 0;

	for (size_t j = 0; j < k; j++) {
		double q = (double)nc * f[j];

		out[j] = (size_t)floor(q);
		rem[j] = q - (double)out[j];
		given += out[j];
	}
	while (given < nc) {
		size_t best = k;

		for (size_t j = 0; j < k; j++) {
			if (rem[j] <= 0)
				continue;
			if (best == k || deficit[j] > deficit[best] ||
			    (deficit[j] == deficit[best] && rem[j] > rem[best]))
				best = j;
		}
		if (best == k) /* rounding left no fractional share: cannot be */
			best = 0;
		out[best]++;
		rem[best] = 0;
		deficit[best]--;
		given++;
	}
	free(rem);
}

/* Rows of each class in file order: rows[start[c] .. start[c+1]). */
static void
group_by_class(const struct tp_dataset *ds, uint32_t **rows, size_t **start)
{
	size_t K = (size_t)ds->h.classes, *fill;

	*start = tp_xcalloc(K + 1, sizeof **start);
	*rows = tp_xmallocarray(ds->n ? ds->n : 1, sizeof **rows);
	fill = tp_xcalloc(K + 1, sizeof *fill);
	for (size_t i = 0; i < ds->n; i++)
		(*start)[ds->y[i] + 1]++;
	for (size_t c = 0; c < K; c++)
		(*start)[c + 1] += (*start)[c];
	for (size_t i = 0; i < ds->n; i++) {
		size_t c = (size_t)ds->y[i];
		(*rows)[(*start)[c] + fill[c]++] = (uint32_t)i;
	}
	free(fill);
}

static void
identity(uint32_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] = (uint32_t)i;
}

int
tp_data_check_fractions(const double *f, size_t k)
{
	double sum = 0;

	if (k < 2) {
		tp_errorf("--fractions: need at least two parts");
		return -1;
	}
	for (size_t j = 0; j < k; j++) {
		if (!(f[j] > 0 && f[j] < 1)) {
			tp_errorf("--fractions: %g is not in (0, 1)", f[j]);
			return -1;
		}
		sum += f[j];
	}
	if (fabs(sum - 1) > 1e-9) {
		tp_errorf("--fractions: they sum to %.10g, not 1", sum);
		return -1;
	}
	return 0;
}

int
tp_data_split(const struct tp_dataset *ds, const double *f, size_t k,
              uint64_t seed, uint32_t **parts, size_t *counts)
{
	struct tp_rng r;
	size_t *take;

	if (tp_data_check_fractions(f, k) < 0)
		return -1;
	take = tp_xcalloc(k, sizeof *take);
	tp_rng_seed(&r, tp_seed_derive(seed, STREAM_SPLIT));
	for (size_t j = 0; j < k; j++) {
		parts[j] = tp_xmallocarray(ds->n ? ds->n : 1, sizeof **parts);
		counts[j] = 0;
	}
	if (ds->y) {
		size_t K = (size_t)ds->h.classes, *start;
		size_t *want = tp_xcalloc(k, sizeof *want);
		long *deficit = tp_xcalloc(k, sizeof *deficit);
		uint32_t *rows;

		group_by_class(ds, &rows, &start);
		/* Part sizes as close to the fractions as rounding allows; the
		 * per-class remainders are then handed to the parts still
		 * short of their size. */
		apportion(ds->n, f, k, want);
		for (size_t j = 0; j < k; j++) {
			deficit[j] = (long)want[j];
			for (size_t c = 0; c < K; c++)
				deficit[j] -= (long)floor((double)(start[c + 1] - start[c]) * f[j]);
		}
		for (size_t c = 0; c < K; c++) {
			size_t nc = start[c + 1] - start[c], at = start[c];

			tp_rng_shuffle_u32(&r, rows + start[c], nc);
			stratum(nc, f, k, deficit, take);
			for (size_t j = 0; j < k; j++)
				for (size_t t = 0; t < take[j]; t++)
					parts[j][counts[j]++] = rows[at++];
		}
		free(want);
		free(deficit);
		free(rows);
		free(start);
	} else {
		uint32_t *all = tp_xmallocarray(ds->n ? ds->n : 1, sizeof *all);
		size_t at = 0;

		identity(all, ds->n);
		tp_rng_shuffle_u32(&r, all, ds->n);
		apportion(ds->n, f, k, take);
		for (size_t j = 0; j < k; j++)
			for (size_t t = 0; t < take[j]; t++)
				parts[j][counts[j]++] = all[at++];
		free(all);
	}
	/* Random order inside each part: a streaming reader with a small
	 * shuffle buffer then still sees the classes mixed. */
	for (size_t j = 0; j < k; j++)
		tp_rng_shuffle_u32(&r, parts[j], counts[j]);
	free(take);
	return 0;
}

int
tp_data_sample(const struct tp_dataset *ds, size_t n, uint64_t seed,
               int stratify, uint32_t **idx)
{
	struct tp_rng r;
	size_t got = 0;

	if (n > ds->n) {
		tp_errorf("cannot sample %zu examples from %zu", n, ds->n);
		return -1;
	}
	tp_rng_seed(&r, tp_seed_derive(seed, STREAM_SAMPLE));
	*idx = tp_xmallocarray(n ? n : 1, sizeof **idx);
	if (stratify && ds->y) {
		size_t K = (size_t)ds->h.classes, *start, *take;
		double *share = tp_xcalloc(K, sizeof *share);
		uint32_t *rows;

		group_by_class(ds, &rows, &start);
		take = tp_xcalloc(K, sizeof *take);
		for (size_t c = 0; c < K; c++)
			share[c] = (double)(start[c + 1] - start[c]);
		apportion(n, share, K, take);
		for (size_t c = 0; c < K; c++) {
			size_t nc = start[c + 1] - start[c];

			tp_rng_shuffle_u32(&r, rows + start[c], nc);
			memcpy(*idx + got, rows + start[c], take[c] * sizeof **idx);
			got += take[c];
		}
		free(share);
		free(take);
		free(rows);
		free(start);
	} else {
		uint32_t *all = tp_xmallocarray(ds->n ? ds->n : 1, sizeof *all);

		identity(all, ds->n);
		/* Partial Fisher-Yates: the first n of a random permutation. */
		for (size_t i = 0; i < n; i++) {
			size_t j = i + (size_t)tp_rng_below(&r, ds->n - i);
			uint32_t t = all[i];
			all[i] = all[j];
			all[j] = t;
		}
		memcpy(*idx, all, n * sizeof **idx);
		got = n;
		free(all);
	}
	tp_rng_shuffle_u32(&r, *idx, got);
	return 0;
}

char *
tp_data_shard_name(const char *prefix, size_t j, size_t k)
{
	size_t len = strlen(prefix) + 64;
	char *s = tp_xmalloc(len);

	snprintf(s, len, "%s-%05zu-of-%05zu.zst", prefix, j, k);
	return s;
}

int
tp_data_shard(const struct tp_dataset *ds, size_t k, const char *prefix,
              int flags)
{
	uint32_t *all = tp_xmallocarray(ds->n ? ds->n : 1, sizeof *all);
	int rc = 0;

	identity(all, ds->n);
	for (size_t j = 0; j < k && rc == 0; j++) {
		size_t lo = j * ds->n / k, hi = (j + 1) * ds->n / k;
		char *name = tp_data_shard_name(prefix, j, k);

		rc = tp_dataset_write(ds, all + lo, hi - lo, name, flags);
		free(name);
	}
	free(all);
	return rc;
}

/* ---- info ---- */

int
tp_data_info(struct tp_data_info *info, const char *const *paths,
             size_t npaths)
{
	const char *stdin_path = "-";
	float *x = NULL;
	double ysum = 0;
	int64_t total = 0;

	memset(info, 0, sizeof *info);
	tp_ds_header_init(&info->h);
	info->xmin = INFINITY;
	info->xmax = -INFINITY;
	info->ymin = INFINITY;
	info->ymax = -INFINITY;
	if (npaths == 0) {
		paths = &stdin_path;
		npaths = 1;
	}
	for (size_t p = 0; p < npaths; p++) {
		struct tp_dsr *r = tp_dsr_open(paths[p]);
		const struct tp_ds_header *h;
		double y;
		float w;
		int rc;

		if (!r)
			goto fail;
		h = tp_dsr_header(r);
		if (p == 0) {
			tp_ds_header_copy(&info->h, h);
			info->class_count = tp_xcalloc((size_t)h->classes + 1,
			                               sizeof *info->class_count);
			x = tp_xmallocarray((size_t)h->features, sizeof *x);
		} else if (h->features != info->h.features ||
		           h->classes != info->h.classes) {
			tp_errorf("%s: %lld features and %lld classes, but %s has %lld "
			          "and %lld", tp_dsr_name(r), (long long)h->features,
			          (long long)h->classes, paths[0],
			          (long long)info->h.features,
			          (long long)info->h.classes);
			tp_dsr_close(r);
			goto fail;
		}
		while ((rc = tp_dsr_next(r, x, &y, &w)) > 0) {
			for (int64_t j = 0; j < h->features; j++) {
				info->xmin = x[j] < info->xmin ? x[j] : info->xmin;
				info->xmax = x[j] > info->xmax ? x[j] : info->xmax;
			}
			if (h->classes > 0)
				info->class_count[(size_t)y]++;
			info->ymin = y < info->ymin ? y : info->ymin;
			info->ymax = y > info->ymax ? y : info->ymax;
			ysum += y;
			info->weight_sum += w;
			info->weighted += w != 1;
			total++;
		}
		tp_dsr_close(r);
		if (rc < 0)
			goto fail;
	}
	info->h.count = total;
	info->ymean = total ? ysum / (double)total : 0;
	free(x);
	return 0;
fail:
	free(x);
	tp_data_info_release(info);
	return -1;
}

void
tp_data_info_release(struct tp_data_info *info)
{
	tp_ds_header_release(&info->h);
	free(info->class_count);
	info->class_count = NULL;
}

static void
json_str(FILE *f, const char *s)
{
	putc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			putc(*p, f);
	}
	putc('"', f);
}

void
tp_data_info_print(FILE *f, const struct tp_data_info *info, const char *file,
                   int json)
{
	const struct tp_ds_header *h = &info->h;
	int64_t K = h->classes;

	if (json) {
		fputs("{\"type\":\"dataset_info\",\"file\":", f);
		json_str(f, file);
		if (h->name) {
			fputs(",\"name\":", f);
			json_str(f, h->name);
		}
		fprintf(f, ",\"count\":%lld,\"features\":%lld,\"classes\":%lld,"
		        "\"scaling\":\"%s\",\"weighted\":%lld,\"weight_sum\":%.17g",
		        (long long)h->count, (long long)h->features, (long long)K,
		        tp_scale_name(h->scaling), (long long)info->weighted,
		        info->weight_sum);
		if (h->count)
			fprintf(f, ",\"x_min\":%.9g,\"x_max\":%.9g", info->xmin,
			        info->xmax);
		if (K > 0) {
			fputs(",\"class_count\":[", f);
			for (int64_t c = 0; c < K; c++)
				fprintf(f, "%s%lld", c ? "," : "",
				        (long long)info->class_count[c]);
			putc(']', f);
		} else if (h->count) {
			fprintf(f, ",\"y_min\":%.9g,\"y_max\":%.9g,\"y_mean\":%.9g",
			        info->ymin, info->ymax, info->ymean);
		}
		fputs("}\n", f);
		return;
	}
	fprintf(f, "file      %s\n", file);
	if (h->name)
		fprintf(f, "name      %s\n", h->name);
	fprintf(f, "count     %lld\n", (long long)h->count);
	fprintf(f, "features  %lld\n", (long long)h->features);
	fprintf(f, "classes   %lld%s\n", (long long)K, K ? "" : " (regression)");
	fprintf(f, "scaling   %s\n", tp_scale_name(h->scaling));
	fprintf(f, "weights   %s\n", info->weighted ? "yes" : "no");
	if (h->count)
		fprintf(f, "x range   [%g, %g]\n", info->xmin, info->xmax);
	if (K == 0) {
		if (h->count)
			fprintf(f, "y         min %g  mean %g  max %g\n", info->ymin,
			        info->ymean, info->ymax);
		return;
	}
	fprintf(f, "class  count  fraction%s\n", h->label_names ? "  name" : "");
	for (int64_t c = 0; c < K; c++) {
		fprintf(f, "%5lld  %5lld  %8.4f", (long long)c,
		        (long long)info->class_count[c],
		        h->count ? (double)info->class_count[c] / (double)h->count : 0.0);
		if (h->label_names)
			fprintf(f, "  %s", h->label_names[c]);
		putc('\n', f);
	}
}

/* ---- synth ---- */

int
tp_synth_kind_parse(const char *s)
{
	static const char *const names[] = {"blobs", "spirals", "mnist", "linear"};

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

int
tp_synth_write(const struct tp_synth_opts *o, const char *path, int flags)
{
	static const int64_t defd[] = {2, 2, 784, 8}, defk[] = {3, 2, 10, 0};
	static const double defnoise[] = {1.0, 0.05, 0.25, 0.1};
	struct tp_ds_header h;
	struct tp_rng r;
	struct tp_dsw *w;
	int64_t D = o->features ? o->features : defd[o->kind];
	int64_t K = o->classes ? o->classes : defk[o->kind];
	double noise = o->noise >= 0 ? o->noise : defnoise[o->kind];
	float *centers, *x;
	int rc = 0;

	if (o->kind == TP_SYNTH_SPIRALS && D != 2) {
		tp_errorf("synth spirals: --features must be 2, not %lld",
		          (long long)D);
		return -1;
	}
	if (o->kind == TP_SYNTH_LINEAR)
		K = 0;
	else if (K < 2) {
		tp_errorf("synth: --classes must be at least 2, not %lld",
		          (long long)K);
		return -1;
	}
	tp_ds_header_init(&h);
	h.features = D;
	h.classes = K;
	h.count = o->count;
	h.name = (char *)o->name;
	tp_rng_seed(&r, tp_seed_derive(o->seed, STREAM_SYNTH));
	/* Class centers, MNIST-like templates or regression weights first,
	 * so that the examples of every size share them. */
	centers = tp_xcalloc((size_t)((K ? K : 1) * D), sizeof *centers);
	x = tp_xcalloc((size_t)D, sizeof *x);
	for (int64_t i = 0; i < (K ? K : 1) * D; i++) {
		if (o->kind == TP_SYNTH_MNIST)
			/* About a fifth of the pixels lit, as in a digit. */
			centers[i] = tp_rng_uniform(&r) < 0.2 ?
			             (float)(0.3 + 0.7 * tp_rng_uniform(&r)) : 0;
		else
			centers[i] = (float)(4.0 * tp_rng_normal(&r) /
			                     (o->kind == TP_SYNTH_LINEAR ? 4 * sqrt((double)D) : 1));
	}
	if (!(w = tp_dsw_open(path, flags, &h))) {
		free(centers);
		free(x);
		return -1;
	}
	for (int64_t i = 0; i < o->count && rc == 0; i++) {
		int64_t c = K ? (int64_t)tp_rng_below(&r, (uint64_t)K) : 0;
		const float *m = centers + c * D;
		double y = (double)c;

		switch (o->kind) {
		case TP_SYNTH_BLOBS:
			for (int64_t j = 0; j < D; j++)
				x[j] = (float)(m[j] + noise * tp_rng_normal(&r));
			break;
		case TP_SYNTH_SPIRALS: {
			double t = tp_rng_uniform(&r);
			double a = 3 * M_PI * t + 2 * M_PI * (double)c / (double)K;

			x[0] = (float)(t * cos(a) + noise * tp_rng_normal(&r));
			x[1] = (float)(t * sin(a) + noise * tp_rng_normal(&r));
			break;
		}
		case TP_SYNTH_MNIST:
			/* Quantized to 1/255 like real pixels, so the file
			 * compresses like an image set, not like noise. */
			for (int64_t j = 0; j < D; j++) {
				double v = m[j] > 0 ? m[j] + noise * tp_rng_normal(&r) : 0;
				v = v < 0 ? 0 : v > 1 ? 1 : v;
				x[j] = (float)(round(v * 255) / 255);
			}
			break;
		case TP_SYNTH_LINEAR:
			y = 0;
			for (int64_t j = 0; j < D; j++) {
				x[j] = (float)tp_rng_normal(&r);
				y += (double)m[j] * x[j];
			}
			y += noise * tp_rng_normal(&r);
			break;
		}
		rc = tp_dsw_put(w, x, y, -1);
	}
	free(centers);
	free(x);
	if (rc < 0) {
		tp_dsw_abort(w);
		return -1;
	}
	return tp_dsw_close(w);
}
