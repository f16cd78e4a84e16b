/*
 * model.c: the multilayer perceptron of tp-train (see tp/model.h for the
 * architecture and the exact definitions).  Forward and backward passes are
 * written by hand: every matrix product is one tp_sgemm_pool call with the
 * transposes folded into it, and the elementwise work of a layer (bias,
 * activation, dropout, residual add, bias gradient) is fused into as few
 * passes over the [batch, width] activations as the data dependencies allow,
 * so a training step costs little more than its sgemm calls.  All memory is
 * allocated by tp_model_new; a step allocates nothing.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/linalg.h"
#include "tp/model.h"
#include "tp/pool.h"
#include "tp/rng.h"

#define NAME_LEN 40

/*
 * GCC's -O2 vectorizes a loop only when its trip count is a known multiple
 * of the vector width (the "very cheap" cost model), which leaves every
 * [batch, width] pass scalar; these passes ask for the usual model.  Plain
 * elementwise loops are vectorized without reassociation, so the results
 * are the same bytes either way.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((optimize("vect-cost-model=dynamic")))
#else
#define HOT
#endif

/* One linear layer with what follows it.  The output layer is a layer
 * without norm, activation or dropout. */
struct layer {
	int in, out;     /* fan_in, fan_out: W is [out, in] */
	int hidden;      /* 0 for the output layer */
	int residual;    /* y = x + alpha * Drop(Norm(Act(W x + b))) */
	float *W, *b, *gamma, *beta, *alpha;      /* into params */
	size_t poff, plen; /* all of them: params[poff, poff + plen) */
	float *dW, *db, *dgamma, *dbeta, *dalpha; /* into grads */
	float *rmean, *rvar;                      /* into buffers */
	/* activations, [max_batch, out] each (NULL when unused) */
	float *z;    /* W x + b */
	float *xhat; /* normalized, before gain and bias */
	float *nrm;  /* gamma * xhat + beta */
	float *a;    /* activation output */
	float *res;  /* layer output when it is not a (dropout, residual) */
	uint8_t *mask;
	float *rstd; /* layer norm [max_batch]; batch norm [max_groups, out] */
	const float *x; /* input of the last forward (borrowed) */
	const float *y; /* output of the last forward */
	int dropped;    /* the last forward applied dropout */
	/* dW is all zeros (the done callback cleared it): the next backward
	 * accumulates into it and OpenBLAS skips its clearing pass. */
	int dw_zero;
};

struct tp_model {
	struct tp_model_config c;
	int max_batch, max_groups, maxdim;
	struct layer *L; /* depth hidden layers, then the output layer */
	float *params, *grads, *buffers;
	size_t np, nb;
	struct tp_model_view *pv, *bv;
	size_t npv, nbv;
	char *names;
	float *work;     /* every float activation and scratch array */
	uint8_t *masks;  /* dropout masks */
	double *dacc;    /* batch norm accumulators, 4 * width */
	float *g0, *g1;  /* gradient ping-pong, [max_batch, maxdim] */
	float *wn;       /* w_i / sum w, [max_batch] */
	int *ridx;       /* rows of weight > 0, [max_batch] */
	int *gstart;     /* ghost groups as ranges of ridx, [max_groups + 1] */
	int ngroups, nreal;
	int n;           /* rows of the pending forward, 0 if none */
	struct tp_pool *pool; /* borrowed; NULL: OpenBLAS threads the products */
};

/* ---- configuration ---- */

static const char *const act_names[] = {"relu", "gelu", "tanh"};
static const char *const norm_names[] = {"none", "layer", "batch"};
static const char *const loss_names[] = {"xent", "mse"};
static const char *const init_full[2][3] = {
	{"he_normal", "glorot_normal", "lecun_normal"},
	{"he_uniform", "glorot_uniform", "lecun_uniform"},
};

void
tp_model_config_default(struct tp_model_config *c)
{
	memset(c, 0, sizeof *c);
	c->depth = 2;
	c->width = 256;
	c->act = TP_ACT_RELU;
	c->norm = TP_NORM_NONE;
	c->init = TP_INIT_HE;
	c->ghost_batch = 64;
	c->bn_momentum = 0.1f;
	c->norm_eps = 1e-5f;
	c->loss = TP_LOSS_XENT;
}

int
tp_model_config_equal(const struct tp_model_config *a,
                      const struct tp_model_config *b)
{
	return a->inputs == b->inputs && a->outputs == b->outputs &&
	       a->depth == b->depth && a->width == b->width &&
	       a->act == b->act && a->norm == b->norm &&
	       a->residual == b->residual && a->rezero == b->rezero &&
	       a->dropout == b->dropout && a->init == b->init &&
	       a->init_uniform == b->init_uniform &&
	       a->ghost_batch == b->ghost_batch &&
	       a->bn_momentum == b->bn_momentum && a->norm_eps == b->norm_eps &&
	       a->loss == b->loss && a->label_smoothing == b->label_smoothing;
}

