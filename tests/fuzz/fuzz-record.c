/*
 * fuzz-record: libFuzzer harness for the record reader.  Any bytes go
 * through tp_rd_mem (which also takes zstd and gzip, sniffed from the
 * magic); every record that is accepted is printed as JSON, which must
 * parse back, copied with tp_rb_val, which must read back, and probed with
 * the accessors tools use.  Bad input must end in -1, never in a crash, a
 * leak or a huge allocation.  Built and run by tests/fuzz/run.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/json.h"
#include "tp/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
probe(const struct tp_rd *rd, const struct tp_val *rec, struct tp_jbuf *j,
      struct tp_rb *b)
{
	const struct tp_val *v;
	size_t len, n;
	const void *p;
	char type[32];
	int64_t i;
	double d;

	(void)tp_rd_raw(rd, &len);
	(void)tp_rd_offset(rd);
	if ((v = tp_val_path(rec, "time.forward")))
		(void)tp_val_match(v, "0.25");
	if ((v = tp_val_get(rec, "step")))
		(void)tp_val_i64(v, &i);
	if ((v = tp_val_get(rec, "loss")))
		(void)tp_val_f64(v, &d);

	/* Printed JSON reads back (the reader and parser share the depth cap). */
	for (int mode = 0; mode < 3; mode++) {
		j->len = 0;
		tp_json_value(j, rec, (enum tp_json_bin)mode);
		if (mode == TP_JSON_BIN_BASE64 &&
		    tp_json_parse_record(j->buf, j->len, b, "fuzz", 1) < 0)
			abort();
	}
	/* A deep copy is a valid record again. */
	tp_rb_begin(b, NULL);
	for (size_t k = 0; k < tp_val_len(rec); k++) {
		const char *s = tp_val_str(tp_map_key(rec, k), &n);
		tp_rb_keyn(b, s, n);
		tp_rb_val(b, NULL, tp_map_val(rec, k));
	}
	p = tp_rb_finish(b, &len);
	{
		struct tp_rd *again = tp_rd_mem(p, len, "copy");
		const struct tp_val *r2;
		if (tp_rd_next(again, &r2) != 1 || tp_val_len(r2) != tp_val_len(rec) ||
		    tp_rd_next(again, &r2) != 0)
			abort();
		tp_rd_close(again);
	}
	if (tp_val_get(rec, "type"))
		(void)tp_rec_type(rd, rec, type, sizeof type);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_rd *rd = tp_rd_mem(data, size, "fuzz");
	const struct tp_val *rec;
	struct tp_jbuf j;
	struct tp_rb b;
	int r, n = 0;

	tp_jbuf_init(&j);
	tp_rb_init(&b);
	while ((r = tp_rd_next(rd, &rec)) == 1 && n++ < 1000)
		probe(rd, rec, &j, &b);
	/* Once failed, a reader stays failed. */
	if (r < 0 && tp_rd_next(rd, &rec) != -1)
		abort();
	tp_rd_close(rd);
	tp_jbuf_release(&j);
	tp_rb_release(&b);
	return 0;
}
