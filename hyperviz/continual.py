"""Continual learning with a task-conditioned hypernet (survey §4; von Oswald et al. 2020).

Tasks arrive one at a time and earlier data never come back. Before task t trains, the
hypernet's outputs Θ*_j = H(e_j) for every earlier task j are stored; while task t trains,
`output_regulariser` adds β/(t-1)·Σ_j ||H(e_j; Φ) − Θ*_j||² to its loss: the paper's Eq. 2
without its look-ahead ΔΦ (dropped, as in hypnettorch's example of the method). Only the new
task's embedding e_t learns; earlier embeddings stay as they were.

`train_sequence` trains K models (seeds, β values, plain-DNN baselines) through a
`TaskSequence` as one batch and returns a `SequenceRun` whose `scores[k, i, j]` is model k's
accuracy (or error) on task j after training on task i.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, vmap

from hyperviz.batched import Stacked, train_jointly
from hyperviz.checks import check_positive_int, check_positive_number, check_seed
from hyperviz.conditioning import TaskConditioner
from hyperviz.data import POLYNOMIALS, load_digits_tensors, polynomial_tasks
from hyperviz.models import DNN
from hyperviz.progress import progress_stage
from hyperviz.stacking import copy_losses
from hyperviz.targets import TargetNetwork
from hyperviz.training import LOSSES

METRICS = {"cross-entropy": "accuracy", "mse": "mse"}


@dataclass(frozen=True)
class TaskSequence:
    """Tasks in the order they arrive: training and test sets stacked along a leading T."""

    x: torch.Tensor  # (T, N, ...) training inputs
    y: torch.Tensor  # (T, N) class labels or (T, N, out) targets
    test_x: torch.Tensor  # (T, M, ...)
    test_y: torch.Tensor  # (T, M) or (T, M, out)
    names: tuple[str, ...]
    loss: str  # "cross-entropy" or "mse"

    @property
    def num_tasks(self) -> int:
        return self.x.shape[0]

    @property
    def metric(self) -> str:
        """What a score is: "accuracy" (higher is better) or "mse" (lower is better)."""
        return METRICS[self.loss]


def permuted_digits(num_tasks: int = 5, seed: int = 0) -> TaskSequence:
    """scikit-learn's 8x8 digits, flattened to 64 pixels, under a new pixel order per task.

    Task 0 keeps the original order; every later task shuffles the pixels with its own fixed
    permutation (drawn from `seed`), the 8x8 version of the paper's PermutedMNIST.
    """
    check_positive_int("num_tasks", num_tasks)
    x_train, y_train, x_test, y_test = load_digits_tensors(seed=check_seed("seed", seed))
    x_train, x_test = x_train.flatten(1), x_test.flatten(1)
    g = torch.Generator().manual_seed(seed)
    orders = [torch.arange(64)] + [torch.randperm(64, generator=g) for _ in range(num_tasks - 1)]
    return TaskSequence(
        torch.stack([x_train[:, order] for order in orders]),
        y_train.expand(num_tasks, -1).clone(),
        torch.stack([x_test[:, order] for order in orders]),
        y_test.expand(num_tasks, -1).clone(),
        tuple(["digits"] + [f"digits, pixel order {t}" for t in range(1, num_tasks)]),
        "cross-entropy",
    )


def polynomial_sequence(
    num_points: int = 50, test_points: int = 100, noise: float = 0.05, seed: int = 0
) -> TaskSequence:
    """The paper's three-polynomial toy (`hyperviz.data.polynomial_tasks`), tested against the
    noise-free curve on `test_points` evenly spaced inputs of each task's interval."""
    check_positive_int("test_points", test_points)
    train = polynomial_tasks(num_points=num_points, noise=noise, seed=seed)
    grids = [
        torch.linspace(low, high, test_points).unsqueeze(1) for _, (low, high), _ in POLYNOMIALS
    ]
    curves = [f(grid) for (_, _, f), grid in zip(POLYNOMIALS, grids, strict=True)]
    return TaskSequence(
        train.x, train.y, torch.stack(grids), torch.stack(curves), train.names, "mse"
    )


