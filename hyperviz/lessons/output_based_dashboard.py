"""Notebook 03's pictures (survey §3.2): the strategy explorer, loss curves and scaling plots.

Training cannot fit in a widget update: the lesson code trains every setting of a grid once
(`train_grid` in `hyperviz.lessons.output_based`) and the explorer receives those results.
Moving a control then only looks a result up and redraws: the generated weights per target
layer, the counts of Table 1 and the loss curves of all strategies at that setting.
Below it, the notebook's static pictures and text tables (`plot_fits`, `plot_scaling`,
`format_comparison`, `format_fits`, `format_scaling`), drawn from results and counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure

from hyperviz.checks import check_choice, check_positive_int
from hyperviz.hypernetwork import GenerationReport
from hyperviz.lessons.output_based import (
    SHORT,
    VARIANTS,
    Comparison,
    GridKey,
    StrategyResult,
    explorer_target,
    grid_key,
    uses_chunks,
    uses_embeddings,
)
from hyperviz.tables import aligned
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import keyed, subplot_figure
from hyperviz.viz.panels import Losses, LossPanel, WeightMaps, WeightRow, losses_of, weight_maps
from hyperviz.viz.plots import layer_matrices

COUNT_NAMES = ("Φ learnable", "Θ generated", "last layer", "unused outputs", "embeddings")
BAR_COLOUR = "#9fb6d9"


@dataclass(frozen=True)
class ExplorerState:
    """What one setting shows: its result, weight maps and every strategy's loss curve."""

    result: StrategyResult
    width: int
    maps: WeightMaps  # the generated weight matrices of task 0, per target layer
    losses: Losses  # variant -> loss curve at the same width and knobs; the chosen one in front