int
tp_model_config_check(const struct tp_model_config *c)
{
	if (c->inputs < 1) {
		tp_errorf("model: inputs must be >= 1, not %d", c->inputs);
		return -1;
	}
	if (c->loss != TP_LOSS_XENT && c->loss != TP_LOSS_MSE) {
		tp_errorf("model: unknown loss %d", (int)c->loss);
		return -1;
	}
	if (c->outputs < (c->loss == TP_LOSS_XENT ? 2 : 1)) {
		tp_errorf("model: outputs must be >= %d for %s, not %d",
		          c->loss == TP_LOSS_XENT ? 2 : 1,
		          loss_names[c->loss], c->outputs);
		return -1;
	}
	if (c->depth < 0 || c->depth > 1000) {
		tp_errorf("model: depth must be in [0, 1000], not %d", c->depth);
		return -1;
	}
	if (c->depth > 0 && c->width < 1) {
		tp_errorf("model: width must be >= 1, not %d", c->width);
		return -1;
	}
	if ((unsigned)c->act > TP_ACT_TANH || (unsigned)c->norm > TP_NORM_BATCH ||
	    (unsigned)c->init > TP_INIT_LECUN) {
		tp_errorf("model: activation, norm or init out of range");
		return -1;
	}
	if (c->residual && c->depth < 2) {
		tp_errorf("model: residual needs depth >= 2 (the first hidden "
		          "layer maps the inputs to the width), depth is %d",
		          c->depth);
		return -1;
	}
	if (c->rezero && !c->residual) {
		tp_errorf("model: rezero needs residual blocks (residual 1)");
		return -1;
	}
	if (!(c->dropout >= 0 && c->dropout < 1)) {
		tp_errorf("model: dropout must be in [0, 1), not %g",
		          (double)c->dropout);
		return -1;
	}
	if (c->norm == TP_NORM_BATCH && c->ghost_batch < 3) {
		/* With groups of 2 a batch of 3 would leave a group of 1. */
		tp_errorf("model: ghost_batch must be >= 3 with batch norm, not %d",
		          c->ghost_batch);
		return -1;
	}
	if (!(c->bn_momentum > 0 && c->bn_momentum <= 1)) {
		tp_errorf("model: batch norm momentum must be in (0, 1], not %g",
		          (double)c->bn_momentum);
		return -1;
	}
	if (!(c->norm_eps > 0 && isfinite(c->norm_eps))) {
		tp_errorf("model: norm epsilon must be > 0, not %g",
		          (double)c->norm_eps);
		return -1;
	}
	if (!(c->label_smoothing >= 0 && c->label_smoothing < 1)) {
		tp_errorf("model: label smoothing must be in [0, 1), not %g",
		          (double)c->label_smoothing);
		return -1;
	}
	if (c->label_smoothing > 0 && c->loss != TP_LOSS_XENT) {
		tp_errorf("model: label smoothing needs the xent loss");
		return -1;
	}
	return 0;
}

static int
parse_name(const char *s, const char *what, const char *kind,
           const char *const *names, int n, int *out)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	char list[128] = "";
	for (int i = 0; i < n; i++) {
		strcat(list, names[i]);
		if (i + 1 < n)
			strcat(list, ", ");
	}
	tp_errorf("%s: unknown %s '%s' (expected %s)", what, kind, s, list);
	return -1;
}

int
tp_model_act_parse(const char *s, const char *what, enum tp_act *out)
{
	int v;

	if (parse_name(s, what, "activation", act_names, 3, &v) < 0)
		return -1;
	*out = (enum tp_act)v;
	return 0;
}

int
tp_model_norm_parse(const char *s, const char *what, enum tp_norm *out)
{
	int v;

	if (parse_name(s, what, "norm", norm_names, 3, &v) < 0)
		return -1;
	*out = (enum tp_norm)v;
	return 0;
}

int
tp_model_loss_parse(const char *s, const char *what, enum tp_loss *out)
{
	int v;

	if (parse_name(s, what, "loss", loss_names, 2, &v) < 0)
		return -1;
	*out = (enum tp_loss)v;
	return 0;
}

int
tp_model_init_parse(const char *s, const char *what, enum tp_init *out,
                    int *uniform)
{
	static const char *const all[] = {
		"he", "glorot", "lecun",
		"he_normal", "glorot_normal", "lecun_normal",
		"he_uniform", "glorot_uniform", "lecun_uniform",
	};
	int v;

	if (parse_name(s, what, "init", all, 9, &v) < 0)
		return -1;
	*out = (enum tp_init)(v % 3);
	*uniform = v >= 6;
	return 0;
}

const char *
tp_model_act_name(enum tp_act a)
{
	return (unsigned)a <= TP_ACT_TANH ? act_names[a] : "?";
}

const char *
tp_model_norm_name(enum tp_norm n)
{
	return (unsigned)n <= TP_NORM_BATCH ? norm_names[n] : "?";
}

const char *
tp_model_loss_name(enum tp_loss l)
{
	return (unsigned)l <= TP_LOSS_MSE ? loss_names[l] : "?";
}

const char *
tp_model_init_name(enum tp_init i, int uniform)
{
	return (unsigned)i <= TP_INIT_LECUN ? init_full[!!uniform][i] : "?";
}

/* ---- construction ---- */

static size_t
add_view(struct tp_model *m, int buffers, const char *name, int layer,
         int d0, int d1, int decay, size_t *off)
{
	struct tp_model_view *v = buffers ? &m->bv[m->nbv] : &m->pv[m->npv];
	char *nm = m->names + (m->npv + m->nbv) * NAME_LEN;
	size_t at = *off;

	if (layer > 0)
		snprintf(nm, NAME_LEN, "layer%d.%s", layer, name);
	else
		snprintf(nm, NAME_LEN, "out.%s", name);
	v->name = nm;
	v->ndim = d1 > 0 ? 2 : 1;
	v->shape[0] = d0;
	v->shape[1] = d1 > 0 ? d1 : 1;
	v->offset = at;
	v->count = (size_t)v->shape[0] * (size_t)v->shape[1];
	v->decay = decay;
	*off += v->count;
	if (buffers)
		m->nbv++;
	else
		m->npv++;
	return at;
}

