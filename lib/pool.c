/*
 * pool.c: persistent worker threads woken per loop by a generation count.
 * Between loops a worker first spins on the count for the pool's spin time
 * (a wake-up through the kernel costs tens of microseconds, as much as a
 * small matrix product), then blocks on a condition variable.  The count
 * and the pending count are atomics so that the spinning side reads them
 * without the mutex; every change is still made under the mutex, so a
 * sleeper is never missed.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "tp/err.h"
#include "tp/pool.h"

struct worker {
	struct tp_pool *p;
	int index; /* its range: 1.. (the caller takes 0) */
	pthread_t th;
};

struct tp_pool {
	int n; /* threads, the caller's included */
	struct worker *w;
	int nw; /* started */
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	_Atomic uint64_t gen;
	atomic_int pending;
	atomic_int busy; /* a loop is running: loops started inside run inline */
	int quit;
	_Atomic long spin_ns; /* how long a waiting side spins, then blocks */
	/* the current loop */
	void (*fn)(void *, size_t, size_t);
	void *arg;
	size_t len;
	int parts;
};

static size_t
bound(size_t n, int i, int parts)
{
	size_t b;

	if (i >= parts)
		return n;
	b = n / 16 * (size_t)i / (size_t)parts * 16;
	return b;
}

static void
relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static long
elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Every few dozen spins: yield to a thread waiting for this core (more
 * threads than cores, or the loader's), and 1 once the time is over. */
static int
give_way(const struct timespec *t0, long spin_ns)
{
	if (elapsed_ns(t0) > spin_ns)
		return 1;
	sched_yield();
	return 0;
}

static int
gen_moved(struct tp_pool *p, uint64_t seen)
{
	return atomic_load_explicit(&p->gen, memory_order_acquire) != seen;
}

static int
all_done(struct tp_pool *p, uint64_t unused)
{
	(void)unused;
	return atomic_load_explicit(&p->pending, memory_order_acquire) == 0;
}

/* Spin until ready(p, arg) (1) or the spin time is over (0). */
static int
spin(struct tp_pool *p, int (*ready)(struct tp_pool *, uint64_t), uint64_t arg)
{
	long spin_ns = atomic_load_explicit(&p->spin_ns, memory_order_relaxed);
	struct timespec t0;

	if (spin_ns <= 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 1;; i++) {
		if (ready(p, arg))
			return 1;
		relax();
		if (i % 64 == 0 && give_way(&t0, spin_ns))
			return 0;
	}
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct tp_pool *p = w->p;
	uint64_t seen = 0;

	for (;;) {
		void (*fn)(void *, size_t, size_t);
		void *a;
		size_t len;
		int parts;

		spin(p, gen_moved, seen);
		pthread_mutex_lock(&p->mu);
		while (atomic_load(&p->gen) == seen && !p->quit)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		seen = atomic_load(&p->gen);
		fn = p->fn;
		a = p->arg;
		len = p->len;
		parts = p->parts;
		pthread_mutex_unlock(&p->mu);
		if (w->index < parts)
			fn(a, bound(len, w->index, parts), bound(len, w->index + 1, parts));
		pthread_mutex_lock(&p->mu);
		if (atomic_fetch_sub(&p->pending, 1) == 1)
			pthread_cond_signal(&p->done);
		pthread_mutex_unlock(&p->mu);
	}
}

struct tp_pool *
tp_pool_new(int n)
{
	struct tp_pool *p = tp_xcalloc(1, sizeof *p);

	p->n = 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	if (n > 1) {
		p->w = tp_xcalloc((size_t)n - 1, sizeof *p->w);
		for (int i = 0; i < n - 1; i++) {
			p->w[p->nw] = (struct worker){p, p->nw + 1, 0};
			if (pthread_create(&p->w[p->nw].th, NULL, work, &p->w[p->nw]) != 0)
				break;
			p->nw++;
		}
		p->n = p->nw + 1;
	}
	return p;
}

void
tp_pool_free(struct tp_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nw; i++)
		pthread_join(p->w[i].th, NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	free(p->w);
	free(p);
}

void
tp_pool_set_spin(struct tp_pool *p, long usec)
{
	if (p)
		atomic_store_explicit(&p->spin_ns, usec > 0 ? usec * 1000 : 0,
		                      memory_order_relaxed);
}

int
tp_pool_threads(const struct tp_pool *p)
{
	return p ? p->n : 1;
}

void
tp_pool_for(struct tp_pool *p, size_t n, size_t min_chunk,
            void (*fn)(void *arg, size_t lo, size_t hi), void *arg)
{
	size_t per = min_chunk > 16 ? min_chunk : 16;
	int parts = p ? p->n : 1;

	if ((size_t)parts > n / per)
		parts = (int)(n / per);
	if (parts <= 1 || atomic_load(&p->busy)) {
		fn(arg, 0, n);
		return;
	}
	atomic_store(&p->busy, 1);
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->arg = arg;
	p->len = n;
	p->parts = parts;
	atomic_store(&p->pending, p->nw);
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	fn(arg, 0, bound(n, 1, parts));
	if (!spin(p, all_done, 0)) {
		pthread_mutex_lock(&p->mu);
		while (atomic_load(&p->pending) > 0)
			pthread_cond_wait(&p->done, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
	atomic_store(&p->busy, 0);
}
