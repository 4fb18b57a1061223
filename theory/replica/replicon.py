"""Step 10: stability of a replica-symmetric solution in the replicon sector.

Undo step 5 for the pair terms: per site the replicas carry (x_a, y_a) and the off-diagonal
part of the replicated action couples them only through the overlaps of step 3,

    site:   c_y  sum_{a != b} Q_ab y^a y^b  +  sum_{a<b} Qh_ab phi^a phi^b
            - sum_{a != b} Rh_ab (i y^a) phi^b,
    per N:  -sum_{a<b} Qh_ab Q_ab + sum_{a != b} Rh_ab R_ab + c_R sum_{a != b} R_ab R_ba,

with c_y (= -g^2/2) and c_R (= g^2 gamma/2) the step-3 coefficients. The quadratic site
form is decoupled by Gaussian fields: replica a sees (A_a, B_a), A entering H through
x - rho phi - A (A couples to -i y), B through B phi. Their covariance between two
different replicas a != b is

    C_ab = [[cov(A_a, A_b), cov(A_a, B_b)],     = [[-2 c_y Q_ab, Rh_ab],
            [cov(B_a, A_b), cov(B_a, B_b)]]        [Rh_ba,       Qh_ab]],

which at the RS point is step 6's field covariance [[g^2 Q, Rh], [Rh, Qh]]. With the
single-replica observables O_A = dH/dA (= -i y in the mean) and O_B = dH/dB (= phi) and
the pair correlations S^{ab}_{al be} = <O_al^a O_be^b>, stationarity in Q_ab, Qh_ab, R_ab,
Rh_ab gives

    Q_ab = S_BB,  Qh_ab = -2 c_y S_AA,  R_ab = -S_AB,  Rh_ab = 2 c_R S_BA,

i.e. the linear "energetic" map C = W S on the pair components (AA, AB, BA, BB):

    C_AA = -2 c_y S_BB,   C_AB = 2 c_R S_BA,   C_BA = 2 c_R S_AB,   C_BB = -2 c_y S_AA.

The "entropic" map is Gaussian integration by parts: for a != b, S = E[<O>_a <O>_b] and a
change of the cross-covariance of the fields of replicas a and b changes it by

    dS_{al be} = sum_{ga de} E[ K_{al ga} K_{be de} ] dC_{ga de},
    K_{al ga} = d<O_al>/dF_ga = <H_{al ga}> + <O_al O_ga> - <O_al><O_ga>,

the Hessian of ln ∫ dx exp(H) in the fields (F = A, B), averaged over the RS fields. In
the replicon sector (pair fluctuations with vanishing row sums) the diagonal overlaps
and the RS (longitudinal) directions drop out, so the replicon stability matrix is the
4 x 4

    Lambda = W M,   M_{(al be),(ga de)} = E[K_{al ga} K_{be de}],

and replica symmetry is stable while no eigenvalue of Lambda has reached 1 (de Almeida-
Thouless: det(1 - Lambda) = 0 on the instability line). Lambda commutes with the swap
(al be) -> (be al), so it splits into a 3 x 3 even block (AA, (AB+BA)/sqrt2, BB) and a 1 x 1
odd block ((AB-BA)/sqrt2). The connected overlap susceptibility, the response of Q_ab to
a pair tilt eps sum_i phi_i^a phi_i^b (which adds eps to C_BB), is

    chi_SG = (1/N) sum_ij (<phi_i phi_j> - <phi_i><phi_j>)^2 = [M (1 - W M)^-1]_{BB,BB},

finite on the stable side and divergent on the instability line. At a Q = 0 solution all
off-diagonal sectors coincide, so there Lambda's even block must reproduce the
linearised RS equations (``numerics.stability``).
"""
from __future__ import annotations

import sympy as sp

from ..symbols import x
from .gaussian import A, B
from .step import Step

#: order of the pair components in M, W and Lambda
PAIR_BASIS = ("AA", "AB", "BA", "BB")

#: centring constants of the connected moments (per-node parameters of the kernel)
a0, b0 = sp.symbols("a0 b0", real=True)

_yQy = sp.Symbol("Sigma_ab(Q_ab*y^a*y^b)")
_RR = sp.Symbol("Sigma_ab(R_ab*R_ba)")


