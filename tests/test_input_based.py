"""Input-based experiments: separate DNNs, curve errors, fresh-task training, noise spread, KL."""

from __future__ import annotations

import math

import pytest
import torch

import hyperviz as hv
from hyperviz.evaluation import curve_errors, dense_grid, predict
from hyperviz.lessons.input_based import (
    SeparateDNNs,
    family_mean_curve,
    kl_to_prior,
    prior_variances,
    spread_over_training,
    spread_summary,
    train_noise_conditioned,
    train_on_fresh_tasks,
)

SMALL = [1, 8, 8, 1]


def test_separate_dnns_hold_one_kaiming_row_per_net_and_run_vectorised():
    target = hv.MLPTarget(SMALL)
    nets = SeparateDNNs(target, num_nets=3, seed=5)
    assert nets.weights().shape == (3, target.num_params) and nets.num_nets == 3
    assert nets.weights().is_leaf and hv.count_learnable(nets) == 3 * target.num_params
    assert not torch.equal(nets.theta[0], nets.theta[1])
    assert torch.equal(nets.theta[0].detach(), hv.DNN(target, seed=5).theta.detach())
    x = torch.randn(3, 7, 1)
    out = nets(x)
    assert out.shape == (3, 7, 1)
    for s in range(3):
        torch.testing.assert_close(out[s], target(x[s], nets.theta[s]))


def test_separate_dnns_share_nothing():
    target = hv.MLPTarget(SMALL)
    nets = SeparateDNNs(target, num_nets=3)
    nets(torch.randn(3, 5, 1))[0].sum().backward()
    assert nets.theta.grad[0].abs().sum() > 0
    assert nets.theta.grad[1:].abs().sum() == 0


def test_training_separate_dnns_together_equals_training_each_alone():
    target = hv.MLPTarget(SMALL)
    tasks = hv.sinusoid_tasks(num_tasks=2, num_points=6, seed=0)
    together = SeparateDNNs(target, num_nets=2, seed=3)
    alone = hv.DNN(target, seed=3)  # the same start as row 0
    hv.fit(together, tasks.x, tasks.y, steps=50, lr=1e-2, progress=False)
    hv.fit(alone, tasks.x[0], tasks.y[0], steps=50, lr=1e-2, progress=False)
    torch.testing.assert_close(together.theta[0], alone.theta, atol=1e-3, rtol=1e-3)


def test_separate_dnns_refuse_a_bad_count():
    with pytest.raises(ValueError, match="num_nets=0"):
        SeparateDNNs(hv.MLPTarget(SMALL), num_nets=0)


def test_family_mean_is_the_expected_sinusoid():
    # E[A] = 1.25 and E[sin(x + φ)] = (2/π) cos x for φ ~ U(0, π).
    grid = dense_grid(41)
    expected = 1.25 * 2 / math.pi * torch.cos(grid)
    torch.testing.assert_close(
        family_mean_curve(grid, num_tasks=20000), expected, atol=0.03, rtol=0
    )


def _data_hyperdnn(seed: int = 0) -> hv.HyperDNN:
    hv.seed_everything(seed)
    return hv.HyperDNN(
        hv.HyperNetwork(hv.MLPTarget(SMALL), conditioning="data", data_features=2, hidden=16)
    )


def _held_out_error(model: hv.HyperDNN) -> float:
    held_out, grid = hv.sinusoid_tasks(num_tasks=20, num_points=6, seed=1), dense_grid(50)
    with torch.no_grad():
        theta = model.weights(held_out.examples())
    return curve_errors(predict(model.target, theta, grid), held_out.params, grid).mean().item()


def test_fresh_task_training_learns_the_family_and_repeats_exactly():
    models = [_data_hyperdnn(), _data_hyperdnn()]
    before = _held_out_error(models[0])
    runs = [
        train_on_fresh_tasks(m, steps=100, tasks_per_step=8, lr=1e-2, progress=False)
        for m in models
    ]
    assert runs[0].loss == runs[1].loss and len(runs[0].loss) == 100
    assert sum(runs[0].loss[-10:]) < sum(runs[0].loss[:10])
    assert _held_out_error(models[0]) < 0.85 * before


def test_fresh_task_training_draws_new_tasks_each_step():
    seen = []
    model = _data_hyperdnn()
    original = model.hypernet.forward

    def spy(context, *args, **kwargs):
        seen.append(context.clone())
        return original(context, *args, **kwargs)

    model.hypernet.forward = spy
    train_on_fresh_tasks(model, steps=3, tasks_per_step=2, context_points=5, progress=False)
    assert [tuple(c.shape) for c in seen] == [(2, 5, 2)] * 3
    assert not torch.equal(seen[0], seen[1])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"tasks_per_step": 0}, "tasks_per_step=0"),
        ({"context_points": 0}, "context_points=0"),
        ({"query_points": -1}, "query_points=-1"),
    ],
)
def test_fresh_task_training_refuses_bad_sizes(options, message):
    with pytest.raises(ValueError, match=message):
        train_on_fresh_tasks(_data_hyperdnn(), steps=1, progress=False, **options)


