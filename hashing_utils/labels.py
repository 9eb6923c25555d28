"""Labels: class ids <-> multi-hot rows, and the checks every user of labels shares (one owner).

Two forms travel through the workbook: (n,) integer class ids and (n, C) multi-hot rows y ∈ {0, 1}^C
(single-label data: one 1 per row). The training losses read multi-hot rows; the metrics take either; the
single-label tools (DCWH's class means, the hierarchy metrics, SHC's similarity) need one class per row.

Taught in: notebooks/00_foundations.ipynb (labels and relevance: y_qᵀy_db > 0).
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

__all__ = ["to_multi_hot", "class_ids", "single_label_ids", "check_label_values", "training_labels"]


def _tensor(y) -> torch.Tensor:
    return y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))


def to_multi_hot(y, n_classes: int | None = None) -> torch.Tensor:
    """(n,) class ids -> (n, C) float32 multi-hot; a (n, C) 0/1 matrix passes through (as float32)."""
    y = _tensor(y)
    if y.ndim == 2:
        if not bool(((y == 0) | (y == 1)).all()):
            raise ValueError("a (n, C) label matrix must be multi-hot (only 0 and 1)")
        if n_classes is not None and y.shape[1] != n_classes:
            raise ValueError(f"labels have {y.shape[1]} columns, expected {n_classes} classes")
        return y.to(torch.float32)
    if y.ndim != 1:
        raise ValueError(f"labels must be (n,) class ids or (n, C) multi-hot, got shape {tuple(y.shape)}")
    if y.is_floating_point() and not bool((y == y.round()).all()):
        raise ValueError("class ids must be integers")
    y = y.to(torch.int64)
    if len(y) and int(y.min()) < 0:
        raise ValueError("class ids must be non-negative")
    c = int(y.max()) + 1 if n_classes is None else n_classes
    if len(y) and int(y.max()) >= c:
        raise ValueError(f"class id {int(y.max())} is out of range for {c} classes")
    return torch.nn.functional.one_hot(y, c).to(torch.float32)


def class_ids(y: torch.Tensor) -> torch.Tensor:
    """(n, C) multi-hot -> (n,) ids of the first positive class (for colouring plots); (n,) ids pass through."""
    return y.argmax(1) if y.ndim == 2 else y


def single_label_ids(y, what: str = "this", n_classes: int | None = None) -> torch.Tensor:
    """(n,) class ids, or (n, C) one-hot -> (n,) int64 ids; a row with several labels or none is a
    ValueError naming `what` needs single-label data; ids outside [0, n_classes) too."""
    y = _tensor(y)
    if y.ndim == 2:
        if n_classes is not None and y.shape[1] != n_classes:
            raise ValueError(f"labels have {y.shape[1]} columns but there are {n_classes} classes")
        if bool(((y > 0).sum(1) != 1).any()):
            raise ValueError(f"{what} needs single-label data: every row of y needs exactly one label")
        ids = y.argmax(1)
    elif y.ndim == 1:
        ids = y
    else:
        raise ValueError(f"labels must be (n,) ids or (n, C) one-hot, got shape {tuple(y.shape)}")
    ids = ids.long()
    if n_classes is not None and len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= n_classes):
        raise ValueError(f"class ids must lie in [0, {n_classes})")
    return ids


def check_label_values(t: torch.Tensor, n: int, name: str, codes_name: str) -> torch.Tensor:
    """The label checks of the metrics: a CPU tensor of (n,) integer ids or (n, C) multi-hot (bool allowed),
    one row per code, finite -> int64 (n,) or float32 (n, C); a clear ValueError/TypeError otherwise."""
    if t.dtype == torch.bool:
        t = t.to(torch.float32)
    if t.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    if t.ndim not in (1, 2):
        raise ValueError(f"{name} must be (n,) class ids or (n, C) multi-hot; got shape {tuple(t.shape)}")
    if t.shape[0] != n:
        raise ValueError(f"{name} has {t.shape[0]} rows but {codes_name} has {n} codes (one label per code)")
    a = (t.to(torch.float32) if t.dtype == torch.bfloat16 else t).numpy()
    if t.is_floating_point():
        n_bad = a.size - int(np.count_nonzero(np.isfinite(a)))
        if n_bad:
            raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); every entry must be a finite number")
    if t.ndim == 1:
        if t.is_floating_point() and not (np.round(a) == a).all():
            raise ValueError(f"{name}: single-label ids must be integers")
        return t.to(torch.int64)
    if t.shape[1] == 0:
        raise ValueError(f"{name} has 0 classes (shape {tuple(t.shape)}); a multi-hot matrix needs at least one")
    lab = t.to(torch.float32)
    if not np.isin(lab.numpy(), (0.0, 1.0)).all():
        raise ValueError(f"{name}: a (n, C) label matrix must be multi-hot (only 0 and 1)")
    return lab


def training_labels(name: str, y, n: int, multi_label: bool = True) -> torch.Tensor:
    """The training labels of a supervised method as (n, C) multi-hot, with a clear error for what cannot train.

    Rows with no label at all are refused (ValueError): every supervised loss here pulls a sample toward its
    classes' code, and an empty row has none (CSQ would silently pull it to the tie-breaker vector, the
    softmax losses divide by zero). Drop those rows first: keep = y.sum(1) > 0. A training set with a single
    class trains (warning), but its codes can only say "same class"."""
    if y is None:
        raise ValueError(f"{name} is supervised: pass labels y, (n,) class ids or (n, C) multi-hot")
    y = to_multi_hot(y)
    if len(y) != n:
        raise ValueError(f"y has {len(y)} rows but X has {n}: one label (or label row) per sample expected")
    empty = (y.sum(1) == 0).nonzero().flatten()
    if len(empty):
        raise ValueError(f"y: {len(empty)} training rows have no label at all (first row {int(empty[0])}); every "
                         "sample needs at least one class: drop them first, e.g. keep = y.sum(1) > 0")
    if not multi_label and bool((y.sum(1) > 1).any()):
        raise ValueError(f"{name} handles single-label data only; got rows with several labels")
    present = int((y.sum(0) > 0).sum())
    if present < 2:
        warnings.warn(f"y: the training set has a single class; {name} is supervised and can only learn that "
                      "all samples are alike, so its codes will not separate anything", UserWarning, stacklevel=5)
    return y
