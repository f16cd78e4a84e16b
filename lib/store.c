/*
 * store.c: tp-track's store.  Every ingest becomes one immutable object
 * named by the SHA-256 of its bytes (see store.h for the layout and what it
 * assumes of the filesystem); reading lists the objects, takes what the
 * index already summarises and parses only the new ones, so a table over
 * ten thousand trials costs one sequential read of the index.
 *
 * Each object is boiled down to "facts": study registrations and, per
 * (study, trial), partial trial summaries (parameters, min/max/last of every
 * metric with their steps, checkpoints, divergence).  Partial summaries of
 * the same trial from different objects merge associatively, so a trial
 * record from tp-sample, a metrics stream from tp-train and results from
 * tp-eval add up to one trial whatever order they arrive in.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tp/atomic.h"
#include "tp/record.h"
#include "tp/sha256.h"
#include "tp/space.h"
#include "tp/store.h"
#include "tp/table.h"
#include "tp/zio.h"

#define MARKER "tp-track store 1\n"
/* Bumped whenever the summaries change: an older index is rebuilt. */
#define INDEX_VERSION 2

/* qsort with a NULL base is undefined even for zero elements. */
static void
xsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* ---- small helpers ---- */

static char *
xdup(const char *s)
{
	return s ? tp_xstrdup(s) : NULL;
}

static char *
path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = tp_xmalloc(n);

	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static char *
