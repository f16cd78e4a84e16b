/*
 * schedule.c: learning-rate schedules (constant, linear, cosine) with an
 * optional linear warmup.  The schedule is a pure function of the update
 * number, so checkpoints need not save it and a resumed run gets the same
 * learning rates bit for bit.  schedule.h defines the step indexing.
 */
#include <math.h>
#include <string.h>

#include "tp/schedule.h"

static const char *const sched_names[] = {
	[TP_SCHED_CONSTANT] = "constant",
	[TP_SCHED_LINEAR] = "linear",
	[TP_SCHED_COSINE] = "cosine",
};

#define NSCHED (sizeof sched_names / sizeof sched_names[0])

void
tp_schedule_init(struct tp_schedule *s, enum tp_sched_kind kind,
                 double base_lr, uint64_t max_steps)
{
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->base_lr = base_lr;
	s->max_steps = max_steps;
	s->warmup_steps = 0;
	s->final_fraction = 0;
}

int
tp_schedule_check(const struct tp_schedule *s)
{
	if ((unsigned)s->kind >= NSCHED) {
		tp_errorf("schedule: unknown kind %d", (int)s->kind);
		return -1;
	}
	if (!(isfinite(s->base_lr) && s->base_lr > 0)) {
		tp_errorf("schedule: learning rate %g is not a positive number",
		          s->base_lr);
		return -1;
	}
	if (s->max_steps < 1) {
		tp_errorf("schedule: max_train_steps must be at least 1");
		return -1;
	}
	if (s->warmup_steps > s->max_steps) {
		tp_errorf("schedule: warmup_steps %llu exceeds max_train_steps %llu",
		          (unsigned long long)s->warmup_steps,
		          (unsigned long long)s->max_steps);
		return -1;
	}
	/* Written so that NaN fails too. */
	if (!(s->final_fraction >= 0 && s->final_fraction <= 1)) {
		tp_errorf("schedule: final_fraction %g is not in [0, 1]",
		          s->final_fraction);
		return -1;
	}
	return 0;
}

double
tp_schedule_lr(const struct tp_schedule *s, uint64_t step)
{
	uint64_t m = s->max_steps, w = s->warmup_steps;
	/* x = step + 1 is how far the schedule has got at the end of this
	 * update; clamp so steps past the end keep the last value. */
	uint64_t x = step < m ? step + 1 : m;
	double base = s->base_lr, final = base * s->final_fraction, t, c;

	if (x < w)
		return base * (double)x / (double)w;
	if (m == w)
		return base;
	/* x == w is the last warmup update: t = 0 gives base. */
	t = (double)(x - w) / (double)(m - w);
	/* Both forms below are exact at the ends: base at t = 0 and final at
	 * t = 1 (cos(M_PI) is exactly -1), so the last update uses final. */
	switch (s->kind) {
	case TP_SCHED_LINEAR:
		return base * (1 - t) + final * t;
	case TP_SCHED_COSINE:
		c = 0.5 * (1 + cos(M_PI * t));
		return base * c + final * (1 - c);
	case TP_SCHED_CONSTANT:
	default:
		return base;
	}
}

int
tp_sched_kind_parse(const char *s, const char *what, enum tp_sched_kind *out)
{
	for (size_t i = 0; i < NSCHED; i++)
		if (strcmp(s, sched_names[i]) == 0) {
			*out = (enum tp_sched_kind)i;
			return 0;
		}
	tp_errorf("%s: unknown schedule '%s' (expected constant, linear, cosine)",
	          what, s);
	return -1;
}

const char *
tp_sched_kind_name(enum tp_sched_kind kind)
{
	return (unsigned)kind < NSCHED ? sched_names[kind] : "?";
}
