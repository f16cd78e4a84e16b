/*
 * space.c: the search-space format (doc/tp-space.5) and the warping of
 * unit-cube coordinates into hyperparameter values.
 *
 * The text form is one declaration per line, tokens separated by blanks,
 * double quotes for tokens with blanks.  The msgpack form is turned into the
 * same tokens, so both forms share one set of checks and one set of
 * messages.  Parameters are kept in declaration order: that order fixes the
 * unit-cube coordinate of each nuisance parameter, so a space with the same
 * lines in the same order gives the same trials in every version.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/record.h"
#include "tp/space.h"

#define MAXTOK 1024
#define MAXSCI 10000 /* values of an int scientific parameter */

/* Adam's preset ranges (tp-space(5), "PRESETS"). */
#define ADAM_BETA1_AT 10
#define ADAM_EPS_AT 25
#define ADAM_BETA2_AT 50

static void *
grow(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		tp_oom();
	return tp_xrealloc(p, n * size);
}

static char *
own(struct tp_space *sp, const char *s, size_t n)
{
	char *c = tp_xstrndup(s, n);

	if (sp->nstrs == sp->capstrs) {
		sp->capstrs = sp->capstrs ? 2 * sp->capstrs : 16;
		sp->strs = grow(sp->strs, sp->capstrs, sizeof *sp->strs);
	}
	sp->strs[sp->nstrs++] = c;
	return c;
}

void
tp_space_init(struct tp_space *sp, const char *file)
{
	memset(sp, 0, sizeof *sp);
	sp->file = tp_xstrdup(file && strcmp(file, "-") ? file : "<stdin>");
	sp->preset_parent = -1;
}

void
tp_space_release(struct tp_space *sp)
{
	for (size_t i = 0; i < sp->n; i++) {
		free(sp->p[i].values);
		free(sp->p[i].cond);
	}
	for (size_t i = 0; i < sp->nstrs; i++)
		free(sp->strs[i]);
	free(sp->strs);
	free(sp->p);
	free(sp->preset_cond);
	free(sp->file);
	memset(sp, 0, sizeof *sp);
}

int
tp_space_find(const struct tp_space *sp, const char *name)
{
	for (size_t i = 0; i < sp->n; i++)
		if (!strcmp(sp->p[i].name, name))
			return (int)i;
	return -1;
}

/* ---- values ---- */

int
tp_value_eq(const struct tp_value *a, const struct tp_value *b)
{
	int an = a->kind == TP_VAL_INT || a->kind == TP_VAL_FLOAT;
	int bn = b->kind == TP_VAL_INT || b->kind == TP_VAL_FLOAT;

	if (an && bn) {
		if (a->kind == TP_VAL_INT && b->kind == TP_VAL_INT)
			return a->i == b->i;
		return (a->kind == TP_VAL_INT ? (double)a->i : a->f) ==
		       (b->kind == TP_VAL_INT ? (double)b->i : b->f);
	}
	if (a->kind != b->kind)
		return 0;
	if (a->kind == TP_VAL_BOOL)
		return a->i == b->i;
	return !strcmp(a->s, b->s);
}

const char *
tp_value_text(const struct tp_value *v, char *buf, size_t size)
{
	switch (v->kind) {
	case TP_VAL_INT:
		snprintf(buf, size, "%lld", (long long)v->i);
		return buf;
	case TP_VAL_BOOL:
		return v->i ? "true" : "false";
	case TP_VAL_STR:
		return v->s;
	case TP_VAL_FLOAT:
		break;
	}
	/* Shortest form that reads back as the same double: 1e-3, not
	 * 0.0010000000000000000208. */
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v->f);
		if (strtod(buf, NULL) == v->f)
			break;
	}
	/* Keep a float recognizable as one (JSON, TSV readers). */
	if (!strpbrk(buf, ".eEn") && strlen(buf) + 3 <= size)
		strcat(buf, ".0");
	return buf;
}

/* ---- warping ---- */

int
tp_param_levels(const struct tp_param *p)
{
	if (p->type == TP_P_DISCRETE || p->type == TP_P_CHOICE)
		return (int)p->nvalues;
	return 0;
}

static size_t
cell(double u, size_t k)
{
	size_t c = (size_t)floor(u * (double)k);

	return c >= k ? k - 1 : c;
}

