/*
 * model.h: the network of tp-train, a multilayer perceptron with its forward
 * and backward passes, for classification (softmax cross-entropy) and
 * regression (mean squared error).
 *
 * Architecture, with H = width and L = depth hidden layers:
 *   plain     h_l = Drop(Act(Norm(W_l h_{l-1} + b_l)))          l = 1..L
 *   residual  h_1 as above (it maps the inputs to width H);
 *             h_l = h_{l-1} + a_l * Drop(Norm(Act(W_l h_{l-1} + b_l)))  l >= 2
 *             so normalization is the last operation of the branch before
 *             the add, x + Norm(f(x)) (playbook: "Norm(x + f(x)) known to
 *             cause issues").  a_l is a learned scalar initialized to 0 when
 *             rezero is set (ReZero, arXiv:2003.04887: every block starts as
 *             the identity), and the constant 1 otherwise.
 *   output    logits (or predictions) = W_out h_L + b_out
 * depth 0 is a linear model (logistic or linear regression).
 *
 * Norm is LayerNorm (over the H features of one example) or BatchNorm (over
 * the examples, per feature), both with a learned gain (init 1) and bias
 * (init 0) and eps added to the variance, exactly as torch.nn.LayerNorm and
 * torch.nn.BatchNorm1d.  Dropout is inverted dropout (kept units scaled by
 * 1/(1-p)), active in training only.
 *
 * Ghost batch norm: in training, the examples of weight > 0 are taken in
 * order and cut into G = ceil(n / ghost_batch) consecutive groups whose
 * sizes differ by at most one (group g holds examples [g*n/G, (g+1)*n/G)),
 * so a batch of 3 x ghost_batch gives 3 groups of ghost_batch and a batch of
 * 100 with ghost_batch 64 gives 2 groups of 50, never a degenerate group of
 * a few examples.  Each group is normalized with its own mean and biased
 * variance.  Examples of weight 0 (padding) never enter the statistics and
 * pass through as normalized value 0 (output = bias).  The running
 * statistics are updated once per training step, as torch does with momentum
 * m (default 0.1): running = (1-m)*running + m*stat, where stat is the mean
 * over groups (weighted by group size) of the group means and of the
 * unbiased (n_g - 1) group variances.  With one group this is exactly
 * torch's BatchNorm1d.  Evaluation uses the running statistics only, so
 * padding is harmless there.  Training with batch norm needs >= 2 examples
 * of weight > 0 in a batch.
 *
 * Initialization (tp_model_init): weights drawn with variance s^2, where s^2
 * is 2/fan_in (He), 2/(fan_in+fan_out) (Glorot) or 1/fan_in (LeCun), from a
 * normal distribution N(0, s^2) or a uniform one U(-s*sqrt(3), s*sqrt(3)),
 * in the order the parameter views are listed, each weight matrix row-major
 * (the output layer's included, same rule); biases 0, norm gains 1, norm
 * biases 0, rezero scalars 0; running means 0, running variances 1.
 *
 * Losses, with w_i >= 0 the weight of example i (0 = padding):
 *   batch loss = sum_i w_i l_i / sum_i w_i, gradients are of that quantity;
 *   xent  l_i = -sum_k q_ik log softmax(z_i)_k, q_ik = (1-e)[k = y_i] + e/K
 *         (torch.nn.CrossEntropyLoss(label_smoothing=e), K = outputs);
 *   mse   l_i = (1/K) sum_k (z_ik - t_ik)^2 (torch.nn.MSELoss per example).
 *
 * Memory: one allocation holds every parameter, one every gradient (same
 * layout), one the batch norm running statistics; named views describe them
 * (for checkpoints and weight decay exemptions).  Activations and workspace
 * are allocated once, for max_batch examples: a training step allocates
 * nothing.  All matrix products go through tp_sgemm; the same inputs, seed
 * and thread count give the same bytes.
 *
 * A model is not safe to use from two threads at once.
 */
#ifndef TP_MODEL_H
#define TP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

struct tp_rng;

enum tp_act { TP_ACT_RELU, TP_ACT_GELU, TP_ACT_TANH };
enum tp_norm { TP_NORM_NONE, TP_NORM_LAYER, TP_NORM_BATCH };
enum tp_init { TP_INIT_HE, TP_INIT_GLOROT, TP_INIT_LECUN };
enum tp_loss { TP_LOSS_XENT, TP_LOSS_MSE };