/* Two passes over the layout: the first (m->params NULL) only counts. */
static void
layout(struct tp_model *m)
{
	const struct tp_model_config *c = &m->c;
	size_t po = 0, bo = 0;
	int count = m->params == NULL;

	m->npv = m->nbv = 0;
	for (int l = 0; l <= c->depth; l++) {
		struct layer *L = &m->L[l];
		int id = l < c->depth ? l + 1 : 0;
		size_t oW, ob, og = 0, obt = 0, oa = 0, orm = 0, orv = 0;

		oW = add_view(m, 0, "weight", id, L->out, L->in, 1, &po);
		ob = add_view(m, 0, "bias", id, L->out, 0, 0, &po);
		if (L->hidden && c->norm != TP_NORM_NONE) {
			og = add_view(m, 0, "norm.weight", id, L->out, 0, 0, &po);
			obt = add_view(m, 0, "norm.bias", id, L->out, 0, 0, &po);
		}
		if (L->residual && c->rezero)
			oa = add_view(m, 0, "alpha", id, 1, 0, 0, &po);
		if (L->hidden && c->norm == TP_NORM_BATCH) {
			orm = add_view(m, 1, "norm.running_mean", id, L->out, 0, 0, &bo);
			orv = add_view(m, 1, "norm.running_var", id, L->out, 0, 0, &bo);
		}
		if (count)
			continue;
		L->poff = oW;
		L->plen = po - oW;
		L->W = m->params + oW;
		L->dW = m->grads + oW;
		L->b = m->params + ob;
		L->db = m->grads + ob;
		if (L->hidden && c->norm != TP_NORM_NONE) {
			L->gamma = m->params + og;
			L->dgamma = m->grads + og;
			L->beta = m->params + obt;
			L->dbeta = m->grads + obt;
		}
		if (L->residual && c->rezero) {
			L->alpha = m->params + oa;
			L->dalpha = m->grads + oa;
		}
		if (L->hidden && c->norm == TP_NORM_BATCH) {
			L->rmean = m->buffers + orm;
			L->rvar = m->buffers + orv;
		}
	}
	m->np = po;
	m->nb = bo;
}

/* A plain relu or tanh layer without norm keeps only act(z): backward
 * needs the output alone, and one [batch, width] array less is one pass
 * over memory less. */
static int
inplace(const struct tp_model_config *c, const struct layer *L)
{
	return !L->residual && c->norm == TP_NORM_NONE && c->act != TP_ACT_GELU;
}

struct tp_model *
tp_model_new(const struct tp_model_config *c, int max_batch)
{
	struct tp_model *m;
	size_t mb, nf = 0, nmask = 0, off, boff;
	int depth = c->depth, H = c->width, bn;

	if (tp_model_config_check(c) < 0)
		return NULL;
	if (max_batch < 1) {
		tp_errorf("model: max batch must be >= 1, not %d", max_batch);
		return NULL;
	}
	m = tp_xcalloc(1, sizeof *m);
	m->c = *c;
	if (depth == 0)
		m->c.width = H = 0;
	m->max_batch = max_batch;
	mb = (size_t)max_batch;
	bn = c->norm == TP_NORM_BATCH;
	m->max_groups = bn ? (max_batch + c->ghost_batch - 1) / c->ghost_batch : 1;
	m->maxdim = H > c->outputs ? H : c->outputs;
	m->L = tp_xcalloc((size_t)depth + 1, sizeof *m->L);
	for (int l = 0; l <= depth; l++) {
		struct layer *L = &m->L[l];
		L->in = l == 0 ? c->inputs : H;
		L->out = l < depth ? H : c->outputs;
		L->hidden = l < depth;
		L->residual = c->residual && l > 0 && l < depth;
	}
	m->pv = tp_xmallocarray((size_t)depth * 5 + 2, sizeof *m->pv);
	m->bv = tp_xmallocarray((size_t)depth * 2 + 1, sizeof *m->bv);
	m->names = tp_xcalloc((size_t)depth * 7 + 3, NAME_LEN);
	layout(m); /* count */
	/* On cache lines: a GEMM operand that starts mid-line makes every
	 * 64-byte vector access of OpenBLAS's kernel touch two lines
	 * (measured: 1.5-2.5% of a step at 1 thread). */
	m->params = tp_xcalloc_lines(m->np, sizeof(float));
	m->grads = tp_xcalloc_lines(m->np, sizeof(float));
	if (m->nb)
		m->buffers = tp_xcalloc(m->nb, sizeof(float));
	layout(m);

	/* Sizes of the workspace: per hidden layer z, a, and xhat, nrm with a
	 * norm, and res when the output is neither a nor an alias; then the
	 * model-wide arrays. */
	for (int l = 0; l < depth; l++) {
		struct layer *L = &m->L[l];
		int k = 1 + !inplace(c, L) + (c->norm != TP_NORM_NONE ? 2 : 0) +
		        (L->residual || c->dropout > 0);
		nf += (size_t)k * mb * (size_t)H;
		nf += c->norm == TP_NORM_LAYER ? mb :
		      bn ? (size_t)m->max_groups * (size_t)H : 0;
		if (c->dropout > 0)
			nmask += mb * (size_t)H;
	}
	nf += mb * (size_t)c->outputs + 2 * mb * (size_t)m->maxdim + mb;
	m->work = tp_xcalloc_lines(nf, sizeof(float));
	if (nmask)
		m->masks = tp_xmalloc(nmask);
	m->dacc = tp_xmallocarray(4 * ((size_t)H + 1), sizeof(double));
	m->ridx = tp_xmallocarray(mb, sizeof(int));
	m->gstart = tp_xmallocarray((size_t)m->max_groups + 2, sizeof(int));
	off = boff = 0;
#define TAKE(n) (off += (n), m->work + off - (n))
	for (int l = 0; l < depth; l++) {
		struct layer *L = &m->L[l];
		size_t sz = mb * (size_t)H;

		L->z = TAKE(sz);
		L->a = inplace(c, L) ? L->z : TAKE(sz);
		if (c->norm != TP_NORM_NONE) {
			L->xhat = TAKE(sz);
			L->nrm = TAKE(sz);
		}
		if (L->residual || c->dropout > 0)
			L->res = TAKE(sz);
		if (c->norm == TP_NORM_LAYER)
			L->rstd = TAKE(mb);
		else if (bn)
			L->rstd = TAKE((size_t)m->max_groups * (size_t)H);
		if (c->dropout > 0) {
			L->mask = m->masks + boff;
			boff += sz;
		}
	}
	m->L[depth].z = TAKE(mb * (size_t)c->outputs);
	m->g0 = TAKE(mb * (size_t)m->maxdim);
	m->g1 = TAKE(mb * (size_t)m->maxdim);
	m->wn = TAKE(mb);
#undef TAKE
	return m;
}

void
tp_model_set_pool(struct tp_model *m, struct tp_pool *p)
{
	m->pool = p;
}

