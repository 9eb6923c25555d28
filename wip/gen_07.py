import nbformat
from nbformat.v4 import new_notebook, new_markdown_cell as md, new_code_cell as code

NOTATION = open("/work/main/notebooks/NOTATION.md").read().strip()
cells = []
cells.append(md(r"""# 07 · DCHML: Deep Cross-modal Hashing via Margin-dynamic-softmax Loss
*Query with an image, retrieve texts (and the other way round) in one shared Hamming space.*"""))
cells.append(md(r"""## What you will build
Cross-modal retrieval: the query is in one modality, the database in the other, and both are hashed into **one**
Hamming space, so a single Hamming distance compares an image with a text. DCHML (Tu, Mao et al.; published as
**DCPH**) builds it from

1. a **proxy hashing network** that turns each category into a proxy code $h_c\in\{\pm1\}^K$;
2. one small network per modality (here MLPs, because both views are feature vectors), trained with the
   **margin-dynamic-softmax loss**: one *dynamic* positive logit per sample — its mean similarity to the proxies
   of all its categories, minus a margin — against the logits of its negative categories;
3. **shared binary codes** $B=\operatorname{sgn}(B^{\mathrm I}+B^{\mathrm T})$ with a quantisation term, and the
   two networks trained **in turns**.

Data: the real **Wikipedia** image–text set (128-d SIFT bag-of-words image view, 10-d LDA topic text view,
10 categories; 2,173 training pairs = database, 693 query pairs) in full mode; in fast mode (CI, offline) a
**two-view digits** set built from scikit-learn's bundled digits (a digit, and a *different* noisy digit of the
same class, as in the noisy-MNIST multi-view benchmark). References: **CCA** (closed form, hashed by signs) and
**LSH** (independent per view: the chance floor), plus **CSQ** trained separately per modality on shared centres.
Metrics: image→text and text→image mAP@all, mAP@1000 and P@H≤2.

API: `hu.fit("dchml", (X_image, X_text), y, bits=32)` returns a hasher with
`encode(X, modality="image" | "text")`."""))
cells.append(md("## Notation\n\n" + NOTATION + r"""

Rows added for this notebook (DCHML only):

| symbol | meaning |
|---|---|
| $v \in \{\mathrm I, \mathrm T\}$ | modality (image, text); $x_i^{v}$, $f^{v}$, $u_i^{v}$ are sample $i$'s input, network and code in modality $v$ |
| $h_c$ | here: the **proxy code** of category $c$ (the paper's $c_j$), output of the proxy hashing network |
| $s_i^{+}$ | dynamic positive similarity $\frac{1}{\lvert\Gamma_i\rvert}\sum_{c\in\Gamma_i} u_i^\top h_c$ |
| $m$, $s$ | the margin (paper: $\sigma = 0.3K$) and the scale (paper: $\gamma = 0.3$) of the margin-dynamic-softmax |
| $B \in \{\pm1\}^{N\times K}$ | shared codes of the training pairs, rows $b_i$; $B^{v} = \operatorname{sgn}(U^{v})$ |
| $\mu$ | weight of the cross-modal coupling term (a reading, see Derivation) |
| $\alpha$, $\beta$ | balance and quantisation weights of the proxy network's loss |"""))
cells.append(code(r'''import os
FAST = os.environ.get("HASHING_FAST", "0") == "1"   # CI and `make test` set it; readers get the full run
SEED = 0
DATASET = "digits-two-view" if FAST else "wikipedia"
BITS_LIST = [32] if FAST else [16, 32, 64]
EPOCHS = 8 if FAST else 40
TSNE_SAMPLES, TSNE_ITER = (300, 250) if FAST else (1000, 1000)'''))
cells.append(code(r'''%config InlineBackend.figure_formats = ["png"]
import functools
import math

import matplotlib.pyplot as plt
import numpy as np
import torch

import hashing_utils as hu
from hashing_utils import crossmodal as cm

hu.plots.setup()
hu.seed_everything(SEED)
DEVICE = hu.pick_device()
print("device:", DEVICE.type, "| fast mode:", FAST)'''))

