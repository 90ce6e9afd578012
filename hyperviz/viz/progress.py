"""The ipywidgets progress bar that training runs show in a notebook (see `hyperviz.progress`)."""

from __future__ import annotations

import ipywidgets as widgets
from IPython.display import display


class WidgetProgress:
    """An `IntProgress` bar and a label with the steps done and the latest loss."""

    def __init__(self, total: int, description: str = "training") -> None:
        self.total = total
        self.widget = widgets.IntProgress(value=0, max=total, description=description)
        self.label = widgets.Label(value=f"0 / {total}")
        self.box = widgets.HBox([self.widget, self.label])
        display(self.box)

    def update(self, done: int, loss: float) -> None:
        self.widget.value = done
        self.label.value = f"{done} / {self.total} steps, loss {loss:.4g}"

    def close(self) -> None:
        self.box.close()
