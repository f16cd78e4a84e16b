/*
 * optim.c: SGD, momentum, Nesterov, Adam and AdamW updates, gradient
 * clipping by global norm and the finite check, on flat float32 arrays.
 *
 * The update is memory-bound (3 to 7 floats of traffic per parameter), so
 * each kind is one pass with no per-element branch: the kind and the
 * first-step momentum case are decided outside the loops, ranges exempt
 * from weight decay run as separate segments, and the loops walk
 * the array in blocks of BLOCK elements so that GCC's -O2 cost model (which
 * only vectorizes loops without a scalar remainder) turns them into SIMD
 * code, then finish the tail with the same scalar expression.  There is no
 * reduction in the updates and no FMA contraction under -std=c11, so the
 * vector and scalar paths give the same bits and the result does not depend
 * on n or alignment.
 *
 * The arithmetic follows torch.optim step for step (torch 1.13, float32
 * tensors, the single-tensor path): scalar factors are computed in double
 * and rounded to float once, element arithmetic is float in the same order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp/optim.h"
#include "tp/pool.h"

#ifdef __SSE2__
#include <immintrin.h>
#endif

#define BLOCK 8

struct range {
	size_t off, end;
};

struct scal {
	float nlr;   /* -lr (sgd family) or -lr/(1-b1^t) (adam) */
	float wd;    /* L2 coefficient added to the gradient, 0 when exempt */
	float mu;    /* momentum */
	float b1, c1, b2, c2; /* beta1, 1-beta1, beta2, 1-beta2 */
	float bc2s;  /* sqrt(1 - beta2^t) */
	float eps;
	float decay; /* adamw: 1 - lr*wd, 1 when exempt */
};

struct tp_optim {
	struct tp_optim_config c;
	size_t n;
	uint64_t t;          /* updates done */
	float *state;        /* nstate floats after this struct, same malloc */
	size_t nstate;
	struct range *nodecay; /* sorted, disjoint, not touching */
	size_t nnodecay;
	struct tp_pool *pool;  /* borrowed; NULL: the update runs in the caller */
	struct scal s, s0;     /* this step's, from tp_optim_begin */
	int first;             /* this step is the first */
};

static const char *const kind_names[] = {
	[TP_OPTIM_SGD] = "sgd",
	[TP_OPTIM_MOMENTUM] = "momentum",
	[TP_OPTIM_NESTEROV] = "nesterov",
	[TP_OPTIM_ADAM] = "adam",
	[TP_OPTIM_ADAMW] = "adamw",
};

#define NKIND (sizeof kind_names / sizeof kind_names[0])

void
tp_optim_config_default(struct tp_optim_config *c, enum tp_optim_kind kind)
{
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->momentum = 0.9;
	c->beta1 = 0.9;
	c->beta2 = 0.999;
	c->epsilon = 1e-8;
	c->weight_decay = kind == TP_OPTIM_ADAMW ? 0.01 : 0;
}

/* Conditions are written so that NaN fails them. */
int
tp_optim_config_check(const struct tp_optim_config *c)
{
	const char *k;

	if ((unsigned)c->kind >= NKIND) {
		tp_errorf("optimizer: unknown kind %d", (int)c->kind);
		return -1;
	}
	k = kind_names[c->kind];
	if ((c->kind == TP_OPTIM_MOMENTUM || c->kind == TP_OPTIM_NESTEROV) &&
	    !(c->momentum >= 0 && c->momentum < 1)) {
		tp_errorf("optimizer %s: momentum %g is not in [0, 1)", k,
		          c->momentum);
		return -1;
	}
	if (c->kind == TP_OPTIM_ADAM || c->kind == TP_OPTIM_ADAMW) {
		if (!(c->beta1 >= 0 && c->beta1 < 1)) {
			tp_errorf("optimizer %s: beta1 %g is not in [0, 1)", k, c->beta1);
			return -1;
		}
		if (!(c->beta2 >= 0 && c->beta2 < 1)) {
			tp_errorf("optimizer %s: beta2 %g is not in [0, 1)", k, c->beta2);
			return -1;
		}
		if (!(c->epsilon > 0 && isfinite(c->epsilon))) {
			tp_errorf("optimizer %s: epsilon %g is not a positive number", k,
			          c->epsilon);
			return -1;
		}
	}
	if (!(c->weight_decay >= 0 && isfinite(c->weight_decay))) {
		tp_errorf("optimizer %s: weight_decay %g is not a number >= 0", k,
		          c->weight_decay);
		return -1;
	}
	return 0;
}

