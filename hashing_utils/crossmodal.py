"""Two-view (cross-modal) data and baselines for the DCHML notebook.

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

from dataclasses import dataclass

import numpy as np
import torch

from . import metrics
from .data import RetrievalSplit, find_data_file, load_digits, to_multi_hot
from .models import CentredProjection

WIKIPEDIA_FILE = "wikipedia/wikipedia_sift128_lda10.npz"
MIRFLICKR_FILE = "mirflickr25k/mirflickr25k_tags1386_labels24.npz"

__all__ = ["CrossModalSplit", "load_wikipedia", "load_digits_two_view", "load_mirflickr_text", "load_two_view",
           "CCAProjection", "fit_cca", "lsh_pair", "evaluate_cross_modal", "WIKIPEDIA_FILE", "MIRFLICKR_FILE"]


@dataclass
class CrossModalSplit:
    """Paired two-view data: row i of image_* and text_* is the same item. Labels multi-hot float32 (n, C)."""
    name: str
    image_train: torch.Tensor
    text_train: torch.Tensor
    y_train: torch.Tensor
    image_query: torch.Tensor
    text_query: torch.Tensor
    y_query: torch.Tensor
    image_db: torch.Tensor
    text_db: torch.Tensor
    y_db: torch.Tensor
    class_names: list
    description: str

    @property
    def train(self) -> tuple:
        """(X_image, X_text) of the training pairs, the X that hu.fit('dchml', X, y) takes."""
        return self.image_train, self.text_train

    def query(self, modality: str) -> torch.Tensor:
        return self._view("query", modality)

    def db(self, modality: str) -> torch.Tensor:
        return self._view("db", modality)

    def _view(self, part, modality):
        if modality not in ("image", "text"):
            raise ValueError(f"modality must be 'image' or 'text', got {modality!r}")
        return getattr(self, f"{modality}_{part}")

    @property
    def n_classes(self) -> int:
        return self.y_train.shape[1]

    def summary(self) -> str:
        return (f"{self.name}: {len(self.y_train)} training pairs, {len(self.y_query)} query pairs, database "
                f"{len(self.y_db)} pairs, {self.n_classes} classes; image view {self.image_train.shape[1]}-d, "
                f"text view {self.text_train.shape[1]}-d")


def _missing(name: str, rel: str) -> FileNotFoundError:
    from .data import data_dirs
    places = "\n  ".join(str(d) for d in data_dirs())
    return FileNotFoundError(
        f"{name}: '{rel}' was not found. Put the file under one of these folders (keeping the sub-folder):\n  "
        f"{places}\nor set HASHING_DATA_DIR to the folder that holds it (see data/README.md for the source).")


def load_wikipedia() -> CrossModalSplit:
    """The standard Wikipedia protocol: the 2,173 training pairs are also the database, the 693 test pairs the
    queries. Image = 128-d SIFT bag-of-words (rows sum to 1), text = 10-d LDA topic proportions."""
    path = find_data_file(WIKIPEDIA_FILE)
    if path is None:
        raise _missing("Wikipedia", WIKIPEDIA_FILE)
    with np.load(path, allow_pickle=False) as d:
        img = torch.as_tensor(d["img_sift_bow128"], dtype=torch.float32)
        txt = torch.as_tensor(d["txt_lda10"], dtype=torch.float32)
        labels = d["labels"].astype(np.int64)
        is_train = d["is_train"].astype(bool)
        names = [str(c) for c in d["class_names"]]
    y = to_multi_hot(labels, len(names))
    tr, te = np.flatnonzero(is_train), np.flatnonzero(~is_train)
    return CrossModalSplit("wikipedia", img[tr], txt[tr], y[tr], img[te], txt[te], y[te], img[tr], txt[tr], y[tr],
                           names, "Wikipedia (Rasiwasia et al. 2010): 2,173 training pairs = database, 693 query "
                           "pairs; image 128-d SIFT BoW, text 10-d LDA topics")


def _partners(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For every item, a different item of the same class (a random derangement within each class)."""
    out = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < 2:
            raise ValueError(f"class {c} has fewer than two items; cannot pair different images")
        perm = rng.permutation(len(idx))
        out[idx[perm]] = idx[np.roll(perm, 1)]     # a cycle: nobody is paired with itself
    return out


def load_digits_two_view(noise: float = 1.0, seed: int = 0) -> CrossModalSplit:
    """Two views of sklearn's 8x8 digits, after the noisy-MNIST multi-view benchmark (Wang et al. 2015):
    view "image" = the digit (64-d, in [0, 1]); view "text" = a different image of the same class from the same
    part of the split, plus independent uniform noise U(0, noise) per pixel, clipped to [0, 1]. The two views of
    a pair share only the class. Split as hu.load_dataset('digits'): 359 query pairs held out, 1,438 training
    pairs = database. (It stands in for real image–text data when the Wikipedia file is absent.)"""
    base = load_digits(seed=seed)
    rng = np.random.default_rng(seed + 101)
    parts = {}
    for part in ("train", "query"):
        x, y = getattr(base, f"x_{part}"), getattr(base, f"y_{part}")
        partner = _partners(y.argmax(1).numpy(), rng)
        noisy = x[partner] + noise * torch.as_tensor(rng.random(x.shape), dtype=torch.float32)
        parts[part] = (x, noisy.clamp(0, 1), y)
    (xi, xt, y), (qi, qt, qy) = parts["train"], parts["query"]
    return CrossModalSplit("digits-two-view", xi, xt, y, qi, qt, qy, xi, xt, y, base.class_names,
                           f"sklearn digits, two views: a digit / a different digit of the same class + U(0, {noise}) "
                           f"noise; {len(qy)} query pairs, {len(y)} training pairs = database (seed {seed})")


def load_two_view(name: str, seed: int = 0) -> CrossModalSplit:
    """'wikipedia' or 'digits-two-view'."""
    if name == "wikipedia":
        return load_wikipedia()
    if name == "digits-two-view":
        return load_digits_two_view(seed=seed)
    raise ValueError(f"unknown two-view data set {name!r}; choose 'wikipedia' or 'digits-two-view'")


def load_mirflickr_text(n_query: int = 2000, n_train: int = 5000, seed: int = 0) -> RetrievalSplit:
    """MIRFlickr-25K text side (20,015 items, 1,386 binary tags, 24 multi-hot labels). Protocol of the
    cross-modal papers: `n_query` random queries, the rest is the database, `n_train` training items drawn from
    the database (the papers use 10,000; 5,000 keeps a CPU exercise short)."""
    path = find_data_file(MIRFLICKR_FILE)
    if path is None:
        raise _missing("MIRFlickr-25K", MIRFLICKR_FILE)
    with np.load(path, allow_pickle=False) as d:
        x = torch.as_tensor(d["tags_bow"], dtype=torch.float32)
        y = torch.as_tensor(d["labels"], dtype=torch.float32)
        names = [str(c) for c in d["class_names"]]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    q, db = np.sort(perm[:n_query]), np.sort(perm[n_query:])
    t = np.sort(rng.permutation(db)[:n_train])
    return RetrievalSplit("mirflickr25k-text", x[t], y[t], x[q], y[q], x[db], y[db], names,
                          f"MIRFlickr-25K tags: {n_query} queries, database {len(db)}, {n_train} training items "
                          f"from the database (seed {seed})")


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
    from .methods.dchml import CrossModalHasher
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
    from .methods.dchml import CrossModalHasher
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