def output_regulariser(
    theta: torch.Tensor, anchors: torch.Tensor, beta: float | torch.Tensor = 1.0
) -> torch.Tensor:
    """β/(t-1)·Σ_j ||Θ_j − Θ*_j||² over the earlier tasks j: Θ, Θ* of shape (..., t-1, P) → (...).

    After von Oswald et al. 2020, Eq. 2 (without the look-ahead ΔΦ). `beta` is a number or a
    tensor that broadcasts over the leading axes (one β per model).
    """
    if not isinstance(theta, torch.Tensor) or not isinstance(anchors, torch.Tensor):
        raise TypeError("theta and anchors must be tensors of shape (..., earlier tasks, P)")
    if theta.shape != anchors.shape or theta.dim() < 2:
        raise ValueError(
            f"theta has shape {tuple(theta.shape)} and anchors {tuple(anchors.shape)}; both "
            "need the same shape (..., earlier tasks, P)"
        )
    if theta.shape[-2] == 0:  # the first task: nothing to remember yet
        return theta.new_zeros(theta.shape[:-2])
    return beta * (theta - anchors).pow(2).sum(-1).mean(-1)


@dataclass
class SequenceRun:
    """K models trained through one task sequence; scores[k, i, j]: task j after task i."""

    scores: torch.Tensor  # (K, T, T); NaN above the diagonal (task j not learned yet)
    metric: str  # "accuracy" or "mse"
    betas: torch.Tensor  # (K,)
    losses: torch.Tensor  # (T, steps, K): training loss (task loss + β · regulariser)
    thetas: list[torch.Tensor]  # thetas[i]: (K, i + 1, P), Θ of tasks 0..i after task i
    models: list[nn.Module]  # the trained models, in the order given

    def just_learned(self) -> torch.Tensor:
        """(K, T): each task's score right after it was trained (the diagonal)."""
        return self.scores.diagonal(dim1=1, dim2=2)

    def final(self) -> torch.Tensor:
        """(K, T): each task's score after the whole sequence (the last row)."""
        return self.scores[:, -1]

    def mean_seen(self) -> torch.Tensor:
        """(K, T): after task i, the mean score over tasks 0..i."""
        return self.scores.nan_to_num(0.0).sum(-1) / torch.arange(1, self.scores.shape[1] + 1)


def train_sequence(
    models: Sequence[nn.Module],
    tasks: TaskSequence,
    betas: float | Sequence[float] = 0.0,
    steps: int = 100,
    lr: float = 1e-3,
    batch_size: int | None = None,
    seed: int = 0,
) -> SequenceRun:
    """Train every model through the tasks in order, all as one batch; score after each task.

    `models` are DNNs or task-conditioned HyperDNNs of one target (copies of one architecture
    are stacked and generate their Θ in one vmapped call); `betas` gives each model its weight
    of `output_regulariser` (one number for all, or one per model). Each task trains `steps`
    Adam steps with a fresh optimiser (as in the paper); each model draws its own minibatches
    of `batch_size` examples (None: all) from one generator seeded with `seed`.
    """
    models, target = _checked_models(models, tasks)
    k = len(models)
    betas = _checked_betas(betas, k)
    check_positive_int("steps", steps)
    check_positive_number("lr", lr)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    n = tasks.x.shape[1]
    if batch_size is not None and check_positive_int("batch_size", batch_size) > n:
        raise ValueError(
            f"batch_size={batch_size} is more than the {n} examples of a task; use at most "
            f"{n}, or None for all of them"
        )
    if batch_size == n:
        batch_size = None  # every example at every step
    stacks = [_Stack(group) for group in _groups(models)]
    parameters = [p for stack in stacks for p in stack.parameters]
    count = tasks.num_tasks
    scores = torch.full((k, count, count), math.nan)
    losses, thetas = [], []
    with progress_stage(count * steps, f"{k} models through {count} tasks", copies=k):
        for t in range(count):
            with torch.no_grad():  # Θ*_j of the earlier tasks, before task t moves anything
                anchors = _weights(stacks, t, t)[:, :t].clone()

            def losses_fn(step: int, t: int = t, anchors: torch.Tensor = anchors) -> torch.Tensor:
                theta = _weights(stacks, t, t)  # (K, t + 1, P); only e_t and Φ get gradients
                x, y = _minibatch(tasks, t, k, batch_size, generator)
                prediction = target.batched_forward(x, theta[:, t], 0 if batch_size else None)
                task_loss = copy_losses(prediction, y if batch_size else y.unsqueeze(0), tasks.loss)
                return task_loss + output_regulariser(theta[:, :t], anchors, betas)

            losses.append(train_jointly(losses_fn, parameters, steps, lr, f"task {t + 1}"))
            with torch.no_grad():
                thetas.append(_weights(stacks, t, None))
                scores[:, t, : t + 1] = task_scores(target, thetas[-1], tasks)
    for stack in stacks:
        stack.unstack()
    return SequenceRun(scores, tasks.metric, betas, torch.stack(losses), thetas, models)


