/*
 * plot.c: SVG line and scatter plots and Unicode sparklines (plot.h).
 * Hand-written SVG keeps the suite free of a plotting dependency and the
 * output byte-for-byte deterministic: numbers are printed with fixed
 * precision and nothing depends on the time or the locale.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/plot.h"
#include "tp/store.h"
#include "tp/table.h"

static const char *const palette[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
	"#9467bd", "#8c564b", "#e377c2", "#17becf",
};
#define NPAL (sizeof palette / sizeof palette[0])

static void
xml_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			/* XML 1.0 forbids most control characters. */
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				putc(*s, f);
		}
	}
}

struct axis {
	double lo, hi; /* in plotted units (log10 when log) */
	int log;
};

static double
tr(const struct axis *a, double v)
{
	return a->log ? log10(v) : v;
}

static int
usable(const struct axis *a, double v)
{
	return isfinite(v) && (!a->log || v > 0);
}

static void
axis_fit(struct axis *a)
{
	if (!(a->lo <= a->hi)) { /* no data */
		a->lo = 0, a->hi = 1;
		return;
	}
	if (a->hi - a->lo < 1e-12 * (fabs(a->hi) + 1)) {
		a->lo -= 0.5, a->hi += 0.5;
		return;
	}
	double pad = (a->hi - a->lo) * 0.04;
	a->lo -= pad, a->hi += pad;
}

