"""Notebook 09's dashboard (survey §4, domain adaptation): turn the digits, see which head copes.

It receives trained results (`domain_adaptation.run_experiment`) and only looks them up. The
knob is the domain: the angle the digits are turned by, source and held-out angles alike.
It shows every method's accuracy across angles, how the heads generated for other angles do
on this one, the digits of this domain, the head the hypernet wrote for it and the accuracy
per digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hyperviz.domains import Domains
from hyperviz.lessons.domain_adaptation import CLASSES, METHODS, DomainResult
from hyperviz.viz.dashboard import Dashboard
from hyperviz.viz.live import keyed, subplot_figure
from hyperviz.viz.panels import PALETTE, WeightMaps, WeightRow, as_array, weight_maps
from hyperviz.viz.plots import layer_matrices

COLOURS = dict(zip(METHODS, PALETTE, strict=False))
GAP = 0.15  # the grey of the lines between two digits
TITLES = ("accuracy", "cross", "classes", "digits", "Θ fc0")  # subplots, row by row


def digit_grid(images: np.ndarray, rows: int = 2) -> np.ndarray:
    """Images (n, h, w) in `rows` rows, a light-grey line between two: one 2-D picture."""
    n, h, w = images.shape
    cols = -(-n // rows)
    padded = np.full((rows * cols, h + 1, w + 1), GAP)
    padded[:n, :h, :w] = images
    tiles = padded.reshape(rows, cols, h + 1, w + 1).transpose(0, 2, 1, 3)
    return tiles.reshape(rows * (h + 1), cols * (w + 1))[:-1, :-1]


@dataclass(frozen=True)
class DomainState:
    """What one (angle, seed) shows."""

    angle: int
    index: int  # of the angle among the domains
    seed: int
    held_out: bool
    curves: dict[str, np.ndarray]  # method -> accuracy on every domain (A,)
    cross: np.ndarray  # (A,) accuracy here of the head generated for each domain
    digits: np.ndarray  # this domain's digits, one of each class, as one picture
    maps: WeightMaps  # the generated head (10 classes × features)
    per_class: dict[str, np.ndarray]  # method -> (10,) accuracy per digit here

    @property
    def here(self) -> dict[str, float]:
        """Each method's accuracy on this domain."""
        return {method: float(curve[self.index]) for method, curve in self.curves.items()}


