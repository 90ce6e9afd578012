"""JupyterLab page helpers for the browser tests: open a notebook, run it, find errors.

`window.jupyterapp` is not exposed in JupyterLab 4 (no Galata), so everything goes through the
page: the menus, the cells' prompts, the output areas, and the browser console.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # playwright is only needed when the browser tests run
    from playwright.sync_api import Locator, Page

PAGE_READY_MS = 60_000  # JupyterLab loaded and its kernel idle
RUN_ALL_MS = 180_000  # every cell run (the kernel imports torch, notebooks train small models)

OUTPUT = ".jp-NotebookPanel .jp-OutputArea-output"
STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
ERROR_TEXT = re.compile(r"Traceback|^\s*\w*(Error|Exception)\b", re.MULTILINE)
LOCAL = ("http://127.0.0.1", "http://localhost", "ws://127.0.0.1", "ws://localhost")

# Browser console errors that are not the notebook's or the dashboards' fault: each entry says
# why it is harmless and matches as narrowly as it can.
HARMLESS_CONSOLE: tuple[tuple[str, Callable], ...] = (
    (
        "Chromium asks the server for a favicon it does not have",
        lambda e: e.url.endswith("/favicon.ico") and "404" in e.text,
    ),
    # On a fresh server JupyterLab may start several kernels for the first notebook it opens and
    # shut all but one down; the page's handles on those fail. `open_notebook` waits until one
    # kernel stays; a kernel that dies later shows as cells that never run.
    (
        "JupyterLab's start-up race: a kernel it started twice and shut down",
        lambda e: (
            e.text.startswith("Could not restore the debugger state: Canceled future")
            or (
                "/api/kernels/" in e.text
                and "Error during WebSocket handshake: Unexpected response code: 404" in e.text
            )
        ),
    ),
    (
        "Chromium has no network here: a request to another host than the local server fails",
        lambda e: (
            e.text.startswith("Failed to load resource: net::ERR_")
            and bool(e.url)
            and not e.url.startswith(LOCAL)
        ),
    ),
)


# --- errors in the page ---------------------------------------------------------------------


def console_errors(page: Page) -> list[str]:
    """Console errors and uncaught page errors, without the allow-listed harmless ones."""
    entries = getattr(page, "console_entries", [])
    bad = [e for e in entries if e.kind in ("error", "pageerror")]
    return [str(e) for e in bad if not any(harmless(e) for _, harmless in HARMLESS_CONSOLE)]


def page_errors(page: Page, dashboards: bool = True) -> list[str]:
    """Tracebacks, error outputs, widget errors, and (if `dashboards`) dashboard error
    messages (`.hv-error`) in the page."""
    errors = []
    for text in page.locator(STDERR).all_inner_texts():
        if ERROR_TEXT.search(text):
            errors.append(f"error output:\n{text.strip()}")
    for text in page.locator(".hv-error").all_inner_texts() if dashboards else []:
        errors.append(f"dashboard error (.hv-error): {text.strip()}")
    for text in page.locator(".jupyter-widgets-error-widget").all_inner_texts():
        errors.append(f"widget error: {text.strip()}")
    for text in page.locator(".jp-OutputArea-output").all_inner_texts():
        if "Error displaying widget" in text:
            errors.append(f"widget error: {text.strip()}")
    return errors


def assert_no_errors(page: Page, when: str, dashboards: bool = True) -> None:
    errors = page_errors(page, dashboards) + [f"browser console: {e}" for e in console_errors(page)]
    assert not errors, f"{when}:\n" + "\n\n".join(errors) + console_tail(page)


def console_tail(page: Page, lines: int = 40) -> str:
    """The last browser console messages (errors and warnings first), for failure messages."""
    seen = [e for e in getattr(page, "console_entries", []) if e.kind != "debug"]
    bad = [e for e in seen if e.kind in ("error", "warning", "pageerror")]
    shown = (bad or seen)[-lines:]
    return "\n\nbrowser console:\n" + "\n".join(map(str, shown)) if shown else ""


# --- opening and running notebooks ----------------------------------------------------------


def accept_kernel_dialog(page: Page) -> None:
    """JupyterLab sometimes asks which kernel to start: take the proposed one (python3)."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and "Select Kernel" in dialog.first.inner_text():
        dialog.first.locator("button.jp-mod-accept").click()


