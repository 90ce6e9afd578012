"""A progress bar for training runs inside a notebook, that writes nothing to stdout or stderr.

The bar is an ipywidgets `IntProgress`. It shows only in a running Jupyter kernel and only
for runs of at least `MIN_STEPS` steps (about 2 s of training here), so the decision does
not depend on timing and stored notebook outputs repeat exactly.
"""

from __future__ import annotations

MIN_STEPS = 800


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where widgets can display)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class ProgressBar:
    """Shows `done / total` steps and the latest loss while a run goes on."""

    def __init__(self, total: int, description: str = "training", show: bool | None = None) -> None:
        self.total = total
        self.show = in_notebook() and total >= MIN_STEPS if show is None else show
        self.widget = None
        if self.show and in_notebook():
            import ipywidgets as widgets
            from IPython.display import display

            self.widget = widgets.IntProgress(value=0, max=total, description=description)
            self.label = widgets.Label(value=f"0 / {total}")
            self.box = widgets.HBox([self.widget, self.label])
            display(self.box)

    def update(self, done: int, loss: float) -> None:
        if self.widget is not None and (done % 25 == 0 or done == self.total):
            self.widget.value = done
            self.label.value = f"{done} / {self.total} steps, loss {loss:.4g}"

    def close(self) -> None:
        if self.widget is not None:
            self.box.close()
