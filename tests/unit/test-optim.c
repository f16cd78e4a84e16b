/*
 * test-optim: the optimizers and gradient clipping against PyTorch, and the
 * properties a resumed run relies on.
 *
 * tests/fixtures/optim-*.txt hold 20 updates of each case as torch 1.13
 * computed them (tests/torch/gen_optim_fixtures.py: SGD, momentum, Nesterov,
 * Adam, AdamW, with and without weight decay, exempt ranges and clipping);
 * every parameter must agree within 1e-7 + 1e-5 |want|.  Then: saving and restoring
 * the state continues bit for bit, the SIMD body and scalar tail agree, the
 * finite check and the norm are exact, and bad configurations are refused
 * with one line.
 */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "tp/optim.h"
#include "tp/pool.h"
#include "tp/schedule.h"

/* ---- stderr capture: library errors must be exactly one line ---- */

/* ---- fixtures ---- */

struct fstep {
	double lr, norm;
	float *grad, *clipped, *param;
	int has_grad, has_norm, has_param;
};

struct fixture {
	struct tp_optim_config oc;
	struct tp_schedule sc;
	double clip;
	size_t noff[8], nlen[8];
	int nranges;
	size_t n;
	int steps;
	float *p0;
	float *curv, *target; /* quadratic runs: g = curv * (p - target) */
	struct fstep *st;
};

static int
read_vec(char *rest, float *out, size_t n)
{
	char *end;

	for (size_t i = 0; i < n; i++) {
		double v = strtod(rest, &end);
		if (end == rest)
			return -1;
		out[i] = (float)v;
		rest = end;
	}
	return 0;
}

static void
fixture_free(struct fixture *f)
{
	if (f->st)
		for (int k = 0; k < f->steps; k++) {
			free(f->st[k].grad);
			free(f->st[k].clipped);
			free(f->st[k].param);
		}
	free(f->st);
	free(f->p0);
	free(f->curv);
	free(f->target);
}

/* Read one tests/fixtures file; 0 or -1 (with a message on stdout). */
static int
fixture_load(const char *path, struct fixture *f)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, *rest, key[32];
	size_t cap = 0;
	int k = -1, bad = 0, off;

	memset(f, 0, sizeof *f);
	if (!fp) {
		printf("# cannot open %s\n", path);
		return -1;
	}
	while (!bad && getline(&line, &cap, fp) > 0) {
		if (line[0] == '#' || sscanf(line, "%31s %n", key, &off) != 1)
			continue;
		rest = line + off;
		if (!strcmp(key, "optimizer")) {
			rest[strcspn(rest, "\n")] = 0;
			bad = tp_optim_kind_parse(rest, path, &f->oc.kind) < 0;
		} else if (!strcmp(key, "momentum"))
			f->oc.momentum = strtod(rest, NULL);
		else if (!strcmp(key, "beta1"))
			f->oc.beta1 = strtod(rest, NULL);
		else if (!strcmp(key, "beta2"))
			f->oc.beta2 = strtod(rest, NULL);
		else if (!strcmp(key, "epsilon"))
			f->oc.epsilon = strtod(rest, NULL);
		else if (!strcmp(key, "weight_decay"))
			f->oc.weight_decay = strtod(rest, NULL);
		else if (!strcmp(key, "clip_norm"))
			f->clip = strtod(rest, NULL);
		else if (!strcmp(key, "no_decay") && f->nranges < 8) {
			bad = sscanf(rest, "%zu %zu", &f->noff[f->nranges],
			             &f->nlen[f->nranges]) != 2;
			f->nranges++;
		} else if (!strcmp(key, "schedule")) {
			rest[strcspn(rest, "\n")] = 0;
			bad = tp_sched_kind_parse(rest, path, &f->sc.kind) < 0;
		} else if (!strcmp(key, "base_lr"))
			f->sc.base_lr = strtod(rest, NULL);
		else if (!strcmp(key, "max_steps"))
			f->sc.max_steps = strtoull(rest, NULL, 10);
		else if (!strcmp(key, "warmup_steps"))
			f->sc.warmup_steps = strtoull(rest, NULL, 10);
		else if (!strcmp(key, "final_fraction"))
			f->sc.final_fraction = strtod(rest, NULL);
		else if (!strcmp(key, "n"))
			f->n = strtoull(rest, NULL, 10);
		else if (!strcmp(key, "steps")) {
			f->steps = atoi(rest);
			f->st = calloc((size_t)f->steps, sizeof *f->st);
			for (int i = 0; i < f->steps; i++) {
				f->st[i].grad = calloc(f->n, sizeof(float));
				f->st[i].clipped = calloc(f->n, sizeof(float));
				f->st[i].param = calloc(f->n, sizeof(float));
			}
		} else if (!strcmp(key, "p0")) {
			f->p0 = calloc(f->n, sizeof(float));
			bad = read_vec(rest, f->p0, f->n);
		} else if (!strcmp(key, "curv")) {
			f->curv = calloc(f->n, sizeof(float));
			bad = read_vec(rest, f->curv, f->n);
		} else if (!strcmp(key, "target")) {
			f->target = calloc(f->n, sizeof(float));
			bad = read_vec(rest, f->target, f->n);
		} else if (!strcmp(key, "step")) {
			k = atoi(rest);
			bad = k < 0 || k >= f->steps;
		} else if (k < 0) {
			bad = 1;
		} else if (!strcmp(key, "lr"))
			f->st[k].lr = strtod(rest, NULL);
		else if (!strcmp(key, "norm")) {
			f->st[k].norm = strtod(rest, NULL);
			f->st[k].has_norm = 1;
		} else if (!strcmp(key, "grad")) {
			bad = read_vec(rest, f->st[k].grad, f->n);
			f->st[k].has_grad = 1;
		} else if (!strcmp(key, "clipped"))
			bad = read_vec(rest, f->st[k].clipped, f->n);
		else if (!strcmp(key, "param")) {
			bad = read_vec(rest, f->st[k].param, f->n);
			f->st[k].has_param = 1;
		} else
			bad = 1;
	}
	free(line);
	fclose(fp);
	for (int i = 0; !bad && f->st && i < f->steps; i++)
		bad = !f->st[i].has_grad && !f->curv;
	if (bad || !f->p0 || !f->st || k != f->steps - 1 ||
	    !f->st[k].has_param || !f->curv != !f->target) {
		printf("# %s: malformed fixture\n", path);
		return -1;
	}
	return 0;
}

