"""Timing helper shared by the benchmark scripts (run them as ``python benchmarks/bench_*.py``)."""
import time


def round_robin(fns, repeats=20, warmup=3):
    """Best-of-``repeats`` time of each function, timed in turns: every function sees the same
    background load, so ratios between them stay fair on a busy machine."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t)
    return best
