/*
 * atomic.c: replace a file so that readers and crashes see either the old
 * contents or the new, never a mix (temp file in the same directory, fsync,
 * rename, fsync of the directory: rename alone is not durable).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/atomic.h"

/* write(2) (off < 0) or pwrite(2) at off until all of buf is out. */
static int
write_loop(int fd, const char *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = off < 0 ? write(fd, p, n) : pwrite(fd, p, n, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		if (off >= 0)
			off += w;
	}
	return 0;
}

int
tp_write_all(int fd, const void *buf, size_t n)
{
	return write_loop(fd, buf, n, -1);
}

int
tp_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	return write_loop(fd, buf, n, off);
}

int
tp_mkdir_p(const char *path)
{
	char *p = tp_xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			tp_syserrorf("%s: cannot create directory", p);
			rc = -1;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

int
tp_fsync_dir_of(const char *path)
{
	char *copy = tp_xstrdup(path);
	const char *dir = dirname(copy);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0 || fsync(fd) != 0) {
		/* Some filesystems refuse fsync on directories; only fail on EIO. */
		if (fd < 0 || errno == EIO) {
			tp_syserrorf("%s: cannot sync directory", dir);
			rc = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int
tp_is_special(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

int
tp_atomic_open(struct tp_atomic *a, const char *path)
{
	char *copy = tp_xstrdup(path);
	char *copy2 = tp_xstrdup(path);
	const char *dir = dirname(copy), *base = basename(copy2);
	size_t n = strlen(dir) + strlen(base) + 64;

	if (tp_is_special(path)) {
		tp_errorf("%s: not a regular file; it cannot be replaced atomically", path);
		free(copy);
		free(copy2);
		a->path = a->tmp = NULL;
		a->fd = -1;
		return -1;
	}
	a->path = tp_xstrdup(path);
	a->tmp = tp_xmalloc(n);
	a->fd = -1;
	for (int i = 0; i < 100 && a->fd < 0; i++) {
		snprintf(a->tmp, n, "%s/.%s.tmp.%ld.%d", dir, base, (long)getpid(), i);
		a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (a->fd < 0 && errno != EEXIST)
			break;
	}
	free(copy);
	free(copy2);
	if (a->fd < 0) {
		tp_syserrorf("%s: cannot create temporary file", a->tmp);
		free(a->path);
		free(a->tmp);
		a->path = a->tmp = NULL;
		return -1;
	}
	return 0;
}

int
tp_atomic_commit(struct tp_atomic *a)
{
	int rc = 0;

	if (fsync(a->fd) != 0) {
		tp_syserrorf("%s: cannot sync", a->tmp);
		rc = -1;
	}
	if (close(a->fd) != 0 && rc == 0) {
		tp_syserrorf("%s: cannot close", a->tmp);
		rc = -1;
	}
	a->fd = -1;
	if (rc == 0 && rename(a->tmp, a->path) != 0) {
		tp_syserrorf("%s: cannot rename to %s", a->tmp, a->path);
		rc = -1;
	}
	if (rc == 0)
		rc = tp_fsync_dir_of(a->path);
	else
		unlink(a->tmp);
	free(a->path);
	free(a->tmp);
	a->path = a->tmp = NULL;
	return rc;
}

void
tp_atomic_abort(struct tp_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	if (a->tmp)
		unlink(a->tmp);
	free(a->path);
	free(a->tmp);
	a->path = a->tmp = NULL;
	a->fd = -1;
}
