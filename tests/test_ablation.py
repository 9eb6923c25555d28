"""hashing_utils.ablation: a grid over knobs × bits × seeds through the cache, tidy rows, settings never pooled,
paired differences against the default, and the one-call figure."""
from concurrent.futures import ThreadPoolExecutor

import matplotlib
import numpy as np
import pandas as pd
import pytest

import hashing_utils as hu
from hashing_utils import ablation as ha
from hashing_utils import experiments as hx
from hashing_utils.stats import paired_difference

matplotlib.use("Agg")
GRID = {"m": [0, 0.4], "s": [4.0, 8.0]}          # OrthoHash's defaults: m = 0.2, s = 8


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HASHING_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_two_knob_grid_with_seeds_runs_through_the_cache(cache, monkeypatch):
    messages = []
    runs = ha.ablate("orthohash", GRID, dataset="digits", bits=8, seeds=2, epochs=1, device="cpu",
                     progress=messages.append)
    # 2 x 2 settings plus the default (m=0.2, s=8), which the grid lacks: 5 settings x 2 seeds
    assert len(runs) == 10 and not runs["cached"].any()
    assert sorted(set(zip(runs["m"], runs["s"]))) == [(0.0, 4.0), (0.0, 8.0), (0.2, 8.0), (0.4, 4.0), (0.4, 8.0)]
    assert all(runs.groupby(["m", "s"])["seed"].apply(sorted).apply(lambda s: s == [0, 1]))
    assert {"method", "dataset", "bits", "seed", "m", "s", "map_all", "map_all_pessimistic", "map_all_optimistic",
            "map_1000", "p_h2", "train_seconds", "key"} <= set(runs.columns)
    assert (runs["map_all_pessimistic"] <= runs["map_all"] + 1e-12).all()
    assert (runs["map_all"] <= runs["map_all_optimistic"] + 1e-12).all()
    assert runs["key"].is_unique and len(messages) == 10 and "[setting 1/5: m=0.2, s=8]" in messages[0]
    # every row is the cached run of its configuration
    for _, r in runs.iterrows():
        cfg = hx.experiment_config("orthohash", "digits", 8, int(r["seed"]), 1, hparams={"m": r["m"], "s": r["s"]})
        assert hx.config_key(cfg) == r["key"] and (cache / f"{r['key']}.npz").exists()

    def no_training(*a, **k):
        raise AssertionError("a cached configuration was trained again")
    monkeypatch.setattr(hu.get_method("orthohash"), "fit", classmethod(no_training))
    again = ha.ablate("orthohash", GRID, dataset="digits", bits=8, seeds=2, epochs=1, device="cpu")
    assert again["cached"].all()
    cols = ["m", "s", "seed", "map_all", "key"]
    pd.testing.assert_frame_equal(again[cols], runs[cols])


def test_any_executor_and_a_list_of_seeds(cache):
    with ThreadPoolExecutor(2) as pool:
        runs = ha.ablate("csq", {"quant_weight": [1e-4, 0.1]}, bits=[8, 16], seeds=[3, 5], epochs=1, device="cpu",
                         executor=pool)
    assert len(runs) == 8 and set(runs["seed"]) == {3, 5} and set(runs["bits"]) == {8, 16}
    serial = ha.ablate("csq", {"quant_weight": [1e-4, 0.1]}, bits=[8, 16], seeds=[3, 5], epochs=1, device="cpu")
    assert serial["cached"].all() and list(serial["key"]) == list(runs["key"])


def test_knobs_are_checked_against_the_method():
    with pytest.raises(ValueError, match=r"orthohash has no knob 'margin'; its knobs are: .*\bm\b.*\bs\b"):
        ha.grid_settings("orthohash", {"margin": [0.1]})
    with pytest.raises(ValueError, match="bits="):
        ha.grid_settings("orthohash", {"bits": [16, 32]})
    with pytest.raises(TypeError, match="knob 'm' takes float values"):
        ha.grid_settings("orthohash", {"m": ["big"]})
    with pytest.raises(TypeError, match="knob 'batchnorm' takes bool values"):
        ha.grid_settings("orthohash", {"batchnorm": [1]})
    with pytest.raises(TypeError, match="list of values"):
        ha.grid_settings("orthohash", {"m": 0.2})
    with pytest.raises(ValueError, match="no values"):
        ha.grid_settings("orthohash", {"m": []})
    with pytest.raises(ValueError, match="repeated values"):
        ha.grid_settings("orthohash", {"m": [0, 0.0]})           # one configuration: m=0 is m=0.0
    with pytest.raises(ValueError, match="unknown method"):
        ha.grid_settings("typo", {"m": [0.1]})
    settings, base = ha.grid_settings("orthohash", {"m": [0, 0.4]})
    assert settings == [{"m": 0.2}, {"m": 0.0}, {"m": 0.4}] and base == {"m": 0.2}
    assert isinstance(settings[1]["m"], float)
    settings, base = ha.grid_settings("orthohash", {"m": [0, 0.4]}, baseline={"m": 0})
    assert settings == [{"m": 0.0}, {"m": 0.4}] and base == {"m": 0.0}
    assert ha.grid_settings("lsh", {}) == ([{}], {})


