"""The band scaling q ~ sqrt(b / beta) between the lines, against the finite-beta solution.

For gamma in {0.3, 0.6} (g_chi < g < g_q) and gamma = -0.3 (g_q < g < g_chi), at several g
inside the band, the finite-beta Q = 0 solution (tanh, eta = 0) is continued in beta from
10 to 1e8 (4 points per decade); beta q^2 is extrapolated to beta = inf
by a 4-term fit in powers of beta^-1/2 on the last decades and compared with the closed form
b(g, gamma) of theory.replica.band (numerics.zero_temperature.band_b). The slope of
ln(beta q^2) over the last decade says which scaling the path follows: about -1 collapsed
(q ~ 1/beta), 0 band, +1 q finite. Writes
docs/band.json and docs/band.png.

    python benchmarks/band_scaling.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np

from numerics.continuation import continuation, solve
from numerics.zero_temperature import band_b, lines
from theory.model import Point

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs")
FIT = [-10, -7, -4, -1]      # fit points: beta = 10^5.75, 10^6.5, 10^7.25, 10^8


def follow(phi, g, gamma, betas):
    pts = [Point(g=g, gamma=gamma, beta=float(b)) for b in betas]
    start = solve(phi, pts[0], branch="paramagnetic")
    if not start.success:
        return [], start.message
    x0 = [start.x[k] for k in ("q", "r", "qh", "rh")]
    out = []
    for r in continuation(phi, pts, kind="finite", branch="paramagnetic", x0=x0):
        if not r.success:
            return out, r.message
        out.append({"beta": r.point["beta"], "q": r.x["q"], "r": r.x["r"], "rh": r.x["rh"],
                    "q_qh": r.x["q"] * r.x["qh"], "energy": r.energy})
    return out, ""


def fit_b(path):
    beta = np.array([p["beta"] for p in path])
    v = beta * np.array([p["q"] for p in path])**2
    A = np.vstack([beta[FIT]**(-k / 2) for k in range(4)]).T
    return float(np.linalg.solve(A, v[FIT])[0]), v


def run(quick: bool) -> dict:
    betas = np.logspace(1, 8, 29)
    rows = []
    for gamma in ((0.3,) if quick else (0.3, 0.6, -0.3)):
        ln = lines("tanh", gamma)
        lo, hi = sorted((ln["g_chi"], ln["g_q"]))
        fracs = (0.5,) if quick else (0.1, 0.3, 0.5, 0.7, 0.9)
        gs = [lo + f * (hi - lo) for f in fracs]
        if gamma == -0.3 and not quick:
            gs = sorted(gs + [1.2857])        # the open-question path (docs/open_question.md)
        for g in gs:
            t = time.perf_counter()
            path, msg = follow("tanh", g, gamma, betas)
            b = band_b("tanh", g, gamma)
            row = {"gamma": gamma, "g": g, "g_chi": ln["g_chi"], "g_q": ln["g_q"], "b_closed_form": b,
                   "path": path, "message": msg, "seconds": time.perf_counter() - t}
            if len(path) == len(betas):
                fb, v = fit_b(path)
                slope = math.log(v[-1] / v[-5]) / math.log(betas[-1] / betas[-5])
                followed = "collapsed" if slope < -0.5 else ("q finite" if slope > 0.5 else "band")
                row.update({"b_fit": fb, "beta_q2": v.tolist(), "slope_beta_q2": slope,
                            "relative_deviation": (fb - b) / b, "scaling_followed": followed,
                            "follows_band": followed == "band"})
            rows.append(row)
            print(f"gamma = {gamma:+.1f}  g = {g:.5f}  b = {b:.6g}  fit = {row.get('b_fit', float('nan')):.6g}  "
                  f"rel = {row.get('relative_deviation', float('nan')):.1e}  "
                  f"d ln(beta q^2)/d ln beta = {row.get('slope_beta_q2', float('nan')):+.3f}: "
                  f"{row.get('scaling_followed')}  ({row['seconds']:.1f} s) {msg[:80]}", flush=True)
    return {"rows": rows, "fit_betas": [float(betas[i]) for i in FIT]}


def figure(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    a = axes[0]
    for gamma, c in ((0.3, "C0"), (0.6, "C1"), (-0.3, "C2")):
        rows = [r for r in res["rows"] if r["gamma"] == gamma]
        if not rows:
            continue
        lo, hi = sorted((rows[0]["g_chi"], rows[0]["g_q"]))
        gs = np.linspace(lo, hi, 200)[1:-1]
        a.plot(gs, [band_b("tanh", g, gamma) for g in gs], c, label=f"closed form, gamma = {gamma:+.1f}")
        fit = [r for r in rows if r.get("follows_band")]
        a.plot([r["g"] for r in fit], [r["b_fit"] for r in fit], "o", color=c, mfc="none",
               label="beta q^2 of the finite-beta solution, extrapolated")
        for lab, mk in (("collapsed", "v"), ("q finite", "^")):
            off = [r for r in rows if r.get("scaling_followed") == lab]
            a.plot([r["g"] for r in off], [r["b_closed_form"] for r in off], mk, color=c,
                   label=f"path goes {lab} (b shown at closed form)" if off else None)
    a.set_yscale("log")
    a.set_xlabel("g")
    a.set_ylabel("b = lim beta q^2")
    a.set_title("band between g_chi and g_q (tanh, eta = 0)")
    a.legend(fontsize=7)
    a = axes[1]
    for r in res["rows"]:
        if r.get("follows_band") and r["gamma"] == 0.3:
            beta = np.array([p["beta"] for p in r["path"]])
            a.loglog(beta, np.abs(r["b_closed_form"] - np.array(r["beta_q2"])) / r["b_closed_form"],
                     label=f"g = {r['g']:.4f}")
    bb = np.logspace(1, 8, 20)
    a.loglog(bb, 3 * bb**-0.5, "k:", label="beta^-1/2")
    a.set_xlabel("beta")
    a.set_ylabel("|b - beta q^2| / b")
    a.set_title("approach to the closed form, gamma = 0.3")
    a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one point (smoke run)")
    ap.add_argument("--out", default=DOCS)
    a = ap.parse_args(argv)
    t = time.perf_counter()
    res = run(a.quick)
    res["seconds"] = time.perf_counter() - t
    res["command"] = "python benchmarks/band_scaling.py" + (" --quick" if a.quick else "")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "band.json"), "w") as fh:
        json.dump(res, fh, indent=1, default=lambda v: None if isinstance(v, float) and not math.isfinite(v) else v)
    figure(res, os.path.join(a.out, "band.png"))
    print(f"wrote {a.out}/band.json and band.png ({res['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
