"""Lyapunov sign-change scan: where lambda_max of dx/dt = -x + g J tanh(x) turns positive,
for gamma in {0, 0.5} and N = 500 ... 4000, against the lines g (1 + gamma) = 1 and
g sqrt(1 + gamma) = 1.

    python benchmarks/lyapunov_scan.py run [--Ns 500 1000 2000] [--seeds 4 4 3] [--gammas 0.5] [--start 0]
    python benchmarks/lyapunov_scan.py run --Ns 8000 --seeds 2 --gammas 0.0 --gs 1.0 1.05 1.1 1.15 1.2
    python benchmarks/lyapunov_scan.py checks        # dt and t_transient comparisons
    python benchmarks/lyapunov_scan.py inits [--N 1000] [--seeds 4] [--inits 1 2]   # other initial states
    python benchmarks/lyapunov_scan.py report        # -> results/lyapunov_scan.{json,md}, docs/lyapunov.png

``run`` is resumable: every (gamma, N, seed) unit is written to
benchmarks/results/lyapunov_scan.json as soon as it finishes and skipped when present; the
file is re-read before each write, so several processes (e.g. one per gamma) can share it.
Run with one thread (NUMBA_NUM_THREADS=OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from numerics.chaos import LyapunovScan, extrapolate, lyapunov_scan, zero_crossing

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "lyapunov_scan.json"
MD = HERE / "results" / "lyapunov_scan.md"
FIG = HERE.parent / "docs" / "lyapunov.png"

GRIDS = {
    0.0: [0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.4, 1.5],
    0.5: [0.64, 0.68, 0.72, 0.76, 0.80, 0.84, 0.88, 0.94, 1.0, 1.1],
}
PARAMS = {"t_transient": 400.0, "t_align": 100.0, "t_total": 1000.0, "dt": 0.1, "renorm": 1.0}


def load():
    if OUT.exists():
        return json.loads(OUT.read_text())
    return {"runs": {}, "checks": {}}


def save(db):
    tmp = OUT.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(db, indent=1))
    os.replace(tmp, OUT)


def unit(db, section, key, **kw):
    if key in db[section]:
        return
    t0 = time.time()
    s = lyapunov_scan(**kw)
    d = s.to_dict()
    d["wall_s"] = time.time() - t0
    db[section][key] = d
    fresh = load()  # another process may have written units meanwhile: merge, do not clobber
    fresh.setdefault(section, {})[key] = d
    for k, v in db.items():
        if not isinstance(v, dict) or k not in ("runs", "checks", "inits"):
            fresh.setdefault(k, v)
    save(fresh)
    print(f"{section} {key}: {d['wall_s']:.0f} s; lam = {np.round(s.lam[0], 4).tolist()}",
          flush=True)


def cmd_run(a):
    db = load()
    db["conditions"] = {"machine": platform.processor() or platform.machine(),
                        "threads": os.environ.get("OPENBLAS_NUM_THREADS", "?"),
                        "params": PARAMS, "grids": {str(k): v for k, v in GRIDS.items()}}
    for N, ns in zip(a.Ns, a.seeds):
        for s in range(a.start, ns):
            for gamma, gs in GRIDS.items():
                if a.gammas and gamma not in a.gammas:
                    continue
                if a.gs:                     # main() set a.gs to values of this grid
                    gs = [g for g in gs if g in a.gs]
                unit(db, "runs", f"{gamma}/{N}/{s}", N=N, gs=gs, gamma=gamma, seeds=(s,),
                     spectrum=True, progress=False, **PARAMS)


def cmd_checks(a):
    db = load()
    gs = GRIDS[0.5]
    p = dict(PARAMS)
    unit(db, "checks", "dt0.05/0.5/500/0", N=500, gs=gs, gamma=0.5, seeds=(0,),
         progress=False, **{**p, "dt": 0.05})
    unit(db, "checks", "transient1500/0.5/1000/0", N=1000, gs=gs, gamma=0.5, seeds=(0,),
         progress=False, **{**p, "t_transient": 1500.0})


def cmd_inits(a):
    """The runs' networks (gamma in GRIDS, size N, seeds 0..seeds-1) from other initial states
    x0, v0 (init_seed k): does the sign of lambda_max depend on where the dynamics starts?"""
    db = load()
    db.setdefault("inits", {})
    for s in range(a.seeds):
        for gamma, gs in GRIDS.items():
            for k in a.inits:
                unit(db, "inits", f"init{k}/{gamma}/{a.N}/{s}", N=a.N, gs=gs, gamma=gamma,
                     seeds=(s,), progress=False, init_seed=k, **PARAMS)


def inits_report(db) -> tuple[list, dict]:
    """Markdown and a summary of the initial-state comparison: per network and g, the class
    (C, F, L, -) from each initial state; 'agree' where all initial states give one class."""
    md, out = [], {}
    groups = {}
    for key in db.get("inits", {}):
        _, gamma, N, seed = key.split("/")
        groups.setdefault((gamma, N, seed), []).append(key)
    if not groups:
        return md, out
    md += ["## Initial states", "",
           "The same networks from other initial states (x0, v0 drawn with init_seed k; "
           "k = 0 is the run above). Classes per g as in the tables above; a column whose "
           "letters differ is a network whose long-time behaviour depends on the start.", "",
           "| gamma | N | seed | init | " + " | ".join("g" + str(i) for i in range(10)) + " |",
           "|---|---|---|---|" + "---|" * 10]
    n_cells = n_agree = 0
    for (gamma, N, seed), keys in sorted(groups.items()):
        base = LyapunovScan.from_dict(db["runs"][f"{gamma}/{N}/{seed}"])
        scans = [(0, base)] + [(int(k.split("/")[0][4:]), LyapunovScan.from_dict(db["inits"][k]))
                               for k in sorted(keys)]
        cls = [(k, classify(sc)[0], sc) for k, sc in scans]
        for k, c, sc in cls:
            md.append(f"| {gamma} | {N} | {seed} | {k} | " + " | ".join(
                f"{ch} {lam:+.4f}" for ch, lam in zip(c, sc.lam[0])) + " |")
        for i in range(base.gs.size):
            n_cells += 1
            n_agree += len({c[i] for _, c, _ in cls}) == 1
        out[f"{gamma}/{N}/{seed}"] = {"gs": base.gs.tolist(),
                                      "classes": {str(k): c for k, c, _ in cls},
                                      "lam": {str(k): sc.lam[0].tolist() for k, _, sc in cls}}
    md += ["", f"All initial states in the same class at {n_agree} of {n_cells} (network, g) "
               "cells; the grid g0..g9 is GRIDS[gamma] of the tables above.", ""]
    out["agree"], out["cells"] = n_agree, n_cells
    return md, out


def merged(db, gamma, N):
    runs = [LyapunovScan.from_dict(d) for k, d in sorted(db["runs"].items())
            if k.startswith(f"{gamma}/{N}/")]
    if not runs:
        return None
    cat = lambda f: np.concatenate([getattr(r, f) for r in runs])  # noqa: E731
    r0 = runs[0]
    if any(not np.array_equal(r.gs, r0.gs) for r in runs):
        raise ValueError(f"gamma = {gamma}, N = {N}: the J samples were run on different g "
                         "grids; rerun them on one grid")
    return LyapunovScan(N, gamma, r0.gs, tuple(s for r in runs for s in r.seeds),
                        cat("lam"), cat("err"), cat("first"), cat("second"), cat("q_end"),
                        cat("speed_end"), cat("mu"), r0.params)


def on_grid(grid, gs, cells, missing):
    """``cells`` (one per g in ``gs``, a subset of ``grid``: the grid's own values, stored
    exactly in the JSON) placed on the columns of ``grid``, ``missing`` where a g was not
    run."""
    at = dict(zip(map(float, gs), cells))
    return [at.get(float(g), missing) for g in grid]


def classify(s, nsig=3.0):
    """Per sample and g: 'C' chaotic (lambda > nsig err), 'F' on a fixed point (end speed
    (1/N)|dx/dt|^2 < 1e-20), 'L' otherwise (|lambda| small and still moving: limit cycle,
    torus, or a slow transient), '-' significantly negative but still moving."""
    out = []
    for k in range(len(s.seeds)):
        row = ""
        for i in range(s.gs.size):
            lam, err, v = s.lam[k, i], s.err[k, i], s.speed_end[k, i]
            row += ("C" if lam > nsig * err else "F" if v < 1e-20 else
                    "-" if lam < -nsig * err else "L")
        out.append(row)
    return out


def cmd_report(a):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from numerics.dmft import lyapunov_dmft

    db = load()
    analysis = {}
    md = ["# Lyapunov sign-change scan (written by benchmarks/lyapunov_scan.py report)", "",
          f"Parameters: {PARAMS}; one thread per process. Errors: 1 sigma of the disorder "
          "average (larger of propagated time-average errors and the spread of J samples); "
          "crossing intervals 95 % (Fieller), weighted line through 2 points on each side "
          "of the last sign change of the averaged lambda.", ""]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, gamma in zip(axes, GRIDS):
        Ns = sorted({int(k.split("/")[1]) for k in db["runs"] if k.startswith(f"{gamma}/")})
        g1, g2 = 1 / (1 + gamma), 1 / math.sqrt(1 + gamma)
        md += [f"## gamma = {gamma} (g(1+gamma) = 1 at {g1:.4f}, g sqrt(1+gamma) = 1 at "
               f"{g2:.4f})", "", "Disorder-averaged lambda_max (± 1 sigma):", "",
               "| N | J samples | " + " | ".join(f"g={g:g}" for g in GRIDS[gamma]) + " |",
               "|---|---|" + "---|" * len(GRIDS[gamma])]
        rows, cross_md, class_md = [], [], []
        for N in Ns:
            s = merged(db, gamma, N)
            wall = sum(d["wall_s"] for k, d in db["runs"].items()
                       if k.startswith(f"{gamma}/{N}/"))
            md.append(f"| {N} | {len(s.seeds)} | " + " | ".join(on_grid(
                GRIDS[gamma], s.gs, [f"{m:+.4f} ± {e:.4f}" for m, e in zip(s.mean, s.mean_err)],
                "not run")) + " |")
            ent = {"N": N, "seeds": list(s.seeds), "gs": s.gs.tolist(),
                   "mean": s.mean.tolist(), "mean_err": s.mean_err.tolist(),
                   "inv_mu": (1 / s.mu).tolist(), "classes": classify(s), "wall_s": wall,
                   "max_half_drift": float(np.max(np.abs(s.second - s.first)))}
            try:
                zc = zero_crossing(s.gs, s.mean, s.mean_err, which="last", n_side=2)
                ent["crossing"] = zc.as_dict()
                rows.append((N, zc.g, zc.err))
                flag = "" if zc.inside else " (outside the bracket)"
                cell = (f"{zc.g:.4f} ± {zc.err:.4f}{flag} | [{zc.lo:.4f}, {zc.hi:.4f}] | "
                        f"{zc.bracket[0]}-{zc.bracket[1]} | {zc.n_sign_changes} | "
                        f"{zc.chi2:.1f} ({zc.dof})")
            except ValueError as e:
                ent["crossing_error"] = str(e)
                cell = f"not resolved: {e} | | | | "
            pos = s.mean > 2 * s.mean_err
            i0 = next((i for i in range(pos.size) if pos[i:].all()), None)
            onset = ("none" if i0 is None else
                     f"({s.gs[i0 - 1]:g}, {s.gs[i0]:g}]" if i0 > 0 else f"<= {s.gs[0]:g}")
            ent["positive_from"] = None if i0 is None else float(s.gs[i0])
            cross_md.append(f"| {N} | {cell} | {onset} | {np.mean(1 / s.mu):.4f} "
                            f"({np.min(1 / s.mu):.4f}-{np.max(1 / s.mu):.4f}) | {wall:.0f} |")
            class_md += [f"| {N} | {s.seeds[k]} | {1 / s.mu[k]:.4f} | "
                         + " ".join(on_grid(GRIDS[gamma], s.gs, c, ".")) + " |"
                         for k, c in enumerate(ent["classes"])]
            ax.errorbar(s.gs + 0.002 * (Ns.index(N) - 1), s.mean, 2 * s.mean_err, marker="o",
                        ms=3, capsize=2, label=f"N = {N} ({len(s.seeds)} J)")
            analysis[f"{gamma}/{N}"] = ent
        md += ["", "Crossing of the averaged lambda (last sign change):", "",
               "| N | g* ± err | 95 % CI | bracket | sign changes | line chi2 (dof) "
               "| lambda > 2 sigma from g in | 1/max Re eig J: mean (range) | CPU s |",
               "|---|---|---|---|---|---|---|---|---|"]
        md += cross_md
        ext = {}
        if len(rows) >= 2:
            for p in (1.0, 0.5):
                e = extrapolate([r[0] for r in rows], [r[1] for r in rows],
                                [r[2] for r in rows], power=p)
                ext[str(p)] = e.as_dict()
                md += ["", f"Extrapolation g*(N) = g_inf + c N^-{p}: g_inf = {e.y_inf:.4f} ± "
                       f"{e.err:.4f}, c = {e.c:.3g} ± {e.c_err:.2g}, chi2 = {e.chi2:.2f} "
                       f"(dof {e.dof})"]
        analysis[f"{gamma}/extrapolation"] = ext
        md += ["", "Per J sample and g (C: lambda > 3 err; F: on a fixed point, "
               "(1/N)|dx/dt|^2 < 1e-20 at the end; L: |lambda| < 3 err and moving; "
               "-: lambda < -3 err and moving; '.': g not run at this N):", "",
               "| N | seed | 1/max Re eig J | " + " ".join(f"{g:g}" for g in GRIDS[gamma])
               + " |", "|---|---|---|---|"] + class_md + [""]
        ax.axhline(0, color="k", lw=0.6)
        ax.axvline(g1, color="C3", ls="--", label=f"g(1+γ) = 1: {g1:.4f}")
        if gamma:
            ax.axvline(g2, color="C4", ls=":", label=f"g√(1+γ) = 1: {g2:.4f}")
        if gamma == 0.0:
            gd = np.linspace(1.02, 1.5, 17)
            ld = [lyapunov_dmft(g).lyapunov for g in gd]
            analysis["0.0/dmft"] = {"g": gd.tolist(), "lam": ld}
            ax.plot(gd, ld, "k-", lw=1, label="DMFT, N = ∞ (SCS)")
        ax.set_title(f"γ = {gamma}")
        ax.set_xlabel("g")
        ax.set_ylabel("λ_max, disorder average (± 2σ)")
        ax.legend(fontsize=7)
    checks = {}
    for key, d in db.get("checks", {}).items():
        c = LyapunovScan.from_dict(d)
        _, gamma, N, seed = key.split("/")
        base = LyapunovScan.from_dict(db["runs"][f"{gamma}/{N}/{seed}"])
        err = np.hypot(c.err[0], base.err[0])
        checks[key] = {"gs": c.gs.tolist(), "lam": c.lam[0].tolist(),
                       "lam_base": base.lam[0].tolist(),
                       "diff": (c.lam[0] - base.lam[0]).tolist(), "err": err.tolist(),
                       "params": c.params}
        md += [f"Check {key}: {c.params} against the run above:", "",
               "| g | " + " | ".join(f"{g:g}" for g in c.gs) + " |",
               "|---|" + "---|" * c.gs.size,
               "| λ check | " + " | ".join(f"{x:+.4f}" for x in c.lam[0]) + " |",
               "| λ run | " + " | ".join(f"{x:+.4f}" for x in base.lam[0]) + " |",
               "| combined err | " + " | ".join(f"{x:.4f}" for x in err) + " |", ""]
    imd, isum = inits_report(db)
    md += imd
    fig.tight_layout()
    fig.savefig(FIG, dpi=130)
    db["inits_summary"] = isum
    db["analysis"] = analysis
    db["checks_summary"] = checks
    save(db)
    MD.write_text("\n".join(md) + "\n")
    print("\n".join(md))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--Ns", type=int, nargs="+", default=[500, 1000, 2000])
    r.add_argument("--seeds", type=int, nargs="+", default=[4, 4, 3])
    r.add_argument("--gammas", type=float, nargs="+", default=None)
    r.add_argument("--gs", type=float, nargs="+", default=None,
                   help="run only these gains (a subset of the grid of the one gamma given "
                        "with --gammas), e.g. the points around the crossing at N = 8000")
    r.add_argument("--start", type=int, default=0,
                   help="first network seed (run seeds start .. seeds-1), to split one size "
                        "over processes")
    sub.add_parser("checks")
    i = sub.add_parser("inits")
    i.add_argument("--N", type=int, default=1000)
    i.add_argument("--seeds", type=int, default=4)
    i.add_argument("--inits", type=int, nargs="+", default=[1, 2])
    sub.add_parser("report")
    a = ap.parse_args()
    if a.cmd == "run" and len(a.Ns) != len(a.seeds):
        ap.error("--Ns and --seeds must have the same length")
    if a.cmd == "run" and not 0 <= a.start < max(a.seeds):
        ap.error(f"--start must be in [0, {max(a.seeds)}) so that some seed is run, got {a.start}")
    if a.cmd == "run" and a.gammas and not set(a.gammas) <= set(GRIDS):
        ap.error(f"--gammas must be among {sorted(GRIDS)} (the scan's grids), got {a.gammas}")
    if a.cmd == "run" and a.gs:
        if not a.gammas or len(a.gammas) != 1:
            ap.error("--gs needs exactly one --gammas value")
        grid = GRIDS[a.gammas[0]]
        bad = [g for g in a.gs if not any(abs(g - h) < 1e-12 for h in grid)]
        if bad:
            ap.error(f"--gs must be a subset of the grid {grid} of gamma = {a.gammas[0]}, "
                     f"got {bad} outside it")
        a.gs = [h for h in grid if any(abs(g - h) < 1e-12 for g in a.gs)]
    {"run": cmd_run, "checks": cmd_checks, "inits": cmd_inits, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