def coupling_coefficients(step3: Step) -> tuple[sp.Expr, sp.Expr]:
    """(c_y, c_R) read off step 3: the site y-coupling c_y sum_ab Q_ab y^a y^b and the
    N-extensive c_R sum_ab R_ab R_ba."""
    c_y = sp.expand(step3["site y-coupling"]).coeff(_yQy, 1)
    c_R = sp.expand(step3["action per N"]).coeff(_RR, 1)
    if c_y == 0 or c_y.has(_yQy) or c_R.has(_RR):
        raise AssertionError(f"unexpected step-3 couplings: {step3.equations}")
    return sp.simplify(c_y), sp.simplify(c_R)


def energetic_map(step3: Step) -> sp.Matrix:
    """W with C = W S on the pair components (AA, AB, BA, BB) (module docstring)."""
    c_y, c_R = coupling_coefficients(step3)
    W = sp.zeros(4, 4)
    W[0, 3] = W[3, 0] = -2 * c_y
    W[1, 2] = W[2, 1] = 2 * c_R
    return W


def field_derivatives(H: sp.Expr) -> dict:
    """O_A, O_B and the curvatures H_AA, H_AB, H_BB of the site Hamiltonian."""
    OA, OB = sp.diff(H, A), sp.diff(H, B)
    return {"O_A": OA, "O_B": OB, "H_AA": sp.diff(OA, A), "H_AB": sp.diff(OA, B),
            "H_BB": sp.diff(OB, B)}


def replicon_step(derived) -> Step:
    """Step 10 for a finite-temperature derived model: K, W and Lambda = W M."""
    if derived.kind != "finite":
        raise ValueError("the replicon step is derived at finite beta (kind='finite'); "
                         f"got kind={derived.kind!r}")
    fd = field_derivatives(derived.H)
    W = energetic_map(derived.step("3"))
    al, ga = sp.symbols("alpha gamma_", cls=sp.Idx)
    K = sp.Function("K")
    return Step("10", "replicon stability of the RS solution",
                (("O_A = dH/dA", fd["O_A"]), ("O_B = dH/dB", fd["O_B"]),
                 ("H_AA", fd["H_AA"]), ("H_AB", fd["H_AB"]), ("H_BB", fd["H_BB"]),
                 ("K", sp.Eq(K(al, ga), sp.Symbol("<H_{alpha gamma}> + <O_alpha O_gamma>_c"))),
                 ("W (basis AA, AB, BA, BB)", W),
                 ("Lambda", sp.Symbol("W E[K (x) K]")),
                 ("stable while", sp.Symbol("max eig Lambda < 1"))),
                note="pair fluctuations dC_ab of the field covariance: dC <- W E[K(x)K] dC")


def site_outputs(derived) -> tuple[tuple[sp.Expr, ...], tuple[str, ...], tuple[sp.Symbol, ...]]:
    """Outputs, names and parameters of the replicon site kernel.

    Rows H, H_x, H_xx (the site-kernel contract of ``numerics.maximiser``), then
    O_A, O_B, (O_A - a0)^2, (O_A - a0)(O_B - b0), (O_B - b0)^2, H_AA, H_AB, H_BB.
    Parameters: (A, B, a0, b0) first, so a per-node centring rides with the fields,
    then the order parameters and controls.
    """
    if derived.kind != "finite":
        raise ValueError("the replicon kernel needs kind='finite'")
    H = derived.H
    fd = field_derivatives(H)
    Hx = sp.diff(H, x)
    dA, dB = fd["O_A"] - a0, fd["O_B"] - b0
    outputs = (H, Hx, sp.diff(Hx, x), fd["O_A"], fd["O_B"], dA**2, dA * dB, dB**2,
               fd["H_AA"], fd["H_AB"], fd["H_BB"])
    names = ("H", "H_x", "H_xx", "O_A", "O_B", "dA2", "dAdB", "dB2", "H_AA", "H_AB", "H_BB")
    params = (A, B, a0, b0) + tuple(derived.order_params) + tuple(derived.controls)
    return outputs, names, params


__all__ = ["PAIR_BASIS", "coupling_coefficients", "energetic_map", "field_derivatives",
           "replicon_step", "site_outputs", "a0", "b0"]
