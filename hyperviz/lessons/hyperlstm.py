"""Notebook 11, sequences with HyperLSTM (survey §4, NLP; §3.4 dynamic weights): per-step weights.

The task: predict a sine wave one step ahead while its frequency (its *regime*) jumps at random
times, so the best weights change along the sequence. `run_experiment` trains, for every seed
and as one batch, a HyperRNN (`hyperviz.recurrent`: a small recurrent hypernet rescales the
rows of a tanh RNN's weights at every step, after Ha et al. 2017, §3.2) and a plain tanh RNN
with about as many learnable numbers, then scores both on held-out sequences against two
baselines: repeat the last value, and the best fixed linear predictor of order 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from hyperviz.batched import train_jointly
from hyperviz.checks import check_positive_int
from hyperviz.recurrent import (
    SCALES,
    HyperRNN,
    TanhRNN,
    check_seeds,
    matching_hidden_size,
    parameters_per_copy,
)
from hyperviz.training import single_threaded

FREQUENCIES = (0.25, 0.6, 1.3)  # radians per step of the three regimes (periods ~25, 10, 5)
SEGMENT = (8, 20)  # a regime lasts 8 to 20 steps, then switches to another one
MODELS = ("HyperRNN", "plain RNN")
BASELINES = ("repeat last value", "fixed linear predictor")
SKIP = 2  # the first two targets of a sequence are not scored: no model can know the frequency
TEST_SEED = 1000  # held-out sequences: another draw than any training seed's


@dataclass(frozen=True)
class Signals:
    """N sequences of a sine wave whose frequency switches: values and regimes (N, L)."""

    values: torch.Tensor  # (N, L)
    regimes: torch.Tensor  # (N, L) index into the frequencies

    @property
    def inputs(self) -> torch.Tensor:
        """x_0 ... x_{L-2} as (N, L-1, 1): what the models read."""
        return self.values[:, :-1].unsqueeze(-1)

    @property
    def targets(self) -> torch.Tensor:
        """x_1 ... x_{L-1} as (N, L-1): the next value, to be predicted."""
        return self.values[:, 1:]


def switching_sines(
    count: int,
    length: int,
    seed: int,
    frequencies: Sequence[float] = FREQUENCIES,
    segment: tuple[int, int] = SEGMENT,
) -> Signals:
    """`count` sequences of `length` values: sin of a phase that advances by the current regime's
    frequency at each step; each regime lasts `segment` steps (uniform), then another begins."""
    check_positive_int("count", count)
    check_positive_int("length", length)
    low, high = segment
    if not 1 <= low <= high:
        raise ValueError(f"segment={segment} must be (low, high) with 1 <= low <= high")
    if len(frequencies) < 2:
        raise ValueError(f"frequencies={frequencies} needs at least two regimes to switch between")
    gen = torch.Generator().manual_seed(seed)
    regimes_count, segments = len(frequencies), length // low + 1
    ends = torch.randint(low, high + 1, (count, segments), generator=gen).cumsum(dim=1)
    position = (ends.unsqueeze(1) <= torch.arange(length).view(1, -1, 1)).sum(dim=-1)
    jumps = torch.randint(1, regimes_count, (count, segments), generator=gen)  # never the same
    first = torch.randint(regimes_count, (count, 1), generator=gen)
    offsets = torch.cat([torch.zeros(count, 1, dtype=torch.long), jumps[:, :-1].cumsum(1)], 1)
    regimes = ((first + offsets) % regimes_count).gather(1, position)
    phase = torch.rand(count, 1, generator=gen) * 2 * math.pi
    phase = phase + torch.tensor(frequencies)[regimes].cumsum(dim=1)
    return Signals(torch.sin(phase), regimes)


def steps_since_switch(regimes: torch.Tensor) -> torch.Tensor:
    """(N, L-1): for each target x_t, how many steps its regime has lasted (0 = the first step)."""
    t = torch.arange(regimes.shape[1])
    starts = torch.cat(
        [torch.ones_like(regimes[:, :1], dtype=torch.bool), regimes[:, 1:] != regimes[:, :-1]], 1
    )
    last_start = torch.where(starts, t, 0).cummax(dim=1).values
    return (t - last_start)[:, 1:]


def fit_linear_predictor(values: torch.Tensor) -> torch.Tensor:
    """Least squares (a, b, c) of x_{t+1} ≈ a x_t + b x_{t-1} + c over sequences (N, L): one
    fixed rule for all regimes (order 2: exact for a sine of one known frequency)."""
    v = values
    features = torch.stack([v[:, 1:-1], v[:, :-2], torch.ones_like(v[:, 1:-1])], dim=-1)
    return torch.linalg.lstsq(features.reshape(-1, 3), v[:, 2:].reshape(-1, 1)).solution[:, 0]


def baseline_predictions(signals: Signals, coefficients: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each baseline's prediction of every target (N, L-1)."""
    x = signals.values[:, :-1]
    previous = torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)
    a, b, c = coefficients.tolist()
    return {BASELINES[0]: x, BASELINES[1]: a * x + b * previous + c}


def squared_errors(predictions: torch.Tensor, signals: Signals) -> torch.Tensor:
    """(..., N, L-1) squared error of predictions (..., N, L-1) of every target."""
    return (predictions - signals.targets).pow(2)