/* A "nice" tick step for a span: 1, 2 or 5 times a power of ten. */
static double
nice_step(double span, int want)
{
	double raw = span / want, p = pow(10, floor(log10(raw))), m = raw / p;

	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void
fmt_tick(char *buf, size_t n, double v, int log)
{
	if (log)
		v = pow(10, v);
	if (fabs(v) < 1e-12)
		v = 0;
	snprintf(buf, n, "%.4g", v);
}

int
tp_plot_svg(FILE *f, const struct tp_plot *p, const struct tp_plot_series *s,
            size_t ns)
{
	int W = p->width > 0 ? p->width : 720, H = p->height > 0 ? p->height : 420;
	double L = 78, R, T = 36, B = H - 52.0;
	struct axis ax = {INFINITY, -INFINITY, p->xlog};
	struct axis ay = {INFINITY, -INFINITY, p->ylog};
	int any = 0, crosses = 0;
	char buf[64];
	size_t longest = 10;

	/* Room on the right for the longest legend label (~7 px a char at
	 * 12 px sans-serif), at most half the width. */
	for (size_t i = 0; i < ns; i++)
		if (s[i].label && strlen(s[i].label) > longest)
			longest = strlen(s[i].label);
	R = W - fmin(50 + 7.2 * (double)longest, W / 2.0);
	for (size_t i = 0; i < ns; i++)
		for (size_t j = 0; j < s[i].n; j++) {
			double x = s[i].x[j];
			if (!usable(&ax, x))
				continue;
			ax.lo = fmin(ax.lo, tr(&ax, x)), ax.hi = fmax(ax.hi, tr(&ax, x));
			if (s[i].mark == TP_MARK_CROSS) {
				crosses = 1;
				continue;
			}
			double y = s[i].y[j];
			if (!usable(&ay, y))
				continue;
			ay.lo = fmin(ay.lo, tr(&ay, y)), ay.hi = fmax(ay.hi, tr(&ay, y));
			any = 1;
		}
	axis_fit(&ax);
	axis_fit(&ay);
	if (crosses) /* room at the top for the diverged marks */
		ay.hi += (ay.hi - ay.lo) * 0.08;
#define PX(v) (L + ((v) - ax.lo) / (ax.hi - ax.lo) * (R - L))
#define PY(v) (B - ((v) - ay.lo) / (ay.hi - ay.lo) * (B - T))
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	           "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
	           "font-size=\"12\">\n", W, H, W, H);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
	fputs("<text x=\"12\" y=\"22\" font-size=\"14\">", f);
	xml_text(f, p->title);
	fputs("</text>\n", f);
	fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
	           "fill=\"none\" stroke=\"#444\"/>\n", L, T, R - L, B - T);
	/* ticks and grid */
	for (int k = 0; k < 2; k++) {
		const struct axis *a = k ? &ay : &ax;
		double st = a->log ? fmax(1, nice_step(a->hi - a->lo, 6))
		                   : nice_step(a->hi - a->lo, 6);
		for (double v = ceil(a->lo / st) * st; v <= a->hi + 1e-9 * st; v += st) {
			fmt_tick(buf, sizeof buf, v, a->log);
			if (k == 0)
				fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
				           "y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" "
				           "y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
				        PX(v), T, PX(v), B, PX(v), B + 16, buf);
			else
				fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
				           "y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" "
				           "y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
				        L, PY(v), R, PY(v), L - 6, PY(v) + 4, buf);
		}
	}
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", (L + R) / 2,
	        H - 14);
	xml_text(f, p->xlabel);
	fputs(p->xlog ? " (log scale)" : "", f);
	fprintf(f, "</text>\n<text transform=\"translate(16 %.1f) rotate(-90)\" "
	           "text-anchor=\"middle\">", (T + B) / 2);
	xml_text(f, p->ylabel);
	fputs(p->ylog ? " (log scale)" : "", f);
	fputs("</text>\n", f);
	if (!any && !crosses)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		           "fill=\"#888\">no data</text>\n", (L + R) / 2, (T + B) / 2);
	for (size_t i = 0; i < ns; i++) {
		const char *col = s[i].color < 0 ? "#000000"
		                                 : palette[(size_t)s[i].color % NPAL];
		int open = 0;
		if (s[i].mark == TP_MARK_LINE) {
			for (size_t j = 0; j < s[i].n; j++) {
				double x = s[i].x[j], y = s[i].y[j];
				if (!usable(&ax, x) || !usable(&ay, y)) {
					/* A gap where the value is NaN: the eye should
					 * see the hole, not a line across it. */
					if (open)
						fputs("\"/>\n", f);
					open = 0;
					continue;
				}
				if (!open)
					fprintf(f, "<path fill=\"none\" stroke=\"%s\" "
					        "stroke-width=\"1.5\"%s d=\"M", col,
					        s[i].dashed ? " stroke-dasharray=\"5 3\"" : "");
				else
					fputs(" L", f);
				fprintf(f, "%.1f %.1f", PX(tr(&ax, x)), PY(tr(&ay, y)));
				open = 1;
			}
			if (open)
				fputs("\"/>\n", f);
		}
		if (s[i].mark == TP_MARK_DOT) {
			for (size_t j = 0; j < s[i].n; j++)
				if (usable(&ax, s[i].x[j]) && usable(&ay, s[i].y[j]))
					fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
					        "fill=\"%s\" fill-opacity=\"0.7\"/>\n",
					        PX(tr(&ax, s[i].x[j])), PY(tr(&ay, s[i].y[j])), col);
		} else if (s[i].mark == TP_MARK_CROSS) {
			for (size_t j = 0; j < s[i].n; j++) {
				double cx, cy = T + 10;
				if (!usable(&ax, s[i].x[j]))
					continue;
				cx = PX(tr(&ax, s[i].x[j]));
				fprintf(f, "<path d=\"M%.1f %.1f L%.1f %.1f M%.1f %.1f L%.1f "
				        "%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
				        cx - 4, cy - 4, cx + 4, cy + 4, cx - 4, cy + 4, cx + 4,
				        cy - 4, col);
			}
		}
		/* legend */
		double ly = T + 12 + 18.0 * (double)i;
		if (s[i].mark == TP_MARK_LINE)
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			        "stroke=\"%s\" stroke-width=\"2\"%s/>", R + 10, ly - 4,
			        R + 34, ly - 4, col,
			        s[i].dashed ? " stroke-dasharray=\"5 3\"" : "");
		else if (s[i].mark == TP_MARK_DOT)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>",
			        R + 22, ly - 4, col);
		else
			fprintf(f, "<path d=\"M%.1f %.1f L%.1f %.1f M%.1f %.1f L%.1f %.1f\" "
			        "stroke=\"%s\" stroke-width=\"2\"/>", R + 18, ly - 8,
			        R + 26, ly, R + 18, ly, R + 26, ly - 8, col);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", R + 40, ly);
		xml_text(f, s[i].label);
		fputs("</text>\n", f);
	}
#undef PX
#undef PY
	fputs("</svg>\n", f);
	return ferror(f) ? -1 : 0;
}

int
tp_plot_looks_log(const double *x, size_t n)
{
	double lo = INFINITY, hi = 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			continue;
		if (x[i] <= 0)
			return 0;
		lo = fmin(lo, x[i]), hi = fmax(hi, x[i]), k++;
	}
	return k >= 2 && hi / lo >= 50;
}

void
tp_sparkline(const double *y, size_t n, size_t width, char *out, size_t size)
{
	static const char *const bars[8] = {"\u2581", "\u2582", "\u2583",
	                                    "\u2584", "\u2585", "\u2586",
	                                    "\u2587", "\u2588"};
	double lo = INFINITY, hi = -INFINITY;
	size_t cells = n < width ? n : width, o = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (isfinite(y[i]))
			lo = fmin(lo, y[i]), hi = fmax(hi, y[i]);
	for (size_t c = 0; c < cells && o + 4 <= size; c++) {
		size_t a = c * n / cells, b = (c + 1) * n / cells;
		double sum = 0;
		int bad = 0;
		for (size_t i = a; i < b; i++) {
			if (!isfinite(y[i]))
				bad = 1;
			sum += y[i];
		}
		if (bad || b == a) {
			out[o++] = '!';
			continue;
		}
		double v = sum / (double)(b - a);
		int lvl = hi > lo ? (int)floor((v - lo) / (hi - lo) * 7.999) : 3;
		lvl = lvl < 0 ? 0 : lvl > 7 ? 7 : lvl;
		memcpy(out + o, bars[lvl], 3);
		o += 3;
	}
	out[o] = 0;
}

