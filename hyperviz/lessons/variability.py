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
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from hyperviz.checks import check_positive_int
from hyperviz.evaluation import curve_errors, predict
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.targets import MLPTarget, TargetNetwork
from hyperviz.training import History, prediction_loss, train


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


def format_results(results: Sequence[TargetResult]) -> str:
    """The results as an aligned table: architecture, P, error, and whether it was trained."""
    lines = [f"{'target':<14}{'P':>7}{'error':>11}   trained on it?"]
    for r in results:
        seen = "yes" if r.trained else "no"
        lines.append(f"{r.name:<14}{r.num_params:>7,}{r.error:>11.3g}   {seen}")
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
