"""Figures of the workbook. `setup()` is the one place that sets size, style and palette.

Every function takes an optional `ax` and returns the Axes (or Figure), so notebooks can compose them.
"""
from __future__ import annotations

import matplotlib.colors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .codes import as_pm1
from .labels import class_ids

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
           "#999999", "#882255"]          # colour-blind safe (Okabe–Ito + two)
SAME, DIFFERENT = PALETTE[0], PALETTE[3]


def setup(dpi: int = 100) -> None:
    """Modest PNG figures, one consistent look."""
    plt.rcParams.update({
        "figure.figsize": (6.0, 3.6), "figure.dpi": dpi, "savefig.dpi": dpi, "font.size": 10,
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "axes.prop_cycle": plt.cycler(color=PALETTE), "legend.frameon": False,
    })


def _ax(ax, figsize=None):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def pair_distances(codes, labels, max_pairs: int = 20000, seed: int = 0):
    """Hamming distances of random pairs, split into same-label (share a label) and different-label pairs.
    codes (n, K) ±1; labels (n,) or (n, C). Returns (same, different) numpy int arrays."""
    c = as_pm1(codes)
    y = torch.as_tensor(_np(labels))
    rng = np.random.default_rng(seed)
    n = len(c)
    i, j = rng.integers(0, n, max_pairs), rng.integers(0, n, max_pairs)
    keep = i != j
    i, j = i[keep], j[keep]
    d = ((c.shape[1] - (c[i] * c[j]).sum(1)) / 2).round().long().numpy()
    same = (y[i] == y[j]).numpy() if y.ndim == 1 else ((y[i] * y[j]).sum(1) > 0).numpy()
    return d[same], d[~same]


def hamming_distributions(codes, labels, ax=None, title: str | None = None, max_pairs: int = 20000):
    """Densities of the Hamming distance d_H = (K - b_i·b_j)/2 over random pairs, same-label pairs (blue)
    against different-label pairs (orange-red), each normalised on its own (common_norm=False), one bar per
    integer distance (per two for K > 64), drawn with seaborn. The dotted line marks K/2, where two random
    codes meet. codes (n, K) ±1; labels (n,) class ids or (n, C) multi-hot (then "same" = share a label).
    Taught in: notebooks/00, "Hamming-distance distributions"; reused in 01-09."""
    ax = _ax(ax)
    same, diff = pair_distances(codes, labels, max_pairs)
    k = as_pm1(codes).shape[1]
    width = 1 if k <= 64 else 2
    bins = np.arange(-0.5, k + 1.5, width)              # integer distances sit in the middle of their bar
    y = _np(labels)
    multi = y.ndim == 2 and bool((y.sum(1) > 1).any())     # one-hot rows are single-label data
    names = ("share a label" if multi else "same label", "no shared label" if multi else "different label")
    levels = [f"{names[0]} (n={len(same)})", f"{names[1]} (n={len(diff)})"]
    data = pd.DataFrame({"Hamming distance": np.concatenate([same, diff]),
                         "pairs": [levels[0]] * len(same) + [levels[1]] * len(diff)})
    colours = dict(zip(levels, (SAME, DIFFERENT)))
    drawn = [lv for lv, n in zip(levels, (len(same), len(diff))) if n]   # a group without pairs draws nothing
    if drawn:
        sns.histplot(data, x="Hamming distance", hue="pairs", hue_order=drawn, palette=colours, bins=bins,
                     stat="density", common_norm=False, alpha=0.6, edgecolor="white", linewidth=0.3,
                     legend=False, ax=ax)
    # name seaborn's bar groups, same-label first, so that ax.get_legend_handles_labels() returns the two groups
    # (notebooks gather them into one figure legend); the K/2 line stays out of that list ("_" label)
    rgb = {lv: matplotlib.colors.to_rgb(colours[lv]) for lv in drawn}
    for container in ax.containers:
        face = tuple(container.patches[0].get_facecolor()[:3]) if container.patches else None
        level = next((lv for lv, c in rgb.items() if face is not None and np.allclose(face, c, atol=1e-3)), None)
        if level is not None:
            container.set_label(level)
    ax.containers.sort(key=lambda c: levels.index(c.get_label()) if c.get_label() in levels else len(levels))
    ax.axvline(k / 2, color="grey", ls=":", lw=1.2, label="_K/2")
    handles = [Patch(facecolor=colours[lv], alpha=0.6, label=lv) for lv in drawn] + \
        [Line2D([], [], color="grey", ls=":", lw=1.2, label=f"K/2 = {k / 2:g}")]
    if drawn:               # headroom for the legend; only raised, so panels sharing a y axis keep their bars
        ax.set_ylim(0, max(ax.get_ylim()[1], 1.3 * max(p.get_height() for p in ax.patches)))
    # a light box keeps the legend readable where narrow panels leave it no empty corner
    ax.legend(handles=handles, fontsize=8, loc="best", frameon=True, framealpha=0.85, edgecolor="none")
    ax.set_xlim(bins[0], bins[-1])
    ax.set_xlabel("Hamming distance")
    ax.set_ylabel("fraction of pairs" if width == 1 else "fraction of pairs per unit distance")
    ax.set_title(title or f"{k}-bit codes: pair distances", fontsize=10)
    return ax