def task_scores(target: TargetNetwork, theta: torch.Tensor, tasks: TaskSequence) -> torch.Tensor:
    """(K, t): each model's score on the test sets of tasks 0..t-1, given their Θ (K, t, P)."""
    if not isinstance(tasks, TaskSequence):
        raise TypeError(f"tasks must be a TaskSequence, got {type(tasks).__name__}")
    if not isinstance(theta, torch.Tensor) or theta.dim() != 3:
        raise ValueError("theta must be a tensor (K models, t tasks, P) of generated weights")
    k, t, p = theta.shape
    if p != target.num_params or not 1 <= t <= tasks.num_tasks:
        raise ValueError(
            f"theta has shape {tuple(theta.shape)}; the target needs P = {target.num_params} "
            f"and the sequence has {tasks.num_tasks} tasks"
        )
    one_set = tasks.test_x.shape[2:]
    x = tasks.test_x[:t].expand(k, *tasks.test_x[:t].shape).reshape(k * t, -1, *one_set)
    prediction = target(x, theta.reshape(k * t, p)).unflatten(0, (k, t))
    truth = tasks.test_y[:t]
    if tasks.metric == "accuracy":
        return (prediction.argmax(-1) == truth).float().mean(-1)
    return (prediction - truth).pow(2).flatten(2).mean(-1)