void
tp_model_free(struct tp_model *m)
{
	if (!m)
		return;
	free(m->L);
	tp_free_lines(m->params);
	tp_free_lines(m->grads);
	free(m->buffers);
	free(m->pv);
	free(m->bv);
	free(m->names);
	tp_free_lines(m->work);
	free(m->masks);
	free(m->dacc);
	free(m->ridx);
	free(m->gstart);
	free(m);
}

const struct tp_model_config *
tp_model_get_config(const struct tp_model *m)
{
	return &m->c;
}

int
tp_model_max_batch(const struct tp_model *m)
{
	return m->max_batch;
}

float *
tp_model_params(struct tp_model *m, size_t *n)
{
	*n = m->np;
	return m->params;
}

float *
tp_model_grads(struct tp_model *m, size_t *n)
{
	*n = m->np;
	return m->grads;
}

float *
tp_model_buffers(struct tp_model *m, size_t *n)
{
	*n = m->nb;
	return m->buffers;
}

const struct tp_model_view *
tp_model_param_views(const struct tp_model *m, size_t *n)
{
	*n = m->npv;
	return m->pv;
}

const struct tp_model_view *
tp_model_buffer_views(const struct tp_model *m, size_t *n)
{
	*n = m->nbv;
	return m->bv;
}

void
tp_model_init(struct tp_model *m, uint64_t seed)
{
	struct tp_rng r;

	tp_rng_seed(&r, seed);
	memset(m->params, 0, m->np * sizeof(float));
	memset(m->grads, 0, m->np * sizeof(float));
	for (int l = 0; l <= m->c.depth; l++) {
		struct layer *L = &m->L[l];
		double fi = L->in, fo = L->out, var, s;
		size_t nw = (size_t)L->in * (size_t)L->out;

		switch (m->c.init) {
		case TP_INIT_GLOROT: var = 2.0 / (fi + fo); break;
		case TP_INIT_LECUN: var = 1.0 / fi; break;
		default: var = 2.0 / fi; break;
		}
		s = sqrt(var);
		for (size_t i = 0; i < nw; i++)
			L->W[i] = m->c.init_uniform ?
			          (float)(s * sqrt(3.0) * (2 * tp_rng_uniform(&r) - 1)) :
			          (float)(s * tp_rng_normal(&r));
		if (L->gamma)
			for (int j = 0; j < L->out; j++)
				L->gamma[j] = 1;
		if (L->rvar)
			for (int j = 0; j < L->out; j++)
				L->rvar[j] = 1;
		if (L->rmean)
			memset(L->rmean, 0, (size_t)L->out * sizeof(float));
	}
	m->n = 0;
}

int
tp_model_finite(const struct tp_model *m, const char **name)
{
	for (int pass = 0; pass < 2; pass++) {
		const struct tp_model_view *v = pass ? m->bv : m->pv;
		const float *base = pass ? m->buffers : m->params;
		size_t nv = pass ? m->nbv : m->npv;

		for (size_t i = 0; i < nv; i++) {
			const float *p = base + v[i].offset;
			float acc = 0;

			/* x - x is 0 for finite x and NaN otherwise: one
			 * branch-free pass. */
			for (size_t k = 0; k < v[i].count; k++)
				acc += p[k] - p[k];
			if (acc != 0 || isnan(acc)) {
				if (name)
					*name = v[i].name;
				return 0;
			}
		}
	}
	return 1;
}

/* ---- elementwise pieces ---- */

static inline float
act_f(enum tp_act k, float x)
{
	switch (k) {
	case TP_ACT_RELU: return x > 0 ? x : 0;
	case TP_ACT_TANH: return tanhf(x);
	default: return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
	}
}

/* Derivative from the input x and the output y of the activation (relu
 * and tanh need only y, so their input may be overwritten). */
static inline float
act_d(enum tp_act k, float x, float y)
{
	switch (k) {
	case TP_ACT_RELU: return y > 0 ? 1.0f : 0.0f;
	case TP_ACT_TANH: return 1.0f - y * y;
	default:
		return 0.5f * (1.0f + erff(x * (float)M_SQRT1_2)) +
		       x * expf(-0.5f * x * x) * (float)(M_2_SQRTPI * M_SQRT1_2 * 0.5);
	}
}

/* z[n, H] += b; a = act(z).  a may be z (the activation in place), or NULL
 * (bias only). */
HOT static void
bias_act(enum tp_act k, float *z, const float *b, float *a, int n, int H)
{
	for (int r = 0; r < n; r++) {
		float *zr = z + (size_t)r * H, *ar = a ? a + (size_t)r * H : NULL;

		if (!a) {
			for (int j = 0; j < H; j++)
				zr[j] += b[j];
		} else if (k == TP_ACT_RELU && a == z) {
			for (int j = 0; j < H; j++) {
				float v = zr[j] + b[j];
				zr[j] = v > 0 ? v : 0;
			}
		} else if (k == TP_ACT_RELU) {
			for (int j = 0; j < H; j++) {
				float v = zr[j] + b[j];
				zr[j] = v;
				ar[j] = v > 0 ? v : 0;
			}
		} else if (a == z) {
			for (int j = 0; j < H; j++)
				zr[j] = act_f(k, zr[j] + b[j]);
		} else {
			for (int j = 0; j < H; j++) {
				float v = zr[j] + b[j];
				zr[j] = v;
				ar[j] = act_f(k, v);
			}
		}
	}
}

/* a[N] = act(x[N]). */
HOT static void
act_apply(enum tp_act k, const float *x, float *a, size_t N)
{
	if (k == TP_ACT_RELU) {
		for (size_t i = 0; i < N; i++)
			a[i] = x[i] > 0 ? x[i] : 0;
	} else {
		for (size_t i = 0; i < N; i++)
			a[i] = act_f(k, x[i]);
	}
}

/*
 * g[n, H] *= act'(x, y) * dropout factor (mask[i] ? sc : 0, mask may be
 * NULL); with db, also db = column sums of the result, taken while the row
 * is in cache.
 */
