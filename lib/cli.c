/*
 * cli.c: the parts of every main() that must behave the same in every tool:
 * strict numbers (the whole string, in range), --version, and a checked
 * close of stdout so that `tp-cat ... > /full/disk` fails loudly.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tp/cli.h"

int
tp_parse_i64(const char *s, int64_t lo, int64_t hi, const char *what,
             int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi) {
		tp_errorf("%s: '%s' is not an integer in [%" PRId64 ", %" PRId64 "]",
		          what, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int
tp_parse_threads(const char *s, int *out)
{
	int64_t v;

	if (tp_parse_i64(s, 1, 1024, "--threads", &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

int
tp_parse_f64(const char *s, double lo, double hi, const char *what,
             double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v < lo || v > hi) {
		tp_errorf("%s: '%s' is not a number in [%g, %g]", what, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

void
tp_bad_option(const char *arg, int c)
{
	/* getopt's own message plus a usage line would be two lines. */
	if (c == ':')
		tp_errorf("option '%s' needs a value (see %s --help)", arg,
		          program_invocation_short_name);
	else if (optopt) /* a short option, maybe inside a cluster like -qx */
		tp_errorf("unknown option '-%c' (see %s --help)", optopt,
		          program_invocation_short_name);
	else
		tp_errorf("unknown option '%s' (see %s --help)", arg,
		          program_invocation_short_name);
}

void
tp_print_version(void)
{
	printf("%s (tp) %s\n", program_invocation_short_name, TP_VERSION);
}

int
tp_close_stdout(int status)
{
	int bad = ferror(stdout);

	if (fclose(stdout) != 0 || bad) {
		/* EPIPE means the reader left (| head): not our failure. */
		if (errno == EPIPE)
			return status;
		tp_syserrorf("error writing standard output");
		return status ? status : TP_EXIT_RUNTIME;
	}
	return status;
}

int
tp_stderr_is_tty(void)
{
	return isatty(STDERR_FILENO);
}