void
tp_param_from_unit(const struct tp_param *p, double u, struct tp_value *out)
{
	double x;

	if (u < 0)
		u = 0;
	if (u >= 1)
		u = 0x1.fffffffffffffp-1;
	memset(out, 0, sizeof *out);
	switch (p->type) {
	case TP_P_FLOAT:
		out->kind = TP_VAL_FLOAT;
		switch (p->scale) {
		case TP_SCALE_LINEAR:
			x = p->lo + u * (p->hi - p->lo);
			break;
		case TP_SCALE_LOG:
			/* lo * (hi/lo)^u: u = 0 gives lo exactly */
			x = p->lo * exp(u * log(p->hi / p->lo));
			break;
		default: /* reverse-log: 1 - x is log-uniform */
			x = 1 - (1 - p->lo) * exp(u * log((1 - p->hi) / (1 - p->lo)));
			break;
		}
		/* exp/log may step a hair outside the declared range */
		out->f = x < p->lo ? p->lo : x > p->hi ? p->hi : x;
		break;
	case TP_P_INT:
		out->kind = TP_VAL_INT;
		if (p->scale == TP_SCALE_LOG) {
			/* k gets the mass of [log k, log(k+1)): log-uniform and
			 * no half-weight endpoints */
			x = floor(p->lo * exp(u * log((p->hi + 1) / p->lo)));
		} else {
			/* lo + floor(u (hi-lo+1)): every integer equal mass */
			x = p->lo + floor(u * (p->hi - p->lo + 1));
		}
		out->i = (int64_t)(x < p->lo ? p->lo : x > p->hi ? p->hi : x);
		break;
	case TP_P_DISCRETE:
	case TP_P_CHOICE:
		*out = p->values[cell(u, p->nvalues)];
		break;
	case TP_P_FIXED:
		*out = p->values[0];
		break;
	}
}

double
tp_param_to_unit(const struct tp_param *p, const struct tp_value *v)
{
	double x, u;

	switch (p->type) {
	case TP_P_FLOAT:
	case TP_P_INT:
		if (v->kind == TP_VAL_INT)
			x = (double)v->i;
		else if (v->kind == TP_VAL_FLOAT)
			x = v->f;
		else
			return -1;
		if (!(x >= p->lo && x <= p->hi))
			return -1;
		if (p->type == TP_P_INT) {
			if (x != floor(x))
				return -1;
			if (p->scale == TP_SCALE_LOG)
				u = (0.5 * (log(x) + log(x + 1)) - log(p->lo)) /
				    (log(p->hi + 1) - log(p->lo));
			else
				u = (x - p->lo + 0.5) / (p->hi - p->lo + 1);
		} else if (p->scale == TP_SCALE_LINEAR) {
			u = (x - p->lo) / (p->hi - p->lo);
		} else if (p->scale == TP_SCALE_LOG) {
			u = (log(x) - log(p->lo)) / (log(p->hi) - log(p->lo));
		} else {
			u = (log1p(-x) - log1p(-p->lo)) / (log1p(-p->hi) - log1p(-p->lo));
		}
		return u < 0 ? 0 : u > 1 ? 1 : u;
	case TP_P_DISCRETE:
	case TP_P_CHOICE:
		for (size_t k = 0; k < p->nvalues; k++)
			if (tp_value_eq(v, &p->values[k]))
				return ((double)k + 0.5) / (double)p->nvalues;
		return -1;
	case TP_P_FIXED:
		return tp_value_eq(v, &p->values[0]) ? 0.5 : -1;
	}
	return -1;
}

/* ---- parsing ---- */

/* Where a declaration came from, for messages. */
struct where {
	const char *file;
	int line;     /* > 0: text line */
	long index;   /* >= 0: params[index] of the map form */
};

TP_PRINTF(2, 3) static void
bad(const struct where *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (w->line > 0)
		tp_errorf("%s: line %d: %s", w->file, w->line, msg);
	else if (w->index >= 0)
		tp_errorf("%s: params[%ld]: %s", w->file, w->index, msg);
	else
		tp_errorf("%s: %s", w->file, msg);
}

static int
parse_num(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return *s && !*end && !errno && isfinite(*out) ? 0 : -1;
}

static int
parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return -1;
	*out = v;
	return 0;
}

/* A number token as a value: an int when it is written as one. */
static int
num_value(const char *s, struct tp_value *v)
{
	memset(v, 0, sizeof *v);
	if (parse_int(s, &v->i) == 0) {
		v->kind = TP_VAL_INT;
		return 0;
	}
	v->kind = TP_VAL_FLOAT;
	return parse_num(s, &v->f);
}

static int
valid_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}

static struct tp_param *
new_param(struct tp_space *sp)
{
	struct tp_param *p;

	if (sp->n == sp->cap) {
		sp->cap = sp->cap ? 2 * sp->cap : 16;
		sp->p = grow(sp->p, sp->cap, sizeof *sp->p);
	}
	p = &sp->p[sp->n];
	memset(p, 0, sizeof *p);
	p->parent = -1;
	p->dim = -1;
	return p;
}