HOT static void
grad_act(enum tp_act k, float *g, const float *x, const float *y,
         const uint8_t *mask, float sc, int n, int H, float *db)
{
	if (db)
		memset(db, 0, (size_t)H * sizeof(float));
	for (int r = 0; r < n; r++) {
		size_t o = (size_t)r * H;
		float *gr = g + o;
		const float *xr = x + o, *yr = y + o;

		/* One loop per activation, with no switch or condition left in
		 * it, so that the compiler can vectorize relu and tanh (gelu
		 * calls erff and expf). */
		const uint8_t *mr = mask ? mask + o : NULL;
		switch (k) {
		case TP_ACT_RELU:
			if (mr) {
				for (int j = 0; j < H; j++) {
					float v = gr[j] * (sc * mr[j]);
					gr[j] = yr[j] > 0 ? v : 0.0f;
				}
			} else {
				for (int j = 0; j < H; j++)
					gr[j] = yr[j] > 0 ? gr[j] : 0.0f;
			}
			break;
		case TP_ACT_TANH:
			if (mr) {
				for (int j = 0; j < H; j++)
					gr[j] *= (sc * mr[j]) * (1.0f - yr[j] * yr[j]);
			} else {
				for (int j = 0; j < H; j++)
					gr[j] *= 1.0f - yr[j] * yr[j];
			}
			break;
		default:
			for (int j = 0; j < H; j++)
				gr[j] *= (mr ? sc * mr[j] : 1.0f) * act_d(k, xr[j], yr[j]);
		}
		if (db)
			for (int j = 0; j < H; j++)
				db[j] += gr[j];
	}
}

HOT static void
draw_mask(uint8_t *mask, size_t N, float p, struct tp_rng *rng)
{
	/* Keep when a 32-bit draw is >= p * 2^32: two draws per u64. */
	uint32_t thr = (uint32_t)((double)p * 4294967296.0);
	size_t i;

	for (i = 0; i + 1 < N; i += 2) {
		uint64_t r = tp_rng_u64(rng);
		mask[i] = (uint32_t)r >= thr;
		mask[i + 1] = (uint32_t)(r >> 32) >= thr;
	}
	if (i < N)
		mask[i] = (uint32_t)tp_rng_u64(rng) >= thr;
}

/* ---- normalization ---- */

/* Ghost groups over the rows of weight > 0 (tp/model.h). */
static void
set_groups(struct tp_model *m, const float *w, int n)
{
	int nr = 0, G;

	for (int i = 0; i < n; i++)
		if (!w || w[i] > 0)
			m->ridx[nr++] = i;
	m->nreal = nr;
	G = m->c.norm == TP_NORM_BATCH ? (nr + m->c.ghost_batch - 1) / m->c.ghost_batch : 1;
	if (G < 1)
		G = 1;
	m->ngroups = G;
	for (int g = 0; g <= G; g++)
		m->gstart[g] = (int)((int64_t)g * nr / G);
}

/* src [n, H] -> xhat, nrm; statistics into rstd (and running stats). */
HOT static void
norm_forward(struct tp_model *m, struct layer *L, const float *src, int n,
             int train)
{
	int H = L->out;
	float eps = m->c.norm_eps;

	if (m->c.norm == TP_NORM_LAYER) {
		for (int r = 0; r < n; r++) {
			const float *x = src + (size_t)r * H;
			float *xh = L->xhat + (size_t)r * H, *y = L->nrm + (size_t)r * H;
			double s = 0, v = 0;
			float mean, rs;

			for (int j = 0; j < H; j++)
				s += x[j];
			mean = (float)(s / H);
			for (int j = 0; j < H; j++) {
				float d = x[j] - mean;
				v += (double)d * d;
			}
			rs = 1.0f / sqrtf((float)(v / H) + eps);
			L->rstd[r] = rs;
			for (int j = 0; j < H; j++) {
				xh[j] = (x[j] - mean) * rs;
				y[j] = L->gamma[j] * xh[j] + L->beta[j];
			}
		}
		return;
	}
	if (!train) {
		float *mean = (float *)m->dacc, *rs = mean + H;

		for (int j = 0; j < H; j++) {
			mean[j] = L->rmean[j];
			rs[j] = 1.0f / sqrtf(L->rvar[j] + eps);
		}
		for (int r = 0; r < n; r++) {
			const float *x = src + (size_t)r * H;
			float *xh = L->xhat + (size_t)r * H, *y = L->nrm + (size_t)r * H;

			for (int j = 0; j < H; j++) {
				xh[j] = (x[j] - mean[j]) * rs[j];
				y[j] = L->gamma[j] * xh[j] + L->beta[j];
			}
		}
		return;
	}
	double *acc = m->dacc, *mean = acc + H, *rm = mean + H, *rv = rm + H;

	memset(rm, 0, 2 * (size_t)H * sizeof(double));
	if (m->nreal < n) {
		/* Padding rows are normalized to 0: their output is the bias. */
		memset(L->xhat, 0, (size_t)n * H * sizeof(float));
		for (int r = 0; r < n; r++)
			memcpy(L->nrm + (size_t)r * H, L->beta, (size_t)H * sizeof(float));
	}
	for (int g = 0; g < m->ngroups; g++) {
		int lo = m->gstart[g], hi = m->gstart[g + 1], ng = hi - lo;
		float *rs = L->rstd + (size_t)g * H;

		memset(acc, 0, (size_t)H * sizeof(double));
		for (int i = lo; i < hi; i++) {
			const float *x = src + (size_t)m->ridx[i] * H;
			for (int j = 0; j < H; j++)
				acc[j] += x[j];
		}
		for (int j = 0; j < H; j++) {
			mean[j] = acc[j] / ng;
			acc[j] = 0;
		}
		for (int i = lo; i < hi; i++) {
			const float *x = src + (size_t)m->ridx[i] * H;
			for (int j = 0; j < H; j++) {
				double d = x[j] - mean[j];
				acc[j] += d * d;
			}
		}
		for (int j = 0; j < H; j++) {
			rs[j] = (float)(1.0 / sqrt(acc[j] / ng + eps));
			rm[j] += mean[j] * ng;
			rv[j] += acc[j] / (ng - 1) * ng; /* unbiased, as torch */
		}
		for (int i = lo; i < hi; i++) {
			size_t o = (size_t)m->ridx[i] * H;
			const float *x = src + o;
			float *xh = L->xhat + o, *y = L->nrm + o;

			for (int j = 0; j < H; j++) {
				xh[j] = (x[j] - (float)mean[j]) * rs[j];
				y[j] = L->gamma[j] * xh[j] + L->beta[j];
			}
		}
	}
	float mom = m->c.bn_momentum;
	for (int j = 0; j < H; j++) {
		L->rmean[j] = (1 - mom) * L->rmean[j] + mom * (float)(rm[j] / m->nreal);
		L->rvar[j] = (1 - mom) * L->rvar[j] + mom * (float)(rv[j] / m->nreal);
	}
}

