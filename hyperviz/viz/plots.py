"""Matplotlib pictures used by the notebooks, drawn with the dashboards' shared panels."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hyperviz.targets import TargetNetwork
from hyperviz.viz.panels import Curve, Fit, FitPanel, LossPanel, WeightRow, as_curve, losses_of
from hyperviz.viz.panels import weight_maps as make_weight_maps


def layer_matrices(target: TargetNetwork, theta: torch.Tensor) -> dict[str, np.ndarray]:
    """Each layer's weight as a 2-D array (out, fan_in); Θ has shape (P,) or (1, P)."""
    theta = theta.detach().reshape(-1, target.num_params)[0]
    params = target.unflatten(theta)
    return {
        layer.name: params[f"{layer.name}.weight"].reshape(layer.units, -1).numpy()
        for layer in target.layers
    }


def weight_heatmaps(
    target: TargetNetwork, theta: torch.Tensor, axes: Sequence[Axes] | None = None, title: str = ""
) -> Figure:
    """One heatmap per target layer, on a shared symmetric colour scale."""
    maps = make_weight_maps(layer_matrices(target, theta), label=title)
    if axes is None:
        _, axes = plt.subplots(1, len(maps.matrices), figsize=(3 * len(maps.matrices), 2.6))
    axes = list(np.atleast_1d(axes))
    WeightRow(list(maps.matrices)).draw(axes, maps)
    return axes[0].figure


def loss_curves(
    curves: dict[str, Sequence[float]], ax: Axes | None = None, log: bool = True
) -> Axes:
    """Training losses by name, on a log scale by default."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    return LossPanel(list(curves), log=log).draw(ax, losses_of(curves))


def regression_fits(
    x: torch.Tensor,
    y: torch.Tensor,
    grid: torch.Tensor,
    predictions: dict[str, torch.Tensor],
    truth: torch.Tensor | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Training points, the true curve and each model's prediction on a 1-D grid."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    fit = Fit(
        as_curve(grid),
        (as_curve(x), as_curve(y)),
        {name: Curve(as_curve(p), name) for name, p in predictions.items()},
        None if truth is None else as_curve(truth),
    )
    return FitPanel(list(predictions)).draw(ax, fit, legend=True)


def show_figure(figure: Figure, alt: str) -> None:
    """Show a matplotlib figure in the notebook with alt text, then close it.

    The alt text rides in the PNG's output metadata (IPython's convention, which nbconvert and
    screen-reader-aware front ends read); nbval compares neither the picture nor its metadata.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"alt must say what the picture shows, got {alt!r}")
    display(figure, metadata={"image/png": {"alt": alt}})
    plt.close(figure)


def show_plot(alt: str) -> None:
    """`plt.show()` with alt text: show the current matplotlib figure, saying what it shows."""
    show_figure(plt.gcf(), alt)
