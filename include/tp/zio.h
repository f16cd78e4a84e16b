/*
 * zio.h: byte streams that are zstd-compressed, gzip-compressed or plain, the
 * only module that touches libzstd and zlib.  Readers detect zstd (28 b5 2f
 * fd) and gzip (1f 8b) by their magic and read every concatenated frame or
 * member; writers compress with zstd when asked or when the name ends in
 * ".zst".  Memory is constant whatever the stream's length.
 *
 * A path of "-" (or NULL) means stdin / stdout.  Errors are printed as
 * "prog: NAME: what" before a function returns failure.
 */
#ifndef TP_ZIO_H
#define TP_ZIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tp/err.h"

struct tp_zin;
struct tp_zout;

/* Open for reading; NULL on failure (printed). */
struct tp_zin *tp_zin_open(const char *path) TP_WUR;
/* Read from an open descriptor (not closed by tp_zin_close); name for messages. */
struct tp_zin *tp_zin_fdopen(int fd, const char *name) TP_WUR;
/* Read from memory (borrowed until tp_zin_close), sniffed like a file. */
struct tp_zin *tp_zin_mem(const void *buf, size_t len, const char *name) TP_WUR;
/* Up to n decompressed bytes (fewer when that is what one read(2) gave, so
 * a follower of a live stream sees each record as it arrives); 0 at end of stream, -1 on error (printed:
 * read errors, zstd errors, a truncated frame). */
ssize_t tp_zin_read(struct tp_zin *z, void *buf, size_t n) TP_WUR;
/* Name used in messages ("-" reads as "<stdin>"). */
const char *tp_zin_name(const struct tp_zin *z);
/* Whether the stream is zstd (known after the first read). */
int tp_zin_is_zstd(const struct tp_zin *z);
int tp_zin_is_gzip(const struct tp_zin *z);
/* Decompressed bytes returned so far. */
uint64_t tp_zin_offset(const struct tp_zin *z);
/* Close (accepts NULL). */
void tp_zin_close(struct tp_zin *z);

enum {
	TP_ZOUT_AUTO = 0,        /* compress iff the name ends in ".zst" */
	TP_ZOUT_COMPRESS = 1,    /* always compress */
	TP_ZOUT_PLAIN = 2,       /* never compress */
	TP_ZOUT_ATOMIC = 1 << 4, /* write a temp file, rename on close (not for "-") */
	TP_ZOUT_APPEND = 1 << 5, /* append to an existing file (not with ATOMIC) */
};

/* Open for writing; flags as above, level 0 means zstd's default (3),
 * negative levels are zstd's fast levels.  "-" writes to fd 1 directly: do
 * not mix with stdio output to stdout.  NULL on failure (printed). */
struct tp_zout *tp_zout_open(const char *path, int flags, int level) TP_WUR;
int tp_zout_write(struct tp_zout *z, const void *buf, size_t n) TP_WUR;
/* Push everything written so far to the file, decodable by a reader that
 * follows it (zstd flushes its block); for live streams, costs ratio. */
int tp_zout_flush(struct tp_zout *z) TP_WUR;
/* Finish the frame, flush, fsync when atomic, close, rename when atomic.
 * Frees z whatever happens; 0 or -1 (printed). */
int tp_zout_close(struct tp_zout *z) TP_WUR;
/* Discard (an atomic file leaves no trace); accepts NULL. */
void tp_zout_abort(struct tp_zout *z);
const char *tp_zout_name(const struct tp_zout *z);

#endif
