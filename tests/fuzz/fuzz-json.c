/*
 * fuzz-json: libFuzzer harness for the JSON parser of tp-cat -j.  Any bytes
 * are parsed as one JSON line; what parses must read back as one record,
 * and printing it and parsing again must give the same msgpack bytes (the
 * first conversion normalizes, the second is the identity).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/json.h"
#include "tp/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_rb b, b2;
	struct tp_jbuf j;
	const void *p, *p2;
	size_t len, len2;

	tp_rb_init(&b);
	tp_rb_init(&b2);
	tp_jbuf_init(&j);
	if (tp_json_parse_record((const char *)data, size, &b, "fuzz", 1) == 0) {
		struct tp_rd *rd;
		const struct tp_val *rec;

		p = tp_rb_finish(&b, &len);
		rd = tp_rd_mem(p, len, "fuzz");
		if (tp_rd_next(rd, &rec) != 1)
			abort();
		tp_json_value(&j, rec, TP_JSON_BIN_BASE64);
		if (tp_json_parse_record(j.buf, j.len, &b2, "again", 1) < 0)
			abort();
		p2 = tp_rb_finish(&b2, &len2);
		if (len2 != len || memcmp(p, p2, len) != 0)
			abort();
		if (tp_rd_next(rd, &rec) != 0)
			abort();
		tp_rd_close(rd);
	}
	tp_rb_release(&b);
	tp_rb_release(&b2);
	tp_jbuf_release(&j);
	return 0;
}
