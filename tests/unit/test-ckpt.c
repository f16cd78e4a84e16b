/* test-ckpt: checkpoint archives.  Round trips (plain and zstd, byte-for-
 * byte deterministic), then every way a file can be wrong: a flipped byte in
 * each member, the file cut at every offset, foreign files, and hostile
 * archives crafted here with libarchive (manifest not first, extra,
 * duplicate and missing members, "../evil", "/abs", "a/b", links, huge
 * declared sizes, wrong magic and version).  Also the atomic write on a full
 * disk (a 64 KiB tmpfs when we may mount one), export and sniffing.  Runs in
 * its own scratch directory (tests/run). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tp/ckpt.h"
#include "tp/err.h"
#include "tp/record.h"
#include "tp/zio.h"
#include "tp/sha256.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

static void
spit(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	fwrite(p, 1, n, f);
	fclose(f);
}

/* Where the loops write their thousands of damaged copies: memory when
 * there is a /dev/shm (ext4 flushes a file rewritten by truncation, which
 * would make this test disk-bound), else the scratch directory. */
static const char *
loop_file(void)
{
	static char path[64];

	if (!path[0]) {
		struct stat st;
		if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
		    access("/dev/shm", W_OK) == 0)
			snprintf(path, sizeof path, "/dev/shm/test-ckpt.%ld.tpc",
			         (long)getpid());
		else
			snprintf(path, sizeof path, "loop.tpc");
	}
	return path;
}

/* NULL when the file opens, else the reason (static). */
static const char *
why(const char *path)
{
	static char err[512];
	struct tp_ckpt *c = tp_ckpt_open_err(path, err, sizeof err);

	if (c) {
		tp_ckpt_close(c);
		return NULL;
	}
	return err;
}

static int
refused_with(const char *path, const char *want)
{
	const char *w = why(path);

	if (!w)
		return 0;
	if (!strstr(w, want)) {
		printf("# %s: got \"%s\", want \"%s\"\n", path, w, want);
		return 0;
	}
	return 1;
}

static float params[300], optim[600];

static void
fill(void)
{
	for (size_t i = 0; i < 300; i++)
		params[i] = (float)i * 0.25f - 7.0f;
	for (size_t i = 0; i < 600; i++)
		optim[i] = (float)(i % 97) * 1e-3f;
}

static int
write_std(const char *path, int level)
{
	struct tp_rb b;
	unsigned char loader[48];
	struct tp_ckpt_blob blobs[] = {
		{"params.f32", params, sizeof params},
		{"buffers.f32", NULL, 0}, /* empty: no batch norm */
		{"optim.f32", optim, sizeof optim},
	};
	int rc;

	memset(loader, 7, sizeof loader);
	tp_rb_init(&b);
	tp_rb_begin(&b, "checkpoint");
	tp_rb_str(&b, "kind", "full");
	tp_rb_i64(&b, "step", 300);
	tp_rb_str(&b, "optimizer", "adam");
	tp_rb_i64(&b, "optim_steps", 300);
	tp_rb_bin(&b, "loader", loader, sizeof loader);
	tp_rb_map_begin(&b, "rng");
	tp_rb_arr_begin(&b, "dropout");
	for (int i = 0; i < 4; i++)
		tp_rb_u64(&b, NULL, 0xffffffffffffff00ull + (uint64_t)i);
	tp_rb_arr_end(&b);
	tp_rb_map_end(&b);
	tp_rb_i64(&b, "metrics_offset", 1234);
	tp_rb_map_begin(&b, "train_window");
	tp_rb_i64(&b, "steps", 3);
	tp_rb_map_end(&b);
	rc = tp_ckpt_write(path, &b, blobs, 3, level);
	tp_rb_release(&b);
	return rc;
}

