/*
 * plot.h: the pictures the playbook asks to look at before concluding
 * anything: training curves and hyperparameter-axis plots as standalone
 * SVG (no script, no external resources, well-formed XML), and Unicode
 * sparklines for a terminal.
 */
#ifndef TP_PLOT_H
#define TP_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "tp/err.h"

enum tp_mark {
	TP_MARK_LINE,  /* a polyline; non-finite y breaks it */
	TP_MARK_DOT,   /* a circle per point */
	TP_MARK_CROSS, /* an x per point drawn at the top edge: no y (diverged) */
};

struct tp_plot_series {
	const char *label;
	size_t n;
	const double *x, *y; /* borrowed; y is ignored for TP_MARK_CROSS */
	enum tp_mark mark;
	int dashed; /* lines: dashed (e.g. training vs validation) */
	int color;  /* palette index (series with the same index match); < 0 black */
};

struct tp_plot {
	const char *title, *xlabel, *ylabel;
	int xlog, ylog; /* log10 axes; non-positive values are dropped */
	int width, height; /* pixels; 0 means 720 x 420 */
};

/* Write one plot as an SVG document; 0, or -1 on a write error (not
 * printed).  Non-finite points are skipped; an empty plot still draws its
 * frame and says "no data". */
int tp_plot_svg(FILE *f, const struct tp_plot *p,
                const struct tp_plot_series *s, size_t ns) TP_WUR;

/* Whether values look log-distributed: all positive and spanning at least
 * a factor of 50 (learning rates, weight decay; not momentum). */
int tp_plot_looks_log(const double *x, size_t n);

/*
 * A sparkline of y in at most width cells (bucket means when n > width)
 * with the eight block characters; non-finite buckets print as '!'.
 * Writes a NUL-terminated UTF-8 string to out (3 bytes per cell + 1).
 */
void tp_sparkline(const double *y, size_t n, size_t width, char *out,
                  size_t size);

/* ---- tp-track's plots of store data ---- */

struct tp_trial;
struct tp_series;
struct tp_objective;
struct tp_table;

/*
 * Curves of n trials against step: the objective's split and metric
 * (solid) and the same metric on the training split, or the per-step
 * training loss when the metric is "loss" (dashed), one colour per trial.
 * se[i] holds trial t[i]'s points.  0 or -1 (write error, not printed).
 */
int tp_plot_curves_svg(FILE *f, const struct tp_trial *const *t,
                       const struct tp_series *se, size_t n,
                       const struct tp_objective *o) TP_WUR;
/* The same as a table of sparklines, one row per trial and curve, with the
 * first, best and last values.  out is initialised here. */
void tp_plot_curves_table(const struct tp_trial *const *t,
                          const struct tp_series *se, size_t n,
                          const struct tp_objective *o, size_t width,
                          struct tp_table *out);
/*
 * The objective of every trial against parameter param (numeric): a dot
 * per trial, one colour per combination of scientific values, diverged
 * trials as crosses along the top.  logx: 1 log, 0 linear, -1 decided by
 * tp_plot_looks_log.  0 or -1 (write error).
 */
int tp_plot_axis_svg(FILE *f, const struct tp_trial *t, size_t n,
                     const struct tp_objective *o, const char *param,
                     int logx) TP_WUR;
/* The parameters worth an axis plot: numeric, not scientific, not a seed,
 * and varying across the trials, in first-seen order.  *names is malloc'd
 * (free it); the strings belong to the trials. */
size_t tp_plot_axis_params(const struct tp_trial *t, size_t n,
                           const char ***names);

#endif
