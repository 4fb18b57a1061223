"""Replicon along the finite-beta paths of the open question (THEORY.md section 2).

For gamma in {-0.3, 0, 0.3, 0.6} and g below both candidate lines, between them and above
both (the points of benchmarks/open_question.py, plus the simulated points gamma = 0,
g = 1.2 and gamma = 0.3, g in {0.72, 0.82, 0.95}), the Q = 0 solution is continued in beta
from 10 to 1e7 and its replicon (numerics.replicon) evaluated at every beta; for gamma < 0
the Q > 0 branch is followed as far as the continuation goes. Writes docs/replicon.json and
docs/replicon.png.

    python benchmarks/replicon_paths.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

from numerics.continuation import continuation, solve
from numerics.replicon import replicon
from theory.model import Point

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs")


def path_points(gamma):
    g_chi, g_q = 1 / (1 + gamma), 1 / math.sqrt(1 + gamma)
    mid = 0.5 * (g_chi + g_q) if gamma > 0 else g_chi * 1.05
    return sorted({round(g_chi * 0.9, 4), round(mid, 4), round(g_q * 1.1, 4)})


def follow(g, gamma, betas, branch):
    pts = [Point(g=g, gamma=gamma, beta=b) for b in betas]
    # the Q > 0 branch may appear only above some beta: start at the first beta that has it
    for i, pt in enumerate(pts):
        start = solve("tanh", pt, branch=branch)
        if start.success and (branch != "full" or start.x.get("Q", 0.0) > 1e-8):
            pts = pts[i:]
            break
    else:
        return []
    names = list(start.x)[: len(start.fun)]
    x0 = [start.x[n] for n in names]
    out = []
    for r in continuation("tanh", pts, branch=branch, x0=x0):
        if not r.success or (branch == "full" and r.x.get("Q", 0.0) <= 1e-8):
            break
        pt = Point(**r.point)
        rep = replicon("tanh", pt, r)
        out.append({"beta": pt.beta, "q": r.x["q"], "Q": r.x.get("Q", 0.0), "chi": r.chi,
                    "replicon": rep.replicon if rep.success else None,
                    "even": [complex(z).real for z in rep.even], "odd": [complex(z).real for z in rep.odd],
                    "chi_sg": rep.chi_sg if rep.success else None, "message": rep.message})
    return out


def local_exponent(rows, key):
    good = [(r["beta"], r[key]) for r in rows if r[key] is not None and r[key] > 0]
    if len(good) < 3:
        return None
    (b0, v0), (b1, v1) = good[-3], good[-1]
    return float(math.log(v1 / v0) / math.log(b1 / b0))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--plot-only", action="store_true", help="redraw docs/replicon.png from the json")
    args = ap.parse_args(argv)
    if args.plot_only:
        with open(os.path.join(DOCS, "replicon.json")) as fh:
            _plot(json.load(fh)["cases"])
        return 0
    betas = list(np.logspace(1, 5 if args.quick else 7, 9 if args.quick else 25))
    cases = [(gamma, g, "paramagnetic") for gamma in (-0.3, 0.0, 0.3, 0.6) for g in path_points(gamma)]
    cases += [(0.0, 1.2, "paramagnetic"), (0.3, 0.72, "paramagnetic"), (0.3, 0.82, "paramagnetic"),
              (0.3, 0.95, "paramagnetic")]
    cases += [(-0.3, 1.3148, "full"), (-0.3, 1.5, "full")]
    out, t0 = [], time.time()
    for gamma, g, branch in cases:
        t = time.time()
        rows = follow(g, gamma, betas, branch)
        rec = {"gamma": gamma, "g": g, "branch": "Q = 0" if branch == "paramagnetic" else "Q > 0",
               "g_chi": 1 / (1 + gamma), "g_q": 1 / math.sqrt(1 + gamma), "path": rows,
               "exp_replicon": local_exponent(rows, "replicon"), "seconds": time.time() - t}
        out.append(rec)
        last = rows[-1] if rows else None
        print(f"gamma={gamma:+.2f} g={g:.4f} {rec['branch']}: "
              + (f"beta up to {last['beta']:.3g}, q={last['q']:.5g}, replicon={last['replicon']:.4g}, "
                 f"d ln rep/d ln beta={rec['exp_replicon']}" if last else "no solution")
              + f" ({rec['seconds']:.1f}s)", flush=True)
    os.makedirs(DOCS, exist_ok=True)
    with open(os.path.join(DOCS, "replicon.json"), "w") as fh:
        json.dump({"cases": out, "seconds": time.time() - t0,
                   "command": "python benchmarks/replicon_paths.py"}, fh, indent=1, default=float)
    _plot(out)
    return 0


def _plot(cases):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for c in cases:
        rows = [r for r in c["path"] if r["replicon"] is not None]
        if not rows:
            continue
        b = [r["beta"] for r in rows]
        rep = [r["replicon"] for r in rows]
        lab = f"γ={c['gamma']:+.1f}, g={c['g']:.3f} ({c['branch']})"
        ax = axes[0] if c["branch"] == "Q = 0" else axes[1]
        ax.semilogx(b, rep, "-o", ms=2, label=lab)
    for ax in axes:
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xlabel("β")
        ax.set_ylabel("replicon = 1 − max eig Λ  (> 0 stable)")
        ax.legend(fontsize=6)
    axes[0].set_yscale("symlog", linthresh=1e-3)
    axes[0].set_title("Q = 0 solution (symmetric log scale below 1e-3)")
    axes[1].set_title("Q > 0 solution (γ = −0.3)")
    fig.tight_layout()
    fig.savefig(os.path.join(DOCS, "replicon.png"), dpi=130)


if __name__ == "__main__":
    sys.exit(main())
