/*
 * select.c: pick the best checkpoints of one or many runs after the fact,
 * from the evaluation records the runs left behind (see select.h for the
 * rules).  Files are checked lazily, in rank order, so choosing the best of
 * a hundred large checkpoints opens only the few that get picked or fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/ckpt.h"
#include "tp/record.h"
#include "tp/select.h"

/* A run: one input, or within an input the records of one (study, trial)
 * when they name one that is not the input's own (tp-eval output of many
 * trials).  Runs are numbered in order of first appearance. */
struct run {
	char *name;    /* the input as given, or "INPUT:STUDY/TRIAL" */
	char *dir;     /* directory of its stream, for relative paths */
	char *run_dir; /* the config record's "run_dir", or NULL */
	char *study;   /* NULL when unknown */
	int64_t trial; /* -1 when unknown */
	int has_last;
	int64_t last_step;
	double last_value;
};

/* An evaluation of the selected split that reported the metric. */
struct point {
	size_t run, order;
	int64_t step;
	double value;
	char *raw;   /* its "checkpoint" as written, or NULL */
	size_t file; /* that file's index when raw is set */
};

/* A checkpoint file some record names. */
struct file {
	size_t run, order;
	int64_t step;
	char *raw, *path; /* as written; resolved (NULL until resolved) */
	int state;        /* 0 unchecked, 1 good, -1 skipped */
	int picked;
};

struct cand {
	size_t file; /* index into files */
	double value;
	size_t run, order;
	int64_t step;
};

struct tp_select {
	struct tp_select_opts o;
	struct run *runs;
	size_t nruns;
	struct point *pts;
	size_t npts, cpts;
	struct file *files;
	size_t nfiles, cfiles;
	size_t order; /* records seen, across runs */
	struct tp_pick *picks;
	size_t npicks;
	const char **others;
	size_t nothers;
};

int
tp_select_maximize(const char *m)
{
	static const char *const up[] = {"auc", "f1", "r2", "precision", "recall"};

	if (strstr(m, "acc"))
		return 1;
	for (size_t i = 0; i < sizeof up / sizeof *up; i++)
		if (strcmp(m, up[i]) == 0)
			return 1;
	return 0;
}

struct tp_select *
tp_select_new(const struct tp_select_opts *o)
{
	struct tp_select *s = tp_xcalloc(1, sizeof *s);

	s->o = *o;
	if (!s->o.metric)
		s->o.metric = "error";
	if (!s->o.split)
		s->o.split = "valid";
	if (s->o.maximize < 0)
		s->o.maximize = tp_select_maximize(s->o.metric);
	if (s->o.keep == 0)
		s->o.keep = 1;
	return s;
}

void
tp_select_free(struct tp_select *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nruns; i++) {
		free(s->runs[i].name);
		free(s->runs[i].dir);
		free(s->runs[i].run_dir);
		free(s->runs[i].study);
	}
	for (size_t i = 0; i < s->npts; i++)
		free(s->pts[i].raw);
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].raw);
		free(s->files[i].path);
	}
	free(s->runs);
	free(s->pts);
	free(s->files);
	free(s->picks);
	free(s->others);
	free(s);
}

static int
is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
exists(const char *p)
{
	return access(p, F_OK) == 0;
}

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = tp_xmalloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return tp_xstrdup(".");
	if (slash == path)
		return tp_xstrdup("/");
	return tp_xstrndup(path, (size_t)(slash - path));
}

/* Where the file a record names is, by the rules in select.h. */
static char *
resolve(const struct run *r, const char *raw)
{
	if (raw[0] == '/' || exists(raw))
		return tp_xstrdup(raw);
	{
		char *p = join(r->dir, raw);
		if (exists(p))
			return p;
		free(p);
	}
	if (r->run_dir) {
		size_t n = strlen(r->run_dir);
		while (n > 1 && r->run_dir[n - 1] == '/')
			n--;
		if (strncmp(raw, r->run_dir, n) == 0 && raw[n] == '/') {
			char *p = join(r->dir, raw + n + 1);
			if (exists(p))
				return p;
			free(p);
		}
	}
	return tp_xstrdup(raw);
}

/* The index of the run's file named raw, added if new.  Runs compare as
 * integers first, so the scan stays cheap for a whole study. */