obj_path(const char *dir, const char *id)
{
	size_t n = strlen(dir) + strlen(id) + 16;
	char *p = tp_xmalloc(n);

	snprintf(p, n, "%s/objects/%s.tpr", dir, id);
	return p;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_hex_name(const char *s)
{
	size_t n = strlen(s);

	if (n != 64 + 4 || strcmp(s + 64, ".tpr") != 0)
		return 0;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Growable array: *p with *n used and *cap allocated, elements of size sz. */
static void *
grow(void *p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return p;
	*cap = *cap ? *cap * 2 : 8;
	if (*cap < need)
		*cap = need;
	return tp_xrealloc(p, *cap * sz);
}

/* ---- trials: free, merge ---- */

static void
study_free(struct tp_study *st)
{
	free(st->name), free(st->config), free(st->config_sha256);
	free(st->notes), free(st->command), free(st->goal);
}

static void
trial_free(struct tp_trial *t)
{
	free(t->study), free(t->run_dir), free(t->command), free(t->train);
	free(t->diverged_reason);
	for (size_t i = 0; i < t->nparams; i++)
		free(t->params[i].key), free(t->params[i].str);
	free(t->params);
	for (size_t i = 0; i < t->nsums; i++)
		free(t->sums[i].split), free(t->sums[i].name);
	free(t->sums);
	for (size_t i = 0; i < t->nckpts; i++)
		free(t->ckpts[i].path);
	free(t->ckpts);
	for (size_t i = 0; i < t->nobjects; i++)
		free(t->objects[i]);
	free(t->objects);
}

static struct tp_tparam *
param_slot(struct tp_trial *t, const char *key)
{
	for (size_t i = 0; i < t->nparams; i++)
		if (strcmp(t->params[i].key, key) == 0)
			return &t->params[i];
	t->params = tp_xrealloc(t->params, (t->nparams + 1) * sizeof *t->params);
	memset(&t->params[t->nparams], 0, sizeof *t->params);
	t->params[t->nparams].key = tp_xstrdup(key);
	return &t->params[t->nparams++];
}

static struct tp_msum *
sum_slot(struct tp_trial *t, const char *split, const char *name)
{
	struct tp_msum *m;

	for (size_t i = 0; i < t->nsums; i++)
		if (strcmp(t->sums[i].name, name) == 0 &&
		    strcmp(t->sums[i].split, split) == 0)
			return &t->sums[i];
	t->sums = tp_xrealloc(t->sums, (t->nsums + 1) * sizeof *t->sums);
	m = &t->sums[t->nsums++];
	memset(m, 0, sizeof *m);
	m->split = tp_xstrdup(split);
	m->name = tp_xstrdup(name);
	m->last_step = -1;
	return m;
}

static void
sum_add(struct tp_msum *m, int64_t step, double v)
{
	if (!isfinite(v))
		return;
	if (m->n == 0 || v < m->min || (v == m->min && step < m->min_step))
		m->min = v, m->min_step = step;
	if (m->n == 0 || v > m->max || (v == m->max && step < m->max_step))
		m->max = v, m->max_step = step;
	if (m->n == 0 || step >= m->last_step)
		m->last = v, m->last_step = step;
	m->n++;
}

static void
sum_merge(struct tp_msum *m, const struct tp_msum *o)
{
	if (o->n == 0)
		return;
	if (m->n == 0) {
		m->min = o->min, m->min_step = o->min_step;
		m->max = o->max, m->max_step = o->max_step;
		m->last = o->last, m->last_step = o->last_step;
		m->n = o->n;
		return;
	}
	if (o->min < m->min || (o->min == m->min && o->min_step < m->min_step))
		m->min = o->min, m->min_step = o->min_step;
	if (o->max > m->max || (o->max == m->max && o->max_step < m->max_step))
		m->max = o->max, m->max_step = o->max_step;
	if (o->last_step >= m->last_step)
		m->last = o->last, m->last_step = o->last_step;
	m->n += o->n;
}

static void
ckpt_add(struct tp_trial *t, int64_t step, const char *path)
{
	size_t i = t->nckpts;

	/* Kept sorted; checkpoints arrive in step order, so this is a scan
	 * from the end that usually stops at once. */
	while (i > 0 && t->ckpts[i - 1].step > step)
		i--;
	if (i > 0 && t->ckpts[i - 1].step == step) {
		free(t->ckpts[i - 1].path);
		t->ckpts[i - 1].path = tp_xstrdup(path);
		return;
	}
	t->ckpts = tp_xrealloc(t->ckpts, (t->nckpts + 1) * sizeof *t->ckpts);
	memmove(&t->ckpts[i + 1], &t->ckpts[i], (t->nckpts - i) * sizeof *t->ckpts);
	t->ckpts[i].step = step;
	t->ckpts[i].path = tp_xstrdup(path);
	t->nckpts++;
}

static void
obj_add(struct tp_trial *t, const char *id)
{
	for (size_t i = 0; i < t->nobjects; i++)
		if (strcmp(t->objects[i], id) == 0)
			return;
	t->objects = tp_xrealloc(t->objects, (t->nobjects + 1) * sizeof *t->objects);
	t->objects[t->nobjects++] = tp_xstrdup(id);
}

static void
set_str(char **dst, const char *s)
{
	if (s && !*dst)
		*dst = tp_xstrdup(s);
}

/* Fold o into t (same study and id). */
static void
trial_merge(struct tp_trial *t, const struct tp_trial *o)
{
	if (o->has_seed && !t->has_seed)
		t->has_seed = 1, t->seed = o->seed;
	set_str(&t->run_dir, o->run_dir);
	set_str(&t->command, o->command);
	set_str(&t->train, o->train);
	if (o->train_count >= 0)
		t->train_count = o->train_count;
	for (size_t i = 0; i < o->nparams; i++) {
		struct tp_tparam *p = param_slot(t, o->params[i].key);
		int sci = p->scientific || o->params[i].scientific;
		free(p->str);
		p->type = o->params[i].type;
		p->num = o->params[i].num;
		p->str = xdup(o->params[i].str);
		p->scientific = sci;
	}
	if (o->diverged && (!t->diverged || o->diverged_step < t->diverged_step)) {
		t->diverged = 1;
		t->diverged_step = o->diverged_step;
		free(t->diverged_reason);
		t->diverged_reason = xdup(o->diverged_reason);
	}
	if (o->steps > t->steps)
		t->steps = o->steps;
	for (size_t i = 0; i < o->nsums; i++)
		sum_merge(sum_slot(t, o->sums[i].split, o->sums[i].name), &o->sums[i]);
	for (size_t i = 0; i < o->nckpts; i++)
		ckpt_add(t, o->ckpts[i].step, o->ckpts[i].path);
	for (size_t i = 0; i < o->nobjects; i++)
		obj_add(t, o->objects[i]);
}

/* ---- a hash table of trials keyed by (study, id) ---- */

struct tmap {
	struct tp_trial *v;
	size_t n, cap;
	size_t *slot; /* index + 1, 0 empty */
	size_t nslot;
};

static uint64_t
key_hash(const char *study, int64_t id)
{
	uint64_t h = 1469598103934665603u;

	for (const unsigned char *p = (const unsigned char *)study; *p; p++)
		h = (h ^ *p) * 1099511628211u;
	h ^= (uint64_t)id * 0x9e3779b97f4a7c15u;
	h ^= h >> 29;
	return h * 0xbf58476d1ce4e5b9u;
}

static void
tmap_rehash(struct tmap *m)
{
	size_t ns = m->nslot ? m->nslot * 2 : 64;

	free(m->slot);
	m->slot = tp_xcalloc(ns, sizeof *m->slot);
	m->nslot = ns;
	for (size_t i = 0; i < m->n; i++) {
		size_t h = key_hash(m->v[i].study, m->v[i].id) & (ns - 1);
		while (m->slot[h])
			h = (h + 1) & (ns - 1);
		m->slot[h] = i + 1;
	}
}

static struct tp_trial *
tmap_get(struct tmap *m, const char *study, int64_t id)
{
	size_t h;

	if (2 * (m->n + 1) > m->nslot)
		tmap_rehash(m);
	h = key_hash(study, id) & (m->nslot - 1);
	while (m->slot[h]) {
		struct tp_trial *t = &m->v[m->slot[h] - 1];
		if (t->id == id && strcmp(t->study, study) == 0)
			return t;
		h = (h + 1) & (m->nslot - 1);
	}
	m->v = grow(m->v, &m->cap, m->n + 1, sizeof *m->v);
	memset(&m->v[m->n], 0, sizeof *m->v);
	m->v[m->n].study = tp_xstrdup(study);
	m->v[m->n].id = id;
	m->v[m->n].steps = -1;
	m->v[m->n].train_count = -1;
	m->slot[h] = ++m->n;
	return &m->v[m->n - 1];
}

static void
tmap_free(struct tmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		trial_free(&m->v[i]);
	free(m->v);
	free(m->slot);
	memset(m, 0, sizeof *m);
}

/* ---- parsing one stream into facts ---- */

struct facts {
	char *id;
	int64_t size; /* of the object file: a changed size means re-parse */
	struct tp_study *studies;
	size_t nstudies;
	struct tmap trials;
};

static void
facts_free(struct facts *f)
{
	free(f->id);
	for (size_t i = 0; i < f->nstudies; i++)
		study_free(&f->studies[i]);
	free(f->studies);
	tmap_free(&f->trials);
}

/* Collecting the points of one trial, for tp_store_series. */
struct sink {
	const char *study;
	int64_t id;
	struct tp_series *se;
	size_t *caps; /* capacity of each curve */
	size_t capcurves;
};

static struct tp_curve *
sink_curve(struct sink *k, const char *split, const char *name)
{
	struct tp_series *se = k->se;

	for (size_t i = 0; i < se->ncurves; i++)
		if (strcmp(se->curves[i].name, name) == 0 &&
		    strcmp(se->curves[i].split, split) == 0)
			return &se->curves[i];
	if (se->ncurves == k->capcurves) {
		k->capcurves = k->capcurves ? 2 * k->capcurves : 8;
		se->curves = tp_xrealloc(se->curves, k->capcurves * sizeof *se->curves);
		k->caps = tp_xrealloc(k->caps, k->capcurves * sizeof *k->caps);
	}
	memset(&se->curves[se->ncurves], 0, sizeof *se->curves);
	se->curves[se->ncurves].split = tp_xstrdup(split);
	se->curves[se->ncurves].name = tp_xstrdup(name);
	k->caps[se->ncurves] = 0;
	return &se->curves[se->ncurves++];
}

static void
sink_add(struct sink *k, const char *split, const char *name, int64_t step,
         double v)
{
	struct tp_curve *c = sink_curve(k, split, name);
	size_t ci = (size_t)(c - k->se->curves);

	if (c->n == k->caps[ci]) {
		k->caps[ci] = k->caps[ci] ? 2 * k->caps[ci] : 64;
		c->step = tp_xrealloc(c->step, k->caps[ci] * sizeof *c->step);
		c->val = tp_xrealloc(c->val, k->caps[ci] * sizeof *c->val);
	}
	c->step[c->n] = step;
	c->val[c->n++] = v;
}

/* Keys of train and eval records that are not metrics. */
static int
skip_key(const char *k, size_t n)
{
	static const char *const skip[] = {"type", "step", "split", "count",
	                                   "study", "trial", "checkpoint",
	                                   "dataset", "epoch", NULL};
	for (int i = 0; skip[i]; i++)
		if (strlen(skip[i]) == n && memcmp(skip[i], k, n) == 0)
			return 1;
	return 0;
}

/* Every numeric entry of rec is a metric of split at step. */
static void
add_metrics(struct tp_trial *t, struct sink *k, const struct tp_val *rec,
            const char *split, int64_t step)
{
	size_t n = tp_val_len(rec);
	char name[128];

	for (size_t i = 0; i < n; i++) {
		size_t kl;
		const char *key = tp_val_str(tp_map_key(rec, i), &kl);
		const struct tp_val *v = tp_map_val(rec, i);
		enum tp_vtype ty = tp_val_type(v);
		double x;

		if (!key || kl == 0 || kl >= sizeof name || skip_key(key, kl))
			continue;
		if ((ty != TP_V_INT && ty != TP_V_FLOAT) || tp_val_f64(v, &x) != 0)
			continue;
		memcpy(name, key, kl);
		name[kl] = 0;
		if (t)
			sum_add(sum_slot(t, split, name), step, x);
		if (k)
			sink_add(k, split, name, step, x);
	}
}

static void
set_param(struct tp_trial *t, const char *key, const struct tp_val *v, int sci)
{
	struct tp_tparam *p;
	double x;
	int b;

	switch (tp_val_type(v)) {
	case TP_V_INT:
	case TP_V_FLOAT:
		if (tp_val_f64(v, &x) != 0)
			return;
		p = param_slot(t, key);
		free(p->str);
		p->str = NULL;
		p->type = TP_TV_NUM;
		p->num = x;
		break;
	case TP_V_BOOL:
		if (tp_val_bool(v, &b) != 0)
			return;
		p = param_slot(t, key);
		free(p->str);
		p->str = NULL;
		p->type = TP_TV_BOOL;
		p->num = b;
		break;
	case TP_V_STR:
		p = param_slot(t, key);
		free(p->str);
		p->str = tp_val_strdup(v);
		p->type = TP_TV_STR;
		break;
	default:
		return; /* nested values are not hyperparameters we can plot */
	}
	if (sci)
		p->scientific = 1;
}

static void
set_params(struct tp_trial *t, const struct tp_val *map, int sci)
{
	size_t n = tp_val_len(map);

	if (tp_val_type(map) != TP_V_MAP)
		return;
	for (size_t i = 0; i < n; i++) {
		char *key = tp_val_strdup(tp_map_key(map, i));
		if (key)
			set_param(t, key, tp_map_val(map, i), sci);
		free(key);
	}
}

static char *
get_str(const struct tp_val *rec, const char *key)
{
	return tp_val_strdup(tp_val_get(rec, key));
}

/*
 * The (study, trial) a record names, falling back on the context; 0, or -1
 * when neither has one (printed).
 */
static int
rec_trial(const struct tp_rd *rd, const struct tp_val *rec, char **study,
          int64_t *id, const char *type)
{
	const struct tp_val *sv = tp_val_get(rec, "study");
	const struct tp_val *iv = tp_val_get(rec, "trial");
	int64_t x;

	if (sv && tp_val_type(sv) == TP_V_STR) {
		free(*study);
		*study = tp_val_strdup(sv);
	}
	if (iv && tp_val_i64(iv, &x) == 0)
		*id = x;
	if (!*study || *id < 0) {
		tp_rd_errorf(rd, "%s record names no study and trial (and none was "
		             "given with --study and --trial)", type);
		return -1;
	}
	return 0;
}

/*
 * Parse a stream.  With f, collect facts (obj_id names the object); with k,
 * collect the points of k's trial.  dstudy/dtrial are defaults for records
 * that name none.  Returns 0 or -1 (printed); a dataset stream is refused.
 */
static int
parse_stream(struct tp_rd *rd, struct facts *f, struct sink *k,
             const char *dstudy, int64_t dtrial)
{
	const struct tp_val *rec;
	char type[32];
	char *study = xdup(dstudy), *rstudy = NULL;
	int64_t id = dtrial;
	int rc = 0, r;

	while ((r = tp_rd_next(rd, &rec)) == 1) {
		struct tp_trial *t = NULL;
		struct sink *kk = NULL;
		const char *cur_study;
		int64_t step = 0, rid = -1, cur_id;

		if (tp_rec_type(rd, rec, type, sizeof type) != 0) {
			rc = -1;
			break;
		}
		if (strcmp(type, "dataset") == 0) {
			tp_rd_errorf(rd, "a dataset, not a record stream of runs");
			rc = -1;
			break;
		}
		if (strcmp(type, "study") == 0) {
			struct tp_study st = {0};
			const struct tp_val *c = tp_val_get(rec, "created");
			if (!f)
				continue;
			st.name = get_str(rec, "name");
			if (!st.name) {
				tp_rd_errorf(rd, "study record without a \"name\"");
				rc = -1;
				break;
			}
			st.config = get_str(rec, "config");
			st.config_sha256 = get_str(rec, "config_sha256");
			st.notes = get_str(rec, "notes");
			st.command = get_str(rec, "command");
			st.goal = get_str(rec, "goal");
			if (c && tp_val_i64(c, &st.created) != 0)
				st.created = 0;
			f->studies = tp_xrealloc(f->studies,
			                         (f->nstudies + 1) * sizeof *f->studies);
			f->studies[f->nstudies++] = st;
			continue;
		}
		if (strcmp(type, "track") == 0) {
			/* ingest --study/--trial: defaults for what follows. */
			const struct tp_val *sv = tp_val_get(rec, "study");
			if (sv && tp_val_type(sv) == TP_V_STR) {
				free(study);
				study = tp_val_strdup(sv);
			}
			if (tp_val_i64(tp_val_get(rec, "trial"), &step) == 0)
				id = step;
			continue;
		}
		if (strcmp(type, "config") == 0 || strcmp(type, "trial") == 0) {
			/* These set the context for the records that follow. */
			if (rec_trial(rd, rec, &study, &id, type) != 0) {
				rc = -1;
				break;
			}
		} else if (strcmp(type, "train") == 0 || strcmp(type, "eval") == 0 ||
		           strcmp(type, "checkpoint") == 0 ||
		           strcmp(type, "diverged") == 0 ||
		           strcmp(type, "summary") == 0) {
			/* tp-eval results name their trial on each record; that
			 * name holds for this record only. */
			char *s2 = xdup(study);
			int64_t id2 = id;
			if (rec_trial(rd, rec, &s2, &id2, type) != 0) {
				free(s2);
				rc = -1;
				break;
			}
			free(rstudy);
			rstudy = s2;
			rid = id2;
			if (strcmp(type, "summary") != 0 &&
			    tp_rec_need_i64(rd, rec, "step", &step) != 0) {
				rc = -1;
				break;
			}
		} else {
			continue; /* unknown types pass through untouched */
		}
		/* A record's own study and trial become the context when there
		 * is none yet (a stream of tp-eval results). */
		if (rstudy && (!study || id < 0)) {
			free(study);
			study = xdup(rstudy);
			id = rid;
		}
		cur_study = rstudy ? rstudy : study;
		cur_id = rstudy ? rid : id;
		if (k && strcmp(cur_study, k->study) == 0 && cur_id == k->id)
			kk = k;
		if (f) {
			t = tmap_get(&f->trials, cur_study, cur_id);
			obj_add(t, f->id);
		}
		if (strcmp(type, "trial") == 0 || strcmp(type, "config") == 0) {
			const struct tp_val *sd = tp_val_get(rec, "seed");
			int64_t x;
			if (!t)
				continue;
			set_params(t, tp_val_get(rec, "params"), 0);
			set_params(t, tp_val_get(rec, "scientific"), 1);
			if (sd && tp_val_i64(sd, &x) == 0)
				t->has_seed = 1, t->seed = x;
			if (strcmp(type, "config") == 0) {
				char *rdir = get_str(rec, "run_dir");
				char *cmd = get_str(rec, "command");
				const struct tp_val *tv = tp_val_get(rec, "train");
				/* tp-train lists its training shards; the first names
				 * the set in messages. */
				char *tr = tp_val_type(tv) == TP_V_ARRAY ? tp_val_strdup(tp_val_at(tv, 0))
				                                   : tp_val_strdup(tv);
				int64_t cnt;
				if (tr)
					free(t->train), t->train = tr;
				if (tp_val_i64(tp_val_get(rec, "train_examples"), &cnt) == 0)
					t->train_count = cnt;
				if (rdir)
					free(t->run_dir), t->run_dir = rdir;
				if (cmd)
					free(t->command), t->command = cmd;
			}
		} else if (strcmp(type, "train") == 0) {
			add_metrics(t, kk, rec, "step", step);
		} else if (strcmp(type, "eval") == 0) {
			char *split = get_str(rec, "split");
			char *ck = get_str(rec, "checkpoint");
			add_metrics(t, kk, rec, split ? split : "valid", step);
			if (t && ck)
				ckpt_add(t, step, ck);
			free(split);
			free(ck);
		} else if (strcmp(type, "checkpoint") == 0) {
			char *path = get_str(rec, "path");
			if (t && path)
				ckpt_add(t, step, path);
			free(path);
		} else if (strcmp(type, "diverged") == 0) {
			if (t && (!t->diverged || step < t->diverged_step)) {
				t->diverged = 1;
				t->diverged_step = step;
				free(t->diverged_reason);
				t->diverged_reason = get_str(rec, "reason");
			}
		} else if (strcmp(type, "summary") == 0) {
			const struct tp_val *sv = tp_val_get(rec, "steps");
			if (sv && tp_val_i64(sv, &step) == 0 && t && step > t->steps)
				t->steps = step;
			step = -1;
		}
		if (t && step > t->steps)
			t->steps = step;
		free(rstudy);
		rstudy = NULL;
	}
	free(rstudy);
	if (r < 0)
		rc = -1;
	free(study);
	return rc;
}

/* ---- the index: one record per object holding its facts ---- */

static void
put_trial(struct tp_rb *b, const struct tp_trial *t)
{
	tp_rb_map_begin(b, NULL);
	tp_rb_str(b, "study", t->study);
	tp_rb_i64(b, "trial", t->id);
	if (t->has_seed)
		tp_rb_i64(b, "seed", t->seed);
	if (t->run_dir)
		tp_rb_str(b, "run_dir", t->run_dir);
	if (t->command)
		tp_rb_str(b, "command", t->command);
	if (t->train)
		tp_rb_str(b, "train", t->train);
	if (t->train_count >= 0)
		tp_rb_i64(b, "train_examples", t->train_count);
	tp_rb_i64(b, "steps", t->steps);
	if (t->diverged) {
		tp_rb_i64(b, "diverged", t->diverged_step);
		tp_rb_str(b, "reason", t->diverged_reason ? t->diverged_reason : "");
	}
	tp_rb_arr_begin(b, "params");
	for (size_t i = 0; i < t->nparams; i++) {
		const struct tp_tparam *p = &t->params[i];
		tp_rb_arr_begin(b, NULL);
		tp_rb_str(b, NULL, p->key);
		if (p->type == TP_TV_STR)
			tp_rb_str(b, NULL, p->str);
		else if (p->type == TP_TV_BOOL)
			tp_rb_bool(b, NULL, p->num != 0);
		else
			tp_rb_f64(b, NULL, p->num);
		tp_rb_bool(b, NULL, p->scientific);
		tp_rb_arr_end(b);
	}
	tp_rb_arr_end(b);
	tp_rb_arr_begin(b, "sums");
	for (size_t i = 0; i < t->nsums; i++) {
		const struct tp_msum *m = &t->sums[i];
		tp_rb_arr_begin(b, NULL);
		tp_rb_str(b, NULL, m->split);
		tp_rb_str(b, NULL, m->name);
		tp_rb_i64(b, NULL, m->n);
		tp_rb_f64(b, NULL, m->min);
		tp_rb_i64(b, NULL, m->min_step);
		tp_rb_f64(b, NULL, m->max);
		tp_rb_i64(b, NULL, m->max_step);
		tp_rb_f64(b, NULL, m->last);
		tp_rb_i64(b, NULL, m->last_step);
		tp_rb_arr_end(b);
	}
	tp_rb_arr_end(b);
	tp_rb_arr_begin(b, "ckpts");
	for (size_t i = 0; i < t->nckpts; i++) {
		tp_rb_arr_begin(b, NULL);
		tp_rb_i64(b, NULL, t->ckpts[i].step);
		tp_rb_str(b, NULL, t->ckpts[i].path);
		tp_rb_arr_end(b);
	}
	tp_rb_arr_end(b);
	tp_rb_map_end(b);
}

static void
put_study_fields(struct tp_rb *b, const struct tp_study *st)
{
	tp_rb_str(b, "name", st->name);
	if (st->config)
		tp_rb_str(b, "config", st->config);
	if (st->config_sha256)
		tp_rb_str(b, "config_sha256", st->config_sha256);
	if (st->notes)
		tp_rb_str(b, "notes", st->notes);
	if (st->command)
		tp_rb_str(b, "command", st->command);
	if (st->goal)
		tp_rb_str(b, "goal", st->goal);
	tp_rb_i64(b, "created", st->created);
}

static int
write_index(const char *dir, struct facts *objs, size_t n)
{
	char *path = path_join(dir, "index.tpr");
	struct tp_wr *w = tp_wr_open(path, TP_ZOUT_PLAIN | TP_ZOUT_ATOMIC);
	struct tp_rb b;
	int rc = 0;

	free(path);
	if (!w)
		return -1;
	tp_rb_init(&b);
	tp_rb_begin(&b, "track-index");
	tp_rb_i64(&b, "version", INDEX_VERSION);
	tp_rb_u64(&b, "objects", n);
	rc = tp_wr_rb(w, &b);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct facts *f = &objs[i];
		tp_rb_begin(&b, "object");
		tp_rb_str(&b, "id", f->id);
		tp_rb_i64(&b, "size", f->size);
		tp_rb_arr_begin(&b, "studies");
		for (size_t j = 0; j < f->nstudies; j++) {
			tp_rb_map_begin(&b, NULL);
			put_study_fields(&b, &f->studies[j]);
			tp_rb_map_end(&b);
		}
		tp_rb_arr_end(&b);
		tp_rb_arr_begin(&b, "trials");
		for (size_t j = 0; j < f->trials.n; j++)
			put_trial(&b, &f->trials.v[j]);
		tp_rb_arr_end(&b);
		rc = tp_wr_rb(w, &b);
	}
	tp_rb_release(&b);
	if (rc != 0) {
		tp_wr_abort(w);
		return -1;
	}
	return tp_wr_close(w);
}

static int
arr_f64(const struct tp_val *a, size_t i, double *x)
{
	return tp_val_f64(tp_val_at(a, i), x);
}

static int
arr_i64(const struct tp_val *a, size_t i, int64_t *x)
{
	return tp_val_i64(tp_val_at(a, i), x);
}

/* Rebuild one trial from its index entry; 0 or -1 (not printed). */
static int
get_trial(struct facts *f, const struct tp_val *m)
{
	char *study = get_str(m, "study");
	const struct tp_val *v, *a;
	struct tp_trial *t;
	int64_t id;

	if (!study || tp_val_i64(tp_val_get(m, "trial"), &id) != 0) {
		free(study);
		return -1;
	}
	t = tmap_get(&f->trials, study, id);
	free(study);
	obj_add(t, f->id);
	if ((v = tp_val_get(m, "seed")) && tp_val_i64(v, &t->seed) == 0)
		t->has_seed = 1;
	t->run_dir = get_str(m, "run_dir");
	t->command = get_str(m, "command");
	t->train = get_str(m, "train");
	if (tp_val_i64(tp_val_get(m, "train_examples"), &t->train_count) != 0)
		t->train_count = -1;
	if (tp_val_i64(tp_val_get(m, "steps"), &t->steps) != 0)
		return -1;
	if ((v = tp_val_get(m, "diverged")) && tp_val_i64(v, &t->diverged_step) == 0) {
		t->diverged = 1;
		t->diverged_reason = get_str(m, "reason");
	}
	a = tp_val_get(m, "params");
	for (size_t i = 0; i < tp_val_len(a); i++) {
		const struct tp_val *e = tp_val_at(a, i);
		char *key = tp_val_strdup(tp_val_at(e, 0));
		int sci = 0;
		if (!key || tp_val_len(e) != 3 || tp_val_bool(tp_val_at(e, 2), &sci)) {
			free(key);
			return -1;
		}
		set_param(t, key, tp_val_at(e, 1), sci);
		free(key);
	}
	a = tp_val_get(m, "sums");
	t->sums = tp_xmallocarray(tp_val_len(a) + 1, sizeof *t->sums);
	for (size_t i = 0; i < tp_val_len(a); i++) {
		const struct tp_val *e = tp_val_at(a, i);
		struct tp_msum s = {0};
		if (tp_val_len(e) != 9 || arr_i64(e, 2, &s.n) ||
		    arr_f64(e, 3, &s.min) || arr_i64(e, 4, &s.min_step) ||
		    arr_f64(e, 5, &s.max) || arr_i64(e, 6, &s.max_step) ||
		    arr_f64(e, 7, &s.last) || arr_i64(e, 8, &s.last_step))
			return -1;
		s.split = tp_val_strdup(tp_val_at(e, 0));
		s.name = tp_val_strdup(tp_val_at(e, 1));
		if (!s.split || !s.name) {
			free(s.split), free(s.name);
			return -1;
		}
		t->sums[t->nsums++] = s;
	}
	a = tp_val_get(m, "ckpts");
	for (size_t i = 0; i < tp_val_len(a); i++) {
		const struct tp_val *e = tp_val_at(a, i);
		int64_t step;
		char *p = tp_val_strdup(tp_val_at(e, 1));
		if (!p || arr_i64(e, 0, &step)) {
			free(p);
			return -1;
		}
		ckpt_add(t, step, p);
		free(p);
	}
	return 0;
}

static int
get_object(struct facts *f, const struct tp_val *rec)
{
	const struct tp_val *a = tp_val_get(rec, "studies");

	f->id = get_str(rec, "id");
	if (!f->id || tp_val_i64(tp_val_get(rec, "size"), &f->size) != 0)
		return -1;
	for (size_t i = 0; i < tp_val_len(a); i++) {
		const struct tp_val *m = tp_val_at(a, i);
		struct tp_study st = {0};
		st.name = get_str(m, "name");
		if (!st.name)
			return -1;
		st.config = get_str(m, "config");
		st.config_sha256 = get_str(m, "config_sha256");
		st.notes = get_str(m, "notes");
		st.command = get_str(m, "command");
		st.goal = get_str(m, "goal");
		if (tp_val_i64(tp_val_get(m, "created"), &st.created) != 0)
			st.created = 0;
		f->studies = tp_xrealloc(f->studies, (f->nstudies + 1) * sizeof *f->studies);
		f->studies[f->nstudies++] = st;
	}
	a = tp_val_get(rec, "trials");
	for (size_t i = 0; i < tp_val_len(a); i++)
		if (get_trial(f, tp_val_at(a, i)) != 0)
			return -1;
	return 0;
}

/* Read the index into objs (sorted by id); a missing index is empty. */
static int
read_index(const char *dir, struct facts **objs, size_t *n)
{
	char *path = path_join(dir, "index.tpr");
	struct tp_rd *rd;
	const struct tp_val *rec;
	size_t cap = 0;
	int r, first = 1;

	*objs = NULL;
	*n = 0;
	if (access(path, F_OK) != 0) {
		free(path);
		return 0;
	}
	rd = tp_rd_open(path);
	free(path);
	if (!rd)
		return -1;
	while ((r = tp_rd_next(rd, &rec)) == 1) {
		if (first) {
			int64_t v;
			if (!tp_val_streq(tp_val_get(rec, "type"), "track-index") ||
			    tp_val_i64(tp_val_get(rec, "version"), &v) != 0 || v != INDEX_VERSION)
				break; /* another version: rebuilt from the objects */
			first = 0;
			continue;
		}
		*objs = grow(*objs, &cap, *n + 1, sizeof **objs);
		memset(&(*objs)[*n], 0, sizeof **objs);
		if (get_object(&(*objs)[(*n)++], rec) != 0) {
			tp_rd_errorf(rd, "malformed index entry; rebuilding the index");
			r = -1;
			break;
		}
	}
	tp_rd_close(rd);
	if (r < 0 || first) {
		for (size_t i = 0; i < *n; i++)
			facts_free(&(*objs)[i]);
		free(*objs);
		*objs = NULL;
		*n = 0;
	}
	return 0;
}

/* ---- store ---- */

const char *
tp_store_default_dir(const char *flag)
{
	const char *e = getenv("TP_TRACK");

	if (flag)
		return flag;
	return e && *e ? e : "tp-track";
}

int
tp_store_create(const char *dir)
{
	char *marker = path_join(dir, "TRACK");
	char *objs = path_join(dir, "objects");
	int rc = 0;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		tp_syserrorf("%s: cannot create store", dir);
		rc = -1;
	} else if (mkdir(objs, 0777) != 0 && errno != EEXIST) {
		tp_syserrorf("%s: cannot create", objs);
		rc = -1;
	} else if (access(marker, F_OK) != 0) {
		/* Concurrent creators each rename a complete marker: same bytes. */
		struct tp_atomic a;
		if (tp_atomic_open(&a, marker) != 0)
			rc = -1;
		else if (tp_write_all(a.fd, MARKER, strlen(MARKER)) != 0) {
			tp_syserrorf("%s: write error", a.tmp);
			tp_atomic_abort(&a);
			rc = -1;
		} else if (tp_atomic_commit(&a) != 0)
			rc = -1;
	}
	free(marker);
	free(objs);
	return rc;
}

