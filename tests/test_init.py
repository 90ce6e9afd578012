"""Hyperfan init (Chang et al. 2020): generated weights get the variance Kaiming would give.

Measured on target [1, 32, 32, 1], one-shot and multi-head, every conditioning, seeds 0-4:
Var(generated) / (2 / fan_in) per layer
- hyperfan-in, any body: fc0 0.71-1.60, fc1 0.91-1.09, fc2 0.72-1.63 -> within a factor 2;
- default init, MLP body: fc0 0.002-0.013, fc1 0.11-0.35, fc2 0.08-0.37 -> never within 2;
- default init, any body: fc0 at most 0.12 (the input layer, fan-in 1, is always far off).
"""

from __future__ import annotations

import itertools

import pytest
import torch

from hyperviz import (
    BODIES,
    CONDITIONINGS,
    HyperNetwork,
    MLPTarget,
    format_variance_report,
    hyperfan_init,
    weight_variance_report,
)
from hyperviz.init import _row_variance, probe_context, target_variances

TARGET = MLPTarget([1, 32, 32, 1])
FACTOR = 2.0
EXTRA = {"task": {"num_tasks": 4}, "data": {"data_features": 2}, "noise": {}}


def variance_ratios(strategy: str, conditioning: str, body: str, init: str) -> dict[str, float]:
    """Per layer: Var(generated weights) / Kaiming's 2 / fan_in, at init."""
    torch.manual_seed(0)
    hypernet = HyperNetwork(TARGET, conditioning, strategy, body, init=init, **EXTRA[conditioning])
    return {r.layer: r.generated / r.kaiming for r in weight_variance_report(hypernet)}


@pytest.mark.parametrize(
    ("strategy", "conditioning", "body"),
    list(itertools.product(["one-shot", "multi-head"], CONDITIONINGS, BODIES)),
)
def test_hyperfan_in_matches_kaiming_variance_within_a_factor_two(strategy, conditioning, body):
    ratios = variance_ratios(strategy, conditioning, body, "hyperfan-in")
    for layer, ratio in ratios.items():
        assert 1 / FACTOR < ratio < FACTOR, (layer, ratio)


@pytest.mark.parametrize("strategy", ["one-shot", "multi-head"])
@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_default_init_misses_kaiming_variance(strategy, conditioning):
    """What the notebook shows: PyTorch's default output layer ignores the target's fan-in."""
    ratios = variance_ratios(strategy, conditioning, "mlp", "default")
    assert ratios["fc0"] < 0.05  # fan-in 1 wants variance 2; default gives about 1/100 of it
    for layer, ratio in ratios.items():
        assert not 1 / FACTOR < ratio < FACTOR, (layer, ratio)


@pytest.mark.parametrize("body", BODIES)
def test_default_init_input_layer_variance_is_far_too_small_for_any_body(body):
    assert variance_ratios("one-shot", "task", body, "default")["fc0"] < 0.2


def test_hyperfan_out_matches_fan_out_variance():
    torch.manual_seed(0)
    hypernet = HyperNetwork(TARGET, "noise", "one-shot", init="hyperfan-out")
    for report, layer in zip(weight_variance_report(hypernet), TARGET.layers, strict=True):
        ratio = report.generated / (2 / layer.fan_out)
        assert 1 / FACTOR < ratio < FACTOR, (layer.name, ratio)


@pytest.mark.parametrize("strategy", ["one-shot", "multi-head", "chunk-wise", "component-wise"])
def test_hyperfan_init_starts_generated_biases_at_zero(strategy):
    """Every output row that makes only biases gets zero weights and zero bias."""
    hypernet = HyperNetwork(TARGET, "task", strategy, init="hyperfan-in", num_tasks=3)
    params = TARGET.unflatten(hypernet(torch.arange(3)))
    if strategy in ("one-shot", "multi-head"):
        for layer in TARGET.layers:
            assert params[f"{layer.name}.bias"].abs().max() == 0
    for head, _ in hypernet.strategy.layout(TARGET):
        assert head.bias.abs().max() == 0


def test_hyperfan_init_is_repeatable_and_leaves_the_body_alone():
    torch.manual_seed(0)
    a = HyperNetwork(TARGET, strategy="multi-head")
    body_before = [p.clone() for p in a.strategy.body.parameters()]
    hyperfan_init(a)
    torch.manual_seed(0)
    b = HyperNetwork(TARGET, strategy="multi-head", init="hyperfan-in")
    for head_a, head_b in zip(a.strategy.heads, b.strategy.heads, strict=True):
        assert torch.equal(head_a.weight, head_b.weight)
    for before, after in zip(body_before, a.strategy.body.parameters(), strict=True):
        assert torch.equal(before, after)


def test_target_variances_per_entry():
    target = MLPTarget([2, 4, 1])
    wanted_in = target_variances(target, "in")
    assert wanted_in.tolist() == [1.0] * 8 + [0.0] * 4 + [0.5] * 4 + [0.0]
    wanted_out = target_variances(target, "out")
    assert wanted_out.tolist() == [0.5] * 8 + [0.0] * 4 + [2.0] * 4 + [0.0]
    tanh = target_variances(MLPTarget([2, 4, 1], activation="tanh"), "in")
    assert tanh[:8].tolist() == [0.5] * 8  # gain 1 instead of 2 without ReLU


def test_row_variance_averages_over_the_weights_a_row_makes():
    """Shared heads (chunk-, component-wise): a row's variance ignores its biases and padding."""
    wanted = torch.tensor([2.0, 0.0, 0.5, 0.5])  # weight, bias, weight, weight
    rows = torch.tensor([[0, 2], [1, -1], [3, 1]])
    assert _row_variance(wanted, rows).tolist() == [1.25, 0.0, 0.5]


def test_variance_report_table():
    torch.manual_seed(0)
    report = weight_variance_report(HyperNetwork(TARGET))
    assert [r.layer for r in report] == ["fc0", "fc1", "fc2"]
    assert [r.kaiming for r in report] == pytest.approx([2.0, 2 / 32, 2 / 32])
    assert [r.xavier for r in report] == pytest.approx([2 / 33, 2 / 64, 2 / 33])
    lines = format_variance_report(report).splitlines()
    assert lines[0].split() == ["layer", "generated", "Kaiming", "Xavier"]
    assert lines[2].split()[0] == "fc1" and lines[2].split()[2] == "0.0625"


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_probe_context_is_the_conditioners(conditioning):
    hypernet = HyperNetwork(TARGET, conditioning, **EXTRA[conditioning])
    mine = probe_context(hypernet, torch.Generator().manual_seed(1))
    its = hypernet.conditioner.probe_context(torch.Generator().manual_seed(1))
    assert torch.equal(torch.as_tensor(mine), torch.as_tensor(its))
