"""Equilibrium at large beta: parallel tempering against plain MALA, two starts each.

The decisive experiment (docs/decisive_experiment.md) found that plain MALA runs from a start
near x = 0 and from a wide start disagree at beta >= 300 (g = 0.82, 0.95 at gamma = 0.3 and
g = 1.2 at gamma = 0): equilibrium is not demonstrated there. This script repeats the
two-start test with replica exchange in beta (``numerics.tempering``): a ladder from
beta = 30 (where plain MALA equilibrates) to 1000 through 100 and 300, ratio about
1 + sqrt(2/N) between rungs, 2 walker sets (Q is their overlap), configurations exchanged
between neighbouring rungs every 10 steps. The same J, the same number of steps and the
same two starts are run with plain MALA at beta = 100, 300, 1000 as the baseline. The
finite-beta replica-symmetric q (``numerics.validate.replica_theory``) is listed for
comparison.

    python benchmarks/tempering.py [--N 250] [--steps 50000]
    python benchmarks/tempering.py --N 500 --points 0.3:0.95 --samplers tempering --J-seeds 1 2 3
    python benchmarks/tempering.py --N 250 --points 0.3:0.95 --samplers tempering-b3 --J-seeds 0 1 2 3 4 5 --steps 100000
    python benchmarks/tempering.py --N 250 --points 0.3:0.95 --samplers tempering-b3 --J-seeds 0 1 2 --steps 400000
    python benchmarks/tempering.py --N 250 --points 0.3:0.95 --samplers tempering-b1 --J-seeds 0 1 2 3 --steps 100000
    python benchmarks/tempering.py --N 500 --points 0.3:0.95 --samplers tempering-b3 --J-seeds 0 --steps 400000 --starts 0.1 &
    python benchmarks/tempering.py --N 500 --points 0.3:0.95 --samplers tempering-b3 --J-seeds 0 --steps 400000 --starts 2.0
    python benchmarks/tempering.py --report        # markdown from the JSON

``--J-seeds`` repeats the runs on other coupling matrices (J from seed s); the report then
adds the J-to-J table: per J the two starts, and the mean over J against RS. A run length
(``--steps``) other than the stored one on the same J, ladder and start is a new entry
(``stored_key``) and a group of its own, differenced against the shorter runs on the same J;
a ladder run at several lengths also gets a table of each J at its longest run, the mean
over J from those, and q(N) = q_inf + c / N through such means.

Writes benchmarks/results/tempering.json (one entry per (N, gamma, g, sampler, start,
J seed, steps), saved as each finishes; existing entries are skipped) and docs/tempering.md (generated; text
below its "<!-- notes -->" marker is kept across runs) with the figure docs/tempering.png.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from numerics.chaos import disorder_mean, extrapolate  # noqa: E402
from numerics.couplings import couplings  # noqa: E402
from numerics.langevin import LangevinSampler  # noqa: E402
from numerics.tempering import TemperingSampler, geometric_ladder  # noqa: E402
from numerics.stats import Estimate  # noqa: E402
from numerics.transfer import builtin_kernels  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overlap_distribution import locked, save_json  # noqa: E402
from planted_tempering import _akey as annealed_key  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "tempering.json")
MD = os.path.join(os.path.dirname(HERE), "docs", "tempering.md")
FIG = os.path.join(os.path.dirname(HERE), "docs", "tempering.png")
PLANTED = os.path.join(HERE, "results", "planted_tempering.json")   # annealed targets, gamma = 0
POINTS = [(0.0, 1.2), (0.3, 0.82), (0.3, 0.95)]          # (gamma, g)
SHOWN = (100.0, 300.0, 1000.0)
STARTS = (0.1, 2.0)
NODES = (30.0, 100.0, 300.0, 1000.0)
NOTES = "<!-- notes -->"       # docs/tempering.md keeps the text below this marker


def ladder(N, beta_min=NODES[0]):
    """Geometric pieces between beta_min and the NODES above it, so that 100, 300 and 1000
    are rungs."""
    if not 0 < beta_min < SHOWN[0]:
        raise ValueError(f"beta_min must lie in (0, {SHOWN[0]:g}), got {beta_min}")
    nodes = (beta_min,) + tuple(b for b in NODES if b > beta_min)
    parts = [geometric_ladder(a, b, N) for a, b in zip(nodes[:-1], nodes[1:])]
    return np.concatenate([parts[0]] + [p[1:] for p in parts[1:]])


def ladder_min(sampler) -> float:
    """Lowest rung of a tempering sampler name: 'tempering' is the ladder from NODES[0] = 30,
    'tempering-b3' the ladder from beta = 3 (same upper nodes)."""
    if sampler == "tempering":
        return NODES[0]
    if sampler.startswith("tempering-b"):
        return float(sampler[len("tempering-b"):])
    raise ValueError(f"not a tempering sampler: {sampler!r}")


def run_key(N, gamma, g, smp, start, seed=0, steps=None):
    """JSON key of one run; J seed 0 keeps the historical key without a suffix, and a run
    length given here adds '/n<steps>' (see ``stored_key``)."""
    k = f"{N}/{gamma}/{g}/{smp}/{start}"
    k = k if seed == 0 else f"{k}/J{seed}"
    return k if steps is None else f"{k}/n{steps}"


def stored_key(runs, N, gamma, g, smp, start, seed, steps):
    """Key under which the run of this length is (or will be) stored: the plain key when it
    is free or holds a run of this length, else the key with '/n<steps>', so that a longer
    run on the same J, ladder and start is kept beside the shorter one instead of being
    skipped as done."""
    k = run_key(N, gamma, g, smp, start, seed)
    if k not in runs or runs[k]["steps"] == steps:
        return k
    return run_key(N, gamma, g, smp, start, seed, steps)


def load():
    if os.path.exists(OUT):
        with open(OUT) as fh:
            return json.load(fh)
    return {"runs": {}}


def save(db):
    save_json(OUT, db)


def one(N, gamma, g, sampler, start, steps, burn, seed):
    k = builtin_kernels("tanh")
    J = couplings(N, gamma, rng=np.random.default_rng(seed))
    # J seed 0 keeps the stream of the first runs; other J get their own (seed, start) stream,
    # and a ladder other than the default its own (seed, start, beta_min) stream
    if sampler.startswith("tempering") and sampler != "tempering":
        rng = np.random.default_rng([seed, int(10 * start), 1000, int(1000 * ladder_min(sampler))])
    else:
        rng = np.random.default_rng(1000 + seed + int(10 * start) if seed == 0
                                    else [seed, int(10 * start), 1000])
    t0 = time.perf_counter()
    if sampler.startswith("tempering"):
        betas = ladder(N, ladder_min(sampler))
        s = TemperingSampler(J, k, g, betas, swap_every=10, replicas=2, dt=0.05, rng=rng, X0=start)
    else:
        betas = np.array(SHOWN)
        s = LangevinSampler(J, k, g, betas, replicas=2, dt=0.05, rng=rng, X0=start)
    res = s.run(steps, burn=burn, thin=10, progress=False)
    out = {"N": N, "gamma": gamma, "g": g, "sampler": sampler, "start": start, "steps": steps,
           "burn": burn, "seed": seed, "rows": len(betas) * 2, "wall_s": time.perf_counter() - t0,
           "points": {}}
    for b, r in zip(betas, res):
        if any(math.isclose(b, x, rel_tol=1e-9) for x in SHOWN):
            out["points"][f"{b:g}"] = {"q": r.q.as_dict(), "Q": r.Q.as_dict(),
                                       "energy": r.energy.as_dict(), "acceptance": r.acceptance,
                                       "dt": r.dt}
    if sampler.startswith("tempering"):
        out["tempering"] = s.diagnostics()
    return out


def annealed_targets(path=PLANTED) -> dict:
    """The finite-N annealed q at gamma = 0, eta = 0 that benchmarks/planted_tempering.py
    computed (the mean of q over P_A(x) ∝ E_J exp(-beta E(x)), exact for planted J and equal
    to the RS Q = 0 value at N = infinity): {"N|g|beta": (q, error)}; empty without the file."""
    if not os.path.exists(path):
        return {}
    with open(path) as fh:
        ann = json.load(fh).get("annealed", {})
    return {k: (v["q"], v["err"]) for k, v in ann.items()}


def annealed_at(ann, N, gamma, g) -> dict:
    """{beta: (q, error)} of ``ann`` (``annealed_targets``, kept as ``db["annealed"]``) for
    this N and g at the shown betas; empty unless gamma = 0 (the annealed measure is the RS
    one only there)."""
    if gamma != 0 or not ann:
        return {}
    return {b: ann[k] for b in SHOWN if (k := annealed_key(N, g, b)) in ann}


def theory(gamma, g):
    from numerics.validate import replica_theory
    th = replica_theory("tanh")
    out = {}
    for b in SHOWN:
        try:
            out[f"{b:g}"] = th(dict(g=g, gamma=gamma, beta=b, eta=0.0))["q"]
        except RuntimeError as exc:
            out[f"{b:g}"] = None
            print(f"RS failed at gamma={gamma} g={g} beta={b}: {exc}", flush=True)
    return out


def report(db) -> str:
    L = ["# Equilibrium at large β: parallel tempering against plain MALA", "",
         "Generated by `benchmarks/tempering.py` from `benchmarks/results/tempering.json`.", "",
         "Two starts (x ~ 0.1 N(0,1) and x ~ 2 N(0,1)) per sampler on one J (seed 0); "
         "'Δ starts' is (q from start 0.1 − q from start 2.0) / combined error. "
         "τ_q: integrated autocorrelation time in steps (a lower bound, and the error too, when "
         "it approaches steps/4). Tempering: ladder β = 30 … 1000 (ratio ≈ 1 + √(2/N)), "
         "exchanges every 10 steps, 2 walker sets; 'tempering-bX' is the same with the ladder "
         "from β = X.", "", "![q against beta](tempering.png)", ""]
    keys = sorted({(r["N"], r["gamma"], r["g"]) for r in db["runs"].values()
                   if r.get("seed", 0) == 0})
    for N, gamma, g in keys:
        th = db.get("theory", {}).get(f"{gamma}/{g}", {})
        L += [f"## N = {N}, γ = {gamma:g}, g = {g:g}", "",
              "| sampler | β | q (start 0.1) | q (start 2.0) | Δ starts (σ) | τ_q (0.1 / 2.0) | "
              "Q | RS q | steps | wall (s) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for smp in ("plain", "tempering"):
            rr = [db["runs"].get(f"{N}/{gamma}/{g}/{smp}/{s}") for s in STARTS]
            if any(r is None for r in rr):
                continue
            for b in SHOWN:
                p = [r["points"][f"{b:g}"] for r in rr]
                q0, q1 = p[0]["q"], p[1]["q"]
                d = (q0["mean"] - q1["mean"]) / math.hypot(q0["err"], q1["err"])
                t = th.get(f"{b:g}")
                L.append(f"| {smp} | {b:g} | {q0['mean']:.5f} ± {q0['err']:.5f} | "
                         f"{q1['mean']:.5f} ± {q1['err']:.5f} | {d:+.1f} | "
                         f"{q0['tau']:.0f} / {q1['tau']:.0f} | "
                         f"{0.5 * (p[0]['Q']['mean'] + p[1]['Q']['mean']):+.4f} | "
                         f"{'—' if t is None else format(t, '.5f')} | {rr[0]['steps']} | "
                         f"{rr[0]['wall_s'] + rr[1]['wall_s']:.0f} |")
        for s in STARTS:
            r = db["runs"].get(f"{N}/{gamma}/{g}/tempering/{s}")
            if r:
                acc = r["tempering"]["swap_acceptance"]
                L.append(f"\nTempering from start {s}: {len(r['tempering']['betas'])} rungs, "
                         f"exchange acceptance {min(acc):.2f} … {max(acc):.2f}, "
                         f"round trips {r['tempering']['round_trips']}.")
        L.append("")
    L += j_table(db)
    return "\n".join(L)


def find(db, N, gamma, g, sampler, start, seed, steps=None):
    """The stored run with these attributes (any run length when ``steps`` is None, which
    must then be unique), or None."""
    rr = [r for r in db["runs"].values()
          if (r["N"], r["gamma"], r["g"], r["sampler"], r["start"], r.get("seed", 0))
          == (N, gamma, g, sampler, start, seed) and (steps is None or r["steps"] == steps)]
    if len(rr) > 1:
        raise ValueError(f"{len(rr)} runs of different length for {(N, gamma, g, sampler, start, seed)}:"
                         " name the steps")
    return rr[0] if rr else None


def per_j(db, N, gamma, g, seed, sampler="tempering", steps=None):
    """q per shown beta on one J from the tempering starts of one run length. With both
    starts: their mean, an error that covers both their errors and half their difference,
    and the starts' disagreement in sigma. With one start (a J run once, to add J rather
    than check starts): its q and error, and a disagreement of nan (no start check). None
    when neither start was run."""
    rr = [r for r in (find(db, N, gamma, g, sampler, s, seed, steps) for s in STARTS)
          if r is not None]
    if not rr:
        return None
    out = {}
    for b in SHOWN:
        qs = [r["points"][f"{b:g}"]["q"] for r in rr]
        if len(qs) == 1:
            out[b] = (qs[0]["mean"], qs[0]["err"], math.nan)
            continue
        q0, q1 = qs
        comb = math.hypot(q0["err"], q1["err"])
        out[b] = (0.5 * (q0["mean"] + q1["mean"]), max(0.5 * comb, 0.5 * abs(q0["mean"] - q1["mean"])),
                  (q0["mean"] - q1["mean"]) / comb)
    return out


def j_groups(db) -> dict:
    """Tempering on several J per (N, gamma, g, sampler, steps) (sampler: 'tempering' or a
    'tempering-bX' ladder; steps: the run length after burn-in, so runs of different length
    on the same ladder are separate groups): {(N, gamma, g, sampler, steps): {"rows":
    {seed: per_j}, "mean": {beta: (mean over J, error, combined start disagreement)}}}. Mean
    and error are ``numerics.chaos.disorder_mean`` (equal weights; the larger of the standard
    error over J and the propagated per-J errors); the combined start disagreement is
    sum_J Delta_J / sqrt(number of J), a standard normal variable if every J is equilibrated
    (a one-signed bias of the starts shows up here before it shows on any single J)."""
    def attrs(r):
        return r["N"], r["gamma"], r["g"], r["sampler"], r["steps"]
    temp = [r for r in db["runs"].values() if r["sampler"].startswith("tempering")]
    several = {attrs(r) for r in temp if r.get("seed", 0) != 0}
    # runs on J = 0 alone form a group when the same ladder has a several-J group (a longer
    # run on one J, to be paired with the shorter ones); the historical single-J runs of
    # the first table do not
    ladders = {k[:4] for k in several}
    groups = sorted(several | {attrs(r) for r in temp if attrs(r)[:4] in ladders},
                    key=lambda k: (k[0], k[1], k[2], -ladder_min(k[3]), k[4]))
    out = {}
    for N, gamma, g, smp, steps in groups:
        seeds = sorted({r.get("seed", 0) for r in db["runs"].values()
                        if attrs(r) == (N, gamma, g, smp, steps)})
        rows = {s: per_j(db, N, gamma, g, s, smp, steps) for s in seeds}
        rows = {s: v for s, v in rows.items() if v is not None}
        out[(N, gamma, g, smp, steps)] = {"rows": rows, "mean": j_mean(rows)}
    return out


def j_mean(rows) -> dict:
    """Mean over J of ``per_j`` rows {seed: per_j}, per shown beta: (mean, error, combined
    start disagreement) as described in ``j_groups``, the last over the J run from both
    starts (nan when none was); empty with fewer than two J."""
    mean = {}
    if len(rows) >= 2:
        for b in SHOWN:
            dm = disorder_mean([Estimate(v[b][0], v[b][1]) for v in rows.values()])
            d = np.array([v[b][2] for v in rows.values()])
            d = d[np.isfinite(d)]
            mean[b] = (dm.mean, dm.err, d.sum() / math.sqrt(len(d)) if len(d) else math.nan)
    return mean


def _delta(x, none="one start") -> str:
    """A start disagreement in sigma for a table cell (``none`` for nan)."""
    return none if math.isnan(x) else f"{x:+.1f}"


def j_cells(v) -> list:
    """Markdown cells of one J's ``per_j`` per shown beta: q ± error and the starts' Δ."""
    return [f"{v[b][0]:.5f} ± {v[b][1]:.5f} | {_delta(v[b][2])}" for b in SHOWN]


def mean_cells(mean, th, ann=None) -> list:
    """Markdown cells of a mean over J per shown beta: the mean, its error and z against RS,
    and against the annealed q of the same N where ``ann`` ({beta: (q, error)}, gamma = 0)
    has it (z with both errors in quadrature)."""
    cells = []
    for b in SHOWN:
        m, err, _ = mean[b]
        t = th.get(f"{b:g}")
        cell = (f"**{m:.5f} ± {err:.5f}** | RS {t:.5f}, z = {(m - t) / err:+.1f}"
                if t is not None else f"**{m:.5f} ± {err:.5f}** | —")
        if ann and b in ann:
            a, ae = ann[b]
            cell += f"; annealed {a:.4f} ± {ae:.4f}, z = {(m - a) / math.hypot(err, ae):+.1f}"
        cells.append(cell)
    return cells


def fit_lines(sizes, means, th) -> list:
    """Markdown rows of q(N) = q_inf + c / N through means[i][beta] = (mean, error, _) at
    sizes[i] (``numerics.chaos.extrapolate``, weighted; two sizes give an exact fit)."""
    L = ["| β | q_inf | RS | z | χ² (dof) |", "|---|---|---|---|---|"]
    for b in SHOWN:
        e = extrapolate(sizes, [m[b][0] for m in means], [m[b][1] for m in means], power=1.0)
        t = th.get(f"{b:g}")
        L.append(f"| {b:g} | {e.y_inf:.5f} ± {e.err:.5f} | "
                 + (f"{t:.5f} | {(e.y_inf - t) / e.err:+.1f}" if t is not None else "— | ")
                 + (f" | {e.chi2:.2f} ({e.dof})" if e.dof else " | exact (0)") + " |")
    return L + [""]


def longest_per_j(groups) -> dict:
    """Per ladder (N, gamma, g, sampler) of ``j_groups``: each J at its longest run (with
    both starts or one), and the mean over J as in ``j_groups`` (the best estimate the runs
    give: the shorter runs on the same J are biased low where they made no round trips).
    {(N, gamma, g, sampler): {"rows": {seed: per_j}, "steps": {seed: steps}, "mean": {beta:
    (mean, error, combined start disagreement)}, "lengths": number of run lengths}}."""
    out = {}
    for ladder in dict.fromkeys(k[:4] for k in groups):     # in the order of j_groups
        lens = sorted(k[4] for k in groups if k[:4] == ladder)
        rows, steps = {}, {}
        for n in lens:                      # ascending: a longer run replaces a shorter one
            for s, v in groups[ladder + (n,)]["rows"].items():
                rows[s], steps[s] = v, n
        rows = dict(sorted(rows.items()))
        out[ladder] = {"rows": rows, "steps": {s: steps[s] for s in rows},
                       "mean": j_mean(rows), "lengths": len(lens)}
    return out


def longest_lines(groups, theory, annealed=None) -> list:
    """Markdown for ``longest_per_j`` on the ladders run at several lengths, and q(N) =
    q_inf + c / N through their means where two or more sizes of such a ladder exist;
    ``annealed`` as ``db["annealed"]`` (``annealed_targets``)."""
    L = []
    best = longest_per_j(groups)
    multi = {k for k, G in best.items() if G["lengths"] > 1 and G["mean"]}
    for (N, gamma, g, smp) in sorted(multi, key=lambda k: (k[1], k[2], k[3], k[0])):
        G = best[(N, gamma, g, smp)]
        th = theory.get(f"{gamma}/{g}", {})
        L += [f"### Longest run per J: N = {N}, γ = {gamma:g}, g = {g:g}, ladder β = "
              f"{ladder_min(smp):g} … 1000 ({len(G['rows'])} J)", "",
              "| J seed | steps | " + " | ".join(f"q (β = {b:g}) | Δ starts" for b in SHOWN)
              + " |", "|---|---|" + "---|---|" * len(SHOWN)]
        for s, v in G["rows"].items():
            L.append(f"| {s} | {G['steps'][s]} | " + " | ".join(j_cells(v)) + " |")
        L += ["| mean over J | | " + " | ".join(mean_cells(G["mean"], th, annealed_at(
            annealed, N, gamma, g))) + " |",
              "| ΣΔ/√n | | " + " | ".join(f" | {_delta(G['mean'][b][2], '—')}" for b in SHOWN) + " |", ""]
    for gamma, g, smp in sorted({k[1:] for k in multi}):
        sizes = sorted(k[0] for k, G in best.items() if k[1:] == (gamma, g, smp) and G["mean"])
        if len(sizes) < 2:
            continue
        L += [f"### q(N) = q_inf + c / N through the longest-run J means, γ = {gamma:g}, "
              f"g = {g:g}, ladder β = {ladder_min(smp):g} … 1000 "
              f"(N = {', '.join(map(str, sizes))})", ""]
        L += fit_lines(sizes, [best[(N, gamma, g, smp)]["mean"] for N in sizes],
                       theory.get(f"{gamma}/{g}", {}))
    return L


def j_table(db) -> list:
    """Markdown for j_groups: per-J q, the mean over J against RS, the combined start
    disagreement and, where two or more sizes have several J, q(N) = q_inf + c / N through
    the J means (weighted least squares; with two sizes an exact fit without a test)."""
    groups = j_groups(db)
    if not groups:
        return []
    L = ["## Several J: tempering, mean of the starts run per J (both, or one)", "",
         "Per J: mean of the two starts ± max(half their combined error, half their "
         "difference), with the starts' disagreement Δ in σ; a J run from one start only "
         "shows that run's q and error ('one start', no Δ). Mean over J: ± standard deviation "
         "over J / √(number of J), or the root-mean-square per-J error / √(number of J) when that is "
         "larger. z = (mean over J − RS) / error. ΣΔ/√n: the starts' disagreements summed "
         "over the J run from both starts / √(their number), standard normal if every J is "
         "equilibrated. At γ = 0 the "
         "mean is also compared with the annealed q of the same N "
         "(benchmarks/planted_tempering.py, exact average over planted J; the RS value is its "
         "N → ∞ limit) where that was computed.", ""]
    for (N, gamma, g, smp, steps), G in groups.items():
        rows, mean = G["rows"], G["mean"]
        th = db.get("theory", {}).get(f"{gamma}/{g}", {})
        L += [f"### N = {N}, γ = {gamma:g}, g = {g:g}, ladder β = {ladder_min(smp):g} … 1000 "
              f"({len(rows)} J, {steps} steps)", "",
              "| J seed | " + " | ".join(f"q (β = {b:g}) | Δ starts" for b in SHOWN) + " |",
              "|---|" + "---|---|" * len(SHOWN)]
        for s, v in rows.items():
            L.append(f"| {s} | " + " | ".join(j_cells(v)) + " |")
        if mean:
            L.append("| mean over J | " + " | ".join(
                mean_cells(mean, th, annealed_at(db.get("annealed"), N, gamma, g))) + " |")
            L.append("| ΣΔ/√n | " + " | ".join(f" | {_delta(mean[b][2], '—')}" for b in SHOWN) + " |")
            bad = {f"{b:g}": sum(abs(v[b][2]) > 3 for v in rows.values()) for b in SHOWN}
            L.append(f"\nJ whose two starts differ by more than 3σ, per β: {bad}.")
        L.append("")
    L += paired_lines(groups)
    for gamma, g, smp, steps in sorted({k[1:] for k, G in groups.items() if G["mean"]}):
        sizes = sorted(k[0] for k, G in groups.items()
                       if G["mean"] and k[1:] == (gamma, g, smp, steps))
        if len(sizes) < 2:
            continue
        L += [f"### q(N) = q_inf + c / N through the J means, γ = {gamma:g}, g = {g:g}, "
              f"ladder β = {ladder_min(smp):g} … 1000, {steps} steps "
              f"(N = {', '.join(map(str, sizes))})", ""]
        L += fit_lines(sizes, [groups[(N, gamma, g, smp, steps)]["mean"] for N in sizes],
                       db.get("theory", {}).get(f"{gamma}/{g}", {}))
    return L + longest_lines(groups, db.get("theory", {}), db.get("annealed"))


def comparisons(groups) -> list:
    """Pairs of groups (A, B) of ``j_groups`` to difference on their common J:
    a lower ladder against the beta = 30 ladder (A 'tempering-bX' at its shortest run length,
    B 'tempering' at its shortest), a lower ladder against the next higher 'tempering-bY'
    of the same run length, and a longer run against the next shorter one on the same
    ladder that shares a J with it (the same seeds and starts: the two chains share only
    the start of the burn-in, where the step size is still being adapted, and are measured
    on disjoint stretches)."""
    out = []
    for A in groups:
        N, gamma, g, smp, steps = A
        same = sorted(k[4] for k in groups if k[:4] == A[:4])
        if smp != "tempering":
            base = sorted(k for k in groups if k[:4] == (N, gamma, g, "tempering"))
            if base and steps == same[0]:
                out.append((A, base[0]))
            higher = [k for k in groups if k[:3] == A[:3] and k[4] == steps
                      and k[3] != "tempering" and ladder_min(k[3]) > ladder_min(smp)]
            if higher:
                out.append((A, min(higher, key=lambda k: ladder_min(k[3]))))
        shorter = [n for n in same if n < steps
                   and set(groups[A[:4] + (n,)]["rows"]) & set(groups[A]["rows"])]
        if shorter:
            out.append((A, A[:4] + (shorter[-1],)))
    return out


def paired(groups) -> dict:
    """q(A) - q(B) on the same J for each pair of ``comparisons`` with a common J: per shown
    beta the mean over those J (``disorder_mean`` of the per-J differences, each with the
    per-J errors in quadrature; with one common J its difference and that error) and the
    number of J where the difference is positive. {(A, B): {beta: (mean, error, n positive,
    n)}}."""
    out = {}
    for A, B in comparisons(groups):
        ga, gb = groups[A], groups[B]
        common = sorted(set(ga["rows"]) & set(gb["rows"]))
        if not common:
            continue
        out[(A, B)] = {}
        for b in SHOWN:
            d = [(ga["rows"][s][b][0] - gb["rows"][s][b][0],
                  math.hypot(ga["rows"][s][b][1], gb["rows"][s][b][1])) for s in common]
            dm = disorder_mean([Estimate(m, e) for m, e in d])
            out[(A, B)][b] = (dm.mean, dm.err, sum(m > 0 for m, _ in d), len(d))
    return out


def paired_lines(groups) -> list:
    """Markdown for ``paired``."""
    P = paired(groups)
    if not P:
        return []
    L = ["### Paired on the same J: ladder against ladder, longer run against shorter", "",
         "q(A) − q(B) per J (mean of the two starts each), averaged over the J both were run "
         "on; in brackets the number of J with a positive difference. A and B: ladder β = X … "
         "1000 and run length in steps after burn-in (burn-in a quarter of that).", "",
         "| N, γ, g | A − B | " + " | ".join(f"Δq (β = {b:g})" for b in SHOWN) + " |",
         "|---|---|" + "---|" * len(SHOWN)]
    for (A, B), row in P.items():
        N, gamma, g = A[:3]
        L.append(f"| {N}, {gamma:g}, {g:g} | β = {ladder_min(A[3]):g}, {A[4]} − "
                 f"β = {ladder_min(B[3]):g}, {B[4]} | " + " | ".join(
                     f"{row[b][0]:+.5f} ± {row[b][1]:.5f} ({row[b][2]}/{row[b][3]})"
                     for b in SHOWN) + " |")
    return L + [""]


def figure(db, path):
    """q against beta per (N, gamma, g): both starts of each sampler on J seed 0, the mean
    over J where several J were run, the RS solution and, at gamma = 0, the annealed q of
    each N (``db["annealed"]``)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({(r["gamma"], r["g"]) for r in db["runs"].values()})
    Ns = sorted({r["N"] for r in db["runs"].values()})
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 7.5), squeeze=False)
    bs = np.array(SHOWN)
    runs = {k: r for k, r in db["runs"].items() if r.get("seed", 0) == 0}
    jg = j_groups(db)
    for ax, (gamma, g) in zip(axes[0], groups):
        th = db.get("theory", {}).get(f"{gamma}/{g}", {})
        tq = [th.get(f"{b:g}") for b in SHOWN]
        if all(t is not None for t in tq):
            ax.plot(bs, tq, "k-", lw=1.5, label="RS (finite β)")
        for iN, N in enumerate(Ns):
            for smp, mk in (("plain", "o"), ("tempering", "s")):
                for s, fill in zip(STARTS, ("none", "full")):
                    r = runs.get(run_key(N, gamma, g, smp, s))
                    if r is None:
                        continue
                    m = [r["points"][f"{b:g}"]["q"]["mean"] for b in SHOWN]
                    e = [r["points"][f"{b:g}"]["q"]["err"] for b in SHOWN]
                    off = 1 + 0.03 * (2 * iN + (smp == "tempering")) * (1 if s > 1 else -1)
                    ax.errorbar(bs * off, m, yerr=e, fmt=mk, ms=5, capsize=2,
                                color=f"C{2 * iN + (smp == 'tempering')}",
                                mfc="none" if fill == "none" else None,
                                label=f"{smp}, N = {N}, start {s}")
        for i, (N, smp, steps) in enumerate(sorted((k[0], k[3], k[4]) for k, G in jg.items()
                                                   if k[1:3] == (gamma, g) and G["mean"])):
            G = jg[(N, gamma, g, smp, steps)]  # several-J means (tempering, the starts run per J)
            ax.errorbar(bs * (1 + 0.015 * i), [G["mean"][b][0] for b in SHOWN],
                        yerr=[G["mean"][b][1] for b in SHOWN],
                        fmt="D-" if smp == "tempering" else "^--", ms=6, lw=0.8, capsize=3,
                        color=f"C{(6 + i) % 10}",
                        label=f"{smp}, N = {N}, {steps} steps, mean of {len(G['rows'])} J")
        for N in Ns:                        # gamma = 0: the exact annealed q of each size
            ann = annealed_at(db.get("annealed"), N, gamma, g)
            if len(ann) == len(SHOWN):
                ax.errorbar(bs, [ann[b][0] for b in SHOWN], yerr=[ann[b][1] for b in SHOWN],
                            fmt="x:", ms=6, lw=0.8, capsize=2, color="0.4",
                            label=f"annealed, N = {N}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("β")
        ax.set_ylabel("q")
        ax.set_title(f"γ = {gamma:g}, g = {g:g}", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    fig.suptitle("Two starts per sampler: plain MALA against parallel tempering in β", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, nargs="+", default=[250])
    ap.add_argument("--steps", type=int, default=50000)
    ap.add_argument("--burn", type=int, default=None, help="default steps // 4")
    ap.add_argument("--points", default=None, help="e.g. '0:1.2,0.3:0.82' (gamma:g); default all")
    ap.add_argument("--samplers", nargs="+", default=["plain", "tempering"],
                    help="plain, tempering (ladder 30 ... 1000) or tempering-bX (ladder X ... 1000)")
    ap.add_argument("--J-seeds", dest="jseeds", type=int, nargs="+", default=[0],
                    help="coupling-matrix seeds (default 0, the historical single J)")
    ap.add_argument("--starts", type=float, nargs="+", default=list(STARTS),
                    help="which of the two starts to run (default both; one each lets two "
                         "processes share a J)")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args(argv)
    bad = [s for s in a.starts if s not in STARTS]
    if bad:
        ap.error(f"--starts must be among {STARTS}, got {bad}")
    for m in a.samplers:
        if m != "plain":
            ladder(250, ladder_min(m))      # refuses a bad name or beta_min before any run
    db = load()
    if not a.report:
        pts = POINTS if a.points is None else [tuple(float(v) for v in t.split(":"))
                                               for t in a.points.split(",")]
        burn = a.steps // 4 if a.burn is None else a.burn
        db.setdefault("conditions", {"machine": platform.node(), "cpus": os.cpu_count(),
                                     "threads": os.environ.get("OPENBLAS_NUM_THREADS")})
        for N in a.N:
            for gamma, g in pts:
                tk = f"{gamma}/{g}"
                if tk not in db.setdefault("theory", {}):
                    db["theory"][tk] = theory(gamma, g)
                    with locked(OUT):
                        fresh = load()
                        fresh.setdefault("theory", {})[tk] = db["theory"][tk]
                        save(fresh)
                for js, smp, s in ((j, m, s) for j in a.jseeds for m in a.samplers
                                   for s in a.starts):
                        runs = load()["runs"]
                        key = stored_key(runs, N, gamma, g, smp, s, js, a.steps)
                        if key in runs:
                            continue
                        r = one(N, gamma, g, smp, s, a.steps, burn, seed=js)
                        with locked(OUT):   # two processes may share this file
                            fresh = load()
                            fresh["runs"][key] = r
                            save(fresh)
                        print(f"{key}: {r['wall_s']:.0f} s; q = " + ", ".join(
                            f"{b}: {v['q']['mean']:.5f}±{v['q']['err']:.5f}"
                            for b, v in r["points"].items()), flush=True)
        db = load()
    notes = ""
    if os.path.exists(MD):
        txt = open(MD).read()
        if NOTES in txt:
            notes = txt.split(NOTES, 1)[1]
    db["annealed"] = annealed_targets()
    with open(MD, "w") as fh:
        fh.write(report(db) + "\n" + NOTES + notes)
    figure(db, FIG)
    print(f"wrote {MD} and {FIG}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
