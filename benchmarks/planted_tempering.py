"""Parallel tempering on planted couplings: is the equilibrium gap above g_q a sampling
failure or a property of the quenched measure?

At gamma = 0, g = 1.2, beta = 100 tempering on ordinary (i.i.d.) couplings with the ladder
beta = 30 ... 100 gave q about 15 % below the replica-symmetric Q = 0 solution, which at
gamma = 0 is the annealed one (docs/overlap_distribution.md). ``numerics.planted`` draws couplings J together with an
exact equilibrium state x of their Boltzmann measure at beta (the planted ensemble), and
then, exactly at every N,

    E_{J planted} <q>_J = E_annealed q(x)          (Nishimori identity of planting).

The same tempering run (``overlap_distribution.run_one``: ladder beta_min ... beta, two walker
sets, exchanges every 10 steps) is made on planted J, walker set 1 starting at the planted
x on the top rung and set 0 at x ~ N(0, 1). If the sampler equilibrates, its q at beta
averages to the annealed q(x) over planted J; if it does not, it falls short on planted J
as well. Since x is itself an exact draw from exp(-beta E(x; J)) / Z(J), the tempered <q>_J
minus q(x) on the same J also has mean zero over planted J (``planted_state_difference``),
a check without the J-to-J spread of <q>_J. The control (``--iid``) makes the same runs on typical couplings of the same
ensemble (i.i.d. N(0, 1/N), J_ii = 0, both walker sets from x ~ N(0, 1)); runs of
benchmarks/overlap_distribution.py (nonzero diagonal) with the same ladder are listed too.
Findings in docs/planted.md.

    python benchmarks/planted_tempering.py --N 250 --J-seeds 0 1 2 3 [--g 1.2 --beta 100 --beta-min 3]
    python benchmarks/planted_tempering.py --N 250 --J-seeds 0 1 2 3 --iid
    python benchmarks/planted_tempering.py --N 250 500 --annealed-only   # targets only
    python benchmarks/planted_tempering.py --N 250 500 --annealed-ladder # ln E_J Z along the ladder
    python benchmarks/planted_tempering.py --report     # docs/planted.md

Writes benchmarks/results/planted_tempering.json (one entry per (N, J seed, point); entries
already there are skipped, so several processes can split the seeds) and docs/planted.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from numerics.planted import (annealed_log_z_increment, planted_couplings,  # noqa: E402
                              sample_annealed)
from numerics.stats import weighted_lstsq  # noqa: E402
from numerics.tempering import geometric_ladder, log_z_increment  # noqa: E402
import overlap_distribution as od  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "benchmarks", "results", "planted_tempering.json")
MD = os.path.join(ROOT, "docs", "planted.md")
PNG = os.path.join(ROOT, "docs", "planted_free_energy.png")


def _load():
    if os.path.exists(OUT):
        with open(OUT) as f:
            return json.load(f)
    return {"meta": {}, "annealed": {}, "runs": []}


def _locked():
    return od.locked(OUT)


def _save(d):
    od.save_json(OUT, d)


def _akey(N, g, beta):
    return f"{N}|{g:.12g}|{beta:.12g}"


def _lkey(N, g, beta, beta_min):
    return f"{N}|{g:.12g}|{beta:.12g}|{beta_min:.12g}"


def annealed_ladder(N, g, beta, beta_min, seed=2025, progress=True):
    """The annealed energy at every rung of the runs' ladder and ln E_J Z(beta) - ln E_J
    Z(beta_min) (``numerics.planted.annealed_log_z_increment``)."""
    betas = geometric_ladder(beta_min, beta, N)
    est, e, s = annealed_log_z_increment(N, g, betas, chains=16, steps=20000, dt=0.02,
                                         rng=np.random.default_rng([seed, N]), progress=progress)
    return {"betas": betas.tolist(), "e": e.tolist(), "err": s.tolist(), "dlnz": est.as_dict()}


def annealed_states(N, g, beta, chains, seed=2024):
    """Independent annealed states (one per planted J) and the annealed mean of q(x)."""
    return sample_annealed(N, g, beta, chains=chains, steps=20000, dt=0.02,
                           rng=np.random.default_rng([seed, N]))


def _random_starts(N, seed, beta_min, beta):
    """x ~ N(0, 1) for every walker (rows: rung-major, two sets), the same for planted and
    i.i.d. runs of one seed."""
    G = geometric_ladder(beta_min, beta, N).size
    return np.random.default_rng([seed, 5, N]).standard_normal((2 * G, N))


def run_planted(N, seed, A, g, beta, beta_min, steps, burn, thin, progress=True):
    x = A.x[seed]
    J = planted_couplings(x, g, beta, rng=np.random.default_rng([seed, 77, N]))
    f = np.tanh(x)
    res = x - g * J @ f
    X0 = _random_starts(N, seed, beta_min, beta)
    X0[-1] = x                             # walker set 1, top rung: the planted state
    r = od.run_one(N, seed, g, 0.0, beta, beta_min, 0.0, steps, burn, thin,
                  progress=progress, J=J, X0=X0)
    r["planted_q"] = float(f @ f / N)
    r["planted_beta_e"] = float(beta * 0.5 * res @ res / N)
    return r


def run_iid(N, seed, g, beta, beta_min, steps, burn, thin, progress=True):
    """The control: the same run on i.i.d. zero-diagonal couplings (no planted state)."""
    from numerics.couplings import couplings
    J = couplings(N, 0.0, rng=np.random.default_rng([seed, 78, N]))
    np.fill_diagonal(J, 0.0)
    r = od.run_one(N, seed, g, 0.0, beta, beta_min, 0.0, steps, burn, thin,
                  progress=progress, J=J, X0=_random_starts(N, seed, beta_min, beta))
    r["source"] = "iid"
    return r


def _sets(r):
    """Top-rung q of each walker set (recorded from the runs that store it)."""
    if "q_sets" not in r:
        return "–"
    return " / ".join(f"{c['mean']:.4f}" for c in r["q_sets"])


def _source(r):
    return r.get("source", "planted")


def _mean(vals, errs):
    """(mean, error) over J by overlap_distribution's rule (larger of spread/sqrt(n) and the
    combined run errors)."""
    m = od._mean_over_J(vals, errs)
    return m["mean"], m["err"]


def planted_state_difference(runs):
    """Mean over planted J of <q>_J (tempered) - q(x_J): x_J, the planted state, is an exact
    draw from exp(-beta E(x; J)) / Z(J), so the difference has mean zero for an
    equilibrium sampler; it removes the J-to-J spread of <q>_J, leaving the thermal
    spread of one draw. (mean, error) by ``_mean`` over the planted runs in ``runs``; None
    without any."""
    pl = [r for r in runs if _source(r) == "planted" and "planted_q" in r]
    if not pl:
        return None
    return _mean([r["q"]["mean"] - r["planted_q"] for r in pl], [r["q"]["err"] for r in pl])


def _mean_cell(rr, beta):
    """Markdown cell: mean over the runs ``rr`` of q and of eps = 2 beta e - 1 at the top
    rung, with the number of J; '–' without runs."""
    if not rr:
        return "–"
    m = _mean([r["q"]["mean"] for r in rr], [r["q"]["err"] for r in rr])
    top = [r["ladder"][-1]["energy"] for r in rr]
    e = _mean([2 * beta * t["mean"] - 1 for t in top], [2 * beta * t["err"] for t in top])
    return f"{m[0]:.4f} ± {m[1]:.4f}, {e[0]:+.4f} ± {e[1]:.4f} ({len(rr)} J)"


def report(d):
    from numerics.validate import replica_theory
    typical = od._load()["runs"]
    th = replica_theory("tanh")
    groups = {}
    for r in d["runs"]:
        groups.setdefault((r["g"], r["beta"], r["beta_min"], r["steps"]), []).append(r)
    lines = ["# Planted couplings: does tempering reach equilibrium above g_q?", "",
             "Generated by `python benchmarks/planted_tempering.py --report` from "
             "benchmarks/results/planted_tempering.json; method in the script's docstring and "
             "in `numerics/planted.py`. Commands: "
             + "; ".join(f"`{c}`" for c in d["meta"].get("commands", [])), ""]
    for (g, beta, bmin, steps), runs in sorted(groups.items()):
        rs = th({"g": g, "gamma": 0.0, "beta": beta, "eta": 0.0})["q"]
        lines += [f"## γ = 0, g = {g}, β = {beta} (ladder β = {bmin} … {beta}, {steps} recorded steps)",
                  "", f"RS (= annealed at N = ∞) q = {rs:.5f}.", "",
                  "| N | J | source | round trips | q(x planted) | β e(x planted) | tempered q at β (both walker sets) | set 0 (random start) / set 1 (planted start) | ε = 2βe − 1 |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in sorted(runs, key=lambda r: (r["N"], _source(r) != "planted", r["seed"])):
            top = r["ladder"][-1]
            pl = _source(r) == "planted"
            lines.append(f"| {r['N']} | {r['seed']} | {'planted' if pl else 'i.i.d., J_ii = 0'} | "
                         f"{r['round_trips']} | "
                         + (f"{r['planted_q']:.4f} | {r['planted_beta_e']:.4f} | " if pl else "– | – | ")
                         + f"{r['q']['mean']:.4f} ± {r['q']['err']:.4f} | {_sets(r)} | "
                         f"{2 * beta * top['energy']['mean'] - 1:+.4f} ± {2 * beta * top['energy']['err']:.4f} |")
        typ = [t for t in typical if t["g"] == g and t["gamma"] == 0.0 and t["beta"] == beta
               and t["beta_min"] == bmin and t["eta"] == 0.0 and t.get("chain_seed") is None]
        for t in sorted(typ, key=lambda t: (t["N"], t["seed"])):
            top = t["ladder"][-1]
            lines.append(f"| {t['N']} | {t['seed']} | i.i.d. (overlap_distribution) | {t['round_trips']} | – | – | "
                         f"{t['q']['mean']:.4f} ± {t['q']['err']:.4f} | {_sets(t)} | "
                         f"{2 * beta * top['energy']['mean'] - 1:+.4f} ± {2 * beta * top['energy']['err']:.4f} |")
        lines += ["", "Means over J (error: the larger of spread/√n and the per-run errors); "
                  "ε = 2βe − 1 at the top rung, its annealed target from "
                  "`numerics.planted.annealed_energy`:", "",
                  "| N | annealed: q, ε (exact targets on planted J) | planted J: q, ε | "
                  "planted J: tempered q − q(x planted) (target 0) | "
                  "i.i.d. J, J_ii = 0: q, ε | i.i.d. J (overlap_distribution): q, ε | RS q |",
                  "|---|---|---|---|---|---|---|"]
        for N in sorted({r["N"] for r in runs}):
            a = d["annealed"].get(_akey(N, g, beta), {})
            acol = f"{a['q']:.4f} ± {a['err']:.4f}" if "q" in a else "–"
            if "e" in a:
                acol += f", {2 * beta * a['e'] - 1:+.4f} ± {2 * beta * a['e_err']:.4f}"
            planted = [r for r in runs if r["N"] == N and _source(r) == "planted"]
            dq = planted_state_difference(planted)
            cols = [acol, _mean_cell(planted, beta),
                    "–" if dq is None else f"{dq[0]:+.4f} ± {dq[1]:.4f}",
                    _mean_cell([r for r in runs if r["N"] == N and _source(r) == "iid"], beta),
                    _mean_cell([t for t in typ if t["N"] == N], beta)]
            lines.append(f"| {N} | " + " | ".join(cols) + f" | {rs:.5f} |")
        lines.append("")
    lines += paired_lines(d["runs"])
    lines += free_energy_lines(d)
    od.write_keeping_notes(MD, "\n".join(lines) + "\n")


def _log_z(r):
    """ln Z(beta) - ln Z(beta_min) of one run's couplings from its rung energies."""
    lad = r["ladder"]
    return log_z_increment([x["beta"] for x in lad], [x["energy"]["mean"] for x in lad],
                           [x["energy"]["err"] for x in lad], r["N"])


