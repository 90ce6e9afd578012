"""Input-based experiments: separate DNNs, stacked hypernets, the three comparisons, noise, KL."""

from __future__ import annotations

import math

import pytest
import torch

import hyperviz as hv
from hyperviz.evaluation import curve_errors, dense_grid, predict
from hyperviz.lessons.input_based import (
    KINDS,
    OneShotStack,
    SeparateDNNs,
    compare_task_models,
    errors_by_examples,
    family_mean_curve,
    kl_to_prior,
    prior_variances,
    scaled_errors,
    spread_summary,
    train_data_hypernets,
    train_noise_hypernets,
)

SMALL = [1, 8, 8, 1]


def test_separate_dnns_hold_one_kaiming_row_per_net_and_run_vectorised():
    target = hv.MLPTarget(SMALL)
    nets = SeparateDNNs(target, num_nets=3, seed=5)
    assert nets.weights().shape == (3, target.num_params)
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


def test_separate_dnns_refuse_a_bad_count_or_init():
    with pytest.raises(ValueError, match="num_nets=0"):
        SeparateDNNs(hv.MLPTarget(SMALL), num_nets=0)
    with pytest.raises(ValueError, match="init='xavier'"):
        SeparateDNNs(hv.MLPTarget(SMALL), num_nets=2, init="xavier")


def test_pytorch_init_draws_weights_and_biases_within_one_over_root_fan_in():
    target = hv.MLPTarget([1, 4, 9, 1])
    theta = SeparateDNNs(target, num_nets=50, init="pytorch", seed=1).theta.detach()
    for layer, (name, part) in zip(
        [layer for layer in target.layers for _ in range(2)],
        target.unflatten(theta).items(),
        strict=True,
    ):
        bound = 1 / math.sqrt(layer.fan_in)
        assert part.abs().max() <= bound, name
        assert part.abs().max() > 0.8 * bound and part.mean().abs() < 0.2 * bound, name


def test_family_mean_is_the_expected_sinusoid():
    # E[A] = 1.25 and E[sin(x + φ)] = (2/π) cos x for φ ~ U(0, π).
    grid = dense_grid(41)
    expected = 1.25 * 2 / math.pi * torch.cos(grid)
    torch.testing.assert_close(
        family_mean_curve(grid, num_tasks=20000), expected, atol=0.03, rtol=0
    )


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


def _hypernets(target, seeds=(0, 1), **options):
    return [
        hv.HyperNetwork(target, "task", num_tasks=3, hidden=8, seed=s, **options) for s in seeds
    ]


def test_one_shot_stack_starts_from_each_hypernets_output():
    target = hv.MLPTarget(SMALL)
    hypernets = _hypernets(target)
    embeddings = torch.stack([h.conditioner.task_embedding.weight.detach() for h in hypernets])
    with torch.no_grad():
        stacked = OneShotStack(hypernets)(embeddings)  # (2, 3, P)
        lone = OneShotStack(hypernets, copies_each=3)(embeddings.flatten(0, 1).unsqueeze(1))
        for k, h in enumerate(hypernets):
            torch.testing.assert_close(stacked[k], h(torch.arange(3)))
            torch.testing.assert_close(lone[3 * k : 3 * k + 3, 0], h(torch.arange(3)))


def test_one_shot_stack_gradients_match_autograd_and_unstack_round_trips():
    target = hv.MLPTarget(SMALL)
    for size in (1, 4):  # one network per copy takes the broadcast-product backward
        hypernets = _hypernets(target)
        stack = OneShotStack(hypernets)
        e = torch.randn(2, size, 8)
        stack(e).square().sum().backward()
        for k, h in enumerate(hypernets):
            h.strategy(e[k]).square().sum().backward()
            torch.testing.assert_close(stack.head.grad[k], h.strategy.head.weight.grad.T)
            torch.testing.assert_close(stack.w1.grad[k], h.strategy.body.net[0].weight.grad.T)
    with torch.no_grad():
        stack.head.add_(1.0)
    for k, h in enumerate(stack.unstack()):
        torch.testing.assert_close(h.strategy.head.weight, stack.head[k].T)
    with pytest.raises(ValueError, match="copies_each=1"):
        OneShotStack(hypernets, copies_each=2).unstack()
    with pytest.raises(ValueError, match="one-shot"):
        OneShotStack([hv.HyperNetwork(target, "task", "chunk-wise")])


