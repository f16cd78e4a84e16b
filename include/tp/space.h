/*
 * space.h: search spaces (doc/tp-space.5).  A space names a study and its
 * hyperparameters, each scientific (one study per value), nuisance (tuned
 * inside every study) or fixed, with a type, a range and a scale, and
 * optionally a condition ("beta1 only if optimizer=adam").
 *
 * Spaces come as text, written by hand or in a heredoc, or as a msgpack map
 * {"type":"space",...} for programs.  Both go through the same checks; every
 * mistake is reported as "FILE: line N: what" (or "FILE: params[i]: what").
 *
 * Nuisance parameters are sampled through the unit interval: from_unit maps
 * a coordinate u in [0,1) to a value (the "warping": linear, log, reverse-log
 * floats, equal-mass integers, floor(u k) for finite sets) and to_unit maps a
 * value back, for the Bayesian search.
 */
#ifndef TP_SPACE_H
#define TP_SPACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tp/err.h"

struct tp_val;

enum tp_role { TP_ROLE_SCIENTIFIC, TP_ROLE_NUISANCE, TP_ROLE_FIXED };
enum tp_ptype { TP_P_FLOAT, TP_P_INT, TP_P_DISCRETE, TP_P_CHOICE, TP_P_FIXED };
/* Named tp_pscale: enum tp_scale is a dataset's feature scaling (tp/dataset.h). */
enum tp_pscale { TP_SCALE_LINEAR, TP_SCALE_LOG, TP_SCALE_REVLOG };

/* A parameter's value in a trial.  s points into the space (borrowed). */
enum tp_vkind { TP_VAL_INT, TP_VAL_FLOAT, TP_VAL_STR, TP_VAL_BOOL };
struct tp_value {
	enum tp_vkind kind;
	int64_t i; /* INT, BOOL */
	double f;  /* FLOAT */
	const char *s;
};

struct tp_param {
	char *name;
	enum tp_role role;
	enum tp_ptype type;
	enum tp_pscale scale;
	double lo, hi;           /* FLOAT, INT */
	size_t nvalues;          /* DISCRETE, CHOICE: the set; FIXED: 1 */
	struct tp_value *values; /* strings owned by the space */
	int parent;              /* index of the condition's parameter, or -1 */
	size_t ncond;
	struct tp_value *cond;   /* active iff parent is active and one of these */
	int dim;                 /* nuisance: unit-cube coordinate, else -1 */
	int line;                /* declared there; 0: map form, -1: preset */
};

struct tp_space {
	char *file;  /* name for messages */
	char *study; /* "study" when the space names none */
	char *goal;  /* or NULL */
	struct tp_param *p;
	size_t n, cap;
	int ndim;    /* nuisance parameters = unit-cube dimensions */
	/* "preset adam [if COND]": expanded by tp_space_preset() */
	int preset_adam, preset_parent;
	size_t preset_ncond;
	struct tp_value *preset_cond;
	char **strs; /* owned strings */
	size_t nstrs, capstrs;
};

/* Empty space named file (borrowed for the call, copied). */
void tp_space_init(struct tp_space *sp, const char *file);
void tp_space_release(struct tp_space *sp);

/* Parse text of len bytes (append to sp).  0 or -1 (printed). */
int tp_space_parse(struct tp_space *sp, const char *text, size_t len) TP_WUR;
/* Parse the map form {"type":"space","study":..,"params":[..]}. */
int tp_space_parse_val(struct tp_space *sp, const struct tp_val *rec) TP_WUR;
/* Read a file ("-": stdin) in either form (msgpack when it starts with a
 * map).  0, -1 for a bad space or -2 for an I/O error (printed). */
int tp_space_read(struct tp_space *sp, const char *path) TP_WUR;

/* Ask for the Adam budget preset (as the line "preset adam"). */
void tp_space_want_adam(struct tp_space *sp);
/*
 * Expand the Adam preset for a study of `trials` trials (playbook, "How
 * should Adam be tuned?"): lr always; beta1 from 10 trials; epsilon from
 * 25; beta2 from 50.  Parameters the space already declares are kept.
 * Then check the space is usable (has a parameter).  0 or -1 (printed).
 */
int tp_space_finish(struct tp_space *sp, uint64_t trials) TP_WUR;

/* Index of the parameter called name, or -1. */
int tp_space_find(const struct tp_space *sp, const char *name);

/* Value of a nuisance parameter at unit coordinate u in [0, 1). */
void tp_param_from_unit(const struct tp_param *p, double u, struct tp_value *out);
/* The unit coordinate of a value (centre of its cell for integers and
 * sets); -1 when the value is outside the range or set (nothing printed). */
double tp_param_to_unit(const struct tp_param *p, const struct tp_value *v);
/* Number of levels of a finite nuisance parameter (DISCRETE, CHOICE), or 0. */
int tp_param_levels(const struct tp_param *p);

/* Whether two values are equal (ints and floats compare numerically). */
int tp_value_eq(const struct tp_value *a, const struct tp_value *b);
/* Value as text: shortest round-trip for floats.  buf of size >= 32 for
 * numbers; strings are returned as is. */
const char *tp_value_text(const struct tp_value *v, char *buf, size_t size);

/* Print the space in canonical text form (comments say what was derived). */
void tp_space_print(const struct tp_space *sp, FILE *f);

#endif
