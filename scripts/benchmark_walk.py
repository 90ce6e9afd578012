"""A learner's walk through the course in one JupyterLab: memory with every kernel kept.

JupyterLab keeps a notebook's kernel running after its tab is closed. This section starts a
JupyterLab server, then runs the numbered notebooks 00, 01, ... in order, each in its own
kernel that stays alive (as when a learner never shuts one down), and samples the resident
memory of the server and of every kernel every 0.1 s. It reports, after each notebook, the
total and the peak so far: the number to hold against Binder's 1-2 GB. Two sums: RSS counts
the shared libraries (torch's among them) once per process, an overcount; PSS shares each
shared page out among the processes using it, which is closer to what a container's memory
limit counts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
MB = 1e6


class MemorySampler:
    """Samples the summed RSS and PSS of this script's child processes in a thread."""

    def __init__(self, interval: float = 0.1) -> None:
        self.peak = (0.0, 0.0)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def total(self) -> tuple[float, float]:
        """Summed (RSS, PSS) in MB of the server and the kernels (our children) now."""
        rss = pss = 0.0
        for process in psutil.Process().children(recursive=True):
            try:
                memory = process.memory_full_info()
            except psutil.NoSuchProcess:
                continue
            rss, pss = rss + memory.rss, pss + getattr(memory, "pss", memory.rss)
        return rss / MB, pss / MB

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self.total()
            self.peak = (max(self.peak[0], now[0]), max(self.peak[1], now[1]))
            time.sleep(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def start_lab() -> subprocess.Popen:
    """A JupyterLab server on a free port, no browser, as `make lab` would start it."""
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--port=0"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    server = subprocess.Popen(
        command, cwd=NOTEBOOKS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(5)  # its extensions load; an idle server's memory is what we want to count
    return server


def walk_section() -> str:
    """Run 00, 01, ... in kernels that stay alive; the summed RSS after each and its peak."""
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    server = start_lab()
    rows = []
    try:
        with MemorySampler() as sampler:
            server_mb = sampler.total()
            for path in paths:
                nb = nbformat.read(path, as_version=4)
                # Given a kernel manager, a client leaves that kernel running when it is done.
                km = AsyncKernelManager(kernel_name="python3")
                resources = {"metadata": {"path": str(NOTEBOOKS)}}
                client = NotebookClient(nb, km=km, timeout=300, resources=resources)
                client.execute()
                time.sleep(0.5)
                rows.append((path.stem, *sampler.total(), *sampler.peak))
    finally:
        for process in psutil.Process().children(recursive=True):  # the kernels and the server
            process.terminate()
        server.wait(timeout=30)
    lines = [
        "| After notebook | Kernels alive | RSS now (MB) | PSS now (MB) | Peak RSS (MB) "
        "| Peak PSS (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, (stem, *mb) in enumerate(rows, 1):
        lines.append(f"| {stem} | {n} | " + " | ".join(f"{v:,.0f}" for v in mb) + " |")
    return (
        f"A JupyterLab server (idle: RSS {server_mb[0]:,.0f} MB, PSS {server_mb[1]:,.0f} MB), "
        f"then notebooks 00 to {paths[-1].stem[:2]} run top to bottom in order, each in its own "
        "kernel, and no kernel shut down: what a learner who never shuts a kernel down uses. "
        "Memory of the server and every kernel, summed, sampled every 0.1 s; peaks so far "
        "(MB = 10^6 bytes).\n\n" + "\n".join(lines)
    )


if __name__ == "__main__":
    print(walk_section())
