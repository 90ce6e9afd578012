"""Where each generated number goes: the output grid of every strategy variant."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from hyperviz import MLPTarget
from hyperviz.lessons.output_based import VARIANTS, make_hypernet
from hyperviz.viz.output_grids import output_grid, plot_output_grids

matplotlib.use("Agg")
TARGET = MLPTarget([1, 32, 32, 1])  # layers of 64, 1,056 and 33 numbers


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_output_grid_marks_every_generated_number(variant):
    hypernet = make_hypernet(TARGET, variant, chunk_size=64)
    grid = output_grid(hypernet)
    made = grid[~np.isnan(grid)]
    assert (made == -1).sum() == hypernet.report().unused_outputs
    assert [(made == i).sum() for i in range(3)] == [layer.size for layer in TARGET.layers]


def test_grid_shapes_follow_the_layout():
    shapes = {v: output_grid(make_hypernet(TARGET, v, chunk_size=64)).shape for v in VARIANTS}
    assert shapes == {
        "one-shot": (1153, 1),
        "multi-head": (1056, 3),
        "chunk-wise": (64, 19),
        "component-wise (layer)": (1056, 3),
        "component-wise (neuron)": (33, 65),
    }
    multi_head = output_grid(make_hypernet(TARGET, "multi-head"))
    assert np.isnan(multi_head).sum() == 3 * 1056 - 1153  # shorter heads: no such output


def test_chunks_cross_layer_borders():
    grid = output_grid(make_hypernet(TARGET, "chunk-wise", chunk_size=64))
    assert set(grid[:, 0]) == {0}  # chunk 0 is exactly fc0 (64 numbers)
    assert set(grid[:, 17]) == {1, 2}  # half fc1, half fc2
    assert list(grid[:2, 18]) == [2, -1]  # fc2's last number, then unused


def test_plot_has_a_panel_per_hypernet():
    hypernets = {v: make_hypernet(MLPTarget([1, 4, 4, 1]), v, chunk_size=8) for v in VARIANTS}
    figure = plot_output_grids(hypernets)
    assert len(figure.axes) == len(VARIANTS)
    matplotlib.pyplot.close("all")
