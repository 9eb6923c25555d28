import nbformat
from nbformat.v4 import new_notebook, new_markdown_cell as md, new_code_cell as code
NOTATION = open("/work/main/notebooks/NOTATION.md").read().strip()
cells = []
cells.append(code('''import os
FAST = os.environ.get("HASHING_FAST", "0") == "1"   # CI and `make test` set it; readers get the full run
SEED = 0
BITS = 32
DATASET = "fashion-mnist"            # falls back to digits with an invented hierarchy when the files are absent
EPOCHS = 6 if FAST else 12           # SHREWD and CSQ on the hierarchy data set
DIGITS_EPOCHS = 15 if FAST else 30   # the flat-hierarchy check on digits
TSNE_SAMPLES, TSNE_ITER = (300, 250) if FAST else (1000, 1000)'''))
cells.append(code('''%config InlineBackend.figure_formats = ["png"]
import functools
import numpy as np
import torch
import matplotlib.pyplot as plt
import hashing_utils as hu
from hashing_utils import hierarchy as hier
from hashing_utils.losses import shrewd as S

hu.plots.setup()
hu.seed_everything(SEED)
DEVICE = hu.pick_device()'''))
cells.append(md('''# 08 · SHREWD: hash codes that follow a class hierarchy
*Semantic Hierarchy-based Relational Embeddings for Weakly-supervised Deep hashing (Arponen & Bishop, 2019), reconstructed from its abstract.*

## What you will build
Most supervised hashing treats every pair of different classes as equally different: a sandal is as far from a sneaker
as from a T-shirt. SHREWD asks the codes to respect a **class hierarchy**: the Hamming distance between two codes should
follow the semantic distance between their labels (the height of their lowest common ancestor in the tree). A second
term, an **empirical KL divergence** estimated from nearest-neighbour distances, pulls the distribution of codes toward
the uniform distribution on the hypercube $\\{\\pm1\\}^K$ (binary and balanced codes). The loss needs only *how similar*
two labels are, never the labels themselves: weak supervision.

You will build: semantic distances from a tree; the $k$-NN KL estimator, derived and checked on 2-D toys; the loss,
step by step, checked against `hu.losses.shrewd`; the hierarchical precision metric (mAHP@$k$); and an experiment on
Fashion-MNIST and its natural hierarchy (tops, trouser, dress, footwear, bag), where SHREWD puts sibling classes closer
in Hamming space than unrelated ones, unlike CSQ's flat centres.

**Source caveat.** No code and no full text of the paper were available, only the abstracts (arXiv 1908.05602 and
2005.04917). Every formula below is this workbook's *reconstruction* of the ideas the abstracts state; the paper's exact
losses, weights and estimator may differ.'''))
cells.append(md("## Notation\n\n" + NOTATION + '''
| $d_s(y_i, y_j) \\in [0,1]$ | *(this notebook)* semantic distance of two labels: LCA height / tree height |
| $d_e(i, j) \\in [0,1]$ | *(this notebook)* embedding distance $(1-\\cos(u_i,u_j))/2$ |
| $D \\in [0,1]^{C\\times C}$ | *(this notebook)* the class-by-class matrix of $d_s$ |
| $\\alpha, \\beta$ | *(this notebook)* weights of the similarity and the KL terms |
| $\\rho_k(i)$, $\\nu_k(i)$ | *(this notebook)* distance from $u_i$ to its $k$-th nearest neighbour in the batch / among target samples |
| $\\epsilon$ | *(this notebook)* softening of the nearest-neighbour distances |'''))
cells.append(md(r'''## Derivation

### Semantic distance from a tree
Classes are the leaves of a rooted tree, all at the same depth; the **height** of a node is its distance to the leaves
below it (a leaf has height 0, the root has height $T$, the tree height). The semantic distance of two classes is
$$d_s(c, c') = \frac{\operatorname{height}(\operatorname{LCA}(c, c'))}{T} \in [0, 1],$$
with LCA the lowest common ancestor. In a two-level tree (root → groups → classes, $T = 2$) this is $0$ for the same
class, $\tfrac12$ for siblings (same group) and $1$ for classes in different groups. A flat hierarchy (every class its own
group, or no groups at all) gives $d_s = 1 - [c = c']$: ordinary supervised hashing. For multi-label samples we take
the distance of the closest pair of labels, so $d_s = 0$ exactly when two samples share a label.

### Matching embedding distances to it
For continuous codes $u_i = \tanh(z_i)$ the embedding distance $d_e(i,j) = (1 - \cos(u_i, u_j))/2$ lies in $[0,1]$; for
binary codes it equals $d_H(b_i, b_j)/K$. The relational term asks it to equal the semantic distance:
$$L_\text{sim} = \frac{2}{B(B-1)} \sum_{i<j} \big| d_e(i,j) - d_s(y_i, y_j) \big|^p, \qquad p \in \{1, 2\}.$$
Only the matrix $d_s(y_i, y_j)$ of the batch enters: the loss would work unchanged if someone gave us pairwise label
similarities without the labels (weak supervision). Note that $d_s = 1$ ("antipodal codes") cannot hold for all pairs
of $G > 2$ groups at once; the loss then settles on a compromise that spreads the groups apart.

### The KL term and its nearest-neighbour estimator
We want the codes' distribution $p$ close to $q = \text{Uniform}\{\pm1\}^K$. $\mathrm{KL}(p\|q) = \mathbb{E}_{u\sim p}[\log p(u) - \log q(u)]$ has
no closed form for the unknown $p$, so we estimate both densities at each sample from nearest-neighbour distances
(Kozachenko & Leonenko 1987; for two densities, Wang, Kulkarni & Verdú 2009). In $d$ dimensions a ball of radius $r$ has
volume $V_d r^d$. Around $u_i$, the ball reaching its $k$-th nearest neighbour among the other $n-1$ samples of $p$
holds about $k$ of them, so $p(u_i) (n-1) V_d \rho_k(i)^d \approx k$; likewise with $m$ samples of $q$ and radius $\nu_k(i)$:
$q(u_i)\, m\, V_d\, \nu_k(i)^d \approx k$. Plugging the two density estimates into the sample mean of $\log p - \log q$:
$$\widehat{\mathrm{KL}}(p\|q) = \frac{d}{n}\sum_{i=1}^n \log\frac{\nu_k(i)}{\rho_k(i)} + \log\frac{m}{n-1}.$$
($V_d$ and $k$ cancel; the bias corrections of the digamma form cancel too when both sides use the same $k$.) Read as a
loss for the batch $u_1..u_B$: the $\log\nu$ part pulls each code toward the target samples (binarisation), the
$-\log\rho$ part pushes each code away from its nearest neighbour in the batch (spread, bit balance).

**Which target samples.** The literal estimator draws $m$ random corners of the hypercube each batch. For $K = 32$ the
nearest of a few random corners is far from any code, so the pull is noisy. Since $q$ is uniform on a finite set, we may
use its whole support, every corner once ($m = 2^K$): the nearest corner to $u_i$ is $\operatorname{sgn}(u_i)$, so
$\nu_1(i) = \|u_i - \operatorname{sgn}(u_i)\|$ and $\log m = K\log 2$, with no enumeration. This is the default here;
`n_target=m` gives the sampled version.

**Softening.** $\log \rho$ has gradient $1/\rho$, unbounded as two codes meet, and two codes of the same class *should*
meet. We use $\tilde r = \sqrt{r^2 + \epsilon^2}$ for both distances ($\epsilon = 0.5$, a quarter of one bit step of 2):
the gradient is then at most $1/(2\epsilon)$ and vanishes as codes coincide. The estimate is biased; as a loss it only
needs the right direction. We divide by $K$ (a per-bit KL) so $\beta$ need not change with the code length.

### The loss
$$L = \alpha\, L_\text{sim} + \beta\, \frac{1}{K}\widehat{\mathrm{KL}}\big(p_u \,\|\, \text{Uniform}\{\pm1\}^K\big),
\qquad \alpha = 1,\ \beta = 0.1,\ p = 1,\ \epsilon = 0.5 \text{ (this workbook's defaults)}.$$
The abstract also mentions an optional cross-entropy term for when class labels are available; it is left out here
(SHREWD's point is that the similarities suffice).

### Hierarchical precision
Retrieval quality that knows the hierarchy (Deng, Berg & Fei-Fei 2011): with similarity $s = 1 - d_s$,
$\mathrm{HP@}k(q) = \sum_{r\le k} s(y_q, y_{\pi(r)}) \,/\, \max_{\pi'} \sum_{r\le k} s(y_q, y_{\pi'(r)})$, the
**average hierarchical precision** $\mathrm{AHP@}K = \frac1K\sum_{k=1}^K \mathrm{HP@}k$, and mAHP@$K$ its mean over queries
(@250 is the CIFAR-100 convention). Ties in Hamming distance are handled by the exact expectation over a random order
within each tie group (the numerator is linear in the items, so each item counts with its tie group's mean similarity).'''))

