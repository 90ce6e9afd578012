"""The common frame of every dashboard: controls, a status line and a live plotly figure.

A subclass says how to turn control values into a state (`compute`), how to draw a state
into the live figure (`draw`) and into a static matplotlib picture (`draw_static`), and how
to describe it in one line (`describe`). The frame does the rest:

- controls update only on release (`continuous_update=False`);
- an error in `compute` shows in the status line, never as a traceback, and the last good
  state stays on screen;
- CSS classes (`hv-dashboard`, `hv-status`, `hv-figure`, `hv-control-NAME`) let browser tests
  find each part;
- the text form stored in a notebook is a fixed sentence, so nbval compares it for real.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import plotly.graph_objects as go
from matplotlib.figure import Figure


class Dashboard:
    """Base class; subclasses define `compute`, `draw`, `draw_static` and `describe`."""

    title = "dashboard"

    def __init__(self, controls: dict[str, widgets.ValueWidget]) -> None:
        self.controls = controls
        for name, control in controls.items():
            control.add_class(f"hv-control-{name}")
            if hasattr(control, "continuous_update"):
                control.continuous_update = False
            control.observe(self._on_change, names="value")
        self.status = widgets.HTML()
        self.status.add_class("hv-status")
        self.figure = go.FigureWidget(self.initial_figure())
        self.figure_box = widgets.Box([self.figure])
        self.figure_box.add_class("hv-figure")
        self.view = widgets.VBox(
            [widgets.HBox(list(controls.values())), self.status, self.figure_box]
        )
        self.view.add_class("hv-dashboard")
        self.state: Any = None
        self.error: str | None = None
        self.last_update_seconds = 0.0
        if not self.refresh():
            raise ValueError(f"{type(self).__name__} cannot start: {self.error}")

    # --- what subclasses define -------------------------------------------------
    def initial_figure(self) -> go.Figure:
        """The empty live figure (subplots and axes); `draw` fills in its traces."""
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
    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def refresh(self) -> bool:
        """Recompute and redraw from the current control values; False if that failed."""
        start = time.perf_counter()
        try:
            state = self.compute(**self.values())
            with self.figure.batch_update():
                self.draw(state)
        except Exception as error:  # a widget must never die with a traceback
            self.error = f"{type(error).__name__}: {error}"
            self.status.value = (
                f"<span class='hv-error' style='color:#b00'>⚠ {html.escape(self.error)}</span>"
                " (showing the last good state)"
            )
            return False
        self.state, self.error = state, None
        self.status.value = html.escape(self.describe(state))
        self.last_update_seconds = time.perf_counter() - start
        return True

    def _on_change(self, change: dict) -> None:
        self.refresh()

    def set(self, **values: Any) -> bool:
        """Change controls from code (as a learner would); True if the update succeeded."""
        for control in self.controls.values():
            control.unobserve(self._on_change, names="value")
        try:
            for name, value in values.items():
                if name not in self.controls:
                    raise ValueError(f"{name!r} is not a control; controls: {list(self.controls)}")
                self.controls[name].value = value
        finally:
            for control in self.controls.values():
                control.observe(self._on_change, names="value")
        return self.refresh()

    def show_static(self) -> None:
        """Show the current state as a matplotlib picture (readable without a kernel)."""
        figure = self.draw_static(self.state)
        figure.suptitle(f"{self.title}: {self.describe(self.state)}", fontsize=9)
        plt.show()

    def status_text(self) -> str:
        return self.error or self.describe(self.state)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        bundle = self.view._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = f"{self.title} (interactive: run the notebook to use it)"
        return bundle
