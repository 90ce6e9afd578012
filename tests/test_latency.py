"""The latency sweep: which values it tries, that it times real updates and counts failures."""

import ipywidgets as widgets
import pytest
from dashboard_checks import Toy

from hyperviz import MLPTarget
from hyperviz.lessons.how_to_use_dashboard import ChunkLayoutViewer
from hyperviz.viz.latency import control_values, namespace_latencies, percentile, sweep_latencies


def test_percentile_interpolates_and_rejects_an_empty_sequence():
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    with pytest.raises(ValueError, match="empty"):
        percentile([], 95)


def test_control_values_follow_the_kind_of_control():
    assert control_values(widgets.Dropdown(options=["a", "b", "c"])) == ["a", "b", "c"]
    assert control_values(widgets.Dropdown(options=[("one", 1), ("two", 2)])) == [1, 2]
    assert control_values(widgets.SelectionSlider(options=[8, 16, 32])) == [8, 16, 32]
    assert control_values(widgets.IntSlider(min=0, max=3)) == [0, 1, 2, 3]
    spread = control_values(widgets.IntSlider(min=0, max=100), most=5)
    assert spread == [0, 25, 50, 75, 100]
    assert control_values(widgets.IntText(value=7)) == [7]  # a free box: no list to pick from


def test_sweep_times_every_update_and_restores_the_first_state():
    viewer = ChunkLayoutViewer(MLPTarget([1, 8, 1]), chunk_size=4)
    latency = sweep_latencies(viewer, rounds=3)
    assert len(latency.times_ms) == 3 and latency.failed == 0
    assert 0 < latency.p50 <= latency.p95
    assert viewer.values() == {"chunk_size": 4}


def test_failed_updates_are_counted_not_raised():
    toy = Toy()  # its compute refuses letter "c"
    latency = sweep_latencies(toy, rounds=1)
    assert latency.failed == 1 and len(latency.times_ms) == 3 + 5
    assert toy.values() == {"letter": "a", "n": 2} and toy.error is None


def test_namespace_latencies_finds_the_dashboards_only():
    viewer = ChunkLayoutViewer(MLPTarget([1, 8, 1]), chunk_size=4)
    found = namespace_latencies({"viewer": viewer, "_hidden": viewer, "x": 3}, rounds=1)
    assert [latency.name for latency in found] == ["viewer (ChunkLayoutViewer)"]
    with pytest.raises(TypeError, match="Dashboard"):
        sweep_latencies("not a dashboard")
