/*
 * study.c: studies and trials (tp-sample).  Scientific values are
 * enumerated as a cartesian product, first parameter slowest; nuisance
 * values come from one unit-cube point per trial index, the same point for
 * every study (common random numbers: two studies differ only in their
 * scientific values, not in the luck of their draws).  Output is
 * trial-major, trial i of every study before trial i+1 of any, so a launcher
 * stopped early has spent the same budget on each study.
 *
 * Bayesian mode reads completed trials, maps their parameters back to unit
 * coordinates (inverse warping: log scales stay log) and asks tp/gp.h for
 * the next points of each study.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/gp.h"
#include "tp/json.h"
#include "tp/record.h"
#include "tp/rng.h"
#include "tp/study.h"
#include "tp/zio.h"

#define STREAM_TRIAL 0x747269616cULL /* "trial": per-trial training seeds */
#define STREAM_BAYES 0x6261796573ULL /* "bayes": tp_bo_propose's seed */
#define CHUNK 1024                   /* points generated at a time */

int
tp_format_parse(const char *s, enum tp_format *out)
{
	static const char *const names[] = {"msgpack", "json", "args", "tsv"};

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum tp_format)i;
			return 0;
		}
	return -1;
}

void
tp_study_opts_init(struct tp_study_opts *o)
{
	memset(o, 0, sizeof *o);
	o->method = TP_QMC_SOBOL;
	o->trials = 16;
	o->count = 16;
	o->format = TP_FMT_MSGPACK;
	o->output = "-";
	o->metric = "error";
	o->split = "valid";
}

/* ---- studies ---- */

static uint64_t
sci_size(const struct tp_param *p)
{
	if (p->type == TP_P_INT)
		return (uint64_t)(p->hi - p->lo) + 1;
	return p->nvalues;
}

uint64_t
tp_study_count(const struct tp_space *sp)
{
	uint64_t n = 1;

	for (size_t i = 0; i < sp->n; i++)
		if (sp->p[i].role == TP_ROLE_SCIENTIFIC) {
			uint64_t k = sci_size(&sp->p[i]);

			n = n > UINT64_MAX / k ? UINT64_MAX : n * k;
		}
	return n;
}

/* Value of scientific parameter p in study k (mixed radix, the first
 * scientific parameter slowest). */
static void
sci_value(const struct tp_space *sp, uint64_t k, size_t pi, struct tp_value *v)
{
	uint64_t rest = k;

	for (size_t i = sp->n; i-- > 0;) {
		const struct tp_param *p = &sp->p[i];
		uint64_t m;

		if (p->role != TP_ROLE_SCIENTIFIC)
			continue;
		m = sci_size(p);
		if (i == pi) {
			if (p->type == TP_P_INT) {
				memset(v, 0, sizeof *v);
				v->kind = TP_VAL_INT;
				v->i = (int64_t)p->lo + (int64_t)(rest % m);
			} else {
				*v = p->values[rest % m];
			}
			return;
		}
		rest /= m;
	}
}

/* Resolve every parameter of study k at unit point u (NULL: only the
 * scientific and fixed ones are meaningful).  active[i] says which exist. */
static void
resolve(const struct tp_space *sp, uint64_t k, const double *u,
        struct tp_value *val, unsigned char *active)
{
	for (size_t i = 0; i < sp->n; i++) {
		const struct tp_param *p = &sp->p[i];

		active[i] = 1;
		if (p->parent >= 0) {
			active[i] = 0;
			if (active[p->parent])
				for (size_t c = 0; c < p->ncond; c++)
					if (tp_value_eq(&val[p->parent], &p->cond[c]))
						active[i] = 1;
		}
		if (!active[i])
			continue;
		switch (p->role) {
		case TP_ROLE_SCIENTIFIC:
			sci_value(sp, k, i, &val[i]);
			break;
		case TP_ROLE_FIXED:
			val[i] = p->values[0];
			break;
		case TP_ROLE_NUISANCE:
			tp_param_from_unit(p, u ? u[p->dim] : 0.5, &val[i]);
			break;
		}
	}
}

