"""Cross-modal baselines and evaluation for the DCHML notebook (the two-view data loaders live in data.py and
are re-exported here, the CrossModalHasher in training.py).

- load_wikipedia(): the Wikipedia image–text set (Rasiwasia et al. 2010): 128-d SIFT bag-of-words image view,
  10-d LDA topic text view, 10 categories; 2,173 training pairs (= the retrieval database), 693 query pairs.
- load_digits_two_view(): an offline stand-in built from scikit-learn's digits, after the "noisy MNIST"
  multi-view benchmark: view 1 ("image") is a digit, view 2 ("text") a *different* image of the same class
  with uniform noise added. Same split as hu.load_dataset("digits").
- load_mirflickr_text(): MIRFlickr-25K tags (1,386-d binary bag of words) with 24 multi-hot labels, as a
  single-modality RetrievalSplit for multi-label exercises on the text side.
- fit_cca(): closed-form regularised CCA on the training pairs, hashed by signs (see its docstring for how
  K > rank bits are made), and lsh_pair(): independent LSH per view, the chance floor.
- evaluate_cross_modal(): image→text and text→image metrics for any hasher with encode(x, modality=...).
"""
from __future__ import annotations

import numpy as np
import torch

from . import metrics
from .data import (MIRFLICKR_FILE, WIKIPEDIA_FILE, CrossModalSplit, load_digits_two_view, load_mirflickr_text,
                   load_two_view, load_wikipedia)
from .models import CentredProjection
from .training import CrossModalHasher

__all__ = ["CrossModalSplit", "load_wikipedia", "load_digits_two_view", "load_mirflickr_text", "load_two_view",
           "CrossModalHasher", "fit_cca", "lsh_pair", "evaluate_cross_modal", "WIKIPEDIA_FILE", "MIRFLICKR_FILE"]


# ----------------------------------------------------------------------------- baselines
def _inv_sqrt(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    return (v / np.sqrt(np.clip(w, 1e-12, None))) @ v.T


def fit_cca(X, bits: int = 32, seed: int = 0, reg: float = 1e-3, weight_power: float = 1.0):
    """Closed-form regularised CCA on paired training data X = (X_image, X_text), hashed by signs.

    Cxx, Cyy (each + reg·mean(diag)·I), Cxy; T = Cxx^{-1/2} Cxy Cyy^{-1/2} = U S Vᵀ; canonical directions
    A = Cxx^{-1/2} U, B = Cyy^{-1/2} V, r = min(d_x, d_y) of them, correlations ρ = diag(S).
    Each canonical variate is scaled by ρ^weight_power (weakly correlated directions matter less).
    Bits: with K ≤ r the top-K variates' signs (classic CCA hashing); with K > r (the 10-d Wikipedia text view
    gives r = 10 < 16) the r-dim canonical space is multiplied by a seeded Gaussian matrix R (r × K) — sign random
    projection (LSH) inside the shared CCA space — so K bits exist at any K.
    Returns a CrossModalHasher with modalities image and text, and `.correlations` (r,).
    """
    xi, xt = (np.asarray(torch.as_tensor(x, dtype=torch.float32).flatten(1), dtype=np.float64) for x in X)
    if len(xi) != len(xt):
        raise ValueError(f"X_image has {len(xi)} rows but X_text has {len(xt)}")
    mi, mt = xi.mean(0), xt.mean(0)
    ci, ct = xi - mi, xt - mt
    n = len(xi) - 1
    cxx, cyy, cxy = ci.T @ ci / n, ct.T @ ct / n, ci.T @ ct / n
    cxx += reg * np.trace(cxx) / len(cxx) * np.eye(len(cxx))
    cyy += reg * np.trace(cyy) / len(cyy) * np.eye(len(cyy))
    wx, wy = _inv_sqrt(cxx), _inv_sqrt(cyy)
    u, s, vt = np.linalg.svd(wx @ cxy @ wy)
    r = min(xi.shape[1], xt.shape[1])
    a, b, rho = wx @ u[:, :r], wy @ vt.T[:, :r], s[:r]
    scale = rho ** weight_power
    a, b = a * scale, b * scale
    if bits <= r:
        rot, how = np.eye(r)[:, :bits], f"top {bits} canonical variates"
    else:
        rot = np.random.default_rng(seed).standard_normal((r, bits))
        how = f"{r} canonical variates x Gaussian projection to {bits}"
    f = lambda m, w: CentredProjection(torch.as_tensor(m, dtype=torch.float32), torch.as_tensor(w @ rot, dtype=torch.float32))
    hasher = CrossModalHasher(None, {"image": f(mi, a), "text": f(mt, b)}, "cpu", {},
                              {"method": "cca", "bits": bits, "seed": seed, "reg": reg, "weight_power": weight_power,
                               "bits_from": how})
    hasher.correlations = torch.as_tensor(rho, dtype=torch.float32)
    return hasher


def lsh_pair(X, bits: int = 32, seed: int = 0):
    """Independent sign-random-projection LSH for each view (hu.fit('lsh') per modality, different seeds).
    The two views' hyperplanes live in different spaces, so cross-modal mAP is at chance level: the floor."""
    from .methods.lsh import LSH
    models = {m: LSH.fit(x, None, bits=bits, seed=seed + k, device="cpu").model
              for k, (m, x) in enumerate(zip(("image", "text"), X))}
    return CrossModalHasher(None, models, "cpu", {}, {"method": "lsh", "bits": bits, "seed": seed})


def evaluate_cross_modal(hasher, split: CrossModalSplit, **kwargs) -> dict:
    """{'image->text': metrics.evaluate(image queries vs text database), 'text->image': ...} for any hasher with
    encode(x, modality=...). kwargs go to metrics.evaluate (topk, radius, ties)."""
    out = {}
    for q, d in (("image", "text"), ("text", "image")):
        out[f"{q}->{d}"] = metrics.evaluate(hasher.encode(split.query(q), modality=q),
                                            hasher.encode(split.db(d), modality=d), split.y_query, split.y_db, **kwargs)
    return out
