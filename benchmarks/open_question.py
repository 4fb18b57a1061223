"""The open question of THEORY.md: which zero-temperature scaling does the finite-beta
solution approach, and where does q appear at T = 0?

For gamma in {-0.3, 0, 0.3, 0.6} and g on both sides of g_chi = 1/(1+gamma) and of
g_q = 1/sqrt(1+gamma), the finite-beta Q = 0 solution is continued in beta from 10 to 1e8;
the local exponent d ln q / d ln beta and d ln chi / d ln beta at the largest beta say which
scaling it approaches:

  q ~ 1/beta, chi finite          -> collapsed ("laplace") solution, q = 0 (ordered phase)
  q ~ beta^(-1/2), chi ~ beta^(1/2) -> between the lines: response divergent, q still 0
  q -> q_inf > 0, chi ~ beta      -> q - Q finite ("chaotic") solution

At each point a Q > 0 (full-branch) solution is also searched from Q = q/2; its existence
and free energy are reported. Zero-temperature values from both scalings are computed at
the same (g, gamma) for comparison.

    python benchmarks/open_question.py            # writes docs/open_question.{json,md,png}
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
from theory.model import Point

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs")


def follow_beta(g, gamma, betas, branch="paramagnetic"):
    pts = [Point(g=g, gamma=gamma, beta=b) for b in betas]
    out = []
    for r in continuation("tanh", pts, kind="finite", branch=branch,
                          x0=_start(g, gamma, betas[0], branch)):
        out.append(r)
    return out


def _start(g, gamma, beta, branch):
    r = solve("tanh", Point(g=g, gamma=gamma, beta=beta), branch=branch)
    if not r.success:
        raise RuntimeError(f"no start at g={g}, gamma={gamma}, beta={beta}: {r.message}")
    return list(r.x.values())[:len(r.fun)]


def q_positive_branch(g, gamma, beta, para):
    """Search a Q > 0 solution from Q = q/2 next to the Q = 0 solution ``para``."""
    x = para.x
    x0 = [x["q"], 0.5 * x["q"], x["r"], 0.0, x["qh"], 0.1 * beta if beta < 1e3 else 0.1, x["rh"], 0.0]
    r = solve("tanh", Point(g=g, gamma=gamma, beta=beta), branch="full", x0=x0)
    if r.success and r.x["Q"] > 1e-8:
        return r
    return None


def local_exponent(betas, vals):
    b, v = np.log(np.asarray(betas)), np.log(np.abs(np.asarray(vals)))
    return float((v[-1] - v[-3]) / (b[-1] - b[-3]))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    gammas = [-0.3, 0.0, 0.3, 0.6]
    betas = list(np.logspace(1, 8, 15 if args.quick else 29))
    rows = []
    t0 = time.time()
    for gamma in gammas:
        g_chi = 1 / (1 + gamma)
        g_q = 1 / math.sqrt(1 + gamma)
        lines = sorted({round(g_chi * 0.9, 4), round(0.5 * (g_chi + g_q), 4) if gamma > 0 else round(g_chi * 1.05, 4),
                        round(g_q * 1.1, 4)})
        for g in lines:
            t = time.time()
            try:
                res = follow_beta(g, gamma, betas)
            except RuntimeError as exc:
                rows.append({"gamma": gamma, "g": g, "error": str(exc)})
                continue
            ok = [r for r in res if r.success]
            bs = [r.point["beta"] for r in ok]
            qs = [r.x["q"] for r in ok]
            chis = [r.chi for r in ok]
            row = {"gamma": gamma, "g": g, "g_chi": g_chi, "g_q_candidate": g_q,
                   "beta": bs, "q": qs, "chi": chis,
                   "reached_beta": bs[-1] if bs else None,
                   "failed_message": None if len(ok) == len(res) else res[-1].message,
                   "exp_q": local_exponent(bs, qs) if len(bs) >= 3 else None,
                   "exp_chi": local_exponent(bs, chis) if len(bs) >= 3 else None}
            # zero-temperature solutions of both scalings at the same point
            lap = solve("tanh", Point(g=g, gamma=gamma, beta=math.inf), kind="laplace")
            cha = solve("tanh", Point(g=g, gamma=gamma, beta=math.inf), kind="chaotic", branch="paramagnetic")
            row["laplace"] = {"success": lap.success, "q": lap.x.get("q"), "chi": lap.chi,
                              "message": lap.message}
            row["chaotic"] = {"success": cha.success, "q": cha.x.get("q"), "message": cha.message}
            # Q > 0 branch at a few temperatures
            qpos = []
            for r in ok[:: max(1, len(ok) // 4)]:
                b = r.point["beta"]
                found = q_positive_branch(g, gamma, b, r)
                qpos.append({"beta": b, "Q": None if found is None else found.x["Q"],
                             "q": None if found is None else found.x["q"],
                             "phi_Qpos": None if found is None else found.phi, "phi_Q0": r.phi})
            row["Q_positive_search"] = qpos
            row["seconds"] = time.time() - t
            rows.append(row)
            print(f"gamma={gamma:+.2f} g={g:.4f}: beta up to {row['reached_beta']:.3g}, "
                  f"q={qs[-1]:.6g}, d ln q/d ln beta={row['exp_q']}, d ln chi/d ln beta={row['exp_chi']}, "
                  f"laplace ok={lap.success}, chaotic q={cha.x.get('q')} ({time.time() - t:.1f}s)",
                  flush=True)
    os.makedirs(DOCS, exist_ok=True)
    with open(os.path.join(DOCS, "open_question.json"), "w") as fh:
        json.dump({"rows": rows, "seconds": time.time() - t0, "command": "python benchmarks/open_question.py"},
                  fh, indent=1, default=float)
    _plot(rows)
    return 0


def _plot(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for row in rows:
        if "q" not in row or not row["q"]:
            continue
        lab = f"γ={row['gamma']:+.1f}, g={row['g']:.3f}"
        axes[0].loglog(row["beta"], row["q"], "-o", ms=2, label=lab)
        axes[1].loglog(row["beta"], row["chi"], "-o", ms=2, label=lab)
    b = np.logspace(1, 8, 10)
    axes[0].loglog(b, 3 / b, "k:", label="∝ 1/β")
    axes[0].loglog(b, 1 / np.sqrt(b), "k--", label="∝ β^-1/2")
    axes[0].set_xlabel("β"), axes[0].set_ylabel("q (Q = 0 solution)")
    axes[1].set_xlabel("β"), axes[1].set_ylabel("χ = β(q − Q)")
    axes[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(DOCS, "open_question.png"), dpi=130)


if __name__ == "__main__":
    sys.exit(main())