/* g [n, H]: gradient w.r.t. nrm in, w.r.t. the norm's input out; adds to
 * dgamma and dbeta (zeroed by the caller). */
HOT static void
norm_backward(struct tp_model *m, struct layer *L, float *g, int n)
{
	int H = L->out;

	if (m->c.norm == TP_NORM_LAYER) {
		for (int r = 0; r < n; r++) {
			float *gr = g + (size_t)r * H;
			const float *xh = L->xhat + (size_t)r * H;
			float s1 = 0, s2 = 0, rs = L->rstd[r];

			for (int j = 0; j < H; j++) {
				float dx = gr[j] * L->gamma[j];
				L->dgamma[j] += gr[j] * xh[j];
				L->dbeta[j] += gr[j];
				gr[j] = dx;
				s1 += dx;
				s2 += dx * xh[j];
			}
			s1 /= H;
			s2 /= H;
			for (int j = 0; j < H; j++)
				gr[j] = rs * (gr[j] - s1 - xh[j] * s2);
		}
		return;
	}
	double *s1 = m->dacc, *s2 = s1 + H;

	for (int g_ = 0; g_ < m->ngroups; g_++) {
		int lo = m->gstart[g_], hi = m->gstart[g_ + 1], ng = hi - lo;
		const float *rs = L->rstd + (size_t)g_ * H;

		memset(s1, 0, 2 * (size_t)H * sizeof(double));
		for (int i = lo; i < hi; i++) {
			size_t o = (size_t)m->ridx[i] * H;
			float *gr = g + o;
			const float *xh = L->xhat + o;

			for (int j = 0; j < H; j++) {
				float dx = gr[j] * L->gamma[j];
				L->dgamma[j] += gr[j] * xh[j];
				L->dbeta[j] += gr[j];
				gr[j] = dx;
				s1[j] += dx;
				s2[j] += dx * xh[j];
			}
		}
		for (int j = 0; j < H; j++) {
			s1[j] /= ng;
			s2[j] /= ng;
		}
		for (int i = lo; i < hi; i++) {
			size_t o = (size_t)m->ridx[i] * H;
			float *gr = g + o;
			const float *xh = L->xhat + o;

			for (int j = 0; j < H; j++)
				gr[j] = rs[j] * (gr[j] - (float)s1[j] - xh[j] * (float)s2[j]);
		}
	}
	if (m->nreal < n) {
		/* Rows outside every group: ridx is increasing, walk the gaps. */
		int k = 0;
		for (int r = 0; r < n; r++) {
			if (k < m->nreal && m->ridx[k] == r) {
				k++;
				continue;
			}
			memset(g + (size_t)r * H, 0, (size_t)H * sizeof(float));
		}
	}
}

/* ---- layers ---- */

HOT static void
layer_forward(struct tp_model *m, struct layer *L, const float *x, int n,
              int train, struct tp_rng *rng)
{
	const struct tp_model_config *c = &m->c;
	int H = L->out;
	size_t N = (size_t)n * H;
	int drop = train && c->dropout > 0;

	L->x = x;
	L->dropped = drop;
	tp_sgemm_pool(m->pool, 0, 1, n, H, L->in, 1.0f, x, L->in, L->W, L->in,
	              0.0f, L->z, H);
	if (!L->hidden) {
		bias_act(c->act, L->z, L->b, NULL, n, H);
		L->y = L->z;
		return;
	}
	if (L->residual) {
		const float *br = L->a;
		float al = L->alpha ? L->alpha[0] : 1.0f;

		bias_act(c->act, L->z, L->b, L->a, n, H);
		if (c->norm != TP_NORM_NONE) {
			norm_forward(m, L, L->a, n, train);
			br = L->nrm;
		}
		if (drop) {
			float sc = al / (1 - c->dropout);
			draw_mask(L->mask, N, c->dropout, rng);
			for (size_t i = 0; i < N; i++)
				L->res[i] = x[i] + (sc * L->mask[i]) * br[i];
		} else {
			for (size_t i = 0; i < N; i++)
				L->res[i] = x[i] + al * br[i];
		}
		L->y = L->res;
		return;
	}
	if (c->norm == TP_NORM_NONE) {
		bias_act(c->act, L->z, L->b, L->a, n, H);
	} else {
		bias_act(c->act, L->z, L->b, NULL, n, H);
		norm_forward(m, L, L->z, n, train);
		act_apply(c->act, L->nrm, L->a, N);
	}
	L->y = L->a;
	if (drop) {
		float sc = 1 / (1 - c->dropout);
		draw_mask(L->mask, N, c->dropout, rng);
		for (size_t i = 0; i < N; i++)
			L->res[i] = (sc * L->mask[i]) * L->a[i];
		L->y = L->res;
	}
}

/* Column sums of g [n, H] into db (overwritten). */
HOT static void
colsum(const float *g, int n, int H, float *db)
{
	memset(db, 0, (size_t)H * sizeof(float));
	for (int r = 0; r < n; r++) {
		const float *gr = g + (size_t)r * H;
		for (int j = 0; j < H; j++)
			db[j] += gr[j];
	}
}

/* Residual branch: br = g * alpha * dropout factor; returns d loss / d
 * alpha = sum g * dropout factor * bo (bo the branch before dropout). */
