"""Notebook 04's dashboard (survey §3.4): one trained hypernet, target width and depth live.

`WidthExplorer` picks a width, a depth and a task, and only generates and evaluates (no
training).
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
from plotly.subplots import make_subplots

from hyperviz.data import TaskFamily, sinusoid_curve
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.lessons.variability import arch_name, mlp
from hyperviz.targets import MLPTarget
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.plots import layer_matrices


@dataclass(frozen=True)
class WidthState:
    """One generated network: its architecture, weights per layer, prediction and error."""

    target: MLPTarget
    task: int
    trained: bool
    matrices: dict[str, np.ndarray]
    prediction: np.ndarray
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
        self.max_layers = max(depths) + 1
        self.grid = torch.linspace(-5, 5, 200).unsqueeze(1)
        self.truth = sinusoid_curve(tasks.params, self.grid).squeeze(-1).numpy()
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

    def context(self, task: int):
        """The hypernet's context for one task: its id, or its example set."""
        if self.hypernet.conditioning == "data":
            return self.tasks.examples()[task]
        return task

    def compute(self, width: int, depth: int, task: int) -> WidthState:
        target = mlp(width, depth)
        with torch.no_grad():
            theta = self.hypernet(self.context(task), target=target)[0]
            prediction = target(self.grid, theta).squeeze(-1).numpy()
        error = float(np.mean((prediction - self.truth[task]) ** 2))
        trained = target.sizes in self.trained_sizes
        return WidthState(target, task, trained, layer_matrices(target, theta), prediction, error)

    def initial_figure(self) -> go.Figure:
        cols = self.max_layers
        titles = [f"layer {i}" for i in range(cols)] + ["prediction"]
        specs = [[{}] * cols, [{"colspan": cols}] + [None] * (cols - 1)]
        figure = make_subplots(
            2, cols, subplot_titles=titles, specs=specs, row_heights=[0.45, 0.55]
        )
        for col in range(1, cols + 1):
            figure.add_trace(
                go.Heatmap(colorscale="RdBu_r", showscale=col == 1, colorbar=dict(len=0.4, y=0.8)),
                row=1,
                col=col,
            )
        grid = self.grid.flatten().tolist()
        figure.add_trace(go.Scatter(mode="markers", name="data"), row=2, col=1)
        figure.add_trace(
            go.Scatter(x=grid, mode="lines", name="truth", line=dict(dash="dash", color="black")),
            row=2,
            col=1,
        )
        figure.add_trace(go.Scatter(x=grid, mode="lines", name="generated network"), row=2, col=1)
        figure.update_yaxes(range=[-3, 3], row=2, col=1)
        figure.update_layout(height=520, margin=dict(l=40, r=20, t=40, b=30))
        return figure

    def draw(self, state: WidthState) -> None:
        matrices = list(state.matrices.items())
        limit = max(float(np.abs(m).max()) for _, m in matrices) or 1.0
        for i in range(self.max_layers):
            heatmap, title = self.figure.data[i], self.figure.layout.annotations[i]
            if i < len(matrices):
                name, matrix = matrices[i]
                heatmap.update(z=matrix, zmin=-limit, zmax=limit, visible=True)
                title.text = f"{name} {matrix.shape[0]}×{matrix.shape[1]}"
            else:
                heatmap.update(z=None, visible=False)
                title.text = ""
        data, truth, prediction = self.figure.data[self.max_layers :]
        data.update(
            x=self.tasks.x[state.task].flatten().tolist(),
            y=self.tasks.y[state.task].flatten().tolist(),
        )
        truth.y = self.truth[state.task]
        prediction.y = state.prediction

    def draw_static(self, state: WidthState) -> Figure:
        matrices = list(state.matrices.items())
        limit = max(float(np.abs(m).max()) for _, m in matrices) or 1.0
        figure = plt.figure(figsize=(10, 5), layout="constrained")
        grid = figure.add_gridspec(2, len(matrices))
        for col, (name, matrix) in enumerate(matrices):
            ax = figure.add_subplot(grid[0, col])
            ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
            ax.set_title(f"{name} {matrix.shape[0]}×{matrix.shape[1]}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel("inputs", fontsize=8)
            ax.set_ylabel("units", fontsize=8)
        ax = figure.add_subplot(grid[1, :])
        x, y = self.tasks.x[state.task].flatten(), self.tasks.y[state.task].flatten()
        ax.scatter(x, y, s=12, c="k", label="the task's points")
        ax.plot(self.grid.flatten(), self.truth[state.task], "k--", lw=1, label="truth")
        ax.plot(self.grid.flatten(), state.prediction, label="generated network")
        ax.set_ylim(-3, 3)
        ax.set_xlabel("x")
        ax.legend(fontsize=8)
        return figure

    def describe(self, state: WidthState) -> str:
        seen = "trained" if state.trained else "not seen in training"
        return (
            f"width {state.target.sizes[1]}, depth {len(state.target.sizes) - 2} "
            f"({arch_name(state.target)}, {seen}): P = {state.target.num_params:,}, "
            f"error {state.error:.3g} against task {state.task}'s true curve"
        )
