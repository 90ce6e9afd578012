"""The browser/Python figure comparison on its own (no browser: runs in the unit pass)."""

from __future__ import annotations

import base64

import numpy as np
from figure_match import array_mismatch, figure_mismatches, pair_traces

GRID = np.linspace(-5, 5, 200)


def bdata(array: np.ndarray) -> dict:
    """plotly's base64 form of a numpy array."""
    spec = {"dtype": array.dtype.str.lstrip("<"), "bdata": base64.b64encode(array.tobytes())}
    spec["bdata"] = spec["bdata"].decode()
    if array.ndim > 1:
        spec["shape"] = ", ".join(map(str, array.shape))
    return spec


def scatter(name: str | None, x=None, y=None) -> dict:
    return {"name": name, "type": "scatter", "x": x, "y": y, "z": None}


def test_lost_x_array_is_a_mismatch():
    """The width explorer's bug: Python x = grid on [-5, 5], the browser has none (0..199)."""
    python = [scatter("truth", GRID.tolist(), np.sin(GRID).tolist())]
    browser = [scatter("truth", None, np.sin(GRID).tolist())]
    (problem,) = figure_mismatches(python, browser)
    assert "trace 'truth' x: Python has shape (200,) [-5, " in problem
    assert "browser has no values" in problem
    browser = [scatter("truth", list(range(200)), np.sin(GRID).tolist())]
    assert "largest difference" in figure_mismatches(python, browser)[0]


def test_empty_browser_trace_is_a_mismatch():
    """The body explorer's bug: the loss curves' y set at build, never in the browser."""
    python = [scatter("mlp", None, [1.0, 0.5, 0.25])]
    browser = [scatter("mlp")]
    assert figure_mismatches(python, browser) == [
        "trace 'mlp' y: Python has shape (3,) [1, 0.5, 0.25], browser has no values"
    ]


def test_typed_arrays_bdata_and_float32_agree():
    z = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    python = [{"name": None, "type": "heatmap", "x": None, "y": None, "z": bdata(z)}]
    browser = [{"name": None, "type": "heatmap", "x": None, "y": None, "z": z.tolist()}]
    assert figure_mismatches(python, browser) == []
    assert array_mismatch("y", [1.0, None], [1.0, float("nan")]) is None
    assert array_mismatch("y", [], None) is None


def test_plotly_default_x_is_not_a_mismatch_but_other_extra_arrays_are():
    assert array_mismatch("x", None, [0, 1, 2]) is None
    assert array_mismatch("x", None, [0, 1, 2], other=3) is None
    assert array_mismatch("x", None, [0, 1, 2], other=4) is not None
    assert array_mismatch("x", None, [1, 2, 3]) is not None
    assert array_mismatch("z", None, [[0, 1]]) is not None


def test_labels_compare_as_text():
    assert array_mismatch("y", ["layers", "chunks"], ["layers", "chunks"]) is None
    assert array_mismatch("y", ["layers", "chunks"], ["chunks", "layers"]) is not None


def test_traces_pair_by_unique_name_else_by_index():
    python = [scatter("a", [1]), scatter("b", [2])]
    how, pairs = pair_traces(python, list(reversed(python)))
    assert how == "name" and figure_mismatches(python, list(reversed(python))) == []
    unnamed = [scatter(None, [1]), scatter(None, [2])]
    how, pairs = pair_traces(unnamed, unnamed)
    assert how == "index" and [label for label, _, _ in pairs] == [
        "#0 scatter None",
        "#1 scatter None",
    ]
    assert figure_mismatches(unnamed, list(reversed(unnamed)))  # order matters without names
    assert "2 traces in Python, 1 in the browser" in figure_mismatches(python, python[:1])


def test_missing_coordinate_equal_to_plotly_default_draws_the_same():
    """Python y = 0..4 set at build but lost in the browser: plotly draws 0..4 anyway."""
    assert array_mismatch("y", [0, 1, 2, 3, 4], None, other=5) is None
    assert array_mismatch("y", [0, 1, 2, 3, 4], None, other=6) is not None


def test_a_name_lost_in_the_browser_is_a_mismatch():
    """The legend would show plotly's 'trace 5' instead of 'truth'."""
    problems = figure_mismatches([scatter("truth", [1])], [scatter(None, [1])])
    assert problems == ["trace #0 scatter 'truth' name: Python 'truth' vs browser None"]
