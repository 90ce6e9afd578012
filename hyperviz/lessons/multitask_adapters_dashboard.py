"""Notebook 12's dashboard (survey §4, multitasking): how many labels does a new task have?

It receives trained results (`multitask_adapters.run_experiment`) and only looks them up. The
knob is the number of labelled images per new task. It shows each new task's accuracy with a
new embedding, new separate adapters and the shared adapter as is; every method's mean
against the number of labels; and where the new tasks' embeddings land among the trained ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hyperviz.lessons.multitask_adapters import NEW_METHODS, AdapterResult
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import keyed, subplot_figure
from hyperviz.viz.panels import PALETTE, as_array

COLOURS = dict(zip(NEW_METHODS, PALETTE, strict=False))
BARE = "no adapter"
TITLES = ("tasks", "labels", "embeddings")


def embedding_plane(trained: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre (d,) and the two main axes (2, d) of task embeddings (T, d), signs fixed so that
    each axis's largest entry is positive (the same picture on every machine)."""
    centre = trained.mean(dim=0)
    _, _, axes = torch.linalg.svd(trained - centre, full_matrices=False)
    axes = axes[:2]
    signs = axes.gather(1, axes.abs().argmax(dim=1, keepdim=True)).sign()
    return centre, axes * signs


@dataclass(frozen=True)
class LabelState:
    """What one (labels per new task, seed) shows."""

    labels: int
    seed: int
    per_task: dict[str, np.ndarray]  # method -> (T_new,) accuracy on each new task
    bare: np.ndarray  # (T_new,) the frozen network with no adapter
    means: dict[str, np.ndarray]  # method -> (S_new,) mean over the new tasks, per size
    trained: np.ndarray  # (T, 2) the trained tasks' embeddings in their main plane
    new: np.ndarray  # (T_new, 2) the new tasks' fitted embeddings, same plane

    def mean(self, method: str) -> float:
        return float(self.per_task[method].mean())


