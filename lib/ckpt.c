/*
 * ckpt.c: checkpoint archives, the one module that uses libarchive.
 *
 * Writing streams a tar (pax, deterministic headers: mtime 0, uid 0, mode
 * 0644) through an optional zstd filter straight into a temporary file made
 * by tp/atomic.h, so a failed write (ENOSPC, EFBIG, EIO) never touches the
 * previous file; the members' checksums are computed on two threads, for a
 * plain archive while it is being written (see tp_ckpt_write).  Reading
 * loads the file into memory, walks it once with libarchive and refuses it
 * at the first thing that is not exactly what the manifest promises; the
 * caller never sees an unverified byte.  For plain
 * tar the members point into the loaded file (no copy); compressed members
 * get their own buffers.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/atomic.h"
#include "tp/ckpt.h"
#include "tp/record.h"
#include "tp/sha256.h"

/* zstd's magic number, little-endian on disk. */
static const unsigned char zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

struct member {
	char *name;
	const unsigned char *data; /* into c->file or own */
	size_t bytes;
	unsigned char *own;
	int listed;
};

struct tp_ckpt {
	char *path;
	unsigned char *file; /* the whole file */
	size_t file_len;
	unsigned char *mraw; /* manifest bytes (owned) */
	size_t mlen;
	struct tp_rd *rd; /* parses mraw; man valid while it lives */
	const struct tp_val *man;
	struct member *m; /* archive order */
	size_t n;
	char *err; /* while opening: where the reason goes, or NULL: print */
	size_t errsz;
};

TP_PRINTF(2, 3) static void
bad(const char *path, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	tp_errorf("%s: %s", path, msg);
}

/* A member name we are willing to create or look up: one plain path
 * component of printable ASCII, so no archive can reach outside a directory
 * it might be extracted into, and every message prints it on one line. */
static int
plain_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '/' || s[i] == '\\')
			return 0;
	return 1;
}

static void
sha_hex(const void *p, size_t n, char hex[65])
{
	struct tp_sha256 s;

	tp_sha256_init(&s);
	tp_sha256_update(&s, p, n);
	tp_sha256_hex(&s, hex);
}

/* ---- writing ---- */

struct wctx {
	int fd;
	int err;      /* errno of the first failed write */
	uint64_t pos; /* bytes handed to write(2) so far */
};

static la_ssize_t
write_cb(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct wctx *w = arg;

	(void)a;
	if (tp_write_all(w->fd, buf, n) != 0) {
		if (!w->err)
			w->err = errno ? errno : EIO;
		return -1;
	}
	w->pos += n;
	return (la_ssize_t)n;
}

/* Write one member; *data_at (if not NULL) gets the file offset of its data,
 * exact because the output is unblocked (see tp_ckpt_write). */
static int
put_member(struct archive *a, struct archive_entry *e, const char *name,
           const void *data, size_t bytes, const struct wctx *w,
           uint64_t *data_at)
{
	const char *p = data;

	archive_entry_clear(e);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)bytes);
	archive_entry_set_mtime(e, 0, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		return -1;
	if (data_at)
		*data_at = w->pos;
	while (bytes > 0) {
		/* Chunks keep la_ssize_t happy on any size_t. */
		size_t k = bytes < ((size_t)1 << 30) ? bytes : (size_t)1 << 30;
		la_ssize_t n = archive_write_data(a, p, k);
		if (n <= 0)
			return -1;
		p += n;
		bytes -= (size_t)n;
	}
	return 0;
}

/*
 * The members' SHA-256s, computed by up to two threads while the caller goes
 * on (writing the members of a plain archive), largest member first since
 * one member is one sequential hash: on two cores the checksums cost about
 * the time of the largest member instead of all of them.
 */
enum { HASH_THREADS = 2 };

struct hashing {
	const struct tp_ckpt_blob *blobs;
	size_t n, *order;
	char (*hex)[65];
	atomic_size_t next;
	pthread_t th[HASH_THREADS];
	int nth;
};

