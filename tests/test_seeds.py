"""Batched training over seeds: K copies in one batch equal K separate `fit` runs.

Training amplifies float rounding (a 1e-7 change grows to 1e-1 within a few hundred steps
here), so the comparisons run for few steps, before that growth reaches 1e-5.
"""

from __future__ import annotations

import re
import warnings

import pytest
import torch

from hyperviz import DNN, HyperDNN, HyperNetwork, MLPTarget, SeedRuns, fit, fit_seeds, two_moons

TARGET = MLPTarget([1, 16, 16, 1])
X = torch.linspace(-1, 1, 16).unsqueeze(1)
Y = torch.sin(3 * X)
SEEDS = [0, 1, 2]


def dnn(seed: int) -> DNN:
    return DNN(TARGET, seed=seed)


def two_tasks() -> tuple[torch.Tensor, torch.Tensor]:
    """x (2, 16, 1) and y (2, 16, 1): task 0 is y = x, task 1 is y = -x (as in conftest)."""
    return torch.stack([X, X]), torch.stack([X, -X])


def toy_hyperdnn(conditioning: str, strategy: str, body: str, seed: int, **options) -> HyperDNN:
    extra = {"task": {"num_tasks": 2}, "data": {"data_features": 2}}[conditioning]
    hypernet = HyperNetwork(
        TARGET,
        conditioning=conditioning,
        strategy=strategy,
        body=body,
        hidden=32,
        seed=seed,
        **extra,
        **options,
    )
    return HyperDNN(hypernet)


def task_hyperdnn(seed: int) -> HyperDNN:
    return toy_hyperdnn("task", "chunk-wise", "mlp", seed=seed, chunk_size=64)


def raises(error: type[Exception], message: str):
    return pytest.raises(error, match=re.escape(message))


def assert_same_runs(runs: SeedRuns, separate: list[tuple[torch.nn.Module, object]]) -> None:
    """Every copy's parameters, losses and gradient norms equal its separate run's (1e-5)."""
    assert len(runs) == len(separate)
    for (model, history), batched, batched_history in zip(
        separate, runs.models, runs.histories, strict=True
    ):
        for (name, alone), (other, together) in zip(
            model.named_parameters(), batched.named_parameters(), strict=True
        ):
            assert name == other
            torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)
        for field in ("loss", "grad_norm_learned", "grad_norm_theta"):
            expected = torch.tensor(getattr(history, field))
            got = torch.tensor(getattr(batched_history, field))
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
        assert sorted(batched_history.snapshots) == sorted(history.snapshots)
        for step, theta in history.snapshots.items():
            torch.testing.assert_close(batched_history.snapshots[step], theta, rtol=1e-5, atol=1e-6)
        assert len(batched_history.step_time) == len(history.step_time)


def separate_runs(make_model, seeds, x, y, **options):
    runs = []
    for seed in seeds:
        model = make_model(seed)
        runs.append((model, fit(model, x, y, seed=seed, progress=False, **options)))
    return runs


@pytest.mark.parametrize("batch_size", [None, 6])
def test_dnn_seeds_in_one_batch_equal_separate_runs(batch_size):
    options = {"steps": 30, "lr": 3e-3, "batch_size": batch_size, "snapshot_every": 10}
    runs = fit_seeds(dnn, SEEDS, X, Y, progress=False, **options)
    assert_same_runs(runs, separate_runs(dnn, SEEDS, X, Y, **options))
    assert runs.seeds == SEEDS
    assert all(len(h.loss) == 30 for h in runs.histories)
    assert runs.histories[0].snapshots[10].shape == (TARGET.num_params,)


@pytest.mark.parametrize("batch_size", [None, 5])
def test_task_conditioned_hyperdnn_seeds_equal_separate_runs(batch_size):
    x, y = two_tasks()  # (2, 16, 1): one set of examples per task
    options = {"context": torch.arange(2), "steps": 20, "lr": 1e-3, "batch_size": batch_size}
    options["snapshot_every"] = 5
    runs = fit_seeds(task_hyperdnn, SEEDS, x, y, progress=False, **options)
    assert_same_runs(runs, separate_runs(task_hyperdnn, SEEDS, x, y, **options))
    assert runs.histories[2].snapshots[19].shape == (2, TARGET.num_params)


