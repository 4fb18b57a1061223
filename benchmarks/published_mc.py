"""A numpy re-implementation of the published Monte Carlo zero-temperature solver.

The published solver (Qiu & Huang, arXiv 2401.10009, public code; THEORY.md section 4)
iterates the zero-temperature saddle-point equations of the Laplace scaling
(q - Q = chi/beta, qh + Qh/2 = beta chih, Qh = beta^2 Qh0, Rh = beta kappa, rho = Gamma):

* every iteration draws fresh standard normals u, v (``n_samples`` of each);
* for each sample it maximises the site function

      H0(x) = -eta x^2 - chih phi^2 + (sqrt(Qh0 - kappa^2/(g^2 q)) u + kappa v/(g sqrt q)) phi
              - (x - Gamma phi - g sqrt(q) v)^2 / (2 sigma^2),   sigma^2 = 1 + g^2 chi,

  by golden-section search on [-L, 0] and on [0, L] (L = 10) and keeps the higher of the two;
* the Gaussian averages of the saddle-point equations are replaced by sample means at the
  maximisers, every order parameter is updated at once and mixed with the old value
  (damping 0.2), with the published safeguards (q, chi kept positive, Qh0 not allowed to go
  negative, kappa^2 <= g^2 q Qh0).

What differs from the published code: the update form. Here it is taken from this
project's own derived equations (``theory.kernels.derived_model(model, "laplace", "full")``),
which use implicit differentiation of the maximiser instead of Stein forms such as
E[u phi]/sqrt(Qh0 q g^2 - kappa^2), so nothing divides by sqrt(q) at q -> 0. The equations
dPhi/dtheta = M theta + c(E) are linear in the order parameters apart from the averages E
(M is the constant Hessian of the bilinear G), so one Jacobi step is theta <- -M^-1 c(E).

Use :func:`iterate` (a generator of :class:`MCState`) or :func:`run` (drains it).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from theory.kernels import derived_model
from theory.model import make_model
from theory.symbols import x as x_sym

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


@dataclass
class MCState:
    """One iteration of the Monte Carlo solver."""

    iteration: int
    theta: dict                    # order parameters after the (damped) update
    raw: dict                      # undamped update (the Monte Carlo estimate itself)
    stderr: dict                   # Monte Carlo standard error of each raw update
    seconds: float                 # wall time of this iteration
    at_bracket_edge: int = 0       # samples whose maximiser sits at +-L (bracket too small)
    finite: bool = True


@dataclass
class MCRun:
    """The history of one run (see :func:`run`)."""

    states: list = field(default_factory=list)
    g: float = math.nan
    gamma: float = math.nan
    eta: float = 0.0
    n_samples: int = 0
    seed: int = 0
    names: tuple = ()

    def series(self, name: str) -> np.ndarray:
        return np.array([s.theta[name] for s in self.states])

    def tail(self, name: str, k: int = 50) -> tuple[float, float]:
        """(mean, standard deviation) of ``name`` over the last ``k`` iterations."""
        y = self.series(name)[-k:]
        return float(np.mean(y)), float(np.std(y, ddof=1)) if len(y) > 1 else math.nan

    @property
    def seconds_per_iteration(self) -> float:
        t = [s.seconds for s in self.states[1:]] or [s.seconds for s in self.states]
        return float(np.median(t))


class _Kernels:
    """numpy callables from the derived Laplace model: H0, observables, equations."""

    def __init__(self, model):
        d = derived_model(model, "laplace", "full")
        if d.inner != "max" or len(d.fields) != 2:
            raise ValueError("expected the zero-temperature Laplace model with two fields")
        self.d = d
        self.names = tuple(s.name for s in d.order_params)
        site_args = (x_sym,) + tuple(d.fields) + tuple(d.order_params) + tuple(d.controls)
        self.H = sp.lambdify(site_args, d.H, "numpy", cse=True)
        self.obs = [sp.lambdify(site_args, o, "numpy", cse=True) for o in d.observables]
        exprs, E, _ = d.equation_exprs()
        eq_args = tuple(d.order_params) + tuple(d.controls) + tuple(E)
        self.eqs = sp.lambdify(eq_args, exprs, "numpy")
        self.hess = sp.lambdify(tuple(d.controls), sp.hessian(d.G, d.order_params), "numpy")
        self.cov = sp.lambdify(tuple(d.order_params) + tuple(d.controls),
                               [d.field_cov[0][0], d.field_cov[0][1], d.field_cov[1][1]], "numpy")
        if any(m != 0 for m in d.field_mean):
            raise ValueError("nonzero field means are not supported here")
        self.n_obs = len(d.observables)


def golden_section_max(f, a, b, tol=1e-10):
    """Vectorised golden-section search for a maximum of f on [a, b] (arrays, elementwise).

    f maps an array of nodes to an array of values of the same shape. The number of steps is
    fixed by the widest bracket: ceil(log(tol / width) / log(0.618)).
    """
    a = np.array(a, dtype=float, copy=True)
    b = np.array(b, dtype=float, copy=True)
    width = float(np.max(b - a))
    steps = max(1, int(math.ceil(math.log(tol / width) / math.log(GOLDEN))))
    c = b - GOLDEN * (b - a)
    d = a + GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(steps):
        left = fc > fd                       # maximum in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        # the surviving interior point is reused; one new evaluation per step
        new = np.where(left, b - GOLDEN * (b - a), a + GOLDEN * (b - a))
        fnew = f(new)
        c, d = np.where(left, new, d), np.where(left, c, new)
        fc, fd = np.where(left, fnew, fd), np.where(left, fc, fnew)
    return 0.5 * (a + b)


def initial_theta(names, g, gamma, rng) -> dict:
    """Random start in the spirit of the published scripts (signs as in this project's
    conventions: Delta = -1 and chih = 0 on the ordered branch)."""
    th = dict.fromkeys(names, 0.0)
    th["q"] = float(rng.uniform())
    th["chi"] = float(rng.uniform())
    th["chih"] = -g * g
    th["R1"] = float(rng.uniform())
    th["Delta"] = -float(rng.uniform())
    th["kappa"] = -g * g * gamma * th["R1"]
    th["Gamma"] = -g * g * gamma * th["Delta"]
    th["Qh0"] = float(rng.uniform()) + th["kappa"] ** 2 / (g * g * th["q"])
    return th


def iterate(g: float, gamma: float = 0.0, *, eta: float = 0.0, n_samples: int = 20000,
            n_iter: int = 150, seed: int = 0, damping: float = 0.2, bracket: float = 10.0,
            tol_x: float = 1e-10, model="tanh", theta0: dict | None = None):
    """Yield an :class:`MCState` per iteration of the Monte Carlo fixed-point iteration."""
    if isinstance(model, str):
        model = make_model(model)
    k = _Kernels(model)
    rng = np.random.default_rng(seed)
    names = k.names
    th = dict(theta0) if theta0 is not None else initial_theta(names, g, gamma, rng)
    controls = (g, gamma, eta)
    M = np.array(k.hess(*controls), dtype=float)
    Minv = np.linalg.inv(M)
    n = int(n_samples)
    for it in range(n_iter):
        t0 = time.perf_counter()
        u = rng.standard_normal(n)
        v = rng.standard_normal(n)
        ops = tuple(th[s] for s in names)
        caa, cab, cbb = (float(c) for c in k.cov(*ops, *controls))
        # fields (A, B0) = L (v, u), L the Cholesky factor of [[caa, cab], [cab, cbb]]
        l11 = math.sqrt(max(caa, 0.0))
        l21 = cab / l11 if l11 > 0 else 0.0
        l22 = math.sqrt(max(cbb - l21 * l21, 0.0))
        A = l11 * v
        B = l21 * v + l22 * u
        A2, B2 = np.concatenate([A, A]), np.concatenate([B, B])

        def H(xs):
            return k.H(xs, A2, B2, *ops, *controls)

        lo = np.concatenate([np.full(n, -bracket), np.zeros(n)])
        hi = np.concatenate([np.zeros(n), np.full(n, bracket)])
        xs2 = golden_section_max(H, lo, hi, tol=tol_x)
        h2 = H(xs2)
        xs = np.where(h2[n:] > h2[:n], xs2[n:], xs2[:n])
        edge = int(np.count_nonzero(np.abs(xs) > bracket - 1e-6))
        O = [np.broadcast_to(np.asarray(o(xs, A, B, *ops, *controls), dtype=float), (n,))
             for o in k.obs]
        E = [float(np.mean(o)) for o in O]
        se_E = [float(np.std(o, ddof=1) / math.sqrt(n)) for o in O]
        resid = np.array(k.eqs(*ops, *controls, *E), dtype=float)
        theta_vec = np.array(ops)
        raw_vec = theta_vec - Minv @ resid            # exact Jacobi step: M theta_new + c(E) = 0
        # error propagation: d(raw)/dE_k = -Minv @ d(resid)/dE_k (equations are linear in E)
        dE = np.zeros((len(names), k.n_obs))
        for j in range(k.n_obs):
            Ej = list(E)
            Ej[j] += 1.0
            dE[:, j] = -Minv @ (np.array(k.eqs(*ops, *controls, *Ej), dtype=float) - resid)
        se_raw = np.sqrt((dE**2) @ np.array(se_E) ** 2)
        raw = dict(zip(names, map(float, raw_vec)))
        new = {s: damping * th[s] + (1 - damping) * raw[s] for s in names}
        finite = all(math.isfinite(v_) for v_ in new.values())
        # safeguards of the published solver
        if finite:
            if new["q"] < 0:
                new["q"] = 1e-8
            if new["Qh0"] < 0:
                new["Qh0"] = th["Qh0"]
            if new["chi"] < 0:
                new["chi"] = 1e-8
            lim = g * g * new["q"] * new["Qh0"]
            if new["kappa"] ** 2 > lim:
                new["kappa"] = math.copysign(math.sqrt(0.1 * lim), new["kappa"])
        state = MCState(it + 1, dict(new), raw, dict(zip(names, map(float, se_raw))),
                        time.perf_counter() - t0, edge, finite)
        yield state
        if not finite:
            return
        th = new


def run(g: float, gamma: float = 0.0, **kw) -> MCRun:
    """Drain :func:`iterate` into an :class:`MCRun`."""
    out = MCRun(g=g, gamma=gamma, eta=kw.get("eta", 0.0), n_samples=kw.get("n_samples", 20000),
                seed=kw.get("seed", 0))
    for s in iterate(g, gamma, **kw):
        out.states.append(s)
    out.names = tuple(out.states[0].theta) if out.states else ()
    return out


def summary(r: MCRun, k: int = 50, exact_chi: float | None = None) -> dict:
    """Final values, spread over the last ``k`` iterations and Monte Carlo errors."""
    last = r.states[-1]
    out = {"g": r.g, "gamma": r.gamma, "n_samples": r.n_samples, "seed": r.seed,
           "iterations": len(r.states), "finite": last.finite,
           "seconds_per_iteration": r.seconds_per_iteration,
           "seconds_total": float(sum(s.seconds for s in r.states)),
           "samples_at_bracket_edge_last": last.at_bracket_edge}
    for name in ("q", "chi"):
        m, sd = r.tail(name, k)
        out[name] = last.theta[name]
        out[f"{name}_tail_mean"] = m
        out[f"{name}_tail_std"] = sd
        out[f"{name}_mc_stderr_last"] = last.stderr[name]
    if exact_chi is not None:
        out["chi_exact"] = exact_chi
        out["chi_error_last"] = last.theta["chi"] - exact_chi
        out["chi_error_tail_mean"] = out["chi_tail_mean"] - exact_chi
    return out


if __name__ == "__main__":  # python benchmarks/published_mc.py g gamma n_samples n_iter seed
    import sys
    args = [float(a) for a in sys.argv[1:]]
    g_, gm_ = (args + [0.9, 0.0])[:2]
    ns = int(args[2]) if len(args) > 2 else 20000
    ni = int(args[3]) if len(args) > 3 else 150
    sd_ = int(args[4]) if len(args) > 4 else 0
    for st in iterate(g_, gm_, n_samples=ns, n_iter=ni, seed=sd_):
        if st.iteration % 10 == 0 or st.iteration == 1:
            print(st.iteration, {k_: f"{v_:.6g}" for k_, v_ in st.theta.items()},
                  f"se(chi)={st.stderr['chi']:.2g} {st.seconds:.3f}s edge={st.at_bracket_edge}",
                  flush=True)
