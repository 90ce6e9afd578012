"""Progress of a training run, reported to a display that the viz layer registers.

The core draws nothing itself: `ProgressBar` forwards steps to the display registered with
`register_display` (`hyperviz.viz` registers an ipywidgets bar when it is imported). A bar
shows only in a running Jupyter kernel and only for runs of at least `MIN_STEPS` steps
(about 2 s of training here; K copies trained as one batch count K times), so the decision
does not depend on timing and stored notebook outputs repeat exactly. A lesson that trains
several runs for one result wraps them in `progress_stage`: one bar for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    """Shows `done / total` steps and the latest loss while a run goes on, where it can.

    `copies` runs trained side by side in one batch count as `copies` times the work: the bar
    shows when `total * copies >= MIN_STEPS`. Inside a `progress_stage`, a run shows no bar of
    its own: its steps move the stage's bar.
    """

    def __init__(
        self,
        total: int,
        description: str = "training",
        show: bool | None = None,
        copies: int = 1,
    ) -> None:
        self.total = total
        self.stage = _stages[-1] if _stages else None
        if self.stage is not None:
            show = False
        self.show = in_notebook() and total * copies >= MIN_STEPS if show is None else show
        self.display: ProgressDisplay | None = None
        self._shown = 0  # steps done at the last redraw
        if self.show and _display_factory is not None and in_notebook():
            self.display = _display_factory(total, description)

    def update(self, done: int, loss: float) -> None:
        if self.stage is not None:
            self.stage.advance(done, loss)
        elif self.display is not None and (
            done - self._shown >= REFRESH_EVERY or done == self.total
        ):
            self._shown = done
            self.display.update(done, loss)

    def close(self) -> None:
        if self.stage is not None:
            self.stage.finish_run(self.total)
        elif self.display is not None:
            self.display.close()


class _Stage:
    """One bar for several runs: each run's steps continue where the previous run's ended."""

    def __init__(self, total: int, description: str, copies: int) -> None:
        self.bar = ProgressBar(total, description, copies=copies)
        self.offset = 0

    def advance(self, done: int, loss: float) -> None:
        self.bar.update(min(self.offset + done, self.bar.total), loss)

    def finish_run(self, steps: int) -> None:
        self.offset += steps


_stages: list[_Stage] = []


@contextmanager
def progress_stage(total_steps: int, description: str, copies: int = 1) -> Iterator[None]:
    """One progress bar for the runs inside (a grid, models compared): `total_steps` in all.

    It shows when `total_steps * copies >= MIN_STEPS` (`copies`: runs trained side by side in
    each), in a notebook; inside another stage it adds nothing (the outer bar counts the steps).
    """
    if _stages:
        yield
        return
    stage = _Stage(total_steps, description, copies)
    _stages.append(stage)
    try:
        yield
    finally:
        _stages.pop()
        stage.bar.close()