static double
relerr(double got, double want, double atol)
{
	double d = fabs(got - want);

	return d <= atol ? 0 : d / fabs(want);
}

/* Run one fixture with tp's optimizer and compare every step. */
static void
check_fixture(const char *name)
{
	char path[4096];
	const char *top = getenv("TP_TOP");
	struct fixture f;
	struct tp_optim *o;
	float *p, *g;
	double lr_err = 0, norm_err = 0, clip_err = 0, p_abs = 0, p_ratio = 0;
	size_t same = 0, total = 0, nnorm = 0;
	int setup = 1;

	snprintf(path, sizeof path, "%s/tests/fixtures/optim-%s.txt",
	         top ? top : ".", name);
	if (!CHECK(fixture_load(path, &f) == 0, "%s: fixture loads", name)) {
		fixture_free(&f);
		return;
	}
	o = tp_optim_new(&f.oc, f.n);
	setup &= o != NULL && tp_schedule_check(&f.sc) == 0;
	for (int r = 0; o && r < f.nranges; r++)
		setup &= tp_optim_no_decay(o, f.noff[r], f.nlen[r]) == 0;
	if (!CHECK(setup, "%s: optimizer and schedule accepted", name)) {
		tp_optim_free(o);
		fixture_free(&f);
		return;
	}
	p = malloc(f.n * sizeof *p);
	g = malloc(f.n * sizeof *g);
	memcpy(p, f.p0, f.n * sizeof *p);
	for (int k = 0; k < f.steps; k++) {
		const struct fstep *s = &f.st[k];
		double lr = tp_schedule_lr(&f.sc, (uint64_t)k), norm, e;

		e = relerr(lr, s->lr, 0);
		lr_err = e > lr_err ? e : lr_err;
		if (f.curv)
			for (size_t i = 0; i < f.n; i++)
				g[i] = f.curv[i] * (p[i] - f.target[i]);
		else
			memcpy(g, s->grad, f.n * sizeof *g);
		norm = tp_optim_clip_grad_norm(g, f.n, f.clip);
		if (s->has_norm) {
			e = relerr(norm, s->norm, 0);
			norm_err = e > norm_err ? e : norm_err;
			nnorm++;
		}
		for (size_t i = 0; s->has_grad && i < f.n; i++) {
			e = relerr(g[i], s->clipped[i], 1e-9);
			clip_err = e > clip_err ? e : clip_err;
		}
		tp_optim_step(o, p, g, lr);
		for (size_t i = 0; s->has_param && i < f.n; i++) {
			/* |got - want| <= 1e-7 + 1e-5 |want|: parameters are
			 * O(1), so 1e-7 is an ulp or two of theirs. */
			e = fabs((double)p[i] - s->param[i]);
			p_abs = e > p_abs ? e : p_abs;
			e /= 1e-7 + 1e-5 * fabs((double)s->param[i]);
			p_ratio = e > p_ratio ? e : p_ratio;
			same += p[i] == s->param[i];
			total++;
		}
	}
	CHECK(lr_err <= 1e-15, "%s: learning rates match the float64 closed form "
	      "(rel err %.2g)", name, lr_err);
	CHECK(nnorm && norm_err <= 1e-5, "%s: grad norm matches clip_grad_norm_ "
	      "(rel err %.2g)", name, norm_err);
	if (!f.curv)
		CHECK(clip_err <= 1e-6, "%s: clipped gradient matches torch (rel "
		      "err %.2g)", name, clip_err);
	CHECK(p_ratio <= 1, "%s: parameters match torch over %d steps (max abs "
	      "err %.2g, %.2g of the tolerance, %zu/%zu bit-identical)", name,
	      f.steps, p_abs, p_ratio, same, total);
	CHECK(tp_optim_steps(o) == (uint64_t)f.steps, "%s: update count", name);
	free(p);
	free(g);
	tp_optim_free(o);
	fixture_free(&f);
}

