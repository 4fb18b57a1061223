"""benchmarks/tempering.py: the ladders named by the sampler, and the several-J grouping that
keeps runs on different ladders apart."""
import math

import numpy as np
import pytest


def test_ladder_from_beta_min_keeps_the_shown_rungs(bench_script):
    """tempering-bX: a ladder from X through 30, 100, 300 to 1000 (ratio <= 1 + sqrt(2/N));
    'tempering' is the ladder from 30, and its upper part is the same."""
    mod = bench_script("tempering")
    N = 250
    low, default = mod.ladder(N, mod.ladder_min("tempering-b3")), mod.ladder(N)
    assert mod.ladder_min("tempering") == 30.0 and mod.ladder_min("tempering-b0.3") == 0.3
    assert low[0] == pytest.approx(3.0) and default[0] == pytest.approx(30.0)
    for b in (30.0, 100.0, 300.0, 1000.0):
        assert np.min(np.abs(low - b)) < 1e-9 * b
    assert np.max(low[1:] / low[:-1]) <= 1 + math.sqrt(2 / N) + 1e-12
    np.testing.assert_allclose(low[low >= 30.0 - 1e-9], default)


@pytest.mark.parametrize("name", ["tempering-bx", "plain", "tempering-b"])
def test_bad_sampler_names_are_refused(bench_script, name):
    mod = bench_script("tempering")
    with pytest.raises(ValueError):
        mod.ladder(250, mod.ladder_min(name))


@pytest.mark.parametrize("beta_min", [0.0, -1.0, 100.0, 500.0])
def test_bad_beta_min_is_refused(bench_script, beta_min):
    with pytest.raises(ValueError, match="beta_min"):
        bench_script("tempering").ladder(250, beta_min)


def _run(N, smp, start, seed, q, steps=100000):
    return {"N": N, "gamma": 0.3, "g": 0.95, "sampler": smp, "start": start, "seed": seed,
            "steps": steps,
            "points": {f"{b:g}": {"q": {"mean": q, "err": 0.001}} for b in (100, 300, 1000)}}


def _two_ladders(mod):
    """Both starts on J = 1, 2 for the default and the beta = 3 ladder; q = 0.08 + 0.01 J
    and 0.10 + 0.01 J, so the ladders differ by 0.02 on every J."""
    runs = {}
    for smp, q in (("tempering", 0.08), ("tempering-b3", 0.10)):
        for seed in (1, 2):
            for start in mod.STARTS:
                runs[mod.run_key(250, 0.3, 0.95, smp, start, seed)] = _run(
                    250, smp, start, seed, q + 0.01 * seed)
    return runs


def test_several_j_means_are_kept_per_ladder(bench_script):
    """Two ladders on the same J give two groups, each the mean of its own runs; the report
    names each ladder."""
    mod = bench_script("tempering")
    db = {"runs": _two_ladders(mod)}
    groups = mod.j_groups(db)
    assert set(groups) == {(250, 0.3, 0.95, "tempering", 100000),
                           (250, 0.3, 0.95, "tempering-b3", 100000)}
    for smp, q in (("tempering", 0.095), ("tempering-b3", 0.115)):
        m, err, dsum = groups[(250, 0.3, 0.95, smp, 100000)]["mean"][300.0]
        assert m == pytest.approx(q) and err == pytest.approx(0.005) and dsum == 0.0
    text = "\n".join(mod.j_table(db))
    assert "ladder β = 3 … 1000 (2 J, 100000 steps)" in text
    assert "ladder β = 30 … 1000 (2 J, 100000 steps)" in text


def test_paired_difference_between_ladders(bench_script):
    """q(b3) - q(30) = 0.02 on every J: the paired mean is 0.02 with the per-J errors
    propagated (the spread over J is zero), positive on both J."""
    mod = bench_script("tempering")
    P = mod.paired(mod.j_groups({"runs": _two_ladders(mod)}))
    pair = ((250, 0.3, 0.95, "tempering-b3", 100000), (250, 0.3, 0.95, "tempering", 100000))
    assert set(P) == {pair}
    m, err, pos, n = P[pair][300.0]
    per_j = math.hypot(0.5 * math.hypot(0.001, 0.001), 0.5 * math.hypot(0.001, 0.001))
    assert m == pytest.approx(0.02) and err == pytest.approx(per_j / math.sqrt(2))
    assert (pos, n) == (2, 2)


