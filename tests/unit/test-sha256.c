/* test-sha256: FIPS 180-4 example vectors on both code paths, and the
 * accelerated path equal to the portable one on random inputs split into
 * random updates. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tp/rng.h"
#include "tp/sha256.h"

static void
digest(int portable, const void *p, size_t n, char hex[65])
{
	struct tp_sha256 s;

	if (portable)
		tp_sha256_init_portable(&s);
	else
		tp_sha256_init(&s);
	tp_sha256_update(&s, p, n);
	tp_sha256_hex(&s, hex);
}

int
main(void)
{
	static const struct {
		const char *msg, *hex;
	} v[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	struct tp_sha256 s;
	struct tp_rng r;
	char a[65], b[65];
	unsigned char *buf;
	int same = 1;

	for (int p = 0; p < 2; p++) {
		for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
			digest(p, v[i].msg, strlen(v[i].msg), a);
			CHECK(strcmp(a, v[i].hex) == 0, "%s: vector %zu", p ? "portable" : "default", i);
		}
		buf = malloc(1000000);
		memset(buf, 'a', 1000000);
		digest(p, buf, 1000000, a);
		CHECK(strcmp(a, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
		      "%s: a million a", p ? "portable" : "default");
		free(buf);
	}
	/* Random lengths around block boundaries, fed in random pieces. */
	tp_rng_seed(&r, 7);
	buf = malloc(5000);
	for (int t = 0; t < 300; t++) {
		size_t n = (size_t)tp_rng_below(&r, 5000), off = 0;
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)tp_rng_u64(&r);
		tp_sha256_init(&s);
		while (off < n) {
			size_t k = (size_t)tp_rng_below(&r, 200) + 1;
			if (k > n - off)
				k = n - off;
			tp_sha256_update(&s, buf + off, k);
			off += k;
		}
		tp_sha256_hex(&s, a);
		digest(1, buf, n, b);
		same &= strcmp(a, b) == 0;
	}
	free(buf);
	CHECK(same, "pieces through the default path equal the portable digest");
	return check_done();
}