def _longest(runs):
    """One run per J seed: the one with the most recorded steps."""
    best = {}
    for r in runs:
        if r["seed"] not in best or r["steps"] > best[r["seed"]]["steps"]:
            best[r["seed"]] = r
    return [best[k] for k in sorted(best)]


def _tilt_stats(Lp, qp, Li, qi):
    """Pooled within-ensemble slope b of q on L, the planted - typical shifts of the means of
    L and q, the predicted shift b dL and the residual dq - b dL."""
    x = np.r_[Lp - Lp.mean(), Li - Li.mean()]
    y = np.r_[qp - qp.mean(), qi - qi.mean()]
    b = float(x @ y / (x @ x))
    dL, dq = float(Lp.mean() - Li.mean()), float(qp.mean() - qi.mean())
    return np.array([b, dL, b * dL, dq, dq - b * dL])


def free_energy(d, n_boot=4000, seed=0):
    """ln Z of typical and planted couplings along the ladder, per (g, beta, beta_min, N).

    L(J) = ln Z(beta) - ln Z(beta_min) of every run (``_log_z``, the longest run per J);
    L_A the annealed ln E_J Z increment (``annealed_ladder``), when computed. Then

    * gap = L_A - E_typical L(J): the growth of ln E_J Z - E_J ln Z >= 0 from beta_min to
      beta; O(1) in N if typical and planted couplings are contiguous (quenched free energy
      = annealed at N = infinity), growing like N if not. Error: spread over J / sqrt(n)
      with the L_A error in quadrature.
    * tilt test: the planted ensemble is p(J) Z(J) / E Z. If (ln Z, L, q) are jointly
      Gaussian over J and q depends on ln Z only through L, tilting shifts the mean of q
      by b times the shift of the mean of L, b the within-ensemble slope of q on L (the same
      in both ensembles). ``pred`` = b dL, ``resid`` = (q planted - q typical) - b dL; errors
      by resampling J within each ensemble (``n_boot`` draws, seeded).
    """
    rng = np.random.default_rng(seed)
    groups = {}
    for r in d["runs"]:
        groups.setdefault((r["g"], r["beta"], r["beta_min"], r["N"]), []).append(r)
    out = []
    for (g, beta, bmin, N), runs in sorted(groups.items()):
        I = _longest([r for r in runs if _source(r) == "iid"])
        P = _longest([r for r in runs if _source(r) == "planted"])
        if len(I) < 2:
            continue
        LI = [_log_z(r) for r in I]
        Li, Li_err = np.array([x.mean for x in LI]), [x.err for x in LI]
        qi = np.array([r["q"]["mean"] for r in I])
        row = {"g": g, "beta": beta, "beta_min": bmin, "N": N, "n_iid": len(I), "n_planted": len(P),
               "L_iid": od._mean_over_J(Li, Li_err),
               "var_L_iid": float(Li.var(ddof=1))}
        a = d.get("annealed_ladder", {}).get(_lkey(N, g, beta, bmin))
        if a is not None:
            for r in I:
                bet = [x["beta"] for x in r["ladder"]]
                if "betas" in a and not (len(bet) == len(a["betas"]) and np.allclose(bet, a["betas"])):
                    raise ValueError(f"run N={N} J={r['seed']}: ladder differs from the annealed one")
            gap = od._mean_over_J(a["dlnz"]["mean"] - Li, Li_err)
            gap["err"] = float(math.hypot(gap["err"], a["dlnz"]["err"]))
            row["L_annealed"], row["gap"] = a["dlnz"], gap
        if len(P) >= 3 and len(I) >= 3:
            LP = [_log_z(r) for r in P]
            Lp = np.array([x.mean for x in LP])
            qp = np.array([r["q"]["mean"] for r in P])
            row["L_planted"] = od._mean_over_J(Lp, [x.err for x in LP])
            st = _tilt_stats(Lp, qp, Li, qi)
            boot = np.array([_tilt_stats(Lp[ip], qp[ip], Li[ii], qi[ii]) for ip, ii in
                             ((rng.integers(0, Lp.size, Lp.size), rng.integers(0, Li.size, Li.size))
                              for _ in range(n_boot))])
            err = boot.std(axis=0, ddof=1)
            row["tilt"] = {k: {"mean": float(m), "err": float(e)} for k, m, e in
                           zip(("slope", "dL", "pred", "dq", "resid"), st, err)}
        out.append(row)
    return out


