"""The strategy explorer: results trained in lesson code, look-ups via set(), errors in status."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest
from dashboard_checks import array, assert_redraw_sets_every_array, assert_traces_are_keyed

from hyperviz import sinusoid_tasks
from hyperviz.lessons.output_based import VARIANTS, grid_key, train_grid
from hyperviz.lessons.output_based_dashboard import StrategyExplorer

matplotlib.use("Agg")
GRID = {"widths": (4, 8), "chunk_sizes": (16, 32), "embedding_dims": (2, 3)}


@pytest.fixture(scope="module")
def tasks():
    return sinusoid_tasks(num_tasks=2, num_points=8, seed=0)


@pytest.fixture(scope="module")
def results(tasks):
    return train_grid(tasks, **GRID, steps=3, hidden=8)


@pytest.fixture
def explorer(results):
    return StrategyExplorer(results)


def test_grid_trains_each_distinct_setting_once(results):
    # per width: one-shot, multi-head, 2 chunk sizes x 2 embeddings, 2 x 2 components
    assert len(results) == 2 * (1 + 1 + 4 + 2 + 2)
    assert grid_key("one-shot", 8, 16, 3) == ("one-shot", 8, 0, 0)
    assert grid_key("component-wise (layer)", 8, 16, 3) == ("component-wise (layer)", 8, 0, 3)
    assert grid_key("chunk-wise", 8, 16, 3) == ("chunk-wise", 8, 16, 3)
    assert all(len(r.loss) == 3 for r in results.values())


def test_settings_trained_before_are_taken_not_trained_again(tasks, results):
    key = grid_key("one-shot", 4, 16, 2)
    grid = {"widths": (4,), "chunk_sizes": (16,), "embedding_dims": (2,)}
    again = train_grid(tasks, **grid, variants=["one-shot"], steps=1, trained={key: results[key]})
    assert again[key] is results[key]


def test_the_grid_comes_from_the_results(explorer):
    assert explorer.widths == (4, 8) and explorer.chunk_sizes == (16, 32)
    assert explorer.embedding_dims == (2, 3)


def test_first_control_is_the_strategy_dropdown(explorer):
    name, control = next(iter(explorer.controls.items()))
    assert name == "strategy" and isinstance(control, widgets.Dropdown)
    assert list(control.options) == list(VARIANTS)


def test_traces_are_named_and_keyed(explorer):
    assert_traces_are_keyed(explorer)
    assert explorer.live.keys() == ["Θ fc0", "Θ fc1", "Θ fc2", *VARIANTS, "counts"]


def test_starts_on_the_middle_chunk_size_and_largest_width(explorer):
    assert explorer.status_text().startswith("chunk-wise, chunk 32, embedding 3, width 8: Φ = ")
    assert array(explorer, "Θ fc1", "z").shape == (8, 8)


def test_a_good_change_updates_status_and_figure(explorer):
    before_status, before_z = explorer.status_text(), array(explorer, "Θ fc1", "z")
    assert explorer.set(strategy="one-shot")
    status = explorer.status_text()
    assert status != before_status and status.startswith("one-shot, width 8: Φ = ")
    assert "chunk" not in status and "embedding" not in status
    assert not np.array_equal(array(explorer, "Θ fc1", "z"), before_z)
    widths = {variant: explorer.trace(variant).line.width for variant in VARIANTS}
    assert widths["one-shot"] == 3 and widths["chunk-wise"] == 1


def test_every_array_matches_the_state_after_set(explorer, results):
    assert explorer.set(strategy="component-wise (layer)", embedding_dim=2, width=4)
    result = results[("component-wise (layer)", 4, 0, 2)]
    theta = explorer.targets[4].unflatten(result.theta[0])
    for layer in ("fc0", "fc1", "fc2"):
        z = array(explorer, f"Θ {layer}", "z")
        assert np.allclose(z, theta[f"{layer}.weight"].reshape(z.shape).numpy())
        assert explorer.trace(f"Θ {layer}").zmax == explorer.state.maps.limit
    for variant in VARIANTS:
        curve = results[grid_key(variant, 4, 32, 2)].loss
        assert np.allclose(array(explorer, variant, "y"), curve)
        assert np.array_equal(array(explorer, variant, "x"), np.arange(len(curve)))
    assert list(array(explorer, "counts", "y")) == [0, 1, 2, 3, 4]


def test_a_redraw_sets_every_array_again(explorer):
    assert explorer.set(strategy="multi-head", width=4)
    assert_redraw_sets_every_array(explorer)


def test_width_changes_heatmap_shapes_and_titles(explorer):
    assert explorer.set(width=4)
    assert array(explorer, "Θ fc0", "z").shape == (4, 1)
    assert array(explorer, "Θ fc1", "z").shape == (4, 4)
    assert explorer.live.title_text("Θ fc1") == "Θ of fc1 (4×4)"
    assert "width 4" in explorer.status_text()


def test_status_and_counts_come_from_the_trained_result(explorer, results):
    explorer.set(strategy="chunk-wise", chunk_size=16, embedding_dim=2, width=8)
    result = results[("chunk-wise", 8, 16, 2)]
    rep = result.report
    assert explorer.status_text() == (
        f"chunk-wise, chunk 16, embedding 2, width 8: Φ = {rep.learnable:,}, "
        f"Θ = {rep.generated:,}, Θ/Φ = {rep.compression_ratio:.3g}, "
        f"unused {rep.unused_outputs:,}, loss {result.final_loss:.3g}"
    )
    bars = explorer.trace("counts")
    assert list(bars.x) == [rep.learnable, rep.generated, rep.last_layer, 15, 2 * 7]
    explorer.set(strategy="one-shot")
    assert list(explorer.trace("counts").text)[-2:] == ["unused outputs: 0", "embeddings: 0"]
    assert list(explorer.trace("counts").x)[-2:] == [1, 1]  # a log axis cannot show 0
    assert list(explorer.trace("chunk-wise").y) == result.loss


@pytest.mark.parametrize(
    ("chunk_size", "message"),
    [(0, "chunk_size=0 is not allowed"), (100, "chunk_size=100 was not trained")],
)
def test_a_bad_chunk_size_shows_an_error_and_keeps_the_last_state(explorer, chunk_size, message):
    explorer.set(strategy="chunk-wise", chunk_size=16)
    state, status, values = explorer.state, explorer.status_text(), explorer.values()
    z = array(explorer, "Θ fc1", "z")
    assert not explorer.set(chunk_size=chunk_size)
    assert message in explorer.status_text()
    assert "hv-error" in explorer.status.value and "last good state" in explorer.status.value
    assert "controls set back" in explorer.status.value
    assert explorer.state is state
    assert explorer.values() == values  # the controls show what the figure shows
    assert np.array_equal(array(explorer, "Θ fc1", "z"), z)
    assert explorer.set(chunk_size=32) and explorer.status_text() != status


def test_a_learner_typing_an_untrained_chunk_size_gets_the_controls_back(explorer):
    explorer.set(strategy="chunk-wise", chunk_size=16)
    explorer.controls["chunk_size"].value = 100  # as typed in the browser
    assert "chunk_size=100 was not trained" in explorer.status_text()
    assert explorer.controls["chunk_size"].value == 16
    assert explorer.state.result.chunk_size == 16


def test_chunk_size_off_the_grid_is_fine_where_it_does_not_apply(explorer):
    assert explorer.set(strategy="multi-head", chunk_size=100)
    assert explorer.status_text().startswith("multi-head, width 8")
    assert not explorer.set(strategy="chunk-wise")
    assert "chunk_size=100 was not trained" in explorer.status_text()
    assert explorer.values()["strategy"] == "multi-head"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"strategy": "two-shot"}, "strategy='two-shot' is not allowed; choose one of: 'one-shot'"),
        ({"width": 5}, "width=5 is not allowed; choose one of: 4, 8"),
        ({"width": "8"}, "width='8' is not allowed"),
        ({"chunk_size": 1.5}, "chunk_size=1.5 is not allowed; it must be an int"),
        ({"depth": 2}, "'depth' is not a control; controls: ['strategy', 'chunk_size'"),
    ],
)
def test_a_value_a_control_cannot_take_changes_nothing(explorer, values, message):
    before, state = explorer.values(), explorer.state
    assert not explorer.set(embedding_dim=2, **values)  # a good value, yet nothing is applied
    assert message in explorer.status_text()
    assert explorer.status_text().startswith("ValueError: ")
    assert "hv-error" in explorer.status.value
    assert explorer.values() == before and explorer.state is state


def test_the_update_path_only_looks_up_results(explorer):
    """No training on update: every setting reuses a stored result object."""
    for strategy in VARIANTS:
        explorer.set(strategy=strategy, chunk_size=16, embedding_dim=2, width=4)
        assert explorer.state.result is explorer.results[grid_key(strategy, 4, 16, 2)]


def test_static_picture(explorer):
    figure = explorer.draw_static(explorer.state)
    assert len(figure.axes) == 3 + 1 + 1 + 1  # heatmaps, colour bar, loss, counts
    assert figure.axes[1].get_title() == explorer.live.title_text("Θ fc1")
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"widths": ()}, ValueError),
        ({"chunk_sizes": (0,)}, ValueError),
        ({"widths": (2.5,)}, TypeError),
        ({"variants": ("two-shot",)}, ValueError),
    ],
)
def test_bad_grids_are_refused_before_training(tasks, kwargs, error):
    with pytest.raises(error):
        train_grid(tasks, **{**GRID, **kwargs}, steps=1)


def test_an_explorer_needs_results():
    with pytest.raises(ValueError, match="train_grid"):
        StrategyExplorer({})


def test_text_form_is_a_fixed_sentence(explorer):
    text = explorer._repr_mimebundle_()["text/plain"]
    assert text == "Strategy explorer (interactive: run the notebook to use it)"