int
tp_optim_kind_parse(const char *s, const char *what, enum tp_optim_kind *out)
{
	for (size_t i = 0; i < NKIND; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (enum tp_optim_kind)i;
			return 0;
		}
	tp_errorf("%s: unknown optimizer '%s' (expected sgd, momentum, nesterov, "
	          "adam, adamw)", what, s);
	return -1;
}

const char *
tp_optim_kind_name(enum tp_optim_kind kind)
{
	return (unsigned)kind < NKIND ? kind_names[kind] : "?";
}

static size_t
state_per_param(enum tp_optim_kind kind)
{
	switch (kind) {
	case TP_OPTIM_MOMENTUM:
	case TP_OPTIM_NESTEROV:
		return 1;
	case TP_OPTIM_ADAM:
	case TP_OPTIM_ADAMW:
		return 2;
	case TP_OPTIM_SGD:
	default:
		return 0;
	}
}

struct tp_optim *
tp_optim_new(const struct tp_optim_config *c, size_t n)
{
	/* The state starts on a cache line, whatever the struct's size. */
	size_t head = (sizeof(struct tp_optim) + 63) / 64 * 64;
	size_t k = state_per_param(c->kind), nstate;
	struct tp_optim *o;
	char *mem;

	if (tp_optim_config_check(c) < 0)
		return NULL;
	if (k && n > (SIZE_MAX - head - 64) / sizeof(float) / k)
		tp_oom();
	nstate = k * n;
	/* One allocation for the struct and its state (playbook-sized models
	 * fit easily; checkpoints copy the state out in one piece). */
	mem = tp_xmalloc(head + 64 + nstate * sizeof(float));
	o = (struct tp_optim *)(void *)mem;
	memset(o, 0, sizeof *o);
	o->c = *c;
	o->n = n;
	o->nstate = nstate;
	if (nstate) {
		uintptr_t a = (uintptr_t)(mem + head);
		o->state = (float *)(void *)(mem + head + ((64 - a % 64) % 64));
		memset(o->state, 0, nstate * sizeof(float));
	}
	return o;
}

void
tp_optim_free(struct tp_optim *o)
{
	if (!o)
		return;
	free(o->nodecay);
	free(o);
}

void
tp_optim_set_pool(struct tp_optim *o, struct tp_pool *p)
{
	o->pool = p;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return (x->off > y->off) - (x->off < y->off);
}

int
tp_optim_no_decay(struct tp_optim *o, size_t off, size_t len)
{
	size_t i, j;

	if (off > o->n || len > o->n - off) {
		tp_errorf("optimizer: no-decay range of %zu at offset %zu is "
		          "outside the %zu parameters", len, off, o->n);
		return -1;
	}
	if (len == 0)
		return 0;
	/* Merged ranges are disjoint and non-empty: at most n + 1 entries. */
	o->nodecay = tp_xrealloc(o->nodecay,
	                         (o->nnodecay + 1) * sizeof *o->nodecay);
	o->nodecay[o->nnodecay++] = (struct range){off, off + len};
	qsort(o->nodecay, o->nnodecay, sizeof *o->nodecay, range_cmp);
	/* Merge overlapping or touching ranges so step() sees few segments. */
	for (i = 0, j = 1; j < o->nnodecay; j++) {
		if (o->nodecay[j].off <= o->nodecay[i].end) {
			if (o->nodecay[j].end > o->nodecay[i].end)
				o->nodecay[i].end = o->nodecay[j].end;
		} else {
			o->nodecay[++i] = o->nodecay[j];
		}
	}
	o->nnodecay = i + 1;
	return 0;
}

/*
 * The kernels.  Each handles [0, n) of already offset arrays; p, g and the
 * state never alias (restrict), which lets the compiler vectorize.  The
 * element expression is a macro so the blocked loop and the tail share it.
 */
#define FOR_BLOCKED(n, BODY)                                                   \
	do {                                                                   \
		size_t i_, nb_ = (n) / BLOCK * BLOCK;                          \
		for (i_ = 0; i_ < nb_; i_ += BLOCK)                            \
			for (size_t j_ = 0; j_ < BLOCK; j_++) {                \
				size_t i = i_ + j_;                            \
				BODY;                                          \
			}                                                      \
		for (size_t i = nb_; i < (n); i++) {                           \
			BODY;                                                  \
		}                                                              \
	} while (0)

