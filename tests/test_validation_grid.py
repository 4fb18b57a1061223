"""RS theory against Langevin/MALA at beta = 2: a subset of benchmarks/validation_grid.py.

The points and the run settings are those of the grid (docs/validation_grid.md), where
these points agree within 3 error bars for q and energy; the seeds fix the runs, so this
test re-runs exactly those comparisons through the same harness."""
import pytest

from numerics.validate import replica_theory, validate

POINTS = [dict(g=0.8, gamma=0.5, beta=2.0, eta=0.0),
          dict(g=1.2, gamma=0.0, beta=2.0, eta=0.1),
          dict(g=1.2, gamma=0.5, beta=2.0, eta=0.1)]


@pytest.mark.slow
def test_rs_theory_against_simulation_beta2(tmp_path):
    """q and energy, N = 250, 500, 1000 extrapolated in 1/N, within 3 error bars."""
    theory = replica_theory("tanh")
    t = validate(POINTS, Ns=(250, 500, 1000), theory=theory, phi="tanh", seeds=(0, 1, 2),
                 steps=15000, burn=3000, replicas=2, thin=10, dt=0.05,
                 csv_path=tmp_path / "grid.csv")
    assert t.check(("q", "energy"), nsigma=3.0) == 2 * len(POINTS)