cells.append(md("## Step-by-step implementation\n\n### The hierarchy and its distance matrix"))
cells.append(code('''# NBVAL_CHECK_OUTPUT
PARENTS = hu.data.FASHION_HIERARCHY
D_fashion = hier.semantic_distances(PARENTS)
for g in dict.fromkeys(PARENTS):
    print(f"{g:9s} <- " + ", ".join(n for n, p in zip(hu.data.FASHION_CLASSES, PARENTS) if p == g))
i = {n: c for c, n in enumerate(hu.data.FASHION_CLASSES)}
for a, b in [("T-shirt/top", "T-shirt/top"), ("T-shirt/top", "Shirt"), ("Sandal", "Sneaker"), ("Trouser", "Dress"), ("Bag", "Coat")]:
    print(f"d_s({a}, {b}) = {float(D_fashion[i[a], i[b]]):.4f}")
# a deeper tree: height 3, so cousins are 2/3 apart
print(hier.semantic_distances([("clothes", "tops"), ("clothes", "tops"), ("clothes", "legs"), ("accessories", "bags")]).numpy().round(4))'''))

cells.append(md(r'''### The $k$-NN KL estimator on 2-D toys
First a case with a known answer: $p = \mathcal N(0, I_2)$, $q = \mathcal N(\mu, I_2)$, $\mathrm{KL} = \|\mu\|^2/2$.
The estimator written out with explicit loops over samples, then compared with `S.knn_kl_divergence`.'''))
cells.append(code('''def knn_kl_loops(x, t, k=1, eps=0.0):
    """KL̂ = d/n Σ log(ν_k/ρ_k) + log(m/(n-1)), written with explicit loops (slow; for checking)."""
    n, d = x.shape
    total = 0.0
    for i in range(n):
        rho = sorted(float(torch.sqrt(((x[i] - x[j]) ** 2).sum() + eps ** 2)) for j in range(n) if j != i)[k - 1]
        nu = sorted(float(torch.sqrt(((x[i] - t[j]) ** 2).sum() + eps ** 2)) for j in range(len(t)))[k - 1]
        total += np.log(nu / rho)
    return d * total / n + np.log(len(t) / (n - 1))

g = torch.Generator().manual_seed(SEED)
x_small, t_small = torch.randn(40, 2, generator=g, dtype=torch.float64), torch.randn(50, 2, generator=g, dtype=torch.float64)
for k, eps in [(1, 0.0), (3, 0.2)]:
    assert abs(knn_kl_loops(x_small, t_small, k, eps) - S.knn_kl_divergence(x_small, t_small, k, eps).item()) < 1e-9
print("loops == module: ok")

rows = []
for shift in [0.0, 0.5, 1.0, 2.0]:
    mu = torch.tensor([shift, 0.0], dtype=torch.float64)
    est = [S.knn_kl_divergence(torch.randn(n, 2, generator=g, dtype=torch.float64),
                               torch.randn(n, 2, generator=g, dtype=torch.float64) + mu).item() for n in (200, 2000)]
    rows.append((shift, shift ** 2 / 2, *est))
print(" |mu|   true KL   KL^ (n=200)   KL^ (n=2000)")
for r in rows:
    print(f"{r[0]:5.1f}   {r[1]:7.3f}   {r[2]:11.3f}   {r[3]:12.3f}")'''))
