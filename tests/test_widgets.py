"""hu.widgets: one display holding the live widget and its static version; each control opens at the drawing
function's default; live moves redraw in a background thread that only computes the newest request; the static
version pre-renders the documented subset within its size and time budgets. Runs with ipywidgets 8 and 7.7.1
(tests/test_ipywidgets7.py runs this file again in the ipywidgets 7.7.1 environment)."""
import base64
import io
import itertools
import json
import re
import threading
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ipywidgets = pytest.importorskip("ipywidgets")

from hashing_utils import widgets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def shown(monkeypatch):
    """Everything IPython.display.display receives, in order."""
    import IPython.display
    items = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: items.extend(objs))
    return items


def widget_by_id(model_id):
    registry = getattr(ipywidgets.widgets.widget, "_instances", None)  # ipywidgets 8
    if registry is None:
        registry = ipywidgets.Widget.widgets                           # ipywidgets 7
    return registry[model_id]


def static_data(html):
    """The JSON block of a static widget: mode, defaults, labels, figures (setting -> image indices), images."""
    return json.loads(re.search(r'<script type="application/json" class="hu-data">(.*?)</script>', html, re.S)
                      .group(1).replace("<\\/", "</"))


def make_draw(calls, fontsize=10):
    def draw(bits=32, margin=0.2, variant="cos"):
        calls.append((bits, margin, variant))
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, bits], [0, margin])
        ax.set_title(f"{bits} {margin:g} {variant}", fontsize=fontsize)
        return fig
    return draw


def test_one_display_with_live_widget_and_static_html(shown):
    calls = []
    plt.close("all")
    assert widgets.interact(make_draw(calls), bits=[16, 32, 64], margin=(0.0, 0.5, 0.05),
                            variant=["arc", "cos"]) is None
    assert len(shown) == 1
    bundle = shown[0]
    assert set(bundle) == {widgets.WIDGET_MIME, "text/html", "text/plain"}
    assert "VBox" not in bundle["text/plain"]
    box = widget_by_id(bundle[widgets.WIDGET_MIME]["model_id"])
    assert isinstance(box, ipywidgets.VBox)
    controls = [c for c in box.children[0].children if not isinstance(c, ipywidgets.Label)]
    assert [c.value for c in controls] == [32, 0.2, "cos"]   # the function's defaults, not the middle option
    assert calls[0] == (32, 0.2, "cos")                       # the default first ...
    assert len(calls) == len(set(calls))                      # ... and no setting drawn twice
    assert plt.get_fignums() == []                            # closed: the inline backend will not send it again
    out = box.children[1]
    assert len(out.outputs) == 1 and "image/png" in out.outputs[0]["data"]


def test_controls_open_at_defaults_or_middle():
    p = widgets.Panel(lambda bits=12, lam=9.0: plt.figure(), bits=[16, 32, 64], lam=(0.0, 1.0, 0.1))
    assert [c.value for c in p.controls.values()] == [32, 0.5]


def test_live_move_redraws_the_new_setting(monkeypatch):
    monkeypatch.setattr(widgets, "STATIC_MAX_FIGURES", 1)    # only the default pre-rendered: a move must draw
    calls = []
    p = widgets.Panel(make_draw(calls), bits=[16, 32, 64], variant=["arc", "cos"])
    first = p.out.outputs[0]["data"]["image/png"]
    p.controls["bits"].value = 64
    assert p.worker.wait(30)
    assert calls[-1] == (64, 0.2, "cos") and p.status.value == ""
    assert len(p.out.outputs) == 1 and p.out.outputs[0]["data"]["image/png"] != first
    assert plt.get_fignums() == []
    n = len(calls)
    p.controls["bits"].value = 32                            # seen before: shown again without drawing
    assert p.worker.wait(30)
    assert len(calls) == n and p.out.outputs[0]["data"]["image/png"] == first


def test_latest_only_computes_the_first_and_the_newest_request():
    release, started, done = threading.Event(), threading.Event(), []

    def work(request):
        if request == 0:
            started.set()
            release.wait(10)
        done.append(request)

    worker = widgets.LatestOnly(work)
    worker.submit(0)
    assert started.wait(10)
    for r in (1, 2, 3):               # key presses queued while 0 trains
        worker.submit(r)
    assert worker.stale()
    release.set()
    assert worker.wait(10)
    assert done == [0, 3] and not worker.stale()


def test_stale_result_is_not_shown(monkeypatch):
    monkeypatch.setattr(widgets, "STATIC_MAX_FIGURES", 1)
    calls = []
    gate = threading.Event()

    def draw(bits=32):
        calls.append(bits)
        if bits == 16:
            gate.wait(10)
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.set_title(str(bits))
        return fig

    p = widgets.Panel(draw, bits=[8, 16, 32, 64])
    shown = []
    p.out.observe(lambda ch: shown.append(len(ch["new"])), "outputs")
    p.controls["bits"].value = 16
    while 16 not in calls:
        threading.Event().wait(0.01)
    assert p.status.value.startswith("computing")   # busy while 16 is drawn
    p.controls["bits"].value = 8
    p.controls["bits"].value = 64
    gate.set()
    assert p.worker.wait(30)
    assert calls == [32, 16, 64]       # 8 was dropped, 16's figure never shown
    assert len(shown) == 1


