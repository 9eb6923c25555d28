"""Paper versus public code: where a method's public code computes something other than its paper's equation,
a hyperparameter of the method reproduces the code; its default is the paper's. This module lists those
switches and measures what each one does to training, seed by seed.

    from hashing_utils import papercode as pc
    pc.PUBLIC_CODE["csq"]                   # the differences and the settings that reproduce the public code
    d = pc.compare("csq", "pairwise term", dataset="digits", bits=32, seeds=3, epochs=8)
    print(d["difference"])                  # public code - paper, mean over seeds with its t-interval

Every run goes through hx.run_experiment (the experiment cache: a re-run trains nothing). DCHML is
cross-modal and is compared with compare_cross_modal on a crossmodal split.

Taught in: the section "The paper and the public code" of notebooks/01-07; the table: docs/paper-vs-code.md.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

from . import crossmodal as cm
from . import experiments as hx
from .methods import fit, get_method
from .stats import paired_difference

__all__ = ["Difference", "PUBLIC_CODE", "difference_of", "protocol", "compare", "compare_cross_modal"]


@dataclass(frozen=True)
class Difference:
    """One place where a public code parts from the paper: `hparams` switch the method to the code's
    behaviour (the method's defaults are the paper's); `source` names the code; `effect` says what it does."""
    name: str
    hparams: dict = field(default_factory=dict)
    source: str = ""
    effect: str = ""
    notebook: str = ""


PUBLIC_CODE: dict[str, list[Difference]] = {
    "csq": [
        Difference("pairwise term", {"pairwise_weight": 0.2}, "yuanli2333/Hadamard-Matrix-for-hashing (options: lambda1 = 0.2)",
                   "adds a HashNet-style pairwise likelihood between the two halves of each batch", "01"),
        Difference("float32 tanh + BCELoss", {"bce": "float32"}, "yuanli2333/Hadamard-Matrix-for-hashing",
                   "saturated outputs (|z| > 9) give p = 0 or 1: the log is clamped at -100, no gradient", "01"),
    ],
    "dcwh": [
        Difference("log(p + 1e-6), λ = 1", {"class_wise_form": "eps", "lam": 1.0}, "mzhang367/dcwh (re-implementation)",
                   "constants 1e-6 in and around the softmax, no max shift; its λ flag ignored (λ = 1)", "02"),
    ],
    "shc": [
        Difference("symmetrise first, 30 cycles", {"similarity_order": "symmetrise_first", "cycles": 30},
                   "cc752424640/Deep-Hashing-with-Semantic-Hash-Centers-for-Image-Retrieval",
                   "S symmetrised before the row normalisation (S asymmetric); 30 cycles instead of 20", "03"),
    ],
    "adsh": [
        Difference("positive columns kept (multi-label)", {"positive_columns": "kept"}, "CISiPLab/cisip-FIRe (re-implementation)",
                   "a multi-label row's positive classes stay in the softmax beside the dynamic target", "04"),
    ],
    "psldh": [
        Difference("extra e⁰ per positive (before the fix)", {"extra_one_per_positive": True},
                   "rongchengtu1/PSLDH before Nov 2022", "one term e⁰ = 1 per positive class in the denominator", "05"),
    ],
    "orthohash": [
        Difference("OrthoArc: clamp before arccos", {"variant": "arc", "arc_clamp": 1e-5}, "kamwoh/orthohash",
                   "cos θ clamped to ±0.99999: no gradient within ~0.0045 rad of a target (baseline: OrthoArc exact)", "06"),
    ],
    "dchml": [
        Difference("cross-modal softmax term", {"coupling": "softmax", "coupling_weight": 0.1},
                   "1034829217/paddle DCPH (a port, not the authors')",
                   "u's positive against the other modality's denominator, weight 0.1, instead of ‖u - v‖²/K", "07"),
        Difference("extra e⁰ per positive", {"extra_one_per_positive": True}, "1034829217/paddle DCPH",
                   "the port's fault: one e⁰ per positive in the margin-dynamic-softmax denominator", "07"),
    ],
}

# the paper's side of a comparison, where it is not simply the method's defaults
BASELINES = {("orthohash", "OrthoArc: clamp before arccos"): {"variant": "arc"}}


def protocol(method: str, fast: bool) -> dict:
    """The bounded protocol of the notebooks' "paper and public code" sections and of docs/paper-vs-code.md:
    32 bits, 3 seeds (DCHML in full mode: 5), few epochs. Fast mode: digits (ADSH: the multi-label digits mosaic; DCHML: the digits
    two-view set). Full mode: the packaged 1,000-image Fashion-MNIST training subset with its 5,000-image
    database (ADSH: the full digits mosaic; DCHML: Wikipedia), so each section stays near a minute on a CPU."""
    if method == "dchml":
        p = {"dataset": "digits-two-view", "epochs": 8} if fast else {"dataset": "wikipedia", "epochs": 20}
        p["fast"] = bool(fast)
    elif method == "adsh":
        p = {"dataset": "digits-mosaic", "fast": bool(fast), "epochs": 6 if fast else 8}
    else:
        p = {"dataset": "digits", "fast": True, "epochs": 6} if fast else {"dataset": "fashion-mnist", "fast": True,
                                                                          "epochs": 8}
    # DCHML's cross-modal term is the one choice with no other evidence: five seeds in full mode
    p.update(bits=32, seeds=5 if method == "dchml" and not fast else 3)
    subset = " subset" if p["dataset"] == "fashion-mnist" else ""
    p["label"] = f"{p['dataset']}{subset}, {p['bits']} bits, {p['epochs']} epochs, {p['seeds']} seeds"
    return p


def difference_of(method: str, name: str) -> Difference:
    """The Difference `name` of `method` (ValueError listing the known ones otherwise)."""
    known = PUBLIC_CODE.get(method)
    if not known:
        raise ValueError(f"no public-code differences recorded for {method!r}; methods: {', '.join(PUBLIC_CODE)}")
    for d in known:
        if d.name == name:
            return d
    raise ValueError(f"{method} has no difference {name!r}; it has: {', '.join(d.name for d in known)}")


def _seeds(seeds) -> list:
    seeds = list(range(seeds)) if isinstance(seeds, numbers.Integral) else list(seeds)
    if len(seeds) < 1:
        raise ValueError("seeds: give a count (3) or a list of seeds")
    return seeds


def compare(method: str, name: str, dataset: str = "digits", bits: int = 32, seeds=3, *, epochs=None,
            fast: bool = False, metric: str = "map_all", device=None, executor=None, **kwargs) -> dict:
    """Train the paper's setting and the public code's setting of `method` with the same seeds (through the
    experiment cache) and pair them by seed. Returns {'paper': {seed: metric}, 'code': {seed: metric},
    'difference': stats.PairedDifference (code - paper), 'paper_hparams', 'code_hparams', 'runs' (the
    hx.run_experiment records)}. kwargs go to hx.sweep (e.g. threads)."""
    diff = difference_of(method, name)
    get_method(method)          # a clear error for an unknown method
    paper = dict(BASELINES.get((method, name), {}))
    code = {**paper, **diff.hparams}
    seeds = _seeds(seeds)
    out = {"paper_hparams": paper, "code_hparams": code, "runs": {}}
    for side, hp in (("paper", paper), ("code", code)):
        runs = hx.sweep([method], dataset, bits=[bits], seeds=seeds, epochs=epochs, fast=fast,
                        hparams={method: hp}, device=device, executor=executor, **kwargs)
        out["runs"][side] = runs
        out[side] = {r["config"]["seed"]: r["metrics"][metric] for r in runs}
    out["difference"] = paired_difference(out["code"], out["paper"], names=("public code", "paper"))
    return out


def compare_cross_modal(name: str, split, bits: int = 32, seeds=3, *, epochs=None, device=None,
                        metric: str = "map_all", paper: dict | None = None, **fit_kwargs) -> dict:
    """compare() for DCHML on a crossmodal split (cm.load_two_view): both directions. Returns
    {'paper'|'code': {direction: {seed: metric}}, 'difference': {direction: PairedDifference (code - paper)}}.
    The fits are not cached (a cross-modal run is not an hx experiment); fit_kwargs go to hu.fit. paper: the
    'paper' entry of an earlier call with the same split, bits, seeds and epochs (its runs are then reused)."""
    diff = difference_of("dchml", name)
    seeds = _seeds(seeds)
    out = {"paper": {}, "code": {}, "difference": {}, "code_hparams": dict(diff.hparams)}
    if paper is not None:
        if any(sorted(v) != sorted(seeds) for v in paper.values()):
            raise ValueError(f"the given paper runs have other seeds than {seeds}")
        out["paper"] = {d: dict(v) for d, v in paper.items()}
    for side, hp in (("paper", {}), ("code", diff.hparams)):
        if side == "paper" and paper is not None:
            continue
        for seed in seeds:
            hasher = fit("dchml", split.train, split.y_train, bits=bits, seed=seed, epochs=epochs, device=device,
                         **{**fit_kwargs, **hp})
            for direction, r in cm.evaluate_cross_modal(hasher, split).items():
                out[side].setdefault(direction, {})[seed] = r[metric]
    for direction in out["paper"]:
        out["difference"][direction] = paired_difference(out["code"][direction], out["paper"][direction],
                                                         names=("public code", "paper"))
    return out
