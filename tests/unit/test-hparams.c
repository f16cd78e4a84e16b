/* test-hparams: the hyperparameter table parses strictly and refuses
 * unknown names, out-of-range values and inconsistent combinations. */
#include <string.h>

#include "check.h"
#include "tp/hparams.h"

int
main(void)
{
	struct tp_hparams hp;

	tp_hp_defaults(&hp);
	CHECK(hp.lr == 1e-3 && hp.batch_size == 128 && strcmp(hp.optimizer, "adam") == 0,
	      "defaults");
	CHECK(tp_hp_check(&hp) == 0, "defaults are consistent");
	CHECK(tp_hp_set(&hp, "lr", "0.05", "--lr") == 0 && hp.lr == 0.05, "set lr");
	CHECK(tp_hp_set(&hp, "batch-size", "64", "--batch-size") == 0 && hp.batch_size == 64,
	      "dash form of a name");
	CHECK(tp_hp_set(&hp, "optimizer", "nesterov", "--optimizer") == 0 &&
	      strcmp(hp.optimizer, "nesterov") == 0, "set a choice");
	CHECK(tp_hp_set(&hp, "optimizer", "adagrad", "--optimizer") == -1, "bad choice refused");
	CHECK(tp_hp_set(&hp, "learning_rate", "1", "--learning_rate") == -1, "unknown name refused");
	CHECK(tp_hp_set(&hp, "lr", "-1", "--lr") == -1, "negative lr refused");
	CHECK(tp_hp_set(&hp, "lr", "1e-3x", "--lr") == -1, "trailing junk refused");
	CHECK(tp_hp_set(&hp, "depth", "2.5", "--depth") == -1, "fractional int refused");
	CHECK(tp_hp_set(&hp, "dropout", "nan", "--dropout") == -1, "nan refused");
	CHECK(tp_hp_known("ghost-batch") && !tp_hp_known("nope"), "known names");

	tp_hp_defaults(&hp);
	CHECK(tp_hp_set(&hp, "norm", "batch", "t") == 0 && tp_hp_set(&hp, "ghost_batch", "256", "t") == 0 &&
	      tp_hp_check(&hp) == -1, "ghost batch larger than batch refused");
	tp_hp_defaults(&hp);
	hp.warmup_steps = hp.steps + 1;
	CHECK(tp_hp_check(&hp) == -1, "warmup longer than training refused");
	tp_hp_defaults(&hp);
	hp.rezero = 1;
	CHECK(tp_hp_check(&hp) == -1, "rezero without residual refused");
	tp_hp_defaults(&hp);
	hp.eval_batch_size = 16;
	CHECK(tp_hp_check(&hp) == -1, "eval batch smaller than training batch refused");
	for (int i = 0; tp_hp_name(i); i++) {
		char buf[64] = "";
		tp_hp_default_text(i, buf, sizeof buf);
		if (!*buf || !tp_hp_help(i))
			CHECK(0, "row %d has default and help", i);
	}
	CHECK(1, "every row has a default and help");
	return check_done();
}
