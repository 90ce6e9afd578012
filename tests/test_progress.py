"""The progress bar writes nothing outside a notebook and shows a widget inside one."""

from __future__ import annotations

import pytest
import torch

import hyperviz.viz.progress as widget_progress
from hyperviz import DNN, MLPTarget, fit, progress
from hyperviz.progress import MIN_STEPS, ProgressBar, in_notebook


def test_pytest_is_not_a_notebook():
    assert not in_notebook()


@pytest.mark.parametrize("show", [None, True, False])
def test_outside_a_notebook_the_bar_shows_nothing(show, capsys):
    bar = ProgressBar(MIN_STEPS * 2, "training", show=show)
    for done in range(1, MIN_STEPS * 2 + 1):
        bar.update(done, loss=0.5)
    bar.close()
    assert bar.display is None
    assert capsys.readouterr() == ("", "")


def test_training_with_progress_outside_a_notebook_prints_nothing(capsys):
    x = torch.linspace(-1, 1, 8).unsqueeze(1)
    fit(DNN(MLPTarget([1, 4, 1])), x, x, steps=30, progress=True)
    fit(DNN(MLPTarget([1, 4, 1])), x, x, steps=30)
    assert capsys.readouterr() == ("", "")


@pytest.fixture
def fake_notebook(monkeypatch):
    """Pretend to run in a kernel; collect what would be displayed."""
    shown = []
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr(widget_progress, "display", lambda bundle, raw: shown.append(bundle))
    return shown


def test_in_a_notebook_short_runs_show_no_bar(fake_notebook):
    bar = ProgressBar(MIN_STEPS - 1)
    assert not bar.show and bar.display is None and fake_notebook == []


def test_in_a_notebook_long_runs_show_a_bar_that_follows_the_steps(fake_notebook, capsys):
    total = MIN_STEPS + 3  # not a multiple of the refresh interval
    bar = ProgressBar(total, "fitting")
    shown = bar.display
    view = {"version_major": 2, "version_minor": 0, "model_id": shown.box.model_id}
    assert bar.show and fake_notebook == [{widget_progress.WIDGET_VIEW: view}]  # no text form
    assert shown.widget.description == "fitting" and shown.widget.max == total
    bar.update(24, loss=1.0)
    assert shown.widget.value == 0  # refreshed every 25 steps only
    bar.update(25, loss=0.123456)
    assert shown.widget.value == 25
    assert shown.label.value == f"25 / {total} steps, loss 0.1235"
    bar.update(total, loss=0.5)  # and at the last step
    assert shown.widget.value == total
    bar.close()
    out, err = capsys.readouterr()
    assert out.startswith(f"fitting: {total} / {total} steps, loss 0.5, ") and out.endswith(" s\n")
    assert err == ""


def test_in_a_notebook_show_false_hides_the_bar(fake_notebook):
    assert ProgressBar(MIN_STEPS * 10, show=False).display is None
    assert fake_notebook == []
