"""Basin decomposition of the large-beta measure on one J: which fixed points carry it?

At gamma = 0, g = 1.2, N = 250 (J seed 0 of docs/tempering.md) a fixed-point census found
x = 0, a pair +-x at q = 0.115 and a pair at q = 0.240; weighted by 1/|det(I - g J D)|, the
beta -> infinity weight of a fixed point in the quasi-potential measure, they give q = 0.222,
whereas parallel tempering gave q = 0.10 at beta = 1000 (docs/overlap_distribution.md). This
script decides between the two explanations left open there, in three parts on the same J:

1. census: fixed points from many random starts at several scales (``find_fixed_points``),
   completed by symmetry (phi odd: -x is a fixed point with the same |det|); a class is a
   pair {x, -x} (or x = 0).
2. tempering: the ladder of benchmarks/tempering.py (beta = 30 ... 1000), two walker sets;
   every ``--snap`` steps the states on the rungs beta = 100, 300, 1000 are quenched to the
   fixed point they descend to (``numerics.fixedpoints.quench``). This measures how the
   sampled measure is shared among the basins, with errors from the label series
   (autocorrelation included).
3. within: plain MALA started at one point of each class on beta_w = 1000 ... 64000, where
   it stays in its basin (checked by quenching the final states). Each basin's partition
   function Z_k(beta) = int_basin exp(-beta E) tends to (2 pi / beta)^(N/2) / |det A_k|,
   A_k = 1 - g J D_k, and

       ln Z_k(beta0) - ln Z_k^harm(beta0) = int_beta0^inf (<E>_k - N / (2 beta)) d beta
                                          = N int delta_k(beta) d ln beta,
       delta_k = beta <E>_k / N - 1/2,

   integrated by the trapezoid rule in ln beta over beta_w plus the tail delta(beta_max)
   (delta ~ c / beta beyond). The predicted share of class c at beta0 = 1000 is then
   W_c / sum W, W_c = sum_{k in c} exp(-ln|det A_k| + N I_k), to be compared with part 2.
4. free energy: the whole measure's Lambda(beta) = ln[Z(beta) (beta / 2 pi)^(N/2)] by
   thermodynamic integration on a tempering ladder from beta_1 = 1e-3 (where Lambda ~ 0:
   for beta -> 0 the map x -> x - g J phi(x) has unit Jacobian on the typical x) to 1000,

       Lambda(beta) = -N int_0^beta delta(b) d ln b,     delta = b <E>/N - 1/2.

   Lambda(infinity) = ln sum_k 1/|det A_k| (the census), and the share of class c at beta0 is
   exp(Lambda_c - Lambda(beta0)), Lambda_c = ln sum_{k in c} 1/|det A_k| + N I_c: an
   independent check of the share that tempering samples for a basin whose N I_c is well
   measured (a stable fixed point with stiff modes).

    python benchmarks/basins.py [--N 250 --g 1.2 --seed 0 --starts 240 --steps 100000]
    python benchmarks/basins.py --report        # docs/basins.md from the JSON

Writes benchmarks/results/basins.json (one entry per part; finished parts are skipped) and
docs/basins.md (text below its "<!-- notes -->" marker is kept).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from numerics.couplings import couplings  # noqa: E402
from numerics.fixedpoints import find_fixed_points, quench  # noqa: E402
from numerics.langevin import LangevinSampler  # noqa: E402
from numerics.stats import estimate  # noqa: E402
from numerics.tempering import TemperingSampler  # noqa: E402
from numerics.transfer import builtin_kernels  # noqa: E402
import overlap_distribution as od  # noqa: E402
import tempering as tb  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "benchmarks", "results", "basins.json")
MD = os.path.join(ROOT, "docs", "basins.md")
SHOWN = (100.0, 300.0, 1000.0)               # tempering rungs whose states are quenched
BETA0 = 1000.0
BETAS_W = tuple(1000.0 * 2.0 ** k for k in range(7))   # 1000 ... 64000
SCALES = (0.1, 0.5, 1.0, 1.2, 2.0)           # census start scales


def _key(N, g, seed, part):
    return f"{N}|{g:.12g}|{seed}|{part}"


def _J(N, seed):
    return couplings(N, 0.0, rng=np.random.default_rng(seed))


def census(N, g, seed, starts):
    """Part 1: fixed points from ``starts`` random starts (equal numbers at the SCALES),
    completed by x -> -x; each point gets its class (the index of the first of {x, -x})."""
    J = _J(N, seed)
    rng = np.random.default_rng([seed, 77])
    per = max(1, starts // len(SCALES))
    X0 = np.vstack([s * rng.standard_normal((per, N)) for s in SCALES])
    r = find_fixed_points(J, g, starts=X0)
    pts = [dict(x=p.x, q=p.q, logdet=p.logdet, stability=p.stability, hits=p.hits,
                mirror=False) for p in r.points]
    for p in list(pts):            # phi odd: -x is a fixed point with the same det
        if not any(np.linalg.norm(o["x"] + p["x"]) / math.sqrt(N) < 1e-5 for o in pts):
            pts.append(dict(p, x=-p["x"], hits=0, mirror=True))
    for i, p in enumerate(pts):
        p["cls"] = next(j for j, o in enumerate(pts)
                        if min(np.linalg.norm(o["x"] - p["x"]), np.linalg.norm(o["x"] + p["x"]))
                        / math.sqrt(N) < 1e-5)
    return {"N": N, "g": g, "seed": seed, "part": "census", "n_starts": len(X0),
            "scales": list(SCALES), "n_converged": r.n_converged,
            "n_nonzero_minima": r.n_nonzero_minima,
            "min_energy_nonzero": r.min_energy_nonzero if math.isfinite(r.min_energy_nonzero)
            else None,
            "points": [dict(p, x=p["x"].tolist()) for p in pts]}


def harmonic_shares(points) -> dict:
    """beta -> infinity share of each class: sum over its points of 1/|det A_k|, normalised."""
    ld = np.array([p["logdet"] for p in points])
    w = np.exp(-(ld - ld.min()))
    out = {}
    for p, wk in zip(points, w):
        out[p["cls"]] = out.get(p["cls"], 0.0) + wk
    tot = sum(out.values())
    return {c: v / tot for c, v in out.items()}


def tempering(N, g, seed, start, steps, burn, snap, points, beta_min=None, progress=True):
    """Part 2: tempering on the benchmarks/tempering.py ladder (beta = 30 ... 1000), or with
    ``beta_min`` on geometric pieces beta_min, 30, 100, 300, 1000; the states on the SHOWN
    rungs every ``snap`` steps are quenched and labelled by class (-1: a fixed point not in
    the census, -2: a minimum with E > 0). With ``beta_min`` the energy of every rung is kept
    too (every 10 steps), for the free energy from beta_min to 1000."""
    from tqdm.auto import tqdm
    J = _J(N, seed)
    k = builtin_kernels("tanh")
    betas = tb.ladder(N) if beta_min is None else tb.ladder(N, beta_min)
    rungs = {b: int(np.argmin(np.abs(betas - b))) for b in SHOWN}
    rng = np.random.default_rng([seed, int(10 * start), 2026] if beta_min is None
                                else [seed, int(10 * start), int(1000 * beta_min), 2027])
    s = TemperingSampler(J, k, g, betas, swap_every=10, replicas=2, dt=0.05, rng=rng, X0=start)
    R, K = s.R, len(betas)
    snaps = {b: [] for b in SHOWN}
    energy = {b: [] for b in SHOWN}
    e_all = []
    t0 = time.perf_counter()
    bar = tqdm(total=burn + steps, desc=f"tempering N={N} start={start}", unit="step",
               mininterval=2.0, disable=not progress)
    last = 0
    for st in s.sample(steps, burn=burn, thin=10):
        bar.update(st.step - last)
        last = st.step
        if st.burn:
            continue
        e_all.append(np.asarray(st.energy[:K * R]).reshape(K, R).mean(axis=1))
        if st.step % snap:
            continue
        for b, kk in rungs.items():
            snaps[b].append(st.X[kk * R:(kk + 1) * R].copy())
            energy[b].append(st.energy[kk * R:(kk + 1) * R].copy())
    bar.close()
    xs = np.array([p["x"] for p in points])
    cls = np.array([p["cls"] for p in points])
    part = f"tempering|{start}" if beta_min is None else f"tempering|{start}|b{beta_min:g}"
    out = {"N": N, "g": g, "seed": seed, "part": part, "start": start,
           "steps": steps, "burn": burn, "snap": snap, "rungs": len(betas),
           "beta_min": float(betas[0]),
           "diagnostics": {kk: v for kk, v in s.diagnostics().items() if kk != "betas"},
           "sample_wall_s": time.perf_counter() - t0, "points": {}}
    if beta_min is not None:
        e_all = np.array(e_all)
        out["ladder"] = {"betas": betas.tolist(),
                         "energy": [estimate(e_all[:, i]).as_dict() for i in range(K)]}
    for b in SHOWN:
        X = np.array(snaps[b])                         # (T, R, N)
        T = X.shape[0]
        lab, _ = quench(J, g, X.reshape(T * R, N), xs)
        lab = lab.reshape(T, R)
        lab = np.where(lab >= 0, cls[np.maximum(lab, 0)], lab)
        out["points"][f"{b:g}"] = {"labels": lab.tolist(),
                                   "q": np.mean(np.tanh(X) ** 2, axis=2).tolist(),
                                   "energy": np.array(energy[b]).tolist()}
    out["wall_s"] = time.perf_counter() - t0
    return out


def within(N, g, seed, steps, burn, points, progress=True):
    """Part 3: plain MALA from one point of each class at BETAS_W; delta(beta), the
    anharmonic correction N I of ln Z at BETA0 and the share of final states still in the
    basin (quenched)."""
    J = _J(N, seed)
    k = builtin_kernels("tanh")
    xs = np.array([p["x"] for p in points])
    cls = np.array([p["cls"] for p in points])
    out = {"N": N, "g": g, "seed": seed, "part": f"within|{steps}", "steps": steps, "burn": burn,
           "betas": list(BETAS_W), "classes": {}}
    t0 = time.perf_counter()
    for c in sorted(set(cls.tolist())):
        x = xs[c]
        G, R = len(BETAS_W), 2
        s = LangevinSampler(J, k, g, np.array(BETAS_W), replicas=R, dt=0.05,
                            rng=np.random.default_rng([seed, c, 3]), X0=np.tile(x, (G * R, 1)))
        res = s.run(steps, burn=burn, progress=progress)
        lab, _ = quench(J, g, s.X, xs)
        lab = np.where(lab >= 0, cls[np.maximum(lab, 0)], lab)
        out["classes"][str(c)] = {
            "q_fp": points[c]["q"], "logdet": points[c]["logdet"],
            "q": [r.q.as_dict() for r in res], "energy": [r.energy.as_dict() for r in res],
            "stayed": float(np.mean(lab == c)), "final_labels": lab.tolist()}
    out["wall_s"] = time.perf_counter() - t0
    return out


def free_energy(N, g, seed, steps, burn, beta_min=1e-3, progress=True):
    """Part 4: <E> on every rung of a tempering ladder beta_min ... BETA0 (ratio about
    1 + sqrt(2/N), two walker sets), for Lambda(beta) by thermodynamic integration."""
    J = _J(N, seed)
    k = builtin_kernels("tanh")
    from numerics.tempering import geometric_ladder
    betas = geometric_ladder(beta_min, BETA0, N)
    rng = np.random.default_rng([seed, 4, 2026])
    s = TemperingSampler(J, k, g, betas, swap_every=10, replicas=2, dt=0.05, rng=rng,
                         X0=np.repeat(1.0 / np.sqrt(betas), 2)[:, None]
                         * rng.standard_normal((2 * len(betas), N)))
    t0 = time.perf_counter()
    res = s.run(steps, burn=burn, progress=progress)
    return {"N": N, "g": g, "seed": seed, "part": f"free_energy|{steps}", "steps": steps,
            "burn": burn, "betas": betas.tolist(),
            "energy": [r.energy.as_dict() for r in res], "q": [r.q.as_dict() for r in res],
            "diagnostics": {kk: v for kk, v in s.diagnostics().items() if kk != "betas"},
            "wall_s": time.perf_counter() - t0}


def big_lambda(betas, energy, N) -> tuple[np.ndarray, np.ndarray]:
    """Lambda(beta_k) = -N int_{beta_1}^{beta_k} delta d ln beta along the ladder (trapezoid,
    Lambda(beta_1) = 0) and its error (rung errors independent); = ln Z(beta_k) - ln Z(beta_1)
    + (N/2) ln(beta_k / beta_1) by ``tempering.log_z_increment``."""
    from numerics.tempering import log_z_increment
    b = np.asarray(betas, dtype=float)
    e = np.array([x["mean"] for x in energy])
    s = np.array([x["err"] for x in energy])
    out = np.zeros_like(b)
    err = np.zeros_like(b)
    for k in range(1, b.size):
        d = log_z_increment(b[:k + 1], e[:k + 1], s[:k + 1], N)
        out[k] = d.mean + 0.5 * N * math.log(b[k] / b[0])
        err[k] = d.err
    return out, err


def anharmonic(betas, energy, N) -> tuple[float, float]:
    """N I = N [trapezoid of delta over ln beta + delta(beta_max)], delta = beta e - 1/2 with
    e the energy per site; returns (N I, its error) from independent per-beta errors."""
    b = np.asarray(betas, dtype=float)
    d = b * np.array([e["mean"] for e in energy]) - 0.5
    s = b * np.array([e["err"] for e in energy])
    h = np.diff(np.log(b))
    w = np.zeros_like(b)
    w[:-1] += h / 2
    w[1:] += h / 2
    w[-1] += 1.0                         # tail: delta ~ c / beta beyond beta_max
    return float(N * np.sum(w * d)), float(N * math.sqrt(np.sum((w * s) ** 2)))


def shares(labels, classes) -> dict:
    """Share of each label (class, -1, -2) in a (T, R) label series, with an error from the
    indicator series (``stats.estimate``: autocorrelation and the R chains)."""
    lab = np.asarray(labels)
    out = {}
    for c in list(classes) + [-1, -2]:
        e = estimate((lab == c).astype(float))
        if e.mean > 0 or c in classes:
            out[c] = (e.mean, e.err)
    return out


def _share_lines(what, lam, lam_err, wruns, pts, classes, N) -> list:
    """Report lines: the share exp(Lambda_c - Lambda) of every class at beta = 1000 for one
    value of Lambda(1000) and the longest within-basin run (shorter ones are shown in their
    own table only), with their sum."""
    if not wruns:
        return []
    w = max(wruns, key=lambda r: r["steps"])
    cells, tot = [], 0.0
    for c in classes:
        NI, NIe = anharmonic(w["betas"], w["classes"][str(c)]["energy"], N)
        lc = math.log(sum(math.exp(-p["logdet"]) for p in pts if p["cls"] == c)) + NI
        P = math.exp(lc - lam)
        cells.append(f"class {c}: {P:.3f} (×/÷ {math.exp(math.hypot(NIe, lam_err)):.2f})")
        tot += P
    return [f"Shares at β = 1000 from Λ_c − Λ with {what} (within-basin runs of "
            f"{w['steps']} steps): " + ", ".join(cells) + f"; sum {tot:.3f} "
            "(1 if the classes exhaust the measure).", ""]


def _fmt(m, e, d=3):
    return f"{m:.{d}f} ± {e:.{d}f}"


def report(d) -> str:
    runs = d["runs"]
    L = ["# Basin decomposition of the large-β measure on one J", "",
         "Generated by `benchmarks/basins.py` from `benchmarks/results/basins.json`: fixed-point "
         "census, parallel tempering with the states on the β = 100, 300, 1000 rungs quenched "
         "to the fixed point they descend to, and plain MALA inside each basin at β = 1000 … "
         "64000 (the anharmonic correction N I of each basin's ln Z at β = 1000; see the "
         "module docstring for the formulas).", ""]
    for key in sorted(k for k in runs if k.endswith("|census")):
        cen = runs[key]
        N, g, seed = cen["N"], cen["g"], cen["seed"]
        pts = cen["points"]
        classes = sorted({p["cls"] for p in pts})
        harm = harmonic_shares(pts)
        L += [f"## N = {N}, g = {g:g}, γ = 0, J seed {seed}", "",
              f"Census: {cen['n_starts']} starts (scales {', '.join(f'{s:g}' for s in cen['scales'])}), "
              f"{cen['n_converged']} converged to a fixed point, {cen['n_nonzero_minima']} stopped "
              f"at a minimum with E > 0"
              + (f" (lowest E/N = {cen['min_energy_nonzero']:.3g})" if cen["min_energy_nonzero"]
                 is not None else "") + ".", "",
              "| class | points | q | ln\\|det A\\| | max Re eig (dynamics) | hits | share β → ∞ (harmonic) |",
              "|---|---|---|---|---|---|---|"]
        for c in classes:
            mem = [p for p in pts if p["cls"] == c]
            p = mem[0]
            L.append(f"| {c} | {len(mem)} | {p['q']:.4f} | {p['logdet']:.3f} | "
                     f"{p['stability']:+.3f} | {sum(m['hits'] for m in mem)} | {harm[c]:.3f} |")
        q_h = sum(harm[c] * next(p["q"] for p in pts if p["cls"] == c) for c in classes)
        L += ["", f"Harmonic β → ∞ prediction: q = {q_h:.4f}.", ""]
        wruns = sorted((r for k, r in runs.items() if k.startswith(_key(N, g, seed, "within"))),
                       key=lambda r: r["steps"])
        for w in wruns:
            L += [f"Inside each basin (plain MALA from its fixed point, {w['steps']} steps after "
                  f"{w['burn']}; δ = β⟨E⟩/N − 1/2; "
                  "'stayed': final states quenched back to the class):", "",
                  "| class | " + " | ".join(f"δ(β = {b:g})" for b in w["betas"]) +
                  " | q(β = 1000) | N I | stayed |",
                  "|---|" + "---|" * (len(w["betas"]) + 3)]
            lw = {}
            for c in classes:
                r = w["classes"][str(c)]
                dl = [(b * e["mean"] - 0.5, b * e["err"]) for b, e in zip(w["betas"], r["energy"])]
                NI, NIe = anharmonic(w["betas"], r["energy"], N)
                lw[c] = (NI, NIe)
                L.append(f"| {c} | " + " | ".join(_fmt(m, e) for m, e in dl) +
                         f" | {_fmt(r['q'][0]['mean'], r['q'][0]['err'], 4)} | "
                         f"{_fmt(NI, NIe, 2)} | {r['stayed']:.2f} |")
            ld0 = min(p["logdet"] for p in pts)
            lnW = {c: math.log(sum(math.exp(-(p["logdet"] - ld0))
                                   for p in pts if p["cls"] == c)) + lw[c][0] for c in classes}
            m = max(lnW.values())
            Z = sum(math.exp(v - m) for v in lnW.values())
            pred = {c: math.exp(lnW[c] - m) / Z for c in classes}
            q_p = sum(pred[c] * w["classes"][str(c)]["q"][0]["mean"] for c in classes)
            L += ["", "Predicted shares at β = 1000 (harmonic weight × exp(N I)): " +
                  ", ".join(f"class {c}: {pred[c]:.3f}" for c in classes) +
                  f"; predicted q(β = 1000) = {q_p:.4f}.", ""]
        lam_inf = math.log(sum(math.exp(-p["logdet"]) for p in pts))
        fe_lam = None
        for fe in sorted((r for k, r in runs.items() if k.startswith(_key(N, g, seed, "free_energy"))),
                         key=lambda r: r["steps"]):
            lam, lerr = big_lambda(fe["betas"], fe["energy"], N)
            b = np.array(fe["betas"])
            d0 = b[0] * fe["energy"][0]["mean"] - 0.5
            L += [f"Free energy of the whole measure (tempering, {len(b)} rungs from β = {b[0]:g}"
                  f" to {b[-1]:g}, {fe['steps']} steps after {fe['burn']}, "
                  f"{fe['diagnostics']['round_trips']} round trips, {fe['wall_s']:.0f} s; "
                  f"δ(β₁) = {d0:.4f}): Λ(β) = ln[Z (β/2π)^(N/2)] "
                  f"(Λ(∞) = ln Σ_k 1/|det A_k| = {lam_inf:.3f} from the census):", "",
                  "| β | " + " | ".join(f"{x:g}" for x in (0.01, 0.1, 1, 10, 30, 100, 300, 1000)) + " |",
                  "|---|" + "---|" * 8,
                  "| Λ(β) | " + " | ".join(
                      _fmt(lam[i], lerr[i], 2) for i in
                      (int(np.argmin(np.abs(np.log(b / x)))) for x in (0.01, 0.1, 1, 10, 30, 100, 300, 1000)))
                  + " |", ""]
            L += _share_lines(f"Λ(1000) = {lam[-1]:.2f} ± {lerr[-1]:.2f} of this run", lam[-1],
                              lerr[-1], wruns, pts, classes, N)
            fe_lam = (np.log(b), lam, lerr)
        tkeys = [k for k in runs if k.startswith(_key(N, g, seed, "tempering"))]
        for tkey in sorted(tkeys, key=lambda k: (-runs[k].get("beta_min", tb.NODES[0]), runs[k]["steps"],
                                                  runs[k]["start"])):
            t = runs[tkey]
            dg = t["diagnostics"]
            L += [f"Tempering, ladder β = {t.get('beta_min', tb.NODES[0]):g} … 1000, from x ~ "
                  f"{t['start']:g} N(0, 1): {t['steps']} steps after "
                  f"{t['burn']}, states quenched every {t['snap']} steps, {t['rungs']} rungs, "
                  f"{dg['round_trips']} round trips, lowest exchange acceptance "
                  f"{min(dg['swap_acceptance']):.2f}, {t['wall_s']:.0f} s.", "",
                  "Per class: its share of the quenched states and (in brackets) the mean ± "
                  "standard deviation of q over the states in it; 'switches': changes of label "
                  "between consecutive quenched states, summed over the walker sets.", "",
                  "| β | q sampled | β⟨E⟩/N | " + " | ".join(f"class {c}" for c in classes)
                  + " | other fixed point | E > 0 minimum | switches |",
                  "|---|---|---|" + "---|" * (len(classes) + 3)]
            for b, r in t["points"].items():
                lab, qs = np.array(r["labels"]), np.array(r["q"])
                sh = shares(lab, classes)
                q = estimate(qs)
                e = estimate(float(b) * np.array(r["energy"]))
                cells = [_fmt(*sh[c]) + (f" (q {qs[lab == c].mean():.3f} ± {qs[lab == c].std():.3f})"
                                         if np.any(lab == c) else "") for c in classes]
                cells += [_fmt(*sh[x]) if x in sh else "0" for x in (-1, -2)]
                L.append(f"| {b} | {_fmt(q.mean, q.err, 4)} | {_fmt(e.mean, e.err)} | "
                         + " | ".join(cells) + f" | {int(np.sum(np.diff(lab, axis=0) != 0))} |")
            L.append("")
            if "ladder" in t and fe_lam is not None:
                lb, lv, le = fe_lam
                bm = t["ladder"]["betas"][0]
                lam0 = float(np.interp(math.log(bm), lb, lv))
                err0 = float(np.interp(math.log(bm), lb, le))
                lt, lte = big_lambda(t["ladder"]["betas"], t["ladder"]["energy"], N)
                lam1, err1 = lam0 + lt[-1], math.hypot(err0, lte[-1])
                L += _share_lines(
                    f"Λ(1000) = Λ({bm:g}) of the free-energy run ({lam0:.2f} ± {err0:.2f}) + "
                    f"this run's ladder ({lt[-1]:.2f} ± {lte[-1]:.2f}) = {lam1:.2f} ± {err1:.2f}",
                    lam1, err1, wruns, pts, classes, N)
    return "\n".join(L) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--N", type=int, default=250)
    ap.add_argument("--g", type=float, default=1.2)
    ap.add_argument("--seed", type=int, default=0, help="J seed")
    ap.add_argument("--starts", type=int, default=240, help="census starts")
    ap.add_argument("--steps", type=int, default=100000, help="tempering steps")
    ap.add_argument("--burn", type=int, default=20000)
    ap.add_argument("--snap", type=int, default=200, help="steps between quenched states")
    ap.add_argument("--start", type=float, nargs="+", default=[0.1],
                    help="tempering start scales (one run each)")
    ap.add_argument("--within-steps", type=int, default=40000)
    ap.add_argument("--beta-min", type=float, default=None,
                    help="tempering ladder from beta_min (default: 30 ... 1000, the "
                         "benchmarks/tempering.py ladder); keeps every rung's energy")
    ap.add_argument("--fe-steps", type=int, default=0,
                    help="steps of the free-energy ladder run (0: skip that part)")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args(argv)
    if not a.report:
        if a.N < 2 or a.g <= 0 or a.steps < 1 or a.snap < 1 or a.starts < 1:
            ap.error("need N >= 2, g > 0 and positive steps, snap, starts")
        cmd = "python benchmarks/basins.py " + " ".join(sys.argv[1:] if argv is None else argv)

        def store(r):
            with od.locked(OUT):
                d = _load()
                d["runs"][_key(r["N"], r["g"], r["seed"], r["part"])] = r
                d["meta"] = {"commands": sorted(set(d.get("meta", {}).get("commands", [])) | {cmd})}
                od.save_json(OUT, d)

        ck = _key(a.N, a.g, a.seed, "census")
        if ck not in _load()["runs"]:
            store(census(a.N, a.g, a.seed, a.starts))
        pts = _load()["runs"][ck]["points"]
        if _key(a.N, a.g, a.seed, f"within|{a.within_steps}") not in _load()["runs"]:
            store(within(a.N, a.g, a.seed, a.within_steps, a.within_steps // 4, pts))
        if a.fe_steps and _key(a.N, a.g, a.seed, f"free_energy|{a.fe_steps}") not in _load()["runs"]:
            store(free_energy(a.N, a.g, a.seed, a.fe_steps, a.fe_steps // 5))
        for s in a.start:
            part = f"tempering|{s}" if a.beta_min is None else f"tempering|{s}|b{a.beta_min:g}"
            if _key(a.N, a.g, a.seed, part) not in _load()["runs"]:
                store(tempering(a.N, a.g, a.seed, s, a.steps, a.burn, a.snap, pts, a.beta_min))
    d = _load()
    od.write_keeping_notes(MD, report(d))
    print(f"wrote {MD}")


def _load():
    import json
    if os.path.exists(OUT):
        with open(OUT) as f:
            return json.load(f)
    return {"meta": {}, "runs": {}}


if __name__ == "__main__":
    main()
