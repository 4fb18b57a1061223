"""Steps 5-7: Gaussian integration of the auxiliary fields, decoupling, free energy functional.

Per site, after steps 1-4, the replicated weight is

    ∫ prod_a dx_a dy_a (2 pi beta)^(-n/2) exp( -1/2 y^T M y + i sum_a y_a w_a + sum_a h0(x_a)
                                               + (Qh/2) (S_p^2 - sum_a p_a^2) ),
    w_a = x_a - I - kh - rho p_a - Rh S_p,   rho = rh - Rh,   p_a = phi(x_a),  S_p = sum_a p_a,
    M = I/beta + g^2 Q_ab,   h0(x) = -beta U(x) - qh phi(x)^2 (- mh phi(x)).

Step 5 integrates y with the RS closed forms: det(beta M)^(-1/2) exp(-1/2 w^T M^-1 w).
Step 6 writes what couples replicas as 1/2 T^T C T + b^T T in the replica sums
T = (S_s, S_p), S_s = sum_a s_a with s_a = x_a - I - kh - rho p_a, decouples it with a Gaussian
vector zeta ~ N(b, C) (n -> 0 values), and completes the square in s: the site
Hamiltonian depends on two Gaussian fields

    A = I + kh + zeta_s / alpha   (x slot),     B = zeta_p   (phi slot),   alpha = beta / sigma^2,

and the quenched input I ~ N(I0, sI^2) joins A. Step 7 assembles

    -beta f = G(theta) + E_{A,B} ln ∫ dx exp(H(x; A, B, theta)).
"""
from __future__ import annotations

import sympy as sp

from ..model import Model
from ..symbols import (I0, Q, Qh, Rh, beta, g, kh, mh, n, q, qh, rh, sI, x)
from .action import y_coupling_matrix
from .algebra import RSMatrix, ReplicaSums, n_to_zero
from .step import Step

#: single-replica placeholders and their replica sums
s_, p_ = sp.symbols("s p", real=True)
S_s, S_p = sp.symbols("S_s S_p", real=True)
SUMS = ReplicaSums((s_, p_), (S_s, S_p))

#: field symbols of the site Hamiltonian
A, B = sp.symbols("A B", real=True)
FIELDS = (A, B)


def gaussian_integration(model: Model) -> Step:
    """Step 5: ∫ d^n y (2 pi beta)^(-n/2) exp(-1/2 y^T M y + i y.w) = det(beta M)^(-1/2) exp(-1/2 w^T M^-1 w)."""
    M = y_coupling_matrix()
    betaM = RSMatrix(beta * M.a, beta * M.b)
    Minv = M.inverse()
    w = s_ - Rh * S_p                                   # w_a with the per-replica part in s_a
    sq_per, sq_coll = SUMS.replica_sum(w**2)            # sum_a w_a^2
    tot_per, tot_coll = SUMS.replica_sum(w)             # sum_a w_a
    if tot_per != s_:
        raise AssertionError("unexpected per-replica part of sum_a w_a")
    total = S_s + tot_coll                              # sum_a w_a through replica sums
    exponent_per = -Minv.a * sq_per / 2
    exponent_coll = -(Minv.a * sq_coll + Minv.b * total**2) / 2
    logdet = -betaM.logdet() / 2
    sigma2 = sp.simplify(beta * M.a)
    return Step("5", "Gaussian integration of y",
                (("sigma^2", sigma2), ("per replica", exponent_per),
                 ("replica coupling", sp.simplify(exponent_coll)), ("-1/2 ln det(beta M)", logdet)),
                note="w_a = s_a - Rh S_p; M = a I + b 11^T with a = sigma^2/beta, b = g^2 Q")


def decoupling(model: Model, gi: Step) -> Step:
    """Step 6: collective quadratic form in T = (S_s, S_p), its n -> 0 limit, decoupling, fields."""
    coll = gi["replica coupling"] + Qh / 2 * S_p**2
    if model.mean_coupling:
        coll += 0  # -mh sum_a p_a is per replica (see h0)
    C, bvec, const = SUMS.collective_form(coll)
    C0 = C.subs(n, 0).applyfunc(sp.simplify)
    b0 = bvec.subs(n, 0).applyfunc(sp.simplify)
    if sp.simplify(const.subs(n, 0)) != 0:
        raise AssertionError("the replica coupling has an O(1) constant at n = 0")
    const_n = n_to_zero(const)
    # per-replica part: from w^T M^-1 w, the Qh diagonal, and h0
    per = gi["per replica"] - Qh / 2 * p_**2 - qh * p_**2
    if model.mean_coupling:
        per += -mh * p_
    alpha = sp.simplify(-2 * sp.expand(per).coeff(s_, 2))
    lin_s = sp.expand(per).coeff(s_, 1)
    if lin_s != 0:
        raise AssertionError(f"unexpected linear s term {lin_s}")
    rest = sp.simplify(sp.expand(per) + alpha / 2 * s_**2)     # the p-only part
    # fields: A = I + kh + zeta_s/alpha, B = zeta_p ; zeta ~ N(b0, C0)
    mean_A = I0 + (kh if model.mean_coupling else 0) + b0[0] / alpha
    mean_B = b0[1]
    var_A = C0[0, 0] / alpha**2 + (sI**2 if model.quenched_input else 0)
    cov_AB = C0[0, 1] / alpha
    var_B = C0[1, 1]
    if not model.quenched_input:
        mean_A = mean_A.subs(I0, 0)
    # completing the square: -alpha/2 s^2 + zeta_s s = -alpha/2 (s - zeta_s/alpha)^2 + zeta_s^2/(2 alpha)
    square_const = (C0[0, 0] + b0[0]**2) / (2 * alpha)
    return Step("6", "decoupling of the replica sums and completing the square",
                (("C (n=0)", C0), ("b (n=0)", b0), ("alpha", alpha), ("p-terms", rest),
                 ("field means", sp.Matrix([mean_A, mean_B]).applyfunc(sp.simplify)),
                 ("field covariance", sp.Matrix([[var_A, cov_AB], [cov_AB, var_B]]).applyfunc(sp.simplify)),
                 ("O(n) constant", const_n), ("E[zeta_s^2]/(2 alpha)", sp.simplify(square_const))),
                note="exp(T^T C T/2 + b.T) = E_zeta exp(zeta.T), zeta ~ N(b, C); s_a = x_a - I - kh - rho phi(x_a)")


def functional(model: Model, ent: Step, gi: Step, dec: Step) -> Step:
    """Step 7: G(theta) and H(x; A, B, theta) with -beta f = G + E_{A,B} ln ∫ dx exp(H)."""
    rho = rh - Rh
    sigma2 = gi["sigma^2"]
    alpha = dec["alpha"]
    phi = model.phi
    H = (-alpha / 2 * (x - rho * phi - A)**2 + dec["p-terms"].subs(p_, phi) + B * phi
         - beta * model.U)
    G = (ent["G_entropic"] + n_to_zero(gi["-1/2 ln det(beta M)"]) + dec["O(n) constant"]
         + dec["E[zeta_s^2]/(2 alpha)"])
    G = sp.simplify(sp.expand_log(G, force=True))
    return Step("7", "free energy functional",
                (("G", G), ("H", H), ("sigma^2", sigma2)),
                note="-beta f = G + E_{A,B} ln ∫ dx exp(H(x; A, B)); (A, B) Gaussian with the step-6 mean and covariance")