cells.append(md(r'''Now the use we make of it: start 300 points in a small blob in 2-D and move them by gradient descent on the
per-dimension KL toward $\text{Uniform}\{\pm1\}^2$ (the four corners), with the full-support target and with 300 sampled
corners per step. The points should end near the corners, in four groups of about equal size.'''))
cells.append(code('''def kl_toy(n_target, steps=300, lr=0.05, seed=SEED):
    gen = torch.Generator().manual_seed(seed)
    z = (0.3 * torch.randn(300, 2, generator=gen) + torch.tensor([0.4, 0.2])).requires_grad_()
    start = torch.tanh(z).detach().clone()
    opt = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        loss = S.binary_kl_loss(torch.tanh(z), n_target=n_target, eps=0.1, generator=gen)
        opt.zero_grad(); loss.backward(); opt.step()
    return start, torch.tanh(z).detach()

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
for ax, (title, n_target) in zip(axes[1:], [("full support (sgn(u))", None), ("300 sampled corners", 300)]):
    start, end = kl_toy(n_target)
    if n_target is None:
        axes[0].scatter(*start.T, s=6, color="grey"); axes[0].set_title("start")
    ax.scatter(*end.T, s=6)
    counts = torch.unique(torch.where(end >= 0, 1, -1), dim=0, return_counts=True)[1].tolist()
    ax.set_title(f"{title}\\npoints per corner: {counts}", fontsize=9)
    print(f"{title}: per corner {counts}, mean distance to nearest corner {float((end - torch.where(end >= 0, 1., -1.)).norm(dim=1).mean()):.3f}")
for ax in axes:
    ax.set_xlim(-1.1, 1.1); ax.set_ylim(-1.1, 1.1); ax.set_aspect("equal")
plt.tight_layout(); plt.show()'''))