class NewTaskExplorer(Dashboard):
    """Pick how many labelled images each new task has, and a seed."""

    title = "Multitask adapters: a new task with few labels"

    def __init__(self, result: AdapterResult, labels: int = 4) -> None:
        self.result = result
        setup = result.setup
        self.sizes = list(setup.new_sizes)
        self.new_angles = [int(a) for a in setup.new_angles]
        self.x = np.asarray(self.new_angles, dtype=float)
        self.trained_text = [f"{a}°" for a in setup.angles]
        self.new_text = [f"new {a}°" for a in self.new_angles]
        count = len(setup.angles)
        self.planes = [embedding_plane(result.embeddings[k, -1]) for k in range(len(result.seeds))]
        self.bare = as_array(result.pretrained[:, count:])  # (K, T_new)
        controls = {
            "labels": widgets.SelectionSlider(
                options=self.sizes, value=labels, description="labelled images per new task"
            ),
            "seed": widgets.Dropdown(options=list(result.seeds), description="seed"),
        }
        super().__init__(controls)

    def initial_figure(self) -> go.Figure:
        figure = subplot_figure(1, 3, TITLES, column_widths=[0.4, 0.3, 0.3],
                                horizontal_spacing=0.08)  # fmt: skip
        for method in NEW_METHODS:
            line = go.Scatter(mode="lines+markers", line_color=COLOURS[method])
            figure.add_trace(keyed(line, f"task {method}", method), row=1, col=1)
        bare = go.Scatter(mode="lines", line=dict(color="grey", dash="dot"))
        figure.add_trace(keyed(bare, BARE, "no adapter (the frozen network)"), row=1, col=1)
        for method in NEW_METHODS:
            line = go.Scatter(mode="lines+markers", line_color=COLOURS[method], showlegend=False)
            figure.add_trace(keyed(line, f"labels {method}", f"{method}, mean"), row=1, col=2)
        ring = dict(size=13, color="black", symbol="circle-open")
        chosen = go.Scatter(mode="markers", marker=ring, showlegend=False)
        figure.add_trace(keyed(chosen, "chosen", "this number of labels"), row=1, col=2)
        trained = go.Scatter(mode="markers+text", marker=dict(size=7, color="grey"),
                             textposition="top center", textfont_size=9)  # fmt: skip
        figure.add_trace(keyed(trained, "trained", "trained tasks' embeddings"), row=1, col=3)
        star = dict(size=11, symbol="star", color=COLOURS[NEW_METHODS[0]])
        new = go.Scatter(mode="markers", marker=star, hoverinfo="text")  # too close to label
        figure.add_trace(keyed(new, "new", "new tasks' embeddings"), row=1, col=3)
        figure.update_xaxes(
            title_text="new task: digits turned by (°)", tickvals=self.new_angles, row=1, col=1
        )
        figure.update_yaxes(title_text="test accuracy", range=[0, 1.02], row=1, col=1)
        axis = dict(type="log", tickvals=self.sizes, title_text="labelled images per new task")
        figure.update_xaxes(**axis, row=1, col=2)
        figure.update_yaxes(range=[0, 1.02], row=1, col=2)
        figure.update_xaxes(title_text="main axis 1", row=1, col=3)
        figure.update_yaxes(title_text="main axis 2", row=1, col=3)
        figure.update_annotations(font_size=12)
        figure.update_layout(
            width=840,  # three panels: wider than plotly's default 700 px, within a laptop's cell
            height=460,
            margin=dict(l=50, r=20, t=40, b=40),
            legend=dict(orientation="h", x=0, y=-0.2, yanchor="top", font_size=10),
        )
        return figure

    def compute(self, labels: int, seed: int) -> LabelState:
        if labels not in self.sizes:
            raise ValueError(f"labels={labels!r} was not computed; choose one of {self.sizes}")
        r, i, k = self.result, self.sizes.index(labels), self.result.seeds.index(seed)
        centre, axes = self.planes[k]

        def plane(points: torch.Tensor) -> np.ndarray:
            return as_array((points - centre) @ axes.T)

        return LabelState(
            labels=labels,
            seed=seed,
            per_task={m: as_array(r.new_accuracy[m][k, i]) for m in NEW_METHODS},
            bare=self.bare[k],
            means={m: as_array(r.new_accuracy[m][k].mean(dim=-1)) for m in NEW_METHODS},
            trained=plane(r.embeddings[k, -1]),
            new=plane(r.new_embeddings[k, i]),
        )

    def _titles(self, state: LabelState) -> dict[str, str]:
        return {
            "tasks": f"seed {state.seed}, {state.labels} labelled per new task",
            "labels": "mean over the new tasks",
            "embeddings": "task embeddings (★ new)",
        }

    def draw(self, state: LabelState) -> None:
        live, x = self.live, self.x
        for method in NEW_METHODS:
            live.show(f"task {method}", x=x, y=state.per_task[method])
            live.show(f"labels {method}", x=np.asarray(self.sizes, float), y=state.means[method])
        live.show(BARE, x=x, y=state.bare)
        chosen = self.sizes.index(state.labels)
        values = np.array([state.means[m][chosen] for m in NEW_METHODS])
        live.show("chosen", x=np.full(len(NEW_METHODS), float(state.labels)), y=values)
        live.show("trained", x=state.trained[:, 0], y=state.trained[:, 1], text=self.trained_text)
        live.show("new", x=state.new[:, 0], y=state.new[:, 1], text=self.new_text)
        for key, text in self._titles(state).items():
            live.title(key, text)

    def draw_static(self, state: LabelState) -> Figure:
        figure, (tasks, labels, plane) = plt.subplots(
            1, 3, figsize=(12, 4), width_ratios=[0.4, 0.3, 0.3], layout="constrained"
        )
        titles = self._titles(state)
        for method in NEW_METHODS:
            tasks.plot(self.x, state.per_task[method], "o-", color=COLOURS[method], label=method)
            labels.plot(self.sizes, state.means[method], "o-", color=COLOURS[method])
        tasks.plot(self.x, state.bare, ":", color="grey", label=BARE)
        tasks.set(xlabel="new task: digits turned by (°)", ylabel="test accuracy", ylim=(0, 1.02))
        tasks.set_xticks(self.new_angles)
        tasks.legend(fontsize=7, loc="upper left")
        chosen = self.sizes.index(state.labels)
        values = [state.means[m][chosen] for m in NEW_METHODS]
        labels.scatter([state.labels] * len(values), values, s=90, facecolors="none",
                       edgecolors="k")  # fmt: skip
        labels.set_xscale("log")
        labels.set_xticks(self.sizes, [str(n) for n in self.sizes])
        labels.set(xlabel="labelled images per new task", ylim=(0, 1.02))
        self._draw_plane(plane, state)
        for ax, key in zip((tasks, labels, plane), TITLES, strict=True):
            ax.set_title(titles[key], fontsize=9)
        return figure

    def _draw_plane(self, ax: Axes, state: LabelState) -> None:
        ax.scatter(state.trained[:, 0], state.trained[:, 1], s=20, color="grey")
        for (px, py), text in zip(state.trained, self.trained_text, strict=True):
            ax.annotate(text, (px, py), fontsize=7, ha="center", va="bottom")
        ax.scatter(state.new[:, 0], state.new[:, 1], s=70, marker="*",
                   color=COLOURS[NEW_METHODS[0]])  # fmt: skip
        ax.set(xlabel="main axis 1", ylabel="main axis 2")

    def describe(self, state: LabelState) -> str:
        scores = ", ".join(f"{m} {100 * state.mean(m):.0f}%" for m in NEW_METHODS)
        count = len(self.new_angles)
        images = "image" if state.labels == 1 else "images"
        return (
            f"seed {state.seed}, {state.labels} labelled {images} per new task: {scores} "
            f"(mean over the {count} new tasks)"
        )