HOT static double
branch_grad(const float *g, const float *bo, const uint8_t *mask, float sc,
            float al, float *br, size_t N)
{
	double da = 0;

	if (mask) {
		for (size_t i = 0; i < N; i++) {
			float k = sc * mask[i];
			da += (double)(g[i] * k) * bo[i];
			br[i] = g[i] * al * k;
		}
	} else {
		for (size_t i = 0; i < N; i++) {
			da += (double)g[i] * bo[i];
			br[i] = g[i] * al;
		}
	}
	return da;
}

/*
 * g [n, H] is the gradient w.r.t. the layer output; on return br [n, H]
 * holds the gradient w.r.t. z (for a residual block; g is kept as the skip
 * path's gradient) or g itself does (plain layer, br unused).  Fills db,
 * dgamma, dbeta, dalpha.
 */
static void
layer_backward_elem(struct tp_model *m, struct layer *L, float *g, float *br,
                    int n)
{
	const struct tp_model_config *c = &m->c;
	int H = L->out, hasnorm = c->norm != TP_NORM_NONE;
	size_t N = (size_t)n * H;
	float sc = L->dropped ? 1 / (1 - c->dropout) : 1.0f;

	if (hasnorm) {
		memset(L->dgamma, 0, (size_t)H * sizeof(float));
		memset(L->dbeta, 0, (size_t)H * sizeof(float));
	}
	if (L->residual) {
		const float *bo = hasnorm ? L->nrm : L->a;
		float al = L->alpha ? L->alpha[0] : 1.0f;
		double da = branch_grad(g, bo, L->dropped ? L->mask : NULL, sc, al, br, N);
		if (L->dalpha)
			L->dalpha[0] = (float)da;
		if (hasnorm)
			norm_backward(m, L, br, n);
		grad_act(c->act, br, L->z, L->a, NULL, 1.0f, n, H, L->db);
		return;
	}
	/* relu and tanh layers without norm activate in place (a == z): the
	 * derivative needs only the output. */
	grad_act(c->act, g, hasnorm ? L->nrm : L->z, L->a,
	         L->dropped ? L->mask : NULL, sc, n, H, hasnorm ? NULL : L->db);
	if (hasnorm) {
		norm_backward(m, L, g, n);
		colsum(g, n, H, L->db);
	}
}

/* ---- losses ---- */

static int
check_batch(struct tp_model *m, const struct tp_batch *b, int lo, int n,
            double *sumw)
{
	double s = 0;

	for (int i = lo; i < lo + n; i++) {
		float w = b->w ? b->w[i] : 1.0f;
		if (!(w >= 0) || !isfinite(w)) {
			tp_errorf("example %d: weight %g is not a finite number >= 0",
			          i + 1, (double)w);
			return -1;
		}
		if (w > 0 && m->c.loss == TP_LOSS_XENT &&
		    (b->label[i] < 0 || b->label[i] >= m->c.outputs)) {
			tp_errorf("example %d: label %ld is not in [0, %d)", i + 1,
			          (long)b->label[i], m->c.outputs);
			return -1;
		}
		s += w;
	}
	*sumw = s;
	return 0;
}

/*
 * Per-example losses of logits z [n, K] for rows lo.. of b; with grad, the
 * gradient of sum_i wn_i l_i into grad [n, K].  Returns sum_i wn_i l_i
 * (wn NULL: sum of l_i).
 */
static double
loss_rows(struct tp_model *m, const struct tp_batch *b, int lo, int n,
          const float *z, const float *wn, float *per, float *grad)
{
	int K = m->c.outputs;
	double total = 0;
	float e = m->c.label_smoothing;

	for (int r = 0; r < n; r++) {
		const float *zr = z + (size_t)r * K;
		float wr = wn ? wn[r] : 1.0f, *gr = grad ? grad + (size_t)r * K : NULL;
		float w = b->w ? b->w[lo + r] : 1.0f;
		double l = 0;

		if (w == 0) {
			if (per)
				per[r] = 0;
			if (gr)
				memset(gr, 0, (size_t)K * sizeof(float));
			continue;
		}
		if (m->c.loss == TP_LOSS_XENT) {
			int y = b->label[lo + r];
			float mx = zr[0];
			double se = 0, sz = 0, lse;

			for (int k = 1; k < K; k++)
				mx = zr[k] > mx ? zr[k] : mx;
			for (int k = 0; k < K; k++) {
				se += exp((double)zr[k] - mx);
				sz += zr[k];
			}
			lse = mx + log(se);
			/* -sum_k q_k log p_k with log p_k = z_k - lse */
			l = (1 - e) * (lse - zr[y]) + e * (lse - sz / K);
			if (gr) {
				for (int k = 0; k < K; k++) {
					double p = exp((double)zr[k] - lse);
					double q = e / K + (k == y ? 1 - e : 0);
					gr[k] = (float)(wr * (p - q));
				}
			}
		} else {
			const float *t = b->target + (size_t)(lo + r) * K;
			for (int k = 0; k < K; k++) {
				double d = (double)zr[k] - t[k];
				l += d * d;
				if (gr)
					gr[k] = (float)(wr * 2.0 / K * d);
			}
			l /= K;
		}
		if (per)
			per[r] = (float)l;
		total += wr * l;
	}
	return total;
}

/* ---- passes ---- */

static const float *
forward_rows(struct tp_model *m, const float *x, int n, int train,
             struct tp_rng *rng)
{
	const float *h = x;

	for (int l = 0; l <= m->c.depth; l++) {
		layer_forward(m, &m->L[l], h, n, train, rng);
		h = m->L[l].y;
	}
	return h;
}

int
tp_model_forward(struct tp_model *m, const struct tp_batch *b,
                 struct tp_rng *rng, double *loss)
{
	double sumw;
	int n = b->n;

