"""Notebook 06's dashboard (survey §4, Continual learning): β and the tasks learned so far.

It receives a trained `Comparison` (`continual_learning.digits_comparison`) and only looks it
up: pick the regulariser's weight β and how many tasks have been learned, and see the score
matrix as it stands (row i: after task i; column j: tested on task j) for the hypernet and for
the fine-tuned DNN, and each task's score over the whole sequence. Every number is a mean
over the seeds. `plot_polynomial_fits` draws the polynomial toy's fits after each task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hyperviz.data import POLYNOMIALS
from hyperviz.evaluation import predict
from hyperviz.lessons.continual_learning import Comparison
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import keyed, subplot_figure
from hyperviz.viz.panels import PALETTE

SCALE = ("Viridis", "viridis")  # plotly colorscale, matplotlib colormap: 0 dark, 1 bright
DNN_COLOUR = "#555555"


@dataclass(frozen=True)
class SequenceView:
    """What one (β, tasks learned) shows: both matrices so far and every task's curve."""

    beta: float
    after: int  # tasks learned so far, 1..T
    hypernet: np.ndarray  # (T, T) mean over seeds, rows after `after` blank (NaN)
    dnn: np.ndarray  # (T, T) likewise
    curves: np.ndarray  # (T, T) the hypernet's full matrix: column j is task j's curve
    dnn_seen: np.ndarray  # (T,) the DNN's mean over the tasks seen after each task
    seen: tuple[float, float]  # hypernet, DNN: mean over tasks 1..after, after task `after`


def matrix_so_far(scores: torch.Tensor, after: int) -> np.ndarray:
    """The mean over seeds of (seeds, T, T) scores, rows after `after` tasks left blank (NaN)."""
    matrix = scores.mean(0).numpy().copy()
    matrix[after:] = np.nan
    return matrix


def with_gaps(matrix: np.ndarray) -> list[list[float | None]]:
    """The matrix as nested lists with None for NaN: a gap to plotly, and valid JSON."""
    return [[None if np.isnan(v) else float(v) for v in row] for row in matrix]


def percent_labels(matrix: np.ndarray) -> np.ndarray:
    """Each entry as a whole percentage ("87"), blank where there is no score."""
    return np.where(np.isnan(matrix), "", np.char.mod("%d", np.nan_to_num(matrix * 100).round()))


