"""The original (non-gradient) network dynamics, THEORY.md §1:

    dx/dt = -x + g J phi(x) + I  (+ sigma dW/dt, optional white noise)

* ``integrate``: classical RK4 at fixed step (deterministic), Euler-Maruyama when
  sigma > 0, or scipy's adaptive ``solve_ivp`` (method='DOP853' etc.) as an accuracy
  reference. Several trajectories on the same J run together (x of shape (R, N)).
* ``lyapunov``: maximal Lyapunov exponent (and the first k with k > 1) by the Benettin
  algorithm: tangent dynamics dv/dt = -v + g J (phi'(x) * v) integrated with the same RK4
  stages as x, re-orthonormalised (QR) every ``renorm`` time units. The estimate is the
  mean growth rate over the renormalisation intervals, with an error from their
  autocorrelation (``numerics.stats.estimate``); ``lyapunov_samples`` combines
  independent J samples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .stats import Estimate, combine, estimate

__all__ = ["PHI_NUMPY", "rhs", "rk4_pair", "integrate", "Trajectory", "lyapunov", "LyapunovResult",
           "lyapunov_samples"]


def _erf_phi():
    from scipy.special import erf
    c = math.sqrt(math.pi) / 2.0
    return (lambda x: erf(c * x)), (lambda x: np.exp(-math.pi * x * x / 4.0))


PHI_NUMPY = {
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "linear": (lambda x: x, np.ones_like),
    "erf": _erf_phi(),
}


def _phi(phi):
    if isinstance(phi, str):
        try:
            return PHI_NUMPY[phi]
        except KeyError:
            raise ValueError(f"unknown phi {phi!r}; known: {sorted(PHI_NUMPY)}") from None
    return phi  # a pair (phi, dphi) of vectorised callables


def rhs(X, J, g, f, I):
    """-x + g J phi(x) + I for X of shape (N,) or (R, N)."""
    return -X + g * (f(X) @ J.T) + I


@dataclass(frozen=True)
class Trajectory:
    """Recorded summaries at times t (per trajectory row): delta = (1/N) |x|^2,
    q = (1/N) sum phi(x)^2; X_end the final state; X the recorded states if kept."""

    t: np.ndarray
    delta: np.ndarray
    q: np.ndarray
    X_end: np.ndarray
    X: np.ndarray | None = field(default=None, repr=False)

    def delta0(self, t_min: float = 0.0) -> Estimate:
        """Time-and-population average of x^2 after t_min (rows are independent chains)."""
        return estimate(self.delta[self.t >= t_min])

    def q_mean(self, t_min: float = 0.0) -> Estimate:
        return estimate(self.q[self.t >= t_min])


def rk4_pair(F, x, V, dt):
    """One classical RK4 step of the joint system (dx/dt, dV/dt) = F(x, V): the state and
    its tangent vectors advanced with the same stages (Benettin)."""
    a1, b1 = F(x, V)
    a2, b2 = F(x + 0.5 * dt * a1, V + 0.5 * dt * b1)
    a3, b3 = F(x + 0.5 * dt * a2, V + 0.5 * dt * b2)
    a4, b4 = F(x + dt * a3, V + dt * b3)
    return (x + dt / 6.0 * (a1 + 2 * a2 + 2 * a3 + a4),
            V + dt / 6.0 * (b1 + 2 * b2 + 2 * b3 + b4))


def integrate(J, g, x0, t_max, dt=0.05, phi="tanh", I=None, sigma=0.0, rng=None,
              record_every=1.0, keep_states=False, method="rk4", rtol=1e-10, atol=1e-12):
    """Integrate the dynamics from x0 ((N,) or (R, N)) to t_max.

    method: 'rk4' (fixed step dt; Euler-Maruyama if sigma > 0) or any ``solve_ivp``
    method name (deterministic only). Summaries are recorded every ``record_every``.
    """
    J = np.asarray(J, dtype=float)
    N = J.shape[0]
    f, _ = _phi(phi)
    I = np.zeros(N) if I is None else np.asarray(I, dtype=float)
    X = np.array(x0, dtype=float, copy=True)
    if X.shape[-1] != N:
        raise ValueError("x0 has the wrong length")
    if not (dt > 0 and t_max > 0 and record_every > 0):
        raise ValueError("dt, t_max and record_every must be > 0")
    n_rec = int(round(t_max / record_every))
    every = max(1, int(round(record_every / dt)))
    ts, ds, qs, Xs = [0.0], [np.mean(X * X, axis=-1)], [np.mean(f(X) ** 2, axis=-1)], []
    if keep_states:
        Xs.append(X.copy())
    if method != "rk4":
        if sigma > 0:
            raise ValueError("noise needs method='rk4' (Euler-Maruyama)")
        from scipy.integrate import solve_ivp
        shape = X.shape
        t_eval = np.arange(1, n_rec + 1) * record_every
        sol = solve_ivp(lambda t, y: rhs(y.reshape(shape), J, g, f, I).ravel(), (0, t_max),
                        X.ravel(), method=method, t_eval=t_eval, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(sol.message)
        for k, t in enumerate(sol.t):
            Y = sol.y[:, k].reshape(shape)
            ts.append(t)
            ds.append(np.mean(Y * Y, axis=-1))
            qs.append(np.mean(f(Y) ** 2, axis=-1))
            if keep_states:
                Xs.append(Y.copy())
        X = sol.y[:, -1].reshape(shape)
    else:
        if sigma > 0:
            rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        t = 0.0
        for _ in range(n_rec):
            for _ in range(every):
                if sigma > 0:
                    X = X + dt * rhs(X, J, g, f, I) + sigma * math.sqrt(dt) * rng.standard_normal(X.shape)
                else:
                    k1 = rhs(X, J, g, f, I)
                    k2 = rhs(X + 0.5 * dt * k1, J, g, f, I)
                    k3 = rhs(X + 0.5 * dt * k2, J, g, f, I)
                    k4 = rhs(X + dt * k3, J, g, f, I)
                    X = X + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
                t += dt
            ts.append(t)
            ds.append(np.mean(X * X, axis=-1))
            qs.append(np.mean(f(X) ** 2, axis=-1))
            if keep_states:
                Xs.append(X.copy())
    return Trajectory(np.asarray(ts), np.asarray(ds), np.asarray(qs), X,
                      np.asarray(Xs) if keep_states else None)


@dataclass(frozen=True)
class LyapunovResult:
    """lam[0] is the maximal exponent (Estimate); rates are the per-interval growth rates
    (n_intervals, k)."""

    lam: list
    rates: np.ndarray = field(repr=False)
    t_total: float = 0.0

    @property
    def lmax(self) -> Estimate:
        return self.lam[0]

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Normal-approximation confidence interval of the maximal exponent."""
        from scipy.stats import norm
        z = norm.ppf(0.5 + level / 2)
        return self.lmax.mean - z * self.lmax.err, self.lmax.mean + z * self.lmax.err


