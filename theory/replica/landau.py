"""Step 9b: Landau (small-amplitude) expansion around the trivial solution q = 0.

For an odd transfer function written through its Taylor coefficients,
phi(x) = c1 x + c3 x^3 + c5 x^5 + ..., the saddle-point equations of a branch whose fields
are deterministic (the Q = 0 branch; its chaotic zero-temperature limit) are expanded for
small q = eps with the site variable rescaled, x = sqrt(eps) y. The site measure becomes
Gaussian at leading order, exp(-lambda y^2 / 2), and every average is a series in eps of
Gaussian moments <y^(2k)>_0 = (2k-1)!!/lambda^k:

    <O> = <O_0>_0 + eps ( <O_1>_0 + <O_0 H_1>_0 - <O_0>_0 <H_1>_0 ) + O(eps^2).

The other order parameters and the coupling itself are expanded, theta_j = sum_k t_jk eps^k
(conjugates such as qh may start at eps^-1), g = g_c + g_1 eps, and the equations are solved
order by order. The result is the critical manifold g_c(gamma) where q leaves zero and the
amplitude q ~ (g - g_c)/g_1, in closed form in (c1, c3, gamma).

The first solvability condition gives g_c = 1/(c1 sqrt(1 + gamma)) (tested against the
numerical onset, numerics.transition.g_q). The amplitude lies along the null direction of
the first-order system: ``landau_deterministic`` returns it as None, and
``landau_amplitude`` carries the expansion to the second solvability order (averages to
relative order eps^2 by the cumulant expansion, g^2 = s0 + s1 eps + s2 eps^2), giving for
the q - Q finite Q = 0 branch

    q ~ A (g - g_c),   A = -c1^4 sqrt(1 + gamma) / (c3 (3 + gamma))

(A = 1 for tanh at gamma = 0: the small-q expansion of q = E tanh^2(g sqrt(q) z)).

For the collapsed (Laplace) scaling, ``response_line`` solves the q = 0 equations in closed
form (chi(g, gamma), diverging on g_chi = 1/(c1 (1 + gamma))) and
``collapsed_linearisation`` gives the Jacobian of all its equations at that solution; its
determinant keeps its sign on grids in (0, g_chi) (tests), so inside this scaling q does
not leave zero before the response line, where the scaling itself ends (chi -> infinity).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..symbols import g, gamma, q, x
from .step import Step

eps = sp.Symbol("epsilon", positive=True)
y = sp.Symbol("y", real=True)
lam = sp.Symbol("lambda", positive=True)
c1, c3, c5 = sp.symbols("c1 c3 c5", real=True)
g_c, g_1 = sp.symbols("g_c g_1", real=True)


def gaussian_moment(poly: sp.Expr, precision: sp.Expr) -> sp.Expr:
    """<poly(y)>_0 under exp(-precision y^2/2) (normalised): (2k-1)!!/precision^k per y^(2k)."""
    poly = sp.expand(poly)
    out = sp.S.Zero
    for (power,), coeff in sp.Poly(poly, y).terms():
        if power % 2 == 0:
            out += coeff * sp.factorial2(power - 1) / precision**(power // 2)
    return out


@dataclass(frozen=True)
class LandauResult:
    g_c: sp.Expr            # critical coupling where q leaves zero
    amplitude: sp.Expr      # A in q ~ A (g - g_c)
    leading: dict           # leading coefficients of the other order parameters
    step: Step

    def numeric(self, coeffs: dict, gamma_value) -> tuple[float, float]:
        subs = dict(coeffs)
        subs[gamma] = gamma_value
        amp = None if self.amplitude is None else float(self.amplitude.subs(subs))
        return float(self.g_c.subs(subs)), amp


def landau_deterministic(derived, singular=None) -> LandauResult:
    """Small-q expansion of a derived model whose fields are deterministic and zero.

    ``derived`` must have inner = "integral" and zero field mean and covariance (the Q = 0
    branch, finite beta or the chaotic limit). Returns g_c and the amplitude in terms of the
    symbols c1, c3 (and gamma); substitute the model's Taylor coefficients for numbers.
    """
    _require_deterministic(derived, "landau_deterministic")
    coeffs, subs = expansion_unknowns(derived, singular)
    subs[g] = g_c + g_1 * eps
    system, precision = two_orders(derived, subs, _plain_series)
    system = [s_ for row in system for s_ in row if s_ != 0]
    # leading unknowns: those of the lowest order of every variable
    lead = [c[0] if c[0] != 0 else c[1] for c in coeffs.values()]
    nxt = [c[1] if c[0] != 0 else c[2] for c in coeffs.values()] + [g_1]
    lead_eqs = [s_ for s_ in system if not (s_.free_symbols & set(nxt))]
    next_eqs = [s_ for s_ in system if s_.free_symbols & set(nxt)]
    # 1. leading order: a one-parameter family in g_c
    fam = sp.solve(lead_eqs, lead, dict=True)
    fam = [f for f in fam if all(not sp.simplify(v).has(sp.I) for v in f.values())]
    if not fam:
        raise ValueError("no real leading-order Landau family")
    # prefer the family member that is regular at gamma = 0 with a non-zero site precision
    fam.sort(key=lambda f: sp.count_ops(f))
    chosen = None
    for f in fam:
        try:
            val = {k: sp.simplify(v.subs(gamma, 0)) for k, v in f.items()}
        except Exception:
            continue
        if all(v.is_finite is not False for v in val.values()):
            chosen = f
            break
    chosen = chosen or fam[0]
    # 2. next order: linear in the next unknowns; solvability fixes g_c
    eqs1 = [sp.simplify(e.subs(chosen)) for e in next_eqs]
    M, b = sp.linear_eq_to_matrix(eqs1, nxt)
    M = M.applyfunc(sp.simplify)
    if sp.simplify(M.det()) == 0:
        ns = M.T.nullspace()
        cond = sp.simplify(sp.numer(sp.together((ns[0].T * b)[0])))
        gcs = [r_ for r_ in sp.solve(cond, g_c)
               if r_ != 0 and complex(r_.subs({c1: 1, c3: sp.Rational(-1, 3), c5: sp.Rational(2, 15),
                                             gamma: sp.Rational(1, 10)})).real > 0]
    else:
        raise ValueError("the next-order Landau system is not singular: g_c undetermined at this order")
    if not gcs:
        raise ValueError(f"no positive critical coupling from the solvability condition {cond}")
    gc = sp.simplify(gcs[0])
    Mc = M.subs(g_c, gc).applyfunc(sp.simplify)
    bc = b.subs(g_c, gc).applyfunc(sp.simplify)
    sol1 = sp.solve(list(Mc * sp.Matrix(nxt) - bc), nxt, dict=True)
    free_g1 = any(sp.simplify(vec[nxt.index(g_1)]) != 0 for vec in Mc.nullspace())
    if not sol1 or free_g1 or g_1 not in sol1[0] or sol1[0][g_1].free_symbols & set(nxt):
        amp = None   # g_1 lies along the null direction: fixed by the next solvability order
    else:
        amp = sp.simplify(1 / sol1[0][g_1])
    sol = {k: sp.simplify(v.subs(g_c, gc)) for k, v in chosen.items()}
    sol[g_c] = gc
    step = Step("9b", "Landau expansion around q = 0",
                (("x", sp.sqrt(eps) * y), ("site precision lambda", precision),
                 ("g_c", gc), ("q ~ A (g - g_c), A", amp if amp is not None else sp.Symbol("undetermined"))),
                note="phi = c1 x + c3 x^3 + c5 x^5; q = epsilon; g = g_c + g_1 epsilon")
    leading = {v: sp.simplify(sol.get(c[0], 0) / eps + sol.get(c[1], 0)) if c[0] != 0 else sol.get(c[1], c[1])
               for v, c in coeffs.items()}
    return LandauResult(gc, amp, leading, step)


def expansion_unknowns(derived, singular=None):
    """Order-by-order unknowns of every order parameter but q, and the substitution map.

    A singular conjugate (default: qh) is t_{-1}/eps + t_0, the others t_0 + t_1 eps;
    q = eps. Returns ({symbol: (t_-1, t_0, t_1)}, {symbol: series}).
    """
    from ..symbols import qh
    singular = (qh,) if singular is None else tuple(singular)
    coeffs = {}
    for v in (v for v in derived.order_params if v != q):
        t = sp.symbols(f"{v.name}_m1 {v.name}_0 {v.name}_1", real=True)
        coeffs[v] = (t[0], t[1], sp.S.Zero) if v in singular else (sp.S.Zero, t[1], t[2])
    subs = {v: c[0] / eps + c[1] + c[2] * eps for v, c in coeffs.items()}
    subs[q] = eps
    return coeffs, subs


def _plain_series(expr: sp.Expr, top: int) -> sp.Expr:
    """Terms of expr up to eps^top (sympy's series; expressions polynomial in the unknowns)."""
    return sp.expand(sp.series(expr, eps, 0, top + 1).removeO())


def two_orders(derived, subs: dict, series) -> tuple[list, sp.Expr]:
    """The lowest two orders in eps of every equation of a zero-field (Q = 0) branch.

    ``subs`` maps the order parameters (and any controls, e.g. beta) to their eps series;
    x = sqrt(eps) y and phi = c1 x + c3 x^3 + c5 x^5. The site measure exp(H) is Gaussian at
    order eps^0 with precision lambda; averages carry their first correction (connected
    average with H1). ``series(expr, top)`` truncates at eps^top. Returns
    ([[order lo, order lo+1] numerators per equation], precision lambda).
    """
    phi_series = c1 * x + c3 * x**3 + c5 * x**5
    fields0 = {f: 0 for f in derived.fields}

    def prepared(expr):
        e = _with_phi(expr.subs(fields0), derived.model.phi, phi_series)
        return e.subs(subs).subs(x, sp.sqrt(eps) * y)

    Hy = series(prepared(derived.H), 1)
    H0, H1 = Hy.coeff(eps, 0), Hy.coeff(eps, 1)
    if sp.Poly(H0, y).degree() != 2 or sp.expand(H0).coeff(y, 1) != 0:
        raise ValueError(f"leading site measure is not a centred Gaussian: H0 = {H0}")
    precision = sp.simplify(-2 * sp.expand(H0).coeff(y, 2))

    def average(obs: sp.Expr) -> sp.Expr:
        o = prepared(obs)
        lo = min(_eps_powers(series(o, 3)))
        o = sp.expand(series(o, lo + 1) / eps**lo)      # relative orders 0 and 1
        O0, O1 = o.coeff(eps, 0), o.coeff(eps, 1)
        m0 = gaussian_moment(O0, lam)
        m1 = gaussian_moment(O1, lam) + gaussian_moment(O0 * H1, lam) - m0 * gaussian_moment(H1, lam)
        return eps**lo * (m0 + eps * m1)

    system = []
    for e in derived.equations:
        expr = prepared(e.const)
        for coef, k in e.averages:
            expr += prepared(coef) * average(derived.observables[k])
        expr = series(sp.expand(expr), 2)
        lo = min(_eps_powers(expr))
        system.append([sp.numer(sp.together(_coeff(expr, lo + k).subs(lam, precision))) for k in (0, 1)])
    return system, precision


def leading_family(system, lead, what: str = "leading-order family"):
    """Solve the lowest order of ``system`` (rows [order 0, order 1, ...]) for the leading
    unknowns ``lead``: the real solution regular at gamma = 0 with the fewest operations.
    Returns (solution dict, the order-0 equations)."""
    eq0 = [sp.expand(r[0]) for r in system if r[0] != 0]
    fam = sp.solve(eq0, lead, dict=True)
    fam = [f for f in fam if all(not sp.simplify(v).has(sp.I) for v in f.values())]
    fam = [f for f in fam if all(sp.simplify(v.subs(gamma, 0)).is_finite is not False for v in f.values())]
    if not fam:
        raise ValueError(f"no real {what}")
    fam.sort(key=sp.count_ops)
    return fam[0], eq0


def next_order_condition(system, lead_sol: dict, nxt):
    """The order-1 equations at the leading solution are linear in the next unknowns,
    M nxt = rhs, with M singular; their solvability condition is ell . rhs = 0 for the left
    null vector ell. Returns (M, rhs, numerator of ell . rhs, factored)."""
    eq1 = [sp.expand(sp.numer(sp.together(r[1].subs(lead_sol)))) for r in system]
    M, rhs = sp.linear_eq_to_matrix(eq1, nxt)
    M = M.applyfunc(sp.factor)
    left = M.T.nullspace()
    if len(left) != 1:
        raise ValueError(f"the order-1 operator has a {len(left)}-dimensional left null space")
    return M, rhs, sp.factor(sp.numer(sp.together((left[0].T * rhs)[0])))


def _require_deterministic(derived, who: str) -> None:
    """The small-q expansions need an integral inner average and zero fields (Q = 0 branch)."""
    if derived.inner != "integral":
        raise ValueError(f"{who} needs an integral inner average (Q = 0 branch)")
    if any(m_ != 0 for m_ in derived.field_mean) or any(c != 0 for row in derived.field_cov for c in row):
        raise ValueError(f"{who} needs deterministic zero fields (Q = 0 branch)")


def _with_phi(expr, phi, series):
    """Replace the model's phi(x) (and its derivatives) inside expr by the series."""
    return expr.subs(phi, series) if phi != x else expr.subs(x, x)


def _eps_powers(expr):
    expr = sp.expand(expr)
    out = []
    for t in sp.Add.make_args(expr):
        p = sp.Poly(t * eps**10, eps).degree() - 10 if t.has(eps) else 0
        out.append(p)
    return out or [0]


def _coeff(expr, p):
    expr = sp.expand(expr * eps**10)
    return sp.expand(expr).coeff(eps, p + 10)


# ---------------------------------------------------------------------------------------
# second solvability order: the amplitude
# ---------------------------------------------------------------------------------------
s0, s1, s2 = sp.symbols("s_0 s_1 s_2", real=True)   # g^2 = s0 + s1 eps + s2 eps^2
_s, _sinv = sp.symbols("s sinv", positive=True)


@dataclass(frozen=True)
class LandauAmplitude:
    """g_c and the amplitude A of q ~ A (g - g_c) from the second solvability order."""

    g_c: sp.Expr
    amplitude: sp.Expr
    step: Step

    def numeric(self, coeffs: dict, gamma_value) -> tuple[float, float]:
        subs = dict(coeffs)
        subs[gamma] = gamma_value
        return float(self.g_c.subs(subs)), float(self.amplitude.subs(subs))


def _laurent(expr: sp.Expr, top: int) -> sp.Expr:
    """Terms of a Laurent polynomial in eps up to eps^top."""
    expr = sp.expand(expr)
    keep = [t for t in sp.Add.make_args(expr) if _eps_powers(t)[0] <= top]
    return sp.Add(*keep)


def _g_squared(expr: sp.Expr, top: int) -> sp.Expr:
    """expr with g^2 = s0 + s1 eps + s2 eps^2, 1/g^2 expanded to eps^top (g only as g^2)."""
    e = sp.expand(sp.powsimp(expr.subs(g, sp.sqrt(_s))))
    if e.has(sp.sqrt(_s)) or any(p.base == _s and not p.exp.is_integer for p in e.atoms(sp.Pow)):
        raise ValueError("the amplitude expansion assumes g enters only through g^2")
    e = e.replace(lambda a: a.is_Pow and a.base == _s and a.exp.is_negative,
                  lambda a: _sinv**(-a.exp))
    u = (s1 * eps + s2 * eps**2) / s0
    inv = (1 - u + u**2) / s0                         # 1/(s0 (1 + u)) to eps^2
    return _laurent(e.subs({_s: s0 + s1 * eps + s2 * eps**2, _sinv: inv}), top)


def _cumulant_average(O, H1, H2, precision):
    """<O> to relative order eps^2 for O = O0 + eps O1 + eps^2 O2 under exp(H0 + eps H1 +
    eps^2 H2), H0 = -precision y^2/2 (connected averages of the Gaussian reference)."""
    O0, O1, O2 = (O.coeff(eps, k) for k in range(3))
    m = lambda p: gaussian_moment(p, precision)  # noqa: E731
    c2 = lambda a, b: m(a * b) - m(a) * m(b)  # noqa: E731
    c3_ = (m(O0 * H1 * H1) - 2 * m(O0 * H1) * m(H1) - m(H1 * H1) * m(O0)
           + 2 * m(O0) * m(H1)**2)
    return (m(O0) + eps * (m(O1) + c2(O0, H1))
            + eps**2 * (m(O2) + c2(O1, H1) + c2(O0, H2) + c3_ / 2))


def landau_amplitude(derived, singular=None) -> LandauAmplitude:
    """Critical coupling and amplitude of q near the onset, from the small-q expansion to
    the second solvability order (Lyapunov-Schmidt in the rescaled variables).

    Unknowns: q = eps, g^2 = s0 + s1 eps + s2 eps^2, every other order parameter
    t_{-1}/eps (singular conjugates) + t_0 + t_1 eps + t_2 eps^2; site variable
    x = sqrt(eps) y, phi = c1 x + c3 x^3 + c5 x^5. Order 0 gives a family in s0, the
    solvability of order 1 fixes s0 = g_c^2, and that of order 2 fixes the component of the
    order-1 solution along the null direction, hence s1; then A = dq/dg = 2 g_c / s1.
    Requires deterministic zero fields (the Q = 0 branch) and g entering through g^2.
    """
    _require_deterministic(derived, "landau_amplitude")
    from ..symbols import qh
    singular = (qh,) if singular is None else tuple(singular)
    phi_series = c1 * x + c3 * x**3 + c5 * x**5
    others = [v for v in derived.order_params if v != q]
    orders = {}
    for v in others:
        t = sp.symbols(f"{v.name}_m1 {v.name}_0 {v.name}_1 {v.name}_2", real=True)
        orders[v] = (t[0], t[1], t[2]) if v in singular else (t[1], t[2], t[3])
    shift = {v: (-1 if v in singular else 0) for v in others}
    subs = {v: sum(c * eps**(shift[v] + k) for k, c in enumerate(orders[v])) for v in others}
    subs[q] = eps
    fields0 = {f: 0 for f in derived.fields}

    def prepared(expr, top):
        e = _with_phi(expr.subs(fields0), derived.model.phi, phi_series)
        e = e.subs(subs).subs(x, sp.sqrt(eps) * y)
        return _g_squared(sp.expand(e), top)

    H = prepared(derived.H, 2)
    H = sp.expand(H - H.subs(y, 0))                    # constants cancel in averages
    H0, H1, H2 = (H.coeff(eps, k) for k in range(3))
    if any(_eps_powers(t)[0] < 0 for t in sp.Add.make_args(H)):
        raise ValueError(f"the rescaled site Hamiltonian has negative powers of eps: {H}")
    if sp.Poly(H0, y).degree() != 2 or sp.expand(H0).coeff(y, 1) != 0:
        raise ValueError(f"leading site measure is not a centred Gaussian: H0 = {H0}")
    precision = sp.expand(-2 * H0.coeff(y, 2))

    def average(obs):
        o = prepared(obs, 4)
        lo = min(_eps_powers(o))
        o = _laurent(sp.expand(o / eps**lo), 2)
        return eps**lo * _cumulant_average(o, H1, H2, lam)

    system = []
    for e in derived.equations:
        expr = prepared(e.const, 4)
        for coef, k in e.averages:
            expr += prepared(coef, 4) * average(derived.observables[k])
        expr = sp.expand(expr)
        lo = min(_eps_powers(expr))
        system.append([sp.numer(sp.together(_coeff(expr, lo + k).subs(lam, precision)))
                       for k in range(3)])
    lead = [orders[v][0] for v in others]
    nxt = [orders[v][1] for v in others] + [s1]
    nxt2 = [orders[v][2] for v in others] + [s2]
    lead_sol, _ = leading_family(system, lead)
    M, b, cond = next_order_condition(system, lead_sol, nxt)
    probe = {c1: 1, c3: sp.Rational(-1, 3), c5: sp.Rational(2, 15), gamma: sp.Rational(1, 10)}
    roots = [r_ for r_ in sp.solve(cond, s0) if r_ != 0 and complex(r_.subs(probe)).real > 0
             and abs(complex(r_.subs(probe)).imag) < 1e-12]
    if not roots:
        raise ValueError(f"no positive g_c^2 from the order-1 solvability condition {cond}")
    sc = sp.factor(roots[0])
    gc = sp.sqrt(sc)
    at_c = {s0: sc}
    Mc = M.subs(at_c).applyfunc(sp.factor)
    bc = b.subs(at_c).applyfunc(sp.factor)
    right = Mc.nullspace()
    if len(right) != 1:
        raise ValueError(f"order-1 operator at g_c has a {len(right)}-dimensional null space")
    sigma = sp.Symbol("sigma", real=True)
    part = sp.solve(list(Mc * sp.Matrix(nxt) - bc), nxt, dict=True)
    if not part:
        raise ValueError("the order-1 system at g_c has no solution")
    free = [v for v in nxt if v not in part[0]]
    sol1 = {v: sp.factor(part[0].get(v, v).subs({f: 0 for f in free})) for v in nxt}
    null = dict(zip(nxt, right[0]))
    sol1 = {v: sol1[v] + sigma * null[v] for v in nxt}
    eq2 = [sp.expand(sp.numer(sp.together(r[2].subs(lead_sol).subs(at_c).subs(sol1))))
           for r in system]
    M2, b2 = sp.linear_eq_to_matrix(eq2, nxt2)
    M2 = M2.applyfunc(sp.factor)
    left2 = M2.T.nullspace()
    if len(left2) != 1:
        raise ValueError("order-2 operator is not singular with a one-dimensional left null space")
    cond2 = sp.factor(sp.numer(sp.together((left2[0].T * b2)[0])))
    sig = [r_ for r_ in sp.solve(cond2, sigma)
           if sp.simplify(sol1[s1].subs(sigma, r_)) != 0]
    if len(sig) != 1:
        raise ValueError(f"order-2 solvability gives {len(sig)} admissible roots: {cond2}")
    s1_val = sp.factor(sol1[s1].subs(sigma, sig[0]))
    amp = sp.simplify(2 * gc / s1_val)
    step = Step("9c", "Landau amplitude (second solvability order)",
                (("g^2", s0 + s1 * eps + s2 * eps**2), ("g_c", gc), ("s_1", s1_val),
                 ("q ~ A (g - g_c), A", amp)),
                note="q = epsilon, x = sqrt(epsilon) y, phi = c1 x + c3 x^3 + c5 x^5; A = 2 g_c / s_1")
    return LandauAmplitude(sp.simplify(gc), amp, step)


# ---------------------------------------------------------------------------------------
# the response line of the collapsed (Laplace) scaling
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseLine:
    """chi(g, gamma) of the collapsed q = 0 solution in closed form and the line g_chi
    where it diverges."""

    chi: sp.Expr
    g_chi: sp.Expr
    step: Step


def _collapsed_q_zero(derived):
    """(chi, Gamma symbols, closed-form q = 0 solution) of the collapsed equations at
    x* = 0, zero fields and eta = 0: the algebraic solution connected to g = 0 (Gamma -> 0)."""
    from ..symbols import eta as eta_sym
    if derived.kind != "laplace":
        raise ValueError("this needs the collapsed (laplace) zero-temperature derivation")
    names = {s_.name: s_ for s_ in derived.order_params}
    chi, Gam, Qh0_, kap = names["chi"], names["Gamma"], names["Qh0"], names["kappa"]
    zero = {q: 0, Qh0_: 0, kap: 0, eta_sym: 0, x: 0}
    zero.update({f: 0 for f in derived.fields})
    eqs = []
    for e in derived.equations:
        ex = sp.simplify((e.const + sum(c * derived.observables[k] for c, k in e.averages)).subs(zero))
        if ex != 0:
            eqs.append(sp.numer(sp.together(ex)))
    unknowns = [v for v in derived.order_params if v not in (q, Qh0_, kap)]
    sols = sp.solve(eqs, unknowns, dict=True)
    probe = {g: sp.Rational(1, 100), gamma: sp.Rational(1, 10)}
    regular = [s_ for s_ in sols if chi in s_ and Gam in s_
               and abs(complex(s_[Gam].subs(probe))) < 0.1 and s_[chi].has(g)]
    if not regular:
        raise ValueError(f"no q = 0 collapsed solution connected to g = 0 among {sols}")
    return chi, Gam, regular[0]


def response_line(derived) -> ResponseLine:
    """Solve the collapsed zero-temperature equations at q = 0 (x* = 0, fields zero,
    eta = 0) in closed form for chi and find where 1/chi vanishes.

    Of the algebraic solutions, the one continuously connected to g = 0 (Gamma -> 0) is
    taken; g_chi is the smallest positive zero of 1/chi (checked at gamma = 1/10).
    """
    chi, Gam, sol = _collapsed_q_zero(derived)
    chi_expr = sp.factor(sol[chi])
    p10 = {gamma: sp.Rational(1, 10)}
    roots = [r_ for r_ in sp.solve(sp.denom(sp.together(chi_expr)), g)
             if r_ != 0 and complex(r_.subs(p10)).real > 0 and abs(complex(r_.subs(p10)).imag) < 1e-12]
    if not roots:
        raise ValueError(f"chi = {chi_expr} does not diverge at positive g")
    gchi = min(roots, key=lambda r_: float(r_.subs(p10)))
    step = Step("9d", "response line of the collapsed solution",
                (("chi(g, gamma) at q = 0", chi_expr), ("Gamma", sp.factor(sol[Gam])),
                 ("g_chi (1/chi = 0)", gchi)),
                note="x* = 0 and zero fields at q = 0 make the collapsed equations algebraic; eta = 0")
    return ResponseLine(chi_expr, sp.simplify(gchi), step)


@dataclass(frozen=True)
class CollapsedLinearisation:
    """Jacobian of the collapsed zero-temperature equations at their q = 0 solution.

    ``jacobian`` is symbolic in (g, gamma); a branch with q > 0 can leave the q = 0 solution
    only where det vanishes. ``solution`` holds the closed-form q = 0 values.
    """

    jacobian: sp.Matrix
    solution: dict
    order_params: tuple

    def det(self, g_value, gamma_value) -> float:
        J = self.jacobian.subs({g: sp.nsimplify(g_value), gamma: sp.nsimplify(gamma_value)})
        return float(sp.N(J.evalf(30).det(), 20))


def collapsed_linearisation(derived) -> CollapsedLinearisation:
    """Linearise every collapsed (laplace) equation around its q = 0 solution (eta = 0).

    At q = 0 the fields vanish and x* = 0 (phi odd); the Gaussian average of a site
    observable O(x*(A, B0), A, B0) is expanded to first order in the field covariance
    C = [[g^2 q, kappa], [kappa, Qh0]], E O = O(0) + (1/2) sum_ij C_ij d_i d_j O(0), with
    x* = a_A A + a_B B0 + O(3) from H_x = 0 (implicit differentiation). The other order
    parameters take the closed-form q = 0 values of ``response_line``.
    """
    from ..symbols import eta as eta_sym
    _, _, sol = _collapsed_q_zero(derived)
    names = {s_.name: s_ for s_ in derived.order_params}
    Qh0_, kap = names["Qh0"], names["kappa"]
    A_, B_ = derived.fields
    H = derived.H.subs(eta_sym, 0)
    Hx = sp.diff(H, x)
    at0 = {A_: 0, B_: 0, x: 0}
    Hxx0 = sp.diff(Hx, x).subs(at0)
    aA, aB = -sp.diff(Hx, A_).subs(at0) / Hxx0, -sp.diff(Hx, B_).subs(at0) / Hxx0

    def linear_average(O):
        Ox = O.subs(eta_sym, 0).subs(x, aA * A_ + aB * B_)
        d2 = lambda *v: sp.diff(Ox, *v).subs({A_: 0, B_: 0})  # noqa: E731
        return (Ox.subs({A_: 0, B_: 0})
                + (g**2 * q * d2(A_, A_) + 2 * kap * d2(A_, B_) + Qh0_ * d2(B_, B_)) / 2)

    F = [e.const.subs(eta_sym, 0) + sum(c * linear_average(derived.observables[k]) for c, k in e.averages)
         for e in derived.equations]
    theta = tuple(derived.order_params)
    J = sp.Matrix([[sp.diff(f, v) for v in theta] for f in F])
    point = {**sol, q: 0, Qh0_: 0, kap: 0}
    return CollapsedLinearisation(J.subs(point), sol, theta)