static void *
hash_some(void *arg)
{
	struct hashing *h = arg;
	size_t k;

	while ((k = atomic_fetch_add(&h->next, 1)) < h->n) {
		size_t i = h->order[k];
		sha_hex(h->blobs[i].data, h->blobs[i].bytes, h->hex[i]);
	}
	return NULL;
}

static void
hash_start(struct hashing *h, const struct tp_ckpt_blob *blobs, size_t n)
{
	h->blobs = blobs;
	h->n = n;
	h->order = tp_xmallocarray(n ? n : 1, sizeof *h->order);
	h->hex = tp_xmallocarray(n ? n : 1, sizeof *h->hex);
	for (size_t i = 0; i < n; i++) {
		size_t j = i;
		for (; j > 0 && blobs[h->order[j - 1]].bytes < blobs[i].bytes; j--)
			h->order[j] = h->order[j - 1];
		h->order[j] = i;
	}
	atomic_init(&h->next, 0);
	/* A thread that cannot start leaves its share to hash_wait. */
	for (h->nth = 0; h->nth < HASH_THREADS && (size_t)h->nth < n; h->nth++)
		if (pthread_create(&h->th[h->nth], NULL, hash_some, h) != 0)
			break;
}

static void
hash_wait(struct hashing *h)
{
	hash_some(h);
	for (int t = 0; t < h->nth; t++)
		pthread_join(h->th[t], NULL);
	h->nth = 0;
}

static void
hash_free(struct hashing *h)
{
	free(h->order);
	free(h->hex);
}

/* Finish a manifest with the format keys and the member list; hex NULL
 * writes zeros in place of the checksums (the same length). */
static const void *
finish_manifest(struct tp_rb *b, const struct tp_ckpt_blob *blobs, size_t n,
                char (*hex)[65], size_t *len)
{
	static const char zeros[65] =
	        "0000000000000000000000000000000000000000000000000000000000000000";

	tp_rb_str(b, "format", TP_CKPT_FORMAT);
	tp_rb_i64(b, "format_version", TP_CKPT_VERSION);
	tp_rb_arr_begin(b, "members");
	for (size_t i = 0; i < n; i++) {
		tp_rb_map_begin(b, NULL);
		tp_rb_str(b, "name", blobs[i].name);
		tp_rb_u64(b, "bytes", blobs[i].bytes);
		tp_rb_str(b, "sha256", hex ? hex[i] : zeros);
		tp_rb_map_end(b);
	}
	tp_rb_arr_end(b);
	return tp_rb_finish(b, len);
}

static int
check_blobs(const char *path, const struct tp_ckpt_blob *blobs, size_t n,
            int level)
{
	for (size_t i = 0; i < n; i++) {
		if (!plain_name(blobs[i].name) ||
		    strcmp(blobs[i].name, TP_CKPT_MANIFEST) == 0 ||
		    strcmp(blobs[i].name, TP_CKPT_TRAILER) == 0) {
			bad(path, "bad member name \"%s\"", blobs[i].name);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(blobs[i].name, blobs[j].name) == 0) {
				bad(path, "duplicate member %s", blobs[i].name);
				return -1;
			}
	}
	if (level < 0 || level > 22) {
		bad(path, "zstd level %d is not in [0, 22]", level);
		return -1;
	}
	return 0;
}

/*
 * A plain archive is written while the checksums are computed: its manifest
 * goes out with zeros in their place and is overwritten in place once they
 * are known (same length), before the trailer that authenticates it and
 * before the fsync, so no reader ever sees the placeholder under the final
 * name.  A compressed stream cannot be patched, so there the checksums come
 * first (still on two threads).  Both give the same bytes.
 */
