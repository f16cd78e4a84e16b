/*
 * study.h: from a search space to trials.  The playbook runs one study per
 * combination of scientific values, each tuning the same nuisance parameters
 * with the same budget; this module enumerates those studies, turns
 * unit-cube points (tp/qmc.h) or Bayesian proposals (tp/gp.h) into trial
 * records, and writes them as msgpack, JSON lines, shell flags or TSV.
 *
 * A trial record (doc/tp-sample.1, doc/tp-records.5):
 *   {"type":"trial","study":"NAME/SCI=V,...","trial":i,
 *    "scientific":{...},"params":{...every active parameter...},"seed":S}
 * For the Bayesian search, completed trials are read back from tp-train
 * metrics streams ("config" + "eval" + "diverged" records) or from "result"
 * records {"type":"result","study":..,"trial":..,"params":{..},
 * "objective":x,"diverged":bool}.
 */
#ifndef TP_STUDY_H
#define TP_STUDY_H

#include <stdint.h>
#include <stdio.h>

#include "tp/err.h"
#include "tp/qmc.h"
#include "tp/space.h"

enum tp_format { TP_FMT_MSGPACK, TP_FMT_JSON, TP_FMT_ARGS, TP_FMT_TSV };

/* "msgpack", "json", "args", "tsv"; 0 or -1 (nothing printed). */
int tp_format_parse(const char *s, enum tp_format *out) TP_WUR;

struct tp_study_opts {
	enum tp_qmc_kind method; /* sobol, halton, random, grid */
	int bayes;               /* propose from history instead */
	uint64_t seed;           /* sampling seed (-s) */
	uint64_t trials;         /* per study (-n) */
	uint64_t start, count;   /* the slice of trial indices to print */
	enum tp_format format;
	const char *output;      /* path, "-" = stdout */
	int quiet;               /* no warnings about skipped history */
	/* Bayesian mode */
	const char *const *history; /* files of completed trials */
	int nhistory;
	const char *metric;      /* eval key to optimize ("error") */
	const char *split;       /* eval split ("valid") */
	int maximize;
};

/* Defaults: sobol, seed 0, 16 trials, slice 0..15, msgpack, stdout,
 * metric "error" on split "valid", minimized. */
void tp_study_opts_init(struct tp_study_opts *o);

/* Number of studies: the product of the scientific parameters' sizes. */
uint64_t tp_study_count(const struct tp_space *sp);

/*
 * Write the trials of every study for o's slice (quasi-random, random or
 * grid), or o->count Bayesian proposals per study.  The space must have
 * been through tp_space_finish().  0, or -1 (printed); exit code 2 for the
 * caller when *usage is set (a request the space cannot satisfy), else 3.
 */
int tp_study_run(const struct tp_space *sp, const struct tp_study_opts *o,
                 int *usage) TP_WUR;

/* The resolved space (parseable text), then "#" lines: method, seed, the
 * studies and the number of trials.  0 or -1 (printed). */
int tp_study_describe(const struct tp_space *sp, const struct tp_study_opts *o,
                      FILE *f) TP_WUR;

#endif
