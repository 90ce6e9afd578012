"""Notebook 01's dashboard (survey §2, Fig. 1): a DNN's and a HyperDNN's training, side by side.

Training happens before the dashboard is built (`train(..., snapshot_every=k)` stores Θ every
k steps), so moving the slider only redraws: the heatmaps of Θ per layer for both models,
and both loss curves with a marker at the chosen step.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from hyperviz.targets import TargetNetwork
from hyperviz.training import History
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.plots import layer_matrices


@dataclass(frozen=True)
class StepState:
    step: int
    matrices: dict[str, dict[str, np.ndarray]]  # model name -> layer name -> weight matrix
    losses: dict[str, float]


class TrainingStepper(Dashboard):
    """Slide through training: Θ of each model as heatmaps per layer, and both losses."""

    title = "Training stepper"

    def __init__(self, target: TargetNetwork, histories: dict[str, History]) -> None:
        self.target, self.histories = target, histories
        steps = [sorted(h.snapshots) for h in histories.values()]
        if not steps[0] or any(s != steps[0] for s in steps):
            raise ValueError("histories need the same snapshot steps (train with snapshot_every)")
        self.steps = steps[0]
        slider = widgets.SelectionSlider(
            options=self.steps, value=self.steps[0], description="step"
        )
        super().__init__({"step": slider})

    def initial_figure(self) -> go.Figure:
        rows, cols = len(self.histories) + 1, len(self.target.layers)
        titles = [f"{m}: Θ of {layer.name}" for m in self.histories for layer in self.target.layers]
        specs = [[{}] * cols for _ in self.histories] + [[{"colspan": cols}] + [None] * (cols - 1)]
        figure = make_subplots(rows, cols, subplot_titles=titles + ["loss"], specs=specs)
        figure.update_layout(height=220 * rows, margin=dict(l=40, r=20, t=40, b=30))
        figure.update_yaxes(type="log", row=rows, col=1)
        return figure

    def compute(self, step: int) -> StepState:
        matrices = {
            name: layer_matrices(self.target, h.snapshots[step])
            for name, h in self.histories.items()
        }
        losses = {name: h.loss[step] for name, h in self.histories.items()}
        return StepState(step, matrices, losses)

    def draw(self, state: StepState) -> None:
        if not self.figure.data:
            self._add_traces()
        heatmaps = [m for per_model in state.matrices.values() for m in per_model.values()]
        for trace, matrix in zip(self.figure.data, heatmaps, strict=False):
            trace.z = matrix
        marker = self.figure.data[-1]
        marker.x = [state.step] * len(state.losses)
        marker.y = list(state.losses.values())

    def _add_traces(self) -> None:
        limit = max(
            float(t.abs().max()) for h in self.histories.values() for t in h.snapshots.values()
        )
        for row, _ in enumerate(self.histories, start=1):
            for col, _ in enumerate(self.target.layers, start=1):
                self.figure.add_trace(
                    go.Heatmap(
                        colorscale="RdBu_r",
                        zmin=-limit,
                        zmax=limit,
                        showscale=col == 1 and row == 1,
                    ),
                    row=row,
                    col=col,
                )
        last = len(self.histories) + 1
        for name, h in self.histories.items():
            self.figure.add_trace(go.Scatter(y=h.loss, name=name, mode="lines"), row=last, col=1)
        self.figure.add_trace(
            go.Scatter(mode="markers", marker=dict(size=10, color="black"), name="step"),
            row=last,
            col=1,
        )

    def draw_static(self, state: StepState) -> Figure:
        rows, cols = len(self.histories) + 1, len(self.target.layers)
        limit = max(float(np.abs(m).max()) for per in state.matrices.values() for m in per.values())
        figure = plt.figure(figsize=(3.2 * cols, 2.4 * rows), layout="constrained")
        grid = figure.add_gridspec(rows, cols)
        for r, (model, per_layer) in enumerate(state.matrices.items()):
            for c, (layer, matrix) in enumerate(per_layer.items()):
                ax = figure.add_subplot(grid[r, c])
                ax.imshow(matrix, cmap="RdBu_r", aspect="auto", vmin=-limit, vmax=limit)
                ax.set_title(f"{model}: Θ of {layer}", fontsize=8)
        ax = figure.add_subplot(grid[rows - 1, :])
        for name, h in self.histories.items():
            ax.plot(h.loss, label=name)
        ax.scatter([state.step] * len(state.losses), list(state.losses.values()), c="k", zorder=3)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend()
        return figure

    def describe(self, state: StepState) -> str:
        losses = ", ".join(f"{name} loss {value:.4f}" for name, value in state.losses.items())
        return f"step {state.step}: {losses}"
