"""Registered hashing methods, one file per method. Importing a module registers its method."""
import importlib
import pkgutil

from .base import REGISTRY, HashingMethod, fit, get_method, method_defaults, methods, validation_split

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name != "base":
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["REGISTRY", "HashingMethod", "fit", "get_method", "method_defaults", "methods", "validation_split"]