def _cell_texts(m: np.ndarray) -> np.ndarray:
    """Short cell annotations: similarities in [-1, 1] to two decimals, distances to a whole number (one decimal
    below 10, where a unit matters), trailing zeros dropped so every number fits a small cell."""
    def text(v):
        if np.isnan(v):
            return ""
        if np.nanmax(np.abs(m)) <= 1:
            t = f"{v:.2f}".rstrip("0").rstrip(".")
        else:
            t = f"{v:.1f}".rstrip("0").rstrip(".") if abs(round(v, 1)) < 10 else f"{v:.0f}"
        return "0" if t == "-0" else t
    return np.vectorize(text, otypes=[object])(m)


def class_distance_heatmap(matrix, class_names=None, ax=None, title: str | None = None, vmin: float | None = 0,
                           vmax: float | None = None, cmap: str = "viridis", annot: bool | None = None,
                           cbar_label: str = "mean Hamming distance", cbar: bool = True):
    """A (C, C) matrix between classes (class-to-class Hamming distances, similarities, semantic distances) as a
    seaborn heatmap with square cells, the class names on both axes and a labelled colour bar.
    matrix (C, C) (torch or numpy; NaN cells stay blank); class_names: C names (default 0..C-1);
    vmin/vmax: colour range (vmax None: the largest value); annot: write each value in its cell (None: only when
    C <= 12, where the numbers still fit). Returns the Axes.
    Taught in: notebooks/03 (the class similarity S and the centres' distances), 07 (proxies), 08 (SHREWD)."""
    m = _np(matrix).astype(float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"class_distance_heatmap: matrix must be square (C, C), got shape {m.shape}")
    c = m.shape[0]
    names = [str(n) for n in (range(c) if class_names is None else class_names)]
    if len(names) != c:
        raise ValueError(f"class_distance_heatmap: {len(names)} class_names for a {c}x{c} matrix")
    ax = _ax(ax, (5.0, 4.4))
    annot = c <= 12 if annot is None else annot
    sns.heatmap(m, ax=ax, cmap=cmap, vmin=vmin, vmax=np.nanmax(m) if vmax is None else vmax, square=True,
                annot=_cell_texts(m) if annot else False, fmt="", annot_kws={"fontsize": 8},
                xticklabels=names, yticklabels=names, cbar=cbar,
                cbar_kws={"label": cbar_label, "shrink": 0.8} if cbar else None,
                linewidths=0.5 if c <= 12 else 0, linecolor="white")
    ax.tick_params(labelsize=8, length=0)
    if max(map(len, names)) > 2:                       # long names slant so neighbours do not overlap
        plt.setp(ax.get_xticklabels(), rotation=60, ha="right", rotation_mode="anchor")
    else:
        plt.setp(ax.get_xticklabels(), rotation=0)
    plt.setp(ax.get_yticklabels(), rotation=0)
    ax.grid(False)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def tsne_codes(codes, labels, n_samples: int = 500, max_iter: int = 500, perplexity: float = 30.0,
               seed: int = 0, ax=None, title: str | None = None):
    """t-SNE of a random subsample of codes, coloured by (first) label.

    t-SNE keeps neighbourhoods, not distances: cluster sizes and gaps between clusters mean little.
    """
    from sklearn.manifold import TSNE
    ax = _ax(ax, (4.5, 4.0))
    c = _np(as_pm1(codes))
    y = _np(class_ids(torch.as_tensor(_np(labels))))
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(c))[:n_samples]
    emb = TSNE(n_components=2, perplexity=min(perplexity, (len(idx) - 1) / 3), max_iter=max_iter,
               init="pca", random_state=seed).fit_transform(c[idx].astype(np.float32))
    for k in np.unique(y[idx]):
        m = y[idx] == k
        ax.scatter(emb[m, 0], emb[m, 1], s=6, color=PALETTE[int(k) % len(PALETTE)], label=str(k))
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title(title or f"t-SNE of {c.shape[1]}-bit codes ({len(idx)} samples)")
    ax.legend(fontsize=8, markerscale=2, ncol=2, loc="best")
    return ax