def test_a_longer_run_is_stored_beside_the_shorter_one(bench_script):
    """stored_key: the plain key while it is free or holds a run of the same length, the
    '/n<steps>' key for another length (so a longer run is not skipped as done)."""
    mod = bench_script("tempering")
    runs = _two_ladders(mod)
    args = (250, 0.3, 0.95, "tempering-b3", 0.1, 1)
    plain = mod.run_key(*args)
    assert mod.stored_key(runs, *args, 100000) == plain
    assert mod.stored_key(runs, *args, 400000) == plain + "/n400000"
    assert mod.stored_key({}, *args, 400000) == plain
    assert mod.stored_key(runs, 250, 0.3, 0.95, "tempering-b3", 0.1, 7, 400000) == mod.run_key(
        250, 0.3, 0.95, "tempering-b3", 0.1, 7)


def test_longer_run_is_its_own_group_and_is_paired_with_the_shorter(bench_script):
    """The beta = 3 ladder run 4x longer on J = 1, 2 with q higher by 0.003 on J = 1 and
    0.005 on J = 2: a group of its own (mean 0.119), paired with the 100000-step runs
    (+0.004 +- 0.001: the spread over J, larger than the propagated errors), while the ladder
    comparison keeps using the shorter run; asking for a run without its length is refused."""
    mod = bench_script("tempering")
    runs = _two_ladders(mod)
    for seed, dq in ((1, 0.003), (2, 0.005)):
        for start in mod.STARTS:
            key = mod.stored_key(runs, 250, 0.3, 0.95, "tempering-b3", start, seed, 400000)
            runs[key] = _run(250, "tempering-b3", start, seed, 0.10 + 0.01 * seed + dq, 400000)
    groups = mod.j_groups({"runs": runs})
    long_, short = ((250, 0.3, 0.95, "tempering-b3", n) for n in (400000, 100000))
    assert long_ in groups and groups[long_]["mean"][100.0][0] == pytest.approx(0.119)
    P = mod.paired(groups)
    assert set(P) == {(short, (250, 0.3, 0.95, "tempering", 100000)), (long_, short)}
    m, err, pos, n = P[(long_, short)][1000.0]
    assert m == pytest.approx(0.004) and err == pytest.approx(0.001) and (pos, n) == (2, 2)
    assert "β = 3, 400000 − β = 3, 100000" in "\n".join(mod.j_table({"runs": runs}))
    with pytest.raises(ValueError, match="name the steps"):
        mod.find({"runs": runs}, 250, 0.3, 0.95, "tempering-b3", 0.1, 1)


def test_a_lower_ladder_is_paired_with_the_next_higher_one(bench_script):
    """A ladder from beta = 1 (q lower by 0.001 on both J) is differenced against the
    beta = 3 ladder of the same run length and against the beta = 30 ladder; the beta = 3
    ladder keeps only its beta = 30 comparison."""
    mod = bench_script("tempering")
    runs = _two_ladders(mod)
    for seed in (1, 2):
        for start in mod.STARTS:
            runs[mod.run_key(250, 0.3, 0.95, "tempering-b1", start, seed)] = _run(
                250, "tempering-b1", start, seed, 0.099 + 0.01 * seed)
    P = mod.paired(mod.j_groups({"runs": runs}))
    b1, b3, b30 = ((250, 0.3, 0.95, smp, 100000)
                   for smp in ("tempering-b1", "tempering-b3", "tempering"))
    assert set(P) == {(b1, b30), (b1, b3), (b3, b30)}
    m, err, pos, n = P[(b1, b3)][300.0]
    assert m == pytest.approx(-0.001) and (pos, n) == (0, 2)
    assert P[(b1, b30)][300.0][0] == pytest.approx(0.019)


