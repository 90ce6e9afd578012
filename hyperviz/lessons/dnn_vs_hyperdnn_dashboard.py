"""Notebook 01's dashboard (survey §2, Fig. 1): a DNN's and a HyperDNN's training, side by side.

Training happens before the dashboard is built (`fit(..., snapshot_every=k)` stores Θ every
k steps), so moving the slider only redraws: the heatmaps of Θ per layer for both models, on
one colour scale with one labelled colour bar, and both loss curves with a marker at the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import plotly.graph_objects as go
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from hyperviz.targets import TargetNetwork
from hyperviz.training import History
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import subplot_figure
from hyperviz.viz.panels import (
    WEIGHT_COLOURS,
    Losses,
    LossPanel,
    WeightMaps,
    WeightRow,
    losses_of,
    symmetric_limit,
    weight_maps,
)
from hyperviz.viz.plots import layer_matrices

COLOUR_LABEL = "weight value in Θ"


@dataclass(frozen=True)
class StepState:
    """Θ of every model at one snapshot step, and every loss curve with a marker there."""

    step: int
    maps: dict[str, WeightMaps]  # model name -> its weight heatmaps
    losses: Losses


class TrainingStepper(Dashboard):
    """Slide through training: Θ of each model as heatmaps per layer, and both losses."""

    title = "Training stepper"

    def __init__(self, target: TargetNetwork, histories: dict[str, History]) -> None:
        self.target, self.histories = target, histories
        steps = [sorted(h.snapshots) for h in histories.values()]
        if not steps[0] or any(s != steps[0] for s in steps):
            raise ValueError("histories need the same snapshot steps (train with snapshot_every)")
        self.steps = steps[0]
        # One colour scale for every model and step: a colour means the same value throughout.
        self.limit = symmetric_limit(t for h in histories.values() for t in h.snapshots.values())
        layers = [layer.name for layer in target.layers]
        # One colour bar for all heatmap rows (they share the scale), beside the first row.
        share = len(histories) / (len(histories) + 1)
        title = dict(text=COLOUR_LABEL, side="right")
        bar = dict(thickness=12, len=0.95 * share, y=1.0, yanchor="top", title=title)
        self.rows = {
            name: WeightRow(layers, row=r, key=f"{name} Θ", colorbar=bar if r == 1 else None)
            for r, name in enumerate(histories, start=1)
        }
        self.loss_panel = LossPanel(list(histories), row=len(histories) + 1, marker=True)
        slider = widgets.SelectionSlider(
            options=self.steps, value=self.steps[0], description="step"
        )
        super().__init__({"step": slider})

    def initial_figure(self) -> go.Figure:
        rows, cols = len(self.histories) + 1, len(self.target.layers)
        titles = [key for row in self.rows.values() for key in row.keys] + ["loss"]
        specs = [[{}] * cols for _ in self.histories] + [[{"colspan": cols}] + [None] * (cols - 1)]
        figure = subplot_figure(rows, cols, titles, specs=specs)
        for row in self.rows.values():
            row.add(figure)
        self.loss_panel.add(figure)
        figure.update_layout(height=220 * rows, margin=dict(l=40, r=20, t=40, b=30))
        # The legend names the loss curves: beside the loss row, clear of the colour bar.
        figure.update_layout(legend=dict(y=0.9 / rows, yanchor="top"))
        figure.update_annotations(font_size=12)  # "HyperDNN: Θ of fc1 (40×40)" fits its column
        return figure

    def compute(self, step: int) -> StepState:
        maps = {
            name: weight_maps(
                layer_matrices(self.target, h.snapshots[step]), self.limit, f"{name}: "
            )
            for name, h in self.histories.items()
        }
        losses = losses_of({name: h.loss for name, h in self.histories.items()}, step=step)
        return StepState(step, maps, losses)

    def draw(self, state: StepState) -> None:
        for name, row in self.rows.items():
            row.update(self.live, state.maps[name])
        self.loss_panel.update(self.live, state.losses)
        self.live.title("loss", _loss_title(state))

    def draw_static(self, state: StepState) -> Figure:
        rows, cols = len(self.histories) + 1, len(self.target.layers)
        figure = plt.figure(figsize=(3.2 * cols, 2.4 * rows), layout="constrained")
        grid = figure.add_gridspec(rows, cols)
        heatmaps = []
        for r, (name, row) in enumerate(self.rows.items()):
            axes = [figure.add_subplot(grid[r, c]) for c in range(cols)]
            row.draw(axes, state.maps[name], colorbar=False)
            heatmaps += axes
        scale = ScalarMappable(Normalize(-self.limit, self.limit), WEIGHT_COLOURS[1])
        figure.colorbar(scale, ax=heatmaps, shrink=0.9, label=COLOUR_LABEL)
        ax = figure.add_subplot(grid[rows - 1, :])
        self.loss_panel.draw(ax, state.losses)
        ax.set_title(_loss_title(state), fontsize=9)
        return figure

    def describe(self, state: StepState) -> str:
        losses = ", ".join(
            f"{name} loss {curve[state.step]:.4f}" for name, curve in state.losses.curves.items()
        )
        return f"step {state.step}: {losses}"


def _loss_title(state: StepState) -> str:
    return f"training loss (marker: step {state.step})"
