/*
 * zio.c: byte streams that may be zstd- or gzip-compressed, the only module
 * that touches libzstd and zlib.  A reader sniffs the first bytes (zstd
 * frame magic 28 b5 2f fd, gzip magic 1f 8b) and otherwise passes bytes
 * through; every concatenated zstd frame and gzip member is read, and a
 * stream that stops inside a frame is an error, not a short dataset.  Memory
 * is constant: one input buffer and the decoder's window.
 *
 * Writers compress with ZSTD_compressStream2 (single-threaded, so the bytes
 * depend only on the input and the level) and can flush a block at any time
 * so that `tail -f | tp-cat` decodes what has been written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "tp/atomic.h"
#include "tp/zio.h"

enum kind { K_UNKNOWN, K_PLAIN, K_ZSTD, K_GZIP };

struct tp_zin {
	int fd, own_fd;
	char *name;
	enum kind kind;
	/* Input: a heap buffer filled from fd, or the caller's memory. */
	unsigned char *in;
	size_t in_len, in_pos, in_cap;
	const unsigned char *mem;
	int eof;
	uint64_t off;
	ZSTD_DStream *ds;
	size_t zpending; /* last ZSTD_decompressStream hint; 0 between frames */
	z_stream gz;
	int gz_live, gz_mid; /* inflate initialised / inside a member */
	int failed;
};

enum { IN_CAP = 1 << 17 };

/* zstd's own default limit (128 MiB windows, what `zstd --long` makes);
 * fuzz builds lower it so hostile frame headers stay cheap. */
#ifndef TP_ZSTD_WINDOWLOG_MAX
#define TP_ZSTD_WINDOWLOG_MAX 27
#endif

static struct tp_zin *
zin_new(int fd, int own, const char *name)
{
	struct tp_zin *z = tp_xcalloc(1, sizeof *z);

	z->fd = fd;
	z->own_fd = own;
	z->name = tp_xstrdup(name);
	return z;
}

struct tp_zin *
tp_zin_fdopen(int fd, const char *name)
{
	return zin_new(fd, 0, name ? name : "<fd>");
}

struct tp_zin *
tp_zin_open(const char *path)
{
	int fd;

	if (!path || strcmp(path, "-") == 0)
		return zin_new(STDIN_FILENO, 0, "<stdin>");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tp_syserrorf("%s", path);
		return NULL;
	}
	return zin_new(fd, 1, path);
}

struct tp_zin *
tp_zin_mem(const void *buf, size_t len, const char *name)
{
	struct tp_zin *z = zin_new(-1, 0, name ? name : "<memory>");

	z->mem = buf;
	z->in_len = len;
	z->eof = 1;
	return z;
}

/* One read(2) into the free tail of the input buffer; -1 on error. */
static int
fill(struct tp_zin *z)
{
	ssize_t r;

	if (z->eof)
		return 0;
	if (!z->in) {
		z->in_cap = IN_CAP;
		z->in = tp_xmalloc(z->in_cap);
	}
	if (z->in_pos == z->in_len)
		z->in_pos = z->in_len = 0;
	if (z->in_pos > 0 && z->in_len == z->in_cap) {
		memmove(z->in, z->in + z->in_pos, z->in_len - z->in_pos);
		z->in_len -= z->in_pos;
		z->in_pos = 0;
	}
	do
		r = read(z->fd, z->in + z->in_len, z->in_cap - z->in_len);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		tp_syserrorf("%s: read error", z->name);
		return -1;
	}
	if (r == 0)
		z->eof = 1;
	z->in_len += (size_t)r;
	return 0;
}

static const unsigned char *
inbuf(const struct tp_zin *z)
{
	return z->mem ? z->mem : z->in;
}

