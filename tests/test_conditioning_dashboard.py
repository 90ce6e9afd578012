"""The input-based dashboard: its views, its controls, errors that keep the last good state."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest
import torch
from dashboard_checks import array, assert_redraw_sets_every_array, assert_traces_are_keyed

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


def _heatmap(explorer: ConditioningExplorer, layer: str = "fc1") -> np.ndarray:
    return array(explorer, f"Θ {layer}", "z")


def _trace(explorer: ConditioningExplorer, key: str):
    return explorer.trace(key)


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
    assert _trace(explorer, "band low").visible is False and _trace(explorer, "band").y is None
    assert _trace(explorer, "baseline").name == "separate DNN"
    assert explorer.set(conditioning="noise-conditioned")
    assert explorer.status_text().startswith("noise-conditioned, sample 0 of 8: error")
    assert not np.array_equal(_heatmap(explorer), heatmap)
    assert list(_trace(explorer, "truth").y) != truth
    assert len(_trace(explorer, "band low").y) == 50 and len(_trace(explorer, "band").x) == 50
    assert _trace(explorer, "baseline").visible is False
    assert _trace(explorer, "prediction").name == "sample 0"


def test_every_trace_is_keyed_and_matches_the_state(explorer, views):
    assert_traces_are_keyed(explorer)
    assert explorer.live.keys() == [
        "Θ fc0", "Θ fc1", "Θ fc2", "band low", "band", "truth", "points", "baseline", "prediction"
    ]  # fmt: skip
    noise_view = views[2]
    assert explorer.set(conditioning="noise-conditioned", item=3)
    grid = views[0].grid.flatten().numpy()
    for key in ("band low", "band", "truth", "prediction"):
        assert np.allclose(array(explorer, key, "x"), grid)
    assert np.allclose(array(explorer, "band low", "y"), noise_view.band[0])
    assert np.allclose(array(explorer, "band", "y"), noise_view.band[1])
    assert np.allclose(array(explorer, "prediction", "y"), noise_view.predictions[3].flatten())
    assert np.allclose(array(explorer, "truth", "y"), noise_view.truth.flatten())
    assert np.allclose(array(explorer, "points", "x"), noise_view.task.x[0].flatten())
    fc1 = noise_view.target.unflatten(noise_view.theta[3])["fc1.weight"].numpy()
    assert np.allclose(_heatmap(explorer), fc1)
    assert explorer.trace("Θ fc1").zmax == pytest.approx(noise_view.weight_limit)
    assert_redraw_sets_every_array(explorer)
    assert explorer.set(conditioning="task-conditioned")
    assert_redraw_sets_every_array(explorer)


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
    assert explorer.values()["examples"] == 3  # the box shows what the figure shows
    assert np.array_equal(_heatmap(explorer), good_z)
    assert explorer.set(examples=5)
    assert explorer.error is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"item": 9}, "item=9 is out of range; allowed: 0 to 4"),
        ({"item": -1}, "item=-1 is out of range; allowed: 0 to 4"),
        ({"item": True}, "item=True is not allowed; it must be an int"),
        ({"conditioning": "noise"}, "conditioning='noise' is not allowed; choose one of: "),
    ],
)
def test_a_value_outside_a_control_changes_nothing(explorer, values, message):
    assert explorer.set(item=2)
    state = explorer.state
    assert not explorer.set(examples=5, **values)
    assert message in explorer.status_text()
    assert explorer.values() == {"conditioning": "task-conditioned", "item": 2, "examples": 4}
    assert explorer.state is state


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
    assert titles[:3] == ["Θ of fc0 (8×1)", "Θ of fc1 (8×8)", "Θ of fc2 (1×8)"]
    assert titles[:3] == [explorer.live.title_text(f"Θ fc{i}") for i in range(3)]
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