static size_t
add_file(struct tp_select *s, size_t run, int64_t step, const char *raw)
{
	struct file *f;

	for (size_t i = s->nfiles; i-- > 0;)
		if (s->files[i].run == run && strcmp(s->files[i].raw, raw) == 0)
			return i;
	if (s->nfiles == s->cfiles) {
		s->cfiles = s->cfiles ? s->cfiles * 2 : 16;
		s->files = tp_xrealloc(s->files, (s->cfiles) * sizeof *s->files);
	}
	f = &s->files[s->nfiles];
	memset(f, 0, sizeof *f);
	f->run = run;
	f->step = step;
	f->order = s->order;
	f->raw = tp_xstrdup(raw);
	return s->nfiles++;
}

static void
add_point(struct tp_select *s, size_t run, int64_t step, double v,
          const char *raw, size_t file)
{
	struct point *p;

	if (s->npts == s->cpts) {
		s->cpts = s->cpts ? s->cpts * 2 : 64;
		s->pts = tp_xrealloc(s->pts, (s->cpts) * sizeof *s->pts);
	}
	p = &s->pts[s->npts++];
	p->run = run;
	p->order = s->order;
	p->step = step;
	p->value = v;
	p->raw = raw ? tp_xstrdup(raw) : NULL;
	p->file = file;
}

static int
is_split(const struct tp_val *rec, const char *split)
{
	const struct tp_val *v = tp_val_get(rec, "split");

	/* The minimal schema lets other trainers leave the split out. */
	return v ? tp_val_streq(v, split) : strcmp(split, "valid") == 0;
}

static int
same_ids(const struct run *r, const char *study, int64_t trial)
{
	return r->trial == trial &&
	       strcmp(r->study ? r->study : "", study ? study : "") == 0;
}

/* The run a record belongs to: the input's own (def) unless it names a
 * study or trial of its own. */
static size_t
run_for(struct tp_select *s, size_t def, const struct tp_val *rec)
{
	char *study = tp_val_strdup(tp_val_get(rec, "study"));
	const struct tp_val *tv = tp_val_get(rec, "trial");
	int64_t trial = -1;
	struct run *r;
	char tbuf[32];
	size_t n;

	if (!tv || tp_val_i64(tv, &trial) != 0 || trial < 0)
		trial = -1;
	if (!study && trial < 0)
		return def;
	for (size_t i = def; i < s->nruns; i++)
		if (same_ids(&s->runs[i], study, trial)) {
			free(study);
			return i;
		}
	s->runs = tp_xrealloc(s->runs, (s->nruns + 1) * sizeof *s->runs);
	r = &s->runs[s->nruns];
	memset(r, 0, sizeof *r);
	snprintf(tbuf, sizeof tbuf, "%lld", (long long)trial);
	n = strlen(s->runs[def].name) + (study ? strlen(study) : 0) + 40;
	r->name = tp_xmalloc(n);
	snprintf(r->name, n, "%s:%s%s%s", s->runs[def].name, study ? study : "",
	         study && trial >= 0 ? "/" : "", trial >= 0 ? tbuf : "");
	r->dir = tp_xstrdup(s->runs[def].dir);
	r->run_dir = s->runs[def].run_dir ? tp_xstrdup(s->runs[def].run_dir) : NULL;
	r->study = study;
	r->trial = trial;
	return s->nruns++;
}

