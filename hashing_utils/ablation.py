"""Ablations in one call: a grid over a method's knobs × code lengths × seeds, tidy results, paired differences.

    from hashing_utils import ablation as ha
    runs = ha.ablate("orthohash", {"m": [0, 0.2, 0.4]}, dataset="digits", bits=32, seeds=3, epochs=8)
    hx.summarise(runs)              # mean ± std per setting (never pooled across settings)
    ha.differences(runs)            # each setting against the default, paired by seed: mean, interval, n, verdict
    ha.figure(runs, "m")            # mAP against m (error bars, default marked) and distance distributions

Every run goes through hx.sweep, hence through the experiment cache (a re-run trains nothing) and on any
concurrent.futures executor (ProcessPoolExecutor, dask's Client(...).get_executor()). The grid is the product of
the knobs' values; the baseline setting (the method's defaults, or `baseline=`) is added when the grid lacks it,
because every difference is measured against it. Knob values take their default's type (m=0 is m=0.0: one
configuration, one cache entry).

Taught in: notebooks/09, "Ablation panel"; docs/ablation.md ("Run your own ablation").
"""
from __future__ import annotations

import itertools
import numbers

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import experiments as hx
from . import plots
from .methods import get_method
from .stats import paired_difference

__all__ = ["ablate", "grid_settings", "knob_defaults", "runs_frame", "differences", "figure"]

# columns of the tidy frame that describe the run's context (what a difference is measured within)
CONTEXT = ("method", "dataset", "bits", "epochs")


def knob_defaults(method: str) -> dict:
    """The hyperparameters an ablation can vary, with their defaults (the method's `defaults`)."""
    if method == hx.CLASSIFIER:
        return dict(hx.ClassifierAsHash.defaults)
    if method in hx.CROSS_MODAL:
        raise ValueError(f"{method} is cross-modal and cannot run on a single-modality data set")
    return dict(get_method(method).defaults)


def _coerce(method: str, knob: str, value, default):
    """value in the default's type (int -> float where the default is a float), or TypeError."""
    def bad(kind):
        return TypeError(f"{method}: knob {knob!r} takes {kind} values (default {default!r}); "
                         f"got {value!r} ({type(value).__name__})")
    if default is None:                           # optional settings (e.g. shrewd's hierarchy): anything goes
        return value
    if isinstance(default, bool):
        if not isinstance(value, (bool, np.bool_)):
            raise bad("bool")
        return bool(value)
    if isinstance(default, numbers.Integral):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise bad("int")
        return int(value)
    if isinstance(default, numbers.Real):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise bad("float")
        return float(value)
    if not isinstance(value, type(default)):
        raise bad(type(default).__name__)
    return value


def grid_settings(method: str, grid: dict, baseline: dict | None = None) -> tuple[list[dict], dict]:
    """(settings, baseline): the product of the grid's values as {knob: value} dicts, checked against the
    method's hyperparameters, with the baseline setting first when the grid lacks it; the baseline is the
    method's defaults for the grid's knobs, updated by `baseline`."""
    defaults = knob_defaults(method)
    if not isinstance(grid, dict):
        raise TypeError(f"grid must be a dict {{knob: [values]}}, got {type(grid).__name__}")
    valid = ", ".join(sorted(defaults)) or "none"
    for knob in list(grid) + list(baseline or {}):
        if knob not in defaults:
            hint = " (give code lengths with bits=[...])" if knob == "bits" else ""
            raise ValueError(f"{method} has no knob {knob!r}{hint}; its knobs are: {valid}")
    checked = {}
    for knob, values in grid.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"{method}: give a list of values for {knob!r}, e.g. {{{knob!r}: [{defaults[knob]!r}]}}; "
                            f"got {values!r}")
        values = [_coerce(method, knob, v, defaults[knob]) for v in values]
        if not values:
            raise ValueError(f"{method}: no values for knob {knob!r}")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"{method}: repeated values for knob {knob!r}: {values}")
        checked[knob] = values
    base = {k: defaults[k] for k in checked}
    base.update({k: _coerce(method, k, v, defaults[k]) for k, v in (baseline or {}).items()})
    settings = [dict(zip(checked, combo)) for combo in itertools.product(*checked.values())]
    base_in_grid = {k: v for k, v in base.items() if k in checked}
    if base_in_grid not in settings:
        settings.insert(0, base_in_grid)
    return settings, base


