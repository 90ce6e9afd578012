"""Notebook 02, input-based hypernets (survey §3.1): what each conditioning buys, on sinusoids.

- Task-conditioned: one hypernet serves several tasks (soft weight sharing); its baseline is
  `SeparateDNNs`, one independent DNN per task, all trained in one vectorised call.
- Data-conditioned: `train_on_fresh_tasks` samples new tasks every step, so the encoder must
  turn a task's few examples into weights for a task it has never seen.
- Noise-conditioned: `train_noise_conditioned` fits S generated nets by maximum likelihood,
  optionally plus `kl_to_prior` (a mean-field stand-in for a Bayesian hypernet's KL term);
  `spread_summary` measures how much the generated nets disagree, and whether that is honest.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from hyperviz.checks import check_finite, check_positive_int
from hyperviz.data import sinusoid_curve, sinusoid_tasks
from hyperviz.evaluation import predict
from hyperviz.init import target_variances
from hyperviz.targets import TargetNetwork
from hyperviz.training import History, prediction_loss, train


class SeparateDNNs(nn.Module):
    """S independent DNNs of one target: Θ is an (S, P) leaf, each row Kaiming-initialised.

    Row s only ever meets the data of net s, so nothing is shared; with Adam, training all S
    together on x of shape (S, N, d) equals training each alone (Adam ignores the 1/S scale).
    """

    def __init__(self, target: TargetNetwork, num_nets: int, seed: int = 0) -> None:
        super().__init__()
        check_positive_int("num_nets", num_nets)
        self.target = target
        generator = torch.Generator().manual_seed(seed)
        rows = [target.kaiming_weights(generator) for _ in range(num_nets)]
        self.theta = nn.Parameter(torch.stack(rows))

    @property
    def num_nets(self) -> int:
        return self.theta.shape[0]

    def weights(self, context=None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Θ itself, shape (S, P); the context is ignored."""
        return self.theta

    def forward(self, x: torch.Tensor, context=None) -> torch.Tensor:
        return self.target(x, self.theta)


def family_mean_curve(grid: torch.Tensor, num_tasks: int = 2000, seed: int = 99) -> torch.Tensor:
    """The average true curve over many tasks of the family (G, 1): the best blind guess."""
    params = sinusoid_tasks(num_tasks, num_points=1, seed=seed).params
    return sinusoid_curve(params, grid).mean(dim=0)