def lyapunov(J, g, x0=None, t_transient=100.0, t_total=500.0, dt=0.05, renorm=1.0, k=1,
             phi="tanh", I=None, rng=None) -> LyapunovResult:
    """Benettin estimate of the k largest Lyapunov exponents of the deterministic dynamics."""
    J = np.asarray(J, dtype=float)
    N = J.shape[0]
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    f, df = _phi(phi)
    I = np.zeros(N) if I is None else np.asarray(I, dtype=float)
    x = rng.standard_normal(N) if x0 is None else np.array(x0, dtype=float)
    if t_transient > 0:
        x = integrate(J, g, x, t_transient, dt, phi=phi, I=I, record_every=t_transient).X_end
    V, _ = np.linalg.qr(rng.standard_normal((N, k)))
    V = V.T.copy()                                            # (k, N) tangent vectors
    every = max(1, int(round(renorm / dt)))
    n_int = int(round(t_total / (every * dt)))

    def F(x, V):
        p = f(x)
        d = df(x)
        return -x + g * (J @ p) + I, -V + g * ((V * d) @ J.T)

    rates = np.empty((n_int, k))
    for m in range(n_int):
        for _ in range(every):
            x, V = rk4_pair(F, x, V, dt)
        Qm, Rm = np.linalg.qr(V.T)
        s = np.sign(np.diag(Rm))
        rates[m] = np.log(np.abs(np.diag(Rm))) / (every * dt)
        V = (Qm * s).T.copy()
    lam = [estimate(rates[:, j]) for j in range(k)]
    return LyapunovResult(lam, rates, n_int * every * dt)


def lyapunov_samples(N, g, gamma=0.0, seeds=(0, 1, 2), **kw) -> Estimate:
    """Maximal exponent combined over independent J samples (inverse-variance weights);
    the spread between samples is folded in by using the larger of the combined error and
    the standard error of the sample means."""
    from .couplings import couplings
    ests = []
    for s in seeds:
        J = couplings(N, gamma, rng=np.random.default_rng(s))
        ests.append(lyapunov(J, g, rng=np.random.default_rng(10_000 + s), **kw).lmax)
    c = combine(ests)
    m = np.array([e.mean for e in ests])
    sem = m.std(ddof=1) / math.sqrt(m.size) if m.size > 1 else 0.0
    return Estimate(c.mean, max(c.err, sem), c.tau, c.n)