cells.append(md(r"""## Derivation

**Proxy codes.** The proxy hashing network $g$ maps the $C\times C$ identity (one row per category) through
Linear($C$→512)–ReLU–Linear(512→$K$)–tanh to continuous proxies $\tilde h_c$. DCHML only says "a proxy hashing
network"; we read it as the category network of PSLDH (same authors), whose loss is
$$
L_{\text{proxy}} = \frac{1}{C^2}\sum_{c,c'} \operatorname{ReLU}\!\big(\tilde h_c^\top \tilde h_{c'} - K\,\delta_{cc'}\big)^2
 + \frac{\alpha}{C}\,\Big\lVert \sum_c \tilde h_c \Big\rVert^2 + \frac{\beta}{C}\sum_c \lVert \operatorname{sgn}(\tilde h_c) - \tilde h_c\rVert^2 ,
$$
$\alpha = 0.05$, $\beta = 0.01$. Only *positive* inner products between different categories are penalised, so
proxies are pushed to Hamming distance $\ge K/2$ (inner product $\le 0$); the second term balances each bit over
the categories. Then $h_c = \operatorname{sgn}(\tilde h_c)$, fixed for the rest of training.

**Margin-dynamic-softmax.** For sample $i$ in modality $v$ with continuous code $u_i = \tanh(f^{v}(x_i^{v}))$,
positive categories $\Gamma_i$ and negative ones $\Psi_i$, the *dynamic* positive similarity is the mean
$s_i^{+} = \frac{1}{|\Gamma_i|}\sum_{c\in\Gamma_i} u_i^\top h_c$, and
$$
\ell_i = -\log \frac{e^{\,s\,(s_i^{+} - m)}}{e^{\,s\,(s_i^{+} - m)} + \sum_{q\in\Psi_i} e^{\,s\,u_i^\top h_q}},
\qquad m = 0.3K,\; s = 0.3 .
$$
A multi-label sample gets **one** positive logit (not one per label as in PSLDH's partial softmax): the code is
pulled toward the centroid of its proxies, and only the negative categories compete with it. Since
$u_i^\top h_c = K - 2\,d_H$ for binary $u_i$, the margin $m = 0.3K$ asks the positive similarity to win by
$0.3K$ in inner product, i.e. by $0.15K$ bits of Hamming distance, before the softmax is satisfied.

**Shared codes and quantisation.** After each network's turn its binary codes $B^{v} = \operatorname{sgn}(U^{v})$
are recomputed on the training pairs and the shared codes are $B = \operatorname{sgn}(B^{\mathrm I} + B^{\mathrm T})$.
Where the two modalities disagree the sum is 0; the paper does not define $\operatorname{sgn}(0)$ there — **our
reading** breaks the tie by the sign of $u^{\mathrm I} + u^{\mathrm T}$ (the more confident modality wins). Each
network then pays $\lambda \lVert b_i - u_i\rVert^2$, $\lambda = 0.1$, which pulls both modalities' codes toward
the **same** binary code: this is what puts images and texts into one Hamming space. $B$ starts from the labels,
$b_i = \operatorname{sgn}(\sum_{c\in\Gamma_i} h_c)$.

**Cross-modal coupling (a reading).** The paper has a cross-modal term whose exact form we could not find in any
source. We use $\mu\,\lVert u_i^{v} - u_i^{\bar v}\rVert^2 / K$, with $u_i^{\bar v}$ the other network's current
output for the same pair, held fixed during this network's turn ($\mu = 1$). It couples the continuous codes of a
pair, where $B$ couples only their signs; the experiment below switches it off to show what it does.

**Alternating training.** Each epoch: the image network takes one pass (text outputs fixed), then the text network
(image outputs fixed), then $B$ is updated. Per modality the objective is
$$ L^{v} = \frac1n\sum_i \ell_i^{v} + \lambda\,\frac1n\sum_i \lVert b_i - u_i^{v}\rVert^2 + \mu\,\frac1n\sum_i \frac{\lVert u_i^{v} - u_i^{\bar v}\rVert^2}{K}. $$
At test time a query is encoded by its own modality's network and ranked against the other modality's database
codes by Hamming distance.

What is published and what is a reading: the loss $\ell_i$, $m = 0.3K$, $s = 0.3$, $\lambda = 0.1$,
$B = \operatorname{sgn}(B^{\mathrm I} + B^{\mathrm T})$ and training in turns are from the paper (as summarised
in our reference notes); the proxy network's architecture and loss (PSLDH's), its optimiser (Adam, 500 steps —
PSLDH's 200 SGD steps left proxies only 3–5 bits apart at $K=16$ in our check), the tie rule of $B$, its
initialisation, the coupling term and the MLPs are our readings."""))