/* "study" or "study/opt=adam,bs=128" */
static char *
study_name(const struct tp_space *sp, uint64_t k)
{
	struct tp_jbuf b;
	char num[64];
	int first = 1;

	tp_jbuf_init(&b);
	tp_jbuf_add(&b, sp->study, strlen(sp->study));
	for (size_t i = 0; i < sp->n; i++) {
		struct tp_value v;
		const char *t;

		if (sp->p[i].role != TP_ROLE_SCIENTIFIC)
			continue;
		sci_value(sp, k, i, &v);
		t = tp_value_text(&v, num, sizeof num);
		tp_jbuf_addc(&b, first ? '/' : ',');
		tp_jbuf_add(&b, sp->p[i].name, strlen(sp->p[i].name));
		tp_jbuf_addc(&b, '=');
		tp_jbuf_add(&b, t, strlen(t));
		first = 0;
	}
	tp_jbuf_addc(&b, 0);
	return b.buf;
}

static uint64_t
trial_seed(uint64_t seed, uint64_t trial)
{
	/* 53 bits: exact in JSON readers and within tp-train's int64 range */
	return tp_seed_derive(tp_seed_derive(seed, STREAM_TRIAL), trial) >> 11;
}

/* ---- output ---- */

struct out {
	enum tp_format format;
	struct tp_zout *z;
	struct tp_rb rb;
	struct tp_jbuf line;
};

static void
rb_value(struct tp_rb *b, const char *key, const struct tp_value *v)
{
	switch (v->kind) {
	case TP_VAL_INT: tp_rb_i64(b, key, v->i); break;
	case TP_VAL_FLOAT: tp_rb_f64(b, key, v->f); break;
	case TP_VAL_BOOL: tp_rb_bool(b, key, (int)v->i); break;
	case TP_VAL_STR: tp_rb_str(b, key, v->s); break;
	}
}

/* Single quotes unless every byte is safe for sh. */
static void
add_shell(struct tp_jbuf *o, const char *s)
{
	const char *safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                   "0123456789_@%+=:,./-";

	if (*s && strspn(s, safe) == strlen(s)) {
		tp_jbuf_add(o, s, strlen(s));
		return;
	}
	tp_jbuf_addc(o, '\'');
	for (; *s; s++)
		if (*s == '\'')
			tp_jbuf_add(o, "'\\''", 4);
		else
			tp_jbuf_addc(o, *s);
	tp_jbuf_addc(o, '\'');
}

static void
add_tsv(struct tp_jbuf *o, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '\t': tp_jbuf_add(o, "\\t", 2); break;
		case '\n': tp_jbuf_add(o, "\\n", 2); break;
		case '\r': tp_jbuf_add(o, "\\r", 2); break;
		case '\\': tp_jbuf_add(o, "\\\\", 2); break;
		default: tp_jbuf_addc(o, *s);
		}
}

static int
out_open(struct out *o, const struct tp_space *sp, const struct tp_study_opts *opt)
{
	memset(o, 0, sizeof *o);
	o->format = opt->format;
	tp_rb_init(&o->rb);
	tp_jbuf_init(&o->line);
	o->z = tp_zout_open(opt->output, TP_ZOUT_AUTO, 0);
	if (!o->z)
		return -1;
	if (o->format == TP_FMT_TSV) {
		tp_jbuf_add(&o->line, "study\ttrial\tseed", 16);
		for (size_t i = 0; i < sp->n; i++) {
			tp_jbuf_addc(&o->line, '\t');
			add_tsv(&o->line, sp->p[i].name);
		}
		tp_jbuf_addc(&o->line, '\n');
		if (tp_zout_write(o->z, o->line.buf, o->line.len))
			return -1;
	}
	return 0;
}

