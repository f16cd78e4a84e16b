#!/usr/bin/env python3
"""scipy.stats.qmc at the same task as qmc-bench.c: 2^20 points in 10
dimensions, scrambled Sobol and scrambled Halton, best of 5, in one run;
the import time is printed separately."""
import time

t0 = time.perf_counter()
from scipy.stats import qmc  # noqa: E402
t_import = time.perf_counter() - t0
print("scipy import scipy.stats.qmc: %.0f ms" % (t_import * 1e3))
for name, make in (("sobol", lambda s: qmc.Sobol(d=10, scramble=True, seed=s)),
                   ("halton", lambda s: qmc.Halton(d=10, scramble=True, seed=s))):
    best = 1e9
    for rep in range(5):
        t0 = time.perf_counter()
        make(rep).random(1 << 20)
        best = min(best, time.perf_counter() - t0)
    print("scipy %-6s 2^20 x 10: %.1f ms" % (name, best * 1e3))
