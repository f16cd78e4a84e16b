/* fuzz-ckpt: tp_ckpt_open on arbitrary bytes must refuse or accept, never
 * crash, leak or read out of bounds.  The bytes go through a file in
 * /dev/shm because the API opens paths.  tests/fuzz/run links it with
 * lib/ckpt.c, lib/store.c (SHA-256) and what store.c links, plus
 * libarchive; seeds in tests/fuzz/corpus/ckpt. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tp/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	char why[256];
	FILE *f;
	struct tp_ckpt *c;

	if (!path[0])
		snprintf(path, sizeof path, "/dev/shm/fuzz-ckpt.%ld", (long)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	c = tp_ckpt_open_err(path, why, sizeof why);
	if (c) {
		size_t n;
		for (size_t i = 0; i < tp_ckpt_nmembers(c); i++)
			(void)tp_ckpt_member(c, tp_ckpt_member_name(c, i), &n);
		tp_ckpt_close(c);
	}
	return 0;
}