cells.append(md(r"""## Step-by-step implementation
The margin-dynamic-softmax written with plain loops over samples and categories, then compared with the module."""))
cells.append(code(r'''def mds_step_by_step(u, y, proxies, margin, scale):
    """ℓ averaged over the batch, one sample and one category at a time."""
    losses = []
    for i in range(u.shape[0]):
        positives = [c for c in range(proxies.shape[0]) if y[i, c] == 1]
        negatives = [c for c in range(proxies.shape[0]) if y[i, c] == 0]
        s_pos = sum(u[i] @ proxies[c] for c in positives) / len(positives)      # dynamic positive similarity
        pos_logit = scale * (s_pos - margin)
        neg_logits = [scale * (u[i] @ proxies[q]) for q in negatives]
        denominator = torch.exp(pos_logit) + sum(torch.exp(z) for z in neg_logits)
        losses.append(-torch.log(torch.exp(pos_logit) / denominator))
    return torch.stack(losses).mean()


g = torch.Generator().manual_seed(1)
B_, C_, K_ = 8, 6, 16
u_rand = torch.tanh(torch.randn(B_, K_, generator=g))
y_rand = (torch.rand(B_, C_, generator=g) < 0.3).float()
y_rand[torch.arange(B_), torch.randint(0, C_, (B_,), generator=g)] = 1      # multi-label, at least one label
proxies_rand = torch.where(torch.rand(C_, K_, generator=g) < 0.5, -1.0, 1.0)
m_, s_ = 0.3 * K_, 0.3
loop = mds_step_by_step(u_rand, y_rand, proxies_rand, m_, s_)
module = hu.losses.margin_dynamic_softmax_loss(u_rand, y_rand, proxies_rand, m_, s_)
assert torch.allclose(loop, module, atol=1e-6), (loop, module)
print(f"step by step {loop.item():.6f}  module {module.item():.6f}  ({int((y_rand.sum(1) > 1).sum())} of {B_} samples multi-label)")'''))
cells.append(md(r"""The proxy network's loss, written out term by term, against `hu.losses.proxy_code_loss`:"""))
cells.append(code(r'''def proxy_loss_step_by_step(h, alpha=0.05, beta=0.01):
    C, K = h.shape
    sep = sum(torch.relu(h[a] @ h[b] - (K if a == b else 0)) ** 2 for a in range(C) for b in range(C)) / C ** 2
    balance = (h.sum(0) ** 2).sum() / C
    sgn = torch.where(h >= 0, 1.0, -1.0)
    quant = sum(((sgn[c] - h[c]) ** 2).sum() for c in range(C)) / C
    return sep + alpha * balance + beta * quant


h_rand = torch.tanh(torch.randn(5, 12, generator=g))
assert torch.allclose(proxy_loss_step_by_step(h_rand), hu.losses.proxy_code_loss(h_rand), atol=1e-6)
print("proxy loss:", round(proxy_loss_step_by_step(h_rand).item(), 6))'''))
cells.append(md(r"""**Gradient check** in float64 (finite differences against autograd) for the margin-dynamic-softmax, the
quantisation and coupling terms, and the proxy loss:"""))
cells.append(code(r'''u64 = u_rand[:4].double().requires_grad_(True)
y64, p64 = y_rand[:4].double(), proxies_rand.double()
b64 = torch.where(torch.randn(4, K_, generator=g) < 0, -1.0, 1.0).double()
v64 = torch.tanh(torch.randn(4, K_, generator=g)).double()
full = lambda u: (hu.losses.margin_dynamic_softmax_loss(u, y64, p64, m_, s_)
                  + 0.1 * hu.losses.quantization_loss(u, b64) + hu.losses.coupling_loss(u, v64))
print("gradcheck DCHML objective:", torch.autograd.gradcheck(full, (u64,)))
print("gradcheck proxy loss:", torch.autograd.gradcheck(hu.losses.proxy_code_loss,
                                                        (h_rand[:, :6].double().requires_grad_(True),)))'''))