def test_error_in_a_move_is_shown_in_the_widget(monkeypatch):
    monkeypatch.setattr(widgets, "STATIC_MAX_FIGURES", 1)

    def draw(bits=32):
        if bits == 64:
            raise ValueError("no 64 here")
        return plt.figure()

    p = widgets.Panel(draw, bits=[32, 64])
    p.controls["bits"].value = 64
    assert p.worker.wait(30)
    assert p.out.outputs[0]["output_type"] == "stream" and "no 64 here" in p.out.outputs[0]["text"]


def test_static_settings_grid_and_one_at_a_time():
    settings, mode = widgets.static_settings([2, 3], [1, 0], max_figures=12)
    assert mode == "grid" and settings[0] == (1, 0)
    assert sorted(settings) == sorted(itertools.product(range(2), range(3)))
    sizes, defaults = [3, 6, 2], [1, 1, 0]
    settings, mode = widgets.static_settings(sizes, defaults, max_figures=30)   # 36 > 30
    assert mode == "one-at-a-time" and settings[0] == tuple(defaults) and len(set(settings)) == len(settings)
    brute = {s for s in itertools.product(*map(range, sizes))
             if sum(a != b for a, b in zip(s, defaults)) == 1}
    assert set(settings[1:]) == brute
    capped, _ = widgets.static_settings(sizes, defaults, max_figures=4)
    # the cut keeps one nearest neighbour of each control
    assert capped == [(1, 1, 0), (0, 1, 0), (1, 0, 0), (1, 1, 1)]


def test_float_slider_static_values_keep_ends_and_default():
    values, labels, at, kind = widgets.static_options(widgets.float_control(0.0, 1.0, 0.05, 0.35, "m"))
    assert kind == "range" and values[at] == 0.35 and values[0] == 0.0 and values[-1] == 1.0
    assert len(values) <= widgets.FLOAT_STATIC_VALUES + 1 and labels[at] == "0.35"
    assert values == sorted(values)


def test_static_html_maps_every_setting_to_its_figure():
    calls = []
    p = widgets.Panel(make_draw(calls), bits=[16, 32, 64], variant=["arc", "cos"])
    data = static_data(p.html)
    assert data["mode"] == "grid" and len(data["figures"]) == 6 and data["labels"][0] == ["16", "32", "64"]
    assert data["figures"]["1,1"] == [-1]                  # the default is the <img> already on the page
    pngs = {k: data["images"][v[0]] for k, v in data["figures"].items() if k != "1,1"}
    assert len(set(pngs.values())) == 5                    # a different picture per setting
    assert '<input type="range"' in p.html and "<select" in p.html and "<option value=\"0\">arc</option>" in p.html
    assert "src=\"http" not in p.html and "<script src" not in p.html   # nothing external


def test_identical_figures_are_stored_once():
    p = widgets.Panel(lambda bits=32, unused="a": make_draw([])(bits=bits), bits=[16, 32, 64], unused=["a", "b"])
    data = static_data(p.html)
    assert data["figures"]["1,0"] == [-1] and data["figures"]["0,1"] == data["figures"]["0,0"]
    assert data["figures"]["1,1"] == [-1]   # bits 32 with unused="b" is the default's picture: the <img>
    assert len(data["images"]) == 2          # bits 16 and bits 64


def test_png_resolution_and_minimum_font(monkeypatch):
    from PIL import Image
    fig, ax = plt.subplots(figsize=(2, 1))
    small = ax.set_title("tiny", fontsize=5)
    png = base64.b64decode(widgets.render_png(fig))
    assert small.get_fontsize() == widgets.MIN_FONT_PT
    dpi = Image.open(io.BytesIO(png)).info["dpi"]
    assert round(dpi[0]) >= 100 and widgets.STATIC_DPI >= 100


def noise(bits=32, seed=0):
    """An incompressible figure: about 0.7 MB of base64 PNG."""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.imshow(np.random.default_rng(seed + bits).random((300, 600, 3)))
    ax.axis("off")
    return fig


def test_static_html_stays_within_the_size_budget():
    p = widgets.Panel(noise, bits=[8, 16, 32, 64], seed=[0, 1, 2])
    data = static_data(p.html)
    assert len(p.html) <= widgets.STATIC_MAX_BYTES + 50_000          # images + markup
    assert 1 <= len(data["figures"]) < 12 and "size budget" in data["note"]
    assert widgets.STATIC_MAX_BYTES <= widgets.PAGE_MAX_BYTES - 500_000


def test_static_time_budget(monkeypatch):
    monkeypatch.setenv("HASHING_WIDGET_SECONDS", "0")
    calls = []
    p = widgets.Panel(make_draw(calls), bits=[16, 32, 64])
    data = static_data(p.html)
    assert len(calls) == 1 and list(data["figures"]) == ["1"]
    assert "1 of 3 settings" in data["note"] and "0 s rendering budget" in data["note"]


def test_committed_notebook_pages_within_the_image_budget():
    """Inline images (PNG, and the static widgets' HTML) of every notebook stay under PAGE_MAX_BYTES."""
    import nbformat
    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        size = sum(len(out.get("data", {}).get(mime, "")) for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.outputs for mime in ("image/png", "image/jpeg", "text/html"))
        assert size <= widgets.PAGE_MAX_BYTES, f"{path.name}: {size / 1e6:.2f} MB of inline images"


def test_bad_control_spec_is_a_type_error():
    with pytest.raises(TypeError, match="control 'bits'"):
        widgets.interact(lambda bits=1: None, bits="many")
    with pytest.raises(TypeError, match="control 'bitz': .* has no parameter 'bitz'"):
        widgets.interact(lambda bits=1: None, bitz=[1, 2])