static void
test_round_trip(int level)
{
	const char *path = level ? "z.tpc" : "p.tpc";
	struct tp_ckpt *c;
	const struct tp_val *m;
	const void *p;
	size_t n, la, lb;
	int64_t step;
	char *a, *b;

	CHECK(write_std(path, level) == 0, "level %d: write", level);
	c = tp_ckpt_open(path);
	CHECK(c != NULL, "level %d: open", level);
	if (!c)
		return;
	m = tp_ckpt_manifest(c);
	CHECK(tp_val_i64(tp_val_get(m, "step"), &step) == 0 && step == 300,
	      "level %d: manifest step", level);
	CHECK(tp_val_streq(tp_val_get(m, "format"), "tp-checkpoint") &&
	          tp_val_len(tp_val_get(m, "members")) == 3,
	      "level %d: format and member list added", level);
	p = tp_ckpt_member(c, "params.f32", &n);
	CHECK(p && n == sizeof params && memcmp(p, params, n) == 0,
	      "level %d: params.f32 round trip", level);
	CHECK(((uintptr_t)p & 15) == 0, "level %d: member data aligned", level);
	p = tp_ckpt_member(c, "optim.f32", &n);
	CHECK(p && n == sizeof optim && memcmp(p, optim, n) == 0,
	      "level %d: optim.f32 round trip", level);
	p = tp_ckpt_member(c, "buffers.f32", &n);
	CHECK(p && n == 0, "level %d: empty member present", level);
	CHECK(tp_ckpt_member(c, "nope", &n) == NULL && n == 0,
	      "level %d: absent member is NULL", level);
	CHECK(tp_ckpt_nmembers(c) == 3 &&
	          strcmp(tp_ckpt_member_name(c, 0), "params.f32") == 0 &&
	          strcmp(tp_ckpt_member_name(c, 2), "optim.f32") == 0 &&
	          tp_ckpt_member_name(c, 3) == NULL,
	      "level %d: members in order", level);
	CHECK(strcmp(tp_ckpt_path(c), path) == 0, "level %d: path", level);
	tp_ckpt_close(c);
	CHECK(write_std("again.tpc", level) == 0, "level %d: write again", level);
	a = slurp(path, &la);
	b = slurp("again.tpc", &lb);
	CHECK(a && b && la == lb && memcmp(a, b, la) == 0,
	      "level %d: same state, same bytes", level);
	free(a);
	free(b);
	CHECK(tp_ckpt_verify(path) == 0, "level %d: verify", level);
}

/* The plain archive, written while its checksums are computed and its
 * manifest patched afterwards, is the very tar inside the compressed one. */
static void
test_plain_is_compressed_tar(void)
{
	struct tp_zin *z = tp_zin_open("z.tpc");
	size_t lp, lz = 0;
	char *p = slurp("p.tpc", &lp), *t = tp_xmalloc(lp + 1);
	ssize_t r;

	while (z && (r = tp_zin_read(z, t + lz, lp + 1 - lz)) > 0)
		lz += (size_t)r;
	CHECK(z && p && lz == lp && memcmp(p, t, lp) == 0,
	      "plain checkpoint = the compressed one's tar, byte for byte");
	if (z)
		tp_zin_close(z);
	free(p);
	free(t);
}

/* ---- plain tar surgery: headers are 512 bytes, size octal at 124 ---- */

struct tar_ent {
	char name[101];
	size_t hdr, data, size;
};

static size_t
tar_walk(const unsigned char *f, size_t len, struct tar_ent *e, size_t max)
{
	size_t off = 0, n = 0;

	while (off + 512 <= len && f[off] && n < max) {
		memcpy(e[n].name, f + off, 100);
		e[n].name[100] = 0;
		e[n].hdr = off;
		e[n].data = off + 512;
		e[n].size = strtoull((const char *)f + off + 124, NULL, 8);
		off += 512 + (e[n].size + 511) / 512 * 512;
		n++;
	}
	return n;
}