cells.append(md(r"""## Sanity checks
A toy case by hand: $u=(1,0)$, one positive proxy $(1,1)$, one negative $(-1,1)$, $m=0.5$, $s=2$. Then
$s^{+}=1$, the positive logit is $2(1-0.5)=1$, the negative logit $2\cdot(-1)=-2$ and
$\ell = -\log\frac{e^{1}}{e^{1}+e^{-2}} = \log(1+e^{-3}) \approx 0.048587$."""))
cells.append(code(r'''# NBVAL_CHECK_OUTPUT
u_toy = torch.tensor([[1.0, 0.0]])
proxies_toy = torch.tensor([[1.0, 1.0], [-1.0, 1.0]])
y_toy = torch.tensor([[1.0, 0.0]])
value = hu.losses.margin_dynamic_softmax_loss(u_toy, y_toy, proxies_toy, 0.5, 2.0).item()
assert abs(value - math.log(1 + math.exp(-3))) < 1e-6
print(f"loss {value:.6f}  by hand {math.log(1 + math.exp(-3)):.6f}")
# a multi-label sample with positives {0, 1}: s+ is the mean, so u between the two proxies is what the loss wants
u_two = torch.tensor([[0.0, 1.0]])
print(f"s+ for labels {{0,1}}: {hu.losses.dynamic_positive_similarity(u_two, torch.tensor([[1.0, 1.0]]), proxies_toy).item():.4f}")'''))
cells.append(md(r"""The shared codes: bits where the two modalities agree are kept; where they disagree, the larger
$|u|$ decides (our tie rule). The margin makes the loss larger for the same codes, and the loss is finite even for
a huge scale (one logsumexp)."""))
cells.append(code(r'''# NBVAL_CHECK_OUTPUT
b_img = torch.tensor([[1, -1, 1, -1]], dtype=torch.int8)
b_txt = torch.tensor([[1, -1, -1, 1]], dtype=torch.int8)
u_img = torch.tensor([[0.9, -0.9, 0.2, -0.1]])
u_txt = torch.tensor([[0.9, -0.9, -0.6, 0.5]])
print("B =", hu.losses.shared_codes(b_img, b_txt, u_img, u_txt).int().tolist())
with_margin = hu.losses.margin_dynamic_softmax_loss(u_rand, y_rand, proxies_rand, 0.3 * K_, 0.3)
no_margin = hu.losses.margin_dynamic_softmax_loss(u_rand, y_rand, proxies_rand, 0.0, 0.3)
assert with_margin > no_margin
assert torch.isfinite(hu.losses.margin_dynamic_softmax_loss(u_rand, y_rand, proxies_rand, 0.0, 1e4))
print("margin raises the loss:", bool(with_margin > no_margin))'''))
cells.append(md(r"""CCA gives at most $r=\min(d_{\mathrm I}, d_{\mathrm T})$ canonical directions: 10 for Wikipedia's 10-d text
view, fewer than 16 bits. With $K\le r$ the CCA baseline uses the signs of the top $K$ canonical variates (classic
CCA hashing); with $K>r$ it multiplies the $r$-dim canonical space by a seeded Gaussian $r\times K$ matrix and takes
signs — sign-random-projection LSH inside the shared CCA space. Each variate is scaled by its canonical correlation
first, so weakly shared directions count less."""))
cells.append(code(r'''# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(0)
toy_img, toy_txt = rng.standard_normal((300, 128)), rng.standard_normal((300, 10))
for k in (8, 16, 32, 64):
    print(k, "bits:", cm.fit_cca((toy_img, toy_txt), bits=k).settings["bits_from"])'''))

