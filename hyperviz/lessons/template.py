"""Notebook template (survey §2, Eq. 1): the shape of a lesson module; copy it for a new one.

A lesson module holds one notebook's experiment code. It builds models from the core, trains
them once (over several seeds) and returns plain results: the notebook prints and checks
them, and hands them to its dashboard (`template_dashboard.py`), which never trains.
The experiment here: one task-conditioned hypernet fitted to a few sinusoid tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from hyperviz.data import TaskFamily, sinusoid_curve, sinusoid_tasks
from hyperviz.evaluation import dense_grid, predict
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.models import HyperDNN, count_learnable
from hyperviz.progress import progress_stage
from hyperviz.targets import MLPTarget
from hyperviz.training import History, fit, seed_everything, single_threaded


@dataclass(frozen=True)
class SeedRun:
    """One seed's trained hypernet: its history, generated Θ (tasks, P) and predictions."""

    seed: int
    history: History
    theta: torch.Tensor  # (T, P)
    predictions: torch.Tensor  # (T, G, 1) on the grid
    learnable: int


@dataclass(frozen=True)
class TemplateResult:
    """Everything the notebook and its dashboard show: the data and one run per seed."""

    target: MLPTarget
    tasks: TaskFamily
    grid: torch.Tensor  # (G, 1)
    truth: torch.Tensor  # (T, G, 1)
    runs: dict[int, SeedRun]


def run_experiment(
    seeds: Sequence[int] = (0, 1, 2),
    num_tasks: int = 4,
    steps: int = 300,
    lr: float = 3e-3,
) -> TemplateResult:
    """Fit one chunk-wise, task-conditioned hypernet per seed to the same sinusoid tasks."""
    target = MLPTarget([1, 32, 32, 1])
    tasks = sinusoid_tasks(num_tasks=num_tasks, num_points=20, seed=0)
    grid = dense_grid(200)
    task_ids = torch.arange(num_tasks)
    runs = {}
    # Tiny networks: one thread is as fast, and repeats on 1 CPU. One bar for all the seeds.
    with single_threaded(), progress_stage(steps * len(seeds), "seeds"):
        for seed in seeds:
            seed_everything(seed)
            hypernet = HyperNetwork(target, "task", "chunk-wise", num_tasks=num_tasks)
            model = HyperDNN(hypernet)
            history = fit(model, tasks.x, tasks.y, context=task_ids, steps=steps, lr=lr, seed=seed)
            with torch.no_grad():
                theta = model.weights(task_ids)
            predictions = predict(target, theta, grid)
            runs[seed] = SeedRun(seed, history, theta, predictions, count_learnable(model))
    return TemplateResult(target, tasks, grid, sinusoid_curve(tasks.params, grid), runs)