static void
tar_fix_sum(unsigned char *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void
test_flips(void)
{
	struct tar_ent e[8];
	size_t len, n;
	unsigned char *f = (unsigned char *)slurp("p.tpc", &len);
	int all = 1;

	n = tar_walk(f, len, e, 8);
	CHECK(n == 5, "plain tar has manifest, 3 members, trailer (%zu)", n);
	for (size_t i = 0; i < n; i++) {
		size_t at[3] = {0, e[i].size / 2, e[i].size - 1};
		char want[200];

		if (e[i].size == 0)
			continue;
		snprintf(want, sizeof want, "checksum mismatch in %.100s",
		         strcmp(e[i].name, "manifest.sha256") == 0 ? "manifest.msgpack"
		                                                   : e[i].name);
		for (int k = 0; k < 3; k++) {
			f[e[i].data + at[k]] ^= 0x10;
			spit("flip.tpc", f, len);
			f[e[i].data + at[k]] ^= 0x10;
			if (!refused_with("flip.tpc", want)) {
				all = 0;
				printf("# flip in %s at %zu\n", e[i].name, at[k]);
			}
		}
		/* a damaged header (its own checksum catches it) */
		f[e[i].hdr + 60] ^= 0x01;
		spit("flip.tpc", f, len);
		f[e[i].hdr + 60] ^= 0x01;
		if (!why("flip.tpc"))
			all = 0;
	}
	CHECK(all, "a flipped byte in any member: \"checksum mismatch in NAME\"");
	free(f);

	/* zstd: a flip either is refused or changed only bytes no reader looks
	 * at (tar padding, the end blocks); what is accepted is always intact. */
	f = (unsigned char *)slurp("z.tpc", &len);
	{
		size_t refused = 0, harmless = 0;
		for (size_t i = 0; i < len; i++) {
			struct tp_ckpt *c;
			const void *p, *q;
			size_t n1, n2;

			f[i] ^= 0x04;
			spit(loop_file(), f, len);
			f[i] ^= 0x04;
			c = tp_ckpt_open_err(loop_file(), (char[256]){0}, 256);
			if (!c) {
				refused++;
				continue;
			}
			p = tp_ckpt_member(c, "params.f32", &n1);
			q = tp_ckpt_member(c, "optim.f32", &n2);
			if (p && q && n1 == sizeof params && n2 == sizeof optim &&
			    !memcmp(p, params, n1) && !memcmp(q, optim, n2))
				harmless++;
			else
				printf("# zstd flip at %zu accepted with damage\n", i);
			tp_ckpt_close(c);
		}
		unlink(loop_file());
		CHECK(refused + harmless == len,
		      "zstd: a flipped bit at each of %zu offsets: refused (%zu) or "
		      "outside every member (%zu)",
		      len, refused, harmless);
	}
	free(f);
}

static void
test_truncation(const char *path)
{
	size_t len;
	char *f = slurp(path, &len);
	int all = 1, msgs = 1;

	for (size_t i = 0; i < len; i++) {
		const char *w;
		spit(loop_file(), f, i);
		w = why(loop_file());
		if (!w) {
			all = 0;
			printf("# %s cut at %zu accepted\n", path, i);
		} else if (i > 0 && !strstr(w, "truncated archive")) {
			msgs = 0;
			printf("# %s cut at %zu: %s\n", path, i, w);
		}
	}
	CHECK(all, "%s cut at each of %zu offsets: never accepted", path, len);
	CHECK(msgs, "%s cut: \"truncated archive\"", path);
	unlink(loop_file());
	free(f);
}

/* ---- hostile archives ---- */

struct ent {
	const char *name;
	const void *data;
	size_t len;
	int type; /* 0: regular file */
};

/* A manifest record with the given format, version and members list of
 * ents[from..n) (name, size, true SHA-256). */
static const void *
manifest(struct tp_rb *b, const char *format, int version,
         const struct ent *ents, size_t n, size_t *len)
{
	tp_rb_begin(b, "checkpoint");
	tp_rb_i64(b, "step", 1);
	if (format)
		tp_rb_str(b, "format", format);
	tp_rb_i64(b, "format_version", version);
	tp_rb_arr_begin(b, "members");
	for (size_t i = 0; i < n; i++) {
		struct tp_sha256 s;
		char hex[65];
		tp_sha256_init(&s);
		tp_sha256_update(&s, ents[i].data, ents[i].len);
		tp_sha256_hex(&s, hex);
		tp_rb_map_begin(b, NULL);
		tp_rb_str(b, "name", ents[i].name);
		tp_rb_u64(b, "bytes", ents[i].len);
		tp_rb_str(b, "sha256", hex);
		tp_rb_map_end(b);
	}
	tp_rb_arr_end(b);
	return tp_rb_finish(b, len);
}

static void
craft(const char *path, const struct ent *ents, size_t n, int zstd)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_pax_restricted(a);
	if (zstd)
		archive_write_add_filter_zstd(a);
	archive_write_open_filename(a, path);
	for (size_t i = 0; i < n; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, ents[i].name);
		archive_entry_set_filetype(e, ents[i].type ? (unsigned)ents[i].type
		                                           : AE_IFREG);
		archive_entry_set_perm(e, 0644);
		if (ents[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, "/etc/passwd");
		archive_entry_set_size(e, ents[i].type ? 0 : (la_int64_t)ents[i].len);
		archive_write_header(a, e);
		if (!ents[i].type && ents[i].len)
			archive_write_data(a, ents[i].data, ents[i].len);
	}
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
}