def test_shared_inputs_with_targets_per_task():
    x, y = two_tasks()  # x shared by both tasks, y one set per task
    options = {"context": torch.arange(2), "steps": 15, "clip_grad": 0.5}
    runs = fit_seeds(task_hyperdnn, [3, 4], x[0], y, progress=False, **options)
    assert_same_runs(runs, separate_runs(task_hyperdnn, [3, 4], x[0], y, **options))


def test_cross_entropy_seeds_equal_separate_runs():
    x, labels = two_moons(num_points=64, seed=0)
    target = MLPTarget([2, 16, 2])

    def make(seed: int) -> DNN:
        return DNN(target, seed=seed)

    options = {"loss": "cross-entropy", "steps": 25, "lr": 1e-2, "clip_grad": 1.0}
    runs = fit_seeds(make, [5, 6], x, labels, progress=False, **options)
    assert_same_runs(runs, separate_runs(make, [5, 6], x, labels, **options))


def test_trained_models_are_independent_and_usable_like_separate_ones():
    runs = fit_seeds(dnn, SEEDS, X, Y, steps=20, progress=False)
    first, second = runs.models[0], runs.models[1]
    assert not torch.equal(first.theta, second.theta)
    assert isinstance(first.theta, torch.nn.Parameter) and first.theta.requires_grad
    with torch.no_grad():
        first.theta.zero_()
    assert second.theta.abs().sum() > 0  # no shared storage
    assert runs.models[2](X).shape == (16, 1)
    history = fit(runs.models[2], X, Y, steps=5, progress=False)  # trains on as usual
    assert len(history.loss) == 5
    assert runs.final_losses(window=5) == [h.final_loss(5) for h in runs.histories]
    assert [seed for seed, _, _ in runs] == SEEDS


def test_one_diverging_seed_stops_alone():
    def make(seed: int) -> DNN:
        model = DNN(TARGET, seed=seed)
        if seed == 1:
            with torch.no_grad():
                model.theta.mul_(1e20)  # the loss overflows at the first step
        return model

    start = make(1).theta.detach().clone()
    with pytest.warns(RuntimeWarning, match="seed 1 diverged at step 0"):
        runs = fit_seeds(make, SEEDS, X, Y, steps=10, progress=False)
    assert runs.histories[1].diverged and runs.histories[1].diverged_at == 0
    assert runs.histories[1].loss == [] and runs.final_losses()[1] != runs.final_losses()[1]
    torch.testing.assert_close(runs.models[1].theta.detach(), start)
    alone = separate_runs(make, [0, 2], X, Y, steps=10)
    others = SeedRuns([0, 2], runs.models[::2], runs.histories[::2])
    assert_same_runs(others, alone)


@pytest.mark.parametrize(
    ("conditioning", "strategy", "body"),
    [("data", "one-shot", "cnn"), ("task", "component-wise", "attention")],
)
def test_other_conditionings_strategies_and_bodies(make_problem, conditioning, strategy, body):
    problem = make_problem(conditioning)  # conftest's toy problem: two tasks

    def make(seed: int) -> HyperDNN:
        return toy_hyperdnn(conditioning, strategy, body, seed=seed)

    options = {"context": problem.context, "steps": 6}
    runs = fit_seeds(make, [0, 1], problem.x, problem.y, progress=False, **options)
    alone = separate_runs(make, [0, 1], problem.x, problem.y, **options)
    for (_, history), batched in zip(alone, runs.histories, strict=True):
        torch.testing.assert_close(torch.tensor(batched.loss), torch.tensor(history.loss))
    # (Adam turns the ~0 gradient of attention's key bias into noise-sized steps: loss only.)
    with torch.no_grad():
        theta = runs.models[1].weights(problem.context)  # the model runs on its own
    assert theta.shape == (2, TARGET.num_params)
    if body == "attention":
        assert runs.models[1].hypernet.strategy.body.last_attention.sum().isfinite()


