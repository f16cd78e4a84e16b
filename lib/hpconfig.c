/*
 * hpconfig.c: hyperparameters to optimizer and schedule configurations,
 * shared by tp-train (lib/train.c) and tp-overfit-batch (lib/overfit.c).
 */
#include "tp/hpconfig.h"
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
