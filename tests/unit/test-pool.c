/* test-pool: ranges cover [0, n) once, cut at multiples of 16, small loops
 * stay in the caller, many loops in a row neither race nor hang (blocking
 * and spinning), and a loop started inside a loop runs in its thread. */
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

/* A loop inside each range of an outer loop: it must run whole in the
 * thread that starts it (else the pool would wait on itself). */
struct nest {
	struct tp_pool *p;
	long *v;
	pthread_mutex_t mu;
	int inner_elsewhere;
};

static void
inner_mark(void *arg, size_t lo, size_t hi)
{
	struct marks *m = arg;

	(void)lo;
	(void)hi;
	if (!pthread_equal(pthread_self(), m->caller))
		m->off_caller = 1;
	m->ranges++;
}

static void
outer(void *arg, size_t lo, size_t hi)
{
	struct nest *n = arg;
	struct marks m = {NULL, 0, 0, pthread_self(), 0, PTHREAD_MUTEX_INITIALIZER};

	tp_pool_for(n->p, 100000, 16, inner_mark, &m);
	add_one(n->v, lo, hi);
	pthread_mutex_lock(&n->mu);
	if (m.off_caller || m.ranges != 1)
		n->inner_elsewhere = 1;
	pthread_mutex_unlock(&n->mu);
}

/* k loops of add_one over v [100000]: 1 when every element is then want. */
static int
loops(struct tp_pool *p, int k, long *v, long want)
{
	int all = 1;

	for (int i = 0; i < k; i++)
		tp_pool_for(p, 100000, 16, add_one, v);
	for (size_t i = 0; i < 100000; i++)
		all &= v[i] == want;
	return all;
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
	CHECK(loops(p, 2000, v, 2000), "2000 loops in a row: every element 2000 times");
	tp_pool_set_spin(p, 100);
	CHECK(loops(p, 20000, v, 22000),
	      "spinning: 20000 loops more, every element 22000 times");
	CHECK(covers(p, 100003, 1000, &r, &off) && r == 3 && off,
	      "spinning: 3 ranges, each element once");
	struct nest nt = {p, v, PTHREAD_MUTEX_INITIALIZER, 0};
	for (int k = 0; k < 100; k++)
		tp_pool_for(p, 100000, 16, outer, &nt);
	for (size_t i = 0; i < 100000; i++)
		all &= v[i] == 22100;
	CHECK(all && !nt.inner_elsewhere,
	      "a loop inside a loop runs whole in the thread that starts it");
	CHECK(covers(p, 100003, 1000, &r, &off) && r == 3 && off,
	      "after nested loops the pool runs loops on every thread again");
	tp_pool_set_spin(p, 0);
	CHECK(loops(p, 200, v, 22300),
	      "spinning switched off again: loops still complete");
	tp_pool_free(p);
	tp_pool_free(one);
	tp_pool_free(NULL);
	tp_pool_free(tp_pool_new(4));
	CHECK(1, "free of an idle pool returns");
	free(v);
	return check_done();
}
