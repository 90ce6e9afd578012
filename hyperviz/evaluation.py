"""Evaluation helpers shared by the notebooks: a dense input grid, predictions, curve errors.

Models are compared on a dense grid of inputs against the noise-free curves of their tasks:
`predict` runs every generated network of Θ on the grid, `curve_errors` scores them.
"""

from __future__ import annotations

import torch

from hyperviz.checks import as_tensor, check_positive_int
from hyperviz.data import sinusoid_curve
from hyperviz.targets import TargetNetwork


def dense_grid(num_points: int = 200, x_range: tuple[float, float] = (-5.0, 5.0)) -> torch.Tensor:
    """Evenly spaced inputs (num_points, 1) on which predictions meet the true curves."""
    check_positive_int("num_points", num_points)
    return torch.linspace(*x_range, num_points).unsqueeze(1)


@torch.no_grad()
def predict(target: TargetNetwork, theta: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Every network of Θ ((P,) or (S, P)) on the same grid (G, 1): predictions (S, G, 1)."""
    theta = as_tensor("theta", theta).detach()
    if theta.dim() == 0 or theta.shape[-1] != target.num_params:
        target.check_weights(theta)  # raises, naming the shapes a target takes
    return target(grid, theta.reshape(-1, target.num_params))


def curve_errors(
    predictions: torch.Tensor, params: torch.Tensor, grid: torch.Tensor
) -> torch.Tensor:
    """Per task: mean squared error of predictions (T, G, 1) against the true sinusoids (T,)."""
    truth = sinusoid_curve(params, grid)
    if predictions.shape != truth.shape:
        raise ValueError(
            f"predictions has shape {tuple(predictions.shape)}; {len(params)} tasks on a grid "
            f"of {len(grid)} points need {tuple(truth.shape)} (one prediction per task)"
        )
    return (predictions.detach() - truth).pow(2).mean(dim=(1, 2))