cells.append(md(r"""## Experiment
### Data
Full mode reads the Wikipedia file (from `data/wikipedia/` or the shared data folder); without it the cell says
where to put it and falls back to the digits two-view set."""))
cells.append(code(r'''try:
    split = cm.load_two_view(DATASET, seed=SEED)
except FileNotFoundError as missing:
    print(missing)
    print("-> falling back to the digits two-view set (fast-mode data).")
    DATASET = "digits-two-view"
    split = cm.load_two_view(DATASET, seed=SEED)
print(split.summary())
print(split.description)
print("classes:", ", ".join(split.class_names))'''))
cells.append(code(r'''if DATASET == "digits-two-view":
    fig, axes = plt.subplots(2, 8, figsize=(7.5, 2.2))
    for j in range(8):
        for r, (view, name) in enumerate(((split.image_train, "image"), (split.text_train, "text"))):
            axes[r, j].imshow(view[j].view(8, 8), cmap="gray_r")
            axes[r, j].set_xticks([]), axes[r, j].set_yticks([]), axes[r, j].grid(False)
        axes[0, j].set_title(f"class {int(split.y_train[j].argmax())}", fontsize=8)
    axes[0, 0].set_ylabel("view 1", fontsize=8), axes[1, 0].set_ylabel("view 2", fontsize=8)
    fig.suptitle("two-view digits: a pair shares only its class", fontsize=9)
else:
    fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
    counts = split.y_train.sum(0).numpy()
    axes[0].bar(range(len(counts)), counts)
    axes[0].set_xticks(range(len(counts)), split.class_names, rotation=60, fontsize=7)
    axes[0].set_title("training pairs per category")
    topic = torch.stack([split.text_train[split.y_train[:, c] == 1].mean(0) for c in range(split.n_classes)])
    axes[1].imshow(topic.numpy(), cmap="viridis", aspect="auto")
    axes[1].set_yticks(range(len(counts)), split.class_names, fontsize=7)
    axes[1].set_xlabel("LDA topic"), axes[1].grid(False)
    axes[1].set_title("text view: mean topic proportions")
    fig.tight_layout()
plt.show()'''))

cells.append(md(r"""### The proxy hashing network
One proxy per category from the category network. The minimum pairwise distance is compared with the
Gilbert–Varshamov distance (a code with this distance always exists) and with what random codes reach."""))
cells.append(code(r'''from hashing_utils.methods.dchml import train_proxy_codes

proxies, proxy_losses = train_proxy_codes(split.n_classes, 32, seed=SEED)
random_codes = hu.codes.bernoulli_codebook(split.n_classes, 32, seed=SEED)
print(f"32-bit proxies: min pairwise distance {hu.codes.min_pairwise_distance(proxies)}, "
      f"random codes {hu.codes.min_pairwise_distance(random_codes)}, "
      f"Gilbert-Varshamov {hu.codes.gilbert_varshamov_distance(split.n_classes, 32)}, K/2 = 16")
fig, axes = plt.subplots(1, 2, figsize=(8, 3))
axes[0].plot(proxy_losses)
axes[0].set_xlabel("step"), axes[0].set_ylabel("$L_{proxy}$"), axes[0].set_yscale("log")
axes[0].set_title("proxy network training")
d = hu.codes.hamming_distance(proxies, proxies).numpy()
im = axes[1].imshow(d, cmap="magma")
axes[1].grid(False), axes[1].set_title("Hamming distances between proxies")
fig.colorbar(im, ax=axes[1])
fig.tight_layout()
plt.show()'''))

