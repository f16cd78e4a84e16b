/*
 * atomic.h: crash-safe replacement of a file.  The data goes to a temporary
 * file in the target's directory; commit fsyncs it, renames it over the
 * target and fsyncs the directory, so a reader sees the old file or the new
 * one, never a torn one, even after kill -9 or a power cut.
 */
#ifndef TP_ATOMIC_H
#define TP_ATOMIC_H

#include <sys/types.h>

#include "tp/err.h"

struct tp_atomic {
	char *path; /* final name (owned) */
	char *tmp;  /* temporary name, "<dir>/.<base>.tmp.<pid>.<n>" (owned) */
	int fd;     /* open on tmp, or -1 */
};

/* 1 when path exists and is not a regular file (/dev/null, a FIFO, a
 * terminal): such a target is written in place, never replaced. */
int tp_is_special(const char *path);
/* Create the temporary file; 0 or -1 (printed).  A special target (see
 * tp_is_special) is refused: renaming over /dev/null would replace the
 * device with a file. */
int tp_atomic_open(struct tp_atomic *a, const char *path) TP_WUR;
/* fsync, rename, fsync dir, release; 0 or -1 (printed, temp removed). */
int tp_atomic_commit(struct tp_atomic *a) TP_WUR;
/* Remove the temporary file and release; safe after a failed open. */
void tp_atomic_abort(struct tp_atomic *a);
/* fsync the directory that holds path; 0 or -1 (printed). */
int tp_fsync_dir_of(const char *path) TP_WUR;
/* mkdir -p: create path and its missing parents (mode 0777 & ~umask).
 * 0 or -1 (printed). */
int tp_mkdir_p(const char *path) TP_WUR;
/* Write all of buf to fd, retrying on EINTR; 0 or -1 with errno set. */
int tp_write_all(int fd, const void *buf, size_t n) TP_WUR;
/* The same at file offset off (pwrite(2)), leaving the file offset alone. */
int tp_pwrite_all(int fd, const void *buf, size_t n, off_t off) TP_WUR;

#endif