/* ---- properties ---- */

static void
fill(float *p, float *g, size_t n, int k)
{
	for (size_t i = 0; i < n; i++) {
		if (p)
			p[i] = (float)cos(0.3 * (double)i);
		g[i] = (float)(0.1 * sin(0.7 * (double)i + 0.9 * k));
	}
}

static struct tp_optim *
make(enum tp_optim_kind kind, size_t n, double wd)
{
	struct tp_optim_config c;
	struct tp_optim *o;

	tp_optim_config_default(&c, kind);
	c.weight_decay = wd;
	o = tp_optim_new(&c, n);
	if (!o || tp_optim_no_decay(o, 3, 9) < 0) {
		printf("not ok - cannot make an optimizer\n");
		exit(1);
	}
	return o;
}

static void
run(struct tp_optim *o, float *p, size_t n, int from, int count)
{
	float *g = malloc(n * sizeof *g);

	for (int k = from; k < from + count; k++) {
		fill(NULL, g, n, k);
		tp_optim_step(o, p, g, 0.01 * (1 + k % 3));
	}
	free(g);
}

/* 10 steps, save; 10 more; restore into a fresh optimizer twice and run
 * the same 10: all three must be the same bytes. */
static void
check_resume(enum tp_optim_kind kind)
{
	const size_t n = 101;
	float p[101], saved_p[101], a[101], b[101], *st, *saved;
	struct tp_optim *o = make(kind, n, 0.01), *r;
	size_t ns, ns2;
	uint64_t steps;
	int same = 1;

	fill(p, p, n, 0);
	run(o, p, n, 0, 10);
	st = tp_optim_state(o, &ns);
	saved = malloc((ns ? ns : 1) * sizeof *saved);
	if (ns)
		memcpy(saved, st, ns * sizeof *saved);
	memcpy(saved_p, p, sizeof p);
	steps = tp_optim_steps(o);
	run(o, p, n, 10, 10);
	memcpy(a, p, sizeof p);
	for (int rep = 0; rep < 2; rep++) {
		r = make(kind, n, 0.01);
		st = tp_optim_state(r, &ns2);
		if (ns2 != ns) {
			same = 0;
			tp_optim_free(r);
			break;
		}
		if (ns)
			memcpy(st, saved, ns * sizeof *st);
		tp_optim_set_steps(r, steps);
		memcpy(b, saved_p, sizeof b);
		run(r, b, n, 10, 10);
		same &= memcmp(a, b, sizeof a) == 0;
		st = tp_optim_state(r, &ns2);
		same &= ns == 0 || memcmp(st, tp_optim_state(o, &ns), ns * sizeof *st) == 0;
		tp_optim_free(r);
	}
	CHECK(same && steps == 10, "%s: restored state continues bit for bit",
	      tp_optim_kind_name(kind));
	CHECK((kind == TP_OPTIM_SGD) == (ns == 0) &&
	      ns == n * (kind >= TP_OPTIM_ADAM ? 2 : kind == TP_OPTIM_SGD ? 0 : 1),
	      "%s: state is %zu floats", tp_optim_kind_name(kind), ns);
	free(saved);
	tp_optim_free(o);
}