int
tp_ckpt_write(const char *path, struct tp_rb *manifest,
              const struct tp_ckpt_blob *blobs, size_t n, int level)
{
	struct tp_atomic at;
	struct wctx w = {-1, 0, 0};
	struct hashing h;
	struct tp_rb ph;
	struct archive *a;
	struct archive_entry *e;
	const void *mraw = NULL, *praw = NULL;
	size_t mlen = 0, plen = 0;
	uint64_t moff = 0;
	int rc = 0, patch = level == 0;

	if (check_blobs(path, blobs, n, level) != 0)
		return -1;
	if (tp_atomic_open(&at, path) != 0)
		return -1;
	w.fd = at.fd;
	hash_start(&h, blobs, n);
	if (patch) {
		tp_rb_copy(&ph, manifest);
		praw = finish_manifest(&ph, blobs, n, NULL, &plen);
	} else {
		hash_wait(&h);
		mraw = finish_manifest(manifest, blobs, n, h.hex, &mlen);
	}
	a = archive_write_new();
	e = archive_entry_new();
	if (!a || !e)
		tp_oom();
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK)
		rc = -1;
	if (rc == 0 && level > 0) {
		char lv[16];
		snprintf(lv, sizeof lv, "%d", level);
		if (archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
		    archive_write_set_filter_option(a, "zstd", "compression-level",
		                                    lv) != ARCHIVE_OK)
			rc = -1;
	}
	/* Unblocked output: libarchive hands our buffers straight to write(2)
	 * instead of copying them through 10 KiB blocks, and no padding. */
	if (rc == 0 && (archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	                archive_write_open(a, &w, NULL, write_cb, NULL) != ARCHIVE_OK))
		rc = -1;
	if (rc == 0 && patch)
		rc = put_member(a, e, TP_CKPT_MANIFEST, praw, plen, &w, &moff);
	else if (rc == 0)
		rc = put_member(a, e, TP_CKPT_MANIFEST, mraw, mlen, &w, NULL);
	/* After each member, start the disk on what is written: it works
	 * while the rest is written and hashed, and the fsync at commit has
	 * less left to wait for. */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = put_member(a, e, blobs[i].name, blobs[i].data, blobs[i].bytes,
		                &w, NULL);
		(void)sync_file_range(w.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	if (patch) {
		hash_wait(&h);
		mraw = finish_manifest(manifest, blobs, n, h.hex, &mlen);
		if (rc == 0 && mlen != plen) {
			bad(path, "bug: the manifest changed length when finished");
			rc = -2;
		}
	}
	if (rc == 0) {
		char hex[65];
		sha_hex(mraw, mlen, hex);
		hex[64] = '\n';
		rc = put_member(a, e, TP_CKPT_TRAILER, hex, sizeof hex, &w, NULL);
	}
	if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
		rc = -1;
	if (rc == -1) {
		if (w.err) {
			errno = w.err;
			tp_syserrorf("%s: cannot write checkpoint", path);
		} else {
			bad(path, "cannot write checkpoint: %s", archive_error_string(a));
		}
	}
	if (rc == 0 && patch && tp_pwrite_all(w.fd, mraw, mlen, (off_t)moff) != 0) {
		tp_syserrorf("%s: cannot write checkpoint", path);
		rc = -1;
	}
	archive_entry_free(e);
	archive_write_free(a);
	if (patch)
		tp_rb_release(&ph);
	hash_wait(&h);
	hash_free(&h);
	if (rc != 0) {
		tp_atomic_abort(&at);
		return -1;
	}
	return tp_atomic_commit(&at);
}

/* ---- reading ---- */

TP_PRINTF(2, 3) static void
cbad(struct tp_ckpt *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (c->err && c->err[0])
		return; /* the first reason is the one that counts */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->err)
		snprintf(c->err, c->errsz, "%s", msg);
	else
		tp_errorf("%s: %s", c->path, msg);
}