static int
check_store(const char *dir)
{
	char *marker = path_join(dir, "TRACK");
	char buf[64] = {0};
	FILE *f = fopen(marker, "rb");
	int rc = 0;

	if (!f) {
		tp_errorf("%s: not a tp-track store (no TRACK marker; create one "
		          "with 'tp-track init')", dir);
		rc = -1;
	} else {
		if (fread(buf, 1, sizeof buf - 1, f) == 0 ||
		    strcmp(buf, MARKER) != 0) {
			tp_errorf("%s: unknown store version in %s", dir, marker);
			rc = -1;
		}
		fclose(f);
	}
	free(marker);
	return rc;
}

/* Write bytes as a new object named by their hash. */
static int
put_object(const char *dir, const void *buf, size_t len, int *added)
{
	struct tp_sha256 h;
	char hex[65], *path;
	struct tp_atomic a;
	int rc = 0;

	tp_sha256_init(&h);
	tp_sha256_update(&h, buf, len);
	tp_sha256_hex(&h, hex);
	path = obj_path(dir, hex);
	*added = 0;
	if (access(path, F_OK) == 0) {
		free(path);
		return 0;
	}
	if (tp_atomic_open(&a, path) != 0) {
		rc = -1;
	} else if (tp_write_all(a.fd, buf, len) != 0) {
		tp_syserrorf("%s: write error", a.tmp);
		tp_atomic_abort(&a);
		rc = -1;
	} else if (tp_atomic_commit(&a) != 0) {
		rc = -1;
	} else {
		*added = 1;
	}
	free(path);
	return rc;
}

