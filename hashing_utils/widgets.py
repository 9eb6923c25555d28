"""ipywidgets controls over plain functions, live in Jupyter and pre-rendered for the static site.

Pattern in a notebook: call the plain function once (a static figure that CI and static renders show), then, in a
cell marked `# NBVAL_IGNORE_OUTPUT`, `hu.widgets.interact(fn, bits=[16, 32, 64], ...)`. Keep the expensive part
(training) in a function cached with functools.lru_cache, and let the drawing function call it: then a value seen
before answers at once.

`interact` displays ONE output holding two versions of the widget (docs/widgets.md):
- the live widget (`application/vnd.jupyter.widget-view+json`), which Jupyter shows while its kernel runs. A move
  is drawn in a background thread; moves that arrive meanwhile replace each other, so only the newest is computed,
  and a label says "computing ..." until its figure is shown;
- a static version (`text/html`): the figures of a subset of the settings, pre-rendered while the cell runs, under
  an `<input type=range>` / `<select>` per control labelled with the real values, swapped by a few lines of inline
  JavaScript (no kernel, no external script). The site and a notebook opened without its kernel show this one.
  Subset rule: every setting when there are at most STATIC_MAX_FIGURES; otherwise one control at a time around
  the defaults (the others at their defaults), nearest values first; a float slider offers FLOAT_STATIC_VALUES
  values. Rendering stops at STATIC_MAX_FIGURES figures, STATIC_MAX_BYTES of inline images, or after
  static_seconds() of rendering, whichever comes first; the page says how many settings it holds.
"""
from __future__ import annotations

import base64
import html
import inspect
import io
import itertools
import json
import os
import threading
import time
import traceback
import uuid

import matplotlib.pyplot as plt
import matplotlib.text

STATIC_MAX_FIGURES = 12        # settings pre-rendered per widget
STATIC_MAX_BYTES = 1_500_000   # inline PNG (base64) bytes per widget; a notebook page holds <= PAGE_MAX_BYTES
PAGE_MAX_BYTES = 2_500_000     # all inline images of one notebook page (tests/test_widgets.py checks the notebooks)
STATIC_DPI = 100
MIN_FONT_PT = 8                # text smaller than this is enlarged in the rendered PNGs
FLOAT_STATIC_VALUES = 5        # values of a float slider on the static page (its ends, the default, between)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def static_seconds() -> float:
    """Seconds of pre-rendering per widget (after the default setting, which the live widget needs anyway):
    $HASHING_WIDGET_SECONDS, else 5 in fast mode (HASHING_FAST=1: tests) and 60 otherwise."""
    value = os.environ.get("HASHING_WIDGET_SECONDS")
    if value is not None:
        return float(value)
    return 5.0 if os.environ.get("HASHING_FAST", "0") == "1" else 60.0


def bits_control(options=(8, 16, 32, 64), value=32, description="bits"):
    import ipywidgets as w
    return w.SelectionSlider(options=list(options), value=value, description=description, continuous_update=False)


def float_control(low: float, high: float, step: float, value: float, description: str):
    import ipywidgets as w
    return w.FloatSlider(min=low, max=high, step=step, value=value, description=description,
                         continuous_update=False, readout_format=".3g")


def choice_control(options, value=None, description="choice"):
    import ipywidgets as w
    options = list(options)
    return w.Dropdown(options=options, value=options[0] if value is None else value, description=description)


