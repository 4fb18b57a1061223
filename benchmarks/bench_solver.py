"""Saddle-point solver benchmarks against the published Monte Carlo iteration (tanh, eta = 0).

Everything below is measured in one run of this script, on the same machine:

* derive + generate + compile of the base model (tanh, U = eta x^2), cold (fresh
  QPOT_CACHE_DIR, new process) and warm (second process on that cache);
* (a) a zero-temperature sweep of 41 g values in [0.8, 1.2] at gamma = 0.2: with the
  scaling that holds at each g (``numerics.zero_temperature``: collapsed below g_chi = 0.833,
  band in closed form between the lines, q - Q finite above g_q = 0.913), and, for
  comparison, with one scaling for all points: ``continuation(kind="laplace")`` (the
  collapsed q - Q = chi/beta scaling) and ``kind="chaotic", branch="paramagnetic"``;
* (b) the same sweep at beta = 1e4, ``kind="finite"``, branches "paramagnetic" and "full";
* (c) a 30-digit solve with ``solve_mp`` (chaotic, paramagnetic, g = 1.2, gamma = 0.3), or
  a 30-digit critical point from ``numerics.transition`` where that module provides one;
* (d) peak memory of (a) and (b): resource maxrss of the sweep's own process and the
  tracemalloc peak of a second, traced pass of the same sweep;
* (e) the Monte Carlo baseline (:mod:`published_mc`) at g = 0.9 and 1.2, gamma = 0, seeds 0
  and 1: time per iteration and per point, precision reached, and ratios to our solver.

Sweep policy: the first point is solved with ``solve`` (continued from the exact g = 0
solution); the rest by ``continuation``; after a failed point the sweep restarts at the next
point from the library's default start (one Newton solve, no continuation from g = 0).
Each point is recorded with its success flag, residual and message.

    python benchmarks/bench_solver.py [--quick]
writes benchmarks/results/solver.json and solver.md (--quick: 9 points per sweep, a small
Monte Carlo run, written to a temporary folder unless --out is given; for smoke tests).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

MODEL = "tanh"
TOL = 1e-10
CAVITY_Q_G12 = 0.1732729446           # static cavity q at g = 1.2, gamma = 0 (THEORY.md)
PUBLISHED = {                          # THEORY.md section 4 (published MC solver, one H200)
    "seconds_per_point_gpu": [27, 62], "samples": 5e5,
    "g0.9_chi": 5.69, "g1.2_chi": [41.6, 49.2], "g1.2_q": [0.1129, 0.1140],
}


def log(msg: str) -> None:
    print(f"[bench_solver {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux: KiB


def loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ------------------------------------------------------------------------------ probes
# Each probe runs in its own process (python bench_solver.py --_probe NAME ARGS OUT).

def probe_compile(args: dict) -> dict:
    """Import, derive, generate + import the kernel module, first kernel call (numba compile
    or load from its cache), for each (kind, branch) in args['kinds']."""
    t0 = time.perf_counter()
    from theory.kernels import compile_model, derived_model
    from theory.model import Point, make_model
    from numerics.continuation import default_start
    from numerics.saddle import Problem
    out = {"import_s": time.perf_counter() - t0, "kinds": []}
    model = make_model(MODEL)
    for kind, branch in args["kinds"]:
        beta = 10.0 if kind == "finite" else math.inf
        a = time.perf_counter()
        derived_model(model, kind, branch)
        b = time.perf_counter()
        cm = compile_model(model, kind, branch)
        c = time.perf_counter()
        pt = Point(g=0.5, gamma=0.2, beta=beta)
        Problem(cm, pt).evaluate(default_start(cm, pt, kind))
        e = time.perf_counter()
        out["kinds"].append({"kind": kind, "branch": branch, "derive_s": b - a,
                             "generate_import_s": c - b, "first_call_s": e - c,
                             "total_s": e - a})
    out["in_process_s"] = time.perf_counter() - t0
    out["maxrss_mib"] = maxrss_mib()
    return out


def _record(res, g_target, start, seconds):
    x = {k: float(v) for k, v in res.x.items()}
    return {"g": g_target, "g_reached": float(res.point.get("g", math.nan)),
            "success": bool(res.success) and res.residual_norm < TOL,
            "residual_norm": float(res.residual_norm), "chi": float(res.chi),
            "q": x.get("q"), "Q": x.get("Q"), "x": x, "nit": int(res.nit),
            "start": start, "seconds": seconds, "message": " ".join(res.message.split())[:300]}


def run_sweep(kind, branch, beta, gs, gamma, progress=True, deadline=None) -> list[dict]:
    """The sweep policy of the module docstring; one record per target point. With a
    ``deadline`` (perf_counter value) the sweep stops after the first point past it."""
    from theory.model import Point
    from numerics.continuation import continuation, solve
    from numerics.saddle import compiled_for
    nop = len(compiled_for(MODEL, kind, branch).derived.order_params)
    pts = [Point(g=float(g), gamma=gamma, beta=beta) for g in gs]
    recs = []
    t = time.perf_counter()
    r0 = solve(MODEL, pts[0], kind=kind, branch=branch)
    x0 = list(r0.x.values())[:nop] if r0.success else None
    first = "solve from g = 0" if kind != "chaotic" else "solve (cavity start)"
    if not r0.success:
        recs.append(_record(r0, pts[0].g, first, time.perf_counter() - t))
        t = time.perf_counter()
        first = "default start (restart)"
    i = len(recs)
    start = first
    while i < len(pts):
        for res in continuation(MODEL, pts[i:], kind=kind, branch=branch, x0=x0, tol=TOL):
            now = time.perf_counter()
            recs.append(_record(res, pts[i].g, start, now - t))
            t = now
            r = recs[-1]
            if progress:
                print(f"    {kind}/{branch} beta={beta:g} g={r['g']:.3f} ok={r['success']} "
                      f"res={r['residual_norm']:.1e} q={r['q'] if r['q'] is not None else float('nan'):.6g} "
                      f"chi={r['chi']:.6g} ({r['seconds']:.2f} s)", flush=True)
            i += 1
            start = "continuation"
            if not res.success or (deadline is not None and now > deadline):
                break
        if deadline is not None and time.perf_counter() > deadline:
            break
        x0, start = None, "default start (restart)"
    return recs


def run_auto_sweep(gs, gamma, progress=True, deadline=None) -> list[dict]:
    """Zero-temperature sweep with the scaling that holds at each g
    (numerics.zero_temperature.scalings): runs of collapsed points by ``run_sweep``
    (laplace/full, increasing g), runs of q - Q finite points by ``run_sweep``
    (chaotic/paramagnetic) from the largest g downwards (towards g_q, where q -> 0), band
    points in closed form. Records are returned in the order of ``gs``."""
    from theory.model import Point
    from numerics.zero_temperature import band_solution, scalings
    kinds = []
    for g in gs:
        found = scalings(MODEL, Point(g=g, gamma=gamma, beta=math.inf))
        kinds.append(found[0] if len(found) == 1 else "none")
    recs = {}
    i = 0
    while i < len(gs):
        j = i
        while j < len(gs) and kinds[j] == kinds[i]:
            j += 1
        seg = gs[i:j]
        if kinds[i] == "laplace":
            out = run_sweep("laplace", "full", math.inf, seg, gamma, progress, deadline)
        elif kinds[i] == "chaotic":
            out = run_sweep("chaotic", "paramagnetic", math.inf, seg[::-1], gamma, progress, deadline)[::-1]
        else:
            out = []
            for g in seg:
                t = time.perf_counter()
                res = band_solution(MODEL, Point(g=g, gamma=gamma, beta=math.inf))
                out.append(_record(res, g, "closed form (band)", time.perf_counter() - t))
        for g, r in zip(seg, out):
            r["scaling"] = kinds[i]
            recs[g] = r
        i = j
    return [recs[g] for g in gs if g in recs]


def probe_sweep(args: dict) -> dict:
    """Load kernels (warm cache), time the sweep, then repeat it under tracemalloc."""
    t0 = time.perf_counter()
    from theory.model import Point
    from numerics.continuation import default_start
    from numerics.saddle import Problem, compiled_for
    auto = args["kind"] == "auto"
    for kind, branch in ((("laplace", "full"), ("chaotic", "paramagnetic")) if auto
                         else ((args["kind"], args["branch"]),)):
        cm = compiled_for(MODEL, kind, branch)
        # one residual evaluation outside the timing: loads (or, after a source change,
        # compiles) the numba code of the quadrature engine as well as the model's kernels
        pt = Point(g=args["gs"][0], gamma=args["gamma"], beta=args["beta"])
        Problem(cm, pt).evaluate(default_start(cm, pt, kind))
    if auto:   # the band's closed form (symbolic expansion, cached per process)
        from numerics.zero_temperature import band_b
        band_b(MODEL, args["gs"][0], args["gamma"])
    load_s = time.perf_counter() - t0
    rss0 = maxrss_mib()
    la0 = loadavg()
    sweep = (lambda **kw: run_auto_sweep(args["gs"], args["gamma"], **kw)) if auto else \
        (lambda **kw: run_sweep(args["kind"], args["branch"], args["beta"], args["gs"], args["gamma"], **kw))
    w, c = time.perf_counter(), time.process_time()
    recs = sweep()
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    rss1 = maxrss_mib()
    out = {"load_s": load_s, "wall_s": wall, "cpu_s": cpu, "loadavg_before": la0,
           "loadavg_after": loadavg(), "maxrss_before_sweep_mib": rss0,
           "maxrss_after_sweep_mib": rss1, "points": recs}
    if args.get("traced", True):
        # tracemalloc slows the Python side several-fold: the traced pass gets a time budget
        budget = args.get("traced_budget_s", 120.0)
        tracemalloc.start()
        w = time.perf_counter()
        traced = sweep(progress=False, deadline=w + budget)
        out["traced_wall_s"] = time.perf_counter() - w
        out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        out["traced_points"] = len(traced)
        tracemalloc.stop()
    return out


def probe_points(args: dict) -> dict:
    """Single-point solves at the Monte Carlo baseline's points, timed after a warm-up."""
    from theory.model import Point
    from numerics.continuation import solve
    from numerics.saddle import compiled_for
    for kind, branch in (("laplace", "full"), ("chaotic", "paramagnetic"),
                         ("finite", "paramagnetic")):
        compiled_for(MODEL, kind, branch)
    cases = [
        ("laplace g=0.9", "laplace", "full", 0.9, math.inf),
        ("chaotic g=0.9", "chaotic", "paramagnetic", 0.9, math.inf),
        ("finite-para g=0.9 beta=1e4", "finite", "paramagnetic", 0.9, 1e4),
        ("laplace g=1.2", "laplace", "full", 1.2, math.inf),
        ("chaotic g=1.2", "chaotic", "paramagnetic", 1.2, math.inf),
        ("finite-para g=1.2 beta=1e4", "finite", "paramagnetic", 1.2, 1e4),
    ]
    # warm-up: one solve per kind, not timed (first calls pay the kernel load)
    solve(MODEL, Point(g=0.5, gamma=0.0, beta=math.inf), kind="laplace")
    solve(MODEL, Point(g=1.1, gamma=0.0, beta=math.inf), kind="chaotic", branch="paramagnetic")
    solve(MODEL, Point(g=0.5, gamma=0.0, beta=1e4), kind="finite", branch="paramagnetic")
    out = []
    for label, kind, branch, g, beta in cases:
        t = time.perf_counter()
        r = solve(MODEL, Point(g=g, gamma=0.0, beta=beta), kind=kind, branch=branch)
        dt = time.perf_counter() - t
        out.append({"label": label, "kind": kind, "branch": branch, "g": g, "gamma": 0.0,
                    "beta": beta if math.isfinite(beta) else "inf", "seconds": dt,
                    "success": bool(r.success), "residual_norm": float(r.residual_norm),
                    "chi": float(r.chi), "q": float(r.x.get("q", math.nan)),
                    "message": " ".join(r.message.split())[:300]})
        log(f"  point {label}: ok={r.success} q={out[-1]['q']:.10g} chi={r.chi:.10g} "
            f"res={r.residual_norm:.1e} ({dt:.2f} s)")
    return {"points": out}


