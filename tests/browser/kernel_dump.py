"""Runs INSIDE a notebook's kernel: the Python side of every dashboard, written as JSON.

The browser tests send this file's source to the kernel that JupyterLab started for the
notebook (see `kernel_link.py`) and call `dump(namespace, path, probe)`. It needs nothing
from the tests and works with the dashboard frame before the reorganisation
(`hyperviz.dashboard.Dashboard`) and after it (`hyperviz.viz.dashboard.Dashboard`), or with
any object that has `.controls` (name -> widget) and `.figure` (a plotly FigureWidget).

Each dashboard found gets a number; its controls get the CSS class `hv-test-<number>`, so the
test can tell which `.hv-dashboard` in the page shows which Python object.
"""

from __future__ import annotations

import base64
import gc
import html
import json
import re
import sys
from typing import Any

import numpy as np

FRAME_MODULES = ("hyperviz.viz.dashboard", "hyperviz.dashboard")
ARRAY_KEYS = ("x", "y", "z")
MOST_VALUES = 4  # values visited per control (spread over its range, the last one included)
# Candidates tried on a free number box (IntText): kept when the dashboard can compute them.
NUMBER_CANDIDATES = (*range(0, 9), *(2**k for k in range(4, 11)))

_found: list[Any] = []  # every dashboard seen so far, in the order of their numbers
_changes: dict[str, int] = {}  # "number/control" -> value changes the kernel has handled


def frame_classes() -> tuple[type, ...]:
    modules = (sys.modules.get(name) for name in FRAME_MODULES)
    classes = (getattr(module, "Dashboard", None) for module in modules)
    return tuple(c for c in classes if isinstance(c, type))


def looks_like_dashboard(value: Any) -> bool:
    try:
        return isinstance(getattr(value, "controls", None), dict) and hasattr(value, "figure")
    except Exception:  # an object whose attribute lookup has side effects or fails
        return False


def find_dashboards(namespace: dict[str, Any]) -> list[Any]:
    """Dashboards bound in the notebook (names, Out, one level into lists and dicts), or alive."""
    classes = frame_classes()
    values = []
    for name, value in list(namespace.items()):
        if name.startswith("_"):
            continue
        values.append(value)
        if isinstance(value, dict):
            values.extend(value.values())
        elif isinstance(value, (list, tuple)):
            values.extend(value)
    if classes:
        values.extend(o for o in gc.get_objects() if isinstance(o, classes))
        found = [v for v in values if isinstance(v, classes)]
    else:
        found = [v for v in values if looks_like_dashboard(v)]
    for dashboard in found:
        if not any(dashboard is seen for seen in _found):
            _found.append(dashboard)
    return list(_found)


def plain(value: Any) -> Any:
    """A trace array as JSON-ready nested lists (plotly may hold numpy or base64 `bdata`)."""
    if value is None:
        return None
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = [int(s) for s in shape.split(",")]
        return (array.reshape(shape) if shape else array).tolist()
    array = np.asarray(value)
    if array.dtype.kind in "biuf":
        return array.astype(float).tolist()
    return [plain(v) if isinstance(v, (list, tuple, np.ndarray)) else v for v in value]


def status_text(dashboard: Any) -> str:
    status = getattr(dashboard, "status", None)
    text = html.unescape(re.sub(r"<[^>]+>", "", str(getattr(status, "value", ""))))
    return " ".join(text.split())


def values_of(dashboard: Any) -> dict[str, Any]:
    return {name: control.value for name, control in dashboard.controls.items()}


def computes(dashboard: Any, values: dict[str, Any]) -> bool:
    """True if the dashboard accepts these control values (its `problems` check, where it has
    one) and computes a state for them (nothing drawn)."""
    try:
        if callable(getattr(dashboard, "problems", None)) and dashboard.problems(values):
            return False
        dashboard.compute(**values)
    except Exception:
        return False
    return True


def spread(items: list[Any], most: int = MOST_VALUES) -> list[Any]:
    """At most `most` items, evenly spread, the first and last kept."""
    if len(items) <= most:
        return list(items)
    return [items[round(i * (len(items) - 1) / (most - 1))] for i in range(most)]


