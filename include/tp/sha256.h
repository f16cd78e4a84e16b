/*
 * sha256.h: SHA-256 (FIPS 180-4), the suite's one checksum: checkpoint
 * members, tracking-store object names, config checksums, the tp-eval
 * ledger and the leakage check.  On x86-64 processors with the SHA
 * extensions the blocks go through them (about 2 GB/s instead of 0.3), so
 * checksumming a checkpoint costs little next to writing it.
 */
#ifndef TP_SHA256_H
#define TP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "tp/err.h"

struct tp_sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
	int ni; /* use the SHA extensions (decided by init) */
};

void tp_sha256_init(struct tp_sha256 *s);
/* The portable code only, whatever the processor (for tests). */
void tp_sha256_init_portable(struct tp_sha256 *s);
void tp_sha256_update(struct tp_sha256 *s, const void *p, size_t n);
/* Finish: the 32-byte digest (s is spent). */
void tp_sha256_final(struct tp_sha256 *s, unsigned char out[32]);
/* Finish: the digest as 64 lowercase hex digits plus NUL (s is spent). */
void tp_sha256_hex(struct tp_sha256 *s, char hex[65]);
/* Hex digest of a whole file; 0 or -1 (printed). */
int tp_sha256_file(const char *path, char hex[65]) TP_WUR;

#endif