cells.append(md(r"""### Training DCHML, and the references
`hu.fit("dchml", (X_image, X_text), y)` carves 10% of the training pairs off as validation (used for the
curves only; no epoch is picked). Every run is cached, so the widget below reuses it."""))
cells.append(code(r'''from hashing_utils.methods.dchml import CrossModalHasher


@functools.lru_cache(maxsize=None)
def train_dchml(bits, margin=0.3, coupling_weight=1.0):
    return hu.fit("dchml", split.train, split.y_train, bits=bits, seed=SEED, epochs=EPOCHS, device=DEVICE,
                  margin=margin, coupling_weight=coupling_weight)


@functools.lru_cache(maxsize=None)
def csq_pair(bits):
    """CSQ trained separately on each modality; the same seed gives both the same class centres,
    so the two networks already share one Hamming space."""
    models = {v: hu.fit("csq", x, split.y_train, bits=bits, seed=SEED, epochs=EPOCHS, device=DEVICE).model
              for v, x in zip(("image", "text"), split.train)}
    return CrossModalHasher(None, models, DEVICE, {}, {"method": "csq", "bits": bits})


results, rows = {}, []
for bits in BITS_LIST:
    hashers = {"DCHML": train_dchml(bits), "CSQ per view": csq_pair(bits),
               "CCA": cm.fit_cca(split.train, bits=bits, seed=SEED), "LSH": cm.lsh_pair(split.train, bits=bits, seed=SEED)}
    for name, h in hashers.items():
        res = cm.evaluate_cross_modal(h, split)
        results[(name, bits)] = res
        for direction, r in res.items():
            rows.append({"method": name, "bits": bits, "task": direction, **r})
print(hu.plots.results_table(rows, ("method", "bits", "task", "map_all", "map_1000", "p_h2")))'''))
cells.append(code(r'''fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
names = ["DCHML", "CSQ per view", "CCA", "LSH"]
for ax, direction in zip(axes, ("image->text", "text->image")):
    for j, name in enumerate(names):
        vals = [results[(name, b)][direction]["map_all"] for b in BITS_LIST]
        ax.plot(range(len(BITS_LIST)), vals, marker="o", label=name, color=hu.plots.PALETTE[j])
    ax.set_xticks(range(len(BITS_LIST)), BITS_LIST)
    ax.set_xlabel("bits"), ax.set_title(f"{split.name}: {direction}")
axes[0].set_ylabel("mAP@all"), axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()
main = {name: {d: round(results[(name, 32)][d]["map_all"], 4) for d in ("image->text", "text->image")} for name in names}
print("32 bits:", main)
beats = all(main["DCHML"][d] > max(main["CCA"][d], main["LSH"][d]) for d in ("image->text", "text->image"))
print("DCHML beats CCA and LSH in both directions at 32 bits:", beats)
hu.results.record("07_dchml_cross_modal", {"dataset": split.name, "epochs": EPOCHS, "map_all": {
    f"{name}/{b}/{d}": results[(name, b)][d]["map_all"] for name in names for b in BITS_LIST
    for d in ("image->text", "text->image")}, "dchml_beats_cca_lsh_32": beats})'''))
cells.append(md(r"""Training curves at 32 bits: each network's loss per epoch and the validation mAP in both directions
(validation queries of one modality against the training pairs' codes of the other)."""))
cells.append(code(r'''hist = train_dchml(32).history
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].plot(hist["epoch"], hist["loss_image"], label="image network")
axes[0].plot(hist["epoch"], hist["loss_text"], label="text network")
axes[0].set_xlabel("epoch"), axes[0].set_ylabel("loss"), axes[0].legend(fontsize=8), axes[0].set_title("training loss")
axes[1].plot(hist["epoch"], hist["val_map_i2t"], label="image→text")
axes[1].plot(hist["epoch"], hist["val_map_t2i"], label="text→image")
axes[1].set_xlabel("epoch"), axes[1].set_ylabel("validation mAP@all"), axes[1].legend(fontsize=8)
axes[1].set_title("validation (from training pairs)")
fig.tight_layout()
plt.show()'''))
cells.append(md(r"""### Does the coupling term (our reading) matter?
The same run with $\mu = 0$: only the shared codes $B$ couple the modalities."""))
cells.append(code(r'''no_coupling = cm.evaluate_cross_modal(train_dchml(32, coupling_weight=0.0), split)
for d in ("image->text", "text->image"):
    print(f"{d}: mu = 1: {results[('DCHML', 32)][d]['map_all']:.4f}   mu = 0: {no_coupling[d]['map_all']:.4f}")'''))

