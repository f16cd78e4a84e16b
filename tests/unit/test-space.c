/*
 * test-space.c: the search-space parser (both forms) and the warping of unit
 * coordinates into values and back.  The error messages of the text form
 * are tested through tp-sample in tests/sh/t-sample.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tp/record.h"
#include "tp/space.h"

static const char example[] =
	"# the playbook's optimizer comparison\n"
	"study optimizer-comparison\n"
	"goal \"compare adam and nesterov at batch 128\"\n"
	"scientific optimizer  choice adam nesterov\n"
	"nuisance   lr         float 1e-4 1e-1 log\n"
	"nuisance   beta1      float 0.8 0.99 reverse-log   if optimizer=adam\n"
	"nuisance   momentum   float 0.8 0.99 reverse-log   if optimizer=nesterov\n"
	"nuisance   width      int 64 1024 log\n"
	"nuisance   dropout    discrete 0 0.1 0.2\n"
	"fixed      batch_size 128\n"
	"fixed      schedule   cosine\n";

static int
parse(struct tp_space *sp, const char *text)
{
	tp_space_init(sp, "t.space");
	return tp_space_parse(sp, text, strlen(text));
}

static void
test_example(void)
{
	struct tp_space sp;
	const struct tp_param *p;

	CHECK(parse(&sp, example) == 0 && tp_space_finish(&sp, 16) == 0,
	      "the optimizer-comparison example parses");
	CHECK(sp.n == 8 && sp.ndim == 5, "8 parameters, 5 nuisance dimensions");
	CHECK(sp.study && !strcmp(sp.study, "optimizer-comparison"), "study name");
	CHECK(sp.goal && !strcmp(sp.goal, "compare adam and nesterov at batch 128"),
	      "quoted goal");
	p = &sp.p[tp_space_find(&sp, "beta1")];
	CHECK(p->parent == 0 && p->ncond == 1 && !strcmp(p->cond[0].s, "adam") &&
	      p->scale == TP_SCALE_REVLOG && p->dim == 1, "beta1: condition, scale, dim");
	p = &sp.p[tp_space_find(&sp, "batch_size")];
	CHECK(p->type == TP_P_FIXED && p->values[0].kind == TP_VAL_INT &&
	      p->values[0].i == 128, "fixed 128 is an int");
	p = &sp.p[tp_space_find(&sp, "schedule")];
	CHECK(p->values[0].kind == TP_VAL_STR && !strcmp(p->values[0].s, "cosine"),
	      "fixed cosine is a string");
	p = &sp.p[tp_space_find(&sp, "dropout")];
	CHECK(p->nvalues == 3 && p->values[0].kind == TP_VAL_INT &&
	      p->values[1].kind == TP_VAL_FLOAT, "discrete keeps 0 an int, 0.1 a float");
	tp_space_release(&sp);
}

static void
test_warp(void)
{
	struct tp_space sp;
	struct tp_value v;
	const struct tp_param *lr, *b1, *w, *dr, *opt;
	int bad = 0, counts[3] = {0, 0, 0}, wc[1025] = {0};

	CHECK(parse(&sp, example) == 0, "parse");
	lr = &sp.p[tp_space_find(&sp, "lr")];
	b1 = &sp.p[tp_space_find(&sp, "beta1")];
	w = &sp.p[tp_space_find(&sp, "width")];
	dr = &sp.p[tp_space_find(&sp, "dropout")];
	opt = &sp.p[tp_space_find(&sp, "optimizer")];
	tp_param_from_unit(lr, 0, &v);
	CHECK(v.kind == TP_VAL_FLOAT && v.f == 1e-4, "log: u=0 is the low bound");
	tp_param_from_unit(lr, 0.5, &v);
	CHECK_CLOSE(v.f, sqrt(1e-4 * 1e-1), 1e-12, 0, "log: u=1/2 is the geometric mean");
	tp_param_from_unit(lr, 1.0, &v);
	CHECK(v.f <= 1e-1 && v.f > 0.0999, "log: u->1 stays within the high bound");
	tp_param_from_unit(b1, 0.5, &v);
	CHECK_CLOSE(1 - v.f, sqrt(0.2 * 0.01), 1e-12, 0,
	            "reverse-log: 1 - x is log-uniform (u=1/2: 1-x = sqrt(0.2*0.01))");
	tp_param_from_unit(b1, 0, &v);
	CHECK_CLOSE(v.f, 0.8, 1e-15, 0, "reverse-log: u=0 is the low bound");
	for (int i = 0; i < 3000; i++) {
		tp_param_from_unit(dr, (i + 0.5) / 3000, &v);
		counts[v.kind == TP_VAL_INT ? 0 : v.f < 0.15 ? 1 : 2]++;
	}
	CHECK(counts[0] == 1000 && counts[1] == 1000 && counts[2] == 1000,
	      "discrete: floor(u k), equal mass");
	for (int i = 0; i < 100000; i++) {
		tp_param_from_unit(w, (i + 0.5) / 100000, &v);
		if (v.kind != TP_VAL_INT || v.i < 64 || v.i > 1024)
			bad++;
		else
			wc[v.i]++;
	}
	CHECK(bad == 0 && wc[64] > 0 && wc[1024] > 0, "int log: every value in range, "
	      "both ends reached");
	CHECK(wc[64] > 1.8 * wc[127] && wc[64] < 2.2 * wc[127],
	      "int log: mass of k ~ log((k+1)/k) (64: %d, 127: %d)", wc[64], wc[127]);
	/* inverse warping: value -> u -> the same value */
	for (int i = 0; i < 1000; i++) {
		const struct tp_param *ps[5] = {lr, b1, w, dr, opt};

		for (int k = 0; k < 5; k++) {
			struct tp_value back;
			double u;

			tp_param_from_unit(ps[k], (i + 0.25) / 1000, &v);
			u = tp_param_to_unit(ps[k], &v);
			tp_param_from_unit(ps[k], u, &back);
			if (u < 0 || u > 1 || !(ps[k]->type == TP_P_FLOAT
			        ? fabs(back.f - v.f) <= 1e-12 * fabs(v.f)
			        : tp_value_eq(&back, &v)))
				bad++;
		}
	}
	CHECK(bad == 0, "to_unit inverts from_unit for every type and scale");
	v.kind = TP_VAL_FLOAT;
	v.f = 0.5;
	CHECK(tp_param_to_unit(lr, &v) == -1, "to_unit: out of range is -1");
	v.kind = TP_VAL_STR;
	v.s = "sgd";
	CHECK(tp_param_to_unit(opt, &v) == -1, "to_unit: unknown choice is -1");
	tp_space_release(&sp);
}