def test_task_comparison_fits_every_net_and_reports_per_seed_and_task():
    target, grid = hv.MLPTarget(SMALL), dense_grid(50)
    tasks = hv.sinusoid_tasks(num_tasks=4, num_points=6, seed=0)
    result = compare_task_models(target, tasks, grid, seeds=(0, 1, 2), hidden=8, steps=300)
    assert result.losses.shape == (300, 3, 3, 4) and result.seeds == (0, 1, 2)
    assert set(result.errors) == set(KINDS) and all(
        e.shape == (3, 4) for e in result.errors.values()
    )
    assert all(
        bool((f < result.losses[0, i]).all()) for i, f in enumerate(result.final_fit().values())
    )
    torch.testing.assert_close(result.losses[0, 1], result.losses[0, 2])  # lone start as shared
    shared = result.shared[1]
    with torch.no_grad():  # the returned models are the trained ones
        torch.testing.assert_close(shared.weights(torch.arange(4)), result.theta[KINDS[2]][1])
    errors = curve_errors(predict(target, result.theta[KINDS[0]][2], grid), tasks.params, grid)
    torch.testing.assert_close(errors, result.errors[KINDS[0]][2])


def test_data_hypernets_learn_the_family_and_each_seed_trains_as_alone():
    target, grid = hv.MLPTarget(SMALL), dense_grid(50)
    held_out = hv.sinusoid_tasks(num_tasks=20, num_points=10, seed=1)
    untrained = [hv.HyperDNN(hv.HyperNetwork(target, "data", data_features=2, seed=0))]
    before = errors_by_examples(untrained, held_out, grid, (6,))[0, 0]
    options = {"steps": 150, "tasks_per_step": 8, "lr": 1e-2}
    models, losses = train_data_hypernets(target, seeds=(0, 1), **options)
    alone, alone_losses = train_data_hypernets(target, seeds=(0,), **options)
    assert losses.shape == (150, 2) and bool(
        (losses[-20:].mean(0) < 0.8 * losses[:10].mean(0)).all()
    )
    torch.testing.assert_close(alone_losses[:, 0], losses[:, 0], atol=1e-3, rtol=1e-2)
    after = errors_by_examples(models, held_out, grid, (1, 6))
    assert after.shape == (2, 2) and bool((after[:, 1] < 0.85 * before).all())
    with pytest.raises(ValueError, match="query_points=-1"):
        train_data_hypernets(target, steps=1, query_points=-1)


def test_scaled_errors_are_one_for_predicting_zero():
    grid, tasks = dense_grid(40), hv.sinusoid_tasks(num_tasks=3, num_points=2, seed=0)
    torch.testing.assert_close(
        scaled_errors(torch.zeros(3, 40, 1), tasks.params, grid), torch.ones(3)
    )


def test_kl_to_prior_works_on_a_batch_of_sample_sets():
    prior = torch.tensor([1.0, 0.25, 4.0])
    theta = torch.randn(2, 5, 3)
    batched = kl_to_prior(theta, prior)
    assert batched.shape == (2,)
    torch.testing.assert_close(batched[1], kl_to_prior(theta[1], prior))


def test_maximum_likelihood_pulls_nets_together_on_the_data_and_the_kl_term_spreads_them():
    target, grid = hv.MLPTarget([1, 16, 16, 1]), dense_grid(60)
    task = hv.sinusoid_tasks(num_tasks=1, num_points=8, seed=3, x_range=(-5.0, 0.0))
    seen = grid.squeeze(1) <= 0
    runs = train_noise_hypernets(
        target, task.x[0], task.y[0], grid, seen, seeds=(0, 1, 2), steps=300, lr=3e-3
    )
    assert list(runs.spreads) == [0, 100, 200, 300] and runs.losses.shape == (300, 6)
    first, last = runs.spreads[0], runs.spreads[300]  # (runs, 2); plain runs first
    assert bool((2 * last[:3, 0] < first[:3, 0]).all())
    assert bool((last[3:, 1] > 3 * last[:3, 1]).all())
    assert set(runs.models) == {(w, s) for w in (0.0, 1e-4) for s in (0, 1, 2)}


@pytest.mark.parametrize(
    "options, message",
    [
        ({"kl_weights": (-1.0,)}, "kl_weights"),
        ({"samples": 1}, "samples=1"),
        ({"samples": 0}, "samples=0"),
    ],
)
def test_noise_training_refuses_bad_options(options, message):
    target, grid = hv.MLPTarget(SMALL), dense_grid(10)
    task = hv.sinusoid_tasks(num_tasks=1, num_points=6, seed=3)
    with pytest.raises(ValueError, match=message):
        train_noise_hypernets(
            target, task.x[0], task.y[0], grid, grid.squeeze(1) <= 0, steps=1, **options
        )
