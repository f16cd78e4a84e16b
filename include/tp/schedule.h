/*
 * schedule.h: learning-rate schedules over max_train_steps.
 *
 * The playbook wants some non-constant schedule, preferably linear or
 * cosine decay, optionally after a linear warmup (playbook: "Best learning
 * rate decay schedule family", "Apply learning rate warmup").
 *
 * Step indexing.  Updates are numbered s = 0 .. M-1 (M = max_steps).  With
 * W = warmup_steps, D = M - W decay updates, base the base learning rate and
 * final = base * final_fraction, the learning rate used by update s is
 * lr(s) = f(s + 1), where
 *   warmup  x <= W:  f(x) = base * x / W
 *   decay   x >= W:  t = (x - W) / D, in [0, 1]
 *     constant  f = base
 *     linear    f = base + (final - base) * t
 *     cosine    f = final + (base - final) * 0.5 * (1 + cos(pi * t))
 * (both pieces give base at x = W; linear and cosine are evaluated in forms
 * that are exact at t = 0 and t = 1).
 * Read it as "the value the schedule reaches at the end of update s": the
 * first warmup update already moves (lr(0) = base / W, never 0), the last
 * warmup update uses base, and the last update uses exactly final
 * (lr(M-1) = f(M) = final).  constant ignores final_fraction.  For s >= M,
 * lr(s) = lr(M-1).  In torch terms: LambdaLR with
 * lambda(s) = f(s + 1) / base, stepped after each optimizer.step().
 */
#ifndef TP_SCHEDULE_H
#define TP_SCHEDULE_H

#include <stdint.h>

#include "tp/err.h"

enum tp_sched_kind {
	TP_SCHED_CONSTANT,
	TP_SCHED_LINEAR,
	TP_SCHED_COSINE,
};

struct tp_schedule {
	enum tp_sched_kind kind;
	double base_lr;        /* > 0, finite */
	uint64_t max_steps;    /* M >= 1 */
	uint64_t warmup_steps; /* W <= M; 0: no warmup */
	double final_fraction; /* in [0, 1] */
};

/* A valid schedule of kind with no warmup and final_fraction 0. */
void tp_schedule_init(struct tp_schedule *s, enum tp_sched_kind kind,
                      double base_lr, uint64_t max_steps);

/* 0 if s is valid; else print what is wrong (e.g. "warmup_steps 200 exceeds
 * max_train_steps 100") and return -1. */
int tp_schedule_check(const struct tp_schedule *s) TP_WUR;

/* The learning rate of update `step` (0-based), as defined above; s must
 * have passed tp_schedule_check.  Pure: no state, so a resumed run only
 * needs the step number. */
double tp_schedule_lr(const struct tp_schedule *s, uint64_t step);

/*
 * Name <-> kind: "constant", "linear", "cosine".  Parsing prints
 * "WHAT: unknown schedule 'S' (expected constant, linear, cosine)" and
 * returns -1 on another name.  tp_sched_kind_name returns "?" outside the
 * enum.
 */
int tp_sched_kind_parse(const char *s, const char *what,
                        enum tp_sched_kind *out) TP_WUR;
const char *tp_sched_kind_name(enum tp_sched_kind kind);

#endif
