/*
 * err.c: one-line diagnostics and allocation that cannot fail silently.
 * The program name comes from glibc (program_invocation_short_name), so no
 * tool has to register it and the library holds no global state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/err.h"

static void
vmsg(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	int n;

	/* One buffer, one write: lines from concurrent processes never mix. */
	n = snprintf(line, sizeof line, "%s: %s", program_invocation_short_name,
	             prefix);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	if (suffix) {
		size_t l = strlen(line);
		snprintf(line + l, sizeof line - l, ": %s", suffix);
	}
	/* Keep the one-line promise even if a file name holds a newline. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s\n", line);
}

void
tp_errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap, NULL);
	va_end(ap);
}

void
tp_syserrorf(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap, strerror(e));
	va_end(ap);
	errno = e;
}

void
tp_warnf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap, NULL);
	va_end(ap);
}

_Noreturn void
tp_oom(void)
{
	fprintf(stderr, "%s: out of memory\n", program_invocation_short_name);
	exit(TP_EXIT_RUNTIME);
}

void *
tp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		tp_oom();
	return p;
}

void *
tp_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		tp_oom();
	return p;
}

void *
tp_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		tp_oom();
	return p;
}

void *
tp_xmallocarray(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		tp_oom();
	return tp_xmalloc(n * size);
}

void *
tp_xcalloc_lines(size_t n, size_t size)
{
	char *raw, *p;

	if (size && n > (SIZE_MAX - 64) / size)
		tp_oom();
	/* calloc, not aligned_alloc + memset: a large block comes zeroed
	 * from mmap, and pages never touched (a buffer an evaluation does not
	 * use) never cost a fault.  The block's own address is kept just
	 * below the aligned one (calloc's 16-byte alignment leaves room). */
	raw = calloc(1, n * size + 64);
	if (!raw)
		tp_oom();
	p = raw + (64 - (uintptr_t)raw % 64);
	memcpy(p - sizeof raw, &raw, sizeof raw);
	return p;
}

void
tp_free_lines(void *p)
{
	void *raw;

	if (!p)
		return;
	memcpy(&raw, (char *)p - sizeof raw, sizeof raw);
	free(raw);
}

char *
tp_xstrdup(const char *s)
{
	return tp_xstrndup(s, strlen(s));
}

char *
tp_xstrndup(const char *s, size_t n)
{
	char *p = tp_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