static void
k_sgd(size_t n, float *restrict p, const float *restrict g,
      const struct scal *s)
{
	const float nlr = s->nlr, wd = s->wd;

	FOR_BLOCKED(n, {
		float d = g[i] + wd * p[i];
		p[i] = p[i] + nlr * d;
	});
}

/* torch.optim.SGD: the first step sets the buffer to the gradient. */
static void
k_momentum(size_t n, float *restrict p, const float *restrict g,
           float *restrict b, const struct scal *s, int first, int nesterov)
{
	const float nlr = s->nlr, wd = s->wd, mu = s->mu;

	if (first && nesterov)
		FOR_BLOCKED(n, {
			float d = g[i] + wd * p[i];
			b[i] = d;
			p[i] = p[i] + nlr * (d + mu * d);
		});
	else if (first)
		FOR_BLOCKED(n, {
			float d = g[i] + wd * p[i];
			b[i] = d;
			p[i] = p[i] + nlr * d;
		});
	else if (nesterov)
		FOR_BLOCKED(n, {
			float d = g[i] + wd * p[i];
			float nb = b[i] * mu + d;
			b[i] = nb;
			p[i] = p[i] + nlr * (d + mu * nb);
		});
	else
		FOR_BLOCKED(n, {
			float d = g[i] + wd * p[i];
			float nb = b[i] * mu + d;
			b[i] = nb;
			p[i] = p[i] + nlr * nb;
		});
}

/*
 * Adam as torch 1.13's _single_tensor_adam: m.mul_(b1).add_(g, alpha=1-b1);
 * v.mul_(b2).addcmul_(g, g, value=1-b2); denom = sqrt(v) / bc2s + eps;
 * p.addcdiv_(m, denom, value=-lr/bc1).  AdamW first scales p by decay.
 */
#define ADAM_ELEM(i)                                                           \
	do {                                                                   \
		float pi = p[i] * decay;                                       \
		float d = g[i] + wd * pi;                                      \
		float mi = m[i] * b1 + c1 * d;                                 \
		float vi = v[i] * b2 + c2 * d * d;                             \
		m[i] = mi;                                                     \
		v[i] = vi;                                                     \
		p[i] = pi + nlr * mi / (sqrtf(vi) / bc2s + eps);               \
	} while (0)

#ifdef __SSE2__
/*
 * ADAM_ELEM W at a time with the intrinsics of prefix P on vectors V.
 * sqrtf may set errno, so under the default -fmath-errno GCC will not
 * vectorize ADAM_ELEM, and scalar sqrt and division make Adam 4x slower
 * than memory allows.  The same IEEE operations in the same order give the
 * same bits at every width (sqrt and division are correctly rounded, and
 * there is no FMA), which is why one body serves SSE and AVX.
 */
#define ADAM_SIMD(V, W, P)                                                     \
	do {                                                                   \
		const V vdecay = P##_set1_ps(s->decay), vwd = P##_set1_ps(s->wd), \
		        vb1 = P##_set1_ps(s->b1), vc1 = P##_set1_ps(s->c1),    \
		        vb2 = P##_set1_ps(s->b2), vc2 = P##_set1_ps(s->c2),    \
		        vnlr = P##_set1_ps(s->nlr), vbc2s = P##_set1_ps(s->bc2s), \
		        veps = P##_set1_ps(s->eps);                            \
		for (; i + (W) <= n; i += (W)) {                               \
			V pi = P##_mul_ps(P##_loadu_ps(p + i), vdecay);        \
			V d = P##_add_ps(P##_loadu_ps(g + i), P##_mul_ps(vwd, pi)); \
			V mi = P##_add_ps(P##_mul_ps(P##_loadu_ps(m + i), vb1),\
			                  P##_mul_ps(vc1, d));                 \
			V vi = P##_add_ps(P##_mul_ps(P##_loadu_ps(v + i), vb2),\
			                  P##_mul_ps(P##_mul_ps(vc2, d), d));  \
			V den = P##_add_ps(P##_div_ps(P##_sqrt_ps(vi), vbc2s), \
			                   veps);                              \
			V up = P##_div_ps(P##_mul_ps(vnlr, mi), den);          \
			P##_storeu_ps(m + i, mi);                              \
			P##_storeu_ps(v + i, vi);                              \
			P##_storeu_ps(p + i, P##_add_ps(pi, up));              \
		}                                                              \
	} while (0)