/* Element i's update must not depend on n or alignment: the SIMD body and
 * the scalar tail compute the same bits. */
static void
check_tail(enum tp_optim_kind kind)
{
	float buf[1 + 45], q[45];
	float *p = buf + 1; /* misaligned on purpose */
	struct tp_optim *o37 = make(kind, 37, 0.1), *o45 = make(kind, 45, 0.1);

	fill(p, p, 45, 0);
	memcpy(q, p, sizeof q);
	run(o37, p, 37, 0, 5);
	run(o45, q, 45, 0, 5);
	CHECK(memcmp(p, q, 37 * sizeof *p) == 0,
	      "%s: same bits whatever n and alignment", tp_optim_kind_name(kind));
	tp_optim_free(o37);
	tp_optim_free(o45);
}

/* On several threads, each element is computed by the same code: the same
 * bits as one thread, with no-decay ranges inside and across the cuts. */
static void
check_threads(enum tp_optim_kind kind)
{
	const size_t n = 300007;
	float *p1 = malloc(n * sizeof *p1), *p3 = malloc(n * sizeof *p3);
	struct tp_optim *a = make(kind, n, 0.1), *b = make(kind, n, 0.1);
	struct tp_pool *pool = tp_pool_new(3);
	int rc = tp_optim_no_decay(a, 150000 - 7, 100) | tp_optim_no_decay(b, 150000 - 7, 100) |
	         tp_optim_no_decay(a, 200001, 3) | tp_optim_no_decay(b, 200001, 3);

	tp_optim_set_pool(b, pool);
	fill(p1, p1, n, 0);
	memcpy(p3, p1, n * sizeof *p1);
	run(a, p1, n, 0, 4);
	run(b, p3, n, 0, 4);
	CHECK(rc == 0 && memcmp(p1, p3, n * sizeof *p1) == 0,
	      "%s: 3 threads give the bits of 1", tp_optim_kind_name(kind));
	tp_optim_free(a);
	tp_optim_free(b);
	tp_pool_free(pool);
	free(p1);
	free(p3);
}

/* A step in pieces (in any order) is the step: tp_optim_begin, then
 * tp_optim_apply over parts that cut through the no-decay ranges. */
static void
check_pieces(enum tp_optim_kind kind)
{
	const size_t n = 1000;
	float p1[1000], p2[1000], g[1000];
	struct tp_optim *a = make(kind, n, 0.1), *b = make(kind, n, 0.1);

	fill(p1, g, n, 0);
	memcpy(p2, p1, sizeof p2);
	for (int k = 0; k < 4; k++) {
		fill(NULL, g, n, k);
		tp_optim_step(a, p1, g, 0.01 * (k + 1));
		tp_optim_begin(b, 0.01 * (k + 1));
		tp_optim_apply(b, p2, g, 700, 300);
		tp_optim_apply(b, p2, g, 5, 695);
		tp_optim_apply(b, p2, g, 0, 5);
	}
	CHECK(memcmp(p1, p2, sizeof p1) == 0 && tp_optim_steps(a) == tp_optim_steps(b),
	      "%s: a step in pieces is the step", tp_optim_kind_name(kind));
	tp_optim_free(a);
	tp_optim_free(b);
}

/* tp_optim_apply_clear: the update of tp_optim_step (parameters and
 * state, on 3 threads, across no-decay ranges and the clearing chunks),
 * and exactly the gradients of the parts applied are zero afterwards. */