def _as_control(name, spec, default=None):
    """[a, b, c] -> a selection; (low, high, step[, value]) -> a float slider; a widget passes through.
    The control opens at `default` (the drawing function's own default for that argument) when it is one
    of the options / inside the range, else at the middle option / the given or middle value."""
    import ipywidgets as w
    if isinstance(spec, w.Widget):
        return spec
    if isinstance(spec, list):
        value = default if default in spec else spec[len(spec) // 2]
        if all(isinstance(v, (int, float)) for v in spec):
            return w.SelectionSlider(options=spec, value=value, description=name, continuous_update=False)
        return choice_control(spec, value=value, description=name)
    if isinstance(spec, tuple) and len(spec) in (3, 4):
        low, high, step = spec[:3]
        if len(spec) == 4:
            value = spec[3]
        elif isinstance(default, (int, float)) and low <= default <= high:
            value = default
        else:
            value = (low + high) / 2
        return float_control(low, high, step, value, name)
    raise TypeError(f"control {name!r}: give a list of options, a (low, high, step[, value]) tuple or a widget")


def static_options(control) -> tuple[list, list[str], int, str]:
    """What the static page offers for one ipywidgets control: (values, labels, index of the current value,
    "range" or "select"). A slider over numbers becomes a range input, anything else a menu; a float / int
    slider is thinned to FLOAT_STATIC_VALUES values that keep its ends and its current value."""
    import ipywidgets as w
    if isinstance(control, (w.SelectionSlider, w.Dropdown, w.ToggleButtons, w.RadioButtons, w.Select)):
        pairs = [o if isinstance(o, tuple) and len(o) == 2 and isinstance(o[0], str) else (str(o), o)
                 for o in control.options]
        values = [v for _, v in pairs]
        kind = "range" if isinstance(control, w.SelectionSlider) else "select"
        return values, [lab for lab, _ in pairs], values.index(control.value), kind
    if isinstance(control, w.Checkbox):
        return [False, True], ["off", "on"], int(bool(control.value)), "select"
    if isinstance(control, (w.FloatSlider, w.IntSlider)):
        n = int(round((control.max - control.min) / control.step)) + 1
        at = int(round((control.value - control.min) / control.step))
        picks = sorted({round(i * (n - 1) / (FLOAT_STATIC_VALUES - 1)) for i in range(FLOAT_STATIC_VALUES)} | {at})
        as_int = isinstance(control, w.IntSlider)
        values = [int(control.min + i * control.step) if as_int else round(control.min + i * control.step, 10)
                  for i in picks]
        values[picks.index(at)] = control.value
        fmt = getattr(control, "readout_format", "d" if as_int else ".2f")
        return values, [format(v, fmt) for v in values], picks.index(at), "range"
    return [control.value], [str(control.value)], 0, "select"


def static_settings(sizes: list[int], defaults: list[int], max_figures: int | None = None):
    """The settings (tuples of option indices) to pre-render, in order, and the rule used.

    Every setting when there are at most `max_figures` ("grid"); otherwise the defaults first, then one control
    at a time ("one-at-a-time"), the others at their defaults: the values nearest each control's default first,
    the controls taking turns, so a cut at `max_figures` keeps the neighbours of every control."""
    max_figures = STATIC_MAX_FIGURES if max_figures is None else max_figures
    default = tuple(defaults)
    total = 1
    for n in sizes:
        total *= n
    if total <= max_figures:
        grid = list(itertools.product(*[range(n) for n in sizes]))
        grid.remove(default)
        return [default] + grid, "grid"
    per_control = []
    for k, (n, d) in enumerate(zip(sizes, defaults)):
        near = sorted((i for i in range(n) if i != d), key=lambda i: (abs(i - d), i))
        per_control.append([default[:k] + (i,) + default[k + 1:] for i in near])
    turns = [s for group in itertools.zip_longest(*per_control) for s in group if s is not None]
    return ([default] + turns)[:max_figures], "one-at-a-time"


def _figures(fn, values) -> list:
    """Call fn(**values); the figure it returns, or the figures it opened."""
    before = set(plt.get_fignums())
    result = fn(**values)
    if isinstance(result, plt.Figure):
        return [result]
    return [plt.figure(n) for n in plt.get_fignums() if n not in before]


def render_png(fig) -> str:
    """Base64 PNG of `fig` at STATIC_DPI with no text under MIN_FONT_PT; the figure is closed."""
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_text() and text.get_fontsize() < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=STATIC_DPI, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def draw_pngs(fn, values) -> list[str]:
    return [render_png(fig) for fig in _figures(fn, values)]


# Swaps the pre-rendered figures: one knob moved -> the figures of that setting; in one-at-a-time mode the other
# knobs go back to their defaults first. Plain ES5 so that any browser runs it from file:// or over HTTP.
_SCRIPT = """(function () {
var root = document.getElementById("%(id)s");
var d = JSON.parse(root.querySelector("script.hu-data").textContent);
var knobs = root.querySelectorAll("[data-knob]"), fig = root.querySelector(".hu-figure");
var miss = root.querySelector(".hu-missing"), first = [];
fig.querySelectorAll("img").forEach(function (im) { first.push(im.src); });
function key() { return [].map.call(knobs, function (k) { return k.value; }).join(","); }
function show(moved) {
  if (!(key() in d.figures) && d.mode === "one-at-a-time")
    knobs.forEach(function (k, i) { if (i !== moved) k.value = d.defaults[i]; });
  knobs.forEach(function (k, i) {
    var o = root.querySelector("#" + k.id + "-label"); if (o) o.textContent = d.labels[i][+k.value]; });
  var f = d.figures[key()];
  miss.textContent = f ? "" : "This setting was not pre-rendered: run the notebook for it.";
  if (!f) return;
  fig.innerHTML = "";
  var alt = d.alt + [].map.call(knobs, function (k, i) { return d.names[i] + "=" + d.labels[i][+k.value]; }).join(", ");
  f.forEach(function (n) { var im = document.createElement("img");
    im.src = n < 0 ? first[-1 - n] : "data:image/png;base64," + d.images[n];
    im.alt = alt; im.style.maxWidth = "100%%"; fig.appendChild(im); });
}
knobs.forEach(function (k, i) {
  ["input", "change"].forEach(function (e) { k.addEventListener(e, function () { show(i); }); }); });
root.querySelector(".hu-note").textContent = d.note;
})();"""


def static_html(names, options, defaults, figures: dict, mode: str, note: str, alt: str) -> str:
    """The kernel-free widget: a control per knob (range input or menu, labelled with the real values), the
    default setting's figures as <img>, the other settings' PNGs in a JSON block, and _SCRIPT to swap them."""
    uid = "hu-widget-" + uuid.uuid4().hex[:12]
    default_key = ",".join(map(str, defaults))
    # figure indices: n >= 0 is images[n]; -1 - j is the page's j-th <img> (the default setting's figures)
    seen = {p: -1 - j for j, p in enumerate(figures[default_key])}
    images, index = [], {default_key: [-1 - j for j in range(len(figures[default_key]))]}
    for key, pngs in figures.items():
        for p in pngs:  # the same picture twice (a control the function ignores at this setting) is stored once
            if p not in seen:
                seen[p] = len(images)
                images.append(p)
        index[key] = [seen[p] for p in pngs]
    rows = []
    for k, (name, (values, labels, _, kind)) in enumerate(zip(names, options)):
        cid, lab = f"{uid}-{k}", html.escape(labels[defaults[k]])
        if kind == "range":
            ctrl = (f'<input type="range" id="{cid}" data-knob="{k}" min="0" max="{len(values) - 1}" step="1" '
                    f'value="{defaults[k]}" aria-label="{html.escape(name)}"> <output id="{cid}-label">{lab}</output>')
        else:
            opts = "".join(f'<option value="{i}"{" selected" if i == defaults[k] else ""}>{html.escape(t)}</option>'
                           for i, t in enumerate(labels))
            ctrl = f'<select id="{cid}" data-knob="{k}" aria-label="{html.escape(name)}">{opts}</select>'
        rows.append(f'<label style="margin-right:1.5em">{html.escape(name)} {ctrl}</label>')
    data = {"mode": mode, "defaults": list(defaults), "names": list(names), "labels": [o[1] for o in options],
            "figures": index, "images": images, "note": note, "alt": alt}
    default_alt = ", ".join(f"{n}={o[1][d]}" for n, o, d in zip(names, options, defaults))
    imgs = "".join(f'<img src="data:image/png;base64,{p}" alt="{html.escape(alt + default_alt)}" '
                   f'style="max-width:100%">' for p in figures[default_key])
    payload = json.dumps(data).replace("</", "<\\/")
    return (f'<div class="hu-static-widget" id="{uid}">\n<div class="hu-controls">{"".join(rows)}</div>\n'
            f'<div class="hu-note" style="font-size:85%;color:#555">Static preview of an interactive figure: '
            f'run this cell for the live controls.</div>\n'
            f'<div class="hu-missing" style="color:#a33"></div>\n<div class="hu-figure">{imgs}</div>\n'
            f'<script type="application/json" class="hu-data">{payload}</script>\n'
            f'<script>{_SCRIPT % {"id": uid}}</script>\n</div>')


class LatestOnly:
    """Runs work(request) in one background thread, only ever for the newest request: requests that arrive while
    one is computed replace each other, so after a burst of key presses only the last value is computed.
    `on_idle()` is called once nothing is left to do."""

    def __init__(self, work, on_idle=None):
        self._work, self._on_idle = work, on_idle
        self._cond = threading.Condition()
        self._pending, self._running = None, False

    def submit(self, request) -> None:
        with self._cond:
            self._pending = (request,)
            if not self._running:
                self._running = True
                threading.Thread(target=self._loop, daemon=True).start()

    def stale(self) -> bool:
        """True when a newer request is waiting (the one being computed need not be shown)."""
        with self._cond:
            return self._pending is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until idle; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._running, timeout)

    def _loop(self):
        while True:
            with self._cond:
                if self._pending is None:
                    if self._on_idle is not None:
                        self._on_idle()
                    self._running = False
                    self._cond.notify_all()
                    return
                (request,), self._pending = self._pending, None
            self._work(request)