static void
test_text(void)
{
	struct tp_value v = {.kind = TP_VAL_FLOAT, .f = 1e-3};
	char buf[64];

	CHECK(!strcmp(tp_value_text(&v, buf, sizeof buf), "0.001"), "shortest float text");
	v.f = 0.1 + 0.2;
	CHECK(!strcmp(tp_value_text(&v, buf, sizeof buf), "0.30000000000000004"),
	      "round-trip float text");
	v.f = 128;
	CHECK(!strcmp(tp_value_text(&v, buf, sizeof buf), "128.0"),
	      "a whole float keeps '.0'");
}

static void
test_preset(void)
{
	static const uint64_t budget[4] = {5, 10, 25, 50};
	static const size_t want[4] = {2, 3, 4, 5};

	for (int k = 0; k < 4; k++) {
		struct tp_space sp;

		CHECK(parse(&sp, "preset adam\n") == 0 &&
		      tp_space_finish(&sp, budget[k]) == 0 && sp.n == want[k],
		      "preset adam with %d trials: %zu parameters", (int)budget[k], want[k]);
		tp_space_release(&sp);
	}
	struct tp_space sp;

	CHECK(parse(&sp, "scientific optimizer choice adam nesterov\n"
	          "nuisance lr float 0.01 1 log\npreset adam if optimizer=adam\n") == 0 &&
	      tp_space_finish(&sp, 12) == 0, "conditional preset parses");
	CHECK(sp.n == 3 && sp.p[1].lo == 0.01 && sp.p[2].parent == 0 &&
	      !strcmp(sp.p[2].name, "beta1"), "preset keeps the user's lr, beta1 is conditional");
	tp_space_release(&sp);
}

