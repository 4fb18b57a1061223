"""benchmarks/decisive_experiment.py: the power-law fit of q against beta."""
import numpy as np
import pytest


def test_fit_exponents_recovers_an_exact_power_law(bench_script):
    """q = c beta^-p exactly gives p, chi^2 = 0 and local slopes p; a curved q (local slopes
    drifting) gives chi^2 > 0; points with q <= 0 or a single beta are skipped."""
    mod = bench_script("decisive_experiment")
    betas = [10.0, 30.0, 100.0, 300.0, 1000.0]
    rows = [dict(N=1000, gamma=0.3, g=0.82, beta=b, q=0.9 * b ** -0.47, q_err=1e-4) for b in betas]
    rows += [dict(N=1000, gamma=0.3, g=0.95, beta=b, q=0.9 * b ** -0.3 / (1 + b / 300), q_err=1e-4)
             for b in betas]
    rows += [dict(N=1000, gamma=0.0, g=1.2, beta=10.0, q=0.2, q_err=1e-3)]        # one beta
    rows += [dict(N=500, gamma=0.3, g=0.82, beta=b, q=q, q_err=1e-3)
             for b, q in ((10.0, 0.1), (30.0, 0.0))]                               # q = 0
    fits = mod.fit_exponents(rows)
    assert [(f["N"], f["g"]) for f in fits] == [(1000, 0.82), (1000, 0.95)]
    exact, curved = fits
    assert exact["p"] == pytest.approx(0.47, rel=1e-10)
    assert exact["chi2_dof"] == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(exact["local_slopes"], 0.47)
    assert curved["chi2_dof"] > 100 and np.all(np.diff(curved["local_slopes"]) > 0)
