"""Langevin sampler of the quasi-potential measure P(x) ∝ exp(-beta E(x)) (THEORY.md §1).

    E(x) = 1/2 |x - g J phi(x) - I|^2 + sum_i U(x_i) - sum_i h_i phi(x_i)
    grad_i E = res_i - g phi'(x_i) (J^T res)_i + U'(x_i) - h_i phi'(x_i),
    res = x - g J phi(x) - I.

h is a probe field used only for the response measurement (h = 0 otherwise). Rows of
X (shape (R, N)) are independent chains on the same J; all rows are advanced together,
res = X - g phi(X) J^T - I and the gradient's (J^T res) = res J, i.e. two BLAS-3 products
per step. Each row may carry its own g, beta and step dt (several control points share
one J in one batch).

Steps (dt per row, xi standard normal):
  * 'em'   Euler-Maruyama  y = x - dt grad E(x) + sqrt(2 dt / beta) xi, always accepted
           (stationary law exact only as dt -> 0);
  * 'mala' the same proposal with the Metropolis-Hastings test (Roberts & Tweedie 1996):
           exact at any dt. dt is adapted towards a target acceptance during burn-in
           only and frozen afterwards, so the recorded chain is a proper Markov chain.

Randomness: every random number (initial conditions, Gaussian increments, Metropolis
uniforms, probe-field signs) is drawn from one ``numpy.random.Generator`` in Python and
passed to the compiled kernels; numba's internal generator is never used, so a seed fixes
the run exactly, independent of threading.

Observables (``run``), for each control point with replicas a = 1..R:
  q   = (1/N) sum_i phi(x_i^a)^2 averaged over replicas,
  Q   = (1/N) sum_i phi(x_i^a) phi(x_i^b) averaged over pairs a < b,
  energy = E(x^a)/N averaged over replicas,
  chi = beta (q - Q), the fluctuation (1/N) sum_i beta Var(phi_i) = (1/N) Tr d<phi>/dh,
  m   = (1/N) sum_i phi_i.
With ``response=eps`` each replica gets a partner driven by the same noise in the field
h = eps s (s_i = ±1 random signs); measured:
  chi_resp  = (1/(N eps)) sum_i s_i (<phi_i>_h - <phi_i>_0)       (response),
  chi_fluct_s = (beta/N) Var(s . phi)                             (fluctuation),
which are equal at any finite N up to O(eps) (fluctuation-dissipation for the field that
couples to phi); averaged over s both equal chi. Every mean is an ``Estimate`` whose error
accounts for autocorrelation (``numerics.stats``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .stats import Estimate, estimate

__all__ = ["LangevinSampler", "LangevinState", "LangevinResult", "langevin"]


# ----------------------------------------------------------------------------- kernels

@njit(cache=False)
def _evaluate(J, X, g, I, H, eta, phi, dphi, U, dU, P, DP, res, grad, E):
    """Fill P = phi(X), DP = phi'(X), res, grad and E (per row) for X of shape (R, N)."""
    R, N = X.shape
    for a in range(R):
        for i in range(N):
            P[a, i] = phi(X[a, i])
            DP[a, i] = dphi(X[a, i])
    S = np.dot(P, J.T)                       # S[a, i] = sum_j J_ij phi_j^a
    for a in range(R):
        e = 0.0
        ga = g[a]
        for i in range(N):
            r = X[a, i] - ga * S[a, i] - I[i]
            res[a, i] = r
            e += 0.5 * r * r + U(X[a, i], eta) - H[a, i] * P[a, i]
        E[a] = e
    T = np.dot(res, J)                       # T[a, j] = sum_i res_i^a J_ij = (J^T res)_j
    for a in range(R):
        ga = g[a]
        for i in range(N):
            grad[a, i] = res[a, i] - DP[a, i] * (ga * T[a, i] + H[a, i]) + dU(X[a, i], eta)


