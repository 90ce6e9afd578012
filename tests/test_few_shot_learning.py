"""Notebook 08's experiment at reduced size, its batched pieces, and its dashboard."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch
from dashboard_checks import assert_redraw_sets_every_array, assert_traces_are_keyed

import hyperviz as hv
from hyperviz.lessons.few_shot_learning import (
    METHODS,
    SUPPORT_SIZES,
    Recipe,
    StackedHypernets,
    latent_steps,
    linear_default_weights,
    run_experiment,
    sgd_steps,
    support_errors,
)
from hyperviz.lessons.few_shot_learning_dashboard import SupportExplorer

SMALL = hv.MLPTarget([1, 8, 8, 1])


@pytest.fixture(scope="module")
def result():
    """Two seeds, 200 meta-training steps, 6 held-out tasks: the notebook's claims, smaller."""
    return run_experiment(seeds=(0, 1), recipe=Recipe(meta_steps=200), test_tasks=6, shown=3)


def test_the_notebook_claims_hold_at_reduced_size(result):
    hyper, latent, maml, scratch = (result.mean_errors(m) for m in METHODS)
    few, k40 = [SUPPORT_SIZES.index(k) for k in (1, 2, 5)], SUPPORT_SIZES.index(40)
    assert (hyper[:, few] < scratch[:, few] / 2).all()  # the hypernet beats scratch on few points
    assert (maml[:, few] < scratch[:, few] / 2).all()  # so does MAML's initialisation
    assert (scratch[:, k40] < hyper[:, k40] / 2).all()  # ... and scratch wins with 40
    assert (hyper[:, k40] < hyper[:, 0]).all()  # the encoder reads the support set
    five = SUPPORT_SIZES.index(5)
    assert (latent[:, five:] < hyper[:, five:]).all()  # latent steps help from 5 points on
    assert (scratch[:, k40] < latent[:, k40]).all()  # ... but scratch still fits 40 points best
    final = {name: losses[-20:].mean(dim=0) for name, losses in result.losses.items()}
    assert (final["hypernet"] < final["MAML"]).all()


def test_results_have_one_entry_per_seed_size_and_task(result):
    for method in METHODS:
        assert result.errors[method].shape == (2, len(SUPPORT_SIZES), 6)
        assert result.curves[method].shape == (len(SUPPORT_SIZES), 3, 200)
        assert torch.isfinite(result.errors[method]).all()
    assert result.truth.shape == (3, 200, 1) and result.maml_init.shape == (2, 1761)
    assert result.at("from scratch", 40).shape == (2,)


def test_linear_default_weights_stay_within_one_over_root_fan_in():
    theta = linear_default_weights(SMALL, 200, torch.Generator().manual_seed(0))
    assert theta.shape == (200, SMALL.num_params)
    parts = theta.split([layer.size for layer in SMALL.layers], dim=1)
    for layer, part in zip(SMALL.layers, parts, strict=True):
        bound = layer.fan_in**-0.5
        assert part.abs().max() <= bound and part.abs().max() > 0.9 * bound


def test_sgd_steps_on_a_batch_equal_steps_on_each_network_alone():
    x, y = torch.randn(4, 5, 1), torch.randn(4, 5, 1)
    theta = linear_default_weights(SMALL, 4, torch.Generator().manual_seed(1)).requires_grad_()
    (together,) = sgd_steps(SMALL, [theta], [(x, y)], steps=3, lr=0.1)
    for i in range(4):
        (alone,) = sgd_steps(SMALL, [theta[i : i + 1]], [(x[i : i + 1], y[i : i + 1])], 3, 0.1)
        torch.testing.assert_close(together[i], alone[0])
    errors = support_errors(SMALL, [together, theta], [(x, y), (x, y)])
    assert errors.shape == (8,) and (errors[:4] < errors[4:]).all()


def test_latent_steps_change_only_the_embeddings_and_lower_the_support_error():
    hypernets = [hv.HyperNetwork(SMALL, "data", data_features=2, seed=s) for s in (0, 1)]
    episodes = hv.sinusoid_tasks(num_tasks=3, num_points=6, seed=0)
    stacked = StackedHypernets(hypernets)
    with torch.no_grad():
        z = stacked.embed(episodes.examples())
        before = stacked.weights(z)
    support = [(episodes.x.repeat(2, 1, 1), episodes.y.repeat(2, 1, 1))]
    after = latent_steps(stacked, z, SMALL, support, steps=20, lr=0.05)
    assert after.shape == before.shape == (2, 3, SMALL.num_params)
    torch.testing.assert_close(before[1], hypernets[1](episodes.examples()))
    error = support_errors(SMALL, [before.flatten(0, 1)], support)
    assert support_errors(SMALL, [after.flatten(0, 1)], support).mean() < error.mean()
    assert all(p.grad is None for h in hypernets for p in h.parameters())


def test_run_experiment_refuses_bad_sizes():
    with pytest.raises(ValueError, match="shown=9"):
        run_experiment(test_tasks=4, shown=9)
    with pytest.raises(TypeError, match="test_tasks must be"):
        run_experiment(test_tasks=2.5)


def test_the_dashboard_looks_results_up_and_refuses_bad_values(result):
    dash = SupportExplorer(result)
    assert dash.status_text().startswith("K = 5, task 0")
    assert_traces_are_keyed(dash)
    assert dash.set(support=40, task=2) and dash.status_text().startswith("K = 40, task 2")
    assert_redraw_sets_every_array(dash)
    chosen = dash.trace("chosen K")
    assert list(chosen.x) == [40.0] * len(METHODS)
    assert not dash.set(support=3)
    assert "support=3" in dash.status_text() and dash.values() == {"support": 40, "task": 2}
    assert not dash.set(task=7) and "task=7" in dash.status_text()
    with pytest.raises(ValueError, match="support=3 was not computed"):
        dash.compute(support=3, task=0)
    figure = dash.draw_static(dash.state)
    assert len(figure.axes) == 2
    plt.close(figure)
