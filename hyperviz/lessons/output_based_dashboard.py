"""Notebook 03's dashboard (survey §3.2): the strategy explorer, five output strategies.

Training cannot fit in a widget update, so every setting of a fixed grid (strategy x chunk
size x embedding size x target width) is trained once, at construction (`train_grid`).
Moving a control then only looks a result up and redraws: the generated weights per
target layer, the counts of Table 1 and the loss curves of all strategies at that setting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from hyperviz.checks import check_choice, check_positive_int
from hyperviz.data import TaskFamily
from hyperviz.lessons.output_based import (
    VARIANTS,
    StrategyResult,
    train_strategy,
    uses_chunks,
    uses_embeddings,
)
from hyperviz.targets import MLPTarget
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.plots import layer_matrices

GridKey = tuple[str, int, int, int]  # variant, width, chunk size (0: n/a), embedding size (0: n/a)
COUNT_NAMES = ("Φ learnable", "Θ generated", "last layer", "unused outputs", "embeddings")
NUM_LAYERS = 3  # MLPTarget([1, w, w, 1])


def explorer_target(width: int) -> MLPTarget:
    """The explorer's target: a 1 -> width -> width -> 1 ReLU MLP."""
    return MLPTarget([1, width, width, 1])


def grid_key(variant: str, width: int, chunk_size: int, embedding_dim: int) -> GridKey:
    """The cache key of a setting; knobs that do not apply to `variant` become 0."""
    return (
        variant,
        width,
        chunk_size if uses_chunks(variant) else 0,
        embedding_dim if uses_embeddings(variant) else 0,
    )


def train_grid(
    tasks: TaskFamily,
    widths: Sequence[int],
    chunk_sizes: Sequence[int],
    embedding_dims: Sequence[int],
    variants: Sequence[str] = tuple(VARIANTS),
    **train_options,
) -> dict[GridKey, StrategyResult]:
    """Train every distinct setting of the grid once; the result of each, by `grid_key`."""
    results: dict[GridKey, StrategyResult] = {}
    for width in widths:
        target = explorer_target(width)
        for variant in variants:
            for chunk_size in chunk_sizes:
                for embedding_dim in embedding_dims:
                    key = grid_key(variant, width, chunk_size, embedding_dim)
                    if key not in results:
                        results[key] = train_strategy(
                            target,
                            variant,
                            tasks,
                            chunk_size=chunk_size,
                            embedding_dim=embedding_dim,
                            **train_options,
                        )
    return results


@dataclass(frozen=True)
class ExplorerState:
    """What one setting shows: its result, weight matrices and every strategy's loss curve."""

    result: StrategyResult
    width: int
    matrices: dict[str, np.ndarray]  # target layer -> generated weight matrix (task 0)
    curves: dict[str, list[float]]  # variant -> loss curve at the same width and knobs


