/*
 * ckpt.h: checkpoint archives (doc/tp-checkpoint.5), the only module that
 * touches libarchive.
 *
 * A checkpoint is one tar archive, zstd-compressed or plain, whose first
 * member "manifest.msgpack" is a record describing the rest: format magic and
 * version, the caller's keys (step, configuration, RNG and loader state, ...)
 * and the name, size and SHA-256 of every other member; the last member,
 * "manifest.sha256", authenticates the manifest itself.  Members are named
 * byte blobs (float32 arrays little-endian).  Writing is atomic (temporary
 * file in the same directory, fsync, rename, fsync of the directory), and
 * opening verifies everything before the caller sees a byte, so a torn,
 * truncated, damaged or hostile file is refused, never half used.
 *
 * The module checks structure and checksums, not the meaning of keys; the
 * only key it interprets is "kind" (for tp_ckpt_export).
 */
#ifndef TP_CKPT_H
#define TP_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

struct tp_rb;
struct tp_val;

/* Format magic and version written into every manifest. */
#define TP_CKPT_FORMAT "tp-checkpoint"
#define TP_CKPT_VERSION 1
/* Name of the first member, and of the last: the SHA-256 of the manifest
 * (64 hex digits and a newline), written last so that a file cut short
 * anywhere lacks it. */
#define TP_CKPT_MANIFEST "manifest.msgpack"
#define TP_CKPT_TRAILER "manifest.sha256"
/* Caps applied on open: larger members (declared or real) are refused. */
#define TP_CKPT_MAX_MANIFEST ((size_t)64 << 20)
#define TP_CKPT_MAX_MEMBER ((uint64_t)16 << 30)
#define TP_CKPT_MAX_MEMBERS 1024

/* A named byte blob of a checkpoint (float32 arrays are little-endian).
 * name: a plain file name (no '/', not "." or "..", not the manifest's). */
struct tp_ckpt_blob {
	const char *name;
	const void *data;
	size_t bytes;
};

/*
 * Write a checkpoint archive atomically at path: temporary file in the same
 * directory, fsync, rename, fsync of the directory.  On any error (ENOSPC,
 * EFBIG, EIO, ...) print one line, remove the temporary file, leave a
 * previous file at path untouched and return -1; else 0.
 *
 * manifest: the caller's record builder, already begun with
 * tp_rb_begin(b, "checkpoint") and filled with the caller's keys.  This adds
 * "format": "tp-checkpoint", "format_version": 1 and
 * "members": [{"name", "bytes", "sha256": hex}, ...] (in blob order),
 * finishes it and stores it as the first member "manifest.msgpack".  The
 * builder is left finished (begin it again to reuse it).
 * level: zstd level, 0 = uncompressed tar (fastest; checksums still apply).
 */
int tp_ckpt_write(const char *path, struct tp_rb *manifest,
                  const struct tp_ckpt_blob *blobs, size_t n, int level) TP_WUR;

/* An opened, fully verified checkpoint held in memory. */
struct tp_ckpt;

/*
 * Open and verify path: format magic and version, manifest first, every
 * member listed with matching size and SHA-256, no extra, missing or
 * duplicate members, the manifest's own checksum (the last member,
 * "manifest.sha256"), member names plain (absolute paths, "..", "a/b" are
 * refused), sizes capped (TP_CKPT_MAX_*).  NULL after one line naming the
 * file and what is wrong, e.g. "prog: FILE: checksum mismatch in params.f32",
 * "prog: FILE: truncated archive", "prog: FILE: not a tp checkpoint".
 * Free with tp_ckpt_close.
 */
struct tp_ckpt *tp_ckpt_open(const char *path) TP_WUR;
/* The same, but the reason for a NULL goes to err (without program or file
 * name, at most errsz bytes) instead of stderr: for tools that report
 * skipped files their own way, or not at all. */
struct tp_ckpt *tp_ckpt_open_err(const char *path, char *err,
                                 size_t errsz) TP_WUR;
/* The manifest record (a map), valid until tp_ckpt_close. */
const struct tp_val *tp_ckpt_manifest(const struct tp_ckpt *c);
/* The manifest's msgpack bytes, valid until tp_ckpt_close. */
const void *tp_ckpt_manifest_raw(const struct tp_ckpt *c, size_t *bytes);
/* A member's bytes and size, or NULL when absent; valid until close.  The
 * data is at least 16-byte aligned, so float arrays can be read in place.
 * The manifest and its trailer are not members. */
const void *tp_ckpt_member(const struct tp_ckpt *c, const char *name,
                           size_t *bytes);
/* Number of members (manifest and trailer excluded) and the name of the i-th, in
 * archive order. */
size_t tp_ckpt_nmembers(const struct tp_ckpt *c);
const char *tp_ckpt_member_name(const struct tp_ckpt *c, size_t i);
/* The path given to tp_ckpt_open. */
const char *tp_ckpt_path(const struct tp_ckpt *c);
/* Accepts NULL. */
void tp_ckpt_close(struct tp_ckpt *c);

/* Open, verify and close: 0 or -1 (printed). */
int tp_ckpt_verify(const char *path) TP_WUR;

/*
 * 1 when path looks like a tp checkpoint (its name ends in ".tpc", or it is a
 * tar archive, plain or zstd, whose first member is "manifest.msgpack"), 0
 * when it does not, -1 when it cannot be read (printed).  Cheap: reads only
 * the first header.  For tools that also accept other trainers' files.
 */
int tp_ckpt_sniff(const char *path) TP_WUR;

/*
 * Inference-only export (the "model artifact"): the manifest's keys except
 * the training state ("optimizer", "optim_steps", "schedule_step", "loader",
 * "rng", "metrics_offset", "train_window"), "kind" set to "model", and
 * every member except
 * "optim.f32", written atomically to model_path with zstd level (0 plain).
 * full_path is verified first.  0 or -1 (printed).
 */
int tp_ckpt_export(const char *full_path, const char *model_path,
                   int level) TP_WUR;

#endif
