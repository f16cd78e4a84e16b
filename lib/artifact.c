/*
 * artifact.c: rebuild a model from a configuration or a checkpoint.  The
 * layout check is by view name and size, so a checkpoint of another
 * architecture is refused with the first view that differs instead of
 * being read into the wrong places.
 */
#include <string.h>

#include "tp/artifact.h"
#include "tp/ckpt.h"
#include "tp/hpconfig.h"
#include "tp/model.h"
#include "tp/record.h"

static int
check_views(const struct tp_ckpt *c, const char *key,
            const struct tp_model_view *v, size_t n)
{
	const struct tp_val *a = tp_val_get(tp_ckpt_manifest(c), key);
	uint64_t count;

	if (tp_val_len(a) != n) {
		tp_errorf("%s: %zu %s, the model has %zu (another architecture)",
		          tp_ckpt_path(c), tp_val_len(a), key, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct tp_val *e = tp_val_at(a, i);
		if (!tp_val_streq(tp_val_get(e, "name"), v[i].name) ||
		    tp_val_u64(tp_val_get(e, "count"), &count) != 0 || count != v[i].count) {
			tp_errorf("%s: %s %zu does not match the model's %s (%zu values)",
			          tp_ckpt_path(c), key, i, v[i].name, v[i].count);
			return -1;
		}
	}
	return 0;
}

int
tp_artifact_floats(const struct tp_ckpt *c, const char *member, float *dst, size_t n)
{
	size_t bytes = 0;
	const void *p = tp_ckpt_member(c, member, &bytes);

	if (n == 0)
		return 0;
	if (!p || bytes != n * sizeof(float)) {
		tp_errorf("%s: %s holds %zu bytes, the model needs %zu",
		          tp_ckpt_path(c), member, p ? bytes : 0, n * sizeof(float));
		return -1;
	}
	memcpy(dst, p, bytes);
	return 0;
}

int
tp_artifact_restore(struct tp_model *m, const struct tp_ckpt *c)
{
	const struct tp_model_view *v;
	size_t n, np, nb;
	float *p = tp_model_params(m, &np);
	float *b = tp_model_buffers(m, &nb);

	v = tp_model_param_views(m, &n);
	if (check_views(c, "param_views", v, n) != 0)
		return -1;
	v = tp_model_buffer_views(m, &n);
	if (check_views(c, "buffer_views", v, n) != 0)
		return -1;
	return tp_artifact_floats(c, "params.f32", p, np) == 0 &&
	               tp_artifact_floats(c, "buffers.f32", b, nb) == 0
	           ? 0
	           : -1;
}

struct tp_model *
tp_artifact_load(const char *path, int max_batch, struct tp_hparams *hp,
                 int64_t *features, int64_t *classes, int64_t *step)
{
	struct tp_ckpt *c = tp_ckpt_open(path);
	const struct tp_val *cfg, *params;
	struct tp_model_config mc;
	struct tp_model *m = NULL;

	if (!c)
		return NULL;
	cfg = tp_val_get(tp_ckpt_manifest(c), "config");
	params = tp_val_get(cfg, "params");
	tp_hp_defaults(hp);
	if (!params || tp_val_i64(tp_val_get(cfg, "features"), features) != 0 ||
	    tp_val_i64(tp_val_get(cfg, "classes"), classes) != 0 ||
	    tp_val_i64(tp_val_get(tp_ckpt_manifest(c), "step"), step) != 0) {
		tp_errorf("%s: manifest: no config with params, features and classes, or no step",
		          path);
		goto out;
	}
	if (tp_hp_set_map(hp, params, path) != 0 ||
	    tp_hp_model_config(hp, *features, *classes, &mc) != 0)
		goto out;
	m = tp_model_new(&mc, max_batch);
	if (m && tp_artifact_restore(m, c) != 0) {
		tp_model_free(m);
		m = NULL;
	}
out:
	tp_ckpt_close(c);
	return m;
}