def probe_precision(args: dict) -> dict:
    """30-digit critical points (numerics.transition.g_chi and the Landau g_q) and a
    30-digit solve_mp, each against its closed form or the double-precision solve."""
    import mpmath
    from theory.model import Point
    out = {}
    from numerics import transition as tr
    rows = []
    with mpmath.workdps(60):
        gamma_mp = mpmath.mpf("0.3")        # the decimal 0.3, not the nearest double
    for name, fn, kw in (("g_chi", tr.g_chi, {"gamma_value": gamma_mp, "digits": 30}),
                         ("g_q_landau", tr.g_q_landau, {"gamma_value": 0.3, "digits": 30})):
        t = time.perf_counter()
        try:
            val = fn(MODEL, **kw)
            gc, info = (val if isinstance(val, tuple) else (val, {}))
            with mpmath.workdps(40):
                exact = (1 / mpmath.mpf("1.3") if name == "g_chi"
                         else 1 / mpmath.sqrt(mpmath.mpf("1.3")))
                dev = float(abs(mpmath.mpf(gc) - exact))
            rows.append({"function": name, "kwargs": {k: mpmath.nstr(v, 20) if isinstance(v, mpmath.mpf)
                                                      else str(v) for k, v in kw.items()},
                         "seconds": time.perf_counter() - t, "value": mpmath.nstr(gc, 30),
                         "closed_form": "1/(1+gamma)" if name == "g_chi" else "1/sqrt(1+gamma)",
                         "abs_dev_from_closed_form": dev, "info": _jsonable(info)})
        except Exception as exc:  # report, do not hide
            rows.append({"function": name, "seconds": time.perf_counter() - t,
                         "error": f"{type(exc).__name__}: {exc}"})
        log(f"  {name} 30 digits: {rows[-1].get('value', rows[-1].get('error'))} "
            f"({rows[-1]['seconds']:.1f} s)")
    out["transition"] = {"available": True, "rows": rows}
    from numerics.precision import solve_mp
    from numerics.continuation import solve
    pt = Point(g=1.2, gamma=0.3, beta=math.inf)
    t = time.perf_counter()
    solve(MODEL, Point(g=1.1, gamma=0.3, beta=math.inf), kind="chaotic", branch="paramagnetic")
    out["warmup_s"] = time.perf_counter() - t     # kernel load / numba compile, not timed below
    t = time.perf_counter()
    dbl = solve(MODEL, pt, kind="chaotic", branch="paramagnetic")
    t_dbl = time.perf_counter() - t
    t = time.perf_counter()
    r = solve_mp(MODEL, pt, kind="chaotic", branch="paramagnetic", digits=30)
    t_mp = time.perf_counter() - t
    xs = {k: mpmath.nstr(v, 30) for k, v in r.x.items()}
    diff = {k: float(abs(mpmath.mpf(r.x[k]) - dbl.x[k])) for k in r.x if k in dbl.x}
    out["solve_mp"] = {"point": {"g": 1.2, "gamma": 0.3, "beta": "inf"}, "kind": "chaotic",
                       "branch": "paramagnetic", "digits": 30, "seconds": t_mp,
                       "success": bool(r.success), "message": r.message,
                       "residual_norm": float(r.residual_norm), "x": xs,
                       "double_seconds": t_dbl, "double_success": bool(dbl.success),
                       "abs_diff_double_vs_mp": diff,
                       "note": "includes the double-precision start solve inside solve_mp"}
    log(f"  solve_mp 30 digits: ok={r.success} {r.message} ({t_mp:.1f} s); q = {xs.get('q')}")
    return out