class Panel:
    """The two versions of one widget over `fn`: `box` (live ipywidgets), `html` (static), `bundle()` (both).

    Taught in: every notebook's widget cell (00-09); docs/widgets.md."""

    def __init__(self, fn, **controls):
        import ipywidgets as w

        params = inspect.signature(fn).parameters
        open_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        for name in controls:
            if name not in params and not open_kwargs:
                raise TypeError(f"control {name!r}: {getattr(fn, '__name__', fn)} has no parameter {name!r}")
        defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
        self.fn = fn
        self.controls = {k: _as_control(k, v, defaults.get(k)) for k, v in controls.items()}
        self.names = list(self.controls)
        self.options = [static_options(c) for c in self.controls.values()]
        self.pngs = {}                      # setting key -> PNGs: pre-rendered, and reused by the live widget
        self.html = self._render_static()
        self.status = w.Label(value="")
        self.out = w.Output()
        self._show(self._current_key(), self.pngs[self._default_key])
        self.worker = LatestOnly(self._redraw, on_idle=lambda: setattr(self.status, "value", ""))
        for c in self.controls.values():
            c.observe(self._moved, "value")
        self.box = w.VBox([w.HBox(list(self.controls.values()) + [self.status]), self.out])

    def _values(self, setting) -> dict:
        return {n: o[0][i] for n, o, i in zip(self.names, self.options, setting)}

    def _current_key(self) -> str:
        return repr({n: c.value for n, c in self.controls.items()})

    def _render_static(self) -> str:
        defaults = [o[2] for o in self.options]
        settings, mode = static_settings([len(o[0]) for o in self.options], defaults)
        self._default_key = repr(self._values(defaults))
        figures, used, t0, stop = {}, 0, None, ""
        for setting in settings:
            if t0 is not None and time.perf_counter() - t0 > static_seconds():
                stop = f"; stopped at the {static_seconds():g} s rendering budget"
                break
            pngs = draw_pngs(self.fn, self._values(setting))
            size = sum(len(p) for p in pngs)
            if figures and used + size > STATIC_MAX_BYTES:
                stop = f"; stopped at the {STATIC_MAX_BYTES / 1e6:g} MB size budget"
                break
            used += size
            figures[",".join(map(str, setting))] = pngs
            self.pngs[repr(self._values(setting))] = pngs
            if t0 is None:
                t0 = time.perf_counter()  # the default is drawn for the live widget anyway: not counted
        total = 1
        for o in self.options:
            total *= len(o[0])
        rule = ("every setting" if mode == "grid" and len(figures) == total else
                "one control at a time around the defaults" if mode == "one-at-a-time" else "part of the grid")
        note = (f"Pre-rendered when the notebook ran ({len(figures)} of {total} settings: {rule}{stop}); "
                f"no kernel needed. Run the notebook for the live widget." if self.names else
                "Pre-rendered when the notebook ran.")
        alt = f"Figure drawn by {getattr(self.fn, '__name__', 'the function')} at "
        return static_html(self.names, self.options, defaults, figures, mode, note, alt)

    def _show(self, key, pngs):
        self.out.outputs = tuple({"output_type": "display_data", "metadata": {},
                                  "data": {"image/png": p, "text/plain": f"<Figure {key}>"}} for p in pngs)

    def _moved(self, change):
        values = {n: c.value for n, c in self.controls.items()}
        self.status.value = "computing " + ", ".join(f"{n}={v}" for n, v in values.items()) + " ..."
        self.worker.submit(values)

    def _redraw(self, values):
        key = repr(values)
        self.status.value = "computing " + ", ".join(f"{n}={v}" for n, v in values.items()) + " ..."
        try:
            if key not in self.pngs:
                self.pngs[key] = draw_pngs(self.fn, values)
            pngs = self.pngs[key]
        except Exception:  # shown in the widget: a background thread has no cell to print into
            self.out.outputs = ({"output_type": "stream", "name": "stderr", "text": traceback.format_exc()},)
            return
        if not self.worker.stale():  # a newer setting is waiting: skip showing this one
            self._show(key, pngs)

    def bundle(self) -> dict:
        """One display's data: the live widget, the static HTML, and a plain-text line for consoles."""
        return {WIDGET_MIME: {"version_major": 2, "version_minor": 0, "model_id": self.box.model_id},
                "text/html": self.html,
                "text/plain": f"[interactive figure over {', '.join(self.names) or 'no controls'}]"}


def interact(fn, **controls):
    """Show `controls` over `fn(**values)`; `fn` draws a figure (or returns one). Each control opens at `fn`'s
    default for that argument when it has one. Displays one output (live widget + static version, see Panel)
    and returns None (a returned box would be displayed a second time as the cell's value)."""
    from IPython.display import display

    display(Panel(fn, **controls).bundle(), raw=True)
