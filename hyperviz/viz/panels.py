"""The panels the dashboards share: weight heatmaps, a fit, loss curves; live and matplotlib.

Each panel is a small layout object (`WeightRow`, `FitPanel`, `LossPanel`) with three forms
drawn from one data object (`WeightMaps`, `Fit`, `Losses`):

- `add(figure)` puts its keyed, empty traces into a plotly subplot when the figure is built;
- `update(live, data)` sets every array of every trace it shows (a `LiveFigure` draw);
- `draw(ax, data)` draws the same data with matplotlib (the static twin).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from matplotlib.axes import Axes

from hyperviz.viz.live import LiveFigure, keyed

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3")
WEIGHT_COLOURS = ("RdBu_r", "RdBu_r")  # plotly colorscale, matplotlib colormap
CHOSEN, OTHER = (3.0, 1.0), (1.0, 0.35)  # (line width, opacity) of a loss curve
PLAIN = (1.5, 1.0)  # every curve when none is chosen


def as_array(values: Any) -> np.ndarray:
    """A float numpy array of a tensor or array-like (detached from autograd)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def as_curve(values: Any) -> np.ndarray:
    """A 1-D float numpy array: a curve on a grid, or a set of points."""
    return as_array(values).reshape(-1)


def symmetric_limit(matrices: Iterable[Any] | Mapping[str, Any]) -> float:
    """The colour limit L of a symmetric scale [-L, L]: the largest |value|; 1.0 when all are 0."""
    if isinstance(matrices, Mapping):
        matrices = matrices.values()
    largest = max((float(np.abs(as_array(m)).max()) for m in matrices if np.size(m)), default=0.0)
    return largest or 1.0


# --- weight heatmaps -----------------------------------------------------------------------
@dataclass(frozen=True)
class WeightMaps:
    """Weight matrices (units × fan_in) by layer name, on one colour scale [-limit, limit]."""

    matrices: dict[str, np.ndarray]
    limit: float
    label: str = ""  # title prefix, e.g. "DNN: "

    def title(self, layer: str) -> str:
        rows, cols = self.matrices[layer].shape
        return f"{self.label}Θ of {layer} ({rows}×{cols})"


def weight_maps(
    matrices: Mapping[str, Any], limit: float | None = None, label: str = ""
) -> WeightMaps:
    """`WeightMaps` of 2-D arrays or tensors; the limit is `symmetric_limit` unless given."""
    arrays = {name: as_array(m) for name, m in matrices.items()}
    return WeightMaps(arrays, symmetric_limit(arrays) if limit is None else limit, label)


class WeightRow:
    """One heatmap per target layer, side by side in a subplot row, on one symmetric scale."""

    def __init__(
        self,
        layers: Sequence[str],
        row: int = 1,
        col: int = 1,
        key: str = "Θ",
        colorbar: dict | None = None,
    ) -> None:
        self.layers, self.row, self.col, self.key = list(layers), row, col, key
        self.colorbar = colorbar  # None: no colour bar; else carried by the first heatmap

    @property
    def keys(self) -> list[str]:
        """Trace keys, one per layer slot; each also names that subplot's title."""
        return [f"{self.key} {layer}" for layer in self.layers]

    def add(self, figure: go.Figure) -> None:
        """Add one empty heatmap per layer slot (and its reversed y axis) to `figure`."""
        for i, key in enumerate(self.keys):
            # The first slot always shows a layer (the last may be hidden for a shallow target),
            # so its heatmap carries the row's colour bar; where the bar sits is set in `colorbar`.
            scale = self.colorbar is not None and i == 0
            heatmap = go.Heatmap(colorscale=WEIGHT_COLOURS[0], showscale=scale)
            if scale:
                heatmap.colorbar = self.colorbar
            figure.add_trace(keyed(heatmap, key), row=self.row, col=self.col + i)
            figure.update_yaxes(autorange="reversed", row=self.row, col=self.col + i)  # unit 0 up

    def update(self, live: LiveFigure, maps: WeightMaps) -> None:
        """Set z and the colour range of each slot with a matrix, its title; hide the others."""
        unknown = sorted(set(maps.matrices) - set(self.layers))
        if unknown:
            raise ValueError(f"layers {unknown} have no heatmap; this row shows {self.layers}")
        for layer, key in zip(self.layers, self.keys, strict=True):
            if layer in maps.matrices:
                live.show(key, z=maps.matrices[layer], zmin=-maps.limit, zmax=maps.limit)
                live.title(key, maps.title(layer))
            else:
                live.hide(key)
                live.title(key, "")
            live.axes_visible(key, layer in maps.matrices)  # no empty grid for a hidden slot

    def draw(self, axes: Sequence[Axes], maps: WeightMaps, colorbar: bool = True) -> None:
        """One heatmap per axes (in layer order); axes beyond the matrices are hidden."""
        image, used = None, []
        for ax, (layer, matrix) in zip(axes, maps.matrices.items(), strict=False):
            cmap = WEIGHT_COLOURS[1]
            image = ax.imshow(matrix, cmap=cmap, vmin=-maps.limit, vmax=maps.limit, aspect="auto")
            ax.set_title(maps.title(layer), fontsize=9)
            ax.set_xlabel("input", fontsize=8)
            ax.set_ylabel("unit", fontsize=8)
            if matrix.shape[0] == 1:
                ax.set_yticks([])
            if matrix.shape[1] == 1:
                ax.set_xticks([])
            used.append(ax)
        for ax in list(axes)[len(used) :]:
            ax.set_visible(False)
        if colorbar and image is not None:
            used[-1].figure.colorbar(image, ax=used, shrink=0.8)


