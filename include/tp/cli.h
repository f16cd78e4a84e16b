/*
 * cli.h: what every tool's main() shares: strict number parsing, --version,
 * and the final check of stdout (a full disk must not pass as success).
 */
#ifndef TP_CLI_H
#define TP_CLI_H

#include <stdint.h>

#include "tp/err.h"

/*
 * Parse the whole string as a number in [lo, hi].  On error print
 * "prog: --OPT: 'S' is not an integer in [lo, hi]" (what names the option
 * or field) and return -1.
 */
int tp_parse_i64(const char *s, int64_t lo, int64_t hi, const char *what,
                 int64_t *out) TP_WUR;
/* --threads N: an integer in [1, 1024].  0 or -1 (printed). */
int tp_parse_threads(const char *s, int *out) TP_WUR;
/* Finite doubles only; "nan" and "inf" are refused. */
int tp_parse_f64(const char *s, double lo, double hi, const char *what,
                 double *out) TP_WUR;

/* One line for a getopt_long failure (run with opterr = 0 and optstring
 * starting with ':'): c is ':' for a missing value, else an unknown
 * option; arg is argv[optind - 1]. */
void tp_bad_option(const char *arg, int c);

/* Prints "prog (tp) VERSION" to stdout. */
void tp_print_version(void);

/* Flush and close stdout; on error print why and return TP_EXIT_RUNTIME. */
int tp_close_stdout(int status) TP_WUR;

/* True when stderr is a terminal: progress lines are shown only then. */
int tp_stderr_is_tty(void);

#endif