/* Archive: manifest (listing members[0..nlisted)), the entries, trailer. */
static void
craft_ckpt(const char *path, const char *format, int version,
           const struct ent *listed, size_t nlisted, const struct ent *ents,
           size_t n, int manifest_first)
{
	struct tp_rb b;
	struct ent all[16];
	struct tp_sha256 s;
	char hex[65];
	size_t mlen, k = 0;
	const void *m;

	tp_rb_init(&b);
	m = manifest(&b, format, version, listed, nlisted, &mlen);
	tp_sha256_init(&s);
	tp_sha256_update(&s, m, mlen);
	tp_sha256_hex(&s, hex);
	hex[64] = '\n';
	if (manifest_first)
		all[k++] = (struct ent){"manifest.msgpack", m, mlen, 0};
	for (size_t i = 0; i < n; i++)
		all[k++] = ents[i];
	if (!manifest_first)
		all[k++] = (struct ent){"manifest.msgpack", m, mlen, 0};
	all[k++] = (struct ent){"manifest.sha256", hex, 65, 0};
	craft(path, all, k, 0);
	tp_rb_release(&b);
}

static void
test_hostile(void)
{
	static const char pa[] = "parameters", pb[] = "other";
	struct ent good[] = {{"params.f32", pa, sizeof pa, 0},
	                     {"optim.f32", pb, sizeof pb, 0}};
	struct ent e3[3];
	size_t len;

	craft_ckpt("ok.tpc", "tp-checkpoint", 1, good, 2, good, 2, 1);
	CHECK(why("ok.tpc") == NULL, "crafted archive: control accepted");

	craft_ckpt("magic.tpc", "pt-checkpoint", 1, good, 2, good, 2, 1);
	CHECK(refused_with("magic.tpc", "not a tp checkpoint"), "wrong magic");
	craft_ckpt("nomagic.tpc", NULL, 1, good, 2, good, 2, 1);
	CHECK(refused_with("nomagic.tpc", "not a tp checkpoint"), "no magic");
	craft_ckpt("v2.tpc", "tp-checkpoint", 2, good, 2, good, 2, 1);
	CHECK(refused_with("v2.tpc", "unsupported checkpoint format version 2"),
	      "future version");
	craft_ckpt("order.tpc", "tp-checkpoint", 1, good, 2, good, 2, 0);
	CHECK(refused_with("order.tpc", "first member is params.f32"),
	      "manifest not first");

	e3[0] = good[0], e3[1] = good[1];
	e3[2] = (struct ent){"extra.bin", pa, sizeof pa, 0};
	craft_ckpt("extra.tpc", "tp-checkpoint", 1, good, 2, e3, 3, 1);
	CHECK(refused_with("extra.tpc", "unexpected member extra.bin"),
	      "extra member");
	e3[2] = good[0];
	craft_ckpt("dup.tpc", "tp-checkpoint", 1, good, 2, e3, 3, 1);
	CHECK(refused_with("dup.tpc", "duplicate member params.f32"),
	      "duplicate member");
	craft_ckpt("dupman.tpc", "tp-checkpoint", 1, e3, 3, good, 2, 1);
	CHECK(refused_with("dupman.tpc", "duplicate member params.f32 in manifest"),
	      "duplicate member in the manifest");
	craft_ckpt("missing.tpc", "tp-checkpoint", 1, good, 2, good, 1, 1);
	CHECK(refused_with("missing.tpc", "missing member optim.f32"),
	      "missing member");
	{
		struct ent lie[] = {{"params.f32", pa, sizeof pa, 0},
		                    {"optim.f32", pa, sizeof pa, 0}};
		craft_ckpt("lie.tpc", "tp-checkpoint", 1, lie, 2, good, 2, 1);
		CHECK(refused_with("lie.tpc", "size mismatch in optim.f32"),
		      "member size differs from the manifest");
	}

	const char *evil[] = {"../evil", "/abs", "a/b", "..", ".", "a\\b",
	                      "tab\there", ""};
	for (size_t i = 0; i < sizeof evil / sizeof *evil; i++) {
		struct ent ev[] = {{evil[i], pa, sizeof pa, 0}};
		char want[64];
		craft_ckpt("evil.tpc", "tp-checkpoint", 1, ev, 1, ev, 1, 1);
		snprintf(want, sizeof want, "unsafe member name");
		CHECK(refused_with("evil.tpc", want), "member named \"%s\" refused",
		      evil[i]);
	}
	{
		struct ent ln[] = {{"params.f32", NULL, 0, AE_IFLNK}};
		struct ent dir[] = {{"params.f32", NULL, 0, AE_IFDIR}};
		craft_ckpt("link.tpc", "tp-checkpoint", 1, ln, 1, ln, 1, 1);
		CHECK(refused_with("link.tpc", "not a regular file"), "symlink member");
		craft_ckpt("dir.tpc", "tp-checkpoint", 1, dir, 1, dir, 1, 1);
		CHECK(refused_with("dir.tpc", "params.f32"), "directory member");
	}
	{
		/* manifest missing its own checksum: an archive cut short */
		struct tp_rb b;
		size_t ml;
		const void *m;
		tp_rb_init(&b);
		m = manifest(&b, "tp-checkpoint", 1, good, 2, &ml);
		struct ent nt[] = {{"manifest.msgpack", m, ml, 0}, good[0], good[1]};
		craft("notrailer.tpc", nt, 3, 0);
		CHECK(refused_with("notrailer.tpc", "truncated archive"),
		      "no manifest.sha256 trailer");
		craft("notrailer.tpc", nt, 3, 1);
		CHECK(refused_with("notrailer.tpc", "truncated archive"),
		      "no trailer (zstd)");
		tp_rb_release(&b);
	}

	/* Huge declared sizes, patched into a valid plain header: base-256 for
	 * 2^40 (over the cap), octal for one just past the file's end. */
	{
		unsigned char *f = (unsigned char *)slurp("p.tpc", &len);
		struct tar_ent te[8];
		size_t n = tar_walk(f, len, te, 8);
		unsigned char *h = f + te[1].hdr;

		memset(h + 124, 0, 12);
		h[124] = 0x80;
		h[124 + 6] = 1; /* 2^40: byte 5 of the big-endian 11-byte value */
		tar_fix_sum(h);
		spit("huge.tpc", f, len);
		CHECK(n == 5 && refused_with("huge.tpc", "too large"),
		      "declared size 2^40 refused before allocation");
		snprintf((char *)h + 124, 12, "%011o", 07777777);
		tar_fix_sum(h);
		spit("huge.tpc", f, len);
		CHECK(refused_with("huge.tpc", "truncated archive"),
		      "declared size past the end of a plain file");
		free(f);
	}

	{
		/* a manifest that is not msgpack, with a matching trailer */
		static const char junk[] = "\x82\xa4type";
		struct tp_sha256 h;
		char hex[65];
		tp_sha256_init(&h);
		tp_sha256_update(&h, junk, sizeof junk - 1);
		tp_sha256_hex(&h, hex);
		hex[64] = '\n';
		struct ent jm[] = {{"manifest.msgpack", junk, sizeof junk - 1, 0},
		                   {"manifest.sha256", hex, 65, 0}};
		craft("junk.tpc", jm, 2, 0);
		CHECK(refused_with("junk.tpc", "not a tp checkpoint (manifest is not a record)"),
		      "a manifest that is not a record");
		jm[0].data = "\x92\x01\x02";
		jm[0].len = 3;
		tp_sha256_init(&h);
		tp_sha256_update(&h, jm[0].data, 3);
		tp_sha256_hex(&h, hex);
		hex[64] = '\n';
		craft("arr.tpc", jm, 2, 0);
		CHECK(refused_with("arr.tpc", "manifest is not a record"),
		      "a manifest that is an array");
	}

	spit("empty.tpc", "", 0);
	CHECK(refused_with("empty.tpc", "not a tp checkpoint"), "empty file");
	spit("text.tpc", "hello, world\n", 13);
	CHECK(refused_with("text.tpc", "not a tp checkpoint"), "text file");
	{
		struct ent other[] = {{"README", pa, sizeof pa, 0}};
		craft("other.tar", other, 1, 0);
		CHECK(refused_with("other.tar", "first member is README"),
		      "another tar archive");
		craft("empty.tar", other, 0, 0);
		CHECK(refused_with("empty.tar", "not a tp checkpoint"), "empty tar");
	}
	CHECK(refused_with("no-such.tpc", "No such file"), "missing file");
	CHECK(refused_with(".", "not a regular file"), "a directory");
}

