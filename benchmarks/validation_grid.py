"""Finite-beta replica-symmetric solution against Langevin/MALA sampling on a 24-point grid.

Grid: beta in {2, 10, 100}, g in {0.8, 1.2}, gamma in {0, 0.5}, eta in {0, 0.1}, phi = tanh, no
input. Every point goes through ``numerics.validate.validate`` (the harness of
tests/test_validate.py): MALA with 2 replicas on 3 independent J samples (seeds 0, 1, 2)
at N = 250, 500, 1000, the seeds combined per N, and q, Q, energy, chi extrapolated to
N -> infinity by the weighted fit y = a + b/N; the theory side is ``replica_theory('tanh')``
(the finite-beta RS saddle point of ``numerics.continuation.solve``). Run lengths were sized
from the integrated autocorrelation times: tau(q) at N = 1000 is at most about 550 steps
at beta = 2 and at beta = 10 with eta = 0.1, and reaches 2000 - 3500 steps at beta = 10,
eta = 0, g = 1.2 (a first run with 40000 + 8000 steps there gave burn-in / tau = 2.3), so
the four beta = 10, eta = 0 points get the longer runs of SETTINGS (burn-in >= 4.5 tau of
that run). dt is the initial MALA step; it is adapted towards acceptance 0.574
during the burn-in only.

Every run's acceptance, adapted dt, tau of q, Q and energy and the drift between the two
halves of its recorded q and energy traces come from the harness (``ValidationTable.runs``).
All points use the same J samples and sampler seeds (``validate``'s default): differences
between points are measured with common random numbers, but the points' comparisons are not
independent of one another.

beta = 100 (a third column, run separately with ``--betas 100`` and merged into the same
files): tau(q) at N = 1000 measured in a pilot run (40000 steps, seed 0) is about 160 steps
with eta = 0.1, 500 - 2000 at g = 0.8, eta = 0 and 4900 - 5700 at g = 1.2, eta = 0, so the
beta = 100 points get 40000, 120000 and 120000 recorded steps (SETTINGS): about 40 and 60 tau
for the first two, only about 20 tau at g = 1.2, eta = 0 (a longer run, 300000 steps, did not
fit the time available; the table's steps/tau column says how short it is).

Writes docs/validation_grid.{json,csv,png,md} (the CSV is the harness's table, every N and
the N = inf rows). The markdown is regenerated from the JSON; text below its
"<!-- notes -->" marker is kept across runs.

    python benchmarks/validation_grid.py            # full grid (beta = 2, 10, 100)
    python benchmarks/validation_grid.py --betas 100   # one column, merged into the results
    python benchmarks/validation_grid.py --quick    # 2 points, N = 250, 500, short runs
    python benchmarks/validation_grid.py --report   # rewrite md and png from the JSON

One more size is added without re-running the others: ``--extend N`` runs the selected
points (``--betas``, ``--classes``; ``--part I/K`` takes every K-th of them, so K processes
share the work) at N with the grid's seeds and run lengths and writes an extension file;
``--merge FILES`` adds the files to docs/validation_grid.json and refits N -> infinity
over all sizes of each point (two degrees of freedom with four sizes).

    python benchmarks/validation_grid.py --extend 2000 --classes fast b100 --part 0/2 &
    python benchmarks/validation_grid.py --extend 2000 --classes fast b100 --part 1/2
    python benchmarks/validation_grid.py --merge benchmarks/results/validation_grid_N2000_*of2.json
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numerics.validate as V  # noqa: E402
from numerics.stats import Estimate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs")
NAME = "validation_grid"
NOTES = "<!-- notes -->"

GRID = [dict(g=g, gamma=gamma, beta=beta, eta=eta)
        for beta, g, gamma, eta in itertools.product((2.0, 10.0, 100.0), (0.8, 1.2), (0.0, 0.5), (0.0, 0.1))]
NS = (250, 500, 1000)
SEEDS = (0, 1, 2)
REPLICAS = 2
THIN = 10
NSIGMA = 3.0
# run lengths (MALA steps) per class of point, sized from tau(q) at N = 1000 (docstring)
SETTINGS = {
    "fast": dict(steps=15000, burn=3000, dt=0.05),     # beta = 2, and beta = 10 with eta = 0.1
    "slow": dict(steps=60000, burn=16000, dt=0.05),    # beta = 10 with eta = 0
    "b100": dict(steps=40000, burn=10000, dt=0.05),    # beta = 100 with eta = 0.1
    "b100_slow": dict(steps=120000, burn=30000, dt=0.05),   # beta = 100, g = 0.8, eta = 0
    "b100_slower": dict(steps=120000, burn=30000, dt=0.05),  # beta = 100, g = 1.2, eta = 0
}
CLASS_TEXT = {"fast": "β = 2, and β = 10 with η = 0.1", "slow": "β = 10 with η = 0",
              "b100": "β = 100 with η = 0.1", "b100_slow": "β = 100, g = 0.8, η = 0",
              "b100_slower": "β = 100, g = 1.2, η = 0"}
QUICK = dict(points=[GRID[0], GRID[3]], Ns=(250, 500), seeds=(0, 1, 2),
             settings={"fast": dict(steps=3000, burn=1000, dt=0.05),
                       "slow": dict(steps=3000, burn=1000, dt=0.05)})


def point_class(p):
    if p["beta"] >= 100:
        if p["eta"] > 0:
            return "b100"
        return "b100_slow" if p["g"] < 1 else "b100_slower"
    return "slow" if (p["beta"] >= 10 and p["eta"] == 0) else "fast"


def key(p):
    return (p["g"], p["gamma"], p["beta"], p["eta"])


# ------------------------------------------------------------------ run

def summarise(p, rows, runs, Ns):
    """One summary dict per point from the harness's rows and the recorded runs."""
    ext = {r["observable"]: r for r in rows if r["N"] == "inf" and key(r) == key(p)}
    fin = [r for r in rows if r["N"] != "inf" and key(r) == key(p)]
    prs = [r for r in runs if key(r) == key(p)]
    big = [r for r in prs if r["N"] == max(Ns)]
    out = dict(p, cls=point_class(p), steps=prs[0]["steps"] if prs else None,
               burn=prs[0]["burn"] if prs else None, Ns=sorted(int(N) for N in Ns))
    for o in ("q", "Q", "energy", "chi"):
        e = ext[o]
        out[o] = dict(theory=e["theory"], mean=e["mean"], err=e["err"], z=e["z"],
                      chi2_dof=e["chi2_dof"],
                      per_N={str(r["N"]): dict(mean=r["mean"], err=r["err"], tau=r["tau"])
                             for r in fin if r["observable"] == o})
        if e["theory"] is not None and o != "chi":
            out[o]["agree"] = bool(e["z"] is not None and abs(e["z"]) <= NSIGMA)
    out["acceptance"] = float(np.mean([r["acceptance"] for r in prs]))
    out["acceptance_range"] = [float(min(r["acceptance"] for r in prs)), float(max(r["acceptance"] for r in prs))]
    out["dt_largest_N"] = float(np.mean([r["dt"] for r in big]))
    out["tau_q_largest_N"] = float(max(r["tau_q"] for r in big))
    out["tau_Q_largest_N"] = float(max(r["tau_Q"] for r in big))
    out["tau_energy_largest_N"] = float(max(r["tau_energy"] for r in big))
    tmax = max(out["tau_q_largest_N"], out["tau_energy_largest_N"])
    out["steps_over_tau"] = out["steps"] / tmax if out["steps"] else None
    out["burn_over_tau"] = out["burn"] / tmax if out["burn"] else None
    out["max_abs_half_drift_sigma"] = {o: float(max(abs(r[f"{o}_half_drift_sigma"]) for r in prs))
                                       for o in ("q", "energy")}
    return out