static int
read_records(struct tp_select *s, struct tp_rd *rd, size_t def)
{
	const struct tp_val *rec;
	int n;

	while ((n = tp_rd_next(rd, &rec)) == 1) {
		const struct tp_val *type = tp_val_get(rec, "type");
		const struct tp_val *mv, *cv;
		struct run *r;
		int64_t step;
		size_t run, file;
		double v;
		char *raw;

		s->order++;
		if (tp_val_streq(type, "config")) {
			/* The input's own run: its ids and where it was written. */
			r = &s->runs[def];
			free(r->run_dir);
			r->run_dir = tp_val_strdup(tp_val_get(rec, "run_dir"));
			free(r->study);
			r->study = tp_val_strdup(tp_val_get(rec, "study"));
			if (tp_val_i64(tp_val_get(rec, "trial"), &r->trial) != 0 ||
			    r->trial < 0)
				r->trial = -1;
		} else if (tp_val_streq(type, "checkpoint")) {
			raw = tp_val_strdup(tp_val_get(rec, "path"));
			if (raw && raw[0]) {
				if (tp_rec_need_i64(rd, rec, "step", &step) != 0) {
					free(raw);
					return -1;
				}
				add_file(s, run_for(s, def, rec), step, raw);
			}
			free(raw);
		} else if (tp_val_streq(type, "eval") && is_split(rec, s->o.split)) {
			if (tp_rec_need_i64(rd, rec, "step", &step) != 0)
				return -1;
			cv = tp_val_get(rec, "checkpoint");
			raw = cv ? tp_val_strdup(cv) : NULL;
			if (cv && !raw) {
				tp_rd_errorf(rd, "key \"checkpoint\": expected str, found %s",
				             tp_vtype_name(tp_val_type(cv)));
				return -1;
			}
			if (raw && !raw[0]) {
				free(raw);
				raw = NULL;
			}
			run = run_for(s, def, rec);
			file = raw ? add_file(s, run, step, raw) : 0;
			mv = tp_val_get(rec, s->o.metric);
			if (mv && tp_val_type(mv) != TP_V_NIL) {
				if (tp_val_f64(mv, &v) != 0) {
					tp_rd_errorf(rd, "key \"%s\": expected a number, found %s",
					             s->o.metric, tp_vtype_name(tp_val_type(mv)));
					free(raw);
					return -1;
				}
				add_point(s, run, step, v, raw, file);
				/* A later record of the same step wins: a re-evaluation. */
				r = &s->runs[run];
				if (!r->has_last || step >= r->last_step) {
					r->has_last = 1;
					r->last_step = step;
					r->last_value = v;
				}
			}
			free(raw);
		}
	}
	return n;
}

int
tp_select_read(struct tp_select *s, const char *path)
{
	struct run *r;
	const char *stream = path;
	char *alloc = NULL;
	struct tp_rd *rd;
	int rc;

	if (strcmp(path, "-") != 0 && is_dir(path)) {
		alloc = join(path, "metrics.tpr");
		if (!exists(alloc)) {
			char *z = join(path, "metrics.tpr.zst");
			if (exists(z)) {
				free(alloc);
				alloc = z;
			} else {
				free(z);
			}
		}
		stream = alloc;
	}
	rd = tp_rd_open(stream);
	if (!rd) {
		free(alloc);
		return -1;
	}
	s->runs = tp_xrealloc(s->runs, (s->nruns + 1) * sizeof *s->runs);
	r = &s->runs[s->nruns];
	memset(r, 0, sizeof *r);
	r->name = tp_xstrdup(path);
	r->dir = strcmp(stream, "-") == 0 ? tp_xstrdup(".") : dir_of(stream);
	r->trial = -1;
	s->nruns++;
	rc = read_records(s, rd, s->nruns - 1);
	tp_rd_close(rd);
	free(alloc);
	return rc < 0 ? -1 : 0;
}

/* Candidates: points with a finite value whose checkpoint is known,
 * directly or through a checkpoint record of the same run and step. */
static struct cand *
candidates(struct tp_select *s, size_t *n)
{
	struct cand *c = tp_xcalloc(s->npts + 1, sizeof *c);

	*n = 0;
	for (size_t i = 0; i < s->npts; i++) {
		const struct point *p = &s->pts[i];
		const struct run *r = &s->runs[p->run];
		size_t f;

		if (!isfinite(p->value))
			continue;
		if (s->o.final &&
		    (p->step != r->last_step || !isfinite(r->last_value)))
			continue;
		if (p->raw)
			f = p->file;
		else
			for (f = 0; f < s->nfiles; f++)
				if (s->files[f].run == p->run && s->files[f].step == p->step)
					break;
		if (f == s->nfiles)
			continue;
		c[*n].file = f;
		c[*n].value = s->o.final ? r->last_value : p->value;
		c[*n].run = p->run;
		c[*n].order = p->order;
		c[*n].step = p->step;
		(*n)++;
	}
	return c;
}