static int
sniff(struct tp_zin *z)
{
	const unsigned char *p;

	while (z->in_len - z->in_pos < 4 && !z->eof)
		if (fill(z) < 0)
			return -1;
	p = inbuf(z) + z->in_pos;
	if (z->in_len - z->in_pos >= 4 && p[0] == 0x28 && p[1] == 0xb5 &&
	    p[2] == 0x2f && p[3] == 0xfd) {
		z->kind = K_ZSTD;
		z->ds = ZSTD_createDStream();
		if (!z->ds)
			tp_oom();
		(void)ZSTD_DCtx_setParameter(z->ds, ZSTD_d_windowLogMax,
		                             TP_ZSTD_WINDOWLOG_MAX);
	} else if (z->in_len - z->in_pos >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
		z->kind = K_GZIP;
		/* 15 + 32: a 32 KiB window, gzip or zlib header detected. */
		if (inflateInit2(&z->gz, 15 + 32) != Z_OK)
			tp_oom();
		z->gz_live = 1;
	} else {
		z->kind = K_PLAIN;
	}
	return 0;
}

static ssize_t
read_plain(struct tp_zin *z, unsigned char *buf, size_t n)
{
	ssize_t r;

	if (z->in_pos < z->in_len) {
		size_t k = z->in_len - z->in_pos;
		if (k > n)
			k = n;
		memcpy(buf, inbuf(z) + z->in_pos, k);
		z->in_pos += k;
		return (ssize_t)k;
	}
	if (z->eof)
		return 0;
	/* Straight into the caller's buffer: no copy for large reads. */
	do
		r = read(z->fd, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		tp_syserrorf("%s: read error", z->name);
		return -1;
	}
	if (r == 0)
		z->eof = 1;
	return r;
}

static ssize_t
read_zstd(struct tp_zin *z, unsigned char *buf, size_t n)
{
	ZSTD_outBuffer out = {buf, n, 0};

	/* Fill the caller's buffer from what is already read (fewer slides
	 * of partial records upstairs), but never block on read(2) once
	 * there is something to return: a follower must see each record. */
	while (out.pos < out.size) {
		ZSTD_inBuffer in;
		size_t ret, before = out.pos;

		if (z->in_pos == z->in_len && !z->eof) {
			if (out.pos > 0)
				break;
			if (fill(z) < 0)
				return -1;
			continue;
		}
		/* 0 is returned at every frame end, not only the last: between
		 * frames with no input left is a clean end. */
		if (z->in_pos == z->in_len && z->zpending == 0)
			break;
		in.src = inbuf(z);
		in.size = z->in_len;
		in.pos = z->in_pos;
		ret = ZSTD_decompressStream(z->ds, &out, &in);
		z->in_pos = in.pos;
		if (ZSTD_isError(ret)) {
			tp_errorf("%s: zstd: %s", z->name, ZSTD_getErrorName(ret));
			return -1;
		}
		z->zpending = ret;
		/* No input left, none coming, and zstd has nothing to flush:
		 * the stream stopped inside a frame. */
		if (out.pos == before && ret != 0 && z->in_pos == z->in_len && z->eof) {
			if (out.pos > 0)
				break; /* report it on the next call */
			tp_errorf("%s: truncated zstd frame", z->name);
			return -1;
		}
	}
	return (ssize_t)out.pos;
}

static ssize_t
read_gzip(struct tp_zin *z, unsigned char *buf, size_t n)
{
	size_t done = 0;

	/* zlib counts in uInt: clamp so huge reads cannot wrap. */
	if (n > (1u << 30))
		n = 1u << 30;
	while (done == 0) {
		int ret;

		if (z->in_pos == z->in_len && !z->eof) {
			if (fill(z) < 0)
				return -1;
			continue;
		}
		if (z->in_pos == z->in_len && !z->gz_mid)
			return 0;
		z->gz.next_in = (unsigned char *)inbuf(z) + z->in_pos;
		z->gz.avail_in = (uInt)(z->in_len - z->in_pos > (1u << 30)
		                            ? 1u << 30 : z->in_len - z->in_pos);
		z->gz.next_out = buf;
		z->gz.avail_out = (uInt)n;
		z->gz_mid = 1;
		ret = inflate(&z->gz, Z_NO_FLUSH);
		z->in_pos = z->in_len - z->gz.avail_in;
		done = n - z->gz.avail_out;
		if (ret == Z_STREAM_END) {
			/* Concatenated members (cat a.gz b.gz) are one stream. */
			z->gz_mid = 0;
			inflateReset(&z->gz);
		} else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			tp_errorf("%s: gzip: %s", z->name,
			          z->gz.msg ? z->gz.msg : "corrupt data");
			return -1;
		} else if (done == 0 && z->in_pos == z->in_len && z->eof) {
			tp_errorf("%s: truncated gzip member", z->name);
			return -1;
		}
	}
	return (ssize_t)done;
}