static void
test_map_form(void)
{
	struct tp_rb b;
	struct tp_space sp, ref;
	struct tp_rd *rd;
	const struct tp_val *rec;
	const void *bytes;
	size_t len;
	char *t1, *t2;
	size_t n1, n2;
	FILE *f;

	tp_rb_init(&b);
	tp_rb_begin(&b, "space");
	tp_rb_str(&b, "study", "optimizer-comparison");
	tp_rb_str(&b, "goal", "compare adam and nesterov at batch 128");
	tp_rb_arr_begin(&b, "params");
#define P(role, name) tp_rb_map_begin(&b, NULL); tp_rb_str(&b, "role", role); \
	tp_rb_str(&b, "name", name)
	P("scientific", "optimizer");
	tp_rb_str(&b, "type", "choice");
	tp_rb_arr_begin(&b, "values");
	tp_rb_str(&b, NULL, "adam");
	tp_rb_str(&b, NULL, "nesterov");
	tp_rb_arr_end(&b);
	tp_rb_map_end(&b);
	P("nuisance", "lr");
	tp_rb_str(&b, "type", "float");
	tp_rb_f64(&b, "min", 1e-4);
	tp_rb_f64(&b, "max", 1e-1);
	tp_rb_str(&b, "scale", "log");
	tp_rb_map_end(&b);
	P("nuisance", "beta1");
	tp_rb_str(&b, "type", "float");
	tp_rb_f64(&b, "min", 0.8);
	tp_rb_f64(&b, "max", 0.99);
	tp_rb_str(&b, "scale", "reverse-log");
	tp_rb_map_begin(&b, "if");
	tp_rb_str(&b, "optimizer", "adam");
	tp_rb_map_end(&b);
	tp_rb_map_end(&b);
	P("nuisance", "momentum");
	tp_rb_str(&b, "type", "float");
	tp_rb_f64(&b, "min", 0.8);
	tp_rb_f64(&b, "max", 0.99);
	tp_rb_str(&b, "scale", "reverse-log");
	tp_rb_map_begin(&b, "if");
	tp_rb_arr_begin(&b, "optimizer");
	tp_rb_str(&b, NULL, "nesterov");
	tp_rb_arr_end(&b);
	tp_rb_map_end(&b);
	tp_rb_map_end(&b);
	P("nuisance", "width");
	tp_rb_str(&b, "type", "int");
	tp_rb_i64(&b, "min", 64);
	tp_rb_i64(&b, "max", 1024);
	tp_rb_str(&b, "scale", "log");
	tp_rb_map_end(&b);
	P("nuisance", "dropout");
	tp_rb_str(&b, "type", "discrete");
	tp_rb_arr_begin(&b, "values");
	tp_rb_i64(&b, NULL, 0);
	tp_rb_f64(&b, NULL, 0.1);
	tp_rb_f64(&b, NULL, 0.2);
	tp_rb_arr_end(&b);
	tp_rb_map_end(&b);
	P("fixed", "batch_size");
	tp_rb_i64(&b, "value", 128);
	tp_rb_map_end(&b);
	P("fixed", "schedule");
	tp_rb_str(&b, "value", "cosine");
	tp_rb_map_end(&b);
#undef P
	tp_rb_arr_end(&b);
	bytes = tp_rb_finish(&b, &len);
	rd = tp_rd_mem(bytes, len, "space.msgpack");
	CHECK(rd && tp_rd_next(rd, &rec) == 1, "the map form decodes");
	tp_space_init(&sp, "space.msgpack");
	CHECK(tp_space_parse_val(&sp, rec) == 0 && tp_space_finish(&sp, 16) == 0,
	      "the map form parses");
	CHECK(parse(&ref, example) == 0 && tp_space_finish(&ref, 16) == 0, "text form");
	f = open_memstream(&t1, &n1);
	tp_space_print(&sp, f);
	fclose(f);
	f = open_memstream(&t2, &n2);
	tp_space_print(&ref, f);
	fclose(f);
	CHECK(n1 == n2 && !memcmp(t1, t2, n1), "map form and text form give the same space");
	if (n1 != n2 || memcmp(t1, t2, n1))
		printf("# map form:\n%s# text form:\n%s", t1, t2);
	free(t1);
	free(t2);
	tp_space_release(&sp);
	tp_space_release(&ref);
	tp_rd_close(rd);
	tp_rb_release(&b);
}

int
main(void)
{
	test_example();
	test_warp();
	test_text();
	test_preset();
	test_map_form();
	return check_done();
}
