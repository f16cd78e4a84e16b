/*
 * check.h: the unit tests' whole framework.  CHECK prints "ok - what" or
 * "not ok - what (file:line)"; check_done() returns the exit status.
 * tests/run counts the lines.
 */
#ifndef TP_TEST_CHECK_H
#define TP_TEST_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int check_failures;

__attribute__((format(printf, 4, 5))) static int
check_at(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", cond ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!cond) {
		printf(" (%s:%d)", file, line);
		check_failures++;
	}
	putchar('\n');
	fflush(stdout);
	return cond;
}

#define CHECK(cond, ...) check_at(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* |got - want| <= atol + rtol * |want| */
#define CHECK_CLOSE(got, want, rtol, atol, ...)                                \
	check_at(fabs((double)(got) - (double)(want)) <=                       \
	             (atol) + (rtol) * fabs((double)(want)),                   \
	         __FILE__, __LINE__, __VA_ARGS__)

static inline int
check_done(void)
{
	return check_failures ? 1 : 0;
}

#endif
