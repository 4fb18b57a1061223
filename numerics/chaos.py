"""Where the maximal Lyapunov exponent of the network changes sign (THEORY.md §1, §3).

Dynamics and tangent dynamics (Benettin), for one coupling matrix J and several gains g
run together as rows of one batch (each RK4 stage is one product with J for all rows):

    dx/dt = -x + g J phi(x),            dv/dt = -v + g J (phi'(x) * v),

    lambda_max(g) = lim_{T -> inf} (1/T) ln |v(T)| / |v(0)|.

v is renormalised every ``renorm`` time units; the per-interval rates
r_m = ln(|v(t_m + renorm)| / |v(t_m)|) / renorm form a correlated series whose mean and
error come from ``numerics.stats.estimate`` (autocorrelation time and blocking). This is
``numerics.dynamics.lyapunov`` with k = 1, batched over g.

Candidate lines for the sign change of lambda_max(g) at N -> infinity:

* g (1 + gamma) = 1: the zero fixed point loses stability (edge of the elliptic law;
  the paper's edge of chaos);
* g sqrt(1 + gamma) = 1: where the zero-temperature replica order parameter q leaves zero
  (README, "Onset of q").

For linear phi the exponent is exact: lambda_max = -1 + g max Re eig(J).

Entry points:

* ``lyapunov_batch(J, gs, ...)``: exponents of all gains for one J;
* ``lyapunov_scan(N, gs, gamma, seeds, ...)``: over J samples -> ``LyapunovScan``
  (per-sample estimates and the disorder average lambda(g) with errors);
* ``zero_crossing(gs, lam, err)``: g* where lambda crosses 0 with a confidence interval
  (weighted linear fit of the points bracketing the sign change, Fieller interval);
* ``extrapolate(Ns, gstar, err)``: weighted fit g*(N) = g_inf + c N^(-p).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .dynamics import rk4_pair
from .stats import Estimate, estimate, weighted_lstsq

__all__ = ["BatchResult", "lyapunov_batch", "LyapunovScan", "lyapunov_scan",
           "ZeroCrossing", "zero_crossing", "Extrapolation", "extrapolate",
           "disorder_mean"]


def _phi_pair(phi):
    from .dynamics import _phi
    return _phi(phi)


@dataclass(frozen=True)
class BatchResult:
    """Exponents for one J: ``lam[i]`` the Estimate at ``gs[i]``; ``rates`` (n_intervals,
    n_g) the per-interval growth rates; ``first``/``second`` the means of the first and
    second halves of the rates (a drift between them flags an unfinished transient);
    ``q_end`` = (1/N) sum phi(x)^2 and ``speed_end`` = (1/N) |dx/dt|^2 at the end
    (speed ~ 0: the orbit sits on a fixed point); ``x2`` (n_intervals, n_g): (1/N) sum_i
    x_i^2 at the end of every recorded interval (its time average is the simulation's
    Delta0 = <x_i(t)^2> of the dynamic mean field)."""

    gs: np.ndarray
    lam: list
    rates: np.ndarray = field(repr=False)
    first: np.ndarray
    second: np.ndarray
    q_end: np.ndarray
    speed_end: np.ndarray
    t_total: float
    x2: np.ndarray = None


def lyapunov_batch(J, gs, x0=None, v0=None, t_transient=200.0, t_total=500.0, dt=0.1,
                   renorm=1.0, phi="tanh", rng=None, progress=False, t_align=0.0) -> BatchResult:
    """Maximal Lyapunov exponent of dx/dt = -x + g J phi(x) for every g in ``gs``.

    Every g starts from the same x0 and v0 (drawn from ``rng`` when not given: x0 first,
    then v0, both N(0, 1)); x0 and v0 of shape (len(gs), N) give every row its own start
    (e.g. several initial states of one network at one g: ``gs = [g] * k``). Classical
    RK4 with step ``dt`` for x and v together; the transient ``t_transient`` integrates x
    only; then, for ``t_align``, x and v are integrated and v renormalised without
    recording rates (lets v turn towards the leading direction when that is slow, e.g.
    linear phi with a small spectral gap).
    Returns a ``BatchResult``.
    """
    J = np.asarray(J, dtype=float)
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"J must be a square matrix, got shape {J.shape}")
    N = J.shape[0]
    gs = np.atleast_1d(np.asarray(gs, dtype=float))
    if gs.ndim != 1 or gs.size == 0 or not np.all(np.isfinite(gs)) or np.any(gs < 0):
        raise ValueError(f"gs must be a non-empty 1-d array of finite gains >= 0, got {gs!r}")
    if not (dt > 0 and renorm >= dt and t_total >= renorm and t_transient >= 0
            and t_align >= 0):
        raise ValueError("need dt > 0, renorm >= dt, t_total >= renorm, "
                         "t_transient >= 0, t_align >= 0")
    f, df = _phi_pair(phi)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    x0 = rng.standard_normal(N) if x0 is None else np.asarray(x0, dtype=float)
    v0 = rng.standard_normal(N) if v0 is None else np.asarray(v0, dtype=float)
    B = gs.size
    for name, a in (("x0", x0), ("v0", v0)):
        if a.shape not in ((N,), (B, N)) or not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite with shape (N,) or (len(gs), N) = "
                             f"({B}, {N}), got {a.shape}")
    G = gs[:, None]
    JT = np.ascontiguousarray(J.T)
    X = np.broadcast_to(x0, (B, N)).copy()
    V = np.broadcast_to(v0, (B, N)).copy()
    V /= np.linalg.norm(V, axis=1)[:, None]

    def fx(X):
        return -X + G * (f(X) @ JT)

    def fxv(X, V):
        W = np.concatenate([f(X), df(X) * V]) @ JT       # one product for x and v
        return -X + G * W[:B], -V + G * W[B:]

    n_tr = int(round(t_transient / dt))
    every = max(1, int(round(renorm / dt)))
    n_int = int(round(t_total / (every * dt)))
    n_al = int(round(t_align / (every * dt)))
    from tqdm.auto import tqdm
    bar = tqdm(total=n_tr + (n_al + n_int) * every, disable=not progress, desc=f"lyapunov N={N}",
               unit="step", leave=False, mininterval=5.0)
    for _ in range(n_tr):
        k1 = fx(X)
        k2 = fx(X + 0.5 * dt * k1)
        k3 = fx(X + 0.5 * dt * k2)
        k4 = fx(X + dt * k3)
        X = X + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        bar.update()
    rates = np.empty((n_al + n_int, B))
    x2 = np.empty((n_int, B))
    for m in range(n_al + n_int):
        for _ in range(every):
            X, V = rk4_pair(fxv, X, V, dt)
        nv = np.linalg.norm(V, axis=1)
        rates[m] = np.log(nv) / (every * dt)
        if m >= n_al:
            x2[m - n_al] = np.mean(X * X, axis=1)
        V = V / nv[:, None]
        bar.update(every)
    bar.close()
    rates = rates[n_al:]
    if not np.all(np.isfinite(rates)):
        raise FloatingPointError("non-finite growth rate (overflow of x or v?)")
    h = n_int // 2
    lam = [estimate(rates[:, i]) for i in range(B)]
    return BatchResult(gs, lam, rates, rates[:h].mean(axis=0), rates[h:].mean(axis=0),
                       np.mean(f(X) ** 2, axis=1), np.mean(fx(X) ** 2, axis=1),
                       n_int * every * dt, x2)


def disorder_mean(ests) -> Estimate:
    """Average of independent per-sample estimates with equal weights (each J sample is
    one draw of the disorder; inverse-variance weights would let samples sitting on a
    fixed point, whose rates barely fluctuate, dominate). Error: the larger of the
    propagated time-average errors sqrt(sum err^2)/n and the standard error of the
    sample means (the sample-to-sample spread)."""
    m = np.array([e.mean for e in ests], dtype=float)
    e = np.array([e.err for e in ests], dtype=float)
    n = m.size
    prop = float(np.sqrt(np.sum(e ** 2)) / n)
    sem = float(m.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    return Estimate(float(m.mean()), max(prop, sem), float(np.mean([x.tau for x in ests])),
                    int(sum(x.n for x in ests)))


@dataclass(frozen=True)
class LyapunovScan:
    """lambda_max(g) at one (N, gamma) over J samples ``seeds``.

    ``lam``, ``err`` (n_seeds, n_g): per-sample exponents and their time-average errors;
    ``first``, ``second``: half-run means (transient check); ``q_end``, ``speed_end``:
    end-state summaries; ``mu`` (n_seeds,): max Re eig(J) of each sample (NaN when not
    computed), so 1/mu is the sample's own g(1+gamma)-type instability point.
    ``mean``/``mean_err`` (n_g): disorder average (``disorder_mean``)."""

    N: int
    gamma: float
    gs: np.ndarray
    seeds: tuple
    lam: np.ndarray
    err: np.ndarray
    first: np.ndarray
    second: np.ndarray
    q_end: np.ndarray
    speed_end: np.ndarray
    mu: np.ndarray
    params: dict

    @property
    def combined(self) -> list:
        return [disorder_mean([Estimate(self.lam[s, i], self.err[s, i])
                               for s in range(len(self.seeds))]) for i in range(self.gs.size)]

    @property
    def mean(self) -> np.ndarray:
        return np.array([c.mean for c in self.combined])

    @property
    def mean_err(self) -> np.ndarray:
        return np.array([c.err for c in self.combined])

    def crossing(self, level: float = 0.95, which: str = "last") -> "ZeroCrossing":
        return zero_crossing(self.gs, self.mean, self.mean_err, level=level, which=which)

    def to_dict(self) -> dict:
        return {"N": self.N, "gamma": self.gamma, "gs": self.gs.tolist(),
                "seeds": list(self.seeds), "lam": self.lam.tolist(), "err": self.err.tolist(),
                "first": self.first.tolist(), "second": self.second.tolist(),
                "q_end": self.q_end.tolist(), "speed_end": self.speed_end.tolist(),
                "mu": self.mu.tolist(), "mean": self.mean.tolist(),
                "mean_err": self.mean_err.tolist(), "params": dict(self.params)}

    @classmethod
    def from_dict(cls, d: dict) -> "LyapunovScan":
        a = np.asarray
        return cls(int(d["N"]), float(d["gamma"]), a(d["gs"], float), tuple(d["seeds"]),
                   a(d["lam"], float), a(d["err"], float), a(d["first"], float),
                   a(d["second"], float), a(d["q_end"], float), a(d["speed_end"], float),
                   a(d["mu"], float), dict(d["params"]))


def lyapunov_scan(N, gs, gamma, seeds=(0, 1, 2), t_transient=200.0, t_total=500.0, dt=0.1,
                  renorm=1.0, phi="tanh", spectrum=False, progress=True,
                  t_align=0.0, init_seed: int = 0) -> LyapunovScan:
    """lambda_max(g) for ``gs`` at size N and symmetry gamma over J samples ``seeds``.

    Sample s draws J from ``numerics.couplings.couplings(N, gamma,
    rng=default_rng(s))`` and x0, v0 from ``default_rng(10_000 + s + 100_000 init_seed)``
    (other ``init_seed``: other initial states on the same networks).
    ``spectrum=True`` also computes mu_s = max Re eig(J_s) (O(N^3)).
    """
    from tqdm.auto import tqdm

    from .couplings import couplings
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("need at least one seed")
    gs = np.asarray(gs, dtype=float)
    rows = []
    mu = np.full(len(seeds), np.nan)
    for k, s in enumerate(tqdm(seeds, disable=not progress, desc=f"N={N} gamma={gamma}")):
        J = couplings(N, gamma, rng=np.random.default_rng(s))
        rows.append(lyapunov_batch(J, gs, t_transient=t_transient, t_total=t_total, dt=dt,
                                   renorm=renorm, phi=phi,
                                   rng=np.random.default_rng(10_000 + s + 100_000 * int(init_seed)),
                                   progress=progress, t_align=t_align))
        if spectrum:
            mu[k] = float(np.max(np.linalg.eigvals(J).real))
    st = lambda attr: np.array([getattr(r, attr) for r in rows])  # noqa: E731
    return LyapunovScan(int(N), float(gamma), gs, seeds,
                        np.array([[e.mean for e in r.lam] for r in rows]),
                        np.array([[e.err for e in r.lam] for r in rows]),
                        st("first"), st("second"), st("q_end"), st("speed_end"), mu,
                        {"t_transient": t_transient, "t_total": t_total, "dt": dt,
                         "renorm": renorm, "t_align": t_align, "init_seed": int(init_seed),
                         "phi": phi if isinstance(phi, str) else "custom"})


@dataclass(frozen=True)
class ZeroCrossing:
    """g* where a weighted straight line through the bracketing points crosses zero.

    ``lo``, ``hi``: Fieller confidence interval at ``level`` (the gains where the fitted
    line is compatible with 0), statistical only; ``err``: delta-method standard error;
    ``bracket``: the two grid points around the sign change; ``n_sign_changes`` > 1
    means lambda crosses zero more than once in the range (``which`` says which is used).
    ``chi2`` with ``dof`` = (number of fitted points) - 2 measures how well a straight line
    describes those points (dof = 0: exact, no check); ``inside``: whether g* lies within
    ``bracket`` (False when a noisy point makes the sign change but the line through its
    neighbours crosses elsewhere)."""

    g: float
    err: float
    lo: float
    hi: float
    level: float
    slope: float
    slope_err: float
    bracket: tuple
    n_sign_changes: int
    chi2: float = 0.0
    dof: int = 0

    @property
    def inside(self) -> bool:
        return self.bracket[0] <= self.g <= self.bracket[1]

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else float(v) if isinstance(v, float) else v)
                for k, v in self.__dict__.items()}


def zero_crossing(gs, lam, err, level=0.95, n_side=1, which="first") -> ZeroCrossing:
    """Estimate g* with lambda(g*) = 0 from values ``lam`` ± ``err`` on the grid ``gs``.

    The sign change (lam[i] and lam[i+1] of opposite signs) is located, the lowest one
    (``which='first'``) or the highest (``which='last'``: the onset of positive lambda
    when lambda lingers near 0, e.g. on limit cycles, before turning positive); a
    weighted least-squares line lam = a + b (g - g_c) is fitted to the ``n_side`` points
    on each side (g_c their mean); g* = g_c - a/b, chi2 = sum w (lam - a - b (g - g_c))^2.
    The interval is Fieller's: the set of
    g with (a + b (g - g_c))^2 <= z^2 Var(a + b (g - g_c)); it is bounded only when the
    slope is significant (b^2 > z^2 Var b), otherwise ValueError.
    Raises ValueError when lam does not change sign in the range.
    """
    from scipy.stats import norm
    gs = np.asarray(gs, dtype=float)
    lam = np.asarray(lam, dtype=float)
    err = np.asarray(err, dtype=float)
    if gs.ndim != 1 or gs.shape != lam.shape or gs.shape != err.shape or gs.size < 2:
        raise ValueError("gs, lam and err must be 1-d arrays of equal length >= 2")
    if not (np.all(np.isfinite(gs)) and np.all(np.isfinite(lam)) and np.all(np.isfinite(err))):
        raise ValueError("gs, lam and err must be finite")
    if np.any(err <= 0):
        raise ValueError("errors must be > 0")
    if np.any(np.diff(gs) <= 0):
        raise ValueError("gs must be strictly increasing")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if which not in ("first", "last"):
        raise ValueError(f"which must be 'first' or 'last', got {which!r}")
    s = np.sign(lam)
    changes = np.nonzero(s[:-1] * s[1:] < 0)[0]
    if changes.size == 0:
        raise ValueError(
            f"lambda does not change sign in g = [{gs[0]:g}, {gs[-1]:g}] "
            f"(lambda from {lam.min():.3g} to {lam.max():.3g}); widen the range")
    i = int(changes[0] if which == "first" else changes[-1])
    sel = np.arange(max(0, i + 1 - n_side), min(gs.size, i + 1 + n_side))
    x, y, w = gs[sel], lam[sel], 1.0 / err[sel] ** 2
    gc = float(np.sum(w * x) / np.sum(w))
    (a, b), cov, chi2 = weighted_lstsq(np.column_stack([np.ones_like(x), x - gc]), y, err[sel])
    Vaa, Vab, Vbb = cov[0, 0], cov[0, 1], cov[1, 1]
    z = float(norm.ppf(0.5 + level / 2))
    t = -a / b
    err_t = math.sqrt(max(Vaa + 2 * t * Vab + t * t * Vbb, 0.0)) / abs(b)
    # Fieller: (b^2 - z^2 Vbb) t^2 + 2 (a b - z^2 Vab) t + (a^2 - z^2 Vaa) <= 0
    A = b * b - z * z * Vbb
    Bq = a * b - z * z * Vab
    C = a * a - z * z * Vaa
    disc = Bq * Bq - A * C
    if A <= 0 or disc < 0:
        raise ValueError(f"slope {b:.3g} ± {math.sqrt(Vbb):.2g} is not significant at level "
                         f"{level}: the crossing near g = {gc + t:.4g} has no bounded interval")
    r = math.sqrt(disc)
    lo, hi = sorted(((-Bq - r) / A, (-Bq + r) / A))
    return ZeroCrossing(float(gc + t), float(err_t), float(gc + lo), float(gc + hi), level,
                        float(b), float(math.sqrt(Vbb)), (float(gs[i]), float(gs[i + 1])),
                        int(changes.size), chi2, int(x.size - 2))


@dataclass(frozen=True)
class Extrapolation:
    """Weighted fit y(N) = y_inf + c N^(-power): ``y_inf`` ± ``err`` and ``c`` ± ``c_err``;
    ``chi2`` with ``dof`` degrees of freedom (dof = 0: the fit is exact, no check)."""

    y_inf: float
    err: float
    c: float
    c_err: float
    power: float
    chi2: float
    dof: int

    def as_dict(self) -> dict:
        return {k: float(v) for k, v in self.__dict__.items()}


def extrapolate(Ns, y, err, power=1.0) -> Extrapolation:
    """Extrapolate g*(N) (or any y(N)) to N -> infinity assuming y = y_inf + c N^(-power),
    weighted least squares with weights 1/err^2; errors from the covariance."""
    Ns = np.asarray(Ns, dtype=float)
    y = np.asarray(y, dtype=float)
    err = np.asarray(err, dtype=float)
    if Ns.ndim != 1 or Ns.shape != y.shape or Ns.shape != err.shape:
        raise ValueError("Ns, y and err must be 1-d arrays of equal length")
    if np.unique(Ns).size < 2:
        raise ValueError("need at least two distinct N to extrapolate")
    if np.any(err <= 0) or not np.all(np.isfinite(np.concatenate([Ns, y, err]))):
        raise ValueError("values must be finite and errors > 0")
    if power <= 0:
        raise ValueError("power must be > 0")
    p, cov, chi2 = weighted_lstsq(np.column_stack([np.ones_like(Ns), Ns ** (-power)]), y, err)
    return Extrapolation(float(p[0]), float(math.sqrt(cov[0, 0])), float(p[1]),
                         float(math.sqrt(cov[1, 1])), float(power), chi2, int(Ns.size - 2))
