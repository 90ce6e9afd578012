"""A live plotly figure whose traces and subplot titles are addressed by key, never by position.

Every trace carries its key in `meta` (and, unless its legend label must change, as its
`name`); every subplot title carries its key as the annotation's `name`. `LiveFigure`
records which arrays a draw sets, so the dashboard frame can check that each visible trace
got all of its arrays (x, y, z, ...) in every draw, not only when the figure was built: a
browser that lost a build-time array then still gets it from the next draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.basedatatypes import BaseTraceType
from plotly.subplots import make_subplots

ARRAYS = ("x", "y", "z", "text", "base")  # the data arrays a trace may hold
REQUIRED = {"scatter": ("x", "y"), "bar": ("x", "y"), "heatmap": ("z",)}


def subplot_figure(rows: int, cols: int, titles: Sequence[str], **options: Any) -> go.Figure:
    """`make_subplots` whose subplot titles are named (and first labelled) by the keys `titles`."""
    if not all(titles):
        raise ValueError(f"every subplot title needs a non-empty key, got {list(titles)}")
    figure = make_subplots(rows, cols, subplot_titles=list(titles), **options)
    for annotation, key in zip(figure.layout.annotations, titles, strict=True):
        annotation.name = key
    return figure


def keyed(trace: BaseTraceType, key: str, label: str | None = None) -> BaseTraceType:
    """`trace` with its key in `meta` and its legend label (the key unless given) as `name`."""
    trace.update(meta=key, name=label or key)
    return trace


class LiveFigure:
    """A FigureWidget's traces by key (their `meta`) and subplot titles by key (their `name`)."""

    def __init__(self, figure: go.FigureWidget) -> None:
        self.figure = figure
        self._traces: dict[str, BaseTraceType] = {}
        self._titles: dict[str, Any] = {}
        self._set: dict[str, set[str]] = {}  # this draw: shown trace -> the props it set
        self._hidden: set[str] = set()  # this draw: traces hidden
        self.index()

    def index(self) -> None:
        """Look the keys up again (after traces were added); every trace needs a distinct key."""
        keys = [trace.meta for trace in self.figure.data]
        unkeyed = [i for i, key in enumerate(keys) if not isinstance(key, str)]
        if unkeyed or len(set(keys)) != len(keys):
            raise ValueError(
                f"every trace needs a distinct string key in `meta`; keys {keys}, "
                f"traces without one at positions {unkeyed}"
            )
        self._traces = dict(zip(keys, self.figure.data, strict=True))
        self._styles = {key: style_of(trace) for key, trace in self._traces.items()}
        self._titles = {a.name: a for a in self.figure.layout.annotations if a.name}

    def keys(self) -> list[str]:
        """The trace keys, in drawing order."""
        return list(self._traces)

    def trace(self, key: str) -> BaseTraceType:
        """The trace with this key; a KeyError naming the keys there are."""
        if key not in self._traces:
            raise KeyError(f"no trace {key!r}; traces: {list(self._traces)}")
        return self._traces[key]

    def show(self, key: str, **props: Any) -> None:
        """Make the trace visible and set `props` (its arrays among them) in this draw.

        The trace's build-time style (name, colours, line, markers) is sent again too: once
        the browser reports its defaults back, plotly drops every property the two sides
        share from its copy and the browser's, and the legend would read "trace 3".
        """
        self.trace(key).update(**{**self._styles[key], "visible": True, **props})
        self._set.setdefault(key, set()).update(props)
        self._hidden.discard(key)

    def hide(self, key: str) -> None:
        """Hide the trace and drop its arrays (a hidden trace needs none)."""
        arrays = {name: None for name in ARRAYS if name in self.trace(key)}
        self.trace(key).update(visible=False, **arrays)
        self._set.pop(key, None)
        self._hidden.add(key)

    def axes_visible(self, key: str, visible: bool) -> None:
        """Show or hide the x and y axes the trace `key` is drawn on (an empty slot's grid)."""
        trace = self.trace(key)
        for axis in (trace.xaxis, trace.yaxis):
            name = f"{axis[0]}axis{axis[1:]}"  # "x3" -> "xaxis3", "y" -> "yaxis"
            if self.figure.layout[name].visible != visible:
                self.figure.layout[name].visible = visible

    def title(self, key: str, text: str) -> None:
        """Set the text of the subplot title named `key`."""
        if key not in self._titles:
            raise KeyError(f"no subplot title {key!r}; titles: {list(self._titles)}")
        self._titles[key].text = text

    def title_text(self, key: str) -> str:
        """The text of the subplot title named `key`."""
        return self._titles[key].text

    def start(self) -> None:
        """Forget what the previous draw set."""
        self._set, self._hidden = {}, set()

    def unset(self) -> list[str]:
        """'key.array' for each array a visible trace holds or needs but this draw did not set."""
        missing = []
        for key, trace in self._traces.items():
            # Inside batch_update a trace reads as before the draw: use the record where it has one.
            if key in self._hidden or (key not in self._set and trace.visible is False):
                continue
            needed = set(REQUIRED.get(trace.type, ())) | set(held_arrays(trace))
            missing += [f"{key}.{name}" for name in sorted(needed - self._set.get(key, set()))]
        return missing

    def arrays_set_at_build(self) -> list[str]:
        """'key.array' for each array the initial figure holds (a draw must set them all)."""
        return [
            f"{key}.{name}" for key, trace in self._traces.items() for name in held_arrays(trace)
        ]


def style_of(trace: BaseTraceType) -> dict[str, Any]:
    """The properties a trace was built with, other than its data arrays and its place."""
    skip = {*ARRAYS, "type", "uid", "meta", "visible", "xaxis", "yaxis"}
    return {name: value for name, value in trace.to_plotly_json().items() if name not in skip}


def held_arrays(trace: BaseTraceType) -> list[str]:
    """The arrays Python itself set on `trace` (not defaults a browser reported back).

    `trace[name]` falls back to the defaults plotly.js sends from the browser (`text: ''`
    for every bar and scatter): those are not arrays a draw has to set.
    """
    props = trace._props or {}
    return [name for name in ARRAYS if props.get(name) is not None]
