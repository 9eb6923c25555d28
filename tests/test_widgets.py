"""hu.widgets.interact: the box is displayed once, each control opens at the drawing function's default, and
every redraw displays its figure exactly once and closes it (an open figure would be shown again)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

ipywidgets = pytest.importorskip("ipywidgets")

from hashing_utils import widgets  # noqa: E402


@pytest.fixture
def shown(monkeypatch):
    """Everything IPython.display.display receives, in order."""
    import IPython.display
    items = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: items.extend(objs))
    return items


def controls_of(box):
    return list(box.children[0].children)


@pytest.mark.parametrize("returns_figure", [True, False])
def test_box_once_figure_once_per_redraw(shown, returns_figure):
    calls = []

    def draw(bits=32, margin=0.2, variant="cos"):
        calls.append((bits, margin, variant))
        fig, ax = plt.subplots()
        ax.plot([0, bits], [0, margin])
        return fig if returns_figure else None

    plt.close("all")
    assert widgets.interact(draw, bits=[16, 32, 64], margin=(0.0, 0.5, 0.05), variant=["arc", "cos"]) is None
    boxes = [x for x in shown if isinstance(x, ipywidgets.VBox)]
    figures = [x for x in shown if isinstance(x, plt.Figure)]
    assert len(boxes) == 1 and len(figures) == 1 and len(calls) == 1
    assert calls[0] == (32, 0.2, "cos")  # the function's defaults, not the middle option / the range's middle
    assert [c.value for c in controls_of(boxes[0])] == [32, 0.2, "cos"]
    assert plt.get_fignums() == []  # closed: the inline backend will not send it again
    controls_of(boxes[0])[0].value = 64
    assert calls[-1] == (64, 0.2, "cos")
    assert len([x for x in shown if isinstance(x, plt.Figure)]) == 2 and plt.get_fignums() == []
    assert len([x for x in shown if isinstance(x, ipywidgets.VBox)]) == 1


def test_default_outside_options_opens_in_the_middle(shown):
    widgets.interact(lambda bits=12, lam=9.0: None, bits=[16, 32, 64], lam=(0.0, 1.0, 0.1))
    box = next(x for x in shown if isinstance(x, ipywidgets.VBox))
    assert [c.value for c in controls_of(box)] == [32, 0.5]


def test_bad_control_spec_is_a_type_error():
    with pytest.raises(TypeError, match="control 'bits'"):
        widgets.interact(lambda bits=1: None, bits="many")
