"""Notebook 06, continual learning (survey §4, Continual learning): von Oswald et al. 2020.

A task-conditioned hypernet learns tasks one after another: each task gets a new embedding,
and an output regulariser (`hyperviz.continual.output_regulariser`, weight β) keeps the Θ it
generates for earlier tasks where they were. `compare` trains, as one batch, such a hypernet
for every (β, seed) and a plain DNN fine-tuned through the same tasks for every seed, on
permuted digits (`digits_comparison`) and on the paper's three-polynomial toy
(`polynomial_comparison`). β = 0 is the same hypernet without the regulariser: it separates
what the regulariser does from what the architecture does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from hyperviz.claims import spread
from hyperviz.continual import (
    SequenceRun,
    TaskSequence,
    permuted_digits,
    polynomial_sequence,
    train_sequence,
)
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.models import DNN, HyperDNN, count_learnable
from hyperviz.tables import aligned
from hyperviz.targets import MLPTarget, TargetNetwork
from hyperviz.training import single_threaded

BETAS = (0.0, 0.01, 0.1, 1.0)
SEEDS = (0, 1, 2)


@dataclass
class Comparison:
    """Hypernets for every (β, seed) and fine-tuned DNNs for every seed, on one task sequence."""

    name: str
    tasks: TaskSequence
    target: TargetNetwork
    betas: tuple[float, ...]
    seeds: tuple[int, ...]
    run: SequenceRun  # models: hypernets β-major then seed, then one DNN per seed
    learnable: int  # Φ of one hypernet

    @property
    def metric(self) -> str:
        return self.tasks.metric

    def hypernet(self, beta: float) -> torch.Tensor:
        """(seeds, T, T): the score matrices of the hypernets trained with this β."""
        b = self._beta_index(beta)
        return self.run.scores[b * len(self.seeds) : (b + 1) * len(self.seeds)]

    def dnn(self) -> torch.Tensor:
        """(seeds, T, T): the score matrices of the fine-tuned DNNs."""
        return self.run.scores[len(self.betas) * len(self.seeds) :]

    def theta(self, beta: float | None, seed: int, after: int) -> torch.Tensor:
        """Θ (after + 1, P) of tasks 0..after once task `after` was trained; β None: the DNN."""
        if seed not in self.seeds:
            raise ValueError(f"seed={seed!r} was not trained; trained: {list(self.seeds)}")
        row = len(self.betas) if beta is None else self._beta_index(beta)  # DNNs come last
        return self.run.thetas[after][row * len(self.seeds) + self.seeds.index(seed)]

    def _beta_index(self, beta: float) -> int:
        if beta not in self.betas:
            raise ValueError(f"beta={beta!r} was not trained; trained: {list(self.betas)}")
        return self.betas.index(beta)


def compare(
    name: str,
    tasks: TaskSequence,
    target: TargetNetwork,
    make_hypernet: Callable[[int], HyperNetwork],
    seeds: Sequence[int] = SEEDS,
    betas: Sequence[float] = BETAS,
    **train_options,
) -> Comparison:
    """Train every (β, seed) hypernet and one fine-tuned DNN per seed through `tasks` at once."""
    seeds, betas = tuple(seeds), tuple(float(b) for b in betas)
    hypernets = [HyperDNN(make_hypernet(seed)) for _ in betas for seed in seeds]
    dnns = [DNN(target, seed=seed) for seed in seeds]
    weights = [beta for beta in betas for _ in seeds] + [0.0] * len(seeds)
    with single_threaded():  # tiny networks: one thread is as fast, and repeats on 1 CPU
        run = train_sequence([*hypernets, *dnns], tasks, weights, **train_options)
    return Comparison(name, tasks, target, betas, seeds, run, count_learnable(hypernets[0]))


def digits_comparison(
    seeds: Sequence[int] = SEEDS,
    betas: Sequence[float] = BETAS,
    num_tasks: int = 5,
    steps: int = 60,
    hidden: int = 32,
) -> Comparison:
    """Permuted 8x8 digits: an MLP 64 → `hidden` → 10, its weights made chunk by chunk."""
    tasks = permuted_digits(num_tasks)
    target = MLPTarget([64, hidden, 10])

    def make_hypernet(seed: int) -> HyperNetwork:
        return HyperNetwork(
            target, "task", "chunk-wise", num_tasks=num_tasks, hidden=64, chunk_size=256, seed=seed
        )

    return compare(
        "permuted digits", tasks, target, make_hypernet, seeds, betas,
        steps=steps, lr=5e-3, batch_size=128,
    )  # fmt: skip


def polynomial_comparison(
    seeds: Sequence[int] = SEEDS, betas: Sequence[float] = BETAS, steps: int = 200
) -> Comparison:
    """The paper's toy, three polynomials in turn: an MLP 1 → 10 → 10 → 1 (tanh), one-shot."""
    tasks = polynomial_sequence()
    target = MLPTarget([1, 10, 10, 1], activation="tanh")

    def make_hypernet(seed: int) -> HyperNetwork:
        return HyperNetwork(
            target, "task", "one-shot", num_tasks=3, hidden=64, embedding_dim=2, seed=seed
        )

    return compare(
        "three polynomials", tasks, target, make_hypernet, seeds, betas, steps=steps, lr=1e-2
    )


def earlier_after_last(scores: torch.Tensor) -> torch.Tensor:
    """(...): after the last task, the mean score over all earlier tasks (the last row, bar one)."""
    return scores[..., -1, :-1].mean(-1)


def learned_later(scores: torch.Tensor) -> torch.Tensor:
    """(...): the mean score of tasks 2..T right after each was trained (the diagonal, bar one)."""
    return scores.diagonal(dim1=-2, dim2=-1)[..., 1:].mean(-1)


def rise(scores: torch.Tensor, task: int = 0) -> torch.Tensor:
    """(...): how many times a task's error grew from right after it was learned to the end."""
    return scores[..., -1, task] / scores[..., task, task]


SUMMARY = {
    "task 1, just learned": lambda scores: scores[:, 0, 0],
    "task 1, at the end": lambda scores: scores[:, -1, 0],
    "earlier tasks, at the end": earlier_after_last,
    "later tasks, just learned": learned_later,
}


def format_summary(comparison: Comparison) -> str:
    """One row per model kind: mean ± std over the seeds of each `SUMMARY` column."""
    kinds = {"fine-tuned DNN": comparison.dnn()}
    kinds |= {f"hypernet, β = {b:g}": comparison.hypernet(b) for b in comparison.betas}
    style = ".2f" if comparison.metric == "accuracy" else "#.2g"  # "#": never "3" for 3.0
    rows = []
    for name, scores in kinds.items():
        values = [spread(column(scores).tolist()) for column in SUMMARY.values()]
        rows.append([name, *(f"{v.mean:{style}} ± {v.std:{style}}" for v in values)])
    return aligned(
        [f"{comparison.metric} (mean ± std, {len(comparison.seeds)} seeds)", *SUMMARY], rows
    )