def test_starts_selects_which_start_runs(bench_script, monkeypatch, tmp_path):
    """--starts 2.0 runs only the wide start (so two processes can share one J); a start
    outside STARTS is refused before any run."""
    mod = bench_script("tempering")
    calls, db = [], {"runs": {}, "theory": {"0.3/0.95": {}}}
    monkeypatch.setattr(mod, "load", lambda: db)
    monkeypatch.setattr(mod, "save", lambda d: None)
    monkeypatch.setattr(mod, "report", lambda d: "")
    monkeypatch.setattr(mod, "figure", lambda d, p: None)
    monkeypatch.setattr(mod, "MD", str(tmp_path / "t.md"))
    monkeypatch.setattr(mod, "OUT", str(tmp_path / "t.json"))

    def fake(N, gamma, g, sampler, start, steps, burn, seed):
        calls.append((sampler, start, seed))
        return {"wall_s": 0.0, "points": {}}

    monkeypatch.setattr(mod, "one", fake)
    args = ["--N", "250", "--points", "0.3:0.95", "--samplers", "tempering-b3",
            "--J-seeds", "4", "5", "--steps", "10"]
    assert mod.main(args + ["--starts", "2.0"]) == 0
    assert calls == [("tempering-b3", 2.0, 4), ("tempering-b3", 2.0, 5)]
    with pytest.raises(SystemExit):
        mod.main(args + ["--starts", "0.5"])
    assert len(calls) == 2


def test_a_longer_run_on_j0_alone_is_paired_with_the_several_j_group(bench_script):
    """A 400000-step run on J = 0 only (q higher by 0.002) forms a one-J group because the
    same ladder has a several-J group, and is paired with the shorter run on that J alone
    (+0.002, error the per-J errors in quadrature, 1/1); a J = 0 run on a ladder without
    several J stays out of the J tables."""
    mod = bench_script("tempering")
    runs = _two_ladders(mod)
    for start in mod.STARTS:
        runs[mod.run_key(250, 0.3, 0.95, "tempering-b3", start, 0)] = _run(
            250, "tempering-b3", start, 0, 0.10)
        runs[mod.stored_key(runs, 250, 0.3, 0.95, "tempering-b3", start, 0, 400000)] = _run(
            250, "tempering-b3", start, 0, 0.102, 400000)
        runs[mod.run_key(500, 0.3, 0.95, "tempering-b3", start, 0)] = _run(
            500, "tempering-b3", start, 0, 0.10)
    groups = mod.j_groups({"runs": runs})
    long_, short = ((250, 0.3, 0.95, "tempering-b3", n) for n in (400000, 100000))
    assert list(groups[long_]["rows"]) == [0] and groups[long_]["mean"] == {}
    assert sorted(groups[short]["rows"]) == [0, 1, 2]
    assert not any(k[0] == 500 for k in groups)
    m, err, pos, n = mod.paired(groups)[(long_, short)][300.0]
    assert m == pytest.approx(0.002) and (pos, n) == (1, 1)
    assert err == pytest.approx(math.hypot(0.5 * math.hypot(0.001, 0.001),
                                           0.5 * math.hypot(0.001, 0.001)))


def test_a_longer_run_is_paired_with_the_next_shorter_run_on_its_own_j(bench_script):
    """400000 steps on J = 1 and 200000 steps on J = 2 only: each is paired with the
    100000-step runs (which hold both J), not the 400000 run with the 200000 one, which
    share no J."""
    mod = bench_script("tempering")
    runs = _two_ladders(mod)
    for seed, steps in ((1, 400000), (2, 200000)):
        for start in mod.STARTS:
            runs[mod.stored_key(runs, 250, 0.3, 0.95, "tempering-b3", start, seed, steps)] = _run(
                250, "tempering-b3", start, seed, 0.101 + 0.01 * seed, steps)
    g = {n: (250, 0.3, 0.95, "tempering-b3", n) for n in (100000, 200000, 400000)}
    P = mod.paired(mod.j_groups({"runs": runs}))
    assert (g[400000], g[100000]) in P and (g[200000], g[100000]) in P
    assert not any(A == g[400000] and B == g[200000] for A, B in P)
    assert P[(g[400000], g[100000])][300.0][0] == pytest.approx(0.001)