@njit(cache=False)
def _steps(J, X, grad, E, g, beta, dt, I, H, eta, phi, dphi, U, dU,
           noise, src, logu, mala, acc):
    """Advance all rows by noise.shape[0] steps. noise: (S, Rsrc, N) standard normals,
    row a uses noise[:, src[a]] and logu[:, src[a]] (partners share their source's noise).
    acc[a] is incremented for every accepted move."""
    R, N = X.shape
    Y = np.empty_like(X)
    P = np.empty_like(X)
    DP = np.empty_like(X)
    res = np.empty_like(X)
    gY = np.empty_like(X)
    EY = np.empty(R)
    for s in range(noise.shape[0]):
        for a in range(R):
            c = math.sqrt(2.0 * dt[a] / beta[a])
            k = src[a]
            for i in range(N):
                Y[a, i] = X[a, i] - dt[a] * grad[a, i] + c * noise[s, k, i]
        _evaluate(J, Y, g, I, H, eta, phi, dphi, U, dU, P, DP, res, gY, EY)
        for a in range(R):
            ok = True
            if mala:
                k = src[a]
                # log q(y|x) = -|xi|^2 / 2; log q(x|y) = -beta/(4 dt) |x - y + dt grad E(y)|^2
                lf = 0.0
                lb = 0.0
                for i in range(N):
                    z = noise[s, k, i]
                    lf += z * z
                    d = X[a, i] - Y[a, i] + dt[a] * gY[a, i]
                    lb += d * d
                logA = -beta[a] * (EY[a] - E[a]) - beta[a] / (4.0 * dt[a]) * lb + 0.5 * lf
                ok = logu[s, k] < logA
            if ok:
                acc[a] += 1
                E[a] = EY[a]
                for i in range(N):
                    X[a, i] = Y[a, i]
                    grad[a, i] = gY[a, i]


@njit(cache=False)
def _map(fn, X):
    out = np.empty_like(X)
    R, N = X.shape
    for a in range(R):
        for i in range(N):
            out[a, i] = fn(X[a, i])
    return out


# ----------------------------------------------------------------------------- types

@dataclass(frozen=True)
class LangevinState:
    """One recorded state. X is the live array of the sampler (copy it to keep it);
    energy = E/N per row; acceptance = accepted fraction per row since the last state;
    burn = True while dt is still being adapted."""

    step: int
    X: np.ndarray
    energy: np.ndarray
    acceptance: np.ndarray
    dt: np.ndarray
    burn: bool


@dataclass(frozen=True)
class LangevinResult:
    """Observables of one control point (definitions in the module docstring)."""

    g: float
    beta: float
    N: int
    replicas: int
    q: Estimate
    Q: Estimate
    energy: Estimate
    chi: Estimate
    m: Estimate
    acceptance: float
    dt: float
    steps: int
    chi_resp: Estimate | None = None
    chi_fluct_s: Estimate | None = None
    series: dict = field(default_factory=dict, repr=False)

    @property
    def tau(self) -> float:
        """Largest integrated autocorrelation time among q, Q, energy (in steps)."""
        return max(self.q.tau, self.Q.tau, self.energy.tau)

    def as_dict(self) -> dict:
        d = {"g": self.g, "beta": self.beta, "N": self.N, "replicas": self.replicas,
             "q": self.q.as_dict(), "Q": self.Q.as_dict(), "energy": self.energy.as_dict(),
             "chi": self.chi.as_dict(), "m": self.m.as_dict(), "tau": self.tau,
             "acceptance": self.acceptance, "dt": self.dt, "steps": self.steps}
        if self.chi_resp is not None:
            d["chi_resp"] = self.chi_resp.as_dict()
            d["chi_fluct_s"] = self.chi_fluct_s.as_dict()
        return d


# ----------------------------------------------------------------------------- sampler

