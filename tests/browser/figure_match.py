"""Compare what the browser holds for each plotly trace with the Python-side figure.

The browser side is `gd.data` of the `.js-plotly-plot` element (typed arrays turned into
lists in the page, or base64 `bdata` specs); the Python side is `dashboard.figure.data` as
`kernel_dump.py` writes it. Arrays x, y and z must agree to 1e-6 (absolute or relative), and
a name set in Python must be the browser's (legends show it).
Traces are matched by name when every trace on both sides has a distinct name, else by index.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

ARRAY_KEYS = ("x", "y", "z")
TOLERANCE = 1e-6
SHOWN = 4  # values shown from each end of an array in a mismatch message

# JavaScript run on a `.hv-dashboard` element: the browser's copy of its figure and status.
BROWSER_STATE = """(box) => {
    const plot = box.querySelector('.hv-figure .js-plotly-plot');
    const status = box.querySelector('.hv-status');
    if (!plot || !Array.isArray(plot.data)) return null;
    const plain = v => ArrayBuffer.isView(v) ? Array.from(v, Number)
        : Array.isArray(v) ? v.map(plain) : (v === undefined ? null : v);
    return {
        status: status ? status.innerText : null,
        traces: plot.data.map(t => ({name: t.name ?? null, type: t.type ?? null,
                                     x: plain(t.x), y: plain(t.y), z: plain(t.z)})),
    };
}"""


def decode(value: Any) -> Any:
    """A base64 `{bdata, dtype, shape}` spec as nested lists; anything else unchanged."""
    if not (isinstance(value, dict) and "bdata" in value):
        return value
    array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    shape = value.get("shape")
    if isinstance(shape, str):
        shape = [int(s) for s in shape.split(",")]
    return (array.reshape(shape) if shape else array).tolist()


def as_array(value: Any) -> np.ndarray | None:
    """None for no data (absent or empty), else a float array, or an object array of labels."""
    value = decode(value)
    if value is None:
        return None
    if isinstance(value, (str, int, float)):
        value = [value]
    try:
        array = np.asarray(value, dtype=float)  # None (JSON null) becomes NaN
    except (TypeError, ValueError):
        array = np.asarray(value, dtype=object)
    return None if array.size == 0 else array


def summary(array: np.ndarray | None) -> str:
    if array is None:
        return "no values"
    flat = array.ravel()
    if flat.size <= 2 * SHOWN:
        shown = ", ".join(_fmt(v) for v in flat)
    else:
        head = ", ".join(_fmt(v) for v in flat[:SHOWN])
        tail = ", ".join(_fmt(v) for v in flat[-SHOWN:])
        shown = f"{head}, …, {tail}"
    return f"shape {array.shape} [{shown}]"


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, (float, np.floating)) else repr(value)


def plotly_default(array: np.ndarray, length: int | None) -> bool:
    """True if a 1-D array is what plotly draws for a missing x or y: 0, 1, 2, ...

    `length` is the size of the trace's other coordinate, when it has one.
    """
    return (
        array.ndim == 1
        and array.dtype != object
        and (length is None or array.size == length)
        and np.array_equal(array, np.arange(array.size))
    )


def array_mismatch(key: str, python: Any, browser: Any, other: int | None = None) -> str | None:
    """Why the two arrays differ, or None if they agree (or draw the same).

    `other` is the size of the browser trace's other coordinate (y for x, x for y): an x or
    y that one side lacks and the other holds as 0, 1, 2, ... of that size draws the same.
    """
    py, br = as_array(python), as_array(browser)
    if py is None and br is None:
        return None
    if py is None:
        if key != "z" and plotly_default(br, other):
            return None
        return f"{key}: Python has no values, browser has {summary(br)}"
    if br is None:
        if key != "z" and plotly_default(py, other):
            return None
        return f"{key}: Python has {summary(py)}, browser has no values"
    if py.shape != br.shape:
        return f"{key}: Python {summary(py)} vs browser {summary(br)}"
    if py.dtype == object or br.dtype == object:
        same = [str(a) for a in py.ravel()] == [str(b) for b in br.ravel()]
    else:
        same = np.allclose(br, py, rtol=TOLERANCE, atol=TOLERANCE, equal_nan=True)
    if same:
        return None
    detail = ""
    if py.dtype != object and br.dtype != object:
        gap = np.abs(br - py)
        if np.isfinite(gap).any():
            detail = f" (largest difference {float(np.nanmax(gap)):.3g})"
    return f"{key}: Python {summary(py)} vs browser {summary(br)}{detail}"


def other_size(trace: dict, key: str) -> int | None:
    """The size of the trace's other coordinate (y for x, x for y), if it has one."""
    other = {"x": "y", "y": "x"}.get(key)
    array = as_array(trace.get(other)) if other else None
    return None if array is None else len(array)


def pair_traces(
    python: list[dict], browser: list[dict]
) -> tuple[str, list[tuple[str, dict, dict]]]:
    """How traces are matched ("name" or "index") and the (label, python, browser) pairs."""
    py_names = [t.get("name") for t in python]
    br_names = [t.get("name") for t in browser]
    unique = (
        all(py_names) and len(set(py_names)) == len(py_names) and set(py_names) == set(br_names)
    )
    if unique:
        by_name = {t["name"]: t for t in browser}
        return "name", [(repr(t["name"]), t, by_name[t["name"]]) for t in python]
    pairs = [
        (f"#{i} {t.get('type') or 'scatter'} {t.get('name')!r}", t, b)
        for i, (t, b) in enumerate(zip(python, browser, strict=False))
    ]
    return "index", pairs


def figure_mismatches(python: list[dict], browser: list[dict]) -> list[str]:
    """Every difference between the Python-side traces and the browser's, one line each."""
    problems = []
    if len(python) != len(browser):
        problems.append(f"{len(python)} traces in Python, {len(browser)} in the browser")
    _, pairs = pair_traces(python, browser)
    for label, py, br in pairs:
        if py.get("name") is not None and br.get("name") != py["name"]:  # the legend shows it
            problems.append(
                f"trace {label} name: Python {py['name']!r} vs browser {br.get('name')!r}"
            )
        for key in ARRAY_KEYS:
            why = array_mismatch(key, py.get(key), br.get(key), other_size(br, key))
            if why:
                problems.append(f"trace {label} {why}")
    return problems


def normalise_text(text: str | None) -> str:
    return " ".join((text or "").split())
