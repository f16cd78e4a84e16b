/*
 * pool.h: a few persistent threads for loops cut into contiguous ranges,
 * one per thread: tp-train's matrix products (tp_sgemm_pool cuts each into
 * blocks) and its optimizer update.  An element-wise loop computes every
 * element by the same code whatever the cut, so its results do not depend
 * on the thread count.
 */
#ifndef TP_POOL_H
#define TP_POOL_H

#include <stddef.h>

struct tp_pool;

/* A pool of n threads, the caller's included (n - 1 are started; n <= 1:
 * none, every loop runs in the caller).  Never NULL: a thread that cannot
 * be started leaves its share to the others. */
struct tp_pool *tp_pool_new(int n);
/* Let waiting threads spin for usec microseconds before they block (the
 * default, 0, blocks at once).  For pools that run many short loops, such
 * as the parts of every matrix product of a training step; a spinning
 * thread holds its core, so this suits a pool that owns the cores. */
void tp_pool_set_spin(struct tp_pool *p, long usec);
/* Stop the threads and free (accepts NULL). */
void tp_pool_free(struct tp_pool *p);
/* Threads the pool runs loops on, the caller's included. */
int tp_pool_threads(const struct tp_pool *p);
/*
 * fn(arg, lo, hi) over ranges that cover [0, n), at most one per thread and
 * none shorter than min_chunk elements (so small loops stay in the caller);
 * range bounds are multiples of 16 elements (64-byte floats, no shared
 * cache lines).  Returns when every range is done.  p NULL: one range.
 * One caller at a time; a loop started from inside a loop of the same pool
 * (by fn, on any of its threads) runs whole in the thread that starts it.
 */
void tp_pool_for(struct tp_pool *p, size_t n, size_t min_chunk,
                 void (*fn)(void *arg, size_t lo, size_t hi), void *arg);

#endif
