/* test-zio: plain, zstd and gzip reading (several frames and members,
 * skippable frames, a stream far larger than any buffer), the exact error
 * lines for truncated and corrupt input, flushing for followers and atomic
 * replacement.  Runs in its own scratch directory (tests/run). */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "tp/err.h"
#include "tp/zio.h"

/* ---- stderr capture: the one-line messages are part of the contract ---- */
static void
put_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

static unsigned char *
get_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	size_t cap = 0;

	*n = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (*n == cap)
			p = realloc(p, cap = cap ? 2 * cap : 4096);
		size_t r = fread(p + *n, 1, cap - *n, f);
		if (r == 0)
			break;
		*n += r;
	}
	fclose(f);
	return p;
}

static int
write_file(const char *path, int flags, const void *p, size_t n)
{
	struct tp_zout *z = tp_zout_open(path, flags, 0);
	if (!z)
		return -1;
	if (tp_zout_write(z, p, n) < 0) {
		tp_zout_abort(z);
		return -1;
	}
	return tp_zout_close(z);
}

/* Read a whole stream in chunks of chunk bytes; -1 on error. */
static long
read_all(struct tp_zin *z, unsigned char *out, size_t cap, size_t chunk)
{
	size_t n = 0;
	ssize_t r;

	while ((r = tp_zin_read(z, out + n, chunk < cap - n ? chunk : cap - n)) > 0)
		n += (size_t)r;
	return r < 0 ? -1 : (long)n;
}

static long
read_path(const char *path, unsigned char *out, size_t cap)
{
	struct tp_zin *z = tp_zin_open(path);
	long n;

	if (!z)
		return -1;
	n = read_all(z, out, cap, 7777);
	tp_zin_close(z);
	return n;
}

static void
test_plain_and_zstd(void)
{
	const char text[] = "hello, record streams\n";
	unsigned char buf[256];
	struct tp_zin *z;
	long n;

	CHECK(write_file("p.txt", TP_ZOUT_AUTO, text, sizeof text - 1) == 0,
	      "plain write");
	n = read_path("p.txt", buf, sizeof buf);
	CHECK(n == (long)sizeof text - 1 && memcmp(buf, text, (size_t)n) == 0,
	      "plain read back");
	CHECK(write_file("p.txt.zst", TP_ZOUT_AUTO, text, sizeof text - 1) == 0,
	      "zstd write (auto by .zst)");
	{
		size_t fl;
		unsigned char *f = get_file("p.txt.zst", &fl);
		CHECK(f && fl >= 4 && f[0] == 0x28 && f[1] == 0xb5 && f[2] == 0x2f &&
		      f[3] == 0xfd, "auto .zst output starts with the zstd magic");
		free(f);
	}
	z = tp_zin_open("p.txt.zst");
	n = read_all(z, buf, sizeof buf, 3);
	CHECK(n == (long)sizeof text - 1 && memcmp(buf, text, (size_t)n) == 0,
	      "zstd read back in 3-byte reads");
	CHECK(tp_zin_is_zstd(z) && tp_zin_offset(z) == sizeof text - 1,
	      "zstd detected, offset counts decompressed bytes");
	tp_zin_close(z);
	CHECK(write_file("plain.zst", TP_ZOUT_PLAIN, text, 5) == 0 &&
	      read_path("plain.zst", buf, sizeof buf) == 5,
	      "TP_ZOUT_PLAIN ignores the .zst name");
	CHECK(write_file("c.bin", TP_ZOUT_COMPRESS, text, 5) == 0, "forced compression");
	z = tp_zin_open("c.bin");
	CHECK(read_all(z, buf, sizeof buf, 100) == 5 && tp_zin_is_zstd(z),
	      "forced compression is zstd whatever the name");
	tp_zin_close(z);
	CHECK(write_file("empty", TP_ZOUT_AUTO, "", 0) == 0 &&
	      read_path("empty", buf, sizeof buf) == 0, "empty file reads as empty");
	CHECK(write_file("empty.zst", TP_ZOUT_AUTO, "", 0) == 0 &&
	      read_path("empty.zst", buf, sizeof buf) == 0,
	      "empty zstd frame reads as empty");
	/* Fewer than 4 bytes: too short to be sniffed, still read. */
	CHECK(write_file("ab", TP_ZOUT_AUTO, "\x28\xb5", 2) == 0 &&
	      read_path("ab", buf, sizeof buf) == 2, "2-byte file is plain");
	z = tp_zin_mem(text, 5, "m");
	CHECK(read_all(z, buf, sizeof buf, 2) == 5 && memcmp(buf, text, 5) == 0,
	      "memory input");
	tp_zin_close(z);
}

