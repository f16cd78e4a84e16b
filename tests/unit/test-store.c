/*
 * test-store.c: the tracking store.  SHA-256 against FIPS 180-4 vectors;
 * ingest, merge and summaries of constructed streams; idempotent
 * re-ingest; the index is reused and rebuilt; a later object wins a step
 * both report; the newest study registration wins; a corrupt object fails
 * the load; tables and ranking follow the objective.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tp/record.h"
#include "tp/sha256.h"
#include "tp/store.h"
#include "tp/table.h"
#include "tp/zio.h"

static void
sha_str(const char *s, char hex[65])
{
	struct tp_sha256 h;

	tp_sha256_init(&h);
	tp_sha256_update(&h, s, strlen(s));
	tp_sha256_hex(&h, hex);
}

static void
test_sha(void)
{
	char hex[65];
	struct tp_sha256 h;
	char a[1000];

	sha_str("", hex);
	CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
	      "sha256 of the empty string");
	sha_str("abc", hex);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
	      "sha256 of abc");
	sha_str("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", hex);
	CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0,
	      "sha256 of the 56-byte vector (padding spills a block)");
	memset(a, 'a', sizeof a);
	tp_sha256_init(&h);
	for (int i = 0; i < 1000; i++)
		tp_sha256_update(&h, a, sizeof a);
	tp_sha256_hex(&h, hex);
	CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
	      "sha256 of a million a's in 1000-byte pieces");
}

/* A run: config, train every 10 steps, eval every 100 with checkpoints. */
static void
write_run(const char *path, const char *study, int trial, double lr,
          int steps, int first_eval, double offset)
{
	struct tp_wr *w = tp_wr_open(path, TP_ZOUT_AUTO);
	struct tp_rb b;

	tp_rb_init(&b);
	tp_rb_begin(&b, "config");
	tp_rb_str(&b, "study", study);
	tp_rb_i64(&b, "trial", trial);
	tp_rb_map_begin(&b, "params");
	tp_rb_f64(&b, "lr", lr);
	tp_rb_str(&b, "optimizer", trial % 2 ? "adam" : "sgd");
	tp_rb_map_end(&b);
	tp_rb_i64(&b, "seed", 100 + trial);
	tp_rb_str(&b, "run_dir", "runs/x");
	tp_rb_str(&b, "command", "tp-train --lr x");
	if (tp_wr_rb(w, &b) != 0)
		abort();
	for (int s = first_eval; s <= steps; s += 10) {
		tp_rb_begin(&b, "train");
		tp_rb_i64(&b, "step", s);
		tp_rb_f64(&b, "loss", 1.0 / (1 + s));
		if (tp_wr_rb(w, &b) != 0)
			abort();
		if (s % 100 || s == 0)
			continue;
		tp_rb_begin(&b, "eval");
		tp_rb_i64(&b, "step", s);
		tp_rb_str(&b, "split", "valid");
		/* error is lowest at step 300, accuracy the mirror image */
		tp_rb_f64(&b, "error", offset + fabs(s - 300.0) / 1000);
		tp_rb_f64(&b, "accuracy", 1 - offset - fabs(s - 300.0) / 1000);
		tp_rb_i64(&b, "count", 50);
		if (tp_wr_rb(w, &b) != 0)
			abort();
		tp_rb_begin(&b, "checkpoint");
		tp_rb_i64(&b, "step", s);
		char p[64];
		snprintf(p, sizeof p, "ck/%d/%d.tpc", trial, s);
		tp_rb_str(&b, "path", p);
		if (tp_wr_rb(w, &b) != 0)
			abort();
	}
	tp_rb_release(&b);
	if (tp_wr_close(w) != 0)
		abort();
}

