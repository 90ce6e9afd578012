"""The body explorer dashboard: a body or task change redraws, a bad value keeps the last state."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

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
    assert "token influence" in explorer.figure.layout.annotations[3].text


def test_choosing_the_attention_body_shows_its_attention_map(explorer, parts):
    runs, family = parts[0], parts[1]
    before = np.array(explorer.figure.data[-1].z)
    assert explorer.set(body="attention", task=2)
    status = explorer.status_text()
    assert status.startswith("attention body, task 2:")
    assert f"Φ = {runs['attention'].learnable:,}" in status
    assert "attention weights" in explorer.figure.layout.annotations[3].text
    shown = np.array(explorer.figure.data[-1].z)
    assert not np.allclose(shown, before)
    assert np.allclose(shown.sum(-1), 1, atol=1e-5)
    assert family.names[2] in explorer.figure.layout.annotations[1].text
    chosen = [t.line.width for t in explorer.figure.data[4:-1] if t.name == "attention"]
    assert chosen == [2.5]


def test_shown_weights_are_the_generated_ones(explorer, parts):
    runs = parts[0]
    explorer.set(body="rnn", task=1)
    theta = runs["rnn"].model.weights(torch.arange(3)).detach()
    fc1 = TARGET.unflatten(theta)["fc1.weight"][1].numpy()
    assert np.allclose(np.array(explorer.figure.data[0].z), fc1)


def test_a_task_out_of_range_shows_an_error_and_keeps_the_last_state(explorer):
    explorer.set(body="cnn", task=1)
    good = explorer.state
    assert not explorer.set(task=3)
    assert explorer.status_text() == "ValueError: task=3 is out of range; allowed: 0 to 2"
    assert "hv-error" in explorer.status.value
    assert explorer.state is good
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