class LangevinSampler:
    """Replicated Langevin / MALA chains of exp(-beta E) on one coupling matrix J.

    Parameters
    ----------
    J : (N, N) couplings (``numerics.couplings.couplings``).
    kernels : ``numerics.transfer.Transfer`` (phi, dphi, U, dU njit functions).
    g, beta : scalars or 1-d arrays of equal length G (control points sharing J).
    eta : parameter of U(x, eta).
    I : quenched input, (N,) or None.
    replicas : chains per control point (>= 2 to measure Q).
    response : probe-field strength eps > 0 adds one field-driven partner per replica.
    method : 'mala' (exact) or 'em' (Euler-Maruyama).
    dt : initial step; target_accept : MALA acceptance aimed at during burn-in.
    rng : numpy Generator or int seed.
    X0 : initial rows (G * replicas, N), or a scale s for X0 = s * N(0, 1).
    backend : 'cpu' (numba + BLAS) or 'cupy' (GPU, builtin phi names only), 'auto'.
    """

    def __init__(self, J, kernels, g, beta, eta=0.0, I=None, replicas=2, response=None,
                 method="mala", dt=0.02, target_accept=0.574, rng=None, X0=1.0,
                 backend="cpu"):
        J = np.ascontiguousarray(J, dtype=np.float64)
        if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] < 2:
            raise ValueError("J must be a square matrix with N >= 2")
        self.N = N = J.shape[0]
        g = np.atleast_1d(np.asarray(g, dtype=float))
        beta = np.atleast_1d(np.asarray(beta, dtype=float))
        g, beta = np.broadcast_arrays(g, beta)
        if g.ndim != 1:
            raise ValueError("g and beta must be scalars or 1-d arrays")
        if not (np.all(np.isfinite(g)) and np.all(g >= 0)):
            raise ValueError(f"g must be finite and >= 0, got {g}")
        if not (np.all(np.isfinite(beta)) and np.all(beta > 0)):
            raise ValueError(f"beta must be finite and > 0, got {beta}")
        if not math.isfinite(eta) or eta < 0:
            raise ValueError(f"eta must be finite and >= 0, got {eta}")
        if int(replicas) != replicas or replicas < 1:
            raise ValueError("replicas must be a positive integer")
        if method not in ("mala", "em"):
            raise ValueError("method must be 'mala' or 'em'")
        if not (dt > 0 and math.isfinite(dt)):
            raise ValueError("dt must be > 0")
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.kernels = kernels
        self.G = G = g.size
        self.R = R = int(replicas)
        self.method = method
        self.target_accept = float(target_accept)
        self.eta = float(eta)
        self.g_points, self.beta_points = g.copy(), beta.copy()
        n_src = G * R
        self.response = None if response is None else float(response)
        rows = n_src * (2 if self.response else 1)
        self.src = np.arange(rows) % n_src
        self.g = np.ascontiguousarray(g[self.src // R])
        self.beta = np.ascontiguousarray(beta[self.src // R])
        self.I = np.zeros(N) if I is None else np.ascontiguousarray(I, dtype=float)
        if self.I.shape != (N,) or not np.all(np.isfinite(self.I)):
            raise ValueError("I must be a finite vector of length N")
        self.H = np.zeros((rows, N))
        self.s = None
        if self.response:
            self.s = self.rng.choice(np.array([-1.0, 1.0]), size=N)
            self.H[n_src:] = self.response * self.s
        if np.isscalar(X0):
            X = float(X0) * self.rng.standard_normal((n_src, N))
        else:
            X = np.asarray(X0, dtype=float)
            if X.shape != (n_src, N):
                raise ValueError(f"X0 must have shape {(n_src, N)}")
        self.X = np.ascontiguousarray(X[self.src])
        self.dt = np.full(rows, float(dt))
        self.step = 0
        self._backend = _select_backend(backend, kernels)
        self.J = J
        self.grad = np.empty_like(self.X)
        self.E = np.empty(rows)
        self._refresh()

    # -- internals
    def _refresh(self):
        k = self.kernels
        rows = self.X.shape[0]
        P = np.empty_like(self.X)
        _evaluate(self.J, self.X, self.g, self.I, self.H, self.eta, k.phi, k.dphi, k.U, k.dU,
                  P, np.empty_like(self.X), np.empty_like(self.X), self.grad, self.E)
        if not np.all(np.isfinite(self.E[:rows])):
            raise FloatingPointError("non-finite energy at the initial condition")

    def _advance(self, n):
        if self._backend is not None:
            frac = self._backend.advance(self, n)
        else:
            n_src = self.G * self.R
            noise = self.rng.standard_normal((n, n_src, self.N))
            logu = np.log(self.rng.random((n, n_src)))
            acc = np.zeros(self.X.shape[0], dtype=np.int64)
            k = self.kernels
            _steps(self.J, self.X, self.grad, self.E, self.g, self.beta, self.dt, self.I,
                   self.H, self.eta, k.phi, k.dphi, k.U, k.dU, noise, self.src, logu,
                   self.method == "mala", acc)
            frac = acc / n
        self.step += n
        if not np.all(np.isfinite(self.E)):
            raise FloatingPointError(
                f"non-finite energy at step {self.step}: the step dt={self.dt.min():.3g} is too"
                " large for 'em'; use method='mala' or a smaller dt")
        return frac

    def sample(self, steps, burn=0, thin=10, adapt_every=20):
        """Generator: ``burn`` adaptation steps (MALA: dt tuned per row towards
        target_accept, partners copy their source's dt), then ``steps`` recorded steps,
        yielding a ``LangevinState`` every ``thin`` steps (also during burn-in, with
        burn=True, every ``adapt_every`` steps)."""
        n_src = self.G * self.R
        done, k = 0, 0
        while done < burn:
            n = min(adapt_every, burn - done)
            a = self._advance(n)
            done += n
            if self.method == "mala":
                k += 1
                base = a[:n_src]
                self.dt[:n_src] *= np.exp(np.clip((base - self.target_accept) / (1 + k) ** 0.5, -1, 1))
                self.dt[n_src:] = self.dt[self.src[n_src:]]
            yield LangevinState(self.step, self.X, self.E / self.N, a, self.dt.copy(), True)
        done = 0
        while done < steps:
            n = min(thin, steps - done)
            a = self._advance(n)
            done += n
            yield LangevinState(self.step, self.X, self.E / self.N, a, self.dt.copy(), False)

    def run(self, steps, burn=None, thin=10, progress=True, keep_series=False):
        """Drain ``sample`` and return the observables: a ``LangevinResult`` for a single
        control point, a list of them (one per (g, beta) point) otherwise."""
        from tqdm.auto import tqdm

        if burn is None:
            burn = steps // 4
        phi = self.kernels.phi
        G, R, N = self.G, self.R, self.N
        n_src = G * R
        rec = {k: [] for k in ("q", "Q", "e", "m", "resp", "fls")}
        accs = []
        bar = tqdm(total=burn + steps, disable=not progress, desc="langevin", unit="step",
                   mininterval=1.0)
        last = 0
        iu = np.triu_indices(R, 1)
        for st in self.sample(steps, burn=burn, thin=thin):
            bar.update(st.step - last)
            last = st.step
            if st.burn:
                continue
            accs.append(st.acceptance[:n_src])
            Pall = _map(phi, st.X)
            P = Pall[:n_src].reshape(G, R, N)
            q_a = np.einsum("gan,gan->ga", P, P) / N
            rec["q"].append(q_a.mean(axis=1))
            if R > 1:
                O = np.einsum("gan,gbn->gab", P, P) / N
                rec["Q"].append(O[:, iu[0], iu[1]].mean(axis=1))
            rec["e"].append(st.energy[:n_src].reshape(G, R).mean(axis=1))
            rec["m"].append(P.mean(axis=(1, 2)))
            if self.response:
                Ph = Pall[n_src:].reshape(G, R, N)
                sp_ = P @ self.s          # (G, R): s . phi
                rec["resp"].append(((Ph - P) @ self.s).mean(axis=1) / (N * self.response))
                if R > 1:
                    cross = (sp_[:, iu[0]] * sp_[:, iu[1]]).mean(axis=1)
                    rec["fls"].append((sp_ ** 2).mean(axis=1) - cross)
        bar.close()
        acc = np.mean(accs, axis=0).reshape(G, R).mean(axis=1) if accs else np.full(G, np.nan)
        arr = {k: np.asarray(v) for k, v in rec.items() if v}
        out = []
        nan = Estimate(float("nan"), float("nan"), float("nan"), 0)
        for c in range(G):
            b = self.beta_points[c]
            est = {k: (estimate(v[:, c]) if v.size else nan) for k, v in arr.items()}
            q, e, m = est["q"], est["e"], est["m"]
            if R > 1:
                Q = est["Q"]
                chi = estimate(b * (arr["q"][:, c] - arr["Q"][:, c]))
            else:
                Q = chi = nan
            chi_resp = chi_fls = None
            if self.response:
                chi_resp = est["resp"]
                chi_fls = estimate(b * arr["fls"][:, c] / N) if R > 1 else nan
            series = {k: v[:, c].copy() for k, v in arr.items()} if keep_series else {}
            # tau is reported in steps
            tq = lambda E_: Estimate(E_.mean, E_.err, E_.tau * thin, E_.n) if E_ is not None else None
            out.append(LangevinResult(
                g=float(self.g_points[c]), beta=float(b), N=N, replicas=R,
                q=tq(q), Q=tq(Q), energy=tq(e), chi=tq(chi), m=tq(m),
                acceptance=float(acc[c]) if self.method == "mala" else 1.0,
                dt=float(self.dt[c * R:(c + 1) * R].mean()), steps=int(steps),
                chi_resp=tq(chi_resp), chi_fluct_s=tq(chi_fls), series=series))
        return out[0] if G == 1 else out


def _select_backend(backend, kernels):
    if hasattr(backend, "advance"):      # a backend object (tests inject one)
        return backend
    if backend == "cpu":
        return None
    if backend not in ("auto", "cupy"):
        raise ValueError("backend must be 'cpu', 'cupy' or 'auto'")
    from . import langevin_gpu
    ok, why = langevin_gpu.available(kernels)
    if ok:
        return langevin_gpu.CupyBackend()
    if backend == "cupy":
        raise RuntimeError(f"cupy backend unavailable: {why}")
    return None


def langevin(J, phi="tanh", g=1.0, beta=10.0, eta=0.0, replicas=2, steps=10000, burn=None,
             seed=0, method="mala", dt=0.02, thin=10, response=None, progress=False,
             backend="cpu", **kw):
    """One-call convenience: build the kernels for ``phi`` (name or Transfer) and run."""
    from .transfer import Transfer, kernels as make_kernels

    k = phi if isinstance(phi, Transfer) else make_kernels(phi)
    s = LangevinSampler(J, k, g, beta, eta=eta, replicas=replicas, response=response,
                        method=method, dt=dt, rng=np.random.default_rng(seed),
                        backend=backend, **kw)
    return s.run(steps, burn=burn, thin=thin, progress=progress)
