#!/usr/bin/python3
"""gen_optim_fixtures.py: reference values for tp's optimizers, gradient
clipping and learning-rate schedules, written by PyTorch.

tests/unit/test-optim.c and tests/unit/test-schedule.c read the files this
writes (tests/fixtures/optim-*.txt) and need no Python.  Rerun it after
changing a case; the output is deterministic:

    /usr/bin/python3 tests/torch/gen_optim_fixtures.py tests/fixtures

Debian's python3-torch (1.13) is the reference: torch.optim.SGD (momentum,
nesterov, dampening 0), Adam, AdamW on their default single-tensor path,
and torch.nn.utils.clip_grad_norm_.  The learning rate of update s is the
closed form of include/tp/schedule.h, lr(s) = f(s + 1), evaluated here in
float64 with the same operations as lib/schedule.c; the schedule file also
holds torch.optim.lr_scheduler's value where an equivalent scheduler exists.

Optimizer file format, one item per line, vectors space-separated:
    # comment
    optimizer NAME | momentum X | beta1 X | beta2 X | epsilon X
    weight_decay X | clip_norm X (0: none) | no_decay OFF LEN (repeatable)
    schedule NAME | base_lr X | max_steps N | warmup_steps N
    final_fraction X | n N | steps N
    p0 <n floats>                      the parameters before step 0
    step S                             then, for update S:
    lr X                               the learning rate used (float64)
    grad <n floats>                    the gradient given
    norm X                             clip_grad_norm_'s total norm
    clipped <n floats>                 the gradient after clipping
    param <n floats>                   the parameters after the update
The *-quadratic files are long runs whose gradient is computed from the
parameters, g = curv * (p - target) in float32: they add "curv" and
"target" vectors after p0, give lr for every update but norm and param
only every 50 updates, and no grad or clipped lines.
"""

import math
import os
import struct
import sys

import torch

N = 37  # not a multiple of 4 or 8: the SIMD loops' tails are exercised
STEPS = 20


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def sched_lr(kind, base, m, w, frac, s):
    """lib/schedule.c's tp_schedule_lr, operation for operation."""
    x = s + 1 if s < m else m
    final = base * frac
    if x < w:
        return base * float(x) / float(w)
    if m == w:
        return base
    t = float(x - w) / float(m - w)
    if kind == "linear":
        return base * (1 - t) + final * t
    if kind == "cosine":
        c = 0.5 * (1 + math.cos(math.pi * t))
        return base * c + final * (1 - c)
    return base


def init_params():
    return [f32(0.8 * math.cos(0.9 * i)) for i in range(N)]


def grad_at(k):
    # Element 0 is always zero (Adam's 0/(0+eps) case); the per-step scale
    # varies so that clipping bites on some steps and not on others.
    scale = 0.06 * (1 + (k % 5))
    return [0.0] + [f32(scale * math.sin(0.37 * i + 1.1 * k + 0.5))
                    for i in range(1, N)]


def fmt(v):
    return " ".join("%.9g" % x for x in v)


CASES = [
    # name, optimizer, hyperparameters, schedule, clip, no-decay ranges
    ("sgd", "sgd", {}, ("constant", 0.1, STEPS, 0, 0.0), 0, []),
    ("sgd-wd-linear", "sgd", {"weight_decay": 0.01},
     ("linear", 0.2, STEPS, 5, 0.1), 0, []),
    ("momentum-cosine", "momentum", {"momentum": 0.9},
     ("cosine", 0.05, STEPS, 3, 0.0), 0, []),
    ("momentum-wd-clip", "momentum", {"momentum": 0.8, "weight_decay": 5e-4},
     ("constant", 0.1, STEPS, 0, 0.0), 1.0, []),
    ("nesterov-wd", "nesterov", {"momentum": 0.9, "weight_decay": 1e-3},
     ("linear", 0.05, STEPS, 0, 0.0), 0, []),
    ("nesterov-nodecay-clip", "nesterov", {"momentum": 0.95,
                                           "weight_decay": 0.05},
     ("cosine", 0.05, STEPS, 4, 0.2), 0.5, [(3, 5), (30, 7)]),
    ("adam", "adam", {}, ("constant", 0.01, STEPS, 0, 0.0), 0, []),
    ("adam-wd-clip", "adam", {"weight_decay": 0.01, "beta1": 0.8,
                              "beta2": 0.99, "epsilon": 1e-6},
     ("cosine", 0.02, STEPS, 4, 0.05), 0.5, []),
    ("adamw", "adamw", {"weight_decay": 0.1},
     ("cosine", 0.01, STEPS, 0, 0.1), 0, []),
    ("adamw-nodecay", "adamw", {"weight_decay": 0.5},
     ("linear", 0.03, STEPS, 2, 0.0), 0.8, [(0, 4), (20, 3)]),
]