static void
test_store(const char *tmp)
{
	char dir[512], f1[512], f2[512], f3[512], f4[512], obj[600];
	struct tp_store s;
	int added = -1;
	size_t n;
	const struct tp_trial *t;
	const struct tp_msum *m;
	struct tp_objective o = {NULL, NULL, -1, 0}, so;
	double v;
	int64_t step;

	snprintf(dir, sizeof dir, "%s/store", tmp);
	snprintf(f1, sizeof f1, "%s/a.tpr", tmp);
	snprintf(f2, sizeof f2, "%s/b.tpr.zst", tmp);
	snprintf(f3, sizeof f3, "%s/c.tpr", tmp);
	snprintf(f4, sizeof f4, "%s/bad.tpr", tmp);
	write_run(f1, "s1", 1, 0.01, 500, 0, 0.1);
	write_run(f2, "s1", 2, 0.1, 500, 0, 0.05);
	/* trial 1 resumed: steps 400-800, overlapping, a bit worse */
	write_run(f3, "s1", 1, 0.01, 800, 400, 0.2);

	CHECK(tp_store_load(&s, dir) != 0, "loading a missing store fails");
	tp_store_release(&s);
	CHECK(tp_store_create(dir) == 0, "create");
	CHECK(tp_store_create(dir) == 0, "create again is fine");
	CHECK(tp_store_ingest(dir, f1, NULL, -1, &added) == 0 && added == 1,
	      "ingest adds an object");
	CHECK(tp_store_ingest(dir, f1, NULL, -1, &added) == 0 && added == 0,
	      "re-ingest adds nothing");
	CHECK(tp_store_ingest(dir, f2, NULL, -1, &added) == 0 && added == 1,
	      "ingest a zstd stream");
	CHECK(tp_store_ingest(dir, f3, NULL, -1, &added) == 0 && added == 1,
	      "ingest the resumed run");

	CHECK(tp_store_load(&s, dir) == 0, "load");
	CHECK(s.nobjects == 3 && s.parsed == 3, "3 objects, all parsed (%zu, %zu)",
	      s.nobjects, s.parsed);
	t = tp_store_trials(&s, "s1", &n);
	CHECK(n == 2 && t[0].id == 1 && t[1].id == 2, "two trials, sorted");
	CHECK(t[0].nobjects == 2, "trial 1 merges two objects");
	m = tp_trial_sum(&t[0], "valid", "error");
	CHECK(m && m->n == 5 + 5, "error summary counts every point (%lld)",
	      m ? (long long)m->n : -1LL);
	CHECK(m && fabs(m->min - 0.1) < 1e-12 && m->min_step == 300,
	      "best error 0.1 at step 300");
	CHECK(m && m->last_step == 800 && fabs(m->last - 0.7) < 1e-12,
	      "last error from the resumed run");
	CHECK(t[0].steps == 800, "steps seen: 800");
	CHECK(tp_trial_ckpt(&t[0], 300) && strcmp(tp_trial_ckpt(&t[0], 300), "ck/1/300.tpc") == 0,
	      "checkpoint at the best step");
	CHECK(tp_trial_ckpt(&t[0], 310) == NULL, "no checkpoint at 310");
	CHECK(t[0].has_seed && t[0].seed == 101, "seed");
	CHECK(tp_trial_param(&t[1], "optimizer") &&
	      strcmp(tp_trial_param(&t[1], "optimizer")->str, "sgd") == 0,
	      "string parameter");

	so = tp_objective_for(&o, t, n);
	CHECK(strcmp(so.metric, "error") == 0 && strcmp(so.split, "valid") == 0 &&
	      so.maximize == 0, "default objective: valid error, minimised");
	CHECK(tp_trial_objective(&t[1], &so, &v, &step) && fabs(v - 0.05) < 1e-12 &&
	      step == 300, "trial 2 best 0.05 at 300");
	so.final = 1;
	CHECK(tp_trial_objective(&t[0], &so, &v, &step) && step == 800,
	      "--final takes the last step");
	so.final = 0;
	o.metric = "accuracy";
	so = tp_objective_for(&o, t, n);
	CHECK(so.maximize == 1, "accuracy is maximised");
	{
		size_t nr, *idx = tp_store_rank(t, n, &so, &nr);
		CHECK(nr == 2 && t[idx[0]].id == 2, "rank by accuracy: trial 2 first");
		free(idx);
	}
	{
		struct tp_series se;
		const struct tp_curve *c;
		CHECK(tp_store_series(&s, &t[0], &se) == 0, "series of trial 1");
		c = tp_series_get(&se, "valid", "error");
		CHECK(c && c->n == 8, "8 unique eval steps (%zu)", c ? c->n : 0);
		/* Both runs report step 400; one value is kept, by object name. */
		CHECK(c && c->step[3] == 400 && (fabs(c->val[3] - 0.3) < 1e-12 ||
		                                 fabs(c->val[3] - 0.2) < 1e-12),
		      "step 400 once (%g)", c ? c->val[3] : -1);
		c = tp_series_get(&se, "step", "loss");
		CHECK(c && c->n == 81, "train loss points 0..800 (%zu)", c ? c->n : 0);
		tp_series_release(&se);
	}
	tp_store_release(&s);

	CHECK(tp_store_load(&s, dir) == 0 && s.parsed == 0,
	      "second load reads the index only");
	tp_store_release(&s);

	/* studies: the newest registration wins */
	{
		struct tp_study a = {0}, b = {0};
		a.name = "s1", a.notes = "old", a.created = 1000;
		b.name = "s1", b.notes = "new", b.created = 2000, b.config = f1;
		CHECK(tp_store_add_study(dir, &b) == 0, "register");
		CHECK(tp_store_add_study(dir, &a) == 0, "register an older one");
		CHECK(tp_store_load(&s, dir) == 0 && s.parsed == 2,
		      "load parses only the new objects");
		CHECK(tp_store_study(&s, "s1") && strcmp(tp_store_study(&s, "s1")->notes, "new") == 0,
		      "newest registration wins");
		CHECK(tp_store_study(&s, "s1")->config_sha256 &&
		      strlen(tp_store_study(&s, "s1")->config_sha256) == 64,
		      "config checksummed");
		tp_store_release(&s);
	}

	/* tables */
	{
		struct tp_table tab;
		struct tp_objective d = {NULL, NULL, -1, 0};
		CHECK(tp_store_load(&s, dir) == 0, "load for tables");
		tp_store_study_table(&s, &d, &tab);
		CHECK(tab.nrows == 1 && strcmp(tab.cell[0], "s1") == 0 &&
		      strcmp(tab.cell[5], "2") == 0 && strcmp(tab.cell[7], "ck/2/300.tpc") == 0,
		      "study row names the best trial and its checkpoint");
		tp_table_release(&tab);
		tp_store_trial_table(&s, "s1", &d, 0, &tab);
		CHECK(tab.nrows == 2 && strcmp(tab.cell[0], "2") == 0,
		      "trial rows best first");
		tp_table_release(&tab);
		tp_store_release(&s);
	}

	/* A stream naming no trial is refused unless --trial names it. */
	{
		struct tp_wr *w = tp_wr_open(f4, TP_ZOUT_PLAIN);
		struct tp_rb b;
		tp_rb_init(&b);
		tp_rb_begin(&b, "eval");
		tp_rb_i64(&b, "step", 5);
		tp_rb_f64(&b, "error", 0.5);
		if (tp_wr_rb(w, &b) != 0 || tp_wr_close(w) != 0)
			abort();
		tp_rb_release(&b);
		CHECK(tp_store_ingest(dir, f4, NULL, -1, &added) != 0,
		      "a stream without study/trial is refused");
		CHECK(tp_store_ingest(dir, f4, "s2", 7, &added) == 0 && added,
		      "accepted with --study/--trial");
		CHECK(tp_store_load(&s, dir) == 0 && tp_store_trials(&s, "s2", &n) &&
		      n == 1 && tp_store_trials(&s, "s2", &n)->id == 7,
		      "the trial it was given");
		tp_store_release(&s);
	}

	/* A corrupt object fails the load with its name. */
	{
		FILE *f;
		snprintf(obj, sizeof obj, "%s/objects/%064d.tpr", dir, 0);
		f = fopen(obj, "wb");
		fputs("\x81\xa4type", f);
		fclose(f);
		CHECK(tp_store_load(&s, dir) != 0, "corrupt object: load fails");
		tp_store_release(&s);
		unlink(obj);
		CHECK(tp_store_load(&s, dir) == 0, "and loads again without it");
		tp_store_release(&s);
	}
}

int
main(void)
{
	char tmp[] = "/tmp/test-store.XXXXXX";
	char cmd[600];

	test_sha();
	if (!mkdtemp(tmp))
		return 1;
	test_store(tmp);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