# --- a fit: points, true curve, predictions, band ------------------------------------------
@dataclass(frozen=True)
class Curve:
    """One prediction on the grid, its legend label and (optionally) its colour."""

    y: np.ndarray
    label: str
    colour: str | None = None


@dataclass(frozen=True)
class Fit:
    """Points, the true curve and predictions (by panel slot) on a 1-D grid, and a band."""

    grid: np.ndarray
    points: tuple[np.ndarray, np.ndarray]
    predictions: dict[str, Curve] = field(default_factory=dict)  # slot key -> curve
    truth: np.ndarray | None = None
    band: tuple[np.ndarray, np.ndarray] | None = None  # low, high


class FitPanel:
    """Data points, the true curve, predictions in named slots and an optional band."""

    def __init__(
        self,
        slots: Sequence[str] = ("prediction",),
        row: int = 1,
        col: int = 1,
        points_label: str = "training points",
        band_label: str | None = None,
        y_range: tuple[float, float] | None = None,
        colours: Mapping[str, str] | None = None,
    ) -> None:
        self.slots, self.row, self.col = list(slots), row, col
        self.points_label, self.band_label, self.y_range = points_label, band_label, y_range
        colours = colours or {}
        self.colours = {
            s: colours.get(s, PALETTE[i % len(PALETTE)]) for i, s in enumerate(self.slots)
        }

    @property
    def keys(self) -> list[str]:
        band = ["band low", "band"] if self.band_label else []
        return [*band, "truth", "points", *self.slots]

    def add(self, figure: go.Figure) -> None:
        """Add the empty band, truth, points and prediction traces to `figure`."""
        traces = []
        if self.band_label:
            low = go.Scatter(mode="lines", line_width=0, showlegend=False, hoverinfo="skip")
            high = go.Scatter(mode="lines", line_width=0, fill="tonexty")
            high.fillcolor = "rgba(76, 114, 176, 0.2)"
            traces += [keyed(low, "band low"), keyed(high, "band", self.band_label)]
        truth = go.Scatter(mode="lines", line=dict(color="black", dash="dash", width=1))
        points = go.Scatter(mode="markers", marker=dict(color="black", size=6))
        traces += [keyed(truth, "truth"), keyed(points, "points", self.points_label)]
        traces += [keyed(go.Scatter(mode="lines"), slot) for slot in self.slots]
        for trace in traces:
            figure.add_trace(trace, row=self.row, col=self.col)
        if self.y_range:
            figure.update_yaxes(range=list(self.y_range), row=self.row, col=self.col)

    def update(self, live: LiveFigure, fit: Fit) -> None:
        """Set x and y of everything the fit shows; hide the band or slots it does not have."""
        unknown = sorted(set(fit.predictions) - set(self.slots))
        if unknown or (fit.band is not None and not self.band_label):
            raise ValueError(f"predictions {unknown} or a band have no trace in this fit panel")
        if self.band_label and fit.band is not None:
            live.show("band low", x=fit.grid, y=fit.band[0])
            live.show("band", x=fit.grid, y=fit.band[1])
        elif self.band_label:
            live.hide("band low")
            live.hide("band")
        if fit.truth is not None:
            live.show("truth", x=fit.grid, y=fit.truth)
        else:
            live.hide("truth")
        live.show("points", x=fit.points[0], y=fit.points[1])
        for slot in self.slots:
            curve = fit.predictions.get(slot)
            if curve is None:
                live.hide(slot)
                continue
            colour = curve.colour or self.colours[slot]
            live.show(slot, x=fit.grid, y=curve.y, name=curve.label, line_color=colour)

    def draw(self, ax: Axes, fit: Fit, legend: bool = True) -> Axes:
        """The same fit with matplotlib."""
        if fit.band is not None:
            ax.fill_between(fit.grid, *fit.band, color=PALETTE[0], alpha=0.2, label=self.band_label)
        if fit.truth is not None:
            ax.plot(fit.grid, fit.truth, "k--", lw=1, label="truth")
        ax.scatter(*fit.points, s=14, c="k", zorder=3, label=self.points_label)
        for slot in self.slots:
            if slot in fit.predictions:
                curve = fit.predictions[slot]
                ax.plot(
                    fit.grid, curve.y, color=curve.colour or self.colours[slot], label=curve.label
                )
        if self.y_range:
            ax.set_ylim(*self.y_range)
        ax.set_xlabel("x")
        if legend:
            ax.legend(fontsize=7, loc="upper left")
        return ax