static void
check_clear(enum tp_optim_kind kind)
{
	const size_t n = 300007, cut = 123457;
	float *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
	float *g = malloc(n * sizeof *g), *g2 = malloc(n * sizeof *g2);
	struct tp_optim *a = make(kind, n, 0.1), *b = make(kind, n, 0.1);
	struct tp_pool *pool = tp_pool_new(3);
	int rc = tp_optim_no_decay(a, 4090, 10) | tp_optim_no_decay(b, 4090, 10),
	    zero = 1, kept = 1;
	size_t ns;
	float *sa, *sb;

	tp_optim_set_pool(b, pool);
	fill(p1, g, n, 0);
	memcpy(p2, p1, n * sizeof *p1);
	for (int k = 0; k < 3; k++) {
		fill(NULL, g, n, k);
		memcpy(g2, g, n * sizeof *g);
		tp_optim_step(a, p1, g, 0.01 * (k + 1));
		tp_optim_begin(b, 0.01 * (k + 1));
		tp_optim_apply_clear(b, p2, g2, cut, n - cut);
		for (size_t i = 0; i < n; i++) {
			zero &= i < cut || (g2[i] == 0 && !signbit(g2[i]));
			kept &= i >= cut || g2[i] == g[i];
		}
		tp_optim_apply_clear(b, p2, g2, 0, cut);
		for (size_t i = 0; i < cut; i++)
			zero &= g2[i] == 0 && !signbit(g2[i]);
	}
	sa = tp_optim_state(a, &ns);
	sb = tp_optim_state(b, &ns);
	CHECK(rc == 0 && memcmp(p1, p2, n * sizeof *p1) == 0 &&
	      (ns == 0 || memcmp(sa, sb, ns * sizeof *sa) == 0),
	      "%s: a step that clears its gradients is the step", tp_optim_kind_name(kind));
	CHECK(zero && kept, "%s: ... and clears exactly the gradients it applied",
	      tp_optim_kind_name(kind));
	tp_optim_free(a);
	tp_optim_free(b);
	tp_pool_free(pool);
	free(p1);
	free(p2);
	free(g);
	free(g2);
}

static void
check_no_decay(void)
{
	const size_t n = 40;
	float p1[40], p2[40], g[40];
	struct tp_optim_config c;
	struct tp_optim *a, *b;
	char err[512];
	int rc;

	/* Exempting [5,15) in three overlapping pieces is exempting it once. */
	tp_optim_config_default(&c, TP_OPTIM_ADAMW);
	c.weight_decay = 0.3;
	a = tp_optim_new(&c, n);
	b = tp_optim_new(&c, n);
	rc = tp_optim_no_decay(a, 5, 10);
	rc |= tp_optim_no_decay(b, 10, 5);
	rc |= tp_optim_no_decay(b, 5, 3);
	rc |= tp_optim_no_decay(b, 7, 4);
	rc |= tp_optim_no_decay(b, 8, 0);
	fill(p1, g, n, 0);
	memcpy(p2, p1, sizeof p2);
	for (int k = 0; k < 3; k++) {
		tp_optim_step(a, p1, g, 0.1);
		tp_optim_step(b, p2, g, 0.1);
	}
	CHECK(rc == 0 && memcmp(p1, p2, sizeof p1) == 0,
	      "overlapping no-decay ranges merge");
	/* With a zero gradient and fresh moments, AdamW moves only the
	 * decaying parameters. */
	tp_optim_free(b);
	b = tp_optim_new(&c, n);
	rc = tp_optim_no_decay(b, 5, 10);
	fill(p1, g, n, 0);
	memset(g, 0, sizeof g);
	memcpy(p2, p1, sizeof p2);
	tp_optim_step(b, p1, g, 0.1);
	rc = rc == 0;
	for (size_t i = 0; i < n; i++)
		rc &= (i >= 5 && i < 15) == (p1[i] == p2[i]);
	CHECK(rc, "decay skips exactly the exempt range");
	cap_begin();
	rc = tp_optim_no_decay(a, 35, 6);
	CHECK(cap_end_has("optimizer: no-decay range of 6 at offset 35 is outside "
	              "the 40 parameters",
	              err, sizeof err) && rc == -1, "range past n refused: %s", err);
	cap_begin();
	rc = tp_optim_no_decay(a, SIZE_MAX, 2);
	CHECK(cap_end_has("range of 2 at offset 18446744073709551615 is outside", err, sizeof err) && rc == -1,
	      "overflowing range refused: %s", err);
	tp_optim_free(a);
	tp_optim_free(b);
}