static int
out_trial(struct out *o, const struct tp_space *sp, const char *study,
          uint64_t trial, uint64_t seed, const struct tp_value *val,
          const unsigned char *active)
{
	char num[64];
	const void *bytes;
	size_t len;

	o->line.len = 0;
	switch (o->format) {
	case TP_FMT_MSGPACK:
	case TP_FMT_JSON:
		tp_rb_begin(&o->rb, "trial");
		tp_rb_str(&o->rb, "study", study);
		tp_rb_u64(&o->rb, "trial", trial);
		tp_rb_map_begin(&o->rb, "scientific");
		for (size_t i = 0; i < sp->n; i++)
			if (sp->p[i].role == TP_ROLE_SCIENTIFIC)
				rb_value(&o->rb, sp->p[i].name, &val[i]);
		tp_rb_map_end(&o->rb);
		tp_rb_map_begin(&o->rb, "params");
		for (size_t i = 0; i < sp->n; i++)
			if (active[i])
				rb_value(&o->rb, sp->p[i].name, &val[i]);
		tp_rb_map_end(&o->rb);
		tp_rb_u64(&o->rb, "seed", seed);
		bytes = tp_rb_finish(&o->rb, &len);
		if (o->format == TP_FMT_MSGPACK)
			return tp_zout_write(o->z, bytes, len);
		{
			/* the JSON printer works on decoded values: one code
			 * path for every tool's JSON */
			struct tp_rd *rd = tp_rd_mem(bytes, len, "trial");
			const struct tp_val *rec;
			int rc = -1;

			if (rd && tp_rd_next(rd, &rec) == 1) {
				tp_json_value(&o->line, rec, TP_JSON_BIN_BASE64);
				tp_jbuf_addc(&o->line, '\n');
				rc = 0;
			}
			tp_rd_close(rd);
			if (rc)
				return -1;
		}
		break;
	case TP_FMT_ARGS: {
		int first = 1, has_seed = 0;

		for (size_t i = 0; i < sp->n; i++) {
			if (!active[i])
				continue;
			has_seed |= !strcmp(sp->p[i].name, "seed");
			if (!first)
				tp_jbuf_addc(&o->line, ' ');
			tp_jbuf_add(&o->line, "--", 2);
			tp_jbuf_add(&o->line, sp->p[i].name, strlen(sp->p[i].name));
			tp_jbuf_addc(&o->line, '=');
			add_shell(&o->line, tp_value_text(&val[i], num, sizeof num));
			first = 0;
		}
		if (!has_seed) {
			snprintf(num, sizeof num, "%s--seed=%llu", first ? "" : " ",
			         (unsigned long long)seed);
			tp_jbuf_add(&o->line, num, strlen(num));
		}
		tp_jbuf_addc(&o->line, '\n');
		break;
	}
	case TP_FMT_TSV:
		add_tsv(&o->line, study);
		snprintf(num, sizeof num, "\t%llu\t%llu", (unsigned long long)trial,
		         (unsigned long long)seed);
		tp_jbuf_add(&o->line, num, strlen(num));
		for (size_t i = 0; i < sp->n; i++) {
			tp_jbuf_addc(&o->line, '\t');
			if (active[i])
				add_tsv(&o->line, tp_value_text(&val[i], num, sizeof num));
		}
		tp_jbuf_addc(&o->line, '\n');
		break;
	}
	return tp_zout_write(o->z, o->line.buf, o->line.len);
}

static int
out_close(struct out *o, int ok)
{
	int rc = 0;

	if (o->z) {
		if (ok)
			rc = tp_zout_close(o->z);
		else
			tp_zout_abort(o->z);
	}
	tp_rb_release(&o->rb);
	tp_jbuf_release(&o->line);
	return ok ? rc : -1;
}

/* ---- quasi-random, random, grid ---- */

/* Axis sizes of the grid: finite sets take their size; the m float and int
 * axes share the budget, g per axis with g^m * (finite sizes) <= trials. */