cells.append(md(r'''### The loss, written out
$L_\text{sim}$ with loops over pairs, the KL term with loops over samples (full-support target: the nearest corner is
$\operatorname{sgn}(u_i)$), compared with `hu.losses.shrewd.shrewd_loss` on random inputs, then a gradient check in float64.'''))
cells.append(code('''def shrewd_loss_loops(u, d_s, alpha=1.0, beta=0.1, power=1, eps=0.5):
    B, K = u.shape
    pair_terms = []
    for a in range(B):
        for b in range(a + 1, B):
            cos = (u[a] @ u[b]) / (u[a].norm() * u[b].norm())
            d_e = (1 - cos) / 2
            pair_terms.append((d_e - d_s[a, b]).abs() ** power)
    l_sim = torch.stack(pair_terms).mean()
    log_ratio = []
    for a in range(B):
        rho2 = min(((u[a] - u[b]) ** 2).sum() for b in range(B) if b != a)
        corner = torch.where(u[a] >= 0, 1.0, -1.0).to(u.dtype)
        nu2 = ((u[a] - corner) ** 2).sum()
        log_ratio.append(0.5 * torch.log(nu2 + eps ** 2) - 0.5 * torch.log(rho2 + eps ** 2))
    kl = K * torch.stack(log_ratio).mean() + K * np.log(2) - np.log(B - 1)   # m = 2^K target corners
    return alpha * l_sim + beta * kl / K

gen = torch.Generator().manual_seed(SEED)
y_toy = torch.eye(10)[torch.randint(0, 10, (12,), generator=gen)]
d_s_toy = hier.pairwise_semantic_distance(y_toy, y_toy, D_fashion)
for power in (1, 2):
    u_toy = torch.tanh(torch.randn(12, 16, generator=gen, dtype=torch.float64))
    step_by_step = shrewd_loss_loops(u_toy, d_s_toy.double(), power=power)
    module = hu.losses.shrewd.shrewd_loss(u_toy, d_s_toy.double(), alpha=1.0, beta=0.1, power=power, eps=0.5)
    assert torch.allclose(step_by_step, module), (step_by_step, module)
    print(f"power {power}: loops {step_by_step.item():.6f}  module {module.item():.6f}")

u_gc = torch.tanh(torch.randn(8, 6, generator=gen, dtype=torch.float64)).requires_grad_()
d_gc = hier.pairwise_semantic_distance(y_toy[:8], y_toy[:8], D_fashion).double()
print("gradcheck:", torch.autograd.gradcheck(lambda v: S.shrewd_loss(v, d_gc, beta=0.3, power=2), (u_gc,), eps=1e-6, atol=1e-5))'''))

