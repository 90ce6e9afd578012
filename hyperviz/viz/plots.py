"""Matplotlib pictures used by the notebooks and by the dashboards' static snapshots."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hyperviz.targets import TargetNetwork


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
    matrices = layer_matrices(target, theta)
    if axes is None:
        _, axes = plt.subplots(1, len(matrices), figsize=(3 * len(matrices), 2.6))
    limit = max(float(np.abs(m).max()) for m in matrices.values()) or 1.0
    for ax, (name, m) in zip(axes, matrices.items(), strict=False):
        image = ax.imshow(m, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        ax.set_title(f"{title}{name} {m.shape[0]}×{m.shape[1]}", fontsize=9)
        ax.set_xlabel("input")
        ax.set_ylabel("unit")
    axes[-1].figure.colorbar(image, ax=list(axes), shrink=0.8)
    return axes[-1].figure


def loss_curves(
    curves: dict[str, Sequence[float]], ax: Axes | None = None, log: bool = True
) -> Axes:
    """Training losses by name, on a log scale by default."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    for name, values in curves.items():
        ax.plot(values, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


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
    if truth is not None:
        ax.plot(grid.flatten(), truth.flatten(), "k--", lw=1, label="truth")
    ax.scatter(x.flatten(), y.flatten(), s=12, c="k", label="training points")
    for name, pred in predictions.items():
        ax.plot(grid.flatten(), pred.detach().flatten(), label=name)
    ax.set_xlabel("x")
    ax.legend(fontsize=8)
    return ax
