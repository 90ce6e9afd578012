"""Notebook 02's dashboard (survey §3.1): pick a conditioning, then a task or a sample.

Each conditioning is a *view* built once from trained models (`TaskView`, `DataView`,
`NoiseView`); when built, a view generates every Θ it can show (every task, sample, or
held-out task seen through 1 to N examples) and its predictions. `panel(item, examples)`
then only looks them up, so moving a control never trains or runs a model.
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

from hyperviz.data import TaskFamily, sinusoid_curve
from hyperviz.evaluation import predict
from hyperviz.lessons.input_based import SeparateDNNs
from hyperviz.models import HyperDNN
from hyperviz.targets import TargetNetwork
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import subplot_figure
from hyperviz.viz.panels import (
    Curve,
    Fit,
    FitPanel,
    WeightMaps,
    WeightRow,
    as_curve,
    symmetric_limit,
    weight_maps,
)
from hyperviz.viz.plots import layer_matrices

Y_RANGE = (-3.5, 3.5)  # amplitudes of the family are at most 2
BAND = "mean ± 2 std (all samples)"
COLOURS = {"baseline": "#dd8452", "prediction": "#4c72b0"}


def fit_panel(row: int = 1) -> FitPanel:
    """The predictions panel of every view: band, truth, points seen, baseline, prediction."""
    return FitPanel(
        ["baseline", "prediction"], row, 1, "points seen", BAND, Y_RANGE, colours=COLOURS
    )


@dataclass(frozen=True)
class Panel:
    """What to draw for one conditioning and one task or sample."""

    theta: torch.Tensor  # (P,) the generated weights
    maps: WeightMaps  # Θ per target layer, on the view's colour scale
    fit: Fit  # points seen, truth, prediction (and baseline or band)
    status: str


def _mse(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).pow(2).mean().item()


def _check_item(view_name: str, item: int, count: int) -> None:
    if not 0 <= item < count:
        raise ValueError(f"item={item} is out of range for {view_name}; allowed: 0 to {count - 1}")


def _panel(
    target: TargetNetwork,
    theta: torch.Tensor,
    limit: float,
    fit: Fit,
    status: str,
) -> Panel:
    return Panel(theta, weight_maps(layer_matrices(target, theta), limit), fit, status)


def _fit(
    grid: torch.Tensor,
    truth: torch.Tensor,
    seen_x: torch.Tensor,
    seen_y: torch.Tensor,
    prediction: Curve,
    baseline: Curve | None = None,
    band: tuple[np.ndarray, np.ndarray] | None = None,
) -> Fit:
    curves = {"prediction": prediction} | ({"baseline": baseline} if baseline else {})
    points = (as_curve(seen_x), as_curve(seen_y))
    return Fit(as_curve(grid), points, curves, as_curve(truth), band)


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
        self.weight_limit = symmetric_limit([self.theta])

    def panel(self, item: int, examples: int) -> Panel:
        _check_item(self.name, item, self.num_items)
        error = _mse(self.predictions[item], self.truth[item])
        baseline_error = _mse(self.baselines[item], self.truth[item])
        status = (
            f"{self.name}, task {item} ({self.tasks.names[item]}): error against the true "
            f"curve {error:.3g} (separate DNN {baseline_error:.3g})"
        )
        fit = _fit(
            self.grid,
            self.truth[item],
            self.tasks.x[item],
            self.tasks.y[item],
            Curve(as_curve(self.predictions[item]), "hypernet (shared Φ)"),
            Curve(as_curve(self.baselines[item]), "separate DNN"),
        )
        return _panel(self.target, self.theta[item], self.weight_limit, fit, status)


class DataView:
    """A data-conditioned hypernet on held-out tasks: its encoder sees the first k examples.

    Θ of every held-out task for every k from 1 to N is generated once, when the view is built.
    """

    name = "data-conditioned"

    def __init__(
        self,
        model: HyperDNN,
        held_out: TaskFamily,
        grid: torch.Tensor,
        mean_curve: torch.Tensor,
        examples: int = 6,
    ) -> None:
        self.held_out, self.grid = held_out, grid
        self.target, self.mean_curve = model.target, mean_curve
        self.truth = sinusoid_curve(held_out.params, grid)
        self.num_items = held_out.num_tasks
        self.max_examples = held_out.x.shape[1]
        context = held_out.examples()
        with torch.no_grad():  # (k, task, P): Θ of each task seen through its first k examples
            self.theta = torch.stack(
                [model.weights(context[:, :k]) for k in range(1, self.max_examples + 1)]
            )
        flat = predict(self.target, self.theta.flatten(0, 1), grid)
        self.predictions = flat.reshape(self.max_examples, self.num_items, -1, 1)
        shown = min(max(examples, 1), self.max_examples)  # sets the colour scale
        self.weight_limit = symmetric_limit([self.theta[shown - 1]])

    def panel(self, item: int, examples: int) -> Panel:
        _check_item(self.name, item, self.num_items)
        if not 1 <= examples <= self.max_examples:
            raise ValueError(
                f"examples={examples} is not allowed; a held-out task has 1 to "
                f"{self.max_examples} examples to show the encoder"
            )
        prediction = self.predictions[examples - 1, item]
        error = _mse(prediction, self.truth[item])
        status = (
            f"{self.name}, held-out task {item} seen through {examples} examples: error "
            f"{error:.3g} (family mean {_mse(self.mean_curve, self.truth[item]):.3g})"
        )
        fit = _fit(
            self.grid,
            self.truth[item],
            self.held_out.x[item, :examples],
            self.held_out.y[item, :examples],
            Curve(as_curve(prediction), "hypernet (weights from the examples)"),
            Curve(as_curve(self.mean_curve), "family mean"),
        )
        theta = self.theta[examples - 1, item]
        return _panel(self.target, theta, self.weight_limit, fit, status)


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
        self.band = (as_curve(mean - 2 * std), as_curve(mean + 2 * std))
        self.mean_spread = std.mean().item()
        self.truth = sinusoid_curve(task.params, grid)[0]
        self.num_items = num_samples
        self.weight_limit = symmetric_limit([self.theta])

    def panel(self, item: int, examples: int) -> Panel:
        _check_item(self.name, item, self.num_items)
        error = _mse(self.predictions[item], self.truth)
        status = (
            f"{self.name}, sample {item} of {self.num_items}: error {error:.3g}, spread of "
            f"all samples (mean std over x) {self.mean_spread:.3g}"
        )
        prediction = Curve(as_curve(self.predictions[item]), f"sample {item}")
        fit = _fit(
            self.grid, self.truth, self.task.x[0], self.task.y[0], prediction, band=self.band
        )
        return _panel(self.target, self.theta[item], self.weight_limit, fit, status)


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
        layers = [layer.name for layer in self.target.layers]
        self.weights = WeightRow(layers, row=1, colorbar=dict(len=0.4, y=0.8, thickness=12))
        self.fit_panel = fit_panel(row=2)
        controls = {
            "conditioning": widgets.Dropdown(options=list(self.views), description="conditioning"),
            "item": widgets.IntSlider(value=0, min=0, max=count - 1, description="task / sample"),
            "examples": widgets.IntText(value=examples, description="examples seen"),
        }
        super().__init__(controls)

    def initial_figure(self) -> go.Figure:
        cols = len(self.weights.layers)
        titles = [*self.weights.keys, "predictions"]
        specs = [[{}] * cols, [{"colspan": cols}] + [None] * (cols - 1)]
        figure = subplot_figure(2, cols, titles, specs=specs, row_heights=[0.4, 0.6])
        self.weights.add(figure)
        self.fit_panel.add(figure)
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
        self.weights.update(self.live, state.maps)
        self.fit_panel.update(self.live, state.fit)
        self.live.title("predictions", "predictions")

    def draw_static(self, state: Panel) -> Figure:
        cols = len(self.weights.layers)
        figure = plt.figure(figsize=(10, 5.6), layout="constrained")
        grid = figure.add_gridspec(2, cols, height_ratios=[0.4, 0.6])
        self.weights.draw([figure.add_subplot(grid[0, c]) for c in range(cols)], state.maps)
        self.fit_panel.draw(figure.add_subplot(grid[1, :]), state.fit)
        return figure

    def describe(self, state: Panel) -> str:
        return state.status


def draw_panel(panel: Panel, ax: Axes, title: str = "", legend: bool = True) -> Axes:
    """One panel's predictions on matplotlib axes: band, truth, points, baseline, prediction."""
    fit_panel().draw(ax, panel.fit, legend=legend)
    ax.set_title(title, fontsize=9)
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