class DomainDashboard(Dashboard):
    """Pick a domain (an angle) and a seed: accuracies, neighbouring heads, digits, the head."""

    title = "Domain adaptation"

    def __init__(self, result: DomainResult, angle: int = 45) -> None:
        self.result = result
        self.angles = [int(a) for a in result.angles]
        self.x = np.asarray(self.angles, dtype=float)
        self.source = result.source.numpy()
        self.symbols = np.where(self.source, "triangle-up", "circle").tolist()
        heads = [layer_matrices(result.head_target, h) for h in result.heads.flatten(0, 1)]
        # One colour scale for every head; the few largest weights (1%) saturate it.
        self.limit = float(np.quantile(np.abs(np.stack([m["fc0"] for m in heads])), 0.99))
        self.weights = WeightRow(
            ["fc0"], row=3, col=2, colorbar=dict(thickness=10, len=0.26, y=0.13, x=1.01)
        )
        step = self.angles[1] - self.angles[0] if len(self.angles) > 1 else 1
        controls = {
            "angle": widgets.IntSlider(
                value=angle,
                min=min(self.angles),
                max=max(self.angles),
                step=step,
                description="domain: digits turned by (°)",
            ),
            "seed": widgets.Dropdown(options=list(result.seeds), description="seed"),
        }
        super().__init__(controls)

    # --- the figure -----------------------------------------------------------------------
    def initial_figure(self) -> go.Figure:
        specs = [[{"colspan": 2}, None], [{}, {}], [{}, {}]]
        figure = subplot_figure(
            3, 2, TITLES, specs=specs, row_heights=[0.36, 0.32, 0.32], vertical_spacing=0.1
        )
        for method in METHODS:
            line = go.Scatter(mode="lines+markers", line_color=COLOURS[method], marker_size=7)
            figure.add_trace(keyed(line, method), row=1, col=1)
        here = go.Scatter(mode="lines", line=dict(color="black", dash="dot", width=1))
        figure.add_trace(keyed(here, "here", "this domain"), row=1, col=1)
        cross = go.Scatter(mode="lines+markers", line_color=COLOURS[METHODS[0]], marker_size=4)
        figure.add_trace(keyed(cross, "cross", "head generated for another domain"), row=2, col=1)
        shared = go.Scatter(mode="lines", line=dict(color=COLOURS[METHODS[1]], dash="dash"))
        figure.add_trace(keyed(shared, "cross shared", "shared head, this domain"), row=2, col=1)
        own = go.Scatter(mode="markers", marker=dict(size=11, color=COLOURS[METHODS[0]]))
        figure.add_trace(keyed(own, "cross own", "head generated for this domain"), row=2, col=1)
        for method in METHODS:
            bars = go.Bar(marker_color=COLOURS[method], showlegend=False)
            figure.add_trace(keyed(bars, f"classes {method}", f"{method}, per digit"), row=2, col=2)
        digits = go.Heatmap(colorscale="Greys", zmin=0, zmax=1, showscale=False)
        figure.add_trace(keyed(digits, "digits", "digits of this domain"), row=3, col=1)
        self.weights.add(figure)
        for row, col, dtick in ((1, 1, 45), (2, 1, 90)):
            figure.update_xaxes(title_text="domain: digits turned by (°)", dtick=dtick, row=row,
                                col=col)  # fmt: skip
            figure.update_yaxes(title_text="test accuracy", range=[0, 1.02], row=row, col=col)
        figure.update_xaxes(title_text="digit", dtick=1, row=2, col=2)
        figure.update_yaxes(range=[0, 1.02], row=2, col=2)
        figure.update_xaxes(showticklabels=False, row=3, col=1)
        figure.update_yaxes(autorange="reversed", showticklabels=False, row=3, col=1)
        figure.update_xaxes(title_text="trunk feature", row=3, col=2)
        figure.update_yaxes(title_text="digit (class)", row=3, col=2)
        figure.update_annotations(font_size=12)  # the subplot titles
        figure.update_layout(
            height=860,
            barmode="group",
            margin=dict(l=50, r=20, t=40, b=40),
            legend=dict(orientation="h", x=0, y=-0.09, font_size=10),
        )
        return figure

    # --- look-up ----------------------------------------------------------------------------
    def compute(self, angle: int, seed: int) -> DomainState:
        if angle not in self.angles:
            raise ValueError(
                f"angle={angle} is not a domain of this experiment; domains: "
                f"{', '.join(map(str, self.angles))}"
            )
        r, i, k = self.result, self.angles.index(angle), self.result.seeds.index(seed)
        matrices = layer_matrices(r.head_target, r.heads[k, i])
        held = " (held out)" if not self.source[i] else " (a source domain)"
        return DomainState(
            angle=angle,
            index=i,
            seed=seed,
            held_out=not self.source[i],
            curves={m: as_array(r.accuracy[m][k]) for m in METHODS},
            cross=as_array(r.cross[k, i]),
            digits=digit_grid(as_array(r.examples[i])),
            maps=weight_maps(matrices, self.limit, f"head for {angle}°{held}: "),
            per_class={m: as_array(r.class_accuracy[m][k, i]) for m in METHODS},
        )

    # --- drawing ------------------------------------------------------------------------------
    def draw(self, state: DomainState) -> None:
        live, x = self.live, self.x
        for method in METHODS:  # a source domain's point is a triangle, a held-out one a dot
            live.show(method, x=x, y=state.curves[method], marker_symbol=self.symbols)
        live.show("here", x=[state.angle, state.angle], y=[0, 1])
        live.show("cross", x=x, y=state.cross)
        shared = state.here[METHODS[1]]
        live.show("cross shared", x=[x[0], x[-1]], y=[shared, shared])
        live.show("cross own", x=[state.angle], y=[state.cross[state.index]])
        live.show("digits", z=state.digits)
        self.weights.update(live, state.maps)
        digits = np.arange(CLASSES)
        for method in METHODS:
            live.show(f"classes {method}", x=digits, y=state.per_class[method])
        for key, text in self._titles(state).items():
            live.title(key, text)

    def _titles(self, state: DomainState) -> dict[str, str]:
        return {
            "accuracy": f"seed {state.seed}: accuracy on every domain (▲ source, ● held out)",
            "cross": f"heads generated for each domain, used on {state.angle}°",
            "digits": f"{state.angle}°: a test digit of each class",
            "classes": f"accuracy per digit at {state.angle}° (colours as above)",
        }

    def draw_static(self, state: DomainState) -> Figure:
        figure = plt.figure(figsize=(10, 9.5), layout="constrained")
        grid = figure.add_gridspec(3, 2, height_ratios=[0.36, 0.32, 0.32])
        titles = self._titles(state)
        ax = figure.add_subplot(grid[0, :])
        for method in METHODS:
            colour, curve = COLOURS[method], state.curves[method]
            ax.plot(self.x, curve, "-", color=colour, label=method)
            ax.plot(self.x[self.source], curve[self.source], "^", color=colour, ms=5)
            ax.plot(self.x[~self.source], curve[~self.source], "o", color=colour, ms=4)
        ax.axvline(state.angle, color="black", ls=":", lw=1, label="this domain")
        _angle_axes(ax, titles["accuracy"], step=45)
        ax.legend(fontsize=8, loc="lower center", ncols=4)
        ax = figure.add_subplot(grid[1, 0])
        ax.plot(self.x, state.cross, ".-", color=COLOURS[METHODS[0]],
                label="head generated for another domain")  # fmt: skip
        ax.axhline(state.here[METHODS[1]], color=COLOURS[METHODS[1]], ls="--",
                   label="shared head, this domain")  # fmt: skip
        ax.plot([state.angle], [state.cross[state.index]], "o", ms=8, color=COLOURS[METHODS[0]],
                label="head generated for this domain")  # fmt: skip
        _angle_axes(ax, titles["cross"], step=90)
        ax.legend(fontsize=7, loc="upper right")
        ax = figure.add_subplot(grid[1, 1])
        width = 0.8 / len(METHODS)
        for j, method in enumerate(METHODS):
            offsets = np.arange(CLASSES) + (j - 1) * width
            ax.bar(offsets, state.per_class[method], width, color=COLOURS[method], label=method)
        ax.set(xticks=range(CLASSES), ylim=(0, 1.02), xlabel="digit")
        ax.set_title(titles["classes"], fontsize=9)
        ax = figure.add_subplot(grid[2, 0])
        ax.imshow(state.digits, cmap="Greys", vmin=0, vmax=1)
        ax.set_title(titles["digits"], fontsize=9)
        ax.set_axis_off()
        ax = figure.add_subplot(grid[2, 1])
        self.weights.draw([ax], state.maps)
        ax.set(xlabel="trunk feature", ylabel="digit (class)")
        return figure

    def describe(self, state: DomainState) -> str:
        where = "held out" if state.held_out else "a source domain"
        scores = ", ".join(f"{m} {100 * v:.0f}%" for m, v in state.here.items())
        return f"digits turned by {state.angle}° ({where}), seed {state.seed}: {scores}"


