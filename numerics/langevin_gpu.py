"""Optional GPU backend of ``LangevinSampler`` (CuPy), used only when a GPU is present.

The algorithm is the CPU one (same proposal, same Metropolis test, same per-row dt) with
the two products per step done by cuBLAS. The Gaussian increments and uniforms are drawn
on the device by a CuPy generator seeded from the sampler's numpy Generator, so a seed fixes
a GPU run too, but the GPU and CPU streams differ. Only the builtin transfer functions
(tanh, linear, erf(sqrt(pi) x / 2)) with U = eta x^2 are supported here; any other model
runs on the CPU path.

The array module is injectable (``CupyBackend(xp=numpy)``) so the logic is tested on the
CPU without a GPU.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["available", "CupyBackend"]

_SUPPORTED = ("tanh", "linear", "erf")


def phi_name(kernels) -> str:
    """'tanh' for the builtin kernels or a generated model labelled 'phi=tanh' (default U);
    '' for anything else (a custom U is part of the label and is not supported here)."""
    name = getattr(kernels, "name", "") or ""
    if name.startswith("phi="):
        name = name[4:]
    return name if name in _SUPPORTED else ""


def available(kernels) -> tuple[bool, str]:
    """(True, '') when CuPy imports, a GPU is visible and the kernels are builtin ones."""
    if not phi_name(kernels):
        return False, f"phi {getattr(kernels, 'name', '')!r} is not one of {_SUPPORTED}"
    try:
        import cupy
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no cupy, no driver, no device
        return False, f"cupy/GPU not usable: {exc}"
    if n < 1:
        return False, "no GPU visible"
    return True, ""


def _phi_pair(xp, name):
    if name == "tanh":
        def f(x):
            p = xp.tanh(x)
            return p, 1.0 - p * p
    elif name == "linear":
        def f(x):
            return x, xp.ones_like(x)
    elif name == "erf":
        if xp is np:
            from scipy.special import erf
        else:
            from cupyx.scipy.special import erf
        c = math.sqrt(math.pi) / 2.0

        def f(x):
            return erf(c * x), xp.exp(-math.pi * x * x / 4.0)
    else:
        raise ValueError(name)
    return f


class CupyBackend:
    """Device-resident state; the host arrays of the sampler are refreshed after every
    call so that states yielded by ``sample`` are correct."""

    def __init__(self, xp=None):
        if xp is None:
            import cupy as xp
        self.xp = xp
        self._ready = False

    def _setup(self, s):
        xp = self.xp
        self.J = xp.asarray(s.J)
        self.X = xp.asarray(s.X)
        self.I = xp.asarray(s.I)
        self.H = xp.asarray(s.H)
        self.g = xp.asarray(s.g)[:, None]
        self.beta = xp.asarray(s.beta)
        self.src = xp.asarray(s.src)
        self.f = _phi_pair(xp, phi_name(s.kernels))
        seed = int(s.rng.integers(2 ** 63))
        self.rng = xp.random.default_rng(seed)
        self.E, self.grad = self._evaluate(self.X, s.eta)
        self._ready = True

    def _evaluate(self, X, eta):
        xp = self.xp
        P, DP = self.f(X)
        res = X - self.g * (P @ self.J.T) - self.I
        E = 0.5 * xp.sum(res * res, axis=1) + eta * xp.sum(X * X, axis=1) - xp.sum(self.H * P, axis=1)
        grad = res - DP * (self.g * (res @ self.J) + self.H) + 2.0 * eta * X
        return E, grad

    def advance(self, s, n):
        """n steps of all rows; returns the accepted fraction per row (numpy)."""
        xp = self.xp
        if not self._ready:
            self._setup(s)
        dt = xp.asarray(s.dt)
        c = xp.sqrt(2.0 * dt / self.beta)[:, None]
        n_src = s.G * s.R
        acc = xp.zeros(self.X.shape[0])
        mala = s.method == "mala"
        for _ in range(n):
            xi = self.rng.standard_normal((n_src, s.N))[self.src]
            Y = self.X - dt[:, None] * self.grad + c * xi
            EY, gY = self._evaluate(Y, s.eta)
            if mala:
                d = self.X - Y + dt[:, None] * gY
                logA = (-self.beta * (EY - self.E) - self.beta / (4.0 * dt) * xp.sum(d * d, axis=1)
                        + 0.5 * xp.sum(xi * xi, axis=1))
                logu = xp.log(self.rng.random(n_src))[self.src]
                ok = logu < logA
            else:
                ok = xp.ones(self.X.shape[0], dtype=bool)
            m = ok[:, None]
            self.X = xp.where(m, Y, self.X)
            self.grad = xp.where(m, gY, self.grad)
            self.E = xp.where(ok, EY, self.E)
            acc += ok
        s.X[...] = _host(self.X)
        s.E[...] = _host(self.E)
        s.grad[...] = _host(self.grad)
        return _host(acc) / n


def _host(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)
