"""Treatment effects (hyperviz.causal): the confounded study, √PEHE, the learners, their fit."""

import pytest
import torch

from hyperviz.batched import Stacked
from hyperviz.causal import (
    NestedRuns,
    arm_weights,
    confounded_study,
    fit_learners,
    hyper_t_learner,
    naive_effect,
    s_learner,
    sqrt_pehe,
    t_learner,
    treatment_effect,
)
from hyperviz.hypernetwork import HyperNetwork
from hyperviz.targets import MLPTarget


def test_the_true_outcome_functions_have_zero_pehe_and_y_is_the_factual_one_plus_noise():
    study = confounded_study([0, 1], 2000, noise=0.2)
    effect = treatment_effect(study.x)
    assert (sqrt_pehe(study.mu1 - study.mu0, effect) < 1e-6).all()
    factual = torch.where(study.t > 0, study.mu1, study.mu0)
    assert (study.y - factual).std().item() == pytest.approx(0.2, rel=0.05)
    assert sqrt_pehe(effect + 0.5, effect).tolist() == pytest.approx([0.5, 0.5])


def test_treatment_depends_on_the_covariates_so_the_naive_contrast_is_biased():
    study = confounded_study([0], 20000)
    x1, t = study.x[0, :, 0], study.t[0]
    assert 0.25 < t.mean().item() < 0.4  # about a third treated
    assert t[x1 >= 0].mean() > 5 * t[x1 < 0].mean()  # treated mostly where x1 is high
    true_average = treatment_effect(study.x).mean().item()
    assert naive_effect(study).item() > 2 * true_average  # confounding, not the effect


def test_a_larger_study_starts_with_the_same_units_and_each_seed_draws_its_own():
    small, large = confounded_study([3, 4], 50), confounded_study([3, 4], 200)
    for name in ("x", "t", "y"):
        assert torch.equal(getattr(small, name), getattr(large, name)[:, :50])
    assert not torch.equal(small.x[0], small.x[1])


def test_nested_runs_put_every_unit_of_a_run_once_in_its_own_arms_rows():
    study = confounded_study([0, 1], 100)
    runs = NestedRuns(study, [20, 100], chunk=7)
    assert runs.runs == [(0, 20), (0, 100), (1, 20), (1, 100)]
    for r, (i, n) in enumerate(runs.runs):
        rows = runs.run_of_row == r
        valid = runs.valid[rows].bool()
        assert valid.sum() == n  # every unit once, padding aside
        units = runs.x[rows][valid]  # (n, d): the run's units, sorted by arm
        assert sorted(units[:, 0].tolist()) == sorted(study.x[i, :n, 0].tolist())
        arms = runs.arm_of_row[rows].unsqueeze(1).expand_as(valid)[valid].float()
        order = torch.argsort(study.x[i, :n, 0])
        assert sorted(zip(units[:, 0].tolist(), arms.tolist(), strict=True)) == sorted(
            zip(study.x[i, :n, 0][order].tolist(), study.t[i, :n][order].tolist(), strict=True)
        )
    share = runs.held_out.sum() / runs.valid.sum()
    assert 0.15 < share.item() < 0.25 and torch.equal(runs.fitted + runs.held_out, runs.valid)


def test_the_fast_arm_weights_match_the_stacked_hypernets():
    target = MLPTarget([2, 8, 8, 1])
    hypernets = [HyperNetwork(target, "task", num_tasks=2, hidden=8, seed=s) for s in (0, 1)]
    stacked = Stacked(hypernets)
    torch.testing.assert_close(arm_weights(stacked.params), stacked(torch.arange(2)))
    with pytest.raises(ValueError, match="one-shot MLP hypernet"):
        arm_weights({"head.weight": torch.zeros(2, 3, 4)})


def step_on_arm_0(learner) -> torch.Tensor:
    """Arm 1's Θ (R, P) after one SGD step on a loss of arm 0's networks only."""
    x = torch.randn(5, 2)
    run, arm = torch.arange(2), torch.zeros(2, dtype=torch.long)
    weights = learner.arm_weights(learner.weights(), run, arm)
    learner.predict(weights, x.expand(2, 5, 2), arm).pow(2).sum().backward()
    with torch.no_grad():
        for p in learner.parameters:
            p -= 0.1 * p.grad
    return learner.weights()[:, 1].detach()


