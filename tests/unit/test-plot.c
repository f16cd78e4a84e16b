/*
 * test-plot.c: sparklines (levels, bucketing, non-finite cells), the
 * log-axis rule, and SVG and table output that stay well-formed whatever
 * the labels and values: no NaN or infinity reaches a coordinate, XML
 * metacharacters are escaped, CSV and JSON quote what they must.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tp/plot.h"
#include "tp/table.h"

static char *
slurp(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	if (!s || fread(s, 1, (size_t)n, f) != (size_t)n)
		abort();
	return s;
}

static void
test_sparkline(void)
{
	double up[8] = {0, 1, 2, 3, 4, 5, 6, 7}, flat[3] = {2, 2, 2};
	double bad[4] = {1, NAN, 3, INFINITY};
	double many[100];
	char out[3 * 64 + 1];

	tp_sparkline(up, 8, 40, out, sizeof out);
	CHECK(strcmp(out, "▁▂▃▄▅▆▇█") == 0, "sparkline: 8 levels (%s)", out);
	tp_sparkline(flat, 3, 40, out, sizeof out);
	CHECK(strcmp(out, "▄▄▄") == 0, "sparkline: flat is mid-height (%s)", out);
	tp_sparkline(bad, 4, 40, out, sizeof out);
	CHECK(strcmp(out, "▁!█!") == 0, "sparkline: non-finite cells are '!' (%s)", out);
	for (int i = 0; i < 100; i++)
		many[i] = i;
	tp_sparkline(many, 100, 10, out, sizeof out);
	CHECK(strlen(out) == 30 && strncmp(out, "▁", 3) == 0 &&
	      strcmp(out + 27, "█") == 0, "sparkline: 100 points in 10 cells");
	tp_sparkline(many, 100, 10, out, 7);
	CHECK(strlen(out) == 6, "sparkline: two cells and a NUL fit in 7 bytes");
}

static void
test_looks_log(void)
{
	double lr[3] = {1e-4, 1e-3, 1e-1}, mom[3] = {0.8, 0.9, 0.99};
	double neg[3] = {-1, 1, 100};

	CHECK(tp_plot_looks_log(lr, 3), "learning rates look log-scaled");
	CHECK(!tp_plot_looks_log(mom, 3), "momentum does not");
	CHECK(!tp_plot_looks_log(neg, 3), "non-positive values are never log");
}

static void
test_svg(void)
{
	double x[5] = {1, 2, 3, 4, 5}, y[5] = {1, NAN, 3, INFINITY, 2};
	struct tp_plot_series s[2] = {
		{"a <b> & \"c\"", 5, x, y, TP_MARK_LINE, 0, 0},
		{"diverged", 2, x, y, TP_MARK_CROSS, 0, -1},
	};
	struct tp_plot p = {"t & t", "step", "loss", 0, 0, 0, 0};
	FILE *f = tmpfile();
	char *svg;

	CHECK(tp_plot_svg(f, &p, s, 2) == 0, "svg written");
	svg = slurp(f);
	CHECK(strstr(svg, "a &lt;b&gt; &amp; &quot;c&quot;") != NULL, "labels escaped");
	CHECK(!strstr(svg, "nan") && !strstr(svg, "inf"), "no NaN/Inf coordinates");
	CHECK(strstr(svg, "M") && strstr(svg, "</svg>\n"), "a path and a closed document");
	/* The NaN at x=2 and Inf at x=4 cut the line into three paths. */
	{
		size_t k = 0;
		for (const char *q = svg; (q = strstr(q, "stroke-width=\"1.5\"")); q++)
			k++;
		CHECK(k == 3, "line broken at non-finite values (%zu paths)", k);
	}
	free(svg);
	fclose(f);
	f = tmpfile();
	CHECK(tp_plot_svg(f, &p, NULL, 0) == 0, "empty plot written");
	svg = slurp(f);
	CHECK(strstr(svg, "no data") != NULL, "empty plot says so");
	free(svg);
	fclose(f);
}

static void
test_table(void)
{
	static const char *const head[] = {"name", "value"};
	struct tp_table t;
	FILE *f;
	char *s;

	tp_table_init(&t, 2, head);
	tp_table_row(&t);
	tp_table_set(&t, 0, "a,\"b\"");
	tp_table_num(&t, 1, 0.5);
	tp_table_row(&t);
	tp_table_set(&t, 0, "x|y\tz");
	tp_table_num(&t, 1, NAN);
	f = tmpfile();
	CHECK(tp_table_print(&t, f, TP_T_CSV) == 0, "csv");
	s = slurp(f);
	CHECK(strcmp(s, "name,value\r\n\"a,\"\"b\"\"\",0.5\r\nx|y\tz,nan\r\n") == 0,
	      "csv quoting (%s)", s);
	free(s);
	fclose(f);
	f = tmpfile();
	CHECK(tp_table_print(&t, f, TP_T_JSONL) == 0, "jsonl");
	s = slurp(f);
	CHECK(strcmp(s, "{\"name\":\"a,\\\"b\\\"\",\"value\":0.5}\n"
	                "{\"name\":\"x|y\\tz\",\"value\":\"nan\"}\n") == 0,
	      "jsonl: numbers as numbers, NaN as a string (%s)", s);
	free(s);
	fclose(f);
	f = tmpfile();
	CHECK(tp_table_print(&t, f, TP_T_MD) == 0, "markdown");
	s = slurp(f);
	CHECK(strstr(s, "x\\|y") != NULL && strstr(s, "|---:|") != NULL,
	      "markdown: pipes escaped, numbers right-aligned");
	free(s);
	fclose(f);
	f = tmpfile();
	CHECK(tp_table_print(&t, f, TP_T_TSV) == 0, "tsv");
	s = slurp(f);
	CHECK(strcmp(s, "name\tvalue\na,\"b\"\t0.5\nx|y z\tnan\n") == 0,
	      "tsv: tabs inside cells become spaces (%s)", s);
	free(s);
	fclose(f);
	f = tmpfile();
	CHECK(tp_table_print(&t, f, TP_T_TEXT) == 0, "text");
	s = slurp(f);
	CHECK(strcmp(s, "name   value\na,\"b\"    0.5\nx|y z    nan\n") == 0,
	      "text: aligned, numbers right (%s)", s);
	free(s);
	fclose(f);
	tp_table_release(&t);
	CHECK(tp_table_format("jsonl") == TP_T_JSONL && tp_table_format("xml") < 0,
	      "format names");
}

int
main(void)
{
	test_sparkline();
	test_looks_log();
	test_svg();
	test_table();
	return check_done();
}
