#!/usr/bin/python3
"""train.py: a PyTorch trainer that speaks tp's records (tp-records(5)).

It trains a model tp-train does not build -- here a PyTorch MLP -- from a
trial record of tp-sample(1), and writes the metrics stream that tp's tools
read: a "config" record naming study, trial and params, "train" and "eval"
records with "step" and numeric metrics, and "checkpoint" records whose
paths are torch.save files.  tp-ckpt-select(1) then picks the best torch
checkpoint, tp-track(1) keeps the study, and tp-sample -m bayes proposes the
next trials from these streams, exactly as for tp-train.

  train.py --trial FILE [--trial-index N] -d RUN_DIR --valid FILE TRAIN
  train.py --eval CHECKPOINT... --data FILE [--split NAME] [-o FILE]

Datasets are tp-data(1) files (zstd ones are read through `tp-cat -m`).
Same trial, same seed and same thread count: the same bytes.  Exit status:
0 done, 2 usage or hyperparameters, 3 bad input or I/O, 4 diverged.
"""
import argparse
import gzip
import math
import os
import subprocess
import sys

import msgpack
import numpy as np
import torch

PROG = "train.py"

# The hyperparameters this trainer knows, with tp-train's names and
# defaults, so one search space serves both trainers.
DEFAULTS = {
    "depth": 2, "width": 256, "activation": "relu", "dropout": 0.0,
    "optimizer": "adam", "lr": 1e-3, "momentum": 0.9, "beta1": 0.9,
    "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.0,
    "schedule": "cosine", "warmup_steps": 0, "steps": 1000,
    "batch_size": 128, "eval_every": 100, "log_every": 10,
}


class Fail(Exception):
    """A one-line error and its exit status."""

    def __init__(self, msg, status=3):
        super().__init__(msg)
        self.status = status


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Fail(message + " (see --help)", 2)


def records(path):
    """Yield the records of a tp stream: plain msgpack, gzip, or zstd."""
    try:
        f = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as e:
        raise Fail(f"{path}: {e.strerror}")
    head = f.peek(4)[:4] if hasattr(f, "peek") else b""
    proc = None
    if head == b"\x28\xb5\x2f\xfd":
        # zstd: tp-cat decompresses, so Python needs no zstd module.
        f.close()
        proc = subprocess.Popen(["tp-cat", "-m", path], stdout=subprocess.PIPE)
        f = proc.stdout
    elif head == b"\x1f\x8b":
        f = gzip.GzipFile(fileobj=f)
    complete = False
    try:
        for rec in msgpack.Unpacker(f, raw=False, strict_map_key=False):
            if not isinstance(rec, dict):
                raise Fail(f"{path}: a record is not a map")
            yield rec
        complete = True
    except (ValueError, msgpack.UnpackException) as e:
        raise Fail(f"{path}: bad record stream ({e})")
    finally:
        f.close()
        # A reader that stopped early closed the pipe: tp-cat's status
        # then says nothing about the file.
        if proc and proc.wait() != 0 and complete:
            raise Fail(f"{path}: tp-cat -m failed")


def load_dataset(path):
    """(x float32 [N, D], y int64 [N], header) of a tp classification set."""
    it = records(path)
    head = next(it, None)
    if not head or head.get("type") != "dataset":
        raise Fail(f"{path}: not a dataset (no dataset header)")
    d, k = head.get("features"), head.get("classes")
    if not isinstance(d, int) or not isinstance(k, int) or k < 2:
        raise Fail(f"{path}: need a classification dataset")
    xs, ys = [], []
    for rec in it:
        x = rec.get("x")
        x = (np.frombuffer(x, dtype="<f4") if isinstance(x, bytes)
             else np.asarray(x, dtype=np.float32))
        y = rec.get("y")
        if x.shape != (d,) or not isinstance(y, int) or not 0 <= y < k:
            raise Fail(f"{path}: example {len(ys)}: bad x or y")
        xs.append(x)
        ys.append(y)
    if not ys:
        raise Fail(f"{path}: no examples")
    return torch.from_numpy(np.stack(xs)), torch.tensor(ys), head


def trial_record(path, index):
    n = 0
    for rec in records(path):
        if rec.get("type") == "trial":
            if n == index:
                return rec
            n += 1
    raise Fail(f"{path}: no trial record {index} ({n} trials)", 2)