static const char *
type_name(enum tp_ptype t)
{
	static const char *const n[] = {"float", "int", "discrete", "choice", "fixed"};

	return n[t];
}

/* "NAME=V1,V2": resolve against the parameters declared so far. */
static int
parse_cond(struct tp_space *sp, const struct where *w, const char *c,
           int *parent, struct tp_value **vals, size_t *nvals)
{
	const char *eq = strchr(c, '=');
	char name[256];
	const struct tp_param *q;
	int pi;

	if (!eq || eq == c || !eq[1]) {
		bad(w, "condition '%s' is not NAME=VALUE[,VALUE...]", c);
		return -1;
	}
	snprintf(name, sizeof name, "%.*s", (int)(eq - c), c);
	pi = tp_space_find(sp, name);
	if (pi < 0) {
		bad(w, "condition on unknown parameter '%s' (declare it on an earlier line)",
		    name);
		return -1;
	}
	q = &sp->p[pi];
	if (q->type == TP_P_FLOAT) {
		bad(w, "condition on float parameter '%s' (needs choice, discrete, "
		    "int or fixed)", name);
		return -1;
	}
	*parent = pi;
	*nvals = 0;
	*vals = NULL;
	for (const char *s = eq + 1;;) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		struct tp_value v = {0};
		char *tok = own(sp, s, n);

		if (q->type == TP_P_CHOICE) {
			v.kind = TP_VAL_STR;
			v.s = tok;
		} else if (q->type == TP_P_FIXED && q->values[0].kind == TP_VAL_STR) {
			v.kind = TP_VAL_STR;
			v.s = tok;
		} else if (q->type == TP_P_FIXED && q->values[0].kind == TP_VAL_BOOL) {
			v.kind = TP_VAL_BOOL;
			v.i = !strcmp(tok, "true");
			if (!v.i && strcmp(tok, "false"))
				v.kind = TP_VAL_STR, v.s = tok;
		} else if (num_value(tok, &v)) {
			v.kind = TP_VAL_STR;
			v.s = tok;
		}
		if (tp_param_to_unit(q, &v) < 0 &&
		    !(q->type == TP_P_FIXED && tp_value_eq(&v, &q->values[0]))) {
			bad(w, "condition: '%s' is not a value of '%s'", tok, name);
			free(*vals);
			*vals = NULL;
			return -1;
		}
		*vals = grow(*vals, *nvals + 1, sizeof **vals);
		(*vals)[(*nvals)++] = v;
		if (!e)
			break;
		s = e + 1;
	}
	return 0;
}

/* A fixed value, typed (int, float, bool, string) or inferred. */
static int
fixed_value(struct tp_space *sp, const struct where *w, const char *type,
            const char *s, struct tp_value *v)
{
	memset(v, 0, sizeof *v);
	if (!type) {
		if (!strcmp(s, "true") || !strcmp(s, "false")) {
			v->kind = TP_VAL_BOOL;
			v->i = !strcmp(s, "true");
		} else if (num_value(s, v)) {
			v->kind = TP_VAL_STR;
			v->s = own(sp, s, strlen(s));
		}
		return 0;
	}
	if (!strcmp(type, "int")) {
		v->kind = TP_VAL_INT;
		if (parse_int(s, &v->i) == 0)
			return 0;
	} else if (!strcmp(type, "float")) {
		v->kind = TP_VAL_FLOAT;
		if (parse_num(s, &v->f) == 0)
			return 0;
	} else if (!strcmp(type, "bool")) {
		v->kind = TP_VAL_BOOL;
		v->i = !strcmp(s, "true");
		if (v->i || !strcmp(s, "false"))
			return 0;
	} else if (!strcmp(type, "string")) {
		v->kind = TP_VAL_STR;
		v->s = own(sp, s, strlen(s));
		return 0;
	} else {
		bad(w, "unknown fixed type '%s' (expected int, float, bool or string)", type);
		return -1;
	}
	bad(w, "fixed value '%s' is not %s %s", s, *type == 'i' ? "an" : "a", type);
	return -1;
}

/*
 * One declaration, as tokens: ROLE NAME ... [if COND].  Shared by the text
 * and the map forms.
 */
