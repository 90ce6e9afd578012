"""Notebook 00's dashboard (survey §3.2, chunk-wise): how a flat Θ splits into chunks.

It is the first widget of the course: one number to type, a status line, a figure, and an
error message instead of a traceback when the number is not allowed.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import plotly.graph_objects as go
from matplotlib.figure import Figure

from hyperviz.chunk_layout import ChunkLayout, chunk_layout
from hyperviz.targets import TargetNetwork
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import keyed
from hyperviz.viz.panels import PALETTE


class ChunkLayoutViewer(Dashboard):
    """Type a chunk size; see the chunks laid over the target's layers."""

    title = "Chunk layout"

    def __init__(self, target: TargetNetwork, chunk_size: int = 256) -> None:
        self.target = target
        box = widgets.IntText(value=chunk_size, description="chunk size")
        super().__init__({"chunk_size": box})

    def initial_figure(self) -> go.Figure:
        figure = go.Figure()
        for name in ("layers", "chunks", "unused"):
            figure.add_trace(keyed(go.Bar(orientation="h"), name))
        figure.update_layout(
            barmode="overlay",
            height=220,
            margin=dict(l=60, r=20, t=30, b=40),
            xaxis_title="position in the flat Θ",
        )
        return figure

    def compute(self, chunk_size: int) -> ChunkLayout:
        return chunk_layout(self.target, chunk_size)

    def draw(self, state: ChunkLayout) -> None:
        self.live.show(
            "layers",
            y=["layers"] * len(state.layers),
            base=[s for _, s, _ in state.layers],
            x=[n for _, _, n in state.layers],
            text=[name for name, _, _ in state.layers],
            marker_color=[_colour(i) for i in range(len(state.layers))],
        )
        self.live.show(
            "chunks",
            y=["chunks"] * len(state.chunks),
            base=[s for s, _ in state.chunks],
            x=[n for _, n in state.chunks],
            marker_color=[_colour(i + 3) for i in range(len(state.chunks))],
            marker_line_width=1,
        )
        self.live.show(
            "unused",
            y=["chunks"],
            base=[self.target.num_params],
            x=[state.unused],
            marker_color="lightgrey",
        )

    def draw_static(self, state: ChunkLayout) -> Figure:
        figure, ax = plt.subplots(figsize=(9, 2.2), layout="constrained")
        for i, (name, start, size) in enumerate(state.layers):
            ax.barh("layers", size, left=start, color=_colour(i), edgecolor="white")
            ax.text(start + size / 2, 0, name, ha="center", va="center", fontsize=8)
        for i, (start, size) in enumerate(state.chunks):
            ax.barh("chunks", size, left=start, color=_colour(i + 3), edgecolor="white")
        ax.barh("chunks", state.unused, left=self.target.num_params, color="lightgrey")
        ax.set_xlabel("position in the flat Θ")
        return figure

    def describe(self, state: ChunkLayout) -> str:
        return (
            f"chunk size {state.chunk_size}: {len(state.chunks)} chunks cover "
            f"{self.target.num_params:,} weights, {state.unused:,} generated outputs unused"
        )


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]
