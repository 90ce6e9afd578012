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


def test_copies_trained_side_by_side_count_towards_the_bar(fake_notebook):
    assert ProgressBar(MIN_STEPS // 3 + 1, copies=3).show  # three copies: three times the work
    assert not ProgressBar(MIN_STEPS // 3 - 1, copies=3).show


def test_a_stage_shows_one_bar_that_the_runs_inside_move(fake_notebook, capsys):
    short = MIN_STEPS // 2  # too short for a bar of its own
    with progress.progress_stage(2 * short, "grid"):
        stage = progress._stages[-1]
        for run in range(2):
            bar = ProgressBar(short, f"run {run}")
            assert bar.display is None  # no bar of its own inside a stage
            for done in range(1, short + 1):
                bar.update(done, loss=1.0 / done)
            bar.close()
            assert stage.bar.display.done == (run + 1) * short  # continues where the last ended
        with progress.progress_stage(10 * MIN_STEPS, "inner"):  # nested: adds nothing
            assert progress._stages == [stage]
    assert len(fake_notebook) == 1 and progress._stages == []
    out = capsys.readouterr().out
    assert out.startswith(f"grid: {2 * short} / {2 * short} steps, loss ") and out.count("\n") == 1


def test_a_short_stage_shows_nothing(fake_notebook, capsys):
    with progress.progress_stage(MIN_STEPS - 1, "grid"):
        ProgressBar(MIN_STEPS - 1).close()
    assert fake_notebook == [] and capsys.readouterr().out == ""


def test_a_stage_of_runs_with_copies_counts_them(fake_notebook, capsys):
    with progress.progress_stage(MIN_STEPS // 2, "seeds", copies=3):  # three seeds per run
        ProgressBar(MIN_STEPS // 2, copies=3).close()
    assert len(fake_notebook) == 1
    capsys.readouterr()