def test_recurrent_bodies_are_refused():
    with raises(ValueError, "a recurrent layer (body='rnn', a GRU) cannot be batched"):
        fit_seeds(lambda seed: toy_hyperdnn("task", "chunk-wise", "rnn", seed=seed), SEEDS, X, Y)


def test_identical_copies_are_flagged():
    with pytest.warns(UserWarning, match="start from the same parameters"):
        fit_seeds(lambda seed: DNN(TARGET, seed=0), [0, 1], X, Y, steps=2, progress=False)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seeds", "error", "message"),
    [
        (5, TypeError, "seeds must be a list of ints like [0, 1, 2] or range(5), got 5"),
        ("01", TypeError, "seeds must be a list of ints"),
        ([], ValueError, "seeds is empty"),
        ([0, 1, 0], ValueError, "seeds=[0, 1, 0] repeats [0]"),
        ([0, -1], ValueError, "seeds[1]=-1 is not allowed"),
        ([0, 1.5], TypeError, "seeds[1] must be an int, got 1.5"),
    ],
)
def test_bad_seeds(seeds, error, message):
    with raises(error, message):
        fit_seeds(dnn, seeds, X, Y, steps=2)


def test_bad_make_model():
    with raises(TypeError, "make_model must be a function seed -> model"):
        fit_seeds(dnn(0), SEEDS, X, Y)
    with raises(TypeError, "make_model(0) must return a torch module (a DNN or a HyperDNN)"):
        fit_seeds(lambda seed: TARGET, SEEDS, X, Y)
    with raises(TypeError, "model must generate weights"):
        fit_seeds(lambda seed: torch.nn.Linear(1, 1), SEEDS, X, Y)


def test_copies_must_share_one_architecture():
    def make(seed: int) -> DNN:
        return DNN(MLPTarget([1, 8 + seed, 1]), seed=seed)

    with raises(ValueError, "make_model(1) built a model whose type or parameter shapes differ"):
        fit_seeds(make, [0, 1], X, Y, steps=2)


def test_noise_conditioning_and_spectral_norm_are_refused():
    def noisy(seed: int) -> HyperDNN:
        return HyperDNN(HyperNetwork(TARGET, conditioning="noise", seed=seed))

    with raises(ValueError, "a noise-conditioned model draws random numbers inside weights()"):
        fit_seeds(noisy, SEEDS, X, Y, context=4, steps=2)

    def normed(seed: int) -> HyperDNN:
        return HyperDNN(HyperNetwork(TARGET, spectral_norm=True, seed=seed))

    with raises(ValueError, "parametrized layers (spectral_norm=True) cannot be batched"):
        fit_seeds(normed, SEEDS, X, Y, steps=2)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"steps": 0}, ValueError, "steps=0 is not allowed"),
        ({"lr": -1.0}, ValueError, "lr=-1.0 is not allowed"),
        ({"loss": "l1"}, ValueError, "loss='l1' is not known"),
        ({"batch_size": 17}, ValueError, "batch_size=17 is larger than the 16 examples of x"),
        ({"snapshot_every": 0}, ValueError, "snapshot_every=0 is not allowed"),
        ({"progress": 1}, TypeError, "progress must be True or False"),
        ({"clip_grad": 0}, ValueError, "clip_grad=0 is not allowed"),
    ],
)
def test_bad_options(options, error, message):
    with raises(error, message):
        fit_seeds(dnn, SEEDS, X, Y, **options)


def test_bad_data_gets_fits_messages():
    with raises(ValueError, "x has 16 examples but y has 15"):
        fit_seeds(dnn, SEEDS, X, Y[:15])
    with raises(ValueError, "y has shape (16,), without the output axis: use y.reshape(-1, 1)"):
        fit_seeds(dnn, SEEDS, X, Y.reshape(-1))
    x, y = two_tasks()
    with raises(ValueError, "x has a leading task dimension of 2, but the context makes"):
        fit_seeds(task_hyperdnn, SEEDS, x, y, context=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with raises(ValueError, "x holds 1 NaN or infinite values"):
            fit_seeds(dnn, SEEDS, torch.where(X == X[3], torch.nan, X), Y)