static void
check_config_errors(void)
{
	static const struct {
		enum tp_optim_kind kind;
		const char *field;
		double value;
		const char *msg;
	} bad[] = {
		{TP_OPTIM_MOMENTUM, "momentum", 1.0, "optimizer momentum: momentum 1 is not in [0, 1)"},
		{TP_OPTIM_NESTEROV, "momentum", -0.5, "optimizer nesterov: momentum -0.5 is not in [0, 1)"},
		{TP_OPTIM_ADAM, "beta1", 1.0, "optimizer adam: beta1 1 is not in [0, 1)"},
		{TP_OPTIM_ADAM, "beta2", NAN, "optimizer adam: beta2 nan is not in [0, 1)"},
		{TP_OPTIM_ADAMW, "epsilon", 0, "optimizer adamw: epsilon 0 is not a positive number"},
		{TP_OPTIM_ADAM, "epsilon", INFINITY, "optimizer adam: epsilon inf is not a positive number"},
		{TP_OPTIM_SGD, "weight_decay", -1e-4, "optimizer sgd: weight_decay -0.0001 is not a number >= 0"},
		{TP_OPTIM_ADAMW, "weight_decay", NAN, "optimizer adamw: weight_decay nan is not a number >= 0"},
	};
	struct tp_optim_config c;
	struct tp_optim *o;
	enum tp_optim_kind k;
	char err[512];
	int rc;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tp_optim_config_default(&c, bad[i].kind);
		if (!strcmp(bad[i].field, "momentum"))
			c.momentum = bad[i].value;
		else if (!strcmp(bad[i].field, "beta1"))
			c.beta1 = bad[i].value;
		else if (!strcmp(bad[i].field, "beta2"))
			c.beta2 = bad[i].value;
		else if (!strcmp(bad[i].field, "epsilon"))
			c.epsilon = bad[i].value;
		else
			c.weight_decay = bad[i].value;
		cap_begin();
		o = tp_optim_new(&c, 10);
		CHECK(cap_end_has(bad[i].msg, err, sizeof err) && !o,
		      "bad %s refused: %s", bad[i].field, err);
		tp_optim_free(o);
	}
	/* SGD has no momentum: its momentum field is not checked. */
	tp_optim_config_default(&c, TP_OPTIM_SGD);
	c.momentum = 5;
	CHECK(tp_optim_config_check(&c) == 0, "sgd ignores momentum");
	tp_optim_config_default(&c, TP_OPTIM_ADAM);
	c.kind = (enum tp_optim_kind)42;
	cap_begin();
	o = tp_optim_new(&c, 10);
	CHECK(cap_end_has("optimizer: unknown kind 42", err, sizeof err) && !o,
	      "bad kind refused: %s", err);
	cap_begin();
	rc = tp_optim_kind_parse("Adam", "--optimizer", &k);
	CHECK(cap_end_has("--optimizer: unknown optimizer 'Adam' (expected sgd, "
	              "momentum, nesterov, adam, adamw)", err, sizeof err) &&
	      rc == -1, "unknown name refused: %s", err);
	rc = 1;
	for (int i = 0; i <= TP_OPTIM_ADAMW; i++)
		rc &= tp_optim_kind_parse(tp_optim_kind_name((enum tp_optim_kind)i),
		                          "x", &k) == 0 && (int)k == i;
	CHECK(rc && !strcmp(tp_optim_kind_name((enum tp_optim_kind)9), "?"),
	      "names round-trip");
	tp_optim_config_default(&c, TP_OPTIM_ADAMW);
	CHECK(c.beta1 == 0.9 && c.beta2 == 0.999 && c.epsilon == 1e-8 &&
	      c.weight_decay == 0.01, "adamw defaults are torch's");
	tp_optim_config_default(&c, TP_OPTIM_ADAM);
	CHECK(c.weight_decay == 0, "adam default weight decay is 0");
	o = tp_optim_new(&c, 0);
	CHECK(o && tp_optim_size(o) == 0 &&
	      tp_optim_config(o)->kind == TP_OPTIM_ADAM, "n = 0 is allowed");
	if (o)
		tp_optim_step(o, NULL, NULL, 0.1);
	tp_optim_free(o);
	tp_optim_free(NULL);
}

