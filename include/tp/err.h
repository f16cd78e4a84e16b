/*
 * err.h: the suite's exit codes and its one-line diagnostics.
 *
 * Every tool returns one of these codes; tp(7) documents the table.  Library
 * functions never exit (except on out-of-memory): they print one line with
 * tp_errorf() and return a status, so the caller only maps status to exit.
 * Messages start with the program name (glibc's program_invocation_short_name,
 * set by the C runtime, so the library keeps no mutable global).
 */
#ifndef TP_ERR_H
#define TP_ERR_H

#include <stddef.h>

enum tp_exit {
	TP_EXIT_OK = 0,
	TP_EXIT_NO = 1,          /* a documented "no" from a yes/no tool */
	TP_EXIT_USAGE = 2,       /* bad flags, operands or configuration */
	TP_EXIT_RUNTIME = 3,     /* I/O error, bad or corrupt data */
	TP_EXIT_DIVERGED = 4,    /* tp-train: loss or a parameter became NaN/Inf */
	TP_EXIT_NOTHING = 5,     /* nothing to do (tp-eval: no new checkpoint) */
	TP_EXIT_CKPT = 6,        /* tp-train: a checkpoint could not be written safely */
	TP_EXIT_FOUND = 7,       /* tp-track check: findings were reported */
	TP_EXIT_INTERRUPTED = 8, /* stopped by SIGINT/SIGTERM after saving state */
};

#define TP_WUR __attribute__((warn_unused_result))
#define TP_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* "prog: <message>\n" on stderr. */
void tp_errorf(const char *fmt, ...) TP_PRINTF(1, 2);
/* "prog: <message>: strerror(errno)\n" on stderr; errno is read on entry. */
void tp_syserrorf(const char *fmt, ...) TP_PRINTF(1, 2);
/* "prog: warning: <message>\n" on stderr. */
void tp_warnf(const char *fmt, ...) TP_PRINTF(1, 2);

/* Allocation that never returns NULL: prints and exits 3 on out-of-memory. */
void *tp_xmalloc(size_t n);
void *tp_xcalloc(size_t n, size_t size);
void *tp_xrealloc(void *p, size_t n);
/* Overflow-checked n * size (exits on overflow, as on OOM). */
void *tp_xmallocarray(size_t n, size_t size);
/* Zeroed n * size bytes on a 64-byte (cache line) boundary, for arrays
 * that SIMD kernels stream through; free with tp_free_lines (accepts
 * NULL), never free(). */
void *tp_xcalloc_lines(size_t n, size_t size);
void tp_free_lines(void *p);
char *tp_xstrdup(const char *s);
char *tp_xstrndup(const char *s, size_t n);
_Noreturn void tp_oom(void);

#endif