static void
grid_levels(const struct tp_space *sp, uint64_t trials, int *levels)
{
	double fin = 1;
	int m = 0;
	uint64_t g = 1;

	for (size_t i = 0; i < sp->n; i++) {
		const struct tp_param *p = &sp->p[i];

		if (p->role != TP_ROLE_NUISANCE)
			continue;
		if (tp_param_levels(p))
			fin *= tp_param_levels(p);
		else
			m++;
	}
	if (m > 0)
		while (pow((double)(g + 1), m) * fin <= (double)trials + 0.5)
			g++;
	for (size_t i = 0; i < sp->n; i++) {
		const struct tp_param *p = &sp->p[i];
		int l;

		if (p->role != TP_ROLE_NUISANCE)
			continue;
		l = tp_param_levels(p);
		if (!l) {
			l = (int)(g > 1000000 ? 1000000 : g);
			if (p->type == TP_P_INT && p->hi - p->lo + 1 < l)
				l = (int)(p->hi - p->lo + 1);
		}
		levels[p->dim] = l;
	}
}

static int
emit_range(const struct tp_space *sp, const struct tp_study_opts *o,
           struct out *out, const struct tp_qmc *q, uint64_t start,
           uint64_t count)
{
	uint64_t nstudy = tp_study_count(sp);
	int d = sp->ndim;
	double *u = tp_xmallocarray((size_t)CHUNK * (size_t)(d ? d : 1), sizeof *u);
	struct tp_value *val = tp_xcalloc(sp->n, sizeof *val);
	unsigned char *active = tp_xcalloc(sp->n, 1);
	char **names = tp_xcalloc(nstudy, sizeof *names);
	int rc = 0;

	for (uint64_t k = 0; k < nstudy; k++)
		names[k] = study_name(sp, k);
	for (uint64_t t = 0; t < count && rc == 0; t += CHUNK) {
		size_t n = count - t < CHUNK ? (size_t)(count - t) : CHUNK;

		if (q)
			tp_qmc_fill(q, start + t, n, u);
		for (size_t r = 0; r < n && rc == 0; r++) {
			uint64_t trial = start + t + r;

			for (uint64_t k = 0; k < nstudy && rc == 0; k++) {
				resolve(sp, k, q ? u + r * (size_t)d : NULL, val, active);
				rc = out_trial(out, sp, names[k], trial,
				               trial_seed(o->seed, trial), val, active);
			}
		}
	}
	for (uint64_t k = 0; k < nstudy; k++)
		free(names[k]);
	free(names);
	free(active);
	free(val);
	free(u);
	return rc;
}

/* ---- history (Bayesian mode) ---- */

struct done {
	char *study;       /* or NULL: the record named none */
	int64_t trial;
	double *u;         /* [ndim], inactive: 0.5 */
	unsigned char *on; /* [ndim] active */
	double y;          /* to minimize */
	int feasible;
};

struct history {
	struct done *d;
	size_t n, cap;
	int64_t max_trial; /* -1: none */
};

/* A decoded scalar as a space value (strings borrowed from the record). */
static int
val_from(const struct tp_val *v, struct tp_value *out)
{
	memset(out, 0, sizeof *out);
	switch (tp_val_type(v)) {
	case TP_V_INT:
		out->kind = TP_VAL_INT;
		return tp_val_i64(v, &out->i);
	case TP_V_FLOAT:
		out->kind = TP_VAL_FLOAT;
		return tp_val_f64(v, &out->f);
	case TP_V_BOOL: {
		int b;

		out->kind = TP_VAL_BOOL;
		if (tp_val_bool(v, &b))
			return -1;
		out->i = b;
		return 0;
	}
	default:
		return -1;
	}
}

/* Map a params map into unit coordinates; 0, or -1 with *why set when the
 * point is outside the space. */