def plot_domains(
    domains: Domains,
    source_angles: Sequence[int],
    angles: Sequence[int] = tuple(range(0, 360, 45)),
    digits: Sequence[int] = (4, 6, 9),
) -> Figure:
    """A few test digits (rows) turned by a few angles (columns), source or held out."""
    x, y = domains.x_test, domains.y_test
    first = [int((y == digit).nonzero()[0]) for digit in digits]
    columns = [domains.angles.index(angle) for angle in angles]
    images = x[columns][:, first].transpose(0, 1).reshape(-1, 8, 8)  # row by row
    figure, ax = plt.subplots(figsize=(1.0 * len(angles), 1.1 * len(digits) + 0.5))
    ax.imshow(digit_grid(as_array(images), rows=len(digits)), cmap="Greys", vmin=0, vmax=1)
    where = ["source" if angle in source_angles else "held out" for angle in angles]
    ax.set_xticks([9 * i + 3.5 for i in range(len(angles))])
    ax.set_xticklabels([f"{a}°\n{w}" for a, w in zip(angles, where, strict=True)], fontsize=8)
    ax.set_yticks([9 * i + 3.5 for i in range(len(digits))])
    ax.set_yticklabels([f"a {digit}" for digit in digits], fontsize=8)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    figure.tight_layout()
    return figure


def _angle_axes(ax: Axes, title: str, step: int) -> None:
    ax.set(xlabel="domain: digits turned by (°)", ylabel="test accuracy", ylim=(0, 1.02))
    ax.set_xticks(range(0, 360, step))
    ax.set_title(title, fontsize=9)
