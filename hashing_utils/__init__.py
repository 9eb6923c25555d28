"""hashing_utils: the shared module of the Deep Hashing Workbook.

One file per concern: devices, data, labels, models, codes, metrics, losses/, training, methods/, plots, widgets,
experiments (cached runs and sweeps), ablation (grids over knobs × seeds),
stats and claims (seeded comparisons, readings asserted beside their numbers), hierarchy (SHREWD), crossmodal (DCHML baselines).

    import hashing_utils as hu
    hasher = hu.fit("csq", X, y, bits=32, seed=0)
    B = hasher.encode(X_query)          # int8 ±1, (n, bits)
    hu.list_methods()                   # registered method names
"""
from . import codes, data, devices, labels, losses, metrics, models, results, training
from .codes import binarize
from .data import load_dataset
from .devices import pick_device, seed_everything
from .methods import HashingMethod, fit, get_method, list_methods, method_defaults, method_docs
from .training import Hasher

__version__ = "0.1.0"
__all__ = ["codes", "data", "devices", "labels", "losses", "metrics", "models", "results", "training", "plots", "widgets",
           "experiments", "crossmodal", "hierarchy", "ablation", "claims", "stats",
           "binarize", "load_dataset", "pick_device", "seed_everything", "HashingMethod", "fit", "get_method",
           "list_methods", "method_defaults", "method_docs", "Hasher"]


def __getattr__(name):
    # plots and widgets pull in matplotlib / ipywidgets, experiments the whole registry: load them on first use
    if name in ("plots", "widgets", "experiments", "crossmodal", "hierarchy", "ablation", "claims", "stats"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
