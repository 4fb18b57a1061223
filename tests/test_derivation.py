"""The symbolic replica engine against THEORY.md's RS result and exact limits."""
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from theory.derivation import derive, paramagnetic_branch
from theory.model import make_model
from theory.replica.gaussian import A, B
from theory.symbols import Q, Qh, R, Rh, beta, eta, g, gamma, q, qh, r, rh, u, v, x


def theory_md_rs(phi):
    """THEORY.md's RS result for the base model, typed from the document (the reference)."""
    rho = rh - Rh
    sigma2 = 1 + beta * g**2 * (q - Q)
    G = (qh * q + Qh * Q / 2 + rh * r - Rh * R + g**2 * gamma / 2 * (r**2 - R**2)
         - sp.log(sp.sqrt(sigma2)))
    H = (-(beta / (2 * sigma2)) * (x - rho * phi - g * sp.sqrt(Q) * v)**2 - beta * eta * x**2
         - (qh + Qh / 2) * phi**2
         + (Rh * v / (g * sp.sqrt(Q)) + sp.sqrt(Qh - Rh**2 / (g**2 * Q)) * u) * phi)
    return G, H


@pytest.fixture(scope="module")
def tanh_derived():
    return derive(make_model("tanh"))


def random_points(rng, count):
    for _ in range(count):
        Qv = rng.uniform(0.05, 0.5)
        qv = Qv + rng.uniform(0.01, 0.5)
        gv = rng.uniform(0.3, 2.0)
        Rhv = rng.uniform(-0.5, 0.5)
        Qhv = Rhv**2 / (gv**2 * Qv) + rng.uniform(0.01, 1.0)   # keeps the square root real
        yield {q: qv, Q: Qv, r: rng.normal(), R: rng.normal(), qh: rng.normal(), Qh: Qhv,
               rh: rng.normal(), Rh: Rhv, g: gv, gamma: rng.uniform(-1, 1),
               beta: 10 ** rng.uniform(-1, 2), eta: rng.uniform(0, 0.5),
               x: rng.normal(), u: rng.normal(), v: rng.normal()}


def test_engine_reproduces_theory_md_rs_result(tanh_derived):
    """G and H(x; A(u, v), B(u, v)) equal THEORY.md's at 25 random points.

    The engine's fields (A, B) are Gaussian with covariance [[g^2 Q, Rh], [Rh, Qh]]; the
    document's parametrisation A = g sqrt(Q) v, B = Rh v/(g sqrt Q) + sqrt(Qh - Rh^2/(g^2 Q)) u
    has exactly this covariance, so equal G and equal H pointwise imply equal free energies.
    """
    d = tanh_derived
    cov = sp.Matrix(d.field_cov)
    assert sp.simplify(cov - sp.Matrix([[g**2 * Q, Rh], [Rh, Qh]])) == sp.zeros(2)
    assert list(d.field_mean) == [0, 0]
    G_ref, H_ref = theory_md_rs(sp.tanh(x))
    A_of = g * sp.sqrt(Q) * v
    B_of = Rh * v / (g * sp.sqrt(Q)) + sp.sqrt(Qh - Rh**2 / (g**2 * Q)) * u
    H_eng = d.H.subs({A: A_of, B: B_of})
    rng = np.random.default_rng(20240110)
    for pt in random_points(rng, 25):
        dG = complex((d.G - G_ref).evalf(30, subs=pt))
        dH = complex((H_eng - H_ref).evalf(30, subs=pt))
        scale = 1 + abs(complex(G_ref.evalf(subs=pt)))
        assert abs(dG) < 1e-20 * scale
        assert abs(dH) < 1e-20 * (1 + abs(complex(H_ref.evalf(subs=pt))))