def gap_fits(N, gap, err):
    """Weighted least-squares fits of the free-energy gap G(N) = L_A - E L(J) against N.

    Three readings: ``constant`` G = a (quenched = annealed free energy, an O(1) gap),
    ``proportional`` G = b N (an extensive gap from the smallest sizes on), and ``linear``
    G = a + b N (b the gap per site). Weights 1/err^2; parameter errors from the inverse
    normal matrix (not rescaled by chi^2); chi^2 and its degrees of freedom for each, and
    for ``linear`` the one-sided 2-sigma upper bound b + 2 err_b on the gap per site.
    """
    N = np.asarray(N, dtype=float)
    if N.ndim != 1 or N.size < 3 or np.unique(N).size < 2:
        raise ValueError("need at least three gaps at two or more sizes N")
    out = {}
    for name, X in (("constant", np.ones((N.size, 1))), ("proportional", N[:, None]),
                    ("linear", np.c_[np.ones(N.size), N])):
        p, cov, chi2 = weighted_lstsq(X, gap, err)
        out[name] = {"params": p.tolist(), "errs": np.sqrt(np.diag(cov)).tolist(),
                     "chi2": chi2, "dof": int(N.size - p.size)}
    b, eb = out["linear"]["params"][1], out["linear"]["errs"][1]
    out["linear"]["b_upper_2sigma"] = float(b + 2 * eb)
    return out


