"""Notebook 02's dashboard (survey §3.1): pick a conditioning, then a task or a sample.

Each conditioning is a *view* built once from trained models (`TaskView`, `DataView`,
`NoiseView`); a view answers `panel(item, examples)` with the generated weights Θ and the
predictions to draw. Task and noise views precompute everything; the data view runs its
encoder and hypernet on the chosen examples (one small forward pass), so moving a control
never trains anything.
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
from plotly.subplots import make_subplots

from hyperviz.data import TaskFamily, sinusoid_curve
from hyperviz.evaluation import predict
from hyperviz.lessons.input_based import SeparateDNNs
from hyperviz.models import HyperDNN
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.plots import layer_matrices

Y_RANGE = (-3.5, 3.5)  # amplitudes of the family are at most 2


@dataclass(frozen=True)
class Panel:
    """What to draw for one conditioning and one task or sample (1-D arrays on the grid)."""

    theta: torch.Tensor  # (P,) the generated weights
    grid: np.ndarray
    truth: np.ndarray
    seen_x: np.ndarray  # the points the model was given
    seen_y: np.ndarray
    prediction: np.ndarray
    prediction_name: str
    baseline: np.ndarray | None
    baseline_name: str
    band: tuple[np.ndarray, np.ndarray] | None  # mean ± 2 std over all generated nets
    status: str


def _curve(t: torch.Tensor) -> np.ndarray:
    return t.detach().reshape(-1).numpy()


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).pow(2).mean().item()


def _check_item(view_name: str, item: int, count: int) -> None:
    if not 0 <= item < count:
        raise ValueError(f"item={item} is out of range for {view_name}; allowed: 0 to {count - 1}")


class TaskView:
    """A task-conditioned hypernet beside separate DNNs, on the tasks both were trained on."""

    name = "task-conditioned"
    max_examples = None

    def __init__(
        self, model: HyperDNN, separate: SeparateDNNs, tasks: TaskFamily, grid: torch.Tensor
    ) -> None:
        self.tasks, self.grid, self.target = tasks, grid, model.target
        with torch.no_grad():
            self.theta = model.weights(torch.arange(tasks.num_tasks))
        self.predictions = predict(self.target, self.theta, grid)
        self.baselines = predict(self.target, separate.weights(), grid)
        self.truth = sinusoid_curve(tasks.params, grid)
        self.num_items = tasks.num_tasks
        self.weight_limit = self.theta.abs().max().item()

    def panel(self, item: int, examples: int) -> Panel:
        _check_item(self.name, item, self.num_items)
        error = _mse(self.predictions[item], self.truth[item])
        baseline_error = _mse(self.baselines[item], self.truth[item])
        status = (
            f"{self.name}, task {item} ({self.tasks.names[item]}): error against the true "
            f"curve {error:.3g} (separate DNN {baseline_error:.3g})"
        )
        return Panel(
            self.theta[item],
            _curve(self.grid),
            _curve(self.truth[item]),
            _curve(self.tasks.x[item]),
            _curve(self.tasks.y[item]),
            _curve(self.predictions[item]),
            "hypernet (shared Φ)",
            _curve(self.baselines[item]),
            "separate DNN",
            None,
            status,
        )


class DataView:
    """A data-conditioned hypernet on held-out tasks: its encoder sees the first k examples."""

    name = "data-conditioned"

    def __init__(
        self,
        model: HyperDNN,
        held_out: TaskFamily,
        grid: torch.Tensor,
        mean_curve: torch.Tensor,
        examples: int = 6,
    ) -> None:
        self.model, self.held_out, self.grid = model, held_out, grid
        self.target, self.mean_curve = model.target, mean_curve
        self.truth = sinusoid_curve(held_out.params, grid)
        self.num_items = held_out.num_tasks
        self.max_examples = held_out.x.shape[1]
        with torch.no_grad():
            theta = model.weights(held_out.examples()[:, :examples])
        self.weight_limit = theta.abs().max().item()

    def panel(self, item: int, examples: int) -> Panel:
        _check_item(self.name, item, self.num_items)
        if not 1 <= examples <= self.max_examples:
            raise ValueError(
                f"examples={examples} is not allowed; a held-out task has 1 to "
                f"{self.max_examples} examples to show the encoder"
            )
        with torch.no_grad():
            theta = self.model.weights(self.held_out.examples()[item, :examples])[0]
        prediction = predict(self.target, theta, self.grid)[0]
        error = _mse(prediction, self.truth[item])
        status = (
            f"{self.name}, held-out task {item} seen through {examples} examples: error "
            f"{error:.3g} (family mean {_mse(self.mean_curve, self.truth[item]):.3g})"
        )
        return Panel(
            theta,
            _curve(self.grid),
            _curve(self.truth[item]),
            _curve(self.held_out.x[item, :examples]),
            _curve(self.held_out.y[item, :examples]),
            _curve(prediction),
            "hypernet (weights from the examples)",
            _curve(self.mean_curve),
            "family mean",
            None,
            status,
        )


class NoiseView:
    """A noise-conditioned hypernet on one task: many sampled nets, one of them highlighted."""

    max_examples = None

    def __init__(
        self,
        model: HyperDNN,
        task: TaskFamily,
        grid: torch.Tensor,
        name: str = "noise-conditioned",
        num_samples: int = 64,
        seed: int = 0,
    ) -> None:
        if task.num_tasks != 1:
            raise ValueError(f"task has {task.num_tasks} tasks; a NoiseView shows exactly one")
        self.name, self.task, self.grid, self.target = name, task, grid, model.target
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.theta = model.weights(num_samples, generator=generator)
        self.predictions = predict(self.target, self.theta, grid)
        mean, std = self.predictions.mean(dim=0), self.predictions.std(dim=0)
        self.band = (_curve(mean - 2 * std), _curve(mean + 2 * std))
        self.mean_spread = std.mean().item()
        self.truth = sinusoid_curve(task.params, grid)[0]
        self.num_items = num_samples
        self.weight_limit = self.theta.abs().max().item()

    def panel(self, item: int, examples: int) -> Panel:
        _check_item(self.name, item, self.num_items)
        error = _mse(self.predictions[item], self.truth)
        status = (
            f"{self.name}, sample {item} of {self.num_items}: error {error:.3g}, spread of "
            f"all samples (mean std over x) {self.mean_spread:.3g}"
        )
        return Panel(
            self.theta[item],
            _curve(self.grid),
            _curve(self.truth),
            _curve(self.task.x[0]),
            _curve(self.task.y[0]),
            _curve(self.predictions[item]),
            f"sample {item}",
            None,
            "",
            self.band,
            status,
        )


View = TaskView | DataView | NoiseView


class ConditioningExplorer(Dashboard):
    """Choose a conditioning and a task or sample: see the generated Θ and its predictions."""

    title = "Input-based hypernets"

    def __init__(self, views: Sequence[View], examples: int = 6) -> None:
        self.views = {view.name: view for view in views}
        if len(self.views) != len(views) or not views:
            raise ValueError("views must be a non-empty list with distinct names")
        self.target = views[0].target
        count = min(view.num_items for view in views)
        limits = [v.max_examples for v in views if v.max_examples is not None]
        self.max_examples = min(limits) if limits else None
        controls = {
            "conditioning": widgets.Dropdown(options=list(self.views), description="conditioning"),
            "item": widgets.IntSlider(value=0, min=0, max=count - 1, description="task / sample"),
            "examples": widgets.IntText(value=examples, description="examples seen"),
        }
        super().__init__(controls)

    def initial_figure(self) -> go.Figure:
        cols = len(self.target.layers)
        titles = [f"generated Θ: {layer.name}" for layer in self.target.layers] + ["predictions"]
        specs = [[{}] * cols, [{"colspan": cols}] + [None] * (cols - 1)]
        figure = make_subplots(2, cols, specs=specs, subplot_titles=titles, row_heights=[0.4, 0.6])
        for col in range(1, cols + 1):
            figure.add_trace(go.Heatmap(colorscale="RdBu_r", showscale=col == cols), 1, col)
        band_fill = "rgba(76, 114, 176, 0.2)"
        traces = [
            go.Scatter(mode="lines", line_width=0, showlegend=False, hoverinfo="skip"),
            go.Scatter(
                mode="lines",
                line_width=0,
                fill="tonexty",
                fillcolor=band_fill,
                name="mean ± 2 std (all samples)",
            ),
            go.Scatter(mode="lines", line=dict(color="black", dash="dash"), name="truth"),
            go.Scatter(mode="markers", marker=dict(color="black", size=7), name="points seen"),
            go.Scatter(mode="lines", line_color="#dd8452", name="baseline"),
            go.Scatter(mode="lines", line_color="#4c72b0", name="prediction"),
        ]
        for trace in traces:
            figure.add_trace(trace, 2, 1)
        figure.update_yaxes(range=list(Y_RANGE), row=2, col=1)
        figure.update_layout(height=560, margin=dict(l=40, r=20, t=40, b=30))
        return figure

    def compute(self, conditioning: str, item: int, examples: int) -> Panel:
        if conditioning not in self.views:
            raise ValueError(
                f"conditioning={conditioning!r} is not known; allowed: {list(self.views)}"
            )
        if self.max_examples is not None and not 1 <= examples <= self.max_examples:
            raise ValueError(
                f"examples={examples} is not allowed; the data-conditioned hypernet can be "
                f"shown 1 to {self.max_examples} examples of a task"
            )
        return self.views[conditioning].panel(item, examples)

    def draw(self, state: Panel) -> None:
        limit = self.views[self.controls["conditioning"].value].weight_limit
        matrices = layer_matrices(self.target, state.theta)
        heatmaps, (low, high, truth, points, baseline, prediction) = (
            self.figure.data[: len(matrices)],
            self.figure.data[len(matrices) :],
        )
        for trace, matrix in zip(heatmaps, matrices.values(), strict=True):
            trace.update(z=matrix, zmin=-limit, zmax=limit)
        band = state.band or ([], [])
        low.update(x=state.grid if state.band else [], y=band[0])
        high.update(x=state.grid if state.band else [], y=band[1])
        truth.update(x=state.grid, y=state.truth)
        points.update(x=state.seen_x, y=state.seen_y)
        has_baseline = state.baseline is not None
        baseline.update(
            x=state.grid if has_baseline else [],
            y=state.baseline if has_baseline else [],
            name=state.baseline_name or "baseline",
        )
        prediction.update(x=state.grid, y=state.prediction, name=state.prediction_name)

    def draw_static(self, state: Panel) -> Figure:
        limit = self.views[self.controls["conditioning"].value].weight_limit
        matrices = layer_matrices(self.target, state.theta)
        figure = plt.figure(figsize=(10, 5.6), layout="constrained")
        grid = figure.add_gridspec(2, len(matrices), height_ratios=[0.4, 0.6])
        for col, (name, matrix) in enumerate(matrices.items()):
            ax = figure.add_subplot(grid[0, col])
            image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
            ax.set_title(f"generated Θ: {name} {matrix.shape[0]}×{matrix.shape[1]}", fontsize=9)
            ax.set_xlabel("input", fontsize=8)
            ax.set_ylabel("unit", fontsize=8)
            if matrix.shape[1] == 1:
                ax.set_xticks([])
            if matrix.shape[0] == 1:
                ax.set_yticks([])
        figure.colorbar(image, ax=ax)
        draw_panel(state, figure.add_subplot(grid[1, :]))
        return figure

    def describe(self, state: Panel) -> str:
        return state.status


def draw_panel(panel: Panel, ax: Axes, title: str = "", legend: bool = True) -> Axes:
    """One panel's predictions on matplotlib axes: band, truth, points, baseline, prediction."""
    if panel.band is not None:
        ax.fill_between(
            panel.grid, *panel.band, color="#4c72b0", alpha=0.2, label="mean ± 2 std (all samples)"
        )
    ax.plot(panel.grid, panel.truth, "k--", lw=1, label="truth")
    ax.scatter(panel.seen_x, panel.seen_y, c="k", s=14, zorder=3, label="points seen")
    if panel.baseline is not None:
        ax.plot(panel.grid, panel.baseline, color="#dd8452", label=panel.baseline_name)
    ax.plot(panel.grid, panel.prediction, color="#4c72b0", label=panel.prediction_name)
    ax.set_ylim(*Y_RANGE)
    ax.set_xlabel("x")
    ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_panels(panels: Sequence[Panel], titles: Sequence[str], ncols: int = 4) -> Figure:
    """Several panels side by side (e.g. four tasks), each with its own title."""
    nrows = -(-len(panels) // ncols)
    figure, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False, layout="constrained"
    )
    for i, (ax, panel, title) in enumerate(zip(axes.flat, panels, titles, strict=False)):
        draw_panel(panel, ax, title, legend=i == 0)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    return figure