DEFAULTS = {"momentum": 0.9, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
            "weight_decay": 0.0}


def segments(ranges):
    """(off, len, decays) pieces covering [0, N), in order."""
    out, pos = [], 0
    for off, ln in sorted(ranges):
        if off > pos:
            out.append((pos, off - pos, True))
        out.append((off, ln, False))
        pos = off + ln
    if pos < N:
        out.append((pos, N - pos, True))
    return out


def make_optimizer(kind, hp, groups):
    if kind in ("sgd", "momentum", "nesterov"):
        mom = 0.0 if kind == "sgd" else hp["momentum"]
        return torch.optim.SGD(groups, lr=1.0, momentum=mom, dampening=0,
                               nesterov=kind == "nesterov", foreach=False)
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return cls(groups, lr=1.0, betas=(hp["beta1"], hp["beta2"]),
               eps=hp["epsilon"], foreach=False)


def start_case(case, steps):
    """What both kinds of case share: the hyperparameters, the parameter
    segments (one torch group each, decay off in the no-decay ranges), the
    optimizer, and the fixture's header lines up to p0."""
    name, kind, over, (sk, base, m, w, frac), clip, ranges = case
    hp = dict(DEFAULTS, **over)
    segs = segments(ranges)
    p0 = init_params()
    params = [torch.tensor(p0[o:o + ln], dtype=torch.float32)
              for o, ln, _ in segs]
    groups = [{"params": [t], "weight_decay": hp["weight_decay"] if dec else 0.0}
              for t, (_, _, dec) in zip(params, segs)]
    opt = make_optimizer(kind, hp, groups)
    lines = ["# optim-%s.txt: written by tests/torch/gen_optim_fixtures.py "
             "with torch %s; do not edit" % (name, torch.__version__),
             "optimizer %s" % kind]
    for key in ("momentum", "beta1", "beta2", "epsilon", "weight_decay"):
        lines.append("%s %.17g" % (key, hp[key]))
    lines.append("clip_norm %.17g" % clip)
    for off, ln in ranges:
        lines.append("no_decay %d %d" % (off, ln))
    lines += ["schedule %s" % sk, "base_lr %.17g" % base, "max_steps %d" % m,
              "warmup_steps %d" % w, "final_fraction %.17g" % frac,
              "n %d" % N, "steps %d" % steps, "p0 " + fmt(p0)]
    return segs, params, opt, lines


def write_case(outdir, case):
    name, _, _, (sk, base, m, w, frac), clip, _ = case
    segs, params, opt, lines = start_case(case, STEPS)
    for k in range(STEPS):
        lr = sched_lr(sk, base, m, w, frac, k)
        g = grad_at(k)
        for grp in opt.param_groups:
            grp["lr"] = lr
        for t, (o, ln, _) in zip(params, segs):
            t.grad = torch.tensor(g[o:o + ln], dtype=torch.float32)
        # An unreachable max_norm measures without clipping (coef clamps to 1).
        norm = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else 1e30)
        clipped = torch.cat([t.grad for t in params]).tolist()
        opt.step()
        with torch.no_grad():
            after = torch.cat([t.detach() for t in params]).tolist()
        lines += ["step %d" % k, "lr %.17g" % lr, "grad " + fmt(g),
                  "norm %.9g" % float(norm), "clipped " + fmt(clipped),
                  "param " + fmt(after)]
    with open(os.path.join(outdir, "optim-%s.txt" % name), "w") as f:
        f.write("\n".join(lines) + "\n")


SCHEDULES = [
    # kind, base, max_steps, warmup, final_fraction
    ("constant", 0.1, 10, 0, 0.0),
    ("constant", 0.1, 10, 4, 0.5),
    ("linear", 0.3, 12, 0, 0.0),
    ("linear", 0.3, 12, 0, 0.25),
    ("linear", 1.0, 9, 3, 0.1),
    ("cosine", 0.5, 16, 0, 0.0),
    ("cosine", 0.5, 16, 0, 0.1),
    ("cosine", 2e-3, 25, 5, 0.01),
    ("cosine", 0.1, 7, 7, 0.0),
    ("linear", 0.1, 1, 0, 0.5),
]


