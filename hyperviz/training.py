"""One training loop for DNNs and HyperDNNs, with a history of what happened at each step.

`train(model, loss_fn)` minimises `loss_fn(model) -> (loss, theta)` with Adam and records the
loss, the gradient norm of the learned parameters (Θ for a DNN, Φ for a HyperDNN), the
gradient norm reaching the generated Θ, and the wall time of each step. `fit` wraps it for
the common case of (x, y) data.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hyperviz.checks import check_choice, check_finite, check_positive_int
from hyperviz.progress import ProgressBar

LossFn = Callable[[nn.Module], tuple[torch.Tensor, torch.Tensor]]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so a run repeats exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch on one thread, then restore the thread count.

    These hypernets are tiny: a second intra-op thread saves nothing, and on a busy shared
    CPU its synchronisation made training steps 4x slower in our measurements.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@dataclass
class History:
    """Per-step records of a training run; `snapshots` maps a step to a copy of Θ."""

    loss: list[float] = field(default_factory=list)
    grad_norm_learned: list[float] = field(default_factory=list)
    grad_norm_theta: list[float] = field(default_factory=list)
    step_time: list[float] = field(default_factory=list)
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)

    def final_loss(self, window: int = 20) -> float:
        """Mean loss over the last `window` steps (smooths minibatch noise)."""
        return float(np.mean(self.loss[-window:]))


def train(
    model: nn.Module,
    loss_fn: LossFn,
    steps: int = 500,
    lr: float = 1e-3,
    seed: int = 0,
    clip_grad: float | None = None,
    snapshot_every: int | None = None,
    progress: bool | None = None,
    description: str = "training",
) -> History:
    """Minimise `loss_fn(model)` (which returns the loss and the Θ it used) with Adam."""
    check_positive_int("steps", steps)
    if not lr > 0:
        raise ValueError(f"lr={lr} is not allowed; the learning rate must be > 0")
    if clip_grad is not None and not clip_grad > 0:
        raise ValueError(f"clip_grad={clip_grad} is not allowed; use None or a number > 0")
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    bar = ProgressBar(steps, description, show=progress)
    for step in range(steps):
        start = time.perf_counter()
        optimiser.zero_grad()
        loss, theta = loss_fn(model)
        if not theta.requires_grad:
            raise ValueError("loss_fn returned a Θ that no gradient reaches; return the Θ used")
        if not theta.is_leaf:
            theta.retain_grad()
        loss.backward()
        learned_norm = _grad_norm(model.parameters())
        if clip_grad is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
        optimiser.step()
        history.step_time.append(time.perf_counter() - start)
        history.loss.append(loss.item())
        history.grad_norm_learned.append(learned_norm)
        history.grad_norm_theta.append(theta.grad.norm().item())
        if snapshot_every and (step % snapshot_every == 0 or step == steps - 1):
            history.snapshots[step] = theta.detach().clone()
        bar.update(step + 1, loss.item())
    bar.close()
    return history


def _grad_norm(parameters) -> float:
    grads = [p.grad.flatten() for p in parameters if p.grad is not None]
    return torch.cat(grads).norm().item() if grads else 0.0


LOSSES = ("mse", "cross-entropy")


def prediction_loss(prediction: torch.Tensor, y: torch.Tensor, loss: str = "mse") -> torch.Tensor:
    """Mean squared error or cross-entropy; a leading S of weight sets broadcasts over y."""
    check_choice("loss", loss, LOSSES)
    if loss == "mse":
        return F.mse_loss(prediction, y.expand_as(prediction))
    classes = prediction.shape[-1]
    return F.cross_entropy(
        prediction.reshape(-1, classes), y.expand(prediction.shape[:-1]).reshape(-1)
    )


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    context=0,
    loss: str = "mse",
    batch_size: int | None = None,
    **train_options,
) -> History:
    """Train `model` to map x to y under `context`; `batch_size` samples minibatches of examples."""
    check_finite("x", x)
    check_finite("y", y)
    check_choice("loss", loss, LOSSES)
    example_dim = 0 if x.dim() == model.target.input_dims else 1
    n = x.shape[example_dim]
    if batch_size is not None:
        check_positive_int("batch_size", batch_size)

    def loss_fn(m: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        xb, yb = x, y
        if batch_size is not None and batch_size < n:
            idx = torch.randint(n, (batch_size,))
            xb, yb = x.index_select(example_dim, idx), y.index_select(example_dim, idx)
        theta = m.weights(context)
        return prediction_loss(m.target(xb, theta), yb, loss), theta

    return train(model, loss_fn, **train_options)