def _jsonable(v):
    try:
        import mpmath
        if isinstance(v, mpmath.mpf):
            return mpmath.nstr(v, 30)
    except ImportError:
        pass
    if hasattr(v, "as_dict"):
        return v.as_dict()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return str(v)


PROBES = {"compile": probe_compile, "sweep": probe_sweep, "points": probe_points,
          "precision": probe_precision}


def run_probe(name: str, args: dict, env=None, timeout=1800) -> dict:
    """Run a probe in a fresh process; returns its JSON, or an error record."""
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as fh:
        path = fh.name
    cmd = [sys.executable, os.path.abspath(__file__), "--_probe", name, json.dumps(args), path]
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, timeout=timeout)
        wall = time.perf_counter() - t
        if p.returncode != 0:
            return {"error": f"probe {name} exited with {p.returncode}", "process_wall_s": wall}
        with open(path) as fh:
            out = json.load(fh)
        out["process_wall_s"] = wall
        return out
    except subprocess.TimeoutExpired:
        return {"error": f"probe {name} timed out after {timeout} s",
                "process_wall_s": time.perf_counter() - t}
    finally:
        if os.path.exists(path):
            os.unlink(path)


# ------------------------------------------------------------------------------ sections

def bench_compile(quick: bool) -> dict:
    kinds = [("finite", "full"), ("finite", "paramagnetic"), ("laplace", "full"),
             ("chaotic", "paramagnetic")]
    cache = tempfile.mkdtemp(prefix="qpot_cold_")
    env = dict(os.environ, QPOT_CACHE_DIR=cache)
    try:
        out = {}
        for label in ("cold", "warm"):
            la = loadavg()
            r = run_probe("compile", {"kinds": kinds}, env=env)
            r["loadavg_before"] = la
            out[label] = r
            if "kinds" in r:
                base = r["kinds"][0]
                log(f"compile {label}: process {r['process_wall_s']:.2f} s, import "
                    f"{r['import_s']:.2f} s, base model (finite/full) derive "
                    f"{base['derive_s']:.2f} + generate {base['generate_import_s']:.2f} + "
                    f"first call {base['first_call_s']:.2f} s")
            else:
                log(f"compile {label}: {r.get('error')}")
        out["note"] = ("cold = empty QPOT_CACHE_DIR (derivations, generated modules and their "
                       "numba caches); numba caches of the package's own modules "
                       "(numerics/__pycache__) are not cleared")
        return out
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def bench_sweeps(quick: bool) -> dict:
    import numpy as np
    n = 9 if quick else 41
    gs = [float(g) for g in np.linspace(0.8, 1.2, n)]
    specs = [("a", "auto", "laplace+band+chaotic", math.inf),
             ("a", "laplace", "full", math.inf), ("a", "chaotic", "paramagnetic", math.inf),
             ("b", "finite", "paramagnetic", 1e4), ("b", "finite", "full", 1e4)]
    out = []
    for item, kind, branch, beta in specs:
        log(f"sweep ({item}) {kind}/{branch} beta={beta:g}: {n} points g in [0.8, 1.2], gamma = 0.2")
        r = run_probe("sweep", {"kind": kind, "branch": branch, "beta": beta, "gs": gs,
                                "gamma": 0.2, "traced": True})
        r.update({"item": item, "kind": kind, "branch": branch,
                  "beta": beta if math.isfinite(beta) else "inf", "gamma": 0.2, "n": n})
        if "points" in r:
            pts = r["points"]
            ok = [p for p in pts if p["success"]]
            r["n_converged"] = len(ok)
            r["max_residual_converged"] = max((p["residual_norm"] for p in ok), default=None)
            r["g_converged"] = [p["g"] for p in ok]
            r["first_failure"] = next(({"g": p["g"], "message": p["message"]}
                                       for p in pts if not p["success"]), None)
            r["seconds_per_point"] = r["wall_s"] / n
            if kind == "auto":
                r["scalings"] = {k: [p["g"] for p in pts if p.get("scaling") == k]
                                 for k in ("laplace", "band", "chaotic", "none")}
            if kind == "laplace":
                r["n_converged_chi_negative"] = sum(1 for p in ok if p["chi"] < 0)
            log(f"  -> {len(ok)}/{n} converged (residual < {TOL:g}) in {r['wall_s']:.2f} s wall, "
                f"{r['cpu_s']:.2f} s cpu; maxrss {r['maxrss_after_sweep_mib']:.0f} MiB, "
                f"tracemalloc peak {r.get('tracemalloc_peak_mib', float('nan')):.1f} MiB")
        else:
            log(f"  -> {r.get('error')}")
        out.append(r)
    return {"sweeps": out}