class ContinualDashboard(Dashboard):
    """Choose β and how many tasks have been learned: both score matrices, every task's curve."""

    title = "Continual learning"

    def __init__(self, comparison: Comparison, beta: float | None = None) -> None:
        if comparison.metric != "accuracy":
            raise ValueError("ContinualDashboard shows accuracies: give the digits comparison")
        self.comparison = comparison
        self.count = comparison.tasks.num_tasks
        self.labels = [f"task {t}" for t in range(1, self.count + 1)]
        self.dnn_mean = comparison.dnn().mean(0)
        self.hypernets = {b: comparison.hypernet(b) for b in comparison.betas}
        beta = comparison.betas[-2] if beta is None else beta
        controls = {
            "beta": widgets.Dropdown(
                options=[(f"β = {b:g}", b) for b in comparison.betas], value=beta, description="β"
            ),
            "after": widgets.IntSlider(
                value=self.count, min=1, max=self.count, description="tasks learned"
            ),
        }
        super().__init__(controls)

    def initial_figure(self) -> go.Figure:
        titles = ["hypernet", "dnn", "curves"]
        specs = [[{}, {}], [{"colspan": 2}, None]]
        figure = subplot_figure(
            2, 2, titles, specs=specs, row_heights=[0.55, 0.45], vertical_spacing=0.16
        )
        bar = dict(thickness=12, len=0.5, y=0.78, title=dict(text="accuracy", side="right"))
        for col, key in ((1, "hypernet"), (2, "dnn")):
            heatmap = go.Heatmap(
                colorscale=SCALE[0], zmin=0, zmax=1, showscale=col == 1, colorbar=bar,
                texttemplate="%{text}", hovertemplate="after task %{y}, task %{x}: %{z:.1%}",
            )  # fmt: skip
            figure.add_trace(keyed(heatmap, key, f"{key} matrix"), row=1, col=col)
            figure.update_xaxes(title_text="tested on task", dtick=1, row=1, col=col)
            figure.update_yaxes(
                autorange="reversed", title_text="after training task", dtick=1, row=1, col=col
            )
        for j, label in enumerate(self.labels):
            line = go.Scatter(mode="lines+markers", line_color=PALETTE[j % len(PALETTE)])
            figure.add_trace(keyed(line, label, f"hypernet, {label}"), row=2, col=1)
        dnn = go.Scatter(mode="lines", line=dict(color=DNN_COLOUR, dash="dash"))
        figure.add_trace(keyed(dnn, "dnn seen", "fine-tuned DNN, mean of tasks seen"), 2, 1)
        now = go.Scatter(mode="lines", line=dict(color="black", width=1, dash="dot"))
        figure.add_trace(keyed(now, "now", "tasks learned"), row=2, col=1)
        figure.update_yaxes(range=[0, 1.02], title_text="test accuracy", row=2, col=1)
        figure.update_xaxes(title_text="after training task", dtick=1, row=2, col=1)
        figure.update_layout(height=700, margin=dict(l=50, r=20, t=40, b=90))
        # Below the line panel, across the figure: clear of the colour bar, full width to plot.
        figure.update_layout(legend=dict(orientation="h", x=0, y=-0.12, yanchor="top"))
        return figure

    def compute(self, beta: float, after: int) -> SequenceView:
        if beta not in self.hypernets:
            raise ValueError(f"beta={beta!r} was not trained; trained: {list(self.hypernets)}")
        if isinstance(after, bool) or not isinstance(after, int) or not 1 <= after <= self.count:
            raise ValueError(f"after={after!r} is not allowed; choose 1 to {self.count} tasks")
        hypernet = self.hypernets[beta]
        dnn = self.comparison.dnn()
        full = hypernet.mean(0)
        dnn_seen = self.dnn_mean.nan_to_num(0).sum(-1) / torch.arange(1, self.count + 1)
        seen = (
            full[after - 1, :after].mean().item(),
            self.dnn_mean[after - 1, :after].mean().item(),
        )
        return SequenceView(
            beta,
            after,
            matrix_so_far(hypernet, after),
            matrix_so_far(dnn, after),
            full.numpy(),
            dnn_seen.numpy(),
            seen,
        )

    def _titles(self, state: SequenceView) -> dict[str, str]:
        return {
            "hypernet": f"hypernet, β = {state.beta:g}",
            "dnn": "fine-tuned DNN",
            "curves": f"each task's accuracy over the sequence (hypernet, β = {state.beta:g})",
        }

    def draw(self, state: SequenceView) -> None:
        steps = np.arange(1, self.count + 1)
        for key, matrix in (("hypernet", state.hypernet), ("dnn", state.dnn)):
            z, text = with_gaps(matrix), percent_labels(matrix)
            self.live.show(key, x=steps, y=steps, z=z, text=text)
        for j, label in enumerate(self.labels):
            self.live.show(label, x=steps[j:], y=state.curves[j:, j])
        self.live.show("dnn seen", x=steps, y=state.dnn_seen)
        self.live.show("now", x=[state.after, state.after], y=[0, 1])
        for key, text in self._titles(state).items():
            self.live.title(key, text)

    def draw_static(self, state: SequenceView) -> Figure:
        figure = plt.figure(figsize=(10, 6.5), layout="constrained")
        grid = figure.add_gridspec(2, 2, height_ratios=[0.55, 0.45])
        titles = self._titles(state)
        image = None
        for col, key in enumerate(("hypernet", "dnn")):
            ax = figure.add_subplot(grid[0, col])
            image = draw_matrix(ax, getattr(state, key))
            ax.set_title(titles[key], fontsize=9)
        figure.colorbar(image, ax=figure.axes, shrink=0.8, label="accuracy")
        ax = figure.add_subplot(grid[1, :])
        steps = np.arange(1, self.count + 1)
        for j, label in enumerate(self.labels):
            colour = PALETTE[j % len(PALETTE)]
            ax.plot(steps[j:], state.curves[j:, j], "o-", color=colour, label=f"hypernet, {label}")
        ax.plot(
            steps,
            state.dnn_seen,
            "--",
            color=DNN_COLOUR,
            label="fine-tuned DNN, mean of tasks seen",
        )
        ax.axvline(state.after, color="black", lw=1, ls=":")
        ax.set(ylim=(0, 1.02), xticks=steps, xlabel="after training task", ylabel="test accuracy")
        ax.set_title(titles["curves"], fontsize=9)
        ax.legend(fontsize=7, loc="lower left", ncol=2)
        return figure

    def describe(self, state: SequenceView) -> str:
        tasks = "task 1" if state.after == 1 else f"tasks 1–{state.after}"
        hypernet, dnn = state.seen
        return (
            f"β = {state.beta:g}, {state.after} of {self.count} tasks learned: mean accuracy on "
            f"{tasks} {hypernet:.0%} for the hypernet, {dnn:.0%} for the fine-tuned DNN "
            f"(mean of {len(self.comparison.seeds)} seeds)"
        )


