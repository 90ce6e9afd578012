"""Train K copies of one model (seeds, ensemble members) as one batch instead of K runs.

`fit_seeds(make_model, seeds, x, y)` builds one model per seed, stacks their parameters along
a leading K axis (`hyperviz.stacking`), generates all K Θ with one vmapped call,
evaluates the K target networks in one batched call and sums the K losses: each copy's
gradient comes only from its own loss, and Adam works elementwise, so one Adam over the
stacked parameters equals K separate Adams. The result matches K separate `fit` runs (up to
float rounding) and comes back as K trained models with one `History` each.
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from hyperviz.batched import adam
from hyperviz.checks import (
    check_bool,
    check_choice,
    check_positive_int,
    check_positive_number,
    check_seed,
)
from hyperviz.conditioning import Context, NoiseConditioner
from hyperviz.progress import ProgressBar
from hyperviz.stacking import StackedCopies
from hyperviz.training import (
    LOSSES,
    History,
    WeightGenerator,
    _check_weight_generator,
    _check_weight_sets,
    checked_examples,
)


@dataclass
class SeedRuns:
    """K training runs of one model, one per seed: `models[k]` trained from `seeds[k]`."""

    seeds: list[int]
    models: list[nn.Module]
    histories: list[History]

    def final_losses(self, window: int = 20) -> list[float]:
        """`History.final_loss(window)` of every run, in the order of `seeds`."""
        return [history.final_loss(window) for history in self.histories]

    def __len__(self) -> int:
        return len(self.seeds)

    def __iter__(self) -> Iterator[tuple[int, nn.Module, History]]:
        """(seed, trained model, history) of each run."""
        return iter(zip(self.seeds, self.models, self.histories, strict=True))


def fit_seeds(
    make_model: Callable[[int], WeightGenerator],
    seeds: Sequence[int],
    x: torch.Tensor,
    y: torch.Tensor,
    context: Context | None = None,
    loss: str = "mse",
    batch_size: int | None = None,
    steps: int = 500,
    lr: float = 1e-3,
    clip_grad: float | None = None,
    snapshot_every: int | None = None,
    progress: bool | None = None,
    description: str = "training seeds",
) -> SeedRuns:
    """Train `make_model(seed)` for every seed as one batch, in the time of about one run.

    Run k equals `fit(make_model(seeds[k]), x, y, ..., seed=seeds[k])` up to float rounding
    (minibatches drawn from seeds[k] too); the options are those of `fit`. A run that diverges
    stops alone and its model keeps the Θ of that step; `step_time` is the whole batch's step.
    Noise-conditioned models (random draws in weights()) and spectral norm raise a ValueError.
    """
    if not callable(make_model) or isinstance(make_model, nn.Module):
        raise TypeError(
            "make_model must be a function seed -> model, e.g. lambda seed: "
            f"hv.DNN(target, seed=seed); got {type(make_model).__name__}"
        )
    seeds = _checked_seeds(seeds)
    check_choice("loss", loss, LOSSES)
    check_positive_int("steps", steps)
    check_positive_number("lr", lr)
    check_positive_number("clip_grad", clip_grad, allow_none=True)
    if snapshot_every is not None:
        check_positive_int("snapshot_every", snapshot_every)
    if progress is not None:
        check_bool("progress", progress)
    models = [_checked_model(make_model, seed) for seed in seeds]
    _check_same_architecture(models, seeds)
    _warn_if_identical(models, seeds)
    first = models[0]
    data = checked_examples(first, x, y, loss, batch_size)
    x_sets, y_sets, n = data.x_sets, data.y_sets, data.n
    with torch.no_grad():
        _check_weight_sets(first.weights(context), x_sets, y_sets)
    batch = StackedCopies(models, context, data.x, data.y, data.x_dim, data.y_dim, loss)
    sampler = _sampler(seeds, n, batch_size if batch_size is not None and batch_size < n else None)
    histories = _train(
        batch, sampler, seeds, steps, lr, clip_grad, snapshot_every, progress, description
    )
    batch.load_into(models)
    return SeedRuns(list(seeds), models, histories)


def _sampler(seeds: Sequence[int], n: int, size: int | None) -> Callable[[], torch.Tensor | None]:
    """Minibatch indices (K, size) per step, each copy's from its own seed (as `fit` draws)."""
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    if size is None:
        return lambda: None
    return lambda: torch.stack([torch.randint(n, (size,), generator=g) for g in generators])


