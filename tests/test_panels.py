"""The shared panels (live and matplotlib forms), traces by key, and the frame's guarantees."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from dashboard_checks import Toy, assert_redraw_sets_every_array

from hyperviz import MLPTarget
from hyperviz.lessons.how_to_use_dashboard import ChunkLayoutViewer
from hyperviz.viz.live import LiveFigure, keyed, subplot_figure
from hyperviz.viz.panels import (
    Curve,
    Fit,
    FitPanel,
    Losses,
    LossPanel,
    WeightRow,
    losses_of,
    symmetric_limit,
    weight_maps,
)

matplotlib.use("Agg")


def test_symmetric_limit_is_the_largest_magnitude_or_one():
    assert symmetric_limit([np.array([[1.0, -3.0]]), torch.tensor([2.0])]) == 3.0
    assert symmetric_limit({"a": np.zeros((2, 2))}) == 1.0
    assert symmetric_limit([]) == 1.0
    assert symmetric_limit([torch.ones(2, requires_grad=True) * -2]) == 2.0


def live_figure(*panels) -> LiveFigure:
    titles = [key for panel in panels for key in getattr(panel, "keys", [])]
    figure = subplot_figure(1, 3, [t for t in titles if t.startswith("Θ")] or ["x"])
    for panel in panels:
        panel.add(figure)
    return LiveFigure(go.FigureWidget(figure))


def test_weight_row_live_and_static_forms_draw_the_same_maps():
    row = WeightRow(["fc0", "fc1", "fc2"], colorbar=dict(thickness=10))
    live = live_figure(row)
    maps = weight_maps({"fc0": np.ones((4, 1)), "fc1": -2 * np.ones((4, 4))}, label="m: ")
    live.start()
    row.update(live, maps)
    assert live.unset() == []
    assert np.array_equal(live.trace("Θ fc1").z, maps.matrices["fc1"])
    assert live.trace("Θ fc0").zmin == -2 and live.trace("Θ fc0").zmax == 2
    assert live.trace("Θ fc2").visible is False  # no matrix for this slot: hidden
    layout = live.figure.layout  # and so are its axes: no empty grid beside the maps
    assert layout.xaxis3.visible is False and layout.yaxis3.visible is False
    assert layout.xaxis2.visible is not False
    row.update(live, weight_maps({f"fc{i}": np.ones((2, 2)) for i in range(3)}))
    assert layout.xaxis3.visible and layout.yaxis3.visible  # a deeper target shows it again
    row.update(live, maps)
    assert live.title_text("Θ fc1") == "m: Θ of fc1 (4×4)"
    assert [t.showscale for t in live.figure.data] == [True, False, False]  # the first carries it
    figure, axes = plt.subplots(1, 3)
    row.draw(axes, maps)
    assert [ax.get_title() for ax in axes[:2]] == ["m: Θ of fc0 (4×1)", "m: Θ of fc1 (4×4)"]
    assert not axes[2].get_visible() and axes[1].images[0].get_clim() == (-2, 2)
    with pytest.raises(ValueError, match="no heatmap"):
        row.update(live, weight_maps({"fc9": np.ones((1, 1))}))
    plt.close("all")


def test_fit_panel_sets_x_and_y_of_everything_it_shows():
    panel = FitPanel(["baseline", "prediction"], band_label="band of samples", y_range=(-1, 1))
    live = live_figure(panel)
    assert live.keys() == ["band low", "band", "truth", "points", "baseline", "prediction"]
    grid = np.linspace(-5, 5, 7)
    fit = Fit(
        grid,
        (np.array([0.0, 1.0]), np.array([0.5, -0.5])),
        {"prediction": Curve(np.sin(grid), "sample 3", "#123456")},
        np.cos(grid),
        (grid - 1, grid + 1),
    )
    live.start()
    panel.update(live, fit)
    assert live.unset() == []
    for key in ("band low", "band", "truth", "prediction"):
        assert np.array_equal(live.trace(key).x, grid)
    assert (
        live.trace("prediction").name == "sample 3"
        and live.trace("prediction").meta == "prediction"
    )
    assert live.trace("prediction").line.color == "#123456"
    assert live.trace("baseline").visible is False
    ax = panel.draw(plt.subplots()[1], fit)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["band of samples", "truth", "training points", "sample 3"]
    assert ax.get_ylim() == (-1, 1)
    plt.close("all")


def test_loss_panel_highlights_the_chosen_run_in_both_forms():
    panel = LossPanel(["a", "b"], marker=True)
    live = live_figure(panel)
    losses = losses_of({"a": [3.0, 2.0, 1.0], "b": torch.tensor([4.0, 2.0, 0.5])}, "b", step=1)
    live.start()
    panel.update(live, losses)
    assert live.unset() == []
    assert np.array_equal(live.trace("b").x, [0, 1, 2]) and list(live.trace("b").y) == [4, 2, 0.5]
    assert (live.trace("b").line.width, live.trace("a").line.width) == (3, 1)
    assert list(live.trace("step").y) == [2.0, 2.0] and list(live.trace("step").x) == [1, 1]
    ax = panel.draw(plt.subplots()[1], losses)
    assert [line.get_linewidth() for line in ax.get_lines()] == [1, 3]
    assert ax.get_yscale() == "log"
    panel.update(live, Losses({"a": np.ones(2)}))
    assert live.trace("b").visible is False and live.trace("step").visible is False
    plt.close("all")


def test_live_figure_needs_distinct_keys():
    twice = go.Figure([keyed(go.Scatter(), "a"), keyed(go.Scatter(), "a")])
    with pytest.raises(ValueError, match="distinct string key"):
        LiveFigure(go.FigureWidget(twice))
    with pytest.raises(ValueError, match="distinct string key"):
        LiveFigure(go.FigureWidget(go.Figure([go.Scatter(name="unkeyed")])))
    live = LiveFigure(go.FigureWidget(go.Figure([keyed(go.Scatter(), "a")])))
    with pytest.raises(KeyError, match="no trace 'b'; traces: \\['a'\\]"):
        live.trace("b")


# --- the frame -------------------------------------------------------------------------------
class ForgetsX(Toy):
    """A draw that sets y only: the bug that left curves on x = 0…N in the browser."""

    def draw(self, state):
        self.live.show("points", y=[1.0, 2.0])


class BuildsX(Toy):
    """x set once when the figure is built, never again."""

    def initial_figure(self):
        return go.Figure([keyed(go.Scatter(x=[0.0, 1.0]), "points")])


def test_a_draw_that_leaves_an_array_unset_cannot_start():
    with pytest.raises(ValueError, match="left arrays of visible traces unset: points.x"):
        ForgetsX()


def test_an_initial_figure_holding_data_is_refused():
    with pytest.raises(ValueError, match="initial_figure must hold no data arrays.*points.x"):
        BuildsX()


def test_a_compute_error_sets_the_controls_back():
    toy = Toy()
    assert toy.set(letter="b", n=3)
    assert not toy.set(letter="c")  # allowed by the dropdown, refused by compute
    assert toy.status_text() == "ValueError: letter='c' has no data"
    assert "controls set back" in toy.status.value
    assert toy.values() == {"letter": "b", "n": 3} and toy.state == ("b", 3)
    toy.controls["letter"].value = "c"  # as a learner would, in the browser
    assert toy.controls["letter"].value == "b" and toy.error == "ValueError: letter='c' has no data"
    assert toy.set(n=4) and toy.error is None and toy.status.value == "b × 4"


def test_set_applies_all_values_or_none():
    toy = Toy()
    assert not toy.set(letter="b", n=9)
    assert toy.status_text() == "ValueError: n=9 is out of range; allowed: 1 to 5"
    assert toy.values() == {"letter": "a", "n": 2}
    assert not toy.set(letter="z", n="3", size=1)
    assert toy.status_text() == (
        "ValueError: letter='z' is not allowed; choose one of: 'a', 'b', 'c'; n='3' is not "
        "allowed; it must be an int; 'size' is not a control; controls: ['letter', 'n']"
    )
    assert "nothing changed" in toy.status.value
    assert toy.set(n=5) and np.array_equal(toy.trace("points").x, np.arange(5))


def test_a_failing_draw_puts_the_last_good_state_back():
    class Breaks(Toy):
        def draw(self, state):
            super().draw(state)
            if state[1] == 5:
                raise RuntimeError("drawing failed")

    toy = Breaks()
    assert not toy.set(n=5)
    assert toy.status_text() == "RuntimeError: drawing failed"
    assert toy.values()["n"] == 2 and len(toy.trace("points").x) == 2


def test_toy_redraw_sets_every_array():
    toy = Toy()
    assert_redraw_sets_every_array(toy)


def test_control_classes_and_text_form_are_kept():
    toy = Toy()
    assert "hv-control-letter" in toy.controls["letter"]._dom_classes
    assert (
        isinstance(toy.controls["n"], widgets.IntSlider) and not toy.controls["n"].continuous_update
    )
    assert toy._repr_mimebundle_()["text/plain"] == "toy (interactive: run the notebook to use it)"


def test_defaults_the_browser_reports_back_are_not_arrays_a_draw_must_set():
    """plotly.js sends `text: ''` back for every bar; a redraw must still succeed."""
    viewer = ChunkLayoutViewer(MLPTarget([1, 8, 1]), chunk_size=4)
    for index in range(len(viewer.figure.data)):
        viewer.figure._data_defaults[index]["text"] = ""  # what the browser reports
    assert viewer.figure.data[1]["text"] == ""  # a default now reads like a set value
    assert viewer.set(chunk_size=5), viewer.status_text()


def test_every_draw_sends_each_trace_s_style_again():
    """plotly drops properties the browser reports back as defaults; a draw restores them."""
    viewer = ChunkLayoutViewer(MLPTarget([1, 8, 1]), chunk_size=4)
    styles = {t.meta: (t.name, t.orientation) for t in viewer.figure.data}
    for trace in viewer.figure.data:  # what plotly does with the browser's defaults
        trace._props.pop("name", None)
        trace._props.pop("orientation", None)
    assert viewer.set(chunk_size=5), viewer.status_text()
    shown = [t for t in viewer.figure.data if t.visible is not False]
    assert shown and all(
        (t._props["name"], t._props["orientation"]) == styles[t.meta] for t in shown
    )


def test_show_figure_attaches_alt_text_and_closes_the_figure(monkeypatch):
    import matplotlib.pyplot as plt

    from hyperviz.viz import plots

    shown = []
    monkeypatch.setattr(plots, "display", lambda obj, metadata: shown.append(metadata))
    figure = plt.figure()
    plots.show_figure(figure, alt="a test picture")
    assert shown == [{"image/png": {"alt": "a test picture"}}]
    assert not plt.fignum_exists(figure.number)
    with pytest.raises(ValueError, match="alt"):
        plots.show_figure(plt.figure(), alt=" ")