def session_kernels(lab_url: str, name: str) -> list[str]:
    """The ids of the kernels of the server's sessions on notebook `name`."""
    with urllib.request.urlopen(f"{lab_url}/api/sessions", timeout=10) as response:
        sessions = json.load(response)
    return [s["kernel"]["id"] for s in sessions if s.get("path") == name and s.get("kernel")]


def open_notebook(page: Page, lab_url: str, name: str, steady_polls: int = 4) -> None:
    """Open `name` in a fresh JupyterLab layout (file browser open) and wait for its kernel:
    idle in the page, and the same single kernel for the notebook over `steady_polls` polls
    half a second apart (JupyterLab may start and replace kernels while it loads)."""
    page.goto(f"{lab_url}/lab/tree/{name}?reset")
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(timeout=PAGE_READY_MS)
    deadline = time.monotonic() + PAGE_READY_MS / 1000
    seen: list[list[str]] = []
    idle = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
    while not (len(seen) >= steady_polls and len(seen[-1]) == 1 and _same(seen[-steady_polls:])):
        accept_kernel_dialog(page)
        assert time.monotonic() < deadline, (
            f"no single idle kernel for {name} (kernels seen: {seen[-steady_polls:]})"
            + console_tail(page)
        )
        page.wait_for_timeout(500)
        seen.append(session_kernels(lab_url, name) if page.locator(idle).count() else [])


def _same(polls: list[list[str]]) -> bool:
    return all(p == polls[0] for p in polls)


def menu(page: Page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


BLANK_PROMPTS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')]
    .every(c => /\\[\\s*\\]/.test(c.querySelector('.jp-InputArea-prompt').textContent))"""

# Done when no cell is busy and every non-empty code cell has an execution count, or as soon
# as an error output appears (JupyterLab then drops the queued cells).
ALL_RUN = """([stderr, pattern]) => {
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


def run_all_cells(page: Page) -> None:
    """Clear the stored outputs (so everything seen comes from this run), then Run All Cells."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(BLANK_PROMPTS, timeout=PAGE_READY_MS)
    assert page.locator(OUTPUT).count() == 0
    menu(page, "Run", "Run All Cells")
    deadline = time.monotonic() + RUN_ALL_MS / 1000
    while not page.evaluate(ALL_RUN, [STDERR, ERROR_TEXT.pattern]):
        accept_kernel_dialog(page)
        assert time.monotonic() < deadline, (
            f"cells still not all run after {RUN_ALL_MS / 1000:.0f} s" + console_tail(page)
        )
        page.wait_for_timeout(250)
    counts = execution_counts(page)
    assert counts == list(range(1, len(counts) + 1)), (
        f"execution counts {counts}: not one kernel running every cell in order (a kernel "
        "restarted or was replaced during Run All)" + console_tail(page)
    )


COUNTS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')]
    .map(c => (c.querySelector('.jp-InputArea-prompt').textContent.match(/\\[(\\d+)\\]/) || [])[1])
    .filter(n => n !== undefined).map(Number)"""


def execution_counts(page: Page) -> list[int]:
    """The execution count of every run code cell, in the notebook's order."""
    return page.evaluate(COUNTS)


SHUTDOWN_KERNELS = """async () => {
    const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
    const kernels = await (await fetch('/api/kernels')).json();
    for (const k of kernels) {
        await fetch('/api/kernels/' + k.id, {method: 'DELETE', headers: {'X-XSRFToken': xsrf}});
    }
    return kernels.length;
}"""


def shutdown_kernels(page: Page) -> None:
    try:
        page.evaluate(SHUTDOWN_KERNELS)
    except Exception as error:  # the server is stopped at the end of the session anyway
        print(f"could not shut the kernels down: {error}")


# --- screenshots ------------------------------------------------------------------------------


def screenshot_at(page: Page, element: Locator, path: Path) -> None:
    """The whole window (as a learner sees it on a laptop) with `element` at the top."""
    path.parent.mkdir(parents=True, exist_ok=True)
    element.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.screenshot(path=path)


def screenshot_whole(page: Page, element: Locator, path: Path) -> None:
    """All of `element`, at the same width: the window is made as tall as it needs for a
    moment (JupyterLab's notebook scrolls inside the window, which would cut it off)."""
    size = page.viewport_size
    box = element.bounding_box()
    if size is None or box is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": size["width"], "height": int(box["height"]) + 300})
    try:
        element.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(500)
        element.screenshot(path=path)
    finally:
        page.set_viewport_size(size)
        page.wait_for_timeout(300)
