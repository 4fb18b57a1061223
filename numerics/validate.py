"""Theory against simulation over a parameter grid, with finite-size extrapolation.

For every parameter point (g, gamma, beta, eta) and every N the Langevin/MALA sampler is run
on independent J samples (seeds); the per-N estimates are combined over seeds and
extrapolated to N -> infinity by a weighted least-squares fit y(N) = y_inf + b / N (linear
in 1/N; with a single N the value at that N is used and flagged). The theory side is any
callable ``theory(point: dict) -> dict`` giving some of q, Q, energy, chi at the point
(``replica_theory`` wraps the project's replica solver when it is installed). The table
(one row per point, N and observable, plus the extrapolated rows with N = inf) is written as
CSV, and a figure (observable against 1/N, theory at 1/N = 0) with matplotlib's Agg
backend.
"""
from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .couplings import couplings
from .langevin import LangevinSampler
from .stats import Estimate, estimate, weighted_lstsq
from .transfer import Transfer, kernels as make_kernels

__all__ = ["validate", "extrapolate", "extrapolated_row", "replica_theory", "linear_exact_theory",
           "ValidationTable"]

OBSERVABLES = ("q", "Q", "energy", "chi")


def extrapolate(Ns, ests) -> tuple[Estimate, float]:
    """Weighted fit y = a + b/N; returns (Estimate of a, chi^2 per degree of freedom).

    With a single N the estimate at that N is returned (chi^2 NaN). With several, every
    error must be finite and > 0 (ValueError otherwise, naming the offending sizes): a zero
    error would give that size infinite weight, so it is refused rather than clamped."""
    Ns = np.asarray(Ns, dtype=float)
    y = np.array([e.mean for e in ests])
    s = np.array([e.err for e in ests], dtype=float)
    if Ns.size > 1 and not np.all(np.isfinite(s) & (s > 0)):
        bad = [int(n) for n, e in zip(Ns, s) if not (math.isfinite(e) and e > 0)]
        raise ValueError(f"extrapolation in 1/N needs finite errors > 0; N = {bad} have none")
    if Ns.size == 1:
        return Estimate(float(y[0]), float(ests[0].err), ests[0].tau, ests[0].n), float("nan")
    coef, cov, chi2 = weighted_lstsq(np.vstack([np.ones_like(Ns), 1.0 / Ns]).T, y, s)
    dof = Ns.size - 2
    chi2 = chi2 / dof if dof > 0 else float("nan")
    err = math.sqrt(cov[0, 0]) * (math.sqrt(chi2) if dof > 0 and chi2 > 1 else 1.0)
    return Estimate(float(coef[0]), err, float(np.mean([e.tau for e in ests])), sum(e.n for e in ests)), chi2


def extrapolated_row(point, observable, Ns, ests, theory=None) -> dict:
    """The N = inf row of one observable at one point: y_inf from the weighted fit
    y(N) = y_inf + b/N through the per-N estimates (``extrapolate``), and
    z = (y_inf - theory) / err (None without a theory value or with a zero error).
    ``validate`` and the merge of further sizes into saved results both build their
    N = inf rows here."""
    ext, chi2 = extrapolate(Ns, ests)
    z = (ext.mean - theory) / ext.err if (theory is not None and ext.err > 0) else None
    return dict(g=point["g"], gamma=point.get("gamma", 0.0), beta=point["beta"],
                eta=point.get("eta", 0.0), N="inf", observable=observable, mean=ext.mean,
                err=ext.err, tau=ext.tau, theory=theory, z=z, chi2_dof=chi2)


