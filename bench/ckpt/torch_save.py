"""torch.save of the same full state as bench-ckpt.c (10M float32
parameters plus Adam's m and v: 120 MB), with and without fsync, and
torch.load.  Prints the same TSV as bench-ckpt.  usage: torch_save.py DIR [REPS]"""
import os
import statistics
import sys
import time

import torch

N = 10_000_000


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "."
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(42)
    state = {
        "step": 1000,
        "model": {"params": torch.randn(N, generator=g) * 0.05},
        "optim": {"exp_avg": torch.randn(N, generator=g) * 1e-3,
                  "exp_avg_sq": torch.rand(N, generator=g) * 1e-6},
    }
    path = os.path.join(d, "bench-torch.pt")
    print("op\tlevel\tMB\twall_s\tcpu_s\tfile_MB")
    for sync in (False, True):
        ts, us = [], []
        for _ in range(reps):
            t, u = time.perf_counter(), time.process_time()
            with open(path, "wb") as f:
                torch.save(state, f)
                if sync:
                    f.flush()
                    os.fsync(f.fileno())
            ts.append(time.perf_counter() - t)
            us.append(time.process_time() - u)
        print(f"torch.save{'+fsync' if sync else ''}\t-\t120\t"
              f"{statistics.median(ts):.3f}\t{statistics.median(us):.3f}\t"
              f"{os.path.getsize(path) / 1e6:.1f}")
    ts, us = [], []
    for _ in range(reps):
        t, u = time.perf_counter(), time.process_time()
        torch.load(path)
        ts.append(time.perf_counter() - t)
        us.append(time.process_time() - u)
    print(f"torch.load\t-\t120\t{statistics.median(ts):.3f}\t"
          f"{statistics.median(us):.3f}\t{os.path.getsize(path) / 1e6:.1f}")
    os.remove(path)


if __name__ == "__main__":
    main()
