#!/usr/bin/env python3
"""The peer for bench-gp: Optuna's default sampler (TPE) on the same problems.

Same protocol as bench/gp/bench-gp.c: 8 random initial trials (TPE's
n_startup_trials), then the sampler, `budget` trials in all; regret is the
noiseless value of the trial with the best observed objective; a NaN
objective is a failed (diverged) trial.  Prints mean regret and the mean
time of one ask().  Needs Debian's python3-optuna (3.1 has no GP sampler).

usage: /usr/bin/python3 bench/gp/optuna-tpe.py [seeds]
"""
import math
import sys
import time

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin(u):
    x1, x2 = -5 + 15 * u[0], 15 * u[1]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    a = x2 - b * x1 * x1 + c * x1 - 6
    return a * a + 10 * (1 - t) * math.cos(x1) + 10 - 0.397887357729738


AL = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
     [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
     [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
     [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
     [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]


def hartmann6(x):
    f = 0.0
    for i in range(4):
        s = sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6))
        f -= AL[i] * math.exp(-s)
    return f + 3.32236801141551


def lr_valley(u):
    lg = -5 + 5 * u[0]
    return (lg + 2.7) ** 2 + 0.05 * (u[1] - 0.3) ** 2


def branin_cliff(u):
    return 1e4 if u[0] > 0.85 else branin(u)


def plateau_cliff(u):
    return 1e4 if u[0] > 0.85 else min(branin(u), 15.0)


def branin_diverge(u):
    return math.nan if u[0] > 0.85 else branin(u)


def mixed(u):
    lstar, floor = [-3.5, -2, -1], [0.3, 0, 0.5]
    c, lg = int(u[1]), -5 + 5 * u[0]
    return (lg - lstar[c]) ** 2 + floor[c] + 0.05 * (u[2] - 0.3) ** 2


# (name, levels per dimension (0 = continuous), f, noise)
PROBLEMS = [("Branin", [0, 0], branin, 0.0),
            ("Hartmann-6", [0] * 6, hartmann6, 0.0),
            ("lr-valley+noise", [0, 0], lr_valley, 0.1),
            ("branin-cliff", [0, 0], branin_cliff, 0.0),
            ("branin-diverge", [0, 0], branin_diverge, 0.0),
            ("plateau-cliff", [0, 0], plateau_cliff, 0.0),
            ("mixed-cat", [0, 3, 0], mixed, 0.0)]


def run(levels, f, noise, budget, seed):
    sampler = optuna.samplers.TPESampler(n_startup_trials=8, seed=seed)
    study = optuna.create_study(sampler=sampler)
    rng = np.random.default_rng(seed + 99)
    best, regret, ask_s = math.inf, math.inf, 0.0
    for _ in range(budget):
        t0 = time.perf_counter()
        trial = study.ask()
        u = [trial.suggest_categorical("x%d" % j, list(range(k))) if k
             else trial.suggest_float("x%d" % j, 0.0, 1.0)
             for j, k in enumerate(levels)]
        ask_s += time.perf_counter() - t0
        fv = f(u)
        if math.isnan(fv):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        y = fv + noise * rng.standard_normal()
        study.tell(trial, y)
        if y < best:
            best, regret = y, fv
    return regret, ask_s / budget


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    print("%-16s %6s %12s %12s" % ("problem", "budget", "TPE regret", "ms/ask"))
    for name, levels, f, noise in PROBLEMS:
        for budget in (30, 60):
            rs, ts = zip(*(run(levels, f, noise, budget, 1000 + s)
                           for s in range(seeds)))
            print("%-16s %6d %12.4g %12.1f" % (name, budget, sum(rs) / seeds,
                                                1e3 * sum(ts) / seeds))
            sys.stdout.flush()


main()