struct tp_model_config {
	int inputs;            /* features per example, >= 1 */
	int outputs;           /* classes (xent, >= 2) or targets (mse, >= 1) */
	int depth;             /* hidden layers, >= 0 */
	int width;             /* units per hidden layer, >= 1 when depth > 0 */
	enum tp_act act;       /* relu (default), gelu (erf form), tanh */
	enum tp_norm norm;     /* none (default), layer, batch */
	int residual;          /* 0/1: layers 2..depth are residual blocks */
	int rezero;            /* 0/1: learned branch scale starting at 0 */
	float dropout;         /* drop probability in [0, 1), default 0 */
	enum tp_init init;     /* he (default), glorot, lecun */
	int init_uniform;      /* 0: normal (default), 1: uniform, same variance */
	int ghost_batch;       /* batch norm group size, >= 2, default 64 */
	float bn_momentum;     /* in (0, 1], default 0.1 (torch) */
	float norm_eps;        /* > 0, default 1e-5 (torch) */
	enum tp_loss loss;     /* xent (default) or mse */
	float label_smoothing; /* in [0, 1), xent only, default 0 */
};

/* Defaults as documented in the struct; inputs and outputs are set to 0
 * and must be filled in. */
void tp_model_config_default(struct tp_model_config *c);

/*
 * 0 if c is consistent, else print one line naming the field and return -1.
 * Refused: sizes out of range, residual with depth < 2 (the first hidden
 * layer changes the width, so it cannot be a residual block and a residual
 * model needs a second layer), rezero without residual, label smoothing with
 * mse, ghost_batch < 2 with batch norm.
 */
int tp_model_config_check(const struct tp_model_config *c) TP_WUR;
/* 1 if a and b describe the same model (every field equal), else 0. */
int tp_model_config_equal(const struct tp_model_config *a,
                          const struct tp_model_config *b);

/*
 * Names <-> values, for flags and records.  Parsing prints
 * "WHAT: unknown activation 'S' (expected relu, gelu, tanh)" and returns -1.
 * Activations "relu" "gelu" "tanh"; norms "none" "layer" "batch"; losses
 * "xent" "mse"; inits "he" "glorot" "lecun" (normal), with "_normal" or
 * "_uniform" appended to choose the distribution (init_uniform is set).
 * Name functions return "?" for a value outside the enum; tp_model_init_name
 * gives the full "he_normal" style name.
 */
int tp_model_act_parse(const char *s, const char *what, enum tp_act *out) TP_WUR;
int tp_model_norm_parse(const char *s, const char *what, enum tp_norm *out) TP_WUR;
int tp_model_loss_parse(const char *s, const char *what, enum tp_loss *out) TP_WUR;
int tp_model_init_parse(const char *s, const char *what, enum tp_init *out,
                        int *uniform) TP_WUR;
const char *tp_model_act_name(enum tp_act a);
const char *tp_model_norm_name(enum tp_norm n);
const char *tp_model_loss_name(enum tp_loss l);
const char *tp_model_init_name(enum tp_init i, int uniform);

/*
 * A named slice of the parameters (or gradients, same layout) or of the
 * buffers.  Parameter views, in this order for each hidden layer l = 1..L:
 *   "layerL.weight" [H, fan_in]  decay 1   (row-major, torch's layout)
 *   "layerL.bias"   [H]
 *   "layerL.norm.weight" [H], "layerL.norm.bias" [H]       with a norm
 *   "layerL.alpha"  [1]                       rezero, l >= 2
 * then "out.weight" [outputs, H or inputs] (decay 1) and "out.bias".
 * Buffer views, batch norm only: "layerL.norm.running_mean" [H] and
 * "layerL.norm.running_var" [H] for each l.
 */
struct tp_model_view {
	const char *name; /* valid as long as the model */
	int ndim;         /* 1 or 2 */
	int shape[2];     /* shape[1] is 1 when ndim is 1 */
	size_t offset;    /* in floats from the start of the array */
	size_t count;     /* shape[0] * shape[1] */
	int decay;        /* 1 for weight matrices, 0 for biases, gains, alpha */
};

/*
 * A batch of n examples, all pointers borrowed for the call:
 *   x      [n, inputs] features, row-major;
 *   label  [n] class indices in [0, outputs) (xent; ignored by mse);
 *   target [n, outputs] (mse; ignored by xent);
 *   w      [n] weights >= 0, or NULL for all 1.  Rows of weight 0 are
 *          padding: they do not touch the loss, gradients or batch norm
 *          statistics, and their label/target is not read; their features
 *          must still be finite (zeros will do), since 0 * NaN is NaN in
 *          the weight gradient's matrix product.
 */
struct tp_batch {
	const float *x;
	const int32_t *label;
	const float *target;
	const float *w;
	int n;
};

struct tp_model;

/*
 * A model for batches of at most max_batch examples in training (evaluation
 * takes any size and works in chunks).  Parameters are zero until
 * tp_model_init or a checkpoint fills them.  NULL after printing why when
 * the configuration is invalid.  The configuration is copied.
 */
