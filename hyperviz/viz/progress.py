"""The ipywidgets progress bar that training runs show in a notebook (see `hyperviz.progress`)."""

from __future__ import annotations

import time

import ipywidgets as widgets
from IPython.display import display

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class WidgetProgress:
    """An `IntProgress` bar and a label with the steps done and the latest loss.

    It is displayed as a widget view only, without the widget's text form, so a stored
    notebook shows no raw `HBox(children=(IntProgress(...)))` text where the bar was. When the
    run ends the bar goes away and one line says what was done, in the notebook and on GitHub.
    """

    def __init__(self, total: int, description: str = "training") -> None:
        self.total = total
        self.description = description
        self.done, self.loss = 0, float("nan")
        self.start = time.perf_counter()
        self.widget = widgets.IntProgress(value=0, max=total, description=description)
        self.label = widgets.Label(value=f"0 / {total}")
        self.box = widgets.HBox([self.widget, self.label])
        view = {"version_major": 2, "version_minor": 0, "model_id": self.box.model_id}
        display({WIDGET_VIEW: view}, raw=True)

    def update(self, done: int, loss: float) -> None:
        self.done, self.loss = done, loss
        self.widget.value = done
        self.label.value = f"{done} / {self.total} steps, loss {loss:.4g}"

    def summary(self) -> str:
        """One line: what ran, how far, the last loss and the time it took."""
        seconds = time.perf_counter() - self.start
        return (
            f"{self.description}: {self.done} / {self.total} steps, "
            f"loss {self.loss:.4g}, {seconds:.1f} s"
        )

    def close(self) -> None:
        self.box.close()
        print(self.summary())