def pr_curves(curves: dict, kind: str = "radius", ax=None):
    """PR curves of several methods on one axes. curves: {name: dict from metrics.pr_curve_by_radius (kind
    'radius') or metrics.precision_recall_at_k (kind 'rank')}. The two kinds are different curves."""
    ax = _ax(ax, (4.5, 3.6))
    for name, c in curves.items():
        ax.plot(c["recall"], c["precision"], marker="o" if kind == "radius" else None, ms=3, label=name)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("PR curve by Hamming radius" if kind == "radius" else "PR curve by rank (top-k)")
    ax.set_xlim(0, 1.02), ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    return ax


def retrieval_gallery(query_images, query_codes, query_labels, db_images, db_codes, db_labels,
                      n_queries: int = 4, top: int = 8, image_shape=None, seed: int = 0):
    """Each row: a query, then its `top` nearest database items (ties by database index), hits framed
    green, misses red, with their Hamming distance."""
    q, db = as_pm1(query_codes), as_pm1(db_codes)
    ql, dl = torch.as_tensor(_np(query_labels)), torch.as_tensor(_np(db_labels))
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(q))[:n_queries]
    fig, axes = plt.subplots(len(rows), top + 1, figsize=(1.0 * (top + 1), 1.1 * len(rows)), squeeze=False)

    def show(ax, img, colour=None, text=""):
        img = _np(img)
        img = img.reshape(image_shape) if image_shape else (img[0] if img.ndim == 3 and img.shape[0] == 1 else img)
        if img.ndim == 3:
            img = img.transpose(1, 2, 0)
        ax.imshow(img, cmap="gray_r" if img.ndim == 2 else None)
        ax.set_xticks([]), ax.set_yticks([])
        ax.grid(False)
        for s in ax.spines.values():
            s.set_visible(colour is not None)
            if colour:
                s.set_color(colour), s.set_linewidth(3)
        ax.set_title(text, fontsize=8)

    for r, qi in enumerate(rows):
        d = (q.shape[1] - db @ q[qi]) / 2
        order = torch.sort(d, stable=True).indices[:top]
        show(axes[r, 0], query_images[qi], None, "query")
        for c, j in enumerate(order, 1):
            hit = bool((ql[qi] == dl[j]).all()) if ql.ndim == 1 else bool((ql[qi] * dl[j]).sum() > 0)
            show(axes[r, c], db_images[j], "#009E73" if hit else "#D55E00", f"d={int(d[j])}")
    fig.tight_layout()
    return fig


def bit_balance(codes, ax=None, title: str | None = None):
    """Fraction of +1 per bit (0.5 is balanced) and, in the title, how many distinct codes are used."""
    ax = _ax(ax, (6.0, 2.6))
    c = _np(as_pm1(codes))
    frac = (c > 0).mean(0)
    ax.bar(np.arange(len(frac)), frac, color=PALETTE[0])
    ax.axhline(0.5, color="grey", ls=":")
    ax.set_ylim(0, 1)
    ax.set_xlabel("bit")
    ax.set_ylabel("fraction of +1")
    n_unique = len(np.unique(c, axis=0))
    ax.set_title(title or f"bit balance; {n_unique} distinct codes among {len(c)}")
    return ax


