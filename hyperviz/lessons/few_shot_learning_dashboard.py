"""Notebook 08's dashboard (survey §4, few-shot): how many support points K, and who wins.

`SupportExplorer` receives `few_shot_learning.run_experiment`'s results, in which every method
was already adapted to every held-out task for every K. Moving the K slider or picking a task
only looks them up: the left panel shows the three methods' curves for the chosen task (seed
0), the right one every method's mean query error against K, the chosen K marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hyperviz.lessons.few_shot_learning import METHODS, SUPPORT_SIZES, FewShotResult
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import LiveFigure, keyed, subplot_figure
from hyperviz.viz.panels import PALETTE, Curve, Fit, FitPanel, as_curve

COLOURS = dict(zip(METHODS, PALETTE, strict=False))
CHOSEN = "chosen K"
SHORT = dict(zip(METHODS, ("hypernet", "+ latent steps", "MAML", "scratch"), strict=True))
Y_RANGE = (-4.0, 4.0)  # amplitudes of the family are at most 2; scratch nets overshoot


@dataclass(frozen=True)
class SupportState:
    """One support size K and one held-out task: its fit, and every method's error curve."""

    support: int
    task: int
    fit: Fit
    task_errors: dict[str, float]  # method -> this task's query error (seed 0)
    mean_errors: dict[str, np.ndarray]  # method -> mean query error per support size


class ErrorPanel:
    """Mean query error against the support size K (log-log), one line per method."""

    def __init__(self, row: int = 1, col: int = 2) -> None:
        self.row, self.col = row, col

    def add(self, figure: go.Figure) -> None:
        for method in METHODS:
            line = go.Scatter(mode="lines+markers", line_color=COLOURS[method])
            figure.add_trace(keyed(line, f"error {method}", method), row=self.row, col=self.col)
        dots = go.Scatter(mode="markers", marker=dict(size=13, color="black", symbol="circle-open"))
        figure.add_trace(keyed(dots, CHOSEN), row=self.row, col=self.col)
        where = dict(row=self.row, col=self.col)
        # Ticks at the support sizes on x, and one per decade on y.
        ticks = list(SUPPORT_SIZES)
        figure.update_xaxes(type="log", title_text="support points K", tickvals=ticks, **where)
        figure.update_yaxes(type="log", dtick=1, title_text="query error (MSE)", **where)

    def update(self, live: LiveFigure, state: SupportState) -> None:
        sizes = np.array(SUPPORT_SIZES, dtype=float)
        chosen = SUPPORT_SIZES.index(state.support)
        for method in METHODS:
            live.show(f"error {method}", x=sizes, y=state.mean_errors[method], showlegend=False)
        values = [float(state.mean_errors[m][chosen]) for m in METHODS]
        live.show(CHOSEN, x=np.full(len(METHODS), float(state.support)), y=np.array(values))

    def draw(self, ax: Axes, state: SupportState) -> Axes:
        for method in METHODS:
            ax.plot(SUPPORT_SIZES, state.mean_errors[method], "o-", color=COLOURS[method])
        chosen = SUPPORT_SIZES.index(state.support)
        values = [state.mean_errors[m][chosen] for m in METHODS]
        ax.scatter([state.support] * len(METHODS), values, s=90, facecolors="none", edgecolors="k")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(SUPPORT_SIZES, [str(k) for k in SUPPORT_SIZES])
        ax.set_xlabel("support points K")
        ax.set_ylabel("query error (MSE)")
        return ax


