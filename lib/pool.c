/*
 * pool.c: persistent worker threads woken per loop by a generation count.
 * Workers block on a condition variable between loops (no spinning: the
 * cores belong to OpenBLAS's threads the rest of the time).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

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
	uint64_t gen;
	int pending, quit;
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

		pthread_mutex_lock(&p->mu);
		while (p->gen == seen && !p->quit)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		seen = p->gen;
		fn = p->fn;
		a = p->arg;
		len = p->len;
		parts = p->parts;
		pthread_mutex_unlock(&p->mu);
		if (w->index < parts)
			fn(a, bound(len, w->index, parts), bound(len, w->index + 1, parts));
		pthread_mutex_lock(&p->mu);
		if (--p->pending == 0)
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
	if (parts <= 1) {
		fn(arg, 0, n);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->fn = fn;
	p->arg = arg;
	p->len = n;
	p->parts = parts;
	p->pending = p->nw;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	fn(arg, 0, bound(n, 1, parts));
	pthread_mutex_lock(&p->mu);
	while (p->pending > 0)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}