static void
test_frames(void)
{
	static const unsigned char skip[] = {0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0,
	                                     'x', 'y', 'z'};
	unsigned char *f1, *f2, *f3, *cat, buf[64];
	size_t n1, n2, n3, n;
	long got;

	CHECK(write_file("f1.zst", TP_ZOUT_AUTO, "one ", 4) == 0 &&
	      write_file("f2.zst", TP_ZOUT_AUTO, "two ", 4) == 0 &&
	      write_file("f3.zst", TP_ZOUT_AUTO, "three", 5) == 0,
	      "three frames written separately");
	f1 = get_file("f1.zst", &n1);
	f2 = get_file("f2.zst", &n2);
	f3 = get_file("f3.zst", &n3);
	cat = malloc(n1 + n2 + n3 + sizeof skip);
	memcpy(cat, f1, n1);
	memcpy(cat + n1, f2, n2);
	memcpy(cat + n1 + n2, skip, sizeof skip);
	memcpy(cat + n1 + n2 + sizeof skip, f3, n3);
	n = n1 + n2 + n3 + sizeof skip;
	put_file("cat.zst", cat, n);
	got = read_path("cat.zst", buf, sizeof buf);
	CHECK(got == 13 && memcmp(buf, "one two three", 13) == 0,
	      "concatenated frames (and a skippable frame) all read");

	/* Truncated last frame: data of the earlier frames, then an error. */
	put_file("trunc.zst", cat, n - 3);
	cap_begin();
	got = read_path("trunc.zst", buf, sizeof buf);
	char *e = cap_end();
	CHECK(got == -1, "truncated frame fails");
	CHECK(strstr(e, ": trunc.zst: truncated zstd frame\n") && one_line(e),
	      "truncated frame message: %s", e);

	/* Cut just after the first frame: a clean end, not an error. */
	put_file("first.zst", cat, n1);
	got = read_path("first.zst", buf, sizeof buf);
	CHECK(got == 4 && memcmp(buf, "one ", 4) == 0, "cut at a frame boundary is clean");

	memcpy(cat + 4, "garbage garbage garbage", 23);
	put_file("garbage.zst", cat, 27);
	cap_begin();
	got = read_path("garbage.zst", buf, sizeof buf);
	e = cap_end();
	CHECK(got == -1 && strstr(e, ": garbage.zst: zstd: ") && one_line(e),
	      "garbage after the magic: %s", e);
	free(f1);
	free(f2);
	free(f3);
	free(cat);
}

/* 20 MB through the compressed writer and back, in odd-sized pieces. */
static void
test_large(void)
{
	const size_t total = 20u << 20;
	unsigned char *chunk = malloc(65521), *back = malloc(1 << 20);
	struct tp_zout *w = tp_zout_open("big.zst", TP_ZOUT_AUTO, 1);
	struct tp_zin *r;
	uint64_t x = 88172645463325252ULL, sum_w = 0, sum_r = 0;
	size_t done = 0;
	ssize_t k;
	int okw = 1;

	while (done < total) {
		size_t m = total - done < 65521 ? total - done : 65521;
		for (size_t i = 0; i < m; i++) {
			/* Half-random bytes: compressible, never constant. */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			chunk[i] = (unsigned char)(i & 1 ? x : i >> 3);
			sum_w = sum_w * 31 + chunk[i];
		}
		okw &= tp_zout_write(w, chunk, m) == 0;
		done += m;
	}
	CHECK(okw && tp_zout_close(w) == 0, "20 MB written compressed");
	r = tp_zin_open("big.zst");
	done = 0;
	while ((k = tp_zin_read(r, back, 1000003)) > 0) {
		for (ssize_t i = 0; i < k; i++)
			sum_r = sum_r * 31 + back[i];
		done += (size_t)k;
	}
	CHECK(k == 0 && done == total && sum_r == sum_w,
	      "20 MB read back identical (%zu bytes)", done);
	CHECK(tp_zin_offset(r) == total, "offset after 20 MB");
	tp_zin_close(r);
	free(chunk);
	free(back);
}

