"""ipywidgets controls over plain functions.

Pattern in a notebook: call the plain function once (a static figure that CI and static renders
show), then, in a cell marked `# NBVAL_IGNORE_OUTPUT`, `hu.widgets.interact(fn, bits=[16, 32, 64], ...)`.
Keep the expensive part (training) in a function cached with functools.lru_cache, and let the
drawing function call it: then moving a control back to a value seen before answers at once.
"""
from __future__ import annotations

import matplotlib.pyplot as plt


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


def interact(fn, **controls):
    """Show `controls` over `fn(**values)`; `fn` draws a figure (or returns one). Each control opens at
    `fn`'s default for that argument when it has one. Displays the box once and returns None (a returned
    box would be displayed a second time as the cell's value).

    One output area (interactive_output's), and each figure closed once displayed: a figure left open would
    be sent a second time by the inline backend's flush, sometimes as a blank copy drawn concurrently."""
    import inspect

    import ipywidgets as w
    from IPython.display import display

    params = inspect.signature(fn).parameters
    defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
    widgets = {k: _as_control(k, v, defaults.get(k)) for k, v in controls.items()}

    def redraw(**values):
        before = set(plt.get_fignums())
        result = fn(**values)
        figures = [result] if isinstance(result, plt.Figure) else \
            [plt.figure(n) for n in plt.get_fignums() if n not in before]
        for fig in figures:
            display(fig)
            plt.close(fig)

    out = w.interactive_output(redraw, widgets)
    display(w.VBox([w.HBox(list(widgets.values())), out]))