cells.append(md(r"""### Hamming distances across modalities
Distances between image-query codes and text-database codes (and the reverse), split into same-category and
different-category pairs. Cross-modal retrieval works when the two histograms separate *across* modalities."""))
cells.append(code(r'''def cross_distances(hasher, q_mod, d_mod):
    q = hasher.encode(split.query(q_mod), modality=q_mod).float()
    db = hasher.encode(split.db(d_mod), modality=d_mod).float()
    d = (q.shape[1] - q @ db.T) / 2
    same = (split.y_query @ split.y_db.T) > 0
    return d[same].numpy(), d[~same].numpy()


def plot_cross_distances(hasher, title, ax_pair=None):
    if ax_pair is None:
        _, ax_pair = plt.subplots(1, 2, figsize=(9, 2.9), sharey=True)
    k = hasher.bits
    for ax, (qm, dm) in zip(ax_pair, (("image", "text"), ("text", "image"))):
        same, diff = cross_distances(hasher, qm, dm)
        bins = np.arange(-0.5, k + 1.5)
        ax.hist(same, bins=bins, density=True, alpha=0.6, color=hu.plots.SAME, label="same category")
        ax.hist(diff, bins=bins, density=True, alpha=0.6, color=hu.plots.DIFFERENT, label="different category")
        ax.axvline(k / 2, color="grey", ls=":", lw=1)
        ax.set_xlabel("Hamming distance"), ax.set_title(f"{title}: {qm} query → {dm} database", fontsize=9)
    ax_pair[0].set_ylabel("fraction of pairs"), ax_pair[0].legend(fontsize=8)
    return ax_pair


fig, axes = plt.subplots(2, 2, figsize=(9, 5.4), sharey="row")
plot_cross_distances(train_dchml(32), "DCHML 32 bits", axes[0])
plot_cross_distances(cm.fit_cca(split.train, bits=32, seed=SEED), "CCA 32 bits", axes[1])
fig.tight_layout()
plt.show()'''))
cells.append(md(r"""### t-SNE of the codes of both modalities
The database codes of both modalities embedded together. If the Hamming space is shared, each category forms one
cluster holding image codes *and* text codes (left: coloured by category; right: by modality). t-SNE keeps
neighbourhoods, not distances."""))
cells.append(code(r'''h32 = train_dchml(32)
n_half = TSNE_SAMPLES // 2
pick = np.random.default_rng(SEED).permutation(len(split.y_db))[:n_half]
both = torch.cat([h32.encode(split.image_db[pick], modality="image"), h32.encode(split.text_db[pick], modality="text")])
labels_both = torch.cat([split.y_db[pick], split.y_db[pick]])
from sklearn.manifold import TSNE
emb = TSNE(n_components=2, perplexity=30, max_iter=TSNE_ITER, init="pca", random_state=SEED).fit_transform(
    both.float().numpy() + 0.01 * np.random.default_rng(SEED).standard_normal(both.shape))   # tiny jitter splits identical codes
ids = labels_both.argmax(1).numpy()
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for c in np.unique(ids):
    axes[0].scatter(*emb[ids == c].T, s=6, color=hu.plots.PALETTE[c % 10], label=split.class_names[c])
axes[0].legend(fontsize=6, markerscale=2, ncol=2), axes[0].set_title("by category")
axes[1].scatter(*emb[:n_half].T, s=6, marker="o", color=hu.plots.PALETTE[0], label="image codes")
axes[1].scatter(*emb[n_half:].T, s=8, marker="x", color=hu.plots.PALETTE[3], label="text codes")
axes[1].legend(fontsize=8), axes[1].set_title("by modality")
for ax in axes:
    ax.set_xticks([]), ax.set_yticks([])
fig.suptitle(f"t-SNE of 32-bit DCHML codes ({len(both)} codes, {split.name})", fontsize=10)
fig.tight_layout()
plt.show()'''))

