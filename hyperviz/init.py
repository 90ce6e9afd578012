"""Initialising hypernets (survey §6): hyperfan-in and hyperfan-out (Chang et al., ICLR 2020).

A hypernet's output layer decides the scale of every generated weight. With PyTorch's
default init that scale has nothing to do with the target's fan-in. Hyperfan init picks
the output layer's weights so the generated weights have the variance a Kaiming (fan-in)
or fan-out init would give the target directly:

    Var(θ) = d_k · Var(H_row) · E[h²]   =>   Var(H_row) = target_var / (d_k · E[h²])

where h (d_k features) is what the body feeds the output layer. We measure E[h²] on a probe
context rather than derive it, and set the output-layer biases and every row that only
makes target biases to zero, so generated biases start at zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from hyperviz.checks import check_choice
from hyperviz.targets import TargetNetwork


def target_variances(target: TargetNetwork, mode: str = "in") -> torch.Tensor:
    """Per entry of Θ: the variance a Kaiming init (fan `mode`) gives it; 0 for biases."""
    check_choice("mode", mode, ("in", "out"))
    gain2 = 2.0 if getattr(target, "activation", "relu") == "relu" else 1.0
    parts = []
    for layer in target.layers:
        fan = layer.fan_in if mode == "in" else layer.fan_out
        parts += [
            torch.full((math.prod(layer.weight_shape),), gain2 / fan),
            torch.zeros(math.prod(layer.bias_shape)),
        ]
    return torch.cat(parts)


def probe_context(
    hypernet: nn.Module, generator: torch.Generator | None = None
) -> int | torch.Tensor:
    """A context to run the hypernet on at init, as its conditioner says.

    Every task, 256 noise draws or 8 random sets of 16 examples.
    """
    return hypernet.conditioner.probe_context(generator)


@torch.no_grad()
def hyperfan_init(hypernet: nn.Module, mode: str = "in") -> None:
    """Rescale the hypernet's output layer(s): generated weights get Kaiming fan-`mode` variance."""
    generator = torch.Generator().manual_seed(0)
    wanted = target_variances(hypernet.target, mode)
    captured: dict[nn.Linear, torch.Tensor] = {}
    layout = hypernet.strategy.layout(hypernet.target)
    hooks = [
        head.register_forward_hook(lambda m, inputs, out: captured.__setitem__(m, inputs[0]))
        for head, _ in layout
    ]
    hypernet(probe_context(hypernet, generator), generator=generator)
    for hook in hooks:
        hook.remove()
    for head, rows in layout:
        features = captured[head]
        mean_square = features.pow(2).mean().clamp_min(1e-8).item()
        row_var = _row_variance(wanted, rows)
        std = (row_var / (head.in_features * mean_square)).sqrt()
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * std[:, None])
        head.bias.zero_()


def _row_variance(wanted: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Mean wanted variance over the weight entries each output row makes (0 if only biases)."""
    padded = torch.cat([wanted, torch.zeros(1)])
    values = padded[rows]  # index -1 reads the padding zero
    is_weight = values > 0
    return values.sum(1) / is_weight.sum(1).clamp_min(1)


@dataclass(frozen=True)
class LayerVariance:
    """Variance of the generated weights of one target layer beside classic inits."""

    layer: str
    generated: float
    kaiming: float
    xavier: float


@torch.no_grad()
def weight_variance_report(hypernet: nn.Module, context=None) -> list[LayerVariance]:
    """Per target layer: Var of the generated weights, and Kaiming and Xavier variances."""
    target = hypernet.target
    generator = torch.Generator().manual_seed(0)
    if context is None:
        context = probe_context(hypernet, generator)
    params = target.unflatten(hypernet(context, generator=generator))
    gain2 = 2.0 if getattr(target, "activation", "relu") == "relu" else 1.0
    return [
        LayerVariance(
            layer.name,
            params[f"{layer.name}.weight"].var().item(),
            gain2 / layer.fan_in,
            2.0 / (layer.fan_in + layer.fan_out),
        )
        for layer in target.layers
    ]


def format_variance_report(report: list[LayerVariance]) -> str:
    """The variance report as a small aligned table (three significant digits)."""
    lines = [f"{'layer':<8}{'generated':>12}{'Kaiming':>12}{'Xavier':>12}"]
    lines += [
        f"{r.layer:<8}{r.generated:>12.3g}{r.kaiming:>12.3g}{r.xavier:>12.3g}" for r in report
    ]
    return "\n".join(lines)
