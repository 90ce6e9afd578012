"""Notebook 04's dashboard (survey §3.4): one trained hypernet, target width and depth live.

`WidthExplorer` receives a trained hypernet and, when built, generates Θ for every width,
depth and task it offers (one forward pass per architecture, all tasks at once). Picking a
width, a depth or a task then only looks the result up and redraws: no training, no forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.figure import Figure

from hyperviz.data import TaskFamily, sinusoid_curve
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.lessons.variability import arch_name, mlp
from hyperviz.targets import MLPTarget
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import subplot_figure
from hyperviz.viz.panels import Curve, Fit, FitPanel, WeightMaps, WeightRow, as_curve, weight_maps
from hyperviz.viz.plots import layer_matrices

PREDICTION = "generated network"


@dataclass(frozen=True)
class Generated:
    """Θ of one architecture for every task, and its predictions on the grid."""

    target: MLPTarget
    theta: torch.Tensor  # (S, P)
    predictions: np.ndarray  # (S, G)


@dataclass(frozen=True)
class WidthState:
    """One generated network: its architecture, weights per layer, fit and error."""

    target: MLPTarget
    task: int
    trained: bool
    maps: WeightMaps
    fit: Fit
    error: float


class WidthExplorer(Dashboard):
    """Pick a target width, a depth and a task: see the generated weights and their fit."""

    title = "Dynamic output: one hypernet, many widths"

    def __init__(
        self,
        hypernet: HyperNetwork,
        tasks: TaskFamily,
        trained: Sequence[MLPTarget],
        widths: Sequence[int] = (4, 8, 12, 16, 24, 32, 48, 64),
        depths: Sequence[int] = (1, 2, 3),
        width: int = 16,
        depth: int = 2,
    ) -> None:
        self.hypernet, self.tasks = hypernet, tasks
        self.trained_sizes = [t.sizes for t in trained]
        grid = torch.linspace(-5, 5, 200).unsqueeze(1)
        self.grid = as_curve(grid)
        self.truth = sinusoid_curve(tasks.params, grid).squeeze(-1).numpy()  # (S, G)
        self.generated = {(w, d): self._generate(mlp(w, d), grid) for w in widths for d in depths}
        deepest = mlp(max(widths), max(depths))
        layers = [layer.name for layer in deepest.layers]
        self.weights = WeightRow(layers, row=1, colorbar=dict(len=0.4, y=0.8))
        self.fit_panel = FitPanel(
            [PREDICTION], row=2, points_label="the task's points", y_range=(-3.0, 3.0)
        )
        controls = {
            "width": widgets.SelectionSlider(
                options=list(widths), value=width, description="width"
            ),
            "depth": widgets.Dropdown(options=list(depths), value=depth, description="depth"),
            "task": widgets.Dropdown(
                options=[(name, i) for i, name in enumerate(tasks.names)],
                value=0,
                description="task",
            ),
        }
        super().__init__(controls)

    @torch.no_grad()
    def _generate(self, target: MLPTarget, grid: torch.Tensor) -> Generated | str:
        """Θ and predictions of `target` for all tasks; the error message if it does not fit."""
        context = torch.arange(self.tasks.num_tasks)
        if self.hypernet.conditioning == "data":
            context = self.tasks.examples()
        try:
            theta = self.hypernet(context, target=target)
        except ValueError as error:  # e.g. larger than the hypernet's max_target
            return str(error)
        return Generated(target, theta, target(grid, theta).squeeze(-1).numpy())

    def compute(self, width: int, depth: int, task: int) -> WidthState:
        generated = self.generated[(width, depth)]
        if isinstance(generated, str):
            raise ValueError(generated)
        target, prediction = generated.target, generated.predictions[task]
        error = float(np.mean((prediction - self.truth[task]) ** 2))
        fit = Fit(
            self.grid,
            (as_curve(self.tasks.x[task]), as_curve(self.tasks.y[task])),
            {PREDICTION: Curve(prediction, PREDICTION)},
            self.truth[task],
        )
        maps = weight_maps(layer_matrices(target, generated.theta[task]))
        trained = target.sizes in self.trained_sizes
        return WidthState(target, task, trained, maps, fit, error)

    def initial_figure(self) -> go.Figure:
        cols = len(self.weights.layers)
        specs = [[{}] * cols, [{"colspan": cols}] + [None] * (cols - 1)]
        titles = [*self.weights.keys, "fit"]
        figure = subplot_figure(2, cols, titles, specs=specs, row_heights=[0.45, 0.55])
        self.weights.add(figure)
        self.fit_panel.add(figure)
        # A white plot area: a shallower target's unused heatmap slot (axes hidden) leaves no box.
        figure.update_layout(
            height=520, margin=dict(l=40, r=20, t=40, b=30), template="plotly_white"
        )
        return figure

    def draw(self, state: WidthState) -> None:
        self.weights.update(self.live, state.maps)
        self.fit_panel.update(self.live, state.fit)
        self.live.title("fit", _fit_title(state))

    def draw_static(self, state: WidthState) -> Figure:
        cols = len(state.maps.matrices)
        figure = plt.figure(figsize=(10, 5), layout="constrained")
        grid = figure.add_gridspec(2, cols)
        self.weights.draw([figure.add_subplot(grid[0, c]) for c in range(cols)], state.maps)
        ax = self.fit_panel.draw(figure.add_subplot(grid[1, :]), state.fit)
        ax.set_title(_fit_title(state), fontsize=9)
        return figure

    def describe(self, state: WidthState) -> str:
        seen = "trained" if state.trained else "not seen in training"
        return (
            f"width {state.target.sizes[1]}, depth {len(state.target.sizes) - 2} "
            f"({arch_name(state.target)}, {seen}): P = {state.target.num_params:,}, "
            f"error {state.error:.3g} against task {state.task}'s true curve"
        )


def _fit_title(state: WidthState) -> str:
    return f"{arch_name(state.target)} on task {state.task}"
