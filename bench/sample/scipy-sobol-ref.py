#!/usr/bin/env python3
"""Print the unscrambled Sobol reference values pinned in tests/unit/test-qmc.c.

Made with Debian's python3-scipy (scipy.stats.qmc.Sobol, scramble=False, the
Joe-Kuo new-joe-kuo-6.21201 numbers in Gray-code order), independently of
tp's code: the first 32 points of some dimensions as integers x * 2^5, and
points 1000 and 2^20 - 1 as integers x * 2^30.

usage: /usr/bin/python3 bench/sample/scipy-sobol-ref.py
"""
from scipy.stats import qmc

DIMS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 63, 511, 1023]
s = qmc.Sobol(d=1024, scramble=False)
first = s.random(32)
print("static const int ref_first[%d][32] = {" % len(DIMS))
for d in DIMS:
    print("\t{%s}," % ", ".join(str(int(round(first[i, d] * 32))) for i in range(32)))
print("};")
for idx in (1000, (1 << 20) - 1):
    s = qmc.Sobol(d=1024, scramble=False)
    s.fast_forward(idx)
    p = s.random(1)[0]
    print("static const long ref_at_%d[%d] = {%s};" % (
        idx, len(DIMS), ", ".join(str(int(round(p[d] * (1 << 30)))) for d in DIMS)))
