"""The body explorer dashboard: a body or task change redraws, a bad value keeps the last state."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from dashboard_checks import array, assert_redraw_sets_every_array, assert_traces_are_keyed

from hyperviz import MLPTarget, sinusoid_curve, sinusoid_tasks
from hyperviz.lessons.architectures import chunk_labels, compare_bodies
from hyperviz.lessons.architectures_dashboard import BodyExplorer

matplotlib.use("Agg")
TARGET = MLPTarget([1, 8, 8, 1])


@pytest.fixture(scope="module")
def parts():
    family = sinusoid_tasks(num_tasks=3, num_points=10, seed=0)
    grid = torch.linspace(-5, 5, 20).unsqueeze(1)
    truth = sinusoid_curve(family.params, grid)
    runs = compare_bodies(TARGET, family, grid, truth, chunk_size=16, steps=5, hidden=16)
    return runs, family, grid, truth, chunk_labels(TARGET, 16)


@pytest.fixture
def explorer(parts):
    return BodyExplorer(*parts[:4], token_labels=parts[4])


def test_starts_on_the_first_body_and_task_0(explorer):
    assert list(explorer.controls) == ["body", "task"]
    assert explorer.controls["body"].options == ("mlp", "cnn", "rnn", "attention")
    assert explorer.status_text().startswith("mlp body, task 0: Φ = ")
    assert "token influence" in explorer.live.title_text("tokens")


def test_traces_are_keyed(explorer):
    assert_traces_are_keyed(explorer)
    assert explorer.live.keys() == [
        "Θ fc1", "truth", "points", "generated net", "mlp", "cnn", "rnn", "attention", "tokens"
    ]  # fmt: skip


def test_every_array_matches_the_state(explorer, parts):
    runs, family, grid, truth, labels = parts
    assert explorer.set(body="rnn", task=2)
    for body, run in runs.items():  # the loss panel was empty in the browser (y set at build)
        assert np.allclose(array(explorer, body, "y"), run.history.loss)
        assert np.array_equal(array(explorer, body, "x"), np.arange(len(run.history.loss)))
    assert explorer.trace("rnn").line.width == 3 and explorer.trace("mlp").opacity == 0.35
    assert np.allclose(array(explorer, "truth", "x"), grid.flatten().numpy())
    assert np.allclose(array(explorer, "truth", "y"), truth[2].flatten().numpy())
    assert np.allclose(array(explorer, "generated net", "x"), grid.flatten().numpy())
    assert np.allclose(array(explorer, "points", "y"), family.y[2].flatten().numpy())
    assert list(array(explorer, "tokens", "x")) == labels == list(array(explorer, "tokens", "y"))
    assert np.allclose(array(explorer, "tokens", "z"), explorer.state.mixing)
    assert_redraw_sets_every_array(explorer)


def test_choosing_the_attention_body_shows_its_attention_map(explorer, parts):
    runs, family = parts[0], parts[1]
    before = array(explorer, "tokens", "z")
    assert explorer.set(body="attention", task=2)
    status = explorer.status_text()
    assert status.startswith("attention body, task 2:")
    assert f"Φ = {runs['attention'].learnable:,}" in status
    assert "weights (row: query token)" in explorer.live.title_text("tokens")
    shown = array(explorer, "tokens", "z")
    assert not np.allclose(shown, before)
    assert np.allclose(shown.sum(-1), 1, atol=1e-5)
    assert family.names[2] in explorer.live.title_text("fit")
    assert explorer.trace("attention").line.width == 3


def test_shown_weights_are_the_generated_ones(explorer, parts):
    runs = parts[0]
    explorer.set(body="rnn", task=1)
    theta = runs["rnn"].model.weights(torch.arange(3)).detach()
    fc1 = TARGET.unflatten(theta)["fc1.weight"][1].numpy()
    assert np.allclose(array(explorer, "Θ fc1", "z"), fc1)
    assert explorer.live.title_text("Θ fc1") == "rnn: Θ of fc1 (8×8)"


def test_a_task_out_of_range_shows_an_error_and_keeps_the_last_state(explorer):
    explorer.set(body="cnn", task=1)
    good = explorer.state
    assert not explorer.set(task=3)
    assert explorer.status_text() == "ValueError: task=3 is out of range; allowed: 0 to 2"
    assert "hv-error" in explorer.status.value
    assert explorer.state is good and explorer.values() == {"body": "cnn", "task": 1}
    assert not explorer.set(body="transformer")
    assert "body='transformer' is not allowed; choose one of: 'mlp', 'cnn'" in (
        explorer.status_text()
    )
    assert explorer.set(task=0)
    assert explorer.status_text().startswith("cnn body, task 0")


def test_token_labels_must_match_the_tokens(parts):
    with pytest.raises(ValueError, match="token_labels has 3 labels; the hypernet makes 7"):
        BodyExplorer(*parts[:4], token_labels=["a", "b", "c"])


def test_every_body_and_task_updates(explorer):
    # How fast: scripts/benchmark.py (dashboard latency), not a timed test.
    for i in range(12):
        assert explorer.set(body=["mlp", "cnn", "rnn", "attention"][i % 4], task=i % 3)


def test_static_picture_has_four_panels(explorer):
    figure = explorer.draw_static(explorer.state)
    assert len([ax for ax in figure.axes if ax.has_data()]) == 4