@dataclass
class ValidationTable:
    """rows: one dict per (point, N, observable) plus the N = inf rows (``extrapolated``);
    runs: one dict per sampler run (point, N, seed) with its diagnostics: acceptance, adapted
    dt, steps, burn, integrated autocorrelation times tau_q, tau_Q, tau_energy (in steps),
    the run's q and energy with errors, the drift between the two halves of the recorded q and
    energy traces in units of its error (``q_half_drift_sigma``, ...), and wall_s."""

    rows: list
    runs: list = field(default_factory=list)

    def extrapolated(self) -> list:
        return [r for r in self.rows if r["N"] == "inf"]

    def check(self, observables=("q", "energy"), nsigma: float = 3.0) -> int:
        """Assert that every extrapolated (N = inf) row of ``observables`` has a theory value
        within ``nsigma`` error bars (``stats.assert_within``); returns how many were checked."""
        from .stats import assert_within
        checked = 0
        for r in self.extrapolated():
            if r["observable"] in observables:
                if r["theory"] is None:
                    raise AssertionError(f"no theory value for {r['observable']} at {r}")
                assert_within(Estimate(r["mean"], r["err"]), r["theory"], nsigma,
                              what=f"{r['observable']} at g={r['g']}, gamma={r['gamma']}, "
                                   f"beta={r['beta']}, eta={r['eta']}")
                checked += 1
        return checked

    def write_csv(self, path):
        keys = ["g", "gamma", "beta", "eta", "N", "observable", "mean", "err", "tau", "theory",
                "z", "chi2_dof"]
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
            w.writeheader()
            for r in self.rows:
                w.writerow(r)

    def plot(self, path):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        obs = [o for o in OBSERVABLES if any(r["observable"] == o for r in self.rows)]
        pts = sorted({(r["g"], r["gamma"], r["beta"], r["eta"]) for r in self.rows})
        fig, axes = plt.subplots(1, len(obs), figsize=(4 * len(obs), 3.4), squeeze=False)
        for ax, o in zip(axes[0], obs):
            for k, p in enumerate(pts):
                rs = [r for r in self.rows if r["observable"] == o and
                      (r["g"], r["gamma"], r["beta"], r["eta"]) == p]
                fin = sorted([r for r in rs if r["N"] != "inf"], key=lambda r: r["N"])
                ext = [r for r in rs if r["N"] == "inf"]
                c = f"C{k % 10}"
                ax.errorbar([1 / r["N"] for r in fin], [r["mean"] for r in fin],
                            yerr=[r["err"] for r in fin], fmt="o", color=c, ms=4,
                            label=f"g={p[0]}, γ={p[1]}, β={p[2]}")
                if ext:
                    e = ext[0]
                    ax.errorbar([0], [e["mean"]], yerr=[e["err"]], fmt="s", color=c, mfc="none")
                    if fin:
                        x = np.array([0, 1 / fin[0]["N"]])
                        b = (fin[0]["mean"] - e["mean"]) * fin[0]["N"] if len(fin) == 1 else None
                        if b is None:
                            Ns = np.array([r["N"] for r in fin], float)
                            ys = np.array([r["mean"] for r in fin])
                            b = np.polyfit(1 / Ns, ys - e["mean"], 1)[0] if Ns.size > 1 else 0.0
                        ax.plot(x, e["mean"] + b * x, "-", color=c, lw=0.8)
                    if e.get("theory") is not None and np.isfinite(e["theory"]):
                        ax.plot([0], [e["theory"]], "*", color=c, ms=11, mec="k")
            ax.set(xlabel="1/N", title=o)
        axes[0][0].legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)


def validate(points, Ns=(250, 500, 1000, 2000, 4000), theory: Callable | None = None,
             phi="tanh", seeds=(0,), steps=4000, burn=None, replicas=2, thin=10,
             method="mala", dt=0.05, nsigma=4.0, progress=False, csv_path=None, plot_path=None,
             backend="cpu", independent=False) -> ValidationTable:
    """Run the sampler at every point (dicts with g, gamma, beta and optional eta) and N,
    extrapolate in 1/N, compare with ``theory`` (z = (sim - theory)/err at N = inf).

    J sample s at size N is ``couplings(N, gamma, default_rng(1000 s + 17 + o))`` and the
    sampler's noise ``default_rng(1000 s + 29 + o)``, with o = 0 (the same networks and noise
    at every point: differences between points are then measured with common random numbers,
    but the points' comparisons are not independent) or, with ``independent=True``,
    o = 100003 i for the i-th point (fresh networks and noise at every point).
    ``progress`` shows one bar over the (point, N, seed) runs."""
    from tqdm.auto import tqdm

    k = phi if isinstance(phi, Transfer) else make_kernels(phi)
    rows, runs = [], []
    bar = tqdm(total=len(points) * len(Ns) * len(seeds), disable=not progress, desc="validate",
               unit="run")
    for i, p in enumerate(points):
        g, gamma, beta, eta = p["g"], p.get("gamma", 0.0), p["beta"], p.get("eta", 0.0)
        off = 100_003 * i if independent else 0
        per_n = {o: [] for o in OBSERVABLES}
        for N in Ns:
            by_seed = {o: [] for o in OBSERVABLES}
            for s in seeds:
                t0 = time.perf_counter()
                J = couplings(N, gamma, rng=np.random.default_rng(1000 * s + 17 + off))
                smp = LangevinSampler(J, k, g, beta, eta=eta, replicas=replicas, method=method,
                                      dt=dt, rng=np.random.default_rng(1000 * s + 29 + off),
                                      backend=backend)
                r = smp.run(steps, burn=burn, thin=thin, progress=False, keep_series=True)
                for o in OBSERVABLES:
                    by_seed[o].append(getattr(r, o))
                runs.append(_diagnostics(r, dict(g=g, gamma=gamma, beta=beta, eta=eta, N=N, seed=s),
                                         steps, steps // 4 if burn is None else burn,
                                         time.perf_counter() - t0))
                bar.update()
            for o in OBSERVABLES:
                est = _combine_seeds(by_seed[o])
                per_n[o].append(est)
                rows.append(dict(g=g, gamma=gamma, beta=beta, eta=eta, N=N, observable=o,
                                 mean=est.mean, err=est.err, tau=est.tau, theory=None, z=None,
                                 chi2_dof=None))
        th = theory(dict(g=g, gamma=gamma, beta=beta, eta=eta)) if theory else {}
        for o in OBSERVABLES:
            rows.append(extrapolated_row(dict(g=g, gamma=gamma, beta=beta, eta=eta), o, Ns,
                                         per_n[o], th.get(o)))
    bar.close()
    table = ValidationTable(rows, runs)
    if csv_path:
        table.write_csv(csv_path)
    if plot_path:
        table.plot(plot_path)
    return table