cells.append(md("## Sanity checks\nToy values computed by hand."))
cells.append(code('''# NBVAL_CHECK_OUTPUT
# two orthogonal codes: cos = 0, d_e = 1/2 -- exactly the distance of two siblings, so L_sim = 0
u2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
print("d_e =", S.embedding_distance(u2)[0, 1].item())
print("L_sim, siblings:", S.similarity_loss(u2, torch.tensor([[0, 0.5], [0.5, 0]])).item())
print("L_sim, unrelated (|1/2 - 1|):", S.similarity_loss(u2, torch.tensor([[0, 1.0], [1.0, 0]])).item())
# hierarchical precision: query of class 0 ranks [class 1 (sibling), class 2 (unrelated), class 0]
q = torch.tensor([[1, 1]], dtype=torch.int8)
db = torch.tensor([[1, 1], [1, -1], [-1, -1]], dtype=torch.int8)
hp = hier.hierarchical_precision_at_k(q, db, [0], [1, 2, 0], ["a", "a", "b"], k=3)
print("HP@1..3 =", hp[0].numpy().round(4), "(by hand: 0.5/1, 0.5/1.5, 1.5/1.5)")
print("AHP@3 =", round(float(hp.mean()), 4))
# a flat hierarchy turns HP@k into precision@k
print("flat D:\\n", hier.semantic_distances(None, 3).numpy())'''))

