"""Notebook template's dashboard (survey §2): the shape of a dashboard; copy it for a new one.

It receives trained results (`template.run_experiment`) and only looks them up and draws:
pick a seed and a task, see the generated Θ per layer, the task's fit and every seed's loss
curve with the chosen one in front. The panels come from `hyperviz.viz.panels`.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import plotly.graph_objects as go
from matplotlib.figure import Figure

from hyperviz.lessons.template import TemplateResult
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import subplot_figure
from hyperviz.viz.panels import (
    Curve,
    Fit,
    FitPanel,
    Losses,
    LossPanel,
    WeightMaps,
    WeightRow,
    as_curve,
    losses_of,
    symmetric_limit,
    weight_maps,
)
from hyperviz.viz.plots import layer_matrices


@dataclass(frozen=True)
class TemplateState:
    """What one (seed, task) shows: its weights, its fit and every seed's loss curve."""

    seed: int
    task: int
    maps: WeightMaps
    fit: Fit
    losses: Losses
    error: float  # MSE of the prediction against the true curve on the grid


class TemplateDashboard(Dashboard):
    """Pick a seed and a task: generated Θ, the fit, and the loss curves of all seeds."""

    title = "Template dashboard"

    def __init__(self, result: TemplateResult) -> None:
        self.result = result
        self.layers = [layer.name for layer in result.target.layers]
        # One colour scale for every seed and task: a colour means the same weight throughout.
        self.limit = symmetric_limit(run.theta for run in result.runs.values())
        self.weights = WeightRow(self.layers, row=1, colorbar=dict(thickness=12, len=0.4, y=0.8))
        self.fit = FitPanel(["prediction"], row=2, y_range=(-3, 3))
        seeds = [f"seed {s}" for s in result.runs]
        self.loss = LossPanel(seeds, row=2, col=len(self.layers))
        controls = {
            "seed": widgets.Dropdown(options=list(result.runs), description="seed"),
            "task": widgets.Dropdown(
                options=[(name, i) for i, name in enumerate(result.tasks.names)],
                description="task",
            ),
        }
        super().__init__(controls)

    def initial_figure(self) -> go.Figure:
        cols = len(self.layers)
        titles = [*self.weights.keys, "fit", "loss"]
        specs = [[{}] * cols, [{"colspan": cols - 1}] + [None] * (cols - 2) + [{}]]
        figure = subplot_figure(2, cols, titles, specs=specs, vertical_spacing=0.15)
        for panel in (self.weights, self.fit, self.loss):
            panel.add(figure)
        # The loss panel's title says what its y axis is; an axis title would run into the fit.
        figure.update_yaxes(title_text=None, row=2, col=cols)
        figure.update_layout(height=520, margin=dict(l=40, r=20, t=40, b=30))
        return figure

    def compute(self, seed: int, task: int) -> TemplateState:
        result, run = self.result, self.result.runs[seed]
        matrices = layer_matrices(result.target, run.theta[task])
        prediction = run.predictions[task]
        fit = Fit(
            as_curve(result.grid),
            (as_curve(result.tasks.x[task]), as_curve(result.tasks.y[task])),
            {"prediction": Curve(as_curve(prediction), f"prediction, seed {seed}")},
            truth=as_curve(result.truth[task]),
        )
        curves = {f"seed {s}": r.history.loss for s, r in result.runs.items()}
        error = (prediction - result.truth[task]).pow(2).mean().item()
        return TemplateState(
            seed,
            task,
            weight_maps(matrices, self.limit, f"seed {seed}: "),
            fit,
            losses_of(curves, chosen=f"seed {seed}"),
            error,
        )

    def draw(self, state: TemplateState) -> None:
        self.weights.update(self.live, state.maps)
        self.fit.update(self.live, state.fit)
        self.loss.update(self.live, state.losses)
        self.live.title("fit", f"task {state.task}: {self.result.tasks.names[state.task]}")
        self.live.title("loss", "loss, all tasks (seed in front)")

    def draw_static(self, state: TemplateState) -> Figure:
        cols = len(self.layers)
        figure = plt.figure(figsize=(10, 5.5), layout="constrained")
        grid = figure.add_gridspec(2, cols)
        self.weights.draw([figure.add_subplot(grid[0, c]) for c in range(cols)], state.maps)
        ax = self.fit.draw(figure.add_subplot(grid[1, : cols - 1]), state.fit)
        ax.set_title(f"task {state.task}: {self.result.tasks.names[state.task]}", fontsize=9)
        ax = self.loss.draw(figure.add_subplot(grid[1, cols - 1]), state.losses)
        ax.set_title("training loss (chosen seed in front)", fontsize=9)
        return figure

    def describe(self, state: TemplateState) -> str:
        return (
            f"seed {state.seed}, task {state.task} ({self.result.tasks.names[state.task]}): "
            f"error against the true curve {state.error:.3g}"
        )