def draw_matrix(ax: Axes, matrix: np.ndarray):
    """A score matrix (rows: after task i; columns: task j) with its percentages written in."""
    count = matrix.shape[0]
    image = ax.imshow(matrix, cmap=SCALE[1], vmin=0, vmax=1)
    for (i, j), text in np.ndenumerate(percent_labels(matrix)):
        if text:
            colour = "black" if matrix[i, j] > 0.6 else "white"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    ticks = range(count)
    ax.set_xticks(ticks, [str(t + 1) for t in ticks])
    ax.set_yticks(ticks, [str(t + 1) for t in ticks])
    ax.set(xlabel="tested on task", ylabel="after training task")
    return image


def plot_polynomial_fits(
    comparison: Comparison, seed: int = 0, betas: Sequence[float | None] = (None, 0.0, 1.0)
) -> Figure:
    """Rows: fine-tuned DNN (None) and hypernets with these β; columns: after task 1, 2, 3.

    Each panel shows the true polynomials (dashed) and the predictions for the tasks learned
    so far, each on its own interval.
    """
    count = comparison.tasks.num_tasks
    figure, axes = plt.subplots(
        len(betas), count, figsize=(10, 2.3 * len(betas)), sharex=True, sharey=True,
        layout="constrained", squeeze=False,
    )  # fmt: skip
    grids = [torch.linspace(low, high, 60).unsqueeze(1) for _, (low, high), _ in POLYNOMIALS]
    for row, beta in zip(axes, betas, strict=True):
        name = "fine-tuned DNN" if beta is None else f"hypernet, β = {beta:g}"
        for after, ax in enumerate(row):
            theta = comparison.theta(beta, seed, after)
            for t, ((label, _, curve), grid) in enumerate(zip(POLYNOMIALS, grids, strict=True)):
                ax.plot(grid, curve(grid), "--", color="grey", lw=1)
                if t <= after:
                    prediction = predict(comparison.target, theta[t], grid)[0]
                    ax.plot(grid, prediction, color=PALETTE[t], label=label)
            ax.set_ylim(-2.5, 2.5)
            ax.set_title(f"{name}: after task {after + 1}", fontsize=9)
    axes[0, -1].legend(fontsize=7, loc="upper left")
    for ax in axes[-1]:
        ax.set_xlabel("x")
    return figure
