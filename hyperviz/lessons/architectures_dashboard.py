"""Notebook 05's dashboard (survey §3.6): hypernets that differ only in their body.

All bodies are trained before the dashboard is built (`compare_bodies`); at construction it
generates, for every body and task, the weights Θ, the fitted curve and how tokens meet in
the body. Choosing a body or a task then only redraws: the largest layer of the generated Θ,
the task's fit, every body's loss curve (the chosen one in front), and the attention map of
the attention body or the token influence map of the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.figure import Figure

from hyperviz.data import TaskFamily
from hyperviz.lessons.architectures import BodyRun, attention_map, body_tokens, token_mixing
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import keyed, subplot_figure
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
    weight_maps,
)

COLOURS = {"mlp": "#4c72b0", "cnn": "#dd8452", "rnn": "#55a868", "attention": "#c44e52"}
PREDICTION = "generated net"


@dataclass(frozen=True)
class BodyView:
    """What the dashboard shows for one body and one task."""

    body: str
    task: int
    maps: WeightMaps  # the largest target layer's generated weights
    fit: Fit
    losses: Losses  # every body's training loss, the chosen one in front
    mixing: np.ndarray  # (T, T); each row sums to 1
    mixing_kind: str  # "attention" or "influence"
    task_loss: float  # MSE against the true curve on the grid
    learnable: int
    train_loss: float


class BodyExplorer(Dashboard):
    """Pick a body and a task: generated weights, fit, loss curves, and how tokens meet."""

    title = "Hypernet bodies"

    def __init__(
        self,
        runs: dict[str, BodyRun],
        family: TaskFamily,
        grid: torch.Tensor,
        truth: torch.Tensor,
        token_labels: list[str],
    ) -> None:
        if not runs:
            raise ValueError("runs is empty; pass the result of compare_bodies")
        self.runs, self.family, self.token_labels = runs, family, list(token_labels)
        self.grid = as_curve(grid)
        self.truth = truth.squeeze(-1).numpy()  # (S, G)
        self.target = next(iter(runs.values())).model.target
        self.layer = max(self.target.layers, key=lambda layer: layer.size)
        self.cache = {name: self._generate(run, grid, truth) for name, run in runs.items()}
        self.losses = losses_of({name: run.history.loss for name, run in runs.items()})
        self.weights = WeightRow([self.layer.name], row=1, col=1)
        self.fit_panel = FitPanel([PREDICTION], row=1, col=2)
        self.loss_panel = LossPanel(list(runs), row=2, col=1, colours=COLOURS)
        body = widgets.Dropdown(options=list(runs), value=next(iter(runs)), description="body")
        last = family.num_tasks - 1
        task = widgets.BoundedIntText(value=0, min=0, max=last, description="task id")
        super().__init__({"body": body, "task": task})

    @torch.no_grad()
    def _generate(self, run: BodyRun, grid: torch.Tensor, truth: torch.Tensor) -> dict:
        """Everything shown for one body, for all tasks at once."""
        hypernet = run.model.hypernet
        task_ids = torch.arange(self.family.num_tasks)
        theta = hypernet(task_ids)
        prediction = self.target(grid, theta)
        weights = self.target.unflatten(theta)[f"{self.layer.name}.weight"]
        if run.body == "attention":
            mixing, kind = attention_map(hypernet, task_ids), "attention"
        else:
            with torch.enable_grad():
                mixing = token_mixing(hypernet.strategy.body, body_tokens(hypernet, task_ids)[0])
            mixing, kind = mixing / mixing.sum(-1, keepdim=True), "influence"
        if mixing.shape[-1] != len(self.token_labels):
            raise ValueError(
                f"token_labels has {len(self.token_labels)} labels; the hypernet makes "
                f"{mixing.shape[-1]} tokens"
            )
        return {
            "weights": weights.reshape(len(task_ids), self.layer.units, -1).numpy(),
            "prediction": prediction.squeeze(-1).numpy(),
            "mixing": mixing.numpy(),
            "kind": kind,
            "task_loss": (prediction - truth).pow(2).mean(dim=(1, 2)).numpy(),
        }

    # --- the dashboard ------------------------------------------------------------------
    def initial_figure(self) -> go.Figure:
        titles = [*self.weights.keys, "fit", "loss", "tokens"]
        figure = subplot_figure(2, 2, titles, vertical_spacing=0.14, horizontal_spacing=0.12)
        self.weights.add(figure)
        self.fit_panel.add(figure)
        self.loss_panel.add(figure)
        tokens = go.Heatmap(colorscale="Viridis", zmin=0, showscale=False)
        figure.add_trace(keyed(tokens, "tokens"), row=2, col=2)
        figure.update_yaxes(autorange="reversed", row=2, col=2)
        figure.update_layout(height=640, margin=dict(l=40, r=20, t=40, b=40), showlegend=False)
        return figure

    def compute(self, body: str, task: int) -> BodyView:
        if body not in self.runs:
            raise ValueError(f"body={body!r} was not trained; choose one of {list(self.runs)}")
        if not isinstance(task, int) or not 0 <= task < self.family.num_tasks:
            raise ValueError(
                f"task={task!r} is out of range; allowed: 0 to {self.family.num_tasks - 1}"
            )
        run, cached = self.runs[body], self.cache[body]
        prediction = Curve(cached["prediction"][task], PREDICTION, self.loss_panel.colours[body])
        fit = Fit(
            self.grid,
            (as_curve(self.family.x[task]), as_curve(self.family.y[task])),
            {PREDICTION: prediction},
            self.truth[task],
        )
        return BodyView(
            body=body,
            task=task,
            maps=weight_maps({self.layer.name: cached["weights"][task]}, label=f"{body}: "),
            fit=fit,
            losses=Losses(self.losses.curves, chosen=body),
            mixing=cached["mixing"][task],
            mixing_kind=cached["kind"],
            task_loss=float(cached["task_loss"][task]),
            learnable=run.learnable,
            train_loss=run.train_loss,
        )

    def draw(self, state: BodyView) -> None:
        self.weights.update(self.live, state.maps)
        self.fit_panel.update(self.live, state.fit)
        self.loss_panel.update(self.live, state.losses)
        labels = self.token_labels
        self.live.show("tokens", x=labels, y=labels, z=state.mixing)
        for key, title in self._titles(state).items():
            self.live.title(key, title)

    def _titles(self, state: BodyView) -> dict[str, str]:
        """The titles of the fit, loss and token panels (the weights title their own)."""
        mixing = (
            "weights (row: query token)"
            if state.mixing_kind == "attention"
            else "token influence (row: output token)"
        )
        return {
            "fit": f"task {state.task}: {self.family.names[state.task]}",
            "loss": "training loss (all bodies)",
            "tokens": f"{state.body}: {mixing}",
        }

    def draw_static(self, state: BodyView) -> Figure:
        figure, axes = plt.subplots(2, 2, figsize=(10, 7), layout="constrained")
        titles = self._titles(state)
        self.weights.draw([axes[0, 0]], state.maps, colorbar=False)
        self.fit_panel.draw(axes[0, 1], state.fit, legend=True)
        self.loss_panel.draw(axes[1, 0], state.losses)
        ax = axes[1, 1]
        ax.imshow(state.mixing, cmap="viridis", vmin=0)
        ticks = range(len(self.token_labels))
        ax.set_xticks(ticks, self.token_labels, rotation=90, fontsize=7)
        ax.set_yticks(ticks, self.token_labels, fontsize=7)
        for ax, key in zip([axes[0, 1], axes[1, 0], axes[1, 1]], titles, strict=True):
            ax.set_title(titles[key], fontsize=9)
        return figure

    def describe(self, state: BodyView) -> str:
        return (
            f"{state.body} body, task {state.task}: Φ = {state.learnable:,}, "
            f"training loss {state.train_loss:.3g}, error against this task's true curve "
            f"{state.task_loss:.3g}"
        )