def bench_mc(quick: bool, n_samples: int, n_iter: int) -> dict:
    import numpy as np
    import published_mc as pm
    runs = []
    for g in (0.9, 1.2):
        for seed in (0, 1):
            la = loadavg()
            log(f"MC baseline g={g} gamma=0 seed={seed}: {n_samples} samples x {n_iter} iterations")
            w, c = time.perf_counter(), time.process_time()
            r = pm.run(g, 0.0, n_samples=n_samples, n_iter=n_iter, seed=seed)
            wall, cpu = time.perf_counter() - w, time.process_time() - c
            s = pm.summary(r, k=min(50, n_iter // 2),
                           exact_chi=1 / (1 - g * g) if g < 1 else None)
            chi = r.series("chi")[-min(50, n_iter // 2):]
            s["chi_drift_per_iteration"] = float(np.polyfit(np.arange(len(chi)), chi, 1)[0])
            s.update({"wall_s": wall, "cpu_s": cpu, "loadavg_before": la,
                      "chi_every_10": [float(v) for v in r.series("chi")[9::10]],
                      "q_every_10": [float(v) for v in r.series("q")[9::10]]})
            runs.append(s)
            log(f"  -> chi={s['chi']:.6g} (tail std {s['chi_tail_std']:.2g}, drift "
                f"{s['chi_drift_per_iteration']:.3g}/iter), q={s['q']:.4g}, "
                f"{s['seconds_per_iteration']:.3f} s/iteration, {wall:.1f} s per point")
    return {"n_samples": n_samples, "n_iter": n_iter, "damping": 0.2, "bracket": 10.0,
            "runs": runs}


def summarise(res: dict) -> dict:
    """Ratios of our solver to the Monte Carlo baseline."""
    mc = res.get("mc", {}).get("runs", [])
    pts = {p["label"]: p for p in res.get("points", {}).get("points", [])}
    sw = {(s["kind"], s["branch"]): s for s in res.get("sweeps", {}).get("sweeps", [])}
    out = {}
    for g in (0.9, 1.2):
        rs = [r for r in mc if r["g"] == g]
        if not rs:
            continue
        t_mc = float(sum(r["wall_s"] for r in rs) / len(rs))
        d = {"mc_seconds_per_point": t_mc,
             "mc_seconds_per_iteration": float(sum(r["seconds_per_iteration"] for r in rs) / len(rs)),
             "mc_chi_by_seed": [r["chi"] for r in rs], "mc_q_by_seed": [r["q"] for r in rs],
             "mc_chi_tail_std_by_seed": [r["chi_tail_std"] for r in rs],
             "mc_chi_drift_per_iteration_by_seed": [r["chi_drift_per_iteration"] for r in rs]}
        if g == 0.9:
            exact = 1 / (1 - 0.81)
            d["chi_exact"] = exact
            d["mc_abs_chi_error_by_seed"] = [abs(r["chi"] - exact) for r in rs]
            ours = pts.get("laplace g=0.9")
            if ours:
                d.update({"ours": "laplace solve", "ours_seconds": ours["seconds"],
                          "ours_success": ours["success"],
                          "ours_abs_chi_error": abs(ours["chi"] - exact),
                          "ours_residual": ours["residual_norm"],
                          "time_ratio_ours_over_mc": ours["seconds"] / t_mc})
        else:
            ours = pts.get("chaotic g=1.2")
            if ours:
                d.update({"ours": "chaotic solve (q - Q finite scaling)",
                          "ours_seconds": ours["seconds"], "ours_success": ours["success"],
                          "ours_q": ours["q"], "ours_abs_q_minus_cavity": abs(ours["q"] - CAVITY_Q_G12),
                          "ours_residual": ours["residual_norm"],
                          "time_ratio_ours_over_mc": ours["seconds"] / t_mc})
            lap = pts.get("laplace g=1.2")
            if lap:
                d["ours_laplace"] = {k: lap[k] for k in ("success", "chi", "seconds", "message")}
        out[f"g={g}"] = d
    for key in (("laplace", "full"), ("chaotic", "paramagnetic")):
        s = sw.get(key)
        if s and "seconds_per_point" in s and mc:
            t_mc_all = float(sum(r["wall_s"] for r in mc) / len(mc))
            out[f"sweep {key[0]}/{key[1]} seconds per point / MC seconds per point"] = \
                s["seconds_per_point"] / t_mc_all
    return out


# ------------------------------------------------------------------------------ report

def _f(v, fmt=".3g"):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return format(v, fmt)


def write_markdown(res: dict, path: str) -> None:
    L = ["# Saddle-point solver benchmark", "",
         f"Command: `{res['command']}`  ", f"Date: {res['date']}; machine: {res['machine']}; "
         f"git {res['git']} (source tree {res.get('source')}). All numbers below come from this one run; wall times on a shared "
         f"machine (load average at start {res['loadavg_start']}, end {res['loadavg_end']}).", ""]
    c = res.get("compile", {})
    L += ["## Derive + generate + compile (tanh, base model)", "",
          "| cache | process wall s | import s | kind/branch | derive s | generate+import s | first call s |",
          "|---|---|---|---|---|---|---|"]
    for label in ("cold", "warm"):
        r = c.get(label, {})
        for k in r.get("kinds", []):
            L.append(f"| {label} | {_f(r['process_wall_s'], '.2f')} | {_f(r['import_s'], '.2f')} | "
                     f"{k['kind']}/{k['branch']} | {_f(k['derive_s'], '.2f')} | "
                     f"{_f(k['generate_import_s'], '.2f')} | {_f(k['first_call_s'], '.2f')} |")
        if "error" in r:
            L.append(f"| {label} | {r['error']} | | | | | |")
    L += ["", c.get("note", ""), ""]
    sws = res.get("sweeps", {}).get("sweeps", [])
    n = sws[0]["n"] if sws else 0
    L += [f"## Sweeps: {n} g in [0.8, 1.2], gamma = 0.2 (items a, b, d)", "",
          "Target: all points converged to max|residual| < 1e-10 in under 30 s on 2 cores. "
          "Policy: first point by `solve` (continued from g = 0), then `continuation`; after a "
          "failed point, restart at the next one from the library's default start. Timings "
          "exclude loading the kernels (one residual evaluation before the clock starts). "
          "maxrss: the sweep process (imports and kernels included; before the sweep in "
          "brackets); tracemalloc: peak of a second, traced pass (points traced in brackets).", "",
          "| item | kind/branch | beta | converged | max res (converged) | g converged | "
          "wall s | cpu s | s/point | maxrss MiB | tracemalloc peak MiB |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in sws:
        beta = s["beta"] if isinstance(s["beta"], str) else f"{s['beta']:g}"
        if "points" not in s:
            L.append(f"| {s['item']} | {s['kind']}/{s['branch']} | {beta} | {s.get('error')} |"
                     " | | | | | | |")
            continue
        L.append(f"| {s['item']} | {s['kind']}/{s['branch']} | {beta} | "
                 f"{s['n_converged']}/{s['n']} | {_f(s['max_residual_converged'], '.1e')} | "
                 f"{_ranges(s['g_converged'])} | {_f(s['wall_s'], '.2f')} | {_f(s['cpu_s'], '.2f')} | "
                 f"{_f(s['seconds_per_point'], '.3f')} | {_f(s['maxrss_after_sweep_mib'], '.0f')} "
                 f"({_f(s['maxrss_before_sweep_mib'], '.0f')}) | "
                 f"{_f(s.get('tracemalloc_peak_mib'), '.1f')} ({s.get('traced_points', '-')}) |")
    L.append("")
    for s in res.get("sweeps", {}).get("sweeps", []):
        if s.get("scalings"):
            L.append("- auto: " + "; ".join(f"{k} at g = {_ranges(v)} ({len(v)} points)"
                                            for k, v in s["scalings"].items() if v))
        if s.get("first_failure"):
            ff = s["first_failure"]
            L.append(f"- {s['kind']}/{s['branch']} beta={s['beta']}: first failure at g = "
                     f"{ff['g']:.3f}: {ff['message'][:220]}")
    L.append("")
    p = res.get("precision", {})
    if "solve_mp" in p:
        m = p["solve_mp"]
        L += ["## 30-digit solve (item c)", "",
              f"`solve_mp` chaotic/paramagnetic, g = 1.2, gamma = 0.3, 30 digits: "
              f"{_f(m['seconds'], '.1f')} s, success = {m['success']} ({m['message']}); "
              f"q = {m['x'].get('q')}; |double - mp| in q: {_f(m['abs_diff_double_vs_mp'].get('q'), '.1e')} "
              f"(double solve {_f(m['double_seconds'], '.2f')} s).", ""]
        for t in p.get("transition", {}).get("rows", []):
            if "error" in t:
                L += [f"`numerics.transition.{t['function']}` (gamma = 0.3, 30 digits): "
                      f"{_f(t.get('seconds'), '.1f')} s; error: {t['error']}", ""]
            else:
                L += [f"`numerics.transition.{t['function']}` (gamma = 0.3, 30 digits): "
                      f"{_f(t.get('seconds'), '.1f')} s; {t['value']}; |value - {t['closed_form']}| = "
                      f"{t['abs_dev_from_closed_form']:.1e}", ""]
    elif "error" in p:
        L += ["## 30-digit solve (item c)", "", p["error"], ""]
    mc = res.get("mc", {})
    if mc.get("runs"):
        L += [f"## Monte Carlo baseline (item e): {mc['n_samples']} samples x {mc['n_iter']} "
              "iterations, numpy on this machine", "",
              "benchmarks/published_mc.py: fresh (u, v) samples every iteration, golden-section "
              "maximisation of H0 on [-10, 0] and [0, 10] per sample, damping 0.2 and the published "
              "safeguards; the update form is this project's derived Laplace equations (implicit "
              "differentiation of the maximiser, nothing divided by sqrt(q)). Tail: the last "
              f"{min(50, mc['n_iter'] // 2)} iterations.", "",
              "| g | seed | q | chi | chi tail std | chi drift /iter | abs(chi - exact) | s/iteration | s/point |",
              "|---|---|---|---|---|---|---|---|---|"]
        for r in mc["runs"]:
            err = abs(r["chi"] - r["chi_exact"]) if r.get("chi_exact") else None
            L.append(f"| {r['g']} | {r['seed']} | {_f(r['q'], '.4g')} | {_f(r['chi'], '.7g')} | "
                     f"{_f(r['chi_tail_std'], '.2g')} | {_f(r['chi_drift_per_iteration'], '.3g')} | "
                     f"{_f(err, '.2e')} | {_f(r['seconds_per_iteration'], '.3f')} | {_f(r['wall_s'], '.1f')} |")
        L.append("")
    pts = res.get("points", {}).get("points", [])
    if pts:
        L += ["## Our solver at the baseline's points (gamma = 0, warm kernels)", "",
              "| case | success | q | chi | residual | s |", "|---|---|---|---|---|---|"]
        for q in pts:
            L.append(f"| {q['label']} | {q['success']} | {_f(q['q'], '.10g')} | {_f(q['chi'], '.10g')} | "
                     f"{_f(q['residual_norm'], '.1e')} | {_f(q['seconds'], '.2f')} |")
        L.append("")
    sm = res.get("summary", {})
    if sm:
        L += ["## Ours against the Monte Carlo baseline (same machine, same run)", "",
              "| g (gamma = 0) | MC s/point | MC s/iteration | MC chi (seeds 0, 1) | MC precision | "
              "ours | ours s | ours precision | time ours / MC |", "|---|---|---|---|---|---|---|---|---|"]
        for g in ("g=0.9", "g=1.2"):
            d = sm.get(g)
            if not d:
                continue
            chis = ", ".join(f"{c:.6g}" for c in d["mc_chi_by_seed"])
            if g == "g=0.9":
                mcp = "abs(chi - exact) = " + ", ".join(f"{e:.1e}" for e in d["mc_abs_chi_error_by_seed"])
                ourp = f"abs(chi - exact) = {_f(d.get('ours_abs_chi_error'), '.1e')}, residual {_f(d.get('ours_residual'), '.0e')}"
            else:
                mcp = ("not converged: chi drift " + ", ".join(f"{e:.3g}" for e in d["mc_chi_drift_per_iteration_by_seed"])
                       + " per iteration; q = " + ", ".join(f"{e:.4g}" for e in d["mc_q_by_seed"]))
                ourp = (f"q = {_f(d.get('ours_q'), '.10f')}, abs(q - cavity) = "
                        f"{_f(d.get('ours_abs_q_minus_cavity'), '.1e')}, residual {_f(d.get('ours_residual'), '.0e')}")
            L.append(f"| {g[2:]} | {_f(d['mc_seconds_per_point'], '.1f')} | {_f(d['mc_seconds_per_iteration'], '.3f')} | "
                     f"{chis} | {mcp} | {d.get('ours', '-')} | {_f(d.get('ours_seconds'), '.2f')} | {ourp} | "
                     f"{_f(d.get('time_ratio_ours_over_mc'), '.2g')} |")
        L.append("")
        for k, v in sm.items():
            if not isinstance(v, dict):
                L.append(f"- {k}: {_fmtv(v)}")
        lap = sm.get("g=1.2", {}).get("ours_laplace")
        if lap:
            L.append(f"- our Laplace (collapsed) solve at g = 1.2: success = {lap['success']}, "
                     f"{lap['seconds']:.2f} s: {lap['message'][:200]}")
        L += ["", "Published solver for reference (THEORY.md section 4, not measured here): "
              "5e5 samples, 27-62 s per point on one H200; chi = 5.69 at g = 0.9 (exact 5.263), "
              "chi = 41.6 / 49.2 and q = 0.1129 / 0.1140 at g = 1.2 (seeds 0 / 1).", ""]
    with open(path, "w") as fh:
        fh.write("\n".join(L))


def _finite(v):
    """JSON without NaN/Infinity: non-finite floats become the strings "nan", "inf", "-inf"."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def _fmtv(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmtv(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmtv(x)}" for k, x in v.items()) + "}"
    return str(v)


def _ranges(gs):
    if not gs:
        return "none"
    out, start, prev = [], gs[0], gs[0]
    for g in gs[1:]:
        if g - prev > 0.0101:
            out.append((start, prev))
            start = g
        prev = g
    out.append((start, prev))
    return ", ".join(f"{a:.2f}" if a == b else f"{a:.2f}-{b:.2f}" for a, b in out)


def _git():
    """HEAD and the modified or untracked files under theory/ and numerics/ at run time."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        st = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "theory", "numerics"],
                            capture_output=True, text=True, timeout=10).stdout.split("\n")
        dirty = [ln[3:] for ln in st if ln.strip() and not ln.endswith(".pyc")]
        return head + (f" (working tree differs in: {', '.join(dirty)})" if dirty else "")
    except Exception:
        return "?"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="9 points per sweep, small MC run")
    ap.add_argument("--mc-samples", type=int, default=None, help="MC samples per iteration")
    ap.add_argument("--mc-iter", type=int, default=None, help="MC iterations")
    ap.add_argument("--out", default=None,
                    help="output folder (default benchmarks/results; with --quick a temporary "
                         "folder, so smoke runs never overwrite the committed results)")
    ap.add_argument("--_probe", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._probe:
        name, args, path = a._probe
        out = PROBES[name](json.loads(args))
        with open(path, "w") as fh:
            json.dump(out, fh, default=str)
        return
    n_samples = a.mc_samples or (2000 if a.quick else 50000)
    n_iter = a.mc_iter or (30 if a.quick else 150)
    import numpy
    import numba
    res = {"command": "python benchmarks/bench_solver.py" + (" --quick" if a.quick else "")
           + (f" --mc-samples {a.mc_samples}" if a.mc_samples else "")
           + (f" --mc-iter {a.mc_iter}" if a.mc_iter else ""),
           "quick": a.quick, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
           "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                      f"Python {platform.python_version()}, numpy {numpy.__version__}, "
                      f"numba {numba.__version__}",
           "git": _git(), "source": ROOT, "loadavg_start": loadavg(), "tol": TOL}
    t0 = time.perf_counter()
    log("derive + generate + compile, cold and warm")
    res["compile"] = bench_compile(a.quick)
    log("sweeps")
    res["sweeps"] = bench_sweeps(a.quick)
    log("30-digit solve")
    res["precision"] = run_probe("precision", {}, timeout=900)
    log("single points at the MC baseline's parameters")
    res["points"] = run_probe("points", {}, timeout=1800)
    log("Monte Carlo baseline")
    res["mc"] = bench_mc(a.quick, n_samples, n_iter)
    res["summary"] = summarise(res)
    res["loadavg_end"] = loadavg()
    res["total_wall_s"] = time.perf_counter() - t0
    if a.out is None:
        a.out = (os.path.join(tempfile.gettempdir(), "qpot_bench_quick") if a.quick
                 else os.path.join(HERE, "results"))
    os.makedirs(a.out, exist_ok=True)
    jpath, mpath = os.path.join(a.out, "solver.json"), os.path.join(a.out, "solver.md")
    with open(jpath, "w") as fh:
        json.dump(_finite(res), fh, indent=1, default=str)
    write_markdown(res, mpath)
    log(f"wrote {jpath} and {mpath} ({res['total_wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