cells.append(md('''## Experiment
### Data
Fashion-MNIST (fast mode: the reduced split, 100 training images per class, 20 queries per class, 5,000-image
database) with its natural two-level hierarchy. Without the Fashion-MNIST files, the notebook falls back to scikit-learn's
digits with an **invented** hierarchy (round / straight / curved strokes), only so that it runs anywhere.'''))
cells.append(code('''try:
    split = hu.load_dataset("fashion-mnist", fast=FAST, seed=SEED)
    HIERARCHY, CLASS_NAMES = list(hu.data.FASHION_HIERARCHY), list(hu.data.FASHION_CLASSES)
except FileNotFoundError as err:
    print("Fashion-MNIST not found, falling back to digits with an INVENTED hierarchy:", str(err).splitlines()[0][:120])
    split = hu.load_dataset("digits", seed=SEED)
    HIERARCHY = ["round", "straight", "curved", "curved", "straight", "curved", "round", "straight", "round", "round"]
    CLASS_NAMES = list(split.class_names)
print(split.summary())
D = hier.semantic_distances(HIERARCHY)'''))
cells.append(md("### Training SHREWD (with the hierarchy) and CSQ (flat centres) on the same split\nTraining is cached, so the widget below reuses these runs."))
cells.append(code('''@functools.lru_cache(maxsize=None)
def train(method, bits=BITS, beta=0.1, flat=False):
    kw = {} if method != "shrewd" else {"hierarchy": None if flat else HIERARCHY, "beta": beta}
    return hu.fit(method, split.x_train, split.y_train, bits=bits, seed=SEED, epochs=EPOCHS, device=DEVICE, **kw)

shrewd, csq = train("shrewd"), train("csq")
lsh = hu.fit("lsh", split.x_train, split.y_train, bits=BITS, seed=SEED)
codes = {}
for name, h in [("SHREWD", shrewd), ("CSQ", csq), ("LSH", lsh)]:
    codes[name] = (h.encode(split.x_query), h.encode(split.x_db))
print(f"training: SHREWD {shrewd.history['seconds']:.0f} s, CSQ {csq.history['seconds']:.0f} s")'''))
cells.append(code('''rows, ratios = [], {}
for name, (cq, cdb) in codes.items():
    r = hu.metrics.evaluate(cq, cdb, split.y_query, split.y_db)
    r["mahp_250"] = hier.mean_average_hierarchical_precision(cq, cdb, split.y_query, split.y_db, HIERARCHY, k=250)
    ratios[name] = hier.sibling_unrelated_ratio(hier.mean_class_hamming(cdb, split.y_db), D)
    rows.append({"method": name, "bits": BITS, **r, "sib/unrel": ratios[name]["ratio"]})
print(hu.plots.results_table(rows, ("method", "bits", "map_all", "map_1000", "p_h2", "mahp_250", "sib/unrel")))
for name, r in ratios.items():
    print(f"{name:6s}: mean Hamming distance, sibling classes {r['sibling']:.2f}, unrelated classes {r['unrelated']:.2f}, "
          f"ratio {r['ratio']:.3f}")
assert ratios["SHREWD"]["ratio"] < ratios["CSQ"]["ratio"] - 0.05, ratios'''))
cells.append(md('''### Does the Hamming space follow the hierarchy?
Mean Hamming distance between the database codes of every two classes, classes ordered by group; the right panel is
the semantic distance $D$ that SHREWD was asked to follow.'''))
cells.append(code('''order = sorted(range(len(HIERARCHY)), key=lambda c: (list(dict.fromkeys(HIERARCHY)).index(HIERARCHY[c]), c))
labels_sorted = [f"{CLASS_NAMES[c]} ({HIERARCHY[c]})" for c in order]

def heatmaps(name_codes):
    fig, axes = plt.subplots(1, len(name_codes) + 1, figsize=(4.2 * (len(name_codes) + 1), 4.2))
    for ax, (name, cdb) in zip(axes, name_codes):
        m = hier.mean_class_hamming(cdb, split.y_db)[order][:, order]
        im = ax.imshow(m, cmap="viridis", vmin=0, vmax=BITS)
        ax.set_title(f"{name}: mean $d_H$ between classes", fontsize=9)
        plt.colorbar(im, ax=ax, fraction=0.046)
    axes[-1].imshow(D[order][:, order], cmap="viridis", vmin=0, vmax=1)
    axes[-1].set_title("semantic distance $d_s$ (hierarchy)", fontsize=9)
    for ax in axes:
        ax.set_xticks(range(len(order))); ax.set_yticks(range(len(order)))
        ax.set_xticklabels(labels_sorted, rotation=90, fontsize=6); ax.set_yticklabels(labels_sorted, fontsize=6)
    plt.tight_layout()
    return fig

heatmaps([("SHREWD", codes["SHREWD"][1]), ("CSQ", codes["CSQ"][1])]); plt.show()'''))
cells.append(code('''fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
for ax, name in zip(axes, ["SHREWD", "CSQ", "LSH"]):
    hu.plots.hamming_distributions(codes[name][1], split.y_db, ax=ax, title=f"{name}, {BITS} bits")
plt.tight_layout(); plt.show()

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, name in zip(axes, ["SHREWD", "CSQ"]):
    hu.plots.tsne_codes(codes[name][1], split.y_db, n_samples=TSNE_SAMPLES, max_iter=TSNE_ITER, seed=SEED, ax=ax)
    ax.set_title(f"t-SNE of {name} codes", fontsize=9)
plt.tight_layout(); plt.show()

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
hu.plots.training_curves(shrewd.history, ax=axes[0], title="SHREWD")
hu.plots.training_curves(csq.history, ax=axes[1], title="CSQ")
plt.tight_layout(); plt.show()'''))
cells.append(md('''### A flat hierarchy on held-out digits
With `hierarchy=None` SHREWD is plain supervised hashing by pairwise distance matching. The issue asks for
mAP@all ≥ 0.90 at 32 bits on the digits split (queries held out, never used for selection).'''))
cells.append(code('''digits = hu.load_dataset("digits", seed=SEED)
flat = hu.fit("shrewd", digits.x_train, digits.y_train, bits=32, seed=SEED, epochs=DIGITS_EPOCHS, device=DEVICE)
flat_map = hu.metrics.mean_average_precision(flat.encode(digits.x_query), flat.encode(digits.x_db), digits.y_query, digits.y_db)
print(f"SHREWD, flat hierarchy, digits, 32 bits, {DIGITS_EPOCHS} epochs: mAP@all = {flat_map:.3f}")'''))
cells.append(md('''### CIFAR-100 and its 20 superclasses (full mode, when the data are present)
CIFAR-100 is not in the shared data folder; in full mode this runs only when `cifar-100-python/` is found in a data
folder (see `hu.data.data_dirs()`); otherwise it says so and skips.'''))
cells.append(code('''cifar = None if FAST else hier.cifar100_hierarchy()
if FAST:
    print("fast mode: CIFAR-100 skipped")
elif cifar is None:
    print("CIFAR-100 not found (cifar-100-python/ in none of the data folders): skipped. Download it with torchvision "
          "into data/ to run this part.")
else:
    c_parents, _ = cifar
    c_split = hu.load_dataset("cifar100", n_train_per_class=100, n_query_per_class=20, n_db=10000, seed=SEED)
    c_rows = []
    for method in ["shrewd", "csq"]:
        kw = {"hierarchy": c_parents} if method == "shrewd" else {}
        h = hu.fit(method, c_split.x_train, c_split.y_train, bits=64, seed=SEED, epochs=EPOCHS, device=DEVICE, **kw)
        cq, cdb = h.encode(c_split.x_query), h.encode(c_split.x_db)
        c_rows.append({"method": method, "bits": 64, **hu.metrics.evaluate(cq, cdb, c_split.y_query, c_split.y_db),
                       "mahp_250": hier.mean_average_hierarchical_precision(cq, cdb, c_split.y_query, c_split.y_db, c_parents, k=250),
                       "sib/unrel": hier.sibling_unrelated_ratio(hier.mean_class_hamming(cdb, c_split.y_db),
                                                                 hier.semantic_distances(c_parents))["ratio"]})
    print(hu.plots.results_table(c_rows, ("method", "bits", "map_all", "map_1000", "mahp_250", "sib/unrel")))'''))
