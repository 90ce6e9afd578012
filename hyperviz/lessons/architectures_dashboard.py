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
from plotly.subplots import make_subplots

from hyperviz.data import TaskFamily
from hyperviz.lessons.architectures import BodyRun, attention_map, body_tokens, token_mixing
from hyperviz.viz.dashboard import Dashboard

COLOURS = {"mlp": "#4c72b0", "cnn": "#dd8452", "rnn": "#55a868", "attention": "#c44e52"}


@dataclass(frozen=True)
class BodyView:
    """What the dashboard shows for one body and one task."""

    body: str
    task: int
    weights: np.ndarray  # (units, fan_in) of the largest target layer
    prediction: np.ndarray  # (G,) on the grid
    mixing: np.ndarray  # (T, T); rows sum to 1
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
        self.runs, self.family, self.token_labels = runs, family, token_labels
        self.grid = grid.flatten().numpy()
        self.truth = truth.squeeze(-1).numpy()  # (S, G)
        self.target = next(iter(runs.values())).model.target
        self.layer = max(self.target.layers, key=lambda layer: layer.size)
        self.cache = {name: self._generate(run, grid, truth) for name, run in runs.items()}
        body = widgets.Dropdown(options=list(runs), value=next(iter(runs)), description="body")
        task = widgets.IntText(value=0, description="task id")
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
        figure = make_subplots(
            2,
            2,
            subplot_titles=["generated Θ", "fit", "training loss (all bodies)", "tokens"],
            vertical_spacing=0.14,
            horizontal_spacing=0.12,
        )
        figure.add_trace(go.Heatmap(colorscale="RdBu_r", showscale=False), row=1, col=1)
        figure.add_trace(
            go.Scatter(mode="markers", name="training points", marker=dict(color="black", size=5)),
            row=1,
            col=2,
        )
        figure.add_trace(
            go.Scatter(mode="lines", name="truth", line=dict(color="black", dash="dash")),
            row=1,
            col=2,
        )
        figure.add_trace(go.Scatter(mode="lines", name="generated net"), row=1, col=2)
        for name, run in self.runs.items():
            figure.add_trace(
                go.Scatter(y=run.history.loss, mode="lines", name=name, line_color=COLOURS[name]),
                row=2,
                col=1,
            )
        labels = self.token_labels
        figure.add_trace(
            go.Heatmap(x=labels, y=labels, colorscale="Viridis", zmin=0, showscale=False),
            row=2,
            col=2,
        )
        figure.update_yaxes(type="log", row=2, col=1)
        figure.update_yaxes(autorange="reversed", row=2, col=2)
        figure.update_yaxes(autorange="reversed", row=1, col=1)
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
        return BodyView(
            body=body,
            task=task,
            weights=cached["weights"][task],
            prediction=cached["prediction"][task],
            mixing=cached["mixing"][task],
            mixing_kind=cached["kind"],
            task_loss=float(cached["task_loss"][task]),
            learnable=run.learnable,
            train_loss=run.train_loss,
        )

    def draw(self, state: BodyView) -> None:
        data = self.figure.data
        limit = float(np.abs(state.weights).max()) or 1.0
        data[0].update(z=state.weights, zmin=-limit, zmax=limit)
        data[1].update(
            x=self.family.x[state.task].flatten().numpy(),
            y=self.family.y[state.task].flatten().numpy(),
        )
        data[2].update(x=self.grid, y=self.truth[state.task])
        data[3].update(x=self.grid, y=state.prediction, line_color=COLOURS[state.body])
        for trace in data[4:-1]:
            chosen = trace.name == state.body
            trace.update(line_width=2.5 if chosen else 0.8, opacity=1.0 if chosen else 0.35)
        data[-1].update(z=state.mixing)
        titles = self._titles(state)
        for annotation, title in zip(self.figure.layout.annotations, titles, strict=True):
            annotation.text = title

    def _titles(self, state: BodyView) -> list[str]:
        w = state.weights
        mixing = (
            "attention weights (row: query token)"
            if state.mixing_kind == "attention"
            else "token influence, rows sum to 1 (row: output token)"
        )
        return [
            f"{state.body}: generated Θ of {self.layer.name} ({w.shape[0]}×{w.shape[1]})",
            f"task {state.task}: {self.family.names[state.task]}",
            "training loss (all bodies)",
            f"{state.body}: {mixing}",
        ]

    def draw_static(self, state: BodyView) -> Figure:
        figure, axes = plt.subplots(2, 2, figsize=(10, 7), layout="constrained")
        titles = self._titles(state)
        limit = float(np.abs(state.weights).max()) or 1.0
        axes[0, 0].imshow(state.weights, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        axes[0, 0].set_xlabel("input")
        axes[0, 0].set_ylabel("unit")
        ax = axes[0, 1]
        ax.scatter(self.family.x[state.task], self.family.y[state.task], s=10, c="k")
        ax.plot(self.grid, self.truth[state.task], "k--", lw=1, label="truth")
        ax.plot(self.grid, state.prediction, color=COLOURS[state.body], label="generated net")
        ax.set_xlabel("x")
        ax.legend(fontsize=8)
        ax = axes[1, 0]
        for name, run in self.runs.items():
            chosen = name == state.body
            ax.plot(
                run.history.loss,
                color=COLOURS[name],
                lw=2 if chosen else 0.8,
                alpha=1 if chosen else 0.4,
                label=name,
            )
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax = axes[1, 1]
        ax.imshow(state.mixing, cmap="viridis", vmin=0)
        ticks = range(len(self.token_labels))
        ax.set_xticks(ticks, self.token_labels, rotation=90, fontsize=7)
        ax.set_yticks(ticks, self.token_labels, fontsize=7)
        for ax, title in zip(axes.flat, titles, strict=True):
            ax.set_title(title, fontsize=9)
        return figure

    def describe(self, state: BodyView) -> str:
        return (
            f"{state.body} body, task {state.task}: Φ = {state.learnable:,}, "
            f"training loss {state.train_loss:.3g}, error against this task's true curve "
            f"{state.task_loss:.3g}"
        )