def resolve(trial, where):
    p = dict(DEFAULTS)
    if not isinstance(trial.get("params"), dict):
        raise Fail(f"{where}: missing key \"params\"")
    for key, v in trial["params"].items():
        key = key.replace("-", "_")
        if key == "seed":  # a seed in params wins over the trial's
            trial["seed"] = v
            continue
        if key not in DEFAULTS:
            raise Fail(f"{where}: unknown hyperparameter '{key}'", 2)
        if isinstance(DEFAULTS[key], (int, float)) and not isinstance(v, (int, float)):
            raise Fail(f"{where}: {key}: not a number", 2)
        p[key] = float(v) if isinstance(DEFAULTS[key], float) else v
    if p["optimizer"] not in ("sgd", "momentum", "nesterov", "adam", "adamw"):
        raise Fail(f"{where}: optimizer: unknown '{p['optimizer']}'", 2)
    if p["schedule"] not in ("constant", "linear", "cosine"):
        raise Fail(f"{where}: schedule: unknown '{p['schedule']}'", 2)
    if p["activation"] not in ("relu", "tanh", "gelu"):
        raise Fail(f"{where}: activation: unknown '{p['activation']}'", 2)
    if p["steps"] < 1 or p["batch_size"] < 1 or p["lr"] <= 0 or p["width"] < 1:
        raise Fail(f"{where}: steps, batch_size, width and lr must be positive", 2)
    return p


def build(p, d, k):
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "gelu": torch.nn.GELU}
    layers, n = [], d
    for _ in range(p["depth"]):
        layers += [torch.nn.Linear(n, p["width"]), act[p["activation"]]()]
        if p["dropout"] > 0:
            layers.append(torch.nn.Dropout(p["dropout"]))
        n = p["width"]
    layers.append(torch.nn.Linear(n, k))
    return torch.nn.Sequential(*layers)


def optimizer(p, params):
    o, lr, wd = p["optimizer"], p["lr"], p["weight_decay"]
    if o in ("adam", "adamw"):
        cls = torch.optim.Adam if o == "adam" else torch.optim.AdamW
        return cls(params, lr=lr, betas=(p["beta1"], p["beta2"]),
                   eps=p["epsilon"], weight_decay=wd)
    mom = 0.0 if o == "sgd" else p["momentum"]
    return torch.optim.SGD(params, lr=lr, momentum=mom,
                           nesterov=(o == "nesterov"), weight_decay=wd)


def lr_factor(p, step):
    """Multiplier of the base lr for update `step` (0-based)."""
    w, n = p["warmup_steps"], p["steps"]
    if step < w:
        return (step + 1) / w
    t = (step - w) / max(1, n - w)
    if p["schedule"] == "linear":
        return 1 - t
    if p["schedule"] == "cosine":
        return 0.5 * (1 + math.cos(math.pi * t))
    return 1.0


@torch.no_grad()
def evaluate(model, x, y):
    model.eval()
    out = model(x)
    model.train()
    loss = torch.nn.functional.cross_entropy(out, y).item()
    acc = (out.argmax(1) == y).double().mean().item()
    return {"loss": loss, "error": 1 - acc, "accuracy": acc, "count": len(y)}


class Stream:
    """A record stream: one msgpack map per write, flushed, so pipes and
    tail -f see the run live."""

    def __init__(self, f):
        self.f = f

    def write(self, rec):
        self.f.write(msgpack.packb(rec, use_bin_type=True))
        self.f.flush()


def train(a):
    torch.set_num_threads(a.threads)
    trial = trial_record(a.trial, a.trial_index)
    where = f"{a.trial}: trial {a.trial_index}"
    p = resolve(trial, where)
    for key in ("study", "trial"):
        if key not in trial:
            raise Fail(f"{where}: missing key \"{key}\"")
    seed = trial.get("seed", 1)
    if not isinstance(seed, int) or seed < 0:
        raise Fail(f"{where}: seed: not a non-negative integer")
    xt, yt, head = load_dataset(a.train)
    xv, yv, vhead = load_dataset(a.valid)
    if vhead["features"] != head["features"] or vhead["classes"] != head["classes"]:
        raise Fail(f"{a.valid}: features or classes differ from {a.train}")
    torch.manual_seed(seed)
    model = build(p, head["features"], head["classes"])
    opt = optimizer(p, model.parameters())
    order = torch.Generator().manual_seed(seed)
    ckdir = os.path.join(a.run_dir, "ckpt")
    try:
        os.makedirs(ckdir, exist_ok=True)
        out = open(os.path.join(a.run_dir, "metrics.tpr"), "wb")
    except OSError as e:
        raise Fail(f"{a.run_dir}: {e.strerror}")
    ids = {"study": trial["study"], "trial": trial["trial"]}
    s = Stream(out)
    s.write({"type": "config", "version": "train.py 1", **ids,
             "scientific": trial.get("scientific", {}), "params": p,
             "seed": seed, "trainer": "pytorch " + torch.__version__,
             "train": [a.train], "valid": a.valid, "run_dir": a.run_dir,
             "command": " ".join(sys.argv)})
    perm, pos, total, n, best = torch.randperm(len(yt), generator=order), 0, 0.0, 0, None
    for step in range(p["steps"]):
        if pos + p["batch_size"] > len(yt):  # a new epoch, reshuffled
            perm, pos = torch.randperm(len(yt), generator=order), 0
        idx = perm[pos:pos + p["batch_size"]]
        pos += p["batch_size"]
        for g in opt.param_groups:
            g["lr"] = p["lr"] * lr_factor(p, step)
        loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf")).item()
        if not (math.isfinite(loss.item()) and math.isfinite(gnorm)):
            s.write({"type": "diverged", **ids, "step": step,
                     "reason": "loss is not finite"})
            s.write({"type": "summary", **ids, "steps": step, "status": "diverged"})
            print(f"{PROG}: {a.run_dir}: diverged at step {step}: loss is not finite",
                  file=sys.stderr)
            return 4
        opt.step()
        total, n, done = total + loss.item(), n + 1, step + 1
        if done % p["log_every"] == 0 or done == p["steps"]:
            s.write({"type": "train", **ids, "step": done, "loss": total / n,
                     "lr": opt.param_groups[0]["lr"], "grad_norm": gnorm})
            total, n = 0.0, 0
        if (p["eval_every"] and done % p["eval_every"] == 0) or done == p["steps"]:
            m = evaluate(model, xv, yv)
            path = os.path.join(ckdir, f"step-{done:06d}.pt")
            # Written whole or not at all: a crash leaves no torn file.
            torch.save({"step": done, "params": p, "model": model.state_dict(),
                        "optimizer": opt.state_dict()}, path + ".tmp")
            os.replace(path + ".tmp", path)
            s.write({"type": "checkpoint", **ids, "step": done, "path": path,
                     "metrics": m})
            s.write({"type": "eval", **ids, "step": done, "split": "valid",
                     **m, "checkpoint": path, "dataset": a.valid})
            if best is None or m["error"] < best["error"]:
                best = dict(m, step=done)
    s.write({"type": "summary", **ids, "steps": p["steps"], "status": "done",
             "best": best})
    out.close()
    return 0