/* Best first; ties to the earlier step, run, record (select.h). */
static int
cmp_cand(const void *pa, const void *pb, void *arg)
{
	const struct cand *a = pa, *b = pb;
	int max = *(const int *)arg;

	if (a->value != b->value)
		return (a->value < b->value) != max ? -1 : 1;
	if (a->step != b->step)
		return a->step < b->step ? -1 : 1;
	if (a->run != b->run)
		return a->run < b->run ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Check a file once: 1 good, 0 skipped (said why unless quiet). */
static int
check_file(struct tp_select *s, struct file *f)
{
	char why[512];
	struct stat st;
	int fd, kind;

	if (f->state)
		return f->state > 0;
	f->state = -1;
	why[0] = '\0';
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		snprintf(why, sizeof why, "%s", strerror(errno));
	else if (fstat(fd, &st) != 0)
		snprintf(why, sizeof why, "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(why, sizeof why, "not a regular file");
	if (fd >= 0)
		close(fd);
	if (!why[0]) {
		kind = tp_ckpt_sniff(f->path);
		if (kind < 0) {
			snprintf(why, sizeof why, "cannot read");
		} else if (kind == 1) {
			struct tp_ckpt *c = tp_ckpt_open_err(f->path, why, sizeof why);
			if (c)
				why[0] = '\0';
			tp_ckpt_close(c);
		}
	}
	if (why[0]) {
		if (!s->o.quiet)
			tp_errorf("skipping %s: %s", f->path, why);
		return 0;
	}
	f->state = 1;
	return 1;
}

/* Two records (or runs) may name the same file: print it once. */
static int
already_picked(const struct tp_select *s, const struct file *f)
{
	for (size_t i = 0; i < s->npicks; i++)
		if (strcmp(s->picks[i].path, f->path) == 0)
			return 1;
	return 0;
}

static void
add_pick(struct tp_select *s, const struct cand *c, size_t rank)
{
	struct tp_pick *p;

	s->picks = tp_xrealloc(s->picks, (s->npicks + 1) * sizeof *s->picks);
	p = &s->picks[s->npicks++];
	p->path = s->files[c->file].path;
	p->run = s->runs[c->run].name;
	p->step = c->step;
	p->value = c->value;
	p->rank = rank;
	s->files[c->file].picked = 1;
}

size_t
tp_select_choose(struct tp_select *s, const struct tp_pick **picks)
{
	size_t n, *taken = tp_xcalloc(s->nruns + 1, sizeof *taken);
	struct cand *c;

	for (size_t i = 0; i < s->nfiles; i++)
		if (!s->files[i].path)
			s->files[i].path = resolve(&s->runs[s->files[i].run],
			                           s->files[i].raw);
	c = candidates(s, &n);
	qsort_r(c, n, sizeof *c, cmp_cand, &s->o.maximize);
	if (s->o.per_run) {
		/* Run by run in input order, each ranked on its own. */
		for (size_t r = 0; r < s->nruns; r++)
			for (size_t i = 0; i < n && taken[r] < s->o.keep; i++) {
				struct file *f = &s->files[c[i].file];
				if (c[i].run != r || f->picked || already_picked(s, f) ||
				    !check_file(s, f))
					continue;
				add_pick(s, &c[i], ++taken[r]);
			}
	} else {
		for (size_t i = 0; i < n && s->npicks < s->o.keep; i++) {
			struct file *f = &s->files[c[i].file];
			if (f->picked || already_picked(s, f) || !check_file(s, f))
				continue;
			add_pick(s, &c[i], s->npicks + 1);
		}
	}
	free(c);
	free(taken);
	*picks = s->picks;
	return s->npicks;
}

static int
cmp_file(const void *pa, const void *pb)
{
	const struct file *a = *(const struct file *const *)pa;
	const struct file *b = *(const struct file *const *)pb;

	if (a->run != b->run)
		return a->run < b->run ? -1 : 1;
	if (a->step != b->step)
		return a->step < b->step ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

size_t
tp_select_others(struct tp_select *s, const char *const **paths)
{
	struct file **fs = tp_xcalloc(s->nfiles + 1, sizeof *fs);
	size_t n = 0;

	for (size_t i = 0; i < s->nfiles; i++) {
		if (!s->files[i].path)
			s->files[i].path = resolve(&s->runs[s->files[i].run],
			                           s->files[i].raw);
		fs[n++] = &s->files[i];
	}
	qsort(fs, n, sizeof *fs, cmp_file);
	free(s->others);
	s->others = tp_xcalloc(n + 1, sizeof *s->others);
	s->nothers = 0;
	for (size_t i = 0; i < n; i++) {
		int dup = fs[i]->picked || !exists(fs[i]->path);
		/* The same file named by two runs or records: once, and never
		 * when any of its names was picked. */
		for (size_t j = 0; j < s->nfiles && !dup; j++)
			if (s->files[j].picked && s->files[j].path &&
			    strcmp(s->files[j].path, fs[i]->path) == 0)
				dup = 1;
		for (size_t j = 0; j < s->nothers && !dup; j++)
			if (strcmp(s->others[j], fs[i]->path) == 0)
				dup = 1;
		if (!dup)
			s->others[s->nothers++] = fs[i]->path;
	}
	free(fs);
	*paths = s->others;
	return s->nothers;
}