static int
temp_left(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".tmp."))
			n++;
	closedir(d);
	return n;
}

static void
test_disk_full(void)
{
	static float big[100000]; /* 400 KB: past the 64 KiB filesystem */
	struct tp_ckpt_blob blob = {"params.f32", big, sizeof big};
	struct tp_rb b;
	size_t l1, l2;
	char *a1, *a2;
	int rc;

	mkdir("tiny", 0755);
	if (mount("tp-test", "tiny", "tmpfs", 0, "size=64k") != 0) {
		CHECK(1, "disk full: skipped (cannot mount a tmpfs: not root?)");
		return;
	}
	CHECK(write_std("tiny/step-1.tpc", 0) == 0, "small checkpoint fits");
	a1 = slurp("tiny/step-1.tpc", &l1);
	for (size_t i = 0; i < 100000; i++)
		big[i] = (float)i;
	tp_rb_init(&b);
	tp_rb_begin(&b, "checkpoint");
	fflush(stderr);
	rc = tp_ckpt_write("tiny/step-1.tpc", &b, &blob, 1, 0);
	CHECK(rc == -1, "disk full: write fails");
	a2 = slurp("tiny/step-1.tpc", &l2);
	CHECK(a1 && a2 && l1 == l2 && memcmp(a1, a2, l1) == 0,
	      "disk full: previous checkpoint untouched");
	CHECK(why("tiny/step-1.tpc") == NULL, "disk full: previous still valid");
	CHECK(temp_left("tiny") == 0, "disk full: no temporary file left");
	tp_rb_begin(&b, "checkpoint");
	rc = tp_ckpt_write("tiny/step-2.tpc", &b, &blob, 1, 0);
	CHECK(rc == -1 && access("tiny/step-2.tpc", F_OK) != 0 &&
	          temp_left("tiny") == 0,
	      "disk full: new name never appears");
	tp_rb_release(&b);
	free(a1);
	free(a2);
	umount("tiny");
}

