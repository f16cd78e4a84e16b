/*
 * table.c: one table, five renderings (table.h).  Text columns are aligned
 * by display width in UTF-8 code points, so sparkline cells line up; every
 * machine format escapes what its readers would otherwise split on.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/table.h"

void
tp_table_init(struct tp_table *t, size_t ncols, const char *const *head)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	t->head = tp_xmallocarray(ncols, sizeof *t->head);
	t->right = tp_xcalloc(ncols, 1);
	for (size_t i = 0; i < ncols; i++)
		t->head[i] = tp_xstrdup(head[i]);
}

void
tp_table_release(struct tp_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncols; i++)
		free(t->head[i]);
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cell[i]);
	free(t->head);
	free(t->cell);
	free(t->num);
	free(t->right);
	memset(t, 0, sizeof *t);
}

size_t
tp_table_row(struct tp_table *t)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->cell = tp_xrealloc(t->cell, t->cap * t->ncols * sizeof *t->cell);
		t->num = tp_xrealloc(t->num, t->cap * t->ncols);
	}
	memset(&t->cell[t->nrows * t->ncols], 0, t->ncols * sizeof *t->cell);
	memset(&t->num[t->nrows * t->ncols], 0, t->ncols);
	return t->nrows++;
}

void
tp_table_set(struct tp_table *t, size_t col, const char *s)
{
	size_t i = (t->nrows - 1) * t->ncols + col;

	free(t->cell[i]);
	t->cell[i] = s ? tp_xstrdup(s) : NULL;
	t->num[i] = 0;
}

void
tp_table_setf(struct tp_table *t, size_t col, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	tp_table_set(t, col, buf);
}

void
tp_table_num(struct tp_table *t, size_t col, double v)
{
	char buf[64];

	if (isnan(v))
		snprintf(buf, sizeof buf, "nan");
	else if (isinf(v))
		snprintf(buf, sizeof buf, v > 0 ? "inf" : "-inf");
	else if (v == floor(v) && fabs(v) <= 9007199254740992.0) /* 2^53 */
		snprintf(buf, sizeof buf, "%.0f", v);
	else
		snprintf(buf, sizeof buf, "%.6g", v);
	tp_table_set(t, col, buf);
	t->num[(t->nrows - 1) * t->ncols + col] = isfinite(v) ? 1 : 0;
	t->right[col] = 1;
}

static size_t
width(const char *s)
{
	size_t w = 0;

	for (; s && *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void
put_sep(FILE *f, const char *s, const char *bad, char repl)
{
	for (; s && *s; s++)
		putc(strchr(bad, *s) ? repl : *s, f);
}

static void
put_csv(FILE *f, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n") && s[0] != ' ') {
		fputs(s, f);
		return;
	}
	putc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
}

static void
put_md(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|' || *s == '\\')
			putc('\\', f);
		putc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
	}
}

void
tp_table_json(FILE *f, const char *s)
{
	putc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

static void
print_text(const struct tp_table *t, FILE *f)
{
	size_t *w = tp_xcalloc(t->ncols, sizeof *w);

	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = width(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t x = width(t->cell[r * t->ncols + c]);
			if (x > w[c])
				w[c] = x;
		}
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r == 0 ? t->head[c] : t->cell[(r - 1) * t->ncols + c];
			size_t pad = w[c] - width(s);
			int last = c + 1 == t->ncols;
			if (!s || !*s)
				s = r == 0 ? "" : "-", pad = w[c] - width(s);
			if (t->right[c])
				fprintf(f, "%*s", (int)pad, "");
			put_sep(f, s, "\t\n\r", ' ');
			if (!t->right[c] && !last)
				fprintf(f, "%*s", (int)pad, "");
			if (!last)
				fputs("  ", f);
		}
		putc('\n', f);
	}
	free(w);
}

int
tp_table_print(const struct tp_table *t, FILE *f, enum tp_tfmt fmt)
{
	size_t nc = t->ncols;

	if (fmt == TP_T_TEXT) {
		print_text(t, f);
		return ferror(f) ? -1 : 0;
	}
	if (fmt != TP_T_JSONL) {
		for (size_t c = 0; c < nc; c++) {
			if (fmt == TP_T_MD)
				fputs(c ? " | " : "| ", f), put_md(f, t->head[c]);
			else if (fmt == TP_T_CSV)
				fputs(c ? "," : "", f), put_csv(f, t->head[c]);
			else
				fputs(c ? "\t" : "", f), put_sep(f, t->head[c], "\t\n\r", ' ');
		}
		fputs(fmt == TP_T_MD ? " |\n" : fmt == TP_T_CSV ? "\r\n" : "\n", f);
		if (fmt == TP_T_MD) {
			for (size_t c = 0; c < nc; c++)
				fputs(t->right[c] ? "|---:" : "|---", f);
			fputs("|\n", f);
		}
	}
	for (size_t r = 0; r < t->nrows; r++) {
		int first = 1;
		if (fmt == TP_T_JSONL)
			putc('{', f);
		for (size_t c = 0; c < nc; c++) {
			const char *s = t->cell[r * nc + c];
			if (fmt == TP_T_JSONL) {
				if (!s)
					continue;
				fputs(first ? "" : ",", f);
				first = 0;
				tp_table_json(f, t->head[c]);
				putc(':', f);
				if (t->num[r * nc + c])
					fputs(s, f);
				else
					tp_table_json(f, s);
			} else if (fmt == TP_T_MD) {
				fputs(c ? " | " : "| ", f), put_md(f, s);
			} else if (fmt == TP_T_CSV) {
				fputs(c ? "," : "", f), put_csv(f, s);
			} else {
				fputs(c ? "\t" : "", f), put_sep(f, s, "\t\n\r", ' ');
			}
		}
		fputs(fmt == TP_T_JSONL ? "}\n" : fmt == TP_T_MD ? " |\n"
		      : fmt == TP_T_CSV ? "\r\n" : "\n", f);
	}
	return ferror(f) ? -1 : 0;
}

int
tp_table_format(const char *name)
{
	static const char *const names[] = {"text", "tsv", "csv", "markdown",
	                                    "jsonl"};
	for (int i = 0; i < 5; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}
