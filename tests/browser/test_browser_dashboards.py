"""Every dashboard of every notebook, run for real in JupyterLab and driven from Chromium.

For each notebook that builds a dashboard: open it, Run All Cells, then, for every
`.hv-dashboard` in the page, move every control to several of its values (the last one
included) and back, the way a learner does (`browser_controls.py`); the values come from the
kernel (`kernel_dump.py`: a control's options or slider steps; for a free number box, the
numbers the dashboard can compute). After the page is built and after each move:

- the kernel must have handled the move (read from the kernel, `kernel_link.py`); a value the
  dashboard refuses or fails to draw is reported with the dashboard's error;
- the browser's copy of every plotly trace (`.js-plotly-plot`'s `data`) must hold the same
  x, y and z (and name) as the Python-side `dashboard.figure` (`figure_match.py`), and the
  status line must read as the Python side's;
- no traceback, widget error or browser console error may appear (`lab_page.py`).

A figure that "changed" can still be wrong: comparing it with the Python side is what catches
arrays that the browser never received. A control that changes neither the status line nor
the figure for any of its values gives a warning (it may matter only in another mode, like
"examples seen" for a task-conditioned hypernet). One screenshot per dashboard, at laptop
size, goes to `artifacts/screenshots/<notebook>-<n>.png` (the window, dashboard at the top)
and `<notebook>-<n>-whole.png` (the whole dashboard).

To run against another copy of hyperviz (e.g. an old checkout), set `PYTHONPATH` (the kernels
inherit it from the server) and `HV_NOTEBOOKS_DIR`.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from browser_controls import move
from figure_match import BROWSER_STATE, figure_mismatches, normalise_text
from kernel_link import KernelLink
from lab_page import (
    assert_no_errors,
    console_errors,
    console_tail,
    open_notebook,
    run_all_cells,
    screenshot_at,
    screenshot_whole,
    session_kernels,
)

if TYPE_CHECKING:  # playwright is only needed when the browser tests run
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = Path(os.environ.get("HV_NOTEBOOKS_DIR", REPO / "notebooks"))
SCREENSHOTS = REPO / "artifacts" / "screenshots"
MARKER = "(interactive: run the notebook to use it)"

WIDGET_MS = 30_000  # a dashboard's parts rendered and tagged
VALUE_MS = 30_000  # a control's new value received by the kernel
SYNC_MS = 10_000  # the browser's figure equal to the Python side's (first wait on a dashboard)
SYNC_AGAIN_MS = 3_000  # the same, once this dashboard has already shown a mismatch
SHOWN_PROBLEMS = 12  # mismatch lines shown per check


# --- which notebooks have dashboards ----------------------------------------------------------


def dashboard_classes() -> set[str]:
    """`Dashboard` and the classes in hyperviz/ (any depth) that derive from it."""
    bases: dict[str, set[str]] = {}
    for path in (REPO / "hyperviz").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                names = {
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                }
                bases[node.name] = names
    found = {"Dashboard"}
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def stored_dashboards(notebook: dict) -> int:
    """How many dashboards the stored outputs show (their text form ends with MARKER)."""
    count = 0
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            count += text.rstrip().endswith(MARKER)
    return count


def code_sources(notebook: dict) -> list[str]:
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in notebook.get("cells", [])
        if c.get("cell_type") == "code"
    ]


def dashboard_notebooks() -> list:
    if not NOTEBOOKS_DIR.is_dir():
        return []
    mention = re.compile(r"\b(" + "|".join(sorted(dashboard_classes())) + r")\b")
    params = []
    for path in sorted(NOTEBOOKS_DIR.glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        expected = stored_dashboards(notebook)
        if expected or any(mention.search(s) for s in code_sources(notebook)):
            params.append(pytest.param(path.name, expected, id=path.stem))
    return params


# --- the kernel's dashboards in the page ------------------------------------------------------

TAG = """b => {
    const tagged = b.querySelector("[class*='hv-test-']");
    const match = tagged && tagged.className.match(/hv-test-(\\d+)/);
    return match ? Number(match[1]) : null;
}"""


def dashboard_views(page: Page, state: dict, stored: int, name: str) -> list[tuple[dict, Locator]]:
    """Each `.hv-dashboard` of the page with the kernel's entry for the object it shows."""
    boxes = page.locator(".hv-dashboard")
    boxes.first.wait_for(timeout=WIDGET_MS)
    count = boxes.count()
    if stored:
        assert count == stored, f"{name}: {count} dashboards on the page, {stored} stored"
    entries = {d["number"]: d for d in state["dashboards"]}
    views = []
    for i in range(count):
        box = boxes.nth(i)
        deadline = time.monotonic() + WIDGET_MS / 1000
        while (number := box.evaluate(TAG)) is None:
            assert time.monotonic() < deadline, (
                f"{name}: dashboard {i + 1} in the page is none of the kernel's dashboards "
                f"{[(d['number'], d['type']) for d in state['dashboards']]}" + console_tail(page)
            )
            page.wait_for_timeout(250)
        views.append((entries[number], box))
    return views