static void
check_clip(void)
{
	float g[2] = {3, 4}, z[5] = {0}, h[3] = {1, NAN, 1};
	double norm;

	norm = tp_optim_clip_grad_norm(g, 2, 10);
	CHECK(norm == 5 && g[0] == 3 && g[1] == 4, "norm below max: unchanged");
	norm = tp_optim_clip_grad_norm(g, 2, 1);
	CHECK(norm == 5 && g[0] == 1.0f / (5.0f + 1e-6f) * 3 &&
	      g[1] == 1.0f / (5.0f + 1e-6f) * 4, "norm above max: scaled by "
	      "max/(norm+1e-6)");
	CHECK_CLOSE(tp_optim_grad_norm(g, 2), 1, 1e-6, 0, "clipped norm is max");
	g[0] = 3, g[1] = 4;
	norm = tp_optim_clip_grad_norm(g, 2, 0);
	CHECK(norm == 5 && g[0] == 3, "max_norm 0 only measures");
	norm = tp_optim_clip_grad_norm(z, 5, 1);
	CHECK(norm == 0 && z[0] == 0, "zero gradient stays zero");
	norm = tp_optim_clip_grad_norm(h, 3, 0.1);
	CHECK(isnan(norm) && h[0] == 1, "NaN gradient: NaN norm, left alone");
	CHECK(tp_optim_grad_norm(NULL, 0) == 0, "empty norm is 0");
}

static void
check_norm_accuracy(void)
{
	const size_t n = 100003;
	float *g = malloc(n * sizeof *g);
	long double ref = 0;
	double a, b;

	for (size_t i = 0; i < n; i++) {
		g[i] = (float)(1e-3 * sin((double)i) + (i % 1000 == 0 ? 10 : 0));
		ref += (long double)g[i] * g[i];
	}
	a = tp_optim_grad_norm(g, n);
	b = tp_optim_grad_norm(g, n);
	CHECK(a == b, "norm is deterministic");
	CHECK_CLOSE(a, sqrtl(ref), 1e-13, 0, "norm accurate to 1e-13 (%.17g)", a);
	free(g);
}

static void
check_finite(void)
{
	const size_t n = 10000;
	float *a = malloc(n * sizeof *a);
	const size_t at[] = {0, 7, 8, 4095, 4096, 9999};
	const float badv[] = {NAN, INFINITY, -INFINITY};
	int ok = 1;

	for (size_t i = 0; i < n; i++)
		a[i] = (float)i - 5000;
	a[1] = FLT_MAX;
	a[2] = -FLT_MAX;
	a[3] = FLT_TRUE_MIN;
	CHECK(tp_optim_all_finite(a, n), "finite array (with extremes) is finite");
	CHECK(tp_optim_all_finite(a, 0), "empty array is finite");
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
		for (size_t j = 0; j < 3; j++) {
			float keep = a[at[i]];
			a[at[i]] = badv[j];
			ok &= !tp_optim_all_finite(a, n);
			ok &= tp_optim_all_finite(a, at[i]);
			a[at[i]] = keep;
		}
	CHECK(ok, "NaN/Inf found at every position, and not before it");
	free(a);
}

int
main(void)
{
	static const char *const fixtures[] = {
		"sgd", "sgd-wd-linear", "momentum-cosine", "momentum-wd-clip",
		"nesterov-wd", "nesterov-nodecay-clip", "adam", "adam-wd-clip",
		"adamw", "adamw-nodecay", "adam-quadratic",
		"nesterov-quadratic", "adamw-quadratic",
	};

	for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
		check_fixture(fixtures[i]);
	for (int k = TP_OPTIM_SGD; k <= TP_OPTIM_ADAMW; k++) {
		check_resume((enum tp_optim_kind)k);
		check_tail((enum tp_optim_kind)k);
		check_threads((enum tp_optim_kind)k);
		check_pieces((enum tp_optim_kind)k);
		check_clear((enum tp_optim_kind)k);
	}
	check_no_decay();
	check_config_errors();
	check_clip();
	check_norm_accuracy();
	check_finite();
	return check_done();
}