struct buf {
	unsigned char *p;
	size_t n, cap;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	b->p = grow(b->p, &b->cap, b->n + n, 1);
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

/* Ingest one stream; *who (when not NULL) gets the first trial it names. */
static int
ingest_one(const char *dir, const char *path, const char *study,
           int64_t trial, int *added, struct tp_trial *who)
{
	struct tp_rd *rd;
	const struct tp_val *rec;
	struct buf b = {0};
	struct facts f = {0};
	struct tp_rd *mr;
	size_t nrec = 0;
	int r, rc = 0;

	*added = 0;
	if (tp_store_create(dir) != 0)
		return -1;
	rd = tp_rd_open(path);
	if (!rd)
		return -1;
	/* The --study/--trial defaults become part of the object, so it reads
	 * the same later and the hash covers them. */
	if (study || trial >= 0) {
		struct tp_rb rb;
		const void *p;
		size_t n;
		tp_rb_init(&rb);
		tp_rb_begin(&rb, "track");
		if (study)
			tp_rb_str(&rb, "study", study);
		if (trial >= 0)
			tp_rb_i64(&rb, "trial", trial);
		p = tp_rb_finish(&rb, &n);
		buf_add(&b, p, n);
		tp_rb_release(&rb);
	}
	while ((r = tp_rd_next(rd, &rec)) == 1) {
		size_t n;
		const void *p = tp_rd_raw(rd, &n);
		/* Refuse a dataset at its header, before reading it all. */
		if (nrec++ == 0 && tp_val_streq(tp_val_get(rec, "type"), "dataset")) {
			tp_rd_errorf(rd, "a dataset, not a record stream of runs");
			r = -1;
			break;
		}
		buf_add(&b, p, n);
	}
	if (r < 0) {
		tp_rd_close(rd);
		free(b.p);
		return -1;
	}
	if (b.n == 0) {
		tp_rd_close(rd);
		return 0; /* an empty stream adds nothing */
	}
	/* Refuse what would make the store unreadable later, with the
	 * input's name in the message. */
	mr = tp_rd_mem(b.p, b.n, tp_rd_name(rd));
	f.id = tp_xstrdup("-");
	if (!mr || parse_stream(mr, &f, NULL, NULL, -1) != 0)
		rc = -1;
	if (rc == 0 && who && f.trials.n > 0 && !who->study) {
		who->study = tp_xstrdup(f.trials.v[0].study);
		who->id = f.trials.v[0].id;
	}
	tp_rd_close(mr);
	tp_rd_close(rd);
	facts_free(&f);
	if (rc == 0)
		rc = put_object(dir, b.p, b.n, added);
	free(b.p);
	return rc;
}

int
tp_store_ingest(const char *dir, const char *path, const char *study,
                int64_t trial, int *added)
{
	return ingest_one(dir, path, study, trial, added, NULL);
}

static int
ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

/*
 * tp-train keeps checkpoints as RUN/ckpt/step-N.tpc without always writing
 * a checkpoint record: an object of checkpoint records for the files there
 * now lets the table name the checkpoint of the best step.  A later ingest
 * that finds other files adds another object; pruned files stay listed
 * (the record says it was written, not that it is still there).
 */
static int
ingest_ckpts(const char *dir, const char *run_dir, const struct tp_trial *who,
             int *added)
{
	char *cd = path_join(run_dir, "ckpt");
	DIR *d = opendir(cd);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct buf out = {0};
	struct tp_rb b;
	int rc = 0;

	*added = 0;
	if (!d) {
		free(cd);
		return 0; /* no checkpoints: nothing to add */
	}
	while ((e = readdir(d)) != NULL) {
		long long step;
		int end = 0;
		if (sscanf(e->d_name, "step-%lld.tpc%n", &step, &end) != 1 ||
		    e->d_name[end] || step < 0)
			continue;
		names = grow(names, &cap, n + 1, sizeof *names);
		names[n++] = tp_xstrdup(e->d_name);
	}
	closedir(d);
	xsort(names, n, sizeof *names, cmp_str);
	tp_rb_init(&b);
	for (size_t i = 0; i < n; i++) {
		char *p = path_join(cd, names[i]);
		const void *r;
		size_t len;
		long long step = 0;
		if (sscanf(names[i], "step-%lld", &step) != 1)
			step = 0;
		tp_rb_begin(&b, "checkpoint");
		tp_rb_str(&b, "study", who->study);
		tp_rb_i64(&b, "trial", who->id);
		tp_rb_i64(&b, "step", step);
		tp_rb_str(&b, "path", p);
		r = tp_rb_finish(&b, &len);
		buf_add(&out, r, len);
		free(p);
		free(names[i]);
	}
	tp_rb_release(&b);
	free(names);
	free(cd);
	if (out.n)
		rc = put_object(dir, out.p, out.n, added);
	free(out.p);
	return rc;
}

int
tp_store_ingest_dir(const char *dir, const char *run_dir, const char *study,
                    int64_t trial, int *added)
{
	DIR *d = opendir(run_dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, found = 0;
	struct tp_trial who = {0};

	*added = 0;
	if (!d) {
		tp_syserrorf("%s", run_dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' ||
		    !(ends_with(e->d_name, ".tpr") || ends_with(e->d_name, ".tpr.zst")))
			continue;
		names = grow(names, &cap, n + 1, sizeof *names);
		names[n++] = tp_xstrdup(e->d_name);
	}
	closedir(d);
	xsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *p = path_join(run_dir, names[i]);
		int a = 0;
		if (rc == 0) {
			rc = ingest_one(dir, p, study, trial, &a, &who);
			*added += a;
			found++;
		}
		free(p);
		free(names[i]);
	}
	free(names);
	if (rc == 0 && !found) {
		tp_errorf("%s: no record files (*.tpr, *.tpr.zst) in this run directory",
		          run_dir);
		rc = -1;
	}
	if (rc == 0 && who.study) {
		int a = 0;
		rc = ingest_ckpts(dir, run_dir, &who, &a);
		*added += a;
	}
	free(who.study);
	return rc;
}

int
tp_store_add_study(const char *dir, const struct tp_study *st)
{
	struct tp_study s = *st;
	char hex[65];
	struct tp_rb b;
	const void *p;
	size_t n;
	int added, rc;

	if (tp_store_create(dir) != 0)
		return -1;
	if (st->config) {
		if (tp_sha256_file(st->config, hex) != 0)
			return -1;
		s.config_sha256 = hex;
	}
	if (!s.created)
		s.created = (int64_t)time(NULL);
	tp_rb_init(&b);
	tp_rb_begin(&b, "study");
	put_study_fields(&b, &s);
	p = tp_rb_finish(&b, &n);
	rc = put_object(dir, p, n, &added);
	tp_rb_release(&b);
	return rc;
}

static int
cmp_trial(const void *a, const void *b)
{
	const struct tp_trial *x = a, *y = b;
	int c = strcmp(x->study, y->study);

	if (c)
		return c;
	return (x->id > y->id) - (x->id < y->id);
}

static int
cmp_study(const void *a, const void *b)
{
	const struct tp_study *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int
cmp_facts(const void *a, const void *b)
{
	return strcmp(((const struct facts *)a)->id, ((const struct facts *)b)->id);
}

/* List objects/ sorted. */
static int
list_objects(const char *dir, char ***names, int64_t **sizes, size_t *n)
{
	char *od = path_join(dir, "objects");
	DIR *d = opendir(od);
	struct dirent *e;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (!d) {
		tp_syserrorf("%s", od);
		free(od);
		return -1;
	}
	free(od);
	*sizes = NULL;
	while ((e = readdir(d)) != NULL) {
		size_t c2 = cap;
		struct stat st;
		if (!is_hex_name(e->d_name))
			continue; /* temporaries start with a dot */
		if (fstatat(dirfd(d), e->d_name, &st, 0) != 0)
			continue; /* removed since readdir */
		*names = grow(*names, &cap, *n + 1, sizeof **names);
		*sizes = grow(*sizes, &c2, *n + 1, sizeof **sizes);
		/* Names and sizes travel together through the sort below. */
		(*names)[*n] = tp_xmalloc(64 + 1 + 24);
		snprintf((*names)[*n], 64 + 1 + 24, "%.64s %lld", e->d_name,
		         (long long)st.st_size);
		(*n)++;
	}
	closedir(d);
	xsort(*names, *n, sizeof **names, cmp_str);
	for (size_t i = 0; i < *n; i++) {
		(*sizes)[i] = strtoll((*names)[i] + 65, NULL, 10);
		(*names)[i][64] = 0;
	}
	return 0;
}

static int
parse_object(const char *dir, const char *id, struct facts *f)
{
	char *path = obj_path(dir, id);
	struct tp_rd *rd = tp_rd_open(path);
	int64_t size = f->size;
	int rc;

	free(path);
	memset(f, 0, sizeof *f);
	f->size = size;
	f->id = tp_xstrdup(id);
	if (!rd)
		return -1;
	rc = parse_stream(rd, f, NULL, NULL, -1);
	tp_rd_close(rd);
	return rc;
}

static void
merge_all(struct tp_store *s, struct facts *objs, size_t n)
{
	struct tmap m = {0};
	size_t cap = 0;

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < objs[i].trials.n; j++) {
			const struct tp_trial *o = &objs[i].trials.v[j];
			trial_merge(tmap_get(&m, o->study, o->id), o);
		}
		for (size_t j = 0; j < objs[i].nstudies; j++) {
			const struct tp_study *o = &objs[i].studies[j];
			struct tp_study *st = NULL;
			for (size_t k = 0; k < s->nstudies; k++)
				if (strcmp(s->studies[k].name, o->name) == 0)
					st = &s->studies[k];
			if (st && st->created > o->created)
				continue; /* the newest registration wins */
			if (!st) {
				s->studies = grow(s->studies, &cap, s->nstudies + 1,
				                  sizeof *s->studies);
				st = &s->studies[s->nstudies++];
			} else {
				study_free(st);
			}
			st->name = xdup(o->name);
			st->config = xdup(o->config);
			st->config_sha256 = xdup(o->config_sha256);
			st->notes = xdup(o->notes);
			st->command = xdup(o->command);
			st->goal = xdup(o->goal);
			st->created = o->created;
		}
	}
	s->trials = m.v;
	s->ntrials = m.n;
	free(m.slot);
	xsort(s->trials, s->ntrials, sizeof *s->trials, cmp_trial);
	/* Studies known only from their trials get a bare entry. */
	for (size_t i = 0; i < s->ntrials; i++) {
		if (i > 0 && strcmp(s->trials[i].study, s->trials[i - 1].study) == 0)
			continue;
		if (tp_store_study(s, s->trials[i].study))
			continue;
		s->studies = grow(s->studies, &cap, s->nstudies + 1, sizeof *s->studies);
		memset(&s->studies[s->nstudies], 0, sizeof *s->studies);
		s->studies[s->nstudies++].name = tp_xstrdup(s->trials[i].study);
	}
	xsort(s->studies, s->nstudies, sizeof *s->studies, cmp_study);
	for (size_t i = 0; i < s->ntrials; i++) {
		struct tp_trial *t = &s->trials[i];
		xsort(t->objects, t->nobjects, sizeof *t->objects, cmp_str);
	}
}

