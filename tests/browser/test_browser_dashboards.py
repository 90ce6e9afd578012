"""Every notebook with a dashboard, run for real in JupyterLab and driven from Chromium.

For each such notebook: open it in JupyterLab, Run All Cells, wait for every `.hv-dashboard`
(its status line and its plotly figure), then change each dashboard's first control the way a
learner would (a `<select>` option, a slider's handle moved with the keyboard, ...) and check
that the status line and the drawn figure both change. Any traceback, `.hv-error` message or
widget error in the page fails the test. One screenshot per dashboard goes to
`artifacts/screenshots/<notebook>-<n>.png`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = Path(os.environ.get("HV_NOTEBOOKS_DIR", REPO / "notebooks"))
SCREENSHOTS = REPO / "artifacts" / "screenshots"
MARKER = "(interactive: run the notebook to use it)"

PAGE_READY_MS = 60_000  # JupyterLab loaded and its kernel idle
RUN_ALL_MS = 180_000  # every cell run (the kernel imports torch, notebooks train small models)
WIDGET_MS = 30_000  # a dashboard's parts rendered
UPDATE_MS = 30_000  # a control change reflected in the status line and the figure

STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
ERROR_TEXT = re.compile(r"Traceback|^\s*\w*(Error|Exception)\b", re.MULTILINE)


def dashboard_classes() -> set[str]:
    """`Dashboard` and the classes in hyperviz/ that derive from it, directly or not."""
    bases: dict[str, set[str]] = {}
    for path in (REPO / "hyperviz").glob("*.py"):
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


def dashboard_notebooks() -> list[pytest.param]:
    if not NOTEBOOKS_DIR.is_dir():
        return []
    classes = dashboard_classes()
    mention = re.compile(r"\b(" + "|".join(sorted(classes)) + r")\b") if classes else None
    params = []
    for path in sorted(NOTEBOOKS_DIR.glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        sources = [
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in notebook.get("cells", [])
            if c.get("cell_type") == "code"
        ]
        expected = stored_dashboards(notebook)
        if expected or (mention and any(mention.search(s) for s in sources)):
            params.append(pytest.param(path.name, expected, id=path.stem))
    return params


# --- page helpers -------------------------------------------------------------------------


def page_errors(page) -> list[str]:
    """Tracebacks, error outputs, dashboard error messages and widget errors in the page."""
    errors = []
    for text in page.locator(STDERR).all_inner_texts():
        if ERROR_TEXT.search(text):
            errors.append(f"error output:\n{text.strip()}")
    for text in page.locator(".hv-error").all_inner_texts():
        errors.append(f"dashboard error (.hv-error): {text.strip()}")
    for text in page.locator(".jupyter-widgets-error-widget").all_inner_texts():
        errors.append(f"widget error: {text.strip()}")
    for text in page.locator(".jp-OutputArea-output").all_inner_texts():
        if "Error displaying widget" in text:
            errors.append(f"widget error: {text.strip()}")
    return errors


def assert_no_errors(page, when: str) -> None:
    errors = page_errors(page)
    assert not errors, f"{when}:\n" + "\n\n".join(errors) + console_tail(page)


def console_tail(page, lines: int = 40) -> str:
    """The last browser console messages (errors and warnings first), for failure messages."""
    seen = getattr(page, "console_messages_seen", [])
    bad = [m for m in seen if m.startswith(("console.error", "console.warning", "pageerror"))]
    shown = (bad or seen)[-lines:]
    return "\n\nbrowser console:\n" + "\n".join(shown) if shown else ""


def accept_kernel_dialog(page) -> None:
    """JupyterLab sometimes asks which kernel to start: take the proposed one (python3)."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and "Select Kernel" in dialog.first.inner_text():
        dialog.first.locator("button.jp-mod-accept").click()


def open_notebook(page, lab_url: str, name: str) -> None:
    page.goto(f"{lab_url}/lab/tree/{name}?reset")
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(timeout=PAGE_READY_MS)
    deadline = time.monotonic() + PAGE_READY_MS / 1000
    while page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() == 0:
        accept_kernel_dialog(page)
        assert time.monotonic() < deadline, "the kernel never became idle" + console_tail(page)
        page.wait_for_timeout(250)
    page.wait_for_timeout(500)  # a late kernel dialog shows up just after the first idle
    accept_kernel_dialog(page)


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