def _gap_series(rows):
    """Rows with a gap grouped by (g, beta, beta_min), sorted by N; only groups with two or
    more sizes."""
    series = {}
    for r in rows:
        if "gap" in r:
            series.setdefault((r["g"], r["beta"], r["beta_min"]), []).append(r)
    return {k: sorted(v, key=lambda r: r["N"]) for k, v in series.items() if len(v) >= 2}


def _gap_fit_lines(rows):
    lines = []
    for (g, beta, bmin), rs in _gap_series(rows).items():
        if len(rs) < 3:
            continue
        F = gap_fits([r["N"] for r in rs], [r["gap"]["mean"] for r in rs],
                     [r["gap"]["err"] for r in rs])
        c, p, li = F["constant"], F["proportional"], F["linear"]
        lines.append(
            f"* g = {g}, β = {bmin:g} … {beta:g}, N = {', '.join(str(r['N']) for r in rs)} "
            f"(weighted fits of the gap): constant {c['params'][0]:.3f} ± {c['errs'][0]:.3f} "
            f"(χ² {c['chi2']:.1f}, {c['dof']} dof); ∝ N {p['params'][0] * 1e4:.2f} ± "
            f"{p['errs'][0] * 1e4:.2f} ·10⁻⁴ per site (χ² {p['chi2']:.1f}, {p['dof']} dof); "
            f"a + bN: a = {li['params'][0]:.3f} ± {li['errs'][0]:.3f}, b = "
            f"{li['params'][1] * 1e4:.2f} ± {li['errs'][1] * 1e4:.2f} ·10⁻⁴ per site "
            f"(χ² {li['chi2']:.1f}, {li['dof']} dof; b < {li['b_upper_2sigma'] * 1e4:.1f}·10⁻⁴ "
            f"at 2σ).")
    return lines + [""] if lines else []