static int
to_unit(const struct tp_space *sp, const struct tp_val *params, double *u,
        unsigned char *on, char *why, size_t whysize)
{
	struct tp_value *val = tp_xcalloc(sp->n, sizeof *val);
	unsigned char *active = tp_xcalloc(sp->n, 1);
	char **strs = tp_xcalloc(sp->n, sizeof *strs);
	int rc = 0;

	for (size_t i = 0; i < sp->n && rc == 0; i++) {
		const struct tp_param *p = &sp->p[i];
		const struct tp_val *v = tp_val_get(params, p->name);

		active[i] = 1;
		if (p->parent >= 0) {
			active[i] = 0;
			if (active[p->parent])
				for (size_t c = 0; c < p->ncond; c++)
					if (tp_value_eq(&val[p->parent], &p->cond[c]))
						active[i] = 1;
		}
		if (p->dim >= 0) {
			u[p->dim] = 0.5;
			on[p->dim] = active[i];
		}
		if (!active[i])
			continue;
		if (!v) {
			snprintf(why, whysize, "no value for '%s'", p->name);
			rc = -1;
			break;
		}
		if (tp_val_type(v) == TP_V_STR) {
			strs[i] = tp_val_strdup(v);
			val[i].kind = TP_VAL_STR;
			val[i].s = strs[i];
		} else if (val_from(v, &val[i])) {
			snprintf(why, whysize, "'%s' is not a scalar", p->name);
			rc = -1;
			break;
		}
		if (p->dim >= 0) {
			double x = tp_param_to_unit(p, &val[i]);

			if (x < 0) {
				char num[64];

				snprintf(why, whysize, "%s=%s is outside the space", p->name,
				         tp_value_text(&val[i], num, sizeof num));
				rc = -1;
			}
			u[p->dim] = x;
		}
	}
	for (size_t i = 0; i < sp->n; i++)
		free(strs[i]);
	free(strs);
	free(active);
	free(val);
	return rc;
}

struct pending {
	int open;          /* a config record was seen */
	char *study;
	int64_t trial;
	int has_params;
	double *u;
	unsigned char *on;
	double best;       /* best objective so far (to minimize) */
	int seen, diverged;
	char where[256];
};

static void
add_done(struct history *h, const struct tp_space *sp, char *study,
         int64_t trial, const double *u, const unsigned char *on, double y,
         int feasible)
{
	struct done *e;
	size_t d = (size_t)sp->ndim;

	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->d = tp_xrealloc(h->d, h->cap * sizeof *h->d);
	}
	e = &h->d[h->n++];
	e->study = study;
	e->trial = trial;
	e->u = tp_xmallocarray(d ? d : 1, sizeof *e->u);
	e->on = tp_xcalloc(d ? d : 1, 1);
	memcpy(e->u, u, d * sizeof *u);
	memcpy(e->on, on, d);
	e->y = y;
	e->feasible = feasible;
}

static void
finish_pending(struct history *h, const struct tp_space *sp,
               const struct tp_study_opts *o, struct pending *pd)
{
	if (!pd->open)
		return;
	if (pd->has_params && (pd->seen || pd->diverged)) {
		add_done(h, sp, pd->study, pd->trial, pd->u, pd->on,
		         pd->diverged ? NAN : pd->best, !pd->diverged);
		pd->study = NULL;
	} else if (pd->has_params && !o->quiet) {
		tp_warnf("%s: no \"%s\" on split \"%s\" yet: run left out", pd->where,
		         o->metric, o->split);
	}
	free(pd->study);
	pd->study = NULL;
	pd->open = 0;
}