BLANK_PROMPTS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')]
    .every(c => /\\[\\s*\\]/.test(c.querySelector('.jp-InputArea-prompt').textContent))"""


def run_all_cells(page) -> None:
    # First clear the stored outputs and execution counts: every dashboard and every
    # execution count seen afterwards comes from this run, not from the stored notebook.
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(BLANK_PROMPTS, timeout=PAGE_READY_MS)
    assert page.locator(".jp-NotebookPanel .jp-OutputArea-output").count() == 0
    menu(page, "Run", "Run All Cells")
    # Done when no cell is busy and every non-empty code cell has an execution count, or as soon
    # as an error output appears (JupyterLab then drops the queued cells).
    done = """([stderr, pattern]) => {
        const error = new RegExp(pattern, 'm');
        if ([...document.querySelectorAll(stderr)].some(o => error.test(o.innerText))) return true;
        const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
        const cells = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')];
        return idle !== null && cells.every(cell => {
            const prompt = cell.querySelector('.jp-InputArea-prompt').textContent;
            const source = cell.querySelector('.jp-InputArea-editor').innerText.trim();
            return /\\[\\d+\\]/.test(prompt) || (source === '' && !prompt.includes('*'));
        });
    }"""
    deadline = time.monotonic() + RUN_ALL_MS / 1000
    while not page.evaluate(done, [STDERR, ERROR_TEXT.pattern]):
        accept_kernel_dialog(page)
        assert time.monotonic() < deadline, (
            f"cells still not all run after {RUN_ALL_MS / 1000:.0f} s" + console_tail(page)
        )
        page.wait_for_timeout(250)


FIGURE_STATE = """(box) => {
    const plot = box.querySelector('.js-plotly-plot');
    const svgs = [...box.querySelectorAll('svg.main-svg')];
    if (!plot || !plot.data || svgs.length === 0) return null;
    const values = v => (v && ArrayBuffer.isView(v)) ? Array.from(v)
        : (Array.isArray(v) ? v.map(values) : v);
    const data = plot.data.map(t => ({x: values(t.x), y: values(t.y), z: values(t.z)}));
    return {traces: plot.data.length, data: JSON.stringify(data),
            svg: svgs.map(s => s.outerHTML).join('')};
}"""


def figure_state(dashboard) -> dict | None:
    """The plotted data (plotly's gd.data) and the drawn SVG of the dashboard's figure, hashed."""
    state = dashboard.locator(".hv-figure").first.evaluate(FIGURE_STATE)
    if state is None:
        return None
    return {
        "traces": state["traces"],
        "data": hashlib.sha256(state["data"].encode()).hexdigest(),
        "svg": hashlib.sha256(state["svg"].encode()).hexdigest(),
    }


def settled_figure(page, dashboard, what: str) -> dict:
    """Wait until the figure is drawn (at least one trace) and stays the same for 0.5 s."""
    deadline = time.monotonic() + WIDGET_MS / 1000
    previous = None
    while True:
        state = figure_state(dashboard)
        if state and state["traces"] and state == previous:
            return state
        previous = state
        assert time.monotonic() < deadline, (
            f"{what}: the plotly figure was not drawn within {WIDGET_MS / 1000:.0f} s "
            f"(last state: {state})" + console_tail(page)
        )
        page.wait_for_timeout(500)


def change_control(page, control) -> str:
    """Change a control as a learner would; return a description of what was done."""
    select = control.locator("select")
    if select.count():
        options = select.first.evaluate("s => [...s.options].map(o => o.value)")
        current = select.first.input_value()
        other = next((o for o in options if o != current), None)
        assert other is not None, f"the dropdown has a single option {options}"
        select.first.select_option(other)
        return f"select {current!r} -> {other!r}"
    handle = control.locator(".noUi-handle")
    if handle.count():
        # ipywidgets 8 sliders (noUiSlider) commit a keyboard move at once, even with
        # continuous_update=False; a slider already at its end goes one step back instead.
        before = handle.first.get_attribute("aria-valuenow")
        maximum = handle.first.get_attribute("aria-valuemax")
        key = "ArrowLeft" if before == maximum else "ArrowRight"
        handle.first.focus()
        handle.first.press(key)
        after = handle.first.get_attribute("aria-valuenow")
        assert after != before, f"the slider handle did not move on {key} ({before} -> {after})"
        return f"slider {key}: position {before} -> {after}"
    toggles = control.locator("button.widget-toggle-button")
    if toggles.count():
        for i in range(toggles.count()):
            if "mod-active" not in (toggles.nth(i).get_attribute("class") or ""):
                toggles.nth(i).click()
                return f"toggle button {toggles.nth(i).inner_text()!r}"
    radios = control.locator("input[type=radio]")
    if radios.count():
        for i in range(radios.count()):
            if not radios.nth(i).is_checked():
                radios.nth(i).check()
                return f"radio button {i}"
    checkbox = control.locator("input[type=checkbox]")
    if checkbox.count():
        checkbox.first.click()
        return "checkbox toggled"
    number = control.locator("input[type=number]")
    if number.count():
        number.first.focus()
        number.first.press("ArrowUp")
        number.first.press("Enter")
        return "number +1 step"
    raise AssertionError(
        f"don't know how to change this control: {control.evaluate('e => e.outerHTML')[:500]}"
    )


# --- the test -----------------------------------------------------------------------------


SHUTDOWN_KERNELS = """async () => {
    const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
    const kernels = await (await fetch('/api/kernels')).json();
    for (const k of kernels) {
        await fetch('/api/kernels/' + k.id, {method: 'DELETE', headers: {'X-XSRFToken': xsrf}});
    }
    return kernels.length;
}"""


@pytest.fixture
def lab_page(page, lab_url):
    """The page, and at the end every kernel shut down (each notebook starts its own)."""
    yield page
    try:
        page.evaluate(SHUTDOWN_KERNELS)
    except Exception as error:  # the server is stopped at the end of the session anyway
        print(f"could not shut the kernels down: {error}")


@pytest.mark.parametrize("name, stored", dashboard_notebooks())
def test_dashboards_respond_in_jupyterlab(lab_page, lab_url, name, stored, record_property):
    page = lab_page
    started = time.monotonic()
    stem = Path(name).stem
    open_notebook(page, lab_url, name)
    run_all_cells(page)
    assert_no_errors(page, f"{name}: errors after Run All Cells")
    record_property("run_all_seconds", round(time.monotonic() - started, 1))

    dashboards = page.locator(".hv-dashboard")
    dashboards.first.wait_for(timeout=WIDGET_MS)
    count = dashboards.count()
    if stored:
        assert count == stored, f"{name}: {count} dashboards on the page, {stored} stored"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        what = f"{name}, dashboard {n + 1}/{count}"
        dashboard = dashboards.nth(n)
        dashboard.scroll_into_view_if_needed()
        status = dashboard.locator(".hv-status").first
        status.wait_for(timeout=WIDGET_MS)
        page.wait_for_function("e => e.innerText.trim() !== ''", arg=status.element_handle())
        before_text = status.inner_text().strip()
        before_figure = settled_figure(page, dashboard, what)
        assert_no_errors(page, f"{what}: errors before any change")

        control = dashboard.locator("[class*='hv-control-']").first
        control.scroll_into_view_if_needed()
        action = change_control(page, control)

        try:
            page.wait_for_function(
                "([e, old]) => e.innerText.trim() !== '' && e.innerText.trim() !== old",
                arg=[status.element_handle(), before_text],
                timeout=UPDATE_MS,
            )
        except Exception as error:
            raise AssertionError(
                f"{what}: the status line did not change after {action} "
                f"(still {before_text!r}); with continuous_update=False the change may never "
                f"have been committed to the kernel" + console_tail(page)
            ) from error
        after_text = status.inner_text().strip()
        assert_no_errors(page, f"{what}: errors after {action}")

        deadline = time.monotonic() + UPDATE_MS / 1000
        while True:
            after_figure = settled_figure(page, dashboard, what)
            changed = [k for k in ("data", "svg") if after_figure[k] != before_figure[k]]
            if len(changed) == 2:
                break
            assert time.monotonic() < deadline, (
                f"{what}: after {action} the status changed ({before_text!r} -> "
                f"{after_text!r}) but the figure did not (changed: {changed or 'nothing'})"
                + console_tail(page)
            )
            page.wait_for_timeout(250)

        dashboard.screenshot(path=SCREENSHOTS / f"{stem}-{n + 1}.png")
        print(f"{what}: {action}; status {before_text!r} -> {after_text!r}; figure redrawn")

    assert_no_errors(page, f"{name}: errors at the end")
    record_property("seconds", round(time.monotonic() - started, 1))