def python_side(kernel: KernelLink, number: int, figures: bool = True) -> dict:
    state = kernel.dump(figures=figures)
    return next(d for d in state["dashboards"] if d["number"] == number)


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def wait_for_move(
    page: Page, kernel: KernelLink, number: int, name: str, target: dict, changes: int, when: str
) -> dict:
    """The Python side once the kernel has handled the move: the value arrived (or the
    dashboard refused it: then its `error` says why)."""
    deadline = time.monotonic() + VALUE_MS / 1000
    while True:
        python = python_side(kernel, number, figures=False)
        handled = python["changes"][name] > changes
        if handled and (same_value(python["values"][name], target["value"]) or python["error"]):
            return python
        assert_no_errors(page, when, dashboards=False)
        if time.monotonic() > deadline:
            assert handled, (
                f"{when}: the kernel's {name!r} never changed (still "
                f"{python['values'][name]!r}) in {VALUE_MS / 1000:.0f} s: the move was never "
                "committed to the kernel" + console_tail(page)
            )
            return python
        page.wait_for_timeout(200)


def differences(python: dict, browser: dict | None) -> list[str]:
    """Status line and traces: the browser's against the Python side's."""
    if browser is None:
        return ["the browser has no plotly figure with data in this dashboard's .hv-figure"]
    problems = []
    if normalise_text(browser["status"]) != normalise_text(python["status"]):
        problems.append(f"status: Python {python['status']!r} vs browser {browser['status']!r}")
    return problems + figure_mismatches(python["traces"], browser["traces"])


def wait_in_sync(view: Locator, python: dict, wait_ms: int) -> list[str]:
    """[] once the browser shows the Python side's figure and status; else the differences."""
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        problems = differences(python, view.evaluate(BROWSER_STATE))
        if not problems or time.monotonic() > deadline:
            return problems
        view.page.wait_for_timeout(250)