def _label(setting: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in setting.items()) or "default"


def ablate(method: str, grid: dict, dataset: str = "digits", bits=32, seeds=3, *, epochs=None, fast: bool = False,
           baseline: dict | None = None, executor=None, progress=None, device=None, **kwargs) -> pd.DataFrame:
    """Train (or read from the cache) every setting of `grid` × bits × seeds; returns the tidy runs frame.

    grid: {knob: [values]} over the method's hyperparameters (hu.method_defaults(method) lists them; {} runs
    the defaults only, e.g. to ablate bits alone). bits: an int or a list. seeds: a count n (seeds 0..n-1) or
    a list. epochs, fast, device and any other keyword go to hx.sweep / hx.run_experiment. executor: any
    concurrent.futures executor (None: one run after another here). progress: a callable(message), or True
    to print. Unknown knobs raise ValueError (listing the valid ones), values of the wrong type TypeError.
    The frame's attrs hold the method, the knobs and the baseline setting (for differences() and figure())."""
    settings, base = grid_settings(method, grid, baseline)
    seeds = list(range(seeds)) if isinstance(seeds, numbers.Integral) else list(seeds)
    if not seeds:
        raise ValueError("seeds: give a count (3) or a list of seeds ([0, 1, 2])")
    bits = [bits] if isinstance(bits, numbers.Integral) else list(bits)
    say = print if progress is True else progress
    results = []
    # one sweep per setting (sweep takes one hyperparameter setting per method): each sweep runs its bits ×
    # seeds on the executor in parallel, and every run is read from the cache when it is there
    for i, setting in enumerate(settings, 1):
        tag = f"[setting {i}/{len(settings)}: {_label(setting)}] "
        results += hx.sweep([method], dataset, bits=bits, seeds=seeds, epochs=epochs, fast=fast,
                            hparams={method: setting}, device=device, executor=executor,
                            progress=(lambda msg, tag=tag: say(tag + msg)) if say else None, **kwargs)
    frame = runs_frame(results, knobs=list(grid))
    frame.attrs.update({"method": method, "knobs": list(grid), "baseline": base})
    return frame


def runs_frame(results: list[dict], knobs=None) -> pd.DataFrame:
    """One row per run: method, dataset, bits, epochs, seed, one column per knob (the run's value; `knobs`,
    plus every hyperparameter that differs from its default in some run), setting, the metrics with their
    tie bounds, train_seconds, cached, key, setting_id. Works for any list of hx.run_experiment results."""
    rows = hx.result_rows(results)
    knobs = list(knobs or [])
    for r in rows:
        knobs += [k for k in r if k not in hx.RUN_FIELDS and k not in knobs and k not in (
            "method", "bits", "code_bits", "dataset", "setting", "setting_id")]
    for res, r in zip((res for res in results for _ in range(2 if "metrics_top2" in res else 1)), rows):
        c = res["config"]
        r["epochs"] = c["training"].get("epochs")
        r["cached"] = res.get("cached")
        for k in knobs:
            r[k] = c["hparams"].get(k, np.nan)
    columns = (["method", "dataset", "bits", "epochs", "seed"] + knobs + ["setting"] + list(hx.METRIC_KEYS) +
               ["train_seconds", "cached", "key", "setting_id"])
    return pd.DataFrame(rows, columns=columns)


def _knobs_and_baseline(runs: pd.DataFrame, baseline):
    method = runs.attrs.get("method") or runs["method"].iloc[0]
    knobs = list(runs.attrs.get("knobs") or [c for c in runs.columns if c in knob_defaults(method)])
    if baseline is None:
        base = dict(runs.attrs.get("baseline") or {k: knob_defaults(method)[k] for k in knobs})
        name = "default"
    else:
        base = {**{k: knob_defaults(method)[k] for k in knobs}, **baseline}
        name = "baseline"
    return knobs, {k: base[k] for k in knobs}, name


