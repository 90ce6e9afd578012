"""Notebook 12's experiment at reduced size (its claims) and its dashboard, driven from code."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from dashboard_checks import assert_redraw_sets_every_array, assert_traces_are_keyed

from hyperviz.lessons.multitask_adapters import (
    METHODS,
    NEW_METHODS,
    Setup,
    _starts,
    accuracy_table,
    run_experiment,
)
from hyperviz.lessons.multitask_adapters_dashboard import NewTaskExplorer, embedding_plane

SMALL = dict(
    angles=tuple(range(15, 360, 60)),  # six trained tasks
    new_angles=(45, 165, 285),  # three new ones between them
    sizes=(4, 64),
    new_sizes=(1, 64),
    steps=200,
    new_steps=150,
    pretrain_steps=200,
)


@pytest.fixture(scope="module")
def result():
    return run_experiment(seeds=(0, 1), **SMALL)


def test_the_notebook_claims_hold_at_reduced_size(result):
    """Separate adapters win with many labels; on new tasks with one label a new embedding
    beats new separate adapters, which fall below no adapter at all; with many labels they win."""
    hyper, separate = result.mean(METHODS[0]), result.mean(METHODS[1])
    assert bool((separate[:, -1] > hyper[:, -1]).all())
    embedding, fresh = result.new_mean(NEW_METHODS[0]), result.new_mean(NEW_METHODS[1])
    assert bool((embedding[:, 0] > fresh[:, 0] + 0.1).all())
    bare = result.pretrained[:, len(SMALL["angles"]) :].mean(dim=1)
    assert bool((fresh[:, 0] < bare).all())
    assert bool((fresh[:, -1] > embedding[:, -1]).all())
    gain = embedding[:, -1] - embedding[:, 0]
    assert bool((gain < (fresh[:, -1] - fresh[:, 0]) / 2).all())


def test_results_have_one_entry_per_seed_size_and_task(result):
    k, s, t, t_new = 2, 2, len(SMALL["angles"]), len(SMALL["new_angles"])
    for method in METHODS:
        assert result.accuracy[method].shape == (k, s, t)
        assert result.adapters[method].shape == (k, s, t, 2, result.setup.adapter.num_params)
    for method in NEW_METHODS:
        assert result.new_accuracy[method].shape == (k, 2, t_new)
    assert result.pretrained.shape == (k, t + t_new)
    assert result.embeddings.shape == (k, s, t, 8) and result.new_embeddings.shape == (
        k,
        2,
        t_new,
        8,
    )
    assert result.added_per_task == {METHODS[0]: 8, METHODS[1]: 2 * 1096, METHODS[2]: 0}
    assert result.shared[METHODS[2]] == 2 * 1096 and result.shared[METHODS[0]] > 2 * 1096
    shared = result.new_accuracy[NEW_METHODS[2]]  # the shared adapter as is: no labels used
    torch.testing.assert_close(shared[:, 0], shared[:, 1])
    table = accuracy_table(result, new=True)
    assert "new embedding" in table and "64 per task" in table


def test_a_zero_adapter_is_the_pretrained_network(result):
    model = result.model
    assert model.modes["layer1"] == model.modes["head"] == "frozen"
    x = torch.rand(5, 64)
    thetas = model.weights()
    zero = {**thetas, "adapter1": torch.zeros_like(thetas["adapter1"]),
            "adapter2": torch.zeros_like(thetas["adapter2"])}  # fmt: skip
    hidden = model.act(model.parts["layer1"](x, thetas["layer1"]))
    hidden = model.act(model.parts["layer2"](hidden, thetas["layer2"]))
    plain = model.parts["head"](hidden, thetas["head"])
    torch.testing.assert_close(model.run(x, zero), plain)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"angles": (0, 30)}, "not 0"),
        ({"new_angles": (15,)}, "repeat some of angles"),
        ({"angles": (15, 45, 15)}, "repeats an angle"),
        ({"new_lr": 0.0}, "new_lr=0.0"),
        ({"sizes": (16, 4)}, "must be increasing"),
        ({"new_sizes": (0, 4)}, "new_sizes"),
        ({"steps": 0}, "steps=0"),
        ({"lr": -1.0}, "lr=-1.0"),
    ],
)
def test_bad_setup_gets_a_clear_error(options, message):
    with pytest.raises(ValueError, match=message):
        Setup(**options)


def test_too_many_labels_get_a_clear_error():
    with pytest.raises(ValueError, match="labelled images per task; there are"):
        run_experiment(seeds=(0,), sizes=(5000,), steps=1, new_steps=1, pretrain_steps=1)


def test_the_embedding_plane_is_the_same_on_every_machine():
    points = torch.randn(12, 8, generator=torch.Generator().manual_seed(0))
    centre, axes = embedding_plane(points)
    assert axes.shape == (2, 8)
    torch.testing.assert_close(axes @ axes.T, torch.eye(2), atol=1e-5, rtol=0)
    for axis in axes:
        assert axis[axis.abs().argmax()] > 0
    _, flipped = embedding_plane(-points)
    torch.testing.assert_close(flipped, axes)  # the sign rule, not the SVD, decides


def test_the_dashboard_looks_results_up_and_refuses_bad_values(result):
    dash = NewTaskExplorer(result, labels=1)
    assert dash.status_text().startswith("seed 0, 1 labelled image per new task: new embedding")
    assert dash.set(labels=64, seed=1)
    assert dash.status_text().startswith("seed 1, 64 labelled images per new task")
    assert not dash.set(labels=5) and "labels=5 is not allowed" in dash.status_text()
    assert dash.values() == {"labels": 64, "seed": 1}
    assert not dash.set(seed=7) and "seed=7" in dash.status_text()
    assert dash.last_update_seconds < 1.0


def test_the_dashboard_draws_every_array_and_its_static_picture(result):
    dash = NewTaskExplorer(result, labels=64)
    assert_traces_are_keyed(dash)
    assert_redraw_sets_every_array(dash)
    for method in NEW_METHODS:
        expected = result.new_accuracy[method][0, 1].numpy()
        np.testing.assert_allclose(dash.trace(f"task {method}").y, expected)
    np.testing.assert_array_equal(dash.trace("chosen").x, [64.0, 64.0, 64.0])
    assert list(dash.trace("new").text) == ["new 45°", "new 165°", "new 285°"]
    figure = dash.draw_static(dash.state)
    assert len(figure.axes) == 3
    plt.close(figure)


def test_final_losses_and_distances_read_the_right_runs(result):
    k, s = 2, 2
    for i, method in enumerate(METHODS):
        columns = result.losses[-20:, i * k * s : (i + 1) * k * s]
        torch.testing.assert_close(result.final_losses(method)[1, 0], columns[:, s].mean())
    trained, new = result.distances_from_centre()
    assert trained.shape == (2, 6) and new.shape == (2, 2, 3)
    centre = result.embeddings[1, -1].mean(dim=0)
    torch.testing.assert_close(new[1, 0, 2], (result.new_embeddings[1, 0, 2] - centre).norm())


def test_each_seed_starts_from_its_own_draws_whatever_the_other_seeds():
    setup = Setup()
    alone, together = (
        _starts(setup, [1], (2, 3), offset=1),
        _starts(setup, [0, 1], (2, 3), offset=1),
    )
    assert together.shape == (2, 2, 3, setup.adapter.num_params)
    torch.testing.assert_close(alone[0], together[1])
    assert not torch.equal(together[0], together[1])