def train_on_fresh_tasks(
    model: nn.Module,
    steps: int = 1000,
    tasks_per_step: int = 16,
    context_points: int = 6,
    query_points: int = 20,
    first_seed: int = 10_000,
    **train_options,
) -> History:
    """Train a data-conditioned HyperDNN on new sinusoid tasks at every step.

    Step k draws `tasks_per_step` tasks (seed first_seed + k); the encoder sees each task's
    first `context_points` (x, y) pairs and the loss covers those and `query_points` more.
    """
    check_positive_int("tasks_per_step", tasks_per_step)
    check_positive_int("context_points", context_points)
    if not isinstance(query_points, int) or query_points < 0:
        raise ValueError(f"query_points={query_points!r} is not allowed; use an int >= 0")
    seeds = itertools.count(first_seed)

    def loss_fn(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        tasks = sinusoid_tasks(tasks_per_step, context_points + query_points, seed=next(seeds))
        theta = m.weights(tasks.examples()[:, :context_points])
        return prediction_loss(m.target(tasks.x, theta), tasks.y), theta

    return train(model, loss_fn, steps=steps, **train_options)


def prior_variances(target: TargetNetwork) -> torch.Tensor:
    """Per entry of Θ, the prior's variance: Kaiming (fan-in) for weights, 1 for biases."""
    variances = target_variances(target, "in")
    return torch.where(variances > 0, variances, torch.ones_like(variances))


def kl_to_prior(theta: torch.Tensor, prior_variance: torch.Tensor) -> torch.Tensor:
    """KL(q ‖ p): q a diagonal Gaussian fitted to the S rows of Θ, p = N(0, prior_variance).

    Its -log(variance) part is the entropy bonus: it grows without bound as the S nets
    collapse onto one, so minimising it keeps them apart where the data allow.
    """
    if theta.dim() != 2 or theta.shape[0] < 2:
        raise ValueError(f"theta has shape {tuple(theta.shape)}; the KL needs (S, P) with S >= 2")
    mean, variance = theta.mean(dim=0), theta.var(dim=0) + 1e-8
    ratio = variance / prior_variance
    return 0.5 * (ratio + mean.pow(2) / prior_variance - 1 - ratio.log()).sum()


def train_noise_conditioned(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    samples: int = 16,
    kl_weight: float = 0.0,
    **train_options,
) -> History:
    """Fit S = `samples` generated nets to (x, y) at every step; optionally add kl_weight · KL.

    With kl_weight 0 this is plain maximum likelihood: each net is rewarded only for fitting.
    kl_weight = 2σ²/N is the ELBO of N points under Gaussian noise σ, divided by N/(2σ²).
    """
    check_finite("x", x)
    check_finite("y", y)
    check_positive_int("samples", samples)
    if not kl_weight >= 0:
        raise ValueError(f"kl_weight={kl_weight!r} is not allowed; use a number >= 0")
    if kl_weight and samples < 2:
        raise ValueError(f"samples={samples} is too few for the KL term; use samples >= 2")
    prior = prior_variances(model.target)

    def loss_fn(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        theta = m.weights(samples)
        loss = prediction_loss(m.target(x, theta), y)
        if kl_weight:
            loss = loss + kl_weight * kl_to_prior(theta, prior)
        return loss, theta

    return train(model, loss_fn, **train_options)


@dataclass(frozen=True)
class SpreadSummary:
    """How S generated nets disagree where the training data are ("seen") and elsewhere."""

    spread_seen: float  # mean standard deviation of the S predictions, data region
    spread_unseen: float  # the same away from the data
    error_seen: float  # MSE of the mean prediction against the truth, data region
    coverage_seen: float  # fraction of grid points whose truth lies in mean ± 2 std
    coverage_unseen: float

    def __str__(self) -> str:
        return (
            f"spread (std) {self.spread_seen:.3g} where data are, {self.spread_unseen:.3g} "
            f"beyond | truth inside mean ± 2 std: {self.coverage_seen:.0%} / "
            f"{self.coverage_unseen:.0%} | error of the mean where data are {self.error_seen:.3g}"
        )


def spread_summary(
    predictions: torch.Tensor, truth: torch.Tensor, seen: torch.Tensor
) -> SpreadSummary:
    """Spread, error and 2-std coverage of predictions (S, G, 1) against truth (G, 1).

    `seen` (G,) is True on grid points inside the region the training data cover.
    """
    if predictions.dim() != 3 or predictions.shape[0] < 2:
        raise ValueError(
            f"predictions has shape {tuple(predictions.shape)}; need (S, G, 1), S >= 2"
        )
    if seen.dtype != torch.bool or not seen.any() or seen.all():
        raise ValueError("seen must be a boolean mask with both seen and unseen grid points")
    mean, std = predictions.mean(dim=0).squeeze(-1), predictions.std(dim=0).squeeze(-1)
    inside = (truth.squeeze(-1) - mean).abs() <= 2 * std
    return SpreadSummary(
        spread_seen=std[seen].mean().item(),
        spread_unseen=std[~seen].mean().item(),
        error_seen=(mean - truth.squeeze(-1))[seen].pow(2).mean().item(),
        coverage_seen=inside[seen].float().mean().item(),
        coverage_unseen=inside[~seen].float().mean().item(),
    )


def spread_over_training(
    target: TargetNetwork, history: History, grid: torch.Tensor, seen: torch.Tensor
) -> dict[int, tuple[float, float]]:
    """Per snapshot step: spread of that step's S generated nets, where data are and beyond."""
    result = {}
    for step, theta in sorted(history.snapshots.items()):
        std = predict(target, theta, grid).std(dim=0).squeeze(-1)
        result[step] = (std[seen].mean().item(), std[~seen].mean().item())
    return result
