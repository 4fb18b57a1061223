"""benchmarks/overlap_distribution.py at g = 0, where the measure factorises and the overlap
moments have closed forms.

At g = 0, E = |x|^2/2, so x_i ~ N(0, 1/beta) independently in each replica. With
m_k = E tanh(z/sqrt(beta))^k: q = m_2; Q = (1/N) sum_i w_i with w_i = phi(a_i) phi(b_i) iid,
<w^2> = m_2^2, <w^4> = m_4^2, hence N<Q^2> = m_2^2 and
B = (3 - <Q^4>/<Q^2>^2)/2 = (3 - m_4^2/m_2^4)/(2N).
"""
import math

import numpy as np
import pytest
from scipy.integrate import quad

from numerics.stats import Estimate, assert_within


def _moment(k, beta):
    s = 1 / math.sqrt(beta)
    return quad(lambda z: math.tanh(s * z) ** k * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                -12, 12)[0]


def _est(d):
    return Estimate(d["mean"], d["err"])


def test_overlap_moments_at_g0_match_closed_forms(bench_script, tmp_path):
    mod = bench_script("overlap_distribution")
    N, beta = 40, 1.0
    r = mod.run_one(N, 3, 0.0, 0.0, beta, 0.5, 0.0, 40000, 2000, 10, progress=False)
    m2, m4 = _moment(2, beta), _moment(4, beta)
    assert_within(_est(r["q"]), m2, nsigma=4, what="q")
    assert_within(_est(r["NQ2"]), m2 ** 2, nsigma=4, what="N<Q^2>")
    assert_within(_est(r["binder"]), (3 - m4 ** 2 / m2 ** 4) / (2 * N), nsigma=4, what="B")
    # every rung of the ladder samples its own beta
    for rung in r["ladder"]:
        b = rung["beta"]
        assert_within(_est(rung["q"]), _moment(2, b), nsigma=4, what=f"q at beta={b}")
        assert_within(_est(rung["energy"]), 1 / (2 * b), nsigma=4, what=f"e at beta={b}")
    assert sum(r["Q_hist"]) <= r["samples"] and r["round_trips"] > 0
    # the disorder means and ladder profiles of two such runs
    r2 = mod.run_one(N, 4, 0.0, 0.0, beta, 0.5, 0.0, 4000, 500, 10, progress=False)
    m = mod.disorder_means([r, r2])[N]
    assert m["J"] == 2 and m["round_trips_min"] == min(r["round_trips"], r2["round_trips"])
    assert m["q"]["mean"] == pytest.approx(0.5 * (r["q"]["mean"] + r2["q"]["mean"]))
    prof = mod.ladder_profiles([r, r2])[N]
    assert len(prof) == len(r["ladder"])
    top = prof[-1]
    assert top["eps"]["mean"] == pytest.approx(
        np.mean([2 * beta * x["ladder"][-1]["energy"]["mean"] - 1 for x in (r, r2)]))
    # the report: tables and figure from the JSON; the RS q per rung is the g = 0 closed form
    mod.OUT, mod.MD, mod.PNG = (str(tmp_path / n) for n in ("o.json", "o.md", "o.png"))
    mod._save({"meta": {"commands": ["test"]}, "runs": [r, r2]})
    mod.report(mod._load())
    rs = mod._load()["rs_q"]
    assert len(rs) == len(r["ladder"])
    for rung in r["ladder"]:
        assert rs[mod._rs_key(0.0, 0.0, 0.0, rung["beta"])] == pytest.approx(_moment(2, rung["beta"]), rel=1e-8)
    md = (tmp_path / "o.md").read_text()
    assert md.count(f"| {N} | 3 |") == 1 and "<!-- notes -->" in md and (tmp_path / "o.png").stat().st_size > 0