static int
load_file(struct tp_ckpt *c)
{
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t got = 0;

	if (fd < 0) {
		cbad(c, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		cbad(c, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		cbad(c, "not a regular file");
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > TP_CKPT_MAX_MEMBER * 4) {
		cbad(c, "file too large (%lld bytes)", (long long)st.st_size);
		close(fd);
		return -1;
	}
	c->file = malloc((size_t)st.st_size + 1);
	if (!c->file) {
		cbad(c, "cannot allocate %lld bytes", (long long)st.st_size);
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, c->file + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cbad(c, "%s", strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break; /* shrank while we read: caught later like any tear */
		got += (size_t)r;
	}
	close(fd);
	c->file_len = got;
	return 0;
}

static struct member *
find(struct tp_ckpt *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->m[i].name, name) == 0)
			return &c->m[i];
	return NULL;
}

static int
is_hex64(const char *s, size_t n)
{
	if (n != 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Parse the (already authenticated) manifest and hold every member the
 * archive had against its list. */
static int
check_manifest(struct tp_ckpt *c)
{
	const struct tp_val *v, *list;
	struct tp_ckpt_blob *blobs;
	struct hashing h;
	const char **want;
	char name[1100];
	size_t raw_len, nl;
	int64_t ver;
	int r, rc = 0;

	/* A msgpack map must start the record; this also keeps tp_rd_mem
	 * from taking a manifest for zstd or gzip input. */
	if (c->mlen == 0 || !((c->mraw[0] & 0xf0) == 0x80 || c->mraw[0] == 0xde ||
	                      c->mraw[0] == 0xdf)) {
		cbad(c, "not a tp checkpoint (manifest is not a record)");
		return -1;
	}
	snprintf(name, sizeof name, "%s: %s", c->path, TP_CKPT_MANIFEST);
	c->rd = tp_rd_mem(c->mraw, c->mlen, name);
	if (!c->rd)
		return -1;
	r = tp_rd_next(c->rd, &c->man);
	/* The reader has printed its own line, unless we collect the reason
	 * (a crafted file: the trailer authenticated these bytes). */
	if (r == 0 || (r < 0 && c->err))
		cbad(c, "not a tp checkpoint (manifest is not a record)");
	if (r <= 0)
		return -1;
	tp_rd_raw(c->rd, &raw_len);
	if (raw_len != c->mlen) {
		cbad(c, "not a tp checkpoint (trailing bytes after manifest)");
		return -1;
	}
	if (!tp_val_streq(tp_val_get(c->man, "format"), TP_CKPT_FORMAT)) {
		cbad(c, "not a tp checkpoint (manifest format is not \"%s\")",
		     TP_CKPT_FORMAT);
		return -1;
	}
	v = tp_val_get(c->man, "format_version");
	if (!v || tp_val_i64(v, &ver) != 0) {
		cbad(c, "manifest has no format_version");
		return -1;
	}
	if (ver != TP_CKPT_VERSION) {
		cbad(c, "unsupported checkpoint format version %lld (this is %d)",
		     (long long)ver, TP_CKPT_VERSION);
		return -1;
	}
	list = tp_val_get(c->man, "members");
	if (!list || tp_val_type(list) != TP_V_ARRAY) {
		cbad(c, "manifest has no members list");
		return -1;
	}
	/* Structure first, then every checksum at once (on two threads). */
	nl = tp_val_len(list);
	blobs = tp_xmallocarray(nl ? nl : 1, sizeof *blobs);
	want = tp_xmallocarray(nl ? nl : 1, sizeof *want);
	for (size_t i = 0; i < nl; i++) {
		const struct tp_val *it = tp_val_at(list, i);
		const struct tp_val *hv = tp_val_get(it, "sha256");
		const char *hs = tp_val_str(hv, &raw_len);
		char *nm = tp_val_strdup(tp_val_get(it, "name"));
		struct member *m = nm ? find(c, nm) : NULL;
		uint64_t bytes;

		if (!nm || tp_val_u64(tp_val_get(it, "bytes"), &bytes) != 0 || !hs ||
		    !is_hex64(hs, raw_len)) {
			free(nm);
			cbad(c, "manifest member %zu is not {name, bytes, sha256}", i);
			goto out;
		}
		if (!m) {
			cbad(c, "missing member %s", nm);
			free(nm);
			goto out;
		}
		free(nm);
		if (m->listed) {
			cbad(c, "duplicate member %s in manifest", m->name);
			goto out;
		}
		m->listed = 1;
		if (bytes != m->bytes) {
			cbad(c, "size mismatch in %s (archive %zu bytes, manifest %llu)",
			     m->name, m->bytes, (unsigned long long)bytes);
			goto out;
		}
		blobs[i] = (struct tp_ckpt_blob){m->name, m->data, m->bytes};
		want[i] = hs;
	}
	hash_start(&h, blobs, nl);
	hash_wait(&h);
	for (size_t i = 0; i < nl && rc == 0; i++)
		if (memcmp(h.hex[i], want[i], 64) != 0) {
			cbad(c, "checksum mismatch in %s", blobs[i].name);
			rc = -1;
		}
	hash_free(&h);
	if (rc != 0)
		goto out;
	for (size_t i = 0; i < c->n && rc == 0; i++)
		if (!c->m[i].listed) {
			cbad(c, "unexpected member %s (not in the manifest)", c->m[i].name);
			rc = -1;
		}
	free(blobs);
	free(want);
	return rc;
out:
	free(blobs);
	free(want);
	return -1;
}

/* Why libarchive stopped: a torn file and a foreign one read differently. */
static void
archive_fail(struct tp_ckpt *c, struct archive *a)
{
	const char *s = archive_error_string(a);

	if (s && (strstr(s, "runcat") || strstr(s, "remature") ||
	          strstr(s, "nexpected end") || strstr(s, "EOF")))
		cbad(c, "truncated archive");
	else
		cbad(c, "damaged archive: %s", s ? s : "unknown error");
}

/* libarchive gave up before the first member: a torn checkpoint (zstd
 * magic, a tar header, our first member's name) or something else. */
static void
first_fail(struct tp_ckpt *c, struct archive *a)
{
	static const char mname[] = TP_CKPT_MANIFEST;
	size_t nz = c->file_len < 4 ? c->file_len : 4;
	size_t nm = c->file_len < sizeof mname ? c->file_len : sizeof mname;
	/* A prefix of either start counts: a file cut in its first bytes. */
	int ours = (c->file_len >= 262 && memcmp(c->file + 257, "ustar", 5) == 0) ||
	           memcmp(c->file, zstd_magic, nz) == 0 ||
	           memcmp(c->file, mname, nm) == 0;

	if (ours && c->file_len < 512)
		cbad(c, "truncated archive");
	else if (ours)
		archive_fail(c, a);
	else
		cbad(c, "not a tp checkpoint");
}

/* The entry's name and declared size, checked. */
static int
entry_check(struct tp_ckpt *c, struct archive *a, struct archive_entry *e,
            const char **name, uint64_t *size)
{
	const char *nm = archive_entry_pathname(e);
	la_int64_t sz = archive_entry_size(e);

	if (!nm || !plain_name(nm)) {
		cbad(c, "unsafe member name \"%s\"", nm ? nm : "");
		return -1;
	}
	if (archive_entry_filetype(e) != AE_IFREG) {
		cbad(c, "member %s is not a regular file", nm);
		return -1;
	}
	if (!archive_entry_size_is_set(e) || sz < 0) {
		cbad(c, "member %s has no size", nm);
		return -1;
	}
	if ((uint64_t)sz > (strcmp(nm, TP_CKPT_MANIFEST) == 0 ? TP_CKPT_MAX_MANIFEST
	                                                     : TP_CKPT_MAX_MEMBER)) {
		cbad(c, "member %s too large (%lld bytes)", nm, (long long)sz);
		return -1;
	}
	/* A plain tar holds every byte it declares: a larger claim is a tear,
	 * caught before anything is allocated. */
	if (archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE &&
	    (uint64_t)sz > c->file_len) {
		cbad(c, "truncated archive");
		return -1;
	}
	*name = nm;
	*size = (uint64_t)sz;
	return 0;
}

/* Read the current entry's data: in place when the tar is plain and the
 * block lies inside the loaded file, else into a buffer of its own.  *own
 * is set (for the caller to free) even on failure. */
static int
read_data(struct tp_ckpt *c, struct archive *a, const char *name,
          uint64_t size, const unsigned char **data, unsigned char **own)
{
	const void *blk;
	size_t len, cap = 0;
	la_int64_t off;
	uint64_t have = 0;
	int r;

	*data = NULL;
	*own = NULL;
	while ((r = archive_read_data_block(a, &blk, &len, &off)) == ARCHIVE_OK) {
		const unsigned char *b = blk;
		if (len == 0)
			continue;
		if (off < 0 || (uint64_t)off != have || len > size - have) {
			cbad(c, "member %s: data does not match its size", name);
			return -1;
		}
		if (have == 0 && len == size && b >= c->file &&
		    b + len <= c->file + c->file_len) {
			*data = b;
		} else {
			/* Grow with the data actually decompressed, never with the
			 * declared size alone: a hostile header costs nothing. */
			if (have + len > cap) {
				size_t want = cap ? cap * 2 : (size_t)1 << 20;
				unsigned char *p;
				if (want < have + len)
					want = (size_t)(have + len);
				if (want > size)
					want = (size_t)size;
				p = realloc(*own, want);
				if (!p) {
					cbad(c, "member %s: cannot allocate %zu bytes", name,
					     want);
					return -1;
				}
				*own = p;
				cap = want;
				*data = p;
			}
			memcpy(*own + have, b, len);
		}
		have += len;
	}
	if (r != ARCHIVE_EOF) {
		archive_fail(c, a);
		return -1;
	}
	if (have != size) {
		cbad(c, "truncated archive");
		return -1;
	}
	if (!*data) {
		*own = malloc(1);
		if (!*own)
			tp_oom();
		*data = *own;
	}
	return 0;
}

/* A plain tar must end with its two zero blocks: a file cut after the last
 * member would otherwise read as complete. */
static int
plain_tar_complete(const struct tp_ckpt *c)
{
	if (c->file_len < 1024 || c->file_len % 512 != 0)
		return 0;
	for (size_t i = c->file_len - 1024; i < c->file_len; i++)
		if (c->file[i])
			return 0;
	return 1;
}

static int
walk(struct tp_ckpt *c, struct archive *a)
{
	struct archive_entry *e;
	const unsigned char *tdata = NULL;
	unsigned char *town = NULL;
	size_t tlen = 0;
	const char *name;
	uint64_t size;
	char hex[65];
	int r, rc = -1;

	r = archive_read_next_header(a, &e);
	if (r == ARCHIVE_EOF) {
		cbad(c, "not a tp checkpoint (empty archive)");
		return -1;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		first_fail(c, a);
		return -1;
	}
	if ((archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_TAR) {
		cbad(c, "not a tp checkpoint");
		return -1;
	}
	if (entry_check(c, a, e, &name, &size) != 0)
		return -1;
	if (strcmp(name, TP_CKPT_MANIFEST) != 0) {
		cbad(c, "not a tp checkpoint (first member is %s, not %s)", name,
		     TP_CKPT_MANIFEST);
		return -1;
	}
	{
		const unsigned char *d;
		unsigned char *own;
		int ok = read_data(c, a, name, size, &d, &own) == 0;
		if (ok) {
			c->mlen = (size_t)size;
			c->mraw = tp_xmalloc(c->mlen + 1);
			memcpy(c->mraw, d, c->mlen);
		}
		free(own);
		if (!ok)
			return -1;
	}
	c->m = tp_xcalloc(TP_CKPT_MAX_MEMBERS, sizeof *c->m);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		struct member *m;

		if (entry_check(c, a, e, &name, &size) != 0)
			goto out;
		if (town) {
			cbad(c, "unexpected member %s after %s", name, TP_CKPT_TRAILER);
			goto out;
		}
		if (strcmp(name, TP_CKPT_TRAILER) == 0) {
			if (read_data(c, a, name, size, &tdata, &town) != 0)
				goto out;
			tlen = (size_t)size;
			if (!town) { /* in place: keep a copy, members may not be */
				town = tp_xmalloc(tlen + 1);
				memcpy(town, tdata, tlen);
			}
			continue;
		}
		if (find(c, name) || strcmp(name, TP_CKPT_MANIFEST) == 0) {
			cbad(c, "duplicate member %s", name);
			goto out;
		}
		if (c->n == TP_CKPT_MAX_MEMBERS) {
			cbad(c, "too many members (more than %d)", TP_CKPT_MAX_MEMBERS);
			goto out;
		}
		m = &c->m[c->n++];
		m->name = tp_xstrdup(name);
		m->bytes = (size_t)size;
		if (read_data(c, a, name, size, &m->data, &m->own) != 0)
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		archive_fail(c, a);
		goto out;
	}
	/* The trailer is written last: without it the file was cut short. */
	if (!town ||
	    (archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE && !plain_tar_complete(c))) {
		cbad(c, "truncated archive");
		goto out;
	}
	sha_hex(c->mraw, c->mlen, hex);
	hex[64] = '\n';
	if (tlen != 65 || memcmp(town, hex, 65) != 0) {
		cbad(c, "checksum mismatch in %s", TP_CKPT_MANIFEST);
		goto out;
	}
	rc = check_manifest(c);
out:
	free(town);
	return rc;
}

/* Open with messages printed (err NULL) or stored in err. */
static struct tp_ckpt *
open_ckpt(const char *path, char *err, size_t errsz)
{
	struct tp_ckpt *c = tp_xcalloc(1, sizeof *c);
	struct archive *a;
	int rc;

	c->path = tp_xstrdup(path);
	c->err = err;
	c->errsz = errsz;
	if (err && errsz)
		err[0] = '\0';
	if (load_file(c) != 0) {
		tp_ckpt_close(c);
		return NULL;
	}
	if (c->file_len == 0) {
		cbad(c, "not a tp checkpoint (empty file)");
		tp_ckpt_close(c);
		return NULL;
	}
	a = archive_read_new();
	if (!a)
		tp_oom();
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, c->file, c->file_len) != ARCHIVE_OK) {
		first_fail(c, a);
		rc = -1;
	} else {
		rc = walk(c, a);
	}
	archive_read_free(a);
	if (rc != 0) {
		tp_ckpt_close(c);
		return NULL;
	}
	c->err = NULL;
	/* Compressed input is no longer needed once every member is copied. */
	{
		int in_place = 0;
		for (size_t i = 0; i < c->n; i++)
			if (!c->m[i].own)
				in_place = 1;
		if (!in_place) {
			free(c->file);
			c->file = NULL;
			c->file_len = 0;
		}
	}
	return c;
}

struct tp_ckpt *
tp_ckpt_open(const char *path)
{
	return open_ckpt(path, NULL, 0);
}

struct tp_ckpt *
tp_ckpt_open_err(const char *path, char *err, size_t errsz)
{
	return open_ckpt(path, err, errsz);
}

const struct tp_val *
tp_ckpt_manifest(const struct tp_ckpt *c)
{
	return c->man;
}

const void *
tp_ckpt_manifest_raw(const struct tp_ckpt *c, size_t *bytes)
{
	*bytes = c->mlen;
	return c->mraw;
}

const void *
tp_ckpt_member(const struct tp_ckpt *c, const char *name, size_t *bytes)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->m[i].name, name) == 0) {
			if (bytes)
				*bytes = c->m[i].bytes;
			return c->m[i].data;
		}
	if (bytes)
		*bytes = 0;
	return NULL;
}

