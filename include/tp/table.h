/*
 * table.h: tables for people and for programs.  One table, five renderings:
 * aligned text for a terminal, TSV, CSV (RFC 4180), Markdown and JSON Lines
 * (one object per row, keyed by the header; numeric cells as numbers).
 */
#ifndef TP_TABLE_H
#define TP_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "tp/err.h"

enum tp_tfmt { TP_T_TEXT, TP_T_TSV, TP_T_CSV, TP_T_MD, TP_T_JSONL };

struct tp_table {
	size_t ncols, nrows, cap;
	char **head;   /* ncols column names (owned) */
	char **cell;   /* nrows * ncols, NULL = empty (owned) */
	unsigned char *num; /* per cell: 1 when it holds a number (JSON) */
	unsigned char *right; /* per column: right-align in text */
};

/* A table with ncols columns named by head[] (copied). */
void tp_table_init(struct tp_table *t, size_t ncols, const char *const *head);
void tp_table_release(struct tp_table *t);
/* Append an empty row; returns its index. */
size_t tp_table_row(struct tp_table *t);
/* Set a cell of the last row (copied); NULL leaves it empty. */
void tp_table_set(struct tp_table *t, size_t col, const char *s);
/* printf-style text cell. */
void tp_table_setf(struct tp_table *t, size_t col, const char *fmt, ...)
	TP_PRINTF(3, 4);
/* A number, printed with %.6g (exact integers without a point); marks the
 * cell numeric and the column right-aligned.  Non-finite values print as
 * "nan"/"inf" and are strings in JSON. */
void tp_table_num(struct tp_table *t, size_t col, double v);

/* Render; 0, or -1 on a write error (not printed: the caller checks
 * stdout at exit). */
int tp_table_print(const struct tp_table *t, FILE *f, enum tp_tfmt fmt) TP_WUR;

/* Parse a format name ("text", "tsv", "csv", "markdown", "jsonl"); -1 when
 * unknown. */
int tp_table_format(const char *name);

/* Write s as a JSON string (quotes and escapes included). */
void tp_table_json(FILE *f, const char *s);

#endif
