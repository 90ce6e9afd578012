"""The input-based dashboard: its views, its controls, errors that keep the last good state."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest
import torch

import hyperviz as hv
from hyperviz.evaluation import dense_grid
from hyperviz.lessons.input_based import SeparateDNNs, family_mean_curve
from hyperviz.lessons.input_based_dashboard import (
    ConditioningExplorer,
    DataView,
    NoiseView,
    TaskView,
    plot_panels,
)


@pytest.fixture(scope="module")
def views():
    """Untrained models are enough: the dashboard only evaluates what it is given."""
    target = hv.MLPTarget([1, 8, 8, 1])
    grid = dense_grid(50)
    tasks = hv.sinusoid_tasks(num_tasks=5, num_points=6, seed=0)
    held_out = hv.sinusoid_tasks(num_tasks=6, num_points=10, seed=1)
    one_task = hv.sinusoid_tasks(num_tasks=1, num_points=6, seed=3, x_range=(-5.0, 0.0))
    hv.seed_everything(0)
    task_model = hv.HyperDNN(hv.HyperNetwork(target, conditioning="task", num_tasks=5))
    data_model = hv.HyperDNN(hv.HyperNetwork(target, conditioning="data", data_features=2))
    noise_model = hv.HyperDNN(hv.HyperNetwork(target, conditioning="noise"))
    return [
        TaskView(task_model, SeparateDNNs(target, 5), tasks, grid),
        DataView(data_model, held_out, grid, family_mean_curve(grid)),
        NoiseView(noise_model, one_task, grid, num_samples=8),
        NoiseView(noise_model, one_task, grid, name="noise + KL term", num_samples=8, seed=1),
    ]


@pytest.fixture
def explorer(views):
    return ConditioningExplorer(views, examples=4)


def _heatmap(explorer: ConditioningExplorer, i: int = 1) -> np.ndarray:
    return np.array(explorer.figure.data[i].z)


def _trace(explorer: ConditioningExplorer, name: str):
    index = {"low": 3, "high": 4, "truth": 5, "points": 6, "baseline": 7, "prediction": 8}[name]
    return explorer.figure.data[index]


def test_first_control_is_the_conditioning_dropdown(explorer):
    first_name, first = next(iter(explorer.controls.items()))
    assert first_name == "conditioning" and isinstance(first, widgets.Dropdown)
    assert list(first.options) == [
        "task-conditioned",
        "data-conditioned",
        "noise-conditioned",
        "noise + KL term",
    ]
    assert explorer.controls["item"].max == 4  # the smallest view has 5 items


def test_changing_the_conditioning_changes_status_and_figure(explorer):
    assert explorer.status_text().startswith("task-conditioned, task 0 (A=")
    assert "separate DNN" in explorer.status_text()
    heatmap, truth = _heatmap(explorer), list(_trace(explorer, "truth").y)
    assert len(_trace(explorer, "low").y) == 0
    assert explorer.set(conditioning="noise-conditioned")
    assert explorer.status_text().startswith("noise-conditioned, sample 0 of 8: error")
    assert not np.array_equal(_heatmap(explorer), heatmap)
    assert list(_trace(explorer, "truth").y) != truth
    assert len(_trace(explorer, "low").y) == 50 and len(_trace(explorer, "baseline").y) == 0


def test_slider_picks_a_task_or_sample(explorer):
    assert explorer.set(item=3)
    assert explorer.status_text().startswith("task-conditioned, task 3 (")
    task_view = explorer.views["task-conditioned"]
    np.testing.assert_allclose(
        list(_trace(explorer, "prediction").y),
        task_view.predictions[3].flatten().numpy(),
        rtol=1e-6,
    )
    first = _heatmap(explorer)
    assert explorer.set(conditioning="noise + KL term", item=2)
    assert "sample 2 of 8" in explorer.status_text()
    assert not np.array_equal(_heatmap(explorer), first)


def test_examples_change_what_the_data_hypernet_sees(explorer):
    assert explorer.set(conditioning="data-conditioned", item=1, examples=2)
    assert "held-out task 1 seen through 2 examples" in explorer.status_text()
    assert len(_trace(explorer, "points").x) == 2
    two = _heatmap(explorer)
    assert explorer.set(examples=10)
    assert len(_trace(explorer, "points").x) == 10
    assert not np.array_equal(_heatmap(explorer), two)


@pytest.mark.parametrize("bad", [0, 11, -3])
def test_bad_examples_show_an_error_and_keep_the_last_state(explorer, bad):
    assert explorer.set(conditioning="data-conditioned", examples=3)
    good_state, good_z = explorer.state, _heatmap(explorer)
    assert not explorer.set(examples=bad)
    assert f"examples={bad} is not allowed" in explorer.status_text()
    assert "1 to 10" in explorer.status_text()
    assert "hv-error" in explorer.status.value
    assert explorer.state is good_state
    assert np.array_equal(_heatmap(explorer), good_z)
    assert explorer.set(examples=5)
    assert explorer.error is None


def test_text_repr_is_fixed_and_controls_have_classes(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"] == "Input-based hypernets (interactive: run the notebook to use it)"
    assert "hv-control-conditioning" in explorer.controls["conditioning"]._dom_classes


def test_every_view_item_and_example_count_updates(explorer):
    # How fast: scripts/benchmark.py (dashboard latency), not a timed test.
    names = list(explorer.views)
    for i in range(20):
        assert explorer.set(conditioning=names[i % 4], item=i % 5, examples=1 + i % 10)


def test_static_picture_has_one_heatmap_per_layer_and_the_predictions(explorer):
    figure = explorer.draw_static(explorer.state)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[:3] == ["generated Θ: fc0 8×1", "generated Θ: fc1 8×8", "generated Θ: fc2 1×8"]
    assert len(figure.axes) == 5  # three heatmaps, a colour bar, the predictions


def test_views_check_their_inputs(views):
    task_view, data_view, noise_view, _ = views
    with pytest.raises(ValueError, match="item=5 is out of range for task-conditioned"):
        task_view.panel(5, 6)
    with pytest.raises(ValueError, match="examples=11 is not allowed"):
        data_view.panel(0, 11)
    with pytest.raises(ValueError, match="item=-1"):
        noise_view.panel(-1, 6)
    two_tasks = hv.sinusoid_tasks(num_tasks=2, num_points=4)
    with pytest.raises(ValueError, match="exactly one"):
        NoiseView(noise_view_model(views), two_tasks, dense_grid(10))


def noise_view_model(views) -> hv.HyperDNN:
    hv.seed_everything(0)
    return hv.HyperDNN(hv.HyperNetwork(views[0].target, conditioning="noise"))


def test_explorer_refuses_duplicate_or_missing_views(views):
    with pytest.raises(ValueError, match="distinct names"):
        ConditioningExplorer([views[2], views[2]])
    with pytest.raises(ValueError, match="non-empty"):
        ConditioningExplorer([])


def test_noise_view_band_is_mean_plus_minus_two_std(views):
    noise_view = views[2]
    low, high = noise_view.band
    mean, std = noise_view.predictions.mean(0).flatten(), noise_view.predictions.std(0).flatten()
    np.testing.assert_allclose(low, (mean - 2 * std).numpy(), rtol=1e-5)
    np.testing.assert_allclose(high, (mean + 2 * std).numpy(), rtol=1e-5)
    assert torch.equal(noise_view.panel(3, 6).theta, noise_view.theta[3])


def test_plot_panels_hides_unused_axes(views):
    figure = plot_panels([views[0].panel(i, 6) for i in range(3)], ["a", "b", "c"], ncols=2)
    assert [ax.get_visible() for ax in figure.axes] == [True, True, True, False]
    assert figure.axes[0].get_legend() is not None and figure.axes[1].get_legend() is None