@dataclass(frozen=True)
class SequenceResult:
    """Both trained models of every seed, scored on held-out sequences, with the baselines."""

    seeds: tuple[int, ...]
    parameters: dict[str, int]  # model -> learnable numbers per seed
    hidden_sizes: dict[str, int]  # model -> hidden units of its main RNN
    losses: dict[str, torch.Tensor]  # model -> (steps, seeds) training loss
    test: Signals
    predictions: dict[str, torch.Tensor]  # model -> (seeds, N, L-1); baseline -> (N, L-1)
    scales: dict[str, torch.Tensor]  # "x", "h", "bias" -> (seeds, N, L-1, H): the HyperRNN's d_t

    @property
    def since_switch(self) -> torch.Tensor:
        return steps_since_switch(self.test.regimes)

    def errors(self, name: str) -> torch.Tensor:
        """(seeds,) for a model, () for a baseline: mean squared error of all scored targets."""
        return squared_errors(self.predictions[name], self.test)[..., SKIP:].mean(dim=(-2, -1))

    def errors_since_switch(self, name: str, steps: Sequence[int]) -> torch.Tensor:
        """(seeds, len(steps)): a model's mean error on the targets `s` steps into a regime."""
        errors = squared_errors(self.predictions[name], self.test)[..., SKIP:]
        since = self.since_switch[:, SKIP:]
        return torch.stack([errors[:, since == s].mean(dim=-1) for s in steps], dim=-1)

    def advantage_share(self, steps: Sequence[int] = (1, 2, 3)) -> torch.Tensor:
        """(seeds,): the part of the plain RNN's extra error (summed over all scored targets)
        that falls on targets `steps` into a regime."""
        extra = (
            squared_errors(self.predictions[MODELS[1]], self.test)
            - squared_errors(self.predictions[MODELS[0]], self.test)
        )[..., SKIP:]
        chosen = torch.isin(self.since_switch[:, SKIP:], torch.tensor(list(steps)))
        return extra[:, chosen].sum(dim=-1) / extra.sum(dim=(-2, -1))

    def scale_changes(self) -> torch.Tensor:
        """(seeds, N, L-2): |d_t - d_{t-1}| of all scaling vectors together, per step t ≥ 1."""
        d = torch.cat([self.scales[name] for name in SCALES], dim=-1)
        return (d[:, :, 1:] - d[:, :, :-1]).norm(dim=-1)

    def settled_changes(self, settled: int = 4) -> torch.Tensor:
        """(seeds, regimes): mean |d_t - d_{t-1}| where the regime has lasted `settled` steps."""
        changes = self.scale_changes()
        since, regimes = self.since_switch[:, 1:], self.test.regimes[:, 2:]
        masks = [(since >= settled) & (regimes == r) for r in range(len(FREQUENCIES))]
        return torch.stack([changes[:, mask].mean(dim=-1) for mask in masks], dim=-1)


def run_experiment(
    seeds: Sequence[int] = (0, 1, 2),
    steps: int = 200,
    batch: int = 64,
    length: int = 32,
    hidden: int = 16,
    hyper_size: int = 8,
    embedding_size: int = 4,
    lr: float = 1e-2,
    test_count: int = 64,
    test_length: int = 64,
) -> SequenceResult:
    """Train a HyperRNN and a plain RNN of about its size per seed, all as one batch; score them.

    Every training step draws `batch` fresh sequences of `length` steps per seed (from that
    seed's own stream); the test sequences (`test_length` steps) are the same for every seed.
    """
    seeds = check_seeds(seeds)
    for name, value in (("steps", steps), ("batch", batch), ("length", length)):
        check_positive_int(name, value)
    hyper = HyperRNN(1, hidden, 1, hyper_size, embedding_size, seeds)
    plain_hidden = matching_hidden_size(parameters_per_copy(hyper), input_size=1)
    plain = TanhRNN(1, plain_hidden, 1, seeds)
    models = {MODELS[0]: hyper, MODELS[1]: plain}
    streams = [switching_sines(steps * batch, length + 1, seed).values for seed in seeds]
    train = torch.stack(streams).view(len(seeds), steps, batch, length + 1)

    def losses(step: int) -> torch.Tensor:
        sequences = train[:, step].unsqueeze(-1)  # (seeds, batch, length + 1, 1)
        x, y = sequences[:, :, :-1], sequences[:, :, 1:]
        errors = [
            (m(x).outputs - y)[:, :, SKIP:].pow(2).mean(dim=(1, 2, 3)) for m in models.values()
        ]
        return torch.cat(errors)  # (2 seeds,): every seed of each model

    parameters = [p for model in models.values() for p in model.parameters()]
    with single_threaded():  # tiny matrices: a second thread only adds waiting
        history = train_jointly(losses, parameters, steps, lr, "HyperRNN and plain RNN")
        test = switching_sines(test_count, test_length + 1, TEST_SEED)
        x = test.inputs.expand(len(seeds), -1, -1, -1)
        with torch.no_grad():
            runs = {name: model(x) for name, model in models.items()}
    k = len(seeds)
    predictions = {name: run.outputs[..., 0] for name, run in runs.items()}
    linear = fit_linear_predictor(streams[0][: 16 * batch])  # on training sequences of seed 0
    predictions |= baseline_predictions(test, linear)
    return SequenceResult(
        seeds=seeds,
        parameters={name: parameters_per_copy(model) for name, model in models.items()},
        hidden_sizes={MODELS[0]: hidden, MODELS[1]: plain_hidden},
        losses={MODELS[0]: history[:, :k], MODELS[1]: history[:, k:]},
        test=test,
        predictions=predictions,
        scales=runs[MODELS[0]].scales,
    )
