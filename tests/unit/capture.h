/*
 * capture.h: catch what a function prints on stderr, for tests of error
 * messages: cap_begin(), call, cap_end() returns the text; one_line()
 * checks the suite's one-line promise.
 */
#ifndef TP_TEST_CAPTURE_H
#define TP_TEST_CAPTURE_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int saved_fd = -1;

static void
cap_begin(void)
{
	int fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	fflush(stderr);
	saved_fd = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *
cap_end(void)
{
	static char buf[4096];
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	f = fopen("stderr.txt", "r");
	n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static int
one_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	return nl && nl[1] == '\0';
}

/* After cap_begin: whether what was printed is one line containing want;
 * the line (without its newline) is copied to got[size]. */
static inline int
cap_end_has(const char *want, char *got, size_t size)
{
	const char *s = cap_end();
	int ok = one_line(s) && strstr(s, want) != NULL;
	size_t n = strlen(s);

	if (n && s[n - 1] == '\n')
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(got, s, n);
	got[n] = '\0';
	return ok;
}

#endif
