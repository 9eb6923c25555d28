"""The two seaborn figures of hashing_utils.plots read back from the Axes: the Hamming-distance densities against
pair_distances counted by hand, the class heatmap against its matrix and names, clear errors, and every text
at least 8 pt (issue 20: figures a student can read)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from hashing_utils import plots  # noqa: E402
from hashing_utils.codes import hamming_distance  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _codes(n=240, k=32, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    centres = torch.randint(0, 2, (classes, k), generator=g) * 2 - 1
    flip = torch.rand(n, k, generator=g) < 0.2            # codes near their class centre: the groups differ
    return torch.where(flip, -centres[y], centres[y]).to(torch.int8), y


def _bars(ax, colour):
    """(left edges, heights) of the bars drawn in one colour, left to right."""
    bars = sorted((p.get_x(), p.get_height()) for p in ax.patches if to_rgb(p.get_facecolor()) == to_rgb(colour))
    return np.array([b[0] for b in bars]), np.array([b[1] for b in bars])


def _small_texts(fig):
    fig.canvas.draw()
    return [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() < 8]


@pytest.mark.parametrize("k", [32, 96])
def test_hamming_distributions_draws_the_per_distance_densities_of_pair_distances(k):
    codes, y = _codes(k=k)
    same, diff = plots.pair_distances(codes, y, max_pairs=5000)
    ax = plots.hamming_distributions(codes, y, max_pairs=5000)
    width = 1 if k <= 64 else 2
    edges = np.arange(-0.5, k + 1.5, width)
    for group, colour in ((same, plots.SAME), (diff, plots.DIFFERENT)):
        # by hand: the share of the group's pairs at each distance (per unit distance for wider bars)
        expected = np.array([((group >= lo) & (group < lo + width)).sum() for lo in edges[:-1]]) / (len(group) * width)
        left, height = _bars(ax, colour)
        np.testing.assert_allclose(left, edges[:-1])
        np.testing.assert_allclose(height, expected, rtol=1e-6)
        assert height.sum() * width == pytest.approx(1.0)            # each group normalised on its own
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"same label (n={len(same)})", f"different label (n={len(diff)})", f"K/2 = {k / 2:g}"]
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [k / 2]


def test_hamming_distributions_names_multi_label_pairs_and_skips_an_empty_group():
    codes, y = _codes()
    onehot = torch.nn.functional.one_hot(y, 4)
    legend = [t.get_text() for t in plots.hamming_distributions(codes, onehot).get_legend().get_texts()]
    assert legend[0].startswith("same label")                           # one-hot rows are single-label data
    multi = onehot.clone()
    multi[:, 0] = 1                                                     # every item also carries label 0
    ax = plots.hamming_distributions(codes, multi)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("share a label (n=")
    assert len(legend) == 2 and legend[1].startswith("K/2")             # no pair without a shared label
    assert len(_bars(ax, plots.DIFFERENT)[0]) == 0 and len(_bars(ax, plots.SAME)[0]) > 0


def test_class_distance_heatmap_puts_names_on_ticks_and_values_in_cells():
    codes, y = _codes(k=16)
    m = hamming_distance(codes[:6], codes[:6]).double()
    m[0, 1] = float("nan")                                              # a class without pairs stays blank
    names = ["cat", "dog", "ship", "car", "frog", "horse"]
    ax = plots.class_distance_heatmap(m, names, vmax=16, title="centres")
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    mesh = ax.collections[0]
    drawn = np.ma.filled(mesh.get_array().astype(float), np.nan).reshape(6, 6)
    np.testing.assert_array_equal(drawn, m.numpy())
    assert mesh.get_clim() == (0, 16)
    cells = [t.get_text() for t in ax.texts]
    assert cells == [f"{v:.0f}" for v in m.numpy().ravel() if not np.isnan(v)]
    assert ax.figure.axes[-1].get_ylabel() == "mean Hamming distance"   # the colour bar says what it measures


def test_class_distance_heatmap_writes_short_numbers_and_defaults_to_class_ids():
    s = np.array([[1.0, -0.054, 0.5], [-0.054, 1.0, 0.0], [0.5, 0.0, 1.0]])
    ax = plots.class_distance_heatmap(s, vmin=-1, vmax=1, cmap="RdBu_r")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    assert [t.get_text() for t in ax.texts] == ["1", "-0.05", "0.5", "-0.05", "1", "0", "0.5", "0", "1"]
    d = np.array([[0.0, 5.44], [15.3, 9.96]])
    assert [t.get_text() for t in plots.class_distance_heatmap(d).texts] == ["0", "5.4", "15", "10"]
    big = plots.class_distance_heatmap(np.zeros((20, 20)))
    assert len(big.texts) == 0                                            # 20 classes: no numbers crammed in


@pytest.mark.parametrize("matrix, names, message", [
    (np.zeros((3, 4)), None, "square"),
    (np.zeros(3), None, "square"),
    (np.zeros((2, 2, 2)), None, "square"),
    (np.zeros((3, 3)), ["a", "b"], "2 class_names for a 3x3 matrix"),
])
def test_class_distance_heatmap_rejects_bad_input_clearly(matrix, names, message):
    with pytest.raises(ValueError, match=message):
        plots.class_distance_heatmap(matrix, names)


@pytest.mark.parametrize("with_setup", [False, True])
def test_every_text_of_both_figures_is_at_least_8_pt(with_setup):
    with plt.rc_context():
        if with_setup:
            plots.setup()
            assert plt.rcParams["figure.dpi"] >= 100 and plt.rcParams["savefig.dpi"] >= 100
        codes, y = _codes()
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        plots.hamming_distributions(codes, y, ax=a1, title="pairs")
        names = ["T-shirt/top (tops)", "Trouser (trouser)", "Pullover (tops)", "Bag (bag)"]
        plots.class_distance_heatmap(hamming_distance(codes[:4], codes[:4]), names, ax=a2, vmax=32, title="classes")
        assert _small_texts(fig) == []


def test_hamming_distributions_on_a_shared_y_axis_keeps_every_bar_in_view():
    loose, y = _codes(seed=2)
    tight = torch.ones_like(loose)                                     # every pair at distance 0: one bar of height 1
    fig, (a1, a2) = plt.subplots(1, 2, sharey=True)
    plots.hamming_distributions(tight, y, ax=a1)                       # the taller bars come first
    plots.hamming_distributions(loose, y, ax=a2)
    assert a1.get_ylim()[1] > max(p.get_height() for p in a1.patches)


def test_hamming_distributions_hands_its_two_groups_to_a_figure_legend():
    """Notebooks gather one legend for a grid of panels from ax.get_legend_handles_labels(): it must return the
    same-label bars, then the different-label bars (not the K/2 line), each in its group's colour."""
    codes, labels = _codes()
    ax = plots.hamming_distributions(codes, labels)
    handles, names = ax.get_legend_handles_labels()
    assert [n.split(" (")[0] for n in names] == ["same label", "different label"]
    for handle, colour in zip(handles, (plots.SAME, plots.DIFFERENT)):
        assert np.allclose(handle.patches[0].get_facecolor()[:3], to_rgb(colour), atol=1e-3)