static int
declare(struct tp_space *sp, const struct where *w, char **tok, int n)
{
	const char *role = tok[0], *cond = NULL;
	struct tp_param *p;
	enum tp_role r;

	if (n >= 2 && !strcmp(tok[n - 2], "if")) {
		cond = tok[n - 1];
		n -= 2;
	} else if (n >= 1 && !strcmp(tok[n - 1], "if")) {
		bad(w, "'if' needs a condition NAME=VALUE");
		return -1;
	}
	if (!strcmp(role, "scientific"))
		r = TP_ROLE_SCIENTIFIC;
	else if (!strcmp(role, "nuisance"))
		r = TP_ROLE_NUISANCE;
	else if (!strcmp(role, "fixed"))
		r = TP_ROLE_FIXED;
	else {
		bad(w, "unknown keyword '%s' (expected study, goal, preset, "
		    "scientific, nuisance or fixed)", role);
		return -1;
	}
	if (n < 2) {
		bad(w, "%s: missing parameter name", role);
		return -1;
	}
	if (!valid_name(tok[1])) {
		bad(w, "bad parameter name '%s' (letters, digits, '_', '.', '-'; "
		    "a letter or '_' first)", tok[1]);
		return -1;
	}
	if (tp_space_find(sp, tok[1]) >= 0) {
		const struct tp_param *q = &sp->p[tp_space_find(sp, tok[1])];

		if (q->line > 0)
			bad(w, "duplicate parameter '%s' (first on line %d)", tok[1], q->line);
		else
			bad(w, "duplicate parameter '%s'", tok[1]);
		return -1;
	}
	p = new_param(sp);
	p->role = r;
	p->line = w->line;
	if (r == TP_ROLE_FIXED) {
		const char *type = NULL, *val;

		if (n == 4) {
			type = tok[2];
			val = tok[3];
		} else if (n == 3) {
			val = tok[2];
		} else {
			bad(w, "fixed needs NAME [TYPE] VALUE");
			return -1;
		}
		p->type = TP_P_FIXED;
		p->nvalues = 1;
		p->values = tp_xcalloc(1, sizeof *p->values);
		if (fixed_value(sp, w, type, val, p->values))
			goto fail;
	} else {
		const char *type = n > 2 ? tok[2] : "";

		if (!strcmp(type, "float") || !strcmp(type, "int")) {
			int isint = type[0] == 'i';

			p->type = isint ? TP_P_INT : TP_P_FLOAT;
			if (n < 5 || n > 6) {
				bad(w, "%s needs LOW HIGH [linear|log%s]", type,
				    isint ? "" : "|reverse-log");
				goto fail;
			}
			for (int k = 3; k <= 4; k++) {
				double *b = k == 3 ? &p->lo : &p->hi;
				int64_t iv;

				if (isint ? parse_int(tok[k], &iv) : parse_num(tok[k], b)) {
					bad(w, "'%s' is not %s", tok[k],
					    isint ? "an integer" : "a number");
					goto fail;
				}
				if (isint)
					*b = (double)iv;
			}
			if (n == 6) {
				if (!strcmp(tok[5], "linear"))
					p->scale = TP_SCALE_LINEAR;
				else if (!strcmp(tok[5], "log"))
					p->scale = TP_SCALE_LOG;
				else if (!isint && !strcmp(tok[5], "reverse-log"))
					p->scale = TP_SCALE_REVLOG;
				else {
					bad(w, "unknown scale '%s' (expected linear, log%s)",
					    tok[5], isint ? "" : " or reverse-log");
					goto fail;
				}
			}
			if (isint ? p->lo > p->hi : !(p->lo < p->hi)) {
				bad(w, "low %s is %s high %s", tok[3],
				    isint ? "above" : "not below", tok[4]);
				goto fail;
			}
			if (p->scale == TP_SCALE_LOG && p->lo <= 0) {
				bad(w, "log scale needs a positive lower bound");
				goto fail;
			}
			if (p->scale == TP_SCALE_REVLOG && p->hi >= 1) {
				bad(w, "reverse-log scale needs an upper bound below 1");
				goto fail;
			}
			if (isint && (fabs(p->lo) > 0x1p53 || fabs(p->hi) > 0x1p53)) {
				bad(w, "int bounds beyond 2^53");
				goto fail;
			}
		} else if (!strcmp(type, "discrete") || !strcmp(type, "choice")) {
			int isnum = type[0] == 'd';

			p->type = isnum ? TP_P_DISCRETE : TP_P_CHOICE;
			if (n < 4) {
				bad(w, "%s needs at least one value", type);
				goto fail;
			}
			p->values = tp_xcalloc((size_t)n - 3, sizeof *p->values);
			for (int k = 3; k < n; k++) {
				struct tp_value *v = &p->values[p->nvalues];

				if (isnum) {
					if (num_value(tok[k], v)) {
						bad(w, "'%s' is not a number", tok[k]);
						goto fail;
					}
				} else {
					v->kind = TP_VAL_STR;
					v->s = own(sp, tok[k], strlen(tok[k]));
				}
				for (size_t j = 0; j < p->nvalues; j++)
					if (tp_value_eq(v, &p->values[j])) {
						bad(w, "duplicate value '%s'", tok[k]);
						goto fail;
					}
				p->nvalues++;
			}
		} else if (!*type) {
			bad(w, "%s %s: missing type (float, int, discrete or choice)",
			    role, tok[1]);
			goto fail;
		} else {
			bad(w, "unknown type '%s' (expected float, int, discrete or choice)",
			    type);
			goto fail;
		}
		if (r == TP_ROLE_SCIENTIFIC) {
			if (p->type == TP_P_FLOAT) {
				bad(w, "scientific parameter '%s' needs a finite set of "
				    "values (choice, discrete or int)", tok[1]);
				goto fail;
			}
			if (p->type == TP_P_INT && p->hi - p->lo + 1 > MAXSCI) {
				bad(w, "scientific parameter '%s' has more than %d values",
				    tok[1], MAXSCI);
				goto fail;
			}
		}
	}
	if (cond) {
		if (r == TP_ROLE_SCIENTIFIC) {
			bad(w, "a scientific parameter cannot be conditional");
			goto fail;
		}
		if (parse_cond(sp, w, cond, &p->parent, &p->cond, &p->ncond))
			goto fail;
	}
	p->name = own(sp, tok[1], strlen(tok[1]));
	if (r == TP_ROLE_NUISANCE)
		p->dim = sp->ndim++;
	sp->n++;
	return 0;
fail:
	free(p->values);
	p->values = NULL;
	return -1;
}

