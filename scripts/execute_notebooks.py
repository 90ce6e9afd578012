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


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip_widget_state(nb) -> None:
    """Drop saved widget state (a FigureWidget stores ~5 MB of anywidget code there).

    A stored widget view then points at a model that no longer exists, which JupyterLab shows
    as "Error displaying widget: model not found" when the notebook is opened. An empty
    model_id is what JupyterLab itself stores for a closed view: it hides the output instead.
    The static picture above each dashboard and its text form stay; nbval never compares
    widget views.
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("widgets", None)
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is not None:
                view["model_id"] = ""


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