def training_curves(history: dict, ax=None, title: str | None = None):
    """Loss (left axis) and validation mAP (right axis) per epoch."""
    ax = _ax(ax, (5.0, 3.0))
    ax.plot(history["epoch"], history["loss"], color=PALETTE[0], label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss", color=PALETTE[0])
    if history.get("val_map"):
        ax2 = ax.twinx()
        ax2.plot(history["epoch"], history["val_map"], color=PALETTE[1], label="validation mAP")
        ax2.set_ylabel("validation mAP@all", color=PALETTE[1])
        ax2.grid(False)
    ax.set_title(title or "training")
    return ax


def results_table(rows: list[dict], columns=("method", "bits", "map_all", "map_1000", "p_h2")) -> str:
    """A small Markdown/plain table of result dicts (numbers to 3 decimals)."""
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    widths = [max(len(c), *(len(fmt(r.get(c, ""))) for r in rows)) for c in columns]
    line = lambda vals: "  ".join(str(v).ljust(w) for v, w in zip(vals, widths))
    return "\n".join([line(columns), line("-" * w for w in widths)] +
                     [line(fmt(r.get(c, "")) for c in columns) for r in rows])


def compare_methods(results: dict, ax=None, metric: str = "map_all"):
    """Bar chart of one metric for several methods: results {name: dict from metrics.evaluate}."""
    ax = _ax(ax, (5.0, 3.0))
    names = list(results)
    vals = [results[n][metric] for n in names]
    ax.bar(names, vals, color=[PALETTE[i % len(PALETTE)] for i in range(len(names))])
    for i, v in enumerate(vals):
        ax.text(i, v + 0.01, f"{v:.3f}", ha="center", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(metric)
    return ax


def knob_effect(summary, knob: str, metric: str = "map_all", lines_by=(), default=None, ax=None,
                title: str | None = None):
    """A metric against one knob of an ablation: mean ± std over seeds (error bars), the tie bounds
    ('<metric>_pessimistic' / '_optimistic' means, shaded) when the summary has them, one line per setting of
    the `lines_by` columns (other knobs, bits), the default value of the knob marked by a dotted line.
    summary: a pandas DataFrame from hx.summarise (columns knob, metric, metric + '_std', n). The x axis is
    categorical (the knob's values in order), so 1e-4 and 0.1 sit side by side."""
    ax = _ax(ax, (5.0, 3.6))
    values = sorted(summary[knob].dropna().unique())
    pos = {v: i for i, v in enumerate(values)}
    lines_by = [c for c in lines_by if c in summary.columns]
    groups = summary.groupby(lines_by, sort=True, dropna=False) if lines_by else [((), summary)]
    for i, (key, g) in enumerate(groups):
        g = g.dropna(subset=[knob]).sort_values(knob)
        xs = [pos[v] for v in g[knob]]
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{c}={v:g}" if isinstance(v, float) else f"{c}={v}" for c, v in zip(lines_by, key))
        colour = PALETTE[i % len(PALETTE)]
        n = int(g["n"].min()) if "n" in g else 1
        ax.errorbar(xs, g[metric], yerr=g[metric + "_std"] if metric + "_std" in g and n > 1 else None,
                    marker="o", capsize=3, color=colour,
                    label=(label + " " if label else "") + (f"(mean ± std, n={n})" if n > 1 else "(one seed)"))
        lo, hi = metric + "_pessimistic", metric + "_optimistic"
        if lo in g and hi in g:
            ax.fill_between(xs, g[lo], g[hi], color=colour, alpha=0.15, lw=0)
    if default is not None and default in pos:
        ax.axvline(pos[default], color="grey", ls=":", lw=1.2, label=f"default {knob}={default:g}"
                   if isinstance(default, float) else f"default {knob}={default}")
    ax.set_xticks(range(len(values)), [f"{v:g}" if isinstance(v, float) else str(v) for v in values])
    ax.set_xlabel(knob)
    ax.set_ylabel(metric + (" (shaded: tie bounds)" if metric + "_pessimistic" in summary else ""))
    ax.set_title(title or f"{metric} against {knob}")
    ax.legend(fontsize=8)
    return ax


def distance_distributions(codes: dict, ax=None, max_pairs: int = 10000, title: str | None = None):
    """Hamming distance / K of same-label (solid) and different-label (dashed) pairs, one colour per entry of
    `codes` {label: (codes (n, K) ±1, labels (n,) or (n, C))}, as step histograms (densities) drawn with
    seaborn. Dividing by K lets different code lengths share the axis."""
    ax = _ax(ax, (5.0, 3.6))
    frames = []
    for label, (c, y) in codes.items():
        same, diff = pair_distances(c, y, max_pairs=max_pairs)
        k = as_pm1(c).shape[1]
        frames += [pd.DataFrame({"distance / K": same / k, "setting": label, "pairs": "same label"}),
                   pd.DataFrame({"distance / K": diff / k, "setting": label, "pairs": "different label"})]
    data = pd.concat(frames, ignore_index=True)
    colours = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(codes)}
    for pairs, style in (("same label", "-"), ("different label", "--")):
        sns.histplot(data[data["pairs"] == pairs], x="distance / K", hue="setting", hue_order=list(codes),
                     palette=colours, stat="density", common_norm=False, element="step", fill=False,
                     bins=np.linspace(0, 1, 34), linestyle=style, linewidth=1.5, ax=ax, legend=pairs == "same label")
    ax.set_ylabel("density")
    ax.set_title((title + ": " if title else "") + "same label (solid), different label (dashed)", fontsize=9)
    return ax


__all__ = ["setup", "pair_distances", "hamming_distributions", "class_distance_heatmap", "tsne_codes", "pr_curves",
           "retrieval_gallery", "bit_balance", "training_curves", "results_table", "compare_methods", "knob_effect",
           "distance_distributions", "PALETTE"]
