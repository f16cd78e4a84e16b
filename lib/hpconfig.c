/*
 * hpconfig.c: hyperparameters to model, optimizer and schedule
 * configurations, shared by tp-train, tp-eval and tp-overfit-batch.
 */
#include "tp/hpconfig.h"
#include "tp/model.h"
#include "tp/optim.h"
#include "tp/schedule.h"

int
tp_hp_optim_config(const struct tp_hparams *hp, struct tp_optim_config *c)
{
	enum tp_optim_kind k;

	if (tp_optim_kind_parse(hp->optimizer, "optimizer", &k) != 0)
		return -1;
	tp_optim_config_default(c, k);
	c->momentum = hp->momentum;
	c->beta1 = hp->beta1;
	c->beta2 = hp->beta2;
	c->epsilon = hp->epsilon;
	c->weight_decay = hp->weight_decay;
	return tp_optim_config_check(c);
}

int
tp_hp_schedule_config(const struct tp_hparams *hp, uint64_t max_steps,
                      struct tp_schedule *s)
{
	enum tp_sched_kind k;

	if (hp->lr <= 0) {
		tp_errorf("lr must be positive");
		return -1;
	}
	if (tp_sched_kind_parse(hp->schedule, "schedule", &k) != 0)
		return -1;
	tp_schedule_init(s, k, hp->lr, max_steps);
	s->warmup_steps = (uint64_t)hp->warmup_steps;
	s->final_fraction = hp->final_fraction;
	return tp_schedule_check(s);
}

int
tp_hp_model_config(const struct tp_hparams *hp, int64_t features,
                   int64_t classes, struct tp_model_config *c)
{
	tp_model_config_default(c);
	c->inputs = (int)features;
	c->outputs = classes > 0 ? (int)classes : 1;
	c->loss = classes > 0 ? TP_LOSS_XENT : TP_LOSS_MSE;
	c->depth = (int)hp->depth;
	c->width = (int)hp->width;
	c->residual = (int)hp->residual;
	c->rezero = (int)hp->rezero;
	c->dropout = (float)hp->dropout;
	c->ghost_batch = (int)hp->ghost_batch;
	c->label_smoothing = (float)hp->label_smoothing;
	if (tp_model_act_parse(hp->activation, "activation", &c->act) != 0 ||
	    tp_model_norm_parse(hp->norm, "norm", &c->norm) != 0 ||
	    tp_model_init_parse(hp->init, "init", &c->init, &c->init_uniform) != 0)
		return -1;
	if (c->loss == TP_LOSS_MSE && hp->label_smoothing > 0) {
		tp_errorf("label_smoothing needs a classification dataset");
		return -1;
	}
	return tp_model_config_check(c);
}
