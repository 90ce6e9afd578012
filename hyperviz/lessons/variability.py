"""Notebook 04, static vs dynamic hypernets (survey §3.3-3.5): inputs and outputs that vary.

The input (context) is static when it is one of a set fixed at training time (task ids) and
dynamic when it is computed from data or noise and can be new at test time. The output is
static when the target architecture is fixed and dynamic when the caller picks it; a hypernet
is static only when both are static (§3.5), as `static_dynamic_map` draws.

A chunk-wise or component-wise `HyperNetwork` built with `max_target` generates Θ for any
target that fits: `hypernet(context, target=mlp(width, depth))`. `train_on_targets` trains it
on several architectures at once (the mean loss over them at every step) and `target_errors`
measures each generated network against the true curves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch.func import functional_call, stack_module_state, vmap

from hyperviz.checks import check_positive_int, check_positive_number
from hyperviz.claims import measured
from hyperviz.data import TaskFamily, sinusoid_curve
from hyperviz.evaluation import curve_errors, predict
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.optim import Adam
from hyperviz.progress import REFRESH_EVERY, ProgressBar
from hyperviz.targets import MLPTarget, TargetNetwork
from hyperviz.training import History, prediction_loss, single_threaded, train


def mlp(width: int, depth: int = 2, in_features: int = 1, out_features: int = 1) -> MLPTarget:
    """An MLP with `depth` hidden layers of `width` units, e.g. mlp(16, 2) is 1 → 16 → 16 → 1."""
    check_positive_int("width", width)
    check_positive_int("depth", depth)
    return MLPTarget([in_features] + [width] * depth + [out_features])


def arch_name(target: MLPTarget) -> str:
    """The layer sizes joined by arrows, e.g. '1→16→16→1'."""
    return "→".join(str(n) for n in target.sizes)


def weight_role(target: TargetNetwork, position: int) -> str:
    """What entry `position` of the flat Θ is in `target`, e.g. 'fc1.weight[2, 5]'."""
    if isinstance(position, bool) or not isinstance(position, int):
        raise TypeError(f"position must be an int, got {position!r}")
    if not 0 <= position < target.num_params:
        raise ValueError(f"position={position} is outside Θ; allowed: 0 to {target.num_params - 1}")
    start = 0
    for name, shape in target.param_shapes.items():
        size = math.prod(shape)
        if position < start + size:
            index = np.unravel_index(position - start, shape)
            return f"{name}[{', '.join(str(int(i)) for i in index)}]"
        start += size
    raise AssertionError("unreachable: position was checked against num_params")


def train_on_targets(
    hypernet: HyperNetwork,
    context,
    x: torch.Tensor,
    y: torch.Tensor,
    targets: Sequence[TargetNetwork],
    **train_options,
) -> History:
    """Train one hypernet on several targets at once: each step minimises their mean loss.

    The history's ‖∂L/∂Θ‖ is that of the last target in `targets`.
    """
    if not isinstance(hypernet, HyperNetwork):
        raise TypeError(f"hypernet must be a HyperNetwork, got {type(hypernet).__name__}")
    targets = list(targets)
    if not targets:
        raise ValueError("targets is empty; give at least one target network to train on")
    for target in targets:
        hypernet.strategy.check_target(target)  # fail before training, not at step 1

    def loss_fn(model: HyperNetwork) -> tuple[torch.Tensor, torch.Tensor]:
        losses = []
        for target in targets:
            theta = model(context, target=target)
            losses.append(prediction_loss(target(x, theta), y))
        return torch.stack(losses).mean(), theta

    return train(hypernet, loss_fn, **train_options)


@dataclass(frozen=True)
class InputErrors:
    """One seed's errors against the true curves (one value per task) of Part 1's hypernets.

    known_*: the 32 training tasks; new_*: unseen tasks, from their examples (data) or from
    the known task with the closest true (A, φ) (oracle); fresh: training tasks, from new sets.
    """

    known_task: torch.Tensor
    known_data: torch.Tensor
    new_data: torch.Tensor
    new_oracle: torch.Tensor
    fresh_data: torch.Tensor

    @property
    def data_wins(self) -> int:
        """On how many new tasks the examples beat the oracle."""
        return int((self.new_data < self.new_oracle).sum())


def fresh_examples(tasks: TaskFamily, seed: int = 5) -> torch.Tensor:
    """A new set of (x, y) examples for every task of `tasks`: same (A, φ), new x in [-5, 5]."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.empty(tasks.x.shape).uniform_(-5, 5, generator=generator)
    amplitude, phase = tasks.params[:, :1, None], tasks.params[:, 1:, None]
    return torch.cat([x, amplitude * torch.sin(x + phase)], dim=-1)