static int
keyword(struct tp_space *sp, const struct where *w, char **tok, int n)
{
	if (!strcmp(tok[0], "study")) {
		if (n != 2) {
			bad(w, "study needs one NAME");
			return -1;
		}
		if (sp->study) {
			bad(w, "a second 'study' line");
			return -1;
		}
		if (!*tok[1] || strpbrk(tok[1], "/\t\n")) {
			bad(w, "bad study name '%s' (no '/', tab or newline)", tok[1]);
			return -1;
		}
		sp->study = own(sp, tok[1], strlen(tok[1]));
		return 0;
	}
	if (!strcmp(tok[0], "goal")) {
		size_t len = 0;
		char *g;

		if (n < 2) {
			bad(w, "goal needs a text");
			return -1;
		}
		for (int k = 1; k < n; k++)
			len += strlen(tok[k]) + 1;
		g = tp_xmalloc(len);
		g[0] = 0;
		for (int k = 1; k < n; k++) {
			if (k > 1)
				strcat(g, " ");
			strcat(g, tok[k]);
		}
		sp->goal = own(sp, g, strlen(g));
		free(g);
		return 0;
	}
	if (!strcmp(tok[0], "preset")) {
		if (n < 2 || strcmp(tok[1], "adam")) {
			bad(w, "unknown preset '%s' (expected adam)", n < 2 ? "" : tok[1]);
			return -1;
		}
		if (sp->preset_adam) {
			bad(w, "a second 'preset adam' line");
			return -1;
		}
		if (n == 4 && !strcmp(tok[2], "if")) {
			if (parse_cond(sp, w, tok[3], &sp->preset_parent,
			               &sp->preset_cond, &sp->preset_ncond))
				return -1;
		} else if (n != 2) {
			bad(w, "preset adam takes only 'if NAME=VALUE'");
			return -1;
		}
		sp->preset_adam = 1;
		return 0;
	}
	return declare(sp, w, tok, n);
}

/* Split one line into tokens (in place); "..." quotes with \" and \\. */
static int
tokenize(char *s, char **tok, int *ntok, const struct where *w)
{
	int n = 0;

	for (;;) {
		char *out;

		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s || *s == '#')
			break;
		if (n == MAXTOK) {
			bad(w, "more than %d words", MAXTOK);
			return -1;
		}
		tok[n++] = out = s;
		if (*s == '"') {
			s++;
			for (;;) {
				if (!*s) {
					bad(w, "unterminated quote");
					return -1;
				}
				if (*s == '"')
					break;
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				*out++ = *s++;
			}
			s++;
			if (*s && *s != ' ' && *s != '\t' && *s != '\r') {
				bad(w, "text after a closing quote");
				return -1;
			}
		} else {
			while (*s && *s != ' ' && *s != '\t' && *s != '\r')
				*out++ = *s++;
		}
		if (*s)
			s++;
		*out = 0;
	}
	*ntok = n;
	return 0;
}

