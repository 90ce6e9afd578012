"""One training loop for DNNs and HyperDNNs, with a history of what happened at each step.

`train(model, loss_fn)` minimises `loss_fn(model) -> (loss, theta)` with Adam and records the
loss, the gradient norm of the learned parameters (Θ for a DNN, Φ for a HyperDNN), the
gradient norm reaching the generated Θ, and the wall time of each step. `fit` wraps it for
the common case of (x, y) data and any model that generates weights (`WeightGenerator`).
"""

from __future__ import annotations

import math
import random
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hyperviz.checks import (
    as_float_tensor,
    as_tensor,
    check_bool,
    check_choice,
    check_device,
    check_non_negative_int,
    check_positive_int,
    check_positive_number,
    check_seed,
)
from hyperviz.conditioning import Context
from hyperviz.optim import Adam
from hyperviz.progress import ProgressBar
from hyperviz.targets import TargetNetwork

LossFn = Callable[[nn.Module], tuple[torch.Tensor, torch.Tensor]]


class WeightGenerator(Protocol):
    """What `fit` trains: a model that generates the weights Θ of its target (DNN, HyperDNN).

    `weights(context)` returns Θ of shape (P,) or (S, P) for `target`; `parameters()` are
    what the optimiser updates.
    """

    target: TargetNetwork

    def weights(
        self, context: Context | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor: ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so a run repeats exactly."""
    check_seed("seed", seed)
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
    """Per-step records of a training run; `snapshots` maps a step to a copy of Θ.

    A run whose loss became NaN or infinite stopped at that step: `diverged` is True,
    `diverged_at` is the step, and the records hold only the finite steps before it.
    """

    loss: list[float] = field(default_factory=list)
    grad_norm_learned: list[float] = field(default_factory=list)
    grad_norm_theta: list[float] = field(default_factory=list)
    step_time: list[float] = field(default_factory=list)
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)
    diverged: bool = False
    diverged_at: int | None = None

    def final_loss(self, window: int = 20) -> float:
        """Median loss of the last `window` steps (a spike does not move it); NaN if diverged."""
        check_positive_int("window", window)
        if self.diverged or not self.loss:
            return math.nan
        return statistics.median(self.loss[-window:])

    def step_ms(self, skip: int = 10) -> float:
        """Median wall time of a step in ms after `skip` warm-up steps (all, if that is all)."""
        check_non_negative_int("skip", skip)
        if not self.step_time:
            return math.nan
        return 1000 * statistics.median(self.step_time[skip:] or self.step_time)


def train(
    model: WeightGenerator | nn.Module,
    loss_fn: LossFn,
    steps: int = 500,
    lr: float = 1e-3,
    seed: int = 0,
    clip_grad: float | None = None,
    snapshot_every: int | None = None,
    progress: bool | None = None,
    description: str = "training",
) -> History:
    """Minimise `loss_fn(model)` (which returns the loss and the Θ it used) with Adam.

    `model` is usually a `WeightGenerator`; train itself only needs its parameters(). A loss
    that becomes NaN or infinite stops training with a RuntimeWarning (see `History`).
    """
    if not callable(getattr(model, "parameters", None)):
        raise TypeError(f"model must be a torch module with parameters(), got {model!r}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function of the model, got {loss_fn!r}")
    check_positive_int("steps", steps)
    check_positive_number("lr", lr)
    check_positive_number("clip_grad", clip_grad, allow_none=True)
    if snapshot_every is not None:
        check_positive_int("snapshot_every", snapshot_every)
    check_seed("seed", seed)
    if progress is not None:
        check_bool("progress", progress)
    parameters = list(model.parameters())
    if not parameters:
        raise ValueError(f"model {type(model).__name__} has no parameters to train")
    torch.manual_seed(seed)
    optimiser = Adam(parameters, lr=lr)  # torch.optim.Adam's update, without its imports
    history = History()
    bar = ProgressBar(steps, description, show=progress)
    for step in range(steps):
        start = time.perf_counter()
        optimiser.zero_grad()
        loss, theta = _checked_output(loss_fn(model))
        value = loss.item()
        if not math.isfinite(value):
            _stop_diverged(history, step, value, lr)
            break
        if not theta.is_leaf:
            theta.retain_grad()
        loss.backward()
        learned_norm = _grad_norm(parameters)
        if clip_grad is not None:
            nn.utils.clip_grad_norm_(parameters, clip_grad)
        optimiser.step()
        history.step_time.append(time.perf_counter() - start)
        history.loss.append(value)
        history.grad_norm_learned.append(learned_norm)
        history.grad_norm_theta.append(theta.grad.norm().item())
        if snapshot_every and (step % snapshot_every == 0 or step == steps - 1):
            history.snapshots[step] = theta.detach().clone()
        bar.update(step + 1, value)
    bar.close()
    return history


def _checked_output(output: object) -> tuple[torch.Tensor, torch.Tensor]:
    """loss_fn's (loss, theta), or a TypeError/ValueError saying what is wrong with it."""
    if not (isinstance(output, tuple) and len(output) == 2):
        raise TypeError(f"loss_fn must return (loss, theta), got {type(output).__name__}")
    loss, theta = output
    if not (isinstance(loss, torch.Tensor) and loss.numel() == 1):
        raise TypeError(f"loss_fn must return a one-number loss tensor first, got {loss!r}")
    if not isinstance(theta, torch.Tensor) or not theta.requires_grad:
        raise ValueError("loss_fn returned a Θ that no gradient reaches; return the Θ used")
    return loss, theta


def _stop_diverged(history: History, step: int, value: float, lr: float) -> None:
    history.diverged, history.diverged_at = True, step
    warnings.warn(
        f"training diverged at step {step}: the loss became {value} with lr={lr}. Training "
        f"stopped there; the history holds the finite steps before it ({step}). Try a "
        f"smaller lr (e.g. lr={lr / 10:g}) or clip_grad (e.g. clip_grad=1.0).",
        RuntimeWarning,
        stacklevel=3,
    )


def _grad_norm(parameters) -> float:
    grads = [p.grad.flatten() for p in parameters if p.grad is not None]
    return torch.cat(grads).norm().item() if grads else 0.0


LOSSES = ("mse", "cross-entropy")


def prediction_loss(prediction: torch.Tensor, y: torch.Tensor, loss: str = "mse") -> torch.Tensor:
    """Mean squared error or cross-entropy; a leading S of weight sets broadcasts over y.

    mse takes float targets y; cross-entropy takes integer class labels.
    """
    check_choice("loss", loss, LOSSES)
    _check_label_dtype(y, loss)
    if loss == "mse":
        return F.mse_loss(prediction, y.expand_as(prediction))
    classes = prediction.shape[-1]
    return F.cross_entropy(
        prediction.reshape(-1, classes), y.expand(prediction.shape[:-1]).reshape(-1).long()
    )


def _check_label_dtype(y: torch.Tensor, loss: str) -> None:
    if loss == "mse" and not y.is_floating_point():
        raise TypeError(
            f"y holds integers (dtype {y.dtype}), class labels that loss='mse' cannot fit: "
            "for classification use loss='cross-entropy'; for regression give float y"
        )
    if loss == "cross-entropy" and y.is_floating_point():
        raise TypeError(
            f"loss='cross-entropy' needs integer class labels in y, got dtype {y.dtype} "
            "(y.long() if y holds class indices; loss='mse' for regression)"
        )


def fit(
    model: WeightGenerator,
    x: torch.Tensor,
    y: torch.Tensor,
    context: Context | None = None,
    loss: str = "mse",
    batch_size: int | None = None,
    **train_options,
) -> History:
    """Train `model` to map x to y under `context`; `batch_size` samples minibatches of examples.

    x is (N, ...) inputs shared by every generated network or (S, N, ...), one set per network;
    y is (N, out) floats for mse or (N,) integer class labels for cross-entropy, with the same
    optional leading S. NumPy arrays and integer or float64 x are converted to the model's
    float dtype. `context=None` is the model's default context (task 0, one noise draw).
    """
    _check_weight_generator(model)
    check_choice("loss", loss, LOSSES)
    data = checked_examples(model, x, y, loss, batch_size)
    x, y, n = data.x, data.y, data.n

    def loss_fn(m: WeightGenerator) -> tuple[torch.Tensor, torch.Tensor]:
        xb, yb = x, y
        if batch_size is not None and batch_size < n:
            idx = torch.randint(n, (batch_size,))
            xb, yb = x.index_select(data.x_dim, idx), y.index_select(data.y_dim, idx)
        theta = m.weights(context)
        _check_weight_sets(theta, data.x_sets, data.y_sets)
        return prediction_loss(m.target(xb, theta), yb, loss), theta

    return train(model, loss_fn, **train_options)


@dataclass(frozen=True)
class Examples:
    """Checked training data: x and y as tensors, and where their examples and sets lie."""

    x: torch.Tensor
    y: torch.Tensor
    x_dim: int  # the example axis of x
    y_dim: int  # the example axis of y (1 when y holds one set per network, else 0)
    x_sets: int | None  # leading task sizes (None: no such axis)
    y_sets: int | None

    @property
    def n(self) -> int:
        return self.x.shape[self.x_dim]


def checked_examples(
    model: WeightGenerator, x: object, y: object, loss: str, batch_size: int | None
) -> Examples:
    """x and y converted to the model's dtype and device, checked against its target and loss."""
    parameter = next(iter(model.parameters()), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    device = parameter.device if parameter is not None else torch.device("cpu")
    x = as_float_tensor("x", x, dtype, device)
    y = _as_targets(y, loss, dtype, device)
    example_dim, x_sets, y_sets = _check_examples(model.target, x, y, loss)
    if loss == "cross-entropy":
        _check_class_labels(y, model.target.out_features)
    n = x.shape[example_dim]
    if batch_size is not None and check_positive_int("batch_size", batch_size) > n:
        raise ValueError(
            f"batch_size={batch_size} is larger than the {n} examples of x; "
            "use at most that many, or batch_size=None for full batches"
        )
    y_dim = 0 if y_sets is None else 1
    return Examples(x, y, example_dim, y_dim, x_sets, y_sets)


def _check_weight_generator(model: object) -> None:
    missing = [name for name in ("target", "weights", "parameters") if not hasattr(model, name)]
    if missing:
        raise TypeError(
            f"model must generate weights (a DNN, a HyperDNN or any WeightGenerator with "
            f"target, weights() and parameters()); {type(model).__name__} has no "
            + " and no ".join(missing)
        )
    if not isinstance(model.target, TargetNetwork):
        raise TypeError(f"model.target must be a TargetNetwork, got {model.target!r}")


def _as_targets(y: object, loss: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """y as float targets (mse) or long class labels (cross-entropy), on `device`."""
    y = as_tensor("y", y)
    _check_label_dtype(y, loss)
    if loss == "mse":
        return as_float_tensor("y", y, dtype, device)
    return check_device("y", y, device).long()


def _check_examples(
    target: TargetNetwork, x: torch.Tensor, y: torch.Tensor, loss: str
) -> tuple[int, int | None, int | None]:
    """Raise unless x and y hold the same examples in shapes that the target and loss take.

    Returns the example axis of x and the leading task sizes of x and y (None: no such axis).
    """
    lead = x.dim() - target.input_dims
    if lead not in (0, 1):
        hint = " (one feature: x.reshape(-1, 1))" if x.dim() == 1 == target.input_dims - 1 else ""
        raise ValueError(
            f"x has shape {tuple(x.shape)}; {type(target).__name__} takes inputs of "
            f"{target.input_dims} dimensions (N, ...), or (S, N, ...) for S networks{hint}"
        )
    if x.numel() == 0:
        raise ValueError(f"x has shape {tuple(x.shape)}: no examples; fit needs at least one")
    per_example = (target.out_features,) if loss == "mse" else ()
    wanted = tuple(x.shape[: lead + 1]) + per_example
    if tuple(y.shape) == wanted:
        return lead, x.shape[0] if lead else None, y.shape[0] if lead else None
    if lead == 0 and tuple(y.shape[1:]) == wanted and y.shape[0] > 0:
        return lead, None, y.shape[0]
    n = x.shape[lead]
    problem = f"y has shape {tuple(y.shape)}"
    if y.dim() == len(wanted) and y.shape[lead] != n:
        problem = f"x has {n} examples but y has {y.shape[lead]} (y shape {tuple(y.shape)})"
    elif lead and y.dim() == len(wanted) and y.shape[0] != x.shape[0]:
        problem = f"x has {x.shape[0]} sets of examples but y has {y.shape[0]}"
    elif tuple(y.shape) == wanted[:-1] and per_example:
        fix = "y.reshape(-1, 1)" if y.dim() == 1 else "y.unsqueeze(-1)"
        problem = f"y has shape {tuple(y.shape)}, without the output axis: use {fix}"
    if loss == "cross-entropy" and y.dim() == len(wanted) + 1 and y.shape[-1] == 1:
        problem += "; class labels take no output axis: use y.reshape(-1) or y.squeeze(-1)"
    raise ValueError(
        f"{problem}. For x of shape {tuple(x.shape)} and loss={loss!r} "
        f"y needs shape {wanted}"
        + (f", or (S, {', '.join(map(str, wanted))}) for S networks" if lead == 0 else "")
    )


def _check_class_labels(y: torch.Tensor, classes: int) -> None:
    low, high = y.min().item(), y.max().item()
    if low < 0 or high >= classes:
        raise ValueError(
            f"y holds class labels from {low} to {high}; the target makes {classes} outputs "
            f"(one per class), so labels must lie in 0 to {classes - 1}"
        )


def _check_weight_sets(theta: torch.Tensor, x_sets: int | None, y_sets: int | None) -> None:
    """Raise unless Θ holds one network per leading set of x and y."""
    made = theta.shape[0] if theta.dim() == 2 else None
    for name, sets in (("x", x_sets), ("y", y_sets)):
        if sets is not None and sets != made:
            networks = f"{made} network" + "s" * (made != 1) if made else "one network (Θ (P,))"
            raise ValueError(
                f"{name} has a leading task dimension of {sets}, but the context makes "
                f"{networks}; give one context per task, e.g. context=torch.arange({sets})"
            )