/* ---- store plots ---- */

/* The training counterpart of the objective's curve (see plot.h). */
static const struct tp_curve *
train_of(const struct tp_series *se, const struct tp_objective *o)
{
	const struct tp_curve *c = tp_series_get(se, "train", o->metric);

	if (!c && strcmp(o->metric, "loss") == 0)
		c = tp_series_get(se, "step", "loss");
	return c;
}

static double *
steps_dbl(const struct tp_curve *c)
{
	double *x = tp_xmallocarray(c->n + 1, sizeof *x);

	for (size_t i = 0; i < c->n; i++)
		x[i] = (double)c->step[i];
	return x;
}

int
tp_plot_curves_svg(FILE *f, const struct tp_trial *const *t,
                   const struct tp_series *se, size_t n,
                   const struct tp_objective *o)
{
	struct tp_plot_series *s = tp_xcalloc(2 * n + 1, sizeof *s);
	char (*lab)[128] = tp_xcalloc(2 * n + 1, sizeof *lab);
	double **xs = tp_xcalloc(2 * n + 1, sizeof *xs);
	size_t ns = 0;
	char title[256], yl[128];
	struct tp_plot p = {0};
	int rc;

	for (size_t i = 0; i < n; i++) {
		const struct tp_curve *c[2] = {tp_series_get(&se[i], o->split, o->metric),
		                               train_of(&se[i], o)};
		for (int k = 0; k < 2; k++) {
			if (!c[k])
				continue;
			snprintf(lab[ns], sizeof lab[ns], "trial %lld %s", (long long)t[i]->id,
			         k ? (strcmp(c[k]->split, "step") == 0 ? "train (steps)"
			                                                : "train")
			           : o->split);
			xs[ns] = steps_dbl(c[k]);
			s[ns].label = lab[ns];
			s[ns].n = c[k]->n;
			s[ns].x = xs[ns];
			s[ns].y = c[k]->val;
			s[ns].mark = TP_MARK_LINE;
			s[ns].dashed = k;
			s[ns].color = (int)i;
			ns++;
		}
	}
	snprintf(title, sizeof title, "%s: %s over training", n ? t[0]->study : "",
	         o->metric);
	snprintf(yl, sizeof yl, "%s", o->metric);
	p.title = title;
	p.xlabel = "step";
	p.ylabel = yl;
	rc = tp_plot_svg(f, &p, s, ns);
	for (size_t i = 0; i < ns; i++)
		free(xs[i]);
	free(xs);
	free(lab);
	free(s);
	return rc;
}

static void
curve_row(struct tp_table *out, const struct tp_trial *t,
          const struct tp_curve *c, const char *what, int maximize,
          size_t width)
{
	char *spark = tp_xmalloc(3 * width + 1);
	size_t bi = 0;

	for (size_t i = 0; i < c->n; i++)
		if (isfinite(c->val[i]) && (!isfinite(c->val[bi]) ||
		    (maximize ? c->val[i] > c->val[bi] : c->val[i] < c->val[bi])))
			bi = i;
	tp_sparkline(c->val, c->n, width, spark, 3 * width + 1);
	tp_table_row(out);
	tp_table_num(out, 0, (double)t->id);
	tp_table_setf(out, 1, "%s %s", what, c->name);
	tp_table_set(out, 2, spark);
	tp_table_num(out, 3, c->val[0]);
	tp_table_num(out, 4, c->val[bi]);
	tp_table_num(out, 5, (double)c->step[bi]);
	tp_table_num(out, 6, c->val[c->n - 1]);
	tp_table_num(out, 7, (double)c->step[c->n - 1]);
	free(spark);
}

void
tp_plot_curves_table(const struct tp_trial *const *t,
                     const struct tp_series *se,
                     size_t n, const struct tp_objective *o, size_t width,
                     struct tp_table *out)
{
	static const char *const head[] = {"trial", "curve", "shape", "first",
	                                   "best", "best_step", "last",
	                                   "last_step"};

