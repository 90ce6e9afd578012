"""Shared toy problem for the core tests: two linear tasks y = x and y = -x on 16 points."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from hyperviz import HyperDNN, HyperNetwork, MLPTarget, seed_everything

TINY_SIZES = [1, 16, 16, 1]


@dataclass
class ToyProblem:
    """A context and the (x, y) the hypernet must fit under it."""

    context: object
    x: torch.Tensor
    y: torch.Tensor


def two_tasks() -> tuple[torch.Tensor, torch.Tensor]:
    """x (2, 16, 1) and y (2, 16, 1): task 0 is y = x, task 1 is y = -x."""
    x = torch.linspace(-1, 1, 16).unsqueeze(1)
    return torch.stack([x, x]), torch.stack([x, -x])


def toy_problem(conditioning: str) -> ToyProblem:
    """Both tasks for task and data conditioning; task 0 only (4 noise draws) for noise."""
    x, y = two_tasks()
    if conditioning == "task":
        return ToyProblem(torch.arange(2), x, y)
    if conditioning == "data":
        return ToyProblem(torch.cat([x, y], dim=-1), x, y)
    return ToyProblem(4, x[0], y[0])


def toy_hyperdnn(conditioning: str, strategy: str, body: str, seed: int = 0, **options) -> HyperDNN:
    """A small HyperDNN for the tiny target, seeded so that its init repeats."""
    seed_everything(seed)
    extra = {"task": {"num_tasks": 2}, "data": {"data_features": 2}, "noise": {}}[conditioning]
    hypernet = HyperNetwork(
        MLPTarget(TINY_SIZES),
        conditioning=conditioning,
        strategy=strategy,
        body=body,
        hidden=32,
        **extra,
        **options,
    )
    return HyperDNN(hypernet)


@pytest.fixture
def tiny_target() -> MLPTarget:
    return MLPTarget(TINY_SIZES)


@pytest.fixture
def make_hyperdnn():
    """The `toy_hyperdnn` builder."""
    return toy_hyperdnn


@pytest.fixture
def make_problem():
    """The `toy_problem` builder."""
    return toy_problem
