"""Notebook 10, causal inference (survey §4; HyperITE, Chauhan et al. 2024): a hypernet
conditioned on the treatment arm against the T- and S-learners and against one hypernet per
arm (the same hypernets without sharing), over dataset sizes and seeds.

`run_experiment` draws one confounded study per seed (`hyperviz.causal`), fits the three
learners to the first n units of it for every size n, all runs of all learners as one batch,
and scores each run's estimated effect τ̂(x) against the true τ(x) by its √PEHE on held-out
units drawn from the same covariate distribution. It also keeps every run's τ̂ along one
covariate (x1, with x2 = 0) for the notebook's picture and its dashboard, which never trains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from hyperviz.causal import (
    COVARIATE_RANGE,
    NestedRuns,
    Study,
    confounded_study,
    fit_learners,
    hyper_t_learner,
    s_learner,
    sqrt_pehe,
    t_learner,
    treatment_effect,
)
from hyperviz.claims import spread
from hyperviz.tables import aligned
from hyperviz.training import single_threaded

SIZES = (50, 100, 200)
SEEDS = tuple(range(12))
LEARNERS = ("T-learner", "S-learner", "hypernet per arm", "HyperITE")
TEST_SEED = 10**6  # the held-out units every run is scored on
REGIONS = ("x1 < 0", "x1 ≥ 0")  # few treated units / many treated units


@dataclass(frozen=True)
class CausalExperiment:
    """Every learner's √PEHE and τ̂ along x1, per seed and dataset size, and the data behind."""

    seeds: tuple[int, ...]
    sizes: tuple[int, ...]
    study: Study  # one dataset per seed, max(sizes) units each; run (seed, n) used the first n
    pehe: dict[str, torch.Tensor]  # learner -> (seeds, sizes) √PEHE on the held-out units
    region_pehe: dict[str, torch.Tensor]  # learner -> (seeds, sizes, REGIONS) the same by region
    best_step: dict[str, torch.Tensor]  # learner -> (seeds, sizes) step kept by early stopping
    slice_x1: torch.Tensor  # (G,) x1 along the slice; every other covariate is 0
    slice_truth: torch.Tensor  # (G,) τ along the slice
    slice_effect: dict[str, torch.Tensor]  # learner -> (seeds, sizes, G) τ̂ along the slice
    learnable: dict[str, int]  # learner -> numbers one run learns
    steps: int

    def mean_pehe(self, learner: str) -> torch.Tensor:
        """√PEHE averaged over seeds, one value per size."""
        return self.pehe[learner].mean(0)

    def units(self, seed: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """x1 of the control units and of the treated units among the first `size` of `seed`."""
        i = self.seeds.index(seed)
        x1, t = self.study.x[i, :size, 0], self.study.t[i, :size]
        return x1[t == 0], x1[t == 1]


def run_experiment(
    seeds: Sequence[int] = SEEDS,
    sizes: Sequence[int] = SIZES,
    steps: int = 300,
    lr: float = 1e-2,
    test_units: int = 1000,
    slice_points: int = 81,
) -> CausalExperiment:
    """Fit the four LEARNERS to every (seed, size), all runs of all of them as one batch.

    Run (seed, n) fits the first n units of seed's study; its networks start from that seed.
    """
    seeds, sizes = tuple(seeds), tuple(sizes)
    study = confounded_study(seeds, max(sizes))
    runs = NestedRuns(study, sizes)
    run_seeds = [seeds[i] for i, _ in runs.runs]
    with single_threaded():  # tiny networks: one thread is as fast, and repeats on 1 CPU
        learners = [
            t_learner(run_seeds),
            s_learner(run_seeds),
            hyper_t_learner(run_seeds, shared=False),
            hyper_t_learner(run_seeds),
        ]
        description = f"{len(learners)} learners × {len(runs)} runs"
        fitted = fit_learners(learners, runs, steps=steps, lr=lr, description=description)
    test = confounded_study([TEST_SEED], test_units).x[0]
    truth, regions = treatment_effect(test), [test[:, 0] < 0, test[:, 0] >= 0]
    x1 = torch.linspace(*COVARIATE_RANGE, slice_points)
    along = torch.stack([x1, torch.zeros_like(x1)], 1)
    shape = (len(seeds), len(sizes))
    effects = {name: f.effect(test) for name, f in fitted.items()}  # (runs, test units)
    return CausalExperiment(
        seeds=seeds,
        sizes=sizes,
        study=study,
        pehe={n: sqrt_pehe(e, truth).view(shape) for n, e in effects.items()},
        region_pehe={
            n: torch.stack([sqrt_pehe(e[:, r], truth[r]) for r in regions], -1).view(*shape, -1)
            for n, e in effects.items()
        },
        best_step={n: f.best_step.view(shape) for n, f in fitted.items()},
        slice_x1=x1,
        slice_truth=treatment_effect(along),
        slice_effect={n: f.effect(along).view(*shape, -1) for n, f in fitted.items()},
        learnable={
            n: sum(p.numel() for p in f.learner.parameters) // len(runs) for n, f in fitted.items()
        },
        steps=steps,
    )


def pehe_table(experiment: CausalExperiment) -> str:
    """Mean √PEHE over seeds (± its standard deviation) per learner and dataset size."""
    headers = ["learner", *[f"n = {n}" for n in experiment.sizes]]
    rows = []
    for name in LEARNERS:
        per_size = experiment.pehe[name].T  # (sizes, seeds)
        cells = [spread(values.tolist()) for values in per_size]
        rows.append([name, *[f"{s.mean:.2f} ± {s.std:.2f}" for s in cells]])
    return aligned(headers, rows)