def test_results_written_under_the_file_lock(bench_script, monkeypatch, tmp_path):
    """Each finished run is read, added and written while the process holds OUT + '.lock',
    so two processes sharing one J (--starts 0.1 and --starts 2.0) cannot drop each
    other's entry when they finish together."""
    import fcntl
    mod = bench_script("tempering")
    out = str(tmp_path / "t.json")
    db, held = {"runs": {}, "theory": {"0.3/0.95": {}}}, []

    def save(d):
        with open(out + ".lock", "w") as f:     # a second open description conflicts
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(f, fcntl.LOCK_UN)
                held.append(False)
            except BlockingIOError:
                held.append(True)

    monkeypatch.setattr(mod, "OUT", out)
    monkeypatch.setattr(mod, "MD", str(tmp_path / "t.md"))
    monkeypatch.setattr(mod, "load", lambda: db)
    monkeypatch.setattr(mod, "save", save)
    monkeypatch.setattr(mod, "report", lambda d: "")
    monkeypatch.setattr(mod, "figure", lambda d, p: None)
    monkeypatch.setattr(mod, "one", lambda *a, **k: {"wall_s": 0.0, "points": {}})
    assert mod.main(["--N", "250", "--points", "0.3:0.95", "--samplers", "tempering-b3",
                     "--J-seeds", "4", "--steps", "10", "--starts", "0.1"]) == 0
    assert held == [True]


def test_longest_run_per_j_replaces_the_shorter_one(bench_script):
    """J = 1 run 4x longer (q higher by 0.004), J = 2 only at 100000 steps: the longest-run
    mean takes J = 1 from the long run and J = 2 from the short one, (0.114 + 0.12) / 2;
    with the same ladder at N = 500 (q lower by 0.002 on every J) q(N) = q_inf + c / N
    through the two means is exact: c / 500 = 0.002, q_inf = 0.115 - 0.002 = 0.113 at
    beta = 300."""
    mod = bench_script("tempering")
    runs = _two_ladders(mod)
    for start in mod.STARTS:
        key = mod.stored_key(runs, 250, 0.3, 0.95, "tempering-b3", start, 1, 400000)
        runs[key] = _run(250, "tempering-b3", start, 1, 0.114, 400000)
    best = mod.longest_per_j(mod.j_groups({"runs": runs}))
    G = best[(250, 0.3, 0.95, "tempering-b3")]
    assert G["steps"] == {1: 400000, 2: 100000} and G["lengths"] == 2
    assert G["mean"][300.0][0] == pytest.approx(0.117)
    assert best[(250, 0.3, 0.95, "tempering")]["lengths"] == 1
    for key, r in list(runs.items()):
        if r["sampler"] == "tempering-b3":
            r500 = dict(r, N=500, points={b: {"q": {"mean": v["q"]["mean"] - 0.002, "err": 0.001}}
                                          for b, v in r["points"].items()})
            runs[key.replace("250", "500", 1) + "/N500"] = r500
    db = {"runs": runs, "theory": {"0.3/0.95": {"300": 0.119}}}
    best = mod.longest_per_j(mod.j_groups(db))
    assert best[(500, 0.3, 0.95, "tempering-b3")]["mean"][300.0][0] == pytest.approx(0.115)
    text = "\n".join(mod.j_table(db))
    assert "Longest run per J: N = 250, γ = 0.3, g = 0.95, ladder β = 3 … 1000 (2 J)" in text
    assert "Longest run per J: N = 250, γ = 0.3, g = 0.95, ladder β = 30" not in text
    line = [ln for ln in text.split("\n") if "longest-run J means" in ln]
    assert len(line) == 1
    row = text.split(line[0])[1].split("| 300 | ")[1].split(" |")[0]
    assert float(row.split(" ± ")[0]) == pytest.approx(0.113, abs=1e-5)


