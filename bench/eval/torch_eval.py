"""PyTorch inference of a tp model, for bench/eval/run.

usage: torch_eval.py DATA.tpd PARAMS.f32 WIDTH DEPTH BATCH THREADS REPS

DATA is a plain (uncompressed) tp dataset, PARAMS the model's params.f32
member (tp-ckpt cat MODEL params.f32).  The network is tp's plain MLP
(Linear+ReLU hidden layers, Linear output), weights in tp's view order
(layerL.weight [H, in], layerL.bias [H], ..., out.weight, out.bias).
Prints one line: examples_per_s (best of REPS passes, inference only,
torch.no_grad), loss and accuracy (to compare with tp-eval's record).
"""
import struct
import sys
import time

import msgpack
import numpy as np
import torch


def load(path):
    with open(path, "rb") as f:
        unp = msgpack.Unpacker(f, raw=False)
        head = next(unp)
        d, n = head["features"], head["count"]
        x = np.empty((n, d), dtype=np.float32)
        y = np.empty(n, dtype=np.int64)
        for i, rec in enumerate(unp):
            x[i] = np.frombuffer(rec["x"], dtype="<f4")
            y[i] = rec["y"]
    return torch.from_numpy(x), torch.from_numpy(y), head["classes"]


def main():
    data, params, width, depth, batch, threads, reps = sys.argv[1:8]
    width, depth, batch, threads, reps = map(int, (width, depth, batch, threads, reps))
    torch.set_num_threads(threads)
    x, y, k = load(data)
    p = torch.from_numpy(np.fromfile(params, dtype="<f4"))
    layers, off, fan_in = [], 0, x.shape[1]
    for out_f in [width] * depth + [k]:
        lin = torch.nn.Linear(fan_in, out_f)
        with torch.no_grad():
            lin.weight.copy_(p[off:off + out_f * fan_in].view(out_f, fan_in))
            off += out_f * fan_in
            lin.bias.copy_(p[off:off + out_f])
            off += out_f
        layers += [lin, torch.nn.ReLU()]
        fan_in = out_f
    assert off == p.numel(), (off, p.numel())
    model = torch.nn.Sequential(*layers[:-1]).eval()
    best = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        loss_sum, correct = 0.0, 0
        with torch.no_grad():
            for i in range(0, x.shape[0], batch):
                z = model(x[i:i + batch])
                loss_sum += torch.nn.functional.cross_entropy(
                    z, y[i:i + batch], reduction="sum").item()
                correct += (z.argmax(1) == y[i:i + batch]).sum().item()
        dt = time.perf_counter() - t0
        best = max(best, x.shape[0] / dt)
    print("examples_per_s=%.0f loss=%.9g accuracy=%.9g" %
          (best, loss_sum / x.shape[0], correct / x.shape[0]))


if __name__ == "__main__":
    main()