def differences(runs: pd.DataFrame, metric: str = "map_all", baseline: dict | None = None,
                confidence: float = 0.95) -> pd.DataFrame:
    """Every setting against the baseline (the method's default, or `baseline` {knob: value}), at each code
    length, paired by seed (hashing_utils.stats.paired_difference): one row per setting with the mean of the
    metric, the baseline's mean, their difference, its t-interval [low, high], n and the verdict ("A > B" only
    when the interval excludes 0, "no ranking (interval includes 0)", "one seed: no ranking")."""
    if metric not in runs.columns:
        raise ValueError(f"no metric {metric!r}; the frame has {', '.join(hx.METRIC_KEYS)}")
    knobs, base, name = _knobs_and_baseline(runs, baseline)
    base_label = f"{name} ({_label(base)})"
    context = [c for c in CONTEXT if c in runs.columns]
    out = []
    for ctx, group in runs.groupby(context, sort=False, dropna=False):
        dup = group.duplicated(knobs + ["seed"])
        if dup.any():
            raise ValueError(f"repeated runs (same setting and seed) at {dict(zip(context, ctx))}: one run each")
        is_base = pd.Series(True, index=group.index)
        for k, v in base.items():
            is_base &= group[k] == v
        ref = group[is_base]
        if ref.empty:
            raise ValueError(f"no baseline runs ({_label(base)}) at {dict(zip(context, ctx))}: add the baseline "
                             f"to the grid or name another with baseline={{...}}")
        ref_by_seed = dict(zip(ref["seed"], ref[metric]))
        for values, runs_of in (group[~is_base].groupby(knobs, sort=False, dropna=False) if knobs else []):
            setting = dict(zip(knobs, values if isinstance(values, tuple) else (values,)))
            d = paired_difference(dict(zip(runs_of["seed"], runs_of[metric])), ref_by_seed,
                                  confidence=confidence, names=(_label(setting), name))
            out.append({**dict(zip(context, ctx)), **setting, "vs": base_label, "n": d.n,
                        metric: float(runs_of[metric].mean()), f"{metric}_{name}": float(ref[metric].mean()),
                        "difference": d.mean, "low": d.low, "high": d.high, "verdict": d.verdict})
    return pd.DataFrame(out)


def figure(runs: pd.DataFrame, knob: str | None = None, metric: str = "map_all", bits: int | None = None,
           seed: int | None = None, baseline: dict | None = None, max_pairs: int = 10000):
    """One figure of an ablation: left, the metric against `knob` (mean ± std over seeds, tie bounds shaded,
    the default marked; one line per code length and other knobs' setting); right, the Hamming distances of
    same-label and different-label database pairs for each value of the knob (others at the baseline; one
    code length and one seed: the first, unless given), drawn with seaborn. knob may be "bits"."""
    knobs, base, name = _knobs_and_baseline(runs, baseline)
    if knob is None:
        if len(knobs) != 1:
            raise ValueError(f"name the knob to draw: one of {', '.join(knobs + ['bits'])}")
        knob = knobs[0]
    if knob != "bits" and knob not in knobs:
        raise ValueError(f"no knob {knob!r} in this ablation; its knobs are {', '.join(knobs + ['bits'])}")
    summary = hx.summarise(runs)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    others = [k for k in knobs if k != knob] + (["bits"] if knob != "bits" else [])
    plots.knob_effect(summary, knob, metric=metric, lines_by=others, default=base.get(knob), ax=a1,
                      title=f"{runs['method'].iloc[0]}: {metric} against {knob}")
    bits = bits if bits is not None else int(runs["bits"].iloc[0])
    seed = seed if seed is not None else int(runs["seed"].min())
    pick = runs[runs["seed"] == seed]
    for k in others:
        pick = pick[pick[k] == (bits if k == "bits" else base[k])]
    codes = {}
    for _, r in pick.sort_values(knob).iterrows():
        _, db, _, ydb = hx.load_codes({"key": r["key"]})
        v = r[knob]
        codes[f"{knob}={v:g}" if isinstance(v, float) else f"{knob}={v}"] = (db, ydb)
    plots.distance_distributions(codes, ax=a2, max_pairs=max_pairs,
                                 title=f"database pairs, seed {seed}" + ("" if knob == "bits" else f", {bits} bits"))
    fig.tight_layout()
    return fig