static void
test_write_errors(void)
{
	struct tp_rb b;
	struct tp_ckpt_blob bad[] = {{"a/b", "x", 1}};
	struct tp_ckpt_blob dup[] = {{"x", "x", 1}, {"x", "y", 1}};
	struct tp_ckpt_blob res[] = {{"manifest.sha256", "x", 1}};

	tp_rb_init(&b);
	tp_rb_begin(&b, "checkpoint");
	CHECK(tp_ckpt_write("w.tpc", &b, bad, 1, 0) == -1 &&
	          access("w.tpc", F_OK) != 0,
	      "write refuses a member name with '/'");
	tp_rb_begin(&b, "checkpoint");
	CHECK(tp_ckpt_write("w.tpc", &b, dup, 2, 0) == -1, "write refuses duplicates");
	tp_rb_begin(&b, "checkpoint");
	CHECK(tp_ckpt_write("w.tpc", &b, res, 1, 0) == -1,
	      "write refuses the reserved names");
	tp_rb_begin(&b, "checkpoint");
	CHECK(tp_ckpt_write("no/such/dir/w.tpc", &b, NULL, 0, 0) == -1,
	      "write into a missing directory fails");
	tp_rb_begin(&b, "checkpoint");
	CHECK(tp_ckpt_write("w.tpc", &b, NULL, 0, 3) == 0 && why("w.tpc") == NULL,
	      "a checkpoint without members");
	tp_rb_release(&b);
}