struct tp_model *tp_model_new(const struct tp_model_config *c, int max_batch);
void tp_model_free(struct tp_model *m); /* accepts NULL */

/* Run the matrix products on the pool's threads (tp_sgemm_pool: the same
 * bits from run to run at a thread count), OpenBLAS set to 1 thread by the
 * caller; NULL (the default): each product is one OpenBLAS call, threaded
 * as OpenBLAS is.  The pool is borrowed and must outlive its use here. */
struct tp_pool;
void tp_model_set_pool(struct tp_model *m, struct tp_pool *p);

const struct tp_model_config *tp_model_get_config(const struct tp_model *m);
int tp_model_max_batch(const struct tp_model *m);

/* Initialize parameters and running statistics from seed (the caller
 * derives it, tp_seed_derive); gradients are zeroed.  Deterministic. */
void tp_model_init(struct tp_model *m, uint64_t seed);

/*
 * The single arrays, valid until tp_model_free: parameters, gradients
 * (same layout and size as the parameters) and buffers (batch norm running
 * statistics; NULL and 0 without batch norm).  *n receives the float count.
 * The caller may write parameters and buffers (checkpoint restore, the
 * optimizer update).
 */
float *tp_model_params(struct tp_model *m, size_t *n);
float *tp_model_grads(struct tp_model *m, size_t *n);
float *tp_model_buffers(struct tp_model *m, size_t *n);
/* The views over them, in layout order; *n receives the count. */
const struct tp_model_view *tp_model_param_views(const struct tp_model *m, size_t *n);
const struct tp_model_view *tp_model_buffer_views(const struct tp_model *m, size_t *n);

/*
 * Training-mode forward pass of b (b->n <= max_batch): dropout masks drawn
 * from rng (needed when dropout > 0, else may be NULL; the mask depends only
 * on the generator state, so copying the state repeats the mask), batch
 * norm on batch statistics and its running statistics updated.  *loss is
 * the weighted mean loss.  b->x must stay valid until tp_model_backward.
 * -1 after printing on bad input: n out of range, a negative or non-finite
 * weight, a total weight of 0, a label out of range, batch norm with fewer
 * than 2 weighted examples.
 */
int tp_model_forward(struct tp_model *m, const struct tp_batch *b,
                     struct tp_rng *rng, double *loss) TP_WUR;
/* Gradients of the last tp_model_forward's loss into the gradient array
 * (overwritten, not accumulated). */
void tp_model_backward(struct tp_model *m);
/*
 * The same, calling done(arg, off, len) as soon as the gradients of
 * parameters [off, off + len) are final and the rest of the pass no longer
 * reads those parameters (a layer at a time, from the output down, the
 * ranges covering every parameter once): the caller may update them there,
 * while their gradients are still in cache.  With a pool of several
 * threads (tp_model_set_pool), a layer's weight comes in blocks of rows,
 * each passed to done by the thread that computed its gradient, while
 * other threads run done on other blocks: done must be safe to run so,
 * and a pool loop it starts runs in its own thread alone; the layer's
 * other parameters follow in the calling thread.  done returns 1 when it has
 * set those gradients to zero (an update that consumed them, e.g.
 * tp_optim_apply_clear), else 0: the next backward pass then adds the
 * layer's weight gradient to the zeros instead of clearing the array
 * first, one memory pass less for the same values.  The caller must leave
 * gradients it reported cleared at zero until then.
 */
typedef int tp_model_done_fn(void *arg, size_t off, size_t len);
void tp_model_backward_each(struct tp_model *m, tp_model_done_fn *done,
                            void *arg);
/* tp_model_forward then tp_model_backward. */
int tp_model_train_step(struct tp_model *m, const struct tp_batch *b,
                        struct tp_rng *rng, double *loss) TP_WUR;

/*
 * Evaluation mode (no dropout, batch norm on running statistics) for any
 * b->n: per-example unweighted losses l_i into loss[n] and logits (xent) or
 * predictions (mse) into out[n, outputs], either may be NULL.  Rows of
 * weight 0 get loss 0 and their label is not checked.  Overwrites the
 * activations: do not call between tp_model_forward and tp_model_backward.
 * -1 after printing on a label out of range or a bad weight.
 */
int tp_model_eval(struct tp_model *m, const struct tp_batch *b, float *loss,
                  float *out) TP_WUR;

/* 1 if every parameter and buffer is finite; else 0 and, when name is not
 * NULL, *name is the first view holding a NaN or Inf ("layer2.weight"). */
int tp_model_finite(const struct tp_model *m, const char **name);

#endif
