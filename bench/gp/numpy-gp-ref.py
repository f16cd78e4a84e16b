#!/usr/bin/env python3
"""Print the reference values pinned in tests/unit/test-gp.c.

An independent implementation of the GP in lib/gp.c: Matern 5/2 with one
lengthscale per dimension, a categorical dimension contributing
[x != x'] / l^2 to r^2, constant mean, signal and noise variance.  numpy
dense algebra (no Cholesky tricks) for the log marginal likelihood and the
posterior; mpmath at 50 digits for log h(z) = log(phi(z) + z Phi(z)).

usage: /usr/bin/python3 bench/gp/numpy-gp-ref.py   (Debian: python3-numpy,
python3-mpmath)
"""
import math

import mpmath
import numpy as np

# Dimension 0 continuous, 1 categorical (3 levels), 2 continuous.
LEVELS = [0, 3, 0]
X = np.array([[0.10, 0, 0.90], [0.35, 2, 0.20], [0.60, 1, 0.55],
              [0.85, 0, 0.05], [0.20, 1, 0.40], [0.95, 2, 0.75]])
Y = np.array([0.3, -1.2, 0.8, 1.5, -0.4, 0.1])
# [log l0, log l1, log l2, log s2, log noise, mean]
THETA = [math.log(0.3), math.log(0.7), math.log(1.5), math.log(1.4),
         math.log(0.05), 0.2]
TEST = np.array([[0.5, 1, 0.5], [0.0, 2, 1.0]])


def kern(a, b, th):
    r2 = 0.0
    for j, k in enumerate(LEVELS):
        inv = math.exp(-2 * th[j])
        r2 += (a[j] != b[j]) * inv if k else (a[j] - b[j]) ** 2 * inv
    s = math.sqrt(5 * r2)
    return math.exp(th[3]) * (1 + s + s * s / 3) * math.exp(-s)


def main():
    n = len(Y)
    K = np.array([[kern(X[i], X[j], THETA) for j in range(n)]
                  for i in range(n)])
    Kn = K + math.exp(THETA[4]) * np.eye(n)
    r = Y - THETA[5]
    sign, logdet = np.linalg.slogdet(Kn)
    alpha = np.linalg.solve(Kn, r)
    lml = -0.5 * r @ alpha - 0.5 * logdet - 0.5 * n * math.log(2 * math.pi)
    print("static const double ref_lml = %.17g;" % lml)
    for t, x in enumerate(TEST):
        k = np.array([kern(x, X[i], THETA) for i in range(n)])
        mean = THETA[5] + k @ alpha
        var = math.exp(THETA[3]) - k @ np.linalg.solve(Kn, k)
        print("static const double ref_mean%d = %.17g, ref_var%d = %.17g;"
              % (t, mean, t, var))
    mpmath.mp.dps = 50
    zs = [3.0, 0.5, -0.5, -2.0, -8.0, -19.5, -25.0, -40.0, -1000.0]
    vals = []
    for z in zs:
        z = mpmath.mpf(z)
        h = mpmath.npdf(z) + z * mpmath.ncdf(z)
        vals.append(mpmath.log(h))
    print("static const double ref_z[%d] = {%s};" % (
        len(zs), ", ".join("%g" % z for z in zs)))
    print("static const double ref_logh[%d] = {%s};" % (
        len(zs), ",\n\t".join(mpmath.nstr(v, 17) for v in vals)))


main()
