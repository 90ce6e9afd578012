"""The common frame of every dashboard: controls, a status line and a live plotly figure.

A subclass says how to turn control values into a state (`compute`: a look-up of results
trained beforehand, never training), how to draw a state into the live figure (`draw`) and
into a static matplotlib picture (`draw_static`), and how to describe it in one line
(`describe`). The frame does the rest:

- controls update only on release (`continuous_update=False`);
- traces and subplot titles are addressed by key (`self.trace(key)`, see `viz.live`); the
  initial figure holds no data, and every draw must set every array of every visible trace
  (checked after each draw), so the browser's copy never keeps a stale or lost array;
- `set(...)` checks every value first and applies none if one is not allowed; an error
  (a refused value, or `compute` failing) shows in the status line, never as a traceback;
  the last good state stays on screen and the controls go back to its values;
- CSS classes (`hv-dashboard`, `hv-status`, `hv-figure`, `hv-control-NAME`) let browser tests
  find each part;
- the text form stored in a notebook is a fixed sentence, so nbval compares it for real.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.basedatatypes import BaseTraceType

from hyperviz.viz.controls import check_value
from hyperviz.viz.live import LiveFigure
from hyperviz.viz.plots import show_figure


class Dashboard:
    """Base class; subclasses define `compute`, `draw`, `draw_static` and `describe`."""

    title = "dashboard"

    def __init__(self, controls: dict[str, widgets.ValueWidget]) -> None:
        self.controls = controls
        for name, control in controls.items():
            control.add_class(f"hv-control-{name}")
            if hasattr(control, "continuous_update"):
                control.continuous_update = False
            if "description_width" in control.style.keys:  # labels in full, never "examp..."
                control.style.description_width = "initial"
            control.observe(self._on_change, names="value")
        self.status = widgets.HTML()
        self.status.add_class("hv-status")
        figure = self.initial_figure()
        if figure.layout.legend.y is None:  # colour bars sit at the top right: legend below them
            figure.update_layout(legend=dict(y=0, yanchor="bottom"))
        self.figure = go.FigureWidget(figure)
        self.live = LiveFigure(self.figure)
        built = self.live.arrays_set_at_build()
        if built:  # a draw sets them; set at build too, a no-op draw would never resend them
            raise ValueError(f"initial_figure must hold no data arrays; it sets {built}")
        self.figure_box = widgets.Box([self.figure])
        self.figure_box.add_class("hv-figure")
        self.view = widgets.VBox(
            [
                # On a narrow screen (a laptop with the file browser open) controls wrap.
                widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                self.status,
                self.figure_box,
            ]
        )
        self.view.add_class("hv-dashboard")
        self.state: Any = None
        self.error: str | None = None
        self.good_values: dict[str, Any] | None = None
        self.last_update_seconds = 0.0
        if not self.refresh():
            raise ValueError(f"{type(self).__name__} cannot start: {self.error}")

    # --- what subclasses define -------------------------------------------------
    def initial_figure(self) -> go.Figure:
        """The live figure's subplots, axes and keyed empty traces; `draw` fills them in."""
        return go.Figure()

    def compute(self, **values: Any) -> Any:
        raise NotImplementedError

    def draw(self, state: Any) -> None:
        raise NotImplementedError

    def draw_static(self, state: Any) -> Figure:
        raise NotImplementedError

    def describe(self, state: Any) -> str:
        raise NotImplementedError

    # --- the frame ----------------------------------------------------------------
    def trace(self, key: str) -> BaseTraceType:
        """The live figure's trace with this key (its `meta`)."""
        return self.live.trace(key)

    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def refresh(self) -> bool:
        """Recompute and redraw from the current control values; False if that failed."""
        start = time.perf_counter()
        values = self.values()
        try:
            state = self.compute(**values)
            text = self.describe(state)
        except Exception as error:  # a widget must never die with a traceback
            self._fail(error, values)
            return False
        try:
            self._draw(state)
        except Exception as error:  # a drawing bug: put the last good state back
            if self.state is not None:
                self._try_draw(self.state)
            self._fail(error, values)
            return False
        self.state, self.error, self.good_values = state, None, values
        self.status.value = html.escape(text)
        self.last_update_seconds = time.perf_counter() - start
        return True

    def _draw(self, state: Any) -> None:
        with self.figure.batch_update():
            self.live.start()
            self.draw(state)
            missing = self.live.unset()
            if missing:
                raise RuntimeError(
                    f"{type(self).__name__}.draw left arrays of visible traces unset: "
                    + ", ".join(missing)
                )

    def _try_draw(self, state: Any) -> None:
        try:
            self._draw(state)
        except Exception:  # already failing; the status line says why
            pass

    def _fail(self, error: Exception, values: dict[str, Any]) -> None:
        """Show the error; put the controls back to the last good state's values."""
        self.error = f"{type(error).__name__}: {error}"
        note = "showing the last good state"
        if self.good_values is not None and values != self.good_values:
            self._apply(self.good_values)
            note += "; controls set back to it"
        self._show_error(note)

    def _show_error(self, note: str) -> None:
        self.status.value = (
            f"<span class='hv-error' style='color:#b00'>⚠ {html.escape(self.error or '')}</span>"
            f" ({note})"
        )

    def _on_change(self, change: dict) -> None:
        self.refresh()

    def _apply(self, values: dict[str, Any]) -> None:
        """Set control values without triggering a refresh per control."""
        for control in self.controls.values():
            control.unobserve(self._on_change, names="value")
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            for control in self.controls.values():
                control.observe(self._on_change, names="value")

    def problems(self, values: dict[str, Any]) -> list[str]:
        """Why some of `values` cannot go into the controls (one sentence each); [] if all can."""
        found = []
        for name, value in values.items():
            if name not in self.controls:
                found.append(f"{name!r} is not a control; controls: {list(self.controls)}")
            else:
                found.append(check_value(name, self.controls[name], value))
        return [problem for problem in found if problem]

    def set(self, **values: Any) -> bool:
        """Change controls from code (as a learner would); True if the update succeeded.

        All values are checked first: if one is not allowed, none is applied; the status says why.
        """
        problems = self.problems(values)
        if problems:
            self.error = "ValueError: " + "; ".join(problems)
            self._show_error("nothing changed; showing the last good state")
            return False
        before = self.values()
        try:
            self._apply(values)
        except Exception as error:  # a value the checks let through but the widget refused
            self._apply(before)
            self._fail(error, self.values())
            return False
        return self.refresh()

    def show_static(self) -> None:
        """Show the current state as a matplotlib picture (readable without a kernel)."""
        figure = self.draw_static(self.state)
        description = f"{self.title}: {self.describe(self.state)}"
        figure.suptitle(description, fontsize=9)
        show_figure(figure, alt=f"Static picture of the dashboard's first state. {description}")

    def status_text(self) -> str:
        return self.error or self.describe(self.state)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = self.view._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"{self.title} (interactive: run the notebook to use it)"
        return bundle
