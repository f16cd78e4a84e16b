#!/usr/bin/python3
"""PyTorch peer of tp-train for bench/train/run: the same MLP, batch and
optimizer on data held in memory, in PyTorch's best CPU configuration
(the caller tries thread counts and OMP_WAIT_POLICY).  Prints one line:
steps_per_s=<float> process_s=<float> peak_rss_kb=<int>."""
import resource, sys, time
t_start = time.perf_counter()
import torch

def main():
    sizes = [int(s) for s in sys.argv[1].split("-")]
    batch, steps, threads = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(sizes[-2], sizes[-1]))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = 8192
    x = torch.rand(n, sizes[0])
    y = torch.randint(0, sizes[-1], (n,))
    perm = torch.randperm(n)
    loss_fn = torch.nn.CrossEntropyLoss()
    def step(i):
        j = (i * batch) % (n - batch)
        idx = perm[j:j + batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    # The first steps (warm-up: allocator, page faults) are part of the run
    # but not of the rate, as for tp-train whose rate is over all steps.
    warm = min(20, steps // 10)
    for i in range(warm):
        step(i)
    t0 = time.perf_counter()
    for i in range(warm, steps):
        step(i)
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"steps_per_s={(steps - warm) / dt:.2f} process_s={time.perf_counter() - t_start:.3f} peak_rss_kb={rss}")

main()
