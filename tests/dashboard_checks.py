"""Checks shared by the dashboard tests: traces by key, every array drawn in every draw."""

from __future__ import annotations

import numpy as np

from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import ARRAYS, REQUIRED


def shown(dashboard: Dashboard) -> dict[str, dict[str, object]]:
    """key -> {array name: value} of every visible trace of the live figure."""
    return {
        trace.meta: {name: trace[name] for name in ARRAYS if name in trace}
        for trace in dashboard.figure.data
        if trace.visible is not False
    }


def array(dashboard: Dashboard, key: str, name: str) -> np.ndarray:
    """One array of one trace, as numpy (the figure stores tuples or arrays)."""
    value = dashboard.trace(key)[name]
    assert value is not None, f"{key}.{name} is not set"
    return np.asarray(value)


def assert_traces_are_keyed(dashboard: Dashboard) -> None:
    """Every trace has a distinct key (`meta`) and a distinct legend name."""
    keys = [trace.meta for trace in dashboard.figure.data]
    names = [trace.name for trace in dashboard.figure.data]
    assert all(isinstance(key, str) for key in keys) and len(set(keys)) == len(keys), keys
    assert len(set(names)) == len(names), names


def assert_redraw_sets_every_array(dashboard: Dashboard) -> None:
    """Clear every array of every trace; one refresh must set them all again, to the same data."""
    before = shown(dashboard)
    for trace in dashboard.figure.data:
        trace.update(**{name: None for name in ARRAYS if name in trace})
    assert dashboard.refresh(), dashboard.status_text()
    after = shown(dashboard)
    assert after.keys() == before.keys()
    for key, trace_arrays in after.items():
        trace = dashboard.trace(key)
        for name in REQUIRED.get(trace.type, ()):
            assert trace_arrays[name] is not None, f"{key}.{name} was not drawn again"
        for name, value in trace_arrays.items():
            old = before[key][name]
            assert (value is None) == (old is None), f"{key}.{name}: {old!r} -> {value!r}"
            if value is not None:
                assert np.array_equal(np.asarray(value), np.asarray(old)), f"{key}.{name}"


class Toy(Dashboard):
    """A tiny dashboard: a letter (compute refuses 'c') and a count of points."""

    title = "toy"

    def __init__(self, letter: str = "a") -> None:
        import ipywidgets as widgets

        controls = {
            "letter": widgets.Dropdown(options=["a", "b", "c"], value=letter),
            "n": widgets.IntSlider(value=2, min=1, max=5),
        }
        super().__init__(controls)

    def initial_figure(self):
        import plotly.graph_objects as go

        from hyperviz.viz.live import keyed

        return go.Figure([keyed(go.Scatter(mode="markers"), "points")])

    def compute(self, letter: str, n: int) -> tuple[str, int]:
        if letter == "c":
            raise ValueError("letter='c' has no data")
        return letter, n

    def draw(self, state: tuple[str, int]) -> None:
        letter, n = state
        self.live.show("points", x=np.arange(n), y=np.full(n, ord(letter)))

    def draw_static(self, state):
        raise NotImplementedError

    def describe(self, state: tuple[str, int]) -> str:
        return f"{state[0]} × {state[1]}"
