"""How fast a dashboard answers: the time from a new control value to the redrawn figure.

`control_values` lists the values a learner can pick on one control; `sweep_latencies`
changes every control through them, one at a time, and times each `dashboard.set(...)`
(recompute, redraw the live figure, update the status line). The benchmark script runs it
on every dashboard a notebook builds (`namespace_latencies`), against the 100 ms budget.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from hyperviz.viz.controls import option_values
from hyperviz.viz.dashboard import Dashboard


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, linearly interpolated."""
    if not values:
        raise ValueError("percentile needs at least one value, got an empty sequence")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def control_values(control: widgets.ValueWidget, most: int = 8) -> list[Any]:
    """Up to `most` values a learner can pick: the options, or evenly spread slider steps.

    A free text box has no list of allowed values: only its current value is returned.
    """
    if hasattr(control, "options"):  # Dropdown, SelectionSlider, ...: options or (label, value)
        values = option_values(control)
    elif hasattr(control, "min") and hasattr(control, "max"):
        low, step = control.min, getattr(control, "step", 1) or 1
        values = [low + i * step for i in range(int((control.max - low) // step) + 1)]
    else:
        values = [control.value]
    if len(values) > most:  # evenly spread, first and last kept
        values = [values[round(i * (len(values) - 1) / (most - 1))] for i in range(most)]
    return values


@dataclass(frozen=True)
class Latency:
    """Update times of one dashboard, in milliseconds, and how many updates failed."""

    name: str
    times_ms: list[float]
    failed: int

    @property
    def p50(self) -> float:
        return percentile(self.times_ms, 50)

    @property
    def p95(self) -> float:
        return percentile(self.times_ms, 95)


def sweep_latencies(dashboard: Dashboard, name: str = "", rounds: int = 2) -> Latency:
    """Time `rounds` sweeps of every control through `control_values`; restore the first state."""
    if not isinstance(dashboard, Dashboard):
        raise TypeError(f"dashboard must be a hyperviz Dashboard, got {type(dashboard).__name__}")
    first = dashboard.values()
    times, failed = [], 0
    for _ in range(rounds):
        for control_name, control in dashboard.controls.items():
            for value in control_values(control):
                start = time.perf_counter()
                ok = dashboard.set(**{control_name: value})
                times.append(1000 * (time.perf_counter() - start))
                failed += not ok
            dashboard.set(**first)
    return Latency(name or dashboard.title, times, failed)


def namespace_latencies(namespace: dict[str, Any], rounds: int = 2) -> list[Latency]:
    """`sweep_latencies` of every dashboard bound to a name in `namespace` (e.g. a notebook's)."""
    return [
        sweep_latencies(value, f"{name} ({type(value).__name__})", rounds)
        for name, value in namespace.items()
        if isinstance(value, Dashboard) and not name.startswith("_")
    ]