	tp_table_init(out, 8, head);
	for (size_t i = 0; i < n; i++) {
		const struct tp_curve *c = tp_series_get(&se[i], o->split, o->metric);
		const struct tp_curve *tc = tp_series_get(&se[i], "step", "loss");
		if (c && c->n)
			curve_row(out, t[i], c, o->split, o->maximize, width);
		if ((c = tp_series_get(&se[i], "train", o->metric)) && c->n)
			curve_row(out, t[i], c, "train", o->maximize, width);
		if (tc && tc->n)
			curve_row(out, t[i], tc, "step", 0, width);
	}
}

int
tp_plot_axis_svg(FILE *f, const struct tp_trial *t, size_t n,
                 const struct tp_objective *o, const char *param, int logx)
{
	struct tp_plot_series *s = tp_xcalloc(n + 2, sizeof *s);
	char (*lab)[256] = tp_xcalloc(n + 2, sizeof *lab);
	double *xs = tp_xcalloc(2 * n + 2, sizeof *xs), *ys = xs + n + 1;
	double *all = tp_xcalloc(n + 1, sizeof *all);
	size_t *grp = tp_xcalloc(n + 1, sizeof *grp), ng = 0, na = 0, k = 0;
	char key[256], title[256], yl[160];
	struct tp_plot p = {0};
	int rc;

	/* Group trials by scientific values; diverged trials go last. */
	for (size_t i = 0; i < n; i++) {
		const struct tp_tparam *pp = tp_trial_param(&t[i], param);
		size_t g;
		if (!pp || pp->type == TP_TV_STR)
			continue;
		all[na++] = pp->num;
		tp_trial_sci_text(&t[i], " ", key, sizeof key);
		for (g = 0; g < ng && strcmp(lab[g], key) != 0; g++)
			;
		if (g == ng)
			snprintf(lab[ng++], sizeof lab[0], "%s", key);
		grp[i] = g + 1;
	}
	for (size_t g = 0; g <= ng; g++) {
		size_t start = k;
		for (size_t i = 0; i < n; i++) {
			double v;
			int64_t st;
			int has;
			if (!grp[i])
				continue;
			has = !t[i].diverged && tp_trial_objective(&t[i], o, &v, &st);
			if (g < ng ? (grp[i] != g + 1 || !has) : has)
				continue;
			xs[k] = tp_trial_param(&t[i], param)->num;
			ys[k++] = has ? v : NAN;
		}
		if (k == start)
			continue;
		s[g].label = g < ng ? lab[g] : "diverged / no value";
		if (g == ng)
			snprintf(lab[ng], sizeof lab[0], "diverged / no value");
		s[g].n = k - start;
		s[g].x = xs + start;
		s[g].y = ys + start;
		s[g].mark = g < ng ? TP_MARK_DOT : TP_MARK_CROSS;
		s[g].color = g < ng ? (int)g : -1; /* black: no group's colour */
	}
	/* Drop empty groups so the legend has no blank lines. */
	{
		size_t w = 0;
		for (size_t g = 0; g <= ng; g++)
			if (s[g].n)
				s[w++] = s[g];
		ng = w;
	}
	snprintf(title, sizeof title, "%s: %s %s against %s", n ? t[0].study : "",
	         o->final ? "final" : "best", o->metric, param);
	snprintf(yl, sizeof yl, "%s %s", o->split, o->metric);
	p.title = title;
	p.xlabel = param;
	p.ylabel = yl;
	p.xlog = logx >= 0 ? logx : tp_plot_looks_log(all, na);
	rc = tp_plot_svg(f, &p, s, ng);
	free(s);
	free(lab);
	free(xs);
	free(all);
	free(grp);
	return rc;
}

size_t
tp_plot_axis_params(const struct tp_trial *t, size_t n, const char ***names)
{
	const char **out = NULL, **seen = NULL;
	size_t k = 0, ns = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < t[i].nparams; j++) {
			const struct tp_tparam *p = &t[i].params[j];
			int varies = 0, sci = 0, num = 1;
			size_t q;
			for (q = 0; q < ns && strcmp(seen[q], p->key) != 0; q++)
				;
			if (q < ns)
				continue;
			seen = tp_xrealloc(seen, (ns + 1) * sizeof *seen);
			seen[ns++] = p->key;
			if (strcmp(p->key, "seed") == 0 || strcmp(p->key, "data_seed") == 0)
				continue;
			for (size_t a = 0; a < n; a++) {
				const struct tp_tparam *r = tp_trial_param(&t[a], p->key);
				if (!r)
					continue;
				sci |= r->scientific;
				num &= r->type == TP_TV_NUM;
				varies |= r->num != p->num;
			}
			if (sci || !num || !varies)
				continue;
			out = tp_xrealloc(out, (k + 1) * sizeof *out);
			out[k++] = p->key;
		}
	free(seen);
	*names = out;
	return k;
}