int
tp_space_parse(struct tp_space *sp, const char *text, size_t len)
{
	char **tok = tp_xmallocarray(MAXTOK, sizeof *tok);
	struct where w = {sp->file, 0, -1};
	int rc = 0;

	for (size_t at = 0; at < len && rc == 0;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		char *line = tp_xstrndup(text + at, n);
		int ntok;

		w.line++;
		if (strlen(line) != n) {
			bad(&w, "NUL byte (is this a text file?)");
			rc = -1;
		} else if (tokenize(line, tok, &ntok, &w)) {
			rc = -1;
		} else if (ntok > 0 && keyword(sp, &w, tok, ntok)) {
			rc = -1;
		}
		free(line);
		at += n + 1;
	}
	free(tok);
	return rc;
}

/* ---- the map form ---- */

/* A scalar of the map form as a token. */
static int
val_token(const struct tp_val *v, char *buf, size_t size)
{
	int64_t i;
	double f;
	int b;
	size_t n;
	const char *s;

	switch (tp_val_type(v)) {
	case TP_V_INT:
		if (tp_val_i64(v, &i))
			return -1;
		snprintf(buf, size, "%lld", (long long)i);
		return 0;
	case TP_V_FLOAT: {
		struct tp_value tv = {.kind = TP_VAL_FLOAT};

		if (tp_val_f64(v, &f))
			return -1;
		tv.f = f;
		tp_value_text(&tv, buf, size);
		return 0;
	}
	case TP_V_BOOL:
		if (tp_val_bool(v, &b))
			return -1;
		snprintf(buf, size, "%s", b ? "true" : "false");
		return 0;
	case TP_V_STR:
		s = tp_val_str(v, &n);
		if (n >= size || memchr(s, 0, n))
			return -1;
		memcpy(buf, s, n);
		buf[n] = 0;
		return 0;
	default:
		return -1;
	}
}

static int
map_param(struct tp_space *sp, const struct where *w, const struct tp_val *m)
{
	static const char *const keys[] = {"role", "name", "type"};
	char **tok = tp_xmallocarray(MAXTOK, sizeof *tok);
	char *store = tp_xmalloc((size_t)MAXTOK * 256);
	const struct tp_val *v;
	int n = 0, rc = -1;

	if (tp_val_type(m) != TP_V_MAP) {
		bad(w, "expected a map, found %s", tp_vtype_name(tp_val_type(m)));
		goto out;
	}
	for (int k = 0; k < MAXTOK; k++)
		tok[k] = store + (size_t)k * 256;
	for (int k = 0; k < 3; k++) {
		v = tp_val_get(m, keys[k]);
		if (k == 2 && (!v || tp_val_streq(tp_val_get(m, "role"), "fixed")))
			break;
		if (!v || tp_val_type(v) != TP_V_STR || val_token(v, tok[n], 256)) {
			bad(w, "\"%s\": missing or not a string", keys[k]);
			goto out;
		}
		n++;
	}
	if (tp_val_streq(tp_val_get(m, "role"), "fixed")) {
		if ((v = tp_val_get(m, "type")))
			if (val_token(v, tok[n++], 256)) {
				bad(w, "\"type\": not a string");
				goto out;
			}
		v = tp_val_get(m, "value");
		if (!v || val_token(v, tok[n++], 256)) {
			bad(w, "\"value\": missing or not a scalar");
			goto out;
		}
	} else if ((v = tp_val_get(m, "values"))) {
		if (tp_val_type(v) != TP_V_ARRAY || tp_val_len(v) > MAXTOK - 8) {
			bad(w, "\"values\": expected an array");
			goto out;
		}
		for (size_t k = 0; k < tp_val_len(v); k++)
			if (val_token(tp_val_at(v, k), tok[n++], 256)) {
				bad(w, "\"values\"[%zu]: not a scalar", k);
				goto out;
			}
	} else {
		for (int k = 0; k < 3; k++) {
			static const char *const b[] = {"min", "max", "scale"};

			v = tp_val_get(m, b[k]);
			if (!v && k == 2)
				break;
			if (!v || val_token(v, tok[n++], 256)) {
				bad(w, "\"%s\": missing or not a scalar", b[k]);
				goto out;
			}
		}
	}
	if ((v = tp_val_get(m, "if"))) {
		/* {"optimizer": "adam"} or {"optimizer": ["adam", "adamw"]} */
		char cond[4096];
		size_t len;

		if (tp_val_type(v) != TP_V_MAP || tp_val_len(v) != 1 ||
		    val_token(tp_map_key(v, 0), cond, 256)) {
			bad(w, "\"if\": expected a map {NAME: VALUE or [VALUES]}");
			goto out;
		}
		strcat(cond, "=");
		v = tp_map_val(v, 0);
		for (size_t k = 0, cnt = tp_val_type(v) == TP_V_ARRAY ? tp_val_len(v) : 1;
		     k < cnt; k++) {
			char one[256];

			if (val_token(tp_val_type(v) == TP_V_ARRAY ? tp_val_at(v, k) : v,
			              one, sizeof one) ||
			    (len = strlen(cond)) + strlen(one) + 2 > sizeof cond) {
				bad(w, "\"if\": bad value");
				goto out;
			}
			if (k)
				strcat(cond, ",");
			strcat(cond, one);
		}
		snprintf(tok[n++], 256, "if");
		if (strlen(cond) >= 256) {
			bad(w, "\"if\": condition too long");
			goto out;
		}
		snprintf(tok[n++], 256, "%s", cond);
	}
	rc = declare(sp, w, tok, n);
out:
	free(store);
	free(tok);
	return rc;
}

