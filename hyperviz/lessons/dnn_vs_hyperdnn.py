"""Notebook 01 (survey §2, Fig. 1, Eq. 1): a DNN and a HyperDNN trained on one task, over seeds.

Both models run the same target network. `run_experiment` trains each of them for every seed
(as one batch, `fit_seeds`) on a few samples of one sinusoid, and the DNN also on many samples,
and scores every run against the true curve. The notebook prints and checks the results; its
dashboard (`dnn_vs_hyperdnn_dashboard.py`) steps through one seed's training.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from hyperviz.data import sinusoid_curve, sinusoid_tasks
from hyperviz.evaluation import dense_grid, predict
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.models import DNN, HyperDNN
from hyperviz.optim import Adam
from hyperviz.progress import progress_stage
from hyperviz.seeds import SeedRuns, fit_seeds
from hyperviz.targets import MLPTarget, TargetNetwork
from hyperviz.training import History, single_threaded

SEEDS = (0, 1, 2)
MODELS = ("DNN", "HyperDNN")
REGIMES = {30: MODELS, 200: ("DNN",)}  # samples -> models trained on them
LEARNING_RATES = {"DNN": 3e-3, "HyperDNN": 1e-3}
CHUNK_SIZE = 256


def make_model(name: str, target: TargetNetwork, seed: int) -> DNN | HyperDNN:
    """The notebook's DNN, or its HyperDNN (task-conditioned, chunk-wise), seeded."""
    if name == "DNN":
        return DNN(target, seed=seed)
    hypernet = HyperNetwork(target, "task", "chunk-wise", chunk_size=CHUNK_SIZE, seed=seed)
    return HyperDNN(hypernet)


def relative_error(
    target: TargetNetwork, theta: torch.Tensor, grid: torch.Tensor, truth: torch.Tensor
) -> float:
    """MSE against the true curve on the grid, as a fraction of the curve's mean square."""
    prediction = predict(target, theta, grid)[0]
    return float((prediction - truth).pow(2).mean() / truth.pow(2).mean())


def late_snapshot(
    target: TargetNetwork,
    history: History,
    grid: torch.Tensor,
    truth: torch.Tensor,
    end: int | None = None,
    window: int = 100,
) -> tuple[int, float]:
    """The Θ snapshot of median `relative_error` in the `window` steps before `end` (default:
    the end of training): its step and error, so one late Adam spike does not decide a score."""
    end = max(history.snapshots) + 1 if end is None else end
    steps = [s for s in history.snapshots if end - window <= s < end]
    if not steps:
        raise ValueError(f"no snapshot in steps {end - window}..{end - 1}; snapshot more often")
    scored = sorted((relative_error(target, history.snapshots[s], grid, truth), s) for s in steps)
    error, step = scored[(len(scored) - 1) // 2]  # the lower median: an actual snapshot
    return step, error


@dataclass(frozen=True)
class Regime:
    """One data set (the same sinusoid, `num_points` samples) and both models over seeds."""

    num_points: int
    x: torch.Tensor  # (N, 1)
    y: torch.Tensor  # (N, 1)
    truth: torch.Tensor  # (G, 1) the true curve on the grid
    runs: dict[str, SeedRuns]  # model name -> one run per seed
    errors: dict[str, list[float]]  # model name -> late_snapshot's error per seed
    halfway: dict[str, list[float]]  # model name -> that error half-way through, per seed

    def closer(self) -> int:
        """In how many seeds the HyperDNN ends closer to the true curve than the DNN."""
        if set(MODELS) - set(self.errors):
            raise ValueError(
                f"closer() compares {MODELS}; {self.num_points} samples trained {list(self.errors)}"
            )
        return sum(h < d for d, h in zip(self.errors["DNN"], self.errors["HyperDNN"], strict=True))


@dataclass(frozen=True)
class Experiment:
    """The target, the evaluation grid and one `Regime` per number of samples."""

    target: MLPTarget
    grid: torch.Tensor  # (G, 1)
    seeds: tuple[int, ...]
    regimes: dict[int, Regime]


def run_experiment(
    seeds: Sequence[int] = SEEDS,
    regimes: Mapping[int, Sequence[str]] = REGIMES,
    steps: int = 800,
    snapshot_every: int = 25,
    layer_sizes: Sequence[int] = (1, 40, 40, 1),
) -> Experiment:
    """Train the named models for every seed on n samples of one sinusoid, for each n."""
    target = MLPTarget(list(layer_sizes))
    grid = dense_grid(200)
    results = {}
    runs_in_all = sum(len(models) for models in regimes.values())
    # Tiny networks: a second thread only adds synchronisation. One bar for every run.
    with single_threaded(), progress_stage(steps * runs_in_all, "DNN and HyperDNN"):
        for n, models in regimes.items():
            task = sinusoid_tasks(num_tasks=1, num_points=n, seed=1)
            x, y = task.x[0], task.y[0]
            truth = sinusoid_curve(task.params, grid)[0]
            runs, errors, halfway = {}, {}, {}
            for name in models:
                runs[name] = fit_seeds(
                    lambda seed, name=name: make_model(name, target, seed),
                    list(seeds),
                    x,
                    y,
                    steps=steps,
                    lr=LEARNING_RATES[name],
                    snapshot_every=snapshot_every,
                )
                histories = runs[name].histories
                errors[name] = [late_snapshot(target, h, grid, truth)[1] for h in histories]
                half = steps // 2
                halfway[name] = [
                    late_snapshot(target, h, grid, truth, end=half)[1] for h in histories
                ]
            results[n] = Regime(n, x, y, truth, runs, errors, halfway)
    return Experiment(target, grid, tuple(seeds), results)


def step_times(
    target: TargetNetwork, x: torch.Tensor, y: torch.Tensor, repeats: int = 30
) -> dict[str, float]:
    """Median ms of one Adam step (forward, backward, update) per model, timed alternately.

    Alternating the two models' steps exposes both to the same machine load.
    """
    models = {name: make_model(name, target, seed=0) for name in MODELS}
    optimisers = {name: Adam(m.parameters(), lr=1e-4) for name, m in models.items()}
    times: dict[str, list[float]] = {name: [] for name in MODELS}
    with single_threaded():
        for _ in range(repeats + 3):  # the first 3 rounds warm up
            for name, model in models.items():
                start = time.perf_counter()
                optimisers[name].zero_grad()
                (model(x, 0) - y).pow(2).mean().backward()
                optimisers[name].step()
                times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t[3:]) for name, t in times.items()}


