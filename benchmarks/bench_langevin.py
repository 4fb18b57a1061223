"""Langevin/MALA throughput against its own lower bound, the two matrix products per step.

For each N (4 replicas by default) the script times the sampler's steps and, in the same
process on the same arrays, the two products phi(X) J^T and res J that every step needs;
the ratio (product time)/(step time) is the fraction of the BLAS bound reached (target
>= 0.6). Peak memory: tracemalloc peak of the sampler's own allocations and the process
maximum resident set size. With --backend cupy the GPU path is timed as well, its bound
being the same two products done by cuBLAS.

    python benchmarks/bench_langevin.py --N 1000 2000 4000 --replicas 4
writes benchmarks/results/langevin.json and langevin.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from numerics.couplings import couplings  # noqa: E402
from numerics.langevin import LangevinSampler  # noqa: E402
from numerics.transfer import builtin_kernels  # noqa: E402


from numba import njit  # noqa: E402


@njit(cache=False)
def _two_products(P, X, J, steps):
    """The two products of a step through the same BLAS the sampler's kernel calls."""
    for _ in range(steps):
        np.dot(P, J.T)
        np.dot(X, J)


def _best(fn, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)


def bench_cpu(N, R, steps, reps):
    J = couplings(N, 0.3, rng=np.random.default_rng(0))
    k = builtin_kernels("tanh")
    tracemalloc.start()
    s = LangevinSampler(J, k, 0.82, 100.0, replicas=R, rng=1)
    s._advance(3)                                      # compile and warm up
    t_step = _best(lambda: s._advance(steps), reps) / steps
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    X = s.X.copy()
    P = np.tanh(X)
    _two_products(P, X, J, 1)
    t_mm = _best(lambda: _two_products(P, X, J, steps), reps) / steps
    return dict(backend="cpu", N=N, replicas=R, step_s=t_step, steps_per_s=1 / t_step,
                products_s=t_mm, bound_fraction=t_mm / t_step,
                tracemalloc_peak_MiB=peak / 2 ** 20, J_MiB=J.nbytes / 2 ** 20)


def bench_gpu(N, R, steps, reps):
    import cupy as cp
    from numerics.langevin_gpu import CupyBackend

    J = couplings(N, 0.3, rng=np.random.default_rng(0))
    s = LangevinSampler(J, builtin_kernels("tanh"), 0.82, 100.0, replicas=R, rng=1,
                        backend=CupyBackend())
    s._advance(3)
    cp.cuda.Device().synchronize()
    t_step = _best(lambda: s._advance(steps), reps) / steps
    b = s._backend
    X = b.X
    P = cp.tanh(X)

    def products():
        for _ in range(steps):
            P @ b.J.T
            X @ b.J
        cp.cuda.Device().synchronize()
    t_mm = _best(products, reps) / steps
    mem = cp.get_default_memory_pool().total_bytes()
    return dict(backend="cupy", N=N, replicas=R, step_s=t_step, steps_per_s=1 / t_step,
                products_s=t_mm, bound_fraction=t_mm / t_step, gpu_pool_MiB=mem / 2 ** 20,
                device=cp.cuda.runtime.getDeviceProperties(0)["name"].decode())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[1000, 2000, 4000])
    ap.add_argument("--replicas", type=int, default=4)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--backend", choices=["cpu", "cupy", "both"], default="cpu")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "langevin.json"))
    a = ap.parse_args(argv)
    load_start = os.getloadavg()
    rows = []
    for N in a.N:
        if a.backend in ("cpu", "both"):
            rows.append(bench_cpu(N, a.replicas, a.steps, a.reps))
            print(rows[-1], flush=True)
        if a.backend in ("cupy", "both"):
            rows.append(bench_gpu(N, a.replicas, a.steps * 4, a.reps))
            print(rows[-1], flush=True)
    try:
        from threadpoolctl import threadpool_info
        blas = [{k: d.get(k) for k in ("internal_api", "num_threads", "version")} for d in threadpool_info()]
    except ImportError:
        blas = None
    meta = dict(machine=platform.node(), processor=platform.processor(), cpus=os.cpu_count(),
                python=platform.python_version(), numpy=np.__version__, blas=blas,
                maxrss_MiB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                loadavg_start=load_start, loadavg_end=os.getloadavg(),
                note="step = one MALA step of all replicas (2 products); bound = the 2 products alone")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as fh:
        json.dump(dict(meta=meta, rows=rows), fh, indent=1)
    md = os.path.splitext(a.out)[0] + ".md"
    with open(md, "w") as fh:
        fh.write(f"# Langevin/MALA throughput ({meta['processor'] or 'cpu'}, {meta['cpus']} cpus)\n\n")
        fh.write("| backend | N | replicas | steps/s | step (ms) | 2 products (ms) | fraction of bound |\n")
        fh.write("|---|---|---|---|---|---|---|\n")
        for r in rows:
            fh.write(f"| {r['backend']} | {r['N']} | {r['replicas']} | {r['steps_per_s']:.1f} | "
                     f"{1e3 * r['step_s']:.3f} | {1e3 * r['products_s']:.3f} | {r['bound_fraction']:.2f} |\n")
        fh.write(f"\nPeak resident memory of the process: {meta['maxrss_MiB']:.0f} MiB. "
                 f"1-minute load average at start/end: {load_start[0]:.1f}/{meta['loadavg_end'][0]:.1f} "
                 f"on {meta['cpus']} cpus (a load above the cpu count makes these timings unreliable).\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
