"""Steps 1-4: auxiliary field, disorder average, order parameters, replica-symmetric ansatz.

Starting point (THEORY.md section 2; Qiu & Huang, arXiv 2401.10009):

    Z = ∫ dx exp(-beta E(x)),  E = 1/2 sum_i a_i^2 + sum_i U(x_i),  a_i = x_i - g (J phi)_i - I_i.

Step 1 writes each square with an auxiliary field y (verified here by sympy integration),
step 2 averages Z^n over the Gaussian couplings (pair moment generating function, computed
symbolically), step 3 introduces the overlaps that make the action site-separable, step 4
takes the replica-symmetric ansatz and keeps the O(n) term of the "entropic" part.

Conjugate conventions (documented once, used everywhere): the delta functions are
represented as

    exp( qh (N q - sum_j phi_j^a phi_j^a) )                    per replica a,
    exp(-Qh (N Q - sum_j phi_j^a phi_j^b) )                    per pair a < b,
    exp( rh (N r - sum_i i y_i^a phi_i^a) )                    per replica a,
    exp( Rh (N R - sum_i i y_i^a phi_i^b) )                    per ordered pair a != b,
    exp( mh (N m - sum_j phi_j^a) ),  exp( kh (N k - sum_i i y_i^a) )   (J0 != 0),

which reproduces THEORY.md's RS free energy with the same signs (rho = rh - Rh).
"""
from __future__ import annotations

import sympy as sp

from ..model import Model
from ..symbols import (J0, Q, R, Qh, Rh, beta, g, gamma, k, kh, m, mh, n, q, qh, r, rh)
from .algebra import RSMatrix, n_to_zero
from .step import Step

# index-free stand-ins used in the displayed equations
_y, _a, _N = sp.symbols("y a N", real=True)
_A12, _A21 = sp.symbols("A_ij A_ji")


def auxiliary_field() -> Step:
    """Step 1: exp(-(beta/2) a^2) = (2 pi beta)^(-1/2) ∫ dy exp(-y^2/(2 beta) + i y a)."""
    lhs = sp.exp(-beta * _a**2 / 2)
    integral = sp.integrate(sp.exp(-_y**2 / (2 * beta) + sp.I * _y * _a), (_y, -sp.oo, sp.oo))
    rhs = sp.simplify(integral / sp.sqrt(2 * sp.pi * beta))
    ok = sp.simplify(rhs - lhs) == 0
    if not ok:
        raise AssertionError("Hubbard-Stratonovich identity failed")
    return Step("1", "auxiliary field for each square",
                (("exp(-beta a^2/2)", sp.Eq(lhs, sp.Integral(
                    sp.exp(-_y**2 / (2 * beta) + sp.I * _y * _a), (_y, -sp.oo, sp.oo))
                    / sp.sqrt(2 * sp.pi * beta))),),
                note="a_i = x_i - g (J phi)_i - I_i; the J-dependence is now linear: -i g sum_ij J_ij y_i phi_j",
                checks=(("sympy integral equals exp(-beta a^2/2)", ok),))


def disorder_average(model: Model) -> Step:
    """Step 2: E_J exp(-i g sum_ij J_ij A_ij), A_ij = sum_a y_i^a phi_j^a.

    For one pair (J_ij, J_ji) with mean J0/N and covariance (1/N)[[1, gamma], [gamma, 1]]
    the moment generating function gives exp(t.mu + t^T Sigma t / 2), t = -i g (A_ij, A_ji).
    Summing over pairs i < j: sum_{i<j}(A_ij^2 + A_ji^2) = sum_ij A_ij^2 and
    sum_{i<j} 2 A_ij A_ji = sum_ij A_ij A_ji (diagonal terms are O(1/N) and dropped).
    """
    mean = J0 / _N if model.mean_coupling else 0
    mu = sp.Matrix([mean, mean])
    Sigma = sp.Matrix([[1, gamma], [gamma, 1]]) / _N
    t = -sp.I * g * sp.Matrix([_A12, _A21])
    cgf = sp.expand((t.T * mu)[0] + (t.T * Sigma * t)[0] / 2)
    c_sq = cgf.coeff(_A12, 2)                      # multiplies A_ij^2 (and A_ji^2)
    c_cross = cgf.coeff(_A12, 1).coeff(_A21, 1) / 2  # per ordered pair: half the A_ij A_ji coefficient
    c_lin = cgf.coeff(_A12, 1).subs(_A21, 0)
    sumA2, sumAA, sumA = sp.symbols("Sigma_ij(A_ij^2) Sigma_ij(A_ij*A_ji) Sigma_ij(A_ij)")
    exponent = c_sq * sumA2 + c_cross * sumAA + c_lin * sumA
    return Step("2", "average over the couplings",
                (("pair cumulant", cgf), ("log E_J", exponent),
                 ("c_sq", c_sq), ("c_cross", c_cross), ("c_lin", c_lin)),
                note="quadratic form in A_ij = sum_a y_i^a phi_j^a")