# --- loss curves ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Losses:
    """Loss per step by run; the chosen run drawn in front; an optional marker at one step."""

    curves: dict[str, np.ndarray]
    chosen: str | None = None
    step: int | None = None


class LossPanel:
    """Training losses of several runs (log scale), the chosen one highlighted."""

    def __init__(
        self,
        runs: Sequence[str],
        row: int = 1,
        col: int = 1,
        colours: Mapping[str, str] | None = None,
        marker: bool = False,
        log: bool = True,
    ) -> None:
        self.runs, self.row, self.col, self.marker, self.log = list(runs), row, col, marker, log
        colours = colours or {}
        self.colours = {
            r: colours.get(r, PALETTE[i % len(PALETTE)]) for i, r in enumerate(self.runs)
        }

    @property
    def keys(self) -> list[str]:
        return [*self.runs, "step"] if self.marker else list(self.runs)

    def add(self, figure: go.Figure) -> None:
        """Add one empty line per run (and the step marker) to `figure`, on a log y axis."""
        for run in self.runs:
            line = go.Scatter(mode="lines", line_color=self.colours[run])
            figure.add_trace(keyed(line, run), row=self.row, col=self.col)
        if self.marker:
            dots = go.Scatter(mode="markers", marker=dict(size=10, color="black"))
            figure.add_trace(keyed(dots, "step"), row=self.row, col=self.col)
        figure.update_yaxes(type="log" if self.log else "linear", row=self.row, col=self.col)
        figure.update_yaxes(title_text="training loss", row=self.row, col=self.col)
        figure.update_xaxes(title_text="step", row=self.row, col=self.col)

    def _style(self, losses: Losses, run: str) -> tuple[float, float]:
        if losses.chosen is None:
            return PLAIN
        return CHOSEN if run == losses.chosen else OTHER

    def update(self, live: LiveFigure, losses: Losses) -> None:
        """Set x and y of every run's curve, its width and opacity, and the step marker."""
        unknown = sorted(set(losses.curves) - set(self.runs))
        if unknown:
            raise ValueError(f"runs {unknown} have no trace; this panel shows {self.runs}")
        for run in self.runs:
            if run not in losses.curves:
                live.hide(run)
                continue
            curve = losses.curves[run]
            width, opacity = self._style(losses, run)
            x = np.arange(len(curve))
            live.show(run, x=x, y=curve, line_width=width, opacity=opacity)
        if self.marker and losses.step is not None:
            values = [curve[losses.step] for curve in losses.curves.values()]
            live.show("step", x=np.full(len(values), losses.step), y=np.asarray(values))
        elif self.marker:
            live.hide("step")

    def draw(self, ax: Axes, losses: Losses) -> Axes:
        """The same curves with matplotlib."""
        for run in self.runs:
            if run in losses.curves:
                width, opacity = self._style(losses, run)
                curve = losses.curves[run]
                ax.plot(curve, color=self.colours[run], lw=width, alpha=opacity, label=run)
        if losses.step is not None:
            values = [curve[losses.step] for curve in losses.curves.values()]
            ax.scatter([losses.step] * len(values), values, c="k", zorder=3)
        if self.log:
            ax.set_yscale("log")
        ax.set(xlabel="step", ylabel="training loss")
        ax.legend(fontsize=8)
        return ax


def losses_of(
    curves: Mapping[str, Sequence[float]], chosen: str | None = None, step: int | None = None
) -> Losses:
    """`Losses` from lists or tensors of loss values by run."""
    return Losses({run: as_curve(c) for run, c in curves.items()}, chosen, step)
