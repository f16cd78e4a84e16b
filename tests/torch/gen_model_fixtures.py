#!/usr/bin/python3
"""Write tests/fixtures/model-*.txt: PyTorch's forward and backward of the
MLPs of lib/model.c, read back by tests/unit/test-model.c (which needs no
Python: CI has no torch).

Each case builds a small MLP with the architecture documented in
include/tp/model.h, draws its parameters with torch (float32 values, so both
sides start from identical numbers), runs one training step's forward and
backward in float64 (the trusted reference), then an evaluation pass with the
updated batch norm running statistics.  Layers come from torch.nn.functional
and torch.nn (LayerNorm, BatchNorm1d with momentum 0.1 and unbiased running
variance, CrossEntropyLoss with label_smoothing, MSELoss); only ghost batch
norm (several groups, or padding rows) is written out by hand, following the
definition in model.h, because torch has no ghost batch norm.

Run with Debian's python3-torch:  /usr/bin/python3 tests/torch/gen_model_fixtures.py
The output is deterministic (fixed seeds): rerunning rewrites identical files.
"""
import os
import sys

import torch
import torch.nn.functional as F

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(TOP, "tests", "fixtures")
EPS = 1e-5
MOMENTUM = 0.1

CASES = [
    # name, config, batch size, padding rows (weight 0)
    ("relu-plain", dict(inputs=6, outputs=4, depth=2, width=16, act="relu"), 10, [3]),
    ("gelu-layer-residual-smooth",
     dict(inputs=5, outputs=3, depth=3, width=12, act="gelu", norm="layer",
          residual=1, label_smoothing=0.1), 10, [7]),
    ("tanh-batch-residual-rezero",
     dict(inputs=5, outputs=4, depth=3, width=12, act="tanh", norm="batch",
          residual=1, rezero=1), 16, []),
    ("relu-batch-ghost3",
     dict(inputs=6, outputs=3, depth=2, width=10, act="relu", norm="batch",
          ghost_batch=4), 12, []),
    ("gelu-batch-ghost-pad",
     dict(inputs=4, outputs=3, depth=3, width=8, act="gelu", norm="batch",
          residual=1, ghost_batch=4), 11, [5]),
    ("mse-gelu-layer",
     dict(inputs=5, outputs=2, depth=2, width=9, act="gelu", norm="layer",
          loss="mse"), 9, [0]),
    ("mse-tanh-batch",
     dict(inputs=3, outputs=1, depth=2, width=7, act="tanh", norm="batch",
          loss="mse"), 8, []),
    ("linear-xent", dict(inputs=7, outputs=5, depth=0, width=0), 6, [2]),
]

DEFAULTS = dict(act="relu", norm="none", residual=0, rezero=0,
                ghost_batch=64, loss="xent", label_smoothing=0.0)


def param_names(c):
    """Parameter views in lib/model.c's layout order, with shapes."""
    out = []
    fan = c["inputs"]
    for l in range(1, c["depth"] + 1):
        H = c["width"]
        out.append((f"layer{l}.weight", (H, fan)))
        out.append((f"layer{l}.bias", (H,)))
        if c["norm"] != "none":
            out.append((f"layer{l}.norm.weight", (H,)))
            out.append((f"layer{l}.norm.bias", (H,)))
        if c["residual"] and c["rezero"] and l >= 2:
            out.append((f"layer{l}.alpha", (1,)))
        fan = H
    out.append(("out.weight", (c["outputs"], fan)))
    out.append(("out.bias", (c["outputs"],)))
    return out


def buffer_names(c):
    if c["norm"] != "batch":
        return []
    out = []
    for l in range(1, c["depth"] + 1):
        out.append((f"layer{l}.norm.running_mean", (c["width"],)))
        out.append((f"layer{l}.norm.running_var", (c["width"],)))
    return out


def act(c, x):
    return {"relu": torch.relu, "tanh": torch.tanh,
            "gelu": lambda t: F.gelu(t)}[c["act"]](x)