	m->n = 0;
	if (n < 1 || n > m->max_batch) {
		tp_errorf("model: batch of %d examples is not in [1, %d]", n,
		          m->max_batch);
		return -1;
	}
	if (m->c.dropout > 0 && !rng) {
		tp_errorf("model: dropout needs a random generator");
		return -1;
	}
	if (check_batch(m, b, 0, n, &sumw) < 0)
		return -1;
	if (!(sumw > 0)) {
		tp_errorf("batch of %d examples has total weight 0", n);
		return -1;
	}
	set_groups(m, b->w, n);
	if (m->c.norm == TP_NORM_BATCH && m->nreal < 2) {
		tp_errorf("batch norm needs at least 2 examples of weight > 0 "
		          "in a training batch, found %d", m->nreal);
		return -1;
	}
	for (int i = 0; i < n; i++)
		m->wn[i] = (float)((b->w ? b->w[i] : 1.0f) / sumw);
	const float *z = forward_rows(m, b->x, n, 1, rng);
	*loss = loss_rows(m, b, 0, n, z, m->wn, NULL, m->g0);
	m->n = n;
	return 0;
}

/* The beta of the weight-gradient GEMM: 1 onto a dW its consumer cleared
 * (0 + x is x: the same values), else 0. */
static float
dw_beta(struct layer *L)
{
	float beta = L->dw_zero ? 1.0f : 0.0f;

	L->dw_zero = 0;
	return beta;
}

void
tp_model_backward(struct tp_model *m)
{
	tp_model_backward_each(m, NULL, NULL);
}

/* done on rows of a layer's weight as its threads finish them. */
struct rows_done {
	tp_model_done_fn *done;
	void *arg;
	size_t off;
	int in;
	atomic_int cleared;
};

static void
rows_done(void *arg, int lo, int hi)
{
	struct rows_done *r = arg;

	if (r->done(r->arg, r->off + (size_t)lo * (size_t)r->in,
	            (size_t)(hi - lo) * (size_t)r->in) != 1)
		atomic_store(&r->cleared, 0);
}

/*
 * L's weight gradient dy^T x, then done on L's parameters: the last use of
 * them in the pass (the input gradient is computed first).  On several
 * threads each passes its rows of the weight to done as soon as their
 * gradient is final, while it is in that thread's cache; the rest of the
 * layer (bias, norm gains) follows from the caller.
 */
static void
weight_grad(struct tp_model *m, struct layer *L, const float *dy, int n,
            tp_model_done_fn *done, void *arg)
{
	int H = L->out;
	size_t nw = (size_t)H * (size_t)L->in;

	/* Cut by rows with or without done: the same bits either way. */
	if (!done || tp_pool_threads(m->pool) <= 1) {
		tp_sgemm_pool_rows(m->pool, 1, 0, H, L->in, n, 1.0f, dy, H, L->x,
		                   L->in, dw_beta(L), L->dW, L->in, NULL, NULL);
		if (done)
			L->dw_zero = done(arg, L->poff, L->plen) == 1;
		return;
	}
	struct rows_done r = {done, arg, L->poff, L->in, 1};
	tp_sgemm_pool_rows(m->pool, 1, 0, H, L->in, n, 1.0f, dy, H, L->x, L->in,
	                   dw_beta(L), L->dW, L->in, rows_done, &r);
	if (L->plen > nw && done(arg, L->poff + nw, L->plen - nw) != 1)
		r.cleared = 0;
	L->dw_zero = r.cleared;
}

void
tp_model_backward_each(struct tp_model *m, tp_model_done_fn *done, void *arg)
{
	int n = m->n, depth = m->c.depth, K = m->c.outputs;
	struct layer *O = &m->L[depth];
	float *cur = m->g1, *tmp = m->g0;

	if (n == 0)
		return;
	/* g0 holds d loss / d logits from the forward pass. */
	colsum(m->g0, n, K, O->db);
	if (depth > 0)
		tp_sgemm_pool(m->pool, 0, 0, n, O->in, K, 1.0f, m->g0, K, O->W,
		              O->in, 0.0f, cur, O->in);
	weight_grad(m, O, m->g0, n, done, arg);
	for (int l = depth - 1; l >= 0; l--) {
		struct layer *L = &m->L[l];
		int H = L->out;

		if (L->residual) {
			layer_backward_elem(m, L, cur, tmp, n);
			/* skip path plus branch: cur += tmp W */
			tp_sgemm_pool(m->pool, 0, 0, n, L->in, H, 1.0f, tmp, H, L->W,
			              L->in, 1.0f, cur, L->in);
			weight_grad(m, L, tmp, n, done, arg);
		} else {
			layer_backward_elem(m, L, cur, NULL, n);
			if (l > 0)
				tp_sgemm_pool(m->pool, 0, 0, n, L->in, H, 1.0f, cur, H, L->W,
				              L->in, 0.0f, tmp, L->in);
			weight_grad(m, L, cur, n, done, arg);
			if (l > 0) {
				float *t = tmp;

				tmp = cur;
				cur = t;
			}
		}
	}
	m->n = 0;
}

int
tp_model_train_step(struct tp_model *m, const struct tp_batch *b,
                    struct tp_rng *rng, double *loss)
{
	if (tp_model_forward(m, b, rng, loss) < 0)
		return -1;
	tp_model_backward(m);
	return 0;
}

int
tp_model_eval(struct tp_model *m, const struct tp_batch *b, float *loss,
              float *out)
{
	int K = m->c.outputs;
	double sumw;

	m->n = 0;
	if (b->n < 0) {
		tp_errorf("model: batch of %d examples", b->n);
		return -1;
	}
	if (check_batch(m, b, 0, b->n, &sumw) < 0)
		return -1;
	for (int lo = 0; lo < b->n; lo += m->max_batch) {
		int n = b->n - lo < m->max_batch ? b->n - lo : m->max_batch;
		const float *z = forward_rows(m, b->x + (size_t)lo * m->c.inputs,
		                              n, 0, NULL);

		loss_rows(m, b, lo, n, z, NULL, loss ? loss + lo : NULL, NULL);
		if (out)
			memcpy(out + (size_t)lo * K, z, (size_t)n * K * sizeof(float));
	}
	return 0;
}