class StrategyExplorer(Dashboard):
    """Pick an output strategy, chunk size, embedding size and target width; see Θ, counts, loss."""

    title = "Strategy explorer"

    def __init__(
        self,
        tasks: TaskFamily,
        widths: Sequence[int] = (8, 16, 32),
        chunk_sizes: Sequence[int] = (16, 64, 256),
        embedding_dims: Sequence[int] = (2, 8),
        steps: int = 100,
        lr: float = 5e-3,
        hidden: int = 32,
        seed: int = 0,
        results: dict[GridKey, StrategyResult] | None = None,
    ) -> None:
        for name, values in [
            ("widths", widths),
            ("chunk_sizes", chunk_sizes),
            ("embedding_dims", embedding_dims),
        ]:
            if not values:
                raise ValueError(f"{name}={values!r} is empty; give at least one value")
            for value in values:
                check_positive_int(name, value)
        self.widths, self.chunk_sizes = tuple(widths), tuple(chunk_sizes)
        self.embedding_dims = tuple(embedding_dims)
        self.results = results or train_grid(
            tasks, widths, chunk_sizes, embedding_dims, steps=steps, lr=lr, hidden=hidden, seed=seed
        )
        controls = {
            "strategy": widgets.Dropdown(
                options=list(VARIANTS), value="chunk-wise", description="strategy"
            ),
            "chunk_size": widgets.IntText(
                value=_middle(self.chunk_sizes),
                description="chunk size",
                tooltip="trained: " + ", ".join(map(str, self.chunk_sizes)),
            ),
            "embedding_dim": widgets.SelectionSlider(
                options=self.embedding_dims,
                value=self.embedding_dims[-1],
                description="embedding",
            ),
            "width": widgets.SelectionSlider(
                options=self.widths, value=self.widths[-1], description="target width"
            ),
        }
        super().__init__(controls)

    # --- the cheap update path ---------------------------------------------------------------
    def compute(
        self, strategy: str, chunk_size: int, embedding_dim: int, width: int
    ) -> ExplorerState:
        check_choice("strategy", strategy, VARIANTS)
        check_positive_int("chunk_size", chunk_size)
        if uses_chunks(strategy) and chunk_size not in self.chunk_sizes:
            raise ValueError(
                f"chunk_size={chunk_size} was not trained; trained chunk sizes: "
                f"{', '.join(map(str, self.chunk_sizes))} (pass chunk_sizes=... to train others)"
            )
        result = self.result(strategy, width, chunk_size, embedding_dim)
        curves = {
            variant: self.result(variant, width, chunk_size, embedding_dim).loss
            for variant in VARIANTS
            if not uses_chunks(variant) or chunk_size in self.chunk_sizes
        }
        matrices = layer_matrices(explorer_target(width), result.theta[0])
        return ExplorerState(result, width, matrices, curves)

    def result(
        self, variant: str, width: int, chunk_size: int, embedding_dim: int
    ) -> StrategyResult:
        """The trained result of a setting, or a ValueError naming what was trained."""
        key = grid_key(variant, width, chunk_size, embedding_dim)
        if key not in self.results:
            raise ValueError(
                f"no trained result for {variant!r} with width={width}, chunk_size={chunk_size}, "
                f"embedding_dim={embedding_dim}; trained widths {self.widths}, chunk sizes "
                f"{self.chunk_sizes}, embedding sizes {self.embedding_dims}"
            )
        return self.results[key]

    def initial_figure(self) -> go.Figure:
        specs = [[{}] * NUM_LAYERS, [{"colspan": 2}, None, {}]]
        titles = [f"Θ of fc{i}" for i in range(NUM_LAYERS)] + ["training loss", "counts"]
        figure = make_subplots(
            2, NUM_LAYERS, specs=specs, subplot_titles=titles, vertical_spacing=0.16
        )
        top_row_colorbar = dict(len=0.42, y=1, yanchor="top", thickness=12)
        for col in range(1, NUM_LAYERS + 1):
            heatmap = go.Heatmap(
                colorscale="RdBu_r", showscale=col == NUM_LAYERS, colorbar=top_row_colorbar
            )
            figure.add_trace(heatmap, row=1, col=col)
            figure.update_yaxes(autorange="reversed", row=1, col=col)  # unit 0 on top
        figure.update_xaxes(showticklabels=False, row=1, col=1)  # fc0 has one input
        figure.update_yaxes(showticklabels=False, row=1, col=NUM_LAYERS)  # the output has one unit
        for variant in VARIANTS:
            figure.add_trace(go.Scatter(name=variant, mode="lines"), row=2, col=1)
        bars = go.Bar(  # named by their text, not by axis labels (which crowd the loss plot)
            orientation="h",
            y=list(range(len(COUNT_NAMES))),
            marker_color="#9fb6d9",
            showlegend=False,
            textposition="auto",
            insidetextanchor="start",
            cliponaxis=False,
        )
        figure.add_trace(bars, row=2, col=3)
        figure.update_yaxes(type="log", dtick=1, title_text="training loss", row=2, col=1)
        figure.update_xaxes(title_text="step", row=2, col=1)
        figure.update_xaxes(type="log", dtick=1, row=2, col=3)
        figure.update_yaxes(autorange="reversed", showticklabels=False, row=2, col=3)
        figure.update_layout(
            height=600,
            margin=dict(l=50, r=20, t=40, b=40),
            legend=dict(orientation="h", x=0, y=-0.12, font_size=10),
        )
        return figure

    def draw(self, state: ExplorerState) -> None:
        limit = max(float(np.abs(m).max()) for m in state.matrices.values()) or 1.0
        for i, (name, matrix) in enumerate(state.matrices.items()):
            self.figure.data[i].update(z=matrix, zmin=-limit, zmax=limit)
            rows, cols = matrix.shape
            self.figure.layout.annotations[i].text = f"Θ of {name} ({rows}×{cols})"
        chosen = state.result.variant
        for trace, variant in zip(self.figure.data[NUM_LAYERS:], VARIANTS, strict=False):
            curve = state.curves.get(variant, [])
            trace.update(
                y=curve,
                line_width=3 if variant == chosen else 1,
                opacity=1.0 if variant == chosen else 0.35,
            )
        counts = _counts(state.result)
        # A log axis cannot show 0: a zero count gets an empty bar (length 1) and its label.
        labels = [
            f"{n}: {c}" for n, c in zip(COUNT_NAMES, _count_labels(state.result), strict=True)
        ]
        self.figure.data[-1].update(x=[max(c, 1) for c in counts], text=labels)
        self.figure.update_xaxes(range=[0, math.log10(30 * max(counts))], row=2, col=3)
        self.figure.layout.annotations[
            NUM_LAYERS + 1
        ].text = f"counts: Θ/Φ = {state.result.report.compression_ratio:.3g}"

    # --- static picture and status -----------------------------------------------------------
    def draw_static(self, state: ExplorerState) -> Figure:
        figure = plt.figure(figsize=(10, 5.2), layout="constrained")
        grid = figure.add_gridspec(2, NUM_LAYERS)
        limit = max(float(np.abs(m).max()) for m in state.matrices.values()) or 1.0
        heatmaps = []
        for col, (name, matrix) in enumerate(state.matrices.items()):
            ax = figure.add_subplot(grid[0, col])
            image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
            ax.set_title(f"Θ of {name} ({matrix.shape[0]}×{matrix.shape[1]})", fontsize=9)
            ax.set(xlabel="input", ylabel="unit")
            if matrix.shape[0] == 1:
                ax.set_yticks([])
            if matrix.shape[1] == 1:
                ax.set_xticks([])
            heatmaps.append(ax)
        figure.colorbar(image, ax=heatmaps, shrink=0.8)
        ax = figure.add_subplot(grid[1, :2])
        for variant, curve in state.curves.items():
            chosen = variant == state.result.variant
            ax.plot(curve, label=variant, lw=2.5 if chosen else 1, alpha=1 if chosen else 0.4)
        ax.set(yscale="log", xlabel="step", ylabel="training loss")
        ax.legend(fontsize=8)
        ax = figure.add_subplot(grid[1, 2])
        counts = _counts(state.result)
        bars = ax.barh(COUNT_NAMES, [max(c, 1) for c in counts], color="#4c72b0")
        ax.bar_label(bars, labels=_count_labels(state.result), fontsize=8, padding=2)
        ax.set(xscale="log", xlim=(1, 30 * max(counts)))
        ax.set_title(f"counts: Θ/Φ = {state.result.report.compression_ratio:.3g}", fontsize=9)
        ax.invert_yaxis()
        return figure

    def describe(self, state: ExplorerState) -> str:
        r, rep = state.result, state.result.report
        knobs = ""
        if uses_chunks(r.variant):
            knobs += f", chunk {r.chunk_size}"
        if uses_embeddings(r.variant):
            knobs += f", embedding {r.embedding_dim}"
        return (
            f"{r.variant}{knobs}, width {state.width}: Φ = {rep.learnable:,}, "
            f"Θ = {rep.generated:,}, Θ/Φ = {rep.compression_ratio:.3g}, "
            f"unused {rep.unused_outputs:,}, loss {r.final_loss:.3g}"
        )


def _counts(result: StrategyResult) -> list[int]:
    rep = result.report
    return [
        rep.learnable,
        rep.generated,
        rep.last_layer,
        rep.unused_outputs,
        rep.extra_embeddings,
    ]


def _count_labels(result: StrategyResult) -> list[str]:
    return [f"{c:,}" for c in _counts(result)]


def _middle(values: Sequence[int]) -> int:
    return values[len(values) // 2]