int
tp_store_load(struct tp_store *s, const char *dir)
{
	struct facts *idx = NULL, *objs = NULL;
	char **names = NULL;
	int64_t *sizes = NULL;
	size_t nidx = 0, nnames = 0, nobjs = 0, j = 0;
	int rc = 0, changed = 0;

	memset(s, 0, sizeof *s);
	s->dir = tp_xstrdup(dir);
	if (check_store(dir) != 0 || list_objects(dir, &names, &sizes, &nnames) != 0)
		return -1;
	if (read_index(dir, &idx, &nidx) != 0) {
		free(names);
		return -1;
	}
	xsort(idx, nidx, sizeof *idx, cmp_facts);
	objs = tp_xcalloc(nnames + 1, sizeof *objs);
	/* Both lists are sorted: walk them together. */
	for (size_t i = 0; i < nnames; i++) {
		while (j < nidx && strcmp(idx[j].id, names[i]) < 0) {
			facts_free(&idx[j++]);
			changed = 1; /* an object was removed */
		}
		if (j < nidx && strcmp(idx[j].id, names[i]) == 0 &&
		    idx[j].size == sizes[i]) {
			objs[nobjs++] = idx[j];
			memset(&idx[j++], 0, sizeof *idx);
			continue;
		}
		if (j < nidx && strcmp(idx[j].id, names[i]) == 0)
			facts_free(&idx[j++]); /* the object changed: distrust */
		objs[nobjs].size = sizes[i];
		if (parse_object(dir, names[i], &objs[nobjs++]) != 0) {
			rc = -1;
			break;
		}
		s->parsed++;
		changed = 1;
	}
	for (; j < nidx; j++) {
		facts_free(&idx[j]);
		changed = 1;
	}
	free(idx);
	s->nobjects = nnames;
	/* The index is a cache: a read-only store is still readable. */
	if (rc == 0 && changed) {
		char *ip = path_join(dir, "index.tpr");
		if (access(dir, W_OK) == 0 && write_index(dir, objs, nobjs) != 0)
			tp_warnf("%s: index not updated; reading stays correct", ip);
		free(ip);
	}
	if (rc == 0)
		merge_all(s, objs, nobjs);
	for (size_t i = 0; i < nobjs; i++)
		facts_free(&objs[i]);
	free(objs);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(sizes);
	return rc;
}

