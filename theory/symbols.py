"""The project's sympy symbols, one object per physical name (glossary in README.md).

Every module takes its symbols from here so that expressions built in different places
compare equal and generated code has stable argument names.
"""
from __future__ import annotations

import sympy as sp

# site variable and standard Gaussians of the decoupled replica sums
x = sp.Symbol("x", real=True)
u, v, w = sp.symbols("u v w", real=True)

# control parameters
g = sp.Symbol("g", nonnegative=True)
gamma = sp.Symbol("gamma", real=True)
beta = sp.Symbol("beta", positive=True)
eta = sp.Symbol("eta", nonnegative=True)
J0 = sp.Symbol("J0", real=True)
I0 = sp.Symbol("I0", real=True)
sI = sp.Symbol("sI", nonnegative=True)

# replica number (n -> 0)
n = sp.Symbol("n", real=True)

# order parameters (RS) and their conjugates, THEORY.md conventions
q, Q, r, R = sp.symbols("q Q r R", real=True)
qh, Qh, rh, Rh = sp.symbols("qh Qh rh Rh", real=True)
m, k, mh, kh = sp.symbols("m k mh kh", real=True)

# zero-temperature (Laplace) scaling variables
chi, chih, Qh0, kappa, Gamma = sp.symbols("chi chih Qh0 kappa Gamma", real=True)
R1, Delta, k0, mh0 = sp.symbols("R1 Delta k0 mh0", real=True)

SYMBOLS: dict[str, sp.Symbol] = {
    s.name: s
    for s in (x, u, v, w, g, gamma, beta, eta, J0, I0, sI, n, q, Q, r, R, qh, Qh, rh, Rh,
              m, k, mh, kh, chi, chih, Qh0, kappa, Gamma, R1, Delta, k0, mh0)
}