def groups(n_real, ghost):
    """model.h: ceil(n / ghost) groups of near-equal size, in order."""
    G = max(1, -(-n_real // ghost))
    return [(g * n_real // G, (g + 1) * n_real // G) for g in range(G)]


def batch_norm(c, l, x, P, B, real, train):
    g, b = P[f"layer{l}.norm.weight"], P[f"layer{l}.norm.bias"]
    rm, rv = B[f"layer{l}.norm.running_mean"], B[f"layer{l}.norm.running_var"]
    if not train:
        return F.batch_norm(x, rm, rv, g, b, training=False, eps=EPS)
    idx = torch.tensor(real)
    parts = groups(len(real), c["ghost_batch"])
    if len(parts) == 1 and len(real) == x.shape[0]:
        # torch's own BatchNorm1d, running statistics and all.
        bn = torch.nn.BatchNorm1d(x.shape[1], eps=EPS, momentum=MOMENTUM,
                                  dtype=torch.float64)
        with torch.no_grad():
            bn.running_mean.copy_(rm)
            bn.running_var.copy_(rv)
            bn.weight.copy_(g)
            bn.bias.copy_(b)
        bn.train()
        ref = bn(x.detach())
        rm.copy_(bn.running_mean)
        rv.copy_(bn.running_var)
        # The graph must reach P's own tensors: the same op through F.
        y = F.batch_norm(x, None, None, g, b, training=True, eps=EPS)
        assert torch.allclose(y, ref, rtol=1e-12, atol=1e-12)
        return y
    # ghost groups over the weighted rows; padding rows come out as the bias
    y = b.expand(x.shape[0], -1).clone()
    xr = x[idx]
    outs, mean_acc, var_acc = [], 0, 0
    for lo, hi in parts:
        xg = xr[lo:hi]
        outs.append(F.batch_norm(xg, None, None, g, b, training=True, eps=EPS))
        mean_acc = mean_acc + xg.detach().mean(0) * (hi - lo)
        var_acc = var_acc + xg.detach().var(0, unbiased=True) * (hi - lo)
    y = y.index_put((idx,), torch.cat(outs))
    rm.mul_(1 - MOMENTUM).add_(MOMENTUM * mean_acc / len(real))
    rv.mul_(1 - MOMENTUM).add_(MOMENTUM * var_acc / len(real))
    return y


def norm(c, l, x, P, B, real, train):
    if c["norm"] == "layer":
        H = x.shape[1]
        return F.layer_norm(x, (H,), P[f"layer{l}.norm.weight"],
                            P[f"layer{l}.norm.bias"], eps=EPS)
    if c["norm"] == "batch":
        return batch_norm(c, l, x, P, B, real, train)
    return x


def forward(c, P, B, x, real, train):
    h = x
    for l in range(1, c["depth"] + 1):
        z = F.linear(h, P[f"layer{l}.weight"], P[f"layer{l}.bias"])
        if c["residual"] and l >= 2:
            br = norm(c, l, act(c, z), P, B, real, train)
            a = P[f"layer{l}.alpha"] if c["rezero"] else 1.0
            h = h + a * br
        else:
            h = act(c, norm(c, l, z, P, B, real, train))
    return F.linear(h, P["out.weight"], P["out.bias"])


def per_example(c, z, y, t):
    if c["loss"] == "xent":
        return torch.nn.CrossEntropyLoss(
            reduction="none", label_smoothing=c["label_smoothing"])(z, y)
    return torch.nn.MSELoss(reduction="none")(z, t).mean(1)


def fmt(v):
    return " ".join(repr(float(a)) for a in v)


def f32(t):
    """The float32 value both sides use, as float64 for the reference."""
    return t.to(torch.float32).to(torch.float64)


def make_case(name, conf, n, pad, seed):
    c = dict(DEFAULTS, **conf)
    torch.manual_seed(seed)
    D, K = c["inputs"], c["outputs"]
    P = {}
    for pn, shape in param_names(c):
        if pn.endswith("alpha"):
            v = torch.full(shape, 0.5)  # nonzero: the branch takes part
        elif pn.endswith("norm.weight"):
            v = 1 + 0.2 * torch.randn(shape)
        elif pn.endswith(".weight"):
            v = torch.randn(shape) / shape[1] ** 0.5
        else:
            v = 0.1 * torch.randn(shape)
        P[pn] = f32(v).requires_grad_(True)
    B = {}
    for bn, shape in buffer_names(c):
        if bn.endswith("mean"):
            B[bn] = f32(0.1 * torch.randn(shape))
        else:
            B[bn] = f32(1 + 0.5 * torch.rand(shape))
    B0 = {k: v.clone() for k, v in B.items()}
    x = f32(torch.randn(n, D))
    y = torch.randint(0, K, (n,))
    t = f32(torch.randn(n, K))
    w = f32(0.5 + torch.rand(n))
    for i in pad:
        w[i] = 0
    real = [i for i in range(n) if w[i] > 0]

    z = forward(c, P, B, x, real, True)
    loss = (w * per_example(c, z, y, t)).sum() / w.sum()
    loss.backward()
    with torch.no_grad():
        ze = forward(c, P, B, x, real, False)
        le = per_example(c, ze, y, t) * (w > 0)

    lines = [f"# written by tests/torch/gen_model_fixtures.py with torch "
             f"{torch.__version__}; do not edit",
             "config " + " ".join(f"{k} {c[k]}" for k in
                                  ["inputs", "outputs", "depth", "width", "act",
                                   "norm", "residual", "rezero", "ghost_batch",
                                   "loss", "label_smoothing"]),
             f"n {n}",
             f"x {n * D} " + fmt(x.flatten()),
             f"label {n} " + " ".join(str(int(v)) for v in y),
             f"target {n * K} " + fmt(t.flatten()),
             f"w {n} " + fmt(w)]
    for pn, _ in param_names(c):
        lines.append(f"param {pn} {P[pn].numel()} " + fmt(P[pn].detach().flatten()))
    for bn, _ in buffer_names(c):
        lines.append(f"buffer {bn} {B0[bn].numel()} " + fmt(B0[bn]))
    lines.append(f"loss {float(loss)!r}")
    for pn, _ in param_names(c):
        lines.append(f"grad {pn} {P[pn].numel()} " + fmt(P[pn].grad.flatten()))
    for bn, _ in buffer_names(c):
        lines.append(f"buffer_after {bn} {B[bn].numel()} " + fmt(B[bn]))
    lines.append(f"eval_out {n * K} " + fmt(ze.flatten()))
    lines.append(f"eval_loss {n} " + fmt(le))
    lines.append("end")
    path = os.path.join(OUT, f"model-{name}.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(path, f"loss {float(loss):.6f}", file=sys.stderr)


def main():
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    for i, (name, conf, n, pad) in enumerate(CASES):
        make_case(name, conf, n, pad, 1000 + i)


if __name__ == "__main__":
    main()