void
tp_store_release(struct tp_store *s)
{
	if (!s)
		return;
	free(s->dir);
	for (size_t i = 0; i < s->nstudies; i++)
		study_free(&s->studies[i]);
	free(s->studies);
	for (size_t i = 0; i < s->ntrials; i++)
		trial_free(&s->trials[i]);
	free(s->trials);
	memset(s, 0, sizeof *s);
}

const struct tp_study *
tp_store_study(const struct tp_store *s, const char *name)
{
	for (size_t i = 0; i < s->nstudies; i++)
		if (s->studies[i].name && strcmp(s->studies[i].name, name) == 0)
			return &s->studies[i];
	return NULL;
}

const struct tp_trial *
tp_store_trials(const struct tp_store *s, const char *study, size_t *n)
{
	size_t lo = 0, hi = s->ntrials, end;

	/* trials are sorted by study: binary search for the first. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->trials[mid].study, study) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	end = lo;
	while (end < s->ntrials && strcmp(s->trials[end].study, study) == 0)
		end++;
	*n = end - lo;
	return *n ? &s->trials[lo] : NULL;
}

const struct tp_tparam *
tp_trial_param(const struct tp_trial *t, const char *key)
{
	for (size_t i = 0; i < t->nparams; i++)
		if (strcmp(t->params[i].key, key) == 0)
			return &t->params[i];
	return NULL;
}

const struct tp_msum *
tp_trial_sum(const struct tp_trial *t, const char *split, const char *name)
{
	for (size_t i = 0; i < t->nsums; i++)
		if (strcmp(t->sums[i].name, name) == 0 &&
		    strcmp(t->sums[i].split, split) == 0)
			return &t->sums[i];
	return NULL;
}

const char *
tp_trial_ckpt(const struct tp_trial *t, int64_t step)
{
	size_t lo = 0, hi = t->nckpts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->ckpts[mid].step < step)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nckpts && t->ckpts[lo].step == step ? t->ckpts[lo].path
	                                                   : NULL;
}

/* ---- objectives ---- */

static int
maximized_name(const char *m)
{
	static const char *const up[] = {"accuracy", "acc", "auc", "f1",
	                                 "precision", "recall", "r2", NULL};
	for (int i = 0; up[i]; i++)
		if (strcmp(m, up[i]) == 0)
			return 1;
	return 0;
}

struct tp_objective
tp_objective_for(const struct tp_objective *o, const struct tp_trial *t,
                 size_t n)
{
	static const char *const pref[] = {"error", "mse", "loss", NULL};
	struct tp_objective r = *o;

	if (!r.split)
		r.split = "valid";
	for (int p = 0; !r.metric && pref[p]; p++)
		for (size_t i = 0; i < n && !r.metric; i++)
			if (tp_trial_sum(&t[i], r.split, pref[p]))
				r.metric = pref[p];
	if (!r.metric)
		r.metric = "loss";
	if (r.maximize < 0)
		r.maximize = maximized_name(r.metric);
	return r;
}

int
tp_trial_objective(const struct tp_trial *t, const struct tp_objective *o,
                   double *value, int64_t *step)
{
	const struct tp_msum *m = tp_trial_sum(t, o->split, o->metric);

	if (!m || m->n == 0)
		return 0;
	if (o->final) {
		if (t->diverged)
			return 0;
		*value = m->last, *step = m->last_step;
	} else if (o->maximize) {
		*value = m->max, *step = m->max_step;
	} else {
		*value = m->min, *step = m->min_step;
	}
	return 1;
}

/* ---- series ---- */

static void
curve_sort(struct tp_curve *c)
{
	size_t w = 0;

	/* Insertion sort: points arrive nearly sorted.  Stable, so the later
	 * of two points at the same step wins below. */
	for (size_t i = 1; i < c->n; i++) {
		int64_t s = c->step[i];
		double v = c->val[i];
		size_t j = i;
		while (j > 0 && c->step[j - 1] > s) {
			c->step[j] = c->step[j - 1];
			c->val[j] = c->val[j - 1];
			j--;
		}
		c->step[j] = s;
		c->val[j] = v;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (w > 0 && c->step[w - 1] == c->step[i])
			w--;
		c->step[w] = c->step[i];
		c->val[w++] = c->val[i];
	}
	c->n = w;
}

int
tp_store_series(const struct tp_store *s, const struct tp_trial *t,
                struct tp_series *out)
{
	struct sink k = {t->study, t->id, out, NULL, 0};
	int rc = 0;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < t->nobjects && rc == 0; i++) {
		char *path = obj_path(s->dir, t->objects[i]);
		struct tp_rd *rd = tp_rd_open(path);
		free(path);
		if (!rd) {
			rc = -1;
			break;
		}
		rc = parse_stream(rd, NULL, &k, NULL, -1);
		tp_rd_close(rd);
	}
	free(k.caps);
	for (size_t i = 0; i < out->ncurves; i++)
		curve_sort(&out->curves[i]);
	if (rc != 0)
		tp_series_release(out);
	return rc;
}