size_t
tp_ckpt_nmembers(const struct tp_ckpt *c)
{
	return c->n;
}

const char *
tp_ckpt_member_name(const struct tp_ckpt *c, size_t i)
{
	return i < c->n ? c->m[i].name : NULL;
}

const char *
tp_ckpt_path(const struct tp_ckpt *c)
{
	return c->path;
}

void
tp_ckpt_close(struct tp_ckpt *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->m[i].name);
		free(c->m[i].own);
	}
	free(c->m);
	tp_rd_close(c->rd);
	free(c->mraw);
	free(c->file);
	free(c->path);
	free(c);
}

int
tp_ckpt_verify(const char *path)
{
	struct tp_ckpt *c = tp_ckpt_open(path);

	if (!c)
		return -1;
	tp_ckpt_close(c);
	return 0;
}

int
tp_ckpt_sniff(const char *path)
{
	size_t n = strlen(path);
	struct archive *a;
	struct archive_entry *e;
	int fd, r = 0;

	if (n >= 4 && strcmp(path + n - 4, ".tpc") == 0)
		return 1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tp_syserrorf("%s", path);
		return -1;
	}
	a = archive_read_new();
	if (!a)
		tp_oom();
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 16384) == ARCHIVE_OK &&
	    archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *nm = archive_entry_pathname(e);
		r = nm && strcmp(nm, TP_CKPT_MANIFEST) == 0;
	}
	archive_read_free(a);
	close(fd);
	return r;
}