def evaluate_checkpoints(a):
    torch.set_num_threads(a.threads)
    x, y, head = load_dataset(a.data)
    out = sys.stdout.buffer if a.output in (None, "-") else open(a.output, "wb")
    s = Stream(out)
    for path in a.eval:
        try:
            ck = torch.load(path, map_location="cpu")
        except Exception as e:  # torch raises many types for a bad file
            raise Fail(f"{path}: not a train.py checkpoint ({type(e).__name__})")
        model = build(ck["params"], head["features"], head["classes"])
        try:
            model.load_state_dict(ck["model"])
        except RuntimeError:
            raise Fail(f"{path}: the model does not fit {a.data}")
        # The study and trial come from the run's config record, so that
        # tp-track adds this result to the right trial.
        ids = {}
        metrics = os.path.join(os.path.dirname(os.path.dirname(path)), "metrics.tpr")
        if os.path.exists(metrics):
            for rec in records(metrics):
                if rec.get("type") == "config":
                    ids = {"study": rec["study"], "trial": rec["trial"]}
                    break
        s.write({"type": "eval", **ids, "step": ck["step"], "split": a.split,
                 **evaluate(model, x, y), "checkpoint": path, "dataset": a.data})
    if out is not sys.stdout.buffer:
        out.close()
    return 0


def main():
    ap = Parser(prog=PROG, description="Train a PyTorch MLP from a tp trial "
                "record, writing tp's metrics records; or evaluate checkpoints.")
    ap.add_argument("--trial", metavar="FILE", help="tp-sample's trials ('-': stdin)")
    ap.add_argument("--trial-index", type=int, default=0, metavar="N",
                    help="the N-th trial record of FILE (default 0)")
    ap.add_argument("-d", "--run-dir", metavar="DIR",
                    help="metrics.tpr and ckpt/ go here")
    ap.add_argument("--valid", metavar="FILE", help="validation set")
    ap.add_argument("train", nargs="?", help="training set")
    ap.add_argument("--eval", nargs="+", metavar="CHECKPOINT",
                    help="evaluate these checkpoints instead of training")
    ap.add_argument("--data", metavar="FILE", help="--eval: the dataset")
    ap.add_argument("--split", default="test", help="--eval: split name (test)")
    ap.add_argument("-o", "--output", metavar="FILE",
                    help="--eval: write the eval records here (stdout)")
    ap.add_argument("--threads", type=int, default=1, metavar="N",
                    help="torch threads (default 1; results depend on it)")
    a = ap.parse_args()
    if a.threads < 1:
        raise Fail("--threads: must be at least 1", 2)
    if a.eval:
        if not a.data:
            raise Fail("--eval needs --data", 2)
        return evaluate_checkpoints(a)
    if not (a.trial and a.run_dir and a.valid and a.train):
        raise Fail("need --trial, -d RUN_DIR, --valid and a training set (see --help)", 2)
    return train(a)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        sys.exit(e.status)
    except KeyboardInterrupt:
        sys.exit(8)