int
tp_space_parse_val(struct tp_space *sp, const struct tp_val *rec)
{
	struct where w = {sp->file, 0, -1};
	const struct tp_val *v;
	char buf[256];
	char *tok[4] = {"study", buf, NULL, NULL};

	if (!tp_val_streq(tp_val_get(rec, "type"), "space")) {
		bad(&w, "not a space record (expected \"type\": \"space\")");
		return -1;
	}
	if ((v = tp_val_get(rec, "study"))) {
		if (tp_val_type(v) != TP_V_STR || val_token(v, buf, sizeof buf)) {
			bad(&w, "\"study\": expected a string");
			return -1;
		}
		if (keyword(sp, &w, tok, 2))
			return -1;
	}
	if ((v = tp_val_get(rec, "goal"))) {
		if (tp_val_type(v) != TP_V_STR) {
			bad(&w, "\"goal\": expected a string");
			return -1;
		}
		sp->goal = tp_val_strdup(v);
		if (sp->goal) {
			char *g = own(sp, sp->goal, strlen(sp->goal));

			free(sp->goal);
			sp->goal = g;
		}
	}
	if ((v = tp_val_get(rec, "preset"))) {
		char *pt[2] = {"preset", buf};

		if (tp_val_type(v) != TP_V_STR || val_token(v, buf, sizeof buf) ||
		    keyword(sp, &w, pt, 2)) {
			if (tp_val_type(v) != TP_V_STR)
				bad(&w, "\"preset\": expected a string");
			return -1;
		}
	}
	v = tp_val_get(rec, "params");
	if (v && tp_val_type(v) != TP_V_ARRAY) {
		bad(&w, "\"params\": expected an array of maps");
		return -1;
	}
	for (size_t i = 0; v && i < tp_val_len(v); i++) {
		w.index = (long)i;
		if (map_param(sp, &w, tp_val_at(v, i)))
			return -1;
	}
	return 0;
}