/* The elements done: a multiple of 4 (of 8 for AVX). */
static size_t
k_adam_sse(size_t n, float *restrict p, const float *restrict g,
           float *restrict m, float *restrict v, const struct scal *s)
{
	size_t i = 0;

	ADAM_SIMD(__m128, 4, _mm);
	return i;
}

#ifdef __GNUC__
/* Where the CPU has AVX (checked at run time). */
__attribute__((target("avx"))) static size_t
k_adam_avx(size_t n, float *restrict p, const float *restrict g,
           float *restrict m, float *restrict v, const struct scal *s)
{
	size_t i = 0;

	ADAM_SIMD(__m256, 8, _mm256);
	return i;
}
#endif
#endif

static void
k_adam(size_t n, float *restrict p, const float *restrict g,
       float *restrict m, float *restrict v, const struct scal *s)
{
	const float nlr = s->nlr, wd = s->wd, b1 = s->b1, c1 = s->c1,
	            b2 = s->b2, c2 = s->c2, bc2s = s->bc2s, eps = s->eps,
	            decay = s->decay;
	size_t i = 0;

#ifdef __SSE2__
#ifdef __GNUC__
	if (__builtin_cpu_supports("avx"))
		i = k_adam_avx(n, p, g, m, v, s);
#endif
	i += k_adam_sse(n - i, p + i, g + i, m + i, v + i, s);
#endif
	for (; i < n; i++)
		ADAM_ELEM(i);
}

static void
run_segment(struct tp_optim *o, size_t off, size_t len, float *p,
            const float *g, const struct scal *s, int first)
{
	size_t n = o->n;

	switch (o->c.kind) {
	case TP_OPTIM_SGD:
		k_sgd(len, p + off, g + off, s);
		break;
	case TP_OPTIM_MOMENTUM:
	case TP_OPTIM_NESTEROV:
		k_momentum(len, p + off, g + off, o->state + off, s, first,
		           o->c.kind == TP_OPTIM_NESTEROV);
		break;
	case TP_OPTIM_ADAM:
	case TP_OPTIM_ADAMW:
		k_adam(len, p + off, g + off, o->state + off,
		       o->state + n + off, s);
		break;
	}
}

/* One step over parameters [base + lo, base + hi): the decayed ranges with
 * s, the exempt ones with s0. */
struct step_job {
	struct tp_optim *o;
	float *p;
	const float *g;
	float *clear; /* g itself, to be zeroed after use; or NULL */
	const struct scal *s, *s0;
	int first;
	size_t base;
};

/* run_segment, then zeroing the gradients used, a chunk at a time so that
 * each chunk is cleared while it is still in the nearest cache. */
static void
run_clear(const struct step_job *j, size_t off, size_t len,
          const struct scal *s)
{
	enum { CHUNK = 4096 };

	if (!j->clear) {
		run_segment(j->o, off, len, j->p, j->g, s, j->first);
		return;
	}
	for (size_t c = 0; c < len; c += CHUNK) {
		size_t k = len - c < CHUNK ? len - c : CHUNK;

		run_segment(j->o, off + c, k, j->p, j->g, s, j->first);
		memset(j->clear + off + c, 0, k * sizeof(float));
	}
}

static void
step_range(void *arg, size_t lo, size_t hi)
{
	struct step_job *j = arg;
	struct tp_optim *o = j->o;
	size_t pos = lo + j->base;

	hi += j->base;

	for (size_t r = 0; r < o->nnodecay && pos < hi; r++) {
		const struct range *q = &o->nodecay[r];
		size_t a = q->off > pos ? q->off : pos, b = q->end < hi ? q->end : hi;

		if (q->end <= pos)
			continue;
		if (a > hi)
			a = hi;
		run_clear(j, pos, a - pos, j->s);
		if (b > a)
			run_clear(j, a, b - a, j->s0);
		pos = b > a ? b : a;
	}
	if (pos < hi)
		run_clear(j, pos, hi - pos, j->s);
}

/* Below this many parameters per thread (about 4 us of Adam on one core),
 * handing a share to a spinning thread costs more than it saves. */
enum { MIN_CHUNK = 1 << 13 };