def positions(dashboard: Any, name: str) -> list[dict[str, Any]]:
    """Every value a learner can reach on a control: value, label, index."""
    control = dashboard.controls[name]
    if hasattr(control, "options"):
        labels = list(getattr(control, "_options_labels", ()))
        values = list(getattr(control, "_options_values", ()))
        pairs = enumerate(zip(labels, values, strict=True))
        return [{"value": v, "label": lab, "index": i} for i, (lab, v) in pairs]
    if hasattr(control, "min") and hasattr(control, "max"):
        step = getattr(control, "step", 1) or 1
        count = int(round((control.max - control.min) / step)) + 1
        values = [control.min + i * step for i in range(count)]
        return [{"value": v, "label": str(v), "index": i} for i, v in enumerate(values)]
    if isinstance(control.value, (int, float)) and not isinstance(control.value, bool):
        base = values_of(dashboard)
        numbers = sorted({*NUMBER_CANDIDATES, control.value})
        good = [n for n in numbers if computes(dashboard, {**base, name: n})]
        return [{"value": v, "label": str(v), "index": None} for v in good]
    if isinstance(control.value, bool):
        return [{"value": v, "label": str(v), "index": None} for v in (False, True)]
    return []


def control_plan(dashboard: Any, name: str) -> dict[str, Any]:
    """What a control is, where it starts, and the values the test moves it to."""
    control = dashboard.controls[name]
    reachable = positions(dashboard, name)
    current = next((p for p in reachable if p["value"] == control.value), None)
    others = [p for p in reachable if p["value"] != control.value]
    targets = [p for p in spread(reachable) if p["value"] != control.value]
    if others and others[-1] not in targets:
        targets.append(others[-1])  # always the last reachable value
    return {
        "widget": type(control).__name__,
        "start": current or {"value": control.value, "label": str(control.value), "index": None},
        "targets": targets,
        "positions": reachable,
        "count": len(reachable),
    }


def watch(number: int, dashboard: Any) -> None:
    """Tag the dashboard's controls for the page, and count the value changes of each.

    The kernel handles one message at a time: when a dump sees the counter moved, the
    dashboard has finished with that change (recomputed and redrawn, or refused it).
    """
    for name, control in dashboard.controls.items():
        key = f"{number}/{name}"
        if key in _changes:
            continue
        _changes[key] = 0
        control.add_class(f"hv-test-{number}")

        def count(change: Any, key: str = key) -> None:
            _changes[key] += 1

        control.observe(count, names="value")


def describe(number: int, dashboard: Any, probe: bool, figures: bool) -> dict[str, Any]:
    if probe:
        watch(number, dashboard)
    entry: dict[str, Any] = {
        "number": number,
        "type": type(dashboard).__name__,
        "values": values_of(dashboard),
        "changes": {name: _changes.get(f"{number}/{name}", 0) for name in dashboard.controls},
        "status": status_text(dashboard),
        "error": getattr(dashboard, "error", None) or None,
    }
    if probe:
        entry["controls"] = {name: control_plan(dashboard, name) for name in dashboard.controls}
    if figures:
        entry["traces"] = [trace_json(trace) for trace in dashboard.figure.data]
    return entry


def trace_json(trace: Any) -> dict[str, Any]:
    """The trace's name as set in Python, and its arrays as Python reads them (`trace.x`).

    Read through the property, not `to_plotly_json()`: once the browser reports the trace
    as plotly.js completed it, FigureWidget moves a property it finds on both sides from the
    trace's own values to its defaults, and only the property still shows it.
    """
    data = trace.to_plotly_json()
    entry = {"name": data.get("name"), "type": data.get("type")}
    entry.update({key: plain(trace[key]) if key in trace else None for key in ARRAY_KEYS})
    return entry


def dump(namespace: dict[str, Any], path: str, probe: bool = False, figures: bool = True) -> None:
    """Write {"hyperviz": file, "dashboards": [...]} to `path`."""
    hyperviz = sys.modules.get("hyperviz")
    dashboards = find_dashboards(namespace) if probe or not _found else list(_found)
    result = {
        "hyperviz": getattr(hyperviz, "__file__", None),
        "frame": [f"{c.__module__}.{c.__name__}" for c in frame_classes()],
        "dashboards": [describe(n, d, probe, figures) for n, d in enumerate(dashboards)],
    }
    with open(path, "w") as file:
        json.dump(result, file, default=lambda o: o.item() if hasattr(o, "item") else str(o))