def gradient_ratios(history: History) -> np.ndarray:
    """‖∂L/∂(learned)‖ / ‖∂L/∂Θ‖ at every step: 1 for a DNN, above 1 if Φ gets more."""
    return np.asarray(history.grad_norm_learned) / np.asarray(history.grad_norm_theta)


def gradient_norm_figure(runs: dict[str, SeedRuns]) -> Figure:
    """‖∂L/∂Θ‖ (and ‖∂L/∂Φ‖ for the HyperDNN) against steps, every seed, labelled axes."""
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True, layout="constrained")
    curves = {
        "DNN": [("grad_norm_theta", "‖∂L/∂Θ‖: Θ is learned", "#4c72b0")],
        "HyperDNN": [
            ("grad_norm_learned", "‖∂L/∂Φ‖: Φ is learned", "#dd8452"),
            ("grad_norm_theta", "‖∂L/∂Θ‖: Θ is generated", "#4c72b0"),
        ],
    }
    for ax, (name, lines) in zip(axes, curves.items(), strict=True):
        for field, label, colour in lines:
            for k, history in enumerate(runs[name].histories):
                first = k == 0
                ax.plot(
                    getattr(history, field),
                    color=colour,
                    lw=0.9 if first else 0.6,
                    alpha=0.9 if first else 0.35,
                    label=label if first else None,
                )
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(f"{name} (seed {runs[name].seeds[0]} dark, others faint)", fontsize=10)
        ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel("gradient norm (log scale)")
    return figure


def fit_figure(experiment: Experiment, seed: int) -> Figure:
    """Both models' predictions for one seed, in every regime, against the true curve.

    Each model is drawn with the Θ its score comes from (`late_snapshot`), not a final spike.
    """
    regimes = list(experiment.regimes.values())
    figure, axes = plt.subplots(
        1, len(regimes), figsize=(5.5 * len(regimes), 3.2), sharey=True, layout="constrained"
    )
    k = experiment.seeds.index(seed)
    grid = experiment.grid.reshape(-1).numpy()
    for ax, regime in zip(np.atleast_1d(axes), regimes, strict=True):
        ax.plot(grid, regime.truth.reshape(-1).numpy(), "k--", lw=1, label="true curve")
        ax.scatter(regime.x.reshape(-1), regime.y.reshape(-1), s=10, c="k", zorder=3)
        for name, colour in zip(MODELS, ("#4c72b0", "#dd8452"), strict=True):
            if name not in regime.runs:
                continue
            history = regime.runs[name].histories[k]
            step, _ = late_snapshot(experiment.target, history, experiment.grid, regime.truth)
            prediction = predict(experiment.target, history.snapshots[step], experiment.grid)[0]
            label = f"{name} (Θ of step {step})"
            ax.plot(grid, prediction.reshape(-1).numpy(), color=colour, label=label)
        ax.set_title(f"{regime.num_points} samples (seed {seed})", fontsize=10)
        ax.set_xlabel("x")
        ax.legend(fontsize=8, loc="upper left")
    np.atleast_1d(axes)[0].set_ylabel("y")
    return figure


def per_seed(values: Sequence[float], fmt: str = ".2e") -> str:
    """One measurement per seed, side by side: `per_seed([0.012, 0.03], ".1%")` is '1.2%  3.0%'."""
    return "  ".join(f"{float(v):{fmt}}" for v in values)