def report(what: str, mismatches: list[tuple[str, list[str]]]) -> list[str]:
    """One message per distinct set of differences, with every check that showed it."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for when, lines in mismatches:
        groups.setdefault(tuple(lines), []).append(when)
    messages = []
    for lines, whens in groups.items():
        shown = list(lines[:SHOWN_PROBLEMS])
        if len(lines) > SHOWN_PROBLEMS:
            shown.append(f"... {len(lines) - SHOWN_PROBLEMS} more")
        messages.append(
            f"{what}: the browser does not show the Python-side figure "
            f"({len(whens)} checks: {'; '.join(whens)}):\n  " + "\n  ".join(shown)
        )
    return messages


# --- one dashboard, every control --------------------------------------------------------------


class Sweep:
    """Moves one dashboard's controls and collects every browser/Python difference."""

    def __init__(self, page: Page, kernel: KernelLink, entry: dict, view: Locator, what: str):
        self.page, self.kernel, self.view, self.what = page, kernel, view, what
        self.number, self.plans = entry["number"], entry["controls"]
        self.mismatches: list[tuple[str, list[str]]] = []  # (when, differences)
        self.problems: list[str] = []  # anything else
        self.moves = 0

    def check(self, when: str) -> str:
        """Compare the browser with the Python side; return the Python side's state, as text."""
        wait = SYNC_AGAIN_MS if self.mismatches else SYNC_MS
        python = python_side(self.kernel, self.number)
        lines = wait_in_sync(self.view, python, wait)
        if lines:
            self.mismatches.append((when, lines))
        return json.dumps([python["status"], python["traces"]], sort_keys=True)

    def run(self) -> list[str]:
        """Every problem found; an error that stops the sweep also shows the ones before it."""
        try:
            self.check("as built")
            for name, plan in self.plans.items():
                self.control(name, plan)
        except AssertionError as error:
            earlier = report(self.what, self.mismatches) + self.problems
            if earlier:
                raise AssertionError(f"{error}\n\nBefore that:\n" + "\n\n".join(earlier)) from None
            raise
        return report(self.what, self.mismatches) + self.problems

    def control(self, name: str, plan: dict) -> None:
        if not plan["targets"]:
            self.problems.append(f"{self.what}: no other value found for {name!r} ({plan})")
            return
        control = self.view.locator(f".hv-control-{name}").first
        control.scroll_into_view_if_needed()
        states = set()
        for target in [*plan["targets"], plan["start"]]:  # every target, then back
            before = python_side(self.kernel, self.number, figures=False)
            now = before["values"][name]
            if same_value(now, target["value"]):  # e.g. back where a refused value left it
                continue
            position = position_of(plan, now) or plan["start"]
            action = move(control, position, target, plan["count"])
            when = f"{name} -> {target['label']} ({plan['widget']}: {action})"
            where = f"{self.what}: {when}"
            print(where)
            changes = before["changes"][name]
            python = wait_for_move(
                self.page, self.kernel, self.number, name, target, changes, where
            )
            if python["error"] or not same_value(python["values"][name], target["value"]):
                self.problems.append(
                    f"{where}: the dashboard did not take the value (now "
                    f"{python['values'][name]!r}): {python['error'] or python['status']}"
                )
                continue
            assert_no_errors(self.page, where)
            states.add(self.check(f"{name} -> {target['label']}"))
            self.moves += 1
        if len(states) == 1:  # may be fine: a control that matters only in another mode
            warnings.warn(
                f"{self.what}: moving {name!r} through {[t['label'] for t in plan['targets']]} "
                "changed neither the status line nor the figure",
                stacklevel=1,
            )


def position_of(plan: dict, value: Any) -> dict | None:
    return next((p for p in plan["positions"] if same_value(p["value"], value)), None)


# --- the test ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, stored", dashboard_notebooks())
def test_dashboards_draw_the_python_figure(
    lab_page: Page, lab, name: str, stored: int, tmp_path: Path, record_property
) -> None:
    page = lab_page
    started = time.monotonic()
    stem = Path(name).stem
    open_notebook(page, lab.url, name)
    run_all_cells(page)
    assert_no_errors(page, f"{name}: errors after Run All Cells")
    record_property("run_all_seconds", round(time.monotonic() - started, 1))

    (kernel_id,) = session_kernels(lab.url, name)
    kernel = KernelLink(lab.runtime_dir, kernel_id, tmp_path)
    problems: list[str] = []
    try:
        state = kernel.dump(probe=True)
        print(f"{name}: the kernel's hyperviz is {state['hyperviz']} (frame {state['frame']})")
        views = dashboard_views(page, state, stored, name)
        for n, (entry, view) in enumerate(views, 1):
            what = f"{name}, dashboard {n}/{len(views)} ({entry['type']})"
            sweep = Sweep(page, kernel, entry, view, what)
            try:
                problems += sweep.run()
            finally:  # a picture of the failing state too
                screenshot_at(page, view, SCREENSHOTS / f"{stem}-{n}.png")
                screenshot_whole(page, view, SCREENSHOTS / f"{stem}-{n}-whole.png")
            print(f"{what}: {sweep.moves} moves, {len(sweep.mismatches)} mismatching checks")
    finally:
        kernel.close()
    problems += [f"browser console: {e}" for e in console_errors(page)]
    record_property("seconds", round(time.monotonic() - started, 1))
    assert not problems, "\n\n".join(problems)