def _train(
    batch: StackedCopies,
    sampler: Callable[[], torch.Tensor | None],
    seeds: Sequence[int],
    steps: int,
    lr: float,
    clip_grad: float | None,
    snapshot_every: int | None,
    progress: bool | None,
    description: str,
) -> list[History]:
    """Adam on the stacked parameters; each copy records its own history and may diverge alone."""
    k = batch.k
    parameters = list(batch.params.values())
    optimiser = adam(parameters, lr)
    histories = [History() for _ in range(k)]
    active = list(range(k))
    bar = ProgressBar(steps, description, show=progress, copies=k)
    for step in range(steps):
        start = time.perf_counter()
        optimiser.zero_grad()
        losses, thetas = batch.losses(sampler())
        values = losses.detach().tolist()
        for i in [i for i in active if not math.isfinite(values[i])]:
            batch.freeze(i)
            _stop_diverged(histories[i], step, values[i], lr, seeds[i])
            active.remove(i)
        if not active:
            break
        if not thetas.is_leaf:
            thetas.retain_grad()
        (losses if len(active) == k else losses[active]).sum().backward()
        learned = torch.stack([_squared_norms(p.grad, k) for p in parameters]).sum(0).sqrt()
        if clip_grad is not None:  # computed as nn.utils.clip_grad_norm_ does: a norm of norms
            norms = torch.stack([p.grad.reshape(k, -1).norm(dim=1) for p in parameters])
            scale = (clip_grad / (norms.norm(dim=0) + 1e-6)).clamp(max=1.0)
            for p in parameters:
                p.grad.mul_(scale.view(k, *[1] * (p.dim() - 1)))
        optimiser.step()
        elapsed = time.perf_counter() - start
        learned_norms, theta_norms = learned.tolist(), _squared_norms(thetas.grad, k).sqrt()
        theta_norms = theta_norms.tolist()
        snapshot = snapshot_every and (step % snapshot_every == 0 or step == steps - 1)
        for i in active:
            history = histories[i]
            history.step_time.append(elapsed)
            history.loss.append(values[i])
            history.grad_norm_learned.append(learned_norms[i])
            history.grad_norm_theta.append(theta_norms[i])
            if snapshot:
                history.snapshots[step] = thetas[i].detach().clone()
        bar.update(step + 1, statistics.median(values[i] for i in active))
    bar.close()
    return histories


def _squared_norms(grad: torch.Tensor, k: int) -> torch.Tensor:
    """Squared norm of each copy's slice of a stacked gradient, (K,)."""
    return grad.reshape(k, -1).square().sum(1)


def _stop_diverged(history: History, step: int, value: float, lr: float, seed: int) -> None:
    history.diverged, history.diverged_at = True, step
    warnings.warn(
        f"training with seed {seed} diverged at step {step}: the loss became {value} with "
        f"lr={lr}. That run stopped there (the other seeds go on); its history holds the "
        f"finite steps before it. Try a smaller lr (e.g. lr={lr / 10:g}) or clip_grad.",
        RuntimeWarning,
        stacklevel=4,
    )


def _checked_seeds(seeds: object) -> list[int]:
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Sequence):
        raise TypeError(f"seeds must be a list of ints like [0, 1, 2] or range(5), got {seeds!r}")
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed, e.g. seeds=range(5)")
    checked = [check_seed(f"seeds[{i}]", seed) for i, seed in enumerate(seeds)]
    repeated = sorted({seed for seed in checked if checked.count(seed) > 1})
    if repeated:
        raise ValueError(
            f"seeds={list(seeds)!r} repeats {repeated}: each copy needs its own seed, or two "
            "copies train identically"
        )
    return checked


_UNBATCHABLE: list[tuple[Callable[[nn.Module], bool], str]] = [
    (
        lambda module: isinstance(module, NoiseConditioner),
        "a noise-conditioned model draws random numbers inside weights(), which a batch over "
        "seeds cannot reproduce run by run",
    ),
    (
        lambda module: isinstance(module, nn.RNNBase),
        "a model with a recurrent layer (body='rnn', a GRU) cannot be batched over seeds: "
        "torch.func.vmap has no rule for it",
    ),
    (
        parametrize.is_parametrized,
        "a model with parametrized layers (spectral_norm=True) cannot be batched over seeds: "
        "spectral norm's power iteration writes its vectors in place, which vmap cannot do",
    ),
]


def _checked_model(make_model: Callable[[int], WeightGenerator], seed: int) -> nn.Module:
    model = make_model(seed)
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"make_model({seed}) must return a torch module (a DNN or a HyperDNN), "
            f"got {type(model).__name__}"
        )
    _check_weight_generator(model)
    if not any(True for _ in model.parameters()):
        raise ValueError(f"make_model({seed}) built a {type(model).__name__} with no parameters")
    for refused, why in _UNBATCHABLE:
        if any(refused(module) for module in model.modules()):
            raise ValueError(f"{why}; train each seed with hv.fit")
    return model


def _check_same_architecture(models: Sequence[nn.Module], seeds: Sequence[int]) -> None:
    """Raise unless every model has the type, parameters and buffers of the first one."""

    def shapes(model: nn.Module) -> list[tuple]:
        tensors = [*model.named_parameters(), *model.named_buffers()]
        return [(name, tuple(t.shape), t.dtype, t.device) for name, t in tensors]

    first = (type(models[0]), shapes(models[0]))
    for seed, model in zip(seeds[1:], models[1:], strict=True):
        if (type(model), shapes(model)) != first:
            raise ValueError(
                f"make_model({seed}) built a model whose type or parameter shapes differ from "
                f"make_model({seeds[0]})'s; every seed must build the same architecture"
            )


def _warn_if_identical(models: Sequence[nn.Module], seeds: Sequence[int]) -> None:
    flat = [torch.cat([p.detach().flatten() for p in m.parameters()]) for m in models]
    for i in range(len(flat)):
        for j in range(i + 1, len(flat)):
            if torch.equal(flat[i], flat[j]):
                warnings.warn(
                    f"make_model({seeds[i]}) and make_model({seeds[j]}) start from the same "
                    "parameters: does make_model use its seed (e.g. hv.DNN(target, seed=seed) "
                    "or hv.seed_everything(seed) before building)?",
                    UserWarning,
                    stacklevel=3,
                )
                return
