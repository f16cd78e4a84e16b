/*
 * optim.h: the optimizers of tp-train, gradient clipping and the finite
 * check, on one flat float32 parameter array and its gradient.
 *
 * The model keeps every parameter in one allocation of n floats, so an
 * optimizer is a pass over three to five arrays of n floats.  The update
 * rules are those of torch.optim (SGD with momentum/nesterov and dampening 0,
 * Adam, AdamW), step for step, and tests/unit/test-optim.c checks them
 * against fixtures that PyTorch wrote (tests/torch/gen_optim_fixtures.py).
 *
 * With g the gradient, p the parameters, wd the weight decay, lr the
 * learning rate of this update (from the schedule) and t the update count
 * starting at 1:
 *   sgd       g += wd*p;  p -= lr*g
 *   momentum  g += wd*p;  b = t==1 ? g : mu*b + g;  p -= lr*b
 *   nesterov  g += wd*p;  b = t==1 ? g : mu*b + g;  p -= lr*(g + mu*b)
 *   adam      g += wd*p;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;
 *             p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *   adamw     p *= 1 - lr*wd;  then adam without the g += wd*p
 * Weight decay applies to every parameter unless ranges are exempted with
 * tp_optim_no_decay() (biases and normalization gains, usually).
 *
 * The state (momentum buffer, or Adam's m then v) is one float array inside
 * the optimizer's single allocation; with the update count it is everything
 * a resumed run needs to continue bit for bit.  Same inputs give the same
 * bytes: every element is computed by the same code whatever the threads.
 */
#ifndef TP_OPTIM_H
#define TP_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

enum tp_optim_kind {
	TP_OPTIM_SGD,      /* plain SGD; momentum is ignored */
	TP_OPTIM_MOMENTUM, /* heavy-ball momentum */
	TP_OPTIM_NESTEROV, /* Nesterov momentum (torch's nesterov=True) */
	TP_OPTIM_ADAM,     /* Adam, weight decay as L2 added to the gradient */
	TP_OPTIM_ADAMW,    /* Adam with decoupled weight decay */
};

struct tp_optim_config {
	enum tp_optim_kind kind;
	double momentum;     /* momentum, nesterov: in [0, 1) */
	double beta1, beta2; /* adam, adamw: each in [0, 1) */
	double epsilon;      /* adam, adamw: > 0, added outside the sqrt */
	double weight_decay; /* >= 0; L2 for all kinds but adamw (decoupled) */
};

/* torch's defaults for kind: momentum 0.9, betas 0.9/0.999, epsilon 1e-8,
 * weight decay 0 (0.01 for adamw, as torch.optim.AdamW). */
void tp_optim_config_default(struct tp_optim_config *c,
                             enum tp_optim_kind kind);

/* 0 if c is valid; else print which field is wrong and return -1. */
int tp_optim_config_check(const struct tp_optim_config *c) TP_WUR;

/*
 * Name <-> kind: "sgd", "momentum", "nesterov", "adam", "adamw".  Parsing
 * prints "WHAT: unknown optimizer 'S' (expected ...)" and returns -1 on a
 * name it does not know; what names the source (e.g. "--optimizer").
 * tp_optim_kind_name returns "?" for a value outside the enum.
 */
int tp_optim_kind_parse(const char *s, const char *what,
                        enum tp_optim_kind *out) TP_WUR;
const char *tp_optim_kind_name(enum tp_optim_kind kind);

struct tp_optim;

/* An optimizer for n parameters with zeroed state and update count 0, or
 * NULL after printing why when c is invalid.  Free with tp_optim_free. */
struct tp_optim *tp_optim_new(const struct tp_optim_config *c, size_t n);
void tp_optim_free(struct tp_optim *o);
/* Run the update on the pool's threads (borrowed; NULL, the default: in
 * the caller): the same results, element for element, on any number. */
struct tp_pool;
void tp_optim_set_pool(struct tp_optim *o, struct tp_pool *p);

/*
 * Exempt parameters [off, off+len) from weight decay.  Ranges may overlap or
 * touch; call before the first step.  -1 after printing if the range does
 * not fit in n.
 */
int tp_optim_no_decay(struct tp_optim *o, size_t off, size_t len) TP_WUR;

/*
 * One update of p[n] with gradient g[n] (not modified) at learning rate lr;
 * increments the update count.  p and g must not overlap each other or the
 * state.  As in torch with float32 tensors, the scalar factors (-lr, Adam's
 * -lr/(1-b1^t), 1-lr*wd, ...) are computed in double and rounded to float
 * once; the element arithmetic is float, in torch's order.
 */
void tp_optim_step(struct tp_optim *o, float *p, const float *g, double lr);
/*
 * The same in pieces: tp_optim_begin starts a step at learning rate lr
 * (counts it), then tp_optim_apply updates parameters [off, off + len) from
 * their gradients, once for each part of [0, n).  Each element gets the
 * update tp_optim_step gives it, whatever the order of the parts: a trainer
 * can update a layer as soon as its gradient is final.
 */
void tp_optim_begin(struct tp_optim *o, double lr);
void tp_optim_apply(struct tp_optim *o, float *p, const float *g, size_t off,
                    size_t len);
/* tp_optim_apply, then g[off, off + len) = 0: the gradients consumed,
 * cleared while they are in cache (see tp_model_backward_each). */
void tp_optim_apply_clear(struct tp_optim *o, float *p, float *g, size_t off,
                          size_t len);

/*
 * The state for checkpoints: a pointer to *nfloats floats that stays valid
 * until tp_optim_free (NULL and 0 for plain SGD, which has none).  Layout:
 * momentum/nesterov the buffer b[n]; adam/adamw m[n] then v[n].  To resume,
 * copy saved floats here and set the update count.  An update count of 0
 * means the next update starts the momentum buffer from the gradient, as
 * torch's first step does.
 */
float *tp_optim_state(struct tp_optim *o, size_t *nfloats);
uint64_t tp_optim_steps(const struct tp_optim *o);
void tp_optim_set_steps(struct tp_optim *o, uint64_t steps);
size_t tp_optim_size(const struct tp_optim *o); /* n */
const struct tp_optim_config *tp_optim_config(const struct tp_optim *o);

/*
 * Global L2 norm of g[n], accumulated in double in a fixed order (the same
 * bytes give the same norm on every run).  Not finite if g holds a NaN/Inf.
 */
double tp_optim_grad_norm(const float *g, size_t n);

/*
 * torch.nn.utils.clip_grad_norm_: with norm the global L2 norm of g[n],
 * scale g by max_norm / (norm + 1e-6) when that is below 1.  Returns the
 * norm before clipping (for the metrics stream).  max_norm <= 0 only
 * measures.  A non-finite norm leaves g alone: the caller reports divergence.
 */
double tp_optim_clip_grad_norm(float *g, size_t n, double max_norm);

/* 1 if every a[0..n) is finite, 0 if any is NaN or +-Inf. */
int tp_optim_all_finite(const float *a, size_t n);

#endif
