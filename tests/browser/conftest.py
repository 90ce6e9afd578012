"""Fixtures for the browser tests: a real JupyterLab server and a real Chromium.

- `lab_url`: `jupyter lab` from this venv on a free localhost port, serving a temporary copy of
  the notebooks folder (the repo's `notebooks/`, or `$HV_NOTEBOOKS_DIR`), with its own empty
  config, settings and workspace folders; stopped through its own process group at teardown.
- `browser`: Chromium from `$CHROMIUM` (default /usr/bin/chromium) driven by Playwright; no
  browser download, no network beyond localhost.
- `page`: a fresh page whose console messages and page errors are collected and shown in the
  test report (section "browser console").
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

# JupyterLab user settings written into the server's private settings folder: no news or
# update checks (nothing beyond localhost is reachable), and no notebook windowing, so that
# every cell and its output stay in the DOM whatever the scroll position.
LAB_SETTINGS = {
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


@pytest.fixture(scope="session")
def lab_url(notebook_root: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Base URL of a running `jupyter lab` (no token, no password, 127.0.0.1 only)."""
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
        yield url
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
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    messages: list[str] = []
    page.console_messages_seen = messages  # for tests that want to assert on them
    page.on("console", lambda m: messages.append(f"console.{m.type}: {m.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    request.node.hv_console = messages
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Show the page's console messages in the test's report (on failure, or with -rA)."""
    report = yield
    messages = getattr(item, "hv_console", None)
    if report.when == "call" and messages is not None:
        report.sections.append(("browser console", "\n".join(messages) or "(none)"))
    return report