static void
test_export(void)
{
	struct tp_ckpt *c;
	const struct tp_val *m;
	size_t n;

	CHECK(tp_ckpt_export("z.tpc", "model.tpc", 0) == 0, "export");
	c = tp_ckpt_open("model.tpc");
	CHECK(c != NULL, "export: model opens");
	if (!c)
		return;
	m = tp_ckpt_manifest(c);
	CHECK(tp_val_streq(tp_val_get(m, "kind"), "model"), "export: kind model");
	CHECK(!tp_val_get(m, "optimizer") && !tp_val_get(m, "optim_steps") &&
	          !tp_val_get(m, "loader") && !tp_val_get(m, "rng") &&
	          !tp_val_get(m, "metrics_offset") && !tp_val_get(m, "train_window"),
	      "export: training state dropped");
	CHECK(tp_val_get(m, "step") != NULL, "export: other keys kept");
	CHECK(!tp_ckpt_member(c, "optim.f32", NULL) &&
	          tp_ckpt_member(c, "params.f32", &n) && n == sizeof params &&
	          tp_ckpt_member(c, "buffers.f32", NULL),
	      "export: optim.f32 dropped, params and buffers kept");
	tp_ckpt_close(c);
	CHECK(tp_ckpt_export("text.tpc", "model2.tpc", 0) == -1 &&
	          access("model2.tpc", F_OK) != 0,
	      "export of a bad file fails");
}

static void
test_sniff(void)
{
	CHECK(tp_ckpt_sniff("anything.tpc") == 1, "sniff: .tpc by name");
	rename("z.tpc", "z.bin");
	CHECK(tp_ckpt_sniff("z.bin") == 1, "sniff: zstd checkpoint by content");
	rename("p.tpc", "p.tar");
	CHECK(tp_ckpt_sniff("p.tar") == 1, "sniff: plain checkpoint by content");
	CHECK(tp_ckpt_sniff("other.tar") == 0, "sniff: other tar");
	spit("weights.pt", "PK\3\4 not ours", 14);
	CHECK(tp_ckpt_sniff("weights.pt") == 0, "sniff: foreign file");
	fflush(stderr);
	CHECK(tp_ckpt_sniff("nothing.pt") == -1, "sniff: missing file");
}

int
main(void)
{
	fill();
	test_round_trip(0);
	test_round_trip(3);
	test_plain_is_compressed_tar();
	test_flips();
	test_truncation("p.tpc");
	test_truncation("z.tpc");
	test_hostile();
	test_write_errors();
	test_export();
	test_disk_full();
	test_sniff();
	return check_done();
}