def _minibatch(
    tasks: TaskSequence, t: int, k: int, size: int | None, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Task t's examples: all of them, or `size` drawn for each of the K models, (K, size, ...)."""
    if size is None:
        return tasks.x[t], tasks.y[t]
    idx = torch.randint(tasks.x.shape[1], (k, size), generator=generator)
    return tasks.x[t][idx], tasks.y[t][idx]


class _Stack:
    """Copies of one architecture stacked along K: DNNs (Θ itself) or task-conditioned
    HyperDNNs (an embedding table and an output strategy, run for all K in one vmapped call)."""

    def __init__(self, models: Sequence[nn.Module]) -> None:
        self.models = list(models)
        if isinstance(models[0], DNN):
            self.theta = torch.stack([m.theta.detach() for m in models]).requires_grad_()
            self.parameters = [self.theta]
            return
        self.theta = None
        self.strategies = Stacked([m.hypernet.strategy for m in models])
        self.table = torch.stack([_embeddings(m).detach() for m in models]).requires_grad_()
        self.parameters = [self.table, *self.strategies.params.values()]
        base = self.strategies.base
        self.generate = vmap(lambda p, e: functional_call(base, p, (e,)), in_dims=(0, 0))

    def weights(self, last: int, learning: int | None) -> torch.Tensor:
        """Θ (K, last + 1, P) of tasks 0..last; only task `learning`'s embedding gets a gradient."""
        if self.theta is not None:  # a DNN: one Θ for every task
            return self.theta.unsqueeze(1).expand(-1, last + 1, -1)
        table = self.table[:, : last + 1]  # (K, tasks, embedding_dim)
        learns = (torch.arange(last + 1) == (-1 if learning is None else learning))[:, None]
        return self.generate(self.strategies.params, torch.where(learns, table, table.detach()))

    def unstack(self) -> None:
        """Copy the trained parameters back into the models."""
        with torch.no_grad():
            for k, model in enumerate(self.models):
                if self.theta is not None:
                    model.theta.copy_(self.theta[k])
                else:
                    _embeddings(model).copy_(self.table[k])
        if self.theta is None:
            self.strategies.unstack()


def _embeddings(model: nn.Module) -> torch.Tensor:
    return model.hypernet.conditioner.task_embedding.weight


def _weights(stacks: Sequence[_Stack], last: int, learning: int | None) -> torch.Tensor:
    return torch.cat([stack.weights(last, learning) for stack in stacks])


def _groups(models: Sequence[nn.Module]) -> list[list[nn.Module]]:
    """Consecutive models of one architecture (type and parameter shapes) form a group."""
    groups: list[list[nn.Module]] = []
    for model in models:
        if groups and _signature(groups[-1][0]) == _signature(model):
            groups[-1].append(model)
        else:
            groups.append([model])
    return groups


def _signature(model: nn.Module) -> tuple:
    return type(model), [(name, p.shape) for name, p in model.named_parameters()]


def _checked_models(
    models: Sequence[nn.Module], tasks: TaskSequence
) -> tuple[list[nn.Module], TargetNetwork]:
    if not isinstance(tasks, TaskSequence):
        raise TypeError(f"tasks must be a TaskSequence, got {type(tasks).__name__}")
    if tasks.loss not in LOSSES:
        raise ValueError(f"tasks.loss={tasks.loss!r} is not known; allowed: {list(LOSSES)}")
    if isinstance(models, nn.Module) or not isinstance(models, Sequence) or not models:
        raise TypeError("models must be a non-empty list of DNNs or HyperDNNs, e.g. [hv.DNN(t)]")
    for i, model in enumerate(models):
        conditioner = getattr(getattr(model, "hypernet", None), "conditioner", None)
        if not (isinstance(model, DNN) or isinstance(conditioner, TaskConditioner)):
            raise TypeError(
                f"models[{i}] must be a DNN or a task-conditioned HyperDNN, got "
                f"{type(model).__name__}"
                + (f" conditioned on {conditioner.kind}" if conditioner else "")
            )
        if isinstance(conditioner, TaskConditioner) and conditioner.num_tasks < tasks.num_tasks:
            raise ValueError(
                f"models[{i}] has task embeddings for {conditioner.num_tasks} tasks; the "
                f"sequence has {tasks.num_tasks}: build it with num_tasks={tasks.num_tasks}"
            )
    target = models[0].target
    for i, model in enumerate(models):
        if model.target.param_shapes != target.param_shapes:
            raise ValueError(f"models[{i}] has another target than models[0]; use one target")
    return list(models), target


def _checked_betas(betas: float | Sequence[float], k: int) -> torch.Tensor:
    values = [betas] * k if isinstance(betas, int | float) else list(betas)
    if len(values) != k:
        raise ValueError(f"betas has {len(values)} values for {k} models; give one or one each")
    for i, beta in enumerate(values):
        if isinstance(beta, bool) or not isinstance(beta, int | float) or not beta >= 0:
            raise ValueError(f"betas[{i}]={beta!r} is not allowed; use numbers >= 0")
    return torch.tensor(values, dtype=torch.float32)
