"""Fixtures for the browser tests: a real JupyterLab server and a real Chromium.

- `lab` (and `lab_url`): `jupyter lab` from this venv on a free localhost port, serving a
  temporary copy of the notebooks folder (the repo's `notebooks/`, or `$HV_NOTEBOOKS_DIR`), with
  its own empty config, settings, workspace and runtime folders (the runtime folder holds the
  kernels' connection files); stopped through its own process group at teardown.
- `browser`: Chromium from `$CHROMIUM` (default /usr/bin/chromium) driven by Playwright; no
  browser download, no network beyond localhost.
- `page`: a fresh page at laptop size (1366x768; JupyterLab's file browser open, as by default)
  whose console messages and page errors are collected (`page.console_entries`) and shown in
  the test report (section "browser console").

Set `PYTHONPATH` to make the kernels import another copy of hyperviz (e.g. an old checkout):
the server passes its environment on to the kernels it starts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = Path(os.environ.get("HV_NOTEBOOKS_DIR", REPO / "notebooks"))
ARTIFACTS = REPO / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_SECONDS = 90
VIEWPORT = {"width": 1280, "height": 800}  # a laptop screen (JupyterLab shows its file browser)

# JupyterLab user settings written into the server's private settings folder: no news or
# update checks (nothing beyond localhost is reachable), no notebook windowing, so that
# every cell and its output stay in the DOM whatever the scroll position, and no autosave, so
# that the stored notebooks in the server's folder stay as they are while tests run them.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """Stop the server's own process group (the server and its kernels), SIGKILL if needed."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def notebook_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary copy of the notebooks folder: the stored notebooks are never touched."""
    if not NOTEBOOKS_DIR.is_dir():
        pytest.skip(f"no notebooks folder at {NOTEBOOKS_DIR}")
    root = tmp_path_factory.mktemp("lab") / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


@dataclass(frozen=True)
class Lab:
    """A running `jupyter lab`: its base URL and its runtime folder (kernel connection files)."""

    url: str
    runtime_dir: Path


@dataclass(frozen=True)
class ConsoleEntry:
    """One browser console message (`kind` is its type) or uncaught page error ("pageerror")."""

    kind: str
    text: str
    url: str = ""

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url else ""
        return f"{self.kind}: {self.text}{where}"


@pytest.fixture(scope="session")
def lab_url(lab: Lab) -> str:
    return lab.url


@pytest.fixture(scope="session")
def lab(notebook_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    """A running `jupyter lab` (no token, no password, 127.0.0.1 only)."""
    home = tmp_path_factory.mktemp("lab-home")
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        PYTHONUNBUFFERED="1",
    )
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--ServerApp.ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={notebook_root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log_path = home / "jupyter-lab.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=notebook_root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so teardown stops exactly this tree
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited ({process.returncode}):\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"jupyter lab did not answer within {SERVER_START_SECONDS} s:\n"
                    + log_path.read_text()
                )
            time.sleep(0.25)
        yield Lab(url, home / "runtime")
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    """A fresh page; its console messages and page errors go into the test report."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    entries: list[ConsoleEntry] = []
    page.console_entries = entries  # for tests that assert on them
    page.on(
        "console",
        lambda m: entries.append(ConsoleEntry(m.type, m.text, m.location.get("url", ""))),
    )
    page.on("pageerror", lambda e: entries.append(ConsoleEntry("pageerror", str(e))))
    request.node.hv_console = entries
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Show the page's console messages in the test's report (on failure, or with -rA)."""
    report = yield
    messages = getattr(item, "hv_console", None)
    if report.when == "call" and messages is not None:
        shown = [str(m) for m in messages if m.kind != "debug"]
        report.sections.append(("browser console", "\n".join(shown) or "(none)"))
    return report


@pytest.fixture
def lab_page(page, lab: Lab):
    """The page, and at the end every kernel shut down (each notebook starts its own)."""
    from lab_page import shutdown_kernels  # tests/browser is on sys.path (no __init__.py)

    yield page
    shutdown_kernels(page)
