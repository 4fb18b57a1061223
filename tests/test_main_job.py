"""The README's main job on its quick setting: files written, lines and simulation check sane."""
import json

from numerics.cli import main


def test_edge_of_chaos_quick(tmp_path):
    assert main(["edge-of-chaos", "--quick", "--out", str(tmp_path), "--json"]) == 0
    summary = json.loads((tmp_path / "edge_of_chaos.json").read_text())
    assert (tmp_path / "edge_of_chaos.png").stat().st_size > 10_000
    for row in summary["lines"]:
        assert abs(float(row["g_chi_times_1_plus_gamma"]) - 1) < 1e-15
        assert abs(row["g_q_times_sqrt_1_plus_gamma"] - 1) < 1e-5
    dev = summary["check"]["deviation_in_error_bars"]
    # N = 300 without finite-size extrapolation: allow O(1/N) on top of 4 error bars
    th, sim = summary["check"]["theory"], summary["check"]["simulation"]
    assert abs(sim["q"]["mean"] - th["q"]) < 4 * sim["q"]["err"] + th["q"] / 300
    assert abs(sim["energy"]["mean"] - th["energy"]) < 4 * sim["energy"]["err"] + th["energy"] / 300
    assert set(dev) == {"q", "energy"}
    band = [p["b"] for p in summary["zero_T_gamma_0.3"]["band"]]
    # between the lines b = lim beta q^2 is positive and grows from 0 at g_chi to infinity at g_q
    assert len(band) == 15 and all(b > 0 for b in band) and all(x < y for x, y in zip(band, band[1:]))