def _diagnostics(r, point, steps, burn, wall_s) -> dict:
    """One run's record for ``ValidationTable.runs`` (r: a LangevinResult with its series)."""
    d = dict(point, acceptance=float(r.acceptance), dt=float(r.dt), steps=int(steps),
             burn=int(burn), tau_q=float(r.q.tau), tau_Q=float(r.Q.tau),
             tau_energy=float(r.energy.tau), q=float(r.q.mean), q_err=float(r.q.err),
             energy=float(r.energy.mean), energy_err=float(r.energy.err), wall_s=float(wall_s))
    for o, key in (("q", "q"), ("energy", "e")):
        x = r.series[key]
        h = x.size // 2
        a, b = estimate(x[:h]), estimate(x[h:])
        d[f"{o}_half_drift_sigma"] = float((b.mean - a.mean) / max(math.hypot(a.err, b.err), 1e-300))
    return d


def _combine_seeds(ests):
    """Mean over J samples: plain average; error from the sampling errors and, with two or
    more samples, at least the standard error of the sample means (sample-to-sample
    fluctuations; with two samples that is |m1 - m2| / 2, an estimate with one degree of
    freedom). With one sample the network-to-network spread is not in the error."""
    m = np.array([e.mean for e in ests])
    e = math.sqrt(sum(x.err ** 2 for x in ests)) / len(ests)
    if len(ests) >= 2:
        e = max(e, float(m.std(ddof=1) / math.sqrt(len(ests))))
    return Estimate(float(m.mean()), e, float(np.mean([x.tau for x in ests])), sum(x.n for x in ests))


def replica_theory(phi="tanh", **solve_kw) -> Callable:
    """The replica-symmetric solution at finite beta from the project's solver
    (``numerics.continuation.solve``); raises ImportError when it is not installed."""
    import numerics.saddle  # noqa: F401  (the solver layer)
    from numerics.continuation import solve
    from theory.model import Point, make_model

    model = make_model(phi)

    def theory(p):
        r = solve(model, Point(g=p["g"], gamma=p["gamma"], beta=p["beta"], eta=p["eta"]),
                  kind="finite", **solve_kw)
        if not r.success:
            raise RuntimeError(f"replica solver failed at {p}: {r.message}")
        out = {k: float(r.x[k]) for k in ("q", "Q") if k in r.x}
        if math.isfinite(r.energy):
            out["energy"] = float(r.energy)
        if math.isfinite(r.chi):
            out["chi"] = float(r.chi)
        return out

    return theory


def linear_exact_theory(N_ref=3000, seeds=(0,)) -> Callable:
    """Linear phi, I = 0: exact per-site values of a reference size N_ref (averaged over J
    samples): q = (1/(beta N)) Tr M^-1, Q = 0, chi = (1/N) Tr M^-1, energy = 1/(2 beta),
    M = A^T A + 2 eta, A = I - g J. Self-averaging makes it a large-N reference."""
    def theory(p):
        tr = []
        for s in seeds:
            J = couplings(N_ref, p["gamma"], rng=np.random.default_rng(50_000 + s))
            A = np.eye(N_ref) - p["g"] * J
            M = A.T @ A + 2 * p["eta"] * np.eye(N_ref)
            tr.append(np.trace(np.linalg.inv(M)) / N_ref)
        t = float(np.mean(tr))
        return {"q": t / p["beta"], "Q": 0.0, "chi": t, "energy": 1 / (2 * p["beta"])}
    return theory