static int
read_history(struct history *h, const struct tp_space *sp,
             const struct tp_study_opts *o, const char *path)
{
	struct tp_rd *rd = tp_rd_open(path);
	struct pending pd;
	const struct tp_val *rec;
	size_t d = (size_t)sp->ndim;
	int got;

	if (!rd)
		return -1;
	memset(&pd, 0, sizeof pd);
	pd.u = tp_xmallocarray(d ? d : 1, sizeof *pd.u);
	pd.on = tp_xcalloc(d ? d : 1, 1);
	while ((got = tp_rd_next(rd, &rec)) == 1) {
		const struct tp_val *type = tp_val_get(rec, "type");
		const struct tp_val *params = tp_val_get(rec, "params");
		int64_t trial = -1;
		char why[256];

		/* indices beyond 2^53 are not ours (and would overflow) */
		if (tp_val_get(rec, "trial") &&
		    tp_val_i64(tp_val_get(rec, "trial"), &trial) == 0 &&
		    trial >= 0 && trial < (INT64_C(1) << 53) && trial > h->max_trial)
			h->max_trial = trial;
		if (tp_val_streq(type, "trial"))
			continue; /* launched, maybe not finished: numbering only */
		if (tp_val_streq(type, "config") || tp_val_streq(type, "result")) {
			finish_pending(h, sp, o, &pd);
			if (!params || tp_val_type(params) != TP_V_MAP) {
				tp_rd_errorf(rd, "%s record without a \"params\" map",
				             tp_val_streq(type, "config") ? "config" : "result");
				got = -1;
				break;
			}
			snprintf(pd.where, sizeof pd.where, "%s: byte %llu", tp_rd_name(rd),
			         (unsigned long long)tp_rd_offset(rd));
			pd.open = 1;
			pd.study = tp_val_strdup(tp_val_get(rec, "study"));
			pd.trial = trial;
			pd.seen = pd.diverged = 0;
			pd.best = INFINITY;
			pd.has_params = to_unit(sp, params, pd.u, pd.on, why, sizeof why) == 0;
			if (!pd.has_params && !o->quiet)
				tp_warnf("%s: %s: trial left out", pd.where, why);
			if (tp_val_streq(type, "result")) {
				const struct tp_val *obj = tp_val_get(rec, "objective");
				int div = 0;
				double y;

				if (tp_val_get(rec, "diverged"))
					(void)tp_val_bool(tp_val_get(rec, "diverged"), &div);
				if (!div && (!obj || tp_val_f64(obj, &y))) {
					tp_rd_errorf(rd, "result record without a numeric \"objective\"");
					pd.open = 0;
					got = -1;
					break;
				}
				if (div || !isfinite(y)) {
					pd.diverged = 1;
				} else {
					pd.seen = 1;
					pd.best = o->maximize ? -y : y;
				}
				finish_pending(h, sp, o, &pd);
			}
			continue;
		}
		if (!pd.open)
			continue;
		if (tp_val_streq(type, "diverged")) {
			pd.diverged = 1;
		} else if (tp_val_streq(type, "eval")) {
			const struct tp_val *split = tp_val_get(rec, "split");
			const struct tp_val *m = tp_val_get(rec, o->metric);
			double y;

			if (split ? !tp_val_streq(split, o->split) : strcmp(o->split, "valid"))
				continue;
			if (!m || tp_val_f64(m, &y))
				continue;
			if (!isfinite(y)) {
				pd.diverged = 1;
				continue;
			}
			y = o->maximize ? -y : y;
			if (y < pd.best)
				pd.best = y;
			pd.seen = 1;
		}
	}
	if (got == 0)
		finish_pending(h, sp, o, &pd);
	free(pd.study);
	free(pd.u);
	free(pd.on);
	tp_rd_close(rd);
	return got < 0 ? -1 : 0;
}

static void
history_release(struct history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->d[i].study);
		free(h->d[i].u);
		free(h->d[i].on);
	}
	free(h->d);
}

/* Whether nuisance parameter i can be active in study k: its condition
 * chain is evaluated where it depends on scientific and fixed values only. */
static int
maybe_active(const struct tp_space *sp, uint64_t k, size_t i)
{
	const struct tp_param *p = &sp->p[i], *q;
	struct tp_value v;
	int hit = 0;

	if (p->parent < 0)
		return 1;
	q = &sp->p[p->parent];
	if (!maybe_active(sp, k, (size_t)p->parent))
		return 0;
	if (q->role == TP_ROLE_NUISANCE)
		return 1;
	if (q->role == TP_ROLE_FIXED)
		v = q->values[0];
	else
		sci_value(sp, k, (size_t)p->parent, &v);
	for (size_t c = 0; c < p->ncond; c++)
		hit |= tp_value_eq(&v, &p->cond[c]);
	return hit;
}