void
tp_optim_begin(struct tp_optim *o, double lr)
{
	const struct tp_optim_config *c = &o->c;
	struct scal s = {0};
	double t;

	o->first = o->t == 0;
	o->t++;
	t = (double)o->t;
	s.nlr = (float)-lr;
	s.wd = (float)c->weight_decay;
	s.mu = (float)c->momentum;
	s.decay = 1;
	if (c->kind == TP_OPTIM_ADAM || c->kind == TP_OPTIM_ADAMW) {
		s.b1 = (float)c->beta1;
		s.c1 = (float)(1 - c->beta1);
		s.b2 = (float)c->beta2;
		s.c2 = (float)(1 - c->beta2);
		s.nlr = (float)-(lr / (1 - pow(c->beta1, t)));
		s.bc2s = (float)sqrt(1 - pow(c->beta2, t));
		s.eps = (float)c->epsilon;
		if (c->kind == TP_OPTIM_ADAMW) {
			s.decay = (float)(1 - lr * c->weight_decay);
			s.wd = 0;
		}
	}
	/* Exempt ranges run the same kernel with the decay switched off. */
	o->s = s;
	o->s0 = s;
	o->s0.wd = 0;
	o->s0.decay = 1;
}

void
tp_optim_apply(struct tp_optim *o, float *p, const float *g, size_t off,
               size_t len)
{
	struct step_job job = {o, p, g, NULL, &o->s, &o->s0, o->first, off};

	tp_pool_for(o->pool, len, MIN_CHUNK, step_range, &job);
}

void
tp_optim_apply_clear(struct tp_optim *o, float *p, float *g, size_t off,
                     size_t len)
{
	struct step_job job = {o, p, g, g, &o->s, &o->s0, o->first, off};

	tp_pool_for(o->pool, len, MIN_CHUNK, step_range, &job);
}

void
tp_optim_step(struct tp_optim *o, float *p, const float *g, double lr)
{
	tp_optim_begin(o, lr);
	tp_optim_apply(o, p, g, 0, o->n);
}

float *
tp_optim_state(struct tp_optim *o, size_t *nfloats)
{
	*nfloats = o->nstate;
	return o->nstate ? o->state : NULL;
}

uint64_t
tp_optim_steps(const struct tp_optim *o)
{
	return o->t;
}

void
tp_optim_set_steps(struct tp_optim *o, uint64_t steps)
{
	o->t = steps;
}

size_t
tp_optim_size(const struct tp_optim *o)
{
	return o->n;
}

const struct tp_optim_config *
tp_optim_config(const struct tp_optim *o)
{
	return &o->c;
}

double
tp_optim_grad_norm(const float *g, size_t n)
{
	/* BLOCK partial sums in a fixed order: vectorizable, and the same
	 * bytes give the same norm on every machine. */
	double acc[BLOCK] = {0}, sum = 0;
	size_t i, nb = n / BLOCK * BLOCK;

	for (i = 0; i < nb; i += BLOCK)
		for (size_t j = 0; j < BLOCK; j++)
			acc[j] += (double)g[i + j] * (double)g[i + j];
	for (; i < n; i++)
		acc[0] += (double)g[i] * (double)g[i];
	for (size_t j = 0; j < BLOCK; j++)
		sum += acc[j];
	return sqrt(sum);
}

double
tp_optim_clip_grad_norm(float *g, size_t n, double max_norm)
{
	double norm = tp_optim_grad_norm(g, n), coef;

	if (!(max_norm > 0) || !isfinite(norm))
		return norm;
	/* torch.nn.utils.clip_grad_norm_'s 1e-6 keeps a zero norm finite.  Its
	 * coefficient is float32 arithmetic on a float32 norm; doing the same
	 * here (with the more accurate norm rounded once) gives its bits. */
	coef = (float)max_norm / ((float)norm + 1e-6f);
	if (coef < 1) {
		const float f = (float)coef;

		FOR_BLOCKED(n, { g[i] *= f; });
	}
	return norm;
}

int
tp_optim_all_finite(const float *a, size_t n)
{
	/* Exponent all ones means Inf or NaN; integer ops vectorize and an
	 * OR is order-free.  Chunks let a bad array stop early. */
	size_t chunk = 4096;

	for (size_t off = 0; off < n; off += chunk) {
		size_t len = n - off < chunk ? n - off : chunk;
		const float *x = a + off;
		unsigned bad = 0;

		FOR_BLOCKED(len, {
			uint32_t u;
			memcpy(&u, &x[i], sizeof u);
			bad |= (u & 0x7f800000u) == 0x7f800000u;
		});
		if (bad)
			return 0;
	}
	return 1;
}