static void
test_gzip(void)
{
	unsigned char buf[64];
	struct tp_zin *z;
	size_t n;
	unsigned char *g;
	long got;

	put_file("g1", "first ", 6);
	put_file("g2", "second", 6);
	if (system("gzip -c g1 > g.gz && gzip -c g2 >> g.gz") != 0) {
		CHECK(0, "gzip command available");
		return;
	}
	z = tp_zin_open("g.gz");
	got = read_all(z, buf, sizeof buf, 5);
	CHECK(got == 12 && memcmp(buf, "first second", 12) == 0 && tp_zin_is_gzip(z),
	      "gzip, two members, read as one stream");
	tp_zin_close(z);
	g = get_file("g.gz", &n);
	put_file("t.gz", g, n - 5);
	cap_begin();
	got = read_path("t.gz", buf, sizeof buf);
	char *e = cap_end();
	CHECK(got == -1 && strstr(e, ": t.gz: truncated gzip member\n") && one_line(e),
	      "truncated gzip: %s", e);
	g[12] ^= 0xff;
	g[13] ^= 0xff;
	put_file("bad.gz", g, n);
	cap_begin();
	got = read_path("bad.gz", buf, sizeof buf);
	e = cap_end();
	CHECK(got == -1 && strstr(e, ": bad.gz: ") && one_line(e),
	      "corrupt gzip: %s", e);
	free(g);
}

static void
test_flush_atomic(void)
{
	unsigned char buf[64];
	struct tp_zout *w = tp_zout_open("live.zst", TP_ZOUT_AUTO, 0);
	struct tp_zin *r;
	ssize_t k;
	int ok;

	ok = tp_zout_write(w, "abc", 3) == 0 && tp_zout_flush(w) == 0;
	r = tp_zin_open("live.zst");
	k = tp_zin_read(r, buf, sizeof buf);
	CHECK(ok && k == 3 && memcmp(buf, "abc", 3) == 0,
	      "a follower decodes flushed data before the frame ends");
	tp_zin_close(r);
	CHECK(tp_zout_close(w) == 0, "close after flush");

	w = tp_zout_open("at.zst", TP_ZOUT_AUTO | TP_ZOUT_ATOMIC, 0);
	CHECK(w && tp_zout_write(w, "xyz", 3) == 0, "atomic open and write");
	CHECK(access("at.zst", F_OK) != 0, "atomic target absent before close");
	CHECK(tp_zout_close(w) == 0 && read_path("at.zst", buf, sizeof buf) == 3,
	      "atomic target complete after close");
	w = tp_zout_open("gone", TP_ZOUT_ATOMIC, 0);
	CHECK(w && tp_zout_write(w, "xyz", 3) == 0, "second atomic file");
	tp_zout_abort(w);
	{
		DIR *d = opendir(".");
		struct dirent *de;
		int stray = 0;
		while ((de = readdir(d)))
			stray |= strstr(de->d_name, ".tmp.") != NULL ||
			          strcmp(de->d_name, "gone") == 0;
		closedir(d);
		CHECK(!stray, "an aborted atomic file leaves no trace");
	}
	cap_begin();
	w = tp_zout_open("no/such/dir/x.zst", TP_ZOUT_AUTO, 0);
	char *e = cap_end();
	CHECK(!w && strstr(e, ": no/such/dir/x.zst: No such file") && one_line(e),
	      "open for writing names the file: %s", e);
	cap_begin();
	w = tp_zout_open("l.zst", TP_ZOUT_AUTO, 99);
	e = cap_end();
	CHECK(!w && strstr(e, "l.zst: zstd level 99 is not in") && one_line(e),
	      "bad level refused: %s", e);
	cap_begin();
	r = tp_zin_open("missing.zst");
	e = cap_end();
	CHECK(!r && strstr(e, ": missing.zst: No such file") && one_line(e),
	      "open for reading names the file: %s", e);
	cap_begin();
	r = tp_zin_open(".");
	k = r ? tp_zin_read(r, buf, sizeof buf) : -1;
	e = cap_end();
	CHECK(k == -1 && strstr(e, ": .: read error: Is a directory") && one_line(e),
	      "read error names the file: %s", e);
	CHECK(k == -1 && (!r || tp_zin_read(r, buf, sizeof buf) == -1),
	      "a failed reader stays failed");
	tp_zin_close(r);
}

int
main(void)
{
	test_plain_and_zstd();
	test_frames();
	test_large();
	test_gzip();
	test_flush_atomic();
	return check_done();
}
