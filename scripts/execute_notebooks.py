"""Re-execute notebooks in place and store their outputs (`make notebooks`).

Usage: .venv/bin/python scripts/execute_notebooks.py [NOTEBOOK.ipynb ...]
With no arguments, every notebooks/*.ipynb. Run it with the venv's python: the `python3`
kernel is then the venv's own ipykernel.
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def strip_widget_state(nb) -> None:
    """Drop saved widget state (a FigureWidget stores ~5 MB of anywidget code there)."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("widgets", None)


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,  # seconds per cell
        resources={"metadata": {"path": str(NOTEBOOKS)}},  # cwd of the kernel
        record_timing=False,  # no per-cell timestamps: keeps git diffs small
        store_widget_state=False,
    )
    client.execute()
    strip_widget_state(nb)
    nbformat.write(nb, path)
    seconds = time.perf_counter() - start
    print(f"{path}: {seconds:.1f} s, {path.stat().st_size / 1024:.0f} KiB", flush=True)


if __name__ == "__main__":
    paths = [Path(arg) for arg in sys.argv[1:]] or sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        print(f"no notebooks in {NOTEBOOKS}")
    for path in paths:
        execute(path)