def torch_lrs(kind, base, m, w, frac):
    """torch.optim.lr_scheduler's lr for updates 0..m-1 where a built-in
    scheduler has our shape, else None.  Ours is that scheduler one epoch
    later: lr(s) = f(s + 1)."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    if w == 0 and kind == "linear":
        sch = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0,
                                                end_factor=frac, total_iters=m)
    elif w == 0 and kind == "cosine":
        sch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=m,
                                                         eta_min=base * frac)
    elif w == m and w >= 2:
        # All warmup: LinearLR from 1/W reaches 1 after W-1 steps, and
        # shifting by one is already built into its start factor.
        sch = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / w,
                                                end_factor=1.0,
                                                total_iters=w - 1)
        out = []
        for _ in range(m):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sch.step()
        return out
    else:
        return None
    out = []
    for _ in range(m):
        opt.step()
        sch.step()
        out.append(opt.param_groups[0]["lr"])
    return out


QUAD_STEPS = 300

QUAD_CASES = [
    ("adam-quadratic", "adam", {"weight_decay": 1e-3},
     ("cosine", 0.05, QUAD_STEPS, 30, 0.0), 2.0, [(0, 5)]),
    ("nesterov-quadratic", "nesterov", {"momentum": 0.9, "weight_decay": 1e-3},
     ("linear", 0.02, QUAD_STEPS, 10, 0.1), 5.0, []),
    ("adamw-quadratic", "adamw", {"weight_decay": 0.05},
     ("cosine", 0.02, QUAD_STEPS, 0, 0.1), 0, [(30, 7)]),
]


def write_quadratic_case(outdir, case):
    """A long run whose gradient depends on the parameters, as in training:
    g = curv * (p - target), elementwise in float32 (the same bits in C
    and torch), so any drift between tp and torch would compound."""
    name, _, _, (sk, base, m, w, frac), clip, _ = case
    segs, params, opt, lines = start_case(case, QUAD_STEPS)
    curv = [f32(0.05 + 2.0 * (i % 7) / 7.0) for i in range(N)]
    target = [f32(0.3 * math.sin(1.7 * i)) for i in range(N)]
    cs = [torch.tensor(curv[o:o + ln], dtype=torch.float32) for o, ln, _ in segs]
    ts = [torch.tensor(target[o:o + ln], dtype=torch.float32)
          for o, ln, _ in segs]
    lines += ["curv " + fmt(curv), "target " + fmt(target)]
    for k in range(QUAD_STEPS):
        lr = sched_lr(sk, base, m, w, frac, k)
        for grp in opt.param_groups:
            grp["lr"] = lr
        with torch.no_grad():
            for t, c, tg in zip(params, cs, ts):
                t.grad = c * (t - tg)
        norm = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else 1e30)
        opt.step()
        lines += ["step %d" % k, "lr %.17g" % lr]
        if (k + 1) % 50 == 0:
            with torch.no_grad():
                after = torch.cat([t.detach() for t in params]).tolist()
            lines += ["norm %.9g" % float(norm), "param " + fmt(after)]
    with open(os.path.join(outdir, "optim-%s.txt" % name), "w") as f:
        f.write("\n".join(lines) + "\n")


def write_schedules(outdir):
    lines = ["# optim-schedules.txt: written by tests/torch/gen_optim_fixtures.py "
             "with torch %s; do not edit" % torch.__version__,
             "# schedule KIND BASE MAX WARMUP FRACTION, then one line per "
             "update: lr STEP CLOSED_FORM TORCH (- when torch has no "
             "equivalent scheduler)"]
    for kind, base, m, w, frac in SCHEDULES:
        lines.append("schedule %s %.17g %d %d %.17g" % (kind, base, m, w, frac))
        ref = torch_lrs(kind, base, m, w, frac)
        for s in range(m):
            lr = sched_lr(kind, base, m, w, frac, s)
            lines.append("lr %d %.17g %s" % (s, lr, "-" if ref is None
                                             else "%.17g" % ref[s]))
    with open(os.path.join(outdir, "optim-schedules.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    torch.set_num_threads(1)
    for case in CASES:
        write_case(outdir, case)
    for case in QUAD_CASES:
        write_quadratic_case(outdir, case)
    write_schedules(outdir)


if __name__ == "__main__":
    main()