void
tp_series_release(struct tp_series *se)
{
	if (!se)
		return;
	for (size_t i = 0; i < se->ncurves; i++) {
		free(se->curves[i].split), free(se->curves[i].name);
		free(se->curves[i].step), free(se->curves[i].val);
	}
	free(se->curves);
	memset(se, 0, sizeof *se);
}

const struct tp_curve *
tp_series_get(const struct tp_series *se, const char *split, const char *name)
{
	for (size_t i = 0; i < se->ncurves; i++)
		if (strcmp(se->curves[i].name, name) == 0 &&
		    strcmp(se->curves[i].split, split) == 0)
			return &se->curves[i];
	return NULL;
}

/* ---- reports ---- */

struct rank_ctx {
	double v;
	int64_t id;
	size_t i;
};

static int
cmp_rank(const void *a, const void *b)
{
	const struct rank_ctx *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

size_t *
tp_store_rank(const struct tp_trial *t, size_t n, const struct tp_objective *o,
              size_t *nranked)
{
	struct rank_ctx *r = tp_xcalloc(n + 1, sizeof *r);
	size_t *idx = tp_xcalloc(n + 1, sizeof *idx), k = 0, m = 0;
	double v;
	int64_t step;

	for (size_t i = 0; i < n; i++)
		if (tp_trial_objective(&t[i], o, &v, &step)) {
			r[k].v = o->maximize ? -v : v;
			r[k].id = t[i].id;
			r[k++].i = i;
		}
	xsort(r, k, sizeof *r, cmp_rank);
	for (size_t i = 0; i < k; i++)
		idx[m++] = r[i].i;
	*nranked = k;
	/* Then the trials without a value, by id (t is sorted by id). */
	for (size_t i = 0; i < n; i++)
		if (!tp_trial_objective(&t[i], o, &v, &step))
			idx[m++] = i;
	free(r);
	return idx;
}

static void
objective_label(const struct tp_objective *o, char *buf, size_t n)
{
	snprintf(buf, n, "%s %s %s%s", o->final ? "final" : "best", o->split,
	         o->metric, o->maximize ? " (max)" : "");
}

void
tp_store_study_table(const struct tp_store *s, const struct tp_objective *o,
                     struct tp_table *out)
{
	static const char *const head[] = {
		"study", "trials", "diverged", "objective", "value", "trial",
		"step", "checkpoint", "config", "config_sha256", "notes", "goal",
		"command", "created"};
	char lab[160];

	tp_table_init(out, sizeof head / sizeof *head, head);
	for (size_t i = 0; i < s->nstudies; i++) {
		const struct tp_study *st = &s->studies[i];
		size_t n, div = 0;
		const struct tp_trial *t = tp_store_trials(s, st->name, &n);
		struct tp_objective so = tp_objective_for(o, t, n);
		size_t nr, *idx = tp_store_rank(t, n, &so, &nr);
		double v;
		int64_t step;

		for (size_t j = 0; j < n; j++)
			div += t[j].diverged != 0;
		tp_table_row(out);
		tp_table_set(out, 0, st->name);
		tp_table_num(out, 1, (double)n);
		tp_table_num(out, 2, (double)div);
		objective_label(&so, lab, sizeof lab);
		tp_table_set(out, 3, lab);
		if (nr > 0) {
			const struct tp_trial *b = &t[idx[0]];
			(void)tp_trial_objective(b, &so, &v, &step);
			tp_table_num(out, 4, v);
			tp_table_num(out, 5, (double)b->id);
			tp_table_num(out, 6, (double)step);
			tp_table_set(out, 7, tp_trial_ckpt(b, step));
			tp_table_set(out, 12, st->command ? st->command : b->command);
		} else {
			tp_table_set(out, 12, st->command);
		}
		tp_table_set(out, 8, st->config);
		tp_table_set(out, 9, st->config_sha256);
		tp_table_set(out, 10, st->notes);
		tp_table_set(out, 11, st->goal);
		if (st->created > 0) {
			/* UTC, so the table reads the same everywhere. */
			time_t c = (time_t)st->created;
			struct tm tm;
			char when[32];
			if (gmtime_r(&c, &tm) &&
			    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
				tp_table_set(out, 13, when);
		}
		free(idx);
	}
}

static void
param_text(const struct tp_tparam *p, char *buf, size_t n)
{
	if (!p)
		snprintf(buf, n, "-");
	else if (p->type == TP_TV_STR)
		snprintf(buf, n, "%s", p->str);
	else if (p->type == TP_TV_BOOL)
		snprintf(buf, n, "%s", p->num ? "true" : "false");
	else
		snprintf(buf, n, "%.6g", p->num);
}

static void
param_cell(struct tp_table *out, size_t col, const struct tp_tparam *p)
{
	char buf[256];

	if (p && p->type == TP_TV_NUM) {
		tp_table_num(out, col, p->num);
		return;
	}
	param_text(p, buf, sizeof buf);
	tp_table_set(out, col, p ? buf : NULL);
}

/* Parameter names of the trials: scientific first, then by name. */
static size_t
param_names(const struct tp_trial *t, size_t n, char ***out, int **sci)
{
	char **k = NULL;
	int *sc = NULL;
	size_t nk = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < t[i].nparams; j++) {
			size_t q;
			for (q = 0; q < nk && strcmp(k[q], t[i].params[j].key) != 0; q++)
				;
			if (q < nk) {
				sc[q] |= t[i].params[j].scientific;
				continue;
			}
			k = tp_xrealloc(k, (nk + 1) * sizeof *k);
			sc = tp_xrealloc(sc, (nk + 1) * sizeof *sc);
			k[nk] = t[i].params[j].key;
			sc[nk++] = t[i].params[j].scientific;
		}
	/* insertion sort: scientific first, then by name */
	for (size_t i = 1; i < nk; i++)
		for (size_t j = i; j > 0; j--) {
			int sw = sc[j] > sc[j - 1] ||
			         (sc[j] == sc[j - 1] && strcmp(k[j], k[j - 1]) < 0);
			if (!sw)
				break;
			char *tk = k[j];
			int ts = sc[j];
			k[j] = k[j - 1], sc[j] = sc[j - 1];
			k[j - 1] = tk, sc[j - 1] = ts;
		}
	*out = k;
	*sci = sc;
	return nk;
}

void
tp_store_trial_table(const struct tp_store *s, const char *study,
                     const struct tp_objective *o, size_t limit,
                     struct tp_table *out)
{
	size_t n, nr, nk;
	const struct tp_trial *t = tp_store_trials(s, study, &n);
	struct tp_objective so = tp_objective_for(o, t, n);
	size_t *idx = tp_store_rank(t, n, &so, &nr);
	char **keys, lab[160];
	int *sci;
	const char **head;

	nk = param_names(t, n, &keys, &sci);
	head = tp_xmallocarray(nk + 7, sizeof *head);
	objective_label(&so, lab, sizeof lab);
	head[0] = "trial", head[1] = "status", head[2] = lab, head[3] = "step";
	head[4] = "checkpoint", head[5] = "steps", head[6] = "seed";
	for (size_t q = 0; q < nk; q++)
		head[7 + q] = keys[q];
	tp_table_init(out, nk + 7, head);
	for (size_t r = 0; r < n && (limit == 0 || r < limit); r++) {
		const struct tp_trial *x = &t[idx[r]];
		double v;
		int64_t step;
		tp_table_row(out);
		tp_table_num(out, 0, (double)x->id);
		if (x->diverged)
			tp_table_setf(out, 1, "diverged@%lld", (long long)x->diverged_step);
		else
			tp_table_set(out, 1, x->nsums ? "ok" : "no metrics");
		if (tp_trial_objective(x, &so, &v, &step)) {
			tp_table_num(out, 2, v);
			tp_table_num(out, 3, (double)step);
			tp_table_set(out, 4, tp_trial_ckpt(x, step));
		}
		if (x->steps >= 0)
			tp_table_num(out, 5, (double)x->steps);
		if (x->has_seed)
			tp_table_num(out, 6, (double)x->seed);
		for (size_t q = 0; q < nk; q++)
			param_cell(out, 7 + q, tp_trial_param(x, keys[q]));
	}
	free(head);
	free(keys);
	free(sci);
	free(idx);
}

void
tp_trial_sci_text(const struct tp_trial *t, const char *sep, char *buf,
                  size_t n)
{
	size_t o = 0;
	char v[256];

	buf[0] = 0;
	for (size_t j = 0; j < t->nparams && o < n; j++) {
		if (!t->params[j].scientific)
			continue;
		param_text(&t->params[j], v, sizeof v);
		o += (size_t)snprintf(buf + o, n - o, "%s%s=%s", o ? sep : "",
		                      t->params[j].key, v);
	}
}

/* Whether key takes more than one value (absent counting as one) among
 * the trials t[0..n). */
static int
param_varies(const struct tp_trial *const *t, size_t n, const char *key)
{
	const struct tp_tparam *first = n ? tp_trial_param(t[0], key) : NULL;

	for (size_t i = 1; i < n; i++) {
		const struct tp_tparam *p = tp_trial_param(t[i], key);
		if (!p != !first)
			return 1;
		if (!p)
			continue;
		if (p->type != first->type || p->num != first->num ||
		    (p->str && first->str && strcmp(p->str, first->str) != 0) ||
		    !p->str != !first->str)
			return 1;
	}
	return 0;
}

void
tp_store_compare_table(const struct tp_store *s, const char *const *studies,
                       size_t nstudies, const struct tp_objective *o,
                       struct tp_table *out)
{
	const struct tp_trial **best = NULL;
	struct tp_objective *objs = NULL;
	size_t ng = 0, nk = 0;
	char **keys = NULL, key[1024], other[1024], lab[160];
	int *sci = NULL;
	const char **head;
	static const char *const rows[] = {"study", "scientific", "trial",
	                                   "objective", "value", "step",
	                                   "checkpoint", "trials"};
	size_t *counts = NULL;
	const struct tp_trial **all = NULL;
	size_t nall = 0;

	for (size_t i = 0; i < s->nstudies; i++) {
		const char *name = s->studies[i].name;
		size_t n, k = 0;
		const struct tp_trial *t;
		struct tp_objective so;
		if (nstudies) {
			while (k < nstudies && strcmp(studies[k], name) != 0)
				k++;
			if (k == nstudies)
				continue;
		}
		t = tp_store_trials(s, name, &n);
		all = tp_xrealloc(all, (nall + n + 1) * sizeof *all);
		for (size_t a = 0; a < n; a++)
			all[nall++] = &t[a];
		so = tp_objective_for(o, t, n);
		/* Each group of equal scientific values: its best trial. */
		unsigned char *done = tp_xcalloc(n + 1, 1);
		for (size_t a = 0; a < n; a++) {
			const struct tp_trial *b = NULL;
			double bv = 0, v;
			int64_t st;
			size_t cnt = 0;
			if (done[a])
				continue;
			tp_trial_sci_text(&t[a], " ", key, sizeof key);
			for (size_t c = a; c < n; c++) {
				tp_trial_sci_text(&t[c], " ", other, sizeof other);
				if (done[c] || strcmp(key, other) != 0)
					continue;
				done[c] = 1;
				cnt++;
				if (tp_trial_objective(&t[c], &so, &v, &st) &&
				    (!b || (so.maximize ? v > bv : v < bv)))
					b = &t[c], bv = v;
			}
			if (!b)
				continue;
			best = tp_xrealloc(best, (ng + 1) * sizeof *best);
			objs = tp_xrealloc(objs, (ng + 1) * sizeof *objs);
			counts = tp_xrealloc(counts, (ng + 1) * sizeof *counts);
			best[ng] = b, objs[ng] = so, counts[ng++] = cnt;
		}
		free(done);
	}
	/* Parameters of all the best trials: one row each. */
	{
		const struct tp_trial *flat = NULL;
		struct tp_trial *copy = tp_xcalloc(ng + 1, sizeof *copy);
		for (size_t g = 0; g < ng; g++)
			copy[g] = *best[g]; /* shallow: param_names only reads */
		flat = copy;
		nk = param_names(flat, ng, &keys, &sci);
		free(copy);
	}
	/* Only what the comparison is about: scientific values and the
	 * hyperparameters that vary among the trials (the nuisance ones);
	 * fixed values are the same in every column and only add noise. */
	{
		size_t w = 0;
		for (size_t q = 0; q < nk; q++)
			if (sci[q] || param_varies(all, nall, keys[q])) {
				keys[w] = keys[q];
				sci[w++] = sci[q];
			}
		nk = w;
	}
	free(all);
	/* Column names are unique (JSON Lines keys): study and its values. */
	head = tp_xmallocarray(ng + 1, sizeof *head);
	head[0] = "field";
	for (size_t g = 0; g < ng; g++) {
		size_t l;
		tp_trial_sci_text(best[g], " ", key, sizeof key);
		l = strlen(best[g]->study) + strlen(key) + 2;
		head[1 + g] = tp_xmalloc(l);
		snprintf((char *)head[1 + g], l, "%s%s%s", best[g]->study,
		         *key ? " " : "", key);
	}
	tp_table_init(out, ng + 1, head);
	for (size_t g = 0; g < ng; g++)
		free((char *)head[1 + g]);
	for (size_t r = 0; r < sizeof rows / sizeof *rows + nk; r++) {
		tp_table_row(out);
		if (r < sizeof rows / sizeof *rows)
			tp_table_set(out, 0, rows[r]);
		else
			tp_table_setf(out, 0, "%s%s", keys[r - 8],
			              sci[r - 8] ? " (scientific)" : "");
		for (size_t g = 0; g < ng; g++) {
			const struct tp_trial *b = best[g];
			double v;
			int64_t st;
			(void)tp_trial_objective(b, &objs[g], &v, &st);
			switch (r) {
			case 0: tp_table_set(out, 1 + g, b->study); break;
			case 1:
				tp_trial_sci_text(b, " ", key, sizeof key);
				tp_table_set(out, 1 + g, *key ? key : NULL);
				break;
			case 2: tp_table_num(out, 1 + g, (double)b->id); break;
			case 3:
				objective_label(&objs[g], lab, sizeof lab);
				tp_table_set(out, 1 + g, lab);
				break;
			case 4: tp_table_num(out, 1 + g, v); break;
			case 5: tp_table_num(out, 1 + g, (double)st); break;
			case 6: tp_table_set(out, 1 + g, tp_trial_ckpt(b, st)); break;
			case 7: tp_table_num(out, 1 + g, (double)counts[g]); break;
			default:
				param_cell(out, 1 + g, tp_trial_param(b, keys[r - 8]));
			}
		}
	}
	free(head);
	free(keys);
	free(sci);
	free(best);
	free(objs);
	free(counts);
}

int
tp_store_export(const struct tp_store *s, const char *study,
                const struct tp_objective *o, struct tp_wr *w)
{
	struct tp_rb b;
	int rc = 0;

	tp_rb_init(&b);
	for (size_t i = 0; i < s->nstudies && rc == 0; i++) {
		size_t n;
		const struct tp_trial *t;
		struct tp_objective so;
		if (study && strcmp(study, s->studies[i].name) != 0)
			continue;
		t = tp_store_trials(s, s->studies[i].name, &n);
		so = tp_objective_for(o, t, n);
		for (size_t j = 0; j < n && rc == 0; j++) {
			double v;
			int64_t st;
			int has = tp_trial_objective(&t[j], &so, &v, &st);
			if (!has && !t[j].diverged)
				continue; /* nothing learned from it yet */
			tp_rb_begin(&b, "result");
			tp_rb_str(&b, "study", t[j].study);
			tp_rb_i64(&b, "trial", t[j].id);
			tp_rb_map_begin(&b, "params");
			for (size_t q = 0; q < t[j].nparams; q++) {
				const struct tp_tparam *p = &t[j].params[q];
				if (p->type == TP_TV_STR)
					tp_rb_str(&b, p->key, p->str);
				else if (p->type == TP_TV_BOOL)
					tp_rb_bool(&b, p->key, p->num != 0);
				else if (p->num == floor(p->num) && fabs(p->num) < 9e15)
					tp_rb_i64(&b, p->key, (int64_t)p->num);
				else
					tp_rb_f64(&b, p->key, p->num);
			}
			tp_rb_map_end(&b);
			if (has) {
				tp_rb_f64(&b, "objective", v);
				tp_rb_i64(&b, "step", st);
			}
			tp_rb_str(&b, "metric", so.metric);
			tp_rb_str(&b, "split", so.split);
			tp_rb_bool(&b, "maximize", so.maximize);
			tp_rb_bool(&b, "diverged", t[j].diverged);
			rc = tp_wr_rb(w, &b);
		}
	}
	tp_rb_release(&b);
	return rc;
}

int
tp_store_ingest_path(const char *dir, const char *path, const char *study,
                     int64_t trial, int *added)
{
	struct stat st;

	if (path && strcmp(path, "-") != 0 && stat(path, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return tp_store_ingest_dir(dir, path, study, trial, added);
	return tp_store_ingest(dir, path, study, trial, added);
}

int
tp_store_space_bounds(const char *path, struct tp_bound **b, size_t *n)
{
	struct tp_space sp;
	int rc = 0;

	*b = NULL;
	*n = 0;
	tp_space_init(&sp, path);
	/* A large budget so the Adam preset declares all its parameters. */
	if (tp_space_read(&sp, path) != 0 || tp_space_finish(&sp, 1000) != 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < sp.n; i++) {
		const struct tp_param *p = &sp.p[i];
		if (p->role != TP_ROLE_NUISANCE ||
		    (p->type != TP_P_FLOAT && p->type != TP_P_INT))
			continue;
		*b = tp_xrealloc(*b, (*n + 1) * sizeof **b);
		(*b)[*n].name = tp_xstrdup(p->name);
		(*b)[*n].lo = p->lo;
		(*b)[*n].hi = p->hi;
		(*b)[*n].log = p->scale == TP_SCALE_LOG ? 1
		               : p->scale == TP_SCALE_REVLOG ? 2 : 0;
		(*n)++;
	}
	tp_space_release(&sp);
	return rc;
}

void
tp_store_bounds_free(struct tp_bound *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)b[i].name);
	free(b);
}
