"""The hashing methods, one file per method; each registers itself with @register (base.py) when imported here."""
from . import adsh, csq, dchml, dcwh, itq, lsh, orthohash, pca, psldh, shc, shrewd  # noqa: F401  (registers them)
from .base import (REGISTRY, HashingMethod, TrainedMethod, TrainingFreeMethod, fit, get_method, list_methods,
                   method_defaults, method_docs, register, validation_split)

__all__ = ["REGISTRY", "HashingMethod", "TrainedMethod", "TrainingFreeMethod", "fit", "get_method", "list_methods",
           "method_defaults", "method_docs", "register", "validation_split"]