def run(points, Ns, seeds, settings, out_dir, command, merge=False):
    """Run ``points`` through the harness, saving after every point. With ``merge`` the
    results already in out_dir are kept and the new points added to (or replacing) them."""
    theory = V.replica_theory("tanh")
    old = _load(out_dir) if merge else None
    keep = [] if old is None else [q for q in old["points"] if key(q) not in {key(p) for p in points}]
    done = {key(q) for q in keep}
    rows = [] if old is None else [r for r in old["rows"] if key(r) in done]
    runs = [] if old is None else [r for r in old["runs"] if key(r) in done]
    history = [] if old is None else old["meta"].get("history", [dict(command=old["meta"]["command"],
                                                                       seconds=old["meta"]["seconds"])])
    summary = []
    t0 = time.perf_counter()
    res = None
    for i, p in enumerate(points):
        s = settings[point_class(p)]
        t = time.perf_counter()
        tab = V.validate([p], Ns=Ns, theory=theory, phi="tanh", seeds=seeds, steps=s["steps"],
                         burn=s["burn"], replicas=REPLICAS, thin=THIN, dt=s["dt"])
        rows += tab.rows
        runs += tab.runs
        summary.append(summarise(p, rows, runs, Ns))
        sm = summary[-1]
        print(f"[{i + 1}/{len(points)}] g={p['g']} gamma={p['gamma']} beta={p['beta']} eta={p['eta']}: "
              f"q {sm['q']['mean']:.5f}±{sm['q']['err']:.5f} vs {sm['q']['theory']:.5f} (z={sm['q']['z']:+.2f}), "
              f"E {sm['energy']['mean']:.5f}±{sm['energy']['err']:.5f} vs {sm['energy']['theory']:.5f} "
              f"(z={sm['energy']['z']:+.2f}), acc {sm['acceptance']:.3f}, tau_q(N={max(Ns)}) "
              f"{sm['tau_q_largest_N']:.0f}  ({time.perf_counter() - t:.0f} s)", flush=True)
        seconds = time.perf_counter() - t0
        allpts = sorted(keep + summary, key=lambda q: (q["beta"], q["g"], q["gamma"], q["eta"]))
        res = dict(meta=dict(command=command, Ns=list(Ns), seeds=list(seeds), replicas=REPLICAS,
                             thin=THIN, settings=settings, nsigma=NSIGMA, method="mala",
                             target_acceptance=0.574, phi="tanh",
                             seconds=sum(h["seconds"] for h in history) + seconds,
                             history=history + [dict(command=command, seconds=seconds)],
                             complete=i + 1 == len(points), **_host()),
                   points=allpts, runs=runs, rows=rows)
        save(res, out_dir)          # after every point, so an interrupted run keeps what it did
    V.ValidationTable(rows).write_csv(os.path.join(out_dir, f"{NAME}.csv"))
    return res


