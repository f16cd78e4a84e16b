/*
 * test-schedule: learning-rate schedules.  tests/fixtures/optim-schedules.txt
 * (tests/torch/gen_optim_fixtures.py) holds the closed form of schedule.h
 * in Python float64 and, where one exists, the value of the equivalent
 * torch.optim.lr_scheduler (LinearLR, CosineAnnealingLR); the rest checks
 * the shape the playbook relies on and the refusal of bad configurations.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "tp/schedule.h"

static struct tp_schedule
sched(enum tp_sched_kind kind, double base, uint64_t m, uint64_t w,
      double frac)
{
	struct tp_schedule s;

	tp_schedule_init(&s, kind, base, m);
	s.warmup_steps = w;
	s.final_fraction = frac;
	return s;
}

static void
check_fixture(void)
{
	char path[4096], kind[32], ref[64], *line = NULL;
	const char *top = getenv("TP_TOP");
	size_t cap = 0;
	FILE *fp;
	struct tp_schedule s;
	int nsched = 0, nlr = 0, ntorch = 0, bad = 0, have = 0;
	double closed_err = 0, torch_err = 0;

	snprintf(path, sizeof path, "%s/tests/fixtures/optim-schedules.txt",
	         top ? top : ".");
	fp = fopen(path, "r");
	if (!CHECK(fp != NULL, "open %s", path))
		return;
	while (getline(&line, &cap, fp) > 0) {
		double base, frac, want, got, e;
		unsigned long long m, w, step;
		enum tp_sched_kind k;

		if (line[0] == '#')
			continue;
		if (sscanf(line, "schedule %31s %lf %llu %llu %lf", kind, &base, &m,
		           &w, &frac) == 5) {
			have = tp_sched_kind_parse(kind, path, &k) == 0;
			s = sched(k, base, m, w, frac);
			have = have && tp_schedule_check(&s) == 0;
			bad += !have;
			nsched++;
		} else if (have && sscanf(line, "lr %llu %lf %63s", &step, &want,
		                          ref) == 3) {
			got = tp_schedule_lr(&s, step);
			e = fabs(got - want) / fabs(want);
			closed_err = e > closed_err ? e : closed_err;
			nlr++;
			if (strcmp(ref, "-") != 0) {
				e = fabs(got - strtod(ref, NULL));
				e = e <= 1e-300 ? 0 : e / fabs(strtod(ref, NULL));
				torch_err = e > torch_err ? e : torch_err;
				ntorch++;
			}
		} else {
			bad++;
		}
	}
	free(line);
	fclose(fp);
	CHECK(!bad && nsched == 10 && nlr > 100, "fixture parsed (%d schedules, "
	      "%d rates)", nsched, nlr);
	CHECK(closed_err <= 1e-15, "C equals the float64 closed form (rel err "
	      "%.2g)", closed_err);
	CHECK(ntorch > 50 && torch_err <= 1e-12, "%d rates match torch's "
	      "LinearLR/CosineAnnealingLR (rel err %.2g)", ntorch, torch_err);
}

static void
check_shapes(void)
{
	const enum tp_sched_kind kinds[] = {TP_SCHED_CONSTANT, TP_SCHED_LINEAR,
	                                    TP_SCHED_COSINE};
	struct tp_schedule s;
	int mono = 1, warm = 1;

	for (int i = 0; i < 3; i++) {
		s = sched(kinds[i], 0.4, 100, 10, 0.05);
		for (uint64_t t = 1; t < 10; t++)
			warm &= tp_schedule_lr(&s, t) > tp_schedule_lr(&s, t - 1);
		for (uint64_t t = 10; t < 100; t++)
			mono &= tp_schedule_lr(&s, t) <= tp_schedule_lr(&s, t - 1);
		warm &= tp_schedule_lr(&s, 0) == 0.4 / 10;
		warm &= tp_schedule_lr(&s, 9) == 0.4;
	}
	CHECK(warm, "warmup rises linearly from base/W to base at update W-1");
	CHECK(mono, "decay never increases");
	s = sched(TP_SCHED_LINEAR, 0.4, 100, 10, 0.05);
	CHECK(tp_schedule_lr(&s, 99) == 0.4 * 0.05, "linear ends at base*final "
	      "exactly");
	CHECK_CLOSE(tp_schedule_lr(&s, 54), 0.4 - (0.4 - 0.02) * 0.5, 1e-15, 0,
	            "linear midpoint");
	s = sched(TP_SCHED_COSINE, 0.4, 100, 10, 0.05);
	CHECK(tp_schedule_lr(&s, 99) == 0.4 * 0.05, "cosine ends at base*final "
	      "exactly");
	CHECK_CLOSE(tp_schedule_lr(&s, 54), 0.02 + 0.38 * 0.5, 1e-15, 0,
	            "cosine midpoint (t = 0.5) is halfway");
	CHECK(tp_schedule_lr(&s, 100) == tp_schedule_lr(&s, 99) &&
	      tp_schedule_lr(&s, UINT64_MAX) == tp_schedule_lr(&s, 99),
	      "past the end the last value holds");
	s = sched(TP_SCHED_COSINE, 0.4, 100, 0, 0);
	CHECK(tp_schedule_lr(&s, 0) < 0.4 && tp_schedule_lr(&s, 0) > 0.3999 &&
	      tp_schedule_lr(&s, 99) == 0, "no warmup: starts just below base, "
	      "ends at 0");
	CHECK(tp_schedule_lr(&s, 49) == 0.2, "cosine midpoint without warmup");
	s = sched(TP_SCHED_CONSTANT, 0.4, 100, 0, 0.5);
	CHECK(tp_schedule_lr(&s, 0) == 0.4 && tp_schedule_lr(&s, 99) == 0.4,
	      "constant ignores final_fraction");
	s = sched(TP_SCHED_LINEAR, 0.4, 5, 5, 0);
	CHECK(tp_schedule_check(&s) == 0 && tp_schedule_lr(&s, 4) == 0.4 &&
	      tp_schedule_lr(&s, 0) == 0.4 / 5, "warmup == max: all warmup");
	s = sched(TP_SCHED_COSINE, 0.4, 5, 4, 0.25);
	CHECK(tp_schedule_lr(&s, 3) == 0.4 && tp_schedule_lr(&s, 4) == 0.1,
	      "one decay update uses final");
	s = sched(TP_SCHED_LINEAR, 0.4, 1, 0, 0.25);
	CHECK(tp_schedule_check(&s) == 0 && tp_schedule_lr(&s, 0) == 0.1,
	      "one update in all uses final");
	s = sched(TP_SCHED_LINEAR, 0.4, 100, 0, 1);
	mono = 1;
	for (uint64_t t = 0; t < 100; t++)
		mono &= fabs(tp_schedule_lr(&s, t) - 0.4) <= 1e-16;
	CHECK(mono, "final_fraction 1 is constant");
}

static void
check_errors(void)
{
	static const struct {
		struct tp_schedule s;
		const char *msg;
	} bad[] = {
		{{TP_SCHED_COSINE, 0.1, 100, 101, 0}, "schedule: warmup_steps 101 "
		 "exceeds max_train_steps 100"},
		{{TP_SCHED_LINEAR, 0.1, 100, 0, -0.1}, "schedule: final_fraction "
		 "-0.1 is not in [0, 1]"},
		{{TP_SCHED_LINEAR, 0.1, 100, 0, 1.5}, "schedule: final_fraction 1.5 "
		 "is not in [0, 1]"},
		{{TP_SCHED_LINEAR, 0.1, 100, 0, NAN}, "schedule: final_fraction nan "
		 "is not in [0, 1]"},
		{{TP_SCHED_CONSTANT, 0, 100, 0, 0}, "schedule: learning rate 0 is "
		 "not a positive number"},
		{{TP_SCHED_CONSTANT, -1, 100, 0, 0}, "schedule: learning rate -1 is "
		 "not a positive number"},
		{{TP_SCHED_CONSTANT, INFINITY, 100, 0, 0}, "schedule: learning rate "
		 "inf is not a positive number"},
		{{TP_SCHED_CONSTANT, 0.1, 0, 0, 0}, "schedule: max_train_steps must "
		 "be at least 1"},
		{{(enum tp_sched_kind)7, 0.1, 10, 0, 0}, "schedule: unknown kind 7"},
	};
	enum tp_sched_kind k;
	char err[512];
	int rc;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cap_begin();
		rc = tp_schedule_check(&bad[i].s);
		CHECK(cap_end_has(bad[i].msg, err, sizeof err) && rc == -1,
		      "refused: %s", err);
	}
	cap_begin();
	rc = tp_sched_kind_parse("cosin", "--schedule", &k);
	CHECK(cap_end_has("--schedule: unknown schedule 'cosin' (expected constant, "
	              "linear, cosine)", err, sizeof err) && rc == -1,
	      "unknown name refused: %s", err);
	rc = 1;
	for (int i = 0; i <= TP_SCHED_COSINE; i++)
		rc &= tp_sched_kind_parse(tp_sched_kind_name((enum tp_sched_kind)i),
		                          "x", &k) == 0 && (int)k == i;
	CHECK(rc && !strcmp(tp_sched_kind_name((enum tp_sched_kind)3), "?"),
	      "names round-trip");
}

int
main(void)
{
	check_fixture();
	check_shapes();
	check_errors();
	return check_done();
}
