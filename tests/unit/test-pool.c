/* test-pool: ranges cover [0, n) once, cut at multiples of 16, small loops
 * stay in the caller, and many loops in a row neither race nor hang. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tp/pool.h"

struct marks {
	unsigned char *hit;
	size_t ranges, bad_cut;
	pthread_t caller;
	int off_caller;
	pthread_mutex_t mu;
};

static void
mark(void *arg, size_t lo, size_t hi)
{
	struct marks *m = arg;

	for (size_t i = lo; i < hi; i++)
		m->hit[i]++;
	pthread_mutex_lock(&m->mu);
	m->ranges++;
	if (lo % 16)
		m->bad_cut++;
	if (!pthread_equal(pthread_self(), m->caller))
		m->off_caller = 1;
	pthread_mutex_unlock(&m->mu);
}

static int
covers(struct tp_pool *p, size_t n, size_t min_chunk, size_t *ranges, int *off)
{
	struct marks m = {calloc(n + 1, 1), 0, 0, pthread_self(), 0,
	                  PTHREAD_MUTEX_INITIALIZER};
	int ok = 1;

	tp_pool_for(p, n, min_chunk, mark, &m);
	for (size_t i = 0; i < n; i++)
		ok &= m.hit[i] == 1;
	*ranges = m.ranges;
	*off = m.off_caller;
	free(m.hit);
	return ok && m.bad_cut == 0;
}

static void
add_one(void *arg, size_t lo, size_t hi)
{
	long *v = arg;

	for (size_t i = lo; i < hi; i++)
		v[i]++;
}

int
main(void)
{
	struct tp_pool *p = tp_pool_new(3), *one = tp_pool_new(1);
	size_t r;
	int off, all = 1;
	long *v = calloc(100000, sizeof *v);

	CHECK(tp_pool_threads(p) == 3 && tp_pool_threads(one) == 1 &&
	          tp_pool_threads(NULL) == 1, "thread counts");
	CHECK(covers(p, 100003, 1000, &r, &off) && r == 3 && off,
	      "100003 elements: 3 ranges, each element once, cuts at 16");
	CHECK(covers(p, 2500, 1000, &r, &off) && r == 2,
	      "2500 elements, chunks of at least 1000: 2 ranges");
	CHECK(covers(p, 999, 1000, &r, &off) && r == 1 && !off,
	      "a small loop runs in the caller");
	CHECK(covers(p, 0, 1, &r, &off) && r == 1, "an empty loop");
	CHECK(covers(p, 40, 1, &r, &off) && r == 2,
	      "40 elements: ranges of at least 16");
	CHECK(covers(one, 100003, 1000, &r, &off) && r == 1 && !off,
	      "a 1-thread pool runs in the caller");
	CHECK(covers(NULL, 100003, 1000, &r, &off) && r == 1 && !off,
	      "no pool: the caller");
	for (int k = 0; k < 2000; k++)
		tp_pool_for(p, 100000, 16, add_one, v);
	for (size_t i = 0; i < 100000; i++)
		all &= v[i] == 2000;
	CHECK(all, "2000 loops in a row: every element 2000 times");
	tp_pool_free(p);
	tp_pool_free(one);
	tp_pool_free(NULL);
	tp_pool_free(tp_pool_new(4));
	CHECK(1, "free of an idle pool returns");
	free(v);
	return check_done();
}