def free_energy_lines(d):
    rows = free_energy(d)
    if not rows:
        return []
    f = lambda x, p=3: f"{x['mean']:+.{p}f} ± {x['err']:.{p}f}"  # noqa: E731
    lines = ["## Free energy of typical and planted couplings", "",
             "L(J) = ln Z(β) − ln Z(β_min) of each run by thermodynamic integration of its rung "
             "energies (`numerics.tempering.log_z_increment`); L_A the same for ln E_J Z "
             "(`numerics.planted.annealed_log_z_increment`: the exact planted-ensemble energy at "
             "every rung). L_A − E L(J) is the growth of ln E_J Z − E_J ln Z ≥ 0 from β_min to β: "
             "O(1) in N if typical and planted couplings are contiguous (quenched = annealed "
             "free energy), ∝ N if not. Tilt test (`free_energy`): planted J are p(J) Z(J)/E Z; "
             "if q_J and ln Z(J) are jointly Gaussian over J and q depends on ln Z through L "
             "only, planting shifts q by b ΔL (b: within-ensemble slope of q on L; ΔL: planted − "
             "typical mean of L); the residual is the part of the planted − typical q "
             "difference that this finite-N reweighting does not explain. Longest run per J; "
             "errors by resampling J.", "",
             "| g | β | β_min | N | J typical / planted | L_A / N | E L(J) / N, typical | "
             "L_A − E L(J) | Var L(J), typical | ΔL planted − typical | b | b ΔL | "
             "q planted − typical | residual |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        t = r.get("tilt")
        cols = [f"{r['g']}", f"{r['beta']:g}", f"{r['beta_min']:g}", f"{r['N']}",
                f"{r['n_iid']} / {r['n_planted']}",
                (f"{r['L_annealed']['mean'] / r['N']:.5f}" if "L_annealed" in r else "–"),
                f"{r['L_iid']['mean'] / r['N']:.5f}",
                (f(r["gap"], 2) if "gap" in r else "–"), f"{r['var_L_iid']:.2f}"]
        cols += ([f(t["dL"], 2), f(t["slope"], 4), f(t["pred"], 4), f(t["dq"], 4), f(t["resid"], 4)]
                 if t else ["–"] * 5)
        lines.append("| " + " | ".join(cols) + " |")
    lines.append("")
    lines += _gap_fit_lines(rows)
    if _plot_gap(rows):
        lines += [f"![ln E_J Z − E_J ln Z against N]({os.path.basename(PNG)})", ""]
    return lines


def _plot_gap(rows):
    """L_A − E L(J) against N for each (g, beta, beta_min) with the annealed ladder at two or
    more sizes, with the two readings drawn through the smallest N: constant (quenched =
    annealed) and proportional to N (an extensive free-energy gap), and with three or more
    sizes the weighted fit a + bN (``gap_fits``). False if nothing to plot."""
    series = _gap_series(rows)
    if not series:
        return False
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for (g, beta, bmin), rs in series.items():
        N = np.array([r["N"] for r in rs], dtype=float)
        y = np.array([r["gap"]["mean"] for r in rs])
        e = np.array([r["gap"]["err"] for r in rs])
        h = ax.errorbar(N, y, e, fmt="o", capsize=3,
                        label=f"g = {g}, β = {bmin:g} … {beta:g} (typical J, mean ± error over J)")
        c = h[0].get_color()
        Ns = np.linspace(0, N.max() * 1.1, 50)
        ax.plot(Ns, np.full_like(Ns, y[0]), ":", color=c, label="constant: O(1) gap")
        ax.plot(Ns, y[0] * Ns / N[0], "--", color=c, label="∝ N: extensive gap")
        if N.size >= 3:
            a, b = gap_fits(N, y, e)["linear"]["params"]
            ax.plot(Ns, a + b * Ns, "-", color=c, lw=0.8, label="weighted fit a + bN")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("N")
    ax.set_ylabel("[ln E_J Z − E_J ln Z] (β) − (same at β_min)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(PNG, dpi=100)
    plt.close(fig)
    return True


def _label(r):
    return f"β = {r['beta_min']:g} … {r['beta']:g}, {r['steps']} steps"


def paired(runs):
    """Differences between two runs on the same couplings (same N, J seed, source, g, beta)
    that differ in ladder or length: for every such pair of run settings (a, b) the mean over
    the common J of q_b - q_a and eps_b - eps_a (``_mean_over_J``, per-J error the two run
    errors in quadrature), and, where the two runs share their ladder, of L_b - L_a, the
    difference of their ln Z increments (``_log_z``): a check that the free-energy integral
    does not move with run length. Pairing removes the J-to-J spread, the largest error of
    each mean."""
    by = {}
    for r in runs:
        key = (r["g"], r["beta"], r["N"], _source(r))
        by.setdefault(key, {}).setdefault((r["beta_min"], r["steps"]), {})[r["seed"]] = r
    out = []
    for (g, beta, N, src), settings in sorted(by.items()):
        names = sorted(settings)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                common = sorted(set(settings[a]) & set(settings[b]))
                if len(common) < 2:
                    continue
                pairs = [(settings[a][s], settings[b][s]) for s in common]
                out.append({"g": g, "beta": beta, "N": N, "source": src,
                            "a": _label(pairs[0][0]), "b": _label(pairs[0][1]), "J": common,
                            "dq": _paired_mean(pairs, lambda r: r["q"]),
                            "deps": _paired_mean(pairs, lambda r: r["ladder"][-1]["energy"],
                                                 2 * beta),
                            "dL": (_paired_mean(pairs, lambda r: vars(_log_z(r)))
                                   if all(_same_ladder(x, y) for x, y in pairs) else None)})
    return out


def _same_ladder(a, b):
    """True if two runs used the same inverse temperatures on their ladders."""
    x, y = ([r["beta"] for r in run["ladder"]] for run in (a, b))
    return len(x) == len(y) and np.allclose(x, y)


def _paired_mean(pairs, get, scale=1.0):
    """Mean over (run a, run b) pairs of scale (get(b) - get(a)), per-pair errors in quadrature."""
    d = [scale * (get(y)["mean"] - get(x)["mean"]) for x, y in pairs]
    e = [scale * math.hypot(get(x)["err"], get(y)["err"]) for x, y in pairs]
    return od._mean_over_J(d, e)


def paired_lines(runs):
    rows = paired(runs)
    if not rows:
        return []
    lines = ["## Same couplings, two run settings (paired differences b − a)", "",
             "| g | β | N | source | a | b | J seeds | q_b − q_a | ε_b − ε_a | L_b − L_a |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for p in rows:
        dL = "–" if p["dL"] is None else f"{p['dL']['mean']:+.3f} ± {p['dL']['err']:.3f}"
        lines.append(f"| {p['g']} | {p['beta']:g} | {p['N']} | {p['source']} | {p['a']} | {p['b']} | "
                     f"{' '.join(map(str, p['J']))} | {p['dq']['mean']:+.4f} ± {p['dq']['err']:.4f} | "
                     f"{p['deps']['mean']:+.4f} ± {p['deps']['err']:.4f} | {dL} |")
    return lines + [""]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--N", type=int, nargs="+", default=[250])
    ap.add_argument("--J-seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--g", type=float, default=1.2)
    ap.add_argument("--beta", type=float, default=100.0)
    ap.add_argument("--beta-min", type=float, default=3.0)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--burn", type=int, default=20000)
    ap.add_argument("--thin", type=int, default=10)
    ap.add_argument("--chains", type=int, default=16, help="annealed states drawn per N (>= seeds)")
    ap.add_argument("--iid", action="store_true",
                    help="the control: i.i.d. zero-diagonal couplings instead of planted ones")
    ap.add_argument("--annealed-only", action="store_true",
                    help="only (re)compute the annealed targets of each N (deterministic)")
    ap.add_argument("--annealed-ladder", action="store_true",
                    help="only compute ln E_J Z along the ladder beta_min ... beta of each N")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args(argv)
    if a.report:
        report(_load())
        return 0
    if min(a.J_seeds) < 0 or (not a.iid and max(a.J_seeds) >= a.chains):
        raise SystemExit(f"J seeds must lie in [0, {a.chains})")
    if any(n < 8 for n in a.N) or a.steps < 32 * a.thin or a.burn < 0:
        raise SystemExit("need N >= 8, steps >= 32 thin and burn >= 0")
    cmd = "python benchmarks/planted_tempering.py " + " ".join(sys.argv[1:] if argv is None else argv)
    if a.annealed_ladder:
        for N in a.N:
            res = annealed_ladder(N, a.g, a.beta, a.beta_min)
            print(f"N={N}: ln E_J Z({a.beta:g}) - ln E_J Z({a.beta_min:g}) = "
                  f"{res['dlnz']['mean']:.3f} ± {res['dlnz']['err']:.3f}", flush=True)
            with _locked():
                d = _load()
                d.setdefault("annealed_ladder", {})[_lkey(N, a.g, a.beta, a.beta_min)] = res
                d["meta"]["commands"] = sorted(set(d["meta"].get("commands", [])) | {cmd})
                _save(d)
        report(_load())
        return 0
    for N in a.N:
        A = None if a.iid and not a.annealed_only else annealed_states(N, a.g, a.beta, a.chains)
        if A is not None:
            qa, qe = A.q
            ea, ee = A.energy
            print(f"N={N}: annealed q = {qa:.5f} ± {qe:.5f}, e = {ea:.6f} ± {ee:.6f} "
                  f"(acceptance {A.acceptance:.3f})", flush=True)
            with _locked():
                d = _load()
                d["annealed"][_akey(N, a.g, a.beta)] = {"q": qa, "err": qe, "e": ea, "e_err": ee,
                                                         "chains": a.chains,
                                                         "acceptance": A.acceptance}
                _save(d)
            if a.annealed_only:
                continue
        for seed in a.J_seeds:
            src = "iid" if a.iid else "planted"
            key = (N, seed, a.g, a.beta, a.beta_min, a.steps, src)
            if any((r["N"], r["seed"], r["g"], r["beta"], r["beta_min"], r["steps"], _source(r)) == key
                   for r in _load()["runs"]):
                continue
            t0 = time.time()
            if a.iid:
                r = run_iid(N, seed, a.g, a.beta, a.beta_min, a.steps, a.burn, a.thin)
            else:
                r = run_planted(N, seed, A, a.g, a.beta, a.beta_min, a.steps, a.burn, a.thin)
            print(f"N={N} J={seed} ({src}): planted q={r.get('planted_q', math.nan):.4f}, "
                  f"tempered q={r['q']['mean']:.4f}±{r['q']['err']:.4f}, trips={r['round_trips']} "
                  f"({time.time() - t0:.0f} s)", flush=True)
            with _locked():
                d = _load()
                od.add_run(d, r, cmd)
                _save(d)
    report(_load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