def test_a_step_on_one_arm_moves_the_other_arm_only_in_hyperite():
    seeds = [0, 1]
    for learner in (t_learner(seeds, hidden=8), hyper_t_learner(seeds, shared=False, hidden=8)):
        before = learner.weights()[:, 1].detach().clone()
        assert torch.equal(step_on_arm_0(learner), before), learner.name  # shares nothing
    shared = hyper_t_learner(seeds, hidden=8)
    before = shared.weights()[:, 1].detach().clone()
    assert (step_on_arm_0(shared) - before).abs().max() > 1e-4  # Φ is shared by both arms


def test_hypernet_per_arm_starts_from_the_networks_hyperite_starts_from():
    shared, alone = hyper_t_learner([0, 1], hidden=8), hyper_t_learner([0, 1], False, hidden=8)
    torch.testing.assert_close(shared.weights(), alone.weights())
    one_run = [sum(p.numel() for p in learner.parameters) // 2 for learner in (shared, alone)]
    assert one_run[1] == 2 * one_run[0] - 2 * 8  # two hypernets, each with one arm embedding


def test_the_s_learner_reads_the_treatment_as_an_input():
    learner = s_learner([0], hidden=8)
    assert learner.reads_treatment and learner.target.sizes[0] == 3
    x = torch.randn(4, 2)
    mu = learner.outcomes(learner.weights(), x)
    direct = learner.target(torch.cat([x, torch.ones(4, 1)], 1), learner.weights()[0])
    torch.testing.assert_close(mu[0, 1], direct[:, 0])


def test_fit_learners_lowers_the_held_out_loss_and_keeps_each_runs_best_step():
    study = confounded_study([0, 1], 100)
    runs = NestedRuns(study, [50, 100])
    seeds = [i for i, _ in runs.runs]
    learners = [t_learner(seeds, hidden=8), hyper_t_learner(seeds, hidden=8)]
    fitted = fit_learners(learners, runs, steps=60, lr=1e-2)
    assert set(fitted) == {"T-learner", "HyperITE"}
    for f in fitted.values():
        assert f.held_out_loss.shape == (61, 4)
        best = f.held_out_loss.min(0)
        assert torch.equal(f.best_step, best.indices)
        assert (best.values < f.held_out_loss[0]).all()
        assert f.effect(torch.zeros(7, 2)).shape == (4, 7)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: confounded_study([0, 0], 10), ValueError, "repeats a seed"),
        (lambda: confounded_study([], 10), TypeError, "non-empty list"),
        (lambda: confounded_study([0], 0), ValueError, "num_samples=0"),
        (lambda: confounded_study([0], 10, num_features=1), ValueError, "num_features=1"),
        (lambda: confounded_study([0], 10, noise=-1.0), ValueError, "noise=-1.0"),
        (lambda: confounded_study([0], 10, confounding="2"), TypeError, "confounding"),
        (lambda: sqrt_pehe(torch.zeros(3), torch.zeros(4)), ValueError, "same number"),
        (lambda: sqrt_pehe([1.0], torch.zeros(1)), TypeError, "estimate"),
        (lambda: NestedRuns(confounded_study([0], 50), [100]), ValueError, r"sizes\[0\]=100"),
        (lambda: NestedRuns(confounded_study([0], 50), []), TypeError, "sizes"),
        (lambda: NestedRuns("data", [10]), TypeError, "study must be a Study"),
        (lambda: t_learner([0], hidden=0), ValueError, "hidden=0"),
        (lambda: hyper_t_learner([0], shared="no"), TypeError, "shared must be True or False"),
        (lambda: s_learner("0"), TypeError, "seeds must be a non-empty list"),
        (lambda: fit_learners([t_learner([0])], "runs"), TypeError, "NestedRuns"),
        (
            lambda: fit_learners([t_learner([0])], NestedRuns(confounded_study([0, 1], 50), [50])),
            ValueError,
            "one run per one of the 2 runs",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