static int
slurp(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	size_t cap = 4096, n = 0;
	char *buf;

	if (!f) {
		tp_syserrorf("%s", name);
		return -1;
	}
	buf = tp_xmalloc(cap);
	for (;;) {
		size_t got;

		if (n == cap) {
			if (cap >= (64u << 20)) {
				tp_errorf("%s: larger than 64 MiB: not a search space", name);
				goto fail;
			}
			cap *= 2;
			buf = tp_xrealloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		tp_syserrorf("%s: read", name);
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	*out = buf;
	*len = n;
	return 0;
fail:
	if (f != stdin)
		fclose(f);
	free(buf);
	return -1;
}

int
tp_space_read(struct tp_space *sp, const char *path)
{
	char *buf;
	size_t len;
	int rc;
	unsigned char c;

	if (slurp(path ? path : "-", &buf, &len))
		return -2;
	c = len ? (unsigned char)buf[0] : 0;
	if ((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf) {
		struct tp_rd *rd = tp_rd_mem(buf, len, sp->file);
		const struct tp_val *rec;

		rc = -1;
		if (rd) {
			int got = tp_rd_next(rd, &rec);

			if (got == 1)
				rc = tp_space_parse_val(sp, rec);
			else if (got == 0)
				tp_errorf("%s: empty", sp->file);
			if (rc == 0 && (got = tp_rd_next(rd, &rec)) != 0) {
				if (got == 1)
					tp_errorf("%s: more than one record", sp->file);
				rc = -1;
			}
			tp_rd_close(rd);
		}
	} else {
		rc = tp_space_parse(sp, buf, len);
	}
	free(buf);
	return rc;
}

void
tp_space_want_adam(struct tp_space *sp)
{
	sp->preset_adam = 1;
}

static void
preset_param(struct tp_space *sp, const char *name, double lo, double hi,
             enum tp_pscale scale)
{
	struct tp_param *p;

	if (tp_space_find(sp, name) >= 0)
		return; /* the user's own range wins */
	p = new_param(sp);
	p->name = own(sp, name, strlen(name));
	p->role = TP_ROLE_NUISANCE;
	p->type = TP_P_FLOAT;
	p->scale = scale;
	p->lo = lo;
	p->hi = hi;
	p->parent = sp->preset_parent;
	p->line = -1;
	if (sp->preset_ncond) {
		p->ncond = sp->preset_ncond;
		p->cond = tp_xmallocarray(p->ncond, sizeof *p->cond);
		memcpy(p->cond, sp->preset_cond, p->ncond * sizeof *p->cond);
	}
	p->dim = sp->ndim++;
	sp->n++;
}

int
tp_space_finish(struct tp_space *sp, uint64_t trials)
{
	if (sp->preset_adam) {
		/* The playbook's budget rules: the fewer the trials, the fewer
		 * of Adam's hyperparameters are worth tuning. */
		if (sp->preset_parent < 0 && tp_space_find(sp, "optimizer") < 0) {
			struct tp_param *p = new_param(sp);

			p->name = own(sp, "optimizer", 9);
			p->line = -1;
			p->role = TP_ROLE_FIXED;
			p->type = TP_P_FIXED;
			p->nvalues = 1;
			p->values = tp_xcalloc(1, sizeof *p->values);
			p->values[0].kind = TP_VAL_STR;
			p->values[0].s = own(sp, "adam", 4);
			sp->n++;
		}
		preset_param(sp, "lr", 1e-5, 1e-1, TP_SCALE_LOG);
		if (trials >= ADAM_BETA1_AT)
			preset_param(sp, "beta1", 0.8, 0.99, TP_SCALE_REVLOG);
		if (trials >= ADAM_EPS_AT)
			preset_param(sp, "epsilon", 1e-10, 1e-2, TP_SCALE_LOG);
		if (trials >= ADAM_BETA2_AT)
			preset_param(sp, "beta2", 0.9, 0.9999, TP_SCALE_REVLOG);
		sp->preset_adam = 0;
	}
	if (!sp->study)
		sp->study = own(sp, "study", 5);
	if (sp->n == 0) {
		tp_errorf("%s: no parameters", sp->file);
		return -1;
	}
	return 0;
}

static void
print_cond(const struct tp_space *sp, int parent, const struct tp_value *c,
           size_t n, FILE *f)
{
	char buf[64];

	if (parent < 0)
		return;
	fprintf(f, " if %s=", sp->p[parent].name);
	for (size_t k = 0; k < n; k++)
		fprintf(f, "%s%s", k ? "," : "", tp_value_text(&c[k], buf, sizeof buf));
}

/* A token, quoted when the parser would split it. */
static void
print_tok(const char *s, FILE *f)
{
	if (*s && !strpbrk(s, " \t\r\"#\\")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void
tp_space_print(const struct tp_space *sp, FILE *f)
{
	static const char *const roles[] = {"scientific", "nuisance", "fixed"};
	static const char *const scales[] = {"linear", "log", "reverse-log"};
	char buf[64];

	fprintf(f, "study %s\n", sp->study ? sp->study : "study");
	if (sp->goal) {
		fputs("goal ", f);
		print_tok(sp->goal, f);
		fputc('\n', f);
	}
	for (size_t i = 0; i < sp->n; i++) {
		const struct tp_param *p = &sp->p[i];

		fprintf(f, "%-10s %s", roles[p->role], p->name);
		switch (p->type) {
		case TP_P_FLOAT:
		case TP_P_INT: {
			struct tp_value lo = {.kind = TP_VAL_FLOAT, .f = p->lo};
			struct tp_value hi = {.kind = TP_VAL_FLOAT, .f = p->hi};
			char b2[64];

			if (p->type == TP_P_INT) {
				lo.kind = hi.kind = TP_VAL_INT;
				lo.i = (int64_t)p->lo;
				hi.i = (int64_t)p->hi;
			}
			fprintf(f, " %s %s %s %s", type_name(p->type),
			        tp_value_text(&lo, buf, sizeof buf),
			        tp_value_text(&hi, b2, sizeof b2), scales[p->scale]);
			break;
		}
		case TP_P_DISCRETE:
		case TP_P_CHOICE:
			fprintf(f, " %s", type_name(p->type));
			for (size_t k = 0; k < p->nvalues; k++) {
				fputc(' ', f);
				print_tok(tp_value_text(&p->values[k], buf, sizeof buf), f);
			}
			break;
		case TP_P_FIXED: {
			static const char *const vt[] = {"int", "float", "string", "bool"};

			fprintf(f, " %s ", vt[p->values[0].kind]);
			print_tok(tp_value_text(&p->values[0], buf, sizeof buf), f);
			break;
		}
		}
		print_cond(sp, p->parent, p->cond, p->ncond, f);
		if (p->line < 0)
			fputs("   # preset adam", f);
		fputc('\n', f);
	}
}