class StrategyExplorer(Dashboard):
    """Pick an output strategy, chunk size, embedding size and target width; see Θ, counts, loss."""

    title = "Strategy explorer"

    def __init__(self, results: Mapping[GridKey, StrategyResult]) -> None:
        if not results:
            raise ValueError("results is empty; pass the result of train_grid(...)")
        self.results = dict(results)
        keys = list(self.results)
        self.variants = [v for v in VARIANTS if any(key[0] == v for key in keys)]
        self.widths = tuple(sorted({key[1] for key in keys}))
        self.chunk_sizes = tuple(sorted({key[2] for key in keys if key[2]}))
        self.embedding_dims = tuple(sorted({key[3] for key in keys if key[3]})) or (0,)
        self.targets = {width: explorer_target(width) for width in self.widths}
        layers = [layer.name for layer in self.targets[self.widths[0]].layers]
        top_colorbar = dict(len=0.42, y=1, yanchor="top", thickness=12)
        self.weights = WeightRow(layers, row=1, colorbar=top_colorbar)
        self.loss_panel = LossPanel(self.variants, row=2, col=1)
        controls = {
            "strategy": widgets.Dropdown(
                options=self.variants,
                value="chunk-wise" if "chunk-wise" in self.variants else self.variants[0],
                description="strategy",
            ),
            "chunk_size": widgets.IntText(
                value=_middle(self.chunk_sizes or (64,)),
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
        check_choice("strategy", strategy, self.variants)
        check_positive_int("chunk_size", chunk_size)
        if uses_chunks(strategy) and chunk_size not in self.chunk_sizes:
            raise ValueError(
                f"chunk_size={chunk_size} was not trained; trained chunk sizes: "
                f"{', '.join(map(str, self.chunk_sizes))} "
                "(train others with train_grid(..., chunk_sizes=...))"
            )
        result = self.result(strategy, width, chunk_size, embedding_dim)
        curves = {
            variant: self.results[key].loss
            for variant in self.variants
            if (key := grid_key(variant, width, chunk_size, embedding_dim)) in self.results
        }
        maps = weight_maps(layer_matrices(self.targets[width], result.theta[0]))
        return ExplorerState(result, width, maps, losses_of(curves, chosen=strategy))

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
        cols = len(self.weights.layers)
        specs = [[{}] * cols, [{"colspan": cols - 1}] + [None] * (cols - 2) + [{}]]
        titles = [*self.weights.keys, "loss", "counts"]
        figure = subplot_figure(2, cols, titles, specs=specs, vertical_spacing=0.16)
        self.weights.add(figure)
        self.loss_panel.add(figure)
        bars = go.Bar(  # named by their text, not by axis labels (which crowd the loss plot)
            orientation="h",
            marker_color=BAR_COLOUR,
            showlegend=False,
            textposition="auto",
            insidetextanchor="start",
            cliponaxis=False,
        )
        figure.add_trace(keyed(bars, "counts"), row=2, col=cols)
        figure.update_xaxes(type="log", dtick=1, row=2, col=cols)
        figure.update_yaxes(autorange="reversed", showticklabels=False, row=2, col=cols)
        figure.update_layout(
            height=600,
            margin=dict(l=50, r=20, t=40, b=40),
            legend=dict(orientation="h", x=0, y=-0.12, font_size=10),
        )
        return figure

    def draw(self, state: ExplorerState) -> None:
        self.weights.update(self.live, state.maps)
        self.loss_panel.update(self.live, state.losses)
        self.live.title("loss", "training loss (every strategy at this setting)")
        counts = _counts(state.result)
        # A log axis cannot show 0: a zero count gets an empty bar (length 1) and its label.
        self.live.show(
            "counts",
            x=[max(c, 1) for c in counts],
            y=list(range(len(COUNT_NAMES))),
            text=[f"{n}: {c:,}" for n, c in zip(COUNT_NAMES, counts, strict=True)],
        )
        cols = len(self.weights.layers)
        self.figure.update_xaxes(range=[0, math.log10(30 * max(counts))], row=2, col=cols)
        self.live.title("counts", _counts_title(state.result))

    # --- static picture and status -----------------------------------------------------------
    def draw_static(self, state: ExplorerState) -> Figure:
        cols = len(self.weights.layers)
        figure = plt.figure(figsize=(10, 5.2), layout="constrained")
        grid = figure.add_gridspec(2, cols)
        self.weights.draw([figure.add_subplot(grid[0, c]) for c in range(cols)], state.maps)
        ax = self.loss_panel.draw(figure.add_subplot(grid[1, : cols - 1]), state.losses)
        ax.set_title("training loss (every strategy at this setting)", fontsize=9)
        ax = figure.add_subplot(grid[1, cols - 1])
        counts = _counts(state.result)
        bars = ax.barh(COUNT_NAMES, [max(c, 1) for c in counts], color=BAR_COLOUR)
        ax.bar_label(bars, labels=[f"{c:,}" for c in counts], fontsize=8, padding=2)
        ax.set(xscale="log", xlim=(1, 30 * max(counts)))
        ax.set_title(_counts_title(state.result), fontsize=9)
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
    return [rep.learnable, rep.generated, rep.last_layer, rep.unused_outputs, rep.extra_embeddings]


def _counts_title(result: StrategyResult) -> str:
    return f"counts: Θ/Φ = {result.report.compression_ratio:.3g}"


def _middle(values: Sequence[int]) -> int:
    return values[len(values) // 2]


# --- static pictures and tables of the notebook ---------------------------------------------
def plot_fits(
    fits: Mapping[str, Sequence[StrategyResult]], mark: int = 100, baseline: float | None = None
) -> Figure:
    """Loss against steps (median of the last 20 steps): a colour per variant, a line per seed."""
    figure, ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
    for i, (variant, results) in enumerate(fits.items()):
        for k, result in enumerate(results):
            steps = np.arange(1, len(result.loss) + 1)
            smooth = [result.loss_at(int(s)) for s in steps]
            label = SHORT.get(variant, variant) if k == 0 else None
            ax.plot(steps, smooth, color=f"C{i}", lw=1.2, alpha=0.85, label=label)
    if baseline is not None:
        ax.axhline(baseline, color="grey", ls="--", lw=1, label="predicting 0")
    ax.axvline(mark, color="k", ls=":", lw=1)
    ax.annotate(
        f" step {mark}", (mark, 1), xycoords=("data", "axes fraction"), va="top", fontsize=8
    )
    seeds = len(next(iter(fits.values())))
    ax.set(yscale="log", xlabel="training step", ylabel="loss (median of last 20 steps)",
           title=f"every strategy from {seeds} seeds (one line per seed)")  # fmt: skip
    ax.legend(fontsize=8, ncol=3, loc="lower left")
    return figure


def format_comparison(cells: Sequence[Comparison]) -> str:
    """Table 1 row by row: the survey's entry, then the measured one with ✓ or ✗ (— unsaid)."""
    variants = list(dict.fromkeys(c.variant for c in cells))
    by = {(c.prop, c.variant): c for c in cells}
    marks, rows = {True: " ✓", False: " ✗", None: ""}, []
    for prop in dict.fromkeys(c.prop for c in cells):
        row = [by[prop, v] for v in variants]
        rows.append((prop, "survey", *(c.survey or "—" for c in row)))
        rows.append(("", "measured", *(c.measured + marks[c.holds] for c in row)))
    return aligned(("Table 1", "", *(SHORT.get(v, v) for v in variants)), rows)


def format_fits(fits: Mapping[str, Sequence[StrategyResult]], steps: Sequence[int]) -> str:
    """The loss of every seed at each of `steps`, one row per variant (fixed-width digits)."""
    seeds = " ".join(str(r.seed) for r in next(iter(fits.values())))
    headers = ("strategy", *(f"loss at step {s}, seeds {seeds}" for s in steps))
    rows = [(results[0].label, *(" ".join(f"{r.loss_at(s):.1e}" for r in results)
             for s in steps)) for results in fits.values()]  # fmt: skip
    return aligned(headers, rows)


def format_scaling(widths: Sequence[int], reports: dict[str, list[GenerationReport]]) -> str:
    """Last-layer size and Θ/Φ per variant (rows) and width (columns)."""
    headers = ["width", *(f"{w:,}" for w in widths)]
    rows = [["Θ of the target", *(f"{r.generated:,}" for r in next(iter(reports.values())))]]
    rows += [[f"{v}: last layer", *(f"{r.last_layer:,}" for r in rs)] for v, rs in reports.items()]
    rows += [
        [f"{v}: Θ/Φ", *(f"{r.compression_ratio:.3g}" for r in rs)] for v, rs in reports.items()
    ]
    return aligned(headers, rows)


def plot_scaling(widths: Sequence[int], reports: dict[str, list[GenerationReport]]) -> Figure:
    """Last-layer size and compression ratio Θ/Φ against the target width (log-log)."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    for variant, rows in reports.items():
        style = "o:" if variant == "multi-head" else "o-"  # it lies on one-shot's line
        left.plot(widths, [r.last_layer for r in rows], style, label=variant, ms=3)
        right.plot(widths, [r.compression_ratio for r in rows], style, label=variant, ms=3)
    generated = [r.generated for r in next(iter(reports.values()))]
    left.plot(widths, generated, "k--", lw=1, label="Θ of the target")
    right.axhline(1, color="k", lw=1, ls="--")
    left.set(xscale="log", yscale="log", xlabel="target width w", ylabel="numbers",
             title="size of the hypernet's last layer")  # fmt: skip
    right.set(xscale="log", yscale="log", xlabel="target width w", ylabel="Θ/Φ",
              title="compression ratio Θ/Φ")  # fmt: skip
    for ax in (left, right):
        ax.set_xticks(list(widths), [str(w) for w in widths])
        ax.minorticks_off()
    left.legend(fontsize=8)
    return figure