def test_gamma0_mean_is_compared_with_the_annealed_q_of_its_size(bench_script, tmp_path):
    """At gamma = 0 the several-J mean gets the annealed q of the same N from the planted
    benchmark's file: two J with q = 0.17, 0.19 (mean 0.18, error 0.01) against an annealed
    0.16 +- 0.01 give z = 0.02 / sqrt(2) 0.01 = +1.4; N = 500 (no target) and gamma = 0.3
    (RS is not the annealed value there) get none."""
    import json
    mod = bench_script("tempering")
    path = tmp_path / "planted.json"
    path.write_text(json.dumps({"annealed": {
        "250|1.2|100": {"q": 0.16, "err": 0.01}, "250|1.2|3": {"q": 0.5, "err": 0.1},
        "250|0.95|100": {"q": 0.3, "err": 0.01}}}))
    ann = mod.annealed_targets(str(path))
    assert mod.annealed_at(ann, 250, 0.0, 1.2) == {100.0: (0.16, 0.01)}
    assert mod.annealed_at(ann, 500, 0.0, 1.2) == {} and mod.annealed_at(ann, 250, 0.3, 0.95) == {}
    assert mod.annealed_targets(str(tmp_path / "missing.json")) == {}
    runs = {}
    for N, gamma, g in ((250, 0.0, 1.2), (500, 0.0, 1.2), (250, 0.3, 0.95)):
        for seed, q in ((1, 0.17), (2, 0.19)):
            for start in mod.STARTS:
                r = _run(N, "tempering-b3", start, seed, q)
                r.update(gamma=gamma, g=g)
                runs[mod.run_key(N, gamma, g, "tempering-b3", start, seed)] = r
    text = "\n".join(mod.j_table({"runs": runs, "annealed": ann}))
    means = [ln for ln in text.split("\n") if ln.startswith("| mean over J")]
    assert len(means) == 3
    with_ann = [ln for ln in means if "annealed" in ln]
    assert len(with_ann) == 1
    assert "**0.18000 ± 0.01000** | —; annealed 0.1600 ± 0.0100, z = +1.4" in with_ann[0]


def test_a_j_run_from_one_start_joins_the_mean_without_a_start_check(bench_script):
    """J = 1, 2 from both starts (q = 0.11, 0.12 at N = 250 on the beta = 3 ladder) and
    J = 3 from start 0.1 alone (q = 0.16, error 0.001): the mean over the three J is 0.13,
    its error the spread over J, sqrt((0.02^2 + 0.01^2 + 0.03^2) / 2 / 3); J = 3 shows 'one start' and the combined
    start disagreement sums J = 1, 2 only (0 here); a J with no start run is absent."""
    mod = bench_script("tempering")
    runs = _two_ladders(mod)
    runs[mod.run_key(250, 0.3, 0.95, "tempering-b3", 0.1, 3)] = _run(
        250, "tempering-b3", 0.1, 3, 0.16)
    db = {"runs": runs}
    v = mod.per_j(db, 250, 0.3, 0.95, 3, "tempering-b3")
    assert v[300.0][:2] == (0.16, 0.001) and math.isnan(v[300.0][2])
    assert mod.per_j(db, 250, 0.3, 0.95, 4, "tempering-b3") is None
    G = mod.j_groups(db)[(250, 0.3, 0.95, "tempering-b3", 100000)]
    assert sorted(G["rows"]) == [1, 2, 3]
    m, err, dsum = G["mean"][300.0]
    assert m == pytest.approx(0.13) and err == pytest.approx(math.sqrt(0.0014 / 2 / 3))
    assert dsum == 0.0
    text = "\n".join(mod.j_table(db))
    row = [ln for ln in text.split("\n") if ln.startswith("| 3 | 0.16000")]
    assert len(row) == 1 and row[0].count("one start") == len(mod.SHOWN)
    only = {"runs": {k: r for k, r in runs.items() if r["seed"] == 3 or r["start"] == 0.1}}
    assert math.isnan(mod.j_groups(only)[(250, 0.3, 0.95, "tempering-b3", 100000)]
                      ["mean"][300.0][2])