static int
propose_study(const struct tp_space *sp, const struct tp_study_opts *o,
              struct out *out, const struct history *h, uint64_t k,
              const char *name, int only_study)
{
	int nd = 0, rc = 0, q = (int)o->count;
	int *map = tp_xmallocarray((size_t)sp->ndim + 1, sizeof *map);
	struct tp_gp_dim *dims = tp_xcalloc((size_t)sp->ndim + 1, sizeof *dims);
	double *X = NULL, *y = NULL, *prop, *u;
	int *feas = NULL, n = 0;
	struct tp_value *val = tp_xcalloc(sp->n, sizeof *val);
	unsigned char *active = tp_xcalloc(sp->n, 1);
	int64_t next = h->max_trial + 1;

	/* The GP sees only the dimensions that can matter in this study:
	 * parameters switched off by its scientific values are left out, so
	 * two proposals never differ in a coordinate that changes nothing. */
	for (size_t i = 0; i < sp->n; i++) {
		const struct tp_param *p = &sp->p[i];

		if (p->dim < 0 || !maybe_active(sp, k, i))
			continue;
		map[nd] = p->dim;
		dims[nd].levels = p->type == TP_P_CHOICE && p->nvalues >= 2
		                      ? (int)p->nvalues : 0;
		nd++;
	}
	if (nd > 0) {
		X = tp_xmallocarray(h->n ? h->n : 1, (size_t)nd * sizeof *X);
		y = tp_xmallocarray(h->n ? h->n : 1, sizeof *y);
		feas = tp_xmallocarray(h->n ? h->n : 1, sizeof *feas);
		for (size_t i = 0; i < h->n; i++) {
			const struct done *e = &h->d[i];

			if (e->study ? strcmp(e->study, name) : !only_study)
				continue;
			for (int j = 0; j < nd; j++) {
				double c = e->u[map[j]];

				if (dims[j].levels)
					/* level index; an inactive choice is level 0 */
					c = e->on[map[j]] ? floor(c * dims[j].levels) : 0;
				else if (!e->on[map[j]])
					c = 0.5;
				X[(size_t)n * (size_t)nd + (size_t)j] = c;
			}
			y[n] = e->y;
			feas[n] = e->feasible;
			n++;
		}
	}
	prop = tp_xmallocarray((size_t)q, (size_t)(nd ? nd : 1) * sizeof *prop);
	u = tp_xmallocarray((size_t)sp->ndim + 1, sizeof *u);
	if (nd > 0 &&
	    tp_bo_propose(nd, dims, n, X, y, feas, q,
	                  tp_seed_derive(tp_seed_derive(o->seed, STREAM_BAYES), k),
	                  prop)) {
		rc = -1;
		goto out;
	}
	for (int t = 0; t < q && rc == 0; t++) {
		for (int j = 0; j < sp->ndim; j++)
			u[j] = 0.5;
		for (int j = 0; j < nd; j++) {
			double c = prop[(size_t)t * (size_t)nd + (size_t)j];

			u[map[j]] = dims[j].levels ? (c + 0.5) / dims[j].levels : c;
		}
		resolve(sp, k, u, val, active);
		rc = out_trial(out, sp, name, (uint64_t)(next + t),
		               trial_seed(o->seed, (uint64_t)(next + t)), val, active);
	}
out:
	free(u);
	free(prop);
	free(X);
	free(y);
	free(feas);
	free(val);
	free(active);
	free(dims);
	free(map);
	return rc;
}

static int
run_bayes(const struct tp_space *sp, const struct tp_study_opts *o, struct out *out)
{
	struct history h = {NULL, 0, 0, -1};
	uint64_t nstudy = tp_study_count(sp);
	int rc = 0;

	for (int i = 0; i < o->nhistory && rc == 0; i++)
		rc = read_history(&h, sp, o, o->history[i]);
	for (uint64_t k = 0; k < nstudy && rc == 0; k++) {
		char *name = study_name(sp, k);

		rc = propose_study(sp, o, out, &h, k, name, nstudy == 1);
		free(name);
	}
	history_release(&h);
	return rc;
}