ssize_t
tp_zin_read(struct tp_zin *z, void *buf, size_t n)
{
	ssize_t r;

	if (z->failed)
		return -1;
	if (n == 0)
		return 0;
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	if (z->kind == K_UNKNOWN && sniff(z) < 0) {
		z->failed = 1;
		return -1;
	}
	switch (z->kind) {
	case K_ZSTD:
		r = read_zstd(z, buf, n);
		break;
	case K_GZIP:
		r = read_gzip(z, buf, n);
		break;
	default:
		r = read_plain(z, buf, n);
		break;
	}
	if (r < 0)
		z->failed = 1;
	else
		z->off += (uint64_t)r;
	return r;
}

const char *
tp_zin_name(const struct tp_zin *z)
{
	return z->name;
}

int
tp_zin_is_zstd(const struct tp_zin *z)
{
	return z->kind == K_ZSTD;
}

int
tp_zin_is_gzip(const struct tp_zin *z)
{
	return z->kind == K_GZIP;
}

uint64_t
tp_zin_offset(const struct tp_zin *z)
{
	return z->off;
}

void
tp_zin_close(struct tp_zin *z)
{
	if (!z)
		return;
	if (z->own_fd)
		close(z->fd);
	ZSTD_freeDStream(z->ds);
	if (z->gz_live)
		inflateEnd(&z->gz);
	free(z->in);
	free(z->name);
	free(z);
}

/* ---- writer ---- */

struct tp_zout {
	int fd, own_fd, atomic;
	struct tp_atomic at;
	char *name;
	ZSTD_CCtx *cc;
	unsigned char *buf; /* plain: pending bytes; zstd: compressed output */
	size_t len, cap;
	int failed;
};

static int
ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

struct tp_zout *
tp_zout_open(const char *path, int flags, int level)
{
	struct tp_zout *z;
	int is_std = !path || strcmp(path, "-") == 0;
	int mode = flags & 3, compress;

	compress = mode == TP_ZOUT_COMPRESS ||
	           (mode == TP_ZOUT_AUTO && !is_std && ends_with(path, ".zst"));
	if (compress && (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())) {
		tp_errorf("%s: zstd level %d is not in [%d, %d]",
		          is_std ? "<stdout>" : path, level, ZSTD_minCLevel(),
		          ZSTD_maxCLevel());
		return NULL;
	}
	z = tp_xcalloc(1, sizeof *z);
	z->name = tp_xstrdup(is_std ? "<stdout>" : path);
	if (is_std) {
		z->fd = STDOUT_FILENO;
	} else if ((flags & TP_ZOUT_ATOMIC) && !tp_is_special(path)) {
		if (tp_atomic_open(&z->at, path) < 0) {
			free(z->name);
			free(z);
			return NULL;
		}
		z->fd = z->at.fd;
		z->atomic = 1;
	} else {
		z->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
		             (flags & TP_ZOUT_APPEND ? O_APPEND : O_TRUNC), 0644);
		if (z->fd < 0) {
			tp_syserrorf("%s", path);
			free(z->name);
			free(z);
			return NULL;
		}
		z->own_fd = 1;
	}
	if (compress) {
		size_t r;

		z->cc = ZSTD_createCCtx();
		if (!z->cc)
			tp_oom();
		r = ZSTD_CCtx_setParameter(z->cc, ZSTD_c_compressionLevel,
		                           level ? level : ZSTD_CLEVEL_DEFAULT);
		if (!ZSTD_isError(r))
			r = ZSTD_CCtx_setParameter(z->cc, ZSTD_c_checksumFlag, 1);
		if (ZSTD_isError(r)) {
			tp_errorf("%s: zstd: %s", z->name, ZSTD_getErrorName(r));
			tp_zout_abort(z);
			return NULL;
		}
		z->cap = ZSTD_CStreamOutSize();
	} else {
		z->cap = 1 << 17;
	}
	z->buf = tp_xmalloc(z->cap);
	return z;
}