def test_stationarity_relations(tanh_derived):
    """rh = -g^2 gamma r and Rh = -g^2 gamma R follow from dPhi/dr = dPhi/dR = 0."""
    eqs = {e.var: e for e in tanh_derived.equations}
    assert sp.simplify(eqs[r].const - (rh + g**2 * gamma * r)) == 0 and not eqs[r].averages
    assert sp.simplify(eqs[R].const + (Rh + g**2 * gamma * R)) == 0 and not eqs[R].averages
    # q = E<phi^2>: dPhi/dqh = q - E<tanh^2>
    e = eqs[qh]
    assert e.const == q and len(e.averages) == 1
    coef, k = e.averages[0]
    assert sp.simplify(coef * tanh_derived.observables[k] + sp.tanh(x)**2) == 0
    # Q = E<phi>^2 after Price's theorem: dPhi/dQh = Q/2 - E<phi^2>/2 + (E<phi^2> - E<phi>^2)/2
    e = eqs[Qh]
    obs = tanh_derived.observables
    lin = sum(c * obs[k] for c, k in e.averages)
    assert sp.simplify(lin) == 0  # -phi^2/2 + phi^2/2 (H_BB = 0)
    assert len(e.pairs) == 1
    c, i, j = e.pairs[0]
    assert i == j and sp.simplify(obs[i] - sp.tanh(x)) == 0 and c == sp.Rational(-1, 2)


def test_no_singular_prefactors(tanh_derived):
    """No equation coefficient or observable contains sqrt(Q) or 1/Q: nothing 0/0 at Q = 0."""
    d = tanh_derived
    for e in d.equations:
        for c, _ in e.averages:
            assert not c.has(sp.sqrt(Q)) and not sp.denom(sp.together(c)).has(Q) or \
                sp.denom(sp.together(c)).subs(Q, 0) != 0
    for o in d.observables:
        assert sp.denom(sp.together(o)).subs({Q: 0}) != 0


def test_g_zero_is_the_single_site_integral():
    """At g = 0 (all conjugates zero) -beta f = ln ∫ exp(-beta (x^2/2 + U(x))) dx."""
    d = derive(make_model("tanh", "eta*x**2 + x**4/4"))
    vals = {g: 0, q: 0.3, Q: 0, r: 0, R: 0, qh: 0, Qh: 0, rh: 0, Rh: 0, A: 0, B: 0}
    for b, e in [(0.5, 0.1), (3.0, 0.0), (20.0, 0.3)]:
        vals.update({beta: sp.Rational(b), eta: sp.Rational(e)})
        G0 = float(d.G.subs(vals))
        Hf = sp.lambdify(x, d.H.subs(vals), "mpmath")
        with mpmath.workdps(30):
            lnZ = mpmath.log(mpmath.quad(lambda t: mpmath.exp(Hf(t)), [-mpmath.inf, 0, mpmath.inf]))
            exact = mpmath.log(mpmath.quad(lambda t: mpmath.exp(-b * (t**2 / 2 + e * t**2 + t**4 / 4)),
                                           [-mpmath.inf, 0, mpmath.inf]))
        assert G0 == 0
        assert abs(lnZ - exact) < 1e-25


def test_paramagnetic_branch_drops_fields(tanh_derived):
    p = paramagnetic_branch(tanh_derived)
    assert p.order_params == (q, r, qh, rh)
    assert all(c == 0 for row in p.field_cov for c in row)


def test_variants_add_order_parameters():
    from theory.symbols import I0, J0, k, kh, m, mh, sI
    dj = derive(make_model("tanh", mean_coupling=True))
    assert dj.order_params[-4:] == (m, k, mh, kh)
    eqs = {e.var: e for e in dj.equations}
    assert sp.simplify(eqs[k].const - (kh - g * J0 * m)) == 0      # kh = g J0 m
    assert sp.simplify(dj.field_mean[0] - kh) == 0                 # mean field shifts A
    di = derive(make_model("tanh", quenched_input=True))
    assert sp.simplify(di.field_mean[0] - I0) == 0
    assert sp.simplify(di.field_cov[0][0] - (g**2 * Q + sI**2)) == 0


def test_steps_render_latex(tanh_derived):
    text = tanh_derived.latex()
    for k in range(1, 9):
        assert f"Step {k}" in text
    assert tanh_derived.step("1").checks[0][1] is True


@pytest.mark.parametrize("phi", ["erf", "linear", "softsign", "x/sqrt(1+x**2)"])
def test_other_phi_derive(phi):
    d = derive(make_model(phi))
    assert len(d.equations) == 8 and d.H.has(x)
    assert math.isfinite(float(d.G.subs({q: 0.5, Q: 0.1, r: 0, R: 0, qh: 0, Qh: 0, rh: 0, Rh: 0,
                                         g: 1, gamma: 0, beta: 2})))
