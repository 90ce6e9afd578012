"""The ipywidgets progress bar that training runs show in a notebook (see `hyperviz.progress`)."""

from __future__ import annotations

import ipywidgets as widgets
from IPython.display import display

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class WidgetProgress:
    """An `IntProgress` bar and a label with the steps done and the latest loss.

    It is displayed as a widget view only, without the widget's text form, so a stored
    notebook shows no raw `HBox(children=(IntProgress(...)))` text where the bar was.
    """

    def __init__(self, total: int, description: str = "training") -> None:
        self.total = total
        self.widget = widgets.IntProgress(value=0, max=total, description=description)
        self.label = widgets.Label(value=f"0 / {total}")
        self.box = widgets.HBox([self.widget, self.label])
        view = {"version_major": 2, "version_minor": 0, "model_id": self.box.model_id}
        display({WIDGET_VIEW: view}, raw=True)

    def update(self, done: int, loss: float) -> None:
        self.widget.value = done
        self.label.value = f"{done} / {self.total} steps, loss {loss:.4g}"

    def close(self) -> None:
        self.box.close()