cells.append(md('''### Widget: the weight of the KL term
$\\beta = 0$ leaves only distance matching (codes need not be binary, so binarisation loses more); large $\\beta$
spreads the codes, also apart within a class. The static figure shows the default run (cached).'''))
cells.append(code('''def show_beta(bits=BITS, beta=0.1):
    h = train("shrewd", bits, beta)
    cq, cdb = h.encode(split.x_query), h.encode(split.x_db)
    r = hier.sibling_unrelated_ratio(hier.mean_class_hamming(cdb, split.y_db), D)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    hu.plots.hamming_distributions(cdb, split.y_db, ax=axes[0],
        title=f"beta={beta}, {bits} bits: mAP {hu.metrics.mean_average_precision(cq, cdb, split.y_query, split.y_db):.3f}")
    axes[1].imshow(hier.mean_class_hamming(cdb, split.y_db)[order][:, order], cmap="viridis", vmin=0, vmax=bits)
    axes[1].set_title(f"class mean $d_H$; sibling/unrelated = {r['ratio']:.2f}", fontsize=9)
    plt.tight_layout()
    return fig

show_beta(); plt.show()'''))
cells.append(code('''# NBVAL_IGNORE_OUTPUT
hu.widgets.interact(show_beta, bits=[16, 32, 64], beta=(0.0, 0.5, 0.05, 0.1))'''))
cells.append(code('''hu.results.record("08_shrewd_hierarchy", {
    "dataset": split.name, "fast": FAST, "bits": BITS, "epochs": EPOCHS,
    **{f"{name.lower()}_{k}": float(v) for row in rows for name in [row["method"]] for k, v in row.items() if k not in ("method", "bits")},
    **{f"ratio_{name.lower()}": r["ratio"] for name, r in ratios.items()},
    "digits_flat_map_all": float(flat_map)})'''))
