"""A fake accelerator for placement tests without a GPU (a trimmed copy of the project's
shared/tools/fake_accelerator.py). torch's 'meta' device stands in for cuda/mps; a TorchFunctionMode plays
the part of the checks CUDA makes that meta lacks, and records what would fail or be slow:

- MIXED: an op with non-scalar tensor arguments on both the CPU and the device (cuda raises);
- NUMPY: .numpy() of a device tensor (cuda raises TypeError);
- F64: a float64 tensor on the device (MPS has no float64);
- H2D: .to(device) of a CPU tensor, with its shape (a host->device copy);
- SYNC: item/bool/float/int/tolist/.cpu() of a device tensor (a blocking copy back).
Meta tensors have no values: a sync returns 0 / False / ones, so only placement is checked, never numbers;
except that a tensor copied to the device and copied straight back returns its original values (labels
read back for a CPU-side step, e.g. SHC's class similarity, stay valid labels).
"""
import collections
import weakref

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

DEV = torch.device("meta")
T = torch.Tensor
SYNC = {T.item: 0, T.__bool__: False, T.__float__: 0.0, T.__int__: 0, T.__index__: 0}
MOVES = {T.to, T.cpu, T.cuda, T.copy_, T.__setitem__, T.__getitem__, T.numpy, T.__array__, T.tolist,
         T.new_tensor, T.type_as, T.__repr__, T.__format__, T.__len__}
SKIP = {"_has_compatible_shallow_copy_type", "__set__", "__get__"}


def _dev(t):
    return isinstance(t, T) and t.device.type == "meta"


def _cpu_zeros(t):
    return torch.zeros(t.shape, dtype=t.dtype) if _dev(t) else t


def _cpu_ones(t):   # stand-in for a copy back: ones are valid ±1 codes and labels
    return torch.ones(t.shape, dtype=t.dtype) if _dev(t) else t


class FakeDevice(TorchFunctionMode):
    """with FakeDevice() as fd: ...; then fd.events[kind] is a Counter of descriptions."""

    def __init__(self):
        super().__init__()
        self.events = collections.defaultdict(collections.Counter)
        self._shadow = {}     # id(device tensor) -> (weakref to it, the CPU tensor it was copied from)

    def _back(self, t):
        ref, original = self._shadow.get(id(t), (None, None))
        return original.clone() if ref is not None and ref() is t else _cpu_ones(t)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        t = args[0] if args else None
        name = getattr(func, "__qualname__", str(func))
        if func in SYNC and _dev(t):
            self.events["SYNC"][name] += 1
            return SYNC[func]
        if func is T.tolist and _dev(t):
            self.events["SYNC"][name] += 1
            return _cpu_zeros(t).tolist()
        if func in (T.numpy, T.__array__) and _dev(t):
            self.events["NUMPY"][name] += 1
            return func(_cpu_zeros(t), *args[1:], **kwargs)
        if func is T.cpu and _dev(t):
            self.events["SYNC"][".cpu()"] += 1
            return self._back(t)
        if func is T.to:
            dev, dtype, _, _ = torch._C._nn._parse_to(*args[1:], **kwargs)
            if _dev(t) and dev is not None and dev.type == "cpu":
                self.events["SYNC"][".to(cpu)"] += 1
                z = self._back(t)
                return z.to(dtype) if dtype is not None else z
            if isinstance(t, T) and t.device.type == "cpu" and dev is not None and dev.type == "meta":
                self.events["H2D"][tuple(t.shape)] += 1
                out = func(*args, **kwargs)
                if dtype is None or dtype == t.dtype:
                    self._shadow[id(out)] = (weakref.ref(out), t)
                return out
        if func is T.__getitem__ and isinstance(t, T) and t.device.type == "cpu":
            if any(_dev(i) and i.ndim > 0 for i in tree_flatten(args[1])[0]):
                self.events["MIXED"]["cpu_tensor[device_index]"] += 1
                args = (t, tree_map(_cpu_zeros, args[1]))
        if func is T.__setitem__ and isinstance(t, T) and t.device.type == "cpu" and _dev(args[2]):
            self.events["SYNC"]["cpu_tensor[...] = device_tensor"] += 1
            args = (t, args[1], _cpu_ones(args[2]))
        if func not in MOVES and getattr(func, "__name__", "") not in SKIP:
            flat = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, T) and a.ndim > 0]
            if {"meta", "cpu"} <= {a.device.type for a in flat}:
                self.events["MIXED"][f"{name} {[f'{a.device.type}{tuple(a.shape)}' for a in flat][:4]}"] += 1
                args, kwargs = tree_map(lambda a: a.to(DEV) if isinstance(a, T) and a.device.type == "cpu"
                                        and a.ndim > 0 else a, (args, kwargs))
        try:
            out = func(*args, **kwargs)
        except NotImplementedError:      # no meta kernel: run on CPU zeros, put the result back on the device
            out = func(*tree_map(_cpu_zeros, args), **tree_map(_cpu_zeros, kwargs))
            out = tree_map(lambda o: o.to(DEV) if isinstance(o, T) else o, out)
        if func is not T.to and any(_dev(o) and o.dtype == torch.float64 for o in tree_flatten(out)[0]):
            self.events["F64"][name] += 1
        return out