def _host() -> dict:
    """Where a run was made: machine name, visible CPUs, the BLAS/numba thread settings."""
    return dict(machine=platform.node(), cpus=os.cpu_count(),
                threads={k: os.environ.get(k) for k in
                         ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")})


def extend(points, N, seeds, settings, path, command):
    """Run ``points`` at one more size ``N`` (same seeds and run lengths as the grid) and save
    the harness's per-N rows and per-run diagnostics to ``path`` after every point. The file
    is merged into the grid's results by ``merge_extensions`` (``--merge``), which refits the
    N -> infinity values over all sizes; several extension files (e.g. one per process) can
    be merged at once."""
    out = dict(meta=dict(command=command, N=N, seeds=list(seeds), settings=settings, seconds=0.0,
                         complete=False, **_host()),
               points=[], rows=[], runs=[])
    t0 = time.perf_counter()
    for i, p in enumerate(points):
        s = settings[point_class(p)]
        t = time.perf_counter()
        tab = V.validate([p], Ns=(N,), theory=None, phi="tanh", seeds=seeds, steps=s["steps"],
                         burn=s["burn"], replicas=REPLICAS, thin=THIN, dt=s["dt"])
        out["points"].append(dict(p))
        out["rows"] += [r for r in tab.rows if r["N"] != "inf"]
        out["runs"] += tab.runs
        q = next(r for r in tab.rows if r["N"] == N and r["observable"] == "q")
        print(f"[{i + 1}/{len(points)}] N={N} g={p['g']} gamma={p['gamma']} beta={p['beta']} "
              f"eta={p['eta']}: q {q['mean']:.5f}±{q['err']:.5f} ({time.perf_counter() - t:.0f} s)",
              flush=True)
        out["meta"]["seconds"] = time.perf_counter() - t0
        out["meta"]["complete"] = i + 1 == len(points)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as fh:
            json.dump(_clean(out), fh, indent=1)
    return out


def merge_extensions(res, extensions):
    """Add the per-N rows and runs of extension files (``extend``) to the grid's results
    ``res`` and recompute, for every point that gained a size, the N -> infinity rows (the
    harness's weighted fit y = a + b/N over all its sizes, z against the same theory value)
    and the point's summary. Rows of a size the point already has are replaced. ``res`` is
    not modified; an extension with a point that is not in ``res`` raises ValueError."""
    rows, runs = list(res["rows"]), list(res["runs"])
    pts = {key(p): p for p in res["points"]}
    touched = set()
    for ext in extensions:
        unknown = {key(r) for r in ext["rows"]} - set(pts)
        if unknown:
            raise ValueError(f"extension '{ext['meta']['command']}' has points that are not in "
                             f"the grid's results (g, gamma, beta, eta): {sorted(unknown)}")
        new = {(key(r), r["N"]) for r in ext["rows"]}
        rows = [r for r in rows if (key(r), r["N"]) not in new]
        runs = [r for r in runs if (key(r), r["N"]) not in new]
        rows += ext["rows"]
        runs += ext["runs"]
        touched |= {key(r) for r in ext["rows"]}
    summary = []
    for k, p in pts.items():
        if k not in touched:
            summary.append(dict(p, Ns=sorted({int(r["N"]) for r in rows if r["N"] != "inf" and key(r) == k})))
            continue
        fin = sorted((r for r in rows if r["N"] != "inf" and key(r) == k), key=lambda r: r["N"])
        for o in ("q", "Q", "energy", "chi"):
            j = next(j for j, r in enumerate(rows) if r["N"] == "inf" and key(r) == k and r["observable"] == o)
            ro = [r for r in fin if r["observable"] == o]
            rows[j] = V.extrapolated_row(p, o, [r["N"] for r in ro],
                                         [Estimate(r["mean"], r["err"], r["tau"] or 1.0) for r in ro],
                                         rows[j]["theory"])
        base = {c: p[c] for c in ("g", "gamma", "beta", "eta")}
        Ns = sorted({r["N"] for r in fin})
        summary.append(summarise(base, rows, runs, Ns))
    out = dict(res, rows=rows, runs=runs,
               points=sorted(summary, key=lambda q: (q["beta"], q["g"], q["gamma"], q["eta"])))
    m = dict(res["meta"])
    m["Ns"] = sorted({r["N"] for r in rows if r["N"] != "inf"})
    new = [dict(command=e["meta"]["command"], N=e["meta"]["N"], seconds=e["meta"]["seconds"],
                complete=e["meta"]["complete"], points=len(e["points"])) for e in extensions]
    m["extensions"] = [e for e in m.get("extensions", [])
                       if e["command"] not in {n["command"] for n in new}] + new   # re-merge replaces
    out["meta"] = m
    return out


def _load(out_dir):
    path = os.path.join(out_dir, f"{NAME}.json")
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        return _clean(v.item())
    return v


def save(res, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{NAME}.json"), "w") as fh:
        json.dump(_clean(res), fh, indent=1)


# ------------------------------------------------------------------ figure

def label(p):
    return f"β={p['beta']:g} g={p['g']:g} γ={p['gamma']:g} η={p['eta']:g}"


def figure(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = res["points"]
    n = len(pts)
    x = np.arange(n)
    fig, axes = plt.subplots(2, 2, figsize=(max(14, 0.75 * n + 2), 8), sharex=True,
                             gridspec_kw=dict(height_ratios=(1.6, 1)))
    Ns = [str(N) for N in res["meta"]["Ns"]]
    for col, o in enumerate(("q", "energy")):
        a = axes[0][col]
        th = np.array([p[o]["theory"] for p in pts], float)
        m = np.array([p[o]["mean"] for p in pts], float)
        e = np.array([p[o]["err"] for p in pts], float)
        ok = np.array([p[o]["agree"] for p in pts])
        width = 0.5
        offs = np.linspace(-width / 2, width / 2, len(Ns) + 1)
        for k, N in enumerate(Ns):
            nan = dict(mean=np.nan, err=np.nan)       # a size the point was not run at
            mN = np.array([p[o]["per_N"].get(N, nan)["mean"] for p in pts], float)
            eN = np.array([p[o]["per_N"].get(N, nan)["err"] for p in pts], float)
            a.errorbar(x + offs[k], 100 * (mN - th) / th, yerr=100 * eN / th, fmt="o", ms=3,
                       color=f"C{k + 1}", alpha=0.7, lw=0.8, label=f"N = {N}")
        xe = x + offs[-1]
        a.errorbar(xe[ok], 100 * (m[ok] - th[ok]) / th[ok], yerr=100 * e[ok] / th[ok], fmt="s",
                   color="C0", ms=5, label=f"N → ∞ (1/N fit), within {NSIGMA:g} err")
        if (~ok).any():
            a.errorbar(xe[~ok], 100 * (m[~ok] - th[~ok]) / th[~ok], yerr=100 * e[~ok] / th[~ok],
                       fmt="s", color="C3", ms=6, label=f"N → ∞ (1/N fit), off by > {NSIGMA:g} err")
        a.axhline(0, color="k", lw=1, label="RS theory (finite β)")
        for k in range(n - 1):
            a.axvline(k + 0.5, color="0.85", lw=0.5)
        a.set_ylabel(f"(sim − theory) / theory  [%]")
        a.set_title(f"{o if o == 'q' else 'energy E/N'}: simulation against RS theory "
                    "(tanh, MALA, 3 J samples per N)", fontsize=10)
        a.legend(fontsize=7, ncol=2)
        a.grid(alpha=0.3, axis="y")
        b = axes[1][col]
        z = np.array([p[o]["z"] for p in pts], float)
        b.axhspan(-NSIGMA, NSIGMA, color="0.9")
        b.axhline(0, color="k", lw=0.8)
        b.bar(x, z, color=["C0" if k else "C3" for k in ok], width=0.6)
        b.set_ylabel("(sim − theory) / err, N → ∞")
        b.grid(alpha=0.3)
        b.set_xticks(x)
        b.set_xticklabels([label(p) for p in pts], rotation=70, fontsize=7, ha="right")
        for k, p in enumerate(pts):
            c2 = p[o]["chi2_dof"]
            if c2 is not None:
                b.annotate(f"{c2:.1f}", (k, 0), xytext=(0, -12 if z[k] >= 0 else 4),
                           textcoords="offset points", ha="center", fontsize=6, color="0.3")
        b.set_title("deviation in error bars (grey band: ±3; numbers: χ²/dof of the 1/N fit)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ markdown

def _f(v, spec):
    return "—" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, spec)


def _nmax(p, meta):
    """The largest N a point was run at (older results carry the sizes only in meta)."""
    return max(p.get("Ns") or meta["Ns"])


def drifting(res, nsigma=NSIGMA):
    """Points whose q trace is still moving at their largest N: for each point, the runs at
    that N whose q half-trace drift (mean of the second half of the recorded trace minus the
    first, in units of the combined error) exceeds ``nsigma`` in size. Returns a list of
    (point summary, N, drifts of all runs at that N, drifts beyond nsigma); a point listed
    here is not stationary at its largest size; if its traces relax monotonically, their means
    and the N -> infinity value lie on the side opposite to the drift (q rising: too low)."""
    out = []
    for p in res["points"]:
        nm = _nmax(p, res["meta"])
        d = [r["q_half_drift_sigma"] for r in res["runs"] if key(r) == key(p) and r["N"] == nm
             and r.get("q_half_drift_sigma") is not None]
        beyond = [v for v in d if abs(v) > nsigma]
        if beyond:
            out.append((p, nm, d, beyond))
    return out


def markdown(res, old_notes=""):
    m = res["meta"]
    pts = res["points"]
    L = [f"# Finite-β RS theory against Langevin/MALA: {len(pts)}-point grid", "",
         "Generated by `benchmarks/validation_grid.py` from `docs/validation_grid.json` "
         "(figure `docs/validation_grid.png`, per-N table `docs/validation_grid.csv`).", "",
         "## Command and settings", "",
         *[f"    {h['command']}    # {h['seconds'] / 60:.1f} min"
           for h in m.get("history", [dict(command=m["command"], seconds=m["seconds"])])], "",
         f"* wall time {m['seconds'] / 60:.1f} min on `{m['machine']}` ({m['cpus']} CPU visible, "
         f"threads {m['threads']}); run complete: {m['complete']}",
         f"* phi = tanh, no input; N = {', '.join(map(str, m['Ns']))}; J samples (seeds) "
         f"{', '.join(map(str, m['seeds']))} per N; {m['replicas']} replicas per J; recorded every "
         f"{m['thin']} steps",
         "* MALA, step adapted towards acceptance 0.574 during the burn-in only, then frozen"]
    for e in m.get("extensions", []):
        L.append(f"* N = {e['N']} added at {e['points']} point{'s' * (e['points'] != 1)} by `{e['command']}` "
                 f"({e['seconds'] / 60:.1f} min, complete: {e['complete']}; merged with `--merge`)")
    if m.get("extensions"):
        L.append("* the largest N of each point: column N max")
    for c, s in m["settings"].items():
        L.append(f"* {CLASS_TEXT[c]}: {s['steps']} recorded steps after {s['burn']} burn-in steps, "
                 f"initial dt {s['dt']}")
    L += ["* per N: mean over the J samples, error = max(sampling errors combined, standard error of "
          "the 3 sample means); N → ∞: weighted fit y = a + b/N (error inflated by sqrt(χ²/dof) when "
          "χ²/dof > 1; N_sizes − 2 degrees of freedom: one with 3 sizes, two with 4, three with 5)",
          "* theory: `replica_theory('tanh')` (finite-β RS saddle point); z = (sim − theory)/err at N → ∞",
          "* acceptance: mean over all runs of the point (all N and seeds); dt and τ at the point's largest N "
          "(τ: the largest over the seeds, integrated autocorrelation time in MALA steps)", "",
          "## Results", "",
          "| g | γ | β | η | q theory | q sim (N→∞) | z_q | χ²/dof q | E theory | E sim (N→∞) | z_E | "
          "χ²/dof E | N max | acc. | dt | τ_q | τ_E | steps/τ |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in pts:
        q, e = p["q"], p["energy"]
        L.append(f"| {p['g']:g} | {p['gamma']:g} | {p['beta']:g} | {p['eta']:g} | {q['theory']:.5f} | "
                 f"{q['mean']:.5f} ± {q['err']:.5f} | {q['z']:+.2f} | {_f(q['chi2_dof'], '.2f')} | "
                 f"{e['theory']:.5f} | {e['mean']:.5f} ± {e['err']:.5f} | {e['z']:+.2f} | "
                 f"{_f(e['chi2_dof'], '.2f')} | {_nmax(p, m)} | {p['acceptance']:.3f} | {p['dt_largest_N']:.4f} | "
                 f"{p['tau_q_largest_N']:.0f} | {p['tau_energy_largest_N']:.0f} | "
                 f"{_f(p['steps_over_tau'], '.0f')} |")
    L += ["", "## Reading (generated from the numbers above)", ""]
    for o, name in (("q", "q"), ("energy", "energy")):
        ok = [p for p in pts if p[o]["agree"]]
        bad = [p for p in pts if not p[o]["agree"]]
        L.append(f"* {name}: {len(ok)} of {len(pts)} points within {NSIGMA:g} error bars "
                 f"(largest |z| among them {max([abs(p[o]['z']) for p in ok], default=float('nan')):.2f}).")
        for p in bad:
            pn = p[o]["per_N"]
            trend = ", ".join(f"N={k}: {v['mean']:.5f}±{v['err']:.5f}" for k, v in pn.items())
            L.append(f"  * off: {label(p)}: sim {p[o]['mean']:.5f} ± {p[o]['err']:.5f} vs theory "
                     f"{p[o]['theory']:.5f}, z = {p[o]['z']:+.2f}, χ²/dof {_f(p[o]['chi2_dof'], '.2f')}; "
                     f"per N {trend}; steps/τ {_f(p['steps_over_tau'], '.0f')}, burn/τ "
                     f"{_f(p['burn_over_tau'], '.1f')}")
    acc = [p["acceptance"] for p in pts]
    L.append(f"* acceptance {min(acc):.3f} … {max(acc):.3f} (per-run range "
             f"{min(p['acceptance_range'][0] for p in pts):.3f} … {max(p['acceptance_range'][1] for p in pts):.3f}).")
    r = min(pts, key=lambda p: p["steps_over_tau"])
    L.append(f"* shortest run relative to τ: {label(r)} with {r['steps_over_tau']:.0f} τ recorded and "
             f"{r['burn_over_tau']:.1f} τ of burn-in (τ_q = {r['tau_q_largest_N']:.0f} steps at N = {_nmax(r, m)}).")
    dr = max(pts, key=lambda p: max(p["max_abs_half_drift_sigma"].values()))
    L.append(f"* largest drift between the two halves of a recorded trace (any run, q or energy): "
             f"{max(dr['max_abs_half_drift_sigma'].values()):.1f} error bars at {label(dr)}.")
    mv = drifting(res)
    L.append(f"* q still moving at the largest N (half-trace drift beyond {NSIGMA:g} error bars): "
             + ("; ".join(f"{label(p)} at N = {nm}: {len(b)} of {len(d)} runs "
                          f"({min(d):+.1f} … {max(d):+.1f})" for p, nm, d, b in mv) if mv else "none")
             + ".")
    c2 = [(p[o]["chi2_dof"], o, p) for p in pts for o in ("q", "energy") if p[o]["chi2_dof"] is not None]
    big = [t for t in c2 if t[0] > 4]
    L.append(f"* 1/N fits with χ²/dof > 4 (N_sizes − 2 dof): {len(big)} of {len(c2)}" +
             (": " + "; ".join(f"{o} at {label(p)} ({c:.1f})" for c, o, p in big) if big else "") + ".")
    L += ["", NOTES, old_notes.strip(), ""]
    return "\n".join(L)


def write_docs(res, out_dir):
    md_path = os.path.join(out_dir, f"{NAME}.md")
    old = ""
    if os.path.exists(md_path):
        txt = open(md_path).read()
        if NOTES in txt:
            old = txt.split(NOTES, 1)[1]
    with open(md_path, "w") as fh:
        fh.write(markdown(res, old))
    figure(res, os.path.join(out_dir, f"{NAME}.png"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="2 points at beta = 2, N = 250, 500, short runs (smoke run)")
    ap.add_argument("--out", default=None, help="output folder (default docs/, "
                    "benchmarks/results/validation_grid_quick with --quick)")
    ap.add_argument("--report", action="store_true", help="rewrite md and png from the JSON and exit")
    ap.add_argument("--resume", action="store_true",
                    help="with --betas: skip the points already in the output folder's results")
    ap.add_argument("--betas", type=float, nargs="+", default=None,
                    help="run only the grid points with these beta and merge them into the "
                         "existing results in the output folder")
    ap.add_argument("--extend", type=int, default=None, metavar="N",
                    help="run the selected points (--betas, --classes, --part) at one more size N "
                         "and write the rows and runs to an extension file (--extension-out)")
    ap.add_argument("--classes", nargs="+", choices=sorted(SETTINGS), default=None,
                    help="with --extend: only the points of these run-length classes")
    ap.add_argument("--part", default="0/1", metavar="I/K",
                    help="with --extend: the I-th of K interleaved shares of the selected points "
                         "(one share per process)")
    ap.add_argument("--extension-out", default=None,
                    help="with --extend: the extension file (default "
                         "benchmarks/results/validation_grid_N<N>_<I>of<K>.json)")
    ap.add_argument("--merge", nargs="+", default=None, metavar="FILE",
                    help="merge extension files into the results in the output folder, refit "
                         "N -> infinity and rewrite json, csv, md and png")
    a = ap.parse_args(argv)
    if a.extend is not None:
        i, k = (int(v) for v in a.part.split("/"))
        if not 0 <= i < k:
            ap.error(f"--part {a.part}: need 0 <= I < K")
        pts = [p for p in GRID if (a.betas is None or p["beta"] in a.betas)
               and (a.classes is None or point_class(p) in a.classes)]
        pts.sort(key=lambda p: (SETTINGS[point_class(p)]["steps"], p["beta"], p["g"], p["gamma"], p["eta"]))
        pts = pts[i::k]
        path = a.extension_out or os.path.join(HERE, "results", f"{NAME}_N{a.extend}_{i}of{k}.json")
        command = (f"python benchmarks/validation_grid.py --extend {a.extend}"
                   + (" --betas " + " ".join(f"{b:g}" for b in a.betas) if a.betas else "")
                   + (" --classes " + " ".join(a.classes) if a.classes else "") + f" --part {a.part}")
        print(f"{len(pts)} points at N = {a.extend} -> {path}", flush=True)
        extend(pts, a.extend, SEEDS, SETTINGS, path, command)
        return 0
    out = a.out or (os.path.join(HERE, "results", "validation_grid_quick") if a.quick else DOCS)
    if a.report:
        with open(os.path.join(out, f"{NAME}.json")) as fh:
            write_docs(json.load(fh), out)
        return 0
    if a.merge:
        res = _load(out)
        if res is None:
            ap.error(f"--merge: no results to merge into ({os.path.join(out, NAME + '.json')} is missing)")
        exts = []
        for f in a.merge:
            with open(f) as fh:
                exts.append(json.load(fh))
        res = _clean(merge_extensions(res, exts))
        save(res, out)
        V.ValidationTable(res["rows"]).write_csv(os.path.join(out, f"{NAME}.csv"))
        write_docs(res, out)
        print(f"merged {len(exts)} extension file(s) into {out}/{NAME}.{{json,csv,png,md}}")
        return 0
    command = "python benchmarks/validation_grid.py" + (" --quick" if a.quick else "") + (
        " --betas " + " ".join(f"{b:g}" for b in a.betas) if a.betas else "") + (
        " --resume" if a.resume else "")
    if a.quick:
        res = run(QUICK["points"], QUICK["Ns"], QUICK["seeds"], QUICK["settings"], out, command)
    else:
        pts = [p for p in GRID if a.betas is None or p["beta"] in a.betas]
        pts.sort(key=lambda p: SETTINGS[point_class(p)]["steps"])   # cheap points first
        if a.resume and a.betas is not None and (old := _load(out)) is not None:
            have = {key(q) for q in old["points"]}
            pts = [p for p in pts if key(p) not in have]
        res = run(pts, NS, SEEDS, SETTINGS, out, command, merge=a.betas is not None)
    res = _clean(res)
    write_docs(res, out)
    print(f"wrote {out}/{NAME}.{{json,csv,png,md}} ({res['meta']['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