@torch.no_grad()
def input_errors(
    task_hypernet: HyperNetwork,
    data_hypernet: HyperNetwork,
    tasks: TaskFamily,
    new: TaskFamily,
    grid: torch.Tensor,
    fresh: torch.Tensor,
) -> InputErrors:
    """Errors (MSE on `grid`) of a task- and a data-conditioned hypernet, as `InputErrors`."""
    target = task_hypernet.target
    nearest = torch.cdist(new.params, tasks.params).argmin(dim=1)  # uses the true A, φ

    def errors(theta: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        return curve_errors(predict(target, theta, grid), params, grid)

    return InputErrors(
        known_task=errors(task_hypernet(torch.arange(tasks.num_tasks)), tasks.params),
        known_data=errors(data_hypernet(tasks.examples()), tasks.params),
        new_data=errors(data_hypernet(new.examples()), new.params),
        new_oracle=errors(task_hypernet(nearest), new.params),
        fresh_data=errors(data_hypernet(fresh), tasks.params),
    )


@torch.no_grad()
def mean_error(
    hypernet: HyperNetwork,
    context,
    params: torch.Tensor,
    grid: torch.Tensor,
    target: TargetNetwork | None = None,
) -> float:
    """Mean error (MSE on `grid`) against `params` of the networks generated for `context`."""
    target = target or hypernet.target
    theta = hypernet(context, target=target)
    return curve_errors(predict(target, theta, grid), params, grid).mean().item()


def errors_by_training(results: Sequence[TargetResult]) -> tuple[list[float], list[float]]:
    """The errors of the trained architectures, and those of the untrained ones."""
    return [r.error for r in results if r.trained], [r.error for r in results if not r.trained]


def error_of(results: Sequence[TargetResult], target: MLPTarget) -> float:
    """The error `results` holds for `target`'s architecture."""
    return next(r.error for r in results if r.name == arch_name(target))


def zero_error(params: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Per task, the error of predicting 0 everywhere: the mean square of the true curve."""
    return sinusoid_curve(params, grid).pow(2).mean(dim=(1, 2))


def format_new_task_errors(per_seed: dict[int, InputErrors], zero: torch.Tensor) -> str:
    """Mean, median and worst error on the new tasks, per seed and source of Θ."""
    lines = [f"{'new tasks':<29}{'seed':>4}{'mean':>8}{'median':>8}{'worst':>8}   examples win on"]
    for seed, e in per_seed.items():
        for name, errors in [("data-conditioned (examples)", e.new_data),
                             ("nearest known task (oracle)", e.new_oracle)]:  # fmt: skip
            wins = f"{measured(e.data_wins)} of {len(errors)}" if errors is e.new_data else ""
            lines.append(
                f"{name:<29}{seed:>4}{errors.mean():>8.3f}{errors.median():>8.3f}"
                f"{errors.max():>8.3f}   {wins}"
            )
    lines.append(f"{'predict 0':<33}{zero.mean():>8.3f}{zero.median():>8.3f}{zero.max():>8.3f}")
    return "\n".join(lines)


@dataclass
class SeedHypernets:
    """One hypernet per seed, trained together: `losses[:, k]` is seed k's loss at each step."""

    seeds: list[int]
    hypernets: list[HyperNetwork]
    losses: torch.Tensor  # (steps, K)

    def final_losses(self, window: int = 20) -> list[float]:
        """Median loss of the last `window` steps, per seed (a spike does not move it)."""
        return self.losses[-window:].median(dim=0).values.tolist()


def train_target_sets(
    make_hypernet: Callable[[int], HyperNetwork],
    seeds: Sequence[int],
    context,
    x: torch.Tensor,
    y: torch.Tensor,
    target_sets: dict[str, Sequence[TargetNetwork]],
    steps: int = 400,
    lr: float = 3e-3,
) -> dict[str, SeedHypernets]:
    """`train_on_targets` for every (set of targets, seed) pair, all as one batch (vmap).

    Copy (set, seed) starts from `make_hypernet(seed)` and minimises the mean loss over its
    set; one Adam over the stacked copies equals one Adam per copy. A chunk-wise hypernet
    with an MLP or RNN body generates the largest target once: a smaller target's Θ is the
    start of the same stream.
    """
    seeds, names = list(seeds), list(target_sets)
    check_positive_int("steps", steps)
    check_positive_number("lr", lr)
    if not seeds or not names or not all(target_sets.values()):
        raise ValueError("give at least one seed and one non-empty set of targets")
    everything: list[TargetNetwork] = []
    for targets in target_sets.values():
        everything += [t for t in targets if all(t.sizes != u.sizes for u in everything)]
    # mask[k, i] = 1 / |set| if target i is in copy k's set: its loss is the mean over its set
    mask = torch.tensor(
        [[float(any(t.sizes == u.sizes for u in target_sets[name])) for t in everything]
         for name in names for _ in seeds]
    )  # fmt: skip
    mask = mask / mask.sum(dim=1, keepdim=True)
    hypernets = [make_hypernet(seed) for _ in names for seed in seeds]
    for target in everything:
        hypernets[0].strategy.check_target(target)  # fail before training, not at step 1
    params, buffers = stack_module_state(hypernets)
    base, biggest = hypernets[0], max(everything, key=lambda t: t.num_params)
    prefix = base.strategy_name == "chunk-wise" and base.body_name in ("mlp", "rnn")

    def copy_loss(p: dict, b: dict, weights: torch.Tensor) -> torch.Tensor:
        if prefix:
            full = functional_call(base, (p, b), (context,), {"target": biggest})
            thetas = [full[:, : t.num_params] for t in everything]
        else:
            thetas = [functional_call(base, (p, b), (context,), {"target": t}) for t in everything]
        losses = [prediction_loss(t(x, th), y) for t, th in zip(everything, thetas, strict=True)]
        return (torch.stack(losses) * weights).sum()

    batched = vmap(copy_loss)
    optimiser = Adam(list(params.values()), lr=lr)
    history = []
    # Every copy generates every target at each step: that many networks count towards a bar.
    bar = ProgressBar(steps, "target sets", copies=len(hypernets) * len(everything))
    with single_threaded():  # tiny networks: a second thread only adds synchronisation
        for step in range(steps):
            optimiser.zero_grad()
            losses = batched(params, buffers, mask)
            losses.sum().backward()
            optimiser.step()
            history.append(losses.detach())
            if (
                step + 1
            ) % REFRESH_EVERY == 0 or step == steps - 1:  # the bar redraws no more often
                bar.update(step + 1, losses.detach().median().item())
    bar.close()
    with torch.no_grad():
        for k, hypernet in enumerate(hypernets):
            for name, tensor in hypernet.named_parameters():
                tensor.copy_(params[name][k])
    losses, k = torch.stack(history), len(seeds)
    return {
        name: SeedHypernets(seeds, hypernets[i * k : (i + 1) * k], losses[:, i * k : (i + 1) * k])
        for i, name in enumerate(names)
    }


@dataclass(frozen=True)
class TargetResult:
    """How well the network generated for one architecture fits the true curves."""

    name: str
    num_params: int
    error: float
    trained: bool


@torch.no_grad()
def target_errors(
    hypernet: HyperNetwork,
    context,
    targets: Sequence[MLPTarget],
    params: torch.Tensor,
    grid: torch.Tensor,
    trained: Sequence[MLPTarget] = (),
) -> list[TargetResult]:
    """Per target: MSE of the generated networks against the sinusoids `params` on `grid`."""
    trained_sizes = [t.sizes for t in trained]
    results = []
    for target in targets:
        theta = hypernet(context, target=target)
        error = curve_errors(predict(target, theta, grid), params, grid).mean().item()
        results.append(
            TargetResult(arch_name(target), target.num_params, error, target.sizes in trained_sizes)
        )
    return results


def as_float_text(value: float) -> str:
    """3 significant digits, always with a decimal point or an exponent (607.3, not 607)."""
    text = f"{value:.3g}"
    return text if "." in text or "e" in text or "n" in text else f"{value:.1f}"


def format_results(per_seed: dict[int, Sequence[TargetResult]]) -> str:
    """Per architecture: P, its error in each seed, and whether it was trained.

    Errors print as floats ("607.3", never "607"): a measured number keeps its decimal point,
    which is what the nbval sanitizer recognises.
    """
    seeds = list(per_seed)
    rows = list(zip(*per_seed.values(), strict=True))
    header = "".join(f"{f'seed {s}':>10}" for s in seeds)
    lines = [f"{'target':<15}{'P':>6}{header}   trained on it?"]
    for row in rows:
        errors = "".join(f"{as_float_text(r.error):>10}" for r in row)
        seen = "yes" if row[0].trained else "no"
        lines.append(f"{row[0].name:<15}{row[0].num_params:>6,}{errors}   {seen}")
    return "\n".join(lines)


MAP_CELLS = {
    ("static", "static"): "task ids → one fixed target\nvaries: only which known task",
    ("dynamic", "static"): "examples or noise → one fixed target\nvaries: Θ with every new context",
    ("static", "dynamic"): "task ids → target chosen at call time\nvaries: the size P of Θ",
    ("dynamic", "dynamic"): "examples or noise → target chosen at call time\nvaries: Θ and P",
}


def static_dynamic_map(cells: dict[tuple[str, str], str] | None = None) -> Figure:
    """The 2×2 map: input (static, dynamic) across, output (static, dynamic) down.

    `cells` maps (input, output) to the text of that cell; only (static, static) is a static
    hypernet, the other three are dynamic.
    """
    cells = {**MAP_CELLS, **(cells or {})}
    figure, ax = plt.subplots(figsize=(8.5, 4.2), layout="constrained")
    kinds = ("static", "dynamic")
    for col, given in enumerate(kinds):
        for row, made in enumerate(kinds):
            static = given == made == "static"
            colour = "#cfe0f3" if static else "#f8dcc4"
            ax.add_patch(plt.Rectangle((col, 1 - row), 1, 1, fc=colour, ec="white", lw=3))
            kind = "STATIC hypernet" if static else "DYNAMIC hypernet"
            ax.text(col + 0.5, 1.82 - row, kind, ha="center", weight="bold", fontsize=10)
            ax.text(col + 0.5, 1.45 - row, cells[(given, made)], ha="center", va="center")
    ax.set_xlim(0, 2)
    ax.set_ylim(0, 2)
    ax.set_xticks([0.5, 1.5], ["static input (§3.3)", "dynamic input (§3.3)"])
    ax.set_yticks([1.5, 0.5], ["static output\n(§3.4)", "dynamic output\n(§3.4)"])
    ax.tick_params(length=0)
    ax.xaxis.tick_top()
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title("Static and dynamic hypernets (§3.5)", pad=28)
    return figure
