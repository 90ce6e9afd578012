"""Progress of a training run, reported to a display that the viz layer registers.

The core draws nothing itself: `ProgressBar` forwards steps to the display registered with
`register_display` (`hyperviz.viz` registers an ipywidgets bar when it is imported). A bar
shows only in a running Jupyter kernel and only for runs of at least `MIN_STEPS` steps
(about 2 s of training here), so the decision does not depend on timing and stored notebook
outputs repeat exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

MIN_STEPS = 800
REFRESH_EVERY = 25  # steps between two redraws of the bar


class ProgressDisplay(Protocol):
    """What a registered display does: follow the steps, then go away."""

    def update(self, done: int, loss: float) -> None: ...

    def close(self) -> None: ...


_display_factory: Callable[[int, str], ProgressDisplay] | None = None


def register_display(factory: Callable[[int, str], ProgressDisplay] | None) -> None:
    """Use `factory(total, description)` to show long runs in a notebook (None: show nothing)."""
    global _display_factory
    _display_factory = factory


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where widgets can display)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class ProgressBar:
    """Shows `done / total` steps and the latest loss while a run goes on, where it can."""

    def __init__(self, total: int, description: str = "training", show: bool | None = None) -> None:
        self.total = total
        self.show = in_notebook() and total >= MIN_STEPS if show is None else show
        self.display: ProgressDisplay | None = None
        if self.show and _display_factory is not None and in_notebook():
            self.display = _display_factory(total, description)

    def update(self, done: int, loss: float) -> None:
        if self.display is not None and (done % REFRESH_EVERY == 0 or done == self.total):
            self.display.update(done, loss)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