/* Training state: what a model artifact leaves out (doc/tp-checkpoint.5). */
static const char *const train_keys[] = {
	"optimizer", "optim_steps", "schedule_step", "loader", "loaders", "rng",
	"metrics_offset", "train_window",
};

static int
dropped_key(const struct tp_val *k)
{
	static const char *const ours[] = {"type", "kind", "format",
	                                   "format_version", "members"};

	for (size_t i = 0; i < sizeof ours / sizeof *ours; i++)
		if (tp_val_streq(k, ours[i]))
			return 1;
	for (size_t i = 0; i < sizeof train_keys / sizeof *train_keys; i++)
		if (tp_val_streq(k, train_keys[i]))
			return 1;
	return 0;
}

int
tp_ckpt_export(const char *full_path, const char *model_path, int level)
{
	struct tp_ckpt *c = tp_ckpt_open(full_path);
	struct tp_ckpt_blob *blobs;
	struct tp_rb b;
	const struct tp_val *man;
	char *type;
	size_t nb = 0;
	int rc;

	if (!c)
		return -1;
	man = tp_ckpt_manifest(c);
	type = tp_val_strdup(tp_val_get(man, "type"));
	tp_rb_init(&b);
	tp_rb_begin(&b, type ? type : "checkpoint");
	free(type);
	tp_rb_str(&b, "kind", "model");
	for (size_t i = 0; i < tp_val_len(man); i++) {
		const struct tp_val *k = tp_map_key(man, i);
		size_t kl;
		const char *ks = tp_val_str(k, &kl);

		if (!ks || dropped_key(k))
			continue;
		tp_rb_keyn(&b, ks, kl);
		tp_rb_val(&b, NULL, tp_map_val(man, i));
	}
	blobs = tp_xcalloc(c->n + 1, sizeof *blobs);
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->m[i].name, "optim.f32") == 0)
			continue;
		blobs[nb].name = c->m[i].name;
		blobs[nb].data = c->m[i].data;
		blobs[nb].bytes = c->m[i].bytes;
		nb++;
	}
	rc = tp_ckpt_write(model_path, &b, blobs, nb, level);
	free(blobs);
	tp_rb_release(&b);
	tp_ckpt_close(c);
	return rc;
}