class SupportExplorer(Dashboard):
    """Pick K and a held-out task: each method's curve, and its mean error against K."""

    title = "Few-shot learning: support points K"

    def __init__(self, result: FewShotResult, support: int = 5) -> None:
        self.result = result
        self.grid = as_curve(result.grid)
        shown = result.truth.shape[0]
        params = result.test.params[:shown].tolist()
        self.names = [f"task {i} (A={a:.2f}, φ={p:.2f})" for i, (a, p) in enumerate(params)]
        errors = {m: result.errors[m].numpy() for m in METHODS}  # (seeds, sizes, tasks)
        self.task_errors = {m: e[0] for m, e in errors.items()}  # seed 0
        self.mean_errors = {m: e.mean(axis=(0, 2)) for m, e in errors.items()}
        seeds, tasks = len(result.seeds), result.test.num_episodes
        self.errors_title = f"mean error: {tasks} tasks × {seeds} seeds"
        self.curves = {m: result.curves[m].numpy() for m in METHODS}
        self.fit_panel = FitPanel(
            METHODS, row=1, col=1, points_label="support points", y_range=Y_RANGE, colours=COLOURS
        )
        self.error_panel = ErrorPanel(row=1, col=2)
        controls = {
            "support": widgets.SelectionSlider(
                options=list(SUPPORT_SIZES), value=support, description="support points K"
            ),
            "task": widgets.Dropdown(
                options=[(name, i) for i, name in enumerate(self.names)],
                value=0,
                description="task",
            ),
        }
        super().__init__(controls)

    def initial_figure(self) -> go.Figure:
        figure = subplot_figure(1, 2, ["predictions", "errors"], column_widths=[0.6, 0.4])
        self.fit_panel.add(figure)
        self.error_panel.add(figure)
        figure.update_layout(
            height=430,
            margin=dict(l=40, r=20, t=40, b=30),
            legend=dict(orientation="h", y=-0.2, yanchor="top"),
        )
        return figure

    def compute(self, support: int, task: int) -> SupportState:
        if support not in SUPPORT_SIZES:
            raise ValueError(f"support={support!r} was not computed; choose one of {SUPPORT_SIZES}")
        if not 0 <= task < len(self.names):
            raise ValueError(f"task={task!r} is out of range; allowed: 0 to {len(self.names) - 1}")
        size = SUPPORT_SIZES.index(support)
        test = self.result.test
        curves = {
            m: Curve(self.curves[m][size, task], f"{m} (seed 0)", COLOURS[m]) for m in METHODS
        }
        points = (
            as_curve(test.support_x[task, :support]),
            as_curve(test.support_y[task, :support]),
        )
        fit = Fit(self.grid, points, curves, as_curve(self.result.truth[task]))
        task_errors = {m: float(self.task_errors[m][size, task]) for m in METHODS}
        return SupportState(support, task, fit, task_errors, self.mean_errors)

    def draw(self, state: SupportState) -> None:
        self.fit_panel.update(self.live, state.fit)
        self.error_panel.update(self.live, state)
        self.live.title("predictions", f"{self.names[state.task]}, K = {state.support}")
        self.live.title("errors", self.errors_title)

    def draw_static(self, state: SupportState) -> Figure:
        figure, (left, right) = plt.subplots(
            1, 2, figsize=(10, 4), width_ratios=[0.6, 0.4], layout="constrained"
        )
        self.fit_panel.draw(left, state.fit)
        left.set_title(f"{self.names[state.task]}, K = {state.support}", fontsize=9)
        self.error_panel.draw(right, state)
        right.set_title(self.errors_title, fontsize=9)
        return figure

    def draw_sizes(self, sizes: Sequence[int], task: int = 0) -> Figure:
        """One task's predictions side by side for several support sizes (a static picture)."""
        figure, axes = plt.subplots(
            1, len(sizes), figsize=(3.6 * len(sizes), 3.2), sharey=True, layout="constrained"
        )
        axes = np.atleast_1d(axes)
        for ax, support in zip(axes, sizes, strict=True):
            self.fit_panel.draw(ax, self.compute(support, task).fit, legend=False)
            ax.set_title(f"{self.names[task]}, K = {support}", fontsize=9)
        handles, labels = axes[0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8)
        return figure

    def describe(self, state: SupportState) -> str:
        errors = ", ".join(f"{SHORT[m]} {e:.3g}" for m, e in state.task_errors.items())
        return f"K = {state.support}, {self.names[state.task]}, seed 0: query error {errors}"