int
tp_study_run(const struct tp_space *sp, const struct tp_study_opts *o, int *usage)
{
	struct out out;
	struct tp_qmc *q = NULL;
	uint64_t count = o->count;
	int rc;

	*usage = 0;
	if (tp_study_count(sp) > 1000000) {
		tp_errorf("%s: %llu studies: the scientific parameters allow at most "
		          "1000000", sp->file, (unsigned long long)tp_study_count(sp));
		*usage = 1;
		return -1;
	}
	if (!o->bayes && sp->ndim > 0) {
		int *levels = tp_xcalloc((size_t)sp->ndim, sizeof *levels);

		grid_levels(sp, o->trials, levels);
		q = tp_qmc_new(o->method, sp->ndim, levels, o->seed, 0);
		free(levels);
		if (!q) {
			*usage = 1;
			return -1;
		}
		if (o->start >= tp_qmc_size(q) ? count > 0 : count > tp_qmc_size(q) - o->start) {
			if (o->method != TP_QMC_GRID) {
				tp_errorf("--start %llu --count %llu: beyond the %llu points "
				          "of the sequence", (unsigned long long)o->start,
				          (unsigned long long)count,
				          (unsigned long long)tp_qmc_size(q));
				tp_qmc_free(q);
				*usage = 1;
				return -1;
			}
			/* a grid ends: print what it has */
			count = o->start >= tp_qmc_size(q) ? 0 : tp_qmc_size(q) - o->start;
			if (!o->quiet)
				tp_warnf("the grid has %llu points: printing %llu trials per study",
				         (unsigned long long)tp_qmc_size(q),
				         (unsigned long long)count);
		}
	}
	if (out_open(&out, sp, o)) {
		tp_qmc_free(q);
		return out_close(&out, 0);
	}
	if (o->bayes && sp->ndim > 0)
		rc = run_bayes(sp, o, &out);
	else
		rc = emit_range(sp, o, &out, q, o->start, count);
	tp_qmc_free(q);
	return out_close(&out, rc == 0);
}

int
tp_study_describe(const struct tp_space *sp, const struct tp_study_opts *o, FILE *f)
{
	uint64_t n = tp_study_count(sp);

	tp_space_print(sp, f);
	fprintf(f, "# method %s, seed %llu, %llu trials per study, ",
	        o->bayes ? "bayes" : tp_qmc_kind_name(o->method),
	        (unsigned long long)o->seed, (unsigned long long)o->trials);
	if (o->bayes)
		fprintf(f, "%llu proposals after the history\n",
		        (unsigned long long)o->count);
	else if (o->count == 0)
		fprintf(f, "printing none\n");
	else
		fprintf(f, "printing trials %llu..%llu\n", (unsigned long long)o->start,
		        (unsigned long long)(o->start + o->count - 1));
	if (!o->bayes && o->method == TP_QMC_GRID && sp->ndim > 0) {
		int *levels = tp_xcalloc((size_t)sp->ndim, sizeof *levels);
		uint64_t size = 1;

		grid_levels(sp, o->trials, levels);
		fprintf(f, "# grid");
		for (int j = 0; j < sp->ndim; j++) {
			fprintf(f, "%s%d", j ? " x " : " ", levels[j]);
			size *= (uint64_t)levels[j];
		}
		fprintf(f, " = %llu points\n", (unsigned long long)size);
		free(levels);
	}
	fprintf(f, "# %llu nuisance dimensions, %llu %s, %llu trials\n",
	        (unsigned long long)sp->ndim, (unsigned long long)n,
	        n == 1 ? "study" : "studies", (unsigned long long)(n * o->count));
	for (uint64_t k = 0; k < n && k < 1000; k++) {
		char *name = study_name(sp, k);

		fprintf(f, "# study %s\n", name);
		free(name);
	}
	if (n > 1000)
		fprintf(f, "# ... %llu more\n", (unsigned long long)(n - 1000));
	return 0;
}