cells.append(md(r"""### Explore: code length and margin
Change the number of bits and the margin $m/K$ (the paper uses 0.3); each setting trains once (cached) and shows
the cross-modal distance histograms with both mAPs. The static figure below is the paper's setting at 32 bits."""))
cells.append(code(r'''def explore(bits=32, margin=0.3):
    h = train_dchml(bits, round(margin, 2))
    res = cm.evaluate_cross_modal(h, split)
    axes = plot_cross_distances(h, f"{bits} bits, m = {margin:.2f}K")
    axes[0].figure.suptitle(f"mAP@all image→text {res['image->text']['map_all']:.3f}, "
                            f"text→image {res['text->image']['map_all']:.3f}", fontsize=9)
    axes[0].figure.tight_layout()
    return axes[0].figure


explore()
plt.show()'''))
cells.append(code(r'''# NBVAL_IGNORE_OUTPUT
hu.widgets.interact(explore, bits=[16, 32, 64], margin=(0.0, 0.5, 0.05, 0.3))'''))

cells.append(md(r"""## Summary
- **Verified here:** the margin-dynamic-softmax loss against a per-sample loop (multi-label samples included), a
  hand-computed toy value, the proxy network's loss term by term, float64 gradient checks of the whole per-modality
  objective and of the proxy loss, the tie rule of the shared codes, and the CCA baseline's bit construction.
- **Results:** the table above (full mode: Wikipedia at 16/32/64 bits). On Wikipedia text→image is much easier than
  image→text for every method: the 128-d SIFT bag-of-words says little about the category, the 10-d LDA topics say
  a lot. DCHML is compared with CCA, LSH (independent per view: chance level, the floor) and CSQ trained per view
  on shared centres — a strong, simple cross-modal baseline that needs no coupling at all, because fixed class
  centres already define one Hamming space.
- **Readings of the paper** (sources are thin; the paper's tables and code were not available): the proxy network
  (PSLDH's category network and loss, trained with Adam for 500 steps), the tie rule of $B=\operatorname{sgn}(B^{\mathrm I}+B^{\mathrm T})$,
  initialising $B$ from the labels' proxies, one pass per network per epoch, the MLPs with input standardisation,
  and above all the **cross-modal coupling term** $\mu\lVert u^{v}-u^{\bar v}\rVert^2/K$, whose published form was
  not found anywhere; the ablation above shows what it changes here.
- **Not comparable** with the paper's numbers: different features (the paper uses CNNs on raw images), protocol
  details and code lengths."""))
cells.append(md(r"""## Exercises
1. **Dynamic vs partial softmax.** Replace the single dynamic positive logit by PSLDH's partial softmax (one term per
   positive category, each against the negatives). On single-label Wikipedia both are identical — why? Where do
   they differ?
2. **Multi-label, text side.** `cm.load_mirflickr_text()` gives MIRFlickr-25K's 1,386-d tag vectors with 24
   multi-hot labels (it needs the file `mirflickr25k/mirflickr25k_tags1386_labels24.npz` under `data/`). Train one
   text network with `hu.losses.margin_dynamic_softmax_loss` (proxies from `train_proxy_codes(24, 32)`) and
   compare text→text mAP@1000 with CSQ. How many categories does a typical query have, and how does the mean over
   $\Gamma_i$ place its code relative to its proxies?
3. **The coupling term.** Try $\mu \in \{0, 0.3, 1, 3\}$ and a different coupling, e.g. pulling $u^{v}$ toward the
   other modality's *binary* code $B^{\bar v}$. Which direction (image→text or text→image) profits, and why?
4. **Margin and scale.** With $s = 0.3$ and $K = 64$ the logits span $\pm 19$; with $K = 16$ only $\pm 5$. Should
   $m$ and $s$ scale with $K$? Use the widget, then try $s = 0.3\cdot 32/K$.
5. **CCA with more bits than directions.** For $K > r$ the CCA baseline projects the $r$ canonical variates
   randomly. Compare with ITQ (an orthogonal rotation learnt to minimise quantisation error) on the same space."""))

nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                         "language_info": {"name": "python"}})
nbformat.write(nb, "/work/main/notebooks/07_dchml_cross_modal.ipynb")
print("written", len(cells), "cells")