def fake_results(margins_means, seeds=(0, 1, 2), spread=(-0.004, 0.0, 0.004)):
    """Result records of OrthoHash at several margins (configs as experiment_config makes them; no training)."""
    out = []
    for m, mean in margins_means.items():
        for s, e in zip(seeds, spread):
            cfg = hx.experiment_config("orthohash", "digits", 32, s, 8, hparams={"m": m})
            v = mean + e * (1 + m)
            metrics = {"map_all": v, "map_1000": v, "p_h2": v, "map_all_optimistic": v + 0.01,
                       "map_all_pessimistic": v - 0.01}
            out.append({"key": hx.config_key(cfg), "config": cfg, "metrics": metrics, "train_seconds": 1.0,
                        "cached": True})
    return out


ISSUE = {0.0: 0.928, 0.2: 0.952, 0.4: 0.959}        # issue 24: pooled into one mean (n = 9) before


def test_summarise_never_pools_settings():
    results = fake_results(ISSUE)
    summary = hx.summarise(hx.result_rows(results))
    assert len(summary) == 3 and all(r["n"] == 3 for r in summary)
    by_setting = {r["setting"]: r for r in summary}
    assert set(by_setting) == {"m=0.0", "default", "m=0.4"} and by_setting["m=0.4"]["m"] == 0.4
    for m, mean in ISSUE.items():
        row = next(r for r in summary if r.get("m", 0.2) == m)
        assert row["map_all"] == pytest.approx(mean)
        assert row["map_all_std"] == pytest.approx(0.004 * (1 + m))
    # a different training budget is a different configuration too
    longer = fake_results({0.2: 0.96})
    for r in longer:
        r["config"] = {**r["config"], "training": {**r["config"]["training"], "epochs": 9}}
    assert len(hx.summarise(hx.result_rows(results + longer))) == 4
    # the tidy frame summarises the same way, as a DataFrame
    frame = hx.summarise(ha.runs_frame(results))
    assert isinstance(frame, pd.DataFrame) and sorted(frame["m"]) == [0.0, 0.2, 0.4] and set(frame["n"]) == {3}


def test_rows_made_by_hand_still_group_by_method_and_bits():
    rows = [{"method": "a", "bits": 16, "code_bits": 16, "seed": s, "map_all": v, "train_seconds": 1.0}
            for s, v in enumerate([0.5, 0.7, 0.9])]
    (row,) = hx.summarise(rows, keys=("map_all", "train_seconds"))
    assert row["n"] == 3 and row["map_all"] == pytest.approx(0.7) and "seed" not in row


def test_differences_pair_each_setting_with_the_default_by_seed():
    runs = ha.runs_frame(fake_results(ISSUE))
    diff = ha.differences(runs)
    assert list(diff["m"]) == [0.0, 0.4] and set(diff["vs"]) == {"default (m=0.2)"} and set(diff["n"]) == {3}
    for _, row in diff.iterrows():
        a = runs[runs["m"] == row["m"]].set_index("seed")["map_all"]
        b = runs[runs["m"] == 0.2].set_index("seed")["map_all"]
        d = paired_difference(a, b)
        assert (row["difference"], row["low"], row["high"]) == pytest.approx((d.mean, d.low, d.high))
        assert row["map_all"] == pytest.approx(a.mean()) and row["map_all_default"] == pytest.approx(b.mean())
    assert diff.set_index("m").loc[0.0, "verdict"] == "m=0 < default"
    assert diff.set_index("m").loc[0.4, "verdict"] == "m=0.4 > default"
    named = ha.differences(runs, baseline={"m": 0.0})
    assert list(named["m"]) == [0.2, 0.4] and (named["low"] > 0).all() and named["verdict"].iloc[0] == "m=0.2 > baseline"
    # one seed: no interval, no ranking
    one = ha.differences(runs[runs["seed"] == 0])
    assert set(one["verdict"]) == {"one seed: no ranking"} and one["low"].isna().all()
    with pytest.raises(ValueError, match="no baseline runs"):
        ha.differences(runs[runs["m"] != 0.2])
    with pytest.raises(ValueError, match="unpaired seeds"):
        ha.differences(runs[~((runs["m"] == 0.4) & (runs["seed"] == 2))].reset_index(drop=True).pipe(
            lambda f: f[~((f["m"] == 0.2) & (f["seed"] == 1))]))
    with pytest.raises(ValueError, match="no metric"):
        ha.differences(runs, metric="accuracy")


def test_the_figure_draws_both_panels(cache):
    runs = ha.ablate("orthohash", {"m": [0, 0.4]}, bits=8, seeds=2, epochs=1, device="cpu")
    fig = ha.figure(runs, "m")
    left, right = fig.axes[:2]
    assert [t.get_text() for t in left.get_xticklabels()] == ["0", "0.2", "0.4"]
    assert any("default" in t.get_text() for t in left.get_legend().get_texts())
    assert {t.get_text() for t in right.get_legend().get_texts()} == {"m=0", "m=0.2", "m=0.4"}
    with pytest.raises(ValueError, match="no knob 's'"):
        ha.figure(runs, "s")
    assert ha.figure(runs, "bits") is not None
    matplotlib.pyplot.close("all")
