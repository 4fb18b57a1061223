"""Replicon stability of RS solutions (theory.replica.replicon, numerics.replicon)."""
import math

import numpy as np
import pytest
import sympy as sp

from numerics.continuation import solve
from numerics.couplings import couplings
from numerics.replicon import replicon
from numerics.stability import q_zero_instability
from theory.kernels import derived_model
from theory.model import ModelError, Point, make_model
from theory.replica.replicon import energetic_map, replicon_step
from theory.symbols import g, gamma


def test_energetic_map_from_step3_couplings():
    """W pairs (AA <-> BB) with g^2 and (AB <-> BA) with g^2 gamma, nothing else."""
    d = derived_model(make_model("tanh"))
    W = energetic_map(d.step("3"))
    expected = sp.Matrix([[0, 0, 0, g**2], [0, 0, g**2 * gamma, 0],
                          [0, g**2 * gamma, 0, 0], [g**2, 0, 0, 0]])
    assert sp.simplify(W - expected) == sp.zeros(4, 4)
    step = replicon_step(d)
    assert "Lambda" in step.text() and step.latex()
    with pytest.raises(ValueError):
        replicon_step(d.zero_temperature("laplace"))


@pytest.mark.parametrize("model, point", [
    (make_model("tanh", quenched_input=True), Point(g=1.3, gamma=0.4, beta=5, eta=0.1, I0=0.3, sI=0.5)),
    (make_model("tanh"), Point(g=1.6, gamma=-0.5, beta=10)),
    (make_model("tanh", mean_coupling=True, quenched_input=True),
     Point(g=1.0, gamma=0.2, beta=4, eta=0.05, J0=0.5, I0=0.3, sI=0.5)),
])
def test_rs_pair_relations_hold_at_q_positive_solutions(model, point):
    """At a converged Q > 0 solution the field covariance equals W E[<O><O>] (Q = E<phi>^2,
    Qh = g^2 E<O_A>^2, Rh = g^2 gamma E[<O_A><O_B>]): an independent check of W's signs."""
    r = solve(model, point)
    assert r.success and r.x["Q"] > 1e-3
    rep = replicon(model, point, r)
    assert rep.success
    assert rep.rs_residual < 1e-10
    # the swap-odd eigenvalue is one of Lambda's eigenvalues
    assert min(abs(np.asarray(rep.eigenvalues) - rep.odd[0])) < 1e-10


@pytest.mark.parametrize("gam", [-0.5, 0.0, 0.5])
def test_linear_phi_overlap_susceptibility_matches_exact_finite_n(gam):
    """Linear phi: chi_SG = (1/N) Tr[C^2], C = (beta (A^T A + 2 eta))^-1, exactly at finite N;
    the replicon propagator [M (1 - W M)^-1]_BB,BB must agree within the sample spread
    (plus an O(1/N) allowance: the finite-N values drift by < 0.5/N relative, measured
    over N = 250 ... 2000)."""
    pt = Point(g=0.8, gamma=gam, beta=2.0, eta=0.2)
    r = solve("linear", pt)
    rep = replicon("linear", pt, r)
    assert rep.success and rep.stable
    N, vals = 1500, []
    for s in range(4):
        J = couplings(N, gam, rng=np.random.default_rng(10 + s))
        A = np.eye(N) - pt.g * J
        C = np.linalg.inv(pt.beta * (A.T @ A + 2 * pt.eta * np.eye(N)))
        vals.append(np.einsum("ij,ji->", C, C) / N)
    mean, sem = np.mean(vals), np.std(vals, ddof=1) / math.sqrt(len(vals))
    assert abs(rep.chi_sg - mean) < 4 * sem + 1.0 / N * mean, (rep.chi_sg, mean, sem)


def test_q_zero_replicon_vanishes_where_linearised_rs_equations_go_singular():
    """At Q = 0 all off-diagonal sectors coincide: the replicon crosses 0 at the g where the
    independent finite-difference Jacobian of numerics.stability changes sign (gamma=-0.3)."""
    from scipy.optimize import brentq

    def rep(gv):
        pt = Point(g=gv, gamma=-0.3, beta=10.0)
        return replicon("tanh", pt, solve("tanh", pt, branch="paramagnetic")).replicon

    g_rep = brentq(rep, 1.3, 1.45, xtol=1e-8)
    g_det = q_zero_instability("tanh", -0.3, 10.0, 1.3, 1.45, xtol=1e-8)
    assert abs(g_rep - g_det) < 1e-5, (g_rep, g_det)


def test_q_positive_branch_for_negative_gamma_breaks_replica_symmetry():
    """gamma = -0.3, g = 1.5: both the Q = 0 and the Q > 0 RS solutions have a negative
    replicon (the even eigenvalue that crossed 1 at the bifurcation stays above 1), and a
    stable point below the bifurcation is stable: the sign is not fixed by construction."""
    pt = Point(g=1.5, gamma=-0.3, beta=30.0)
    full = solve("tanh", pt)
    para = solve("tanh", pt, branch="paramagnetic")
    assert full.x["Q"] > 0.05
    r_full, r_para = replicon("tanh", pt, full, refine=True), replicon("tanh", pt, para)
    assert r_full.replicon < -0.01 and r_para.replicon < -0.01
    assert r_full.quadrature_error < 1e-10
    below = Point(g=1.1, gamma=-0.3, beta=30.0)
    assert replicon("tanh", below, solve("tanh", below, branch="paramagnetic")).replicon > 0.1


def test_bad_input():
    pt = Point(g=1.0, beta=5.0)
    with pytest.raises(ModelError):
        replicon("tanh", {"g": 1.0}, {})
    res = replicon("tanh", Point(g=1.0, beta=math.inf), {})
    assert not res.success and "finite beta" in res.message
    res = replicon("tanh", pt, {"q": math.nan})
    assert not res.success and "non-finite" in res.message


def test_branches_classify_physical_and_broken_points():
    from numerics.branches import branches
    broken = branches("tanh", Point(g=1.5, gamma=-0.3, beta=30.0))
    assert [b.name for b in broken.branches] == ["Q = 0", "Q > 0"]
    assert broken.rs_broken and broken.physical is None
    assert all(b.solution.success and b.solution.residual_norm < 1e-10 for b in broken.branches)
    ok = branches("tanh", Point(g=1.2, gamma=0.0, beta=100.0))
    assert not ok.rs_broken and ok.physical.name == "Q = 0"
    assert ok.physical.replicon.replicon > 0.01
    with pytest.raises(ModelError):
        branches("tanh", Point(g=1.2, beta=math.inf))


def test_cli_solve_reports_replicon_and_branches(capsys):
    import json

    from numerics.cli import main
    assert main(["solve", "--g", "1.5", "--gamma", "-0.3", "--beta", "30", "--branches", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rs_broken"] is True and len(out["branches"]) == 2
    assert all(b["replicon"]["stable"] is False for b in out["branches"])
    assert main(["solve", "--g", "0.8", "--beta", "10", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["replicon_stable"] is True and out["replicon"] > 0
