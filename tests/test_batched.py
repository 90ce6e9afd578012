"""Batched training: one Adam over K runs equals K separate runs; stacked copies of a module."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hyperviz.batched import Stacked, train_jointly


def _runs(seed: int) -> list[nn.Linear]:
    torch.manual_seed(seed)
    return [nn.Linear(3, 1) for _ in range(2)]


def test_training_jointly_equals_training_each_run_alone():
    x, y = torch.randn(20, 3), torch.randn(20, 1)
    together = _runs(0)

    def losses_fn(step: int) -> torch.Tensor:
        return torch.stack([(m(x) - y).pow(2).mean() * (k + 1) for k, m in enumerate(together)])

    parameters = [p for m in together for p in m.parameters()]
    losses = train_jointly(losses_fn, parameters, steps=30, lr=1e-2)
    assert losses.shape == (30, 2) and bool((losses[-1] < losses[0]).all())
    for k, alone in enumerate(_runs(0)):
        optimiser = torch.optim.Adam(alone.parameters(), lr=1e-2)
        for _ in range(30):
            optimiser.zero_grad()
            ((alone(x) - y).pow(2).mean() * (k + 1)).backward()
            optimiser.step()
        torch.testing.assert_close(alone.weight, together[k].weight, atol=1e-5, rtol=1e-4)


def test_a_loss_that_is_not_finite_stops_training():
    weight = nn.Parameter(torch.ones(2))
    with pytest.raises(FloatingPointError, match="lower lr"):
        train_jointly(lambda step: weight * float("nan"), [weight], steps=3, lr=1e-3)
    with pytest.raises(ValueError, match="steps=0"):
        train_jointly(lambda step: weight.sum()[None], [weight], steps=0, lr=1e-3)


def test_stacked_copies_run_as_one_call_and_copy_back():
    copies = _runs(1)
    stacked = Stacked(copies)
    x = torch.randn(5, 3)
    out = stacked(x)
    assert out.shape == (2, 5, 1)
    for k, m in enumerate(copies):
        torch.testing.assert_close(out[k], m(x))
    with torch.no_grad():
        stacked.params["weight"].add_(1.0)
    for k, m in enumerate(stacked.unstack()):
        torch.testing.assert_close(m.weight, stacked.params["weight"][k])