def test_prior_variances_are_kaiming_for_weights_and_one_for_biases():
    target = hv.MLPTarget([2, 4, 1])
    variances = prior_variances(target).tolist()
    assert variances == [1.0] * 8 + [1.0] * 4 + [0.5] * 4 + [1.0]


def test_kl_to_prior_is_near_zero_for_prior_samples_and_grows_as_samples_collapse():
    prior = torch.tensor([1.0, 0.25, 4.0])
    generator = torch.Generator().manual_seed(0)
    samples = torch.randn(20000, 3, generator=generator) * prior.sqrt()
    assert kl_to_prior(samples, prior).item() < 0.01
    assert kl_to_prior(0.1 * samples, prior) > kl_to_prior(0.5 * samples, prior) > 0.1
    with pytest.raises(ValueError, match="S >= 2"):
        kl_to_prior(samples[:1], prior)


def _noise_problem():
    target = hv.MLPTarget(SMALL)
    task = hv.sinusoid_tasks(num_tasks=1, num_points=6, seed=3, x_range=(-5.0, 0.0))
    grid = dense_grid(60)
    return target, task, grid, grid.squeeze(1) <= 0


def _noise_spread(model: hv.HyperDNN, grid: torch.Tensor) -> float:
    with torch.no_grad():
        theta = model.weights(64, generator=torch.Generator().manual_seed(0))
    return predict(model.target, theta, grid).std(dim=0).mean().item()


def test_plain_noise_hypernet_collapses_and_the_kl_term_keeps_spread():
    target, task, grid, _ = _noise_problem()
    spreads = {}
    for kl_weight in (0.0, 1e-3):
        hv.seed_everything(0)
        model = hv.HyperDNN(hv.HyperNetwork(target, conditioning="noise", hidden=16))
        before = _noise_spread(model, grid)
        train_noise_conditioned(
            model, task.x[0], task.y[0], kl_weight=kl_weight, steps=100, lr=1e-2, progress=False
        )
        spreads[kl_weight] = _noise_spread(model, grid)
    assert spreads[0.0] < 0.5 * before
    assert spreads[1e-3] > 5 * spreads[0.0]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"kl_weight": -1.0}, "kl_weight=-1.0"),
        ({"kl_weight": float("nan")}, "kl_weight=nan"),
        ({"samples": 1, "kl_weight": 0.1}, "samples=1"),
        ({"samples": 0}, "samples=0"),
    ],
)
def test_noise_training_refuses_bad_options(options, message):
    target, task, _, _ = _noise_problem()
    model = hv.HyperDNN(hv.HyperNetwork(target, conditioning="noise"))
    with pytest.raises(ValueError, match=message):
        train_noise_conditioned(model, task.x[0], task.y[0], steps=1, **options)


def test_spread_summary_measures_spread_coverage_and_error():
    grid = dense_grid(10)
    truth = torch.zeros(10, 1)
    seen = grid.squeeze(1) <= 0
    predictions = torch.stack([truth + 1, truth - 1])  # std sqrt(2), mean exactly the truth
    summary = spread_summary(predictions, truth, seen)
    assert summary.spread_seen == pytest.approx(math.sqrt(2))
    assert summary.spread_unseen == pytest.approx(math.sqrt(2))
    assert summary.error_seen == 0.0
    assert summary.coverage_seen == summary.coverage_unseen == 1.0
    assert "truth inside mean ± 2 std: 100% / 100%" in str(summary)
    shifted = spread_summary(predictions + 5 * (~seen).float()[:, None], truth, seen)
    assert shifted.coverage_seen == 1.0 and shifted.coverage_unseen == 0.0


def test_spread_summary_refuses_bad_inputs():
    grid = dense_grid(10)
    truth = torch.zeros(10, 1)
    seen = grid.squeeze(1) <= 0
    with pytest.raises(ValueError, match="S >= 2"):
        spread_summary(torch.zeros(1, 10, 1), truth, seen)
    with pytest.raises(ValueError, match="both seen and unseen"):
        spread_summary(torch.zeros(3, 10, 1), truth, torch.ones(10, dtype=torch.bool))


def test_spread_over_training_reads_every_snapshot():
    target, task, grid, seen = _noise_problem()
    hv.seed_everything(0)
    model = hv.HyperDNN(hv.HyperNetwork(target, conditioning="noise", hidden=16))
    history = train_noise_conditioned(
        model, task.x[0], task.y[0], samples=4, steps=21, snapshot_every=10, progress=False
    )
    spreads = spread_over_training(target, history, grid, seen)
    assert list(spreads) == [0, 10, 20]
    assert all(a > 0 and b > 0 for a, b in spreads.values())