static int
drain(struct tp_zout *z)
{
	if (z->len && tp_write_all(z->fd, z->buf, z->len) < 0) {
		tp_syserrorf("%s: write error", z->name);
		z->failed = 1;
		return -1;
	}
	z->len = 0;
	return 0;
}

/* Feed input to zstd with the given directive until it is consumed and, for
 * flush/end, until zstd reports nothing left inside. */
static int
zpush(struct tp_zout *z, const void *p, size_t n, ZSTD_EndDirective op)
{
	ZSTD_inBuffer in = {p, n, 0};

	for (;;) {
		ZSTD_outBuffer out = {z->buf, z->cap, z->len};
		size_t r = ZSTD_compressStream2(z->cc, &out, &in, op);

		z->len = out.pos;
		if (ZSTD_isError(r)) {
			tp_errorf("%s: zstd: %s", z->name, ZSTD_getErrorName(r));
			z->failed = 1;
			return -1;
		}
		if (z->len == z->cap || (op != ZSTD_e_continue && z->len))
			if (drain(z) < 0)
				return -1;
		if (op == ZSTD_e_continue ? in.pos == in.size : r == 0)
			return 0;
	}
}

int
tp_zout_write(struct tp_zout *z, const void *buf, size_t n)
{
	if (z->failed)
		return -1;
	if (z->cc)
		return zpush(z, buf, n, ZSTD_e_continue);
	if (z->len + n > z->cap) {
		if (drain(z) < 0)
			return -1;
		if (n >= z->cap) {
			if (tp_write_all(z->fd, buf, n) < 0) {
				tp_syserrorf("%s: write error", z->name);
				z->failed = 1;
				return -1;
			}
			return 0;
		}
	}
	memcpy(z->buf + z->len, buf, n);
	z->len += n;
	return 0;
}

int
tp_zout_flush(struct tp_zout *z)
{
	if (z->failed)
		return -1;
	if (z->cc && zpush(z, NULL, 0, ZSTD_e_flush) < 0)
		return -1;
	return drain(z);
}

int
tp_zout_close(struct tp_zout *z)
{
	int rc = 0;

	if (!z)
		return 0;
	if (z->failed)
		rc = -1;
	if (rc == 0 && z->cc && zpush(z, NULL, 0, ZSTD_e_end) < 0)
		rc = -1;
	if (rc == 0 && drain(z) < 0)
		rc = -1;
	if (z->atomic) {
		if (rc == 0)
			rc = tp_atomic_commit(&z->at);
		else
			tp_atomic_abort(&z->at);
	} else if (z->own_fd) {
		if (close(z->fd) != 0 && rc == 0) {
			tp_syserrorf("%s: close", z->name);
			rc = -1;
		}
	}
	ZSTD_freeCCtx(z->cc);
	free(z->buf);
	free(z->name);
	free(z);
	return rc;
}

void
tp_zout_abort(struct tp_zout *z)
{
	if (!z)
		return;
	if (z->atomic)
		tp_atomic_abort(&z->at);
	else if (z->own_fd)
		close(z->fd);
	ZSTD_freeCCtx(z->cc);
	free(z->buf);
	free(z->name);
	free(z);
}

const char *
tp_zout_name(const struct tp_zout *z)
{
	return z->name;
}