cells.append(md('''## Summary
- **Verified here:** the semantic distances (hand values on the Fashion-MNIST tree and a deeper tree); the $k$-NN KL
  estimator against explicit loops and against the closed-form KL of two Gaussians; that minimising it drives 2-D points
  to the four corners in near-equal groups; the SHREWD loss against a loop implementation and by `gradcheck`; the
  hierarchical precision on a hand-computed toy (and, in the tests, against precision@k for a flat hierarchy and against
  an average over all tie orders).
- **Measured here:** SHREWD's codes put sibling classes (e.g. the four tops, the three kinds of footwear) closer than
  unrelated classes; the sibling/unrelated ratio of mean Hamming distances is printed above for SHREWD and CSQ, whose
  Hadamard centres are all $K/2$ apart (ratio near 1). mAHP@250 rewards this; mAP, which only counts exact class
  matches, need not.
- **A reconstruction, not the paper:** only the abstracts were available. The choices made here: $d_s$ = LCA height /
  tree height; $d_e = (1-\\cos)/2$; an absolute-difference matching loss over all batch pairs; the per-bit
  Kozachenko–Leonenko / Wang–Kulkarni–Verdú KL estimate with $k = 1$, the whole corner set as the target sample and
  softened distances ($\\epsilon = 0.5$); $\\alpha = 1$, $\\beta = 0.1$; no cross-entropy term. The paper's weights, its exact
  estimator and its network are unknown.

## Exercises
1. Set `power=2` (squared differences). Which pairs lose influence, and how does the sibling/unrelated ratio change?
2. Use sampled target corners (`n_target=64`) instead of the full support. Explain from the derivation why the pull
   toward binary codes gets weaker as $K$ grows.
3. Targets $d_s = 1$ (antipodal codes) cannot hold between all groups. Rescale the hierarchy so unrelated classes
   have $d_s = 0.5$ (orthogonal codes) and siblings $0.25$ (pass a C×C matrix): what happens to mAP and the ratio?
4. Build a three-level hierarchy for Fashion-MNIST (clothes → tops / legs / dresses, accessories → footwear / bags) with
   ancestor tuples and compare mAHP@250.
5. Weak supervision: give SHREWD noisy similarities by perturbing $D$ (keep it symmetric with a zero diagonal). How much
   noise can it tolerate before the sibling structure disappears?'''))

nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
nbformat.write(nb, "/work/main/notebooks/08_shrewd_hierarchy.ipynb")
print("written", len(cells))