def order_parameters(model: Model, avg: Step) -> Step:
    """Step 3: the overlaps that make the averaged action site-separable.

    sum_ij A_ij^2 = N sum_ab Q_ab sum_i y_i^a y_i^b           (y stays quadratic per site),
    sum_ij A_ij A_ji = N^2 sum_ab P_ab P_ba,  P_ab = (1/N) sum_i y_i^a phi_i^b = -i R_ab,
    sum_ij A_ij = N^2 sum_a (-i k_a) m_a.
    Per site and per N this gives: -(g^2/2) sum_ab Q_ab y^a y^b, N (g^2 gamma/2) sum_ab R_ab R_ba
    and -g J0 N sum_a k_a m_a.
    """
    c_sq, c_cross, c_lin = avg["c_sq"], avg["c_cross"], avg["c_lin"]
    yQy, RR, km = sp.symbols("Sigma_ab(Q_ab*y^a*y^b) Sigma_ab(R_ab*R_ba) Sigma_a(k_a*m_a)")
    site_y = sp.simplify(c_sq * _N) * yQy                   # per site
    per_N = sp.simplify(c_cross * _N**2 * (-1) / _N) * RR   # P P = -R R
    if model.mean_coupling:
        per_N += sp.simplify(c_lin * _N**2 * (-sp.I) / _N) * km
    return Step("3", "order parameters", (("site y-coupling", site_y), ("action per N", per_N)),
                note="Q_ab = (1/N) sum phi^a phi^b, R_ab = (1/N) sum i y^a phi^b (+ m_a, k_a for J0)")


def rs_entropic(model: Model, op: Step) -> Step:
    """Step 4: replica-symmetric ansatz of the N-extensive terms and their O(n) part.

    With Q_aa = q, Q_{a!=b} = Q, R_aa = r, R_{a!=b} = R:
    sum_ab R_ab R_ba = n r^2 + n (n-1) R^2; the delta-function terms give
    n qh q - n(n-1)/2 Qh Q + n rh r + n(n-1) Rh R (+ n (mh m + kh k)).
    """
    RR, km = sp.symbols("Sigma_ab(R_ab*R_ba) Sigma_a(k_a*m_a)")
    action = op["action per N"]
    coupling = action.subs({RR: n * r**2 + n * (n - 1) * R**2, km: n * k * m})
    deltas = n * qh * q - n * (n - 1) / 2 * Qh * Q + n * rh * r + n * (n - 1) * Rh * R
    if model.mean_coupling:
        deltas += n * (mh * m + kh * k)
    total = coupling + deltas
    G_ent = n_to_zero(total)
    return Step("4", "replica-symmetric ansatz, entropic part, n -> 0",
                (("RS action per N", sp.expand(total)), ("G_entropic", G_ent)),
                note="coefficient of n")


def y_coupling_matrix() -> RSMatrix:
    """The RS matrix M of the y-quadratic form -1/2 y^T M y: M = I/beta + g^2 Q_ab."""
    return RSMatrix.from_entries(1 / beta + g**2 * q, g**2 * Q)
